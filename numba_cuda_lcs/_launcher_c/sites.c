/*
 * sites.c -- launch sites: tokens, array readers, LaunchSite, SiteEntry and
 * HitCounter; the fast path of a configured launch.
 *
 * A LaunchSite is the base class of the backend's configured launch
 * (`kernel[grid, block]`).  Calling it checks, in C, whether this launch is
 * one the Python slow path has already resolved: same CUDA context, nothing
 * invalidated since (the generation), no pre-launch callbacks, and
 * arguments whose numba types must be those of a remembered entry.  Then it
 * marshals and launches with that entry's launcher, without routing, typing
 * or overload resolution.  Anything else calls
 * `self.dispatcher.call(args, self)`, as numba-cuda's own configured launch
 * does, and that slow path remembers what it resolved (remember()).
 *
 * An argument's *token* says what fixes its numba type, so that equal tokens
 * mean equal types (and so the same compiled kernel):
 *   bool, float, complex      the exact Python class
 *   int                       the exact class, value within int64 (intp)
 *   numpy scalar              its class (numpy.number / numpy.bool_)
 *   typed object              the registered class (configure_sites: numba
 *                             device arrays), whose cached `_numba_type_`
 *                             is the type
 *   array-interface object    the same object (a weak reference), with the
 *                             same typestr, shape, strides and read-only flag
 *   ... read by a reader      the same object, with the same parameter values
 *                             (pointer, shape, strides) as remembered, read
 *                             without building the interface dict: CuPy
 *                             arrays (configure_cupy) and objects whose type
 *                             has DLPack's C exchange API (PyTorch 2.10+);
 *                             the producer's current stream must be the
 *                             launch's (else the compiler orders them)
 * Other arguments (host arrays, records, tuples...) have no token: launches
 * with them always take the slow path.
 *
 * Entries are immutable objects: a launch holds a reference to the entry it
 * checks, so a thread replacing it meanwhile frees nothing in use.
 *
 * No compiler's marshalling rules live here: the launcher does the
 * marshalling, and whether a reader's values may stand for an argument is
 * the plan's call (launcher.h: lcs_argspec_view_itemsize / _view_agrees,
 * against the plan's fallback).  A second compiler's kernels launch through
 * these sites once it has a plan builder (see launcher.c); what the sites
 * need of the compiler is configured, not compiled in: the class typed by
 * its `_numba_type_` and the error a refused launch raises
 * (configure_sites), and the configured-launch protocol (`dispatcher.call`,
 * `pre_launch_callbacks`).
 *
 * The pure-Python twin of this part is _launcher_py/sites.py.
 */
#include "sites.h"

#include <string.h>

#include "array_values.h"
#include "cuda_driver.h"
#include "dlpack_abi.h"
#include "launcher.h"
#include "state.h"

/* *************************************************************************
 * HitCounter                                                              *
 * ************************************************************************* */


/* A launch counter the fast path increments in C (the base class of a
 * backend's per-dispatcher state, whose `hits` it is).  Not atomic: like the
 * Python `+= 1` it replaces, concurrent launches may lose counts. */
typedef struct {
    PyObject_HEAD
    Py_ssize_t hits;
} HitCounter;

static PyObject *
HitCounter_get(HitCounter *self, void *closure)
{
    return PyLong_FromSsize_t(self->hits);
}

static int
HitCounter_set(HitCounter *self, PyObject *value, void *closure)
{
    Py_ssize_t h = value != NULL ? PyLong_AsSsize_t(value) : -1;
    if (value == NULL)
        PyErr_SetString(PyExc_AttributeError, "hits cannot be deleted");
    if (h == -1 && PyErr_Occurred()) return -1;
    self->hits = h;
    return 0;
}

static PyGetSetDef HitCounter_getset[] = {
    {"hits", (getter)HitCounter_get, (setter)HitCounter_set,
     "launches counted (approximate under concurrent launches)", NULL},
    {NULL}};

PyTypeObject HitCounterType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "numba_cuda_lcs._launcher.HitCounter",
    .tp_basicsize = sizeof(HitCounter),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "Base class whose `hits` launch sites increment in C.",
    .tp_new = PyType_GenericNew,
    .tp_getset = HitCounter_getset,
};

/* *************************************************************************
 * Tokens and entries                                                      *
 * ************************************************************************* */

enum { T_BOOL = 1, T_INT, T_FLOAT, T_COMPLEX, T_NPSCALAR, T_TYPED, T_CAI,
       T_CUPY, T_DLX };


typedef struct {
    int kind;
    int readonly;      /* T_CAI */
    int32_t device;    /* T_DLX: the DLPack device id */
    uint32_t dtype;    /* T_DLX: the DLPack dtype (code, bits, lanes) */
    PyObject *type;    /* T_NPSCALAR: the class; T_TYPED: the numba type;
                          T_CAI: typestr; T_CUPY: the dtype; T_DLX: the API
                          capsule */
    PyObject *ref;     /* T_TYPED (may be NULL), T_CAI, T_CUPY, T_DLX: weak
                          reference */
    PyObject *shape;   /* T_CAI */
    PyObject *strides; /* T_CAI: None when the interface has none */
    PyObject *values;  /* T_CUPY, T_DLX, T_TYPED (NULL: none kept): bytes,
                          the int64 parameter values
                          size, itemsize, data, shape..., strides... */
    PyObject *memref;  /* T_CUPY read for a K_MEMREF plan (numba-cuda-mlir):
                          what the plan is handed instead of the interface
                          (lcs_argspec_memref_view); NULL otherwise */
    const DLPackExchangeAPI *api;  /* T_DLX */
} token;

