// cli_eval.c — `srs eval`: reward designs x beta sweeps with bootstrap
// intervals, from a config file and/or the command line, into a results
// directory (table on stdout, metrics.csv, metrics.json, config.ini, plot).
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cli.h"
#include "srs_mpi.h"
#include "cli_eval.h"
#include "internal.h"
#include "data.h"
#include "progress.h"

#define MAX_ARMS 256

static void help_eval(void) {
    printf("Usage: srs eval INPUT [--config FILE] [options]\n"
           "\n"
           "Compares reward designs under KL-regularised followers q ∝ p·exp(s/β) across\n"
           "follower strengths β (λ = 1/β). Per design × β, means over prompts with percentile\n"
           "intervals of a Poisson bootstrap over prompts:\n"
           "  proxy        Σ q u                  gold   Σ q g (when the data has gold)\n"
           "  kl           KL(q‖p) = Σ q log(q/p)  ess    1/Σ q²\n"
           "  win_tie      P(a sample of q is at least as good as one of the base p)\n"
           "  win          the same, strictly better; win_tie_raw, win_raw: against the raw design\n"
           "               (\"good\" = gold when present, else the proxy reward u)\n"
           "Best-of-n is the exact law of the max-u of n draws from p (not Monte Carlo).\n"
           "Every design is also compared with raw at the same β: proxy_vs_raw, gold_vs_raw\n"
           "(with _lo, _hi), the difference of the means with the interval of the paired\n"
           "differences over the same bootstrap replicates (raw is evaluated for them even when\n"
           "--designs leaves it out; it then has no row).\n"
           "\n"
           "Outputs, in the results directory (default ./srs-eval-NAME): metrics.csv,\n"
           "metrics.json, config.ini (the resolved configuration), eval.png (or .svg: the\n"
           "utility against 1/β, its difference against raw, and against KL) with plot.gp and\n"
           "plot.dat; the table is printed on stdout. The directory gets every file of a run or\n"
           "none (a failed or interrupted run leaves it as it was).\n"
           "\n"
           "Options (each also an INI key: [section] key):\n"
           "  --config FILE      INI configuration (see configs/); the command line overrides it\n"
           "  --name NAME        [run] name: the run's name, in the plot's title (default:\n"
           "                     default, and the title names the input file)\n"
           "  --out DIR          [run] out: results directory (default ./srs-eval-NAME)\n"
           "  --plot FMT         [run] plot: png (default) | svg | none\n"
           "  --chunk N          [run] chunk: prompts per accumulation chunk (default 65536)\n"
           "  --designs LIST     [eval] designs: base, raw, hard, soft, minmax, meanstd, cap, meansoft\n"
           "                     (default: all of them)\n"
           "  --alpha LIST       [eval] alpha: soft/meansoft sharpness, one arm per value (default 1)\n"
           "  --best-of-n LIST   [eval] best_of_n: n values, or none (default 2,4,8,16)\n"
           "  --beta LIST        [eval] beta: follower strengths (default 4,2,1,0.5,0.25)\n"
           "  --lambda LIST      [eval] lambda: the same given as 1/β (not with --beta)\n"
           "  --clip X           [eval] clip: the cap design's clip (default B)\n"
           "  --fixed-beta X     [threshold] fixed_beta: m* solved once at β = X for every β\n"
           "                     (default: none, m* re-solved for each β)\n"
           "  --preset P --B X --cap X --solver S --tol X --max-iter N   [threshold] (default\n"
           "                     paper-cd, B 15, cap 2, exact)\n"
           "  --replicates N     [bootstrap] replicates (default 200)\n"
           "  --confidence X     [bootstrap] confidence: interval level (default 0.95)\n"
           "  --seed N           [bootstrap] seed (default 1)\n"
           "  --warmup           time the accumulation after one untimed pass over the first chunk\n"
           "                     (device set-up and buffers out of the timing line; benchmarks)\n"
           "  --format F --gold F --logw F --device D --threads N -q -h\n"
           "\n"
           "Examples:\n"
           "  srs eval data.jsonl --config configs/default.ini\n"
           "  srs eval base.jsonl --config configs/paper-cd.ini --lambda 0.5,1,2 --out cd-run\n"
           "\n"
           "With --device cuda (or auto on a machine with a GPU) the metrics and the bootstrap\n"
           "sums are computed by the CUDA backend, else by the CPU backend; the timing line\n"
           "then also gives the GPU time of the kernels and the bootstrap GEMM.\n");
}

// ----------------------------------------------------------------------------
// options: the eval-specific ones are recorded and applied after the config
// file, so the command line wins whatever the order of --config

enum {
    OPT_CONFIG = CLI_OPT_USER, OPT_NAME, OPT_OUT, OPT_PLOT, OPT_CHUNK, OPT_DESIGNS, OPT_BON, OPT_BETAS,
    OPT_LAMBDA, OPT_FIXED, OPT_REPS, OPT_CONF, OPT_ALPHAS, OPT_WARMUP,
};

static const struct option eval_opts[] = {
    {"config", required_argument, 0, OPT_CONFIG},   {"name", required_argument, 0, OPT_NAME},
    {"out", required_argument, 0, OPT_OUT},         {"plot", required_argument, 0, OPT_PLOT},
    {"chunk", required_argument, 0, OPT_CHUNK},     {"designs", required_argument, 0, OPT_DESIGNS},
    {"best-of-n", required_argument, 0, OPT_BON},   {"beta-grid", required_argument, 0, OPT_BETAS},
    {"lambda", required_argument, 0, OPT_LAMBDA},   {"fixed-beta", required_argument, 0, OPT_FIXED},
    {"replicates", required_argument, 0, OPT_REPS}, {"confidence", required_argument, 0, OPT_CONF},
    {"alpha-list", required_argument, 0, OPT_ALPHAS},
    {"warmup", no_argument, 0, OPT_WARMUP},
    {0, 0, 0, 0},
};

// --warmup: a command-line switch only (not a setting of the evaluation)
static int g_warmup;

typedef struct {
    const char *config;
    struct { const char *sec, *key, *val; } set[64];
    int n_set;
    int beta, lambda, alpha;   // given on the command line
} eval_cli_t;

