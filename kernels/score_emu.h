/*
 * score_emu.h — the reward-head kernels' per-element code (score_body.cuh)
 * run on the CPU (score_emu.cpp, every build, no device needed; tests).
 * Valid C without CUDA.
 */
#ifndef SRS_KERNELS_SCORE_EMU_H
#define SRS_KERNELS_SCORE_EMU_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// score_head_cast_kernel's grid over w (n,): out[i] = w[i] as binary16 (kind
// 2) or bfloat16 (kind 3) bits, round to nearest even.
void srs_score_cast_emulate(const float *w, uint16_t *out, int64_t n, int kind);
// score_add_bias_kernel's grid over out (n, heads): out[i] += bias[i % heads].
void srs_score_bias_emulate(float *out, const float *bias, int64_t n, int64_t heads);

#ifdef __cplusplus
}
#endif
#endif // SRS_KERNELS_SCORE_EMU_H
