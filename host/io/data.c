// data.c — the top of the formats: format resolution and dispatch for
// reading (srs_data_read) and writing (srs_data_write) whole data sets, and
// the part bounds of a text file split across processes.
//
// Layering (host/io/): data.c and writer.c call the per-format readers and
// writers (io_jsonl.c, io_csv.c, io_npy.c; io.h) and the lower layer
// (rows.c; rows.h); neither of those calls back up here. Declared in data.h
// (and srs.h for the public calls).
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "data.h"

// ----------------------------------------------------------------------------
// format dispatch

// Format by the extension after the last '.' of the last path component
// (case-insensitive): .jsonl/.json, .npy, .csv; else SRS_FMT_AUTO.
srs_format_t srs_format_from_path(const char *path) {
    if (!path) return SRS_FMT_AUTO;
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash + 1 : path, '.');
    if (!dot) return SRS_FMT_AUTO;
    if (strcasecmp(dot, ".jsonl") == 0 || strcasecmp(dot, ".json") == 0) return SRS_FMT_JSONL;
    if (strcasecmp(dot, ".npy") == 0) return SRS_FMT_NPY;
    if (strcasecmp(dot, ".csv") == 0) return SRS_FMT_CSV;
    return SRS_FMT_AUTO;
}

// format, or the extension's ("-" is JSONL); SRS_ERR_INVALID_ARG when unknown.
// The format of path; `flag` names the option that overrides the extension.
static srs_status_t resolve_format(srs_ctx_t *ctx, const char *path, srs_format_t format, srs_format_t *out,
                                   const char *flag) {
    if ((unsigned)format > SRS_FMT_CSV)
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "unknown format %d", (int)format);
    if (format == SRS_FMT_AUTO) format = strcmp(path, "-") == 0 ? SRS_FMT_JSONL : srs_format_from_path(path);
    if (format == SRS_FMT_AUTO)
        return srs_fail(ctx, SRS_ERR_INVALID_ARG,
                        "cannot tell the format of %s from its extension (.jsonl, .csv or .npy); use %s", path,
                        flag);
    *out = format;
    return SRS_OK;
}

srs_status_t srs_resolve_format(srs_ctx_t *ctx, const char *path, srs_format_t format,
                                srs_format_t *out) {
    return resolve_format(ctx, path, format, out, "--format");
}

srs_status_t srs_resolve_out_format(srs_ctx_t *ctx, const char *path, srs_format_t format,
                                    srs_format_t *out) {
    struct stat st;  // a FIFO or a device without an extension (/dev/stdout) gets JSONL, as "-" does
    if (format == SRS_FMT_AUTO && srs_format_from_path(path) == SRS_FMT_AUTO && stat(path, &st) == 0 &&
        !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
        format = SRS_FMT_JSONL;
    return resolve_format(ctx, path, format, out, "--out-format");
}

// Dispatches on the format; *out NULL and a message on ctx on failure.
srs_status_t srs_data_read(srs_ctx_t *ctx, const char *path, const srs_read_opts_t *opts,
                           srs_data_t **out) {
    if (!ctx) return SRS_ERR_INVALID_ARG;
    srs_clear_error(ctx);
    if (!out) return srs_fail(ctx, SRS_ERR_INVALID_ARG, "srs_data_read: out is NULL");
    *out = NULL;
    if (!path || !*path) return srs_fail(ctx, SRS_ERR_INVALID_ARG, "srs_data_read: no path");
    srs_format_t fmt = SRS_FMT_JSONL;
    srs_status_t st = srs_resolve_format(ctx, path, opts ? opts->format : SRS_FMT_AUTO, &fmt);
    if (st != SRS_OK) return st;
    if (fmt != SRS_FMT_NPY && opts && (opts->gold_path || opts->logw_path))
        return srs_fail(ctx, SRS_ERR_INVALID_ARG,
                        "%s: gold/logw companion files apply to NPY input only", path);
    switch (fmt) {
    case SRS_FMT_JSONL: return srs_read_jsonl(ctx, path, out);
    case SRS_FMT_CSV: return srs_read_csv(ctx, path, out);
    default: return srs_read_npy(ctx, path, opts, out);
    }
}

// Part k of parts of a text file (see io.h): per-format boundaries.
srs_status_t srs_text_part_bounds(srs_ctx_t *ctx, const char *path, srs_format_t fmt, int64_t k,
                                  int64_t parts, srs_text_part_t *out) {
    memset(out, 0, sizeof *out);
    if (parts < 1 || k < 0 || k >= parts || strcmp(path, "-") == 0)
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "%s: cannot split into part %lld of %lld%s", path,
                        (long long)k, (long long)parts, strcmp(path, "-") == 0 ? " (standard input)" : "");
    if (fmt == SRS_FMT_JSONL) return srs_jsonl_part_bounds(ctx, path, k, parts, out);
    if (fmt == SRS_FMT_CSV) return srs_csv_part_bounds(ctx, path, k, parts, NULL, out);
    return srs_fail(ctx, SRS_ERR_INVALID_ARG, "%s: only JSONL and CSV are split by bytes", path);
}

