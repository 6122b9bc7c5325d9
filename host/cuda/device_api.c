/*
 * device_api.c — srs_thresholds_device and srs_shape_device: the threshold
 * kernels (kernels/threshold.cu, through their launcher) run on the caller's
 * device buffers, queued on the caller's stream (compiled only when
 * SRS_WITH_CUDA; host/ctx.c checks the options and answers
 * SRS_ERR_UNSUPPORTED elsewhere).
 *
 * The rows are cut into chunks exactly as the host pipeline cuts them
 * (host/cuda/chunks.c), so every launch has the sizes the backend's launches
 * have; a chunk here is a view into the caller's arrays, not a copy. With CSR
 * offsets the offsets come to the host once (they decide the tiers and are
 * checked there like srs_batch_check does); the chunks' rebased offsets and
 * row orders go back in one copy. Each chunk has its own bad-row word, so the
 * first bad row of the batch is the first flagged chunk's; only that row is
 * then read back to write srs_thresholds' message about it.
 */
#ifdef SRS_WITH_CUDA

#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "../../kernels/common.cuh"
#include "../../kernels/threshold.cuh"

#define CHUNK_SAMPLES_DEFAULT ((int64_t)1 << 24)   // as cuda_backend.c
#define CHUNK_ROWS_MIN ((int64_t)1 << 16)

static inline size_t dt_size(srs_dtype_t d) { return d == SRS_F32 ? 4 : 8; }

static int tier_of(int64_t len, const void *weighted) { return (int)srs_thr_tier(len, *(const int *)weighted); }

// The device of ptr into *dev (-1 first: any device; else it must match).
// SRS_OK, or SRS_ERR_INVALID_ARG naming the array.
static srs_status_t device_of(srs_ctx_t *ctx, const void *ptr, const char *name, int *dev) {
    if (!ptr) return SRS_OK;
    struct cudaPointerAttributes at;
    memset(&at, 0, sizeof at);
    cudaError_t e = cudaPointerGetAttributes(&at, ptr);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "%s is not a CUDA device pointer (%s)", name,
                        cudaGetErrorString(e));
    }
    if (at.type != cudaMemoryTypeDevice && at.type != cudaMemoryTypeManaged)
        return srs_fail(ctx, SRS_ERR_INVALID_ARG,
                        "%s is %s memory; the device API takes device memory (use srs_thresholds/srs_shape "
                        "for host arrays)", name, at.type == cudaMemoryTypeHost ? "pinned host" : "host");
    if (*dev >= 0 && at.device != *dev)
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "%s is on CUDA device %d, the rewards on device %d", name,
                        at.device, *dev);
    *dev = at.device;
    return SRS_OK;
}

// SRS_ERR_BAD_INPUT about row `row` (flag kind), with srs_thresholds' message:
// the row (and its logw) is copied to the host and handed to the CPU
// backend's reporter as a batch of one row with the same global index.
static srs_status_t fail_bad_row(srs_ctx_t *ctx, const srs_batch_t *b, const int64_t *h_off, int64_t row,
                                 int kind) {
    int64_t start = h_off ? h_off[row] : row * b->row_len;
    int64_t len = h_off ? h_off[row + 1] - h_off[row] : b->row_len;
    size_t rsz = dt_size(b->reward.dtype), lsz = dt_size(b->logw.dtype);
    void *hr = malloc((size_t)(len > 0 ? len : 1) * rsz);
    void *hl = b->logw.data ? malloc((size_t)(len > 0 ? len : 1) * lsz) : NULL;
    if (!hr || (b->logw.data && !hl)) {
        free(hr); free(hl);
        return srs_fail(ctx, SRS_ERR_NOMEM, "out of memory");
    }
    srs_status_t st;
    if (len > 0 && (cudaCheck(cudaMemcpy(hr, (const char *)b->reward.data + (size_t)start * rsz, (size_t)len * rsz,
                                         cudaMemcpyDeviceToHost)) ||
                    (hl && cudaCheck(cudaMemcpy(hl, (const char *)b->logw.data + (size_t)start * lsz,
                                                (size_t)len * lsz, cudaMemcpyDeviceToHost))))) {
        st = srs_fail(ctx, SRS_ERR_BACKEND, "%s", srs_cuda_last_error());
    } else {
        int64_t off1[2] = {0, len};
        srs_batch_t one;
        memset(&one, 0, sizeof one);
        one.n_prompts = 1;
        one.offsets = off1;
        one.reward.data = hr;
        one.reward.dtype = b->reward.dtype;
        one.logw.data = hl;
        one.logw.dtype = b->logw.dtype;
        one.first_index = b->first_index + row;
        st = ctx->cpu->fail_bad_row(ctx, &one, 0, kind);
    }
    free(hr);
    free(hl);
    return st;
}

