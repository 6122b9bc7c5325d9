// test_guide.c — guided decoding: candidates against a full sort, greedy
// against an independently computed argmax, sampling against softmax(fused/tau)
// by chi-square, top-p masks, the per-step threshold against srs_thresholds,
// robustness rows, bad arguments, the value head, and the Python binding.
//
// Every case runs on a CPU context of its own: the API takes device pointers on
// CUDA, and these tests hold host arrays. CPU/GPU parity is tested on a GPU by
// tests/test_python_binding.py (PyTorch tensors on both backends).
#include <string.h>
#include <spawn.h>
#include <sys/wait.h>
#include <errno.h>
#include <unistd.h>
#include "internal.h"
#include "srs_guide_math.h"
#include "test.h"

extern char **environ;

static srs_ctx_t *cpu(void) {
    static srs_ctx_t *c;
    if (!c && srs_ctx_create(&c, SRS_DEVICE_CPU, 0) != SRS_OK) {
        fprintf(stderr, "cannot create a CPU context: %s\n", srs_last_create_error());
        exit(2);
    }
    return c;
}

// ----------------------------------------------------------------------------
// independent references (no library code)

typedef struct { double x; int id; } xi_t;

static int cmp_xi(const void *a, const void *b) {
    const xi_t *p = a, *q = b;
    if (p->x != q->x) return p->x > q->x ? -1 : 1;
    return p->id - q->id;
}

static uint16_t to_f16(float f) {
    _Float16 h = (_Float16)f;
    uint16_t u;
    memcpy(&u, &h, 2);
    return u;
}

// Fills n logits of type e (stored in buf) and returns their float values in x.
static void fill_logits(void *buf, float *x, srs_elem_t e, int64_t n, uint64_t *rng, double scale) {
    for (int64_t i = 0; i < n; i++) {
        float f = (float)(scale * t_rand_normal(rng));
        if (e == SRS_ELEM_BF16) {
            ((uint16_t *)buf)[i] = srs_f32_to_bf16(f);
            x[i] = srs_bf16_to_f32(((uint16_t *)buf)[i]);
        } else if (e == SRS_ELEM_F16) {
            ((uint16_t *)buf)[i] = to_f16(f);
            x[i] = srs_f16_to_f32(((uint16_t *)buf)[i]);
        } else {
            ((float *)buf)[i] = f;
            x[i] = f;
        }
    }
}

static double sigm(double z) { return 1.0 / (1.0 + exp(-z)); }

// The fused score of candidate j, written from DESIGN.md §1 without the
// library: shaped reward of design d over the usable candidates, p = softmax(lp).
static void ref_fused(const float *lp, const float *u, int k, srs_design_t d, double m, double beff,
                      double B, double alpha, double lambda, double *f) {
    double lmax = -INFINITY, z = 0, mean = 0, var = 0, umin = INFINITY, umax = -INFINITY;
    for (int j = 0; j < k; j++) lmax = fmax(lmax, lp[j]);
    for (int j = 0; j < k; j++) { z += exp(lp[j] - lmax); umin = fmin(umin, u[j]); umax = fmax(umax, u[j]); }
    for (int j = 0; j < k; j++) mean += exp(lp[j] - lmax) / z * u[j];
    for (int j = 0; j < k; j++) var += exp(lp[j] - lmax) / z * (u[j] - mean) * (u[j] - mean);
    for (int j = 0; j < k; j++) {
        double s;
        switch (d) {
        case SRS_DESIGN_RAW: s = u[j]; break;
        case SRS_DESIGN_HARD: s = u[j] >= m ? beff : 0; break;
        case SRS_DESIGN_SOFT: s = beff * sigm(alpha * (u[j] - m)); break;
        case SRS_DESIGN_MINMAX: s = fmin(B, 1.01 * (umax - umin)) * (u[j] - umin) / (umax - umin); break;
        default: s = (u[j] - mean) / sqrt(var); break;
        }
        f[j] = lp[j] + lambda * s;
    }
}

// ----------------------------------------------------------------------------
// candidates

TEST(guide_candidates_topk_exact) {
    const int64_t V = 3001, R = 6;
    uint64_t rng = 11;
    srs_elem_t types[3] = {SRS_ELEM_F32, SRS_ELEM_BF16, SRS_ELEM_F16};
    int ks[3] = {1, 10, 64};
    float *x = malloc(sizeof(float) * V * R);
    void *buf = malloc(4 * V * R);
    xi_t *s = malloc(sizeof(xi_t) * V);
    for (int t = 0; t < 3; t++) {
        fill_logits(buf, x, types[t], V * R, &rng, 3.0);   // bf16/f16: many ties
        for (int kk = 0; kk < 3; kk++) {
            int k = ks[kk];
            int32_t ids[6 * 64];
            float lp[6 * 64];
            uint8_t fl[6];
            for (double T = 0.5; T <= 2.0; T *= 4) {
                srs_status_t st = srs_guide_candidates(cpu(), buf, types[t], R, V, T, k, ids, lp, fl, NULL);
                CHECK(st == SRS_OK, "%s", srs_ctx_last_error(cpu()));
                for (int r = 0; r < R; r++) {
                    long double lse = 0, mx = -INFINITY;
                    for (int v = 0; v < V; v++) { s[v].x = x[r * V + v]; s[v].id = v; mx = fmaxl(mx, s[v].x); }
                    for (int v = 0; v < V; v++) lse += expl(((long double)s[v].x - mx) / T);
                    lse = logl(lse);
                    qsort(s, (size_t)V, sizeof *s, cmp_xi);
                    CHECK(fl[r] == SRS_GUIDE_VALID, "flags %d", fl[r]);
                    for (int j = 0; j < k; j++) {
                        CHECK(ids[r * k + j] == s[j].id, "%s k=%d row %d slot %d: id %d vs %d",
                              srs_elem_name(types[t]), k, r, j, ids[r * k + j], s[j].id);
                        double want = (double)(((long double)s[j].x - mx) / T - lse);
                        NEAR(lp[r * k + j], want, 2e-6 * fmax(1, fabs(want)));
                    }
                }
            }
        }
    }
    free(x); free(buf); free(s);
}

