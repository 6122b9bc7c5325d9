// ctx.c — contexts, status strings, error messages, enum names, option checks.
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "internal.h"
#include "srs_math.h"

// ----------------------------------------------------------------------------
// status and errors

const char *srs_status_str(srs_status_t s) {
    switch (s) {
    case SRS_OK: return "ok";
    case SRS_ERR_INVALID_ARG: return "invalid argument";
    case SRS_ERR_BAD_INPUT: return "bad input";
    case SRS_ERR_IO: return "i/o error";
    case SRS_ERR_NOMEM: return "out of memory";
    case SRS_ERR_UNSUPPORTED: return "unsupported";
    case SRS_ERR_BACKEND: return "backend error";
    }
    return "unknown status";
}

const char *srs_version(void) { return SRS_VERSION_STRING; }

static srs_status_t vfail(srs_ctx_t *ctx, srs_status_t st, int64_t row, const char *fmt, va_list ap) {
    if (ctx) {
        vsnprintf(ctx->err, sizeof ctx->err, fmt, ap);
        ctx->err_row = row;
    }
    return st;
}

srs_status_t srs_fail(srs_ctx_t *ctx, srs_status_t st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfail(ctx, st, -1, fmt, ap);
    va_end(ap);
    return st;
}

srs_status_t srs_fail_row(srs_ctx_t *ctx, srs_status_t st, int64_t row, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfail(ctx, st, row, fmt, ap);
    va_end(ap);
    return st;
}

void srs_clear_error(srs_ctx_t *ctx) {
    if (!ctx) return;
    ctx->err[0] = '\0';
    ctx->err_row = -1;
}

const char *srs_ctx_last_error(const srs_ctx_t *ctx) { return ctx ? ctx->err : ""; }
int64_t srs_ctx_error_row(const srs_ctx_t *ctx) { return ctx ? ctx->err_row : -1; }
int srs_ctx_threads(const srs_ctx_t *ctx) { return ctx->n_threads; }
srs_device_t srs_ctx_device(const srs_ctx_t *ctx) { return ctx->device; }

// ----------------------------------------------------------------------------
// contexts

static _Thread_local char create_err[SRS_ERR_MAX];

const char *srs_last_create_error(void) { return create_err; }

int srs_cuda_compiled(void) {
#ifdef SRS_WITH_CUDA
    return 1;
#else
    return 0;
#endif
}

srs_status_t srs_ctx_create(srs_ctx_t **out, srs_device_t device, int n_threads) {
    create_err[0] = '\0';
    if (!out) {
        snprintf(create_err, sizeof create_err, "srs_ctx_create: out is NULL");
        return SRS_ERR_INVALID_ARG;
    }
    *out = NULL;
    if (n_threads < 0) {
        snprintf(create_err, sizeof create_err, "threads must be >= 0 (0 = all cores), got %d", n_threads);
        return SRS_ERR_INVALID_ARG;
    }
    if (device != SRS_DEVICE_AUTO && device != SRS_DEVICE_CPU && device != SRS_DEVICE_CUDA) {
        snprintf(create_err, sizeof create_err, "unknown device %d", (int)device);
        return SRS_ERR_INVALID_ARG;
    }
    // AUTO: CUDA when compiled in and a device is present, else CPU. Asking
    // for CUDA where it cannot run is an error, never a silent fallback.
    // The CPU level (host/dispatch.c): CPU contexts run it, CUDA contexts use it
    // for their CPU-side work.
    const srs_cpu_level_t *cpu = NULL;
    srs_status_t lst = srs_cpu_level_for_ctx(&cpu, create_err, sizeof create_err);
    if (lst != SRS_OK) return lst;
    const srs_backend_t *be = cpu->be;
    int cuda_device = 0;
#ifdef SRS_WITH_CUDA
    if (device != SRS_DEVICE_CPU) {
        const char *why = "";
        int n_dev = srs_cuda_device_count(&why);
        // one process per GPU in a parallel job: the node-local rank picks it
        if (n_dev > 0) {
            be = &srs_cuda_backend;
            cuda_device = srs_node_local_rank() % n_dev;
        }
        else if (device == SRS_DEVICE_CUDA) {
            snprintf(create_err, sizeof create_err,
                     "no CUDA device found (%s); use --device cpu or auto", why);
            return SRS_ERR_UNSUPPORTED;
        }
    }
#else
    if (device == SRS_DEVICE_CUDA) {
        snprintf(create_err, sizeof create_err,
                 "the CUDA backend is not available in this build of srs %s: CUDA backend not "
                 "compiled in (build where nvcc is found); use --device cpu or auto", SRS_VERSION_STRING);
        return SRS_ERR_UNSUPPORTED;
    }
#endif
    srs_ctx_t *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(create_err, sizeof create_err, "out of memory");
        return SRS_ERR_NOMEM;
    }
    c->device = be == cpu->be ? SRS_DEVICE_CPU : SRS_DEVICE_CUDA;
    c->cpu = cpu;
    c->be = be;
    c->cuda_device = cuda_device;
