/*
 * srs_guide_math.h — the per-row mathematics of a guided-decoding step, shared
 * by the CPU backend (host/guide.c) and the CUDA kernels (kernels/guide.cu).
 *
 * The selection of one row over k <= 64 candidates is written once, here, as
 * host/device code, and both backends run this very function (the GPU with
 * one thread per row, in its final serial step): the same operations in the
 * same order, so the same inputs and seed give the same token on CPU and GPU.
 * Neither compiler contracts a*b+c into an fma here (the Makefile: gcc's
 * -ffp-contract=off, nvcc's --fmad=false for kernels/guide.cu; make check-fma
 * checks the PTX), so both round the same operations. The only thing that may
 * differ is the last bit of exp() and log() between glibc and CUDA's
 * libdevice, which can move a draw only when the uniform lands within a few
 * ulps of a CDF boundary (probability ~1e-15 per draw).
 *
 * Per row, with candidates j (usable: id >= 0, finite logp and score):
 *   w_j     = exp(logp_j - max logp)                  base weights (p = w / W)
 *   stats   umin, umax, mean_p(u), std_p(u) over the usable candidates
 *           (baselines PAPER: unweighted mean and std, std clamped at 1e-6)
 *   m       given m*(x), or the per-step threshold: the root of
 *           F(m) = sum_j p_j w_j(m) (u_j - m) with the preset's gamma, by the
 *           exact sort-based formula max over prefixes of srs_set_value
 *   s_j     srs_guide_shape(opts, u_j, stats, clip)
 *   f_j     logp_j + lambda s_j
 *   greedy  argmax f (ties: the earlier candidate)
 *   sample  pr_j = exp((f_j - max f) / tau), sorted descending (ties: earlier
 *           candidate), top-p keeps the shortest prefix with mass >= top_p;
 *           u = srs_u01 of the Philox block (seed, step, row); the token is
 *           the first kept candidate whose running sum exceeds u * (kept mass),
 *           summed serially in that order.
 */
#ifndef SRS_GUIDE_MATH_H
#define SRS_GUIDE_MATH_H

#include "srs_math.h"

// Philox stream ids (the 4th counter word): the top-k draw uses one block per
// (row, step); the whole-vocabulary Gumbel draw one block per token pair.
#define SRS_GUIDE_STREAM_DRAW 0x67756964u     // "guid"
#define SRS_GUIDE_STREAM_GUMBEL 0x80000000u   // | (token >> 1)

// ----------------------------------------------------------------------------
// ordering of candidates: logit descending, id ascending (a total order, so
// every backend and every merge order gives the same top-k)

SRS_HD int srs_guide_before(float xa, int32_t ia, float xb, int32_t ib) {
    return xa > xb || (xa == xb && ia < ib);
}

// Converts element i of a (vocab-long) row of type e to float.
SRS_HD float srs_guide_load(const void *row, int e, int64_t i) {
    if (e == SRS_ELEM_BF16) return srs_bf16_to_f32(((const uint16_t *)row)[i]);
    if (e == SRS_ELEM_F16) return srs_f16_to_f32(((const uint16_t *)row)[i]);
    return ((const float *)row)[i];
}

// The Philox block of a row's step: per-row seeds leave the row index out,
// so a sequence draws the same numbers wherever it sits in the batch.
SRS_HD srs_u32x4_t srs_guide_block(const srs_guide_opts_t *o, uint64_t seed, uint32_t row,
                                   uint32_t stream) {
    return srs_philox_block(seed, o->step, o->seeds ? 0u : row, stream);
}

// Standard Gumbel noise for token v of a row: two uniforms per Philox block.
SRS_HD double srs_guide_gumbel(const srs_guide_opts_t *o, uint64_t seed, uint32_t row, uint32_t v) {
    srs_u32x4_t r = srs_guide_block(o, seed, row, SRS_GUIDE_STREAM_GUMBEL | (v >> 1));
    double u = (v & 1u) ? srs_u01(r.v[2], r.v[3]) : srs_u01(r.v[0], r.v[1]);
    return -log(-log(u));
}

