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
 * registers (a group of 8/16/32 lanes for rows up to 256 samples, a block of
 * 256 threads for rows up to 4096) or in shared memory (a block of 512 threads)
 * while the solver iterates; only rows beyond shared memory are re-read from
 * global memory (L2) on every pass. All lanes of a group compute identical
 * reductions (xor butterflies, fixed block order), so control flow is uniform.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include "common.cuh"
#include "threshold.cuh"
#include "threshold_dev.cuh"
#include "srs_math.h"

#define BLOCK_REG 256    // threads of the register block tiers
#define BLOCK_BIG 512    // threads of the shared-memory and global tiers

enum { BAD_EMPTY = 1, BAD_REWARD = 2, BAD_LOGW = 3 };

// ----------------------------------------------------------------------------
// loads

template <class T>
__device__ __forceinline__ double ld_as_double(const T *p, int64_t j) { return (double)__ldg(p + j); }

__device__ __forceinline__ double ld_any(const void *p, int f32, int64_t j) {
    return f32 ? (double)__ldg((const float *)p + j) : __ldg((const double *)p + j);
}

// ----------------------------------------------------------------------------
// rows: where the samples live while the solver iterates. Each exposes
//   read(f)      reads the row once from global memory, keeps d = u - ref
//                (and raw logw), calls f(x, d, lw) per owned sample
//   reweigh(f)   p = exp(lw - lmax) in place, calls f(d, p) per owned sample
//   each(f)      f(j, d, p) per owned sample, j the index within the row

// K samples per lane in registers: sample j = rank + k * G.
template <class T, int K, int G>
struct RegRow {
    double d[K], p[K];
    int n, rank;
    template <class F>
    __device__ __forceinline__ void read(const T *u, const void *lw, int lw32, double ref, F f) {
#pragma unroll
        for (int k = 0; k < K; k++) {
            int j = rank + k * G;
            d[k] = 0;
            p[k] = 1;
            if (j < n) {
                double x = ld_as_double(u, j);
                double l = lw ? ld_any(lw, lw32, j) : 0.0;
                d[k] = x - ref;
                p[k] = lw ? l : 1.0;
                f(x, d[k], l);
            }
        }
    }
    template <class F>
    __device__ __forceinline__ void reweigh(double lmax, F f) {
#pragma unroll
        for (int k = 0; k < K; k++)
            if (rank + k * G < n) {
                p[k] = exp(p[k] - lmax);
                f(d[k], p[k]);
            }
    }
    template <class F>
    __device__ __forceinline__ void each(F f) const {
#pragma unroll
        for (int k = 0; k < K; k++) {
            int j = rank + k * G;
            if (j < n) f(j, d[k], p[k]);
        }
    }
};

// The row in shared memory: sd (n,) shifted rewards, sp (n,) weights (weighted only).
template <class T, int G>
struct SmemRow {
    double *sd, *sp;
    int n, rank;
    template <class F>
    __device__ __forceinline__ void read(const T *u, const void *lw, int lw32, double ref, F f) {
        for (int j = rank; j < n; j += G) {
            double x = ld_as_double(u, j);
            double l = lw ? ld_any(lw, lw32, j) : 0.0;
            sd[j] = x - ref;
            if (lw) sp[j] = l;
            f(x, x - ref, l);
        }
    }
    template <class F>
    __device__ __forceinline__ void reweigh(double lmax, F f) {
        for (int j = rank; j < n; j += G) {
            sp[j] = exp(sp[j] - lmax);
            f(sd[j], sp[j]);
        }
    }
    template <class F>
    __device__ __forceinline__ void each(F f) const {
        for (int j = rank; j < n; j += G) f(j, sd[j], sp ? sp[j] : 1.0);
    }
};

// The row stays in global memory and is re-read (from L2 when it fits) on
// every pass; weights are recomputed from logw each time.
template <class T, int G>
struct GlobalRow {
    const T *u;
    const void *lw;
    int lw32;
    double ref, lmax;
    int64_t n;
    int rank;
    template <class F>
    __device__ __forceinline__ void read(const T *u_, const void *lw_, int lw32_, double ref_, F f) {
        u = u_; lw = lw_; lw32 = lw32_; ref = ref_; lmax = 0;
        for (int64_t j = rank; j < n; j += G) {
            double x = ld_as_double(u, j);
            f(x, x - ref, lw ? ld_any(lw, lw32, j) : 0.0);
        }
    }
    template <class F>
    __device__ __forceinline__ void reweigh(double lmax_, F f) {
        lmax = lmax_;
        for (int64_t j = rank; j < n; j += G)
            f(ld_as_double(u, j) - ref, exp(ld_any(lw, lw32, j) - lmax));
    }
    template <class F>
    __device__ __forceinline__ void each(F f) const {
        for (int64_t j = rank; j < n; j += G)
            f(j, ld_as_double(u, j) - ref, lw ? exp(ld_any(lw, lw32, j) - lmax) : 1.0);
    }
};

__device__ __forceinline__ double unshift(const RowInfo &r, double m) {
    if (m >= r.dmax) return r.umax;
    if (m <= r.dmin) return r.umin;
    return fmin(fmax(r.ref + m, r.umin), r.umax);
}

