/*
 * cpu.h — what the CPU backend's files (host/cpu/) share: the per-thread
 * scratch, a loaded row, the job, the fixed-order sums, and the functions one
 * file calls in another.
 *
 * The backend computes thresholds m*(x) and shaped rewards, OpenMP over
 * prompts. Each row is read from memory once; the solver then works on what
 * sits in L1/L2 (the CPU analogue of a GPU kernel holding the row in registers
 * or shared memory): a per-thread copy of the row in doubles, validated and
 * shifted by its first reward, or for long uniform rows only the samples near
 * the root.
 *
 * The shift: d_j = u_j - u_0. F is shift-invariant, so the solvers work on d
 * and m* = u_0 + root(d). Large offsets (rewards around 1e6 with a spread of 1)
 * then cost no precision. Base weights are kept unnormalised (exp(logw - max));
 * F's sign and the set value do not depend on the scale, and uniform rows use
 * weight 1 without a weight array at all.
 *
 * Three paths, one file each, and the loop that sends rows to them:
 *   solve.c    the general path: a row copied into the scratch buffer and
 *              solved there (weighted rows, bisection, a pass limit), with the
 *              scalar solvers and the exact partition search; shaping a row.
 *   lanes.c    rows of at most LANE_MAX_N samples, LANES at a time, one row
 *              per SIMD lane (uniform rows loaded a group at a time through 8x8
 *              transposes; Dinkelbach and exact run on several groups at once
 *              with all bookkeeping in vector registers).
 *   bracket.c  longer rows with uniform weights (dinkelbach, exact), read once
 *              straight from the input against a bracket of the root estimated
 *              from a subsample; the solvers run on the samples inside it only.
 *   run.c      the row loop (chunks over OpenMP threads, each row to its
 *              path), the bad-row report, and the backend's entry points.
 * Which path a row takes depends on the row and the options only, and every
 * path sums in a fixed order, so a row's m* never depends on the rows around
 * it, the thread count or the chunking.
 *
 * CPU levels: every file here is compiled once per level (v2, v3, v4 on
 * x86-64, neon on aarch64, or the one level of an ARCH= build; host/dispatch.c
 * picks one per context). The vector code is written once, in AVX-512
 * intrinsics: the instructions themselves at v4, SIMDe's implementation of the
 * same operations on the level's vectors below it (host/simd512.h), so every
 * level runs the same arithmetic and gives the same bits (tests/test_levels.c).
 * The hottest loops below v4 also have a form in vector extensions at the
 * level's own width (lanes.c, bracket.c): SIMDe's 512-bit values take two or
 * four of the level's 16 registers each, and their sums spilled.
 * The functions below that cross files carry the level in their symbol
 * (CPU_FN), like the backend itself (internal.h).
 */
#ifndef SRS_CPU_H
#define SRS_CPU_H

#include <math.h>
#include <stdint.h>
#include <string.h>
#include "internal.h"
#include "srs_math.h"
#include "simd512.h"   // the vector paths, once, for every CPU level

#ifndef SRS_ISA
#error "host/cpu/ is compiled once per CPU level, with -DSRS_ISA=<level> (see the Makefile)"
#endif
#define CPU_FN(name) SRS_ISA_CAT_(srs_cpui_##name, SRS_ISA)

#define BISECT_MAX_ITER 2000
#define EXACT_WARM_PASSES 4

// min/max as compare-selects: libm's fmin/fmax are out-of-line calls (their
// NaN rules stop gcc inlining them) and would keep the hot loops scalar.
// Values reaching them are finite or caught by the finiteness test.
#define lo2 srs_min
#define hi2 srs_max

// ----------------------------------------------------------------------------
// per-thread scratch

// Short rows are solved LANES at a time, one row per SIMD lane (lanes.c).
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

// m* in the input's coordinates: the endpoints map to the exact input values
// (u_0 + (u_max - u_0) can be an ulp off u_max), interior values are clamped.
static inline double unshift(const row_t *r, double m) {
    if (m >= r->dmax) return r->umax;
    if (m <= r->dmin) return r->umin;
    return lo2(hi2(r->ref + m, r->umin), r->umax);
}

// ----------------------------------------------------------------------------
// long rows: the bracket of a row, from its subsample (bracket.c)

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

enum { LONG_OK = 0, LONG_GENERAL };

// ----------------------------------------------------------------------------
// short rows (lanes.c): the first bad row of the batch

// The first bad row of the batch (smallest index) is the one reported.
static inline void note_bad(int64_t *bad_row, int *bad_kind, int64_t i, int rc) {
#pragma omp critical(srs_bad_row)
    if (i < *bad_row) { *bad_row = i; *bad_kind = rc; }
}

// ----------------------------------------------------------------------------
// across files

#define load_row CPU_FN(load_row)
#define first_nonfinite CPU_FN(first_nonfinite)
#define solve_exact CPU_FN(solve_exact)
#define solve_row CPU_FN(solve_row)
#define shape_row CPU_FN(shape_row)
#define certify_weighted CPU_FN(certify_weighted)
#define sub_brackets CPU_FN(sub_brackets)
#define solve_long_uniform CPU_FN(solve_long_uniform)
#define lane_load CPU_FN(lane_load)
#define lanes_solve CPU_FN(lanes_solve)
#define lanes_uniform CPU_FN(lanes_uniform)

// solve.c
int load_row(const srs_batch_t *b, int64_t start, int64_t n, double *d, double *p, row_t *r);
int64_t first_nonfinite(const srs_vec_t *v, int64_t start, int64_t n);
double solve_exact(const double *d, const double *p, int64_t n, const row_t *r, double eps, double *td,
                   double *tp);
double solve_row(const job_t *jb, const double *d, const double *p, int64_t n, const row_t *r, double eps,
                 scratch_t *s);
double certify_weighted(const double *d, const double *p, int64_t stride, int64_t n, double eps, double m,
                        double dmin, double dmax);
void shape_row(const job_t *jb, int64_t start, int64_t base, const double *d, const double *p, int64_t stride,
               int64_t n, const row_t *r, double m, srs_preset_vals_t pv);
// bracket.c
void sub_brackets(const srs_batch_t *b, const int64_t *rows, const srs_threshold_opts_t *o, scratch_t *s,
                  bracket_t *br);
int solve_long_uniform(const srs_threshold_opts_t *o, const srs_vec_t *v, int64_t start, int64_t n,
                       const bracket_t *br, scratch_t *s, row_t *r, double *m_out, srs_preset_vals_t *pv);
// lanes.c
int lane_load(lanes_t *g, int l, const srs_batch_t *b, int64_t i);
void lanes_solve(const job_t *jb, lanes_t *g, scratch_t *s, int64_t base, int64_t *bad_row, int *bad_kind);
void lanes_uniform(const job_t *jb, lanes_t *gs, int ng, scratch_t *s, int64_t base, int64_t *bad_row,
                   int *bad_kind);

#endif
