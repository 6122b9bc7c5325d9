/*
 * guide_emu.cpp — the guided-decoding kernels' per-row code run on the CPU,
 * for the tests (no GPU needed): guide_body.cuh compiled as plain C++, with a
 * one-thread group or G host threads in place of a block (group.cuh), and
 * the select kernel's grid as host threads that each take their own rows.
 * What only a GPU can check is left: the device groups (shuffles,
 * __syncthreads), shared memory and the launchers.
 *
 * Built by the host C++ compiler into the test program, in every build
 * (CPU-only and sanitizer builds included), with -ffp-contract=off as the
 * CPU backend is (the Makefile); not part of the library.
 */
#include <stdint.h>
#include <thread>
#include <vector>
#include "guide_body.cuh"
#include "guide_emu.h"

namespace {

// Rows 0 .. rows-1, each by a group of G threads (a kernel's blocks, one
// after another): f(group, scratch, row).
template <int G, class F>
void each_row(int64_t rows, F f) {
    GuideTopkShared scratch;
    if (G == 1) {
        SeqGroup g;
        for (int64_t r = 0; r < rows; r++) f(g, scratch, r);
        return;
    }
    HostShared sh(G);
    std::vector<std::thread> th;
    for (int t = 0; t < G; t++)
        th.emplace_back([&, t] {
            HostGroup<G> g;
            g.rank = t;
            g.sh = &sh;
            for (int64_t r = 0; r < rows; r++) {
                f(g, scratch, r);
                sh.wait();  // the next row is the next block: fresh shared memory
            }
        });
    for (auto &x : th) x.join();
}

struct TopkArgs {
    const void *logits;
    int64_t vocab;
    double T;
    int k;
    int32_t *ids;
    float *logp;
    uint8_t *flags;
    const void *values;
    srs_guide_opts_t o;
    int32_t *tokens;
    float *fused;
};

template <int E, int EV, int G>
void topk_rows(const TopkArgs &a, int64_t rows) {
    each_row<G>(rows, [&](const auto &g, GuideTopkShared &sh, int64_t r) {
        guide_topk_row<E, EV>(g, sh, r, a.logits, a.vocab, a.T, a.k, a.ids, a.logp, a.flags, a.values, a.o,
                              a.tokens, a.fused);
    });
}

template <int E, int EV>
int topk_group(const TopkArgs &a, int64_t rows, int group) {
    switch (group) {
    case 1: topk_rows<E, EV, 1>(a, rows); return 0;
    case 5: topk_rows<E, EV, 5>(a, rows); return 0;
    case 32: topk_rows<E, EV, 32>(a, rows); return 0;
    case TOPK_THREADS: topk_rows<E, EV, TOPK_THREADS>(a, rows); return 0;
    default: return -1;
    }
}

struct VocabArgs {
    srs_guide_opts_t o;
    const void *logits, *values;
    int64_t vocab;
    double T;
    int32_t *tokens;
    uint8_t *flags;
};

template <int E, int EV, int G>
void vocab_rows(const VocabArgs &a, int64_t rows) {
    each_row<G>(rows, [&](const auto &g, GuideTopkShared &, int64_t r) {
        guide_vocab_row<E, EV>(g, r, a.o, a.logits, a.values, a.vocab, a.T, a.tokens, a.flags);
    });
}

template <int E, int EV>
int vocab_group(const VocabArgs &a, int64_t rows, int group) {
    switch (group) {
    case 1: vocab_rows<E, EV, 1>(a, rows); return 0;
    case 5: vocab_rows<E, EV, 5>(a, rows); return 0;
    case 32: vocab_rows<E, EV, 32>(a, rows); return 0;
    case VOCAB_THREADS: vocab_rows<E, EV, VOCAB_THREADS>(a, rows); return 0;
    default: return -1;
    }
}

struct HeadArgs {
    const void *hidden, *head;
    const float *bias;
    int64_t d, vocab;
    const int32_t *ids;
    int k;
    float *values;
};

// Candidate c = r k + j of the gathered value head by a group (a warp).
template <int E, int G>
void head_rows(const HeadArgs &a, int64_t rows) {
    each_row<G>(rows * a.k, [&](const auto &g, GuideTopkShared &, int64_t c) {
        guide_head_one<E>(g, a.hidden, a.head, a.bias, a.d, a.vocab, a.ids, a.k, c / a.k, (int)(c % a.k), a.values);
    });
}

template <int E>
int head_group(const HeadArgs &a, int64_t rows, int group) {
    switch (group) {
    case 1: head_rows<E, 1>(a, rows); return 0;
    case 5: head_rows<E, 5>(a, rows); return 0;
    case 32: head_rows<E, 32>(a, rows); return 0;
    default: return -1;
    }
}

// The element types as template arguments (as guide.cu's DISPATCH2).
#define SRS_EMU_DISPATCH2(E, EV, CALL)                                                         \
    switch ((int)(E) * 3 + (int)(EV)) {                                                        \
    case 0: return CALL(0, 0); case 1: return CALL(0, 1); case 2: return CALL(0, 2);           \
    case 3: return CALL(1, 0); case 4: return CALL(1, 1); case 5: return CALL(1, 2);           \
    case 6: return CALL(2, 0); case 7: return CALL(2, 1); default: return CALL(2, 2);          \
    }

}  // namespace

