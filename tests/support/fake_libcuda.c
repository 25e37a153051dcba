/* A stand-in for the CUDA driver (libcuda.so.1), for tests without a GPU.
 *
 * tests/support/fake_driver.py builds this file with
 * `cc -shared -fPIC -o <dir>/libcuda.so.1` and runs a child process with
 * LD_LIBRARY_PATH=<dir>, so that numba-cuda-mlir (its native launcher and
 * the driver calls of its vendored numba-cuda, through cuda.bindings) and
 * our launcher load it instead of the real driver.  Every entry point is
 * found through cuGetProcAddress_v2, the only symbol exported here.  One
 * device, one context, fixed dummy handles for modules and kernels; device
 * memory is host memory (cuMemAlloc is an aligned malloc, copies are
 * memcpy), so arrays can be made, copied and read back.  No kernel runs.
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
 * With $LCS_FAKE_CUDA_STREAM_LOG set, in the order they were made, each
 * launch also appends `launch <stream> smem=<bytes> fn=<function>`, each
 * cuStreamSynchronize `sync <stream>`, and each
 * cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES) `optin fn=<function>
 * <bytes>` to that file (handles in hex).  Kernels got from a library
 * (cuLibraryGetKernel, numba-cuda-mlir's launcher) and functions got from
 * a module (cuModuleGetFunction) have different handles, each with its
 * own dynamic shared memory limit (48 KiB until opted in).
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
 *                                    logging it);
 *   $LCS_FAKE_CUDA_PARAM_SIZES=s,s,..  the kernel's parameter sizes (bytes;
 *                                    `size@align` for another alignment than
 *                                    the natural one): cuFuncGetParamInfo
 *                                    (module functions) and
 *                                    cuKernelGetParamInfo (library kernels)
 *                                    answer from them (unset: they fail,
 *                                    as for a function it cannot describe),
 *                                    and a launch handing the parameters as
 *                                    one buffer (`extra`) is logged as
 *                                    `buffer <slot0> ...`, each slot the 8
 *                                    bytes at the parameter's offset; a
 *                                    buffer of another size is refused
 *                                    (CUDA_ERROR_INVALID_VALUE);
 *   $LCS_FAKE_CUDA_BUFFER_RESULT=N   a launch handing one buffer returns N,
 *                                    logging nothing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult; /* 0: CUDA_SUCCESS */

#define FAKE_CONTEXT ((void *)0x1000)
#define FAKE_LIBRARY ((void *)0x2000)
#define FAKE_KERNEL ((void *)0x3000)
#define FAKE_MODULE_FUNCTION ((void *)0x3100)
#define FAKE_OTHER_CONTEXT ((void *)0x1001)

/* CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES of the two functions */
static int max_dynamic_shared[2] = {48 * 1024, 48 * 1024};

static int *
dynamic_shared_of(void *func)
{
    return func == FAKE_MODULE_FUNCTION ? &max_dynamic_shared[1]
                                        : &max_dynamic_shared[0];
}

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
log_stream(const char *what, void *stream, unsigned smem, void *func)
{
    const char *path = getenv("LCS_FAKE_CUDA_STREAM_LOG");
    FILE *f = path ? fopen(path, "a") : NULL;
    if (f == NULL) return;
    if (strcmp(what, "launch") == 0)
        fprintf(f, "launch %llx smem=%u fn=%llx\n",
                (unsigned long long)(uintptr_t)stream, smem,
                (unsigned long long)(uintptr_t)func);
    else if (strcmp(what, "optin") == 0)
        fprintf(f, "optin fn=%llx %u\n", (unsigned long long)(uintptr_t)func,
                smem);
    else
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
    *value = attrib == 8 ? *dynamic_shared_of(func) : 0;
    return 0;
}

static CUresult
func_set_attribute(void *func, int attrib, int value)
{
    if (attrib == 8) {
        if (value > 227 * 1024) return 1; /* CUDA_ERROR_INVALID_VALUE */
        *dynamic_shared_of(func) = value;
        log_stream("optin", NULL, (unsigned)value, func);
    }
    return 0;
}

