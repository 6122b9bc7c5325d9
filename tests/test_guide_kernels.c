// test_guide_kernels.c — the guided-decoding kernels' per-row code
// (kernels/guide_body.cuh) run on the CPU (kernels/guide_emu.cpp) against the
// CPU backend (host/guide.c): the top-k (candidates), select,
// whole-vocabulary and value-head kernels, with groups of 1, 5, 32 host threads and the
// kernels' block sizes (256 top-k, 512 whole vocabulary, 128 select), on
// float32, bfloat16 and float16 logits and values, k = 0 and k > 0, every
// design and both baseline definitions, per-step and given thresholds (m_star,
// b_eff), global and per-row seeds, greedy and sampled selection, the fused
// and m_used outputs, and rows with ties, -inf, NaN and +inf logits, NaN
// values, no finite logit, and fewer entries than the group has threads.
//
// What must agree, and how:
//   select          bit for bit (tokens, flags, fused, m_used): the kernel and
//                   the CPU run the same srs_guide_select_row.
//   candidates      ids and flags exactly (the order is total); logp to
//                   1e-6 (1 + |logp|) for T > 0 (the kernel's log-sum-exp
//                   is online in float exp per thread, the CPU's a second
//                   pass in double), bit for bit for T = 0.
//   vocab, k > 0    bit for bit against srs_guide_select on the emulated
//                   candidates and the gathered values (the fused kernel is
//                   candidates + gather + select), and cand_ids and flags
//                   exactly against the CPU's srs_guide_vocab.
//   vocab, k = 0    tokens and flags exactly: the per-entry keys are the same
//                   function; only the statistics' sums are reduced in
//                   another order (about 1e-16 relative), which moves no
//                   argmax in these rows.
//   value head      gathered columns to a float ulp; the bias of a whole head
//                   bit for bit.
// Every output is poisoned first, so an unwritten row fails.
//
// The emulation is compiled by the host C++ compiler into every build (no GPU
// and no nvcc needed, sanitizers included). What it cannot check: the device
// groups (warp shuffles, __syncthreads), shared memory and the launchers.
#include <string.h>
#include "srs_math.h"
#include "test.h"
#include "../kernels/guide_emu.h"

// Groups of more than one thread run on host threads; under qemu-user (the
// arm64 stage) a new thread never returns, so SRS_TEST_NO_THREADS leaves
// those groups out there (the x86 stages run them).
static int no_threads(int group) {
    return group > 1 && getenv("SRS_TEST_NO_THREADS") != NULL;
}

static const int topk_groups[] = {1, 5, 32, 256};     // 256: TOPK_THREADS
static const int vocab_groups[] = {1, 5, 32, 512};    // 512: VOCAB_THREADS
static const int select_groups[] = {1, 5, 32, 128};   // 128: SELECT_THREADS

static const char *elem_name(srs_elem_t e) { return srs_elem_name(e); }

// ----------------------------------------------------------------------------
// inputs

static uint16_t to_f16(float f) {
    _Float16 h = (_Float16)f;
    uint16_t u;
    memcpy(&u, &h, 2);
    return u;
}

static void store(void *buf, srs_elem_t e, int64_t i, float f) {
    if (e == SRS_ELEM_BF16) ((uint16_t *)buf)[i] = srs_f32_to_bf16(f);
    else if (e == SRS_ELEM_F16) ((uint16_t *)buf)[i] = to_f16(f);
    else ((float *)buf)[i] = f;
}

#define N_LOGIT_KINDS 7

// Logits (rows, vocab) of type e; row r is of kind r % N_LOGIT_KINDS:
//   0 normal(0, 3)               1 integers in [-3, 3] (many ties)
//   2 a third of them -inf       3 NaN and +inf among normal ones
//   4 two finite entries, the rest -inf (fewer than k)
//   5 every entry -inf (invalid)  6 every entry equal
static void *make_logits(srs_elem_t e, int64_t rows, int64_t vocab, uint64_t seed) {
    void *buf = malloc((size_t)(rows * vocab) * (e == SRS_ELEM_F32 ? 4 : 2));
    uint64_t rng = seed;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t v = 0; v < vocab; v++) {
            float f = (float)(3 * t_rand_normal(&rng));
            switch (r % N_LOGIT_KINDS) {
            case 1: f = (float)((int)(t_rand_u01(&rng) * 7) - 3); break;
            case 2: if (t_rand_u01(&rng) < 0.33) f = -INFINITY; break;
            case 3: { double u = t_rand_u01(&rng); if (u < 0.05) f = NAN; else if (u < 0.08) f = INFINITY; } break;
            case 4: if (v != 1 && v != vocab - 1) f = -INFINITY; break;
            case 5: f = -INFINITY; break;
            case 6: f = 0.75f; break;
            default: break;
            }
            store(buf, e, r * vocab + v, f);
        }
    return buf;
}

