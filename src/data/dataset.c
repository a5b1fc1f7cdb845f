/* dataset.c — allocation, deep copy and release of nn_dataset. */
#include "data/data_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Allocate x: (n, features) and y: (n); n == 0 leaves both NULL. */
nn_status nn_dataset_alloc(nn_dataset *out, size_t n, size_t features, size_t classes,
                           nn_error *err) {
    memset(out, 0, sizeof *out);
    if (features != 0 && n > SIZE_MAX / sizeof(float) / features)
        return nn_error_set(err, NN_E_NOMEM, "dataset of %zu rows x %zu features overflows size_t",
                            n, features);
    float *x = NULL; /* (n, features) */
    float *y = NULL; /* (n) */
    if (n > 0) {
        x = malloc(n * features * sizeof(float) + (features == 0)); /* never malloc(0) */
        y = malloc(n * sizeof(float));
        if (x == NULL || y == NULL) {
            free(x);
            free(y);
            return nn_error_set(err, NN_E_NOMEM,
                                "cannot allocate a dataset of %zu rows x %zu features", n,
                                features);
        }
    }
    out->n = n;
    out->features = features;
    out->classes = classes;
    out->x = x;
    out->y = y;
    return NN_OK;
}

/* dst becomes an independent copy of src; on failure dst is zeroed. */
nn_status nn_dataset_copy(const nn_dataset *src, nn_dataset *dst, nn_error *err) {
    if (src == NULL || dst == NULL)
        return nn_error_set(err, NN_E_INVALID, "nn_dataset_copy: NULL dataset");
    if (src->n > 0 && (src->y == NULL || (src->features > 0 && src->x == NULL)))
        return nn_error_set(err, NN_E_INVALID, "nn_dataset_copy: source has %zu rows but no arrays",
                            src->n);
    nn_dataset tmp;
    nn_status st = nn_dataset_alloc(&tmp, src->n, src->features, src->classes, err);
    if (st != NN_OK) {
        memset(dst, 0, sizeof *dst);
        return st;
    }
    if (src->n > 0) {
        memcpy(tmp.x, src->x, src->n * src->features * sizeof(float));
        memcpy(tmp.y, src->y, src->n * sizeof(float));
    }
    *dst = tmp;
    return NN_OK;
}

/* Free both arrays and zero the struct; safe on NULL and on a zeroed struct. */
void nn_dataset_free(nn_dataset *ds) {
    if (ds == NULL) return;
    free(ds->x);
    free(ds->y);
    memset(ds, 0, sizeof *ds);
}
