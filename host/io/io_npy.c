// io_npy.c — NumPy .npy files: 2-D float32/float64 C-order [prompts, samples],
// memory-mapped, with companion files "<stem>.gold.npy" / "<stem>.logw.npy".
//
// The format: "\x93NUMPY", major, minor, a little-endian header length
// (uint16 for 1.0, uint32 for 2.0 and 3.0), then a Python dict literal
//   {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }
// padded with spaces and ended by '\n'; the raw data follows.
// Layering: a per-format reader and writer (io.h); calls only the lower
// layer (rows.h: row builder, file loading, output helpers), never data.c's
// dispatch above it.
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include "io.h"
#include "score.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "srs reads and writes NPY data in place: it needs a little-endian host"
#endif

#define MAX_DIMS 32

// ----------------------------------------------------------------------------
// header parsing

typedef struct {
    char descr[32];
    int fortran;
    int ndim;
    int64_t dim[MAX_DIMS];
    size_t data_off;   // where the array's bytes start
} npy_hdr_t;

typedef struct {
    const char *p, *end;
} cur_t;

static void skip_ws(cur_t *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static int eat(cur_t *c, char ch) {
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

// A quoted Python string ('..' or "..") into out (truncated to n-1).
static int parse_str(cur_t *c, char *out, size_t n) {
    skip_ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return 0;
    char q = *c->p++;
    size_t k = 0;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\' && c->p + 1 < c->end) c->p++;
        if (k + 1 < n) out[k++] = *c->p;
        c->p++;
    }
    out[k] = '\0';
    if (c->p >= c->end) return 0;
    c->p++;
    return 1;
}

static int parse_int(cur_t *c, int64_t *v) {
    skip_ws(c);
    int64_t x = 0;
    const char *s = c->p;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        if (x > (INT64_MAX - 9) / 10) return 0;
        x = x * 10 + (*c->p++ - '0');
    }
    if (c->p == s) return 0;
    if (c->p < c->end && (*c->p == 'L' || *c->p == 'l')) c->p++;  // Python 2 longs
    *v = x;
    return 1;
}

static int match_word(cur_t *c, const char *w) {
    skip_ws(c);
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) >= n && memcmp(c->p, w, n) == 0) {
        c->p += n;
        return 1;
    }
    return 0;
}