/* The producers' current streams, read once per launch (per entry). */
typedef struct {
    long long consumer;  /* the entry's stream handle */
    int cupy;            /* 0 not read yet, 1 the launch's, -1 another */
    const DLPackExchangeAPI *api;  /* the last API asked, for device dlx_dev */
    int32_t dlx_dev;
    int dlx;             /* 1 the launch's stream, -1 another */
} stream_memo;

typedef struct {
    PyObject_HEAD
    Launcher *launcher;
    void *context;
    unsigned long long generation; /* LCS.generation when remembered */
    long long stream_handle;
    PyObject *stream;   /* launch.stream, what fallbacks are given */
    PyObject *counter;  /* a HitCounter counting launches, or NULL */
    Py_ssize_t nargs;
    token tokens[1];    /* nargs entries */
} SiteEntry;

typedef struct {
    PyObject_HEAD
    SiteEntry *entries[SITE_ENTRIES];  /* most recent first */
} LaunchSite;

static void
token_clear(token *t)
{
    Py_CLEAR(t->type);
    Py_CLEAR(t->ref);
    Py_CLEAR(t->shape);
    Py_CLEAR(t->strides);
    Py_CLEAR(t->values);
    Py_CLEAR(t->memref);
}

/* Whether the weak reference *ref* refers to *v*. */
static int
refers_to(PyObject *ref, PyObject *v)
{
    if (ref == NULL) return 0;
#if PY_VERSION_HEX >= 0x030D0000
    PyObject *o = NULL;
    if (PyWeakref_GetRef(ref, &o) < 0) {
        PyErr_Clear();
        return 0;
    }
    int same = o == v;
    Py_XDECREF(o);
    return same;
#else
    return PyWeakref_GetObject(ref) == v;
#endif
}

