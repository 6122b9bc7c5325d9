/*
 * solve.c — the general path of the CPU backend (host/cpu/cpu.h): a row copied
 * into the scratch buffer (shifted, validated, its range, mean and weights),
 * then solved there; and shaping a solved row.
 *
 * Solvers, all on F(m)/gamma with weights 1 above, eps = exp(-lg) below:
 *   bisect      the paper's: halve [min d, max d] until the bracket is below
 *               tol * max(1, range) (or floating-point resolution).
 *   dinkelbach  m <- R({d >= m}) from the mean, R(A) = (S_A + eps S_rest) /
 *               (P_A + eps P_rest). Monotone; stops when no sample lies in
 *               [m_t, m_t+1): then the active set is final and m is exact.
 *   exact       partition search: pick a pivot v among the undecided samples,
 *               evaluate F(v) from running sums in one partition pass, and
 *               decide every undecided sample on one side of v. Expected O(n),
 *               O(n log n) worst case through a sort-based finish; the result
 *               is R(active set), no tolerance. The short-row and long-row
 *               paths finish with the same search (srs_exact_search).
 *
 * Also the evaluation's hooks (load and solve one row, internal.h).
 *
 * Built once per CPU level (v2, v3, v4; neon; native), like every file here;
 * its loops are scalar C the compiler vectorises, sums in fixed order.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "cpu.h"

// ----------------------------------------------------------------------------
// loading a row: copy, shift, validate, min/max/mean

// Finds the first non-finite value of v in [start, start+n) (error path only).
int64_t first_nonfinite(const srs_vec_t *v, int64_t start, int64_t n) {
    for (int64_t j = 0; j < n; j++)
        if (!isfinite(vec_at(v, start + j))) return j;
    return -1;
}

// x - x is 0 for finite x and NaN for NaN/inf: a branch-free finiteness test
// that vectorises.
#define LOAD_LOOP(T)                                                          \
    do {                                                                      \
        const T *src = (const T *)b->reward.data + start;                     \
        double ref = (double)src[0], mn = 0, mx = 0, sum[8] = {0}, bad = 0;   \
        double umn = ref, umx = ref;                                          \
        _Pragma("omp simd reduction(min:mn,umn) reduction(max:mx,umx) reduction(+:bad)") \
        for (int64_t j = 0; j < n; j++) {                                     \
            double x = (double)src[j];                                        \
            double dj = x - ref;                                              \
            d[j] = dj;                                                        \
            mn = lo2(mn, dj);                                                 \
            mx = hi2(mx, dj);                                                 \
            umn = lo2(umn, x);                                                \
            umx = hi2(umx, x);                                                \
            bad += (x - x);                                                   \
        }                                                                     \
        SUM8_LOOP(n, sum, d[j_]);                                             \
        if (bad != 0 || isnan(bad) || !isfinite(ref)) return ROW_BAD_REWARD;   \
        r->ref = ref; r->dmin = mn; r->dmax = mx; dsum = SRS_SUM8(sum);       \
        r->umin = umn; r->umax = umx;                                         \
    } while (0)

int load_row(const srs_batch_t *b, int64_t start, int64_t n, double *d, double *p, row_t *r) {
    if (n <= 0) return ROW_EMPTY;
    double dsum;
    if (b->reward.dtype == SRS_F32) LOAD_LOOP(float);
    else LOAD_LOOP(double);
    if (srs_row_too_wide(r->dmin, r->dmax, (double)n)) return ROW_BAD_REWARD;
    if (!p) {
        r->wsum = (double)n;
        r->mean = dsum / (double)n;
        return ROW_OK;
    }
    // weights exp(logw - max logw): the largest is 1, none overflows
    double lmax = -INFINITY, bad = 0;
    for (int64_t j = 0; j < n; j++) {
        double lw = vec_at(&b->logw, start + j);
        bad += lw - lw;
        p[j] = lw;
        lmax = hi2(lmax, lw);
    }
    if (bad != 0 || isnan(bad)) return ROW_BAD_LOGW;
    double wsum = 0, wd = 0;
    for (int64_t j = 0; j < n; j++) {
        double w = exp(p[j] - lmax);
        p[j] = w;
        wsum += w;
        wd += w * d[j];
    }
    r->wsum = wsum;
    r->mean = wd / wsum;
    return ROW_OK;
}

// ----------------------------------------------------------------------------
// solvers on a loaded row (d shifted, p weights or NULL = uniform)

// F(m)/gamma: sum of w p (d - m), w = 1 above, eps below.
static inline double f_scaled(const double *d, const double *p, int64_t n, double m, double eps) {
    double f[8] = {0};
    if (p) SUM8_LOOP(n, f, (d[j_] >= m ? 1.0 : eps) * p[j_] * (d[j_] - m));
    else SUM8_LOOP(n, f, (d[j_] >= m ? 1.0 : eps) * (d[j_] - m));
    return SRS_SUM8(f);
}

static double solve_bisect(const double *d, const double *p, int64_t n, const row_t *r, double eps,
                           double tol, int max_iter) {
    double lo = r->dmin, hi = r->dmax;
    double width = tol * hi2(1.0, hi - lo);
    for (int it = 0; it < max_iter && hi - lo > width; it++) {
        double mid = lo + 0.5 * (hi - lo);
        if (mid <= lo || mid >= hi) break;  // floating-point resolution reached
        double f = f_scaled(d, p, n, mid, eps);
        if (f > 0) lo = mid;
        else if (f < 0) hi = mid;
        // F(mid) = 0: mid is the root when F is positive just below it; F is
        // 0 on a whole interval when the weights above it underflow
        // (log-weights hundreds apart, or gamma = inf), and the root is then
        // its lower end, where exact and Dinkelbach put it
        else if (f_scaled(d, p, n, nextafter(mid, lo), eps) > 0) return mid;   // lo < mid
        else hi = mid;
    }
    return lo + 0.5 * (hi - lo);
}

// Sums over the active set A = {d >= m} and its complement, and the smallest
// active value (to tell whether the next iterate changes A).
static inline void active_sums(const double *d, const double *p, int64_t n, double m, double *s_hi,
                               double *p_hi, double *s_lo, double *p_lo, double *min_hi) {
    double sh[8] = {0}, ph[8] = {0}, sl[8] = {0}, pl[8] = {0}, mh = INFINITY;
    // One pass. The sides are picked by multiplying with 0 or 1 (values are
    // finite), not by `a ? p[j] : 0.0`: gcc 12.2 at -O3 -march=x86-64-v3 turns
    // that form into masked loads and gets the weight sums wrong (found by the
    // cross-level test in tests/test_levels.c).
    FOR8(n, {
        double x = d[j_], w = p ? p[j_] : 1.0, a = (double)(x >= m), b = 1.0 - a;
        sh[l_] += a * (w * x);
        ph[l_] += a * w;
        sl[l_] += b * (w * x);
        pl[l_] += b * w;
        mh = lo2(mh, x >= m ? x : INFINITY);
    });
    *s_hi = SRS_SUM8(sh); *p_hi = SRS_SUM8(ph); *s_lo = SRS_SUM8(sl); *p_lo = SRS_SUM8(pl); *min_hi = mh;
}

static double solve_dinkelbach(const double *d, const double *p, int64_t n, const row_t *r,
                               double eps, int max_iter) {
    double m = r->mean;
    for (int it = 0; it < max_iter; it++) {
        double sh, ph, sl, pl, mh;
        active_sums(d, p, n, m, &sh, &ph, &sl, &pl, &mh);
        double next = srs_set_value(sh, ph, sl, pl, eps);
        next = lo2(hi2(next, r->dmin), r->dmax);
        // A_{t+1} = A_t when no active sample lies below the new iterate: the
        // iterate is then the value of the final set, i.e. the root.
        if (mh >= next || next <= m) return next;
        m = next;
    }
    return m;
}

// Sorts the pairs (td[j], tp[j]) by td descending, in place (heapsort: no
// allocation, O(k log k) worst case). tp may be NULL.
static void sort_pairs_desc(double *td, double *tp, int64_t k) {
#define SWAP_AT(a, b) do { double t_ = td[a]; td[a] = td[b]; td[b] = t_; \
        if (tp) { t_ = tp[a]; tp[a] = tp[b]; tp[b] = t_; } } while (0)
    // min-heap on td: repeatedly moving the minimum to the end leaves td descending
    for (int64_t start = k / 2 - 1, end = k; end > 1; ) {
        int64_t root;
        if (start >= 0) root = start--;
        else { end--; SWAP_AT(0, end); root = 0; }
        for (int64_t c; (c = 2 * root + 1) < end; root = c) {
            if (c + 1 < end && td[c + 1] < td[c]) c++;
            if (!(td[c] < td[root])) break;
            SWAP_AT(root, c);
        }
    }
#undef SWAP_AT
}

// Sort-based finish over k undecided samples, given the decided sums: the
// root is the largest value over the top-j prefixes, j = 0..k.
static double exact_sorted_finish(double *td, double *tp, int64_t k, double sh, double ph,
                                  double sl, double pl, double eps) {
    double sc = 0, pc = 0;
    sort_pairs_desc(td, tp, k);
    for (int64_t j = 0; j < k; j++) { sc += (tp ? tp[j] : 1.0) * td[j]; pc += tp ? tp[j] : 1.0; }
    double best = -INFINITY, s_pre = 0, p_pre = 0;
    for (int64_t j = 0; j <= k; j++) {
        double num_p = ph + p_pre;
        if (num_p > 0 || eps > 0) {
            double s_lo = sl + (sc - s_pre), p_lo = pl + (pc - p_pre);
            // nothing active: the mean, without eps * s_lo (which can underflow)
            double v = num_p > 0 ? srs_set_value(sh + s_pre, num_p, s_lo, p_lo, eps) : s_lo / p_lo;
            if (v > best) best = v;
        }
        if (j < k) { s_pre += (tp ? tp[j] : 1.0) * td[j]; p_pre += tp ? tp[j] : 1.0; }
    }
    return best;
}

static inline double median3(double a, double b, double c) {
    return hi2(lo2(a, b), lo2(hi2(a, b), c));
}

// Partition search over the undecided samples td[0..k) (weights tp, or NULL
// for 1) given the sums of the samples already decided active (sh, ph) and
// inactive (sl, pl). Returns the root in the coordinates of td.
double srs_exact_search(double *td, double *tp, int64_t k, double sh, double ph, double sl, double pl,
                        double eps, double dmin, double dmax) {
    int rounds = 0, max_rounds = 8;
    for (int64_t t = k; t > 1; t >>= 1) max_rounds += 2;
    while (k > 0) {
        if (++rounds > max_rounds)  // adversarial pivots: finish in O(k log k)
            return exact_sorted_finish(td, tp, k, sh, ph, sl, pl, eps);
        double v = median3(td[0], td[k / 2], td[k - 1]);
        // Branch-free Lomuto partition into [< v | >= v] with the sums of the
        // three classes; samples equal to v contribute 0 to F(v) whichever
        // side they are counted on.
        double s_lt = 0, p_lt = 0, s_eq = 0, p_eq = 0, s_gt = 0, p_gt = 0;
        int64_t i = 0;
        for (int64_t j = 0; j < k; j++) {
            double x = td[j], w = tp ? tp[j] : 1.0;
            int lt = x < v, eq = x == v, gt = x > v;
            s_lt += lt ? w * x : 0.0; p_lt += lt ? w : 0.0;
            s_eq += eq ? w * x : 0.0; p_eq += eq ? w : 0.0;
            s_gt += gt ? w * x : 0.0; p_gt += gt ? w : 0.0;
            td[j] = td[i]; td[i] = x;
            if (tp) { tp[j] = tp[i]; tp[i] = w; }
            i += lt;
        }
        double fa = (sh + s_gt) - v * (ph + p_gt), fb = (sl + s_lt) - v * (pl + p_lt);
        // with nothing active above v the sign is fb's: eps * fb underflows
        // to a false zero for rewards near 1e-300
        double f = fa == 0 && eps > 0 ? fb : fa + eps * fb;
        if (f < 0) {
            // root < v: every sample >= v is active
            sh += s_gt + s_eq; ph += p_gt + p_eq;
            k = i;
        } else {
            // root >= v: samples < v are inactive, and so are those equal to v
            // (either side is exact for a sample at the root); keep the > v ones
            sl += s_lt + s_eq; pl += p_lt + p_eq;
            int64_t m = 0;
            for (int64_t j = i; j < k; j++) {
                double x = td[j];
                td[m] = x;
                if (tp) tp[m] = tp[j];
                m += x > v;
            }
            k = m;
        }
    }
    if (ph <= 0 && eps <= 0) return dmax;  // gamma = inf and nothing active: limit is max
    // nothing active: the mean, without eps * sl (which can underflow)
    double m = ph <= 0 ? sl / pl : srs_set_value(sh, ph, sl, pl, eps);
    return lo2(hi2(m, dmin), dmax);
}

// Exact: a few Dinkelbach passes first (vectorised; each one decides every
// sample below its iterate, since iterates never pass the root), then the
// partition search on the samples still undecided. The result is the value of
// the final active set either way.
double solve_exact(const double *d, const double *p, int64_t n, const row_t *r, double eps,
                          double *td, double *tp) {
    double m = r->mean, sh, ph, sl, pl, mh;
    for (int it = 0; it < EXACT_WARM_PASSES; it++) {
        active_sums(d, p, n, m, &sh, &ph, &sl, &pl, &mh);
        double next = srs_set_value(sh, ph, sl, pl, eps);
        next = lo2(hi2(next, r->dmin), r->dmax);
        if (mh >= next || next <= m) return next;  // active set final: exact
        m = next;
    }
    // samples below m are inactive; the rest are undecided
    int64_t k = 0;
    sl = pl = 0;
    for (int64_t j = 0; j < n; j++) {
        double x = d[j], w = p ? p[j] : 1.0;
        int keep = x >= m;
        sl += keep ? 0.0 : w * x;
        pl += keep ? 0.0 : w;
        td[k] = x;
        if (p) tp[k] = w;
        k += keep;
    }
    return srs_exact_search(td, p ? tp : NULL, k, 0, 0, sl, pl, eps, r->dmin, r->dmax);
}

// ----------------------------------------------------------------------------
// one row: solve and shape

// Solves one loaded row; returns m* in shifted coordinates.
// Weighted rows: the value of an active set A can round to (or below) its
// lowest sample mh when the samples above mh weigh many orders less than the
// rest (base log-weights a hundred or more apart) and gamma is large: F(mh)
// is then a sum of terms of 1e-60 or less, lost when F is formed from the
// set's sums (S - m P), so the solvers keep mh in A and m* can be off by a
// whole gap between samples. An m within rounding of its set's lowest sample
// is checked here by F(mh) summed term by term: when the root lies above mh,
// the search goes on above it (Dinkelbach steps from {d > mh}, each checked
// the same way). Rows where the check holds keep their bits. Sample j is
// d[j * stride], weight p[j * stride].
// F(x0)/gamma summed term by term (sample j is d[j * stride]).
static double f_strided(const double *d, const double *p, int64_t stride, int64_t n, double eps, double x0) {
    double f = 0;
    for (int64_t j = 0; j < n; j++) {
        double x = d[j * stride];
        f += (x >= x0 ? 1.0 : eps) * p[j * stride] * (x - x0);
    }
    return f;
}

double certify_weighted(const double *d, const double *p, int64_t stride, int64_t n, double eps, double m,
                        double dmin, double dmax) {
    const double bound = 4.0 * (double)(n + 8) * DBL_EPSILON * hi2(fabs(dmin), fabs(dmax));
    double mh = INFINITY, ph0 = 0;
    for (int64_t j = 0; j < n; j++) {
        double x = d[j * stride];
        mh = x >= m && x < mh ? x : mh;
        ph0 += x >= m ? p[j * stride] : 0.0;
    }
    // Weights that underflow to 0 (log-weights more than ~745 apart) with
    // eps = 0 (B/beta past ~745): a set of no weight has no value (0/0) and F
    // is 0 on whole intervals. Bisection, which takes the lower end of such
    // an interval, decides these rows.
    if (!(ph0 > 0)) {
        double lo = dmin, hi = dmax;
        for (int it = 0; it < 2200 && hi > lo; it++) {
            double mid = lo + 0.5 * (hi - lo);
            if (mid <= lo || mid >= hi) break;
            double f = f_strided(d, p, stride, n, eps, mid);
            if (f > 0 || (f == 0 && f_strided(d, p, stride, n, eps, nextafter(mid, lo)) > 0)) lo = mid;
            else hi = mid;
        }
        return lo;
    }
    // the solver's m stands (bit for bit) unless it is within rounding of its
    // set's lowest sample and F there, summed term by term, is positive
    if (!(mh - m <= bound) || !(f_strided(d, p, stride, n, eps, mh) > 0)) return m;
    // the root lies above mh: Dinkelbach from {d > mh}, every stop checked so
    for (int64_t it = 0; it <= n; it++) {
        double last = mh;   // the lowest sample of the last set that had weight
        m = nextafter(mh, INFINITY);
        double sh = 0, ph = 0, sl = 0, pl = 0;
        for (;;) {
            sh = ph = sl = pl = 0;
            mh = INFINITY;
            for (int64_t j = 0; j < n; j++) {
                double x = d[j * stride], w = p[j * stride];
                if (x >= m) { sh += w * x; ph += w; mh = x < mh ? x : mh; }
                else { sl += w * x; pl += w; }
            }
            // nothing weighs above: F jumps from > 0 to <= 0 at the last set's
            // lowest sample (a set of one weighted value can round its value
            // an ulp above it)
            if (!(ph > 0)) return last;
            double v = lo2(hi2(srs_set_value(sh, ph, sl, pl, eps), dmin), dmax);
            if (mh < v) {   // the set shrinks: a Dinkelbach step
                last = mh;
                m = v;
                continue;
            }
            m = v;
            break;
        }
        if (!(mh - m <= bound) || !(f_strided(d, p, stride, n, eps, mh) > 0)) return m;
    }
    return m;
}

// Solves one loaded row; returns m* in shifted coordinates.
double solve_row(const job_t *jb, const double *d, const double *p, int64_t n, const row_t *r,
                 double eps, scratch_t *s) {
    const srs_threshold_opts_t *o = jb->to;
    if (r->dmax == r->dmin) return r->dmin;  // n = 1 or all equal: m* = u
    double m;
    switch (o->solver) {
    case SRS_SOLVER_BISECT:
        return solve_bisect(d, p, n, r, eps, o->tol, o->max_iter > 0 ? o->max_iter : BISECT_MAX_ITER);
    case SRS_SOLVER_DINKELBACH:
        // each non-final iteration shrinks the active set: n + 1 passes suffice
        m = solve_dinkelbach(d, p, n, r, eps, o->max_iter > 0 ? o->max_iter : (int)(n + 2));
        break;
    default:
        m = solve_exact(d, p, n, r, eps, s->td, s->tp);
        break;
    }
    return p ? certify_weighted(d, p, 1, n, eps, m, r->dmin, r->dmax) : m;
}

// Shaped rewards of one row: sample j of the row is d[j * stride] (weights
// p[j * stride], p NULL for uniform).
void shape_row(const job_t *jb, int64_t start, int64_t base, const double *d, const double *p,
                      int64_t stride, int64_t n, const row_t *r, double m, srs_preset_vals_t pv) {
    const srs_shape_opts_t *so = jb->so;
    const srs_threshold_opts_t *to = jb->to;
    void *out = jb->shaped;
    srs_dtype_t dt = jb->shaped_dtype;
    int64_t o0 = start - base;
    if (so->design == SRS_DESIGN_RAW) {
        for (int64_t j = 0; j < n; j++) store(out, dt, o0 + j, r->ref + d[j * stride]);
        return;
    }
    srs_row_stats_t st = {r->dmin, r->dmax, r->mean, 0.0, m, pv.b_eff};
    if (so->design == SRS_DESIGN_MEANSTD) {
        double v = 0;
        for (int64_t j = 0; j < n; j++) {
            double e = d[j * stride] - r->mean;
            v += (p ? p[j * stride] : 1.0) * e * e;
        }
        st.std = sqrt(v / r->wsum);
    }
    double clip = so->clip >= 0 ? so->clip : to->B;
    for (int64_t j = 0; j < n; j++)
        store(out, dt, o0 + j, srs_shape_value(so->design, d[j * stride], &st, to->B, so->alpha, clip));
}

// ----------------------------------------------------------------------------
// hooks for the evaluation engine (host/eval.c; declared in internal.h).
// Evaluation re-solves m* per row for every beta of a sweep on a row it has
// already loaded, so it reuses the row loader and solvers above rather than
// the whole-batch entry points. Owned by the evaluation work; kept at the end
// so the solver code above can change freely behind these two calls.

int srs_cpu_load_row(const srs_batch_t *b, int64_t start, int64_t n, double *d, double *p,
                     srs_cpu_row_t *out) {
    row_t r;
    int rc = load_row(b, start, n, d, p, &r);
    if (rc != ROW_OK) return rc;
    out->ref = r.ref;
    out->dmin = r.dmin;
    out->dmax = r.dmax;
    out->umin = r.umin;
    out->umax = r.umax;
    out->wsum = r.wsum;
    out->mean = r.mean;
    return 0;
}

double srs_cpu_solve_row(const srs_threshold_opts_t *o, const double *d, const double *p, int64_t n,
                         const srs_cpu_row_t *row, double eps, double *td, double *tp) {
    row_t r = {row->ref, row->dmin, row->dmax, row->umin, row->umax, row->wsum, row->mean};
    scratch_t s;
    memset(&s, 0, sizeof s);
    s.td = td;
    s.tp = tp;
    job_t jb;
    memset(&jb, 0, sizeof jb);
    jb.to = o;
    return solve_row(&jb, d, p, n, &r, eps, &s);
}
