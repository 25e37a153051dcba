/* The C floor of a kernel launch: a compiled program calling
 * cudaLaunchKernel in a loop with its arguments packed once -- the cost of
 * a stream launch alone on this GPU, which no Python launch path can beat.
 *
 *   nvcc -O2 -o launch_floor launch_floor.cu
 *   ./launch_floor CASE LAUNCHES BATCHES
 *
 * CASE names the arguments of an empty-bodied kernel, launched <<<1, 1>>>
 * on the legacy default stream: "0", "1", "4" or "16" device pointers, or
 * "16s" / "256s" float scalars (numba-cuda-mlir's microbenchmark cases), or
 * "80p" / "112p" 8-byte parameters: as many as 16 1-D arrays take in
 * numba-cuda-mlir's kernels (5 each) and in numba-cuda's (7 each), the floor
 * of those kernels' launches (the driver copies each parameter), or "4sync":
 * "4" with cudaStreamSynchronize of the stream before each launch -- what
 * numba-cuda-mlir does for arrays whose CUDA array interface names a stream
 * (CuPy's), the floor of those launches.
 * Each batch is LAUNCHES launches and one cudaDeviceSynchronize, as the
 * benchmark scripts time their Python launches (c_floor.py runs this).
 * Prints one JSON list: microseconds per launch of each batch.  Exits 1
 * with the CUDA error on a failure, 2 on bad usage.
 */
#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define P float *
__global__ void k0(void) {}
__global__ void k1(P) {}
__global__ void k4(P, P, P, P) {}
__global__ void k16(P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P) {}

#define F4 float, float, float, float
#define F16 F4, F4, F4, F4
#define F64 F16, F16, F16, F16
__global__ void s16(F16) {}
__global__ void s256(F64, F64, F64, F64) {}

#define P8 P, P, P, P, P, P, P, P
#define P40 P8, P8, P8, P8, P8
__global__ void p80(P40, P40) {}
__global__ void p112(P40, P40, P8, P8, P8, P8) {}

#define MAX_PARAMS 256

typedef struct {
    const char *name;
    const void *kernel;
    int scalars; /* 1: float values, 0: device pointers */
    int sync;    /* 1: synchronise the stream before each launch */
} launch_case;

/* (params holds MAX_PARAMS entries: as many as the largest case takes) */
static const launch_case CASES[] = {
    {"0", (const void *)k0, 0, 0},     {"1", (const void *)k1, 0, 0},
    {"4", (const void *)k4, 0, 0},     {"16", (const void *)k16, 0, 0},
    {"16s", (const void *)s16, 1, 0},  {"256s", (const void *)s256, 1, 0},
    {"80p", (const void *)p80, 0, 0},  {"112p", (const void *)p112, 0, 0},
    {"4sync", (const void *)k4, 0, 1},
};

static double
seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void
check(cudaError_t err, const char *what)
{
    if (err != cudaSuccess) {
        fprintf(stderr, "%s: %s\n", what, cudaGetErrorString(err));
        exit(1);
    }
}

int
main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s CASE LAUNCHES BATCHES\n", argv[0]);
        return 2;
    }
    const launch_case *c = NULL;
    for (size_t i = 0; i < sizeof(CASES) / sizeof(CASES[0]); i++)
        if (strcmp(argv[1], CASES[i].name) == 0) c = &CASES[i];
    int launches = atoi(argv[2]), batches = atoi(argv[3]);
    if (c == NULL || launches < 1 || batches < 1) {
        fprintf(stderr, "CASE is 0, 1, 4, 16, 16s, 256s, 80p, 112p or 4sync; LAUNCHES and BATCHES >= 1\n");
        return 2;
    }
    float *buffer;
    check(cudaMalloc((void **)&buffer, 1024), "cudaMalloc");
    static float *pointers[MAX_PARAMS];
    static float values[MAX_PARAMS];
    static void *params[MAX_PARAMS];
    for (int i = 0; i < MAX_PARAMS; i++) {
        pointers[i] = buffer;
        values[i] = (float)i;
        params[i] = c->scalars ? (void *)&values[i] : (void *)&pointers[i];
    }
    dim3 one(1, 1, 1);
    for (int i = 0; i < 200; i++) /* load the module, warm up */
        check(cudaLaunchKernel(c->kernel, one, one, params, 0, 0), "cudaLaunchKernel");
    check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
    printf("[");
    for (int b = 0; b < batches; b++) {
        double started = seconds();
        for (int i = 0; i < launches; i++) {
            if (c->sync) check(cudaStreamSynchronize(0), "cudaStreamSynchronize");
            check(cudaLaunchKernel(c->kernel, one, one, params, 0, 0), "cudaLaunchKernel");
        }
        check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
        printf("%s%.4f", b ? ", " : "", (seconds() - started) / launches * 1e6);
    }
    printf("]\n");
    cudaFree(buffer);
    return 0;
}
