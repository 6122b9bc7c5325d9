// cli_bench.c — `srs bench threshold`: throughput of the threshold solvers.
//
// CUDA (--device cuda): for each row length n, rows = total / n float32 rows
// of N(0,1) rewards in device memory;
//   copy     a device-to-device cudaMemcpy of the same bytes, and
//   copy-kernel  srs_copy_launch (kernels/common.cu: 16-byte loads and stores,
//            a grid-stride loop) on the same bytes: both counted as bytes
//            read + bytes written; the faster of the two, measured in this
//            run, is the ceiling the kernels' percentages refer to
//   kernel   srs_thr_launch on the device-resident batch, timed with CUDA
//            events, the L2 flushed (a 2 x L2 memset) before every repeat;
//            GB/s = (samples x 4 read + rows x 16 written) / time
//   e2e      srs_thresholds on the host batch: pinned staging, copy in,
//            kernel, copy out, through the streaming pipeline
// Medians over --reps repeats. CPU (--device cpu): the CPU backend's
// srs_thresholds on the same data (wall time).
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli.h"
#ifdef SRS_WITH_CUDA
#include "../../kernels/common.cuh"
#include "../../kernels/threshold.cuh"
#endif

enum { OPT_SIZES = CLI_OPT_USER, OPT_TOTAL, OPT_REPS, OPT_JSON, OPT_SOLVERS };

typedef struct {
    int64_t sizes[16];
    int n_sizes;
    int64_t total;
    int reps;
    const char *json;
    int solvers[3], n_solvers;
} bench_opts_t;

static void help_bench(void) {
    printf("Usage: srs bench threshold [--device cuda|cpu] [options]\n"
           "\n"
           "Throughput of the threshold solvers on float32 N(0,1) rewards, dense rows.\n"
           "CUDA: kernel time (CUDA events, L2 flushed between repeats), GB/s and the\n"
           "percentage of the copy bandwidth measured in the same run (the faster of a\n"
           "device-to-device cudaMemcpy and a copy kernel, bytes read + written),\n"
           "and end-to-end time with transfers. CPU: srs_thresholds wall time.\n"
           "\n"
           "Options:\n"
           "  --sizes LIST    row lengths (default 16,64,256,1024,4096)\n"
           "  --total N       samples per size (default 2^28 on CUDA, 2^24 on CPU)\n"
           "  --solvers LIST  bisect,dinkelbach,exact (default: all)\n"
           "  --reps N        repeats, the median is reported (default 20 CUDA, 3 CPU)\n"
           "  --json F        also write one JSON object per measurement to F\n"
           "  --preset/--B/--beta/--cap/--tol/--max-iter  threshold options (default exact, B 1,\n"
           "                  beta 1; --cap with paper-cd, --tol with bisect, --max-iter with\n"
           "                  bisect or dinkelbach among --solvers)\n"
           "  --device D      cuda | cpu | auto (default)\n"
           "  --threads N     CPU threads\n");
}

