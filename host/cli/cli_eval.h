// cli_eval.h — what `srs eval` shares with `srs demo`: one evaluation run from
// a resolved configuration to the results directory.
#ifndef SRS_CLI_EVAL_H
#define SRS_CLI_EVAL_H

#include "config.h"
#include "srs.h"

// Evaluates d under cfg in chunks of cfg->chunk prompts, writes metrics.csv,
// metrics.json, config.ini and the plot into dir, then prints the table on
// stdout. The files are committed together or not at all (a staging
// directory, see cli_eval.c): a failure leaves dir as it was, and no
// directory the run created. Returns 0 or an exit code (message printed).
int cli_eval_run(srs_ctx_t *ctx, const srs_eval_cfg_t *cfg, const srs_data_t *d, const char *dir, int quiet);

#endif
