/*
 * score.cu — reward heads with cuBLAS: rewards (n, heads) = hidden (n, d) x
 * head (d, heads) + bias, in chunks of rows through pinned buffers, two
 * streams, each with its own cuBLAS handle (a handle's workspace belongs to
 * one stream).
 *
 * Row-major H (n, d) is column-major H^T (d, n) with ld d, and row-major W
 * (d, heads) is column-major W^T (heads, d) with ld heads, so one GemmEx
 * computes the column-major (heads, n) product W^T H^T = (H W)^T, which is
 * the row-major (n, heads) output. The head is cast to the hidden type; the
 * accumulation is float32 (CUBLAS_COMPUTE_32F: tensor cores for halves). The
 * cast and the bias are per-element code in score_body.cuh, which the CPU
 * tests run too.
 */
#include <cublas_v2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "common.cuh"
#include "score.h"
#include "score_body.cuh"

#define SCORE_CHUNK_BYTES ((size_t)256 << 20)

// ----------------------------------------------------------------------------
// kernels: a thread per element (score_body.cuh)

// The head cast to the hidden type (float -> binary16 / bfloat16).
static __global__ void score_head_cast_kernel(const float *w, uint16_t *out, int64_t n, int kind) {
    score_cast_at(w, out, n, kind, (int64_t)blockIdx.x * blockDim.x + threadIdx.x);
}

// bias added to every row of out (n, heads)
static __global__ void score_add_bias_kernel(float *out, const float *bias, int64_t n, int64_t heads) {
    score_add_bias_at(out, bias, n, heads, (int64_t)blockIdx.x * blockDim.x + threadIdx.x);
}

// ----------------------------------------------------------------------------
// launcher

