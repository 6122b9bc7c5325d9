// test_eval_cuda.c — the CUDA evaluation against the CPU evaluation (the
// oracle): the whole accumulator (every replicate's sums and the point row)
// on dense and ragged batches, logw, gold or none, ties and n = 1 rows, every
// design, best-of-n and the base arm, each preset and solver, fixed and
// per-beta thresholds, long rows in every kernel tier, many chunks, a
// first_index offset, accumulation across calls, and bad rows (same status,
// message and row). Skipped where no CUDA device (or no CUDA build) is present.
//
// Three cases run without a GPU, in every build (CPU-only, sanitizers, arm64):
// the kernels' per-row code is compiled for the host too (kernels/eval_emu.cpp:
// srs_ev_emulate, groups of 1, 5, 32 and 256 host threads), so its arithmetic
// and its parallel decomposition are checked against the CPU here as well;
// the device groups (shuffles, __syncthreads), the tiers and the pipeline need
// the device.
#include <string.h>
#include "internal.h"
#include "test.h"
#include "srs_eval_math.h"
#include "../kernels/eval_args.h"
#ifdef SRS_WITH_CUDA
#include "../kernels/common.cuh"
#include "../kernels/eval.cuh"
#endif

// ----------------------------------------------------------------------------
// batches

typedef struct {
    srs_batch_t b;
    int64_t *off;
    double *u, *g, *lw;
    float *u32, *g32, *lw32;
} ebatch_t;

typedef struct {
    const int64_t *lens;  // row lengths drawn from these (uniform in [1, L] half the time)
    int n_lens;
    int dense;            // rows of lens[0] samples, offsets NULL
    int weighted, gold, f32;
    int empty_ok;         // allow length-0 rows (bad-row tests)
} ebatch_spec_t;

static void ebatch_make(ebatch_t *e, int64_t np, const ebatch_spec_t *sp, uint64_t seed) {
    memset(e, 0, sizeof *e);
    uint64_t rng = seed;
    e->off = malloc(sizeof(int64_t) * (size_t)(np + 1));
    e->off[0] = 0;
    for (int64_t i = 0; i < np; i++) {
        int64_t L = sp->lens[t_rand_u64(&rng) % (uint64_t)sp->n_lens], len = L;
        if (sp->dense) len = sp->lens[0];
        else if (t_rand_u01(&rng) < 0.5) len = 1 + (int64_t)(t_rand_u01(&rng) * (double)L);
        e->off[i + 1] = e->off[i] + len;
    }
    int64_t ns = e->off[np] > 0 ? e->off[np] : 1;
    e->u = malloc(8 * (size_t)ns); e->g = malloc(8 * (size_t)ns); e->lw = malloc(8 * (size_t)ns);
    e->u32 = malloc(4 * (size_t)ns); e->g32 = malloc(4 * (size_t)ns); e->lw32 = malloc(4 * (size_t)ns);
    for (int64_t i = 0; i < np; i++) {
        int kind = (int)(t_rand_u64(&rng) % 6);
        double mu = 2 * t_rand_normal(&rng);
        for (int64_t j = e->off[i]; j < e->off[i + 1]; j++) {
            double z = t_rand_normal(&rng);
            double u = kind == 0 ? mu + z : kind == 1 ? floor(t_rand_u01(&rng) * 4) : kind == 2 ? 1e4 + 1e-2 * z
                     : kind == 3 ? z * z * z : kind == 4 ? mu : 0.5 * z;  // 1: ties, 4: all equal
            double g = kind == 1 ? floor(t_rand_u01(&rng) * 3) : u + 0.7 * t_rand_normal(&rng);
            e->u[j] = u; e->u32[j] = (float)u;
            e->g[j] = g; e->g32[j] = (float)g;
            e->lw[j] = 1.5 * t_rand_normal(&rng); e->lw32[j] = (float)e->lw[j];
            if (sp->f32) { e->u[j] = e->u32[j]; e->g[j] = e->g32[j]; e->lw[j] = e->lw32[j]; }
        }
    }
    e->b.n_prompts = np;
    if (sp->dense) e->b.row_len = sp->lens[0];
    else e->b.offsets = e->off;
    e->b.reward = sp->f32 ? (srs_vec_t){e->u32, SRS_F32} : (srs_vec_t){e->u, SRS_F64};
    if (sp->weighted) e->b.logw = sp->f32 ? (srs_vec_t){e->lw32, SRS_F32} : (srs_vec_t){e->lw, SRS_F64};
    if (sp->gold) e->b.gold = sp->f32 ? (srs_vec_t){e->g32, SRS_F32} : (srs_vec_t){e->g, SRS_F64};
}

