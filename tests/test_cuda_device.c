// test_cuda_device.c — srs_thresholds_device / srs_shape_device: the rows in
// device memory, against srs_thresholds/srs_shape on the same CUDA context
// (the same kernels: bit for bit) and on the CPU (the oracle, 1e-12 of the
// row's range for the exact solver); bad rows and offsets reported as the
// host API reports them; many chunks. The GPU tests skip without a device;
// the CPU-context test runs everywhere.
#include <string.h>
#include "internal.h"
#include "test.h"
#ifdef SRS_WITH_CUDA
#include <cuda_runtime.h>
#endif

TEST(device_api_is_unsupported_on_cpu_context) {
    double u[6] = {1, 2, 3, 4, 5, 6}, m[2], e[2], s[6];
    srs_batch_t b = t_dense(u, SRS_F64, 2, 3);
    srs_threshold_opts_t o = srs_threshold_opts_default();
    srs_shape_opts_t so = srs_shape_opts_default();
    srs_ctx_t *cpu = t_cpu_ctx();
    const char *want = srs_cuda_compiled() ? "need a CUDA context" : "not compiled into this build";
    m[0] = e[0] = s[0] = -7;
    CHECK(srs_thresholds_device(cpu, &b, &o, m, e, NULL) == SRS_ERR_UNSUPPORTED, "thresholds status");
    CHECK(strstr(srs_ctx_last_error(cpu), "srs_thresholds_device") && strstr(srs_ctx_last_error(cpu), want),
          "message: %s", srs_ctx_last_error(cpu));
    CHECK(srs_shape_device(cpu, &b, &o, &so, m, e, s, SRS_F64, NULL) == SRS_ERR_UNSUPPORTED, "shape status");
    CHECK(strstr(srs_ctx_last_error(cpu), "srs_shape_device") && strstr(srs_ctx_last_error(cpu), want),
          "message: %s", srs_ctx_last_error(cpu));
    CHECK(m[0] == -7 && e[0] == -7 && s[0] == -7, "outputs written on an error");
    // bad options are still invalid arguments, before the device question
    o.beta = 0;
    CHECK(srs_thresholds_device(cpu, &b, &o, m, e, NULL) == SRS_ERR_INVALID_ARG, "beta 0");
    CHECK(srs_shape_device(cpu, &b, &o, NULL, m, e, s, SRS_F64, NULL) == SRS_ERR_INVALID_ARG, "NULL sopts");
}

#ifdef SRS_WITH_CUDA

// A batch's arrays copied to the device: the view `d` has device pointers.
typedef struct {
    srs_batch_t d;
    void *u, *lw;
    int64_t *off;
} dbatch_t;

static void *dup_dev(const void *h, size_t n) {
    void *p = NULL;
    if (cudaMalloc(&p, n ? n : 1) != cudaSuccess) return NULL;
    if (n) cudaMemcpy(p, h, n, cudaMemcpyHostToDevice);
    return p;
}

static void dbatch_make(dbatch_t *r, const srs_batch_t *b) {
    memset(r, 0, sizeof *r);
    r->d = *b;
    // samples [0, hi) of the arrays: a CSR view may start after 0
    int64_t hi = b->offsets ? b->offsets[b->n_prompts] : b->n_prompts * b->row_len;
    size_t rsz = b->reward.dtype == SRS_F32 ? 4 : 8, lsz = b->logw.dtype == SRS_F32 ? 4 : 8;
    r->u = dup_dev(b->reward.data, (size_t)hi * rsz);
    r->d.reward.data = r->u;
    if (b->logw.data) r->d.logw.data = r->lw = dup_dev(b->logw.data, (size_t)hi * lsz);
    if (b->offsets) r->d.offsets = r->off = dup_dev(b->offsets, sizeof(int64_t) * (size_t)(b->n_prompts + 1));
}

static void dbatch_free(dbatch_t *r) {
    cudaFree(r->u); cudaFree(r->lw); cudaFree(r->off);
}

