// test_threshold_kernels.c — the threshold kernels' per-row code
// (kernels/threshold_body.cuh, kernels/threshold_dev.cuh) run on the CPU
// (srs_thr_emulate) against the CPU backend (srs_thresholds, srs_shape): every
// row type the kernels use (registers over a group, with or without the row's
// totals, one thread's registers, shared memory, global memory), with groups
// of 1, 5, 32, 256 and 512 host threads, the three solvers and presets, float and double, uniform and
// weighted rows, on srs_gen data and edge rows (n = 1, ties, all equal, logw
// far apart, rewards near 1e250 and 1e-300), and bad rows.
//
// The emulation is compiled by the host C++ compiler into every build (no GPU
// and no nvcc needed, sanitizers included). What it cannot check: the device
// groups (warp shuffles, __syncthreads), the loads and the launchers.
//
// Tolerances: exact and Dinkelbach 1e-12 x range (the passes of the rows with
// totals derive the inactive sums from the row totals, so the rounding differs from
// the CPU's); bisection the bracket width tol x max(1, range) (the CPU's
// answer and the kernels' each lie within it of the root); B_eff exactly
// (by value: the kernels give -0 where the CPU gives 0 for some one-sample rows).
#include <string.h>
#include "test.h"
#include "../kernels/threshold_args.h"

// ----------------------------------------------------------------------------
// batches

// A CSR batch owned by the test: rows of doubles, optional logw.
typedef struct {
    srs_batch_t b;
    int64_t *off;
    double *u, *lw;
    float *u32, *lw32;
} kbatch_t;

static void kbatch_from_rows(kbatch_t *k, const double *const *rows, const double *const *lws, const int *lens,
                             int np) {
    memset(k, 0, sizeof *k);
    k->off = malloc(sizeof(int64_t) * (size_t)(np + 1));
    k->off[0] = 0;
    for (int i = 0; i < np; i++) k->off[i + 1] = k->off[i] + lens[i];
    size_t ns = (size_t)(k->off[np] > 0 ? k->off[np] : 1);
    k->u = malloc(8 * ns);
    k->lw = malloc(8 * ns);
    for (int i = 0; i < np; i++)
        for (int j = 0; j < lens[i]; j++) {
            k->u[k->off[i] + j] = rows[i][j];
            k->lw[k->off[i] + j] = lws ? lws[i][j] : 0.0;
        }
    k->b.n_prompts = np;
    k->b.offsets = k->off;
    k->b.reward = (srs_vec_t){k->u, SRS_F64};
    if (lws) k->b.logw = (srs_vec_t){k->lw, SRS_F64};
}

static void kbatch_free(kbatch_t *k) {
    free(k->off); free(k->u); free(k->lw); free(k->u32); free(k->lw32);
}

// The first np rows of b (offsets rebased to 0, as a chunk's).
static srs_batch_t head_rows(const srs_batch_t *b, int64_t np, int64_t *off_buf) {
    srs_batch_t h = *b;
    h.n_prompts = np < b->n_prompts ? np : b->n_prompts;
    if (b->offsets) {
        for (int64_t i = 0; i <= h.n_prompts; i++) off_buf[i] = b->offsets[i] - b->offsets[0];
        h.offsets = off_buf;
        int64_t s0 = b->offsets[0];
        int w = b->reward.dtype == SRS_F32 ? 4 : 8;
        h.reward.data = (const char *)b->reward.data + w * s0;
        if (b->logw.data) h.logw.data = (const char *)b->logw.data + (b->logw.dtype == SRS_F32 ? 4 : 8) * s0;
    }
    return h;
}

static void row_at(const srs_batch_t *b, int64_t i, int64_t *start, int64_t *len) {
    if (b->offsets) { *start = b->offsets[i] - b->offsets[0]; *len = b->offsets[i + 1] - b->offsets[i]; }
    else { *start = i * b->row_len; *len = b->row_len; }
}

static double ru(const srs_batch_t *b, int64_t j) {
    return b->reward.dtype == SRS_F32 ? (double)((const float *)b->reward.data)[j]
                                      : ((const double *)b->reward.data)[j];
}

// ----------------------------------------------------------------------------
// one emulated run against the CPU

