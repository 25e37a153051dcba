/*
 * array_values.h -- small readers of array values that the launcher's
 * marshalling rules (launcher.c) and the launch sites' array readers
 * (sites.c) share: an attribute or a tuple as C integers, and strides
 * derived from a shape.  `static inline`, so each part keeps them inlined
 * as when they were one file.
 */
#ifndef LCS_ARRAY_VALUES_H
#define LCS_ARRAY_VALUES_H

#include "common.h"

/* *************************************************************************
 * Python values as C integers                                             *
 * ************************************************************************* */

/* *v* (may be NULL) as a Py_ssize_t; 0 when it is not an int that fits
 * (an error may be left set). */
static inline int
long_ssize(PyObject *v, Py_ssize_t *out)
{
    if (v == NULL || !PyLong_Check(v)) return 0;
    *out = PyLong_AsSsize_t(v);
    return !(*out == -1 && PyErr_Occurred());
}

/* Read an attribute as a Py_ssize_t; 0 and no error when absent/not int. */
static inline int
attr_ssize(PyObject *o, PyObject *name, Py_ssize_t *out)
{
    PyObject *v = PyObject_GetAttr(o, name);
    int ok = long_ssize(v, out);
    Py_XDECREF(v);
    PyErr_Clear();
    return ok;
}

/* Tuple of ndim Python ints -> out; 0 when it is not one. */
static inline int
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

/* *************************************************************************
 * Strides                                                                 *
 * ************************************************************************* */

/* numba-cuda 0.30.4 numpy_support.strides_from_shape, rule for rule
 * (including its ordering for arrays that are both C and F contiguous). */
static inline int
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

#endif /* LCS_ARRAY_VALUES_H */
