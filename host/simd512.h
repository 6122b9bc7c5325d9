/*
 * simd512.h — the AVX-512 intrinsics of the CPU backend, on every CPU level.
 *
 * The vector paths of host/cpu/ are written once, in AVX-512 intrinsics. At level
 * v4 (AVX-512) they are the compiler's own instructions; below it SIMDe
 * (Debian's libsimde-dev) implements each one with the level's vectors (two
 * AVX2 registers, four SSE or NEON ones), lane by lane the same operation, so
 * every level computes the same values. This header adds the intrinsics that
 * SIMDe 0.7 (Debian 12) lacks and replaces the masked ones of the hot loops
 * and every masked load and store, whichever SIMDe is installed: masked loads
 * and stores here touch only the lanes their mask names (the row tails rely
 * on it; SIMDe 0.8's masked store writes all eight lanes). Below AVX-512 it
 * also gives the level's own vectors (srs_vd: four doubles with AVX, two with
 * SSE or NEON) and the operations the native-width loops of host/cpu/ use,
 * each the same per lane as its AVX-512 instruction.
 */
#ifndef SRS_SIMD512_H
#define SRS_SIMD512_H

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>   // the mask types (__mmask8, __mmask16) at every x86 level
#endif
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
#include <string.h>
#if !defined(__x86_64__) && !defined(__i386__)
// Off x86 (aarch64: NEON) the mask types and compare predicates by their x86 names.
typedef simde__mmask8 __mmask8;
typedef simde__mmask16 __mmask16;
#ifndef _CMP_GE_OQ
#define _CMP_EQ_OQ SIMDE_CMP_EQ_OQ
#define _CMP_LT_OQ SIMDE_CMP_LT_OQ
#define _CMP_LE_OQ SIMDE_CMP_LE_OQ
#define _CMP_NLE_UQ SIMDE_CMP_NLE_UQ
#define _CMP_GE_OQ SIMDE_CMP_GE_OQ
#define _CMP_GT_OQ SIMDE_CMP_GT_OQ
#endif
#endif

#if !defined(__AVX512F__)

// Masked loads: the lanes of k from p, the others from src; p is read only
// where k is set.
#define SRS_MASK_LOADU(NAME, VT, E, F, N, LOAD)                                    \
    static inline VT NAME(VT src, unsigned k, const void *p) {                     \
        if (k == (1u << (N)) - 1) return LOAD(p);                                   \
        VT##_private r = VT##_to_private(src);                                     \
        const E *q = (const E *)p;                                                 \
        for (int i = 0; i < (N); i++)                                              \
            if (k >> i & 1) r.F[i] = q[i];                                         \
        return VT##_from_private(r);                                               \
    }
SRS_MASK_LOADU(srs_mask_loadu_pd, simde__m512d, double, f64, 8, simde_mm512_loadu_pd)
SRS_MASK_LOADU(srs_mask_loadu_ps, simde__m512, float, f32, 16, simde_mm512_loadu_ps)
SRS_MASK_LOADU(srs_mask_loadu_ps256, simde__m256, float, f32, 8, simde_mm256_loadu_ps)
#undef SRS_MASK_LOADU

static inline void srs_mask_storeu_pd(void *p, simde__mmask8 k, simde__m512d a) {
    simde__m512d_private v = simde__m512d_to_private(a);
    double *q = (double *)p;
    for (int i = 0; i < 8; i++)
        if (k >> i & 1) q[i] = v.f64[i];
}

static inline simde__m512d srs_cvtps_pd(simde__m256 a) {
    simde__m256_private v = simde__m256_to_private(a);
    simde__m512d_private r;
    for (int i = 0; i < 8; i++) r.f64[i] = (double)v.f32[i];
    return simde__m512d_from_private(r);
}

