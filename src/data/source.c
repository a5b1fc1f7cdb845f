/* source.c — row sources (nn_source): an in-memory dataset, and the streamed
 * form of a generator. */
#include "data/data_internal.h"

#include <string.h>

/* Rows [first, first+count) of the dataset ctx. */
static nn_status dataset_fill(void *ctx, uint64_t first, size_t count, float *x, float *y,
                              nn_error *err) {
    const nn_dataset *ds = ctx;
    if (first > ds->n || count > ds->n - first)
        return nn_error_set(err, NN_E_INVALID, "rows %llu..%llu are outside the dataset (%zu rows)",
                            (unsigned long long)first, (unsigned long long)(first + count), ds->n);
    memcpy(x, ds->x + first * ds->features, count * ds->features * sizeof(float));
    memcpy(y, ds->y + first, count * sizeof(float));
    return NN_OK;
}

/* Rows rows[0..count) of the dataset ctx, in that order. */
static nn_status dataset_fill_rows(void *ctx, const uint64_t *rows, size_t count, float *x,
                                   float *y, nn_error *err) {
    const nn_dataset *ds = ctx;
    const size_t f = ds->features;
    for (size_t i = 0; i < count; i++) {
        if (rows[i] >= ds->n)
            return nn_error_set(err, NN_E_INVALID, "row %llu is outside the dataset (%zu rows)",
                                (unsigned long long)rows[i], ds->n);
        memcpy(x + i * f, ds->x + rows[i] * f, f * sizeof(float));
        y[i] = ds->y[rows[i]];
    }
    return NN_OK;
}

nn_source nn_source_from_dataset(const nn_dataset *ds) {
    nn_source s = {.n = ds->n, .features = ds->features, .classes = ds->classes,
                   .fill = dataset_fill, .ctx = (void *)ds, .fill_rows = dataset_fill_rows};
    return s;
}

/* Classes of a generator's labels. */
static size_t generator_classes(const nn_data_spec *s) {
    switch (s->kind) {
    case NN_DATA_CIRCLES:
    case NN_DATA_MOONS:
    case NN_DATA_XOR:
        return 2;
    default:
        return s->classes;
    }
}

/* Input dimension of a generator's rows. */
static size_t generator_features(const nn_data_spec *s) {
    return s->kind == NN_DATA_BLOBS || s->kind == NN_DATA_TEACHER ? s->features : 2;
}

/* Rows [first, first+count) of the generator source ctx. */
static nn_status generator_fill(void *ctx, uint64_t first, size_t count, float *x, float *y,
                                nn_error *err) {
    const nn_generator_source *g = ctx;
    return nn_data_generate_range(&g->spec, g->offset + first, count, x, y, err);
}

/* Rows rows[0..count) of the generator source ctx: only those are generated. */
static nn_status generator_fill_rows(void *ctx, const uint64_t *rows, size_t count, float *x,
                                     float *y, nn_error *err) {
    const nn_generator_source *g = ctx;
    return nn_data_generate_rows(&g->spec, g->offset, rows, count, x, y, err);
}

nn_source nn_source_from_generator(const nn_generator_source *g, uint64_t n) {
    nn_source s = {.n = n, .features = generator_features(&g->spec),
                   .classes = generator_classes(&g->spec), .fill = generator_fill, .ctx = (void *)g,
                   .fill_rows = generator_fill_rows};
    return s;
}
