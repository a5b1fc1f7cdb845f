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

/* Hidden units are processed in blocks of TB (the weights stored per block)
 * so the block's sums stay in registers. */
#define TB 8

/* tanh through one libm exp (about twice as fast as libm tanh here); exact
 * limits +-1 for large |a|. */
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
static void build_cyclic(const double *v, const double *u, size_t f, size_t k, size_t m, double *w1,
                         double *w2) {
    const size_t h = k * m;
    for (size_t c = 0; c < k; c++) {
        /* row (c, i) = R^(-c) v_i, so that row . x = v_i . R^c x */
        const double a = -NN_TWO_PI * (double)c / (double)k;
        for (size_t i = 0; i < m; i++) rotate_pairs(v + i * f, f, a, w1 + (c * m + i) * f);
    }
    for (size_t c = 0; c < k; c++)
        for (size_t cp = 0; cp < k; cp++)
            for (size_t i = 0; i < m; i++) w2[c * h + cp * m + i] = u[i * k + (cp + k - c) % k];
}

/* Blocked first layer: w1b: (hp / TB, f, TB) from w1: (h, f), zero rows for
 * the padding units h..hp (they add exact zeros to every logit). */
static void block_w1(const double *w1, size_t h, size_t f, size_t hp, double *w1b) {
    for (size_t j = 0; j < hp; j++)
        for (size_t d = 0; d < f; d++)
            w1b[(j / TB) * f * TB + d * TB + j % TB] = j < h ? w1[j * f + d] : 0.0;
}

/* w2t: (hp, o) = transpose of w2: (o, h), zero rows for the padding units. */
static void transpose_w2(const double *w2, size_t o, size_t h, size_t hp, double *w2t) {
    for (size_t j = 0; j < hp; j++)
        for (size_t c = 0; c < o; c++) w2t[j * o + c] = j < h ? w2[c * h + j] : 0.0;
}

/* Draw the teacher for spec (checked) from its seed's teacher stream. */
nn_status nn_teacher_make(const nn_data_spec *spec, nn_teacher *t, nn_error *err) {
    memset(t, 0, sizeof *t);
    const size_t f = spec->features, k = spec->classes;
    const size_t o = k == 2 ? 1 : k, m = k == 2 ? HMAX : HMAX / k, h = k == 2 ? HMAX : m * k;
    const size_t hp = (h + TB - 1) / TB * TB; /* padded hidden width, <= HMAX */
    if (f > SIZE_MAX / sizeof(double) / (3 * HMAX))
        return nn_error_set(err, NN_E_NOMEM, "teacher with features=%zu overflows size_t", f);
    double *w1 = malloc(h * f * sizeof(double));   /* (h, f) */
    double *w2 = malloc(o * h * sizeof(double));   /* (o, h) */
    double *w1b = malloc(hp * f * sizeof(double)); /* (hp / TB, f, TB) */
    double *w2t = malloc(hp * o * sizeof(double)); /* (hp, o) */
    double *v = malloc(m * f * sizeof(double));    /* (m, f) base hidden rows */
    double *u = malloc(m * o * sizeof(double));    /* (m, o) base output weights */
    nn_status st = NN_OK;
    if (w1 == NULL || w2 == NULL || w1b == NULL || w2t == NULL || v == NULL || u == NULL) {
        st = nn_error_set(err, NN_E_NOMEM, "cannot allocate a teacher with features=%zu", f);
        free(w1b);
        free(w2t);
    } else {
        nn_rng r = nn_rng_make(spec->seed, NN_STREAM_TEACHER);
        const double std1 = sqrt(2.0 / (double)(f + h)), std2 = sqrt(2.0 / (double)(h + o));
        for (size_t i = 0; i < m * f; i++) v[i] = std1 * nn_zig_normal(&r); /* Xavier-normal */
        for (size_t i = 0; i < m * o; i++) u[i] = std2 * nn_zig_normal(&r);
        if (k == 2) {
            memcpy(w1, v, h * f * sizeof(double));
            memcpy(w2, u, h * sizeof(double));
        } else {
            build_cyclic(v, u, f, k, m, w1, w2);
        }
        block_w1(w1, h, f, hp, w1b);
        transpose_w2(w2, o, h, hp, w2t);
        t->features = f;
        t->hidden = hp;
        t->outputs = o;
        t->w1b = w1b;
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
    free(t->w1b);
    free(t->w2t);
    memset(t, 0, sizeof *t);
}

/* Forward x: (features) through the teacher; binary: logit > 0, else the
 * first index of the largest logit. Each sum runs in input order. */
size_t nn_teacher_label(const nn_teacher *t, const float *x) {
    const size_t f = t->features, hp = t->hidden, o = t->outputs;
    double act[HMAX]; /* (hp) hidden activations */
    double z[HMAX];   /* (o) logits */
    for (size_t jb = 0; jb < hp; jb += TB) {
        const double *w = t->w1b + jb * f; /* (f, TB) */
        double a[TB] = {0};                /* (TB) pre-activations */
        for (size_t d = 0; d < f; d++) {
            const double xd = (double)x[d];
            for (size_t jj = 0; jj < TB; jj++) a[jj] += w[d * TB + jj] * xd;
        }
        for (size_t jj = 0; jj < TB; jj++) act[jb + jj] = tanh_exp(a[jj]);
    }
    for (size_t c = 0; c < o; c++) z[c] = 0.0;
    for (size_t j = 0; j < hp; j++) {
        const double *w = t->w2t + j * o; /* (o) */
        for (size_t c = 0; c < o; c++) z[c] += w[c] * act[j];
    }
    if (o == 1) return z[0] > 0.0 ? 1 : 0;
    size_t best = 0;
    for (size_t c = 1; c < o; c++)
        if (z[c] > z[best]) best = c;
    return best;
}