// 128-bit blocks: result blocks 0, 1 from a, 2, 3 from b, chosen by imm's
// four 2-bit fields.
static inline simde__m512d srs_shuffle_f64x2(simde__m512d a, simde__m512d b, int imm) {
    simde__m512d_private x = simde__m512d_to_private(a), y = simde__m512d_to_private(b), r;
    for (int q = 0; q < 4; q++) {
        int s = (imm >> (2 * q)) & 3;
        const simde__m512d_private *src = q < 2 ? &x : &y;
        r.f64[2 * q] = src->f64[2 * s];
        r.f64[2 * q + 1] = src->f64[2 * s + 1];
    }
    return simde__m512d_from_private(r);
}

#if defined(__AVX__)
// Compares to mask bits through the sign bits of the compare (movemask);
// SIMDe 0.7 gathers them lane by lane. pred is a constant after inlining.
// (With SSE only, SIMDe's own is faster than two emulated 256-bit movemasks.)
typedef double srs_d4_ __attribute__((vector_size(32)));
typedef int64_t srs_l4_ __attribute__((vector_size(32)));
typedef float srs_f8_ __attribute__((vector_size(32)));
typedef int32_t srs_i8_ __attribute__((vector_size(32)));
#define SRS_CMPV_(a, b, pred)                                                                   \
    ((pred) == SIMDE_CMP_GE_OQ ? (a) >= (b) : (pred) == SIMDE_CMP_GT_OQ ? (a) > (b)             \
     : (pred) == SIMDE_CMP_LE_OQ ? (a) <= (b) : (pred) == SIMDE_CMP_LT_OQ ? (a) < (b)          \
     : (pred) == SIMDE_CMP_EQ_OQ ? (a) == (b) : ~((a) <= (b)))
static inline __attribute__((always_inline)) int srs_cmp_known(int pred) {
    return pred == SIMDE_CMP_GE_OQ || pred == SIMDE_CMP_GT_OQ || pred == SIMDE_CMP_LE_OQ ||
           pred == SIMDE_CMP_LT_OQ || pred == SIMDE_CMP_EQ_OQ || pred == SIMDE_CMP_NLE_UQ;
}
// Eight or sixteen lanes as two 256-bit compares, their sign bits by movemask.
// Only for the predicates srs_cmp_known accepts (the macros below send the
// others to SIMDe, with the predicate still a literal, as clang requires).
#define SRS_CMP_MASK(NAME, VT, KT, HV, HM, MVT, MOVEMASK, HL)                     \
    static inline __attribute__((always_inline)) KT NAME(VT a, VT b, const int pred) { \
        HV x[2], y[2];                                                             \
        memcpy(x, &a, sizeof x);                                                   \
        memcpy(y, &b, sizeof y);                                                   \
        unsigned bits = 0;                                                         \
        for (int h = 0; h < 2; h++) {                                              \
            HM m = SRS_CMPV_(x[h], y[h], pred);                                    \
            MVT mv;                                                                \
            memcpy(&mv, &m, sizeof mv);                                            \
            bits |= (unsigned)MOVEMASK(mv) << ((HL) * h);                          \
        }                                                                          \
        return (KT)bits;                                                           \
    }
SRS_CMP_MASK(srs_cmp_pd_mask, simde__m512d, simde__mmask8, srs_d4_, srs_l4_, simde__m256d, simde_mm256_movemask_pd, 4)
SRS_CMP_MASK(srs_cmp_ps_mask, simde__m512, simde__mmask16, srs_f8_, srs_i8_, simde__m256, simde_mm256_movemask_ps, 8)
#undef SRS_CMP_MASK
#endif