TEST(guide_candidates_robust_rows) {
    const int V = 5, k = 8;
    float lg[4][5] = {
        {1, NAN, 3, -INFINITY, 2},                                 // NaN ignored, -inf excluded
        {-INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY},   // nothing finite
        {NAN, NAN, NAN, NAN, NAN},
        {0, INFINITY, 0.5f, 0.5f, 0},                              // +inf ignored; k > vocab
    };
    int32_t ids[4 * 8];
    float lp[4 * 8];
    uint8_t fl[4];
    CHECK(srs_guide_candidates(cpu(), lg, SRS_ELEM_F32, 4, V, 1.0, k, ids, lp, fl, NULL) == SRS_OK,
          "%s", srs_ctx_last_error(cpu()));
    CHECK(fl[0] == (SRS_GUIDE_VALID | SRS_GUIDE_NONFINITE | SRS_GUIDE_SHORT), "row 0 flags %d", fl[0]);
    CHECK(ids[0] == 2 && ids[1] == 4 && ids[2] == 0 && ids[3] == -1, "row 0 ids %d %d %d %d", ids[0],
          ids[1], ids[2], ids[3]);
    double lse = log(exp(1.0) + exp(3.0) + exp(2.0));
    NEAR(lp[0], 3 - lse, 1e-6);
    CHECK(isinf(lp[3]) && lp[3] < 0, "empty slot logp %g", lp[3]);
    CHECK(fl[1] == SRS_GUIDE_SHORT, "row 1 flags %d", fl[1]);
    CHECK(fl[2] == (SRS_GUIDE_SHORT | SRS_GUIDE_NONFINITE), "row 2 flags %d", fl[2]);
    for (int j = 0; j < k; j++) CHECK(ids[k + j] == -1 && ids[2 * k + j] == -1, "invalid rows keep ids -1");
    CHECK(fl[3] == (SRS_GUIDE_VALID | SRS_GUIDE_NONFINITE | SRS_GUIDE_SHORT), "row 3 flags %d", fl[3]);
    CHECK(ids[3 * k] == 2 && ids[3 * k + 1] == 3 && ids[3 * k + 2] == 0 && ids[3 * k + 3] == 4 &&
          ids[3 * k + 4] == -1, "row 3: ties by id");

    // T = 0: the greedy base policy, uniform over the tied maxima
    float g[2][4] = {{1, 5, 2, 5}, {0, 1, 2, 3}};
    CHECK(srs_guide_candidates(cpu(), g, SRS_ELEM_F32, 2, 4, 0.0, 3, ids, lp, fl, NULL) == SRS_OK, "T=0");
    CHECK(ids[0] == 1 && ids[1] == 3 && ids[2] == 2, "T=0 ids %d %d %d", ids[0], ids[1], ids[2]);
    NEAR(lp[0], -log(2.0), 1e-7);
    NEAR(lp[1], -log(2.0), 1e-7);
    CHECK(isinf(lp[2]) && lp[2] < 0, "T=0 non-max logp %g", lp[2]);
    NEAR(lp[3], 0.0, 0);
    CHECK(isinf(lp[4]) && isinf(lp[5]), "T=0 row 1");
}

// ----------------------------------------------------------------------------
// selection

// Random candidates: ids 100+j, logp sorted descending, scores normal.
static void rand_cands(int64_t rows, int k, uint64_t *rng, int32_t *ids, float *lp, float *sc) {
    for (int64_t r = 0; r < rows; r++) {
        double l = 0;
        for (int j = 0; j < k; j++) {
            l -= 0.7 * t_rand_u01(rng);
            ids[r * k + j] = 100 + j;
            lp[r * k + j] = (float)(l - 1.0);
            sc[r * k + j] = (float)(2.0 * t_rand_normal(rng));
        }
    }
}

TEST(guide_greedy_is_independent_argmax) {
    enum { R = 200, K = 10 };
    static int32_t ids[R * K], tok[R];
    static float lp[R * K], sc[R * K], fu[R * K];
    static double mstar[R], mused[R];
    uint64_t rng = 5;
    rand_cands(R, K, &rng, ids, lp, sc);
    for (int r = 0; r < R; r++) mstar[r] = 0.3 * t_rand_normal(&rng);
    srs_design_t ds[5] = {SRS_DESIGN_RAW, SRS_DESIGN_HARD, SRS_DESIGN_SOFT, SRS_DESIGN_MINMAX,
                          SRS_DESIGN_MEANSTD};
    for (int di = 0; di < 5; di++) {
        srs_guide_opts_t o = srs_guide_opts_default();
        o.design = ds[di];
        o.threshold = SRS_GUIDE_THR_GIVEN;
        o.m_star = mstar;
        o.B = 3;
        o.alpha = 2;
        o.lambda = 1.5;
        uint8_t fl[R];
        CHECK(srs_guide_select(cpu(), &o, R, K, ids, lp, sc, tok, fu, mused, fl, NULL) == SRS_OK, "%s",
              srs_ctx_last_error(cpu()));
        for (int r = 0; r < R; r++) {
            double f[K];
            ref_fused(lp + r * K, sc + r * K, K, ds[di], mstar[r], o.B, o.B, o.alpha, o.lambda, f);
            int best = 0;
            for (int j = 1; j < K; j++) if (f[j] > f[best]) best = j;
            CHECK(tok[r] == ids[r * K + best], "%s row %d: token %d, argmax %d",
                  srs_design_name(ds[di]), r, tok[r], ids[r * K + best]);
            CHECK(fl[r] == SRS_GUIDE_VALID, "flags %d", fl[r]);
            for (int j = 0; j < K; j++) NEAR(fu[r * K + j], f[j], 1e-5 * fmax(1, fabs(f[j])));
            int uses_m = ds[di] == SRS_DESIGN_HARD || ds[di] == SRS_DESIGN_SOFT;
            CHECK(uses_m ? mused[r] == mstar[r] : isnan(mused[r]), "m_used");
        }
        BAIL_IF_FAILED();
    }
}

// The authors' baseline definitions (baselines PAPER), from PAPER-CODE.md
// without the library: unweighted mean, population std clamped at 1e-6,
// minmax's range clamped at 1e-6, cap not clipped; meansoft scales by B.
static double ref_paper_shape(srs_design_t d, const float *u, int k, int j, double B, double alpha) {
    double mean = 0, var = 0, umin = INFINITY, umax = -INFINITY;
    for (int i = 0; i < k; i++) { mean += u[i]; umin = fmin(umin, u[i]); umax = fmax(umax, u[i]); }
    mean /= k;
    for (int i = 0; i < k; i++) var += (u[i] - mean) * (u[i] - mean);
    double sd = fmax(sqrt(var / k), 1e-6), range = umax - umin;
    switch (d) {
    case SRS_DESIGN_MEANSTD: return (u[j] - mean) / sd;
    case SRS_DESIGN_MEANSOFT: return B * sigm(alpha * (u[j] - mean));
    case SRS_DESIGN_MINMAX: return fmin(B, 1.01 * range) * (u[j] - umin) / fmax(range, 1e-6);
    case SRS_DESIGN_CAP: return u[j] - umin;
    default: return NAN;
    }
}

