// writer.c — the streaming result writer: per-prompt thresholds (and shaped
// rewards) appended in input order, to a temporary file renamed into place on
// commit (or copied to stdout for "-"). Formats:
//   JSONL  {"prompt_id": <id>, "m_star": x, "B_eff": x[, "shaped": [..]]}
//   CSV    prompt_id,m_star,B_eff  |  prompt_id,shaped,m_star,B_eff (one line per sample)
//   NPY    thresholds: float64 [prompts, 2] (m_star, B_eff)
//          shaped: float64 [prompts, samples] + "<stem>.thresholds.npy" [prompts, 2]
// Layering: the top of the formats beside data.c (data.h): resolves the
// output format there, calls the per-format helpers (io.h) and the lower
// layer (rows.h).
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "data.h"

struct srs_writer {
    srs_ctx_t *ctx;            // for messages
    const srs_data_t *d;       // ids and row lengths
    srs_out_kind_t kind;
    srs_format_t format;
    int64_t n_prompts, next_row;
    srs_tmp_t main;            // the output
    srs_tmp_t thr;             // NPY shaped: "<stem>.thresholds.npy"
    int part;                  // a part of a file merged by host/cli/mpi.c: no NPY header
    srs_status_t failed;       // first failure of put, or SRS_OK
    char err[SRS_ERR_MAX];     // its message, repeated by later calls
};

// ----------------------------------------------------------------------------
// open

static srs_status_t write_headers(srs_writer_t *w) {
    const srs_batch_t *b = &w->d->batch;
    FILE *f = w->main.f;
    if (w->format == SRS_FMT_CSV) {
        fputs_unlocked(w->kind == SRS_OUT_SHAPED    ? "prompt_id,shaped,m_star,B_eff\n"
                       : w->kind == SRS_OUT_REWARDS ? "prompt_id,reward\n"
                                                    : "prompt_id,m_star,B_eff\n", f);
    } else if (w->format == SRS_FMT_NPY && !w->part) {
        char hdr[SRS_NPY_HEADER_MAX];
        size_t hl;
        if (w->kind != SRS_OUT_THRESHOLDS) {
            int64_t cols = 0;
            srs_status_t st = srs_equal_rows(w->ctx, b, &cols);
            if (st != SRS_OK) return st;
            hl = srs_npy_header(hdr, "<f8", b->n_prompts, cols);
            fwrite_unlocked(hdr, 1, hl, f);
            if (w->kind == SRS_OUT_REWARDS) return SRS_OK;
            f = w->thr.f;
        }
        hl = srs_npy_header(hdr, "<f8", b->n_prompts, 2);
        fwrite_unlocked(hdr, 1, hl, f);
    }
    return SRS_OK;
}

