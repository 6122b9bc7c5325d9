/*
 * eval.cuh — launchers of the evaluation kernels (eval.cu), driven by the
 * CUDA evaluation pipeline (host/cuda/cuda_eval.c).
 *
 * One launch computes, for a set of rows of a chunk in device memory, the K
 * metric values of each row into V (rows, K): column 0 is 1, column 1 is 1
 * when the data has gold, and cell (bi, ai) metric m sits at column
 * 2 + (bi n_arms + ai) 8 + m — the accumulator layout of host/eval.c. The
 * bootstrap is then S += W V with W (rows, R+1) the Poisson weights of
 * srs_ev_weights (last column 1: the point estimate), one cuBLAS DGEMM.
 * Rows are CSR (offsets rebased to the chunk, offsets[0] == 0) or dense
 * (offsets NULL, row_len samples each). Valid C, so the host includes it.
 */
#ifndef SRS_KERNELS_EVAL_CUH
#define SRS_KERNELS_EVAL_CUH

#include <stddef.h>
#include <stdint.h>
#include <cuda_runtime.h>
#include "eval_args.h"

#ifdef __cplusplus
extern "C" {
#endif

// Row-length tiers. The warp tiers run one warp per row with the row's
// scratch in shared memory; the block tier one 256-thread block per row, the
// scratch in shared memory; the global tier the same block with the scratch
// in global memory (any length).
typedef enum {
    SRS_EV_TIER_W32 = 0,   // len <= 32
    SRS_EV_TIER_W64,
    SRS_EV_TIER_W128,
    SRS_EV_TIER_W256,
    SRS_EV_TIER_BLOCK,     // len x bps <= the block's shared memory
    SRS_EV_TIER_GLOBAL,
    SRS_EV_TIER_COUNT_
} srs_ev_tier_t;

// Reads the current device's shared-memory limit and raises the kernels'
// dynamic shared-memory limit; call once per device before launching.
// Returns 0, or 1 with srs_cuda_last_error set.
int srs_ev_init(void);
// The tier of a row of len samples with bps scratch bytes per sample (uses
// the limit read by srs_ev_init).
srs_ev_tier_t srs_ev_tier(int64_t len, int64_t bps);

// Launches tier `tier` over n_rows rows on stream s: launch row k is chunk row
// rows[k] (device (n_rows,) int64) or k when rows is NULL. Every row must fit
// the tier (srs_ev_tier of it <= tier); max_len is the longest row of the
// launch. Returns 0, or 1 with srs_cuda_last_error set.
int srs_ev_launch(const srs_ev_args_t *a, srs_ev_tier_t tier, const int64_t *rows, int64_t n_rows,
                  int64_t max_len, cudaStream_t s);

// The Poisson(1) bootstrap weights of rows first_global .. first_global +
// n_rows - 1 into W (n_rows, R+1): replicate r of global prompt gi is
// srs_poisson1 of word r % 4 of srs_philox_block(seed, gi, r / 4,
// SRS_EVAL_STREAM) with table T (srs_poisson_table); column R is 1.
int srs_ev_weights(double *W, int64_t n_rows, int R, uint64_t seed, int64_t first_global,
                   const uint64_t T[SRS_POIS_MAX], cudaStream_t s);

#ifdef __cplusplus
}
#endif
#endif // SRS_KERNELS_EVAL_CUH
