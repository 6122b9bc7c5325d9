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
 *   value head  values = hidden x head (+ bias) through cuBLAS
 *
 * Kernels:
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
#include "srs_guide_math.h"

#define TOPK_THREADS 256
#define VOCAB_THREADS 512
#define SELECT_THREADS 128

// ----------------------------------------------------------------------------
// block reductions (blockDim.x a multiple of 32, <= 1024)

struct KeyId {
    float key;
    int32_t id;
};

// (key desc, id asc); the empty entry is (-inf, INT_MAX).
__device__ __forceinline__ KeyId better(KeyId a, KeyId b) {
    return srs_guide_before(b.key, b.id, a.key, a.id) ? b : a;
}

__device__ KeyId block_best(KeyId v, KeyId *sh) {
    for (int o = 16; o > 0; o >>= 1) {
        KeyId w;
        w.key = __shfl_down_sync(0xffffffffu, v.key, o);
        w.id = __shfl_down_sync(0xffffffffu, v.id, o);
        v = better(v, w);
    }
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    __syncthreads();   // sh may still be read from the previous call
    if (lane == 0) sh[warp] = v;
    __syncthreads();
    if (warp == 0) {
        KeyId e = {-INFINITY, INT_MAX};
        v = lane < nw ? sh[lane] : e;
        for (int o = 16; o > 0; o >>= 1) {
            KeyId w;
            w.key = __shfl_down_sync(0xffffffffu, v.key, o);
            w.id = __shfl_down_sync(0xffffffffu, v.id, o);
            v = better(v, w);
        }
        if (lane == 0) sh[0] = v;
    }
    __syncthreads();
    return sh[0];
}

struct DKeyId {
    double key;
    int32_t id;
};

__device__ DKeyId block_best_d(DKeyId v, DKeyId *sh) {
    for (int o = 16; o > 0; o >>= 1) {
        DKeyId w;
        w.key = __shfl_down_sync(0xffffffffu, v.key, o);
        w.id = __shfl_down_sync(0xffffffffu, v.id, o);
        if (w.key > v.key || (w.key == v.key && w.id < v.id)) v = w;
    }
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    __syncthreads();
    if (lane == 0) sh[warp] = v;
    __syncthreads();
    if (warp == 0) {
        DKeyId e = {-INFINITY, INT_MAX};
        v = lane < nw ? sh[lane] : e;
        for (int o = 16; o > 0; o >>= 1) {
            DKeyId w;
            w.key = __shfl_down_sync(0xffffffffu, v.key, o);
            w.id = __shfl_down_sync(0xffffffffu, v.id, o);
            if (w.key > v.key || (w.key == v.key && w.id < v.id)) v = w;
        }
        if (lane == 0) sh[0] = v;
    }
    __syncthreads();
    return sh[0];
}

// op: 0 sum, 1 max, 2 min (doubles).
template <int OP>
__device__ double block_reduce(double v, double *sh) {
    for (int o = 16; o > 0; o >>= 1) {
        double w = __shfl_down_sync(0xffffffffu, v, o);
        v = OP == 0 ? v + w : OP == 1 ? fmax(v, w) : fmin(v, w);
    }
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    __syncthreads();
    if (lane == 0) sh[warp] = v;
    __syncthreads();
    if (warp == 0) {
        double e = OP == 0 ? 0.0 : OP == 1 ? -INFINITY : INFINITY;
        v = lane < nw ? sh[lane] : e;
        for (int o = 16; o > 0; o >>= 1) {
            double w = __shfl_down_sync(0xffffffffu, v, o);
            v = OP == 0 ? v + w : OP == 1 ? fmax(v, w) : fmin(v, w);
        }
        if (lane == 0) sh[0] = v;
    }
    __syncthreads();
    return sh[0];
}

// ----------------------------------------------------------------------------
// top-k (+ optional fused select) kernel

struct TopkShared {
    int32_t ids[SRS_GUIDE_K_MAX];
    float key[SRS_GUIDE_K_MAX];
    float lp[SRS_GUIDE_K_MAX];
    float sc[SRS_GUIDE_K_MAX];
    KeyId red[32];
    double dred[32];
};