static void ebatch_free(ebatch_t *e) {
    free(e->off); free(e->u); free(e->g); free(e->lw); free(e->u32); free(e->g32); free(e->lw32);
}

// ----------------------------------------------------------------------------
// options: every arm kind

static srs_eval_arm_t arm_of(srs_arm_kind_t k, srs_design_t d, double alpha, int64_t n) {
    srs_eval_arm_t a;
    memset(&a, 0, sizeof a);
    a.kind = k;
    a.design = d;
    a.alpha = alpha;
    a.n = n;
    return a;
}

// base, every design (soft twice), best-of-1/4/16: 12 arms into arms[].
static int all_arms(srs_eval_arm_t *arms) {
    int n = 0;
    arms[n++] = arm_of(SRS_ARM_BASE, 0, 0, 0);
    for (int d = 0; d < SRS_DESIGN_COUNT_; d++) arms[n++] = arm_of(SRS_ARM_DESIGN, (srs_design_t)d, 1.5, 0);
    arms[n++] = arm_of(SRS_ARM_DESIGN, SRS_DESIGN_SOFT, 6.0, 0);
    arms[n++] = arm_of(SRS_ARM_BEST_OF_N, 0, 0, 1);
    arms[n++] = arm_of(SRS_ARM_BEST_OF_N, 0, 0, 4);
    arms[n++] = arm_of(SRS_ARM_BEST_OF_N, 0, 0, 16);
    return n;
}

static srs_eval_opts_t opts_with(const srs_eval_arm_t *arms, int n_arms, const double *betas, int n_betas) {
    srs_eval_opts_t o = srs_eval_opts_default();
    o.arms = arms;
    o.n_arms = n_arms;
    o.betas = betas;
    o.n_betas = n_betas;
    o.to.preset = SRS_PRESET_PAPER_CD;
    o.to.B = 15;
    o.replicates = 37;  // not a multiple of 4: the last Philox block is used in part
    o.seed = 7;
    return o;
}

// ----------------------------------------------------------------------------
// comparing accumulators

// |ref - got| <= rel max(|ref|, |got|) + 1e-12 (largest |ref| of the column)
// + 1e-14 (prompts in the replicate): the column term covers sums that cancel
// (proxy of centred rewards), the last one metrics that are zero up to
// rounding (KL of best-of-1, ~1e-17 a prompt on either backend). Reports the
// first few mismatches by replicate, beta, arm and metric. Returns 1 if any.
static int acc_compare(const double *ref, const double *got, const srs_eval_opts_t *o, double rel, const char *what) {
    const int64_t K = 2 + (int64_t)o->n_betas * o->n_arms * SRS_MET_COUNT_;
    const int R = o->replicates;
    int bad = 0;
    double worst = 0;
    for (int64_t k = 0; k < K; k++) {
        double colmax = 0;
        for (int r = 0; r <= R; r++) colmax = fmax(colmax, fabs(ref[(int64_t)r * K + k]));
        for (int r = 0; r <= R; r++) {
            double x = ref[(int64_t)r * K + k], y = got[(int64_t)r * K + k];
            double err = fabs(x - y);
            double tol = rel * fmax(fabs(x), fabs(y)) + 1e-12 * colmax + 1e-14 * fabs(ref[(int64_t)r * K]);
            if (fmax(fabs(x), fabs(y)) > 0) worst = fmax(worst, err / fmax(fabs(x), fabs(y)));
            if (!(err <= tol)) {
                if (bad < 6) {
                    if (k < 2)
                        CHECK(0, "%s: replicate %d column %lld: cpu %.17g cuda %.17g", what, r, (long long)k, x, y);
                    else {
                        int64_t c = (k - 2) / SRS_MET_COUNT_;
                        CHECK(0, "%s: %s %d, beta %d, arm %d, %s: cpu %.17g cuda %.17g (rel %.3g)", what,
                              r == R ? "point row" : "replicate", r, (int)(c / o->n_arms), (int)(c % o->n_arms),
                              srs_metric_name((srs_metric_t)((k - 2) % SRS_MET_COUNT_)), x, y,
                              err / fmax(fabs(x), fabs(y)));
                    }
                }
                bad++;
            }
        }
    }
    if (bad) fprintf(stderr, "    %s: %d of %lld sums out of tolerance (largest relative difference %.3g)\n", what,
                     bad, (long long)((R + 1) * K), worst);
    return bad != 0;
}

// ----------------------------------------------------------------------------
// the kernels' per-row code on the CPU (no device needed)

// Groups of more than one thread run on host threads; under qemu-user (the
// arm64 stage) a new thread never returns, so SRS_TEST_NO_THREADS leaves
// those groups out there (the x86 stages run them).
static int no_threads(int group) {
    return group > 1 && getenv("SRS_TEST_NO_THREADS") != NULL;
}

