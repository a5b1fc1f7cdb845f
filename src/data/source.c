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

nn_source nn_source_from_dataset(const nn_dataset *ds) {
    nn_source s = {ds->n, ds->features, ds->classes, dataset_fill, (void *)ds};
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

nn_source nn_source_from_generator(const nn_generator_source *g, uint64_t n) {
    nn_source s = {n, generator_features(&g->spec), generator_classes(&g->spec), generator_fill,
                   (void *)g};
    return s;
}