// A ragged batch of n rows, lengths in [1, maxlen], rows of several kinds.
static srs_batch_t ragged(int64_t n, int64_t maxlen, int weighted, int f32, uint64_t *rng, int64_t **off,
                          void **u, void **lw) {
    *off = malloc(sizeof(int64_t) * (size_t)(n + 1));
    (*off)[0] = 0;
    for (int64_t i = 0; i < n; i++) (*off)[i + 1] = (*off)[i] + 1 + (int64_t)(t_rand_u01(rng) * (double)maxlen);
    int64_t ns = (*off)[n];
    *u = malloc((size_t)(ns ? ns : 1) * 8);
    *lw = malloc((size_t)(ns ? ns : 1) * 8);
    for (int64_t j = 0; j < ns; j++) {
        double x = (j % 7 == 0) ? floor(t_rand_u01(rng) * 4) : 2 * t_rand_normal(rng);
        double l = t_rand_normal(rng);
        if (f32) { ((float *)*u)[j] = (float)x; ((float *)*lw)[j] = (float)l; }
        else { ((double *)*u)[j] = x; ((double *)*lw)[j] = l; }
    }
    srs_batch_t b;
    memset(&b, 0, sizeof b);
    b.n_prompts = n;
    b.offsets = *off;
    b.reward = (srs_vec_t){*u, f32 ? SRS_F32 : SRS_F64};
    if (weighted) b.logw = (srs_vec_t){*lw, f32 ? SRS_F32 : SRS_F64};
    return b;
}

// Runs the device API (so == NULL: thresholds) and the host API on the same
// CUDA context and on the CPU; the device results must equal the CUDA host
// path's bit for bit and the CPU's to 1e-12 max(1, range) (exact solver).
static void compare_device(srs_ctx_t *gpu, const srs_batch_t *b, const srs_threshold_opts_t *o,
                           const srs_shape_opts_t *so, srs_dtype_t sdt, const char *what) {
    int64_t np = b->n_prompts, ns = srs_batch_n_samples(b);
    size_t es = sdt == SRS_F32 ? 4 : 8;
    double *m0 = malloc(8 * (size_t)np), *e0 = malloc(8 * (size_t)np), *m1 = malloc(8 * (size_t)np);
    double *e1 = malloc(8 * (size_t)np), *m2 = malloc(8 * (size_t)np), *e2 = malloc(8 * (size_t)np);
    char *s0 = malloc(es * (size_t)(ns + 1)), *s1 = malloc(es * (size_t)(ns + 1)), *s2 = malloc(es * (size_t)(ns + 1));
    dbatch_t d;
    dbatch_make(&d, b);
    double *dm = NULL, *de = NULL;
    void *ds = NULL;
    cudaMalloc((void **)&dm, 8 * (size_t)np);
    cudaMalloc((void **)&de, 8 * (size_t)np);
    cudaMalloc(&ds, es * (size_t)(ns + 1));
    cudaMemset(dm, 0xff, 8 * (size_t)np);   // NaN: an unwritten entry fails
    cudaMemset(de, 0xff, 8 * (size_t)np);
    cudaMemset(ds, 0xff, es * (size_t)(ns + 1));
    cudaStream_t st;
    cudaStreamCreate(&st);
    srs_status_t r0, r1, r2;
    if (so) {
        r0 = srs_shape(t_cpu_ctx(), b, o, so, m0, e0, s0, sdt);
        r1 = srs_shape(gpu, b, o, so, m1, e1, s1, sdt);
        r2 = srs_shape_device(gpu, &d.d, o, so, dm, de, ds, sdt, st);
    } else {
        r0 = srs_thresholds(t_cpu_ctx(), b, o, m0, e0);
        r1 = srs_thresholds(gpu, b, o, m1, e1);
        r2 = srs_thresholds_device(gpu, &d.d, o, dm, de, st);
    }
    CHECK(r0 == SRS_OK && r1 == SRS_OK, "%s: host APIs: %s / %s", what, srs_ctx_last_error(t_cpu_ctx()),
          srs_ctx_last_error(gpu));
    CHECK(r2 == SRS_OK, "%s: device API: %s", what, srs_ctx_last_error(gpu));
    cudaMemcpy(m2, dm, 8 * (size_t)np, cudaMemcpyDeviceToHost);
    cudaMemcpy(e2, de, 8 * (size_t)np, cudaMemcpyDeviceToHost);
    cudaMemcpy(s2, ds, es * (size_t)ns, cudaMemcpyDeviceToHost);
    if (r0 == SRS_OK && r1 == SRS_OK && r2 == SRS_OK) {
        CHECK(!memcmp(m1, m2, 8 * (size_t)np) && !memcmp(e1, e2, 8 * (size_t)np), "%s: m*/B_eff differ from "
              "srs_thresholds on the CUDA context", what);
        CHECK(!so || !memcmp(s1, s2, es * (size_t)ns), "%s: shaped differs from srs_shape on the CUDA context", what);
        for (int64_t i = 0; i < np; i++) {
            int64_t s, n;
            srs_batch_row(b, i, &s, &n);
            double lo = INFINITY, hi = -INFINITY;
            for (int64_t j = s; j < s + n; j++) {
                double x = b->reward.dtype == SRS_F32 ? ((const float *)b->reward.data)[j]
                                                      : ((const double *)b->reward.data)[j];
                lo = x < lo ? x : lo;
                hi = x > hi ? x : hi;
            }
            if (!(fabs(m0[i] - m2[i]) <= 1e-12 * fmax(1.0, hi - lo))) {
                CHECK(0, "%s: row %lld: m* cpu %.17g device %.17g", what, (long long)i, m0[i], m2[i]);
                break;
            }
        }
    }
    cudaStreamDestroy(st);
    cudaFree(dm); cudaFree(de); cudaFree(ds);
    dbatch_free(&d);
    free(m0); free(e0); free(m1); free(e1); free(m2); free(e2); free(s0); free(s1); free(s2);
}

