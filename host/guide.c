/*
 * guide.c — guided decoding (CD and ARGS), one step for a batch: argument
 * checks and dispatch for both backends, and the CPU backend (OpenMP over
 * rows).
 *
 * The per-row selection is srs_guide_select_row (include/srs_guide_math.h),
 * the same function the CUDA kernels run, so both backends pick the same
 * token. What lives here is the CPU's way of looping: one row per iteration,
 * the top-k kept in a sorted array of k <= 64 entries (a new entry costs one
 * compare with the k-th unless it enters), then a second pass for the
 * log-sum-exp in double.
 *
 * The CUDA entry points (kernels/guide.cu) are called with device pointers
 * and the caller's stream; every check here reads only host scalars, so the
 * CUDA path adds no synchronisation.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cblas.h>
#include "internal.h"
#include "srs_guide_math.h"
#ifdef SRS_WITH_CUDA
#include "../kernels/common.cuh"
#include "../kernels/guide.cuh"
#endif

// ----------------------------------------------------------------------------
// options, names, argument checks

srs_guide_opts_t srs_guide_opts_default(void) {
    srs_guide_opts_t o;
    memset(&o, 0, sizeof o);
    o.design = SRS_DESIGN_SOFT;
    o.threshold = SRS_GUIDE_THR_STEP;
    o.preset = SRS_PRESET_PAPER_ARGS;
    o.B = 1.0;
    o.alpha = 1.0;
    o.lambda = 1.0;
    o.cap = 2.0;
    o.clip = -1.0;
    o.mode = SRS_GUIDE_GREEDY;
    o.tau = 1.0;
    o.top_p = 1.0;
    return o;
}

static const char *elem_names[] = {"float32", "bfloat16", "float16"};

const char *srs_elem_name(srs_elem_t e) {
    return (unsigned)e < 3 ? elem_names[e] : "?";
}

srs_status_t srs_elem_parse(const char *s, srs_elem_t *out) {
    for (int i = 0; s && i < 3; i++)
        if (strcmp(s, elem_names[i]) == 0) { *out = (srs_elem_t)i; return SRS_OK; }
    return SRS_ERR_INVALID_ARG;
}

srs_status_t srs_guide_opts_check(srs_ctx_t *ctx, const srs_guide_opts_t *o) {
    if (!o) return srs_fail(ctx, SRS_ERR_INVALID_ARG, "guide options are NULL");
    if ((unsigned)o->design >= SRS_DESIGN_COUNT_)
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "unknown design %d", (int)o->design);
    if ((unsigned)o->threshold > SRS_GUIDE_THR_GIVEN)
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "unknown threshold source %d", (int)o->threshold);
    if ((unsigned)o->preset > SRS_PRESET_PAPER_ARGS)
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "unknown preset %d", (int)o->preset);
    if ((unsigned)o->baselines > SRS_GUIDE_BASELINES_PAPER)
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "unknown baselines %d (srs or paper)", (int)o->baselines);
    if ((unsigned)o->mode > SRS_GUIDE_SAMPLE)
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "unknown mode %d (greedy or sample)", (int)o->mode);
    if (!(o->B >= 0) || !isfinite(o->B))
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "B must be finite and >= 0, got %g", o->B);
    if (!(o->alpha > 0) || !isfinite(o->alpha))
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "alpha must be finite and > 0, got %g", o->alpha);
    if (!(o->lambda >= 0) || !isfinite(o->lambda))
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "lambda (1/beta) must be finite and >= 0, got %g",
                        o->lambda);
    if (!(o->cap > 0) || isnan(o->cap))
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "cap must be > 0, got %g", o->cap);
    if (isnan(o->clip)) return srs_fail(ctx, SRS_ERR_INVALID_ARG, "clip must not be NaN");
    if (!(o->tau >= 0) || !isfinite(o->tau))
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "tau must be finite and >= 0, got %g", o->tau);
    if (!(o->top_p > 0 && o->top_p <= 1))
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "top_p must be in (0, 1], got %g", o->top_p);
    int uses_m = o->design == SRS_DESIGN_HARD || o->design == SRS_DESIGN_SOFT;
    if (uses_m && o->threshold == SRS_GUIDE_THR_GIVEN && !o->m_star)
        return srs_fail(ctx, SRS_ERR_INVALID_ARG,
                        "design %s with a given threshold needs opts.m_star (rows,)",
                        srs_design_name(o->design));
    return SRS_OK;
}

static srs_status_t check_shape(srs_ctx_t *ctx, int64_t rows, int64_t vocab, int k, int k_min) {
    if (rows < 0)
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "rows must be >= 0, got %lld", (long long)rows);
    if (rows > INT32_MAX)
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "rows must be < 2^31, got %lld", (long long)rows);
    if (vocab < 1 || vocab > SRS_GUIDE_VOCAB_MAX)
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "vocab must be in [1, %d], got %lld",
                        SRS_GUIDE_VOCAB_MAX, (long long)vocab);
    if (k < k_min || k > SRS_GUIDE_K_MAX)
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "k must be in [%d, %d], got %d", k_min,
                        SRS_GUIDE_K_MAX, k);
    return SRS_OK;
}

static srs_status_t check_elem(srs_ctx_t *ctx, srs_elem_t e, const char *what) {
    if ((unsigned)e > SRS_ELEM_F16)
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "unknown %s dtype %d", what, (int)e);
    return SRS_OK;
}

static srs_status_t check_temp(srs_ctx_t *ctx, double T) {
    if (!(T >= 0) || !isfinite(T))
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "temperature T must be finite and >= 0, got %g", T);
    return SRS_OK;
}

#define NEED(ptr, name)                                                              \
    do {                                                                             \
        if (rows > 0 && !(ptr))                                                      \
            return srs_fail(ctx, SRS_ERR_INVALID_ARG, "%s is NULL", name);           \
    } while (0)

// The CUDA backend's result: 0 = queued, else a message from the kernels.
#ifdef SRS_WITH_CUDA
static srs_status_t cuda_result(srs_ctx_t *ctx, int rc, const char *what) {
    if (rc == 0) return SRS_OK;
    return srs_fail(ctx, SRS_ERR_BACKEND, "%s: %s", what, srs_cuda_last_error());
}
#endif

static srs_status_t no_cuda(srs_ctx_t *ctx, const char *what) {
    return srs_fail(ctx, SRS_ERR_UNSUPPORTED,
                    "%s: the CUDA backend is not compiled into this build of srs", what);
}

static inline size_t elem_size(srs_elem_t e) { return e == SRS_ELEM_F32 ? 4 : 2; }

// ----------------------------------------------------------------------------
// CPU: candidates of one row

// Top-k of one row (x: vocab elements of type e) into ids/logp (k,); returns
// the row's flags.
static unsigned cand_row(const void *x, int e, int64_t vocab, double T, int k, int32_t *ids,
                         float *logp) {
    float key[SRS_GUIDE_K_MAX];
    int32_t id[SRS_GUIDE_K_MAX];
    int n = 0;
    unsigned flags = 0;
    for (int64_t v = 0; v < vocab; v++) {
        float f = srs_guide_load(x, e, v);
        if (n == k && !(f > key[k - 1])) {  // the common case: neither NaN nor a new entry
            if (f != f || f == INFINITY) flags |= SRS_GUIDE_NONFINITE;
            continue;
        }
        if (f != f || f == INFINITY) { flags |= SRS_GUIDE_NONFINITE; continue; }
        if (f == -INFINITY) continue;
        int j = n < k ? n++ : k - 1;   // a later id never precedes an equal key
        while (j > 0 && srs_guide_before(f, (int32_t)v, key[j - 1], id[j - 1])) {
            key[j] = key[j - 1];
            id[j] = id[j - 1];
            j--;
        }
        key[j] = f;
        id[j] = (int32_t)v;
    }
    for (int j = n; j < k; j++) { ids[j] = -1; logp[j] = -INFINITY; }
    if (n < k) flags |= SRS_GUIDE_SHORT;
    if (n == 0) return flags;
    double xmax = key[0];
    if (T > 0) {
        // log-sum-exp in double over every finite logit
        double sum = 0;
        for (int64_t v = 0; v < vocab; v++) {
            double f = srs_guide_load(x, e, v);
            if (f > -INFINITY && f < INFINITY) sum += exp((f - xmax) / T);
        }
        double lse = log(sum);
        for (int j = 0; j < n; j++) {
            ids[j] = id[j];
            logp[j] = (float)(((double)key[j] - xmax) / T - lse);
        }
    } else {
        // greedy base policy: uniform over the tied maxima
        int64_t c = 0;
        for (int64_t v = 0; v < vocab; v++) c += srs_guide_load(x, e, v) == key[0];
        for (int j = 0; j < n; j++) {
            ids[j] = id[j];
            logp[j] = key[j] == key[0] ? (float)-log((double)c) : -INFINITY;
        }
    }
    return flags | SRS_GUIDE_VALID;
}

// ----------------------------------------------------------------------------
// CPU: whole-vocabulary selection of one row

// Selects over every entry v with a finite logit and a finite value by the
// per-entry key of srs_guide_vocab_key; returns the flags.
static unsigned vocab_row(const srs_guide_opts_t *o, const void *x, int ex, const void *val, int ev,
                          int64_t vocab, double T, double m_given, double b_given, uint64_t seed,
                          uint32_t row, int32_t *token) {
    unsigned flags = 0;
    *token = -1;
    double xmax = -INFINITY;
    for (int64_t v = 0; v < vocab; v++) {
        double f = srs_guide_load(x, ex, v);
        if (f != f || f == INFINITY) flags |= SRS_GUIDE_NONFINITE;
        else if (f > xmax) xmax = f;
    }
    if (xmax == -INFINITY) return flags;

    // statistics over the selection set, p-weighted by the base policy
    srs_row_stats_t st = {0, 0, 0, 0, m_given, b_given};
    int d = o->design;
    int uses_m = d == SRS_DESIGN_HARD || d == SRS_DESIGN_SOFT;
    if (srs_guide_needs_stats(o->design)) {
        double wsum = 0, ws = 0, umin = INFINITY, umax = -INFINITY;
        for (int64_t v = 0; v < vocab; v++) {
            double s = srs_guide_load(val, ev, v);
            double w = srs_guide_vocab_weight(srs_guide_load(x, ex, v), s, T, xmax);
            if (w < 0) continue;
            w = srs_guide_stat_weight(o, w);
            wsum += w;
            ws += w * s;
            umin = s < umin ? s : umin;
            umax = s > umax ? s : umax;
        }
        if (wsum == 0) return flags | SRS_GUIDE_BAD_SCORE;
        st.umin = umin;
        st.umax = umax;
        st.mean = ws / wsum;
        if (d == SRS_DESIGN_MEANSTD) {
            double var = 0;
            for (int64_t v = 0; v < vocab; v++) {
                double s = srs_guide_load(val, ev, v);
                double w = srs_guide_vocab_weight(srs_guide_load(x, ex, v), s, T, xmax);
                if (w >= 0) var += srs_guide_stat_weight(o, w) * (s - st.mean) * (s - st.mean);
            }
            st.std = srs_guide_stat_std(o, sqrt(var / wsum));
        }
    }
    if ((uses_m || d == SRS_DESIGN_MEANSOFT) && (!isfinite(b_given) || (uses_m && !isfinite(m_given))))
        return flags | SRS_GUIDE_BAD_M;

    double clip = srs_guide_clip(o), best = -INFINITY;
    int sample = o->mode == SRS_GUIDE_SAMPLE && o->tau > 0;
    for (int64_t v = 0; v < vocab; v++) {
        double key = srs_guide_vocab_key(o, srs_guide_load(x, ex, v), srs_guide_load(val, ev, v), T, xmax,
                                         &st, clip, sample, seed, row, (uint32_t)v, &flags);
        if (key > best) { best = key; *token = (int32_t)v; }
    }
    return *token >= 0 ? flags | SRS_GUIDE_VALID : flags;
}

// ----------------------------------------------------------------------------
// public entry points

srs_status_t srs_guide_candidates(srs_ctx_t *ctx, const void *logits, srs_elem_t dtype, int64_t rows,
                                  int64_t vocab, double T, int k, int32_t *ids, float *logp,
                                  uint8_t *flags, void *stream) {
    if (!ctx) return SRS_ERR_INVALID_ARG;
    srs_clear_error(ctx);
    srs_status_t st = check_shape(ctx, rows, vocab, k, 1);
    if (st == SRS_OK) st = check_elem(ctx, dtype, "logits");
    if (st == SRS_OK) st = check_temp(ctx, T);
    if (st != SRS_OK) return st;
    NEED(logits, "logits");
    NEED(ids, "ids output");
    NEED(logp, "logp output");
    if (rows == 0) return SRS_OK;
    if (ctx->device == SRS_DEVICE_CUDA) {
#ifdef SRS_WITH_CUDA
        return cuda_result(ctx, srs_guide_cuda_candidates(logits, dtype, rows, vocab, T, k, ids, logp,
                                                         flags, stream),
                           "srs_guide_candidates");
#else
        return no_cuda(ctx, "srs_guide_candidates");
#endif
    }
    const size_t es = elem_size(dtype);
#pragma omp parallel for schedule(dynamic, 1) num_threads(ctx->n_threads)
    for (int64_t r = 0; r < rows; r++) {
        unsigned f = cand_row((const char *)logits + (size_t)r * (size_t)vocab * es, dtype, vocab, T, k,
                              ids + r * k, logp + r * k);
        if (flags) flags[r] = (uint8_t)f;
    }
    return SRS_OK;
}

static inline uint64_t row_seed(const srs_guide_opts_t *o, int64_t r) {
    return o->seeds ? o->seeds[r] : o->seed;
}

srs_status_t srs_guide_select(srs_ctx_t *ctx, const srs_guide_opts_t *o, int64_t rows, int k,
                              const int32_t *ids, const float *logp, const float *score,
                              int32_t *tokens, float *fused, double *m_used, uint8_t *flags,
                              void *stream) {
    if (!ctx) return SRS_ERR_INVALID_ARG;
    srs_clear_error(ctx);
    srs_status_t st = srs_guide_opts_check(ctx, o);
    if (st == SRS_OK) st = check_shape(ctx, rows, 1, k, 1);
    if (st != SRS_OK) return st;
    NEED(ids, "ids");
    NEED(logp, "logp");
    NEED(score, "score");
    NEED(tokens, "tokens output");
    if (rows == 0) return SRS_OK;
    if (ctx->device == SRS_DEVICE_CUDA) {
#ifdef SRS_WITH_CUDA
        return cuda_result(ctx, srs_guide_cuda_select(o, rows, k, ids, logp, score, tokens, fused,
                                                      m_used, flags, stream),
                           "srs_guide_select");
#else
        return no_cuda(ctx, "srs_guide_select");
#endif
    }
#pragma omp parallel for schedule(static) num_threads(ctx->n_threads)
    for (int64_t r = 0; r < rows; r++) {
        double m = o->m_star ? o->m_star[r] : NAN, b = o->b_eff ? o->b_eff[r] : o->B;
        int32_t tok;
        unsigned f = srs_guide_select_row(o, k, ids + r * k, logp + r * k, score + r * k, m, b,
                                          row_seed(o, r), (uint32_t)r, &tok,
                                          fused ? fused + r * k : NULL, m_used ? m_used + r : NULL);
        tokens[r] = tok;
        if (flags) flags[r] = (uint8_t)f;
    }
    return SRS_OK;
}

srs_status_t srs_guide_vocab(srs_ctx_t *ctx, const srs_guide_opts_t *o, const void *logits,
                             srs_elem_t logits_dtype, const void *values, srs_elem_t values_dtype,
                             int64_t rows, int64_t vocab, double T, int k, int32_t *tokens,
                             int32_t *cand_ids, float *fused, uint8_t *flags, void *stream) {
    if (!ctx) return SRS_ERR_INVALID_ARG;
    srs_clear_error(ctx);
    srs_status_t st = srs_guide_opts_check(ctx, o);
    if (st == SRS_OK) st = check_shape(ctx, rows, vocab, k, 0);
    if (st == SRS_OK) st = check_elem(ctx, logits_dtype, "logits");
    if (st == SRS_OK) st = check_elem(ctx, values_dtype, "values");
    if (st == SRS_OK) st = check_temp(ctx, T);
    if (st != SRS_OK) return st;
    NEED(logits, "logits");
    NEED(values, "values");
    NEED(tokens, "tokens output");
    if (k == 0) {
        int uses_m = o->design == SRS_DESIGN_HARD || o->design == SRS_DESIGN_SOFT;
        if (cand_ids || fused)
            return srs_fail(ctx, SRS_ERR_INVALID_ARG,
                            "whole-vocabulary selection (k = 0) has no candidates: pass cand_ids "
                            "and fused as NULL");
        if (uses_m && o->threshold == SRS_GUIDE_THR_STEP)
            return srs_fail(ctx, SRS_ERR_UNSUPPORTED,
                            "a per-step threshold over the whole vocabulary is not supported: "
                            "select over the top-k (k > 0) or give m_star");
        if (o->mode == SRS_GUIDE_SAMPLE && o->top_p < 1)
            return srs_fail(ctx, SRS_ERR_UNSUPPORTED,
                            "top-p over the whole vocabulary is not supported: select over the "
                            "top-k (k > 0)");
    }
    if (rows == 0) return SRS_OK;
    if (ctx->device == SRS_DEVICE_CUDA) {
#ifdef SRS_WITH_CUDA
        return cuda_result(ctx, srs_guide_cuda_vocab(o, logits, logits_dtype, values, values_dtype,
                                                     rows, vocab, T, k, tokens, cand_ids, fused,
                                                     flags, stream),
                           "srs_guide_vocab");
#else
        return no_cuda(ctx, "srs_guide_vocab");
#endif
    }
    const size_t ex = elem_size(logits_dtype), ev = elem_size(values_dtype);
#pragma omp parallel for schedule(dynamic, 1) num_threads(ctx->n_threads)
    for (int64_t r = 0; r < rows; r++) {
        const char *x = (const char *)logits + (size_t)r * (size_t)vocab * ex;
        const char *val = (const char *)values + (size_t)r * (size_t)vocab * ev;
        double m = o->m_star ? o->m_star[r] : NAN, b = o->b_eff ? o->b_eff[r] : o->B;
        int32_t tok;
        unsigned f;
        if (k == 0) {
            f = vocab_row(o, x, logits_dtype, val, values_dtype, vocab, T, m, b, row_seed(o, r),
                          (uint32_t)r, &tok);
        } else {
            int32_t ids[SRS_GUIDE_K_MAX];
            float lp[SRS_GUIDE_K_MAX], sc[SRS_GUIDE_K_MAX];
            unsigned fc = cand_row(x, logits_dtype, vocab, T, k, ids, lp);
            for (int j = 0; j < k; j++) sc[j] = ids[j] >= 0 ? srs_guide_load(val, values_dtype, ids[j]) : 0.0f;
            f = srs_guide_select_row(o, k, ids, lp, sc, m, b, row_seed(o, r), (uint32_t)r, &tok,
                                     fused ? fused + r * k : NULL, NULL);
            f |= fc & (SRS_GUIDE_NONFINITE | SRS_GUIDE_SHORT);
            if (cand_ids) memcpy(cand_ids + r * k, ids, sizeof(int32_t) * (size_t)k);
        }
        tokens[r] = tok;
        if (flags) flags[r] = (uint8_t)f;
    }
    return SRS_OK;
}

// ----------------------------------------------------------------------------
// value head

// Converts n elements of type e at src (stride 1) to float.
static void to_f32(float *dst, const void *src, int e, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] = srs_guide_load(src, e, i);
}

#define HEAD_BLOCK 2048   // columns of a half-precision head converted per sgemm

srs_status_t srs_guide_value_head(srs_ctx_t *ctx, const void *hidden, const void *head,
                                  srs_elem_t dtype, const float *bias, int64_t rows, int64_t d,
                                  int64_t vocab, const int32_t *ids, int k, float *values,
                                  void *stream) {
    if (!ctx) return SRS_ERR_INVALID_ARG;
    srs_clear_error(ctx);
    srs_status_t st = check_shape(ctx, rows, vocab, ids ? k : 1, 1);
    if (st == SRS_OK) st = check_elem(ctx, dtype, "hidden/head");
    if (st != SRS_OK) return st;
    if (d < 1 || d > INT32_MAX)
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "hidden size d must be in [1, 2^31), got %lld",
                        (long long)d);
    NEED(hidden, "hidden");
    NEED(head, "head");
    NEED(values, "values output");
    if (rows == 0) return SRS_OK;
    if (ctx->device == SRS_DEVICE_CUDA) {
#ifdef SRS_WITH_CUDA
        return cuda_result(ctx, srs_guide_cuda_value_head(hidden, head, dtype, bias, rows, d, vocab,
                                                          ids, k, values, stream),
                           "srs_guide_value_head");
#else
        return no_cuda(ctx, "srs_guide_value_head");
#endif
    }
    const size_t es = elem_size(dtype);
    if (ids) {
        // gathered columns: one dot product per candidate, accumulated in double
        int nomem = 0;
#pragma omp parallel num_threads(ctx->n_threads)
        {
            float *h = malloc(sizeof(float) * (size_t)d);
            if (!h) {
#pragma omp atomic write
                nomem = 1;
            }
#pragma omp for schedule(static)
            for (int64_t r = 0; r < rows; r++) {
                if (!h) continue;
                to_f32(h, (const char *)hidden + (size_t)(r * d) * es, dtype, d);
                for (int j = 0; j < k; j++) {
                    int32_t id = ids[r * k + j];
                    if (id < 0 || id >= vocab) { values[r * k + j] = NAN; continue; }
                    double acc = bias ? bias[id] : 0.0;
                    for (int64_t i = 0; i < d; i++)
                        acc += (double)h[i] * srs_guide_load(head, dtype, i * vocab + id);
                    values[r * k + j] = (float)acc;
                }
            }
            free(h);
        }
        if (nomem) return srs_fail(ctx, SRS_ERR_NOMEM, "out of memory for a hidden row of %lld",
                                   (long long)d);
        return SRS_OK;
    }
    if (rows > INT32_MAX || vocab > INT32_MAX)
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "value head too large for BLAS int sizes");
    if (dtype == SRS_ELEM_F32) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)vocab, (int)d, 1.0f,
                    hidden, (int)d, head, (int)vocab, 0.0f, values, (int)vocab);
    } else {
        // Half-precision inputs: widen hidden once and the head a block of
        // columns at a time (a whole head can be gigabytes in float32).
        int64_t bw = vocab < HEAD_BLOCK ? vocab : HEAD_BLOCK;
        float *h = malloc(sizeof(float) * (size_t)(rows * d));
        float *w = malloc(sizeof(float) * (size_t)(d * bw));
        if (!h || !w) {
            free(h);
            free(w);
            return srs_fail(ctx, SRS_ERR_NOMEM, "out of memory widening the value head");
        }
        to_f32(h, hidden, dtype, rows * d);
        for (int64_t c0 = 0; c0 < vocab; c0 += bw) {
            int64_t nc = vocab - c0 < bw ? vocab - c0 : bw;
#pragma omp parallel for schedule(static) num_threads(ctx->n_threads)
            for (int64_t i = 0; i < d; i++)
                for (int64_t c = 0; c < nc; c++)
                    w[i * nc + c] = srs_guide_load(head, dtype, i * vocab + c0 + c);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)nc, (int)d, 1.0f,
                        h, (int)d, w, (int)nc, 0.0f, values + c0, (int)vocab);
        }
        free(h);
        free(w);
    }
    if (bias) {
#pragma omp parallel for schedule(static) num_threads(ctx->n_threads)
        for (int64_t r = 0; r < rows; r++)
            for (int64_t c = 0; c < vocab; c++) values[r * vocab + c] += bias[c];
    }
    return SRS_OK;
}
