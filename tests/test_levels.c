/*
 * test_levels.c — one build, every CPU: the CPU levels compiled in
 * (host/dispatch.c) are listed, chosen and forced as srs.h says, and every
 * level this CPU runs gives bit-identical evaluation sums, thresholds and
 * shaped rewards (the same code, the same sums in the same order at every
 * level). The test found a gcc 12 miscompile at -march=x86-64-v3 (host/cpu/solve.c,
 * active_sums) that a single-level suite did not.
 */
#include <string.h>
#include "test.h"

// The compiled levels this CPU runs, in the order srs_cpu_levels lists them.
static int runnable_levels(char names[][16], int max) {
    char buf[128];
    snprintf(buf, sizeof buf, "%s", srs_cpu_levels());
    int n = 0;
    for (char *save = NULL, *t = strtok_r(buf, " ", &save); t && n < max; t = strtok_r(NULL, " ", &save))
        if (srs_cpu_level_runs(t)) snprintf(names[n++], 16, "%s", t);
    return n;
}

// A CPU context at level `name` (the process default is restored after).
static srs_ctx_t *ctx_at(const char *name) {
    srs_ctx_t *c = NULL;
    if (srs_cpu_set_level(name) != SRS_OK) return NULL;
    srs_status_t st = srs_ctx_create(&c, SRS_DEVICE_CPU, 2);
    srs_cpu_set_level(NULL);
    return st == SRS_OK ? c : NULL;
}

TEST(cpu_levels_listed_and_forced) {
    const char *all = srs_cpu_levels();
    CHECK(all && *all, "no CPU level compiled in");
    const char *cur = srs_cpu_level();
    CHECK(cur && strstr(all, cur), "current level %s not among the compiled (%s)", cur ? cur : "(null)", all);
    CHECK(cur && srs_cpu_level_runs(cur), "the current level %s does not run here", cur ? cur : "(null)");
#if defined(__x86_64__)
    if (strcmp(all, "native") != 0) {
        CHECK(!strcmp(all, "v2 v3 v4"), "x86-64 build: levels '%s', expected 'v2 v3 v4'", all);
        CHECK(srs_cpu_level_runs("v2"), "an x86-64-v2 build runs, so v2 must run");
        if (!getenv("SRS_CPU")) {   // the default is the best level this CPU runs
            const char *best = srs_cpu_level_runs("v4") ? "v4" : srs_cpu_level_runs("v3") ? "v3" : "v2";
            CHECK(cur && !strcmp(cur, best), "default level %s, the best this CPU runs is %s", cur, best);
        }
    }
#endif
    CHECK(srs_cpu_level_desc(all[0] ? cur : "v2") != NULL, "no description");
    CHECK(srs_cpu_level_desc("v9") == NULL, "a description for an unknown level");
    CHECK(srs_cpu_set_level("v9") == SRS_ERR_INVALID_ARG, "unknown level accepted");
    CHECK(srs_cpu_level_runs("v9") == 0, "unknown level runs");
    char names[8][16];
    int n = runnable_levels(names, 8);
    for (int i = 0; i < n; i++) {
        CHECK(srs_cpu_set_level(names[i]) == SRS_OK, "cannot force %s", names[i]);
        CHECK(!strcmp(srs_cpu_level(), names[i]), "forced %s, got %s", names[i], srs_cpu_level());
        srs_ctx_t *c = NULL;
        CHECK(srs_ctx_create(&c, SRS_DEVICE_CPU, 1) == SRS_OK, "no context at %s", names[i]);
        srs_ctx_free(c);
    }
    CHECK(srs_cpu_set_level("auto") == SRS_OK, "auto refused");
    CHECK(srs_cpu_set_level(NULL) == SRS_OK, "NULL refused");
    CHECK(cur && !strcmp(srs_cpu_level(), cur), "the default did not come back: %s, was %s", srs_cpu_level(), cur);
#if defined(__x86_64__)
    if (!srs_cpu_level_runs("v4") && strstr(all, "v4"))
        CHECK(srs_cpu_set_level("v4") == SRS_ERR_UNSUPPORTED, "v4 forced on a CPU without AVX-512");
#endif
}

