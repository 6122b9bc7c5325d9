/*
 * srs_eval_math.h — the evaluation's bootstrap weights, shared by every
 * backend (gcc for host/eval.c, nvcc for the CUDA evaluation).
 *
 * Replicate r of global prompt gi has Poisson(1) weight poisson1(x) where x is
 * word r % 4 of srs_philox_block(seed, gi, r / 4, SRS_EVAL_STREAM): the same
 * weights on any backend, chunking or number of processes.
 */
#ifndef SRS_EVAL_MATH_H
#define SRS_EVAL_MATH_H

#include "srs_math.h"

#define SRS_EVAL_STREAM 0xB0075u  // Philox stream id of the bootstrap weights
#define SRS_POIS_MAX 16           // Poisson(1) inversion table length

// Poisson(1) by inversion of one 32-bit uniform: w = #{k : x >= T_k} with
// T_k = 2^32 P(X <= k). The law is exact to 2^-32 per value; the tail beyond
// P < 2^-32 (w >= 13) is cut.
SRS_HD void srs_poisson_table(uint64_t *T) {
    double pk = exp(-1.0), cdf = 0;
    for (int k = 0; k < SRS_POIS_MAX; k++) {
        cdf += pk;
        pk /= (double)(k + 1);
        double t = ldexp(cdf, 32);
        T[k] = t >= 4294967296.0 ? (uint64_t)1 << 32 : (uint64_t)t;  // unreachable threshold
    }
}

SRS_HD double srs_poisson1(uint32_t x, const uint64_t *T) {
    int w = 0;
    for (int k = 0; k < SRS_POIS_MAX; k++) w += (uint64_t)x >= T[k];
    return (double)w;
}

#endif // SRS_EVAL_MATH_H
