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
 * registers, 32 samples a thread (16 weighted; 64 for float rows over 1024),
 * for rows up to 4096: one
 * thread's for rows up to 32 (16 weighted), then 2 to 32 lanes of a warp, then
 * a block of 64 to 256 threads; or in shared memory (a block of 512 threads)
 * while the solver iterates; only rows beyond shared memory are re-read from
 * global memory (L2) on every pass. All lanes of a group compute identical
 * reductions (xor butterflies, fixed block order), so control flow is
 * uniform. The register tiers keep the row's totals: a solver pass sums over
 * the active samples alone, takes the rest from the totals and reduces two
 * sums (three weighted) across the group, so that the pass costs a few
 * instructions a sample (results/gpu-model.md). The earlier register kernels
 * (a lane or a 256-thread block per 1 to 16 samples, five values reduced per
 * pass) remain, for comparison, behind srs_thr_set_short_rows(0).
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

// WG lanes per row (2 to 32), K samples per lane in registers, with the row's
// totals: a pass reduces two or three sums over log2(WG) butterfly steps.
template <class T, int WG, int K, bool W>
static __global__ void __launch_bounds__(THREAD_BLOCK) thr_lanes_kernel(srs_thr_args_t a, const int64_t *rows,
                                                                         int64_t n_rows) {
    int64_t w = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) / WG;
    if (w >= n_rows) return;  // the whole group leaves together
    int64_t r = rows ? rows[w] : w, start, n;
    row_range(a, r, &start, &n);
    LaneGroup<WG> g;
    TotRow<T, K, WG, W> row;
    row.n = (int)n;
    row.rank = g.rank;
    process_row<T>(row, g, a, r, start, n);
}

// A block of NT threads per row (64 to 256), K samples per thread in
// registers, with the row's totals.
template <class T, int NT, int K, bool W>
static __global__ void __launch_bounds__(NT) thr_tblock_kernel(srs_thr_args_t a, const int64_t *rows) {
    __shared__ double red[NT / 32 * 8];
    __shared__ unsigned long long kred[NT / 32];
    int64_t r = rows ? rows[blockIdx.x] : (int64_t)blockIdx.x, start, n;
    row_range(a, r, &start, &n);
    BlockGroup<NT> g(red, kred);
    TotRow<T, K, NT, W> row;
    row.n = (int)n;
    row.rank = g.rank;
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

template <class T, int WG, int K, bool W>
static void launch_lanes(const srs_thr_args_t &a, const int64_t *rows, int64_t n_rows, cudaStream_t s) {
    int64_t blocks = SRS_CEIL_DIV(n_rows, (int64_t)(THREAD_BLOCK / WG));
    thr_lanes_kernel<T, WG, K, W><<<(unsigned)blocks, THREAD_BLOCK, 0, s>>>(a, rows, n_rows);
}

static int g_short_rows = 1;  // 1: the register tiers keep the row's totals (TotRow)

extern "C" void srs_thr_set_short_rows(int thread_per_row) { g_short_rows = thread_per_row ? 1 : 0; }

// The kernel of a register tier whose rows keep their totals (TotRow):
// unweighted rows hold 32 samples a thread (a thread per row up to 32, then
// 2 to 32 lanes, then blocks of 64 and 128 threads; float rows of 2048 and
// 4096 64 a thread, on a warp and a block of 64); weighted rows, which keep a
// weight per sample as well, 16 (a thread per row up to 16). -Xptxas -v for
// sm_90: no spills but 4 bytes in one kernel (results/gpu-model.md). Returns 1 when launched, 0
// when the earlier kernels are selected (srs_thr_set_short_rows(0)).
template <class T>
static int launch_totals(const srs_thr_args_t &a, srs_thr_tier_t tier, const int64_t *rows, int64_t n_rows,
                         cudaStream_t s) {
    if (!g_short_rows) return 0;
    const unsigned blocks = (unsigned)n_rows;  // block kernels: one block per row
    if (a.logw) {
        switch (tier) {
        case SRS_TIER_G8: launch_thread<T, 8, true>(a, rows, n_rows, s); break;
        case SRS_TIER_G16: launch_thread<T, 16, true>(a, rows, n_rows, s); break;
        case SRS_TIER_W1: launch_lanes<T, 2, 16, true>(a, rows, n_rows, s); break;
        case SRS_TIER_W2: launch_lanes<T, 4, 16, true>(a, rows, n_rows, s); break;
        case SRS_TIER_W4: launch_lanes<T, 8, 16, true>(a, rows, n_rows, s); break;
        case SRS_TIER_W8: launch_lanes<T, 16, 16, true>(a, rows, n_rows, s); break;
        case SRS_TIER_B2: launch_lanes<T, 32, 16, true>(a, rows, n_rows, s); break;
        case SRS_TIER_B4: thr_tblock_kernel<T, 64, 16, true><<<blocks, 64, 0, s>>>(a, rows); break;
        case SRS_TIER_B8: thr_tblock_kernel<T, 128, 16, true><<<blocks, 128, 0, s>>>(a, rows); break;
        case SRS_TIER_B16: thr_tblock_kernel<T, 256, 16, true><<<blocks, 256, 0, s>>>(a, rows); break;
        default: return 0;
        }
        return 1;
    }
    switch (tier) {
    case SRS_TIER_G8: launch_thread<T, 8, false>(a, rows, n_rows, s); break;
    case SRS_TIER_G16: launch_thread<T, 16, false>(a, rows, n_rows, s); break;
    case SRS_TIER_W1: launch_thread<T, 32, false>(a, rows, n_rows, s); break;
    case SRS_TIER_W2: launch_lanes<T, 2, 32, false>(a, rows, n_rows, s); break;
    case SRS_TIER_W4: launch_lanes<T, 4, 32, false>(a, rows, n_rows, s); break;
    case SRS_TIER_W8: launch_lanes<T, 8, 32, false>(a, rows, n_rows, s); break;
    case SRS_TIER_B2: launch_lanes<T, 16, 32, false>(a, rows, n_rows, s); break;
    case SRS_TIER_B4: launch_lanes<T, 32, 32, false>(a, rows, n_rows, s); break;
    case SRS_TIER_B8:
        // float: 64 samples a thread halve the per-thread costs (reductions,
        // update) that keep 32 short of the bandwidth, at 255 registers (8
        // warps per SM); double rows have twice the instruction budget
        if constexpr (sizeof(T) == 4) launch_lanes<T, 32, 64, false>(a, rows, n_rows, s);
        else thr_tblock_kernel<T, 64, 32, false><<<blocks, 64, 0, s>>>(a, rows);
        break;
    case SRS_TIER_B16:
        if constexpr (sizeof(T) == 4) thr_tblock_kernel<T, 64, 64, false><<<blocks, 64, 0, s>>>(a, rows);
        else thr_tblock_kernel<T, 128, 32, false><<<blocks, 128, 0, s>>>(a, rows);
        break;
    default: return 0;
    }
    return 1;
}

template <class T>
static int launch_typed(const srs_thr_args_t &a, srs_thr_tier_t tier, const int64_t *rows, int64_t n_rows,
                        int64_t max_len, cudaStream_t s) {
    unsigned blocks = (unsigned)n_rows;  // block tiers: one block per row
    size_t smem = 0;
    if (launch_totals<T>(a, tier, rows, n_rows, s)) return cudaCheckLaunch();
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
