/*
 * eval_rows.c — the per-row work of the evaluation (host/eval.c has the
 * options, entry points and finalisation): every reward design x follower
 * strength beta of each row, and the Poisson-bootstrap sums. Compiled once per
 * CPU level (host/dispatch.c): every level sums in the same order.
 *
 * One pass over each row computes every arm x beta. Per row:
 *   - load (host/cpu/solve.c's loader: validated, shifted d = u - u_0, weights p);
 *   - once: p normalised, the win key v (gold, else u) sorted, the base CDF
 *     of v at every sample (for win rates against the base), best-of-n laws;
 *   - per beta: m* (host/cpu/solve.c's solver) when hard/soft designs need it, q_raw and
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
 * The weights pn e^t are at most 1 and, without logw, at least 1/n for the
 * largest s. With logw far apart they can all underflow (logw [0, 800]: pn
 * = [e^-800, 1], and a raw reward larger on the first sample by 12 / beta =
 * 1200 leaves nothing of the second): then the row's law is redone in the
 * log domain, e = exp(log pn + t - A) with A = max(log pn + t), log pn from
 * logw itself (ev_rescue_*). Only then: every other row keeps its bits.
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

// No a * b + c is contracted into an FMA (ISO C's default, -std=c11): the
// levels without FMA must give the same bits as those with it.

#define BLOCK 64              // prompts per GEMM block
#define KT SRS_EVAL_KT        // GEMM column padding (doubles)
#define RT SRS_EVAL_RT        // GEMM replicate padding (a multiple of 4: see fill_weights)
// The GEMM's register tile, per level: RT_IN replicates x NV vectors of VW
// doubles stay in registers (16 of the 32 zmm with AVX-512, 8 of the 16 ymm
// or xmm below it, so nothing spills). Each element still adds its prompts in
// order, one product at a time, so the tile changes no bit.
#if defined(__AVX512F__)
#define VW 8
#define RT_IN 8
#elif defined(__AVX__)
#define VW 4
#define RT_IN 4
#else
#define VW 2
#define RT_IN 4
#endif
#define NV 2                  // GEMM vectors per column tile
#define KT_IN (VW * NV)       // GEMM column tile (doubles)
_Static_assert(KT % KT_IN == 0 && RT % RT_IN == 0, "the register tile must divide the padding");
_Static_assert(RT % 4 == 0, "the replicate padding must hold whole Philox blocks");
#define RANK_SORT_MAX 64      // sort by counting ranks up to this length

// c ? a : b in vectorised loops, the same value either way: AVX-512 masks
// the arms; below it gcc does not vectorise a ?: whose arm holds a
// floating-point operation (it may trap) and would keep the loop scalar, so
// there a select of bits (srs_select). (With AVX-512 the ?: measured faster
// in fixed_lanes.)
#if defined(__AVX512F__)
#define EV_SEL(c, a, b) ((c) ? (a) : (b))
#else
#define EV_SEL(c, a, b) srs_select((c), (a), (b))
#endif



// ----------------------------------------------------------------------------
// lanes: arms evaluated side by side
//
// The arms that are reward designs are evaluated LN at a time, one arm per
// SIMD lane: their shaped rewards sit sample-major (sample j of lane l at
// j*LN + l) and one pass over the samples advances every lane's sums, with
// srs_exp evaluated on a whole vector of arms per sample and no horizontal
// reduction. The base and best-of-n arms (laws that do not depend on beta)
// are stored the same way for their per-beta sums against the raw design.

#define LN 8

// The bootstrap sums only need each distinct per-prompt value once: the
// metrics of the base and best-of-n arms other than the two against raw are
// the same under every beta, so their columns for beta 1, 2, ... are copies
// of beta 0's. Rows write, and the GEMM runs over, the distinct columns only
// (kmap: accumulator column -> distinct column, ev_job_init); a thread's sums
// are expanded to the accumulator's layout when they are added in.
static int metric_depends_on_beta(srs_metric_t m) {
    return m == SRS_MET_WIN_TIE_RAW || m == SRS_MET_WIN_RAW;
}

// ----------------------------------------------------------------------------
// per-thread scratch

typedef struct {
    double *d, *p, *td, *tp;   // (L,) host/cpu/: shifted rewards, weights, solver scratch
    double *pn;                // (L,) normalised base probabilities
    double *g;                 // (L,) gold
    double *key;               // (L,) win key: gold, else d
    int *ord, *ordu;           // (L,) samples by key / by d, ascending
    double *cle, *clt;         // (L,) P_p(key <= key_i), P_p(key < key_i)
    double *rle, *rlt;         // (L,) the same under q_raw (per beta)
    double *qraw, *tmp, *tmp2; // (L,)
    double *SD;                // (ngd, L, LN) shaped rewards of the design lanes
    double *QF;                // (ngf, L, LN) laws of the base / best-of-n lanes
    double *fixmet;            // (n_arms, 8) beta-independent metrics (base, best-of-n)
    double *V;                 // (BLOCK, Up) per-prompt distinct values of the block
    double *W;                 // (BLOCK, Rp) Poisson weights of the block
    double *S;                 // (Rp + 1, Up) sums; row Rp: weight 1
    uint32_t *x;               // Philox words of a prompt, then their Poisson counts
    int *gst;                  // (L+1,) tie groups of d: starts in ordu
    double *gpg;               // (L,) and base masses
    int *kgst;                 // (L+1,) tie groups of the win key: starts in ord
    double *kgpg;              // (L,) and base masses
    double *mb, *bb;           // (n_betas,) m* and B_eff of the row under each beta
    double *lp;                // (L,) log pn from logw (weighted rows, when a law underflows)
    int64_t lp_row;            // the row lp holds, -1: none
} ev_scratch_t;

static void ev_free(ev_scratch_t *s) {
    void *ptrs[] = {s->d, s->p, s->td, s->tp, s->pn, s->g, s->key, s->ord, s->ordu, s->cle, s->clt,
                    s->rle, s->rlt, s->qraw, s->tmp, s->tmp2, s->SD, s->QF, s->fixmet, s->V,
                    s->W, s->S, s->x, s->gst, s->gpg, s->kgst, s->kgpg, s->mb, s->bb, s->lp};
    for (size_t i = 0; i < sizeof ptrs / sizeof ptrs[0]; i++) free(ptrs[i]);
}

static int ev_init(ev_scratch_t *s, int64_t L, int weighted, int n_arms, int n_betas, int ngd, int ngf,
                   int64_t Up, int Rp) {
    memset(s, 0, sizeof s[0]);
    size_t n = (size_t)(L > 0 ? L : 1), db = sizeof(double);
    s->d = malloc(n * db); s->td = malloc(n * db);
    s->p = weighted ? malloc(n * db) : NULL;
    s->tp = weighted ? malloc(n * db) : NULL;
    s->pn = malloc(n * db); s->g = malloc(n * db); s->key = malloc(n * db);
    s->ord = malloc(n * sizeof(int)); s->ordu = malloc(n * sizeof(int));
    s->cle = malloc(n * db); s->clt = malloc(n * db);
    s->rle = malloc(n * db); s->rlt = malloc(n * db);
    s->qraw = malloc(n * db); s->tmp = malloc(n * db); s->tmp2 = malloc(n * db);
    s->SD = malloc((size_t)(ngd > 0 ? ngd : 1) * n * LN * db);
    s->QF = malloc((size_t)(ngf > 0 ? ngf : 1) * n * LN * db);
    s->fixmet = malloc((size_t)n_arms * SRS_MET_COUNT_ * db);
    s->V = calloc((size_t)BLOCK * (size_t)Up, db);
    s->W = calloc((size_t)Rp * BLOCK, db);
    s->S = calloc((size_t)(Rp + 1) * (size_t)Up, db);
    s->x = malloc((size_t)(Rp + 4) * (sizeof(uint32_t) + db));
    s->gst = malloc((n + 1) * sizeof(int));
    s->gpg = malloc(n * db);
    s->kgst = malloc((n + 1) * sizeof(int));
    s->kgpg = malloc(n * db);
    s->mb = malloc((size_t)(n_betas + LN) * db);
    s->bb = malloc((size_t)(n_betas + LN) * db);
    s->lp = weighted ? malloc(n * db) : NULL;
    s->lp_row = -1;
    return s->d && s->td && (!weighted || (s->p && s->tp)) && s->pn && s->g && s->key && s->ord &&
           s->ordu && s->cle && s->clt && s->rle && s->rlt && s->qraw && s->tmp && s->tmp2 && s->SD &&
           s->QF && s->fixmet && s->V && s->W && s->S && s->x && s->gst && s->gpg && s->kgst && s->kgpg && s->mb && s->bb &&
           (!weighted || s->lp);
}

// ----------------------------------------------------------------------------
// sorting sample indices by a key, ascending

static int cmp_key(const void *a, const void *b, void *ctx) {
    const double *k = ctx;
    double x = k[*(const int *)a], y = k[*(const int *)b];
    return (x > y) - (x < y);
}

static void sort_idx(int *ord, const double *key, int64_t n) {
    if (n <= RANK_SORT_MAX) {
        // rank of i = #{j : key_j < key_i, or equal with j < i}: a stable
        // ascending order from compares that vectorise (no mispredicted branches)
        for (int64_t i = 0; i < n; i++) {
            const double ki = key[i];
            int rk = 0;
#pragma omp simd reduction(+:rk)
            for (int64_t j = 0; j < n; j++) rk += (key[j] < ki) | ((key[j] == ki) & (j < i));
            ord[rk] = (int)i;
        }
        return;
    }
    for (int64_t j = 0; j < n; j++) ord[j] = (int)j;
    qsort_r(ord, (size_t)n, sizeof(int), cmp_key, (void *)key);
}

// Tie groups of key in ascending order (ord): group t is ord[gst[t] ..
// gst[t+1]) with mass gpg[t] under w. Returns the number of groups.
static int64_t tie_groups(const int *ord, const double *key, const double *w, int64_t n, int *gst, double *gpg) {
    int64_t ng = 0;
    for (int64_t a = 0; a < n;) {
        int64_t b = a;
        double pg = 0, k = key[ord[a]];
        while (b < n && key[ord[b]] == k) pg += w[ord[b++]];
        gst[ng] = (int)a;
        gpg[ng++] = pg;
        a = b;
    }
    gst[ng] = (int)n;
    return ng;
}

// The CDF of the key under weights w (normalised) at every sample, from its
// tie groups (tie_groups over ord): le[i] = P_w(key <= key_i), lt[i] =
// P_w(key < key_i).
static void cdf_at(const int *ord, const int *gst, int64_t ng, const double *w, double *le, double *lt) {
    double cum = 0;
    for (int64_t t = 0; t < ng; t++) {
        double mass = 0;
        for (int j = gst[t]; j < gst[t + 1]; j++) mass += w[ord[j]];
        double lo = cum, hi = srs_min(cum + mass, 1.0);
        for (int j = gst[t]; j < gst[t + 1]; j++) { lt[ord[j]] = lo; le[ord[j]] = hi; }
        cum += mass;
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

// Logistic function, branch-free on srs_exp (vectorises).
static inline double sigmoid_v(double x) {
    double e = srs_exp(-fabs(x));
    double r = 1.0 / (1.0 + e);
    return srs_select(x >= 0, r, e * r);   // a select of bits: as ?: the loop stays scalar below AVX-512
}

#define BON_POW_MAX 64  // best-of-n up to this n by exact powers (fixed_lanes), beyond by exp/log

// Best-of-n law into q for large n, over the tie groups of u (tie_groups:
// ordu, gst, gpg, ng groups); returns its KL(q||pn). r, P: (ng,) scratch. A tie
// group G of u with mass fg and F_lt below it holds the maximum of n draws with
// probability P_G = fle^n - flt^n, fle = flt + fg, written fle^n (1 - (1 -
// fg/fle)^n) so that it does not cancel; KL = sum_G P_G log(P_G / fg).
static double bon_law(const int *ordu, const int *gst, const double *gpg, int64_t ng, const double *pn,
                      double tot, int64_t draws, double *q, double *r, double *P) {
    double cum = 0, dn = (double)draws;
    for (int64_t t = 0; t < ng; t++) {
        double pg = gpg[t], flt = cum / tot, fg = pg / tot, fle = srs_min(flt + fg, 1.0);
        double Pg = 0, rg = 0;  // P_G and P_G / fg
        if (fg > 0) {
            rg = exp(dn * log(fle)) * -expm1(dn * log1p(-srs_min(fg / fle, 1.0))) / fg;
            Pg = fg * rg;
        }
        double c = fg > 0 ? Pg / pg : 0.0;
        for (int j = gst[t]; j < gst[t + 1]; j++) q[ordu[j]] = c * pn[ordu[j]];
        P[t] = Pg;
        r[t] = Pg > 0 ? rg : 1.0;
        cum += pg;
    }
    double klp[8] = {0};
    int64_t t = 0;
    for (; t + 8 <= ng; t += 8)
#pragma omp simd
        for (int l = 0; l < 8; l++) klp[l] += P[t + l] * srs_log(r[t + l]);
    for (; t < ng; t++) klp[t & 7] += P[t] * srs_log(r[t]);
    double kl = SRS_SUM8(klp);
    return kl > 0 ? kl : 0.0;
}

// ----------------------------------------------------------------------------
// the CPU accumulation

typedef struct {
    const srs_batch_t *b;
    const srs_eval_opts_t *o;
    int64_t K;           // accumulator columns
    int64_t U, Up;       // distinct columns, padded to KT
    int64_t *kmap;       // (K,) distinct column of accumulator column k
    int R, Rp;           // replicates, padded to RT
    int need_m, need_bon, need_std;
    int ngd, ngf;        // lane groups of design arms / of base and best-of-n arms
    int *dlane;          // (ngd * LN) arm of each design lane, -1: padding
    int *flane;          // (ngf * LN) arm of each base / best-of-n lane, -1: padding
    uint64_t T[SRS_POIS_MAX];
    uint32_t T32[SRS_POIS_MAX];  // the table as 32-bit thresholds (every entry is below 2^32)
    int nblk;            // Philox blocks per prompt: ceil(R / 4)
} ev_job_t;

// S (Rp+1, Up) += [W; 1] (Rp+1, nb) x V (nb, Up): the bootstrap sums of a block.
// A register-tiled micro-kernel: RT_IN replicate rows x NV vectors of VW columns
// (KT = NV VW) stay in registers while the block's prompts stream past; per
// prompt NV loads of V and RT broadcasts of W feed RT x NV FMAs (gcc vector
// extension: one AVX-512 register per vector, two AVX2 ones).
typedef double vkt_t __attribute__((vector_size(VW * sizeof(double))));

static void block_gemm(double *restrict S, const double *restrict W, const double *restrict V, int nb,
                       int Rp, int64_t Up) {
    for (int r0 = 0; r0 < Rp; r0 += RT_IN) {
        for (int64_t k0 = 0; k0 < Up; k0 += KT_IN) {
            vkt_t acc[RT_IN][NV];
            for (int r = 0; r < RT_IN; r++)
                for (int q = 0; q < NV; q++)
                    memcpy(&acc[r][q], S + (int64_t)(r0 + r) * Up + k0 + q * VW, sizeof(vkt_t));
            for (int c = 0; c < nb; c++) {
                vkt_t v[NV];
                for (int q = 0; q < NV; q++) memcpy(&v[q], V + (int64_t)c * Up + k0 + q * VW, sizeof(vkt_t));
                const double *w = W + (int64_t)c * Rp + r0;
                for (int r = 0; r < RT_IN; r++) {
                    double wr = w[r];
                    for (int q = 0; q < NV; q++) acc[r][q] += wr * v[q];
                }
            }
            for (int r = 0; r < RT_IN; r++)
                for (int q = 0; q < NV; q++)
                    memcpy(S + (int64_t)(r0 + r) * Up + k0 + q * VW, &acc[r][q], sizeof(vkt_t));
        }
    }
    double *pt = S + (int64_t)Rp * Up;
    for (int c = 0; c < nb; c++) {
        const double *v = V + (int64_t)c * Up;
        for (int64_t k = 0; k < Up; k++) pt[k] += v[k];
    }
}

// Bootstrap weights of global prompt gi into row c of W. The Philox blocks of
// a prompt are independent, so the loops run across blocks in SIMD lanes
// (32x32->64-bit products are one AVX-512 instruction), and each word becomes
// a Poisson(1) count by 32-bit compares against the table. Replicate r =
// 4k + q (word q of block k) sits at position q*nblk + k of the row, and so
// of S: ev_rep_pos maps it back when sums are merged. Positions of
// replicates >= R get weight 0.
static inline int64_t ev_rep_pos(int r, int nblk) { return (int64_t)(r & 3) * nblk + (r >> 2); }

static void fill_weights(const ev_job_t *jb, double *W, int c, uint64_t gi, uint32_t *x) {
    double *w = W + (int64_t)c * jb->Rp;
    const uint64_t seed = jb->o->seed;
    const int nblk = jb->nblk;
#pragma omp simd
    for (int k = 0; k < nblk; k++) {
        srs_u32x4_t y = srs_philox_block(seed, gi, (uint32_t)k, SRS_EVAL_STREAM);
        x[k] = y.v[0];
        x[nblk + k] = y.v[1];
        x[2 * nblk + k] = y.v[2];
        x[3 * nblk + k] = y.v[3];
    }
#pragma omp simd
    for (int i = 0; i < 4 * nblk; i++) {
        uint32_t xv = x[i], k = 0;
        for (int t = 0; t < SRS_POIS_MAX; t++) k += xv >= jb->T32[t];  // a constant count: unrolled
        w[i] = (double)(int32_t)k;
    }
    for (int r = jb->R; r < 4 * nblk; r++) w[ev_rep_pos(r, nblk)] = 0.0;
}

// The base and best-of-n lanes of lane group g, one arm per lane (the base
// is best-of-1): their laws into the group's block of QF, sample-major, and
// every metric that does not depend on beta into fixmet. Per tie group of u,
// with F_lt below it and mass fg, the maximum of n draws lies in the group with
// P = fle^n - flt^n = fg fle^(n-1) G_n(flt/fle), fle = flt + fg, G_n(x) =
// 1 + x + ... + x^(n-1) (positive terms: no cancellation), shared in
// proportion to p within the group; KL = sum P log(P/fg). Powers by binary
// expansion of each lane's n, so lanes with different n run together; n
// beyond BON_POW_MAX goes through bon_law's exp/log form instead.
static void fixed_lanes(const ev_job_t *jb, ev_scratch_t *s, int g, const row_view_t *rv, int64_t ngr) {
    const int64_t n = rv->n;
    const double *pn = rv->pn;
    const int *ordu = s->ordu;
    double *Qg = s->QF + (int64_t)g * n * LN;
    int64_t dr[LN];
    int bits = 1;
    for (int l = 0; l < LN; l++) {
        int a = jb->flane[g * LN + l];
        int64_t k = a >= 0 && jb->o->arms[a].kind == SRS_ARM_BEST_OF_N ? jb->o->arms[a].n : 1;
        dr[l] = k <= BON_POW_MAX ? k : 1;  // the others are redone below
        while (bits < 62 && (dr[l] >> bits) != 0) bits++;
    }
    double tot = 0;
    for (int64_t j = 0; j < n; j++) tot += pn[j];
    double kl[LN] = {0};
    double cum = 0;
    for (int64_t t = 0; t < ngr; t++) {
        const double pg = s->gpg[t], flt = cum / tot, fg = pg / tot;
        const double fle = srs_min(flt + fg, 1.0), x = fle > 0 ? srs_min(flt / fle, 1.0) : 0.0;
        // r = fle^(n-1) G_n(x), both least significant bit first, lanes innermost
        double pw[LN], xp[LN], G[LN], AX[LN], Gb[LN], Xb[LN], coef[LN];
#pragma omp simd
        for (int l = 0; l < LN; l++) {
            pw[l] = 1.0; xp[l] = fle; G[l] = 0.0; AX[l] = 1.0; Gb[l] = 1.0; Xb[l] = x;
        }
        for (int b = 0; b < bits; b++) {
#pragma omp simd
            for (int l = 0; l < LN; l++) {
                pw[l] = EV_SEL(((dr[l] - 1) >> b) & 1, pw[l] * xp[l], pw[l]);
                xp[l] *= xp[l];
                int on = (dr[l] >> b) & 1;
                G[l] = EV_SEL(on, G[l] + AX[l] * Gb[l], G[l]);
                AX[l] = EV_SEL(on, AX[l] * Xb[l], AX[l]);
                Gb[l] *= 1.0 + Xb[l];
                Xb[l] *= Xb[l];
            }
        }
#pragma omp simd
        for (int l = 0; l < LN; l++) {
            double r = pw[l] * G[l], P = fg * r;
            // unconditional arithmetic (P = 0 where r = 0 or pg = 0): a
            // conditional division would keep gcc from vectorising
            kl[l] += P * srs_log(srs_select(r > 0, r, 1.0));
            double c = P / srs_select(pg > 0, pg, 1.0);
            coef[l] = srs_select(dr[l] == 1, 1.0, c);  // best-of-1: q = p exactly
        }
        for (int j = s->gst[t]; j < s->gst[t + 1]; j++) {
            const double pj = pn[ordu[j]];
            double *q = Qg + (int64_t)ordu[j] * LN;
#pragma omp simd
            for (int l = 0; l < LN; l++) q[l] = coef[l] * pj;
        }
        cum += pg;
    }
    // lanes past BON_POW_MAX draws: the scalar law
    for (int l = 0; l < LN; l++) {
        int a = jb->flane[g * LN + l];
        if (a < 0 || jb->o->arms[a].kind != SRS_ARM_BEST_OF_N || jb->o->arms[a].n <= BON_POW_MAX) continue;
        kl[l] = bon_law(ordu, s->gst, s->gpg, ngr, pn, tot, jb->o->arms[a].n, s->qraw, s->tmp, s->tmp2);
        for (int64_t j = 0; j < n; j++) Qg[j * LN + l] = s->qraw[j];
    }
    const double *gv = rv->has_gold ? rv->g : rv->d;
    double eu[LN] = {0}, eg[LN] = {0}, q2[LN] = {0}, wt[LN] = {0}, w[LN] = {0};
    for (int64_t j = 0; j < n; j++) {
        const double dj = rv->d[j], gj = gv[j], a1 = rv->cle[j], a2 = rv->clt[j];
        const double *q = Qg + j * LN;
#pragma omp simd
        for (int l = 0; l < LN; l++) {
            eu[l] += q[l] * dj;
            eg[l] += q[l] * gj;
            q2[l] += q[l] * q[l];
            wt[l] += q[l] * a1;
            w[l] += q[l] * a2;
        }
    }
    for (int l = 0; l < LN; l++) {
        int a = jb->flane[g * LN + l];
        if (a < 0) continue;
        double *m = s->fixmet + a * SRS_MET_COUNT_;
        m[SRS_MET_PROXY] = rv->ref + eu[l];
        m[SRS_MET_GOLD] = rv->has_gold ? eg[l] : 0.0;
        m[SRS_MET_KL] = kl[l] > 0 ? kl[l] : 0.0;
        m[SRS_MET_ESS] = 1.0 / q2[l];
        m[SRS_MET_WIN_TIE] = wt[l];
        m[SRS_MET_WIN] = w[l];
    }
}

// Shaped rewards of design `a` for samples [0, n) of d into lane l of Sg
// (sample-major, LN lanes); the logistic designs through the vectorised
// sigmoid, the others through the shared formula.
static void shape_lane(const srs_eval_arm_t *arm, const double *d, int64_t n, const srs_row_stats_t *st,
                       double B, double clip, double *Sg, int l, double *tmp) {
    if (arm->design == SRS_DESIGN_SOFT || arm->design == SRS_DESIGN_MEANSOFT) {
        double c = arm->design == SRS_DESIGN_SOFT ? st->m_star : st->mean, al = arm->alpha, be = st->b_eff;
#pragma omp simd
        for (int64_t j = 0; j < n; j++) tmp[j] = be * sigmoid_v(al * (d[j] - c));  // contiguous: vectorises
        for (int64_t j = 0; j < n; j++) Sg[j * LN + l] = tmp[j];
    } else if (arm->design == SRS_DESIGN_HARD) {
        double m = st->m_star, be = st->b_eff;
        for (int64_t j = 0; j < n; j++) Sg[j * LN + l] = d[j] >= m ? be : 0.0;
    } else if (arm->design == SRS_DESIGN_RAW) {
        for (int64_t j = 0; j < n; j++) Sg[j * LN + l] = d[j];
    } else {
        for (int64_t j = 0; j < n; j++) Sg[j * LN + l] = srs_shape_value(arm->design, d[j], st, B, arm->alpha, clip);
    }
}

// m* and B_eff under every beta of the sweep, exact, for a short row: with the
// samples in descending order of d (asc reversed), m* is the largest value of
// a top-k set, k = 0..n (DESIGN.md's sort-based exact solver). Betas run in
// lanes; the largest ratio is tracked by cross-multiplication (denominators
// are >= 0) and divided out once. Weights p (unnormalised) or 1.
static void exact_all_betas(const srs_eval_opts_t *o, const double *d, const double *p, int64_t n,
                            const int *asc, const srs_cpu_row_t *r, double *mb, double *bb) {
    double T = 0, Pt = 0;
    for (int64_t k = n - 1; k >= 0; k--) {
        double w = p ? p[asc[k]] : 1.0;
        T += w * d[asc[k]];
        Pt += w;
    }
    for (int b0 = 0; b0 < o->n_betas; b0 += LN) {
        const int nl = o->n_betas - b0 < LN ? o->n_betas - b0 : LN;
        double lg[LN], eps[LN], bn[LN], bd[LN];
        for (int l = 0; l < LN; l++) {
            srs_preset_vals_t pv = srs_preset_bounds(o->to.preset, o->to.B, o->betas[b0 + (l < nl ? l : 0)],
                                                     o->to.cap, r->dmin, r->dmax);
            lg[l] = pv.lg;
            if (l < nl) bb[b0 + l] = pv.b_eff;
        }
#pragma omp simd
        for (int l = 0; l < LN; l++) {
            eps[l] = srs_exp(-lg[l]);
            bn[l] = T;   // k = n: every sample active
            bd[l] = Pt;
        }
        double S = 0, P = 0;
        for (int64_t k = 0; k < n; k++) {  // the top-k set, k = 0..n-1
#pragma omp simd
            for (int l = 0; l < LN; l++) {
                double num = S + eps[l] * (T - S), den = P + eps[l] * (Pt - P);
                int better = num * bd[l] > bn[l] * den;
                bn[l] = better ? num : bn[l];
                bd[l] = better ? den : bd[l];
            }
            int64_t i = asc[n - 1 - k];
            double w = p ? p[i] : 1.0;
            S += w * d[i];
            P += w;
        }
        for (int l = 0; l < nl; l++) {
            double m = r->dmax == r->dmin ? r->dmin : bn[l] / bd[l];
            mb[b0 + l] = srs_min(srs_max(m, r->dmin), r->dmax);
        }
    }
}

// ----------------------------------------------------------------------------
// laws whose weights underflow (weighted rows only; see the top of the file)

// A normaliser below this is redone in the log domain. Above it the largest
// weight is at least EV_TINY / n, so sum e^2 stays a normal number.
#define EV_TINY 0x1p-400
// t = (s - max s) / beta is clamped here: for tiny beta and a wide reward
// range it overflows to -inf, and e t would be 0 x -inf = NaN. e is 0
// either way (t < -746), so no sum changes.
#define EV_T_MIN -1e300

// log pn of row i (samples [start, start + n) of b) into s->lp, once per
// row: logw - max logw - log(sum exp(logw - max logw)), the exact logarithm
// of the loader's weights p / wsum.
static const double *ev_log_pn(ev_scratch_t *s, const srs_batch_t *b, int64_t i, int64_t start, int64_t n,
                               double wsum) {
    if (s->lp_row == i) return s->lp;
    double lmax = -INFINITY;
    for (int64_t j = 0; j < n; j++) {
        double x = b->logw.dtype == SRS_F32 ? (double)((const float *)b->logw.data)[start + j]
                                            : ((const double *)b->logw.data)[start + j];
        s->lp[j] = x;
        lmax = srs_max(lmax, x);
    }
    const double lw = srs_log(wsum);
    for (int64_t j = 0; j < n; j++) s->lp[j] = (s->lp[j] - lmax) - lw;
    s->lp_row = i;
    return s->lp;
}

// The raw design's law q (n,) from log pn when pn e^t underflowed.
static void ev_rescue_raw(const double *lp, const double *d, int64_t n, double dmax, double ib, double *q) {
    double A = -INFINITY, z = 0;
    for (int64_t j = 0; j < n; j++) A = srs_max(A, lp[j] + (d[j] - dmax) * ib);
    for (int64_t j = 0; j < n; j++) {
        double e = srs_exp(lp[j] + (d[j] - dmax) * ib - A);
        q[j] = e;
        z += e;
    }
    double iz = 1.0 / z;
    for (int64_t j = 0; j < n; j++) q[j] *= iz;
}

// The unnormalised sums of a design lane (see eval_row) and lz, the log of
// its normaliser relative to sum pn.
typedef struct {
    double z, et, e2, ed, eg, wt, w, wtr, wr, lz;
} ev_sums_t;

// Lane l of Sg from log pn when pn e^t underflowed: e = exp(log pn + t -
// A), A = max(log pn + t), so the largest e is 1; the sums are those of pn
// e^t times e^-A, and lz = A + log z.
static void ev_rescue_lane(const double *lp, const double *Sg, int l, double smax, double ib,
                           const row_view_t *rv, const double *gv, ev_sums_t *o) {
    const int64_t n = rv->n;
    double A = -INFINITY;
    for (int64_t j = 0; j < n; j++) A = srs_max(A, lp[j] + srs_max((Sg[j * LN + l] - smax) * ib, EV_T_MIN));
    memset(o, 0, sizeof *o);
    for (int64_t j = 0; j < n; j++) {
        const double t = srs_max((Sg[j * LN + l] - smax) * ib, EV_T_MIN);
        const double e = srs_exp(lp[j] + t - A);
        o->z += e;
        o->et += e * t;
        o->e2 += e * e;
        o->ed += e * rv->d[j];
        o->eg += e * gv[j];
        o->wt += e * rv->cle[j];
        o->w += e * rv->clt[j];
        o->wtr += e * rv->rle[j];
        o->wr += e * rv->rlt[j];
    }
    o->lz = A + srs_log(o->z);
}

// Evaluates row i into v, its row of the block's distinct values (Up,).
// Returns 0 or a ROW_* code (-1: non-finite gold).
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
    double psum = 0;
    for (int64_t j = 0; j < n; j++) psum += pn[j];
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
    const double *gv = has_gold ? s->g : d;   // what the gold sums run over (ignored without gold)
    sort_idx(s->ord, key, n);
    const int64_t nkg = tie_groups(s->ord, key, pn, n, s->kgst, s->kgpg);  // groups of the win key
    cdf_at(s->ord, s->kgst, nkg, pn, s->cle, s->clt);
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
    const double clip = o->clip >= 0 ? o->clip : o->to.B;
    if (o->fixed_threshold && jb->need_m) {
        srs_preset_vals_t pv = srs_preset_eval(o->to.preset, o->to.B, o->to.beta, o->to.cap, r.dmin, r.dmax);
        st.m_star = srs_cpu_solve_row(&o->to, d, p, n, &r, pv.eps, s->td, s->tp);
    }
    const int per_beta_m = !o->fixed_threshold && jb->need_m;

    // beta-independent design lanes (padding lanes: 0, a constant reward)
    for (int g = 0; g < jb->ngd; g++) {
        double *Sg = s->SD + (int64_t)g * n * LN;
        for (int l = 0; l < LN; l++) {
            int a = jb->dlane[g * LN + l];
            const srs_eval_arm_t *arm = a >= 0 ? &o->arms[a] : NULL;
            if (!arm) {
                for (int64_t j = 0; j < n; j++) Sg[j * LN + l] = 0.0;
            } else if (!(per_beta_m && (arm->design == SRS_DESIGN_HARD || arm->design == SRS_DESIGN_SOFT))) {
                shape_lane(arm, d, n, &st, o->to.B, clip, Sg, l, s->tmp);
            }
        }
    }
    // base and best-of-n laws and their metrics but the two against raw, once
    if (jb->ngf > 0) {
        // tie groups of u for best-of-n; the base alone is one group of all samples
        // (its law is p whatever the groups)
        int64_t ngr = 1;
        if (jb->need_bon) {
            ngr = tie_groups(s->ordu, d, pn, n, s->gst, s->gpg);
        } else {
            for (int64_t j = 0; j < n; j++) s->ordu[j] = (int)j;
            s->gst[0] = 0;
            s->gst[1] = (int)n;
            s->gpg[0] = psum;
        }
        for (int g = 0; g < jb->ngf; g++) fixed_lanes(jb, s, g, &rv, ngr);
    }

    v[jb->kmap[0]] = 1.0;
    v[jb->kmap[1]] = has_gold;
    // thresholds of every beta at once for short rows and the exact solver
    const int all_betas = per_beta_m && o->to.solver == SRS_SOLVER_EXACT && n <= RANK_SORT_MAX;
    if (all_betas) {
        const int *asc = s->ordu;
        if (!jb->need_bon) {  // ordu holds no order of d: sort now (ord is by gold when there is gold)
            if (has_gold) sort_idx(s->ordu, d, n);
            else asc = s->ord;
        }
        exact_all_betas(o, d, p, n, asc, &r, s->mb, s->bb);
    }

    for (int bi = 0; bi < o->n_betas; bi++) {
        const double beta = o->betas[bi], ib = 1.0 / beta;
        if (per_beta_m) {
            if (all_betas) {
                st.m_star = s->mb[bi];
                st.b_eff = s->bb[bi];
            } else {
                srs_threshold_opts_t to = o->to;
                to.beta = beta;
                srs_preset_vals_t pv = srs_preset_eval(to.preset, to.B, beta, to.cap, r.dmin, r.dmax);
                st.m_star = srs_cpu_solve_row(&to, d, p, n, &r, pv.eps, s->td, s->tp);
                st.b_eff = pv.b_eff;
            }
            for (int g = 0; g < jb->ngd; g++)
                for (int l = 0; l < LN; l++) {
                    int a = jb->dlane[g * LN + l];
                    if (a >= 0 && (o->arms[a].design == SRS_DESIGN_HARD || o->arms[a].design == SRS_DESIGN_SOFT))
                        shape_lane(&o->arms[a], d, n, &st, o->to.B, clip, s->SD + (int64_t)g * n * LN, l, s->tmp);
                }
        }
        // the raw design's law, for the win rates against it
        {
            double zp[8] = {0}, *q = s->qraw, dmax = r.dmax;
            int64_t jj = 0;
            for (; jj + 8 <= n; jj += 8)
#pragma omp simd
                for (int l = 0; l < 8; l++) {
                    double e = pn[jj + l] * srs_exp((d[jj + l] - dmax) * ib);
                    q[jj + l] = e;
                    zp[l] += e;
                }
            for (; jj < n; jj++) {
                double e = pn[jj] * srs_exp((d[jj] - dmax) * ib);
                q[jj] = e;
                zp[jj & 7] += e;
            }
            const double zs = SRS_SUM8(zp);
            if (p && !(zs >= EV_TINY)) {
                ev_rescue_raw(ev_log_pn(s, b, i, start, n, r.wsum), d, n, dmax, ib, q);
            } else {
                double iz = 1.0 / zs;
                for (int64_t j = 0; j < n; j++) q[j] *= iz;
            }
            cdf_at(s->ord, s->kgst, nkg, q, s->rle, s->rlt);
        }
        // base and best-of-n lanes: the sums against raw
        for (int g = 0; g < jb->ngf; g++) {
            const double *Qg = s->QF + (int64_t)g * n * LN;
            double wt[LN] = {0}, w[LN] = {0};
            for (int64_t j = 0; j < n; j++) {
                double a = s->rle[j], c = s->rlt[j];
#pragma omp simd
                for (int l = 0; l < LN; l++) {
                    wt[l] += Qg[j * LN + l] * a;
                    w[l] += Qg[j * LN + l] * c;
                }
            }
            for (int l = 0; l < LN; l++) {
                int a = jb->flane[g * LN + l];
                if (a < 0) continue;
                // distinct columns only (ev_job_init): beta 0 gets all eight
                // metrics, later betas the two against raw
                int64_t col = 2 + ((int64_t)bi * o->n_arms + a) * SRS_MET_COUNT_;
                if (bi == 0) memcpy(v + jb->kmap[col], s->fixmet + a * SRS_MET_COUNT_, SRS_MET_COUNT_ * sizeof(double));
                v[jb->kmap[col + SRS_MET_WIN_TIE_RAW]] = wt[l];
                v[jb->kmap[col + SRS_MET_WIN_RAW]] = w[l];
            }
        }
        // design lanes: q ∝ pn exp((s - max s)/beta), every metric from unnormalised sums
        for (int g = 0; g < jb->ngd; g++) {
            const double *Sg = s->SD + (int64_t)g * n * LN;
            double smax[LN];
            for (int l = 0; l < LN; l++) smax[l] = -INFINITY;
            for (int64_t j = 0; j < n; j++) {
#pragma omp simd
                for (int l = 0; l < LN; l++) smax[l] = srs_max(smax[l], Sg[j * LN + l]);
            }
            double z[LN] = {0}, et[LN] = {0}, e2[LN] = {0}, ed[LN] = {0}, eg[LN] = {0};
            double wt[LN] = {0}, w[LN] = {0}, wtr[LN] = {0}, wr[LN] = {0};
            for (int64_t j = 0; j < n; j++) {
                const double pj = pn[j], dj = d[j], gj = gv[j];
                const double a1 = s->cle[j], a2 = s->clt[j], a3 = s->rle[j], a4 = s->rlt[j];
#pragma omp simd
                for (int l = 0; l < LN; l++) {
                    double t = srs_max_sel((Sg[j * LN + l] - smax[l]) * ib, EV_T_MIN);
                    double e = pj * srs_exp(t);
                    z[l] += e;
                    et[l] += e * t;
                    e2[l] += e * e;
                    ed[l] += e * dj;
                    eg[l] += e * gj;
                    wt[l] += e * a1;
                    w[l] += e * a2;
                    wtr[l] += e * a3;
                    wr[l] += e * a4;
                }
            }
            double lz[LN];
#pragma omp simd
            for (int l = 0; l < LN; l++) lz[l] = srs_log(z[l] / psum);
            for (int l = 0; p && l < LN; l++) {
                if (z[l] >= EV_TINY || jb->dlane[g * LN + l] < 0) continue;
                ev_sums_t u;
                ev_rescue_lane(ev_log_pn(s, b, i, start, n, r.wsum), Sg, l, smax[l], ib, &rv, gv, &u);
                z[l] = u.z; et[l] = u.et; e2[l] = u.e2; ed[l] = u.ed; eg[l] = u.eg;
                wt[l] = u.wt; w[l] = u.w; wtr[l] = u.wtr; wr[l] = u.wr; lz[l] = u.lz;
            }
            for (int l = 0; l < LN; l++) {
                int a = jb->dlane[g * LN + l];
                if (a < 0) continue;
                double *m = v + jb->kmap[2 + ((int64_t)bi * o->n_arms + a) * SRS_MET_COUNT_];  // 8 distinct columns
                double iz = 1.0 / z[l];
                double kl = et[l] * iz - lz[l];
                m[SRS_MET_PROXY] = r.ref + ed[l] * iz;
                m[SRS_MET_GOLD] = has_gold ? eg[l] * iz : 0.0;
                m[SRS_MET_KL] = kl > 0 ? kl : 0.0;  // rounding can leave -1e-17 for q = p
                m[SRS_MET_ESS] = z[l] * z[l] / e2[l];
                m[SRS_MET_WIN_TIE] = wt[l] * iz;
                m[SRS_MET_WIN] = w[l] * iz;
                m[SRS_MET_WIN_TIE_RAW] = wtr[l] * iz;
                m[SRS_MET_WIN_RAW] = wr[l] * iz;
            }
        }
    }
    return 0;
}


static void ev_job_free(ev_job_t *jb) {
    free(jb->kmap);
    free(jb->dlane);
    free(jb->flane);
}

// Lanes and distinct columns of the options. Returns 0 on success.
static int ev_job_init(ev_job_t *jb, const srs_batch_t *b, const srs_eval_opts_t *o) {
    memset(jb, 0, sizeof *jb);
    jb->b = b;
    jb->o = o;
    jb->K = srs_eval_n_cols(o);
    jb->R = o->replicates;
    jb->Rp = (jb->R + RT - 1) / RT * RT;  // >= 4 nblk: RT is a multiple of 4
    jb->nblk = (jb->R + 3) / 4;
    srs_poisson_table(jb->T);
    for (int t = 0; t < SRS_POIS_MAX; t++) {
        if (jb->T[t] >= ((uint64_t)1 << 32)) return 1;  // the Poisson(1) table has none: cannot happen
        jb->T32[t] = (uint32_t)jb->T[t];
    }
    int nd = 0, nf = 0;
    for (int a = 0; a < o->n_arms; a++) {
        const srs_eval_arm_t *arm = &o->arms[a];
        if (arm->kind == SRS_ARM_DESIGN) nd++;
        else nf++;
        if (arm->kind == SRS_ARM_BEST_OF_N) jb->need_bon = 1;
        if (arm->kind == SRS_ARM_DESIGN && (arm->design == SRS_DESIGN_HARD || arm->design == SRS_DESIGN_SOFT))
            jb->need_m = 1;
        if (arm->kind == SRS_ARM_DESIGN && arm->design == SRS_DESIGN_MEANSTD) jb->need_std = 1;
    }
    jb->ngd = (nd + LN - 1) / LN;
    jb->ngf = (nf + LN - 1) / LN;
    jb->dlane = malloc(sizeof(int) * (size_t)(jb->ngd * LN + 1));
    jb->flane = malloc(sizeof(int) * (size_t)(jb->ngf * LN + 1));
    jb->kmap = malloc(sizeof(int64_t) * (size_t)jb->K);
    if (!jb->dlane || !jb->flane || !jb->kmap) return 1;
    for (int k = 0; k < jb->ngd * LN; k++) jb->dlane[k] = -1;
    for (int k = 0; k < jb->ngf * LN; k++) jb->flane[k] = -1;
    nd = nf = 0;
    for (int a = 0; a < o->n_arms; a++) {
        if (o->arms[a].kind == SRS_ARM_DESIGN) jb->dlane[nd++] = a;
        else jb->flane[nf++] = a;
    }
    int64_t U = 0;
    for (int64_t k = 0; k < jb->K; k++) {
        int64_t src = k;
        if (k >= 2) {
            int64_t c = (k - 2) / SRS_MET_COUNT_, bi = c / o->n_arms, a = c % o->n_arms;
            srs_metric_t m = (srs_metric_t)((k - 2) % SRS_MET_COUNT_);
            if (bi > 0 && o->arms[a].kind != SRS_ARM_DESIGN && !metric_depends_on_beta(m))
                src = 2 + a * SRS_MET_COUNT_ + m;  // beta 0's column of the same arm
        }
        jb->kmap[k] = src == k ? U++ : jb->kmap[src];
    }
    jb->U = U;
    jb->Up = (U + KT - 1) / KT * KT;
    return 0;
}

static srs_status_t cpu_eval_accumulate(srs_ctx_t *ctx, const srs_batch_t *b, const srs_eval_opts_t *o,
                                        double *acc) {
    ev_job_t jb;
    if (ev_job_init(&jb, b, o)) {
        ev_job_free(&jb);
        return srs_fail(ctx, SRS_ERR_NOMEM, "out of memory for evaluation tables");
    }
    int64_t max_len = b->row_len;
    if (b->offsets) {
        max_len = 0;
        for (int64_t i = 0; i < b->n_prompts; i++)
            if (b->offsets[i + 1] - b->offsets[i] > max_len) max_len = b->offsets[i + 1] - b->offsets[i];
    }
    if (max_len > 0x7fffffff) {
        ev_job_free(&jb);
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "rows longer than 2^31 samples");
    }
    const int64_t n_blocks = (b->n_prompts + BLOCK - 1) / BLOCK;
    int64_t bad_row = INT64_MAX;
    int bad_kind = 0, nomem = 0;

#pragma omp parallel num_threads(ctx->n_threads)
    {
        ev_scratch_t s;
        int ok = ev_init(&s, max_len, b->logw.data != NULL, o->n_arms, o->n_betas, jb.ngd, jb.ngf, jb.Up, jb.Rp);
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
                int rc = eval_row(&jb, &s, i0 + c, s.V + c * jb.Up);
                if (rc) {
#pragma omp critical(srs_eval_bad_row)
                    if (i0 + c < bad_row) { bad_row = i0 + c; bad_kind = rc; }
                    failed = 1;
                    break;
                }
                fill_weights(&jb, s.W, (int)c, (uint64_t)(b->first_index + i0 + c), s.x);
            }
            if (!failed) block_gemm(s.S, s.W, s.V, (int)nb, jb.Rp, jb.Up);
        }
        const int n_team = omp_get_num_threads();
#pragma omp for ordered schedule(static, 1)
        for (int t = 0; t < n_team; t++) {  // iteration t runs on thread t, in order
#pragma omp ordered
            if (ok) {
                for (int r = 0; r <= jb.R; r++) {
                    const double *src = s.S + (r == jb.R ? jb.Rp : ev_rep_pos(r, jb.nblk)) * jb.Up;
                    double *dst = acc + (int64_t)r * jb.K;
                    for (int64_t k = 0; k < jb.K; k++) dst[k] += src[jb.kmap[k]];
                }
            }
        }
        ev_free(&s);
    }
    ev_job_free(&jb);
    if (nomem) return srs_fail(ctx, SRS_ERR_NOMEM, "out of memory for evaluation buffers");
    if (bad_row == INT64_MAX) return SRS_OK;
    int64_t g = b->first_index + bad_row;
    if (bad_kind > 0) {
        // the threshold path reports the same row with its file-level wording
        srs_batch_t one = srs_batch_one_row(b, bad_row);
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

