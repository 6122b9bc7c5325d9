/*
 * rows.h — the formats' lower layer (host/io/rows.c): growable arrays,
 * whole-file loading, temporary output files renamed into place, cleanup on
 * signals, text output helpers, the prompt-id hash set, the checks the text
 * readers share and the row builder. Everything in host/io/ may include it;
 * rows.c itself calls nothing above it (no reader, writer or dispatch).
 * Never seen by users of the library.
 */
#ifndef SRS_ROWS_H
#define SRS_ROWS_H

#include <stdint.h>
#include <stdio.h>
#include "internal.h"

// ----------------------------------------------------------------------------
// growable arrays

// Makes room for `need` elements of `elem` bytes in *p (capacity *cap,
// doubled as needed, at least 1024). Returns 0, or -1 on OOM with *p intact.
int srs_grow(void **p, int64_t *cap, int64_t need, size_t elem);

// ----------------------------------------------------------------------------
// whole-file input

// A file's bytes: memory-mapped read-only when possible (regular files),
// else read into a malloc'd buffer (pipes, "-" = stdin).
typedef struct {
    const char *data;   // (len,) the bytes; "" (never NULL) when len == 0
    size_t len;
    void *map;          // mmap base, or NULL
    size_t map_len;
    char *buf;          // malloc'd copy, or NULL
} srs_file_t;

// Loads path ("-" = stdin) into *f. SRS_ERR_IO naming the file on failure,
// with *f zeroed. Release with srs_file_release.
srs_status_t srs_file_load(srs_ctx_t *ctx, const char *path, srs_file_t *f);
// Unmaps or frees; safe on a zeroed srs_file_t.
void srs_file_release(srs_file_t *f);

// ----------------------------------------------------------------------------
// temporary output files, renamed into place on commit

// One output file, written to a temporary and committed only when complete
// (see rows.c for how each kind of target is handled): "-" and FIFOs or
// devices get an anonymous file copied out on commit; a symlink is followed;
// a directory is refused; a regular file gets a temporary in its directory
// (unnamed with O_TMPFILE where possible, else "<path>.tmp.XXXXXX", mode
// 0666 & ~umask) renamed over it.
typedef struct {
    FILE *f;         // the stream to write (1 MiB buffer); NULL once closed
    char *path;      // final path, symlinks followed (NULL for stdout)
    char *tmp;       // named temporary (NULL: stdout, written through, unnamed)
    char *vbuf;      // the stream's buffer, freed after fclose
    int to_stdout;
    int through;     // a FIFO or a device: copied into path on commit
    int anon_fd;     // unnamed temporary: its descriptor + 1 (0: none)
    int reg;         // cleanup registry slot of tmp (0: none)
    int err;         // errno of the first failed write seen by a caller (0: none)
} srs_tmp_t;

// Creates the temporary for output path. On failure SRS_ERR_IO/NOMEM (a
// directory: "is a directory") and *t zeroed (nothing left on disk).
srs_status_t srs_tmp_open_out(srs_ctx_t *ctx, srs_tmp_t *t, const char *path);
// The same with a named temporary always ("<path>.tmp.XXXXXX", for files
// other processes open by name: host/cli/mpi.c); a FIFO or a device is refused.
srs_status_t srs_tmp_open(srs_ctx_t *ctx, srs_tmp_t *t, const char *path);
// Flushes and closes the stream, checking every write error (disk full...).
// The file stays temporary: follow with srs_tmp_commit or srs_tmp_abort.
srs_status_t srs_tmp_close(srs_ctx_t *ctx, srs_tmp_t *t);
// Commits n outputs together, in order, every one or none: all are closed
// and checked, then stdout and written-through targets are copied (they
// cannot be taken back), then the renames; if one fails, the targets renamed
// before it get their old files back (kept as hard links meanwhile), and all
// temporaries are removed. Frees the ts' strings either way; zeroed entries
// are skipped.
srs_status_t srs_tmp_commit_all(srs_ctx_t *ctx, srs_tmp_t *const *ts, int n);
// srs_tmp_commit_all of one.
srs_status_t srs_tmp_commit(srs_ctx_t *ctx, srs_tmp_t *t);
// Closes and removes the temporary file, frees t's strings; safe on a
// zeroed or committed t.
void srs_tmp_abort(srs_tmp_t *t);

// ----------------------------------------------------------------------------
// cleanup on signals (the command line installs the handlers)

// Registers a path a signal handler should remove (is_dir: rmdir, after the
// files, newest first). Returns a slot for srs_cleanup_remove, or 0 when the
// table is full or the path too long (then it is not removed). Thread-safe.
int srs_cleanup_add(const char *path, int is_dir);
void srs_cleanup_remove(int slot);
// Removes every registered path. Async-signal-safe.
void srs_cleanup_run(void);
// The input file memory-mapped at addr ("" when its name was too long), or
// NULL. Async-signal-safe: for a SIGBUS handler (the file shrank).
const char *srs_mapped_file_at(const void *addr);

// ----------------------------------------------------------------------------
// text output helpers (stdio, unlocked: one thread writes one stream)

// The definition srs_fmt_double implements quickly: literally the shortest
// of snprintf %.15g/%.16g/%.17g that strtod reads back (for the tests).
int srs_fmt_double_ref(char *buf, size_t n, double x);
// Writes x as srs_fmt_double does ("null" when not finite).
void srs_put_double(FILE *f, double x);
// Writes s as a JSON string literal: \" and \\ escaped, control characters
// (below 0x20) as \u00XX, every other byte (UTF-8) as is.
void srs_put_json_string(FILE *f, const char *s);
// Writes s as a CSV field, double-quoted (with "" for ") when it contains a
// comma, a quote, CR or LF.
void srs_put_csv_field(FILE *f, const char *s);
// Writes row's prompt id: the row index when d has no ids; in JSON a bare
// number for numeric ids, else a string literal; in CSV as a CSV field.
void srs_put_id(FILE *f, const srs_data_t *d, int64_t row, int json);

