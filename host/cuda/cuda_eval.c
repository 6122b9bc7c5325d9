/*
 * cuda_eval.c — the CUDA evaluation: srs_eval_accumulate on a CUDA context
 * (compiled only when SRS_WITH_CUDA; host/eval.c is the CPU reference).
 *
 * A batch is cut into chunks of whole prompts; each chunk goes to one of
 * EV_NSLOT slots, each a stream with its own pinned and device buffers and
 * cuBLAS handle:
 *
 *   stage    the chunk's rewards, logw, gold and offsets into pinned memory,
 *            rows grouped by length tier (kernels/eval.cuh)
 *   copy in  pinned -> device
 *   weights  W (rows, R+1): the Poisson(1) bootstrap weights from the Philox
 *            stream keyed by the global prompt index (srs_eval_math.h), last
 *            column 1
 *   metrics  one launch per tier: V (rows, K), every arm x beta of a row in
 *            one pass over it
 *   sums     S (R+1, K) += V^T W as one DGEMM (column-major: S^T = V W^T):
 *            row r < R of S the replicate sums, row R the point estimate
 *
 * S stays on the device for the whole call (one per slot, so that two streams
 * never add into the same matrix); at the end the slots' sums are copied back
 * and added into acc in slot order.
 *
 * Device time: one event pair around the whole accumulation. The first event
 * is recorded on slot 0's stream before anything else of the call, and every
 * other slot's stream waits for it; at the end every other stream's last work
 * (the sums' copy back) is joined into slot 0's stream, where the second
 * event is recorded. Their interval is the call on the GPU's clock, from the
 * first copy in to the last copy back, overlap between streams counted once
 * (and gaps while the GPU waits for the host counted too). While the GPU works on one chunk the host
 * stages the next. A bad row is flagged on the device (the first of the
 * batch wins), and its message is the CPU backend's: the CPU evaluation runs
 * on that single row and reports it.
 *
 * Test hooks (environment): SRS_CUDA_EVAL_TIER=block|global raises every
 * row to at least that tier (the slower tiers on short rows);
 * SRS_CUDA_EVAL_CHUNK_ROWS=N caps the prompts per chunk (many chunks, slots
 * reused); SRS_CUDA_POISON=1 fills V and W with NaN bytes before the kernels
 * that write them (an unwritten entry makes the sums NaN).
 */
#ifdef SRS_WITH_CUDA

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cublas_v2.h>
#include "internal.h"
#include "srs_eval_math.h"
#include "../../kernels/common.cuh"
#include "../../kernels/eval.cuh"

#define EV_NSLOT 2
#define EV_CHUNK_BYTES ((int64_t)256 << 20)   // V and W of one chunk in device memory
#define EV_CHUNK_SAMPLES ((int64_t)1 << 23)   // samples per chunk (more when one row is longer)

// ----------------------------------------------------------------------------
// state: per-slot buffers, kept on the context between calls

typedef struct {
    void *p;
    size_t cap;   // bytes
} buf_t;

typedef struct {
    cudaStream_t stream;
    cudaEvent_t done;
    cudaEvent_t join;           // its last work of the call, joined into slot 0's stream
    cublasHandle_t blas;        // one per slot: a handle's workspace belongs to one stream
    int busy;                   // a chunk is in flight
    int used;                   // S holds sums of this call
    // device
    buf_t d_reward, d_logw, d_gold;  // (chunk samples,) as the batch's dtypes
    buf_t d_off;                     // (rows+1,) int64, rebased to the chunk
    buf_t d_rows;                    // (rows,) int64 chunk rows grouped by tier
    buf_t d_at;                      // (global-tier rows,) int64 scratch offsets in samples
    buf_t d_V;                       // (rows, K) double
    buf_t d_W;                       // (rows, R+1) double
    buf_t d_S;                       // (R+1, K) double
    buf_t d_bad;                     // (1,) unsigned long long
    buf_t d_scratch;                 // global-tier scratch
    // pinned host
    buf_t h_reward, h_logw, h_gold, h_off, h_rows, h_at, h_bad, h_S;
    int64_t i0, n_rows;              // the chunk in flight
} ev_slot_t;

