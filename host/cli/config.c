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
    for (size_t i = 0; i < 5; i++) {
        c->lambdas[i] = lambdas[i];
        c->betas[c->n_betas++] = 1.0 / lambdas[i];
    }
    c->by_lambda = 1;
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

// A list of numbers > 0 into dst (and, for lambda, their inverses into inv).
static int set_num_list(const char *key, const char *value, double *dst, int *n, double *inv, char *err,
                        size_t errlen) {
    char items[SRS_CFG_MAX_LIST][64];
    double x[SRS_CFG_MAX_LIST];
    int k;
    if (!split_list(value, items, &k) || k == 0)
        ERR(2, "key '%s': expected a comma-separated list of at most %d numbers, got '%s'", key,
            SRS_CFG_MAX_LIST, value);
    for (int i = 0; i < k; i++)
        if (!parse_num(items[i], &x[i]) || !(x[i] > 0) || !isfinite(x[i]))
            ERR(2, "key '%s': '%s' is not a finite number > 0 (and at least 2.2e-308)", key, items[i]);
    for (int i = 0; i < k; i++) {
        dst[i] = x[i];
        if (inv) inv[i] = 1.0 / x[i];
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
            c->fixed_beta = 0.667;  // unused; the default, so that a written file reads back alike
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
        return set_num_list(key, value, c->alphas, &c->n_alphas, NULL, err, errlen);
    } else if (IS("eval", "beta")) {
        if (set_num_list(key, value, c->betas, &c->n_betas, NULL, err, errlen)) return 2;
        c->by_lambda = 0;
        memset(c->lambdas, 0, sizeof c->lambdas);
    } else if (IS("eval", "lambda")) {
        double lam[SRS_CFG_MAX_LIST] = {0};
        int n;
        if (set_num_list(key, value, lam, &n, c->betas, err, errlen)) return 2;
        c->n_betas = n;
        c->by_lambda = 1;
        memcpy(c->lambdas, lam, sizeof lam);
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
    int beta, lambda;             // lines of [eval] seen
    char pend[16];                // a quoted value continued on the next line: its key, else ""
    char acc[SRS_CFG_STR + 1];    // its text so far
    size_t acc_len;
    char lpend[16];               // a list whose line ended with ',': its [eval] key, else ""
    char lacc[4 * SRS_CFG_STR];   // its items so far
} load_ctx_t;

static int is_list_key(const char *section, const char *name) {
    return !strcmp(section, "eval") && (!strcmp(name, "designs") || !strcmp(name, "alpha") ||
                                        !strcmp(name, "best_of_n") || !strcmp(name, "beta") ||
                                        !strcmp(name, "lambda"));
}

static int is_str_key(const char *section, const char *name) {
    return !strcmp(section, "run") && (!strcmp(name, "name") || !strcmp(name, "input") || !strcmp(name, "out"));
}

static int hexval(char ch) {
    return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                                           : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
}

// Decodes one quoted chunk v ("...", escapes) onto lc->acc; *more = 1 when a
// backslash after the closing quote continues the value on the next line.
// 0, or -1 with a message in lc->msg.
static int decode_chunk(load_ctx_t *lc, const char *name, const char *v, int *more) {
    if (*v != '"') {
        snprintf(lc->msg, sizeof lc->msg, "key '%s': expected the next quoted chunk of the value", name);
        return -1;
    }
    const char *p = v + 1;
    for (; *p && *p != '"'; p++) {
        int ch = (unsigned char)*p;
        if (ch == '\\') {
            char e = *++p;
            if (e == 'x' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
                ch = hexval(p[1]) * 16 + hexval(p[2]);
                p += 2;
            } else if (e == 'n' || e == 't' || e == 'r') {
                ch = e == 'n' ? '\n' : e == 't' ? '\t' : '\r';
            } else if (e == '\\' || e == '"' || e == ';') {
                ch = e;
            } else {
                snprintf(lc->msg, sizeof lc->msg, "key '%s': unknown escape '\\%c' in a quoted value (use \\\\ "
                         "\\\" \\; \\n \\t \\r \\xHH)", name, e ? e : ' ');
                return -1;
            }
        }
        if (ch == 0 || lc->acc_len >= SRS_CFG_STR - 1) {
            snprintf(lc->msg, sizeof lc->msg, "key '%s': %s", name,
                     ch == 0 ? "a NUL byte in a quoted value" : "value too long");
            return -1;
        }
        lc->acc[lc->acc_len++] = (char)ch;
    }
    if (*p != '"') {
        snprintf(lc->msg, sizeof lc->msg, "key '%s': unterminated quoted value (inih ends a value at a ';' after "
                 "a space: write \\; inside quotes)", name);
        return -1;
    }
    p++;
    while (*p == ' ' || *p == '\t') p++;
    *more = *p == '\\' && !p[1];
    if (*p && !*more) {
        snprintf(lc->msg, sizeof lc->msg, "key '%s': text after the closing quote", name);
        return -1;
    }
    lc->acc[lc->acc_len] = '\0';
    return 0;
}

static int ini_cb(void *user, const char *section, const char *name, const char *value) {
    load_ctx_t *lc = user;
    if (!*section) {
        if (!lc->msg[0])
            snprintf(lc->msg, sizeof lc->msg,
                     "key '%s' outside a section ([run], [threshold], [eval], [bootstrap])", name);
        return 0;
    }
    // inih goes on after a failed line and returns the first one: keep its message
    if (lc->msg[0]) return 0;
    if (!value) value = "";
    char msg[512];
    if (lc->pend[0] && (strcmp(section, "run") || strcmp(name, lc->pend))) {
        snprintf(lc->msg, sizeof lc->msg, "key '%s': the quoted value ends in a backslash but the next line does "
                 "not continue it (indent the next chunk)", lc->pend);
        return 0;
    }
    if (is_str_key(section, name) && (*value == '"' || lc->pend[0])) {
        if (!lc->pend[0]) lc->acc_len = 0;
        int more = 0;
        if (decode_chunk(lc, name, value, &more) != 0) return 0;
        if (more) {
            snprintf(lc->pend, sizeof lc->pend, "%s", name);
            return 1;
        }
        lc->pend[0] = '\0';
        value = lc->acc;
    }
    // a list continues on indented lines after a line ending in a comma
    // (inih passes each continuation line under the same key; its lines are
    // at most 200 bytes, which a list of 64 values exceeds)
    if (lc->lpend[0] && (strcmp(section, "eval") || strcmp(name, lc->lpend))) {
        snprintf(lc->msg, sizeof lc->msg, "key '%s': the list ends with ',' but the next line does not "
                 "continue it (indent the next items)", lc->lpend);
        return 0;
    }
    if (is_list_key(section, name)) {
        size_t have = lc->lpend[0] ? strlen(lc->lacc) : 0, n = strlen(value);
        if (have + n + 2 > sizeof lc->lacc) {
            snprintf(lc->msg, sizeof lc->msg, "key '%s': list too long", name);
            return 0;
        }
        if (!lc->lpend[0]) lc->lacc[0] = '\0';
        else strcat(lc->lacc, " ");
        strcat(lc->lacc, value);
        size_t m = strlen(lc->lacc);
        while (m && (lc->lacc[m - 1] == ' ' || lc->lacc[m - 1] == '\t')) m--;
        if (m && lc->lacc[m - 1] == ',') {
            snprintf(lc->lpend, sizeof lc->lpend, "%s", name);
            return 1;
        }
        lc->lpend[0] = '\0';
        value = lc->lacc;
    }
    if (!strcmp(section, "eval")) {
        lc->beta |= !strcmp(name, "beta");
        lc->lambda |= !strcmp(name, "lambda");
        if (lc->beta && lc->lambda) {
            snprintf(lc->msg, sizeof lc->msg, "keys 'beta' and 'lambda' both set the follower strengths "
                     "(lambda = 1/beta); keep one of them");
            return 0;
        }
    }
    if (srs_eval_cfg_set(lc->c, section, name, value, msg, sizeof msg) == 0) return 1;
    snprintf(lc->msg, sizeof lc->msg, "%s", msg);
    return 0;
}

int srs_eval_cfg_load(srs_eval_cfg_t *c, const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "r");
    if (!f) ERR(1, "%s: cannot open: %s", path, strerror(errno));
    load_ctx_t *lc = calloc(1, sizeof *lc);
    if (!lc) {
        fclose(f);
        ERR(1, "%s: out of memory", path);
    }
    lc->c = c;
    int line = ini_parse_file(f, ini_cb, lc);
    fclose(f);
    char msg[512];
    snprintf(msg, sizeof msg, "%s", lc->msg);
    int pend = lc->pend[0] != '\0', lpend = lc->lpend[0] != '\0';
    free(lc);
    if (line == 0 && pend) ERR(2, "%s: the file ends inside a quoted value continued with a backslash", path);
    if (line == 0 && lpend) ERR(2, "%s: the file ends inside a list continued after a ','", path);
    if (line == 0) return 0;
    if (line < 0) ERR(1, "%s: cannot read the file", path);
    if (msg[0]) ERR(2, "%s:%d: %s", path, line, msg);
    ERR(2, "%s:%d: not an INI line (expected [section] or key = value)", path, line);
}

