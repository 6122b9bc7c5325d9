// io_csv.c — CSV data sets in long format: a header
//   prompt_id,reward[,gold][,logw]   (gold and logw in either order)
// then one sample per line; the samples of one prompt on consecutive lines.
// Fields are separated by commas and may be double-quoted ("" for a quote,
// commas and line breaks allowed inside); CRLF line ends and blank lines are
// tolerated. Numbers are decimal (strtod, which must fill the field; its
// hexadecimal floats are refused). A NUL byte anywhere is an error (a
// binary or UTF-16 file: fields are C strings, and "p\0a" would read as
// "p"), and so is a prompt_id that is not valid UTF-8 (it could not be
// written to JSONL).
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "io.h"

#define MAX_FIELDS 8   // more than any valid header; extra fields are only counted

// ----------------------------------------------------------------------------
// records

typedef struct {
    srs_ctx_t *ctx;
    const char *path;
    const char *p, *end;      // cursor into the file
    int64_t ln;               // 1-based line of the cursor
    char *sc;                 // unescaped fields of the current record, NUL-separated
    int64_t sc_len, sc_cap;
    int64_t fo[MAX_FIELDS];   // offsets of the fields in sc
    int nf;                   // number of fields in the record
} csv_t;

static int sc_put(csv_t *c, const char *s, size_t n) {
    if (srs_grow((void **)&c->sc, &c->sc_cap, c->sc_len + (int64_t)n + 1, 1) != 0) return -1;
    memcpy(c->sc + c->sc_len, s, n);
    c->sc_len += (int64_t)n;
    return 0;
}

static const char *field(const csv_t *c, int i) { return c->sc + c->fo[i]; }

static srs_status_t oom(csv_t *c) {
    return srs_fail(c->ctx, SRS_ERR_NOMEM, "%s:%lld: out of memory", c->path, (long long)c->ln);
}

static srs_status_t nul_byte(csv_t *c) {
    return srs_fail(c->ctx, SRS_ERR_BAD_INPUT,
                    "%s:%lld: a NUL byte (CSV is text: is this a binary file, or UTF-16?)", c->path,
                    (long long)c->ln);
}

// Parses the record at the cursor into c->sc / c->fo / c->nf and moves past
// its line end. rec_line: the line it starts on (for messages).
static srs_status_t parse_record(csv_t *c, int64_t rec_line) {
    const char *p = c->p, *end = c->end;
    c->sc_len = 0;
    c->nf = 0;
    for (;;) {
        if (c->nf < MAX_FIELDS) c->fo[c->nf] = c->sc_len;
        const char *q = p;
        while (q < end && (*q == ' ' || *q == '\t')) q++;
        if (q < end && *q == '"') {  // quoted: up to the closing quote
            for (p = q + 1;; p++) {
                if (p >= end)
                    return srs_fail(c->ctx, SRS_ERR_BAD_INPUT, "%s:%lld: unterminated quoted field",
                                    c->path, (long long)rec_line);
                if (*p == '"') {
                    if (p + 1 < end && p[1] == '"') p++;  // "" is one quote
                    else break;
                }
                if (*p == '\n') c->ln++;
                if (*p == '\0') return nul_byte(c);
                if (sc_put(c, p, 1) != 0) return oom(c);
            }
            p++;
            while (p < end && (*p == ' ' || *p == '\t')) p++;
            if (p < end && *p == '\0') return nul_byte(c);
            if (p < end && *p != ',' && *p != '\n' && !(*p == '\r' && (p + 1 == end || p[1] == '\n')))
                return srs_fail(c->ctx, SRS_ERR_BAD_INPUT,
                                "%s:%lld: unexpected character '%c' after a closing quote", c->path,
                                (long long)c->ln, *p);
        } else {
            const char *s = p;
            while (p < end && *p != ',' && *p != '\n') p++;
            size_t n = (size_t)(p - s);
            if (memchr(s, '\0', n)) return nul_byte(c);
            if (n && s[n - 1] == '\r' && (p == end || *p == '\n')) n--;  // CRLF
            if (sc_put(c, s, n) != 0) return oom(c);
        }
        if (sc_put(c, "", 1) != 0) return oom(c);  // the NUL
        c->nf++;
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        if (p < end && *p == '\r') p++;
        if (p < end && *p == '\n') {
            p++;
            c->ln++;
        }
        break;
    }
    c->p = p;
    return SRS_OK;
}

