/*
 * guide.cu — guided decoding (CD and ARGS), one step for a batch of rows.
 *
 * What it computes (DESIGN.md §1, include/srs_guide_math.h):
 *   candidates  ids, logp = top-k of log_softmax(x / T), ordered by (x desc, id asc)
 *   select      fused = logp + lambda shape(score), then argmax or a draw
 *               from softmax(fused / tau) with top-p, Philox keyed by (seed, row, step)
 *   vocab       the same with values for every entry: top-k then select in
 *               one block (k > 0), or argmax over the whole vocabulary of
 *               x/T + lambda s (+ tau Gumbel when sampling) (k = 0)
 *   value head  values = hidden x head (+ bias) through cuBLAS, or for the
 *               candidates' columns alone a warp per candidate (in double)
 *
 * Kernels (their per-row code is guide_body.cuh's, which the CPU tests run on
 * host threads; what stays here is the launch: grid, block, shared memory):
 *   topk_kernel    block per row (TOPK_THREADS threads). One pass over the row:
 *                  every thread keeps a sorted local top-k of its strided
 *                  slice and an online log-sum-exp (running max, sum in double);
 *                  then k rounds of a block-wide argmax over the threads' list
 *                  heads merge the lists (the order is total, so the result
 *                  does not depend on the merge). With values (the fused
 *                  top-k path) thread 0 then gathers the k values and runs
 *                  srs_guide_select_row: candidates + select in one launch.
 *   select_kernel  one thread per row runs srs_guide_select_row — the very
 *                  function the CPU backend runs, so tokens agree bit for bit
 *                  (this file is built with --fmad=false, as the CPU side is
 *                  with -ffp-contract=off: no a*b+c becomes an fma on either;
 *                  exp and log may differ in the last bit).
 *                  The row's work is O(k^2) on k <= 64 values already in
 *                  device memory; the step's cost is the top-k pass.
 *   vocab_kernel   block per row: max pass, statistics passes for the designs
 *                  that need them (minmax, meanstd, cap, meansoft), and the
 *                  key pass with a block argmax (ties: smaller id).
 *
 * Randomness is srs_philox_block from srs_math.h (host and device code), not
 * cuRAND's device API: the CPU backend evaluates the same function, so the
 * streams match bit for bit by construction.
 */
#include <cuda_runtime.h>
#include <cublas_v2.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <string.h>
#include "common.cuh"
#include "guide.cuh"
#include "guide_body.cuh"
#include "srs_guide_math.h"

// ----------------------------------------------------------------------------
// kernels: a block (or a thread) per row running guide_body.cuh's code

// values == NULL: write candidates (ids, logp, flags). values != NULL: the
// fused top-k path, write tokens (+ cand_ids, fused, flags).
template <int E, int EV>
__global__ void __launch_bounds__(TOPK_THREADS)
topk_kernel(const void *__restrict__ logits, int64_t vocab, double T, int k, int32_t *ids,
            float *logp, uint8_t *flags, const void *__restrict__ values, srs_guide_opts_t o,
            int32_t *tokens, float *fused) {
    __shared__ GuideTopkShared sh;
    __shared__ double red[TOPK_THREADS / 32 * 8];
    __shared__ unsigned long long kred[TOPK_THREADS / 32];
    BlockGroup<TOPK_THREADS> g(red, kred);
    guide_topk_row<E, EV>(g, sh, blockIdx.x, logits, vocab, T, k, ids, logp, flags, values, o, tokens, fused);
}

__global__ void select_kernel(srs_guide_opts_t o, int64_t rows, int k, const int32_t *ids,
                              const float *logp, const float *score, int32_t *tokens, float *fused,
                              double *m_used, uint8_t *flags) {
    int64_t r = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (r < rows) guide_select_one(o, r, k, ids, logp, score, tokens, fused, m_used, flags);
}

template <int E, int EV>
__global__ void __launch_bounds__(VOCAB_THREADS)
vocab_kernel(srs_guide_opts_t o, const void *__restrict__ logits, const void *__restrict__ values,
             int64_t vocab, double T, int32_t *tokens, uint8_t *flags) {
    __shared__ double red[VOCAB_THREADS / 32 * 4];
    __shared__ unsigned long long kred[VOCAB_THREADS / 32];
    BlockGroup<VOCAB_THREADS, 4> g(red, kred);
    guide_vocab_row<E, EV>(g, blockIdx.x, o, logits, values, vocab, T, tokens, flags);
}

// ----------------------------------------------------------------------------
// value head: gathered columns and bias

// Block per row, warp per candidate (guide_head_one).
template <int E>
__global__ void head_gather_kernel(const void *hidden, const void *head, const float *bias, int64_t d,
                                   int64_t vocab, const int32_t *ids, int k, float *values) {
    LaneGroup<32> w;
    for (int j = threadIdx.x >> 5; j < k; j += blockDim.x >> 5)
        guide_head_one<E>(w, hidden, head, bias, d, vocab, ids, k, blockIdx.x, j, values);
}

__global__ void add_bias_kernel(float *values, const float *bias, int64_t rows, int64_t vocab) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < rows * vocab) guide_add_bias_one(values, bias, vocab, i);
}

// ----------------------------------------------------------------------------
// launchers

