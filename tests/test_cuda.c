// test_cuda.c — the CUDA backend against the CPU backend (the oracle) on
// random ragged batches: every solver, preset and design, float32 and
// float64 inputs, with and without logw, rows in every kernel tier. Outputs
// are poisoned before each run so an unwritten entry fails. Skipped with a
// message where no CUDA device (or no CUDA build) is present.
#include <string.h>
#include "internal.h"
#include "score.h"
#include "test.h"
#ifdef SRS_WITH_CUDA
#include "../kernels/common.cuh"
#endif

// A CUDA context, or NULL with the reason in why.

// A random batch: n_rows rows with lengths drawn from lens (ragged), rewards
// of several shapes, logw when weighted. Arrays malloc'd into the batch.
typedef struct {
    srs_batch_t b;
    int64_t *off;
    double *u64, *lw64;
    float *u32, *lw32;
} rbatch_t;

static void rbatch_make(rbatch_t *r, int64_t n_rows, const int64_t *lens, int n_lens, int weighted, int f32,
                        uint64_t *rng) {
    memset(r, 0, sizeof *r);
    r->off = malloc(sizeof(int64_t) * (size_t)(n_rows + 1));
    r->off[0] = 0;
    for (int64_t i = 0; i < n_rows; i++) {
        int64_t L = lens[t_rand_u64(rng) % (uint64_t)n_lens];
        int64_t len = 1 + (int64_t)(t_rand_u01(rng) * (double)L);  // uniform in [1, L]
        if (t_rand_u01(rng) < 0.5) len = L;                          // and the tier's edge itself
        r->off[i + 1] = r->off[i] + len;
    }
    int64_t ns = r->off[n_rows];
    r->u64 = malloc(sizeof(double) * (size_t)ns);
    r->lw64 = malloc(sizeof(double) * (size_t)ns);
    r->u32 = malloc(sizeof(float) * (size_t)ns);
    r->lw32 = malloc(sizeof(float) * (size_t)ns);
    for (int64_t i = 0; i < n_rows; i++) {
        int kind = (int)(t_rand_u64(rng) % 5);
        double mu = 3 * t_rand_normal(rng);
        for (int64_t j = r->off[i]; j < r->off[i + 1]; j++) {
            double z = t_rand_normal(rng);
            double u = kind == 0 ? mu + z : kind == 1 ? floor(t_rand_u01(rng) * 4) : kind == 2 ? 1e4 + 1e-2 * z
                     : kind == 3 ? z * z * z : mu;  // kind 4: all equal
            r->u64[j] = u;
            r->u32[j] = (float)u;
            r->lw64[j] = 2 * t_rand_normal(rng);
            r->lw32[j] = (float)r->lw64[j];
        }
    }
    r->b.n_prompts = n_rows;
    r->b.offsets = r->off;
    r->b.reward = f32 ? (srs_vec_t){r->u32, SRS_F32} : (srs_vec_t){r->u64, SRS_F64};
    if (weighted) r->b.logw = f32 ? (srs_vec_t){r->lw32, SRS_F32} : (srs_vec_t){r->lw64, SRS_F64};
}

static void rbatch_free(rbatch_t *r) {
    free(r->off); free(r->u64); free(r->lw64); free(r->u32); free(r->lw32);
}

static double row_range(const srs_batch_t *b, int64_t i) {
    int64_t s, n;
    srs_batch_row(b, i, &s, &n);
    double mn = INFINITY, mx = -INFINITY;
    for (int64_t j = s; j < s + n; j++) {
        double x = b->reward.dtype == SRS_F32 ? ((const float *)b->reward.data)[j] : ((const double *)b->reward.data)[j];
        // compares, not fmin/fmax: gcc 12's aarch64 vectoriser crashes on
        // this loop with them (internal compiler error in vect_transform_reduction)
        mn = x < mn ? x : mn;
        mx = x > mx ? x : mx;
    }
    return mx - mn;
}

static void poison(double *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] = NAN;
}