// Compress without branches: every lane is written at the next free place,
// which advances only for the lanes of the mask; the places past them are 0.
static inline simde__m512 srs_maskz_compress_ps(simde__mmask16 k, simde__m512 a) {
    simde__m512_private v = simde__m512_to_private(a), r;
    float out[17];
    int j = 0;
    for (int i = 0; i < 16; i++) {
        out[j] = v.f32[i];
        j += (k >> i) & 1;
    }
    for (int i = 0; i < 16; i++) r.f32[i] = i < j ? out[i] : 0.0f;
    return simde__m512_from_private(r);
}
static inline simde__m512d srs_maskz_compress_pd(simde__mmask8 k, simde__m512d a) {
    simde__m512d_private v = simde__m512d_to_private(a), r;
    double out[9];
    int j = 0;
    for (int i = 0; i < 8; i++) {
        out[j] = v.f64[i];
        j += (k >> i) & 1;
    }
    for (int i = 0; i < 8; i++) r.f64[i] = i < j ? out[i] : 0.0;
    return simde__m512d_from_private(r);
}

// Reductions (min and max: any order gives the same value).
#define SRS_REDUCE(NAME, VT, E, F, N, OP)                                          \
    static inline E NAME(VT a) {                                                   \
        VT##_private v = VT##_to_private(a);                                       \
        E m = v.F[0];                                                              \
        for (int i = 1; i < (N); i++) m = v.F[i] OP m ? v.F[i] : m;                \
        return m;                                                                  \
    }
SRS_REDUCE(srs_reduce_min_pd, simde__m512d, double, f64, 8, <)
SRS_REDUCE(srs_reduce_max_pd, simde__m512d, double, f64, 8, >)
SRS_REDUCE(srs_reduce_min_ps, simde__m512, float, f32, 16, <)
SRS_REDUCE(srs_reduce_max_ps, simde__m512, float, f32, 16, >)
#undef SRS_REDUCE

// The masked arithmetic of the hot loops, with the mask as vectors of lanes
// (all ones or zero) at the level's own width (two AVX2 registers for eight
// doubles, four SSE or NEON ones) and selects by bitwise operations: SIMDe
// 0.7 walks the mask's bits lane by lane, and gcc 12 lowers 64-byte generic
// vectors below AVX-512 to scalar selects.
#if defined(__AVX__)
#define SRS_VB 32
#else
#define SRS_VB 16
#endif
#define SRS_NV (64 / SRS_VB)   // vectors per eight doubles
typedef double srs_vd __attribute__((vector_size(SRS_VB)));
typedef int64_t srs_vl __attribute__((vector_size(SRS_VB)));
typedef double srs_vdu __attribute__((vector_size(SRS_VB), aligned(8), may_alias));   // unaligned access
// Eight doubles as named vectors (no arrays: gcc keeps named members in
// registers, arrays indexed in loops it leaves in memory).
#if SRS_NV == 2
typedef struct {
    srs_vd v0, v1;
} srs_x8d;
typedef struct {
    srs_vl v0, v1;
} srs_x8l;
#define SRS_EACH(X) X(0) X(1)
#else
typedef struct {
    srs_vd v0, v1, v2, v3;
} srs_x8d;
typedef struct {
    srs_vl v0, v1, v2, v3;
} srs_x8l;
#define SRS_EACH(X) X(0) X(1) X(2) X(3)
#endif

