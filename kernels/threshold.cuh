/*
 * threshold.cuh — launchers of the batched threshold kernels (threshold.cu).
 *
 * One launch solves a set of rows of a chunk that lives in device memory:
 * m*(x) and B_eff per row, and, when shaping is asked for, the shaped reward of
 * every sample in the same pass over the row. Rows are CSR (offsets rebased to
 * the chunk, offsets[0] == 0) or dense (offsets NULL, row_len samples each).
 * Valid C, so the host backend (host/cuda/cuda_backend.c) includes it.
 */
#ifndef SRS_KERNELS_THRESHOLD_CUH
#define SRS_KERNELS_THRESHOLD_CUH

#include <stddef.h>
#include <stdint.h>
#include <cuda_runtime.h>
#include "threshold_args.h"

#ifdef __cplusplus
extern "C" {
#endif


// Row-length tiers, each a kernel shape: the row in registers (a thread, a
// group of lanes or a block per row; srs_thr_set_short_rows says which, the
// comments below give the earlier kernels), a 512-thread block with the row in
// shared memory, and a global-memory fallback.
typedef enum {
    SRS_TIER_G8 = 0,   // len <= 8:    8 lanes, 1 sample per lane
    SRS_TIER_G16,      // len <= 16:  16 lanes
    SRS_TIER_W1,       // len <= 32:  a warp, 1 per lane
    SRS_TIER_W2,       // len <= 64
    SRS_TIER_W4,       // len <= 128
    SRS_TIER_W8,       // len <= 256
    SRS_TIER_B2,       // len <= 512:  block of 256, 2 per thread
    SRS_TIER_B4,       // len <= 1024
    SRS_TIER_B8,       // len <= 2048
    SRS_TIER_B16,      // len <= 4096
    SRS_TIER_SMEM,     // len <= srs_thr_smem_max_len(): block of 512, row in shared memory
    SRS_TIER_GLOBAL,   // longer: block of 512, the row re-read from global memory per pass
    SRS_TIER_COUNT_
} srs_thr_tier_t;

// The tier of a row of len samples (weighted: the batch has logw). Uses the
// device limit read by srs_thr_init.
srs_thr_tier_t srs_thr_tier(int64_t len, int weighted);
// Longest row the shared-memory tier holds on the current device.
int64_t srs_thr_smem_max_len(int weighted);
// Reads the current device's shared-memory limit and raises the kernels'
// dynamic shared-memory limit; call once per device before launching.
// Returns 0, or 1 with srs_cuda_last_error set.
int srs_thr_init(void);

// The register tiers (rows up to 4096 samples) keep each row's totals and 32
// samples a thread (16 when weighted): a thread per row up to 32 samples (16
// weighted), then 2 to 32 lanes, then a block of 64 to 256 threads (1, the
// default); or run the earlier kernels, a group of 8 to 32 lanes or a block of
// 256 threads with 1 to 16 samples a thread (0, kept for comparison). Not
// thread-safe: set it before launching.
void srs_thr_set_short_rows(int thread_per_row);

// Launches tier `tier` over n_rows rows on stream s: row k of the launch is
// rows[k] (device, (n_rows,) int64 indices into the chunk) or k when rows is
// NULL. Every row must fit the tier (shorter rows are fine: a tier holds any
// row up to its length); max_len is the longest row of the launch (it sizes
// the shared-memory tier's buffer). Returns 0, or 1 with srs_cuda_last_error set.
int srs_thr_launch(const srs_thr_args_t *a, srs_thr_tier_t tier, const int64_t *rows,
                   int64_t n_rows, int64_t max_len, cudaStream_t s);

#ifdef __cplusplus
}
#endif
#endif // SRS_KERNELS_THRESHOLD_CUH
