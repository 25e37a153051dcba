/* A stand-in for the CUDA driver (libcuda.so.1), for tests without a GPU.
 *
 * tests/mlir/test_mlir_launch_plans.py builds this file with
 * `cc -shared -fPIC -o <dir>/libcuda.so.1` and runs a child process with
 * LD_LIBRARY_PATH=<dir>, so that numba-cuda-mlir's native launcher
 * (numba_cuda_mlir._cext) loads it instead of the real driver.  The
 * launcher finds every driver entry point through cuGetProcAddress_v2, the
 * only symbol exported here; each entry point it asks for succeeds and hands
 * back fixed dummy handles.  Nothing runs.
 *
 * What the test reads: on cuLaunchKernel / cuLaunchKernelEx, one line is
 * appended to the file named by $LCS_FAKE_CUDA_LOG:
 *
 *     launch <slot0> <slot1> ... <slotN-1>
 *
 * each slot the 8 bytes behind kernelParams[i], in hex, memory order.  The
 * driver cannot tell how many parameters a kernel takes (the test's caller
 * knows: it compiled nothing), so the test sets $LCS_FAKE_CUDA_PARAMS=N
 * before each launch.  numba-cuda-mlir writes every parameter into an
 * 8-byte slot; a real driver copies the low `param_size` bytes of it.
 *
 * With $LCS_FAKE_CUDA_STREAM_LOG set, each launch also appends
 * `launch <stream>` to that file and each cuStreamSynchronize
 * `sync <stream>` (handles in hex), in the order they were made.
 *
 * What a test may change (read on every call, so a process may change them
 * between launches):
 *   $LCS_FAKE_CUDA_LAUNCH_RESULT=N   cuLaunchKernel(Ex) returns N (700:
 *                                    CUDA_ERROR_ILLEGAL_ADDRESS), logging
 *                                    nothing;
 *   $LCS_FAKE_CUDA_OTHER_CONTEXT=P   cuPointerGetAttribute(CONTEXT) names
 *                                    another context (0x1001) for device
 *                                    pointer P (hex);
 *   $LCS_FAKE_CUDA_POINTER_CONTEXT=none|fail  ... names no context (NULL),
 *                                    or fails (CUDA_ERROR_INVALID_VALUE),
 *                                    for every pointer;
 *   $LCS_FAKE_CUDA_SYNC_RESULT=N     cuStreamSynchronize returns N (after
 *                                    logging it).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult; /* 0: CUDA_SUCCESS */

#define FAKE_CONTEXT ((void *)0x1000)
#define FAKE_LIBRARY ((void *)0x2000)
#define FAKE_KERNEL ((void *)0x3000)
#define FAKE_OTHER_CONTEXT ((void *)0x1001)

static void
log_params(void **params)
{
    const char *path = getenv("LCS_FAKE_CUDA_LOG");
    const char *count = getenv("LCS_FAKE_CUDA_PARAMS");
    int n = count ? atoi(count) : 0;
    FILE *f = path ? fopen(path, "a") : NULL;
    if (f == NULL) return;
    fputs("launch", f);
    for (int i = 0; i < n; i++) {
        const unsigned char *slot = params[i];
        fputc(' ', f);
        for (int j = 0; j < 8; j++) fprintf(f, "%02x", slot[j]);
    }
    fputc('\n', f);
    fclose(f);
}

static void
log_stream(const char *what, void *stream)
{
    const char *path = getenv("LCS_FAKE_CUDA_STREAM_LOG");
    FILE *f = path ? fopen(path, "a") : NULL;
    if (f == NULL) return;
    fprintf(f, "%s %llx\n", what, (unsigned long long)(uintptr_t)stream);
    fclose(f);
}

static CUresult ok(void) { return 0; }
static CUresult unavailable(void) { return 500; } /* CUDA_ERROR_NOT_FOUND */

static CUresult
get_context(void **ctx) { *ctx = FAKE_CONTEXT; return 0; }

static CUresult
get_device(int *device) { *device = 0; return 0; }

static CUresult
device_get(int *device, int ordinal) { *device = ordinal; return 0; }

static CUresult
pop_context(void **ctx) { if (ctx) *ctx = FAKE_CONTEXT; return 0; }

static CUresult
library_load_data(void **lib, const void *code, void *jit_opts, void *jit_vals,
                  unsigned n_jit, void *lib_opts, void *lib_vals, unsigned n_lib)
{
    *lib = FAKE_LIBRARY;
    return 0;
}

static CUresult
library_get_kernel(void **kernel, void *lib, const char *name)
{
    *kernel = FAKE_KERNEL;
    return 0;
}

static CUresult
kernel_get_function(void **func, void *kernel) { *func = kernel; return 0; }

static CUresult
func_get_attribute(int *value, int attrib, void *func)
{
    /* 8: CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES */
    *value = attrib == 8 ? 48 * 1024 : 0;
    return 0;
}