// One vector of the level at a time (lanes q*W to q*W + W - 1 of eight, W =
// SRS_VB / 8): the hot loops that keep one native vector of each value live,
// so that their accumulators fit the level's 16 registers (eight lanes as two
// or four vectors would not, and would spill). min and max as the AVX-512
// instructions: a < b ? a : b and a > b ? a : b (b when either is NaN).
static inline __attribute__((always_inline)) srs_vd srs_vmin(srs_vd a, srs_vd b) {
#if defined(__AVX__)
    return (srs_vd)_mm256_min_pd((__m256d)a, (__m256d)b);
#elif defined(__SSE2__)
    return (srs_vd)_mm_min_pd((__m128d)a, (__m128d)b);
#else
    srs_vl lt = a < b;
    return (srs_vd)(((srs_vl)a & lt) | ((srs_vl)b & ~lt));
#endif
}
static inline __attribute__((always_inline)) srs_vd srs_vmax(srs_vd a, srs_vd b) {
#if defined(__AVX__)
    return (srs_vd)_mm256_max_pd((__m256d)a, (__m256d)b);
#elif defined(__SSE2__)
    return (srs_vd)_mm_max_pd((__m128d)a, (__m128d)b);
#else
    srs_vl gt = a > b;
    return (srs_vd)(((srs_vl)a & gt) | ((srs_vl)b & ~gt));
#endif
}
// lanes of m (all ones or zero) from x, the others from y
static inline __attribute__((always_inline)) srs_vd srs_vsel(srs_vl m, srs_vd x, srs_vd y) {
#if defined(__AVX__)
    return (srs_vd)_mm256_blendv_pd((__m256d)y, (__m256d)x, (__m256d)m);
#elif defined(__SSE4_1__)
    return (srs_vd)_mm_blendv_pd((__m128d)y, (__m128d)x, (__m128d)m);
#else
    return (srs_vd)(((srs_vl)x & m) | ((srs_vl)y & ~m));
#endif
}
// the lanes of a vector mask as bits (lane i: bit i)
static inline __attribute__((always_inline)) unsigned srs_vbits(srs_vl m) {
#if defined(__AVX__)
    return (unsigned)_mm256_movemask_pd((__m256d)m);
#elif defined(__SSE2__)
    return (unsigned)_mm_movemask_pd((__m128d)m);
#else
    unsigned r = 0;
    for (int i = 0; i < SRS_VB / 8; i++) r |= (unsigned)(m[i] & 1) << i;
    return r;
#endif
}
// bits q*W to q*W + W - 1 of k as a vector mask
static inline __attribute__((always_inline)) srs_vl srs_vmask(unsigned k, int q) {
    const int w = SRS_VB / 8;
    srs_vl kv = (srs_vl){0} + (int64_t)(k >> (q * w)), bit;
    for (int i = 0; i < w; i++) bit[i] = (int64_t)1 << i;
    return (kv & bit) == bit;
}
// as many floats as a vector has doubles (any alignment): converted with
// __builtin_convertvector, the level's float-to-double instruction
typedef float srs_vfu __attribute__((vector_size(SRS_VB / 2), aligned(4), may_alias));
#if defined(__clang__)
#define SRS_SHUF2(a, b, ...) __builtin_shufflevector((a), (b), __VA_ARGS__)
#else
#define SRS_SHUF2(a, b, ...) __builtin_shuffle((a), (b), (srs_vl){__VA_ARGS__})
#endif
// Transposes W vectors of W doubles (W = SRS_VB / 8): a[i][s] becomes a[s][i].
static inline __attribute__((always_inline)) void srs_vtranspose(srs_vd *a) {
#if SRS_VB == 32
    const srs_vd t0 = SRS_SHUF2(a[0], a[1], 0, 4, 2, 6), t1 = SRS_SHUF2(a[0], a[1], 1, 5, 3, 7);
    const srs_vd t2 = SRS_SHUF2(a[2], a[3], 0, 4, 2, 6), t3 = SRS_SHUF2(a[2], a[3], 1, 5, 3, 7);
    a[0] = SRS_SHUF2(t0, t2, 0, 1, 4, 5);
    a[1] = SRS_SHUF2(t1, t3, 0, 1, 4, 5);
    a[2] = SRS_SHUF2(t0, t2, 2, 3, 6, 7);
    a[3] = SRS_SHUF2(t1, t3, 2, 3, 6, 7);
#else
    const srs_vd t0 = SRS_SHUF2(a[0], a[1], 0, 2);
    a[1] = SRS_SHUF2(a[0], a[1], 1, 3);
    a[0] = t0;
#endif
}
// floats and 32-bit lanes at the level's width (twice the doubles' lanes)
typedef float srs_vf __attribute__((vector_size(SRS_VB)));
typedef int32_t srs_vi __attribute__((vector_size(SRS_VB)));
typedef float srs_vfa __attribute__((vector_size(SRS_VB), aligned(4), may_alias));   // unaligned access
static inline __attribute__((always_inline)) srs_vf srs_vminf(srs_vf a, srs_vf b) {
#if defined(__AVX__)
    return (srs_vf)_mm256_min_ps((__m256)a, (__m256)b);
#elif defined(__SSE2__)
    return (srs_vf)_mm_min_ps((__m128)a, (__m128)b);
#else
    srs_vi lt = a < b;
    return (srs_vf)(((srs_vi)a & lt) | ((srs_vi)b & ~lt));
#endif
}
static inline __attribute__((always_inline)) srs_vf srs_vmaxf(srs_vf a, srs_vf b) {
#if defined(__AVX__)
    return (srs_vf)_mm256_max_ps((__m256)a, (__m256)b);
#elif defined(__SSE2__)
    return (srs_vf)_mm_max_ps((__m128)a, (__m128)b);
#else
    srs_vi gt = a > b;
    return (srs_vf)(((srs_vi)a & gt) | ((srs_vi)b & ~gt));
#endif
}
static inline __attribute__((always_inline)) unsigned srs_vbitsf(srs_vi m) {
#if defined(__AVX__)
    return (unsigned)_mm256_movemask_ps((__m256)m);
#elif defined(__SSE2__)
    return (unsigned)_mm_movemask_ps((__m128)m);
#else
    unsigned r = 0;
    for (int i = 0; i < SRS_VB / 4; i++) r |= (unsigned)(m[i] & 1) << i;
    return r;
#endif
}
// vector q of eight doubles in memory (any alignment)
#define SRS_VQ(p, q) (*(const srs_vdu *)((const char *)(p) + (q) * SRS_VB))
#define SRS_VQW(p, q) (*(srs_vdu *)((char *)(p) + (q) * SRS_VB))

