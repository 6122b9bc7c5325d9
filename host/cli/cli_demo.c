// cli_demo.c — `srs demo`: generate the embedded scenario, evaluate it with
// the default configuration (configs/default.ini, embedded), print the table
// and render the plot.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "cli_eval.h"
#include "progress.h"

static void help_demo(void) {
    printf("Usage: srs demo [--dir DIR] [options]\n"
           "\n"
           "The main job on an embedded default: generates the overopt scenario (20000 prompts x\n"
           "16 samples, seed 1: a proxy reward that overrates 5%% reward-hacking samples, gold\n"
           "utility beside it), then evaluates it exactly as\n"
           "    srs eval data.jsonl --config configs/default.ini --out DIR\n"
           "would: reward designs (base, raw, hard, soft, minmax, meanstd, cap, meansoft; paper-cd,\n"
           "B 15, alpha 1) and best-of-n (n = 2, 4, 8, 16) under followers q ∝ p·exp(s/β) for\n"
           "1/β = 0.25 .. 4, with bootstrap intervals. Prints the table; writes metrics.csv,\n"
           "metrics.json, config.ini and eval.png into DIR (default ./srs-demo).\n"
           "\n"
           "Options:\n"
           "  --dir DIR       results directory (default srs-demo)\n"
           "  --scenario S    overopt (default) | gauss | twopoint\n"
           "  --prompts N     (default 20000)    --samples N  (default 16)   --seed N (default 1)\n"
           "  --ragged --with-logw   as for srs gen\n"
           "  --preset P --B X --cap X --solver S --tol X --max-iter N   the threshold, as for\n"
           "                  srs eval (default paper-cd, B 15, cap 2, exact)\n"
           "  --beta X        one follower strength instead of the sweep 1/β = 0.25 .. 4\n"
           "  --alpha X       the soft and meansoft sharpness (default 1)\n"
           "  --clip X        the cap design's clip (default B)\n"
           "  --device D --threads N\n"
           "  -q, --quiet     no progress bar\n"
           "  -h, --help      this help\n");
}

int srs_cmd_demo(int argc, char **argv) {
    cli_args_t a;
    cli_args_init(&a, "demo");
    a.go.n_prompts = 20000;
    a.go.n_samples = 16;
    uint64_t allowed = cli_bit(CLI_OPT_DIR) | cli_bit(CLI_OPT_SCENARIO) | cli_bit(CLI_OPT_PROMPTS) |
                       cli_bit(CLI_OPT_SAMPLES) | cli_bit(CLI_OPT_RAGGED) | cli_bit(CLI_OPT_WLOGW) |
                       cli_bit(CLI_OPT_SEED) | cli_bit(CLI_OPT_DEVICE) | cli_bit(CLI_OPT_THREADS) |
                       CLI_THRESHOLD_OPTS | cli_bit(CLI_OPT_ALPHA) | cli_bit(CLI_OPT_CLIP);
    int rc = cli_parse(argc, argv, &a, allowed, NULL, NULL, NULL);
    if (rc) return rc;
    if (a.help) {
        help_demo();
        return 0;
    }
    if (a.input) return cli_usage_error(a.cmd, "unexpected argument '%s'", a.input);
    const char *dir = a.dir ? a.dir : "srs-demo";

    // the embedded configuration, with the threshold and design options given
    srs_eval_cfg_t cfg;
    srs_eval_cfg_default(&cfg);
    snprintf(cfg.name, sizeof cfg.name, "demo");
    snprintf(cfg.out, sizeof cfg.out, "%s", dir);
    char opts[512] = "";  // the same options for srs eval, echoed at the end
    size_t ol = 0;
#define ECHO(...) (ol += (size_t)snprintf(opts + ol, ol < sizeof opts ? sizeof opts - ol : 0, __VA_ARGS__))
    if (cli_given(&a, CLI_OPT_PRESET)) ECHO(" --preset %s", srs_preset_name(cfg.to.preset = a.to.preset));
    if (cli_given(&a, CLI_OPT_SOLVER)) ECHO(" --solver %s", srs_solver_name(cfg.to.solver = a.to.solver));
    if (cli_given(&a, CLI_OPT_B)) ECHO(" --B %.17g", cfg.to.B = a.to.B);
    if (cli_given(&a, CLI_OPT_CAP)) ECHO(" --cap %.17g", cfg.to.cap = a.to.cap);
    if (cli_given(&a, CLI_OPT_TOL)) ECHO(" --tol %.17g", cfg.to.tol = a.to.tol);
    if (cli_given(&a, CLI_OPT_MAXIT)) ECHO(" --max-iter %d", cfg.to.max_iter = a.to.max_iter);
    if (cli_given(&a, CLI_OPT_BETA)) {
        cfg.betas[0] = a.to.beta;
        cfg.n_betas = 1;
        cfg.by_lambda = 0;
        memset(cfg.lambdas, 0, sizeof cfg.lambdas);
        ECHO(" --beta %.17g", a.to.beta);
    }
    if (cli_given(&a, CLI_OPT_ALPHA)) {
        cfg.alphas[0] = a.so.alpha;
        cfg.n_alphas = 1;
        ECHO(" --alpha %.17g", a.so.alpha);
    }
    if (cli_given(&a, CLI_OPT_CLIP)) ECHO(" --clip %.17g", cfg.clip = a.so.clip);
#undef ECHO
    if ((rc = cli_check_threshold_use(&a, &cfg.to, 0)) || (rc = cli_check_gen_use(&a))) return rc;
    srs_ctx_t *ctx;
    if ((rc = cli_make_ctx(&a, &ctx))) return rc;

    printf("srs demo: scenario %s, %lld prompts x %lld samples, seed %llu\n",
           srs_scenario_name(a.go.scenario), (long long)a.go.n_prompts, (long long)a.go.n_samples,
           (unsigned long long)a.go.seed);
    printf("  (the same data: srs gen --scenario %s --prompts %lld --samples %lld --seed %llu%s%s -o data.jsonl)\n\n",
           srs_scenario_name(a.go.scenario), (long long)a.go.n_prompts, (long long)a.go.n_samples,
           (unsigned long long)a.go.seed, a.go.ragged ? " --ragged" : "", a.go.with_logw ? " --with-logw" : "");
    srs_data_t *d = NULL;
    double t0 = srs_now();
    if (srs_gen(ctx, &a.go, &d) != SRS_OK) {
        cli_msg("%s", srs_ctx_last_error(ctx));
        srs_ctx_free(ctx);
        return EXIT_RUNTIME;
    }
    double t1 = srs_now();
    rc = cli_eval_run(ctx, &cfg, d, dir, a.quiet);
    if (rc == 0)
        printf("\ndemo: generated in %.3f s, total %.3f s. Re-run on your data with\n"
               "  srs eval YOUR.jsonl --config configs/default.ini%s\n",
               t1 - t0, srs_now() - t0, opts);
    srs_data_free(d);
    srs_ctx_free(ctx);
    return rc;
}
