/*
 * threshold_dev.cuh — the device side of the threshold solvers, shared by the
 * kernels that solve m* on a row: threshold.cu (thresholds and shaping) and
 * eval.cu (per-beta thresholds inside the evaluation).
 *
 * A row is any type with
 *   each(f)   f(j, d, p) for every sample the calling lane owns: j the index
 *             within the row, d = u - u_0 (shifted), p the unnormalised weight
 * and a group (LaneGroup, BlockGroup) is the set of threads that share it.
 * Every thread of the group calls the solvers; reductions leave identical bits
 * in every thread, so the solvers' control flow is uniform across the group.
 * The solvers are __host__ __device__: with a one-thread group they also run
 * on the CPU (tests of eval.cu's algorithm without a GPU).
 * CUDA C++ only (the launchers' headers are the C-valid ones).
 */
#ifndef SRS_KERNELS_THRESHOLD_DEV_CUH
#define SRS_KERNELS_THRESHOLD_DEV_CUH

#include <float.h>
#include <math.h>
#include <stdint.h>
#include "common.cuh"
#include "srs_math.h"

#define BISECT_MAX_ITER 2000
#define EXACT_WARM_PASSES 4

// The solvers compile for the host as well, so that eval.cu can run its
// per-row algorithm on the CPU with a one-thread group (srs_ev_emulate); the
// groups below are device-only. The device code is the same either way.
#define SRS_DEV_HD __host__ __device__

// ----------------------------------------------------------------------------
// groups: the lanes that share one row, and their reductions

// WG consecutive lanes of a warp (WG = 8, 16, 32). Reductions are xor
// butterflies restricted to the group's lanes: every lane ends with the same
// bits, so the solver's branches agree across the group.
template <int WG>
struct LaneGroup {
    static constexpr int size = WG;
    int rank;
    unsigned mask;
    __device__ LaneGroup() {
        int lane = threadIdx.x & 31;
        rank = lane & (WG - 1);
        mask = WG == 32 ? 0xffffffffu : (((1u << WG) - 1u) << (lane & ~(WG - 1)));
    }
    // s[0..NS) summed, mn[0..NM) minimised over the group, in place.
    template <int NS, int NM>
    __device__ __forceinline__ void reduce_impl(double *s, double *mn) const {
#pragma unroll
        for (int o = WG / 2; o > 0; o >>= 1) {
#pragma unroll
            for (int i = 0; i < NS; i++) s[i] += __shfl_xor_sync(mask, s[i], o);
#pragma unroll
            for (int i = 0; i < NM; i++) mn[i] = fmin(mn[i], __shfl_xor_sync(mask, mn[i], o));
        }
    }
    template <int NS, int NM>
    __device__ __forceinline__ void reduce(double (&s)[NS], double (&mn)[NM]) const { reduce_impl<NS, NM>(s, mn); }
    template <int NS>
    __device__ __forceinline__ void sum(double (&s)[NS]) const { reduce_impl<NS, 0>(s, nullptr); }
    // The (key, val) pair of the smallest key over the group.
    __device__ __forceinline__ void argmin(unsigned long long &key, double &val) const {
#pragma unroll
        for (int o = WG / 2; o > 0; o >>= 1) {
            unsigned long long k2 = __shfl_xor_sync(mask, key, o);
            double v2 = __shfl_xor_sync(mask, val, o);
            if (k2 < key) { key = k2; val = v2; }
        }
    }
    // A barrier for the group with memory ordering among its lanes (shared
    // and global): what a lane wrote before it is visible to the others after.
    __device__ __forceinline__ void sync() const { __syncwarp(mask); }
    // Exclusive prefix sum of x over the ranks (rank 0 gets 0); *total gets
    // the sum over the group, the same bits in every lane.
    __device__ __forceinline__ double exscan(double x, double *total) const {
        double v = x;
#pragma unroll
        for (int o = 1; o < WG; o <<= 1) {
            double y = __shfl_up_sync(mask, v, o, WG);
            if (rank >= o) v += y;
        }
        *total = __shfl_sync(mask, v, WG - 1, WG);
        double ex = __shfl_up_sync(mask, v, 1, WG);
        return rank == 0 ? 0.0 : ex;
    }
};

