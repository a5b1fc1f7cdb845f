/* test_data.c — dataset generators (in-memory and streamed), spec
 * validation, split, standardization and dataset copies. */
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"
#include "nn.h"

/* ---------------------------------------------------------- helpers */

/* Generate spec into ds, failing the test on error. */
static void gen(const nn_data_spec *spec, nn_dataset *ds) {
    nn_error err = {0};
    nn_status st = nn_data_generate(spec, ds, &err);
    cr_assert_eq(st, NN_OK, "%s", err.msg);
    cr_assert_eq(ds->n, spec->samples);
}

/* count: (classes) = rows per label; asserts every label is a valid class. */
static void count_classes(const nn_dataset *ds, size_t *count) {
    for (size_t c = 0; c < ds->classes; c++) count[c] = 0;
    for (size_t i = 0; i < ds->n; i++) {
        const float y = ds->y[i];
        cr_assert(y >= 0 && y < (float)ds->classes && y == floorf(y), "row %zu label %f", i, y);
        count[(size_t)y]++;
    }
}

/* Streamed rows [first, first+count) of spec into freshly allocated x/y. */
static void range(const nn_data_spec *spec, uint64_t first, size_t count, float **x, float **y) {
    *x = malloc(count * spec->features * sizeof(float) + 1);
    *y = malloc(count * sizeof(float) + 1);
    nn_error err = {0};
    cr_assert_eq(nn_data_generate_range(spec, first, count, *x, *y, &err), NN_OK, "%s", err.msg);
}

/* Expect nn_data_generate to fail with st and a message containing `word`. */
static void expect_bad(const nn_data_spec *spec, nn_status st, const char *word) {
    nn_dataset ds;
    memset(&ds, 0x5a, sizeof ds);
    nn_error err = {0};
    cr_assert_eq(nn_data_generate(spec, &ds, &err), st, "kind %s: %s",
                 nn_data_kind_name(spec->kind), err.msg);
    cr_assert_eq(err.status, st);
    cr_assert(strstr(err.msg, word) != NULL, "message '%s' lacks '%s'", err.msg, word);
    cr_assert(ds.x == NULL && ds.y == NULL && ds.n == 0, "out not zeroed on failure");
}

static const nn_data_kind all_kinds[] = {NN_DATA_CIRCLES, NN_DATA_MOONS, NN_DATA_XOR,
                                         NN_DATA_SPIRALS, NN_DATA_BLOBS, NN_DATA_TEACHER};
#define N_KINDS (sizeof all_kinds / sizeof all_kinds[0])

/* ---------------------------------------------------------- names, defaults */

Test(data_names, parse_and_name_round_trip) {
    for (size_t k = 0; k < N_KINDS; k++) {
        nn_data_kind out = (nn_data_kind)-1;
        cr_assert_eq(nn_data_kind_parse(nn_data_kind_name(all_kinds[k]), &out, NULL), NN_OK);
        cr_assert_eq(out, all_kinds[k]);
    }
    cr_assert_str_eq(nn_data_kind_name(NN_DATA_CIRCLES), "circles");
    cr_assert_str_eq(nn_data_kind_name(NN_DATA_TEACHER), "teacher");
    cr_assert_str_eq(nn_data_kind_name((nn_data_kind)99), "unknown");
}

Test(data_names, unknown_lists_valid_names) {
    nn_error err = {0};
    nn_data_kind out;
    cr_assert_eq(nn_data_kind_parse("squares", &out, &err), NN_E_INVALID);
    cr_assert(strstr(err.msg, "squares") != NULL);
    const char *names[] = {"circles", "moons", "xor", "spirals", "blobs", "teacher"};
    for (int i = 0; i < 6; i++) cr_assert(strstr(err.msg, names[i]) != NULL, "%s", err.msg);
    cr_assert_eq(nn_data_kind_parse(NULL, &out, &err), NN_E_INVALID);
    cr_assert_eq(nn_data_kind_parse("Circles", &out, NULL), NN_E_INVALID);
}

Test(data_names, defaults) {
    nn_data_spec s = nn_data_spec_default(NN_DATA_CIRCLES);
    cr_assert_eq(s.kind, NN_DATA_CIRCLES);
    cr_assert_eq(s.samples, 1000);
    cr_assert_float_eq(s.noise, 0.1, 1e-12);
    cr_assert_float_eq(s.factor, 0.8, 1e-12);
    cr_assert_eq(s.classes, 2);
    cr_assert_eq(s.features, 2);
    cr_assert_eq(s.label_noise, 0.0);
    cr_assert_eq(s.seed, 42);
    cr_assert_eq(nn_data_spec_default(NN_DATA_SPIRALS).classes, 3);
    cr_assert_eq(nn_data_spec_default(NN_DATA_BLOBS).classes, 3);
    cr_assert_eq(nn_data_spec_default(NN_DATA_TEACHER).features, 16);
    cr_assert_eq(nn_data_spec_default(NN_DATA_TEACHER).classes, 2);
    for (size_t k = 0; k < N_KINDS; k++) {
        nn_data_spec d = nn_data_spec_default(all_kinds[k]);
        nn_dataset ds;
        gen(&d, &ds); /* every default is valid */
        nn_dataset_free(&ds);
    }
}

/* ---------------------------------------------------------- circles */

