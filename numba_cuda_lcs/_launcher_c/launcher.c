/*
 * launcher.c -- the parameter buffer, plans and the Launcher type: marshal
 * a kernel's arguments by a per-kernel plan into a kernel parameter buffer
 * and call the CUDA driver directly (cuda_driver.h).
 *
 * Each marshalling rule reproduces what numba-cuda 0.30.4's
 * _Kernel._prepare_args hands to cuda.core's launch(), followed by how
 * cuda.core's ParamHolder stores each value (Python int -> intptr_t, float ->
 * double, ctypes / numpy scalars -> their own width).  When a fast rule does
 * not apply to a value it *declines*, and the argument goes through the
 * plan's fallback (the compiler's own marshalling), so unusual inputs and
 * their errors stay the compiler's.
 *
 * Where a compiler plugs in: a plan is built in Python by the compiler's
 * plan builder -- numba-cuda's is backends/numba_cuda/argplan.py -- as a
 * tuple of entries (kind, fallback, sizes, ndim, itemsize, typestr,
 * cai_sync) whose kinds are arg_kinds.h's.  A second compiler (numba-cuda-
 * mlir) launches through the same Launcher and the same launch sites by
 * adding its own plan builder; marshalling rules it needs that no kind has
 * yet become a new kind here (arg_kinds.h, pack_scalar / pack_array).  The
 * site code (sites.c) knows nothing of plans but launcher.h's questions.
 *
 * The pure-Python twin of this part is _launcher_py/launch.py.
 */
#include "launcher.h"

#include <string.h>

#include "arg_kinds.h"
#include "array_values.h"
#include "cuda_driver.h"
#include "state.h"

/* *************************************************************************
 * The parameter buffer                                                    *
 * ************************************************************************* */

/* Parameters are laid out as the driver does for kernelParams: each at its
 * natural alignment.  Offsets are kept (not pointers) so the buffer may grow;
 * they become the kernelParams pointer array just before the launch.  The
 * buffer lives on the caller's stack, so concurrent launches share nothing. */
#define STACK_BYTES 2048
#define STACK_PARAMS 256
/* Distinct streams one launch's array interfaces may name for synchronising
 * (pack_memref); a launch naming more declines to the compiler's path. */
#define MAX_SYNCS 8

typedef struct {
    unsigned char *data;
    uintptr_t *offs;
    size_t len, cap, n, ncap;
    /* The data pointer of the first K_MEMREF argument, when there is one:
     * numba-cuda-mlir launches in that array's context (see
     * in_first_array_context). */
    int has_first_array;
    Py_ssize_t first_array;
    /* The streams numba-cuda-mlir synchronises before this launch: those
     * its array interfaces name (see pack_memref, launch_marshalled). */
    int nsyncs;
    uintptr_t syncs[MAX_SYNCS];
    /* CuPy's current stream as its interface names it, read once per
     * launch for the CuPy arrays a site read without their interface
     * (pack_memref); 0 until read. */
    long long cupy_stream;
    /* NUMBA_CUDA_ARRAY_INTERFACE_SYNC as numba-cuda-mlir reads it now, read
     * once per launch (interface_sync_unchanged); -1 until read. */
    int interface_sync;
    unsigned char sdata[STACK_BYTES];
    uintptr_t soffs[STACK_PARAMS];
} pbuf;

static void
pbuf_init(pbuf *b)
{
    b->data = b->sdata;
    b->offs = b->soffs;
    b->len = b->n = 0;
    b->has_first_array = 0;
    b->first_array = 0;
    b->nsyncs = 0;
    b->cupy_stream = 0;
    b->interface_sync = -1;
    b->cap = STACK_BYTES;
    b->ncap = STACK_PARAMS;
}

static void
pbuf_free(pbuf *b)
{
    if (b->data != b->sdata) PyMem_Free(b->data);
    if (b->offs != b->soffs) PyMem_Free(b->offs);
}

