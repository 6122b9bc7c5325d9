// test_solvers.c — the mathematics: solvers against an independent oracle,
// optimality of the threshold reward, the paper's example, shaping, edge cases.
#include <string.h>
#include "internal.h"
#include "srs_math.h"
#include "test.h"

// ----------------------------------------------------------------------------
// oracle: DESIGN.md's sort-based formula in long double, written independently
// of the library: m* = max_k (S_k + eps (T - S_k)) / (P_k + eps (1 - P_k)) over
// the top-k prefixes of u sorted descending, p normalised.

typedef struct { long double u, p; } up_t;

static int cmp_up_desc(const void *a, const void *b) {
    long double x = ((const up_t *)a)->u, y = ((const up_t *)b)->u;
    return (x < y) - (x > y);
}

static double oracle_mstar(const double *u, const double *logw, int n, double lg) {
    up_t *v = malloc(sizeof *v * (size_t)n);
    long double lmax = -INFINITY, z = 0;
    for (int i = 0; i < n; i++) lmax = logw && logw[i] > lmax ? logw[i] : lmax;
    for (int i = 0; i < n; i++) {
        v[i].u = u[i];
        v[i].p = logw ? expl((long double)logw[i] - lmax) : 1.0L;
        z += v[i].p;
    }
    long double T = 0;
    for (int i = 0; i < n; i++) { v[i].p /= z; T += v[i].p * v[i].u; }
    qsort(v, (size_t)n, sizeof *v, cmp_up_desc);
    long double eps = expl(-(long double)lg), S = 0, P = 0, best = -INFINITY;
    for (int k = 0; k < n; k++) {
        S += v[k].p * v[k].u;
        P += v[k].p;
        long double val = (S + eps * (T - S)) / (P + eps * (1 - P));
        if (val > best) best = val;
    }
    free(v);
    return (double)best;
}

// Follower utility sum q u with q ∝ p exp(s / beta), computed stably.
static double follower_utility(const double *u, const double *s, const double *p, int n, double beta) {
    double smax = -INFINITY, z = 0, num = 0;
    for (int i = 0; i < n; i++) smax = fmax(smax, s[i]);
    for (int i = 0; i < n; i++) {
        double q = p[i] * exp((s[i] - smax) / beta);
        z += q;
        num += q * u[i];
    }
    return num / z;
}

static srs_batch_t one_row(const double *u, const double *logw, int64_t n) {
    static int64_t off[2];
    off[0] = 0;
    off[1] = n;
    srs_batch_t b;
    memset(&b, 0, sizeof b);
    b.n_prompts = 1;
    b.offsets = off;
    b.reward = (srs_vec_t){u, SRS_F64};
    if (logw) b.logw = (srs_vec_t){logw, SRS_F64};
    return b;
}

static double solve1(const double *u, const double *logw, int64_t n, srs_threshold_opts_t o,
                     srs_solver_t solver) {
    o.solver = solver;
    srs_batch_t b = one_row(u, logw, n);
    double m = NAN;
    srs_status_t st = srs_thresholds(t_ctx(), &b, &o, &m, NULL);
    CHECK(st == SRS_OK, "srs_thresholds: %s", srs_ctx_last_error(t_ctx()));
    return m;
}

// Fills u with one of several shapes of data (ties, offsets, heavy tails).
static void fill_row(double *u, int n, int kind, uint64_t *rng) {
    for (int i = 0; i < n; i++) {
        double z = t_rand_normal(rng);
        switch (kind) {
        case 0: u[i] = z; break;                                   // Gaussian
        case 1: u[i] = floor(t_rand_u01(rng) * 5); break;          // few values, many ties
        case 2: u[i] = 1e6 + 1e-2 * z; break;                      // large offset, small spread
        case 3: u[i] = z * z * z * 10; break;                      // heavy tails
        case 4: u[i] = (float)(3 * z); break;                      // float32-representable
        default: u[i] = 1e-300 * (2 + z); break;                   // tiny: eps (u - m) underflows
        }
    }
}

// ----------------------------------------------------------------------------

TEST(solvers_agree_with_oracle) {
    static const int lens[] = {1, 2, 3, 7, 16, 64, 255, 1024, 4096};
    static const double lgs[] = {0, 1e-3, 0.5, 2, 10, 50, 200, 1000};
    uint64_t rng = 42;
    int nlen = t_quick() ? 7 : 9;
    double *u = malloc(4096 * sizeof *u), *lw = malloc(4096 * sizeof *lw);
    srs_threshold_opts_t o = srs_threshold_opts_default();
    double worst[3] = {0, 0, 0};
    for (int li = 0; li < nlen; li++)
        for (int kind = 0; kind < 6; kind++)
            for (int weighted = 0; weighted < 2; weighted++)
                for (int gi = 0; gi < 8; gi++) {
                    int n = lens[li];
                    fill_row(u, n, kind, &rng);
                    for (int i = 0; i < n; i++) lw[i] = 2 * t_rand_normal(&rng);
                    o.beta = 0.5;
                    o.B = lgs[gi] * o.beta;  // gamma = exp(lgs[gi])
                    const double *w = weighted ? lw : NULL;
                    double ref = oracle_mstar(u, w, n, lgs[gi]);
                    double mn = u[0], mx = u[0];
                    for (int i = 1; i < n; i++) { mn = fmin(mn, u[i]); mx = fmax(mx, u[i]); }
                    for (int s = 0; s < 3; s++) {
                        // tiny rewards: dinkelbach and exact relative to the rows' own range
                        // (bisection's tolerance is absolute, 1e-12 max(1, range), as the paper's)
                        double scale = kind == 5 && s != SRS_SOLVER_BISECT ? (mx > mn ? mx - mn : 1e-300)
                                                                          : fmax(1.0, mx - mn);
                        double m = solve1(u, w, n, o, (srs_solver_t)s);
                        double err = fabs(m - ref) / scale;
                        if (!(err <= worst[s])) worst[s] = err;  // NaN propagates as worst
                        CHECK(err <= 1e-9, "solver %s n=%d kind=%d weighted=%d lg=%g: m=%.17g oracle=%.17g",
                              srs_solver_name((srs_solver_t)s), n, kind, weighted, lgs[gi], m, ref);
                        CHECK(m >= mn && m <= mx, "m* = %.17g outside [%.17g, %.17g] (n=%d kind=%d lg=%g %s)", m, mn, mx, n, kind, lgs[gi], srs_solver_name((srs_solver_t)s));
                    }
                }
    fprintf(stderr, "    worst |m - oracle| / max(1, range) (tiny rows: / range): bisect %.2g, dinkelbach %.2g, exact %.2g\n",
            worst[0], worst[1], worst[2]);
    CHECK(worst[1] <= 1e-12 && worst[2] <= 1e-12, "dinkelbach/exact should be exact to rounding");
    free(u);
    free(lw);
}