static CUresult
device_get_attribute(int *value, int attrib, int device)
{
    switch (attrib) { /* an H100/H200-like device; limits otherwise unbounded */
    case 1: *value = 1024; break;       /* MAX_THREADS_PER_BLOCK */
    case 10: *value = 32; break;        /* WARP_SIZE */
    case 16: *value = 132; break;       /* MULTIPROCESSOR_COUNT */
    case 75: *value = 9; break;         /* COMPUTE_CAPABILITY_MAJOR */
    case 76: *value = 0; break;         /* COMPUTE_CAPABILITY_MINOR */
    case 97: *value = 227 * 1024; break; /* MAX_SHARED_MEMORY_PER_BLOCK_OPTIN */
    default: *value = 0x7fffffff;
    }
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

/* -- devices and contexts (numba-cuda-mlir's vendored driver asks) -- */

static CUresult
device_get_count(int *count) { *count = 1; return 0; }

static CUresult
device_get_name(char *name, int len, int device)
{
    strncpy(name, "Stand-in GPU", (size_t)len);
    return 0;
}

static CUresult
device_get_uuid(unsigned char *uuid, int device) { memset(uuid, 0x42, 16); return 0; }

static CUresult
device_compute_capability(int *major, int *minor, int device)
{
    *major = 9;
    *minor = 0;
    return 0;
}

static CUresult
driver_get_version(int *version) { *version = 13000; return 0; }

static CUresult
ctx_get_api_version(void *ctx, unsigned *version) { *version = 13000; return 0; }

static CUresult
ctx_get_flags(unsigned *flags) { *flags = 0; return 0; }

static CUresult
primary_ctx_get_state(int device, unsigned *flags, int *active)
{
    *flags = 0;
    *active = 1;
    return 0;
}

/* -- modules (numba-cuda-mlir's own copy of a compiled kernel) -- */

static CUresult
module_load_data(void **module, const void *image) { *module = FAKE_LIBRARY; return 0; }

static CUresult
module_load_data_ex(void **module, const void *image, unsigned n, void *opts,
                    void *vals)
{
    *module = FAKE_LIBRARY;
    return 0;
}

static CUresult
module_get_function(void **func, void *module, const char *name)
{
    *func = FAKE_MODULE_FUNCTION;
    return 0;
}

/* -- memory: host memory standing for device memory -- */

static CUresult
mem_get_info(size_t *free_bytes, size_t *total)
{
    *free_bytes = *total = (size_t)1 << 34;
    return 0;
}

static CUresult
mem_alloc(unsigned long long *dptr, size_t size)
{
    void *p = aligned_alloc(256, size ? (size + 255) / 256 * 256 : 256);
    if (p == NULL) return 2; /* CUDA_ERROR_OUT_OF_MEMORY */
    *dptr = (unsigned long long)(uintptr_t)p;
    return 0;
}

static CUresult
mem_free(unsigned long long dptr)
{
    free((void *)(uintptr_t)dptr);
    return 0;
}

static CUresult
memcpy_htod(unsigned long long dst, const void *src, size_t n)
{
    memcpy((void *)(uintptr_t)dst, src, n);
    return 0;
}

static CUresult
memcpy_dtoh(void *dst, unsigned long long src, size_t n)
{
    memcpy(dst, (const void *)(uintptr_t)src, n);
    return 0;
}

static CUresult
memcpy_dtod(unsigned long long dst, unsigned long long src, size_t n)
{
    memcpy((void *)(uintptr_t)dst, (const void *)(uintptr_t)src, n);
    return 0;
}

static CUresult
memcpy_htod_async(unsigned long long dst, const void *src, size_t n, void *stream)
{
    return memcpy_htod(dst, src, n);
}

static CUresult
memcpy_dtoh_async(void *dst, unsigned long long src, size_t n, void *stream)
{
    return memcpy_dtoh(dst, src, n);
}

static CUresult
memset_d8(unsigned long long dst, unsigned char value, size_t n)
{
    memset((void *)(uintptr_t)dst, value, n);
    return 0;
}

static CUresult
launch_result(void)
{
    const char *result = getenv("LCS_FAKE_CUDA_LAUNCH_RESULT");
    return result ? atoi(result) : 0;
}

/* The layout $LCS_FAKE_CUDA_PARAM_SIZES describes, in one pass: up to *max*
 * offsets and sizes; the number of parameters (0 when unset). */
#define MAX_FAKE_PARAMS 4096
static size_t
param_layouts(size_t *offsets, size_t *sizes, size_t max)
{
    /* parsed once per value of the variable (benchmarks launch often) */
    static char parsed[16384];
    static size_t parsed_n, parsed_offsets[MAX_FAKE_PARAMS],
        parsed_sizes[MAX_FAKE_PARAMS];
    const char *spec = getenv("LCS_FAKE_CUDA_PARAM_SIZES");
    size_t off = 0, n = 0;
    if (spec == NULL || *spec == '\0') return 0;
    if (strcmp(spec, parsed) == 0 && parsed_n <= max) {
        memcpy(offsets, parsed_offsets, parsed_n * sizeof(size_t));
        memcpy(sizes, parsed_sizes, parsed_n * sizeof(size_t));
        return parsed_n;
    }
    const char *whole = spec;
    while (n < max) {
        char *end;
        size_t sz = strtoul(spec, &end, 10), align = 1;
        if (*end == '@') align = strtoul(end + 1, &end, 10);
        else
            while (align < 8 && align * 2 <= sz) align *= 2;
        off = (off + align - 1) / align * align;
        offsets[n] = off;
        sizes[n++] = sz;
        off += sz;
        if (*end != ',') break;
        spec = end + 1;
    }
    if (strlen(whole) < sizeof(parsed) && max == MAX_FAKE_PARAMS) {
        strcpy(parsed, whole);
        parsed_n = n;
        memcpy(parsed_offsets, offsets, n * sizeof(size_t));
        memcpy(parsed_sizes, sizes, n * sizeof(size_t));
    }
    return n;
}

/* Parameter *index*'s offset and size; 0, or 1 (CUDA_ERROR_INVALID_VALUE)
 * past the last one or when unset. */
static CUresult
param_layout(size_t index, size_t *offset, size_t *size)
{
    static size_t offsets[MAX_FAKE_PARAMS], sizes[MAX_FAKE_PARAMS];
    size_t n = param_layouts(offsets, sizes, MAX_FAKE_PARAMS);
    if (index >= n) return 1;
    *offset = offsets[index];
    *size = sizes[index];
    return 0;
}

/* cuFuncGetParamInfo describes functions (a module's), cuKernelGetParamInfo
 * kernels (a library's); each refuses the other's handle
 * (CUDA_ERROR_INVALID_HANDLE). */
static CUresult
func_get_param_info(void *f, size_t index, size_t *offset, size_t *size)
{
    if (f == FAKE_KERNEL) return 400;
    return param_layout(index, offset, size);
}

static CUresult
kernel_get_param_info(void *k, size_t index, size_t *offset, size_t *size)
{
    if (k != FAKE_KERNEL) return 400;
    return param_layout(index, offset, size);
}

/* A launch with `extra`: the buffer, logged at the layout's offsets. */
static CUresult
launch_buffer(void **extra)
{
    const char *result = getenv("LCS_FAKE_CUDA_BUFFER_RESULT");
    if (result != NULL) return atoi(result);
    const unsigned char *data = NULL;
    size_t bytes = 0, off, last = 0;
    for (int i = 0; extra[i] != NULL; i += 2) {
        if (extra[i] == (void *)0x01) data = extra[i + 1];
        else if (extra[i] == (void *)0x02) bytes = *(size_t *)extra[i + 1];
        else return 1;
    }
    static size_t offsets[MAX_FAKE_PARAMS], sizes[MAX_FAKE_PARAMS];
    size_t n = param_layouts(offsets, sizes, MAX_FAKE_PARAMS);
    if (n > 0) last = offsets[n - 1] + sizes[n - 1];
    if (data == NULL || n == 0 || bytes != last) return 1;
    const char *path = getenv("LCS_FAKE_CUDA_LOG");
    FILE *f = path ? fopen(path, "a") : NULL;
    if (f == NULL) return 0;
    fputs("buffer", f);
    for (size_t i = 0; i < n; i++) {
        off = offsets[i];
        fputc(' ', f);
        /* past the buffer's end: zeros (kernelParams slots show what
           follows there) */
        for (size_t j = 0; j < 8; j++)
            fprintf(f, "%02x", off + j < bytes ? data[off + j] : 0);
    }
    fputc('\n', f);
    fclose(f);
    return 0;
}

static CUresult
stream_synchronize(void *stream)
{
    const char *result = getenv("LCS_FAKE_CUDA_SYNC_RESULT");
    log_stream("sync", stream, 0, NULL);
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
    if (extra != NULL) {
        CUresult err = launch_buffer(extra);
        if (err != 0) return err;
    }
    else log_params(params);
    log_stream("launch", stream, smem, f);
    return 0;
}

static CUresult
launch_cooperative(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                   unsigned by, unsigned bz, unsigned smem, void *stream,
                   void **params)
{
    if (launch_result() != 0) return launch_result();
    log_params(params);
    log_stream("launch", stream, smem, f);
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
    {"cuFuncSetAttribute", (void *)func_set_attribute},
    {"cuFuncGetParamInfo", (void *)func_get_param_info},
    {"cuKernelGetParamInfo", (void *)kernel_get_param_info},
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
    {"cuDeviceGetCount", (void *)device_get_count},
    {"cuDeviceGetName", (void *)device_get_name},
    {"cuDeviceGetUuid", (void *)device_get_uuid},
    {"cuDeviceGetUuid_v2", (void *)device_get_uuid},
    {"cuDeviceComputeCapability", (void *)device_compute_capability},
    {"cuDevicePrimaryCtxGetState", (void *)primary_ctx_get_state},
    {"cuDriverGetVersion", (void *)driver_get_version},
    {"cuCtxGetApiVersion", (void *)ctx_get_api_version},
    {"cuCtxGetFlags", (void *)ctx_get_flags},
    {"cuModuleLoadData", (void *)module_load_data},
    {"cuModuleLoadDataEx", (void *)module_load_data_ex},
    {"cuModuleGetFunction", (void *)module_get_function},
    {"cuModuleUnload", (void *)ok},
    {"cuMemGetInfo", (void *)mem_get_info},
    {"cuDeviceGetAttribute", (void *)device_get_attribute},
    {"cuDevicePrimaryCtxRetain", (void *)get_context},
    {"cuDevicePrimaryCtxRelease", (void *)ok},
    {"cuMemAlloc", (void *)mem_alloc},
    {"cuMemFree", (void *)mem_free},
    {"cuMemcpyHtoD", (void *)memcpy_htod},
    {"cuMemcpyDtoH", (void *)memcpy_dtoh},
    {"cuMemcpyDtoD", (void *)memcpy_dtod},
    {"cuMemcpyHtoDAsync", (void *)memcpy_htod_async},
    {"cuMemcpyDtoHAsync", (void *)memcpy_dtoh_async},
    {"cuMemsetD8", (void *)memset_d8},
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
