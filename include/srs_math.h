/*
 * srs_math.h — the per-sample mathematics, shared by every backend.
 *
 * Static inline functions that gcc compiles for the CPU backend and nvcc for
 * the CUDA kernels: presets, the scaled F term, stable sigmoid, the shaping
 * formulas and the Philox4x32-10 counter-based random stream. One source of
 * truth; backends differ only in how they loop.
 *
 * Numerics. gamma = exp(lg) can overflow double (lg = B/beta up to 1000 and
 * beyond), so nothing here forms gamma. Weights are scaled by 1/gamma:
 * w~ = 1 above the threshold, eps = exp(-lg) below; eps underflows to 0 in the
 * limit gamma -> inf, where the root is max u, as it should be.
 */
#ifndef SRS_MATH_H
#define SRS_MATH_H

#include <float.h>
#include <math.h>
#include <stdint.h>
#include "srs.h"

#ifdef __CUDACC__
#define SRS_HD __host__ __device__ __forceinline__
#else
#define SRS_HD static inline
#endif

// Minimum and maximum as compare-selects. On the host, fmin/fmax are libm
// calls (their NaN rules keep gcc from inlining them); the values reaching
// these are finite.
SRS_HD double srs_min(double a, double b) { return b < a ? b : a; }
SRS_HD double srs_max(double a, double b) { return b > a ? b : a; }

// A row the solvers cannot sum in double: its range of d = u - u_0, or its
// length times the largest |d|, overflows (or is NaN). Every sum a solver
// forms is at most n times the largest |d|; d_0 = 0, so dmin <= 0 <= dmax.
SRS_HD int srs_row_too_wide(double dmin, double dmax, double n) {
    return !(dmax - dmin <= DBL_MAX) || !(srs_max(-dmin, dmax) * n <= DBL_MAX);
}

// ----------------------------------------------------------------------------
// exp and log as straight-line code (no branches, no calls), so that loops over
// them vectorise: the evaluation's inner loops spend most of their time here,
// and libm's scalar calls would keep them scalar. Measured against libm over
// 2e7 random arguments: exp within 1 ulp, log within 2 ulp (tests/test_eval.c
// checks them). Integer and bit work goes through doubles and 64-bit
// integers only, which gcc vectorises with AVX-512 and nvcc compiles as is;
// the polynomials use fma(), exactly rounded by definition, so that backends
// do not differ by compilers' contraction choices (and gcc emits one
// instruction per step with -mfma).

SRS_HD double srs_f64_from_bits(uint64_t u) {
#ifdef __CUDA_ARCH__
    return __longlong_as_double((long long)u);
#else
    union { uint64_t u; double f; } c;
    c.u = u;
    return c.f;
#endif
}

SRS_HD uint64_t srs_f64_to_bits(double f) {
#ifdef __CUDA_ARCH__
    return (uint64_t)__double_as_longlong(f);
#else
    union { uint64_t u; double f; } c;
    c.f = f;
    return c.u;
#endif
}

// c ? a : b as a select of bits, for loops that must vectorise: gcc threads
// a ?: with a constant arm into the code that follows and leaves the rest of
// the loop body in a branch, and without AVX-512's masks it does not
// vectorise a branch that holds floating-point operations (they may trap).
SRS_HD double srs_select(int c, double a, double b) {
    const uint64_t m = (uint64_t)0 - (uint64_t)(c != 0);
    return srs_f64_from_bits((srs_f64_to_bits(a) & m) | (srs_f64_to_bits(b) & ~m));
}
// srs_max through srs_select
SRS_HD double srs_max_sel(double a, double b) { return srs_select(b > a, b, a); }

