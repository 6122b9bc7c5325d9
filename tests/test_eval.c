// test_eval.c — alignment evaluation: hand-computable cases, constant rewards,
// best-of-n against brute-force enumeration, bootstrap coverage, chunk and
// thread invariance, config files, the command line, and an independent NumPy
// computation on the shared GSM8K data.
#include <float.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "config.h"
#include "internal.h"
#include "srs_math.h"
#include "test.h"

#define ARGV(...) ((const char *const[]){__VA_ARGS__, NULL})

static srs_eval_arm_t arm_design(srs_design_t d, double alpha) {
    srs_eval_arm_t a;
    memset(&a, 0, sizeof a);
    a.kind = SRS_ARM_DESIGN;
    a.design = d;
    a.alpha = alpha;
    return a;
}

static srs_eval_arm_t arm_kind(srs_arm_kind_t k, int64_t n) {
    srs_eval_arm_t a;
    memset(&a, 0, sizeof a);
    a.kind = k;
    a.n = n;
    return a;
}

// Evaluates a batch; returns 1 on success.
static int run_eval(const srs_batch_t *b, const srs_eval_opts_t *o, srs_eval_result_t *r) {
    srs_status_t st = srs_eval(t_ctx(), b, o, r);
    CHECK(st == SRS_OK, "srs_eval: %s", srs_ctx_last_error(t_ctx()));
    return st == SRS_OK;
}

static double cell(const srs_eval_result_t *r, int bi, int ai, srs_metric_t m) {
    return srs_eval_cell(r, bi, ai, m)->mean;
}

// ----------------------------------------------------------------------------
// the vectorisable exp and log of srs_math.h against libm

static double ulps(double a, double b) {
    if (a == b) return 0;
    double u = nextafter(fabs(b), INFINITY) - fabs(b);
    return fabs(a - b) / u;
}

TEST(exp_log_match_libm) {
    uint64_t rng = 5;
    double we = 0, wl = 0, ws = 0;
    const int N = t_quick() ? 200000 : 2000000;
    for (int i = 0; i < N; i++) {
        double x = -745 + 1454 * t_rand_u01(&rng);             // the whole finite range of exp
        double y = exp(-744 + 1453 * t_rand_u01(&rng)) * (1 + t_rand_u01(&rng));
        double e = exp(x);
        if (e >= DBL_MIN) we = fmax(we, ulps(srs_exp(x), e));
        else ws = fmax(ws, fabs(srs_exp(x) - e) / 4.9406564584124654e-324);  // subnormal results
        wl = fmax(wl, ulps(srs_log(y), log(y)));
    }
    CHECK(we <= 1, "exp: %.3g ulp", we);
    CHECK(ws <= 1, "exp, subnormal results: %.3g units of the least subnormal", ws);
    CHECK(wl <= 2, "log: %.3g ulp", wl);
    const double xs[] = {0, -0.0, 1, -1, 1e-300, 709.78, -745.13, -744.44};
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++)
        CHECK(ulps(srs_exp(xs[i]), exp(xs[i])) <= 1, "exp(%g) = %.17g, libm %.17g", xs[i], srs_exp(xs[i]), exp(xs[i]));
    CHECK(srs_exp(-746) == 0 && srs_exp(-1e300) == 0 && srs_exp(-INFINITY) == 0, "exp underflow");
    CHECK(isinf(srs_exp(710)) && isinf(srs_exp(1e300)) && isinf(srs_exp(INFINITY)), "exp overflow");
    const double ys[] = {1, 2, 0.5, 4.9406564584124654e-324, 1e-310, DBL_MIN, DBL_MAX, 1 + 1e-15, 1 - 1e-16};
    for (size_t i = 0; i < sizeof ys / sizeof ys[0]; i++)
        CHECK(ulps(srs_log(ys[i]), log(ys[i])) <= 2, "log(%g) = %.17g, libm %.17g", ys[i], srs_log(ys[i]), log(ys[i]));
    CHECK(srs_log(1) == 0, "log 1 = %g", srs_log(1));
}

// srs_exp takes NaN and infinities (its clamp once sent NaN on to a float to
// integer conversion, undefined behaviour); minmax divides before it
// multiplies when the product would overflow or underflow, and keeps its
// bits where it does not.
TEST(exp_nan_inf_and_minmax_extremes) {
    volatile double nan_ = NAN;
    CHECK(isnan(srs_exp(nan_)) && isnan(srs_exp(-nan_)), "exp(NaN) = %g", srs_exp(nan_));
    double xs[8] = {NAN, 0, -INFINITY, INFINITY, 1, NAN, -800, 800}, ys[8];
#pragma omp simd
    for (int i = 0; i < 8; i++) ys[i] = srs_exp(xs[i]);  // the vectorised form too
    CHECK(isnan(ys[0]) && ys[1] == 1 && ys[2] == 0 && isinf(ys[3]) && isnan(ys[5]) && ys[6] == 0 && isinf(ys[7]),
          "vector exp: %g %g %g %g %g %g", ys[0], ys[1], ys[2], ys[3], ys[5], ys[6]);
    // u = {0, 1e300, 5e299}, B = 1e300: B (u - min) overflows before / range
    srs_row_stats_t st = {0, 1e300, 0, 0, 0, 0};
    CHECK(srs_shape_value(SRS_DESIGN_MINMAX, 0, &st, 1e300, 1, 1) == 0, "minmax(min)");
    NEAR(srs_shape_value(SRS_DESIGN_MINMAX, 1e300, &st, 1e300, 1, 1) / 1e300, 1, 1e-15);
    NEAR(srs_shape_value(SRS_DESIGN_MINMAX, 5e299, &st, 1e300, 1, 1) / 5e299, 1, 1e-15);
    // a tiny range: B_eff (u - min) underflows to 0
    srs_row_stats_t tiny = {0, 1e-300, 0, 0, 0, 0};
    NEAR(srs_shape_value(SRS_DESIGN_MINMAX, 5e-301, &tiny, 1, 1, 1) / 5.05e-301, 1, 1e-14);
    // ordinary values: the same bits as B_eff (u - min) / range
    uint64_t rng = 11;
    for (int i = 0; i < 1000; i++) {
        double lo = 10 * t_rand_normal(&rng), r = exp(5 * t_rand_normal(&rng)), u = lo + r * t_rand_u01(&rng);
        double B = exp(3 * t_rand_normal(&rng));
        srs_row_stats_t q = {lo, lo + r, 0, 0, 0, 0};
        double want = srs_min(B, 1.01 * (q.umax - q.umin)) * (u - lo) / (q.umax - q.umin);
        double got = srs_shape_value(SRS_DESIGN_MINMAX, u, &q, B, 1, 1);
        CHECK(memcmp(&want, &got, sizeof want) == 0, "minmax(%.17g; %.17g, %.17g; B %.17g) = %.17g, want %.17g", u,
              q.umin, q.umax, B, got, want);
        if (t_failed_now()) break;
    }
    // the evaluation of that row: finite metrics, the follower on the largest reward
    double u[3] = {0, 1e300, 5e299};
    int64_t off[2] = {0, 3};
    srs_batch_t b;
    memset(&b, 0, sizeof b);
    b.n_prompts = 1;
    b.offsets = off;
    b.reward = (srs_vec_t){u, SRS_F64};
    srs_eval_arm_t arms[] = {arm_design(SRS_DESIGN_MINMAX, 1)};
    double betas[] = {4, 1e-3};
    srs_eval_opts_t o = srs_eval_opts_default();
    o.arms = arms;
    o.n_arms = 1;
    o.betas = betas;
    o.n_betas = 2;
    o.to.B = 1e300;
    o.replicates = 5;
    srs_eval_result_t r;
    if (!run_eval(&b, &o, &r)) return;
    for (int bi = 0; bi < 2; bi++) {
        for (int m = 0; m < SRS_MET_COUNT_; m++)  // gold: NaN, there is none
            CHECK(m == SRS_MET_GOLD || isfinite(cell(&r, bi, 0, (srs_metric_t)m)), "beta %g: %s = %g", betas[bi],
                  srs_metric_name((srs_metric_t)m), cell(&r, bi, 0, (srs_metric_t)m));
        NEAR(cell(&r, bi, 0, SRS_MET_PROXY) / 1e300, 1, 1e-15);
        NEAR(cell(&r, bi, 0, SRS_MET_ESS), 1, 1e-15);
        NEAR(cell(&r, bi, 0, SRS_MET_KL), log(3), 1e-15);
    }
    srs_eval_result_free(&r);
}

