// test_score.c — reward heads: srs_score against a float64 reference on
// float32, float16 and bfloat16 hidden states, one and several heads, with
// and without bias; the half conversions on known values; the NPY loader.
#include <float.h>
#include <string.h>
#include "internal.h"
#include "score.h"
#include "test.h"
#include "../kernels/score_emu.h"

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

// ----------------------------------------------------------------------------
// the CUDA path's per-element code on the CPU (kernels/score_body.cuh through
// kernels/score_emu.cpp; every build, no device)

// The half (kind 2) or bfloat16 (kind 3) bits h as float (host/score.c's).
static float half_val(int kind, uint16_t h) { return kind == 2 ? srs_half_to_float(h) : srs_bf16_to_float(h); }

static uint16_t cast1(int kind, float f) {
    uint16_t h = 0xdead;
    srs_score_cast_emulate(&f, &h, 1, kind);
    return h;
}

// Whether x is no farther from the value of bits r than from the values of
// r's two neighbours (NaN neighbours, past either end, do not count).
static int nearest_of(int kind, double x, uint16_t r) {
    const double e = fabs(x - half_val(kind, r));
    const double dn = fabs(x - half_val(kind, (uint16_t)(r - 1))), dp = fabs(x - half_val(kind, (uint16_t)(r + 1)));
    return !(dn < e) && !(dp < e);
}

TEST(score_kernel_code_head_cast_rounds_to_nearest_even) {
    // every finite half value casts back to itself; between two neighbours
    // (exact midpoints in float) the tie goes to the even one and one float
    // either side of the tie to the nearer one; past the largest finite
    // value's half-way point, infinity; NaN stays NaN; the inverse is
    // host/score.c's conversion, the one the CPU backend uses
    for (int kind = 2; kind <= 3; kind++) {
        const uint16_t inf = kind == 2 ? 0x7c00 : 0x7f80;
        int bad = 0;
        for (uint32_t b = 0; b < 0x10000 && bad < 4; b++) {
            const uint16_t h = (uint16_t)b, mag = h & 0x7fff, sign = h & 0x8000;
            const float f = half_val(kind, h);
            const uint16_t r = cast1(kind, f);
            if (mag > inf) {  // NaN
                if (!((r & 0x7fff) > inf)) { CHECK(0, "kind %d: NaN %04x cast to %04x", kind, h, r); bad++; }
                continue;
            }
            if (r != h) { CHECK(0, "kind %d: %04x (%g) cast to %04x", kind, h, f, r); bad++; }
            if (mag >= inf) continue;
            // the tie between h and its successor away from zero (the largest
            // finite value's successor is infinity: the step below it is used)
            const float f2 = half_val(kind, (uint16_t)(h + 1));
            const float step = isinf(f2) ? f - half_val(kind, (uint16_t)(h - 1)) : f2 - f;
            const float mid = f + step / 2;  // exact: 11 or 8 significant bits of float's 24
            const uint16_t even = (h & 1) ? (uint16_t)(h + 1) : h, up = (uint16_t)(h + 1);
            const float past = nextafterf(mid, sign ? -INFINITY : INFINITY), before = nextafterf(mid, 0.0f);
            const uint16_t rm = cast1(kind, mid), rp = cast1(kind, past), rb = cast1(kind, before);
            if (rm != even || rp != up || rb != h) {
                CHECK(0, "kind %d: around %04x: tie %g -> %04x (want %04x), above -> %04x (want %04x), below -> %04x",
                      kind, h, mid, rm, even, rp, up, rb);
                bad++;
            }
        }
        BAIL_IF_FAILED();
    }
    CHECK(cast1(2, 65519.99f) == 0x7bff && cast1(2, 65520.0f) == 0x7c00, "binary16 overflow at 65520");
    CHECK(cast1(2, 0x1p-25f) == 0 && cast1(2, nextafterf(0x1p-25f, 1)) == 1 && cast1(2, 0x1.8p-24f) == 2,
          "binary16 underflow");
    CHECK(cast1(2, 1e-30f) == 0 && cast1(2, -1e-30f) == 0x8000 && cast1(3, -0.0f) == 0x8000, "signed zeros");
    CHECK(cast1(2, -INFINITY) == 0xfc00 && cast1(3, INFINITY) == 0x7f80 && cast1(3, FLT_MAX) == 0x7f80,
          "infinities");
    // a whole head through the grid (n not a multiple of the block), values
    // over many binades
    enum { NW = 1000 };
    float w[NW];
    uint16_t o[NW];
    uint64_t rng = 3;
    for (int i = 0; i < NW; i++) w[i] = (float)(t_rand_normal(&rng) * exp(8 * t_rand_normal(&rng)));
    for (int kind = 2; kind <= 3; kind++) {
        memset(o, 0, sizeof o);
        srs_score_cast_emulate(w, o, NW, kind);
        for (int i = 0; i < NW; i++) {
            const double x = w[i], r = half_val(kind, o[i]);
            const double lim = kind == 2 ? 65520.0 : 0x1.ffp127;  // half-way past the largest finite value
            if (isinf(r) ? !(fabs(x) >= lim) : !nearest_of(kind, x, o[i])) {
                CHECK(0, "kind %d: w[%d] = %.9g cast to %04x (%.9g)", kind, i, x, o[i], r);
                break;
            }
        }
    }
}

