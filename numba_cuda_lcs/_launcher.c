/*
 * C launch path for numba-cuda kernels: marshal arguments by a per-kernel
 * plan (see backends/numba_cuda/argplan.py) into a kernel parameter buffer
 * and call the CUDA driver directly.
 *
 * Each marshalling rule reproduces what numba-cuda 0.30.4's
 * _Kernel._prepare_args hands to cuda.core's launch(), followed by how
 * cuda.core's ParamHolder stores each value (Python int -> intptr_t, float ->
 * double, ctypes / numpy scalars -> their own width).  When a fast rule does
 * not apply to a value it *declines*, and the argument goes through the
 * plan's fallback (numba-cuda's own marshalling), so unusual inputs and their
 * errors stay numba-cuda's.
 *
 * Driver: this file builds without CUDA headers or libcuda.  The few types
 * and prototypes needed are declared below, and libcuda.so.1 is opened on the
 * first launch only (so importing and pack() work on machines without a
 * GPU).  Entry points come from cuGetProcAddress (the _v2 name first, as
 * exported by CUDA 12.5+ drivers, then the 11.3+ one), asking explicitly for
 * the legacy-stream variants: the per-thread default stream is expressed by
 * passing the CU_STREAM_PER_THREAD handle (2), never by the API variant, so
 * the caller's handle means the same thing whatever the process's settings.
 *
 * The pure-Python twin is numba_cuda_lcs/_launcher_py.py; tests run both.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* The driver refused a launch: a RuntimeError subclass, so callers can tell
   it from errors raised while marshalling (numba-cuda's own, via fallbacks). */
static PyObject *LaunchError = NULL;
#include <stdint.h>
#include <string.h>
#ifdef _WIN32
#include <windows.h>
#else
#include <dlfcn.h>
#endif

/* Parameter kinds; the same numbers are in _launcher_py.py. */
enum { K_FALLBACK, K_ARRAY, K_INT, K_F16, K_F32, K_F64, K_BOOL, K_C64, K_C128,
       K_PTR };

/* ---- driver API, declared by hand (see cuda.h) ---- */
typedef int CUresult;
typedef CUresult (*launch_fn)(void *f, unsigned gx, unsigned gy, unsigned gz,
                              unsigned bx, unsigned by, unsigned bz,
                              unsigned shmem, void *stream, void **params,
                              void **extra);
typedef CUresult (*coop_fn)(void *f, unsigned gx, unsigned gy, unsigned gz,
                            unsigned bx, unsigned by, unsigned bz,
                            unsigned shmem, void *stream, void **params);
typedef CUresult (*errname_fn)(CUresult, const char **);
typedef CUresult (*getctx_fn)(void **);
typedef CUresult (*getproc1_fn)(const char *, void **, int, uint64_t);
typedef CUresult (*getproc2_fn)(const char *, void **, int, uint64_t, int *);
#define CU_GET_PROC_ADDRESS_LEGACY_STREAM 1

static launch_fn p_launch;
static coop_fn p_coop;
static errname_fn p_errname;
static getctx_fn p_getctx;

static void *
sym(void *lib, const char *name)
{
#ifdef _WIN32
    return (void *)GetProcAddress((HMODULE)lib, name);
#else
    return dlsym(lib, name);
#endif
}

/* Called with the GIL held, so two first launches cannot race here. */
static int
load_driver(void)
{
    if (p_launch != NULL) {
        return 0;
    }
#ifdef _WIN32
    void *lib = (void *)LoadLibraryA("nvcuda.dll");
#else
    void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
#endif
    if (lib == NULL) {
        PyErr_SetString(PyExc_RuntimeError,
                        "numba_cuda_lcs._launcher: cannot load the CUDA "
                        "driver (libcuda.so.1)");
        return -1;
    }
    getproc2_fn gp2 = (getproc2_fn)sym(lib, "cuGetProcAddress_v2");
    getproc1_fn gp1 = (getproc1_fn)sym(lib, "cuGetProcAddress");
    const char *names[4] = {"cuLaunchKernel", "cuLaunchCooperativeKernel",
                            "cuGetErrorName", "cuCtxGetCurrent"};
    void *fns[4] = {NULL, NULL, NULL, NULL};
    for (int i = 0; i < 4; i++) {
        int status = 0;
        if (gp2 != NULL) {
            gp2(names[i], &fns[i], 12000, CU_GET_PROC_ADDRESS_LEGACY_STREAM,
                &status);
        }
        else if (gp1 != NULL) {
            gp1(names[i], &fns[i], 11030, CU_GET_PROC_ADDRESS_LEGACY_STREAM);
        }
        if (fns[i] == NULL) {
            fns[i] = sym(lib, names[i]);  /* exported names are legacy-stream */
        }
        if (fns[i] == NULL) {
            PyErr_Format(PyExc_RuntimeError,
                         "numba_cuda_lcs._launcher: driver has no %s",
                         names[i]);
            return -1;
        }
    }
    p_coop = (coop_fn)fns[1];
    p_errname = (errname_fn)fns[2];
    p_getctx = (getctx_fn)fns[3];
    p_launch = (launch_fn)fns[0];
    return 0;
}

/* ---- types imported lazily (numpy, ctypes, cuda.core are heavy) ---- */
static PyObject *ndarray_type, *smv_type, *scalar_types;
/* (numpy.number, numpy.bool_): a numpy scalar's class fixes its numba type */
static PyObject *np_scalar_bases;

