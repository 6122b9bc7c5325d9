/*
 * eval_body.cuh — the evaluation kernels' per-row code (eval.cu), written
 * against the group interface (group.cuh) so that it compiles for the device
 * and, as plain C++, for the host: the CPU tests run it with a one-thread
 * group and groups of 5 and 32 host threads (eval_emu.cpp).
 *
 * What it computes, per row (d = u - u_0 shifted, p the unnormalised base
 * weights exp(logw - max) or 1, pn = p / sum p, v the win key: gold when the
 * data has it, else d), for every arm and beta, into V (rows, K):
 *   q ∝ pn exp(s / beta)          design arms (s shaped from d; hard/soft use
 *                                 m* solved per beta by threshold_dev.cuh's
 *                                 solvers unless the threshold is fixed)
 *   q = pn                        the base arm
 *   q = best-of-n law             P(max in tie group G) = (F_lt + p_G)^n -
 *                                 F_lt^n, shared in proportion to p within G
 *   proxy Σ q u, gold Σ q g, KL(q||p) = Σ q t - log Σ pn e^t (t = (s - max s)
 *   / beta), ESS 1 / Σ q², win_tie Σ_i q_i P_p(v <= v_i), win Σ_i q_i
 *   P_p(v < v_i), and the same two against the raw design's q at that beta.
 *
 * Per row, in the row's scratch (shared memory, or global memory for rows
 * too long for it):
 *   1. load and validate (as host/cpu/solve.c's loader), gold;
 *   2. sort the samples by v (bitonic network over (key, index) pairs; any
 *      length), find each sorted position's tie group by binary search, and
 *      the base CDF of v at every sample by a prefix sum in sorted order;
 *      best-of-n: the same by d (a second sort only when v is gold), then the
 *      laws of the best-of-n arms, kept per sample (they do not depend on beta);
 *   3. per beta: m* when needed; the raw law's CDF of v (prefix sum of its
 *      weights in v order); one pass per design arm with nine sums (its
 *      normaliser, KL, proxy, gold, Σ e², and the four win sums); two sums per
 *      base and best-of-n arm (their beta-free metrics were written once).
 * Exponentials are taken once per sample, arm and beta: every design is
 * non-decreasing in u, so max s = s(max d) needs no pass of its own. The
 * follower's weights are scaled by 2^300 (exact, a power of two) so that Σ e²
 * cannot underflow where the CPU's normalised Σ q² does not; the proxy and
 * gold sums use the unscaled weights (e u would overflow for |u| > ~1e217).
 * With logw far apart every pn e^t can underflow all the same (logw [0,
 * 800], a reward 1200 / beta larger on the first sample): when the
 * normaliser is below EV_TINY the law is redone in the log domain, e =
 * exp(log pn + t - A), A = max(log pn + t), log pn from logw itself, as
 * host/eval_rows.c does.
 *
 * On the device the group of a row is a warp (rows up to 256 samples) or a
 * 256-thread block; reductions leave identical bits in every thread
 * (group.cuh), so control flow is uniform, and g.sync() orders the scratch
 * between phases.
 */
#ifndef SRS_KERNELS_EVAL_BODY_CUH
#define SRS_KERNELS_EVAL_BODY_CUH

#include <math.h>
#include <stdint.h>
#include "group.cuh"
#include "eval_args.h"
#include "threshold_dev.cuh"
#include "srs_math.h"
#include "srs_eval_math.h"

#define EV_SCALE 0x1p300                // follower weights' scale (exact: a power of two)
#define EV_TINY 0x1p-400                // unscaled normaliser below which a law is redone
                                        // from log pn (host/eval_rows.c's EV_TINY)
#define EV_T_MIN -1e300                 // t clamped here: -inf would make e t NaN

// The per-row code is __host__ __device__: on the GPU its group is a warp or a
// block; srs_ev_emulate runs it on the CPU with host groups (tests).
#define EV_HD __host__ __device__

// ----------------------------------------------------------------------------
// the row's scratch: n samples of each array