#undef ERR

// Writes "key = a, b, ..." (or a comment line of them, prefix "; "),
// wrapped: a line that would pass WRAP bytes ends with ',' and the list goes
// on on an indented line (a comment on a new "; " line), which the loader
// joins, so every line stays within inih's 200 bytes.
enum { WRAP = 150 };
typedef struct {
    FILE *f;
    size_t col;
    int n, comment;
} wrap_t;
static void wrap_start(wrap_t *w, FILE *f, const char *head, int comment) {
    w->f = f;
    w->n = 0;
    w->comment = comment;
    w->col = (size_t)fprintf(f, "%s", head);
}
static void wrap_item(wrap_t *w, const char *item) {
    size_t n = strlen(item);
    if (w->n && w->col + n + 2 > WRAP) {
        w->col = (size_t)fprintf(w->f, w->comment ? ",\n;   " : ",\n  ");
        w->n = 0;
    }
    w->col += (size_t)fprintf(w->f, "%s%s", w->n ? ", " : "", item);
    w->n++;
}
static void put_list(FILE *f, const char *key, const double *v, int n, int inverse) {
    wrap_t w;
    char head[64];
    snprintf(head, sizeof head, "%s = ", key);
    wrap_start(&w, f, head, 0);
    for (int i = 0; i < n; i++) {
        char b[32];
        srs_fmt_double(b, sizeof b, inverse ? 1.0 / v[i] : v[i]);
        wrap_item(&w, b);
    }
    fputc('\n', f);
}