// Python's repr of a shape tuple: "(12,)", "(3, 4)", "()".
static void shape_str(char *buf, size_t n, const int64_t *dim, int ndim) {
    size_t k = (size_t)snprintf(buf, n, "(");
    for (int i = 0; i < ndim && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", (long long)dim[i]);
    if (k < n) snprintf(buf + k, n - k, ndim == 1 ? ",)" : ")");
}

static srs_status_t bad_header(srs_ctx_t *ctx, const char *path, const char *what) {
    return srs_fail(ctx, SRS_ERR_BAD_INPUT, "%s: bad NPY header: %s", path, what);
}

static srs_status_t parse_header(srs_ctx_t *ctx, const char *path, const char *buf, size_t len,
                                 npy_hdr_t *h) {
    memset(h, 0, sizeof *h);
    if (len < 10 || memcmp(buf, "\x93NUMPY", 6) != 0)
        return srs_fail(ctx, SRS_ERR_BAD_INPUT, "%s: not an NPY file (no \\x93NUMPY magic)", path);
    unsigned major = (unsigned char)buf[6], minor = (unsigned char)buf[7];
    size_t hl, start;
    if (major == 1) {
        hl = (unsigned char)buf[8] | (size_t)(unsigned char)buf[9] << 8;
        start = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12) return srs_fail(ctx, SRS_ERR_BAD_INPUT, "%s: truncated NPY header", path);
        hl = (unsigned char)buf[8] | (size_t)(unsigned char)buf[9] << 8 |
             (size_t)(unsigned char)buf[10] << 16 | (size_t)(unsigned char)buf[11] << 24;
        start = 12;
    } else {
        return srs_fail(ctx, SRS_ERR_BAD_INPUT, "%s: unsupported NPY version %u.%u", path, major, minor);
    }
    if (hl > len - start)
        return srs_fail(ctx, SRS_ERR_BAD_INPUT, "%s: truncated NPY header (%zu bytes promised, %zu present)",
                        path, hl, len - start);
    h->data_off = start + hl;
    cur_t c = {buf + start, buf + start + hl};
    int seen_descr = 0, seen_fortran = 0, seen_shape = 0;
    if (!eat(&c, '{')) return bad_header(ctx, path, "expected a dict");
    while (!eat(&c, '}')) {
        char key[32];
        if (!parse_str(&c, key, sizeof key) || !eat(&c, ':'))
            return bad_header(ctx, path, "expected 'key': value");
        if (strcmp(key, "descr") == 0) {
            skip_ws(&c);
            if (c.p < c.end && *c.p == '[')
                return srs_fail(ctx, SRS_ERR_BAD_INPUT,
                                "%s: structured dtype (a record array) is not supported; need a plain "
                                "float32 '<f4' or float64 '<f8' array", path);
            if (!parse_str(&c, h->descr, sizeof h->descr)) return bad_header(ctx, path, "bad 'descr'");
            seen_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0) {
            if (match_word(&c, "True")) h->fortran = 1;
            else if (match_word(&c, "False")) h->fortran = 0;
            else return bad_header(ctx, path, "bad 'fortran_order'");
            seen_fortran = 1;
        } else if (strcmp(key, "shape") == 0) {
            if (!eat(&c, '(')) return bad_header(ctx, path, "bad 'shape'");
            while (!eat(&c, ')')) {
                if (h->ndim >= MAX_DIMS || !parse_int(&c, &h->dim[h->ndim]))
                    return bad_header(ctx, path, "bad 'shape'");
                h->ndim++;
                if (!eat(&c, ',')) {
                    if (!eat(&c, ')')) return bad_header(ctx, path, "bad 'shape'");
                    break;
                }
            }
            seen_shape = 1;
        } else {
            char msg[80];
            snprintf(msg, sizeof msg, "unexpected key '%s'", key);
            return bad_header(ctx, path, msg);
        }
        if (!eat(&c, ',')) {
            if (!eat(&c, '}')) return bad_header(ctx, path, "expected ',' or '}'");
            break;
        }
    }
    if (!seen_descr || !seen_fortran || !seen_shape)
        return bad_header(ctx, path, "missing 'descr', 'fortran_order' or 'shape'");
    return SRS_OK;
}

// float32/float64 little-endian descr → dtype, else a message naming it.
static srs_status_t parse_descr(srs_ctx_t *ctx, const char *path, const char *descr, srs_dtype_t *dt) {
    const char *s = descr;
    char order = '=';
    if (*s == '<' || *s == '>' || *s == '|' || *s == '=') order = *s++;
    if (strcmp(s, "f4") == 0 || strcmp(s, "f8") == 0) {
        if (order == '>')
            return srs_fail(ctx, SRS_ERR_BAD_INPUT,
                            "%s: big-endian dtype '%s' is not supported; convert it with "
                            "numpy: a.astype('<%s')", path, descr, s);
        *dt = s[1] == '4' ? SRS_F32 : SRS_F64;
        return SRS_OK;
    }
    if (strcmp(s, "O") == 0)
        return srs_fail(ctx, SRS_ERR_BAD_INPUT,
                        "%s: dtype '%s' (an object array): ragged rows cannot be stored in NPY; use "
                        "JSONL or CSV", path, descr);
    return srs_fail(ctx, SRS_ERR_BAD_INPUT,
                    "%s: dtype '%s' is not supported (need float32 '<f4' or float64 '<f8')", path, descr);
}

// ----------------------------------------------------------------------------
// reader

typedef struct {
    srs_dtype_t dtype;
    int64_t rows, cols;
} npy_arr_t;

