// cli_threshold.c — `srs threshold` and `srs shape`: read, solve in chunks of
// prompts, write through the streaming writer (nothing left on failure).
// Under mpirun/srun every rank does this for its contiguous range of prompts
// and host/cli/mpi.c merges the ranks' rows into the one output file.
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cli.h"
#include "data.h"
#include "progress.h"
#include "srs_mpi.h"

// Samples per chunk: the progress bar moves and the shaped buffer stays small.
#define CHUNK_SAMPLES (1 << 22)

static void help_threshold(void) {
    printf("Usage: srs threshold INPUT [-o OUTPUT] [options]\n"
           "\n"
           "Computes, for every prompt, the Stackelberg threshold m*(x): the root of\n"
           "F(m) = sum_i p_i w_i(m) (u_i - m), w_i = gamma if u_i >= m else 1, over the\n"
           "prompt's base-policy samples u_i (p = softmax(logw), uniform without logw).\n"
           "Output per prompt: prompt_id, m_star, B_eff.\n"
           "\n"
           "Example:\n"
           "  srs threshold rewards.jsonl --preset paper-cd --B 15 --beta 0.667 -o thresholds.jsonl\n"
           "\n%s\n%s\n%s", cli_help_threshold_opts, cli_help_io_opts, cli_help_run_opts);
}

static void help_shape(void) {
    printf("Usage: srs shape INPUT [-o OUTPUT] [--design D] [--alpha A] [options]\n"
           "\n"
           "Shaped rewards for every sample, from the prompt's threshold m*(x).\n"
           "Output per prompt: prompt_id, m_star, B_eff, shaped (one value per sample).\n"
           "\n"
           "Shaping options:\n"
           "  --design D      soft (default) | hard | raw | minmax | meanstd | cap | meansoft\n"
           "                    hard:     B_eff 1[u >= m*]\n"
           "                    soft:     B_eff sigmoid(alpha (u - m*))   (SRS)\n"
           "                    raw:      u\n"
           "                    minmax:   min(B, 1.01 range) (u - min) / range\n"
           "                    meanstd:  (u - mean) / std\n"
           "                    cap:      clip(u - min, 0, clip)\n"
           "                    meansoft: B_eff sigmoid(alpha (u - mean))\n"
           "  --alpha X       soft/meansoft only: sigmoid sharpness, > 0 (default 1)\n"
           "  --clip X        cap only: the clip value (default: B)\n"
           "\n"
           "Example:\n"
           "  srs shape rewards.jsonl --design soft --alpha 1.0 --preset paper-cd --B 15 --beta 0.667 \\\n"
           "      -o shaped.jsonl\n"
           "\n%s\n%s\n%s", cli_help_threshold_opts, cli_help_io_opts, cli_help_run_opts);
}

// What the parser cannot see: options the chosen preset, solver or design
// would ignore, an output format that cannot be told, an output that would
// replace an input. 0 or a usage error (message printed).
static int check_options(const cli_args_t *a, int shaping) {
    int rc;
    if ((rc = cli_check_threshold_use(a, &a->to, 0))) return rc;
    srs_design_t dz = a->so.design;
    if (shaping && cli_given(a, CLI_OPT_ALPHA) && dz != SRS_DESIGN_SOFT && dz != SRS_DESIGN_MEANSOFT)
        return cli_usage_error(a->cmd, "--alpha applies to the soft and meansoft designs only (the design is %s)",
                               srs_design_name(dz));
    if (shaping && cli_given(a, CLI_OPT_CLIP) && dz != SRS_DESIGN_CAP)
        return cli_usage_error(a->cmd, "--clip applies to the cap design only (the design is %s)",
                               srs_design_name(dz));
    srs_format_t in_fmt = a->in_fmt != SRS_FMT_AUTO ? a->in_fmt
                          : strcmp(a->input, "-") ? srs_format_from_path(a->input) : SRS_FMT_JSONL;
    if (a->logw && in_fmt != SRS_FMT_NPY && in_fmt != SRS_FMT_AUTO)
        return cli_usage_error(a->cmd, "--logw names a companion of NPY input; %s input carries logw in the file",
                               in_fmt == SRS_FMT_CSV ? "CSV" : "JSONL");
    if ((rc = cli_check_out_format(a, a->output))) return rc;
    // inputs: the file and the companions the NPY reader loads; outputs: -o and
    // the thresholds companion of shaped NPY
    char *in_logw = NULL, *in_gold = NULL, *out_thr = NULL;
    if (in_fmt == SRS_FMT_NPY && strcmp(a->input, "-")) {
        in_logw = srs_npy_companion(a->input, ".logw.npy");
        in_gold = srs_npy_companion(a->input, ".gold.npy");
    }
    srs_format_t out_fmt = a->out_fmt;
    if (out_fmt == SRS_FMT_AUTO && a->output) out_fmt = srs_format_from_path(a->output);
    if (shaping && out_fmt == SRS_FMT_NPY && a->output && strcmp(a->output, "-"))
        out_thr = srs_npy_companion(a->output, ".thresholds.npy");
    const char *ins[4] = {a->input, a->logw, in_logw, in_gold}, *outs[2] = {a->output, out_thr};
    rc = cli_check_distinct(a->cmd, ins, 4, outs, 2);
    free(in_logw);
    free(in_gold);
    free(out_thr);
    return rc;
}