// ----------------------------------------------------------------------------
// baseline definitions (opts.baselines)

#define SRS_GUIDE_PAPER_EPS 1e-6   // the authors' clamp of a std or a range

// Weight of a usable entry in the design statistics: its base weight w, or 1
// with the authors' unweighted definitions.
SRS_HD double srs_guide_stat_weight(const srs_guide_opts_t *o, double w) {
    return o->baselines == SRS_GUIDE_BASELINES_PAPER ? 1.0 : w;
}

// The std a design divides by: the authors clamp it at 1e-6 (population std).
SRS_HD double srs_guide_stat_std(const srs_guide_opts_t *o, double std) {
    return o->baselines == SRS_GUIDE_BASELINES_PAPER && !(std >= SRS_GUIDE_PAPER_EPS) ? SRS_GUIDE_PAPER_EPS
                                                                                      : std;
}

// The cap design's c: a given clip (>= 0); else B, or no clip (the authors').
SRS_HD double srs_guide_clip(const srs_guide_opts_t *o) {
    if (o->clip >= 0) return o->clip;
    return o->baselines == SRS_GUIDE_BASELINES_PAPER ? INFINITY : o->B;
}

// Shaped score of one entry: srs_shape_value, except that the authors' minmax
// divides by the range clamped at 1e-6 (it moves a score by < 1.01e-6).
SRS_HD double srs_guide_shape(const srs_guide_opts_t *o, double u, const srs_row_stats_t *st, double clip) {
    if (o->design == SRS_DESIGN_MINMAX && o->baselines == SRS_GUIDE_BASELINES_PAPER) {
        double range = st->umax - st->umin;
        double scale = srs_min(o->B, 1.01 * range);
        return srs_minmax_value(u, st->umin, range > SRS_GUIDE_PAPER_EPS ? range : SRS_GUIDE_PAPER_EPS,
                                scale);
    }
    return srs_shape_value(o->design, u, st, o->B, o->alpha, clip);
}

// ----------------------------------------------------------------------------
// per-step threshold over n <= 64 candidates

// Root of F over (u, w) (w unnormalised base weights, eps = 1/gamma): sort by
// u descending (ties by index) and take the largest set value over the
// prefixes (DESIGN.md's exact formula). Works in coordinates shifted by the
// maximum so that sums of large offsets lose nothing. ord: (n,) scratch.
SRS_HD double srs_guide_step_threshold(const double *u, const double *w, int n, double eps,
                                       double umin, double umax, int *ord) {
    for (int i = 0; i < n; i++) {
        int j = i;
        while (j > 0 && u[ord[j - 1]] < u[i]) { ord[j] = ord[j - 1]; j--; }
        ord[j] = i;
    }
    double ts = 0, tp = 0;
    for (int t = 0; t < n; t++) { ts += w[ord[t]] * (u[ord[t]] - umax); tp += w[ord[t]]; }
    double best = -INFINITY, s = 0, p = 0;
    for (int t = 0; t < n; t++) {
        int j = ord[t];
        s += w[j] * (u[j] - umax);
        p += w[j];
        if (p > 0 || eps > 0) {
            double v = srs_set_value(s, p, ts - s, tp - p, eps);
            if (v > best) best = v;
        }
    }
    if (!(best > -INFINITY)) return umax;   // gamma = inf with no mass: the limit is max u
    double m = umax + best;
    return m < umin ? umin : m > umax ? umax : m;
}

// ----------------------------------------------------------------------------
// one row's selection