TEST(exact_partition_search_alone) {
    // The exact solver's partition search without its Dinkelbach warm start,
    // on random rows and on sorted and organ-pipe rows that defeat
    // median-of-three pivots (its sort-based finish must then take over).
    int n = 4096;
    double *u = malloc(n * sizeof *u), *td = malloc(n * sizeof *td), *tp = malloc(n * sizeof *tp);
    double *lw = malloc(n * sizeof *lw);
    uint64_t rng = 3;
    double lg = 12;
    for (int pattern = 0; pattern < 5; pattern++)
        for (int weighted = 0; weighted < 2; weighted++) {
            for (int i = 0; i < n; i++) {
                u[i] = pattern == 0 ? i : pattern == 1 ? n - i : pattern == 2 ? (i < n / 2 ? i : n - i)
                     : pattern == 3 ? t_rand_normal(&rng) : floor(3 * t_rand_u01(&rng));
                lw[i] = t_rand_normal(&rng);
            }
            double mn = u[0], mx = u[0], lmax = lw[0];
            for (int i = 0; i < n; i++) {
                mn = fmin(mn, u[i]);
                mx = fmax(mx, u[i]);
                lmax = fmax(lmax, lw[i]);
                td[i] = u[i];
                tp[i] = exp(lw[i] - lmax);
            }
            for (int i = 0; i < n; i++) tp[i] = exp(lw[i] - lmax);
            double m = srs_exact_search(td, weighted ? tp : NULL, n, 0, 0, 0, 0, exp(-lg), mn, mx);
            double ref = oracle_mstar(u, weighted ? lw : NULL, n, lg);
            NEAR(m, ref, 1e-12 * fmax(1, mx - mn));
        }
    free(u);
    free(td);
    free(tp);
    free(lw);
}

TEST(threshold_reward_is_optimal) {
    // Small discrete problems: no reward vector in [0,B]^n gives the follower
    // more utility than the threshold reward, whose utility equals m*.
    uint64_t rng = 7;
    int problems = t_quick() ? 40 : 200;
    for (int t = 0; t < problems; t++) {
        int n = 2 + (int)(t_rand_u01(&rng) * 5);
        double u[8], lw[8], p[8], s[8], z = 0;
        for (int i = 0; i < n; i++) {
            u[i] = floor(t_rand_normal(&rng) * 4) / 2;
            lw[i] = t_rand_normal(&rng);
            p[i] = exp(lw[i]);
            z += p[i];
        }
        for (int i = 0; i < n; i++) p[i] /= z;
        srs_threshold_opts_t o = srs_threshold_opts_default();
        o.B = 0.5 + 3 * t_rand_u01(&rng);
        o.beta = 0.2 + 2 * t_rand_u01(&rng);
        double m = solve1(u, lw, n, o, SRS_SOLVER_EXACT);
        for (int i = 0; i < n; i++) s[i] = u[i] >= m ? o.B : 0;
        double best = follower_utility(u, s, p, n, o.beta);
        NEAR(best, m, 1e-12 * fmax(1, fabs(m)));
        for (int trial = 0; trial < 2000; trial++) {
            for (int i = 0; i < n; i++) {
                double r = t_rand_u01(&rng);
                // mix interior points and vertices of the box
                s[i] = trial % 2 ? o.B * r : (r < 0.5 ? 0 : o.B);
            }
            double util = follower_utility(u, s, p, n, o.beta);
            CHECK(util <= best + 1e-12 * fmax(1, fabs(best)), "reward vector beats the threshold: %.17g > %.17g",
                  util, best);
        }
        BAIL_IF_FAILED();
    }
}

TEST(paper_motivating_example) {
    // Base policy 0.9 on an output of utility 1, 0.1 on one of utility 2, beta = 1.
    double u[2] = {1, 2}, lw[2] = {log(0.9), log(0.1)}, p[2] = {0.9, 0.1};
    double q_good = 0.1 * exp(2.0) / (0.9 * exp(1.0) + 0.1 * exp(2.0));
    NEAR(q_good, 0.232, 5e-4);  // the raw reward moves only 23.2% onto the better output
    double raw_util = follower_utility(u, u, p, 2, 1.0);
    NEAR(raw_util, 1.232, 5e-4);
    // A threshold reward with the same bound as the raw reward (B = 2) does better.
    srs_threshold_opts_t o = srs_threshold_opts_default();
    o.B = 2;
    o.beta = 1;
    for (int s = 0; s < 3; s++) {
        double m = solve1(u, lw, 2, o, (srs_solver_t)s);
        double sh[2] = {u[0] >= m ? 2 : 0, u[1] >= m ? 2 : 0};
        double util = follower_utility(u, sh, p, 2, 1.0);
        double expect = (0.9 + 2 * 0.1 * exp(2.0)) / (0.9 + 0.1 * exp(2.0));
        NEAR(m, expect, 1e-9);
        NEAR(util, m, 1e-9);
        CHECK(util > raw_util + 0.2, "threshold utility %.6f should beat raw %.6f", util, raw_util);
    }
}

TEST(edge_rows_single_equal_huge_gamma) {
    srs_threshold_opts_t o = srs_threshold_opts_default();
    for (int s = 0; s < 3; s++) {
        double one = -3.25;
        NEAR(solve1(&one, NULL, 1, o, (srs_solver_t)s), -3.25, 0);
        double eq[5] = {0.7, 0.7, 0.7, 0.7, 0.7}, lw[5] = {0, -1, 2, 0.5, -3};
        NEAR(solve1(eq, NULL, 5, o, (srs_solver_t)s), 0.7, 0);
        NEAR(solve1(eq, lw, 5, o, (srs_solver_t)s), 0.7, 0);
        // gamma = e^1000 and beyond: m* is the maximum
        double u[4] = {1, 5, 2, 4.5};
        o.beta = 1e-3;
        o.B = 1;
        NEAR(solve1(u, NULL, 4, o, (srs_solver_t)s), 5, 1e-9);
        o.B = 1e6;
        NEAR(solve1(u, lw, 4, o, (srs_solver_t)s), 5, 1e-9);
        // B = 0: gamma = 1, m* is the base mean
        o.B = 0;
        o.beta = 1;
        NEAR(solve1(u, NULL, 4, o, (srs_solver_t)s), 3.125, 1e-12);
        o = srs_threshold_opts_default();
    }
}