// Skips blank lines; 0 at end of file, else 1 with the cursor on a record.
static int next_record(csv_t *c) {
    for (;;) {
        const char *q = c->p;
        while (q < c->end && (*q == ' ' || *q == '\t' || *q == '\r')) q++;
        if (q == c->end) return 0;
        if (*q != '\n') return 1;
        c->p = q + 1;
        c->ln++;
    }
}

// ----------------------------------------------------------------------------
// fields

static const char *const col_name[3] = {"reward", "logw", "gold"};  // order of srs_data.owned

// strtod over the whole field, spaces around allowed.
static srs_status_t parse_num(csv_t *c, int64_t ln, int k, const char *s, double *x) {
    const char *t = s;
    while (*t == ' ' || *t == '\t') t++;
    if (!*t)
        return srs_fail(c->ctx, SRS_ERR_BAD_INPUT, "%s:%lld: empty \"%s\"", c->path, (long long)ln,
                        col_name[k]);
    char *e;
    double v = strtod(t, &e);
    const char *u = e;
    while (*u == ' ' || *u == '\t') u++;
    if (e == t || *u)
        return srs_fail(c->ctx, SRS_ERR_BAD_INPUT, "%s:%lld: \"%s\" is not a number: \"%.40s\"",
                        c->path, (long long)ln, col_name[k], s);
    if (memchr(t, 'x', (size_t)(e - t)) || memchr(t, 'X', (size_t)(e - t)))
        return srs_fail(c->ctx, SRS_ERR_BAD_INPUT,
                        "%s:%lld: \"%s\" is a hexadecimal number: \"%.40s\" (CSV numbers are decimal)", c->path,
                        (long long)ln, col_name[k], s);
    if (!isfinite(v))
        return srs_fail(c->ctx, SRS_ERR_BAD_INPUT, "%s:%lld: non-finite \"%s\": \"%.40s\"", c->path,
                        (long long)ln, col_name[k], s);
    *x = v;
    return SRS_OK;
}

static void trim(char *s) {
    size_t n = strlen(s), a = 0;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    while (a < n && (s[a] == ' ' || s[a] == '\t')) a++;
    memmove(s, s + a, n - a);
    s[n - a] = '\0';
}

// Reads the header into colk[] (the builder array of each column after the
// id; 0 reward, 1 logw, 2 gold) and *ncols.
static srs_status_t parse_header(csv_t *c, srs_bld_t *b, int colk[MAX_FIELDS], int *ncols) {
    const char *expect = "expected prompt_id,reward[,gold][,logw]";
    if (!next_record(c))
        return srs_fail(c->ctx, SRS_ERR_BAD_INPUT, "%s: no prompts (the file is empty; %s)", c->path, expect);
    int64_t ln = c->ln;
    srs_status_t st = parse_record(c, ln);
    if (st != SRS_OK) return st;
    if (c->nf > 4)
        return srs_fail(c->ctx, SRS_ERR_BAD_INPUT, "%s:%lld: %d columns in the header, %s", c->path,
                        (long long)ln, c->nf, expect);
    for (int i = 0; i < c->nf; i++) trim(c->sc + c->fo[i]);
    if (strcmp(field(c, 0), "prompt_id") != 0)
        return srs_fail(c->ctx, SRS_ERR_BAD_INPUT, "%s:%lld: the first column must be \"prompt_id\", got \"%s\" (%s)",
                        c->path, (long long)ln, field(c, 0), expect);
    if (c->nf < 2 || strcmp(field(c, 1), "reward") != 0)
        return srs_fail(c->ctx, SRS_ERR_BAD_INPUT, "%s:%lld: the second column must be \"reward\"%s%s%s (%s)",
                        c->path, (long long)ln, c->nf < 2 ? "" : ", got \"", c->nf < 2 ? "" : field(c, 1),
                        c->nf < 2 ? "" : "\"", expect);
    colk[1] = 0;
    for (int i = 2; i < c->nf; i++) {
        const char *name = field(c, i);
        int k = strcmp(name, "logw") == 0 ? 1 : strcmp(name, "gold") == 0 ? 2 : -1;
        if (k < 0)
            return srs_fail(c->ctx, SRS_ERR_BAD_INPUT, "%s:%lld: unknown column \"%s\" (%s)", c->path,
                            (long long)ln, name, expect);
        if (b->has[k])
            return srs_fail(c->ctx, SRS_ERR_BAD_INPUT, "%s:%lld: column \"%s\" appears twice", c->path,
                            (long long)ln, name);
        b->has[k] = 1;
        colk[i] = k;
    }
    *ncols = c->nf;
    return SRS_OK;
}

