/*
 * guide_body.cuh — the per-row code of the guided-decoding kernels
 * (guide.cu), written against the group interface (group.cuh) so that it
 * compiles for the device and, as plain C++, for the host: the CPU tests run
 * it with host groups of 1, 5, 32 threads and the kernels' block sizes
 * (guide_emu.cpp).
 *
 *   guide_topk_row    one row's top-k of log_softmax(x / T) by a group: each
 *                     thread keeps a sorted top-k of its strided slice and an
 *                     online log-sum-exp; k rounds of a group argmax over the
 *                     list heads merge them (the order is total, so the
 *                     result does not depend on the group). With values (the
 *                     fused path) rank 0 then gathers the k values and runs
 *                     srs_guide_select_row.
 *   guide_select_one  one row's selection by one thread: srs_guide_select_row,
 *                     the function the CPU backend runs.
 *   guide_vocab_row   one row's whole-vocabulary selection by a group: max
 *                     pass, the statistics passes the design needs, the key
 *                     pass with a group argmax (ties: the smaller id).
 *   guide_head_one    one candidate's value-head column by a group (a warp):
 *                     a dot product in double; guide_add_bias_one the bias
 *                     of one entry of a whole head's values.
 *
 * The arithmetic per entry and per row is include/srs_guide_math.h's; what
 * differs from the CPU backend (host/guide.c) is only the order of the
 * reductions (per thread, then over the group) and the top-k's log-sum-exp,
 * accumulated online in float exp per thread instead of a second pass in
 * double.
 */
#ifndef SRS_KERNELS_GUIDE_BODY_CUH
#define SRS_KERNELS_GUIDE_BODY_CUH

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include "group.cuh"
#include "srs_guide_math.h"

#define SRS_GUIDE_HD __host__ __device__

// The kernels' block sizes (guide.cu); the CPU tests run these group sizes too.
#define TOPK_THREADS 256     // topk_kernel: a block per row
#define VOCAB_THREADS 512    // vocab_kernel: a block per row
#define SELECT_THREADS 128   // select_kernel: a thread per row

// What the threads of a top-k group share: the merged candidates (shared
// memory on the device).
struct GuideTopkShared {
    int32_t ids[SRS_GUIDE_K_MAX];   // (k,) merged ids, then -1 past the usable ones
    float key[SRS_GUIDE_K_MAX];     // (k,) their logits
    float lp[SRS_GUIDE_K_MAX];      // (k,) log-probabilities
    float sc[SRS_GUIDE_K_MAX];      // (k,) gathered values (fused path)
};

template <int E>
SRS_GUIDE_HD __forceinline__ const void *guide_row_ptr(const void *base, int64_t r, int64_t vocab) {
    return (const char *)base + (size_t)r * (size_t)vocab * (E == SRS_ELEM_F32 ? 4 : 2);
}

// ----------------------------------------------------------------------------
// top-k (+ the fused select): row r of logits by group g
//
// values == NULL: writes ids, logp (k,) of row r and flags[r].
// values != NULL: the fused path, writes tokens[r], fused (k,) and ids (the
// candidate ids, when not NULL) of row r, and flags[r].