static const char *row_name(int row) {
    static const char *n[] = {"registers", "thread", "shared", "global", "totals"};
    return n[row];
}

// gcc 12 for aarch64 stops with an internal compiler error in the vectoriser
// (vect_transform_reduction) on emu_check at -O3; the loop gains nothing from
// vectorising in a test, so it is switched off there.
#if defined(__GNUC__) && !defined(__clang__) && defined(__aarch64__)
#define NO_TREE_VECTORIZE __attribute__((optimize("no-tree-vectorize")))
#else
#define NO_TREE_VECTORIZE
#endif

// Groups of more than one thread run on host threads; under qemu-user (the
// arm64 stage) a new thread never returns, so SRS_TEST_NO_THREADS leaves
// those groups out there (the x86 stages run them).
static int no_threads(int group) {
    return group > 1 && getenv("SRS_TEST_NO_THREADS") != NULL;
}

// Thresholds (and, with design >= 0, the shaped rewards) of b by the CPU
// backend and by the kernels' per-row code with row type `row` on `group`
// threads; checks they agree. Returns 0 when compared, -1 when the emulation
// does not take the combination.
NO_TREE_VECTORIZE static int emu_check(const srs_batch_t *b, const srs_threshold_opts_t *o, int design, int row, int group,
                     const char *what) {
    const int64_t np = b->n_prompts, ns = srs_batch_n_samples(b);
    double *m_ref = malloc(8 * (size_t)(np + 1)), *b_ref = malloc(8 * (size_t)(np + 1));
    double *m_got = malloc(8 * (size_t)(np + 1)), *b_got = malloc(8 * (size_t)(np + 1));
    double *s_ref = malloc(8 * (size_t)(ns + 1)), *s_got = malloc(8 * (size_t)(ns + 1));
    srs_shape_opts_t so = srs_shape_opts_default();
    if (design >= 0) so.design = (srs_design_t)design;
    srs_status_t st = design >= 0 ? srs_shape(t_cpu_ctx(), b, o, &so, m_ref, b_ref, s_ref, SRS_F64)
                                  : srs_thresholds(t_cpu_ctx(), b, o, m_ref, b_ref);
    CHECK(st == SRS_OK, "%s: CPU: %s", what, srs_ctx_last_error(t_cpu_ctx()));

    srs_thr_args_t a;
    memset(&a, 0, sizeof a);
    a.offsets = b->offsets;
    a.row_len = b->row_len;
    a.reward = b->reward.data;
    a.reward_f32 = b->reward.dtype == SRS_F32;
    a.logw = b->logw.data;
    a.logw_f32 = b->logw.dtype == SRS_F32;
    a.preset = o->preset;
    a.solver = o->solver;
    a.B = o->B; a.beta = o->beta; a.cap = o->cap; a.tol = o->tol;
    a.max_iter = o->max_iter;
    a.design = (int)so.design;
    a.alpha = so.alpha;
    a.clip = so.clip >= 0 ? so.clip : o->B;
    for (int64_t i = 0; i < np; i++) m_got[i] = b_got[i] = NAN;  // poisoned: every row must be written
    for (int64_t j = 0; j < ns; j++) s_got[j] = NAN;
    a.m_star = m_got;
    a.b_eff = b_got;
    a.shaped = design >= 0 ? s_got : NULL;
    unsigned long long bad = ~0ull;
    a.bad = &bad;
    int rc = srs_thr_emulate(&a, np, row, group, NULL);
    if (rc == 0 && st == SRS_OK) {
        CHECK(bad == ~0ull, "%s: row %llu marked bad (kind %llu)", what, bad >> 2, bad & 3);
        int shown = 0;
        for (int64_t i = 0; i < np && shown < 3; i++) {
            int64_t s0, n;
            row_at(b, i, &s0, &n);
            double lo = INFINITY, hi = -INFINITY;
            for (int64_t j = 0; j < n; j++) { lo = fmin(lo, ru(b, s0 + j)); hi = fmax(hi, ru(b, s0 + j)); }
            const double range = hi - lo;
            const double tol = o->solver == SRS_SOLVER_BISECT ? 1.01 * o->tol * fmax(1.0, range) + 4e-16 * fabs(hi)
                                                              : 1e-12 * range;
            if (!(fabs(m_got[i] - m_ref[i]) <= tol) || !(b_got[i] == b_ref[i])) {
                t_fail_at(__FILE__, __LINE__, "%s: row %lld (n %lld, range %.3g): m* %.17g vs CPU %.17g "
                          "(|diff| %.3g > %.3g), B_eff %.17g vs %.17g", what, (long long)i, (long long)n, range,
                          m_got[i], m_ref[i], fabs(m_got[i] - m_ref[i]), tol, b_got[i], b_ref[i]);
                shown++;
            }
            if (design < 0 || o->solver == SRS_SOLVER_BISECT) continue;
            for (int64_t j = 0; j < n && shown < 3; j++) {
                double x = ru(b, s0 + j), g = s_got[s0 + j], r = s_ref[s0 + j];
                // the hard design flips at m*, which agrees to 1e-12 x range only
                if (design == SRS_DESIGN_HARD && fabs(x - m_ref[i]) <= 2e-12 * range) continue;
                if (!(fabs(g - r) <= 1e-9 * (1 + fabs(r)))) {
                    t_fail_at(__FILE__, __LINE__, "%s: row %lld sample %lld: shaped %.17g vs CPU %.17g", what,
                              (long long)i, (long long)j, g, r);
                    shown++;
                }
            }
        }
    }
    free(m_ref); free(b_ref); free(m_got); free(b_got); free(s_ref); free(s_got);
    return rc;
}