// e^x: 0 below about -745.2, inf above about 709.8 (and for +inf), NaN for
// NaN. x = k ln2 + r with |r| <= ln2/2 (Cody-Waite, ln2 split so k ln2_hi is
// exact), e^r by its Taylor polynomial to degree 13 (truncation < 1e-17
// relative), then scaling by 2^k in two steps so that subnormal results need
// no special case. The clamp sends NaN to -746 (a compare with NaN is false),
// so that k is always a small integer (converting NaN to an integer is
// undefined behaviour), and the NaN is put back at the end; selects, not
// branches, so loops over it still vectorise.
SRS_HD double srs_exp(double x) {
    const double xin = x;
    // x > -746 ? x : -746, then x < 710 ? x : 710, as selects of bits: as ?:
    // gcc threads the constants through the code below and leaves the
    // products in branches, which keeps loops over it scalar below AVX-512
    const uint64_t above = (uint64_t)0 - (uint64_t)(x > -746.0);
    x = srs_f64_from_bits((srs_f64_to_bits(x) & above) | (0xC087500000000000ull & ~above));   // -746
    const uint64_t below = (uint64_t)0 - (uint64_t)(x < 710.0);
    x = srs_f64_from_bits((srs_f64_to_bits(x) & below) | (0x4086300000000000ull & ~below));   // 710
    const double shifter = 6755399441055744.0;  // 1.5 * 2^52: adding it rounds to an integer
#ifdef __CUDA_ARCH__
    const double t = __dmul_rn(x, 1.4426950408889634074) + shifter;  // no contraction
#else
    const double t = x * 1.4426950408889634074 + shifter;
#endif
    const double kf = t - shifter;
    double r = fma(-kf, 1.90821492927058770002e-10, fma(-kf, 6.93147180369123816490e-01, x));
    double p = 1.0 / 6227020800.0;  // 1/13!
    p = fma(p, r, 1.0 / 479001600.0);
    p = fma(p, r, 1.0 / 39916800.0);
    p = fma(p, r, 1.0 / 3628800.0);
    p = fma(p, r, 1.0 / 362880.0);
    p = fma(p, r, 1.0 / 40320.0);
    p = fma(p, r, 1.0 / 5040.0);
    p = fma(p, r, 1.0 / 720.0);
    p = fma(p, r, 1.0 / 120.0);
    p = fma(p, r, 1.0 / 24.0);
    p = fma(p, r, 1.0 / 6.0);
    p = fma(p, r, 0.5);
    p = fma(p, r, 1.0);
    p = fma(p, r, 1.0);
    // 2^k = 2^k1 2^k2 with k = kf in [-1077, 1025], from the bits of t (shifter + k:
    // the ulp there is 1) and in unsigned 64-bit arithmetic only, which AVX2
    // vectorises (it has no conversion between doubles and 64-bit integers
    // and no arithmetic shift of them): the biased exponents e1 + e2 = k + 2046,
    // e1 = floor of half, so k1 = floor(k / 2) and k2 = k - k1 are each in
    // [-539, 513], 2^k1 and 2^k2 are normal, and p 2^k1 is exact: y is p 2^k
    // rounded once, whichever way k is split.
    const uint64_t kb = srs_f64_to_bits(t) - srs_f64_to_bits(shifter) + 2046u;
    const uint64_t e1 = kb >> 1, e2 = kb - e1;
    double y = p * srs_f64_from_bits(e1 << 52) * srs_f64_from_bits(e2 << 52);
    // y, or the NaN x: a select of bits (gcc turns xin == xin ? y : xin into a
    // branch around the products, which keeps the loop scalar below AVX-512)
    const uint64_t keep = (uint64_t)0 - (uint64_t)(xin == xin);
    return srs_f64_from_bits((srs_f64_to_bits(y) & keep) | (srs_f64_to_bits(xin) & ~keep));
}

// log x for finite x > 0 (subnormals included). x = 2^e m with m in
// [sqrt(1/2), sqrt(2)), log m = 2 atanh(f), f = (m-1)/(m+1), |f| < 0.172, by
// its odd series to f^23 (truncation < 1e-18 relative).
SRS_HD double srs_log(double x) {
    // 2^54 lifts subnormals (x times 2^54 or 1, chosen by bits: a ?: around
    // the product becomes a branch, which keeps loops scalar below AVX-512)
    const uint64_t sub = (uint64_t)0 - (uint64_t)(x < 2.2250738585072014e-308);
    double xs = x * srs_f64_from_bits((0x4350000000000000ull & sub) | (0x3FF0000000000000ull & ~sub));
    uint64_t u = srs_f64_to_bits(xs);
    // offsetting by the bits of sqrt(1/2) puts m in [sqrt(1/2), sqrt(2)); k is
    // the exponent of u - bits(sqrt(1/2)) as a signed number (floor of it over
    // 2^52), k + 1024 its unsigned shift after adding 1024 << 52 (AVX2 has no
    // arithmetic shift of 64-bit integers)
    uint64_t kb = (u - 0x3FE6A09E667F3BCDull + (1024ull << 52)) >> 52;   // k + 1024
    double m = srs_f64_from_bits(u - ((kb - 1024u) << 52));
    // e = k - (54 for a subnormal) as a double through the bits of 1.5 * 2^52 + e
    // (exact for |e| < 2^51; AVX2 has no conversion of 64-bit integers)
    double ef = srs_f64_from_bits(0x4338000000000000ull + kb - 1024u - (54u & sub)) - 6755399441055744.0;
    double f = (m - 1.0) / (m + 1.0), f2 = f * f;
    double s = 1.0 / 23.0;
    s = fma(s, f2, 1.0 / 21.0);
    s = fma(s, f2, 1.0 / 19.0);
    s = fma(s, f2, 1.0 / 17.0);
    s = fma(s, f2, 1.0 / 15.0);
    s = fma(s, f2, 1.0 / 13.0);
    s = fma(s, f2, 1.0 / 11.0);
    s = fma(s, f2, 1.0 / 9.0);
    s = fma(s, f2, 1.0 / 7.0);
    s = fma(s, f2, 1.0 / 5.0);
    s = fma(s, f2, 1.0 / 3.0);
    double lm = fma(2.0 * f, f2 * s, 2.0 * f);
    return fma(ef, 6.93147180369123816490e-01, fma(ef, 1.90821492927058770002e-10, lm));
}

