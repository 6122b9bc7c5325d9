/*
 * threshold_dev.cuh — the threshold solvers on one row, shared by the kernels
 * that solve m* on a row: threshold.cu (thresholds and shaping, the per-row
 * code in threshold_body.cuh) and eval.cu (per-beta thresholds inside the
 * evaluation).
 *
 * A row is any type with
 *   each(f)   f(j, d, p) for every sample the calling thread owns: j the index
 *             within the row, d = u - u_0 (shifted), p the unnormalised weight
 * and optionally, where the row keeps its totals (kTotals = true):
 *   tot_s, tot_p          sum p d and sum p over the row
 *   kNS, above<STRICT>(m, s)   the calling thread's part of s[kNS] = {sum p d,
 *                         sum p, [count]} over A = {d >= m} (d > m when
 *                         STRICT); the count is s[kNS - 1]
 * With the totals, a pass sums over A only and derives the rest of the row
 * from them (sum_rest = total - sum_A), and a group reduces two or three sums
 * per pass rather than five values. Dinkelbach then stops when a pass finds
 * the active set of the pass before (the iterate repeats, bit for bit) rather
 * than by the minimum over A: one pass more per row, three instructions and
 * one reduced value fewer per sample and pass.
 * A group (group.cuh) is the set of threads that share the row. Every thread
 * of the group calls the solvers; reductions leave identical bits in every
 * thread, so the solvers' control flow is uniform across the group.
 * The solvers are __host__ __device__ and compile as plain C++ as well: the
 * CPU tests run them with host groups (threshold_emu.cpp, eval.cu's
 * srs_ev_emulate).
 */
#ifndef SRS_KERNELS_THRESHOLD_DEV_CUH
#define SRS_KERNELS_THRESHOLD_DEV_CUH

#include <float.h>
#include <math.h>
#include <stdint.h>
#include "group.cuh"
#include "srs_math.h"

#define BISECT_MAX_ITER 2000
#define EXACT_WARM_PASSES 4

#define SRS_DEV_HD __host__ __device__

// RowTotals<Row>::value: the row keeps its totals and sums over A alone.
template <class R, class = void>
struct RowTotals {
    static constexpr bool value = false;
};
template <class R>
struct RowTotals<R, decltype((void)R::kTotals)> {
    static constexpr bool value = R::kTotals;
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

// Sums over A = {d >= m} (strict: d > m) and its complement, and min over A
// (-inf, not computed, on rows with totals).
template <bool STRICT, class Row, class Grp>
SRS_DEV_HD __forceinline__ void active_sums(const Row &row, const Grp &g, double m, double &sh,
                                            double &ph, double &sl, double &pl, double &mh) {
    if constexpr (RowTotals<Row>::value) {
        double s[Row::kNS];
        row.template above<STRICT>(m, s);
        g.sum(s);
        sh = s[0]; ph = s[1]; sl = row.tot_s - s[0]; pl = row.tot_p - s[1]; mh = -INFINITY;
    } else {
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
}

// Bisection on a row that keeps its totals: F(m)/gamma = (S_A - m P_A) +
// eps ((S - S_A) - m (P - P_A)) from one sum over A = {d >= m} per pass. Once
// no sample lies inside the bracket (lo, hi), A(m) = A(hi) on all of it and F
// is linear there: the remaining halvings evaluate that line and read no
// sample. The midpoints and the stopping rule are those of solve_bisect.
template <class Row, class Grp>
SRS_DEV_HD double solve_bisect_totals(const Row &row, const Grp &g, const RowInfo &r, double eps, double tol,
                                      int max_iter) {
    constexpr int NS = Row::kNS;
    const double S = row.tot_s, P = row.tot_p;
    double lo = r.dmin, hi = r.dmax;
    double width = tol * fmax(1.0, hi - lo);
    double sa[NS];
    row.template above<false>(hi, sa);
    g.sum(sa);
    double s_hi = sa[0], p_hi = sa[1], c_hi = sa[NS - 1];  // over A(hi)
    bool lin = false;                                  // no sample in (lo, hi)
    for (int it = 0; it < max_iter && hi - lo > width; it++) {
        double mid = lo + 0.5 * (hi - lo);
        if (mid <= lo || mid >= hi) break;  // floating-point resolution reached
        double sm = s_hi, pm = p_hi, cm = c_hi;
        if (!lin) {
            row.template above<false>(mid, sa);
            g.sum(sa);
            sm = sa[0]; pm = sa[1]; cm = sa[NS - 1];
        }
        double f = (sm - mid * pm) + eps * ((S - sm) - mid * (P - pm));
        if (f > 0) {
            lo = mid;
            lin = lin || cm == c_hi;  // nothing in [mid, hi): nothing in (lo, hi)
            continue;
        }
        if (f == 0) {
            // the root when F is positive just below, else the lower end of an
            // interval where F is 0 (as solve_bisect)
            double m2 = nextafter(mid, lo), s2 = sm, p2 = pm;
            if (!lin || m2 <= lo) {
                row.template above<false>(m2, sa);
                g.sum(sa);
                s2 = sa[0]; p2 = sa[1];
            }
            if ((s2 - m2 * p2) + eps * ((S - s2) - m2 * (P - p2)) > 0) return mid;
        }
        hi = mid;
        s_hi = sm; p_hi = pm; c_hi = cm;
    }
    return lo + 0.5 * (hi - lo);
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
// became stable within max_iter passes, else 0 with the last iterate. Stable:
// nothing of A(m) lies below the next iterate (min over A), or, on rows with
// totals, which keep no minimum, the iterate does not move (A(next) = A(m):
// the same sums, the same bits), one pass later with the same result.
template <class Row, class Grp>
SRS_DEV_HD int dinkelbach(const Row &row, const Grp &g, const RowInfo &r, double eps, double m,
                          int max_iter, double *out) {
    for (int it = 0; it < max_iter; it++) {
        double sh, ph, sl, pl, mh;
        active_sums<false>(row, g, m, sh, ph, sl, pl, mh);
        double next = srs_set_value(sh, ph, sl, pl, eps);
        next = fmin(fmax(next, r.dmin), r.dmax);
        if (next <= m || (!RowTotals<Row>::value && mh >= next)) { *out = next; return 1; }
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
        const int it = max_iter > 0 ? max_iter : BISECT_MAX_ITER;
        if constexpr (RowTotals<Row>::value) m = solve_bisect_totals(row, g, ri, eps, tol, it);
        else m = solve_bisect(row, g, ri, eps, tol, it);
    } else if (solver == SRS_SOLVER_DINKELBACH) {
        int it = max_iter > 0 ? max_iter : (int)(n < INT32_MAX - 2 ? n + 2 : INT32_MAX);
        dinkelbach(row, g, ri, eps, ri.mean, it, &m);
    } else {
        // rows with totals see a stable set one pass later: one warm pass more
        const int warm = EXACT_WARM_PASSES + (RowTotals<Row>::value ? 1 : 0);
        double mw;
        if (dinkelbach(row, g, ri, eps, ri.mean, warm, &mw)) m = mw;
        else m = exact_finish(row, g, ri, eps, mw);
    }
    return m;
}

#endif // SRS_KERNELS_THRESHOLD_DEV_CUH