// Values (rows, vocab) of type e: normal(0, 1) (row r % 5 == 3: 10% NaN; row
// r % 10 == 8: every value NaN), scaled by `scale`.
static void *make_values(srs_elem_t e, int64_t rows, int64_t vocab, uint64_t seed, double scale) {
    void *buf = malloc((size_t)(rows * vocab) * (e == SRS_ELEM_F32 ? 4 : 2));
    uint64_t rng = seed;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t v = 0; v < vocab; v++) {
            float f = (float)(scale * t_rand_normal(&rng));
            if ((r % 5 == 3 && t_rand_u01(&rng) < 0.1) || r % 10 == 8) f = NAN;
            store(buf, e, r * vocab + v, f);
        }
    return buf;
}

static float load(const void *buf, srs_elem_t e, int64_t i) {
    if (e == SRS_ELEM_BF16) return srs_bf16_to_f32(((const uint16_t *)buf)[i]);
    if (e == SRS_ELEM_F16) return srs_f16_to_f32(((const uint16_t *)buf)[i]);
    return ((const float *)buf)[i];
}

// Per-row thresholds and bounds for THR_GIVEN (row r % 9 == 4: m* NaN, row
// r % 11 == 7: B_eff inf: both make the row BAD_M), and per-row seeds.
typedef struct {
    double *m, *b;
    uint64_t *seeds;
} given_t;

static given_t make_given(int64_t rows, uint64_t seed) {
    given_t g = {malloc(8 * (size_t)rows), malloc(8 * (size_t)rows), malloc(8 * (size_t)rows)};
    uint64_t rng = seed;
    for (int64_t r = 0; r < rows; r++) {
        g.m[r] = r % 9 == 4 ? NAN : 0.5 * t_rand_normal(&rng);
        g.b[r] = r % 11 == 7 ? INFINITY : 0.5 + 2 * t_rand_u01(&rng);
        g.seeds[r] = t_rand_u64(&rng);
    }
    return g;
}

static void free_given(given_t *g) { free(g->m); free(g->b); free(g->seeds); }

static int same_bits(const void *a, const void *b, size_t n) { return memcmp(a, b, n) == 0; }

// ----------------------------------------------------------------------------
// candidates (topk_kernel without values)

// Candidates of `logits` by the CPU and by the kernel code on `group`
// threads; ids and flags exactly, logp as the head comment says.
static void cand_check(const void *logits, srs_elem_t e, int64_t rows, int64_t vocab, double T, int k, int group) {
    if (no_threads(group)) return;
    const size_t nk = (size_t)(rows * k);
    int32_t *ids_ref = malloc(4 * nk), *ids = malloc(4 * nk);
    float *lp_ref = malloc(4 * nk), *lp = malloc(4 * nk);
    uint8_t *fl_ref = malloc((size_t)rows), *fl = malloc((size_t)rows);
    srs_status_t st = srs_guide_candidates(t_cpu_ctx(), logits, e, rows, vocab, T, k, ids_ref, lp_ref, fl_ref, NULL);
    CHECK(st == SRS_OK, "CPU candidates: %s", srs_ctx_last_error(t_cpu_ctx()));
    memset(ids, 0x5a, 4 * nk);   // poison
    for (size_t i = 0; i < nk; i++) lp[i] = NAN;
    memset(fl, 0xff, (size_t)rows);
    int rc = srs_guide_emu_candidates(logits, e, rows, vocab, T, k, ids, lp, fl, group);
    CHECK(rc == 0, "the emulation refused group %d", group);
    int shown = 0;
    for (int64_t r = 0; r < rows && rc == 0 && shown < 3; r++) {
        if (fl[r] != fl_ref[r]) {
            t_fail_at(__FILE__, __LINE__, "%s T %g k %d vocab %lld group %d row %lld: flags %d vs CPU %d",
                      elem_name(e), T, k, (long long)vocab, group, (long long)r, fl[r], fl_ref[r]);
            shown++;
        }
        for (int j = 0; j < k && shown < 3; j++) {
            size_t i = (size_t)(r * k + j);
            double a = lp[i], b = lp_ref[i];
            int ok = ids[i] == ids_ref[i] &&
                     (T > 0 ? (a == b || fabs(a - b) <= 1e-6 * (1 + fabs(b))) : same_bits(&lp[i], &lp_ref[i], 4));
            if (!ok) {
                t_fail_at(__FILE__, __LINE__,
                          "%s T %g k %d vocab %lld group %d row %lld slot %d: id %d logp %.9g vs CPU %d %.9g",
                          elem_name(e), T, k, (long long)vocab, group, (long long)r, j, ids[i], a, ids_ref[i], b);
                shown++;
            }
        }
    }
    free(ids_ref); free(ids); free(lp_ref); free(lp); free(fl_ref); free(fl);
}

