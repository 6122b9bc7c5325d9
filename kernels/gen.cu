/*
 * gen.cu — synthetic scenarios on the GPU (`srs gen --device cuda`), for
 * benchmarks at scale.
 *
 * What it computes: exactly host/gen.c's data set. Both run the per-sample
 * model of include/srs_gen_math.h, and every random number is the same
 * Philox4x32-10 block keyed by the seed with counter (global prompt, sample,
 * stream). The generator is our own Philox4x32-10 (srs_math.h: the
 * counter-based generator of Salmon et al., the one cuRAND's
 * CURAND_RNG_PSEUDO_PHILOX4_32_10 implements, with the same round constants),
 * deliberately not cuRAND's host API: cuRAND orders its outputs by its own
 * offsets and thread layout, our counters are (prompt, sample, stream), so the
 * CPU and the GPU produce the same data set from the same seed, which is what
 * benchmarks and tests need. Integer parts (row lengths, the hack decision)
 * are bit-identical; the normals go through Box-Muller's log, cos and sin,
 * where CUDA's libdevice and glibc may differ in the last bit (about 1 ulp),
 * so values agree to ~1e-15 relative and a test compares them with a
 * tolerance (see srs_gen_math.h).
 *
 * Layout: the host computes the row lengths and CSR offsets (the same
 * srs_gen_row_len). Samples are generated in chunks of global sample indices
 * [s0, s0 + n), any chunk boundary may cut a row. Per chunk, two launches
 * (the per-thread code and the chunk plan are gen_body.cuh, which the CPU
 * tests run too):
 *   prompt kernel  one thread per row overlapping the chunk: c_i, the
 *                  per-prompt draw (one Box-Muller per prompt, not per sample)
 *   sample kernel  one thread per sample: its row by binary search in the
 *                  chunk's offsets (ragged) or by division (equal rows), then
 *                  srs_gen_sample; coalesced writes of reward, gold, logw.
 * Two chunks are in flight on two streams: while one chunk computes and copies
 * out (device -> pinned), the host moves the other's values from pinned
 * memory into the data set's arrays.
 */
#include <stdint.h>
#include <string.h>
#include "common.cuh"
#include "gen.cuh"
#include "gen_body.cuh"

#define GEN_NSLOT 2

// ----------------------------------------------------------------------------
// kernels: a thread per row and a thread per sample (gen_body.cuh)

static __global__ void gen_prompt_kernel(srs_gen_params_t p, int64_t i0, int64_t n_rows, double *c) {
    gen_prompt_at(p, i0, n_rows, c, (int64_t)blockIdx.x * blockDim.x + threadIdx.x);
}

static __global__ void gen_sample_kernel(srs_gen_params_t p, const int64_t *__restrict__ off, int64_t row_len,
                                         int64_t i0, int64_t n_rows, int64_t s0, int64_t n,
                                         const double *__restrict__ c, double *__restrict__ u,
                                         double *__restrict__ g, double *__restrict__ lw) {
    gen_sample_at(p, off, row_len, i0, n_rows, s0, n, c, u, g, lw, (int64_t)blockIdx.x * blockDim.x + threadIdx.x);
}

// ----------------------------------------------------------------------------
// launcher

typedef struct {
    cudaStream_t stream;
    double *d_u, *d_g, *d_lw, *d_c;
    int64_t *d_off;
    double *h_u, *h_g, *h_lw;
    int64_t *h_off;
    int64_t s0, n;   // the chunk in flight (n == 0: none)
} gen_slot_t;

// Waits for the slot's chunk and moves it from pinned memory into the outputs.
static int gen_drain(gen_slot_t *S, double *u, double *lw, double *g) {
    if (!S->n) return 0;
    if (cudaCheck(cudaStreamSynchronize(S->stream))) return 1;
    SrsNvtx range("gen copy out (write)");
    size_t bytes = sizeof(double) * (size_t)S->n;
    memcpy(u + S->s0, S->h_u, bytes);
    memcpy(g + S->s0, S->h_g, bytes);
    if (lw) memcpy(lw + S->s0, S->h_lw, bytes);
    S->n = 0;
    return 0;
}