// Loads one NPY file and hands its storage to d (slot k of map/owned).
static srs_status_t load_array(srs_ctx_t *ctx, const char *path, srs_data_t *d, int k,
                               npy_arr_t *a, const void **data) {
    srs_file_t f;
    srs_status_t st = srs_file_load(ctx, path, &f);
    if (st != SRS_OK) return st;
    npy_hdr_t h;
    st = parse_header(ctx, path, f.data, f.len, &h);
    if (st == SRS_OK) st = parse_descr(ctx, path, h.descr, &a->dtype);
    char shape[MAX_DIMS * 22 + 8];
    if (st == SRS_OK) shape_str(shape, sizeof shape, h.dim, h.ndim);
    if (st == SRS_OK && h.fortran)
        st = srs_fail(ctx, SRS_ERR_BAD_INPUT,
                      "%s: Fortran-order arrays are not supported; save a C-order array "
                      "(numpy.ascontiguousarray)", path);
    if (st == SRS_OK && h.ndim != 2)
        st = srs_fail(ctx, SRS_ERR_BAD_INPUT, "%s: expected a 2-D array [prompts, samples], got shape %s",
                      path, shape);
    if (st == SRS_OK && (h.dim[0] < 1 || h.dim[1] < 1))
        st = srs_fail(ctx, SRS_ERR_BAD_INPUT,
                      "%s: empty array of shape %s: need at least one prompt and one sample", path, shape);
    size_t item = a->dtype == SRS_F32 ? 4 : 8;
    if (st == SRS_OK && h.dim[0] > (int64_t)(SIZE_MAX / item) / h.dim[1])
        st = srs_fail(ctx, SRS_ERR_BAD_INPUT, "%s: shape %s is too large", path, shape);
    if (st != SRS_OK) {
        srs_file_release(&f);
        return st;
    }
    size_t need = (size_t)h.dim[0] * (size_t)h.dim[1] * item;
    size_t have = f.len - h.data_off;
    if (have != need) {  // bytes beyond the shape: a damaged or concatenated file, not one numpy writes
        srs_file_release(&f);
        if (have < need)
            return srs_fail(ctx, SRS_ERR_BAD_INPUT, "%s: truncated: header promises %zu bytes of data, file has %zu",
                            path, need, have);
        return srs_fail(ctx, SRS_ERR_BAD_INPUT,
                        "%s: %zu bytes after the data: the header's shape %s holds %zu bytes, the file has %zu",
                        path, have - need, shape, need, have);
    }
    a->rows = h.dim[0];
    a->cols = h.dim[1];
    const char *p = f.data + h.data_off;
    if ((uintptr_t)p % item != 0) {  // a hand-made header left the data unaligned: copy it
        void *cp = malloc(need);
        if (!cp) {
            srs_file_release(&f);
            return srs_fail(ctx, SRS_ERR_NOMEM, "%s: out of memory", path);
        }
        memcpy(cp, p, need);
        srs_file_release(&f);
        d->owned[k] = cp;
        *data = cp;
        return SRS_OK;
    }
    d->map[k] = f.map;        // the data set owns the mapping (or the buffer) now
    d->map_len[k] = f.map_len;
    d->owned[k] = f.buf;
    *data = p;
    return SRS_OK;
}

static int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

// Maps path and its companions; the batch points into the maps (dense,
// F32/F64 as stored). *out NULL and a message naming the file on failure.
srs_status_t srs_read_npy(srs_ctx_t *ctx, const char *path, const srs_read_opts_t *opts,
                          srs_data_t **out) {
    *out = NULL;
    srs_data_t *d = srs_data_alloc(path);
    if (!d) return srs_fail(ctx, SRS_ERR_NOMEM, "out of memory");
    npy_arr_t a[3];
    const void *data[3] = {NULL, NULL, NULL};
    srs_status_t st = load_array(ctx, path, d, 0, &a[0], &data[0]);
    const char *given[3] = {NULL, opts ? opts->logw_path : NULL, opts ? opts->gold_path : NULL};
    const char *suffix[3] = {NULL, ".logw.npy", ".gold.npy"};
    for (int k = 1; k < 3 && st == SRS_OK; k++) {
        char *def = NULL;
        const char *cp = given[k];
        if (!cp && strcmp(path, "-") != 0) {
            if (!(def = srs_npy_companion(path, suffix[k]))) {
                st = srs_fail(ctx, SRS_ERR_NOMEM, "out of memory");
                break;
            }
            if (file_exists(def)) cp = def;
        }
        if (cp) {
            st = load_array(ctx, cp, d, k, &a[k], &data[k]);
            if (st == SRS_OK && (a[k].rows != a[0].rows || a[k].cols != a[0].cols))
                st = srs_fail(ctx, SRS_ERR_BAD_INPUT, "%s: shape (%lld, %lld) does not match rewards (%lld, %lld)",
                              cp, (long long)a[k].rows, (long long)a[k].cols, (long long)a[0].rows,
                              (long long)a[0].cols);
        }
        free(def);
    }
    if (st != SRS_OK) {
        srs_data_free(d);
        return st;
    }
    d->batch.n_prompts = a[0].rows;
    d->batch.row_len = a[0].cols;
    d->batch.reward = (srs_vec_t){data[0], a[0].dtype};
    d->batch.logw = (srs_vec_t){data[1], data[1] ? a[1].dtype : SRS_F64};
    d->batch.gold = (srs_vec_t){data[2], data[2] ? a[2].dtype : SRS_F64};
    *out = d;
    return SRS_OK;
}

