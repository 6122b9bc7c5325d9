// test_cli.c — the `srs` command end to end: golden parity on the shared real
// data, formats agreeing, bad input with messages and exit codes, help.
#include <dirent.h>
#include <jansson.h>
#include <string.h>
#include "test.h"

#define ARGV(...) ((const char *const[]){__VA_ARGS__, NULL})

// ----------------------------------------------------------------------------
// golden parity: every file in shared/golden, through the command line

typedef struct {
    const char *golden_prefix, *data;
} dataset_t;

// golden dataset name -> data file (shared/data/README.md)
static const dataset_t datasets[] = {
    {"alpacaeval-bon-tulu2", "alpacaeval-bon-tulu2/gold.jsonl"},
    {"alpacafarm-rm-512", "alpacafarm-rm-512/proxy.jsonl"},
    {"gsm8k-overopt-base", "gsm8k-overopt-qwen05b/base.jsonl"},
};

// Parses "<dataset>.<preset>.B<B>.beta<beta>.alpha<alpha>.jsonl".
static int parse_golden_name(const char *name, char *ds, char *preset, char *B, char *beta, char *alpha) {
    char buf[256];
    snprintf(buf, sizeof buf, "%.200s", name);
    char *ext = strstr(buf, ".jsonl");
    if (!ext) return 0;
    *ext = '\0';
    char *pa = strstr(buf, ".alpha"), *pb = strstr(buf, ".beta"), *pB = strstr(buf, ".B");
    if (!pa || !pb || !pB || !(pB < pb && pb < pa)) return 0;
    strcpy(alpha, pa + 6);
    *pa = '\0';
    strcpy(beta, pb + 5);
    *pb = '\0';
    strcpy(B, pB + 2);
    *pB = '\0';
    char *dot = strchr(buf, '.');
    if (!dot) return 0;
    strcpy(preset, dot + 1);
    *dot = '\0';
    strcpy(ds, buf);
    return 1;
}

// Loads a JSONL file as an array of objects (NULL on error).
static json_t *load_jsonl(const char *path) {
    char *text = t_slurp(path);
    if (!text) return NULL;
    json_t *arr = json_array();
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        json_error_t e;
        json_t *o = json_loads(line, 0, &e);
        if (!o) {
            json_decref(arr);
            free(text);
            return NULL;
        }
        json_array_append_new(arr, o);
    }
    free(text);
    return arr;
}

static double num(json_t *o, const char *k) {
    json_t *v = json_object_get(o, k);
    return v && json_is_number(v) ? json_number_value(v) : NAN;
}

static void check_golden_file(const char *shared, const char *fname) {
    char ds[128], preset[64], B[32], beta[32], alpha[32];
    CHECK(parse_golden_name(fname, ds, preset, B, beta, alpha), "golden name %s", fname);
    BAIL_IF_FAILED();
    const char *data = NULL;
    for (size_t i = 0; i < sizeof datasets / sizeof datasets[0]; i++)
        if (!strcmp(datasets[i].golden_prefix, ds)) data = datasets[i].data;
    CHECK(data != NULL, "golden file %s names an unknown dataset '%s'", fname, ds);
    BAIL_IF_FAILED();
    char dpath[1024], gpath[1024];
    snprintf(dpath, sizeof dpath, "%s/data/%s", shared, data);
    snprintf(gpath, sizeof gpath, "%s/golden/%.200s", shared, fname);
    json_t *gold = load_jsonl(gpath), *in = load_jsonl(dpath);
    CHECK(gold && in, "cannot load %s or %s", gpath, dpath);
    if (!gold || !in) goto out;
    static const char *solvers[] = {"exact", "dinkelbach", "bisect"};
    for (int s = 0; s < 3; s++) {
        const char *out = t_path("golden-out.jsonl");
        char *err = NULL;
        int rc = t_run_srs(ARGV("shape", dpath, "--design", "soft", "--alpha", alpha, "--preset", preset, "--B", B,
                                "--beta", beta, "--solver", solvers[s], "-q", "-o", out),
                           NULL, &err);
        CHECK(rc == 0, "srs shape on %s (%s) exited %d: %s", data, solvers[s], rc, err ? err : "");
        free(err);
        json_t *got = load_jsonl(out);
        CHECK(got && json_array_size(got) == json_array_size(gold), "%s: %zu lines, golden %zu", fname,
              got ? json_array_size(got) : 0, json_array_size(gold));
        if (t_failed_now()) {
            json_decref(got);
            goto out;
        }
        double worst_m = 0, worst_s = 0;
        for (size_t i = 0; i < json_array_size(gold); i++) {
            json_t *g = json_array_get(gold, i), *o = json_array_get(got, i), *r = json_array_get(in, i);
            CHECK(json_equal(json_object_get(g, "prompt_id"), json_object_get(o, "prompt_id")), "%s line %zu: ids differ",
                  fname, i + 1);
            json_t *rw = json_object_get(r, "rewards");
            double mn = INFINITY, mx = -INFINITY;
            for (size_t j = 0; j < json_array_size(rw); j++) {
                double x = json_number_value(json_array_get(rw, j));
                mn = fmin(mn, x);
                mx = fmax(mx, x);
            }
            double tol_m = 1e-6 * fmax(1, mx - mn), beff = num(g, "B_eff"), tol_s = 1e-5 * fmax(1, beff);
            double em = fabs(num(o, "m_star") - num(g, "m_star")), eb = fabs(num(o, "B_eff") - beff);
            CHECK(em <= tol_m && eb <= tol_m, "%s %s line %zu: m* %.12g vs %.12g, B_eff %.12g vs %.12g", fname,
                  solvers[s], i + 1, num(o, "m_star"), num(g, "m_star"), num(o, "B_eff"), beff);
            worst_m = fmax(worst_m, em / fmax(1, mx - mn));
            json_t *gs = json_object_get(g, "soft_shaped"), *os = json_object_get(o, "shaped");
            CHECK(json_array_size(gs) == json_array_size(os), "%s line %zu: %zu shaped values, golden %zu", fname, i + 1,
                  json_array_size(os), json_array_size(gs));
            for (size_t j = 0; j < json_array_size(gs) && j < json_array_size(os); j++) {
                double a = json_number_value(json_array_get(os, j)), b = json_number_value(json_array_get(gs, j));
                CHECK(fabs(a - b) <= tol_s, "%s line %zu sample %zu: shaped %.12g vs %.12g", fname, i + 1, j, a, b);
                worst_s = fmax(worst_s, fabs(a - b) / fmax(1, beff));
            }
            if (t_failed_now()) break;
        }
        fprintf(stderr, "    %-58s %-10s worst m* err %.1e (tol 1e-6), shaped %.1e (tol 1e-5)\n", fname, solvers[s],
                worst_m, worst_s);
        json_decref(got);
        if (t_failed_now()) break;
    }
    // `srs threshold` agrees with the m* of `srs shape`
    {
        const char *out = t_path("golden-thr.jsonl");
        int rc = t_run_srs(ARGV("threshold", dpath, "--preset", preset, "--B", B, "--beta", beta, "-q", "-o", out),
                           NULL, NULL);
        CHECK(rc == 0, "srs threshold exited %d", rc);
        json_t *got = load_jsonl(out);
        CHECK(got && json_array_size(got) == json_array_size(gold), "threshold output lines");
        for (size_t i = 0; got && i < json_array_size(got) && i < json_array_size(gold); i++) {
            json_t *o = json_array_get(got, i), *g = json_array_get(gold, i);
            NEAR(num(o, "m_star"), num(g, "m_star"), 1e-6 * fmax(1, fabs(num(g, "m_star"))) + 1e-6);
            CHECK(json_object_get(o, "shaped") == NULL, "threshold output has shaped values");
        }
        json_decref(got);
    }
out:
    json_decref(gold);
    json_decref(in);
}

TEST(cli_golden_parity_on_shared_data) {
    const char *shared = t_shared();
    if (!shared) SKIP("shared data folder not found (set SRS_SHARED); golden parity not checked");
    char gdir[600];
    snprintf(gdir, sizeof gdir, "%s/golden", shared);
    DIR *dir = opendir(gdir);
    CHECK(dir != NULL, "cannot open %s", gdir);
    if (!dir) return;
    char names[64][256];
    int n = 0;
    for (struct dirent *e; (e = readdir(dir)) && n < 64;)
        if (strstr(e->d_name, ".jsonl")) snprintf(names[n++], 256, "%s", e->d_name);
    closedir(dir);
    CHECK(n >= 6, "expected at least 6 golden files, found %d", n);
    for (int i = 0; i < n; i++) check_golden_file(shared, names[i]);
}