// Runs thresholds (so == NULL) or shaping on both backends and compares:
// m* within 1e-12 max(1, range) for the exact and Dinkelbach solvers (both
// end at the same root to rounding: anything more is a precision bug) and
// 1e-6 max(1, range) for bisection (it stops at its tolerance), B_eff within
// 1e-12 max(1, B_eff), shaped within 1e-5 max(1, B_eff, |cpu value|).
static int compare_backends(srs_ctx_t *gpu, const srs_batch_t *b, const srs_threshold_opts_t *to,
                            const srs_shape_opts_t *so, srs_dtype_t sdt, const char *what) {
    int64_t np = b->n_prompts, ns = srs_batch_n_samples(b);
    double *m0 = malloc(8 * (size_t)np), *m1 = malloc(8 * (size_t)np);
    double *e0 = malloc(8 * (size_t)np), *e1 = malloc(8 * (size_t)np);
    double *s0 = malloc(8 * (size_t)(ns + 1)), *s1 = malloc(8 * (size_t)(ns + 1));
    poison(m0, np); poison(m1, np); poison(e0, np); poison(e1, np);
    poison(s0, ns); poison(s1, ns);
    if (sdt == SRS_F32)
        for (int64_t j = 0; j < ns; j++) { ((float *)s0)[j] = NAN; ((float *)s1)[j] = NAN; }
    srs_status_t st0, st1;
    if (so) {
        st0 = srs_shape(t_cpu_ctx(), b, to, so, m0, e0, s0, sdt);
        st1 = srs_shape(gpu, b, to, so, m1, e1, s1, sdt);
    } else {
        st0 = srs_thresholds(t_cpu_ctx(), b, to, m0, e0);
        st1 = srs_thresholds(gpu, b, to, m1, e1);
    }
    int bad = 0;
    CHECK(st0 == SRS_OK, "%s: cpu: %s", what, srs_ctx_last_error(t_cpu_ctx()));
    CHECK(st1 == SRS_OK, "%s: cuda: %s", what, srs_ctx_last_error(gpu));
    if (st0 != SRS_OK || st1 != SRS_OK) bad = 1;
    for (int64_t i = 0; i < np && !bad; i++) {
        double tol = (to->solver == SRS_SOLVER_BISECT ? 1e-6 : 1e-12) * fmax(1.0, row_range(b, i));
        if (!(fabs(m0[i] - m1[i]) <= tol)) {
            CHECK(0, "%s: row %lld (len %lld): m* cpu %.17g cuda %.17g", what, (long long)i,
                  (long long)(b->offsets[i + 1] - b->offsets[i]), m0[i], m1[i]);
            bad = 1;
        }
        if (!(fabs(e0[i] - e1[i]) <= 1e-12 * fmax(1.0, fabs(e0[i])))) {
            CHECK(0, "%s: row %lld: B_eff cpu %.17g cuda %.17g", what, (long long)i, e0[i], e1[i]);
            bad = 1;
        }
        if (!so) continue;
        for (int64_t j = b->offsets[i]; j < b->offsets[i + 1] && !bad; j++) {
            double x0 = sdt == SRS_F32 ? ((float *)s0)[j] : s0[j];
            double x1 = sdt == SRS_F32 ? ((float *)s1)[j] : s1[j];
            double stol = 1e-5 * fmax(fmax(1.0, e0[i]), fabs(x0));
            // a sample at the threshold may round to either side of a hard step
            int at_step = so->design == SRS_DESIGN_HARD &&
                          fabs((b->reward.dtype == SRS_F32 ? ((const float *)b->reward.data)[j]
                                                           : ((const double *)b->reward.data)[j]) - m0[i]) <= tol;
            if (!(fabs(x0 - x1) <= stol) && !at_step) {
                CHECK(0, "%s: row %lld sample %lld: shaped cpu %.17g cuda %.17g", what, (long long)i,
                      (long long)(j - b->offsets[i]), x0, x1);
                bad = 1;
            }
        }
    }
    free(m0); free(m1); free(e0); free(e1); free(s0); free(s1);
    return bad;
}

// ----------------------------------------------------------------------------