TEST(guide_paper_baselines) {
    enum { R = 300, K = 10 };
    static int32_t ids[R * K], tok[R];
    static float lp[R * K], sc[R * K], fu[R * K], fw[R * K];
    uint64_t rng = 11;
    rand_cands(R, K, &rng, ids, lp, sc);
    // rows whose rewards spread less than 1e-6 (where the clamps act), and a
    // tied row
    for (int r = 0; r < 20; r++)
        for (int j = 0; j < K; j++) sc[r * K + j] = (float)(1.0 + (r < 19 ? 1e-7 * j : 0.0));
    srs_design_t ds[4] = {SRS_DESIGN_MEANSTD, SRS_DESIGN_MEANSOFT, SRS_DESIGN_MINMAX, SRS_DESIGN_CAP};
    for (int di = 0; di < 4; di++) {
        srs_guide_opts_t o = srs_guide_opts_default();
        o.design = ds[di];
        o.B = 0.5;   // below the rewards' spread: an unclipped cap differs from srs's
        o.alpha = 1.5;
        o.lambda = 0.5;
        o.baselines = SRS_GUIDE_BASELINES_PAPER;
        uint8_t fl[R];
        CHECK(srs_guide_select(cpu(), &o, R, K, ids, lp, sc, tok, fu, NULL, fl, NULL) == SRS_OK, "%s",
              srs_ctx_last_error(cpu()));
        srs_guide_opts_t w = o;
        w.baselines = SRS_GUIDE_BASELINES_SRS;
        CHECK(srs_guide_select(cpu(), &w, R, K, ids, lp, sc, tok + 0, fw, NULL, NULL, NULL) == SRS_OK, "%s",
              srs_ctx_last_error(cpu()));
        int differ = 0;
        for (int r = 0; r < R; r++) {
            for (int j = 0; j < K; j++) {
                double f = lp[r * K + j] + o.lambda * ref_paper_shape(ds[di], sc + r * K, K, j, o.B, o.alpha);
                NEAR(fu[r * K + j], f, 1e-5 * fmax(1, fabs(f)));
                differ += fabsf(fu[r * K + j] - fw[r * K + j]) > 1e-4f;
            }
            CHECK(fl[r] == SRS_GUIDE_VALID, "flags %d", fl[r]);
        }
        // the option changes the numbers (else this test could not fail); for
        // minmax the clamp moves a score by less than 1.01e-6, below float32
        CHECK(ds[di] == SRS_DESIGN_MINMAX || differ > R, "%s: only %d fused scores differ from srs's definitions", srs_design_name(ds[di]),
              differ);
        BAIL_IF_FAILED();
    }
    // a given clip still clips
    srs_guide_opts_t o = srs_guide_opts_default();
    o.design = SRS_DESIGN_CAP;
    o.baselines = SRS_GUIDE_BASELINES_PAPER;
    o.clip = 0.25;
    o.lambda = 1;
    CHECK(srs_guide_select(cpu(), &o, R, K, ids, lp, sc, tok, fu, NULL, NULL, NULL) == SRS_OK, "select");
    for (int r = 20; r < R; r++)
        for (int j = 0; j < K; j++) {
            double f = lp[r * K + j] + fmin(ref_paper_shape(SRS_DESIGN_CAP, sc + r * K, K, j, 0, 1), 0.25);
            NEAR(fu[r * K + j], f, 1e-5 * fmax(1, fabs(f)));
        }
    // whole vocabulary (k = 0): statistics unweighted over every finite entry
    enum { V = 64 };
    static float lg[2 * V], val[2 * V];
    for (int i = 0; i < 2 * V; i++) { lg[i] = (float)t_rand_normal(&rng); val[i] = (float)(3 * t_rand_normal(&rng)); }
    o = srs_guide_opts_default();
    o.design = SRS_DESIGN_MEANSTD;
    o.baselines = SRS_GUIDE_BASELINES_PAPER;
    o.lambda = 2;
    CHECK(srs_guide_vocab(cpu(), &o, lg, SRS_ELEM_F32, val, SRS_ELEM_F32, 2, V, 1.0, 0, tok, NULL, NULL, NULL,
                          NULL) == SRS_OK, "%s", srs_ctx_last_error(cpu()));
    for (int r = 0; r < 2; r++) {
        int best = 0;
        double bk = -INFINITY;
        for (int v = 0; v < V; v++) {
            double key = lg[r * V + v] + o.lambda * ref_paper_shape(SRS_DESIGN_MEANSTD, val + r * V, V, v, 0, 1);
            if (key > bk) { bk = key; best = v; }
        }
        CHECK(tok[r] == best, "vocab row %d: token %d, reference %d", r, tok[r], best);
    }
}

TEST(guide_step_threshold_matches_solver) {
    enum { R = 300, K = 16 };
    static int32_t ids[R * K], tok[R];
    static float lp[R * K], sc[R * K];
    static double mused[R], u64[R * K], lw64[R * K], mref[R];
    uint64_t rng = 77;
    rand_cands(R, K, &rng, ids, lp, sc);
    for (int i = 0; i < R * K; i++) {
        if (i % 7 == 3) sc[i] = sc[i - 1];   // ties
        u64[i] = sc[i];
        lw64[i] = lp[i];
    }
    srs_preset_t presets[3] = {SRS_PRESET_PAPER_ARGS, SRS_PRESET_EXACT, SRS_PRESET_PAPER_CD};
    double lambdas[3] = {0.5, 3.0, 400.0};   // the last: gamma overflows to eps = 0
    for (int pi = 0; pi < 3; pi++)
        for (int li = 0; li < 3; li++) {
            srs_guide_opts_t o = srs_guide_opts_default();
            o.design = SRS_DESIGN_HARD;
            o.preset = presets[pi];
            o.B = 2.5;
            o.lambda = lambdas[li];
            CHECK(srs_guide_select(cpu(), &o, R, K, ids, lp, sc, tok, NULL, mused, NULL, NULL) == SRS_OK,
                  "%s", srs_ctx_last_error(cpu()));
            srs_batch_t b;
            memset(&b, 0, sizeof b);
            b.n_prompts = R;
            b.row_len = K;
            b.reward = (srs_vec_t){u64, SRS_F64};
            b.logw = (srs_vec_t){lw64, SRS_F64};
            srs_threshold_opts_t to = srs_threshold_opts_default();
            to.preset = presets[pi];
            to.B = o.B;
            to.beta = 1.0 / o.lambda;
            to.cap = o.cap;
            CHECK(srs_thresholds(cpu(), &b, &to, mref, NULL) == SRS_OK, "%s", srs_ctx_last_error(cpu()));
            for (int r = 0; r < R; r++)
                NEAR(mused[r], mref[r], 1e-12 * fmax(1, fabs(mref[r])));
            BAIL_IF_FAILED();
        }
}

