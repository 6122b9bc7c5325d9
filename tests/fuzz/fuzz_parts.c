/*
 * fuzz_parts.c — libFuzzer harness for the MPI part split against one
 * process (host/cli/mpi.c reads a file as `parts` parts, one per rank, with the
 * bounds and part readers of host/io_*.c; this runs every part in one
 * process, as the ranks would). The input's first byte picks the format
 * (even: CSV, odd: JSONL) and the number of parts (2 to 5); the rest is the
 * file. Properties:
 *   - a file one process reads is read by the parts exactly: the parts tile
 *     the file, and their rows, in order, have the same ids, source lines and
 *     rewards (bits) as one read;
 *   - a file one process rejects is rejected by some part, or its parts
 *     share a prompt id (which the ranks' exchange of ids then reports), or
 *     they hold no rows at all (which the ranks' row count reports), or
 *     they disagree on having gold or logw (which the ranks' check reports).
 * Built by make fuzz (tests/fuzz/run.sh) against the clang ASan/UBSan libsrs.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "srs.h"
#include "data.h"

#define FAIL(...)                                                             \
    do {                                                                      \
        fprintf(stderr, "fuzz property broken: " __VA_ARGS__);                \
        fputc('\n', stderr);                                                  \
        abort();                                                              \
    } while (0)

static srs_ctx_t *ctx;
static char path[2][256];

static double at(const srs_vec_t *v, int64_t i) {
    return v->dtype == SRS_F32 ? (double)((const float *)v->data)[i] : ((const double *)v->data)[i];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    if (!ctx) {
        if (srs_ctx_create(&ctx, SRS_DEVICE_CPU, 1) != SRS_OK) FAIL("context");
        const char *base = getenv("TMPDIR");
        char dir[200];
        snprintf(dir, sizeof dir, "%s/srs-fuzz-parts-%d", base && *base ? base : "/tmp", (int)getpid());
        mkdir(dir, 0700);
        snprintf(path[0], sizeof path[0], "%s/in.csv", dir);
        snprintf(path[1], sizeof path[1], "%s/in.jsonl", dir);
    }
    const int jsonl = data[0] & 1, parts = 2 + (data[0] >> 1) % 4;
    const srs_format_t fmt = jsonl ? SRS_FMT_JSONL : SRS_FMT_CSV;
    const char *p = path[jsonl];
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(data + 1, 1, size - 1, f) != size - 1 || fclose(f) != 0) FAIL("cannot write %s", p);

    srs_read_opts_t ro = {fmt, NULL, NULL};
    srs_data_t *whole = NULL;
    const int whole_ok = srs_data_read(ctx, p, &ro, &whole) == SRS_OK;
    const srs_batch_t *w = whole_ok ? srs_data_batch(whole) : NULL;

    int64_t first_line = 1, row_base = 0, rows = 0, prev_end = 0;
    int part_failed = 0, repeated = 0, columns = -1, columns_differ = 0;
    srs_idset_t seen = {0};
    char *ids = NULL;
    int64_t ids_len = 0, n_ids = 0, *off = NULL;
    for (int k = 0; k < parts && !part_failed; k++) {
        srs_text_part_t tp;
        if (srs_text_part_bounds(ctx, p, fmt, k, parts, &tp) != SRS_OK) {
            if (whole_ok) FAIL("%d parts, part %d: bounds fail on a file one read takes: %s", parts, k,
                               srs_ctx_last_error(ctx));
            part_failed = 1;
            break;
        }
        if (tp.start != prev_end) FAIL("%d parts, part %d starts at %lld, the last ended at %lld", parts, k,
                                       (long long)tp.start, (long long)prev_end);
        prev_end = tp.end;
        tp.first_line = first_line;
        tp.row_base = row_base;
        srs_data_t *d = NULL;
        if ((jsonl ? srs_read_jsonl_part : srs_read_csv_part)(ctx, p, &tp, &d) != SRS_OK) {
            if (whole_ok) FAIL("%d parts, part %d [%lld, %lld) fails on a file one read takes: %s", parts, k,
                               (long long)tp.start, (long long)tp.end, srs_ctx_last_error(ctx));
            part_failed = 1;
            break;
        }
        const srs_batch_t *b = srs_data_batch(d);
        if (b->n_prompts > 0) {   // gold/logw in every part that has rows, or in none (host/cli/mpi.c checks)
            int c = (b->gold.data ? 1 : 0) | (b->logw.data ? 2 : 0);
            columns_differ |= columns >= 0 && c != columns;
            columns = columns < 0 ? c : columns;
        }
        for (int64_t i = 0; i < b->n_prompts; i++) {
            const char *id = srs_data_id(d, i, NULL);
            if (whole_ok) {
                if (rows + i >= w->n_prompts) FAIL("%d parts: more rows than one read (%lld)", parts,
                                                  (long long)w->n_prompts);
                int64_t s0, n0, s1, n1;
                srs_batch_row(w, rows + i, &s0, &n0);
                srs_batch_row(b, i, &s1, &n1);
                if (n0 != n1 || strcmp(id, srs_data_id(whole, rows + i, NULL)) != 0 ||
                    srs_data_line(whole, rows + i) != srs_data_line(d, i))
                    FAIL("%d parts, part %d, row %lld: '%s' line %lld, one read: '%s' line %lld", parts, k,
                         (long long)i, id, (long long)srs_data_line(d, i), srs_data_id(whole, rows + i, NULL),
                         (long long)srs_data_line(whole, rows + i));
                for (int64_t j = 0; j < n0; j++) {
                    double x = at(&w->reward, s0 + j), y = at(&b->reward, s1 + j);
                    if (memcmp(&x, &y, sizeof x) != 0) FAIL("%d parts, row %lld sample %lld: %.17g, one read %.17g",
                                                           parts, (long long)(rows + i), (long long)j, y, x);
                }
            } else {
                // the ids of every part, for the ranks' check of repeats
                size_t len = strlen(id) + 1;
                ids = realloc(ids, (size_t)ids_len + len);
                off = realloc(off, (size_t)(n_ids + 1) * sizeof *off);
                memcpy(ids + ids_len, id, len);
                off[n_ids] = ids_len;
                ids_len += (int64_t)len;
                repeated |= srs_idset_add(&seen, ids, off, n_ids++) >= 0;
            }
        }
        rows += b->n_prompts;
        first_line += tp.newlines;
        row_base += jsonl ? tp.records : b->n_prompts;
        srs_data_free(d);
    }
    if (whole_ok && (rows != w->n_prompts || prev_end != (int64_t)(size - 1)))
        FAIL("%d parts: %lld rows up to byte %lld, one read %lld rows of %lld bytes", parts, (long long)rows,
             (long long)prev_end, (long long)w->n_prompts, (long long)(size - 1));
    // (no rows in any part: the ranks' total is 0, which host/cli/mpi.c reports)
    if (!whole_ok && !part_failed && !repeated && !columns_differ && rows > 0)
        FAIL("%d parts read a file one read rejects (%s)", parts, "no part fails, no id repeats");
    srs_idset_free(&seen);
    free(ids);
    free(off);
    srs_data_free(whole);
    return 0;
}