// ----------------------------------------------------------------------------
// writing

// Writes a version 1.0 header for a C-order [rows, cols] array; returns its size.
size_t srs_npy_header(char *buf, const char *descr, int64_t rows, int64_t cols) {
    char dict[160];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%lld, %lld), }",
                     descr, (long long)rows, (long long)cols);
    size_t total = 10 + (size_t)n + 1;  // magic, version, length, dict, '\n'
    size_t pad = (64 - total % 64) % 64;
    size_t hl = (size_t)n + pad + 1;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (char)(hl & 0xff);
    buf[9] = (char)(hl >> 8);
    memcpy(buf + 10, dict, (size_t)n);
    memset(buf + 10 + n, ' ', pad);
    buf[10 + hl - 1] = '\n';
    return 10 + hl;
}

// Writes n values of v as raw little-endian dtype, converting in chunks.
void srs_npy_put(FILE *f, srs_vec_t v, int64_t n, srs_dtype_t dtype) {
    if (v.dtype == dtype) {
        fwrite_unlocked(v.data, dtype == SRS_F32 ? 4 : 8, (size_t)n, f);
        return;
    }
    enum { CHUNK = 4096 };
    union {
        float f32[CHUNK];
        double f64[CHUNK];
    } buf;
    for (int64_t i = 0; i < n; i += CHUNK) {
        int64_t m = n - i < CHUNK ? n - i : CHUNK;
        if (dtype == SRS_F32) {
            const double *src = (const double *)v.data + i;
            for (int64_t j = 0; j < m; j++) buf.f32[j] = (float)src[j];
            fwrite_unlocked(buf.f32, 4, (size_t)m, f);
        } else {
            const float *src = (const float *)v.data + i;
            for (int64_t j = 0; j < m; j++) buf.f64[j] = src[j];
            fwrite_unlocked(buf.f64, 8, (size_t)m, f);
        }
    }
}

// "<path without .npy><suffix>", malloc'd; NULL on OOM.
char *srs_npy_companion(const char *path, const char *suffix) {
    size_t n = strlen(path);
    if (n >= 4 && strcasecmp(path + n - 4, ".npy") == 0) n -= 4;
    size_t s = strlen(suffix);
    char *p = malloc(n + s + 1);
    if (!p) return NULL;
    memcpy(p, path, n);
    memcpy(p + n, suffix, s + 1);
    return p;
}

// ----------------------------------------------------------------------------
// matrices of any float type (srs score: hidden states and reward heads)

// Loads a 1-D or 2-D C-order NPY array of float32 '<f4', float64 '<f8',
// float16 '<f2' or bfloat16 ('bfloat16', or the raw '<V2'/'|V2' that
// ml_dtypes arrays are saved as) into a malloc'd copy. A 1-D array of n is
// returned as (n, 1). Free m->data with free().
srs_status_t srs_npy_load_matrix(srs_ctx_t *ctx, const char *path, srs_npy_mat_t *m) {
    return srs_npy_load_matrix_rows(ctx, path, 0, -1, NULL, m);
}