// Base log-weights far apart: every pn e^(s/beta) underflows when the base
// puts its mass on one sample and the reward on another. The follower's law
// is then p e^(s/beta) / Z computed in the log domain: finite metrics equal
// to the closed form (issue 13: logw [0, 800] gave NaN proxy, ESS and
// win-tie; [0, 700] a NaN ESS).
TEST(eval_base_logw_far_apart) {
    double u[2] = {14, 2}, lw[2] = {0, 800};
    int64_t off[2] = {0, 2};
    srs_batch_t b;
    memset(&b, 0, sizeof b);
    b.n_prompts = 1;
    b.offsets = off;
    b.reward = (srs_vec_t){u, SRS_F64};
    b.logw = (srs_vec_t){lw, SRS_F64};
    srs_eval_arm_t arms[] = {arm_kind(SRS_ARM_BASE, 0), arm_design(SRS_DESIGN_RAW, 1), arm_design(SRS_DESIGN_SOFT, 1),
                             arm_design(SRS_DESIGN_MINMAX, 1), arm_kind(SRS_ARM_BEST_OF_N, 4)};
    double betas[] = {0.01, 1, 0.001};
    srs_eval_opts_t o = srs_eval_opts_default();
    o.arms = arms;
    o.n_arms = 5;
    o.betas = betas;
    o.n_betas = 3;
    o.to.preset = SRS_PRESET_PAPER_CD;
    o.to.B = 15;
    o.replicates = 5;
    const double gaps[] = {800, 700, 300, 1e4};
    for (int gi = 0; gi < 4; gi++) {
        lw[1] = gaps[gi];
        srs_eval_result_t r;
        if (!run_eval(&b, &o, &r)) return;
        for (int bi = 0; bi < 3; bi++)
            for (int ai = 0; ai < 5; ai++)
                for (int m = 0; m < SRS_MET_COUNT_; m++)  // gold: NaN, there is none
                    CHECK(m == SRS_MET_GOLD || isfinite(cell(&r, bi, ai, (srs_metric_t)m)), "logw gap %g, beta %g, arm %d: %s = %g",
                          gaps[gi], betas[bi], ai, srs_metric_name((srs_metric_t)m), cell(&r, bi, ai, (srs_metric_t)m));
        // raw: log q ∝ logw + u / beta; in long double as the reference
        for (int bi = 0; bi < 3; bi++) {
            long double a0 = lw[0] + u[0] / betas[bi], a1 = lw[1] + u[1] / betas[bi], mx = a0 > a1 ? a0 : a1;
            long double e0 = expl(a0 - mx), e1 = expl(a1 - mx), q0 = e0 / (e0 + e1), q1 = e1 / (e0 + e1);
            long double l0 = lw[0] > lw[1] ? lw[0] : lw[1];
            long double z = expl(lw[0] - l0) + expl(lw[1] - l0);
            long double lp0 = lw[0] - l0 - logl(z), lp1 = lw[1] - l0 - logl(z);
            long double kl = (q0 > 0 ? q0 * (logl(q0) - lp0) : 0) + (q1 > 0 ? q1 * (logl(q1) - lp1) : 0);
            double tol = 1e-12 * (1 + fabs((double)kl));
            NEAR(cell(&r, bi, 1, SRS_MET_PROXY), (double)(q0 * 14 + q1 * 2), 1e-12);
            NEAR(cell(&r, bi, 1, SRS_MET_KL), (double)kl, tol);
            NEAR(cell(&r, bi, 1, SRS_MET_ESS), (double)(1 / (q0 * q0 + q1 * q1)), 1e-12);
            // win-tie against the base (key u): sample 0 beats or ties both, sample 1 only itself
            long double p1 = expl(lp1);
            NEAR(cell(&r, bi, 1, SRS_MET_WIN_TIE), (double)(q0 + q1 * p1), 1e-12);
            // the base against raw: P(base sample >= raw sample)
            NEAR(cell(&r, bi, 0, SRS_MET_WIN_TIE_RAW), (double)((1 - p1) + p1 * q1), 1e-12);
        }
        srs_eval_result_free(&r);
        BAIL_IF_FAILED();
    }
}

// ----------------------------------------------------------------------------
// hand-computable cases

// The paper's motivating example: two outputs with utilities 1 and 2 and base
// probabilities 0.9 and 0.1; gold = u.
TEST(eval_two_point_by_hand) {
    double u[2] = {1, 2}, lw[2] = {log(0.9), log(0.1)};
    int64_t off[2] = {0, 2};
    srs_batch_t b;
    memset(&b, 0, sizeof b);
    b.n_prompts = 1;
    b.offsets = off;
    b.reward = (srs_vec_t){u, SRS_F64};
    b.gold = (srs_vec_t){u, SRS_F64};
    b.logw = (srs_vec_t){lw, SRS_F64};
    srs_eval_arm_t arms[] = {arm_kind(SRS_ARM_BASE, 0), arm_design(SRS_DESIGN_RAW, 1),
                             arm_design(SRS_DESIGN_HARD, 1), arm_kind(SRS_ARM_BEST_OF_N, 3)};
    double betas[] = {1.0, 0.5};
    srs_eval_opts_t o = srs_eval_opts_default();
    o.arms = arms;
    o.n_arms = 4;
    o.betas = betas;
    o.n_betas = 2;
    o.to.B = 2;  // exact preset: gamma = exp(2/beta)
    o.replicates = 20;
    srs_eval_result_t r;
    if (!run_eval(&b, &o, &r)) return;
    for (int bi = 0; bi < 2; bi++) {
        double beta = betas[bi];
        // raw: q ∝ (0.9 e^{1/beta}, 0.1 e^{2/beta})
        double a = 0.9 * exp(1 / beta), c = 0.1 * exp(2 / beta), q1 = a / (a + c), q2 = c / (a + c);
        NEAR(cell(&r, bi, 1, SRS_MET_PROXY), q1 * 1 + q2 * 2, 1e-14);
        NEAR(cell(&r, bi, 1, SRS_MET_GOLD), q1 * 1 + q2 * 2, 1e-14);
        NEAR(cell(&r, bi, 1, SRS_MET_KL), q1 * log(q1 / 0.9) + q2 * log(q2 / 0.1), 1e-14);
        NEAR(cell(&r, bi, 1, SRS_MET_ESS), 1 / (q1 * q1 + q2 * q2), 1e-12);
        // win-tie vs base: q1 beats-or-ties only sample 1 (0.9), q2 beats both
        NEAR(cell(&r, bi, 1, SRS_MET_WIN_TIE), q1 * 0.9 + q2 * 1.0, 1e-14);
        NEAR(cell(&r, bi, 1, SRS_MET_WIN), q2 * 0.9, 1e-14);
        // hard: the threshold lies in (1, 2], only u = 2 rewarded with B = 2:
        // q2 = 0.1 gamma / (0.1 gamma + 0.9), utility (0.9 + 0.2 gamma) / (0.9 + 0.1 gamma)
        double g = exp(2 / beta), h2 = 0.1 * g / (0.1 * g + 0.9);
        NEAR(cell(&r, bi, 2, SRS_MET_PROXY), (0.9 + 0.2 * g) / (0.9 + 0.1 * g), 1e-13);
        // against raw: P(hard sample >= raw sample) = (1-h2) q1 + h2
        NEAR(cell(&r, bi, 2, SRS_MET_WIN_TIE_RAW), (1 - h2) * q1 + h2, 1e-13);
        NEAR(cell(&r, bi, 2, SRS_MET_WIN_RAW), h2 * q1, 1e-13);
        // base: KL 0, ESS 1 / (0.81 + 0.01), proxy 1.1
        NEAR(cell(&r, bi, 0, SRS_MET_PROXY), 1.1, 1e-15);
        NEAR(cell(&r, bi, 0, SRS_MET_KL), 0, 0);
        NEAR(cell(&r, bi, 0, SRS_MET_ESS), 1 / 0.82, 1e-12);
        // best-of-3: the max is 2 unless all three draws are 1
        double b1 = pow(0.9, 3), b2 = 1 - b1;
        NEAR(cell(&r, bi, 3, SRS_MET_PROXY), b1 + 2 * b2, 1e-14);
        NEAR(cell(&r, bi, 3, SRS_MET_KL), b1 * log(b1 / 0.9) + b2 * log(b2 / 0.1), 1e-13);
    }
    // one prompt: every interval is the point (all replicates that drew it agree)
    const srs_est_t *e = srs_eval_cell(&r, 0, 1, SRS_MET_PROXY);
    NEAR(e->lo, e->mean, 1e-15);
    NEAR(e->hi, e->mean, 1e-15);
    srs_eval_result_free(&r);
}

