/*
 * eval.c — alignment evaluation: reward designs x follower strengths beta,
 * with Poisson-bootstrap intervals (srs.h, "evaluation"): the options, the
 * public entry points and the finalisation (means, intervals) of the
 * accumulated sums. The per-row work, which fills the accumulator, is
 * host/eval_rows.c, compiled once per CPU level (host/dispatch.c).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "srs_eval_math.h"

// ----------------------------------------------------------------------------
// options

static const char *const metric_names[SRS_MET_COUNT_] = {"proxy", "gold", "kl", "ess",
                                                          "win_tie", "win", "win_tie_raw", "win_raw"};

const char *srs_metric_name(srs_metric_t m) {
    return (unsigned)m < SRS_MET_COUNT_ ? metric_names[m] : "?";
}

srs_eval_opts_t srs_eval_opts_default(void) {
    srs_eval_opts_t o;
    memset(&o, 0, sizeof o);
    o.to = srs_threshold_opts_default();
    o.clip = -1;
    o.replicates = 200;
    o.confidence = 0.95;
    o.seed = 1;
    return o;
}

size_t srs_eval_acc_len(const srs_eval_opts_t *o) {
    return (size_t)(o->replicates + 1) * (size_t)srs_eval_n_cols(o);
}

srs_status_t srs_eval_opts_check(srs_ctx_t *ctx, const srs_eval_opts_t *o) {
    if (!o) return srs_fail(ctx, SRS_ERR_INVALID_ARG, "evaluation options are NULL");
    if (o->n_arms < 1 || !o->arms) return srs_fail(ctx, SRS_ERR_INVALID_ARG, "no designs to evaluate");
    if (o->n_betas < 1 || !o->betas) return srs_fail(ctx, SRS_ERR_INVALID_ARG, "no beta to evaluate");
    for (int i = 0; i < o->n_betas; i++)
        if (!(o->betas[i] > 0) || !isfinite(o->betas[i]))
            return srs_fail(ctx, SRS_ERR_INVALID_ARG, "beta must be finite and > 0, got %g", o->betas[i]);
    for (int i = 0; i < o->n_arms; i++) {
        const srs_eval_arm_t *a = &o->arms[i];
        if (a->kind == SRS_ARM_BEST_OF_N) {
            if (a->n < 1 || a->n > 1000000000)
                return srs_fail(ctx, SRS_ERR_INVALID_ARG, "best-of-n needs 1 <= n <= 1e9, got %lld",
                                (long long)a->n);
        } else if (a->kind == SRS_ARM_DESIGN) {
            if ((unsigned)a->design >= SRS_DESIGN_COUNT_)
                return srs_fail(ctx, SRS_ERR_INVALID_ARG, "unknown design %d", (int)a->design);
            if ((a->design == SRS_DESIGN_SOFT || a->design == SRS_DESIGN_MEANSOFT) &&
                (!(a->alpha > 0) || !isfinite(a->alpha)))
                return srs_fail(ctx, SRS_ERR_INVALID_ARG, "alpha must be finite and > 0, got %g", a->alpha);
        } else if (a->kind != SRS_ARM_BASE) {
            return srs_fail(ctx, SRS_ERR_INVALID_ARG, "unknown arm kind %d", (int)a->kind);
        }
    }
    srs_threshold_opts_t to = o->to;
    if (!o->fixed_threshold) to.beta = o->betas[0];  // to.beta unused: any valid value
    srs_status_t st = srs_threshold_opts_check(ctx, &to);
    if (st != SRS_OK) return st;
    if (isnan(o->clip)) return srs_fail(ctx, SRS_ERR_INVALID_ARG, "clip is NaN");
    if (o->replicates < 1 || o->replicates > 1000000)
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "replicates must be in [1, 1e6], got %d", o->replicates);
    if (!(o->confidence > 0) || !(o->confidence < 1))
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "confidence must be in (0, 1), got %g", o->confidence);
    // per-thread sums: keep them well inside memory
    double bytes = (double)(o->replicates + SRS_EVAL_RT) * (double)(srs_eval_n_cols(o) + SRS_EVAL_KT) * 8.0;
    if (bytes > 4e9)
        return srs_fail(ctx, SRS_ERR_INVALID_ARG,
                        "replicates x designs x betas too large (%.3g GB of sums per thread)", bytes / 1e9);
    return SRS_OK;
}

// Row i of b alone, as a batch (declared in internal.h): the bad-row paths of
// the evaluation backends re-run it through the CPU code for its message.
srs_batch_t srs_batch_one_row(const srs_batch_t *b, int64_t i) {
    srs_batch_t s = *b;
    s.n_prompts = 1;
    s.first_index = b->first_index + i;
    if (b->offsets) {
        s.offsets = b->offsets + i;
        return s;
    }
    srs_vec_t *v[3] = {&s.reward, &s.logw, &s.gold};
    for (int k = 0; k < 3; k++)
        if (v[k]->data)
            v[k]->data = (const char *)v[k]->data + (size_t)(i * b->row_len) * (v[k]->dtype == SRS_F32 ? 4 : 8);
    return s;
}

// ----------------------------------------------------------------------------
// public entry points

// The evaluation backend of ctx: CUDA contexts run the CUDA evaluation
// (host/cuda/cuda_eval.c): the same sums as the CPU accumulation above.
static const srs_eval_backend_t *eval_backend(const srs_ctx_t *ctx) {
#ifdef SRS_WITH_CUDA
    if (ctx->be == &srs_cuda_backend) return &srs_eval_cuda_backend;
#endif
    return ctx->cpu->ev;
}

srs_status_t srs_eval_accumulate(srs_ctx_t *ctx, const srs_batch_t *b, const srs_eval_opts_t *o, double *acc) {
    if (!ctx) return SRS_ERR_INVALID_ARG;
    srs_clear_error(ctx);
    srs_status_t st = srs_eval_opts_check(ctx, o);
    if (st == SRS_OK) st = srs_batch_check(ctx, b);
    if (st != SRS_OK) return st;
    if (!acc) return srs_fail(ctx, SRS_ERR_INVALID_ARG, "accumulator is NULL");
    if (b->n_prompts == 0) return SRS_OK;
    return eval_backend(ctx)->accumulate(ctx, b, o, acc);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// Type-7 quantile of sorted x[0..n).
static double quantile(const double *x, int n, double q) {
    if (n == 0) return NAN;
    double h = (n - 1) * q;
    int lo = (int)floor(h);
    if (lo >= n - 1) return x[n - 1];
    return x[lo] + (h - lo) * (x[lo + 1] - x[lo]);
}

// The estimate of accumulator column col, or of col minus column ref (ref >=
// 0): the mean over prompts (a difference of the two means) and the
// percentile interval of the replicates' means (of their paired differences).
// reps: (R,) scratch.
static srs_est_t estimate(const double *acc, int64_t K, int R, int64_t col, int64_t ref, double qlo, double qhi,
                          double *reps) {
    srs_est_t e;
    const double *pt = acc + (int64_t)R * K;
    e.mean = pt[col] / pt[0];
    if (ref >= 0) e.mean -= pt[ref] / pt[0];
    int nr = 0;
    for (int r = 0; r < R; r++) {
        const double *row = acc + (int64_t)r * K;
        double w = row[0];
        if (!(w > 0)) continue;  // a replicate that drew no prompt has no mean
        double v = row[col] / w;
        if (ref >= 0) v -= row[ref] / w;
        reps[nr++] = v;
    }
    qsort(reps, (size_t)nr, sizeof *reps, cmp_double);
    e.lo = quantile(reps, nr, qlo);
    e.hi = quantile(reps, nr, qhi);
    return e;
}

srs_status_t srs_eval_finalize(srs_ctx_t *ctx, const srs_eval_opts_t *o, const double *acc,
                               srs_eval_result_t *out) {
    if (!ctx) return SRS_ERR_INVALID_ARG;
    srs_clear_error(ctx);
    srs_status_t st = srs_eval_opts_check(ctx, o);
    if (st != SRS_OK) return st;
    if (!acc || !out) return srs_fail(ctx, SRS_ERR_INVALID_ARG, "accumulator or result is NULL");
    memset(out, 0, sizeof *out);
    out->raw_arm = -1;
    const int64_t K = srs_eval_n_cols(o);
    const int R = o->replicates;
    const double *pt = acc + (int64_t)R * K;
    double np = pt[0];
    if (!(np >= 1)) return srs_fail(ctx, SRS_ERR_INVALID_ARG, "no prompts were evaluated");
    int n_cells = o->n_betas * o->n_arms;
    size_t n_est = (size_t)n_cells * SRS_MET_COUNT_;
    out->cells = malloc(sizeof(srs_est_t) * n_est);
    out->diff_raw = malloc(sizeof(srs_est_t) * n_est);
    double *reps = malloc(sizeof(double) * (size_t)R);
    if (!out->cells || !out->diff_raw || !reps) {
        free(reps);
        srs_eval_result_free(out);
        return srs_fail(ctx, SRS_ERR_NOMEM, "out of memory for evaluation results");
    }
    out->n_betas = o->n_betas;
    out->n_arms = o->n_arms;
    out->n_prompts = (int64_t)llround(np);
    out->has_gold = pt[1] == np;
    for (int ai = 0; ai < o->n_arms && out->raw_arm < 0; ai++)
        if (o->arms[ai].kind == SRS_ARM_DESIGN && o->arms[ai].design == SRS_DESIGN_RAW) out->raw_arm = ai;
    const double qlo = (1 - o->confidence) / 2, qhi = 1 - qlo;
    const srs_est_t undefined = {NAN, NAN, NAN};
    for (int64_t c = 0; c < (int64_t)n_est; c++) {
        int m = (int)(c % SRS_MET_COUNT_);
        if (m == SRS_MET_GOLD && !out->has_gold) {
            out->cells[c] = out->diff_raw[c] = undefined;
            continue;
        }
        int64_t col = 2 + c;
        out->cells[c] = estimate(acc, K, R, col, -1, qlo, qhi, reps);
        if (out->raw_arm < 0) {
            out->diff_raw[c] = undefined;
            continue;
        }
        int64_t bi = c / ((int64_t)o->n_arms * SRS_MET_COUNT_);
        int64_t ref = 2 + (bi * o->n_arms + out->raw_arm) * SRS_MET_COUNT_ + m;
        out->diff_raw[c] = estimate(acc, K, R, col, ref, qlo, qhi, reps);
    }
    free(reps);
    return SRS_OK;
}

void srs_eval_result_free(srs_eval_result_t *r) {
    if (!r) return;
    free(r->cells);
    free(r->diff_raw);
    r->cells = NULL;
    r->diff_raw = NULL;
}

srs_status_t srs_eval(srs_ctx_t *ctx, const srs_batch_t *b, const srs_eval_opts_t *o, srs_eval_result_t *out) {
    if (!ctx) return SRS_ERR_INVALID_ARG;
    srs_clear_error(ctx);
    srs_status_t st = srs_eval_opts_check(ctx, o);
    if (st != SRS_OK) return st;
    double *acc = calloc(srs_eval_acc_len(o), sizeof(double));
    if (!acc) return srs_fail(ctx, SRS_ERR_NOMEM, "out of memory for the evaluation accumulator");
    st = srs_eval_accumulate(ctx, b, o, acc);
    if (st == SRS_OK) st = srs_eval_finalize(ctx, o, acc, out);
    free(acc);
    return st;
}
