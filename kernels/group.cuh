/*
 * group.cuh — the group interface the kernels' per-row code is written
 * against, with its device implementations and its host ones.
 *
 * A group is the set of threads that share one row. Every thread of it calls
 * the same per-row code; reductions leave identical bits in every thread, so
 * control flow is uniform across the group. The interface:
 *   size, rank                    threads in the group, this thread's index
 *   reduce(s[NS], mn[NM])         sums s and minimises mn over the group, in place
 *   sum(s[NS])                    the sums alone
 *   argmin(key, val)              the (key, val) pair of the smallest key
 *   sync()                        a barrier that orders memory among the group
 *   exscan(x, &total)             exclusive prefix sum over the ranks, and the total
 *
 * Device groups: LaneGroup<WG> (WG lanes of a warp: xor butterflies) and
 * BlockGroup<NT> (a block: warp butterflies, then the warps' partials in a
 * fixed order from shared memory). SeqGroup is one thread, on the device (the
 * thread-per-row kernels) or the host. HostGroup<G> is G host threads sharing
 * memory like a warp or block shares shared memory: barriers for sync(),
 * reductions and scans through a shared array in rank order, as BlockGroup
 * combines its warps; the CPU tests run the kernels' per-row code with it
 * (srs_host_group_run).
 *
 * The header also compiles as plain C++ (g++, no CUDA): the device groups are
 * then left out and __host__/__device__/__forceinline__ mean nothing, so the
 * per-row code builds into CPU-only and sanitizer builds as well.
 */
#ifndef SRS_KERNELS_GROUP_CUH
#define SRS_KERNELS_GROUP_CUH

#include <math.h>
#include <stdint.h>

#ifndef __CUDACC__
#define __host__
#define __device__
#define __forceinline__ inline
#endif

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#define SRS_GROUP_HD __host__ __device__

// Unrolls the next loop in device code (register arrays need constant
// indices); nothing on the host, whose compilers warn about the pragma.
#ifdef __CUDA_ARCH__
#define SRS_UNROLL _Pragma("unroll")
#else
#define SRS_UNROLL
#endif

#ifdef __CUDACC__
// ----------------------------------------------------------------------------
// device groups: the lanes that share one row, and their reductions

// WG consecutive lanes of a warp (WG = 8, 16, 32). Reductions are xor
// butterflies restricted to the group's lanes: every lane ends with the same
// bits, so the solver's branches agree across the group.
template <int WG>
struct LaneGroup {
    static constexpr int size = WG;
    int rank;
    unsigned mask;
    __device__ LaneGroup() {
        int lane = threadIdx.x & 31;
        rank = lane & (WG - 1);
        mask = WG == 32 ? 0xffffffffu : (((1u << WG) - 1u) << (lane & ~(WG - 1)));
    }
    // s[0..NS) summed, mn[0..NM) minimised over the group, in place.
    template <int NS, int NM>
    __device__ __forceinline__ void reduce_impl(double *s, double *mn) const {
#pragma unroll
        for (int o = WG / 2; o > 0; o >>= 1) {
#pragma unroll
            for (int i = 0; i < NS; i++) s[i] += __shfl_xor_sync(mask, s[i], o);
#pragma unroll
            for (int i = 0; i < NM; i++) mn[i] = fmin(mn[i], __shfl_xor_sync(mask, mn[i], o));
        }
    }
    template <int NS, int NM>
    __device__ __forceinline__ void reduce(double (&s)[NS], double (&mn)[NM]) const { reduce_impl<NS, NM>(s, mn); }
    template <int NS>
    __device__ __forceinline__ void sum(double (&s)[NS]) const { reduce_impl<NS, 0>(s, nullptr); }
    // The (key, val) pair of the smallest key over the group.
    __device__ __forceinline__ void argmin(unsigned long long &key, double &val) const {
#pragma unroll
        for (int o = WG / 2; o > 0; o >>= 1) {
            unsigned long long k2 = __shfl_xor_sync(mask, key, o);
            double v2 = __shfl_xor_sync(mask, val, o);
            if (k2 < key) { key = k2; val = v2; }
        }
    }
    // A barrier for the group with memory ordering among its lanes (shared
    // and global): what a lane wrote before it is visible to the others after.
    __device__ __forceinline__ void sync() const { __syncwarp(mask); }
    // Exclusive prefix sum of x over the ranks (rank 0 gets 0); *total gets
    // the sum over the group, the same bits in every lane.
    __device__ __forceinline__ double exscan(double x, double *total) const {
        double v = x;
#pragma unroll
        for (int o = 1; o < WG; o <<= 1) {
            double y = __shfl_up_sync(mask, v, o, WG);
            if (rank >= o) v += y;
        }
        *total = __shfl_sync(mask, v, WG - 1, WG);
        double ex = __shfl_up_sync(mask, v, 1, WG);
        return rank == 0 ? 0.0 : ex;
    }
};

