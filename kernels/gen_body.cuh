/*
 * gen_body.cuh — the generator kernels' per-thread code (gen.cu) and the
 * chunk plan of their launcher, shared with the CPU tests' emulation
 * (gen_emu.cpp): __host__ __device__, and plain C++ without CUDA.
 *
 * A chunk is the global samples [s0, s0 + n). Its rows are i0 .. i0 + n_rows
 * - 1 (every row with a sample in it; a boundary may cut a row), and:
 *   gen_prompt_at  thread k: c[k] = srs_gen_prompt_value(prompt i0 + k), the
 *                  per-prompt draw (one Box-Muller a prompt, not a sample)
 *   gen_sample_at  thread k: sample s0 + k, its row by binary search in the
 *                  rows' global offsets (ragged) or by division (equal rows),
 *                  then srs_gen_sample into u[k], g[k], lw[k]
 * Threads past the end (k >= n_rows, k >= n) do nothing, as in a grid
 * rounded up to whole blocks.
 */
#ifndef SRS_KERNELS_GEN_BODY_CUH
#define SRS_KERNELS_GEN_BODY_CUH

#include <stdint.h>
#include "group.cuh"   // __host__, __device__ in plain C++
#include "srs_gen_math.h"

#define GEN_HD __host__ __device__

#define GEN_BLOCK 256                          // threads a block
#define GEN_CHUNK_DEFAULT ((int64_t)1 << 24)   // 16 Mi samples
#define GEN_CHUNK_MAX ((int64_t)1 << 28)

// Read-only loads: through the non-coherent cache on the device.
template <class T>
GEN_HD __forceinline__ T gen_ld(const T *p, int64_t k) {
#ifdef __CUDA_ARCH__
    return __ldg(p + k);
#else
    return p[k];
#endif
}

// ----------------------------------------------------------------------------
// per thread

// c[k] = srs_gen_prompt_value(prompt i0 + k), k < n_rows.
GEN_HD __forceinline__ void gen_prompt_at(const srs_gen_params_t &p, int64_t i0, int64_t n_rows, double *c,
                                          int64_t k) {
    if (k < n_rows) c[k] = srs_gen_prompt_value(&p, i0 + k);
}

// Sample s0 + k (global index) into u[k], g[k], lw[k] (lw may be NULL). Rows
// i0 .. i0+n_rows-1 cover the chunk; off (n_rows+1,) are their global offsets
// (ragged), or off == NULL and every row has row_len samples; c (n_rows,)
// their per-prompt draws.
GEN_HD __forceinline__ void gen_sample_at(const srs_gen_params_t &p, const int64_t *off, int64_t row_len,
                                          int64_t i0, int64_t n_rows, int64_t s0, int64_t n, const double *c,
                                          double *u, double *g, double *lw, int64_t k) {
    if (k >= n) return;
    int64_t s = s0 + k, r, j;
    if (off) {
        // the last row r with off[r] <= s (rows are never empty, but an empty
        // row would be skipped correctly too)
        int64_t lo = 0, hi = n_rows - 1;
        while (lo < hi) {
            int64_t mid = (lo + hi + 1) >> 1;
            if (gen_ld(off, mid) <= s) lo = mid;
            else hi = mid - 1;
        }
        r = lo;
        j = s - gen_ld(off, r);
    } else {
        int64_t i = s / row_len;
        r = i - i0;
        j = s - i * row_len;
    }
    double uu, gg, ll = 0.0;
    srs_gen_sample(&p, i0 + r, j, gen_ld(c, r), &uu, &gg, lw ? &ll : NULL);
    u[k] = uu;
    g[k] = gg;
    if (lw) lw[k] = ll;
}

// ----------------------------------------------------------------------------
// the launcher's chunk plan (host)

// Samples per chunk: chunk (0: the default) within [1, GEN_CHUNK_MAX] and at
// most ns, the data set's samples (ns >= 1).
inline int64_t gen_chunk_size(int64_t chunk, int64_t ns) {
    if (chunk <= 0) chunk = GEN_CHUNK_DEFAULT;
    if (chunk > GEN_CHUNK_MAX) chunk = GEN_CHUNK_MAX;
    return chunk > ns ? ns : chunk;
}

// Whether the rows are all of one length (the row of a sample is a division):
// not ragged, or twopoint (two samples a prompt either way).
inline int gen_equal_rows(const srs_gen_params_t &p) {
    return !(p.ragged && p.scenario != SRS_SCEN_TWOPOINT);
}

// The rows of the chunk [s0, s0 + n) given the data set's CSR offsets: *i0,
// the first row of the previous chunk on entry (0 for the first), becomes the
// chunk's first row; returns the number of rows (at most n: each has a
// sample in the chunk).
inline int64_t gen_chunk_rows(const int64_t *offsets, int64_t s0, int64_t n, int64_t *i0) {
    while (offsets[*i0 + 1] <= s0) ++*i0;
    int64_t i1 = *i0;
    while (offsets[i1 + 1] < s0 + n) i1++;
    return i1 - *i0 + 1;
}

#endif // SRS_KERNELS_GEN_BODY_CUH