static int bench_opt(int c, const char *arg, void *user) {
    bench_opts_t *b = user;
    long long x;
    switch (c) {
    case OPT_SIZES: {
        b->n_sizes = 0;
        char buf[256];
        snprintf(buf, sizeof buf, "%s", arg);
        for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
            if (b->n_sizes >= 16) return cli_usage_error("bench", "--sizes: at most 16 sizes");
            if (cli_parse_int("bench", "sizes", t, 1, 1LL << 30, &x)) return EXIT_USAGE;
            b->sizes[b->n_sizes++] = x;
        }
        return 0;
    }
    case OPT_TOTAL:
        if (cli_parse_int("bench", "total", arg, 1, 1LL << 34, &x)) return EXIT_USAGE;
        b->total = x;
        return 0;
    case OPT_REPS:
        if (cli_parse_int("bench", "reps", arg, 1, 10000, &x)) return EXIT_USAGE;
        b->reps = (int)x;
        return 0;
    case OPT_JSON: b->json = arg; return 0;
    case OPT_SOLVERS: {
        b->n_solvers = 0;
        char buf[128];
        snprintf(buf, sizeof buf, "%s", arg);
        for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
            srs_solver_t s;
            if (srs_solver_parse(t, &s) != SRS_OK || b->n_solvers >= 3)
                return cli_usage_error("bench", "--solvers: unknown solver '%s'", t);
            b->solvers[b->n_solvers++] = (int)s;
        }
        return 0;
    }
    }
    return cli_usage_error("bench", "unknown option");
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *x, int n) {
    qsort(x, (size_t)n, sizeof *x, cmp_double);
    return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

// N(0,1) float32 rewards, deterministic, in parallel (Box-Muller on splitmix64).
static void fill_normal(float *u, int64_t n) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i += 2) {
        uint64_t z = 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        double a = ((double)(z >> 40) + 0.5) / 16777216.0, b = ((double)(z & 0xffffff) + 0.5) / 16777216.0;
        double r = sqrt(-2 * log(a));
        u[i] = (float)(r * cos(6.283185307179586 * b));
        if (i + 1 < n) u[i + 1] = (float)(r * sin(6.283185307179586 * b));
    }
}

static void emit(FILE *js, const char *dev, const char *what, const char *solver, int64_t n, int64_t rows,
                 double ms, double gbs, double pct_copy) {
    printf("%-5s %-10s %-11s n=%-6lld rows=%-10lld %10.4f ms %9.1f GB/s", dev, what, solver, (long long)n,
           (long long)rows, ms, gbs);
    if (pct_copy > 0) printf("  %5.1f%% of copy", pct_copy);
    printf("\n");
    if (js)
        fprintf(js, "{\"device\": \"%s\", \"what\": \"%s\", \"solver\": \"%s\", \"n\": %lld, \"rows\": %lld, "
                    "\"ms\": %.6f, \"gbs\": %.3f, \"pct_copy\": %.2f}\n",
                dev, what, solver, (long long)n, (long long)rows, ms, gbs, pct_copy);
}

// ----------------------------------------------------------------------------
// CUDA