// ----------------------------------------------------------------------------
// the same data through every format

TEST(cli_formats_give_identical_thresholds) {
    const char *fmts[] = {"jsonl", "csv", "npy"};
    char *outs[3] = {0};
    for (int k = 0; k < 3; k++) {
        char in[64], out[64];
        snprintf(in, sizeof in, "fmt-in.%s", fmts[k]);
        snprintf(out, sizeof out, "fmt-out-%s.jsonl", fmts[k]);
        char inp[512];
        snprintf(inp, sizeof inp, "%s", t_path(in));
        int rc = t_run_srs(ARGV("gen", "--scenario", "overopt", "--prompts", "300", "--samples", "24", "--with-logw",
                                "--seed", "5", "-o", inp),
                           NULL, NULL);
        CHECK(rc == 0, "gen %s exited %d", fmts[k], rc);
        const char *outp = t_path(out);
        rc = t_run_srs(ARGV("shape", inp, "--preset", "paper-cd", "--B", "15", "--beta", "0.667", "-q", "-o", outp),
                       NULL, NULL);
        CHECK(rc == 0, "shape on %s exited %d", fmts[k], rc);
        outs[k] = t_slurp(outp);
        CHECK(outs[k] && strlen(outs[k]) > 1000, "no output for %s", fmts[k]);
    }
    if (outs[0] && outs[1]) CHECK(strcmp(outs[0], outs[1]) == 0, "JSONL and CSV inputs give different results");
    if (outs[0] && outs[2]) CHECK(strcmp(outs[0], outs[2]) == 0, "JSONL and NPY inputs give different results");
    for (int k = 0; k < 3; k++) free(outs[k]);
}

TEST(cli_output_formats_agree) {
    const char *in = t_path("of-in.jsonl");
    CHECK(t_run_srs(ARGV("gen", "--prompts", "50", "--samples", "8", "-o", in), NULL, NULL) == 0, "gen");
    const char *exts[] = {"jsonl", "csv", "npy"};
    for (int k = 0; k < 3; k++) {
        char name[64];
        snprintf(name, sizeof name, "of-out.%s", exts[k]);
        const char *out = t_path(name);
        CHECK(t_run_srs(ARGV("threshold", in, "-q", "-o", out), NULL, NULL) == 0, "threshold -> %s", exts[k]);
        CHECK(t_exists(out), "%s not written", out);
    }
    // CSV: header + one line per prompt; NPY: float64 (50, 2)
    char *csv = t_slurp(t_path("of-out.csv"));
    CHECK(csv && !strncmp(csv, "prompt_id,m_star,B_eff\n", 23), "CSV header: %.40s", csv ? csv : "");
    int lines = 0;
    for (char *p = csv; p && *p; p++) lines += *p == '\n';
    CHECK(lines == 51, "CSV has %d lines", lines);
    free(csv);
    char *npy = t_slurp(t_path("of-out.npy"));
    CHECK(npy && !memcmp(npy, "\x93NUMPY", 6) && strstr(npy + 10, "'shape': (50, 2)") && strstr(npy + 10, "<f8"),
          "NPY header");
    free(npy);
    // stdout when no -o
    char *out = NULL;
    CHECK(t_run_srs(ARGV("threshold", in, "-q"), &out, NULL) == 0, "threshold to stdout");
    CHECK(out && !strncmp(out, "{\"prompt_id\"", 12), "stdout: %.60s", out ? out : "");
    free(out);
}

TEST(cli_gen_is_deterministic_by_seed) {
    const char *a = t_path("seed-a.jsonl"), *b = t_path("seed-b.jsonl"), *c = t_path("seed-c.jsonl");
    CHECK(t_run_srs(ARGV("gen", "--prompts", "200", "--samples", "16", "--ragged", "--seed", "3", "-o", a), NULL,
                    NULL) == 0, "gen a");
    CHECK(t_run_srs(ARGV("gen", "--prompts", "200", "--samples", "16", "--ragged", "--seed", "3", "--threads", "1",
                         "-o", b), NULL, NULL) == 0, "gen b");
    CHECK(t_run_srs(ARGV("gen", "--prompts", "200", "--samples", "16", "--ragged", "--seed", "4", "-o", c), NULL,
                    NULL) == 0, "gen c");
    char *ta = t_slurp(a), *tb = t_slurp(b), *tc = t_slurp(c);
    CHECK(ta && tb && !strcmp(ta, tb), "same seed, different data");
    CHECK(ta && tc && strcmp(ta, tc), "different seeds, same data");
    free(ta); free(tb); free(tc);
}

TEST(cli_overopt_scenario_rewards_hacking) {
    // The scenario's point: a follower of the raw proxy gains proxy utility and
    // loses gold; check the generated data has that shape (hacks: top proxy, low gold).
    srs_gen_opts_t o = srs_gen_opts_default();
    o.n_prompts = 4000;
    srs_data_t *d;
    CHECK(srs_gen(t_ctx(), &o, &d) == SRS_OK, "gen: %s", srs_ctx_last_error(t_ctx()));
    BAIL_IF_FAILED();
    const srs_batch_t *b = srs_data_batch(d);
    const double *u = b->reward.data, *g = b->gold.data;
    double gold_of_top = 0, gold_mean = 0;
    for (int64_t i = 0; i < b->n_prompts; i++) {
        int64_t s, n, top;
        srs_batch_row(b, i, &s, &n);
        top = s;
        for (int64_t j = s; j < s + n; j++) {
            if (u[j] > u[top]) top = j;
            gold_mean += g[j] / (double)n;
        }
        gold_of_top += g[top];
    }
    gold_of_top /= (double)b->n_prompts;
    gold_mean /= (double)b->n_prompts;
    // best-of-16 by the proxy is worse than an honest top sample would be
    // (~ +1.5 above the mean) because hacks win the argmax
    CHECK(gold_of_top < gold_mean + 1.0, "proxy argmax gold %.3f vs mean %.3f", gold_of_top, gold_mean);
    srs_data_free(d);
}

// ----------------------------------------------------------------------------
// bad input: message names the file and line/row, exit 1 or 2, no output

static void expect_failure(const char *const *argv, int want_rc, const char *out, const char *want1,
                           const char *want2) {
    char *err = NULL;
    int rc = t_run_srs(argv, NULL, &err);
    CHECK(rc == want_rc, "%s %s: exit %d, want %d (stderr: %s)", argv[0], argv[1] ? argv[1] : "", rc, want_rc,
          err ? err : "");
    CHECK(err && strstr(err, want1), "stderr lacks '%s': %s", want1, err ? err : "");
    if (want2) CHECK(err && strstr(err, want2), "stderr lacks '%s': %s", want2, err ? err : "");
    if (out) CHECK(!t_exists(out), "output %s was left behind", out);
    free(err);
}

static const char *write_npy(const char *name, const char *descr, const char *shape, const void *data, size_t bytes) {
    char hdr[128];
    int n = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape);
    while ((10 + n + 1) % 64) hdr[n++] = ' ';
    hdr[n++] = '\n';
    const char *p = t_path(name);
    FILE *f = fopen(p, "wb");
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    unsigned char len[2] = {(unsigned char)(n & 0xff), (unsigned char)(n >> 8)};
    fwrite(len, 1, 2, f);
    fwrite(hdr, 1, (size_t)n, f);
    if (bytes) fwrite(data, 1, bytes, f);
    fclose(f);
    return p;
}

