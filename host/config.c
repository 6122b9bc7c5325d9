/*
 * config.c — evaluation configurations (config.h): INI through inih, one
 * setter shared by files and the command line, and the resolved
 * configuration written back as INI.
 */
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "config.h"
#include "internal.h"

void srs_eval_cfg_default(srs_eval_cfg_t *c) {
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "default");
    snprintf(c->plot, sizeof c->plot, "png");
    c->chunk = 65536;
    c->to = srs_threshold_opts_default();
    c->to.preset = SRS_PRESET_PAPER_CD;
    c->to.B = 15;
    c->to.cap = 2;
    c->fixed_beta = 0.667;
    static const char *designs[] = {"base", "raw", "hard", "soft", "minmax", "meanstd", "cap", "meansoft"};
    for (size_t i = 0; i < sizeof designs / sizeof designs[0]; i++)
        snprintf(c->designs[c->n_designs++], sizeof c->designs[0], "%s", designs[i]);
    c->alphas[c->n_alphas++] = 1.0;
    static const int64_t bon[] = {2, 4, 8, 16};
    for (size_t i = 0; i < 4; i++) c->bon[c->n_bon++] = bon[i];
    static const double lambdas[] = {0.25, 0.5, 1, 2, 4};
    for (size_t i = 0; i < 5; i++) c->betas[c->n_betas++] = 1.0 / lambdas[i];
    c->clip = -1;
    c->replicates = 200;
    c->confidence = 0.95;
    c->seed = 1;
}

// ----------------------------------------------------------------------------
// values

static int parse_num(const char *s, double *out) {
    char *end;
    while (*s == ' ' || *s == '\t') s++;
    errno = 0;
    double x = strtod(s, &end);
    if (end == s || errno == ERANGE) return 0;
    while (*end == ' ' || *end == '\t') end++;
    if (*end) return 0;
    *out = x;
    return 1;
}

// Splits a comma-separated list into trimmed items (at most SRS_CFG_MAX_LIST).
static int split_list(const char *v, char items[][64], int *n) {
    *n = 0;
    const char *s = v;
    for (;;) {
        while (*s == ' ' || *s == '\t') s++;
        const char *e = strchr(s, ',');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t')) len--;
        if (len == 0 && !e && *n == 0) return 1;  // empty list
        if (len == 0 || len >= 64 || *n >= SRS_CFG_MAX_LIST) return 0;
        memcpy(items[*n], s, len);
        items[*n][len] = '\0';
        (*n)++;
        if (!e) return 1;
        s = e + 1;
    }
}

#define ERR(code, ...) do { snprintf(err, errlen, __VA_ARGS__); return (code); } while (0)

static int set_num_list(const char *key, const char *value, double *dst, int *n, int inverse, char *err,
                        size_t errlen) {
    char items[SRS_CFG_MAX_LIST][64];
    int k;
    if (!split_list(value, items, &k) || k == 0)
        ERR(2, "key '%s': expected a comma-separated list of at most %d numbers, got '%s'", key,
            SRS_CFG_MAX_LIST, value);
    for (int i = 0; i < k; i++) {
        double x;
        if (!parse_num(items[i], &x) || !(x > 0) || !isfinite(x))
            ERR(2, "key '%s': '%s' is not a finite number > 0", key, items[i]);
        dst[i] = inverse ? 1.0 / x : x;
    }
    *n = k;
    return 0;
}