#define DISPATCH2(E, EV, LAUNCH)                                                      \
    switch ((E) * 3 + (EV)) {                                                         \
    case 0: LAUNCH(0, 0); break; case 1: LAUNCH(0, 1); break; case 2: LAUNCH(0, 2); break; \
    case 3: LAUNCH(1, 0); break; case 4: LAUNCH(1, 1); break; case 5: LAUNCH(1, 2); break; \
    case 6: LAUNCH(2, 0); break; case 7: LAUNCH(2, 1); break; default: LAUNCH(2, 2); break; \
    }

extern "C" int srs_guide_cuda_candidates(const void *logits, srs_elem_t dtype, int64_t rows,
                                         int64_t vocab, double T, int k, int32_t *ids, float *logp,
                                         uint8_t *flags, void *stream) {
    SrsNvtx range("guide candidates");
    cudaStream_t s = (cudaStream_t)stream;
    srs_guide_opts_t o;
    memset(&o, 0, sizeof o);
#define L(A, B) topk_kernel<A, B><<<(unsigned)rows, TOPK_THREADS, 0, s>>>(logits, vocab, T, k, ids, logp, \
                                                                         flags, NULL, o, NULL, NULL)
    DISPATCH2((int)dtype, 0, L)
#undef L
    return cudaCheckLaunch();
}

extern "C" int srs_guide_cuda_select(const srs_guide_opts_t *o, int64_t rows, int k, const int32_t *ids,
                                     const float *logp, const float *score, int32_t *tokens, float *fused,
                                     double *m_used, uint8_t *flags, void *stream) {
    SrsNvtx range("guide select");
    unsigned blocks = (unsigned)((rows + SELECT_THREADS - 1) / SELECT_THREADS);
    select_kernel<<<blocks, SELECT_THREADS, 0, (cudaStream_t)stream>>>(*o, rows, k, ids, logp, score, tokens,
                                                                       fused, m_used, flags);
    return cudaCheckLaunch();
}

extern "C" int srs_guide_cuda_vocab(const srs_guide_opts_t *o, const void *logits, srs_elem_t logits_dtype,
                                    const void *values, srs_elem_t values_dtype, int64_t rows, int64_t vocab,
                                    double T, int k, int32_t *tokens, int32_t *cand_ids, float *fused,
                                    uint8_t *flags, void *stream) {
    SrsNvtx range("guide vocab");
    cudaStream_t s = (cudaStream_t)stream;
    if (k > 0) {
#define L(A, B) topk_kernel<A, B><<<(unsigned)rows, TOPK_THREADS, 0, s>>>(logits, vocab, T, k, cand_ids, NULL, \
                                                                         flags, values, *o, tokens, fused)
        DISPATCH2((int)logits_dtype, (int)values_dtype, L)
#undef L
    } else {
#define L(A, B) vocab_kernel<A, B><<<(unsigned)rows, VOCAB_THREADS, 0, s>>>(*o, logits, values, vocab, T, \
                                                                           tokens, flags)
        DISPATCH2((int)logits_dtype, (int)values_dtype, L)
#undef L
    }
    return cudaCheckLaunch();
}

// One cuBLAS handle per host thread, created on first use (the only
// allocation on this path) and bound to the caller's stream on every call.
static thread_local cublasHandle_t g_cublas;

extern "C" int srs_guide_cuda_value_head(const void *hidden, const void *head, srs_elem_t dtype,
                                         const float *bias, int64_t rows, int64_t d, int64_t vocab,
                                         const int32_t *ids, int k, float *values, void *stream) {
    SrsNvtx range("guide value head");
    cudaStream_t s = (cudaStream_t)stream;
    if (ids) {
        switch (dtype) {
        case SRS_ELEM_BF16: head_gather_kernel<1><<<(unsigned)rows, 256, 0, s>>>(hidden, head, bias, d, vocab, ids, k, values); break;
        case SRS_ELEM_F16: head_gather_kernel<2><<<(unsigned)rows, 256, 0, s>>>(hidden, head, bias, d, vocab, ids, k, values); break;
        default: head_gather_kernel<0><<<(unsigned)rows, 256, 0, s>>>(hidden, head, bias, d, vocab, ids, k, values); break;
        }
        return cudaCheckLaunch();
    }
    if (rows > INT_MAX || vocab > INT_MAX || d > INT_MAX)
        return srs_cuda_fail_msg(__FILE__, __LINE__, "value head too large for cuBLAS int sizes");
    if (!g_cublas && cublasCheck(cublasCreate(&g_cublas))) return 1;
    if (cublasCheck(cublasSetStream(g_cublas, s))) return 1;
    cudaDataType_t t = dtype == SRS_ELEM_BF16 ? CUDA_R_16BF : dtype == SRS_ELEM_F16 ? CUDA_R_16F : CUDA_R_32F;
    const float one = 1.0f, zero = 0.0f;
    // Row-major values (rows, vocab) = hidden (rows, d) x head (d, vocab) is the
    // column-major product values^T (vocab, rows) = head^T (vocab, d) x hidden^T (d, rows).
    if (cublasCheck(cublasGemmEx(g_cublas, CUBLAS_OP_N, CUBLAS_OP_N, (int)vocab, (int)rows, (int)d, &one,
                                 head, t, (int)vocab, hidden, t, (int)d, &zero, values, CUDA_R_32F,
                                 (int)vocab, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT)))
        return 1;
    if (bias) {
        int64_t n = rows * vocab;
        add_bias_kernel<<<(unsigned)((n + 255) / 256), 256, 0, s>>>(values, bias, rows, vocab);
        if (cudaCheckLaunch()) return 1;
    }
    return 0;
}