// Chi-square of counts against probabilities; critical values at p = 0.001.
static double chisq(const long *cnt, const double *p, int n, long N) {
    double c = 0;
    for (int i = 0; i < n; i++) {
        double e = p[i] * (double)N;
        c += (cnt[i] - e) * (cnt[i] - e) / e;
    }
    return c;
}
static const double CHI2_999[] = {0, 10.83, 13.82, 16.27, 18.47, 20.52, 22.46, 24.32, 26.12, 27.88,
                                  29.59, 31.26, 32.91, 34.53, 36.12, 37.70};

TEST(guide_sampling_chisq) {
    // 10^5 draws of one row: rows of identical candidates (the row index varies
    // the stream) and, for per-row seeds, steps of one row.
    enum { K = 8 };
    const long N = 100000;
    int32_t *ids = malloc(sizeof(int32_t) * N * K), *tok = malloc(sizeof(int32_t) * N);
    float *lp = malloc(sizeof(float) * N * K), *sc = malloc(sizeof(float) * N * K);
    float l0[K] = {-0.5f, -1.0f, -1.3f, -2.0f, -2.2f, -3.0f, -3.5f, -6.0f};
    float u0[K] = {0.1f, 1.5f, -0.4f, 2.0f, 0.0f, 1.0f, 3.0f, 0.2f};
    for (long r = 0; r < N; r++)
        for (int j = 0; j < K; j++) { ids[r * K + j] = 7 * j; lp[r * K + j] = l0[j]; sc[r * K + j] = u0[j]; }
    srs_guide_opts_t o = srs_guide_opts_default();
    o.mode = SRS_GUIDE_SAMPLE;
    o.tau = 0.8;
    o.lambda = 1.2;
    o.B = 2;
    o.seed = 1234;
    double f[K], p[K], z = 0;
    uint8_t fl1;
    int32_t t1;
    float fu[K];
    CHECK(srs_guide_select(cpu(), &o, 1, K, ids, lp, sc, &t1, fu, NULL, &fl1, NULL) == SRS_OK, "select");
    for (int j = 0; j < K; j++) f[j] = fu[j];
    double fmx = f[0];
    for (int j = 1; j < K; j++) fmx = fmax(fmx, f[j]);
    for (int j = 0; j < K; j++) z += exp((f[j] - fmx) / o.tau);
    for (int j = 0; j < K; j++) p[j] = exp((f[j] - fmx) / o.tau) / z;

    for (int variant = 0; variant < 3; variant++) {
        long cnt[K] = {0};
        if (variant < 2) {
            o.step = 3;
            o.top_p = 1;
            CHECK(srs_guide_select(cpu(), &o, N, K, ids, lp, sc, tok, NULL, NULL, NULL, NULL) == SRS_OK,
                  "select");
            for (long r = 0; r < N; r++) cnt[tok[r] / 7]++;
            if (variant == 1) {
                // top-p 0.7: keep the shortest prefix by probability with mass >= 0.7
                int ord[K];
                for (int j = 0; j < K; j++) ord[j] = j;
                for (int a = 0; a < K; a++)
                    for (int b2 = a + 1; b2 < K; b2++)
                        if (p[ord[b2]] > p[ord[a]]) { int t = ord[a]; ord[a] = ord[b2]; ord[b2] = t; }
                double cum = 0, q[K] = {0};
                int kept = 0;
                while (cum < 0.7) { cum += p[ord[kept]]; kept++; }
                for (int t = 0; t < kept; t++) q[ord[t]] = p[ord[t]] / cum;
                o.top_p = 0.7;
                CHECK(srs_guide_select(cpu(), &o, N, K, ids, lp, sc, tok, NULL, NULL, NULL, NULL) == SRS_OK,
                      "select");
                memset(cnt, 0, sizeof cnt);
                for (long r = 0; r < N; r++) cnt[tok[r] / 7]++;
                long outside = 0;
                double qq[K];
                long cc[K];
                int m = 0;
                for (int j = 0; j < K; j++) {
                    if (q[j] == 0) outside += cnt[j];
                    else { qq[m] = q[j]; cc[m] = cnt[j]; m++; }
                }
                CHECK(outside == 0, "top-p: %ld draws outside the nucleus", outside);
                CHECK(m == kept && kept >= 2, "kept %d", kept);
                double c = chisq(cc, qq, m, N);
                CHECK(c < CHI2_999[m - 1], "top-p chi-square %.2f >= %.2f (df %d)", c, CHI2_999[m - 1], m - 1);
                continue;
            }
        } else {
            // per-row seeds: one row, 10^5 steps
            uint64_t seed = 99;
            o.seeds = &seed;
            o.top_p = 1;
            for (long s = 0; s < N; s++) {
                o.step = (uint64_t)s;
                int32_t t;
                srs_guide_select(cpu(), &o, 1, K, ids, lp, sc, &t, NULL, NULL, NULL, NULL);
                cnt[t / 7]++;
            }
            o.seeds = NULL;
        }
        double c = chisq(cnt, p, K, N);
        CHECK(c < CHI2_999[K - 1], "variant %d: chi-square %.2f >= %.2f", variant, c, CHI2_999[K - 1]);
    }
    free(ids); free(tok); free(lp); free(sc);
}