#ifdef SRS_WITH_CUDA
static int bench_cuda(srs_ctx_t *ctx, const bench_opts_t *bo, const srs_threshold_opts_t *to, FILE *js) {
    int rc = EXIT_RUNTIME, dev;
    struct cudaDeviceProp prop;
    float *h_u = NULL, *d_u = NULL, *d_copy = NULL;
    double *d_m = NULL, *d_beff = NULL, *h_m = NULL;
    unsigned long long *d_bad = NULL;
    char *d_flush = NULL;
    cudaEvent_t e0 = NULL, e1 = NULL;
    double *t = malloc(sizeof(double) * (size_t)bo->reps);
    int64_t total = bo->total;
    if (!t) return EXIT_RUNTIME;
    if (cudaCheck(cudaGetDevice(&dev)) || cudaCheck(cudaGetDeviceProperties(&prop, dev))) goto fail;
    int driver = 0, runtime = 0;
    cudaDriverGetVersion(&driver);
    cudaRuntimeGetVersion(&runtime);
    printf("device: %s, sm_%d%d, %d SMs, L2 %d MB, %.1f GiB; CUDA driver %d, runtime %d\n", prop.name, prop.major,
           prop.minor, prop.multiProcessorCount, prop.l2CacheSize >> 20,
           (double)prop.totalGlobalMem / (1 << 30), driver, runtime);
    if (js)
        fprintf(js, "{\"device_name\": \"%s\", \"sm\": %d, \"sms\": %d, \"l2_mb\": %d, \"driver\": %d, "
                    "\"runtime\": %d, \"total\": %lld}\n",
                prop.name, prop.major * 10 + prop.minor, prop.multiProcessorCount, prop.l2CacheSize >> 20, driver,
                runtime, (long long)total);
    size_t flush_bytes = (size_t)2 * (size_t)(prop.l2CacheSize > 0 ? prop.l2CacheSize : 64 << 20);
    int64_t max_rows = total / (bo->sizes[0] < 1 ? 1 : bo->sizes[0]);
    for (int k = 0; k < bo->n_sizes; k++)
        if (total / bo->sizes[k] > max_rows) max_rows = total / bo->sizes[k];
    if (!(h_u = malloc(sizeof(float) * (size_t)total)) || !(h_m = malloc(8 * (size_t)max_rows))) {
        cli_msg("out of memory for %lld samples", (long long)total);
        goto fail;
    }
    fill_normal(h_u, total);
    if (cudaCheck(cudaMalloc((void **)&d_u, sizeof(float) * (size_t)total)) ||
        cudaCheck(cudaMalloc((void **)&d_copy, sizeof(float) * (size_t)total)) ||
        cudaCheck(cudaMalloc((void **)&d_m, 8 * (size_t)max_rows)) ||
        cudaCheck(cudaMalloc((void **)&d_beff, 8 * (size_t)max_rows)) ||
        cudaCheck(cudaMalloc((void **)&d_bad, 8)) || cudaCheck(cudaMalloc((void **)&d_flush, flush_bytes)) ||
        cudaCheck(cudaMemcpy(d_u, h_u, sizeof(float) * (size_t)total, cudaMemcpyHostToDevice)) ||
        cudaCheck(cudaEventCreate(&e0)) || cudaCheck(cudaEventCreate(&e1)) || srs_thr_init())
        goto fail;

    for (int k = 0; k < bo->n_sizes; k++) {
        int64_t n = bo->sizes[k], rows = total / n, ns = rows * n;
        double bytes_in = 4.0 * (double)ns, bytes_out = 16.0 * (double)rows;
        // the ceiling: device-to-device copy of the same bytes (read + write)
        for (int r = 0; r < bo->reps + 2; r++) {
            if (cudaCheck(cudaMemset(d_flush, r, flush_bytes)) || cudaCheck(cudaEventRecord(e0, 0)) ||
                cudaCheck(cudaMemcpyAsync(d_copy, d_u, (size_t)bytes_in, cudaMemcpyDeviceToDevice, 0)) ||
                cudaCheck(cudaEventRecord(e1, 0)) || cudaCheck(cudaEventSynchronize(e1)))
                goto fail;
            float ms;
            cudaEventElapsedTime(&ms, e0, e1);
            if (r >= 2) t[r - 2] = ms;
        }
        double copy_ms = median(t, bo->reps), copy_gbs = 2 * bytes_in / copy_ms * 1e-6;
        // the same bytes through a copy kernel: what a kernel of ours can move
        for (int r = 0; r < bo->reps + 2; r++) {
            if (cudaCheck(cudaMemset(d_flush, r, flush_bytes)) || cudaCheck(cudaEventRecord(e0, 0)) ||
                srs_copy_launch(d_u, d_copy, (size_t)bytes_in, 0) || cudaCheck(cudaEventRecord(e1, 0)) ||
                cudaCheck(cudaEventSynchronize(e1)))
                goto fail;
            float ms;
            cudaEventElapsedTime(&ms, e0, e1);
            if (r >= 2) t[r - 2] = ms;
        }
        double kcopy_ms = median(t, bo->reps), kcopy_gbs = 2 * bytes_in / kcopy_ms * 1e-6;
        double ref_gbs = kcopy_gbs > copy_gbs ? kcopy_gbs : copy_gbs;
        emit(js, "cuda", "copy", "-", n, rows, copy_ms, copy_gbs, 100.0 * copy_gbs / ref_gbs);
        emit(js, "cuda", "copy-kernel", "-", n, rows, kcopy_ms, kcopy_gbs, 100.0 * kcopy_gbs / ref_gbs);
        copy_gbs = ref_gbs;
        for (int si = 0; si < bo->n_solvers; si++) {
            srs_threshold_opts_t o = *to;
            o.solver = (srs_solver_t)bo->solvers[si];
            srs_thr_args_t a;
            memset(&a, 0, sizeof a);
            a.row_len = n;
            a.reward = d_u;
            a.reward_f32 = 1;
            a.preset = (int)o.preset;
            a.solver = (int)o.solver;
            a.B = o.B;
            a.beta = o.beta;
            a.cap = o.cap;
            a.tol = o.tol;
            a.max_iter = o.max_iter;
            a.m_star = d_m;
            a.b_eff = d_beff;
            a.bad = d_bad;
            srs_thr_tier_t tier = srs_thr_tier(n, 0);
            for (int r = 0; r < bo->reps + 2; r++) {
                if (cudaCheck(cudaMemset(d_flush, r, flush_bytes)) || cudaCheck(cudaMemset(d_bad, 0xff, 8)) ||
                    cudaCheck(cudaEventRecord(e0, 0)) || srs_thr_launch(&a, tier, NULL, rows, n, 0) ||
                    cudaCheck(cudaEventRecord(e1, 0)) || cudaCheck(cudaEventSynchronize(e1)))
                    goto fail;
                float ms;
                cudaEventElapsedTime(&ms, e0, e1);
                if (r >= 2) t[r - 2] = ms;
            }
            double ms = median(t, bo->reps), gbs = (bytes_in + bytes_out) / ms * 1e-6;
            emit(js, "cuda", "kernel", srs_solver_name(o.solver), n, rows, ms, gbs, 100.0 * gbs / copy_gbs);
            // end to end: host batch through the streaming pipeline
            srs_batch_t b;
            memset(&b, 0, sizeof b);
            b.n_prompts = rows;
            b.row_len = n;
            b.reward = (srs_vec_t){h_u, SRS_F32};
            int e2e_reps = bo->reps < 5 ? bo->reps : 5;
            for (int r = 0; r < e2e_reps + 1; r++) {
                double t0 = now_s();
                if (srs_thresholds(ctx, &b, &o, h_m, NULL) != SRS_OK) {
                    cli_msg("%s", srs_ctx_last_error(ctx));
                    goto done;
                }
                if (r >= 1) t[r - 1] = (now_s() - t0) * 1e3;
            }
            double e2e = median(t, e2e_reps);
            emit(js, "cuda", "e2e", srs_solver_name(o.solver), n, rows, e2e, bytes_in / e2e * 1e-6, 0);
        }
    }
    rc = 0;
    goto done;
fail:
    cli_msg("%s", srs_cuda_last_error());
done:
    cudaFree(d_u); cudaFree(d_copy); cudaFree(d_m); cudaFree(d_beff); cudaFree(d_bad); cudaFree(d_flush);
    if (e0) cudaEventDestroy(e0);
    if (e1) cudaEventDestroy(e1);
    free(h_u); free(h_m); free(t);
    return rc;
}
#endif