// ----------------------------------------------------------------------------
// reader

// 1 when s is a canonical decimal integer of at most 18 digits ("0", "-12",
// not "007", "+1" or "-0"): CSV has no types, so such an id is taken as the
// number it spells, as JSONL's integer ids are. Written back to JSONL it is a
// bare number, and JSONL -> CSV -> JSONL keeps numeric ids numeric.
static int is_int_text(const char *s) {
    if (strcmp(s, "0") == 0) return 1;
    if (*s == '-') s++;
    if (*s < '1' || *s > '9') return 0;
    size_t n = 0;
    for (; *s; s++, n++)
        if (*s < '0' || *s > '9') return 0;
    return n <= 18;
}

// The records after the header (colk, ncols: what parse_header found).
static srs_status_t read_rows(csv_t *c, srs_bld_t *b, srs_idset_t *seen, const int colk[MAX_FIELDS],
                              int ncols) {
    srs_status_t st = SRS_OK;
    while (st == SRS_OK && next_record(c)) {
        int64_t ln = c->ln;
        if ((st = parse_record(c, ln)) != SRS_OK) break;
        if (c->nf != ncols) {
            st = srs_fail(c->ctx, SRS_ERR_BAD_INPUT, "%s:%lld: expected %d fields, got %d", c->path,
                          (long long)ln, ncols, c->nf);
            break;
        }
        const char *id = field(c, 0);
        int64_t r = b->n_rows;
        if (r == 0 || strcmp(b->ids + b->id_off[r - 1], id) != 0) {  // a new prompt
            int64_t bad = srs_utf8_invalid(id, strlen(id));
            if (bad >= 0)
                return srs_fail(c->ctx, SRS_ERR_BAD_INPUT,
                                "%s:%lld: prompt_id is not valid UTF-8 (byte 0x%02x at offset %lld of the field)",
                                c->path, (long long)ln, (unsigned)(unsigned char)id[bad], (long long)bad);
            if (srs_bld_row(b, id, strlen(id), is_int_text(id), ln) != 0) return oom(c);
            int64_t j = srs_idset_add(seen, b->ids, b->id_off, r);
            if (j == -2) return oom(c);
            if (j >= 0) return srs_fail_dup_id(c->ctx, SRS_FMT_CSV, c->path, ln, id, 0, b->line[j], 0);
        }
        if (srs_bld_reserve(b, 1) != 0) return oom(c);
        for (int i = 1; i < ncols && st == SRS_OK; i++)
            st = parse_num(c, ln, colk[i], field(c, i), &b->val[colk[i]][b->n_samples]);
        b->n_samples++;
    }
    return st;
}