// V (np, K) by srs_ev_emulate with a group of `group` threads and W (np, R+1)
// by srs_ev_weights_emulate, then acc += W^T V: the CUDA backend's arithmetic
// minus the device (the weights checked against srs_eval_math.h's definition).
// The launch arguments of b and o as host/cuda/cuda_eval.c resolves them
// (host pointers; V and bad left NULL); returns the longest row.
static int64_t ev_args_of(const srs_batch_t *b, const srs_eval_opts_t *o, srs_ev_args_t *ap) {
    const int64_t np = b->n_prompts, K = 2 + (int64_t)o->n_betas * o->n_arms * SRS_MET_COUNT_;
    srs_ev_args_t a;
    memset(&a, 0, sizeof a);
    a.offsets = b->offsets;
    a.row_len = b->row_len;
    a.reward = b->reward.data;
    a.reward_f32 = b->reward.dtype == SRS_F32;
    a.logw = b->logw.data;
    a.logw_f32 = b->logw.dtype == SRS_F32;
    a.gold = b->gold.data;
    a.gold_f32 = b->gold.dtype == SRS_F32;
    a.arms = o->arms;
    a.n_arms = o->n_arms;
    a.betas = o->betas;
    a.n_betas = o->n_betas;
    for (int i = 0; i < o->n_arms; i++) {
        a.n_bon += o->arms[i].kind == SRS_ARM_BEST_OF_N;
        a.need_m |= o->arms[i].kind == SRS_ARM_DESIGN &&
                    (o->arms[i].design == SRS_DESIGN_HARD || o->arms[i].design == SRS_DESIGN_SOFT);
        a.need_std |= o->arms[i].kind == SRS_ARM_DESIGN && o->arms[i].design == SRS_DESIGN_MEANSTD;
    }
    a.preset = (int)o->to.preset;
    a.solver = (int)o->to.solver;
    a.B = o->to.B;
    a.cap = o->to.cap;
    a.tol = o->to.tol;
    a.max_iter = o->to.max_iter;
    a.fixed = o->fixed_threshold;
    a.fixed_beta = o->to.beta;
    a.clip = o->clip >= 0 ? o->clip : o->to.B;
    a.bps = srs_ev_bytes_per_sample(b->logw.data != NULL, b->gold.data != NULL, a.n_bon);
    a.K = K;
    int64_t max_len = b->row_len;
    if (b->offsets)
        for (int64_t i = 0; i < np; i++)
            if (b->offsets[i + 1] - b->offsets[i] > max_len) max_len = b->offsets[i + 1] - b->offsets[i];
    *ap = a;
    return max_len;
}

static int emulate_acc(const srs_batch_t *b, const srs_eval_opts_t *o, double *acc, int group) {
    const int64_t np = b->n_prompts, K = 2 + (int64_t)o->n_betas * o->n_arms * SRS_MET_COUNT_;
    srs_ev_args_t a;
    const int64_t max_len = ev_args_of(b, o, &a);
    double *V = malloc(sizeof(double) * (size_t)(np * K));
    void *scratch = malloc((size_t)(max_len > 0 ? max_len : 1) * (size_t)a.bps);
    unsigned long long bad = ~0ull;
    a.V = V;
    a.bad = &bad;
    int rc = srs_ev_emulate(&a, np, scratch, group);
    CHECK(rc == 0, "emulation refused the batch (group %d)", group);
    CHECK(bad == ~0ull, "emulation flagged row %llu (kind %llu)", bad >> 3, bad & 7);
    if (rc == 0 && bad == ~0ull) {
        uint64_t T[SRS_POIS_MAX];
        srs_poisson_table(T);
        const int R = o->replicates;
        double *W = malloc(sizeof(double) * (size_t)(np * (R + 1)));
        srs_ev_weights_emulate(W, np, R, o->seed, b->first_index, T);
        int wrong = 0;
        for (int64_t i = 0; i < np; i++) {
            const double *w = W + i * (R + 1);
            for (int r = 0; r < R && wrong < 3; r++) {  // the definition: word r % 4 of block r / 4
                srs_u32x4_t x = srs_philox_block(o->seed, (uint64_t)(b->first_index + i), (uint32_t)(r / 4),
                                                 SRS_EVAL_STREAM);
                if (w[r] != srs_poisson1(x.v[r % 4], T)) {
                    CHECK(0, "weight of row %lld replicate %d: %g", (long long)i, r, w[r]);
                    wrong++;
                }
            }
            CHECK(w[R] == 1.0, "row %lld: point weight %g", (long long)i, w[R]);
            for (int r = 0; r <= R; r++)
                if (w[r] != 0)
                    for (int64_t k = 0; k < K; k++) acc[(int64_t)r * K + k] += w[r] * V[i * K + k];
        }
        free(W);
    }
    free(V);
    free(scratch);
    return rc == 0 && bad == ~0ull;
}

