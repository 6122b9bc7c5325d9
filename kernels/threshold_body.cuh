/*
 * threshold_body.cuh — the per-row code of the threshold kernels
 * (threshold.cu), written against the group interface (group.cuh) so that it
 * compiles for the device and, as plain C++, for the host: the CPU tests run
 * it with host groups of 1, 5, 32, 256 and 512 threads (threshold_emu.cpp).
 *
 * process_row does one row's whole job: load and validate, solve m*
 * (threshold_dev.cuh), write m*, B_eff and optionally the shaped rewards. The
 * rows below say where the samples live while the solver iterates: registers
 * spread over a group (RegRow; TotRow with the row's totals, ThreadRow when
 * the group is one thread), shared
 * memory (SmemRow), or global memory re-read per pass (GlobalRow).
 */
#ifndef SRS_KERNELS_THRESHOLD_BODY_CUH
#define SRS_KERNELS_THRESHOLD_BODY_CUH

#include <float.h>
#include <math.h>
#include <stdint.h>
#include "group.cuh"
#include "threshold_args.h"
#include "threshold_dev.cuh"
#include "srs_math.h"

#define SRS_THR_HD __host__ __device__

enum { BAD_EMPTY = 1, BAD_REWARD = 2, BAD_LOGW = 3 };

// ----------------------------------------------------------------------------
// loads

// Read-only loads: through the non-coherent cache on the device.
template <class T>
SRS_THR_HD __forceinline__ T ld_raw(const T *p, int64_t j) {
#ifdef __CUDA_ARCH__
    return __ldg(p + j);
#else
    return p[j];
#endif
}

template <class T>
SRS_THR_HD __forceinline__ double ld_as_double(const T *p, int64_t j) {
    return (double)ld_raw(p, j);
}

SRS_THR_HD __forceinline__ double ld_any(const void *p, int f32, int64_t j) {
    return f32 ? ld_as_double((const float *)p, j) : ld_as_double((const double *)p, j);
}

// ----------------------------------------------------------------------------
// rows: where the samples live while the solver iterates. Each exposes
//   read(f)      reads the row once from global memory, keeps d = u - ref
//                (and raw logw), calls f(x, d, lw) per owned sample, x the
//                reward as stored (float or double)
//   reweigh(f)   p = exp(lw - lmax) in place, calls f(d, p) per owned sample
//   each(f)      f(j, d, p) per owned sample, j the index within the row

// K samples per lane in registers: sample j = rank + k * G.
template <class T, int K, int G>
struct RegRow {
    double d[K], p[K];
    int n, rank;
    template <class F>
    SRS_THR_HD __forceinline__ void read(const T *u, const void *lw, int lw32, double ref, F f) {
SRS_UNROLL
        for (int k = 0; k < K; k++) {
            int j = rank + k * G;
            d[k] = 0;
            p[k] = 1;
            if (j < n) {
                const T x = ld_raw(u, j);
                double l = lw ? ld_any(lw, lw32, j) : 0.0;
                d[k] = (double)x - ref;
                p[k] = lw ? l : 1.0;
                f(x, d[k], l);
            }
        }
    }
    template <class F>
    SRS_THR_HD __forceinline__ void reweigh(double lmax, F f) {
SRS_UNROLL
        for (int k = 0; k < K; k++)
            if (rank + k * G < n) {
                p[k] = exp(p[k] - lmax);
                f(d[k], p[k]);
            }
    }
    template <class F>
    SRS_THR_HD __forceinline__ void each(F f) const {
SRS_UNROLL
        for (int k = 0; k < K; k++) {
            int j = rank + k * G;
            if (j < n) f(j, d[k], p[k]);
        }
    }
};