// Reads a long-format CSV data set (F64 CSR, ids, first lines); *out NULL
// and a message "FILE:LINE: ..." on bad input.
srs_status_t srs_read_csv(srs_ctx_t *ctx, const char *path, srs_data_t **out) {
    srs_text_part_t whole = {0, -1, 0, 0, 1, 0};   // end -1: the whole file
    return srs_read_csv_part(ctx, path, &whole, out);
}

// A cursor over the whole of f, past a byte-order mark.
static void csv_begin(csv_t *c, srs_ctx_t *ctx, const char *path, const srs_file_t *f) {
    memset(c, 0, sizeof *c);
    c->ctx = ctx;
    c->path = path;
    c->p = f->data;
    c->end = f->data + f->len;
    c->ln = 1;
    if (f->len >= 3 && memcmp(c->p, "\xEF\xBB\xBF", 3) == 0) c->p += 3;  // UTF-8 byte-order mark
}

// Reads part p (end -1: the whole file, as srs_read_csv). Every part reads
// the header at the top of the file for its columns, then its own records.
srs_status_t srs_read_csv_part(srs_ctx_t *ctx, const char *path, const srs_text_part_t *p,
                               srs_data_t **out) {
    *out = NULL;
    srs_file_t f;
    srs_status_t st = srs_file_load(ctx, path, &f);
    if (st != SRS_OK) return st;
    int whole = p->end < 0;
    csv_t c;
    csv_begin(&c, ctx, path, &f);
    srs_bld_t b;
    memset(&b, 0, sizeof b);
    b.row_base = p->row_base;
    b.allow_empty = !whole;
    srs_idset_t seen = {0};
    int colk[MAX_FIELDS] = {0}, ncols = 0;
    if (!whole && (p->start < 0 || p->end > (int64_t)f.len || p->start > p->end))
        st = srs_fail(ctx, SRS_ERR_IO, "%s: changed while it was read (part [%lld, %lld) of %zu bytes)",
                      path, (long long)p->start, (long long)p->end, f.len);
    else
        st = parse_header(&c, &b, colk, &ncols);
    if (st == SRS_OK && !whole) {
        if (p->start > c.p - f.data) {  // a later part: its own records only
            c.p = f.data + p->start;
            c.ln = p->first_line;
        }
        // A record may not run past the part: the next part starts there.
        c.end = f.data + p->end;
    }
    if (st == SRS_OK) st = read_rows(&c, &b, &seen, colk, ncols);
    srs_idset_free(&seen);
    free(c.sc);
    srs_file_release(&f);
    if (st != SRS_OK) {
        srs_bld_free(&b);
        return st;
    }
    return srs_bld_finish(ctx, &b, path, out);
}

// 1 when the line at p (up to the next '\n') holds only spaces, tabs and
// CRs: next_record skips such lines.
static int blank_line(const char *p, const char *end) {
    for (; p < end && *p != '\n'; p++)
        if (*p != ' ' && *p != '\t' && *p != '\r') return 0;
    return 1;
}

// Start of the line after the one at position at (len at the end).
static int64_t next_line(const srs_file_t *f, int64_t at) {
    const char *nl = memchr(f->data + at, '\n', f->len - (size_t)at);
    return nl ? nl - f->data + 1 : (int64_t)f->len;
}

// The prompt_id of the record at byte at (malloc'd), or NULL when it does
// not parse (the reader then reports it).
static char *id_at(const srs_file_t *f, int64_t at) {
    csv_t c;
    csv_begin(&c, NULL, "", f);
    c.p = f->data + at;
    char *id = NULL;
    if (parse_record(&c, 1) == SRS_OK) id = strdup(field(&c, 0));
    free(c.sc);
    return id;
}

