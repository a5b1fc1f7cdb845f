/* progress.h — a progress bar with ETA on stderr, shown only on a terminal
 * and only once a run has lasted about a second. */
#ifndef NNBENCH_PROGRESS_H
#define NNBENCH_PROGRESS_H

typedef struct progress {
    int enabled;    /* stderr is a terminal and output is not quiet */
    int visible;    /* a bar is on screen */
    double start;   /* nn_now() at the start */
    double last;    /* last redraw */
} progress;

/* Start timing; the bar is drawn only if enabled. */
void progress_start(progress *p, int enabled);
/* Redraw for fraction done in [0, 1] (rate-limited). */
void progress_update(progress *p, double fraction);
/* Erase the bar so that a normal line can be printed. */
void progress_clear(progress *p);

#endif