TEST(cuda_eval_kernel_code_emulated_matches_cpu) {
    // no device needed: the per-row code of kernels/eval.cu against host/eval.c,
    // sequentially on every variant, and on groups of 5, 32 and 256 host
    // threads (the parallel decomposition; 256 is the block tiers' block) on
    // the first rows of three variants
    static const int64_t lens[] = {1, 2, 3, 7, 16, 33, 200};
    static const int64_t dense16[] = {16};
    static const int64_t longl[] = {1500, 3000};
    const ebatch_spec_t specs[] = {
        {dense16, 1, 1, 0, 1, 0, 0},   // dense, uniform, gold
        {lens, 7, 0, 1, 1, 0, 0},      // ragged, logw, gold
        {lens, 7, 0, 1, 0, 1, 0},      // ragged, logw, no gold, float32
        {lens, 7, 0, 0, 1, 1, 0},      // ragged, gold, float32
        {longl, 2, 0, 1, 1, 0, 0},     // long rows
    };
    const int64_t nps[] = {300, 300, 300, 300, 6};
    srs_eval_arm_t arms[16];
    int na = all_arms(arms);
    double betas[] = {0.25, 1, 4};
    for (int k = 0; k < 5; k++) {
        ebatch_t e;
        ebatch_make(&e, t_quick() ? nps[k] / 3 + 2 : nps[k], &specs[k], 100 + (uint64_t)k);
        e.b.first_index = 1000 * k;
        for (int v = 0; v < 5; v++) {  // solver x preset x fixed threshold; B 400: gamma overflows
            srs_eval_opts_t o = opts_with(arms, na, betas, 3);
            o.to.solver = (srs_solver_t)(v % 3);
            o.to.preset = (srs_preset_t)((v + k) % 3);
            o.fixed_threshold = v == 3;
            o.to.beta = 0.7;
            if (v == 4) {
                o.to.preset = SRS_PRESET_EXACT;
                o.to.B = 400;
                o.clip = 0.7;
            }
            size_t len = srs_eval_acc_len(&o);
            double *ref = calloc(len, sizeof(double)), *got = calloc(len, sizeof(double));
            CHECK(srs_eval_accumulate(t_cpu_ctx(), &e.b, &o, ref) == SRS_OK, "cpu: %s",
                  srs_ctx_last_error(t_cpu_ctx()));
            char what[160];
            snprintf(what, sizeof what, "emulated: batch %d, solver %s, preset %s, fixed %d", k,
                     srs_solver_name(o.to.solver), srs_preset_name(o.to.preset), o.fixed_threshold);
            if (emulate_acc(&e.b, &o, got, 1)) acc_compare(ref, got, &o, 1e-9, what);
            const int group = v == 1 ? 5 : v == 4 ? 32 : v == 2 ? 256 : 1;
            if (group > 1 && !no_threads(group)) {  // the first rows only (a barrier per phase is slow)
                srs_batch_t head = e.b;
                const int64_t nh = group == 256 ? 3 : t_quick() ? 10 : 40;
                head.n_prompts = e.b.n_prompts < nh ? e.b.n_prompts : nh;
                memset(ref, 0, len * sizeof(double));
                memset(got, 0, len * sizeof(double));
                CHECK(srs_eval_accumulate(t_cpu_ctx(), &head, &o, ref) == SRS_OK, "cpu");
                snprintf(what, sizeof what, "emulated on %d threads: batch %d, solver %s, preset %s", group, k,
                         srs_solver_name(o.to.solver), srs_preset_name(o.to.preset));
                if (emulate_acc(&head, &o, got, group)) acc_compare(ref, got, &o, 1e-9, what);
            }
            free(ref);
            free(got);
            if (t_failed_now()) break;
        }
        ebatch_free(&e);
        BAIL_IF_FAILED();
    }
}