TEST(presets_effective_bound_and_gamma) {
    double u[4] = {0, 1, 3, 2};  // range 3
    srs_threshold_opts_t o = srs_threshold_opts_default();
    o.B = 15;
    o.beta = 0.667;
    srs_batch_t b = one_row(u, NULL, 4);
    double m, be;
    o.preset = SRS_PRESET_PAPER_CD;
    CHECK(srs_thresholds(t_ctx(), &b, &o, &m, &be) == SRS_OK, "paper-cd");
    NEAR(be, 6.0, 0);                                      // min(15, 2 * 3)
    NEAR(m, oracle_mstar(u, NULL, 4, 2.0), 1e-12);         // log gamma capped at 2
    o.preset = SRS_PRESET_PAPER_ARGS;
    CHECK(srs_thresholds(t_ctx(), &b, &o, &m, &be) == SRS_OK, "paper-args");
    NEAR(be, 3.03, 1e-15);                                 // min(15, 1.01 * 3)
    NEAR(m, oracle_mstar(u, NULL, 4, log(2.0)), 1e-12);    // gamma capped at 2
    o.preset = SRS_PRESET_EXACT;
    o.B = 1;
    CHECK(srs_thresholds(t_ctx(), &b, &o, &m, &be) == SRS_OK, "exact");
    NEAR(be, 1.0, 0);
    NEAR(m, oracle_mstar(u, NULL, 4, 1 / 0.667), 1e-12);
}

// ----------------------------------------------------------------------------
// shaping

static void shape1(const double *u, const double *lw, int n, srs_threshold_opts_t o, srs_shape_opts_t so,
                   double *out, double *m) {
    srs_batch_t b = one_row(u, lw, n);
    srs_status_t st = srs_shape(t_ctx(), &b, &o, &so, m, NULL, out, SRS_F64);
    CHECK(st == SRS_OK, "srs_shape: %s", srs_ctx_last_error(t_ctx()));
}

TEST(shape_designs_by_hand) {
    double u[4] = {0, 1, 3, 2}, out[4], m;
    srs_threshold_opts_t o = srs_threshold_opts_default();
    o.B = 2;
    o.beta = 1;
    srs_shape_opts_t so = srs_shape_opts_default();
    double mstar = oracle_mstar(u, NULL, 4, 2.0);
    so.design = SRS_DESIGN_RAW;
    shape1(u, NULL, 4, o, so, out, &m);
    for (int i = 0; i < 4; i++) NEAR(out[i], u[i], 0);
    NEAR(m, mstar, 1e-12);
    so.design = SRS_DESIGN_HARD;
    shape1(u, NULL, 4, o, so, out, &m);
    for (int i = 0; i < 4; i++) NEAR(out[i], u[i] >= mstar ? 2.0 : 0.0, 0);
    so.design = SRS_DESIGN_SOFT;
    so.alpha = 1.5;
    shape1(u, NULL, 4, o, so, out, &m);
    for (int i = 0; i < 4; i++) NEAR(out[i], 2 / (1 + exp(-1.5 * (u[i] - mstar))), 1e-14);
    so.design = SRS_DESIGN_MINMAX;
    shape1(u, NULL, 4, o, so, out, &m);
    for (int i = 0; i < 4; i++) NEAR(out[i], 2 * u[i] / 3, 1e-15);  // min(B=2, 1.01*3) = 2
    so.design = SRS_DESIGN_MEANSTD;
    shape1(u, NULL, 4, o, so, out, &m);
    double sd = sqrt(((0 - 1.5) * (0 - 1.5) + 0.25 + 2.25 + 0.25) / 4);
    for (int i = 0; i < 4; i++) NEAR(out[i], (u[i] - 1.5) / sd, 1e-14);
    so.design = SRS_DESIGN_CAP;
    so.clip = 1.5;
    shape1(u, NULL, 4, o, so, out, &m);
    for (int i = 0; i < 4; i++) NEAR(out[i], fmin(u[i], 1.5), 0);
    so.design = SRS_DESIGN_MEANSOFT;
    shape1(u, NULL, 4, o, so, out, &m);
    for (int i = 0; i < 4; i++) NEAR(out[i], 2 / (1 + exp(-1.5 * (u[i] - 1.5))), 1e-14);
    // degenerate rows: constant rewards give finite (zero) minmax and meanstd
    double c[3] = {4, 4, 4};
    so.design = SRS_DESIGN_MINMAX;
    shape1(c, NULL, 3, o, so, out, &m);
    for (int i = 0; i < 3; i++) NEAR(out[i], 0, 0);
    so.design = SRS_DESIGN_MEANSTD;
    shape1(c, NULL, 3, o, so, out, &m);
    for (int i = 0; i < 3; i++) NEAR(out[i], 0, 0);
}

TEST(soft_approaches_hard) {
    uint64_t rng = 11;
    double u[64], soft[64], hard[64], lw[64], p[64], z = 0, m;
    for (int i = 0; i < 64; i++) {
        u[i] = t_rand_normal(&rng);
        lw[i] = t_rand_normal(&rng);
        p[i] = exp(lw[i]);
        z += p[i];
    }
    for (int i = 0; i < 64; i++) p[i] /= z;
    srs_threshold_opts_t o = srs_threshold_opts_default();
    o.B = 4;
    o.beta = 0.5;
    srs_shape_opts_t so = srs_shape_opts_default();
    so.design = SRS_DESIGN_HARD;
    shape1(u, lw, 64, o, so, hard, &m);
    double gap = INFINITY;  // distance of the nearest sample to the threshold
    for (int i = 0; i < 64; i++) gap = fmin(gap, fabs(u[i] - m));
    double prev_err = INFINITY, prev_util_err = INFINITY;
    double hard_util = follower_utility(u, hard, p, 64, o.beta);
    NEAR(hard_util, m, 1e-12);
    static const double alphas[] = {0.1, 1, 10, 100, 1e3, 1e4, 1e6};
    for (int a = 0; a < 7; a++) {
        so.design = SRS_DESIGN_SOFT;
        so.alpha = alphas[a];
        shape1(u, lw, 64, o, so, soft, &m);
        double err = 0;
        for (int i = 0; i < 64; i++) err = fmax(err, fabs(soft[i] - hard[i]));
        double util_err = fabs(follower_utility(u, soft, p, 64, o.beta) - hard_util);
        CHECK(err <= prev_err && util_err <= prev_util_err + 1e-15,
              "alpha %g: max |soft - hard| %.3g (was %.3g), utility gap %.3g (was %.3g)", alphas[a], err,
              prev_err, util_err, prev_util_err);
        prev_err = err;
        prev_util_err = util_err;
    }
    // at alpha = 1e6 every sample further than 1e-4 from m* is within 1e-9 of hard
    CHECK(gap * 1e6 > 30, "test data too close to the threshold");
    CHECK(prev_err <= 1e-9 * o.B, "soft at alpha 1e6 differs from hard by %.3g", prev_err);
    // alpha -> 0: constant B/2 (the base policy)
    so.alpha = 1e-12;
    shape1(u, lw, 64, o, so, soft, &m);
    for (int i = 0; i < 64; i++) NEAR(soft[i], o.B / 2, 1e-9);
}

