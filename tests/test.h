/*
 * test.h — the test harness: self-registering test cases, checks that mark the
 * current case failed, and helpers for temporary files and running the CLI.
 *
 *     TEST(solvers_agree) {
 *         CHECK(x == y, "x=%g y=%g", x, y);
 *         NEAR(a, b, 1e-9);
 *     }
 *
 * A case passes when none of its checks failed; SKIP(...) ends it as skipped.
 * The run ends with the line "N passed, N failed, N skipped" and exits 1 on
 * any failure.
 */
#ifndef SRS_TEST_H
#define SRS_TEST_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "srs.h"

typedef void (*t_fn)(void);
void t_register(const char *name, const char *file, t_fn fn);
void t_fail_at(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void t_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int t_failed_now(void);

#define TEST(name)                                                              \
    static void name(void);                                                     \
    __attribute__((constructor)) static void t_reg_##name(void) {               \
        t_register(#name, __FILE__, name);                                      \
    }                                                                           \
    static void name(void)

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (!(cond)) t_fail_at(__FILE__, __LINE__, __VA_ARGS__);                \
    } while (0)

// |a - b| <= tol, NaN never passes.
#define NEAR(a, b, tol)                                                         \
    do {                                                                        \
        double t_a_ = (a), t_b_ = (b), t_t_ = (tol);                            \
        if (!(fabs(t_a_ - t_b_) <= t_t_))                                       \
            t_fail_at(__FILE__, __LINE__, "%s = %.17g vs %s = %.17g (|diff| %.3g > %.3g)", \
                      #a, t_a_, #b, t_b_, fabs(t_a_ - t_b_), t_t_);             \
    } while (0)

#define SKIP(...) do { t_skip(__VA_ARGS__); return; } while (0)

// Stop the current case when a check has failed (avoid cascades).
#define BAIL_IF_FAILED() do { if (t_failed_now()) return; } while (0)

// A fresh directory for this run (removed at exit unless SRS_TEST_KEEP=1).
const char *t_tmpdir(void);
// t_tmpdir()/name in a static ring of 64 buffers (copy a path kept longer).
const char *t_path(const char *name);
// Writes text to t_path(name) and returns that path.
const char *t_write(const char *name, const char *text);
// 1 if path exists.
int t_exists(const char *path);
// Reads a whole file (malloc'd, NUL-terminated) or NULL.
char *t_slurp(const char *path);

// Runs the srs binary ($SRS_BIN) with argv (NULL-terminated, without argv[0]);
// stdout/stderr captured into malloc'd strings (caller frees; may pass NULL).
// Returns the exit status, or -1 if it did not exit normally.
int t_run_srs(const char *const *argv, char **out, char **err);

// The shared data folder ($SRS_SHARED, else ../shared from the repo), or NULL.
const char *t_shared(void);

// 1 when SRS_TEST_QUICK is set (sanitizer runs): tests shrink their sizes.
int t_quick(void);

// A context on the backend under test ($SRS_TEST_DEVICE, default cpu).
srs_ctx_t *t_ctx(void);

// A CUDA context shared by the CUDA tests, or NULL with the reason in *why
// (not compiled in, no device); and a CPU context to compare it with.
srs_ctx_t *t_cuda_ctx(const char **why);
srs_ctx_t *t_cpu_ctx(void);

// Declares ctx as the CUDA context, or ends the case as skipped.
#define SKIP_WITHOUT_CUDA(ctx)                                                        \
    const char *why_;                                                                 \
    srs_ctx_t *ctx = t_cuda_ctx(&why_);                                               \
    if (!ctx) SKIP("no CUDA backend here (%s); the CUDA suite runs on a GPU machine", why_)

// Small deterministic RNG for test inputs (splitmix64).
uint64_t t_rand_u64(uint64_t *state);
double t_rand_u01(uint64_t *state);
double t_rand_normal(uint64_t *state);

// A dense batch of rows x n rewards at x (float when dtype is SRS_F32).
srs_batch_t t_dense(const void *x, srs_dtype_t dtype, int64_t rows, int64_t n);

#endif
