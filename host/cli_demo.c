// cli_demo.c — `srs demo`: the main job on an embedded default.
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cli.h"
#include "progress.h"

static void help_demo(void) {
    printf("Usage: srs demo [--dir DIR] [options]\n"
           "\n"
           "The main job on an embedded default: generates the overopt scenario (20000 prompts x\n"
           "16 samples, seed 1), computes thresholds with the paper's CD setting (paper-cd, B 15,\n"
           "beta 0.667), shapes soft rewards (alpha 1), and prints a summary table: for each\n"
           "reward design, the KL-regularised decoder's mean proxy and gold utility and KL.\n"
           "Files are written to DIR (default ./srs-demo).\n"
           "\n"
           "Options:\n"
           "  --dir DIR       output directory (default srs-demo)\n"
           "  --prompts N     (default 20000)    --samples N  (default 16)   --seed N (default 1)\n"
           "  --B X --beta X --alpha X --preset P --solver S --device D --threads N\n"
           "  -q, --quiet     no progress bar\n"
           "  -h, --help      this help\n");
}

// ----------------------------------------------------------------------------
// demo: gen -> threshold -> shape -> the decoder under each design

typedef struct {
    double proxy, gold, kl;
} follower_t;

// Mean over prompts of the KL-regularised follower q ∝ p exp(s / beta):
// proxy utility sum q u, gold utility sum q g, KL(q || p).
static follower_t follower_means(const srs_batch_t *b, const double *s, double beta) {
    const double *u = b->reward.data, *g = b->gold.data, *lw = b->logw.data;
    double proxy = 0, gold = 0, kl = 0;
#pragma omp parallel for reduction(+ : proxy, gold, kl) schedule(static)
    for (int64_t i = 0; i < b->n_prompts; i++) {
        int64_t a0, n;
        srs_batch_row(b, i, &a0, &n);
        double lmax = -INFINITY, zmax = -INFINITY;
        for (int64_t j = 0; j < n; j++) {
            double l = lw ? lw[a0 + j] : 0.0;
            lmax = fmax(lmax, l);
            zmax = fmax(zmax, l + s[a0 + j] / beta);
        }
        double zp = 0, zq = 0, eu = 0, eg = 0, elog = 0;
        for (int64_t j = 0; j < n; j++) {
            double l = lw ? lw[a0 + j] : 0.0, lq = l + s[a0 + j] / beta;
            double wq = exp(lq - zmax);
            zp += exp(l - lmax);
            zq += wq;
            eu += wq * u[a0 + j];
            eg += wq * g[a0 + j];
            elog += wq * (lq - l);  // log q - log p up to the normalisers
        }
        proxy += eu / zq;
        gold += eg / zq;
        // log(q/p) = (lq - zmax - log zq) - (l - lmax - log zp)
        kl += elog / zq - zmax - log(zq) + lmax + log(zp);
    }
    double np = (double)b->n_prompts;
    return (follower_t){proxy / np, gold / np, kl / np};
}