int srs_eval_cfg_set(srs_eval_cfg_t *c, const char *section, const char *key, const char *value, char *err,
                     size_t errlen) {
    double x;
    char items[SRS_CFG_MAX_LIST][64];
    int k;
#define IS(sec, name) (!strcmp(section, sec) && !strcmp(key, name))
#define NUM(cond, what)                                                                       \
    do {                                                                                      \
        if (!parse_num(value, &x) || !(cond)) ERR(2, "key '%s': expected %s, got '%s'", key, what, value); \
    } while (0)
    if (IS("run", "name")) {
        if (!*value || strlen(value) >= sizeof c->name || strchr(value, '/'))
            ERR(2, "key 'name': expected a non-empty name without '/', got '%s'", value);
        snprintf(c->name, sizeof c->name, "%s", value);
    } else if (IS("run", "input") || IS("run", "out")) {
        char *dst = key[0] == 'i' ? c->input : c->out;
        if (strlen(value) >= SRS_CFG_STR) ERR(2, "key '%s': path too long", key);
        snprintf(dst, SRS_CFG_STR, "%s", value);
    } else if (IS("run", "plot")) {
        if (strcmp(value, "png") && strcmp(value, "svg") && strcmp(value, "none"))
            ERR(2, "key 'plot': expected png, svg or none, got '%s'", value);
        snprintf(c->plot, sizeof c->plot, "%s", value);
    } else if (IS("run", "chunk")) {
        NUM(x >= 1 && x <= 1e12 && x == floor(x), "an integer >= 1");
        c->chunk = (int64_t)x;
    } else if (IS("threshold", "preset")) {
        if (srs_preset_parse(value, &c->to.preset) != SRS_OK)
            ERR(2, "key 'preset': unknown preset '%s' (choose from exact, paper-cd, paper-args)", value);
    } else if (IS("threshold", "solver")) {
        if (srs_solver_parse(value, &c->to.solver) != SRS_OK)
            ERR(2, "key 'solver': unknown solver '%s' (choose from exact, dinkelbach, bisect)", value);
    } else if (IS("threshold", "B")) {
        NUM(x >= 0 && isfinite(x), "a finite number >= 0");
        c->to.B = x;
    } else if (IS("threshold", "cap")) {
        NUM(x > 0, "a number > 0");
        c->to.cap = x;
    } else if (IS("threshold", "tol")) {
        NUM(x > 0 && x < 1, "a number in (0, 1)");
        c->to.tol = x;
    } else if (IS("threshold", "max_iter")) {
        NUM(x >= 0 && x <= 1e9 && x == floor(x), "an integer >= 0");
        c->to.max_iter = (int)x;
    } else if (IS("threshold", "fixed_beta")) {
        if (!strcmp(value, "none") || !*value) {
            c->fixed = 0;
        } else {
            NUM(x > 0 && isfinite(x), "'none' or a finite number > 0");
            c->fixed = 1;
            c->fixed_beta = x;
        }
    } else if (IS("eval", "designs")) {
        if (!split_list(value, items, &k) || k == 0)
            ERR(2, "key 'designs': expected a comma-separated list of designs, got '%s'", value);
        for (int i = 0; i < k; i++) {
            srs_design_t d;
            if (strcmp(items[i], "base") && srs_design_parse(items[i], &d) != SRS_OK)
                ERR(2, "key 'designs': unknown design '%s' (choose from base, raw, hard, soft, minmax, "
                       "meanstd, cap, meansoft)", items[i]);
            snprintf(c->designs[i], sizeof c->designs[i], "%.15s", items[i]);
        }
        c->n_designs = k;
    } else if (IS("eval", "alpha")) {
        return set_num_list(key, value, c->alphas, &c->n_alphas, 0, err, errlen);
    } else if (IS("eval", "beta") || IS("eval", "lambda")) {
        return set_num_list(key, value, c->betas, &c->n_betas, key[0] == 'l', err, errlen);
    } else if (IS("eval", "best_of_n")) {
        c->n_bon = 0;
        if (!strcmp(value, "none")) return 0;
        if (!split_list(value, items, &k))
            ERR(2, "key 'best_of_n': expected a comma-separated list of integers, got '%s'", value);
        for (int i = 0; i < k; i++) {
            if (!parse_num(items[i], &x) || !(x >= 1 && x <= 1e9) || x != floor(x))
                ERR(2, "key 'best_of_n': '%s' is not an integer in [1, 1e9]", items[i]);
            c->bon[i] = (int64_t)x;
        }
        c->n_bon = k;
    } else if (IS("eval", "clip")) {
        NUM(x >= 0 && isfinite(x), "a finite number >= 0");
        c->clip = x;
    } else if (IS("bootstrap", "replicates")) {
        NUM(x >= 1 && x <= 1e6 && x == floor(x), "an integer in [1, 1e6]");
        c->replicates = (int)x;
    } else if (IS("bootstrap", "confidence")) {
        NUM(x > 0 && x < 1, "a number in (0, 1)");
        c->confidence = x;
    } else if (IS("bootstrap", "seed")) {
        NUM(x >= 0 && x <= 9007199254740992.0 && x == floor(x), "an integer >= 0");
        c->seed = (uint64_t)x;
    } else {
        ERR(1, "unknown key '%s' in section [%s]", key, section);
    }
#undef IS
#undef NUM
    return 0;
}

// ----------------------------------------------------------------------------
// files

typedef struct {
    srs_eval_cfg_t *c;
    char msg[512];
} load_ctx_t;

static int ini_cb(void *user, const char *section, const char *name, const char *value) {
    load_ctx_t *lc = user;
    if (!*section) {
        if (!lc->msg[0])
            snprintf(lc->msg, sizeof lc->msg,
                     "key '%s' outside a section ([run], [threshold], [eval], [bootstrap])", name);
        return 0;
    }
    // inih goes on after a failed line and returns the first one: keep its message
    char msg[512];
    if (srs_eval_cfg_set(lc->c, section, name, value ? value : "", msg, sizeof msg) == 0) return 1;
    if (!lc->msg[0]) snprintf(lc->msg, sizeof lc->msg, "%s", msg);
    return 0;
}

int srs_eval_cfg_load(srs_eval_cfg_t *c, const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "r");
    if (!f) ERR(1, "%s: cannot open: %s", path, strerror(errno));
    load_ctx_t lc = {c, ""};
    int line = ini_parse_file(f, ini_cb, &lc);
    fclose(f);
    if (line == 0) return 0;
    if (line < 0) ERR(1, "%s: cannot read the file", path);
    if (lc.msg[0]) ERR(2, "%s:%d: %s", path, line, lc.msg);
    ERR(2, "%s:%d: not an INI line (expected [section] or key = value)", path, line);
}

