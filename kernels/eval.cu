/*
 * eval.cu — the evaluation's per-prompt metrics on the GPU: every reward
 * design x beta of a row in one pass over it (host/eval.c is the CPU
 * reference and the definition; host/cuda/cuda_eval.c runs the pipeline).
 *
 * What a row computes, and how, is eval_body.cuh (the per-row code, shared
 * with the CPU tests' emulation); this file has the kernels, one per tier of
 * row length, and their launchers:
 *   warp tier    one warp per row (rows up to 256 samples), the row's scratch
 *                in dynamic shared memory, up to 8 rows a block
 *   block tier   one 256-thread block per row, the scratch in shared memory
 *   global tier  the same block, the scratch in global memory (any length)
 * and the Poisson bootstrap weights, one thread per (row, four replicates).
 */
#include <math.h>
#include <stdint.h>
#include "common.cuh"
#include "eval.cuh"
#include "eval_body.cuh"

#define EV_BLOCK 256                    // threads of the block and global tiers
#define EV_RED 10                       // values one block reduction holds
#define EV_WARPS_MAX 8                  // warps (rows) per block of the warp tiers
#define EV_WARP_SMEM_TARGET (64 * 1024) // shared memory per block the warp tiers aim for

// ----------------------------------------------------------------------------
// kernels

// One warp per row; the block's warps each own region_bytes of dynamic shared memory.
static __global__ void __launch_bounds__(EV_WARPS_MAX * 32)
    ev_warp_kernel(srs_ev_args_t a, const int64_t *rows, int64_t n_rows, int64_t region_bytes) {
    extern __shared__ double ev_smem[];
    const int warp = threadIdx.x >> 5;
    const int64_t w = (int64_t)blockIdx.x * (blockDim.x >> 5) + warp;
    if (w >= n_rows) return;  // the whole warp leaves together
    int64_t r = rows ? rows[w] : w, start, n;
    ev_row_range(a, r, &start, &n);
    LaneGroup<32> g;
    EvRegion R = ev_region((char *)ev_smem + (int64_t)warp * region_bytes, (int)n, a);
    ev_row(g, a, R, r, start, (int)n);
}

// One block per row, the row's scratch in dynamic shared memory.
static __global__ void __launch_bounds__(EV_BLOCK) ev_block_kernel(srs_ev_args_t a, const int64_t *rows) {
    extern __shared__ double ev_smem[];
    __shared__ double red[EV_BLOCK / 32 * EV_RED];
    __shared__ unsigned long long kred[EV_BLOCK / 32];
    int64_t r = rows ? rows[blockIdx.x] : (int64_t)blockIdx.x, start, n;
    ev_row_range(a, r, &start, &n);
    BlockGroup<EV_BLOCK, EV_RED> g(red, kred);
    EvRegion R = ev_region(ev_smem, (int)n, a);
    ev_row(g, a, R, r, start, (int)n);
}

// One block per row, the row's scratch in global memory (any length).
static __global__ void __launch_bounds__(EV_BLOCK) ev_global_kernel(srs_ev_args_t a, const int64_t *rows) {
    __shared__ double red[EV_BLOCK / 32 * EV_RED];
    __shared__ unsigned long long kred[EV_BLOCK / 32];
    int64_t r = rows ? rows[blockIdx.x] : (int64_t)blockIdx.x, start, n;
    ev_row_range(a, r, &start, &n);
    const int64_t at = a.scratch_at ? a.scratch_at[blockIdx.x] : (int64_t)blockIdx.x * a.row_len;
    BlockGroup<EV_BLOCK, EV_RED> g(red, kred);
    EvRegion R = ev_region((char *)a.scratch + at * a.bps, (int)n, a);
    ev_row(g, a, R, r, start, (int)n);
}

// Poisson weights: one thread per (row, group of four replicates).
typedef struct { uint64_t t[SRS_POIS_MAX]; } ev_table_t;

static __global__ void ev_weights_kernel(double *W, int64_t n_rows, int R, uint64_t seed, int64_t first_global,
                                         ev_table_t T) {
    const int64_t nq = (R + 3) / 4, total = n_rows * nq;
    for (int64_t x = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; x < total;
         x += (int64_t)gridDim.x * blockDim.x)
        ev_weights_at(W, x, nq, R, seed, first_global, T.t);
}

// ----------------------------------------------------------------------------
// launchers

static size_t g_ev_optin = 48 * 1024;   // dynamic shared memory a block may use (device limit)
static size_t g_ev_block_static = 0;    // the block kernel's static shared memory