TEST(guide_top_p_boundary_exact) {
    // probabilities 1/2, 1/4, 1/8, 1/8: the nucleus is the shortest prefix
    // with mass >= top_p, so a hair below a cumulative sum keeps that prefix
    // and a hair above keeps one more.
    float lp[4] = {(float)log(0.5), (float)log(0.25), (float)log(0.125), (float)log(0.125)};
    float sc[4] = {0, 0, 0, 0};
    int32_t ids[4] = {0, 1, 2, 3};
    double tp[5] = {0.5 - 1e-9, 0.5 + 1e-9, 0.75 - 1e-9, 0.75 + 1e-9, 1.0};
    int want[5] = {1, 2, 2, 3, 4};
    for (int c = 0; c < 5; c++) {
        srs_guide_opts_t o = srs_guide_opts_default();
        o.mode = SRS_GUIDE_SAMPLE;
        o.design = SRS_DESIGN_RAW;
        o.top_p = tp[c];
        int seen[4] = {0};
        for (uint64_t s = 0; s < 4000; s++) {
            o.step = s;
            int32_t t = -1;
            srs_guide_select(cpu(), &o, 1, 4, ids, lp, sc, &t, NULL, NULL, NULL, NULL);
            if (t >= 0 && t < 4) seen[t] = 1;
        }
        int n = 0;
        for (int j = 0; j < 4; j++) {
            CHECK(seen[j] == (j < want[c]), "top_p %.10f: token %d seen=%d", tp[c], j, seen[j]);
            n += seen[j];
        }
    }
}

TEST(guide_determinism_and_seeds) {
    enum { R = 64, K = 12 };
    static int32_t ids[R * K], t1[R], t2[R], t3[R];
    static float lp[R * K], sc[R * K];
    static uint64_t seeds[R];
    uint64_t rng = 3;
    rand_cands(R, K, &rng, ids, lp, sc);
    for (int r = 0; r < R; r++) seeds[r] = 1000 + (uint64_t)r;
    srs_guide_opts_t o = srs_guide_opts_default();
    o.mode = SRS_GUIDE_SAMPLE;
    o.tau = 2.0;
    o.seeds = seeds;
    o.step = 17;
    srs_ctx_t *one;
    CHECK(srs_ctx_create(&one, SRS_DEVICE_CPU, 1) == SRS_OK, "ctx");
    CHECK(srs_guide_select(cpu(), &o, R, K, ids, lp, sc, t1, NULL, NULL, NULL, NULL) == SRS_OK, "a");
    CHECK(srs_guide_select(one, &o, R, K, ids, lp, sc, t2, NULL, NULL, NULL, NULL) == SRS_OK, "b");
    for (int r = 0; r < R; r++) CHECK(t1[r] == t2[r], "thread count changed row %d", r);
    // with per-row seeds a row's draw does not depend on its position
    for (int r = 0; r < R; r++) {
        srs_guide_opts_t o1 = o;
        o1.seeds = &seeds[r];
        CHECK(srs_guide_select(one, &o1, 1, K, ids + r * K, lp + r * K, sc + r * K, &t3[r], NULL, NULL,
                               NULL, NULL) == SRS_OK, "single");
        CHECK(t3[r] == t1[r], "row %d alone: %d vs %d in the batch", r, t3[r], t1[r]);
    }
    // a different step or seed changes some draws (the stream is keyed by both)
    int diff = 0;
    o.step = 18;
    srs_guide_select(cpu(), &o, R, K, ids, lp, sc, t2, NULL, NULL, NULL, NULL);
    for (int r = 0; r < R; r++) diff += t1[r] != t2[r];
    CHECK(diff > 0, "step does not reach the stream");
    srs_ctx_free(one);
}

TEST(guide_robust_select_rows) {
    enum { K = 4 };
    int32_t ids[6 * K] = {1, 2, 3, 4,  1, 2, 3, 4,  -1, -1, -1, -1,  1, 2, 3, 4,  1, 2, 3, 4,  1, 2, 3, -1};
    float lp[6 * K] = {-1, NAN, -2, -3,     -1, -2, -3, -4,  0, 0, 0, 0,
                       -1, -2, -3, -4,      -1, -2, -3, -4,  -INFINITY, -INFINITY, -INFINITY, 0};
    float sc[6 * K] = {0, 0, 5, 0,          NAN, 1, 9, INFINITY,   0, 0, 0, 0,
                       0, 1, 3, 2,          0, 0, 0, 0,            0, 0, 0, 0};
    double m[6] = {0, 0, 0, 0, NAN, 0};
    int32_t tok[6];
    uint8_t fl[6];
    srs_guide_opts_t o = srs_guide_opts_default();
    o.design = SRS_DESIGN_RAW;
    o.lambda = 1e308;   // huge lambda: lambda * s overflows
    o.mode = SRS_GUIDE_SAMPLE;
    CHECK(srs_guide_select(cpu(), &o, 6, K, ids, lp, sc, tok, NULL, NULL, fl, NULL) == SRS_OK, "select");
    CHECK(tok[0] == 3 && (fl[0] & SRS_GUIDE_NONFINITE) && (fl[0] & SRS_GUIDE_OVERFLOW), "row 0: %d %d", tok[0], fl[0]);
    CHECK(tok[1] == 3 && (fl[1] & SRS_GUIDE_BAD_SCORE), "row 1: %d %d", tok[1], fl[1]);
    CHECK(tok[2] == -1 && fl[2] == SRS_GUIDE_SHORT, "row 2 (empty): %d %d", tok[2], fl[2]);
    CHECK(tok[3] == 3, "row 3: huge lambda is the argmax of the score, got %d", tok[3]);
    CHECK(tok[4] >= 1 && tok[4] <= 4 && fl[4] == SRS_GUIDE_VALID, "row 4: %d %d", tok[4], fl[4]);
    CHECK(tok[5] == -1 && fl[5] == SRS_GUIDE_SHORT, "row 5: only -inf logp and an empty slot: %d %d",
          tok[5], fl[5]);
    // a given threshold that is NaN invalidates its row only
    o.lambda = 1;
    o.design = SRS_DESIGN_HARD;
    o.threshold = SRS_GUIDE_THR_GIVEN;
    o.m_star = m;
    CHECK(srs_guide_select(cpu(), &o, 6, K, ids, lp, sc, tok, NULL, NULL, fl, NULL) == SRS_OK, "select");
    CHECK(tok[4] == -1 && (fl[4] & SRS_GUIDE_BAD_M), "row 4: NaN m*: %d %d", tok[4], fl[4]);
    CHECK(tok[3] >= 0 && (fl[3] & SRS_GUIDE_VALID), "row 3 still valid");
    // tau -> 0 is greedy; tau = 0 is greedy
    enum { R = 100, K2 = 10 };
    static int32_t i2[R * K2], g[R], s2[R];
    static float l2[R * K2], c2[R * K2];
    uint64_t rng = 8;
    rand_cands(R, K2, &rng, i2, l2, c2);
    srs_guide_opts_t a = srs_guide_opts_default();
    srs_guide_select(cpu(), &a, R, K2, i2, l2, c2, g, NULL, NULL, NULL, NULL);
    double taus[3] = {1e-300, 4.9e-324, 0.0};
    for (int t = 0; t < 3; t++) {
        a.mode = SRS_GUIDE_SAMPLE;
        a.tau = taus[t];
        srs_guide_select(cpu(), &a, R, K2, i2, l2, c2, s2, NULL, NULL, NULL, NULL);
        for (int r = 0; r < R; r++) CHECK(s2[r] == g[r], "tau %g row %d", taus[t], r);
    }
}