TEST(cuda_eval_kernel_code_emulated_huge_rewards) {
    // rewards and gold near 1e250 (finite, valid on the CPU): the follower
    // weights' 2^300 scale must not overflow the proxy and gold sums
    static const int64_t lens[] = {1, 5, 40, 200};
    const ebatch_spec_t sp = {lens, 4, 0, 1, 1, 0, 0};
    ebatch_t e;
    ebatch_make(&e, 60, &sp, 77);
    for (int64_t j = 0; j < e.off[60]; j++) {
        e.u[j] *= 1e250;
        e.g[j] *= 1e250;
    }
    srs_eval_arm_t arms[16];
    int na = all_arms(arms);
    double betas[] = {1, 4};
    srs_eval_opts_t o = opts_with(arms, na, betas, 2);
    size_t len = srs_eval_acc_len(&o);
    double *ref = calloc(len, sizeof(double)), *got = calloc(len, sizeof(double));
    CHECK(srs_eval_accumulate(t_cpu_ctx(), &e.b, &o, ref) == SRS_OK, "cpu: %s", srs_ctx_last_error(t_cpu_ctx()));
    if (emulate_acc(&e.b, &o, got, 1)) acc_compare(ref, got, &o, 1e-9, "emulated: rewards near 1e250");
    free(ref);
    free(got);
    ebatch_free(&e);
}
TEST(cuda_eval_kernel_code_emulated_far_logw) {
    // base log-weights hundreds apart: pn e^t underflows for every sample
    // unless the law is taken in the log domain (issue 13: NaN proxy, ESS
    // and win-tie on both backends); the CPU's sums are finite and the
    // kernel code agrees with them, in one thread and in groups of 5
    static const int64_t lens[] = {2, 3, 9, 40};
    const ebatch_spec_t sp = {lens, 4, 0, 1, 1, 0, 0};
    ebatch_t e;
    ebatch_make(&e, 80, &sp, 91);
    for (int64_t j = 0; j < e.off[80]; j++) e.lw[j] *= 400;
    srs_eval_arm_t arms[16];
    int na = all_arms(arms);
    double betas[] = {0.01, 0.25, 1};
    srs_eval_opts_t o = opts_with(arms, na, betas, 3);
    size_t len = srs_eval_acc_len(&o);
    double *ref = calloc(len, sizeof(double)), *got = calloc(len, sizeof(double));
    CHECK(srs_eval_accumulate(t_cpu_ctx(), &e.b, &o, ref) == SRS_OK, "cpu: %s", srs_ctx_last_error(t_cpu_ctx()));
    size_t nonfinite = 0;
    for (size_t k = 0; k < len; k++) nonfinite += !isfinite(ref[k]);
    CHECK(nonfinite == 0, "cpu: %zu of %zu sums are not finite", nonfinite, len);
    if (emulate_acc(&e.b, &o, got, 1)) acc_compare(ref, got, &o, 1e-9, "emulated: logw far apart");
    memset(got, 0, len * sizeof(double));
    if (!no_threads(5) && emulate_acc(&e.b, &o, got, 5))
        acc_compare(ref, got, &o, 1e-9, "emulated on 5 threads: logw far apart");
    free(ref);
    free(got);
    ebatch_free(&e);
}

TEST(cuda_eval_kernel_code_emulated_bad_rows) {
    // the bad-row word of the kernel code (min over bad rows of row << 3 |
    // kind) names the first bad row and why, where the CPU fails the batch:
    // an empty row, a NaN or infinite reward, a NaN logw, a NaN gold, gold
    // and reward bad in one row (the reward is reported); later bad rows do
    // not win; in one thread and in groups of 5
    static const int64_t lens[] = {3, 17, 40};
    const ebatch_spec_t sp = {lens, 3, 0, 1, 1, 0, 0};
    srs_eval_arm_t arms[16];
    int na = all_arms(arms);
    double beta = 1;
    srs_eval_opts_t o = opts_with(arms, na, &beta, 1);
    const int64_t np = 60;
    for (int kind = 0; kind < 6; kind++) {
        ebatch_t e;
        ebatch_make(&e, np, &sp, 161 + (uint64_t)kind);
        int64_t row = 11 + 5 * kind, s = e.off[row], n = e.off[row + 1] - s;
        const char *what[] = {"NaN reward", "infinite reward", "NaN logw", "NaN gold", "gold and reward", "empty row"};
        const int want[] = {SRS_EV_BAD_REWARD, SRS_EV_BAD_REWARD, SRS_EV_BAD_LOGW, SRS_EV_BAD_GOLD, SRS_EV_BAD_REWARD,
                            SRS_EV_BAD_EMPTY};
        if (kind == 0) e.u[s + n / 2] = NAN;
        else if (kind == 1) e.u[s + n - 1] = INFINITY;
        else if (kind == 2) e.lw[s] = NAN;
        else if (kind == 3) e.g[s + n - 1] = NAN;
        else if (kind == 4) { e.g[s] = INFINITY; e.u[s + n - 1] = NAN; }
        else for (int64_t i = row + 1; i <= np; i++) e.off[i] -= n;  // row has no samples now
        e.u[e.off[np - 10]] = NAN;  // a later bad row must not win
        e.g[e.off[np - 5]] = NAN;
        size_t len = srs_eval_acc_len(&o);
        double *ref = calloc(len, sizeof(double));
        CHECK(srs_eval_accumulate(t_cpu_ctx(), &e.b, &o, ref) != SRS_OK, "%s: the cpu took the batch", what[kind]);
        free(ref);
        for (int group = 1; group <= 5; group += 4) {
            if (no_threads(group)) continue;
            srs_ev_args_t a;
            const int64_t max_len = ev_args_of(&e.b, &o, &a);
            double *V = malloc(sizeof(double) * (size_t)(np * a.K));
            void *scratch = malloc((size_t)(max_len > 0 ? max_len : 1) * (size_t)a.bps);
            unsigned long long bad = ~0ull;
            a.V = V;
            a.bad = &bad;
            CHECK(srs_ev_emulate(&a, np, scratch, group) == 0, "%s: emulation refused the batch", what[kind]);
            CHECK(bad == ((unsigned long long)row << 3 | (unsigned long long)want[kind]),
                  "%s, group %d: bad word names row %llu kind %llu, want row %lld kind %d", what[kind], group, bad >> 3,
                  bad & 7, (long long)row, want[kind]);
            free(V);
            free(scratch);
        }
        ebatch_free(&e);
        BAIL_IF_FAILED();
    }
    // group sizes the emulation does not have: refused, nothing run
    srs_ev_args_t a;
    memset(&a, 0, sizeof a);
    CHECK(srs_ev_emulate(&a, 0, NULL, 7) == -1, "group 7 accepted");
}