Test(circles, balance_shape_and_radii) {
    nn_data_spec s = nn_data_spec_default(NN_DATA_CIRCLES);
    s.noise = 0.0;
    nn_dataset ds;
    gen(&s, &ds);
    cr_assert_eq(ds.features, 2);
    cr_assert_eq(ds.classes, 2);
    size_t count[2];
    count_classes(&ds, count);
    cr_assert_eq(count[0], 500);
    cr_assert_eq(count[1], 500);
    double rsum[2] = {0};
    for (size_t i = 0; i < ds.n; i++) {
        const double r = hypot(ds.x[2 * i], ds.x[2 * i + 1]);
        const int c = (int)ds.y[i];
        cr_assert_float_eq(r, c ? 0.8 : 1.0, 1e-6);
        rsum[c] += r;
    }
    cr_assert_float_eq((rsum[1] / 500) / (rsum[0] / 500), 0.8, 1e-6);
    nn_dataset_free(&ds);
}

/* The outer circle's angles are linspace(0, 2pi, n_out, endpoint=False). */
Test(circles, evenly_spaced_angles_like_sklearn) {
    nn_data_spec s = nn_data_spec_default(NN_DATA_CIRCLES);
    s.noise = 0.0;
    s.samples = 7; /* n_out = 3 (label 0), n_in = 4 (label 1) */
    nn_dataset ds;
    gen(&s, &ds);
    int seen_out[3] = {0}, seen_in[4] = {0};
    for (size_t i = 0; i < ds.n; i++) {
        double a = atan2(ds.x[2 * i + 1], ds.x[2 * i]);
        if (a < -1e-6) a += 2 * M_PI;
        const int m = ds.y[i] == 0 ? 3 : 4;
        const double step = 2 * M_PI / m, k = a / step;
        cr_assert_float_eq(k, round(k), 1e-5, "angle %f is not a multiple of %f", a, step);
        if (m == 3)
            seen_out[(int)round(k) % 3]++;
        else
            seen_in[(int)round(k) % 4]++;
    }
    for (int k = 0; k < 3; k++) cr_assert_eq(seen_out[k], 1);
    for (int k = 0; k < 4; k++) cr_assert_eq(seen_in[k], 1);
    nn_dataset_free(&ds);
}

Test(circles, noise_ratio_and_reproducibility) {
    nn_data_spec s = nn_data_spec_default(NN_DATA_CIRCLES);
    s.samples = 4000;
    nn_dataset a, b, c;
    gen(&s, &a);
    gen(&s, &b);
    s.seed = 43;
    gen(&s, &c);
    cr_assert_arr_eq(a.x, b.x, a.n * 2 * sizeof(float));
    cr_assert_arr_eq(a.y, b.y, a.n * sizeof(float));
    cr_assert(memcmp(a.x, c.x, a.n * 2 * sizeof(float)) != 0);
    double rsum[2] = {0};
    size_t count[2];
    count_classes(&a, count);
    for (size_t i = 0; i < a.n; i++) rsum[(int)a.y[i]] += hypot(a.x[2 * i], a.x[2 * i + 1]);
    cr_assert_float_eq((rsum[1] / count[1]) / (rsum[0] / count[0]), 0.8, 0.02);
    /* the noise is really there: radii vary */
    double var = 0;
    for (size_t i = 0; i < a.n; i++) {
        const double r = hypot(a.x[2 * i], a.x[2 * i + 1]) - (a.y[i] ? 0.8 : 1.0);
        var += r * r;
    }
    cr_assert(sqrt(var / a.n) > 0.05 && sqrt(var / a.n) < 0.15, "radial std %f", sqrt(var / a.n));
    nn_dataset_free(&a);
    nn_dataset_free(&b);
    nn_dataset_free(&c);
}

Test(circles, rows_are_shuffled) {
    nn_data_spec s = nn_data_spec_default(NN_DATA_CIRCLES);
    nn_dataset ds;
    gen(&s, &ds);
    size_t ones_first_half = 0;
    for (size_t i = 0; i < 500; i++) ones_first_half += ds.y[i] == 1.0f;
    cr_assert(ones_first_half > 200 && ones_first_half < 300);
    nn_dataset_free(&ds);
}

/* ---------------------------------------------------------- moons, xor, spirals */

Test(moons, balance_and_geometry) {
    nn_data_spec s = nn_data_spec_default(NN_DATA_MOONS);
    s.noise = 0.0;
    s.samples = 1001;
    nn_dataset ds;
    gen(&s, &ds);
    size_t count[2];
    count_classes(&ds, count);
    cr_assert_eq(count[0], 500);
    cr_assert_eq(count[1], 501);
    for (size_t i = 0; i < ds.n; i++) {
        const double x = ds.x[2 * i], y = ds.x[2 * i + 1];
        if (ds.y[i] == 0) { /* upper half of the unit circle */
            cr_assert_float_eq(hypot(x, y), 1.0, 1e-6);
            cr_assert(y >= -1e-6);
        } else { /* lower half of the unit circle around (1, 0.5) */
            cr_assert_float_eq(hypot(x - 1.0, y - 0.5), 1.0, 1e-6);
            cr_assert(y <= 0.5 + 1e-6);
        }
    }
    nn_dataset_free(&ds);
}

Test(xor, balance_and_labels) {
    nn_data_spec s = nn_data_spec_default(NN_DATA_XOR);
    s.noise = 0.0;
    nn_dataset ds;
    gen(&s, &ds);
    size_t count[2];
    count_classes(&ds, count);
    cr_assert_eq(count[0], 500);
    cr_assert_eq(count[1], 500);
    for (size_t i = 0; i < ds.n; i++) {
        const float x0 = ds.x[2 * i], x1 = ds.x[2 * i + 1];
        cr_assert(fabsf(x0) <= 1 && fabsf(x1) <= 1 && x0 != 0 && x1 != 0);
        cr_assert_eq(ds.y[i], (float)(x0 * x1 < 0));
    }
    nn_dataset_free(&ds);
    /* with noise, labels still follow the clean quadrant: most rows agree */
    s.noise = 0.1;
    gen(&s, &ds);
    size_t agree = 0;
    for (size_t i = 0; i < ds.n; i++)
        agree += ds.y[i] == (float)(ds.x[2 * i] * ds.x[2 * i + 1] < 0);
    cr_assert(agree > 850 && agree < 1000, "agree %zu", agree);
    nn_dataset_free(&ds);
}