TEST(cli_bad_input_files) {
    char out[512], out_npy[512];  // own copies: t_path's buffers rotate
    snprintf(out, sizeof out, "%s", t_path("bad-out.jsonl"));
    snprintf(out_npy, sizeof out_npy, "%s", t_path("bad-out.npy"));
    const char *f;
    f = t_write("bad-json.jsonl", "{\"prompt_id\": \"a\", \"rewards\": [1, 2]}\n{\"prompt_id\": \"b\", \"rewards\": [1,\n");
    expect_failure(ARGV("threshold", f, "-o", out), 1, out, "bad-json.jsonl:2", NULL);
    f = t_write("nan.jsonl", "{\"prompt_id\": \"a\", \"rewards\": [1, 2]}\n{\"prompt_id\": \"b\", \"rewards\": [1, NaN]}\n");
    expect_failure(ARGV("threshold", f, "-o", out), 1, out, "nan.jsonl:2", NULL);
    f = t_write("inf.jsonl", "{\"prompt_id\": \"a\", \"rewards\": [1, 2]}\n\n{\"prompt_id\": \"b\", \"rewards\": [1e999]}\n");
    expect_failure(ARGV("shape", f, "-o", out), 1, out, "inf.jsonl:3", NULL);
    f = t_write("empty-row.jsonl", "{\"prompt_id\": \"a\", \"rewards\": [1, 2]}\n{\"prompt_id\": \"b\", \"rewards\": []}\n");
    expect_failure(ARGV("threshold", f, "-o", out), 1, out, "empty-row.jsonl:2", NULL);
    f = t_write("nan.csv", "prompt_id,reward\na,1\na,2\nb,nan\n");
    expect_failure(ARGV("threshold", f, "-o", out), 1, out, "nan.csv:4", NULL);
    f = t_write("empty.jsonl", "");
    expect_failure(ARGV("threshold", f, "-o", out), 1, out, "empty.jsonl", NULL);
    expect_failure(ARGV("threshold", t_path("does-not-exist.jsonl"), "-o", out), 1, out, "does-not-exist.jsonl", NULL);

    // NPY: a NaN deep in the data is caught by the compute step and named by row
    double v[6] = {1, 2, 3, 4, NAN, 6};
    f = write_npy("nan.npy", "<f8", "(3, 2)", v, sizeof v);
    expect_failure(ARGV("threshold", f, "-o", out), 1, out, "nan.npy", "row 2, sample 0");
    expect_failure(ARGV("shape", f, "-o", out_npy), 1, out_npy, "row 2", NULL);
    CHECK(!t_exists(t_path("bad-out.thresholds.npy")), "companion output left behind");
    v[4] = 5;
    f = write_npy("ragged.npy", "|O", "(3,)", v, 24);
    expect_failure(ARGV("threshold", f, "-o", out), 1, out, "ragged.npy", NULL);
    int32_t iv[6] = {1, 2, 3, 4, 5, 6};
    f = write_npy("int.npy", "<i4", "(3, 2)", iv, sizeof iv);
    expect_failure(ARGV("threshold", f, "-o", out), 1, out, "int.npy", "<i4");
    f = write_npy("trunc.npy", "<f8", "(3, 2)", v, sizeof v - 9);
    expect_failure(ARGV("threshold", f, "-o", out), 1, out, "trunc.npy", "truncated");
    f = write_npy("oned.npy", "<f8", "(6,)", v, sizeof v);
    expect_failure(ARGV("threshold", f, "-o", out), 1, out, "oned.npy", NULL);
}

// Numbers that overflowed silently (issue 13, items 1 and 2): the commands
// of the issue give finite numbers now.
TEST(cli_overflow_and_far_logw_give_numbers) {
    char mm[512], lw[512], dir[512], p[600];
    snprintf(mm, sizeof mm, "%s", t_write("minmax-big.jsonl", "{\"prompt_id\": 0, \"rewards\": [0, 1e300, 5e299]}\n"));
    snprintf(lw, sizeof lw, "%s", t_write("far-logw.jsonl", "{\"prompt_id\": 0, \"rewards\": [14, 2], \"logw\": [0, 800]}\n"));
    char *out = NULL, *err = NULL;
    int rc = t_run_srs(ARGV("shape", mm, "--design", "minmax", "--B", "1e300"), &out, &err);
    CHECK(rc == 0 && out && strstr(out, "\"shaped\": [0, 1e+300, 5e+299]"), "shape minmax: rc %d: %s%s", rc,
          out ? out : "", err ? err : "");
    free(out), free(err);
    const char *const runs[2][12] = {
        {"eval", mm, "--designs", "minmax", "--B", "1e300", "--replicates", "10", "--plot", "none", "-q", "--out"},
        {"eval", lw, "--designs", "base,raw,soft", "--beta", "0.01", "--replicates", "10", "--plot", "none", "-q"}};
    for (int k = 0; k < 2; k++) {
        snprintf(dir, sizeof dir, "%s", t_path(k ? "ev-far-logw" : "ev-minmax"));
        const char *argv[16];
        int n = 0;
        for (int i = 0; i < 12 && runs[k][i]; i++) argv[n++] = runs[k][i];
        if (strcmp(argv[n - 1], "--out") != 0) argv[n++] = "--out";
        argv[n++] = dir;
        argv[n] = NULL;
        err = NULL;
        rc = t_run_srs(argv, NULL, &err);
        CHECK(rc == 0, "%s: rc %d: %s", argv[1], rc, err ? err : "");
        free(err);
        snprintf(p, sizeof p, "%s/metrics.csv", dir);
        char *csv = t_slurp(p);
        CHECK(csv && !strstr(csv, "nan") && !strstr(csv, "inf"), "%s: metrics: %s", argv[1], csv ? csv : "(none)");
        // the arms' proxy, kl and ess columns are all filled in
        for (char *line = csv ? strchr(csv, '\n') : NULL; line && line[1]; line = strchr(line + 1, '\n')) {
            int commas = 0;
            const char *f = line + 1;
            for (; *f && *f != '\n' && commas < 5; f++) commas += *f == ',';
            CHECK(*f != ',' && *f != '\n', "%s: an empty proxy: %.80s", argv[1], line + 1);
        }
        free(csv);
    }
}

// Bytes the readers took silently (issue 13, items 4 to 6), by the command
// line: exit 1, the file and line named, no output; and JSONL written from
// a CSV with UTF-8 ids reads back.
static const char *write_raw(const char *name, const char *bytes, size_t n) {
    const char *p = t_path(name);
    FILE *f = fopen(p, "wb");
    if (f) {
        fwrite(bytes, 1, n, f);
        fclose(f);
    }
    return p;
}
#define RAW(name, lit) write_raw(name, lit, sizeof(lit) - 1)

TEST(cli_strict_bytes) {
    char out[512], in[512];
    snprintf(out, sizeof out, "%s", t_path("strict-out.jsonl"));
    snprintf(in, sizeof in, "%s", RAW("nul-id.csv", "prompt_id,reward\n\"p\0a\",1\n\"p\0b\",5\n"));
    expect_failure(ARGV("threshold", in, "-o", out), 1, out, "nul-id.csv:2: a NUL byte", NULL);
    snprintf(in, sizeof in, "%s", RAW("nul-num.csv", "prompt_id,reward\na,1\0junk\n"));
    expect_failure(ARGV("threshold", in, "-o", out), 1, out, "nul-num.csv:2: a NUL byte", NULL);
    snprintf(in, sizeof in, "%s", RAW("bad-utf8.csv", "prompt_id,reward\n\xff\xfe,1\n"));
    expect_failure(ARGV("shape", in, "-o", out), 1, out, "bad-utf8.csv:2: prompt_id is not valid UTF-8", NULL);
    snprintf(in, sizeof in, "%s", RAW("hex.csv", "prompt_id,reward\na,0x10\n"));
    expect_failure(ARGV("threshold", in, "-o", out), 1, out, "hex.csv:2: \"reward\" is a hexadecimal number", NULL);
    snprintf(in, sizeof in, "%s", RAW("dup.jsonl", "{\"prompt_id\": \"a\", \"rewards\": [1]}\n"
                                                   "{\"prompt_id\": \"a\", \"rewards\": [2]}\n"));
    expect_failure(ARGV("threshold", in, "-o", out), 1, out, "dup.jsonl:2: prompt_id \"a\" appears again", NULL);
    snprintf(in, sizeof in, "%s", RAW("idkey.jsonl", "{\"id\": \"a\", \"rewards\": [1]}\n"));
    expect_failure(ARGV("threshold", in, "-o", out), 1, out, "idkey.jsonl:1: unknown key \"id\"", NULL);
    static const double v[7] = {1, 2, 3, 4, 5, 6, 7};
    snprintf(in, sizeof in, "%s", write_npy("trail.npy", "<f8", "(3, 2)", v, sizeof v));
    expect_failure(ARGV("threshold", in, "-o", out), 1, out, "trail.npy: 8 bytes after the data", NULL);
    // UTF-8 ids: CSV -> JSONL -> srs and Python read it back
    snprintf(in, sizeof in, "%s", RAW("utf8.csv", "prompt_id,reward\ncaf\xc3\xa9,1\ncaf\xc3\xa9,2\n\xf0\x9f\x98\x80,3\n"));
    CHECK(t_run_srs(ARGV("threshold", in, "-o", out, "-q"), NULL, NULL) == 0, "utf8 ids");
    char back[512];
    snprintf(back, sizeof back, "%s", t_path("utf8-back.jsonl"));
    CHECK(t_run_srs(ARGV("shape", t_path("utf8.csv"), "-o", back, "-q"), NULL, NULL) == 0, "shape utf8");
    json_t *a = load_jsonl(back);
    CHECK(a && json_array_size(a) == 2 && !strcmp(json_string_value(json_object_get(json_array_get(a, 0), "prompt_id")),
                                                  "caf\xc3\xa9"),
          "JSONL read back");
    json_decref(a);
}