// Bitwise OR of a per-thread flag byte over the block. __syncthreads_or
// returns only whether any value was non-zero (a predicate, not the OR of
// the bits), so each flag bit is reduced on its own. Includes a barrier.
__device__ __forceinline__ int block_or_flags(int fl) {
    int out = 0;
    for (int bit = 1; bit <= 128; bit <<= 1)
        if (__syncthreads_or(fl & bit)) out |= bit;
    return out;
}

// values == NULL: write candidates (ids, logp, flags). values != NULL: the
// fused top-k path, write tokens (+ cand_ids, fused, flags).
template <int E, int EV>
__global__ void __launch_bounds__(TOPK_THREADS)
topk_kernel(const void *__restrict__ logits, int64_t vocab, double T, int k, int32_t *ids,
            float *logp, uint8_t *flags, const void *__restrict__ values, srs_guide_opts_t o,
            int32_t *tokens, float *fused) {
    __shared__ TopkShared sh;
    const int64_t r = blockIdx.x;
    const void *x = (const char *)logits + (size_t)r * (size_t)vocab * (E == SRS_ELEM_F32 ? 4 : 2);
    float lk[SRS_GUIDE_K_MAX];
    int32_t li[SRS_GUIDE_K_MAX];
    int n = 0;
    unsigned fl = 0;
    float mt = -INFINITY;   // running max of this thread's slice
    double st = 0;          // sum of exp((x - mt) / T), or the count of maxima (T = 0)
    const float invT = T > 0 ? (float)(1.0 / T) : 0.0f;
    for (int64_t v = threadIdx.x; v < vocab; v += blockDim.x) {
        float f = srs_guide_load(x, E, v);
        if (!(f < INFINITY)) { fl |= SRS_GUIDE_NONFINITE; continue; }   // NaN, +inf
        if (f == -INFINITY) continue;
        if (T > 0) {
            // guards keep extreme T finite: invT may be inf (T < ~3e-39) or 0
            // (T > ~3e38), where 0 * inf or -inf * 0 would give NaN
            if (f > mt) { st = mt == -INFINITY ? 1.0 : st * (double)expf((mt - f) * invT) + 1.0; mt = f; }
            else { float dl = f - mt; st += dl == 0.0f ? 1.0 : (double)expf(dl * invT); }
        } else {
            if (f > mt) { mt = f; st = 1; }
            else if (f == mt) st += 1;
        }
        if (n < k || f > lk[k - 1]) {   // strided ids ascend: a later id never precedes an equal key
            int j = n < k ? n++ : k - 1;
            while (j > 0 && srs_guide_before(f, (int32_t)v, lk[j - 1], li[j - 1])) {
                lk[j] = lk[j - 1];
                li[j] = li[j - 1];
                j--;
            }
            lk[j] = f;
            li[j] = (int32_t)v;
        }
    }
    fl = block_or_flags(fl);

    // log-sum-exp (or the count of tied maxima) over the block
    double M = block_reduce<1>((double)mt, sh.dred);
    double part = 0;
    if (mt > -INFINITY) part = T > 0 ? st * exp(((double)mt - M) / T) : (mt == M ? st : 0.0);
    double S = block_reduce<0>(part, sh.dred);

    // merge: k rounds of the best list head
    int ptr = 0, got = 0;
    for (int round = 0; round < k; round++) {
        KeyId mine = {-INFINITY, INT_MAX};
        if (ptr < n) { mine.key = lk[ptr]; mine.id = li[ptr]; }
        KeyId w = block_best(mine, sh.red);
        if (w.id == INT_MAX) break;
        if (ptr < n && li[ptr] == w.id) ptr++;
        if (threadIdx.x == 0) { sh.ids[round] = w.id; sh.key[round] = w.key; }
        got++;
    }
    __syncthreads();
    if (threadIdx.x < k) {
        int j = threadIdx.x;
        float lpj = -INFINITY;
        int32_t id = -1;
        if (j < got) {
            id = sh.ids[j];
            if (T > 0) lpj = (float)(((double)sh.key[j] - M) / T - log(S));
            else lpj = (double)sh.key[j] == M ? (float)-log(S) : -INFINITY;
        }
        sh.ids[j] = id;
        sh.lp[j] = lpj;
        if (values) sh.sc[j] = id >= 0 ? srs_guide_load((const char *)values +
                                                        (size_t)r * (size_t)vocab * (EV == SRS_ELEM_F32 ? 4 : 2),
                                                        EV, id)
                                       : 0.0f;
        if (!values) {
            ids[r * k + j] = id;
            logp[r * k + j] = lpj;
        } else if (ids) {
            ids[r * k + j] = id;   // cand_ids of the fused path
        }
    }
    unsigned cf = fl | (got < k ? SRS_GUIDE_SHORT : 0u) | (got > 0 ? SRS_GUIDE_VALID : 0u);
    if (!values) {
        if (threadIdx.x == 0 && flags) flags[r] = (uint8_t)cf;
        return;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        double m = o.m_star ? o.m_star[r] : NAN, b = o.b_eff ? o.b_eff[r] : o.B;
        uint64_t seed = o.seeds ? o.seeds[r] : o.seed;
        int32_t tok;
        unsigned f = srs_guide_select_row(&o, k, sh.ids, sh.lp, sh.sc, m, b, seed, (uint32_t)r, &tok,
                                          fused ? fused + r * k : NULL, NULL);
        f |= cf & (SRS_GUIDE_NONFINITE | SRS_GUIDE_SHORT);
        tokens[r] = tok;
        if (flags) flags[r] = (uint8_t)f;
    }
}