extern "C" int srs_score_cuda(int device, const void *hidden, int kind, int64_t n, int64_t d, const float *head,
                              int64_t heads, const float *bias, float *out, int64_t max_chunk_rows, int poison) {
    // kind: 0 float32, 2 float16, 3 bfloat16 (srs_npy_kind_t); device: the
    // context's GPU (node-local rank % count under MPI)
    if (cudaCheck(cudaSetDevice(device))) return 1;
    const size_t item = kind == 0 ? 4 : 2;
    const cudaDataType_t dt = kind == 0 ? CUDA_R_32F : kind == 2 ? CUDA_R_16F : CUDA_R_16BF;
    const int64_t chunk = srs_score_chunk_rows(n, d, kind == 0 ? 4 : 2, (int64_t)SCORE_CHUNK_BYTES, max_chunk_rows);
    cublasHandle_t h[2] = {NULL, NULL};
    cudaStream_t st[2] = {NULL, NULL};
    void *d_h[2] = {NULL, NULL}, *p_h[2] = {NULL, NULL}, *d_w = NULL;
    float *d_w32 = NULL, *d_bias = NULL, *d_out[2] = {NULL, NULL}, *p_out[2] = {NULL, NULL};
    int64_t c_r0[2] = {0, 0}, c_nr[2] = {0, 0};
    int rc = 1;
    SrsNvtx range("score");
    for (int k = 0; k < 2; k++)
        if (cudaCheck(cudaStreamCreateWithFlags(&st[k], cudaStreamNonBlocking)) ||
            (cublasCheck(cublasCreate(&h[k])) && ((h[k] = NULL), 1)) || cublasCheck(cublasSetStream(h[k], st[k])) ||
            cudaCheck(cudaMalloc(&d_h[k], item * (size_t)(chunk * d))) ||
            cudaCheck(cudaMallocHost(&p_h[k], item * (size_t)(chunk * d))) ||
            cudaCheck(cudaMalloc((void **)&d_out[k], sizeof(float) * (size_t)(chunk * heads))) ||
            cudaCheck(cudaMallocHost((void **)&p_out[k], sizeof(float) * (size_t)(chunk * heads))))
            goto done;
    if (cudaCheck(cudaMalloc((void **)&d_w32, sizeof(float) * (size_t)(d * heads))) ||
        cudaCheck(cudaMemcpy(d_w32, head, sizeof(float) * (size_t)(d * heads), cudaMemcpyHostToDevice)))
        goto done;
    d_w = d_w32;
    if (kind != 0) {
        if (cudaCheck(cudaMalloc(&d_w, 2 * (size_t)(d * heads)))) goto done;
        int64_t nw = d * heads;
        const unsigned blocks = (unsigned)SRS_CEIL_DIV(nw, (int64_t)SCORE_BLOCK);
        score_head_cast_kernel<<<blocks, SCORE_BLOCK>>>(d_w32, (uint16_t *)d_w, nw, kind);
        if (cudaCheckLaunch()) goto done;
    }
    if (bias && (cudaCheck(cudaMalloc((void **)&d_bias, sizeof(float) * (size_t)heads)) ||
                 cudaCheck(cudaMemcpy(d_bias, bias, sizeof(float) * (size_t)heads, cudaMemcpyHostToDevice))))
        goto done;
    if (cudaCheck(cudaDeviceSynchronize())) goto done;
    {
        const float one = 1.0f, zero = 0.0f;
        int64_t c = 0;
        for (int64_t r0 = 0; r0 < n; r0 += chunk, c++) {
            int k = (int)(c & 1);
            // the slot's previous chunk: wait, then move its rewards out
            if (c_nr[k]) {
                if (cudaCheck(cudaStreamSynchronize(st[k]))) goto done;
                memcpy(out + c_r0[k] * heads, p_out[k], sizeof(float) * (size_t)(c_nr[k] * heads));
            }
            int64_t nr = n - r0 < chunk ? n - r0 : chunk;
            c_r0[k] = r0;
            c_nr[k] = nr;
            srs_nvtx_push("stage (read)");
            memcpy(p_h[k], (const char *)hidden + item * (size_t)(r0 * d), item * (size_t)(nr * d));
            srs_nvtx_pop();
            // poison (tests): an output the GEMM leaves unwritten reads back as NaN
            if (poison && cudaCheck(cudaMemsetAsync(d_out[k], 0xff, sizeof(float) * (size_t)(nr * heads), st[k])))
                goto done;
            if (cudaCheck(cudaMemcpyAsync(d_h[k], p_h[k], item * (size_t)(nr * d), cudaMemcpyHostToDevice, st[k])) ||
                cublasCheck(cublasGemmEx(h[k], CUBLAS_OP_N, CUBLAS_OP_N, (int)heads, (int)nr, (int)d, &one, d_w, dt,
                                         (int)heads, d_h[k], dt, (int)d, &zero, d_out[k], CUDA_R_32F, (int)heads,
                                         CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT)))
                goto done;
            if (d_bias) {
                const unsigned blocks = (unsigned)SRS_CEIL_DIV(nr * heads, (int64_t)SCORE_BLOCK);
                score_add_bias_kernel<<<blocks, SCORE_BLOCK, 0, st[k]>>>(d_out[k], d_bias, nr, heads);
                if (cudaCheckLaunch()) goto done;
            }
            if (cudaCheck(cudaMemcpyAsync(p_out[k], d_out[k], sizeof(float) * (size_t)(nr * heads),
                                          cudaMemcpyDeviceToHost, st[k])))
                goto done;
        }
        for (int64_t j = 0; j < 2; j++) {
            int k = (int)((c + j) & 1);
            if (!c_nr[k]) continue;
            if (cudaCheck(cudaStreamSynchronize(st[k]))) goto done;
            memcpy(out + c_r0[k] * heads, p_out[k], sizeof(float) * (size_t)(c_nr[k] * heads));
            c_nr[k] = 0;
        }
    }
    rc = 0;
done:
    for (int k = 0; k < 2; k++) {
        if (st[k]) { cudaStreamSynchronize(st[k]); cudaStreamDestroy(st[k]); }
        cudaFree(d_h[k]); cudaFreeHost(p_h[k]); cudaFree(d_out[k]); cudaFreeHost(p_out[k]);
    }
    if (d_w != d_w32) cudaFree(d_w);
    cudaFree(d_w32); cudaFree(d_bias);
    for (int k = 0; k < 2; k++)
        if (h[k]) cublasDestroy(h[k]);
    return rc;
}
