/*
 * score_body.cuh — the per-element code of the reward-head kernels
 * (score.cu), shared with the CPU tests' emulation (score_emu.cpp):
 * __host__ __device__, and plain C++ without CUDA.
 *
 *   score_cast_at      element i of the head (d, heads) from float to the
 *                      hidden states' half type, round to nearest even:
 *                      IEEE binary16 (kind 2) or bfloat16 (kind 3), bits in a
 *                      uint16_t. Integer code, the same bits on both sides
 *                      (the inverse is host/score.c's srs_half_to_float and
 *                      srs_bf16_to_float); a NaN stays a quiet NaN.
 *   score_add_bias_at  out[i] += bias[i % heads] over out (n, heads): the
 *                      float addition host/score.c does after its GEMM.
 * Threads past the end do nothing, as in a grid rounded up to whole blocks.
 */
#ifndef SRS_KERNELS_SCORE_BODY_CUH
#define SRS_KERNELS_SCORE_BODY_CUH

#include <stdint.h>
#include <string.h>
#include "group.cuh"   // __host__, __device__ in plain C++

#define SCORE_HD __host__ __device__
#define SCORE_BLOCK 256   // threads a block of the element kernels

SCORE_HD __forceinline__ uint32_t score_float_bits(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    return x;
}

// float -> IEEE binary16, round to nearest even (overflow to infinity,
// gradual underflow through the subnormals).
SCORE_HD __forceinline__ uint16_t score_float_to_half(float f) {
    uint32_t x = score_float_bits(f);
    const uint32_t sign = (x >> 16) & 0x8000u;
    x &= 0x7fffffffu;
    if (x >= 0x7f800000u)  // infinity, or NaN (quiet, the payload's top bits kept)
        return (uint16_t)(sign | (x > 0x7f800000u ? 0x7e00u | ((x >> 13) & 0x3ffu) : 0x7c00u));
    if (x >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);  // >= 65520: rounds to infinity
    if (x < 0x38800000u) {  // below 2^-14: a subnormal half, in units of 2^-24
        if (x < 0x33000000u) return (uint16_t)sign;  // below 2^-25: rounds to zero
        const uint32_t e = x >> 23, m = (x & 0x7fffffu) | 0x800000u;
        const uint32_t shift = 126u - e;  // 14 .. 24
        uint32_t h = m >> shift;
        const uint32_t rem = m & ((1u << shift) - 1u), half = 1u << (shift - 1u);
        h += rem > half || (rem == half && (h & 1u));
        return (uint16_t)(sign | h);  // 0x400 after a carry: the smallest normal
    }
    uint32_t h = (x >> 13) - (112u << 10);  // exponent rebiased from 127 to 15
    const uint32_t rem = x & 0x1fffu;
    h += rem > 0x1000u || (rem == 0x1000u && (h & 1u));  // a carry moves into the exponent
    return (uint16_t)(sign | h);
}

// float -> bfloat16 (the top 16 bits), round to nearest even.
SCORE_HD __forceinline__ uint16_t score_float_to_bf16(float f) {
    const uint32_t x = score_float_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u);  // NaN: quiet
    return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

// out[i] = w[i] cast to kind (2: binary16, else bfloat16), i < n.
SCORE_HD __forceinline__ void score_cast_at(const float *w, uint16_t *out, int64_t n, int kind, int64_t i) {
    if (i >= n) return;
    out[i] = kind == 2 ? score_float_to_half(w[i]) : score_float_to_bf16(w[i]);
}

// out (n, heads) row-major: out[i] += bias[i % heads], i < n heads.
SCORE_HD __forceinline__ void score_add_bias_at(float *out, const float *bias, int64_t n, int64_t heads, int64_t i) {
    if (i < n * heads) out[i] += bias[i % heads];
}

#endif // SRS_KERNELS_SCORE_BODY_CUH
