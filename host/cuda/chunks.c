/*
 * chunks.c — how the CUDA pipelines cut a batch into chunks, and how a chunk's
 * rows are staged: device-free C, compiled in every build, so that the CPU
 * suite tests the very code the CUDA backend runs (tests/test_cuda.c:
 * cuda_chunks_*), with the chunk-size hooks that make the GPU tests span
 * many chunks.
 */
#include <stdlib.h>
#include "internal.h"
#include "score.h"

int64_t srs_env_pos(const char *name) {
    const char *s = getenv(name);
    if (!s || !*s) return 0;
    char *end;
    long long x = strtoll(s, &end, 10);
    return *end == '\0' && x > 0 ? (int64_t)x : 0;
}

void srs_chunk_caps(const srs_batch_t *b, int64_t max_len, int64_t want_s, int64_t fit_s, int64_t rows_min,
                    int64_t *cap_s, int64_t *cap_r) {
    const int64_t np = b->n_prompts;
    int64_t s = want_s;
    int64_t hook = srs_env_pos("SRS_CUDA_CHUNK_SAMPLES");
    if (hook > 0 && hook < s) s = hook;
    if (s > fit_s / 2) s = fit_s / 2;
    int64_t total = srs_batch_n_samples(b);
    if (s > total) s = total;
    if (s < max_len) s = max_len;   // a chunk holds at least its longest row
    if (s < 1) s = 1;
    // rows: dense rows fill s; CSR chunks end at s samples or r rows
    int64_t r = b->offsets ? (s > rows_min ? s : rows_min) : (b->row_len > 0 ? s / b->row_len : np);
    if (r < 1) r = 1;
    if (r > np) r = np;
    if (!b->offsets && b->row_len == 0) r = np > 0x7fffffff ? 0x7fffffff : np;
    *cap_s = s;
    *cap_r = r;
}

int64_t srs_chunk_next(const srs_batch_t *b, int64_t i0, int64_t cap_s, int64_t cap_r) {
    const int64_t np = b->n_prompts;
    int64_t nr = 0;
    if (b->offsets) {  // whole rows while they fit (at least one row)
        const int64_t s0 = b->offsets[i0];
        while (i0 + nr < np && nr < cap_r && (nr == 0 || b->offsets[i0 + nr + 1] - s0 <= cap_s)) nr++;
    } else {
        nr = np - i0 < cap_r ? np - i0 : cap_r;
    }
    return nr;
}

void srs_chunk_stage_rows(const int64_t *offsets, int64_t i0, int64_t nr, int n_tiers,
                          int (*tier_of)(int64_t len, const void *u), const void *u, int64_t *off, int64_t *rows,
                          int64_t *tier_n, int64_t *tier_at, int64_t *tier_max) {
    const int64_t s0 = offsets[i0];
    for (int t = 0; t < n_tiers; t++) tier_n[t] = tier_max[t] = 0;
    for (int64_t i = 0; i <= nr; i++) off[i] = offsets[i0 + i] - s0;
    for (int64_t i = 0; i < nr; i++) {
        int64_t len = off[i + 1] - off[i];
        int t = tier_of(len, u);
        tier_n[t]++;
        if (len > tier_max[t]) tier_max[t] = len;
    }
    int64_t at = 0;
    for (int t = 0; t < n_tiers; t++) { tier_at[t] = at; at += tier_n[t]; }
    // the rows of each tier in row order, the tiers one after another
    int64_t fill[64];
    for (int t = 0; t < n_tiers && t < 64; t++) fill[t] = tier_at[t];
    for (int64_t i = 0; i < nr; i++) rows[fill[tier_of(off[i + 1] - off[i], u)]++] = i;
}

int64_t srs_score_chunk_rows(int64_t n, int64_t d, int64_t item, int64_t chunk_bytes, int64_t max_rows) {
    int64_t chunk = chunk_bytes / (item * (d > 0 ? d : 1));
    if (max_rows > 0 && chunk > max_rows) chunk = max_rows;
    if (chunk > n) chunk = n;
    if (chunk < 1) chunk = 1;
    return chunk;
}