TEST(cuda_context_without_device_is_a_clear_error) {
    srs_ctx_t *c = NULL;
    srs_status_t st = srs_ctx_create(&c, SRS_DEVICE_CUDA, 0);
    if (st == SRS_OK) {
        CHECK(srs_ctx_device(c) == SRS_DEVICE_CUDA, "device %d", srs_ctx_device(c));
        srs_ctx_free(c);
        SKIP("a CUDA device is present");
    }
    CHECK(st == SRS_ERR_UNSUPPORTED && c == NULL, "status %d", st);
    const char *m = srs_last_create_error();
    CHECK(strstr(m, srs_cuda_compiled() ? "no CUDA device" : "not compiled in") != NULL, "message: %s", m);
    // auto falls back to the CPU
    CHECK(srs_ctx_create(&c, SRS_DEVICE_AUTO, 0) == SRS_OK && srs_ctx_device(c) == SRS_DEVICE_CPU, "auto");
    srs_ctx_free(c);
}

TEST(cuda_thresholds_match_cpu_all_solvers_presets) {
    SKIP_WITHOUT_CUDA(gpu);
    static const int64_t short_lens[] = {1, 2, 8, 16, 32, 64, 128, 256};
    static const int64_t long_lens[] = {512, 1024, 2048, 4096, 9000, 20000, 40000};
    uint64_t rng = 7;
    for (int longrows = 0; longrows < 2; longrows++)
        for (int weighted = 0; weighted < 2; weighted++)
            for (int f32 = 0; f32 < 2; f32++) {
                rbatch_t r;
                if (longrows) rbatch_make(&r, t_quick() ? 20 : 60, long_lens, 7, weighted, f32, &rng);
                else rbatch_make(&r, t_quick() ? 500 : 3000, short_lens, 8, weighted, f32, &rng);
                for (int preset = 0; preset < 3; preset++)
                    for (int solver = 0; solver < 3; solver++)
                        for (int gi = 0; gi < 3; gi++) {
                            static const double Bs[] = {0.3, 5, 400};
                            srs_threshold_opts_t o = srs_threshold_opts_default();
                            o.preset = (srs_preset_t)preset;
                            o.solver = (srs_solver_t)solver;
                            o.beta = 0.5;
                            o.B = Bs[gi];
                            char what[160];
                            snprintf(what, sizeof what, "long=%d weighted=%d f32=%d preset=%s solver=%s B=%g",
                                     longrows, weighted, f32, srs_preset_name(o.preset), srs_solver_name(o.solver), o.B);
                            if (compare_backends(gpu, &r.b, &o, NULL, SRS_F64, what)) break;
                        }
                rbatch_free(&r);
                BAIL_IF_FAILED();
            }
}

TEST(cuda_shaping_matches_cpu_all_designs) {
    SKIP_WITHOUT_CUDA(gpu);
    static const int64_t lens[] = {1, 7, 16, 100, 256, 700, 3000, 15000, 35000};
    uint64_t rng = 11;
    for (int weighted = 0; weighted < 2; weighted++)
        for (int f32 = 0; f32 < 2; f32++) {
            rbatch_t r;
            rbatch_make(&r, t_quick() ? 60 : 300, lens, 9, weighted, f32, &rng);
            for (int design = 0; design < SRS_DESIGN_COUNT_; design++)
                for (int sdt = 0; sdt < 2; sdt++) {
                    srs_threshold_opts_t o = srs_threshold_opts_default();
                    o.preset = (srs_preset_t)(design % 3);
                    o.solver = (srs_solver_t)((design + sdt) % 3);
                    o.B = 4;
                    o.beta = 0.7;
                    srs_shape_opts_t so = srs_shape_opts_default();
                    so.design = (srs_design_t)design;
                    so.alpha = 1.5;
                    char what[160];
                    snprintf(what, sizeof what, "weighted=%d f32=%d design=%s shaped=%s", weighted, f32,
                             srs_design_name(so.design), sdt ? "f32" : "f64");
                    compare_backends(gpu, &r.b, &o, &so, sdt ? SRS_F32 : SRS_F64, what);
                }
            rbatch_free(&r);
            BAIL_IF_FAILED();
        }
}