// Writes rows [0, n_rows) of some text output to f: emit(arg, out, r0, r1)
// writes rows [r0, r1) to out. When the output is big (n_values numbers to
// format) and threads > 1, blocks of rows are formatted in parallel into
// memory streams and copied to f in order, giving the same bytes as one
// serial call emit(arg, f, 0, n_rows), which is the fallback.
typedef void (*srs_emit_fn)(void *arg, FILE *out, int64_t r0, int64_t r1);
void srs_emit_rows(FILE *f, int threads, int64_t n_rows, int64_t n_values, srs_emit_fn emit, void *arg);

// Element i of a typed vector as double.
static inline double srs_vec_at(srs_vec_t v, int64_t i) {
    return v.dtype == SRS_F32 ? (double)((const float *)v.data)[i] : ((const double *)v.data)[i];
}

// ----------------------------------------------------------------------------
// prompt-id hash set (CSV: contiguity of prompts, uniqueness on write)

// Set of rows, keyed by their id text buf + off[row]. The strings may move
// (buf is passed on each call) but their offsets may not.
typedef struct {
    int64_t *slot;   // (cap,) row + 1, 0 = empty
    int64_t cap, n;
} srs_idset_t;

// Returns the row already in the set whose id equals row's, or -1 after
// inserting row. -2 on OOM (set unchanged).
int64_t srs_idset_add(srs_idset_t *s, const char *buf, const int64_t *off, int64_t row);
// The row in the set whose id text is key, or -1 (the set unchanged).
int64_t srs_idset_find(const srs_idset_t *s, const char *buf, const int64_t *off, const char *key);
void srs_idset_free(srs_idset_t *s);
// The set's hash of an id text (the same in every process: MPI ranks use it
// to send each id to one rank).
uint64_t srs_id_hash(const char *s);

// ----------------------------------------------------------------------------
// checks the text readers share

// Offset of the first byte of s[0 .. n) that is not part of valid UTF-8
// (strict, as Python decodes: no overlong forms, surrogates or code points
// above U+10FFFF), or -1 when all of it is valid. Ids are checked so that
// srs never writes JSONL that srs, Python or jansson cannot read back.
int64_t srs_utf8_invalid(const char *s, size_t n);
// SRS_ERR_BAD_INPUT for a prompt id seen before, worded as the reader of fmt
// says it (one process and MPI ranks alike): CSV "FILE:LINE: prompt "ID"
// appears again after other prompts ...", JSONL "FILE:LINE: prompt_id ID
// appears again (first on line FIRST)". indexed: one of the two lines has
// no prompt_id (its id is its row index).
srs_status_t srs_fail_dup_id(srs_ctx_t *ctx, srs_format_t fmt, const char *path, int64_t line, const char *id,
                             int is_number, int64_t first_line, int indexed);

// ----------------------------------------------------------------------------
// row builder: the text readers append rows and samples, then hand the
// arrays over to a data set (F64 CSR, owned offsets, ids, lines)

typedef struct {
    double *val[3];          // (n_samples,) reward, logw, gold (the order of srs_data.owned)
    int64_t val_cap[3];
    int has[3];              // which arrays exist (reward always)
    int64_t n_samples;
    int64_t *offsets;        // (n_rows+1,) row starts; the last is set by finish
    int64_t off_cap;
    int64_t *line;           // (n_rows,) 1-based source line
    int64_t line_cap;
    char *ids;               // NUL-separated id texts
    int64_t ids_len, ids_cap;
    int64_t *id_off;         // (n_rows,) offsets into ids
    int64_t id_off_cap;
    uint8_t *id_num;         // (n_rows,) 1 numeric id, 2 no id (row index, filled in by finish)
    int64_t id_num_cap;
    int64_t n_rows;
    int any_id;              // some row had an explicit id
    int64_t row_base;        // global index of row 0: a part of a file read by one of
                             // several processes (MPI ranks) numbers id-less rows from it
    int allow_empty;         // finish gives an empty data set instead of "no prompts"
} srs_bld_t;

// Room for n more samples in every present array (has[] must be final by
// the first call). 0, or -1 on OOM.
int srs_bld_reserve(srs_bld_t *b, int64_t n);
// Starts a row at the current sample count with id (id_len bytes; NULL = the
// row index as a numeric id, filled in by srs_bld_finish) and its source
// line. 0, or -1 on OOM.
int srs_bld_row(srs_bld_t *b, const char *id, size_t id_len, int id_num, int64_t line);
// Moves the arrays into a new data set for path; "FILE: no prompts" when
// there are no rows. Frees the builder either way.
srs_status_t srs_bld_finish(srs_ctx_t *ctx, srs_bld_t *b, const char *path, srs_data_t **out);
void srs_bld_free(srs_bld_t *b);

// ----------------------------------------------------------------------------
// data sets

// Restricts a dense data set without stored ids (NPY) to rows [lo, hi):
// the batch becomes a view of those rows with first_index lo, so ids and
// messages keep their global row numbers. Nothing is copied; untouched rows
// of a memory-mapped file are never read.
srs_status_t srs_data_restrict(srs_ctx_t *ctx, srs_data_t *d, int64_t lo, int64_t hi);

#endif // SRS_ROWS_H
