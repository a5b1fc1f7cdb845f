/* teacher.c — the fixed random teacher network that labels the "teacher"
 * dataset: features -> NN_TEACHER_HIDDEN tanh -> outputs, no biases.
 *
 * Balance: inputs are N(0, I) and the network is odd (tanh, zero biases), so
 * for binary labels (one output, label = logit > 0) each class has
 * probability exactly 1/2. For k classes the output rows are orthonormalized
 * (Gram-Schmidt) and given equal norms, and the hidden rows equal norms, so
 * no class is favoured by a larger logit variance; class shares are then
 * close to 1/k (checked in tests/test_data.c).
 */
#include "data/data_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define H NN_TEACHER_HIDDEN

/* Scale row v: (len) to Euclidean norm `norm` (left alone if it is ~0). */
static void set_norm(double *v, size_t len, double norm) {
    double ss = 0.0;
    for (size_t i = 0; i < len; i++) ss += v[i] * v[i];
    if (ss < 1e-300) return;
    const double s = norm / sqrt(ss);
    for (size_t i = 0; i < len; i++) v[i] *= s;
}

/* Modified Gram-Schmidt on the rows of w: (rows, H), rows <= H. */
static void orthonormalize(double *w, size_t rows) {
    for (size_t c = 0; c < rows; c++) {
        double *v = w + c * H; /* (H) */
        for (size_t p = 0; p < c; p++) {
            const double *u = w + p * H; /* (H), unit norm */
            double d = 0.0;
            for (size_t j = 0; j < H; j++) d += u[j] * v[j];
            for (size_t j = 0; j < H; j++) v[j] -= d * u[j];
        }
        set_norm(v, H, 1.0);
    }
}

/* Draw the teacher for spec (checked) from its seed's teacher stream:
 * Xavier-normal weights, rows rescaled to their expected norms. */
nn_status nn_teacher_make(const nn_data_spec *spec, nn_teacher *t, nn_error *err) {
    memset(t, 0, sizeof *t);
    const size_t f = spec->features, o = spec->classes == 2 ? 1 : spec->classes;
    if (f > SIZE_MAX / sizeof(double) / H)
        return nn_error_set(err, NN_E_NOMEM, "teacher with features=%zu overflows size_t", f);
    double *w1 = malloc(H * f * sizeof(double)); /* (H, f) */
    double *w2 = malloc(o * H * sizeof(double)); /* (o, H) */
    if (w1 == NULL || w2 == NULL) {
        free(w1);
        free(w2);
        return nn_error_set(err, NN_E_NOMEM, "cannot allocate a teacher with features=%zu", f);
    }
    nn_rng r = nn_rng_make(spec->seed, NN_STREAM_TEACHER);
    const double std1 = sqrt(2.0 / (double)(f + H)), std2 = sqrt(2.0 / (double)(H + o));
    nn_fill_normal(&r, w1, H * f, 1.0);
    nn_fill_normal(&r, w2, o * H, 1.0);
    for (size_t j = 0; j < H; j++) set_norm(w1 + j * f, f, std1 * sqrt((double)f));
    orthonormalize(w2, o);
    for (size_t c = 0; c < o; c++) set_norm(w2 + c * H, H, std2 * sqrt((double)H));
    t->features = f;
    t->outputs = o;
    t->w1 = w1;
    t->w2 = w2;
    return NN_OK;
}

/* Release the weights and zero t; safe on a zeroed struct. */
void nn_teacher_free(nn_teacher *t) {
    free(t->w1);
    free(t->w2);
    memset(t, 0, sizeof *t);
}

/* Forward x: (features) through the teacher; binary: logit > 0, else the
 * first index of the largest logit. */
size_t nn_teacher_label(const nn_teacher *t, const float *x) {
    const size_t f = t->features;
    double h[H]; /* (H) hidden activations */
    for (size_t j = 0; j < H; j++) {
        const double *w = t->w1 + j * f; /* (f) */
        double a = 0.0;
        for (size_t d = 0; d < f; d++) a += w[d] * (double)x[d];
        h[j] = tanh(a);
    }
    size_t best = 0;
    double best_z = 0.0;
    for (size_t c = 0; c < t->outputs; c++) {
        const double *w = t->w2 + c * H; /* (H) */
        double z = 0.0;
        for (size_t j = 0; j < H; j++) z += w[j] * h[j];
        if (t->outputs == 1) return z > 0.0 ? 1 : 0;
        if (c == 0 || z > best_z) {
            best = c;
            best_z = z;
        }
    }
    return best;
}
