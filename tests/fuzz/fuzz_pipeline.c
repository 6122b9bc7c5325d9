/*
 * fuzz_pipeline.c — libFuzzer harness: one input file through the whole
 * library pipeline, read -> thresholds (three solvers) -> shaping (every
 * design) -> evaluation -> write -> read back, with the library's promises
 * checked as properties (a broken one aborts, which libFuzzer reports):
 *   - bad input fails with a message; it never crashes (ASan, UBSan);
 *   - the three solvers agree on accepted data (exact and Dinkelbach to
 *     rounding, bisection to its tolerance), or all reject the same row;
 *   - m* lies in [min u, max u], B_eff and every shaped reward and every
 *     defined evaluation metric are finite;
 *   - data written by srs reads back with the same ids and the same bits.
 * Built once per format (FUZZ_FORMAT = SRS_FMT_JSONL, _CSV, _NPY) by make
 * fuzz (tests/fuzz/run.sh), against a CPU-only, single-threaded libsrs
 * compiled by clang with ASan, UBSan and coverage.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "srs.h"

#ifndef FUZZ_FORMAT
#error "FUZZ_FORMAT: SRS_FMT_JSONL, SRS_FMT_CSV or SRS_FMT_NPY"
#endif

#define FAIL(...)                                                             \
    do {                                                                      \
        fprintf(stderr, "fuzz property broken: " __VA_ARGS__);                \
        fputc('\n', stderr);                                                  \
        abort();                                                              \
    } while (0)

static srs_ctx_t *ctx;
static char in_path[256], out_path[256];

static const char *ext(srs_format_t f) {
    return f == SRS_FMT_JSONL ? "jsonl" : f == SRS_FMT_CSV ? "csv" : "npy";
}

static void setup(void) {
    if (ctx) return;
    if (srs_ctx_create(&ctx, SRS_DEVICE_CPU, 1) != SRS_OK) FAIL("context: %s", srs_last_create_error());
    const char *base = getenv("TMPDIR");
    char dir[200];
    snprintf(dir, sizeof dir, "%s/srs-fuzz-%d", base && *base ? base : "/tmp", (int)getpid());
    mkdir(dir, 0700);
    snprintf(in_path, sizeof in_path, "%s/in.%s", dir, ext(FUZZ_FORMAT));
    snprintf(out_path, sizeof out_path, "%s/out.%s", dir, ext(FUZZ_FORMAT));
}

static int write_file(const char *path, const uint8_t *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(p, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static double at(const srs_vec_t *v, int64_t i) {
    return v->dtype == SRS_F32 ? (double)((const float *)v->data)[i] : ((const double *)v->data)[i];
}

// Thresholds by one solver: status, with m* and B_eff.
static srs_status_t solve(const srs_batch_t *b, srs_threshold_opts_t o, srs_solver_t s, double *m, double *be) {
    o.solver = s;
    return srs_thresholds(ctx, b, &o, m, be);
}

static void check_thresholds(const srs_batch_t *b, srs_threshold_opts_t o, double *m_ex) {
    int64_t n = b->n_prompts;
    double *be = malloc((size_t)n * sizeof *be), *m_dk = malloc((size_t)n * sizeof *m_dk),
           *m_bi = malloc((size_t)n * sizeof *m_bi);
    srs_status_t s_ex = solve(b, o, SRS_SOLVER_EXACT, m_ex, be);
    int64_t r_ex = srs_ctx_error_row(ctx);
    srs_status_t s_dk = solve(b, o, SRS_SOLVER_DINKELBACH, m_dk, NULL);
    int64_t r_dk = srs_ctx_error_row(ctx);
    srs_status_t s_bi = solve(b, o, SRS_SOLVER_BISECT, m_bi, NULL);
    int64_t r_bi = srs_ctx_error_row(ctx);
    if (s_ex != s_dk || s_ex != s_bi) FAIL("solvers disagree on acceptance: %d %d %d", s_ex, s_dk, s_bi);
    if (s_ex != SRS_OK) {
        if (r_ex != r_dk || r_ex != r_bi) FAIL("solvers name different bad rows: %lld %lld %lld",
                                              (long long)r_ex, (long long)r_dk, (long long)r_bi);
        if (!*srs_ctx_last_error(ctx)) FAIL("failure without a message");
        m_ex[0] = NAN;
    } else {
        for (int64_t i = 0; i < n; i++) {
            int64_t st, len;
            srs_batch_row(b, i, &st, &len);
            double lo = INFINITY, hi = -INFINITY;
            for (int64_t j = 0; j < len; j++) {
                double u = at(&b->reward, st + j);
                lo = u < lo ? u : lo;
                hi = u > hi ? u : hi;
            }
            double range = hi - lo, scale = range > 1 ? range : 1;
            if (!(m_ex[i] >= lo && m_ex[i] <= hi)) FAIL("row %lld: m* %.17g outside [%.17g, %.17g]",
                                                       (long long)i, m_ex[i], lo, hi);
            if (!isfinite(be[i])) FAIL("row %lld: B_eff %g", (long long)i, be[i]);
            if (!(fabs(m_dk[i] - m_ex[i]) <= 1e-9 * scale))
                FAIL("row %lld: dinkelbach %.17g, exact %.17g", (long long)i, m_dk[i], m_ex[i]);
            if (!(fabs(m_bi[i] - m_ex[i]) <= 1e-6 * scale))
                FAIL("row %lld: bisect %.17g, exact %.17g", (long long)i, m_bi[i], m_ex[i]);
        }
    }
    free(be);
    free(m_dk);
    free(m_bi);
}

static void check_shaping(const srs_batch_t *b, srs_threshold_opts_t o, const double *m_ex) {
    int64_t n = b->n_prompts, ns = srs_batch_n_samples(b);
    double *m = malloc((size_t)n * sizeof *m), *sh = malloc((size_t)(ns > 0 ? ns : 1) * sizeof *sh);
    for (int d = 0; d < SRS_DESIGN_COUNT_; d++) {
        srs_shape_opts_t so = srs_shape_opts_default();
        so.design = (srs_design_t)d;
        srs_status_t s = srs_shape(ctx, b, &o, &so, m, NULL, sh, SRS_F64);
        if ((s == SRS_OK) != !isnan(m_ex[0])) FAIL("shape (%s) and thresholds disagree on acceptance",
                                                   srs_design_name(so.design));
        if (s != SRS_OK) continue;
        if (memcmp(m, m_ex, (size_t)n * sizeof *m) != 0) FAIL("shape's m* differs from thresholds'");
        for (int64_t j = 0; j < ns; j++)
            if (!isfinite(sh[j])) FAIL("design %s: sample %lld shaped to %g", srs_design_name(so.design),
                                       (long long)j, sh[j]);
    }
    free(m);
    free(sh);
}

static void check_eval(const srs_batch_t *b, srs_threshold_opts_t o) {
    const srs_eval_arm_t arms[] = {{SRS_ARM_BASE, SRS_DESIGN_RAW, 1, 0},
                                   {SRS_ARM_DESIGN, SRS_DESIGN_RAW, 1, 0},
                                   {SRS_ARM_DESIGN, SRS_DESIGN_SOFT, 1, 0},
                                   {SRS_ARM_DESIGN, SRS_DESIGN_MINMAX, 1, 0},
                                   {SRS_ARM_BEST_OF_N, SRS_DESIGN_RAW, 1, 4}};
    const double betas[] = {0.01, 0.5, 4};
    srs_eval_opts_t eo = srs_eval_opts_default();
    eo.arms = arms;
    eo.n_arms = 5;
    eo.betas = betas;
    eo.n_betas = 3;
    eo.to = o;
    eo.replicates = 3;
    srs_eval_result_t r;
    if (srs_eval(ctx, b, &eo, &r) != SRS_OK) return;
    for (int bi = 0; bi < r.n_betas; bi++)
        for (int ai = 0; ai < r.n_arms; ai++)
            for (int mt = 0; mt < SRS_MET_COUNT_; mt++) {
                if (mt == SRS_MET_GOLD && !b->gold.data) continue;
                const srs_est_t *e = srs_eval_cell(&r, bi, ai, (srs_metric_t)mt);
                if (!isfinite(e->mean) || !isfinite(e->lo) || !isfinite(e->hi))
                    FAIL("eval: beta %g arm %d %s = %g [%g, %g]", betas[bi], ai, srs_metric_name((srs_metric_t)mt),
                         e->mean, e->lo, e->hi);
            }
    srs_eval_result_free(&r);
}

// Written data read back: the same rows, ids and bits.
static void check_roundtrip(const srs_data_t *d) {
    const srs_batch_t *b = srs_data_batch(d);
    if (srs_data_write(ctx, out_path, d, FUZZ_FORMAT, b->reward.dtype) != SRS_OK) {
        // NPY holds equal rows only; the other formats hold any data read
        if (FUZZ_FORMAT != SRS_FMT_NPY) FAIL("write of accepted data failed: %s", srs_ctx_last_error(ctx));
        return;
    }
    srs_read_opts_t ro = {FUZZ_FORMAT, NULL, NULL};
    srs_data_t *e = NULL;
    if (srs_data_read(ctx, out_path, &ro, &e) != SRS_OK)
        FAIL("srs cannot read what it wrote: %s", srs_ctx_last_error(ctx));
    const srs_batch_t *c = srs_data_batch(e);
    if (c->n_prompts != b->n_prompts || srs_batch_n_samples(c) != srs_batch_n_samples(b))
        FAIL("read back %lld rows / %lld samples, wrote %lld / %lld", (long long)c->n_prompts,
             (long long)srs_batch_n_samples(c), (long long)b->n_prompts, (long long)srs_batch_n_samples(b));
    for (int64_t i = 0; i < b->n_prompts; i++) {
        int nb, nc;
        const char *ib = srs_data_id(d, i, &nb), *ic = srs_data_id(e, i, &nc);
        if (FUZZ_FORMAT != SRS_FMT_NPY && strcmp(ib, ic) != 0) FAIL("row %lld: id '%s' read back as '%s'",
                                                                    (long long)i, ib, ic);
        int64_t sb, lb, sc, lc;
        srs_batch_row(b, i, &sb, &lb);
        srs_batch_row(c, i, &sc, &lc);
        if (lb != lc) FAIL("row %lld: %lld samples read back as %lld", (long long)i, (long long)lb, (long long)lc);
        for (int64_t j = 0; j < lb; j++) {
            double x = at(&b->reward, sb + j), y = at(&c->reward, sc + j);
            if (memcmp(&x, &y, sizeof x) != 0) FAIL("row %lld sample %lld: %.17g read back as %.17g",
                                                   (long long)i, (long long)j, x, y);
        }
    }
    srs_data_free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    setup();
    if (write_file(in_path, data, size) != 0) FAIL("cannot write %s", in_path);
    srs_read_opts_t ro = {FUZZ_FORMAT, NULL, NULL};
    srs_data_t *d = NULL;
    if (srs_data_read(ctx, in_path, &ro, &d) != SRS_OK) {
        const char *msg = srs_ctx_last_error(ctx);
        if (!*msg) FAIL("read failed without a message");
        if (!strstr(msg, in_path)) FAIL("read failure does not name the file: %s", msg);
        return 0;
    }
    const srs_batch_t *b = srs_data_batch(d);
    if (b->n_prompts > 0 && srs_batch_n_samples(b) <= (1 << 16)) {
        // options from the input's size: every preset and a spread of B and beta
        srs_threshold_opts_t o = srs_threshold_opts_default();
        o.preset = (srs_preset_t)(size % 3);
        o.B = (double[]){1, 15, 1e-3, 300}[size / 3 % 4];
        o.beta = (double[]){1, 0.667, 0.05, 20}[size / 12 % 4];
        double *m_ex = malloc((size_t)b->n_prompts * sizeof *m_ex);
        check_thresholds(b, o, m_ex);
        check_shaping(b, o, m_ex);
        if (!isnan(m_ex[0])) check_eval(b, o);
        free(m_ex);
        check_roundtrip(d);
    }
    srs_data_free(d);
    return 0;
}