// ----------------------------------------------------------------------------
// CPU

static int bench_cpu(srs_ctx_t *ctx, const bench_opts_t *bo, const srs_threshold_opts_t *to, FILE *js) {
    int64_t total = bo->total;
    float *u = malloc(sizeof(float) * (size_t)total);
    double *m = malloc(8 * (size_t)total), *t = malloc(sizeof(double) * (size_t)bo->reps);
    int rc = EXIT_RUNTIME;
    if (!u || !m || !t) {
        cli_msg("out of memory for %lld samples", (long long)total);
        goto done;
    }
    fill_normal(u, total);
    printf("device: cpu, %d threads\n", srs_ctx_threads(ctx));
    for (int k = 0; k < bo->n_sizes; k++) {
        int64_t n = bo->sizes[k], rows = total / n;
        srs_batch_t b;
        memset(&b, 0, sizeof b);
        b.n_prompts = rows;
        b.row_len = n;
        b.reward = (srs_vec_t){u, SRS_F32};
        for (int si = 0; si < bo->n_solvers; si++) {
            srs_threshold_opts_t o = *to;
            o.solver = (srs_solver_t)bo->solvers[si];
            for (int r = 0; r < bo->reps; r++) {
                double t0 = now_s();
                if (srs_thresholds(ctx, &b, &o, m, NULL) != SRS_OK) {
                    cli_msg("%s", srs_ctx_last_error(ctx));
                    goto done;
                }
                t[r] = (now_s() - t0) * 1e3;
            }
            double ms = median(t, bo->reps);
            emit(js, "cpu", "solve", srs_solver_name(o.solver), n, rows, ms, 4.0 * (double)(rows * n) / ms * 1e-6, 0);
        }
    }
    rc = 0;
done:
    free(u); free(m); free(t);
    return rc;
}

