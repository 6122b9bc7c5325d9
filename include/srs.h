/*
 * srs.h — Stackelberg reward shaping engine: the public C API.
 *
 * Per prompt x there are n base-policy samples with user rewards u_i (a reward
 * model's scores), optional gold utilities g_i and optional base log-weights
 * logw_i (p = softmax(logw), uniform when absent). srs computes the paper's
 * optimal threshold m*(x) — the root of
 *
 *     F(m) = sum_i p_i w_i(m) (u_i - m),  w_i(m) = gamma if u_i >= m else 1,
 *
 * with gamma = exp(B/beta) (or a preset's variant) — and shaped rewards built
 * from it (Wang et al., "Reward Shaping for Inference-Time Alignment: A
 * Stackelberg Game Perspective", ICML 2026).
 *
 * Tutorial:
 *
 *     srs_ctx_t *ctx;
 *     if (srs_ctx_create(&ctx, SRS_DEVICE_AUTO, 0) != SRS_OK) ...;
 *     srs_batch_t b = {0};
 *     b.n_prompts = 2; b.offsets = (int64_t[]){0, 3, 5};   // ragged CSR rows
 *     b.reward = (srs_vec_t){ rewards, SRS_F64 };           // (5,)
 *     srs_threshold_opts_t o = srs_threshold_opts_default();
 *     o.preset = SRS_PRESET_PAPER_CD; o.B = 15; o.beta = 0.667;
 *     double m[2], beff[2];
 *     if (srs_thresholds(ctx, &b, &o, m, beff) != SRS_OK)
 *         fprintf(stderr, "%s\n", srs_ctx_last_error(ctx));
 *     srs_ctx_free(ctx);
 *
 * Conventions: every function that can fail returns srs_status_t and leaves a
 * message on the context (srs_ctx_last_error); the library never prints and
 * never exits. Arrays carry a shape comment: (n_prompts,) per prompt,
 * (n_samples,) per sample in CSR order. Pointers are host pointers unless a
 * function says otherwise.
 */
#ifndef SRS_H
#define SRS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define SRS_API __declspec(dllexport)
#elif defined(__GNUC__)
#define SRS_API __attribute__((visibility("default")))
#else
#define SRS_API
#endif

#define SRS_VERSION_MAJOR 0
#define SRS_VERSION_MINOR 1
#define SRS_VERSION_PATCH 0
#define SRS_VERSION_STRING "0.1.0"

// ----------------------------------------------------------------------------
// status codes

typedef enum {
    SRS_OK = 0,
    SRS_ERR_INVALID_ARG,   // a parameter out of range (beta <= 0, unknown enum, NULL)
    SRS_ERR_BAD_INPUT,     // data that violates the format or the mathematics (NaN, empty row)
    SRS_ERR_IO,            // open/read/write/rename failed
    SRS_ERR_NOMEM,         // allocation failed
    SRS_ERR_UNSUPPORTED,   // valid request this build cannot serve (e.g. CUDA not compiled in)
    SRS_ERR_BACKEND,       // a backend runtime failure (CUDA error)
} srs_status_t;

// Returns a static string naming the status ("ok", "invalid argument", ...).
SRS_API const char *srs_status_str(srs_status_t s);

// Returns SRS_VERSION_STRING.
SRS_API const char *srs_version(void);

// ----------------------------------------------------------------------------
// context and backends

typedef enum {
    SRS_DEVICE_AUTO = 0,   // CUDA when compiled in and a device is present, else CPU
    SRS_DEVICE_CPU,
    SRS_DEVICE_CUDA,
} srs_device_t;

typedef struct srs_ctx srs_ctx_t;

// Creates a context on `device` with `n_threads` CPU threads (0 = OpenMP's
// default). SRS_DEVICE_CUDA in a build without CUDA returns
// SRS_ERR_UNSUPPORTED with *out = NULL; a message for that case is available
// from srs_last_create_error(). Free with srs_ctx_free.
SRS_API srs_status_t srs_ctx_create(srs_ctx_t **out, srs_device_t device, int n_threads);
SRS_API void srs_ctx_free(srs_ctx_t *ctx);
// The message of the last failure of srs_ctx_create in this thread ("" if none).
SRS_API const char *srs_last_create_error(void);
// The device the context resolved to (never SRS_DEVICE_AUTO).
SRS_API srs_device_t srs_ctx_device(const srs_ctx_t *ctx);
// The message of the last failed call on ctx ("" when none). Owned by ctx,
// valid until the next call on ctx.
SRS_API const char *srs_ctx_last_error(const srs_ctx_t *ctx);
// The global row index (batch.first_index + i) the last error is about, or -1.
SRS_API int64_t srs_ctx_error_row(const srs_ctx_t *ctx);
// Number of CPU threads the context uses.
SRS_API int srs_ctx_threads(const srs_ctx_t *ctx);
// 1 if this build has the CUDA backend compiled in, else 0.
SRS_API int srs_cuda_compiled(void);

