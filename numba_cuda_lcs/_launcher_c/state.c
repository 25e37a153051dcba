/*
 * state.c -- the module state's one instance (state.h), the interned
 * attribute names, and the types imported on first use.
 */
#include "state.h"
#include "array_values.h"

/* *************************************************************************
 * The instance                                                            *
 * ************************************************************************* */

lcs_state LCS = {.generation = 1};

/* *************************************************************************
 * Interned names and LaunchError (module init)                            *
 * ************************************************************************* */

int
lcs_state_init(void)
{
    static const struct {
        PyObject **slot;
        const char *name;
    } names[] = {
        {&LCS.str_cuda_memory, "__cuda_memory__"},
        {&LCS.str_shim, "_strided_memory_view_shim"},
        {&LCS.str_dlpack, "__dlpack__"},
        {&LCS.str_cai, "__cuda_array_interface__"},
        {&LCS.str_ptr, "ptr"},
        {&LCS.str_size, "size"},
        {&LCS.str_dtype, "dtype"},
        {&LCS.str_itemsize, "itemsize"},
        {&LCS.str_shape, "shape"},
        {&LCS.str_ndim, "ndim"},
        {&LCS.str_layout, "_layout"},
        {&LCS.str_strides_in_bytes, "strides_in_bytes"},
        {&LCS.str_is_c, "is_contiguous_c"},
        {&LCS.str_is_f, "is_contiguous_f"},
        {&LCS.str_numba_type, "_numba_type_"},
        {&LCS.str_dispatcher, "dispatcher"},
        {&LCS.str_call, "call"},
        {&LCS.str_callbacks, "pre_launch_callbacks"},
        {&LCS.str_slow_call, "_lcs_slow_call"},
        {&LCS.str_site_error, "_lcs_launch_error"},
        {&LCS.str_data, "data"},
        {&LCS.str_c_contiguous, "_c_contiguous"},
        {&LCS.str_interface_sync, "CUDA_ARRAY_INTERFACE_SYNC"},
        {&LCS.str_strides, "strides"},
        {&LCS.str_exchange_api, "__dlpack_c_exchange_api__"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (*names[i].slot == NULL &&
            (*names[i].slot = PyUnicode_InternFromString(names[i].name)) == NULL)
            return -1;
    }
    if (LCS.LaunchError == NULL) {
        LCS.LaunchError = PyErr_NewException(
            "numba_cuda_lcs._launcher.LaunchError", PyExc_RuntimeError, NULL);
        if (LCS.LaunchError == NULL) return -1;
    }
    return 0;
}

/* *************************************************************************
 * Types imported on first use                                             *
 * ************************************************************************* */

int
lcs_load_types_slow(void)
{
    if (LCS.scalar_types != NULL) {
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
    if ((tup = PyList_AsTuple(lst)) != NULL && LCS.scalar_types == NULL) {
        LCS.ndarray_type = Py_NewRef(nd);
        LCS.smv_type = Py_NewRef(smv);
        LCS.np_scalar_bases = Py_NewRef(bases);
        LCS.scalar_types = Py_NewRef(tup);  /* set last: it marks "loaded" */
    }
done:
    Py_XDECREF(np); Py_XDECREF(ct); Py_XDECREF(utils); Py_XDECREF(lst);
    Py_XDECREF(nd); Py_XDECREF(smv); Py_XDECREF(tup); Py_XDECREF(bases);
    return LCS.scalar_types != NULL ? 0 : -1;
}

/* *************************************************************************
 * CuPy's current stream (the CuPy reader, and K_MEMREF plans syncing it)  *
 * ************************************************************************* */

/* See state.h. */
Py_ssize_t
lcs_cupy_stream_ptr(void)
{
    Py_ssize_t p = -1;
    PyObject *st = LCS.cupy_current_stream != NULL
                       ? PyObject_CallNoArgs(LCS.cupy_current_stream) : NULL;
    if (st == NULL || !attr_ssize(st, LCS.str_ptr, &p)) p = -1;
    Py_XDECREF(st);
    PyErr_Clear();
    return p < 0 ? -1 : p;
}

/* See state.h. */
long long
lcs_cupy_interface_stream(void)
{
    Py_ssize_t p = lcs_cupy_stream_ptr();
    return p == 0 ? LCS.cupy_null_stream : p < 0 ? 0 : p;
}

/* See state.h. */
void
lcs_cupy_learn_null_stream(PyObject *cai)
{
    /* fixed for the process once known (CuPy decides per-thread default
       streams at import) */
    if (LCS.cupy_null_stream != 0) return;
    PyObject *s = PyDict_GetItemString(cai, "stream");
    if (s != NULL && PyLong_Check(s) && lcs_cupy_stream_ptr() == 0) {
        long long alias = PyLong_AsLongLong(s);
        if (alias == 1 || alias == 2) LCS.cupy_null_stream = alias;
        PyErr_Clear();
    }
}
