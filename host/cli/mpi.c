// mpi.c — the command line's MPI layer (see srs_mpi.h): joining the job,
// agreeing on failure, reading a rank's prompts, one output file in input
// order, ordered sums. Compiled with SRS_WITH_MPI when the build found MPI;
// without it every call is the single-process path.
//
// Why results do not depend on the number of ranks: a rank's prompts are a
// contiguous range, the solvers give every row the same result whatever batch
// it sits in, numbers are formatted per value, and the merged file is the
// parts concatenated in rank order. Failure: every rank reaches the same
// collective calls whatever happened locally, agrees on the worst exit code,
// and only then does rank 0 rename the complete file into place.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef SRS_WITH_MPI
#include <mpi.h>
#endif
#include "cli.h"
#include "data.h"
#include "srs_mpi.h"

static int g_rank = 0, g_size = 1, g_joined = 0;
#ifdef SRS_WITH_MPI
static char g_prog[64];   // "srs: rank R of P", the message prefix
#endif

// ----------------------------------------------------------------------------
// joining the job

int srs_mpi_compiled(void) {
#ifdef SRS_WITH_MPI
    return 1;
#else
    return 0;
#endif
}

// Value of an integer environment variable, or -1.
static long env_long(const char *name) {
    const char *s = getenv(name);
    char *end;
    if (!s || !*s) return -1;
    long v = strtol(s, &end, 10);
    return *end ? -1 : v;
}

// The number of processes a launcher says this one is part of (1 when none).
static long launcher_size(const char **var) {
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        long v = env_long(vars[i]);
        if (v >= 1) {
            *var = vars[i];
            return v;
        }
    }
    *var = NULL;
    return getenv("PMIX_RANK") ? 2 : 1;   // PMIx without a size variable: treat as parallel
}

int srs_mpi_start(const char *cmd) {
    if (g_joined) return 0;
    const char *var;
    long n = launcher_size(&var);
    long slurm_tasks = env_long("SLURM_STEP_NUM_TASKS");   // set by srun only, not in the batch script
    const char *want = getenv("SRS_MPI");
    if (want && strcmp(want, "0") == 0) return 0;
    if (n <= 1 && slurm_tasks > 1) {
        cli_msg("%s: started by srun as one of %ld tasks without an MPI process manager: use "
                "'srun --mpi=pmix' (or pmi2), or mpirun; every task would write the same output",
                cmd, slurm_tasks);
        return EXIT_USAGE;
    }
#ifdef SRS_WITH_MPI
    if (n <= 1 && !(want && strcmp(want, "1") == 0)) return 0;
    int provided = 0;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        cli_msg("%s: MPI_Init failed", cmd);
        return EXIT_RUNTIME;
    }
    g_joined = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    // The node-local rank from the ranks that share memory with this one:
    // right under any launcher; the CUDA context reads it (srs_node_local_rank).
    MPI_Comm node;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, g_rank, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
        int lr = 0;
        MPI_Comm_rank(node, &lr);
        char buf[16];
        snprintf(buf, sizeof buf, "%d", lr);
        setenv("SRS_LOCAL_RANK", buf, 1);
        MPI_Comm_free(&node);
    }
    if (g_size > 1) {
        snprintf(g_prog, sizeof g_prog, "srs: rank %d of %d", g_rank, g_size);
        cli_set_prog(g_prog);
    }
    return 0;
#else
    if (n > 1) {
        cli_msg("%s: this srs was built without MPI but runs as one of %ld processes (%s); "
                "rebuild with 'make MPI=1' (needs libopenmpi-dev)", cmd, n, var);
        return EXIT_USAGE;
    }
    return 0;
#endif
}

int srs_mpi_stop(int rc) {
#ifdef SRS_WITH_MPI
    if (!g_joined) return rc;
    if (rc && g_size > 1 && g_rank == 0) {
        cli_set_prog("srs");
        cli_msg("failed (exit code %d) on %d ranks; no output written", rc, g_size);
    }
    MPI_Finalize();
    g_joined = 0;
#endif
    return rc;
}