extern "C" int srs_gen_cuda(const srs_gen_params_t *p, const int64_t *offsets, int64_t n_prompts, double *u,
                            double *lw, double *g, int64_t chunk) {
    SrsNvtx range("gen");
    if (n_prompts < 1) return 0;
    const int64_t ns = offsets[n_prompts];
    if (ns <= 0) return 0;
    chunk = gen_chunk_size(chunk, ns);
    const int ragged = !gen_equal_rows(*p);
    const int64_t row_len = offsets[1] - offsets[0];
    // every row overlapping a chunk has a sample in it: at most chunk rows
    const size_t cap = (size_t)chunk, cap_rows = (size_t)chunk + 1;
    gen_slot_t sl[GEN_NSLOT];
    memset(sl, 0, sizeof sl);
    int rc = 1;
    for (int k = 0; k < GEN_NSLOT; k++) {
        gen_slot_t *S = &sl[k];
        if (cudaCheck(cudaStreamCreateWithFlags(&S->stream, cudaStreamNonBlocking)) ||
            cudaCheck(cudaMalloc((void **)&S->d_u, sizeof(double) * cap)) ||
            cudaCheck(cudaMalloc((void **)&S->d_g, sizeof(double) * cap)) ||
            cudaCheck(cudaMalloc((void **)&S->d_c, sizeof(double) * cap_rows)) ||
            cudaCheck(cudaMallocHost((void **)&S->h_u, sizeof(double) * cap)) ||
            cudaCheck(cudaMallocHost((void **)&S->h_g, sizeof(double) * cap)))
            goto done;
        if (lw && (cudaCheck(cudaMalloc((void **)&S->d_lw, sizeof(double) * cap)) ||
                   cudaCheck(cudaMallocHost((void **)&S->h_lw, sizeof(double) * cap))))
            goto done;
        if (ragged && (cudaCheck(cudaMalloc((void **)&S->d_off, sizeof(int64_t) * (cap_rows + 1))) ||
                       cudaCheck(cudaMallocHost((void **)&S->h_off, sizeof(int64_t) * (cap_rows + 1)))))
            goto done;
    }
    {
        int64_t i0 = 0, c = 0;
        for (int64_t s0 = 0; s0 < ns; s0 += chunk, c++) {
            gen_slot_t *S = &sl[c % GEN_NSLOT];
            if (gen_drain(S, u, lw, g)) goto done;
            const int64_t n = ns - s0 < chunk ? ns - s0 : chunk;
            const int64_t n_rows = gen_chunk_rows(offsets, s0, n, &i0);
            if (ragged) {
                SrsNvtx stage("gen stage offsets");
                memcpy(S->h_off, offsets + i0, sizeof(int64_t) * (size_t)(n_rows + 1));
                if (cudaCheck(cudaMemcpyAsync(S->d_off, S->h_off, sizeof(int64_t) * (size_t)(n_rows + 1),
                                              cudaMemcpyHostToDevice, S->stream)))
                    goto done;
            }
            {
                SrsNvtx kr("gen kernels");
                gen_prompt_kernel<<<(unsigned)SRS_CEIL_DIV(n_rows, (int64_t)GEN_BLOCK), GEN_BLOCK, 0, S->stream>>>(
                    *p, i0, n_rows, S->d_c);
                if (cudaCheckLaunch()) goto done;
                gen_sample_kernel<<<(unsigned)SRS_CEIL_DIV(n, (int64_t)GEN_BLOCK), GEN_BLOCK, 0, S->stream>>>(
                    *p, ragged ? S->d_off : NULL, row_len, i0, n_rows, s0, n, S->d_c, S->d_u, S->d_g,
                    lw ? S->d_lw : NULL);
                if (cudaCheckLaunch()) goto done;
            }
            const size_t bytes = sizeof(double) * (size_t)n;
            if (cudaCheck(cudaMemcpyAsync(S->h_u, S->d_u, bytes, cudaMemcpyDeviceToHost, S->stream)) ||
                cudaCheck(cudaMemcpyAsync(S->h_g, S->d_g, bytes, cudaMemcpyDeviceToHost, S->stream)))
                goto done;
            if (lw && cudaCheck(cudaMemcpyAsync(S->h_lw, S->d_lw, bytes, cudaMemcpyDeviceToHost, S->stream)))
                goto done;
            S->s0 = s0;
            S->n = n;
        }
        // the last chunks, oldest first
        for (int64_t t = 0; t < GEN_NSLOT; t++)
            if (gen_drain(&sl[(c + t) % GEN_NSLOT], u, lw, g)) goto done;
    }
    rc = 0;
done:
    for (int k = 0; k < GEN_NSLOT; k++) {
        gen_slot_t *S = &sl[k];
        if (S->stream) {
            cudaStreamSynchronize(S->stream);
            cudaStreamDestroy(S->stream);
        }
        cudaFree(S->d_u); cudaFree(S->d_g); cudaFree(S->d_lw); cudaFree(S->d_c); cudaFree(S->d_off);
        cudaFreeHost(S->h_u); cudaFreeHost(S->h_g); cudaFreeHost(S->h_lw); cudaFreeHost(S->h_off);
    }
    return rc;
}