static int
grow(void **p, void *stack, size_t *cap, size_t need, size_t unit)
{
    size_t ncap = *cap;
    while (ncap < need) ncap *= 2;
    void *q = PyMem_Malloc(ncap * unit);
    if (q == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    memcpy(q, *p, *cap * unit);
    if (*p != stack) PyMem_Free(*p);
    *p = q;
    *cap = ncap;
    return 0;
}

/* Append one parameter of `size` bytes from `len` bytes of storage: the
 * driver copies `size` bytes from where cuda.core stored the value, so a
 * wider storage is truncated (little-endian) and a narrower one zero-padded. */
static int
put(pbuf *b, const void *src, size_t len, size_t size)
{
    size_t align = 1;
    while (align < 8 && align * 2 <= size) align *= 2;
    size_t off = (b->len + align - 1) & ~(align - 1);
    if (off + size > b->cap &&
        grow((void **)&b->data, b->sdata, &b->cap, off + size, 1) < 0) {
        return -1;
    }
    if (b->n + 1 > b->ncap &&
        grow((void **)&b->offs, b->soffs, &b->ncap, b->n + 1,
             sizeof(uintptr_t)) < 0) {
        return -1;
    }
    memset(b->data + b->len, 0, off + size - b->len);
    memcpy(b->data + off, src, len < size ? len : size);
    b->offs[b->n++] = off;
    b->len = off + size;
    return 0;
}

static int
put_i64(pbuf *b, int64_t v)
{
    return put(b, &v, 8, 8);
}

/* Append *k* 8-byte parameters at once: an array's kept values (7 for a
 * 1-D numba-cuda array, 5 for a memref) as one copy, not one put() each. */
static int
put_i64s(pbuf *b, const int64_t *vals, size_t k)
{
    size_t off = (b->len + 7) & ~(size_t)7;
    if (off + 8 * k > b->cap &&
        grow((void **)&b->data, b->sdata, &b->cap, off + 8 * k, 1) < 0)
        return -1;
    if (b->n + k > b->ncap &&
        grow((void **)&b->offs, b->soffs, &b->ncap, b->n + k,
             sizeof(uintptr_t)) < 0)
        return -1;
    memset(b->data + b->len, 0, off - b->len);
    memcpy(b->data + off, vals, 8 * k);
    for (size_t i = 0; i < k; i++) b->offs[b->n++] = off + 8 * i;
    b->len = off + 8 * k;
    return 0;
}

/* A value numba-cuda put in kernelargs, stored by cuda.core's ParamHolder
 * rules; size < 0 means "the storage's own width" (fallbacks of kernels with
 * argument extensions, whose parameter layout is not known in advance). */
static int
put_value(pbuf *b, PyObject *v, Py_ssize_t size)
{
    unsigned char st[16];
    size_t len;
    if (PyLong_Check(v)) {  /* int and bool: intptr_t */
        Py_ssize_t x = PyLong_AsSsize_t(v);
        if (x == -1 && PyErr_Occurred()) return -1;
        memcpy(st, &x, 8);
        len = 8;
    }
    else if (PyFloat_Check(v)) {
        double d = PyFloat_AS_DOUBLE(v);
        memcpy(st, &d, 8);
        len = 8;
    }
    else if (PyComplex_Check(v)) {
        double d[2] = {PyComplex_RealAsDouble(v), PyComplex_ImagAsDouble(v)};
        memcpy(st, d, 16);
        len = 16;
    }
    else {
        if (lcs_load_types() < 0) return -1;
        int ok = PyObject_IsInstance(v, LCS.scalar_types);
        if (ok < 0) return -1;
        Py_buffer view;
        if (!ok || PyObject_GetBuffer(v, &view, PyBUF_SIMPLE) < 0) {
            PyErr_Clear();
            PyErr_Format(PyExc_TypeError,
                         "the argument is of unsupported type: %R",
                         (PyObject *)Py_TYPE(v));
            return -1;
        }
        len = view.len <= 16 ? (size_t)view.len : 16;
        memcpy(st, view.buf, len);
        PyBuffer_Release(&view);
    }
    return put(b, st, len, size < 0 ? len : (size_t)size);
}

/* *************************************************************************
 * The plan, unpacked once per launcher                                    *
 * ************************************************************************* */

struct argspec {
    int kind;
    int ndim;             /* K_ARRAY */
    int cai_sync;         /* K_ARRAY: NUMBA_CUDA_ARRAY_INTERFACE_SYNC */
    Py_ssize_t nparams;   /* -1: not known before marshalling */
    Py_ssize_t itemsize;  /* K_ARRAY */
    unsigned char *sizes; /* nparams entries */
    PyObject *fallback;   /* borrowed from the plan, which the launcher owns;
                             NULL: none, a declined value declines the
                             launch (the compiler's own launch takes it) */
    PyObject *typestr;    /* K_ARRAY, borrowed */
};

struct Launcher {
    PyObject_HEAD
    void *func;
    unsigned grid[3], block[3], shmem;
    int cooperative;
    Py_ssize_t nargs;
    argspec *specs;
    PyObject *plan;
    /* How launches hand the driver their parameters (see param_buffer_ok):
     * 0 not yet known, 1 as one buffer when a launch's layout is this one,
     * -1 one pointer each. */
    int layout;
    size_t layout_n, layout_bytes;
    uintptr_t *layout_offs; /* layout_n offsets (layout 1) */
};

/* *************************************************************************
 * Marshalling rules: arrays                                               *
 * ************************************************************************* */

static int
same_stream(PyObject *s, long long consumer)
{
    long long p = PyLong_Check(s) ? PyLong_AsLongLong(s) : 0;
    if (PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    /* CAI says 1 for the legacy default stream, launches say 0 */
    return p > 0 && (p == consumer || (p == 1 && consumer == 0));
}

#define DECLINE(r) do { ret = (r); goto out; } while (0)

/* The fast path of numba-cuda's _prepare_args for types.Array, i.e.
 * wrap_arg(val).to_device() -> devicearray._to_strided_memory_view, for
 * numba device arrays and __cuda_array_interface__ objects.  *pre_cai* is
 * obj's interface dict when the caller has just read it (a launch site's
 * check did; such objects are known not to be numba device memory), the
 * values a launch site's reader read (bytes, see read_view()), else NULL.  Returns 1 when packed, 0 to decline (no error set), -1 on error. */
static int
pack_array(const argspec *sp, PyObject *obj, PyObject *pre_cai,
           long long consumer, pbuf *b)
{
    enum { MAXD = 32 };
    Py_ssize_t shape[MAXD], strides[MAXD], ptr = 0, size = 1;
    PyObject *shim = NULL, *lay = NULL, *cai = NULL, *t = NULL;
    int nd = sp->ndim, ret = 0, have_strides = 0, c = 1, f = 1;
    if (nd > MAXD || lcs_load_types() < 0) return nd > MAXD ? 0 : -1;
    if (pre_cai != NULL && PyBytes_CheckExact(pre_cai)) {
        /* a launch site's reader already read and checked the values
           (size, itemsize, data, shape..., strides...), see read_view() */
        const int64_t *vals = (const int64_t *)PyBytes_AS_STRING(pre_cai);
        Py_ssize_t k = PyBytes_GET_SIZE(pre_cai) / 8;
        static const int64_t no_meminfo_no_parent[2] = {0, 0};
        if (k != 3 + 2 * nd) return 0;
        if (put_i64s(b, no_meminfo_no_parent, 2) < 0 ||
            put_i64s(b, vals, (size_t)k) < 0)
            return -1;
        return 1;
    }
    if (PyObject_TypeCheck(obj, (PyTypeObject *)LCS.smv_type)) return 0;
    /* is_device_memory(): a truthy __cuda_memory__ */
    int is_dev = 0;
    if (pre_cai == NULL) {
        t = PyObject_GetAttr(obj, LCS.str_cuda_memory);
        is_dev = t != NULL ? PyObject_IsTrue(t) : 0;
        Py_CLEAR(t);
        PyErr_Clear();
    }
    if (is_dev > 0) {
        /* numba's own arrays: the cached _strided_memory_view_shim is what
         * _to_strided_memory_view returns, and cheaper than the CAI dict. */
        Py_ssize_t isz;
        if (!(shim = PyObject_GetAttr(obj, LCS.str_shim)) ||
            !attr_ssize(shim, LCS.str_ptr, &ptr) ||
            !attr_ssize(shim, LCS.str_size, &size))
            DECLINE(0);
        t = PyObject_GetAttr(shim, LCS.str_dtype);
        if (t == NULL || !attr_ssize(t, LCS.str_itemsize, &isz) ||
            isz != sp->itemsize)
            DECLINE(0);
        Py_CLEAR(t);
        if (!(t = PyObject_GetAttr(shim, LCS.str_shape)) ||
            !int_tuple(t, nd, shape))
            DECLINE(0);
        Py_CLEAR(t);
        if (!(lay = PyObject_GetAttr(shim, LCS.str_layout)) ||
            !(t = PyObject_GetAttr(lay, LCS.str_strides_in_bytes)))
            DECLINE(0);
        /* `strides_in_bytes or strides_from_shape(...)` */
        int truthy = PyObject_IsTrue(t);
        if (truthy < 0) DECLINE(0);
        if (truthy) {
            if (!int_tuple(t, nd, strides)) DECLINE(0);
            have_strides = 1;
        }
        else {
            Py_ssize_t cc, ff;
            if (!attr_ssize(lay, LCS.str_is_c, &cc) ||
                !attr_ssize(lay, LCS.str_is_f, &ff))
                DECLINE(0);
            c = cc != 0;
            f = ff != 0;
        }
    }
    else {
        if (PyObject_TypeCheck(obj, (PyTypeObject *)LCS.ndarray_type)) return 0;
        /* Objects with __dlpack__ (CuPy, PyTorch) are viewed by numba-cuda
         * through DLPack: the producer orders its current stream before the
         * launch stream.  With CAI naming that same stream, nothing would
         * be done, and the CAI gives the same pointer, shape and strides. */
        int dl = PyObject_HasAttr(obj, LCS.str_dlpack);
        cai = pre_cai != NULL ? Py_NewRef(pre_cai)
                              : PyObject_GetAttr(obj, LCS.str_cai);
        if (cai == NULL || !PyDict_Check(cai)) DECLINE(0);
        PyObject *s = PyDict_GetItemString(cai, "stream");
        int has_stream = s != NULL && s != Py_None;
        if (dl ? !has_stream || !same_stream(s, consumer)
               : has_stream && (sp->cai_sync || !same_stream(s, consumer)))
            DECLINE(0);  /* numba-cuda's path does the synchronisation */
        PyObject *m = PyDict_GetItemString(cai, "mask");
        PyObject *v = PyDict_GetItemString(cai, "version");
        PyObject *ts = PyDict_GetItemString(cai, "typestr");
        PyObject *data = PyDict_GetItemString(cai, "data");
        if ((m != NULL && m != Py_None) || v == NULL || !PyLong_Check(v) ||
            PyLong_AsLong(v) < 3 || ts == NULL || !PyUnicode_Check(ts) ||
            PyUnicode_Compare(ts, sp->typestr) != 0 || data == NULL ||
            !PyTuple_Check(data) || PyTuple_GET_SIZE(data) < 1 ||
            !PyLong_Check(PyTuple_GET_ITEM(data, 0)) ||
            !int_tuple(PyDict_GetItemString(cai, "shape"), nd, shape))
            DECLINE(0);
        ptr = PyLong_AsSsize_t(PyTuple_GET_ITEM(data, 0));
        if (ptr == -1 && PyErr_Occurred()) DECLINE(0);
        for (int i = 0; i < nd; i++) size *= shape[i];
        PyObject *st = PyDict_GetItemString(cai, "strides");
        if (st != NULL && st != Py_None) {
            if (!int_tuple(st, nd, strides)) DECLINE(0);
            have_strides = nd > 0;
        }
        else {
            /* cuda.core marks a dense C layout F-contiguous too when at
             * most one extent exceeds 1, or when it is empty */
            int big = 0;
            for (int i = 0; i < nd; i++) big += shape[i] > 1;
            f = big <= 1 || size == 0;
        }
    }
    if (!have_strides &&
        !strides_from_shape(nd, shape, sp->itemsize, c, f, strides))
        DECLINE(0);
    /* meminfo, parent, nitems, itemsize, data, shape..., strides... */
    if (put_i64(b, 0) < 0 || put_i64(b, 0) < 0 || put_i64(b, size) < 0 ||
        put_i64(b, sp->itemsize) < 0 || put_i64(b, ptr) < 0)
        DECLINE(-1);
    for (int i = 0; i < nd; i++)
        if (put_i64(b, shape[i]) < 0) DECLINE(-1);
    for (int i = 0; i < nd; i++)
        if (put_i64(b, strides[i]) < 0) DECLINE(-1);
    ret = 1;
out:
    if (ret == 0) PyErr_Clear();
    Py_XDECREF(shim); Py_XDECREF(lay); Py_XDECREF(cai); Py_XDECREF(t);
    return ret;
}

/* Records stream handle *h* for synchronising before the launch, once per
 * distinct stream.  0 when it cannot (more than MAX_SYNCS streams): the
 * launch declines. */
static int
add_sync_handle(pbuf *b, uintptr_t h)
{
    for (int i = 0; i < b->nsyncs; i++)
        if (b->syncs[i] == h) return 1;
    if (b->nsyncs == MAX_SYNCS) return 0;
    b->syncs[b->nsyncs++] = h;
    return 1;
}

/* Records stream *s* (an interface's "stream"), as add_sync_handle; 0 also
 * when it is not an int. */
static int
add_sync(pbuf *b, PyObject *s)
{
    if (!PyLong_Check(s)) return 0;
    unsigned long long v = PyLong_AsUnsignedLongLong(s);  /* negative: error */
    if (PyErr_Occurred()) return 0;
    return add_sync_handle(b, (uintptr_t)v);
}

/* Whether numba-cuda-mlir takes *obj* as its own device array, which it
 * never synchronises a stream for (an isinstance check of its
 * DeviceNDArrayBase; without one configured, the typed classes). */
static inline int
memref_is_own(PyObject *obj)
{
    return LCS.memref_own_class != NULL
               ? PyObject_TypeCheck(obj, (PyTypeObject *)LCS.memref_own_class)
               : lcs_is_typed_class(Py_TYPE(obj));
}

/* Whether this launch may keep the NUMBA_CUDA_ARRAY_INTERFACE_SYNC that
 * plan entry *sp* was made with, for *obj*, an array that is not
 * numba-cuda-mlir's own.  numba-cuda-mlir reads the setting at every
 * launch and a plan holds the value of its making, so a changed setting
 * declines the launch (the compiler's path takes it, synchronising as the
 * setting says now) and makes the sites forget what they remembered: the
 * next launch is planned with the new value.  Read once per launch, at
 * launches only (marshal; a site making its tokens packs with the plan's
 * value).  1 keep, 0 decline, -1 error (one that is not an Exception). */
static int
interface_sync_unchanged(const argspec *sp, PyObject *obj, pbuf *b)
{
    if (LCS.interface_sync_source == NULL || memref_is_own(obj)) return 1;
    if (b->interface_sync < 0) {
        PyObject *v = PyObject_GetAttr(LCS.interface_sync_source,
                                       LCS.str_interface_sync);
        int now = v != NULL ? PyObject_IsTrue(v) : -1;
        Py_XDECREF(v);
        if (now < 0) {  /* unreadable: the compiler's path says why */
            if (!PyErr_ExceptionMatches(PyExc_Exception)) return -1;
            PyErr_Clear();
            return 0;
        }
        b->interface_sync = now;
    }
    if (b->interface_sync == (sp->cai_sync != 0)) return 1;
    LCS.generation++;
    return 0;
}

/* A device array as numba-cuda-mlir 0.6.0's native launcher passes it (its
 * kernels take each array as an expanded memref descriptor): allocated and
 * aligned pointer (both the data pointer), offset 0, shape, then strides in
 * elements -- the interface's byte strides divided by the item size (C
 * division, as there), or C-contiguous ones when the interface has none.
 * Read from the interface dict (*pre_cai* when a launch site read it).
 * An interface naming a stream, with NUMBA_CUDA_ARRAY_INTERFACE_SYNC, for
 * arrays other than the compiler's own: numba-cuda-mlir synchronises that
 * stream before launching (CUDA Array Interface v3; CuPy names its current
 * stream), so the stream is recorded and launch_marshalled synchronises it
 * too.  Declines, for numba-cuda-mlir's own path to take the launch, masks,
 * other dtypes, other ranks and reader values.  1 packed, 0 declined (no
 * error set), -1 error. */
static int
pack_memref(const argspec *sp, PyObject *obj, PyObject *pre_cai, pbuf *b)
{
    enum { MAXD = 32 };
    Py_ssize_t shape[MAXD], strides[MAXD], ptr;
    int nd = sp->ndim, ret = 0;
    if (nd > MAXD) return 0;
    if (pre_cai != NULL && PyBytes_CheckExact(pre_cai)) {
        /* a launch site kept these values for this very object (an array
           of the compiler's own class, see lcs_argspec_array_values), or
           read them as CuPy's (lcs_argspec_memref_view): then a trailing 1
           says the interface names CuPy's current stream, which
           numba-cuda-mlir synchronises first -- the one of this launch */
        const int64_t *vals = (const int64_t *)PyBytes_AS_STRING(pre_cai);
        Py_ssize_t k = PyBytes_GET_SIZE(pre_cai) / 8;
        if (k == 4 + 2 * nd && vals[k - 1] == 1) {
            if (b->cupy_stream == 0) b->cupy_stream = lcs_cupy_interface_stream();
            if (b->cupy_stream > 0) {
                if (!add_sync_handle(b, (uintptr_t)b->cupy_stream)) return 0;
                k--;
            }
            /* CuPy's name for its default stream not learnt yet: the
               interface says it (and it is learnt, below) */
            else k = -1;
        }
        if (k >= 0) {
            if (k != 3 + 2 * nd) return 0;
            if (put_i64s(b, vals, (size_t)k) < 0) return -1;
            if (!b->has_first_array) {
                b->has_first_array = 1;
                b->first_array = (Py_ssize_t)vals[0];
            }
            return 1;
        }
        pre_cai = NULL;
    }
    if (pre_cai != NULL && !PyDict_Check(pre_cai)) return 0;
    PyObject *cai = pre_cai != NULL ? Py_NewRef(pre_cai)
                                    : PyObject_GetAttr(obj, LCS.str_cai);
    if (cai == NULL || !PyDict_Check(cai)) DECLINE(0);
    PyObject *s = PyDict_GetItemString(cai, "stream");  /* borrowed from cai */
    int sync = s != NULL && s != Py_None && sp->cai_sync && !memref_is_own(obj);
    if (LCS.cupy_class != NULL && (PyObject *)Py_TYPE(obj) == LCS.cupy_class)
        lcs_cupy_learn_null_stream(cai);  /* for the sites' CuPy reader */
    PyObject *m = PyDict_GetItemString(cai, "mask");
    PyObject *ts = PyDict_GetItemString(cai, "typestr");
    PyObject *data = PyDict_GetItemString(cai, "data");
    if ((m != NULL && m != Py_None) || ts == NULL || !PyUnicode_Check(ts) ||
        PyUnicode_Compare(ts, sp->typestr) != 0 || data == NULL ||
        !PyTuple_Check(data) || PyTuple_GET_SIZE(data) < 1 ||
        !PyLong_Check(PyTuple_GET_ITEM(data, 0)) ||
        !int_tuple(PyDict_GetItemString(cai, "shape"), nd, shape))
        DECLINE(0);
    ptr = PyLong_AsSsize_t(PyTuple_GET_ITEM(data, 0));
    if (ptr == -1 && PyErr_Occurred()) DECLINE(0);
    PyObject *st = PyDict_GetItemString(cai, "strides");
    if (st != NULL && st != Py_None) {
        if (!int_tuple(st, nd, strides)) DECLINE(0);
        for (int i = 0; i < nd; i++) strides[i] /= sp->itemsize;
    }
    else {
        Py_ssize_t step = 1;
        for (int i = nd - 1; i >= 0; i--) {
            strides[i] = step;
            step *= shape[i];
        }
    }
    if (sync && !add_sync(b, s)) DECLINE(0);
    if (put_i64(b, ptr) < 0 || put_i64(b, ptr) < 0 || put_i64(b, 0) < 0)
        DECLINE(-1);
    if (!b->has_first_array) {
        b->has_first_array = 1;
        b->first_array = ptr;
    }
    for (int i = 0; i < nd; i++)
        if (put_i64(b, shape[i]) < 0) DECLINE(-1);
    for (int i = 0; i < nd; i++)
        if (put_i64(b, strides[i]) < 0) DECLINE(-1);
    ret = 1;
out:
    if (ret == 0) PyErr_Clear();
    Py_XDECREF(cai);
    return ret;
}

/* *************************************************************************
 * Marshalling rules: scalars and fallbacks                                *
 * ************************************************************************* */

/* IEEE double -> binary16 bits, round to nearest even: what
 * np.float16(python_float) does (numba-cuda's float16 rule). */
static uint16_t
double_to_half(double d)
{
    uint64_t x;
    memcpy(&x, &d, 8);
    uint16_t sign = (uint16_t)((x >> 48) & 0x8000);
    int exp = (int)((x >> 52) & 0x7ff);
    uint64_t man = x & 0xfffffffffffffULL;
    if (exp == 0x7ff) /* inf / nan (keep it a nan) */
        return sign | 0x7c00 | (man ? (uint16_t)(0x200 | (man >> 42)) : 0);
    int e = exp - 1023 + 15;
    if (e >= 31) return sign | 0x7c00;
    uint64_t m = man | (exp ? 1ULL << 52 : 0);  /* 53-bit significand */
    int shift = e >= 1 ? 42 : 42 + 1 - e;       /* subnormals shift more */
    if (shift > 63) return sign;
    uint64_t q = m >> shift, rem = m & ((1ULL << shift) - 1);
    uint64_t half = 1ULL << (shift - 1);
    if (rem > half || (rem == half && (q & 1))) q++;
    if (e >= 1) /* q carries the implicit bit; a carry bumps the exponent */
        return sign | (uint16_t)(((uint64_t)e << 10) + q - 0x400);
    return sign | (uint16_t)q;
}

/* Fast rules for scalars; 1 packed, 0 declined (error possibly set, the
 * caller clears it), -1 error. */
static int
pack_scalar(const argspec *sp, PyObject *v, pbuf *b)
{
    unsigned char st[16];
    switch (sp->kind) {
    case K_INT: {  /* ctypes.c_<ty>(val): __index__, then masked */
        PyObject *i = PyNumber_Index(v);
        if (i == NULL) return 0;
        unsigned long long x = PyLong_AsUnsignedLongLongMask(i);
        Py_DECREF(i);
        if (x == (unsigned long long)-1 && PyErr_Occurred()) return 0;
        return put(b, &x, 8, sp->sizes[0]) < 0 ? -1 : 1;
    }
    case K_BOOL:   /* appended as is: a Python int/bool is an intptr_t */
    case K_PTR: {
        if (!PyLong_Check(v)) return 0;
        Py_ssize_t x = PyLong_AsSsize_t(v);
        if (x == -1 && PyErr_Occurred()) return 0;
        return put(b, &x, 8, sp->sizes[0]) < 0 ? -1 : 1;
    }
    case K_F16: {  /* np.float16(val).view(np.uint16) */
        if (!PyFloat_CheckExact(v)) return 0;
        uint16_t h = double_to_half(PyFloat_AS_DOUBLE(v));
        return put(b, &h, 2, 2) < 0 ? -1 : 1;
    }
    case K_F32:    /* ctypes.c_float / c_double: PyFloat_AsDouble */
    case K_F64: {
        double d = PyFloat_AsDouble(v);
        if (d == -1.0 && PyErr_Occurred()) return 0;
        float fl = (float)d;
        if (sp->kind == K_F32) return put(b, &fl, 4, 4) < 0 ? -1 : 1;
        return put(b, &d, 8, 8) < 0 ? -1 : 1;
    }
    case K_C64:    /* c_float(val.real), c_float(val.imag) */
    case K_C128: {
        double re, im = 0.0;
        if (PyComplex_Check(v)) {
            re = PyComplex_RealAsDouble(v);
            im = PyComplex_ImagAsDouble(v);
        }
        else if (PyFloat_Check(v)) re = PyFloat_AS_DOUBLE(v);
        else return 0;
        if (sp->kind == K_C128) {
            memcpy(st, &re, 8);
            memcpy(st + 8, &im, 8);
            return put(b, st, 8, 8) < 0 || put(b, st + 8, 8, 8) < 0 ? -1 : 1;
        }
        float f2[2] = {(float)re, (float)im};
        return put(b, &f2[0], 4, 4) < 0 || put(b, &f2[1], 4, 4) < 0 ? -1 : 1;
    }
    }
    return 0;
}

/* fallback(value, stream, retr) -> list of numba-cuda kernel arguments */
static int
pack_fallback(const argspec *sp, Py_ssize_t idx, PyObject *v, PyObject *stream,
              PyObject **retr, pbuf *b)
{
    if (*retr == NULL && (*retr = PyList_New(0)) == NULL) return -1;
    PyObject *vals = PyObject_CallFunctionObjArgs(sp->fallback, v, stream,
                                                  *retr, NULL);
    if (vals == NULL) return -1;
    PyObject *seq = PySequence_Fast(vals, "fallback must return a sequence");
    Py_DECREF(vals);
    if (seq == NULL) return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    int rc = 0;
    if (sp->nparams >= 0 && n != sp->nparams) {
        PyErr_Format(PyExc_TypeError,
                     "kernel argument %zd was marshalled to %zd parameters; "
                     "the compiled kernel takes %zd",
                     idx, n, sp->nparams);
        rc = -1;
    }
    for (Py_ssize_t i = 0; rc == 0 && i < n; i++)
        rc = put_value(b, PySequence_Fast_GET_ITEM(seq, i),
                       sp->nparams >= 0 ? sp->sizes[i] : -1);
    Py_DECREF(seq);
    return rc;
}

/* *************************************************************************
 * Marshalling a launch, and launching it                                  *
 * ************************************************************************* */

/* 0 marshalled, -1 error, DECLINED: a value no rule of the plan covers
 * and the entry has no fallback (no error set). */
enum { DECLINED = -2 };

static int
marshal(Launcher *self, PyObject *args, long long consumer, PyObject *stream,
        PyObject *const *cais, PyObject **retr, pbuf *b)
{
    if (!PyTuple_Check(args) || PyTuple_GET_SIZE(args) != self->nargs) {
        PyErr_Format(PyExc_TypeError, "expected a tuple of %zd arguments",
                     self->nargs);
        return -1;
    }
    for (Py_ssize_t i = 0; i < self->nargs; i++) {
        const argspec *sp = &self->specs[i];
        PyObject *v = PyTuple_GET_ITEM(args, i);
        size_t n0 = b->n, len0 = b->len;
        PyObject *cai = cais != NULL ? cais[i] : NULL;
        int r = sp->kind == K_ARRAY    ? pack_array(sp, v, cai, consumer, b)
                : sp->kind == K_MEMREF ? interface_sync_unchanged(sp, v, b)
                : sp->kind == K_FALLBACK ? 0
                                         : pack_scalar(sp, v, b);
        /* (K_MEMREF: the interface-sync setting first, then the rule) */
        if (sp->kind == K_MEMREF && r == 1) r = pack_memref(sp, v, cai, b);
        if (r < 0) return -1;
        if (r == 0) {
            PyErr_Clear();  /* a declined rule may leave its error set */
            b->n = n0;      /* and drops anything it wrote */
            b->len = len0;
            if (sp->fallback == NULL) return DECLINED;
            if (pack_fallback(sp, i, v, stream, retr, b) < 0) return -1;
        }
    }
    return 0;
}

static void
declined_error(void)
{
    PyErr_SetString(PyExc_TypeError,
                    "an argument is not one this launch plan marshals (its "
                    "entry has no fallback): launch it through the compiler");
}

/* numba-cuda-mlir 0.6.0 launches in the context its first array argument
 * was allocated in, making that context current for the launch when it is
 * another one; when the driver names no context for the pointer (an error,
 * or none: stream-ordered pool memory) it launches in the current one.
 * (Its native launcher asks cuPointerGetAttribute; seen with the stand-in
 * driver, tests/support/fake_libcuda.c.)  A plan launches in the current
 * context -- the one its function was loaded in -- so a launch whose first
 * array lives in another context declines, and numba-cuda-mlir's own path
 * launches it.  One driver call per launch with arrays. */
static int
in_first_array_context(const pbuf *b)
{
    void *current = NULL, *owner = NULL;
    if (!b->has_first_array) return 1;
    if (LCS.driver.ptrattr == NULL || LCS.driver.getctx(&current) != 0)
        return 0;
    if (LCS.driver.ptrattr(&owner, LCS_CU_POINTER_ATTRIBUTE_CONTEXT,
                           (uint64_t)b->first_array) != 0)
        return 1;
    return owner == NULL || owner == current;
}

static void
other_context_error(void)
{
    PyErr_SetString(PyExc_TypeError,
                    "the first array argument was allocated in another CUDA "
                    "context than the current one, where this plan's kernel "
                    "is loaded: launch it through the compiler");
}

static int
parse_call(PyObject *const *a, Py_ssize_t n, const char *name,
           long long *consumer, PyObject **stream)
{
    if (n < 1 || n > 3) {
        PyErr_Format(PyExc_TypeError, "%s(args, stream_handle=0, stream=None)",
                     name);
        return -1;
    }
    *consumer = 0;
    *stream = NULL;
    if (n >= 2) {
        *consumer = PyLong_AsLongLong(a[1]);
        if (*consumer == -1 && PyErr_Occurred()) return -1;
    }
    if (n == 3 && a[2] != Py_None) *stream = a[2];
    return 0;
}

static PyObject *
Launcher_pack(Launcher *self, PyObject *const *a, Py_ssize_t n)
{
    long long consumer;
    PyObject *stream, *retr = NULL, *res = NULL, *h = NULL;
    if (parse_call(a, n, "pack", &consumer, &stream) < 0) return NULL;
    if (stream == NULL && (stream = h = PyLong_FromLongLong(consumer)) == NULL)
        return NULL;
    pbuf b;
    pbuf_init(&b);
    int rc = marshal(self, a[0], consumer, stream, NULL, &retr, &b);
    if (rc == 0) res = PyBytes_FromStringAndSize((const char *)b.data, b.len);
    else if (rc == DECLINED) declined_error();
    pbuf_free(&b);
    Py_XDECREF(retr);
    Py_XDECREF(h);
    return res;
}

/* *************************************************************************
 * Handing the driver the parameters                                      *
 * ************************************************************************* */

/* cuLaunchKernel takes the parameters either as a pointer per parameter
 * (kernelParams), which the driver copies one by one, or as one buffer
 * (extra: CU_LAUNCH_PARAM_BUFFER_POINTER), which it copies as it is: one
 * copy, cheaper for launches of many parameters (numba-cuda passes 7 per
 * 1-D array, numba-cuda-mlir 5).  The buffer must hold each parameter at
 * the offset the function's own parameter info gives and be as long as its
 * parameters; then the kernel receives the same bytes either way.  The
 * launcher learns the function's layout once (cuFuncGetParamInfo or
 * cuKernelGetParamInfo, CUDA 12.4+) and sends a launch as one buffer only
 * when its layout is exactly that one; otherwise, without those entry
 * points, and for cooperative launches (cuLaunchCooperativeKernel has no
 * `extra`), one pointer each. */
static void
learn_layout(Launcher *self, const pbuf *b)
{
    size_t off = 0, size = 0, n = b->n;
    self->layout = -1;
    if (self->cooperative || n == 0) return;
    /* The handle is a CUfunction (cuModuleGetFunction) or a CUkernel
       (cuda.core's Kernel.handle, which cuLaunchKernel takes too): the
       entry point that describes parameter 0 describes them all. */
    lcs_paraminfo_fn info = NULL;
    lcs_paraminfo_fn candidates[2] = {LCS.driver.paraminfo,
                                      LCS.driver.kernel_paraminfo};
    for (int c = 0; c < 2 && info == NULL; c++)
        if (candidates[c] != NULL &&
            candidates[c](self->func, 0, &off, &size) == 0)
            info = candidates[c];
    if (info == NULL) return;
    uintptr_t *offs = PyMem_Malloc(n * sizeof(uintptr_t));
    if (offs == NULL) return;  /* no memory: one pointer each */
    for (size_t i = 0; i < n; i++) {
        if (info(self->func, i, &off, &size) != 0 || off != b->offs[i]) {
            PyMem_Free(offs);
            return;
        }
        offs[i] = off;
    }
    /* exactly n parameters, and the buffer as long as they are */
    size_t extra_off, extra_size;
    if (info(self->func, n, &extra_off, &extra_size) == 0 ||
        off + size != b->len) {
        PyMem_Free(offs);
        return;
    }
    self->layout_offs = offs;
    self->layout_n = n;
    self->layout_bytes = b->len;
    self->layout = 1;
}

static int
param_buffer_ok(Launcher *self, const pbuf *b)
{
    if (self->layout == 0) learn_layout(self, b);
    return self->layout > 0 && b->n == self->layout_n &&
           b->len == self->layout_bytes &&
           memcmp(b->offs, self->layout_offs, b->n * sizeof(uintptr_t)) == 0;
}

/* The launch itself (the GIL released): as one buffer when *buffer* is set,
 * which is cleared when the driver refused the buffer and the launch went
 * as one pointer each. */
static CUresult
driver_launch(Launcher *self, pbuf *b, void *stream, int *buffer)
{
    if (self->cooperative) {
        void **params = (void **)b->offs;  /* offsets become pointers */
        for (size_t i = 0; i < b->n; i++) params[i] = b->data + b->offs[i];
        return LCS.driver.coop(self->func, self->grid[0], self->grid[1],
                               self->grid[2], self->block[0], self->block[1],
                               self->block[2], self->shmem, stream, params);
    }
    if (*buffer) {
        size_t bytes = b->len;
        void *extra[] = {LCS_CU_LAUNCH_PARAM_BUFFER_POINTER, b->data,
                         LCS_CU_LAUNCH_PARAM_BUFFER_SIZE, &bytes,
                         LCS_CU_LAUNCH_PARAM_END};
        CUresult err = LCS.driver.launch(
            self->func, self->grid[0], self->grid[1], self->grid[2],
            self->block[0], self->block[1], self->block[2], self->shmem,
            stream, NULL, extra);
        /* a driver that takes the buffer otherwise than its parameter info
           said refuses it before launching anything: one pointer each (the
           caller makes that the launcher's way from now on) */
        if (err != LCS_CUDA_ERROR_INVALID_VALUE) return err;
        *buffer = 0;
    }
    void **params = (void **)b->offs;  /* offsets become pointers in place */
    for (size_t i = 0; i < b->n; i++) params[i] = b->data + b->offs[i];
    return LCS.driver.launch(self->func, self->grid[0], self->grid[1],
                             self->grid[2], self->block[0], self->block[1],
                             self->block[2], self->shmem, stream, params, NULL);
}

/* See launcher.h. */
PyObject *
lcs_launch_marshalled(Launcher *self, PyObject *args, long long consumer,
                      PyObject *stream, PyObject *const *cais, int *declined)
{
    PyObject *retr = NULL;
    pbuf b;
    pbuf_init(&b);
    int rc = marshal(self, args, consumer, stream, cais, &retr, &b);
    if (rc == 0 && !in_first_array_context(&b)) {
        pbuf_free(&b);
        Py_XDECREF(retr);
        if (declined != NULL) *declined = 1;
        else other_context_error();
        return NULL;
    }
    if (rc == 0 && b.nsyncs > 0 && LCS.driver.streamsync == NULL)
        rc = DECLINED;  /* no cuStreamSynchronize: the compiler's path */
    if (rc < 0) {
        pbuf_free(&b);
        Py_XDECREF(retr);
        if (rc == DECLINED) {
            if (declined != NULL) *declined = 1;
            else declined_error();
        }
        return NULL;
    }
    /* The streams the array interfaces named, as numba-cuda-mlir
       synchronises them before its launch (see pack_memref).  A failure
       from a launch site declines: the compiler's path synchronises again
       and raises its own error. */
    for (int i = 0; i < b.nsyncs; i++) {
        CUresult serr;
        Py_BEGIN_ALLOW_THREADS
        serr = LCS.driver.streamsync((void *)b.syncs[i]);
        Py_END_ALLOW_THREADS
        if (serr != 0) {
            pbuf_free(&b);
            Py_XDECREF(retr);
            if (declined != NULL) *declined = 1;
            else
                PyErr_Format(LCS.LaunchError,
                             "cuStreamSynchronize failed: %s (%d)",
                             lcs_driver_error_name(&LCS.driver, serr), serr);
            return NULL;
        }
    }
    int buffer = param_buffer_ok(self, &b), chose_buffer = buffer;
    void *hs = (void *)(uintptr_t)consumer;
    CUresult err;
    Py_BEGIN_ALLOW_THREADS
    err = driver_launch(self, &b, hs, &buffer);
    Py_END_ALLOW_THREADS
    if (chose_buffer && !buffer) self->layout = -1;  /* the driver refused it */
    pbuf_free(&b);
    if (err != 0) {
        PyErr_Format(LCS.LaunchError, "%s failed: %s (%d)",
                     self->cooperative ? "cuLaunchCooperativeKernel"
                                       : "cuLaunchKernel",
                     lcs_driver_error_name(&LCS.driver, err), err);
        Py_XDECREF(retr);
        return NULL;
    }
    if (retr == NULL) return PyTuple_New(0);
    return retr;
}

static PyObject *
Launcher_launch(Launcher *self, PyObject *const *a, Py_ssize_t n)
{
    long long consumer;
    PyObject *stream, *h = NULL;
    if (parse_call(a, n, "launch", &consumer, &stream) < 0) return NULL;
    if (lcs_driver_load(&LCS.driver) < 0) return NULL;
    if (stream == NULL && (stream = h = PyLong_FromLongLong(consumer)) == NULL)
        return NULL;
    PyObject *res = lcs_launch_marshalled(self, a[0], consumer, stream, NULL, NULL);
    Py_XDECREF(h);
    return res;
}

/* *************************************************************************
 * Plans                                                                   *
 * ************************************************************************* */

static void
free_specs(argspec *specs, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; specs != NULL && i < n; i++)
        PyMem_Free(specs[i].sizes);
    PyMem_Free(specs);
}

/* Plan entry (argplan.ParamPlan):
 *   (kind, fallback, sizes or None, ndim, itemsize, typestr, cai_sync) */
static int
unpack_plan(Launcher *self, PyObject *plan)
{
    if (!PyTuple_Check(plan)) {
        PyErr_SetString(PyExc_TypeError, "plan must be a tuple");
        return -1;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(plan);
    argspec *specs = PyMem_Calloc(n ? n : 1, sizeof(argspec));
    if (specs == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *e = PyTuple_GET_ITEM(plan, i), *sizes;
        argspec *sp = &specs[i];
        if (!PyTuple_Check(e) || PyTuple_GET_SIZE(e) != 7 ||
            (PyTuple_GET_ITEM(e, 1) != Py_None &&
             !PyCallable_Check(PyTuple_GET_ITEM(e, 1))))
            goto bad;
        sp->kind = PyLong_AsLong(PyTuple_GET_ITEM(e, 0));
        sp->fallback = PyTuple_GET_ITEM(e, 1) == Py_None ? NULL : PyTuple_GET_ITEM(e, 1);
        sizes = PyTuple_GET_ITEM(e, 2);
        sp->ndim = PyLong_AsLong(PyTuple_GET_ITEM(e, 3));
        sp->itemsize = PyLong_AsSsize_t(PyTuple_GET_ITEM(e, 4));
        sp->typestr = PyTuple_GET_ITEM(e, 5);
        sp->cai_sync = PyObject_IsTrue(PyTuple_GET_ITEM(e, 6));
        if (PyErr_Occurred() || sp->kind < K_FALLBACK || sp->kind >= LCS_ARG_KIND_COUNT)
            goto bad;
        sp->nparams = -1;
        if (sizes != Py_None) {
            if (!PyTuple_Check(sizes)) goto bad;
            sp->nparams = PyTuple_GET_SIZE(sizes);
            if ((sp->sizes = PyMem_Malloc(sp->nparams + 1)) == NULL) {
                PyErr_NoMemory();
                goto fail;
            }
            for (Py_ssize_t j = 0; j < sp->nparams; j++) {
                long s = PyLong_AsLong(PyTuple_GET_ITEM(sizes, j));
                if (s < 1 || s > 16) goto bad;
                sp->sizes[j] = (unsigned char)s;
            }
        }
        if (sp->kind != K_FALLBACK && sp->nparams < 1) goto bad;
        if (sp->kind == K_FALLBACK && sp->fallback == NULL) goto bad;
        if (sp->kind == K_MEMREF &&
            (sp->ndim < 0 || sp->nparams != 3 + 2 * sp->ndim ||
             sp->itemsize < 1 || !PyUnicode_Check(sp->typestr)))
            goto bad;
        if (sp->kind == K_ARRAY &&
            (sp->ndim < 0 || sp->nparams != 5 + 2 * sp->ndim ||
             sp->itemsize < 1 || !PyUnicode_Check(sp->typestr)))
            goto bad;
    }
    self->specs = specs;
    self->nargs = n;
    return 0;
bad:
    PyErr_Clear();
    PyErr_SetString(PyExc_ValueError, "malformed launch plan entry");
fail:
    free_specs(specs, n);
    return -1;
}

/* *************************************************************************
 * The Launcher type                                                       *
 * ************************************************************************* */

static int
uint3(PyObject *t, unsigned *out, const char *what)
{
    if (!PyArg_ParseTuple(t, "III", &out[0], &out[1], &out[2])) {
        PyErr_Format(PyExc_TypeError, "%s must be a 3-tuple of ints", what);
        return -1;
    }
    return 0;
}

static PyObject *
Launcher_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"function", "grid", "block", "sharedmem",
                             "cooperative", "plan", NULL};
    PyObject *func, *grid, *block, *plan;
    unsigned shmem;
    int coop;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O!O!O!IpO!:Launcher", kwlist,
                                     &PyLong_Type, &func, &PyTuple_Type, &grid,
                                     &PyTuple_Type, &block, &shmem, &coop,
                                     &PyTuple_Type, &plan))
        return NULL;
    Launcher *self = (Launcher *)type->tp_alloc(type, 0);
    if (self == NULL) return NULL;
    self->func = PyLong_AsVoidPtr(func);
    self->shmem = shmem;
    self->cooperative = coop;
    if (PyErr_Occurred() || uint3(grid, self->grid, "grid") < 0 ||
        uint3(block, self->block, "block") < 0 || unpack_plan(self, plan) < 0) {
        Py_DECREF(self);
        return NULL;
    }
    self->plan = Py_NewRef(plan);
    return (PyObject *)self;
}