int srs_mpi_rank(void) { return g_rank; }
int srs_mpi_size(void) { return g_size; }

// ----------------------------------------------------------------------------
// collectives

int srs_mpi_agree(int rc) {
#ifdef SRS_WITH_MPI
    if (g_size > 1) {
        int all = 0;
        MPI_Allreduce(&rc, &all, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
        return all;
    }
#endif
    return rc;
}

void srs_mpi_shard(int64_t n, int64_t *lo, int64_t *hi) {
    int64_t q = n / g_size, r = n % g_size;
    *lo = g_rank * q + (g_rank < r ? g_rank : r);
    *hi = *lo + q + (g_rank < r);
}

int64_t srs_mpi_sum_i64(int64_t x) {
#ifdef SRS_WITH_MPI
    if (g_size > 1) {
        long long in = x, out = 0;
        MPI_Allreduce(&in, &out, 1, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
        return out;
    }
#endif
    return x;
}

int64_t srs_mpi_exscan_i64(int64_t x) {
#ifdef SRS_WITH_MPI
    if (g_size > 1) {
        long long in = x, out = 0;
        MPI_Exscan(&in, &out, 1, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
        return g_rank == 0 ? 0 : out;   // undefined on rank 0
    }
#endif
    return 0;
}

// MPI_Allreduce's order of additions is the library's choice (it may
// differ between runs and between P); gathering the partial arrays and adding
// them rank after rank on rank 0 fixes it.
int srs_mpi_sum_ordered(double *acc, size_t n) {
#ifdef SRS_WITH_MPI
    if (g_size > 1 && n > 0) {
        if (n > (size_t)0x7fffffff) {
            cli_msg("srs_mpi_sum_ordered: %zu values are too many for one message", n);
            return EXIT_RUNTIME;
        }
        double *all = NULL;   // (P, n) on rank 0
        int ok = 1;
        if (g_rank == 0) ok = (all = malloc(sizeof *all * n * (size_t)g_size)) != NULL;
        MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
        if (!ok) {
            cli_msg("out of memory gathering %zu sums from %d ranks", n, g_size);
            return EXIT_RUNTIME;
        }
        MPI_Gather(acc, (int)n, MPI_DOUBLE, all, (int)n, MPI_DOUBLE, 0, MPI_COMM_WORLD);
        if (g_rank == 0) {
            for (int r = 1; r < g_size; r++)
                for (size_t i = 0; i < n; i++) acc[i] += all[(size_t)r * n + i];
            free(all);
        }
        MPI_Bcast(acc, (int)n, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    }
#else
    (void)acc;
    (void)n;
#endif
    return 0;
}

// ----------------------------------------------------------------------------
// reading a rank's prompts

// JSONL: every rank's first row decides which of gold/logw it has; a single
// process decides from the file's first row. A rank whose first row differs
// from the first row of the first non-empty rank is where a single process
// would have failed first (or an earlier line of its own part would have).
static int check_parts_agree(const srs_data_t *d) {
#ifdef SRS_WITH_MPI
    const srs_batch_t *b = srs_data_batch(d);
    int mine[2] = {b->n_prompts > 0, (b->gold.data ? 1 : 0) | (b->logw.data ? 2 : 0)};
    int *all = malloc(sizeof *all * 2 * (size_t)g_size);
    if (!all) {
        cli_msg("out of memory");
        return srs_mpi_agree(EXIT_RUNTIME);
    }
    MPI_Allgather(mine, 2, MPI_INT, all, 2, MPI_INT, MPI_COMM_WORLD);
    int first = -1;
    for (int r = 0; r < g_size && first < 0; r++)
        if (all[2 * r]) first = r;
    int rc = 0;
    if (first >= 0 && mine[0] && mine[1] != all[2 * first + 1]) {
        static const char *key[2] = {"gold", "logw"};
        int k = ((mine[1] ^ all[2 * first + 1]) & 1) ? 0 : 1;
        int here = (mine[1] >> k) & 1;
        cli_msg("%s:%lld: \"%s\" %s but earlier lines %s", srs_data_path(d), (long long)srs_data_line(d, 0),
                key[k], here ? "present" : "missing", here ? "do not have it" : "have it");
        rc = EXIT_RUNTIME;
    }
    free(all);
    return srs_mpi_agree(rc);
#else
    (void)d;
    return 0;
#endif
}

// CSV part bounds: each rank summarises its chunk of the file (the reader's
// grammar from every state the chunk may start in, io_csv.c), the ranks
// exchange the summaries, and each finds its bounds from all of them: a
// quoted line break on a boundary is inside its record, as for one process.
static srs_status_t csv_part_bounds(srs_ctx_t *ctx, const char *path, srs_text_part_t *p) {
#ifdef SRS_WITH_MPI
    srs_csv_chunk_t mine, *all = malloc(sizeof *all * (size_t)g_size);
    int ok = all && srs_csv_chunk_scan(ctx, path, g_rank, g_size, &mine) == SRS_OK;
    if (!all) srs_fail(ctx, SRS_ERR_NOMEM, "%s: out of memory", path);
    if (srs_mpi_agree(!ok)) {  // a header error is every rank's: each has its message
        free(all);
        return ok ? srs_fail(ctx, SRS_ERR_BAD_INPUT, "%s: another rank could not read it", path) : SRS_ERR_BAD_INPUT;
    }
    MPI_Allgather(&mine, (int)sizeof mine, MPI_BYTE, all, (int)sizeof mine, MPI_BYTE, MPI_COMM_WORLD);
    srs_status_t st = srs_csv_part_bounds(ctx, path, g_rank, g_size, all, p);
    free(all);
    return st;
#else
    return srs_text_part_bounds(ctx, path, SRS_FMT_CSV, g_rank, g_size, p);
#endif
}

// Prompt ids are unique across the ranks as within one (the readers check
// their own part): each rank sends each of its ids to the rank its hash
// picks (an all-to-all exchange: about the ids' bytes in all), which finds
// the repeats among them. The first repeat in file order is reported, by the
// rank that read it, with the message one process gives. Only when some
// rank has explicit ids (row-index ids never repeat).
static int check_ids_unique(srs_ctx_t *ctx, const srs_data_t *d, srs_format_t fmt) {
#ifdef SRS_WITH_MPI
    const srs_batch_t *b = srs_data_batch(d);
    const int64_t n = b->n_prompts;
    int has = d->id_buf != NULL, any = 0;
    MPI_Allreduce(&has, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (!any) return 0;
    // records: global row, line, flags (1 numeric, 2 row index), the id and its NUL
    enum { HDR = 17 };
    int rc = 0;
    int *cnt = calloc((size_t)4 * (size_t)g_size, sizeof(int)), *sdisp = cnt + g_size;
    int *rcnt = cnt + 2 * g_size, *rdisp = cnt + 3 * g_size;
    int64_t *dest = malloc(sizeof *dest * (size_t)(n + 1)), total = 0;
    char *sbuf = NULL, *rbuf = NULL;
    if (!cnt || !dest) rc = EXIT_RUNTIME;
    for (int64_t i = 0; rc == 0 && i < n; i++) {
        const char *id = srs_data_id(d, i, NULL);
        int64_t sz = HDR + (int64_t)strlen(id) + 1;
        dest[i] = (int64_t)(srs_id_hash(id) % (uint64_t)g_size);
        if ((int64_t)cnt[dest[i]] + sz > 0x7fffffff) rc = EXIT_RUNTIME;
        else cnt[dest[i]] += (int)sz;
        total += sz;
    }
    if (rc == 0 && !(sbuf = malloc((size_t)total + 1))) rc = EXIT_RUNTIME;
    if (rc) cli_msg("%s: out of memory, or too many prompt ids for one message, checking the ids across ranks",
                    srs_data_path(d));
    if ((rc = srs_mpi_agree(rc))) goto done;
    {
        int64_t at = 0;
        int64_t *pos = malloc(sizeof *pos * (size_t)g_size);
        if (!pos) rc = EXIT_RUNTIME;
        for (int r = 0; pos && r < g_size; r++) {
            sdisp[r] = (int)at;
            pos[r] = at;
            at += cnt[r];
        }
        for (int64_t i = 0; pos && i < n; i++) {
            int num;
            const char *id = srs_data_id(d, i, &num);
            int64_t g = b->first_index + i, ln = srs_data_line(d, i);
            char fl = (char)((num ? 1 : 0) | (!d->id_buf || (d->id_num && d->id_num[i] == 2) ? 2 : 0));
            char *o = sbuf + pos[dest[i]];
            memcpy(o, &g, 8);
            memcpy(o + 8, &ln, 8);
            o[16] = fl;
            size_t l = strlen(id) + 1;
            memcpy(o + HDR, id, l);
            pos[dest[i]] += HDR + (int64_t)l;
        }
        free(pos);
    }
    if ((rc = srs_mpi_agree(rc))) goto done;
    MPI_Alltoall(cnt, 1, MPI_INT, rcnt, 1, MPI_INT, MPI_COMM_WORLD);
    int64_t rtotal = 0;
    for (int r = 0; r < g_size; r++) {
        rdisp[r] = (int)rtotal;
        rtotal += rcnt[r];
    }
    if (rtotal > 0x7fffffff || !(rbuf = malloc((size_t)rtotal + 1))) {
        cli_msg("%s: out of memory checking the prompt ids across ranks", srs_data_path(d));
        rc = EXIT_RUNTIME;
    }
    if ((rc = srs_mpi_agree(rc))) goto done;
    MPI_Alltoallv(sbuf, cnt, sdisp, MPI_BYTE, rbuf, rcnt, rdisp, MPI_BYTE, MPI_COMM_WORLD);
    // the received ids in file order (by source rank, then row): the first
    // one seen again is this rank's earliest repeat
    long long best[3] = {INT64_MAX, 0, 0};  // row of the repeat; first line, first's flags (when found here)
    {
        int64_t m = 0;
        for (int64_t at = 0; at < rtotal; m++) at += HDR + (int64_t)strlen(rbuf + at + HDR) + 1;
        int64_t *off = malloc(sizeof *off * (size_t)(m + 1));
        srs_idset_t set = {0};
        int64_t k = 0;
        for (int64_t at = 0; off && at < rtotal; k++) {
            off[k] = at + HDR;
            int64_t j = srs_idset_add(&set, rbuf, off, k);
            if (j == -2) break;
            if (j >= 0) {
                int64_t g, l1;
                memcpy(&g, rbuf + at, 8);
                memcpy(&l1, rbuf + off[j] - HDR + 8, 8);
                best[0] = g;
                best[1] = l1;
                best[2] = rbuf[off[j] - HDR + 16];
                break;
            }
            at += HDR + (int64_t)strlen(rbuf + at + HDR) + 1;
        }
        if (!off || (k < m && best[0] == INT64_MAX)) rc = EXIT_RUNTIME;
        srs_idset_free(&set);
        free(off);
    }
    if (rc) cli_msg("%s: out of memory checking the prompt ids across ranks", srs_data_path(d));
    if ((rc = srs_mpi_agree(rc))) goto done;
    long long first = 0;
    MPI_Allreduce(&best[0], &first, 1, MPI_LONG_LONG, MPI_MIN, MPI_COMM_WORLD);
    if (first == INT64_MAX) goto done;
    long long info[2] = {best[0] == first ? best[1] : -1, best[0] == first ? best[2] : -1}, all_info[2];
    MPI_Allreduce(info, all_info, 2, MPI_LONG_LONG, MPI_MAX, MPI_COMM_WORLD);
    const int64_t i = (int64_t)first - b->first_index;
    if (i >= 0 && i < n) {  // this rank read the repeat: it says so
        int num;
        const char *id = srs_data_id(d, i, &num);
        int indexed = !d->id_buf || (d->id_num && d->id_num[i] == 2) || (all_info[1] & 2);
        srs_fail_dup_id(ctx, fmt, srs_data_path(d), srs_data_line(d, i), id, num, all_info[0], indexed);
        cli_msg("%s", srs_ctx_last_error(ctx));
    }
    rc = EXIT_RUNTIME;
done:
    free(cnt);
    free(dest);
    free(sbuf);
    free(rbuf);
    return srs_mpi_agree(rc);
#else
    (void)ctx, (void)d, (void)fmt;
    return 0;
#endif
}

int srs_mpi_read(srs_ctx_t *ctx, const char *path, const srs_read_opts_t *ro, srs_data_t **d) {
    *d = NULL;
    if (g_size == 1) {
        if (srs_data_read(ctx, path, ro, d) == SRS_OK) return 0;
        cli_msg("%s", srs_ctx_last_error(ctx));
        return EXIT_RUNTIME;
    }
    srs_format_t fmt = SRS_FMT_JSONL;
    int rc = 0;
    if (srs_resolve_format(ctx, path, ro ? ro->format : SRS_FMT_AUTO, &fmt) != SRS_OK) {
        cli_msg("%s", srs_ctx_last_error(ctx));
        rc = EXIT_USAGE;
    } else if (strcmp(path, "-") == 0) {
        cli_msg("standard input cannot be shared by %d ranks; give a file", g_size);
        rc = EXIT_USAGE;
    }
    if ((rc = srs_mpi_agree(rc))) return rc;
    if (fmt == SRS_FMT_NPY) {
        // The whole file is mapped; a rank touches only its rows' pages.
        if (srs_data_read(ctx, path, ro, d) != SRS_OK) {
            cli_msg("%s", srs_ctx_last_error(ctx));
            rc = EXIT_RUNTIME;
        } else {
            int64_t lo, hi;
            srs_mpi_shard(srs_data_batch(*d)->n_prompts, &lo, &hi);
            if (srs_data_restrict(ctx, *d, lo, hi) != SRS_OK) {
                cli_msg("%s", srs_ctx_last_error(ctx));
                rc = EXIT_RUNTIME;
            }
        }
    } else {
        srs_text_part_t p;
        if (ro && (ro->gold_path || ro->logw_path)) {
            cli_msg("%s: gold/logw companion files apply to NPY input only", path);
            rc = EXIT_USAGE;
        } else if ((fmt == SRS_FMT_CSV ? csv_part_bounds(ctx, path, &p)
                                       : srs_text_part_bounds(ctx, path, fmt, g_rank, g_size, &p)) != SRS_OK) {
            cli_msg("%s", srs_ctx_last_error(ctx));
            rc = EXIT_RUNTIME;
        }
        if ((rc = srs_mpi_agree(rc))) return rc;
        // Line numbers and row indices continue from the ranks before.
        p.first_line = 1 + srs_mpi_exscan_i64(p.newlines);
        p.row_base = srs_mpi_exscan_i64(p.records);
        if ((fmt == SRS_FMT_JSONL ? srs_read_jsonl_part : srs_read_csv_part)(ctx, path, &p, d) != SRS_OK) {
            cli_msg("%s", srs_ctx_last_error(ctx));
            rc = EXIT_RUNTIME;
        }
        // CSV rows are prompts, known only after parsing: number them now.
        if ((rc = srs_mpi_agree(rc)) == 0 && fmt == SRS_FMT_CSV)
            ((srs_batch_t *)srs_data_batch(*d))->first_index = srs_mpi_exscan_i64(srs_data_batch(*d)->n_prompts);
        if (rc == 0 && fmt == SRS_FMT_JSONL) rc = check_parts_agree(*d);
        if (rc == 0) rc = check_ids_unique(ctx, *d, fmt);
    }
    if ((rc = srs_mpi_agree(rc)) == 0 && srs_mpi_sum_i64(srs_data_batch(*d)->n_prompts) == 0) {
        if (g_rank == 0) cli_msg("%s: no prompts", path);
        rc = EXIT_RUNTIME;
    }
    if (rc) {
        srs_data_free(*d);
        *d = NULL;
    }
    return rc;
}

// ----------------------------------------------------------------------------
// one output file in input order

struct srs_mpi_out {
    srs_ctx_t *ctx;
    srs_writer_t *w;        // P = 1: the output itself; P > 1: this rank's part
    char *path;
    srs_format_t fmt;
    srs_out_kind_t kind;
    int64_t rows, cols;     // all ranks' prompts; samples per prompt (NPY shaped)
};

int srs_mpi_out_open(srs_ctx_t *ctx, const char *path, srs_format_t fmt, srs_out_kind_t kind,
                     const srs_data_t *d, srs_mpi_out_t **out) {
    *out = NULL;
    srs_mpi_out_t *o = calloc(1, sizeof *o);
    int rc = 0;
    if (!o || !(o->path = strdup(path))) {
        cli_msg("out of memory");
        free(o);
        return srs_mpi_agree(EXIT_RUNTIME);
    }
    o->ctx = ctx;
    o->kind = kind;
    if (g_size == 1) {
        if (srs_writer_open(ctx, path, fmt, kind, d, &o->w) != SRS_OK) {
            cli_msg("%s", srs_ctx_last_error(ctx));
            rc = EXIT_RUNTIME;
        }
    } else if (strcmp(path, "-") == 0) {
        cli_msg("%d ranks write one file: give -o FILE (standard output needs one process)", g_size);
        rc = EXIT_USAGE;
    } else if (srs_resolve_format(ctx, path, fmt, &o->fmt) != SRS_OK) {
        cli_msg("%s", srs_ctx_last_error(ctx));
        rc = EXIT_USAGE;
    }
    if ((rc = srs_mpi_agree(rc)) || g_size == 1) goto done;
#ifdef SRS_WITH_MPI
    const srs_batch_t *b = srs_data_batch(d);
    o->rows = srs_mpi_sum_i64(b->n_prompts);
    if (o->fmt == SRS_FMT_NPY && kind != SRS_OUT_THRESHOLDS) {  // shaped, rewards: per-sample columns
        // Every rank's rows must have the global first row's length.
        int64_t cols = 0;
        if (srs_equal_rows(ctx, b, &cols) != SRS_OK) {
            cli_msg("%s", srs_ctx_last_error(ctx));
            rc = EXIT_RUNTIME;
        }
        long long mine[2] = {b->n_prompts > 0 ? (long long)cols : -1, 0}, lo = 0, hi = 0;
        MPI_Allreduce(&mine[0], &hi, 1, MPI_LONG_LONG, MPI_MAX, MPI_COMM_WORLD);
        mine[1] = b->n_prompts > 0 ? mine[0] : hi;
        MPI_Allreduce(&mine[1], &lo, 1, MPI_LONG_LONG, MPI_MIN, MPI_COMM_WORLD);
        o->cols = hi;
        if (rc == 0 && lo != hi && b->n_prompts > 0 && cols != hi) {
            cli_msg("NPY needs equal rows: row %lld has %lld samples, other rows have %lld; write JSONL or CSV",
                    (long long)b->first_index, (long long)cols, hi);
            rc = EXIT_RUNTIME;
        } else if (rc == 0 && lo != hi) {
            rc = EXIT_RUNTIME;   // the ranks with the other length say why
        }
    }
    if ((rc = srs_mpi_agree(rc))) goto done;
    char part[4096];
    snprintf(part, sizeof part, "%s.part-%d", path, g_rank);
    if (srs_writer_open_part(ctx, part, o->fmt, kind, d, g_rank == 0, &o->w) != SRS_OK) {
        cli_msg("%s", srs_ctx_last_error(ctx));
        rc = EXIT_RUNTIME;
    }
    rc = srs_mpi_agree(rc);
#endif
done:
    if (rc) {
        srs_writer_abort(o->w);
        free(o->path);
        free(o);
        return rc;
    }
    *out = o;
    return 0;
}

srs_status_t srs_mpi_out_put(srs_mpi_out_t *o, int64_t first_row, int64_t n_rows, const double *m_star,
                             const double *b_eff, const double *shaped) {
    return srs_writer_put(o->w, first_row, n_rows, m_star, b_eff, shaped);
}

#ifdef SRS_WITH_MPI
// Copies file src into the MPI file fh at byte offset at; 0 or an exit code
// (message printed).
static int copy_at(const char *src, MPI_File fh, MPI_Offset at, const char *dst) {
    enum { BLOCK = 8 << 20 };
    int fd = open(src, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cli_msg("%s: cannot open: %s", src, strerror(errno));
        return EXIT_RUNTIME;
    }
    char *buf = malloc(BLOCK);
    int rc = buf ? 0 : EXIT_RUNTIME;
    if (!buf) cli_msg("out of memory");
    while (rc == 0) {
        ssize_t r = read(fd, buf, BLOCK);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            cli_msg("%s: read failed: %s", src, strerror(errno));
            rc = EXIT_RUNTIME;
            break;
        }
        if (r == 0) break;
        MPI_Status s;
        int got = 0, e = MPI_File_write_at(fh, at, buf, (int)r, MPI_BYTE, &s);
        if (e == MPI_SUCCESS) MPI_Get_count(&s, MPI_BYTE, &got);
        if (e != MPI_SUCCESS || got != (int)r) {
            char why[MPI_MAX_ERROR_STRING] = "short write";
            int wl;
            if (e != MPI_SUCCESS) MPI_Error_string(e, why, &wl);
            cli_msg("%s: write failed at byte %lld: %s", dst, (long long)at, why);
            rc = EXIT_RUNTIME;
        }
        at += r;
    }
    free(buf);
    close(fd);
    return rc;
}

// Merges one kind of part (k 0: main, 1: NPY thresholds companion) into
// final path dst: rank 0 creates the temporary beside dst with the NPY header
// (header_rows x header_cols; none when header_cols is 0), every rank writes
// its part at its offset. On success rank 0's *t holds the closed temporary
// for srs_tmp_commit. Collective; returns the agreed exit code.
static int merge(srs_ctx_t *ctx, const char *part, const char *dst, int64_t header_rows, int64_t header_cols,
                 srs_tmp_t *t) {
    int rc = 0;
    struct stat st;
    if (stat(part, &st) != 0) {
        cli_msg("%s: cannot stat: %s", part, strerror(errno));
        rc = EXIT_RUNTIME;
    }
    int64_t size = rc ? 0 : (int64_t)st.st_size;
    int64_t off = srs_mpi_exscan_i64(size);
    char name[4096] = "";
    long long hl = 0;
    memset(t, 0, sizeof *t);
    if (g_rank == 0) {
        if (srs_tmp_open(ctx, t, dst) != SRS_OK) {
            cli_msg("%s", srs_ctx_last_error(ctx));
            rc = EXIT_RUNTIME;
        } else {
            if (header_cols > 0) {
                char hdr[SRS_NPY_HEADER_MAX];
                hl = (long long)srs_npy_header(hdr, "<f8", header_rows, header_cols);
                fwrite(hdr, 1, (size_t)hl, t->f);
            }
            if (srs_tmp_close(ctx, t) != SRS_OK) {
                cli_msg("%s", srs_ctx_last_error(ctx));
                rc = EXIT_RUNTIME;
            }
            snprintf(name, sizeof name, "%s", t->tmp);
        }
    }
    MPI_Bcast(name, sizeof name, MPI_CHAR, 0, MPI_COMM_WORLD);
    MPI_Bcast(&hl, 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD);
    if ((rc = srs_mpi_agree(rc))) goto fail;
    MPI_File fh;
    int e = MPI_File_open(MPI_COMM_WORLD, name, MPI_MODE_WRONLY, MPI_INFO_NULL, &fh);
    if (e != MPI_SUCCESS) {
        char why[MPI_MAX_ERROR_STRING];
        int wl;
        MPI_Error_string(e, why, &wl);
        cli_msg("%s: MPI_File_open failed: %s", name, why);
        rc = EXIT_RUNTIME;
    }
    if ((rc = srs_mpi_agree(rc))) goto fail;
    if (size > 0) rc = copy_at(part, fh, (MPI_Offset)(hl + off), dst);
    if (MPI_File_close(&fh) != MPI_SUCCESS && rc == 0) {
        cli_msg("%s: closing the merged file failed", dst);
        rc = EXIT_RUNTIME;
    }
    if ((rc = srs_mpi_agree(rc)) == 0) return 0;
fail:
    if (g_rank == 0) srs_tmp_abort(t);
    return rc;
}
#endif

int srs_mpi_out_finish(srs_mpi_out_t *o, int rc) {
    if (!o) return srs_mpi_agree(rc ? rc : EXIT_RUNTIME);
    srs_ctx_t *ctx = o->ctx;
    if (g_size == 1) {
        if (rc == 0 && srs_writer_commit(o->w) != SRS_OK) {
            cli_msg("%s", srs_ctx_last_error(ctx));
            rc = EXIT_RUNTIME;
        } else if (rc) {
            srs_writer_abort(o->w);
        }
        free(o->path);
        free(o);
        return rc;
    }
#ifdef SRS_WITH_MPI
    char *part[2] = {NULL, NULL};   // main, thresholds companion (NPY shaped)
    if (rc == 0 && srs_writer_close_part(o->w, &part[0], &part[1]) != SRS_OK) {
        cli_msg("%s", srs_ctx_last_error(ctx));
        rc = EXIT_RUNTIME;
    } else if (rc) {
        srs_writer_abort(o->w);
    }
    o->w = NULL;
    rc = srs_mpi_agree(rc);
    int npy = o->fmt == SRS_FMT_NPY, shaped = o->kind == SRS_OUT_SHAPED;
    srs_tmp_t t[2];
    memset(t, 0, sizeof t);
    char *thr_path = npy && shaped ? srs_npy_companion(o->path, ".thresholds.npy") : NULL;
    if (rc == 0 && npy && shaped && !thr_path) rc = EXIT_RUNTIME;
    // The companion first, the main file last, as the single-process writer.
    if (rc == 0 && thr_path) rc = merge(ctx, part[1], thr_path, o->rows, 2, &t[1]);
    if (rc == 0) rc = merge(ctx, part[0], o->path, o->rows, npy ? (o->kind != SRS_OUT_THRESHOLDS ? o->cols : 2) : 0, &t[0]);
    if (g_rank == 0) {
        // both or neither, the companion first (srs_tmp_commit_all)
        if (rc == 0 && srs_tmp_commit_all(ctx, (srs_tmp_t *const[]){&t[1], &t[0]}, 2) != SRS_OK) {
            cli_msg("%s", srs_ctx_last_error(ctx));
            rc = EXIT_RUNTIME;
        }
        srs_tmp_abort(&t[0]);
        srs_tmp_abort(&t[1]);
    }
    rc = srs_mpi_agree(rc);
    for (int k = 0; k < 2; k++) {
        if (part[k]) unlink(part[k]);
        free(part[k]);
    }
    free(thr_path);
#endif
    free(o->path);
    free(o);
    return rc;
}
