/* split.c — seeded shuffle-split of a dataset into train and test. */
#include "data/data_internal.h"

#include <stdlib.h>
#include <string.h>

/* Copy rows idx[0..count) of src into dst (allocated for count rows). */
static void gather(const nn_dataset *src, const uint32_t *idx, size_t count, nn_dataset *dst) {
    const size_t f = src->features;
    for (size_t i = 0; i < count; i++) {
        if (f > 0) memcpy(dst->x + i * f, src->x + (size_t)idx[i] * f, f * sizeof(float));
        dst->y[i] = src->y[idx[i]];
    }
}

/* Test gets the first round(n * test_fraction) rows (round half away from
 * zero) of the permutation nn_rng_make(seed, NN_STREAM_SPLIT) shuffles, train
 * the rest, both in permutation order. test_fraction 0 leaves test with no
 * rows (NULL arrays). On failure train and test are zeroed. */
nn_status nn_data_split(const nn_dataset *all, double test_fraction, uint64_t seed,
                        nn_dataset *train, nn_dataset *test, nn_error *err) {
    if (train == NULL || test == NULL || all == NULL)
        return nn_error_set(err, NN_E_INVALID, "nn_data_split: NULL dataset");
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    if (!(test_fraction >= 0.0 && test_fraction < 1.0))
        return nn_error_set_param(err, NN_E_INVALID, "test_fraction",
                                  "test_fraction must be in [0, 1), got %g", test_fraction);
    const size_t n = all->n;
    if (n > UINT32_MAX)
        return nn_error_set(err, NN_E_INVALID, "nn_data_split: %zu rows exceed the 2^32-1 limit",
                            n);
    const size_t n_test = (size_t)llround((double)n * test_fraction);
    if (n_test >= n)
        return nn_error_set_param(err, NN_E_INVALID, "test_fraction",
                                  "nn_data_split: %zu rows with test_fraction %g leave no "
                                  "training rows", n, test_fraction);
    uint32_t *perm = malloc(n * sizeof(uint32_t)); /* (n) */
    if (perm == NULL)
        return nn_error_set(err, NN_E_NOMEM, "nn_data_split: cannot allocate %zu indices", n);
    for (size_t i = 0; i < n; i++) perm[i] = (uint32_t)i;
    nn_rng r = nn_rng_make(seed, NN_STREAM_SPLIT);
    nn_rng_shuffle_u32(&r, perm, n);
    nn_status st = nn_dataset_alloc(test, n_test, all->features, all->classes, err);
    if (st == NN_OK) st = nn_dataset_alloc(train, n - n_test, all->features, all->classes, err);
    if (st != NN_OK) {
        nn_dataset_free(test);
        free(perm);
        return st;
    }
    gather(all, perm, n_test, test);
    gather(all, perm + n_test, n - n_test, train);
    free(perm);
    return NN_OK;
}