// CPU levels. The hot CPU code (thresholds, shaping, evaluation) is compiled
// once per instruction-set level, and each context runs one, chosen when it is
// created: on x86-64 "v2" (x86-64-v2: SSE4.2), "v3" (x86-64-v3: AVX2, FMA) and
// "v4" (x86-64-v4: AVX-512); on aarch64 "neon"; "native" in a build made with
// ARCH= (that build's flags only). By default a context gets the best level
// this CPU runs; the environment variable SRS_CPU=v2|v3|v4|neon, read once per
// process, or srs_cpu_set_level forces one (tests, benchmarks). Every level
// gives the same results.
// The level new contexts get (its name), or NULL when SRS_CPU names a level
// that is unknown or that this CPU cannot run (srs_ctx_create then says why).
SRS_API const char *srs_cpu_level(void);
// The levels compiled into this build, lowest first, separated by spaces
// ("v2 v3 v4").
SRS_API const char *srs_cpu_levels(void);
// What level `name` needs of the CPU ("x86-64-v3: AVX2, FMA, BMI2"), or NULL
// when it is not compiled in.
SRS_API const char *srs_cpu_level_desc(const char *name);
// 1 when level `name` is compiled in and this CPU can run it, else 0.
SRS_API int srs_cpu_level_runs(const char *name);
// Forces level `name` for contexts created from now on (existing contexts keep
// theirs); "auto" the best this CPU runs, whatever SRS_CPU says; NULL the
// process default again (SRS_CPU, else the best). SRS_ERR_INVALID_ARG for an
// unknown name, SRS_ERR_UNSUPPORTED for a level this CPU cannot run; the
// choice is then unchanged.
SRS_API srs_status_t srs_cpu_set_level(const char *name);
SRS_API const char *srs_device_name(srs_device_t d);   // "auto", "cpu", "cuda"
SRS_API srs_status_t srs_device_parse(const char *s, srs_device_t *out);

// ----------------------------------------------------------------------------
// batches: CSR rows of samples

typedef enum { SRS_F32 = 0, SRS_F64 = 1 } srs_dtype_t;

// A typed read-only array; data == NULL means absent.
typedef struct {
    const void *data;
    srs_dtype_t dtype;
} srs_vec_t;

// A batch of prompts. Row i holds samples [offsets[i], offsets[i+1]); when
// offsets is NULL the batch is dense with row_len samples per row (sample
// j of row i at i*row_len + j). reward is required; logw and gold optional.
typedef struct {
    int64_t n_prompts;
    const int64_t *offsets;   // (n_prompts+1,) or NULL for dense
    int64_t row_len;          // samples per row when offsets == NULL
    srs_vec_t reward;         // (n_samples,) user reward u
    srs_vec_t logw;           // (n_samples,) base log-weights, optional
    srs_vec_t gold;           // (n_samples,) gold utility, optional
    int64_t first_index;      // global index of row 0 (chunked runs, error messages)
} srs_batch_t;

// Total number of samples in the batch.
static inline int64_t srs_batch_n_samples(const srs_batch_t *b) {
    return b->offsets ? b->offsets[b->n_prompts] - b->offsets[0] : b->n_prompts * b->row_len;
}
// Start and length of row i (start indexes the arrays directly).
static inline void srs_batch_row(const srs_batch_t *b, int64_t i, int64_t *start, int64_t *len) {
    if (b->offsets) { *start = b->offsets[i]; *len = b->offsets[i + 1] - b->offsets[i]; }
    else { *start = i * b->row_len; *len = b->row_len; }
}

// ----------------------------------------------------------------------------
// thresholds

typedef enum {
    SRS_PRESET_EXACT = 0,     // B_eff = B, gamma = exp(B/beta): the theorem
    SRS_PRESET_PAPER_CD,      // B_eff = min(B, 2 range), gamma = exp(min(B_eff/beta, cap))
    SRS_PRESET_PAPER_ARGS,    // B_eff = min(B, 1.01 range), gamma = min(exp(B_eff/beta), 2)
} srs_preset_t;

typedef enum {
    SRS_SOLVER_BISECT = 0,    // the paper's: bisection on [min u, max u] to tol
    SRS_SOLVER_DINKELBACH,    // fixed-point m <- sum p w(m) u / sum p w(m); finite
    SRS_SOLVER_EXACT,         // partition search for the active set; no tolerance
} srs_solver_t;

typedef struct {
    srs_preset_t preset;
    srs_solver_t solver;
    double B;        // reward bound, >= 0
    double beta;     // KL strength of the follower, > 0
    double cap;      // paper-cd cap on log gamma, > 0 (default 2)
    double tol;      // bisection: stop when the bracket < tol * max(1, range)
    int max_iter;    // bisection/Dinkelbach bound (0 = run to the end); a row whose m* is
                     // not within tolerance when it is reached fails the call (SRS_ERR_INVALID_ARG)
} srs_threshold_opts_t;

