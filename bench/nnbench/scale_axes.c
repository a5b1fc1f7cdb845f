/* scale_axes.c — what a sweep point is: the names of the axes, its global
 * samples and batch (weak scaling multiplies the per-rank ones), threads per
 * rank, its data spec and model, and the median/min/max of its repeats. A
 * leaf of the scale files: it calls none of them. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scale.h"

const char *const SCALE_AXIS_NAMES[N_AXES] = {"samples", "features", "hidden", "depth",
                                              "batch",   "threads",  "ranks"};

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

void scale_stats(const double *v, int n, double *med, double *mn, double *mx) {
    double s[SCALE_MAX_REPEATS];
    memcpy(s, v, (size_t)n * sizeof(double));
    qsort(s, (size_t)n, sizeof(double), cmp_double);
    *mn = s[0];
    *mx = s[n - 1];
    *med = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

uint64_t scale_samples(const scale_options *o, const point *pt) {
    return o->weak ? pt->p[AX_SAMPLES] * pt->p[AX_RANKS] : pt->p[AX_SAMPLES];
}

uint64_t scale_batch(const scale_options *o, const point *pt) {
    return o->weak ? pt->p[AX_BATCH] * pt->p[AX_RANKS] : pt->p[AX_BATCH];
}

int scale_threads_per_rank(const point *pt) {
    if (pt->p[AX_THREADS] > 0 || pt->p[AX_RANKS] <= 1) return (int)pt->p[AX_THREADS];
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    long t = cores / (long)pt->p[AX_RANKS];
    return t > 1 ? (int)t : 1;
}

nn_data_spec scale_point_spec(const scale_options *o, const point *pt) {
    nn_data_spec s = o->spec;
    s.features = (size_t)pt->p[AX_FEATURES];
    s.samples = (size_t)scale_samples(o, pt);
    return s;
}

void scale_point_model(const scale_options *o, const point *pt, size_t features, size_t classes,
                       nn_model_config *m) {
    memset(m, 0, sizeof *m);
    m->n_sizes = (size_t)pt->p[AX_DEPTH] + 2;
    m->sizes[0] = features;
    for (size_t i = 1; i + 1 < m->n_sizes; i++) m->sizes[i] = (size_t)pt->p[AX_HIDDEN];
    m->loss = nn_loss_for_classes(classes);
    m->sizes[m->n_sizes - 1] = nn_loss_outputs(m->loss, classes);
    m->hidden = NN_ACT_RELU;
    m->seed = o->seed;
}