template <int E, int EV, class Group>
SRS_GUIDE_HD __forceinline__ void guide_topk_row(const Group &g, GuideTopkShared &sh, int64_t r,
                                                 const void *logits, int64_t vocab, double T, int k,
                                                 int32_t *ids, float *logp, uint8_t *flags,
                                                 const void *values, const srs_guide_opts_t &o,
                                                 int32_t *tokens, float *fused) {
    const void *x = guide_row_ptr<E>(logits, r, vocab);
    float lk[SRS_GUIDE_K_MAX];      // (n,) this thread's top keys, best first
    int32_t li[SRS_GUIDE_K_MAX];    // (n,) their ids
    int n = 0;
    unsigned fl = 0;
    float mt = -INFINITY;   // running max of this thread's slice
    double st = 0;          // sum of exp((x - mt) / T), or the count of maxima (T = 0)
    const float invT = T > 0 ? (float)(1.0 / T) : 0.0f;
    for (int64_t v = g.rank; v < vocab; v += Group::size) {
        float f = srs_guide_load(x, E, v);
        if (!(f < INFINITY)) { fl |= SRS_GUIDE_NONFINITE; continue; }   // NaN, +inf
        if (f == -INFINITY) continue;
        if (T > 0) {
            // guards keep extreme T finite: invT may be inf (T < ~3e-39) or 0
            // (T > ~3e38), where 0 * inf or -inf * 0 would give NaN
            if (f > mt) { st = mt == -INFINITY ? 1.0 : st * (double)expf((mt - f) * invT) + 1.0; mt = f; }
            else { float dl = f - mt; st += dl == 0.0f ? 1.0 : (double)expf(dl * invT); }
        } else {
            if (f > mt) { mt = f; st = 1; }
            else if (f == mt) st += 1;
        }
        if (n < k || f > lk[k - 1]) {   // strided ids ascend: a later id never precedes an equal key
            int j = n < k ? n++ : k - 1;
            while (j > 0 && srs_guide_before(f, (int32_t)v, lk[j - 1], li[j - 1])) {
                lk[j] = lk[j - 1];
                li[j] = li[j - 1];
                j--;
            }
            lk[j] = f;
            li[j] = (int32_t)v;
        }
    }
    fl = group_or(g, fl);

    // log-sum-exp (or the count of tied maxima) over the group
    const double M = group_max(g, (double)mt);
    double S[1] = {0};
    if (mt > -INFINITY) S[0] = T > 0 ? st * exp(((double)mt - M) / T) : (mt == M ? st : 0.0);
    g.sum(S);

    // merge: k rounds of the best list head
    int ptr = 0, got = 0;
    for (int round = 0; round < k; round++) {
        float wk = -INFINITY;
        int32_t wi = INT_MAX;
        if (ptr < n) { wk = lk[ptr]; wi = li[ptr]; }
        group_argmax(g, wk, wi);
        if (wi == INT_MAX) break;
        if (ptr < n && li[ptr] == wi) ptr++;
        if (g.rank == 0) { sh.ids[round] = wi; sh.key[round] = wk; }
        got++;
    }
    g.sync();
    for (int j = g.rank; j < k; j += Group::size) {
        float lpj = -INFINITY;
        int32_t id = -1;
        if (j < got) {
            id = sh.ids[j];
            if (T > 0) lpj = (float)(((double)sh.key[j] - M) / T - log(S[0]));
            else lpj = (double)sh.key[j] == M ? (float)-log(S[0]) : -INFINITY;
        }
        sh.ids[j] = id;
        sh.lp[j] = lpj;
        if (values) sh.sc[j] = id >= 0 ? srs_guide_load(guide_row_ptr<EV>(values, r, vocab), EV, id) : 0.0f;
        if (!values) {
            ids[r * k + j] = id;
            logp[r * k + j] = lpj;
        } else if (ids) {
            ids[r * k + j] = id;   // cand_ids of the fused path
        }
    }
    const unsigned cf = fl | (got < k ? (unsigned)SRS_GUIDE_SHORT : 0u) | (got > 0 ? (unsigned)SRS_GUIDE_VALID : 0u);
    if (!values) {
        if (g.rank == 0 && flags) flags[r] = (uint8_t)cf;
        return;
    }
    g.sync();
    if (g.rank == 0) {
        double m = o.m_star ? o.m_star[r] : NAN, b = o.b_eff ? o.b_eff[r] : o.B;
        uint64_t seed = o.seeds ? o.seeds[r] : o.seed;
        int32_t tok;
        unsigned f = srs_guide_select_row(&o, k, sh.ids, sh.lp, sh.sc, m, b, seed, (uint32_t)r, &tok,
                                          fused ? fused + r * k : NULL, NULL);
        f |= cf & (SRS_GUIDE_NONFINITE | SRS_GUIDE_SHORT);
        tokens[r] = tok;
        if (flags) flags[r] = (uint8_t)f;
    }
}

// ----------------------------------------------------------------------------
// select: row r by one thread

SRS_GUIDE_HD __forceinline__ void guide_select_one(const srs_guide_opts_t &o, int64_t r, int k,
                                                   const int32_t *ids, const float *logp, const float *score,
                                                   int32_t *tokens, float *fused, double *m_used,
                                                   uint8_t *flags) {
    double m = o.m_star ? o.m_star[r] : NAN, b = o.b_eff ? o.b_eff[r] : o.B;
    uint64_t seed = o.seeds ? o.seeds[r] : o.seed;
    int32_t tok;
    unsigned f = srs_guide_select_row(&o, k, ids + r * k, logp + r * k, score + r * k, m, b, seed,
                                      (uint32_t)r, &tok, fused ? fused + r * k : NULL,
                                      m_used ? m_used + r : NULL);
    tokens[r] = tok;
    if (flags) flags[r] = (uint8_t)f;
}

// ----------------------------------------------------------------------------
// whole vocabulary: row r by group g; writes tokens[r] and flags[r]