static int
int64_value(PyObject *v)
{
    int overflow = 0;
    long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (x == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    return !overflow;
}

/* The interface dict's typing fields (borrowed); 0 if malformed. */
static int
cai_fields(PyObject *cai, PyObject **typestr, PyObject **shape,
           PyObject **strides, int *readonly)
{
    PyObject *data;
    *typestr = PyDict_GetItemString(cai, "typestr");
    *shape = PyDict_GetItemString(cai, "shape");
    *strides = PyDict_GetItemString(cai, "strides");
    data = PyDict_GetItemString(cai, "data");
    if (*strides == NULL) *strides = Py_None;
    if (*typestr == NULL || *shape == NULL || data == NULL ||
        !PyTuple_Check(data) || PyTuple_GET_SIZE(data) != 2)
        return 0;
    *readonly = PyObject_IsTrue(PyTuple_GET_ITEM(data, 1));
    if (*readonly < 0) {
        PyErr_Clear();
        return 0;
    }
    return 1;
}

/* *************************************************************************
 * Readers: an array's parameter values without its interface dict         *
 * ************************************************************************* */

/* Values are int64: size, itemsize, data, shape..., strides... (bytes), a
 * view the plan marshals (numba-cuda's plans: after meminfo and parent).  A
 * reader returns how many it wrote, 0 when it cannot read *v* (no error
 * set). */
#define READ_MAXD 32
#define READ_MAX (3 + 2 * READ_MAXD)

static Py_ssize_t
view_values(int nd, const Py_ssize_t *shape, const Py_ssize_t *strides,
            Py_ssize_t itemsize, int64_t ptr, int64_t *out)
{
    int64_t size = 1;
    for (int i = 0; i < nd; i++) size *= shape[i];
    out[0] = size;
    out[1] = itemsize;
    out[2] = ptr;
    for (int i = 0; i < nd; i++) {
        out[3 + i] = shape[i];
        out[3 + nd + i] = strides[i];
    }
    return 3 + 2 * nd;
}

/* An attribute as a Py_ssize_t, through a memo; 0 when it is not one (an
 * error may be left set: read_cupy clears it). */
static int
memo_ssize(attr_memo *memo, PyObject *obj, PyObject *name, Py_ssize_t *out)
{
    PyObject *v = attr_memo_get(memo, obj, name);
    int ok = long_ssize(v, out);
    Py_XDECREF(v);
    return ok;
}

/* CuPy: data.ptr, shape, and strides (derived from the shape when
 * _c_contiguous, as the interface leaves them out then); *dtype* must be
 * the array's dtype.  CuPy builds its shape tuple (through a list) at each
 * read, so a 1-D array's shape is read as its ndim and size: nothing
 * allocated that the garbage collector tracks.  The attributes are read
 * through their descriptors (attr_memo.h). */
static Py_ssize_t
read_cupy(PyObject *v, PyObject *dtype, Py_ssize_t itemsize, int64_t *out)
{
    lcs_cupy_attrs *a = &LCS.cupy_attrs;
    Py_ssize_t shape[READ_MAXD], strides[READ_MAXD], ptr, ndim, n = 0;
    PyObject *t = attr_memo_get(&a->dtype, v, LCS.str_dtype), *data = NULL, *c = NULL;
    int nd = 0;
    if (t == NULL || (t != dtype && PyObject_RichCompareBool(t, dtype, Py_EQ) != 1))
        goto out;
    Py_CLEAR(t);
    if ((data = attr_memo_get(&a->data, v, LCS.str_data)) == NULL ||
        !memo_ssize(&a->data_ptr, data, LCS.str_ptr, &ptr) ||
        !memo_ssize(&a->ndim, v, LCS.str_ndim, &ndim) || ndim < 0 || ndim > READ_MAXD)
        goto out;
    nd = (int)ndim;
    if (nd == 1) {
        if (!memo_ssize(&a->size, v, LCS.str_size, &shape[0])) goto out;
    }
    else if ((t = attr_memo_get(&a->shape, v, LCS.str_shape)) == NULL ||
             !int_tuple(t, nd, shape))
        goto out;
    if ((c = attr_memo_get(&a->c_contiguous, v, LCS.str_c_contiguous)) == NULL) goto out;
    if (c == Py_True) strides_from_shape(nd, shape, itemsize, 1, 0, strides);
    else {
        Py_CLEAR(t);
        if (c != Py_False || (t = attr_memo_get(&a->strides, v, LCS.str_strides)) == NULL ||
            !int_tuple(t, nd, strides))
            goto out;
    }
    n = view_values(nd, shape, strides, itemsize, ptr, out);
out:
    Py_XDECREF(t);
    Py_XDECREF(data);
    Py_XDECREF(c);
    PyErr_Clear();
    return n;
}

/* DLPack's exchange API: one call fills a DLTensor the producer owns. */
static Py_ssize_t
read_dlx(PyObject *v, const DLPackExchangeAPI *api, int64_t *out,
         int32_t *device, uint32_t *dtype)
{
    Py_ssize_t shape[READ_MAXD], strides[READ_MAXD], itemsize;
    DLTensor dl;
    memset(&dl, 0, sizeof(dl));
    if (api->dltensor_from_py_object_no_sync(v, &dl) != 0) {
        PyErr_Clear();
        return 0;
    }
    if (dl.device.device_type != DL_CUDA || dl.ndim < 0 ||
        dl.ndim > READ_MAXD || dl.dtype.lanes != 1 || dl.dtype.bits % 8 != 0 ||
        (dl.ndim > 0 && dl.shape == NULL))
        return 0;
    int nd = dl.ndim;
    itemsize = dl.dtype.bits / 8;
    for (int i = 0; i < nd; i++) shape[i] = (Py_ssize_t)dl.shape[i];
    if (dl.strides == NULL) strides_from_shape(nd, shape, itemsize, 1, 0, strides);
    else
        for (int i = 0; i < nd; i++)
            strides[i] = (Py_ssize_t)dl.strides[i] * itemsize;
    *device = dl.device.device_id;
    *dtype = (uint32_t)dl.dtype.code << 24 | (uint32_t)dl.dtype.bits << 16 |
             dl.dtype.lanes;
    return view_values(nd, shape, strides, itemsize,
                       (int64_t)((uintptr_t)dl.data + dl.byte_offset), out);
}

/* Whether the producer's current stream is the launch's: then the
 * compiler's DLPack import (numba-cuda's) orders nothing, and the fast path
 * may launch. */
static int
producer_stream_ok(const token *t, stream_memo *m)
{
    if (t->kind == T_CUPY) {
        if (m->cupy == 0) {
            long long p = lcs_cupy_interface_stream();
            m->cupy = p > 0 && (p == m->consumer || (p == 1 && m->consumer == 0))
                          ? 1 : -1;
        }
        return m->cupy > 0;
    }
    if (m->api != t->api || m->dlx_dev != t->device) {
        void *st = NULL;
        m->api = t->api;
        m->dlx_dev = t->device;
        if (t->api->current_work_stream(DL_CUDA, t->device, &st) != 0) {
            PyErr_Clear();
            m->dlx = -1;
        }
        else {
            /* NULL and 1 are the legacy default stream, which handle 0
               launches on (2, per-thread, is passed as such) */
            long long p = (long long)(uintptr_t)st;
            m->dlx = p == m->consumer || ((p == 0 || p == 1) && m->consumer == 0)
                         ? 1 : -1;
        }
    }
    return m->dlx > 0;
}

/* *************************************************************************
 * Making tokens, and matching them                                        *
 * ************************************************************************* */

/* Make the T_CAI token *t* of *v* a reader's token when that reader gives
 * exactly what the compiler's own marshalling (*sp*'s fallback) gives for
 * *v* now; *cai* is its interface dict.  Errors are cleared.
 *
 * numba-cuda-mlir's plans (K_MEMREF, no fallback) take CuPy arrays only:
 * the values read must give exactly what the plan's rule gives from *cai*
 * (lcs_argspec_memref_view), and the token keeps the descriptor the plan is
 * handed.  The stream the interface names -- CuPy's current one, which
 * numba-cuda-mlir synchronises whichever stream it launches on -- is
 * synchronised at each launch (the descriptor's trailing 1), so no
 * producer-stream check there, unlike numba-cuda's DLPack import. */
static void
reader_token(PyObject *v, token *t, const argspec *sp, PyObject *stream,
             PyObject *cai)
{
    int64_t vals[READ_MAX];
    Py_ssize_t n = 0;
    int kind;
    PyObject *type = NULL, *memref = NULL;
    const DLPackExchangeAPI *api = NULL;
    int32_t device = 0;
    uint32_t dtype = 0;
    int cupy = LCS.cupy_class != NULL && (PyObject *)Py_TYPE(v) == LCS.cupy_class;
    Py_ssize_t itemsize = lcs_argspec_view_itemsize(sp);
    Py_ssize_t memref_itemsize = lcs_argspec_memref_itemsize(sp);
    if (itemsize == 0) itemsize = cupy ? memref_itemsize : 0;
    if (itemsize == 0) return;
    if (cupy) {
        kind = T_CUPY;
        if ((type = attr_memo_get(&LCS.cupy_attrs.dtype, v, LCS.str_dtype)) == NULL)
            goto out;
        n = read_cupy(v, type, itemsize, vals);
        lcs_cupy_learn_null_stream(cai);  /* what the interface calls stream 0 */
    }
    else {
        kind = T_DLX;
        type = PyObject_GetAttr((PyObject *)Py_TYPE(v), LCS.str_exchange_api);
        if (type == NULL || !PyCapsule_IsValid(type, DLPACK_EXCHANGE_API_CAPSULE))
            goto out;
        api = PyCapsule_GetPointer(type, DLPACK_EXCHANGE_API_CAPSULE);
        if (api == NULL || api->header.version.major != 1 ||
            api->dltensor_from_py_object_no_sync == NULL ||
            api->current_work_stream == NULL)
            goto out;
        n = read_dlx(v, api, vals, &device, &dtype);
    }
    /* the plan's fallback (its rule, for K_MEMREF) must give exactly these
       values */
    if (n == 0) goto out;
    if (memref_itemsize != 0) {
        if ((memref = lcs_argspec_memref_view(sp, v, cai, vals, n)) == NULL)
            goto out;
    }
    else if (!lcs_argspec_view_agrees(sp, v, stream, vals, n))
        goto out;
    PyObject *values = PyBytes_FromStringAndSize((const char *)vals, n * 8);
    if (values == NULL) goto out;
    t->kind = kind;
    Py_XSETREF(t->type, type);
    type = NULL;
    t->values = values;
    t->memref = memref;
    memref = NULL;
    t->api = api;
    t->device = device;
    t->dtype = dtype;
    Py_CLEAR(t->shape);
    Py_CLEAR(t->strides);
out:
    Py_XDECREF(type);
    Py_XDECREF(memref);
    PyErr_Clear();
}

/* The token of *v*: 1 made, 0 none (no error set), -1 error.  *sp* (the
 * remembered launcher's spec for *v*, or NULL) and *stream* (what its
 * fallbacks get) let an array-interface object have a reader's token. */
static int
make_token(PyObject *v, token *t, const argspec *sp, PyObject *stream)
{
    PyTypeObject *tp = Py_TYPE(v);
    memset(t, 0, sizeof(*t));
    if (tp == &PyBool_Type) t->kind = T_BOOL;
    else if (tp == &PyLong_Type) {
        if (!int64_value(v)) return 0;
        t->kind = T_INT;
    }
    else if (tp == &PyFloat_Type) t->kind = T_FLOAT;
    else if (tp == &PyComplex_Type) t->kind = T_COMPLEX;
    else if (lcs_is_typed_class(tp)) {
        PyObject *ty = PyObject_GetAttr(v, LCS.str_numba_type);
        if (ty == NULL) {
            PyErr_Clear();
            return 0;
        }
        t->kind = T_TYPED;
        t->type = ty;
        if ((t->ref = PyWeakref_NewRef(v, NULL)) == NULL) PyErr_Clear();
        /* launched again, this very array packs to these values */
        else t->values = lcs_argspec_array_values(sp, v);
    }
    else {
        if (lcs_load_types() < 0) return -1;
        int scalar = PyObject_IsInstance(v, LCS.np_scalar_bases);
        if (scalar < 0) return -1;
        if (scalar) {
            t->kind = T_NPSCALAR;
            t->type = Py_NewRef((PyObject *)tp);
            return 1;
        }
        if (PyObject_TypeCheck(v, (PyTypeObject *)LCS.ndarray_type)) return 0;
        /* numba device memory of other classes: the compiler's own path */
        PyObject *mem = PyObject_GetAttr(v, LCS.str_cuda_memory);
        int is_dev = mem != NULL ? PyObject_IsTrue(mem) : 0;
        Py_XDECREF(mem);
        PyErr_Clear();
        if (is_dev) return 0;
        PyObject *cai = PyObject_GetAttr(v, LCS.str_cai), *ts, *shape, *strides;
        int readonly, ok = cai != NULL && PyDict_Check(cai) &&
                           cai_fields(cai, &ts, &shape, &strides, &readonly);
        if (ok && (t->ref = PyWeakref_NewRef(v, NULL)) != NULL) {
            t->kind = T_CAI;
            t->type = Py_NewRef(ts);
            t->shape = Py_NewRef(shape);
            t->strides = Py_NewRef(strides);
            t->readonly = readonly;
            PyErr_Clear();
            reader_token(v, t, sp, stream, cai);
        }
        Py_XDECREF(cai);
        PyErr_Clear();
        return t->kind != 0;
    }
    return 1;
}

static int
equal(PyObject *a, PyObject *b)
{
    if (a == b) return 1;
    int r = PyObject_RichCompareBool(a, b, Py_EQ);
    if (r < 0) PyErr_Clear();
    return r > 0;
}

/* Whether *v* has token *t*; for T_CAI, *cai* gets its interface dict, for
 * a reader's token the values read (a new reference each, for
 * marshalling).  Errors are cleared: a mismatch. */
static int
token_matches(const token *t, PyObject *v, PyObject **cai, stream_memo *m)
{
    PyTypeObject *tp = Py_TYPE(v);
    switch (t->kind) {
    case T_BOOL: return tp == &PyBool_Type;
    case T_INT: return tp == &PyLong_Type && int64_value(v);
    case T_FLOAT: return tp == &PyFloat_Type;
    case T_COMPLEX: return tp == &PyComplex_Type;
    case T_NPSCALAR: return (PyObject *)tp == t->type;
    case T_TYPED: {
        if (!lcs_is_typed_class(tp)) return 0;
        if (refers_to(t->ref, v)) {
            if (t->values != NULL) *cai = Py_NewRef(t->values);
            return 1;
        }
        PyObject *ty = PyObject_GetAttr(v, LCS.str_numba_type);
        int same = ty == t->type;
        Py_XDECREF(ty);
        PyErr_Clear();
        return same;
    }
    case T_CAI: {
        PyObject *d, *ts, *shape, *strides;
        int readonly;
        if (!refers_to(t->ref, v)) return 0;
        if ((d = PyObject_GetAttr(v, LCS.str_cai)) == NULL) {
            PyErr_Clear();
            return 0;
        }
        if (PyDict_Check(d) && cai_fields(d, &ts, &shape, &strides, &readonly) &&
            readonly == t->readonly && equal(ts, t->type) &&
            equal(shape, t->shape) && equal(strides, t->strides)) {
            *cai = d;
            return 1;
        }
        Py_DECREF(d);
        return 0;
    }
    case T_CUPY:
    case T_DLX: {
        int64_t vals[READ_MAX];
        Py_ssize_t n;
        int32_t device = 0;
        uint32_t dtype = 0;
        const int64_t *want = (const int64_t *)PyBytes_AS_STRING(t->values);
        /* (a K_MEMREF plan's CuPy token: any producer stream, synchronised) */
        if (!refers_to(t->ref, v) ||
            (t->memref == NULL && !producer_stream_ok(t, m)))
            return 0;
        if (t->kind == T_CUPY) n = read_cupy(v, t->type, want[1], vals);
        else {
            n = read_dlx(v, t->api, vals, &device, &dtype);
            if (device != t->device || dtype != t->dtype) return 0;
        }
        if (n * 8 != PyBytes_GET_SIZE(t->values) ||
            memcmp(vals, want, n * 8) != 0)
            return 0;
        *cai = Py_NewRef(t->memref != NULL ? t->memref : t->values);
        return 1;
    }
    }
    return 0;
}

/* *************************************************************************
 * SiteEntry                                                               *
 * ************************************************************************* */

static void
SiteEntry_dealloc(SiteEntry *self)
{
    PyObject_GC_UnTrack(self);
    for (Py_ssize_t i = 0; i < self->nargs; i++) token_clear(&self->tokens[i]);
    Py_CLEAR(self->launcher);
    Py_CLEAR(self->stream);
    Py_CLEAR(self->counter);
    PyObject_GC_Del(self);
}

static int
SiteEntry_traverse(SiteEntry *self, visitproc visit, void *arg)
{
    Py_VISIT(self->launcher);
    Py_VISIT(self->stream);
    Py_VISIT(self->counter);
    for (Py_ssize_t i = 0; i < self->nargs; i++) {
        Py_VISIT(self->tokens[i].type);
        Py_VISIT(self->tokens[i].ref);
        Py_VISIT(self->tokens[i].shape);
        Py_VISIT(self->tokens[i].strides);
    }
    return 0;
}

PyTypeObject SiteEntryType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "numba_cuda_lcs._launcher.SiteEntry",
    .tp_basicsize = sizeof(SiteEntry),
    .tp_itemsize = sizeof(token),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "one resolved launch a LaunchSite remembers",
    .tp_dealloc = (destructor)SiteEntry_dealloc,
    .tp_traverse = (traverseproc)SiteEntry_traverse,
};