static int eval_handle(int c, const char *arg, void *user) {
    eval_cli_t *e = user;
    static const struct { int code; const char *sec, *key; } map[] = {
        {OPT_NAME, "run", "name"},          {OPT_OUT, "run", "out"},
        {OPT_PLOT, "run", "plot"},          {OPT_CHUNK, "run", "chunk"},
        {OPT_DESIGNS, "eval", "designs"},   {OPT_BON, "eval", "best_of_n"},
        {OPT_BETAS, "eval", "beta"},        {OPT_LAMBDA, "eval", "lambda"},
        {OPT_FIXED, "threshold", "fixed_beta"}, {OPT_REPS, "bootstrap", "replicates"},
        {OPT_CONF, "bootstrap", "confidence"}, {OPT_ALPHAS, "eval", "alpha"},
    };
    if (c == OPT_CONFIG) {
        e->config = arg;
        return 0;
    }
    if (c == OPT_WARMUP) {
        g_warmup = 1;
        return 0;
    }
    e->beta |= c == OPT_BETAS;
    e->lambda |= c == OPT_LAMBDA;
    e->alpha |= c == OPT_ALPHAS;
    if (e->beta && e->lambda)
        return cli_usage_error("eval", "--beta and --lambda both set the follower strengths (lambda = 1/beta); "
                               "give one of them");
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (map[i].code == c) {
            if (e->n_set >= 64) return cli_usage_error("eval", "too many options");
            e->set[e->n_set].sec = map[i].sec;
            e->set[e->n_set].key = map[i].key;
            e->set[e->n_set++].val = arg;
            return 0;
        }
    return cli_usage_error("eval", "unknown option");
}

// The common parser reads --beta and --alpha as single numbers; eval takes
// lists, so those two are renamed to eval's own options before parsing.
static char **rewrite_argv(int argc, char **argv) {
    char **v = calloc((size_t)argc + 1, sizeof *v);
    if (!v) return NULL;
    for (int i = 0; i < argc; i++) {
        v[i] = argv[i];
        if (!strcmp(argv[i], "--")) {
            for (int j = i + 1; j < argc; j++) v[j] = argv[j];
            break;
        }
        if (!strcmp(argv[i], "--beta")) v[i] = "--beta-grid";
        else if (!strncmp(argv[i], "--beta=", 7)) {
            static char buf[4096];
            snprintf(buf, sizeof buf, "--beta-grid=%s", argv[i] + 7);
            v[i] = buf;
        } else if (!strcmp(argv[i], "--alpha")) {
            v[i] = "--alpha-list";
        } else if (!strncmp(argv[i], "--alpha=", 8)) {
            static char buf[4096];
            snprintf(buf, sizeof buf, "--alpha-list=%s", argv[i] + 8);
            v[i] = buf;
        }
    }
    return v;
}

// The process umask, read without changing it (other threads may be creating
// files): /proc/self/status, 022 when that is unavailable.
static mode_t current_umask(void) {
    mode_t mask = 022;
    FILE *s = fopen("/proc/self/status", "re");
    if (s) {
        char line[256];
        while (fgets(line, sizeof line, s))
            if (!strncmp(line, "Umask:", 6)) {
                mask = (mode_t)strtol(line + 6, NULL, 8);
                break;
            }
        fclose(s);
    }
    return mask;
}

// ----------------------------------------------------------------------------
// the results directory: every file of a run or none
//
// The files are written into a staging directory first and checked; only
// then do they take their places. When the results directory does not exist
// yet, the staging directory is "<dir>.tmp.XXXXXX" beside it (after creating
// any missing parents) and one rename makes the whole directory appear. When
// it exists (a rerun, or a directory of the user's), the staging directory is
// "<dir>/.srs-eval.tmp.XXXXXX" and the files are renamed one by one, each
// file they replace kept as a hard link in the staging directory until all
// renames succeeded, and put back if one fails; files of the set that this
// run does not write (eval.png of an earlier run with --plot none) go too,
// so the directory never mixes two runs. On failure the staging directory
// and every directory the run created are removed; on SIGINT, SIGTERM,
// SIGHUP and SIGPIPE the handler in cli.c does the same (the registry).

// Every file a run may write, in commit order: metrics.csv last.
static const char *const result_files[] = {"plot.dat", "plot.gp", "eval.png", "eval.svg", "config.ini",
                                           "metrics.json", "metrics.csv"};
#define N_RESULT_FILES ((int)(sizeof result_files / sizeof result_files[0]))
#define RPATH 1400

typedef struct {
    char dir[RPATH];              // the results directory
    char stage[RPATH];            // where the files are written first
    int whole;                    // 1: stage is renamed to dir (dir did not exist)
    char made[16][RPATH];         // parent directories this run created, outermost first
    int n_made, made_reg[16];
    int stage_reg;
    int written[N_RESULT_FILES];  // registry slot + 1... of the staged files (0: not written)
} results_t;

static int result_index(const char *name) {
    for (int k = 0; k < N_RESULT_FILES; k++)
        if (!strcmp(result_files[k], name)) return k;
    return -1;
}

// Removes what the run created; the results directory is as it was.
static void results_abort(results_t *r) {
    char p[2 * RPATH];
    for (int k = 0; k < N_RESULT_FILES; k++) {
        snprintf(p, sizeof p, "%s/%s", r->stage, result_files[k]);
        if (r->written[k]) unlink(p);
        srs_cleanup_remove(r->written[k] > 0 ? r->written[k] : 0);
        r->written[k] = 0;
        snprintf(p, sizeof p, "%s/%s.old", r->stage, result_files[k]);
        unlink(p);  // a backup link of a failed commit (already put back, or never made)
    }
    if (r->stage[0]) rmdir(r->stage);
    srs_cleanup_remove(r->stage_reg);
    for (int i = r->n_made - 1; i >= 0; i--) {
        rmdir(r->made[i]);
        srs_cleanup_remove(r->made_reg[i]);
    }
    r->n_made = 0;
    r->stage[0] = '\0';
}