TEST(cli_bad_parameters_are_usage_errors) {
    char in[512], out[512];
    snprintf(in, sizeof in, "%s", t_write("ok.jsonl", "{\"prompt_id\": \"a\", \"rewards\": [1, 2, 3]}\n"));
    snprintf(out, sizeof out, "%s", t_path("param-out.jsonl"));
    expect_failure(ARGV("threshold", in, "--beta", "0", "-o", out), 2, out, "beta", NULL);
    expect_failure(ARGV("threshold", in, "--beta", "-1", "-o", out), 2, out, "beta", NULL);
    expect_failure(ARGV("threshold", in, "--B", "-1", "-o", out), 2, out, "B must", NULL);
    expect_failure(ARGV("threshold", in, "--B", "abc", "-o", out), 2, out, "not a number", NULL);
    expect_failure(ARGV("threshold", in, "--preset", "paper", "-o", out), 2, out, "unknown preset 'paper'", NULL);
    expect_failure(ARGV("threshold", in, "--solver", "newton", "-o", out), 2, out, "unknown solver 'newton'", NULL);
    expect_failure(ARGV("shape", in, "--design", "tanh", "-o", out), 2, out, "unknown design", NULL);
    expect_failure(ARGV("shape", in, "--alpha", "0", "-o", out), 2, out, "alpha", NULL);
    expect_failure(ARGV("threshold", in, "--frobnicate", "-o", out), 2, out, "unknown option", NULL);
    expect_failure(ARGV("threshold", "-o", out), 2, out, "missing INPUT", NULL);
    expect_failure(ARGV("threshold", in, "--beta"), 2, NULL, "needs a value", NULL);
    expect_failure(ARGV("frobnicate"), 2, NULL, "unknown command", NULL);
    srs_ctx_t *probe = NULL;
    if (srs_ctx_create(&probe, SRS_DEVICE_CUDA, 0) == SRS_OK) srs_ctx_free(probe);  // a GPU is here
    else
        expect_failure(ARGV("threshold", in, "--device", "cuda", "-o", out), 1, out,
                       srs_cuda_compiled() ? "no CUDA device" : "not compiled in",
                       NULL);
    // and a good run of the same file works
    CHECK(t_run_srs(ARGV("threshold", in, "-o", out), NULL, NULL) == 0 && t_exists(out), "good run");
}

TEST(cli_help_and_version) {
    const char *cmds[] = {"threshold", "shape", "gen", "demo", "eval"};
    for (int i = 0; i < 5; i++) {
        char *out = NULL;
        int rc = t_run_srs(ARGV(cmds[i], "--help"), &out, NULL);
        CHECK(rc == 0 && out && strstr(out, "Usage: srs"), "%s --help: rc %d", cmds[i], rc);
        free(out);
    }
    char *out = NULL;
    CHECK(t_run_srs(ARGV("--version"), &out, NULL) == 0 && out && strstr(out, SRS_VERSION_STRING), "--version");
    free(out);
    out = NULL;
    CHECK(t_run_srs(ARGV("--help"), &out, NULL) == 0 && out && strstr(out, "threshold"), "--help");
    free(out);
}

TEST(cli_demo_runs) {
    const char *dir = t_path("demo");
    char *out = NULL;
    int rc = t_run_srs(ARGV("demo", "--dir", dir, "--prompts", t_quick() ? "500" : "3000", "-q"), &out, NULL);
    CHECK(rc == 0, "demo exited %d", rc);
    CHECK(out && strstr(out, "soft (alpha 1)") && strstr(out, "base policy"), "demo table: %s", out ? out : "");
    char p[600];
    snprintf(p, sizeof p, "%s/metrics.csv", dir);
    CHECK(t_exists(p), "demo did not write %s", p);
    free(out);
}

// ----------------------------------------------------------------------------
// outputs under faults: full disks, signals, special files

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

// Starts srs with argv (as t_run_srs), stdout to out_path (NULL: a scratch
// file) and stderr to err_path; returns the pid, or -1.
static pid_t spawn_srs(const char *const *argv, const char *out_path, const char *err_path) {
    const char *bin = getenv("SRS_BIN");
    if (!bin || !*bin) bin = "build/srs";
    const char *args[64];
    int n = 0;
    args[n++] = bin;
    for (int i = 0; argv[i] && n < 63; i++) args[n++] = argv[i];
    args[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out_path ? out_path : t_path(".spawn.out"), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid;
    int rc = posix_spawn(&pid, bin, &fa, NULL, (char *const *)args, environ);
    posix_spawn_file_actions_destroy(&fa);
    return rc == 0 ? pid : -1;
}

// Waits for pid; its wait status, or -1.
static int wait_status(pid_t pid) {
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    return status;
}

TEST(cli_stdout_full_disk_names_enospc) {
    // bigger than a stdio buffer: the failing write is a write(2) of the copy
    char in[512], errp[512];
    snprintf(in, sizeof in, "%s", t_path("full-in.jsonl"));
    snprintf(errp, sizeof errp, "%s", t_path("full.err"));
    CHECK(t_run_srs(ARGV("gen", "--prompts", "5000", "-o", in), NULL, NULL) == 0, "gen");
    if (access("/dev/full", W_OK) != 0) SKIP("/dev/full is not writable here");
    int st = wait_status(spawn_srs(ARGV("threshold", in, "-q"), "/dev/full", errp));
    char *err = t_slurp(errp);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 1, "exit status %d", st);
    CHECK(err && strstr(err, "standard output") && strstr(err, "No space left on device"), "stderr: %s",
          err ? err : "");
    free(err);
}

// ----------------------------------------------------------------------------
// options do what they say: an option a command does not use is refused

typedef struct {
    const char *argv[16];
    const char *want;   // in stderr
} usage_case_t;

