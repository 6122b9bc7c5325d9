/*
 * lanes.c — short rows of the CPU backend (host/cpu/cpu.h): rows of at most
 * LANE_MAX_N samples solved LANES at a time, one row per SIMD lane, for the
 * three solvers; uniform rows filled a group at a time through 8x8 transposes
 * and solved several groups at once (lanes_uniform).
 *
 * Built once per CPU level (v2, v3, v4; neon; native), each hot path in one
 * form: the transposed load (lanes_fill_uniform) and the pass (ugroup_pass)
 * of lanes_uniform are GCC vector extensions at the level's width
 * (host/simd512.h's srs_vd: eight doubles at v4, four with AVX2, two with SSE
 * or NEON), one native vector of lanes at a time, with simd512.h's
 * operations per level; the rest of the vector code (lanes_bad,
 * lanes_dinkelbach, lanes_preset, ugroup_setup, ugroup_finish) is AVX-512
 * intrinsics, native at v4 and through SIMDe and simd512.h's shims below it.
 * Every level computes the same arithmetic per lane and gives the same bits.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "cpu.h"

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

// Uniform rows are not copied one by one: lane_load only records them, and
// lanes_fill_uniform reads the group's eight rows eight samples at a time and
// transposes each 8x8 block in registers into the sample-major layout,
// checking finiteness and the range on the way (the same values as the copy
// one row at a time: d = u - u_0, padding d = 0).

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

// The lanes of g whose rows are bad, from their reference u_0, min, max,
// length and total of d (and the same vectors into *vv when asked). A NaN or
// an infinity shows in the range (inf, or NaN from inf - inf) or, for a NaN
// the min and max pass over, in the total of d; a lane flagged by either and
// not too wide is checked sample by sample (a total can also overflow from
// finite values: then the row is too wide).
static inline __attribute__((always_inline)) unsigned lanes_bad(const lanes_t *g, const srs_batch_t *b, __m512d vref,
                                                                __m512d umin, __m512d umax, __m512d vlen,
                                                                __m512d sum, lanes_vecs_t *vv) {
    const int nl = g->nl;
    __m512d range = _mm512_sub_pd(umax, umin);
    if (vv) *vv = (lanes_vecs_t){vref, umin, umax, vlen, sum};
    // srs_row_too_wide, eight lanes at once: bad without a look at the samples
    const __m512d big = _mm512_set1_pd(DBL_MAX);
    __m512d dlo = _mm512_sub_pd(umin, vref), dhi = _mm512_sub_pd(umax, vref);
    __m512d amax = _mm512_max_pd(_mm512_sub_pd(_mm512_setzero_pd(), dlo), dhi);
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

// Transposed W rows at a time: one native vector of lanes (W = SRS_VB / 8:
// all eight at v4, four with AVX2, two with SSE or NEON), so that a block of
// W rows and the sums, min and max fit the level's registers. Sample j goes
// into accumulator j mod 4, combined as (0 + 1) + (2 + 3), at every level.
static inline __attribute__((always_inline)) unsigned lanes_fill_uniform(lanes_t *g, const srs_batch_t *b,
                                                                         int64_t nmax, lanes_vecs_t *vv,
                                                                         __mmask8 *valid) {
    enum { W = SRS_VB / 8 };   // lanes per vector
    const int f32 = b->reward.dtype == SRS_F32, nl = g->nl;
    int ragged = nl < LANES;
    for (int l = 0; l < nl; l++) ragged |= g->len[l] != nmax;
    // Eight whole rows of a multiple of eight samples need no padding, and
    // their u_0 come with the first block; otherwise the padding value u_0
    // is read first.
    const int padded = ragged || (nmax & 7);
    _Alignas(64) double ref[LANES], lenf[LANES], mnv[LANES], mxv[LANES], tot[LANES];
    for (int l = 0; l < LANES; l++) {
        ref[l] = padded && l < nl ? vec_at(&b->reward, g->start[l]) : 0.0;
        lenf[l] = padded ? (l < nl ? (double)g->len[l] : 0.0) : (double)nmax;
    }
    const srs_vd zero = {0}, inf = zero + INFINITY, ninf = zero - INFINITY;
    const float *rf = (const float *)b->reward.data;
    const double *rd = (const double *)b->reward.data;
    for (int q = 0; q < SRS_NV; q++) {
        srs_vd vref = SRS_VQ(ref, q);
        srs_vd mn0 = inf, mn1 = inf, mn2 = inf, mn3 = inf, mx0 = ninf, mx1 = ninf, mx2 = ninf, mx3 = ninf;
        srs_vd t0 = zero, t1 = zero, t2 = zero, t3 = zero;
        for (int64_t j0 = 0; j0 < nmax; j0 += 8) {
            srs_vd r[8 / W][W];   // [sample block][row]: W samples of row q*W + i
            // unrolled, so that r stays in registers through the transpose
#pragma GCC unroll 8
            for (int i = 0; i < W; i++) {
                const int l = q * W + i;
#pragma GCC unroll 4
                for (int k = 0; k < 8 / W; k++) {
                    const int64_t at = j0 + k * W;
                    if (!padded && f32)
                        r[k][i] = srs_vloadf(rf + g->start[l] + at);
                    else if (!padded)
                        r[k][i] = *(const srs_vdu *)(rd + g->start[l] + at);
                    else if (l >= nl)
                        r[k][i] = zero;
                    else   // past a row's end: its u_0, so d = 0 and the range is unchanged
                        r[k][i] = f32 ? srs_vloadnf(rf + g->start[l] + at, g->len[l] - at, ref[l])
                                      : srs_vloadn(rd + g->start[l] + at, g->len[l] - at, ref[l]);
                }
            }
            for (int k = 0; k < 8 / W; k++) srs_vtranspose(r[k]);   // now [sample block][sample]: W lanes
            if (j0 == 0 && !padded) vref = r[0][0];
#define FILL_STEP(sq, MN, MX, T)                                                                        \
    {                                                                                                   \
        const srs_vd x = r[(sq) / W][(sq) % W], dq = x - vref;                                          \
        MN = srs_vmin(MN, x);                                                                           \
        MX = srs_vmax(MX, x);                                                                           \
        T += dq;   /* padding adds d = 0 */                                                             \
        /* past every row (nmax rounded up to 8): -inf, never active in a pass */                       \
        SRS_VQW(g->d + (j0 + (sq)) * LANES, q) = j0 + (sq) < nmax ? dq : ninf;                          \
    }
            FILL_STEP(0, mn0, mx0, t0) FILL_STEP(1, mn1, mx1, t1) FILL_STEP(2, mn2, mx2, t2)
            FILL_STEP(3, mn3, mx3, t3) FILL_STEP(4, mn0, mx0, t0) FILL_STEP(5, mn1, mx1, t1)
            FILL_STEP(6, mn2, mx2, t2) FILL_STEP(7, mn3, mx3, t3)