TEST(guide_pipeline_T0_is_greedy_base) {
    // T = 0 through candidates and select: the base argmax whatever the scores
    float lg[2][6] = {{0.1f, 2, 0.3f, 1.9f, -1, 0}, {5, 5, 1, 0, 0, 0}};
    int32_t ids[2 * 4], tok[2];
    float lp[2 * 4], sc[2 * 4] = {0, 0, 100, 100, 0, 3, 0, 0};
    uint8_t fl[2];
    CHECK(srs_guide_candidates(cpu(), lg, SRS_ELEM_F32, 2, 6, 0.0, 4, ids, lp, fl, NULL) == SRS_OK, "c");
    srs_guide_opts_t o = srs_guide_opts_default();
    o.design = SRS_DESIGN_RAW;
    o.lambda = 10;
    o.mode = SRS_GUIDE_SAMPLE;
    CHECK(srs_guide_select(cpu(), &o, 2, 4, ids, lp, sc, tok, NULL, NULL, fl, NULL) == SRS_OK, "s");
    CHECK(tok[0] == 1, "row 0 token %d", tok[0]);
    CHECK(tok[1] == 1, "row 1: the tied maximum with the larger score, got %d", tok[1]);
}

// ----------------------------------------------------------------------------
// full vocabulary

TEST(guide_vocab_topk_equals_pipeline) {
    enum { R = 16, V = 2000, K = 10 };
    static float x[R * V], val[R * V], lp[R * K], sc[R * K], fu1[R * K], fu2[R * K];
    static uint16_t xb[R * V], vb[R * V];
    static int32_t ids[R * K], ids2[R * K], t1[R], t2[R];
    uint64_t rng = 21;
    fill_logits(xb, x, SRS_ELEM_BF16, R * V, &rng, 2.0);
    fill_logits(vb, val, SRS_ELEM_BF16, R * V, &rng, 1.0);
    srs_guide_opts_t o = srs_guide_opts_default();
    o.mode = SRS_GUIDE_SAMPLE;
    o.top_p = 0.9;
    o.seed = 5;
    CHECK(srs_guide_candidates(cpu(), xb, SRS_ELEM_BF16, R, V, 0.9, K, ids, lp, NULL, NULL) == SRS_OK, "c");
    for (int r = 0; r < R; r++)
        for (int j = 0; j < K; j++) sc[r * K + j] = val[r * V + ids[r * K + j]];
    CHECK(srs_guide_select(cpu(), &o, R, K, ids, lp, sc, t1, fu1, NULL, NULL, NULL) == SRS_OK, "s");
    CHECK(srs_guide_vocab(cpu(), &o, xb, SRS_ELEM_BF16, vb, SRS_ELEM_BF16, R, V, 0.9, K, t2, ids2, fu2,
                          NULL, NULL) == SRS_OK, "%s", srs_ctx_last_error(cpu()));
    for (int r = 0; r < R; r++) CHECK(t1[r] == t2[r], "row %d: %d vs %d", r, t1[r], t2[r]);
    CHECK(memcmp(ids, ids2, sizeof ids) == 0 && memcmp(fu1, fu2, sizeof fu1) == 0, "candidates/fused differ");
}