static void
Launcher_dealloc(Launcher *self)
{
    PyMem_Free(self->layout_offs);
    free_specs(self->specs, self->nargs);
    Py_XDECREF(self->plan);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
Launcher_get_plan(Launcher *self, void *unused)
{
    return Py_NewRef(self->plan);
}

static PyMethodDef Launcher_methods[] = {
    {"pack", (PyCFunction)(void (*)(void))Launcher_pack, METH_FASTCALL,
     "pack(args, stream_handle=0, stream=None) -> bytes: the kernel "
     "parameter buffer (write-backs of fallbacks are dropped)."},
    {"launch", (PyCFunction)(void (*)(void))Launcher_launch, METH_FASTCALL,
     "launch(args, stream_handle=0, stream=None) -> write-backs: marshal "
     "and launch; the caller runs the returned callables afterwards."},
    {NULL}};

static PyObject *
Launcher_get_param_buffer(Launcher *self, void *unused)
{
    if (self->layout == 0) Py_RETURN_NONE;
    return PyBool_FromLong(self->layout > 0);
}

static PyGetSetDef Launcher_getset[] = {
    {"plan", (getter)Launcher_get_plan, NULL, "the argument plan", NULL},
    {"param_buffer", (getter)Launcher_get_param_buffer, NULL,
     "whether launches of the function's layout go to the driver as one "
     "parameter buffer (None: not launched yet)", NULL},
    {NULL}};

PyTypeObject LauncherType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "numba_cuda_lcs._launcher.Launcher",
    .tp_basicsize = sizeof(Launcher),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Launcher(function, grid, block, sharedmem, cooperative, plan)",
    .tp_new = Launcher_new,
    .tp_dealloc = (destructor)Launcher_dealloc,
    .tp_methods = Launcher_methods,
    .tp_getset = Launcher_getset,
};

