/*
 * io.h — the per-format readers and writers (io_jsonl.c, io_csv.c,
 * io_npy.c): whole data sets, parts of a text file read by one of several
 * processes, NPY headers and companions. They build on rows.h (included
 * here) and call nothing above it: format resolution and dispatch are
 * data.c's (data.h), which calls them. Never seen by users of the library.
 */
#ifndef SRS_IO_H
#define SRS_IO_H

#include <stdint.h>
#include <stdio.h>
#include "rows.h"

// ----------------------------------------------------------------------------
// formats


// Readers: *out is a complete data set on SRS_OK, else NULL with a message.
srs_status_t srs_read_jsonl(srs_ctx_t *ctx, const char *path, srs_data_t **out);
srs_status_t srs_read_csv(srs_ctx_t *ctx, const char *path, srs_data_t **out);

// ----------------------------------------------------------------------------
// parts of a text file, one per process (MPI ranks, host/cli/mpi.c)
//
// Part k of `parts` of a JSONL or CSV file is the whole records (JSONL lines;
// CSV: whole prompts, all of a prompt's lines) that start in bytes [start,
// end): part k starts at the first record at or after byte k*len/parts
// (CSV: the first record there whose prompt_id differs from the record
// before it), so that the parts are what one process reads, in order.
// JSONL: every process computes every boundary from the file alone. CSV:
// whether a byte is inside a quoted field depends on every byte before it,
// so each process first summarises its chunk (srs_csv_chunk_scan, its own
// bytes only), the processes exchange the summaries, and then each finds
// its bounds from all of them (srs_csv_part_bounds).
typedef struct {
    int64_t start, end;   // byte range [start, end) of the file
    int64_t newlines;     // '\n' bytes in the range: the next part's first line is the sum
    int64_t records;      // JSONL: non-blank lines in the range (each a row or an error)
    int64_t first_line;   // 1-based line number of byte start (set by the caller)
    int64_t row_base;     // global index of the part's first row (set by the caller)
} srs_text_part_t;

// The per-format halves of srs_text_part_bounds (data.h).
srs_status_t srs_jsonl_part_bounds(srs_ctx_t *ctx, const char *path, int64_t k, int64_t parts,
                                   srs_text_part_t *out);
// CSV: the bytes after the header are cut into `parts` chunks; the summary
// of a chunk runs the reader's grammar over it from each state it may start
// in (inside a quoted field or not, ...): the state it ends in and the
// first and last record start in the chunk (-1: none). The summaries of
// chunks 0 .. k-1 give chunk k its true start state.
#define SRS_CSV_NSTATES 8
typedef struct {
    uint8_t exit[SRS_CSV_NSTATES];   // the state at the chunk's end, per start state
    int64_t first[SRS_CSV_NSTATES];  // the first record start in the chunk, per start state, or -1
    int64_t last[SRS_CSV_NSTATES];   // the last one, or -1
} srs_csv_chunk_t;
// The summary of chunk k of parts (reads the header and the chunk).
srs_status_t srs_csv_chunk_scan(srs_ctx_t *ctx, const char *path, int64_t k, int64_t parts, srs_csv_chunk_t *out);
// The bounds of part k from the summaries of every chunk (chunks: (parts,)
// from srs_csv_chunk_scan; NULL: computed here, from the whole file).
srs_status_t srs_csv_part_bounds(srs_ctx_t *ctx, const char *path, int64_t k, int64_t parts,
                                 const srs_csv_chunk_t *chunks, srs_text_part_t *out);
// Reads part p of path: rows numbered from p->row_base (batch.first_index),
// lines from p->first_line; an empty part gives a data set with no rows.
// A CSV record cannot run past p->end: the bounds are record starts.
srs_status_t srs_read_jsonl_part(srs_ctx_t *ctx, const char *path, const srs_text_part_t *p,
                                 srs_data_t **out);
srs_status_t srs_read_csv_part(srs_ctx_t *ctx, const char *path, const srs_text_part_t *p,
                               srs_data_t **out);
srs_status_t srs_read_npy(srs_ctx_t *ctx, const char *path, const srs_read_opts_t *opts,
                          srs_data_t **out);

// Text writers for srs_data_write: the whole data set to f, formatted by up
// to `threads` threads. Write errors surface at srs_tmp_close.
void srs_write_jsonl(FILE *f, const srs_data_t *d, int threads);
void srs_write_csv(FILE *f, const srs_data_t *d, int threads);

// Bytes of a version 1.0 NPY header for a C-order 2-D array of `descr`
// ("<f4" or "<f8"), padded with spaces so that the data starts at a multiple
// of 64, newline-terminated. buf must hold SRS_NPY_HEADER_MAX bytes.
#define SRS_NPY_HEADER_MAX 256
size_t srs_npy_header(char *buf, const char *descr, int64_t rows, int64_t cols);
// Writes v[0 .. n) converted to dtype (raw little-endian floats).
void srs_npy_put(FILE *f, srs_vec_t v, int64_t n, srs_dtype_t dtype);
// "<stem><suffix>" where stem is path without a trailing ".npy" (any case);
// malloc'd, NULL on OOM.
char *srs_npy_companion(const char *path, const char *suffix);

#endif // SRS_IO_H