// ----------------------------------------------------------------------------
// batches: dtypes, threads, ragged rows, errors

TEST(f32_and_f64_inputs_agree) {
    // short rows (lanes), and long ones (the one-pass bracket path), every solver and preset
    static const int lens[] = {33, 100, 1500};
    uint64_t rng = 5;
    const int n_rows = 40;
    for (int li = 0; li < 3; li++) {
        int n = lens[li];
        float *uf = malloc(sizeof *uf * (size_t)(n_rows * n));
        double *ud = malloc(sizeof *ud * (size_t)(n_rows * n)), m32[40], m64[40];
        for (int i = 0; i < n_rows * n; i++) ud[i] = uf[i] = (float)(t_rand_normal(&rng) + (i / n) % 7);
        srs_batch_t b = t_dense(uf, SRS_F32, n_rows, n);
        for (int pr = 0; pr < 3; pr++)
            for (int sv = 0; sv < 3; sv++) {
                srs_threshold_opts_t o = srs_threshold_opts_default();
                o.preset = (srs_preset_t)pr;
                o.solver = (srs_solver_t)sv;
                o.B = 2;
                b.reward = (srs_vec_t){uf, SRS_F32};
                CHECK(srs_thresholds(t_ctx(), &b, &o, m32, NULL) == SRS_OK, "f32");
                b.reward = (srs_vec_t){ud, SRS_F64};
                CHECK(srs_thresholds(t_ctx(), &b, &o, m64, NULL) == SRS_OK, "f64");
                for (int i = 0; i < n_rows; i++)
                    CHECK(m32[i] == m64[i], "n %d preset %d solver %d row %d: %.17g vs %.17g", n, pr, sv, i,
                          m32[i], m64[i]);
            }
        free(uf);
        free(ud);
        BAIL_IF_FAILED();
    }
}

TEST(results_independent_of_threads_and_chunks) {
    uint64_t rng = 9;
    int n_rows = 3000;
    int64_t *off = malloc(sizeof *off * (n_rows + 1));
    off[0] = 0;
    for (int i = 0; i < n_rows; i++) off[i + 1] = off[i] + 1 + (int64_t)(t_rand_u01(&rng) * 200);
    double *u = malloc(sizeof *u * off[n_rows]), *lw = malloc(sizeof *lw * off[n_rows]);
    for (int64_t i = 0; i < off[n_rows]; i++) { u[i] = t_rand_normal(&rng); lw[i] = t_rand_normal(&rng); }
    double *a = malloc(sizeof *a * n_rows), *c = malloc(sizeof *c * n_rows);
    double *sa = malloc(sizeof *sa * off[n_rows]), *sc = malloc(sizeof *sc * off[n_rows]);
    srs_batch_t b;
    memset(&b, 0, sizeof b);
    b.n_prompts = n_rows;
    b.offsets = off;
    b.reward = (srs_vec_t){u, SRS_F64};
    b.logw = (srs_vec_t){lw, SRS_F64};
    srs_threshold_opts_t o = srs_threshold_opts_default();
    o.preset = SRS_PRESET_PAPER_CD;
    o.B = 15;
    o.beta = 0.667;
    srs_shape_opts_t so = srs_shape_opts_default();
    // Reference: the whole batch on one CPU thread; on another backend (CUDA,
    // whose sums run in another order) the whole batch on that backend: a
    // row's result must depend on the row only, never on its batch.
    srs_ctx_t *one = NULL;
    if (srs_ctx_device(t_ctx()) == SRS_DEVICE_CPU)
        CHECK(srs_ctx_create(&one, SRS_DEVICE_CPU, 1) == SRS_OK, "ctx");
    srs_ctx_t *ref = one ? one : t_ctx();
    // weighted rows, then uniform ones (rows over 64 samples take the one-pass bracket path)
    for (int s = 0; s < 6; s++) {
        o.solver = (srs_solver_t)(s % 3);
        if (s == 3) b.logw = (srs_vec_t){NULL, SRS_F64};
        CHECK(srs_shape(ref, &b, &o, &so, a, NULL, sa, SRS_F64) == SRS_OK, "whole batch");
        // the same rows in chunks of 7 prompts on the default thread count
        for (int i0 = 0; i0 < n_rows; i0 += 7) {
            srs_batch_t sub = b;
            sub.n_prompts = i0 + 7 <= n_rows ? 7 : n_rows - i0;
            sub.offsets = off + i0;
            sub.first_index = i0;
            CHECK(srs_shape(t_ctx(), &sub, &o, &so, c + i0, NULL, sc + off[i0], SRS_F64) == SRS_OK, "chunk");
        }
        CHECK(memcmp(a, c, sizeof *a * n_rows) == 0, "m* differs between the whole batch and chunks (%s, %s)",
              srs_solver_name(o.solver), b.logw.data ? "weighted" : "uniform");
        CHECK(memcmp(sa, sc, sizeof *sa * off[n_rows]) == 0, "shaped differs (%s, %s)", srs_solver_name(o.solver),
              b.logw.data ? "weighted" : "uniform");
    }
    srs_ctx_free(one);
    free(off); free(u); free(lw); free(a); free(c); free(sa); free(sc);
}

