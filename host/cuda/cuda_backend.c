/*
 * cuda_backend.c — the CUDA backend: thresholds and shaped rewards on the GPU,
 * streamed through in chunks of prompts (compiled only when SRS_WITH_CUDA).
 *
 * The pipeline: a batch (host memory, possibly a memory-mapped file) is cut
 * into chunks of whole prompts. Each chunk goes to one of NSLOT slots, each a
 * stream with its own pinned host buffers and device buffers:
 *
 *   stage    host copy of the chunk's rewards/logw/offsets into pinned memory
 *            (this is where a memory-mapped file is actually read)
 *   copy in  cudaMemcpyAsync pinned -> device
 *   kernel   one launch per row-length tier (kernels/threshold.cu)
 *   copy out m*, B_eff, shaped and the bad-row word, device -> pinned
 *   write    pinned -> the caller's arrays, when the slot is reused or at the end
 *
 * While the GPU works on chunk c in one stream, the host stages chunk c+1 and
 * its copy-in runs in another; outputs land at their row's index, so order is
 * the input's whatever finishes first. Bad rows are reported like the CPU
 * backend: the first offending row of the batch with the same message.
 */
#ifdef SRS_WITH_CUDA

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "../../kernels/common.cuh"
#include "../../kernels/threshold.cuh"

#define NSLOT 3
#define CHUNK_SAMPLES_DEFAULT ((int64_t)1 << 24)   // 16 Mi samples per chunk
#define CHUNK_ROWS_MIN ((int64_t)1 << 16)

// ----------------------------------------------------------------------------
// state: per-slot buffers, kept on the context between calls

typedef struct {
    cudaStream_t stream;
    cudaEvent_t done;
    int busy;                  // a chunk is in flight in this slot
    int64_t cap_samples, cap_rows;
    // device
    void *d_reward, *d_logw;   // (cap_samples,) 8-byte elements
    int64_t *d_offsets;        // (cap_rows+1,)
    int64_t *d_rows;           // (cap_rows,) row indices grouped by tier
    double *d_m, *d_beff;      // (cap_rows,)
    void *d_shaped;            // (cap_samples,)
    unsigned long long *d_bad; // (1,)
    // pinned host
    void *h_reward, *h_logw;
    int64_t *h_offsets, *h_rows;
    double *h_m, *h_beff;
    void *h_shaped;
    unsigned long long *h_bad;
    // the chunk in flight
    int64_t i0, n_rows, s0, n_samples;
} slot_t;

typedef struct {
    int initialised;
    slot_t slot[NSLOT];
} cuda_state_t;

int srs_cuda_device_count(const char **why) {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        if (why) *why = cudaGetErrorString(e);
        (void)cudaGetLastError();  // clear the sticky-free error
        return 0;
    }
    if (n == 0 && why) *why = "cudaGetDeviceCount reports 0 devices";
    return n;
}

static void slot_release(slot_t *s) {
    cudaFree(s->d_reward); cudaFree(s->d_logw); cudaFree(s->d_offsets); cudaFree(s->d_rows);
    cudaFree(s->d_m); cudaFree(s->d_beff); cudaFree(s->d_shaped); cudaFree(s->d_bad);
    cudaFreeHost(s->h_reward); cudaFreeHost(s->h_logw); cudaFreeHost(s->h_offsets); cudaFreeHost(s->h_rows);
    cudaFreeHost(s->h_m); cudaFreeHost(s->h_beff); cudaFreeHost(s->h_shaped); cudaFreeHost(s->h_bad);
    cudaStream_t st = s->stream;
    cudaEvent_t ev = s->done;
    memset(s, 0, sizeof *s);
    s->stream = st;
    s->done = ev;
}

