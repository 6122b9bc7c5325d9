/*
 * dispatch.c — one build, every CPU: the choice of CPU level per context.
 *
 * The hot units (host/cpu/: thresholds and shaping; eval_rows.c: evaluation) are
 * compiled once per level that the Makefile lists in SRS_CPU_LEVELS, e.g.
 * "L(v2) L(v3) L(v4)" on x86-64, each with its own -march and its symbols
 * suffixed by the level (internal.h). This file, compiled for the lowest
 * level like the rest of the library, holds the table of those levels, asks
 * the CPU which it can run (cpuid through __builtin_cpu_supports, which also
 * checks that the OS saves the vector state), and gives each new context the
 * best one, or the one SRS_CPU / srs_cpu_set_level forces.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

#ifndef SRS_CPU_LEVELS
#error "SRS_CPU_LEVELS (the compiled levels, e.g. L(v2) L(v3) L(v4)) comes from the Makefile"
#endif

// ----------------------------------------------------------------------------
// what each level needs of the CPU

#if defined(__x86_64__) || defined(__i386__)
// GCC 12 knows the psABI level names; elsewhere the features that matter.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#define SRS_X86_LEVEL(lv, feats) __builtin_cpu_supports(lv)
#else
#define SRS_X86_LEVEL(lv, feats) (feats)
#endif
static inline int runs_v2(void) {
    __builtin_cpu_init();
    return SRS_X86_LEVEL("x86-64-v2", __builtin_cpu_supports("sse4.2") && __builtin_cpu_supports("popcnt"));
}
static inline int runs_v3(void) {
    __builtin_cpu_init();
    return SRS_X86_LEVEL("x86-64-v3", __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                                          __builtin_cpu_supports("bmi2"));
}
static inline int runs_v4(void) {
    __builtin_cpu_init();
    return SRS_X86_LEVEL("x86-64-v4", __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                                          __builtin_cpu_supports("avx512dq") &&
                                          __builtin_cpu_supports("avx512vl"));
}
#endif
// ASIMD is part of every aarch64 CPU (ARMv8-A).
static inline __attribute__((unused)) int runs_always(void) { return 1; }
#define runs_neon runs_always
#define runs_native runs_always   // built for the build machine: the ARCH= opt-in

#define DESC_v2 "x86-64-v2: SSE4.2, POPCNT"
#define DESC_v3 "x86-64-v3: AVX2, FMA, BMI2"
#define DESC_v4 "x86-64-v4: AVX-512 F/BW/DQ/VL"
#define DESC_neon "aarch64: ASIMD (NEON)"
#ifndef SRS_CPU_ARCH
#define SRS_CPU_ARCH "?"
#endif
#define DESC_native "built with ARCH=" SRS_CPU_ARCH

// ----------------------------------------------------------------------------
// the compiled levels

#define L(x)                                                                                           \
    extern const srs_backend_t srs_cpu_backend_##x;                                                    \
    extern const srs_eval_backend_t srs_eval_cpu_backend_##x;                                          \
    double srs_exact_search_##x(double *td, double *tp, int64_t k, double sh, double ph, double sl,     \
                                double pl, double eps, double dmin, double dmax);                       \
    srs_status_t srs_fail_bad_row_##x(srs_ctx_t *ctx, const srs_batch_t *b, int64_t row, int kind);
SRS_CPU_LEVELS
#undef L

static const srs_cpu_level_t levels[] = {
#define L(x) {#x, DESC_##x, runs_##x, &srs_cpu_backend_##x, &srs_eval_cpu_backend_##x, srs_exact_search_##x, \
              srs_fail_bad_row_##x},
    SRS_CPU_LEVELS
#undef L
};
#define N_LEVELS ((int)(sizeof levels / sizeof levels[0]))

#define L(x) " " #x
static const char level_names[] = SRS_CPU_LEVELS;
#undef L

const char *srs_cpu_levels(void) { return level_names + 1; }

static int find(const char *name) {
    for (int i = 0; i < N_LEVELS; i++)
        if (!strcmp(levels[i].name, name)) return i;
    return -1;
}

// The highest compiled level this CPU runs, or -1.
static int best(void) {
    for (int i = N_LEVELS - 1; i >= 0; i--)
        if (levels[i].runs()) return i;
    return -1;
}

const char *srs_cpu_level_desc(const char *name) {
    int i = name ? find(name) : -1;
    return i >= 0 ? levels[i].desc : NULL;
}

int srs_cpu_level_runs(const char *name) {
    int i = name ? find(name) : -1;
    return i >= 0 && levels[i].runs();
}

// Level `name` for a request from `who` ("SRS_CPU", "srs_cpu_set_level"):
// its index, or -1 with the reason in msg.
static srs_status_t pick(const char *who, const char *name, int *out, char *msg, size_t len) {
    int i = find(name);
    if (i < 0) {
        snprintf(msg, len, "%s=%s: unknown CPU level (this build has: %s)", who, name, srs_cpu_levels());
        return SRS_ERR_INVALID_ARG;
    }
    if (!levels[i].runs()) {
        snprintf(msg, len, "%s=%s: this CPU cannot run %s (%s)", who, name, name, levels[i].desc);
        return SRS_ERR_UNSUPPORTED;
    }
    *out = i;
    return SRS_OK;
}

// ----------------------------------------------------------------------------
// the choice: srs_cpu_set_level, else SRS_CPU, else the best

#define CHOICE_ENV (-2)    // no srs_cpu_set_level call: SRS_CPU decides
#define CHOICE_BEST (-1)
static atomic_int choice = CHOICE_ENV;

static pthread_once_t env_once = PTHREAD_ONCE_INIT;
static int env_level = CHOICE_BEST;
static srs_status_t env_status = SRS_OK;
static char env_msg[256];

static void env_read(void) {
    const char *v = getenv("SRS_CPU");
    if (!v || !*v || !strcmp(v, "auto")) return;
    env_status = pick("SRS_CPU", v, &env_level, env_msg, sizeof env_msg);
}

static srs_status_t current(int *out, char *msg, size_t len) {
    int c = atomic_load(&choice);
    if (c == CHOICE_ENV) {
        pthread_once(&env_once, env_read);
        if (env_status != SRS_OK) {
            if (msg) snprintf(msg, len, "%s", env_msg);
            return env_status;
        }
        c = env_level;
    }
    if (c == CHOICE_BEST) c = best();
    if (c < 0) {
        if (msg)
            snprintf(msg, len, "this CPU runs none of the CPU levels compiled in (%s; the lowest needs %s)",
                     srs_cpu_levels(), levels[0].desc);
        return SRS_ERR_UNSUPPORTED;
    }
    *out = c;
    return SRS_OK;
}

srs_status_t srs_cpu_level_for_ctx(const srs_cpu_level_t **out, char *msg, size_t msg_len) {
    int i = 0;
    srs_status_t st = current(&i, msg, msg_len);
    if (st == SRS_OK) *out = &levels[i];
    return st;
}

const char *srs_cpu_level(void) {
    int i = 0;
    return current(&i, NULL, 0) == SRS_OK ? levels[i].name : NULL;
}

srs_status_t srs_cpu_set_level(const char *name) {
    if (!name || !strcmp(name, "auto")) {
        atomic_store(&choice, name ? CHOICE_BEST : CHOICE_ENV);
        return SRS_OK;
    }
    char msg[256];
    int i = 0;
    srs_status_t st = pick("srs_cpu_set_level", name, &i, msg, sizeof msg);
    if (st == SRS_OK) atomic_store(&choice, i);
    return st;
}

// ----------------------------------------------------------------------------
// the hot units' entry points for code compiled once (tests, the CUDA backend)

double srs_exact_search(double *td, double *tp, int64_t k, double sh, double ph, double sl, double pl, double eps,
                        double dmin, double dmax) {
    const srs_cpu_level_t *lv = &levels[0];
    (void)srs_cpu_level_for_ctx(&lv, NULL, 0);
    return lv->exact_search(td, tp, k, sh, ph, sl, pl, eps, dmin, dmax);
}
