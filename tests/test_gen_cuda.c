// test_gen_cuda.c — `srs gen` on the GPU against the CPU generator.
//
// Both run the model of include/srs_gen_math.h with the same Philox4x32-10
// counters, so row lengths (offsets) must be equal exactly and every value
// equal up to the last bits of Box-Muller's log/cos/sin, where CUDA's
// libdevice and glibc may differ by an ulp: values are compared with a
// tolerance of 1e-12 max(1, |cpu value|), and the test prints how many were
// bit-identical. Skipped with a message where no CUDA device (or no CUDA
// build) is present.
//
// One case runs without a GPU, in every build: the kernels' per-thread code
// and the launcher's chunk plan (kernels/gen_body.cuh) on the CPU
// (srs_gen_emulate, kernels/gen_emu.cpp), against the CPU generator: the
// same functions compiled by the same host compilers with the same libm, so
// every value must be bit-identical, for any chunking.
#include <string.h>
#include "internal.h"
#include "test.h"
#include "../kernels/gen.cuh"
#ifdef SRS_WITH_CUDA
#include "../kernels/common.cuh"
#endif

// The generator's parameters for o, as srs_gen sets them (host/gen.c).
static srs_gen_params_t params_of(const srs_gen_opts_t *o) {
    srs_gen_params_t p;
    memset(&p, 0, sizeof p);
    p.scenario = (int)o->scenario;
    p.ragged = o->ragged;
    p.with_logw = o->with_logw || o->scenario == SRS_SCEN_TWOPOINT;
    p.n_samples = o->n_samples;
    p.seed = o->seed;
    p.twopoint_logw[0] = log(0.9);
    p.twopoint_logw[1] = log(0.1);
    return p;
}

// Bitwise equality of n values; reports the first difference.
static int same_bits(const double *a, const double *b, int64_t n, const char *what) {
    for (int64_t k = 0; k < n; k++)
        if (memcmp(&a[k], &b[k], sizeof(double)) != 0) {
            CHECK(0, "%s: value %lld: kernel code %.17g cpu %.17g", what, (long long)k, a[k], b[k]);
            return 1;
        }
    return 0;
}

// The default options with one scenario, ragged or not, with or without logw.
static srs_gen_opts_t gen_case(int sc, int ragged, int logw) {
    srs_gen_opts_t o = srs_gen_opts_default();
    o.scenario = (srs_scenario_t)sc;
    o.ragged = ragged;
    o.with_logw = logw;
    return o;
}

TEST(gen_kernel_code_emulated_matches_cpu_bitwise) {
    // no device needed: every scenario, ragged or not, with and without logw,
    // chunks of 1 sample, a prime, and chunks cutting rows and the default
    static const int64_t chunks[] = {0, 1, 7, 100, 1000};
    for (int sc = 0; sc < SRS_SCEN_COUNT_; sc++)
        for (int ragged = 0; ragged < 2; ragged++)
            for (int logw = 0; logw < 2; logw++) {
                srs_gen_opts_t o = gen_case(sc, ragged, logw);
                o.n_prompts = 300;
                o.n_samples = 29;
                o.seed = 0xfeedbeef00ull + (uint64_t)(sc * 4 + ragged * 2 + logw);
                srs_data_t *dc = NULL;
                CHECK(srs_gen(t_cpu_ctx(), &o, &dc) == SRS_OK, "cpu: %s", srs_ctx_last_error(t_cpu_ctx()));
                BAIL_IF_FAILED();
                const srs_batch_t *b = srs_data_batch(dc);
                const int64_t ns = srs_batch_n_samples(b);
                const srs_gen_params_t p = params_of(&o);
                double *u = malloc(sizeof(double) * (size_t)ns), *g = malloc(sizeof(double) * (size_t)ns),
                       *lw = malloc(sizeof(double) * (size_t)ns);
                for (int c = 0; c < (int)(sizeof chunks / sizeof chunks[0]); c++) {
                    if (chunks[c] == 1 && (t_quick() || sc != 0)) continue;  // a chunk a sample: slow
                    for (int64_t k = 0; k < ns; k++) u[k] = g[k] = lw[k] = NAN;
                    srs_gen_emulate(&p, b->offsets, o.n_prompts, u, b->logw.data ? lw : NULL, g, chunks[c]);
                    char what[128];
                    snprintf(what, sizeof what, "scenario=%s ragged=%d logw=%d chunk=%lld",
                             srs_scenario_name(o.scenario), ragged, logw, (long long)chunks[c]);
                    if (same_bits(u, b->reward.data, ns, what) || same_bits(g, b->gold.data, ns, what) ||
                        (b->logw.data && same_bits(lw, b->logw.data, ns, what)))
                        break;
                }
                free(u); free(g); free(lw);
                srs_data_free(dc);
                BAIL_IF_FAILED();
            }
}


