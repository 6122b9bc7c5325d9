/*
 * eval.c — alignment evaluation: reward designs x follower strengths beta,
 * with Poisson-bootstrap intervals (srs.h, "evaluation").
 *
 * One pass over each row computes every arm x beta. Per row:
 *   - load (cpu.c's loader: validated, shifted d = u - u_0, weights p);
 *   - once: p normalised, the win key v (gold, else u) sorted, the base CDF
 *     of v at every sample (for win rates against the base), best-of-n laws;
 *   - per beta: m* (cpu.c's solver) when hard/soft designs need it, q_raw and
 *     its CDF of v at every sample (for win rates against raw);
 *   - per arm x beta: q ∝ p exp(s/beta) and the eight metrics.
 * The per-prompt metric values of a block of prompts form a matrix V (block,
 * K); the block's Poisson weights a matrix W (R, block); the per-thread sums
 * S (R+1, K) grow by W V (row R: weight 1, the point estimate). That product
 * is the whole cost of the bootstrap: a small dense GEMM per block.
 *
 * Accumulator layout, (R+1) x K doubles, K = 2 + n_betas x n_arms x 8:
 *   column 0: sum of weights (the prompt count in row R), column 1: weighted
 *   count of prompts with gold, then cell (bi, ai), metric m at column
 *   2 + (bi n_arms + ai) 8 + m. Adding accumulators elementwise merges runs.
 *
 * Formulas (q normalised, pn = p normalised, t = s/beta shifted by its max):
 *   KL(q||p) = sum q t - log sum pn e^t           (no per-sample log)
 *   win_tie  = sum_i q_i P_p(v <= v_i),  win = sum_i q_i P_p(v < v_i)
 *   best-of-n on the tie group G of u with F_lt = P_p(u < u_G), mass p_G:
 *     P(max in G) = (F_lt + p_G)^n - F_lt^n, shared in proportion to p within
 *     G (uniform choice among tied draws); KL = sum_G P_G log(P_G / p_G).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#else
static inline int omp_get_num_threads(void) { return 1; }
#endif
#include "internal.h"
#include "srs_math.h"
#include "srs_eval_math.h"

#define BLOCK 32              // prompts per GEMM block
#define KT 8                  // GEMM column tile (doubles)
#define RT 8                  // GEMM replicate tile
#define SMALL_SORT 48         // insertion sort up to this length

// ----------------------------------------------------------------------------
// options

static const char *const metric_names[SRS_MET_COUNT_] = {"proxy", "gold", "kl", "ess",
                                                          "win_tie", "win", "win_tie_raw", "win_raw"};

const char *srs_metric_name(srs_metric_t m) {
    return (unsigned)m < SRS_MET_COUNT_ ? metric_names[m] : "?";
}

srs_eval_opts_t srs_eval_opts_default(void) {
    srs_eval_opts_t o;
    memset(&o, 0, sizeof o);
    o.to = srs_threshold_opts_default();
    o.clip = -1;
    o.replicates = 200;
    o.confidence = 0.95;
    o.seed = 1;
    return o;
}

static int64_t n_cols(const srs_eval_opts_t *o) {
    return 2 + (int64_t)o->n_betas * o->n_arms * SRS_MET_COUNT_;
}

size_t srs_eval_acc_len(const srs_eval_opts_t *o) {
    return (size_t)(o->replicates + 1) * (size_t)n_cols(o);
}

srs_status_t srs_eval_opts_check(srs_ctx_t *ctx, const srs_eval_opts_t *o) {
    if (!o) return srs_fail(ctx, SRS_ERR_INVALID_ARG, "evaluation options are NULL");
    if (o->n_arms < 1 || !o->arms) return srs_fail(ctx, SRS_ERR_INVALID_ARG, "no designs to evaluate");
    if (o->n_betas < 1 || !o->betas) return srs_fail(ctx, SRS_ERR_INVALID_ARG, "no beta to evaluate");
    for (int i = 0; i < o->n_betas; i++)
        if (!(o->betas[i] > 0) || !isfinite(o->betas[i]))
            return srs_fail(ctx, SRS_ERR_INVALID_ARG, "beta must be finite and > 0, got %g", o->betas[i]);
    for (int i = 0; i < o->n_arms; i++) {
        const srs_eval_arm_t *a = &o->arms[i];
        if (a->kind == SRS_ARM_BEST_OF_N) {
            if (a->n < 1 || a->n > 1000000000)
                return srs_fail(ctx, SRS_ERR_INVALID_ARG, "best-of-n needs 1 <= n <= 1e9, got %lld",
                                (long long)a->n);
        } else if (a->kind == SRS_ARM_DESIGN) {
            if ((unsigned)a->design >= SRS_DESIGN_COUNT_)
                return srs_fail(ctx, SRS_ERR_INVALID_ARG, "unknown design %d", (int)a->design);
            if ((a->design == SRS_DESIGN_SOFT || a->design == SRS_DESIGN_MEANSOFT) &&
                (!(a->alpha > 0) || !isfinite(a->alpha)))
                return srs_fail(ctx, SRS_ERR_INVALID_ARG, "alpha must be finite and > 0, got %g", a->alpha);
        } else if (a->kind != SRS_ARM_BASE) {
            return srs_fail(ctx, SRS_ERR_INVALID_ARG, "unknown arm kind %d", (int)a->kind);
        }
    }
    srs_threshold_opts_t to = o->to;
    if (!o->fixed_threshold) to.beta = o->betas[0];  // to.beta unused: any valid value
    srs_status_t st = srs_threshold_opts_check(ctx, &to);
    if (st != SRS_OK) return st;
    if (isnan(o->clip)) return srs_fail(ctx, SRS_ERR_INVALID_ARG, "clip is NaN");
    if (o->replicates < 1 || o->replicates > 1000000)
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "replicates must be in [1, 1e6], got %d", o->replicates);
    if (!(o->confidence > 0) || !(o->confidence < 1))
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "confidence must be in (0, 1), got %g", o->confidence);
    // per-thread sums: keep them well inside memory
    double bytes = (double)(o->replicates + RT) * (double)(n_cols(o) + KT) * 8.0;
    if (bytes > 4e9)
        return srs_fail(ctx, SRS_ERR_INVALID_ARG,
                        "replicates x designs x betas too large (%.3g GB of sums per thread)", bytes / 1e9);
    return SRS_OK;
}

// ----------------------------------------------------------------------------
// per-thread scratch

typedef struct {
    double *d, *p, *td, *tp;   // (L,) cpu.c: shifted rewards, weights, solver scratch
    double *pn;                // (L,) normalised base probabilities
    double *g;                 // (L,) gold
    double *key;               // (L,) win key: gold, else d
    int *ord, *ordu;           // (L,) samples by key / by d, ascending
    double *cle, *clt;         // (L,) P_p(key <= key_i), P_p(key < key_i)
    double *rle, *rlt;         // (L,) the same under q_raw (per beta)
    double *q, *qraw, *s;      // (L,)
    double *sfix;              // (n_arms, L) beta-independent shaped rewards
    double *qbon;              // (n_arms, L) best-of-n laws (rows of bon arms)
    double *fixmet;            // (n_arms, 8) beta-independent metrics (base, best-of-n)
    double *V;                 // (BLOCK, Kp) per-prompt metric values of the block
    double *W;                 // (Rp, BLOCK) Poisson weights of the block
    double *S;                 // (Rp + 1, Kp) sums; row Rp: weight 1
} ev_scratch_t;

static void ev_free(ev_scratch_t *s) {
    void *ptrs[] = {s->d, s->p, s->td, s->tp, s->pn, s->g, s->key, s->ord, s->ordu, s->cle, s->clt,
                    s->rle, s->rlt, s->q, s->qraw, s->s, s->sfix, s->qbon, s->fixmet, s->V, s->W, s->S};
    for (size_t i = 0; i < sizeof ptrs / sizeof ptrs[0]; i++) free(ptrs[i]);
}

static int ev_init(ev_scratch_t *s, int64_t L, int weighted, int n_arms, int64_t Kp, int Rp) {
    memset(s, 0, sizeof s[0]);
    size_t n = (size_t)(L > 0 ? L : 1), db = sizeof(double);
    s->d = malloc(n * db); s->td = malloc(n * db);
    s->p = weighted ? malloc(n * db) : NULL;
    s->tp = weighted ? malloc(n * db) : NULL;
    s->pn = malloc(n * db); s->g = malloc(n * db); s->key = malloc(n * db);
    s->ord = malloc(n * sizeof(int)); s->ordu = malloc(n * sizeof(int));
    s->cle = malloc(n * db); s->clt = malloc(n * db);
    s->rle = malloc(n * db); s->rlt = malloc(n * db);
    s->q = malloc(n * db); s->qraw = malloc(n * db); s->s = malloc(n * db);
    s->sfix = malloc((size_t)n_arms * n * db);
    s->qbon = malloc((size_t)n_arms * n * db);
    s->fixmet = malloc((size_t)n_arms * SRS_MET_COUNT_ * db);
    s->V = calloc((size_t)BLOCK * (size_t)Kp, db);
    s->W = calloc((size_t)Rp * BLOCK, db);
    s->S = calloc((size_t)(Rp + 1) * (size_t)Kp, db);
    return s->d && s->td && (!weighted || (s->p && s->tp)) && s->pn && s->g && s->key && s->ord &&
           s->ordu && s->cle && s->clt && s->rle && s->rlt && s->q && s->qraw && s->s && s->sfix &&
           s->qbon && s->fixmet && s->V && s->W && s->S;
}

// ----------------------------------------------------------------------------
// sorting sample indices by a key, ascending

static int cmp_key(const void *a, const void *b, void *ctx) {
    const double *k = ctx;
    double x = k[*(const int *)a], y = k[*(const int *)b];
    return (x > y) - (x < y);
}

static void sort_idx(int *ord, const double *key, int64_t n) {
    for (int64_t j = 0; j < n; j++) ord[j] = (int)j;
    if (n > SMALL_SORT) {
        qsort_r(ord, (size_t)n, sizeof(int), cmp_key, (void *)key);
        return;
    }
    for (int64_t j = 1; j < n; j++) {
        int x = ord[j];
        double kx = key[x];
        int64_t i = j - 1;
        while (i >= 0 && key[ord[i]] > kx) { ord[i + 1] = ord[i]; i--; }
        ord[i + 1] = x;
    }
}

// For weights w (normalised) and samples sorted by key (ord), the CDF of the
// key under w at every sample: le[i] = P_w(key <= key_i), lt[i] = P_w(key < key_i).
static void cdf_at(const int *ord, const double *key, const double *w, int64_t n, double *le, double *lt) {
    double cum = 0;
    for (int64_t a = 0; a < n;) {
        int64_t b = a;
        double mass = 0, k = key[ord[a]];
        while (b < n && key[ord[b]] == k) mass += w[ord[b++]];
        double lo = cum, hi = fmin(cum + mass, 1.0);
        for (int64_t j = a; j < b; j++) { lt[ord[j]] = lo; le[ord[j]] = hi; }
        cum += mass;
        a = b;
    }
}

// ----------------------------------------------------------------------------
// metrics of one law q over a loaded row

typedef struct {
    const double *d, *pn, *g, *cle, *clt, *rle, *rlt;
    double ref;
    int64_t n;
    int has_gold;
} row_view_t;

// proxy, gold, ess, win_tie, win, win_tie_raw, win_raw of q into m[8] (kl untouched).
// The two metrics against the raw design (rv->rle/rlt: its CDF at this beta).
static void q_metrics_vs_raw(const row_view_t *rv, const double *q, double *m) {
    double wtr = 0, wr = 0;
    for (int64_t j = 0; j < rv->n; j++) {
        wtr += q[j] * rv->rle[j];
        wr += q[j] * rv->rlt[j];
    }
    m[SRS_MET_WIN_TIE_RAW] = wtr;
    m[SRS_MET_WIN_RAW] = wr;
}

// The metrics of q that do not involve the raw design (KL is the caller's).
static void q_metrics(const row_view_t *rv, const double *q, double *m) {
    double eu = 0, eg = 0, q2 = 0, wt = 0, w = 0;
    const double *g = rv->has_gold ? rv->g : rv->d;
    for (int64_t j = 0; j < rv->n; j++) {
        double x = q[j];
        eu += x * rv->d[j];
        eg += x * g[j];
        q2 += x * x;
        wt += x * rv->cle[j];
        w += x * rv->clt[j];
    }
    m[SRS_MET_PROXY] = rv->ref + eu;
    m[SRS_MET_GOLD] = rv->has_gold ? eg : 0.0;
    m[SRS_MET_ESS] = 1.0 / q2;
    m[SRS_MET_WIN_TIE] = wt;
    m[SRS_MET_WIN] = w;
}

// The follower's law q ∝ pn exp(s/beta) into q; returns KL(q||pn).
static double follow(const double *s, const double *pn, int64_t n, double beta, double *q) {
    double smax = -INFINITY;
    for (int64_t j = 0; j < n; j++) smax = s[j] > smax ? s[j] : smax;
    // psum (= 1 up to rounding) makes a constant s give z == psum and KL = 0 exactly
    double ib = 1.0 / beta, z = 0, et = 0, psum = 0;
    for (int64_t j = 0; j < n; j++) {
        double t = (s[j] - smax) * ib;
        double e = pn[j] * exp(t);
        q[j] = e;
        z += e;
        et += e * t;
        psum += pn[j];
    }
    double iz = 1.0 / z;
    for (int64_t j = 0; j < n; j++) q[j] *= iz;
    double kl = et * iz - log(z / psum);
    return kl > 0 ? kl : 0.0;  // rounding can leave -1e-17 for q = p
}

// Best-of-n law into q (samples ordu sorted by d); returns its KL(q||pn).
static double bon_law(const int *ordu, const double *d, const double *pn, int64_t n, int64_t draws,
                      double *q) {
    double cum = 0, kl = 0, tot = 0;
    for (int64_t j = 0; j < n; j++) tot += pn[j];
    double dn = (double)draws;
    for (int64_t a = 0; a < n;) {
        int64_t b = a;
        double pg = 0, k = d[ordu[a]];
        while (b < n && d[ordu[b]] == k) pg += pn[ordu[b++]];
        double flt = cum / tot, fg = pg / tot, fle = flt + fg;
        // fle^n - flt^n = fle^n (1 - (1 - fg/fle)^n), without cancellation
        double P = 0;
        if (fg > 0) P = exp(dn * log(fmin(fle, 1.0))) * -expm1(dn * log1p(-fmin(fg / fle, 1.0)));
        for (int64_t j = a; j < b; j++) q[ordu[j]] = fg > 0 ? P * pn[ordu[j]] / pg : 0.0;
        if (P > 0) kl += P * log(P / fg);
        cum += pg;
        a = b;
    }
    return kl > 0 ? kl : 0.0;
}

// ----------------------------------------------------------------------------
// the CPU accumulation

typedef struct {
    const srs_batch_t *b;
    const srs_eval_opts_t *o;
    int64_t K, Kp;   // columns, padded to KT
    int R, Rp;       // replicates, padded to RT
    int need_m, need_bon, need_std;
    uint64_t T[SRS_POIS_MAX];
} ev_job_t;

// S (Rp+1, Kp) += [W; 1] (Rp+1, nb) x V (nb, Kp): the bootstrap sums of a block.
// A register-tiled micro-kernel: RT replicate rows x one KT-wide vector of
// columns stay in registers while the block's prompts stream past, so each
// value of V is loaded once per RT replicates (gcc vector extension: AVX-512
// as one register, AVX2 as two).
typedef double vkt_t __attribute__((vector_size(KT * sizeof(double))));

static void block_gemm(double *restrict S, const double *restrict W, const double *restrict V, int nb,
                       int Rp, int64_t Kp) {
    for (int r0 = 0; r0 < Rp; r0 += RT) {
        for (int64_t k0 = 0; k0 < Kp; k0 += KT) {
            vkt_t acc[RT];
            for (int r = 0; r < RT; r++) memcpy(&acc[r], S + (int64_t)(r0 + r) * Kp + k0, sizeof(vkt_t));
            for (int c = 0; c < nb; c++) {
                vkt_t v;
                memcpy(&v, V + (int64_t)c * Kp + k0, sizeof v);
                for (int r = 0; r < RT; r++) acc[r] += W[(r0 + r) * BLOCK + c] * v;
            }
            for (int r = 0; r < RT; r++) memcpy(S + (int64_t)(r0 + r) * Kp + k0, &acc[r], sizeof(vkt_t));
        }
    }
    double *pt = S + (int64_t)Rp * Kp;
    for (int c = 0; c < nb; c++) {
        const double *v = V + (int64_t)c * Kp;
        for (int64_t k = 0; k < Kp; k++) pt[k] += v[k];
    }
}

// Bootstrap weights of global prompt gi for every replicate into column c of W.
static void fill_weights(const ev_job_t *jb, double *W, int c, uint64_t gi) {
    for (int r = 0; r < jb->R; r += 4) {
        srs_u32x4_t x = srs_philox_block(jb->o->seed, gi, (uint32_t)(r / 4), SRS_EVAL_STREAM);
        for (int k = 0; k < 4 && r + k < jb->R; k++) W[(r + k) * BLOCK + c] = srs_poisson1(x.v[k], jb->T);
    }
}

// Evaluates row i into the value vector v (K,). Returns 0 or a ROW_* code
// (-1: non-finite gold).
static int eval_row(const ev_job_t *jb, ev_scratch_t *s, int64_t i, double *v) {
    const srs_batch_t *b = jb->b;
    const srs_eval_opts_t *o = jb->o;
    int64_t start, n;
    srs_batch_row(b, i, &start, &n);
    srs_cpu_row_t r;
    double *p = b->logw.data ? s->p : NULL;
    int rc = srs_cpu_load_row(b, start, n, s->d, p, &r);
    if (rc) return rc;
    const double *d = s->d;
    double *pn = s->pn;
    for (int64_t j = 0; j < n; j++) pn[j] = p ? p[j] / r.wsum : 1.0 / (double)n;
    int has_gold = b->gold.data != NULL;
    if (has_gold) {
        double bad = 0;
        for (int64_t j = 0; j < n; j++) {
            double x = b->gold.dtype == SRS_F32 ? (double)((const float *)b->gold.data)[start + j]
                                                : ((const double *)b->gold.data)[start + j];
            s->g[j] = x;
            bad += x - x;
        }
        if (bad != 0 || isnan(bad)) return -1;
    }
    const double *key = has_gold ? s->g : d;
    sort_idx(s->ord, key, n);
    cdf_at(s->ord, key, pn, n, s->cle, s->clt);
    if (jb->need_bon) {
        if (has_gold) sort_idx(s->ordu, d, n);
        else memcpy(s->ordu, s->ord, (size_t)n * sizeof(int));
    }
    row_view_t rv = {d, pn, s->g, s->cle, s->clt, s->rle, s->rlt, r.ref, n, has_gold};

    // row statistics of the designs
    srs_preset_vals_t pv0 = srs_preset_bounds(o->to.preset, o->to.B, o->fixed_threshold ? o->to.beta : o->betas[0],
                                              o->to.cap, r.dmin, r.dmax);
    srs_row_stats_t st = {r.dmin, r.dmax, r.mean, 0.0, 0.0, pv0.b_eff};
    if (jb->need_std) {
        double var = 0;
        for (int64_t j = 0; j < n; j++) var += pn[j] * (d[j] - r.mean) * (d[j] - r.mean);
        st.std = sqrt(var);
    }
    double clip = o->clip >= 0 ? o->clip : o->to.B;
    if (o->fixed_threshold && jb->need_m) {
        srs_preset_vals_t pv = srs_preset_eval(o->to.preset, o->to.B, o->to.beta, o->to.cap, r.dmin, r.dmax);
        st.m_star = srs_cpu_solve_row(&o->to, d, p, n, &r, pv.eps, s->td, s->tp);
    }
    // beta-independent arms: shaped rewards, base and best-of-n laws
    for (int a = 0; a < o->n_arms; a++) {
        const srs_eval_arm_t *arm = &o->arms[a];
        double *sa = s->sfix + (int64_t)a * n, *fm = s->fixmet + a * SRS_MET_COUNT_;
        if (arm->kind == SRS_ARM_DESIGN) {
            int per_beta = !o->fixed_threshold &&
                           (arm->design == SRS_DESIGN_HARD || arm->design == SRS_DESIGN_SOFT);
            if (!per_beta && arm->design != SRS_DESIGN_RAW)
                for (int64_t j = 0; j < n; j++)
                    sa[j] = srs_shape_value(arm->design, d[j], &st, o->to.B, arm->alpha, clip);
        } else {
            double *qa = s->qbon + (int64_t)a * n;
            double kl = 0;
            if (arm->kind == SRS_ARM_BASE) memcpy(qa, pn, (size_t)n * sizeof(double));
            else kl = bon_law(s->ordu, d, pn, n, arm->n, qa);
            // q does not depend on beta: all but the two metrics against raw, once
            q_metrics(&rv, qa, fm);
            fm[SRS_MET_KL] = kl;
        }
    }

    v[0] = 1.0;
    v[1] = has_gold;
    for (int bi = 0; bi < o->n_betas; bi++) {
        double beta = o->betas[bi];
        if (!o->fixed_threshold && jb->need_m) {
            srs_threshold_opts_t to = o->to;
            to.beta = beta;
            srs_preset_vals_t pv = srs_preset_eval(to.preset, to.B, beta, to.cap, r.dmin, r.dmax);
            st.m_star = srs_cpu_solve_row(&to, d, p, n, &r, pv.eps, s->td, s->tp);
            st.b_eff = pv.b_eff;
        }
        double kl_raw = follow(d, pn, n, beta, s->qraw);
        cdf_at(s->ord, key, s->qraw, n, s->rle, s->rlt);
        for (int a = 0; a < o->n_arms; a++) {
            const srs_eval_arm_t *arm = &o->arms[a];
            double *m = v + 2 + ((int64_t)bi * o->n_arms + a) * SRS_MET_COUNT_;
            if (arm->kind != SRS_ARM_DESIGN) {
                memcpy(m, s->fixmet + a * SRS_MET_COUNT_, SRS_MET_COUNT_ * sizeof(double));
                q_metrics_vs_raw(&rv, s->qbon + (int64_t)a * n, m);
                continue;
            }
            if (arm->design == SRS_DESIGN_RAW) {
                q_metrics(&rv, s->qraw, m);
                q_metrics_vs_raw(&rv, s->qraw, m);
                m[SRS_MET_KL] = kl_raw;
                continue;
            }
            const double *sa = s->sfix + (int64_t)a * n;
            if (!o->fixed_threshold && (arm->design == SRS_DESIGN_HARD || arm->design == SRS_DESIGN_SOFT)) {
                for (int64_t j = 0; j < n; j++)
                    s->s[j] = srs_shape_value(arm->design, d[j], &st, o->to.B, arm->alpha, clip);
                sa = s->s;
            }
            m[SRS_MET_KL] = follow(sa, pn, n, beta, s->q);
            q_metrics(&rv, s->q, m);
            q_metrics_vs_raw(&rv, s->q, m);
        }
    }
    return 0;
}

// One row alone, as a batch (for error messages).
static srs_batch_t row_batch(const srs_batch_t *b, int64_t i) {
    srs_batch_t s = *b;
    s.n_prompts = 1;
    s.first_index = b->first_index + i;
    if (b->offsets) {
        s.offsets = b->offsets + i;
        return s;
    }
    srs_vec_t *v[3] = {&s.reward, &s.logw, &s.gold};
    for (int k = 0; k < 3; k++)
        if (v[k]->data)
            v[k]->data = (const char *)v[k]->data + (size_t)(i * b->row_len) * (v[k]->dtype == SRS_F32 ? 4 : 8);
    return s;
}

static srs_status_t cpu_eval_accumulate(srs_ctx_t *ctx, const srs_batch_t *b, const srs_eval_opts_t *o,
                                        double *acc) {
    ev_job_t jb;
    memset(&jb, 0, sizeof jb);
    jb.b = b;
    jb.o = o;
    jb.K = n_cols(o);
    jb.Kp = (jb.K + KT - 1) / KT * KT;
    jb.R = o->replicates;
    jb.Rp = (jb.R + RT - 1) / RT * RT;
    srs_poisson_table(jb.T);
    for (int a = 0; a < o->n_arms; a++) {
        const srs_eval_arm_t *arm = &o->arms[a];
        if (arm->kind == SRS_ARM_BEST_OF_N) jb.need_bon = 1;
        if (arm->kind == SRS_ARM_DESIGN && (arm->design == SRS_DESIGN_HARD || arm->design == SRS_DESIGN_SOFT))
            jb.need_m = 1;
        if (arm->kind == SRS_ARM_DESIGN && arm->design == SRS_DESIGN_MEANSTD) jb.need_std = 1;
    }
    int64_t max_len = b->row_len;
    if (b->offsets) {
        max_len = 0;
        for (int64_t i = 0; i < b->n_prompts; i++)
            if (b->offsets[i + 1] - b->offsets[i] > max_len) max_len = b->offsets[i + 1] - b->offsets[i];
    }
    if (max_len > 0x7fffffff) return srs_fail(ctx, SRS_ERR_INVALID_ARG, "rows longer than 2^31 samples");
    const int64_t n_blocks = (b->n_prompts + BLOCK - 1) / BLOCK;
    int64_t bad_row = INT64_MAX;
    int bad_kind = 0, nomem = 0;

#pragma omp parallel num_threads(ctx->n_threads)
    {
        ev_scratch_t s;
        int ok = ev_init(&s, max_len, b->logw.data != NULL, o->n_arms, jb.Kp, jb.Rp);
        if (!ok) {
#pragma omp atomic write
            nomem = 1;
        }
        // A static partition and thread-ordered reduction make a run bit-for-bit
        // repeatable for a given thread count (dynamic scheduling would hand
        // blocks to threads, and sums to partials, differently every run).
#pragma omp for schedule(static)
        for (int64_t blk = 0; blk < n_blocks; blk++) {
            if (!ok) continue;
            int64_t i0 = blk * BLOCK, nb = b->n_prompts - i0 < BLOCK ? b->n_prompts - i0 : BLOCK;
            int failed = 0;
            for (int64_t c = 0; c < nb; c++) {
                double *v = s.V + c * jb.Kp;
                int rc = eval_row(&jb, &s, i0 + c, v);
                if (rc) {
#pragma omp critical(srs_eval_bad_row)
                    if (i0 + c < bad_row) { bad_row = i0 + c; bad_kind = rc; }
                    failed = 1;
                    break;
                }
                fill_weights(&jb, s.W, (int)c, (uint64_t)(b->first_index + i0 + c));
            }
            if (!failed) block_gemm(s.S, s.W, s.V, (int)nb, jb.Rp, jb.Kp);
        }
        const int n_team = omp_get_num_threads();
#pragma omp for ordered schedule(static, 1)
        for (int t = 0; t < n_team; t++) {  // iteration t runs on thread t, in order
#pragma omp ordered
            if (ok) {
                for (int r = 0; r <= jb.R; r++) {
                    const double *src = s.S + (int64_t)(r == jb.R ? jb.Rp : r) * jb.Kp;
                    double *dst = acc + (int64_t)r * jb.K;
                    for (int64_t k = 0; k < jb.K; k++) dst[k] += src[k];
                }
            }
        }
        ev_free(&s);
    }
    if (nomem) return srs_fail(ctx, SRS_ERR_NOMEM, "out of memory for evaluation buffers");
    if (bad_row == INT64_MAX) return SRS_OK;
    int64_t g = b->first_index + bad_row;
    if (bad_kind > 0) {
        // the threshold path reports the same row with its file-level wording
        srs_batch_t one = row_batch(b, bad_row);
        double m;
        srs_status_t st = srs_cpu_backend.thresholds(ctx, &one, &o->to, &m, NULL);
        if (st != SRS_OK) return st;
        return srs_fail_row(ctx, SRS_ERR_BAD_INPUT, g, "row %lld: bad row", (long long)g);
    }
    int64_t start, n;
    srs_batch_row(b, bad_row, &start, &n);
    for (int64_t j = 0; j < n; j++) {
        double x = b->gold.dtype == SRS_F32 ? (double)((const float *)b->gold.data)[start + j]
                                            : ((const double *)b->gold.data)[start + j];
        if (!isfinite(x))
            return srs_fail_row(ctx, SRS_ERR_BAD_INPUT, g, "row %lld, sample %lld: gold is %g (must be finite)",
                                (long long)g, (long long)j, x);
    }
    return srs_fail_row(ctx, SRS_ERR_BAD_INPUT, g, "row %lld: bad gold", (long long)g);
}

const srs_eval_backend_t srs_eval_cpu_backend = {"cpu", cpu_eval_accumulate};

// ----------------------------------------------------------------------------
// public entry points

// The evaluation backend of ctx: CUDA contexts run the CUDA evaluation
// (host/cuda_eval.c): the same sums as the CPU accumulation above.
static const srs_eval_backend_t *eval_backend(const srs_ctx_t *ctx) {
#ifdef SRS_WITH_CUDA
    if (ctx->be == &srs_cuda_backend) return &srs_eval_cuda_backend;
#endif
    return &srs_eval_cpu_backend;
}

srs_status_t srs_eval_accumulate(srs_ctx_t *ctx, const srs_batch_t *b, const srs_eval_opts_t *o, double *acc) {
    if (!ctx) return SRS_ERR_INVALID_ARG;
    srs_clear_error(ctx);
    srs_status_t st = srs_eval_opts_check(ctx, o);
    if (st == SRS_OK) st = srs_batch_check(ctx, b);
    if (st != SRS_OK) return st;
    if (!acc) return srs_fail(ctx, SRS_ERR_INVALID_ARG, "accumulator is NULL");
    if (b->n_prompts == 0) return SRS_OK;
    return eval_backend(ctx)->accumulate(ctx, b, o, acc);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// Type-7 quantile of sorted x[0..n).
static double quantile(const double *x, int n, double q) {
    if (n == 0) return NAN;
    double h = (n - 1) * q;
    int lo = (int)floor(h);
    if (lo >= n - 1) return x[n - 1];
    return x[lo] + (h - lo) * (x[lo + 1] - x[lo]);
}

srs_status_t srs_eval_finalize(srs_ctx_t *ctx, const srs_eval_opts_t *o, const double *acc,
                               srs_eval_result_t *out) {
    if (!ctx) return SRS_ERR_INVALID_ARG;
    srs_clear_error(ctx);
    srs_status_t st = srs_eval_opts_check(ctx, o);
    if (st != SRS_OK) return st;
    if (!acc || !out) return srs_fail(ctx, SRS_ERR_INVALID_ARG, "accumulator or result is NULL");
    memset(out, 0, sizeof *out);
    const int64_t K = n_cols(o);
    const int R = o->replicates;
    const double *pt = acc + (int64_t)R * K;
    double np = pt[0];
    if (!(np >= 1)) return srs_fail(ctx, SRS_ERR_INVALID_ARG, "no prompts were evaluated");
    int n_cells = o->n_betas * o->n_arms;
    out->cells = malloc(sizeof(srs_est_t) * (size_t)n_cells * SRS_MET_COUNT_);
    double *reps = malloc(sizeof(double) * (size_t)R);
    if (!out->cells || !reps) {
        free(out->cells);
        free(reps);
        out->cells = NULL;
        return srs_fail(ctx, SRS_ERR_NOMEM, "out of memory for evaluation results");
    }
    out->n_betas = o->n_betas;
    out->n_arms = o->n_arms;
    out->n_prompts = (int64_t)llround(np);
    out->has_gold = pt[1] == np;
    const double qlo = (1 - o->confidence) / 2, qhi = 1 - qlo;
    for (int64_t c = 0; c < (int64_t)n_cells * SRS_MET_COUNT_; c++) {
        srs_est_t *e = &out->cells[c];
        if (c % SRS_MET_COUNT_ == SRS_MET_GOLD && !out->has_gold) {
            e->mean = e->lo = e->hi = NAN;
            continue;
        }
        int64_t col = 2 + c;
        e->mean = pt[col] / np;
        int nr = 0;
        for (int r = 0; r < R; r++) {
            double w = acc[(int64_t)r * K];
            if (w > 0) reps[nr++] = acc[(int64_t)r * K + col] / w;  // a replicate that drew no prompt has no mean
        }
        qsort(reps, (size_t)nr, sizeof *reps, cmp_double);
        e->lo = quantile(reps, nr, qlo);
        e->hi = quantile(reps, nr, qhi);
    }
    free(reps);
    return SRS_OK;
}

void srs_eval_result_free(srs_eval_result_t *r) {
    if (!r) return;
    free(r->cells);
    r->cells = NULL;
}

srs_status_t srs_eval(srs_ctx_t *ctx, const srs_batch_t *b, const srs_eval_opts_t *o, srs_eval_result_t *out) {
    if (!ctx) return SRS_ERR_INVALID_ARG;
    srs_clear_error(ctx);
    srs_status_t st = srs_eval_opts_check(ctx, o);
    if (st != SRS_OK) return st;
    double *acc = calloc(srs_eval_acc_len(o), sizeof(double));
    if (!acc) return srs_fail(ctx, SRS_ERR_NOMEM, "out of memory for the evaluation accumulator");
    st = srs_eval_accumulate(ctx, b, o, acc);
    if (st == SRS_OK) st = srs_eval_finalize(ctx, o, acc, out);
    free(acc);
    return st;
}