// Every solver and preset with row type `row` on `group` threads.
static void emu_sweep(const srs_batch_t *b, int row, int group, const char *name) {
    if (no_threads(group)) return;
    static const srs_preset_t presets[] = {SRS_PRESET_EXACT, SRS_PRESET_PAPER_CD, SRS_PRESET_PAPER_ARGS};
    static const double Bs[] = {1.0, 15.0, 8.0};
    static const double betas[] = {1.0, 0.667, 0.05};
    for (int s = 0; s < 3; s++)
        for (int p = 0; p < 3; p++) {
            srs_threshold_opts_t o = srs_threshold_opts_default();
            o.solver = (srs_solver_t)s;
            o.preset = presets[p];
            o.B = Bs[p];
            o.beta = betas[p];
            char what[256];
            snprintf(what, sizeof what, "%s: %s rows on %d threads, solver %s, preset %s", name, row_name(row),
                     group, srs_solver_name(o.solver), srs_preset_name(o.preset));
            int rc = emu_check(b, &o, -1, row, group, what);
            CHECK(rc == 0, "%s: the emulation refused it", what);
            if (t_failed_now()) return;
        }
}

static srs_data_t *gen(srs_scenario_t sc, int64_t np, int64_t n, int ragged, int logw, uint64_t seed) {
    srs_gen_opts_t g = srs_gen_opts_default();
    g.scenario = sc;
    g.n_prompts = np;
    g.n_samples = n;
    g.ragged = ragged;
    g.with_logw = logw;
    g.seed = seed;
    srs_data_t *d = NULL;
    if (srs_gen(t_cpu_ctx(), &g, &d) != SRS_OK) return NULL;
    return d;
}

// The same batch with float rewards (and logw).
static srs_batch_t to_f32(const srs_batch_t *b, float **u32, float **lw32) {
    int64_t ns = srs_batch_n_samples(b);
    *u32 = malloc(4 * (size_t)(ns + 1));
    *lw32 = malloc(4 * (size_t)(ns + 1));
    srs_batch_t h = *b;
    int64_t s0 = b->offsets ? b->offsets[0] : 0;
    for (int64_t j = 0; j < ns; j++) {
        (*u32)[j] = (float)ru(b, s0 + j);
        if (b->logw.data) (*lw32)[j] = (float)((const double *)b->logw.data)[s0 + j];
    }
    h.reward = (srs_vec_t){*u32, SRS_F32};
    if (b->logw.data) h.logw = (srs_vec_t){*lw32, SRS_F32};
    return h;
}

// ----------------------------------------------------------------------------
// srs gen data

// Row lengths for each row type and group: what the kernels' tiers hold.
typedef struct { int row, group; int64_t max_n, rows; } emu_shape_t;