// Compares n values of a (GPU) with b (CPU); counts bit-identical ones into
// *same. Returns 1 (after one failed check) on the first value out of tolerance.
static int gen_compare(const double *a, const double *b, int64_t n, const char *what, int64_t *same) {
    for (int64_t k = 0; k < n; k++) {
        if (memcmp(&a[k], &b[k], sizeof(double)) == 0) { (*same)++; continue; }
        if (!(fabs(a[k] - b[k]) <= 1e-12 * fmax(1.0, fabs(b[k])))) {
            CHECK(0, "%s: value %lld: cuda %.17g cpu %.17g", what, (long long)k, a[k], b[k]);
            return 1;
        }
    }
    return 0;
}

TEST(cuda_gen_matches_cpu_all_scenarios) {
    SKIP_WITHOUT_CUDA(gpu);
    int64_t total = 0, same = 0;
    for (int sc = 0; sc < SRS_SCEN_COUNT_; sc++)
        for (int ragged = 0; ragged < 2; ragged++)
            for (int logw = 0; logw < 2; logw++) {
                srs_gen_opts_t o = gen_case(sc, ragged, logw);
                o.n_prompts = t_quick() ? 700 : 20000;
                o.n_samples = 37;
                o.seed = 0x1234567890abcdefull + (uint64_t)(sc * 4 + ragged * 2 + logw);
                char what[128];
                snprintf(what, sizeof what, "scenario=%s ragged=%d logw=%d", srs_scenario_name(o.scenario), ragged,
                         logw);
                srs_data_t *dc = NULL, *dg = NULL;
                srs_status_t s0 = srs_gen(t_cpu_ctx(), &o, &dc);
                srs_status_t s1 = srs_gen(gpu, &o, &dg);
                CHECK(s0 == SRS_OK, "%s: cpu: %s", what, srs_ctx_last_error(t_cpu_ctx()));
                CHECK(s1 == SRS_OK, "%s: cuda: %s", what, srs_ctx_last_error(gpu));
                if (s0 == SRS_OK && s1 == SRS_OK) {
                    const srs_batch_t *a = srs_data_batch(dg), *b = srs_data_batch(dc);
                    int64_t np = o.n_prompts, ns = srs_batch_n_samples(b);
                    CHECK(a->n_prompts == np && memcmp(a->offsets, b->offsets, sizeof(int64_t) * (size_t)(np + 1)) == 0,
                          "%s: row lengths differ", what);
                    CHECK(!a->logw.data == !b->logw.data, "%s: logw present on one backend only", what);
                    if (!t_failed_now()) {
                        gen_compare(a->reward.data, b->reward.data, ns, what, &same);
                        gen_compare(a->gold.data, b->gold.data, ns, what, &same);
                        total += 2 * ns;
                        if (b->logw.data) {
                            gen_compare(a->logw.data, b->logw.data, ns, what, &same);
                            total += ns;
                        }
                    }
                }
                srs_data_free(dc);
                srs_data_free(dg);
                BAIL_IF_FAILED();
            }
    printf("    cuda gen: %lld of %lld values bit-identical to the CPU\n", (long long)same, (long long)total);
}

TEST(cuda_gen_chunks_cut_rows) {
    SKIP_WITHOUT_CUDA(gpu);
#ifdef SRS_WITH_CUDA
    // chunk boundaries anywhere: inside long ragged rows, one sample per
    // chunk, equal rows; the result must not depend on the chunking
    static const int64_t chunks[] = {1, 7, 100, 1000, 0};
    for (int ragged = 0; ragged < 2; ragged++) {
        srs_gen_opts_t o = srs_gen_opts_default();
        o.ragged = ragged;
        o.with_logw = 1;
        o.n_prompts = 40;
        o.n_samples = 300;
        o.seed = 99;
        srs_data_t *dc = NULL;
        CHECK(srs_gen(t_cpu_ctx(), &o, &dc) == SRS_OK, "cpu: %s", srs_ctx_last_error(t_cpu_ctx()));
        BAIL_IF_FAILED();
        const srs_batch_t *b = srs_data_batch(dc);
        int64_t ns = srs_batch_n_samples(b);
        const srs_gen_params_t p = params_of(&o);
        double *u = malloc(sizeof(double) * (size_t)ns), *g = malloc(sizeof(double) * (size_t)ns),
               *lw = malloc(sizeof(double) * (size_t)ns);
        for (int c = 0; c < (int)(sizeof chunks / sizeof chunks[0]); c++) {
            if (t_quick() && chunks[c] == 1) continue;
            for (int64_t k = 0; k < ns; k++) u[k] = g[k] = lw[k] = NAN;
            CHECK(cudaSetDevice(gpu->cuda_device) == cudaSuccess, "cudaSetDevice");
            int rc = srs_gen_cuda(&p, b->offsets, o.n_prompts, u, lw, g, chunks[c]);
            CHECK(rc == 0, "chunk %lld: %s", (long long)chunks[c], srs_cuda_last_error());
            if (rc) break;
            char what[64];
            snprintf(what, sizeof what, "ragged=%d chunk=%lld", ragged, (long long)chunks[c]);
            int64_t same = 0;
            if (gen_compare(u, b->reward.data, ns, what, &same) || gen_compare(g, b->gold.data, ns, what, &same) ||
                gen_compare(lw, b->logw.data, ns, what, &same))
                break;
        }
        free(u); free(g); free(lw);
        srs_data_free(dc);
        BAIL_IF_FAILED();
    }
#endif
}