void srs_cuda_free_state(srs_ctx_t *ctx) {
    srs_cuda_eval_release(ctx);
    cuda_state_t *cs = ctx->be_state;
    if (!cs) return;
    for (int k = 0; k < NSLOT; k++) {
        slot_t *s = &cs->slot[k];
        if (s->stream) cudaStreamSynchronize(s->stream);
        slot_release(s);
        if (s->stream) cudaStreamDestroy(s->stream);
        if (s->done) cudaEventDestroy(s->done);
    }
    free(cs);
    ctx->be_state = NULL;
}

static srs_status_t backend_fail(srs_ctx_t *ctx) {
    return srs_fail(ctx, SRS_ERR_BACKEND, "%s", srs_cuda_last_error());
}

static srs_status_t state_get(srs_ctx_t *ctx, cuda_state_t **out) {
    // the context's device, for this host thread (the current device is
    // per-thread state in the CUDA runtime)
    if (cudaCheck(cudaSetDevice(ctx->cuda_device))) return backend_fail(ctx);
    cuda_state_t *cs = ctx->be_state;
    if (!cs) {
        cs = calloc(1, sizeof *cs);
        if (!cs) return srs_fail(ctx, SRS_ERR_NOMEM, "out of memory");
        ctx->be_state = cs;
    }
    if (!cs->initialised) {
        if (srs_thr_init()) return backend_fail(ctx);
        for (int k = 0; k < NSLOT; k++) {
            if (cudaCheck(cudaStreamCreateWithFlags(&cs->slot[k].stream, cudaStreamNonBlocking)) ||
                cudaCheck(cudaEventCreateWithFlags(&cs->slot[k].done, cudaEventDisableTiming)))
                return backend_fail(ctx);
        }
        cs->initialised = 1;
    }
    *out = cs;
    return SRS_OK;
}

// Makes the slot hold at least samples/rows; reallocates when smaller.
static int slot_reserve(slot_t *s, int64_t samples, int64_t rows) {
    if (s->cap_samples >= samples && s->cap_rows >= rows) return 0;
    if (s->cap_samples > samples) samples = s->cap_samples;
    if (s->cap_rows > rows) rows = s->cap_rows;
    slot_release(s);
    size_t ns = (size_t)(samples > 0 ? samples : 1) * 8, nr = (size_t)(rows > 0 ? rows : 1) * 8;
    if (cudaCheck(cudaMalloc(&s->d_reward, ns)) || cudaCheck(cudaMalloc(&s->d_logw, ns)) ||
        cudaCheck(cudaMalloc((void **)&s->d_offsets, nr + 8)) || cudaCheck(cudaMalloc((void **)&s->d_rows, nr)) ||
        cudaCheck(cudaMalloc((void **)&s->d_m, nr)) || cudaCheck(cudaMalloc((void **)&s->d_beff, nr)) ||
        cudaCheck(cudaMalloc(&s->d_shaped, ns)) || cudaCheck(cudaMalloc((void **)&s->d_bad, 8)) ||
        cudaCheck(cudaMallocHost(&s->h_reward, ns)) || cudaCheck(cudaMallocHost(&s->h_logw, ns)) ||
        cudaCheck(cudaMallocHost((void **)&s->h_offsets, nr + 8)) ||
        cudaCheck(cudaMallocHost((void **)&s->h_rows, nr)) || cudaCheck(cudaMallocHost((void **)&s->h_m, nr)) ||
        cudaCheck(cudaMallocHost((void **)&s->h_beff, nr)) || cudaCheck(cudaMallocHost(&s->h_shaped, ns)) ||
        cudaCheck(cudaMallocHost((void **)&s->h_bad, 8))) {
        slot_release(s);
        return 1;
    }
    s->cap_samples = samples;
    s->cap_rows = rows;
    return 0;
}

// ----------------------------------------------------------------------------
// one call: the job and its chunks