#undef ERR

static void put_list(FILE *f, const char *key, const double *v, int n, int inverse) {
    fprintf(f, "%s = ", key);
    for (int i = 0; i < n; i++) {
        char b[32];
        srs_fmt_double(b, sizeof b, inverse ? 1.0 / v[i] : v[i]);
        fprintf(f, "%s%s", i ? ", " : "", b);
    }
    fputc('\n', f);
}

void srs_eval_cfg_write(const srs_eval_cfg_t *c, FILE *f) {
    char b[32];
    fprintf(f, "; srs eval: resolved configuration (defaults < config file < command line)\n");
    fprintf(f, "[run]\nname = %s\n", c->name);
    if (c->input[0]) fprintf(f, "input = %s\n", c->input);
    if (c->out[0]) fprintf(f, "out = %s\n", c->out);
    fprintf(f, "plot = %s\nchunk = %lld\n\n", c->plot, (long long)c->chunk);
    fprintf(f, "[threshold]\npreset = %s\nsolver = %s\n", srs_preset_name(c->to.preset),
            srs_solver_name(c->to.solver));
    srs_fmt_double(b, sizeof b, c->to.B);
    fprintf(f, "B = %s\n", b);
    srs_fmt_double(b, sizeof b, c->to.cap);
    fprintf(f, "cap = %s\n", b);
    srs_fmt_double(b, sizeof b, c->to.tol);
    fprintf(f, "tol = %s\nmax_iter = %d\n", b, c->to.max_iter);
    if (c->fixed) {
        srs_fmt_double(b, sizeof b, c->fixed_beta);
        fprintf(f, "fixed_beta = %s\n\n", b);
    } else {
        fprintf(f, "fixed_beta = none\n\n");
    }
    fprintf(f, "[eval]\ndesigns = ");
    for (int i = 0; i < c->n_designs; i++) fprintf(f, "%s%s", i ? ", " : "", c->designs[i]);
    fputc('\n', f);
    put_list(f, "alpha", c->alphas, c->n_alphas, 0);
    fprintf(f, "best_of_n = ");
    if (!c->n_bon) fprintf(f, "none");
    for (int i = 0; i < c->n_bon; i++) fprintf(f, "%s%lld", i ? ", " : "", (long long)c->bon[i]);
    fputc('\n', f);
    put_list(f, "beta", c->betas, c->n_betas, 0);
    fprintf(f, "; lambda = 1/beta: ");
    for (int i = 0; i < c->n_betas; i++) {
        srs_fmt_double(b, sizeof b, 1.0 / c->betas[i]);
        fprintf(f, "%s%s", i ? ", " : "", b);
    }
    fputc('\n', f);
    if (c->clip >= 0) {
        srs_fmt_double(b, sizeof b, c->clip);
        fprintf(f, "clip = %s\n", b);
    }
    srs_fmt_double(b, sizeof b, c->confidence);
    fprintf(f, "\n[bootstrap]\nreplicates = %d\nconfidence = %s\nseed = %llu\n", c->replicates, b,
            (unsigned long long)c->seed);
}

int srs_eval_cfg_arms(const srs_eval_cfg_t *c, srs_eval_arm_t *arms, int max) {
    int n = 0;
    for (int i = 0; i < c->n_designs; i++) {
        srs_eval_arm_t a;
        memset(&a, 0, sizeof a);
        if (!strcmp(c->designs[i], "base")) {
            a.kind = SRS_ARM_BASE;
            if (n >= max) return -1;
            arms[n++] = a;
            continue;
        }
        a.kind = SRS_ARM_DESIGN;
        srs_design_parse(c->designs[i], &a.design);
        a.alpha = 1.0;
        int per_alpha = a.design == SRS_DESIGN_SOFT || a.design == SRS_DESIGN_MEANSOFT;
        for (int j = 0; j < (per_alpha ? c->n_alphas : 1); j++) {
            if (per_alpha) a.alpha = c->alphas[j];
            if (n >= max) return -1;
            arms[n++] = a;
        }
    }
    for (int i = 0; i < c->n_bon; i++) {
        srs_eval_arm_t a;
        memset(&a, 0, sizeof a);
        a.kind = SRS_ARM_BEST_OF_N;
        a.n = c->bon[i];
        if (n >= max) return -1;
        arms[n++] = a;
    }
    return n;
}

srs_eval_opts_t srs_eval_cfg_opts(const srs_eval_cfg_t *c, const srs_eval_arm_t *arms, int n_arms) {
    srs_eval_opts_t o = srs_eval_opts_default();
    o.arms = arms;
    o.n_arms = n_arms;
    o.betas = c->betas;
    o.n_betas = c->n_betas;
    o.to = c->to;
    o.to.beta = c->fixed ? c->fixed_beta : c->betas[0];
    o.fixed_threshold = c->fixed;
    o.clip = c->clip;
    o.replicates = c->replicates;
    o.confidence = c->confidence;
    o.seed = c->seed;
    return o;
}