extern "C" int srs_guide_emu_candidates(const void *logits, srs_elem_t dtype, int64_t rows, int64_t vocab,
                                        double T, int k, int32_t *ids, float *logp, uint8_t *flags, int group) {
    srs_guide_opts_t o = {};
    TopkArgs a = {logits, vocab, T, k, ids, logp, flags, nullptr, o, nullptr, nullptr};
#define CALL(A, B) topk_group<A, B>(a, rows, group)
    SRS_EMU_DISPATCH2(dtype, 0, CALL)
#undef CALL
}

extern "C" int srs_guide_emu_select(const srs_guide_opts_t *o, int64_t rows, int k, const int32_t *ids,
                                    const float *logp, const float *score, int32_t *tokens, float *fused,
                                    double *m_used, uint8_t *flags, int group) {
    if (group != 1 && group != 5 && group != 32 && group != SELECT_THREADS) return -1;
    if (group == 1) {
        for (int64_t r = 0; r < rows; r++) guide_select_one(*o, r, k, ids, logp, score, tokens, fused, m_used, flags);
        return 0;
    }
    std::vector<std::thread> th;
    for (int t = 0; t < group; t++)
        th.emplace_back([=] {
            for (int64_t r = t; r < rows; r += group)
                guide_select_one(*o, r, k, ids, logp, score, tokens, fused, m_used, flags);
        });
    for (auto &x : th) x.join();
    return 0;
}

extern "C" int srs_guide_emu_vocab(const srs_guide_opts_t *o, const void *logits, srs_elem_t logits_dtype,
                                   const void *values, srs_elem_t values_dtype, int64_t rows, int64_t vocab,
                                   double T, int k, int32_t *tokens, int32_t *cand_ids, float *fused,
                                   uint8_t *flags, int group) {
    if (k > 0) {
        TopkArgs a = {logits, vocab, T, k, cand_ids, nullptr, flags, values, *o, tokens, fused};
#define CALL(A, B) topk_group<A, B>(a, rows, group)
        SRS_EMU_DISPATCH2(logits_dtype, values_dtype, CALL)
#undef CALL
    }
    VocabArgs a = {*o, logits, values, vocab, T, tokens, flags};
#define CALL(A, B) vocab_group<A, B>(a, rows, group)
    SRS_EMU_DISPATCH2(logits_dtype, values_dtype, CALL)
#undef CALL
}

extern "C" int srs_guide_emu_value_head(const void *hidden, const void *head, srs_elem_t dtype, const float *bias,
                                        int64_t rows, int64_t d, int64_t vocab, const int32_t *ids, int k,
                                        float *values, int group) {
    if (!ids) {
        if (group != 1) return -1;
        if (bias)
            for (int64_t i = 0; i < rows * vocab; i++) guide_add_bias_one(values, bias, vocab, i);
        return 0;
    }
    HeadArgs a = {hidden, head, bias, d, vocab, ids, k, values};
    switch (dtype) {
    case SRS_ELEM_BF16: return head_group<SRS_ELEM_BF16>(a, rows, group);
    case SRS_ELEM_F16: return head_group<SRS_ELEM_F16>(a, rows, group);
    default: return head_group<SRS_ELEM_F32>(a, rows, group);
    }
}
