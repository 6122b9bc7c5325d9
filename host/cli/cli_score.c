// cli_score.c — `srs score`: rewards of base-policy samples from cached final
// hidden states and a linear reward head, optionally fed straight into the
// threshold step (no round trip through a file).
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cli.h"
#include "internal.h"
#include "score.h"
#include "srs_mpi.h"

enum { OPT_HIDDEN = CLI_OPT_USER, OPT_HEAD, OPT_BIAS, OPT_ROWLEN, OPT_HEADIX, OPT_THEN };

typedef struct {
    const char *hidden, *head, *bias, *then;
    long long row_len, head_ix;
    int head_ix_given;
} score_opts_t;

static void help_score(void) {
    printf("Usage: srs score --hidden H.npy --head W.npy [--bias b.npy] [--row-len N] [-o REWARDS]\n"
           "                 [--then-threshold OUT [threshold options]]\n"
           "\n"
           "Rewards r = H W + b of base-policy samples, the way sequence-classification reward\n"
           "models score the last token: H holds the cached final hidden state of each sample,\n"
           "W is the linear head. One GEMM: OpenBLAS on the CPU, cuBLAS (GemmEx, float32\n"
           "accumulation, tensor cores for halves) with --device cuda.\n"
           "\n"
           "Inputs (NPY, C order):\n"
           "  --hidden H.npy  [samples, d] float32, float16 or bfloat16 ('bfloat16' or '<V2')\n"
           "  --head W.npy    [d] or [d, heads] float32/float64\n"
           "  --bias b.npy    [heads] (optional)\n"
           "\n"
           "Outputs:\n"
           "  --row-len N     samples per prompt: sample i belongs to prompt i / N (rows must be\n"
           "                  contiguous and equal); needed for the threshold step\n"
           "  --head-index K  which head feeds the threshold step and the prompt-shaped output\n"
           "                  (default 0)\n"
           "  -o F            rewards: with --row-len, [prompts, N] of head K, the layout\n"
           "                  `srs threshold F` reads; without it [samples, heads]\n"
           "                  (.npy, .jsonl or .csv by extension)\n"
           "  --then-threshold OUT  compute m*(x) and B_eff from the rewards in memory and write\n"
           "                  them to OUT, as `srs threshold` would (needs --row-len)\n"
           "\n"
           "Example:\n"
           "  srs score --hidden h.npy --head w.npy --row-len 16 -o rewards.npy \\\n"
           "      --then-threshold thresholds.jsonl --preset paper-cd --B 15 --beta 0.667\n"
           "  --out-format F  the format of -o (default: by its extension)\n"
           "\n"
           "Threshold options (with --then-threshold only):\n%s\n%s",
           strchr(cli_help_threshold_opts, '\n') + 1, cli_help_run_opts);
}

static int score_opt(int c, const char *arg, void *user) {
    score_opts_t *s = user;
    switch (c) {
    case OPT_HIDDEN: s->hidden = arg; return 0;
    case OPT_HEAD: s->head = arg; return 0;
    case OPT_BIAS: s->bias = arg; return 0;
    case OPT_THEN: s->then = arg; return 0;
    case OPT_ROWLEN: return cli_parse_int("score", "row-len", arg, 1, 1LL << 40, &s->row_len);
    case OPT_HEADIX:
        s->head_ix_given = 1;
        return cli_parse_int("score", "head-index", arg, 0, 1LL << 30, &s->head_ix);
    }
    return cli_usage_error("score", "unknown option");
}

// float32 copy of a head or bias matrix.
static float *as_float(const srs_npy_mat_t *m) {
    int64_t n = m->rows * m->cols;
    float *f = malloc(sizeof(float) * (size_t)n);
    if (!f) return NULL;
    for (int64_t i = 0; i < n; i++) {
        switch (m->kind) {
        case SRS_NPY_F64: f[i] = (float)((const double *)m->data)[i]; break;
        case SRS_NPY_F16: f[i] = srs_half_to_float(((const uint16_t *)m->data)[i]); break;
        case SRS_NPY_BF16: f[i] = srs_bf16_to_float(((const uint16_t *)m->data)[i]); break;
        default: f[i] = ((const float *)m->data)[i]; break;
        }
    }
    return f;
}