TEST(guide_kernel_code_candidates) {
    static const srs_elem_t es[] = {SRS_ELEM_F32, SRS_ELEM_BF16, SRS_ELEM_F16};
    static const double Ts[] = {1.0, 0.37, 0.0};
    static const int ks[] = {1, 6, 64};
    static const int64_t vocabs[] = {3, 61, 700};
    const int64_t rows = t_quick() ? N_LOGIT_KINDS : 2 * N_LOGIT_KINDS;
    for (int ie = 0; ie < 3; ie++)
        for (int iv = 0; iv < 3; iv++) {
            void *x = make_logits(es[ie], rows, vocabs[iv], 100 + 10 * ie + iv);
            for (int it = 0; it < 3; it++)
                for (int ik = 0; ik < 3; ik++) {
                    cand_check(x, es[ie], rows, vocabs[iv], Ts[it], ks[ik], 1);
                    cand_check(x, es[ie], N_LOGIT_KINDS, vocabs[iv], Ts[it], ks[ik], topk_groups[1 + (it + ik + iv) % 2]);
                }
            // the block size (256 host threads): one temperature and k per type
            if (iv == ie) cand_check(x, es[ie], N_LOGIT_KINDS, vocabs[iv], Ts[ie], ks[(ie + 1) % 3], topk_groups[3]);
            free(x);
            BAIL_IF_FAILED();
        }
}

// ----------------------------------------------------------------------------
// options

#define N_MODES 5

// Guide options: design d, baselines bl, threshold source thr (given: from
// gv), and mode md: 0 greedy; 1 sampling, tau 1; 2 sampling, tau 0.3, top-p
// 0.8, per-row seeds (k > 0 only: whole-vocabulary sampling takes no top-p,
// so there top-p stays 1); 3 sampling with tau 0 (the argmax); 4 greedy with
// lambda 1e300 (lambda s overflows).
static srs_guide_opts_t make_opts(int d, int bl, int thr, int md, int whole, const given_t *gv) {
    srs_guide_opts_t o = srs_guide_opts_default();
    o.design = (srs_design_t)d;
    o.baselines = (srs_guide_baselines_t)bl;
    o.threshold = (srs_guide_thr_t)thr;
    o.B = 1.5;
    o.alpha = 2.0;
    o.lambda = 0.8;
    o.seed = 0x5eed + (uint64_t)md;
    o.step = 3 + (uint64_t)d;
    if (thr == SRS_GUIDE_THR_GIVEN) {
        o.m_star = gv->m;
        o.b_eff = (d + md) % 2 ? gv->b : NULL;   // B_eff given, or B
    }
    if (d == SRS_DESIGN_CAP && bl == 0) o.clip = (md % 2) ? 0.7 : -1.0;
    switch (md) {
    case 1: o.mode = SRS_GUIDE_SAMPLE; o.tau = 1.0; break;
    case 2:
        o.mode = SRS_GUIDE_SAMPLE;
        o.tau = 0.3;
        o.top_p = whole ? 1.0 : 0.8;
        o.seeds = gv->seeds;
        break;
    case 3: o.mode = SRS_GUIDE_SAMPLE; o.tau = 0.0; break;
    case 4: o.lambda = 1e300; break;
    default: break;
    }
    return o;
}

static const char *opts_name(const srs_guide_opts_t *o, char *buf, size_t n) {
    snprintf(buf, n, "design %s baselines %d threshold %s mode %s tau %g top_p %g lambda %g%s%s",
             srs_design_name(o->design), (int)o->baselines, o->threshold ? "given" : "step",
             o->mode ? "sample" : "greedy", o->tau, o->top_p, o->lambda, o->seeds ? " per-row seeds" : "",
             o->b_eff ? " b_eff" : "");
    return buf;
}

// ----------------------------------------------------------------------------
// select (select_kernel): bit for bit

