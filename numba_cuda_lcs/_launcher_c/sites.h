/*
 * sites.h -- launch sites (sites.c): the configured launch's fast path,
 * which launches again, through a Launcher, what the compiler's slow path
 * resolved and remember()-ed.  What the module definition uses of it.
 */
#ifndef LCS_SITES_H
#define LCS_SITES_H

#include "common.h"

/* *************************************************************************
 * Limits (exported as module attributes)                                  *
 * ************************************************************************* */

#define SITE_ENTRIES 4   /* launches one site remembers */
/* Arguments of a launch a site may remember: numba-cuda-mlir's own
 * microbenchmark launches 256 scalars; the stack arrays sized by it hold one
 * pointer per argument (4 KiB). */
#define SITE_MAX_ARGS 512
/* A remembered launch's stream handle meaning "CuPy's current stream, read
 * at each launch" -- where numba-cuda-mlir launches CuPy arrays when no
 * stream was configured (no stream handle is negative). */
#define SITE_STREAM_CUPY_CURRENT (-2)

/* *************************************************************************
 * Types                                                                   *
 * ************************************************************************* */

extern LCS_HIDDEN PyTypeObject LaunchSiteType; /* base of configured launches */
extern LCS_HIDDEN PyTypeObject SiteEntryType;  /* one remembered launch */
extern LCS_HIDDEN PyTypeObject HitCounterType; /* `hits` counted in C */

/* *************************************************************************
 * Module functions (module.c's table)                                     *
 * ************************************************************************* */

LCS_HIDDEN PyObject *lcs_py_remember(PyObject *module, PyObject *const *a,
                                     Py_ssize_t n);
LCS_HIDDEN PyObject *lcs_py_match(PyObject *module, PyObject *const *a,
                                  Py_ssize_t n);
LCS_HIDDEN PyObject *lcs_py_remembered(PyObject *module, PyObject *site);
LCS_HIDDEN PyObject *lcs_py_forget(PyObject *module, PyObject *site);
LCS_HIDDEN PyObject *lcs_py_invalidate(PyObject *module, PyObject *unused);
LCS_HIDDEN PyObject *lcs_py_configure_sites(PyObject *module,
                                            PyObject *const *a, Py_ssize_t n);
LCS_HIDDEN PyObject *lcs_py_configure_interface_sync(PyObject *module,
                                                     PyObject *const *a,
                                                     Py_ssize_t n);
LCS_HIDDEN PyObject *lcs_py_configure_cupy(PyObject *module,
                                           PyObject *const *a, Py_ssize_t n);

#endif /* LCS_SITES_H */