#ifdef _OPENMP
    c->n_threads = n_threads > 0 ? n_threads : omp_get_max_threads();
#else
    c->n_threads = 1;
#endif
    c->err_row = -1;
    *out = c;
    return SRS_OK;
}

void srs_ctx_free(srs_ctx_t *ctx) {
#ifdef SRS_WITH_CUDA
    if (ctx && ctx->device == SRS_DEVICE_CUDA) srs_cuda_free_state(ctx);
#endif
    free(ctx);
}

// ----------------------------------------------------------------------------
// enum names

static const char *device_names[] = {"auto", "cpu", "cuda"};
static const char *preset_names[] = {"exact", "paper-cd", "paper-args"};
static const char *solver_names[] = {"bisect", "dinkelbach", "exact"};
static const char *design_names[] = {"raw", "hard", "soft", "minmax", "meanstd", "cap", "meansoft"};
static const char *scenario_names[] = {"gauss", "overopt", "twopoint"};
static const char *format_names[] = {"auto", "jsonl", "npy", "csv"};

#define NAMEOF(tab, i) ((unsigned)(i) < sizeof tab / sizeof tab[0] ? tab[i] : "?")

static int lookup(const char *const *tab, int n, const char *s) {
    if (!s) return -1;
    for (int i = 0; i < n; i++)
        if (strcmp(tab[i], s) == 0) return i;
    return -1;
}

#define DEFINE_ENUM_NAMES(fn_name, fn_parse, type, tab)                       \
    const char *fn_name(type v) { return NAMEOF(tab, v); }                    \
    srs_status_t fn_parse(const char *s, type *out) {                         \
        int i = lookup(tab, (int)(sizeof tab / sizeof tab[0]), s);            \
        if (i < 0) return SRS_ERR_INVALID_ARG;                                \
        *out = (type)i;                                                       \
        return SRS_OK;                                                        \
    }

DEFINE_ENUM_NAMES(srs_device_name, srs_device_parse, srs_device_t, device_names)
DEFINE_ENUM_NAMES(srs_preset_name, srs_preset_parse, srs_preset_t, preset_names)
DEFINE_ENUM_NAMES(srs_solver_name, srs_solver_parse, srs_solver_t, solver_names)
DEFINE_ENUM_NAMES(srs_design_name, srs_design_parse, srs_design_t, design_names)
DEFINE_ENUM_NAMES(srs_scenario_name, srs_scenario_parse, srs_scenario_t, scenario_names)

srs_status_t srs_format_parse(const char *s, srs_format_t *out) {
    int i = lookup(format_names, 4, s);
    if (i < 0) return SRS_ERR_INVALID_ARG;
    *out = (srs_format_t)i;
    return SRS_OK;
}

// ----------------------------------------------------------------------------
// options

srs_threshold_opts_t srs_threshold_opts_default(void) {
    srs_threshold_opts_t o;
    memset(&o, 0, sizeof o);
    o.preset = SRS_PRESET_EXACT;
    o.solver = SRS_SOLVER_EXACT;
    o.B = 1.0;
    o.beta = 1.0;
    o.cap = 2.0;
    o.tol = 1e-12;
    o.max_iter = 0;
    return o;
}

srs_shape_opts_t srs_shape_opts_default(void) {
    srs_shape_opts_t o;
    o.design = SRS_DESIGN_SOFT;
    o.alpha = 1.0;
    o.clip = -1.0;
    return o;
}