// Candidates for select: the CPU's top-k of logits, with some log-probs made
// NaN or +inf, scores normal(0, 1) (x 1e10 with `big`) and some NaN.
static void make_select_inputs(int64_t rows, int k, int big, uint64_t seed, int32_t *ids, float *lp, float *sc) {
    const int64_t vocab = 90;
    void *x = make_logits(SRS_ELEM_F32, rows, vocab, seed);
    srs_status_t st = srs_guide_candidates(t_cpu_ctx(), x, SRS_ELEM_F32, rows, vocab, seed % 3 ? 1.0 : 0.0, k, ids,
                                           lp, NULL, NULL);
    CHECK(st == SRS_OK, "CPU candidates: %s", srs_ctx_last_error(t_cpu_ctx()));
    uint64_t rng = seed * 7 + 1;
    for (int64_t r = 0; r < rows; r++)
        for (int j = 0; j < k; j++) {
            size_t i = (size_t)(r * k + j);
            sc[i] = (float)((big ? 1e10 : 1.0) * t_rand_normal(&rng));
            if (r % 13 == 5 && j == 1) lp[i] = NAN;
            if (r % 13 == 5 && j == 2 && k > 2) lp[i] = INFINITY;
            if (r % 6 == 2 && t_rand_u01(&rng) < 0.2) sc[i] = NAN;
        }
    free(x);
}

static void select_check(const srs_guide_opts_t *o, int64_t rows, int k, const int32_t *ids, const float *lp,
                         const float *sc, int group) {
    if (no_threads(group)) return;
    const size_t nk = (size_t)(rows * k);
    int32_t *tok_ref = malloc(4 * (size_t)rows), *tok = malloc(4 * (size_t)rows);
    float *fu_ref = malloc(4 * nk), *fu = malloc(4 * nk);
    double *m_ref = malloc(8 * (size_t)rows), *m = malloc(8 * (size_t)rows);
    uint8_t *fl_ref = malloc((size_t)rows), *fl = malloc((size_t)rows);
    char name[256];
    opts_name(o, name, sizeof name);
    srs_status_t st = srs_guide_select(t_cpu_ctx(), o, rows, k, ids, lp, sc, tok_ref, fu_ref, m_ref, fl_ref, NULL);
    CHECK(st == SRS_OK, "CPU select (%s): %s", name, srs_ctx_last_error(t_cpu_ctx()));
    memset(tok, 0x5a, 4 * (size_t)rows);   // poison
    memset(fu, 0x5a, 4 * nk);
    memset(m, 0x5a, 8 * (size_t)rows);
    memset(fl, 0xff, (size_t)rows);
    int rc = srs_guide_emu_select(o, rows, k, ids, lp, sc, tok, fu, m, fl, group);
    CHECK(rc == 0, "the emulation refused group %d", group);
    if (rc == 0 && st == SRS_OK) {
        int shown = 0;
        for (int64_t r = 0; r < rows && shown < 3; r++) {
            if (tok[r] != tok_ref[r] || fl[r] != fl_ref[r] || !same_bits(&m[r], &m_ref[r], 8) ||
                !same_bits(fu + r * k, fu_ref + r * k, 4 * (size_t)k)) {
                t_fail_at(__FILE__, __LINE__,
                          "select %s k %d group %d row %lld: token %d flags %d m_used %.17g (fused[0] %.9g) vs "
                          "CPU %d %d %.17g (%.9g)",
                          name, k, group, (long long)r, tok[r], fl[r], m[r], fu[r * k], tok_ref[r], fl_ref[r],
                          m_ref[r], fu_ref[r * k]);
                shown++;
            }
        }
    }
    free(tok_ref); free(tok); free(fu_ref); free(fu); free(m_ref); free(m); free(fl_ref); free(fl);
}

TEST(guide_kernel_code_select) {
    const int64_t rows = t_quick() ? 40 : 150;
    static const int ks[] = {1, 7, 64};
    given_t gv = make_given(rows, 77);
    int32_t *ids = malloc(4 * (size_t)(rows * SRS_GUIDE_K_MAX));
    float *lp = malloc(4 * (size_t)(rows * SRS_GUIDE_K_MAX)), *sc = malloc(4 * (size_t)(rows * SRS_GUIDE_K_MAX));
    int c = 0;   // configuration count: the threaded group rotates over 5, 32, 128
    for (int ik = 0; ik < 3; ik++)
        for (int md = 0; md < N_MODES; md++) {
            make_select_inputs(rows, ks[ik], md == 4, 31 + 3 * (uint64_t)ik + (uint64_t)md, ids, lp, sc);
            for (int d = 0; d < SRS_DESIGN_COUNT_; d++)
                for (int bl = 0; bl < 2; bl++)
                    for (int thr = 0; thr < 2; thr++) {
                        int uses_m = d == SRS_DESIGN_HARD || d == SRS_DESIGN_SOFT;
                        if (thr == SRS_GUIDE_THR_GIVEN && !uses_m && d != SRS_DESIGN_MEANSOFT) continue;
                        srs_guide_opts_t o = make_opts(d, bl, thr, md, 0, &gv);
                        select_check(&o, rows, ks[ik], ids, lp, sc, 1);
                        select_check(&o, rows, ks[ik], ids, lp, sc, select_groups[1 + (c++) % 3]);
                        if (t_failed_now()) goto out;
                    }
        }
out:
    free(ids); free(lp); free(sc);
    free_given(&gv);
}