typedef struct {
    const srs_batch_t *b;
    const srs_threshold_opts_t *to;
    const srs_shape_opts_t *so;    // NULL: thresholds only
    double *m_star, *b_eff;        // (n_prompts,) or NULL
    void *shaped;                  // (n_samples,) or NULL
    srs_dtype_t shaped_dtype;
    int64_t base;                  // offsets[0] (CSR) or 0
    int64_t bad_row;               // first bad row found (chunk-local row + i0), or -1
    int bad_kind;
    int poison;                    // SRS_CUDA_POISON: outputs filled with NaN bytes first
} job_t;

static inline size_t dt_size(srs_dtype_t d) { return d == SRS_F32 ? 4 : 8; }

static inline int64_t row_start(const srs_batch_t *b, int64_t i) {
    return b->offsets ? b->offsets[i] : i * b->row_len;
}

static int tier_of(int64_t len, const void *weighted) { return (int)srs_thr_tier(len, *(const int *)weighted); }

// Host staging, copy-in, kernels and copy-out of rows [i0, i0+nr) into slot s.
static int chunk_enqueue(job_t *jb, slot_t *s, int64_t i0, int64_t nr) {
    const srs_batch_t *b = jb->b;
    const int64_t s0 = row_start(b, i0), s1 = row_start(b, i0 + nr), ns = s1 - s0;
    const size_t rsz = dt_size(b->reward.dtype), lsz = dt_size(b->logw.dtype);
    const int weighted = b->logw.data != NULL;
    s->i0 = i0; s->n_rows = nr; s->s0 = s0; s->n_samples = ns;

    // stage: the chunk's bytes into pinned memory, offsets rebased, rows by tier
    srs_nvtx_push("stage (read)");
    memcpy(s->h_reward, (const char *)b->reward.data + (size_t)s0 * rsz, (size_t)ns * rsz);
    if (weighted) memcpy(s->h_logw, (const char *)b->logw.data + (size_t)s0 * lsz, (size_t)ns * lsz);
    int64_t tier_n[SRS_TIER_COUNT_] = {0}, tier_max[SRS_TIER_COUNT_] = {0}, tier_at[SRS_TIER_COUNT_];
    srs_thr_tier_t dense_tier = SRS_TIER_COUNT_;
    if (b->offsets)
        srs_chunk_stage_rows(b->offsets, i0, nr, SRS_TIER_COUNT_, tier_of, &weighted, s->h_offsets, s->h_rows, tier_n,
                             tier_at, tier_max);
    else
        dense_tier = srs_thr_tier(b->row_len, weighted);
    srs_nvtx_pop();

    cudaStream_t st = s->stream;
    srs_nvtx_push("copy in");
    if (cudaCheck(cudaMemcpyAsync(s->d_reward, s->h_reward, (size_t)ns * rsz, cudaMemcpyHostToDevice, st)))
        goto fail;
    if (weighted && cudaCheck(cudaMemcpyAsync(s->d_logw, s->h_logw, (size_t)ns * lsz, cudaMemcpyHostToDevice, st)))
        goto fail;
    if (b->offsets &&
        (cudaCheck(cudaMemcpyAsync(s->d_offsets, s->h_offsets, (size_t)(nr + 1) * 8, cudaMemcpyHostToDevice, st)) ||
         cudaCheck(cudaMemcpyAsync(s->d_rows, s->h_rows, (size_t)nr * 8, cudaMemcpyHostToDevice, st))))
        goto fail;
    if (cudaCheck(cudaMemsetAsync(s->d_bad, 0xff, 8, st))) goto fail;
    // poison (tests): an output the kernels leave unwritten reads back as NaN
    if (jb->poison && (cudaCheck(cudaMemsetAsync(s->d_m, 0xff, (size_t)nr * 8, st)) ||
                       cudaCheck(cudaMemsetAsync(s->d_beff, 0xff, (size_t)nr * 8, st)) ||
                       (jb->so && cudaCheck(cudaMemsetAsync(s->d_shaped, 0xff,
                                                            (size_t)ns * dt_size(jb->shaped_dtype), st)))))
        goto fail;
    srs_nvtx_pop();

    srs_thr_args_t a;
    memset(&a, 0, sizeof a);
    a.offsets = b->offsets ? s->d_offsets : NULL;
    a.row_len = b->row_len;
    a.reward = s->d_reward;
    a.reward_f32 = b->reward.dtype == SRS_F32;
    a.logw = weighted ? s->d_logw : NULL;
    a.logw_f32 = b->logw.dtype == SRS_F32;
    a.preset = (int)jb->to->preset;
    a.solver = (int)jb->to->solver;
    a.B = jb->to->B;
    a.beta = jb->to->beta;
    a.cap = jb->to->cap;
    a.tol = jb->to->tol;
    a.max_iter = jb->to->max_iter;
    a.m_star = s->d_m;
    a.b_eff = s->d_beff;
    if (jb->so) {
        a.design = (int)jb->so->design;
        a.alpha = jb->so->alpha;
        a.clip = jb->so->clip >= 0 ? jb->so->clip : jb->to->B;
        a.shaped = s->d_shaped;
        a.shaped_f32 = jb->shaped_dtype == SRS_F32;
    }
    a.bad = s->d_bad;
    if (b->offsets) {
        for (int t = 0; t < SRS_TIER_COUNT_; t++)
            if (tier_n[t] && srs_thr_launch(&a, (srs_thr_tier_t)t, s->d_rows + tier_at[t], tier_n[t], tier_max[t], st))
                return 1;
    } else if (srs_thr_launch(&a, dense_tier, NULL, nr, b->row_len, st)) {
        return 1;
    }

    srs_nvtx_push("copy out");
    if ((jb->m_star && cudaCheck(cudaMemcpyAsync(s->h_m, s->d_m, (size_t)nr * 8, cudaMemcpyDeviceToHost, st))) ||
        (jb->b_eff && cudaCheck(cudaMemcpyAsync(s->h_beff, s->d_beff, (size_t)nr * 8, cudaMemcpyDeviceToHost, st))) ||
        (jb->so && cudaCheck(cudaMemcpyAsync(s->h_shaped, s->d_shaped, (size_t)ns * dt_size(jb->shaped_dtype),
                                             cudaMemcpyDeviceToHost, st))) ||
        cudaCheck(cudaMemcpyAsync(s->h_bad, s->d_bad, 8, cudaMemcpyDeviceToHost, st)) ||
        cudaCheck(cudaEventRecord(s->done, st)))
        goto fail;
    srs_nvtx_pop();
    s->busy = 1;
    return 0;
fail:
    srs_nvtx_pop();
    return 1;
}

