// progress.h — a progress bar on stderr, drawn only when stderr is a terminal.
#ifndef SRS_PROGRESS_H
#define SRS_PROGRESS_H
#include <stdint.h>

typedef struct {
    int on;              // drawing enabled
    const char *label;   // e.g. "threshold"
    const char *unit;    // e.g. "prompts"
    int64_t total;
    double t0, last;     // seconds: start, last redraw
} srs_progress_t;

// Starts a bar for `total` units; drawn only if `enabled` and stderr is a tty.
void srs_progress_start(srs_progress_t *p, const char *label, const char *unit, int64_t total, int enabled);
// Redraws (at most ~10 times a second) with `done` units finished.
void srs_progress_update(srs_progress_t *p, int64_t done);
// Draws the final state and ends the line.
void srs_progress_end(srs_progress_t *p, int64_t done);
// Monotonic wall-clock seconds.
double srs_now(void);
#endif