// ----------------------------------------------------------------------------
// whole vocabulary, k > 0 (topk_kernel with values: candidates, gather, select)

static void vocab_topk_check(const srs_guide_opts_t *o, const void *x, srs_elem_t e, const void *val, srs_elem_t ev,
                             int64_t rows, int64_t vocab, double T, int k, int group) {
    if (no_threads(group)) return;
    const size_t nk = (size_t)(rows * k), nr = (size_t)rows;
    int32_t *tok = malloc(4 * nr), *cid = malloc(4 * nk), *ids = malloc(4 * nk);
    int32_t *tok_sel = malloc(4 * nr), *tok_cpu = malloc(4 * nr), *cid_cpu = malloc(4 * nk);
    float *fu = malloc(4 * nk), *lp = malloc(4 * nk), *sc = malloc(4 * nk), *fu_sel = malloc(4 * nk),
          *fu_cpu = malloc(4 * nk);
    uint8_t *fl = malloc(nr), *fl_c = malloc(nr), *fl_sel = malloc(nr), *fl_cpu = malloc(nr);
    char name[256];
    opts_name(o, name, sizeof name);
    memset(tok, 0x5a, 4 * nr);   // poison
    memset(cid, 0x5a, 4 * nk);
    memset(fu, 0x5a, 4 * nk);
    memset(fl, 0xff, nr);
    int rc = srs_guide_emu_vocab(o, x, e, val, ev, rows, vocab, T, k, tok, cid, fu, fl, group);
    CHECK(rc == 0, "the emulation refused group %d", group);
    rc |= srs_guide_emu_candidates(x, e, rows, vocab, T, k, ids, lp, fl_c, group);
    for (size_t i = 0; i < nk; i++) {
        int64_t r = (int64_t)(i / (size_t)k);
        sc[i] = ids[i] >= 0 ? load(val, ev, r * vocab + ids[i]) : 0.0f;
    }
    srs_status_t st = srs_guide_select(t_cpu_ctx(), o, rows, k, ids, lp, sc, tok_sel, fu_sel, NULL, fl_sel, NULL);
    CHECK(st == SRS_OK, "CPU select (%s): %s", name, srs_ctx_last_error(t_cpu_ctx()));
    srs_status_t st2 = srs_guide_vocab(t_cpu_ctx(), o, x, e, val, ev, rows, vocab, T, k, tok_cpu, cid_cpu, fu_cpu,
                                       fl_cpu, NULL);
    CHECK(st2 == SRS_OK, "CPU vocab (%s): %s", name, srs_ctx_last_error(t_cpu_ctx()));
    const int uses_m = o->design == SRS_DESIGN_HARD || o->design == SRS_DESIGN_SOFT;
    int shown = 0;
    for (int64_t r = 0; r < rows && rc == 0 && st == SRS_OK && st2 == SRS_OK && shown < 3; r++) {
        const uint8_t f_sel = (uint8_t)(fl_sel[r] | (fl_c[r] & (SRS_GUIDE_NONFINITE | SRS_GUIDE_SHORT)));
        if (tok[r] != tok_sel[r] || fl[r] != f_sel || !same_bits(fu + r * k, fu_sel + r * k, 4 * (size_t)k) ||
            !same_bits(cid + r * k, ids + r * k, 4 * (size_t)k)) {
            t_fail_at(__FILE__, __LINE__,
                      "vocab %s/%s %s T %g k %d group %d row %lld: token %d flags %d vs select on the kernel's "
                      "candidates %d %d", elem_name(e), elem_name(ev), name, T, k, group, (long long)r, tok[r], fl[r],
                      tok_sel[r], f_sel);
            shown++;
            continue;
        }
        if (fl[r] != fl_cpu[r] || !same_bits(cid + r * k, cid_cpu + r * k, 4 * (size_t)k)) {
            t_fail_at(__FILE__, __LINE__, "vocab %s/%s %s T %g k %d group %d row %lld: flags %d vs CPU %d, or the "
                      "candidates differ", elem_name(e), elem_name(ev), name, T, k, group, (long long)r, fl[r],
                      fl_cpu[r]);
            shown++;
            continue;
        }
        // Greedy tokens against the CPU's: the log-probabilities differ in
        // the last bits (see the head comment), so only a near tie of the
        // CPU's fused scores may pick another candidate. (The hard design
        // with a per-step threshold may move a step by B_eff there: left out.)
        if (tok[r] != tok_cpu[r] && o->mode == SRS_GUIDE_GREEDY && !(uses_m && o->design == SRS_DESIGN_HARD)) {
            int jt = -1, jc = -1;
            for (int j = 0; j < k; j++) {
                if (cid_cpu[r * k + j] == tok[r]) jt = j;
                if (cid_cpu[r * k + j] == tok_cpu[r]) jc = j;
            }
            double a = jt >= 0 ? fu_cpu[r * k + jt] : -INFINITY, b = jc >= 0 ? fu_cpu[r * k + jc] : -INFINITY;
            if (!(fabs(a - b) <= 1e-5 * (1 + fabs(b)))) {
                t_fail_at(__FILE__, __LINE__, "vocab %s/%s %s T %g k %d group %d row %lld: token %d (fused %.9g) "
                          "vs CPU %d (%.9g)", elem_name(e), elem_name(ev), name, T, k, group, (long long)r, tok[r], a,
                          tok_cpu[r], b);
                shown++;
            }
        }
    }
    free(tok); free(cid); free(ids); free(tok_sel); free(tok_cpu); free(cid_cpu);
    free(fu); free(lp); free(sc); free(fu_sel); free(fu_cpu);
    free(fl); free(fl_c); free(fl_sel); free(fl_cpu);
}