TEST(eval_constant_reward_kl0_ess_n) {
    // every design is constant on all-equal rows; base is constant everywhere
    enum { P = 5, N = 7 };
    double u[P * N], g[P * N];
    uint64_t rng = 3;
    for (int i = 0; i < P; i++)
        for (int j = 0; j < N; j++) {
            u[i * N + j] = 0.25 * i - 1;  // constant within a row
            g[i * N + j] = t_rand_normal(&rng);
        }
    srs_batch_t b;
    memset(&b, 0, sizeof b);
    b.n_prompts = P;
    b.row_len = N;
    b.reward = (srs_vec_t){u, SRS_F64};
    b.gold = (srs_vec_t){g, SRS_F64};
    srs_eval_arm_t arms[SRS_DESIGN_COUNT_ + 1];
    for (int d = 0; d < SRS_DESIGN_COUNT_; d++) arms[d] = arm_design((srs_design_t)d, 2.0);
    arms[SRS_DESIGN_COUNT_] = arm_kind(SRS_ARM_BASE, 0);
    double betas[] = {0.1, 1, 10};
    srs_eval_opts_t o = srs_eval_opts_default();
    o.arms = arms;
    o.n_arms = SRS_DESIGN_COUNT_ + 1;
    o.betas = betas;
    o.n_betas = 3;
    o.to.preset = SRS_PRESET_PAPER_CD;
    o.to.B = 15;
    srs_eval_result_t r;
    if (!run_eval(&b, &o, &r)) return;
    double gmean = 0;
    for (int k = 0; k < P * N; k++) gmean += g[k];
    gmean /= P * N;
    for (int bi = 0; bi < 3; bi++)
        for (int ai = 0; ai < o.n_arms; ai++) {
            CHECK(cell(&r, bi, ai, SRS_MET_KL) == 0, "arm %d beta %g: KL %g", ai, betas[bi],
                  cell(&r, bi, ai, SRS_MET_KL));
            NEAR(cell(&r, bi, ai, SRS_MET_ESS), N, 1e-12);
            NEAR(cell(&r, bi, ai, SRS_MET_GOLD), gmean, 1e-14);
        }
    // and the uniform base on varied rows: ESS = n exactly as well
    srs_eval_result_free(&r);
}

// ----------------------------------------------------------------------------
// one prompt of n samples with gold, and log-weights when weighted: the batch
// views u, g, lw (and off); p gets the normalised base probabilities
static srs_batch_t one_prompt(const double *u, const double *g, const double *lw, int n, int weighted,
                              int64_t *off, double *p) {
    double lmax = weighted ? lw[0] : 0, z = 0;
    for (int i = 1; weighted && i < n; i++) lmax = fmax(lmax, lw[i]);
    for (int i = 0; i < n; i++) z += (p[i] = weighted ? exp(lw[i] - lmax) : 1.0);
    for (int i = 0; i < n; i++) p[i] /= z;
    off[0] = 0;
    off[1] = n;
    srs_batch_t b;
    memset(&b, 0, sizeof b);
    b.n_prompts = 1;
    b.offsets = off;
    b.reward = (srs_vec_t){u, SRS_F64};
    b.gold = (srs_vec_t){g, SRS_F64};
    if (weighted) b.logw = (srs_vec_t){lw, SRS_F64};
    return b;
}

// ----------------------------------------------------------------------------
// best-of-n against brute-force enumeration of every sequence of n draws

static void bon_brute(const double *u, const double *p, int n, int draws, double *q) {
    for (int i = 0; i < n; i++) q[i] = 0;
    int total = 1;
    for (int k = 0; k < draws; k++) total *= n;
    int seq[8];
    for (int code = 0; code < total; code++) {
        double pr = 1, best = -INFINITY;
        for (int k = 0, c = code; k < draws; k++, c /= n) {
            seq[k] = c % n;
            pr *= p[seq[k]];
            best = fmax(best, u[seq[k]]);
        }
        int ties = 0;
        for (int k = 0; k < draws; k++) ties += u[seq[k]] == best;
        for (int k = 0; k < draws; k++)  // each tied draw chosen with probability 1/ties
            if (u[seq[k]] == best) q[seq[k]] += pr / ties;
    }
}

TEST(eval_best_of_n_brute_force) {
    uint64_t rng = 11;
    int cases = 0;
    for (int trial = 0; trial < 40; trial++) {
        int n = 2 + trial % 5;  // 2..6 samples
        double u[8], g[8], lw[8], p[8];
        for (int i = 0; i < n; i++) {
            u[i] = floor(t_rand_u01(&rng) * 3);  // ties on purpose
            g[i] = t_rand_normal(&rng);
            lw[i] = trial % 2 ? t_rand_normal(&rng) : 0;
        }
        int64_t off[2];
        srs_batch_t b = one_prompt(u, g, lw, n, trial % 2, off, p);
        srs_eval_arm_t arms[4];
        for (int k = 0; k < 4; k++) arms[k] = arm_kind(SRS_ARM_BEST_OF_N, k + 1);
        double beta = 1;
        srs_eval_opts_t o = srs_eval_opts_default();
        o.arms = arms;
        o.n_arms = 4;
        o.betas = &beta;
        o.n_betas = 1;
        o.replicates = 4;
        srs_eval_result_t r;
        if (!run_eval(&b, &o, &r)) return;
        for (int k = 0; k < 4; k++) {
            double q[8], eu = 0, eg = 0, kl = 0, q2 = 0, wt = 0;
            bon_brute(u, p, n, k + 1, q);
            for (int i = 0; i < n; i++) {
                eu += q[i] * u[i];
                eg += q[i] * g[i];
                q2 += q[i] * q[i];
                if (q[i] > 0) kl += q[i] * log(q[i] / p[i]);
                for (int j = 0; j < n; j++) wt += q[i] * p[j] * (g[i] >= g[j]);
            }
            NEAR(cell(&r, 0, k, SRS_MET_PROXY), eu, 1e-12);
            NEAR(cell(&r, 0, k, SRS_MET_GOLD), eg, 1e-12);
            NEAR(cell(&r, 0, k, SRS_MET_KL), kl, 1e-12);
            NEAR(cell(&r, 0, k, SRS_MET_ESS), 1 / q2, 1e-9);
            NEAR(cell(&r, 0, k, SRS_MET_WIN_TIE), wt, 1e-12);
            cases++;
        }
        srs_eval_result_free(&r);
        BAIL_IF_FAILED();
    }
    CHECK(cases == 160, "%d cases", cases);
}

// Base and best-of-n arms in several SIMD lane groups (more than eight such
// arms), n from 1 to 1000 (the exact-power and the exp/log forms), ragged rows
// with ties and weights, against the law written directly in long double:
// q_i = p_i / p_G (F_le^n - F_lt^n) for sample i in tie group G. And the base
// alone, without any best-of-n arm.
static void bon_direct(const double *u, const double *p, int n, long draws, double *q) {
    for (int i = 0; i < n; i++) {
        long double flt = 0, fg = 0;
        for (int j = 0; j < n; j++) {
            if (u[j] < u[i]) flt += p[j];
            if (u[j] == u[i]) fg += p[j];
        }
        long double P = powl(flt + fg, (long double)draws) - powl(flt, (long double)draws);
        q[i] = (double)(P * p[i] / fg);
    }
}