static inline __attribute__((always_inline)) srs_x8l srs_k2v(simde__mmask8 k) {
    const int64_t w = SRS_VB / 8;   // lanes per vector
    srs_vl kv = (srs_vl){0} + (int64_t)k, bit;
    for (int i = 0; i < w; i++) bit[i] = (int64_t)1 << i;
    srs_x8l r;
#define SRS_K2V_(q) r.v##q = (kv & (bit << (q * w))) == (bit << (q * w));
    SRS_EACH(SRS_K2V_)
#undef SRS_K2V_
    return r;
}
// SIMDe's vector and ours, the same 64 bytes, converted member by member
// (a memcpy of the whole would go through 16-byte moves on the stack), by byte
// offset: clang's SIMDe keeps f64 as a vector, whose elements have no address.
static inline __attribute__((always_inline)) srs_x8d srs_v(simde__m512d a) {
    simde__m512d_private p = simde__m512d_to_private(a);
    srs_x8d v;
#define SRS_V_(q) v.v##q = *(const srs_vdu *)((const char *)&p + q * SRS_VB);
    SRS_EACH(SRS_V_)
#undef SRS_V_
    return v;
}
static inline __attribute__((always_inline)) simde__m512d srs_m(srs_x8d v) {
    simde__m512d_private p;
#define SRS_M_(q) *(srs_vdu *)((char *)&p + q * SRS_VB) = v.v##q;
    SRS_EACH(SRS_M_)
#undef SRS_M_
    return simde__m512d_from_private(p);
}
// lanes of m from x, the others from y
static inline __attribute__((always_inline)) srs_x8d srs_sel(srs_x8l m, srs_x8d x, srs_x8d y) {
    srs_x8d r;
#define SRS_SEL_(q) r.v##q = (srs_vd)(((srs_vl)x.v##q & m.v##q) | ((srs_vl)y.v##q & ~m.v##q));
    SRS_EACH(SRS_SEL_)
#undef SRS_SEL_
    return r;
}
static inline __attribute__((always_inline)) simde__m512d srs_mask_add_pd(simde__m512d src, simde__mmask8 k,
                                                                          simde__m512d a, simde__m512d b) {
    srs_x8d x = srs_v(a), y = srs_v(b);
#define SRS_ADD_(q) x.v##q += y.v##q;
    SRS_EACH(SRS_ADD_)
#undef SRS_ADD_
    return srs_m(srs_sel(srs_k2v(k), x, srs_v(src)));
}
// min as the instruction: a < b ? a : b (b when either is NaN)
static inline __attribute__((always_inline)) simde__m512d srs_mask_min_pd(simde__m512d src, simde__mmask8 k,
                                                                          simde__m512d a, simde__m512d b) {
    srs_x8d x = srs_v(a), y = srs_v(b);
    srs_x8l lt;
#define SRS_LT_(q) lt.v##q = x.v##q < y.v##q;
    SRS_EACH(SRS_LT_)
#undef SRS_LT_
    return srs_m(srs_sel(srs_k2v(k), srs_sel(lt, x, y), srs_v(src)));
}
static inline __attribute__((always_inline)) simde__m512d srs_mask_mov_pd(simde__m512d src, simde__mmask8 k,
                                                                          simde__m512d a) {
    return srs_m(srs_sel(srs_k2v(k), srs_v(a), srs_v(src)));
}
static inline __attribute__((always_inline)) simde__m512d srs_maskz_mov_pd(simde__mmask8 k, simde__m512d a) {
    srs_x8d x = srs_v(a);
    srs_x8l m = srs_k2v(k);
#define SRS_AND_(q) x.v##q = (srs_vd)((srs_vl)x.v##q & m.v##q);
    SRS_EACH(SRS_AND_)
#undef SRS_AND_
    return srs_m(x);
}
static inline __attribute__((always_inline)) simde__m512d srs_mask_blend_pd(simde__mmask8 k, simde__m512d a,
                                                                            simde__m512d b) {
    return srs_m(srs_sel(srs_k2v(k), srs_v(b), srs_v(a)));
}
#undef _mm512_mask_add_pd
#define _mm512_mask_add_pd(src, k, a, b) srs_mask_add_pd((src), (k), (a), (b))
#undef _mm512_mask_min_pd
#define _mm512_mask_min_pd(src, k, a, b) srs_mask_min_pd((src), (k), (a), (b))
#undef _mm512_mask_mov_pd
#define _mm512_mask_mov_pd(src, k, a) srs_mask_mov_pd((src), (k), (a))
#undef _mm512_maskz_mov_pd
#define _mm512_maskz_mov_pd(k, a) srs_maskz_mov_pd((k), (a))
#undef _mm512_mask_blend_pd
#define _mm512_mask_blend_pd(k, a, b) srs_mask_blend_pd((k), (a), (b))