typedef struct {
    int initialised;
    ev_slot_t slot[EV_NSLOT];
    buf_t d_arms, d_betas;           // the call's options
    cudaEvent_t t0, t1;              // around the whole accumulation (timing)
    double seconds;                  // device time of the calls (t0 to t1, summed over calls)
    int64_t chunks;
} ev_state_t;

static int dev_reserve(buf_t *b, size_t bytes) {
    if (bytes == 0) bytes = 8;
    if (b->p && b->cap >= bytes) return 0;
    cudaFree(b->p);
    b->p = NULL;
    b->cap = 0;
    if (cudaCheck(cudaMalloc(&b->p, bytes))) return 1;
    b->cap = bytes;
    return 0;
}

static int host_reserve(buf_t *b, size_t bytes) {
    if (bytes == 0) bytes = 8;
    if (b->p && b->cap >= bytes) return 0;
    cudaFreeHost(b->p);
    b->p = NULL;
    b->cap = 0;
    if (cudaCheck(cudaMallocHost(&b->p, bytes))) return 1;
    b->cap = bytes;
    return 0;
}

static void dev_free(buf_t *b) { cudaFree(b->p); b->p = NULL; b->cap = 0; }
static void host_free(buf_t *b) { cudaFreeHost(b->p); b->p = NULL; b->cap = 0; }

static void slot_release(ev_slot_t *s) {
    if (s->stream) cudaStreamSynchronize(s->stream);
    buf_t *dev[] = {&s->d_reward, &s->d_logw, &s->d_gold, &s->d_off, &s->d_rows, &s->d_at,
                    &s->d_V, &s->d_W, &s->d_S, &s->d_bad, &s->d_scratch};
    buf_t *host[] = {&s->h_reward, &s->h_logw, &s->h_gold, &s->h_off, &s->h_rows, &s->h_at, &s->h_bad, &s->h_S};
    for (size_t k = 0; k < sizeof dev / sizeof dev[0]; k++) dev_free(dev[k]);
    for (size_t k = 0; k < sizeof host / sizeof host[0]; k++) host_free(host[k]);
    if (s->blas) cublasDestroy(s->blas);
    if (s->done) cudaEventDestroy(s->done);
    if (s->join) cudaEventDestroy(s->join);
    if (s->stream) cudaStreamDestroy(s->stream);
    memset(s, 0, sizeof *s);
}

void srs_cuda_eval_release(srs_ctx_t *ctx) {
    ev_state_t *es = ctx ? ctx->ev_state : NULL;
    if (!es) return;
    cudaSetDevice(ctx->cuda_device);  // best effort: freeing continues on failure
    for (int k = 0; k < EV_NSLOT; k++) slot_release(&es->slot[k]);
    dev_free(&es->d_arms);
    dev_free(&es->d_betas);
    if (es->t0) cudaEventDestroy(es->t0);
    if (es->t1) cudaEventDestroy(es->t1);
    free(es);
    ctx->ev_state = NULL;
}

void srs_cuda_eval_device_time(const srs_ctx_t *ctx, double *seconds, int64_t *chunks) {
    const ev_state_t *es = ctx ? ctx->ev_state : NULL;
    *seconds = es ? es->seconds : 0.0;
    *chunks = es ? es->chunks : 0;
}

static srs_status_t backend_fail(srs_ctx_t *ctx) {
    return srs_fail(ctx, SRS_ERR_BACKEND, "%s", srs_cuda_last_error());
}

static srs_status_t state_get(srs_ctx_t *ctx, ev_state_t **out) {
    // the context's device, for this host thread (per-thread state in the runtime)
    if (cudaCheck(cudaSetDevice(ctx->cuda_device))) return backend_fail(ctx);
    ev_state_t *es = ctx->ev_state;
    if (!es) {
        es = calloc(1, sizeof *es);
        if (!es) return srs_fail(ctx, SRS_ERR_NOMEM, "out of memory");
        ctx->ev_state = es;
    }
    if (!es->initialised) {
        if (srs_ev_init()) return backend_fail(ctx);
        if ((!es->t0 && cudaCheck(cudaEventCreate(&es->t0))) || (!es->t1 && cudaCheck(cudaEventCreate(&es->t1))))
            return backend_fail(ctx);
        for (int k = 0; k < EV_NSLOT; k++) {
            ev_slot_t *s = &es->slot[k];
            if ((!s->stream && cudaCheck(cudaStreamCreateWithFlags(&s->stream, cudaStreamNonBlocking))) ||
                (!s->done && cudaCheck(cudaEventCreateWithFlags(&s->done, cudaEventDisableTiming))) ||
                (!s->join && cudaCheck(cudaEventCreateWithFlags(&s->join, cudaEventDisableTiming))))
                return backend_fail(ctx);
            if (!s->blas && cublasCheck(cublasCreate(&s->blas))) {
                s->blas = NULL;
                return backend_fail(ctx);
            }
            // every time: a handle kept from a failed attempt must not stay on the default stream
            if (cublasCheck(cublasSetStream(s->blas, s->stream))) return backend_fail(ctx);
        }
        es->initialised = 1;
    }
    *out = es;
    return SRS_OK;
}