// Creates the staging directory for dir (and dir's missing parents). 0, or
// an exit code with a message printed and nothing left.
static int results_begin(results_t *r, const char *dir) {
    memset(r, 0, sizeof *r);
    if (strlen(dir) + 40 >= RPATH) {
        cli_msg("%s: path too long", dir);
        return EXIT_USAGE;
    }
    snprintf(r->dir, sizeof r->dir, "%s", dir);
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            cli_msg("%s: not a directory (the results directory)", dir);
            return EXIT_RUNTIME;
        }
        for (int k = 0; k < N_RESULT_FILES; k++) {
            char p[2 * RPATH];
            snprintf(p, sizeof p, "%s/%s", dir, result_files[k]);
            if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
                cli_msg("%s: is a directory; it cannot be replaced by the results", p);
                return EXIT_RUNTIME;
            }
        }
        snprintf(r->stage, sizeof r->stage, "%s/.srs-eval.tmp.XXXXXX", dir);
    } else if (errno != ENOENT) {
        cli_msg("%s: %s", dir, strerror(errno));
        return EXIT_RUNTIME;
    } else {
        // the missing parents, outermost first (removed again on failure)
        char buf[RPATH];
        snprintf(buf, sizeof buf, "%s", dir);
        for (char *p = buf + 1; *p; p++) {
            if (*p != '/') continue;
            *p = '\0';
            if (mkdir(buf, 0777) == 0) {
                if (r->n_made == 16) {
                    rmdir(buf);
                    cli_msg("%s: more than 16 directories to create", dir);
                    results_abort(r);
                    return EXIT_RUNTIME;
                }
                snprintf(r->made[r->n_made], RPATH, "%s", buf);
                r->made_reg[r->n_made++] = srs_cleanup_add(buf, 1);
            } else if (errno != EEXIST) {
                cli_msg("cannot create %s: %s", buf, strerror(errno));
                results_abort(r);
                return EXIT_RUNTIME;
            }
            *p = '/';
        }
        size_t n = strlen(buf);
        while (n > 1 && buf[n - 1] == '/') buf[--n] = '\0';  // "out/" -> "out.tmp.XXXXXX"
        snprintf(r->stage, sizeof r->stage, "%s.tmp.XXXXXX", buf);
        r->whole = 1;
    }
    if (!mkdtemp(r->stage)) {
        cli_msg("cannot create a directory beside %s: %s", dir, strerror(errno));
        r->stage[0] = '\0';
        results_abort(r);
        return EXIT_RUNTIME;
    }
    (void)chmod(r->stage, 0777 & ~current_umask());  // mkdtemp makes 0700; a results directory is shared as usual
    r->stage_reg = srs_cleanup_add(r->stage, 1);
    return 0;
}

// A new file `name` (one of result_files) in the staging directory.
static FILE *results_open(results_t *r, const char *name) {
    int k = result_index(name);
    char p[2 * RPATH];
    snprintf(p, sizeof p, "%s/%s", r->stage, name);
    FILE *f = fopen(p, "w");
    if (f && k >= 0) {
        int slot = srs_cleanup_add(p, 0);
        r->written[k] = slot > 0 ? slot : -1;
    }
    return f;
}

// Marks a file that something else (gnuplot) wrote into the staging directory.
static void results_adopt(results_t *r, const char *name) {
    int k = result_index(name);
    char p[2 * RPATH];
    snprintf(p, sizeof p, "%s/%s", r->stage, name);
    if (k >= 0 && !r->written[k]) {
        int slot = srs_cleanup_add(p, 0);
        r->written[k] = slot > 0 ? slot : -1;
    }
}

// The files take their places, all or none. 0, or an exit code (message
// printed; the results directory as it was).
static int results_commit(results_t *r) {
    char src[2 * RPATH], dst[2 * RPATH], old[2 * RPATH];
    if (r->whole) {
        if (rename(r->stage, r->dir) == 0) {
            for (int k = 0; k < N_RESULT_FILES; k++) srs_cleanup_remove(r->written[k] > 0 ? r->written[k] : 0);
            srs_cleanup_remove(r->stage_reg);
            for (int i = 0; i < r->n_made; i++) srs_cleanup_remove(r->made_reg[i]);
            return 0;
        }
        if (errno != EEXIST && errno != ENOTEMPTY && errno != ENOTDIR) {
            cli_msg("cannot rename %s to %s: %s", r->stage, r->dir, strerror(errno));
            results_abort(r);
            return EXIT_RUNTIME;
        }
        // the directory appeared meanwhile: file by file below
    }
    int had[N_RESULT_FILES] = {0}, moved = -1, rc = 0;
    for (int k = 0; k < N_RESULT_FILES; k++) {
        snprintf(dst, sizeof dst, "%s/%s", r->dir, result_files[k]);
        snprintf(old, sizeof old, "%s/%s.old", r->stage, result_files[k]);
        had[k] = link(dst, old) == 0;
    }
    for (int k = 0; k < N_RESULT_FILES; k++) {
        snprintf(src, sizeof src, "%s/%s", r->stage, result_files[k]);
        snprintf(dst, sizeof dst, "%s/%s", r->dir, result_files[k]);
        int bad = r->written[k] ? rename(src, dst) != 0 : had[k] && unlink(dst) != 0 && errno != ENOENT;
        if (bad) {
            cli_msg("cannot %s %s: %s; the results directory is left as it was", r->written[k] ? "write" : "remove",
                    dst, strerror(errno));
            rc = EXIT_RUNTIME;
            break;
        }
        moved = k;
    }
    for (int k = moved; rc && k >= 0; k--) {  // undo: the earlier files back
        snprintf(dst, sizeof dst, "%s/%s", r->dir, result_files[k]);
        snprintf(old, sizeof old, "%s/%s.old", r->stage, result_files[k]);
        if (had[k]) rename(old, dst);
        else if (r->written[k]) unlink(dst);
    }
    for (int k = 0; k < N_RESULT_FILES; k++) {
        snprintf(old, sizeof old, "%s/%s.old", r->stage, result_files[k]);
        unlink(old);
        if (!rc) {
            srs_cleanup_remove(r->written[k] > 0 ? r->written[k] : 0);
            r->written[k] = 0;
        }
    }
    results_abort(r);  // the staging directory (and, on failure, what is left in it)
    return rc;
}

// ----------------------------------------------------------------------------
// labels and numbers

static void arm_label(const srs_eval_arm_t *a, char *buf, size_t n) {
    if (a->kind == SRS_ARM_BASE) snprintf(buf, n, "base policy");
    else if (a->kind == SRS_ARM_BEST_OF_N) snprintf(buf, n, "best-of-%lld", (long long)a->n);
    else if (a->design == SRS_DESIGN_SOFT || a->design == SRS_DESIGN_MEANSOFT)
        snprintf(buf, n, "%s (alpha %g)", srs_design_name(a->design), a->alpha);
    else snprintf(buf, n, "%s", srs_design_name(a->design));
}

static const char *arm_design(const srs_eval_arm_t *a) {
    return a->kind == SRS_ARM_BASE ? "base" : a->kind == SRS_ARM_BEST_OF_N ? "best-of-n" : srs_design_name(a->design);
}

static int arm_has_alpha(const srs_eval_arm_t *a) {
    return a->kind == SRS_ARM_DESIGN && (a->design == SRS_DESIGN_SOFT || a->design == SRS_DESIGN_MEANSOFT);
}

// Shortest round-trip text of x, or `nan` for NaN.
static const char *num(char *buf, size_t n, double x, const char *nan) {
    if (isnan(x)) return nan;
    srs_fmt_double(buf, n, x);
    return buf;
}

// ----------------------------------------------------------------------------
// writers

