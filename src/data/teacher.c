/* teacher.c — the fixed random teacher network that labels the "teacher"
 * dataset: features -> hidden tanh -> outputs, no biases, hidden <= 32.
 *
 * Balance by symmetry (inputs are x ~ N(0, I)):
 *  - binary (one output, label = logit > 0): the network is odd (tanh, zero
 *    biases) and x, -x are equally likely, so each class has probability 1/2.
 *    Weights are plain Xavier-normal; hidden = 32.
 *  - k classes (label = argmax): R rotates every coordinate pair (2p, 2p+1)
 *    by 2*pi/k, so R^k = I and Rx ~ x. With m = 32/k random vectors v_i and
 *    random u (m, k), hidden unit (c, i) is tanh(v_i . R^c x) and
 *    z_c = sum_{c', i} u[i][(c' - c) mod k] h_(c', i); then z(Rx) is z(x)
 *    shifted by one class, so label(Rx) = label(x) + 1 mod k and every class
 *    has probability exactly 1/k. Needs features >= 2 (spec.c checks it).
 */
#include "data/data_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HMAX NN_TEACHER_HIDDEN

/* tanh through one exp (the libm tanh is several times slower); exact limits
 * +-1 for large |a|. */
static double tanh_exp(double a) {
    return 1.0 - 2.0 / (1.0 + exp(2.0 * a));
}

/* w: (f) = v rotated by angle `a` in every coordinate pair (2p, 2p+1); an odd
 * last coordinate is copied. w . x == v . (R_(-a) x). */
static void rotate_pairs(const double *v, size_t f, double a, double *w) {
    const double c = cos(a), s = sin(a);
    size_t d = 0;
    for (; d + 1 < f; d += 2) {
        w[d] = c * v[d] - s * v[d + 1];
        w[d + 1] = s * v[d] + c * v[d + 1];
    }
    if (d < f) w[d] = v[d];
}

/* Multi-class weights into w1: (h, f) and w2: (k, h) (see the file comment);
 * v: (m, f) and u: (m, k) are the random draws, h = k * m. */
static void build_cyclic(const double *v, const double *u, size_t f, size_t k, size_t m,
                         double *w1, double *w2) {
    const size_t h = k * m;
    for (size_t c = 0; c < k; c++) {
        /* v_i . R^c x = (R^(-c) v_i) . x; R^(-c) rotates by -c*2pi/k, and
         * rotate_pairs(v, a) gives w . x = v . (R_(-a) x), so a = -c*2pi/k
         * yields w . x = v . (R_(c*2pi/k) x) = v . R^c x. */
        const double a = -NN_TWO_PI * (double)c / (double)k;
        for (size_t i = 0; i < m; i++) rotate_pairs(v + i * f, f, a, w1 + (c * m + i) * f);
    }
    for (size_t c = 0; c < k; c++)
        for (size_t cp = 0; cp < k; cp++)
            for (size_t i = 0; i < m; i++)
                w2[c * h + cp * m + i] = u[i * k + (cp + k - c) % k];
}

/* dst: (cols, rows) = transpose of src: (rows, cols). */
static void transpose(const double *src, size_t rows, size_t cols, double *dst) {
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++) dst[j * rows + i] = src[i * cols + j];
}

/* Draw the teacher for spec (checked) from its seed's teacher stream. */
nn_status nn_teacher_make(const nn_data_spec *spec, nn_teacher *t, nn_error *err) {
    memset(t, 0, sizeof *t);
    const size_t f = spec->features, k = spec->classes;
    const size_t o = k == 2 ? 1 : k, m = k == 2 ? HMAX : HMAX / k, h = k == 2 ? HMAX : m * k;
    if (f > SIZE_MAX / sizeof(double) / (3 * HMAX))
        return nn_error_set(err, NN_E_NOMEM, "teacher with features=%zu overflows size_t", f);
    double *w1 = malloc(h * f * sizeof(double));  /* (h, f) */
    double *w2 = malloc(o * h * sizeof(double));  /* (o, h) */
    double *w1t = malloc(f * h * sizeof(double)); /* (f, h) */
    double *w2t = malloc(h * o * sizeof(double)); /* (h, o) */
    double *v = malloc(m * f * sizeof(double));   /* (m, f) base hidden rows */
    double *u = malloc(m * o * sizeof(double));   /* (m, o) base output weights */
    nn_status st = NN_OK;
    if (w1 == NULL || w2 == NULL || w1t == NULL || w2t == NULL || v == NULL || u == NULL) {
        st = nn_error_set(err, NN_E_NOMEM, "cannot allocate a teacher with features=%zu", f);
        free(w1t);
        free(w2t);
    } else {
        nn_rng r = nn_rng_make(spec->seed, NN_STREAM_TEACHER);
        nn_fill_normal(&r, v, m * f, sqrt(2.0 / (double)(f + h))); /* Xavier-normal */
        nn_fill_normal(&r, u, m * o, sqrt(2.0 / (double)(h + o)));
        if (k == 2) {
            memcpy(w1, v, h * f * sizeof(double));
            memcpy(w2, u, h * sizeof(double));
        } else {
            build_cyclic(v, u, f, k, m, w1, w2);
        }
        transpose(w1, h, f, w1t);
        transpose(w2, o, h, w2t);
        t->features = f;
        t->hidden = h;
        t->outputs = o;
        t->w1t = w1t;
        t->w2t = w2t;
    }
    free(w1);
    free(w2);
    free(v);
    free(u);
    return st;
}

/* Release the weights and zero t; safe on a zeroed struct. */
void nn_teacher_free(nn_teacher *t) {
    free(t->w1t);
    free(t->w2t);
    memset(t, 0, sizeof *t);
}

/* Forward x: (features) through the teacher; binary: logit > 0, else the
 * first index of the largest logit. Loops run over independent outputs
 * (vectorizable), each sum still in input order. */
size_t nn_teacher_label(const nn_teacher *t, const float *x) {
    const size_t f = t->features, h = t->hidden, o = t->outputs;
    double act[HMAX]; /* (h) hidden pre-activations, then activations */
    double z[HMAX];   /* (o) logits */
    for (size_t j = 0; j < h; j++) act[j] = 0.0;
    for (size_t d = 0; d < f; d++) {
        const double xd = (double)x[d];
        const double *w = t->w1t + d * h; /* (h) */
        for (size_t j = 0; j < h; j++) act[j] += w[j] * xd;
    }
    for (size_t j = 0; j < h; j++) act[j] = tanh_exp(act[j]);
    for (size_t c = 0; c < o; c++) z[c] = 0.0;
    for (size_t j = 0; j < h; j++) {
        const double *w = t->w2t + j * o; /* (o) */
        for (size_t c = 0; c < o; c++) z[c] += w[c] * act[j];
    }
    if (o == 1) return z[0] > 0.0 ? 1 : 0;
    size_t best = 0;
    for (size_t c = 1; c < o; c++)
        if (z[c] > z[best]) best = c;
    return best;
}
