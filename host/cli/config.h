/*
 * config.h — evaluation configurations: INI files (parsed by inih), the same
 * keys from the command line, and the resolved configuration written back.
 *
 *   [run]        name, input, out, plot (png|svg|none), chunk
 *   [threshold]  preset, B, cap, solver, tol, max_iter, fixed_beta (none = per beta)
 *   [eval]       designs, alpha, best_of_n, beta | lambda, clip
 *   [bootstrap]  replicates, confidence, seed
 *
 * Lists are comma-separated; beta and lambda are two spellings of one list
 * (one of them per file). In a file, name, input and out may be written in
 * double quotes, with \\ \" \; \n \t \r \xHH escapes (inih ends a value at
 * " ;" and strips spaces at its ends; quotes keep them), and a quoted value
 * followed by a backslash continues with the quoted chunk on the next,
 * indented line (inih reads lines of at most 200 bytes). Values from the
 * command line are taken literally. Library-internal (not in srs.h): the
 * command line and the tests use it.
 */
#ifndef SRS_CONFIG_H
#define SRS_CONFIG_H

#include <stdio.h>
#include "srs.h"

#define SRS_CFG_MAX_LIST 64
#define SRS_CFG_STR 1024

typedef struct {
    char name[256];                       // run name: ./srs-eval-<name> unless out is set
    char input[SRS_CFG_STR];              // data file ("" = from the command line)
    char out[SRS_CFG_STR];                // results directory ("" = ./srs-eval-<name>)
    char plot[8];                         // png | svg | none
    int64_t chunk;                        // prompts per accumulation chunk
    srs_threshold_opts_t to;              // to.beta: unused (per-beta thresholds) or fixed_beta
    int fixed;                            // 1: threshold fixed at fixed_beta for every beta
    double fixed_beta;
    char designs[SRS_CFG_MAX_LIST][16];   // design names, plus "base"
    int n_designs;
    double alphas[SRS_CFG_MAX_LIST];      // soft / meansoft: one arm per alpha
    int n_alphas;
    int64_t bon[SRS_CFG_MAX_LIST];        // best-of-n sizes
    int n_bon;
    double betas[SRS_CFG_MAX_LIST];       // follower strengths
    int n_betas;
    int by_lambda;                        // 1: given as lambda = 1/beta (written back as given)
    double lambdas[SRS_CFG_MAX_LIST];     // those lambdas (by_lambda), else zeros
    double clip;                          // cap design (< 0: B)
    int replicates;
    double confidence;
    uint64_t seed;
} srs_eval_cfg_t;

// The embedded defaults, identical to configs/default.ini.
void srs_eval_cfg_default(srs_eval_cfg_t *c);
// Sets [section] key = value. 0 on success; else a message in err ("key
// 'x': ...") and 1 for an unknown key, 2 for a bad value.
int srs_eval_cfg_set(srs_eval_cfg_t *c, const char *section, const char *key, const char *value, char *err,
                     size_t errlen);
// Reads an INI file over c. 0 on success; else err holds "PATH:LINE: message"
// (or "PATH: message" when the file cannot be opened; returns 1 then, 2 for
// a bad line or key).
int srs_eval_cfg_load(srs_eval_cfg_t *c, const char *path, char *err, size_t errlen);
// Writes the resolved configuration as INI that srs_eval_cfg_load reads back
// to the same values (strings quoted and split as above where needed, the
// strengths under the key they were given with).
void srs_eval_cfg_write(const srs_eval_cfg_t *c, FILE *f);
// Expands designs x alphas and best-of-n into arms (at most max). Returns the
// number of arms, or -1 when there are more than max.
int srs_eval_cfg_arms(const srs_eval_cfg_t *c, srs_eval_arm_t *arms, int max);
// Evaluation options for c over the arms (betas point into c).
srs_eval_opts_t srs_eval_cfg_opts(const srs_eval_cfg_t *c, const srs_eval_arm_t *arms, int n_arms);

#endif