TEST(device_api_matches_host_api_and_cpu) {
    SKIP_WITHOUT_CUDA(gpu);
    uint64_t rng = 21;
    static const int64_t maxlens[] = {40, 3000, 40000};
    for (int k = 0; k < 3; k++)
        for (int weighted = 0; weighted < 2; weighted++)
            for (int f32 = 0; f32 < 2; f32++) {
                int64_t *off;
                void *u, *lw;
                srs_batch_t b = ragged(k == 2 ? 30 : 2000, maxlens[k], weighted, f32, &rng, &off, &u, &lw);
                srs_threshold_opts_t o = srs_threshold_opts_default();
                o.B = 3;
                o.beta = 0.6;
                o.preset = (srs_preset_t)((k + weighted) % 3);
                srs_shape_opts_t so = srs_shape_opts_default();
                so.design = (srs_design_t)((k * 4 + weighted * 2 + f32) % SRS_DESIGN_COUNT_);
                char what[120];
                snprintf(what, sizeof what, "maxlen=%lld weighted=%d f32=%d", (long long)maxlens[k], weighted, f32);
                compare_device(gpu, &b, &o, NULL, SRS_F64, what);
                compare_device(gpu, &b, &o, &so, f32 ? SRS_F32 : SRS_F64, what);
                free(off); free(u); free(lw);
                BAIL_IF_FAILED();
            }
    // dense rows, and a CSR view whose offsets do not start at 0
    int64_t np = 500, len = 48;
    double *u = malloc(sizeof(double) * (size_t)(np * len));
    for (int64_t j = 0; j < np * len; j++) u[j] = t_rand_normal(&rng);
    srs_batch_t b = t_dense(u, SRS_F64, np, len);
    srs_threshold_opts_t o = srs_threshold_opts_default();
    srs_shape_opts_t so = srs_shape_opts_default();
    compare_device(gpu, &b, &o, &so, SRS_F64, "dense");
    int64_t *off = malloc(sizeof(int64_t) * (size_t)np);
    for (int64_t i = 0; i < np; i++) off[i] = 5 + i * (len - 1);
    srs_batch_t c = b;
    c.offsets = off;
    c.n_prompts = np - 1;
    compare_device(gpu, &c, &o, &so, SRS_F64, "CSR from offset 5");
    free(u); free(off);
}

TEST(device_api_many_chunks) {
    SKIP_WITHOUT_CUDA(gpu);
    setenv("SRS_CUDA_CHUNK_SAMPLES", "3000", 1);   // dozens of chunks, each a view
    uint64_t rng = 33;
    int64_t *off;
    void *u, *lw;
    srs_batch_t b = ragged(4000, 300, 1, 0, &rng, &off, &u, &lw);
    srs_threshold_opts_t o = srs_threshold_opts_default();
    srs_shape_opts_t so = srs_shape_opts_default();
    compare_device(gpu, &b, &o, NULL, SRS_F64, "chunks of 3000 samples");
    compare_device(gpu, &b, &o, &so, SRS_F32, "chunks of 3000 samples, shaped");
    double *d = malloc(sizeof(double) * 60000);
    for (int j = 0; j < 60000; j++) d[j] = t_rand_normal(&rng);
    srs_batch_t dn = t_dense(d, SRS_F64, 1000, 60);
    compare_device(gpu, &dn, &o, &so, SRS_F64, "dense chunks of 3000 samples");
    unsetenv("SRS_CUDA_CHUNK_SAMPLES");
    free(off); free(u); free(lw); free(d);
}