Test(spirals, balance_and_geometry) {
    nn_data_spec s = nn_data_spec_default(NN_DATA_SPIRALS);
    s.noise = 0.0;
    nn_dataset ds;
    gen(&s, &ds);
    cr_assert_eq(ds.classes, 3);
    size_t count[3];
    count_classes(&ds, count);
    cr_assert_eq(count[0], 334);
    cr_assert_eq(count[1], 333);
    cr_assert_eq(count[2], 333);
    for (size_t i = 0; i < ds.n; i++) {
        const double x = ds.x[2 * i], y = ds.x[2 * i + 1], r = hypot(x, y);
        cr_assert(r <= 1.0 + 1e-6);
        const double t = 4.0 * ds.y[i] + 4.0 * r; /* CS231n: (r sin t, r cos t) */
        cr_assert_float_eq(x, r * sin(t), 1e-5);
        cr_assert_float_eq(y, r * cos(t), 1e-5);
    }
    nn_dataset_free(&ds);
    s.classes = 5;
    s.noise = 0.2;
    gen(&s, &ds);
    size_t c5[5];
    count_classes(&ds, c5);
    for (int k = 0; k < 5; k++) cr_assert_eq(c5[k], 200);
    nn_dataset_free(&ds);
}

/* ---------------------------------------------------------- blobs */

Test(blobs, balance_centers_and_spread) {
    nn_data_spec s = nn_data_spec_default(NN_DATA_BLOBS);
    s.features = 5;
    s.samples = 3000;
    nn_dataset ds;
    gen(&s, &ds);
    cr_assert_eq(ds.features, 5);
    size_t count[3];
    count_classes(&ds, count);
    for (int c = 0; c < 3; c++) cr_assert_eq(count[c], 1000);
    /* noise 0 puts every row exactly on its center: recover the centers */
    nn_data_spec s0 = s;
    s0.noise = 0.0;
    nn_dataset d0;
    gen(&s0, &d0);
    float center[3][5];
    int have[3] = {0};
    for (size_t i = 0; i < d0.n; i++) {
        const int c = (int)d0.y[i];
        if (!have[c]) memcpy(center[c], d0.x + i * 5, sizeof center[c]), have[c] = 1;
        cr_assert_arr_eq(center[c], d0.x + i * 5, sizeof center[c]);
    }
    for (int c = 0; c < 3; c++)
        for (int d = 0; d < 5; d++) cr_assert(fabsf(center[c][d]) <= 10.0f);
    cr_assert(memcmp(center[0], center[1], sizeof center[0]) != 0);
    /* with noise 1: per-class mean near the center, per-coordinate std near 1 */
    for (int c = 0; c < 3; c++)
        for (int d = 0; d < 5; d++) {
            double sum = 0, sq = 0;
            for (size_t i = 0; i < ds.n; i++) {
                if ((int)ds.y[i] != c) continue;
                const double v = ds.x[i * 5 + d] - center[c][d];
                sum += v;
                sq += v * v;
            }
            cr_assert(fabs(sum / 1000) < 0.15, "class %d dim %d mean off %f", c, d, sum / 1000);
            cr_assert(fabs(sqrt(sq / 1000) - 1.0) < 0.1, "std %f", sqrt(sq / 1000));
        }
    nn_dataset_free(&ds);
    nn_dataset_free(&d0);
}

/* ---------------------------------------------------------- teacher */

Test(teacher, binary_balance_shape_inputs) {
    nn_data_spec s = nn_data_spec_default(NN_DATA_TEACHER);
    s.samples = 20000;
    nn_dataset ds;
    gen(&s, &ds);
    cr_assert_eq(ds.features, 16);
    cr_assert_eq(ds.classes, 2);
    size_t count[2];
    count_classes(&ds, count);
    cr_assert(fabs(count[1] / 20000.0 - 0.5) < 0.02, "share of 1: %f", count[1] / 20000.0);
    double sum = 0, sq = 0;
    for (size_t i = 0; i < ds.n * 16; i++) {
        sum += ds.x[i];
        sq += (double)ds.x[i] * ds.x[i];
    }
    const size_t m = ds.n * 16;
    cr_assert(fabs(sum / m) < 0.01);
    cr_assert(fabs(sqrt(sq / m) - 1.0) < 0.01);
    nn_dataset_free(&ds);
}

/* The classes are balanced by symmetry for every seed, feature count and k. */
Test(teacher, multiclass_balance) {
    const size_t ks[] = {3, 4, 7, 32}, fs[] = {2, 3, 16};
    for (size_t a = 0; a < 4; a++)
        for (size_t b = 0; b < 3; b++)
            for (uint64_t seed = 1; seed <= 3; seed++) {
                nn_data_spec s = nn_data_spec_default(NN_DATA_TEACHER);
                s.classes = ks[a];
                s.features = fs[b];
                s.seed = seed;
                s.samples = 400 * ks[a];
                nn_dataset ds;
                gen(&s, &ds);
                size_t count[32];
                count_classes(&ds, count);
                for (size_t c = 0; c < ks[a]; c++)
                    cr_assert(count[c] > 300 && count[c] < 500,
                              "k=%zu f=%zu seed=%llu class %zu has %zu of 400 expected", ks[a],
                              fs[b], (unsigned long long)seed, c, count[c]);
                nn_dataset_free(&ds);
            }
}

