/*
 * score.c — reward heads on the CPU (OpenBLAS sgemm) and the dispatch to the
 * cuBLAS path: rewards (n, heads) = hidden (n, d) x head (d, heads) + bias.
 * Half-precision hidden states are converted to float a block of rows at a
 * time, so memory stays at the input plus one block.
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "score.h"

#define SCORE_BLOCK_ROWS 4096

float srs_half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        if (man == 0) bits = sign;
        else {  // subnormal: normalise
            int e = -1;
            do { e++; man <<= 1; } while (!(man & 0x400));
            bits = sign | (uint32_t)(127 - 15 - e) << 23 | (man & 0x3ff) << 13;
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | man << 13;
    } else {
        bits = sign | (exp + 127 - 15) << 23 | man << 13;
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

float srs_bf16_to_float(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

// Rows [r0, r0+nr) of hidden as float into buf (nr, d).
static void rows_to_float(const void *hidden, srs_npy_kind_t kind, int64_t r0, int64_t nr, int64_t d, float *buf) {
    int64_t n = nr * d, o = r0 * d;
    switch (kind) {
    case SRS_NPY_F64:
        for (int64_t i = 0; i < n; i++) buf[i] = (float)((const double *)hidden)[o + i];
        break;
    case SRS_NPY_F16:
        for (int64_t i = 0; i < n; i++) buf[i] = srs_half_to_float(((const uint16_t *)hidden)[o + i]);
        break;
    case SRS_NPY_BF16:
        for (int64_t i = 0; i < n; i++) buf[i] = srs_bf16_to_float(((const uint16_t *)hidden)[o + i]);
        break;
    default:
        memcpy(buf, (const float *)hidden + o, sizeof(float) * (size_t)n);
        break;
    }
}

srs_status_t srs_score(srs_ctx_t *ctx, const void *hidden, srs_npy_kind_t kind, int64_t n, int64_t d,
                       const float *head, int64_t heads, const float *bias, float *out) {
    if (!ctx) return SRS_ERR_INVALID_ARG;
    srs_clear_error(ctx);
    if (!hidden || !head || !out || n < 0 || d < 1 || heads < 1 || (unsigned)kind > SRS_NPY_BF16)
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "srs_score: bad arguments");
    if (d > 0x7fffffff || heads > 0x7fffffff)
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "srs_score: d and heads must be < 2^31");
    if (n == 0) return SRS_OK;
#ifdef SRS_WITH_CUDA
    if (srs_ctx_device(ctx) == SRS_DEVICE_CUDA) {
        if (kind == SRS_NPY_F64)
            return srs_fail(ctx, SRS_ERR_UNSUPPORTED, "srs score on CUDA takes float32, float16 or bfloat16 hidden states");
        if (srs_score_cuda(ctx->cuda_device, hidden, (int)kind, n, d, head, heads, bias, out,
                           srs_env_pos("SRS_CUDA_SCORE_CHUNK_ROWS"), srs_env_pos("SRS_CUDA_POISON") > 0))
            return srs_fail(ctx, SRS_ERR_BACKEND, "%s", srs_cuda_last_error_msg());
        return SRS_OK;
    }
#endif
    float *buf = NULL;
    if (kind != SRS_NPY_F32 && !(buf = malloc(sizeof(float) * (size_t)(SCORE_BLOCK_ROWS * d))))
        return srs_fail(ctx, SRS_ERR_NOMEM, "out of memory");
    for (int64_t r0 = 0; r0 < n; r0 += SCORE_BLOCK_ROWS) {
        int64_t nr = n - r0 < SCORE_BLOCK_ROWS ? n - r0 : SCORE_BLOCK_ROWS;
        const float *a = (const float *)hidden + r0 * d;
        if (buf) {
            rows_to_float(hidden, kind, r0, nr, d, buf);
            a = buf;
        }
        float *c = out + r0 * heads;
        if (heads == 1)
            cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)nr, (int)d, 1.0f, a, (int)d, head, 1, 0.0f, c, 1);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nr, (int)heads, (int)d, 1.0f, a, (int)d,
                        head, (int)heads, 0.0f, c, (int)heads);
        if (bias)
            for (int64_t i = 0; i < nr; i++)
                for (int64_t h = 0; h < heads; h++) c[i * heads + h] += bias[h];
    }
    free(buf);
    return SRS_OK;
}

// Element i of hidden as float (as srs_score converts it).
static float hidden_at(const void *hidden, srs_npy_kind_t kind, int64_t i) {
    switch (kind) {
    case SRS_NPY_F64: return (float)((const double *)hidden)[i];
    case SRS_NPY_F16: return srs_half_to_float(((const uint16_t *)hidden)[i]);
    case SRS_NPY_BF16: return srs_bf16_to_float(((const uint16_t *)hidden)[i]);
    default: return ((const float *)hidden)[i];
    }
}

srs_status_t srs_score_check(srs_ctx_t *ctx, const float *out, int64_t n, int64_t heads, const void *hidden,
                             srs_npy_kind_t kind, int64_t d, const float *head, const float *bias, int64_t first_row,
                             const char *hidden_path, const char *head_path, const char *bias_path) {
    int64_t i = 0, h = 0;
    for (; i < n; i++) {
        for (h = 0; h < heads && isfinite(out[i * heads + h]); h++) {}
        if (h < heads) break;
    }
    if (i == n) return SRS_OK;
    // the blame, in the order a reader checks: the sample's hidden state, the head, the bias
    for (int64_t k = 0; k < d; k++) {
        float x = hidden_at(hidden, kind, i * d + k);
        if (!isfinite(x))
            return srs_fail(ctx, SRS_ERR_BAD_INPUT, "%s: row %lld, value %lld: hidden state is %g (must be finite)",
                            hidden_path, (long long)(first_row + i), (long long)k, (double)x);
    }
    for (int64_t k = 0; k < d; k++)
        if (!isfinite(head[k * heads + h]))
            return srs_fail(ctx, SRS_ERR_BAD_INPUT,
                            "%s: row %lld, output %lld: head weight is %g (must be finite in float32)", head_path,
                            (long long)k, (long long)h, (double)head[k * heads + h]);
    if (bias && !isfinite(bias[h]))
        return srs_fail(ctx, SRS_ERR_BAD_INPUT, "%s: value %lld: bias is %g (must be finite in float32)",
                        bias_path ? bias_path : "bias", (long long)h, (double)bias[h]);
    return srs_fail(ctx, SRS_ERR_BAD_INPUT,
                    "%s: row %lld: the reward of output %lld is %g: the hidden state times the head (%s) "
                    "exceeds float32",
                    hidden_path, (long long)(first_row + i), (long long)h, (double)out[i * heads + h], head_path);
}
