/*
 * common.cuh — what every CUDA translation unit of srs shares: error checks
 * with file and line, NVTX ranges, and small helpers.
 *
 * Library code never exits on a CUDA error: cudaCheck(call) records
 * "file:line: call: error text" in a thread-local message and evaluates to 1,
 * so a caller writes `if (cudaCheck(cudaMalloc(&p, n))) goto fail;` and turns
 * the message (srs_cuda_last_error) into SRS_ERR_BACKEND on its context.
 * Every kernel launch is followed by cudaCheckLaunch().
 *
 * This header is valid C as well as CUDA C++: host/cuda/cuda_backend.c and the
 * other host files of the CUDA build include it.
 */
#ifndef SRS_KERNELS_COMMON_CUH
#define SRS_KERNELS_COMMON_CUH

#include <cuda_runtime.h>
#include <cublas_api.h>
#include <nvtx3/nvToolsExt.h>

#ifdef __cplusplus
extern "C" {
#endif

// ----------------------------------------------------------------------------
// errors

// Records a failed CUDA runtime call; returns 1 when e != cudaSuccess, else 0.
int srs_cuda_failed(cudaError_t e, const char *what, const char *file, int line);
// Records a failed cuBLAS call; returns 1 when s != CUBLAS_STATUS_SUCCESS.
int srs_cublas_failed(cublasStatus_t s, const char *what, const char *file, int line);
// Records a message (no CUDA error code) in the same slot; returns 1.
int srs_cuda_fail_msg(const char *file, int line, const char *msg);
// The last recorded message of this thread ("" when none).
const char *srs_cuda_last_error(void);

#define cudaCheck(call) srs_cuda_failed((call), #call, __FILE__, __LINE__)
#define cublasCheck(call) srs_cublas_failed((call), #call, __FILE__, __LINE__)
// After every launch: configuration errors surface here, faults at the next sync.
#define cudaCheckLaunch() srs_cuda_failed(cudaGetLastError(), "kernel launch", __FILE__, __LINE__)

// ----------------------------------------------------------------------------
// the copy-bandwidth reference (srs bench threshold)

// Copies bytes from src to dst (device pointers, 16-byte aligned, as cudaMalloc
// gives) with a grid-stride kernel: 16-byte loads and stores, four loads in
// flight per thread, the grid a multiple of the multiprocessors. Returns 0, or
// 1 with srs_cuda_last_error set.
int srs_copy_launch(const void *src, void *dst, size_t bytes, cudaStream_t s);

// ----------------------------------------------------------------------------
// NVTX: named ranges so that Nsight Systems shows the pipeline's stages
// (read, copy in, kernel, copy out, write). Header-only NVTX 3: without a
// profiler attached a range costs a branch.

static inline void srs_nvtx_push(const char *name) { nvtxRangePushA(name); }
static inline void srs_nvtx_pop(void) { nvtxRangePop(); }

#ifdef __cplusplus
}
#endif

#ifdef __CUDACC__
// Scoped NVTX range for C++ code: `SrsNvtx r("kernel");`.
struct SrsNvtx {
    explicit SrsNvtx(const char *name) { nvtxRangePushA(name); }
    ~SrsNvtx() { nvtxRangePop(); }
};

#define SRS_CEIL_DIV(a, b) (((a) + (b) - 1) / (b))
#endif

#endif // SRS_KERNELS_COMMON_CUH