TEST(guide_vocab_whole_greedy_and_chisq) {
    // greedy: argmax over the vocabulary of x/T + lambda s, computed here
    enum { R = 40, V = 500 };
    static float x[R * V], val[R * V];
    static int32_t tok[R];
    static double mstar[R];
    uint64_t rng = 4;
    fill_logits(x, x, SRS_ELEM_F32, R * V, &rng, 2.0);
    fill_logits(val, val, SRS_ELEM_F32, R * V, &rng, 1.0);
    for (int r = 0; r < R; r++) mstar[r] = 0.5;
    srs_design_t ds[4] = {SRS_DESIGN_RAW, SRS_DESIGN_SOFT, SRS_DESIGN_MINMAX, SRS_DESIGN_MEANSTD};
    for (int di = 0; di < 4; di++) {
        srs_guide_opts_t o = srs_guide_opts_default();
        o.design = ds[di];
        o.threshold = SRS_GUIDE_THR_GIVEN;
        o.m_star = mstar;
        o.lambda = 2;
        o.B = 2;
        const double T = 0.7;
        CHECK(srs_guide_vocab(cpu(), &o, x, SRS_ELEM_F32, val, SRS_ELEM_F32, R, V, T, 0, tok, NULL, NULL,
                              NULL, NULL) == SRS_OK, "%s", srs_ctx_last_error(cpu()));
        for (int r = 0; r < R; r++) {
            const float *xr = x + r * V, *vr = val + r * V;
            double xm = -INFINITY, z = 0, mean = 0, var = 0, vmin = INFINITY, vmax = -INFINITY;
            // compares, not fmin/fmax: gcc 12's aarch64 vectoriser crashes on these
            // reductions with them (internal compiler error in vect_transform_reduction)
            for (int v = 0; v < V; v++) xm = xr[v] > xm ? xr[v] : xm;
            for (int v = 0; v < V; v++) {
                z += exp((xr[v] - xm) / T);
                vmin = vr[v] < vmin ? vr[v] : vmin;
                vmax = vr[v] > vmax ? vr[v] : vmax;
            }
            for (int v = 0; v < V; v++) mean += exp((xr[v] - xm) / T) / z * vr[v];
            for (int v = 0; v < V; v++) var += exp((xr[v] - xm) / T) / z * (vr[v] - mean) * (vr[v] - mean);
            int best = 0;
            double bf = -INFINITY;
            for (int v = 0; v < V; v++) {
                double s = ds[di] == SRS_DESIGN_RAW ? vr[v]
                         : ds[di] == SRS_DESIGN_SOFT ? 2 * sigm(vr[v] - 0.5)
                         : ds[di] == SRS_DESIGN_MINMAX ? fmin(2, 1.01 * (vmax - vmin)) * (vr[v] - vmin) / (vmax - vmin)
                         : (vr[v] - mean) / sqrt(var);
                double f = xr[v] / T + 2 * s;
                if (f > bf) { bf = f; best = v; }
            }
            CHECK(tok[r] == best, "%s row %d: %d vs %d", srs_design_name(ds[di]), r, tok[r], best);
        }
    }
    // sampling over a whole (small) vocabulary: chi-square on 10^5 rows
    enum { V2 = 16 };
    const long N = 100000;
    float *x2 = malloc(sizeof(float) * N * V2), *v2 = malloc(sizeof(float) * N * V2);
    int32_t *t2 = malloc(sizeof(int32_t) * N);
    float xr[V2], vr[V2];
    for (int v = 0; v < V2; v++) { xr[v] = (float)(0.3 * v - 2); vr[v] = (float)((v * 7) % 5) * 0.4f; }
    for (long r = 0; r < N; r++) { memcpy(x2 + r * V2, xr, sizeof xr); memcpy(v2 + r * V2, vr, sizeof vr); }
    srs_guide_opts_t o = srs_guide_opts_default();
    o.design = SRS_DESIGN_RAW;
    o.lambda = 1.5;
    o.mode = SRS_GUIDE_SAMPLE;
    o.tau = 1.3;
    o.seed = 777;
    CHECK(srs_guide_vocab(cpu(), &o, x2, SRS_ELEM_F32, v2, SRS_ELEM_F32, N, V2, 1.0, 0, t2, NULL, NULL, NULL,
                          NULL) == SRS_OK, "%s", srs_ctx_last_error(cpu()));
    double p[V2], z = 0;
    long cnt[V2] = {0};
    for (int v = 0; v < V2; v++) z += exp((xr[v] + 1.5 * vr[v]) / 1.3);
    for (int v = 0; v < V2; v++) p[v] = exp((xr[v] + 1.5 * vr[v]) / 1.3) / z;
    for (long r = 0; r < N; r++) cnt[t2[r]]++;
    double c = chisq(cnt, p, V2, N);
    CHECK(c < CHI2_999[V2 - 1], "whole-vocabulary chi-square %.2f >= %.2f", c, CHI2_999[V2 - 1]);
    free(x2); free(v2); free(t2);
}

// ----------------------------------------------------------------------------
// value head

TEST(guide_value_head) {
    enum { R = 5, D = 37, V = 2600, K = 6 };   // V > the half-precision column block
    static float h[R * D], w[D * V], bias[V], out[R * V], outk[R * K];
    static uint16_t hb[R * D], wb[D * V];
    static int32_t ids[R * K];
    uint64_t rng = 9;
    for (int e = 0; e < 3; e++) {
        fill_logits(e ? (void *)hb : (void *)h, h, (srs_elem_t)e, R * D, &rng, 1.0);
        fill_logits(e ? (void *)wb : (void *)w, w, (srs_elem_t)e, D * V, &rng, 0.2);
        for (int v = 0; v < V; v++) bias[v] = (float)(0.01 * v);
        const void *hp = e ? (const void *)hb : h, *wp = e ? (const void *)wb : w;
        CHECK(srs_guide_value_head(cpu(), hp, wp, (srs_elem_t)e, bias, R, D, V, NULL, 0, out, NULL) == SRS_OK,
              "%s", srs_ctx_last_error(cpu()));
        for (int r = 0; r < R; r++)
            for (int j = 0; j < K; j++) ids[r * K + j] = j == K - 1 ? V : (int32_t)(t_rand_u64(&rng) % V);
        CHECK(srs_guide_value_head(cpu(), hp, wp, (srs_elem_t)e, bias, R, D, V, ids, K, outk, NULL) == SRS_OK,
              "%s", srs_ctx_last_error(cpu()));
        for (int r = 0; r < R; r++) {
            for (int v = 0; v < V; v += 13) {
                double acc = bias[v];
                for (int i = 0; i < D; i++) acc += (double)h[r * D + i] * w[i * V + v];
                NEAR(out[r * V + v], acc, 1e-4 * fmax(1, fabs(acc)));
            }
            for (int j = 0; j < K - 1; j++)
                NEAR(outk[r * K + j], out[r * V + ids[r * K + j]], 1e-4);
            CHECK(isnan(outk[r * K + K - 1]), "out-of-range id gives NaN");
        }
        BAIL_IF_FAILED();
    }
}

// ----------------------------------------------------------------------------
// bad arguments