#undef _mm512_mask_loadu_pd
#define _mm512_mask_loadu_pd(src, k, p) srs_mask_loadu_pd((src), (k), (p))
#undef _mm512_maskz_loadu_pd
#define _mm512_maskz_loadu_pd(k, p) srs_mask_loadu_pd(simde_mm512_setzero_pd(), (k), (p))
#undef _mm512_mask_loadu_ps
#define _mm512_mask_loadu_ps(src, k, p) srs_mask_loadu_ps((src), (k), (p))
#undef _mm256_mask_loadu_ps
#define _mm256_mask_loadu_ps(src, k, p) srs_mask_loadu_ps256((src), (k), (p))
#undef _mm512_mask_storeu_pd
#define _mm512_mask_storeu_pd(p, k, a) srs_mask_storeu_pd((p), (k), (a))
#undef _mm512_cvtps_pd
#define _mm512_cvtps_pd(a) srs_cvtps_pd(a)
#undef _mm512_shuffle_f64x2
#define _mm512_shuffle_f64x2(a, b, imm) srs_shuffle_f64x2((a), (b), (imm))
#undef _mm512_kandn
#define _mm512_kandn(a, b) ((simde__mmask16)(~(a) & (b)))
#if defined(__AVX__)
#undef _mm512_cmp_pd_mask
#define _mm512_cmp_pd_mask(a, b, p) \
    (srs_cmp_known(p) ? srs_cmp_pd_mask((a), (b), (p)) : simde_mm512_cmp_pd_mask((a), (b), (p)))