static int64_t ev_block_smem_max(void) {
    return g_ev_optin > g_ev_block_static ? (int64_t)(g_ev_optin - g_ev_block_static) : 0;
}

extern "C" int srs_ev_init(void) {
    int dev, optin = 0;
    if (cudaCheck(cudaGetDevice(&dev))) return 1;
    if (cudaCheck(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev))) return 1;
    struct cudaFuncAttributes fa;
    if (cudaCheck(cudaFuncGetAttributes(&fa, ev_block_kernel))) return 1;
    g_ev_optin = (size_t)optin;
    g_ev_block_static = fa.sharedSizeBytes;
    if (cudaCheck(cudaFuncSetAttribute(ev_warp_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, optin)) ||
        cudaCheck(cudaFuncSetAttribute(ev_block_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                       (int)ev_block_smem_max())))
        return 1;
    return 0;
}

extern "C" srs_ev_tier_t srs_ev_tier(int64_t len, int64_t bps) {
    static const int64_t cap[] = {32, 64, 128, 256};
    for (int t = 0; t < 4; t++)
        if (len <= cap[t] && cap[t] * bps <= (int64_t)g_ev_optin) return (srs_ev_tier_t)t;
    return len * bps <= ev_block_smem_max() ? SRS_EV_TIER_BLOCK : SRS_EV_TIER_GLOBAL;
}

extern "C" int srs_ev_launch(const srs_ev_args_t *a, srs_ev_tier_t tier, const int64_t *rows, int64_t n_rows,
                             int64_t max_len, cudaStream_t s) {
    if (n_rows <= 0) return 0;
    if (n_rows > 0x7fffffffLL)
        return srs_cuda_fail_msg(__FILE__, __LINE__, "too many rows in one evaluation launch (max 2^31-1)");
    if (max_len > SRS_EV_MAX_LEN)
        return srs_cuda_fail_msg(__FILE__, __LINE__, "row too long for the CUDA evaluation");
    SrsNvtx range("eval kernel");
    if (max_len < 1) max_len = 1;
    switch (tier) {
    case SRS_EV_TIER_W32:
    case SRS_EV_TIER_W64:
    case SRS_EV_TIER_W128:
    case SRS_EV_TIER_W256: {
        const int64_t region = max_len * a->bps;
        int64_t wpb = EV_WARP_SMEM_TARGET / region;
        if (wpb > EV_WARPS_MAX) wpb = EV_WARPS_MAX;
        if (wpb < 1) wpb = 1;
        const size_t smem = (size_t)(wpb * region);
        if (smem > g_ev_optin)
            return srs_cuda_fail_msg(__FILE__, __LINE__, "row too long for the warp tier of the evaluation");
        const int64_t blocks = SRS_CEIL_DIV(n_rows, wpb);
        ev_warp_kernel<<<(unsigned)blocks, (unsigned)(32 * wpb), smem, s>>>(*a, rows, n_rows, region);
        break;
    }
    case SRS_EV_TIER_BLOCK: {
        const int64_t smem = max_len * a->bps;
        if (smem > ev_block_smem_max())
            return srs_cuda_fail_msg(__FILE__, __LINE__, "row too long for the block tier of the evaluation");
        ev_block_kernel<<<(unsigned)n_rows, EV_BLOCK, (size_t)smem, s>>>(*a, rows);
        break;
    }
    case SRS_EV_TIER_GLOBAL:
        if (!a->scratch) return srs_cuda_fail_msg(__FILE__, __LINE__, "the global tier needs scratch memory");
        ev_global_kernel<<<(unsigned)n_rows, EV_BLOCK, 0, s>>>(*a, rows);
        break;
    default: return srs_cuda_fail_msg(__FILE__, __LINE__, "unknown evaluation tier");
    }
    return cudaCheckLaunch();
}

extern "C" int srs_ev_weights(double *W, int64_t n_rows, int R, uint64_t seed, int64_t first_global,
                              const uint64_t T[SRS_POIS_MAX], cudaStream_t s) {
    if (n_rows <= 0) return 0;
    SrsNvtx range("eval weights");
    ev_table_t t;
    for (int k = 0; k < SRS_POIS_MAX; k++) t.t[k] = T[k];
    const int64_t total = n_rows * ((R + 3) / 4);
    int64_t blocks = SRS_CEIL_DIV(total, (int64_t)256);
    if (blocks > 65535 * 16) blocks = 65535 * 16;  // grid-stride beyond
    ev_weights_kernel<<<(unsigned)blocks, 256, 0, s>>>(W, n_rows, R, seed, first_global, t);
    return cudaCheckLaunch();
}