// A whole block of NT threads: warp butterflies, then every thread combines
// the warps' partials in the same order from shared memory. One reduction
// handles up to CAP values.
template <int NT, int CAP = 8>
struct BlockGroup {
    static constexpr int size = NT;
    static constexpr int NW = NT / 32;
    int rank;
    double *red;                 // (NW * CAP,) shared
    unsigned long long *kred;    // (NW,) shared
    __device__ BlockGroup(double *r, unsigned long long *k) : rank(threadIdx.x), red(r), kred(k) {}
    template <int NS, int NM>
    __device__ __forceinline__ void reduce(double (&s)[NS], double (&mn)[NM]) const { reduce_impl<NS, NM>(s, mn); }
    template <int NS>
    __device__ __forceinline__ void sum(double (&s)[NS]) const { reduce_impl<NS, 0>(s, nullptr); }
    template <int NS, int NM>
    __device__ __forceinline__ void reduce_impl(double *s, double *mn) const {
        static_assert(NS + NM <= CAP, "at most CAP values per block reduction");
        LaneGroup<32> w;
        w.reduce_impl<NS, NM>(s, mn);
        int warp = threadIdx.x >> 5;
        if (w.rank == 0) {
#pragma unroll
            for (int i = 0; i < NS; i++) red[warp * CAP + i] = s[i];
#pragma unroll
            for (int i = 0; i < NM; i++) red[warp * CAP + NS + i] = mn[i];
        }
        __syncthreads();
#pragma unroll
        for (int i = 0; i < NS; i++) {
            double t = 0;
            for (int k = 0; k < NW; k++) t += red[k * CAP + i];
            s[i] = t;
        }
#pragma unroll
        for (int i = 0; i < NM; i++) {
            double t = INFINITY;
            for (int k = 0; k < NW; k++) t = fmin(t, red[k * CAP + NS + i]);
            mn[i] = t;
        }
        __syncthreads();  // red is reused by the next reduction
    }
    __device__ __forceinline__ void argmin(unsigned long long &key, double &val) const {
        LaneGroup<32> w;
        w.argmin(key, val);
        int warp = threadIdx.x >> 5;
        if (w.rank == 0) { kred[warp] = key; red[warp * CAP] = val; }
        __syncthreads();
        key = ~0ull;
        for (int k = 0; k < NW; k++)
            if (kred[k] < key) { key = kred[k]; val = red[k * CAP]; }
        __syncthreads();
    }
    __device__ __forceinline__ void sync() const { __syncthreads(); }
    // Exclusive prefix sum of x over the threads; *total the block's sum
    // (warp scans, then the warps' totals in order from shared memory).
    __device__ __forceinline__ double exscan(double x, double *total) const {
        LaneGroup<32> w;
        double wt;
        double ex = w.exscan(x, &wt);
        int warp = threadIdx.x >> 5;
        if (w.rank == 0) red[warp * CAP] = wt;
        __syncthreads();
        double off = 0, t = 0;
        for (int k = 0; k < NW; k++) {
            double v = red[k * CAP];
            if (k < warp) off += v;
            t += v;
        }
        __syncthreads();  // red is reused by the next reduction
        *total = t;
        return off + ex;
    }
};


#endif // __CUDACC__

// ----------------------------------------------------------------------------
// one thread: every reduction is the thread's own value

struct SeqGroup {
    static constexpr int size = 1;
    int rank = 0;
    template <int NS, int NM>
    SRS_GROUP_HD __forceinline__ void reduce(double (&)[NS], double (&)[NM]) const {}
    template <int NS>
    SRS_GROUP_HD __forceinline__ void sum(double (&)[NS]) const {}
    SRS_GROUP_HD __forceinline__ void argmin(unsigned long long &, double &) const {}
    SRS_GROUP_HD __forceinline__ void sync() const {}
    SRS_GROUP_HD __forceinline__ double exscan(double x, double *total) const {
        *total = x;
        return 0.0;
    }
};

// ----------------------------------------------------------------------------
// G host threads (tests): the members are __host__ __device__ so that per-row
// templates instantiated for the device as well compile, but their bodies
// exist on the host only; a HostGroup is never used on the device.

#define SRS_HOST_GROUP_CAP 16   // values one reduction holds

// What the G threads of a host group share: a reusable barrier and the
// reduction slots, (G, SRS_HOST_GROUP_CAP) doubles and (G,) keys.
struct HostShared {
    std::mutex m;
    std::condition_variable cv;
    int n = 0, count = 0, gen = 0;
    std::vector<double> red;
    std::vector<unsigned long long> kred;
    explicit HostShared(int threads) : n(threads), red((size_t)threads * SRS_HOST_GROUP_CAP), kred((size_t)threads) {}
    void wait() {
        std::unique_lock<std::mutex> l(m);
        const int g = gen;
        if (++count == n) {
            count = 0;
            gen++;
            cv.notify_all();
        } else {
            cv.wait(l, [&] { return gen != g; });
        }
    }
};