#undef _mm512_cmp_ps_mask
#define _mm512_cmp_ps_mask(a, b, p) \
    (srs_cmp_known(p) ? srs_cmp_ps_mask((a), (b), (p)) : simde_mm512_cmp_ps_mask((a), (b), (p)))
#endif
#undef _mm512_mask_cmp_pd_mask
#define _mm512_mask_cmp_pd_mask(k, a, b, p) ((simde__mmask8)((k) & _mm512_cmp_pd_mask((a), (b), (p))))
#undef _mm512_mask_cmp_ps_mask
#define _mm512_mask_cmp_ps_mask(k, a, b, p) ((simde__mmask16)((k) & _mm512_cmp_ps_mask((a), (b), (p))))
#undef _mm512_maskz_compress_ps
#define _mm512_maskz_compress_ps(k, a) srs_maskz_compress_ps((k), (a))
#undef _mm512_maskz_compress_pd
#define _mm512_maskz_compress_pd(k, a) srs_maskz_compress_pd((k), (a))
#undef _mm512_reduce_min_pd
#define _mm512_reduce_min_pd(a) srs_reduce_min_pd(a)
#undef _mm512_reduce_max_pd
#define _mm512_reduce_max_pd(a) srs_reduce_max_pd(a)
#undef _mm512_reduce_min_ps
#define _mm512_reduce_min_ps(a) srs_reduce_min_ps(a)
#undef _mm512_reduce_max_ps
#define _mm512_reduce_max_ps(a) srs_reduce_max_ps(a)

#endif  // !__AVX512F__