TEST(cli_unused_and_conflicting_options_are_usage_errors) {
    char in[512], npy[512], out[512], g[512];
    snprintf(in, sizeof in, "%s", t_write("uo.jsonl", "{\"prompt_id\": \"a\", \"rewards\": [1, 2, 3]}\n"));
    snprintf(npy, sizeof npy, "%s", t_path("uo.npy"));
    snprintf(out, sizeof out, "%s", t_path("uo-out.jsonl"));
    snprintf(g, sizeof g, "%s", t_path("uo-gen.jsonl"));
    CHECK(t_run_srs(ARGV("gen", "--prompts", "4", "-o", npy), NULL, NULL) == 0, "gen");
    const usage_case_t cases[] = {
        // the list
        {{"threshold", in, "--alpha", "2", "-o", out}, "'--alpha' does not apply to 'srs threshold'"},
        {{"threshold", in, "--design", "hard", "-o", out}, "'--design' does not apply"},
        {{"threshold", in, "--clip", "3", "-o", out}, "'--clip' does not apply"},
        {{"gen", "--preset", "paper-cd", "-o", g}, "'--preset' does not apply to 'srs gen'"},
        {{"gen", "--B", "3", "-o", g}, "'--B' does not apply"},
        {{"score", "--design", "soft", "--hidden", npy, "--head", npy, "-o", out}, "'--design' does not apply"},
        {{"gen", "--scenario", "twopoint", "--samples", "4", "-o", g}, "--samples does not apply to the twopoint"},
        {{"gen", "--scenario", "twopoint", "--ragged", "-o", g}, "--ragged does not apply to the twopoint"},
        {{"eval", in, "--lambda", "1,2", "--beta", "4", "--out", t_path("uo-ev")}, "--beta and --lambda"},
        {{"eval", in, "--beta", "4", "--lambda", "1,2", "--out", t_path("uo-ev")}, "--beta and --lambda"},
        // the same audit over every command
        {{"threshold", in, "--gold", npy, "-o", out}, "'--gold' does not apply"},
        {{"threshold", in, "--seed", "3", "-o", out}, "'--seed' does not apply"},
        {{"threshold", in, "--dir", "x", "-o", out}, "'--dir' does not apply"},
        {{"threshold", in, "--cap", "3", "-o", out}, "--cap applies to --preset paper-cd"},
        {{"threshold", in, "--tol", "1e-3", "-o", out}, "--tol applies to --solver bisect"},
        {{"threshold", in, "--max-iter", "5", "-o", out}, "--max-iter applies to --solver bisect or dinkelbach"},
        {{"threshold", in, "--logw", npy, "-o", out}, "--logw names a companion of NPY input"},
        {{"shape", in, "--design", "hard", "--alpha", "2", "-o", out}, "--alpha applies to the soft and meansoft"},
        {{"shape", in, "--design", "soft", "--clip", "2", "-o", out}, "--clip applies to the cap design"},
        {{"gen", "--dtype", "f32", "-o", g}, "--dtype applies to NPY output only"},
        {{"gen", "--scenario", "twopoint", "--seed", "4", "-o", g}, "--seed does not apply to the twopoint"},
        {{"gen", "--format", "csv", "-o", g}, "'--format' does not apply"},
        {{"demo", "--design", "hard", "--dir", t_path("uo-demo")}, "'--design' does not apply to 'srs demo'"},
        {{"demo", "-o", g}, "'-o/--output' does not apply to 'srs demo'"},
        {{"demo", "--cap", "3", "--preset", "exact", "--dir", t_path("uo-demo")}, "--cap applies"},
        {{"eval", in, "-o", out}, "--out DIR, not -o"},
        {{"eval", in, "--design", "hard", "--out", t_path("uo-ev")}, "'--design' does not apply"},
        {{"eval", in, "--samples", "3", "--out", t_path("uo-ev")}, "'--samples' does not apply"},
        {{"eval", in, "--designs", "raw,hard", "--alpha", "2", "--out", t_path("uo-ev")}, "--alpha applies"},
        {{"eval", in, "--designs", "raw,hard", "--clip", "2", "--out", t_path("uo-ev")}, "--clip applies"},
        {{"eval", in, "--tol", "1e-3", "--out", t_path("uo-ev")}, "--tol applies"},
        {{"score", "--hidden", npy, "--head", npy, "-o", out, "--B", "3"}, "apply to --then-threshold only"},
        {{"score", "--hidden", npy, "--head", npy, "-o", out, "--head-index", "1"}, "--head-index applies"},
        {{"score", "--hidden", npy, "--head", npy, "--row-len", "2", "--then-threshold", out, "--out-format", "csv"},
         "--out-format applies to -o"},
        {{"bench", "threshold", "--solver", "bisect"}, "use --solvers LIST"},
        {{"bench", "threshold", "--solvers", "exact", "--tol", "1e-3"}, "--tol applies"},
        {{"bench", "threshold", "-o", out}, "'-o/--output' does not apply"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char *err = NULL;
        int rc = t_run_srs(cases[k].argv, NULL, &err);
        CHECK(rc == 2 && err && strstr(err, cases[k].want), "case %zu (%s %s): exit %d, stderr: %s", k,
              cases[k].argv[0], cases[k].argv[1], rc, err ? err : "");
        free(err);
    }
    CHECK(!t_exists(out) && !t_exists(g) && !t_exists(t_path("uo-ev")) && !t_exists(t_path("uo-demo")),
          "a refused command left output");
    // what the options are for still works
    CHECK(t_run_srs(ARGV("shape", in, "--design", "cap", "--clip", "2", "-q", "-o", out), NULL, NULL) == 0, "cap clip");
    CHECK(t_run_srs(ARGV("threshold", in, "--preset", "paper-cd", "--cap", "1", "--solver", "bisect", "--tol", "1e-9",
                         "--max-iter", "100", "-q", "-o", out), NULL, NULL) == 0, "paper-cd cap bisect tol");
    CHECK(t_run_srs(ARGV("gen", "--scenario", "twopoint", "--prompts", "3", "-q", "-o", g), NULL, NULL) == 0,
          "twopoint");
}

TEST(cli_demo_honours_threshold_and_design_options) {
    char dir[512], p[600];
    snprintf(dir, sizeof dir, "%s", t_path("demo-opts"));
    char *out = NULL, *err = NULL;
    int rc = t_run_srs(ARGV("demo", "--dir", dir, "--preset", "paper-args", "--B", "12", "--beta", "2", "--alpha", "5",
                            "--prompts", "300", "-q"), &out, &err);
    CHECK(rc == 0, "demo exited %d: %s", rc, err ? err : "");
    CHECK(out && strstr(out, "preset paper-args, B 12") && strstr(out, "soft (alpha 5)") && strstr(out, "1/β = 0.5 (β = 2)")
              && !strstr(out, "(β = 1)"), "table: %s", out ? out : "");
    snprintf(p, sizeof p, "%s/config.ini", dir);
    char *ini = t_slurp(p);
    CHECK(ini && strstr(ini, "preset = paper-args") && strstr(ini, "B = 12\n") && strstr(ini, "alpha = 5\n") &&
              strstr(ini, "beta = 2\n"), "config.ini: %s", ini ? ini : "");
    free(ini);
    free(out);
    free(err);
}

// ----------------------------------------------------------------------------
// messages that point at the right thing

TEST(cli_messages_name_the_right_option_and_file) {
    char in[512], out[512], link[512];
    const char *text = "{\"prompt_id\": \"a\", \"rewards\": [1, 2, 1.5, 1.7]}\n{\"prompt_id\": \"b\", \"rewards\": [3, 1]}\n";
    snprintf(in, sizeof in, "%s", t_write("msg.jsonl", text));
    snprintf(out, sizeof out, "%s", t_path("msg-out.txt"));
    expect_failure(ARGV("threshold", in, "-o", out), 2, out, "use --out-format", NULL);
    expect_failure(ARGV("gen", "-o", out), 2, out, "use --out-format", NULL);
    expect_failure(ARGV("threshold", in, "--beta", "1e-320"), 2, NULL, "'1e-320' is out of range", "smallest normal");
    expect_failure(ARGV("threshold", in, "--B", "1e999"), 2, NULL, "'1e999' is out of range", NULL);
    expect_failure(ARGV("threshold", in, "--B", "abc"), 2, NULL, "'abc' is not a number", NULL);
    // -o naming the input, directly or through a link, is refused and the input kept
    expect_failure(ARGV("threshold", in, "-o", in), 2, NULL, "is the input file", NULL);
    snprintf(link, sizeof link, "%s", t_path("msg-link.jsonl"));
    CHECK(symlink(in, link) == 0, "symlink");
    expect_failure(ARGV("shape", in, "-o", link), 2, NULL, "is the input file", NULL);
    char npy[512];
    snprintf(npy, sizeof npy, "%s", t_path("msg.npy"));
    CHECK(t_run_srs(ARGV("gen", "--prompts", "3", "--samples", "4", "-o", npy), NULL, NULL) == 0, "gen npy");
    // the shaped NPY's companion <stem>.thresholds.npy would replace the input msg.thresholds.npy
    char thr_in[512];
    snprintf(thr_in, sizeof thr_in, "%s", t_path("msg.thresholds.npy"));
    CHECK(t_run_srs(ARGV("gen", "--prompts", "3", "--samples", "4", "-o", thr_in), NULL, NULL) == 0, "gen npy 2");
    expect_failure(ARGV("shape", thr_in, "-o", npy), 2, NULL, "is the input file", NULL);
    char *s = t_slurp(in);
    CHECK(s && !strcmp(s, text), "the input was changed");
    free(s);
    // two outputs of one run cannot share a file
    char sc[512];
    snprintf(sc, sizeof sc, "%s", t_path("msg-sc.jsonl"));
    expect_failure(ARGV("score", "--hidden", npy, "--head", npy, "--row-len", "2", "-o", sc, "--then-threshold", sc), 2,
                   sc, "are the same file", NULL);
}

TEST(cli_bounded_solver_that_stops_early_is_an_error) {
    char in[512], out[512];
    snprintf(in, sizeof in, "%s",
             t_write("conv.jsonl", "{\"prompt_id\": \"a\", \"rewards\": [1, 2, 1.5, 1.7]}\n"
                                   "{\"prompt_id\": \"b\", \"rewards\": [3, 1, 2]}\n"));
    snprintf(out, sizeof out, "%s", t_path("conv-out.jsonl"));
    // the case: 1.75 instead of 1.731 with exit 0
    expect_failure(ARGV("threshold", in, "--solver", "bisect", "--max-iter", "1", "-o", out), 1, out, "conv.jsonl:1",
                   "did not converge within max_iter 1");
    expect_failure(ARGV("shape", in, "--solver", "bisect", "--max-iter", "3", "-o", out), 1, out, "prompt \"a\"",
                   "raise max_iter");
    // enough iterations: the bounded solvers agree with exact
    char *a = NULL, *b = NULL, *c = NULL;
    CHECK(t_run_srs(ARGV("threshold", in, "-q"), &a, NULL) == 0, "exact");
    CHECK(t_run_srs(ARGV("threshold", in, "--solver", "bisect", "--max-iter", "60", "--tol", "1e-15", "-q"), &b, NULL) == 0,
          "bisect 60");
    CHECK(t_run_srs(ARGV("threshold", in, "--solver", "dinkelbach", "--max-iter", "10", "-q"), &c, NULL) == 0,
          "dinkelbach 10");
    CHECK(a && c && !strcmp(a, c), "dinkelbach: %s vs %s", c ? c : "", a ? a : "");
    CHECK(b && strstr(b, "\"m_star\": 1.68863514717"), "bisect: %s", b ? b : "");
    free(a);
    free(b);
    free(c);
}

// ----------------------------------------------------------------------------
// srs eval writes into the current directory by default

// Runs srs with argv in directory dir (stdout and stderr discarded); the exit code or -1.
static int run_srs_in(const char *dir, const char *const *argv) {
    const char *bin = getenv("SRS_BIN");
    char abs_bin[4096];
    if (!realpath(bin && *bin ? bin : "build/srs", abs_bin)) return -1;
    const char *args[64];
    int n = 0;
    args[n++] = abs_bin;
    for (int i = 0; argv[i] && n < 63; i++) args[n++] = argv[i];
    args[n] = NULL;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0 || chdir(dir) != 0) _exit(126);
        execv(abs_bin, (char *const *)args);
        _exit(127);
    }
    int st = wait_status(pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST(cli_eval_default_results_in_the_current_directory) {
    if (getenv("SRS_TEST_NO_FORK")) SKIP("SRS_TEST_NO_FORK: this test forks, and fork does not return under qemu-user");
    char in[512], wd[512], p[1400], repo_run[600];
    snprintf(in, sizeof in, "%s", t_write("ev-cwd.jsonl", "{\"prompt_id\": 1, \"rewards\": [1, 2, 3]}\n"
                                                          "{\"prompt_id\": 2, \"rewards\": [0, 5]}\n"));
    snprintf(wd, sizeof wd, "%s", t_path("ev-cwd"));
    mkdir(wd, 0755);
    snprintf(repo_run, sizeof repo_run, "results/runs/srs-test-cwd-%d", (int)getpid());
    const char *name = repo_run + strlen("results/runs/");
    int rc = run_srs_in(wd, ARGV("eval", in, "--name", name, "--replicates", "5", "--plot", "none", "-q"));
    CHECK(rc == 0, "eval exited %d", rc);
    snprintf(p, sizeof p, "%s/srs-eval-%s/metrics.csv", wd, name);
    CHECK(t_exists(p), "no %s", p);
    CHECK(!t_exists(repo_run), "eval wrote into the repository: %s", repo_run);
}

// ----------------------------------------------------------------------------
// every file of a run or none

#include <sys/resource.h>

// Runs srs with argv, files limited to fsize bytes (writes past it fail with
// EFBIG, SIGXFSZ ignored); stderr to err_path. The exit code, or -1.
static int run_srs_fsize(const char *const *argv, long fsize, const char *err_path) {
    const char *bin = getenv("SRS_BIN");
    if (!bin || !*bin) bin = "build/srs";
    const char *args[64];
    int n = 0;
    args[n++] = bin;
    for (int i = 0; argv[i] && n < 63; i++) args[n++] = argv[i];
    args[n] = NULL;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        struct rlimit rl = {(rlim_t)fsize, (rlim_t)fsize};
        int fd = open("/dev/null", O_WRONLY), fe = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || fe < 0 || dup2(fd, 1) < 0 || dup2(fe, 2) < 0) _exit(126);
        signal(SIGXFSZ, SIG_IGN);
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(126);
        execv(bin, (char *const *)args);
        _exit(127);
    }
    int st = wait_status(pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

// Number of entries of dir whose name contains ".tmp" (temporaries, staging directories).
static int count_tmp_in(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) n += strstr(e->d_name, ".tmp") != NULL;
    closedir(d);
    return n;
}