// The device API's status, message and row for batch b, against srs_thresholds on the CPU.
static void same_error(srs_ctx_t *gpu, const srs_batch_t *b, const char *what) {
    srs_threshold_opts_t o = srs_threshold_opts_default();
    int64_t np = b->n_prompts;
    double *m = malloc(8 * (size_t)(np + 1));
    srs_status_t s0 = srs_thresholds(t_cpu_ctx(), b, &o, m, NULL);
    char e0[SRS_ERR_MAX];
    snprintf(e0, sizeof e0, "%s", srs_ctx_last_error(t_cpu_ctx()));
    int64_t row0 = srs_ctx_error_row(t_cpu_ctx());
    dbatch_t d;
    dbatch_make(&d, b);
    double *dm = NULL;
    cudaMalloc((void **)&dm, 8 * (size_t)(np + 1));
    srs_status_t s1 = srs_thresholds_device(gpu, &d.d, &o, dm, NULL, NULL);
    CHECK(s0 != SRS_OK && s1 == s0, "%s: status cpu %d device %d", what, s0, s1);
    CHECK(srs_ctx_error_row(gpu) == row0, "%s: row %lld, want %lld", what, (long long)srs_ctx_error_row(gpu),
          (long long)row0);
    CHECK(!strcmp(e0, srs_ctx_last_error(gpu)), "%s: cpu '%s' vs device '%s'", what, e0, srs_ctx_last_error(gpu));
    cudaFree(dm);
    dbatch_free(&d);
    free(m);
}

TEST(device_api_bad_rows_and_offsets_like_host_api) {
    SKIP_WITHOUT_CUDA(gpu);
    setenv("SRS_CUDA_CHUNK_SAMPLES", "5000", 1);   // the bad row in a later chunk
    uint64_t rng = 44;
    for (int kind = 0; kind < 4; kind++) {
        int64_t *off;
        void *u, *lw;
        srs_batch_t b = ragged(3000, 200, kind == 2, 0, &rng, &off, &u, &lw);
        int64_t row = 1700 + kind * 300;
        double *ud = u, *ld = lw;
        if (kind == 0) ud[off[row] + (off[row + 1] - off[row]) / 2] = NAN;
        else if (kind == 1) ud[off[row + 1] - 1] = -INFINITY;
        else if (kind == 2) ld[off[row]] = NAN;
        else off[row + 1] = off[row];    // an empty row (row + 1 grows: still non-decreasing)
        ud[off[2990]] = NAN;             // a later bad row must not win
        char what[40];
        snprintf(what, sizeof what, "bad kind %d", kind);
        same_error(gpu, &b, what);
        if (kind == 0) {                 // decreasing offsets
            int64_t keep = off[1000];
            off[1000] = off[1001] + 1;
            same_error(gpu, &b, "offsets decrease");
            off[1000] = keep;
        }
        free(off); free(u); free(lw);
    }
    unsetenv("SRS_CUDA_CHUNK_SAMPLES");
}

TEST(device_api_rejects_host_pointers) {
    SKIP_WITHOUT_CUDA(gpu);
    double u[6] = {1, 2, 3, 4, 5, 6}, m[2];
    srs_batch_t b = t_dense(u, SRS_F64, 2, 3);
    srs_threshold_opts_t o = srs_threshold_opts_default();
    CHECK(srs_thresholds_device(gpu, &b, &o, m, NULL, NULL) == SRS_ERR_INVALID_ARG &&
              strstr(srs_ctx_last_error(gpu), "reward"),
          "host rewards: %s", srs_ctx_last_error(gpu));
    dbatch_t d;
    dbatch_make(&d, &b);
    CHECK(srs_thresholds_device(gpu, &d.d, &o, m, NULL, NULL) == SRS_ERR_INVALID_ARG &&
              strstr(srs_ctx_last_error(gpu), "m_star"),
          "host m_star: %s", srs_ctx_last_error(gpu));
    o.solver = SRS_SOLVER_BISECT;
    o.max_iter = 5;
    CHECK(srs_thresholds_device(gpu, &d.d, &o, NULL, NULL, NULL) == SRS_ERR_UNSUPPORTED, "max_iter");
    dbatch_free(&d);
}

#else
TEST(device_api_matches_host_api_and_cpu) { SKIP("CUDA backend not compiled in"); }
#endif