// Writes "key = value" for a string: as it is when inih reads it back so
// (printable, no ';', no quote or space at either end, short), else quoted
// with escapes, in chunks of at most CHUNK bytes, each further chunk on an
// indented continuation line after a backslash.
static void put_str(FILE *f, const char *key, const char *v) {
    enum { CHUNK = 120 };
    size_t n = strlen(v);
    int plain = n > 0 && n <= CHUNK && v[0] != '"' && v[0] != ' ' && v[0] != '\t' && v[n - 1] != ' ' &&
                v[n - 1] != '\t';
    for (size_t i = 0; plain && i < n; i++) {
        unsigned char ch = (unsigned char)v[i];
        plain = ch >= 0x20 && ch != 0x7f && ch != ';' && ch != '\\';
    }
    if (plain) {
        fprintf(f, "%s = %s\n", key, v);
        return;
    }
    fprintf(f, "%s = \"", key);
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)v[i];
        char e[8];
        if (ch == '\\' || ch == '"' || ch == ';') snprintf(e, sizeof e, "\\%c", ch);
        else if (ch == '\n') snprintf(e, sizeof e, "\\n");
        else if (ch == '\t') snprintf(e, sizeof e, "\\t");
        else if (ch == '\r') snprintf(e, sizeof e, "\\r");
        else if (ch < 0x20 || ch == 0x7f) snprintf(e, sizeof e, "\\x%02x", ch);
        else snprintf(e, sizeof e, "%c", ch);
        size_t el = strlen(e);
        if (used + el > CHUNK) {
            fputs("\" \\\n  \"", f);
            used = 0;
        }
        fputs(e, f);
        used += el;
    }
    fputs("\"\n", f);
}

void srs_eval_cfg_write(const srs_eval_cfg_t *c, FILE *f) {
    char b[32];
    fprintf(f, "; srs eval: resolved configuration (defaults < config file < command line)\n");
    fprintf(f, "[run]\n");
    put_str(f, "name", c->name);
    if (c->input[0]) put_str(f, "input", c->input);
    if (c->out[0]) put_str(f, "out", c->out);
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
    fprintf(f, "[eval]\n");
    wrap_t w;
    wrap_start(&w, f, "designs = ", 0);
    for (int i = 0; i < c->n_designs; i++) wrap_item(&w, c->designs[i]);
    fputc('\n', f);
    put_list(f, "alpha", c->alphas, c->n_alphas, 0);
    wrap_start(&w, f, "best_of_n = ", 0);
    if (!c->n_bon) wrap_item(&w, "none");
    for (int i = 0; i < c->n_bon; i++) {
        snprintf(b, sizeof b, "%lld", (long long)c->bon[i]);
        wrap_item(&w, b);
    }
    fputc('\n', f);
    // under the key they were given with: 1/(1/x) need not be x, and 1/x of a
    // huge lambda is below the smallest normal double, which strtod refuses
    put_list(f, c->by_lambda ? "lambda" : "beta", c->by_lambda ? c->lambdas : c->betas, c->n_betas, 0);
    wrap_start(&w, f, c->by_lambda ? "; beta = 1/lambda: " : "; lambda = 1/beta: ", 1);
    for (int i = 0; i < c->n_betas; i++) {
        srs_fmt_double(b, sizeof b, c->by_lambda ? c->betas[i] : 1.0 / c->betas[i]);
        wrap_item(&w, b);
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