#undef FILL_STEP
        }
        // min and max: any order; the sum: (0 + 1) + (2 + 3)
        SRS_VQW(mnv, q) = srs_vmin(srs_vmin(mn0, mn1), srs_vmin(mn2, mn3));
        SRS_VQW(mxv, q) = srs_vmax(srs_vmax(mx0, mx1), srs_vmax(mx2, mx3));
        SRS_VQW(tot, q) = (t0 + t1) + (t2 + t3);
        SRS_VQW(ref, q) = vref;
    }
    if (valid)
        for (int64_t j = 0; j < ((nmax + 7) & ~(int64_t)7); j++) {
            unsigned k = 0;
            for (int q = 0; q < SRS_NV; q++)
                k |= srs_vbits(srs_vgt(SRS_VQ(lenf, q), (srs_vd){0} + (double)j)) << (q * W);
            valid[j] = (__mmask8)k;
        }
    memcpy(g->umin, mnv, sizeof mnv);
    memcpy(g->umax, mxv, sizeof mxv);
    memcpy(g->ref, ref, sizeof ref);
    const __m512d vref = _mm512_loadu_pd(ref), umin = _mm512_loadu_pd(mnv), umax = _mm512_loadu_pd(mxv);
    const __m512d sum = _mm512_loadu_pd(tot), vlen = _mm512_loadu_pd(lenf);
    return lanes_bad(g, b, vref, umin, umax, vlen, sum, vv);
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