// The metrics whose paired differences against raw metrics.csv and
// metrics.json carry, as {metric}_vs_raw, _lo, _hi after every other column
// (existing readers keep their columns): the two utilities, what a user
// compares designs by.
static const srs_metric_t vs_raw_metrics[] = {SRS_MET_PROXY, SRS_MET_GOLD};
#define N_VS_RAW ((int)(sizeof vs_raw_metrics / sizeof vs_raw_metrics[0]))

static void write_csv(FILE *f, const srs_eval_opts_t *o, const srs_eval_result_t *r) {
    fprintf(f, "design,alpha,n,beta,inv_beta");
    for (int m = 0; m < SRS_MET_COUNT_; m++) {
        const char *nm = srs_metric_name((srs_metric_t)m);
        fprintf(f, ",%s,%s_lo,%s_hi", nm, nm, nm);
    }
    for (int k = 0; k < N_VS_RAW; k++) {
        const char *nm = srs_metric_name(vs_raw_metrics[k]);
        fprintf(f, ",%s_vs_raw,%s_vs_raw_lo,%s_vs_raw_hi", nm, nm, nm);
    }
    fputc('\n', f);
    char b[40];
    for (int bi = 0; bi < o->n_betas; bi++)
        for (int ai = 0; ai < o->n_arms; ai++) {
            const srs_eval_arm_t *a = &o->arms[ai];
            fprintf(f, "%s,", arm_design(a));
            if (arm_has_alpha(a)) fputs(num(b, sizeof b, a->alpha, ""), f);
            fputc(',', f);
            if (a->kind == SRS_ARM_BEST_OF_N) fprintf(f, "%lld", (long long)a->n);
            fprintf(f, ",%s", num(b, sizeof b, o->betas[bi], ""));
            fprintf(f, ",%s", num(b, sizeof b, 1.0 / o->betas[bi], ""));
            for (int m = 0; m < SRS_MET_COUNT_; m++) {
                const srs_est_t *e = srs_eval_cell(r, bi, ai, (srs_metric_t)m);
                fprintf(f, ",%s", num(b, sizeof b, e->mean, ""));
                fprintf(f, ",%s", num(b, sizeof b, e->lo, ""));
                fprintf(f, ",%s", num(b, sizeof b, e->hi, ""));
            }
            for (int k = 0; k < N_VS_RAW; k++) {
                const srs_est_t *e = srs_eval_diff_raw(r, bi, ai, vs_raw_metrics[k]);
                fprintf(f, ",%s", num(b, sizeof b, e->mean, ""));
                fprintf(f, ",%s", num(b, sizeof b, e->lo, ""));
                fprintf(f, ",%s", num(b, sizeof b, e->hi, ""));
            }
            fputc('\n', f);
        }
}

static void json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

static void write_json(FILE *f, const srs_eval_cfg_t *cfg, const char *input, const srs_eval_opts_t *o,
                       const srs_eval_result_t *r) {
    char b[40];
    fprintf(f, "{\n  \"run\": ");
    json_str(f, cfg->name);
    fprintf(f, ",\n  \"input\": ");
    json_str(f, input);
    fprintf(f, ",\n  \"n_prompts\": %lld,\n  \"has_gold\": %s,\n  \"preset\": \"%s\",\n  \"B\": %s,\n",
            (long long)r->n_prompts, r->has_gold ? "true" : "false", srs_preset_name(o->to.preset),
            num(b, sizeof b, o->to.B, "null"));
    fprintf(f, "  \"threshold\": ");
    if (o->fixed_threshold) fprintf(f, "{\"fixed_beta\": %s}", num(b, sizeof b, o->to.beta, "null"));
    else fprintf(f, "\"per-beta\"");
    fprintf(f, ",\n  \"replicates\": %d,\n  \"confidence\": %s,\n  \"seed\": %llu,\n  \"rows\": [\n",
            o->replicates, num(b, sizeof b, o->confidence, "null"), (unsigned long long)o->seed);
    int first = 1;
    for (int bi = 0; bi < o->n_betas; bi++)
        for (int ai = 0; ai < o->n_arms; ai++) {
            const srs_eval_arm_t *a = &o->arms[ai];
            fprintf(f, "%s    {\"design\": \"%s\", \"alpha\": %s", first ? "" : ",\n", arm_design(a),
                    arm_has_alpha(a) ? num(b, sizeof b, a->alpha, "null") : "null");
            first = 0;
            if (a->kind == SRS_ARM_BEST_OF_N) fprintf(f, ", \"n\": %lld", (long long)a->n);
            else fprintf(f, ", \"n\": null");
            fprintf(f, ", \"beta\": %s", num(b, sizeof b, o->betas[bi], "null"));
            fprintf(f, ", \"inv_beta\": %s", num(b, sizeof b, 1.0 / o->betas[bi], "null"));
            for (int m = 0; m < SRS_MET_COUNT_; m++) {
                const srs_est_t *e = srs_eval_cell(r, bi, ai, (srs_metric_t)m);
                const char *nm = srs_metric_name((srs_metric_t)m);
                fprintf(f, ", \"%s\": %s", nm, num(b, sizeof b, e->mean, "null"));
                fprintf(f, ", \"%s_lo\": %s", nm, num(b, sizeof b, e->lo, "null"));
                fprintf(f, ", \"%s_hi\": %s", nm, num(b, sizeof b, e->hi, "null"));
            }
            for (int k = 0; k < N_VS_RAW; k++) {
                const srs_est_t *e = srs_eval_diff_raw(r, bi, ai, vs_raw_metrics[k]);
                const char *nm = srs_metric_name(vs_raw_metrics[k]);
                fprintf(f, ", \"%s_vs_raw\": %s", nm, num(b, sizeof b, e->mean, "null"));
                fprintf(f, ", \"%s_vs_raw_lo\": %s", nm, num(b, sizeof b, e->lo, "null"));
                fprintf(f, ", \"%s_vs_raw_hi\": %s", nm, num(b, sizeof b, e->hi, "null"));
            }
            fputc('}', f);
        }
    fprintf(f, "\n  ]\n}\n");
}