// ----------------------------------------------------------------------------
// one call: the job and its chunks

typedef struct {
    const srs_batch_t *b;
    const srs_eval_opts_t *o;
    ev_state_t *es;
    int64_t K;            // columns of V and S
    int R;                // replicates
    srs_ev_tier_t min_tier;
    uint64_t T[SRS_POIS_MAX];
    srs_ev_args_t a;      // the launch arguments common to every chunk
    int64_t bad_row;      // first bad row found (batch index), or -1
    int poison;           // SRS_CUDA_POISON: V and W filled with NaN bytes first
} ev_job_t;

static inline size_t dt_size(srs_dtype_t d) { return d == SRS_F32 ? 4 : 8; }

static inline int64_t row_start(const srs_batch_t *b, int64_t i) {
    return b->offsets ? b->offsets[i] : i * b->row_len;
}

static srs_ev_tier_t tier_of(const ev_job_t *jb, int64_t len) {
    srs_ev_tier_t t = srs_ev_tier(len, jb->a.bps);
    return t < jb->min_tier ? jb->min_tier : t;
}

// Host staging, copy-in, weights, metrics and the bootstrap GEMM of rows
// [i0, i0+nr) in slot s. Returns 0, or 1 with srs_cuda_last_error set.
static int chunk_enqueue(ev_job_t *jb, ev_slot_t *s, int64_t i0, int64_t nr) {
    const srs_batch_t *b = jb->b;
    const int64_t s0 = row_start(b, i0), ns = row_start(b, i0 + nr) - s0;
    const size_t rsz = dt_size(b->reward.dtype), lsz = dt_size(b->logw.dtype), gsz = dt_size(b->gold.dtype);
    const int weighted = b->logw.data != NULL, gold = b->gold.data != NULL;
    const int64_t K = jb->K, R1 = jb->R + 1;
    s->i0 = i0;
    s->n_rows = nr;
    const size_t nrb = (size_t)(nr + 1) * 8;
    if (host_reserve(&s->h_reward, (size_t)ns * rsz) || dev_reserve(&s->d_reward, (size_t)ns * rsz) ||
        (weighted && (host_reserve(&s->h_logw, (size_t)ns * lsz) || dev_reserve(&s->d_logw, (size_t)ns * lsz))) ||
        (gold && (host_reserve(&s->h_gold, (size_t)ns * gsz) || dev_reserve(&s->d_gold, (size_t)ns * gsz))) ||
        host_reserve(&s->h_off, nrb) || dev_reserve(&s->d_off, nrb) || host_reserve(&s->h_rows, nrb) ||
        dev_reserve(&s->d_rows, nrb) || host_reserve(&s->h_at, nrb) || dev_reserve(&s->d_at, nrb) ||
        dev_reserve(&s->d_V, (size_t)nr * (size_t)K * 8) || dev_reserve(&s->d_W, (size_t)nr * (size_t)R1 * 8) ||
        host_reserve(&s->h_bad, 8) || dev_reserve(&s->d_bad, 8))
        return 1;

    // stage: the chunk's bytes into pinned memory, offsets rebased, rows by tier
    srs_nvtx_push("eval stage (read)");
    memcpy(s->h_reward.p, (const char *)b->reward.data + (size_t)s0 * rsz, (size_t)ns * rsz);
    if (weighted) memcpy(s->h_logw.p, (const char *)b->logw.data + (size_t)s0 * lsz, (size_t)ns * lsz);
    if (gold) memcpy(s->h_gold.p, (const char *)b->gold.data + (size_t)s0 * gsz, (size_t)ns * gsz);
    int64_t tier_n[SRS_EV_TIER_COUNT_] = {0}, tier_max[SRS_EV_TIER_COUNT_] = {0}, tier_at[SRS_EV_TIER_COUNT_];
    int64_t scratch_samples = 0;
    srs_ev_tier_t dense_tier = SRS_EV_TIER_COUNT_;
    int64_t *off = s->h_off.p, *rows = s->h_rows.p, *at = s->h_at.p;
    if (b->offsets) {
        for (int64_t i = 0; i <= nr; i++) off[i] = b->offsets[i0 + i] - s0;
        for (int64_t i = 0; i < nr; i++) {
            int64_t len = off[i + 1] - off[i];
            srs_ev_tier_t t = tier_of(jb, len);
            tier_n[t]++;
            if (len > tier_max[t]) tier_max[t] = len;
        }
        int64_t pos = 0, fill[SRS_EV_TIER_COUNT_];
        for (int t = 0; t < SRS_EV_TIER_COUNT_; t++) { tier_at[t] = fill[t] = pos; pos += tier_n[t]; }
        for (int64_t i = 0; i < nr; i++) {
            int64_t len = off[i + 1] - off[i];
            srs_ev_tier_t t = tier_of(jb, len);
            if (t == SRS_EV_TIER_GLOBAL) {  // the row's region of the scratch, in launch order
                at[fill[t] - tier_at[t]] = scratch_samples;
                scratch_samples += len;
            }
            rows[fill[t]++] = i;
        }
    } else {
        dense_tier = tier_of(jb, b->row_len);
        if (dense_tier == SRS_EV_TIER_GLOBAL) scratch_samples = ns;
    }
    srs_nvtx_pop();
    if (scratch_samples > 0 && dev_reserve(&s->d_scratch, (size_t)scratch_samples * (size_t)jb->a.bps)) return 1;

    cudaStream_t st = s->stream;
    srs_nvtx_push("eval copy in");
    int fail = cudaCheck(cudaMemcpyAsync(s->d_reward.p, s->h_reward.p, (size_t)ns * rsz, cudaMemcpyHostToDevice, st)) ||
               (weighted && cudaCheck(cudaMemcpyAsync(s->d_logw.p, s->h_logw.p, (size_t)ns * lsz,
                                                      cudaMemcpyHostToDevice, st))) ||
               (gold && cudaCheck(cudaMemcpyAsync(s->d_gold.p, s->h_gold.p, (size_t)ns * gsz,
                                                  cudaMemcpyHostToDevice, st))) ||
               (b->offsets && (cudaCheck(cudaMemcpyAsync(s->d_off.p, off, nrb, cudaMemcpyHostToDevice, st)) ||
                               cudaCheck(cudaMemcpyAsync(s->d_rows.p, rows, (size_t)nr * 8,
                                                         cudaMemcpyHostToDevice, st)))) ||
               (b->offsets && tier_n[SRS_EV_TIER_GLOBAL] &&
                cudaCheck(cudaMemcpyAsync(s->d_at.p, at, (size_t)tier_n[SRS_EV_TIER_GLOBAL] * 8,
                                          cudaMemcpyHostToDevice, st))) ||
               cudaCheck(cudaMemsetAsync(s->d_bad.p, 0xff, 8, st));
    srs_nvtx_pop();
    if (fail) return 1;

    if (jb->poison && (cudaCheck(cudaMemsetAsync(s->d_W.p, 0xff, (size_t)nr * (size_t)R1 * 8, st)) ||
                       cudaCheck(cudaMemsetAsync(s->d_V.p, 0xff, (size_t)nr * (size_t)K * 8, st))))
        return 1;
    if (srs_ev_weights(s->d_W.p, nr, jb->R, jb->o->seed, b->first_index + i0, jb->T, st)) return 1;
    srs_ev_args_t a = jb->a;
    a.offsets = b->offsets ? s->d_off.p : NULL;
    a.row_len = b->row_len;
    a.reward = s->d_reward.p;
    a.logw = weighted ? s->d_logw.p : NULL;
    a.gold = gold ? s->d_gold.p : NULL;
    a.V = s->d_V.p;
    a.bad = s->d_bad.p;
    a.scratch = scratch_samples > 0 ? s->d_scratch.p : NULL;
    if (b->offsets) {
        a.scratch_at = s->d_at.p;
        for (int t = 0; t < SRS_EV_TIER_COUNT_; t++)
            if (tier_n[t] && srs_ev_launch(&a, (srs_ev_tier_t)t, (const int64_t *)s->d_rows.p + tier_at[t],
                                           tier_n[t], tier_max[t], st))
                return 1;
    } else {
        a.scratch_at = NULL;
        if (srs_ev_launch(&a, dense_tier, NULL, nr, b->row_len, st)) return 1;
    }
    // S^T (K, R+1) += V^T (K, rows) x W (rows, R+1), column-major: V row-major
    // (rows, K) is V^T with ld K, W row-major (rows, R+1) is W^T with ld R+1
    srs_nvtx_push("eval bootstrap gemm");
    const double one = 1.0;
    fail = cublasCheck(cublasDgemm(s->blas, CUBLAS_OP_N, CUBLAS_OP_T, (int)K, (int)R1, (int)nr, &one, s->d_V.p,
                                   (int)K, s->d_W.p, (int)R1, &one, s->d_S.p, (int)K)) ||
           cudaCheck(cudaMemcpyAsync(s->h_bad.p, s->d_bad.p, 8, cudaMemcpyDeviceToHost, st)) ||
           cudaCheck(cudaEventRecord(s->done, st));
    srs_nvtx_pop();
    if (fail) return 1;
    s->busy = 1;
    s->used = 1;
    return 0;
}