TEST(cpu_level_from_env_names_bad_values) {
    char *err = NULL;
    // srs reads SRS_CPU once per process: a child with a bad value
    setenv("SRS_CPU", "v9", 1);
    int rc = t_run_srs((const char *[]){"--version", NULL}, NULL, &err);
    unsetenv("SRS_CPU");
    CHECK(rc == 1, "SRS_CPU=v9: exit %d", rc);
    CHECK(err && strstr(err, "SRS_CPU=v9") && strstr(err, "unknown CPU level"), "message: %s", err ? err : "");
    free(err);
    // the lowest compiled level (v2 on x86-64, neon on aarch64) runs anywhere
    char low[16] = "", want[64];
    sscanf(srs_cpu_levels(), "%15s", low);
    snprintf(want, sizeof want, "CPU level: %s", low);
    char *out = NULL;
    setenv("SRS_CPU", low, 1);
    rc = t_run_srs((const char *[]){"--version", NULL}, &out, NULL);
    unsetenv("SRS_CPU");
    CHECK(rc == 0 && out && strstr(out, want), "SRS_CPU=%s: exit %d, %s", low, rc, out ? out : "");
    free(out);
}

// Rows of many lengths (the short-row lanes, the long-row bracket, the
// scratch path), dense and ragged, float and double, with and without logw.
typedef struct {
    int64_t np, ns;
    int64_t *off;
    double *ud, *lw;
    float *uf;
} rows_t;

static rows_t make_rows(uint64_t seed) {
    static const int lens[] = {1, 2, 3, 7, 8, 15, 16, 17, 31, 64, 65, 100, 256, 257, 1000, 2048, 5000};
    const int nl = sizeof lens / sizeof lens[0];
    rows_t r = {0};
    r.np = 3 * nl;
    r.off = malloc((size_t)(r.np + 1) * sizeof *r.off);
    r.off[0] = 0;
    for (int64_t i = 0; i < r.np; i++) r.off[i + 1] = r.off[i] + lens[i % nl];
    r.ns = r.off[r.np];
    r.ud = malloc((size_t)r.ns * sizeof *r.ud);
    r.uf = malloc((size_t)r.ns * sizeof *r.uf);
    r.lw = malloc((size_t)r.ns * sizeof *r.lw);
    uint64_t s = seed;
    for (int64_t j = 0; j < r.ns; j++) {
        // ties (rounded values) and a heavy tail in some rows
        double x = t_rand_normal(&s) * 2.0 + 3.0;
        if (j % 7 == 0) x = round(x * 4) / 4;
        if (j % 97 == 0) x *= 20;
        r.ud[j] = x;
        r.uf[j] = (float)x;
        r.lw[j] = -t_rand_u01(&s) * 3.0;
    }
    return r;
}

static void free_rows(rows_t *r) {
    free(r->off);
    free(r->ud);
    free(r->uf);
    free(r->lw);
}