int lane_load(lanes_t *g, int l, const srs_batch_t *b, int64_t i) {
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
        // F(mid) = 0: the root when F is positive just below mid, else the
        // lower end of an interval where F is 0 (as solve_bisect, solve.c)
        for (int l = 0; l < LANES; l++) {
            if (done[l] || f[l] != 0) continue;
            double below = nextafter(mid[l], lo[l]), fb = 0;   // lo < mid
            for (int64_t j = 0; j < ls->nmax; j++) {
                double x = g->d[j * LANES + l];
                fb += (x >= below ? 1.0 : ls->eps[l]) * g->p[j * LANES + l] * (x - below);
            }
            if (fb > 0) lo[l] = hi[l] = mid[l];
        }
#pragma omp simd
        for (int l = 0; l < LANES; l++) {
            int up = !done[l] & (f[l] > 0), down = !done[l] & !(f[l] > 0);
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

// One Dinkelbach pass over group u (its live lanes take the next iterate),
// one native vector of lanes at a time (one at v4, two AVX2 vectors or four
// SSE/NEON ones make a group's eight lanes): eight lanes of every accumulator
// at once would need more than the 16 registers below v4, and the spilled
// sums would then wait on the stack in every step. Four accumulators of the
// sums (sample j into j mod 4, then (0 + 1) + (2 + 3)): one chain of
// dependent adds through the row would bound the pass by the add latency.
// The count of active samples, a sum of ones and exact in any order, is kept
// as an integer; the min of the active samples only feeds the test mh >=
// next, which no order of the min changes (an order could only choose
// between -0 and +0, which compare equal). masked: some lanes lack some
// samples (valid); otherwise every sample counts.
static inline __attribute__((always_inline)) void ugroup_pass(const lanes_t *g, ugroup_t *u, int64_t nmax,
                                                              const int masked) {
    const int W = SRS_VB / 8;   // lanes per vector
    const srs_vd zero = {0}, inf = zero + INFINITY;
    unsigned stop = 0;
    for (int q = 0; q < SRS_NV; q++) {
        const srs_vd vm = SRS_VQ(&u->m, q);
        srs_vd sh0 = zero, sh1 = zero, sh2 = zero, sh3 = zero, mh0 = inf, mh1 = inf;
        srs_vl cnt = {0};
        const double *dq = g->d + q * W;
#if SRS_VB == 64
        // 32 registers: four accumulators of the min, no chain of two a step
        srs_vd mh2 = inf, mh3 = inf;
#define UPASS_MH2 mh2
#define UPASS_MH3 mh3
#else
        // 16 registers: two accumulators of the min
#define UPASS_MH2 mh0
#define UPASS_MH3 mh1
#endif
        for (int64_t j = 0; j < nmax; j += 4) {   // d and valid are set up to nmax rounded up to 8
#define UPASS_V(k, SH, MH)                                                                              \
    {                                                                                                   \
        const srs_vd x = SRS_VQ(dq + (j + k) * LANES, 0);                                               \
        srs_md a = srs_vge(x, vm);                                                                      \
        if (masked) a &= srs_vmask(u->valid[j + k], q);                                                 \
        SH = srs_vaddif(SH, a, x);                                                                      \
        cnt = srs_vcount(cnt, a);                                                                       \
        MH = srs_vminif(MH, a, x);                                                                      \
    }
            UPASS_V(0, sh0, mh0) UPASS_V(1, sh1, mh1) UPASS_V(2, sh2, UPASS_MH2) UPASS_V(3, sh3, UPASS_MH3)
#undef UPASS_V
        }
        const srs_vd vsh = (sh0 + sh1) + (sh2 + sh3), vph = srs_vcount_pd(cnt);
#if SRS_VB == 64
        const srs_vd vmh = srs_vmin(srs_vmin(mh0, mh1), srs_vmin(mh2, mh3));
#else
        const srs_vd vmh = srs_vmin(mh0, mh1);
#endif
#undef UPASS_MH2
#undef UPASS_MH3
        // srs_set_value, the inactive sums as the totals minus the active ones
        const srs_vd eps = SRS_VQ(&u->eps, q);
        const srs_vd num = vsh + eps * (SRS_VQ(&u->tot, q) - vsh);
        const srs_vd den = vph + eps * (SRS_VQ(&u->len, q) - vph);
        const srs_vd next = srs_vmin(srs_vmax(num / den, SRS_VQ(&u->lo, q)), SRS_VQ(&u->hi, q));
        // the set is final when no active sample lies below the new iterate
        stop |= srs_vbits(srs_vge(vmh, next) | srs_vle(next, vm)) << (q * W);
        SRS_VQW(&u->m, q) = srs_vsel(srs_vmask(u->live, q), next, vm);
    }
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
void lanes_uniform(const job_t *jb, lanes_t *gs, int ng, scratch_t *s, int64_t base, int64_t *bad_row,
                          int *bad_kind) {
    int q = 0;
#if SRS_VB == 64
    // 32 registers (AVX-512) hold the sums of four groups at once
    for (; q + 4 <= ng; q += 4) lanes_uniform_g(jb, gs + q, 4, s, base, bad_row, bad_kind);
#endif
    // below AVX-512 (16 or fewer registers, each half or a quarter of a
    // group's vector) groups go two at a time
    for (; q + 2 <= ng; q += 2) lanes_uniform_g(jb, gs + q, 2, s, base, bad_row, bad_kind);
    if (q < ng) lanes_uniform_g(jb, gs + q, 1, s, base, bad_row, bad_kind);
}

// Solves the group's rows and writes their results.
void lanes_solve(const job_t *jb, lanes_t *g, scratch_t *s, int64_t base, int64_t *bad_row,
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
    if (jb->b->logw.data && o->solver != SRS_SOLVER_BISECT)
        for (int l = 0; l < g->nl; l++)   // as solve_row: weighted rows checked (solve.c)
            if (!(bad >> l & 1) && ls.dmax[l] != ls.dmin[l])
                ls.m[l] = certify_weighted(g->d + l, g->p + l, LANES, g->len[l], ls.eps[l], ls.m[l], ls.dmin[l],
                                           ls.dmax[l]);
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
