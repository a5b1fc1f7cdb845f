/* generators.c — in-memory forms of circles, moons, xor, spirals and blobs.
 * Each fills the rows in a fixed order, then shuffles them and adds noise
 * (rows.c); label noise is applied by the caller (generate.c). */
#include "data/data_internal.h"

/* Element p of numpy.linspace(start, stop, m, endpoint): start + p*step,
 * with the endpoint set exactly. */
static double linspace_at(double start, double stop, size_t m, size_t p, int endpoint) {
    if (endpoint) {
        if (m <= 1) return start;
        if (p == m - 1) return stop;
        return start + (double)p * ((stop - start) / (double)(m - 1));
    }
    return start + (double)p * ((stop - start) / (double)m);
}

/* scikit-learn make_circles: n/2 (floor) outer points at angles
 * linspace(0, 2pi, n_out, endpoint=False), radius 1, label 0, then the rest
 * on the inner circle of radius factor, label 1; shuffle; noise. */
void nn_gen_circles(const nn_data_spec *spec, nn_dataset *ds) {
    const size_t n = ds->n, n_out = n / 2, n_in = n - n_out;
    for (size_t i = 0; i < n; i++) {
        const int inner = i >= n_out;
        const size_t m = inner ? n_in : n_out, p = inner ? i - n_out : i;
        const double a = linspace_at(0.0, NN_TWO_PI, m, p, 0);
        const double rad = inner ? spec->factor : 1.0;
        ds->x[2 * i] = (float)(rad * cos(a));
        ds->x[2 * i + 1] = (float)(rad * sin(a));
        ds->y[i] = (float)inner;
    }
    nn_rows_shuffle(spec->seed, ds);
    nn_rows_add_noise(spec->seed, spec->noise, ds);
}

/* scikit-learn make_moons: n/2 (floor) points (cos t, sin t), t in
 * linspace(0, pi, n_out), label 0; the rest (1 - cos t, 1 - sin t - 0.5),
 * label 1; shuffle; noise. */
void nn_gen_moons(const nn_data_spec *spec, nn_dataset *ds) {
    const size_t n = ds->n, n_out = n / 2, n_in = n - n_out;
    for (size_t i = 0; i < n; i++) {
        const int inner = i >= n_out;
        const size_t m = inner ? n_in : n_out, p = inner ? i - n_out : i;
        const double t = linspace_at(0.0, NN_PI, m, p, 1);
        ds->x[2 * i] = (float)(inner ? 1.0 - cos(t) : cos(t));
        ds->x[2 * i + 1] = (float)(inner ? 1.0 - sin(t) - 0.5 : sin(t));
        ds->y[i] = (float)inner;
    }
    nn_rows_shuffle(spec->seed, ds);
    nn_rows_add_noise(spec->seed, spec->noise, ds);
}

/* XOR: row i lies in quadrant i % 4 (so 4 equal groups), uniform in the open
 * unit square of that quadrant; label 1 when x0*x1 < 0 (the quadrant's signs
 * differ), computed before the noise; shuffle; noise. */
void nn_gen_xor(const nn_data_spec *spec, nn_dataset *ds) {
    nn_rng r = nn_rng_make(spec->seed, NN_STREAM_POINTS);
    for (size_t i = 0; i < ds->n; i++) {
        const unsigned q = (unsigned)(i % 4);
        const double s0 = (q & 1u) ? -1.0 : 1.0, s1 = (q & 2u) ? -1.0 : 1.0;
        ds->x[2 * i] = (float)(s0 * (1.0 - nn_rng_uniform(&r))); /* |x| in (0, 1] */
        ds->x[2 * i + 1] = (float)(s1 * (1.0 - nn_rng_uniform(&r)));
        ds->y[i] = (float)(s0 * s1 < 0.0);
    }
    nn_rows_shuffle(spec->seed, ds);
    nn_rows_add_noise(spec->seed, spec->noise, ds);
}

/* CS231n spirals: class j gets n/k rows (the first n%k classes one more);
 * radius r = linspace(0, 1, n_j), angle t = 4j + 4r + noise*N(0,1) (noise is
 * angular here), point (r sin t, r cos t); then shuffle. */
void nn_gen_spirals(const nn_data_spec *spec, nn_dataset *ds) {
    nn_rng r = nn_rng_make(spec->seed, NN_STREAM_NOISE);
    const size_t k = spec->classes, base = ds->n / k, extra = ds->n % k;
    size_t i = 0;
    for (size_t j = 0; j < k; j++) {
        const size_t m = base + (j < extra);
        for (size_t p = 0; p < m; p++, i++) {
            const double rad = linspace_at(0.0, 1.0, m, p, 1);
            double t = 4.0 * (double)j + 4.0 * rad;
            if (spec->noise > 0.0) t += spec->noise * nn_rng_normal(&r);
            ds->x[2 * i] = (float)(rad * sin(t));
            ds->x[2 * i + 1] = (float)(rad * cos(t));
            ds->y[i] = (float)j;
        }
    }
    nn_rows_shuffle(spec->seed, ds);
}

/* Uniform coordinate of a blob center from one keyed draw. */
double nn_blob_center(uint64_t key, size_t features, size_t c, size_t f) {
    const double u = (double)(nn_rng_at(key, (uint64_t)c * features + f) >> 11) * 0x1.0p-53;
    return -NN_BLOBS_BOX + 2.0 * NN_BLOBS_BOX * u;
}

/* Blobs: row i belongs to class i % k (equal sizes up to one), placed at its
 * center; shuffle; N(0, noise^2) per coordinate (noise = cluster std). */
void nn_gen_blobs(const nn_data_spec *spec, nn_dataset *ds) {
    const uint64_t key = nn_rng_make(spec->seed, NN_STREAM_CENTERS).key;
    const size_t f = ds->features;
    for (size_t i = 0; i < ds->n; i++) {
        const size_t c = i % spec->classes;
        for (size_t d = 0; d < f; d++) ds->x[i * f + d] = (float)nn_blob_center(key, f, c, d);
        ds->y[i] = (float)c;
    }
    nn_rows_shuffle(spec->seed, ds);
    nn_rows_add_noise(spec->seed, spec->noise, ds);
}