TEST(cpu_levels_bit_identical_thresholds_and_shaping) {
    char names[8][16];
    int n = runnable_levels(names, 8);
    if (n < 2) SKIP("this CPU runs only one level (%s)", n ? names[0] : "none");
    rows_t r = make_rows(11);
    // dense batches too (the lanes path with whole groups of equal rows):
    // widths a multiple of eight and not, float and double, with a last
    // group of fewer than eight rows
    static const int dense_n[] = {64, 16, 13, 8, 5, 1024};
    static const srs_dtype_t dense_t[] = {SRS_F32, SRS_F64, SRS_F32, SRS_F32, SRS_F64, SRS_F32};
    enum { N_DENSE = sizeof dense_n / sizeof dense_n[0] };
    int64_t dn = 1024, drows = 203;   // the largest of each
    float *duf = malloc((size_t)(dn * drows) * sizeof *duf);
    double *dud = malloc((size_t)(dn * drows) * sizeof *dud);
    uint64_t s = 5;
    for (int64_t j = 0; j < dn * drows; j++) {
        duf[j] = (float)(t_rand_normal(&s) + (j % 5 == 0 ? 0.5 : 0));
        dud[j] = j % 3 == 0 ? (double)duf[j] : t_rand_normal(&s) * 3.0;
    }
    double *m0 = malloc((size_t)(r.np + drows) * sizeof(double)), *m1 = malloc((size_t)(r.np + drows) * sizeof(double));
    double *b0 = malloc((size_t)(r.np + drows) * sizeof(double)), *b1 = malloc((size_t)(r.np + drows) * sizeof(double));
    double *s0 = malloc((size_t)(r.ns + dn * drows) * sizeof(double));
    double *s1 = malloc((size_t)(r.ns + dn * drows) * sizeof(double));
    int cases = 0;
    const int n_layouts = 3 + N_DENSE;
    for (int layout = 0; layout < n_layouts; layout++) {   // CSR f64, CSR f32, CSR f64 + logw, dense
        srs_batch_t b = {0};
        if (layout >= 3) {
            const int k = layout - 3, w = dense_n[k];
            // 203 rows (25 groups and 3 rows) at n <= 64; 40 long rows at 1024
            b = t_dense(dense_t[k] == SRS_F32 ? (const void *)duf : (const void *)dud, dense_t[k],
                        w > 64 ? 40 : drows, w);
        } else {
            b.n_prompts = r.np;
            b.offsets = r.off;
            b.reward = layout == 1 ? (srs_vec_t){r.uf, SRS_F32} : (srs_vec_t){r.ud, SRS_F64};
            if (layout == 2) b.logw = (srs_vec_t){r.lw, SRS_F64};
        }
        int64_t np = b.n_prompts, ns = srs_batch_n_samples(&b);
        for (int pr = 0; pr < 3; pr++)
            for (int sv = 0; sv < 3; sv++) {
                srs_threshold_opts_t o = srs_threshold_opts_default();
                o.preset = (srs_preset_t)pr;
                o.solver = (srs_solver_t)sv;
                o.B = pr == 0 ? 2.0 : 15.0;
                o.beta = 0.667;
                o.tol = 1e-10;
                srs_shape_opts_t so = srs_shape_opts_default();
                so.alpha = 1.5;
                for (int li = 0; li < n; li++) {
                    srs_ctx_t *c = ctx_at(names[li]);
                    CHECK(c, "no context at level %s", names[li]);
                    if (!c) break;
                    double *m = li ? m1 : m0, *be = li ? b1 : b0, *sh = li ? s1 : s0;
                    srs_status_t st = srs_shape(c, &b, &o, &so, m, be, sh, SRS_F64);
                    CHECK(st == SRS_OK, "level %s: %s", names[li], srs_ctx_last_error(c));
                    srs_ctx_free(c);
                    if (li == 0 || st != SRS_OK) continue;
                    // every level to the bit; bitwise = 0 would accept 1e-12 of
                    // the row's range (a level with code of its own)
                    int bitwise = 1;
                    int64_t bad = -1;
                    for (int64_t i = 0; i < np && bad < 0; i++) {
                        int64_t st0, len;
                        srs_batch_row(&b, i, &st0, &len);
                        double lo = INFINITY, hi = -INFINITY;
                        for (int64_t j = 0; j < len; j++) {
                            double x = b.reward.dtype == SRS_F32 ? ((const float *)b.reward.data)[st0 + j]
                                                                 : ((const double *)b.reward.data)[st0 + j];
                            lo = x < lo ? x : lo;
                            hi = x > hi ? x : hi;
                        }
                        double tol = 1e-12 * (hi - lo > 1 ? hi - lo : 1);
                        int same = bitwise ? !memcmp(&m0[i], &m1[i], sizeof(double)) && !memcmp(&b0[i], &b1[i], sizeof(double))
                                           : fabs(m0[i] - m1[i]) <= tol && b0[i] == b1[i];
                        if (!same) bad = i;
                    }
                    CHECK(bad < 0, "layout %d preset %d solver %d: level %s vs %s (%s), row %lld: m* %.17g vs %.17g",
                          layout, pr, sv, names[li], names[0], bitwise ? "bitwise" : "1e-12", (long long)bad,
                          bad >= 0 ? m1[bad] : 0, bad >= 0 ? m0[bad] : 0);
                    int64_t badj = -1;
                    for (int64_t j = 0; j < ns && badj < 0; j++)
                        if (bitwise ? memcmp(&s0[j], &s1[j], sizeof(double)) != 0
                                    : !(fabs(s0[j] - s1[j]) <= 1e-10 * (o.B > 1 ? o.B : 1)))
                            badj = j;
                    CHECK(badj < 0, "layout %d preset %d solver %d: level %s vs %s, sample %lld: shaped %.17g vs %.17g",
                          layout, pr, sv, names[li], names[0], (long long)badj, badj >= 0 ? s1[badj] : 0,
                          badj >= 0 ? s0[badj] : 0);
                    cases++;
                }
                BAIL_IF_FAILED();
            }
    }
    CHECK(cases == n_layouts * 9 * (n - 1), "compared %d cases", cases);
    free(duf), free(dud), free(m0), free(m1), free(b0), free(b1), free(s0), free(s1);
    free_rows(&r);
}