static void print_table(const srs_eval_opts_t *o, const srs_eval_result_t *r) {
    char lab[64];
    for (int bi = 0; bi < o->n_betas; bi++) {
        printf("\n1/β = %g (β = %g)\n", 1.0 / o->betas[bi], o->betas[bi]);
        printf("  %-20s %19s %19s %8s %7s %8s %8s\n", "design", "proxy", "gold", "KL(q‖p)", "ESS",
               "win-tie", "vs raw");
        for (int ai = 0; ai < o->n_arms; ai++) {
            arm_label(&o->arms[ai], lab, sizeof lab);
            const srs_est_t *pr = srs_eval_cell(r, bi, ai, SRS_MET_PROXY);
            const srs_est_t *go = srs_eval_cell(r, bi, ai, SRS_MET_GOLD);
            printf("  %-20s %9.4f ± %-7.4f", lab, pr->mean, (pr->hi - pr->lo) / 2);
            if (r->has_gold) printf(" %9.4f ± %-7.4f", go->mean, (go->hi - go->lo) / 2);
            else printf(" %19s", "-");
            printf(" %8.4f %7.2f %8.4f %8.4f\n", srs_eval_cell(r, bi, ai, SRS_MET_KL)->mean,
                   srs_eval_cell(r, bi, ai, SRS_MET_ESS)->mean, srs_eval_cell(r, bi, ai, SRS_MET_WIN_TIE)->mean,
                   srs_eval_cell(r, bi, ai, SRS_MET_WIN_TIE_RAW)->mean);
        }
    }
    printf("\n± half-width of the %g%% bootstrap interval (%d replicates); win-tie: against the base\n"
           "policy, vs raw: win-tie against the raw design at the same β; by %s.\n",
           100 * o->confidence, o->replicates, r->has_gold ? "gold utility" : "proxy reward");
}

// ----------------------------------------------------------------------------
// the plot: gnuplot script and data, rendered when gnuplot is installed
//
// Three panels: each design's utility against 1/β (log2 axis), its paired
// difference against raw at the same β (srs_eval_diff_raw: intervals from the
// same replicates, so an advantage the levels' intervals bury shows), and the
// utility against KL (the over-optimisation frontier, with best-of-n). In the
// first two, design i of k sits at 1/β · 2^(dx (i − (k−1)/2)), dx a small
// fraction of an octave (a variable of the script, to restyle), so the error
// bars stand side by side instead of on each other; the x range is padded by
// the offsets and a margin, so the outermost bars are drawn whole.

static int arm_is_raw(const srs_eval_arm_t *a) {
    return a->kind == SRS_ARM_DESIGN && a->design == SRS_DESIGN_RAW;
}

static void write_plot_data(FILE *f, const srs_eval_opts_t *o, const srs_eval_result_t *r, srs_metric_t y) {
    // one block (gnuplot index) per design arm over beta, then best-of-n over n;
    // d: the paired difference of y against raw at the same beta
    char lab[64];
    for (int ai = 0; ai < o->n_arms; ai++) {
        if (o->arms[ai].kind == SRS_ARM_BEST_OF_N) continue;
        arm_label(&o->arms[ai], lab, sizeof lab);
        fprintf(f, "# %s\n# inv_beta y y_lo y_hi kl d d_lo d_hi\n", lab);
        for (int bi = 0; bi < o->n_betas; bi++) {
            const srs_est_t *e = srs_eval_cell(r, bi, ai, y), *d = srs_eval_diff_raw(r, bi, ai, y);
            fprintf(f, "%.10g %.10g %.10g %.10g %.10g %.10g %.10g %.10g\n", 1.0 / o->betas[bi], e->mean, e->lo,
                    e->hi, srs_eval_cell(r, bi, ai, SRS_MET_KL)->mean, d->mean, d->lo, d->hi);
        }
        fprintf(f, "\n\n");
    }
    fprintf(f, "# best-of-n\n# n y y_lo y_hi kl\n");
    for (int ai = 0; ai < o->n_arms; ai++) {
        if (o->arms[ai].kind != SRS_ARM_BEST_OF_N) continue;
        const srs_est_t *e = srs_eval_cell(r, 0, ai, y);
        fprintf(f, "%lld %.10g %.10g %.10g %.10g\n", (long long)o->arms[ai].n, e->mean, e->lo, e->hi,
                srs_eval_cell(r, 0, ai, SRS_MET_KL)->mean);
    }
    fprintf(f, "\n\n");
}

// Distinct colours that read on white (gnuplot's default cycle has a pale yellow).
static const char *const palette[] = {"#7f7f7f", "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                      "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#393b79", "#637939"};
#define PAL(i) palette[(i) % (int)(sizeof palette / sizeof palette[0])]

// The offset between neighbouring designs, in octaves of 1/β, for k designs:
// together they span at most 0.4 of the smallest gap between two strengths
// (of an octave with one strength), and neighbours at most 0.08 octave apart.
static double plot_dx(const srs_eval_opts_t *o, int k) {
    double gap = INFINITY;
    for (int i = 0; i < o->n_betas; i++)
        for (int j = 0; j < i; j++) {
            double g = fabs(log2(o->betas[i] / o->betas[j]));
            if (g > 0 && g < gap) gap = g;
        }
    if (isinf(gap)) gap = 1;
    double dx = k > 1 ? 0.4 * gap / (k - 1) : 0;
    return dx < 0.08 ? dx : 0.08;
}

// s as a gnuplot double-quoted string ("\" and "\"" escaped, control
// characters dropped); the title using it is set noenhanced, so "_" and "^"
// in a file name stay as they are.
static void gp_str(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c >= 0x20 && c != 0x7f) fputc(c, f);
    }
    fputc('"', f);
}

// The title's subject: the run's name when one was chosen (any but the
// default name "default"), else the input's file name, else nothing.
static const char *plot_subject(const srs_eval_cfg_t *cfg, const char *input) {
    if (cfg->name[0] && strcmp(cfg->name, "default")) return cfg->name;
    const char *slash = input ? strrchr(input, '/') : NULL;
    return slash ? slash + 1 : input ? input : "";
}