// K samples per thread in registers, sample j = rank + k * G, with the row's
// totals (kTotals): a solver pass sums over the active set alone, the rest
// coming from the totals, and reduces two sums across the group (three when
// weighted) instead of five values. G = 1 is a thread per row (short rows, no
// reduction at all); G > 1 a few lanes, a warp or a block per row, so that
// every thread holds many samples and a pass's reduction is paid for over K
// of them. Unweighted rows (W false) keep no weights: the active set's weight
// is its count.
template <class T, int K, int G, bool W>
struct TotRow {
    static constexpr bool kTotals = true;
    static constexpr bool kUniform = !W;  // launched for rows without logw only
    static constexpr int kNS = W ? 3 : 2;  // sums of above(): sum p d, sum p, [count]
    double d[K], p[W ? K : 1];
    double tot_s, tot_p;
    int n, rank;
    // The thread's slots all hold samples (every thread of a full row): loads
    // without tests, at constant offsets from one address.
    template <class F>
    SRS_THR_HD __forceinline__ void read_full(const T *u, const void *lw, int lw32, double ref, F f) {
SRS_UNROLL
        for (int k = 0; k < K; k++) {
            const int j = rank + k * G;
            const T x = ld_raw(u, j);
            double l = W ? ld_any(lw, lw32, j) : 0.0;
            d[k] = (double)x - ref;
            if (W) p[k] = l;
            f(x, d[k], l);
        }
    }
    template <class F>
    SRS_THR_HD __forceinline__ void read_partial(const T *u, const void *lw, int lw32, double ref, F f) {
SRS_UNROLL
        for (int k = 0; k < K; k++) {
            const int j = rank + k * G;
            // never active (above() needs no test of j < n): m >= dmin >= -DBL_MAX / 2
            // on every row that is solved (srs_row_too_wide), and 0 * d stays finite
            d[k] = -DBL_MAX;
            if (W) p[k] = 0;
            if (j < n) {
                const T x = ld_raw(u, j);
                double l = W ? ld_any(lw, lw32, j) : 0.0;
                d[k] = (double)x - ref;
                if (W) p[k] = l;
                f(x, d[k], l);
            }
        }
    }
    template <class F>
    SRS_THR_HD __forceinline__ void read(const T *u, const void *lw, int lw32, double ref, F f) {
        if (rank + (K - 1) * G < n) read_full(u, lw, lw32, ref, f);
        else read_partial(u, lw, lw32, ref, f);
    }
    template <class F>
    SRS_THR_HD __forceinline__ void reweigh(double lmax, F f) {
SRS_UNROLL
        for (int k = 0; k < K; k++)
            if (W && rank + k * G < n) {
                p[k] = exp(p[k] - lmax);
                f(d[k], p[k]);
            }
    }
    template <class F>
    SRS_THR_HD __forceinline__ void each(F f) const {
SRS_UNROLL
        for (int k = 0; k < K; k++) {
            const int j = rank + k * G;
            if (j < n) f((int64_t)j, d[k], W ? p[k] : 1.0);
        }
    }
    // This thread's part of s = {sum p d, sum p} over A = {d >= m} (d > m:
    // STRICT), and the count of A as s[2] when weighted (unweighted, s[1] is
    // the count). The active weight w is a select (p or 0; 1 or 0), so a
    // sample costs a compare, a select and two adds (w d is exact for w = 1).
    template <bool STRICT>
    SRS_THR_HD __forceinline__ void above(double m, double (&s)[kNS]) const {
        double sd = 0, sp = 0, c = 0;
SRS_UNROLL
        for (int k = 0; k < K; k++) {
            const bool a = STRICT ? d[k] > m : d[k] >= m;  // false past n
            const double w = a ? (W ? p[k] : 1.0) : 0.0;
            sd += w * d[k];
            sp += w;
            if (W) c += a ? 1.0 : 0.0;
        }
        s[0] = sd;
        s[1] = sp;
        if (W) s[kNS - 1] = c;
    }
};

// A whole row in one thread's registers (K >= n): the thread-per-row kernels.
template <class T, int K, bool W>
using ThreadRow = TotRow<T, K, 1, W>;