/* *************************************************************************
 * The fast path: LaunchSite                                               *
 * ************************************************************************* */

/* The entry of *self* that remembers a launch of *args* in context *ctx*
 * (a new reference, its index in *index*), or NULL (no error set).  *cais*
 * (n entries) gets the interface dicts read on the way (new references or
 * NULL), for marshalling. */
static SiteEntry *
site_find(LaunchSite *self, PyObject *args, void *ctx, PyObject **cais,
          int *index)
{
    Py_ssize_t n = PyTuple_GET_SIZE(args);
    for (int e = 0; e < SITE_ENTRIES; e++) {
        SiteEntry *en = self->entries[e];
        if (en == NULL) break;
        if (en->context != ctx || en->generation != LCS.generation || en->nargs != n)
            continue;
        Py_INCREF(en);  /* checking may run Python code (other threads) */
        stream_memo memo = {en->stream_handle, 0, NULL, 0, 0};
        Py_ssize_t i = 0;
        for (; i < n; i++) {
            cais[i] = NULL;
            if (!token_matches(&en->tokens[i], PyTuple_GET_ITEM(args, i),
                               &cais[i], &memo))
                break;
        }
        if (i == n) {
            *index = e;
            return en;
        }
        for (Py_ssize_t j = 0; j <= i && j < n; j++) Py_CLEAR(cais[j]);
        Py_DECREF(en);
    }
    return NULL;
}