static int
load_types(void)
{
    if (scalar_types != NULL) {
        return 0;
    }
    PyObject *np = NULL, *ct = NULL, *utils = NULL, *lst = NULL;
    PyObject *nd = NULL, *smv = NULL, *tup = NULL, *bases = NULL;
    /* The scalar classes cuda.core's ParamHolder stores at their own width. */
    static const char *np_names[] = {
        "bool_", "int8", "int16", "int32", "int64", "uint8", "uint16",
        "uint32", "uint64", "float16", "float32", "float64", "complex64",
        "complex128", NULL};
    static const char *ct_names[] = {
        "c_bool", "c_int8", "c_int16", "c_int32", "c_int64", "c_uint8",
        "c_uint16", "c_uint32", "c_uint64", "c_float", "c_double", NULL};
    if (!(np = PyImport_ImportModule("numpy")) ||
        !(ct = PyImport_ImportModule("ctypes")) ||
        !(utils = PyImport_ImportModule("cuda.core.utils")) ||
        !(lst = PyList_New(0)) ||
        !(nd = PyObject_GetAttrString(np, "ndarray")) ||
        !(smv = PyObject_GetAttrString(utils, "StridedMemoryView"))) {
        goto done;
    }
    {
        PyObject *number = PyObject_GetAttrString(np, "number");
        PyObject *npbool = PyObject_GetAttrString(np, "bool_");
        if (number != NULL && npbool != NULL)
            bases = PyTuple_Pack(2, number, npbool);
        Py_XDECREF(number);
        Py_XDECREF(npbool);
        if (bases == NULL) goto done;
    }
    for (int m = 0; m < 2; m++) {
        const char **names = m == 0 ? np_names : ct_names;
        for (int i = 0; names[i] != NULL; i++) {
            PyObject *t = PyObject_GetAttrString(m == 0 ? np : ct, names[i]);
            if (t == NULL || PyList_Append(lst, t) < 0) {
                Py_XDECREF(t);
                goto done;
            }
            Py_DECREF(t);
        }
    }
    if ((tup = PyList_AsTuple(lst)) != NULL && scalar_types == NULL) {
        ndarray_type = Py_NewRef(nd);
        smv_type = Py_NewRef(smv);
        np_scalar_bases = Py_NewRef(bases);
        scalar_types = Py_NewRef(tup);  /* set last: it marks "loaded" */
    }
done:
    Py_XDECREF(np); Py_XDECREF(ct); Py_XDECREF(utils); Py_XDECREF(lst);
    Py_XDECREF(nd); Py_XDECREF(smv); Py_XDECREF(tup); Py_XDECREF(bases);
    return scalar_types != NULL ? 0 : -1;
}

/* ---- the parameter buffer ----
 * Parameters are laid out as the driver does for kernelParams: each at its
 * natural alignment.  Offsets are kept (not pointers) so the buffer may grow;
 * they become the kernelParams pointer array just before the launch.  The
 * buffer lives on the caller's stack, so concurrent launches share nothing. */
#define STACK_BYTES 2048
#define STACK_PARAMS 256

typedef struct {
    unsigned char *data;
    uintptr_t *offs;
    size_t len, cap, n, ncap;
    unsigned char sdata[STACK_BYTES];
    uintptr_t soffs[STACK_PARAMS];
} pbuf;

