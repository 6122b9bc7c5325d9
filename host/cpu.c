/*
 * cpu.c — the CPU backend: thresholds m*(x) and shaped rewards, OpenMP over
 * prompts.
 *
 * Each row is read from memory once; the solver then works on what sits in
 * L1/L2 (the CPU analogue of a GPU kernel holding the row in registers or
 * shared memory): a per-thread copy of the row in doubles, validated and
 * shifted by its first reward, or for long uniform rows only the samples near
 * the root (three paths, below).
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
 *
 * Three paths: rows of at most LANE_MAX_N samples are solved LANES at a time,
 * one row per SIMD lane (uniform rows loaded a group at a time through 8x8
 * transposes, and the Dinkelbach and exact solvers run on several groups at
 * once with all bookkeeping in vector registers, see lanes_uniform); longer
 * rows with uniform weights (dinkelbach, exact) are read once, straight from
 * the input, against a bracket of the root estimated from
 * a subsample, and the solvers run on the samples inside the bracket only
 * (see "long rows with uniform weights"); other rows (weighted, bisection, a
 * pass limit) are copied into the scratch buffer and solved there. Which path
 * a row takes depends on the row and the options only, and every path sums
 * in a fixed order, so a row's m* never depends on the rows around it, the
 * thread count or the chunking.
 *
 * CPU levels: this file is compiled once per level (v2, v3, v4 on x86-64;
 * host/dispatch.c picks one). The vector code is written once, in AVX-512
 * intrinsics: the instructions themselves at v4, SIMDe's implementation of
 * the same operations on the level's vectors below it (host/simd512.h), so
 * every level runs the same arithmetic and gives the same bits
 * (tests/test_levels.c).
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "srs_math.h"
#include "simd512.h"   // the vector paths, once, for every CPU level

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
#define LANE_GROUPS 4   // groups filled before lanes_uniform solves them together

typedef struct {
    _Alignas(64) double d[LANE_MAX_N * LANES];   // (n, lanes) shifted rewards, sample-major; padding 0
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
    void *mid;    // (max_len + 16,) floats or doubles: a long row's samples inside its bracket
    lanes_t *g;   // (LANE_GROUPS,) groups of short rows: g[ng] is being filled
    int ng;       // groups full and waiting (lanes_uniform only)
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
    s->mid = aligned_alloc(64, ((n + 16) * sizeof(double) + 63) / 64 * 64);
    // size: a multiple of the alignment; zeroed, since a pass over several groups
    // reads (masked out) samples past a shorter group's rows
    size_t gbytes = (LANE_GROUPS * sizeof *s->g + 63) / 64 * 64;
    s->g = aligned_alloc(64, gbytes);
    if (s->g) memset(s->g, 0, gbytes);
    s->memo_lg = NAN;
    return s->d && s->td && s->tp && s->g && s->mid && (!weighted || s->p);
}

static void scratch_free(scratch_t *s) {
    free(s->d);
    free(s->p);
    free(s->td);
    free(s->tp);
    free(s->g);
    free(s->mid);
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

// The statements for j_ in [0, n) with l_ = j_ mod 8: sums into acc[l_] are the
// fixed-order sums of every level (SRS_SUM8 adds the eight partials).
#define FOR8(n, ...)                                                          \
    do {                                                                      \
        int64_t j0_ = 0, n_ = (n);                                            \
        for (; j0_ + 8 <= n_; j0_ += 8)                                       \
            for (int l_ = 0; l_ < 8; l_++) {                                  \
                int64_t j_ = j0_ + l_;                                        \
                __VA_ARGS__                                                   \
            }                                                                 \
        for (int64_t j_ = j0_; j_ < n_; j_++) {                               \
            int l_ = (int)(j_ & 7);                                           \
            __VA_ARGS__                                                       \
        }                                                                     \
    } while (0)
#define SUM8_LOOP(n, acc, TERM) FOR8(n, (acc)[l_] += (TERM);)

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

static int load_row(const srs_batch_t *b, int64_t start, int64_t n, double *d, double *p, row_t *r) {
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
        else return mid;
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
// long rows with uniform weights: a bracket from a subsample, one fused pass
//
// The row is read once, straight from the input (float or double), by a pass
// that also validates it and finds its range: against a bracket [t_lo, t_hi)
// estimated from a subsample of SUB_N samples, it sums d = u - u_0 over the
// row and over {u >= t_hi}, and copies the few samples inside the bracket to
// a buffer. When the bracket holds the root (checked with the exact sums, the
// row's own gamma), every sample outside it is decided: those above are
// active, those below inactive; the solvers then run on the bracket's samples
// alone, from their sums. The sum of the inactive samples is T - S_active:
// its rounding error is a few ulps of n * range, and it enters m* divided by
// at least eps * (inactive count) or multiplied by eps, i.e. a few ulps of the
// range. A bracket that misses (about 1% of rows) costs one more pass over
// the row from a bracket that cannot miss: [R(A(t)), t) below a t whose F is
// negative, [R(A(t)), max u] above one whose F is positive.
//
// Same row, same result: the pass's sums run over 16 fixed lanes (sample j in
// lane j mod 16) combined in a fixed order, for float and double input alike
// and with or without AVX-512; a float input compares against the threshold
// rounded up to float, which selects exactly the samples a double comparison
// would, so float data give the same m* as the same values in double.

#define SUB_N 64          // subsample size (rows longer than LANE_MAX_N >= SUB_N)
#define BRACKET_Z 3.0     // bracket half-width in standard errors of the estimate
#define BRACKET_TRIES 3   // passes before the row falls back to the general path
#define PASS_LANES 16

typedef struct {
    double t_all;     // sum of d over the row
    double s_hi;      // sum of d over u >= t_hi
    int64_t c_hi;     // count of u >= t_hi
    int64_t c_mid;    // count of t_lo <= u < t_hi: their u, in row order, in the mid buffer
    double umin, umax;
} bpass_t;

// Smallest float >= t (as a double comparison would see it): for float x,
// x >= f  <=>  (double)x >= t.
static inline float ceil_to_float(double t) {
    float f = (float)t;
    if ((double)f < t) {
        // nextafterf(f, INFINITY) without the libm call: f is finite or -inf here
        if (f == 0) return FLT_TRUE_MIN;
        uint32_t u;
        memcpy(&u, &f, sizeof u);
        u += f > 0 ? 1u : (uint32_t)-1;
        memcpy(&f, &u, sizeof f);
    }
    return f;
}

// Fixed-order sum of the lanes.
static inline double lanes_sum(const double *a) {
    double s = 0;
    for (int l = 0; l < PASS_LANES; l++) s += a[l];
    return s;
}

// One block of 16 samples: x (16 floats, lanes past the row hold u_0, masked
// out of tm).
#define BPASS_BLOCK_F32(x, tm)                                                       \
    do {                                                                             \
        mn = _mm512_min_ps(mn, x);                                                   \
        mx = _mm512_max_ps(mx, x);                                                   \
        __mmask16 mh_ = _mm512_mask_cmp_ps_mask(tm, x, vhi, _CMP_GE_OQ);              \
        __mmask16 mm_ = _mm512_kandn(mh_, _mm512_mask_cmp_ps_mask(tm, x, vlo, _CMP_GE_OQ)); \
        __m512d d0_ = _mm512_sub_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(x)), vref); \
        __m512d d1_ = _mm512_sub_pd(                                                 \
            _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1))), vref); \
        t0 = _mm512_add_pd(t0, d0_);                                                 \
        t1 = _mm512_add_pd(t1, d1_);                                                 \
        s0 = _mm512_mask_add_pd(s0, (__mmask8)mh_, s0, d0_);                         \
        s1 = _mm512_mask_add_pd(s1, (__mmask8)(mh_ >> 8), s1, d1_);                  \
        c += __builtin_popcount((unsigned)mh_);                                      \
        _mm512_storeu_ps(mid + k, _mm512_maskz_compress_ps(mm_, x));                 \
        k += __builtin_popcount((unsigned)mm_);                                      \
    } while (0)

// mid: (n + 16,) floats
static void bpass_f32(const float *src, int64_t n, double ref, double t_lo, double t_hi, float *mid,
                      bpass_t *r) {
    const __m512 vlo = _mm512_set1_ps(ceil_to_float(t_lo)), vhi = _mm512_set1_ps(ceil_to_float(t_hi));
    const __m512d vref = _mm512_set1_pd(ref);
    __m512 mn = _mm512_set1_ps(src[0]), mx = mn;
    __m512d t0 = _mm512_setzero_pd(), t1 = t0, s0 = t0, s1 = t0;
    int64_t k = 0, j = 0, c = 0;
    for (; j + PASS_LANES <= n; j += PASS_LANES) {
        __m512 x = _mm512_loadu_ps(src + j);
        BPASS_BLOCK_F32(x, (__mmask16)0xFFFF);
    }
    if (j < n) {
        __mmask16 tm = (__mmask16)((1u << (n - j)) - 1);
        __m512 x = _mm512_mask_loadu_ps(_mm512_set1_ps(src[0]), tm, src + j);
        BPASS_BLOCK_F32(x, tm);
    }
    double ta[PASS_LANES], sa[PASS_LANES];
    _mm512_storeu_pd(ta, t0); _mm512_storeu_pd(ta + 8, t1);
    _mm512_storeu_pd(sa, s0); _mm512_storeu_pd(sa + 8, s1);
    r->t_all = lanes_sum(ta);
    r->s_hi = lanes_sum(sa);
    r->c_hi = c;
    r->c_mid = k;
    r->umin = _mm512_reduce_min_ps(mn);
    r->umax = _mm512_reduce_max_ps(mx);
}

// The same pass on doubles: lanes 0-7 and 8-15 of each block of 16 as two
// vectors, so the sums run exactly as in bpass_f32.
#define BPASS_BLOCK_F64(x0, x1, tm)                                                  \
    do {                                                                             \
        mn = _mm512_min_pd(_mm512_min_pd(mn, x0), x1);                               \
        mx = _mm512_max_pd(_mm512_max_pd(mx, x0), x1);                               \
        __mmask8 tm0_ = (__mmask8)(tm), tm1_ = (__mmask8)((tm) >> 8);                \
        __mmask8 h0_ = _mm512_mask_cmp_pd_mask(tm0_, x0, vhi, _CMP_GE_OQ);           \
        __mmask8 h1_ = _mm512_mask_cmp_pd_mask(tm1_, x1, vhi, _CMP_GE_OQ);           \
        __mmask8 g0_ = _mm512_kandn(h0_, _mm512_mask_cmp_pd_mask(tm0_, x0, vlo, _CMP_GE_OQ)); \
        __mmask8 g1_ = _mm512_kandn(h1_, _mm512_mask_cmp_pd_mask(tm1_, x1, vlo, _CMP_GE_OQ)); \
        __m512d d0_ = _mm512_sub_pd(x0, vref), d1_ = _mm512_sub_pd(x1, vref);        \
        t0 = _mm512_add_pd(t0, d0_);                                                 \
        t1 = _mm512_add_pd(t1, d1_);                                                 \
        s0 = _mm512_mask_add_pd(s0, h0_, s0, d0_);                                   \
        s1 = _mm512_mask_add_pd(s1, h1_, s1, d1_);                                   \
        c += __builtin_popcount((unsigned)h0_) + __builtin_popcount((unsigned)h1_);  \
        _mm512_storeu_pd(mid + k, _mm512_maskz_compress_pd(g0_, x0));                \
        k += __builtin_popcount((unsigned)g0_);                                      \
        _mm512_storeu_pd(mid + k, _mm512_maskz_compress_pd(g1_, x1));                \
        k += __builtin_popcount((unsigned)g1_);                                      \
    } while (0)

// mid: (n + 16,) doubles
static void bpass_f64(const double *src, int64_t n, double ref, double t_lo, double t_hi, double *mid,
                      bpass_t *r) {
    const __m512d vlo = _mm512_set1_pd(t_lo), vhi = _mm512_set1_pd(t_hi), vref = _mm512_set1_pd(ref);
    __m512d mn = _mm512_set1_pd(src[0]), mx = mn;
    __m512d t0 = _mm512_setzero_pd(), t1 = t0, s0 = t0, s1 = t0;
    int64_t k = 0, j = 0, c = 0;
    for (; j + PASS_LANES <= n; j += PASS_LANES) {
        __m512d x0 = _mm512_loadu_pd(src + j), x1 = _mm512_loadu_pd(src + j + 8);
        BPASS_BLOCK_F64(x0, x1, 0xFFFFu);
    }
    if (j < n) {
        unsigned tm = (1u << (n - j)) - 1;
        __m512d fill = _mm512_set1_pd(src[0]);
        __m512d x0 = _mm512_mask_loadu_pd(fill, (__mmask8)tm, src + j);
        __m512d x1 = _mm512_mask_loadu_pd(fill, (__mmask8)(tm >> 8), src + j + 8);
        BPASS_BLOCK_F64(x0, x1, tm);
    }
    double ta[PASS_LANES], sa[PASS_LANES];
    _mm512_storeu_pd(ta, t0); _mm512_storeu_pd(ta + 8, t1);
    _mm512_storeu_pd(sa, s0); _mm512_storeu_pd(sa + 8, s1);
    r->t_all = lanes_sum(ta);
    r->s_hi = lanes_sum(sa);
    r->c_hi = c;
    r->c_mid = k;
    r->umin = _mm512_reduce_min_pd(mn);
    r->umax = _mm512_reduce_max_pd(mx);
}

// Sums over the bracket's samples dd (k,) with dd >= m, and the smallest of
// them (INFINITY when none). Thirty-two fixed lanes (sample j in lane j mod
// 32: four accumulators, so the adds do not wait on each other) combined in
// a fixed order, so the same selection always gives the same sums.
static inline double tree8(const double *a) {
    return ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]));
}

#define MID_BLOCK(q, tm)                                                        \
    do {                                                                        \
        __m512d x_ = _mm512_maskz_loadu_pd(tm, dd + j);                         \
        __mmask8 a_ = _mm512_mask_cmp_pd_mask(tm, x_, vm, _CMP_GE_OQ);          \
        vs##q = _mm512_mask_add_pd(vs##q, a_, vs##q, x_);                       \
        vc##q = _mm512_mask_add_pd(vc##q, a_, vc##q, one);                      \
        vn##q = _mm512_mask_min_pd(vn##q, a_, vn##q, x_);                       \
        j += 8;                                                                 \
    } while (0)
#define MID_TAIL_MASK (__mmask8)(k - j >= 8 ? 0xFF : (1u << (k - j)) - 1)

// mid_sums, and with tot != NULL also the plain sum of dd (any fixed order):
// the bracket check needs it, and the first Dinkelbach step comes with it.
static inline void mid_sums_tot(const double *dd, int64_t k, double m, double *s, double *c, double *mh,
                                double *tot) {
    double sa[8], ca[8], ma[8], ta[8];
    const __m512d vm = _mm512_set1_pd(m), one = _mm512_set1_pd(1.0), inf = _mm512_set1_pd(INFINITY);
    __m512d vs0 = _mm512_setzero_pd(), vs1 = vs0, vs2 = vs0, vs3 = vs0;
    __m512d vc0 = vs0, vc1 = vs0, vc2 = vs0, vc3 = vs0, vt = vs0;
    __m512d vn0 = inf, vn1 = inf, vn2 = inf, vn3 = inf;
    int64_t j = 0;
    // four blocks of eight a step, then the tail; BLK is MID_BLOCK or MID_BLOCK_T
#define MID_LOOP(BLK)                                                           \
    do {                                                                        \
        while (j + 32 <= k) {                                                   \
            BLK(0, 0xFF); BLK(1, 0xFF); BLK(2, 0xFF); BLK(3, 0xFF);             \
        }                                                                       \
        if (j < k) BLK(0, MID_TAIL_MASK);                                       \
        if (j < k) BLK(1, MID_TAIL_MASK);                                       \
        if (j < k) BLK(2, MID_TAIL_MASK);                                       \
        if (j < k) BLK(3, MID_TAIL_MASK);                                       \
    } while (0)
#define MID_BLOCK_T(q, tm) do { vt = _mm512_add_pd(vt, _mm512_maskz_loadu_pd(tm, dd + j)); MID_BLOCK(q, tm); } while (0)
    if (tot) MID_LOOP(MID_BLOCK_T);
    else MID_LOOP(MID_BLOCK);
#undef MID_BLOCK_T
#undef MID_LOOP
    _mm512_storeu_pd(sa, _mm512_add_pd(_mm512_add_pd(vs0, vs1), _mm512_add_pd(vs2, vs3)));
    _mm512_storeu_pd(ca, _mm512_add_pd(_mm512_add_pd(vc0, vc1), _mm512_add_pd(vc2, vc3)));
    _mm512_storeu_pd(ma, _mm512_min_pd(_mm512_min_pd(vn0, vn1), _mm512_min_pd(vn2, vn3)));
    _mm512_storeu_pd(ta, vt);
    double mm = INFINITY;
    for (int l = 0; l < 8; l++) mm = lo2(mm, ma[l]);
    *s = tree8(sa);
    *c = tree8(ca);
    *mh = mm;
    if (tot) *tot = tree8(ta);
}

static inline void mid_sums(const double *dd, int64_t k, double m, double *s, double *c, double *mh) {
    mid_sums_tot(dd, k, m, s, c, mh, NULL);
}

// Value of the active set with sum sa and count pa in a row of total T and n
// samples (uniform weights). The empty set is the row's mean, or with gamma
// infinite the limit max d; eps * (T - sa) is not formed for it, since with
// tiny rewards (1e-300) it underflows.
static inline double uni_value(double sa, double pa, double T, double n, double eps, double dmax) {
    if (pa <= 0) return eps > 0 ? T / n : dmax;
    return srs_set_value(sa, pa, T - sa, n - pa, eps);
}

// Brackets from subsamples, for LANES rows at once (one row per SIMD lane, as
// the short rows; a lane never reads another, so a row's bracket depends on
// the row alone). Per row: the root m_s of SUB_N evenly spaced samples
// (Dinkelbach, uniform weights, the preset's gamma for the subsample's range),
// and m_s plus and minus BRACKET_Z standard errors of m_s as an estimate of
// the row's root: sd(F_s(m)/s) / |F'(m)/n|, with the finite-population
// correction of sampling without replacement. In u coordinates. The estimate
// only places the bracket; the pass checks it with the row's exact sums.
typedef struct {
    double lo, c, hi;
} bracket_t;

static void sub_brackets(const srs_batch_t *b, const int64_t *rows, const srs_threshold_opts_t *o,
                         scratch_t *s, bracket_t *br) {
    double x[SUB_N * LANES] __attribute__((aligned(64)));   // (SUB_N, lanes)
    double ref[LANES], mn[LANES], mx[LANES], sum[LANES], eps[LANES], m[LANES], fpc[LANES];
    const char *src[LANES];   // a lane's first subsample
    int64_t stride[LANES];    // and their spacing, in bytes
    const size_t elem = b->reward.dtype == SRS_F32 ? sizeof(float) : sizeof(double);
    for (int l = 0; l < LANES; l++) {
        int64_t start, n;
        srs_batch_row(b, rows[l], &start, &n);
        const int64_t st = n / SUB_N;
        src[l] = (const char *)b->reward.data + (size_t)(start + st / 2) * elem;
        stride[l] = st * (int64_t)elem;
        ref[l] = vec_at(&b->reward, start);
        fpc[l] = 1.0 - (double)SUB_N / (double)n;
        mn[l] = mx[l] = sum[l] = 0;
    }
    {
        // sample i of the eight rows as one vector: no scattered scalar stores
        const __m512d vref = _mm512_loadu_pd(ref);
        __m512d vmn = _mm512_setzero_pd(), vmx = vmn, vsum = vmn;
#define SUB_AT(T, l) (*(const T *)(src[l] + i * stride[l]))
        for (int i = 0; i < SUB_N; i++) {
            __m512d xi;
            if (b->reward.dtype == SRS_F32)
                xi = _mm512_cvtps_pd(_mm256_setr_ps(SUB_AT(float, 0), SUB_AT(float, 1), SUB_AT(float, 2),
                                                    SUB_AT(float, 3), SUB_AT(float, 4), SUB_AT(float, 5),
                                                    SUB_AT(float, 6), SUB_AT(float, 7)));
            else
                xi = _mm512_setr_pd(SUB_AT(double, 0), SUB_AT(double, 1), SUB_AT(double, 2), SUB_AT(double, 3),
                                    SUB_AT(double, 4), SUB_AT(double, 5), SUB_AT(double, 6), SUB_AT(double, 7));
#undef SUB_AT
            xi = _mm512_sub_pd(xi, vref);
            _mm512_store_pd(x + i * LANES, xi);
            vmn = _mm512_min_pd(vmn, xi);
            vmx = _mm512_max_pd(vmx, xi);
            vsum = _mm512_add_pd(vsum, xi);
        }
        _mm512_storeu_pd(mn, vmn);
        _mm512_storeu_pd(mx, vmx);
        _mm512_storeu_pd(sum, vsum);
    }
    for (int l = 0; l < LANES; l++) {
        eps[l] = preset_row(o, mn[l], mx[l], s).eps;
        m[l] = sum[l] / SUB_N;
    }
    {
        const __m512d one = _mm512_set1_pd(1.0), veps = _mm512_loadu_pd(eps), vsum = _mm512_loadu_pd(sum);
        const __m512d vn = _mm512_set1_pd(SUB_N), vzero = _mm512_setzero_pd();
        // the empty set's value (uni_value); A(m) is never empty from the mean, kept for form
        const __m512d vempty = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(veps, vzero, _CMP_GT_OQ),
                                                    _mm512_loadu_pd(mx), _mm512_div_pd(vsum, vn));
        __m512d vm = _mm512_loadu_pd(m);
        __mmask8 live = 0xFF;
        for (int it = 0; it < SUB_N + 2 && live; it++) {
            // two accumulators: the adds of one pass do not all wait on each other
            __m512d s0 = vzero, s1 = vzero, p0 = vzero, p1 = vzero;
            __m512d n0 = _mm512_set1_pd(INFINITY), n1 = n0;
            for (int i = 0; i < SUB_N; i += 2) {
                __m512d x0 = _mm512_load_pd(x + i * LANES), x1 = _mm512_load_pd(x + (i + 1) * LANES);
                __mmask8 a0 = _mm512_cmp_pd_mask(x0, vm, _CMP_GE_OQ), a1 = _mm512_cmp_pd_mask(x1, vm, _CMP_GE_OQ);
                s0 = _mm512_mask_add_pd(s0, a0, s0, x0);
                s1 = _mm512_mask_add_pd(s1, a1, s1, x1);
                p0 = _mm512_mask_add_pd(p0, a0, p0, one);
                p1 = _mm512_mask_add_pd(p1, a1, p1, one);
                n0 = _mm512_mask_min_pd(n0, a0, n0, x0);
                n1 = _mm512_mask_min_pd(n1, a1, n1, x1);
            }
            __m512d sh = _mm512_add_pd(s0, s1), ph = _mm512_add_pd(p0, p1), mh = _mm512_min_pd(n0, n1);
            __m512d num = _mm512_add_pd(sh, _mm512_mul_pd(veps, _mm512_sub_pd(vsum, sh)));
            __m512d den = _mm512_add_pd(ph, _mm512_mul_pd(veps, _mm512_sub_pd(vn, ph)));
            __m512d next = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(ph, vzero, _CMP_LE_OQ),
                                                _mm512_div_pd(num, den), vempty);
            // done unless some active sample lies below next and next rose
            __mmask8 go = _mm512_cmp_pd_mask(mh, next, _CMP_LT_OQ) & _mm512_cmp_pd_mask(next, vm, _CMP_GT_OQ);
            vm = _mm512_mask_mov_pd(vm, live, next);
            live &= go;
        }
        _mm512_storeu_pd(m, vm);
    }
    double f2[LANES] = {0}, ws[LANES] = {0};
    for (int i = 0; i < SUB_N; i++) {
        const double *xi = x + i * LANES;
#pragma omp simd
        for (int l = 0; l < LANES; l++) {
            double w = xi[l] >= m[l] ? 1.0 : eps[l], f = w * (xi[l] - m[l]);
            f2[l] += f * f;
            ws[l] += w;
        }
    }
    for (int l = 0; l < LANES; l++) {
        double se = sqrt(f2[l] / SUB_N * fpc[l] / SUB_N) / (ws[l] / SUB_N);
        double half = BRACKET_Z * se;
        br[l].lo = ref[l] + (m[l] - half);
        br[l].c = ref[l] + m[l];
        br[l].hi = ref[l] + (m[l] + half);
    }
}

static inline void bpass(const srs_vec_t *v, int64_t start, int64_t n, double ref, double t_lo,
                         double t_hi, void *mid, bpass_t *r) {
    if (v->dtype == SRS_F32) bpass_f32((const float *)v->data + start, n, ref, t_lo, t_hi, mid, r);
    else bpass_f64((const double *)v->data + start, n, ref, t_lo, t_hi, mid, r);
}

// The bracket's samples as d = u - ref into dd (k,), their sum, and in the
// same pass the first Dinkelbach step's sums at c (exactly mid_sums(dd, k, c)).
typedef struct {
    double s, n, mh;   // active sum, count and smallest active value at c
} mid_first_t;

static double mid_to_d(const srs_vec_t *v, const void *mid, int64_t k, double ref, double c, double *dd,
                       mid_first_t *f) {
    if (v->dtype == SRS_F32) {
        const float *x = mid;
        for (int64_t j = 0; j < k; j++) dd[j] = (double)x[j] - ref;
    } else {
        const double *x = mid;
        for (int64_t j = 0; j < k; j++) dd[j] = x[j] - ref;
    }
    double t;
    mid_sums_tot(dd, k, c, &f->s, &f->n, &f->mh, &t);
    return t;
}

// Solves the row given the decided active sums (sh, ph), the row total T and
// the bracket's samples dd (k,), all >= t_lo (d coordinates) and all below
// the decided active ones. Dinkelbach starts from R(A(c)) for the subsample's
// estimate c inside the bracket (any set's value is at most the root; an
// iterate below t_lo acts as t_lo, where F >= 0). Both solvers end on
// R(active set) computed by mid_sums, so they agree to the bit when they find
// the same set.
static double bracket_finish(srs_solver_t solver, double *dd, int64_t k, double c, const mid_first_t *first,
                             double sh, double ph, double T, double n, double eps, const row_t *r, double *td) {
    double m = c;
    int passes = solver == SRS_SOLVER_DINKELBACH ? (int)k + 3 : EXACT_WARM_PASSES + 1;
    for (int it = 0; it < passes; it++) {
        double sa, ca, mh;
        if (it == 0) {
            sa = first->s;
            ca = first->n;
            mh = first->mh;
        } else {
            mid_sums(dd, k, m, &sa, &ca, &mh);
        }
        double next = uni_value(sh + sa, ph + ca, T, n, eps, r->dmax);
        next = lo2(hi2(next, r->dmin), r->dmax);
        // the set is final when no sample lies in [m, next); from c (not a
        // set's value) only that test applies
        if (mh >= next && next >= m) return next;
        if (it > 0 && next <= m) return next;
        m = next;
    }
    if (solver == SRS_SOLVER_DINKELBACH) return m;
    // exact: samples below m are inactive, search the rest
    int64_t u = 0;
    double su = 0;
    for (int64_t j = 0; j < k; j++) {
        double x = dd[j];
        int keep = x >= m;
        su += keep ? x : 0.0;
        td[u] = x;
        u += keep;
    }
    double sl = T - sh - su, pl = n - ph - (double)u;
    double me = srs_exact_search(td, NULL, u, sh, ph, sl, pl, eps, r->dmin, r->dmax);
    double sa, ca, mh;
    mid_sums(dd, k, me, &sa, &ca, &mh);
    double v = uni_value(sh + sa, ph + ca, T, n, eps, r->dmax);
    return lo2(hi2(v, r->dmin), r->dmax);
}

enum { LONG_OK = 0, LONG_GENERAL };

// The largest double t with t - ref <= m (as computed): the pass compares u
// against t, the sums see t - ref, and a bound meant to lie at or below the
// root must not be pushed above it by the rounding of ref + m.
static inline double u_at_or_below(double ref, double m) {
    double t = ref + m;
    for (int i = 0; i < 4 && t - ref > m; i++) t = nextafter(t, -INFINITY);
    return t;
}

// m* of a long uniform row [start, start+n) (shifted coordinates) and the
// row's loader values (mean excepted), or LONG_GENERAL: the row is left to
// the general path (bad values, sums out of range, a bracket that would not
// close), which reports or solves it.
static int solve_long_uniform(const srs_threshold_opts_t *o, const srs_vec_t *v, int64_t start, int64_t n,
                              const bracket_t *br, scratch_t *s, row_t *r, double *m_out,
                              srs_preset_vals_t *pv) {
    const double ref = vec_at(v, start);
    double t_lo = br->lo, t_c = br->c, t_hi = br->hi;
    bpass_t bp;
    bpass(v, start, n, ref, t_lo, t_hi, s->mid, &bp);
    if (!(isfinite(bp.t_all) && isfinite(bp.s_hi)) || srs_row_too_wide(bp.umin - ref, bp.umax - ref, (double)n))
        return LONG_GENERAL;   // the general path reports the row
    r->ref = ref;
    r->umin = bp.umin;
    r->umax = bp.umax;
    r->dmin = bp.umin - ref;
    r->dmax = bp.umax - ref;
    r->wsum = (double)n;
    r->mean = bp.t_all / (double)n;
    *pv = preset_row(o, r->dmin, r->dmax, s);
    if (r->dmax == r->dmin) {
        *m_out = r->dmin;
        return LONG_OK;
    }
    const double eps = pv->eps, T = bp.t_all, nn = (double)n;
    int lo_is_value = 0;   // t_lo is at or below the value of a set (hence at or below the root)
    for (int tries = 0; tries < BRACKET_TRIES; tries++) {
        int64_t k = bp.c_mid;
        mid_first_t first;
        double smid = mid_to_d(v, s->mid, k, ref, t_c - ref, s->d, &first);
        double sh = bp.s_hi, ph = (double)bp.c_hi;
        double lo_d = t_lo - ref, hi_d = t_hi - ref;
        // F(t) >= 0 <=> R(A(t)) >= t: the values, not F, whose eps-terms
        // can underflow to a false zero
        double r_lo = uni_value(sh + smid, ph + (double)k, T, nn, eps, r->dmax);
        double r_hi = uni_value(sh, ph, T, nn, eps, r->dmax);
        if (r_lo >= lo_d && r_hi <= hi_d) {
            *m_out = bracket_finish(o->solver, s->d, k, t_c - ref, &first, sh, ph, T, nn, eps, r, s->td);
            return LONG_OK;
        }
        if (lo_is_value && r_lo <= lo_d) {
            // below a set's value F is >= 0, so this is rounding at the root:
            // Dinkelbach's stop (the value did not rise)
            *m_out = lo2(hi2(r_lo, r->dmin), r->dmax);
            return LONG_OK;
        }
        // a bracket that cannot miss, from a set's value (at most the root)
        if (!(r_lo >= lo_d)) {
            t_hi = t_lo;
            t_lo = u_at_or_below(ref, r_lo);
        } else {
            t_lo = u_at_or_below(ref, r_hi);
            t_hi = r->umax;
        }
        t_c = t_lo;
        lo_is_value = 1;
        bpass(v, start, n, ref, t_lo, t_hi, s->mid, &bp);
    }
    return LONG_GENERAL;
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
// zero weight adds nothing to any sum. (lanes_uniform, uniform rows only,
// masks the padding out instead, and sums over four accumulators.)

// The first bad row of the batch (smallest index) is the one reported.
static inline void note_bad(int64_t *bad_row, int *bad_kind, int64_t i, int rc) {
#pragma omp critical(srs_bad_row)
    if (i < *bad_row) { *bad_row = i; *bad_kind = rc; }
}

// Uniform rows are not copied one by one: lane_load only records them, and
// lanes_fill_uniform reads the group's eight rows eight samples at a time and
// transposes each 8x8 block in registers into the sample-major layout,
// checking finiteness and the range on the way (the same values as the copy
// one row at a time: d = u - u_0, padding d = 0).

static inline void transpose8(__m512d r[8]) {
    __m512d t[8], u[8];
    for (int q = 0; q < 8; q += 2) {
        t[q] = _mm512_unpacklo_pd(r[q], r[q + 1]);
        t[q + 1] = _mm512_unpackhi_pd(r[q], r[q + 1]);
    }
    u[0] = _mm512_shuffle_f64x2(t[0], t[2], 0x88);
    u[1] = _mm512_shuffle_f64x2(t[1], t[3], 0x88);
    u[2] = _mm512_shuffle_f64x2(t[0], t[2], 0xdd);
    u[3] = _mm512_shuffle_f64x2(t[1], t[3], 0xdd);
    u[4] = _mm512_shuffle_f64x2(t[4], t[6], 0x88);
    u[5] = _mm512_shuffle_f64x2(t[5], t[7], 0x88);
    u[6] = _mm512_shuffle_f64x2(t[4], t[6], 0xdd);
    u[7] = _mm512_shuffle_f64x2(t[5], t[7], 0xdd);
    for (int q = 0; q < 4; q++) {
        r[q] = _mm512_shuffle_f64x2(u[q], u[q + 4], 0x88);
        r[q + 4] = _mm512_shuffle_f64x2(u[q], u[q + 4], 0xdd);
    }
}

// The group's per-lane values as vectors (lanes past nl: 0).
typedef struct {
    __m512d ref, umin, umax, len, tot;
} lanes_vecs_t;

// Fills d (nmax, lanes) of the group's nl recorded rows (padding of a shorter
// row d = 0; from nmax to nmax rounded up to 8, -inf), and ref, umin, umax;
// with vv non-NULL also those as vectors with the lengths and each lane's sum
// of d, and with valid non-NULL valid[j], the lanes that have a sample j,
// for j up to nmax rounded up to 8. Returns the mask of lanes with a
// non-finite reward or a range beyond double.

static inline __attribute__((always_inline)) unsigned lanes_fill_uniform(lanes_t *g, const srs_batch_t *b,
                                                                         int64_t nmax, lanes_vecs_t *vv,
                                                                         __mmask8 *valid) {
    const int f32 = b->reward.dtype == SRS_F32, nl = g->nl;
    int ragged = nl < LANES;
    for (int l = 0; l < nl; l++) ragged |= g->len[l] != nmax;
    // Eight whole rows of a multiple of eight samples need no padding, and
    // their u_0 come with the first block; otherwise the padding value u_0
    // is read first. (Vectors built from eight scalar stores wait for the
    // stores: the loads cannot be forwarded from them.)
    const int padded = ragged || (nmax & 7);
    double ref[LANES], lenf[LANES];
    __m512d vref = _mm512_setzero_pd(), vlen = _mm512_set1_pd((double)nmax);
    if (padded) {
        for (int l = 0; l < LANES; l++) {
            ref[l] = l < nl ? vec_at(&b->reward, g->start[l]) : 0.0;
            lenf[l] = l < nl ? (double)g->len[l] : 0.0;
        }
        vref = _mm512_loadu_pd(ref);
        vlen = _mm512_loadu_pd(lenf);
    }
    const __m512d zero = _mm512_setzero_pd();
    // four accumulators each: one chain of dependent operations through the
    // row would cost its latency times n (sums: sample j into j mod 4)
    const __m512d inf = _mm512_set1_pd(INFINITY), ninf = _mm512_set1_pd(-INFINITY);
    __m512d vmn[4] = {inf, inf, inf, inf}, vmx[4] = {ninf, ninf, ninf, ninf}, vt[4] = {zero, zero, zero, zero};
    for (int64_t j0 = 0; j0 < nmax; j0 += 8) {
        __m512d r[8];
        if (!padded) {
            // eight whole rows of eight samples: plain loads
            for (int l = 0; l < LANES; l++)
                r[l] = f32 ? _mm512_cvtps_pd(_mm256_loadu_ps((const float *)b->reward.data + g->start[l] + j0))
                           : _mm512_loadu_pd((const double *)b->reward.data + g->start[l] + j0);
        } else {
            for (int l = 0; l < LANES; l++) {
                int64_t rem = l < nl ? g->len[l] - j0 : 0;
                __mmask8 tm = (__mmask8)(rem >= 8 ? 0xFF : rem > 0 ? (1u << rem) - 1 : 0);
                // past a row's end: its u_0, so d = 0 and the range is unchanged
                if (!tm) r[l] = _mm512_set1_pd(ref[l]);
                else if (f32)
                    r[l] = _mm512_cvtps_pd(_mm256_mask_loadu_ps(_mm256_set1_ps((float)ref[l]), tm,
                                                                (const float *)b->reward.data + g->start[l] + j0));
                else
                    r[l] = _mm512_mask_loadu_pd(_mm512_set1_pd(ref[l]), tm,
                                                (const double *)b->reward.data + g->start[l] + j0);
            }
        }
        transpose8(r);
        if (j0 == 0 && !padded) vref = r[0];
        for (int q = 0; q < 8; q++) {
            __m512d dq = _mm512_sub_pd(r[q], vref);
            vmn[q & 3] = _mm512_min_pd(vmn[q & 3], r[q]);
            vmx[q & 3] = _mm512_max_pd(vmx[q & 3], r[q]);
            vt[q & 3] = _mm512_add_pd(vt[q & 3], dq);   // padding adds d = 0
            // past every row (nmax rounded up to 8): -inf, never active in a pass
            _mm512_store_pd(g->d + (j0 + q) * LANES, j0 + q < nmax ? dq : _mm512_set1_pd(-INFINITY));
            if (valid)
                valid[j0 + q] = ragged ? _mm512_cmp_pd_mask(vlen, _mm512_set1_pd((double)(j0 + q)), _CMP_GT_OQ)
                                       : (__mmask8)(j0 + q < nmax ? 0xFF : 0);
        }
    }
    // min and max: any order; the sum: (0 + 1) + (2 + 3)
    __m512d umin = _mm512_min_pd(_mm512_min_pd(vmn[0], vmn[1]), _mm512_min_pd(vmn[2], vmn[3]));
    __m512d umax = _mm512_max_pd(_mm512_max_pd(vmx[0], vmx[1]), _mm512_max_pd(vmx[2], vmx[3]));
    __m512d sum = _mm512_add_pd(_mm512_add_pd(vt[0], vt[1]), _mm512_add_pd(vt[2], vt[3]));
    _mm512_storeu_pd(g->umin, umin);
    _mm512_storeu_pd(g->umax, umax);
    _mm512_storeu_pd(g->ref, vref);
    // A NaN or an infinity shows in the range (inf, or NaN from inf - inf)
    // or, for a NaN the min and max pass over, in the total of d; a lane
    // flagged by either and not too wide is checked sample by sample (a
    // total can also overflow from finite values: then the row is too wide).
    __m512d range = _mm512_sub_pd(umax, umin);
    if (vv) *vv = (lanes_vecs_t){vref, umin, umax, vlen, sum};
    // srs_row_too_wide, eight lanes at once: bad without a look at the samples
    const __m512d big = _mm512_set1_pd(DBL_MAX);
    __m512d dlo = _mm512_sub_pd(umin, vref), dhi = _mm512_sub_pd(umax, vref);
    __m512d amax = _mm512_max_pd(_mm512_sub_pd(zero, dlo), dhi);
    unsigned bad = _mm512_cmp_pd_mask(_mm512_sub_pd(dhi, dlo), big, _CMP_NLE_UQ) |
                   _mm512_cmp_pd_mask(_mm512_mul_pd(amax, vlen), big, _CMP_NLE_UQ);
    unsigned suspect = _mm512_cmp_pd_mask(_mm512_abs_pd(sum), big, _CMP_NLE_UQ) |
                       _mm512_cmp_pd_mask(range, big, _CMP_NLE_UQ);
    bad &= (1u << nl) - 1;
    for (int l = 0; l < nl; l++) {
        if (!(suspect >> l & 1) || (bad >> l & 1)) continue;
        if (first_nonfinite(&b->reward, g->start[l], g->len[l]) >= 0) bad |= 1u << l;
    }
    return bad;
}

// Loads row i into lane l (validated, shifted, weighted). Returns ROW_*.
// The checks and the range run as vector reductions over the contiguous row,
// then the copy into the lane: no chain of dependent adds through the row.
#define LANE_LOAD_LOOP(T)                                                     \
    do {                                                                      \
        const T *src = (const T *)b->reward.data + start;                     \
        double mn_ = (double)src[0], mx_ = mn_, bad_ = 0;                     \
        _Pragma("omp simd reduction(min:mn_) reduction(max:mx_) reduction(+:bad_)") \
        for (int64_t j = 0; j < n; j++) {                                     \
            double x = (double)src[j];                                        \
            bad_ += x - x;                                                    \
            mn_ = lo2(mn_, x);                                                \
            mx_ = hi2(mx_, x);                                                \
        }                                                                     \
        ref = (double)src[0];                                                 \
        for (int64_t j = 0; j < n; j++) d[j * LANES] = (double)src[j] - ref;  \
        umn = mn_;                                                            \
        umx = mx_;                                                            \
        bad = bad_;                                                           \
    } while (0)

static int lane_load(lanes_t *g, int l, const srs_batch_t *b, int64_t i) {
    int64_t start, n;
    srs_batch_row(b, i, &start, &n);
    if (!b->logw.data) {
        // read, checked and shifted by lanes_fill_uniform with the group
        g->row[l] = i;
        g->start[l] = start;
        g->len[l] = n;
        return ROW_OK;
    }
    double *d = g->d + l, *p = g->p + l;
    double ref, umn, umx, bad = 0;
    if (b->reward.dtype == SRS_F32) LANE_LOAD_LOOP(float);
    else LANE_LOAD_LOOP(double);
    if (bad != 0 || isnan(bad) || srs_row_too_wide(umn - ref, umx - ref, (double)n)) return ROW_BAD_REWARD;
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
    }
    // uniform rows: lanes_solve writes the weights of the whole group at once
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
    double tot[LANES];   // weighted sum of d
    int done[LANES];
    int64_t nmax;
} lane_state_t;

// Dinkelbach on every lane not done, at most max_iter passes; lanes whose
// active set became final are marked done. m holds the iterates.
static void lanes_dinkelbach(const lanes_t *g, lane_state_t *ls, int max_iter, int uniform) {
    // the same iteration with the per-lane bookkeeping in vector registers:
    // at n = 16 a scalar loop over the lanes, with a branch per lane, costs as
    // much as the pass itself
    const __m512d veps = _mm512_loadu_pd(ls->eps), vlo = _mm512_loadu_pd(ls->dmin);
    const __m512d vhi = _mm512_loadu_pd(ls->dmax), zero = _mm512_setzero_pd();
    const __m512d vtot = _mm512_loadu_pd(ls->tot), vw = _mm512_loadu_pd(ls->wsum);
    __m512d vm = _mm512_loadu_pd(ls->m);
    __mmask8 live = 0;
    for (int l = 0; l < LANES; l++) live |= (__mmask8)(!ls->done[l] << l);
    for (int it = 0; it < max_iter && live; it++) {
        __m512d sh = zero, ph = zero, sl = zero, pl = zero, mh = _mm512_set1_pd(INFINITY);
        if (uniform) {
            // weights 1 (0 for padding): the active sums only; the inactive
            // ones are the lane's totals minus them (see the long rows)
            const __m512d one = _mm512_set1_pd(1.0);
            for (int64_t j = 0; j < ls->nmax; j++) {
                __m512d x = _mm512_load_pd(g->d + j * LANES), w = _mm512_load_pd(g->p + j * LANES);
                __mmask8 a = _mm512_cmp_pd_mask(x, vm, _CMP_GE_OQ) & _mm512_cmp_pd_mask(w, zero, _CMP_GT_OQ);
                sh = _mm512_mask_add_pd(sh, a, sh, x);
                ph = _mm512_mask_add_pd(ph, a, ph, one);
                mh = _mm512_mask_min_pd(mh, a, mh, x);
            }
            sl = _mm512_sub_pd(vtot, sh);
            pl = _mm512_sub_pd(vw, ph);
        } else {
            for (int64_t j = 0; j < ls->nmax; j++) {
                __m512d x = _mm512_load_pd(g->d + j * LANES), w = _mm512_load_pd(g->p + j * LANES);
                __mmask8 a = _mm512_cmp_pd_mask(x, vm, _CMP_GE_OQ);
                __m512d wa = _mm512_maskz_mov_pd(a, w), wb = _mm512_maskz_mov_pd((__mmask8)~a, w);
                sh = _mm512_add_pd(sh, _mm512_mul_pd(wa, x));
                ph = _mm512_add_pd(ph, wa);
                sl = _mm512_add_pd(sl, _mm512_mul_pd(wb, x));
                pl = _mm512_add_pd(pl, wb);
                // padding (w = 0) is not a sample
                mh = _mm512_mask_min_pd(mh, a & _mm512_cmp_pd_mask(w, zero, _CMP_GT_OQ), mh, x);
            }
        }
        __m512d next = _mm512_div_pd(_mm512_add_pd(sh, _mm512_mul_pd(veps, sl)),
                                     _mm512_add_pd(ph, _mm512_mul_pd(veps, pl)));
        next = _mm512_min_pd(_mm512_max_pd(next, vlo), vhi);
        __mmask8 stop = _mm512_cmp_pd_mask(mh, next, _CMP_GE_OQ) | _mm512_cmp_pd_mask(next, vm, _CMP_LE_OQ);
        vm = _mm512_mask_mov_pd(vm, live, next);
        live &= (__mmask8)~stop;
    }
    _mm512_storeu_pd(ls->m, vm);
    for (int l = 0; l < LANES; l++) ls->done[l] = !((live >> l) & 1);
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

// The preset's b_eff and lg (srs_preset_bounds) of eight ranges at once.
static inline void lanes_preset(const srs_threshold_opts_t *o, __m512d range, __m512d *b_eff, __m512d *lg) {
    const __m512d vB = _mm512_set1_pd(o->B), vbeta = _mm512_set1_pd(o->beta);
    switch (o->preset) {
    case SRS_PRESET_PAPER_CD:
        *b_eff = _mm512_min_pd(_mm512_mul_pd(_mm512_set1_pd(2.0), range), vB);
        *lg = _mm512_min_pd(_mm512_div_pd(*b_eff, vbeta), _mm512_set1_pd(o->cap));
        break;
    case SRS_PRESET_PAPER_ARGS:
        *b_eff = _mm512_min_pd(_mm512_mul_pd(_mm512_set1_pd(1.01), range), vB);
        *lg = _mm512_min_pd(_mm512_div_pd(*b_eff, vbeta), _mm512_set1_pd(0.69314718055994530942));
        break;
    default:
        *b_eff = vB;
        *lg = _mm512_div_pd(vB, vbeta);
        break;
    }
}

// Short uniform rows with the Dinkelbach or exact solver, LANE_GROUPS groups
// of eight rows at a time with the bookkeeping in vector registers, from the
// transposed load to the stores of m*. A pass is short at n = 16 and each
// iterate waits on a division: one group alone spends most of its time
// waiting, so several groups are solved together and their chains overlap.
// A lane's sums run over its own row only, in a fixed order (sample j into
// accumulator j mod 4, combined as (0 + 1) + (2 + 3)), so its result does not
// depend on the rows around it.

typedef struct {
    __m512d tot, lo, hi, len, eps, m, ref, umin, umax, beff, lg, mean;
    __mmask8 used, bad, live;
    __mmask8 valid[LANE_MAX_N];   // lanes with a sample j (set when the passes are masked)
} ugroup_t;

// Loads group g and sets up its state.
// masked: the passes over the groups solved with this one use valid masks,
// up to nmax_all samples (the most of a row in any of those groups).
static inline __attribute__((always_inline)) void ugroup_setup(const job_t *jb, lanes_t *g, scratch_t *s,
                                                               ugroup_t *u, int masked, int64_t *bad_row,
                                                               int *bad_kind) {
    const int nl = g->nl;
    int64_t nmax = 0;
    for (int l = 0; l < nl; l++) nmax = g->len[l] > nmax ? g->len[l] : nmax;
    // lanes past nl need no mask: they are never live and never stored; past
    // this group's nmax (rounded up to 8) every mask is 0
    if (masked) memset(u->valid, 0, sizeof u->valid);
    u->used = (__mmask8)((1u << nl) - 1);
    lanes_vecs_t vv;
    u->bad = (__mmask8)lanes_fill_uniform(g, jb->b, nmax, &vv, masked ? u->valid : NULL);
    for (int l = 0; l < nl; l++)
        if (u->bad >> l & 1) note_bad(bad_row, bad_kind, g->row[l], ROW_BAD_REWARD);
    // range (d = u - u_0 is monotone in u: min d = min u - u_0), preset, mean
    u->ref = vv.ref;
    u->umin = vv.umin;
    u->umax = vv.umax;
    u->len = vv.len;
    u->tot = vv.tot;
    u->lo = _mm512_sub_pd(u->umin, u->ref);
    u->hi = _mm512_sub_pd(u->umax, u->ref);
    lanes_preset(jb->to, _mm512_sub_pd(u->hi, u->lo), &u->beff, &u->lg);
    __mmask8 done = (__mmask8)(~u->used | u->bad | _mm512_cmp_pd_mask(u->hi, u->lo, _CMP_EQ_OQ));
    // exp(-lg), memoised: lg is usually the same for every row (a cap)
    if ((_mm512_cmp_pd_mask(u->lg, _mm512_set1_pd(s->memo_lg), _CMP_EQ_OQ) | done) == 0xFF) {
        u->eps = _mm512_set1_pd(s->memo_eps);
    } else {
        double lg[LANES], eps[LANES];
        _mm512_storeu_pd(lg, u->lg);
        for (int l = 0; l < LANES; l++) {
            if (!(done >> l & 1) && !(lg[l] == s->memo_lg)) {
                s->memo_lg = lg[l];
                s->memo_eps = exp(-lg[l]);
            }
            eps[l] = s->memo_eps;
        }
        u->eps = _mm512_loadu_pd(eps);
    }
    u->mean = _mm512_div_pd(u->tot, u->len);
    u->m = _mm512_mask_blend_pd(done, u->mean, u->lo);
    u->live = (__mmask8)~done;
}

// One Dinkelbach pass over group u (its live lanes take the next iterate).
// Four accumulators (sample j into j mod 4): one chain of dependent adds
// through the row would bound the pass by the add latency. masked: some lanes
// lack some samples (valid); otherwise every sample counts.
static inline __attribute__((always_inline)) void ugroup_pass(const lanes_t *g, ugroup_t *u, int64_t nmax,
                                                              const int masked) {
    const srs_d8 zero = srs8_set1(0.0), one = srs8_set1(1.0), inf = srs8_set1(INFINITY);
    const srs_d8 vm = srs8_of(u->m);
    srs_d8 sh0 = zero, sh1 = zero, sh2 = zero, sh3 = zero, ph0 = zero, ph1 = zero, ph2 = zero, ph3 = zero;
    srs_d8 mh0 = inf, mh1 = inf, mh2 = inf, mh3 = inf;
    for (int64_t j = 0; j < nmax; j += 4) {   // d and valid are set up to nmax rounded up to 8
#define UPASS_STEP(q)                                                                                   \
    {                                                                                                   \
        srs_d8 x = srs8_load(g->d + (j + q) * LANES);                                                   \
        srs_k8 a = masked ? srs8_ge_in(u->valid[j + q], x, vm) : srs8_ge(x, vm);                        \
        sh##q = srs8_add_if(sh##q, a, x);                                                               \
        ph##q = srs8_add_if(ph##q, a, one);                                                             \
        mh##q = srs8_min_if(mh##q, a, x);                                                               \
    }
        UPASS_STEP(0) UPASS_STEP(1) UPASS_STEP(2) UPASS_STEP(3)
#undef UPASS_STEP
    }
    __m512d vsh = srs8_to(srs8_add(srs8_add(sh0, sh1), srs8_add(sh2, sh3)));
    __m512d vph = srs8_to(srs8_add(srs8_add(ph0, ph1), srs8_add(ph2, ph3)));
    __m512d vmh = srs8_to(srs8_min(srs8_min(mh0, mh1), srs8_min(mh2, mh3)));
    // srs_set_value, the inactive sums as the totals minus the active ones
    __m512d num = _mm512_add_pd(vsh, _mm512_mul_pd(u->eps, _mm512_sub_pd(u->tot, vsh)));
    __m512d den = _mm512_add_pd(vph, _mm512_mul_pd(u->eps, _mm512_sub_pd(u->len, vph)));
    __m512d next = _mm512_min_pd(_mm512_max_pd(_mm512_div_pd(num, den), u->lo), u->hi);
    // the set is final when no active sample lies below the new iterate
    __mmask8 stop = _mm512_cmp_pd_mask(vmh, next, _CMP_GE_OQ) | _mm512_cmp_pd_mask(next, u->m, _CMP_LE_OQ);
    u->m = _mm512_mask_mov_pd(u->m, u->live, next);
    u->live &= (__mmask8)~stop;
}

// Dinkelbach passes over G groups (at most max_iter each); a group whose
// lanes are all settled takes no more passes. The groups' passes are
// independent, so the out-of-order core overlaps one group's division and
// tests with the next group's pass.
static inline __attribute__((always_inline)) void ugroups_dinkelbach(lanes_t *gs, ugroup_t *us, const int G,
                                                                     int64_t nmax, int max_iter,
                                                                     const int masked) {
    for (int it = 0; it < max_iter; it++) {
        __mmask8 any = 0;
        for (int q = 0; q < G; q++) {
            if (!us[q].live) continue;
            ugroup_pass(&gs[q], &us[q], nmax, masked);
            any |= us[q].live;
        }
        if (!any) break;
    }
}

// The exact solver's finish for the lanes the warm-up left, then m* and the stores.
static void ugroup_finish(const job_t *jb, lanes_t *g, scratch_t *s, ugroup_t *u, int64_t base) {
    const int nl = g->nl;
    double m[LANES];
    _mm512_storeu_pd(m, u->m);
    if (u->live && jb->to->solver != SRS_SOLVER_DINKELBACH) {
        // as solve_exact: samples below the iterate are inactive; the
        // partition search decides the rest
        double eps[LANES], lo[LANES], hi[LANES];
        _mm512_storeu_pd(eps, u->eps);
        _mm512_storeu_pd(lo, u->lo);
        _mm512_storeu_pd(hi, u->hi);
        for (int l = 0; l < nl; l++) {
            if (!(u->live >> l & 1)) continue;
            double sl = 0, pl = 0;
            int64_t k = 0;
            for (int64_t j = 0; j < g->len[l]; j++) {
                double x = g->d[j * LANES + l];
                int keep = x >= m[l];
                sl += keep ? 0.0 : x;
                pl += keep ? 0.0 : 1.0;
                s->td[k] = x;
                k += keep;
            }
            m[l] = srs_exact_search(s->td, NULL, k, 0, 0, sl, pl, eps[l], lo[l], hi[l]);
        }
        u->m = _mm512_loadu_pd(m);
    }
    // unshift: the endpoints map to the exact input values, the rest is clamped
    __m512d res = _mm512_min_pd(u->umax, _mm512_max_pd(u->umin, _mm512_add_pd(u->ref, u->m)));
    res = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(u->m, u->lo, _CMP_LE_OQ), res, u->umin);
    res = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(u->m, u->hi, _CMP_GE_OQ), res, u->umax);
    const __mmask8 ok = u->used & (__mmask8)~u->bad;
    if (g->row[nl - 1] - g->row[0] == nl - 1) {   // consecutive rows
        if (jb->m_star) _mm512_mask_storeu_pd(jb->m_star + g->row[0], ok, res);
        if (jb->b_eff) _mm512_mask_storeu_pd(jb->b_eff + g->row[0], ok, u->beff);
    } else {
        double rv[LANES], bv[LANES];
        _mm512_storeu_pd(rv, res);
        _mm512_storeu_pd(bv, u->beff);
        for (int l = 0; l < nl; l++) {
            if (!(ok >> l & 1)) continue;
            if (jb->m_star) jb->m_star[g->row[l]] = rv[l];
            if (jb->b_eff) jb->b_eff[g->row[l]] = bv[l];
        }
    }
    if (jb->so) {
        double lo[LANES], hi[LANES], len[LANES], mean[LANES], beff[LANES], lg[LANES], eps[LANES];
        _mm512_storeu_pd(lo, u->lo);
        _mm512_storeu_pd(hi, u->hi);
        _mm512_storeu_pd(len, u->len);
        _mm512_storeu_pd(mean, u->mean);
        _mm512_storeu_pd(beff, u->beff);
        _mm512_storeu_pd(lg, u->lg);
        _mm512_storeu_pd(eps, u->eps);
        _mm512_storeu_pd(m, u->m);
        for (int l = 0; l < nl; l++) {
            if (!(ok >> l & 1)) continue;
            row_t r = {g->ref[l], lo[l], hi[l], g->umin[l], g->umax[l], len[l], mean[l]};
            srs_preset_vals_t pv = {.b_eff = beff[l], .lg = lg[l], .eps = eps[l]};
            shape_row(jb, g->start[l], base, g->d + l, NULL, LANES, g->len[l], &r, m[l], pv);
        }
    }
    g->nl = 0;
}

static inline __attribute__((always_inline)) void lanes_uniform_g(const job_t *jb, lanes_t *gs, const int G,
                                                                  scratch_t *s, int64_t base, int64_t *bad_row,
                                                                  int *bad_kind) {
    ugroup_t us[LANE_GROUPS];
    int64_t nmax = 0;
    for (int q = 0; q < G; q++)
        for (int l = 0; l < gs[q].nl; l++) nmax = gs[q].len[l] > nmax ? gs[q].len[l] : nmax;
    // every row of every group with nmax samples: no masks in the passes;
    // otherwise every group gets its masks (the passes run to nmax for all)
    int masked = 0;
    for (int q = 0; q < G; q++)
        for (int l = 0; l < gs[q].nl; l++) masked |= gs[q].len[l] != nmax;
    for (int q = 0; q < G; q++) ugroup_setup(jb, &gs[q], s, &us[q], masked, bad_row, bad_kind);
    const srs_threshold_opts_t *o = jb->to;
    int max_iter = o->solver == SRS_SOLVER_DINKELBACH ? (o->max_iter > 0 ? o->max_iter : LANE_MAX_N + 2)
                                                      : EXACT_WARM_PASSES;
    if (masked) ugroups_dinkelbach(gs, us, G, nmax, max_iter, 1);
    else ugroups_dinkelbach(gs, us, G, nmax, max_iter, 0);
    for (int q = 0; q < G; q++) ugroup_finish(jb, &gs[q], s, &us[q], base);
}

// Solves the first ng groups of gs (each with at least one row).
static void lanes_uniform(const job_t *jb, lanes_t *gs, int ng, scratch_t *s, int64_t base, int64_t *bad_row,
                          int *bad_kind) {
    int q = 0;
#if defined(__AVX512F__)
    // 32 registers hold the sums of four groups at once
    for (; q + 4 <= ng; q += 4) lanes_uniform_g(jb, gs + q, 4, s, base, bad_row, bad_kind);
#endif
    // below AVX-512 (16 or fewer registers, each half or a quarter of a
    // group's vector) groups go two at a time
    for (; q + 2 <= ng; q += 2) lanes_uniform_g(jb, gs + q, 2, s, base, bad_row, bad_kind);
    if (q < ng) lanes_uniform_g(jb, gs + q, 1, s, base, bad_row, bad_kind);
}

// Solves the group's rows and writes their results.
static void lanes_solve(const job_t *jb, lanes_t *g, scratch_t *s, int64_t base, int64_t *bad_row,
                        int *bad_kind) {
    const srs_threshold_opts_t *o = jb->to;
    lane_state_t ls;
    ls.nmax = 0;
    for (int l = 0; l < g->nl; l++) ls.nmax = g->len[l] > ls.nmax ? g->len[l] : ls.nmax;
    unsigned bad = 0;   // lanes whose row has bad values: reported, not solved
    if (!jb->b->logw.data) {
        bad = lanes_fill_uniform(g, jb->b, ls.nmax, NULL, NULL);
        for (int l = 0; l < g->nl; l++)
            if (bad >> l & 1) note_bad(bad_row, bad_kind, g->row[l], ROW_BAD_REWARD);
    }
    if (jb->b->logw.data) {
        for (int l = 0; l < LANES; l++) {
            int64_t len = l < g->nl ? g->len[l] : 0;
            for (int64_t j = len; j < ls.nmax; j++) g->d[j * LANES + l] = g->p[j * LANES + l] = 0.0;
        }
    } else {
        // uniform: weight 1 for a lane's samples, 0 for its padding
        double lenf[LANES];
        for (int l = 0; l < LANES; l++) lenf[l] = l < g->nl ? (double)g->len[l] : 0.0;
        for (int64_t j = 0; j < ls.nmax; j++) {
            double *dj = g->d + j * LANES, *pj = g->p + j * LANES;
#pragma omp simd
            for (int l = 0; l < LANES; l++) {
                int in = (double)j < lenf[l];
                pj[l] = in ? 1.0 : 0.0;
                dj[l] = in ? dj[l] : 0.0;
            }
        }
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
        ls.tot[l] = sd[l];
        ls.mean[l] = l < g->nl ? sd[l] / ws[l] : 0.0;
        pv[l] = preset_row(o, mn[l], mx[l], s);
        ls.eps[l] = pv[l].eps;
        // unused lanes, bad rows and rows with one value are solved already
        ls.done[l] = l >= g->nl || (bad >> l & 1) || mx[l] == mn[l];
        ls.m[l] = ls.done[l] ? mn[l] : ls.mean[l];
    }
    switch (o->solver) {
    case SRS_SOLVER_BISECT:
        lanes_bisect(g, &ls, o->tol, o->max_iter > 0 ? o->max_iter : BISECT_MAX_ITER);
        break;
    case SRS_SOLVER_DINKELBACH:
        lanes_dinkelbach(g, &ls, o->max_iter > 0 ? o->max_iter : LANE_MAX_N + 2, !jb->b->logw.data);
        break;
    default:
        lanes_dinkelbach(g, &ls, EXACT_WARM_PASSES, !jb->b->logw.data);
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
        if (bad >> l & 1) continue;
        row_t r = {g->ref[l], ls.dmin[l], ls.dmax[l], g->umin[l], g->umax[l], ls.wsum[l], ls.mean[l]};
        int64_t i = g->row[l];
        if (jb->m_star) jb->m_star[i] = unshift(&r, ls.m[l]);
        if (jb->b_eff) jb->b_eff[i] = pv[l].b_eff;
        if (jb->so) shape_row(jb, g->start[l], base, g->d + l, g->p + l, LANES, g->len[l], &r, ls.m[l], pv[l]);
    }
    g->nl = 0;
}

// Asks for row i's samples in cache: the bracket path's first reads of a row
// are its subsample, one per cache line, which no hardware prefetcher sees
// coming; issued a group ahead they overlap the current group's work.
// always_inline: as a separate function gcc finds it free of side effects
// (__builtin_prefetch counts as none) and deletes the calls.
static inline __attribute__((always_inline)) void prefetch_row(const srs_batch_t *b, int64_t i) {
    int64_t start, n;
    srs_batch_row(b, i, &start, &n);
    size_t elem = b->reward.dtype == SRS_F32 ? sizeof(float) : sizeof(double);
    const char *p = (const char *)b->reward.data + (size_t)start * elem;
    for (size_t off = 0; off < (size_t)n * elem; off += 64) __builtin_prefetch(p + off, 0, 3);
}

// One row by the general path: loaded into the scratch buffer, solved there.
static int general_row(const job_t *jb, scratch_t *s, int64_t i, int64_t base) {
    const srs_batch_t *b = jb->b;
    int64_t start, n;
    srs_batch_row(b, i, &start, &n);
    const double *p = b->logw.data ? s->p : NULL;
    row_t r;
    int rc = load_row(b, start, n, s->d, b->logw.data ? s->p : NULL, &r);
    if (rc != ROW_OK) return rc;
    srs_preset_vals_t pv = preset_row(jb->to, r.dmin, r.dmax, s);
    double m = solve_row(jb, s->d, p, n, &r, pv.eps, s);
    if (jb->m_star) jb->m_star[i] = unshift(&r, m);
    if (jb->b_eff) jb->b_eff[i] = pv.b_eff;
    if (jb->so) shape_row(jb, start, base, s->d, p, 1, n, &r, m, pv);
    return ROW_OK;
}

// One long uniform row by the bracket path (the general path when that
// declines the row).
static int long_row(const job_t *jb, scratch_t *s, int64_t i, int64_t base, const bracket_t *br) {
    const srs_batch_t *b = jb->b;
    int64_t start, n;
    srs_batch_row(b, i, &start, &n);
    row_t r;
    double m;
    srs_preset_vals_t pv;
    if (solve_long_uniform(jb->to, &b->reward, start, n, br, s, &r, &m, &pv) != LONG_OK)
        return general_row(jb, s, i, base);
    if (jb->m_star) jb->m_star[i] = unshift(&r, m);
    if (jb->b_eff) jb->b_eff[i] = pv.b_eff;
    if (jb->so) {
        // shaping needs the shifted row (and its mean) in s->d
        load_row(b, start, n, s->d, NULL, &r);
        shape_row(jb, start, base, s->d, NULL, 1, n, &r, m, pv);
    }
    return ROW_OK;
}

// Rows are taken in chunks of ROW_CHUNK by the threads (dense short rows: up to
// CHUNK_BYTES of input, a multiple of LANE_GROUPS groups and at least
// ROW_CHUNK rows, so that the hardware prefetchers, which stop at page
// boundaries, see long runs); within a chunk, short
// rows fill lane groups and long rows are solved one at a time.
#define ROW_CHUNK 64
#define CHUNK_BYTES 65536

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
    // long uniform rows take the bracket path, unless a pass limit is set
    const int long_fast = !weighted && jb->to->max_iter == 0 && jb->to->solver != SRS_SOLVER_BISECT;
    // short uniform rows, dinkelbach or exact: lanes_uniform, LANE_GROUPS groups at a time
    const int multi = !weighted && jb->to->solver != SRS_SOLVER_BISECT;
    const int dense_short = multi && !b->offsets && b->row_len >= 1 && b->row_len <= LANE_MAX_N;
    const size_t row_bytes = (size_t)b->row_len * (b->reward.dtype == SRS_F32 ? sizeof(float) : sizeof(double));
    int64_t chunk = dense_short ? (int64_t)(CHUNK_BYTES / row_bytes) / (LANES * LANE_GROUPS) * (LANES * LANE_GROUPS)
                                : ROW_CHUNK;
    if (chunk < ROW_CHUNK) chunk = ROW_CHUNK;
    int64_t bad_row = INT64_MAX;
    int bad_kind = ROW_OK, nomem = 0;

#pragma omp parallel num_threads(ctx->n_threads)
    {
        scratch_t s;
        int ok = scratch_init(&s, max_len, weighted);
        if (!ok) {
#pragma omp atomic write
            nomem = 1;
        }
        const int64_t n_chunks = (b->n_prompts + chunk - 1) / chunk;
#pragma omp for schedule(dynamic, 1)
        for (int64_t c = 0; c < n_chunks; c++) {
            if (!ok) continue;
            int64_t i1 = (c + 1) * chunk < b->n_prompts ? (c + 1) * chunk : b->n_prompts;
            for (int64_t i = c * chunk; i < i1;) {
                if (dense_short) {
                    // dense rows: a whole group at once, straight from the row index
                    lanes_t *cur = &s.g[s.ng];
                    int take = i1 - i < LANES ? (int)(i1 - i) : LANES;
                    for (int l = 0; l < take; l++) {
                        cur->row[l] = i + l;
                        cur->start[l] = (i + l) * b->row_len;
                        cur->len[l] = b->row_len;
                    }
                    cur->nl = take;
                    // the rows LANE_GROUPS groups ahead, in this chunk
                    const char *ahead = (const char *)b->reward.data + (size_t)(i + LANE_GROUPS * LANES) * row_bytes;
                    const char *end = (const char *)b->reward.data + (size_t)i1 * row_bytes;
                    for (size_t off = 0; off < (size_t)LANES * row_bytes && ahead + off < end; off += 64)
                        __builtin_prefetch(ahead + off, 0, 3);
                    i += take;
                    if (++s.ng == LANE_GROUPS || i == i1) {
                        lanes_uniform(jb, s.g, s.ng, &s, base, &bad_row, &bad_kind);
                        s.ng = 0;
                    }
                    continue;
                }
                int64_t start, n;
                srs_batch_row(b, i, &start, &n);
                if (long_fast && n > LANE_MAX_N) {
                    // a group of up to LANES long rows: brackets together, then each row
                    int64_t rows[LANES];
                    int g = 0;
                    for (; g < LANES && i + g < i1; g++) {
                        int64_t st, len;
                        srs_batch_row(b, i + g, &st, &len);
                        if (len <= LANE_MAX_N) break;
                        rows[g] = i + g;
                    }
                    for (int l = g; l < LANES; l++) rows[l] = i;  // idle lanes
                    bracket_t br[LANES];
                    sub_brackets(b, rows, jb->to, &s, br);
                    for (int l = 0; l < g; l++) {
                        // the next group's rows, one per row of this one; past the
                        // end of the chunk too (the thread that takes the next
                        // chunk then finds them in the shared L3)
                        if (i + g + l < b->n_prompts) prefetch_row(b, i + g + l);
                        int rc = long_row(jb, &s, i + l, base, &br[l]);
                        if (rc != ROW_OK) note_bad(&bad_row, &bad_kind, i + l, rc);
                    }
                    i += g;
                    continue;
                }
                int rc;
                if (n >= 1 && n <= LANE_MAX_N) {
                    // a group ahead: the transposed reads of eight rows at once are
                    // not a pattern the hardware prefetchers follow
                    if (!weighted && i + LANES < b->n_prompts) prefetch_row(b, i + LANES);
                    lanes_t *cur = &s.g[s.ng];
                    rc = lane_load(cur, cur->nl, b, i);
                    if (rc == ROW_OK && ++cur->nl == LANES) {
                        if (multi) {
                            if (++s.ng == LANE_GROUPS) {
                                lanes_uniform(jb, s.g, s.ng, &s, base, &bad_row, &bad_kind);
                                s.ng = 0;
                            }
                        } else
                            lanes_solve(jb, cur, &s, base, &bad_row, &bad_kind);
                    }
                } else {
                    rc = general_row(jb, &s, i, base);
                }
                if (rc != ROW_OK) note_bad(&bad_row, &bad_kind, i, rc);
                i++;
            }
            if (multi) {
                int ng = s.ng + (s.g[s.ng].nl > 0);
                if (ng) lanes_uniform(jb, s.g, ng, &s, base, &bad_row, &bad_kind);
                s.ng = 0;
                continue;
            }
            if (s.g->nl) lanes_solve(jb, s.g, &s, base, &bad_row, &bad_kind);
        }
        scratch_free(&s);
    }
    if (nomem) return srs_fail(ctx, SRS_ERR_NOMEM, "out of memory for row buffers of %lld samples",
                               (long long)max_len);
    if (bad_row == INT64_MAX) return SRS_OK;

    return srs_fail_bad_row(ctx, b, bad_row, bad_kind);
}

srs_status_t srs_fail_bad_row(srs_ctx_t *ctx, const srs_batch_t *b, int64_t row, int kind) {
    int64_t g = b->first_index + row, start, n;
    srs_batch_row(b, row, &start, &n);
    if (kind == ROW_EMPTY)
        return srs_fail_row(ctx, SRS_ERR_BAD_INPUT, g, "row %lld: empty row (no samples)", (long long)g);
    const srs_vec_t *v = kind == ROW_BAD_LOGW ? &b->logw : &b->reward;
    const char *what = kind == ROW_BAD_LOGW ? "logw" : "reward";
    int64_t j = first_nonfinite(v, start, n);
    if (j < 0)
        return srs_fail_row(ctx, SRS_ERR_BAD_INPUT, g,
                            "row %lld: rewards too large for double precision (their range, or the row "
                            "length times the largest |u - u_0|, overflows)",
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
