/*
 * bench_cpu.c — CPU threshold benchmark: srs_thresholds against one streaming
 * read of the same input.
 *
 *     bench_cpu FILE.npy [--preset P] [--B x] [--beta x] [--cap x]
 *                        [--solver all|bisect|dinkelbach|exact]
 *                        [--reps R] [--threads T] [--out m_star.f64]
 *
 * The input is a dense NPY [prompts, n] read with srs_data_read (memory-mapped).
 * All pages are touched once before any timing, so every measurement sees the
 * data in memory, never on disk. Each repetition times, in turn:
 *
 *   stream      an OpenMP sum over every reward with the same thread count:
 *               the cost of reading the input once, the floor any solver that
 *               reads each sample at least once can reach;
 *   <solver>    srs_thresholds for each requested solver.
 *
 * and the best of R repetitions is reported (interleaving the measurements
 * spreads any drift of the machine over all of them alike). The caches are
 * flushed before each measurement, so each one reads the input from memory.
 *
 * Output: one line per measurement,
 *
 *     RESULT impl=exact level=v4 n=16 prompts=.. samples=.. bytes=.. threads=.. reps=..
 *            seconds=.. prompts_per_s=.. gb_per_s=.. ratio_stream=..
 *
 * (GB/s = input bytes / seconds, 1 GB = 1e9 B; ratio_stream = seconds /
 * stream seconds), CHECK lines with the largest |m*| difference of each solver
 * against exact, and with --out the exact solver's m* as raw float64
 * (n_prompts,) so bench/peers.py can check the Python peers compute the same.
 *
 * level is the CPU level srs runs (SRS_CPU=v2|v3|v4 forces one; bench/run_cpu.sh
 * runs every level the machine can). The streaming read is this program's own
 * loop, compiled for the build machine (-march=native): the fastest read.
 *
 * Build (bench/run_cpu.sh does this): make build/bench_cpu
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "srs.h"

// ----------------------------------------------------------------------------
// helpers

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bench_cpu: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static void usage(void) {
    fprintf(stderr,
            "usage: bench_cpu FILE.npy [--preset exact|paper-cd|paper-args] [--B x] [--beta x]\n"
            "                 [--cap x] [--solver all|bisect|dinkelbach|exact] [--reps R]\n"
            "                 [--threads T] [--out m_star.f64]\n");
    exit(2);
}

// Results of the measurements are stored here so the compiler must compute them.
static volatile double g_sink;

// ----------------------------------------------------------------------------
// the streaming-read baseline

// Independent accumulators per thread: a single running sum would be bound by
// the latency of one add, not by memory; 64 lanes are 4 AVX-512 (8 AVX2)
// registers, enough to keep the loads in flight. Each lane only ever adds its
// own column, so gcc vectorises this without -ffast-math.
#define STREAM_LANES 64
#define STREAM_INNER 10  // streaming reads per repetition (see the timing loop)

// Sum of x (n_samples,) read once, in parallel over `threads` threads.
static double stream_sum_f32(const float *x, int64_t n, int threads) {
    int64_t nblk = n / STREAM_LANES;
    double total = 0.0;
#pragma omp parallel num_threads(threads) reduction(+ : total)
    {
        float acc[STREAM_LANES] = {0};   // (lanes,) this thread's partial sums
#pragma omp for schedule(static)
        for (int64_t b = 0; b < nblk; b++) {
            const float *p = x + b * STREAM_LANES;
            for (int j = 0; j < STREAM_LANES; j++) acc[j] += p[j];
        }
        double s = 0.0;
        for (int j = 0; j < STREAM_LANES; j++) s += acc[j];
        total += s;
    }
    for (int64_t i = nblk * STREAM_LANES; i < n; i++) total += x[i];
    return total;
}

static double stream_sum_f64(const double *x, int64_t n, int threads) {
    int64_t nblk = n / STREAM_LANES;
    double total = 0.0;
#pragma omp parallel num_threads(threads) reduction(+ : total)
    {
        double acc[STREAM_LANES] = {0};   // (lanes,)
#pragma omp for schedule(static)
        for (int64_t b = 0; b < nblk; b++) {
            const double *p = x + b * STREAM_LANES;
            for (int j = 0; j < STREAM_LANES; j++) acc[j] += p[j];
        }
        double s = 0.0;
        for (int j = 0; j < STREAM_LANES; j++) s += acc[j];
        total += s;
    }
    for (int64_t i = nblk * STREAM_LANES; i < n; i++) total += x[i];
    return total;
}

// Reads one byte of every page so that page faults and disk reads of the
// memory-mapped file are paid before timing starts.
static void touch_pages(const void *data, size_t bytes, int threads) {
    const unsigned char *p = data;
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0) page = 4096;
    int64_t npages = (int64_t)((bytes + (size_t)page - 1) / (size_t)page);
    unsigned long acc = 0;
#pragma omp parallel for num_threads(threads) reduction(+ : acc) schedule(static)
    for (int64_t i = 0; i < npages; i++) acc += p[(size_t)i * (size_t)page];
    g_sink = (double)acc;
}

// Evicts the input from the caches before each timed measurement by reading a
// buffer several times the last-level cache: inputs at scale are far larger
// than any cache, so every measurement starts from memory, not from what the
// previous one left in L3 (llm.c flushes its L2 between repeats for the same
// reason). Reading, not writing, so that no dirty lines are left for the
// measurement to write back. buf (len,) was filled once by the caller (a
// never-written calloc buffer maps to the one zero page and would evict
// nothing).
static void flush_caches(const unsigned char *buf, size_t len, int threads) {
    unsigned long acc = 0;
#pragma omp parallel for num_threads(threads) reduction(+ : acc) schedule(static)
    for (int64_t i = 0; i < (int64_t)len; i += 64) acc += buf[i];
    g_sink = (double)acc;
}

static size_t flush_bytes(void) {
    long l3 = -1;
#ifdef _SC_LEVEL3_CACHE_SIZE
    l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
#endif
    size_t want = l3 > 0 ? 4 * (size_t)l3 : 0;
    return want > ((size_t)256 << 20) ? want : ((size_t)256 << 20);
}

// ----------------------------------------------------------------------------
// main

typedef struct {
    const char *name;    // "stream" or the solver's name
    int is_solver;
    srs_solver_t solver;
    double best;         // best seconds over the repetitions
    double *m_star;      // (n_prompts,) solver output, NULL for stream
} measure_t;

int main(int argc, char **argv) {
    const char *path = NULL, *out_path = NULL, *solver_arg = "all";
    srs_threshold_opts_t o = srs_threshold_opts_default();
    o.preset = SRS_PRESET_PAPER_CD;   // the paper's CD setting is the main configuration
    o.B = 15.0;
    o.beta = 0.667;
    int reps = 5, threads = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (a[0] != '-') {
            if (path) usage();
            path = a;
            continue;
        }
        if (!v) usage();
        i++;
        if (!strcmp(a, "--preset")) {
            if (srs_preset_parse(v, &o.preset) != SRS_OK) die("unknown preset '%s'", v);
        } else if (!strcmp(a, "--B")) o.B = atof(v);
        else if (!strcmp(a, "--beta")) o.beta = atof(v);
        else if (!strcmp(a, "--cap")) o.cap = atof(v);
        else if (!strcmp(a, "--solver")) solver_arg = v;
        else if (!strcmp(a, "--reps")) reps = atoi(v);
        else if (!strcmp(a, "--threads")) threads = atoi(v);
        else if (!strcmp(a, "--out")) out_path = v;
        else usage();
    }
    if (!path || reps < 1 || threads < 0) usage();

    srs_ctx_t *ctx;
    if (srs_ctx_create(&ctx, SRS_DEVICE_CPU, threads) != SRS_OK)
        die("cannot create a CPU context: %s", srs_last_create_error());
    // The CPU level the context runs (SRS_CPU forces one) and those compiled in.
    const char *level = srs_cpu_level();
    char level_list[64];
    snprintf(level_list, sizeof level_list, "%s", srs_cpu_levels());
    for (char *c = level_list; *c; c++) *c = *c == ' ' ? ',' : *c;
    // The stream baseline runs with exactly the library's thread count.
    threads = srs_ctx_threads(ctx);
    if (threads < 1) {
#ifdef _OPENMP
        threads = omp_get_max_threads();
#else
        threads = 1;
#endif
    }
    if (srs_threshold_opts_check(ctx, &o) != SRS_OK) die("%s", srs_ctx_last_error(ctx));

    srs_data_t *data;
    if (srs_data_read(ctx, path, NULL, &data) != SRS_OK) die("%s", srs_ctx_last_error(ctx));
    const srs_batch_t *b = srs_data_batch(data);
    int64_t n_prompts = b->n_prompts;
    int64_t n_samples = srs_batch_n_samples(b);
    if (n_prompts < 1 || n_samples < 1) die("%s: empty data set", path);
    size_t elem = b->reward.dtype == SRS_F32 ? sizeof(float) : sizeof(double);
    size_t bytes = (size_t)n_samples * elem;   // the input the solvers must read
    int64_t n = n_samples / n_prompts;          // samples per prompt (dense input)
    // CSR input starts at offsets[0]; a dense NPY has offsets == NULL.
    const char *rew = (const char *)b->reward.data + (b->offsets ? (size_t)b->offsets[0] * elem : 0);

    // ---- measurements to take
    measure_t ms[4];
    int nm = 0;
    ms[nm++] = (measure_t){"stream", 0, 0, INFINITY, NULL};
    const srs_solver_t all[3] = {SRS_SOLVER_BISECT, SRS_SOLVER_DINKELBACH, SRS_SOLVER_EXACT};
    for (int s = 0; s < 3; s++) {
        if (strcmp(solver_arg, "all") && strcmp(solver_arg, srs_solver_name(all[s]))) continue;
        double *m = malloc((size_t)n_prompts * sizeof *m);   // (n_prompts,)
        if (!m) die("out of memory");
        // First touch outside the timed region: page faults on the output are
        // an artefact of allocating per run, not the solver's cost.
        memset(m, 0, (size_t)n_prompts * sizeof *m);
        ms[nm++] = (measure_t){srs_solver_name(all[s]), 1, all[s], INFINITY, m};
    }
    if (nm == 1) die("unknown solver '%s' (all, bisect, dinkelbach, exact)", solver_arg);

    printf("INFO file=%s preset=%s B=%g beta=%g cap=%g tol=%g dtype=%s threads=%d reps=%d "
           "srs_version=%s cpu_levels=%s\n",
           path, srs_preset_name(o.preset), o.B, o.beta, o.cap, o.tol,
           b->reward.dtype == SRS_F32 ? "f32" : "f64", threads, reps, srs_version(), level_list);
    fflush(stdout);

    // ---- warm-up: the input in memory and mapped, OpenMP threads started,
    // each solver run once untimed.
    touch_pages(rew, bytes, threads);
    for (int k = 0; k < nm; k++) {
        if (!ms[k].is_solver) continue;
        o.solver = ms[k].solver;
        if (srs_thresholds(ctx, b, &o, ms[k].m_star, NULL) != SRS_OK)
            die("srs_thresholds: %s", srs_ctx_last_error(ctx));
    }

    size_t flush_len = flush_bytes();
    unsigned char *flush_buf = malloc(flush_len);   // (flush_len,) bytes
    if (!flush_buf) die("out of memory for the cache-flush buffer");
    memset(flush_buf, 1, flush_len);

    // ---- timed repetitions, interleaved, each from cold caches
    for (int r = 0; r < reps; r++) {
        for (int k = 0; k < nm; k++) {
            double t;
            if (!ms[k].is_solver) {
                // The read takes about a millisecond, so one late wake-up of a
                // thread is a large part of it: take the best of a few per
                // repetition, each from cold caches.
                t = INFINITY;
                for (int q = 0; q < STREAM_INNER; q++) {
                    flush_caches(flush_buf, flush_len, threads);
                    double t0 = now_s();
                    double s = b->reward.dtype == SRS_F32
                                   ? stream_sum_f32((const float *)rew, n_samples, threads)
                                   : stream_sum_f64((const double *)rew, n_samples, threads);
                    t = fmin(t, now_s() - t0);
                    g_sink = s;
                }
            } else {
                flush_caches(flush_buf, flush_len, threads);
                double t0 = now_s();
                o.solver = ms[k].solver;
                srs_status_t st = srs_thresholds(ctx, b, &o, ms[k].m_star, NULL);
                t = now_s() - t0;
                if (st != SRS_OK) die("srs_thresholds: %s", srs_ctx_last_error(ctx));
                g_sink = ms[k].m_star[n_prompts - 1];
            }
            if (t < ms[k].best) ms[k].best = t;
        }
    }

    // ---- report
    double t_stream = ms[0].best;
    for (int k = 0; k < nm; k++) {
        double t = ms[k].best;
        printf("RESULT impl=%s level=%s n=%lld prompts=%lld samples=%lld bytes=%zu threads=%d reps=%d "
               "seconds=%.6e prompts_per_s=%.6e gb_per_s=%.4f ratio_stream=%.4f\n",
               ms[k].name, level, (long long)n, (long long)n_prompts, (long long)n_samples, bytes,
               threads, reps, t, (double)n_prompts / t, (double)bytes / t / 1e9, t / t_stream);
    }

    // ---- agreement: every solver against exact (the one with no tolerance)
    const double *ref = NULL;
    for (int k = 0; k < nm; k++)
        if (ms[k].is_solver && ms[k].solver == SRS_SOLVER_EXACT) ref = ms[k].m_star;
    int bad = 0;
    for (int k = 0; k < nm; k++) {
        if (!ms[k].is_solver) continue;
        double dmax = 0.0;
        for (int64_t i = 0; i < n_prompts; i++) {
            if (!isfinite(ms[k].m_star[i])) bad = 1;
            if (ref) dmax = fmax(dmax, fabs(ms[k].m_star[i] - ref[i]));
        }
        if (ref) printf("CHECK impl=%s level=%s n=%lld vs=exact max_abs_diff=%.3e\n", ms[k].name, level, (long long)n, dmax);
    }
    if (bad) fprintf(stderr, "bench_cpu: a solver returned a non-finite m*\n");

    // ---- m* for the Python peers: exact when it ran, else the last solver
    if (out_path) {
        const double *m = ref ? ref : ms[nm - 1].m_star;
        FILE *f = fopen(out_path, "wb");
        if (!f || fwrite(m, sizeof *m, (size_t)n_prompts, f) != (size_t)n_prompts || fclose(f))
            die("cannot write %s", out_path);
    }

    free(flush_buf);
    for (int k = 0; k < nm; k++) free(ms[k].m_star);
    srs_data_free(data);
    srs_ctx_free(ctx);
    return bad ? 1 : 0;
}
