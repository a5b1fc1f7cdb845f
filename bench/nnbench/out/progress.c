/* progress.c — the progress bar. */
#include "out/progress.h"

#include <stdio.h>

#include "nn.h"

void progress_start(progress *p, int enabled) {
    p->enabled = enabled;
    p->visible = 0;
    p->start = p->last = nn_now();
}

void progress_update(progress *p, double fraction) {
    if (!p->enabled) return;
    double now = nn_now(), elapsed = now - p->start;
    if (elapsed < 1.0 || now - p->last < 0.1) return;
    p->last = now;
    if (fraction < 0) fraction = 0;
    if (fraction > 1) fraction = 1;
    const int width = 30;
    int filled = (int)(fraction * width);
    char bar[64];
    for (int i = 0; i < width; i++) bar[i] = i < filled ? '#' : '.';
    bar[width] = '\0';
    double eta = fraction > 0 ? elapsed * (1.0 - fraction) / fraction : 0.0;
    fprintf(stderr, "\r[%s] %5.1f%%  elapsed %.0fs  ETA %.0fs ", bar, 100.0 * fraction, elapsed,
            eta);
    fflush(stderr);
    p->visible = 1;
}

void progress_clear(progress *p) {
    if (!p->visible) return;
    fprintf(stderr, "\r\033[K");
    fflush(stderr);
    p->visible = 0;
}
