/*
 * gen.c — synthetic scenarios, deterministic by seed.
 *
 * The generative model (scenarios gauss, overopt, twopoint; ragged rows;
 * random base log-weights) lives in include/srs_gen_math.h, shared with the
 * CUDA generator (kernels/gen.cu): every random number is a Philox4x32-10
 * block keyed by the seed with counter (global prompt, sample, stream), so a
 * value depends only on where it sits, never on thread count, order of
 * generation or backend.
 *
 * On a CUDA context the samples are generated on the GPU (`srs gen --device
 * cuda`, for benchmarks at scale) with the same Philox counters and the same
 * code; row lengths and offsets are always computed here, on the host.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "srs_gen_math.h"
#ifdef SRS_WITH_CUDA
#include "../kernels/common.cuh"
#include "../kernels/gen.cuh"
#endif

srs_gen_opts_t srs_gen_opts_default(void) {
    srs_gen_opts_t o;
    memset(&o, 0, sizeof o);
    o.scenario = SRS_SCEN_OVEROPT;
    o.n_prompts = 1000;
    o.n_samples = 16;
    o.seed = 1;
    return o;
}

static srs_gen_params_t gen_params(const srs_gen_opts_t *o, int with_logw) {
    srs_gen_params_t p;
    memset(&p, 0, sizeof p);
    p.scenario = (int)o->scenario;
    p.ragged = o->ragged;
    p.with_logw = with_logw;
    p.n_samples = o->n_samples;
    p.seed = o->seed;
    p.twopoint_logw[0] = log(0.9);
    p.twopoint_logw[1] = log(0.1);
    return p;
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
    srs_gen_params_t p = gen_params(o, with_logw);

    srs_data_t *d = srs_data_alloc("");
    if (!d) return srs_fail(ctx, SRS_ERR_NOMEM, "out of memory");
    int64_t np = o->n_prompts;
    d->offsets = malloc(sizeof(int64_t) * (size_t)(np + 1));
    if (!d->offsets) goto oom;
    d->offsets[0] = 0;
    for (int64_t i = 0; i < np; i++) {
        d->offsets[i + 1] = d->offsets[i] + srs_gen_row_len(&p, i);
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
#ifdef SRS_WITH_CUDA
    if (ctx->device == SRS_DEVICE_CUDA) {
        srs_nvtx_push("srs_gen (cuda)");
        int failed = cudaCheck(cudaSetDevice(ctx->cuda_device)) || srs_gen_cuda(&p, d->offsets, np, u, lw, g, 0);
        srs_nvtx_pop();
        if (failed) {
            srs_data_free(d);
            return srs_fail(ctx, SRS_ERR_BACKEND, "srs_gen: %s", srs_cuda_last_error());
        }
    } else
#endif
    {
#pragma omp parallel for schedule(static) num_threads(ctx->n_threads)
        for (int64_t i = 0; i < np; i++) {
            int64_t s = d->offsets[i], n = d->offsets[i + 1] - s;
            double c = srs_gen_prompt_value(&p, i);
            for (int64_t j = 0; j < n; j++)
                srs_gen_sample(&p, i, j, c, u + s + j, g + s + j, lw ? lw + s + j : NULL);
        }
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
