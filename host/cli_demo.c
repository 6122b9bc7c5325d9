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
           "  --device D --threads N\n"
           "  -q, --quiet     no progress bar\n"
           "  -h, --help      this help\n");
}

int srs_cmd_demo(int argc, char **argv) {
    cli_args_t a;
    cli_args_init(&a, "demo");
    a.go.n_prompts = 20000;
    a.go.n_samples = 16;
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

    srs_eval_cfg_t cfg;
    srs_eval_cfg_default(&cfg);
    snprintf(cfg.name, sizeof cfg.name, "demo");
    snprintf(cfg.out, sizeof cfg.out, "%s", dir);
    printf("srs demo: scenario %s, %lld prompts x %lld samples, seed %llu\n",
           srs_scenario_name(a.go.scenario), (long long)a.go.n_prompts, (long long)a.go.n_samples,
           (unsigned long long)a.go.seed);
    printf("  (the same data: srs gen --scenario %s --prompts %lld --samples %lld --seed %llu -o data.jsonl)\n\n",
           srs_scenario_name(a.go.scenario), (long long)a.go.n_prompts, (long long)a.go.n_samples,
           (unsigned long long)a.go.seed);
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
               "  srs eval YOUR.jsonl --config configs/default.ini\n",
               t1 - t0, srs_now() - t0);
    srs_data_free(d);
    srs_ctx_free(ctx);
    return rc;
}