// The row in shared memory: sd (n,) shifted rewards, sp (n,) weights (weighted only).
template <class T, int G>
struct SmemRow {
    double *sd, *sp;
    int n, rank;
    template <class F>
    SRS_THR_HD __forceinline__ void read(const T *u, const void *lw, int lw32, double ref, F f) {
        for (int j = rank; j < n; j += G) {
            const T x = ld_raw(u, j);
            double l = lw ? ld_any(lw, lw32, j) : 0.0;
            sd[j] = (double)x - ref;
            if (lw) sp[j] = l;
            f(x, sd[j], l);
        }
    }
    template <class F>
    SRS_THR_HD __forceinline__ void reweigh(double lmax, F f) {
        for (int j = rank; j < n; j += G) {
            sp[j] = exp(sp[j] - lmax);
            f(sd[j], sp[j]);
        }
    }
    template <class F>
    SRS_THR_HD __forceinline__ void each(F f) const {
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
    SRS_THR_HD __forceinline__ void read(const T *u_, const void *lw_, int lw32_, double ref_, F f) {
        u = u_; lw = lw_; lw32 = lw32_; ref = ref_; lmax = 0;
        for (int64_t j = rank; j < n; j += G) {
            const T x = ld_raw(u, j);
            f(x, (double)x - ref, lw ? ld_any(lw, lw32, j) : 0.0);
        }
    }
    template <class F>
    SRS_THR_HD __forceinline__ void reweigh(double lmax_, F f) {
        lmax = lmax_;
        for (int64_t j = rank; j < n; j += G)
            f(ld_as_double(u, j) - ref, exp(ld_any(lw, lw32, j) - lmax));
    }
    template <class F>
    SRS_THR_HD __forceinline__ void each(F f) const {
        for (int64_t j = rank; j < n; j += G)
            f(j, ld_as_double(u, j) - ref, lw ? exp(ld_any(lw, lw32, j) - lmax) : 1.0);
    }
};

// RowUniform<Row>::value: the row type is launched for rows without logw only.
template <class R, class = void>
struct RowUniform {
    static constexpr bool value = false;
};
template <class R>
struct RowUniform<R, decltype((void)R::kUniform)> {
    static constexpr bool value = R::kUniform;
};

SRS_THR_HD __forceinline__ double unshift(const RowInfo &r, double m) {
    if (m >= r.dmax) return r.umax;
    if (m <= r.dmin) return r.umin;
    return fmin(fmax(r.ref + m, r.umin), r.umax);
}

SRS_THR_HD __forceinline__ void mark_bad(const srs_thr_args_t &a, int64_t row, int kind) {
    const unsigned long long w = ((unsigned long long)row << 2) | (unsigned long long)kind;
#ifdef __CUDA_ARCH__
    atomicMin(a.bad, w);
#else
    if (w < *a.bad) *a.bad = w;  // the host runs one row at a time, rank 0 writes
#endif
}

// lo = min(lo, x), hi = max(hi, x), for rows without NaN (a row with one is
// rejected, whatever these give): one FMNMX each for float, compare-selects
// for double (whose fmin/fmax cost more on the device).
SRS_THR_HD __forceinline__ void min_max(float x, float &lo, float &hi) {
    lo = fminf(lo, x);
    hi = fmaxf(hi, x);
}
SRS_THR_HD __forceinline__ void min_max(double x, double &lo, double &hi) {
    lo = x < lo ? x : lo;
    hi = x > hi ? x : hi;
}

// The whole job of one row: load and validate, solve, write m*, B_eff and
// (optionally) the shaped rewards.
template <class T, class Row, class Grp>
SRS_THR_HD void process_row(Row &row, const Grp &g, const srs_thr_args_t &a, int64_t r, int64_t start,
                            int64_t n) {
    if (n <= 0) {
        if (g.rank == 0) mark_bad(a, r, BAD_EMPTY);
        return;
    }
    const T *u = (const T *)a.reward + start;
    // a row type for uniform rows only is never given logw: the weighted code is left out
    const void *lw = RowUniform<Row>::value || !a.logw
                         ? nullptr
                         : (const void *)((const char *)a.logw + (a.logw_f32 ? 4 : 8) * start);
    RowInfo ri;
    const T u0 = ld_raw(u, 0);
    ri.ref = (double)u0;
    // pass 1: the row from global memory, once. The extremes are found in the
    // reward's own type (converting to double is exact and monotone: the same
    // extremes) by min_max, which leaves NaN unchecked. A NaN or an infinity
    // makes the sum of d non-finite and its row is rejected; so does a sum
    // that overflows, as srs_row_too_wide would (|sum d| <= n max |d|). So the
    // rows that are solved, and their extremes, are the same.
    T tmin = u0, tmax = u0;
    double sd = 0, bad_l = 0, nlmax = INFINITY;  // sum d, bad logw, -max logw
    row.read(u, lw, a.logw_f32, ri.ref, [&](T x, double d, double l) {
        min_max(x, tmin, tmax);
        sd += d;
        if (lw) {
            bad_l += l - l;  // 0 for finite l, NaN for NaN or inf
            nlmax = -l < nlmax ? -l : nlmax;
        }
    });
    if (lw) {
        double s[2] = {sd, bad_l}, mn[3] = {(double)tmin, -(double)tmax, nlmax};
        g.reduce(s, mn);
        sd = s[0]; bad_l = s[1]; ri.umin = mn[0]; ri.umax = -mn[1]; nlmax = mn[2];
    } else {
        double s[1] = {sd}, mn[2] = {(double)tmin, -(double)tmax};
        g.reduce(s, mn);
        sd = s[0]; ri.umin = mn[0]; ri.umax = -mn[1];
    }
    // Rounding is monotone, so min_j (u_j - ref) = umin - ref exactly (and
    // max alike): the extremes of d need no comparisons of their own.
    ri.dmin = ri.umin - ri.ref; ri.dmax = ri.umax - ri.ref;
    if (!isfinite(sd) || !isfinite(ri.ref) || srs_row_too_wide(ri.dmin, ri.dmax, (double)n)) {
        if (g.rank == 0) mark_bad(a, r, BAD_REWARD);
        return;
    }
    if (lw) {
        if (!(bad_l == 0)) {
            if (g.rank == 0) mark_bad(a, r, BAD_LOGW);
            return;
        }
        double w[2] = {0, 0};
        row.reweigh(-nlmax, [&](double d, double p) { w[0] += p; w[1] += p * d; });
        g.sum(w);
        ri.wsum = w[0];
        ri.mean = w[1] / w[0];
        if constexpr (RowTotals<Row>::value) { row.tot_s = w[1]; row.tot_p = w[0]; }
    } else {
        ri.wsum = (double)n;
        ri.mean = sd / (double)n;
        if constexpr (RowTotals<Row>::value) { row.tot_s = sd; row.tot_p = (double)n; }
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

SRS_THR_HD __forceinline__ void row_range(const srs_thr_args_t &a, int64_t r, int64_t *start, int64_t *n) {
    if (a.offsets) { *start = a.offsets[r]; *n = a.offsets[r + 1] - *start; }
    else { *start = r * a.row_len; *n = a.row_len; }
}

#endif // SRS_KERNELS_THRESHOLD_BODY_CUH
