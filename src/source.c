/* source.c — row sources: generators' streamed form. */
#include "nn.h"

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

static size_t generator_features(const nn_data_spec *s) {
    return s->kind == NN_DATA_BLOBS || s->kind == NN_DATA_TEACHER ? s->features : 2;
}

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