// A whole block of NT threads: warp butterflies, then every thread combines
// the warps' partials in the same order from shared memory. One reduction
// handles up to CAP values.
template <int NT, int CAP = 8>
struct BlockGroup {
    static constexpr int size = NT;
    static constexpr int NW = NT / 32;
    int rank;
    double *red;                 // (NW * CAP,) shared
    unsigned long long *kred;    // (NW,) shared
    __device__ BlockGroup(double *r, unsigned long long *k) : rank(threadIdx.x), red(r), kred(k) {}
    template <int NS, int NM>
    __device__ __forceinline__ void reduce(double (&s)[NS], double (&mn)[NM]) const { reduce_impl<NS, NM>(s, mn); }
    template <int NS>
    __device__ __forceinline__ void sum(double (&s)[NS]) const { reduce_impl<NS, 0>(s, nullptr); }
    template <int NS, int NM>
    __device__ __forceinline__ void reduce_impl(double *s, double *mn) const {
        static_assert(NS + NM <= CAP, "at most CAP values per block reduction");
        LaneGroup<32> w;
        w.reduce_impl<NS, NM>(s, mn);
        int warp = threadIdx.x >> 5;
        if (w.rank == 0) {
#pragma unroll
            for (int i = 0; i < NS; i++) red[warp * CAP + i] = s[i];
#pragma unroll
            for (int i = 0; i < NM; i++) red[warp * CAP + NS + i] = mn[i];
        }
        __syncthreads();
#pragma unroll
        for (int i = 0; i < NS; i++) {
            double t = 0;
            for (int k = 0; k < NW; k++) t += red[k * CAP + i];
            s[i] = t;
        }
#pragma unroll
        for (int i = 0; i < NM; i++) {
            double t = INFINITY;
            for (int k = 0; k < NW; k++) t = fmin(t, red[k * CAP + NS + i]);
            mn[i] = t;
        }
        __syncthreads();  // red is reused by the next reduction
    }
    __device__ __forceinline__ void argmin(unsigned long long &key, double &val) const {
        LaneGroup<32> w;
        w.argmin(key, val);
        int warp = threadIdx.x >> 5;
        if (w.rank == 0) { kred[warp] = key; red[warp * CAP] = val; }
        __syncthreads();
        key = ~0ull;
        for (int k = 0; k < NW; k++)
            if (kred[k] < key) { key = kred[k]; val = red[k * CAP]; }
        __syncthreads();
    }
    __device__ __forceinline__ void sync() const { __syncthreads(); }
    // Exclusive prefix sum of x over the threads; *total the block's sum
    // (warp scans, then the warps' totals in order from shared memory).
    __device__ __forceinline__ double exscan(double x, double *total) const {
        LaneGroup<32> w;
        double wt;
        double ex = w.exscan(x, &wt);
        int warp = threadIdx.x >> 5;
        if (w.rank == 0) red[warp * CAP] = wt;
        __syncthreads();
        double off = 0, t = 0;
        for (int k = 0; k < NW; k++) {
            double v = red[k * CAP];
            if (k < warp) off += v;
            t += v;
        }
        __syncthreads();  // red is reused by the next reduction
        *total = t;
        return off + ex;
    }
};


// ----------------------------------------------------------------------------
// per-row passes (every lane of the group calls them; results are uniform)

struct RowInfo {
    double ref, dmin, dmax, umin, umax, wsum, mean;
};

// F(m)/gamma over the row.
template <class Row, class Grp>
SRS_DEV_HD __forceinline__ double f_scaled(const Row &row, const Grp &g, double m, double eps) {
    double s[1] = {0};
    row.each([&](int64_t, double d, double p) { s[0] += srs_fterm(d, p, m, eps); });
    g.sum(s);
    return s[0];
}

// Sums over A = {d >= m} (strict: d > m) and its complement, and min over A.
template <bool STRICT, class Row, class Grp>
SRS_DEV_HD __forceinline__ void active_sums(const Row &row, const Grp &g, double m, double &sh,
                                            double &ph, double &sl, double &pl, double &mh) {
    double s[4] = {0, 0, 0, 0}, mn[1] = {INFINITY};
    row.each([&](int64_t, double d, double p) {
        bool a = STRICT ? d > m : d >= m;
        s[0] += a ? p * d : 0.0;
        s[1] += a ? p : 0.0;
        s[2] += a ? 0.0 : p * d;
        s[3] += a ? 0.0 : p;
        mn[0] = fmin(mn[0], a ? d : INFINITY);
    });
    g.reduce(s, mn);
    sh = s[0]; ph = s[1]; sl = s[2]; pl = s[3]; mh = mn[0];
}

template <class Row, class Grp>
SRS_DEV_HD double solve_bisect(const Row &row, const Grp &g, const RowInfo &r, double eps, double tol,
                               int max_iter) {
    double lo = r.dmin, hi = r.dmax;
    double width = tol * fmax(1.0, hi - lo);
    for (int it = 0; it < max_iter && hi - lo > width; it++) {
        double mid = lo + 0.5 * (hi - lo);
        if (mid <= lo || mid >= hi) break;  // floating-point resolution reached
        double f = f_scaled(row, g, mid, eps);
        if (f > 0) lo = mid;
        else if (f < 0) hi = mid;
        // F(mid) = 0: the root when F is positive just below, else the lower
        // end of an interval where F is 0 (weights that underflow; as the CPU)
        else if (f_scaled(row, g, nextafter(mid, lo), eps) > 0) return mid;   // lo < mid
        else hi = mid;
    }
    return lo + 0.5 * (hi - lo);
}

