/* rows.c — in-memory post-processing of generated rows: shuffle, coordinate
 * noise, label noise. Each step draws from its own stream of the seed. */
#include "data/data_internal.h"

/* Fisher-Yates over whole rows of ds (x and y together), in place. */
void nn_rows_shuffle(uint64_t seed, nn_dataset *ds) {
    nn_rng r = nn_rng_make(seed, NN_STREAM_SHUFFLE);
    const size_t f = ds->features;
    for (size_t i = ds->n; i > 1; i--) {
        const size_t j = (size_t)nn_rng_below(&r, (uint64_t)i);
        if (j == i - 1) continue;
        float *a = ds->x + (i - 1) * f; /* (f) */
        float *b = ds->x + j * f;       /* (f) */
        for (size_t k = 0; k < f; k++) {
            const float t = a[k];
            a[k] = b[k];
            b[k] = t;
        }
        const float t = ds->y[i - 1];
        ds->y[i - 1] = ds->y[j];
        ds->y[j] = t;
    }
}

/* x += N(0, noise^2) element-wise in row-major order; noise 0 draws nothing. */
void nn_rows_add_noise(uint64_t seed, double noise, nn_dataset *ds) {
    if (noise == 0.0) return;
    nn_rng r = nn_rng_make(seed, NN_STREAM_NOISE);
    const size_t total = ds->n * ds->features;
    size_t i = 0;
    for (; i + 1 < total; i += 2) {
        double a, b;
        nn_normal_pair(&r, &a, &b);
        ds->x[i] = (float)((double)ds->x[i] + noise * a);
        ds->x[i + 1] = (float)((double)ds->x[i + 1] + noise * b);
    }
    if (i < total) ds->x[i] = (float)((double)ds->x[i] + noise * nn_rng_normal(&r));
}

/* With probability p per row, y becomes a uniformly random class (possibly
 * the same one). p 0 draws nothing. */
void nn_rows_label_noise(uint64_t seed, double p, nn_dataset *ds) {
    if (p == 0.0) return;
    nn_rng r = nn_rng_make(seed, NN_STREAM_LABELS);
    for (size_t i = 0; i < ds->n; i++) {
        if (nn_rng_uniform(&r) < p) ds->y[i] = (float)nn_rng_below(&r, ds->classes);
    }
}