static void gen_sweep(srs_scenario_t sc, int logw, int f32, uint64_t seed) {
    const int quick = t_quick();
    const emu_shape_t shapes[] = {
        {SRS_THR_EMU_THREAD, 1, 32, 60},  {SRS_THR_EMU_REG, 1, 300, 40},   {SRS_THR_EMU_REG, 5, 300, 20},
        {SRS_THR_EMU_REG, 32, 256, 8},    {SRS_THR_EMU_REG, 256, 1500, 2}, {SRS_THR_EMU_SMEM, 5, 300, 10},
        {SRS_THR_EMU_SMEM, 32, 100, 4},   {SRS_THR_EMU_GLOBAL, 1, 300, 20}, {SRS_THR_EMU_GLOBAL, 32, 100, 4},
        {SRS_THR_EMU_SMEM, 256, 600, 1},  {SRS_THR_EMU_TOTALS, 1, 300, 20}, {SRS_THR_EMU_TOTALS, 5, 300, 10},
        {SRS_THR_EMU_TOTALS, 32, 512, 6}, {SRS_THR_EMU_TOTALS, 32, 2048, 2},  {SRS_THR_EMU_TOTALS, 256, 4096, 2},
        {SRS_THR_EMU_TOTALS, 512, 2500, 1},
    };
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        const emu_shape_t *s = &shapes[k];
        if ((quick && s->group > 32) || no_threads(s->group)) continue;
        int64_t rows = quick ? (s->rows + 3) / 4 : s->rows;
        srs_data_t *d = gen(sc, rows, s->max_n, 1, logw, seed + k);
        CHECK(d != NULL, "srs_gen failed: %s", srs_ctx_last_error(t_cpu_ctx()));
        if (!d) return;
        const srs_batch_t *b = srs_data_batch(d);
        float *u32 = NULL, *lw32 = NULL;
        srs_batch_t h = f32 ? to_f32(b, &u32, &lw32) : *b;
        char name[128];
        snprintf(name, sizeof name, "gen %s, %s%s, n <= %lld", srs_scenario_name(sc), f32 ? "float" : "double",
                 logw ? ", logw" : "", (long long)s->max_n);
        emu_sweep(&h, s->row, s->group, name);
        free(u32); free(lw32);
        srs_data_free(d);
        if (t_failed_now()) return;
    }
}

TEST(thr_kernel_code_gen_gauss) { gen_sweep(SRS_SCEN_GAUSS, 0, 0, 11); }
TEST(thr_kernel_code_gen_gauss_f32_logw) { gen_sweep(SRS_SCEN_GAUSS, 1, 1, 21); }
TEST(thr_kernel_code_gen_overopt_logw) { gen_sweep(SRS_SCEN_OVEROPT, 1, 0, 31); }
TEST(thr_kernel_code_gen_twopoint) { gen_sweep(SRS_SCEN_TWOPOINT, 0, 1, 41); }

// Dense rows (offsets NULL), the layout of NPY inputs.
TEST(thr_kernel_code_dense) {
    srs_data_t *d = gen(SRS_SCEN_GAUSS, 24, 24, 0, 0, 5);
    CHECK(d != NULL, "srs_gen failed");
    if (!d) return;
    const srs_batch_t *b = srs_data_batch(d);
    srs_batch_t h = *b;
    if (b->offsets) {  // the generator writes CSR: the same rows as dense
        h.offsets = NULL;
        h.row_len = 24;
    }
    emu_sweep(&h, SRS_THR_EMU_THREAD, 1, "dense");
    emu_sweep(&h, SRS_THR_EMU_REG, 32, "dense");
    emu_sweep(&h, SRS_THR_EMU_TOTALS, 5, "dense");
    srs_data_free(d);
}

// ----------------------------------------------------------------------------
// edge rows

static const double r_one[] = {3.5};
static const double r_ties[] = {1, 1, 2, 2, 2, 0, 1};
static const double r_equal[] = {5, 5, 5, 5, 5};
static const double r_two[] = {-1, 1};
static const double r_huge[] = {1e250, -1e250, 3e249, -7e249, 1e250};
static const double r_tiny[] = {1e-300, 3e-300, 2e-300, 5e-300, 4e-300, 1e-300};
static const double r_mixed[] = {0.25, -3, 7, 0.25, 1e3, -1e3, 2, 2, 9.5};
static const double r_long_tie[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1};