srs_status_t srs_threshold_opts_check(srs_ctx_t *ctx, const srs_threshold_opts_t *o) {
    if (!o) return srs_fail(ctx, SRS_ERR_INVALID_ARG, "threshold options are NULL");
    if ((unsigned)o->preset > SRS_PRESET_PAPER_ARGS)
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "unknown preset %d", (int)o->preset);
    if ((unsigned)o->solver > SRS_SOLVER_EXACT)
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "unknown solver %d", (int)o->solver);
    if (!(o->B >= 0) || !isfinite(o->B))
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "B must be finite and >= 0, got %g", o->B);
    if (!(o->beta > 0) || !isfinite(o->beta))
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "beta must be finite and > 0, got %g", o->beta);
    if (!(o->cap > 0) || isnan(o->cap))
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "cap must be > 0, got %g", o->cap);
    if (!(o->tol > 0) || !(o->tol < 1))
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "tol must be in (0, 1), got %g", o->tol);
    if (o->max_iter < 0)
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "max_iter must be >= 0, got %d", o->max_iter);
    return SRS_OK;
}

static srs_status_t shape_opts_check(srs_ctx_t *ctx, const srs_shape_opts_t *o) {
    if (!o) return srs_fail(ctx, SRS_ERR_INVALID_ARG, "shape options are NULL");
    if ((unsigned)o->design >= SRS_DESIGN_COUNT_)
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "unknown design %d", (int)o->design);
    if (!(o->alpha > 0) || !isfinite(o->alpha))
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "alpha must be finite and > 0, got %g", o->alpha);
    if (isnan(o->clip))
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "clip must not be NaN");
    return SRS_OK;
}

srs_status_t srs_batch_check(srs_ctx_t *ctx, const srs_batch_t *b) {
    if (!b) return srs_fail(ctx, SRS_ERR_INVALID_ARG, "batch is NULL");
    if (b->n_prompts < 0)
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "n_prompts must be >= 0, got %lld",
                        (long long)b->n_prompts);
    if (b->n_prompts > 0 && !b->reward.data)
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "batch has no reward array");
    const srs_vec_t *v[3] = {&b->reward, &b->logw, &b->gold};
    for (int k = 0; k < 3; k++)
        if (v[k]->data && v[k]->dtype != SRS_F32 && v[k]->dtype != SRS_F64)
            return srs_fail(ctx, SRS_ERR_INVALID_ARG, "unknown dtype %d", (int)v[k]->dtype);
    if (!b->offsets) {
        if (b->row_len < 0)
            return srs_fail(ctx, SRS_ERR_INVALID_ARG, "row_len must be >= 0, got %lld",
                            (long long)b->row_len);
        return SRS_OK;
    }
    for (int64_t i = 0; i < b->n_prompts; i++)
        if (b->offsets[i + 1] < b->offsets[i])
            return srs_fail_row(ctx, SRS_ERR_INVALID_ARG, b->first_index + i,
                                "offsets decrease at row %lld", (long long)(b->first_index + i));
    return SRS_OK;
}

// ----------------------------------------------------------------------------
// convergence of the bounded solvers
//
// With max_iter set, bisection and Dinkelbach may stop before the root, and
// the solvers return their last iterate. A row that may have stopped early
// (bisect: the bracket range / 2^max_iter still wider than tol max(1, range);
// dinkelbach: fewer than n + 2 passes allowed) must have its root within h of
// the returned m, F(m - h) >= 0 >= F(m + h), where h is the tolerance or the
// rounding error of F, whichever is larger. The check uses the shared
// per-sample terms (srs_math.h) on the host copy of the batch, so it covers
// every backend; without max_iter the solvers run to the end and it costs
// nothing.

static inline double vec_at(srs_vec_t v, int64_t i) {
    return v.dtype == SRS_F32 ? (double)((const float *)v.data)[i] : ((const double *)v.data)[i];
}

// F(x)/gamma of samples [s, s + n): the sign decides which side of the root x is.
static double row_f(const srs_batch_t *b, int64_t s, int64_t n, double x, double eps, double lwmax) {
    double f = 0;
    for (int64_t j = s; j < s + n; j++) {
        double p = b->logw.data ? exp(vec_at(b->logw, j) - lwmax) : 1.0;
        f += srs_fterm(vec_at(b->reward, j), p, x, eps);
    }
    return f;
}