// Defaults: preset exact, solver exact, B 1, beta 1, cap 2, tol 1e-12.
SRS_API srs_threshold_opts_t srs_threshold_opts_default(void);
// Checks ranges; on failure returns SRS_ERR_INVALID_ARG with a message on ctx.
SRS_API srs_status_t srs_threshold_opts_check(srs_ctx_t *ctx, const srs_threshold_opts_t *o);

// Computes m*(x) and B_eff for every row. m_star and b_eff are
// (n_prompts,) outputs; either may be NULL. Every reward and logw must be
// finite and every row non-empty, else SRS_ERR_BAD_INPUT naming the first
// offending row (srs_ctx_error_row) and sample; outputs are then undefined.
SRS_API srs_status_t srs_thresholds(srs_ctx_t *ctx, const srs_batch_t *batch,
                                    const srs_threshold_opts_t *opts,
                                    double *m_star, double *b_eff);

// ----------------------------------------------------------------------------
// shaping

typedef enum {
    SRS_DESIGN_RAW = 0,    // s = u
    SRS_DESIGN_HARD,       // s = B_eff 1[u >= m*]
    SRS_DESIGN_SOFT,       // s = B_eff sigmoid(alpha (u - m*))          (SRS)
    SRS_DESIGN_MINMAX,     // s = min(B, 1.01 range) (u - min)/range      (0 when range = 0)
    SRS_DESIGN_MEANSTD,    // s = (u - mean)/std, p-weighted              (0 when std = 0)
    SRS_DESIGN_CAP,        // s = clip(u - min, 0, clip)
    SRS_DESIGN_MEANSOFT,   // s = B_eff sigmoid(alpha (u - mean))
    SRS_DESIGN_COUNT_
} srs_design_t;

typedef struct {
    srs_design_t design;
    double alpha;    // sigmoid sharpness for soft/meansoft, > 0 (default 1)
    double clip;     // cap design's clip value c, >= 0 (default: B)
} srs_shape_opts_t;

// Defaults: design soft, alpha 1, clip -1 (meaning "use B").
SRS_API srs_shape_opts_t srs_shape_opts_default(void);
SRS_API const char *srs_design_name(srs_design_t d);
SRS_API srs_status_t srs_design_parse(const char *s, srs_design_t *out);
SRS_API const char *srs_preset_name(srs_preset_t p);
SRS_API srs_status_t srs_preset_parse(const char *s, srs_preset_t *out);
SRS_API const char *srs_solver_name(srs_solver_t s);
SRS_API srs_status_t srs_solver_parse(const char *s, srs_solver_t *out);

// Computes m*(x), B_eff and the shaped reward of every sample in one pass.
// m_star, b_eff: (n_prompts,) or NULL. shaped: (n_samples,) of shaped_dtype,
// in the batch's sample order (index i - offsets[0] for CSR). Errors as for
// srs_thresholds.
SRS_API srs_status_t srs_shape(srs_ctx_t *ctx, const srs_batch_t *batch,
                               const srs_threshold_opts_t *topts,
                               const srs_shape_opts_t *sopts,
                               double *m_star, double *b_eff,
                               void *shaped, srs_dtype_t shaped_dtype);

// ----------------------------------------------------------------------------
// thresholds and shaping on device memory (CUDA contexts)
//
// srs_thresholds and srs_shape on arrays that already live on a CUDA device
// (a PyTorch CUDA tensor's data_ptr()), with no copy of the rows: batch->reward,
// batch->logw (optional) and batch->offsets (CSR; NULL for dense rows) are
// device pointers, and so are m_star, b_eff (n_prompts,) (either may be NULL)
// and shaped (n_samples,) of shaped_dtype; batch->gold is ignored. Every
// pointer must be device (or managed) memory of one device; the work runs on
// that device, whichever device the context picked. `stream` is a
// cudaStream_t (NULL: the legacy default stream), e.g. PyTorch's
// torch.cuda.current_stream().cuda_stream: the kernels are queued on it after
// the caller's earlier work there.
//
// Synchronisation: the call returns after the work is complete (it
// synchronises `stream`), because a bad row is reported by the returned
// status as srs_thresholds reports it: SRS_ERR_BAD_INPUT naming the first
// offending row and sample (the kernels flag the row on the device; only that
// row is then read back for the message). With offsets, the offsets
// (8 bytes per row) are read to host memory to check them (non-decreasing,
// else SRS_ERR_INVALID_ARG naming the row, as srs_thresholds) and to group
// the rows by length; rewards and logw never leave the device. Scratch
// (offsets, row order, one flag per chunk) is allocated per call.
// Results are those of srs_thresholds/srs_shape on the CUDA backend, bit for
// bit (the same kernels). max_iter > 0 with the bisect or Dinkelbach solver is
// SRS_ERR_UNSUPPORTED here (its convergence check reads the rows on the host).
// On a CPU context, or in a build without the CUDA backend:
// SRS_ERR_UNSUPPORTED with a message.
SRS_API srs_status_t srs_thresholds_device(srs_ctx_t *ctx, const srs_batch_t *batch,
                                           const srs_threshold_opts_t *opts,
                                           double *m_star, double *b_eff, void *stream);
