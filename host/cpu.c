/*
 * cpu.c — the CPU backend: thresholds m*(x) and shaped rewards, OpenMP over
 * prompts.
 *
 * Each row is read from the input once, into a per-thread scratch buffer of
 * doubles (validated and shifted by its first reward as it is copied), and the
 * solver iterates there while the row sits in L1/L2: the CPU analogue of a GPU
 * kernel holding the row in registers or shared memory.
 *
 * The shift: d_j = u_j - u_0. F is shift-invariant, so the solvers work on d
 * and m* = u_0 + root(d). Large offsets (rewards around 1e6 with a spread of 1)
 * then cost no precision. Base weights are kept unnormalised (exp(logw - max));
 * F's sign and the set value do not depend on the scale, and uniform rows use
 * weight 1 without a weight array at all.
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
 *               is R(active set), no tolerance.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "srs_math.h"

#define BISECT_MAX_ITER 2000
#define EXACT_WARM_PASSES 4

// min/max as compare-selects: libm's fmin/fmax are out-of-line calls (their
// NaN rules stop gcc inlining them) and would keep the hot loops scalar.
// Values reaching them are finite or caught by the finiteness test.
#define lo2 srs_min
#define hi2 srs_max

// ----------------------------------------------------------------------------
// per-thread scratch

// Short rows are solved LANES at a time, one row per SIMD lane (see "short
// rows, eight at a time" below).
#define LANES 8
#define LANE_MAX_N 64

typedef struct {
    double d[LANE_MAX_N * LANES];   // (n, lanes) shifted rewards, sample-major; padding 0
    double p[LANE_MAX_N * LANES];   // (n, lanes) weights: 1 uniform, exp(logw - max); padding 0
    int64_t row[LANES], start[LANES], len[LANES];
    double ref[LANES], umin[LANES], umax[LANES];
    int nl;                         // lanes in use
} lanes_t;

typedef struct {
    double *d;    // (max_len,) shifted rewards of the current row
    double *p;    // (max_len,) unnormalised base weights, when the batch has logw
    double *td;   // (max_len,) exact solver: undecided samples
    double *tp;   // (max_len,) exact solver: their weights
    lanes_t *g;   // the group of short rows being filled
    double memo_lg, memo_eps;   // exp(-lg) of the last row: lg rarely changes between rows
} scratch_t;

static int scratch_init(scratch_t *s, int64_t max_len, int weighted) {
    size_t n = (size_t)(max_len > 0 ? max_len : 1);
    memset(s, 0, sizeof *s);
    s->d = malloc(n * sizeof(double));
    s->td = malloc(n * sizeof(double));
    // the lane solvers' finish needs weights even for uniform rows
    s->tp = malloc((n > LANE_MAX_N ? n : LANE_MAX_N) * sizeof(double));
    if (weighted) s->p = malloc(n * sizeof(double));
    s->g = aligned_alloc(64, (sizeof *s->g + 63) / 64 * 64);  // size: a multiple of the alignment
    s->memo_lg = NAN;
    return s->d && s->td && s->tp && s->g && (!weighted || s->p);
}

static void scratch_free(scratch_t *s) {
    free(s->d);
    free(s->p);
    free(s->td);
    free(s->tp);
    free(s->g);
}

// The preset's constants for a row, with exp(-lg) memoised per thread.
static inline srs_preset_vals_t preset_row(const srs_threshold_opts_t *o, double dmin, double dmax,
                                           scratch_t *s) {
    srs_preset_vals_t v = srs_preset_bounds(o->preset, o->B, o->beta, o->cap, dmin, dmax);
    if (!(v.lg == s->memo_lg)) {
        s->memo_lg = v.lg;
        s->memo_eps = exp(-v.lg);
    }
    v.eps = s->memo_eps;
    return v;
}

// ----------------------------------------------------------------------------
// loading a row: copy, shift, validate, min/max/mean

typedef struct {
    double ref;        // u_0: the shift
    double dmin, dmax; // range of d
    double umin, umax; // range of u (d + ref may differ from it by an ulp)
    double wsum;       // sum of weights (n when uniform)
    double mean;       // weighted mean of d
} row_t;

enum { ROW_OK = 0, ROW_EMPTY, ROW_BAD_REWARD, ROW_BAD_LOGW };

static inline double vec_at(const srs_vec_t *v, int64_t i) {
    return v->dtype == SRS_F32 ? (double)((const float *)v->data)[i] : ((const double *)v->data)[i];
}

// Finds the first non-finite value of v in [start, start+n) (error path only).
static int64_t first_nonfinite(const srs_vec_t *v, int64_t start, int64_t n) {
    for (int64_t j = 0; j < n; j++)
        if (!isfinite(vec_at(v, start + j))) return j;
    return -1;
}

// x - x is 0 for finite x and NaN for NaN/inf: a branch-free finiteness test
// that vectorises.
#define LOAD_LOOP(T)                                                          \
    do {                                                                      \
        const T *src = (const T *)b->reward.data + start;                     \
        double ref = (double)src[0], mn = 0, mx = 0, sum = 0, bad = 0;        \
        double umn = ref, umx = ref;                                          \
        _Pragma("omp simd reduction(min:mn,umn) reduction(max:mx,umx) reduction(+:sum,bad)") \
        for (int64_t j = 0; j < n; j++) {                                     \
            double x = (double)src[j];                                        \
            double dj = x - ref;                                              \
            d[j] = dj;                                                        \
            mn = lo2(mn, dj);                                                 \
            mx = hi2(mx, dj);                                                 \
            umn = lo2(umn, x);                                                \
            umx = hi2(umx, x);                                                \
            sum += dj;                                                        \
            bad += (x - x);                                                   \
        }                                                                     \
        if (bad != 0 || isnan(bad) || !isfinite(ref)) return ROW_BAD_REWARD;   \
        r->ref = ref; r->dmin = mn; r->dmax = mx; dsum = sum;                 \
        r->umin = umn; r->umax = umx;                                         \
    } while (0)

static int load_row(const srs_batch_t *b, int64_t start, int64_t n, double *d, double *p, row_t *r) {
    if (n <= 0) return ROW_EMPTY;
    double dsum;
    if (b->reward.dtype == SRS_F32) LOAD_LOOP(float);
    else LOAD_LOOP(double);
    if (!isfinite(r->dmax - r->dmin)) return ROW_BAD_REWARD;  // range overflows double
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
    double f = 0;
    if (p) {
        _Pragma("omp simd reduction(+:f)")
        for (int64_t j = 0; j < n; j++) f += (d[j] >= m ? 1.0 : eps) * p[j] * (d[j] - m);
    } else {
        _Pragma("omp simd reduction(+:f)")
        for (int64_t j = 0; j < n; j++) f += (d[j] >= m ? 1.0 : eps) * (d[j] - m);
    }
    return f;
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
        else return mid;
    }
    return lo + 0.5 * (hi - lo);
}

// Sums over the active set A = {d >= m} and its complement, and the smallest
// active value (to tell whether the next iterate changes A).
static inline void active_sums(const double *d, const double *p, int64_t n, double m, double *s_hi,
                               double *p_hi, double *s_lo, double *p_lo, double *min_hi) {
    double sh = 0, ph = 0, sl = 0, pl = 0, mh = INFINITY;
    if (p) {
        _Pragma("omp simd reduction(+:sh,ph,sl,pl) reduction(min:mh)")
        for (int64_t j = 0; j < n; j++) {
            int a = d[j] >= m;
            double w = p[j], wd = w * d[j];
            sh += a ? wd : 0.0;
            ph += a ? w : 0.0;
            sl += a ? 0.0 : wd;
            pl += a ? 0.0 : w;
            mh = lo2(mh, a ? d[j] : INFINITY);
        }
    } else {
        _Pragma("omp simd reduction(+:sh,ph,sl,pl) reduction(min:mh)")
        for (int64_t j = 0; j < n; j++) {
            int a = d[j] >= m;
            sh += a ? d[j] : 0.0;
            ph += a ? 1.0 : 0.0;
            sl += a ? 0.0 : d[j];
            pl += a ? 0.0 : 1.0;
            mh = lo2(mh, a ? d[j] : INFINITY);
        }
    }
    *s_hi = sh; *p_hi = ph; *s_lo = sl; *p_lo = pl; *min_hi = mh;
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
            double v = srs_set_value(sh + s_pre, num_p, sl + (sc - s_pre), pl + (pc - p_pre), eps);
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
        double f = (sh + s_gt) - v * (ph + p_gt) + eps * ((sl + s_lt) - v * (pl + p_lt));
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
    double m = srs_set_value(sh, ph, sl, pl, eps);
    return lo2(hi2(m, dmin), dmax);
}

// Exact: a few Dinkelbach passes first (vectorised; each one decides every
// sample below its iterate, since iterates never pass the root), then the
// partition search on the samples still undecided. The result is the value of
// the final active set either way.
static double solve_exact(const double *d, const double *p, int64_t n, const row_t *r, double eps,
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
// the row loop shared by thresholds and shaping

typedef struct {
    const srs_batch_t *b;
    const srs_threshold_opts_t *to;
    const srs_shape_opts_t *so;   // NULL: thresholds only
    double *m_star, *b_eff;       // (n_prompts,) or NULL
    void *shaped;                 // (n_samples,) or NULL
    srs_dtype_t shaped_dtype;
} job_t;

static inline void store(void *out, srs_dtype_t dt, int64_t i, double x) {
    if (dt == SRS_F32) ((float *)out)[i] = (float)x;
    else ((double *)out)[i] = x;
}

// Solves one loaded row; returns m* in shifted coordinates.
static double solve_row(const job_t *jb, const double *d, const double *p, int64_t n, const row_t *r,
                        double eps, scratch_t *s) {
    const srs_threshold_opts_t *o = jb->to;
    if (r->dmax == r->dmin) return r->dmin;  // n = 1 or all equal: m* = u
    switch (o->solver) {
    case SRS_SOLVER_BISECT:
        return solve_bisect(d, p, n, r, eps, o->tol, o->max_iter > 0 ? o->max_iter : BISECT_MAX_ITER);
    case SRS_SOLVER_DINKELBACH:
        // each non-final iteration shrinks the active set: n + 1 passes suffice
        return solve_dinkelbach(d, p, n, r, eps, o->max_iter > 0 ? o->max_iter : (int)(n + 2));
    default:
        return solve_exact(d, p, n, r, eps, s->td, s->tp);
    }
}

// m* in the input's coordinates: the endpoints map to the exact input values
// (u_0 + (u_max - u_0) can be an ulp off u_max), interior values are clamped.
static inline double unshift(const row_t *r, double m) {
    if (m >= r->dmax) return r->umax;
    if (m <= r->dmin) return r->umin;
    return lo2(hi2(r->ref + m, r->umin), r->umax);
}

// Shaped rewards of one row: sample j of the row is d[j * stride] (weights
// p[j * stride], p NULL for uniform).
static void shape_row(const job_t *jb, int64_t start, int64_t base, const double *d, const double *p,
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
// short rows, eight at a time
//
// Rows of at most LANE_MAX_N samples are solved in groups of LANES rows, one
// row per SIMD lane: the group is stored sample-major (sample j of lane l at
// j*LANES + l) and every pass runs over the samples with the lane loop
// innermost, so one vector instruction advances eight rows and no horizontal
// reduction is needed. A lane's arithmetic is sequential over its own samples
// and never reads another lane, so a row's result does not depend on which
// rows share its group: chunking, threads and batch composition leave it
// bit-identical. Padding (samples past a row's length) is d = 0, p = 0: 0 is
// always inside a row's range (d is shifted by the row's first sample) and
// zero weight adds nothing to any sum.

// Loads row i into lane l (validated, shifted, weighted). Returns ROW_*.
#define LANE_LOAD_LOOP(T)                                                     \
    do {                                                                      \
        const T *src = (const T *)b->reward.data + start;                     \
        ref = (double)src[0];                                                 \
        umn = umx = ref;                                                      \
        for (int64_t j = 0; j < n; j++) {                                     \
            double x = (double)src[j];                                        \
            bad += x - x;                                                     \
            d[j * LANES] = x - ref;                                           \
            umn = lo2(umn, x);                                                \
            umx = hi2(umx, x);                                                \
        }                                                                     \
    } while (0)

static int lane_load(lanes_t *g, int l, const srs_batch_t *b, int64_t i) {
    int64_t start, n;
    srs_batch_row(b, i, &start, &n);
    double *d = g->d + l, *p = g->p + l;
    double ref, umn, umx, bad = 0;
    if (b->reward.dtype == SRS_F32) LANE_LOAD_LOOP(float);
    else LANE_LOAD_LOOP(double);
    if (bad != 0 || isnan(bad) || !isfinite(umx - umn)) return ROW_BAD_REWARD;
    if (b->logw.data) {
        double lmax = -INFINITY;
        for (int64_t j = 0; j < n; j++) {
            double lw = vec_at(&b->logw, start + j);
            bad += lw - lw;
            p[j * LANES] = lw;
            lmax = hi2(lmax, lw);
        }
        if (bad != 0 || isnan(bad)) return ROW_BAD_LOGW;
        for (int64_t j = 0; j < n; j++) p[j * LANES] = exp(p[j * LANES] - lmax);
    } else {
        for (int64_t j = 0; j < n; j++) p[j * LANES] = 1.0;
    }
    g->row[l] = i;
    g->start[l] = start;
    g->len[l] = n;
    g->ref[l] = ref;
    g->umin[l] = umn;
    g->umax[l] = umx;
    return ROW_OK;
}

// Per-lane state of the solvers.
typedef struct {
    double dmin[LANES], dmax[LANES], wsum[LANES], mean[LANES], eps[LANES], m[LANES];
    int done[LANES];
    int64_t nmax;
} lane_state_t;

// Dinkelbach on every lane not done, at most max_iter passes; lanes whose
// active set became final are marked done. m holds the iterates.
static void lanes_dinkelbach(const lanes_t *g, lane_state_t *ls, int max_iter) {
    for (int it = 0; it < max_iter; it++) {
        double sh[LANES] = {0}, ph[LANES] = {0}, sl[LANES] = {0}, pl[LANES] = {0}, mh[LANES];
        for (int l = 0; l < LANES; l++) mh[l] = INFINITY;
        for (int64_t j = 0; j < ls->nmax; j++) {
            const double *dj = g->d + j * LANES, *pj = g->p + j * LANES;
#pragma omp simd
            for (int l = 0; l < LANES; l++) {
                // selects of values, then unconditional arithmetic: gcc does
                // not if-convert a conditional multiply (it may trap)
                double x = dj[l], w = pj[l];
                int a = x >= ls->m[l];
                double wa = a ? w : 0.0, wb = a ? 0.0 : w;
                sh[l] += wa * x;
                ph[l] += wa;
                sl[l] += wb * x;
                pl[l] += wb;
                // padding (w = 0) is not a sample
                double c = (a && w > 0) ? x : INFINITY;
                mh[l] = c < mh[l] ? c : mh[l];
            }
        }
        int all = 1;
        for (int l = 0; l < LANES; l++) {
            if (ls->done[l]) continue;
            double next = srs_set_value(sh[l], ph[l], sl[l], pl[l], ls->eps[l]);
            next = lo2(hi2(next, ls->dmin[l]), ls->dmax[l]);
            if (mh[l] >= next || next <= ls->m[l]) ls->done[l] = 1;
            ls->m[l] = next;
            all &= ls->done[l];
        }
        if (all) return;
    }
}

static void lanes_bisect(const lanes_t *g, lane_state_t *ls, double tol, int max_iter) {
    double lo[LANES], hi[LANES], width[LANES], mid[LANES];
    int done[LANES];
    for (int l = 0; l < LANES; l++) {
        lo[l] = ls->dmin[l];
        hi[l] = ls->dmax[l];
        width[l] = tol * hi2(1.0, hi[l] - lo[l]);
        done[l] = ls->done[l] | !(hi[l] - lo[l] > width[l]);
    }
    // The bookkeeping is branch-free too: at n = 16 it costs as much as F.
    for (int it = 0; it < max_iter; it++) {
        int active = 0;
#pragma omp simd reduction(+ : active)
        for (int l = 0; l < LANES; l++) {
            mid[l] = lo[l] + 0.5 * (hi[l] - lo[l]);
            done[l] |= (mid[l] <= lo[l]) | (mid[l] >= hi[l]);  // floating-point resolution
            active += !done[l];
        }
        if (!active) break;
        double f[LANES] = {0};
        for (int64_t j = 0; j < ls->nmax; j++) {
            const double *dj = g->d + j * LANES, *pj = g->p + j * LANES;
#pragma omp simd
            for (int l = 0; l < LANES; l++)
                f[l] += (dj[l] >= mid[l] ? 1.0 : ls->eps[l]) * pj[l] * (dj[l] - mid[l]);
        }
#pragma omp simd
        for (int l = 0; l < LANES; l++) {
            int up = !done[l] & (f[l] >= 0), down = !done[l] & (f[l] <= 0);  // both: F(mid) = 0
            lo[l] = up ? mid[l] : lo[l];
            hi[l] = down ? mid[l] : hi[l];
            done[l] |= !(hi[l] - lo[l] > width[l]);
        }
    }
    for (int l = 0; l < LANES; l++) {
        ls->m[l] = lo[l] + 0.5 * (hi[l] - lo[l]);
        ls->done[l] = done[l];
    }
}

// Solves the group's rows and writes their results.
static void lanes_solve(const job_t *jb, lanes_t *g, scratch_t *s, int64_t base) {
    const srs_threshold_opts_t *o = jb->to;
    lane_state_t ls;
    ls.nmax = 0;
    for (int l = 0; l < g->nl; l++) ls.nmax = g->len[l] > ls.nmax ? g->len[l] : ls.nmax;
    for (int l = 0; l < LANES; l++) {
        int64_t len = l < g->nl ? g->len[l] : 0;
        for (int64_t j = len; j < ls.nmax; j++) g->d[j * LANES + l] = g->p[j * LANES + l] = 0.0;
    }
    // range, weight and mean per lane
    double mn[LANES] = {0}, mx[LANES] = {0}, ws[LANES] = {0}, sd[LANES] = {0};
    for (int64_t j = 0; j < ls.nmax; j++) {
        const double *dj = g->d + j * LANES, *pj = g->p + j * LANES;
#pragma omp simd
        for (int l = 0; l < LANES; l++) {
            mn[l] = dj[l] < mn[l] ? dj[l] : mn[l];
            mx[l] = dj[l] > mx[l] ? dj[l] : mx[l];
            ws[l] += pj[l];
            sd[l] += pj[l] * dj[l];
        }
    }
    srs_preset_vals_t pv[LANES];
    for (int l = 0; l < LANES; l++) {
        ls.dmin[l] = mn[l];
        ls.dmax[l] = mx[l];
        ls.wsum[l] = ws[l];
        ls.mean[l] = l < g->nl ? sd[l] / ws[l] : 0.0;
        pv[l] = preset_row(o, mn[l], mx[l], s);
        ls.eps[l] = pv[l].eps;
        // unused lanes and rows with one value are solved already
        ls.done[l] = l >= g->nl || mx[l] == mn[l];
        ls.m[l] = ls.done[l] ? mn[l] : ls.mean[l];
    }
    switch (o->solver) {
    case SRS_SOLVER_BISECT:
        lanes_bisect(g, &ls, o->tol, o->max_iter > 0 ? o->max_iter : BISECT_MAX_ITER);
        break;
    case SRS_SOLVER_DINKELBACH:
        lanes_dinkelbach(g, &ls, o->max_iter > 0 ? o->max_iter : LANE_MAX_N + 2);
        break;
    default:
        lanes_dinkelbach(g, &ls, EXACT_WARM_PASSES);
        for (int l = 0; l < g->nl; l++) {
            if (ls.done[l]) continue;
            // as solve_exact: samples below the iterate are inactive, search the rest
            double sl = 0, pl = 0, m = ls.m[l];
            int64_t k = 0;
            for (int64_t j = 0; j < g->len[l]; j++) {
                double x = g->d[j * LANES + l], w = g->p[j * LANES + l];
                int keep = x >= m;
                sl += keep ? 0.0 : w * x;
                pl += keep ? 0.0 : w;
                s->td[k] = x;
                s->tp[k] = w;
                k += keep;
            }
            ls.m[l] = srs_exact_search(s->td, s->tp, k, 0, 0, sl, pl, ls.eps[l], ls.dmin[l], ls.dmax[l]);
        }
        break;
    }
    for (int l = 0; l < g->nl; l++) {
        row_t r = {g->ref[l], ls.dmin[l], ls.dmax[l], g->umin[l], g->umax[l], ls.wsum[l], ls.mean[l]};
        int64_t i = g->row[l];
        if (jb->m_star) jb->m_star[i] = unshift(&r, ls.m[l]);
        if (jb->b_eff) jb->b_eff[i] = pv[l].b_eff;
        if (jb->so) shape_row(jb, g->start[l], base, g->d + l, g->p + l, LANES, g->len[l], &r, ls.m[l], pv[l]);
    }
    g->nl = 0;
}

// Rows are taken in chunks of ROW_CHUNK by the threads; within a chunk, short
// rows fill lane groups and long rows are solved one at a time.
#define ROW_CHUNK 64

static srs_status_t run_rows(srs_ctx_t *ctx, const job_t *jb) {
    const srs_batch_t *b = jb->b;
    const int weighted = b->logw.data != NULL;
    int64_t max_len = b->row_len;
    if (b->offsets) {
        max_len = 0;
        for (int64_t i = 0; i < b->n_prompts; i++) {
            int64_t len = b->offsets[i + 1] - b->offsets[i];
            if (len > max_len) max_len = len;
        }
    }
    const int64_t base = b->offsets ? b->offsets[0] : 0;
    int64_t bad_row = INT64_MAX;
    int bad_kind = ROW_OK, nomem = 0;

#pragma omp parallel num_threads(ctx->n_threads)
    {
        scratch_t s;
        int ok = scratch_init(&s, max_len, weighted);
        if (ok) s.g->nl = 0;
        if (!ok) {
#pragma omp atomic write
            nomem = 1;
        }
        const int64_t n_chunks = (b->n_prompts + ROW_CHUNK - 1) / ROW_CHUNK;
#pragma omp for schedule(dynamic, 1)
        for (int64_t c = 0; c < n_chunks; c++) {
            if (!ok) continue;
            int64_t i1 = (c + 1) * ROW_CHUNK < b->n_prompts ? (c + 1) * ROW_CHUNK : b->n_prompts;
            for (int64_t i = c * ROW_CHUNK; i < i1; i++) {
                int64_t start, n;
                srs_batch_row(b, i, &start, &n);
                row_t r;
                int rc;
                if (n >= 1 && n <= LANE_MAX_N) {
                    rc = lane_load(s.g, s.g->nl, b, i);
                    if (rc == ROW_OK && ++s.g->nl == LANES) lanes_solve(jb, s.g, &s, base);
                } else {
                    rc = load_row(b, start, n, s.d, weighted ? s.p : NULL, &r);
                    if (rc == ROW_OK) {
                        const double *p = weighted ? s.p : NULL;
                        srs_preset_vals_t pv = preset_row(jb->to, r.dmin, r.dmax, &s);
                        double m = solve_row(jb, s.d, p, n, &r, pv.eps, &s);
                        if (jb->m_star) jb->m_star[i] = unshift(&r, m);
                        if (jb->b_eff) jb->b_eff[i] = pv.b_eff;
                        if (jb->so) shape_row(jb, start, base, s.d, p, 1, n, &r, m, pv);
                    }
                }
                if (rc != ROW_OK) {
#pragma omp critical(srs_bad_row)
                    if (i < bad_row) { bad_row = i; bad_kind = rc; }
                }
            }
            if (s.g->nl) lanes_solve(jb, s.g, &s, base);
        }
        scratch_free(&s);
    }
    if (nomem) return srs_fail(ctx, SRS_ERR_NOMEM, "out of memory for row buffers of %lld samples",
                               (long long)max_len);
    if (bad_row == INT64_MAX) return SRS_OK;

    // report the first offending row, with the sample and its value
    int64_t g = b->first_index + bad_row, start, n;
    srs_batch_row(b, bad_row, &start, &n);
    if (bad_kind == ROW_EMPTY)
        return srs_fail_row(ctx, SRS_ERR_BAD_INPUT, g, "row %lld: empty row (no samples)", (long long)g);
    const srs_vec_t *v = bad_kind == ROW_BAD_LOGW ? &b->logw : &b->reward;
    const char *what = bad_kind == ROW_BAD_LOGW ? "logw" : "reward";
    int64_t j = first_nonfinite(v, start, n);
    if (j < 0)
        return srs_fail_row(ctx, SRS_ERR_BAD_INPUT, g,
                            "row %lld: rewards span a range too large for double precision",
                            (long long)g);
    return srs_fail_row(ctx, SRS_ERR_BAD_INPUT, g, "row %lld, sample %lld: %s is %g (must be finite)",
                        (long long)g, (long long)j, what, vec_at(v, start + j));
}

// ----------------------------------------------------------------------------
// backend entry points

static srs_status_t cpu_thresholds(srs_ctx_t *ctx, const srs_batch_t *b, const srs_threshold_opts_t *o,
                                   double *m_star, double *b_eff) {
    job_t jb = {b, o, NULL, m_star, b_eff, NULL, SRS_F64};
    return run_rows(ctx, &jb);
}

static srs_status_t cpu_shape(srs_ctx_t *ctx, const srs_batch_t *b, const srs_threshold_opts_t *to,
                              const srs_shape_opts_t *so, double *m_star, double *b_eff, void *shaped,
                              srs_dtype_t shaped_dtype) {
    job_t jb = {b, to, so, m_star, b_eff, shaped, shaped_dtype};
    return run_rows(ctx, &jb);
}

const srs_backend_t srs_cpu_backend = {"cpu", cpu_thresholds, cpu_shape};

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