__device__ __forceinline__ void mark_bad(const srs_thr_args_t &a, int64_t row, int kind) {
    atomicMin(a.bad, ((unsigned long long)row << 2) | (unsigned long long)kind);
}

// The whole job of one row: load and validate, solve, write m*, B_eff and
// (optionally) the shaped rewards.
template <class T, class Row, class Grp>
__device__ void process_row(Row &row, const Grp &g, const srs_thr_args_t &a, int64_t r, int64_t start,
                            int64_t n) {
    if (n <= 0) {
        if (g.rank == 0) mark_bad(a, r, BAD_EMPTY);
        return;
    }
    const T *u = (const T *)a.reward + start;
    const void *lw = a.logw ? (const void *)((const char *)a.logw + (a.logw_f32 ? 4 : 8) * start) : nullptr;
    RowInfo ri;
    ri.ref = ld_as_double(u, 0);
    // pass 1: the row from global memory, once
    double s[3] = {0, 0, 0};                           // sum d, bad reward, bad logw
    double mn[5] = {0, 0, ri.ref, -ri.ref, INFINITY};  // min d, -max d, min u, -max u, -max logw
    row.read(u, lw, a.logw_f32, ri.ref, [&](double x, double d, double l) {
        mn[0] = fmin(mn[0], d);
        mn[1] = fmin(mn[1], -d);
        mn[2] = fmin(mn[2], x);
        mn[3] = fmin(mn[3], -x);
        s[0] += d;
        s[1] += x - x;  // 0 for finite x, NaN for NaN or inf
        if (lw) {
            s[2] += l - l;
            mn[4] = fmin(mn[4], -l);
        }
    });
    g.reduce(s, mn);
    ri.dmin = mn[0]; ri.dmax = -mn[1]; ri.umin = mn[2]; ri.umax = -mn[3];
    if (!(s[1] == 0) || !isfinite(ri.ref) || srs_row_too_wide(ri.dmin, ri.dmax, (double)n)) {
        if (g.rank == 0) mark_bad(a, r, BAD_REWARD);
        return;
    }
    if (lw) {
        if (!(s[2] == 0)) {
            if (g.rank == 0) mark_bad(a, r, BAD_LOGW);
            return;
        }
        double w[2] = {0, 0};
        row.reweigh(-mn[4], [&](double d, double p) { w[0] += p; w[1] += p * d; });
        g.sum(w);
        ri.wsum = w[0];
        ri.mean = w[1] / w[0];
    } else {
        ri.wsum = (double)n;
        ri.mean = s[0] / (double)n;
    }

    srs_preset_vals_t pv = srs_preset_eval((srs_preset_t)a.preset, a.B, a.beta, a.cap, ri.dmin, ri.dmax);
    double m = srs_dev_solve(row, g, ri, pv.eps, a.solver, a.tol, a.max_iter, n);
    if (g.rank == 0) {
        if (a.m_star) a.m_star[r] = unshift(ri, m);
        if (a.b_eff) a.b_eff[r] = pv.b_eff;
    }
    if (!a.shaped) return;

    // fused shaping, in the shifted coordinates the CPU backend uses
    srs_row_stats_t st = {ri.dmin, ri.dmax, ri.mean, 0.0, m, pv.b_eff};
    if (a.design == SRS_DESIGN_MEANSTD) {
        double v[1] = {0};
        double mean = ri.mean;
        row.each([&](int64_t, double d, double p) { v[0] += p * (d - mean) * (d - mean); });
        g.sum(v);
        st.std = sqrt(v[0] / ri.wsum);
    }
    const srs_design_t design = (srs_design_t)a.design;
    const double ref = ri.ref, B = a.B, alpha = a.alpha, clip = a.clip;
    if (a.shaped_f32) {
        float *out = (float *)a.shaped + start;
        row.each([&](int64_t j, double d, double) {
            out[j] = (float)(design == SRS_DESIGN_RAW ? ref + d : srs_shape_value(design, d, &st, B, alpha, clip));
        });
    } else {
        double *out = (double *)a.shaped + start;
        row.each([&](int64_t j, double d, double) {
            out[j] = design == SRS_DESIGN_RAW ? ref + d : srs_shape_value(design, d, &st, B, alpha, clip);
        });
    }
}

__device__ __forceinline__ void row_range(const srs_thr_args_t &a, int64_t r, int64_t *start, int64_t *n) {
    if (a.offsets) { *start = a.offsets[r]; *n = a.offsets[r + 1] - *start; }
    else { *start = r * a.row_len; *n = a.row_len; }
}

// ----------------------------------------------------------------------------
// kernels

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
static __global__ void __launch_bounds__(BLOCK_REG) thr_block_kernel(srs_thr_args_t a, const int64_t *rows) {
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

template <class T>
static int launch_typed(const srs_thr_args_t &a, srs_thr_tier_t tier, const int64_t *rows, int64_t n_rows,
                        int64_t max_len, cudaStream_t s) {
    unsigned blocks = (unsigned)n_rows;  // block tiers: one block per row
    size_t smem = 0;
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