// Waits for the slot's chunk; counts it and records its first bad row.
static int chunk_finish(ev_job_t *jb, ev_slot_t *s) {
    if (!s->busy) return 0;
    s->busy = 0;
    if (cudaCheck(cudaEventSynchronize(s->done))) return 1;
    jb->es->chunks++;
    unsigned long long w = *(const unsigned long long *)s->h_bad.p;
    if (w != ~0ull) {
        int64_t row = s->i0 + (int64_t)(w >> 3);
        if (jb->bad_row < 0 || row < jb->bad_row) jb->bad_row = row;
    }
    return 0;
}

// The CPU backend's status and message for bad row i: its evaluation of that
// row alone (one replicate: the message does not depend on them).
static srs_status_t report_bad(srs_ctx_t *ctx, const srs_batch_t *b, const srs_eval_opts_t *o, int64_t i) {
    srs_batch_t one = srs_batch_one_row(b, i);
    srs_eval_opts_t o1 = *o;
    o1.replicates = 1;
    double *acc1 = calloc(srs_eval_acc_len(&o1), sizeof(double));
    if (!acc1) return srs_fail(ctx, SRS_ERR_NOMEM, "out of memory");
    srs_status_t st = ctx->cpu->ev->accumulate(ctx, &one, &o1, acc1);
    free(acc1);
    if (st != SRS_OK) return st;
    int64_t g = b->first_index + i;
    return srs_fail_row(ctx, SRS_ERR_BACKEND, g, "row %lld: the CUDA evaluation found the row bad but the CPU accepts it",
                        (long long)g);
}