SRS_API srs_status_t srs_shape_device(srs_ctx_t *ctx, const srs_batch_t *batch,
                                      const srs_threshold_opts_t *topts,
                                      const srs_shape_opts_t *sopts,
                                      double *m_star, double *b_eff,
                                      void *shaped, srs_dtype_t shaped_dtype, void *stream);

// ----------------------------------------------------------------------------
// data sets: reading and writing JSONL, NPY and CSV

typedef enum {
    SRS_FMT_AUTO = 0,   // by extension: .jsonl/.json, .npy, .csv
    SRS_FMT_JSONL,
    SRS_FMT_NPY,
    SRS_FMT_CSV,
} srs_format_t;

SRS_API srs_status_t srs_format_parse(const char *s, srs_format_t *out);
SRS_API srs_format_t srs_format_from_path(const char *path);  // SRS_FMT_AUTO if unknown

// A data set owns (or memory-maps) a batch plus per-row prompt ids and the
// source line of each row. Opaque.
typedef struct srs_data srs_data_t;

typedef struct {
    srs_format_t format;      // AUTO: by extension
    const char *gold_path;    // NPY: companion file; NULL = "<stem>.gold.npy" if present
    const char *logw_path;    // NPY: companion file; NULL = "<stem>.logw.npy" if present
} srs_read_opts_t;

// Reads path into *out. Formats:
//   JSONL  {"prompt_id": str|int, "rewards": [..], "gold": [..]?, "logw": [..]?} per line
//   NPY    2-D float32/float64 C-order [prompts, samples], memory-mapped
//   CSV    header prompt_id,reward[,gold][,logw]; one sample per line, rows contiguous
// Bad input gives SRS_ERR_BAD_INPUT with a message naming the file and the
// line (JSONL/CSV) or row (NPY). `opts` may be NULL.
SRS_API srs_status_t srs_data_read(srs_ctx_t *ctx, const char *path,
                                   const srs_read_opts_t *opts, srs_data_t **out);
// Builds an owning data set from arrays (copied). ids may be NULL (row index
// used as a numeric id). offsets NULL = dense rows of row_len.
SRS_API srs_status_t srs_data_from_arrays(srs_ctx_t *ctx, int64_t n_prompts,
                                          const int64_t *offsets, int64_t row_len,
                                          const double *reward, const double *gold,
                                          const double *logw, const char *const *ids,
                                          srs_data_t **out);
SRS_API void srs_data_free(srs_data_t *d);
// The batch view (valid while d lives; first_index = 0).
SRS_API const srs_batch_t *srs_data_batch(const srs_data_t *d);
// Prompt id of row i as text; *is_number set to 1 when it was a JSON number
// or is the row index. Valid while d lives; a row-index id (data without
// ids, e.g. NPY) is formatted into a thread-local ring of 16 buffers and is
// valid until 16 more such calls in the same thread. "" for a bad row.
SRS_API const char *srs_data_id(const srs_data_t *d, int64_t row, int *is_number);
// 1-based source line of row i (its first line for CSV); 0 when not from a text file.
SRS_API int64_t srs_data_line(const srs_data_t *d, int64_t row);
// The path the data was read from ("" when built from arrays).
SRS_API const char *srs_data_path(const srs_data_t *d);

// Writes the data set (rewards, and gold/logw when present) to path in the
// format of its extension; NPY needs equal rows and writes companions
// "<stem>.gold.npy"/"<stem>.logw.npy". Written to a temporary file in the
// same directory and renamed into place; nothing is left on failure.
SRS_API srs_status_t srs_data_write(srs_ctx_t *ctx, const char *path, const srs_data_t *d,
                                    srs_format_t format, srs_dtype_t npy_dtype);

// Streaming writer for results, rows in input order.
typedef enum {
    SRS_OUT_THRESHOLDS = 0,   // per prompt: prompt_id, m_star, B_eff
    SRS_OUT_SHAPED,           // per prompt: prompt_id, m_star, B_eff, shaped[]
    SRS_OUT_REWARDS,          // per prompt: prompt_id, rewards[] (an input file for srs threshold)
} srs_out_kind_t;

typedef struct srs_writer srs_writer_t;

// Opens a writer for the rows of `d` (ids, row lengths). path "-" writes
// to stdout (buffered until commit). Output formats:
//   JSONL  {"prompt_id", "m_star", "B_eff"[, "shaped": [..]]}
//          rewards: {"prompt_id", "rewards": [..]}
//   CSV    prompt_id,m_star,B_eff  |  prompt_id,shaped,m_star,B_eff (long)
//          rewards: prompt_id,reward (long)
//   NPY    thresholds: float64 [prompts, 2] (m_star, B_eff); shaped: float64
//          [prompts, samples] (equal rows) + "<stem>.thresholds.npy";
//          rewards: float64 [prompts, samples] (equal rows)
SRS_API srs_status_t srs_writer_open(srs_ctx_t *ctx, const char *path, srs_format_t format,
                                     srs_out_kind_t kind, const srs_data_t *d,
                                     srs_writer_t **out);
