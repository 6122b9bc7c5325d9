/*
 * fuzz_config.c — libFuzzer harness for the evaluation config (INI, host/
 * config.c), with its promises as properties:
 *   - a bad file fails with a message naming the file and line; no crash;
 *   - an accepted file's resolved configuration, written by
 *     srs_eval_cfg_write (what `srs eval` saves as config.ini), reloads to
 *     the same configuration: written again, the same bytes;
 *   - the arms and options it expands to pass or fail the library's checks
 *     without crashing.
 * Built by make fuzz (tests/fuzz/run.sh) against the clang ASan/UBSan libsrs.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "srs.h"
#include "config.h"

#define FAIL(...)                                                             \
    do {                                                                      \
        fprintf(stderr, "fuzz property broken: " __VA_ARGS__);                \
        fputc('\n', stderr);                                                  \
        abort();                                                              \
    } while (0)

static char in_path[256], out1[256], out2[256];
static srs_ctx_t *ctx;

static char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = malloc(1 << 20);
    *n = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!ctx) {
        if (srs_ctx_create(&ctx, SRS_DEVICE_CPU, 1) != SRS_OK) FAIL("context");
        const char *base = getenv("TMPDIR");
        char dir[200];
        snprintf(dir, sizeof dir, "%s/srs-fuzz-cfg-%d", base && *base ? base : "/tmp", (int)getpid());
        mkdir(dir, 0700);
        snprintf(in_path, sizeof in_path, "%s/in.ini", dir);
        snprintf(out1, sizeof out1, "%s/saved.ini", dir);
        snprintf(out2, sizeof out2, "%s/resaved.ini", dir);
    }
    FILE *f = fopen(in_path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) FAIL("cannot write %s", in_path);
    srs_eval_cfg_t c;
    srs_eval_cfg_default(&c);
    char err[1024] = "";
    if (srs_eval_cfg_load(&c, in_path, err, sizeof err) != 0) {
        if (!strstr(err, in_path)) FAIL("config error does not name the file: %s", err);
        return 0;
    }
    // saved and reloaded: the same configuration, so the same bytes again
    f = fopen(out1, "w");
    srs_eval_cfg_write(&c, f);
    fclose(f);
    srs_eval_cfg_t r;
    srs_eval_cfg_default(&r);
    if (srs_eval_cfg_load(&r, out1, err, sizeof err) != 0) FAIL("a saved config does not reload: %s", err);
    f = fopen(out2, "w");
    srs_eval_cfg_write(&r, f);
    fclose(f);
    size_t n1 = 0, n2 = 0;
    char *a = slurp(out1, &n1), *b = slurp(out2, &n2);
    if (!a || !b || n1 != n2 || memcmp(a, b, n1) != 0) FAIL("a saved config reloads differently:\n%.*s\n--- reloaded and saved:\n%.*s",
                                                         (int)n1, a ? a : "", (int)n2, b ? b : "");
    free(a);
    free(b);
    srs_eval_arm_t arms[64];
    int na = srs_eval_cfg_arms(&c, arms, 64);
    if (na > 0) {
        srs_eval_opts_t o = srs_eval_cfg_opts(&c, arms, na);
        (void)srs_eval_opts_check(ctx, &o);
    }
    return 0;
}
