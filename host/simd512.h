/*
 * simd512.h — the vector primitives of the CPU backend, on every CPU level.
 *
 * Two kinds, each with its own bits guarantee. The hot loops of host/cpu/
 * (lanes_fill_uniform, ugroup_pass, bpass_f32, mid_sums_tot, sub_brackets)
 * are written once in GCC vector extensions at the level's own width:
 * srs_vd (eight doubles at v4, four with AVX, two with SSE or NEON), srs_vf
 * (twice as many floats) and their lane masks (srs_md, srs_mf: mask
 * registers at v4, vectors of lanes below), with the operations below (min,
 * max, compares, masked add and min, counts, select, transpose, compress,
 * partial loads), each in the level's own instructions and the same value
 * per lane at every level. The rest of the vector code is written once in
 * AVX-512 intrinsics: at v4 the compiler's own instructions; below it SIMDe
 * (Debian's libsimde-dev) implements each one with the level's vectors, lane
 * by lane the same operation. For those this header adds the intrinsics that
 * SIMDe 0.7 (Debian 12) lacks and replaces the masked ones and every masked
 * load and store, whichever SIMDe is installed: masked loads and stores here
 * touch only the lanes their mask names (the row tails rely on it; SIMDe
 * 0.8's masked store writes all eight lanes).
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

// ----------------------------------------------------------------------------
// The level's own vectors, for the hot loops of host/cpu/ (written once on
// them, compiled at every level): srs_vd holds W = SRS_VB / 8 doubles (eight
// with AVX-512, four with AVX, two with SSE or NEON), srs_vf twice as many
// floats. Eight lanes of a group are SRS_NV such vectors. A mask of a
// vector's lanes (srs_md for doubles, srs_mf for floats) is a mask register
// at v4 and a vector of lanes (all ones or zero) below it; either way &, |
// and ~ combine masks, and the operations below use them. Each operation
// gives the same bits at every level: min and max as the instructions (a < b
// ? a : b and a > b ? a : b, b when either is NaN), compares ordered (false
// with a NaN), a masked-off lane of a sum adds +0 or keeps the sum (the same
// for sums that start at +0, which never become -0), counts exact integers.
#if defined(__AVX512F__)
#define SRS_VB 64
#elif defined(__AVX__)
#define SRS_VB 32
#else
#define SRS_VB 16
#endif
#define SRS_NV (64 / SRS_VB)   // vectors per eight doubles
#define SRS_VINL static inline __attribute__((always_inline))
typedef double srs_vd __attribute__((vector_size(SRS_VB)));
typedef int64_t srs_vl __attribute__((vector_size(SRS_VB)));
typedef double srs_vdu __attribute__((vector_size(SRS_VB), aligned(8), may_alias));   // unaligned access
typedef float srs_vf __attribute__((vector_size(SRS_VB)));
typedef int32_t srs_vi __attribute__((vector_size(SRS_VB)));
typedef float srs_vfa __attribute__((vector_size(SRS_VB), aligned(4), may_alias));   // unaligned access
// as many floats as a vector has doubles (any alignment): converted with
// __builtin_convertvector, the level's float-to-double instruction
typedef float srs_vfu __attribute__((vector_size(SRS_VB / 2), aligned(4), may_alias));
#if SRS_VB == 64
typedef __mmask8 srs_md;
typedef __mmask16 srs_mf;
#else
typedef srs_vl srs_md;
typedef srs_vi srs_mf;
#endif
// vector q of eight doubles in memory (any alignment)
#define SRS_VQ(p, q) (*(const srs_vdu *)((const char *)(p) + (q) * SRS_VB))
#define SRS_VQW(p, q) (*(srs_vdu *)((char *)(p) + (q) * SRS_VB))

SRS_VINL srs_vd srs_vmin(srs_vd a, srs_vd b) {
#if SRS_VB == 64
    return (srs_vd)_mm512_min_pd((__m512d)a, (__m512d)b);
#elif defined(__AVX__)
    return (srs_vd)_mm256_min_pd((__m256d)a, (__m256d)b);
#elif defined(__SSE2__)
    return (srs_vd)_mm_min_pd((__m128d)a, (__m128d)b);
#else
    srs_vl lt = a < b;
    return (srs_vd)(((srs_vl)a & lt) | ((srs_vl)b & ~lt));
#endif
}
SRS_VINL srs_vd srs_vmax(srs_vd a, srs_vd b) {
#if SRS_VB == 64
    return (srs_vd)_mm512_max_pd((__m512d)a, (__m512d)b);
#elif defined(__AVX__)
    return (srs_vd)_mm256_max_pd((__m256d)a, (__m256d)b);
#elif defined(__SSE2__)
    return (srs_vd)_mm_max_pd((__m128d)a, (__m128d)b);
#else
    srs_vl gt = a > b;
    return (srs_vd)(((srs_vl)a & gt) | ((srs_vl)b & ~gt));
#endif
}
// compares (ordered: false when either is NaN)
#if SRS_VB == 64
#define SRS_VCMP_(NAME, OP, PRED) \
    SRS_VINL srs_md NAME(srs_vd a, srs_vd b) { return _mm512_cmp_pd_mask((__m512d)a, (__m512d)b, PRED); }
#else
#define SRS_VCMP_(NAME, OP, PRED) \
    SRS_VINL srs_md NAME(srs_vd a, srs_vd b) { return a OP b; }
#endif
SRS_VCMP_(srs_vge, >=, _CMP_GE_OQ)
SRS_VCMP_(srs_vgt, >, _CMP_GT_OQ)
SRS_VCMP_(srs_vle, <=, _CMP_LE_OQ)
SRS_VCMP_(srs_vlt, <, _CMP_LT_OQ)
#undef SRS_VCMP_
// every lane
SRS_VINL srs_md srs_vall(void) {
#if SRS_VB == 64
    return (srs_md)0xFF;
#else
    return (srs_vl){0} - 1;
#endif
}
// lanes of m from x, the others from y
SRS_VINL srs_vd srs_vsel(srs_md m, srs_vd x, srs_vd y) {
#if SRS_VB == 64
    return (srs_vd)_mm512_mask_blend_pd(m, (__m512d)y, (__m512d)x);
#elif defined(__AVX__)
    return (srs_vd)_mm256_blendv_pd((__m256d)y, (__m256d)x, (__m256d)m);
#elif defined(__SSE4_1__)
    return (srs_vd)_mm_blendv_pd((__m128d)y, (__m128d)x, (__m128d)m);
#else
    return (srs_vd)(((srs_vl)x & m) | ((srs_vl)y & ~m));
#endif
}
// s plus x in the lanes of m (the others keep s, or add +0)
SRS_VINL srs_vd srs_vaddif(srs_vd s, srs_md m, srs_vd x) {
#if SRS_VB == 64
    return (srs_vd)_mm512_mask_add_pd((__m512d)s, m, (__m512d)s, (__m512d)x);
#else
    return s + (srs_vd)((srs_vl)x & m);
#endif
}
// min of s and x in the lanes of m (the others keep s, or take its min with
// +inf: the same unless s is NaN)
SRS_VINL srs_vd srs_vminif(srs_vd s, srs_md m, srs_vd x) {
#if SRS_VB == 64
    return (srs_vd)_mm512_mask_min_pd((__m512d)s, m, (__m512d)s, (__m512d)x);
#else
    return srs_vmin(s, srs_vsel(m, x, (srs_vd){0} + __builtin_inf()));
#endif
}
// per-lane counts (int64): c plus one in the lanes of m
SRS_VINL srs_vl srs_vcount(srs_vl c, srs_md m) {
#if SRS_VB == 64
    return (srs_vl)_mm512_mask_add_epi64((__m512i)c, m, (__m512i)c, _mm512_set1_epi64(1));
#else
    return c - m;   // a true lane is -1
#endif
}
// counts below 2^52 as doubles, exactly (the bits of 2^52 + c, minus 2^52)
SRS_VINL srs_vd srs_vcount_pd(srs_vl c) {
    return (srs_vd)(c | ((srs_vl){0} + 0x4330000000000000)) - 0x1p52;
}
// the lanes of a mask as bits (lane i: bit i)
SRS_VINL unsigned srs_vbits(srs_md m) {
#if SRS_VB == 64
    return (unsigned)m;
#elif defined(__AVX__)
    return (unsigned)_mm256_movemask_pd((__m256d)m);
#elif defined(__SSE2__)
    return (unsigned)_mm_movemask_pd((__m128d)m);
#else
    unsigned r = 0;
    for (int i = 0; i < SRS_VB / 8; i++) r |= (unsigned)(m[i] & 1) << i;
    return r;
#endif
}
// bits q*W to q*W + W - 1 of k as a mask
SRS_VINL srs_md srs_vmask(unsigned k, int q) {
    const int w = SRS_VB / 8;
#if SRS_VB == 64
    return (srs_md)(k >> (q * w));
#else
    srs_vl kv = (srs_vl){0} + (int64_t)(k >> (q * w)), bit;
    for (int i = 0; i < w; i++) bit[i] = (int64_t)1 << i;
    return (kv & bit) == bit;
#endif
}
// the lanes below n (none for n <= 0, all for n >= W)
SRS_VINL srs_md srs_vfirst(int64_t n) {
#if SRS_VB == 64
    return (srs_md)(n >= 8 ? 0xFF : n > 0 ? (1u << n) - 1 : 0);
#else
    srs_vl iota;
    for (int i = 0; i < SRS_VB / 8; i++) iota[i] = i;
    return iota < ((srs_vl){0} + n);
#endif
}
// W floats from p (any alignment), converted (gcc's own conversion of a
// 64-byte vector goes through two 32-byte halves at -mtune=generic)
SRS_VINL srs_vd srs_vloadf(const float *p) {
#if SRS_VB == 64
    return (srs_vd)_mm512_cvtps_pd(_mm256_loadu_ps(p));
#else
    return __builtin_convertvector(*(const srs_vfu *)p, srs_vd);
#endif
}
// Lane e of vector q of eight: the value at p[l] + i * stride[l] bytes (l =
// q*W + e), a float (f32) or a double, as a double. At v4 the eight loads
// are combined as a tree (set), not one insert after another.
SRS_VINL srs_vd srs_vgather(const char *const *p, const int64_t *stride, int64_t i, int q, int f32) {
#if SRS_VB == 64
    (void)q;
#define SRS_AT_(T, l) (*(const T *)(p[l] + i * stride[l]))
    if (f32)
        return (srs_vd)_mm512_cvtps_pd(_mm256_setr_ps(SRS_AT_(float, 0), SRS_AT_(float, 1), SRS_AT_(float, 2),
                                                      SRS_AT_(float, 3), SRS_AT_(float, 4), SRS_AT_(float, 5),
                                                      SRS_AT_(float, 6), SRS_AT_(float, 7)));
    return (srs_vd)_mm512_setr_pd(SRS_AT_(double, 0), SRS_AT_(double, 1), SRS_AT_(double, 2), SRS_AT_(double, 3),
                                  SRS_AT_(double, 4), SRS_AT_(double, 5), SRS_AT_(double, 6), SRS_AT_(double, 7));
#undef SRS_AT_
#else
    srs_vd r;
    for (int e = 0; e < SRS_VB / 8; e++) {
        const int l = q * (SRS_VB / 8) + e;
        r[e] = f32 ? (double)*(const float *)(p[l] + i * stride[l]) : *(const double *)(p[l] + i * stride[l]);
    }
    return r;
#endif
}
// lanes below n from p (any alignment; p is read only there), the others fill
SRS_VINL srs_vd srs_vloadn(const double *p, int64_t n, double fill) {
    if (n >= SRS_VB / 8) return *(const srs_vdu *)p;
#if SRS_VB == 64
    return (srs_vd)_mm512_mask_loadu_pd(_mm512_set1_pd(fill), (__mmask8)srs_vfirst(n), p);
#else
    srs_vd r = (srs_vd){0} + fill;
    for (int i = 0; i < n; i++) r[i] = p[i];
    return r;
#endif
}
// the same from floats, converted (fill: a float's value)
SRS_VINL srs_vd srs_vloadnf(const float *p, int64_t n, double fill) {
    if (n >= SRS_VB / 8) return srs_vloadf(p);
#if SRS_VB == 64
    return (srs_vd)_mm512_cvtps_pd(_mm256_mask_loadu_ps(_mm256_set1_ps((float)fill), (__mmask8)srs_vfirst(n), p));
#else
    srs_vd r = (srs_vd){0} + fill;
    for (int i = 0; i < n; i++) r[i] = (double)p[i];
    return r;
#endif
}
#if defined(__clang__)
#define SRS_SHUF2(a, b, ...) __builtin_shufflevector((a), (b), __VA_ARGS__)
#else
#define SRS_SHUF2(a, b, ...) __builtin_shuffle((a), (b), (srs_vl){__VA_ARGS__})
#endif
// Transposes W vectors of W doubles: a[i][s] becomes a[s][i].
SRS_VINL void srs_vtranspose(srs_vd *a) {
#if SRS_VB == 64
    __m512d t[8], u[8];
    for (int q = 0; q < 8; q += 2) {
        t[q] = _mm512_unpacklo_pd((__m512d)a[q], (__m512d)a[q + 1]);
        t[q + 1] = _mm512_unpackhi_pd((__m512d)a[q], (__m512d)a[q + 1]);
    }
    for (int h = 0; h < 8; h += 4) {
        u[h] = _mm512_shuffle_f64x2(t[h], t[h + 2], 0x88);
        u[h + 1] = _mm512_shuffle_f64x2(t[h + 1], t[h + 3], 0x88);
        u[h + 2] = _mm512_shuffle_f64x2(t[h], t[h + 2], 0xdd);
        u[h + 3] = _mm512_shuffle_f64x2(t[h + 1], t[h + 3], 0xdd);
    }
    for (int q = 0; q < 4; q++) {
        a[q] = (srs_vd)_mm512_shuffle_f64x2(u[q], u[q + 4], 0x88);
        a[q + 4] = (srs_vd)_mm512_shuffle_f64x2(u[q], u[q + 4], 0xdd);
    }
#elif SRS_VB == 32
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

// floats: twice the doubles' lanes
SRS_VINL srs_vf srs_vminf(srs_vf a, srs_vf b) {
#if SRS_VB == 64
    return (srs_vf)_mm512_min_ps((__m512)a, (__m512)b);
#elif defined(__AVX__)
    return (srs_vf)_mm256_min_ps((__m256)a, (__m256)b);
#elif defined(__SSE2__)
    return (srs_vf)_mm_min_ps((__m128)a, (__m128)b);
#else
    srs_vi lt = a < b;
    return (srs_vf)(((srs_vi)a & lt) | ((srs_vi)b & ~lt));
#endif
}
SRS_VINL srs_vf srs_vmaxf(srs_vf a, srs_vf b) {
#if SRS_VB == 64
    return (srs_vf)_mm512_max_ps((__m512)a, (__m512)b);
#elif defined(__AVX__)
    return (srs_vf)_mm256_max_ps((__m256)a, (__m256)b);
#elif defined(__SSE2__)
    return (srs_vf)_mm_max_ps((__m128)a, (__m128)b);
#else
    srs_vi gt = a > b;
    return (srs_vf)(((srs_vi)a & gt) | ((srs_vi)b & ~gt));
#endif
}
SRS_VINL srs_mf srs_vgef(srs_vf a, srs_vf b) {
#if SRS_VB == 64
    return _mm512_cmp_ps_mask((__m512)a, (__m512)b, _CMP_GE_OQ);
#else
    return a >= b;
#endif
}
// xd >= t for xd, lanes e*W to e*W + W - 1 of a float vector x as doubles,
// and t a float's value, given hf, the float compare x >= t (with any lanes
// masked off): the same lanes, taken from hf at v4 and compared again below
// it (where a float mask does not split into double masks in one step)
SRS_VINL srs_md srs_vge_fromf(srs_mf hf, int e, srs_vd xd, srs_vd t) {
#if SRS_VB == 64
    (void)xd;
    (void)t;
    return (srs_md)(hf >> (8 * e));
#else
    (void)hf;
    (void)e;
    return srs_vge(xd, t);
#endif
}
// the lanes below n (none for n <= 0, all for n >= 2W)
SRS_VINL srs_mf srs_vfirstf(int64_t n) {
#if SRS_VB == 64
    return (srs_mf)(n >= 16 ? 0xFFFF : n > 0 ? (1u << n) - 1 : 0);
#else
    srs_vi iota;
    for (int i = 0; i < SRS_VB / 4; i++) iota[i] = i;
    return iota < ((srs_vi){0} + (int32_t)(n < 0 ? 0 : n > SRS_VB / 4 ? SRS_VB / 4 : n));
#endif
}
// per-lane counts (int32): c plus one in the lanes of m
SRS_VINL srs_vi srs_vcountf(srs_vi c, srs_mf m) {
#if SRS_VB == 64
    return (srs_vi)_mm512_mask_add_epi32((__m512i)c, m, (__m512i)c, _mm512_set1_epi32(1));
#else
    return c - m;   // a true lane is -1
#endif
}
// min, max (any order gives the same value when no lane is NaN) and the sum
// of the lanes (int32, a sum below 2^31)
SRS_VINL float srs_vhminf(srs_vf a) {
#if SRS_VB == 64
    return _mm512_reduce_min_ps((__m512)a);
#else
    float m = a[0];
    for (int i = 1; i < SRS_VB / 4; i++) m = a[i] < m ? a[i] : m;
    return m;
#endif
}
SRS_VINL float srs_vhmaxf(srs_vf a) {
#if SRS_VB == 64
    return _mm512_reduce_max_ps((__m512)a);
#else
    float m = a[0];
    for (int i = 1; i < SRS_VB / 4; i++) m = a[i] > m ? a[i] : m;
    return m;
#endif
}
SRS_VINL int64_t srs_vhsumi(srs_vi a) {
#if SRS_VB == 64
    return _mm512_reduce_add_epi32((__m512i)a);
#else
    int64_t s = 0;
    for (int i = 0; i < SRS_VB / 4; i++) s += a[i];
    return s;
#endif
}
SRS_VINL unsigned srs_vbitsf(srs_mf m) {
#if SRS_VB == 64
    return (unsigned)m;
#elif defined(__AVX__)
    return (unsigned)_mm256_movemask_ps((__m256)m);
#elif defined(__SSE2__)
    return (unsigned)_mm_movemask_ps((__m128)m);
#else
    unsigned r = 0;
    for (int i = 0; i < SRS_VB / 4; i++) r |= (unsigned)(m[i] & 1) << i;
    return r;
#endif
}
// The lanes of x in m, in order, stored at p; returns their count. Writes a
// whole vector at p (p needs room for 2W floats).
SRS_VINL int srs_vcompressf(float *p, srs_vf x, srs_mf m) {
#if SRS_VB == 64
    _mm512_storeu_ps(p, _mm512_maskz_compress_ps(m, (__m512)x));
    return __builtin_popcount((unsigned)m);
#elif defined(__AVX2__)
    // the lanes of each mask, in order, as the bytes of an index vector (the rest 0)
    static const uint64_t lut[256] = {
        0x0000000000000000u, 0x0000000000000000u, 0x0000000000000001u, 0x0000000000000100u,
        0x0000000000000002u, 0x0000000000000200u, 0x0000000000000201u, 0x0000000000020100u,
        0x0000000000000003u, 0x0000000000000300u, 0x0000000000000301u, 0x0000000000030100u,
        0x0000000000000302u, 0x0000000000030200u, 0x0000000000030201u, 0x0000000003020100u,
        0x0000000000000004u, 0x0000000000000400u, 0x0000000000000401u, 0x0000000000040100u,
        0x0000000000000402u, 0x0000000000040200u, 0x0000000000040201u, 0x0000000004020100u,
        0x0000000000000403u, 0x0000000000040300u, 0x0000000000040301u, 0x0000000004030100u,
        0x0000000000040302u, 0x0000000004030200u, 0x0000000004030201u, 0x0000000403020100u,
        0x0000000000000005u, 0x0000000000000500u, 0x0000000000000501u, 0x0000000000050100u,
        0x0000000000000502u, 0x0000000000050200u, 0x0000000000050201u, 0x0000000005020100u,
        0x0000000000000503u, 0x0000000000050300u, 0x0000000000050301u, 0x0000000005030100u,
        0x0000000000050302u, 0x0000000005030200u, 0x0000000005030201u, 0x0000000503020100u,
        0x0000000000000504u, 0x0000000000050400u, 0x0000000000050401u, 0x0000000005040100u,
        0x0000000000050402u, 0x0000000005040200u, 0x0000000005040201u, 0x0000000504020100u,
        0x0000000000050403u, 0x0000000005040300u, 0x0000000005040301u, 0x0000000504030100u,
        0x0000000005040302u, 0x0000000504030200u, 0x0000000504030201u, 0x0000050403020100u,
        0x0000000000000006u, 0x0000000000000600u, 0x0000000000000601u, 0x0000000000060100u,
        0x0000000000000602u, 0x0000000000060200u, 0x0000000000060201u, 0x0000000006020100u,
        0x0000000000000603u, 0x0000000000060300u, 0x0000000000060301u, 0x0000000006030100u,
        0x0000000000060302u, 0x0000000006030200u, 0x0000000006030201u, 0x0000000603020100u,
        0x0000000000000604u, 0x0000000000060400u, 0x0000000000060401u, 0x0000000006040100u,
        0x0000000000060402u, 0x0000000006040200u, 0x0000000006040201u, 0x0000000604020100u,
        0x0000000000060403u, 0x0000000006040300u, 0x0000000006040301u, 0x0000000604030100u,
        0x0000000006040302u, 0x0000000604030200u, 0x0000000604030201u, 0x0000060403020100u,
        0x0000000000000605u, 0x0000000000060500u, 0x0000000000060501u, 0x0000000006050100u,
        0x0000000000060502u, 0x0000000006050200u, 0x0000000006050201u, 0x0000000605020100u,
        0x0000000000060503u, 0x0000000006050300u, 0x0000000006050301u, 0x0000000605030100u,
        0x0000000006050302u, 0x0000000605030200u, 0x0000000605030201u, 0x0000060503020100u,
        0x0000000000060504u, 0x0000000006050400u, 0x0000000006050401u, 0x0000000605040100u,
        0x0000000006050402u, 0x0000000605040200u, 0x0000000605040201u, 0x0000060504020100u,
        0x0000000006050403u, 0x0000000605040300u, 0x0000000605040301u, 0x0000060504030100u,
        0x0000000605040302u, 0x0000060504030200u, 0x0000060504030201u, 0x0006050403020100u,
        0x0000000000000007u, 0x0000000000000700u, 0x0000000000000701u, 0x0000000000070100u,
        0x0000000000000702u, 0x0000000000070200u, 0x0000000000070201u, 0x0000000007020100u,
        0x0000000000000703u, 0x0000000000070300u, 0x0000000000070301u, 0x0000000007030100u,
        0x0000000000070302u, 0x0000000007030200u, 0x0000000007030201u, 0x0000000703020100u,
        0x0000000000000704u, 0x0000000000070400u, 0x0000000000070401u, 0x0000000007040100u,
        0x0000000000070402u, 0x0000000007040200u, 0x0000000007040201u, 0x0000000704020100u,
        0x0000000000070403u, 0x0000000007040300u, 0x0000000007040301u, 0x0000000704030100u,
        0x0000000007040302u, 0x0000000704030200u, 0x0000000704030201u, 0x0000070403020100u,
        0x0000000000000705u, 0x0000000000070500u, 0x0000000000070501u, 0x0000000007050100u,
        0x0000000000070502u, 0x0000000007050200u, 0x0000000007050201u, 0x0000000705020100u,
        0x0000000000070503u, 0x0000000007050300u, 0x0000000007050301u, 0x0000000705030100u,
        0x0000000007050302u, 0x0000000705030200u, 0x0000000705030201u, 0x0000070503020100u,
        0x0000000000070504u, 0x0000000007050400u, 0x0000000007050401u, 0x0000000705040100u,
        0x0000000007050402u, 0x0000000705040200u, 0x0000000705040201u, 0x0000070504020100u,
        0x0000000007050403u, 0x0000000705040300u, 0x0000000705040301u, 0x0000070504030100u,
        0x0000000705040302u, 0x0000070504030200u, 0x0000070504030201u, 0x0007050403020100u,
        0x0000000000000706u, 0x0000000000070600u, 0x0000000000070601u, 0x0000000007060100u,
        0x0000000000070602u, 0x0000000007060200u, 0x0000000007060201u, 0x0000000706020100u,
        0x0000000000070603u, 0x0000000007060300u, 0x0000000007060301u, 0x0000000706030100u,
        0x0000000007060302u, 0x0000000706030200u, 0x0000000706030201u, 0x0000070603020100u,
        0x0000000000070604u, 0x0000000007060400u, 0x0000000007060401u, 0x0000000706040100u,
        0x0000000007060402u, 0x0000000706040200u, 0x0000000706040201u, 0x0000070604020100u,
        0x0000000007060403u, 0x0000000706040300u, 0x0000000706040301u, 0x0000070604030100u,
        0x0000000706040302u, 0x0000070604030200u, 0x0000070604030201u, 0x0007060403020100u,
        0x0000000000070605u, 0x0000000007060500u, 0x0000000007060501u, 0x0000000706050100u,
        0x0000000007060502u, 0x0000000706050200u, 0x0000000706050201u, 0x0000070605020100u,
        0x0000000007060503u, 0x0000000706050300u, 0x0000000706050301u, 0x0000070605030100u,
        0x0000000706050302u, 0x0000070605030200u, 0x0000070605030201u, 0x0007060503020100u,
        0x0000000007060504u, 0x0000000706050400u, 0x0000000706050401u, 0x0000070605040100u,
        0x0000000706050402u, 0x0000070605040200u, 0x0000070605040201u, 0x0007060504020100u,
        0x0000000706050403u, 0x0000070605040300u, 0x0000070605040301u, 0x0007060504030100u,
        0x0000070605040302u, 0x0007060504030200u, 0x0007060504030201u, 0x0706050403020100u,
    };
    const unsigned b = srs_vbitsf(m);
    const __m256i ix = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)lut[b]));
    _mm256_storeu_ps(p, _mm256_permutevar8x32_ps((__m256)x, ix));
    return __builtin_popcount(b);
#else
    // without branches: every lane is written at the next free place, which
    // advances only for the lanes of the mask
    const unsigned b = srs_vbitsf(m);
    int k = 0;
    for (int e = 0; e < SRS_VB / 4; e++) {
        p[k] = x[e];
        k += b >> e & 1;
    }
    return k;
#endif
}


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

// The masked arithmetic of the SIMDe AVX-512 intrinsics below v4, with the
// mask as vectors of lanes at the level's own width (two AVX2 registers for
// eight doubles, four SSE or NEON ones) and selects by bitwise operations:
// SIMDe 0.7 walks the mask's bits lane by lane, and gcc 12 lowers 64-byte
// generic vectors below AVX-512 to scalar selects.
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
#endif  // SRS_SIMD512_H
