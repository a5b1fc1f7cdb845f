/* gemm_measure.c — the measurement loop of `nnbench gemm`: operands, the
 * reference, then each implementation verified before it is timed (median,
 * min and max over the repeats). */
#include "gemm_measure.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn.h"

/* Pause after an implementation's runs while its idle threads still spin
 * (OpenBLAS: up to ~0.1 s; OpenMP: a few ms), so they do not slow the next one. */
#define OPENBLAS_SETTLE_US 200000
#define OTHER_SETTLE_US 20000

/* qsort order for doubles. */
static int cmp_double(const void *x, const void *y) {
    const double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

/* Uniform values in [-1, 1) from a seed (splitmix64 stream). */
static void fill_uniform(float *x, size_t n, uint64_t seed) {
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        uint64_t z = (s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        x[i] = (float)((double)(z >> 40) / (double)(1ull << 24) * 2.0 - 1.0);
    }
}

/* Repeats for a run that took `warm` seconds: about GEMM_TARGET_SECONDS in all. */
static long auto_repeats(double warm) {
    long reps = warm > 0 ? (long)(GEMM_TARGET_SECONDS / warm) + 1 : GEMM_MAX_REPEATS;
    return reps < GEMM_MIN_REPEATS ? GEMM_MIN_REPEATS : reps > GEMM_MAX_REPEATS ? GEMM_MAX_REPEATS
                                                                                : reps;
}

/* Time `repeats` runs (0 = auto from the warm-up) into row; 0 or -1 with row->error. */
static int time_runs(gemm_impl *im, const gemm_shape *s, long repeats, gemm_row *row) {
    double t = nn_now();
    if (im->run(im, row->error, sizeof row->error) != 0) return -1; /* warm-up */
    const long reps = repeats ? repeats : auto_repeats(nn_now() - t);
    double *sec = malloc((size_t)reps * sizeof(double));
    if (!sec) {
        snprintf(row->error, sizeof row->error, "out of memory");
        return -1;
    }
    for (long r = 0; r < reps; r++) {
        t = nn_now();
        if (im->run(im, row->error, sizeof row->error) != 0) {
            free(sec);
            return -1;
        }
        sec[r] = nn_now() - t;
    }
    qsort(sec, (size_t)reps, sizeof sec[0], cmp_double);
    const double flop = 2.0 * (double)s->m * (double)s->n * (double)s->k;
    const double med = reps % 2 ? sec[reps / 2] : 0.5 * (sec[reps / 2 - 1] + sec[reps / 2]);
    row->sec_med = med;
    row->gf_med = flop / med * 1e-9;
    row->gf_min = flop / sec[reps - 1] * 1e-9;
    row->gf_max = flop / sec[0] * 1e-9;
    row->repeats = reps;
    row->ran = 1;
    free(sec);
    return 0;
}

/* Verify then time one implementation on one shape. */
static void measure(gemm_impl *im, const gemm_shape *s, const float *a, const float *b,
                    const gemm_ref *ref, const char *ref_error, long repeats, float *c,
                    gemm_row *row) {
    memset(row, 0, sizeof *row);
    if (im->prepare(im, s, a, b, row->error, sizeof row->error) != 0) return;
    if (im->run(im, row->error, sizeof row->error) == 0 &&
        im->read(im, c, row->error, sizeof row->error) == 0) {
        if (ref_error) {
            snprintf(row->error, sizeof row->error, "no reference: %.480s", ref_error);
        } else {
            row->max_err = gemm_ref_check(ref, c, &row->verified);
            if (!row->verified)
                snprintf(row->error, sizeof row->error,
                         "result differs from the %s reference beyond tolerance",
                         gemm_ref_kind(ref));
            else
                time_runs(im, s, repeats, row);
        }
    }
    im->unprepare(im);
}

int gemm_measure_shape(gemm_impl impls[GEMM_NIMPL], const int use[GEMM_NIMPL], int threads,
                       long repeats, const gemm_shape *s, gemm_row rows[GEMM_NIMPL],
                       gemm_ref *ref, char *ref_error, size_t ref_len) {
    const size_t na = s->m * s->k, nb = s->k * s->n, nc = s->m * s->n;
    float *a = malloc(na * sizeof(float)), *b = malloc(nb * sizeof(float));
    float *c = malloc(nc * sizeof(float));
    memset(ref, 0, sizeof *ref);
    if (!a || !b || !c) {
        free(a);
        free(b);
        free(c);
        return -1;
    }
    fill_uniform(a, na, 1 + s->m * 3 + s->k);
    fill_uniform(b, nb, 2 + s->n * 5 + s->k);
    ref_error[0] = '\0';
    gemm_ref_build(ref, s, a, b, threads, ref_error, ref_len);
    /* OpenBLAS last: its idle threads keep spinning for a while after a call */
    static const int order[GEMM_NIMPL] = {0, 1, 3, 2};
    for (int q = 0; q < GEMM_NIMPL; q++) {
        const int i = order[q];
        memset(&rows[i], 0, sizeof rows[i]);
        if (!use[i] || impls[i].why_not[0]) continue;
        measure(&impls[i], s, a, b, ref, ref_error[0] ? ref_error : NULL, repeats, c, &rows[i]);
        const long settle_us =
            strcmp(impls[i].name, "openblas") == 0 ? OPENBLAS_SETTLE_US : OTHER_SETTLE_US;
        struct timespec pause = {0, settle_us * 1000L};
        nanosleep(&pause, NULL);
    }
    free(a);
    free(b);
    free(c);
    return 0;
}