TEST(score_kernel_code_bias_matches_cpu_bitwise) {
    // the bias kernel's per-element code on the CPU backend's GEMM result
    // without bias gives the CPU backend's result with bias, bit for bit
    // (one float addition per reward, in the same place); one head (sgemv)
    // and several, n x heads not a multiple of the block
    uint64_t rng = 41;
    for (int heads = 1; heads <= 5; heads += 4) {
        const int64_t n = 301, d = 24;
        float *h = malloc(sizeof(float) * (size_t)(n * d)), *w = malloc(sizeof(float) * (size_t)(d * heads));
        float *o0 = malloc(sizeof(float) * (size_t)(n * heads)), *o1 = malloc(sizeof(float) * (size_t)(n * heads));
        float bias[5];
        for (int64_t i = 0; i < n * d; i++) h[i] = (float)t_rand_normal(&rng);
        for (int64_t i = 0; i < d * heads; i++) w[i] = (float)(t_rand_normal(&rng) / 4);
        for (int k = 0; k < heads; k++) bias[k] = (float)(3 * t_rand_normal(&rng));
        CHECK(srs_score(t_cpu_ctx(), h, SRS_NPY_F32, n, d, w, heads, bias, o0) == SRS_OK, "cpu with bias");
        CHECK(srs_score(t_cpu_ctx(), h, SRS_NPY_F32, n, d, w, heads, NULL, o1) == SRS_OK, "cpu without bias");
        srs_score_bias_emulate(o1, bias, n, heads);
        CHECK(memcmp(o0, o1, sizeof(float) * (size_t)(n * heads)) == 0, "heads %d: bias added differently", heads);
        free(h); free(w); free(o0); free(o1);
    }
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

// An NPY file of `descr` with the given shape text and raw data.
static const char *score_npy(const char *name, const char *descr, const char *shape, const void *data, size_t bytes) {
    char hdr[128];
    int hl = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape);
    while ((hl + 11) % 64) hdr[hl++] = ' ';
    hdr[hl++] = '\n';
    const char *p = t_path(name);
    FILE *f = fopen(p, "wb");
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    uint16_t len16 = (uint16_t)hl;
    fwrite(&len16, 2, 1, f);
    fwrite(hdr, 1, (size_t)hl, f);
    fwrite(data, 1, bytes, f);
    fclose(f);
    return p;
}

// Runs srs score with argv, expects exit 1, the message parts in stderr and
// neither output file left.
static void score_fails(const char *const *argv, const char *out1, const char *out2, const char *want1,
                        const char *want2) {
    char *err = NULL;
    int rc = t_run_srs(argv, NULL, &err);
    CHECK(rc == 1, "exit %d, want 1: %s", rc, err ? err : "");
    CHECK(err && strstr(err, want1) && (!want2 || strstr(err, want2)), "stderr lacks '%s' / '%s': %s", want1,
          want2 ? want2 : "", err ? err : "");
    CHECK(!t_exists(out1) && !t_exists(out2), "an output was left behind");
    free(err);
}