static void
pbuf_init(pbuf *b)
{
    b->data = b->sdata;
    b->offs = b->soffs;
    b->len = b->n = 0;
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
        if (load_types() < 0) return -1;
        int ok = PyObject_IsInstance(v, scalar_types);
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

/* ---- the plan, unpacked once per launcher ---- */
typedef struct {
    int kind;
    int ndim;             /* K_ARRAY */
    int cai_sync;         /* K_ARRAY: NUMBA_CUDA_ARRAY_INTERFACE_SYNC */
    Py_ssize_t nparams;   /* -1: not known before marshalling */
    Py_ssize_t itemsize;  /* K_ARRAY */
    unsigned char *sizes; /* nparams entries */
    PyObject *fallback;   /* borrowed from the plan, which the launcher owns */
    PyObject *typestr;    /* K_ARRAY, borrowed */
} argspec;

typedef struct {
    PyObject_HEAD
    void *func;
    unsigned grid[3], block[3], shmem;
    int cooperative;
    Py_ssize_t nargs;
    argspec *specs;
    PyObject *plan;
} Launcher;

/* Attribute names, interned once: every launch reads them. */
static PyObject *str_cuda_memory, *str_shim, *str_dlpack, *str_cai, *str_ptr,
    *str_size, *str_dtype, *str_itemsize, *str_shape, *str_layout,
    *str_strides_in_bytes, *str_is_c, *str_is_f;

/* Read an attribute as a Py_ssize_t; 0 and no error when absent/not int. */
static int
attr_ssize(PyObject *o, PyObject *name, Py_ssize_t *out)
{
    PyObject *v = PyObject_GetAttr(o, name);
    int ok = v != NULL && PyLong_Check(v);
    if (ok) {
        *out = PyLong_AsSsize_t(v);
        ok = !(*out == -1 && PyErr_Occurred());
    }
    Py_XDECREF(v);
    PyErr_Clear();
    return ok;
}

/* Tuple of ndim Python ints -> out; 0 when it is not one. */
static int
int_tuple(PyObject *t, int ndim, Py_ssize_t *out)
{
    if (t == NULL || !PyTuple_Check(t) || PyTuple_GET_SIZE(t) != ndim)
        return 0;
    for (int i = 0; i < ndim; i++) {
        PyObject *x = PyTuple_GET_ITEM(t, i);
        if (!PyLong_Check(x)) return 0;
        out[i] = PyLong_AsSsize_t(x);
        if (out[i] == -1 && PyErr_Occurred()) {
            PyErr_Clear();
            return 0;
        }
    }
    return 1;
}

/* numba-cuda 0.30.4 numpy_support.strides_from_shape, rule for rule
 * (including its ordering for arrays that are both C and F contiguous). */
static int
strides_from_shape(int ndim, const Py_ssize_t *shape, Py_ssize_t itemsize,
                   int c, int f, Py_ssize_t *out)
{
    if (ndim == 0) return 1;
    if (!c && !f) return 0;
    if (c && !f) {
        out[ndim - 1] = itemsize;
        for (int i = ndim - 2; i >= 0; i--) out[i] = out[i + 1] * shape[i + 1];
    }
    else {
        out[0] = itemsize;
        for (int i = 1; i < ndim; i++)
            out[i] = out[i - 1] * shape[c ? ndim - 1 - i : i - 1];
    }
    return 1;
}

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
    if (nd > MAXD || load_types() < 0) return nd > MAXD ? 0 : -1;
    if (pre_cai != NULL && PyBytes_CheckExact(pre_cai)) {
        /* a launch site's reader already read and checked the values
           (size, itemsize, data, shape..., strides...), see read_view() */
        const int64_t *vals = (const int64_t *)PyBytes_AS_STRING(pre_cai);
        Py_ssize_t k = PyBytes_GET_SIZE(pre_cai) / 8;
        if (k != 3 + 2 * nd) return 0;
        if (put_i64(b, 0) < 0 || put_i64(b, 0) < 0) return -1;
        for (Py_ssize_t i = 0; i < k; i++)
            if (put_i64(b, vals[i]) < 0) return -1;
        return 1;
    }
    if (PyObject_TypeCheck(obj, (PyTypeObject *)smv_type)) return 0;
    /* is_device_memory(): a truthy __cuda_memory__ */
    int is_dev = 0;
    if (pre_cai == NULL) {
        t = PyObject_GetAttr(obj, str_cuda_memory);
        is_dev = t != NULL ? PyObject_IsTrue(t) : 0;
        Py_CLEAR(t);
        PyErr_Clear();
    }
    if (is_dev > 0) {
        /* numba's own arrays: the cached _strided_memory_view_shim is what
         * _to_strided_memory_view returns, and cheaper than the CAI dict. */
        Py_ssize_t isz;
        if (!(shim = PyObject_GetAttr(obj, str_shim)) ||
            !attr_ssize(shim, str_ptr, &ptr) || !attr_ssize(shim, str_size, &size))
            DECLINE(0);
        t = PyObject_GetAttr(shim, str_dtype);
        if (t == NULL || !attr_ssize(t, str_itemsize, &isz) || isz != sp->itemsize)
            DECLINE(0);
        Py_CLEAR(t);
        if (!(t = PyObject_GetAttr(shim, str_shape)) ||
            !int_tuple(t, nd, shape))
            DECLINE(0);
        Py_CLEAR(t);
        if (!(lay = PyObject_GetAttr(shim, str_layout)) ||
            !(t = PyObject_GetAttr(lay, str_strides_in_bytes)))
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
            if (!attr_ssize(lay, str_is_c, &cc) ||
                !attr_ssize(lay, str_is_f, &ff))
                DECLINE(0);
            c = cc != 0;
            f = ff != 0;
        }
    }
    else {
        if (PyObject_TypeCheck(obj, (PyTypeObject *)ndarray_type)) return 0;
        /* Objects with __dlpack__ (CuPy, PyTorch) are viewed by numba-cuda
         * through DLPack: the producer orders its current stream before the
         * launch stream.  With CAI naming that same stream, nothing would
         * be done, and the CAI gives the same pointer, shape and strides. */
        int dl = PyObject_HasAttr(obj, str_dlpack);
        cai = pre_cai != NULL ? Py_NewRef(pre_cai)
                              : PyObject_GetAttr(obj, str_cai);
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

/* Marshal all arguments; *retr gets the write-backs (NULL if none ran). */
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
        int r = sp->kind == K_ARRAY
                    ? pack_array(sp, v, cais != NULL ? cais[i] : NULL, consumer, b)
                : sp->kind == K_FALLBACK ? 0 : pack_scalar(sp, v, b);
        if (r < 0) return -1;
        if (r == 0) {
            PyErr_Clear();  /* a declined rule may leave its error set */
            b->n = n0;      /* and drops anything it wrote */
            b->len = len0;
            if (pack_fallback(sp, i, v, stream, retr, b) < 0) return -1;
        }
    }
    return 0;
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
    if (marshal(self, a[0], consumer, stream, NULL, &retr, &b) == 0)
        res = PyBytes_FromStringAndSize((const char *)b.data, b.len);
    pbuf_free(&b);
    Py_XDECREF(retr);
    Py_XDECREF(h);
    return res;
}

/* Marshal *args* and launch; the driver must be loaded.  *stream* is what
 * fallbacks get as the launch's stream, *cais* (may be NULL) interface dicts
 * read beforehand.  Returns the write-backs (a list, or an empty tuple). */