TEST(dense_short_rows_match_csr_chunks) {
    // Dense short rows (n <= 64) are solved in groups of eight straight from
    // the row index; the same rows as a CSR batch, in chunks of 7 prompts,
    // are grouped differently. m*, B_eff and the shaped rewards must be the
    // same to the bit, for float and double input, every preset, both
    // solvers that take that path, and a row count that leaves partial groups.
    static const int lens[] = {1, 5, 16, 40, 64};
    const int n_rows = 333;
    uint64_t rng = 17;
    for (int li = 0; li < 5; li++) {
        const int n = lens[li];
        const size_t ns = (size_t)n_rows * n;
        float *uf = malloc(sizeof *uf * ns);
        double *ud = malloc(sizeof *ud * ns), *sa = malloc(sizeof *sa * ns), *sc = malloc(sizeof *sc * ns);
        int64_t *off = malloc(sizeof *off * (n_rows + 1));
        double ma[333], mc[333], ba[333], bc[333];
        for (size_t i = 0; i < ns; i++) {
            int kind = (int)(i / n) % 5;   // rows of every kind but the tiny one
            fill_row(ud + i, 1, kind, &rng);
            uf[i] = (float)ud[i];
        }
        for (int i = 0; i <= n_rows; i++) off[i] = (int64_t)i * n;
        for (int f32 = 0; f32 < 2; f32++)
            for (int pr = 0; pr < 3; pr++)
                for (int sv = 1; sv < 3; sv++) {
                    srs_batch_t b = f32 ? t_dense(uf, SRS_F32, n_rows, n) : t_dense(ud, SRS_F64, n_rows, n);
                    srs_threshold_opts_t o = srs_threshold_opts_default();
                    o.preset = (srs_preset_t)pr;
                    o.solver = (srs_solver_t)sv;
                    o.B = 3;
                    srs_shape_opts_t so = srs_shape_opts_default();
                    so.design = SRS_DESIGN_SOFT;
                    CHECK(srs_shape(t_ctx(), &b, &o, &so, ma, ba, sa, SRS_F64) == SRS_OK, "dense");
                    for (int i0 = 0; i0 < n_rows; i0 += 7) {
                        srs_batch_t sub = b;
                        sub.n_prompts = i0 + 7 <= n_rows ? 7 : n_rows - i0;
                        sub.offsets = off + i0;
                        sub.first_index = i0;
                        CHECK(srs_shape(t_ctx(), &sub, &o, &so, mc + i0, bc + i0, sc + off[i0], SRS_F64) == SRS_OK,
                              "chunk");
                    }
                    CHECK(memcmp(ma, mc, sizeof ma) == 0 && memcmp(ba, bc, sizeof ba) == 0,
                          "n %d f32 %d preset %d solver %d: m* or B_eff differ", n, f32, pr, sv);
                    CHECK(memcmp(sa, sc, sizeof *sa * ns) == 0, "n %d f32 %d preset %d solver %d: shaped differ",
                          n, f32, pr, sv);
                    // and each row agrees with the oracle
                    for (int i = 0; i < n_rows; i++) {
                        double u[64] = {0};   // the row as the solver saw it
                        for (int j = 0; j < n; j++) u[j] = f32 ? (double)uf[(size_t)i * n + j] : ud[(size_t)i * n + j];
                        double mn = u[0], mx = u[0];
                        for (int j = 1; j < n; j++) { mn = fmin(mn, u[j]); mx = fmax(mx, u[j]); }
                        srs_preset_vals_t pv = srs_preset_eval(o.preset, o.B, o.beta, o.cap, mn, mx);
                        double ref = oracle_mstar(u, NULL, n, pv.lg);
                        CHECK(fabs(ma[i] - ref) <= 1e-12 * fmax(1.0, mx - mn), "n %d row %d: %.17g vs oracle %.17g",
                              n, i, ma[i], ref);
                    }
                    BAIL_IF_FAILED();
                }
        free(uf); free(ud); free(sa); free(sc); free(off);
    }
}

TEST(short_rows_grouped_with_other_lengths) {
    // CSR rows in blocks of eight, each block a group of the short-row
    // solver: equal lengths, one row shorter, lengths of other blocks. Every
    // row must get the bits it gets alone, whatever groups it shares a solve
    // with (a group of equal rows next to a ragged one once read masks it
    // had never set).
    uint64_t rng = 23;
    const int n_blocks = 160, n_rows = 8 * n_blocks;
    int64_t *off = malloc(sizeof *off * (n_rows + 1));
    off[0] = 0;
    for (int blk = 0; blk < n_blocks; blk++) {
        int kind = (int)(t_rand_u01(&rng) * 5);
        for (int l = 0; l < 8; l++) {
            int64_t len = kind == 0 ? 16 : kind == 1 ? 8 : kind == 2 ? (l == 3 ? 15 : 16)
                        : kind == 3 ? 64 : 1 + (int64_t)(t_rand_u01(&rng) * 64);
            off[8 * blk + l + 1] = off[8 * blk + l] + len;
        }
    }
    double *u = malloc(sizeof *u * (size_t)off[n_rows]);
    for (int64_t j = 0; j < off[n_rows]; j++) u[j] = t_rand_normal(&rng);
    double *a = malloc(sizeof *a * n_rows), *c = malloc(sizeof *c * n_rows);
    srs_batch_t b;
    memset(&b, 0, sizeof b);
    b.n_prompts = n_rows;
    b.offsets = off;
    b.reward = (srs_vec_t){u, SRS_F64};
    for (int sv = 1; sv < 3; sv++) {
        srs_threshold_opts_t o = srs_threshold_opts_default();
        o.preset = SRS_PRESET_PAPER_CD;
        o.B = 15;
        o.beta = 0.667;
        o.solver = (srs_solver_t)sv;
        CHECK(srs_thresholds(t_ctx(), &b, &o, a, NULL) == SRS_OK, "whole batch");
        for (int i = 0; i < n_rows; i++) {
            srs_batch_t one = b;
            one.n_prompts = 1;
            one.offsets = off + i;
            CHECK(srs_thresholds(t_ctx(), &one, &o, c + i, NULL) == SRS_OK, "row %d", i);
        }
        int diff = 0;
        for (int i = 0; i < n_rows; i++) diff += memcmp(&a[i], &c[i], sizeof a[i]) != 0;
        CHECK(diff == 0, "%s: %d of %d rows differ from the same row solved alone", srs_solver_name(o.solver),
              diff, n_rows);
    }
    free(off); free(u); free(a); free(c);
}

