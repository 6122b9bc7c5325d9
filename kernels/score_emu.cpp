/*
 * score_emu.cpp — the reward-head kernels' per-element code run on the CPU,
 * for the tests (no GPU needed): score_body.cuh compiled as plain C++, each
 * grid walked thread by thread in whole blocks of SCORE_BLOCK as score.cu launches
 * it (threads past the end included). Built by the host C++ compiler into the
 * test program in every build; not part of the library.
 */
#include <stdint.h>
#include "score_body.cuh"
#include "score_emu.h"

// Threads of a grid of whole blocks covering n items.
static int64_t score_grid_threads(int64_t n) { return (n + SCORE_BLOCK - 1) / SCORE_BLOCK * SCORE_BLOCK; }

extern "C" void srs_score_cast_emulate(const float *w, uint16_t *out, int64_t n, int kind) {
    for (int64_t i = 0; i < score_grid_threads(n); i++) score_cast_at(w, out, n, kind, i);
}

extern "C" void srs_score_bias_emulate(float *out, const float *bias, int64_t n, int64_t heads) {
    for (int64_t i = 0; i < score_grid_threads(n * heads); i++) score_add_bias_at(out, bias, n, heads, i);
}