/* The label is not a linear function of x: the best single-feature sign
 * rule is far from perfect, yet labels are a deterministic function of x. */
Test(teacher, reproducible_and_not_trivial) {
    nn_data_spec s = nn_data_spec_default(NN_DATA_TEACHER);
    s.samples = 5000;
    nn_dataset a, b;
    gen(&s, &a);
    gen(&s, &b);
    cr_assert_arr_eq(a.x, b.x, a.n * 16 * sizeof(float));
    cr_assert_arr_eq(a.y, b.y, a.n * sizeof(float));
    for (size_t d = 0; d < 16; d++) {
        size_t agree = 0;
        for (size_t i = 0; i < a.n; i++) agree += (a.x[i * 16 + d] > 0) == (a.y[i] == 1.0f);
        const double acc = fmax(agree, a.n - agree) / (double)a.n;
        cr_assert(acc < 0.9, "feature %zu alone predicts %f of the labels", d, acc);
    }
    nn_dataset_free(&a);
    nn_dataset_free(&b);
}

Test(teacher, generate_equals_generate_range) {
    nn_data_spec s = nn_data_spec_default(NN_DATA_TEACHER);
    s.samples = 10000;
    s.classes = 5;
    s.label_noise = 0.1;
    s.noise = 0.2;
    nn_dataset ds;
    gen(&s, &ds);
    float *x, *y;
    range(&s, 0, s.samples, &x, &y);
    cr_assert_arr_eq(ds.x, x, s.samples * 16 * sizeof(float));
    cr_assert_arr_eq(ds.y, y, s.samples * sizeof(float));
    free(x);
    free(y);
    nn_dataset_free(&ds);
}

/* Every instruction-set path of the teacher's kernel gives the bits of the
 * baseline C path: odd feature counts, partial tiles, input and label
 * noise, multi-class, and row indices that wrap past 2^64. */
Test(teacher, kernel_paths_agree) {
    const size_t fs[] = {1, 3, 16, 17, 40}, ks[] = {2, 3, 10, 32};
    const size_t n = 1037; /* not a multiple of any path's rows per call */
    const uint64_t first = UINT64_MAX - 300;
    for (size_t a = 0; a < 5; a++)
        for (size_t b = 0; b < 4; b++) {
            if (fs[a] == 1 && ks[b] > 2) continue;
            nn_data_spec s = nn_data_spec_default(NN_DATA_TEACHER);
            s.features = fs[a];
            s.classes = ks[b];
            s.noise = a % 2 ? 0.3 : 0.0;
            s.label_noise = b % 2 ? 0.2 : 0.0;
            nn_teacher t;
            nn_error err = {0};
            cr_assert_eq(nn_teacher_make(&s, &t, &err), NN_OK, "%s", err.msg);
            float *x0 = malloc(n * s.features * sizeof(float)), *y0 = malloc(n * sizeof(float));
            float *x1 = malloc(n * s.features * sizeof(float)), *y1 = malloc(n * sizeof(float));
            t.path = NN_TEACHER_PATH_C;
            cr_assert_eq(nn_teacher_rows(&t, &s, 99, first, n, x0, y0, &err), NN_OK);
            const nn_teacher_path paths[] = {NN_TEACHER_PATH_AVX2, NN_TEACHER_PATH_AVX512};
            for (size_t p = 0; p < 2; p++) {
                if (!nn_teacher_path_supported(paths[p])) continue;
                t.path = paths[p];
                cr_assert_eq(nn_teacher_rows(&t, &s, 99, first, n, x1, y1, &err), NN_OK);
                cr_assert_arr_eq(x0, x1, n * s.features * sizeof(float), "f=%zu k=%zu path %d",
                                 fs[a], ks[b], (int)paths[p]);
                cr_assert_arr_eq(y0, y1, n * sizeof(float), "f=%zu k=%zu path %d", fs[a], ks[b],
                                 (int)paths[p]);
            }
            free(x0);
            free(y0);
            free(x1);
            free(y1);
            nn_teacher_free(&t);
        }
}

/* The inputs are standard normal (the ziggurat draws and their rare
 * fix-ups together): moments, tail shares, symmetry. */
Test(teacher, inputs_standard_normal) {
    nn_data_spec s = nn_data_spec_default(NN_DATA_TEACHER);
    const size_t n = 1 << 16, m = n * 16;
    float *x, *y;
    range(&s, 12345, n, &x, &y);
    double m1 = 0, m2 = 0, m4 = 0, above2 = 0, above3 = 0, pos = 0, top = 0;
    for (size_t i = 0; i < m; i++) {
        const double v = x[i];
        m1 += v;
        m2 += v * v;
        m4 += v * v * v * v;
        above2 += fabs(v) > 2.0;
        above3 += fabs(v) > 3.0;
        pos += v > 0.0;
        top = fmax(top, fabs(v));
    }
    m1 /= m, m2 /= m, m4 /= m, above2 /= m, above3 /= m, pos /= m;
    cr_assert(fabs(m1) < 0.005, "mean %f", m1);
    cr_assert(fabs(m2 - 1.0) < 0.007, "variance %f", m2);
    cr_assert(fabs(m4 - 3.0) < 0.05, "fourth moment %f", m4);
    cr_assert(fabs(above2 - 0.0455) < 0.0011, "P(|x| > 2) = %f", above2);
    cr_assert(fabs(above3 - 0.0027) < 0.0003, "P(|x| > 3) = %f", above3);
    cr_assert(fabs(pos - 0.5) < 0.0025, "P(x > 0) = %f", pos);
    cr_assert(top > 3.66, "no draw from the tail (max |x| = %f)", top);
    free(x);
    free(y);
}

/* ---------------------------------------------------------- label noise */

