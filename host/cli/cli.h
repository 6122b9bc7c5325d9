/*
 * cli.h — what the command files (host/cli_*.c) share: exit codes, messages,
 * the common options (threshold, input/output and run options) and their
 * parser, context creation and error reporting. Each command is one function
 * `int srs_cmd_NAME(int argc, char **argv)` in its own file, with argv starting
 * at the command word; host/cli/cli.c dispatches to it.
 */
#ifndef SRS_CLI_H
#define SRS_CLI_H

#include <getopt.h>
#include <stdint.h>
#include "srs.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

// "srs: " + message + newline on stderr.
void cli_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
// Replaces "srs" as the prefix of messages (MPI: "srs: rank 2 of 4"); p must
// stay valid.
void cli_set_prog(const char *p);
// A usage error for command cmd: message, a hint to --help; returns EXIT_USAGE.
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
// Strict number parsing for option --name; 0 or EXIT_USAGE (message printed).
int cli_parse_double(const char *cmd, const char *name, const char *s, double *out);
int cli_parse_int(const char *cmd, const char *name, const char *s, long long lo, long long hi, long long *out);

// Option codes of the common options; a command's own options use codes from
// CLI_OPT_USER on.
enum {
    CLI_OPT_PRESET = 1000, CLI_OPT_B, CLI_OPT_BETA, CLI_OPT_CAP, CLI_OPT_SOLVER, CLI_OPT_TOL, CLI_OPT_MAXIT,
    CLI_OPT_FORMAT, CLI_OPT_OUTFMT, CLI_OPT_GOLD, CLI_OPT_LOGW, CLI_OPT_DEVICE, CLI_OPT_THREADS,
    CLI_OPT_DESIGN, CLI_OPT_ALPHA, CLI_OPT_CLIP, CLI_OPT_SCENARIO, CLI_OPT_PROMPTS, CLI_OPT_SAMPLES,
    CLI_OPT_RAGGED, CLI_OPT_WLOGW, CLI_OPT_SEED, CLI_OPT_DTYPE, CLI_OPT_DIR,
    CLI_OPT_USER = 1100,
};

// The bit of common option c ('o', 'q' or a CLI_OPT_* code below
// CLI_OPT_USER) in cli_args_t.given and in the `allowed` mask of cli_parse.
static inline uint64_t cli_bit(int c) {
    return c == 'o' ? 1ull << 40 : c == 'q' ? 1ull << 41 : c >= CLI_OPT_PRESET && c < CLI_OPT_PRESET + 40
                                                                ? 1ull << (c - CLI_OPT_PRESET) : 0;
}
// The threshold options (--preset --B --beta --cap --solver --tol --max-iter).
#define CLI_THRESHOLD_OPTS                                                                         \
    (cli_bit(CLI_OPT_PRESET) | cli_bit(CLI_OPT_B) | cli_bit(CLI_OPT_BETA) | cli_bit(CLI_OPT_CAP) | \
     cli_bit(CLI_OPT_SOLVER) | cli_bit(CLI_OPT_TOL) | cli_bit(CLI_OPT_MAXIT))

// Everything the common options set.
typedef struct {
    const char *cmd;
    uint64_t given;                  // cli_bit of every common option on the command line
    const char *input, *output, *gold, *logw, *dir;   // input: the first positional argument
    srs_format_t in_fmt, out_fmt;
    srs_device_t device;
    int threads, quiet, help;
    srs_threshold_opts_t to;
    srs_shape_opts_t so;
    srs_gen_opts_t go;
    srs_dtype_t dtype;
} cli_args_t;

// Defaults for command cmd.
void cli_args_init(cli_args_t *a, const char *cmd);

// A command's own options: `extra` (terminated by a zero entry, may be NULL)
// are parsed alongside the common ones; each of them is passed to handle(c,
// optarg, user), which returns 0 or an exit code. Positional: at most one
// INPUT (a->input). Returns 0 or an exit code (message printed).
// A common option outside `allowed` (cli_bit mask; -h and -q always pass)
// is a usage error naming the command: an option a command does not use is
// refused, never ignored.
typedef int (*cli_opt_fn)(int c, const char *arg, void *user);
int cli_parse(int argc, char **argv, cli_args_t *a, uint64_t allowed, const struct option *extra,
              cli_opt_fn handle, void *user);
// 1 when common option c was given on the command line.
static inline int cli_given(const cli_args_t *a, int c) { return (a->given & cli_bit(c)) != 0; }
// "--NAME" of common option c (for messages).
const char *cli_opt_name(int c);
// The threshold options given that the preset and solver in `to` do not use
// (--cap needs paper-cd, --tol bisect, --max-iter bisect or dinkelbach):
// a usage error naming them, else 0. `solvers` is a mask of 1 << solver for
// commands that run several (bench), else 0 for to->solver.
int cli_check_threshold_use(const cli_args_t *a, const srs_threshold_opts_t *to, unsigned solvers);
// The generator options the scenario does not use (twopoint: --samples,
// --ragged, --seed): a usage error, else 0.
int cli_check_gen_use(const cli_args_t *a);
// Usage error when -o PATH has no known extension and --out-format is not
// given (the message points at --out-format), else 0. path may be NULL or "-".
int cli_check_out_format(const cli_args_t *a, const char *path);
// Refuses to write over an input: every output path (n_out of them, NULL
// entries skipped) is compared with every existing input (by device and
// inode, so links and other spellings count) and with the other outputs.
// A usage error naming both, else 0.
int cli_check_distinct(const char *cmd, const char *const *inputs, int n_in, const char *const *outputs,
                       int n_out);

// Creates the context for a->device and a->threads; 0 or an exit code.
int cli_make_ctx(const cli_args_t *a, srs_ctx_t **ctx);
// Prints a compute error with the file, line and prompt it is about.
void cli_report_row_error(srs_ctx_t *ctx, const srs_data_t *d);
// The batch of rows [i0, i0 + n) of b, indexable like the original.
srs_batch_t cli_sub_batch(const srs_batch_t *b, int64_t i0, int64_t n);

// Help texts: the threshold options, the input/output options of threshold
// and shape, the run options (--device, --threads, -q, -h).
extern const char *cli_help_threshold_opts;
extern const char *cli_help_io_opts;
extern const char *cli_help_run_opts;

// The commands.
int srs_cmd_threshold(int argc, char **argv);
int srs_cmd_shape(int argc, char **argv);
int srs_cmd_gen(int argc, char **argv);
int srs_cmd_demo(int argc, char **argv);
int srs_cmd_bench(int argc, char **argv);
int srs_cmd_score(int argc, char **argv);
int srs_cmd_eval(int argc, char **argv);

#endif
