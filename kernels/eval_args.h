/*
 * eval_args.h — what one evaluation launch reads and writes (srs_ev_args_t):
 * the kernels' argument (eval.cuh) and that of their per-row code run on the
 * CPU (eval_emu.cpp, srs_ev_emulate). Valid C without CUDA.
 */
#ifndef SRS_KERNELS_EVAL_ARGS_H
#define SRS_KERNELS_EVAL_ARGS_H

#include <stddef.h>
#include <stdint.h>
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

// Everything an evaluation launch reads and writes. Device pointers (host pointers when emulated).
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

// Scratch bytes per sample of a row (a multiple of 8): ten-odd doubles and
// three ints, with logw, gold and one array per best-of-n arm as present.
static inline int64_t srs_ev_bytes_per_sample(int weighted, int gold, int n_bon) {
    return 8 * (6 + (weighted ? 1 : 0) + (gold ? 1 : 0) + (int64_t)n_bon) + 16;
}

// The kernels' per-row code run on the CPU, one row after another, for tests
// where no GPU is present: group 1 is a one-thread group (the arithmetic and
// order of phases), group 5, 32 (a warp) or 256 (the block tiers' block) runs
// each row on that many host threads sharing the scratch, with barriers and
// rank-ordered reductions and scans (the parallel decomposition: strided
// loops, runs of the prefix sums, sorting steps, the syncs between phases).
// a's pointers are host pointers; scratch holds the longest row (len x
// a->bps bytes); a->scratch and a->scratch_at are unused. Returns 0, or -1
// (nothing ran) for a group size other than 1, 5, 32 and 256 or a row longer
// than SRS_EV_MAX_LEN. Needs no device or CUDA build (eval_emu.cpp is
// compiled by the host C++ compiler into every build).
int srs_ev_emulate(const srs_ev_args_t *a, int64_t n_rows, void *scratch, int group);
// srs_ev_weights' per-thread code run on the CPU into host W (n_rows, R+1).
void srs_ev_weights_emulate(double *W, int64_t n_rows, int R, uint64_t seed, int64_t first_global,
                            const uint64_t T[SRS_POIS_MAX]);

#ifdef __cplusplus
}
#endif
#endif // SRS_KERNELS_EVAL_ARGS_H