int srs_cmd_bench(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "threshold") != 0) {
        if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
            help_bench();
            return 0;
        }
        return cli_usage_error("bench", "expected 'srs bench threshold [options]'");
    }
    static const struct option extra[] = {
        {"sizes", required_argument, 0, OPT_SIZES}, {"total", required_argument, 0, OPT_TOTAL},
        {"reps", required_argument, 0, OPT_REPS},   {"json", required_argument, 0, OPT_JSON},
        {"solvers", required_argument, 0, OPT_SOLVERS}, {0, 0, 0, 0},
    };
    bench_opts_t bo = {{16, 64, 256, 1024, 4096}, 5, 0, 0, NULL, {0, 1, 2}, 3};
    cli_args_t a;
    cli_args_init(&a, "bench");
    uint64_t allowed = CLI_THRESHOLD_OPTS | cli_bit(CLI_OPT_DEVICE) | cli_bit(CLI_OPT_THREADS);
    int rc = cli_parse(argc - 1, argv + 1, &a, allowed, extra, bench_opt, &bo);
    if (rc) return rc;
    if (a.help) {
        help_bench();
        return 0;
    }
    if (a.input) return cli_usage_error("bench", "unexpected argument '%s'", a.input);
    if (cli_given(&a, CLI_OPT_SOLVER))
        return cli_usage_error("bench", "bench runs a list of solvers: use --solvers LIST, not --solver");
    unsigned solvers = 0;
    for (int i = 0; i < bo.n_solvers; i++) solvers |= 1u << bo.solvers[i];
    if ((rc = cli_check_threshold_use(&a, &a.to, solvers))) return rc;
    srs_ctx_t *ctx;
    if ((rc = cli_make_ctx(&a, &ctx))) return rc;
    if (srs_threshold_opts_check(ctx, &a.to) != SRS_OK) {
        rc = cli_usage_error("bench", "%s", srs_ctx_last_error(ctx));
        srs_ctx_free(ctx);
        return rc;
    }
    int cuda = srs_ctx_device(ctx) == SRS_DEVICE_CUDA;
    if (!bo.total) bo.total = cuda ? (int64_t)1 << 28 : (int64_t)1 << 24;
    if (!bo.reps) bo.reps = cuda ? 20 : 3;
    FILE *js = NULL;
    if (bo.json && !(js = fopen(bo.json, "w"))) {
        cli_msg("cannot write %s", bo.json);
        srs_ctx_free(ctx);
        return EXIT_RUNTIME;
    }
#ifdef SRS_WITH_CUDA
    if (cuda) rc = bench_cuda(ctx, &bo, &a.to, js);
    else rc = bench_cpu(ctx, &bo, &a.to, js);
#else
    rc = bench_cpu(ctx, &bo, &a.to, js);
#endif
    if (js) fclose(js);
    srs_ctx_free(ctx);
    return rc;
}
