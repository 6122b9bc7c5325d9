/*
 * score.h — reward heads: rewards of base-policy samples from cached final
 * hidden states and a linear head, the way sequence-classification reward
 * models score the last token: r = H W + b, one GEMM.
 */
#ifndef SRS_SCORE_H
#define SRS_SCORE_H

#include <stdint.h>
#include "srs.h"

#ifdef __cplusplus
#define SRS_EXTERN_C extern "C"
#else
#define SRS_EXTERN_C
#endif

typedef enum { SRS_NPY_F32 = 0, SRS_NPY_F64, SRS_NPY_F16, SRS_NPY_BF16 } srs_npy_kind_t;

// A matrix read from NPY: (rows, cols) C order, element type kind.
typedef struct {
    void *data;          // (rows, cols), malloc'd
    srs_npy_kind_t kind;
    int64_t rows, cols;
} srs_npy_mat_t;

// Loads a 1-D (as (n, 1)) or 2-D NPY of float32/float64/float16/bfloat16
// (io_npy.c). m->data is malloc'd; free it with free().
srs_status_t srs_npy_load_matrix(srs_ctx_t *ctx, const char *path, srs_npy_mat_t *m);
// Rows [r0, r1) of it only (r1 < 0: to the end); *total (may be NULL) gets
// the file's row count. Reads only those rows' bytes (memory-mapped file).
srs_status_t srs_npy_load_matrix_rows(srs_ctx_t *ctx, const char *path, int64_t r0, int64_t r1, int64_t *total,
                                      srs_npy_mat_t *m);

// IEEE half and bfloat16 to float (exact).
float srs_half_to_float(uint16_t h);
float srs_bf16_to_float(uint16_t h);

// Rewards out (n, heads) = hidden (n, d) x head (d, heads) + bias (heads,).
// hidden: kind F32, F16 or BF16 (F64 is converted to F32); head and bias
// float32 (bias may be NULL). CPU: OpenBLAS sgemm over blocks of rows (halves
// converted to float per block); CUDA: cublasGemmEx in chunks of rows, the
// head cast to the hidden type, float32 accumulation (tensor cores for halves).
srs_status_t srs_score(srs_ctx_t *ctx, const void *hidden, srs_npy_kind_t kind, int64_t n, int64_t d,
                       const float *head, int64_t heads, const float *bias, float *out);

// Where out (n, heads), the rewards of srs_score, first holds a non-finite
// value, and why: SRS_OK when every reward is finite, else SRS_ERR_BAD_INPUT
// with a message naming the file to blame and its row: a NaN or infinity in
// hidden (rows numbered from first_row, the sample's row of hidden_path), in
// head (d, heads) or in bias (heads,) (float32, as scored; a float64 head
// beyond float32 is infinite there), or finite inputs whose product exceeds
// float32.
srs_status_t srs_score_check(srs_ctx_t *ctx, const float *out, int64_t n, int64_t heads, const void *hidden,
                             srs_npy_kind_t kind, int64_t d, const float *head, const float *bias, int64_t first_row,
                             const char *hidden_path, const char *head_path, const char *bias_path);

// Rows per chunk of the CUDA path (host/cuda/chunks.c): chunk_bytes of hidden
// states of item bytes each, at most max_rows when > 0 (the test hook
// SRS_CUDA_SCORE_CHUNK_ROWS), within [1, n].
SRS_EXTERN_C int64_t srs_score_chunk_rows(int64_t n, int64_t d, int64_t item, int64_t chunk_bytes, int64_t max_rows);

#ifdef SRS_WITH_CUDA
// The cuBLAS path of srs_score (kernels/score.cu): chunks of at most
// max_chunk_rows rows when > 0; poison: the device rewards filled with NaN
// bytes before each GEMM (tests). Returns 0, or 1 with srs_cuda_last_error set.
SRS_EXTERN_C int srs_score_cuda(int device, const void *hidden, int kind, int64_t n, int64_t d, const float *head,
                                int64_t heads, const float *bias, float *out, int64_t max_chunk_rows, int poison);
// srs_cuda_last_error (kernels/common.cuh), declared here so that host C
// files need not include the CUDA headers.
const char *srs_cuda_last_error(void);
#define srs_cuda_last_error_msg srs_cuda_last_error
#endif

#endif
