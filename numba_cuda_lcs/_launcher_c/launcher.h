/*
 * launcher.h -- the Launcher type (launcher.c): marshal a kernel's
 * arguments by a per-kernel plan into a parameter buffer and launch it
 * through the CUDA driver.  What the rest of the module may use of it.
 *
 * The plan is the seam between compilers and the launcher: a tuple of
 * entries (kind, fallback or None, sizes, ndim, itemsize, typestr,
 * cai_sync), see launcher.c.  Launch sites (sites.c) treat a Launcher and its plan
 * entries (`argspec`) as opaque and ask only the questions declared here.
 */
#ifndef LCS_LAUNCHER_H
#define LCS_LAUNCHER_H

#include "common.h"

#include <stdint.h>

/* *************************************************************************
 * Types                                                                   *
 * ************************************************************************* */

typedef struct Launcher Launcher; /* a Python object: Launcher(...) */
typedef struct argspec argspec;   /* one plan entry, unpacked */

extern LCS_HIDDEN PyTypeObject LauncherType;

/* *************************************************************************
 * Launching                                                               *
 * ************************************************************************* */

/* Marshal *args* and launch; the driver must be loaded.  *stream* is what
 * fallbacks get as the launch's stream, *cais* (may be NULL; one per
 * argument) what a launch site read of each argument beforehand: its
 * interface dict, or a reader's view values (bytes, see sites.c).  Returns
 * the write-backs (a list, or an empty tuple), or NULL: with an error set,
 * or, when a value is not one the plan marshals and its entry has no
 * fallback, with *declined* set to 1 and no error (nothing was launched;
 * with *declined* NULL that is a TypeError). */
LCS_HIDDEN PyObject *lcs_launch_marshalled(Launcher *self, PyObject *args,
                                           long long consumer,
                                           PyObject *stream,
                                           PyObject *const *cais,
                                           int *declined);

/* *************************************************************************
 * What launch sites may ask of a plan                                     *
 * ************************************************************************* */

/* The entry for argument *i* of a launch with *nargs* arguments, or NULL
 * when the launcher takes another number of arguments. */
LCS_HIDDEN const argspec *lcs_launcher_argspec(const Launcher *self,
                                               Py_ssize_t i, Py_ssize_t nargs);

/* The item size of the array argument *sp* describes when it can be
 * marshalled from a reader's view values (size, itemsize, data,
 * shape..., strides..., int64 each); 0 when it cannot. */
LCS_HIDDEN Py_ssize_t lcs_argspec_view_itemsize(const argspec *sp);

/* Whether the view values *vals* (n of them) of *v* give exactly the
 * parameters the entry's fallback gives for *v* now (with *stream*, and no
 * write-backs).  Errors are cleared: they mean no. */
LCS_HIDDEN int lcs_argspec_view_agrees(const argspec *sp, PyObject *v,
                                       PyObject *stream, const int64_t *vals,
                                       Py_ssize_t n);

/* The item size of the K_MEMREF argument *sp* describes; 0 for others. */
LCS_HIDDEN Py_ssize_t lcs_argspec_memref_itemsize(const argspec *sp);

/* K_MEMREF: the parameter values (int64s, as bytes: data, data, 0,
 * shape..., strides in elements) that a reader's view values *vals* (n of
 * them: size, itemsize, data, shape..., strides in bytes) of *v* give, when
 * they are exactly what the plan's rule gives from *v*'s interface dict
 * *cai* now; then a trailing 1 when the interface names CuPy's current
 * stream to synchronise (the launch synchronises CuPy's current stream of
 * its time).  NULL (no error set) otherwise. */
LCS_HIDDEN PyObject *lcs_argspec_memref_view(const argspec *sp, PyObject *v,
                                             PyObject *cai,
                                             const int64_t *vals,
                                             Py_ssize_t n);

/* The parameter values (int64s, as bytes) the array argument *v* of the
 * compiler's own array class packs to by its kind's rule -- K_ARRAY: size,
 * itemsize, data, shape..., strides... (its meminfo and parent are 0);
 * K_MEMREF: the whole descriptor -- or NULL (no error set) when *sp* is no
 * array entry or *v* does not pack by the rule.  A launch site keeps them
 * for that very object: its pointer, shape and strides do not change (the
 * compilers cache them too), and the fast path then reads no attribute. */
LCS_HIDDEN PyObject *lcs_argspec_array_values(const argspec *sp, PyObject *v);

/* *************************************************************************
 * Module functions (module.c's table)                                     *
 * ************************************************************************* */

LCS_HIDDEN PyObject *lcs_py_current_context(PyObject *module, PyObject *unused);
LCS_HIDDEN PyObject *lcs_py_double_to_half(PyObject *module, PyObject *arg);

#endif /* LCS_LAUNCHER_H */