TEST(eval_base_and_best_of_n_lanes) {
    static const long draws[] = {1, 2, 3, 5, 7, 16, 64, 65, 100, 1000};
    enum { NA = 11 };
    uint64_t rng = 29;
    for (int trial = 0; trial < 24; trial++) {
        int n = 1 + (int)(t_rand_u01(&rng) * 40);
        double u[48], g[48], lw[48], p[48];
        for (int i = 0; i < n; i++) {
            u[i] = trial % 3 ? floor(t_rand_u01(&rng) * 5) : t_rand_normal(&rng);  // ties in 2 of 3
            g[i] = t_rand_normal(&rng);
            lw[i] = trial % 2 ? t_rand_normal(&rng) : 0;
        }
        int64_t off[2];
        srs_batch_t b = one_prompt(u, g, lw, n, trial % 2, off, p);
        srs_eval_arm_t arms[NA];
        arms[0] = arm_kind(SRS_ARM_BASE, 0);
        for (int k = 1; k < NA; k++) arms[k] = arm_kind(SRS_ARM_BEST_OF_N, draws[k - 1]);
        double beta = 0.5;
        srs_eval_opts_t o = srs_eval_opts_default();
        o.arms = arms;
        o.n_arms = trial % 4 == 3 ? 1 : NA;  // every fourth trial: the base alone
        o.betas = &beta;
        o.n_betas = 1;
        o.replicates = 4;
        srs_eval_result_t r;
        if (!run_eval(&b, &o, &r)) return;
        for (int k = 0; k < o.n_arms; k++) {
            double q[48], eu = 0, eg = 0, kl = 0, q2 = 0, wt = 0;
            if (k == 0) memcpy(q, p, sizeof(double) * (size_t)n);
            else bon_direct(u, p, n, draws[k - 1], q);
            for (int i = 0; i < n; i++) {
                eu += q[i] * u[i];
                eg += q[i] * g[i];
                q2 += q[i] * q[i];
                if (q[i] > 0) kl += q[i] * log(q[i] / p[i]);
                for (int j = 0; j < n; j++) wt += q[i] * p[j] * (g[i] >= g[j]);
            }
            double tol = k == 0 ? 1e-14 : 1e-11;
            NEAR(cell(&r, 0, k, SRS_MET_PROXY), eu, tol * fmax(1, fabs(eu)));
            NEAR(cell(&r, 0, k, SRS_MET_GOLD), eg, tol * fmax(1, fabs(eg)));
            NEAR(cell(&r, 0, k, SRS_MET_KL), kl, tol * fmax(1, kl));
            NEAR(cell(&r, 0, k, SRS_MET_ESS), 1 / q2, 1e-9 / q2);
            NEAR(cell(&r, 0, k, SRS_MET_WIN_TIE), wt, tol);
            if (k == 0) CHECK(cell(&r, 0, k, SRS_MET_KL) == 0, "base KL %g", cell(&r, 0, k, SRS_MET_KL));
        }
        srs_eval_result_free(&r);
        BAIL_IF_FAILED();
    }
}

// ----------------------------------------------------------------------------
// paired differences against the raw design

