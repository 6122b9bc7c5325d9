/*
 * bracket.c — long rows of the CPU backend (host/cpu/cpu.h): rows longer than
 * LANE_MAX_N with uniform weights (dinkelbach and exact, no pass limit), read
 * once straight from the input against a bracket of the root estimated from a
 * subsample; the solvers then run on the samples inside the bracket alone.
 *
 * Built once per CPU level (v2, v3, v4; neon; native), each hot path in one
 * form: the float pass (bpass_f32), the bracket sums (mid_sums_tot) and the
 * subsample brackets (sub_brackets) are GCC vector extensions at the level's
 * width (host/simd512.h's srs_vd and srs_vf: eight doubles at v4, four with
 * AVX2, two with SSE or NEON) with simd512.h's operations per level; the
 * float64 pass (bpass_f64) is AVX-512 intrinsics, native at v4 and through
 * SIMDe and simd512.h below it. The pass runs over 16 fixed lanes whatever
 * the level, so every level gives the same bits.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "cpu.h"

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

// The pass on floats in the level's own vectors (FW floats, W doubles a
// vector: 16 and 8 at v4, 8 and 4 with AVX2, 4 and 2 with SSE or NEON), with
// the same lanes at every level (sample j in lane j mod 16) and the same
// operation in each. The float compares select the samples (the counts and
// the bracket's samples); the sums select the same samples (the float mask
// split at v4; below it the samples as doubles, exact conversions of the
// floats, against the float threshold converted). The bracket's samples are
// stored by simd512.h's compress (vcompressps at v4, a table of lane orders
// with AVX2, stores without branches otherwise).
enum { BP_FW = SRS_VB / 4, BP_W = SRS_VB / 8, BP_NF = PASS_LANES / BP_FW };
// One block of 16 samples at xs; TAIL: lanes past the row (they hold u_0)
// are masked out by tmf and tmd.
#define BPASS_BLOCK_V(xs, TAIL)                                                                          \
    do {                                                                                                 \
        for (int f = 0; f < BP_NF; f++) {                                                                \
            const srs_vf x = *(const srs_vfa *)((xs) + f * BP_FW);                                      \
            mn[f] = srs_vminf(mn[f], x);                                                                 \
            mx[f] = srs_vmaxf(mx[f], x);                                                                 \
            srs_mf h = srs_vgef(x, vhi), g = srs_vgef(x, vlo) & ~h;                                      \
            if (TAIL) {                                                                                  \
                h &= tmf[f];                                                                             \
                g &= tmf[f];                                                                             \
            }                                                                                            \
            cnt[f] = srs_vcountf(cnt[f], h);                                                             \
            k += srs_vcompressf(mid + k, x, g);                                                          \
            for (int e = 0; e < 2; e++) {                                                                \
                const int q = 2 * f + e;                                                                 \
                const srs_vd xd = srs_vloadf((xs) + q * BP_W);                             \
                const srs_vd d = xd - vref;                                                              \
                srs_md hd = srs_vge_fromf(h, e, xd, vhid);                                               \
                if (TAIL) hd &= tmd[q];                                                                  \
                t[q] += d;                                                                               \
                sv[q] = srs_vaddif(sv[q], hd, d);                                                        \
            }                                                                                            \
        }                                                                                                \
    } while (0)

// mid: (n + 16,) floats
static void bpass_f32(const float *src, int64_t n, double ref, double t_lo, double t_hi, float *mid,
                      bpass_t *r) {
    const float flo = ceil_to_float(t_lo), fhi = ceil_to_float(t_hi);
    const srs_vf vlo = (srs_vf){0} + flo, vhi = (srs_vf){0} + fhi;
    const srs_vd vref = (srs_vd){0} + ref, vhid = (srs_vd){0} + (double)fhi;
    srs_vf mn[BP_NF], mx[BP_NF];
    srs_vd t[2 * BP_NF], sv[2 * BP_NF];
    srs_vi cnt[BP_NF];
    srs_mf tmf[BP_NF];   // tmf, tmd: the lanes of the row's last block
    srs_md tmd[2 * BP_NF];
    for (int f = 0; f < BP_NF; f++) {
        mn[f] = mx[f] = (srs_vf){0} + src[0];
        cnt[f] = (srs_vi){0};
    }
    for (int q = 0; q < 2 * BP_NF; q++) t[q] = sv[q] = (srs_vd){0};
    int64_t k = 0, j = 0, c = 0;
    while (j + PASS_LANES <= n) {
        // the counts in 32-bit lanes, added up every 2^24 blocks
        const int64_t end = j + ((n - j) / PASS_LANES < (1 << 24) ? (n - j) / PASS_LANES : (1 << 24)) * PASS_LANES;
        for (; j < end; j += PASS_LANES) BPASS_BLOCK_V(src + j, 0);
        for (int f = 0; f < BP_NF; f++) {
            c += srs_vhsumi(cnt[f]);
            cnt[f] = (srs_vi){0};
        }
    }
    if (j < n) {
        // the row's end: lanes past it hold u_0 (d = 0) and are masked out of the compares
        float xt[PASS_LANES];
        for (int i = 0; i < PASS_LANES; i++) xt[i] = j + i < n ? src[j + i] : src[0];
        for (int f = 0; f < BP_NF; f++) tmf[f] = srs_vfirstf(n - j - f * BP_FW);
        for (int q = 0; q < 2 * BP_NF; q++) tmd[q] = srs_vfirst(n - j - q * BP_W);
        BPASS_BLOCK_V(xt, 1);
        for (int f = 0; f < BP_NF; f++) c += srs_vhsumi(cnt[f]);
    }
    double ta[PASS_LANES], sa[PASS_LANES];
    float a = srs_vhminf(mn[0]), z = srs_vhmaxf(mx[0]);
    for (int q = 0; q < 2 * BP_NF; q++) {
        memcpy(ta + q * BP_W, &t[q], sizeof t[q]);
        memcpy(sa + q * BP_W, &sv[q], sizeof sv[q]);
    }
    for (int f = 1; f < BP_NF; f++) {
        const float af = srs_vhminf(mn[f]), zf = srs_vhmaxf(mx[f]);
        a = af < a ? af : a;
        z = zf > z ? zf : z;
    }
    r->t_all = lanes_sum(ta);
    r->s_hi = lanes_sum(sa);
    r->c_hi = c;
    r->c_mid = k;
    r->umin = a;
    r->umax = z;
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

// mid_sums, and with tot != NULL also the plain sum of dd (sample j in lane j
// mod 8): the bracket check needs it, and the first Dinkelbach step comes
// with it. In the level's own vectors (W lanes, NV vectors a block of eight),
// the same lanes and adds at every level. The count, a sum of ones and exact
// in any order, is kept as an integer, and the min of the active samples,
// which only meets the test mh >= next, in two accumulators.
static inline void mid_sums_tot(const double *dd, int64_t k, double m, double *s, double *c, double *mh,
                                double *tot) {
    enum { W = SRS_VB / 8, NV = 8 / W };   // lanes and vectors per block of eight
    const srs_vd vm = (srs_vd){0} + m, inf = (srs_vd){0} + INFINITY, zero = {0};
    srs_vd vs[4][NV], vt[NV], n0 = inf, n1 = inf;
    srs_vl cnt = {0};
    for (int q = 0; q < 4; q++)
        for (int h = 0; h < NV; h++) vs[q][h] = zero;
    for (int h = 0; h < NV; h++) vt[h] = zero;
    int64_t j = 0;
    // vector h of block q of the four at j; TAIL: the last blocks, read up
    // to k (zero past it) and masked there
#define MID_V(q, h, TAIL)                                                                                \
    do {                                                                                                 \
        const int64_t o_ = j + 8 * (q) + (h) * W;                                                        \
        srs_vd x_;                                                                                       \
        if (TAIL) x_ = srs_vloadn(dd + o_, k - o_, 0.0);                                                 \
        else x_ = SRS_VQ(dd + o_, 0);                                                                    \
        srs_md a_ = srs_vge(x_, vm);                                                                     \
        if (TAIL) a_ &= srs_vfirst(k - o_);                                                              \
        vs[q][h] = srs_vaddif(vs[q][h], a_, x_);                                                         \
        cnt = srs_vcount(cnt, a_);                                                                       \
        if ((h) & 1) n1 = srs_vminif(n1, a_, x_);                                                        \
        else n0 = srs_vminif(n0, a_, x_);                                                                \
        if (tot) vt[h] += x_;                                                                            \
    } while (0)
    for (; j + 32 <= k; j += 32)
        for (int q = 0; q < 4; q++)
            for (int h = 0; h < NV; h++) MID_V(q, h, 0);
    // blocks past the end are not summed at all
    for (int q = 0; q < 4 && j + 8 * q < k; q++)
        for (int h = 0; h < NV; h++) MID_V(q, h, 1);
#undef MID_V
    double sa[8], ta[8];
    for (int h = 0; h < NV; h++) {
        SRS_VQW(sa, h) = (vs[0][h] + vs[1][h]) + (vs[2][h] + vs[3][h]);
        SRS_VQW(ta, h) = vt[h];
    }
    const srs_vd nm = srs_vmin(n0, n1);
    double mm = INFINITY;
    int64_t cn = 0;
    for (int e = 0; e < W; e++) {
        mm = lo2(mm, nm[e]);
        cn += cnt[e];
    }
    *s = tree8(sa);
    *c = (double)cn;
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

void sub_brackets(const srs_batch_t *b, const int64_t *rows, const srs_threshold_opts_t *o,
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
        // One native vector of lanes at a time (W rows), with the
        // subsample's active count an integer (a sum of ones, exact in any
        // order).
        const int f32 = b->reward.dtype == SRS_F32;
        const srs_vd zero = {0}, inf = zero + INFINITY, vn = zero + SUB_N;
        for (int q = 0; q < SRS_NV; q++) {
            const srs_vd vref = SRS_VQ(ref, q);
            srs_vd vmn = zero, vmx = zero, vsum = zero;
            for (int i = 0; i < SUB_N; i++) {
                const srs_vd xi = srs_vgather(src, stride, i, q, f32) - vref;
                SRS_VQW(x + i * LANES, q) = xi;
                vmn = srs_vmin(vmn, xi);
                vmx = srs_vmax(vmx, xi);
                vsum += xi;
            }
            SRS_VQW(mn, q) = vmn;
            SRS_VQW(mx, q) = vmx;
            SRS_VQW(sum, q) = vsum;
        }
        for (int l = 0; l < LANES; l++) {
            eps[l] = preset_row(o, mn[l], mx[l], s).eps;
            m[l] = sum[l] / SUB_N;
        }
        for (int q = 0; q < SRS_NV; q++) {
            const srs_vd veps = SRS_VQ(eps, q), vsum = SRS_VQ(sum, q);
            // the empty set's value (uni_value); A(m) is never empty from the mean, kept for form
            const srs_vd vempty = srs_vsel(srs_vgt(veps, zero), vsum / vn, SRS_VQ(mx, q));
            srs_vd vm = SRS_VQ(m, q);
            srs_md live = srs_vall();
            for (int it = 0; it < SUB_N + 2 && srs_vbits(live); it++) {
                srs_vd s0 = zero, s1 = zero, n0 = inf, n1 = inf;
                srs_vl c = {0};   // the active samples
                for (int i = 0; i < SUB_N; i += 2) {
                    const srs_vd x0 = SRS_VQ(x + i * LANES, q), x1 = SRS_VQ(x + (i + 1) * LANES, q);
                    const srs_md a0 = srs_vge(x0, vm), a1 = srs_vge(x1, vm);
                    s0 = srs_vaddif(s0, a0, x0);
                    s1 = srs_vaddif(s1, a1, x1);
                    c = srs_vcount(srs_vcount(c, a0), a1);
                    n0 = srs_vminif(n0, a0, x0);
                    n1 = srs_vminif(n1, a1, x1);
                }
                const srs_vd sh = s0 + s1, mh = srs_vmin(n0, n1);
                const srs_vd ph = srs_vcount_pd(c);   // exact
                const srs_vd num = sh + veps * (vsum - sh), den = ph + veps * (vn - ph);
                const srs_vd next = srs_vsel(srs_vle(ph, zero), vempty, num / den);
                // done unless some active sample lies below next and next rose
                const srs_md go = srs_vlt(mh, next) & srs_vgt(next, vm);
                vm = srs_vsel(live, next, vm);
                live &= go;
            }
            SRS_VQW(m, q) = vm;
        }
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
int solve_long_uniform(const srs_threshold_opts_t *o, const srs_vec_t *v, int64_t start, int64_t n,
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