// ----------------------------------------------------------------------------
// the CUDA backend against the CPU backend

// Accumulates b on both backends (into zeroed sums) and compares everything.
static int parity(srs_ctx_t *gpu, const srs_batch_t *b, const srs_eval_opts_t *o, const char *what) {
    size_t len = srs_eval_acc_len(o);
    double *a0 = calloc(len, sizeof(double)), *a1 = calloc(len, sizeof(double));
    srs_status_t s0 = srs_eval_accumulate(t_cpu_ctx(), b, o, a0);
    srs_status_t s1 = srs_eval_accumulate(gpu, b, o, a1);
    CHECK(s0 == SRS_OK, "%s: cpu: %s", what, srs_ctx_last_error(t_cpu_ctx()));
    CHECK(s1 == SRS_OK, "%s: cuda: %s", what, srs_ctx_last_error(gpu));
    int bad = s0 != SRS_OK || s1 != SRS_OK || acc_compare(a0, a1, o, 1e-9, what);
    free(a0);
    free(a1);
    return bad;
}

static void set_env(const char *k, const char *v) {
    if (v) setenv(k, v, 1);
    else unsetenv(k);
}

TEST(cuda_eval_matches_cpu_batches) {
    SKIP_WITHOUT_CUDA(gpu);
    static const int64_t lens[] = {1, 2, 5, 16, 31, 32, 33, 64, 100, 129, 256, 300};
    static const int64_t dense16[] = {16}, dense48[] = {48};
    const ebatch_spec_t specs[] = {
        {dense16, 1, 1, 0, 1, 0, 0},   // dense uniform, gold (the common case)
        {dense48, 1, 1, 0, 0, 1, 0},   // dense float32, no gold
        {lens, 12, 0, 1, 1, 0, 0},     // ragged CSR with n = 1 rows, logw, gold
        {lens, 12, 0, 1, 1, 1, 0},     // the same in float32
        {lens, 12, 0, 0, 0, 0, 0},     // ragged, uniform, no gold
    };
    srs_eval_arm_t arms[16];
    int na = all_arms(arms);
    double betas[] = {0.25, 0.5, 1, 2, 4};
    for (int k = 0; k < 5; k++) {
        ebatch_t e;
        ebatch_make(&e, t_quick() ? 300 : 2000, &specs[k], 10 + (uint64_t)k);
        srs_eval_opts_t o = opts_with(arms, na, betas, 5);
        char what[96];
        snprintf(what, sizeof what, "batch %d", k);
        parity(gpu, &e.b, &o, what);
        ebatch_free(&e);
        BAIL_IF_FAILED();
    }
}