/* The driver refused a fast-path launch: raise what the compiler's own
 * launch raises instead, the site's `_lcs_launch_error` (a class attribute
 * of the backend's configured launch; None or absent means the configured
 * default), keeping the driver's message.  The pending LaunchError is taken
 * first: attribute lookups must not run with an exception set.  With no
 * usable class the LaunchError itself propagates. */
static void
site_launch_error(LaunchSite *self)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    PyObject *err = PyObject_GetAttr((PyObject *)self, LCS.str_site_error);
    if (err == NULL) PyErr_Clear();
    if (err == NULL || err == Py_None) {
        Py_XDECREF(err);
        err = Py_XNewRef(LCS.site_launch_error);
    }
    PyObject *msg = NULL;
    if (err != NULL && PyExceptionClass_Check(err) && value != NULL) {
        msg = PyObject_Str(value);
        if (msg == NULL) PyErr_Clear();
    }
    if (msg != NULL) {
        PyErr_SetObject(err, msg);
        Py_DECREF(msg);
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(tb);
    }
    else PyErr_Restore(type, value, tb);
    Py_XDECREF(err);
}

/* 1 launched, 0 not a remembered launch (take the slow path), -1 error. */
static int
site_try(LaunchSite *self, PyObject *args)
{
    Py_ssize_t n = PyTuple_GET_SIZE(args);
    PyObject *cais[SITE_MAX_ARGS];
    void *ctx = NULL;
    int index;
    if (self->entries[0] == NULL || n > SITE_MAX_ARGS || LCS.driver.getctx == NULL ||
        LCS.driver.getctx(&ctx) != 0)
        return 0;
    SiteEntry *hit = site_find(self, args, ctx, cais, &index);
    if (hit == NULL) return 0;
    int rc = 0;
    PyObject *callbacks = PyObject_GetAttr((PyObject *)self, LCS.str_callbacks);
    if (callbacks == NULL) PyErr_Clear();
    else if (PyList_CheckExact(callbacks) && PyList_GET_SIZE(callbacks) == 0) {
        long long consumer = hit->stream_handle;
        if (consumer == SITE_STREAM_CUPY_CURRENT) consumer = lcs_cupy_stream_ptr();
        int declined = consumer < 0;  /* CuPy's stream unreadable: slow path */
        PyObject *retr = declined ? NULL
                                  : lcs_launch_marshalled(hit->launcher, args, consumer,
                                                          hit->stream, cais, &declined);
        if (declined) rc = 0;  /* a value the plan does not cover: slow path */
        else if (retr == NULL) {
            rc = -1;
            if (PyErr_ExceptionMatches(LCS.LaunchError)) site_launch_error(self);
        }
        else {
            rc = 1;
            if (hit->counter != NULL) ((HitCounter *)hit->counter)->hits++;
        }
        for (Py_ssize_t i = 0; retr != NULL && PyList_Check(retr) &&
                               i < PyList_GET_SIZE(retr); i++) {
            PyObject *r = PyObject_CallNoArgs(PyList_GET_ITEM(retr, i));
            if (r == NULL) {
                rc = -1;
                break;
            }
            Py_DECREF(r);
        }
        Py_XDECREF(retr);
    }
    Py_XDECREF(callbacks);
    for (Py_ssize_t i = 0; i < n; i++) Py_XDECREF(cais[i]);
    Py_DECREF(hit);
    return rc;
}