TEST(cpu_levels_bit_identical_evaluation) {
    char names[8][16];
    int n = runnable_levels(names, 8);
    if (n < 2) SKIP("this CPU runs only one level (%s)", n ? names[0] : "none");
    rows_t r = make_rows(23);
    srs_eval_arm_t arms[] = {
        {SRS_ARM_BASE, 0, 1, 0},          {SRS_ARM_DESIGN, SRS_DESIGN_RAW, 1, 0},
        {SRS_ARM_DESIGN, SRS_DESIGN_HARD, 1, 0}, {SRS_ARM_DESIGN, SRS_DESIGN_SOFT, 0.5, 0},
        {SRS_ARM_DESIGN, SRS_DESIGN_SOFT, 2, 0}, {SRS_ARM_DESIGN, SRS_DESIGN_MINMAX, 1, 0},
        {SRS_ARM_DESIGN, SRS_DESIGN_MEANSTD, 1, 0}, {SRS_ARM_DESIGN, SRS_DESIGN_CAP, 1, 0},
        {SRS_ARM_DESIGN, SRS_DESIGN_MEANSOFT, 1, 0}, {SRS_ARM_BEST_OF_N, 0, 1, 4},
        {SRS_ARM_BEST_OF_N, 0, 1, 16}};
    double betas[] = {4.0, 1.0, 0.5, 0.25}, far_betas[] = {4.0, 0.1, 0.01, 0.001};
    // weighted 2: log-weights hundreds apart, so that many laws underflow and
    // are redone in the log domain (eval_rows.c's rescue), at every level alike
    double *far = malloc((size_t)r.ns * sizeof *far);
    for (int64_t j = 0; j < r.ns; j++) far[j] = 300 * r.lw[j];
    for (int weighted = 0; weighted < 3; weighted++) {
        srs_batch_t b = {0};
        b.n_prompts = r.np;
        b.offsets = r.off;
        b.reward = (srs_vec_t){r.ud, SRS_F64};
        b.gold = (srs_vec_t){r.uf, SRS_F32};
        if (weighted) b.logw = (srs_vec_t){weighted == 2 ? far : r.lw, SRS_F64};
        srs_eval_opts_t o = srs_eval_opts_default();
        o.arms = arms;
        o.n_arms = (int)(sizeof arms / sizeof arms[0]);
        o.betas = weighted == 2 ? far_betas : betas;
        o.n_betas = 4;
        o.to.preset = SRS_PRESET_PAPER_CD;
        o.to.B = 15;
        o.replicates = 37;
        size_t len = srs_eval_acc_len(&o);
        double *a0 = calloc(len, sizeof(double)), *a1 = calloc(len, sizeof(double));
        for (int li = 0; li < n; li++) {
            srs_ctx_t *c = ctx_at(names[li]);
            CHECK(c, "no context at level %s", names[li]);
            if (!c) break;
            double *a = li ? a1 : a0;
            memset(a, 0, len * sizeof(double));
            srs_status_t st = srs_eval_accumulate(c, &b, &o, a);
            CHECK(st == SRS_OK, "level %s: %s", names[li], srs_ctx_last_error(c));
            srs_ctx_free(c);
            if (li == 0 || st != SRS_OK) continue;
            size_t bad = len, nbad = 0;
            for (size_t k = 0; k < len; k++)
                if (memcmp(&a0[k], &a1[k], sizeof(double))) nbad++, bad = bad == len ? k : bad;
            CHECK(nbad == 0, "weighted %d: level %s vs %s: %zu of %zu sums differ, first [%zu] %.17g vs %.17g",
                  weighted, names[li], names[0], nbad, len, bad, bad < len ? a1[bad] : 0, bad < len ? a0[bad] : 0);
        }
        free(a0);
        free(a1);
        BAIL_IF_FAILED();
    }
    free(far);
    free_rows(&r);
}