static void write_plot_script(FILE *f, const srs_eval_cfg_t *cfg, const char *input, const srs_eval_opts_t *o,
                              const srs_eval_result_t *r, const char *ylabel) {
    char lab[64], title[1600];
    int k = 0, has_bon = 0;  // design blocks in plot.dat; best-of-n arms
    for (int ai = 0; ai < o->n_arms; ai++) {
        has_bon |= o->arms[ai].kind == SRS_ARM_BEST_OF_N;
        k += o->arms[ai].kind != SRS_ARM_BEST_OF_N;
    }
    double xmin = INFINITY, xmax = 0;
    for (int bi = 0; bi < o->n_betas; bi++) {
        xmin = fmin(xmin, 1.0 / o->betas[bi]);
        xmax = fmax(xmax, 1.0 / o->betas[bi]);
    }
    const char *subject = plot_subject(cfg, input);
    snprintf(title, sizeof title, "%s%s%s (%lld prompts, preset %s, B %g; %g%% bootstrap intervals)", subject,
             subject[0] ? ": " : "", ylabel, (long long)r->n_prompts, srs_preset_name(o->to.preset), o->to.B,
             100 * o->confidence);
    fprintf(f, "# srs eval plot: run `gnuplot plot.gp` in this directory (term=\"svg\" for SVG)\n"
               "if (!exists(\"term\")) term = \"%s\"\n"
               "if (!exists(\"outfile\")) outfile = \"eval.\" . term\n"
               "if (term eq \"svg\") {\n"
               "    set terminal svg size 1800,560 dynamic enhanced font \"sans,12\" background rgb \"white\"\n"
               "} else {\n"
               "    if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) {\n"
               "        set terminal pngcairo size 1800,560 enhanced font \"sans,10\" background rgb \"white\"\n"
               "    } else {\n"
               "        set terminal png size 1800,560\n"
               "    }\n"
               "}\n"
               "set output outfile\n"
               "set datafile commentschars \"#\"\n"
               "set grid lc rgb \"#dddddd\"\n"
               "set key outside right top samplen 2 spacing 1.1 font \",9\"\n"
               "set offsets graph 0.03, graph 0.03, graph 0.05, graph 0.05  # no point on a border\n",
            strcmp(cfg->plot, "svg") ? "png" : "svg");
    // design i of k at 1/beta * 2^(dx * (i - c)), c = (k-1)/2 (see above)
    fprintf(f, "# the designs side by side around each 1/β: neighbours dx octaves apart\n"
               "dx = %.4g\nc = %.17g\n"
               "set multiplot layout 1,3 title ",
            plot_dx(o, k), (k - 1) / 2.0);
    gp_str(f, title);
    fprintf(f, " noenhanced\n");
    // panels 1 and 2 over 1/beta: the outermost offsets plus a third of an octave each side
    fprintf(f, "set logscale x 2\nset xrange [%.17g * 2**(-dx*c - 0.33) : %.17g * 2**(dx*c + 0.33)]\n"
               "set xlabel \"1/β (inference-time strength λ)\"\nunset key\n",
            xmin, xmax);
    for (int panel = 1; panel <= 2; panel++) {
        if (panel == 1)
            fprintf(f, "set ylabel \"%s\"\nset title \"%s against 1/β\"\nplot \\\n", ylabel, ylabel);
        else
            fprintf(f, "set ylabel \"%s − raw's\"\nset title \"paired difference against raw at the same β (same replicates)\"\n"
                       "plot 0 with lines dt 2 lw 1.5 lc rgb \"black\" notitle",
                    ylabel);
        int blk = 0, first = panel == 1;
        for (int ai = 0; ai < o->n_arms; ai++) {
            const srs_eval_arm_t *a = &o->arms[ai];
            if (a->kind == SRS_ARM_BEST_OF_N) continue;
            // raw against itself is the zero line; the base policy, far below
            // every design, would squash their differences (it is in metrics.csv)
            if (panel == 1 || (!arm_is_raw(a) && a->kind != SRS_ARM_BASE)) {
                arm_label(a, lab, sizeof lab);
                fprintf(f, "%s    'plot.dat' index %d using ($1 * 2**(dx * (%d - c))):%s with yerrorlines "
                           "lw 2 pt 7 ps 0.6 lc rgb \"%s\" title \"%s\"",
                        first ? "" : ", \\\n", blk, blk, panel == 1 ? "2:3:4" : "6:7:8", PAL(blk), lab);
                first = 0;
            }
            blk++;
        }
        fprintf(f, "\n");
    }
    // panel 3: utility against KL, the over-optimisation frontier
    fprintf(f, "unset logscale x\nset xrange [0:*]  # KL >= 0: the base policy on the left border\n"
               "set offsets 0, graph 0.03, graph 0.05, graph 0.05\nset xlabel \"KL(q‖p), nats\"\nset ylabel \"%s\"\n"
               "set title \"%s against KL (frontier)\"\nset key\nplot \\\n",
            ylabel, ylabel);
    int blk = 0, first = 1;
    for (int ai = 0; ai < o->n_arms; ai++) {
        if (o->arms[ai].kind == SRS_ARM_BEST_OF_N) continue;
        arm_label(&o->arms[ai], lab, sizeof lab);
        fprintf(f, "%s    'plot.dat' index %d using 5:2 with linespoints lw 2 pt 7 ps 0.6 lc rgb \"%s\" title \"%s\"",
                first ? "" : ", \\\n", blk, PAL(blk), lab);
        first = 0;
        blk++;
    }
    if (has_bon)
        fprintf(f, "%s    'plot.dat' index %d using 5:2 with linespoints dt 2 lw 2 pt 5 ps 0.6 lc rgb \"black\" "
                   "title \"best-of-n\", \\\n"
                   "    'plot.dat' index %d using 5:2:(sprintf(\"n=%%d\", $1)) with labels offset 0,0.8 "
                   "font \",8\" notitle",
                first ? "" : ", \\\n", blk, blk);
    fprintf(f, "\nunset multiplot\nset output\n");
}

// Runs gnuplot on dir/plot.gp writing dir/<tmpname> (the staging directory);
// 0 rendered, 1 gnuplot missing, 2 gnuplot failed. posix_spawn rather than
// fork: no copy of a large process, and it works where fork does not
// (qemu-user, make test-arm64).
static int render_plot(const char *dir, const char *term, const char *tmpname) {
    char e1[256];
    snprintf(e1, sizeof e1, "term='%s'; outfile='%s'", term, tmpname);
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa) != 0) return 2;
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_addchdir_np(&fa, dir);
    char *const argv[] = {"gnuplot", "-e", e1, "plot.gp", NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "gnuplot", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc == ENOENT) return 1;
    if (rc != 0) return 2;
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (!WIFEXITED(status)) return 2;
    if (WEXITSTATUS(status) == 127) return 1;
    return WEXITSTATUS(status) == 0 ? 0 : 2;
}

// ----------------------------------------------------------------------------
// the run

