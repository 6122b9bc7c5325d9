// test_io.c — data sets and result writers: round trips through JSONL, CSV and
// NPY, every bad-input message, atomic writes (no temporary files left), the
// streaming writer in all formats, hand-made NPY headers.
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "data.h"
#include "test.h"

// ----------------------------------------------------------------------------
// helpers

// Number of "*.tmp.*" files left in the test directory.
static int count_tmp(void) {
    DIR *dir = opendir(t_tmpdir());
    if (!dir) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dir)))
        if (strstr(e->d_name, ".tmp.")) n++;
    closedir(dir);
    return n;
}

static void write_bytes(const char *path, const void *buf, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, n, f) != n) {
        perror(path);
        exit(2);
    }
    fclose(f);
}

static int bits_eq(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

static double vat(srs_vec_t v, int64_t i) {
    return v.dtype == SRS_F32 ? (double)((const float *)v.data)[i] : ((const double *)v.data)[i];
}

// Reads path (AUTO format, default companions) and checks it worked.
static srs_data_t *rd(const char *path) {
    srs_data_t *d = NULL;
    srs_status_t st = srs_data_read(t_ctx(), path, NULL, &d);
    CHECK(st == SRS_OK && d, "reading %s: %s: %s", path, srs_status_str(st), srs_ctx_last_error(t_ctx()));
    return st == SRS_OK ? d : NULL;
}

static void wr(const char *path, const srs_data_t *d, srs_dtype_t dt) {
    srs_status_t st = srs_data_write(t_ctx(), path, d, SRS_FMT_AUTO, dt);
    CHECK(st == SRS_OK, "writing %s: %s: %s", path, srs_status_str(st), srs_ctx_last_error(t_ctx()));
}

enum { EXACT = 0, AS_FLOAT = 1 };

// a and b hold the same rows; values bit-identical, or b == (float)a.
static void check_same_vec(const srs_batch_t *a, const srs_batch_t *b, srs_vec_t va, srs_vec_t vb,
                           int mode, const char *what) {
    CHECK(!va.data == !vb.data, "%s: present in one batch only", what);
    if (!va.data || !vb.data) return;
    int bad = 0;
    for (int64_t i = 0; i < a->n_prompts && bad < 3; i++) {
        int64_t sa, na, sb, nb;
        srs_batch_row(a, i, &sa, &na);
        srs_batch_row(b, i, &sb, &nb);
        for (int64_t j = 0; j < na && j < nb && bad < 3; j++) {
            double x = vat(va, sa + j), y = vat(vb, sb + j);
            double want = mode == AS_FLOAT ? (double)(float)x : x;
            if (!bits_eq(want, y)) {
                CHECK(0, "%s row %lld sample %lld: %.17g vs %.17g", what, (long long)i, (long long)j, want, y);
                bad++;
            }
        }
    }
}

static void check_same(const srs_batch_t *a, const srs_batch_t *b, int mode) {
    CHECK(a->n_prompts == b->n_prompts, "n_prompts %lld vs %lld", (long long)a->n_prompts,
          (long long)b->n_prompts);
    if (a->n_prompts != b->n_prompts) return;
    for (int64_t i = 0; i < a->n_prompts; i++) {
        int64_t sa, na, sb, nb;
        srs_batch_row(a, i, &sa, &na);
        srs_batch_row(b, i, &sb, &nb);
        if (na != nb) {
            CHECK(0, "row %lld: %lld vs %lld samples", (long long)i, (long long)na, (long long)nb);
            return;
        }
    }
    check_same_vec(a, b, a->reward, b->reward, mode, "reward");
    check_same_vec(a, b, a->gold, b->gold, mode, "gold");
    check_same_vec(a, b, a->logw, b->logw, mode, "logw");
}

static void check_same_ids(const srs_data_t *a, const srs_data_t *b, int compare_numeric) {
    int64_t n = srs_data_batch(a)->n_prompts;
    for (int64_t i = 0; i < n; i++) {
        int na, nb;
        const char *x = srs_data_id(a, i, &na), *y = srs_data_id(b, i, &nb);
        CHECK(strcmp(x, y) == 0, "row %lld: id \"%s\" vs \"%s\"", (long long)i, x, y);
        if (compare_numeric) CHECK(na == nb, "row %lld: is_number %d vs %d", (long long)i, na, nb);
    }
}

// Values that stress the number formatting.
static const double special[] = {0.1, -0.0, 0.0, 1e-310, 5e-324, 1.7976931348623157e308,
                                 -2.2250738585072014e-308, 1.0 / 3.0, 123456789.123, 1e16,
                                 9007199254740993.0, 0.30000000000000004, -1e-5, 2.5};
#define N_SPECIAL ((int)(sizeof special / sizeof special[0]))

// Ragged data (rows of 1..max_len samples) with gold and logw and the given ids.
static srs_data_t *make_ragged(int64_t np, int max_len, const char *const *ids, uint64_t seed) {
    int64_t *off = malloc(sizeof *off * (size_t)(np + 1));
    off[0] = 0;
    for (int64_t i = 0; i < np; i++) off[i + 1] = off[i] + 1 + (int64_t)(t_rand_u64(&seed) % (uint64_t)max_len);
    int64_t ns = off[np];
    double *u = malloc(sizeof *u * (size_t)ns), *g = malloc(sizeof *g * (size_t)ns),
           *l = malloc(sizeof *l * (size_t)ns);
    for (int64_t j = 0; j < ns; j++) {
        u[j] = j < N_SPECIAL ? special[j] : t_rand_normal(&seed);
        g[j] = t_rand_normal(&seed) * 1e-3;
        l[j] = -t_rand_u01(&seed) * 10;
    }
    srs_data_t *d = NULL;
    srs_status_t st = srs_data_from_arrays(t_ctx(), np, off, 0, u, g, l, ids, &d);
    CHECK(st == SRS_OK, "from_arrays: %s", srs_ctx_last_error(t_ctx()));
    free(off);
    free(u);
    free(g);
    free(l);
    return d;
}

// Dense data [np, n] of normal values; gold/logw when asked.
static srs_data_t *make_dense(int64_t np, int64_t n, int with_gold, int with_logw, uint64_t seed) {
    int64_t ns = np * n;
    double *u = malloc(sizeof *u * (size_t)ns), *g = malloc(sizeof *g * (size_t)ns),
           *l = malloc(sizeof *l * (size_t)ns);
    for (int64_t j = 0; j < ns; j++) {
        u[j] = t_rand_normal(&seed);
        g[j] = t_rand_u01(&seed);
        l[j] = -t_rand_u01(&seed) * 3;
    }
    srs_data_t *d = NULL;
    srs_status_t st = srs_data_from_arrays(t_ctx(), np, NULL, n, u, with_gold ? g : NULL,
                                           with_logw ? l : NULL, NULL, &d);
    CHECK(st == SRS_OK, "from_arrays: %s", srs_ctx_last_error(t_ctx()));
    free(u);
    free(g);
    free(l);
    return d;
}

// Reading path fails with st; the message names the file and contains want.
static void expect_read_fail(const char *path, const srs_read_opts_t *o, srs_status_t want_st,
                             const char *want) {
    srs_data_t *d = (srs_data_t *)1;
    srs_status_t st = srs_data_read(t_ctx(), path, o, &d);
    const char *msg = srs_ctx_last_error(t_ctx());
    CHECK(st == want_st, "%s: status %s, want %s (%s)", path, srs_status_str(st), srs_status_str(want_st), msg);
    CHECK(d == NULL, "%s: *out not NULL on failure", path);
    CHECK(strstr(msg, path) != NULL, "%s: message does not name the file: %s", path, msg);
    CHECK(strstr(msg, want) != NULL, "%s: message lacks \"%s\": %s", path, want, msg);
    if (st == SRS_OK) srs_data_free(d);
}

// Writes text to name and expects the read to fail with SRS_ERR_BAD_INPUT
// and a message containing "<path>:<line>:" (line > 0) and want.
static void bad_text(const char *name, const char *text, int line, const char *want) {
    const char *p = t_write(name, text);
    char path[512];
    snprintf(path, sizeof path, "%s", p);
    char at[600];
    if (line > 0) snprintf(at, sizeof at, "%s:%d: ", path, line);
    else snprintf(at, sizeof at, "%s: ", path);
    expect_read_fail(path, NULL, SRS_ERR_BAD_INPUT, at);
    expect_read_fail(path, NULL, SRS_ERR_BAD_INPUT, want);
}

// ----------------------------------------------------------------------------
// reading basics

TEST(io_format_from_path) {
    CHECK(srs_format_from_path("a/b.JSONL") == SRS_FMT_JSONL, "jsonl");
    CHECK(srs_format_from_path("x.json") == SRS_FMT_JSONL, "json");
    CHECK(srs_format_from_path("x.Npy") == SRS_FMT_NPY, "npy");
    CHECK(srs_format_from_path("x.csv") == SRS_FMT_CSV, "csv");
    CHECK(srs_format_from_path("x.txt") == SRS_FMT_AUTO, "txt");
    CHECK(srs_format_from_path("dir.csv/x") == SRS_FMT_AUTO, "dot in a directory name");
    const char *p = t_write("io_fmt.txt", "{\"rewards\": [1]}\n");
    expect_read_fail(p, NULL, SRS_ERR_INVALID_ARG, "cannot tell the format of");
    expect_read_fail(p, NULL, SRS_ERR_INVALID_ARG, "use --format");
    srs_read_opts_t o = {SRS_FMT_JSONL, NULL, NULL};
    srs_data_t *d = NULL;
    CHECK(srs_data_read(t_ctx(), p, &o, &d) == SRS_OK, "--format jsonl: %s", srs_ctx_last_error(t_ctx()));
    srs_data_free(d);
    expect_read_fail(t_path("io_missing.jsonl"), NULL, SRS_ERR_IO, "No such file");
}

TEST(io_jsonl_read_basics) {
    const char *p = t_write("io_basic.jsonl",
                            "\xEF\xBB\xBF{\"prompt_id\": \"a\", \"rewards\": [1, 2.5, -3e2]}\r\n"
                            "\n"
                            "   \t\n"
                            "{\"rewards\": [0.25], \"prompt_id\": 17}\n"
                            "{\"rewards\": [4, 5]}");  // no id, no final newline
    srs_data_t *d = rd(p);
    BAIL_IF_FAILED();
    const srs_batch_t *b = srs_data_batch(d);
    CHECK(b->n_prompts == 3, "n_prompts %lld", (long long)b->n_prompts);
    CHECK(b->offsets && b->offsets[0] == 0 && b->offsets[1] == 3 && b->offsets[2] == 4 && b->offsets[3] == 6,
          "offsets");
    CHECK(b->reward.dtype == SRS_F64 && !b->gold.data && !b->logw.data, "dtype / absent arrays");
    const double want[] = {1, 2.5, -300, 0.25, 4, 5};
    for (int j = 0; j < 6; j++) CHECK(vat(b->reward, j) == want[j], "reward[%d] = %g", j, vat(b->reward, j));
    int num;
    CHECK(strcmp(srs_data_id(d, 0, &num), "a") == 0 && num == 0, "id 0");
    CHECK(strcmp(srs_data_id(d, 1, &num), "17") == 0 && num == 1, "id 1");
    CHECK(strcmp(srs_data_id(d, 2, &num), "2") == 0 && num == 1, "id 2 is the row index");
    CHECK(srs_data_line(d, 0) == 1 && srs_data_line(d, 1) == 4 && srs_data_line(d, 2) == 5, "lines %lld %lld %lld",
          (long long)srs_data_line(d, 0), (long long)srs_data_line(d, 1), (long long)srs_data_line(d, 2));
    CHECK(strcmp(srs_data_path(d), p) == 0, "path");
    srs_data_free(d);

    // No ids at all: row indices, numeric.
    d = rd(t_write("io_noid.jsonl", "{\"rewards\": [1]}\n{\"rewards\": [2]}\n"));
    BAIL_IF_FAILED();
    CHECK(strcmp(srs_data_id(d, 1, &num), "1") == 0 && num == 1, "row-index id");
    srs_data_free(d);
}

TEST(io_from_arrays) {
    double u[6] = {1, 2, 3, 4, 5, 6};
    int64_t off[4] = {0, 1, 1, 6};
    const char *ids[3] = {"x", "y", "z"};
    srs_data_t *d = NULL;
    CHECK(srs_data_from_arrays(t_ctx(), 3, off, 0, u, NULL, NULL, ids, &d) == SRS_OK, "csr");
    BAIL_IF_FAILED();
    u[0] = 99;  // copied, not referenced
    const srs_batch_t *b = srs_data_batch(d);
    CHECK(vat(b->reward, 0) == 1 && b->offsets[3] == 6 && !b->gold.data, "copy");
    int num;
    CHECK(strcmp(srs_data_id(d, 2, &num), "z") == 0 && num == 0, "ids");
    CHECK(srs_data_line(d, 0) == 0 && strcmp(srs_data_path(d), "") == 0, "line/path");
    srs_data_free(d);
    CHECK(srs_data_from_arrays(t_ctx(), 2, NULL, 3, u, u, NULL, NULL, &d) == SRS_OK, "dense");
    BAIL_IF_FAILED();
    b = srs_data_batch(d);
    CHECK(!b->offsets && b->row_len == 3 && b->gold.data, "dense layout");
    CHECK(strcmp(srs_data_id(d, 1, &num), "1") == 0 && num == 1, "row-index id");
    srs_data_free(d);
    int64_t bad[3] = {0, 2, 1};
    d = (srs_data_t *)1;
    CHECK(srs_data_from_arrays(t_ctx(), 2, bad, 0, u, NULL, NULL, NULL, &d) == SRS_ERR_INVALID_ARG && !d,
          "decreasing offsets");
}

// ----------------------------------------------------------------------------
// round trips

static const char *const tricky_ids[] = {
    "plain", "he said \"hi\"", "a,b", "\xc3\xbc" "n" "\xc3\xaf" "c" "\xc3\xb8" "d" "\xc3\xa9 \xe2\x9c\x93",
    "back\\slash", "tab\there", "new\nline", "cr\rlf\r\n", " lead and trail ", "", "ctl\x01\x1f",
    "\"", ",", "x\"\"y", "12", "last"};
#define N_TRICKY ((int64_t)(sizeof tricky_ids / sizeof tricky_ids[0]))

TEST(io_roundtrip_jsonl) {
    srs_data_t *d = make_ragged(N_TRICKY, 9, tricky_ids, 1);
    BAIL_IF_FAILED();
    const char *p = t_path("io_rt.jsonl");
    char path[512];
    snprintf(path, sizeof path, "%s", p);
    wr(path, d, SRS_F64);
    srs_data_t *e = rd(path);
    if (e) {
        check_same(srs_data_batch(d), srs_data_batch(e), EXACT);
        check_same_ids(d, e, 1);
        // and again: JSONL -> JSONL is byte-identical
        const char *p2 = t_path("io_rt2.jsonl");
        char path2[512];
        snprintf(path2, sizeof path2, "%s", p2);
        wr(path2, e, SRS_F64);
        char *s1 = t_slurp(path), *s2 = t_slurp(path2);
        CHECK(s1 && s2 && strcmp(s1, s2) == 0, "second write differs");
        free(s1);
        free(s2);
    }
    CHECK(count_tmp() == 0, "temporary files left");
    srs_data_free(e);
    srs_data_free(d);
}

TEST(io_roundtrip_csv) {
    srs_data_t *d = make_ragged(N_TRICKY, 9, tricky_ids, 2);
    BAIL_IF_FAILED();
    char path[512];
    snprintf(path, sizeof path, "%s", t_path("io_rt.csv"));
    wr(path, d, SRS_F64);
    srs_data_t *e = rd(path);
    if (e) {
        check_same(srs_data_batch(d), srs_data_batch(e), EXACT);
        check_same_ids(d, e, 0);
        CHECK(srs_data_line(e, 0) == 2, "first data line is 2, got %lld", (long long)srs_data_line(e, 0));
        // CSV -> JSONL -> CSV keeps everything
        char pj[512];
        snprintf(pj, sizeof pj, "%s", t_path("io_rt_csv.jsonl"));
        wr(pj, e, SRS_F64);
        srs_data_t *f = rd(pj);
        if (f) {
            check_same(srs_data_batch(d), srs_data_batch(f), EXACT);
            check_same_ids(e, f, 1);
        }
        srs_data_free(f);
    }
    srs_data_free(e);
    // Without gold/logw: header prompt_id,reward only.
    srs_data_t *g = make_dense(3, 2, 0, 0, 3);
    wr(path, g, SRS_F64);
    char *s = t_slurp(path);
    CHECK(s && strncmp(s, "prompt_id,reward\n0,", 19) == 0, "header: %.30s", s ? s : "(null)");
    free(s);
    srs_data_free(g);
    CHECK(count_tmp() == 0, "temporary files left");
    srs_data_free(d);
}

TEST(io_roundtrip_npy) {
    srs_data_t *d = make_dense(7, 5, 1, 1, 4);
    BAIL_IF_FAILED();
    char path[512];
    snprintf(path, sizeof path, "%s", t_path("io_rt64.npy"));
    wr(path, d, SRS_F64);
    CHECK(t_exists(t_path("io_rt64.gold.npy")) && t_exists(t_path("io_rt64.logw.npy")), "companions");
    srs_data_t *e = rd(path);
    if (e) {
        const srs_batch_t *b = srs_data_batch(e);
        CHECK(!b->offsets && b->row_len == 5 && b->reward.dtype == SRS_F64 && b->gold.dtype == SRS_F64,
              "dense f64");
        check_same(srs_data_batch(d), b, EXACT);
        int num;
        CHECK(strcmp(srs_data_id(e, 6, &num), "6") == 0 && num == 1 && srs_data_line(e, 6) == 0, "ids");
        // data starts at a multiple of 64, header ends with '\n'
        char *raw = t_slurp(path);
        if (raw) {
            unsigned hl = (unsigned char)raw[8] | (unsigned)(unsigned char)raw[9] << 8;
            CHECK((10 + hl) % 64 == 0 && raw[10 + hl - 1] == '\n' && raw[6] == 1 && raw[7] == 0,
                  "header layout: length %u", hl);
        }
        free(raw);
    }
    srs_data_free(e);

    // float32: values within float rounding, back as F32
    snprintf(path, sizeof path, "%s", t_path("io_rt32.npy"));
    wr(path, d, SRS_F32);
    e = rd(path);
    if (e) {
        CHECK(srs_data_batch(e)->reward.dtype == SRS_F32, "f32 dtype");
        check_same(srs_data_batch(d), srs_data_batch(e), AS_FLOAT);
        // f32 -> f64 NPY -> f32 values survive exactly
        char p2[512];
        snprintf(p2, sizeof p2, "%s", t_path("io_rt32b.npy"));
        wr(p2, e, SRS_F64);
        srs_data_t *f = rd(p2);
        if (f) check_same(srs_data_batch(e), srs_data_batch(f), EXACT);
        srs_data_free(f);
    }
    srs_data_free(e);

    // equal-row CSR (from JSONL) can be written as NPY
    srs_data_t *j = rd(t_write("io_eq.jsonl", "{\"rewards\": [1, 2]}\n{\"rewards\": [3, 4]}\n"));
    if (j) {
        snprintf(path, sizeof path, "%s", t_path("io_eq.npy"));
        wr(path, j, SRS_F64);
        srs_data_t *f = rd(path);
        if (f) check_same(srs_data_batch(j), srs_data_batch(f), EXACT);
        CHECK(!t_exists(t_path("io_eq.gold.npy")), "no gold companion without gold");
        srs_data_free(f);
    }
    srs_data_free(j);

    // a stale companion from an earlier write is removed
    srs_data_t *ng = make_dense(7, 5, 0, 0, 5);
    snprintf(path, sizeof path, "%s", t_path("io_rt64.npy"));
    wr(path, ng, SRS_F64);
    CHECK(!t_exists(t_path("io_rt64.gold.npy")), "stale gold companion left");
    e = rd(path);
    if (e) CHECK(!srs_data_batch(e)->gold.data, "stale gold read back");
    srs_data_free(e);
    srs_data_free(ng);
    CHECK(count_tmp() == 0, "temporary files left");
    srs_data_free(d);
}

TEST(io_ragged_npy_refused) {
    int64_t off[4] = {0, 4, 8, 11};
    double u[11] = {0};
    srs_data_t *d = NULL;
    CHECK(srs_data_from_arrays(t_ctx(), 3, off, 0, u, NULL, NULL, NULL, &d) == SRS_OK, "from_arrays");
    BAIL_IF_FAILED();
    srs_status_t st = srs_data_write(t_ctx(), t_path("io_ragged.npy"), d, SRS_FMT_AUTO, SRS_F64);
    CHECK(st == SRS_ERR_INVALID_ARG, "status %s", srs_status_str(st));
    CHECK(strstr(srs_ctx_last_error(t_ctx()), "NPY needs equal rows: row 2 has 3 samples, row 0 has 4; write JSONL or CSV"),
          "message: %s", srs_ctx_last_error(t_ctx()));
    CHECK(!t_exists(t_path("io_ragged.npy")) && count_tmp() == 0, "files left");
    srs_data_free(d);
}

TEST(io_same_data_three_formats) {
    srs_data_t *d = make_dense(11, 6, 1, 1, 6);
    BAIL_IF_FAILED();
    const char *names[3] = {"io_three.jsonl", "io_three.csv", "io_three.npy"};
    srs_data_t *r[3] = {NULL, NULL, NULL};
    for (int k = 0; k < 3; k++) {
        char path[512];
        snprintf(path, sizeof path, "%s", t_path(names[k]));
        wr(path, d, SRS_F64);
        r[k] = rd(path);
    }
    for (int k = 0; k < 3; k++)
        if (r[k]) check_same(srs_data_batch(d), srs_data_batch(r[k]), EXACT);
    if (r[0] && r[1]) check_same_ids(r[0], r[1], 0);
    for (int k = 0; k < 3; k++) srs_data_free(r[k]);
    srs_data_free(d);
}

TEST(io_numeric_ids) {
    const char *p = t_write("io_num.jsonl", "{\"prompt_id\": 5, \"rewards\": [1]}\n"
                                            "{\"prompt_id\": -12, \"rewards\": [2]}\n"
                                            "{\"prompt_id\": \"7\", \"rewards\": [3]}\n");
    srs_data_t *d = rd(p);
    BAIL_IF_FAILED();
    char out[512];
    snprintf(out, sizeof out, "%s", t_path("io_num_out.jsonl"));
    wr(out, d, SRS_F64);
    char *s = t_slurp(out);
    CHECK(s && strstr(s, "{\"prompt_id\": 5, \"rewards\": [1]}\n") && strstr(s, "\"prompt_id\": -12,") &&
              strstr(s, "\"prompt_id\": \"7\","),
          "output: %s", s ? s : "(null)");
    free(s);
    srs_data_t *e = rd(out);
    if (e) check_same_ids(d, e, 1);
    srs_data_free(e);
    // CSV has no types: canonical integers come back numeric, other text stays text
    snprintf(out, sizeof out, "%s", t_path("io_num_out.csv"));
    wr(out, d, SRS_F64);
    e = rd(out);
    if (e) {
        int num;
        CHECK(strcmp(srs_data_id(e, 0, &num), "5") == 0 && num == 1, "5 numeric");
        CHECK(strcmp(srs_data_id(e, 1, &num), "-12") == 0 && num == 1, "-12 numeric");
        CHECK(strcmp(srs_data_id(e, 2, &num), "7") == 0 && num == 1, "\"7\" numeric after CSV");
    }
    srs_data_free(e);
    e = rd(t_write("io_num_text.csv", "prompt_id,reward\n007,1\n-0,2\n+3,3\n1e3,4\n0,5\n"));
    for (int64_t i = 0; e && i < 5; i++) {
        int num;
        srs_data_id(e, i, &num);
        CHECK(num == (i == 4), "row %lld: is_number %d", (long long)i, num);
    }
    srs_data_free(e);
    srs_data_free(d);
}

TEST(io_shared_data) {
    const char *sh = t_shared();
    if (!sh) SKIP("../shared/data not found (set SRS_SHARED)");
    char path[700];
    snprintf(path, sizeof path, "%s/data/alpacaeval-bon-tulu2/gold.jsonl", sh);
    if (!t_exists(path)) SKIP("%s not found", path);
    srs_data_t *d = rd(path);
    BAIL_IF_FAILED();
    CHECK(srs_data_batch(d)->n_prompts == 805, "805 prompts, got %lld", (long long)srs_data_batch(d)->n_prompts);
    int num;
    CHECK(strcmp(srs_data_id(d, 0, &num), "alpacaeval-0") == 0 && !num, "first id");
    const char *names[2] = {"io_shared.csv", "io_shared.npy"};
    for (int k = 0; k < 2; k++) {
        char p[512];
        snprintf(p, sizeof p, "%s", t_path(names[k]));
        wr(p, d, SRS_F64);
        srs_data_t *e = rd(p);
        if (e) check_same(srs_data_batch(d), srs_data_batch(e), EXACT);
        srs_data_free(e);
    }
    srs_data_free(d);
}

TEST(io_jsonl_large) {
    int64_t np = t_quick() ? 2000 : 20000, n = 50;
    srs_data_t *d = make_dense(np, n, 1, 0, 7);
    BAIL_IF_FAILED();
    char path[512];
    snprintf(path, sizeof path, "%s", t_path("io_large.jsonl"));
    wr(path, d, SRS_F64);
    srs_data_t *e = rd(path);
    if (e) check_same(srs_data_batch(d), srs_data_batch(e), EXACT);
    srs_data_free(e);
    srs_data_free(d);
}

// JSONL text of n lines, about 100 bytes each; line `gap` (1-based) has no
// gold, line `bad` is malformed, lines divisible by 7 have no prompt_id.
static char *big_jsonl(int n, int gap, int bad) {
    char *s = malloc((size_t)n * 160 + 1), *o = s;
    uint64_t seed = 11;
    for (int l = 1; l <= n; l++) {
        if (l % 1000 == 0) {  // blank lines shift rows against lines
            *o++ = '\n';
            continue;
        }
        o += sprintf(o, "{");
        if (l % 7) o += sprintf(o, "\"prompt_id\": \"p%d\", ", l);
        o += sprintf(o, "\"rewards\": [%.17g, %d]", t_rand_normal(&seed), l);
        if (l != gap) o += sprintf(o, ", \"gold\": [%d, 0.5]", l);
        o += sprintf(o, l == bad ? ",}\n" : "}\n");
    }
    *o = '\0';
    return s;
}

static srs_status_t read_with(int threads, const char *path, srs_data_t **d, char *msg) {
    srs_ctx_t *c;
    if (srs_ctx_create(&c, SRS_DEVICE_CPU, threads) != SRS_OK) return SRS_ERR_BACKEND;
    srs_status_t st = srs_data_read(c, path, NULL, d);
    snprintf(msg, 1024, "%s", srs_ctx_last_error(c));
    srs_ctx_free(c);
    return st;
}

TEST(io_jsonl_large_file_errors) {
    int n = t_quick() ? 30000 : 60000;  // ~5 MiB
    char path[512], msg1[1024], msg8[1024];
    snprintf(path, sizeof path, "%s", t_path("io_par.jsonl"));
    char *text = big_jsonl(n, 0, 0);
    write_bytes(path, text, strlen(text));
    free(text);
    srs_data_t *a = NULL, *b = NULL;
    CHECK(read_with(1, path, &a, msg1) == SRS_OK, "1 thread: %s", msg1);
    CHECK(read_with(8, path, &b, msg8) == SRS_OK, "8 threads: %s", msg8);
    if (a && b) {
        check_same(srs_data_batch(a), srs_data_batch(b), EXACT);
        check_same_ids(a, b, 1);
        int64_t np = srs_data_batch(a)->n_prompts;
        CHECK(np == n - n / 1000, "rows %lld", (long long)np);
        for (int64_t i = 0; i < np; i++) {
            if (srs_data_line(a, i) != srs_data_line(b, i)) {
                CHECK(0, "row %lld: line %lld vs %lld", (long long)i, (long long)srs_data_line(a, i),
                      (long long)srs_data_line(b, i));
                break;
            }
            // the second reward is the line number; id-less rows get their row index
            int64_t line = srs_data_line(b, i), s, len;
            srs_batch_row(srs_data_batch(b), i, &s, &len);
            int num;
            const char *id = srs_data_id(b, i, &num);
            char want[32];
            snprintf(want, sizeof want, line % 7 ? "p%lld" : "%lld", line % 7 ? (long long)line : (long long)i);
            if (vat(srs_data_batch(b)->reward, s + 1) != (double)line || strcmp(id, want) != 0 || num != !(line % 7)) {
                CHECK(0, "row %lld: line %lld, id %s (want %s)", (long long)i, (long long)line, id, want);
                break;
            }
        }
    }
    srs_data_free(a);
    srs_data_free(b);
    // errors late in the file, gold missing or appearing late: the first
    // problem in file order, whatever the number of threads
    struct {
        int gap, bad;
        const char *want;
    } cases[] = {{0, n - 3, "malformed JSON"},
                 {n / 2 + 1, n - 3, "\"gold\" missing but earlier lines have it"},
                 {n / 2 + 1, n / 2 + 2, "\"gold\" missing but earlier lines have it"},
                 {n / 3 + 1, n / 3 + 1, "malformed JSON"},
                 {1, n - 10, "\"gold\" present but earlier lines do not have it"}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        text = big_jsonl(n, cases[k].gap, cases[k].bad);
        write_bytes(path, text, strlen(text));
        free(text);
        srs_data_t *d1 = (srs_data_t *)1, *d8 = (srs_data_t *)1;
        srs_status_t s1 = read_with(1, path, &d1, msg1), s8 = read_with(8, path, &d8, msg8);
        CHECK(s1 == SRS_ERR_BAD_INPUT && s8 == SRS_ERR_BAD_INPUT && !d1 && !d8, "case %zu: %d %d", k, s1, s8);
        CHECK(strcmp(msg1, msg8) == 0, "case %zu: 1 thread \"%s\", 8 threads \"%s\"", k, msg1, msg8);
        CHECK(strstr(msg8, cases[k].want), "case %zu: %s", k, msg8);
        int first = cases[k].gap == 1 ? 2 : cases[k].gap && cases[k].gap < cases[k].bad ? cases[k].gap : cases[k].bad;
        char at[64];
        snprintf(at, sizeof at, ".jsonl:%d: ", first);
        CHECK(strstr(msg8, at), "case %zu: want line %d: %s", k, first, msg8);
    }
}

// ----------------------------------------------------------------------------
// bad input

TEST(io_jsonl_errors) {
    bad_text("io_e1.jsonl", "{\"rewards\": [1]}\n{\"rewards\": [1,}\n", 2, "malformed JSON");
    bad_text("io_e2.jsonl", "[1, 2]\n", 1, "expected a JSON object");
    bad_text("io_e3.jsonl", "{\"rewards\": [1]}\n\n{\"gold\": [1]}\n", 3, "missing \"rewards\"");
    bad_text("io_e4.jsonl", "{\"rewards\": 3}\n", 1, "\"rewards\" must be an array");
    bad_text("io_e5.jsonl", "{\"rewards\": []}\n", 1,
             "empty \"rewards\" (every prompt needs at least one sample)");
    bad_text("io_e6.jsonl", "{\"rewards\": [1, 2, 3, \"4\"]}\n", 1, "rewards[3] is not a number");
    bad_text("io_e7.jsonl", "{\"rewards\": [1, 2], \"gold\": [1]}\n", 1, "\"gold\" has 1 values but \"rewards\" has 2");
    bad_text("io_e8.jsonl",
             "{\"rewards\": [1], \"gold\": [1]}\n{\"rewards\": [1], \"gold\": [1]}\n{\"rewards\": [1]}\n", 3,
             "\"gold\" missing but earlier lines have it");
    bad_text("io_e9.jsonl", "{\"rewards\": [1]}\n{\"rewards\": [1], \"logw\": [0]}\n", 2,
             "\"logw\" present but earlier lines do not have it");
    bad_text("io_e10.jsonl", "{\"rewards\": [1]}\n{\"rewards\": [1, NaN]}\n", 2,
             "non-finite value (NaN or Infinity) in \"rewards\"");
    bad_text("io_e11.jsonl", "{\"rewards\": [1, 2], \"gold\": [Infinity, 0]}\n", 1,
             "non-finite value (NaN or Infinity) in \"gold\"");
    bad_text("io_e12.jsonl", "{\"prompt_id\": \"NaN\", \"rewards\": [-Infinity]}\n", 1,
             "non-finite value (NaN or Infinity) in \"rewards\"");
    bad_text("io_e13.jsonl", "{\"rewards\": [1]}\n{\"rewards\": [1]}\n{\"rewards\": [1e999]}\n", 3,
             "\"rewards\"");
    bad_text("io_e14.jsonl", "{\"prompt_id\": 1.5, \"rewards\": [1]}\n", 1, "\"prompt_id\" must be a string or an integer");
    bad_text("io_e15.jsonl", "{\"rewards\": [1], \"rewards\": [2]}\n", 1, "duplicate");
    bad_text("io_e16.jsonl", "", 0, "no prompts");
    bad_text("io_e17.jsonl", "\n  \n\r\n", 0, "no prompts");
    bad_text("io_e18.jsonl", "{\"rewards\": [1]}\n{\"rewards\": [1], \"gold\": \"x\"}\n", 2,
             "\"gold\" present but earlier lines do not have it");
    bad_text("io_e19.jsonl", "{\"rewards\": [1], \"logw\": [null]}\n", 1, "logw[0] is not a number");
}

// Bytes a reader must not take (issue 13, items 4 to 6): NUL bytes in CSV,
// ids that are not UTF-8, hexadecimal floats, bytes after an NPY's data,
// unknown JSONL keys and repeated JSONL prompt ids.
static void bad_bytes(const char *name, const void *bytes, size_t n, int line, const char *want) {
    char path[512], at[600];
    snprintf(path, sizeof path, "%s", t_path(name));
    write_bytes(path, bytes, n);
    if (line > 0) snprintf(at, sizeof at, "%s:%d: ", path, line);
    else snprintf(at, sizeof at, "%s: ", path);
    expect_read_fail(path, NULL, SRS_ERR_BAD_INPUT, at);
    expect_read_fail(path, NULL, SRS_ERR_BAD_INPUT, want);
}
#define BAD_BYTES(name, lit, line, want) bad_bytes(name, lit, sizeof(lit) - 1, line, want)
static const char *npy_file(const char *name, int major, const char *dict, int align, const void *data, size_t n);

TEST(io_csv_nul_bytes) {
    // two prompts "p\0a" and "p\0b" merged into one, "p"; "1\0junk" read as 1
    BAD_BYTES("io_nul1.csv", "prompt_id,reward\n\"p\0a\",1\n\"p\0b\",5\n", 2, "a NUL byte");
    BAD_BYTES("io_nul2.csv", "prompt_id,reward\na,1\0junk\n", 2, "a NUL byte");
    BAD_BYTES("io_nul3.csv", "prompt_id,reward\na,1\nb\0,2\n", 3, "a NUL byte");
    BAD_BYTES("io_nul4.csv", "prompt_id,reward\n\"a\"\0,1\n", 2, "a NUL byte");
    BAD_BYTES("io_nul5.csv", "prompt_id,reward\n\"a\nb\",1\n\"c\nd\0\",2\n", 5, "a NUL byte");
    BAD_BYTES("io_nul6.csv", "prompt_id,re\0ward\na,1\n", 1, "a NUL byte");
    BAD_BYTES("io_utf16.csv", "\xff\xfep\0r\0o\0m\0p\0t\0_\0i\0d\0,\0r\0e\0w\0a\0r\0d\0\n\0", 1, "UTF-16");
}

TEST(io_ids_must_be_utf8) {
    static const struct { const char *s; int64_t bad; } cases[] = {
        {"plain", -1}, {"caf\xc3\xa9", -1}, {"\xe6\x97\xa5\xe6\x9c\xac", -1}, {"\xf0\x9f\x98\x80!", -1},
        {"\xef\xbf\xbf", -1}, {"\xf4\x8f\xbf\xbf", -1}, {"\x7f", -1},
        {"\xff\xfe", 0}, {"a\x80", 1}, {"\xc0\xaf", 0}, {"\xc1\xbf", 0}, {"ab\xe0\x80\xaf", 2},
        {"\xed\xa0\x80", 0}, {"x\xed\xbf\xbf", 1}, {"\xf4\x90\x80\x80", 0}, {"\xf5\x80\x80\x80", 0},
        {"\xe6\x97", 0}, {"ok\xf0\x9f\x98", 2}, {"\xc3\x28", 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK(srs_utf8_invalid(cases[i].s, strlen(cases[i].s)) == cases[i].bad, "case %zu: %lld, want %lld", i,
              (long long)srs_utf8_invalid(cases[i].s, strlen(cases[i].s)), (long long)cases[i].bad);
    // a CSV id that is not UTF-8 would make JSONL that nothing reads back
    BAD_BYTES("io_u1.csv", "prompt_id,reward\na,1\n\xff\xfe,2\n", 3, "prompt_id is not valid UTF-8 (byte 0xff");
    BAD_BYTES("io_u2.csv", "prompt_id,reward\n\"x\xed\xa0\x80\",1\n", 2, "not valid UTF-8 (byte 0xed at offset 1");
    // valid UTF-8 ids go to JSONL and read back the same
    const char *p = t_write("io_u_ok.csv", "prompt_id,reward\ncaf\xc3\xa9,1\n\xe6\x97\xa5\xf0\x9f\x98\x80,2\n");
    srs_data_t *d = rd(p);
    BAIL_IF_FAILED();
    char j[600];
    snprintf(j, sizeof j, "%s", t_path("io_u_ok.jsonl"));
    wr(j, d, SRS_F64);
    srs_data_t *e = rd(j);
    if (e) check_same_ids(d, e, 0);
    srs_data_free(e);
    srs_data_free(d);
    // nor from arrays
    const char *ids[2] = {"ok", "bad\xff"};
    double u[2] = {1, 2};
    srs_data_t *f = (srs_data_t *)1;
    CHECK(srs_data_from_arrays(t_ctx(), 2, NULL, 1, u, NULL, NULL, ids, &f) == SRS_ERR_INVALID_ARG && !f,
          "from arrays: %s", srs_ctx_last_error(t_ctx()));
    CHECK(strstr(srs_ctx_last_error(t_ctx()), "ids[1] is not valid UTF-8"), "message: %s", srs_ctx_last_error(t_ctx()));
}

TEST(io_minor_cases_rejected) {
    // CSV numbers are decimal: strtod would read 0x1p3 as 8
    bad_text("io_hex.csv", "prompt_id,reward\na,1\na,0x1p3\n", 3, "\"reward\" is a hexadecimal number: \"0x1p3\"");
    bad_text("io_hex2.csv", "prompt_id,reward,gold\na,1, -0X1.8P1 \n", 2, "\"gold\" is a hexadecimal number");
    // JSONL: an unknown key (a mistyped "id" would number prompts by row)
    bad_text("io_key.jsonl", "{\"prompt_id\": \"a\", \"rewards\": [1]}\n{\"id\": \"b\", \"rewards\": [1]}\n", 2,
             "unknown key \"id\" (the keys are \"prompt_id\", \"rewards\", \"gold\" and \"logw\")");
    bad_text("io_key2.jsonl", "{\"prompt_id\": \"a\", \"reward\": [1]}\n", 1, "unknown key \"reward\"");
    // JSONL prompt ids are unique, as CSV's: by their text, the row index for a line without one
    bad_text("io_dup1.jsonl", "{\"prompt_id\": \"a\", \"rewards\": [1]}\n\n{\"prompt_id\": \"b\", \"rewards\": [1]}\n"
             "{\"prompt_id\": \"a\", \"rewards\": [2]}\n", 4, "prompt_id \"a\" appears again (first on line 1)");
    bad_text("io_dup2.jsonl", "{\"prompt_id\": 7, \"rewards\": [1]}\n{\"prompt_id\": \"7\", \"rewards\": [1]}\n", 2,
             "prompt_id \"7\" appears again (first on line 1)");
    bad_text("io_dup3.jsonl", "{\"prompt_id\": 3, \"rewards\": [1]}\n{\"rewards\": [1]}\n{\"prompt_id\": 1, \"rewards\": [1]}\n",
             3, "prompt_id 1 appears again (first on line 2; a line without \"prompt_id\" takes its row index");
    bad_text("io_dup4.jsonl", "{\"prompt_id\": \"1\", \"rewards\": [1]}\n{\"rewards\": [1]}\n", 2,
             "prompt_id 1 appears again (first on line 1; a line without");
    // ... and distinct ones, mixed with row indices that do not collide, read
    srs_data_t *d = rd(t_write("io_dup_ok.jsonl", "{\"prompt_id\": 5, \"rewards\": [1]}\n{\"rewards\": [1]}\n"
                                                  "{\"prompt_id\": \"01\", \"rewards\": [1]}\n"));
    srs_data_free(d);
    // NPY: bytes beyond the declared shape
    double v[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    char p[512];
    snprintf(p, sizeof p, "%s", npy_file("io_trail.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", 64, v, 56));
    expect_read_fail(p, NULL, SRS_ERR_BAD_INPUT, "8 bytes after the data: the header's shape (2, 3) holds 48 bytes, the file has 56");
}

// ----------------------------------------------------------------------------
// parts of a text file (what MPI ranks read), in one process

static int64_t file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

// Reads path in `parts` parts as the ranks do, the bounds from
// srs_text_part_bounds, and checks that the parts together are the whole
// file's read: rows, samples, ids and lines.
static void parts_equal_whole(const char *path, srs_format_t fmt, int parts) {
    srs_data_t *whole = rd(path);
    if (!whole) return;
    const srs_batch_t *w = srs_data_batch(whole);
    int64_t first_line = 1, row_base = 0, rows = 0, prev_end = 0;
    for (int k = 0; k < parts && !t_failed_now(); k++) {
        srs_text_part_t p;
        srs_status_t st = srs_text_part_bounds(t_ctx(), path, fmt, k, parts, &p);
        CHECK(st == SRS_OK && p.start == prev_end, "%d parts, part %d: %s; [%lld, %lld) after %lld", parts, k,
              srs_ctx_last_error(t_ctx()), (long long)p.start, (long long)p.end, (long long)prev_end);
        if (st != SRS_OK) break;
        prev_end = p.end;
        p.first_line = first_line;
        p.row_base = row_base;
        srs_data_t *d = NULL;
        st = (fmt == SRS_FMT_CSV ? srs_read_csv_part : srs_read_jsonl_part)(t_ctx(), path, &p, &d);
        CHECK(st == SRS_OK, "%d parts, part %d [%lld, %lld): %s", parts, k, (long long)p.start, (long long)p.end,
              srs_ctx_last_error(t_ctx()));
        if (st != SRS_OK) break;
        const srs_batch_t *b = srs_data_batch(d);
        for (int64_t i = 0; i < b->n_prompts && rows + i < w->n_prompts; i++) {
            int64_t s0, n0, s1, n1;
            srs_batch_row(w, rows + i, &s0, &n0);
            srs_batch_row(b, i, &s1, &n1);
            int same = n0 == n1 && srs_data_line(whole, rows + i) == srs_data_line(d, i) &&
                       strcmp(srs_data_id(whole, rows + i, NULL), srs_data_id(d, i, NULL)) == 0;
            for (int64_t j = 0; same && j < n0; j++) same = vat(w->reward, s0 + j) == vat(b->reward, s1 + j);
            if (!same) {
                CHECK(0, "%d parts, part %d, row %lld: \"%s\" line %lld vs whole \"%s\" line %lld", parts, k,
                      (long long)i, srs_data_id(d, i, NULL), (long long)srs_data_line(d, i),
                      srs_data_id(whole, rows + i, NULL), (long long)srs_data_line(whole, rows + i));
                break;
            }
        }
        rows += b->n_prompts;
        first_line += p.newlines;
        row_base += fmt == SRS_FMT_CSV ? b->n_prompts : p.records;
        srs_data_free(d);
    }
    CHECK(t_failed_now() || (rows == w->n_prompts && prev_end == file_size(path)),
          "%d parts: %lld rows, whole %lld", parts, (long long)rows, (long long)w->n_prompts);
    srs_data_free(whole);
}

// A CSV whose quoted fields hold line breaks (some lines blank, some CRLF),
// commas and "" escapes, unquoted fields with a literal quote, blank lines
// between records, prompts of 1 to 3 lines: part boundaries fall inside
// quoted fields for every part count (issue 13, item 8: "unterminated
// quoted field" under mpirun -np 2).
TEST(io_csv_parts_equal_one_read) {
    size_t cap = 1 << 16, len = 0;
    char *t = malloc(cap);
    len += (size_t)sprintf(t, "prompt_id,reward,gold\r\n");
    uint64_t rng = 3;
    for (int i = 0; i < 240; i++) {
        char id[64];
        switch (i % 6) {
        case 0: sprintf(id, "p%d", i); break;
        case 1: sprintf(id, "\"q%d\nsecond line\"", i); break;
        case 2: sprintf(id, "\"c,%d \"\"x\"\"\"", i); break;
        case 3: sprintf(id, "u\"%d", i); break;  // unquoted: the quote is literal
        case 4: sprintf(id, "\"s%d\r\n\r\n\"  ", i); break;
        default: sprintf(id, "\"m%d\n\n,\n\"\"\n\"", i); break;
        }
        int ns = 1 + (int)(t_rand_u64(&rng) % 3);
        for (int j = 0; j < ns; j++)
            len += (size_t)sprintf(t + len, "%s,%.3f,%d%s", id, t_rand_normal(&rng), j, i % 4 == 1 ? "\r\n" : "\n");
        if (i % 9 == 4) len += (size_t)sprintf(t + len, " \t\r\n");
        if (i == 100) {  // one very long quoted field
            len += (size_t)sprintf(t + len, "\"long");
            for (int k = 0; k < 400; k++) len += (size_t)sprintf(t + len, "\n\"\"x\"\",");
            len += (size_t)sprintf(t + len, "\",1,2\n");
        }
    }
    char p[512];
    snprintf(p, sizeof p, "%s", t_path("io_parts.csv"));
    write_bytes(p, t, len);
    for (int parts = 1; parts <= 9 && !t_failed_now(); parts++) parts_equal_whole(p, SRS_FMT_CSV, parts);
    // the file: one quoted line break
    snprintf(p, sizeof p, "%s", t_write("io_parts2.csv", "prompt_id,reward\n\"a\nb\",1\n\"a\nb\",2\nc,3\n"));
    for (int parts = 1; parts <= 6 && !t_failed_now(); parts++) parts_equal_whole(p, SRS_FMT_CSV, parts);
    free(t);
}

// Random small CSVs, valid and not: for every part count the parts read
// what one read does (valid files), and some part fails where the whole
// read fails (the reader's grammar and the boundary automaton agree).
TEST(io_csv_parts_random) {
    static const char *const ids[] = {"a%d", "\"a%d\"", "\"x\ny%d\"", "\"c,%d\"", "\"q\"\"%d\"", "u\"%d",
                                      " \"s%d\" ", "\"\n\n%d\"", "\"\r\n%d\"", "\"e%d\"  ", "b%d"};
    static const char *const ends[] = {"\n", "\r\n", "\n\n", "\n \t\n", "\n\r\n"};
    static const char junk[] = {'"', ',', '\n', '\r', ' ', 'z', '\0'};
    uint64_t rng = 77;
    char p[512];
    snprintf(p, sizeof p, "%s", t_path("io_rand.csv"));
    int valid = 0, n_files = t_quick() ? 300 : 1500;
    for (int it = 0; it < n_files && !t_failed_now(); it++) {
        char t[2048];
        size_t len = (size_t)sprintf(t, "prompt_id,reward\n");
        int nrec = 1 + (int)(t_rand_u64(&rng) % 12);
        char id[64] = "";
        for (int k = 0; k < nrec; k++) {  // a new prompt, or (1 in 3) another line of the last one
            if (k == 0 || t_rand_u64(&rng) % 3) snprintf(id, sizeof id, ids[t_rand_u64(&rng) % 11], k);
            len += (size_t)sprintf(t + len, "%s,%d%s", id, (int)(t_rand_u64(&rng) % 10), ends[t_rand_u64(&rng) % 5]);
        }
        if (t_rand_u64(&rng) % 3 == 0 && len > 17)  // a stray byte somewhere after the header
            t[17 + t_rand_u64(&rng) % (len - 17)] = junk[t_rand_u64(&rng) % sizeof junk];
        write_bytes(p, t, len);
        srs_data_t *whole = NULL;
        srs_status_t ws = srs_data_read(t_ctx(), p, NULL, &whole);
        if (ws == SRS_OK) {
            valid++;
            srs_data_free(whole);
            for (int parts = 2; parts <= 5 && !t_failed_now(); parts++) parts_equal_whole(p, SRS_FMT_CSV, parts);
            if (t_failed_now()) fprintf(stderr, "    file %d: %.*s\n", it, (int)len, t);
            continue;
        }
        for (int parts = 2; parts <= 5; parts++) {  // some part fails, or two parts share an id (MPI's check)
            int64_t first_line = 1, n_ids = 0, off[64];
            char buf[4096];
            size_t used = 0;
            srs_idset_t seen = {0};
            int failed = 0;
            for (int k = 0; k < parts && !failed; k++) {
                srs_text_part_t tp;
                if (srs_text_part_bounds(t_ctx(), p, SRS_FMT_CSV, k, parts, &tp) != SRS_OK) {
                    failed = 1;
                    break;
                }
                tp.first_line = first_line;
                first_line += tp.newlines;
                srs_data_t *d = NULL;
                failed = srs_read_csv_part(t_ctx(), p, &tp, &d) != SRS_OK;
                for (int64_t i = 0; !failed && i < srs_data_batch(d)->n_prompts && n_ids < 64; i++) {
                    const char *pid = srs_data_id(d, i, NULL);
                    off[n_ids] = (int64_t)used;
                    used += (size_t)sprintf(buf + used, "%s", pid) + 1;
                    failed = srs_idset_add(&seen, buf, off, n_ids++) >= 0;
                }
                srs_data_free(d);
            }
            srs_idset_free(&seen);
            CHECK(failed, "file %d, %d parts: one read fails, every part reads: %.*s", it, parts, (int)len, t);
            if (!failed) break;
        }
    }
    CHECK(valid > n_files / 10, "only %d of %d files valid", valid, n_files);
}

TEST(io_csv_errors) {
    bad_text("io_c1.csv", "prompt_id,reward,bogus\na,1,2\n", 1, "unknown column \"bogus\"");
    bad_text("io_c2.csv", "id,reward\na,1\n", 1, "first column must be \"prompt_id\"");
    bad_text("io_c3.csv", "prompt_id,reward,gold\na,1,2\na,1\n", 3, "expected 3 fields, got 2");
    bad_text("io_c4.csv", "prompt_id,reward\na,1\na,\n", 3, "empty \"reward\"");
    bad_text("io_c5.csv", "prompt_id,reward,logw\na,1,0\na,1,abc\n", 3, "\"logw\" is not a number: \"abc\"");
    bad_text("io_c6.csv", "prompt_id,reward\na,nan\n", 2, "non-finite \"reward\"");
    bad_text("io_c7.csv", "prompt_id,reward,gold\na,1,-inf\n", 2, "non-finite \"gold\"");
    bad_text("io_c8.csv", "prompt_id,reward\na,1\nb,2\n\"a\",3\n", 4,
             "prompt \"a\" appears again after other prompts (samples of one prompt must be on consecutive lines)");
    bad_text("io_c9.csv", "prompt_id,reward\n", 0, "no prompts");
    bad_text("io_c10.csv", "", 0, "no prompts");
    bad_text("io_c11.csv", "prompt_id,reward\na,1\n\"b,2\n", 3, "unterminated quoted field");
    bad_text("io_c12.csv", "prompt_id,reward\na,1 2\n", 2, "is not a number");
    bad_text("io_c13.csv", "prompt_id,reward,gold,gold\na,1,2,3\n", 1, "appears twice");
    bad_text("io_c14.csv", "prompt_id,reward\na,1e999\n", 2, "non-finite");
}

TEST(io_csv_read_details) {
    // CRLF, spaces around numbers and header names, quoted ids with commas and
    // line breaks, blank lines, columns in another order.
    const char *p = t_write("io_details.csv",
                            "prompt_id, reward ,logw,gold\r\n"
                            "\"q,1\", 1.5 ,0,7\r\n"
                            "\r\n"
                            "\"q,1\",2,-1,8\r\n"
                            "\"multi\nline \"\"id\"\"\",3,0,9\r\n"
                            "plain,4,0,10");
    srs_data_t *d = rd(p);
    BAIL_IF_FAILED();
    const srs_batch_t *b = srs_data_batch(d);
    CHECK(b->n_prompts == 3 && b->offsets[1] == 2 && b->offsets[3] == 4, "rows");
    CHECK(vat(b->reward, 0) == 1.5 && vat(b->logw, 1) == -1 && vat(b->gold, 3) == 10, "columns");
    int num;
    CHECK(strcmp(srs_data_id(d, 0, &num), "q,1") == 0 && num == 0, "id 0: %s", srs_data_id(d, 0, &num));
    CHECK(strcmp(srs_data_id(d, 2, &num), "plain") == 0 && num == 0, "id 2");
    CHECK(strcmp(srs_data_id(d, 1, &num), "multi\nline \"id\"") == 0, "id 1: %s", srs_data_id(d, 1, &num));
    CHECK(srs_data_line(d, 0) == 2 && srs_data_line(d, 1) == 5 && srs_data_line(d, 2) == 7, "lines %lld %lld %lld",
          (long long)srs_data_line(d, 0), (long long)srs_data_line(d, 1), (long long)srs_data_line(d, 2));
    srs_data_free(d);
}

// ----------------------------------------------------------------------------
// NPY files made by hand

// A complete NPY file: version major.0, the given dict, padded to align
// (0 = no padding), then data.
static size_t make_npy(char *out, int major, const char *dict, int align, const void *data, size_t n) {
    size_t pre = major == 1 ? 10 : 12, dl = strlen(dict);
    size_t total = pre + dl + 1, pad = align ? (align - total % align) % align : 0;
    size_t hl = dl + pad + 1;
    memcpy(out, "\x93NUMPY", 6);
    out[6] = (char)major;
    out[7] = 0;
    for (size_t i = 0; i < pre - 8; i++) out[8 + i] = (char)(hl >> (8 * i));
    memcpy(out + pre, dict, dl);
    memset(out + pre + dl, ' ', pad);
    out[pre + hl - 1] = '\n';
    if (data) memcpy(out + pre + hl, data, n);
    return pre + hl + n;
}

static const char *npy_file(const char *name, int major, const char *dict, int align, const void *data, size_t n) {
    static char buf[8192];
    size_t len = make_npy(buf, major, dict, align, data, n);
    const char *p = t_path(name);
    write_bytes(p, buf, len);
    return p;
}

TEST(io_npy_versions) {
    double v[6] = {1, 2, 3, 4, 5, 6};
    float vf[6] = {1, 2, 3, 4, 5, 6};
    const char *dict8 = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }";
    for (int major = 1; major <= 3; major++) {
        char name[64];
        snprintf(name, sizeof name, "io_v%d.npy", major);
        srs_data_t *d = rd(npy_file(name, major, dict8, 64, v, sizeof v));
        if (!d) continue;
        const srs_batch_t *b = srs_data_batch(d);
        CHECK(b->n_prompts == 2 && b->row_len == 3 && vat(b->reward, 5) == 6, "version %d.0", major);
        srs_data_free(d);
    }
    // odd spellings numpy also accepts: double quotes, no trailing comma, '|'/'=' byte order, Python 2 long
    srs_data_t *d = rd(npy_file("io_vq.npy", 2, "{\"descr\": \"=f4\", \"shape\": (2L, 3L), \"fortran_order\": False}",
                                16, vf, sizeof vf));
    if (d) CHECK(srs_data_batch(d)->reward.dtype == SRS_F32 && vat(srs_data_batch(d)->reward, 4) == 5, "=f4");
    srs_data_free(d);
    d = rd(npy_file("io_vp.npy", 1, "{'descr': '|f4', 'fortran_order': False, 'shape': (3, 2)}", 16, vf, sizeof vf));
    if (d) CHECK(srs_data_batch(d)->row_len == 2, "|f4");
    srs_data_free(d);
    // a header that leaves the data unaligned is read by copying
    d = rd(npy_file("io_vu.npy", 1, dict8, 0, v, sizeof v));
    if (d) {
        const srs_batch_t *b = srs_data_batch(d);
        CHECK((uintptr_t)b->reward.data % 8 == 0 && vat(b->reward, 0) == 1 && vat(b->reward, 5) == 6, "unaligned");
    }
    srs_data_free(d);
}

TEST(io_npy_errors) {
    double v[64] = {0};
    char p[512];
    snprintf(p, sizeof p, "%s", npy_file("io_n1.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (12,), }", 64, v, 96));
    expect_read_fail(p, NULL, SRS_ERR_BAD_INPUT, "expected a 2-D array [prompts, samples], got shape (12,)");
    snprintf(p, sizeof p, "%s", npy_file("io_n2.npy", 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2), }", 64, v, 16));
    expect_read_fail(p, NULL, SRS_ERR_BAD_INPUT, "'>f4'");
    snprintf(p, sizeof p, "%s", npy_file("io_n3.npy", 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2), }", 64, v, 16));
    expect_read_fail(p, NULL, SRS_ERR_BAD_INPUT, "'<i4'");
    snprintf(p, sizeof p, "%s", npy_file("io_n4.npy", 1, "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", 64, v, 16));
    expect_read_fail(p, NULL, SRS_ERR_BAD_INPUT, "ragged rows cannot be stored in NPY; use JSONL or CSV");
    snprintf(p, sizeof p, "%s", npy_file("io_n5.npy", 1, "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 2), }", 64, v, 32));
    expect_read_fail(p, NULL, SRS_ERR_BAD_INPUT, "Fortran");
    snprintf(p, sizeof p, "%s", npy_file("io_n6.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }", 64, v, 40));
    expect_read_fail(p, NULL, SRS_ERR_BAD_INPUT, "truncated: header promises 96 bytes of data, file has 40");
    snprintf(p, sizeof p, "%s", npy_file("io_n7.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 5), }", 64, v, 0));
    expect_read_fail(p, NULL, SRS_ERR_BAD_INPUT, "(0, 5)");
    snprintf(p, sizeof p, "%s", npy_file("io_n8.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3, 4), }", 64, v, 192));
    expect_read_fail(p, NULL, SRS_ERR_BAD_INPUT, "got shape (2, 3, 4)");
    snprintf(p, sizeof p, "%s", npy_file("io_n9.npy", 1, "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (2, 2), }", 64, v, 32));
    expect_read_fail(p, NULL, SRS_ERR_BAD_INPUT, "structured dtype");
    snprintf(p, sizeof p, "%s", t_write("io_n10.npy", "not numpy at all"));
    expect_read_fail(p, NULL, SRS_ERR_BAD_INPUT, "not an NPY file");
    snprintf(p, sizeof p, "%s", npy_file("io_n11.npy", 1, "{'descr': '<f8', 'shape': (2, 2), }", 64, v, 32));
    expect_read_fail(p, NULL, SRS_ERR_BAD_INPUT, "bad NPY header");

    // companions: wrong shape, explicit path, missing explicit path
    const char *d35 = "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 5), }";
    const char *d34 = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }";
    snprintf(p, sizeof p, "%s", npy_file("io_comp.npy", 1, d35, 64, v, 120));
    char g[512];
    snprintf(g, sizeof g, "%s", npy_file("io_comp.gold.npy", 1, d34, 64, v, 48));
    srs_data_t *bad = (srs_data_t *)1;
    CHECK(srs_data_read(t_ctx(), p, NULL, &bad) == SRS_ERR_BAD_INPUT && !bad, "companion shape accepted");
    CHECK(strstr(srs_ctx_last_error(t_ctx()), g) &&
              strstr(srs_ctx_last_error(t_ctx()), ": shape (3, 4) does not match rewards (3, 5)"),
          "companion message: %s", srs_ctx_last_error(t_ctx()));
    unlink(g);
    float lw[15];
    for (int i = 0; i < 15; i++) lw[i] = (float)-i;
    snprintf(g, sizeof g, "%s", npy_file("io_other_logw.npy", 1,
                                          "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 5), }", 64, lw, 60));
    srs_read_opts_t o = {SRS_FMT_AUTO, NULL, g};
    srs_data_t *d = NULL;
    CHECK(srs_data_read(t_ctx(), p, &o, &d) == SRS_OK, "explicit logw: %s", srs_ctx_last_error(t_ctx()));
    if (d) {
        const srs_batch_t *b = srs_data_batch(d);
        CHECK(b->logw.data && b->logw.dtype == SRS_F32 && b->reward.dtype == SRS_F64 && vat(b->logw, 14) == -14 &&
                  !b->gold.data,
              "mixed dtypes");
    }
    srs_data_free(d);
    char missing[512];
    snprintf(missing, sizeof missing, "%s", t_path("io_nothere.npy"));
    o.logw_path = missing;
    bad = (srs_data_t *)1;
    CHECK(srs_data_read(t_ctx(), p, &o, &bad) == SRS_ERR_IO && !bad, "missing explicit companion");
    CHECK(strstr(srs_ctx_last_error(t_ctx()), missing), "message: %s", srs_ctx_last_error(t_ctx()));
    srs_read_opts_t oj = {SRS_FMT_AUTO, missing, NULL};
    expect_read_fail(t_write("io_comp_j.jsonl", "{\"rewards\": [1]}\n"), &oj, SRS_ERR_INVALID_ARG, "NPY");
}

// ----------------------------------------------------------------------------
// atomic writes

TEST(io_write_failures_leave_nothing) {
    srs_data_t *d = make_dense(2, 2, 0, 0, 8);
    BAIL_IF_FAILED();
    char p[600];
    snprintf(p, sizeof p, "%s/no/such/dir/x.jsonl", t_tmpdir());
    srs_status_t st = srs_data_write(t_ctx(), p, d, SRS_FMT_AUTO, SRS_F64);
    CHECK(st == SRS_ERR_IO && strstr(srs_ctx_last_error(t_ctx()), "No such file"), "missing dir: %s: %s",
          srs_status_str(st), srs_ctx_last_error(t_ctx()));
    // the target is a directory: refused before anything is written
    snprintf(p, sizeof p, "%s", t_path("io_adir.csv"));
    mkdir(p, 0755);
    st = srs_data_write(t_ctx(), p, d, SRS_FMT_AUTO, SRS_F64);
    CHECK(st == SRS_ERR_IO && strstr(srs_ctx_last_error(t_ctx()), "is a directory"), "dir target: %s: %s",
          srs_status_str(st), srs_ctx_last_error(t_ctx()));
    CHECK(count_tmp() == 0, "temporary files left");
    st = srs_data_write(t_ctx(), t_path("io_x.parquet"), d, SRS_FMT_AUTO, SRS_F64);
    CHECK(st == SRS_ERR_INVALID_ARG && strstr(srs_ctx_last_error(t_ctx()), "use --out-format"), "unknown ext: %s",
          srs_ctx_last_error(t_ctx()));
    // an existing file is replaced only on success
    snprintf(p, sizeof p, "%s", t_write("io_keep.csv", "old"));
    const char *ids[2] = {"same", "same"};
    double u[4] = {1, 2, 3, 4};
    srs_data_t *dup = NULL;
    CHECK(srs_data_from_arrays(t_ctx(), 2, NULL, 2, u, NULL, NULL, ids, &dup) == SRS_OK, "dup");
    st = srs_data_write(t_ctx(), p, dup, SRS_FMT_AUTO, SRS_F64);
    CHECK(st == SRS_ERR_INVALID_ARG && strstr(srs_ctx_last_error(t_ctx()), "same prompt_id"), "dup ids in CSV: %s",
          srs_ctx_last_error(t_ctx()));
    char *s = t_slurp(p);
    CHECK(s && strcmp(s, "old") == 0, "old file changed");
    free(s);
    CHECK(count_tmp() == 0, "temporary files left");
    srs_data_free(dup);
    srs_data_free(d);
}

// ----------------------------------------------------------------------------
// the result writer

static srs_data_t *writer_data(int ragged) {
    static const char *ids[4] = {"p0", "p,1", "p\"2", "p3"};
    int64_t off_r[5] = {0, 3, 4, 8, 10}, off_e[5] = {0, 3, 6, 9, 12};
    double u[12];
    for (int i = 0; i < 12; i++) u[i] = i * 0.5;
    srs_data_t *d = NULL;
    CHECK(srs_data_from_arrays(t_ctx(), 4, ragged ? off_r : off_e, 0, u, NULL, NULL, ids, &d) == SRS_OK, "data");
    return d;
}

static const double W_M[4] = {0.1, -1.0 / 3.0, 2.5, 1e-300}, W_B[4] = {1, 2, 3, 4.75};

static double w_shaped(int64_t k) { return k * 0.25 - 1.0 / 7.0; }

// Writes rows in chunks of 3 then 1; shaped (sample k) = w_shaped(k).
static srs_status_t write_results(const char *path, srs_out_kind_t kind, const srs_data_t *d) {
    srs_writer_t *w = NULL;
    srs_status_t st = srs_writer_open(t_ctx(), path, SRS_FMT_AUTO, kind, d, &w);
    if (st != SRS_OK) return st;
    double sh[12];
    for (int k = 0; k < 12; k++) sh[k] = w_shaped(k);
    const int64_t *off = srs_data_batch(d)->offsets;
    st = srs_writer_put(w, 0, 3, W_M, W_B, kind == SRS_OUT_SHAPED ? sh : NULL);
    if (st == SRS_OK) st = srs_writer_put(w, 3, 1, W_M + 3, W_B + 3, kind == SRS_OUT_SHAPED ? sh + off[3] : NULL);
    if (st != SRS_OK) {
        srs_writer_abort(w);
        return st;
    }
    return srs_writer_commit(w);
}

static void check_jsonl_results(const char *path, const srs_data_t *d, int shaped) {
    char *s = t_slurp(path);
    CHECK(s != NULL, "no output %s", path);
    if (!s) return;
    const int64_t *off = srs_data_batch(d)->offsets;
    char *line = s;
    for (int i = 0; i < 4; i++) {
        char *nl = strchr(line, '\n');
        CHECK(nl != NULL, "line %d missing", i + 1);
        if (!nl) break;
        json_error_t e;
        json_t *o = json_loadb(line, (size_t)(nl - line), 0, &e);
        CHECK(o != NULL, "line %d: %s", i + 1, e.text);
        if (o) {
            CHECK(strcmp(json_string_value(json_object_get(o, "prompt_id")), srs_data_id(d, i, NULL)) == 0, "id %d", i);
            CHECK(bits_eq(json_number_value(json_object_get(o, "m_star")), W_M[i]), "m_star %d", i);
            CHECK(bits_eq(json_number_value(json_object_get(o, "B_eff")), W_B[i]), "B_eff %d", i);
            json_t *a = json_object_get(o, "shaped");
            CHECK(!shaped == !a, "shaped present: %d", shaped);
            if (a) {
                CHECK((int64_t)json_array_size(a) == off[i + 1] - off[i], "shaped length");
                for (size_t j = 0; j < json_array_size(a); j++)
                    CHECK(bits_eq(json_number_value(json_array_get(a, j)), w_shaped(off[i] + (int64_t)j)),
                          "shaped %d %zu", i, j);
            }
        }
        json_decref(o);
        line = nl + 1;
    }
    CHECK(*line == '\0', "extra output");
    free(s);
}

TEST(io_writer_jsonl) {
    srs_data_t *d = writer_data(1);
    BAIL_IF_FAILED();
    char p[512];
    snprintf(p, sizeof p, "%s", t_path("io_w_thr.jsonl"));
    CHECK(write_results(p, SRS_OUT_THRESHOLDS, d) == SRS_OK, "%s", srs_ctx_last_error(t_ctx()));
    check_jsonl_results(p, d, 0);
    snprintf(p, sizeof p, "%s", t_path("io_w_sh.jsonl"));
    CHECK(write_results(p, SRS_OUT_SHAPED, d) == SRS_OK, "%s", srs_ctx_last_error(t_ctx()));
    check_jsonl_results(p, d, 1);
    CHECK(count_tmp() == 0, "temporary files left");
    srs_data_free(d);
}

TEST(io_writer_csv) {
    srs_data_t *d = writer_data(1);
    BAIL_IF_FAILED();
    char p[512];
    snprintf(p, sizeof p, "%s", t_path("io_w_thr.csv"));
    CHECK(write_results(p, SRS_OUT_THRESHOLDS, d) == SRS_OK, "%s", srs_ctx_last_error(t_ctx()));
    char *s = t_slurp(p);
    const char *want_thr = "prompt_id,m_star,B_eff\n"
                           "p0,0.1,1\n"
                           "\"p,1\",-0.3333333333333333,2\n"
                           "\"p\"\"2\",2.5,3\n"
                           "p3,1e-300,4.75\n";
    CHECK(s && strcmp(s, want_thr) == 0, "thresholds CSV:\n%s", s ? s : "(null)");
    free(s);
    snprintf(p, sizeof p, "%s", t_path("io_w_sh.csv"));
    CHECK(write_results(p, SRS_OUT_SHAPED, d) == SRS_OK, "%s", srs_ctx_last_error(t_ctx()));
    s = t_slurp(p);
    const char *head = "prompt_id,shaped,m_star,B_eff\np0,-0.14285714285714285,0.1,1\n";
    CHECK(s && strncmp(s, head, strlen(head)) == 0,
          "shaped CSV:\n%s", s ? s : "(null)");
    // one line per sample, the id and thresholds repeated
    int lines = 0;
    for (char *c = s; c && *c; c++) lines += *c == '\n';
    CHECK(lines == 11, "%d lines", lines);
    CHECK(s && strstr(s, "\n\"p,1\",0.6071428571428572,-0.3333333333333333,2\n"), "row 1 line");
    free(s);
    srs_data_free(d);
}

TEST(io_writer_npy) {
    srs_data_t *d = writer_data(0);
    BAIL_IF_FAILED();
    char p[512];
    snprintf(p, sizeof p, "%s", t_path("io_w_thr.npy"));
    CHECK(write_results(p, SRS_OUT_THRESHOLDS, d) == SRS_OK, "%s", srs_ctx_last_error(t_ctx()));
    srs_data_t *r = rd(p);
    if (r) {
        const srs_batch_t *b = srs_data_batch(r);
        CHECK(b->n_prompts == 4 && b->row_len == 2 && b->reward.dtype == SRS_F64, "thresholds shape");
        for (int i = 0; i < 4; i++)
            CHECK(bits_eq(vat(b->reward, 2 * i), W_M[i]) && bits_eq(vat(b->reward, 2 * i + 1), W_B[i]), "row %d", i);
    }
    srs_data_free(r);
    snprintf(p, sizeof p, "%s", t_path("io_w_sh.npy"));
    CHECK(write_results(p, SRS_OUT_SHAPED, d) == SRS_OK, "%s", srs_ctx_last_error(t_ctx()));
    r = rd(p);
    if (r) {
        const srs_batch_t *b = srs_data_batch(r);
        CHECK(b->n_prompts == 4 && b->row_len == 3, "shaped shape");
        for (int k = 0; k < 12; k++) CHECK(bits_eq(vat(b->reward, k), w_shaped(k)), "sample %d", k);
    }
    srs_data_free(r);
    r = rd(t_path("io_w_sh.thresholds.npy"));
    if (r) {
        const srs_batch_t *b = srs_data_batch(r);
        CHECK(b->n_prompts == 4 && b->row_len == 2 && bits_eq(vat(b->reward, 7), W_B[3]), "companion");
    }
    srs_data_free(r);
    srs_data_free(d);

    // ragged rows: refused at open, nothing created
    d = writer_data(1);
    srs_writer_t *w = (srs_writer_t *)1;
    snprintf(p, sizeof p, "%s", t_path("io_w_rag.npy"));
    srs_status_t st = srs_writer_open(t_ctx(), p, SRS_FMT_AUTO, SRS_OUT_SHAPED, d, &w);
    CHECK(st == SRS_ERR_INVALID_ARG && !w && strstr(srs_ctx_last_error(t_ctx()), "NPY needs equal rows"),
          "ragged: %s", srs_ctx_last_error(t_ctx()));
    CHECK(!t_exists(p) && !t_exists(t_path("io_w_rag.thresholds.npy")) && count_tmp() == 0, "files left");
    // ragged thresholds are fine
    CHECK(write_results(p, SRS_OUT_THRESHOLDS, d) == SRS_OK, "ragged thresholds");
    srs_data_free(d);
}

TEST(io_writer_misuse_leaves_nothing) {
    srs_data_t *d = writer_data(1);
    BAIL_IF_FAILED();
    const char *names[3] = {"io_wm.jsonl", "io_wm.csv", "io_wm.npy"};
    for (int k = 0; k < 3; k++) {
        char p[512];
        snprintf(p, sizeof p, "%s", t_path(names[k]));
        srs_writer_t *w = NULL;
        CHECK(srs_writer_open(t_ctx(), p, SRS_FMT_AUTO, SRS_OUT_THRESHOLDS, d, &w) == SRS_OK, "open %s", p);
        if (!w) continue;
        CHECK(count_tmp() <= 1, "one temporary while open (none when it is unnamed: O_TMPFILE)");
        // out of order
        srs_status_t st = srs_writer_put(w, 1, 1, W_M, W_B, NULL);
        CHECK(st == SRS_ERR_INVALID_ARG && strstr(srs_ctx_last_error(t_ctx()), "in order"), "out of order: %s",
              srs_ctx_last_error(t_ctx()));
        CHECK(srs_writer_put(w, 0, 2, W_M, W_B, NULL) == SRS_OK, "put");
        CHECK(srs_writer_put(w, 0, 1, W_M, W_B, NULL) == SRS_ERR_INVALID_ARG, "repeat");
        CHECK(srs_writer_put(w, 2, 3, W_M, W_B, NULL) == SRS_ERR_INVALID_ARG, "past the end");
        st = srs_writer_commit(w);  // 2 of 4 rows
        CHECK(st == SRS_ERR_INVALID_ARG && strstr(srs_ctx_last_error(t_ctx()), "2 of 4"), "early commit: %s",
              srs_ctx_last_error(t_ctx()));
        CHECK(!t_exists(p) && count_tmp() == 0, "files left after early commit");
        // abort
        CHECK(srs_writer_open(t_ctx(), p, SRS_FMT_AUTO, SRS_OUT_THRESHOLDS, d, &w) == SRS_OK, "reopen");
        CHECK(srs_writer_put(w, 0, 4, W_M, W_B, NULL) == SRS_OK, "put all");
        srs_writer_abort(w);
        CHECK(!t_exists(p) && count_tmp() == 0, "files left after abort");
    }
    srs_writer_abort(NULL);
    srs_writer_t *w = (srs_writer_t *)1;
    CHECK(srs_writer_open(t_ctx(), t_path("io_wm.txt"), SRS_FMT_AUTO, SRS_OUT_THRESHOLDS, d, &w) ==
                  SRS_ERR_INVALID_ARG && !w,
          "unknown extension");
    srs_data_free(d);
}

// Writes every text output for d with a context of `threads` threads (the
// writer in puts of `chunk` rows: thresholds and shaped, JSONL and CSV; and
// srs_data_write to JSONL and CSV); returns the files' texts concatenated.
static char *writer_texts(const srs_data_t *d, int threads, int64_t chunk) {
    srs_ctx_t *c;
    if (srs_ctx_create(&c, SRS_DEVICE_CPU, threads) != SRS_OK) return NULL;
    const srs_batch_t *b = srs_data_batch(d);
    int64_t np = b->n_prompts, ns = srs_batch_n_samples(b);
    double *m = malloc(sizeof *m * (size_t)np), *be = malloc(sizeof *be * (size_t)np),
           *sh = malloc(sizeof *sh * (size_t)ns);
    for (int64_t i = 0; i < np; i++) {
        m[i] = (double)i / 3.0;
        be[i] = 1.0 + (double)i * 1e-3;
    }
    for (int64_t j = 0; j < ns; j++) sh[j] = vat(b->reward, j) * 0.7;
    const char *names[6] = {"io_par_t.jsonl", "io_par_t.csv", "io_par_s.jsonl", "io_par_s.csv",
                            "io_par_d.jsonl", "io_par_d.csv"};
    size_t total = 0;
    char *all = NULL, *parts[6] = {NULL, NULL, NULL, NULL, NULL, NULL};
    for (int k = 4; k < 6; k++) {  // srs_data_write
        char p[512];
        snprintf(p, sizeof p, "%s", t_path(names[k]));
        if (srs_data_write(c, p, d, SRS_FMT_AUTO, SRS_F64) != SRS_OK) continue;
        parts[k] = t_slurp(p);
        total += parts[k] ? strlen(parts[k]) : 0;
    }
    for (int k = 0; k < 4; k++) {
        char p[512];
        snprintf(p, sizeof p, "%s", t_path(names[k]));
        srs_out_kind_t kind = k < 2 ? SRS_OUT_THRESHOLDS : SRS_OUT_SHAPED;
        srs_writer_t *w;
        if (srs_writer_open(c, p, SRS_FMT_AUTO, kind, d, &w) != SRS_OK) continue;
        for (int64_t i = 0; i < np; i += chunk) {
            int64_t n = i + chunk <= np ? chunk : np - i;
            srs_writer_put(w, i, n, m + i, be + i, kind == SRS_OUT_SHAPED ? sh + b->offsets[i] : NULL);
        }
        if (srs_writer_commit(w) != SRS_OK) continue;
        parts[k] = t_slurp(p);
        total += parts[k] ? strlen(parts[k]) : 0;
    }
    all = calloc(total + 1, 1);
    for (int k = 0; k < 6; k++) {
        if (parts[k]) strcat(all, parts[k]);
        free(parts[k]);
    }
    free(m);
    free(be);
    free(sh);
    srs_ctx_free(c);
    return all;
}

TEST(io_writer_parallel_same_bytes) {
    // Big outputs are formatted by several threads: the bytes must not change.
    int64_t np = t_quick() ? 3000 : 20000;
    char **ids = malloc(sizeof *ids * (size_t)np);
    for (int64_t i = 0; i < np; i++) {
        ids[i] = malloc(32);
        snprintf(ids[i], 32, i % 3 ? "p%lld" : "p,\"%lld\"", (long long)i);  // some need quoting
    }
    srs_data_t *d = make_ragged(np, 40, (const char *const *)ids, 13);
    for (int64_t i = 0; i < np; i++) free(ids[i]);
    free(ids);
    BAIL_IF_FAILED();
    char *one = writer_texts(d, 1, 100000), *many = writer_texts(d, 8, 100000), *small = writer_texts(d, 8, 7);
    CHECK(one && many && small && strlen(one) > 100000, "no output");
    if (one && many) CHECK(strcmp(one, many) == 0, "8 threads wrote different bytes");
    if (one && small) CHECK(strcmp(one, small) == 0, "small puts wrote different bytes");
    free(one);
    free(many);
    free(small);
    srs_data_free(d);
}

TEST(io_writer_stdout) {
    srs_data_t *d = writer_data(1);
    BAIL_IF_FAILED();
    char p[512];
    snprintf(p, sizeof p, "%s", t_path("io_stdout.capture"));
    fflush(stdout);
    int saved = dup(1);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    close(fd);
    // an aborted run prints nothing
    srs_writer_t *w = NULL;
    srs_status_t st1 = srs_writer_open(t_ctx(), "-", SRS_FMT_AUTO, SRS_OUT_THRESHOLDS, d, &w);
    if (w) srs_writer_put(w, 0, 2, W_M, W_B, NULL);
    srs_writer_abort(w);
    fflush(stdout);
    struct stat sb;
    fstat(1, &sb);
    off_t after_abort = sb.st_size;
    srs_status_t st2 = write_results("-", SRS_OUT_THRESHOLDS, d);  // AUTO on "-" is JSONL
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    CHECK(st1 == SRS_OK && st2 == SRS_OK, "stdout writer: %s", srs_ctx_last_error(t_ctx()));
    CHECK(after_abort == 0, "aborted writer printed %lld bytes", (long long)after_abort);
    check_jsonl_results(p, d, 0);

    // srs_data_write to "-" as CSV
    fflush(stdout);
    saved = dup(1);
    fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    close(fd);
    srs_status_t st3 = srs_data_write(t_ctx(), "-", d, SRS_FMT_CSV, SRS_F64);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    CHECK(st3 == SRS_OK, "data to stdout: %s", srs_ctx_last_error(t_ctx()));
    char *s = t_slurp(p);
    CHECK(s && strncmp(s, "prompt_id,reward\np0,0\np0,0.5\n", 29) == 0, "CSV on stdout: %.40s", s ? s : "");
    free(s);
    srs_data_free(d);
}

// Internal (host/io/rows.h), linked from libsrs.a: the fast formatter and its definition.
int srs_fmt_double(char *buf, size_t n, double x);
int srs_fmt_double_ref(char *buf, size_t n, double x);

TEST(io_fmt_double_fast_path) {
    // The fast path must give exactly the text of the definition, for every
    // kind of double: random bits (all exponents, subnormals), short decimals,
    // integers, values near powers of ten.
    uint64_t seed = 12;
    int n = t_quick() ? 200000 : 2000000, bad = 0;
    char a[64], b[64];
    for (int i = 0; i < n && bad < 5; i++) {
        uint64_t r = t_rand_u64(&seed);
        double x;
        switch (i % 5) {
        case 0: memcpy(&x, &r, sizeof x); break;
        case 1: x = t_rand_u01(&seed) * 4 - 2; break;
        case 2: x = round(t_rand_normal(&seed) * 1e6) / 1e6; break;
        case 3: x = (double)(int64_t)(r >> (r % 64)); break;
        default: x = pow(10, (double)(int)(r % 600) - 300) * (1 + (double)((int)(r >> 32) % 3 - 1) * 1e-16); break;
        }
        if (!isfinite(x)) continue;
        srs_fmt_double(a, sizeof a, x);
        srs_fmt_double_ref(b, sizeof b, x);
        double y = strtod(a, NULL);
        if (strcmp(a, b) != 0 || !bits_eq(x, y)) {
            CHECK(0, "%a: fast \"%s\", reference \"%s\"", x, a, b);
            bad++;
        }
    }
    srs_fmt_double(a, sizeof a, NAN);
    CHECK(strcmp(a, "null") == 0, "NaN -> %s", a);
    srs_fmt_double(a, sizeof a, -0.0);
    CHECK(strcmp(a, "-0.0") == 0, "-0 -> %s", a);
}

TEST(io_fmt_double) {
    // The writers' numbers read back bit-identical, shortest form first.
    srs_data_t *d = NULL;
    uint64_t seed = 9;
    double v[2000];
    for (int i = 0; i < 2000; i++) {
        uint64_t bits = t_rand_u64(&seed);
        memcpy(&v[i], &bits, sizeof bits);
        if (!isfinite(v[i]) || i < N_SPECIAL) v[i] = i < N_SPECIAL ? special[i] : t_rand_normal(&seed);
    }
    CHECK(srs_data_from_arrays(t_ctx(), 1, NULL, 2000, v, NULL, NULL, NULL, &d) == SRS_OK, "data");
    BAIL_IF_FAILED();
    char p[512];
    snprintf(p, sizeof p, "%s", t_path("io_bits.jsonl"));
    wr(p, d, SRS_F64);
    srs_data_t *e = rd(p);
    if (e) check_same(srs_data_batch(d), srs_data_batch(e), EXACT);
    srs_data_free(e);
    char *s = t_slurp(p);
    CHECK(s && strstr(s, "[0.1, -0.0, 0, 9.99999999999997e-311, 4.94065645841247e-324, 1.7976931348623157e+308, "
                         "-2.2250738585072014e-308, 0.3333333333333333, 123456789.123, 1e+16, 9007199254740992, "
                         "0.30000000000000004, -1e-05, 2.5, "),
          "shortest forms: %.120s", s ? s : "(null)");
    free(s);
    srs_data_free(d);
}

// A writer's output and its companion are committed together: when the main
// file cannot take its place, the companion renamed before it is put back.
TEST(io_writer_commit_all_or_nothing) {
    srs_data_t *d = writer_data(0);
    BAIL_IF_FAILED();
    char p[512], thr[512], sub[600];
    snprintf(p, sizeof p, "%s", t_path("io_all.npy"));
    snprintf(thr, sizeof thr, "%s", t_write("io_all.thresholds.npy", "old"));
    srs_writer_t *w = NULL;
    CHECK(srs_writer_open(t_ctx(), p, SRS_FMT_AUTO, SRS_OUT_SHAPED, d, &w) == SRS_OK, "open: %s",
          srs_ctx_last_error(t_ctx()));
    if (!w) return;
    double sh[12];
    for (int k = 0; k < 12; k++) sh[k] = w_shaped(k);
    CHECK(srs_writer_put(w, 0, 4, W_M, W_B, sh) == SRS_OK, "put");
    // the main target turns into a non-empty directory before the commit
    mkdir(p, 0755);
    snprintf(sub, sizeof sub, "%s/x", p);
    mkdir(sub, 0755);
    srs_status_t st = srs_writer_commit(w);
    CHECK(st == SRS_ERR_IO && strstr(srs_ctx_last_error(t_ctx()), "io_all.npy"), "commit: %s: %s",
          srs_status_str(st), srs_ctx_last_error(t_ctx()));
    char *s = t_slurp(thr);
    CHECK(s && !strcmp(s, "old"), "the companion kept the new file: %.8s", s ? s : "(gone)");
    free(s);
    CHECK(count_tmp() == 0, "temporaries left");
    // a companion that did not exist before is removed again
    unlink(thr);
    w = NULL;
    rmdir(sub);
    rmdir(p);
    CHECK(srs_writer_open(t_ctx(), p, SRS_FMT_AUTO, SRS_OUT_SHAPED, d, &w) == SRS_OK, "open 2");
    if (!w) return;
    CHECK(srs_writer_put(w, 0, 4, W_M, W_B, sh) == SRS_OK, "put 2");
    mkdir(p, 0755);
    mkdir(sub, 0755);
    CHECK(srs_writer_commit(w) == SRS_ERR_IO, "commit 2");
    CHECK(!t_exists(thr) && count_tmp() == 0, "a companion or temporary left");
    rmdir(sub);
    rmdir(p);
    srs_data_free(d);
}