static int run_threshold_or_shape(int argc, char **argv, int shaping) {
    cli_args_t a;
    cli_args_init(&a, shaping ? "shape" : "threshold");
    uint64_t allowed = CLI_THRESHOLD_OPTS | cli_bit('o') | cli_bit(CLI_OPT_FORMAT) | cli_bit(CLI_OPT_OUTFMT) |
                       cli_bit(CLI_OPT_LOGW) | cli_bit(CLI_OPT_DEVICE) | cli_bit(CLI_OPT_THREADS);
    if (shaping) allowed |= cli_bit(CLI_OPT_DESIGN) | cli_bit(CLI_OPT_ALPHA) | cli_bit(CLI_OPT_CLIP);
    int rc = cli_parse(argc, argv, &a, allowed, NULL, NULL, NULL);
    if (rc) return rc;
    if (a.help) {
        shaping ? help_shape() : help_threshold();
        return 0;
    }
    if (!a.input) return cli_usage_error(a.cmd, "missing INPUT file");
    if ((rc = check_options(&a, shaping))) return rc;
    if ((rc = srs_mpi_start(a.cmd))) return rc;
    // From here every rank reaches every srs_mpi_* call: a local failure
    // travels in rc to the next agreement instead of returning early.
    srs_ctx_t *ctx = NULL;
    rc = cli_make_ctx(&a, &ctx);
    if (rc == 0 && srs_threshold_opts_check(ctx, &a.to) != SRS_OK)
        rc = cli_usage_error(a.cmd, "%s", srs_ctx_last_error(ctx));
    if (rc == 0 && shaping && !(a.so.alpha > 0 && isfinite(a.so.alpha)))
        rc = cli_usage_error(a.cmd, "--alpha must be finite and > 0, got %g", a.so.alpha);
    if ((rc = srs_mpi_agree(rc))) {
        srs_ctx_free(ctx);
        return srs_mpi_stop(rc);
    }

    srs_read_opts_t ro = {a.in_fmt, a.gold, a.logw};
    srs_data_t *d = NULL;
    srs_mpi_out_t *w = NULL;
    double *m = NULL, *be = NULL, *sh = NULL;
    if ((rc = srs_mpi_read(ctx, a.input, &ro, &d))) goto done;
    const char *out = a.output ? a.output : "-";
    if ((rc = srs_mpi_out_open(ctx, out, a.out_fmt, shaping ? SRS_OUT_SHAPED : SRS_OUT_THRESHOLDS, d, &w)))
        goto done;
    rc = EXIT_RUNTIME;
    const srs_batch_t *b = srs_data_batch(d);
    int64_t np = b->n_prompts, ns = srs_batch_n_samples(b);
    int64_t per_chunk = ns > 0 ? (int64_t)((double)CHUNK_SAMPLES * (double)np / (double)ns) : np;
    if (per_chunk < 1) per_chunk = 1;
    if (per_chunk > np) per_chunk = np;
    m = malloc(sizeof *m * (size_t)(per_chunk > 0 ? per_chunk : 1));
    be = malloc(sizeof *be * (size_t)(per_chunk > 0 ? per_chunk : 1));
    if (!m || !be) {
        cli_msg("out of memory");
        goto finish;
    }
    srs_progress_t pg;
    srs_progress_start(&pg, a.cmd, "prompts", np, !a.quiet && srs_mpi_rank() == 0);
    for (int64_t i0 = 0; i0 < np; i0 += per_chunk) {
        int64_t n = i0 + per_chunk <= np ? per_chunk : np - i0;
        srs_batch_t s = cli_sub_batch(b, i0, n);
        srs_status_t st;
        if (shaping) {
            int64_t chunk_ns = srs_batch_n_samples(&s);
            double *tmp = realloc(sh, sizeof *sh * (size_t)(chunk_ns > 0 ? chunk_ns : 1));
            if (!tmp) {
                cli_msg("out of memory");
                goto finish;
            }
            sh = tmp;
            st = srs_shape(ctx, &s, &a.to, &a.so, m, be, sh, SRS_F64);
        } else {
            st = srs_thresholds(ctx, &s, &a.to, m, be);
        }
        if (st != SRS_OK) {
            if (pg.on) fputc('\n', stderr);
            cli_report_row_error(ctx, d);
            goto finish;
        }
        if (srs_mpi_out_put(w, i0, n, m, be, shaping ? sh : NULL) != SRS_OK) {
            cli_msg("%s", srs_ctx_last_error(ctx));
            goto finish;
        }
        srs_progress_update(&pg, i0 + n);
    }
    srs_progress_end(&pg, np);
    rc = 0;
finish:
    // Collective: the file appears only when every rank got here with rc 0.
    rc = srs_mpi_out_finish(w, rc);
done:
    free(m);
    free(be);
    free(sh);
    srs_data_free(d);
    srs_ctx_free(ctx);
    return srs_mpi_stop(rc);
}

int srs_cmd_threshold(int argc, char **argv) { return run_threshold_or_shape(argc, argv, 0); }
int srs_cmd_shape(int argc, char **argv) { return run_threshold_or_shape(argc, argv, 1); }