struct EvRegion {
    double *d;       // (n,) shifted rewards
    double *p;       // (n,) unnormalised base weights (logw only), else NULL
    double *g;       // (n,) gold (gold only), else NULL
    double *key;     // (n,) sort keys, then prefix sums in sorted order
    double *cle;     // (n,) P_p(v <= v_j)
    double *clt;     // (n,) P_p(v < v_j)
    double *rle;     // (n,) P_qraw(v <= v_j) at the current beta; before the beta
                     //      loop: best-of-n F_lt = P_p(d < d_j)
    double *rlt;     // (n,) P_qraw(v < v_j); before: best-of-n tie-group mass p_G
    double *qb;      // (n_bon, n) best-of-n laws
    int *sidx;       // (n,) sample at each sorted position
    int *gfirst;     // (n,) first sorted position of the position's tie group
    int *glast;      // (n,) last sorted position of it
};

// Lays out the arrays of n samples from base (8-byte aligned); the region
// takes at most n x a.bps bytes.
EV_HD __forceinline__ EvRegion ev_region(void *base, int n, const srs_ev_args_t &a) {
    EvRegion R;
    double *x = (double *)base;
    R.d = x; x += n;
    R.p = nullptr;
    if (a.logw) { R.p = x; x += n; }
    R.g = nullptr;
    if (a.gold) { R.g = x; x += n; }
    R.key = x; x += n;
    R.cle = x; x += n;
    R.clt = x; x += n;
    R.rle = x; x += n;
    R.rlt = x; x += n;
    R.qb = x; x += (int64_t)a.n_bon * n;
    int *k = (int *)x;
    R.sidx = k; k += n;
    R.gfirst = k; k += n;
    R.glast = k;
    return R;
}

// The row as the solvers see it (threshold_dev.cuh): samples j = rank + k stride.
struct EvRow {
    const double *d, *p;
    int n, rank, stride;
    template <class F>
    EV_HD __forceinline__ void each(F f) const {
        for (int j = rank; j < n; j += stride) f((int64_t)j, d[j], p ? p[j] : 1.0);
    }
};

EV_HD __forceinline__ double ev_ld(const void *x, int f32, int64_t j) {
#ifdef __CUDA_ARCH__
    return f32 ? (double)__ldg((const float *)x + j) : __ldg((const double *)x + j);
#else
    return f32 ? (double)((const float *)x)[j] : ((const double *)x)[j];
#endif
}

EV_HD __forceinline__ void ev_mark_bad(const srs_ev_args_t &a, int64_t row, int kind) {
    const unsigned long long w = ((unsigned long long)row << 3) | (unsigned long long)kind;
#ifdef __CUDA_ARCH__
    atomicMin(a.bad, w);
#else
    if (w < *a.bad) *a.bad = w;
#endif
}

// ----------------------------------------------------------------------------
// sorting, tie groups, prefix sums and CDFs over a row

EV_HD __forceinline__ void ev_cmpswap(double *key, int *idx, int i, int l) {
    double ki = key[i], kl = key[l];
    int ii = idx[i], il = idx[l];
    if (kl < ki || (kl == ki && il < ii)) {
        key[i] = kl; key[l] = ki;
        idx[i] = il; idx[l] = ii;
    }
}

// Sorts the pairs (key[j], idx[j]), j < n, ascending by (key, idx): a bitonic
// network in its all-ascending form (each merge starts by comparing i with its
// mirror), so positions >= n act as +inf and are never touched: any n works.
template <class Grp>
EV_HD void ev_sort(const Grp &g, double *key, int *idx, int n) {
    int N = 1, lg = 0;
    while (N < n) { N <<= 1; lg++; }
    const int half_n = N >> 1;
    for (int lk = 1; lk <= lg; lk++) {
        const int k = 1 << lk, lh = lk - 1;
        for (int t = g.rank; t < half_n; t += Grp::size) {
            int blk = t >> lh, o = t & ((k >> 1) - 1);
            int i = blk * k + o, l = blk * k + k - 1 - o;
            if (l < n) ev_cmpswap(key, idx, i, l);
        }
        g.sync();
        for (int lj = lk - 2; lj >= 0; lj--) {
            const int j = 1 << lj;
            for (int t = g.rank; t < half_n; t += Grp::size) {
                int i = ((t >> lj) << (lj + 1)) | (t & (j - 1)), l = i + j;
                if (l < n) ev_cmpswap(key, idx, i, l);
            }
            g.sync();
        }
    }
}