static const double l_one[] = {0.0};
static const double l_ties[] = {0, -1, 2, 0.5, -3, 1, 1};
static const double l_equal[] = {0, 700, -700, 3, 1};
static const double l_two[] = {-800, 0};
static const double l_huge[] = {1, 2, 3, 4, 5};
static const double l_tiny[] = {0, 0, -1, 0, 1, 0};
static const double l_mixed[] = {0, -800, 800, -5, 300, 299, 0, 1, -700};
static const double l_long_tie[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6, 7, -400, 400};

static void edge_batch(kbatch_t *k, int weighted) {
    const double *rows[] = {r_one, r_ties, r_equal, r_two, r_huge, r_tiny, r_mixed, r_long_tie};
    const double *lws[] = {l_one, l_ties, l_equal, l_two, l_huge, l_tiny, l_mixed, l_long_tie};
    const int lens[] = {1, 7, 5, 2, 5, 6, 9, 20};
    kbatch_from_rows(k, rows, weighted ? lws : NULL, lens, 8);
}

static void edge_sweep(int weighted, int big_gamma) {
    kbatch_t k;
    edge_batch(&k, weighted);
    static const struct { int row, group; } rg[] = {
        {SRS_THR_EMU_THREAD, 1}, {SRS_THR_EMU_REG, 1}, {SRS_THR_EMU_REG, 5}, {SRS_THR_EMU_REG, 32},
        {SRS_THR_EMU_SMEM, 5},   {SRS_THR_EMU_GLOBAL, 32}, {SRS_THR_EMU_REG, 256}, {SRS_THR_EMU_TOTALS, 1},
        {SRS_THR_EMU_TOTALS, 5}, {SRS_THR_EMU_TOTALS, 32}, {SRS_THR_EMU_TOTALS, 256},
    };
    for (size_t i = 0; i < sizeof rg / sizeof rg[0]; i++) {
        if ((t_quick() && rg[i].group > 32) || no_threads(rg[i].group)) continue;
        for (int s = 0; s < 3; s++) {
            srs_threshold_opts_t o = srs_threshold_opts_default();
            o.solver = (srs_solver_t)s;
            if (big_gamma) { o.B = 100; o.beta = 1; }  // gamma = e^100: eps near 4e-44
            char what[200];
            snprintf(what, sizeof what, "edge rows%s%s: %s on %d threads, solver %s", weighted ? ", logw" : "",
                     big_gamma ? ", gamma e^100" : "", row_name(rg[i].row), rg[i].group, srs_solver_name(o.solver));
            CHECK(emu_check(&k.b, &o, -1, rg[i].row, rg[i].group, what) == 0, "%s: refused", what);
        }
        if (t_failed_now()) break;
    }
    kbatch_free(&k);
}

TEST(thr_kernel_code_edge_rows) { edge_sweep(0, 0); }
TEST(thr_kernel_code_edge_rows_logw) { edge_sweep(1, 0); }
TEST(thr_kernel_code_edge_rows_big_gamma) {
    edge_sweep(0, 1);
    edge_sweep(1, 1);
}

// Fused shaping: every design, written by the same per-row code.
TEST(thr_kernel_code_shaping) {
    srs_data_t *d = gen(SRS_SCEN_GAUSS, 12, 30, 1, 1, 77);
    CHECK(d != NULL, "srs_gen failed");
    if (!d) return;
    static const struct { int row, group; } rg[] = {
        {SRS_THR_EMU_THREAD, 1}, {SRS_THR_EMU_REG, 5}, {SRS_THR_EMU_SMEM, 32}, {SRS_THR_EMU_GLOBAL, 1},
        {SRS_THR_EMU_TOTALS, 5}, {SRS_THR_EMU_TOTALS, 32}};
    for (int w = 0; w < 2; w++) {
        srs_batch_t b = *srs_data_batch(d);
        if (!w) b.logw.data = NULL;
        for (size_t i = 0; i < sizeof rg / sizeof rg[0]; i++)
            for (int des = 0; des < SRS_DESIGN_COUNT_ && !no_threads(rg[i].group); des++) {
                srs_threshold_opts_t o = srs_threshold_opts_default();
                o.B = 2;
                char what[160];
                snprintf(what, sizeof what, "shaping %s%s: %s on %d threads", srs_design_name((srs_design_t)des),
                         w ? ", logw" : "", row_name(rg[i].row), rg[i].group);
                CHECK(emu_check(&b, &o, des, rg[i].row, rg[i].group, what) == 0, "%s: refused", what);
            }
    }
    srs_data_free(d);
}