// ----------------------------------------------------------------------------
// presets

// Per-row constants of a preset: the reward bound the shaped reward uses
// (B_eff) and log gamma. umin/umax are the row's reward range.
typedef struct {
    double b_eff;
    double lg;     // log gamma >= 0
    double eps;    // exp(-lg), the below-threshold weight relative to above
} srs_preset_vals_t;

// B_eff and lg only (eps left 0): for callers that cache exp(-lg).
SRS_HD srs_preset_vals_t srs_preset_bounds(srs_preset_t preset, double B, double beta, double cap,
                                           double umin, double umax) {
    srs_preset_vals_t v;
    v.eps = 0.0;
    double range = umax - umin;
    switch (preset) {
    case SRS_PRESET_PAPER_CD:
        v.b_eff = srs_min(B, 2.0 * range);
        v.lg = srs_min(v.b_eff / beta, cap);
        break;
    case SRS_PRESET_PAPER_ARGS:
        v.b_eff = srs_min(B, 1.01 * range);
        v.lg = srs_min(v.b_eff / beta, 0.69314718055994530942); // gamma capped at 2
        break;
    default:
        v.b_eff = B;
        v.lg = B / beta;
        break;
    }
    return v;
}

SRS_HD srs_preset_vals_t srs_preset_eval(srs_preset_t preset, double B, double beta, double cap,
                                         double umin, double umax) {
    srs_preset_vals_t v = srs_preset_bounds(preset, B, beta, cap, umin, umax);
    v.eps = exp(-v.lg);
    return v;
}

// ----------------------------------------------------------------------------
// the scaled F term and the threshold value of an active set

// Contribution of one sample to F(m)/gamma: p (u - m) above, eps p (u - m) below.
SRS_HD double srs_fterm(double u, double p, double m, double eps) {
    double w = u >= m ? 1.0 : eps;
    return w * p * (u - m);
}

// Threshold reward value of rewarding the set A: (gamma S_A + S_rest) /
// (gamma P_A + P_rest), written without gamma. At the optimal A it is m*.
SRS_HD double srs_set_value(double s_hi, double p_hi, double s_lo, double p_lo, double eps) {
    return (s_hi + eps * s_lo) / (p_hi + eps * p_lo);
}

// ----------------------------------------------------------------------------
// shaping