int srs_cmd_score(int argc, char **argv) {
    static const struct option extra[] = {
        {"hidden", required_argument, 0, OPT_HIDDEN}, {"head", required_argument, 0, OPT_HEAD},
        {"bias", required_argument, 0, OPT_BIAS},     {"row-len", required_argument, 0, OPT_ROWLEN},
        {"head-index", required_argument, 0, OPT_HEADIX}, {"then-threshold", required_argument, 0, OPT_THEN},
        {0, 0, 0, 0},
    };
    score_opts_t so = {NULL, NULL, NULL, NULL, 0, 0, 0};
    cli_args_t a;
    cli_args_init(&a, "score");
    uint64_t allowed = cli_bit('o') | cli_bit(CLI_OPT_OUTFMT) | cli_bit(CLI_OPT_DEVICE) | cli_bit(CLI_OPT_THREADS) |
                       CLI_THRESHOLD_OPTS;
    int rc = cli_parse(argc, argv, &a, allowed, extra, score_opt, &so);
    if (rc) return rc;
    if (a.help) {
        help_score();
        return 0;
    }
    if (a.input) return cli_usage_error("score", "unexpected argument '%s' (the inputs are --hidden and --head)",
                                        a.input);
    if (!so.hidden || !so.head) return cli_usage_error("score", "need --hidden and --head");
    if (!a.output && !so.then) return cli_usage_error("score", "need -o REWARDS and/or --then-threshold OUT");
    if (so.then && !so.row_len) return cli_usage_error("score", "--then-threshold needs --row-len");
    if (!so.then && (a.given & CLI_THRESHOLD_OPTS))
        return cli_usage_error("score", "the threshold options apply to --then-threshold only");
    if (so.head_ix_given && !so.row_len)
        return cli_usage_error("score", "--head-index applies with --row-len only (without it -o holds every head)");
    if (cli_given(&a, CLI_OPT_OUTFMT) && !a.output)
        return cli_usage_error("score", "--out-format applies to -o (--then-threshold goes by its extension)");
    if ((rc = cli_check_threshold_use(&a, &a.to, 0)) || (rc = cli_check_out_format(&a, a.output))) return rc;
    struct stat sst;  // a FIFO or a device without an extension is JSONL
    if (so.then && strcmp(so.then, "-") && srs_format_from_path(so.then) == SRS_FMT_AUTO &&
        !(stat(so.then, &sst) == 0 && !S_ISREG(sst.st_mode) && !S_ISDIR(sst.st_mode)))
        return cli_usage_error("score", "cannot tell the format of %s from its extension (.jsonl, .csv or .npy)",
                               so.then);
    const char *ins[3] = {so.hidden, so.head, so.bias}, *outs[2] = {a.output, so.then};
    if ((rc = cli_check_distinct("score", ins, 3, outs, 2))) return rc;
    if ((rc = srs_mpi_start("score"))) return rc;
    // From here every rank reaches every srs_mpi_* call: a local failure
    // travels in rc to the next agreement (see cli_threshold.c). Under MPI
    // rank r scores a contiguous share of the output rows (prompts with
    // --row-len, else samples), reading only those rows of the hidden states.
    srs_ctx_t *ctx = NULL;
    rc = cli_make_ctx(&a, &ctx);
    if (rc == 0 && so.then && srs_threshold_opts_check(ctx, &a.to) != SRS_OK)
        rc = cli_usage_error("score", "%s", srs_ctx_last_error(ctx));
    if ((rc = srs_mpi_agree(rc))) {
        srs_ctx_free(ctx);
        return srs_mpi_stop(rc);
    }
    srs_npy_mat_t H = {0}, W = {0}, Bm = {0};
    float *w = NULL, *bias = NULL, *r = NULL;
    double *rd = NULL, *m = NULL, *be = NULL;
    srs_data_t *d = NULL;
    srs_mpi_out_t *wo = NULL, *wt = NULL;
    int64_t n_total = 0, heads = 0, dim = 0;
    if (srs_npy_load_matrix_rows(ctx, so.hidden, 0, 0, &n_total, &H) != SRS_OK ||
        srs_npy_load_matrix(ctx, so.head, &W) != SRS_OK ||
        (so.bias && srs_npy_load_matrix(ctx, so.bias, &Bm) != SRS_OK)) {
        cli_msg("%s", srs_ctx_last_error(ctx));
        rc = EXIT_RUNTIME;
    }
    if (rc == 0) {
        dim = H.cols;
        heads = W.cols;
        if (W.rows != dim) {
            cli_msg("%s: head has %lld rows, hidden states have d = %lld", so.head, (long long)W.rows, (long long)dim);
            rc = EXIT_RUNTIME;
        } else if (so.bias && Bm.rows * Bm.cols != heads) {
            cli_msg("%s: bias has %lld values, the head has %lld outputs", so.bias, (long long)(Bm.rows * Bm.cols),
                    (long long)heads);
            rc = EXIT_RUNTIME;
        } else if (so.head_ix >= heads) {
            rc = cli_usage_error("score", "--head-index %lld: the head has %lld outputs", so.head_ix, (long long)heads);
        } else if (so.row_len && n_total % so.row_len) {
            rc = cli_usage_error("score", "--row-len %lld does not divide the %lld samples", so.row_len,
                                 (long long)n_total);
        }
    }
    if ((rc = srs_mpi_agree(rc))) goto done;

    // this rank's rows: prompts of row_len samples, or samples of `heads` values
    int64_t unit = so.row_len ? so.row_len : 1, lo, hi;
    srs_mpi_shard(n_total / unit, &lo, &hi);
    free(H.data);
    if (srs_npy_load_matrix_rows(ctx, so.hidden, lo * unit, hi * unit, NULL, &H) != SRS_OK) {
        cli_msg("%s", srs_ctx_last_error(ctx));
        rc = EXIT_RUNTIME;
    }
    int64_t n = H.rows, cols = so.row_len ? so.row_len : heads, rows = hi - lo;
    if (rc == 0 && (!(w = as_float(&W)) || (so.bias && !(bias = as_float(&Bm))) ||
                    !(r = malloc(sizeof(float) * (size_t)(n * heads + 1))) ||
                    !(rd = malloc(sizeof(double) * (size_t)(rows * cols + 1))))) {
        cli_msg("out of memory");
        rc = EXIT_RUNTIME;
    }
    if (rc == 0 && (srs_score(ctx, H.data, H.kind, n, dim, w, heads, bias, r) != SRS_OK ||
                    srs_score_check(ctx, r, n, heads, H.data, H.kind, dim, w, bias, lo * unit, so.hidden, so.head,
                                    so.bias) != SRS_OK)) {
        cli_msg("%s", srs_ctx_last_error(ctx));
        rc = EXIT_RUNTIME;
    }
    // rewards as a data set: prompts x row_len of head K, or samples x heads;
    // rows numbered globally (ids and messages name the file's rows)
    if (rc == 0) {
        for (int64_t i = 0; i < rows * cols; i++) rd[i] = so.row_len ? r[i * heads + so.head_ix] : r[i];
        if (srs_data_from_arrays(ctx, rows, NULL, cols, rd, NULL, NULL, NULL, &d) != SRS_OK) {
            cli_msg("%s", srs_ctx_last_error(ctx));
            rc = EXIT_RUNTIME;
        } else {
            d->batch.first_index = lo;
            // messages about the rewards' rows name the file they came from
            char *path = malloc(strlen(so.hidden) + 32);
            if (path) {
                sprintf(path, "%s (rewards)", so.hidden);
                free(d->path);
                d->path = path;
            }
        }
    }
    if (rc == 0 && so.then) {
        if (!(m = malloc(sizeof(double) * (size_t)(rows + 1))) || !(be = malloc(sizeof(double) * (size_t)(rows + 1)))) {
            cli_msg("out of memory");
            rc = EXIT_RUNTIME;
        } else if (rows > 0 && srs_thresholds(ctx, srs_data_batch(d), &a.to, m, be) != SRS_OK) {
            cli_report_row_error(ctx, d);
            rc = EXIT_RUNTIME;
        }
    }
    if ((rc = srs_mpi_agree(rc))) goto done;

    // one file each, rows in input order (merged across ranks)
    if (a.output) {
        if (!(rc = srs_mpi_out_open(ctx, a.output, a.out_fmt, SRS_OUT_REWARDS, d, &wo))) {
            int local = 0;
            if (srs_mpi_out_put(wo, 0, rows, NULL, NULL, rd) != SRS_OK) {
                cli_msg("%s", srs_ctx_last_error(ctx));
                local = EXIT_RUNTIME;
            }
            rc = srs_mpi_out_finish(wo, local);
        }
        if (rc) goto done;
    }
    if (so.then) {
        if (!(rc = srs_mpi_out_open(ctx, so.then, SRS_FMT_AUTO, SRS_OUT_THRESHOLDS, d, &wt))) {
            int local = 0;
            if (srs_mpi_out_put(wt, 0, rows, m, be, NULL) != SRS_OK) {
                cli_msg("%s", srs_ctx_last_error(ctx));
                local = EXIT_RUNTIME;
            }
            rc = srs_mpi_out_finish(wt, local);
        }
    }
done:
    srs_data_free(d);
    free(H.data); free(W.data); free(Bm.data);
    free(w); free(bias); free(r); free(rd); free(m); free(be);
    srs_ctx_free(ctx);
    return srs_mpi_stop(rc);
}