/* *************************************************************************
 * What launch sites may ask of a plan (launcher.h)                        *
 * ************************************************************************* */

const argspec *
lcs_launcher_argspec(const Launcher *self, Py_ssize_t i, Py_ssize_t nargs)
{
    return self->nargs == nargs && i >= 0 && i < nargs ? &self->specs[i] : NULL;
}

Py_ssize_t
lcs_argspec_view_itemsize(const argspec *sp)
{
    if (sp == NULL || sp->kind != K_ARRAY || sp->fallback == NULL) return 0;
    return sp->itemsize;
}

/* See launcher.h. */
PyObject *
lcs_argspec_array_values(const argspec *sp, PyObject *v)
{
    if (sp == NULL || (sp->kind != K_ARRAY && sp->kind != K_MEMREF)) return NULL;
    pbuf b;
    pbuf_init(&b);
    int r = sp->kind == K_ARRAY ? pack_array(sp, v, NULL, 0, &b)
                                : pack_memref(sp, v, NULL, &b);
    /* every value is an int64, packed back to back from offset 0 */
    size_t skip = sp->kind == K_ARRAY ? 16 : 0;  /* meminfo, parent */
    PyObject *values = NULL;
    if (r == 1 && b.nsyncs == 0 && b.len > skip && b.len == 8 * b.n)
        values = PyBytes_FromStringAndSize((const char *)b.data + skip,
                                           (Py_ssize_t)(b.len - skip));
    pbuf_free(&b);
    PyErr_Clear();
    return values;
}

