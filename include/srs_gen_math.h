/*
 * srs_gen_math.h — the generative model of the synthetic scenarios, shared by
 * the CPU generator (host/gen.c) and the CUDA generator (kernels/gen.cu).
 *
 * Every random number is a Philox4x32-10 block (srs_philox_block in
 * srs_math.h) keyed by the seed with counter (global prompt, sample, stream),
 * so a value depends only on where it sits: never on the backend, the thread
 * count, the chunking or the order of generation. Both backends call the very
 * functions below: the same integer arithmetic and the same floating-point
 * operations in the same order.
 *
 * Scenarios (prompt i, sample j; z* independent standard normals):
 *
 *   gauss     mu_i ~ N(0,1); u_ij = mu_i + z; gold = u.
 *
 *   overopt   over-optimisation: high-utility outputs are rare under the base
 *             policy and the proxy reward has an exploitable error.
 *               difficulty  c_i ~ N(0, 1)
 *               honest sample (prob 0.95): quality q ~ N(0,1),
 *                   gold g = c_i + q, proxy u = g + 0.5 z
 *                   (gold above c_i + 2 has base mass 2.3%)
 *               hack (prob 0.05): gold g = c_i - 1 + 0.5 q (worse than typical),
 *                   proxy u = c_i + 2 + 0.5 |z| (looks like a top answer)
 *             A follower that trusts the proxy too much drifts onto hacks:
 *             proxy utility rises while gold utility falls.
 *
 *   twopoint  the paper's motivating example: two outputs per prompt with
 *             utilities 1 and 2 and base probabilities 0.9 and 0.1 (logw);
 *             gold = u.
 *
 * Options: ragged rows (length uniform in [1, n]), random base log-weights
 * logw ~ N(0, 1) (ignored by twopoint, which always has its own).
 *
 * Bit-identity across backends. Row lengths, the per-prompt draws' counters
 * and the hack decision are integer arithmetic and exactly rounded double
 * operations: identical everywhere. The products by 0.5 below are exact, so
 * even a fused multiply-add (nvcc contracts by default; gcc in ISO C mode
 * does not) rounds to the same double. The one source of difference is
 * Box-Muller's log, cos and sin (srs_normal2): CUDA's libdevice and glibc are
 * both accurate to about an ulp but not always to the same last bit, so a
 * normal may differ from the CPU's by an ulp or two (sqrt is correctly rounded
 * on both). twopoint's log-weights are computed once on the host and passed in
 * (srs_gen_params_t.twopoint_logw), so they are identical.
 */
#ifndef SRS_GEN_MATH_H
#define SRS_GEN_MATH_H

#include "srs_math.h"

// Philox stream ids (the 4th counter word).
enum {
    SRS_GEN_ST_PROMPT = 0,   // per-prompt centre / difficulty
    SRS_GEN_ST_SAMPLE = 1,   // the sample's (q, z) pair
    SRS_GEN_ST_KIND = 2,     // overopt: hack or honest
    SRS_GEN_ST_LOGW = 3,     // random base log-weight
    SRS_GEN_ST_LEN = 4       // ragged row length
};

// Sample slot of the counter used for per-prompt draws.
#define SRS_GEN_PROMPT_COUNTER 0xFFFFFFFFu

// Everything the per-sample model reads: srs_gen_opts_t resolved, plain
// values (passed by value to the kernels).
typedef struct {
    int scenario;             // srs_scenario_t
    int ragged;
    int with_logw;            // logw is produced (always for twopoint)
    int64_t n_samples;        // per prompt (maximum when ragged)
    uint64_t seed;
    double twopoint_logw[2];  // log(0.9), log(0.1), evaluated on the host
} srs_gen_params_t;

// Number of samples of prompt i.
SRS_HD int64_t srs_gen_row_len(const srs_gen_params_t *p, int64_t i) {
    if (p->scenario == SRS_SCEN_TWOPOINT) return 2;
    if (!p->ragged) return p->n_samples;
    srs_u32x4_t r = srs_philox_block(p->seed, (uint64_t)i, SRS_GEN_PROMPT_COUNTER, SRS_GEN_ST_LEN);
    return 1 + (int64_t)(srs_u01(r.v[0], r.v[1]) * (double)p->n_samples);
}

// The per-prompt value c_i (gauss: mu_i, overopt: the difficulty; twopoint
// has none and gets 0).
SRS_HD double srs_gen_prompt_value(const srs_gen_params_t *p, int64_t i) {
    if (p->scenario == SRS_SCEN_TWOPOINT) return 0.0;
    double c, unused;
    srs_normal2(srs_philox_block(p->seed, (uint64_t)i, SRS_GEN_PROMPT_COUNTER, SRS_GEN_ST_PROMPT), &c, &unused);
    return c;
}

// Sample j of prompt i given c = srs_gen_prompt_value(p, i): proxy reward *u,
// gold *g and, when lw != NULL, the base log-weight *lw.
SRS_HD void srs_gen_sample(const srs_gen_params_t *p, int64_t i, int64_t j, double c, double *u, double *g,
                           double *lw) {
    if (p->scenario == SRS_SCEN_TWOPOINT) {
        *u = *g = j == 0 ? 1.0 : 2.0;
        if (lw) *lw = p->twopoint_logw[j == 0 ? 0 : 1];
        return;
    }
    double q, z;
    srs_normal2(srs_philox_block(p->seed, (uint64_t)i, (uint32_t)j, SRS_GEN_ST_SAMPLE), &q, &z);
    if (p->scenario == SRS_SCEN_GAUSS) {
        *u = *g = c + q;
    } else {
        srs_u32x4_t k = srs_philox_block(p->seed, (uint64_t)i, (uint32_t)j, SRS_GEN_ST_KIND);
        int hack = srs_u01(k.v[0], k.v[1]) < 0.05;
        if (hack) {
            *g = c - 1.0 + 0.5 * q;
            *u = c + 2.0 + 0.5 * fabs(z);
        } else {
            double gg = c + q;
            *g = gg;
            *u = gg + 0.5 * z;
        }
    }
    if (lw) {
        double a, b;
        srs_normal2(srs_philox_block(p->seed, (uint64_t)i, (uint32_t)j, SRS_GEN_ST_LOGW), &a, &b);
        *lw = a;
    }
}

#endif // SRS_GEN_MATH_H
