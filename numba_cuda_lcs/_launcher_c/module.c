/*
 * module.c -- the extension module numba_cuda_lcs._launcher: its function
 * table, its definition and its init, which readies the types, sets up the
 * module state (state.h) and exports the argument kinds (arg_kinds.h).
 *
 * C launch path for numba-cuda kernels (numba-cuda-mlir's next): Launcher
 * (launcher.c) marshals arguments by a per-kernel plan and launches through
 * the CUDA driver (cuda_driver.c); LaunchSite (sites.c) launches again what
 * the compiler's slow path resolved.  The pure-Python twin is the package
 * numba_cuda_lcs._launcher_py, in the same parts; tests run both.
 */
#include "common.h"

#include "arg_kinds.h"
#include "launcher.h"
#include "sites.h"
#include "state.h"

/* *************************************************************************
 * The module's functions                                                  *
 * ************************************************************************* */

static PyMethodDef module_methods[] = {
    {"current_context", lcs_py_current_context, METH_NOARGS,
     "the calling thread's current CUDA context handle as an int (0: none)"},
    {"remember", (PyCFunction)(void (*)(void))lcs_py_remember, METH_FASTCALL,
     "remember(site, args, launcher, stream_handle, stream, counter, "
     "context) -> bool: let *site* launch such arguments in C from now on"},
    {"match", (PyCFunction)(void (*)(void))lcs_py_match, METH_FASTCALL,
     "match(site, args, context) -> index of the remembered launch that "
     "would serve *args* in *context*, or -1 (for tests)"},
    {"remembered", lcs_py_remembered, METH_O,
     "remembered(site) -> how many launches *site* remembers"},
    {"forget", lcs_py_forget, METH_O,
     "forget(site): drop what *site* remembers"},
    {"invalidate", lcs_py_invalidate, METH_NOARGS,
     "forget every launch every site remembers (they stop matching)"},
    {"configure_sites", (PyCFunction)(void (*)(void))lcs_py_configure_sites,
     METH_FASTCALL,
     "configure_sites(typed_classes, launch_error, twin_site_call): the classes "
     "(a class or a tuple) typed by their _numba_type_, what a refused "
     "launch raises, and the "
     "pure-Python twin's site_call to delegate to (None: C)"},
    {"configure_cupy", (PyCFunction)(void (*)(void))lcs_py_configure_cupy,
     METH_FASTCALL,
     "configure_cupy(ndarray_class, get_current_stream): read CuPy arrays' "
     "pointer, shape and strides from their attributes (None, None: off)"},
    {"configure_interface_sync",
     (PyCFunction)(void (*)(void))lcs_py_configure_interface_sync, METH_FASTCALL,
     "configure_interface_sync(source, own_class): the object (numba-cuda-mlir's "
     "config module) whose CUDA_ARRAY_INTERFACE_SYNC K_MEMREF launches of "
     "arrays that are not instances of own_class read at each launch, as "
     "numba-cuda-mlir does (None, None: the plan's value, the typed classes)"},
    {"double_to_half", lcs_py_double_to_half, METH_O,
     "binary16 bits of a float, round to nearest even (for tests)"},
    {NULL}};

/* *************************************************************************
 * The module                                                              *
 * ************************************************************************* */

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT, "numba_cuda_lcs._launcher",
    "C launch path: plan-driven argument marshalling and cuLaunchKernel.", -1,
    module_methods};

/* The argument kinds, as module attributes (K_FALLBACK, K_ARRAY, ...). */
static int
add_arg_kinds(PyObject *m)
{
#define LCS_ADD_KIND(name, number)                                           \
    if (PyModule_AddIntConstant(m, #name, name) < 0) return -1;
    LCS_ARG_KINDS(LCS_ADD_KIND)
#undef LCS_ADD_KIND
    return 0;
}

PyMODINIT_FUNC
PyInit__launcher(void)
{
    if (PyType_Ready(&LauncherType) < 0 || PyType_Ready(&SiteEntryType) < 0 ||
        PyType_Ready(&LaunchSiteType) < 0 || PyType_Ready(&HitCounterType) < 0)
        return NULL;
    if (lcs_state_init() < 0) return NULL;
    PyObject *m = PyModule_Create(&moduledef);
    if (m == NULL) return NULL;
    if (add_arg_kinds(m) < 0 ||
        PyModule_AddObjectRef(m, "Launcher", (PyObject *)&LauncherType) < 0 ||
        PyModule_AddObjectRef(m, "LaunchSite", (PyObject *)&LaunchSiteType) < 0 ||
        PyModule_AddObjectRef(m, "HitCounter", (PyObject *)&HitCounterType) < 0 ||
        PyModule_AddIntConstant(m, "SITE_ENTRIES", SITE_ENTRIES) < 0 ||
        PyModule_AddIntConstant(m, "SITE_MAX_ARGS", SITE_MAX_ARGS) < 0 ||
        PyModule_AddIntConstant(m, "SITE_STREAM_CUPY_CURRENT",
                                SITE_STREAM_CUPY_CURRENT) < 0 ||
        PyModule_AddObjectRef(m, "LaunchError", LCS.LaunchError) < 0)
        goto fail;
    return m;
fail:
    Py_DECREF(m);
    return NULL;
}
