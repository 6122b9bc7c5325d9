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
#include "srs.h"
#include "srs_eval_math.h"

#ifdef __cplusplus
extern "C" {
#endif

// Bad-row word: min over bad rows of (row << 3 | kind); the caller sets it to ~0 first.
enum {
    SRS_EV_BAD_EMPTY = 1,    // no samples
    SRS_EV_BAD_REWARD = 2,   // a non-finite reward, or a range beyond double precision
    SRS_EV_BAD_LOGW = 3,     // a non-finite logw
    SRS_EV_BAD_GOLD = 4,     // a non-finite gold value
};

// Longest row the CUDA evaluation takes (its per-row scratch is ~100 bytes a sample).
#define SRS_EV_MAX_LEN ((int64_t)1 << 30)

// Everything an evaluation launch reads and writes. Device pointers.
typedef struct {
    // the chunk's rows
    const int64_t *offsets;       // (n_rows_chunk+1,) rebased to 0, or NULL for dense rows
    int64_t row_len;              // samples per row when offsets == NULL
    const void *reward;           // (n_samples,) float or double
    int reward_f32;
    const void *logw;             // (n_samples,) base log-weights, or NULL: uniform
    int logw_f32;
    const void *gold;             // (n_samples,) gold, or NULL: the win key is the reward
    int gold_f32;
    // the evaluation (srs_eval_opts_t, resolved)
    const srs_eval_arm_t *arms;   // (n_arms,)
    int n_arms;
    int n_bon;                    // arms of kind SRS_ARM_BEST_OF_N
    const double *betas;          // (n_betas,)
    int n_betas;
    int preset, solver;
    double B, cap, tol;
    int max_iter;
    int fixed;                    // 1: m* at fixed_beta for every beta
    double fixed_beta;
    double clip;                  // the cap design's c, resolved (>= 0)
    int need_m, need_std;         // some arm is hard/soft; some arm is meanstd
    int64_t bps;                  // scratch bytes per sample: srs_ev_bytes_per_sample
    // outputs
    double *V;                    // (n_rows_chunk, K)
    int64_t K;                    // 2 + n_betas n_arms 8
    unsigned long long *bad;      // (1,)
    // scratch of the global-memory tier
    void *scratch;                // bytes: sum over the tier's rows of len x bps
    const int64_t *scratch_at;    // (n_rows of the launch,) first sample of each row's
                                  // region, in samples; NULL: k x row_len (dense)
} srs_ev_args_t;

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

// Scratch bytes per sample of a row (a multiple of 8): ten-odd doubles and
// three ints, with logw, gold and one array per best-of-n arm as present.
static inline int64_t srs_ev_bytes_per_sample(int weighted, int gold, int n_bon) {
    return 8 * (6 + (weighted ? 1 : 0) + (gold ? 1 : 0) + (int64_t)n_bon) + 16;
}

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

// The kernels' per-row code run on the CPU, one row after another, for tests
// where no GPU is present: group 1 is a one-thread group (the arithmetic and
// order of phases), group 5 or 32 runs each row on that many host threads
// sharing the scratch, with barriers and rank-ordered reductions and scans
// (the parallel decomposition: strided loops, runs of the prefix sums, sorting
// steps, the syncs between phases). a's pointers are host pointers; scratch
// holds the longest row (len x a->bps bytes); a->scratch and a->scratch_at are
// unused. Returns 0, or 1 with srs_cuda_last_error set. Needs no device.
int srs_ev_emulate(const srs_ev_args_t *a, int64_t n_rows, void *scratch, int group);
// srs_ev_weights' per-thread code run on the CPU into host W (n_rows, R+1).
void srs_ev_weights_emulate(double *W, int64_t n_rows, int R, uint64_t seed, int64_t first_global,
                            const uint64_t T[SRS_POIS_MAX]);

#ifdef __cplusplus
}
#endif
#endif // SRS_KERNELS_EVAL_CUH
