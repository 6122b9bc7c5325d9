/*
 * threshold_emu.cpp — the threshold kernels' per-row code run on the CPU, for
 * the tests (no GPU needed): threshold_body.cuh compiled as plain C++, with a
 * one-thread group or G host threads in place of a warp or block
 * (group.cuh). What only a GPU can check is left: the device groups
 * (shuffles, __syncthreads), the loads and the launchers.
 *
 * Built by the host C++ compiler into the test program, in every build
 * (CPU-only and sanitizer builds included); not part of the library.
 */
#include <stdint.h>
#include <vector>
#include "threshold_body.cuh"

namespace {

// A row that counts the solver's passes over samples (each and above calls).
template <class Base>
struct Counted : Base {
    int64_t *passes = nullptr;
    template <class F>
    void each(F f) const {
        if (passes) ++*passes;
        Base::each(f);
    }
    template <bool STRICT, int NS>
    void above(double m, double (&s)[NS]) const {
        if (passes) ++*passes;
        Base::template above<STRICT>(m, s);
    }
};

int64_t max_len(const srs_thr_args_t &a, int64_t n_rows) {
    int64_t L = 0;
    for (int64_t r = 0; r < n_rows; r++) {
        int64_t start, n;
        row_range(a, r, &start, &n);
        if (n > L) L = n;
    }
    return L;
}

// The row of one thread of the group, set up as the kernels do.
template <class T, int K, int G>
struct MakeReg {
    using type = Counted<RegRow<T, K, G>>;
    static void init(type &row, int rank, int64_t n, double *, const srs_thr_args_t &) {
        row.n = (int)n;
        row.rank = rank;
    }
};
template <class T, int K, int G, bool W>
struct MakeTot {
    using type = Counted<TotRow<T, K, G, W>>;
    static void init(type &row, int rank, int64_t n, double *, const srs_thr_args_t &) {
        row.n = (int)n;
        row.rank = rank;
    }
};
template <class T, int G>
struct MakeSmem {
    using type = Counted<SmemRow<T, G>>;
    static void init(type &row, int rank, int64_t n, double *buf, const srs_thr_args_t &a) {
        row.n = (int)n;
        row.rank = rank;
        row.sd = buf;
        row.sp = a.logw ? buf + n : nullptr;
    }
};
template <class T, int G>
struct MakeGlobal {
    using type = Counted<GlobalRow<T, G>>;
    static void init(type &row, int rank, int64_t n, double *, const srs_thr_args_t &) {
        row.n = n;
        row.rank = rank;
    }
};

// Every row by the group: rank 0's pass count goes to *passes.
template <class T, class Make, int G>
void run_rows(const srs_thr_args_t &a, int64_t n_rows, int64_t *passes) {
    std::vector<double> buf((size_t)(2 * max_len(a, n_rows) + 1));
    srs_host_group_run<G>([&](const auto &g) {
        for (int64_t r = 0; r < n_rows; r++) {
            int64_t start, n;
            row_range(a, r, &start, &n);
            typename Make::type row;
            Make::init(row, g.rank, n, buf.data(), a);
            row.passes = g.rank == 0 ? passes : nullptr;
            process_row<T>(row, g, a, r, start, n);
            g.sync();  // the next row reuses the buffer
        }
    });
}

// The register row of the smallest K (from the list) with K G >= L.
template <class T, int G, int... Ks>
struct RegPick;
template <class T, int G>
struct RegPick<T, G> {
    static int run(const srs_thr_args_t &, int64_t, int64_t, int64_t *) { return -1; }
};
template <class T, int G, int K, int... Ks>
struct RegPick<T, G, K, Ks...> {
    static int run(const srs_thr_args_t &a, int64_t n_rows, int64_t L, int64_t *passes) {
        if (L > (int64_t)K * G) return RegPick<T, G, Ks...>::run(a, n_rows, L, passes);
        run_rows<T, MakeReg<T, K, G>, G>(a, n_rows, passes);
        return 0;
    }
};

template <class T, int K, bool W>
int run_thread(const srs_thr_args_t &a, int64_t n_rows, int64_t *passes) {
    run_rows<T, MakeTot<T, K, 1, W>, 1>(a, n_rows, passes);
    return 0;
}

// The row with totals of the smallest K (from the list) with K G >= L.
template <class T, int G, bool W, int... Ks>
struct TotPick;
template <class T, int G, bool W>
struct TotPick<T, G, W> {
    static int run(const srs_thr_args_t &, int64_t, int64_t, int64_t *) { return -1; }
};
template <class T, int G, bool W, int K, int... Ks>
struct TotPick<T, G, W, K, Ks...> {
    static int run(const srs_thr_args_t &a, int64_t n_rows, int64_t L, int64_t *passes) {
        if (L > (int64_t)K * G) return TotPick<T, G, W, Ks...>::run(a, n_rows, L, passes);
        run_rows<T, MakeTot<T, K, G, W>, G>(a, n_rows, passes);
        return 0;
    }
};

// The kernels' K (32 unweighted, 64 for the float rows of 2048 on a warp,
// 16 weighted) where it holds the row, else (groups of 1 and 5, the tests'
// long rows) a larger one.
template <class T, int G>
int run_totals(const srs_thr_args_t &a, int64_t n_rows, int64_t L, int64_t *passes) {
    if (a.logw) return TotPick<T, G, true, 16, 128, 4096>::run(a, n_rows, L, passes);
    return TotPick<T, G, false, 32, 64, 256, 4096>::run(a, n_rows, L, passes);
}

template <class T, int G>
int run_group(const srs_thr_args_t &a, int64_t n_rows, int row, int64_t L, int64_t *passes) {
    switch (row) {
    case SRS_THR_EMU_REG:
        if (G == 1 || G == 5) return RegPick<T, G, 8, 64, 512, 4096>::run(a, n_rows, L, passes);
        if (G == 32) return RegPick<T, G, 1, 2, 4, 8>::run(a, n_rows, L, passes);  // the warp tiers
        return RegPick<T, G, 2, 4, 8, 16>::run(a, n_rows, L, passes);              // the block tiers
    case SRS_THR_EMU_SMEM: run_rows<T, MakeSmem<T, G>, G>(a, n_rows, passes); return 0;
    case SRS_THR_EMU_GLOBAL: run_rows<T, MakeGlobal<T, G>, G>(a, n_rows, passes); return 0;
    case SRS_THR_EMU_TOTALS: return run_totals<T, G>(a, n_rows, L, passes);
    case SRS_THR_EMU_THREAD:
        if (G != 1 || L > 32) return -1;
        if (a.logw) return L <= 8 ? run_thread<T, 8, true>(a, n_rows, passes)
                         : L <= 16 ? run_thread<T, 16, true>(a, n_rows, passes)
                                   : run_thread<T, 32, true>(a, n_rows, passes);
        return L <= 8 ? run_thread<T, 8, false>(a, n_rows, passes)
             : L <= 16 ? run_thread<T, 16, false>(a, n_rows, passes)
                       : run_thread<T, 32, false>(a, n_rows, passes);
    default: return -1;
    }
}

template <class T>
int run_typed(const srs_thr_args_t &a, int64_t n_rows, int row, int group, int64_t *passes) {
    const int64_t L = max_len(a, n_rows);
    switch (group) {
    case 1: return run_group<T, 1>(a, n_rows, row, L, passes);
    case 5: return run_group<T, 5>(a, n_rows, row, L, passes);
    case 32: return run_group<T, 32>(a, n_rows, row, L, passes);
    case 256: return run_group<T, 256>(a, n_rows, row, L, passes);
    case 512: return row == SRS_THR_EMU_REG ? -1 : run_group<T, 512>(a, n_rows, row, L, passes);
    default: return -1;
    }
}

}  // namespace

extern "C" int srs_thr_emulate(const srs_thr_args_t *a, int64_t n_rows, int row, int group, int64_t *passes) {
    if (passes) *passes = 0;
    return a->reward_f32 ? run_typed<float>(*a, n_rows, row, group, passes)
                         : run_typed<double>(*a, n_rows, row, group, passes);
}