// Creates the temporary file(s) and writes the headers; checks NPY shapes
// first, so a refused open leaves nothing on disk. *out NULL on failure.
static srs_status_t writer_open(srs_ctx_t *ctx, const char *path, srs_format_t format,
                                srs_out_kind_t kind, const srs_data_t *d, int part, srs_writer_t **out) {
    if (!ctx) return SRS_ERR_INVALID_ARG;
    srs_clear_error(ctx);
    if (!out) return srs_fail(ctx, SRS_ERR_INVALID_ARG, "srs_writer_open: out is NULL");
    *out = NULL;
    if (!path || !*path || !d)
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "srs_writer_open: path or data is NULL");
    if (kind != SRS_OUT_THRESHOLDS && kind != SRS_OUT_SHAPED && kind != SRS_OUT_REWARDS)
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "unknown output kind %d", (int)kind);
    srs_format_t fmt = SRS_FMT_JSONL;
    srs_status_t st = srs_resolve_out_format(ctx, path, format, &fmt);
    if (st != SRS_OK) return st;
    int is_stdout = strcmp(path, "-") == 0;
    if (fmt == SRS_FMT_NPY && kind != SRS_OUT_THRESHOLDS) {
        int64_t cols = 0;  // check before creating any file
        if ((st = srs_equal_rows(ctx, &d->batch, &cols)) != SRS_OK) return st;
        if (is_stdout && kind == SRS_OUT_SHAPED)
            return srs_fail(ctx, SRS_ERR_INVALID_ARG,
                            "shaped NPY output writes a companion <stem>.thresholds.npy; give a file "
                            "name, not -");
    }
    srs_writer_t *w = calloc(1, sizeof *w);
    if (!w) return srs_fail(ctx, SRS_ERR_NOMEM, "out of memory");
    w->ctx = ctx;
    w->d = d;
    w->kind = kind;
    w->format = fmt;
    w->n_prompts = d->batch.n_prompts;
    w->part = part;
    st = part ? srs_tmp_open(ctx, &w->main, path) : srs_tmp_open_out(ctx, &w->main, path);
    if (st == SRS_OK && fmt == SRS_FMT_NPY && kind == SRS_OUT_SHAPED) {
        char *tp = srs_npy_companion(path, ".thresholds.npy");
        st = !tp ? srs_fail(ctx, SRS_ERR_NOMEM, "out of memory")
             : part ? srs_tmp_open(ctx, &w->thr, tp) : srs_tmp_open_out(ctx, &w->thr, tp);
        free(tp);
    }
    if (st == SRS_OK && part != 2) st = write_headers(w);
    if (st != SRS_OK) {
        srs_writer_abort(w);
        return st;
    }
    *out = w;
    return SRS_OK;
}

srs_status_t srs_writer_open(srs_ctx_t *ctx, const char *path, srs_format_t format,
                             srs_out_kind_t kind, const srs_data_t *d, srs_writer_t **out) {
    return writer_open(ctx, path, format, kind, d, 0, out);
}

// A part (see data.h): the CSV header only when header != 0, never an NPY one.
srs_status_t srs_writer_open_part(srs_ctx_t *ctx, const char *path, srs_format_t format,
                                  srs_out_kind_t kind, const srs_data_t *d, int header,
                                  srs_writer_t **out) {
    return writer_open(ctx, path, format, kind, d, header ? 1 : 2, out);
}

// ----------------------------------------------------------------------------
// put

static void put_jsonl(const srs_writer_t *w, FILE *f, int64_t i, double m, double be, const double *sh,
                      int64_t n) {
    fputs_unlocked("{\"prompt_id\": ", f);
    srs_put_id(f, w->d, i, 1);
    if (w->kind == SRS_OUT_REWARDS) {
        fputs_unlocked(", \"rewards\": [", f);
        for (int64_t j = 0; j < n; j++) {
            if (j) fputs_unlocked(", ", f);
            srs_put_double(f, sh[j]);
        }
        fputs_unlocked("]}\n", f);
        return;
    }
    fputs_unlocked(", \"m_star\": ", f);
    srs_put_double(f, m);
    fputs_unlocked(", \"B_eff\": ", f);
    srs_put_double(f, be);
    if (sh) {
        fputs_unlocked(", \"shaped\": [", f);
        for (int64_t j = 0; j < n; j++) {
            if (j) fputs_unlocked(", ", f);
            srs_put_double(f, sh[j]);
        }
        putc_unlocked(']', f);
    }
    fputs_unlocked("}\n", f);
}

static void put_csv(const srs_writer_t *w, FILE *f, int64_t i, double m, double be, const double *sh,
                    int64_t n) {
    if (w->kind == SRS_OUT_REWARDS) {
        for (int64_t j = 0; j < n; j++) {
            srs_put_id(f, w->d, i, 0);
            putc_unlocked(',', f);
            srs_put_double(f, sh[j]);
            putc_unlocked('\n', f);
        }
        return;
    }
    char tail[96];  // ",m_star,B_eff\n", the same on every line of the row
    size_t t = 0;
    tail[t++] = ',';
    t += (size_t)srs_fmt_double(tail + t, 40, m);
    tail[t++] = ',';
    t += (size_t)srs_fmt_double(tail + t, 40, be);
    tail[t++] = '\n';
    if (!sh) {
        srs_put_id(f, w->d, i, 0);
        fwrite_unlocked(tail, 1, t, f);
        return;
    }
    for (int64_t j = 0; j < n; j++) {
        srs_put_id(f, w->d, i, 0);
        putc_unlocked(',', f);
        srs_put_double(f, sh[j]);
        fwrite_unlocked(tail, 1, t, f);
    }
}