TEST(dense_short_rows_bad_values) {
    // In dense short rows, a NaN or an infinity is found wherever it sits,
    // and the first bad row is the one reported; a row whose sum overflows
    // from finite values is not bad.
    const int n_rows = 1000, n = 16;
    float *u = malloc(sizeof *u * n_rows * n);
    double *m = malloc(sizeof *m * n_rows);
    uint64_t rng = 3;
    for (int i = 0; i < n_rows * n; i++) u[i] = (float)t_rand_normal(&rng);
    srs_batch_t b = t_dense(u, SRS_F32, n_rows, n);
    srs_threshold_opts_t o = srs_threshold_opts_default();
    o.solver = SRS_SOLVER_DINKELBACH;
    static const float bad[] = {NAN, INFINITY, -INFINITY};
    static const int where[] = {0, 5, 15};
    for (int k = 0; k < 6; k++)   // the lane solvers (dinkelbach), then bisection's lanes
        for (int w = 0; w < 3; w++) {
            o.solver = k < 3 ? SRS_SOLVER_DINKELBACH : SRS_SOLVER_BISECT;
            u[517 * n + where[w]] = bad[k % 3];
            u[901 * n + 3] = NAN;   // a later bad row must not win
            CHECK(srs_thresholds(t_ctx(), &b, &o, m, NULL) == SRS_ERR_BAD_INPUT, "bad value %g accepted (%s)",
                  bad[k % 3], srs_solver_name(o.solver));
            CHECK(srs_ctx_error_row(t_ctx()) == 517, "error row %lld", (long long)srs_ctx_error_row(t_ctx()));
            char want[64];
            snprintf(want, sizeof want, "row 517, sample %d", where[w]);
            CHECK(strstr(srs_ctx_last_error(t_ctx()), want) != NULL, "message: %s", srs_ctx_last_error(t_ctx()));
            u[517 * n + where[w]] = 0.5f;
            u[901 * n + 3] = 0.5f;
        }
    o.solver = SRS_SOLVER_DINKELBACH;
    // rows of huge equal values: d = 0, nothing to overflow, m* = u
    for (int j = 0; j < n; j++) u[200 * n + j] = 3e38f;
    CHECK(srs_thresholds(t_ctx(), &b, &o, m, NULL) == SRS_OK, "%s", srs_ctx_last_error(t_ctx()));
    CHECK(m[200] == (double)3e38f, "equal row: m* = %.17g", m[200]);
    double *ud = malloc(sizeof *ud * n_rows * n);
    for (int i = 0; i < n_rows * n; i++) ud[i] = u[i];
    for (int j = 0; j < n; j++) ud[300 * n + j] = 1e307;
    b.reward = (srs_vec_t){ud, SRS_F64};
    CHECK(srs_thresholds(t_ctx(), &b, &o, m, NULL) == SRS_OK, "%s", srs_ctx_last_error(t_ctx()));
    CHECK(m[300] == 1e307, "equal row: m* = %.17g", m[300]);
    CHECK(m[200] == (double)3e38f, "equal row: m* = %.17g", m[200]);
    free(u); free(ud); free(m);
}

TEST(too_wide_rows_are_reported) {
    // A row whose sums would overflow double (its length times the largest
    // |u - u_0| beyond DBL_MAX, though every value and the range are finite)
    // is reported as bad input on every path: dense short rows (both lane
    // solvers), long rows (the bracket path), weighted rows and bisection.
    // A wide row that fits is solved.
    static const int lens[] = {16, 100};
    uint64_t rng = 31;
    const int n_rows = 20;
    for (int li = 0; li < 2; li++) {
        const int n = lens[li];
        double *u = malloc(sizeof *u * n_rows * n), *lw = malloc(sizeof *lw * n_rows * n), m[20];
        int64_t off[21];
        for (int i = 0; i <= n_rows; i++) off[i] = (int64_t)i * n;
        for (int i = 0; i < n_rows * n; i++) { u[i] = t_rand_normal(&rng); lw[i] = t_rand_normal(&rng); }
        // row 5: -1e300 then +1e300: wide, n * 2e300 fits
        u[5 * n] = -1e300;
        for (int j = 1; j < n; j++) u[5 * n + j] = (j % 3 ? 1e300 : -1e300);
        // row 7: -8e307 then +8e307: range 1.6e308 fits, the sums do not
        u[7 * n] = -8e307;
        for (int j = 1; j < n; j++) u[7 * n + j] = 8e307;
        for (int cfg = 0; cfg < 5; cfg++) {
            srs_batch_t b = t_dense(u, SRS_F64, n_rows, n);
            srs_threshold_opts_t o = srs_threshold_opts_default();
            o.solver = cfg == 1 ? SRS_SOLVER_EXACT : cfg == 2 ? SRS_SOLVER_BISECT : SRS_SOLVER_DINKELBACH;
            if (cfg >= 3) {
                b.offsets = off;   // CSR, with base weights
                b.logw = (srs_vec_t){lw, SRS_F64};
                o.solver = cfg == 3 ? SRS_SOLVER_DINKELBACH : SRS_SOLVER_EXACT;
            }
            CHECK(srs_thresholds(t_ctx(), &b, &o, m, NULL) == SRS_ERR_BAD_INPUT, "n %d cfg %d: too wide accepted",
                  n, cfg);
            CHECK(srs_ctx_error_row(t_ctx()) == 7, "n %d cfg %d: error row %lld", n, cfg,
                  (long long)srs_ctx_error_row(t_ctx()));
            CHECK(strstr(srs_ctx_last_error(t_ctx()), "too large for double precision") != NULL,
                  "n %d cfg %d: message: %s", n, cfg, srs_ctx_last_error(t_ctx()));
            // without row 7 the batch solves, the wide row 5 within its range
            b.n_prompts = 7;
            CHECK(srs_thresholds(t_ctx(), &b, &o, m, NULL) == SRS_OK, "n %d cfg %d: %s", n, cfg,
                  srs_ctx_last_error(t_ctx()));
            CHECK(m[5] >= -1e300 && m[5] <= 1e300 && m[5] > -1e300, "n %d cfg %d: wide row m* = %g", n, cfg, m[5]);
        }
        free(u);
        free(lw);
    }
}