static int cmp_dbl(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// Type-7 quantile of sorted x[0..n) (numpy's default), the test's own.
static double q7(const double *x, int n, double q) {
    double h = (n - 1) * q;
    int lo = (int)floor(h);
    return lo >= n - 1 ? x[n - 1] : x[lo] + (h - lo) * (x[lo + 1] - x[lo]);
}

// Two samples per prompt, u = (0, 1) and gold (a_i, a_i + 1) with a_i spread
// over [-100, 100]: every design's gold utility is a_i plus a share that does
// not depend on the prompt, so the prompt levels a_i give each arm's mean a
// wide interval, while an arm's difference from raw is the same on every
// prompt and its paired interval is a point. An unpaired interval (the levels'
// replicates in any other pairing) would be as wide as the levels'.
TEST(eval_diff_raw_paired_intervals) {
    enum { P = 300 };
    double *u = malloc(sizeof *u * 2 * P), *g = malloc(sizeof *g * 2 * P);
    uint64_t rng = 17;
    for (int i = 0; i < P; i++) {
        double a = 200 * t_rand_u01(&rng) - 100;
        u[2 * i] = 0;
        u[2 * i + 1] = 1;
        g[2 * i] = a;
        g[2 * i + 1] = a + 1;
    }
    srs_batch_t b = t_dense(u, SRS_F64, P, 2);
    b.gold = (srs_vec_t){g, SRS_F64};
    srs_eval_arm_t arms[] = {arm_kind(SRS_ARM_BASE, 0), arm_design(SRS_DESIGN_HARD, 1),
                             arm_design(SRS_DESIGN_RAW, 1), arm_design(SRS_DESIGN_SOFT, 2),
                             arm_kind(SRS_ARM_BEST_OF_N, 2)};
    const int A = 5, RAW = 2;
    double betas[] = {1.0, 0.25};
    srs_eval_opts_t o = srs_eval_opts_default();
    o.arms = arms;
    o.n_arms = A;
    o.betas = betas;
    o.n_betas = 2;
    o.to.B = 3;
    o.replicates = 300;
    srs_eval_result_t r;
    if (!run_eval(&b, &o, &r)) goto out;
    CHECK(r.raw_arm == RAW, "raw_arm %d, want %d", r.raw_arm, RAW);
    for (int bi = 0; bi < 2; bi++) {
        double e = exp(1 / betas[bi]), q1 = e / (1 + e);  // raw: q of the sample u = 1
        for (int ai = 0; ai < A; ai++)
            for (int m = 0; m < SRS_MET_COUNT_; m++) {
                const srs_est_t *d = srs_eval_diff_raw(&r, bi, ai, (srs_metric_t)m);
                double want = cell(&r, bi, ai, (srs_metric_t)m) - cell(&r, bi, RAW, (srs_metric_t)m);
                CHECK(fabs(d->mean - want) <= 1e-12 * fmax(1, fabs(want)), "beta %g arm %d %s: diff %.17g, means differ by %.17g",
                      betas[bi], ai, srs_metric_name((srs_metric_t)m), d->mean, want);
                CHECK(d->lo <= d->mean + 1e-12 && d->mean <= d->hi + 1e-12, "beta %g arm %d %s: %g outside [%g, %g]",
                      betas[bi], ai, srs_metric_name((srs_metric_t)m), d->mean, d->lo, d->hi);
                if (ai == RAW)
                    CHECK(d->mean == 0 && d->lo == 0 && d->hi == 0, "raw against itself: %g [%g, %g]", d->mean, d->lo,
                          d->hi);
            }
        // gold: every arm's level interval is wide, its difference from raw a point
        for (int ai = 0; ai < A; ai++) {
            const srs_est_t *c = srs_eval_cell(&r, bi, ai, SRS_MET_GOLD), *d = srs_eval_diff_raw(&r, bi, ai, SRS_MET_GOLD);
            CHECK(c->hi - c->lo > 5, "beta %g arm %d: the level's interval [%g, %g] is not wide", betas[bi], ai, c->lo,
                  c->hi);
            CHECK(d->hi - d->lo < 1e-9, "beta %g arm %d: paired interval [%.17g, %.17g] is not a point", betas[bi], ai,
                  d->lo, d->hi);
        }
        NEAR(srs_eval_diff_raw(&r, bi, 0, SRS_MET_GOLD)->mean, 0.5 - q1, 1e-9);  // base: (a + 1/2) - (a + q1)
    }
    srs_eval_result_free(&r);

    // the interval is the percentile interval of the per-replicate differences,
    // from the accumulator itself, on data where the difference varies
    for (int i = 0; i < P; i++) u[2 * i + 1] = 0.5 + 3 * t_rand_u01(&rng);
    double *acc = calloc(srs_eval_acc_len(&o), sizeof *acc), *reps = malloc(sizeof *reps * (size_t)o.replicates);
    CHECK(srs_eval_accumulate(t_ctx(), &b, &o, acc) == SRS_OK, "accumulate: %s", srs_ctx_last_error(t_ctx()));
    CHECK(srs_eval_finalize(t_ctx(), &o, acc, &r) == SRS_OK, "finalize: %s", srs_ctx_last_error(t_ctx()));
    BAIL_IF_FAILED();
    const int64_t K = srs_eval_n_cols(&o);
    for (int bi = 0; bi < 2; bi++)
        for (int ai = 0; ai < A; ai++)
            for (int m = SRS_MET_PROXY; m <= SRS_MET_GOLD; m++) {
                int64_t col = 2 + ((int64_t)bi * A + ai) * SRS_MET_COUNT_ + m;
                int64_t ref = 2 + ((int64_t)bi * A + RAW) * SRS_MET_COUNT_ + m;
                int nr = 0;
                for (int k = 0; k < o.replicates; k++) {
                    const double *row = acc + (int64_t)k * K;
                    if (row[0] > 0) reps[nr++] = row[col] / row[0] - row[ref] / row[0];
                }
                qsort(reps, (size_t)nr, sizeof *reps, cmp_dbl);
                const srs_est_t *d = srs_eval_diff_raw(&r, bi, ai, (srs_metric_t)m);
                NEAR(d->lo, q7(reps, nr, 0.025), 1e-12);
                NEAR(d->hi, q7(reps, nr, 0.975), 1e-12);
                if (ai != RAW)  // differences that vary from prompt to prompt: a real interval
                    CHECK(d->hi > d->lo, "beta %g arm %d %s: [%g, %g]", betas[bi], ai,
                          srs_metric_name((srs_metric_t)m), d->lo, d->hi);
            }
    srs_eval_result_free(&r);
    free(acc);
    free(reps);

    // no raw arm: no differences; no gold: none for gold
    o.arms = arms;
    o.n_arms = 2;  // base, hard
    if (run_eval(&b, &o, &r)) {
        CHECK(r.raw_arm == -1, "raw_arm %d without a raw arm", r.raw_arm);
        for (int c = 0; c < 2 * 2 * SRS_MET_COUNT_; c++)
            CHECK(isnan(r.diff_raw[c].mean) && isnan(r.diff_raw[c].lo) && isnan(r.diff_raw[c].hi),
                  "entry %d: %g without a raw arm", c, r.diff_raw[c].mean);
        srs_eval_result_free(&r);
    }
    o.n_arms = A;
    b.gold = (srs_vec_t){0};
    if (run_eval(&b, &o, &r)) {
        CHECK(isnan(srs_eval_diff_raw(&r, 0, 1, SRS_MET_GOLD)->mean), "gold difference without gold");
        CHECK(isfinite(srs_eval_diff_raw(&r, 0, 1, SRS_MET_PROXY)->mean), "proxy difference without gold");
        srs_eval_result_free(&r);
    }
out:
    free(u);
    free(g);
}

// ----------------------------------------------------------------------------
// bootstrap: coverage of a known mean, invariance to chunking and threads

TEST(eval_bootstrap_coverage) {
    // one sample per prompt, u ~ N(0.3, 1): the base policy's proxy has true mean 0.3
    const int trials = t_quick() ? 100 : 300, P = 100;
    double *u = malloc(sizeof *u * P);
    srs_eval_arm_t arm = arm_kind(SRS_ARM_BASE, 0);
    double beta = 1;
    srs_eval_opts_t o = srs_eval_opts_default();
    o.arms = &arm;
    o.n_arms = 1;
    o.betas = &beta;
    o.n_betas = 1;
    o.replicates = 400;
    o.confidence = 0.9;
    srs_batch_t b;
    memset(&b, 0, sizeof b);
    b.n_prompts = P;
    b.row_len = 1;
    b.reward = (srs_vec_t){u, SRS_F64};
    int covered = 0;
    uint64_t rng = 99;
    for (int t = 0; t < trials; t++) {
        for (int i = 0; i < P; i++) u[i] = 0.3 + t_rand_normal(&rng);
        o.seed = 1000 + (uint64_t)t;
        srs_eval_result_t r;
        if (!run_eval(&b, &o, &r)) break;
        const srs_est_t *e = srs_eval_cell(&r, 0, 0, SRS_MET_PROXY);
        covered += e->lo <= 0.3 && 0.3 <= e->hi;
        srs_eval_result_free(&r);
    }
    free(u);
    double rate = (double)covered / trials, sd = sqrt(0.9 * 0.1 / trials);
    // percentile intervals undercover slightly at P = 100; allow 3.5 sd either side
    CHECK(fabs(rate - 0.9) <= 3.5 * sd + 0.01, "coverage %.3f over %d trials (nominal 0.90, sd %.3f)", rate,
          trials, sd);
}

TEST(eval_chunk_and_thread_invariance) {
    srs_gen_opts_t g = srs_gen_opts_default();
    g.n_prompts = t_quick() ? 300 : 1000;
    g.n_samples = 12;
    g.ragged = 1;
    g.with_logw = 1;
    srs_data_t *d;
    if (srs_gen(t_ctx(), &g, &d) != SRS_OK) {
        CHECK(0, "gen: %s", srs_ctx_last_error(t_ctx()));
        return;
    }
    const srs_batch_t *b = srs_data_batch(d);
    srs_eval_arm_t arms[] = {arm_kind(SRS_ARM_BASE, 0), arm_design(SRS_DESIGN_RAW, 1),
                             arm_design(SRS_DESIGN_SOFT, 1), arm_design(SRS_DESIGN_HARD, 1),
                             arm_design(SRS_DESIGN_MEANSTD, 1), arm_kind(SRS_ARM_BEST_OF_N, 4)};
    double betas[] = {2, 0.5};
    srs_eval_opts_t o = srs_eval_opts_default();
    o.arms = arms;
    o.n_arms = 6;
    o.betas = betas;
    o.n_betas = 2;
    o.to.preset = SRS_PRESET_PAPER_CD;
    o.to.B = 15;
    o.replicates = 50;
    size_t len = srs_eval_acc_len(&o);
    double *whole = calloc(len, sizeof(double)), *parts = calloc(len, sizeof(double));
    srs_ctx_t *one;
    CHECK(srs_ctx_create(&one, SRS_DEVICE_CPU, 1) == SRS_OK, "ctx");
    CHECK(srs_eval_accumulate(t_ctx(), b, &o, whole) == SRS_OK, "%s", srs_ctx_last_error(t_ctx()));
    // uneven chunks on a one-thread context: a different summation order entirely
    const int64_t chunks[] = {7, 64, 1, 300};
    for (int64_t i0 = 0, k = 0; i0 < b->n_prompts; k++) {
        int64_t n = chunks[k % 4] < b->n_prompts - i0 ? chunks[k % 4] : b->n_prompts - i0;
        srs_batch_t s = *b;
        s.n_prompts = n;
        s.offsets = b->offsets + i0;
        s.first_index = i0;
        CHECK(srs_eval_accumulate(one, &s, &o, parts) == SRS_OK, "%s", srs_ctx_last_error(one));
        i0 += n;
    }
    double worst = 0;
    for (size_t k = 0; k < len; k++) {
        double e = fabs(whole[k] - parts[k]) / fmax(1.0, fabs(whole[k]));
        worst = fmax(worst, e);
    }
    CHECK(worst <= 1e-12, "chunked sums differ from whole-batch sums by %.3g (relative)", worst);
    // a wrong first_index must change the bootstrap (the RNG is keyed by it)
    memset(parts, 0, len * sizeof(double));
    srs_batch_t shifted = *b;
    shifted.first_index = 1;
    CHECK(srs_eval_accumulate(one, &shifted, &o, parts) == SRS_OK, "%s", srs_ctx_last_error(one));
    CHECK(fabs(parts[5] - whole[5]) > 1e-9, "replicate sums do not depend on the global prompt index");
    srs_ctx_free(one);
    free(whole);
    free(parts);
    srs_data_free(d);
}

TEST(eval_bad_input_and_options) {
    double u[3] = {1, NAN, 2}, g[3] = {0, 1, INFINITY};
    int64_t off[3] = {0, 1, 3};
    srs_batch_t b;
    memset(&b, 0, sizeof b);
    b.n_prompts = 2;
    b.offsets = off;
    b.reward = (srs_vec_t){u, SRS_F64};
    b.first_index = 40;
    srs_eval_arm_t arm = arm_design(SRS_DESIGN_RAW, 1);
    double beta = 1;
    srs_eval_opts_t o = srs_eval_opts_default();
    o.arms = &arm;
    o.n_arms = 1;
    o.betas = &beta;
    o.n_betas = 1;
    srs_eval_result_t r;
    CHECK(srs_eval(t_ctx(), &b, &o, &r) == SRS_ERR_BAD_INPUT, "NaN reward accepted");
    CHECK(srs_ctx_error_row(t_ctx()) == 41, "error row %lld", (long long)srs_ctx_error_row(t_ctx()));
    u[1] = 0;
    b.gold = (srs_vec_t){g, SRS_F64};
    CHECK(srs_eval(t_ctx(), &b, &o, &r) == SRS_ERR_BAD_INPUT, "infinite gold accepted");
    CHECK(strstr(srs_ctx_last_error(t_ctx()), "gold") != NULL, "message: %s", srs_ctx_last_error(t_ctx()));
    g[2] = 0;
    beta = 0;
    CHECK(srs_eval(t_ctx(), &b, &o, &r) == SRS_ERR_INVALID_ARG, "beta 0 accepted");
    beta = 1;
    o.confidence = 1;
    CHECK(srs_eval(t_ctx(), &b, &o, &r) == SRS_ERR_INVALID_ARG, "confidence 1 accepted");
}

// ----------------------------------------------------------------------------
// configs

TEST(eval_config_files) {
    srs_eval_cfg_t c;
    srs_eval_cfg_default(&c);
    char err[1200];
    const char *p = t_write("good.ini", "[threshold]\npreset = paper-args\nB = 12\nfixed_beta = 2\n"
                                        "[eval]\nlambda = 0.5, 1\nalpha = 1.5, 3 ; two arms\n"
                                        "designs = raw, soft\nbest_of_n = none\n[bootstrap]\nreplicates = 7\n");
    CHECK(srs_eval_cfg_load(&c, p, err, sizeof err) == 0, "%s", err);
    CHECK(c.to.preset == SRS_PRESET_PAPER_ARGS && c.to.B == 12 && c.fixed && c.fixed_beta == 2, "threshold");
    CHECK(c.n_betas == 2 && c.betas[0] == 2 && c.betas[1] == 1, "lambda -> beta");
    CHECK(c.n_alphas == 2 && c.alphas[1] == 3 && c.n_bon == 0 && c.replicates == 7, "eval/bootstrap");
    srs_eval_arm_t arms[16];
    CHECK(srs_eval_cfg_arms(&c, arms, 16) == 3, "raw + soft x 2 alphas");
    // the resolved config reads back to the same values
    FILE *f = fopen(t_path("resolved.ini"), "w");
    srs_eval_cfg_write(&c, f);
    fclose(f);
    srs_eval_cfg_t c2;
    srs_eval_cfg_default(&c2);
    CHECK(srs_eval_cfg_load(&c2, t_path("resolved.ini"), err, sizeof err) == 0, "%s", err);
    CHECK(memcmp(c2.betas, c.betas, sizeof c.betas) == 0 && c2.n_designs == c.n_designs &&
              c2.to.B == c.to.B && c2.fixed == c.fixed && c2.n_alphas == c.n_alphas && c2.n_bon == 0,
          "round trip");
    // errors name the file, the line and the key
    p = t_write("bad.ini", "[run]\nname = x\n\n[eval]\nbeta = 1, -2\n");
    CHECK(srs_eval_cfg_load(&c, p, err, sizeof err) == 2 && strstr(err, "bad.ini:5:") && strstr(err, "'beta'"),
          "bad value: %s", err);
    p = t_write("bad2.ini", "[eval]\nbetta = 1\n");
    CHECK(srs_eval_cfg_load(&c, p, err, sizeof err) == 2 && strstr(err, "bad2.ini:2:") && strstr(err, "betta"),
          "unknown key: %s", err);
    CHECK(srs_eval_cfg_load(&c, t_path("missing.ini"), err, sizeof err) == 1, "missing file");
    // the shipped configs parse
    const char *cfgs[] = {"configs/default.ini", "configs/paper-cd.ini", "configs/paper-args.ini"};
    for (int i = 0; i < 3; i++) {
        srs_eval_cfg_default(&c);
        CHECK(srs_eval_cfg_load(&c, cfgs[i], err, sizeof err) == 0, "%s", err);
    }
    // default.ini and the embedded defaults agree
    srs_eval_cfg_t emb;
    srs_eval_cfg_default(&emb);
    srs_eval_cfg_default(&c);
    CHECK(srs_eval_cfg_load(&c, "configs/default.ini", err, sizeof err) == 0, "%s", err);
    CHECK(memcmp(&c, &emb, sizeof c) == 0, "configs/default.ini differs from the embedded defaults");
}

// ----------------------------------------------------------------------------
// the command line

TEST(eval_cli_outputs_and_errors) {
    const char *sh = t_shared();
    if (!sh) SKIP("no ../shared/data");
    char data[600], dir[600], p[700];
    snprintf(data, sizeof data, "%s/data/gsm8k-overopt-qwen05b/base.jsonl", sh);
    snprintf(dir, sizeof dir, "%s", t_path("evrun"));
    char *out = NULL, *err = NULL;
    int rc = t_run_srs(ARGV("eval", data, "--config", "configs/paper-cd.ini", "--lambda", "0.5,2", "--replicates",
                            "30", "--out", dir, "-q"), &out, &err);
    CHECK(rc == 0, "eval exited %d: %s", rc, err ? err : "");
    CHECK(out && strstr(out, "soft (alpha 1)") && strstr(out, "best-of-4"), "table: %s", out ? out : "");
    const char *files[] = {"metrics.csv", "metrics.json", "config.ini", "plot.gp", "plot.dat"};
    for (int i = 0; i < 5; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        CHECK(t_exists(p), "missing %s", p);
    }
    snprintf(p, sizeof p, "%s/metrics.csv", dir);
    char *csv = t_slurp(p);
    CHECK(csv && !strncmp(csv, "design,alpha,n,beta,inv_beta,proxy,proxy_lo,proxy_hi,gold,gold_lo,gold_hi,kl", 76),
          "csv header");
    int lines = 0;
    for (char *c = csv; c && *c; c++) lines += *c == '\n';
    CHECK(lines == 1 + 2 * 9, "csv has %d lines (want header + 2 betas x 9 arms)", lines);
    free(csv);
    snprintf(p, sizeof p, "%s/config.ini", dir);
    char *ini = t_slurp(p);
    CHECK(ini && strstr(ini, "fixed_beta = 0.667") && strstr(ini, "\nlambda = 0.5, 2\n") && strstr(ini, "replicates = 30"),
          "resolved config: %s", ini ? ini : "");
    free(ini);
    free(out);
    free(err);
    // usage errors exit 2 and name the file, line and key
    const char *bad = t_write("bad-cli.ini", "[bootstrap]\nreplicates = many\n");
    rc = t_run_srs(ARGV("eval", data, "--config", bad, "--out", t_path("never")), NULL, &err);
    CHECK(rc == 2 && err && strstr(err, "bad-cli.ini:2:") && strstr(err, "replicates"), "rc %d: %s", rc,
          err ? err : "");
    free(err);
    rc = t_run_srs(ARGV("eval", data, "--beta", "1,0", "--out", t_path("never")), NULL, NULL);
    CHECK(rc == 2, "--beta 1,0 exited %d", rc);
    // bad data exits 1 naming the line, and leaves no results
    const char *bd = t_write("bad.jsonl", "{\"prompt_id\": 1, \"rewards\": [1, 2]}\n"
                                          "{\"prompt_id\": 2, \"rewards\": [1], \"gold\": [1, 2]}\n");
    rc = t_run_srs(ARGV("eval", bd, "--out", t_path("never"), "-q"), NULL, &err);
    CHECK(rc == 1 && err && strstr(err, "bad.jsonl"), "rc %d: %s", rc, err ? err : "");
    CHECK(!t_exists(t_path("never")), "a failed run left a results directory");
    free(err);
}

// metrics.csv: field k of a line (up to its end), NaN when empty.
static double csv_field(const char *line, int k) {
    for (int i = 0; i < k && line; i++) {
        line = strchr(line, ',');
        if (line) line++;
    }
    if (!line || *line == ',' || *line == '\n' || !*line) return NAN;
    return strtod(line, NULL);
}

// The index of column name in the header line, -1 when absent.
static int csv_col(const char *header, const char *name) {
    size_t n = strlen(name);
    int k = 0;
    for (const char *c = header; *c && *c != '\n'; k++) {
        if (!strncmp(c, name, n) && (c[n] == ',' || c[n] == '\n')) return k;
        c = strpbrk(c, ",\n");
        if (!c || *c == '\n') break;
        c++;
    }
    return -1;
}

// The line of metrics.csv whose design and beta fields start with `key`
// ("hard,,,2,"), NULL when absent.
static const char *csv_row(const char *csv, const char *key) {
    for (const char *l = csv; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (!strncmp(l, key, strlen(key))) return l;
    return NULL;
}

// srs eval's differences against raw in metrics.csv and metrics.json, with
// and without raw among the designs, and the plot script: designs offset
// along 1/β, the x range padded, the title naming the run or the input.
TEST(eval_cli_vs_raw_columns_and_plot) {
    char *text = malloc(40 * 200), *t = text;
    uint64_t rng = 3;
    for (int i = 0; i < 40; i++) {
        double a = 20 * t_rand_u01(&rng) - 10, u[3], g[3];
        for (int j = 0; j < 3; j++) {
            u[j] = 3 * t_rand_u01(&rng);
            g[j] = a + u[j] + t_rand_normal(&rng);
        }
        t += sprintf(t, "{\"prompt_id\": \"p%d\", \"rewards\": [%.6f, %.6f, %.6f], \"gold\": [%.6f, %.6f, %.6f]}\n", i,
                     u[0], u[1], u[2], g[0], g[1], g[2]);
    }
    const char *data = t_write("vsraw_data.jsonl", text);
    free(text);
    const char *tail = ",proxy_vs_raw,proxy_vs_raw_lo,proxy_vs_raw_hi,gold_vs_raw,gold_vs_raw_lo,gold_vs_raw_hi\n";
    char p[700], *csv[2] = {NULL, NULL};
    const char *dirs[2] = {t_path("vsraw-with"), t_path("vsraw-without")};
    // with raw among the designs (and --name), and without it (no name)
    int rc = t_run_srs(ARGV("eval", data, "--designs", "raw,hard,soft", "--best-of-n", "2", "--lambda", "0.5,2",
                            "--replicates", "40", "--name", "my_run", "--out", dirs[0], "-q"), NULL, NULL);
    CHECK(rc == 0, "eval with raw exited %d", rc);
    rc = t_run_srs(ARGV("eval", data, "--designs", "hard,soft", "--best-of-n", "2", "--lambda", "0.5,2",
                        "--replicates", "40", "--out", dirs[1], "-q"), NULL, NULL);
    CHECK(rc == 0, "eval without raw exited %d", rc);
    BAIL_IF_FAILED();
    for (int k = 0; k < 2; k++) {
        snprintf(p, sizeof p, "%s/metrics.csv", dirs[k]);
        csv[k] = t_slurp(p);
        CHECK(csv[k], "no %s", p);
    }
    BAIL_IF_FAILED();
    for (int k = 0; k < 2; k++) {
        const char *nl = strchr(csv[k], '\n');
        size_t hl = nl ? (size_t)(nl - csv[k]) + 1 : 0;
        CHECK(hl > strlen(tail) && !strncmp(csv[k] + hl - strlen(tail), tail, strlen(tail)) &&
                  !strncmp(csv[k], "design,alpha,n,beta,inv_beta,proxy,proxy_lo,proxy_hi,gold,gold_lo,gold_hi,kl,", 77),
              "header: %.*s", (int)hl, csv[k]);
        int lines = 0;
        for (char *c = csv[k]; *c; c++) lines += *c == '\n';
        CHECK(lines == 1 + 2 * (k ? 3 : 4), "run %d: %d lines", k, lines);  // the added raw arm is not shown
        CHECK(k == 0 || !csv_row(csv[k], "raw,"), "a raw row without raw in --designs");
    }
    const char *hdr = csv[0];
    int c_gold = csv_col(hdr, "gold"), c_proxy = csv_col(hdr, "proxy"), c_d = csv_col(hdr, "gold_vs_raw"),
        c_dlo = csv_col(hdr, "gold_vs_raw_lo"), c_dhi = csv_col(hdr, "gold_vs_raw_hi"),
        c_pd = csv_col(hdr, "proxy_vs_raw");
    CHECK(c_gold > 0 && c_proxy > 0 && c_d > 0 && c_dlo == c_d + 1 && c_dhi == c_d + 2 && c_pd > 0, "columns");
    BAIL_IF_FAILED();
    const char *keys[] = {"hard,,,2,", "soft,1,,2,", "best-of-n,,2,2,", "hard,,,0.5,", "soft,1,,0.5,"};
    for (int bi = 0; bi < 2; bi++) {
        const char *raw = csv_row(csv[0], bi ? "raw,,,0.5," : "raw,,,2,");
        CHECK(raw && csv_field(raw, c_d) == 0 && csv_field(raw, c_dlo) == 0 && csv_field(raw, c_dhi) == 0,
              "raw against itself: %.60s", raw ? raw : "(no row)");
        if (!raw) continue;
        for (int i = 0; i < 5; i++) {
            if ((keys[i][strlen(keys[i]) - 2] == '5') != bi) continue;
            const char *l = csv_row(csv[0], keys[i]), *l2 = csv_row(csv[1], keys[i]);
            CHECK(l && l2, "no row %s", keys[i]);
            if (!l || !l2) continue;
            double d = csv_field(l, c_d), want = csv_field(l, c_gold) - csv_field(raw, c_gold);
            CHECK(fabs(d - want) <= 1e-12, "%s gold_vs_raw %.17g, gold - raw's gold %.17g", keys[i], d, want);
            NEAR(csv_field(l, c_pd), csv_field(l, c_proxy) - csv_field(raw, c_proxy), 1e-12);
            CHECK(csv_field(l, c_dlo) <= d && d <= csv_field(l, c_dhi), "%s: %g outside its interval", keys[i], d);
            // paired: the prompt levels (spread over 20) cancel
            CHECK(csv_field(l, c_dhi) - csv_field(l, c_dlo) < 0.5 * (csv_field(l, c_gold + 2) - csv_field(l, c_gold + 1)),
                  "%s: the paired interval is not narrower than the level's", keys[i]);
            // without raw in --designs the same numbers (raw is evaluated, not shown)
            for (int c = c_pd; c <= c_dhi; c++)
                CHECK(csv_field(l, c) == csv_field(l2, c), "%s column %d: %.17g with raw, %.17g without", keys[i], c,
                      csv_field(l, c), csv_field(l2, c));
        }
    }
    free(csv[0]);
    free(csv[1]);
    snprintf(p, sizeof p, "%s/metrics.json", dirs[1]);
    char *js = t_slurp(p);
    CHECK(js && strstr(js, "\"gold_vs_raw\": ") && strstr(js, "\"proxy_vs_raw_hi\": ") && !strstr(js, "\"design\": \"raw\""),
          "metrics.json");
    free(js);

    // the plot script and its data
    for (int k = 0; k < 2; k++) {
        snprintf(p, sizeof p, "%s/plot.gp", dirs[k]);
        char *gp = t_slurp(p);
        CHECK(gp, "no %s", p);
        if (!gp) continue;
        CHECK(strstr(gp, "\ndx = ") && strstr(gp, "using ($1 * 2**(dx * (0 - c))):2:3:4") &&
                  strstr(gp, "using ($1 * 2**(dx * (1 - c))):2:3:4"), "the designs are not offset along x:\n%s", gp);
        CHECK(strstr(gp, "set xrange [0.5 * 2**(-dx*c - 0.33) : 2 * 2**(dx*c + 0.33)]"), "x range not padded:\n%s", gp);
        CHECK(strstr(gp, ":6:7:8 with yerrorlines") && strstr(gp, "paired difference against raw"),
              "no panel of differences:\n%s", gp);
        CHECK(!strstr(gp, "default:"), "title says default:\n%s", gp);
        if (k == 0) CHECK(strstr(gp, "title \"my_run: gold utility") && strstr(gp, "noenhanced"), "title:\n%s", gp);
        else CHECK(strstr(gp, "title \"vsraw_data.jsonl: gold utility"), "title:\n%s", gp);
        free(gp);
        snprintf(p, sizeof p, "%s/plot.dat", dirs[k]);
        char *dat = t_slurp(p);
        CHECK(dat && strstr(dat, "# hard\n# inv_beta y y_lo y_hi kl d d_lo d_hi\n"), "plot.dat:\n%s", dat ? dat : "");
        free(dat);
    }
}

TEST(eval_demo_runs) {
    const char *dir = t_path("demo-eval");
    char *out = NULL;
    int rc = t_run_srs(ARGV("demo", "--dir", dir, "--prompts", t_quick() ? "300" : "2000", "-q"), &out, NULL);
    CHECK(rc == 0, "demo exited %d", rc);
    CHECK(out && strstr(out, "soft (alpha 1)") && strstr(out, "best-of-16") && strstr(out, "base policy"),
          "demo table: %s", out ? out : "");
    char p[600];
    snprintf(p, sizeof p, "%s/metrics.csv", dir);
    CHECK(t_exists(p), "demo did not write %s", p);
    free(out);
}

// ----------------------------------------------------------------------------
// an independent NumPy computation on the shared GSM8K data

TEST(eval_matches_numpy_on_gsm8k) {
    const char *sh = t_shared();
    if (!sh) SKIP("no ../shared/data");
    if (access("/usr/bin/python3", X_OK) != 0) SKIP("/usr/bin/python3 is not installed");
    if (system("/usr/bin/python3 -c 'import numpy' 2>/dev/null") != 0) SKIP("python3-numpy is not installed");
    char data[600], dir[600];
    snprintf(data, sizeof data, "%s/data/gsm8k-overopt-qwen05b/base.jsonl", sh);
    snprintf(dir, sizeof dir, "%s", t_path("np"));
    int rc = t_run_srs(ARGV("eval", data, "--preset", "paper-cd", "--B", "15", "--cap", "2", "--alpha", "1",
                            "--designs", "raw,soft", "--best-of-n", "none", "--lambda", "0.25,0.5,1,2,4",
                            "--replicates", "10", "--plot", "none", "--out", dir, "-q"), NULL, NULL);
    CHECK(rc == 0, "eval exited %d", rc);
    BAIL_IF_FAILED();
    char cmd[2000];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/eval_numpy_check.py '%s' '%s/metrics.csv' 15 1 2 > '%s/np.log' 2>&1",
             data, dir, dir);
    int st = system(cmd);
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    char p[700];
    snprintf(p, sizeof p, "%s/np.log", dir);
    char *log = t_slurp(p);
    if (code == 77) {
        free(log);
        SKIP("numpy is not importable");
    }
    CHECK(code == 0, "NumPy disagrees with srs eval (exit %d):\n%s", code, log ? log : "");
    CHECK(log && strstr(log, "0 mismatches") && strstr(log, "200 prompts, 5 betas"), "log: %s", log ? log : "");
    free(log);
}

// Every field of two configurations agrees (lists and strings up to their length).
static void check_cfg_equal(const srs_eval_cfg_t *a, const srs_eval_cfg_t *b, const char *what) {
    CHECK(!strcmp(a->name, b->name), "%s: name '%s' vs '%s'", what, a->name, b->name);
    CHECK(!strcmp(a->input, b->input), "%s: input '%s' vs '%s'", what, a->input, b->input);
    CHECK(!strcmp(a->out, b->out), "%s: out '%s' vs '%s'", what, a->out, b->out);
    CHECK(!strcmp(a->plot, b->plot) && a->chunk == b->chunk, "%s: plot, chunk", what);
    CHECK(a->to.preset == b->to.preset && a->to.solver == b->to.solver && !memcmp(&a->to.B, &b->to.B, 8) &&
              !memcmp(&a->to.cap, &b->to.cap, 8) && !memcmp(&a->to.tol, &b->to.tol, 8) &&
              a->to.max_iter == b->to.max_iter && !memcmp(&a->to.beta, &b->to.beta, 8),
          "%s: threshold options", what);
    CHECK(a->fixed == b->fixed && !memcmp(&a->fixed_beta, &b->fixed_beta, 8), "%s: fixed_beta", what);
    CHECK(a->n_designs == b->n_designs, "%s: designs", what);
    for (int i = 0; i < a->n_designs && i < b->n_designs; i++)
        CHECK(!strcmp(a->designs[i], b->designs[i]), "%s: design %d", what, i);
    CHECK(a->n_alphas == b->n_alphas && !memcmp(a->alphas, b->alphas, sizeof(double) * (size_t)a->n_alphas),
          "%s: alphas", what);
    CHECK(a->n_bon == b->n_bon && !memcmp(a->bon, b->bon, sizeof(int64_t) * (size_t)a->n_bon), "%s: best_of_n", what);
    CHECK(a->n_betas == b->n_betas && !memcmp(a->betas, b->betas, sizeof(double) * (size_t)a->n_betas),
          "%s: betas (%d vs %d, first %.17g vs %.17g)", what, a->n_betas, b->n_betas, a->betas[0], b->betas[0]);
    CHECK(a->by_lambda == b->by_lambda && !memcmp(a->lambdas, b->lambdas, sizeof a->lambdas), "%s: lambdas", what);
    CHECK(!memcmp(&a->clip, &b->clip, 8) && a->replicates == b->replicates && !memcmp(&a->confidence, &b->confidence, 8)
              && a->seed == b->seed, "%s: clip, bootstrap", what);
}

TEST(eval_config_written_reloads_as_written) {
    char err[1200];
    // strings that inih would cut (" ;"), strip (spaces at the ends), or split
    // (lines over 200 bytes), and numbers whose inverse is subnormal
    char long_in[900];
    for (int i = 0; i < 899; i++) long_in[i] = "abc ;\"\\x/"[i % 9];
    long_in[899] = '\0';
    // lists of 64 values: over a kilobyte on one line
    char alphas[2048] = "", lambdas[2048] = "";
    for (int i = 0; i < SRS_CFG_MAX_LIST; i++) {
        snprintf(alphas + strlen(alphas), sizeof alphas - strlen(alphas), "%s%.17g", i ? ", " : "", 0.1 + i / 7.0);
        snprintf(lambdas + strlen(lambdas), sizeof lambdas - strlen(lambdas), "%s%.17g", i ? "," : "",
                 i ? 1e300 / (i + 3.0) : 5e307);
    }
    const char *sets[][3] = {
        {"run", "name", "  n ;a\"b\\c\tx  "},   {"run", "input", long_in},
        {"run", "out", "evsp ;x"},              {"run", "plot", "svg"},
        {"run", "chunk", "1000"},               {"threshold", "preset", "paper-args"},
        {"threshold", "solver", "bisect"},      {"threshold", "B", "0"},
        {"threshold", "cap", "0.5"},            {"threshold", "tol", "1e-9"},
        {"threshold", "max_iter", "77"},        {"threshold", "fixed_beta", "2"},
        {"eval", "designs", "raw, soft, cap"},  {"eval", "alpha", alphas},
        {"eval", "best_of_n", "none"},          {"eval", "lambda", lambdas},
        {"eval", "clip", "3"},                  {"bootstrap", "replicates", "9"},
        {"bootstrap", "confidence", "0.9"},     {"bootstrap", "seed", "9007199254740992"},
    };
    srs_eval_cfg_t c, r;
    srs_eval_cfg_default(&c);
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
        CHECK(srs_eval_cfg_set(&c, sets[i][0], sets[i][1], sets[i][2], err, sizeof err) == 0, "set %s: %s",
              sets[i][1], err);
    BAIL_IF_FAILED();
    CHECK(!strcmp(c.out, "evsp ;x") && c.name[0] == ' ', "the setter takes values literally");
    const char *p = t_path("roundtrip.ini");
    FILE *f = fopen(p, "w");
    srs_eval_cfg_write(&c, f);
    fclose(f);
    srs_eval_cfg_default(&r);
    CHECK(srs_eval_cfg_load(&r, p, err, sizeof err) == 0, "reload: %s", err);
    check_cfg_equal(&c, &r, "round trip");
    // every line within inih's 200 bytes
    char *text = t_slurp(p);
    for (char *l = text; l && *l;) {
        char *nl = strchr(l, '\n');
        size_t len = nl ? (size_t)(nl - l) : strlen(l);
        CHECK(len < 200, "line of %zu bytes: %.60s...", len, l);
        l = nl ? nl + 1 : l + len;
    }
    free(text);
    // given as beta, no fixed threshold, no clip: the other branches
    srs_eval_cfg_default(&c);
    CHECK(srs_eval_cfg_set(&c, "eval", "beta", "3, 1e-300", err, sizeof err) == 0 &&
              srs_eval_cfg_set(&c, "threshold", "fixed_beta", "none", err, sizeof err) == 0 &&
              srs_eval_cfg_set(&c, "run", "out", "plain/dir", err, sizeof err) == 0, "%s", err);
    f = fopen(p, "w");
    srs_eval_cfg_write(&c, f);
    fclose(f);
    srs_eval_cfg_default(&r);
    CHECK(srs_eval_cfg_load(&r, p, err, sizeof err) == 0, "reload 2: %s", err);
    check_cfg_equal(&c, &r, "round trip 2");
    text = t_slurp(p);
    CHECK(text && strstr(text, "\nout = plain/dir\n") && strstr(text, "\nbeta = 3, 1e-300\n"), "plain values: %s",
          text ? text : "");
    free(text);
    // the defaults round-trip too, and the shipped default.ini is them
    srs_eval_cfg_default(&c);
    f = fopen(p, "w");
    srs_eval_cfg_write(&c, f);
    fclose(f);
    srs_eval_cfg_default(&r);
    CHECK(srs_eval_cfg_load(&r, p, err, sizeof err) == 0, "reload 3: %s", err);
    check_cfg_equal(&c, &r, "defaults");
    // beta and lambda in one file conflict; a ';' after a space inside quotes cuts the value
    p = t_write("both.ini", "[eval]\nbeta = 1\nlambda = 2\n");
    CHECK(srs_eval_cfg_load(&r, p, err, sizeof err) == 2 && strstr(err, "both.ini:3:") && strstr(err, "'lambda'"),
          "beta and lambda: %s", err);
    p = t_write("cut.ini", "[run]\nout = \"a ;b\"\n");
    CHECK(srs_eval_cfg_load(&r, p, err, sizeof err) == 2 && strstr(err, "cut.ini:2:") && strstr(err, "unterminated"),
          "cut quote: %s", err);
    p = t_write("open.ini", "[run]\nout = \"a\" \\\n");
    CHECK(srs_eval_cfg_load(&r, p, err, sizeof err) == 2 && strstr(err, "ends inside a quoted value"), "open: %s", err);
}