// The tie group [gfirst[k], glast[k]] of every sorted position k (binary
// searches on the sorted keys).
template <class Grp>
EV_HD void ev_bounds(const Grp &g, const double *key, int *gfirst, int *glast, int n) {
    for (int k = g.rank; k < n; k += Grp::size) {
        const double x = key[k];
        int lo = 0, hi = k;  // first position with key >= x
        while (lo < hi) {
            int mid = (lo + hi) >> 1;
            if (key[mid] < x) lo = mid + 1;
            else hi = mid;
        }
        gfirst[k] = lo;
        lo = k;
        hi = n - 1;  // last position with key <= x
        while (lo < hi) {
            int mid = (lo + hi + 1) >> 1;
            if (key[mid] > x) hi = mid - 1;
            else lo = mid;
        }
        glast[k] = lo;
    }
    g.sync();
}

// P[k] = sum of w(k') over sorted positions k' <= k; returns the total (the
// same bits in every thread). Each thread sums a contiguous run of positions.
template <class Grp, class W>
EV_HD double ev_prefix(const Grp &g, double *P, int n, W w) {
    const int per = (n + Grp::size - 1) / Grp::size;
    const int k0 = g.rank * per, k1 = k0 + per < n ? k0 + per : n;
    double run = 0;
    for (int k = k0; k < k1; k++) {
        run += w(k);
        P[k] = run;
    }
    double total;
    const double off = g.exscan(run, &total);
    for (int k = k0; k < k1; k++) P[k] += off;
    g.sync();
    return total;
}

// From prefix sums P of a law in sorted order: at sample j = idx[k],
// le[j] = min(P(end of j's group) sc, 1), lt[j] = P(before j's group) sc.
template <class Grp>
EV_HD void ev_cdf(const Grp &g, const double *P, const int *idx, const int *gfirst, const int *glast,
                       int n, double sc, double *le, double *lt) {
    for (int k = g.rank; k < n; k += Grp::size) {
        const int j = idx[k], f = gfirst[k];
        le[j] = fmin(P[glast[k]] * sc, 1.0);
        lt[j] = f > 0 ? P[f - 1] * sc : 0.0;
    }
    g.sync();
}

// Best-of-n inputs from prefix sums P of pn in d order (idx, tie groups of
// d): flt[j] = P_p(d < d_j) (/ tot, as the CPU's cum / tot) and pg[j] the
// mass of j's tie group (summed by the group's first position: no
// cancellation for small groups).
template <class Grp, class PN>
EV_HD void ev_bon_inputs(const Grp &g, const double *P, const int *idx, const int *gfirst, const int *glast,
                              int n, double tot, PN pn, double *flt, double *pg) {
    for (int k = g.rank; k < n; k += Grp::size) {
        const int j = idx[k], f = gfirst[k];
        flt[j] = (f > 0 ? P[f - 1] : 0.0) / tot;
        if (k == f) {
            double m = 0;
            for (int k2 = f; k2 <= glast[k]; k2++) m += pn(idx[k2]);
            for (int k2 = f; k2 <= glast[k]; k2++) pg[idx[k2]] = m;
        }
    }
    g.sync();
}

// ----------------------------------------------------------------------------
// one row

EV_HD __forceinline__ double *ev_cell(const srs_ev_args_t &a, double *Vr, int bi, int ai) {
    return Vr + 2 + ((int64_t)bi * a.n_arms + ai) * SRS_MET_COUNT_;
}