template <int G>
struct HostGroup {
    static constexpr int size = G;
    int rank;
    HostShared *sh;
    template <int NS, int NM>
    SRS_GROUP_HD void reduce_impl(double *s, double *mn) const {
        static_assert(NS + NM <= SRS_HOST_GROUP_CAP, "at most SRS_HOST_GROUP_CAP values per reduction");
#ifndef __CUDA_ARCH__
        const int C = SRS_HOST_GROUP_CAP;
        for (int i = 0; i < NS; i++) sh->red[rank * C + i] = s[i];
        for (int i = 0; i < NM; i++) sh->red[rank * C + NS + i] = mn[i];
        sh->wait();
        for (int i = 0; i < NS; i++) {
            double t = 0;
            for (int k = 0; k < G; k++) t += sh->red[k * C + i];
            s[i] = t;
        }
        for (int i = 0; i < NM; i++) {
            double t = INFINITY;
            for (int k = 0; k < G; k++) t = fmin(t, sh->red[k * C + NS + i]);
            mn[i] = t;
        }
        sh->wait();
#endif
    }
    template <int NS, int NM>
    SRS_GROUP_HD void reduce(double (&s)[NS], double (&mn)[NM]) const { reduce_impl<NS, NM>(s, mn); }
    template <int NS>
    SRS_GROUP_HD void sum(double (&s)[NS]) const { reduce_impl<NS, 0>(s, nullptr); }
    SRS_GROUP_HD void argmin(unsigned long long &key, double &val) const {
#ifndef __CUDA_ARCH__
        sh->kred[rank] = key;
        sh->red[rank * SRS_HOST_GROUP_CAP] = val;
        sh->wait();
        key = ~0ull;
        for (int k = 0; k < G; k++)
            if (sh->kred[k] < key) { key = sh->kred[k]; val = sh->red[k * SRS_HOST_GROUP_CAP]; }
        sh->wait();
#endif
    }
    SRS_GROUP_HD void sync() const {
#ifndef __CUDA_ARCH__
        sh->wait();
#endif
    }
    SRS_GROUP_HD double exscan(double x, double *total) const {
        double off = 0, t = 0;
#ifndef __CUDA_ARCH__
        sh->red[rank * SRS_HOST_GROUP_CAP] = x;
        sh->wait();
        for (int k = 0; k < G; k++) {
            if (k < rank) off += sh->red[k * SRS_HOST_GROUP_CAP];
            t += sh->red[k * SRS_HOST_GROUP_CAP];
        }
        sh->wait();
#endif
        *total = t;
        return off;
    }
};

// ----------------------------------------------------------------------------
// running per-row code on a host group (tests)

// Calls body(g) once on each of G host threads, g the thread's HostGroup<G>
// (rank, shared barrier and reduction slots), and returns when all are done;
// G == 1 calls body(SeqGroup()) on the calling thread. A body that walks rows
// with scratch shared by the group calls g.sync() after each row, before the
// next one reuses the scratch.
template <int G, class Body>
void srs_host_group_run(Body body) {
    if constexpr (G == 1) {
        SeqGroup g;
        body(g);
    } else {
        HostShared sh(G);
        std::vector<std::thread> th;
        for (int t = 0; t < G; t++)
            th.emplace_back([&sh, &body, t] {
                HostGroup<G> g;
                g.rank = t;
                g.sh = &sh;
                body(g);
            });
        for (auto &x : th) x.join();
    }
}

// ----------------------------------------------------------------------------
// the guide kernels' operations (guide_body.cuh), as functions of a group:
//   group_argmax(g, key, id)   the (key, id) pair of the largest key, ties to
//                              the smaller id (keys float or double, no NaN)
//   group_or(g, x)             bitwise OR of x over the group
//   group_max(g, x)            the largest x over the group
// Each leaves the same bits in every thread of the group.

// The better of two (key, id) pairs: key descending, id ascending.
template <class K>
SRS_GROUP_HD __forceinline__ bool group_pair_better(K k2, int32_t i2, K k1, int32_t i1) {
    return k2 > k1 || (k2 == k1 && i2 < i1);
}