TEST(bad_values_are_reported_by_row) {
    double u[6] = {1, 2, 3, 4, 5, 6};
    int64_t off[4] = {0, 2, 4, 6};
    srs_batch_t b;
    memset(&b, 0, sizeof b);
    b.n_prompts = 3;
    b.offsets = off;
    b.first_index = 100;
    b.reward = (srs_vec_t){u, SRS_F64};
    srs_threshold_opts_t o = srs_threshold_opts_default();
    double m[3];
    srs_ctx_t *ctx = t_ctx();
    u[3] = NAN;
    CHECK(srs_thresholds(ctx, &b, &o, m, NULL) == SRS_ERR_BAD_INPUT, "NaN accepted");
    CHECK(srs_ctx_error_row(ctx) == 101, "error row %lld", (long long)srs_ctx_error_row(ctx));
    CHECK(strstr(srs_ctx_last_error(ctx), "row 101, sample 1") != NULL, "message: %s", srs_ctx_last_error(ctx));
    u[3] = 4;
    u[5] = -INFINITY;
    u[0] = INFINITY;
    CHECK(srs_thresholds(ctx, &b, &o, m, NULL) == SRS_ERR_BAD_INPUT, "inf accepted");
    CHECK(srs_ctx_error_row(ctx) == 100, "first bad row should be reported, got %lld",
          (long long)srs_ctx_error_row(ctx));
    u[0] = 1;
    u[5] = 6;
    off[1] = 0;  // row 0 empty
    CHECK(srs_thresholds(ctx, &b, &o, m, NULL) == SRS_ERR_BAD_INPUT, "empty row accepted");
    CHECK(strstr(srs_ctx_last_error(ctx), "empty") != NULL, "message: %s", srs_ctx_last_error(ctx));
    off[1] = 2;
    double lw[6] = {0, 0, 0, NAN, 0, 0};
    b.logw = (srs_vec_t){lw, SRS_F64};
    CHECK(srs_thresholds(ctx, &b, &o, m, NULL) == SRS_ERR_BAD_INPUT, "NaN logw accepted");
    CHECK(strstr(srs_ctx_last_error(ctx), "logw") != NULL, "message: %s", srs_ctx_last_error(ctx));
    b.logw.data = NULL;
    CHECK(srs_thresholds(ctx, &b, &o, m, NULL) == SRS_OK, "clean batch: %s", srs_ctx_last_error(ctx));
    // absurd parameters
    o.beta = 0;
    CHECK(srs_thresholds(ctx, &b, &o, m, NULL) == SRS_ERR_INVALID_ARG, "beta 0 accepted");
    o.beta = 1;
    o.B = -1;
    CHECK(srs_thresholds(ctx, &b, &o, m, NULL) == SRS_ERR_INVALID_ARG, "B < 0 accepted");
    o.B = NAN;
    CHECK(srs_thresholds(ctx, &b, &o, m, NULL) == SRS_ERR_INVALID_ARG, "B NaN accepted");
    o.B = 1;
    o.solver = (srs_solver_t)17;
    CHECK(srs_thresholds(ctx, &b, &o, m, NULL) == SRS_ERR_INVALID_ARG, "solver 17 accepted");
}

TEST(cuda_device_fails_clearly_without_backend) {
    // Asking for CUDA where it cannot run (not compiled in, or no device) is
    // an error with a message, never a silent fallback; auto falls back.
    srs_ctx_t *c = NULL;
    srs_status_t st = srs_ctx_create(&c, SRS_DEVICE_CUDA, 0);
    if (st == SRS_OK) {
        srs_ctx_free(c);
        SKIP("a CUDA device is present: the CUDA tests cover it");
    }
    CHECK(st == SRS_ERR_UNSUPPORTED && c == NULL, "status %d", st);
    const char *want = srs_cuda_compiled() ? "no CUDA device" : "not compiled in";
    CHECK(strstr(srs_last_create_error(), want) != NULL, "message lacks '%s': %s", want, srs_last_create_error());
    CHECK(srs_ctx_create(&c, SRS_DEVICE_AUTO, 0) == SRS_OK && srs_ctx_device(c) == SRS_DEVICE_CPU, "auto");
    srs_ctx_free(c);
}

TEST(philox_known_answer) {
    // Known-answer vectors of Philox4x32-10 from the Random123 distribution
    // (kat_vectors): counter/key all zero, and all ones.
    srs_u32x4_t z = {{0, 0, 0, 0}};
    srs_u32x4_t r = srs_philox4x32_10(z, 0, 0);
    CHECK(r.v[0] == 0x6627e8d5u && r.v[1] == 0xe169c58du && r.v[2] == 0xbc57ac4cu && r.v[3] == 0x9b00dbd8u,
          "zero: %08x %08x %08x %08x", r.v[0], r.v[1], r.v[2], r.v[3]);
    srs_u32x4_t f = {{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}};
    r = srs_philox4x32_10(f, 0xffffffffu, 0xffffffffu);
    CHECK(r.v[0] == 0x408f276du && r.v[1] == 0x41c83b0eu && r.v[2] == 0xa20bc7c6u && r.v[3] == 0x6d5451fdu,
          "ones: %08x %08x %08x %08x", r.v[0], r.v[1], r.v[2], r.v[3]);
}

// A bounded solver that stops before the root fails the call naming the row;
// one that converged within the bound gives the exact solver's m*.
TEST(bounded_solvers_report_non_convergence) {
    enum { ROWS = 300, N = 24 };
    static double u[ROWS * N], lw[ROWS * N];
    uint64_t st = 11;
    for (int k = 0; k < ROWS * N; k++) {
        u[k] = t_rand_normal(&st);
        lw[k] = 0.5 * t_rand_normal(&st);
    }
    for (int k = 0; k < N; k++) u[7 * N + k] = k < 12 ? 0.0 : 1.0;  // a row made of two values
    srs_batch_t b = t_dense(u, SRS_F64, ROWS, N);
    b.first_index = 1000;
    static double m_ref[ROWS], m[ROWS], be[ROWS];
    srs_threshold_opts_t o = srs_threshold_opts_default();
    o.preset = SRS_PRESET_PAPER_CD;
    o.B = 15;
    o.beta = 0.667;
    for (int w = 0; w < 2; w++) {
        b.logw = w ? (srs_vec_t){lw, SRS_F64} : (srs_vec_t){NULL, SRS_F64};
        o.solver = SRS_SOLVER_EXACT;
        o.max_iter = 0;
        CHECK(srs_thresholds(t_ctx(), &b, &o, m_ref, be) == SRS_OK, "exact: %s", srs_ctx_last_error(t_ctx()));
        o.solver = SRS_SOLVER_BISECT;
        o.max_iter = 1;
        srs_status_t s = srs_thresholds(t_ctx(), &b, &o, m, be);
        CHECK(s == SRS_ERR_INVALID_ARG && srs_ctx_error_row(t_ctx()) == 1000 &&
                  strstr(srs_ctx_last_error(t_ctx()), "did not converge within max_iter 1") &&
                  strstr(srs_ctx_last_error(t_ctx()), "300 rows"),
              "bisect 1: %s (row %lld)", srs_ctx_last_error(t_ctx()), (long long)srs_ctx_error_row(t_ctx()));
        // m_star not asked for: still checked
        static double sh[ROWS * N];
        srs_shape_opts_t so = srs_shape_opts_default();
        CHECK(srs_shape(t_ctx(), &b, &o, &so, NULL, NULL, sh, SRS_F64) == SRS_ERR_INVALID_ARG, "shape bisect 1");
        CHECK(srs_thresholds(t_ctx(), &b, &o, NULL, be) == SRS_ERR_INVALID_ARG, "thresholds without m_star");
        o.max_iter = 45;  // 2^-45 < 1e-12 x max(1, range): converged
        o.tol = 1e-12;
        CHECK(srs_thresholds(t_ctx(), &b, &o, m, be) == SRS_OK, "bisect 45: %s", srs_ctx_last_error(t_ctx()));
        double worst = 0;
        for (int i = 0; i < ROWS; i++) worst = fmax(worst, fabs(m[i] - m_ref[i]));
        CHECK(worst < 1e-11, "bisect 45 vs exact: %g", worst);
        o.solver = SRS_SOLVER_DINKELBACH;
        o.max_iter = 1;
        CHECK(srs_thresholds(t_ctx(), &b, &o, m, be) == SRS_ERR_INVALID_ARG, "dinkelbach 1 accepted");
        o.max_iter = 20;  // a few passes suffice; the bound is well below n + 2 = 26
        CHECK(srs_thresholds(t_ctx(), &b, &o, m, be) == SRS_OK, "dinkelbach 20: %s", srs_ctx_last_error(t_ctx()));
        for (int i = 0; i < ROWS; i++) CHECK(fabs(m[i] - m_ref[i]) < 1e-12, "dinkelbach row %d: %.17g vs %.17g", i, m[i], m_ref[i]);
        BAIL_IF_FAILED();
    }
}

