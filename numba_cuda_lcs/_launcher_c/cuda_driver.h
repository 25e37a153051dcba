/*
 * cuda_driver.h -- the few CUDA driver API declarations the launcher uses,
 * declared by hand (see cuda.h), and their loader.
 *
 * The extension builds without CUDA headers or libcuda: libcuda.so.1
 * (nvcuda.dll) is opened on the first launch only (cuda_driver.c), so
 * importing the module and Launcher.pack() work on machines without a GPU.
 */
#ifndef LCS_CUDA_DRIVER_H
#define LCS_CUDA_DRIVER_H

#include "common.h"

#include <stdint.h>

/* *************************************************************************
 * Types and prototypes (cuda.h)                                           *
 * ************************************************************************* */

typedef int CUresult;
typedef CUresult (*lcs_launch_fn)(void *f, unsigned gx, unsigned gy,
                                  unsigned gz, unsigned bx, unsigned by,
                                  unsigned bz, unsigned shmem, void *stream,
                                  void **params, void **extra);
typedef CUresult (*lcs_coop_fn)(void *f, unsigned gx, unsigned gy, unsigned gz,
                                unsigned bx, unsigned by, unsigned bz,
                                unsigned shmem, void *stream, void **params);
typedef CUresult (*lcs_errname_fn)(CUresult, const char **);
typedef CUresult (*lcs_getctx_fn)(void **);
typedef CUresult (*lcs_ptrattr_fn)(void *data, int attribute, uint64_t ptr);
typedef CUresult (*lcs_streamsync_fn)(void *stream);
typedef CUresult (*lcs_paraminfo_fn)(void *f, size_t index, size_t *offset,
                                     size_t *size);

/* cuLaunchKernel's `extra` keys: the parameters as one buffer. */
#define LCS_CU_LAUNCH_PARAM_END ((void *)0x00)
#define LCS_CU_LAUNCH_PARAM_BUFFER_POINTER ((void *)0x01)
#define LCS_CU_LAUNCH_PARAM_BUFFER_SIZE ((void *)0x02)
#define LCS_CUDA_ERROR_INVALID_VALUE 1

/* cuPointerGetAttribute's attribute naming the pointer's context. */
#define LCS_CU_POINTER_ATTRIBUTE_CONTEXT 1

/* *************************************************************************
 * The entry points, once loaded                                           *
 * ************************************************************************* */

/* Part of the module state (state.h); `launch` is set last and marks the
   driver as loaded. */
typedef struct {
    lcs_launch_fn launch;      /* cuLaunchKernel */
    lcs_coop_fn coop;          /* cuLaunchCooperativeKernel */
    lcs_errname_fn errname;    /* cuGetErrorName */
    lcs_getctx_fn getctx;      /* cuCtxGetCurrent */
    lcs_ptrattr_fn ptrattr;    /* cuPointerGetAttribute; NULL: not found */
    lcs_streamsync_fn streamsync; /* cuStreamSynchronize; NULL: not found */
    /* cuFuncGetParamInfo and cuKernelGetParamInfo (CUDA 12.4+; launchers
       hold a CUfunction or, from cuda.core, a CUkernel); NULL: not found,
       or parameter buffers turned off ($NUMBA_CUDA_LCS_PARAM_BUFFER=0) */
    lcs_paraminfo_fn paraminfo;
    lcs_paraminfo_fn kernel_paraminfo;
} lcs_driver;

/* Load the driver's entry points into *d* (once; later calls return at
 * once).  Call with the GIL held.  0, or -1 with a RuntimeError set. */
LCS_HIDDEN int lcs_driver_load(lcs_driver *d);

/* The driver's name for *err* ("CUDA_ERROR_?" when it has none). */
LCS_HIDDEN const char *lcs_driver_error_name(const lcs_driver *d,
                                             CUresult err);

#endif /* LCS_CUDA_DRIVER_H */