#define REJECT(call, want, word)                                                       \
    do {                                                                               \
        srs_status_t st_ = (call);                                                     \
        CHECK(st_ == (want), "%s: status %s", #call, srs_status_str(st_));             \
        CHECK(strstr(srs_ctx_last_error(cpu()), word) != NULL, "%s: message '%s' lacks '%s'", \
              #call, srs_ctx_last_error(cpu()), word);                                 \
    } while (0)

TEST(guide_bad_args) {
    float lg[8] = {0};
    int32_t ids[8], tok[2];
    float lp[8], sc[8] = {0};
    srs_ctx_t *c = cpu();
    const srs_status_t E = SRS_ERR_INVALID_ARG;
    REJECT(srs_guide_candidates(c, lg, SRS_ELEM_F32, 1, 8, 1, 0, ids, lp, NULL, NULL), E, "k must be");
    REJECT(srs_guide_candidates(c, lg, SRS_ELEM_F32, 1, 8, 1, 65, ids, lp, NULL, NULL), E, "k must be");
    REJECT(srs_guide_candidates(c, lg, SRS_ELEM_F32, 1, 0, 1, 4, ids, lp, NULL, NULL), E, "vocab");
    REJECT(srs_guide_candidates(c, lg, SRS_ELEM_F32, -1, 8, 1, 4, ids, lp, NULL, NULL), E, "rows");
    REJECT(srs_guide_candidates(c, lg, SRS_ELEM_F32, 1, 8, -1, 4, ids, lp, NULL, NULL), E, "temperature");
    REJECT(srs_guide_candidates(c, lg, SRS_ELEM_F32, 1, 8, NAN, 4, ids, lp, NULL, NULL), E, "temperature");
    REJECT(srs_guide_candidates(c, lg, (srs_elem_t)7, 1, 8, 1, 4, ids, lp, NULL, NULL), E, "dtype");
    REJECT(srs_guide_candidates(c, NULL, SRS_ELEM_F32, 1, 8, 1, 4, ids, lp, NULL, NULL), E, "logits");
    REJECT(srs_guide_candidates(c, lg, SRS_ELEM_F32, 1, 8, 1, 4, NULL, lp, NULL, NULL), E, "ids");
    CHECK(srs_guide_candidates(c, NULL, SRS_ELEM_F32, 0, 8, 1, 4, NULL, NULL, NULL, NULL) == SRS_OK,
          "zero rows need no arrays");
    CHECK(srs_guide_candidates(NULL, lg, SRS_ELEM_F32, 1, 8, 1, 4, ids, lp, NULL, NULL) == E, "NULL ctx");

    srs_guide_opts_t o = srs_guide_opts_default(), b;
    for (int i = 0; i < 8; i++) ids[i] = i;
#define SEL(opts) srs_guide_select(c, &(opts), 2, 4, ids, lp, sc, tok, NULL, NULL, NULL, NULL)
    b = o; b.tau = -1;         REJECT(SEL(b), E, "tau");
    b = o; b.top_p = 0;        REJECT(SEL(b), E, "top_p");
    b = o; b.top_p = 1.5;      REJECT(SEL(b), E, "top_p");
    b = o; b.lambda = NAN;     REJECT(SEL(b), E, "lambda");
    b = o; b.lambda = -1;      REJECT(SEL(b), E, "lambda");
    b = o; b.lambda = INFINITY; REJECT(SEL(b), E, "lambda");
    b = o; b.alpha = 0;        REJECT(SEL(b), E, "alpha");
    b = o; b.B = -1;           REJECT(SEL(b), E, "B must");
    b = o; b.design = (srs_design_t)99; REJECT(SEL(b), E, "design");
    b = o; b.mode = (srs_guide_mode_t)5; REJECT(SEL(b), E, "mode");
    b = o; b.baselines = (srs_guide_baselines_t)2; REJECT(SEL(b), E, "baselines");
    b = o; b.threshold = SRS_GUIDE_THR_GIVEN; REJECT(SEL(b), E, "m_star");
    REJECT(srs_guide_select(c, NULL, 2, 4, ids, lp, sc, tok, NULL, NULL, NULL, NULL), E, "options");
    REJECT(srs_guide_select(c, &o, 2, 4, ids, lp, NULL, tok, NULL, NULL, NULL, NULL), E, "score");
    REJECT(srs_guide_select(c, &o, 2, 4, ids, lp, sc, NULL, NULL, NULL, NULL, NULL), E, "tokens");
#undef SEL
    // whole vocabulary: what it cannot do is said, not guessed
    REJECT(srs_guide_vocab(c, &o, lg, SRS_ELEM_F32, lg, SRS_ELEM_F32, 1, 8, 1, 0, tok, NULL, NULL, NULL, NULL),
           SRS_ERR_UNSUPPORTED, "per-step threshold");
    b = o; b.design = SRS_DESIGN_RAW; b.mode = SRS_GUIDE_SAMPLE; b.top_p = 0.9;
    REJECT(srs_guide_vocab(c, &b, lg, SRS_ELEM_F32, lg, SRS_ELEM_F32, 1, 8, 1, 0, tok, NULL, NULL, NULL, NULL),
           SRS_ERR_UNSUPPORTED, "top-p");
    REJECT(srs_guide_vocab(c, &o, lg, SRS_ELEM_F32, lg, SRS_ELEM_F32, 1, 8, 1, 0, tok, ids, NULL, NULL, NULL),
           E, "NULL");
    REJECT(srs_guide_vocab(c, &o, lg, SRS_ELEM_F32, NULL, SRS_ELEM_F32, 1, 8, 1, 4, tok, NULL, NULL, NULL, NULL),
           E, "values");
    REJECT(srs_guide_value_head(c, lg, lg, SRS_ELEM_F32, NULL, 1, 0, 8, NULL, 0, lp, NULL), E, "hidden size");
    REJECT(srs_guide_value_head(c, lg, lg, SRS_ELEM_F32, NULL, 1, 2, 4, ids, 0, lp, NULL), E, "k must");
    srs_elem_t e;
    CHECK(srs_elem_parse("bfloat16", &e) == SRS_OK && e == SRS_ELEM_BF16, "parse bfloat16");
    CHECK(srs_elem_parse("half", &e) == E, "parse rejects unknown names");
}

// ----------------------------------------------------------------------------
// the Python binding (tests/test_python_binding.py, NumPy on the CPU)

TEST(guide_python_binding) {
#if defined(__SANITIZE_ADDRESS__)
    SKIP("libsrs.so is built with ASan here and cannot be loaded into an uninstrumented python3");
#else
    // SRS_PYTHON: an interpreter with NumPy (and PyTorch on a GPU machine, where
    // the script also checks CPU/GPU parity); default Debian's, which
    // scripts/install-deps.sh gives NumPy.
    const char *py = getenv("SRS_PYTHON");
    if (!py || !*py) py = "/usr/bin/python3";
    if (strcmp(py, "none") == 0) SKIP("SRS_PYTHON=none: the Python binding is not tested (a cross build's library)");
    if (access(py, X_OK) != 0) SKIP("%s not found: the Python binding is not tested", py);
    const char *bin = getenv("SRS_BIN");
    char lib[600];
    snprintf(lib, sizeof lib, "%s", bin && *bin ? bin : "build/srs");
    char *slash = strrchr(lib, '/');
    snprintf(slash ? slash + 1 : lib, sizeof lib - (size_t)(slash ? slash + 1 - lib : 0), "libsrs.so");
    if (access(lib, R_OK) != 0) SKIP("%s not built", lib);
    setenv("SRS_LIB", lib, 1);
    const char *argv[] = {py, "-B", "tests/test_python_binding.py", NULL};   // -B: no __pycache__ in python/
    pid_t pid;
    int rc = posix_spawn(&pid, py, NULL, NULL, (char *const *)argv, environ);
    CHECK(rc == 0, "cannot run %s: %s", py, strerror(rc));
    if (rc) return;
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (code == 77) SKIP("NumPy is not installed for %s", py);
    CHECK(code == 0, "tests/test_python_binding.py exited with %d", code);
#endif
}
