/*
 * guide_emu.h — the guided-decoding kernels' per-row code (guide_body.cuh)
 * run on the CPU (guide_emu.cpp), for the tests. Each function mirrors a
 * launcher of guide.cuh, with host pointers, and runs every row of the batch
 * as the kernel would, on `group` host threads:
 *   candidates, vocab   a row per group (the kernels' blocks): group 1 is one
 *                       thread (SeqGroup); 5, 32, TOPK_THREADS (256) or, for
 *                       vocab with k = 0, VOCAB_THREADS (512) are host threads
 *                       with barriers and rank-ordered reductions (HostGroup)
 *   select              a row per thread (the kernel's grid): `group` threads
 *                       (1, 5, 32, SELECT_THREADS = 128) take rows t, t +
 *                       group, ... concurrently
 *   value_head          the gathered columns (ids != NULL): a candidate per
 *                       group (the kernel's warps) of 1, 5 or 32 threads; a
 *                       whole head (ids NULL): the bias alone (group 1), as
 *                       added after the cuBLAS product
 * Returns 0, or -1 when the group size is not one of those (nothing ran).
 * Valid C; not part of the library.
 */
#ifndef SRS_KERNELS_GUIDE_EMU_H
#define SRS_KERNELS_GUIDE_EMU_H

#include <stdint.h>
#include "srs.h"

#ifdef __cplusplus
extern "C" {
#endif

int srs_guide_emu_candidates(const void *logits, srs_elem_t dtype, int64_t rows, int64_t vocab, double T, int k,
                             int32_t *ids, float *logp, uint8_t *flags, int group);

int srs_guide_emu_select(const srs_guide_opts_t *o, int64_t rows, int k, const int32_t *ids, const float *logp,
                         const float *score, int32_t *tokens, float *fused, double *m_used, uint8_t *flags,
                         int group);

int srs_guide_emu_vocab(const srs_guide_opts_t *o, const void *logits, srs_elem_t logits_dtype,
                        const void *values, srs_elem_t values_dtype, int64_t rows, int64_t vocab, double T,
                        int k, int32_t *tokens, int32_t *cand_ids, float *fused, uint8_t *flags, int group);

int srs_guide_emu_value_head(const void *hidden, const void *head, srs_elem_t dtype, const float *bias, int64_t rows,
                             int64_t d, int64_t vocab, const int32_t *ids, int k, float *values, int group);

#ifdef __cplusplus
}
#endif
#endif // SRS_KERNELS_GUIDE_EMU_H