static void put_npy(srs_writer_t *w, double m, double be, const double *sh, int64_t n) {
    double mb[2] = {m, be};
    if (w->kind == SRS_OUT_REWARDS) {
        fwrite_unlocked(sh, sizeof(double), (size_t)n, w->main.f);
    } else if (sh) {
        fwrite_unlocked(sh, sizeof(double), (size_t)n, w->main.f);
        fwrite_unlocked(mb, sizeof(double), 2, w->thr.f);
    } else {
        fwrite_unlocked(mb, sizeof(double), 2, w->main.f);
    }
}

// Index of row i's first sample (indexes the batch arrays); i may be n_prompts.
static int64_t row_start(const srs_batch_t *b, int64_t i) {
    return b->offsets ? b->offsets[i] : i * b->row_len;
}

// One put's rows for srs_emit_rows.
typedef struct {
    const srs_writer_t *w;
    int64_t first_row;
    const double *m_star, *b_eff;   // (n_rows,)
    const double *shaped;           // (samples of the put's rows,) or NULL
} put_arg_t;

// Rows [first_row + r0, first_row + r1) of a put as text to f.
static void put_text(void *arg, FILE *f, int64_t r0, int64_t r1) {
    const put_arg_t *a = arg;
    const srs_batch_t *b = &a->w->d->batch;
    int64_t base = a->shaped ? row_start(b, a->first_row) : 0;
    for (int64_t r = r0; r < r1; r++) {
        int64_t i = a->first_row + r, s, n;
        SRS_ROW(b, i, s, n);
        const double *row = a->shaped ? a->shaped + (s - base) : NULL;
        double m = a->m_star ? a->m_star[r] : 0.0, be = a->b_eff ? a->b_eff[r] : 0.0;  // rewards: none
        if (a->w->format == SRS_FMT_JSONL) put_jsonl(a->w, f, i, m, be, row, n);
        else put_csv(a->w, f, i, m, be, row, n);
    }
}

