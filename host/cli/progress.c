// progress.c — the command line's progress bar.
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include "progress.h"

double srs_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void human(char *buf, size_t n, double x) {
    if (x >= 1e9) snprintf(buf, n, "%.2fG", x / 1e9);
    else if (x >= 1e6) snprintf(buf, n, "%.2fM", x / 1e6);
    else if (x >= 1e3) snprintf(buf, n, "%.1fk", x / 1e3);
    else snprintf(buf, n, "%.0f", x);
}

static void draw(srs_progress_t *p, int64_t done, double now) {
    enum { W = 30 };
    double frac = p->total > 0 ? (double)done / (double)p->total : 1.0;
    int fill = (int)(frac * W + 0.5);
    char bar[W + 1], a[16], b[16], r[16];
    for (int i = 0; i < W; i++) bar[i] = i < fill ? '#' : '.';
    bar[W] = '\0';
    double dt = now - p->t0;
    human(a, sizeof a, (double)done);
    human(b, sizeof b, (double)p->total);
    human(r, sizeof r, dt > 0 ? (double)done / dt : 0.0);
    fprintf(stderr, "\r%-10s [%s] %3.0f%%  %s/%s %s  %s %s/s ", p->label, bar, 100 * frac, a, b, p->unit,
            r, p->unit);
    fflush(stderr);
}

void srs_progress_start(srs_progress_t *p, const char *label, const char *unit, int64_t total, int enabled) {
    p->on = enabled && isatty(2);
    p->label = label;
    p->unit = unit;
    p->total = total;
    p->t0 = p->last = srs_now();
}

void srs_progress_update(srs_progress_t *p, int64_t done) {
    if (!p->on) return;
    double now = srs_now();
    if (now - p->last < 0.1) return;
    p->last = now;
    draw(p, done, now);
}

void srs_progress_end(srs_progress_t *p, int64_t done) {
    if (!p->on) return;
    draw(p, done, srs_now());
    fputc('\n', stderr);
}