// Where a part boundary near byte b falls: the first record at or after b
// whose prompt_id differs from the previous record's, so that a prompt's
// lines stay in one part. hdr_end: first byte after the header.
static int64_t csv_cut(const srs_file_t *f, int64_t hdr_end, int64_t b) {
    int64_t len = (int64_t)f->len;
    if (b <= hdr_end) return hdr_end;
    int64_t at = f->data[b - 1] == '\n' ? b : next_line(f, b);
    int64_t prev = -1;  // the record before at
    for (int64_t q = at - 1; q > hdr_end;) {  // back to the previous non-blank line
        int64_t s = q;
        while (s > hdr_end && f->data[s - 1] != '\n') s--;
        if (!blank_line(f->data + s, f->data + len)) {
            prev = s;
            break;
        }
        q = s - 1;
    }
    char *prev_id = prev >= 0 ? id_at(f, prev) : NULL;
    for (;;) {
        while (at < len && blank_line(f->data + at, f->data + len)) at = next_line(f, at);
        if (at >= len || prev < 0) break;
        char *id = id_at(f, at);
        int same = id && prev_id && strcmp(id, prev_id) == 0;
        free(prev_id);
        prev_id = id;
        if (!same) break;
        at = next_line(f, at);
    }
    free(prev_id);
    return at < len ? at : len;
}

// Bounds of part k of a CSV file (see io.h): rank 0's part holds the header.
srs_status_t srs_csv_part_bounds(srs_ctx_t *ctx, const char *path, int64_t k, int64_t parts,
                                 srs_text_part_t *out) {
    srs_file_t f;
    srs_status_t st = srs_file_load(ctx, path, &f);
    if (st != SRS_OK) return st;
    csv_t c;
    csv_begin(&c, ctx, path, &f);
    srs_bld_t b;
    memset(&b, 0, sizeof b);
    int colk[MAX_FIELDS] = {0}, ncols = 0;
    st = parse_header(&c, &b, colk, &ncols);
    int64_t hdr_end = c.p - f.data, len = (int64_t)f.len;
    free(c.sc);
    if (st == SRS_OK) {
        int64_t cut[2];
        for (int j = 0; j < 2; j++) {
            int64_t i = k + j;
            cut[j] = i == 0 ? 0 : i == parts ? len : csv_cut(&f, hdr_end, (int64_t)((__int128)len * i / parts));
        }
        out->start = cut[0];
        out->end = cut[1];
        out->newlines = out->records = 0;
        for (const char *p = f.data + out->start, *e = f.data + out->end;
             p < e && (p = memchr(p, '\n', (size_t)(e - p))); p++)
            out->newlines++;
    }
    srs_file_release(&f);
    return st;
}

// ----------------------------------------------------------------------------
// writer

// The sample lines of rows [r0, r1) of data set arg.
static void emit_rows(void *arg, FILE *f, int64_t r0, int64_t r1) {
    const srs_data_t *d = arg;
    const srs_batch_t *b = &d->batch;
    for (int64_t i = r0; i < r1; i++) {
        int64_t s, n;
        SRS_ROW(b, i, s, n);
        for (int64_t j = s; j < s + n; j++) {
            srs_put_id(f, d, i, 0);
            putc_unlocked(',', f);
            srs_put_double(f, srs_vec_at(b->reward, j));
            if (b->gold.data) {
                putc_unlocked(',', f);
                srs_put_double(f, srs_vec_at(b->gold, j));
            }
            if (b->logw.data) {
                putc_unlocked(',', f);
                srs_put_double(f, srs_vec_at(b->logw, j));
            }
            putc_unlocked('\n', f);
        }
    }
}

// Header prompt_id,reward[,gold][,logw], then one line per sample.
void srs_write_csv(FILE *f, const srs_data_t *d, int threads) {
    const srs_batch_t *b = &d->batch;
    fputs_unlocked("prompt_id,reward", f);
    if (b->gold.data) fputs_unlocked(",gold", f);
    if (b->logw.data) fputs_unlocked(",logw", f);
    putc_unlocked('\n', f);
    int64_t values = srs_batch_n_samples(b) * (1 + !!b->gold.data + !!b->logw.data);
    srs_emit_rows(f, threads, b->n_prompts, values, emit_rows, (void *)d);
}