// ----------------------------------------------------------------------------
// The innermost loops, written once against eight doubles (srs_d8) and a mask
// of eight lanes (srs_k8): an AVX-512 register and a mask register at v4;
// below it two AVX2 (four SSE) vectors and a vector mask (lanes all ones or
// zero), so a masked add is an AND and an add, not a round trip through mask
// bits. The operations give the same bits as the AVX-512 instructions: a
// masked-off lane adds +0 (the sums start at +0, so they are never -0) or
// takes the min with +inf.
#if defined(__AVX512F__)
typedef __m512d srs_d8;
typedef __mmask8 srs_k8;
static inline srs_d8 srs8_load(const double *p) { return _mm512_load_pd(p); }
static inline srs_d8 srs8_of(__m512d a) { return a; }
static inline __m512d srs8_to(srs_d8 a) { return a; }
static inline srs_d8 srs8_set1(double x) { return _mm512_set1_pd(x); }
static inline srs_k8 srs8_ge(srs_d8 a, srs_d8 b) { return _mm512_cmp_pd_mask(a, b, _CMP_GE_OQ); }
static inline srs_k8 srs8_ge_in(__mmask8 k, srs_d8 a, srs_d8 b) { return _mm512_mask_cmp_pd_mask(k, a, b, _CMP_GE_OQ); }
static inline srs_d8 srs8_add_if(srs_d8 s, srs_k8 m, srs_d8 x) { return _mm512_mask_add_pd(s, m, s, x); }
static inline srs_d8 srs8_min_if(srs_d8 s, srs_k8 m, srs_d8 x) { return _mm512_mask_min_pd(s, m, s, x); }
static inline srs_d8 srs8_add(srs_d8 a, srs_d8 b) { return _mm512_add_pd(a, b); }
static inline srs_d8 srs8_min(srs_d8 a, srs_d8 b) { return _mm512_min_pd(a, b); }
#else
typedef srs_x8d srs_d8;
typedef srs_x8l srs_k8;
// Loads as whole vectors: a memcpy of the 64 bytes becomes four 16-byte
// moves through the stack, and the wide reload then waits on them.
static inline __attribute__((always_inline)) srs_d8 srs8_load(const double *p) {
    srs_d8 r;
#define SRS_LD_(q) r.v##q = *(const srs_vdu *)(p + q * (SRS_VB / 8));
    SRS_EACH(SRS_LD_)
#undef SRS_LD_
    return r;
}
static inline __attribute__((always_inline)) srs_d8 srs8_of(simde__m512d a) { return srs_v(a); }
static inline __attribute__((always_inline)) simde__m512d srs8_to(srs_d8 a) { return srs_m(a); }
static inline __attribute__((always_inline)) srs_d8 srs8_set1(double x) {
    srs_d8 r;
#define SRS_SET_(q) r.v##q = (srs_vd){0} + x;
    SRS_EACH(SRS_SET_)
#undef SRS_SET_
    return r;
}
static inline __attribute__((always_inline)) srs_k8 srs8_ge(srs_d8 a, srs_d8 b) {
    srs_k8 r;
#define SRS_GE_(q) r.v##q = a.v##q >= b.v##q;
    SRS_EACH(SRS_GE_)
#undef SRS_GE_
    return r;
}
static inline __attribute__((always_inline)) srs_k8 srs8_ge_in(simde__mmask8 k, srs_d8 a, srs_d8 b) {
    srs_k8 r = srs8_ge(a, b), kv = srs_k2v(k);
#define SRS_ANDK_(q) r.v##q &= kv.v##q;
    SRS_EACH(SRS_ANDK_)
#undef SRS_ANDK_
    return r;
}
static inline __attribute__((always_inline)) srs_d8 srs8_add_if(srs_d8 s, srs_k8 m, srs_d8 x) {
#define SRS_ADDIF_(q) s.v##q += (srs_vd)((srs_vl)x.v##q & m.v##q);
    SRS_EACH(SRS_ADDIF_)
#undef SRS_ADDIF_
    return s;
}
static inline __attribute__((always_inline)) srs_d8 srs8_min_if(srs_d8 s, srs_k8 m, srs_d8 x) {
    const srs_vl inf = (srs_vl){0} + (int64_t)0x7FF0000000000000;
#define SRS_MINIF_(q)                                                              \
    {                                                                              \
        srs_vd c = (srs_vd)(((srs_vl)x.v##q & m.v##q) | (inf & ~m.v##q));          \
        srs_vl lt = s.v##q < c;                                                    \
        s.v##q = (srs_vd)(((srs_vl)s.v##q & lt) | ((srs_vl)c & ~lt));              \
    }
    SRS_EACH(SRS_MINIF_)
#undef SRS_MINIF_
    return s;
}
static inline __attribute__((always_inline)) srs_d8 srs8_add(srs_d8 a, srs_d8 b) {
#define SRS_ADD8_(q) a.v##q += b.v##q;
    SRS_EACH(SRS_ADD8_)
#undef SRS_ADD8_
    return a;
}
static inline __attribute__((always_inline)) srs_d8 srs8_min(srs_d8 a, srs_d8 b) {
#define SRS_MIN8_(q)                                                               \
    {                                                                              \
        srs_vl lt = a.v##q < b.v##q;                                               \
        a.v##q = (srs_vd)(((srs_vl)a.v##q & lt) | ((srs_vl)b.v##q & ~lt));         \
    }
    SRS_EACH(SRS_MIN8_)
#undef SRS_MIN8_
    return a;
}
#endif
#endif  // SRS_SIMD512_H