static PyObject *
launch_marshalled(Launcher *self, PyObject *args, long long consumer,
                  PyObject *stream, PyObject *const *cais)
{
    PyObject *retr = NULL;
    pbuf b;
    pbuf_init(&b);
    if (marshal(self, args, consumer, stream, cais, &retr, &b) < 0) {
        pbuf_free(&b);
        Py_XDECREF(retr);
        return NULL;
    }
    void **params = (void **)b.offs;  /* offsets become pointers in place */
    for (size_t i = 0; i < b.n; i++) params[i] = b.data + b.offs[i];
    void *hs = (void *)(uintptr_t)consumer;
    CUresult err;
    Py_BEGIN_ALLOW_THREADS
    if (self->cooperative)
        err = p_coop(self->func, self->grid[0], self->grid[1], self->grid[2],
                     self->block[0], self->block[1], self->block[2],
                     self->shmem, hs, params);
    else
        err = p_launch(self->func, self->grid[0], self->grid[1],
                       self->grid[2], self->block[0], self->block[1],
                       self->block[2], self->shmem, hs, params, NULL);
    Py_END_ALLOW_THREADS
    pbuf_free(&b);
    if (err != 0) {
        const char *name = NULL;
        if (p_errname(err, &name) != 0 || name == NULL) name = "CUDA_ERROR_?";
        PyErr_Format(LaunchError, "%s failed: %s (%d)",
                     self->cooperative ? "cuLaunchCooperativeKernel"
                                       : "cuLaunchKernel",
                     name, err);
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
    if (load_driver() < 0) return NULL;
    if (stream == NULL && (stream = h = PyLong_FromLongLong(consumer)) == NULL)
        return NULL;
    PyObject *res = launch_marshalled(self, a[0], consumer, stream, NULL);
    Py_XDECREF(h);
    return res;
}

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
            !PyCallable_Check(PyTuple_GET_ITEM(e, 1)))
            goto bad;
        sp->kind = PyLong_AsLong(PyTuple_GET_ITEM(e, 0));
        sp->fallback = PyTuple_GET_ITEM(e, 1);
        sizes = PyTuple_GET_ITEM(e, 2);
        sp->ndim = PyLong_AsLong(PyTuple_GET_ITEM(e, 3));
        sp->itemsize = PyLong_AsSsize_t(PyTuple_GET_ITEM(e, 4));
        sp->typestr = PyTuple_GET_ITEM(e, 5);
        sp->cai_sync = PyObject_IsTrue(PyTuple_GET_ITEM(e, 6));
        if (PyErr_Occurred() || sp->kind < K_FALLBACK || sp->kind > K_PTR)
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

static PyGetSetDef Launcher_getset[] = {
    {"plan", (getter)Launcher_get_plan, NULL, "the argument plan", NULL},
    {NULL}};

static PyTypeObject LauncherType = {
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

/* ---- launch sites: the fast path of a configured launch ----
 *
 * A LaunchSite is the base class of the backend's configured launch
 * (`kernel[grid, block]`).  Calling it checks, in C, whether this launch is
 * one the Python slow path has already resolved: same CUDA context, nothing
 * invalidated since (the epoch), no pre-launch callbacks, and arguments whose
 * numba types must be those of a remembered entry.  Then it marshals and
 * launches with that entry's launcher, without routing, typing or overload
 * resolution.  Anything else calls `self.dispatcher.call(args, self)`, as
 * numba-cuda's own configured launch does, and that slow path remembers
 * what it resolved (remember()).
 *
 * An argument's *token* says what fixes its numba type, so that equal tokens
 * mean equal types (and so the same compiled kernel):
 *   bool, float, complex      the exact Python class
 *   int                       the exact class, value within int64 (intp)
 *   numpy scalar              its class (numpy.number / numpy.bool_)
 *   typed object              the registered class (numba device arrays),
 *                             whose cached `_numba_type_` is the type
 *   array-interface object    the same object (a weak reference), with the
 *                             same typestr, shape, strides and read-only flag
 *   ... read by a reader      the same object, with the same parameter values
 *                             (pointer, shape, strides) as remembered, read
 *                             without building the interface dict: CuPy
 *                             arrays (configure_cupy) and objects whose type
 *                             has DLPack's C exchange API (PyTorch 2.10+);
 *                             the producer's current stream must be the
 *                             launch's (else numba-cuda orders them)
 * Other arguments (host arrays, records, tuples...) have no token: launches
 * with them always take the slow path.
 *
 * Entries are immutable objects: a launch holds a reference to the entry it
 * checks, so a thread replacing it meanwhile frees nothing in use. */

#define SITE_ENTRIES 4
#define SITE_MAX_ARGS 64

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

static PyTypeObject HitCounterType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "numba_cuda_lcs._launcher.HitCounter",
    .tp_basicsize = sizeof(HitCounter),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "Base class whose `hits` launch sites increment in C.",
    .tp_new = PyType_GenericNew,
    .tp_getset = HitCounter_getset,
};

enum { T_BOOL = 1, T_INT, T_FLOAT, T_COMPLEX, T_NPSCALAR, T_TYPED, T_CAI,
       T_CUPY, T_DLX };

/* ---- DLPack's C exchange API (dlpack.h 1.3), declared by hand ---- */
typedef struct { int32_t device_type, device_id; } DLDevice;
typedef struct { uint8_t code, bits; uint16_t lanes; } DLDataType;
typedef struct {
    void *data;
    DLDevice device;
    int32_t ndim;
    DLDataType dtype;
    int64_t *shape, *strides;  /* strides in elements; NULL: C-contiguous */
    uint64_t byte_offset;
} DLTensor;
typedef struct DLPackExchangeAPIHeader {
    struct { uint32_t major, minor; } version;
    struct DLPackExchangeAPIHeader *prev_api;
} DLPackExchangeAPIHeader;
typedef struct {
    DLPackExchangeAPIHeader header;
    void *managed_tensor_allocator;
    void *managed_tensor_from_py_object_no_sync;
    void *managed_tensor_to_py_object_no_sync;
    int (*dltensor_from_py_object_no_sync)(void *py_object, DLTensor *out);
    int (*current_work_stream)(int device_type, int32_t device_id,
                               void **out_stream);
} DLPackExchangeAPI;
#define DL_CUDA 2  /* kDLCUDA */

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
    PyObject *values;  /* T_CUPY, T_DLX: bytes, the int64 parameter values
                          size, itemsize, data, shape..., strides... */
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
    unsigned long long epoch;
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