TEST(cuda_dense_and_chunk_offsets) {
    SKIP_WITHOUT_CUDA(gpu);
    // dense rows, and a CSR view that does not start at sample 0 (a chunk)
    uint64_t rng = 5;
    int64_t np = 1000, len = 48;
    double *u = malloc(sizeof(double) * (size_t)(np * len));
    for (int64_t j = 0; j < np * len; j++) u[j] = t_rand_normal(&rng);
    srs_batch_t b = t_dense(u, SRS_F64, np, len);
    srs_threshold_opts_t o = srs_threshold_opts_default();
    o.B = 2;
    srs_shape_opts_t so = srs_shape_opts_default();
    compare_backends(gpu, &b, &o, &so, SRS_F64, "dense");
    int64_t *off = malloc(sizeof(int64_t) * (size_t)(np + 1));
    for (int64_t i = 0; i <= np; i++) off[i] = 5 + i * (len - 1);
    srs_batch_t c = b;
    c.offsets = off;
    c.n_prompts = np - 1;
    c.first_index = 100;
    // compare_backends indexes shaped by offsets: give it a rebased view too
    int64_t *off0 = malloc(sizeof(int64_t) * (size_t)(np + 1));
    for (int64_t i = 0; i <= np; i++) off0[i] = off[i] - 5;
    srs_batch_t c0 = c;
    c0.offsets = off0;
    c0.reward = (srs_vec_t){u + 5, SRS_F64};
    compare_backends(gpu, &c0, &o, &so, SRS_F64, "rebased CSR");
    double *m0 = malloc(8 * (size_t)np), *m1 = malloc(8 * (size_t)np);
    double *s0 = malloc(8 * (size_t)(np * len)), *s1 = malloc(8 * (size_t)(np * len));
    poison(m1, np);
    poison(s1, np * len);
    CHECK(srs_shape(t_cpu_ctx(), &c, &o, &so, m0, NULL, s0, SRS_F64) == SRS_OK, "cpu");
    CHECK(srs_shape(gpu, &c, &o, &so, m1, NULL, s1, SRS_F64) == SRS_OK, "cuda: %s", srs_ctx_last_error(gpu));
    for (int64_t i = 0; i < c.n_prompts; i++) NEAR(m0[i], m1[i], 1e-9);
    for (int64_t j = 0; j < off[c.n_prompts] - off[0]; j++) NEAR(s0[j], s1[j], 1e-9);
    free(u); free(off); free(off0); free(m0); free(m1); free(s0); free(s1);
}

TEST(cuda_bad_rows_reported_like_cpu) {
    SKIP_WITHOUT_CUDA(gpu);
    uint64_t rng = 3;
    static const int64_t lens[] = {5, 300, 6000};
    for (int kind = 0; kind < 3; kind++) {
        rbatch_t r;
        rbatch_make(&r, 5000, lens, 3, kind == 2, 0, &rng);
        int64_t row = 2500 + kind * 700;
        if (kind == 0) r.u64[r.off[row] + (r.off[row + 1] - r.off[row]) / 2] = NAN;
        else if (kind == 1) r.u64[r.off[row + 1] - 1] = INFINITY;
        else r.lw64[r.off[row]] = NAN;
        r.u64[r.off[4990]] = NAN;  // a later bad row must not win
        srs_threshold_opts_t o = srs_threshold_opts_default();
        double *m = malloc(8 * 5000);
        srs_status_t s0 = srs_thresholds(t_cpu_ctx(), &r.b, &o, m, NULL);
        char e0[SRS_ERR_MAX];
        snprintf(e0, sizeof e0, "%s", srs_ctx_last_error(t_cpu_ctx()));
        srs_status_t s1 = srs_thresholds(gpu, &r.b, &o, m, NULL);
        CHECK(s0 == SRS_ERR_BAD_INPUT && s1 == SRS_ERR_BAD_INPUT, "status %d %d", s0, s1);
        CHECK(srs_ctx_error_row(gpu) == row, "row %lld, want %lld", (long long)srs_ctx_error_row(gpu), (long long)row);
        CHECK(strcmp(e0, srs_ctx_last_error(gpu)) == 0, "cpu '%s' vs cuda '%s'", e0, srs_ctx_last_error(gpu));
        free(m);
        rbatch_free(&r);
    }
    // an empty row
    int64_t off[4] = {0, 3, 3, 5};
    double u[5] = {1, 2, 3, 4, 5};
    srs_batch_t b;
    memset(&b, 0, sizeof b);
    b.n_prompts = 3;
    b.offsets = off;
    b.reward = (srs_vec_t){u, SRS_F64};
    srs_threshold_opts_t o = srs_threshold_opts_default();
    double m[3];
    CHECK(srs_thresholds(gpu, &b, &o, m, NULL) == SRS_ERR_BAD_INPUT && srs_ctx_error_row(gpu) == 1,
          "empty row: %s", srs_ctx_last_error(gpu));
}

