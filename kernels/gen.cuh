/*
 * gen.cuh — the CUDA generator of the synthetic scenarios (gen.cu), called by
 * srs_gen (host/gen.c) on a CUDA context.
 *
 * The model is include/srs_gen_math.h, the code the CPU generator runs too.
 * Valid C, so host/gen.c includes it.
 */
#ifndef SRS_KERNELS_GEN_CUH
#define SRS_KERNELS_GEN_CUH

#include <stdint.h>
#include "srs_gen_math.h"

#ifdef __cplusplus
extern "C" {
#endif

// Generates every sample of the data set on the current device, chunk by
// chunk, and copies the values into the caller's host arrays.
//   offsets        (n_prompts+1,) host CSR offsets, offsets[0] == 0, each row
//                  of the length srs_gen_row_len gives (computed by the caller)
//   reward, gold   (offsets[n_prompts],) host outputs
//   logw           (offsets[n_prompts],) host output, or NULL: no log-weights
//   chunk_samples  samples per chunk (device memory: about 32 bytes each, two
//                  chunks in flight); 0 = the default (16 Mi)
// Returns 0, or 1 with srs_cuda_last_error() set.
int srs_gen_cuda(const srs_gen_params_t *p, const int64_t *offsets, int64_t n_prompts, double *reward,
                 double *logw, double *gold, int64_t chunk_samples);

// The kernels' per-thread code and the launcher's chunk plan (gen_body.cuh)
// run on the CPU (gen_emu.cpp, every build, no device needed; tests): the same
// arguments and outputs as srs_gen_cuda, host memory throughout, each chunk's
// two grids walked thread by thread into chunk buffers, then copied out.
void srs_gen_emulate(const srs_gen_params_t *p, const int64_t *offsets, int64_t n_prompts, double *reward,
                     double *logw, double *gold, int64_t chunk_samples);

#ifdef __cplusplus
}
#endif
#endif // SRS_KERNELS_GEN_CUH