// 1/(1+exp(-x)) without overflow for either sign of x.
SRS_HD double srs_sigmoid(double x) {
    if (x >= 0) return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

// The minmax design, scale (u - umin) / range with scale = min(B, 1.01
// range): 0 when range = 0. Multiplying first rounds once, but the product
// overflows for large B and range (B = range = 1e300 gives inf, then NaN
// downstream) and loses every digit to underflow for tiny ones; dividing
// first keeps the fraction in [0, 1] and cannot overflow. The product is
// kept where it is a normal number, so that results that never came near
// those limits keep their bits.
SRS_HD double srs_minmax_value(double u, double umin, double range, double scale) {
    if (!(range > 0)) return 0.0;
    double x = u - umin, t = scale * x;
    if (fabs(t) <= DBL_MAX && (fabs(t) >= DBL_MIN || x == 0.0)) return t / range;
    return x / range * scale;
}

// Row statistics a design may need; mean and std are p-weighted.
typedef struct {
    double umin, umax, mean, std;
    double m_star, b_eff;
} srs_row_stats_t;

// Shaped reward of one sample with reward u under design d.
//   B     the user's bound (minmax uses min(B, 1.01 range))
//   alpha sigmoid sharpness; clip the cap design's c
SRS_HD double srs_shape_value(srs_design_t d, double u, const srs_row_stats_t *st,
                              double B, double alpha, double clip) {
    double range = st->umax - st->umin;
    switch (d) {
    case SRS_DESIGN_RAW: return u;
    case SRS_DESIGN_HARD: return u >= st->m_star ? st->b_eff : 0.0;
    case SRS_DESIGN_SOFT: return st->b_eff * srs_sigmoid(alpha * (u - st->m_star));
    case SRS_DESIGN_MINMAX: return srs_minmax_value(u, st->umin, range, srs_min(B, 1.01 * range));
    case SRS_DESIGN_MEANSTD: return st->std > 0 ? (u - st->mean) / st->std : 0.0;
    case SRS_DESIGN_CAP: return srs_min(srs_max(u - st->umin, 0.0), clip);
    case SRS_DESIGN_MEANSOFT: return st->b_eff * srs_sigmoid(alpha * (u - st->mean));
    default: return NAN;
    }
}

// ----------------------------------------------------------------------------
// Philox4x32-10 (Salmon, Moraes, Dror, Shaw, SC'11): a counter-based stream.
// Output block = philox(counter, key); the same (key, counter) gives the same
// numbers on every backend, thread count and chunking.

typedef struct { uint32_t v[4]; } srs_u32x4_t;

#define SRS_PHILOX_M0 0xD2511F53u
#define SRS_PHILOX_M1 0xCD9E8D57u
#define SRS_PHILOX_W0 0x9E3779B9u
#define SRS_PHILOX_W1 0xBB67AE85u

SRS_HD srs_u32x4_t srs_philox4x32_10(srs_u32x4_t c, uint32_t k0, uint32_t k1) {
    for (int r = 0; r < 10; r++) {
        uint64_t p0 = (uint64_t)SRS_PHILOX_M0 * c.v[0];
        uint64_t p1 = (uint64_t)SRS_PHILOX_M1 * c.v[2];
        uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
        uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
        srs_u32x4_t n;
        n.v[0] = hi1 ^ c.v[1] ^ k0;
        n.v[1] = lo1;
        n.v[2] = hi0 ^ c.v[3] ^ k1;
        n.v[3] = lo0;
        c = n;
        k0 += SRS_PHILOX_W0;
        k1 += SRS_PHILOX_W1;
    }
    return c;
}

// The block for (seed, a, b, stream): a and b are 64-bit indices (e.g.
// global prompt and sample), stream separates independent uses.
SRS_HD srs_u32x4_t srs_philox_block(uint64_t seed, uint64_t a, uint32_t b, uint32_t stream) {
    srs_u32x4_t c;
    c.v[0] = (uint32_t)a;
    c.v[1] = (uint32_t)(a >> 32);
    c.v[2] = b;
    c.v[3] = stream;
    return srs_philox4x32_10(c, (uint32_t)seed, (uint32_t)(seed >> 32));
}

// Uniform double in (0, 1) from two 32-bit words (53 random bits).
SRS_HD double srs_u01(uint32_t x, uint32_t y) {
    uint64_t z = ((uint64_t)x << 21) ^ (uint64_t)y;
    z &= (1ull << 53) - 1;
    return ((double)z + 0.5) * (1.0 / 9007199254740992.0);
}

// Two independent standard normals from one Philox block (Box-Muller).
SRS_HD void srs_normal2(srs_u32x4_t r, double *z0, double *z1) {
    double u1 = srs_u01(r.v[0], r.v[1]);
    double u2 = srs_u01(r.v[2], r.v[3]);
    double rad = sqrt(-2.0 * log(u1));
    double th = 6.283185307179586476925 * u2;
    *z0 = rad * cos(th);
    *z1 = rad * sin(th);
}

// ----------------------------------------------------------------------------
// half-precision inputs: bfloat16 and IEEE binary16 bit patterns <-> float.
// Plain bit manipulation (no cuda_fp16.h / cuda_bf16.h), so gcc and nvcc
// convert identically and the header stays valid C.

SRS_HD float srs_f32_from_bits(uint32_t u) {
#ifdef __CUDA_ARCH__
    return __uint_as_float(u);
#else
    union { uint32_t u; float f; } c;
    c.u = u;
    return c.f;
#endif
}

SRS_HD uint32_t srs_f32_to_bits(float f) {
#ifdef __CUDA_ARCH__
    return __float_as_uint(f);
#else
    union { uint32_t u; float f; } c;
    c.f = f;
    return c.u;
#endif
}

// bfloat16 is the top half of a float32: widening is exact.
SRS_HD float srs_bf16_to_f32(uint16_t h) { return srs_f32_from_bits((uint32_t)h << 16); }

// Round to nearest even; NaN stays a (quiet) NaN, infinities stay infinite.
SRS_HD uint16_t srs_f32_to_bf16(float f) {
    uint32_t u = srs_f32_to_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

// IEEE binary16 -> float32, exact for every input (subnormals, inf, NaN).
SRS_HD float srs_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0x1fu) return srs_f32_from_bits(sign | 0x7f800000u | (m << 13));
    if (e == 0) {  // zero or subnormal: m * 2^-24, exact in float
        float f = (float)m * 5.9604644775390625e-8f;
        return sign ? -f : f;
    }
    return srs_f32_from_bits(sign | ((e + 112u) << 23) | (m << 13));
}

#endif // SRS_MATH_H