TEST(cli_shaped_npy_commits_both_files_or_neither) {
    char in[512], out[512], thr[512], sub[600];
    snprintf(in, sizeof in, "%s", t_path("both-in.npy"));
    CHECK(t_run_srs(ARGV("gen", "--prompts", "20", "--samples", "4", "-o", in), NULL, NULL) == 0, "gen");
    mkdir(t_path("both"), 0755);
    snprintf(out, sizeof out, "%s", t_path("both/shq.npy"));
    snprintf(thr, sizeof thr, "%s", t_write("both/shq.thresholds.npy", "old companion"));
    snprintf(sub, sizeof sub, "%s/x", out);
    mkdir(out, 0755);  // the case: the main output cannot be replaced
    mkdir(sub, 0755);
    expect_failure(ARGV("shape", in, "-o", out), 1, NULL, "shq.npy", "is a directory");
    char *s = t_slurp(thr);
    CHECK(s && !strcmp(s, "old companion"), "the companion was replaced by a failed run: %.20s", s ? s : "(gone)");
    free(s);
    CHECK(count_tmp_in(t_path("both")) == 0, "temporaries left");
    // and a good run replaces both
    rmdir(sub);
    rmdir(out);
    CHECK(t_run_srs(ARGV("shape", in, "-q", "-o", out), NULL, NULL) == 0, "good run");
    s = t_slurp(thr);
    CHECK(s && !memcmp(s, "\x93NUMPY", 6), "companion not written");
    free(s);
}