// 1 when row i may have stopped before its root and m is not within tolerance of it.
static int row_unconverged(const srs_batch_t *b, int64_t i, const srs_threshold_opts_t *o, double m) {
    int64_t s, n;
    srs_batch_row(b, i, &s, &n);
    if (n < 2) return 0;
    double umin = INFINITY, umax = -INFINITY, lwmax = -INFINITY;
    for (int64_t j = s; j < s + n; j++) {
        double u = vec_at(b->reward, j);
        umin = u < umin ? u : umin;
        umax = u > umax ? u : umax;
        if (b->logw.data) lwmax = fmax(lwmax, vec_at(b->logw, j));
    }
    double range = umax - umin, w = o->tol * fmax(1.0, range), mag = fmax(fabs(umin), fabs(umax));
    if (!(range > 0)) return 0;  // one value: m* = u whatever the solver
    if (o->solver == SRS_SOLVER_BISECT && ldexp(range, -o->max_iter) <= w) return 0;
    if (o->solver == SRS_SOLVER_DINKELBACH && (int64_t)o->max_iter >= n + 2) return 0;
    double eps = srs_preset_eval(o->preset, o->B, o->beta, o->cap, umin, umax).eps;
    double h = fmax(0.5 * w, 4.0 * (double)n * DBL_EPSILON * fmax(range, mag));
    return !(row_f(b, s, n, m - h, eps, lwmax) >= 0 && row_f(b, s, n, m + h, eps, lwmax) <= 0);
}

// SRS_ERR_INVALID_ARG naming the first unconverged row and their number, else SRS_OK.
static srs_status_t check_converged(srs_ctx_t *ctx, const srs_batch_t *b, const srs_threshold_opts_t *o,
                                    const double *m) {
    if (o->max_iter <= 0 || o->solver == SRS_SOLVER_EXACT || !m) return SRS_OK;
    int64_t bad = 0, first = INT64_MAX;
#pragma omp parallel for schedule(dynamic, 256) reduction(+ : bad) reduction(min : first) num_threads(ctx->n_threads)
    for (int64_t i = 0; i < b->n_prompts; i++)
        if (row_unconverged(b, i, o, m[i])) {
            bad++;
            first = i < first ? i : first;
        }
    if (!bad) return SRS_OK;
    return srs_fail_row(ctx, SRS_ERR_INVALID_ARG, b->first_index + first,
                        "the %s solver did not converge within max_iter %d (m* = %.17g is not within tolerance "
                        "of the root) in %lld row%s, the first row %lld; raise max_iter, or leave it at 0 to "
                        "run to the end",
                        srs_solver_name(o->solver), o->max_iter, m[first], (long long)bad, bad == 1 ? "" : "s",
                        (long long)(b->first_index + first));
}

// Whether the bounded solvers need m* for the check, when the caller did not ask for it.
static int need_check(const srs_threshold_opts_t *o) { return o->max_iter > 0 && o->solver != SRS_SOLVER_EXACT; }

// ----------------------------------------------------------------------------
// dispatch

srs_status_t srs_thresholds(srs_ctx_t *ctx, const srs_batch_t *b, const srs_threshold_opts_t *o,
                            double *m_star, double *b_eff) {
    if (!ctx) return SRS_ERR_INVALID_ARG;
    srs_clear_error(ctx);
    srs_status_t st = srs_threshold_opts_check(ctx, o);
    if (st == SRS_OK) st = srs_batch_check(ctx, b);
    if (st != SRS_OK) return st;
    double *own = NULL;
    if (!m_star && need_check(o) && b->n_prompts > 0) {
        if (!(own = malloc(sizeof *own * (size_t)b->n_prompts))) return srs_fail(ctx, SRS_ERR_NOMEM, "out of memory");
        m_star = own;
    }
    st = ctx->be->thresholds(ctx, b, o, m_star, b_eff);
    if (st == SRS_OK) st = check_converged(ctx, b, o, m_star);
    free(own);
    return st;
}

