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
