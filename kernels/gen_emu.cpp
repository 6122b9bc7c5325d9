/*
 * gen_emu.cpp — the generator kernels' per-thread code run on the CPU, for
 * the tests (no GPU needed): gen_body.cuh compiled as plain C++, driven by
 * the launcher's chunk plan (srs_gen_cuda's, without streams or pinned
 * buffers). Each chunk's prompt grid and sample grid are walked thread by
 * thread, whole blocks of GEN_BLOCK threads as launched, so the threads past
 * the end run too. Built by the host C++ compiler into the test program in
 * every build; not part of the library.
 */
#include <stdint.h>
#include <string.h>
#include <vector>
#include "gen.cuh"
#include "gen_body.cuh"

// Threads of a grid of whole blocks covering n items.
static int64_t gen_grid_threads(int64_t n) { return (n + GEN_BLOCK - 1) / GEN_BLOCK * GEN_BLOCK; }

extern "C" void srs_gen_emulate(const srs_gen_params_t *p, const int64_t *offsets, int64_t n_prompts, double *u,
                                double *lw, double *g, int64_t chunk) {
    if (n_prompts < 1) return;
    const int64_t ns = offsets[n_prompts];
    if (ns <= 0) return;
    chunk = gen_chunk_size(chunk, ns);
    const int ragged = !gen_equal_rows(*p);
    const int64_t row_len = offsets[1] - offsets[0];
    std::vector<double> c((size_t)chunk + 1), cu((size_t)chunk), cg((size_t)chunk), clw((size_t)chunk);
    int64_t i0 = 0;
    for (int64_t s0 = 0; s0 < ns; s0 += chunk) {
        const int64_t n = ns - s0 < chunk ? ns - s0 : chunk;
        const int64_t n_rows = gen_chunk_rows(offsets, s0, n, &i0);
        for (int64_t k = 0; k < gen_grid_threads(n_rows); k++) gen_prompt_at(*p, i0, n_rows, c.data(), k);
        for (int64_t k = 0; k < gen_grid_threads(n); k++)
            gen_sample_at(*p, ragged ? offsets + i0 : nullptr, row_len, i0, n_rows, s0, n, c.data(), cu.data(),
                          cg.data(), lw ? clw.data() : nullptr, k);
        const size_t bytes = sizeof(double) * (size_t)n;
        memcpy(u + s0, cu.data(), bytes);
        memcpy(g + s0, cg.data(), bytes);
        if (lw) memcpy(lw + s0, clw.data(), bytes);
    }
}
