/*
 * attr_memo.h -- reading an attribute of objects of one type through the
 * data descriptor that defines it, found once.
 *
 * PyObject_GetAttr looks the name up along the type's MRO (through
 * CPython's type cache) and checks the instance dict at every read; the
 * CuPy reader reads six attributes per array at every launch.  A memo keeps
 * the type, its version tag and the descriptor found.  CPython gives a type
 * a new version tag (or none) whenever the type or one of its bases changes
 * -- the tag its own lookup cache trusts -- so while the tag stands, the
 * descriptor is what PyObject_GetAttr would find, and a data descriptor
 * takes precedence over the instance dict: calling it is what
 * PyObject_GetAttr does.  Only data descriptors of an immutable type
 * (getset and member descriptors, property: a class that can change could
 * stop being one) on types with the generic getattr are memoised; anything
 * else is read by PyObject_GetAttr.  A memo serves one attribute name.
 */
#ifndef LCS_ATTR_MEMO_H
#define LCS_ATTR_MEMO_H

#include "common.h"

typedef struct {
    PyTypeObject *type;   /* strong, or NULL: nothing learnt */
    unsigned int version; /* type's version tag when learnt */
    PyObject *descr;      /* strong: the data descriptor found, or NULL:
                             read by PyObject_GetAttr */
} attr_memo;

/* *tp*'s version tag; 0 when it has none valid now. */
static inline unsigned int
attr_memo_type_version(PyTypeObject *tp)
{
#if PY_VERSION_HEX < 0x030D0000
    /* (3.10-3.12 mark a valid tag with this flag; 3.13 zeroes the tag of a
       changed type and no longer sets the flag) */
    if (!PyType_HasFeature(tp, Py_TPFLAGS_VALID_VERSION_TAG)) return 0;
#endif
    return tp->tp_version_tag;
}

static inline void
attr_memo_clear(attr_memo *m)
{
    PyObject *type = (PyObject *)m->type, *descr = m->descr;
    m->type = NULL;
    m->descr = NULL;
    m->version = 0;
    Py_XDECREF(type); /* (may run code: the memo is whole by now) */
    Py_XDECREF(descr);
}

/* Learn how *tp* gives *name*: a new reference to the data descriptor to
 * call, or NULL: read by PyObject_GetAttr (while the type stays as it is,
 * the memo says the same). */
static inline PyObject *
attr_memo_learn(attr_memo *m, PyTypeObject *tp, PyObject *name)
{
    /* (the lookup PyObject_GenericGetAttr makes; it gives the type a
       version tag when it has none) */
    PyObject *descr = _PyType_Lookup(tp, name); /* borrowed */
    unsigned int version = attr_memo_type_version(tp);
    if (descr != NULL &&
        !(tp->tp_getattro == PyObject_GenericGetAttr &&
          PyType_HasFeature(Py_TYPE(descr), Py_TPFLAGS_IMMUTABLETYPE) &&
          Py_TYPE(descr)->tp_descr_get != NULL && PyDescr_IsData(descr)))
        descr = NULL;
    Py_XINCREF(descr); /* before anything can run that changes the type */
    PyObject *old_type = (PyObject *)m->type, *old_descr = m->descr;
    m->type = version != 0 ? (PyTypeObject *)Py_NewRef(tp) : NULL;
    m->version = version;
    m->descr = version != 0 ? Py_XNewRef(descr) : NULL;
    Py_XDECREF(old_type); /* (may run code: the memo is whole by now) */
    Py_XDECREF(old_descr);
    return descr;
}

/* getattr(obj, name) through *m*: a new reference, or NULL with an error
 * set (as PyObject_GetAttr). */
static inline PyObject *
attr_memo_get(attr_memo *m, PyObject *obj, PyObject *name)
{
    PyTypeObject *tp = Py_TYPE(obj);
    unsigned int version = attr_memo_type_version(tp);
    PyObject *descr = m->type == tp && m->version == version && version != 0
                          ? Py_XNewRef(m->descr)
                          : attr_memo_learn(m, tp, name);
    if (descr == NULL) return PyObject_GetAttr(obj, name);
    /* (held across the call, which may run code that changes the memo) */
    PyObject *value = Py_TYPE(descr)->tp_descr_get(descr, obj, (PyObject *)tp);
    Py_DECREF(descr);
    return value;
}

#endif /* LCS_ATTR_MEMO_H */
