/*
 * internal.h — what the library's translation units share and users never see:
 * the context, the backend table, the data-set layout and error helpers.
 */
#ifndef SRS_INTERNAL_H
#define SRS_INTERNAL_H

#include <stdarg.h>
#include <stdio.h>
#include "srs.h"

// ----------------------------------------------------------------------------
// CPU levels: the hot translation units (host/cpu/*.c, eval_rows.c) are compiled once
// per ISA level, with SRS_ISA set to the level's name (v2, v3, v4 on x86-64;
// neon on aarch64; native for an ARCH= build). Their external symbols then
// carry the level as a suffix (srs_cpu_backend_v3), so the levels link side by
// side; host/dispatch.c picks one per context (srs_cpu_level_t below). The rest
// of the library is compiled once, for the lowest level, and reaches the hot
// code only through ctx->cpu.
#ifdef SRS_ISA
#define SRS_ISA_CAT2_(a, b) a##_##b
#define SRS_ISA_CAT_(a, b) SRS_ISA_CAT2_(a, b)
#define srs_cpu_backend SRS_ISA_CAT_(srs_cpu_backend, SRS_ISA)
#define srs_eval_cpu_backend SRS_ISA_CAT_(srs_eval_cpu_backend, SRS_ISA)
#define srs_cpu_load_row SRS_ISA_CAT_(srs_cpu_load_row, SRS_ISA)
#define srs_cpu_solve_row SRS_ISA_CAT_(srs_cpu_solve_row, SRS_ISA)
#define srs_exact_search SRS_ISA_CAT_(srs_exact_search, SRS_ISA)
#define srs_fail_bad_row SRS_ISA_CAT_(srs_fail_bad_row, SRS_ISA)
#endif

#define SRS_ERR_MAX 1024

// ----------------------------------------------------------------------------
// backends: one small table of function pointers per backend

typedef struct {
    const char *name;
    srs_status_t (*thresholds)(srs_ctx_t *ctx, const srs_batch_t *b, const srs_threshold_opts_t *o,
                               double *m_star, double *b_eff);
    srs_status_t (*shape)(srs_ctx_t *ctx, const srs_batch_t *b, const srs_threshold_opts_t *to,
                          const srs_shape_opts_t *so, double *m_star, double *b_eff, void *shaped,
                          srs_dtype_t shaped_dtype);
} srs_backend_t;

extern const srs_backend_t srs_cpu_backend;
#ifdef SRS_WITH_CUDA
extern const srs_backend_t srs_cuda_backend;
// Number of CUDA devices (0 when none or no driver); *why gets the runtime's
// message when 0 (static string).
int srs_cuda_device_count(const char **why);
// Releases the CUDA backend's state on ctx (ctx->be_state); safe when none.
void srs_cuda_free_state(srs_ctx_t *ctx);
// srs_thresholds_device / srs_shape_device once the options are checked
// (host/cuda/device_api.c); so == NULL: thresholds only.
srs_status_t srs_cuda_rows_device(srs_ctx_t *ctx, const srs_batch_t *b, const srs_threshold_opts_t *to,
                                  const srs_shape_opts_t *so, double *m_star, double *b_eff, void *shaped,
                                  srs_dtype_t shaped_dtype, void *stream);
#endif

// A sum in the same order at every CPU level: term j goes to partial sum
// j mod 8 (lane-wise vector adds, which no compiler reassociates), and the
// eight partials are added in this fixed tree. An OpenMP simd reduction would
// split a sum by the vector width instead: other bits on AVX2 than on AVX-512.
#define SRS_SUM8(a) ((((a)[0] + (a)[4]) + ((a)[2] + (a)[6])) + (((a)[1] + (a)[5]) + ((a)[3] + (a)[7])))

// One compiled CPU level (host/dispatch.c): its backend tables and the entry
// points that code outside the hot units calls.
typedef struct srs_cpu_level srs_cpu_level_t;

struct srs_ctx {
    srs_device_t device;
    int n_threads;
    const srs_cpu_level_t *cpu;   // the CPU level this context runs (every device: fallbacks, messages)
    const srs_backend_t *be;
    void *be_state;           // the backend's own state (CUDA: streams, buffers), or NULL
    void *ev_state;           // the CUDA evaluation's state (host/cuda/cuda_eval.c), or NULL
    int cuda_device;          // CUDA: the device this context runs on
    int64_t err_row;
    char err[SRS_ERR_MAX];
};