template <int E, int EV, class Group>
SRS_GUIDE_HD __forceinline__ void guide_vocab_row(const Group &g, int64_t r, const srs_guide_opts_t &o,
                                                  const void *logits, const void *values, int64_t vocab,
                                                  double T, int32_t *tokens, uint8_t *flags) {
    const void *x = guide_row_ptr<E>(logits, r, vocab);
    const void *val = guide_row_ptr<EV>(values, r, vocab);
    unsigned fl = 0;
    double xm = -INFINITY;
    for (int64_t v = g.rank; v < vocab; v += Group::size) {
        double f = srs_guide_load(x, E, v);
        if (f != f || f == INFINITY) fl |= SRS_GUIDE_NONFINITE;
        else if (f > xm) xm = f;
    }
    const double xmax = group_max(g, xm);
    fl = group_or(g, fl);
    if (xmax == -INFINITY) {
        if (g.rank == 0) { tokens[r] = -1; if (flags) flags[r] = (uint8_t)fl; }
        return;
    }
    double m = o.m_star ? o.m_star[r] : NAN, b = o.b_eff ? o.b_eff[r] : o.B;
    srs_row_stats_t st = {0, 0, 0, 0, m, b};
    const int d = o.design, uses_m = d == SRS_DESIGN_HARD || d == SRS_DESIGN_SOFT;
    if (srs_guide_needs_stats(o.design)) {
        double s2[2] = {0, 0};                   // weight sum, weighted value sum
        double mn[2] = {INFINITY, INFINITY};     // min value, -(max value)
        for (int64_t v = g.rank; v < vocab; v += Group::size) {
            double s = srs_guide_load(val, EV, v);
            double w = srs_guide_vocab_weight(srs_guide_load(x, E, v), s, T, xmax);
            if (w < 0) continue;
            w = srs_guide_stat_weight(&o, w);
            s2[0] += w;
            s2[1] += w * s;
            mn[0] = fmin(mn[0], s);
            mn[1] = fmin(mn[1], -s);
        }
        g.reduce(s2, mn);
        const double wsum = s2[0];
        st.umin = mn[0];
        st.umax = -mn[1];
        if (wsum == 0) {
            if (g.rank == 0) { tokens[r] = -1; if (flags) flags[r] = (uint8_t)(fl | SRS_GUIDE_BAD_SCORE); }
            return;
        }
        st.mean = s2[1] / wsum;
        if (d == SRS_DESIGN_MEANSTD) {
            double var[1] = {0};
            for (int64_t v = g.rank; v < vocab; v += Group::size) {
                double s = srs_guide_load(val, EV, v);
                double w = srs_guide_vocab_weight(srs_guide_load(x, E, v), s, T, xmax);
                if (w >= 0) var[0] += srs_guide_stat_weight(&o, w) * (s - st.mean) * (s - st.mean);
            }
            g.sum(var);
            st.std = srs_guide_stat_std(&o, sqrt(var[0] / wsum));
        }
    }
    if ((uses_m || d == SRS_DESIGN_MEANSOFT) && (!isfinite(b) || (uses_m && !isfinite(m)))) {
        if (g.rank == 0) { tokens[r] = -1; if (flags) flags[r] = (uint8_t)(fl | SRS_GUIDE_BAD_M); }
        return;
    }
    const double clip = srs_guide_clip(&o);
    const int sample = o.mode == SRS_GUIDE_SAMPLE && o.tau > 0;
    const uint64_t seed = o.seeds ? o.seeds[r] : o.seed;
    double best = -INFINITY;
    int32_t bid = INT_MAX;
    for (int64_t v = g.rank; v < vocab; v += Group::size) {
        double key = srs_guide_vocab_key(&o, srs_guide_load(x, E, v), srs_guide_load(val, EV, v), T, xmax,
                                         &st, clip, sample, seed, (uint32_t)r, (uint32_t)v, &fl);
        if (key > best) { best = key; bid = (int32_t)v; }   // v ascends per thread
    }
    group_argmax(g, best, bid);
    fl = group_or(g, fl);
    if (g.rank == 0) {
        int32_t tok = best > -INFINITY ? bid : -1;
        tokens[r] = tok;
        if (flags) flags[r] = (uint8_t)(tok >= 0 ? fl | SRS_GUIDE_VALID : fl);
    }
}

// ----------------------------------------------------------------------------
// value head: candidate j of row r by group g (a warp on the device)
//
// values[r, j] = hidden[r, :] . head[:, id] + bias[id] for id = ids[r, j]
// (NaN for an id outside the vocabulary). The products of the float-widened
// inputs are exact in double and summed in double, as the CPU backend does
// (there serially, the bias first; here per thread, then over the group).

template <int E, class Group>
SRS_GUIDE_HD __forceinline__ void guide_head_one(const Group &g, const void *hidden, const void *head,
                                                 const float *bias, int64_t d, int64_t vocab,
                                                 const int32_t *ids, int k, int64_t r, int j, float *values) {
    const int32_t id = ids[r * k + j];
    if (id < 0 || id >= vocab) {
        if (g.rank == 0) values[r * k + j] = NAN;
        return;
    }
    const void *h = guide_row_ptr<E>(hidden, r, d);
    double acc[1] = {0};
    for (int64_t i = g.rank; i < d; i += Group::size)
        acc[0] += (double)srs_guide_load(h, E, i) * (double)srs_guide_load(head, E, i * vocab + id);
    g.sum(acc);
    if (g.rank == 0) values[r * k + j] = (float)(acc[0] + (bias ? (double)bias[id] : 0.0));
}

// The bias of a whole value head: entry i of the (rows, vocab) values.
SRS_GUIDE_HD __forceinline__ void guide_add_bias_one(float *values, const float *bias, int64_t vocab, int64_t i) {
    values[i] += bias[i % vocab];
}

#endif // SRS_KERNELS_GUIDE_BODY_CUH