// ----------------------------------------------------------------------------
// select kernel: one thread per row

__global__ void select_kernel(srs_guide_opts_t o, int64_t rows, int k, const int32_t *ids,
                              const float *logp, const float *score, int32_t *tokens, float *fused,
                              double *m_used, uint8_t *flags) {
    int64_t r = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= rows) return;
    double m = o.m_star ? o.m_star[r] : NAN, b = o.b_eff ? o.b_eff[r] : o.B;
    uint64_t seed = o.seeds ? o.seeds[r] : o.seed;
    int32_t tok;
    unsigned f = srs_guide_select_row(&o, k, ids + r * k, logp + r * k, score + r * k, m, b, seed,
                                      (uint32_t)r, &tok, fused ? fused + r * k : NULL,
                                      m_used ? m_used + r : NULL);
    tokens[r] = tok;
    if (flags) flags[r] = (uint8_t)f;
}

// ----------------------------------------------------------------------------
// whole-vocabulary kernel: block per row

template <int E, int EV>
__global__ void __launch_bounds__(VOCAB_THREADS)
vocab_kernel(srs_guide_opts_t o, const void *__restrict__ logits, const void *__restrict__ values,
             int64_t vocab, double T, int32_t *tokens, uint8_t *flags) {
    __shared__ double dred[32];
    __shared__ DKeyId kred[32];
    const int64_t r = blockIdx.x;
    const void *x = (const char *)logits + (size_t)r * (size_t)vocab * (E == SRS_ELEM_F32 ? 4 : 2);
    const void *val = (const char *)values + (size_t)r * (size_t)vocab * (EV == SRS_ELEM_F32 ? 4 : 2);
    unsigned fl = 0;
    double xm = -INFINITY;
    for (int64_t v = threadIdx.x; v < vocab; v += blockDim.x) {
        double f = srs_guide_load(x, E, v);
        if (f != f || f == INFINITY) fl |= SRS_GUIDE_NONFINITE;
        else if (f > xm) xm = f;
    }
    const double xmax = block_reduce<1>(xm, dred);
    fl = block_or_flags(fl);
    if (xmax == -INFINITY) {
        if (threadIdx.x == 0) { tokens[r] = -1; if (flags) flags[r] = (uint8_t)fl; }
        return;
    }
    double m = o.m_star ? o.m_star[r] : NAN, b = o.b_eff ? o.b_eff[r] : o.B;
    srs_row_stats_t st = {0, 0, 0, 0, m, b};
    int d = o.design, uses_m = d == SRS_DESIGN_HARD || d == SRS_DESIGN_SOFT;
    if (srs_guide_needs_stats(o.design)) {
        double wsum = 0, ws = 0, umin = INFINITY, umax = -INFINITY;
        for (int64_t v = threadIdx.x; v < vocab; v += blockDim.x) {
            double s = srs_guide_load(val, EV, v);
            double w = srs_guide_vocab_weight(srs_guide_load(x, E, v), s, T, xmax);
            if (w < 0) continue;
            w = srs_guide_stat_weight(&o, w);
            wsum += w;
            ws += w * s;
            umin = fmin(umin, s);
            umax = fmax(umax, s);
        }
        wsum = block_reduce<0>(wsum, dred);
        ws = block_reduce<0>(ws, dred);
        st.umin = block_reduce<2>(umin, dred);
        st.umax = block_reduce<1>(umax, dred);
        if (wsum == 0) {
            if (threadIdx.x == 0) { tokens[r] = -1; if (flags) flags[r] = (uint8_t)(fl | SRS_GUIDE_BAD_SCORE); }
            return;
        }
        st.mean = ws / wsum;
        if (d == SRS_DESIGN_MEANSTD) {
            double var = 0;
            for (int64_t v = threadIdx.x; v < vocab; v += blockDim.x) {
                double s = srs_guide_load(val, EV, v);
                double w = srs_guide_vocab_weight(srs_guide_load(x, E, v), s, T, xmax);
                if (w >= 0) var += srs_guide_stat_weight(&o, w) * (s - st.mean) * (s - st.mean);
            }
            st.std = srs_guide_stat_std(&o, sqrt(block_reduce<0>(var, dred) / wsum));
        }
    }
    if ((uses_m || d == SRS_DESIGN_MEANSOFT) && (!isfinite(b) || (uses_m && !isfinite(m)))) {
        if (threadIdx.x == 0) { tokens[r] = -1; if (flags) flags[r] = (uint8_t)(fl | SRS_GUIDE_BAD_M); }
        return;
    }
    const double clip = srs_guide_clip(&o);
    const int sample = o.mode == SRS_GUIDE_SAMPLE && o.tau > 0;
    const uint64_t seed = o.seeds ? o.seeds[r] : o.seed;
    DKeyId best = {-INFINITY, INT_MAX};
    for (int64_t v = threadIdx.x; v < vocab; v += blockDim.x) {
        double key = srs_guide_vocab_key(&o, srs_guide_load(x, E, v), srs_guide_load(val, EV, v), T, xmax,
                                         &st, clip, sample, seed, (uint32_t)r, (uint32_t)v, &fl);
        if (key > best.key) { best.key = key; best.id = (int32_t)v; }   // v ascends per thread
    }
    DKeyId w = block_best_d(best, kred);
    fl = block_or_flags(fl);
    if (threadIdx.x == 0) {
        int32_t tok = w.key > -INFINITY ? w.id : -1;
        tokens[r] = tok;
        if (flags) flags[r] = (uint8_t)(tok >= 0 ? fl | SRS_GUIDE_VALID : fl);
    }
}