TEST(cuda_streams_many_chunks_in_order) {
    SKIP_WITHOUT_CUDA(gpu);
    // more samples than one chunk (16 Mi): several chunks through the slots
    if (t_quick()) SKIP("quick run");
    uint64_t rng = 9;
    int64_t np = 1100000, len = 64;  // > 3 chunks of 262144 rows: slots are reused
    float *u = malloc(sizeof(float) * (size_t)(np * len));
    for (int64_t j = 0; j < np * len; j++) u[j] = (float)t_rand_normal(&rng);
    srs_batch_t b = t_dense(u, SRS_F32, np, len);
    srs_threshold_opts_t o = srs_threshold_opts_default();
    o.solver = SRS_SOLVER_DINKELBACH;
    double *m0 = malloc(8 * (size_t)np), *m1 = malloc(8 * (size_t)np);
    poison(m1, np);
    CHECK(srs_thresholds(t_cpu_ctx(), &b, &o, m0, NULL) == SRS_OK, "cpu");
    CHECK(srs_thresholds(gpu, &b, &o, m1, NULL) == SRS_OK, "cuda: %s", srs_ctx_last_error(gpu));
    int64_t worst = -1;
    for (int64_t i = 0; i < np; i++)
        if (!(fabs(m0[i] - m1[i]) <= 1e-9 * fmax(1.0, fabs(m0[i])))) { worst = i; break; }
    CHECK(worst < 0, "row %lld: cpu %.17g cuda %.17g", (long long)worst, worst >= 0 ? m0[worst] : 0,
          worst >= 0 ? m1[worst] : 0);
    free(u); free(m0); free(m1);
}

// ----------------------------------------------------------------------------
// chunks (host/cuda/chunks.c): the CUDA pipeline's own chunking and staging
// code, run here on the CPU in every build

static int toy_tier(int64_t len, const void *u) {
    (void)u;
    return len <= 8 ? 0 : len <= 64 ? 1 : len <= 512 ? 2 : 3;
}

