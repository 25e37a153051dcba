/* The C floor of a kernel launch: a compiled program calling
 * cudaLaunchKernel in a loop with its arguments packed once -- the cost of
 * a stream launch alone on this GPU, which no Python launch path can beat.
 *
 *   nvcc -O2 -o launch_floor launch_floor.cu
 *   ./launch_floor NARGS LAUNCHES BATCHES
 *
 * NARGS (0, 1, 4 or 16) device pointers to an empty-bodied kernel, launched
 * <<<1, 1>>> on the legacy default stream; each batch is LAUNCHES launches
 * and one cudaDeviceSynchronize, as scripts/bench-mlir-launch-overhead.py
 * times its Python launches.  Prints one JSON list: microseconds per
 * launch of each batch.  Exits 1 with the CUDA error on a failure.
 */
#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define P float *
__global__ void k0(void) {}
__global__ void k1(P) {}
__global__ void k4(P, P, P, P) {}
__global__ void k16(P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P) {}

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
        fprintf(stderr, "usage: %s NARGS LAUNCHES BATCHES\n", argv[0]);
        return 2;
    }
    int nargs = atoi(argv[1]), launches = atoi(argv[2]), batches = atoi(argv[3]);
    const void *kernel = nargs == 0    ? (const void *)k0
                         : nargs == 1  ? (const void *)k1
                         : nargs == 4  ? (const void *)k4
                         : nargs == 16 ? (const void *)k16
                                       : NULL;
    if (kernel == NULL || launches < 1 || batches < 1) {
        fprintf(stderr, "NARGS is 0, 1, 4 or 16; LAUNCHES and BATCHES >= 1\n");
        return 2;
    }
    float *buffer;
    check(cudaMalloc((void **)&buffer, 1024), "cudaMalloc");
    float *pointers[16];
    void *params[16];
    for (int i = 0; i < 16; i++) {
        pointers[i] = buffer;
        params[i] = &pointers[i];
    }
    dim3 one(1, 1, 1);
    for (int i = 0; i < 200; i++) /* load the module, warm up */
        check(cudaLaunchKernel(kernel, one, one, params, 0, 0), "cudaLaunchKernel");
    check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
    printf("[");
    for (int b = 0; b < batches; b++) {
        double started = seconds();
        for (int i = 0; i < launches; i++)
            check(cudaLaunchKernel(kernel, one, one, params, 0, 0), "cudaLaunchKernel");
        check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
        printf("%s%.4f", b ? ", " : "", (seconds() - started) / launches * 1e6);
    }
    printf("]\n");
    cudaFree(buffer);
    return 0;
}
