/* scale.c — per-feature standardization (scikit-learn StandardScaler). */
#include "data/data_internal.h"

#include <stdlib.h>
#include <string.h>

/* Mean and population std (ddof 0) of each column of x: (n, f), in double,
 * two passes; a std of 0 (or non-finite) becomes 1. */
static void fit_columns(const float *x, size_t n, size_t f, double *mean, double *std) {
    for (size_t d = 0; d < f; d++) mean[d] = 0.0;
    for (size_t i = 0; i < n; i++)
        for (size_t d = 0; d < f; d++) mean[d] += (double)x[i * f + d];
    for (size_t d = 0; d < f; d++) mean[d] /= (double)n;
    for (size_t d = 0; d < f; d++) std[d] = 0.0;
    for (size_t i = 0; i < n; i++)
        for (size_t d = 0; d < f; d++) {
            const double v = (double)x[i * f + d] - mean[d];
            std[d] += v * v;
        }
    for (size_t d = 0; d < f; d++) {
        std[d] = sqrt(std[d] / (double)n);
        if (!(std[d] > 0.0) || !isfinite(std[d])) std[d] = 1.0;
    }
}

/* x = (x - mean) / std per feature, in double, for rows x: (n, features). */
void nn_scaler_apply(const nn_scaler *sc, float *x, size_t n) {
    if (sc == NULL || x == NULL) return;
    const size_t f = sc->features;
    for (size_t i = 0; i < n; i++)
        for (size_t d = 0; d < f; d++)
            x[i * f + d] = (float)(((double)x[i * f + d] - sc->mean[d]) / sc->std[d]);
}

/* Free mean/std and zero sc; safe on NULL and on a zeroed scaler. */
void nn_scaler_free(nn_scaler *sc) {
    if (sc == NULL) return;
    free(sc->mean);
    free(sc->std);
    memset(sc, 0, sizeof *sc);
}

/* Fit on `fit` (>= 1 row), standardize fit and other (same features) in
 * place; sc (may be NULL) receives the statistics, to free with
 * nn_scaler_free. On failure nothing is modified and sc is zeroed. */
nn_status nn_data_standardize(nn_dataset *fit, nn_dataset *other, nn_scaler *sc, nn_error *err) {
    if (sc != NULL) memset(sc, 0, sizeof *sc);
    if (fit == NULL) return nn_error_set(err, NN_E_INVALID, "nn_data_standardize: fit is NULL");
    if (fit->n == 0)
        return nn_error_set(err, NN_E_INVALID, "nn_data_standardize: cannot fit on 0 rows");
    if (other != NULL && other->features != fit->features)
        return nn_error_set(err, NN_E_INVALID,
                            "nn_data_standardize: other has %zu features, fit has %zu",
                            other->features, fit->features);
    const size_t f = fit->features;
    nn_scaler s = {.features = f};
    s.mean = malloc((f ? f : 1) * sizeof(double)); /* (f) */
    s.std = malloc((f ? f : 1) * sizeof(double));  /* (f) */
    if (s.mean == NULL || s.std == NULL) {
        nn_scaler_free(&s);
        return nn_error_set(err, NN_E_NOMEM, "nn_data_standardize: cannot allocate %zu features",
                            f);
    }
    fit_columns(fit->x, fit->n, f, s.mean, s.std);
    nn_scaler_apply(&s, fit->x, fit->n);
    if (other != NULL) nn_scaler_apply(&s, other->x, other->n);
    if (sc != NULL)
        *sc = s;
    else
        nn_scaler_free(&s);
    return NN_OK;
}