// Selects a token for one row from k <= SRS_GUIDE_K_MAX candidates.
//   ids, logp, score  (k,) the row's candidates (score NULL: all 0)
//   m_given, b_given  THR_GIVEN threshold and B_eff of the row
//   seed, row         Philox key and row index of the row
//   fused             (k,) output or NULL; *m_used output or NULL
// Returns the flags; *token = -1 when SRS_GUIDE_VALID is not among them.
SRS_HD unsigned srs_guide_select_row(const srs_guide_opts_t *o, int k, const int32_t *ids,
                                     const float *logp, const float *score, double m_given,
                                     double b_given, uint64_t seed, uint32_t row, int32_t *token,
                                     float *fused, double *m_used) {
    double lp[SRS_GUIDE_K_MAX], u[SRS_GUIDE_K_MAX], w[SRS_GUIDE_K_MAX];
    int slot[SRS_GUIDE_K_MAX], ord[SRS_GUIDE_K_MAX];
    unsigned flags = 0;
    int n = 0;
    double lmax = -INFINITY;
    if (fused)
        for (int j = 0; j < k; j++) fused[j] = -INFINITY;
    if (m_used) *m_used = NAN;
    *token = -1;
    for (int j = 0; j < k; j++) {
        double l = logp[j], s = score ? (double)score[j] : 0.0;
        if (ids[j] < 0) { flags |= SRS_GUIDE_SHORT; continue; }
        if (l == -INFINITY) continue;   // a zero-probability candidate (T = 0)
        if (l != l || l == INFINITY) { flags |= SRS_GUIDE_NONFINITE; continue; }
        if (!isfinite(s)) { flags |= SRS_GUIDE_BAD_SCORE; continue; }
        lp[n] = l; u[n] = s; slot[n] = j;
        if (l > lmax) lmax = l;
        n++;
    }
    if (n == 0) return flags;

    // base weights and the statistics a design may need (p-weighted)
    double wsum = 0, umin = u[0], umax = u[0], mean = 0, var = 0;
    for (int i = 0; i < n; i++) {
        w[i] = exp(lp[i] - lmax);
        wsum += w[i];
        umin = u[i] < umin ? u[i] : umin;
        umax = u[i] > umax ? u[i] : umax;
    }
    double ssum = 0;   // the statistics' weights: w, or 1 (baselines PAPER)
    for (int i = 0; i < n; i++) {
        double sw = srs_guide_stat_weight(o, w[i]);
        ssum += sw;
        mean += sw * u[i];
    }
    mean /= ssum;
    for (int i = 0; i < n; i++) var += srs_guide_stat_weight(o, w[i]) * (u[i] - mean) * (u[i] - mean);
    srs_row_stats_t st;
    st.umin = umin; st.umax = umax; st.mean = mean; st.std = srs_guide_stat_std(o, sqrt(var / ssum));
    st.m_star = NAN; st.b_eff = b_given;

    int uses_m = o->design == SRS_DESIGN_HARD || o->design == SRS_DESIGN_SOFT;
    if (uses_m && o->threshold == SRS_GUIDE_THR_STEP) {
        double beta = o->lambda > 0 ? 1.0 / o->lambda : INFINITY;
        srs_preset_vals_t pv = srs_preset_eval(o->preset, o->B, beta, o->cap, umin, umax);
        st.m_star = srs_guide_step_threshold(u, w, n, pv.eps, umin, umax, ord);
        st.b_eff = pv.b_eff;
    } else if (uses_m) {
        st.m_star = m_given;
    }
    if ((uses_m || o->design == SRS_DESIGN_MEANSOFT) &&
        (!isfinite(st.b_eff) || (uses_m && !isfinite(st.m_star))))
        return flags | SRS_GUIDE_BAD_M;
    if (m_used && uses_m) *m_used = st.m_star;

    // fused scores; an overflowing lambda * s is the limit lambda -> inf
    double clip = srs_guide_clip(o), fmax = -INFINITY;
    int best = -1;
    for (int i = 0; i < n; i++) {
        double s = srs_guide_shape(o, u[i], &st, clip);
        double f = lp[i] + o->lambda * s;
        if (f != f) f = -INFINITY;   // 0 * inf cannot occur (lambda finite); defensive
        if (isinf(f)) flags |= SRS_GUIDE_OVERFLOW;
        lp[i] = f;                   // lp now holds the fused score
        if (fused) fused[slot[i]] = (float)f;
        if (f > fmax) { fmax = f; best = i; }
    }
    if (best < 0) return flags;      // every fused score -inf: nothing to choose
    if (o->mode == SRS_GUIDE_GREEDY || o->tau == 0 || fmax == INFINITY) {
        *token = ids[slot[best]];
        return flags | SRS_GUIDE_VALID;
    }

    // sampling: probabilities relative to the best, sorted descending
    for (int i = 0; i < n; i++) {
        double pr = exp((lp[i] - fmax) / o->tau);
        w[i] = pr;
        int j = i;
        while (j > 0 && w[ord[j - 1]] < pr) { ord[j] = ord[j - 1]; j--; }
        ord[j] = i;
    }
    double z = 0;
    for (int t = 0; t < n; t++) z += w[ord[t]];
    int kept = n;
    if (o->top_p < 1) {
        double cum = 0, target = o->top_p * z;
        for (int t = 0; t < n; t++) {
            cum += w[ord[t]];
            if (cum >= target) { kept = t + 1; break; }
        }
    }
    double total = 0;
    for (int t = 0; t < kept; t++) total += w[ord[t]];
    srs_u32x4_t r = srs_guide_block(o, seed, row, SRS_GUIDE_STREAM_DRAW);
    double x = srs_u01(r.v[0], r.v[1]) * total, acc = 0;
    int pick = ord[kept - 1];
    for (int t = 0; t < kept; t++) {
        acc += w[ord[t]];
        if (x < acc) { pick = ord[t]; break; }
    }
    *token = ids[slot[pick]];
    return flags | SRS_GUIDE_VALID;
}

