/*
 * srs_mpi.h — scale-out of the command line over MPI ranks (host/cli/mpi.c).
 *
 * A command that runs data-parallel over prompts (threshold, shape; eval and
 * score through the same calls) does, on every rank:
 *
 *     srs_mpi_start(cmd)                      MPI_Init when launched by mpirun/srun
 *     rc = srs_mpi_agree(rc)                  after any step that may fail locally
 *     srs_mpi_read(ctx, path, &ro, &d)        this rank's contiguous prompts
 *     srs_mpi_out_open / _put / _finish       one output file in input order
 *     srs_mpi_sum_ordered(acc, n)             sums reduced in rank order (eval)
 *     srs_mpi_stop(rc)
 *
 * Without MPI compiled in (or not launched by an MPI launcher) there is one
 * rank and every call is the single-process path: srs_data_read, the
 * streaming writer, nothing to reduce. The collective calls must be made by
 * every rank in the same order whatever happened locally, so a failing rank
 * passes its exit code to srs_mpi_agree instead of returning early.
 *
 * srs_node_local_rank() is MPI-free and lives in the library, for the CUDA
 * context to pick its GPU (see its contract below).
 */
#ifndef SRS_MPI_H
#define SRS_MPI_H

#include <stddef.h>
#include "srs.h"
#include "internal.h"

// ----------------------------------------------------------------------------
// library side (host/node_rank.c, no MPI)

// srs_node_local_rank(): declared in host/internal.h (the library's, MPI-free).

// ----------------------------------------------------------------------------
// command-line side (host/cli/mpi.c)

// 1 when this build has MPI (make MPI=1, or mpicc found).
int srs_mpi_compiled(void);
// Joins the MPI job when the process was started by an MPI launcher
// (mpirun, srun --mpi=pmix; SRS_MPI=0 never joins). Sets the message
// prefix to "srs: rank R of P" when P > 1. Returns 0, or an exit code with a
// message printed: a build without MPI started as one of several processes,
// or srun started several tasks without an MPI process manager.
int srs_mpi_start(const char *cmd);
// Leaves the MPI job; rank 0 says "no output written" when rc != 0 and
// P > 1. Returns rc.
int srs_mpi_stop(int rc);
int srs_mpi_rank(void);   // 0 .. P-1
int srs_mpi_size(void);   // P (1 without MPI)

// Collective: the largest exit code of all ranks (0 when every rank passed
// 0). Every rank must call it at the same point.
int srs_mpi_agree(int rc);
// Rows [*lo, *hi) of n for this rank: contiguous, in rank order, sizes
// differing by at most one.
void srs_mpi_shard(int64_t n, int64_t *lo, int64_t *hi);
// Collective: sum over all ranks, and over the ranks below this one.
int64_t srs_mpi_sum_i64(int64_t x);
int64_t srs_mpi_exscan_i64(int64_t x);
// Collective: acc (n,) becomes the sum of every rank's acc, added in rank
// order on rank 0 (the same order for a given P, so repeated runs agree
// bitwise) and broadcast. 0 or an exit code.
int srs_mpi_sum_ordered(double *acc, size_t n);

// Collective: reads this rank's part of path into *d (prompt rows
// numbered globally: batch.first_index is the global index of row 0, lines
// are the file's). NPY: the memory map restricted to the rank's rows;
// JSONL/CSV: the rank's byte range (see srs_text_part_t). Returns 0 or an
// exit code (message printed, *d NULL), agreed by all ranks.
int srs_mpi_read(srs_ctx_t *ctx, const char *path, const srs_read_opts_t *ro, srs_data_t **d);

// One output file in input order from the rows every rank puts.
typedef struct srs_mpi_out srs_mpi_out_t;
// Collective: opens the output (P = 1: the streaming writer on path; P > 1:
// a part file per rank beside path). "-" needs P = 1. 0 or an exit code
// (agreed, message printed).
int srs_mpi_out_open(srs_ctx_t *ctx, const char *path, srs_format_t fmt, srs_out_kind_t kind,
                     const srs_data_t *d, srs_mpi_out_t **out);
// Local: as srs_writer_put, rows of this rank's d.
srs_status_t srs_mpi_out_put(srs_mpi_out_t *o, int64_t first_row, int64_t n_rows, const double *m_star,
                             const double *b_eff, const double *shaped);
// Collective: with rc == 0 on every rank, merges the parts into path in rank
// order (MPI-IO, each rank writing its bytes at its offset) and renames it
// into place; otherwise removes everything. Frees o. Returns the agreed exit
// code (message printed).
int srs_mpi_out_finish(srs_mpi_out_t *o, int rc);

#endif // SRS_MPI_H