#ifdef __CUDACC__
template <int WG, class K>
__device__ __forceinline__ void group_argmax(const LaneGroup<WG> &g, K &key, int32_t &id) {
#pragma unroll
    for (int o = WG / 2; o > 0; o >>= 1) {
        K k2 = __shfl_xor_sync(g.mask, key, o);
        int32_t i2 = __shfl_xor_sync(g.mask, id, o);
        if (group_pair_better(k2, i2, key, id)) { key = k2; id = i2; }
    }
}
template <int WG>
__device__ __forceinline__ unsigned group_or(const LaneGroup<WG> &g, unsigned x) {
    return __reduce_or_sync(g.mask, x);
}
template <int WG>
__device__ __forceinline__ double group_max(const LaneGroup<WG> &g, double x) {
#pragma unroll
    for (int o = WG / 2; o > 0; o >>= 1) x = fmax(x, __shfl_xor_sync(g.mask, x, o));
    return x;
}

// Blocks: the warps' results, then every thread combines them in warp order
// from shared memory (red for keys and maxima, kred for ids and bits).
template <int NT, int CAP, class K>
__device__ __forceinline__ void group_argmax(const BlockGroup<NT, CAP> &g, K &key, int32_t &id) {
    LaneGroup<32> w;
    group_argmax(w, key, id);
    const int warp = threadIdx.x >> 5;
    if (w.rank == 0) { g.red[warp * CAP] = (double)key; g.kred[warp] = (unsigned long long)(uint32_t)id; }
    __syncthreads();
    key = (K)g.red[0];
    id = (int32_t)(uint32_t)g.kred[0];
    for (int k = 1; k < BlockGroup<NT, CAP>::NW; k++) {
        K k2 = (K)g.red[k * CAP];
        int32_t i2 = (int32_t)(uint32_t)g.kred[k];
        if (group_pair_better(k2, i2, key, id)) { key = k2; id = i2; }
    }
    __syncthreads();  // red and kred are reused by the next reduction
}
template <int NT, int CAP>
__device__ __forceinline__ unsigned group_or(const BlockGroup<NT, CAP> &g, unsigned x) {
    LaneGroup<32> w;
    x = group_or(w, x);
    const int warp = threadIdx.x >> 5;
    if (w.rank == 0) g.kred[warp] = x;
    __syncthreads();
    unsigned t = 0;
    for (int k = 0; k < BlockGroup<NT, CAP>::NW; k++) t |= (unsigned)g.kred[k];
    __syncthreads();
    return t;
}
template <int NT, int CAP>
__device__ __forceinline__ double group_max(const BlockGroup<NT, CAP> &g, double x) {
    LaneGroup<32> w;
    x = group_max(w, x);
    const int warp = threadIdx.x >> 5;
    if (w.rank == 0) g.red[warp * CAP] = x;
    __syncthreads();
    double t = -INFINITY;
    for (int k = 0; k < BlockGroup<NT, CAP>::NW; k++) t = fmax(t, g.red[k * CAP]);
    __syncthreads();
    return t;
}
#endif // __CUDACC__

template <class K>
SRS_GROUP_HD __forceinline__ void group_argmax(const SeqGroup &, K &, int32_t &) {}
SRS_GROUP_HD __forceinline__ unsigned group_or(const SeqGroup &, unsigned x) { return x; }
SRS_GROUP_HD __forceinline__ double group_max(const SeqGroup &, double x) { return x; }

// Host groups: through the shared slots in rank order, as blocks combine warps.
template <int G, class K>
SRS_GROUP_HD void group_argmax(const HostGroup<G> &g, K &key, int32_t &id) {
#ifndef __CUDA_ARCH__
    const int C = SRS_HOST_GROUP_CAP;
    g.sh->red[g.rank * C] = (double)key;
    g.sh->kred[g.rank] = (unsigned long long)(uint32_t)id;
    g.sh->wait();
    key = (K)g.sh->red[0];
    id = (int32_t)(uint32_t)g.sh->kred[0];
    for (int k = 1; k < G; k++) {
        K k2 = (K)g.sh->red[k * C];
        int32_t i2 = (int32_t)(uint32_t)g.sh->kred[k];
        if (group_pair_better(k2, i2, key, id)) { key = k2; id = i2; }
    }
    g.sh->wait();
#endif
}
template <int G>
SRS_GROUP_HD unsigned group_or(const HostGroup<G> &g, unsigned x) {
    unsigned t = 0;
#ifndef __CUDA_ARCH__
    g.sh->kred[g.rank] = x;
    g.sh->wait();
    for (int k = 0; k < G; k++) t |= (unsigned)g.sh->kred[k];
    g.sh->wait();
#endif
    return t;
}
template <int G>
SRS_GROUP_HD double group_max(const HostGroup<G> &g, double x) {
    double t = -INFINITY;
#ifndef __CUDA_ARCH__
    g.sh->red[g.rank * SRS_HOST_GROUP_CAP] = x;
    g.sh->wait();
    for (int k = 0; k < G; k++) t = fmax(t, g.sh->red[k * SRS_HOST_GROUP_CAP]);
    g.sh->wait();
#endif
    return t;
}

#endif // SRS_KERNELS_GROUP_CUH