/* Bumped by invalidate(): entries made before stop matching. */
static unsigned long long site_epoch = 1;
/* Instances of this class are typed by their `_numba_type_`. */
static PyObject *typed_class;
/* What a refused launch raises on the fast path (the compiler's error). */
static PyObject *site_launch_error;
/* While the pure-Python twin is bound: its site_call(site, args). */
static PyObject *twin_site_call;
static PyObject *str_numba_type, *str_dispatcher, *str_call, *str_callbacks,
    *str_data, *str_c_contiguous, *str_strides,
    *str_exchange_api;
/* configure_cupy(): CuPy's array class and cupy.cuda.get_current_stream. */
static PyObject *cupy_class, *cupy_current_stream;
/* The interface's stream for CuPy's stream pointer 0: 1 (legacy default
 * stream), or 2 when CuPy runs with per-thread default streams; learnt from
 * an interface dict, 0 until then. */
static long long cupy_null_stream;

static void
token_clear(token *t)
{
    Py_CLEAR(t->type);
    Py_CLEAR(t->ref);
    Py_CLEAR(t->shape);
    Py_CLEAR(t->strides);
    Py_CLEAR(t->values);
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

/* ---- Readers: an array's parameter values without its interface dict ----
 * Values are int64: size, itemsize, data, shape..., strides... (bytes), as
 * numba-cuda passes them after meminfo and parent.  A reader returns how
 * many it wrote, 0 when it cannot read *v* (no error set). */
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

/* CuPy: data.ptr, shape, and strides (derived from the shape when
 * _c_contiguous, as the interface leaves them out then); *dtype* must be
 * the array's dtype. */
static Py_ssize_t
read_cupy(PyObject *v, PyObject *dtype, Py_ssize_t itemsize, int64_t *out)
{
    Py_ssize_t shape[READ_MAXD], strides[READ_MAXD], ptr, n = 0;
    PyObject *t = PyObject_GetAttr(v, str_dtype), *data = NULL, *c = NULL;
    int nd = 0;
    if (t == NULL || (t != dtype && PyObject_RichCompareBool(t, dtype, Py_EQ) != 1))
        goto out;
    Py_CLEAR(t);
    if ((data = PyObject_GetAttr(v, str_data)) == NULL ||
        !attr_ssize(data, str_ptr, &ptr) ||
        (t = PyObject_GetAttr(v, str_shape)) == NULL || !PyTuple_Check(t) ||
        (nd = (int)PyTuple_GET_SIZE(t)) > READ_MAXD || !int_tuple(t, nd, shape) ||
        (c = PyObject_GetAttr(v, str_c_contiguous)) == NULL)
        goto out;
    if (c == Py_True) strides_from_shape(nd, shape, itemsize, 1, 0, strides);
    else {
        Py_CLEAR(t);
        if (c != Py_False || (t = PyObject_GetAttr(v, str_strides)) == NULL ||
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

/* CuPy's current stream pointer (get_current_stream().ptr; 0 is its
 * default stream), or -1 when it cannot be read. */
static Py_ssize_t
cupy_stream_ptr(void)
{
    Py_ssize_t p = -1;
    PyObject *st = cupy_current_stream != NULL
                       ? PyObject_CallNoArgs(cupy_current_stream) : NULL;
    if (st == NULL || !attr_ssize(st, str_ptr, &p)) p = -1;
    Py_XDECREF(st);
    PyErr_Clear();
    return p;
}

/* CuPy's current stream, as its interface would name it (0: unknown). */
static long long
cupy_stream(void)
{
    Py_ssize_t p = cupy_stream_ptr();
    return p == 0 ? cupy_null_stream : p < 0 ? 0 : p;
}

/* Whether the producer's current stream is the launch's: then numba-cuda's
 * DLPack import orders nothing, and the fast path may launch. */
static int
producer_stream_ok(const token *t, stream_memo *m)
{
    if (t->kind == T_CUPY) {
        if (m->cupy == 0) {
            long long p = cupy_stream();
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

/* Make the T_CAI token *t* of *v* a reader's token when that reader gives
 * exactly what numba-cuda's own marshalling (*sp*'s fallback) gives for
 * *v* now; *cai* is its interface dict.  Errors are cleared. */
static void
reader_token(PyObject *v, token *t, const argspec *sp, PyObject *stream,
             PyObject *cai)
{
    int64_t vals[READ_MAX];
    Py_ssize_t n = 0;
    int kind;
    PyObject *type = NULL, *retr = NULL;
    const DLPackExchangeAPI *api = NULL;
    int32_t device = 0;
    uint32_t dtype = 0;
    if (sp == NULL || sp->kind != K_ARRAY || sp->fallback == NULL) return;
    if (cupy_class != NULL && (PyObject *)Py_TYPE(v) == cupy_class) {
        kind = T_CUPY;
        if ((type = PyObject_GetAttr(v, str_dtype)) == NULL) goto out;
        n = read_cupy(v, type, sp->itemsize, vals);
        /* what the interface calls CuPy's stream 0 */
        PyObject *s = PyDict_GetItemString(cai, "stream");
        if (s != NULL && PyLong_Check(s) && cupy_stream_ptr() == 0) {
            long long alias = PyLong_AsLongLong(s);
            if (alias == 1 || alias == 2) cupy_null_stream = alias;
            PyErr_Clear();
        }
    }
    else {
        kind = T_DLX;
        type = PyObject_GetAttr((PyObject *)Py_TYPE(v), str_exchange_api);
        if (type == NULL || !PyCapsule_IsValid(type, "dlpack_exchange_api"))
            goto out;
        api = PyCapsule_GetPointer(type, "dlpack_exchange_api");
        if (api == NULL || api->header.version.major != 1 ||
            api->dltensor_from_py_object_no_sync == NULL ||
            api->current_work_stream == NULL)
            goto out;
        n = read_dlx(v, api, vals, &device, &dtype);
    }
    if (n == 0 || n != 3 + 2 * sp->ndim || vals[1] != sp->itemsize) goto out;
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
    if (!same) goto out;
    PyObject *values = PyBytes_FromStringAndSize((const char *)vals, n * 8);
    if (values == NULL) goto out;
    t->kind = kind;
    Py_XSETREF(t->type, type);
    type = NULL;
    t->values = values;
    t->api = api;
    t->device = device;
    t->dtype = dtype;
    Py_CLEAR(t->shape);
    Py_CLEAR(t->strides);
out:
    Py_XDECREF(type);
    Py_XDECREF(retr);
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
    else if (typed_class != NULL && (PyObject *)tp == typed_class) {
        PyObject *ty = PyObject_GetAttr(v, str_numba_type);
        if (ty == NULL) {
            PyErr_Clear();
            return 0;
        }
        t->kind = T_TYPED;
        t->type = ty;
        if ((t->ref = PyWeakref_NewRef(v, NULL)) == NULL) PyErr_Clear();
    }
    else {
        if (load_types() < 0) return -1;
        int scalar = PyObject_IsInstance(v, np_scalar_bases);
        if (scalar < 0) return -1;
        if (scalar) {
            t->kind = T_NPSCALAR;
            t->type = Py_NewRef((PyObject *)tp);
            return 1;
        }
        if (PyObject_TypeCheck(v, (PyTypeObject *)ndarray_type)) return 0;
        /* numba device memory of other classes: numba-cuda's own path */
        PyObject *mem = PyObject_GetAttr(v, str_cuda_memory);
        int is_dev = mem != NULL ? PyObject_IsTrue(mem) : 0;
        Py_XDECREF(mem);
        PyErr_Clear();
        if (is_dev) return 0;
        PyObject *cai = PyObject_GetAttr(v, str_cai), *ts, *shape, *strides;
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
        if ((PyObject *)tp != typed_class) return 0;
        if (refers_to(t->ref, v)) return 1;
        PyObject *ty = PyObject_GetAttr(v, str_numba_type);
        int same = ty == t->type;
        Py_XDECREF(ty);
        PyErr_Clear();
        return same;
    }
    case T_CAI: {
        PyObject *d, *ts, *shape, *strides;
        int readonly;
        if (!refers_to(t->ref, v)) return 0;
        if ((d = PyObject_GetAttr(v, str_cai)) == NULL) {
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
        if (!refers_to(t->ref, v) || !producer_stream_ok(t, m)) return 0;
        if (t->kind == T_CUPY) n = read_cupy(v, t->type, want[1], vals);
        else {
            n = read_dlx(v, t->api, vals, &device, &dtype);
            if (device != t->device || dtype != t->dtype) return 0;
        }
        if (n * 8 != PyBytes_GET_SIZE(t->values) ||
            memcmp(vals, want, n * 8) != 0)
            return 0;
        *cai = Py_NewRef(t->values);
        return 1;
    }
    }
    return 0;
}

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

static PyTypeObject SiteEntryType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "numba_cuda_lcs._launcher.SiteEntry",
    .tp_basicsize = sizeof(SiteEntry),
    .tp_itemsize = sizeof(token),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "one resolved launch a LaunchSite remembers",
    .tp_dealloc = (destructor)SiteEntry_dealloc,
    .tp_traverse = (traverseproc)SiteEntry_traverse,
};

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
        if (en->context != ctx || en->epoch != site_epoch || en->nargs != n)
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

/* 1 launched, 0 not a remembered launch (take the slow path), -1 error. */
static int
site_try(LaunchSite *self, PyObject *args)
{
    Py_ssize_t n = PyTuple_GET_SIZE(args);
    PyObject *cais[SITE_MAX_ARGS];
    void *ctx = NULL;
    int index;
    if (self->entries[0] == NULL || n > SITE_MAX_ARGS || p_getctx == NULL ||
        p_getctx(&ctx) != 0)
        return 0;
    SiteEntry *hit = site_find(self, args, ctx, cais, &index);
    if (hit == NULL) return 0;
    int rc = 0;
    PyObject *callbacks = PyObject_GetAttr((PyObject *)self, str_callbacks);
    if (callbacks == NULL) PyErr_Clear();
    else if (PyList_CheckExact(callbacks) && PyList_GET_SIZE(callbacks) == 0) {
        rc = 1;
        if (hit->counter != NULL) ((HitCounter *)hit->counter)->hits++;
        PyObject *retr = launch_marshalled(hit->launcher, args, hit->stream_handle,
                                     hit->stream, cais);
        if (retr == NULL) {
            rc = -1;
            if (site_launch_error != NULL && PyErr_ExceptionMatches(LaunchError)) {
                /* numba-cuda's launch raises its own error type */
                PyObject *type, *value, *tb;
                PyErr_Fetch(&type, &value, &tb);
                PyErr_NormalizeException(&type, &value, &tb);
                PyObject *msg = value != NULL ? PyObject_Str(value) : NULL;
                if (msg != NULL) {
                    PyErr_SetObject(site_launch_error, msg);
                    Py_DECREF(msg);
                }
                Py_XDECREF(type);
                Py_XDECREF(value);
                Py_XDECREF(tb);
            }
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
    if (twin_site_call != NULL)
        return PyObject_CallFunctionObjArgs(twin_site_call, (PyObject *)self,
                                            args, NULL);
    int rc = site_try(self, args);
    if (rc < 0) return NULL;
    if (rc > 0) Py_RETURN_NONE;
    PyObject *dispatcher = PyObject_GetAttr((PyObject *)self, str_dispatcher);
    if (dispatcher == NULL) return NULL;
    PyObject *res = PyObject_CallMethodObjArgs(dispatcher, str_call, args,
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

static PyTypeObject LaunchSiteType = {
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

/* remember(site, args, launcher, stream_handle, stream, counter, context)
 * -> bool: the slow path resolved and launched *args* with *launcher*. */
static PyObject *
py_remember(PyObject *module, PyObject *const *a, Py_ssize_t n)
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
        PyTuple_GET_SIZE(args) > SITE_MAX_ARGS || twin_site_call != NULL)
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
    SiteEntry *en = PyObject_GC_NewVar(SiteEntry, &SiteEntryType,
                                       nargs ? nargs : 1);
    if (en == NULL) return NULL;
    en->nargs = 0;
    en->launcher = (Launcher *)Py_NewRef(a[2]);
    en->stream = a[4] == Py_None ? NULL : Py_NewRef(a[4]);
    en->counter = a[5] == Py_None ? NULL : Py_NewRef(a[5]);
    en->stream_handle = handle;
    en->context = ctx;
    en->epoch = site_epoch;
    Launcher *lr = (Launcher *)a[2];
    PyObject *fb_stream = a[4] != Py_None ? Py_NewRef(a[4])
                                          : PyLong_FromLongLong(handle);
    if (fb_stream == NULL) {
        Py_DECREF(en);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < nargs; i++) {
        const argspec *sp = lr->nargs == nargs ? &lr->specs[i] : NULL;
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
static PyObject *
py_match(PyObject *module, PyObject *const *a, Py_ssize_t n)
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

static PyObject *
py_remembered(PyObject *module, PyObject *site)
{
    int n = 0;
    if (!PyObject_TypeCheck(site, &LaunchSiteType)) return PyLong_FromLong(0);
    while (n < SITE_ENTRIES && ((LaunchSite *)site)->entries[n] != NULL) n++;
    return PyLong_FromLong(n);
}

static PyObject *
py_forget(PyObject *module, PyObject *site)
{
    if (PyObject_TypeCheck(site, &LaunchSiteType)) site_forget((LaunchSite *)site);
    Py_RETURN_NONE;
}

static PyObject *
py_invalidate(PyObject *module, PyObject *unused)
{
    site_epoch++;
    Py_RETURN_NONE;
}

/* configure_sites(typed_class, launch_error, twin_site_call) */
static PyObject *
py_configure_sites(PyObject *module, PyObject *const *a, Py_ssize_t n)
{
    if (n != 3) {
        PyErr_SetString(PyExc_TypeError,
                        "configure_sites(typed_class, launch_error, "
                        "twin_site_call)");
        return NULL;
    }
    PyObject *cls = a[0] == Py_None ? NULL : a[0];
    PyObject *err = a[1] == Py_None ? NULL : a[1];
    PyObject *twin = a[2] == Py_None ? NULL : a[2];
    if ((cls != NULL && !PyType_Check(cls)) ||
        (err != NULL && !PyExceptionClass_Check(err)) ||
        (twin != NULL && !PyCallable_Check(twin))) {
        PyErr_SetString(PyExc_TypeError,
                        "configure_sites: a class, an exception class and a "
                        "callable (or None each)");
        return NULL;
    }
    Py_XSETREF(typed_class, Py_XNewRef(cls));
    Py_XSETREF(site_launch_error, Py_XNewRef(err));
    Py_XSETREF(twin_site_call, Py_XNewRef(twin));
    site_epoch++;
    Py_RETURN_NONE;
}

/* configure_cupy(ndarray_class, get_current_stream) */
static PyObject *
py_configure_cupy(PyObject *module, PyObject *const *a, Py_ssize_t n)
{
    if (n != 2 || (a[0] != Py_None && !PyType_Check(a[0])) ||
        (a[1] != Py_None && !PyCallable_Check(a[1]))) {
        PyErr_SetString(PyExc_TypeError,
                        "configure_cupy(ndarray_class, get_current_stream): a "
                        "class and a callable, or None each");
        return NULL;
    }
    Py_XSETREF(cupy_class, a[0] == Py_None ? NULL : Py_NewRef(a[0]));
    Py_XSETREF(cupy_current_stream, a[1] == Py_None ? NULL : Py_NewRef(a[1]));
    if (cupy_class == NULL || cupy_current_stream == NULL) {
        Py_CLEAR(cupy_class);
        Py_CLEAR(cupy_current_stream);
    }
    cupy_null_stream = 0;
    site_epoch++;
    Py_RETURN_NONE;
}

static PyObject *
py_double_to_half(PyObject *self, PyObject *arg)
{
    double d = PyFloat_AsDouble(arg);
    if (d == -1.0 && PyErr_Occurred()) return NULL;
    return PyLong_FromLong(double_to_half(d));
}

/* The calling thread's current CUDA context as an int (0: none).  Launch
   state is kept per context; numba-cuda's own lookup of it costs more than
   a launch (its context stack, locks and logging), this is one driver call. */
static PyObject *
py_current_context(PyObject *module, PyObject *unused)
{
    void *ctx = NULL;
    if (load_driver() < 0) return NULL;
    CUresult err = p_getctx(&ctx);
    if (err != 0) {
        const char *name = NULL;
        if (p_errname(err, &name) != 0 || name == NULL) name = "CUDA_ERROR_?";
        PyErr_Format(LaunchError, "cuCtxGetCurrent failed: %s (%d)", name, err);
        return NULL;
    }
    return PyLong_FromVoidPtr(ctx);
}

static PyMethodDef module_methods[] = {
    {"current_context", py_current_context, METH_NOARGS,
     "the calling thread's current CUDA context handle as an int (0: none)"},
    {"remember", (PyCFunction)(void (*)(void))py_remember, METH_FASTCALL,
     "remember(site, args, launcher, stream_handle, stream, counter, "
     "context) -> bool: let *site* launch such arguments in C from now on"},
    {"match", (PyCFunction)(void (*)(void))py_match, METH_FASTCALL,
     "match(site, args, context) -> index of the remembered launch that "
     "would serve *args* in *context*, or -1 (for tests)"},
    {"remembered", py_remembered, METH_O,
     "remembered(site) -> how many launches *site* remembers"},
    {"forget", py_forget, METH_O, "forget(site): drop what *site* remembers"},
    {"invalidate", py_invalidate, METH_NOARGS,
     "forget every launch every site remembers (they stop matching)"},
    {"configure_sites", (PyCFunction)(void (*)(void))py_configure_sites,
     METH_FASTCALL,
     "configure_sites(typed_class, launch_error, twin_site_call): the class "
     "typed by its _numba_type_, what a refused launch raises, and the "
     "pure-Python twin's site_call to delegate to (None: C)"},
    {"configure_cupy", (PyCFunction)(void (*)(void))py_configure_cupy,
     METH_FASTCALL,
     "configure_cupy(ndarray_class, get_current_stream): read CuPy arrays' "
     "pointer, shape and strides from their attributes (None, None: off)"},
    {"double_to_half", py_double_to_half, METH_O,
     "binary16 bits of a float, round to nearest even (for tests)"},
    {NULL}};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT, "numba_cuda_lcs._launcher",
    "C launch path: plan-driven argument marshalling and cuLaunchKernel.", -1,
    module_methods};

PyMODINIT_FUNC
PyInit__launcher(void)
{
    if (PyType_Ready(&LauncherType) < 0 || PyType_Ready(&SiteEntryType) < 0 ||
        PyType_Ready(&LaunchSiteType) < 0 || PyType_Ready(&HitCounterType) < 0)
        return NULL;
    if (!(str_cuda_memory = PyUnicode_InternFromString("__cuda_memory__")) ||
        !(str_shim = PyUnicode_InternFromString("_strided_memory_view_shim")) ||
        !(str_dlpack = PyUnicode_InternFromString("__dlpack__")) ||
        !(str_cai = PyUnicode_InternFromString("__cuda_array_interface__")) ||
        !(str_ptr = PyUnicode_InternFromString("ptr")) ||
        !(str_size = PyUnicode_InternFromString("size")) ||
        !(str_dtype = PyUnicode_InternFromString("dtype")) ||
        !(str_itemsize = PyUnicode_InternFromString("itemsize")) ||
        !(str_shape = PyUnicode_InternFromString("shape")) ||
        !(str_layout = PyUnicode_InternFromString("_layout")) ||
        !(str_strides_in_bytes = PyUnicode_InternFromString("strides_in_bytes")) ||
        !(str_is_c = PyUnicode_InternFromString("is_contiguous_c")) ||
        !(str_is_f = PyUnicode_InternFromString("is_contiguous_f")) ||
        !(str_numba_type = PyUnicode_InternFromString("_numba_type_")) ||
        !(str_dispatcher = PyUnicode_InternFromString("dispatcher")) ||
        !(str_call = PyUnicode_InternFromString("call")) ||
        !(str_callbacks = PyUnicode_InternFromString("pre_launch_callbacks")) ||
        !(str_data = PyUnicode_InternFromString("data")) ||
        !(str_c_contiguous = PyUnicode_InternFromString("_c_contiguous")) ||
        !(str_strides = PyUnicode_InternFromString("strides")) ||
        !(str_exchange_api =
              PyUnicode_InternFromString("__dlpack_c_exchange_api__")))
        return NULL;
    PyObject *m = PyModule_Create(&moduledef);
    if (m == NULL) return NULL;
    static const char *kinds[] = {"K_FALLBACK", "K_ARRAY", "K_INT", "K_F16",
                                  "K_F32", "K_F64", "K_BOOL", "K_C64",
                                  "K_C128", "K_PTR"};
    for (int i = 0; i <= K_PTR; i++)
        if (PyModule_AddIntConstant(m, kinds[i], i) < 0) goto fail;
    if (PyModule_AddObjectRef(m, "Launcher", (PyObject *)&LauncherType) < 0 ||
        PyModule_AddObjectRef(m, "LaunchSite", (PyObject *)&LaunchSiteType) < 0 ||
        PyModule_AddObjectRef(m, "HitCounter", (PyObject *)&HitCounterType) < 0 ||
        PyModule_AddIntConstant(m, "SITE_ENTRIES", SITE_ENTRIES) < 0 ||
        PyModule_AddIntConstant(m, "SITE_MAX_ARGS", SITE_MAX_ARGS) < 0)
        goto fail;
    if (LaunchError == NULL) {
        LaunchError = PyErr_NewException("numba_cuda_lcs._launcher.LaunchError",
                                         PyExc_RuntimeError, NULL);
        if (LaunchError == NULL) goto fail;
    }
    if (PyModule_AddObjectRef(m, "LaunchError", LaunchError) < 0) goto fail;
    return m;
fail:
    Py_DECREF(m);
    return NULL;
}