TEST(cuda_eval_matches_cpu_presets_solvers_fixed) {
    SKIP_WITHOUT_CUDA(gpu);
    static const int64_t lens[] = {1, 4, 9, 24, 60, 150};
    const ebatch_spec_t sp = {lens, 6, 0, 1, 1, 0, 0};
    ebatch_t e;
    ebatch_make(&e, t_quick() ? 200 : 800, &sp, 21);
    srs_eval_arm_t arms[16];
    int na = all_arms(arms);
    double betas[] = {0.1, 1, 10};
    static const double Bs[] = {0.3, 5, 400};  // 400 / 0.1: gamma overflows to the max-u limit
    for (int preset = 0; preset < 3; preset++)
        for (int solver = 0; solver < 3; solver++)
            for (int fixed = 0; fixed < 2; fixed++) {
                srs_eval_opts_t o = opts_with(arms, na, betas, 3);
                o.to.preset = (srs_preset_t)preset;
                o.to.solver = (srs_solver_t)solver;
                o.to.B = Bs[(preset + solver + fixed) % 3];
                o.fixed_threshold = fixed;
                o.to.beta = 0.5;
                o.clip = fixed ? 0.7 : -1;
                char what[160];
                snprintf(what, sizeof what, "preset %s, solver %s, B %g, fixed %d", srs_preset_name(o.to.preset),
                         srs_solver_name(o.to.solver), o.to.B, fixed);
                if (parity(gpu, &e.b, &o, what)) goto done;
            }
done:
    ebatch_free(&e);
}

TEST(cuda_eval_long_rows_and_every_tier) {
    SKIP_WITHOUT_CUDA(gpu);
    srs_eval_arm_t arms[16];
    int na = all_arms(arms);
    double betas[] = {0.5, 2};
    // long rows: the block tier and, with gold and best-of-n scratch, the global tier
    static const int64_t longl[] = {700, 3000, 9000};
    const ebatch_spec_t sl[] = {{longl, 3, 0, 0, 1, 0, 0}, {longl, 3, 0, 1, 0, 1, 0}};
    for (int k = 0; k < 2; k++) {
        ebatch_t e;
        ebatch_make(&e, t_quick() ? 8 : 24, &sl[k], 31 + (uint64_t)k);
        srs_eval_opts_t o = opts_with(arms, na, betas, 2);
        o.to.solver = (srs_solver_t)(k + 1);
        parity(gpu, &e.b, &o, k ? "long rows, logw, float32" : "long rows, gold");
        ebatch_free(&e);
        BAIL_IF_FAILED();
    }
    // short rows forced through the slower tiers give the same sums
    static const int64_t lens[] = {1, 3, 16, 40, 256};
    const ebatch_spec_t ss = {lens, 5, 0, 1, 1, 0, 0};
    ebatch_t e;
    ebatch_make(&e, t_quick() ? 150 : 600, &ss, 41);
    for (int k = 0; k < 2; k++) {
        srs_eval_opts_t o = opts_with(arms, na, betas, 2);
        set_env("SRS_CUDA_EVAL_TIER", k ? "global" : "block");
        parity(gpu, &e.b, &o, k ? "short rows in the global tier" : "short rows in the block tier");
        set_env("SRS_CUDA_EVAL_TIER", NULL);
    }
    ebatch_free(&e);
}

TEST(cuda_eval_chunks_first_index_and_calls_accumulate) {
    SKIP_WITHOUT_CUDA(gpu);
    static const int64_t lens[] = {1, 8, 20, 70};
    const ebatch_spec_t sp = {lens, 4, 0, 1, 1, 0, 0};
    ebatch_t e;
    const int64_t np = t_quick() ? 500 : 3000;
    ebatch_make(&e, np, &sp, 51);
    e.b.first_index = 123456789;
    srs_eval_arm_t arms[16];
    int na = all_arms(arms);
    double betas[] = {0.5, 2};
    srs_eval_opts_t o = opts_with(arms, na, betas, 2);
    // many chunks through the two slots
    set_env("SRS_CUDA_EVAL_CHUNK_ROWS", "97");
    parity(gpu, &e.b, &o, "chunks of 97 rows, first_index 123456789");
    set_env("SRS_CUDA_EVAL_CHUNK_ROWS", NULL);
    BAIL_IF_FAILED();
    // two calls add into one accumulator, like the whole batch on the CPU
    size_t len = srs_eval_acc_len(&o);
    double *a0 = calloc(len, sizeof(double)), *a1 = calloc(len, sizeof(double));
    CHECK(srs_eval_accumulate(t_cpu_ctx(), &e.b, &o, a0) == SRS_OK, "cpu");
    int64_t h = np / 3;
    srs_batch_t p1 = e.b, p2 = e.b;
    p1.n_prompts = h;
    p2.n_prompts = np - h;
    p2.offsets = e.b.offsets + h;
    p2.first_index = e.b.first_index + h;
    CHECK(srs_eval_accumulate(gpu, &p1, &o, a1) == SRS_OK, "cuda: %s", srs_ctx_last_error(gpu));
    CHECK(srs_eval_accumulate(gpu, &p2, &o, a1) == SRS_OK, "cuda: %s", srs_ctx_last_error(gpu));
    if (!t_failed_now()) acc_compare(a0, a1, &o, 1e-9, "two calls");
    // the weights follow the global index: another first_index changes the replicates
    memset(a1, 0, len * sizeof(double));
    srs_batch_t sh = e.b;
    sh.first_index = 0;
    CHECK(srs_eval_accumulate(gpu, &sh, &o, a1) == SRS_OK, "cuda: %s", srs_ctx_last_error(gpu));
    const int64_t K = (int64_t)(len / (size_t)(o.replicates + 1));
    const int64_t pt = (int64_t)o.replicates * K + 5;  // proxy of the base arm: replicate 0, point row
    CHECK(fabs(a1[5] - a0[5]) > 1e-9, "replicate sums do not depend on first_index");
    NEAR(a1[pt], a0[pt], 1e-9 * fabs(a0[pt]));  // the point estimate does not
    free(a0);
    free(a1);
    ebatch_free(&e);
}

