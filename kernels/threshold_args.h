/*
 * threshold_args.h — what one threshold launch reads and writes
 * (srs_thr_args_t): the kernels' argument (threshold.cuh) and that of their
 * per-row code run on the CPU (threshold_emu.cpp). Valid C without CUDA.
 */
#ifndef SRS_KERNELS_THRESHOLD_ARGS_H
#define SRS_KERNELS_THRESHOLD_ARGS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Everything a threshold launch reads and writes. Device pointers (host pointers when emulated).
typedef struct {
    const int64_t *offsets;   // (n_rows_chunk+1,) rebased to 0, or NULL for dense rows
    int64_t row_len;          // samples per row when offsets == NULL
    const void *reward;       // (n_samples,) float or double
    int reward_f32;           // 1: reward is float, 0: double
    const void *logw;         // (n_samples,) base log-weights, or NULL for uniform
    int logw_f32;
    // threshold options (srs_threshold_opts_t, resolved)
    int preset, solver;
    double B, beta, cap, tol;
    int max_iter;             // 0 = the solver's default (as on the CPU)
    // shaping (shaped != NULL)
    int design;
    double alpha, clip;       // clip already resolved (>= 0)
    // outputs
    double *m_star;           // (n_rows_chunk,) or NULL
    double *b_eff;            // (n_rows_chunk,) or NULL
    void *shaped;             // (n_samples,) float or double, or NULL: thresholds only
    int shaped_f32;
    unsigned long long *bad;  // (1,) min over bad rows of (row << 2 | kind); kind 1 empty,
                              // 2 bad reward, 3 bad logw; the caller sets it to ~0 first
} srs_thr_args_t;

// Where the emulated per-row code keeps a row (the kernels' row types).
typedef enum {
    SRS_THR_EMU_REG = 0,   // RegRow: spread over the group's registers (group and block tiers)
    SRS_THR_EMU_THREAD,    // ThreadRow: one thread holds it all (short rows; group 1, n <= 32)
    SRS_THR_EMU_SMEM,      // SmemRow: shared memory
    SRS_THR_EMU_GLOBAL,    // GlobalRow: re-read from memory on every pass
    SRS_THR_EMU_TOTALS,    // TotRow: spread over the group's registers with the row's
                           // totals (the lane and block kernels of the register tiers)
} srs_thr_emu_row_t;

// The threshold kernels' per-row code (threshold_body.cuh) run on the CPU
// (threshold_emu.cpp): rows 0 .. n_rows-1 of a, whose pointers are host
// pointers, one row after another, each by a group of `group` host threads (1:
// the one-thread group the thread-per-row kernels use; 5, 32, 256, 512:
// threads with barriers and rank-ordered reductions) keeping the row as `row`
// says. REG takes rows up to 4096 samples for groups 1 and 5, 256 for 32,
// 4096 for 256; THREAD group 1 only, up to 32 samples; TOTALS 32 samples a
// thread (16 weighted; 64 unweighted for rows up to 2048 on 32) on groups 32,
// 256 and 512, and up to 4096 a thread on groups 1 and 5. passes, when not NULL,
// gets the number of passes over samples the solver made (summed over rows).
// Returns 0, or -1 when the combination is not supported (nothing ran).
int srs_thr_emulate(const srs_thr_args_t *a, int64_t n_rows, int row, int group, int64_t *passes);

#ifdef __cplusplus
}
#endif
#endif // SRS_KERNELS_THRESHOLD_ARGS_H