int cli_eval_run(srs_ctx_t *ctx, const srs_eval_cfg_t *cfg, const srs_data_t *d, const char *dir, int quiet) {
    srs_eval_arm_t arms[MAX_ARMS + 1];
    int n_arms = srs_eval_cfg_arms(cfg, arms, MAX_ARMS);
    if (n_arms < 0) {
        cli_msg("more than %d designs x alphas + best-of-n", MAX_ARMS);
        return EXIT_USAGE;
    }
    // The differences against raw need the raw design: when the designs do
    // not include it, it is evaluated as one more arm, last, that the outputs
    // do not show (they describe the first n_arms: `shown`).
    int has_raw = 0;
    for (int i = 0; i < n_arms; i++)
        has_raw |= arms[i].kind == SRS_ARM_DESIGN && arms[i].design == SRS_DESIGN_RAW;
    int n_eval = n_arms;
    if (!has_raw) {
        memset(&arms[n_eval], 0, sizeof arms[n_eval]);
        arms[n_eval].kind = SRS_ARM_DESIGN;
        arms[n_eval++].design = SRS_DESIGN_RAW;
    }
    srs_eval_opts_t o = srs_eval_cfg_opts(cfg, arms, n_eval);
    if (srs_eval_opts_check(ctx, &o) != SRS_OK) {
        cli_msg("%s", srs_ctx_last_error(ctx));
        return EXIT_USAGE;
    }
    const srs_batch_t *b = srs_data_batch(d);
    double *acc = calloc(srs_eval_acc_len(&o), sizeof(double));
    int rc = 0;
    if (!acc) {
        cli_msg("out of memory for the bootstrap sums");
        rc = EXIT_RUNTIME;  // still reaches the agreement below, as every rank must
    }
    // Under MPI each rank accumulates its own rows (their global indices key
    // the bootstrap), the sums are added in rank order, and rank 0 reports.
    if (!rc && g_warmup && b->n_prompts > 0) {
        // one untimed accumulation of the first chunk: a GPU context's set-up,
        // its buffers and cuBLAS handles then stay out of the timing below
        double *scratch = calloc(srs_eval_acc_len(&o), sizeof(double));
        int64_t n = b->n_prompts < cfg->chunk ? b->n_prompts : cfg->chunk;
        srs_batch_t sub = cli_sub_batch(b, 0, n);
        if (scratch) (void)srs_eval_accumulate(ctx, &sub, &o, scratch);  // errors: reported by the run below
        free(scratch);
    }
    double dev0 = 0, dev1 = 0;
    int64_t chunks0 = 0, chunks1 = 0;
#ifdef SRS_WITH_CUDA
    if (srs_ctx_device(ctx) == SRS_DEVICE_CUDA) srs_cuda_eval_device_time(ctx, &dev0, &chunks0);
#endif
    srs_progress_t pg;
    srs_progress_start(&pg, "eval", "prompts", b->n_prompts, !quiet && srs_mpi_rank() == 0);
    double t0 = srs_now();
    for (int64_t i0 = 0; !rc && i0 < b->n_prompts; i0 += cfg->chunk) {
        int64_t n = b->n_prompts - i0 < cfg->chunk ? b->n_prompts - i0 : cfg->chunk;
        srs_batch_t sub = cli_sub_batch(b, i0, n);
        if (srs_eval_accumulate(ctx, &sub, &o, acc) != SRS_OK) {
            srs_progress_end(&pg, i0);
            cli_report_row_error(ctx, d);
            rc = EXIT_RUNTIME;
            break;
        }
        srs_progress_update(&pg, i0 + n);
    }
    if (!rc) srs_progress_end(&pg, b->n_prompts);
    if ((rc = srs_mpi_agree(rc)) || (rc = srs_mpi_sum_ordered(acc, srs_eval_acc_len(&o)))) {
        free(acc);
        return rc;
    }
    double t1 = srs_now();
#ifdef SRS_WITH_CUDA
    if (srs_ctx_device(ctx) == SRS_DEVICE_CUDA) srs_cuda_eval_device_time(ctx, &dev1, &chunks1);
#endif
    srs_eval_result_t res;
    srs_status_t st = srs_eval_finalize(ctx, &o, acc, &res);
    free(acc);
    if (st != SRS_OK) {
        cli_msg("%s: %s", srs_data_path(d), srs_ctx_last_error(ctx));
        return EXIT_RUNTIME;
    }
    if (srs_mpi_rank() != 0) {  // the other ranks' part is done
        srs_eval_result_free(&res);
        return 0;
    }

    srs_eval_opts_t shown = o;  // the arms asked for: o without the added raw arm
    shown.n_arms = n_arms;

    // files: written into a staging directory, committed together
    results_t rs;
    if ((rc = results_begin(&rs, dir)) != 0) {
        srs_eval_result_free(&res);
        return rc;
    }
    const char *input = srs_data_path(d);
    srs_metric_t y = res.has_gold ? SRS_MET_GOLD : SRS_MET_PROXY;
    const char *ylabel = res.has_gold ? "gold utility" : "proxy utility";
    int want_plot = strcmp(cfg->plot, "none") != 0;
    int ok = 1, e = 0;
    for (int k = 0; ok && k < 5; k++) {
        static const char *const names[5] = {"metrics.csv", "metrics.json", "config.ini", "plot.dat", "plot.gp"};
        if (k >= 3 && !want_plot) break;
        FILE *f = results_open(&rs, names[k]);
        if (!f) {
            ok = 0;
            e = errno;
            break;
        }
        if (k == 0) write_csv(f, &shown, &res);
        else if (k == 1) write_json(f, cfg, input, &shown, &res);
        else if (k == 2) {
            srs_eval_cfg_t rc_cfg = *cfg;
            if (!rc_cfg.input[0] && input[0]) snprintf(rc_cfg.input, sizeof rc_cfg.input, "%s", input);
            srs_eval_cfg_write(&rc_cfg, f);
        } else if (k == 3) write_plot_data(f, &shown, &res, y);
        else write_plot_script(f, cfg, input, &shown, &res, ylabel);
        errno = 0;
        int bad = fflush(f) != 0 || ferror(f);
        e = errno;
        if (fclose(f) != 0 && !bad) {
            bad = 1;
            e = errno;
        }
        ok = !bad;
    }
    if (!ok) {
        cli_msg("cannot write the results into %s: %s; nothing written", dir, strerror(e ? e : EIO));
        results_abort(&rs);
        srs_eval_result_free(&res);
        return EXIT_RUNTIME;
    }
    int pr = -1;
    char plot_name[32];
    snprintf(plot_name, sizeof plot_name, "eval.%s", cfg->plot);
    if (want_plot) {
        pr = render_plot(rs.stage, cfg->plot, plot_name);
        char pp[2 * RPATH];
        snprintf(pp, sizeof pp, "%s/%s", rs.stage, plot_name);
        if (pr == 0 && access(pp, F_OK) == 0) results_adopt(&rs, plot_name);
        else unlink(pp);  // a partial picture
    }
    if ((rc = results_commit(&rs)) != 0) {
        srs_eval_result_free(&res);
        return rc;
    }
    // the table too only once the files are there: a failed run prints no results
    int on_gpu = srs_ctx_device(ctx) == SRS_DEVICE_CUDA;
    printf("srs eval: %s — %lld prompts, %d designs × %d β on %s (%d threads) in %.3f s\n",
           srs_data_path(d)[0] ? srs_data_path(d) : "(generated)", (long long)res.n_prompts, n_arms,
           o.n_betas, srs_device_name(srs_ctx_device(ctx)), srs_ctx_threads(ctx), t1 - t0);
    if (on_gpu)  // the accumulation on the GPU's clock (rank 0's under MPI)
        printf("cuda: %.6f s of GPU time, one event pair around the accumulation (copies in, kernels, bootstrap "
               "GEMM, sums back; %lld chunks)\n",
               dev1 - dev0, (long long)(chunks1 - chunks0));
    printf("preset %s, B %g, threshold %s", srs_preset_name(o.to.preset), o.to.B,
           o.fixed_threshold ? "fixed at β = " : "re-solved per β");
    if (o.fixed_threshold) printf("%g", o.to.beta);
    printf("; gold: %s\n", res.has_gold ? "yes" : "no (proxy only)");
    print_table(&shown, &res);
    printf("\nresults: %s/metrics.csv, metrics.json, config.ini", dir);
    if (!want_plot) {
        printf("\n");
    } else if (pr == 0) {
        printf(", %s (plot.gp, plot.dat)\n", plot_name);
    } else {
        printf(", plot.gp, plot.dat\n");
        if (pr == 1)
            cli_msg("gnuplot is not installed: no plot rendered (plot.gp and plot.dat are in %s; "
                    "install gnuplot-nox and run `gnuplot plot.gp` there)", dir);
        else
            cli_msg("gnuplot failed: no plot rendered (plot.gp and plot.dat are in %s)", dir);
    }
    srs_eval_result_free(&res);
    return 0;
}

