/*
 * cli.c — the `srs` command: threshold, shape, gen, demo.
 *
 * The only part of srs that prints and exits. Exit codes: 0 ok, 1 runtime
 * error (bad data, i/o, unavailable backend), 2 usage error (unknown option,
 * bad or absurd parameter).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "progress.h"
#include "srs.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

// Samples per chunk: the progress bar moves and the shaped buffer stays small.
#define CHUNK_SAMPLES (1 << 22)

// ----------------------------------------------------------------------------
// messages

static const char *prog = "srs";

static void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void msg(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s %s --help'.\n", prog, cmd);
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
    "  demo       gen -> threshold -> shape -> summary table, on an embedded default\n"
    "\n"
    "Run 'srs COMMAND --help' for a command's options; 'srs --version' for the version.\n";

static const char *help_threshold_opts =
    "Threshold options:\n"
    "  --preset P      exact (default) | paper-cd | paper-args\n"
    "                    exact:      B_eff = B, gamma = exp(B/beta)\n"
    "                    paper-cd:   B_eff = min(B, 2 range), gamma = exp(min(B_eff/beta, cap))\n"
    "                    paper-args: B_eff = min(B, 1.01 range), gamma = min(exp(B_eff/beta), 2)\n"
    "  --B X           reward bound, >= 0 (default 1)\n"
    "  --beta X        KL strength of the decoder, > 0 (default 1; lambda = 1/beta)\n"
    "  --cap X         paper-cd cap on log gamma (default 2)\n"
    "  --solver S      exact (default) | dinkelbach | bisect (the paper's)\n"
    "  --tol X         bisection tolerance relative to max(1, range) (default 1e-12)\n"
    "  --max-iter N    iteration bound for bisect/dinkelbach (default: enough)\n"
    "\n"
    "Input and run options:\n"
    "  -o, --output F  output file (.jsonl, .csv, .npy; '-' or absent: JSONL on stdout)\n"
    "  --format F      input format jsonl|npy|csv (default: by extension)\n"
    "  --out-format F  output format (default: by extension of -o)\n"
    "  --gold F        NPY gold companion (default: <stem>.gold.npy if present)\n"
    "  --logw F        NPY base log-weight companion (default: <stem>.logw.npy if present)\n"
    "  --device D      auto (default) | cpu | cuda\n"
    "  --threads N     CPU threads (default: all cores)\n"
    "  -q, --quiet     no progress bar\n"
    "  -h, --help      this help\n";

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
           "\n%s", help_threshold_opts);
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
           "  --alpha X       sigmoid sharpness, > 0 (default 1)\n"
           "  --clip X        the cap design's clip value (default: B)\n"
           "\n"
           "Example:\n"
           "  srs shape rewards.jsonl --design soft --alpha 1.0 --preset paper-cd --B 15 --beta 0.667 \\\n"
           "      -o shaped.jsonl\n"
           "\n%s", help_threshold_opts);
}

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
           "  --samples N     samples per prompt (default 16; the maximum with --ragged)\n"
           "  --ragged        row lengths uniform in [1, samples]\n"
           "  --with-logw     random base log-weights (N(0,1)) instead of uniform\n"
           "  --seed N        seed (default 1)\n"
           "  --dtype T       NPY dtype f32 | f64 (default f64)\n"
           "  --threads N     CPU threads\n"
           "  -h, --help      this help\n");
}

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
// option parsing

enum {
    OPT_PRESET = 1000, OPT_B, OPT_BETA, OPT_CAP, OPT_SOLVER, OPT_TOL, OPT_MAXIT, OPT_FORMAT, OPT_OUTFMT,
    OPT_GOLD, OPT_LOGW, OPT_DEVICE, OPT_THREADS, OPT_DESIGN, OPT_ALPHA, OPT_CLIP, OPT_SCENARIO,
    OPT_PROMPTS, OPT_SAMPLES, OPT_RAGGED, OPT_WLOGW, OPT_SEED, OPT_DTYPE, OPT_DIR,
};

static const struct option long_opts[] = {
    {"output", required_argument, 0, 'o'}, {"quiet", no_argument, 0, 'q'},
    {"help", no_argument, 0, 'h'},         {"preset", required_argument, 0, OPT_PRESET},
    {"B", required_argument, 0, OPT_B},    {"beta", required_argument, 0, OPT_BETA},
    {"cap", required_argument, 0, OPT_CAP}, {"solver", required_argument, 0, OPT_SOLVER},
    {"tol", required_argument, 0, OPT_TOL}, {"max-iter", required_argument, 0, OPT_MAXIT},
    {"format", required_argument, 0, OPT_FORMAT}, {"out-format", required_argument, 0, OPT_OUTFMT},
    {"gold", required_argument, 0, OPT_GOLD}, {"logw", required_argument, 0, OPT_LOGW},
    {"with-logw", no_argument, 0, OPT_WLOGW},
    {"device", required_argument, 0, OPT_DEVICE}, {"threads", required_argument, 0, OPT_THREADS},
    {"design", required_argument, 0, OPT_DESIGN}, {"alpha", required_argument, 0, OPT_ALPHA},
    {"clip", required_argument, 0, OPT_CLIP}, {"scenario", required_argument, 0, OPT_SCENARIO},
    {"prompts", required_argument, 0, OPT_PROMPTS}, {"samples", required_argument, 0, OPT_SAMPLES},
    {"ragged", no_argument, 0, OPT_RAGGED}, {"seed", required_argument, 0, OPT_SEED},
    {"dtype", required_argument, 0, OPT_DTYPE}, {"dir", required_argument, 0, OPT_DIR},
    {0, 0, 0, 0},
};

typedef struct {
    const char *cmd;
    const char *input, *output, *gold, *logw, *dir;
    srs_format_t in_fmt, out_fmt;
    srs_device_t device;
    int threads, quiet, help;
    srs_threshold_opts_t to;
    srs_shape_opts_t so;
    srs_gen_opts_t go;
    srs_dtype_t dtype;
} args_t;

static int parse_double(const char *cmd, const char *name, const char *s, double *out) {
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (end == s || *end || errno == ERANGE)
        return usage_error(cmd, "--%s: '%s' is not a number", name, s);
    *out = x;
    return 0;
}

static int parse_int(const char *cmd, const char *name, const char *s, long long lo, long long hi,
                     long long *out) {
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (end == s || *end || errno == ERANGE)
        return usage_error(cmd, "--%s: '%s' is not an integer", name, s);
    if (x < lo || x > hi) return usage_error(cmd, "--%s must be in [%lld, %lld], got %lld", name, lo, hi, x);
    *out = x;
    return 0;
}

#define ENUM_ARG(parse, field, what, choices)                                               \
    if (parse(optarg, &(field)) != SRS_OK)                                                 \
        return usage_error(a->cmd, "unknown " what " '%s' (choose from " choices ")", optarg); \
    break

// Parses argv into a (after the command word). Returns 0 or an exit code.
static int parse_args(int argc, char **argv, args_t *a) {
    long long v;
    double x;
    int rc;
    optind = 1;
    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, ":o:qh", long_opts, NULL);
        if (c == -1) break;
        switch (c) {
        case 'o': a->output = optarg; break;
        case 'q': a->quiet = 1; break;
        case 'h': a->help = 1; break;
        case OPT_PRESET: ENUM_ARG(srs_preset_parse, a->to.preset, "preset", "exact, paper-cd, paper-args");
        case OPT_SOLVER: ENUM_ARG(srs_solver_parse, a->to.solver, "solver", "exact, dinkelbach, bisect");
        case OPT_DESIGN:
            ENUM_ARG(srs_design_parse, a->so.design, "design", "raw, hard, soft, minmax, meanstd, cap, meansoft");
        case OPT_SCENARIO: ENUM_ARG(srs_scenario_parse, a->go.scenario, "scenario", "overopt, gauss, twopoint");
        case OPT_DEVICE: ENUM_ARG(srs_device_parse, a->device, "device", "auto, cpu, cuda");
        case OPT_FORMAT: ENUM_ARG(srs_format_parse, a->in_fmt, "format", "jsonl, npy, csv");
        case OPT_OUTFMT: ENUM_ARG(srs_format_parse, a->out_fmt, "format", "jsonl, npy, csv");
        case OPT_B: if ((rc = parse_double(a->cmd, "B", optarg, &a->to.B))) return rc; break;
        case OPT_BETA: if ((rc = parse_double(a->cmd, "beta", optarg, &a->to.beta))) return rc; break;
        case OPT_CAP: if ((rc = parse_double(a->cmd, "cap", optarg, &a->to.cap))) return rc; break;
        case OPT_TOL: if ((rc = parse_double(a->cmd, "tol", optarg, &a->to.tol))) return rc; break;
        case OPT_ALPHA: if ((rc = parse_double(a->cmd, "alpha", optarg, &a->so.alpha))) return rc; break;
        case OPT_CLIP:
            if ((rc = parse_double(a->cmd, "clip", optarg, &x))) return rc;
            if (!(x >= 0)) return usage_error(a->cmd, "--clip must be >= 0, got %g", x);
            a->so.clip = x;
            break;
        case OPT_MAXIT:
            if ((rc = parse_int(a->cmd, "max-iter", optarg, 1, 1000000000, &v))) return rc;
            a->to.max_iter = (int)v;
            break;
        case OPT_THREADS:
            if ((rc = parse_int(a->cmd, "threads", optarg, 0, 4096, &v))) return rc;
            a->threads = (int)v;
            break;
        case OPT_PROMPTS:
            if ((rc = parse_int(a->cmd, "prompts", optarg, 1, (long long)1 << 40, &v))) return rc;
            a->go.n_prompts = v;
            break;
        case OPT_SAMPLES:
            if ((rc = parse_int(a->cmd, "samples", optarg, 1, 0x7fffffff, &v))) return rc;
            a->go.n_samples = v;
            break;
        case OPT_SEED:
            if ((rc = parse_int(a->cmd, "seed", optarg, 0, 0x7fffffffffffffffLL, &v))) return rc;
            a->go.seed = (uint64_t)v;
            break;
        case OPT_RAGGED: a->go.ragged = 1; break;
        case OPT_LOGW: a->logw = optarg; break;
        case OPT_WLOGW: a->go.with_logw = 1; break;
        case OPT_GOLD: a->gold = optarg; break;
        case OPT_DIR: a->dir = optarg; break;
        case OPT_DTYPE:
            if (strcmp(optarg, "f32") == 0 || strcmp(optarg, "float32") == 0) a->dtype = SRS_F32;
            else if (strcmp(optarg, "f64") == 0 || strcmp(optarg, "float64") == 0) a->dtype = SRS_F64;
            else return usage_error(a->cmd, "unknown dtype '%s' (choose from f32, f64)", optarg);
            break;
        case ':': return usage_error(a->cmd, "option '%s' needs a value", argv[optind - 1]);
        default: return usage_error(a->cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) a->input = argv[optind++];
    if (optind < argc) return usage_error(a->cmd, "unexpected argument '%s'", argv[optind]);
    return 0;
}

static void args_init(args_t *a, const char *cmd) {
    memset(a, 0, sizeof *a);
    a->cmd = cmd;
    a->to = srs_threshold_opts_default();
    a->so = srs_shape_opts_default();
    a->go = srs_gen_opts_default();
    a->dtype = SRS_F64;
}

static int make_ctx(const args_t *a, srs_ctx_t **ctx) {
    srs_status_t st = srs_ctx_create(ctx, a->device, a->threads);
    if (st == SRS_OK) return 0;
    msg("%s", srs_last_create_error());
    return st == SRS_ERR_INVALID_ARG ? EXIT_USAGE : EXIT_RUNTIME;
}

// ----------------------------------------------------------------------------
// threshold and shape

// Prints a compute error with the file, line and prompt it is about.
static void report_row_error(srs_ctx_t *ctx, const srs_data_t *d) {
    int64_t row = srs_ctx_error_row(ctx);
    const char *path = srs_data_path(d);
    if (row < 0 || row >= srs_data_batch(d)->n_prompts) {
        msg("%s: %s", path, srs_ctx_last_error(ctx));
        return;
    }
    int is_num;
    const char *id = srs_data_id(d, row, &is_num);
    int64_t line = srs_data_line(d, row);
    if (line > 0) msg("%s:%lld: prompt %s%s%s: %s", path, (long long)line, is_num ? "" : "\"", id,
                      is_num ? "" : "\"", srs_ctx_last_error(ctx));
    else msg("%s: %s", path, srs_ctx_last_error(ctx));
}

// The batch of rows [i0, i0 + n) of b, indexable like the original.
static srs_batch_t sub_batch(const srs_batch_t *b, int64_t i0, int64_t n) {
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

static int run_threshold_or_shape(int argc, char **argv, int shaping) {
    args_t a;
    args_init(&a, shaping ? "shape" : "threshold");
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc;
    if (a.help) {
        shaping ? help_shape() : help_threshold();
        return 0;
    }
    if (!a.input) return usage_error(a.cmd, "missing INPUT file");
    srs_ctx_t *ctx;
    if ((rc = make_ctx(&a, &ctx))) return rc;
    if (srs_threshold_opts_check(ctx, &a.to) != SRS_OK) {
        rc = usage_error(a.cmd, "%s", srs_ctx_last_error(ctx));
        srs_ctx_free(ctx);
        return rc;
    }
    if (shaping && !(a.so.alpha > 0 && isfinite(a.so.alpha))) {
        srs_ctx_free(ctx);
        return usage_error(a.cmd, "--alpha must be finite and > 0, got %g", a.so.alpha);
    }

    srs_read_opts_t ro = {a.in_fmt, a.gold, a.logw};
    srs_data_t *d = NULL;
    srs_writer_t *w = NULL;
    double *m = NULL, *be = NULL, *sh = NULL;
    rc = EXIT_RUNTIME;
    if (srs_data_read(ctx, a.input, &ro, &d) != SRS_OK) {
        msg("%s", srs_ctx_last_error(ctx));
        goto done;
    }
    const char *out = a.output ? a.output : "-";
    if (srs_writer_open(ctx, out, a.out_fmt, shaping ? SRS_OUT_SHAPED : SRS_OUT_THRESHOLDS, d, &w) != SRS_OK) {
        msg("%s", srs_ctx_last_error(ctx));
        goto done;
    }
    const srs_batch_t *b = srs_data_batch(d);
    int64_t np = b->n_prompts, ns = srs_batch_n_samples(b);
    int64_t per_chunk = ns > 0 ? (int64_t)((double)CHUNK_SAMPLES * (double)np / (double)ns) : np;
    if (per_chunk < 1) per_chunk = 1;
    if (per_chunk > np) per_chunk = np;
    m = malloc(sizeof *m * (size_t)per_chunk);
    be = malloc(sizeof *be * (size_t)per_chunk);
    if (!m || !be) {
        msg("out of memory");
        goto done;
    }
    srs_progress_t pg;
    srs_progress_start(&pg, a.cmd, "prompts", np, !a.quiet);
    for (int64_t i0 = 0; i0 < np; i0 += per_chunk) {
        int64_t n = i0 + per_chunk <= np ? per_chunk : np - i0;
        srs_batch_t s = sub_batch(b, i0, n);
        srs_status_t st;
        if (shaping) {
            int64_t chunk_ns = srs_batch_n_samples(&s);
            double *tmp = realloc(sh, sizeof *sh * (size_t)(chunk_ns > 0 ? chunk_ns : 1));
            if (!tmp) {
                msg("out of memory");
                goto done;
            }
            sh = tmp;
            st = srs_shape(ctx, &s, &a.to, &a.so, m, be, sh, SRS_F64);
        } else {
            st = srs_thresholds(ctx, &s, &a.to, m, be);
        }
        if (st != SRS_OK) {
            if (pg.on) fputc('\n', stderr);
            report_row_error(ctx, d);
            goto done;
        }
        if (srs_writer_put(w, i0, n, m, be, shaping ? sh : NULL) != SRS_OK) {
            msg("%s", srs_ctx_last_error(ctx));
            goto done;
        }
        srs_progress_update(&pg, i0 + n);
    }
    srs_progress_end(&pg, np);
    srs_status_t st = srs_writer_commit(w);
    w = NULL;
    if (st != SRS_OK) {
        msg("%s", srs_ctx_last_error(ctx));
        goto done;
    }
    rc = 0;
done:
    srs_writer_abort(w);
    free(m);
    free(be);
    free(sh);
    srs_data_free(d);
    srs_ctx_free(ctx);
    return rc;
}

// ----------------------------------------------------------------------------
// gen

static int run_gen(int argc, char **argv) {
    args_t a;
    args_init(&a, "gen");
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc;
    if (a.help) {
        help_gen();
        return 0;
    }
    if (a.input) return usage_error(a.cmd, "unexpected argument '%s' (write the output with -o)", a.input);
    if (!a.output) return usage_error(a.cmd, "missing -o OUTPUT");
    srs_ctx_t *ctx;
    if ((rc = make_ctx(&a, &ctx))) return rc;
    srs_data_t *d = NULL;
    rc = EXIT_RUNTIME;
    if (srs_gen(ctx, &a.go, &d) != SRS_OK || srs_data_write(ctx, a.output, d, a.out_fmt, a.dtype) != SRS_OK)
        msg("%s", srs_ctx_last_error(ctx));
    else rc = 0;
    srs_data_free(d);
    srs_ctx_free(ctx);
    return rc;
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

static int run_demo(int argc, char **argv) {
    args_t a;
    args_init(&a, "demo");
    a.go.n_prompts = 20000;
    a.go.n_samples = 16;
    a.to.preset = SRS_PRESET_PAPER_CD;
    a.to.B = 15;
    a.to.beta = 0.667;
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc;
    if (a.help) {
        help_demo();
        return 0;
    }
    if (a.input) return usage_error(a.cmd, "unexpected argument '%s'", a.input);
    const char *dir = a.dir ? a.dir : "srs-demo";
    srs_ctx_t *ctx;
    if ((rc = make_ctx(&a, &ctx))) return rc;
    if (srs_threshold_opts_check(ctx, &a.to) != SRS_OK) {
        rc = usage_error(a.cmd, "%s", srs_ctx_last_error(ctx));
        srs_ctx_free(ctx);
        return rc;
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        msg("cannot create %s: %s", dir, strerror(errno));
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
        msg("out of memory");
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
    msg("%s", srs_ctx_last_error(ctx));
done:
    free(m);
    free(be);
    free(s);
    srs_data_free(gen);
    srs_data_free(d);
    srs_ctx_free(ctx);
    return rc;
}

// ----------------------------------------------------------------------------

int main(int argc, char **argv) {
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
        printf("srs %s (CUDA backend: %s)\n", srs_version(),
               srs_cuda_compiled() ? "compiled in" : "not compiled in");
        return 0;
    }
    // getopt sees argv from the command word on
    if (!strcmp(cmd, "threshold")) return run_threshold_or_shape(argc - 1, argv + 1, 0);
    if (!strcmp(cmd, "shape")) return run_threshold_or_shape(argc - 1, argv + 1, 1);
    if (!strcmp(cmd, "gen")) return run_gen(argc - 1, argv + 1);
    if (!strcmp(cmd, "demo")) return run_demo(argc - 1, argv + 1);
    fprintf(stderr, "%s: unknown command '%s'\n\n%s", prog, cmd, help_main);
    return EXIT_USAGE;
}