// ----------------------------------------------------------------------------
// srs_data_write

// Every row of b has at least one sample (else SRS_ERR_INVALID_ARG).
static srs_status_t check_rows_nonempty(srs_ctx_t *ctx, const srs_batch_t *b) {
    for (int64_t i = 0; i < b->n_prompts; i++) {
        int64_t s, n;
        SRS_ROW(b, i, s, n);
        if (n <= 0)
            return srs_fail(ctx, SRS_ERR_INVALID_ARG,
                            "row %lld has no samples (every prompt needs at least one)", (long long)i);
    }
    return SRS_OK;
}

// CSV needs distinct ids: equal ids on consecutive lines would merge prompts.
static srs_status_t check_ids_unique(srs_ctx_t *ctx, const srs_data_t *d) {
    if (!d->id_buf) return SRS_OK;
    srs_idset_t set = {0};
    srs_status_t st = SRS_OK;
    for (int64_t i = 0; i < d->batch.n_prompts && st == SRS_OK; i++) {
        int64_t j = srs_idset_add(&set, d->id_buf, d->id_off, i);
        if (j == -2) st = srs_fail(ctx, SRS_ERR_NOMEM, "out of memory checking prompt ids");
        else if (j >= 0)
            st = srs_fail(ctx, SRS_ERR_INVALID_ARG,
                          "rows %lld and %lld have the same prompt_id \"%s\"; CSV cannot keep "
                          "them apart (write JSONL)",
                          (long long)j, (long long)i, d->id_buf + d->id_off[i]);
    }
    srs_idset_free(&set);
    return st;
}

// Samples per row when all rows are equal (NPY), else SRS_ERR_INVALID_ARG.
srs_status_t srs_equal_rows(srs_ctx_t *ctx, const srs_batch_t *b, int64_t *row_len) {
    if (!b->offsets || b->n_prompts == 0) {
        *row_len = b->offsets ? 0 : b->row_len;
        return SRS_OK;
    }
    int64_t n0 = b->offsets[1] - b->offsets[0];
    for (int64_t i = 1; i < b->n_prompts; i++) {
        int64_t n = b->offsets[i + 1] - b->offsets[i];
        if (n != n0)
            return srs_fail(ctx, SRS_ERR_INVALID_ARG,
                            "NPY needs equal rows: row %lld has %lld samples, row 0 has %lld; "
                            "write JSONL or CSV",
                            (long long)i, (long long)n, (long long)n0);
    }
    *row_len = n0;
    return SRS_OK;
}

static srs_status_t write_text(srs_ctx_t *ctx, const char *path, const srs_data_t *d,
                               srs_format_t fmt) {
    srs_tmp_t t;
    srs_status_t st = srs_tmp_open_out(ctx, &t, path);
    if (st != SRS_OK) return st;
    if (fmt == SRS_FMT_JSONL) srs_write_jsonl(t.f, d, ctx->n_threads);
    else srs_write_csv(t.f, d, ctx->n_threads);
    return srs_tmp_commit(ctx, &t);  // closes, checks, renames; removes on failure
}

