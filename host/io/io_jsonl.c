// io_jsonl.c — JSONL data sets: one prompt per line,
//   {"prompt_id": str|int, "rewards": [..], "gold": [..]?, "logw": [..]?}
// Lines are parsed by jansson (json_loadb on each line, no copy); the rows go
// into an F64 CSR data set through the row builder. Any other key is an
// error (as an unknown CSV column is): a mistyped "id" would otherwise
// silently number the prompts by row. Prompt ids are unique (a line without
// one takes its row index as its id).
// Layering: a per-format reader and writer (io.h); calls only the lower
// layer (rows.h: row builder, file loading, output helpers), never data.c's
// dispatch above it.
#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "io.h"

// ----------------------------------------------------------------------------
// error messages for lines jansson rejects

// The key of the last `"key":` before pos in s (by a light scan that only
// tracks strings; good enough to name the array a bad token sits in).
static int key_before(const char *s, size_t pos, const char **key, size_t *klen) {
    const char *str = NULL, *k = NULL;
    size_t sl = 0, kl = 0;
    for (size_t i = 0; i < pos; i++) {
        if (s[i] == '"') {
            size_t j = i + 1;
            while (j < pos && s[j] != '"') j += s[j] == '\\' ? 2 : 1;
            str = s + i + 1;
            sl = j - i - 1;
            i = j;
        } else if (s[i] == ':' && str) {
            k = str;
            kl = sl;
            str = NULL;
        } else if (!isspace((unsigned char)s[i])) {
            str = NULL;
        }
    }
    *key = k;
    *klen = kl;
    return k != NULL;
}

// Offset of a bare NaN / Infinity / -Infinity / inf token outside strings
// (the tokens other JSON writers emit for non-finite floats), or -1.
static long find_nonfinite(const char *s, size_t n) {
    static const char *const words[] = {"nan", "infinity", "inf"};
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') {
            size_t j = i + 1;
            while (j < n && s[j] != '"') j += s[j] == '\\' ? 2 : 1;
            i = j;
            continue;
        }
        if (!isalpha((unsigned char)s[i]) || (i > 0 && isalnum((unsigned char)s[i - 1]))) continue;
        size_t j = i;
        while (j < n && isalpha((unsigned char)s[j])) j++;
        for (size_t w = 0; w < sizeof words / sizeof words[0]; w++)
            if (j - i == strlen(words[w]) && strncasecmp(s + i, words[w], j - i) == 0)
                return (long)i;
        i = j;
    }
    return -1;
}

static srs_status_t fail_parse(srs_ctx_t *ctx, const char *path, int64_t ln, const char *s,
                               size_t n, const json_error_t *e) {
    const char *key;
    size_t kl;
    long at = find_nonfinite(s, n);
    if (at >= 0) {
        if (key_before(s, (size_t)at, &key, &kl))
            return srs_fail(ctx, SRS_ERR_BAD_INPUT,
                            "%s:%lld: non-finite value (NaN or Infinity) in \"%.*s\"", path,
                            (long long)ln, (int)kl, key);
        return srs_fail(ctx, SRS_ERR_BAD_INPUT, "%s:%lld: non-finite value (NaN or Infinity)",
                        path, (long long)ln);
    }
    if (strncmp(e->text, "real number overflow", 20) == 0) {
        size_t pos = e->position > 0 && (size_t)e->position <= n ? (size_t)e->position : n;
        if (key_before(s, pos, &key, &kl))
            return srs_fail(ctx, SRS_ERR_BAD_INPUT,
                            "%s:%lld: number too large for a double (it would be infinite) in "
                            "\"%.*s\": %s",
                            path, (long long)ln, (int)kl, key, e->text);
    }
    return srs_fail(ctx, SRS_ERR_BAD_INPUT, "%s:%lld: malformed JSON: %s (column %d)", path,
                    (long long)ln, e->text, e->column);
}

