/*
 * eval_emu.cpp — the evaluation kernels' per-row code run on the CPU, for the
 * tests (no GPU needed): eval_body.cuh compiled as plain C++, with a
 * one-thread group or G host threads (5, 32, or 256 as the block tiers) sharing the row's scratch in place of a
 * warp or block (group.cuh), and the bootstrap weights' per-thread code. What
 * only a GPU can check is left: the device groups (shuffles,
 * __syncthreads), the tiers' scratch placement and the launchers.
 *
 * Built by the host C++ compiler into the test program, in every build
 * (CPU-only, sanitizer and arm64 builds included); not part of the library.
 */
#include <stdint.h>
#include "eval_body.cuh"

namespace {

// Rows 0 .. n_rows-1, one after another, by a group of G threads sharing the
// scratch (the longest row's region).
template <int G>
void ev_emulate_rows(const srs_ev_args_t &a, int64_t n_rows, void *scratch) {
    srs_host_group_run<G>([&](const auto &g) {
        for (int64_t r = 0; r < n_rows; r++) {
            int64_t start, n;
            ev_row_range(a, r, &start, &n);
            EvRegion R = ev_region(scratch, (int)n, a);
            ev_row(g, a, R, r, start, (int)n);
            g.sync();  // the next row reuses the scratch
        }
    });
}

}  // namespace

extern "C" int srs_ev_emulate(const srs_ev_args_t *a, int64_t n_rows, void *scratch, int group) {
    for (int64_t r = 0; r < n_rows; r++) {
        int64_t start, n;
        ev_row_range(*a, r, &start, &n);
        if (n > SRS_EV_MAX_LEN) return -1;
    }
    switch (group) {
    case 1: ev_emulate_rows<1>(*a, n_rows, scratch); return 0;
    case 5: ev_emulate_rows<5>(*a, n_rows, scratch); return 0;
    case 32: ev_emulate_rows<32>(*a, n_rows, scratch); return 0;
    case 256: ev_emulate_rows<256>(*a, n_rows, scratch); return 0;
    default: return -1;
    }
}

extern "C" void srs_ev_weights_emulate(double *W, int64_t n_rows, int R, uint64_t seed, int64_t first_global,
                                       const uint64_t T[SRS_POIS_MAX]) {
    const int64_t nq = (R + 3) / 4;
    for (int64_t x = 0; x < n_rows * nq; x++) ev_weights_at(W, x, nq, R, seed, first_global, T);
}