// Appends rows [first_row, first_row + n_rows); they must follow the last
// put. A write error poisons the writer (commit then fails).
srs_status_t srs_writer_put(srs_writer_t *w, int64_t first_row, int64_t n_rows,
                            const double *m_star, const double *b_eff, const double *shaped) {
    if (!w) return SRS_ERR_INVALID_ARG;
    srs_ctx_t *ctx = w->ctx;
    srs_clear_error(ctx);
    if (w->failed != SRS_OK) return srs_fail(ctx, w->failed, "%s", w->err);
    if (n_rows < 0 || first_row != w->next_row || n_rows > w->n_prompts - first_row)
        return srs_fail(ctx, SRS_ERR_INVALID_ARG,
                        "rows must be written in order: expected rows from %lld (of %lld), got "
                        "[%lld, %lld)",
                        (long long)w->next_row, (long long)w->n_prompts, (long long)first_row,
                        (long long)(first_row + n_rows));
    int rewards_out = w->kind == SRS_OUT_REWARDS;
    if (n_rows > 0 && !rewards_out && (!m_star || !b_eff))
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "srs_writer_put: m_star or b_eff is NULL");
    const srs_batch_t *b = &w->d->batch;
    int shaped_out = w->kind != SRS_OUT_THRESHOLDS;  // per-sample values: shaped or rewards
    if (shaped_out && !shaped && n_rows > 0)
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "srs_writer_put: %s is NULL", rewards_out ? "rewards" : "shaped");
    if (w->format == SRS_FMT_NPY) {
        const double *sh = shaped;  // (samples of rows [first_row, first_row + n_rows),)
        for (int64_t r = 0; r < n_rows; r++) {
            int64_t s, n;
            SRS_ROW(b, first_row + r, s, n);
            put_npy(w, rewards_out ? 0.0 : m_star[r], rewards_out ? 0.0 : b_eff[r], shaped_out ? sh : NULL, n);
            if (shaped_out) sh += n;
        }
    } else {
        put_arg_t a = {w, first_row, m_star, b_eff, shaped_out ? shaped : NULL};
        int64_t values = shaped_out ? row_start(b, first_row + n_rows) - row_start(b, first_row) : 2 * n_rows;
        srs_emit_rows(w->main.f, ctx->n_threads, n_rows, values, put_text, &a);
    }
    w->next_row += n_rows;
    if (ferror(w->main.f) || (w->thr.f && ferror(w->thr.f))) {  // disk full: stop early
        srs_tmp_t *t = ferror(w->main.f) ? &w->main : &w->thr;
        if (!t->err) t->err = errno;  // the failed write's, before anything resets it
        srs_status_t st = srs_tmp_close(ctx, t);
        w->failed = st != SRS_OK ? st : SRS_ERR_IO;
        snprintf(w->err, sizeof w->err, "%s", ctx->err);
        return w->failed;
    }
    return SRS_OK;
}

// ----------------------------------------------------------------------------
// commit and abort

// Checks every row was put, then commits the output and its companion
// together (srs_tmp_commit_all: both or neither, companion first); on any
// failure removes the temporaries. Frees w either way.
srs_status_t srs_writer_commit(srs_writer_t *w) {
    if (!w) return SRS_ERR_INVALID_ARG;
    srs_ctx_t *ctx = w->ctx;
    srs_status_t st = w->failed;
    if (st != SRS_OK) {
        srs_fail(ctx, st, "%s", w->err);
    } else if (w->next_row != w->n_prompts) {
        st = srs_fail(ctx, SRS_ERR_INVALID_ARG,
                      "writer committed after %lld of %lld rows; nothing was written",
                      (long long)w->next_row, (long long)w->n_prompts);
    } else {
        srs_clear_error(ctx);
        // Both or neither; the companion first, the main file last.
        st = srs_tmp_commit_all(ctx, (srs_tmp_t *const[]){&w->thr, &w->main}, 2);
    }
    srs_writer_abort(w);
    return st;
}

// Closes a part (every row put) and hands its temporary files to the caller,
// who removes them; frees w either way (on failure nothing is left).
srs_status_t srs_writer_close_part(srs_writer_t *w, char **main_tmp, char **thr_tmp) {
    *main_tmp = *thr_tmp = NULL;
    if (!w) return SRS_ERR_INVALID_ARG;
    srs_ctx_t *ctx = w->ctx;
    srs_status_t st = w->failed;
    if (st != SRS_OK) {
        srs_fail(ctx, st, "%s", w->err);
    } else if (w->next_row != w->n_prompts) {
        st = srs_fail(ctx, SRS_ERR_INVALID_ARG, "part closed after %lld of %lld rows",
                      (long long)w->next_row, (long long)w->n_prompts);
    } else {
        st = srs_tmp_close(ctx, &w->main);
        if (st == SRS_OK) st = srs_tmp_close(ctx, &w->thr);
        if (st == SRS_OK) {
            *main_tmp = w->main.tmp;
            *thr_tmp = w->thr.tmp;
            w->main.tmp = w->thr.tmp = NULL;
        }
    }
    srs_writer_abort(w);
    return st;
}

// Removes the temporaries and frees w; NULL is fine.
void srs_writer_abort(srs_writer_t *w) {
    if (!w) return;
    srs_tmp_abort(&w->thr);
    srs_tmp_abort(&w->main);
    free(w);
}
