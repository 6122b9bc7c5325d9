// cli_gen.c — `srs gen`: synthetic scenarios to a file.
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cli.h"
#include "progress.h"

static void help_gen(void) {
    printf("Usage: srs gen -o OUTPUT [options]\n"
           "\n"
           "Generates a synthetic data set (rewards, gold, optional logw), deterministic by seed\n"
           "(Philox4x32-10 keyed by the seed, counter = prompt, sample, stream).\n"
           "\n"
           "Scenarios:\n"
           "  overopt   (default) rare high-utility outputs and a proxy with exploitable errors:\n"
           "            difficulty c ~ N(0,1); honest samples (95%%): gold = c + q, proxy = gold + 0.5 z;\n"
           "            hacks (5%%): gold = c - 1 + 0.5 q, proxy = c + 2 + 0.5 |z|   (q, z ~ N(0,1))\n"
           "  gauss     u = mu + z, mu ~ N(0,1) per prompt; gold = u\n"
           "  twopoint  the paper's motivating example: utilities 1 and 2, base 0.9 / 0.1\n"
           "\n"
           "Options:\n"
           "  -o, --output F  output file (.jsonl, .csv, .npy)\n"
           "  --scenario S    overopt | gauss | twopoint\n"
           "  --prompts N     number of prompts (default 1000)\n"
           "  --samples N     samples per prompt (default 16; the maximum with --ragged;\n"
           "                  not with twopoint, which has two)\n"
           "  --ragged        row lengths uniform in [1, samples] (not with twopoint)\n"
           "  --with-logw     random base log-weights (N(0,1)) instead of uniform (twopoint\n"
           "                  always has its own, 0.9 / 0.1)\n"
           "  --seed N        seed (default 1; not with twopoint, which draws nothing)\n"
           "  --out-format F  jsonl | csv | npy (default: by extension of -o)\n"
           "  --dtype T       NPY dtype f32 | f64 (default f64; NPY output only)\n"
           "  --device D      auto | cpu | cuda: cuda generates the samples on the GPU (same\n"
           "                  Philox counters and model code as the CPU, for data sets at scale;\n"
           "                  equal to the CPU's up to the last bit of log/sin/cos)\n"
           "  --threads N     CPU threads\n"
           "  -h, --help      this help\n");
}

int srs_cmd_gen(int argc, char **argv) {
    cli_args_t a;
    cli_args_init(&a, "gen");
    uint64_t allowed = cli_bit('o') | cli_bit(CLI_OPT_OUTFMT) | cli_bit(CLI_OPT_SCENARIO) | cli_bit(CLI_OPT_PROMPTS) |
                       cli_bit(CLI_OPT_SAMPLES) | cli_bit(CLI_OPT_RAGGED) | cli_bit(CLI_OPT_WLOGW) |
                       cli_bit(CLI_OPT_SEED) | cli_bit(CLI_OPT_DTYPE) | cli_bit(CLI_OPT_DEVICE) |
                       cli_bit(CLI_OPT_THREADS);
    int rc = cli_parse(argc, argv, &a, allowed, NULL, NULL, NULL);
    if (rc) return rc;
    if (a.help) {
        help_gen();
        return 0;
    }
    if (a.input) return cli_usage_error(a.cmd, "unexpected argument '%s' (write the output with -o)", a.input);
    if (!a.output) return cli_usage_error(a.cmd, "missing -o OUTPUT");
    if ((rc = cli_check_gen_use(&a)) || (rc = cli_check_out_format(&a, a.output))) return rc;
    srs_format_t fmt = a.out_fmt != SRS_FMT_AUTO ? a.out_fmt
                       : strcmp(a.output, "-") ? srs_format_from_path(a.output) : SRS_FMT_JSONL;
    if (cli_given(&a, CLI_OPT_DTYPE) && fmt != SRS_FMT_NPY)
        return cli_usage_error(a.cmd, "--dtype applies to NPY output only (%s is %s)", a.output,
                               fmt == SRS_FMT_CSV ? "CSV" : "JSONL");
    srs_ctx_t *ctx;
    if ((rc = cli_make_ctx(&a, &ctx))) return rc;
    srs_data_t *d = NULL;
    rc = EXIT_RUNTIME;
    if (srs_gen(ctx, &a.go, &d) != SRS_OK || srs_data_write(ctx, a.output, d, a.out_fmt, a.dtype) != SRS_OK)
        cli_msg("%s", srs_ctx_last_error(ctx));
    else rc = 0;
    srs_data_free(d);
    srs_ctx_free(ctx);
    return rc;
}