static PyObject *
LaunchSite_call(LaunchSite *self, PyObject *args, PyObject *kw)
{
    if (kw != NULL && PyDict_GET_SIZE(kw) != 0) {
        PyErr_SetString(PyExc_TypeError,
                        "a configured kernel launch takes positional "
                        "arguments only");
        return NULL;
    }
    if (LCS.twin_site_call != NULL)
        return PyObject_CallFunctionObjArgs(LCS.twin_site_call, (PyObject *)self,
                                            args, NULL);
    int rc = site_try(self, args);
    if (rc < 0) return NULL;
    if (rc > 0) Py_RETURN_NONE;
    /* The slow path: the backend's `_lcs_slow_call(args)` when its class
     * has one (numba-cuda-mlir's configured launch), else numba-cuda's
     * protocol, `self.dispatcher.call(args, self)`. */
    PyObject *slow = PyObject_GetAttr((PyObject *)self, LCS.str_slow_call);
    if (slow != NULL) {
        PyObject *res = PyObject_CallOneArg(slow, args);
        Py_DECREF(slow);
        return res;
    }
    if (!PyErr_ExceptionMatches(PyExc_AttributeError)) return NULL;
    PyErr_Clear();
    PyObject *dispatcher = PyObject_GetAttr((PyObject *)self, LCS.str_dispatcher);
    if (dispatcher == NULL) return NULL;
    PyObject *res = PyObject_CallMethodObjArgs(dispatcher, LCS.str_call, args,
                                               (PyObject *)self, NULL);
    Py_DECREF(dispatcher);
    return res;
}

static void
site_forget(LaunchSite *self)
{
    for (int e = 0; e < SITE_ENTRIES; e++) Py_CLEAR(self->entries[e]);
}

