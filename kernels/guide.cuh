/*
 * guide.cuh — launchers of the guided-decoding kernels (guide.cu), called by
 * host/guide.c on a CUDA context after it has checked every argument.
 *
 * All array arguments are device pointers (opts->seeds, m_star and b_eff
 * too); `stream` is a cudaStream_t. Each launcher only queues work: no
 * allocation, no copy, no synchronisation (the value head's cuBLAS handle is
 * created once per host thread, on first use). Returns 0, or 1 with
 * srs_cuda_last_error() set. Valid C.
 */
#ifndef SRS_KERNELS_GUIDE_CUH
#define SRS_KERNELS_GUIDE_CUH

#include <stdint.h>
#include "srs.h"

#ifdef __cplusplus
extern "C" {
#endif

// One launch: block per row, top-k of log_softmax(logits / T).
int srs_guide_cuda_candidates(const void *logits, srs_elem_t dtype, int64_t rows, int64_t vocab,
                              double T, int k, int32_t *ids, float *logp, uint8_t *flags,
                              void *stream);

// One launch: one thread per row runs srs_guide_select_row.
int srs_guide_cuda_select(const srs_guide_opts_t *o, int64_t rows, int k, const int32_t *ids,
                          const float *logp, const float *score, int32_t *tokens, float *fused,
                          double *m_used, uint8_t *flags, void *stream);

// One launch: k > 0 top-k + gather + select per block; k = 0 whole vocabulary.
int srs_guide_cuda_vocab(const srs_guide_opts_t *o, const void *logits, srs_elem_t logits_dtype,
                         const void *values, srs_elem_t values_dtype, int64_t rows, int64_t vocab,
                         double T, int k, int32_t *tokens, int32_t *cand_ids, float *fused,
                         uint8_t *flags, void *stream);

// cuBLAS GEMM (bf16/f16 tensor cores, f32 accumulate) + bias, or a gather
// kernel for ids != NULL.
int srs_guide_cuda_value_head(const void *hidden, const void *head, srs_elem_t dtype,
                              const float *bias, int64_t rows, int64_t d, int64_t vocab,
                              const int32_t *ids, int k, float *values, void *stream);

#ifdef __cplusplus
}
#endif
#endif // SRS_KERNELS_GUIDE_CUH