TEST(cli_failed_eval_leaves_no_results) {
    if (getenv("SRS_TEST_NO_FORK")) SKIP("SRS_TEST_NO_FORK: this test forks, and fork does not return under qemu-user");
    char in[512], errp[512], dir[512], p[700];
    snprintf(in, sizeof in, "%s", t_path("evf.jsonl"));
    snprintf(errp, sizeof errp, "%s", t_path("evf.err"));
    CHECK(t_run_srs(ARGV("gen", "--prompts", "300", "-o", in), NULL, NULL) == 0, "gen");
    // a new nested directory, and writing fails (EFBIG past 4 KiB): nothing is left, not even the parents
    snprintf(dir, sizeof dir, "%s", t_path("evf-new/a/b"));
    int rc = run_srs_fsize(ARGV("eval", in, "--out", dir, "--replicates", "5", "--plot", "none", "-q"), 4096, errp);
    char *err = t_slurp(errp);
    CHECK(rc == 1 && err && strstr(err, "nothing written"), "exit %d: %s", rc, err ? err : "");
    free(err);
    CHECK(!t_exists(t_path("evf-new")), "a failed eval left a directory behind");
    CHECK(count_tmp_in(t_tmpdir()) == 0, "staging left in %s", t_tmpdir());
    // an existing directory: a result that cannot be replaced fails the run before any file moves
    snprintf(dir, sizeof dir, "%s", t_path("evf-old"));
    mkdir(dir, 0755);
    snprintf(p, sizeof p, "%s/metrics.csv", dir);
    FILE *f = fopen(p, "w");
    fputs("old", f);
    fclose(f);
    snprintf(p, sizeof p, "%s/metrics.json", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/metrics.json/x", dir);
    mkdir(p, 0755);
    expect_failure(ARGV("eval", in, "--out", dir, "--replicates", "5", "-q"), 1, NULL, "metrics.json", "is a directory");
    snprintf(p, sizeof p, "%s/metrics.csv", dir);
    char *s = t_slurp(p);
    CHECK(s && !strcmp(s, "old"), "metrics.csv changed by a failed run");
    free(s);
    CHECK(count_tmp_in(dir) == 0, "staging left in %s", dir);
    // a rerun with --plot none replaces the run whole: no plot of the earlier run stays
    snprintf(dir, sizeof dir, "%s", t_path("evf-rerun"));
    CHECK(t_run_srs(ARGV("eval", in, "--out", dir, "--replicates", "5", "-q"), NULL, NULL) == 0, "first run");
    snprintf(p, sizeof p, "%s/plot.gp", dir);
    CHECK(t_exists(p), "first run: no plot.gp");
    CHECK(t_run_srs(ARGV("eval", in, "--out", dir, "--replicates", "6", "--plot", "none", "-q"), NULL, NULL) == 0,
          "rerun");
    CHECK(!t_exists(p), "plot.gp of the earlier run left beside the new metrics");
    snprintf(p, sizeof p, "%s/config.ini", dir);
    s = t_slurp(p);
    CHECK(s && strstr(s, "replicates = 6"), "rerun's config.ini: %s", s ? s : "");
    free(s);
    CHECK(count_tmp_in(dir) == 0, "staging left in %s", dir);
}

// ----------------------------------------------------------------------------
// special output paths: written through (FIFOs, devices) or followed (symlinks)

#include <sys/sysmacros.h>

TEST(cli_special_outputs_are_written_through_or_followed) {
    char in[512], ref[512], p[512], q[512];
    snprintf(in, sizeof in, "%s", t_write("sp.jsonl", "{\"prompt_id\": \"a\", \"rewards\": [1, 2, 1.5]}\n"
                                                      "{\"prompt_id\": \"b\", \"rewards\": [3, 1]}\n"));
    snprintf(ref, sizeof ref, "%s", t_path("sp-ref.jsonl"));
    CHECK(t_run_srs(ARGV("threshold", in, "-q", "-o", ref), NULL, NULL) == 0, "reference");
    char *want = t_slurp(ref);
    BAIL_IF_FAILED();
    // a FIFO: the bytes go through it to its reader, and it stays a FIFO (the
    // test holds the read end, so srs's open does not wait; the output fits
    // in the pipe's buffer)
    snprintf(p, sizeof p, "%s", t_path("sp.fifo"));
    CHECK(mkfifo(p, 0644) == 0, "mkfifo");
    int fr = open(p, O_RDONLY | O_NONBLOCK);
    CHECK(fr >= 0, "open the FIFO");
    CHECK(t_run_srs(ARGV("threshold", in, "-q", "-o", p), NULL, NULL) == 0, "threshold -o FIFO");
    char got_buf[4096];
    ssize_t got_n = fr >= 0 ? read(fr, got_buf, sizeof got_buf - 1) : -1;
    got_buf[got_n > 0 ? got_n : 0] = '\0';
    if (fr >= 0) close(fr);
    CHECK(!strcmp(got_buf, want), "through the FIFO: '%s'", got_buf);
    char *got;
    struct stat sb;
    CHECK(lstat(p, &sb) == 0 && S_ISFIFO(sb.st_mode), "the FIFO was replaced");
    // a character device: written through, never replaced (as root a copy of
    // /dev/null made here; a regular file in its place would show)
    snprintf(p, sizeof p, "%s", t_path("sp-null"));
    if (mknod(p, S_IFCHR | 0666, makedev(1, 3)) == 0) {
        CHECK(t_run_srs(ARGV("shape", in, "-q", "-o", p), NULL, NULL) == 0, "shape -o a null device");
        CHECK(lstat(p, &sb) == 0 && S_ISCHR(sb.st_mode), "the device was replaced by a %s",
              S_ISREG(sb.st_mode) ? "regular file" : "something else");
    }
    // the system's /dev/null and /dev/full only when not root: a build without
    // this rule would replace them as root (the copies above and below show it)
    if (geteuid() != 0) {
        CHECK(t_run_srs(ARGV("threshold", in, "-q", "-o", "/dev/null"), NULL, NULL) == 0, "-o /dev/null");
        CHECK(stat("/dev/null", &sb) == 0 && S_ISCHR(sb.st_mode), "/dev/null is no longer a device");
    }
    snprintf(p, sizeof p, "%s", t_path("sp-full"));
    const char *full = geteuid() == 0 && mknod(p, S_IFCHR | 0666, makedev(1, 7)) == 0 ? p : "/dev/full";
    if (access(full, W_OK) == 0 && (geteuid() != 0 || full == p))
        expect_failure(ARGV("threshold", in, "-q", "-o", full), 1, NULL, full, "No space left on device");
    // a symlink: its target is replaced atomically, the link stays
    snprintf(p, sizeof p, "%s", t_path("sp-link.jsonl"));
    snprintf(q, sizeof q, "%s", t_write("sp-target.jsonl", "old"));
    CHECK(symlink("sp-target.jsonl", p) == 0, "symlink");
    CHECK(t_run_srs(ARGV("threshold", in, "-q", "-o", p), NULL, NULL) == 0, "-o symlink");
    CHECK(lstat(p, &sb) == 0 && S_ISLNK(sb.st_mode), "the symlink was replaced");
    got = t_slurp(q);
    CHECK(got && !strcmp(got, want), "target: %s", got ? got : "(nothing)");
    free(got);
    // a dangling symlink: the file it names is created
    snprintf(p, sizeof p, "%s", t_path("sp-dangling.jsonl"));
    CHECK(symlink("sp-new-target.jsonl", p) == 0, "symlink 2");
    CHECK(t_run_srs(ARGV("threshold", in, "-q", "-o", p), NULL, NULL) == 0, "-o dangling symlink");
    CHECK(lstat(p, &sb) == 0 && S_ISLNK(sb.st_mode), "the dangling symlink was replaced");
    got = t_slurp(t_path("sp-new-target.jsonl"));
    CHECK(got && !strcmp(got, want), "new target: %s", got ? got : "(nothing)");
    free(got);
    // a directory: refused
    snprintf(p, sizeof p, "%s", t_path("sp-dir.jsonl"));
    mkdir(p, 0755);
    expect_failure(ARGV("threshold", in, "-o", p), 1, NULL, "sp-dir.jsonl", "is a directory");
    CHECK(count_tmp_in(t_tmpdir()) == 0, "temporaries left");
    free(want);
}

// ----------------------------------------------------------------------------
// signals: no temporary outlives the run

// Starts srs with argv; stdout and stderr to /dev/null, the signals at their
// default action (a test run in the background may have SIGINT ignored),
// `path_first` (if any) at the head of PATH, SRS_TEST_MARK=mark (if any).
static pid_t spawn_srs_sig(const char *const *argv, const char *path_first, const char *mark) {
    const char *bin = getenv("SRS_BIN");
    char abs_bin[4096];
    if (!realpath(bin && *bin ? bin : "build/srs", abs_bin)) return -1;
    const char *args[64];
    int n = 0;
    args[n++] = abs_bin;
    for (int i = 0; argv[i] && n < 63; i++) args[n++] = argv[i];
    args[n] = NULL;
    pid_t pid = fork();
    if (pid != 0) return pid;
    int fd = open("/dev/null", O_RDWR);
    if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) _exit(126);
    int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
    for (int i = 0; i < 4; i++) signal(sigs[i], SIG_DFL);
    if (path_first) {
        char p[8192];
        snprintf(p, sizeof p, "%s:%s", path_first, getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
        setenv("PATH", p, 1);
    }
    if (mark) setenv("SRS_TEST_MARK", mark, 1);
    execv(abs_bin, (char *const *)args);
    _exit(127);
}

// Waits until pid blocks opening a FIFO for writing (no reader yet): 1; 0
// when it exited first (*status set); -1 when this kernel shows neither
// /proc/PID/wchan nor /proc/PID/syscall (or after a minute, a safety net).
static int wait_blocked_on_fifo(pid_t pid, int *status) {
    char p[64], buf[256];
    for (int i = 0; i < 60000; i++) {
        if (waitpid(pid, status, WNOHANG) == pid) return 0;
        snprintf(p, sizeof p, "/proc/%d/wchan", (int)pid);
        FILE *f = fopen(p, "r");
        size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f) fclose(f);
        buf[n] = '\0';
        if (strstr(buf, "wait_for_partner")) return 1;
#if defined(__x86_64__) || defined(__aarch64__)
        // else: asleep in openat(dirfd, path, O_WRONLY | O_CLOEXEC | O_NOCTTY), the
        // open of a written-through output (the FIFO; no other open uses these flags)
        snprintf(p, sizeof p, "/proc/%d/syscall", (int)pid);
        f = fopen(p, "r");
        n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f) fclose(f);
        buf[n] = '\0';
        long nr = -1;
        unsigned long a0 = 0, a1 = 0, a2 = 0;
        int fields = sscanf(buf, "%ld %lx %lx %lx", &nr, &a0, &a1, &a2);
#if defined(__x86_64__)
        const long openat_nr = 257;
#else
        const long openat_nr = 56;
#endif
        snprintf(p, sizeof p, "/proc/%d/stat", (int)pid);
        char stat_buf[512] = "";
        FILE *fs = fopen(p, "r");
        size_t sn = fs ? fread(stat_buf, 1, sizeof stat_buf - 1, fs) : 0;
        if (fs) fclose(fs);
        stat_buf[sn] = '\0';
        const char *rp = strrchr(stat_buf, ')');
        if (fields == 4 && nr == openat_nr && a2 == (unsigned long)(O_WRONLY | O_CLOEXEC | O_NOCTTY) && rp &&
            rp[1] == ' ' && rp[2] == 'S')
            return 1;
#endif
        usleep(1000);
    }
    return -1;
}