// Waits for the slot's chunk and moves its outputs to the caller's arrays.
static int chunk_finish(job_t *jb, slot_t *s) {
    if (!s->busy) return 0;
    s->busy = 0;
    if (cudaCheck(cudaEventSynchronize(s->done))) return 1;
    if (*s->h_bad != ~0ull) {
        if (jb->bad_row < 0) {
            jb->bad_row = s->i0 + (int64_t)(*s->h_bad >> 2);
            jb->bad_kind = (int)(*s->h_bad & 3);
        }
        return 0;
    }
    if (jb->bad_row >= 0) return 0;  // an earlier chunk failed: outputs are undefined anyway
    srs_nvtx_push("write");
    if (jb->m_star) memcpy(jb->m_star + s->i0, s->h_m, (size_t)s->n_rows * 8);
    if (jb->b_eff) memcpy(jb->b_eff + s->i0, s->h_beff, (size_t)s->n_rows * 8);
    if (jb->so) {
        size_t es = dt_size(jb->shaped_dtype);
        memcpy((char *)jb->shaped + (size_t)(s->s0 - jb->base) * es, s->h_shaped, (size_t)s->n_samples * es);
    }
    srs_nvtx_pop();
    return 0;
}

static srs_status_t run(srs_ctx_t *ctx, job_t *jb) {
    const srs_batch_t *b = jb->b;
    const int64_t np = b->n_prompts;
    if (np == 0) return SRS_OK;
    cuda_state_t *cs = NULL;
    srs_status_t st = state_get(ctx, &cs);
    if (st != SRS_OK) return st;
    jb->base = b->offsets ? b->offsets[0] : 0;
    jb->bad_row = -1;
    jb->poison = srs_env_pos("SRS_CUDA_POISON") > 0;

    // chunk size: CHUNK_SAMPLES_DEFAULT samples (more when one row is longer),
    // limited by a third of the free device memory over the slots
    int64_t max_len = b->row_len;
    if (b->offsets) {
        max_len = 0;
        for (int64_t i = 0; i < np; i++)
            if (b->offsets[i + 1] - b->offsets[i] > max_len) max_len = b->offsets[i + 1] - b->offsets[i];
    }
    size_t free_b = 0, total_b = 0;
    if (cudaCheck(cudaMemGetInfo(&free_b, &total_b))) return backend_fail(ctx);
    int64_t fit = (int64_t)(free_b / (3 * NSLOT * 8 + 1));   // reward, logw, shaped per sample
    if (cs->slot[0].cap_samples > 0) fit += cs->slot[0].cap_samples;  // already ours
    int64_t cap_s, cap_r;
    srs_chunk_caps(b, max_len, CHUNK_SAMPLES_DEFAULT, fit, CHUNK_ROWS_MIN, &cap_s, &cap_r);

    int64_t i0 = 0, c = 0;
    int failed = 0;
    while (i0 < np && !failed) {
        slot_t *s = &cs->slot[c % NSLOT];
        if (chunk_finish(jb, s)) { failed = 1; break; }
        if (jb->bad_row >= 0) break;
        if (slot_reserve(s, cap_s, cap_r)) { failed = 1; break; }
        int64_t nr = srs_chunk_next(b, i0, cap_s, cap_r);
        if (chunk_enqueue(jb, s, i0, nr)) { failed = 1; break; }
        i0 += nr;
        c++;
    }
    // drain in chunk order
    for (int64_t k = 0; k < NSLOT; k++) {
        slot_t *s = &cs->slot[(c + k) % NSLOT];
        if (failed) {
            // every stream, busy or not: a chunk whose enqueue failed half-way
            // may still have copies in flight from the slot's pinned buffers
            cudaStreamSynchronize(s->stream);
            s->busy = 0;
        } else if (chunk_finish(jb, s)) {
            failed = 1;
        }
    }
    if (failed) return backend_fail(ctx);
    if (jb->bad_row >= 0) return ctx->cpu->fail_bad_row(ctx, jb->b, jb->bad_row, jb->bad_kind);
    return SRS_OK;
}

// ----------------------------------------------------------------------------
// backend entry points

static srs_status_t cuda_thresholds(srs_ctx_t *ctx, const srs_batch_t *b, const srs_threshold_opts_t *o,
                                    double *m_star, double *b_eff) {
    job_t jb = {b, o, NULL, m_star, b_eff, NULL, SRS_F64, 0, -1, 0, 0};
    return run(ctx, &jb);
}

static srs_status_t cuda_shape(srs_ctx_t *ctx, const srs_batch_t *b, const srs_threshold_opts_t *to,
                               const srs_shape_opts_t *so, double *m_star, double *b_eff, void *shaped,
                               srs_dtype_t shaped_dtype) {
    job_t jb = {b, to, so, m_star, b_eff, shaped, shaped_dtype, 0, -1, 0, 0};
    return run(ctx, &jb);
}

const srs_backend_t srs_cuda_backend = {"cuda", cuda_thresholds, cuda_shape};

#else
// A CPU-only build has no CUDA backend; ISO C wants a declaration in every unit.
typedef int srs_cuda_backend_absent;
#endif // SRS_WITH_CUDA