static srs_status_t cuda_eval_accumulate(srs_ctx_t *ctx, const srs_batch_t *b, const srs_eval_opts_t *o,
                                         double *acc) {
    const int64_t np = b->n_prompts;
    int64_t max_len = b->row_len;
    if (b->offsets) {
        max_len = 0;
        for (int64_t i = 0; i < np; i++)
            if (b->offsets[i + 1] - b->offsets[i] > max_len) max_len = b->offsets[i + 1] - b->offsets[i];
    }
    if (max_len > 0x7fffffff) return srs_fail(ctx, SRS_ERR_INVALID_ARG, "rows longer than 2^31 samples");
    if (max_len > SRS_EV_MAX_LEN)
        return srs_fail(ctx, SRS_ERR_UNSUPPORTED,
                        "a row of %lld samples is beyond the CUDA evaluation's 2^30; use the CPU backend (--device cpu)",
                        (long long)max_len);
    srs_ev_tier_t min_tier = SRS_EV_TIER_W32;
    const char *force = getenv("SRS_CUDA_EVAL_TIER");
    if (force && *force && strcmp(force, "auto") != 0) {
        if (!strcmp(force, "block")) min_tier = SRS_EV_TIER_BLOCK;
        else if (!strcmp(force, "global")) min_tier = SRS_EV_TIER_GLOBAL;
        else return srs_fail(ctx, SRS_ERR_INVALID_ARG, "SRS_CUDA_EVAL_TIER must be auto, block or global, got '%s'",
                             force);
    }
    ev_state_t *es = NULL;
    srs_status_t st = state_get(ctx, &es);
    if (st != SRS_OK) return st;

    ev_job_t jb;
    memset(&jb, 0, sizeof jb);
    jb.b = b;
    jb.o = o;
    jb.es = es;
    jb.K = 2 + (int64_t)o->n_betas * o->n_arms * SRS_MET_COUNT_;
    jb.R = o->replicates;
    jb.min_tier = min_tier;
    jb.bad_row = -1;
    jb.poison = srs_env_pos("SRS_CUDA_POISON") > 0;
    srs_poisson_table(jb.T);
    srs_ev_args_t *a = &jb.a;
    a->reward_f32 = b->reward.dtype == SRS_F32;
    a->logw_f32 = b->logw.dtype == SRS_F32;
    a->gold_f32 = b->gold.dtype == SRS_F32;
    a->n_arms = o->n_arms;
    a->n_betas = o->n_betas;
    for (int i = 0; i < o->n_arms; i++) {
        const srs_eval_arm_t *arm = &o->arms[i];
        if (arm->kind == SRS_ARM_BEST_OF_N) a->n_bon++;
        if (arm->kind == SRS_ARM_DESIGN && (arm->design == SRS_DESIGN_HARD || arm->design == SRS_DESIGN_SOFT))
            a->need_m = 1;
        if (arm->kind == SRS_ARM_DESIGN && arm->design == SRS_DESIGN_MEANSTD) a->need_std = 1;
    }
    a->preset = (int)o->to.preset;
    a->solver = (int)o->to.solver;
    a->B = o->to.B;
    a->cap = o->to.cap;
    a->tol = o->to.tol;
    a->max_iter = o->to.max_iter;
    a->fixed = o->fixed_threshold != 0;
    a->fixed_beta = o->to.beta;
    a->clip = o->clip >= 0 ? o->clip : o->to.B;
    a->bps = srs_ev_bytes_per_sample(b->logw.data != NULL, b->gold.data != NULL, a->n_bon);
    a->K = jb.K;

    // the call's options (on slot 0's stream, waited for: the slots' streams do
    // not synchronise with the default stream), and zero sums in every slot
    const size_t s_bytes = (size_t)(jb.R + 1) * (size_t)jb.K * 8;
    srs_nvtx_push("eval setup");
    cudaStream_t st0 = es->slot[0].stream;
    // the clock starts before the call's first work, on every stream
    int fail = cudaCheck(cudaEventRecord(es->t0, st0));
    for (int k = 1; k < EV_NSLOT && !fail; k++) fail = cudaCheck(cudaStreamWaitEvent(es->slot[k].stream, es->t0, 0));
    fail = fail || dev_reserve(&es->d_arms, sizeof(srs_eval_arm_t) * (size_t)o->n_arms) ||
               dev_reserve(&es->d_betas, sizeof(double) * (size_t)o->n_betas) ||
               cudaCheck(cudaMemcpyAsync(es->d_arms.p, o->arms, sizeof(srs_eval_arm_t) * (size_t)o->n_arms,
                                         cudaMemcpyHostToDevice, st0)) ||
               cudaCheck(cudaMemcpyAsync(es->d_betas.p, o->betas, sizeof(double) * (size_t)o->n_betas,
                                         cudaMemcpyHostToDevice, st0)) ||
               cudaCheck(cudaStreamSynchronize(st0));
    for (int k = 0; k < EV_NSLOT && !fail; k++) {
        ev_slot_t *s = &es->slot[k];
        s->used = 0;
        fail = dev_reserve(&s->d_S, s_bytes) || host_reserve(&s->h_S, s_bytes) ||
               cudaCheck(cudaMemsetAsync(s->d_S.p, 0, s_bytes, s->stream));
    }
    srs_nvtx_pop();
    if (fail) {
        for (int k = 0; k < EV_NSLOT; k++) cudaStreamSynchronize(es->slot[k].stream);
        return backend_fail(ctx);
    }
    a->arms = es->d_arms.p;
    a->betas = es->d_betas.p;

    // chunks: V and W within EV_CHUNK_BYTES, samples within EV_CHUNK_SAMPLES
    int64_t cap_r = EV_CHUNK_BYTES / ((jb.K + jb.R + 1) * 8);
    const char *cr = getenv("SRS_CUDA_EVAL_CHUNK_ROWS");
    if (cr && atoll(cr) > 0 && atoll(cr) < cap_r) cap_r = atoll(cr);
    if (cap_r < 1) cap_r = 1;
    if (cap_r > np) cap_r = np;
    const int64_t cap_s = max_len > EV_CHUNK_SAMPLES ? max_len : EV_CHUNK_SAMPLES;

    int64_t i0 = 0, c = 0;
    while (i0 < np && !fail) {
        ev_slot_t *s = &es->slot[c % EV_NSLOT];
        if (chunk_finish(&jb, s)) { fail = 1; break; }
        if (jb.bad_row >= 0) break;  // the sums are unusable: stop here
        int64_t nr = 0;
        if (b->offsets) {  // whole rows while they fit (at least one)
            const int64_t s0 = b->offsets[i0];
            while (i0 + nr < np && nr < cap_r && (nr == 0 || b->offsets[i0 + nr + 1] - s0 <= cap_s)) nr++;
        } else {
            int64_t by_samples = b->row_len > 0 ? cap_s / b->row_len : cap_r;
            nr = np - i0 < cap_r ? np - i0 : cap_r;
            if (nr > by_samples) nr = by_samples > 0 ? by_samples : 1;
        }
        if (chunk_enqueue(&jb, s, i0, nr)) { fail = 1; break; }
        i0 += nr;
        c++;
    }
    // drain in chunk order
    for (int64_t k = 0; k < EV_NSLOT; k++) {
        ev_slot_t *s = &es->slot[(c + k) % EV_NSLOT];
        if (fail) {
            // every stream, busy or not: a half-enqueued chunk may still be copying from pinned memory
            cudaStreamSynchronize(s->stream);
            s->busy = 0;
        } else if (chunk_finish(&jb, s)) {
            fail = 1;
        }
    }
    if (fail) return backend_fail(ctx);
    if (jb.bad_row >= 0) return report_bad(ctx, b, o, jb.bad_row);

    // the sums back (every slot's copy joined into slot 0's stream, where the
    // clock stops), then added into acc in slot order
    srs_nvtx_push("eval sums");
    for (int k = 0; k < EV_NSLOT && !fail; k++) {
        ev_slot_t *s = &es->slot[k];
        fail = (s->used && cudaCheck(cudaMemcpyAsync(s->h_S.p, s->d_S.p, s_bytes, cudaMemcpyDeviceToHost, s->stream))) ||
               (k > 0 && (cudaCheck(cudaEventRecord(s->join, s->stream)) ||
                          cudaCheck(cudaStreamWaitEvent(st0, s->join, 0))));
    }
    float ms = 0;
    fail = fail || cudaCheck(cudaEventRecord(es->t1, st0)) || cudaCheck(cudaEventSynchronize(es->t1)) ||
           cudaCheck(cudaEventElapsedTime(&ms, es->t0, es->t1));
    srs_nvtx_pop();
    if (fail) {
        for (int k = 0; k < EV_NSLOT; k++) cudaStreamSynchronize(es->slot[k].stream);
        return backend_fail(ctx);
    }
    es->seconds += 1e-3 * (double)ms;
    const int64_t n_acc = (int64_t)(jb.R + 1) * jb.K;
    for (int k = 0; k < EV_NSLOT; k++) {
        if (!es->slot[k].used) continue;
        const double *src = es->slot[k].h_S.p;
        for (int64_t x = 0; x < n_acc; x++) acc[x] += src[x];
    }
    return SRS_OK;
}

const srs_eval_backend_t srs_eval_cuda_backend = {"cuda", cuda_eval_accumulate};

#else
// A CPU-only build has no CUDA evaluation; ISO C wants a declaration in every unit.
typedef int srs_cuda_eval_absent;
#endif // SRS_WITH_CUDA