static const char *json_kind(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a real number";
    case JSON_TRUE: case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

// ----------------------------------------------------------------------------
// reader

static const char *const arr_key[3] = {"rewards", "logw", "gold"};  // order of srs_data.owned

typedef struct {
    srs_ctx_t *ctx;
    const char *path;
    srs_bld_t b;
    srs_idset_t seen;  // rows with an explicit prompt_id
} jl_t;

// 1 when s is how a row index is written ("0", "17", "-3": what
// fill_row_ids writes), and its value in *k.
static int index_text(const char *s, long long *k) {
    const char *t = s + (*s == '-');
    if (!(*t >= '1' && *t <= '9') && strcmp(s, "0") != 0) return 0;
    size_t n = strlen(t);
    if (n > 18 || strspn(t, "0123456789") != n) return 0;
    *k = strtoll(s, NULL, 10);
    return 1;
}

// Row r (just added, id text in the builder, explicit unless id_num is 2)
// against the rows before it: an explicit id seen before, or equal to the
// row index of an earlier row without one; a row without one whose index
// an earlier line gave as its id.
static srs_status_t check_unique(jl_t *r, int64_t ln) {
    srs_bld_t *b = &r->b;
    const int64_t row = b->n_rows - 1;
    int64_t first = -1;
    char idx[24];
    const char *id = b->ids + b->id_off[row];
    if (b->id_num[row] == 2) {  // no prompt_id: the row index
        snprintf(idx, sizeof idx, "%lld", (long long)(b->row_base + row));
        first = srs_idset_find(&r->seen, b->ids, b->id_off, idx);
        id = idx;
    } else {
        first = srs_idset_add(&r->seen, b->ids, b->id_off, row);
        if (first == -2) return srs_fail(r->ctx, SRS_ERR_NOMEM, "%s:%lld: out of memory", r->path, (long long)ln);
        long long k;
        if (first < 0 && index_text(id, &k) && k >= b->row_base && k - b->row_base < row &&
            b->id_num[k - b->row_base] == 2)
            first = k - b->row_base;
    }
    if (first < 0) return SRS_OK;
    return srs_fail_dup_id(r->ctx, SRS_FMT_JSONL, r->path, ln, id, b->id_num[row] != 0, b->line[first],
                           b->id_num[row] == 2 || b->id_num[first] == 2);
}

// Copies array `key` (k) of line ln into the builder at the current sample
// count; its length must be n (k > 0) or becomes *n (k == 0).
static srs_status_t take_array(jl_t *r, int64_t ln, const json_t *a, int k, size_t *n) {
    const char *key = arr_key[k];
    if (!json_is_array(a))
        return srs_fail(r->ctx, SRS_ERR_BAD_INPUT, "%s:%lld: \"%s\" must be an array of numbers, got %s",
                        r->path, (long long)ln, key, json_kind(a));
    size_t len = json_array_size(a);
    if (k == 0) {
        if (len == 0)
            return srs_fail(r->ctx, SRS_ERR_BAD_INPUT,
                            "%s:%lld: empty \"rewards\" (every prompt needs at least one sample)",
                            r->path, (long long)ln);
        *n = len;
        if (srs_bld_reserve(&r->b, (int64_t)len) != 0)
            return srs_fail(r->ctx, SRS_ERR_NOMEM, "%s:%lld: out of memory", r->path, (long long)ln);
    } else if (len != *n) {
        return srs_fail(r->ctx, SRS_ERR_BAD_INPUT, "%s:%lld: \"%s\" has %zu values but \"rewards\" has %zu",
                        r->path, (long long)ln, key, len, *n);
    }
    double *dst = r->b.val[k] + r->b.n_samples;  // (len,)
    for (size_t j = 0; j < len; j++) {
        const json_t *v = json_array_get(a, j);
        if (!json_is_number(v))
            return srs_fail(r->ctx, SRS_ERR_BAD_INPUT, "%s:%lld: %s[%zu] is not a number (got %s)",
                            r->path, (long long)ln, key, j, json_kind(v));
        double x = json_number_value(v);
        if (!isfinite(x))
            return srs_fail(r->ctx, SRS_ERR_BAD_INPUT, "%s:%lld: non-finite value in %s[%zu]",
                            r->path, (long long)ln, key, j);
        dst[j] = x;
    }
    return SRS_OK;
}

// One parsed line: row n_rows of the data set.
static srs_status_t take_line(jl_t *r, int64_t ln, const json_t *o) {
    if (!json_is_object(o))
        return srs_fail(r->ctx, SRS_ERR_BAD_INPUT, "%s:%lld: expected a JSON object per line, got %s",
                        r->path, (long long)ln, json_kind(o));
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)o, key, val) {
        if (strcmp(key, "prompt_id") && strcmp(key, "rewards") && strcmp(key, "gold") && strcmp(key, "logw"))
            return srs_fail(r->ctx, SRS_ERR_BAD_INPUT,
                            "%s:%lld: unknown key \"%s\" (the keys are \"prompt_id\", \"rewards\", \"gold\" and "
                            "\"logw\")",
                            r->path, (long long)ln, key);
    }
    const json_t *arr[3];
    for (int k = 0; k < 3; k++) arr[k] = json_object_get(o, arr_key[k]);
    if (!arr[0])
        return srs_fail(r->ctx, SRS_ERR_BAD_INPUT, "%s:%lld: missing \"rewards\"", r->path, (long long)ln);
    for (int k = 1; k < 3; k++) {
        if (r->b.n_rows == 0) r->b.has[k] = arr[k] != NULL;  // the first row decides
        else if (arr[k] && !r->b.has[k])
            return srs_fail(r->ctx, SRS_ERR_BAD_INPUT,
                            "%s:%lld: \"%s\" present but earlier lines do not have it", r->path,
                            (long long)ln, arr_key[k]);
        else if (!arr[k] && r->b.has[k])
            return srs_fail(r->ctx, SRS_ERR_BAD_INPUT, "%s:%lld: \"%s\" missing but earlier lines have it",
                            r->path, (long long)ln, arr_key[k]);
    }
    const json_t *id = json_object_get(o, "prompt_id");
    char num[32];
    const char *id_s = NULL;
    size_t id_len = 0;
    int id_num = 0;
    if (json_is_string(id)) {
        id_s = json_string_value(id);
        id_len = json_string_length(id);
    } else if (json_is_integer(id)) {
        id_len = (size_t)snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(id));
        id_s = num;
        id_num = 1;
    } else if (id) {
        return srs_fail(r->ctx, SRS_ERR_BAD_INPUT, "%s:%lld: \"prompt_id\" must be a string or an integer, got %s",
                        r->path, (long long)ln, json_kind(id));
    }
    size_t n = 0;
    srs_status_t st = SRS_OK;
    for (int k = 0; k < 3 && st == SRS_OK; k++)
        if (arr[k]) st = take_array(r, ln, arr[k], k, &n);
    if (st != SRS_OK) return st;
    if (srs_bld_row(&r->b, id_s, id_len, id_num, ln) != 0)
        return srs_fail(r->ctx, SRS_ERR_NOMEM, "%s:%lld: out of memory", r->path, (long long)ln);
    r->b.n_samples += (int64_t)n;
    return check_unique(r, ln);
}

