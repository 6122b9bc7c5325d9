// common.cu — the error recording behind cudaCheck and cublasCheck (common.cuh).
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
