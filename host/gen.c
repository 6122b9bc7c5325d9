/*
 * gen.c — synthetic scenarios, deterministic by seed.
 *
 * Every random number is a Philox4x32-10 block keyed by the seed with counter
 * (global prompt, sample, stream), so a value depends only on where it sits,
 * never on thread count or order of generation (and a GPU generator with the
 * same counters reproduces it).
 *
 * Scenarios (prompt i, sample j; z* independent standard normals):
 *
 *   gauss     mu_i ~ N(0,1); u_ij = mu_i + z; gold = u.
 *
 *   overopt   over-optimisation: high-utility outputs are rare under the base
 *             policy and the proxy reward has an exploitable error.
 *               difficulty  c_i ~ N(0, 1)
 *               honest sample (prob 0.95): quality q ~ N(0,1),
 *                   gold g = c_i + q, proxy u = g + 0.5 z
 *                   (gold above c_i + 2 has base mass 2.3%)
 *               hack (prob 0.05): gold g = c_i - 1 + 0.5 q (worse than typical),
 *                   proxy u = c_i + 2 + 0.5 |z| (looks like a top answer)
 *             A follower that trusts the proxy too much drifts onto hacks:
 *             proxy utility rises while gold utility falls.
 *
 *   twopoint  the paper's motivating example: two outputs per prompt with
 *             utilities 1 and 2 and base probabilities 0.9 and 0.1 (logw);
 *             gold = u.
 *
 * Options: ragged rows (length uniform in [1, n]), random base log-weights
 * logw ~ N(0, 1) (ignored by twopoint, which always has its own).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "srs_math.h"

enum { ST_PROMPT = 0, ST_SAMPLE = 1, ST_KIND = 2, ST_LOGW = 3, ST_LEN = 4 };

#define PROMPT_COUNTER 0xFFFFFFFFu  // sample slot used for per-prompt draws

srs_gen_opts_t srs_gen_opts_default(void) {
    srs_gen_opts_t o;
    memset(&o, 0, sizeof o);
    o.scenario = SRS_SCEN_OVEROPT;
    o.n_prompts = 1000;
    o.n_samples = 16;
    o.seed = 1;
    return o;
}

static int64_t row_len(const srs_gen_opts_t *o, int64_t i) {
    if (o->scenario == SRS_SCEN_TWOPOINT) return 2;
    if (!o->ragged) return o->n_samples;
    srs_u32x4_t r = srs_philox_block(o->seed, (uint64_t)i, PROMPT_COUNTER, ST_LEN);
    return 1 + (int64_t)(srs_u01(r.v[0], r.v[1]) * (double)o->n_samples);
}

static void gen_row(const srs_gen_opts_t *o, int64_t i, int64_t n, double *u, double *g, double *lw) {
    if (o->scenario == SRS_SCEN_TWOPOINT) {
        u[0] = g[0] = 1.0;
        u[1] = g[1] = 2.0;
        lw[0] = log(0.9);
        lw[1] = log(0.1);
        return;
    }
    double c, unused;
    srs_normal2(srs_philox_block(o->seed, (uint64_t)i, PROMPT_COUNTER, ST_PROMPT), &c, &unused);
    for (int64_t j = 0; j < n; j++) {
        double q, z;
        srs_normal2(srs_philox_block(o->seed, (uint64_t)i, (uint32_t)j, ST_SAMPLE), &q, &z);
        if (o->scenario == SRS_SCEN_GAUSS) {
            u[j] = g[j] = c + q;
        } else {
            srs_u32x4_t k = srs_philox_block(o->seed, (uint64_t)i, (uint32_t)j, ST_KIND);
            int hack = srs_u01(k.v[0], k.v[1]) < 0.05;
            if (hack) {
                g[j] = c - 1.0 + 0.5 * q;
                u[j] = c + 2.0 + 0.5 * fabs(z);
            } else {
                g[j] = c + q;
                u[j] = g[j] + 0.5 * z;
            }
        }
        if (lw) {
            double a, b;
            srs_normal2(srs_philox_block(o->seed, (uint64_t)i, (uint32_t)j, ST_LOGW), &a, &b);
            lw[j] = a;
        }
    }
}

srs_status_t srs_gen(srs_ctx_t *ctx, const srs_gen_opts_t *o, srs_data_t **out) {
    srs_clear_error(ctx);
    if (!o || !out) return srs_fail(ctx, SRS_ERR_INVALID_ARG, "srs_gen: NULL argument");
    *out = NULL;
    if ((unsigned)o->scenario >= SRS_SCEN_COUNT_)
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "unknown scenario %d", (int)o->scenario);
    if (o->n_prompts < 1)
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "prompts must be >= 1, got %lld", (long long)o->n_prompts);
    if (o->n_samples < 1 || o->n_samples > 0x7fffffffLL)
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "samples must be in [1, 2^31), got %lld",
                        (long long)o->n_samples);
    int with_logw = o->with_logw || o->scenario == SRS_SCEN_TWOPOINT;

    srs_data_t *d = srs_data_alloc("");
    if (!d) return srs_fail(ctx, SRS_ERR_NOMEM, "out of memory");
    int64_t np = o->n_prompts;
    d->offsets = malloc(sizeof(int64_t) * (size_t)(np + 1));
    if (!d->offsets) goto oom;
    d->offsets[0] = 0;
    for (int64_t i = 0; i < np; i++) {
        d->offsets[i + 1] = d->offsets[i] + row_len(o, i);
        if (d->offsets[i + 1] > ((int64_t)1 << 40)) {
            srs_data_free(d);
            return srs_fail(ctx, SRS_ERR_INVALID_ARG, "%lld prompts x %lld samples is too large",
                            (long long)np, (long long)o->n_samples);
        }
    }
    size_t ns = (size_t)d->offsets[np];
    for (int k = 0; k < 3; k++) {
        if (k == 1 && !with_logw) continue;
        if (!(d->owned[k] = malloc(ns * sizeof(double)))) goto oom;
    }
    double *u = d->owned[0], *lw = d->owned[1], *g = d->owned[2];
#pragma omp parallel for schedule(static) num_threads(ctx->n_threads)
    for (int64_t i = 0; i < np; i++) {
        int64_t s = d->offsets[i];
        gen_row(o, i, d->offsets[i + 1] - s, u + s, g + s, lw ? lw + s : NULL);
    }
    // dense data keeps offsets for simplicity; the batch is CSR either way
    d->batch.n_prompts = np;
    d->batch.offsets = d->offsets;
    d->batch.reward = (srs_vec_t){u, SRS_F64};
    d->batch.gold = (srs_vec_t){g, SRS_F64};
    if (lw) d->batch.logw = (srs_vec_t){lw, SRS_F64};
    *out = d;
    return SRS_OK;
oom:
    srs_data_free(d);
    return srs_fail(ctx, SRS_ERR_NOMEM, "out of memory generating %lld prompts", (long long)np);
}
