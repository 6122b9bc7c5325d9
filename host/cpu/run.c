/*
 * run.c — the CPU backend's row loop and entry points (host/cpu/cpu.h): rows
 * taken in chunks by the OpenMP threads, each sent to its path (short rows to
 * lanes.c, long uniform rows to bracket.c, the rest to solve.c's general
 * path), the first bad row reported, and the backend table dispatch.c picks
 * from (srs_cpu_backend_<level>).
 *
 * Built once per CPU level (v2, v3, v4; neon; native).
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "cpu.h"

// ----------------------------------------------------------------------------
// per-thread scratch

static int scratch_init(scratch_t *s, int64_t max_len, int weighted) {
    size_t n = (size_t)(max_len > 0 ? max_len : 1);
    memset(s, 0, sizeof *s);
    s->d = malloc(n * sizeof(double));
    s->td = malloc(n * sizeof(double));
    // the lane solvers' finish needs weights even for uniform rows
    s->tp = malloc((n > LANE_MAX_N ? n : LANE_MAX_N) * sizeof(double));
    if (weighted) s->p = malloc(n * sizeof(double));
    s->mid = aligned_alloc(64, ((n + 16) * sizeof(double) + 63) / 64 * 64);
    // size: a multiple of the alignment; zeroed, since a pass over several groups
    // reads (masked out) samples past a shorter group's rows
    size_t gbytes = (LANE_GROUPS * sizeof *s->g + 63) / 64 * 64;
    s->g = aligned_alloc(64, gbytes);
    if (s->g) memset(s->g, 0, gbytes);
    s->memo_lg = NAN;
    return s->d && s->td && s->tp && s->g && s->mid && (!weighted || s->p);
}

static void scratch_free(scratch_t *s) {
    free(s->d);
    free(s->p);
    free(s->td);
    free(s->tp);
    free(s->g);
    free(s->mid);
}

// ----------------------------------------------------------------------------
// the row loop shared by thresholds and shaping

// Asks for row i's samples in cache: the bracket path's first reads of a row
// are its subsample, one per cache line, which no hardware prefetcher sees
// coming; issued a group ahead they overlap the current group's work.
// always_inline: as a separate function gcc finds it free of side effects
// (__builtin_prefetch counts as none) and deletes the calls.
static inline __attribute__((always_inline)) void prefetch_row(const srs_batch_t *b, int64_t i) {
    int64_t start, n;
    srs_batch_row(b, i, &start, &n);
    size_t elem = b->reward.dtype == SRS_F32 ? sizeof(float) : sizeof(double);
    const char *p = (const char *)b->reward.data + (size_t)start * elem;
    for (size_t off = 0; off < (size_t)n * elem; off += 64) __builtin_prefetch(p + off, 0, 3);
}

// One row by the general path: loaded into the scratch buffer, solved there.
static int general_row(const job_t *jb, scratch_t *s, int64_t i, int64_t base) {
    const srs_batch_t *b = jb->b;
    int64_t start, n;
    srs_batch_row(b, i, &start, &n);
    const double *p = b->logw.data ? s->p : NULL;
    row_t r;
    int rc = load_row(b, start, n, s->d, b->logw.data ? s->p : NULL, &r);
    if (rc != ROW_OK) return rc;
    srs_preset_vals_t pv = preset_row(jb->to, r.dmin, r.dmax, s);
    double m = solve_row(jb, s->d, p, n, &r, pv.eps, s);
    if (jb->m_star) jb->m_star[i] = unshift(&r, m);
    if (jb->b_eff) jb->b_eff[i] = pv.b_eff;
    if (jb->so) shape_row(jb, start, base, s->d, p, 1, n, &r, m, pv);
    return ROW_OK;
}

// One long uniform row by the bracket path (the general path when that
// declines the row).
static int long_row(const job_t *jb, scratch_t *s, int64_t i, int64_t base, const bracket_t *br) {
    const srs_batch_t *b = jb->b;
    int64_t start, n;
    srs_batch_row(b, i, &start, &n);
    row_t r;
    double m;
    srs_preset_vals_t pv;
    if (solve_long_uniform(jb->to, &b->reward, start, n, br, s, &r, &m, &pv) != LONG_OK)
        return general_row(jb, s, i, base);
    if (jb->m_star) jb->m_star[i] = unshift(&r, m);
    if (jb->b_eff) jb->b_eff[i] = pv.b_eff;
    if (jb->so) {
        // shaping needs the shifted row (and its mean) in s->d
        load_row(b, start, n, s->d, NULL, &r);
        shape_row(jb, start, base, s->d, NULL, 1, n, &r, m, pv);
    }
    return ROW_OK;
}

// Rows are taken in chunks of ROW_CHUNK by the threads (dense short rows: up to
// CHUNK_BYTES of input, a multiple of LANE_GROUPS groups and at least
// ROW_CHUNK rows, so that the hardware prefetchers, which stop at page
// boundaries, see long runs); within a chunk, short
// rows fill lane groups and long rows are solved one at a time.
#define ROW_CHUNK 64
#define CHUNK_BYTES 65536

static srs_status_t run_rows(srs_ctx_t *ctx, const job_t *jb) {
    const srs_batch_t *b = jb->b;
    const int weighted = b->logw.data != NULL;
    int64_t max_len = b->row_len;
    if (b->offsets) {
        max_len = 0;
        for (int64_t i = 0; i < b->n_prompts; i++) {
            int64_t len = b->offsets[i + 1] - b->offsets[i];
            if (len > max_len) max_len = len;
        }
    }
    const int64_t base = b->offsets ? b->offsets[0] : 0;
    // long uniform rows take the bracket path, unless a pass limit is set
    const int long_fast = !weighted && jb->to->max_iter == 0 && jb->to->solver != SRS_SOLVER_BISECT;
    // short uniform rows, dinkelbach or exact: lanes_uniform, LANE_GROUPS groups at a time
    const int multi = !weighted && jb->to->solver != SRS_SOLVER_BISECT;
    const int dense_short = multi && !b->offsets && b->row_len >= 1 && b->row_len <= LANE_MAX_N;
    const size_t row_bytes = (size_t)b->row_len * (b->reward.dtype == SRS_F32 ? sizeof(float) : sizeof(double));
    int64_t chunk = dense_short ? (int64_t)(CHUNK_BYTES / row_bytes) / (LANES * LANE_GROUPS) * (LANES * LANE_GROUPS)
                                : ROW_CHUNK;
    if (chunk < ROW_CHUNK) chunk = ROW_CHUNK;
    int64_t bad_row = INT64_MAX;
    int bad_kind = ROW_OK, nomem = 0;

#pragma omp parallel num_threads(ctx->n_threads)
    {
        scratch_t s;
        int ok = scratch_init(&s, max_len, weighted);
        if (!ok) {
#pragma omp atomic write
            nomem = 1;
        }
        const int64_t n_chunks = (b->n_prompts + chunk - 1) / chunk;
#pragma omp for schedule(dynamic, 1)
        for (int64_t c = 0; c < n_chunks; c++) {
            if (!ok) continue;
            int64_t i1 = (c + 1) * chunk < b->n_prompts ? (c + 1) * chunk : b->n_prompts;
            for (int64_t i = c * chunk; i < i1;) {
                if (dense_short) {
                    // dense rows: a whole group at once, straight from the row index
                    lanes_t *cur = &s.g[s.ng];
                    int take = i1 - i < LANES ? (int)(i1 - i) : LANES;
                    for (int l = 0; l < take; l++) {
                        cur->row[l] = i + l;
                        cur->start[l] = (i + l) * b->row_len;
                        cur->len[l] = b->row_len;
                    }
                    cur->nl = take;
                    // the rows LANE_GROUPS groups ahead, in this chunk
                    const char *ahead = (const char *)b->reward.data + (size_t)(i + LANE_GROUPS * LANES) * row_bytes;
                    const char *end = (const char *)b->reward.data + (size_t)i1 * row_bytes;
                    for (size_t off = 0; off < (size_t)LANES * row_bytes && ahead + off < end; off += 64)
                        __builtin_prefetch(ahead + off, 0, 3);
                    i += take;
                    if (++s.ng == LANE_GROUPS || i == i1) {
                        lanes_uniform(jb, s.g, s.ng, &s, base, &bad_row, &bad_kind);
                        s.ng = 0;
                    }
                    continue;
                }
                int64_t start, n;
                srs_batch_row(b, i, &start, &n);
                if (long_fast && n > LANE_MAX_N) {
                    // a group of up to LANES long rows: brackets together, then each row
                    int64_t rows[LANES];
                    int g = 0;
                    for (; g < LANES && i + g < i1; g++) {
                        int64_t st, len;
                        srs_batch_row(b, i + g, &st, &len);
                        if (len <= LANE_MAX_N) break;
                        rows[g] = i + g;
                    }
                    for (int l = g; l < LANES; l++) rows[l] = i;  // idle lanes
                    bracket_t br[LANES];
                    sub_brackets(b, rows, jb->to, &s, br);
                    for (int l = 0; l < g; l++) {
                        // the next group's rows, one per row of this one; past the
                        // end of the chunk too (the thread that takes the next
                        // chunk then finds them in the shared L3)
                        if (i + g + l < b->n_prompts) prefetch_row(b, i + g + l);
                        int rc = long_row(jb, &s, i + l, base, &br[l]);
                        if (rc != ROW_OK) note_bad(&bad_row, &bad_kind, i + l, rc);
                    }
                    i += g;
                    continue;
                }
                int rc;
                if (n >= 1 && n <= LANE_MAX_N) {
                    // a group ahead: the transposed reads of eight rows at once are
                    // not a pattern the hardware prefetchers follow
                    if (!weighted && i + LANES < b->n_prompts) prefetch_row(b, i + LANES);
                    lanes_t *cur = &s.g[s.ng];
                    rc = lane_load(cur, cur->nl, b, i);
                    if (rc == ROW_OK && ++cur->nl == LANES) {
                        if (multi) {
                            if (++s.ng == LANE_GROUPS) {
                                lanes_uniform(jb, s.g, s.ng, &s, base, &bad_row, &bad_kind);
                                s.ng = 0;
                            }
                        } else
                            lanes_solve(jb, cur, &s, base, &bad_row, &bad_kind);
                    }
                } else {
                    rc = general_row(jb, &s, i, base);
                }
                if (rc != ROW_OK) note_bad(&bad_row, &bad_kind, i, rc);
                i++;
            }
            if (multi) {
                int ng = s.ng + (s.g[s.ng].nl > 0);
                if (ng) lanes_uniform(jb, s.g, ng, &s, base, &bad_row, &bad_kind);
                s.ng = 0;
                continue;
            }
            if (s.g->nl) lanes_solve(jb, s.g, &s, base, &bad_row, &bad_kind);
        }
        scratch_free(&s);
    }
    if (nomem) return srs_fail(ctx, SRS_ERR_NOMEM, "out of memory for row buffers of %lld samples",
                               (long long)max_len);
    if (bad_row == INT64_MAX) return SRS_OK;

    return srs_fail_bad_row(ctx, b, bad_row, bad_kind);
}

srs_status_t srs_fail_bad_row(srs_ctx_t *ctx, const srs_batch_t *b, int64_t row, int kind) {
    int64_t g = b->first_index + row, start, n;
    srs_batch_row(b, row, &start, &n);
    if (kind == ROW_EMPTY)
        return srs_fail_row(ctx, SRS_ERR_BAD_INPUT, g, "row %lld: empty row (no samples)", (long long)g);
    const srs_vec_t *v = kind == ROW_BAD_LOGW ? &b->logw : &b->reward;
    const char *what = kind == ROW_BAD_LOGW ? "logw" : "reward";
    int64_t j = first_nonfinite(v, start, n);
    if (j < 0)
        return srs_fail_row(ctx, SRS_ERR_BAD_INPUT, g,
                            "row %lld: rewards too large for double precision (their range, or the row "
                            "length times the largest |u - u_0|, overflows)",
                            (long long)g);
    return srs_fail_row(ctx, SRS_ERR_BAD_INPUT, g, "row %lld, sample %lld: %s is %g (must be finite)",
                        (long long)g, (long long)j, what, vec_at(v, start + j));
}

// ----------------------------------------------------------------------------
// backend entry points

static srs_status_t cpu_thresholds(srs_ctx_t *ctx, const srs_batch_t *b, const srs_threshold_opts_t *o,
                                   double *m_star, double *b_eff) {
    job_t jb = {b, o, NULL, m_star, b_eff, NULL, SRS_F64};
    return run_rows(ctx, &jb);
}

static srs_status_t cpu_shape(srs_ctx_t *ctx, const srs_batch_t *b, const srs_threshold_opts_t *to,
                              const srs_shape_opts_t *so, double *m_star, double *b_eff, void *shaped,
                              srs_dtype_t shaped_dtype) {
    job_t jb = {b, to, so, m_star, b_eff, shaped, shaped_dtype};
    return run_rows(ctx, &jb);
}

const srs_backend_t srs_cpu_backend = {"cpu", cpu_thresholds, cpu_shape};