Py_ssize_t
lcs_argspec_memref_itemsize(const argspec *sp)
{
    return sp != NULL && sp->kind == K_MEMREF ? sp->itemsize : 0;
}

/* See launcher.h. */
PyObject *
lcs_argspec_memref_view(const argspec *sp, PyObject *v, PyObject *cai,
                        const int64_t *vals, Py_ssize_t n)
{
    if (sp == NULL || sp->kind != K_MEMREF || n != 3 + 2 * sp->ndim ||
        vals[1] != sp->itemsize || cai == NULL || !PyDict_Check(cai))
        return NULL;
    int nd = sp->ndim;
    int64_t mine[4 + 2 * 32];
    if (nd > 32) return NULL;
    /* data, data, offset 0, shape, strides in elements (C division, as
       pack_memref divides the interface's) */
    mine[0] = mine[1] = vals[2];
    mine[2] = 0;
    for (int i = 0; i < nd; i++) {
        mine[3 + i] = vals[3 + i];
        mine[3 + nd + i] = vals[3 + nd + i] / sp->itemsize;
    }
    pbuf theirs;
    pbuf_init(&theirs);
    int same = pack_memref(sp, v, cai, &theirs) == 1 &&
               theirs.len == (size_t)(3 + 2 * nd) * 8 &&
               memcmp(theirs.data, mine, theirs.len) == 0;
    /* the stream the interface names must be CuPy's current one as this
       process reads it, for the launch to synchronise the same one */
    size_t k = 3 + 2 * nd;
    if (same && theirs.nsyncs == 1) {
        long long now = lcs_cupy_interface_stream();
        same = now > 0 && (uintptr_t)now == theirs.syncs[0];
        mine[k++] = 1;
    }
    /* an interface naming no stream while synchronising is on (CuPy's
       export version 2, a module global it reads on each access): keep
       reading the interface, which may name one later */
    else if (theirs.nsyncs != 0 || sp->cai_sync) same = 0;
    pbuf_free(&theirs);
    PyErr_Clear();
    return same ? PyBytes_FromStringAndSize((const char *)mine,
                                            (Py_ssize_t)(k * 8))
                : NULL;
}