srs_status_t srs_cuda_rows_device(srs_ctx_t *ctx, const srs_batch_t *b, const srs_threshold_opts_t *to,
                                  const srs_shape_opts_t *so, double *m_star, double *b_eff, void *shaped,
                                  srs_dtype_t shaped_dtype, void *stream) {
    const int64_t np = b->n_prompts;
    if (np < 0)
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "n_prompts must be >= 0, got %lld", (long long)np);
    if (np == 0) return SRS_OK;
    if ((b->reward.dtype != SRS_F32 && b->reward.dtype != SRS_F64) ||
        (b->logw.data && b->logw.dtype != SRS_F32 && b->logw.dtype != SRS_F64))
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "unknown dtype %d",
                        (int)(b->reward.dtype != SRS_F32 && b->reward.dtype != SRS_F64 ? b->reward.dtype
                                                                                      : b->logw.dtype));
    if (!b->offsets && b->row_len < 0)
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "row_len must be >= 0, got %lld", (long long)b->row_len);

    // every array on the rewards' device; the work runs there
    int dev = -1, prev = 0;
    srs_status_t st = device_of(ctx, b->reward.data, "reward", &dev);
    if (st == SRS_OK) st = device_of(ctx, b->logw.data, "logw", &dev);
    if (st == SRS_OK) st = device_of(ctx, b->offsets, "offsets", &dev);
    if (st == SRS_OK) st = device_of(ctx, m_star, "m_star", &dev);
    if (st == SRS_OK) st = device_of(ctx, b_eff, "b_eff", &dev);
    if (st == SRS_OK && so) st = device_of(ctx, shaped, "shaped", &dev);
    if (st != SRS_OK) return st;
    if (dev < 0) dev = ctx->cuda_device;   // no array has an address: nothing is read
    if (cudaCheck(cudaGetDevice(&prev)) || cudaCheck(cudaSetDevice(dev)) || srs_thr_init())
        return srs_fail(ctx, SRS_ERR_BACKEND, "%s", srs_cuda_last_error());
    cudaStream_t s = (cudaStream_t)stream;
    const int weighted = b->logw.data != NULL;
    const size_t rsz = dt_size(b->reward.dtype), lsz = dt_size(b->logw.dtype), esz = dt_size(shaped_dtype);

    int64_t *h_off = NULL, *h_stage = NULL, *h_rows = NULL, *c_i0 = NULL, *c_nr = NULL;
    int64_t *d_stage = NULL, *d_rows = NULL;
    unsigned long long *d_bad = NULL, *h_bad = NULL;
    int backend_err = 0;
    st = SRS_OK;

    // the offsets, after the caller's work on the stream
    srs_batch_t hb = *b;   // b with host offsets: for the checks and the chunking
    if (b->offsets) {
        if (!(h_off = malloc(sizeof *h_off * (size_t)(np + 1)))) { st = SRS_ERR_NOMEM; goto done; }
        if (cudaCheck(cudaMemcpyAsync(h_off, b->offsets, sizeof *h_off * (size_t)(np + 1), cudaMemcpyDeviceToHost,
                                      s)) ||
            cudaCheck(cudaStreamSynchronize(s))) { backend_err = 1; goto done; }
        hb.offsets = h_off;
        if ((st = srs_batch_check(ctx, &hb)) != SRS_OK) goto done;
        if (h_off[0] < 0) {
            st = srs_fail_row(ctx, SRS_ERR_INVALID_ARG, b->first_index, "offsets[0] is %lld (must be >= 0)",
                              (long long)h_off[0]);
            goto done;
        }
    }
    if (!b->reward.data && srs_batch_n_samples(&hb) > 0) {
        st = srs_fail(ctx, SRS_ERR_INVALID_ARG, "batch has no reward array");
        goto done;
    }
    if (!b->reward.data) {   // rows without samples (an empty tensor has no address): row 0 is empty
        st = fail_bad_row(ctx, &hb, hb.offsets, 0, 1);
        goto done;
    }
    if (so && !shaped && srs_batch_n_samples(&hb) > 0) {
        st = srs_fail(ctx, SRS_ERR_INVALID_ARG, "shaped output is NULL");
        goto done;
    }

    // the chunks: as the host pipeline's (no device buffers to fit here)
    int64_t max_len = b->row_len;
    if (h_off) {
        max_len = 0;
        for (int64_t i = 0; i < np; i++)
            if (h_off[i + 1] - h_off[i] > max_len) max_len = h_off[i + 1] - h_off[i];
    }
    int64_t cap_s, cap_r, n_chunks = 0;
    srs_chunk_caps(&hb, max_len, CHUNK_SAMPLES_DEFAULT, INT64_MAX / 4, CHUNK_ROWS_MIN, &cap_s, &cap_r);
    if (!(c_i0 = malloc(sizeof *c_i0 * (size_t)np)) || !(c_nr = malloc(sizeof *c_nr * (size_t)np))) {
        st = SRS_ERR_NOMEM;
        goto done;
    }
    for (int64_t i0 = 0; i0 < np; n_chunks++) {
        c_i0[n_chunks] = i0;
        c_nr[n_chunks] = srs_chunk_next(&hb, i0, cap_s, cap_r);
        i0 += c_nr[n_chunks];
    }

    // scratch: per chunk its rebased offsets (nr+1) and row order (nr), one bad word
    const int64_t n_stage = h_off ? np + n_chunks : 0;
    int64_t (*tiers)[3][SRS_TIER_COUNT_] = NULL;   // per chunk: count, start, longest
    if (h_off) {
        if (!(h_stage = malloc(sizeof *h_stage * (size_t)n_stage)) ||
            !(h_rows = malloc(sizeof *h_rows * (size_t)np)) ||
            !(tiers = malloc(sizeof *tiers * (size_t)n_chunks))) {
            free(tiers);
            tiers = NULL;
            st = SRS_ERR_NOMEM;
            goto done;
        }
        for (int64_t c = 0; c < n_chunks; c++)
            srs_chunk_stage_rows(h_off, c_i0[c], c_nr[c], SRS_TIER_COUNT_, tier_of, &weighted,
                                 h_stage + c_i0[c] + c, h_rows + c_i0[c], tiers[c][0], tiers[c][1], tiers[c][2]);
        if (cudaCheck(cudaMalloc((void **)&d_stage, sizeof *d_stage * (size_t)n_stage)) ||
            cudaCheck(cudaMalloc((void **)&d_rows, sizeof *d_rows * (size_t)np)) ||
            cudaCheck(cudaMemcpyAsync(d_stage, h_stage, sizeof *d_stage * (size_t)n_stage, cudaMemcpyHostToDevice,
                                      s)) ||
            cudaCheck(cudaMemcpyAsync(d_rows, h_rows, sizeof *d_rows * (size_t)np, cudaMemcpyHostToDevice, s))) {
            free(tiers);
            backend_err = 1;
            goto done;
        }
    }
    if (!(h_bad = malloc(sizeof *h_bad * (size_t)n_chunks)) ||
        cudaCheck(cudaMalloc((void **)&d_bad, sizeof *d_bad * (size_t)n_chunks)) ||
        cudaCheck(cudaMemsetAsync(d_bad, 0xff, sizeof *d_bad * (size_t)n_chunks, s))) {
        free(tiers);
        if (!h_bad) st = SRS_ERR_NOMEM;
        else backend_err = 1;
        goto done;
    }

    // the launches, chunk by chunk, tier by tier, on the caller's stream
    srs_thr_args_t a;
    memset(&a, 0, sizeof a);
    a.row_len = b->row_len;
    a.reward_f32 = b->reward.dtype == SRS_F32;
    a.logw_f32 = b->logw.dtype == SRS_F32;
    a.preset = (int)to->preset;
    a.solver = (int)to->solver;
    a.B = to->B;
    a.beta = to->beta;
    a.cap = to->cap;
    a.tol = to->tol;
    a.max_iter = to->max_iter;
    if (so) {
        a.design = (int)so->design;
        a.alpha = so->alpha;
        a.clip = so->clip >= 0 ? so->clip : to->B;
        a.shaped_f32 = shaped_dtype == SRS_F32;
    }
    const int64_t base = h_off ? h_off[0] : 0;
    for (int64_t c = 0; c < n_chunks && !backend_err; c++) {
        const int64_t i0 = c_i0[c], nr = c_nr[c];
        const int64_t s0 = h_off ? h_off[i0] : i0 * b->row_len;   // the chunk's first sample
        a.offsets = h_off ? d_stage + i0 + c : NULL;
        a.reward = (const char *)b->reward.data + (size_t)s0 * rsz;
        a.logw = weighted ? (const char *)b->logw.data + (size_t)s0 * lsz : NULL;
        a.m_star = m_star ? m_star + i0 : NULL;
        a.b_eff = b_eff ? b_eff + i0 : NULL;
        a.shaped = so ? (char *)shaped + (size_t)(s0 - base) * esz : NULL;
        a.bad = d_bad + c;
        if (h_off) {
            for (int t = 0; t < SRS_TIER_COUNT_ && !backend_err; t++)
                if (tiers[c][0][t] &&
                    srs_thr_launch(&a, (srs_thr_tier_t)t, d_rows + i0 + tiers[c][1][t], tiers[c][0][t],
                                   tiers[c][2][t], s))
                    backend_err = 1;
        } else if (srs_thr_launch(&a, srs_thr_tier(b->row_len, weighted), NULL, nr, b->row_len, s)) {
            backend_err = 1;
        }
    }
    free(tiers);
    if (backend_err) {
        (void)cudaStreamSynchronize(s);   // nothing of ours left in flight before the frees
        goto done;
    }
    if (cudaCheck(cudaMemcpyAsync(h_bad, d_bad, sizeof *h_bad * (size_t)n_chunks, cudaMemcpyDeviceToHost, s)) ||
        cudaCheck(cudaStreamSynchronize(s))) {
        backend_err = 1;
        goto done;
    }
    for (int64_t c = 0; c < n_chunks; c++)
        if (h_bad[c] != ~0ull) {
            st = fail_bad_row(ctx, b, h_off, c_i0[c] + (int64_t)(h_bad[c] >> 2), (int)(h_bad[c] & 3));
            break;
        }

done:
    if (backend_err) st = srs_fail(ctx, SRS_ERR_BACKEND, "%s", srs_cuda_last_error());
    else if (st == SRS_ERR_NOMEM) st = srs_fail(ctx, SRS_ERR_NOMEM, "out of memory");
    cudaFree(d_stage);
    cudaFree(d_rows);
    cudaFree(d_bad);
    free(h_off); free(h_stage); free(h_rows); free(h_bad); free(c_i0); free(c_nr);
    (void)cudaSetDevice(prev);
    return st;
}

#else
// A CPU-only build: host/ctx.c answers SRS_ERR_UNSUPPORTED; ISO C wants a declaration in every unit.
typedef int srs_device_api_absent;
#endif // SRS_WITH_CUDA