// Non-finite rewards (issue 13, item 3): a NaN hidden state, an infinite
// head weight or a product beyond float32 was written as null with exit 0,
// and --then-threshold named no file. Now an error naming the file and row.
TEST(score_nonfinite_rewards_are_errors) {
    char h[512], hnan[512], w[512], winf[512], hbig[512], wbig[512], rp[512], tp[512];
    uint16_t hv[12];
    for (int i = 0; i < 12; i++) hv[i] = f2h((float)(i % 5) - 1.5f);
    snprintf(h, sizeof h, "%s", score_npy("ok-h.npy", "<f2", "(4, 3)", hv, sizeof hv));
    hv[3 * 3 + 1] = 0x7e00;  // NaN: row 3, value 1
    snprintf(hnan, sizeof hnan, "%s", score_npy("nan-h.npy", "<f2", "(4, 3)", hv, sizeof hv));
    float wv[3] = {1, 2, -1};
    snprintf(w, sizeof w, "%s", score_npy("ok-w.npy", "<f4", "(3,)", wv, sizeof wv));
    double wd[3] = {1, 2, 1e300};  // beyond float32: infinite as scored
    snprintf(winf, sizeof winf, "%s", score_npy("inf-w.npy", "<f8", "(3,)", wd, sizeof wd));
    float hb[12], wb[3] = {1e30f, 1e30f, 1e30f};
    for (int i = 0; i < 12; i++) hb[i] = 1e30f;
    snprintf(hbig, sizeof hbig, "%s", score_npy("big-h.npy", "<f4", "(4, 3)", hb, sizeof hb));
    snprintf(wbig, sizeof wbig, "%s", score_npy("big-w.npy", "<f4", "(3,)", wb, sizeof wb));
    snprintf(rp, sizeof rp, "%s", t_path("nf-rewards.jsonl"));
    snprintf(tp, sizeof tp, "%s", t_path("nf-thr.jsonl"));
    score_fails((const char *const[]){"score", "--hidden", hnan, "--head", w, "--row-len", "2", "-o", rp, NULL}, rp,
                tp, "nan-h.npy: row 3, value 1: hidden state is nan", NULL);
    score_fails((const char *const[]){"score", "--hidden", hnan, "--head", w, "--row-len", "2", "--then-threshold",
                                      tp, NULL},
                rp, tp, "nan-h.npy: row 3, value 1: hidden state is nan", NULL);
    score_fails((const char *const[]){"score", "--hidden", h, "--head", winf, "-o", rp, NULL}, rp, tp,
                "inf-w.npy: row 2, output 0: head weight is inf", NULL);
    score_fails((const char *const[]){"score", "--hidden", hbig, "--head", wbig, "--row-len", "4", "-o", rp,
                                      "--then-threshold", tp, NULL},
                rp, tp, "big-h.npy: row 0: the reward of output 0 is inf", "exceeds float32");
    // and the good files still score
    CHECK(t_run_srs((const char *const[]){"score", "--hidden", h, "--head", w, "--row-len", "2", "-o", rp,
                                          "--then-threshold", tp, NULL},
                    NULL, NULL) == 0 &&
              t_exists(rp) && t_exists(tp),
          "good run");
}

// The CUDA path over many chunks (SRS_CUDA_SCORE_CHUNK_ROWS): two streams,
// each with its own cuBLAS handle, slots reused; rewards poisoned on the
// device (SRS_CUDA_POISON, set by the test runner) and on the host.
TEST(cuda_score_many_chunks_match_cpu) {
    SKIP_WITHOUT_CUDA(gpu);
    uint64_t rng = 29;
    const int64_t n = 1000, d = 64, heads = 3;
    float *h = malloc(sizeof(float) * (size_t)(n * d)), *w = malloc(sizeof(float) * (size_t)(d * heads));
    float bias[3] = {0.5f, -1.0f, 2.0f};
    float *o0 = malloc(sizeof(float) * (size_t)(n * heads)), *o1 = malloc(sizeof(float) * (size_t)(n * heads));
    for (int64_t i = 0; i < n * d; i++) h[i] = (float)t_rand_normal(&rng);
    for (int64_t i = 0; i < d * heads; i++) w[i] = (float)(t_rand_normal(&rng) / 8);
    for (int64_t i = 0; i < n * heads; i++) o0[i] = o1[i] = NAN;
    CHECK(srs_score(t_cpu_ctx(), h, SRS_NPY_F32, n, d, w, heads, bias, o0) == SRS_OK, "cpu");
    setenv("SRS_CUDA_SCORE_CHUNK_ROWS", "37", 1);   // 28 chunks, the last of 1 row
    srs_status_t st = srs_score(gpu, h, SRS_NPY_F32, n, d, w, heads, bias, o1);
    unsetenv("SRS_CUDA_SCORE_CHUNK_ROWS");
    CHECK(st == SRS_OK, "cuda: %s", srs_ctx_last_error(gpu));
    int64_t bad = -1;
    for (int64_t i = 0; i < n * heads && bad < 0; i++)
        if (!(fabs((double)o0[i] - (double)o1[i]) <= 1e-5 * fmax(1.0, fabs((double)o0[i])))) bad = i;
    CHECK(bad < 0, "reward %lld: cpu %.9g cuda %.9g", (long long)bad, bad >= 0 ? o0[bad] : 0.0,
          bad >= 0 ? o1[bad] : 0.0);
    free(h); free(w); free(o0); free(o1);
}