// Appends rows [first_row, first_row + n_rows) in order. shaped holds the
// samples of those rows contiguously (NULL for thresholds; the rewards for
// SRS_OUT_REWARDS, whose m_star and b_eff are unused and may be NULL).
SRS_API srs_status_t srs_writer_put(srs_writer_t *w, int64_t first_row, int64_t n_rows,
                                    const double *m_star, const double *b_eff,
                                    const double *shaped);
// Flushes and renames the temporary file into place; frees w.
SRS_API srs_status_t srs_writer_commit(srs_writer_t *w);
// Removes the temporary file; frees w. Safe on NULL.
SRS_API void srs_writer_abort(srs_writer_t *w);

// ----------------------------------------------------------------------------
// synthetic scenarios (deterministic by seed; Philox4x32-10 keyed by seed,
// counter = (global prompt, sample, stream))

typedef enum {
    SRS_SCEN_GAUSS = 0,    // u ~ N(mu_x, 1), gold = u
    SRS_SCEN_OVEROPT,      // rare high-utility outputs, proxy with exploitable errors
    SRS_SCEN_TWOPOINT,     // the paper's motivating example: 2 outcomes, base 0.9/0.1
    SRS_SCEN_COUNT_
} srs_scenario_t;

typedef struct {
    srs_scenario_t scenario;
    int64_t n_prompts;
    int64_t n_samples;     // per prompt (max when ragged)
    int ragged;            // row lengths uniform in [1, n_samples]
    int with_logw;         // non-uniform base log-weights
    uint64_t seed;
} srs_gen_opts_t;

SRS_API srs_gen_opts_t srs_gen_opts_default(void);
SRS_API const char *srs_scenario_name(srs_scenario_t s);
SRS_API srs_status_t srs_scenario_parse(const char *s, srs_scenario_t *out);
// Generates a data set (rewards, gold, and logw when asked) into *out.
SRS_API srs_status_t srs_gen(srs_ctx_t *ctx, const srs_gen_opts_t *opts, srs_data_t **out);

// ----------------------------------------------------------------------------
// evaluation: reward designs x follower strengths, with bootstrap intervals
//
// For an arm (a reward design s, best-of-n, or the base policy) and a
// follower strength beta, per prompt: q ∝ p exp(s/beta) and
//   proxy    sum q u                 gold  sum q g (needs gold)
//   kl       KL(q||p) = sum q log(q/p)       ess   1 / sum q^2 (of q, also for
//            non-uniform p: the number of samples q effectively spreads over)
//   win_tie  sum_ij q_i p_j 1[v_i >= v_j]    win   the same with >
//   win_tie_raw, win_raw: the same against q_raw (the raw design, same beta)
// where v is gold when the data has it, else u. Best-of-n is the exact law
// of the max-u of n i.i.d. draws from p (ties: uniform among the tied draws,
// i.e. in proportion to p within a tie group); it does not depend on beta.
//
// Aggregation is split so chunks, backends and MPI ranks reduce by adding:
// srs_eval_accumulate adds a batch's per-replicate sums into a flat array of
// doubles (add arrays elementwise across chunks or ranks); srs_eval_finalize
// turns the total into means and percentile-bootstrap intervals. Replicate r
// weighs prompt i (global index batch.first_index + i) by a Poisson(1) count
// drawn by inversion from the Philox stream keyed by (seed, i, r), so the
// numbers do not depend on chunking, backend or the number of processes
// (up to floating-point summation order).

typedef enum {
    SRS_ARM_DESIGN = 0,   // a reward design (design, alpha) under each beta
    SRS_ARM_BEST_OF_N,    // best-of-n for n = arm.n (independent of beta)
    SRS_ARM_BASE,         // the base policy (constant reward: q = p)
} srs_arm_kind_t;

typedef struct {
    srs_arm_kind_t kind;
    srs_design_t design;  // SRS_ARM_DESIGN
    double alpha;         // soft / meansoft sharpness, > 0
    int64_t n;            // SRS_ARM_BEST_OF_N: draws, >= 1
} srs_eval_arm_t;

typedef enum {
    SRS_MET_PROXY = 0, SRS_MET_GOLD, SRS_MET_KL, SRS_MET_ESS, SRS_MET_WIN_TIE, SRS_MET_WIN,
    SRS_MET_WIN_TIE_RAW, SRS_MET_WIN_RAW, SRS_MET_COUNT_
} srs_metric_t;

typedef struct {
    const srs_eval_arm_t *arms;   // (n_arms,)
    int n_arms;
    const double *betas;          // (n_betas,) follower strengths, > 0
    int n_betas;
    srs_threshold_opts_t to;      // preset, B, cap, solver, tol, max_iter; to.beta is used
                                  // only when fixed_threshold is set
    int fixed_threshold;          // 0: m* re-solved for every beta; 1: m* at to.beta for all
    double clip;                  // the cap design's c (< 0: B)
    int replicates;               // bootstrap replicates, >= 1 (default 200)
    double confidence;            // interval level in (0, 1) (default 0.95)
    uint64_t seed;                // bootstrap stream
} srs_eval_opts_t;