int srs_cmd_demo(int argc, char **argv) {
    cli_args_t a;
    cli_args_init(&a, "demo");
    a.go.n_prompts = 20000;
    a.go.n_samples = 16;
    a.to.preset = SRS_PRESET_PAPER_CD;
    a.to.B = 15;
    a.to.beta = 0.667;
    int rc = cli_parse(argc, argv, &a, NULL, NULL, NULL);
    if (rc) return rc;
    if (a.help) {
        help_demo();
        return 0;
    }
    if (a.input) return cli_usage_error(a.cmd, "unexpected argument '%s'", a.input);
    const char *dir = a.dir ? a.dir : "srs-demo";
    srs_ctx_t *ctx;
    if ((rc = cli_make_ctx(&a, &ctx))) return rc;
    if (srs_threshold_opts_check(ctx, &a.to) != SRS_OK) {
        rc = cli_usage_error(a.cmd, "%s", srs_ctx_last_error(ctx));
        srs_ctx_free(ctx);
        return rc;
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        cli_msg("cannot create %s: %s", dir, strerror(errno));
        srs_ctx_free(ctx);
        return EXIT_RUNTIME;
    }
    char p_rewards[1024], p_thr[1024], p_shaped[1024];
    snprintf(p_rewards, sizeof p_rewards, "%s/rewards.jsonl", dir);
    snprintf(p_thr, sizeof p_thr, "%s/thresholds.jsonl", dir);
    snprintf(p_shaped, sizeof p_shaped, "%s/shaped.jsonl", dir);

    srs_data_t *gen = NULL, *d = NULL;
    double *m = NULL, *be = NULL, *s = NULL;
    rc = EXIT_RUNTIME;
    printf("srs demo: scenario %s, %lld prompts x %lld samples, seed %llu\n",
           srs_scenario_name(a.go.scenario), (long long)a.go.n_prompts, (long long)a.go.n_samples,
           (unsigned long long)a.go.seed);
    double t0 = srs_now();
    if (srs_gen(ctx, &a.go, &gen) != SRS_OK || srs_data_write(ctx, p_rewards, gen, SRS_FMT_JSONL, SRS_F64) != SRS_OK)
        goto fail;
    double t1 = srs_now();
    if (srs_data_read(ctx, p_rewards, NULL, &d) != SRS_OK) goto fail;
    const srs_batch_t *b = srs_data_batch(d);
    int64_t np = b->n_prompts, ns = srs_batch_n_samples(b);
    m = malloc(sizeof *m * np);
    be = malloc(sizeof *be * np);
    s = malloc(sizeof *s * ns);
    if (!m || !be || !s) {
        cli_msg("out of memory");
        goto done;
    }
    double t2 = srs_now();
    if (srs_thresholds(ctx, b, &a.to, m, be) != SRS_OK) goto fail;
    double t3 = srs_now();
    srs_writer_t *w;
    if (srs_writer_open(ctx, p_thr, SRS_FMT_AUTO, SRS_OUT_THRESHOLDS, d, &w) != SRS_OK) goto fail;
    if (srs_writer_put(w, 0, np, m, be, NULL) != SRS_OK) {
        srs_writer_abort(w);
        goto fail;
    }
    if (srs_writer_commit(w) != SRS_OK) goto fail;
    srs_shape_opts_t so = a.so;
    so.design = SRS_DESIGN_SOFT;
    if (srs_shape(ctx, b, &a.to, &so, m, be, s, SRS_F64) != SRS_OK) goto fail;
    if (srs_writer_open(ctx, p_shaped, SRS_FMT_AUTO, SRS_OUT_SHAPED, d, &w) != SRS_OK) goto fail;
    if (srs_writer_put(w, 0, np, m, be, s) != SRS_OK) {
        srs_writer_abort(w);
        goto fail;
    }
    if (srs_writer_commit(w) != SRS_OK) goto fail;

    double mean_m = 0, mean_be = 0, frac = 0;
    for (int64_t i = 0; i < np; i++) {
        int64_t a0, n, cnt = 0;
        srs_batch_row(b, i, &a0, &n);
        for (int64_t j = a0; j < a0 + n; j++) cnt += ((const double *)b->reward.data)[j] >= m[i];
        mean_m += m[i];
        mean_be += be[i];
        frac += (double)cnt / (double)n;
    }
    printf("  generated in %.3f s; thresholds (%s, %s solver) in %.4f s = %.2fM prompts/s on %d threads\n",
           t1 - t0, srs_preset_name(a.to.preset), srs_solver_name(a.to.solver), t3 - t2,
           (double)np / (t3 - t2) / 1e6, srs_ctx_threads(ctx));
    printf("  mean m* %.4f, mean B_eff %.3f, samples at or above m*: %.1f%%\n", mean_m / np, mean_be / np,
           100 * frac / np);
    printf("  files: %s, %s, %s\n\n", p_rewards, p_thr, p_shaped);
    printf("Decoder q ∝ p·exp(s/β) with β = %g (λ = %.3g), B = %g; means over %lld prompts:\n\n", a.to.beta,
           1 / a.to.beta, a.to.B, (long long)np);
    printf("  %-22s %10s %10s %10s\n", "reward design", "proxy", "gold", "KL(q||p)");
    printf("  %-22s %10s %10s %10s\n", "----------------------", "----------", "----------", "----------");
    static const srs_design_t designs[] = {SRS_DESIGN_RAW, SRS_DESIGN_MINMAX, SRS_DESIGN_MEANSTD,
                                           SRS_DESIGN_MEANSOFT, SRS_DESIGN_HARD, SRS_DESIGN_SOFT};
    // the base policy itself: a constant reward
    for (int64_t j = 0; j < ns; j++) s[j] = 0;
    follower_t f = follower_means(b, s, a.to.beta), raw = f, best = f;
    const char *best_name = "base policy";
    printf("  %-22s %10.4f %10.4f %10.4f\n", "base policy", f.proxy, f.gold, f.kl);
    static char names[8][64];
    for (size_t k = 0; k < sizeof designs / sizeof designs[0]; k++) {
        so.design = designs[k];
        if (srs_shape(ctx, b, &a.to, &so, NULL, NULL, s, SRS_F64) != SRS_OK) goto fail;
        f = follower_means(b, s, a.to.beta);
        char *name = names[k];
        if (designs[k] == SRS_DESIGN_SOFT || designs[k] == SRS_DESIGN_MEANSOFT)
            snprintf(name, sizeof names[k], "%s (alpha %g)", srs_design_name(designs[k]), so.alpha);
        else snprintf(name, sizeof names[k], "%s", srs_design_name(designs[k]));
        printf("  %-22s %10.4f %10.4f %10.4f\n", name, f.proxy, f.gold, f.kl);
        if (designs[k] == SRS_DESIGN_RAW) raw = f;
        if (f.gold > best.gold) {
            best = f;
            best_name = name;
        }
    }
    printf("\nHighest gold utility: %s, %.4f (raw proxy reward: %.4f, %+.1f%%).\n", best_name, best.gold,
           raw.gold, 100 * (best.gold - raw.gold) / fabs(raw.gold));
    rc = 0;
    goto done;
fail:
    cli_msg("%s", srs_ctx_last_error(ctx));
done:
    free(m);
    free(be);
    free(s);
    srs_data_free(gen);
    srs_data_free(d);
    srs_ctx_free(ctx);
    return rc;
}