TEST(cuda_chunks_plan_and_staging_on_cpu) {
    uint64_t rng = 21;
    static const int64_t lens[] = {3, 8, 40, 64, 300, 2500};
    rbatch_t r;
    rbatch_make(&r, 4000, lens, 6, 1, 0, &rng);
    const int64_t np = r.b.n_prompts, ns = r.off[np];
    int64_t max_len = 0;
    for (int64_t i = 0; i < np; i++)
        if (r.off[i + 1] - r.off[i] > max_len) max_len = r.off[i + 1] - r.off[i];
    srs_threshold_opts_t o = srs_threshold_opts_default();
    o.solver = SRS_SOLVER_EXACT;
    double *m_all = malloc(8 * (size_t)np), *m_chunk = malloc(8 * (size_t)np);
    CHECK(srs_thresholds(t_cpu_ctx(), &r.b, &o, m_all, NULL) == SRS_OK, "cpu: %s", srs_ctx_last_error(t_cpu_ctx()));
    int64_t *off = malloc(8 * (size_t)(np + 1)), *rows = malloc(8 * (size_t)np);
    const char *hooks[] = {"", "1000", "1", "100000000"};
    for (int h = 0; h < 4; h++) {
        setenv("SRS_CUDA_CHUNK_SAMPLES", hooks[h], 1);
        int64_t cap_s, cap_r;
        srs_chunk_caps(&r.b, max_len, (int64_t)1 << 24, (int64_t)1 << 40, 1 << 16, &cap_s, &cap_r);
        int64_t want = srs_env_pos("SRS_CUDA_CHUNK_SAMPLES");
        int64_t expect_s = want > 0 && want < ns ? (want > max_len ? want : max_len) : ns;
        CHECK(cap_s == expect_s, "hook '%s': cap_s %lld, want %lld", hooks[h], (long long)cap_s, (long long)expect_s);
        for (int64_t i = 0; i < np; i++) m_chunk[i] = NAN;
        int64_t i0 = 0, chunks = 0;
        while (i0 < np) {
            int64_t nr = srs_chunk_next(&r.b, i0, cap_s, cap_r);
            CHECK(nr >= 1 && i0 + nr <= np, "chunk at %lld: %lld rows", (long long)i0, (long long)nr);
            if (nr < 1) break;
            int64_t span = r.off[i0 + nr] - r.off[i0];
            CHECK(nr == 1 || span <= cap_s, "chunk at %lld: %lld samples over cap %lld", (long long)i0, (long long)span,
                  (long long)cap_s);
            CHECK(i0 + nr == np || span + (r.off[i0 + nr + 1] - r.off[i0 + nr]) > cap_s || nr == cap_r,
                  "chunk at %lld stops before the next row would overflow it", (long long)i0);
            int64_t tn[4], ta[4], tm[4];
            srs_chunk_stage_rows(r.off, i0, nr, 4, toy_tier, NULL, off, rows, tn, ta, tm);
            // rows: a permutation of [0, nr), grouped by tier, row order within a tier
            CHECK(off[0] == 0 && off[nr] == span, "rebased offsets %lld..%lld", (long long)off[0], (long long)off[nr]);
            for (int t = 0, at = 0; t < 4; t++) {
                CHECK(ta[t] == at, "tier %d at %lld, want %d", t, (long long)ta[t], at);
                int64_t longest = 0;
                for (int64_t k = ta[t]; k < ta[t] + tn[t]; k++) {
                    int64_t i = rows[k], len = off[i + 1] - off[i];
                    CHECK(toy_tier(len, NULL) == t && (k == ta[t] || rows[k - 1] < i), "tier %d row %lld", t,
                          (long long)i);
                    if (len > longest) longest = len;
                }
                CHECK(tm[t] == longest, "tier %d longest %lld, want %lld", t, (long long)tm[t], (long long)longest);
                at += (int)tn[t];
            }
            // the chunk as its pipeline sees it: rebased offsets, data from its first sample
            srs_batch_t c = r.b;
            c.n_prompts = nr;
            c.offsets = off;
            c.first_index = i0;
            c.reward = (srs_vec_t){r.u64 + r.off[i0], SRS_F64};
            c.logw = (srs_vec_t){r.lw64 + r.off[i0], SRS_F64};
            CHECK(srs_thresholds(t_cpu_ctx(), &c, &o, m_chunk + i0, NULL) == SRS_OK, "chunk %lld: %s",
                  (long long)chunks, srs_ctx_last_error(t_cpu_ctx()));
            i0 += nr;
            chunks++;
        }
        int64_t diff = -1;
        for (int64_t i = 0; i < np && diff < 0; i++)
            if (memcmp(&m_all[i], &m_chunk[i], 8) != 0) diff = i;
        CHECK(diff < 0, "hook '%s': row %lld differs from the whole-batch run", hooks[h], (long long)diff);
        if (h == 1) CHECK(chunks > 20, "hook 1000: only %lld chunks", (long long)chunks);
        if (h == 2) CHECK(chunks > 1 && cap_s == max_len, "hook 1: %lld chunks, cap %lld", (long long)chunks,
                          (long long)cap_s);
        if (h == 0 || h == 3) CHECK(chunks == 1, "no hook: %lld chunks", (long long)chunks);
    }
    unsetenv("SRS_CUDA_CHUNK_SAMPLES");
    // dense rows: whole rows of cap_s samples
    srs_batch_t d = t_dense(r.u64, SRS_F64, 1000, 7);
    setenv("SRS_CUDA_CHUNK_SAMPLES", "100", 1);
    int64_t cap_s, cap_r;
    srs_chunk_caps(&d, 7, (int64_t)1 << 24, (int64_t)1 << 40, 1 << 16, &cap_s, &cap_r);
    unsetenv("SRS_CUDA_CHUNK_SAMPLES");
    CHECK(cap_s == 100 && cap_r == 14, "dense caps %lld %lld", (long long)cap_s, (long long)cap_r);
    CHECK(srs_chunk_next(&d, 994, cap_s, cap_r) == 6, "dense tail");
    // score: rows per chunk
    CHECK(srs_score_chunk_rows(1000, 64, 4, 256 << 20, 0) == 1000, "score, no hook");
    CHECK(srs_score_chunk_rows(1000, 64, 4, 256 << 20, 37) == 37, "score, hook");
    CHECK(srs_score_chunk_rows(10, (int64_t)1 << 30, 2, 256 << 20, 0) == 1, "score, huge rows");
    free(m_all); free(m_chunk); free(off); free(rows);
    rbatch_free(&r);
}