// Logit and value types: float32 both, float16 logits, bfloat16 logits with
// float16 values.
static const srs_elem_t pair_e[] = {SRS_ELEM_F32, SRS_ELEM_F16, SRS_ELEM_BF16};
static const srs_elem_t pair_ev[] = {SRS_ELEM_F32, SRS_ELEM_F32, SRS_ELEM_F16};

TEST(guide_kernel_code_vocab_topk) {
    const int64_t rows = t_quick() ? 2 * N_LOGIT_KINDS : 3 * N_LOGIT_KINDS, vocab = 120;
    given_t gv = make_given(rows, 78);
    for (int p = 0; p < 3; p++) {
        void *x = make_logits(pair_e[p], rows, vocab, 200 + (uint64_t)p);
        void *val = make_values(pair_ev[p], rows, vocab, 300 + (uint64_t)p, 1.0);
        for (int d = 0; d < SRS_DESIGN_COUNT_; d++)
            for (int md = 0; md < N_MODES; md++) {
                const int bl = (d + md) % 2, k = md == 2 ? 64 : md == 1 ? 1 : 9;
                const int thr = (d == SRS_DESIGN_HARD || d == SRS_DESIGN_SOFT) && md % 2 ? SRS_GUIDE_THR_GIVEN
                                                                                         : SRS_GUIDE_THR_STEP;
                const double T = md == 3 ? 0.0 : 1.0;
                srs_guide_opts_t o = make_opts(d, bl, thr, md, 0, &gv);
                vocab_topk_check(&o, x, pair_e[p], val, pair_ev[p], rows, vocab, T, k, 1);
                vocab_topk_check(&o, x, pair_e[p], val, pair_ev[p], N_LOGIT_KINDS, vocab, T, k,
                                 topk_groups[1 + (d + md) % 2]);
                if (t_failed_now()) break;
            }
        // the block size (256 host threads): one configuration per type pair
        if (!t_failed_now()) {
            srs_guide_opts_t o = make_opts(2 * p + 1, p % 2, SRS_GUIDE_THR_STEP, 2 * p, 0, &gv);
            vocab_topk_check(&o, x, pair_e[p], val, pair_ev[p], N_LOGIT_KINDS, vocab, 0.8, 5, topk_groups[3]);
        }
        free(x);
        free(val);
        if (t_failed_now()) break;
    }
    free_given(&gv);
}

// ----------------------------------------------------------------------------
// whole vocabulary, k = 0 (vocab_kernel): tokens and flags exactly

