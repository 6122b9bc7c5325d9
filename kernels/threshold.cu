/*
 * threshold.cu — batched Stackelberg thresholds and fused shaping on the GPU.
 *
 * What it computes (the same as host/cpu/, with the per-sample formulas of
 * include/srs_math.h): for every row, with d_j = u_j - u_0 (rows shifted by
 * their first sample) and base weights p_j = exp(logw_j - max logw) (1 when
 * uniform), the root m* of
 *
 *     F(m)/gamma = sum_j (d_j >= m ? 1 : eps) p_j (d_j - m),   eps = exp(-lg),
 *
 * B_eff from the preset, and optionally the shaped reward of every sample.
 * Solvers (as on the CPU):
 *   bisect      halve [min d, max d] until the bracket is below tol max(1, range)
 *   dinkelbach  m <- R({d >= m}) from the mean, R(A) = (S_A + eps S_rest) /
 *               (P_A + eps P_rest); stops when the active set is stable: exact
 *   exact       4 Dinkelbach passes, then a parallel partition search: a
 *               random undecided sample v is the pivot, the sign of F(v)
 *               decides every undecided sample on one side of v; each round
 *               removes at least the pivot (expected O(log n) rounds); the
 *               result is R(final active set), no tolerance.
 *
 * Memory: each sample is read from device memory once. The row sits in
 * registers (one thread's for rows up to 32 samples, 16 weighted; a group of
 * 8/16/32 lanes for rows up to 256; a block of 256 threads for rows up to
 * 4096) or in shared memory (a block of 512 threads) while the solver
 * iterates; only rows beyond shared memory are re-read from global memory (L2)
 * on every pass. All lanes of a group compute identical reductions (xor
 * butterflies, fixed block order), so control flow is uniform. A thread that
 * holds its whole row sums each solver pass over the active samples alone and
 * takes the rest from the row's totals: no reduction, half the work.
 *
 * The per-row code is in threshold_body.cuh (host and device); this file has
 * the kernels and their launchers.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include "common.cuh"
#include "threshold.cuh"
#include "threshold_body.cuh"
#include "srs_math.h"

#define BLOCK_REG 256    // threads of the register block tiers
#define BLOCK_BIG 512    // threads of the shared-memory and global tiers
#define THREAD_BLOCK 128 // threads of the thread-per-row kernels (a row each)
#define BLOCK_REG_MIN 2  // blocks per SM the register block tiers are compiled for

// ----------------------------------------------------------------------------
// kernels

// A thread per row, the whole row (up to K samples) in its registers; W: weighted.
template <class T, int K, bool W>
static __global__ void __launch_bounds__(THREAD_BLOCK) thr_thread_kernel(srs_thr_args_t a, const int64_t *rows,
                                                                          int64_t n_rows) {
    int64_t w = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (w >= n_rows) return;
    int64_t r = rows ? rows[w] : w, start, n;
    row_range(a, r, &start, &n);
    SeqGroup g;
    ThreadRow<T, K, W> row;
    row.n = (int)n;
    row.rank = 0;
    process_row<T>(row, g, a, r, start, n);
}

// A group of WG lanes per row, K samples per lane in registers.
template <class T, int WG, int K>
static __global__ void __launch_bounds__(256) thr_group_kernel(srs_thr_args_t a, const int64_t *rows, int64_t n_rows) {
    int64_t w = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) / WG;
    if (w >= n_rows) return;  // the whole group leaves together
    int64_t r = rows ? rows[w] : w, start, n;
    row_range(a, r, &start, &n);
    LaneGroup<WG> g;
    RegRow<T, K, WG> row;
    row.n = (int)n;
    row.rank = g.rank;
    process_row<T>(row, g, a, r, start, n);
}

// A block of BLOCK_REG threads per row, K samples per thread in registers.
template <class T, int K>
static __global__ void __launch_bounds__(BLOCK_REG, BLOCK_REG_MIN) thr_block_kernel(srs_thr_args_t a, const int64_t *rows) {
    __shared__ double red[BLOCK_REG / 32 * 8];
    __shared__ unsigned long long kred[BLOCK_REG / 32];
    int64_t r = rows ? rows[blockIdx.x] : (int64_t)blockIdx.x, start, n;
    row_range(a, r, &start, &n);
    BlockGroup<BLOCK_REG> g(red, kred);
    RegRow<T, K, BLOCK_REG> row;
    row.n = (int)n;
    row.rank = g.rank;
    process_row<T>(row, g, a, r, start, n);
}

// A block of BLOCK_BIG threads per row, the row in dynamic shared memory:
// (n,) doubles of d, then (n,) doubles of p when weighted.
template <class T>
static __global__ void __launch_bounds__(BLOCK_BIG) thr_smem_kernel(srs_thr_args_t a, const int64_t *rows) {
    extern __shared__ double smem[];
    __shared__ double red[BLOCK_BIG / 32 * 8];
    __shared__ unsigned long long kred[BLOCK_BIG / 32];
    int64_t r = rows ? rows[blockIdx.x] : (int64_t)blockIdx.x, start, n;
    row_range(a, r, &start, &n);
    BlockGroup<BLOCK_BIG> g(red, kred);
    SmemRow<T, BLOCK_BIG> row;
    row.n = (int)n;
    row.rank = g.rank;
    row.sd = smem;
    row.sp = a.logw ? smem + n : nullptr;
    process_row<T>(row, g, a, r, start, n);
}

// A block of BLOCK_BIG threads per row, the row re-read from global memory.
template <class T>
static __global__ void __launch_bounds__(BLOCK_BIG) thr_global_kernel(srs_thr_args_t a, const int64_t *rows) {
    __shared__ double red[BLOCK_BIG / 32 * 8];
    __shared__ unsigned long long kred[BLOCK_BIG / 32];
    int64_t r = rows ? rows[blockIdx.x] : (int64_t)blockIdx.x, start, n;
    row_range(a, r, &start, &n);
    BlockGroup<BLOCK_BIG> g(red, kred);
    GlobalRow<T, BLOCK_BIG> row;
    row.n = n;
    row.rank = g.rank;
    process_row<T>(row, g, a, r, start, n);
}

// ----------------------------------------------------------------------------
// launchers

static size_t g_smem_optin = 48 * 1024;  // bytes of dynamic shared memory a block may use

// Shared memory the smem tier leaves for its row (the static reduction arrays aside).
static int64_t smem_row_bytes(void) {
    size_t fixed = BLOCK_BIG / 32 * (8 * sizeof(double) + sizeof(unsigned long long));
    return g_smem_optin > fixed ? (int64_t)(g_smem_optin - fixed) : 0;
}

extern "C" int64_t srs_thr_smem_max_len(int weighted) {
    return smem_row_bytes() / (int64_t)(weighted ? 2 * sizeof(double) : sizeof(double));
}

extern "C" int srs_thr_init(void) {
    int dev, optin = 0;
    if (cudaCheck(cudaGetDevice(&dev))) return 1;
    if (cudaCheck(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev))) return 1;
    g_smem_optin = (size_t)optin;
    int bytes = (int)smem_row_bytes();
    if (cudaCheck(cudaFuncSetAttribute(thr_smem_kernel<float>, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes)))
        return 1;
    if (cudaCheck(cudaFuncSetAttribute(thr_smem_kernel<double>, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes)))
        return 1;
    return 0;
}

extern "C" srs_thr_tier_t srs_thr_tier(int64_t len, int weighted) {
    static const int64_t cap[] = {8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096};
    for (int t = 0; t < (int)(sizeof cap / sizeof cap[0]); t++)
        if (len <= cap[t]) return (srs_thr_tier_t)t;
    return len <= srs_thr_smem_max_len(weighted) ? SRS_TIER_SMEM : SRS_TIER_GLOBAL;
}

template <class T, int WG, int K>
static void launch_group(const srs_thr_args_t &a, const int64_t *rows, int64_t n_rows, cudaStream_t s) {
    const int threads = 256, per_block = threads / WG;
    int64_t blocks = SRS_CEIL_DIV(n_rows, (int64_t)per_block);
    thr_group_kernel<T, WG, K><<<(unsigned)blocks, threads, 0, s>>>(a, rows, n_rows);
}

template <class T, int K, bool W>
static void launch_thread(const srs_thr_args_t &a, const int64_t *rows, int64_t n_rows, cudaStream_t s) {
    int64_t blocks = SRS_CEIL_DIV(n_rows, (int64_t)THREAD_BLOCK);
    thr_thread_kernel<T, K, W><<<(unsigned)blocks, THREAD_BLOCK, 0, s>>>(a, rows, n_rows);
}

static int g_short_rows = 1;  // 1: rows up to 32 samples (16 weighted) a thread each

extern "C" void srs_thr_set_short_rows(int thread_per_row) { g_short_rows = thread_per_row ? 1 : 0; }

// The thread-per-row kernel of a short-row tier: 1 when launched, 0 when the
// tier keeps its lane groups (the old path, or rows that would not fit one
// thread's registers: -Xptxas -v for sm_90 gives 188 registers to 32 unweighted
// samples, and spills at 64 unweighted or 32 weighted).
template <class T>
static int launch_short(const srs_thr_args_t &a, srs_thr_tier_t tier, const int64_t *rows, int64_t n_rows,
                        cudaStream_t s) {
    if (!g_short_rows) return 0;
    const bool w = a.logw != nullptr;
    switch (tier) {
    case SRS_TIER_G8:
        w ? launch_thread<T, 8, true>(a, rows, n_rows, s) : launch_thread<T, 8, false>(a, rows, n_rows, s);
        return 1;
    case SRS_TIER_G16:
        w ? launch_thread<T, 16, true>(a, rows, n_rows, s) : launch_thread<T, 16, false>(a, rows, n_rows, s);
        return 1;
    case SRS_TIER_W1:
        if (w) return 0;
        launch_thread<T, 32, false>(a, rows, n_rows, s);
        return 1;
    default: return 0;
    }
}

template <class T>
static int launch_typed(const srs_thr_args_t &a, srs_thr_tier_t tier, const int64_t *rows, int64_t n_rows,
                        int64_t max_len, cudaStream_t s) {
    unsigned blocks = (unsigned)n_rows;  // block tiers: one block per row
    size_t smem = 0;
    if (launch_short<T>(a, tier, rows, n_rows, s)) return cudaCheckLaunch();
    switch (tier) {
    case SRS_TIER_G8: launch_group<T, 8, 1>(a, rows, n_rows, s); break;
    case SRS_TIER_G16: launch_group<T, 16, 1>(a, rows, n_rows, s); break;
    case SRS_TIER_W1: launch_group<T, 32, 1>(a, rows, n_rows, s); break;
    case SRS_TIER_W2: launch_group<T, 32, 2>(a, rows, n_rows, s); break;
    case SRS_TIER_W4: launch_group<T, 32, 4>(a, rows, n_rows, s); break;
    case SRS_TIER_W8: launch_group<T, 32, 8>(a, rows, n_rows, s); break;
    case SRS_TIER_B2: thr_block_kernel<T, 2><<<blocks, BLOCK_REG, 0, s>>>(a, rows); break;
    case SRS_TIER_B4: thr_block_kernel<T, 4><<<blocks, BLOCK_REG, 0, s>>>(a, rows); break;
    case SRS_TIER_B8: thr_block_kernel<T, 8><<<blocks, BLOCK_REG, 0, s>>>(a, rows); break;
    case SRS_TIER_B16: thr_block_kernel<T, 16><<<blocks, BLOCK_REG, 0, s>>>(a, rows); break;
    case SRS_TIER_SMEM:
        smem = (size_t)max_len * (a.logw ? 2 : 1) * sizeof(double);
        if ((int64_t)smem > smem_row_bytes())
            return srs_cuda_fail_msg(__FILE__, __LINE__, "row too long for the shared-memory tier");
        thr_smem_kernel<T><<<blocks, BLOCK_BIG, smem, s>>>(a, rows);
        break;
    case SRS_TIER_GLOBAL: thr_global_kernel<T><<<blocks, BLOCK_BIG, 0, s>>>(a, rows); break;
    default: return srs_cuda_fail_msg(__FILE__, __LINE__, "unknown threshold tier");
    }
    return cudaCheckLaunch();
}

extern "C" int srs_thr_launch(const srs_thr_args_t *a, srs_thr_tier_t tier, const int64_t *rows,
                              int64_t n_rows, int64_t max_len, cudaStream_t s) {
    if (n_rows <= 0) return 0;
    if (n_rows > 0x7fffffffLL)
        return srs_cuda_fail_msg(__FILE__, __LINE__, "too many rows in one threshold launch (max 2^31-1)");
    SrsNvtx range("threshold kernel");
    return a->reward_f32 ? launch_typed<float>(*a, tier, rows, n_rows, max_len, s)
                         : launch_typed<double>(*a, tier, rows, n_rows, max_len, s);
}
