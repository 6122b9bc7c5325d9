// thr-passes.c — solver passes per row of the threshold kernels' per-row code run on the CPU
// (srs_thr_emulate), on srs_gen gauss rows, for results/gpu-model.md. For each length n of a
// register tier, solver and row type (lanes: the earlier RegRow kernels; totals: the TotRow
// kernels, which the launcher uses by default): the mean over rows, and the mean over groups of
// R consecutive rows of their maximum, R the rows one warp of the tier's kernel holds (a warp
// waits for its slowest row). Build from the repository root after make (the CUDA build; a
// CPU-only build drops the CUDA libraries), then run it:
//   gcc -O2 -Iinclude scripts/thr-passes.c build/obj/kernels/threshold_emu.o build/libsrs.a
//       -o /tmp/thr-passes -L/usr/local/cuda/lib64 -lcublas -lcudart -ljansson -lopenblas
//       -linih -lm -fopenmp -lstdc++ -lpthread -ldl -lrt
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "srs.h"
#include "../kernels/threshold_args.h"

// Rows a warp holds in the TotRow kernel of rows of n (kernels/threshold.cu, launch_totals):
// 32 samples a thread (16 weighted), a thread per row up to that, lanes up to 32 per row, then
// a block per row (one row for all its warps).
static int rows_per_warp(int n, int weighted) {
    const int K = weighted ? 16 : 32;
    int lanes = (n + K - 1) / K;
    if (lanes > 32) return 1;
    int wg = 1;
    while (wg < lanes) wg *= 2;
    return 32 / wg;
}

int main(void) {
    srs_ctx_t *ctx;
    if (srs_ctx_create(&ctx, SRS_DEVICE_CPU, 1)) return 1;
    int ns[] = {8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096};
    for (int w = 0; w < 2; w++)
        for (int in = 0; in < 10; in++) {
            int n = ns[in];
            int np = n >= 1024 ? 256 : 2048;
            srs_gen_opts_t g = srs_gen_opts_default();
            g.n_prompts = np; g.n_samples = n; g.with_logw = w; g.seed = 3;
            srs_data_t *d;
            if (srs_gen(ctx, &g, &d)) return 1;
            const srs_batch_t *b = srs_data_batch(d);
            for (int s = 0; s < 3; s++) {
                srs_threshold_opts_t o = srs_threshold_opts_default();
                int kinds[2] = {SRS_THR_EMU_REG, SRS_THR_EMU_TOTALS};
                for (int kk = 0; kk < 2; kk++) {
                    const int R = kk ? rows_per_warp(n, w) : 1;  // RegRow kernels: a row per group
                    double sum = 0, wsum = 0, wmax = 0;
                    for (int r = 0; r < np; r++) {
                        srs_thr_args_t a;
                        memset(&a, 0, sizeof a);
                        int64_t off[2] = {0, n};
                        int64_t s0 = b->offsets ? b->offsets[r] : (int64_t)r * n;
                        a.offsets = off;
                        a.reward = (const double *)b->reward.data + s0;
                        if (w) a.logw = (const double *)b->logw.data + s0;
                        a.preset = o.preset; a.solver = s; a.B = o.B; a.beta = o.beta; a.cap = o.cap;
                        a.tol = o.tol;
                        double m, be;
                        a.m_star = &m; a.b_eff = &be;
                        unsigned long long bad = ~0ull;
                        a.bad = &bad;
                        int64_t p = 0;
                        if (srs_thr_emulate(&a, 1, kinds[kk], 1, &p)) return 2;
                        sum += p;
                        if (p > wmax) wmax = p;
                        if (r % R == R - 1) { wsum += wmax; wmax = 0; }
                    }
                    printf("%s\tn %d\t%s\t%s\tpasses/row %.2f\twarp-max %.2f\n", w ? "logw" : "uniform", n,
                           srs_solver_name(s), kk ? "totals" : "lanes", sum / np, wsum / (np / R));
                }
            }
            srs_data_free(d);
        }
    srs_ctx_free(ctx);
    return 0;
}