// Rows [r0, r1) only (r1 < 0: to the end; r0 = r1 = 0: none, to learn the
// count): m->rows = r1 - r0, *total (may be NULL) the file's row count. The
// file is memory-mapped, so only those rows' pages are read (an MPI rank's
// share of a large file).
srs_status_t srs_npy_load_matrix_rows(srs_ctx_t *ctx, const char *path, int64_t r0, int64_t r1, int64_t *total,
                                      srs_npy_mat_t *m) {
    memset(m, 0, sizeof *m);
    srs_file_t f;
    srs_status_t st = srs_file_load(ctx, path, &f);
    if (st != SRS_OK) return st;
    npy_hdr_t h;
    st = parse_header(ctx, path, f.data, f.len, &h);
    if (st != SRS_OK) goto out;
    const char *s = h.descr;
    if (*s == '<' || *s == '|' || *s == '=') s++;
    if (!strcmp(s, "f4")) m->kind = SRS_NPY_F32;
    else if (!strcmp(s, "f8")) m->kind = SRS_NPY_F64;
    else if (!strcmp(s, "f2")) m->kind = SRS_NPY_F16;
    else if (!strcmp(s, "bfloat16") || !strcmp(s, "V2")) m->kind = SRS_NPY_BF16;
    else {
        st = srs_fail(ctx, SRS_ERR_BAD_INPUT,
                      "%s: dtype '%s' is not supported (need float32, float64, float16 or bfloat16)", path, h.descr);
        goto out;
    }
    if (h.descr[0] == '>') {
        st = srs_fail(ctx, SRS_ERR_BAD_INPUT, "%s: big-endian dtype '%s' is not supported", path, h.descr);
        goto out;
    }
    if (h.fortran || h.ndim < 1 || h.ndim > 2 || h.dim[0] < 1 || (h.ndim == 2 && h.dim[1] < 1)) {
        st = srs_fail(ctx, SRS_ERR_BAD_INPUT, "%s: expected a non-empty C-order 1-D or 2-D array", path);
        goto out;
    }
    int64_t all_rows = h.dim[0];
    m->cols = h.ndim == 2 ? h.dim[1] : 1;
    if (total) *total = all_rows;
    size_t item = m->kind == SRS_NPY_F64 ? 8 : m->kind == SRS_NPY_F32 ? 4 : 2;
    if (all_rows > (int64_t)(SIZE_MAX / item) / m->cols) {
        st = srs_fail(ctx, SRS_ERR_BAD_INPUT, "%s: array too large", path);
        goto out;
    }
    size_t need = (size_t)all_rows * (size_t)m->cols * item;
    if (f.len - h.data_off < need) {
        st = srs_fail(ctx, SRS_ERR_BAD_INPUT, "%s: truncated: header promises %zu bytes of data, file has %zu", path,
                      need, f.len - h.data_off);
        goto out;
    }
    if (f.len - h.data_off > need) {  // as load_array: a damaged or concatenated file
        st = srs_fail(ctx, SRS_ERR_BAD_INPUT, "%s: %zu bytes after the data: the header's shape holds %zu bytes, the file has %zu",
                      path, f.len - h.data_off - need, need, f.len - h.data_off);
        goto out;
    }
    if (r1 < 0) r1 = all_rows;
    if (r0 < 0 || r0 > r1 || r1 > all_rows) {
        st = srs_fail(ctx, SRS_ERR_INVALID_ARG, "%s: rows [%lld, %lld) outside the %lld rows", path, (long long)r0,
                      (long long)r1, (long long)all_rows);
        goto out;
    }
    m->rows = r1 - r0;
    size_t row_bytes = (size_t)m->cols * item, want = (size_t)m->rows * row_bytes;
    if (!(m->data = malloc(want ? want : 1))) {
        st = srs_fail(ctx, SRS_ERR_NOMEM, "%s: out of memory", path);
        goto out;
    }
    memcpy(m->data, f.data + h.data_off + (size_t)r0 * row_bytes, want);
out:
    srs_file_release(&f);
    return st;
}