// Defaults: no arms or betas, srs_threshold_opts_default(), per-beta
// threshold, clip -1, 200 replicates, confidence 0.95, seed 1.
SRS_API srs_eval_opts_t srs_eval_opts_default(void);
// Checks ranges; SRS_ERR_INVALID_ARG with a message on ctx.
SRS_API srs_status_t srs_eval_opts_check(srs_ctx_t *ctx, const srs_eval_opts_t *o);
// Number of doubles of the accumulator for o: (replicates + 1) x (2 +
// n_betas x n_arms x SRS_MET_COUNT_). Zero-fill it before the first batch.
SRS_API size_t srs_eval_acc_len(const srs_eval_opts_t *o);
// Adds the sums of every prompt of batch to acc (srs_eval_acc_len(o)
// doubles). Bad rows give SRS_ERR_BAD_INPUT naming the row, as
// srs_thresholds does; acc is then unusable.
SRS_API srs_status_t srs_eval_accumulate(srs_ctx_t *ctx, const srs_batch_t *batch,
                                         const srs_eval_opts_t *o, double *acc);

// A mean over prompts with its bootstrap interval; NaN when undefined (gold
// without gold data).
typedef struct {
    double mean, lo, hi;
} srs_est_t;

typedef struct {
    int n_betas, n_arms;
    int64_t n_prompts;
    int has_gold;          // every prompt had gold: win rates are by gold
    srs_est_t *cells;      // (n_betas, n_arms, SRS_MET_COUNT_), owned
    // Paired differences against the raw design (appended: the fields above
    // keep their offsets). raw_arm is the index of the first arm that is the raw
    // design (kind SRS_ARM_DESIGN, design SRS_DESIGN_RAW), -1 when there is
    // none. diff_raw (bi, ai, m) is cell (bi, ai, m) minus cell (bi, raw_arm,
    // m): the mean is the difference of the two means, and the interval is the
    // percentile interval of the per-replicate differences mean_ai(r) -
    // mean_raw(r), both means over the same Poisson-weighted prompts, so the
    // prompt-to-prompt spread the two arms share cancels (it is usually far
    // narrower than the intervals of the two levels). Every arm has one:
    // base and best-of-n (whose laws do not depend on beta) against raw at
    // that beta; the raw arm itself gives exactly 0 with [0, 0]. NaN
    // everywhere when raw_arm is -1, and where the cell is NaN (gold without
    // gold data).
    int raw_arm;
    srs_est_t *diff_raw;   // (n_betas, n_arms, SRS_MET_COUNT_), owned
} srs_eval_result_t;

// Means and percentile intervals from the summed accumulator, and the paired
// differences against raw. Fills *out (free with srs_eval_result_free).
// SRS_ERR_INVALID_ARG when no prompts.
SRS_API srs_status_t srs_eval_finalize(srs_ctx_t *ctx, const srs_eval_opts_t *o, const double *acc,
                                       srs_eval_result_t *out);
SRS_API void srs_eval_result_free(srs_eval_result_t *r);
// The estimate of metric m for beta index bi and arm index ai.
static inline const srs_est_t *srs_eval_cell(const srs_eval_result_t *r, int bi, int ai, srs_metric_t m) {
    return &r->cells[((size_t)bi * (size_t)r->n_arms + (size_t)ai) * SRS_MET_COUNT_ + (size_t)m];
}
// The paired difference of metric m for beta index bi and arm index ai
// against the raw design at the same beta (see diff_raw above).
static inline const srs_est_t *srs_eval_diff_raw(const srs_eval_result_t *r, int bi, int ai, srs_metric_t m) {
    return &r->diff_raw[((size_t)bi * (size_t)r->n_arms + (size_t)ai) * SRS_MET_COUNT_ + (size_t)m];
}
// "proxy", "gold", "kl", "ess", "win_tie", "win", "win_tie_raw", "win_raw".
SRS_API const char *srs_metric_name(srs_metric_t m);
// Convenience: srs_eval_accumulate over the whole batch, then finalize.
SRS_API srs_status_t srs_eval(srs_ctx_t *ctx, const srs_batch_t *batch, const srs_eval_opts_t *o,
                              srs_eval_result_t *out);