static int blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\f' && s[i] != '\v') return 0;
    return 1;
}

// Parses the lines of bytes [start, end) of f (line numbers from first_line,
// rows from r->b.row_base) into the builder.
static srs_status_t parse_lines(jl_t *r, const srs_file_t *f, int64_t start, int64_t end_off,
                                int64_t first_line) {
    srs_status_t st = SRS_OK;
    const char *p = f->data + start, *end = f->data + end_off;
    if (start == 0 && f->len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3;  // UTF-8 byte-order mark
    for (int64_t ln = first_line; p < end && st == SRS_OK; ln++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        if (!blank(p, n)) {
            json_error_t e;
            json_t *o = json_loadb(p, n, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &e);
            if (!o) st = fail_parse(r->ctx, r->path, ln, p, n, &e);
            else st = take_line(r, ln, o);
            json_decref(o);
        }
        p += n + 1;
    }
    return st;
}

// Reads a JSONL data set (F64 CSR, ids, lines); *out NULL and a message
// "FILE:LINE: ..." on bad input.
//
// One thread: jansson calls localeconv() for every real number and glibc's
// localeconv() rewrites a process-wide struct on each call, so parsing
// slices of the file in several threads was measured slower than one.
// Parses bytes [start, end) of path (end < 0: to the end of the file): rows
// numbered from row_base, lines from first_line; allow_empty admits a range
// with no rows (an MPI rank's empty part).
static srs_status_t read_range(srs_ctx_t *ctx, const char *path, int64_t start, int64_t end,
                               int64_t first_line, int64_t row_base, int allow_empty, srs_data_t **out) {
    *out = NULL;
    srs_file_t f;
    srs_status_t st = srs_file_load(ctx, path, &f);
    if (st != SRS_OK) return st;
    jl_t r;
    memset(&r, 0, sizeof r);
    r.ctx = ctx;
    r.path = path;
    r.b.row_base = row_base;
    r.b.allow_empty = allow_empty;
    if (end < 0) end = (int64_t)f.len;
    if (start < 0 || end > (int64_t)f.len || start > end)
        st = srs_fail(ctx, SRS_ERR_IO, "%s: changed while it was read (part [%lld, %lld) of %zu bytes)", path,
                      (long long)start, (long long)end, f.len);
    else
        st = parse_lines(&r, &f, start, end, first_line);
    srs_file_release(&f);
    srs_idset_free(&r.seen);
    if (st != SRS_OK) {
        srs_bld_free(&r.b);
        return st;
    }
    return srs_bld_finish(ctx, &r.b, path, out);
}

srs_status_t srs_read_jsonl(srs_ctx_t *ctx, const char *path, srs_data_t **out) {
    return read_range(ctx, path, 0, -1, 1, 0, 0, out);
}

// Part k of the file: from the first line start at or after k*len/parts
// (a line starts at 0 or after a '\n'), so that every process finds the
// same boundaries; line breaks and non-blank lines of the part counted.
static void jsonl_bounds(const srs_file_t *f, int64_t k, int64_t parts, srs_text_part_t *o) {
    int64_t len = (int64_t)f->len;
    int64_t cut[2];
    for (int j = 0; j < 2; j++) {
        int64_t b = (int64_t)((__int128)len * (k + j) / parts);
        if (b > 0 && b < len && f->data[b - 1] != '\n') {
            const char *nl = memchr(f->data + b, '\n', (size_t)(len - b));
            b = nl ? nl - f->data + 1 : len;
        }
        cut[j] = b;
    }
    o->start = cut[0];
    o->end = cut[1];
    o->newlines = o->records = 0;
    for (const char *p = f->data + o->start, *end = f->data + o->end; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        const char *q = p;
        if (o->start == 0 && p == f->data && n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) q += 3, n -= 3;
        o->records += !blank(q, n);
        o->newlines += nl != NULL;
        p = nl ? nl + 1 : end;
    }
}

// Bounds of part k of a JSONL file (see io.h).
srs_status_t srs_jsonl_part_bounds(srs_ctx_t *ctx, const char *path, int64_t k, int64_t parts,
                                   srs_text_part_t *out) {
    srs_file_t f;
    srs_status_t st = srs_file_load(ctx, path, &f);
    if (st != SRS_OK) return st;
    jsonl_bounds(&f, k, parts, out);
    srs_file_release(&f);
    return SRS_OK;
}

// Reads part p of a JSONL file (see io.h).
srs_status_t srs_read_jsonl_part(srs_ctx_t *ctx, const char *path, const srs_text_part_t *p,
                                 srs_data_t **out) {
    return read_range(ctx, path, p->start, p->end, p->first_line, p->row_base, 1, out);
}

// ----------------------------------------------------------------------------
// writer

static void put_array(FILE *f, const char *key, srs_vec_t v, int64_t s, int64_t n) {
    fputs_unlocked(key, f);
    for (int64_t j = 0; j < n; j++) {
        if (j) fputs_unlocked(", ", f);
        srs_put_double(f, srs_vec_at(v, s + j));
    }
    putc_unlocked(']', f);
}

// Rows [r0, r1) of data set arg.
static void emit_rows(void *arg, FILE *f, int64_t r0, int64_t r1) {
    const srs_data_t *d = arg;
    const srs_batch_t *b = &d->batch;
    for (int64_t i = r0; i < r1; i++) {
        int64_t s, n;
        SRS_ROW(b, i, s, n);
        fputs_unlocked("{\"prompt_id\": ", f);
        srs_put_id(f, d, i, 1);
        put_array(f, ", \"rewards\": [", b->reward, s, n);
        if (b->gold.data) put_array(f, ", \"gold\": [", b->gold, s, n);
        if (b->logw.data) put_array(f, ", \"logw\": [", b->logw, s, n);
        fputs_unlocked("}\n", f);
    }
}

// One line per row: prompt_id, rewards, then gold and logw when present.
void srs_write_jsonl(FILE *f, const srs_data_t *d, int threads) {
    const srs_batch_t *b = &d->batch;
    int64_t values = srs_batch_n_samples(b) * (1 + !!b->gold.data + !!b->logw.data);
    srs_emit_rows(f, threads, b->n_prompts, values, emit_rows, (void *)d);
}