// Main file plus companions; all renamed only when all were written.
static srs_status_t write_npy(srs_ctx_t *ctx, const char *path, const srs_data_t *d,
                              srs_dtype_t dtype) {
    const srs_batch_t *b = &d->batch;
    int64_t cols = 0;
    srs_status_t st = srs_equal_rows(ctx, b, &cols);
    if (st != SRS_OK) return st;
    const srs_vec_t *vec[3] = {&b->reward, &b->logw, &b->gold};
    const char *suffix[3] = {NULL, ".logw.npy", ".gold.npy"};
    char *cpath[3] = {NULL, NULL, NULL};
    srs_tmp_t t[3];
    memset(t, 0, sizeof t);
    int64_t first = b->offsets ? b->offsets[0] : 0;
    int64_t n = srs_batch_n_samples(b);
    char hdr[SRS_NPY_HEADER_MAX];
    size_t hl = srs_npy_header(hdr, dtype == SRS_F32 ? "<f4" : "<f8", b->n_prompts, cols);
    int is_stdout = strcmp(path, "-") == 0;
    for (int k = 0; k < 3 && st == SRS_OK; k++) {
        if (k > 0) {
            if (!(cpath[k] = srs_npy_companion(path, suffix[k]))) {
                st = srs_fail(ctx, SRS_ERR_NOMEM, "out of memory");
                break;
            }
            if (!vec[k]->data) continue;
            if (is_stdout) {
                st = srs_fail(ctx, SRS_ERR_INVALID_ARG,
                              "NPY with gold/logw writes companion files; give a file name, not -");
                break;
            }
        }
        st = srs_tmp_open_out(ctx, &t[k], k ? cpath[k] : path);
        if (st != SRS_OK) break;
        fwrite_unlocked(hdr, 1, hl, t[k].f);
        srs_vec_t v = {(const char *)vec[k]->data + first * (vec[k]->dtype == SRS_F32 ? 4 : 8),
                       vec[k]->dtype};
        srs_npy_put(t[k].f, v, n, dtype);
        st = srs_tmp_close(ctx, &t[k]);
    }
    // All or none; companions first, the main file last: a reader never sees
    // a new main file with old companions.
    if (st == SRS_OK) st = srs_tmp_commit_all(ctx, (srs_tmp_t *const[]){&t[2], &t[1], &t[0]}, 3);
    // A companion left from an earlier write would be read with this file.
    if (st == SRS_OK && !is_stdout)
        for (int k = 1; k < 3; k++)
            if (!vec[k]->data && cpath[k]) unlink(cpath[k]);
    for (int k = 0; k < 3; k++) {
        srs_tmp_abort(&t[k]);
        free(cpath[k]);
    }
    return st;
}

// Writes d in one format through temporary files renamed into place (NPY:
// companions first, main file last); on failure no file is created or
// changed. Empty rows and (CSV) repeated ids are SRS_ERR_INVALID_ARG.
srs_status_t srs_data_write(srs_ctx_t *ctx, const char *path, const srs_data_t *d,
                            srs_format_t format, srs_dtype_t npy_dtype) {
    if (!ctx) return SRS_ERR_INVALID_ARG;
    srs_clear_error(ctx);
    if (!path || !*path || !d)
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "srs_data_write: path or data is NULL");
    srs_format_t fmt = SRS_FMT_JSONL;
    srs_status_t st = srs_resolve_out_format(ctx, path, format, &fmt);
    if (st == SRS_OK) st = srs_batch_check(ctx, &d->batch);
    if (st == SRS_OK) st = check_rows_nonempty(ctx, &d->batch);
    if (st != SRS_OK) return st;
    switch (fmt) {
    case SRS_FMT_JSONL: return write_text(ctx, path, d, fmt);
    case SRS_FMT_CSV:
        st = check_ids_unique(ctx, d);
        return st == SRS_OK ? write_text(ctx, path, d, fmt) : st;
    default:
        if (npy_dtype != SRS_F32 && npy_dtype != SRS_F64)
            return srs_fail(ctx, SRS_ERR_INVALID_ARG, "unknown NPY dtype %d", (int)npy_dtype);
        return write_npy(ctx, path, d, npy_dtype);
    }
}