/* Changing label_noise changes only labels, about p * (1 - 1/k) of them. */
static void check_label_noise(nn_data_kind kind, size_t classes, double p) {
    nn_data_spec s = nn_data_spec_default(kind);
    s.samples = 20000;
    s.classes = classes;
    nn_dataset clean, noisy;
    gen(&s, &clean);
    s.label_noise = p;
    gen(&s, &noisy);
    cr_assert_arr_eq(clean.x, noisy.x, clean.n * clean.features * sizeof(float));
    size_t changed = 0;
    for (size_t i = 0; i < clean.n; i++) changed += clean.y[i] != noisy.y[i];
    const double want = p * (1.0 - 1.0 / (double)classes), got = (double)changed / clean.n;
    cr_assert(fabs(got - want) < 0.015, "%s k=%zu p=%g: changed %f, expected %f",
              nn_data_kind_name(kind), classes, p, got, want);
    size_t count[64];
    count_classes(&noisy, count);
    nn_dataset_free(&clean);
    nn_dataset_free(&noisy);
}

Test(label_noise, changes_the_right_fraction) {
    check_label_noise(NN_DATA_TEACHER, 2, 0.3);
    check_label_noise(NN_DATA_TEACHER, 4, 0.2);
    check_label_noise(NN_DATA_TEACHER, 2, 1.0);
    check_label_noise(NN_DATA_CIRCLES, 2, 0.2);
    check_label_noise(NN_DATA_BLOBS, 3, 0.5);
}

/* ---------------------------------------------------------- streamed form */

/* Rows [a, b) of a big range equal a separate call for [a, b), for single
 * rows in any order, and for any OpenMP thread count. */
Test(stream, order_and_thread_independent) {
    for (size_t k = 0; k < N_KINDS; k++) {
        nn_data_spec s = nn_data_spec_default(all_kinds[k]);
        s.label_noise = 0.1;
        const size_t n = 20000, f = s.features; /* above the parallel threshold */
        float *x, *y, *x2, *y2;
        omp_set_num_threads(2);
        range(&s, 1000, n, &x, &y);
        omp_set_num_threads(1);
        range(&s, 1000, n, &x2, &y2);
        cr_assert_arr_eq(x, x2, n * f * sizeof(float), "%s: thread count",
                         nn_data_kind_name(s.kind));
        cr_assert_arr_eq(y, y2, n * sizeof(float));
        free(x2);
        free(y2);
        /* pieces, produced backwards */
        range(&s, 1000 + 12345, n - 12345, &x2, &y2);
        cr_assert_arr_eq(x + 12345 * f, x2, (n - 12345) * f * sizeof(float));
        cr_assert_arr_eq(y + 12345, y2, (n - 12345) * sizeof(float));
        free(x2);
        free(y2);
        range(&s, 1000 + 17, 100, &x2, &y2);
        cr_assert_arr_eq(x + 17 * f, x2, 100 * f * sizeof(float));
        free(x2);
        free(y2);
        for (size_t i = n; i-- > n - 50;) {
            float xr[16], yr;
            cr_assert_eq(nn_data_generate_range(&s, 1000 + i, 1, xr, &yr, NULL), NN_OK);
            cr_assert_arr_eq(x + i * f, xr, f * sizeof(float));
            cr_assert_eq(y[i], yr);
        }
        free(x);
        free(y);
    }
    omp_set_num_threads(omp_get_num_procs());
}

/* Two threads calling the generator at once get the same rows as one. */
Test(stream, concurrent_callers) {
    nn_data_spec s = nn_data_spec_default(NN_DATA_TEACHER);
    const size_t n = 3000, f = s.features;
    float *ref, *yref;
    range(&s, 0, 4 * n, &ref, &yref);
    float *x = malloc(4 * n * f * sizeof(float)), *y = malloc(4 * n * sizeof(float));
    int bad = 0;
#pragma omp parallel for num_threads(4) reduction(+ : bad)
    for (int part = 0; part < 4; part++)
        bad += nn_data_generate_range(&s, (uint64_t)part * n, n, x + part * n * f, y + part * n,
                                      NULL) != NN_OK;
    cr_assert_eq(bad, 0);
    cr_assert_arr_eq(ref, x, 4 * n * f * sizeof(float));
    cr_assert_arr_eq(yref, y, 4 * n * sizeof(float));
    free(ref);
    free(yref);
    free(x);
    free(y);
}

Test(stream, seed_matters_and_far_rows_work) {
    nn_data_spec s = nn_data_spec_default(NN_DATA_MOONS);
    float *a, *ya, *b, *yb;
    range(&s, 0, 100, &a, &ya);
    s.seed = 1;
    range(&s, 0, 100, &b, &yb);
    cr_assert(memcmp(a, b, 200 * sizeof(float)) != 0);
    free(a);
    free(ya);
    free(b);
    free(yb);
    range(&s, UINT64_MAX - 10, 10, &a, &ya);
    for (int i = 0; i < 20; i++) cr_assert(isfinite(a[i]));
    free(a);
    free(ya);
}