// ----------------------------------------------------------------------------
// bad rows: the kernels' bad word names the first bad row and its kind, the
// row the CPU reports

TEST(thr_kernel_code_bad_rows) {
    const double good[] = {1, 2, 3};
    const double nan_row[] = {1, NAN, 3};
    const double inf_row[] = {INFINITY, 1, 2};
    const double lw_ok[] = {0, 0, 0};
    const double lw_bad[] = {0, INFINITY, 0};
    struct {
        const double *rows[4];
        const double *lws[4];
        int lens[4];
        int want_row, want_kind;
    } cases[] = {
        {{good, nan_row, good, inf_row}, {lw_ok, lw_ok, lw_ok, lw_ok}, {3, 3, 3, 3}, 1, 2},
        {{good, good, inf_row, good}, {lw_ok, lw_ok, lw_ok, lw_ok}, {3, 3, 3, 3}, 2, 2},
        {{good, good, good, good}, {lw_ok, lw_ok, lw_bad, lw_ok}, {3, 3, 3, 3}, 2, 3},
        {{good, good, good, good}, {lw_ok, lw_ok, lw_ok, lw_ok}, {3, 0, 3, 3}, 1, 1},
    };
    for (int c = 0; c < 4; c++) {
        kbatch_t k;
        kbatch_from_rows(&k, cases[c].rows, cases[c].lws, cases[c].lens, 4);
        double m[4], be[4];
        srs_threshold_opts_t o = srs_threshold_opts_default();
        srs_status_t st = srs_thresholds(t_cpu_ctx(), &k.b, &o, m, be);
        CHECK(st != SRS_OK, "case %d: the CPU took a bad row", c);
        CHECK(srs_ctx_error_row(t_cpu_ctx()) == cases[c].want_row, "case %d: CPU names row %lld", c,
              (long long)srs_ctx_error_row(t_cpu_ctx()));
        static const int rows[] = {SRS_THR_EMU_THREAD, SRS_THR_EMU_REG, SRS_THR_EMU_SMEM, SRS_THR_EMU_GLOBAL,
                                   SRS_THR_EMU_TOTALS};
        for (int r = 0; r < 5; r++) {
            srs_thr_args_t a;
            memset(&a, 0, sizeof a);
            a.offsets = k.off;
            a.reward = k.u;
            a.logw = k.lw;
            a.preset = o.preset; a.solver = o.solver;
            a.B = o.B; a.beta = o.beta; a.cap = o.cap; a.tol = o.tol;
            a.m_star = m;
            a.b_eff = be;
            unsigned long long bad = ~0ull;
            a.bad = &bad;
            int group = rows[r] == SRS_THR_EMU_THREAD ? 1 : 5;
            if (no_threads(group)) continue;
            CHECK(srs_thr_emulate(&a, 4, rows[r], group, NULL) == 0, "case %d: refused", c);
            CHECK(bad != ~0ull && (int64_t)(bad >> 2) == cases[c].want_row && (int)(bad & 3) == cases[c].want_kind,
                  "case %d, %s rows: bad word row %llu kind %llu, want row %d kind %d", c, row_name(rows[r]),
                  bad >> 2, bad & 3, cases[c].want_row, cases[c].want_kind);
        }
        kbatch_free(&k);
    }
}

// ----------------------------------------------------------------------------
// the thread-per-row code's economy: a pass sums the active samples alone,
// and bisection stops reading the row once no sample is inside the bracket