/* The parameters pack_array() makes of view values (meminfo and parent are
 * 0, then the values), against those of the entry's fallback. */
int
lcs_argspec_view_agrees(const argspec *sp, PyObject *v, PyObject *stream,
                        const int64_t *vals, Py_ssize_t n)
{
    PyObject *retr = NULL;
    if (lcs_argspec_view_itemsize(sp) == 0 || n != 3 + 2 * sp->ndim ||
        vals[1] != sp->itemsize)
        return 0;
    pbuf mine, theirs;
    pbuf_init(&mine);
    pbuf_init(&theirs);
    int same = put_i64(&mine, 0) == 0 && put_i64(&mine, 0) == 0;
    for (Py_ssize_t i = 0; same && i < n; i++) same = put_i64(&mine, vals[i]) == 0;
    same = same && pack_fallback(sp, 0, v, stream, &retr, &theirs) == 0 &&
           PyList_GET_SIZE(retr) == 0 && mine.len == theirs.len &&
           mine.n == theirs.n && memcmp(mine.data, theirs.data, mine.len) == 0;
    pbuf_free(&mine);
    pbuf_free(&theirs);
    Py_XDECREF(retr);
    PyErr_Clear();
    return same;
}

/* *************************************************************************
 * Module functions                                                        *
 * ************************************************************************* */

PyObject *
lcs_py_double_to_half(PyObject *module, PyObject *arg)
{
    double d = PyFloat_AsDouble(arg);
    if (d == -1.0 && PyErr_Occurred()) return NULL;
    return PyLong_FromLong(double_to_half(d));
}

/* The calling thread's current CUDA context as an int (0: none).  Launch
   state is kept per context; numba-cuda's own lookup of it costs more than
   a launch (its context stack, locks and logging), this is one driver call. */
PyObject *
lcs_py_current_context(PyObject *module, PyObject *unused)
{
    void *ctx = NULL;
    if (lcs_driver_load(&LCS.driver) < 0) return NULL;
    CUresult err = LCS.driver.getctx(&ctx);
    if (err != 0) {
        PyErr_Format(LCS.LaunchError, "cuCtxGetCurrent failed: %s (%d)",
                     lcs_driver_error_name(&LCS.driver, err), err);
        return NULL;
    }
    return PyLong_FromVoidPtr(ctx);
}