srs_status_t srs_shape(srs_ctx_t *ctx, const srs_batch_t *b, const srs_threshold_opts_t *to,
                       const srs_shape_opts_t *so, double *m_star, double *b_eff, void *shaped,
                       srs_dtype_t shaped_dtype) {
    if (!ctx) return SRS_ERR_INVALID_ARG;
    srs_clear_error(ctx);
    srs_status_t st = srs_threshold_opts_check(ctx, to);
    if (st == SRS_OK) st = shape_opts_check(ctx, so);
    if (st == SRS_OK) st = srs_batch_check(ctx, b);
    if (st != SRS_OK) return st;
    if (!shaped && srs_batch_n_samples(b) > 0)
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "shaped output is NULL");
    if (shaped_dtype != SRS_F32 && shaped_dtype != SRS_F64)
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "unknown shaped dtype %d", (int)shaped_dtype);
    double *own = NULL;
    if (!m_star && need_check(to) && b->n_prompts > 0) {
        if (!(own = malloc(sizeof *own * (size_t)b->n_prompts))) return srs_fail(ctx, SRS_ERR_NOMEM, "out of memory");
        m_star = own;
    }
    st = ctx->be->shape(ctx, b, to, so, m_star, b_eff, shaped, shaped_dtype);
    if (st == SRS_OK) st = check_converged(ctx, b, to, m_star);
    free(own);
    return st;
}

// ----------------------------------------------------------------------------
// device pointers (host/cuda/device_api.c does the work)

static srs_status_t rows_device(srs_ctx_t *ctx, const srs_batch_t *b, const srs_threshold_opts_t *to,
                                const srs_shape_opts_t *so, double *m_star, double *b_eff, void *shaped,
                                srs_dtype_t shaped_dtype, void *stream) {
    const char *what = so ? "srs_shape_device" : "srs_thresholds_device";
    if (!ctx) return SRS_ERR_INVALID_ARG;
    srs_clear_error(ctx);
    srs_status_t st = srs_threshold_opts_check(ctx, to);
    if (st == SRS_OK && so) st = shape_opts_check(ctx, so);
    if (st != SRS_OK) return st;
    if (!b) return srs_fail(ctx, SRS_ERR_INVALID_ARG, "batch is NULL");
    if (so && shaped_dtype != SRS_F32 && shaped_dtype != SRS_F64)
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "unknown shaped dtype %d", (int)shaped_dtype);
#ifdef SRS_WITH_CUDA
    if (ctx->device != SRS_DEVICE_CUDA)
        return srs_fail(ctx, SRS_ERR_UNSUPPORTED,
                        "%s: the context runs on the CPU; device pointers need a CUDA context "
                        "(srs_ctx_create with SRS_DEVICE_CUDA), or pass host arrays to %s",
                        what, so ? "srs_shape" : "srs_thresholds");
    if (to->max_iter > 0 && to->solver != SRS_SOLVER_EXACT)
        return srs_fail(ctx, SRS_ERR_UNSUPPORTED,
                        "%s: max_iter %d with the %s solver is not supported on device pointers (its "
                        "convergence check reads the rows on the host); leave max_iter at 0, or use the "
                        "exact solver", what, to->max_iter, srs_solver_name(to->solver));
    return srs_cuda_rows_device(ctx, b, to, so, m_star, b_eff, shaped, shaped_dtype, stream);
#else
    (void)m_star; (void)b_eff; (void)shaped; (void)stream;
    return srs_fail(ctx, SRS_ERR_UNSUPPORTED,
                    "%s: the CUDA backend is not compiled into this build of srs %s (build where nvcc "
                    "is found); pass host arrays to %s", what, SRS_VERSION_STRING,
                    so ? "srs_shape" : "srs_thresholds");
#endif
}

srs_status_t srs_thresholds_device(srs_ctx_t *ctx, const srs_batch_t *b, const srs_threshold_opts_t *o,
                                   double *m_star, double *b_eff, void *stream) {
    return rows_device(ctx, b, o, NULL, m_star, b_eff, NULL, SRS_F64, stream);
}

srs_status_t srs_shape_device(srs_ctx_t *ctx, const srs_batch_t *b, const srs_threshold_opts_t *to,
                              const srs_shape_opts_t *so, double *m_star, double *b_eff, void *shaped,
                              srs_dtype_t shaped_dtype, void *stream) {
    if (!so) {
        if (ctx) srs_clear_error(ctx);
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "shape options are NULL");
    }
    return rows_device(ctx, b, to, so, m_star, b_eff, shaped, shaped_dtype, stream);
}