// ----------------------------------------------------------------------------
// whole-vocabulary selection: per-entry terms (the reductions around them are
// the backend's; these give both backends the same per-entry arithmetic)

// Base weight of entry v for the design statistics (p-weighted by the base
// policy), or -1 when v is outside the selection set: a finite logit f and a
// finite value s, and for T = 0 only the tied maxima. The statistics weigh an
// entry by srs_guide_stat_weight of it.
SRS_HD double srs_guide_vocab_weight(double f, double s, double T, double xmax) {
    if (!(f > -INFINITY && f < INFINITY) || !isfinite(s) || (T == 0 && f != xmax)) return -1.0;
    return T > 0 ? exp((f - xmax) / T) : 1.0;
}

// Selection key of entry v: f/T + lambda s(value) (0 + lambda s on the tied
// maxima when T = 0), plus tau times Gumbel noise when sampling, so that the
// argmax over v is a draw from softmax(fused / tau) (Gumbel-max; written as
// fused + tau G rather than fused/tau + G so that tau -> 0 cannot overflow).
// -inf outside the selection set. ORs BAD_SCORE / OVERFLOW into *flags.
SRS_HD double srs_guide_vocab_key(const srs_guide_opts_t *o, double f, double s, double T, double xmax,
                                  const srs_row_stats_t *st, double clip, int sample, uint64_t seed,
                                  uint32_t row, uint32_t v, unsigned *flags) {
    if (!(f > -INFINITY && f < INFINITY)) return -INFINITY;
    if (!isfinite(s)) { *flags |= SRS_GUIDE_BAD_SCORE; return -INFINITY; }
    if (T == 0 && f != xmax) return -INFINITY;
    double fu = (T > 0 ? f / T : 0.0) + o->lambda * srs_guide_shape(o, s, st, clip);
    if (isinf(fu)) *flags |= SRS_GUIDE_OVERFLOW;
    return sample && fu < INFINITY ? fu + o->tau * srs_guide_gumbel(o, seed, row, v) : fu;
}

// Which statistics a design needs over the selection set.
SRS_HD int srs_guide_needs_stats(srs_design_t d) {
    return d == SRS_DESIGN_MINMAX || d == SRS_DESIGN_MEANSTD || d == SRS_DESIGN_CAP ||
           d == SRS_DESIGN_MEANSOFT;
}

#endif // SRS_GUIDE_MATH_H
