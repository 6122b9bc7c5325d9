/*
 * cli.c — the `srs` command: dispatch to the commands (host/cli_*.c) and what
 * they share (messages, common options, errors; see cli.h).
 *
 * The command line is the only part of srs that prints and exits. Exit codes: 0 ok, 1 runtime
 * error (bad data, i/o, unavailable backend), 2 usage error (unknown option,
 * bad or absurd parameter).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli.h"
#include "data.h"
#include "srs_mpi.h"

// ----------------------------------------------------------------------------
// messages

static const char *prog = "srs";

// The prefix of every message ("srs: rank 2 of 4" under MPI); p must outlive its use.
void cli_set_prog(const char *p) { prog = p; }

// One message line in one write(2): under MPI the ranks share stderr, and a
// line written in pieces (prefix, message, newline) interleaves with another
// rank's. tail: what follows the message (its newline included).
static void msg_line(const char *fmt, va_list ap, const char *tail) {
    char buf[4096];
    int n = snprintf(buf, sizeof buf, "%s: ", prog);
    if (n < 0 || n >= (int)sizeof buf) n = 0;
    int m = vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
    n = m < 0 ? n : n + m < (int)sizeof buf ? n + m : (int)sizeof buf - 1;
    int t = snprintf(buf + n, sizeof buf - (size_t)n, "%s", tail);
    n = t < 0 ? n : n + t < (int)sizeof buf ? n + t : (int)sizeof buf - 1;
    fflush(stderr);
    for (int off = 0; off < n;) {
        ssize_t w = write(2, buf + off, (size_t)(n - off));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        off += (int)w;
    }
}

void cli_msg(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    msg_line(fmt, ap, "\n");
    va_end(ap);
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
    char tail[512];
    snprintf(tail, sizeof tail, "\nTry '%s %s --help'.\n", prog, cmd);
    va_list ap;
    va_start(ap, fmt);
    msg_line(fmt, ap, tail);
    va_end(ap);
    return EXIT_USAGE;
}

// ----------------------------------------------------------------------------
// help texts

static const char *help_main =
    "srs " SRS_VERSION_STRING " — Stackelberg reward shaping for inference-time alignment\n"
    "\n"
    "Usage: srs COMMAND [options]\n"
    "\n"
    "Commands:\n"
    "  threshold  per-prompt optimal thresholds m*(x) and effective bounds B_eff\n"
    "  shape      shaped rewards (hard, soft, baselines) for every sample\n"
    "  gen        synthetic scenarios (deterministic by seed)\n"
    "  eval       reward designs x beta sweeps: utility, KL, ESS, win rates, bootstrap intervals\n"
    "  demo       gen -> eval (embedded default config) -> table and plot\n"
    "  score      rewards from cached hidden states and a linear reward head (BLAS / cuBLAS)\n"
    "  bench      throughput of the threshold solvers (bench threshold --device cuda|cpu)\n"
    "\n"
    "Run 'srs COMMAND --help' for a command's options; 'srs --version' for the version.\n";

const char *cli_help_threshold_opts =
    "Threshold options:\n"
    "  --preset P      exact (default) | paper-cd | paper-args\n"
    "                    exact:      B_eff = B, gamma = exp(B/beta)\n"
    "                    paper-cd:   B_eff = min(B, 2 range), gamma = exp(min(B_eff/beta, cap))\n"
    "                    paper-args: B_eff = min(B, 1.01 range), gamma = min(exp(B_eff/beta), 2)\n"
    "  --B X           reward bound, >= 0 (default 1)\n"
    "  --beta X        KL strength of the decoder, > 0 (default 1; lambda = 1/beta)\n"
    "  --cap X         paper-cd only: cap on log gamma (default 2)\n"
    "  --solver S      exact (default) | dinkelbach | bisect (the paper's)\n"
    "  --tol X         bisect only: tolerance relative to max(1, range) (default 1e-12)\n"
    "  --max-iter N    bisect/dinkelbach only: iteration bound (default: enough); a row\n"
    "                  that has not converged within it is an error naming the row\n";

const char *cli_help_io_opts =
    "Input and output options:\n"
    "  -o, --output F  output file (.jsonl, .csv, .npy; '-' or absent: JSONL on stdout);\n"
    "                  never the input; a FIFO or a device is written through, a symlink\n"
    "                  is followed and its target replaced\n"
    "  --format F      input format jsonl|npy|csv (default: by extension)\n"
    "  --out-format F  output format jsonl|npy|csv (default: by extension of -o)\n"
    "  --logw F        NPY base log-weight companion (default: <stem>.logw.npy if present)\n";

const char *cli_help_run_opts =
    "Run options:\n"
    "  --device D      auto (default) | cpu | cuda\n"
    "  --threads N     CPU threads (default: all cores)\n"
    "  -q, --quiet     no progress bar\n"
    "  -h, --help      this help\n";

// ----------------------------------------------------------------------------
// option parsing

static const struct option common_opts[] = {
    {"output", required_argument, 0, 'o'}, {"quiet", no_argument, 0, 'q'},
    {"help", no_argument, 0, 'h'},         {"preset", required_argument, 0, CLI_OPT_PRESET},
    {"B", required_argument, 0, CLI_OPT_B},    {"beta", required_argument, 0, CLI_OPT_BETA},
    {"cap", required_argument, 0, CLI_OPT_CAP}, {"solver", required_argument, 0, CLI_OPT_SOLVER},
    {"tol", required_argument, 0, CLI_OPT_TOL}, {"max-iter", required_argument, 0, CLI_OPT_MAXIT},
    {"format", required_argument, 0, CLI_OPT_FORMAT}, {"out-format", required_argument, 0, CLI_OPT_OUTFMT},
    {"gold", required_argument, 0, CLI_OPT_GOLD}, {"logw", required_argument, 0, CLI_OPT_LOGW},
    {"with-logw", no_argument, 0, CLI_OPT_WLOGW},
    {"device", required_argument, 0, CLI_OPT_DEVICE}, {"threads", required_argument, 0, CLI_OPT_THREADS},
    {"design", required_argument, 0, CLI_OPT_DESIGN}, {"alpha", required_argument, 0, CLI_OPT_ALPHA},
    {"clip", required_argument, 0, CLI_OPT_CLIP}, {"scenario", required_argument, 0, CLI_OPT_SCENARIO},
    {"prompts", required_argument, 0, CLI_OPT_PROMPTS}, {"samples", required_argument, 0, CLI_OPT_SAMPLES},
    {"ragged", no_argument, 0, CLI_OPT_RAGGED}, {"seed", required_argument, 0, CLI_OPT_SEED},
    {"dtype", required_argument, 0, CLI_OPT_DTYPE}, {"dir", required_argument, 0, CLI_OPT_DIR},
    {0, 0, 0, 0},
};

int cli_parse_double(const char *cmd, const char *name, const char *s, double *out) {
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (end == s || *end) return cli_usage_error(cmd, "--%s: '%s' is not a number", name, s);
    if (errno == ERANGE && fabs(x) > 1)
        return cli_usage_error(cmd, "--%s: '%s' is out of range (beyond the largest double, 1.8e308)", name, s);
    if (errno == ERANGE)  // glibc: subnormal or flushed to zero
        return cli_usage_error(cmd, "--%s: '%s' is out of range (nonzero but below the smallest normal double, "
                               "2.2e-308)", name, s);
    *out = x;
    return 0;
}

int cli_parse_int(const char *cmd, const char *name, const char *s, long long lo, long long hi,
                     long long *out) {
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (end == s || *end || errno == ERANGE)
        return cli_usage_error(cmd, "--%s: '%s' is not an integer", name, s);
    if (x < lo || x > hi) return cli_usage_error(cmd, "--%s must be in [%lld, %lld], got %lld", name, lo, hi, x);
    *out = x;
    return 0;
}

#define ENUM_ARG(parse, field, what, choices)                                               \
    if (parse(optarg, &(field)) != SRS_OK)                                                 \
        return cli_usage_error(a->cmd, "unknown " what " '%s' (choose from " choices ")", optarg); \
    break

// Applies common option c; 0 or an exit code.
static int common_option(int c, char **argv, cli_args_t *a) {
    long long v = 0;
    double x = 0;
    int rc;
    a->given |= cli_bit(c);
    switch (c) {
    case 'o': a->output = optarg; break;
    case 'q': a->quiet = 1; break;
    case 'h': a->help = 1; break;
    case CLI_OPT_PRESET: ENUM_ARG(srs_preset_parse, a->to.preset, "preset", "exact, paper-cd, paper-args");
    case CLI_OPT_SOLVER: ENUM_ARG(srs_solver_parse, a->to.solver, "solver", "exact, dinkelbach, bisect");
    case CLI_OPT_DESIGN:
        ENUM_ARG(srs_design_parse, a->so.design, "design", "raw, hard, soft, minmax, meanstd, cap, meansoft");
    case CLI_OPT_SCENARIO: ENUM_ARG(srs_scenario_parse, a->go.scenario, "scenario", "overopt, gauss, twopoint");
    case CLI_OPT_DEVICE: ENUM_ARG(srs_device_parse, a->device, "device", "auto, cpu, cuda");
    case CLI_OPT_FORMAT: ENUM_ARG(srs_format_parse, a->in_fmt, "format", "jsonl, npy, csv");
    case CLI_OPT_OUTFMT: ENUM_ARG(srs_format_parse, a->out_fmt, "format", "jsonl, npy, csv");
    case CLI_OPT_B: if ((rc = cli_parse_double(a->cmd, "B", optarg, &a->to.B))) return rc; break;
    case CLI_OPT_BETA: if ((rc = cli_parse_double(a->cmd, "beta", optarg, &a->to.beta))) return rc; break;
    case CLI_OPT_CAP: if ((rc = cli_parse_double(a->cmd, "cap", optarg, &a->to.cap))) return rc; break;
    case CLI_OPT_TOL: if ((rc = cli_parse_double(a->cmd, "tol", optarg, &a->to.tol))) return rc; break;
    case CLI_OPT_ALPHA: if ((rc = cli_parse_double(a->cmd, "alpha", optarg, &a->so.alpha))) return rc; break;
    case CLI_OPT_CLIP:
        if ((rc = cli_parse_double(a->cmd, "clip", optarg, &x))) return rc;
        if (!(x >= 0)) return cli_usage_error(a->cmd, "--clip must be >= 0, got %g", x);
        a->so.clip = x;
        break;
    case CLI_OPT_MAXIT:
        if ((rc = cli_parse_int(a->cmd, "max-iter", optarg, 1, 1000000000, &v))) return rc;
        a->to.max_iter = (int)v;
        break;
    case CLI_OPT_THREADS:
        if ((rc = cli_parse_int(a->cmd, "threads", optarg, 0, 4096, &v))) return rc;
        a->threads = (int)v;
        break;
    case CLI_OPT_PROMPTS:
        if ((rc = cli_parse_int(a->cmd, "prompts", optarg, 1, (long long)1 << 40, &v))) return rc;
        a->go.n_prompts = v;
        break;
    case CLI_OPT_SAMPLES:
        if ((rc = cli_parse_int(a->cmd, "samples", optarg, 1, 0x7fffffff, &v))) return rc;
        a->go.n_samples = v;
        break;
    case CLI_OPT_SEED:
        if ((rc = cli_parse_int(a->cmd, "seed", optarg, 0, 0x7fffffffffffffffLL, &v))) return rc;
        a->go.seed = (uint64_t)v;
        break;
    case CLI_OPT_RAGGED: a->go.ragged = 1; break;
    case CLI_OPT_LOGW: a->logw = optarg; break;
    case CLI_OPT_WLOGW: a->go.with_logw = 1; break;
    case CLI_OPT_GOLD: a->gold = optarg; break;
    case CLI_OPT_DIR: a->dir = optarg; break;
    case CLI_OPT_DTYPE:
        if (strcmp(optarg, "f32") == 0 || strcmp(optarg, "float32") == 0) a->dtype = SRS_F32;
        else if (strcmp(optarg, "f64") == 0 || strcmp(optarg, "float64") == 0) a->dtype = SRS_F64;
        else return cli_usage_error(a->cmd, "unknown dtype '%s' (choose from f32, f64)", optarg);
        break;
    case ':': return cli_usage_error(a->cmd, "option '%s' needs a value", argv[optind - 1]);
    default: return cli_usage_error(a->cmd, "unknown option '%s'", argv[optind - 1]);
    }
    return 0;
}

const char *cli_opt_name(int c) {
    static char buf[2][40];
    static int k;
    char *b = buf[k++ & 1];
    for (const struct option *o = common_opts; o->name; o++)
        if (o->val == c) {
            if (c < 128) snprintf(b, sizeof buf[0], "-%c/--%s", c, o->name);
            else snprintf(b, sizeof buf[0], "--%s", o->name);
            return b;
        }
    snprintf(b, sizeof buf[0], "-%c", c);
    return b;
}

int cli_parse(int argc, char **argv, cli_args_t *a, uint64_t allowed, const struct option *extra,
              cli_opt_fn handle, void *user) {
    allowed |= cli_bit('q');  // no progress bar: harmless wherever there is none
    enum { N_COMMON = sizeof common_opts / sizeof common_opts[0] - 1 };
    int n_extra = 0;
    while (extra && extra[n_extra].name) n_extra++;
    struct option *opts = calloc((size_t)(N_COMMON + n_extra + 1), sizeof *opts);
    if (!opts) {
        cli_msg("out of memory");
        return EXIT_RUNTIME;
    }
    memcpy(opts, common_opts, N_COMMON * sizeof *opts);
    if (n_extra) memcpy(opts + N_COMMON, extra, (size_t)n_extra * sizeof *opts);
    int rc = 0;
    optind = 1;
    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, ":o:qh", opts, NULL);
        if (c == -1) break;
        if (cli_bit(c) && !(cli_bit(c) & allowed)) {
            rc = cli_usage_error(a->cmd, "option '%s' does not apply to 'srs %s'", cli_opt_name(c), a->cmd);
            break;
        }
        rc = c >= CLI_OPT_USER && handle ? handle(c, optarg, user) : common_option(c, argv, a);
        if (rc) break;
    }
    free(opts);
    if (rc) return rc;
    if (optind < argc) a->input = argv[optind++];
    if (optind < argc) return cli_usage_error(a->cmd, "unexpected argument '%s'", argv[optind]);
    return 0;
}

void cli_args_init(cli_args_t *a, const char *cmd) {
    memset(a, 0, sizeof *a);
    a->cmd = cmd;
    a->to = srs_threshold_opts_default();
    a->so = srs_shape_opts_default();
    a->go = srs_gen_opts_default();
    a->dtype = SRS_F64;
}

int cli_check_threshold_use(const cli_args_t *a, const srs_threshold_opts_t *to, unsigned solvers) {
    if (!solvers) solvers = 1u << to->solver;
    if (cli_given(a, CLI_OPT_CAP) && to->preset != SRS_PRESET_PAPER_CD)
        return cli_usage_error(a->cmd, "--cap applies to --preset paper-cd only (the preset is %s)",
                               srs_preset_name(to->preset));
    if (cli_given(a, CLI_OPT_TOL) && !(solvers & (1u << SRS_SOLVER_BISECT)))
        return cli_usage_error(a->cmd, "--tol applies to --solver bisect only (exact and dinkelbach have no "
                               "tolerance)");
    if (cli_given(a, CLI_OPT_MAXIT) && !(solvers & ~(1u << SRS_SOLVER_EXACT)))
        return cli_usage_error(a->cmd, "--max-iter applies to --solver bisect or dinkelbach (exact has no "
                               "iteration bound)");
    return 0;
}

int cli_check_gen_use(const cli_args_t *a) {
    if (a->go.scenario != SRS_SCEN_TWOPOINT) return 0;
    const int unused[3] = {CLI_OPT_SAMPLES, CLI_OPT_RAGGED, CLI_OPT_SEED};
    for (int k = 0; k < 3; k++)
        if (cli_given(a, unused[k]))
            return cli_usage_error(a->cmd, "%s does not apply to the twopoint scenario (two samples per prompt, "
                                   "utilities 1 and 2, nothing random)", cli_opt_name(unused[k]));
    return 0;
}

int cli_check_out_format(const cli_args_t *a, const char *path) {
    if (!path || !strcmp(path, "-") || a->out_fmt != SRS_FMT_AUTO || srs_format_from_path(path) != SRS_FMT_AUTO)
        return 0;
    struct stat st;  // a FIFO or a device (/dev/stdout, /dev/null) is JSONL, as "-" is
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) return 0;
    return cli_usage_error(a->cmd, "cannot tell the format of %s from its extension (.jsonl, .csv or .npy); "
                           "use --out-format", path);
}

int cli_check_distinct(const char *cmd, const char *const *inputs, int n_in, const char *const *outputs,
                       int n_out) {
    for (int i = 0; i < n_out; i++) {
        struct stat so;
        if (!outputs[i] || !strcmp(outputs[i], "-") || stat(outputs[i], &so) != 0) continue;
        // a FIFO or a device is written through, never replaced: reading and writing it is the user's call
        if (!S_ISREG(so.st_mode)) continue;
        for (int j = 0; j < n_in + n_out; j++) {
            const char *p = j < n_in ? inputs[j] : outputs[j - n_in];
            struct stat si;
            if (!p || (j >= n_in && j - n_in <= i) || !strcmp(p, "-") || stat(p, &si) != 0) continue;
            if (si.st_dev == so.st_dev && si.st_ino == so.st_ino)
                return cli_usage_error(cmd, j < n_in ? "%s is the input file %s: it would be replaced; write "
                                                       "the output elsewhere"
                                                     : "%s and %s are the same file: two outputs cannot share it",
                                       outputs[i], p);
        }
    }
    for (int i = 0; i < n_out; i++)  // outputs that do not exist yet, spelled alike
        for (int j = i + 1; j < n_out; j++)
            if (outputs[i] && outputs[j] && strcmp(outputs[i], "-") && !strcmp(outputs[i], outputs[j]))
                return cli_usage_error(cmd, "%s and %s are the same file: two outputs cannot share it", outputs[i],
                                       outputs[j]);
    return 0;
}

int cli_make_ctx(const cli_args_t *a, srs_ctx_t **ctx) {
    srs_status_t st = srs_ctx_create(ctx, a->device, a->threads);
    if (st == SRS_OK) return 0;
    cli_msg("%s", srs_last_create_error());
    return st == SRS_ERR_INVALID_ARG ? EXIT_USAGE : EXIT_RUNTIME;
}

// ----------------------------------------------------------------------------
// errors and chunks

// Prints a compute error with the file, line and prompt it is about.
void cli_report_row_error(srs_ctx_t *ctx, const srs_data_t *d) {
    // the error row is global; d's rows may start at first_index (an MPI rank's part)
    int64_t row = srs_ctx_error_row(ctx);
    if (row >= 0) row -= srs_data_batch(d)->first_index;
    const char *path = srs_data_path(d);
    if (row < 0 || row >= srs_data_batch(d)->n_prompts) {
        cli_msg("%s: %s", path, srs_ctx_last_error(ctx));
        return;
    }
    int is_num;
    const char *id = srs_data_id(d, row, &is_num);
    int64_t line = srs_data_line(d, row);
    if (line > 0) cli_msg("%s:%lld: prompt %s%s%s: %s", path, (long long)line, is_num ? "" : "\"", id,
                      is_num ? "" : "\"", srs_ctx_last_error(ctx));
    else cli_msg("%s: %s", path, srs_ctx_last_error(ctx));
}

// The batch of rows [i0, i0 + n) of b, indexable like the original.
srs_batch_t cli_sub_batch(const srs_batch_t *b, int64_t i0, int64_t n) {
    srs_batch_t s = *b;
    s.n_prompts = n;
    s.first_index = b->first_index + i0;
    if (b->offsets) {
        s.offsets = b->offsets + i0;
        return s;
    }
    srs_vec_t *v[3] = {&s.reward, &s.logw, &s.gold};
    for (int k = 0; k < 3; k++)
        if (v[k]->data)
            v[k]->data = (const char *)v[k]->data + (size_t)(i0 * b->row_len) * (v[k]->dtype == SRS_F32 ? 4 : 8);
    return s;
}

// ----------------------------------------------------------------------------
// signals: no temporary outlives the run
//
// Every temporary the run creates is in the library's registry (host/io/rows.c):
// named temporary files, eval's staging directory and the directories a run
// created. On SIGINT, SIGTERM, SIGHUP and SIGPIPE the handler removes them,
// then dies of the same signal (the default action, so the exit status says
// which). Unnamed O_TMPFILE temporaries need nothing: even SIGKILL leaves no
// trace of them. A signal ignored at start (nohup) stays ignored.
//
// SIGBUS in a memory-mapped input means the file shrank under the run
// (truncated by another program): an I/O error naming the file, exit 1,
// temporaries removed. Any other SIGBUS is a fault: the default action after
// the same cleanup. All of it async-signal-safe: the registry's own reads,
// unlink, rmdir, write, _exit.

// write(2) of a string, in a handler.
static void say(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, s, n);
        if (w <= 0) return;
        s += w;
        n -= (size_t)w;
    }
}

static void on_fatal_signal(int sig) {
    srs_cleanup_run();
    signal(sig, SIG_DFL);
    raise(sig);  // delivered when the handler returns: the process ends as the signal says
}

static void on_sigbus(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    const char *file = srs_mapped_file_at(si->si_addr);
    srs_cleanup_run();
    if (file) {
        say(prog);
        say(": ");
        say(file[0] ? file : "an input file");
        say(": the file became shorter while it was being read (truncated by another program?); no output "
            "written\n");
        _exit(EXIT_RUNTIME);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install_signal_handlers(void) {
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction old, sa;
        if (sigaction(sigs[i], NULL, &old) != 0 || old.sa_handler == SIG_IGN) continue;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_fatal_signal;
        sigemptyset(&sa.sa_mask);
        for (size_t j = 0; j < sizeof sigs / sizeof sigs[0]; j++) sigaddset(&sa.sa_mask, sigs[j]);
        sigaction(sigs[i], &sa, NULL);
    }
    struct sigaction sb;
    memset(&sb, 0, sizeof sb);
    sb.sa_sigaction = on_sigbus;
    sb.sa_flags = SA_SIGINFO;
    sigemptyset(&sb.sa_mask);
    sigaction(SIGBUS, &sb, NULL);
}

// ----------------------------------------------------------------------------

int main(int argc, char **argv) {
    install_signal_handlers();
    if (argc < 2) {
        fputs(help_main, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        if (argc > 2) return main(3, (char *[]){argv[0], argv[2], "--help", NULL});
        fputs(help_main, stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("srs %s (CUDA backend: %s; MPI: %s)\n", srs_version(),
               srs_cuda_compiled() ? "compiled in" : "not compiled in",
               srs_mpi_compiled() ? "compiled in" : "not compiled in");
        const char *lv = srs_cpu_level();
        if (!lv) {   // SRS_CPU names a level that is unknown here or that this CPU cannot run
            srs_ctx_t *c = NULL;
            if (srs_ctx_create(&c, SRS_DEVICE_CPU, 1) == SRS_OK) srs_ctx_free(c);
            fprintf(stderr, "srs: %s\n", srs_last_create_error());
            return 1;
        }
        printf("CPU level: %s (%s; compiled: %s%s)\n", lv, srs_cpu_level_desc(lv), srs_cpu_levels(),
               getenv("SRS_CPU") && *getenv("SRS_CPU") ? "; forced by SRS_CPU" : "");
        return 0;
    }
    // getopt sees argv from the command word on
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } cmds[] = {
        {"threshold", srs_cmd_threshold}, {"shape", srs_cmd_shape}, {"gen", srs_cmd_gen},
        {"demo", srs_cmd_demo}, {"eval", srs_cmd_eval}, {"bench", srs_cmd_bench}, {"score", srs_cmd_score},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (!strcmp(cmd, cmds[i].name)) return cmds[i].run(argc - 1, argv + 1);
    fprintf(stderr, "%s: unknown command '%s'\n\n%s", prog, cmd, help_main);
    return EXIT_USAGE;
}