// ----------------------------------------------------------------------------
// guided decoding (Controlled Decoding and ARGS): one step for a whole batch
//
// Per row (one sequence being decoded) and step:
//   1. candidates  top-k of log_softmax(logits / T): ids and base log-probs;
//   2. the caller scores the candidates (a value network for CD, a reward
//      model on prefix + candidate for ARGS), or gives a value for every
//      vocabulary entry (srs_guide_vocab);
//   3. shaping     s = shape(score; m, B, alpha) with m a per-row m*(x)
//                  computed offline (srs_thresholds) or the per-step threshold
//                  over the candidates with p = softmax(candidate log-probs);
//   4. selection   fused = logp + lambda s, lambda = 1/beta; the argmax
//                  (greedy) or a draw from softmax(fused / tau) with optional
//                  top-p, from Philox4x32-10 keyed by (seed, row, step).
//
//     int32_t ids[R * K]; float logp[R * K], score[R * K]; int32_t tok[R];
//     srs_guide_candidates(ctx, logits, SRS_ELEM_BF16, R, V, 1.0, K, ids, logp, NULL, stream);
//     ... score[r*K + j] = value of candidate ids[r*K + j] ...
//     srs_guide_opts_t o = srs_guide_opts_default();      // soft, per-step threshold
//     o.lambda = 2.0; o.mode = SRS_GUIDE_SAMPLE; o.tau = 0.7; o.seed = 42; o.step = t;
//     srs_guide_select(ctx, &o, R, K, ids, logp, score, tok, NULL, NULL, NULL, stream);
//
// Pointers. On a CUDA context every array argument (and opts->seeds, m_star,
// b_eff) is a device pointer and `stream` a cudaStream_t: the work is queued
// on the stream with no host synchronisation and no hidden copy (results are
// ready when the stream is). On a CPU context they are host pointers and
// `stream` is ignored. Scalars are always host values.
//
// Rows never fail the call: each row gets flags (SRS_GUIDE_*) and an invalid
// row yields token -1. The call fails (SRS_ERR_INVALID_ARG) only on bad
// arguments, which are checked on the host before anything is launched.
//
// Determinism. The random stream is srs_philox_block (srs_math.h), evaluated
// by the same host/device code on both backends (not cuRAND's API): a row's
// draw depends only on (seed, row, step) — or (seeds[row], step) with per-row
// seeds, which makes it independent of the row's position in the batch —
// never on the batch size, thread count or backend. Given the same
// candidates and scores, CPU and CUDA select the same token.

// Element type of logits, values, hidden states and value heads.
typedef enum {
    SRS_ELEM_F32 = 0,
    SRS_ELEM_BF16,     // bfloat16, passed as its 16-bit pattern
    SRS_ELEM_F16,      // IEEE binary16
} srs_elem_t;

#define SRS_GUIDE_K_MAX 64              // candidates per row
#define SRS_GUIDE_VOCAB_MAX (1 << 24)   // vocabulary entries per row

// Per-row flags (uint8_t per row). A row is usable iff SRS_GUIDE_VALID is set.
enum {
    SRS_GUIDE_VALID = 1,       // a token was selected
    SRS_GUIDE_NONFINITE = 2,   // NaN or +inf logits/log-probs were seen and ignored
    SRS_GUIDE_SHORT = 4,       // fewer than k usable candidates (k > vocab, -inf logits, id -1)
    SRS_GUIDE_BAD_SCORE = 8,   // non-finite scores/values: those entries were dropped
    SRS_GUIDE_BAD_M = 16,      // the given m_star/b_eff of the row is not finite (row invalid)
    SRS_GUIDE_OVERFLOW = 32,   // lambda * s overflowed: selection took the limit (argmax)
};

typedef enum {
    SRS_GUIDE_GREEDY = 0,      // argmax of the fused score (ties: the earlier candidate)
    SRS_GUIDE_SAMPLE,          // draw from softmax(fused / tau) after top-p
} srs_guide_mode_t;

typedef enum {
    SRS_GUIDE_THR_STEP = 0,    // per-step threshold over the candidates (paper-args)
    SRS_GUIDE_THR_GIVEN,       // per-row m*(x) from opts.m_star (offline, srs_thresholds)
} srs_guide_thr_t;

// Definitions of the baseline designs' statistics.
typedef enum {
    SRS_GUIDE_BASELINES_SRS = 0,   // mean and std p-weighted by the base policy; cap clipped at
                                   // clip (< 0: B)
    SRS_GUIDE_BASELINES_PAPER,     // the authors' ARGS baselines: unweighted mean, population std
                                   // clamped at 1e-6 (meanstd, meansoft), minmax's range clamped
                                   // at 1e-6, cap clipped only at a given clip (>= 0)
} srs_guide_baselines_t;

typedef struct {
    srs_design_t design;       // raw, hard, soft, minmax, meanstd (cap, meansoft also work)
    srs_guide_thr_t threshold; // where hard/soft get m from
    srs_preset_t preset;       // per-step threshold's preset (default paper-args), beta = 1/lambda
    double B;                  // reward bound, >= 0
    double alpha;              // soft/meansoft sharpness, > 0
    double lambda;             // guidance strength 1/beta, finite and >= 0
    double cap;                // paper-cd cap on log gamma, > 0
    double clip;               // cap design's c (< 0: B)
    srs_guide_mode_t mode;
    double tau;                // sampling temperature, >= 0 (0 = greedy)
    double top_p;              // nucleus mass in (0, 1]; 1 = off
    uint64_t seed;             // stream key when seeds is NULL
    uint64_t step;             // decoding step (the counter; advance it every token)
    const uint64_t *seeds;     // (rows,) per-row seeds, or NULL
    const double *m_star;      // (rows,) THR_GIVEN: m*(x) per row
    const double *b_eff;       // (rows,) THR_GIVEN: B_eff per row, or NULL for B
    srs_guide_baselines_t baselines;   // statistics of minmax/meanstd/cap/meansoft (added last:
                                       // a zeroed struct keeps srs's definitions)
} srs_guide_opts_t;

