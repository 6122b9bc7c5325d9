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
// Layering: a per-format reader and writer (io.h); calls only the lower
// layer (rows.h: row builder, file loading, output helpers), never data.c's
// dispatch above it.
#include <ctype.h>
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
            if (p < end && *p != ',' && *p != '\n' && !(*p == '\r' && (p + 1 == end || p[1] == '\n'))) {
                const unsigned char ch = (unsigned char)*p;
                if (ch < 0x20 || ch >= 0x7f)  // not printable as is (a CR, a UTF-8 byte): its value
                    return srs_fail(c->ctx, SRS_ERR_BAD_INPUT, "%s:%lld: unexpected byte 0x%02x after a closing quote",
                                    c->path, (long long)c->ln, ch);
                return srs_fail(c->ctx, SRS_ERR_BAD_INPUT,
                                "%s:%lld: unexpected character '%c' after a closing quote", c->path,
                                (long long)c->ln, *p);
            }
        } else {
            const char *s = p;
            while (p < end && *p != ',' && *p != '\n' && *p) p++;
            if (p < end && !*p) return nul_byte(c);
            size_t n = (size_t)(p - s);
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
    const char *h = t;  // strtod's hexadecimal form: [space][sign]0x...
    while (isspace((unsigned char)*h)) h++;
    h += *h == '+' || *h == '-';
    if (h[0] == '0' && (h[1] == 'x' || h[1] == 'X'))
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

// ----------------------------------------------------------------------------
// parts for several processes (MPI ranks)
//
// Whether a byte lies inside a quoted field depends on every byte before it,
// so no process can place a boundary from the bytes around it alone (a
// quoted line break looks like a record end). The file after the header is
// cut into chunks, one per process, and each process runs the grammar of
// parse_record over its chunk from every state it might start in: a
// summary (srs_csv_chunk_t) of where each start state ends and where
// records start. Composing the summaries of the chunks before it (MPI
// exchanges them) gives a chunk its true start state, so every process finds
// the same record boundaries one process's reader would.

// The states of parse_record's grammar, as a finite automaton over bytes.
enum {
    CS_LINE,    // the start of a line outside quotes (a record starts here unless the line is blank)
    CS_FIELD,   // the start of a field, or spaces before one
    CS_UNQ,     // inside an unquoted field (quotes there are literal)
    CS_Q,       // inside a quoted field
    CS_QQ,      // a quote inside a quoted field: the closing one, or the first of ""
    CS_AFTER,   // after the closing quote (spaces only may follow)
    CS_CR,      // a CR after the closing quote (a line feed must follow)
    CS_ERR,     // the reader fails here (it stops; so does the automaton)
};
_Static_assert(CS_ERR + 1 == SRS_CSV_NSTATES, "one summary entry per state");

// The automaton's table: next[state][byte].
static void cs_table(uint8_t next[SRS_CSV_NSTATES][256]) {
    for (int st = 0; st < SRS_CSV_NSTATES; st++)
        for (int ch = 0; ch < 256; ch++) {
            int n = CS_ERR;
            switch (st) {
            case CS_LINE:
            case CS_FIELD:
                n = ch == ' ' || ch == '\t' || ch == ',' ? CS_FIELD : ch == '"' ? CS_Q : ch == '\n' ? CS_LINE : CS_UNQ;
                break;
            case CS_UNQ: n = ch == ',' ? CS_FIELD : ch == '\n' ? CS_LINE : CS_UNQ; break;
            case CS_Q: n = ch == '"' ? CS_QQ : CS_Q; break;
            case CS_QQ:
            case CS_AFTER:
                n = ch == '"' && st == CS_QQ ? CS_Q
                    : ch == ' ' || ch == '\t' ? CS_AFTER
                    : ch == ','               ? CS_FIELD
                    : ch == '\n'              ? CS_LINE
                    : ch == '\r'              ? CS_CR
                                              : CS_ERR;
                break;
            case CS_CR: n = ch == '\n' ? CS_LINE : CS_ERR; break;
            default: n = CS_ERR; break;
            }
            next[st][ch] = (uint8_t)(ch == 0 ? CS_ERR : n);  // a NUL byte: the reader fails
        }
}

// 1 when the line at p (up to the next '\n') holds only spaces, tabs and
// CRs: next_record skips such lines.
static int blank_line(const char *p, const char *end) {
    for (; p < end && *p != '\n'; p++)
        if (*p != ' ' && *p != '\t' && *p != '\r') return 0;
    return 1;
}

// Chunk k of parts: [lo, hi) of the bytes after the header (hdr_end).
static void chunk_range(int64_t len, int64_t hdr_end, int64_t k, int64_t parts, int64_t *lo, int64_t *hi) {
    for (int j = 0; j < 2; j++) {
        int64_t i = k + j, c = i == 0 ? hdr_end : i == parts ? len : (int64_t)((__int128)len * i / parts);
        c = c < hdr_end ? hdr_end : c > len ? len : c;
        *(j ? hi : lo) = c;
    }
}

// The summary of bytes [lo, hi) of f, from every start state at once. Runs
// from different start states that meet stay together (at the first line
// break outside quotes most do), so only the distinct states are stepped:
// u[0 .. m), the run from start state st at u[map[st]]. Line by line: at a
// line start the runs merge and records are noted, then every distinct run
// steps over the line. Bytes fall in 7 classes (space or tab, comma, quote,
// LF, CR, NUL, other); a class's transitions for all 8 states pack into one
// 64-bit word (byte st: 8 x the next state), so that a step is a shift and
// a mask, with nothing loaded on the chain from one byte's state to the next.
static void chunk_scan(const srs_file_t *f, int64_t lo, int64_t hi, srs_csv_chunk_t *o) {
    uint8_t next[SRS_CSV_NSTATES][256], cls[256];
    uint64_t word[7] = {0};
    static const unsigned char rep_byte[7] = {' ', ',', '"', '\n', '\r', '\0', 'a'};
    cs_table(next);
    for (int ch = 0; ch < 256; ch++)
        cls[ch] = ch == ' ' || ch == '\t' ? 0 : ch == ',' ? 1 : ch == '"' ? 2 : ch == '\n' ? 3 : ch == '\r' ? 4 : ch == 0 ? 5 : 6;
    for (int c = 0; c < 7; c++)
        for (int st = 0; st < SRS_CSV_NSTATES; st++) word[c] |= (uint64_t)(8 * next[st][rep_byte[c]]) << (8 * st);
    const unsigned char *d = (const unsigned char *)f->data;
    const char *end = f->data + f->len;
    uint8_t u[SRS_CSV_NSTATES], map[SRS_CSV_NSTATES];
    int m = SRS_CSV_NSTATES;
    for (int st = 0; st < SRS_CSV_NSTATES; st++) {
        u[st] = map[st] = (uint8_t)st;
        o->first[st] = o->last[st] = -1;
    }
    for (int64_t q = lo; q < hi;) {
        // a line starts at q: merge equal runs; a record starts for the run outside quotes
        int8_t at[SRS_CSV_NSTATES];
        uint8_t nu[SRS_CSV_NSTATES];
        int nm = 0;
        memset(at, -1, sizeof at);
        for (int k = 0; k < m; k++)
            if (at[u[k]] < 0) {
                at[u[k]] = (int8_t)nm;
                nu[nm++] = u[k];
            }
        for (int st = 0; st < SRS_CSV_NSTATES; st++) map[st] = (uint8_t)at[u[map[st]]];
        memcpy(u, nu, (size_t)nm);
        m = nm;
        if (at[CS_LINE] >= 0 && !blank_line((const char *)d + q, end))
            for (int st = 0; st < SRS_CSV_NSTATES; st++)
                if (map[st] == at[CS_LINE]) {
                    if (o->first[st] < 0) o->first[st] = q;
                    o->last[st] = q;
                }
        // every distinct run over the line, its '\n' included
        const unsigned char *nl = memchr(d + q, '\n', (size_t)(hi - q));
        const int64_t e = nl ? nl - d + 1 : hi;
        // most lines hold no quote (nor NUL): outside quotes a run ends the
        // line at its start, inside it stays inside, a failed run failed
        int plain = nl && !memchr(d + q, '"', (size_t)(e - q)) && !memchr(d + q, 0, (size_t)(e - q));
        for (int k = 0; plain && k < m; k++)
            plain = u[k] == CS_LINE || u[k] == CS_FIELD || u[k] == CS_UNQ || u[k] == CS_Q || u[k] == CS_ERR;
        if (plain) {
            for (int k = 0; k < m; k++) u[k] = u[k] == CS_Q || u[k] == CS_ERR ? u[k] : CS_LINE;
        } else if (m <= 4) {
            uint64_t x0 = 8u * u[0], x1 = 8u * u[m > 1], x2 = 8u * u[m > 2 ? 2 : 0], x3 = 8u * u[m > 3 ? 3 : 0];
            for (int64_t p = q; p < e; p++) {
                const uint64_t w = word[cls[d[p]]];
                x0 = (w >> x0) & 0xff;
                x1 = (w >> x1) & 0xff;
                x2 = (w >> x2) & 0xff;
                x3 = (w >> x3) & 0xff;
            }
            const uint64_t x[4] = {x0, x1, x2, x3};
            for (int k = 0; k < m; k++) u[k] = (uint8_t)(x[k] / 8);
        } else {
            for (int64_t p = q; p < e; p++) {
                const uint64_t w = word[cls[d[p]]];
                for (int k = 0; k < m; k++) u[k] = (uint8_t)((w >> (8 * u[k])) & 0xff) / 8;
            }
        }
        q = e;
    }
    for (int st = 0; st < SRS_CSV_NSTATES; st++) o->exit[st] = u[map[st]];
}

// Loads path and reads its header (every part does: its columns); the
// first byte after it in *hdr_end.
static srs_status_t load_with_header(srs_ctx_t *ctx, const char *path, srs_file_t *f, int64_t *hdr_end) {
    srs_status_t st = srs_file_load(ctx, path, f);
    if (st != SRS_OK) return st;
    csv_t c;
    csv_begin(&c, ctx, path, f);
    srs_bld_t b;
    memset(&b, 0, sizeof b);
    int colk[MAX_FIELDS] = {0}, ncols = 0;
    st = parse_header(&c, &b, colk, &ncols);
    *hdr_end = c.p - f->data;
    free(c.sc);
    if (st != SRS_OK) srs_file_release(f);
    return st;
}

srs_status_t srs_csv_chunk_scan(srs_ctx_t *ctx, const char *path, int64_t k, int64_t parts, srs_csv_chunk_t *out) {
    srs_file_t f;
    int64_t hdr_end, lo, hi;
    srs_status_t st = load_with_header(ctx, path, &f, &hdr_end);
    if (st != SRS_OK) return st;
    chunk_range((int64_t)f.len, hdr_end, k, parts, &lo, &hi);
    chunk_scan(&f, lo, hi, out);
    srs_file_release(&f);
    return SRS_OK;
}

// The prompt_id of the record at byte at (malloc'd), or NULL when it does
// not parse (the reader then reports it); *next: where the record after it
// starts (blank lines skipped), or the file's length.
static char *id_at(const srs_file_t *f, int64_t at, int64_t *next) {
    csv_t c;
    csv_begin(&c, NULL, "", f);
    c.p = f->data + at;
    char *id = NULL;
    if (parse_record(&c, 1) == SRS_OK) id = strdup(field(&c, 0));
    free(c.sc);
    if (next) *next = id && next_record(&c) ? c.p - f->data : (int64_t)f->len;
    return id;
}

// Where part k starts (0 < k < parts): the first record in chunk k or
// after it whose prompt_id differs from the record before it, so that a
// prompt's lines stay in one part. chunks: every chunk's summary.
static int64_t part_start(const srs_file_t *f, int64_t k, int64_t parts, const srs_csv_chunk_t *chunks) {
    const int64_t len = (int64_t)f->len;
    int st = CS_LINE;  // the state chunk j truly starts in (the header ends a line)
    int64_t prev = -1, at = -1;
    for (int64_t j = 0; j < parts && at < 0; j++) {  // before k: the last record start; from k: the first
        const srs_csv_chunk_t *c = &chunks[j];
        if (j < k && c->last[st] >= 0) prev = c->last[st];
        if (j >= k) at = c->first[st];
        st = c->exit[st] < SRS_CSV_NSTATES ? c->exit[st] : CS_ERR;
    }
    if (at < 0) return len;
    char *prev_id = prev >= 0 ? id_at(f, prev, NULL) : NULL;
    while (prev_id && at < len) {
        int64_t next;
        char *id = id_at(f, at, &next);
        int same = id && strcmp(id, prev_id) == 0;
        free(id);
        if (!same) break;
        at = next;
    }
    free(prev_id);
    return at;
}

srs_status_t srs_csv_part_bounds(srs_ctx_t *ctx, const char *path, int64_t k, int64_t parts,
                                 const srs_csv_chunk_t *chunks, srs_text_part_t *out) {
    srs_file_t f;
    int64_t hdr_end;
    srs_status_t st = load_with_header(ctx, path, &f, &hdr_end);
    if (st != SRS_OK) return st;
    const int64_t len = (int64_t)f.len;
    srs_csv_chunk_t *own = NULL;
    if (!chunks) {  // one process computing every part: every summary here
        if (!(own = malloc(sizeof *own * (size_t)parts))) {
            srs_file_release(&f);
            return srs_fail(ctx, SRS_ERR_NOMEM, "%s: out of memory", path);
        }
        for (int64_t j = 0; j < parts; j++) {
            int64_t lo, hi;
            chunk_range(len, hdr_end, j, parts, &lo, &hi);
            chunk_scan(&f, lo, hi, &own[j]);
        }
        chunks = own;
    }
    out->start = k == 0 ? 0 : part_start(&f, k, parts, chunks);
    out->end = k + 1 == parts ? len : part_start(&f, k + 1, parts, chunks);
    if (out->end < out->start) out->end = out->start;  // cannot happen: starts grow with k
    out->newlines = out->records = 0;
    for (const char *p = f.data + out->start, *e = f.data + out->end;
         p < e && (p = memchr(p, '\n', (size_t)(e - p))); p++)
        out->newlines++;
    free(own);
    srs_file_release(&f);
    return SRS_OK;
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
