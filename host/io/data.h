/*
 * data.h — the top of the formats (host/io/data.c, host/io/writer.c):
 * format resolution, the dispatch of srs_data_read / srs_data_write (srs.h)
 * to the per-format readers and writers (io.h, included here), the part
 * bounds of a text file, and the part writers host/cli/mpi.c merges. For the
 * command line and the tests; the readers never include it. Never seen by
 * users of the library.
 */
#ifndef SRS_DATA_H
#define SRS_DATA_H

#include "io.h"

// The concrete format for path: format itself, else by extension ("-" is
// JSONL); SRS_ERR_INVALID_ARG "cannot tell the format of FILE ..." otherwise.
srs_status_t srs_resolve_format(srs_ctx_t *ctx, const char *path, srs_format_t format,
                                srs_format_t *out);
// The same for an output: the message names --out-format; a FIFO or a
// device without an extension is JSONL.
srs_status_t srs_resolve_out_format(srs_ctx_t *ctx, const char *path, srs_format_t format,
                                    srs_format_t *out);
// Samples per row when every row of b has the same length (NPY), else
// SRS_ERR_INVALID_ARG "NPY needs equal rows: ...".
srs_status_t srs_equal_rows(srs_ctx_t *ctx, const srs_batch_t *b, int64_t *row_len);
// Computes start, end, newlines and records of part k (0 <= k < parts) of
// path (fmt SRS_FMT_JSONL or SRS_FMT_CSV) in one process (CSV: every
// chunk's summary is computed here, reading the whole file); first_line and
// row_base are left to the caller (prefix sums over the parts before k). A
// CSV header error is reported here (every part reads the header).
srs_status_t srs_text_part_bounds(srs_ctx_t *ctx, const char *path, srs_format_t fmt, int64_t k,
                                  int64_t parts, srs_text_part_t *out);
// A writer for one rank's rows of an output that host/cli/mpi.c merges:
// srs_writer_open without the NPY header (the merged file gets one for all
// rows) and with the CSV header only when header != 0 (rank 0).
srs_status_t srs_writer_open_part(srs_ctx_t *ctx, const char *path, srs_format_t format,
                                  srs_out_kind_t kind, const srs_data_t *d, int header,
                                  srs_writer_t **out);
// Closes a part writer after its last row and hands over the paths of its
// temporary files (*thr_tmp: the NPY thresholds companion of shaped output,
// else NULL; malloc'd, the caller unlinks and frees). Frees w either way.
srs_status_t srs_writer_close_part(srs_writer_t *w, char **main_tmp, char **thr_tmp);

#endif // SRS_DATA_H