// Runs b on both backends and checks the same status, message and row.
static void same_error(srs_ctx_t *gpu, const srs_batch_t *b, const srs_eval_opts_t *o, int64_t want_row,
                       const char *what) {
    size_t len = srs_eval_acc_len(o);
    double *acc = calloc(len, sizeof(double));
    srs_status_t s0 = srs_eval_accumulate(t_cpu_ctx(), b, o, acc);
    char e0[SRS_ERR_MAX];
    snprintf(e0, sizeof e0, "%s", srs_ctx_last_error(t_cpu_ctx()));
    int64_t r0 = srs_ctx_error_row(t_cpu_ctx());
    srs_status_t s1 = srs_eval_accumulate(gpu, b, o, acc);
    CHECK(s0 == SRS_ERR_BAD_INPUT && s1 == s0, "%s: status cpu %d cuda %d (%s)", what, s0, s1,
          srs_ctx_last_error(gpu));
    CHECK(r0 == want_row && srs_ctx_error_row(gpu) == want_row, "%s: row cpu %lld cuda %lld, want %lld", what,
          (long long)r0, (long long)srs_ctx_error_row(gpu), (long long)want_row);
    CHECK(strcmp(e0, srs_ctx_last_error(gpu)) == 0, "%s: cpu '%s' vs cuda '%s'", what, e0, srs_ctx_last_error(gpu));
    free(acc);
}

TEST(cuda_eval_bad_rows_reported_like_cpu) {
    SKIP_WITHOUT_CUDA(gpu);
    static const int64_t lens[] = {5, 40, 300, 5000};
    const ebatch_spec_t sp = {lens, 4, 0, 1, 1, 0, 0};
    srs_eval_arm_t arms[16];
    int na = all_arms(arms);
    double beta = 1;
    srs_eval_opts_t o = opts_with(arms, na, &beta, 1);
    const int64_t np = t_quick() ? 400 : 1200;
    for (int kind = 0; kind < 5; kind++) {
        ebatch_t e;
        ebatch_make(&e, np, &sp, 61 + (uint64_t)kind);
        e.b.first_index = 40;
        int64_t row = np / 3 + 37 * kind, s = e.off[row], n = e.off[row + 1] - s;
        const char *what[] = {"NaN reward", "infinite reward", "NaN logw", "NaN gold", "gold and reward"};
        if (kind == 0) e.u[s + n / 2] = NAN;
        else if (kind == 1) e.u[s + n - 1] = INFINITY;
        else if (kind == 2) e.lw[s] = NAN;
        else if (kind == 3) e.g[s + n - 1] = NAN;
        else { e.g[s] = INFINITY; e.u[s + n - 1] = NAN; }  // one row, both: the reward is reported
        e.u[e.off[np - 100]] = NAN;                           // a later bad row must not win
        e.g[e.off[np - 50]] = NAN;
        same_error(gpu, &e.b, &o, 40 + row, what[kind]);
        // the same with the bad row in a later chunk
        set_env("SRS_CUDA_EVAL_CHUNK_ROWS", "64");
        same_error(gpu, &e.b, &o, 40 + row, what[kind]);
        set_env("SRS_CUDA_EVAL_CHUNK_ROWS", NULL);
        ebatch_free(&e);
        BAIL_IF_FAILED();
    }
    // an empty row
    int64_t off[4] = {0, 3, 3, 5};
    double u[5] = {1, 2, 3, 4, 5};
    srs_batch_t b;
    memset(&b, 0, sizeof b);
    b.n_prompts = 3;
    b.offsets = off;
    b.reward = (srs_vec_t){u, SRS_F64};
    same_error(gpu, &b, &o, 1, "empty row");
    // and the backend still works after errors
    b.offsets = (int64_t[]){0, 3, 5};
    b.n_prompts = 2;
    parity(gpu, &b, &o, "after errors");
}
