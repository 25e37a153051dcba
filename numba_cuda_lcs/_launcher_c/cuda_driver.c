/*
 * cuda_driver.c -- loads the CUDA driver's entry points (cuda_driver.h).
 *
 * Entry points come from cuGetProcAddress (the _v2 name first, as exported
 * by CUDA 12.5+ drivers, then the 11.3+ one), asking explicitly for the
 * legacy-stream variants: the per-thread default stream is expressed by
 * passing the CU_STREAM_PER_THREAD handle (2), never by the API variant, so
 * the caller's handle means the same thing whatever the process's settings.
 */
#include "cuda_driver.h"

#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>
#else
#include <dlfcn.h>
#endif

/* *************************************************************************
 * cuGetProcAddress                                                        *
 * ************************************************************************* */

typedef CUresult (*getproc1_fn)(const char *, void **, int, uint64_t);
typedef CUresult (*getproc2_fn)(const char *, void **, int, uint64_t, int *);
#define CU_GET_PROC_ADDRESS_LEGACY_STREAM 1

static void *
sym(void *lib, const char *name)
{
#ifdef _WIN32
    return (void *)GetProcAddress((HMODULE)lib, name);
#else
    return dlsym(lib, name);
#endif
}

/* *************************************************************************
 * The loader                                                              *
 * ************************************************************************* */

/* Called with the GIL held, so two first launches cannot race here. */
int
lcs_driver_load(lcs_driver *d)
{
    if (d->launch != NULL) {
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
    /* The first four are required; the others are optional (without them,
     * launches whose plan must check an array's context, or synchronise a
     * stream an array interface names, decline; without the parameter-info
     * pair, parameters go to the driver one pointer each). */
    enum { REQUIRED = 4, COUNT = 8 };
    const char *names[COUNT] = {"cuLaunchKernel", "cuLaunchCooperativeKernel",
                                "cuGetErrorName", "cuCtxGetCurrent",
                                "cuPointerGetAttribute", "cuStreamSynchronize",
                                "cuFuncGetParamInfo", "cuKernelGetParamInfo"};
    /* the CUDA version each entry point is asked for: its first */
    const int versions[COUNT] = {12000, 12000, 12000, 12000,
                                 12000, 12000, 12040, 12040};
    void *fns[COUNT] = {NULL};
    for (int i = 0; i < COUNT; i++) {
        int status = 0;
        if (gp2 != NULL) {
            gp2(names[i], &fns[i], versions[i],
                CU_GET_PROC_ADDRESS_LEGACY_STREAM, &status);
        }
        else if (gp1 != NULL) {
            gp1(names[i], &fns[i], 11030,
                CU_GET_PROC_ADDRESS_LEGACY_STREAM);
        }
        if (fns[i] == NULL) {
            fns[i] = sym(lib, names[i]);  /* exported names are legacy-stream */
        }
        if (fns[i] == NULL && i < REQUIRED) {
            PyErr_Format(PyExc_RuntimeError,
                         "numba_cuda_lcs._launcher: driver has no %s",
                         names[i]);
            return -1;
        }
    }
    d->coop = (lcs_coop_fn)fns[1];
    d->errname = (lcs_errname_fn)fns[2];
    d->getctx = (lcs_getctx_fn)fns[3];
    d->ptrattr = (lcs_ptrattr_fn)fns[4];
    d->streamsync = (lcs_streamsync_fn)fns[5];
    /* Parameters as one buffer (launcher.c, learn_layout) wherever the
       function's parameter info confirms the layout (checked on an H200,
       2026-12-04); NUMBA_CUDA_LCS_PARAM_BUFFER=0 keeps every launch to a
       pointer per parameter. */
    const char *buffer = getenv("NUMBA_CUDA_LCS_PARAM_BUFFER");
    int buffers = buffer == NULL || strcmp(buffer, "0") != 0;
    d->paraminfo = buffers ? (lcs_paraminfo_fn)fns[6] : NULL;
    d->kernel_paraminfo = buffers ? (lcs_paraminfo_fn)fns[7] : NULL;
    d->launch = (lcs_launch_fn)fns[0];
    return 0;
}

const char *
lcs_driver_error_name(const lcs_driver *d, CUresult err)
{
    const char *name = NULL;
    if (d->errname(err, &name) != 0 || name == NULL) name = "CUDA_ERROR_?";
    return name;
}