/* Streamed 2-D kinds keep the shapes: circle radii, class shares. */
Test(stream, shapes_match_in_memory_kinds) {
    nn_data_spec s = nn_data_spec_default(NN_DATA_CIRCLES);
    s.noise = 0.0;
    const size_t n = 20000;
    float *x, *y;
    range(&s, 0, n, &x, &y);
    size_t ones = 0;
    for (size_t i = 0; i < n; i++) {
        cr_assert_float_eq(hypot(x[2 * i], x[2 * i + 1]), y[i] ? 0.8 : 1.0, 1e-6);
        ones += y[i] == 1.0f;
    }
    cr_assert(fabs(ones / (double)n - 0.5) < 0.02);
    free(x);
    free(y);
    s = nn_data_spec_default(NN_DATA_SPIRALS);
    range(&s, 0, n, &x, &y);
    size_t count[3] = {0};
    for (size_t i = 0; i < n; i++) {
        cr_assert(y[i] >= 0 && y[i] < 3);
        count[(int)y[i]]++;
        cr_assert(hypot(x[2 * i], x[2 * i + 1]) <= 1.0 + 1e-6);
    }
    for (int c = 0; c < 3; c++) cr_assert(fabs(count[c] / (double)n - 1.0 / 3) < 0.02);
    free(x);
    free(y);
    s = nn_data_spec_default(NN_DATA_XOR);
    s.noise = 0;
    range(&s, 0, n, &x, &y);
    for (size_t i = 0; i < n; i++) cr_assert_eq(y[i], (float)(x[2 * i] * x[2 * i + 1] < 0));
    free(x);
    free(y);
}

/* Blobs use the same centers in both forms. */
Test(stream, blobs_share_centers) {
    nn_data_spec s = nn_data_spec_default(NN_DATA_BLOBS);
    s.noise = 0.0;
    s.features = 3;
    nn_dataset ds;
    gen(&s, &ds);
    float *x, *y;
    range(&s, 0, 300, &x, &y);
    for (size_t i = 0; i < 300; i++) {
        int found = 0;
        for (size_t j = 0; j < ds.n && !found; j++)
            found = ds.y[j] == y[i] && memcmp(ds.x + j * 3, x + i * 3, 3 * sizeof(float)) == 0;
        cr_assert(found, "streamed row %zu is not on an in-memory center", i);
    }
    free(x);
    free(y);
    nn_dataset_free(&ds);
}

Test(stream, bad_arguments) {
    nn_data_spec s = nn_data_spec_default(NN_DATA_CIRCLES);
    nn_error err = {0};
    float x[2], y;
    cr_assert_eq(nn_data_generate_range(&s, 0, 1, NULL, &y, &err), NN_E_INVALID);
    cr_assert_eq(nn_data_generate_range(&s, 0, 1, x, NULL, &err), NN_E_INVALID);
    cr_assert_eq(nn_data_generate_range(&s, UINT64_MAX, 2, x, &y, &err), NN_E_INVALID);
    cr_assert(strstr(err.msg, "overflow") != NULL, "%s", err.msg);
    cr_assert_eq(nn_data_generate_range(&s, 5, 0, NULL, NULL, &err), NN_OK);
    cr_assert_eq(nn_data_generate_range(NULL, 0, 1, x, &y, &err), NN_E_INVALID);
    s.noise = -1;
    cr_assert_eq(nn_data_generate_range(&s, 0, 1, x, &y, &err), NN_E_INVALID);
    cr_assert(strstr(err.msg, "noise") != NULL);
    s = nn_data_spec_default(NN_DATA_TEACHER);
    s.features = SIZE_MAX / 16;
    cr_assert_eq(nn_data_generate_range(&s, 0, 1, x, &y, &err), NN_E_NOMEM);
}

/* ---------------------------------------------------------- validation */

Test(validate, every_field) {
    nn_data_spec s;
    s = nn_data_spec_default(NN_DATA_CIRCLES), s.samples = 0;
    expect_bad(&s, NN_E_INVALID, "samples");
    s = nn_data_spec_default(NN_DATA_MOONS), s.noise = -0.1;
    expect_bad(&s, NN_E_INVALID, "noise");
    s = nn_data_spec_default(NN_DATA_XOR), s.noise = NAN;
    expect_bad(&s, NN_E_INVALID, "noise");
    s = nn_data_spec_default(NN_DATA_BLOBS), s.noise = INFINITY;
    expect_bad(&s, NN_E_INVALID, "noise");
    s = nn_data_spec_default(NN_DATA_CIRCLES), s.factor = 0.0;
    expect_bad(&s, NN_E_INVALID, "factor");
    s = nn_data_spec_default(NN_DATA_CIRCLES), s.factor = 1.0;
    expect_bad(&s, NN_E_INVALID, "factor");
    s = nn_data_spec_default(NN_DATA_CIRCLES), s.factor = NAN;
    expect_bad(&s, NN_E_INVALID, "factor");
    s = nn_data_spec_default(NN_DATA_CIRCLES), s.classes = 3;
    expect_bad(&s, NN_E_INVALID, "classes");
    s = nn_data_spec_default(NN_DATA_MOONS), s.features = 3;
    expect_bad(&s, NN_E_INVALID, "features");
    s = nn_data_spec_default(NN_DATA_SPIRALS), s.classes = 1;
    expect_bad(&s, NN_E_INVALID, "classes");
    s = nn_data_spec_default(NN_DATA_SPIRALS), s.classes = 65;
    expect_bad(&s, NN_E_INVALID, "classes");
    s = nn_data_spec_default(NN_DATA_BLOBS), s.classes = 1;
    expect_bad(&s, NN_E_INVALID, "classes");
    s = nn_data_spec_default(NN_DATA_BLOBS), s.classes = 5000;
    expect_bad(&s, NN_E_INVALID, "classes");
    s = nn_data_spec_default(NN_DATA_BLOBS), s.features = 0;
    expect_bad(&s, NN_E_INVALID, "features");
    s = nn_data_spec_default(NN_DATA_TEACHER), s.features = 0;
    expect_bad(&s, NN_E_INVALID, "features");
    s = nn_data_spec_default(NN_DATA_TEACHER), s.classes = 33;
    expect_bad(&s, NN_E_INVALID, "classes");
    s = nn_data_spec_default(NN_DATA_TEACHER), s.features = 1, s.classes = 3;
    expect_bad(&s, NN_E_INVALID, "features=1");
    s = nn_data_spec_default(NN_DATA_TEACHER), s.label_noise = 1.5;
    expect_bad(&s, NN_E_INVALID, "label_noise");
    s = nn_data_spec_default(NN_DATA_TEACHER), s.label_noise = -0.1;
    expect_bad(&s, NN_E_INVALID, "label_noise");
    s = nn_data_spec_default(NN_DATA_CIRCLES), s.label_noise = NAN;
    expect_bad(&s, NN_E_INVALID, "label_noise");
    s = nn_data_spec_default(NN_DATA_CIRCLES), s.kind = (nn_data_kind)42;
    expect_bad(&s, NN_E_INVALID, "kind");
    /* sizes whose product overflows size_t */
    s = nn_data_spec_default(NN_DATA_BLOBS), s.features = SIZE_MAX / 2, s.samples = 4;
    expect_bad(&s, NN_E_NOMEM, "overflow");
    s = nn_data_spec_default(NN_DATA_CIRCLES), s.samples = SIZE_MAX / 4;
    expect_bad(&s, NN_E_NOMEM, "overflow");
    nn_error err = {0};
    cr_assert_eq(nn_data_generate(NULL, NULL, &err), NN_E_INVALID);
}