static void vocab_whole_check(const srs_guide_opts_t *o, const void *x, srs_elem_t e, const void *val, srs_elem_t ev,
                              int64_t rows, int64_t vocab, double T, int group) {
    if (no_threads(group)) return;
    const size_t nr = (size_t)rows;
    int32_t *tok = malloc(4 * nr), *tok_cpu = malloc(4 * nr);
    uint8_t *fl = malloc(nr), *fl_cpu = malloc(nr);
    char name[256];
    opts_name(o, name, sizeof name);
    memset(tok, 0x5a, 4 * nr);   // poison
    memset(fl, 0xff, nr);
    int rc = srs_guide_emu_vocab(o, x, e, val, ev, rows, vocab, T, 0, tok, NULL, NULL, fl, group);
    CHECK(rc == 0, "the emulation refused group %d", group);
    srs_status_t st = srs_guide_vocab(t_cpu_ctx(), o, x, e, val, ev, rows, vocab, T, 0, tok_cpu, NULL, NULL, fl_cpu,
                                      NULL);
    CHECK(st == SRS_OK, "CPU vocab (%s): %s", name, srs_ctx_last_error(t_cpu_ctx()));
    int shown = 0;
    for (int64_t r = 0; r < rows && rc == 0 && st == SRS_OK && shown < 3; r++)
        if (tok[r] != tok_cpu[r] || fl[r] != fl_cpu[r]) {
            t_fail_at(__FILE__, __LINE__, "vocab k=0 %s/%s %s T %g vocab %lld group %d row %lld: token %d flags %d vs "
                      "CPU %d %d", elem_name(e), elem_name(ev), name, T, (long long)vocab, group, (long long)r,
                      tok[r], fl[r], tok_cpu[r], fl_cpu[r]);
            shown++;
        }
    free(tok); free(tok_cpu); free(fl); free(fl_cpu);
}

TEST(guide_kernel_code_vocab_whole) {
    const int64_t rows = t_quick() ? 2 * N_LOGIT_KINDS : 4 * N_LOGIT_KINDS;
    static const int64_t vocabs[] = {3, 150};
    given_t gv = make_given(rows, 79);
    for (int p = 0; p < 3; p++)
        for (int iv = 0; iv < 2; iv++) {
            const int64_t vocab = vocabs[iv];
            void *x = make_logits(pair_e[p], rows, vocab, 400 + 2 * (uint64_t)p + (uint64_t)iv);
            void *val = make_values(pair_ev[p], rows, vocab, 500 + 2 * (uint64_t)p + (uint64_t)iv, 1.0);
            void *big = make_values(pair_ev[p], rows, vocab, 600 + (uint64_t)p, 1e4);
            for (int d = 0; d < SRS_DESIGN_COUNT_; d++)
                for (int md = 0; md < N_MODES; md++) {
                    const int bl = (d + md + iv) % 2;
                    const double T = (md + iv) % 3 == 2 ? 0.0 : 0.9;
                    srs_guide_opts_t o = make_opts(d, bl, SRS_GUIDE_THR_GIVEN, md, 1, &gv);
                    const void *v = md == 4 ? big : val;
                    vocab_whole_check(&o, x, pair_e[p], v, pair_ev[p], rows, vocab, T, 1);
                    vocab_whole_check(&o, x, pair_e[p], v, pair_ev[p], N_LOGIT_KINDS, vocab, T,
                                      vocab_groups[1 + (d + md) % 2]);
                    if (t_failed_now()) break;
                }
            // the block size (512 host threads): one configuration per type pair and vocabulary
            if (!t_failed_now()) {
                const int d = (2 * p + 3 * iv) % SRS_DESIGN_COUNT_;
                srs_guide_opts_t o = make_opts(d, (p + iv) % 2, SRS_GUIDE_THR_GIVEN, (p + 2 * iv) % N_MODES, 1, &gv);
                vocab_whole_check(&o, x, pair_e[p], val, pair_ev[p], N_LOGIT_KINDS, vocab, iv ? 1.0 : 0.0,
                                  vocab_groups[3]);
            }
            free(x);
            free(val);
            free(big);
            if (t_failed_now()) goto out;
        }
out:
    free_given(&gv);
}

// ----------------------------------------------------------------------------
// value head: the gathered columns (head_gather_kernel) to one float ulp (both
// sum exact products in double, in another order); the bias of a whole head
// (add_bias_kernel) bit for bit