static int
LaunchSite_traverse(LaunchSite *self, visitproc visit, void *arg)
{
    for (int e = 0; e < SITE_ENTRIES; e++) Py_VISIT(self->entries[e]);
    /* Not the type: instances are of heap subclasses, whose traverse
       (subtype_traverse) visits it before calling this one. */
    return 0;
}

static int
LaunchSite_clear(LaunchSite *self)
{
    site_forget(self);
    return 0;
}

static void
LaunchSite_dealloc(LaunchSite *self)
{
    /* A static base: a heap subclass's dealloc releases its type. */
    PyObject_GC_UnTrack(self);
    site_forget(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

PyTypeObject LaunchSiteType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "numba_cuda_lcs._launcher.LaunchSite",
    .tp_basicsize = sizeof(LaunchSite),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Base class of a configured launch: calling it launches "
              "remembered launches in C, anything else through "
              "self.dispatcher.call(args, self).",
    .tp_new = PyType_GenericNew,
    .tp_call = (ternaryfunc)LaunchSite_call,
    .tp_dealloc = (destructor)LaunchSite_dealloc,
    .tp_traverse = (traverseproc)LaunchSite_traverse,
    .tp_clear = (inquiry)LaunchSite_clear,
};

/* *************************************************************************
 * Module functions                                                        *
 * ************************************************************************* */

/* remember(site, args, launcher, stream_handle, stream, counter, context)
 * -> bool: the slow path resolved and launched *args* with *launcher*. */
PyObject *
lcs_py_remember(PyObject *module, PyObject *const *a, Py_ssize_t n)
{
    if (n != 7) {
        PyErr_SetString(PyExc_TypeError,
                        "remember(site, args, launcher, stream_handle, "
                        "stream, counter, context)");
        return NULL;
    }
    PyObject *site = a[0], *args = a[1];
    if (!PyObject_TypeCheck(site, &LaunchSiteType) || !PyTuple_Check(args) ||
        !PyObject_TypeCheck(a[2], &LauncherType) ||
        PyTuple_GET_SIZE(args) > SITE_MAX_ARGS || LCS.twin_site_call != NULL)
        Py_RETURN_FALSE;
    if (a[5] != Py_None && !PyObject_TypeCheck(a[5], &HitCounterType)) {
        PyErr_SetString(PyExc_TypeError,
                        "remember(): counter must be a "
                        "numba_cuda_lcs.launcher.HitCounter (its `hits` is "
                        "counted in C) or None");
        return NULL;
    }
    long long handle = PyLong_AsLongLong(a[3]);
    void *ctx = PyLong_AsVoidPtr(a[6]);
    if (PyErr_Occurred()) return NULL;
    Py_ssize_t nargs = PyTuple_GET_SIZE(args);
    {
        /* Already remembered (the fast path declined a value this time, or
           another thread remembered it meanwhile): keep the entries. */
        PyObject *cais[SITE_MAX_ARGS];
        int index;
        SiteEntry *known = site_find((LaunchSite *)site, args, ctx, cais, &index);
        if (known != NULL) {
            for (Py_ssize_t i = 0; i < nargs; i++) Py_XDECREF(cais[i]);
            Py_DECREF(known);
            Py_RETURN_FALSE;
        }
        if (PyErr_Occurred()) return NULL;
    }
    SiteEntry *en = PyObject_GC_NewVar(SiteEntry, &SiteEntryType,
                                       nargs ? nargs : 1);
    if (en == NULL) return NULL;
    en->nargs = 0;
    en->launcher = (Launcher *)Py_NewRef(a[2]);
    en->stream = a[4] == Py_None ? NULL : Py_NewRef(a[4]);
    en->counter = a[5] == Py_None ? NULL : Py_NewRef(a[5]);
    en->stream_handle = handle;
    en->context = ctx;
    en->generation = LCS.generation;
    Launcher *lr = (Launcher *)a[2];
    PyObject *fb_stream = a[4] != Py_None ? Py_NewRef(a[4])
                                          : PyLong_FromLongLong(handle);
    if (fb_stream == NULL) {
        Py_DECREF(en);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < nargs; i++) {
        const argspec *sp = lcs_launcher_argspec(lr, i, nargs);
        int r = make_token(PyTuple_GET_ITEM(args, i), &en->tokens[i], sp,
                           fb_stream);
        if (r <= 0) {
            token_clear(&en->tokens[i]);
            Py_DECREF(en);
            Py_DECREF(fb_stream);
            if (r < 0) return NULL;
            Py_RETURN_FALSE;
        }
        en->nargs = i + 1;
    }
    Py_DECREF(fb_stream);
    PyObject_GC_Track(en);
    LaunchSite *s = (LaunchSite *)site;
    SiteEntry *last = s->entries[SITE_ENTRIES - 1];
    memmove(&s->entries[1], &s->entries[0],
            (SITE_ENTRIES - 1) * sizeof(SiteEntry *));
    s->entries[0] = en;
    Py_XDECREF(last);
    Py_RETURN_TRUE;
}

/* match(site, args, context) -> index of the entry that would launch
 * *args* in *context*, or -1: the fast path's lookup without launching. */
PyObject *
lcs_py_match(PyObject *module, PyObject *const *a, Py_ssize_t n)
{
    PyObject *cais[SITE_MAX_ARGS];
    int index = -1;
    if (n != 3 || !PyObject_TypeCheck(a[0], &LaunchSiteType) ||
        !PyTuple_Check(a[1])) {
        PyErr_SetString(PyExc_TypeError, "match(site, args: tuple, context)");
        return NULL;
    }
    void *ctx = PyLong_AsVoidPtr(a[2]);
    if (PyErr_Occurred()) return NULL;
    Py_ssize_t nargs = PyTuple_GET_SIZE(a[1]);
    if (nargs > SITE_MAX_ARGS) return PyLong_FromLong(-1);
    SiteEntry *en = site_find((LaunchSite *)a[0], a[1], ctx, cais, &index);
    if (en != NULL) {
        for (Py_ssize_t i = 0; i < nargs; i++) Py_XDECREF(cais[i]);
        Py_DECREF(en);
    }
    return PyLong_FromLong(en != NULL ? index : -1);
}

PyObject *
lcs_py_remembered(PyObject *module, PyObject *site)
{
    int n = 0;
    if (!PyObject_TypeCheck(site, &LaunchSiteType)) return PyLong_FromLong(0);
    while (n < SITE_ENTRIES && ((LaunchSite *)site)->entries[n] != NULL) n++;
    return PyLong_FromLong(n);
}

PyObject *
lcs_py_forget(PyObject *module, PyObject *site)
{
    if (PyObject_TypeCheck(site, &LaunchSiteType)) site_forget((LaunchSite *)site);
    Py_RETURN_NONE;
}

PyObject *
lcs_py_invalidate(PyObject *module, PyObject *unused)
{
    LCS.generation++;
    Py_RETURN_NONE;
}

/* configure_sites(typed classes, launch_error, LCS.twin_site_call) */
PyObject *
lcs_py_configure_sites(PyObject *module, PyObject *const *a, Py_ssize_t n)
{
    if (n != 3) {
        PyErr_SetString(PyExc_TypeError,
                        "configure_sites(typed_classes, launch_error, "
                        "twin_site_call)");
        return NULL;
    }
    PyObject *cls = a[0] == Py_None ? NULL : a[0];
    PyObject *err = a[1] == Py_None ? NULL : a[1];
    PyObject *twin = a[2] == Py_None ? NULL : a[2];
    int classes_ok = cls == NULL || PyType_Check(cls) || PyTuple_Check(cls);
    for (Py_ssize_t i = 0; classes_ok && cls != NULL && PyTuple_Check(cls) &&
                           i < PyTuple_GET_SIZE(cls); i++)
        classes_ok = PyType_Check(PyTuple_GET_ITEM(cls, i));
    if (!classes_ok || (err != NULL && !PyExceptionClass_Check(err)) ||
        (twin != NULL && !PyCallable_Check(twin))) {
        PyErr_SetString(PyExc_TypeError,
                        "configure_sites: a class or a tuple of classes, an "
                        "exception class and a callable (or None each)");
        return NULL;
    }
    /* kept as a tuple (lcs_is_typed_class); an empty one is none */
    if (cls != NULL) {
        cls = PyType_Check(cls) ? PyTuple_Pack(1, cls) : Py_NewRef(cls);
        if (cls == NULL) return NULL;
        if (PyTuple_GET_SIZE(cls) == 0) Py_CLEAR(cls);
    }
    Py_XSETREF(LCS.typed_classes, cls);
    Py_XSETREF(LCS.site_launch_error, Py_XNewRef(err));
    Py_XSETREF(LCS.twin_site_call, Py_XNewRef(twin));
    LCS.generation++;
    Py_RETURN_NONE;
}

/* configure_cupy(ndarray_class, get_current_stream) */
PyObject *
lcs_py_configure_cupy(PyObject *module, PyObject *const *a, Py_ssize_t n)
{
    if (n != 2 || (a[0] != Py_None && !PyType_Check(a[0])) ||
        (a[1] != Py_None && !PyCallable_Check(a[1]))) {
        PyErr_SetString(PyExc_TypeError,
                        "configure_cupy(ndarray_class, get_current_stream): a "
                        "class and a callable, or None each");
        return NULL;
    }
    Py_XSETREF(LCS.cupy_class, a[0] == Py_None ? NULL : Py_NewRef(a[0]));
    Py_XSETREF(LCS.cupy_current_stream, a[1] == Py_None ? NULL : Py_NewRef(a[1]));
    if (LCS.cupy_class == NULL || LCS.cupy_current_stream == NULL) {
        Py_CLEAR(LCS.cupy_class);
        Py_CLEAR(LCS.cupy_current_stream);
    }
    LCS.cupy_null_stream = 0;
    lcs_cupy_attrs_clear(&LCS.cupy_attrs);
    LCS.generation++;
    Py_RETURN_NONE;
}

/* configure_interface_sync(source, own_class) */
PyObject *
lcs_py_configure_interface_sync(PyObject *module, PyObject *const *a,
                                Py_ssize_t n)
{
    if (n != 2 || (a[1] != Py_None && !PyType_Check(a[1]))) {
        PyErr_SetString(PyExc_TypeError,
                        "configure_interface_sync(source, own_class): an "
                        "object and a class, or None each");
        return NULL;
    }
    Py_XSETREF(LCS.interface_sync_source,
               a[0] == Py_None ? NULL : Py_NewRef(a[0]));
    Py_XSETREF(LCS.memref_own_class, a[1] == Py_None ? NULL : Py_NewRef(a[1]));
    LCS.generation++;
    Py_RETURN_NONE;
}

