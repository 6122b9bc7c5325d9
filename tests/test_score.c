// test_score.c — reward heads: srs_score against a float64 reference on
// float32, float16 and bfloat16 hidden states, one and several heads, with
// and without bias; the half conversions on known values; the NPY loader.
#include <string.h>
#include "internal.h"
#include "score.h"
#include "test.h"

static uint16_t f2h(float f) {  // float -> IEEE half, round to nearest (normal range)
    uint32_t b;
    memcpy(&b, &f, 4);
    uint32_t sign = (b >> 16) & 0x8000;
    int e = (int)((b >> 23) & 0xff) - 127 + 15;
    uint32_t man = b & 0x7fffff;
    if (e <= 0) return (uint16_t)sign;  // tiny values flush to zero in the test data
    uint32_t h = sign | (uint32_t)e << 10 | man >> 13;
    if ((man >> 12) & 1) h++;           // round half up (ties are rare in random data)
    return (uint16_t)h;
}

static uint16_t f2bf(float f) {
    uint32_t b;
    memcpy(&b, &f, 4);
    b += 0x7fff + ((b >> 16) & 1);      // round to nearest even
    return (uint16_t)(b >> 16);
}

TEST(score_half_conversions) {
    NEAR(srs_half_to_float(0x3c00), 1.0, 0);
    NEAR(srs_half_to_float(0xc000), -2.0, 0);
    NEAR(srs_half_to_float(0x7bff), 65504.0, 0);
    NEAR(srs_half_to_float(0x0001), 5.960464477539063e-08, 0);  // smallest subnormal
    CHECK(isinf(srs_half_to_float(0x7c00)), "inf");
    NEAR(srs_bf16_to_float(0x3f80), 1.0, 0);
    NEAR(srs_bf16_to_float(0xc040), -3.0, 0);
}

TEST(score_matches_float64_reference) {
    srs_ctx_t *ctx = t_ctx();
    uint64_t rng = 17;
    const int64_t n = t_quick() ? 300 : 5000, d = 96;
    for (int kind = 0; kind < 3; kind++)
        for (int heads = 1; heads <= 3; heads += 2)
            for (int with_bias = 0; with_bias < 2; with_bias++) {
                float *h32 = malloc(sizeof(float) * (size_t)(n * d));
                uint16_t *h16 = malloc(2 * (size_t)(n * d));
                double *hv = malloc(sizeof(double) * (size_t)(n * d));  // the values actually stored
                float *w = malloc(sizeof(float) * (size_t)(d * heads)), bias[3];
                for (int64_t i = 0; i < n * d; i++) {
                    float x = (float)t_rand_normal(&rng);
                    h32[i] = x;
                    h16[i] = kind == 1 ? f2h(x) : f2bf(x);
                    hv[i] = kind == 0 ? x : kind == 1 ? srs_half_to_float(h16[i]) : srs_bf16_to_float(h16[i]);
                }
                for (int64_t i = 0; i < d * heads; i++) w[i] = (float)(t_rand_normal(&rng) / sqrt((double)d));
                for (int k = 0; k < 3; k++) bias[k] = (float)t_rand_normal(&rng);
                float *out = malloc(sizeof(float) * (size_t)(n * heads));
                for (int64_t i = 0; i < n * heads; i++) out[i] = NAN;  // poisoned
                srs_npy_kind_t kd = kind == 0 ? SRS_NPY_F32 : kind == 1 ? SRS_NPY_F16 : SRS_NPY_BF16;
                srs_status_t st = srs_score(ctx, kind == 0 ? (const void *)h32 : (const void *)h16, kd, n, d, w,
                                            heads, with_bias ? bias : NULL, out);
                CHECK(st == SRS_OK, "srs_score: %s", srs_ctx_last_error(ctx));
                double num = 0, den = 0;
                for (int64_t i = 0; i < n; i++)
                    for (int64_t h = 0; h < heads; h++) {
                        double ref = with_bias ? bias[h] : 0.0;
                        for (int64_t j = 0; j < d; j++) ref += hv[i * d + j] * (double)w[j * heads + h];
                        double e = (double)out[i * heads + h] - ref;
                        num += e * e;
                        den += ref * ref;
                        if (isnan(e)) num = INFINITY;
                    }
                double rel = sqrt(num / den);
                // CPU: float32 accumulation over d = 96 terms is far below 1e-5
                // (halves are exact in float, the reference uses the stored values).
                // CUDA: the head is rounded to the hidden states' half type for the
                // tensor-core GEMM, a relative error of ~2^-9 (bf16) or ~2^-12 (f16).
                double tol = 1e-5;
                if (srs_ctx_device(ctx) == SRS_DEVICE_CUDA && kind != 0) tol = kind == 1 ? 4e-3 : 1e-2;
                CHECK(rel < tol, "kind %d heads %d bias %d: relative error %.3g (tolerance %.0e)", kind, (int)heads,
                      with_bias, rel, tol);
                free(h32); free(h16); free(hv); free(w); free(out);
            }
}

TEST(score_npy_loader_and_cli) {
    // a float16 [4, 3] hidden NPY and a [3] head written by hand
    const char *hp = t_path("hidden.npy"), *wp = t_path("head.npy");
    FILE *f = fopen(hp, "wb");
    char hdr[128];
    int hl = snprintf(hdr, sizeof hdr, "{'descr': '<f2', 'fortran_order': False, 'shape': (4, 3), }");
    while ((hl + 11) % 64) hdr[hl++] = ' ';
    hdr[hl++] = '\n';
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    uint16_t len16 = (uint16_t)hl;
    fwrite(&len16, 2, 1, f);
    fwrite(hdr, 1, (size_t)hl, f);
    for (int i = 0; i < 12; i++) {
        uint16_t h = f2h((float)(i % 5) - 1.5f);
        fwrite(&h, 2, 1, f);
    }
    fclose(f);
    f = fopen(wp, "wb");
    hl = snprintf(hdr, sizeof hdr, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }");
    while ((hl + 11) % 64) hdr[hl++] = ' ';
    hdr[hl++] = '\n';
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    len16 = (uint16_t)hl;
    fwrite(&len16, 2, 1, f);
    fwrite(hdr, 1, (size_t)hl, f);
    float w[3] = {1, 2, -1};
    fwrite(w, 4, 3, f);
    fclose(f);
    srs_npy_mat_t m;
    CHECK(srs_npy_load_matrix(t_ctx(), hp, &m) == SRS_OK && m.kind == SRS_NPY_F16 && m.rows == 4 && m.cols == 3,
          "load: %s", srs_ctx_last_error(t_ctx()));
    free(m.data);
    const char *rp = t_path("rewards.jsonl"), *tp = t_path("thr.jsonl");
    const char *argv[] = {"score", "--hidden", hp, "--head", wp, "--row-len", "2", "-o", rp,
                          "--then-threshold", tp, NULL};
    char *err = NULL;
    int rc = t_run_srs(argv, NULL, &err);
    CHECK(rc == 0, "srs score: rc %d: %s", rc, err ? err : "");
    free(err);
    char *r = t_slurp(rp), *t = t_slurp(tp);
    // sample 0: (-1.5, -0.5, 0.5) . (1, 2, -1) = -3
    CHECK(r && strstr(r, "[-3,"), "rewards: %s", r ? r : "(none)");
    CHECK(t && strstr(t, "m_star"), "thresholds: %s", t ? t : "(none)");
    free(r);
    free(t);
}