static CUresult
device_get_attribute(int *value, int attrib, int device)
{
    *value = attrib == 97 ? 227 * 1024 : 0x7fffffff; /* 97: smem opt-in */
    return 0;
}

static CUresult
pointer_get_attribute(void *data, int attrib, unsigned long long ptr)
{
    const char *mode = getenv("LCS_FAKE_CUDA_POINTER_CONTEXT");
    const char *other = getenv("LCS_FAKE_CUDA_OTHER_CONTEXT");
    if (mode != NULL && strcmp(mode, "fail") == 0) return 1;
    if (mode != NULL && strcmp(mode, "none") == 0) *(void **)data = NULL;
    else if (other != NULL && strtoull(other, NULL, 16) == ptr)
        *(void **)data = FAKE_OTHER_CONTEXT;
    else *(void **)data = FAKE_CONTEXT; /* the array's context: the current one */
    return 0;
}

static CUresult
launch_result(void)
{
    const char *result = getenv("LCS_FAKE_CUDA_LAUNCH_RESULT");
    return result ? atoi(result) : 0;
}

static CUresult
stream_synchronize(void *stream)
{
    const char *result = getenv("LCS_FAKE_CUDA_SYNC_RESULT");
    log_stream("sync", stream);
    return result ? atoi(result) : 0;
}

static CUresult
error_string(int error, const char **s) { *s = "fake CUDA driver"; return 0; }

static CUresult
error_name(int error, const char **s)
{
    *s = error == 700 ? "CUDA_ERROR_ILLEGAL_ADDRESS" : "CUDA_ERROR_FAKE";
    return 0;
}

static CUresult
launch_kernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
              unsigned by, unsigned bz, unsigned smem, void *stream,
              void **params, void **extra)
{
    if (launch_result() != 0) return launch_result();
    log_params(params);
    log_stream("launch", stream);
    return 0;
}

static CUresult
launch_cooperative(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                   unsigned by, unsigned bz, unsigned smem, void *stream,
                   void **params)
{
    if (launch_result() != 0) return launch_result();
    log_params(params);
    return 0;
}

static CUresult
launch_kernel_ex(const void *config, void *f, void **params, void **extra)
{
    if (launch_result() != 0) return launch_result();
    log_params(params);
    return 0;
}

static const struct {
    const char *name;
    void *fn;
} entry_points[] = {
    {"cuInit", (void *)ok},
    {"cuLibraryLoadData", (void *)library_load_data},
    {"cuLibraryUnload", (void *)ok},
    {"cuLibraryGetKernel", (void *)library_get_kernel},
    {"cuLibraryGetModule", (void *)unavailable},
    {"cuModuleGetGlobal", (void *)unavailable},
    {"cuKernelGetFunction", (void *)kernel_get_function},
    {"cuFuncGetAttribute", (void *)func_get_attribute},
    {"cuFuncSetAttribute", (void *)ok},
    {"cuLaunchKernel", (void *)launch_kernel},
    {"cuLaunchKernelEx", (void *)launch_kernel_ex},
    {"cuLaunchCooperativeKernel", (void *)launch_cooperative},
    {"cuGetErrorString", (void *)error_string},
    {"cuGetErrorName", (void *)error_name},
    {"cuPointerGetAttribute", (void *)pointer_get_attribute},
    {"cuCtxGetCurrent", (void *)get_context},
    {"cuCtxSetCurrent", (void *)ok},
    {"cuCtxPushCurrent", (void *)ok},
    {"cuCtxPopCurrent", (void *)pop_context},
    {"cuCtxSynchronize", (void *)ok},
    {"cuStreamSynchronize", (void *)stream_synchronize},
    {"cuCtxGetDevice", (void *)get_device},
    {"cuDeviceGet", (void *)device_get},
    {"cuDeviceGetAttribute", (void *)device_get_attribute},
    {"cuDevicePrimaryCtxRetain", (void *)get_context},
    {"cuDevicePrimaryCtxRelease", (void *)ok},
    /* the launcher loads these too; the tested arguments use none of them */
    {"cuMemAlloc", (void *)unavailable},
    {"cuMemFree", (void *)unavailable},
    {"cuMemcpyHtoD", (void *)unavailable},
    {"cuMemcpyDtoH", (void *)unavailable},
    {NULL, NULL},
};

CUresult
cuGetProcAddress_v2(const char *symbol, void **pfn, int version,
                    unsigned long long flags, int *status)
{
    if (status) *status = 0; /* CU_GET_PROC_ADDRESS_SUCCESS */
    *pfn = NULL;
    for (int i = 0; entry_points[i].name != NULL; i++)
        if (strcmp(entry_points[i].name, symbol) == 0) {
            *pfn = entry_points[i].fn;
            return 0;
        }
    if (status) *status = 1; /* CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND */
    return 500;               /* CUDA_ERROR_NOT_FOUND */
}
