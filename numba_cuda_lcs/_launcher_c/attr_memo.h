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
 * PyObject_GetAttr does.  Only data descriptors of types with the generic
 * getattr are memoised; anything else is read by PyObject_GetAttr.
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
#ifdef Py_TPFLAGS_VALID_VERSION_TAG /* (3.10-3.13; a changed type loses it) */
    if (!PyType_HasFeature(tp, Py_TPFLAGS_VALID_VERSION_TAG)) return 0;
#endif
    return tp->tp_version_tag;
}

static inline void
attr_memo_clear(attr_memo *m)
{
    Py_CLEAR(m->type);
    Py_CLEAR(m->descr);
    m->version = 0;
}

/* Learn how *tp* gives *name*: its data descriptor, or none (read
 * generically) while the type stays as it is. */
static inline void
attr_memo_learn(attr_memo *m, PyTypeObject *tp, PyObject *name)
{
    attr_memo_clear(m);
    /* (the lookup PyObject_GenericGetAttr makes; it gives the type a
       version tag when it has none) */
    PyObject *descr = _PyType_Lookup(tp, name); /* borrowed */
    unsigned int version = attr_memo_type_version(tp);
    if (version == 0) return;
    m->type = (PyTypeObject *)Py_NewRef(tp);
    m->version = version;
    if (descr != NULL && tp->tp_getattro == PyObject_GenericGetAttr &&
        PyDescr_IsData(descr) && Py_TYPE(descr)->tp_descr_get != NULL)
        m->descr = Py_NewRef(descr);
}

/* getattr(obj, name) through *m*: a new reference, or NULL with an error
 * set (as PyObject_GetAttr). */
static inline PyObject *
attr_memo_get(attr_memo *m, PyObject *obj, PyObject *name)
{
    PyTypeObject *tp = Py_TYPE(obj);
    unsigned int version = attr_memo_type_version(tp);
    if (m->type != tp || m->version != version || version == 0)
        attr_memo_learn(m, tp, name);
    if (m->descr == NULL) return PyObject_GetAttr(obj, name);
    /* held across the call, which may run code that clears the memo */
    PyObject *descr = Py_NewRef(m->descr);
    PyObject *value = Py_TYPE(descr)->tp_descr_get(descr, obj, (PyObject *)tp);
    Py_DECREF(descr);
    return value;
}

#endif /* LCS_ATTR_MEMO_H */