// The CUDA pipeline over many CSR chunks (SRS_CUDA_CHUNK_SAMPLES): every slot
// reused, rows longer than the cap alone in their chunk, shaping too.
TEST(cuda_csr_many_chunks_match_cpu) {
    SKIP_WITHOUT_CUDA(gpu);
    static const int64_t lens[] = {1, 16, 64, 700, 5000};
    uint64_t rng = 23;
    rbatch_t r;
    rbatch_make(&r, t_quick() ? 400 : 3000, lens, 5, 1, 0, &rng);
    setenv("SRS_CUDA_CHUNK_SAMPLES", "3000", 1);
    for (int solver = 0; solver < 3; solver++) {
        srs_threshold_opts_t o = srs_threshold_opts_default();
        o.solver = (srs_solver_t)solver;
        o.B = 3;
        srs_shape_opts_t so = srs_shape_opts_default();
        so.design = SRS_DESIGN_SOFT;
        char what[96];
        snprintf(what, sizeof what, "chunks of 3000 samples, solver %s", srs_solver_name(o.solver));
        compare_backends(gpu, &r.b, &o, NULL, SRS_F64, what);
        compare_backends(gpu, &r.b, &o, &so, SRS_F32, what);
    }
    unsetenv("SRS_CUDA_CHUNK_SAMPLES");
    rbatch_free(&r);
}

#ifdef SRS_WITH_CUDA
// The copy kernel behind srs bench threshold's bandwidth reference copies every
// byte: sizes around the 16-byte vectors, the unrolled loop's edge and the tail.
TEST(cuda_copy_kernel_copies_every_byte) {
    SKIP_WITHOUT_CUDA(gpu);
    (void)gpu;
    const size_t sizes[] = {1, 15, 16, 17, 4096 * 16 + 3, ((size_t)1 << 24) + 16 * 7 + 5};
    const size_t max = sizes[5];
    unsigned char *h = malloc(max), *back = malloc(max), *d_src = NULL, *d_dst = NULL;
    uint64_t rng = 31;
    for (size_t i = 0; i < max; i++) h[i] = (unsigned char)t_rand_u64(&rng);
    CHECK(cudaMalloc((void **)&d_src, max) == cudaSuccess && cudaMalloc((void **)&d_dst, max + 64) == cudaSuccess &&
              cudaMemcpy(d_src, h, max, cudaMemcpyHostToDevice) == cudaSuccess, "device buffers");
    for (int k = 0; k < 6 && d_src && d_dst; k++) {
        size_t n = sizes[k];
        CHECK(cudaMemset(d_dst, 0xa5, max + 64) == cudaSuccess, "poison");
        CHECK(srs_copy_launch(d_src, d_dst, n, 0) == 0, "launch: %s", srs_cuda_last_error());
        CHECK(cudaMemcpy(back, d_dst, n, cudaMemcpyDeviceToHost) == cudaSuccess, "copy back");
        CHECK(memcmp(back, h, n) == 0, "%zu bytes: a byte differs", n);
        unsigned char after[64];
        CHECK(cudaMemcpy(after, d_dst + n, 64, cudaMemcpyDeviceToHost) == cudaSuccess, "copy back");
        int over = 0;
        for (int i = 0; i < 64; i++) over |= after[i] != 0xa5;
        CHECK(!over, "%zu bytes: written past the end", n);
    }
    cudaFree(d_src); cudaFree(d_dst);
    free(h); free(back);
}
#else
TEST(cuda_copy_kernel_copies_every_byte) { SKIP("CUDA backend not compiled in"); }
#endif