// ----------------------------------------------------------------------------
// value head: gathered columns and bias

// Block per row, warp per candidate: values[r, j] = bias[id] + hidden[r, :] . head[:, id].
template <int E>
__global__ void head_gather_kernel(const void *hidden, const void *head, const float *bias, int64_t d,
                                   int64_t vocab, const int32_t *ids, int k, float *values) {
    const int64_t r = blockIdx.x;
    const int lane = threadIdx.x & 31;
    const size_t es = E == SRS_ELEM_F32 ? 4 : 2;
    const void *h = (const char *)hidden + (size_t)r * (size_t)d * es;
    for (int j = threadIdx.x >> 5; j < k; j += blockDim.x >> 5) {
        int32_t id = ids[r * k + j];
        if (id < 0 || id >= vocab) { if (lane == 0) values[r * k + j] = NAN; continue; }
        float acc = 0;
        for (int64_t i = lane; i < d; i += 32)
            acc += srs_guide_load(h, E, i) * srs_guide_load(head, E, i * vocab + id);
        for (int o = 16; o > 0; o >>= 1) acc += __shfl_down_sync(0xffffffffu, acc, o);
        if (lane == 0) values[r * k + j] = acc + (bias ? bias[id] : 0.0f);
    }
}

__global__ void add_bias_kernel(float *values, const float *bias, int64_t rows, int64_t vocab) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < rows * vocab) values[i] += bias[i % vocab];
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
