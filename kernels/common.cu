// common.cu — the error recording behind cudaCheck and cublasCheck, and the
// copy kernel of the bandwidth reference (common.cuh).
#include <stdio.h>
#include "common.cuh"

static thread_local char g_err[1024];

extern "C" const char *srs_cuda_last_error(void) { return g_err; }

extern "C" int srs_cuda_fail_msg(const char *file, int line, const char *msg) {
    snprintf(g_err, sizeof g_err, "%s:%d: %s", file, line, msg);
    return 1;
}

extern "C" int srs_cuda_failed(cudaError_t e, const char *what, const char *file, int line) {
    if (e == cudaSuccess) return 0;
    snprintf(g_err, sizeof g_err, "CUDA error at %s:%d: %s: %s (%s)", file, line, what, cudaGetErrorString(e),
             cudaGetErrorName(e));
    return 1;
}

extern "C" int srs_cublas_failed(cublasStatus_t s, const char *what, const char *file, int line) {
    if (s == CUBLAS_STATUS_SUCCESS) return 0;
    snprintf(g_err, sizeof g_err, "cuBLAS error at %s:%d: %s: status %d", file, line, what, (int)s);
    return 1;
}

// ----------------------------------------------------------------------------
// the copy kernel: what a memory-bound kernel can move, read + write

#define COPY_THREADS 256
#define COPY_UNROLL 4

static __global__ void copy_kernel(const uint4 *__restrict__ src, uint4 *__restrict__ dst, size_t n) {
    const size_t stride = (size_t)gridDim.x * blockDim.x;
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    // COPY_UNROLL independent loads in flight before the first store
    for (; i + (COPY_UNROLL - 1) * stride < n; i += COPY_UNROLL * stride) {
        uint4 v[COPY_UNROLL];
#pragma unroll
        for (int u = 0; u < COPY_UNROLL; u++) v[u] = src[i + u * stride];
#pragma unroll
        for (int u = 0; u < COPY_UNROLL; u++) dst[i + u * stride] = v[u];
    }
    for (; i < n; i += stride) dst[i] = src[i];
}

static __global__ void copy_tail_kernel(const unsigned char *src, unsigned char *dst, size_t n) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) dst[i] = src[i];
}

extern "C" int srs_copy_launch(const void *src, void *dst, size_t bytes, cudaStream_t s) {
    int dev = 0, sms = 0;
    if (srs_cuda_failed(cudaGetDevice(&dev), "cudaGetDevice", __FILE__, __LINE__) ||
        srs_cuda_failed(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev), "cudaDeviceGetAttribute",
                        __FILE__, __LINE__))
        return 1;
    const size_t n16 = bytes / 16, tail = bytes - n16 * 16;
    if (n16 > 0) {
        size_t blocks = (n16 + COPY_THREADS - 1) / COPY_THREADS;
        size_t cap = (size_t)(sms > 0 ? sms : 1) * 16;   // resident blocks: 2048 threads an SM / 256 = 8, twice over
        copy_kernel<<<(unsigned)(blocks < cap ? blocks : cap), COPY_THREADS, 0, s>>>((const uint4 *)src, (uint4 *)dst,
                                                                                      n16);
        if (srs_cuda_failed(cudaGetLastError(), "copy kernel launch", __FILE__, __LINE__)) return 1;
    }
    if (tail > 0) {
        copy_tail_kernel<<<1, 32, 0, s>>>((const unsigned char *)src + n16 * 16, (unsigned char *)dst + n16 * 16, tail);
        if (srs_cuda_failed(cudaGetLastError(), "copy kernel launch", __FILE__, __LINE__)) return 1;
    }
    return 0;
}