TEST(thr_kernel_code_thread_rows_read_less) {
    srs_data_t *d = gen(SRS_SCEN_GAUSS, 50, 32, 0, 0, 9);
    CHECK(d != NULL, "srs_gen failed");
    if (!d) return;
    srs_batch_t b = *srs_data_batch(d);
    int64_t off[51];
    b = head_rows(&b, 50, off);
    srs_thr_args_t a;
    memset(&a, 0, sizeof a);
    a.offsets = b.offsets;
    a.row_len = b.row_len;
    a.reward = b.reward.data;
    srs_threshold_opts_t o = srs_threshold_opts_default();
    a.preset = o.preset;
    a.solver = SRS_SOLVER_BISECT;
    a.B = o.B; a.beta = o.beta; a.cap = o.cap; a.tol = o.tol;
    unsigned long long bad = ~0ull;
    a.bad = &bad;
    int64_t p_thread = 0, p_reg = 0;
    CHECK(srs_thr_emulate(&a, 50, SRS_THR_EMU_THREAD, 1, &p_thread) == 0, "thread rows refused");
    CHECK(srs_thr_emulate(&a, 50, SRS_THR_EMU_REG, 1, &p_reg) == 0, "register rows refused");
    // tol 1e-12: about 40 halvings; the thread rows read the row until the
    // bracket holds no sample, about log2(32) + a few times
    CHECK(p_reg >= 50 * 35, "register rows: %lld passes over 50 rows", (long long)p_reg);
    CHECK(p_thread <= 50 * 15, "thread rows: %lld passes over 50 rows (register rows %lld)", (long long)p_thread,
          (long long)p_reg);
    srs_data_free(d);
}

// Dinkelbach on rows with totals (no minimum over the active set) stops when
// the iterate repeats: the same passes as the register rows, or one more.
TEST(thr_kernel_code_totals_dinkelbach_passes) {
    srs_data_t *d = gen(SRS_SCEN_GAUSS, 40, 200, 0, 0, 19);
    CHECK(d != NULL, "srs_gen failed");
    if (!d) return;
    srs_batch_t b = *srs_data_batch(d);
    srs_threshold_opts_t o = srs_threshold_opts_default();
    for (int r = 0; r < 40; r++) {
        int64_t start, len;
        row_at(&b, r, &start, &len);
        int64_t off[2] = {0, len};
        srs_thr_args_t a;
        memset(&a, 0, sizeof a);
        a.offsets = off;
        a.reward = (const double *)b.reward.data + start;
        a.preset = o.preset;
        a.solver = SRS_SOLVER_DINKELBACH;
        a.B = o.B; a.beta = o.beta; a.cap = o.cap; a.tol = o.tol;
        double m_reg, m_tot, be;
        unsigned long long bad = ~0ull;
        a.bad = &bad;
        a.b_eff = &be;
        int64_t p_reg = 0, p_tot = 0;
        a.m_star = &m_reg;
        CHECK(srs_thr_emulate(&a, 1, SRS_THR_EMU_REG, 1, &p_reg) == 0, "register rows refused");
        a.m_star = &m_tot;
        CHECK(srs_thr_emulate(&a, 1, SRS_THR_EMU_TOTALS, 1, &p_tot) == 0, "rows with totals refused");
        CHECK(p_tot == p_reg || p_tot == p_reg + 1, "row %d: %lld passes with totals, %lld without", r,
              (long long)p_tot, (long long)p_reg);
        CHECK(fabs(m_tot - m_reg) <= 1e-12 * fmax(1.0, fabs(m_reg)), "row %d: m* %.17g with totals, %.17g without", r,
              m_tot, m_reg);
        if (t_failed_now()) break;
    }
    srs_data_free(d);
}

// Unsupported combinations are refused, not run.
TEST(thr_kernel_code_refuses_unsupported) {
    double u[40];
    for (int j = 0; j < 40; j++) u[j] = j;
    srs_thr_args_t a;
    memset(&a, 0, sizeof a);
    a.row_len = 40;
    a.reward = u;
    unsigned long long bad = ~0ull;
    a.bad = &bad;
    double m, be;
    a.m_star = &m;
    a.b_eff = &be;
    CHECK(srs_thr_emulate(&a, 1, SRS_THR_EMU_THREAD, 1, NULL) == -1, "a 40-sample row in one thread");
    CHECK(srs_thr_emulate(&a, 1, SRS_THR_EMU_THREAD, 5, NULL) == -1, "thread rows on 5 threads");
    CHECK(srs_thr_emulate(&a, 1, SRS_THR_EMU_REG, 7, NULL) == -1, "a group of 7");
    CHECK(bad == ~0ull, "nothing ran");
}