TEST(cli_signals_remove_temporaries) {
    if (getenv("SRS_TEST_NO_FORK")) SKIP("SRS_TEST_NO_FORK: this test forks, and fork does not return under qemu-user");
    char in[512], dir[512], fifo[600], thr[600];
    snprintf(in, sizeof in, "%s", t_path("sig-in.jsonl"));
    CHECK(t_run_srs(ARGV("gen", "--prompts", "2000", "--samples", "8", "-o", in), NULL, NULL) == 0, "gen");
    const int sigs[3] = {SIGINT, SIGTERM, SIGHUP};
    for (int k = 0; k < 3; k++) {
        // shape to a FIFO nobody reads, with its thresholds companion beside it:
        // the run blocks in the commit with the companion's temporary made
        snprintf(dir, sizeof dir, "%s/sig%d", t_tmpdir(), k);
        mkdir(dir, 0755);
        snprintf(fifo, sizeof fifo, "%s/out.npy", dir);
        snprintf(thr, sizeof thr, "%s/out.thresholds.npy", dir);
        CHECK(mkfifo(fifo, 0644) == 0, "mkfifo");
        pid_t pid = spawn_srs_sig(ARGV("shape", in, "-q", "-o", fifo), NULL, NULL);
        int status = 0, w = wait_blocked_on_fifo(pid, &status);
        if (w < 0) {
            kill(pid, SIGKILL);
            wait_status(pid);
            SKIP("cannot see where a process blocks (/proc/PID/wchan, /proc/PID/syscall)");
        }
        CHECK(w == 1, "srs did not wait for the FIFO's reader (exit status %d)", status);
        if (w == 1) {
            kill(pid, sigs[k]);
            status = wait_status(pid);
        }
        CHECK(WIFSIGNALED(status) && WTERMSIG(status) == sigs[k], "%s: status %d, want death by the signal",
              strsignal(sigs[k]), status);
        CHECK(count_tmp_in(dir) == 0, "%s: temporaries left in %s", strsignal(sigs[k]), dir);
        CHECK(!t_exists(thr), "%s: the companion was committed", strsignal(sigs[k]));
        struct stat sb;
        CHECK(lstat(fifo, &sb) == 0 && S_ISFIFO(sb.st_mode), "the FIFO was replaced");
    }
    // eval: its staging directory and the parents it created, while the plot
    // renders (a gnuplot that waits, found first on PATH)
    char bin[600], gp[700], mark[700], base[600], out[700];
    snprintf(bin, sizeof bin, "%s/fakebin", t_tmpdir());
    mkdir(bin, 0755);
    snprintf(gp, sizeof gp, "%s/gnuplot", bin);
    FILE *f = fopen(gp, "w");
    fputs("#!/bin/sh\necho $$ > \"$SRS_TEST_MARK.part\" && mv \"$SRS_TEST_MARK.part\" \"$SRS_TEST_MARK\"\n"
          "exec sleep 600\n", f);
    fclose(f);
    chmod(gp, 0755);
    for (int k = 0; k < 3; k++) {
        snprintf(mark, sizeof mark, "%s/gnuplot-started-%d", bin, k);
        snprintf(base, sizeof base, "%s/sigev%d", t_tmpdir(), k);
        snprintf(out, sizeof out, "%s/new/run", base);
        mkdir(base, 0755);
        pid_t pid = spawn_srs_sig(ARGV("eval", in, "--out", out, "--replicates", "3", "-q"), bin, mark);
        int status = 0, started = 0;
        while (!(started = t_exists(mark)) && waitpid(pid, &status, WNOHANG) == 0) usleep(1000);
        CHECK(started, "gnuplot never started (srs exit status %d)", status);
        if (!started) continue;
        char sp[700];
        snprintf(sp, sizeof sp, "%s/new", base);
        CHECK(count_tmp_in(sp) == 1, "no staging directory in %s while the plot renders", sp);
        kill(pid, sigs[k]);
        status = wait_status(pid);
        char *gpid = t_slurp(mark);
        if (gpid && atoi(gpid) > 0) kill(atoi(gpid), SIGKILL);  // the waiting gnuplot
        free(gpid);
        CHECK(WIFSIGNALED(status) && WTERMSIG(status) == sigs[k], "eval, %s: status %d", strsignal(sigs[k]), status);
        CHECK(!t_exists(sp), "eval, %s: %s (created by the run) is left", strsignal(sigs[k]), sp);
        CHECK(t_exists(base) && count_tmp_in(base) == 0, "eval, %s: %s changed", strsignal(sigs[k]), base);
    }
}

// An NPY input truncated while srs reads it (memory-mapped): an I/O error
// naming the file, not a crash. The --logw companion is a FIFO, so the run
// waits there with the rewards already mapped: the test truncates them, then
// feeds the companion.
TEST(cli_npy_truncated_during_the_run_is_an_io_error) {
    enum { ROWS = 64, COLS = 512 };
    char npy[512], fifo[512], out[512], errp[512];
    static double v[ROWS * COLS];
    uint64_t s = 5;
    for (int k = 0; k < ROWS * COLS; k++) v[k] = t_rand_normal(&s);
    snprintf(npy, sizeof npy, "%s", write_npy("trunc-run.npy", "<f8", "(64, 512)", v, sizeof v));
    snprintf(fifo, sizeof fifo, "%s", t_path("trunc-run.logw.fifo"));
    snprintf(out, sizeof out, "%s", t_path("trunc-run-out.jsonl"));
    snprintf(errp, sizeof errp, "%s", t_path("trunc-run.err"));
    CHECK(mkfifo(fifo, 0644) == 0, "mkfifo");
    pid_t pid = spawn_srs(ARGV("shape", npy, "--logw", fifo, "-q", "-o", out), NULL, errp);
    CHECK(pid > 0, "spawn");
    BAIL_IF_FAILED();
    int fd = open(fifo, O_WRONLY);  // returns once srs opens the companion: the rewards are mapped
    CHECK(fd >= 0, "open the FIFO: %s", strerror(errno));
    CHECK(truncate(npy, 4096) == 0, "truncate");
    // the companion: the same shape, uniform weights
    char hdr[128];
    int n = snprintf(hdr, sizeof hdr, "{'descr': '<f8', 'fortran_order': False, 'shape': (64, 512), }");
    while ((10 + n + 1) % 64) hdr[n++] = ' ';
    hdr[n++] = '\n';
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(n & 0xff), (unsigned char)(n >> 8)};
    static double zero[ROWS * COLS];
    int ok = fd >= 0 && write(fd, pre, 10) == 10 && write(fd, hdr, (size_t)n) == n;
    for (size_t off = 0; ok && off < sizeof zero;) {
        ssize_t w = write(fd, (const char *)zero + off, sizeof zero - off);
        ok = w > 0;
        off += w > 0 ? (size_t)w : 0;
    }
    if (fd >= 0) close(fd);
    int st = wait_status(pid);
    char *err = t_slurp(errp);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 1, "status %d (a signal: %s)", st,
          WIFSIGNALED(st) ? strsignal(WTERMSIG(st)) : "none");
    CHECK(err && strstr(err, "trunc-run.npy") && strstr(err, "became shorter"), "stderr: %s", err ? err : "");
    free(err);
    CHECK(!t_exists(out), "an output was left");
    CHECK(count_tmp_in(t_tmpdir()) == 0, "temporaries left");
}