// Dinkelbach from m; returns 1 with the root in *out when the active set
// became stable within max_iter passes, else 0 with the last iterate.
template <class Row, class Grp>
SRS_DEV_HD int dinkelbach(const Row &row, const Grp &g, const RowInfo &r, double eps, double m,
                          int max_iter, double *out) {
    for (int it = 0; it < max_iter; it++) {
        double sh, ph, sl, pl, mh;
        active_sums<false>(row, g, m, sh, ph, sl, pl, mh);
        double next = srs_set_value(sh, ph, sl, pl, eps);
        next = fmin(fmax(next, r.dmin), r.dmax);
        if (mh >= next || next <= m) { *out = next; return 1; }
        m = next;
    }
    *out = m;
    return 0;
}

static SRS_DEV_HD __forceinline__ uint32_t pivot_hash(uint32_t j, uint32_t round) {
    uint32_t h = j * 0x9E3779B1u ^ (round + 1u) * 0x85EBCA77u;
    h ^= h >> 15; h *= 0x2C1B3C6Du;
    h ^= h >> 12; h *= 0x297A2D39u;
    h ^= h >> 15;
    return h;
}

// Partition search: samples d <= lo are inactive, d >= hi active, the rest
// undecided; a random undecided sample is the pivot until none is left.
template <class Row, class Grp>
SRS_DEV_HD double exact_finish(const Row &row, const Grp &g, const RowInfo &r, double eps, double lo) {
    double hi = INFINITY;
    for (uint32_t round = 0;; round++) {
        unsigned long long key = ~0ull;
        double v = 0;
        row.each([&](int64_t j, double d, double) {
            if (d > lo && d < hi) {
                unsigned long long k = ((unsigned long long)pivot_hash((uint32_t)j, round) << 32) |
                                       (unsigned long long)(uint32_t)j;
                if (k < key) { key = k; v = d; }
            }
        });
        g.argmin(key, v);
        if (key == ~0ull) break;  // nothing undecided
        // F(v)/gamma = fa + eps fb (above, below); with nothing active above v
        // the sign is fb's: eps fb underflows to a false zero for rewards near
        // 1e-300 and a large gamma (the CPU's srs_exact_search does the same)
        double s[2] = {0, 0};
        row.each([&](int64_t, double d, double p) {
            double t = p * (d - v);
            s[0] += d >= v ? t : 0.0;
            s[1] += d >= v ? 0.0 : t;
        });
        g.sum(s);
        double f = s[0] == 0 && eps > 0 ? s[1] : s[0] + eps * s[1];
        if (f < 0) hi = v;        // root < v: every sample >= v is active
        else lo = v;              // root >= v: samples <= v are inactive (ties at the root: either side)
    }
    double sh, ph, sl, pl, mh;
    active_sums<true>(row, g, lo, sh, ph, sl, pl, mh);
    if (ph <= 0 && eps <= 0) return r.dmax;  // gamma = inf and nothing active: the limit is max
    // nothing active: the mean, without eps * sl (which can underflow)
    double m = ph <= 0 ? sl / pl : srs_set_value(sh, ph, sl, pl, eps);
    return fmin(fmax(m, r.dmin), r.dmax);
}


// m* of a loaded row (shifted coordinates) by solver (srs_solver_t), as
// srs_cpu_solve_row does on the CPU: n = 1 or all-equal rows give u; max_iter
// 0 is the solver's default; n the row's length (Dinkelbach's default bound).
template <class Row, class Grp>
SRS_DEV_HD __forceinline__ double srs_dev_solve(const Row &row, const Grp &g, const RowInfo &ri, double eps, int solver,
                                double tol, int max_iter, int64_t n) {
    double m;
    if (ri.dmax == ri.dmin) {
        m = ri.dmin;  // n = 1 or all equal: m* = u
    } else if (solver == SRS_SOLVER_BISECT) {
        m = solve_bisect(row, g, ri, eps, tol, max_iter > 0 ? max_iter : BISECT_MAX_ITER);
    } else if (solver == SRS_SOLVER_DINKELBACH) {
        int it = max_iter > 0 ? max_iter : (int)(n < INT32_MAX - 2 ? n + 2 : INT32_MAX);
        dinkelbach(row, g, ri, eps, ri.mean, it, &m);
    } else {
        double mw;
        if (dinkelbach(row, g, ri, eps, ri.mean, EXACT_WARM_PASSES, &mw)) m = mw;
        else m = exact_finish(row, g, ri, eps, mw);
    }
    return m;
}

#endif // SRS_KERNELS_THRESHOLD_DEV_CUH