// Records a formatted message (and no row) on ctx; returns st so callers can
// write `return srs_fail(ctx, SRS_ERR_IO, "...")`. ctx may be NULL.
srs_status_t srs_fail(srs_ctx_t *ctx, srs_status_t st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
// As srs_fail, and records the global row index the error is about.
srs_status_t srs_fail_row(srs_ctx_t *ctx, srs_status_t st, int64_t row, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
// Clears the error state at the start of a public call.
void srs_clear_error(srs_ctx_t *ctx);

// The exact solver's partition search (host/cpu/solve.c), exposed for tests: the root
// over undecided samples td[0..k) (weights tp or NULL) given the sums of the
// samples decided active (sh, ph) and inactive (sl, pl). Reorders td/tp.
double srs_exact_search(double *td, double *tp, int64_t k, double sh, double ph, double sl, double pl,
                        double eps, double dmin, double dmax);

// The error for bad row `row` of b (kind 1 empty, 2 reward, 3 logw, as the
// CPU and CUDA backends number them): names the global row, the first
// non-finite sample and its value, or says the row is too wide to sum.
srs_status_t srs_fail_bad_row(srs_ctx_t *ctx, const srs_batch_t *b, int64_t row, int kind);

// Row i of b alone, as a batch (same arrays, first_index advanced).
srs_batch_t srs_batch_one_row(const srs_batch_t *b, int64_t i);

// Checks a batch's structure (counts, offsets monotone, dtypes); not values.
srs_status_t srs_batch_check(srs_ctx_t *ctx, const srs_batch_t *b);

// ----------------------------------------------------------------------------
// data sets

struct srs_data {
    srs_batch_t batch;        // views into the storage below
    char *path;               // source path ("" when built in memory)
    int64_t *offsets;         // (n_prompts+1,) owned, or NULL (dense)
    void *owned[3];           // owned reward, logw, gold buffers (NULL if mapped/absent)
    void *map[3];             // mmap base of reward, logw, gold NPY files
    size_t map_len[3];
    char *id_buf;             // prompt ids, NUL-separated; NULL = row index ids
    int64_t *id_off;          // (n_prompts,) offsets into id_buf
    uint8_t *id_num;          // (n_prompts,) 1 if the id was a JSON number, 2 the row index
                              // (a text file's row without an id), 0 a string
    int64_t *line;            // (n_prompts,) 1-based source line, or NULL
};

// Allocates an empty data set (all fields zero, path copied). NULL on OOM.
srs_data_t *srs_data_alloc(const char *path);

// Number formatting shared by the writers: shortest text that reads back
// to the same double ("%.17g" refined).
int srs_fmt_double(char *buf, size_t n, double x);

// Half-open range of row i's samples relative to the arrays' base.
#define SRS_ROW(b, i, s, n) srs_batch_row((b), (i), &(s), &(n))

// ----------------------------------------------------------------------------
// evaluation (host/eval.c): per-row hooks into the CPU backend and the table
// of evaluation backends

// A row loaded by srs_cpu_load_row; d_j = u_j - ref sits in the caller's buffer.
typedef struct {
    double ref;          // u_0: the shift
    double dmin, dmax;   // range of d
    double umin, umax;   // range of u
    double wsum;         // sum of the unnormalised weights (n when uniform)
    double mean;         // weighted mean of d
} srs_cpu_row_t;

// Loads samples [start, start+n) of b (host/cpu/solve.c): shifted rewards into d (n,),
// and when b has logw the unnormalised weights exp(logw - max) into p (n,)
// (pass NULL without logw). Returns 0, or nonzero for a bad row (empty, a
// non-finite value): srs_cpu_backend.thresholds on that row alone then gives
// the error message.
int srs_cpu_load_row(const srs_batch_t *b, int64_t start, int64_t n, double *d, double *p,
                     srs_cpu_row_t *out);
// m* of a loaded row, in shifted coordinates, by the solver of o (eps =
// exp(-lg) of the preset). td, tp: (n,) scratch (tp only when p != NULL).
double srs_cpu_solve_row(const srs_threshold_opts_t *o, const double *d, const double *p, int64_t n,
                         const srs_cpu_row_t *row, double eps, double *td, double *tp);

// An evaluation backend: adds the per-replicate sums of one batch to acc
// (srs_eval_acc_len doubles). The CUDA entry slots in beside the CPU one.
typedef struct {
    const char *name;
    srs_status_t (*accumulate)(srs_ctx_t *ctx, const srs_batch_t *b, const srs_eval_opts_t *o, double *acc);
} srs_eval_backend_t;

extern const srs_eval_backend_t srs_eval_cpu_backend;

// Columns of the evaluation accumulator: 2 + betas x arms x metrics.
static inline int64_t srs_eval_n_cols(const srs_eval_opts_t *o) {
    return 2 + (int64_t)o->n_betas * o->n_arms * SRS_MET_COUNT_;
}
// The evaluation's GEMM tiles (eval_rows.c): replicates and columns are padded
// to these, which the memory estimate of srs_eval_opts_check counts.
#define SRS_EVAL_RT 8
#define SRS_EVAL_KT 16

struct srs_cpu_level {
    const char *name;    // "v2", "v3", "v4", "neon", "native"
    const char *desc;    // what it needs of the CPU, e.g. "x86-64-v3: AVX2, FMA, BMI2"
    int (*runs)(void);   // 1 when this CPU can run it
    const srs_backend_t *be;
    const srs_eval_backend_t *ev;
    double (*exact_search)(double *td, double *tp, int64_t k, double sh, double ph, double sl, double pl,
                           double eps, double dmin, double dmax);
    srs_status_t (*fail_bad_row)(srs_ctx_t *ctx, const srs_batch_t *b, int64_t row, int kind);
};
// The level new contexts get: SRS_CPU or srs_cpu_set_level when given, else
// the best this CPU runs. SRS_OK, or an error with its message in msg (an
// unknown or unrunnable SRS_CPU).
srs_status_t srs_cpu_level_for_ctx(const srs_cpu_level_t **out, char *msg, size_t msg_len);
#ifdef SRS_WITH_CUDA
// The CUDA evaluation (host/cuda/cuda_eval.c): per-prompt metrics by the kernels of
// kernels/eval.cu, the bootstrap sums by cuBLAS, the same accumulator.
extern const srs_eval_backend_t srs_eval_cuda_backend;
// Releases the CUDA evaluation's state on ctx (ctx->ev_state); safe when none.
// Called by srs_cuda_free_state.
void srs_cuda_eval_release(srs_ctx_t *ctx);
// Device time of the evaluation on ctx since its creation, in seconds: per
// call, one CUDA event pair around the whole accumulation (copies in, weights,
// metric kernels, bootstrap GEMM, sums back; the two streams' overlap counted
// once), summed over calls; and the number of chunks. 0 and 0 before any CUDA
// evaluation.
void srs_cuda_eval_device_time(const srs_ctx_t *ctx, double *seconds, int64_t *chunks);
#endif

// ----------------------------------------------------------------------------
// chunks of the CUDA pipelines (host/cuda/chunks.c: device-free, in every build,
// so the CPU suite tests them) and the test hooks of the CUDA paths
// (environment, read per call):
//   SRS_CUDA_CHUNK_SAMPLES=N      thresholds and shaping: at most N samples per
//                                 chunk (a chunk still holds its longest row)
//   SRS_CUDA_SCORE_CHUNK_ROWS=N   srs_score: at most N rows per chunk
//   SRS_CUDA_POISON=1             device outputs (m*, B_eff, shaped, the
//                                 evaluation's V, the rewards) are filled with
//                                 NaN bytes before the kernels that write them
// (and SRS_CUDA_EVAL_TIER, SRS_CUDA_EVAL_CHUNK_ROWS: host/cuda/cuda_eval.c)

// The value of environment variable name when it is a positive integer, else 0.
int64_t srs_env_pos(const char *name);
// The threshold pipeline's caps: *cap_s samples per chunk (want_s, lowered by
// SRS_CUDA_CHUNK_SAMPLES and to half of fit_s, the samples the free device
// memory holds; at most the batch, at least its longest row max_len) and
// *cap_r rows per chunk (dense: the rows in *cap_s; CSR: *cap_s, at least
// rows_min; within [1, n_prompts]).
void srs_chunk_caps(const srs_batch_t *b, int64_t max_len, int64_t want_s, int64_t fit_s, int64_t rows_min,
                    int64_t *cap_s, int64_t *cap_r);
// Rows of the chunk that starts at row i0: whole rows while the chunk stays
// within cap_s samples and cap_r rows, at least one.
int64_t srs_chunk_next(const srs_batch_t *b, int64_t i0, int64_t cap_s, int64_t cap_r);
// Staging of CSR rows [i0, i0+nr): off (nr+1,) the offsets rebased to the
// chunk; rows (nr,) the chunk's rows grouped by tier (tier_of(len, u) in
// [0, n_tiers), n_tiers <= 64), each tier's rows in row order, tier t at
// rows[tier_at[t] .. + tier_n[t]); tier_max[t] its longest row.
void srs_chunk_stage_rows(const int64_t *offsets, int64_t i0, int64_t nr, int n_tiers,
                          int (*tier_of)(int64_t len, const void *u), const void *u, int64_t *off, int64_t *rows,
                          int64_t *tier_n, int64_t *tier_at, int64_t *tier_max);

// ----------------------------------------------------------------------------
// the node-local rank (host/node_rank.c; MPI-free, for the CUDA device choice)

// This process's rank among the processes of the same job on this node
// (0 when not launched in parallel): SRS_LOCAL_RANK (set by srs_mpi_start
// from MPI_Comm_split_type, so it holds under any launcher), else
// OMPI_COMM_WORLD_LOCAL_RANK, MPI_LOCALRANKID, PMI_LOCAL_RANK, SLURM_LOCALID.
// A CUDA context picks device srs_node_local_rank() % device_count; under
// Slurm with --gpus-per-task each task sees one device and picks it.
SRS_API int srs_node_local_rank(void);

#endif // SRS_INTERNAL_H