// Defaults: soft design, per-step threshold with preset paper-args, B 1,
// alpha 1, lambda 1, cap 2, greedy, tau 1, top_p 1, seed 0, step 0, srs's
// baseline statistics.
SRS_API srs_guide_opts_t srs_guide_opts_default(void);
// Checks the scalar options; SRS_ERR_INVALID_ARG with a message on failure.
SRS_API srs_status_t srs_guide_opts_check(srs_ctx_t *ctx, const srs_guide_opts_t *o);
SRS_API const char *srs_elem_name(srs_elem_t e);   // "float32", "bfloat16", "float16"
SRS_API srs_status_t srs_elem_parse(const char *s, srs_elem_t *out);

// Top-k of log_softmax(logits / T) per row. logits (rows, vocab) row-major of
// `dtype`; k in [1, SRS_GUIDE_K_MAX]; T >= 0. Writes ids (rows, k) in order of
// decreasing logit (ties: smaller id first) and logp (rows, k) their base
// log-probabilities; flags (rows,) may be NULL. NaN and +inf logits are
// ignored (flag NONFINITE); slots beyond the finite logits (k > vocab, -inf
// logits) get id -1 and logp -inf (flag SHORT); a row without a finite logit
// is invalid. T = 0 is the greedy base policy, the limit T -> 0: logp =
// -log(c) for the c tied maxima, -inf for the other candidates.
SRS_API srs_status_t srs_guide_candidates(srs_ctx_t *ctx, const void *logits, srs_elem_t dtype,
                                          int64_t rows, int64_t vocab, double T, int k,
                                          int32_t *ids, float *logp, uint8_t *flags, void *stream);

// Shapes per-candidate scores and selects one token per row. ids, logp, score:
// (rows, k) as from srs_guide_candidates (ids < 0 and logp -inf mark empty
// slots; a non-finite score drops its candidate). Writes tokens (rows,) (-1
// for an invalid row) and, when not NULL, fused (rows, k) = logp + lambda s
// (-inf for dropped slots), m_used (rows,) the threshold each row used (NaN
// when the design has none) and flags (rows,).
SRS_API srs_status_t srs_guide_select(srs_ctx_t *ctx, const srs_guide_opts_t *opts, int64_t rows, int k,
                                      const int32_t *ids, const float *logp, const float *score,
                                      int32_t *tokens, float *fused, double *m_used, uint8_t *flags,
                                      void *stream);

// Full-vocabulary guidance: values (rows, vocab) for every entry (a value head
// over the vocabulary) fused with the logits in one pass. k > 0 selects over
// the top-k of the base policy (exactly srs_guide_candidates, the values at
// those ids, then srs_guide_select; cand_ids and fused (rows, k) are written
// when not NULL); k = 0 selects over the whole vocabulary (cand_ids and fused
// must be NULL; per-step thresholds and top-p < 1 are SRS_ERR_UNSUPPORTED
// there; sampling uses the Gumbel-max form of softmax(fused / tau), keyed by
// (seed, row, step, token)). Design statistics (minmax, meanstd) are taken
// over the selection set, p-weighted by the base policy.
SRS_API srs_status_t srs_guide_vocab(srs_ctx_t *ctx, const srs_guide_opts_t *opts,
                                     const void *logits, srs_elem_t logits_dtype,
                                     const void *values, srs_elem_t values_dtype,
                                     int64_t rows, int64_t vocab, double T, int k,
                                     int32_t *tokens, int32_t *cand_ids, float *fused,
                                     uint8_t *flags, void *stream);

// Value head: values = hidden (rows, d) x head (d, vocab) [+ bias (vocab,)],
// hidden and head of `dtype`, accumulated in float32 (OpenBLAS sgemm on the
// CPU, cuBLAS with bfloat16/float16 tensor cores on CUDA). With ids == NULL
// writes values (rows, vocab); with ids (rows, k) writes only those columns,
// values (rows, k), NaN for ids outside [0, vocab). bias may be NULL.
SRS_API srs_status_t srs_guide_value_head(srs_ctx_t *ctx, const void *hidden, const void *head,
                                          srs_elem_t dtype, const float *bias, int64_t rows,
                                          int64_t d, int64_t vocab, const int32_t *ids, int k,
                                          float *values, void *stream);

#ifdef __cplusplus
}
#endif
#endif // SRS_H