Test(validate, extreme_but_valid) {
    nn_data_spec s = nn_data_spec_default(NN_DATA_CIRCLES);
    s.samples = 1; /* n_out = 0 */
    nn_dataset ds;
    gen(&s, &ds);
    cr_assert_eq(ds.y[0], 1.0f);
    nn_dataset_free(&ds);
    s = nn_data_spec_default(NN_DATA_MOONS);
    s.samples = 3;
    s.label_noise = 1.0;
    gen(&s, &ds);
    nn_dataset_free(&ds);
    s = nn_data_spec_default(NN_DATA_TEACHER);
    s.features = 1; /* binary with one input is allowed */
    s.samples = 1000;
    gen(&s, &ds);
    nn_dataset_free(&ds);
}

/* ---------------------------------------------------------- split */

/* A dataset whose x and y hold the row index, to track rows. */
static void indexed(size_t n, size_t f, nn_dataset *ds) {
    ds->n = n;
    ds->features = f;
    ds->classes = 0;
    ds->x = malloc(n * f * sizeof(float));
    ds->y = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        for (size_t d = 0; d < f; d++) ds->x[i * f + d] = (float)(i * 10 + d);
        ds->y[i] = (float)i;
    }
}

Test(split, sizes_and_disjoint_cover) {
    nn_dataset all, tr, te;
    indexed(1000, 3, &all);
    nn_error err = {0};
    cr_assert_eq(nn_data_split(&all, 0.2, 5, &tr, &te, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(tr.n, 800);
    cr_assert_eq(te.n, 200);
    cr_assert_eq(tr.features, 3);
    cr_assert_eq(te.classes, 0);
    int seen[1000] = {0};
    const nn_dataset *parts[2] = {&tr, &te};
    for (int p = 0; p < 2; p++)
        for (size_t i = 0; i < parts[p]->n; i++) {
            const size_t row = (size_t)parts[p]->y[i];
            seen[row]++;
            for (size_t d = 0; d < 3; d++) /* x moved with its y */
                cr_assert_eq(parts[p]->x[i * 3 + d], (float)(row * 10 + d));
        }
    for (int i = 0; i < 1000; i++) cr_assert_eq(seen[i], 1, "row %d seen %d times", i, seen[i]);
    /* shuffled: the test rows are not simply the last or first 200 */
    size_t low = 0;
    for (size_t i = 0; i < te.n; i++) low += te.y[i] < 500;
    cr_assert(low > 60 && low < 140);
    nn_dataset tr2, te2;
    cr_assert_eq(nn_data_split(&all, 0.2, 5, &tr2, &te2, NULL), NN_OK);
    cr_assert_arr_eq(tr.y, tr2.y, tr.n * sizeof(float));
    nn_dataset_free(&tr2);
    nn_dataset_free(&te2);
    cr_assert_eq(nn_data_split(&all, 0.2, 6, &tr2, &te2, NULL), NN_OK);
    cr_assert(memcmp(tr.y, tr2.y, tr.n * sizeof(float)) != 0);
    nn_dataset_free(&tr2);
    nn_dataset_free(&te2);
    nn_dataset_free(&tr);
    nn_dataset_free(&te);
    nn_dataset_free(&all);
}

Test(split, rounding_and_limits) {
    nn_dataset all, tr, te;
    indexed(10, 1, &all);
    nn_error err = {0};
    cr_assert_eq(nn_data_split(&all, 0.25, 1, &tr, &te, &err), NN_OK); /* 2.5 -> 3 */
    cr_assert_eq(te.n, 3);
    cr_assert_eq(tr.n, 7);
    nn_dataset_free(&tr);
    nn_dataset_free(&te);
    cr_assert_eq(nn_data_split(&all, 0.0, 1, &tr, &te, &err), NN_OK);
    cr_assert_eq(tr.n, 10);
    cr_assert_eq(te.n, 0);
    nn_dataset_free(&tr);
    nn_dataset_free(&te);
    cr_assert_eq(nn_data_split(&all, 0.9, 1, &tr, &te, &err), NN_OK);
    cr_assert_eq(tr.n, 1);
    nn_dataset_free(&tr);
    nn_dataset_free(&te);
    cr_assert_eq(nn_data_split(&all, 0.96, 1, &tr, &te, &err), NN_E_INVALID); /* 9.6 -> 10 */
    cr_assert(strstr(err.msg, "no training rows") != NULL, "%s", err.msg);
    cr_assert(tr.x == NULL && te.x == NULL);
    cr_assert_eq(nn_data_split(&all, 1.0, 1, &tr, &te, &err), NN_E_INVALID);
    cr_assert(strstr(err.msg, "test_fraction") != NULL);
    cr_assert_eq(nn_data_split(&all, -0.1, 1, &tr, &te, &err), NN_E_INVALID);
    cr_assert_eq(nn_data_split(&all, NAN, 1, &tr, &te, &err), NN_E_INVALID);
    nn_dataset_free(&all);
    nn_dataset empty = {0};
    cr_assert_eq(nn_data_split(&empty, 0.2, 1, &tr, &te, &err), NN_E_INVALID);
}

/* ---------------------------------------------------------- standardize */

Test(standardize, train_mean_zero_std_one) {
    nn_data_spec s = nn_data_spec_default(NN_DATA_BLOBS);
    s.features = 4;
    nn_dataset all, tr, te;
    gen(&s, &all);
    cr_assert_eq(nn_data_split(&all, 0.2, 1, &tr, &te, NULL), NN_OK);
    nn_dataset te_orig;
    cr_assert_eq(nn_dataset_copy(&te, &te_orig, NULL), NN_OK);
    nn_scaler sc;
    nn_error err = {0};
    cr_assert_eq(nn_data_standardize(&tr, &te, &sc, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(sc.features, 4);
    for (size_t d = 0; d < 4; d++) {
        double sum = 0, sq = 0;
        for (size_t i = 0; i < tr.n; i++) sum += tr.x[i * 4 + d];
        const double mean = sum / tr.n;
        for (size_t i = 0; i < tr.n; i++) sq += (tr.x[i * 4 + d] - mean) * (tr.x[i * 4 + d] - mean);
        cr_assert(fabs(mean) < 1e-5, "mean %g", mean);
        cr_assert(fabs(sqrt(sq / tr.n) - 1.0) < 1e-5, "std %g", sqrt(sq / tr.n)); /* ddof 0 */
        cr_assert(sc.std[d] > 0);
    }
    /* test rows were transformed with the training statistics */
    for (size_t i = 0; i < te.n * 4; i++) {
        const size_t d = i % 4;
        cr_assert_float_eq(te.x[i], (te_orig.x[i] - sc.mean[d]) / sc.std[d], 1e-5);
    }
    /* nn_scaler_apply reproduces the transform */
    nn_scaler_apply(&sc, te_orig.x, te_orig.n);
    cr_assert_arr_eq(te_orig.x, te.x, te.n * 4 * sizeof(float));
    nn_scaler_free(&sc);
    cr_assert(sc.mean == NULL && sc.std == NULL && sc.features == 0);
    nn_scaler_free(&sc);
    nn_dataset_free(&te_orig);
    nn_dataset_free(&all);
    nn_dataset_free(&tr);
    nn_dataset_free(&te);
}

Test(standardize, known_values_constant_column_and_errors) {
    float x[] = {1, 5, 3, 5, 5, 5}; /* (3, 2): column 0 = 1,3,5; column 1 constant */
    float y[] = {0, 1, 0};
    nn_dataset ds = {.n = 3, .features = 2, .classes = 2, .x = x, .y = y};
    nn_scaler sc;
    cr_assert_eq(nn_data_standardize(&ds, NULL, &sc, NULL), NN_OK);
    cr_assert_float_eq(sc.mean[0], 3.0, 1e-12);
    cr_assert_float_eq(sc.std[0], sqrt(8.0 / 3.0), 1e-12); /* population std */
    cr_assert_eq(sc.std[1], 1.0);
    cr_assert_float_eq(x[0], -2.0 / sqrt(8.0 / 3.0), 1e-6);
    cr_assert_eq(x[1], 0.0f);
    cr_assert_eq(x[5], 0.0f);
    nn_scaler_free(&sc);
    /* sc may be NULL */
    cr_assert_eq(nn_data_standardize(&ds, NULL, NULL, NULL), NN_OK);
    nn_error err = {0};
    float x3[3] = {0};
    nn_dataset other = {.n = 1, .features = 3, .x = x3, .y = y};
    cr_assert_eq(nn_data_standardize(&ds, &other, &sc, &err), NN_E_INVALID);
    cr_assert(strstr(err.msg, "features") != NULL, "%s", err.msg);
    nn_dataset empty = {0};
    cr_assert_eq(nn_data_standardize(&empty, NULL, &sc, &err), NN_E_INVALID);
}

/* ---------------------------------------------------------- copy / free */

Test(dataset, copy_is_deep_and_free_is_safe) {
    nn_data_spec s = nn_data_spec_default(NN_DATA_MOONS);
    nn_dataset a, b;
    gen(&s, &a);
    cr_assert_eq(nn_dataset_copy(&a, &b, NULL), NN_OK);
    cr_assert_eq(b.n, a.n);
    cr_assert_eq(b.classes, a.classes);
    cr_assert(b.x != a.x && b.y != a.y);
    cr_assert_arr_eq(a.x, b.x, a.n * 2 * sizeof(float));
    b.x[0] += 1.0f;
    cr_assert_neq(a.x[0], b.x[0]);
    nn_dataset_free(&a);
    cr_assert(a.x == NULL && a.y == NULL && a.n == 0);
    nn_dataset_free(&a); /* twice: no-op */
    nn_dataset_free(&b);
    nn_dataset zero = {0};
    nn_dataset_free(&zero);
    nn_dataset_free(NULL);
    nn_dataset copy;
    cr_assert_eq(nn_dataset_copy(&zero, &copy, NULL), NN_OK);
    cr_assert_eq(copy.n, 0);
    nn_dataset_free(&copy);
}