TEST(guide_kernel_code_value_head) {
    static const srs_elem_t es[] = {SRS_ELEM_F32, SRS_ELEM_BF16, SRS_ELEM_F16};
    static const int64_t ds[] = {3, 67};
    const int64_t rows = 5, vocab = 50;
    const int k = 6;
    uint64_t rng = 901;
    float *bias = malloc(4 * (size_t)vocab);
    for (int64_t c = 0; c < vocab; c++) bias[c] = (float)t_rand_normal(&rng);
    int32_t ids[5 * 6];
    for (int i = 0; i < rows * k; i++) ids[i] = (int32_t)(t_rand_u01(&rng) * vocab);
    ids[3] = -1;          // an empty slot
    ids[k + 1] = 50;      // an id past the vocabulary
    ids[2 * k] = ids[2 * k + 1];   // the same column twice
    float ref[5 * 6], got[5 * 6];
    for (int ie = 0; ie < 3; ie++)
        for (int id = 0; id < 2; id++) {
            const int64_t d = ds[id];
            void *h = malloc((size_t)(rows * d) * 4), *w = malloc((size_t)(d * vocab) * 4);
            for (int64_t i = 0; i < rows * d; i++) store(h, es[ie], i, (float)t_rand_normal(&rng));
            for (int64_t i = 0; i < d * vocab; i++) store(w, es[ie], i, (float)t_rand_normal(&rng));
            for (int nb = 0; nb < 2; nb++) {
                const float *b = nb ? bias : NULL;
                srs_status_t st = srs_guide_value_head(t_cpu_ctx(), h, w, es[ie], b, rows, d, vocab, ids, k, ref, NULL);
                CHECK(st == SRS_OK, "CPU value head: %s", srs_ctx_last_error(t_cpu_ctx()));
                for (int g = 0; g < 3; g++) {
                    const int group = topk_groups[g];   // 1, 5, 32: the kernel's warp
                    if (no_threads(group)) continue;
                    for (int i = 0; i < rows * k; i++) got[i] = -12345.0f;   // poison
                    int rc = srs_guide_emu_value_head(h, w, es[ie], b, rows, d, vocab, ids, k, got, group);
                    CHECK(rc == 0, "the emulation refused group %d", group);
                    for (int i = 0; i < rows * k && rc == 0; i++) {
                        // one float ulp, and the double sums' rounding (sum of |terms| x 1e-15)
                        double sabs = 0;
                        for (int64_t c = 0; c < d && ids[i] >= 0 && ids[i] < vocab; c++)
                            sabs += fabs(load(h, es[ie], (i / k) * d + c) * load(w, es[ie], c * vocab + ids[i]));
                        const double tol = 2.4e-7 * fabs(ref[i]) + 1e-15 * sabs;
                        int ok = isnan(ref[i]) ? isnan(got[i]) : fabs((double)got[i] - ref[i]) <= tol;
                        CHECK(ok, "%s d %lld bias %d group %d entry %d: %.9g vs CPU %.9g", elem_name(es[ie]),
                              (long long)d, nb, group, i, got[i], ref[i]);
                    }
                }
            }
            // a whole head: the bias added after the product, as on the CPU
            float *v0 = malloc(4 * (size_t)(rows * vocab)), *v1 = malloc(4 * (size_t)(rows * vocab));
            srs_status_t st = srs_guide_value_head(t_cpu_ctx(), h, w, es[ie], NULL, rows, d, vocab, NULL, 0, v0, NULL);
            if (st == SRS_OK) st = srs_guide_value_head(t_cpu_ctx(), h, w, es[ie], bias, rows, d, vocab, NULL, 0, v1, NULL);
            CHECK(st == SRS_OK, "CPU value head: %s", srs_ctx_last_error(t_cpu_ctx()));
            CHECK(srs_guide_emu_value_head(h, w, es[ie], bias, rows, d, vocab, NULL, 0, v0, 1) == 0, "bias refused");
            CHECK(same_bits(v0, v1, 4 * (size_t)(rows * vocab)), "%s d %lld: bias added differently",
                  elem_name(es[ie]), (long long)d);
            free(v0); free(v1); free(h); free(w);
            BAIL_IF_FAILED();
        }
    free(bias);
}

// The emulation takes the kernels' group sizes only.
TEST(guide_kernel_code_refuses_other_groups) {
    float x[4] = {0, 1, 2, 3}, lp[2], sc[2] = {0, 0};
    int32_t ids[2], tok[1];
    uint8_t fl[1];
    srs_guide_opts_t o = srs_guide_opts_default();
    CHECK(srs_guide_emu_candidates(x, SRS_ELEM_F32, 1, 4, 1.0, 2, ids, lp, fl, 7) == -1, "group 7 taken");
    CHECK(srs_guide_emu_select(&o, 1, 2, ids, lp, sc, tok, NULL, NULL, fl, 256) == -1, "select group 256 taken");
    CHECK(srs_guide_emu_vocab(&o, x, SRS_ELEM_F32, x, SRS_ELEM_F32, 1, 4, 1.0, 0, tok, NULL, NULL, fl, 256) == -1,
          "whole-vocabulary group 256 taken");
    CHECK(srs_guide_emu_vocab(&o, x, SRS_ELEM_F32, x, SRS_ELEM_F32, 1, 4, 1.0, 2, tok, ids, NULL, fl, 512) == -1,
          "top-k group 512 taken");
    CHECK(srs_guide_emu_value_head(x, x, SRS_ELEM_F32, NULL, 1, 2, 2, ids, 2, lp, 64) == -1, "value head group 64 taken");
}