template <class Grp>
EV_HD void ev_row(const Grp &g, const srs_ev_args_t &a, const EvRegion &R, int64_t r, int64_t start, int n) {
    const int S = Grp::size, rk = g.rank;
    if (n <= 0) {
        if (rk == 0) ev_mark_bad(a, r, SRS_EV_BAD_EMPTY);
        return;
    }
    const int weighted = a.logw != nullptr, has_gold = a.gold != nullptr;

    // 1. load: d = u - u_0, validated (as host/cpu/solve.c's load_row), raw logw into p
    RowInfo ri;
    ri.ref = ev_ld(a.reward, a.reward_f32, start);
    double s3[3] = {0, 0, 0};                          // sum d, bad reward, bad logw
    double mn[5] = {0, 0, ri.ref, -ri.ref, INFINITY};  // min d, -max d, min u, -max u, -max logw
    for (int j = rk; j < n; j += S) {
        const double x = ev_ld(a.reward, a.reward_f32, start + j), dj = x - ri.ref;
        R.d[j] = dj;
        mn[0] = fmin(mn[0], dj);
        mn[1] = fmin(mn[1], -dj);
        mn[2] = fmin(mn[2], x);
        mn[3] = fmin(mn[3], -x);
        s3[0] += dj;
        s3[1] += x - x;  // 0 for finite x, NaN for NaN or inf
        if (weighted) {
            const double l = ev_ld(a.logw, a.logw_f32, start + j);
            R.p[j] = l;
            s3[2] += l - l;
            mn[4] = fmin(mn[4], -l);
        }
    }
    g.reduce(s3, mn);
    ri.dmin = mn[0]; ri.dmax = -mn[1]; ri.umin = mn[2]; ri.umax = -mn[3];
    if (!(s3[1] == 0) || !isfinite(ri.ref) || srs_row_too_wide(ri.dmin, ri.dmax, (double)n)) {
        if (rk == 0) ev_mark_bad(a, r, SRS_EV_BAD_REWARD);
        return;
    }
    double lmax = 0;  // max logw (weighted rows)
    if (weighted) {
        if (!(s3[2] == 0)) {
            if (rk == 0) ev_mark_bad(a, r, SRS_EV_BAD_LOGW);
            return;
        }
        lmax = -mn[4];
        double w2[2] = {0, 0};
        for (int j = rk; j < n; j += S) {
            const double pj = exp(R.p[j] - lmax);
            R.p[j] = pj;
            w2[0] += pj;
            w2[1] += pj * R.d[j];
        }
        g.sum(w2);
        ri.wsum = w2[0];
        ri.mean = w2[1] / w2[0];
    } else {
        ri.wsum = (double)n;
        ri.mean = s3[0] / (double)n;
    }
    if (has_gold) {
        double bg[1] = {0};
        for (int j = rk; j < n; j += S) {
            const double x = ev_ld(a.gold, a.gold_f32, start + j);
            R.g[j] = x;
            bg[0] += x - x;
        }
        g.sum(bg);
        if (!(bg[0] == 0)) {
            if (rk == 0) ev_mark_bad(a, r, SRS_EV_BAD_GOLD);
            return;
        }
    }
    g.sync();

    // normalised base weights as host/eval.c forms them
    const double invn = 1.0 / (double)n, wsum = ri.wsum;
    const double *P_ = R.p;
    auto pnf = [=](int j) { return weighted ? P_[j] / wsum : invn; };
    // log pn from logw itself (weighted rows, for laws whose weights underflow)
    const double lwsum = weighted ? log(wsum) : 0.0;
    auto lpf = [&](int j) { return (ev_ld(a.logw, a.logw_f32, start + j) - lmax) - lwsum; };
    // psum: Σ pn scaled, summed exactly as the design passes sum e (so a
    // constant design has z == psum and KL exactly 0); the weighted variance
    double ps[2] = {0, 0};
    for (int j = rk; j < n; j += S) {
        const double q = pnf(j), e = R.d[j] - ri.mean;
        ps[0] += q * EV_SCALE;
        ps[1] += q * e * e;
    }
    g.sum(ps);
    const double psum_s = ps[0], tot = ps[0] / EV_SCALE;

    // the designs' row statistics, and m* once when the threshold is fixed
    srs_preset_vals_t pv0 = srs_preset_bounds((srs_preset_t)a.preset, a.B, a.fixed ? a.fixed_beta : a.betas[0],
                                              a.cap, ri.dmin, ri.dmax);
    srs_row_stats_t st = {ri.dmin, ri.dmax, ri.mean, a.need_std ? sqrt(ps[1]) : 0.0, 0.0, pv0.b_eff};
    EvRow row = {R.d, weighted ? R.p : nullptr, n, rk, S};
    if (a.fixed && a.need_m) {
        srs_preset_vals_t pv = srs_preset_eval((srs_preset_t)a.preset, a.B, a.fixed_beta, a.cap, ri.dmin, ri.dmax);
        st.m_star = srs_dev_solve(row, g, ri, pv.eps, a.solver, a.tol, a.max_iter, n);
    }

    // 2. orders and CDFs (beta-independent)
    if (a.n_bon > 0 && has_gold) {  // best-of-n is by d: its own order
        for (int j = rk; j < n; j += S) { R.key[j] = R.d[j]; R.sidx[j] = j; }
        g.sync();
        ev_sort(g, R.key, R.sidx, n);
        ev_bounds(g, R.key, R.gfirst, R.glast, n);
        ev_prefix(g, R.key, n, [&](int k) { return pnf(R.sidx[k]); });
        ev_bon_inputs(g, R.key, R.sidx, R.gfirst, R.glast, n, tot, pnf, R.rle, R.rlt);
    }
    {
        const double *v = has_gold ? R.g : R.d;
        for (int j = rk; j < n; j += S) { R.key[j] = v[j]; R.sidx[j] = j; }
        g.sync();
    }
    ev_sort(g, R.key, R.sidx, n);
    ev_bounds(g, R.key, R.gfirst, R.glast, n);
    ev_prefix(g, R.key, n, [&](int k) { return pnf(R.sidx[k]); });
    ev_cdf(g, R.key, R.sidx, R.gfirst, R.glast, n, 1.0, R.cle, R.clt);
    if (a.n_bon > 0 && !has_gold)  // the win key is d: the same order
        ev_bon_inputs(g, R.key, R.sidx, R.gfirst, R.glast, n, tot, pnf, R.rle, R.rlt);

    // beta-free metrics of the base and best-of-n arms (all but the two
    // against raw), written into every beta's cell; best-of-n laws kept
    double *Vr = a.V + r * a.K;
    if (rk == 0) {
        Vr[0] = 1.0;
        Vr[1] = has_gold ? 1.0 : 0.0;
    }
    for (int ai = 0, b = 0; ai < a.n_arms; ai++) {
        const srs_arm_kind_t kind = a.arms[ai].kind;
        if (kind == SRS_ARM_DESIGN) continue;
        double s6[6] = {0, 0, 0, 0, 0, 0};  // q d, q g, q², q cle, q clt, KL terms
        double *qb = R.qb + (int64_t)b * n;
        const double dn = (double)a.arms[ai].n;
        for (int j = rk; j < n; j += S) {
            const double pnj = pnf(j);
            double q = pnj;
            if (kind == SRS_ARM_BEST_OF_N) {
                // the tie group's P(max in G), shared in proportion to p (host/eval.c's bon_law)
                const double pgj = R.rlt[j], fg = pgj / tot, flt = R.rle[j], fle = flt + fg;
                double P = 0;
                if (fg > 0) P = exp(dn * log(fmin(fle, 1.0))) * -expm1(dn * log1p(-fmin(fg / fle, 1.0)));
                q = fg > 0 ? P * pnj / pgj : 0.0;
                if (P > 0) s6[5] += pnj / pgj * (P * log(P / fg));  // the group's term, split by p
                qb[j] = q;
            }
            s6[0] += q * R.d[j];
            s6[1] += q * (has_gold ? R.g[j] : R.d[j]);
            s6[2] += q * q;
            s6[3] += q * R.cle[j];
            s6[4] += q * R.clt[j];
        }
        g.sum(s6);
        if (rk == 0)
            for (int bi = 0; bi < a.n_betas; bi++) {
                double *m = ev_cell(a, Vr, bi, ai);
                m[SRS_MET_PROXY] = ri.ref + s6[0];
                m[SRS_MET_GOLD] = has_gold ? s6[1] : 0.0;
                m[SRS_MET_KL] = kind == SRS_ARM_BEST_OF_N && s6[5] > 0 ? s6[5] : 0.0;
                m[SRS_MET_ESS] = 1.0 / s6[2];
                m[SRS_MET_WIN_TIE] = s6[3];
                m[SRS_MET_WIN] = s6[4];
            }
        if (kind == SRS_ARM_BEST_OF_N) b++;
    }
    g.sync();  // qb complete, rle/rlt free for the beta loop

    // 3. every beta
    for (int bi = 0; bi < a.n_betas; bi++) {
        const double beta = a.betas[bi], ib = 1.0 / beta;
        if (a.need_m && !a.fixed) {
            srs_preset_vals_t pv = srs_preset_eval((srs_preset_t)a.preset, a.B, beta, a.cap, ri.dmin, ri.dmax);
            st.m_star = srs_dev_solve(row, g, ri, pv.eps, a.solver, a.tol, a.max_iter, n);
            st.b_eff = pv.b_eff;
        }
        // the raw design's law (s = d, max s = max d) and its CDF of v
        double zr = ev_prefix(g, R.key, n, [&](int k) {
            const int j = R.sidx[k];
            return pnf(j) * EV_SCALE * exp((R.d[j] - ri.dmax) * ib);
        });
        if (weighted && !(zr >= EV_TINY * EV_SCALE)) {  // uniform: zr has the same bits in every thread
            double one[1] = {0}, mx[1] = {INFINITY};     // mx: -max (log pn + t)
            for (int j = rk; j < n; j += S) mx[0] = fmin(mx[0], -(lpf(j) + (R.d[j] - ri.dmax) * ib));
            g.reduce(one, mx);
            const double A = -mx[0];
            zr = ev_prefix(g, R.key, n, [&](int k) {
                const int j = R.sidx[k];
                return exp(lpf(j) + (R.d[j] - ri.dmax) * ib - A);
            });
        }
        ev_cdf(g, R.key, R.sidx, R.gfirst, R.glast, n, 1.0 / zr, R.rle, R.rlt);

        for (int ai = 0, b = 0; ai < a.n_arms; ai++) {
            const srs_eval_arm_t arm = a.arms[ai];
            double *m = ev_cell(a, Vr, bi, ai);
            if (arm.kind != SRS_ARM_DESIGN) {
                const double *qb = R.qb + (int64_t)b * n;
                double s2[2] = {0, 0};
                for (int j = rk; j < n; j += S) {
                    const double q = arm.kind == SRS_ARM_BASE ? pnf(j) : qb[j];
                    s2[0] += q * R.rle[j];
                    s2[1] += q * R.rlt[j];
                }
                g.sum(s2);
                if (rk == 0) {
                    m[SRS_MET_WIN_TIE_RAW] = s2[0];
                    m[SRS_MET_WIN_RAW] = s2[1];
                }
                if (arm.kind == SRS_ARM_BEST_OF_N) b++;
                continue;
            }
            // q ∝ pn exp(t), t = (s - max s) / beta; max s = s(max d) (every design is non-decreasing)
            const srs_design_t design = arm.design;
            const double alpha = arm.alpha;
            const double smax = srs_shape_value(design, ri.dmax, &st, a.B, alpha, a.clip);
            double s9[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};  // z, e t, e d, e g, e², e cle, e clt, e rle, e rlt
            // sample j's terms: e its weight (scaled), e1 the same for the utility sums
            auto add9 = [&](int j, double t, double e, double e1) {
                const double dj = R.d[j];
                s9[0] += e;
                s9[1] += e * t;
                s9[2] += e1 * dj;
                s9[3] += e1 * (has_gold ? R.g[j] : dj);
                s9[4] += e * e;
                s9[5] += e * R.cle[j];
                s9[6] += e * R.clt[j];
                s9[7] += e * R.rle[j];
                s9[8] += e * R.rlt[j];
            };
            for (int j = rk; j < n; j += S) {
                const double t = srs_max((srs_shape_value(design, R.d[j], &st, a.B, alpha, a.clip) - smax) * ib, EV_T_MIN);
                const double pj = pnf(j), ex = exp(t);
                // e1 unscaled, as the CPU's: e1 u cannot overflow where it does not
                add9(j, t, pj * EV_SCALE * ex, pj * ex);
            }
            g.sum(s9);
            double lz = log(s9[0] / psum_s), sc = EV_SCALE;  // log of the normaliser over Σ pn; e / e1
            if (weighted && !(s9[0] >= EV_TINY * EV_SCALE)) {  // uniform, as zr above
                double one[1] = {0}, mx[1] = {INFINITY};
                for (int j = rk; j < n; j += S) {
                    const double t = srs_max((srs_shape_value(design, R.d[j], &st, a.B, alpha, a.clip) - smax) * ib, EV_T_MIN);
                    mx[0] = fmin(mx[0], -(lpf(j) + t));
                }
                g.reduce(one, mx);
                const double A = -mx[0];
                for (int k = 0; k < 9; k++) s9[k] = 0;
                for (int j = rk; j < n; j += S) {
                    const double t = srs_max((srs_shape_value(design, R.d[j], &st, a.B, alpha, a.clip) - smax) * ib, EV_T_MIN);
                    const double e = exp(lpf(j) + t - A);  // the largest is 1: no scale needed
                    add9(j, t, e, e);
                }
                g.sum(s9);
                lz = A + log(s9[0]);
                sc = 1.0;
            }
            if (rk == 0) {
                const double iz = 1.0 / s9[0], iz1 = sc / s9[0];  // iz1: 1 / the unscaled normaliser
                const double kl = s9[1] * iz - lz;
                m[SRS_MET_PROXY] = ri.ref + s9[2] * iz1;
                m[SRS_MET_GOLD] = has_gold ? s9[3] * iz1 : 0.0;
                m[SRS_MET_KL] = kl > 0 ? kl : 0.0;  // rounding can leave -1e-17 for q = p
                m[SRS_MET_ESS] = 1.0 / (s9[4] * iz * iz);
                m[SRS_MET_WIN_TIE] = s9[5] * iz;
                m[SRS_MET_WIN] = s9[6] * iz;
                m[SRS_MET_WIN_TIE_RAW] = s9[7] * iz;
                m[SRS_MET_WIN_RAW] = s9[8] * iz;
            }
        }
        g.sync();  // rle/rlt and the prefix buffer are rewritten by the next beta
    }
}

EV_HD __forceinline__ void ev_row_range(const srs_ev_args_t &a, int64_t r, int64_t *start, int64_t *n) {
    if (a.offsets) { *start = a.offsets[r]; *n = a.offsets[r + 1] - *start; }
    else { *start = r * a.row_len; *n = a.row_len; }
}

// ----------------------------------------------------------------------------
// Poisson bootstrap weights

// Work item x: row i = x / nq, replicates 4q .. 4q+3 (q = x % nq), nq = ceil(R / 4).
EV_HD __forceinline__ void ev_weights_at(double *W, int64_t x, int64_t nq, int R, uint64_t seed,
                                         int64_t first_global, const uint64_t *T) {
    const int64_t i = x / nq;
    const int q = (int)(x - i * nq);
    const srs_u32x4_t u = srs_philox_block(seed, (uint64_t)(first_global + i), (uint32_t)q, SRS_EVAL_STREAM);
    double *w = W + i * (R + 1);
    for (int k = 0; k < 4; k++)
        if (4 * q + k < R) w[4 * q + k] = srs_poisson1(u.v[k], T);
    if (q == 0) w[R] = 1.0;
}

#endif // SRS_KERNELS_EVAL_BODY_CUH