// m* of one weighted row (exact preset, B, beta) by each solver, checked
// against the root: within 1e-9 of it times the range (bisection's tolerance
// is 1e-12 of it) for all three.
static void weighted_row_root(const double *u, const double *lw, int len, double B, double beta, double root) {
    double lo = u[0], hi = u[0];
    for (int j = 1; j < len; j++) {
        lo = u[j] < lo ? u[j] : lo;
        hi = u[j] > hi ? u[j] : hi;
    }
    const double tol = 1e-9 * (hi - lo > 1 ? hi - lo : 1);
    srs_batch_t b = {0};
    b.n_prompts = 1;
    b.row_len = len;
    b.reward = (srs_vec_t){u, SRS_F64};
    b.logw = (srs_vec_t){lw, SRS_F64};
    srs_threshold_opts_t o = srs_threshold_opts_default();
    o.B = B;
    o.beta = beta;
    for (int s = 0; s < 3; s++) {
        o.solver = (srs_solver_t)s;
        double m = 0;
        CHECK(srs_thresholds(t_ctx(), &b, &o, &m, NULL) == SRS_OK, "%s", srs_ctx_last_error(t_ctx()));
        CHECK(fabs(m - root) <= tol, "n=%d %s: m* %.17g, the root is %.17g", len, srs_solver_name((srs_solver_t)s),
              m, root);
    }
}

// Weighted rows whose samples above the root weigh ~1e-58 of the rest (base
// log-weights 130 apart) with gamma = e^450: F at the lowest active sample is
// a sum of 1e-58-sized terms, lost when formed from the set's sums, and exact
// and Dinkelbach returned the sample below the root (m* -3.0036 for a root at
// -1.2021; found by the CSV fuzzer). Short rows (lanes) and long rows (the
// general path); the root is u_0 to double precision.
TEST(weighted_rows_far_apart_logw_huge_gamma) {
    const double u3[3] = {-1.2020673751296589, -3.003632899386879, -66.52769552906808};
    const double l3[3] = {-134.4351435195083, -2.7550358186537043, -0.43233447732743846};
    enum { N = 100 };
    for (int len = 3; len <= N; len += N - 3) {
        double u[N], lw[N];
        for (int j = 0; j < len; j++) {
            // the long row: the three samples, then more below the root with ordinary weights
            u[j] = j < 3 ? u3[j] : -70.0 - j;
            lw[j] = j < 3 ? l3[j] : -1.0;
        }
        weighted_row_root(u, lw, len, 300, 0.667, u3[0]);
    }
    // the solvers' set is all three samples (m* the lowest); the root is at the
    // highest, two sets up: the check goes on by Dinkelbach steps
    const double u[3] = {-1.4736907104579826, -0.15379245288523014, -2.076672384966492};
    const double lw[3] = {-1.78800263454328, 0.48529696681234036, 94};
    weighted_row_root(u, lw, 3, 15, 0.05, u[1]);
}

// F is 0 on a whole interval when the weights above it underflow (here a
// log-weight of -1.7e12 and gamma = e^6000, so eps = 0): bisection returned
// the midpoint of that interval (-1.466) as a root; the root is its lower end,
// the one positively weighted sample (-2.059), where exact and Dinkelbach put
// it (found by the CSV fuzzer). Short row (lanes) and long row (scalar).
TEST(bisection_where_f_is_zero_on_an_interval) {
    enum { N = 80 };
    for (int len = 2; len <= N; len += N - 2) {
        double u[N], lw[N];
        for (int j = 0; j < len; j++) {
            u[j] = j == 0 ? -2.05924327 : -0.8723162430245406 + 1e-3 * j;
            lw[j] = j == 0 ? -1.39479997983 : -1691884817108.0;
        }
        weighted_row_root(u, lw, len, 300, 0.05, u[0]);
    }
    // a weight that underflows to 0 above the root with eps = 0: a set of no
    // weight has no value (0/0); Dinkelbach returned NaN (long row) and the
    // minimum (short row), exact the weightless sample (found by the fuzzer)
    const double u5[5] = {-1.9734788127426901, -0.4786883443659413, -1.0796955683729825, -417014.09081738312,
                          -1.8839141795360486};
    const double l5[5] = {0.9648647773054155, -12136.91884817108, -0.8119660674131002, -0.61238853714,
                          -0.5892176225761185};
    double u[N], lw[N];
    for (int len = 5; len <= N; len += N - 5) {
        for (int j = 0; j < len; j++) {
            u[j] = j < 5 ? u5[j] : -1.95 - 1e-3 * j;
            lw[j] = j < 5 ? l5[j] : 0.1;
        }
        weighted_row_root(u, lw, len, 300, 0.05, u5[2]);
    }
}