int srs_cmd_eval(int argc, char **argv) {
    eval_cli_t e;
    memset(&e, 0, sizeof e);
    char **av = rewrite_argv(argc, argv);
    if (!av) {
        cli_msg("out of memory");
        return EXIT_RUNTIME;
    }
    cli_args_t a;
    cli_args_init(&a, "eval");
    // sentinels: a common option left at its sentinel was not given
    a.to.preset = (srs_preset_t)-1;
    a.to.solver = (srs_solver_t)-1;
    a.to.B = a.to.cap = a.to.tol = NAN;
    a.to.max_iter = -1;
    a.so.clip = NAN;
    a.go.seed = UINT64_MAX;
    uint64_t allowed = CLI_THRESHOLD_OPTS | cli_bit('o') | cli_bit(CLI_OPT_CLIP) | cli_bit(CLI_OPT_SEED) |
                       cli_bit(CLI_OPT_FORMAT) | cli_bit(CLI_OPT_GOLD) | cli_bit(CLI_OPT_LOGW) |
                       cli_bit(CLI_OPT_DEVICE) | cli_bit(CLI_OPT_THREADS);
    int rc = cli_parse(argc, av, &a, allowed, eval_opts, eval_handle, &e);
    free(av);
    if (rc) return rc;
    if (a.help) {
        help_eval();
        return 0;
    }
    if (cli_given(&a, 'o'))
        return cli_usage_error("eval", "eval writes a results directory: give it with --out DIR, not -o");
    srs_eval_cfg_t cfg;
    srs_eval_cfg_default(&cfg);
    char err[1200];
    if (e.config && (rc = srs_eval_cfg_load(&cfg, e.config, err, sizeof err)) != 0) {
        cli_msg("%s", err);
        return rc == 1 ? EXIT_RUNTIME : EXIT_USAGE;
    }
    // the command line over the file
    if ((int)a.to.preset >= 0) cfg.to.preset = a.to.preset;
    if ((int)a.to.solver >= 0) cfg.to.solver = a.to.solver;
    if (!isnan(a.to.B)) cfg.to.B = a.to.B;
    if (!isnan(a.to.cap)) cfg.to.cap = a.to.cap;
    if (!isnan(a.to.tol)) cfg.to.tol = a.to.tol;
    if (a.to.max_iter >= 0) cfg.to.max_iter = a.to.max_iter;
    if (!isnan(a.so.clip)) cfg.clip = a.so.clip;
    if (a.go.seed != UINT64_MAX) cfg.seed = a.go.seed;
    for (int i = 0; i < e.n_set; i++)
        if (srs_eval_cfg_set(&cfg, e.set[i].sec, e.set[i].key, e.set[i].val, err, sizeof err) != 0)
            return cli_usage_error("eval", "%s", err);
    if (a.input) snprintf(cfg.input, sizeof cfg.input, "%s", a.input);
    if (!cfg.input[0]) return cli_usage_error("eval", "no INPUT (give a data file, or [run] input in the config)");
    // options given that the resolved configuration does not use
    if ((rc = cli_check_threshold_use(&a, &cfg.to, 0))) return rc;
    int soft = 0, cap = 0;
    for (int i = 0; i < cfg.n_designs; i++) {
        soft |= !strcmp(cfg.designs[i], "soft") || !strcmp(cfg.designs[i], "meansoft");
        cap |= !strcmp(cfg.designs[i], "cap");
    }
    if (e.alpha && !soft)
        return cli_usage_error("eval", "--alpha applies to the soft and meansoft designs, and --designs has neither");
    if (cli_given(&a, CLI_OPT_CLIP) && !cap)
        return cli_usage_error("eval", "--clip applies to the cap design, and --designs does not have it");
    char dir[1200];
    if (cfg.out[0]) snprintf(dir, sizeof dir, "%s", cfg.out);
    else snprintf(dir, sizeof dir, "srs-eval-%s", cfg.name);
    // the results never replace the data they are computed from
    {
        static const char *files[] = {"metrics.csv", "metrics.json", "config.ini", "plot.gp", "plot.dat",
                                      "eval.png", "eval.svg"};
        char outp[7][1300];
        const char *outs[7], *ins[3] = {cfg.input, a.gold, a.logw};
        for (int k = 0; k < 7; k++) {
            snprintf(outp[k], sizeof outp[k], "%s/%s", dir, files[k]);
            outs[k] = outp[k];
        }
        if ((rc = cli_check_distinct("eval", ins, 3, outs, 7))) return rc;
    }

    if ((rc = srs_mpi_start("eval"))) return rc;
    // from here every rank reaches every collective call; see cli_threshold.c
    srs_ctx_t *ctx = NULL;
    rc = cli_make_ctx(&a, &ctx);
    if ((rc = srs_mpi_agree(rc))) {
        srs_ctx_free(ctx);
        return srs_mpi_stop(rc);
    }
    srs_read_opts_t ro = {a.in_fmt, a.gold, a.logw};
    srs_data_t *d = NULL;
    if (!(rc = srs_mpi_read(ctx, cfg.input, &ro, &d))) rc = cli_eval_run(ctx, &cfg, d, dir, a.quiet);
    srs_data_free(d);
    srs_ctx_free(ctx);
    return srs_mpi_stop(rc);
}
