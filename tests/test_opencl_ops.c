/* test_opencl_ops.c — every op of the OpenCL backend against the CPU backend
 * (the numerical reference), opened side by side in one process, on odd
 * shapes, with canaries around every output and odd element offsets on every
 * view. Without a usable OpenCL device each test is reported as skipped.
 *
 * Tolerances, stated once:
 *  - matmul: |ocl - cpu| <= 1e-6 + k * FLT_EPSILON * sum_p |a_ip * b_pj| (in double),
 *    and the same bound against a double-precision reference;
 *  - transcendental elementwise ops (exp, tanh, log): TRANSCENDENTAL_ULPS ulp;
 *  - ops with the same arithmetic on both sides: bit-identical (0 ulp), except
 *    Adam (division and sqrt): DIVSQRT_ULPS ulp;
 *  - loss sums: LOSS_RTOL relative (the summation orders differ). */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "testutil.h"
#include "tu_guard.h"
#include "nn_tools.h"

typedef tu_gbuf gbuf;

#define TRANSCENDENTAL_ULPS 8.0
#define DIVSQRT_ULPS 2.0
#define LOSS_RTOL 2e-6

static const size_t SIZES[] = {1, 7, 33, 65, 257, 1000};
#define NSIZES (sizeof SIZES / sizeof SIZES[0])

/* ------------------------------------------------------------------ setup */

typedef struct pair {
    nn_backend *cpu, *ocl;
} pair;

/* Open the OpenCL backend (with cfg) or skip the test when it is unavailable. */
static nn_backend *open_ocl_or_skip(const nn_backend_config *cfg) {
#ifndef NN_HAVE_OPENCL
    (void)cfg;
    cr_skip_test("built without OpenCL");
    return NULL;
#else
    nn_backend *be = NULL;
    nn_error err = {0};
    nn_status st = nn_backend_open("opencl", cfg, &be, &err);
    if (st == NN_E_UNAVAILABLE) cr_skip_test("no usable OpenCL device: %s", err.msg);
    cr_assert_eq(st, NN_OK, "opening opencl: %s", err.msg);
    cr_assert_str_eq(nn_backend_name(be), "opencl");
    return be;
#endif
}

static pair open_pair(void) {
    pair p;
    p.ocl = open_ocl_or_skip(NULL);
    p.cpu = tu_open("cpu", 2);
    return p;
}

static void close_pair(pair *p) {
    nn_backend_close(p->ocl);
    nn_backend_close(p->cpu);
}

/* ------------------------------------------------------- guarded buffers */


/* The same data in a guarded buffer on each backend of p. */
typedef struct gpair {
    gbuf cpu, ocl;
} gpair;

static gpair gp_new(pair *p, const void *init, size_t n) {
    gpair g = {tu_gnew(p->cpu, init, n), tu_gnew(p->ocl, init, n)};
    return g;
}

static void gp_free(gpair *g) {
    tu_gfree(&g->cpu);
    tu_gfree(&g->ocl);
}


/* ulp-scaled closeness of float results; NaN only matches NaN. */
static int close_ulps(float got, float ref, double ulps, double atol) {
    if (isnan(got) || isnan(ref)) return isnan(got) && isnan(ref);
    if (got == ref) return 1;
    double scale = fmax(fabs((double)got), fabs((double)ref));
    return fabs((double)got - (double)ref) <= atol + ulps * FLT_EPSILON * scale;
}

/* Compare both sides of g elementwise (canaries checked on both). */
static void gp_compare(gpair *g, double ulps, double atol, const char *what, size_t rows,
                       size_t cols) {
    float *c = tu_gread(&g->cpu, what), *o = tu_gread(&g->ocl, what);
    for (size_t i = 0; i < g->cpu.n; i++)
        cr_assert(close_ulps(o[i], c[i], ulps, atol),
                  "%s (%zu x %zu) [%zu]: opencl %.9g, cpu %.9g (%.3g ulp)", what, rows, cols, i,
                  o[i], c[i],
                  fabs((double)o[i] - c[i]) / (FLT_EPSILON * fmax(fabs((double)c[i]), 1e-30)));
    free(c);
    free(o);
}

/* ---------------------------------------------------------------- matmul */

/* c = op(a)·op(b) (+ c) on both backends; compare with each other and with a
 * double reference under the K-scaled bound. A non-accumulating c starts as
 * NaN, so a kernel that reads it fails. */
static void check_matmul(pair *p, size_t m, size_t n, size_t k, int ta, int tb, int acc) {
    nn_error err = {0};
    uint64_t seed = m * 1000003u + n * 1009u + k * 7u + (size_t)ta * 2 + (size_t)tb;
    float *a = tu_rand(m * k, seed, -1, 1);      /* (m, k) or (k, m) */
    float *b = tu_rand(k * n, seed + 1, -1, 1);  /* (k, n) or (n, k) */
    float *c0 = tu_rand(m * n, seed + 2, -1, 1); /* (m, n) */
    if (!acc)
        for (size_t i = 0; i < m * n; i++) c0[i] = NAN;
    gpair ga = gp_new(p, a, m * k), gb = gp_new(p, b, k * n), gc = gp_new(p, c0, m * n);
    nn_status st =
        p->cpu->ops->matmul(p->cpu, gc.cpu.v, ga.cpu.v, gb.cpu.v, m, n, k, ta, tb, acc, &err);
    cr_assert_eq(st, NN_OK, "cpu matmul: %s", err.msg);
    st = p->ocl->ops->matmul(p->ocl, gc.ocl.v, ga.ocl.v, gb.ocl.v, m, n, k, ta, tb, acc, &err);
    cr_assert_eq(st, NN_OK, "opencl matmul: %s", err.msg);
    float *cc = tu_gread(&gc.cpu, "matmul"), *co = tu_gread(&gc.ocl, "matmul");
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double s = acc ? c0[i * n + j] : 0.0, mag = acc ? fabs(c0[i * n + j]) : 0.0;
            for (size_t q = 0; q < k; q++) {
                double av = ta ? a[q * m + i] : a[i * k + q];
                double bv = tb ? b[j * k + q] : b[q * n + j];
                s += av * bv;
                mag += fabs(av * bv);
            }
            double tol = 1e-6 + (double)(k + 1) * FLT_EPSILON * mag;
            float o = co[i * n + j], c = cc[i * n + j];
            cr_assert(fabs(o - c) <= tol && fabs(o - s) <= tol,
                      "matmul m=%zu n=%zu k=%zu ta=%d tb=%d acc=%d c[%zu,%zu]: opencl %.9g, cpu "
                      "%.9g, exact %.9g, tolerance %.3g",
                      m, n, k, ta, tb, acc, i, j, o, c, s, tol);
        }
    free(cc);
    free(co);
    free(a);
    free(b);
    free(c0);
    gp_free(&ga);
    gp_free(&gb);
    gp_free(&gc);
}

/* Every transpose variant, with and without accumulate, on m x n x k from `sizes`. */
static void matmul_cross(pair *p, const size_t *sizes, size_t ns) {
    for (size_t im = 0; im < ns; im++)
        for (size_t in = 0; in < ns; in++)
            for (size_t ik = 0; ik < ns; ik++)
                for (int v = 0; v < 8; v++)
                    check_matmul(p, sizes[im], sizes[in], sizes[ik], v & 1, (v >> 1) & 1, v >> 2);
}

Test(opencl_ops, matmul_small_shapes_all_variants) {
    pair p = open_pair();
    const size_t s[] = {1, 2, 7, 16, 17, 33};
    matmul_cross(&p, s, sizeof s / sizeof s[0]);
    close_pair(&p);
}

Test(opencl_ops, matmul_tile_edges_all_variants) {
    /* around the CPU tiles (8 x 16 per work-item, 32 x 64 per work-group) and
     * the packing threshold */
    pair p = open_pair();
    const size_t s[] = {31, 65, 129, 183};
    matmul_cross(&p, s, sizeof s / sizeof s[0]);
    close_pair(&p);
}

Test(opencl_ops, matmul_listed_sizes) {
    /* 1, 7, 33, 65, 257, 1000 in every role, each variant, with and without accumulate */
    pair p = open_pair();
    for (size_t i = 0; i < NSIZES; i++)
        for (size_t j = 0; j < NSIZES; j++)
            for (int v = 0; v < 8; v++) {
                size_t x = SIZES[i], y = SIZES[j];
                int ta = v & 1, tb = (v >> 1) & 1, acc = v >> 2;
                check_matmul(&p, x, y, 7, ta, tb, acc); /* m, n */
                check_matmul(&p, x, 9, y, ta, tb, acc); /* m, k */
                check_matmul(&p, 5, x, y, ta, tb, acc); /* n, k */
            }
    for (int v = 0; v < 8; v++) check_matmul(&p, 257, 1000, 65, v & 1, (v >> 1) & 1, v >> 2);
    for (int v = 0; v < 4; v++) check_matmul(&p, 1000, 257, 1000, v & 1, v >> 1, 0);
    check_matmul(&p, 1000, 1000, 257, 0, 0, 1);
    close_pair(&p);
}

Test(opencl_ops, matmul_default_network_shapes) {
    /* the 2-8-1 network on 800 rows: forward X·W1, H·W2; backward dW = X^T·dZ
     * (TN) and dX = dZ·W^T (NT) */
    pair p = open_pair();
    for (int acc = 0; acc < 2; acc++) {
        check_matmul(&p, 800, 8, 2, 0, 0, acc); /* (800,2)·(2,8) */
        check_matmul(&p, 800, 1, 8, 0, 0, acc); /* (800,8)·(8,1) */
        check_matmul(&p, 8, 1, 800, 1, 0, acc); /* dW2 = H^T·dZ2: (8,800)·(800,1) */
        check_matmul(&p, 2, 8, 800, 1, 0, acc); /* dW1 = X^T·dZ1: (2,800)·(800,8) */
        check_matmul(&p, 800, 8, 1, 0, 1, acc); /* dH = dZ2·W2^T: (800,1)·(1,8) */
        check_matmul(&p, 800, 2, 8, 0, 1, acc); /* dX = dZ1·W1^T: (800,8)·(8,2) */
        check_matmul(&p, 800, 8, 2, 1, 1, acc);
    }
    close_pair(&p);
}

Test(opencl_ops, matmul_zero_sizes) {
    pair p = open_pair();
    const size_t s[] = {0, 1, 5};
    matmul_cross(&p, s, 3); /* k = 0 writes zeros (or keeps c); m or n = 0 writes nothing */
    close_pair(&p);
}

/* Matmul on one tuning profile of $NN_OPENCL_TUNE (a fresh process per test),
 * with a shape of every class (nn_tune_shape_class) in every transpose case. */
static void matmul_with_tune(const char *tune) {
    cr_assert_eq(setenv("NN_OPENCL_TUNE", tune, 1), 0);
    pair p = open_pair();
    const size_t s[] = {1, 7, 33, 130};
    matmul_cross(&p, s, sizeof s / sizeof s[0]);
    check_matmul(&p, 800, 8, 2, 0, 0, 0);
    check_matmul(&p, 2, 8, 800, 1, 0, 0);
    check_matmul(&p, 800, 2, 8, 0, 1, 0);
    static const size_t classes[][3] = {{4096, 1, 64}, {4096, 64, 2}, {256, 256, 256}};
    for (size_t i = 0; i < 3; i++)
        for (int t = 0; t < 4; t++)
            check_matmul(&p, classes[i][0], classes[i][1], classes[i][2], t >> 1, t & 1, t == 3);
    close_pair(&p);
}

Test(opencl_ops, matmul_gpu_profile) { matmul_with_tune("gpu"); }
Test(opencl_ops, matmul_everything_packed) { matmul_with_tune("direct_max=0"); }
Test(opencl_ops, matmul_odd_tiles) { matmul_with_tune("wpt_m=3,wpt_n=4,wg_m=2,wg_n=5,pack_wg=3"); }
Test(opencl_ops, matmul_gpu_profile_narrow) { matmul_with_tune("gpu,wpt_n=2,wpt_m=1,wg_m=3"); }
Test(opencl_ops, matmul_gpu_profile_without_local) { matmul_with_tune("gpu,local=0"); }
Test(opencl_ops, matmul_local_odd_tiles) {
    matmul_with_tune("cpu,pack_panels=0,local=1,tile_k=5,wpt_m=3,wg_m=3,wg_n=2");
}

Test(opencl_ops, bad_tuning_is_invalid) {
    cr_assert_eq(setenv("NN_OPENCL_TUNE", "wpt_n=5", 1), 0);
    nn_backend *be = NULL;
    nn_error err = {0};
    nn_status st = nn_backend_open("opencl", NULL, &be, &err);
    if (st == NN_E_UNAVAILABLE) cr_skip_test("no usable OpenCL device: %s", err.msg);
    cr_assert_eq(st, NN_E_INVALID, "%s", err.msg);
    cr_assert(strstr(err.msg, "wpt_n"), "%s", err.msg);
    cr_assert_eq(setenv("NN_OPENCL_TUNE", "cpu,local=1", 1), 0);
    cr_assert_eq(nn_backend_open("opencl", NULL, &be, &err), NN_E_INVALID);
    cr_assert(strstr(err.msg, "pack_panels"), "%s", err.msg);
}

/* --------------------------------------------------------- elementwise ops */

static const size_t COLS[] = {1, 2, 3, 8, 33, 65};
#define NCOLS (sizeof COLS / sizeof COLS[0])

Test(opencl_ops, fill) {
    pair p = open_pair();
    nn_error err = {0};
    const size_t ns[] = {0, 1, 7, 33, 65, 257, 1000, 100003};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        gpair g = gp_new(&p, NULL, ns[i]);
        cr_assert_eq(p.cpu->ops->fill(p.cpu, g.cpu.v, -2.5f, ns[i], &err), NN_OK);
        cr_assert_eq(p.ocl->ops->fill(p.ocl, g.ocl.v, -2.5f, ns[i], &err), NN_OK, "%s", err.msg);
        gp_compare(&g, 0, 0, "fill", 1, ns[i]);
        gp_free(&g);
    }
    close_pair(&p);
}

Test(opencl_ops, bias_add) {
    pair p = open_pair();
    nn_error err = {0};
    for (size_t ir = 0; ir < NSIZES; ir++)
        for (size_t ic = 0; ic < NCOLS; ic++) {
            size_t rows = SIZES[ir], cols = COLS[ic];
            float *z = tu_rand(rows * cols, rows + 31 * cols, -3, 3); /* (rows, cols) */
            float *b = tu_rand(cols, cols, -1, 1);                    /* (cols) */
            gpair gz = gp_new(&p, z, rows * cols), gb = gp_new(&p, b, cols);
            cr_assert_eq(p.cpu->ops->bias_add(p.cpu, gz.cpu.v, gb.cpu.v, rows, cols, &err), NN_OK);
            cr_assert_eq(p.ocl->ops->bias_add(p.ocl, gz.ocl.v, gb.ocl.v, rows, cols, &err), NN_OK,
                         "%s", err.msg);
            gp_compare(&gz, 0, 0, "bias_add", rows, cols);
            gp_free(&gz);
            gp_free(&gb);
            free(z);
            free(b);
        }
    close_pair(&p);
}

/* act_forward then act_backward for one activation on both backends. */
static void check_activation(pair *p, nn_act act, size_t rows, size_t cols) {
    nn_error err = {0};
    size_t n = rows * cols;
    float *z = tu_rand(n, n * 3 + act, -12, 12);     /* (rows, cols) */
    float *dy = tu_rand(n, n * 5 + act, -1, 1);      /* (rows, cols) */
    if (n > 3) z[0] = 0.0f, z[1] = 60.0f, z[2] = -60.0f; /* boundary and saturated inputs */
    gpair gz = gp_new(p, z, n), gy = gp_new(p, NULL, n), gdy = gp_new(p, dy, n),
          gdz = gp_new(p, NULL, n);
    double ulps = (act == NN_ACT_SIGMOID || act == NN_ACT_TANH || act == NN_ACT_SOFTMAX)
                      ? TRANSCENDENTAL_ULPS
                      : 0;
    cr_assert_eq(p->cpu->ops->act_forward(p->cpu, act, gy.cpu.v, gz.cpu.v, rows, cols, &err),
                 NN_OK);
    cr_assert_eq(p->ocl->ops->act_forward(p->ocl, act, gy.ocl.v, gz.ocl.v, rows, cols, &err), NN_OK,
                 "%s", err.msg);
    gp_compare(&gy, ulps, 1e-30, nn_act_name(act), rows, cols);
    if (act != NN_ACT_SOFTMAX) {
        /* backward from the CPU's forward output, so only the derivative is compared */
        float *y = tu_gread(&gy.cpu, "act_forward");
        gpair gy2 = gp_new(p, y, n);
        cr_assert_eq(p->cpu->ops->act_backward(p->cpu, act, gdz.cpu.v, gdy.cpu.v, gz.cpu.v,
                                               gy2.cpu.v, rows, cols, &err),
                     NN_OK);
        cr_assert_eq(p->ocl->ops->act_backward(p->ocl, act, gdz.ocl.v, gdy.ocl.v, gz.ocl.v,
                                               gy2.ocl.v, rows, cols, &err),
                     NN_OK, "%s", err.msg);
        gp_compare(&gdz, 0, 0, "act_backward", rows, cols);
        /* in place: y == z and dz == dy */
        cr_assert_eq(p->ocl->ops->act_forward(p->ocl, act, gz.ocl.v, gz.ocl.v, rows, cols, &err),
                     NN_OK);
        cr_assert_eq(p->cpu->ops->act_forward(p->cpu, act, gz.cpu.v, gz.cpu.v, rows, cols, &err),
                     NN_OK);
        gp_compare(&gz, ulps, 1e-30, "act_forward in place", rows, cols);
        cr_assert_eq(p->ocl->ops->act_backward(p->ocl, act, gdy.ocl.v, gdy.ocl.v, gz.ocl.v,
                                               gy2.ocl.v, rows, cols, &err),
                     NN_OK);
        cr_assert_eq(p->cpu->ops->act_backward(p->cpu, act, gdy.cpu.v, gdy.cpu.v, gz.cpu.v,
                                               gy2.cpu.v, rows, cols, &err),
                     NN_OK);
        gp_compare(&gdy, 0, 0, "act_backward in place", rows, cols);
        gp_free(&gy2);
        free(y);
    } else {
        nn_status st = p->ocl->ops->act_backward(p->ocl, act, gdz.ocl.v, gdy.ocl.v, gz.ocl.v,
                                                 gy.ocl.v, rows, cols, &err);
        cr_assert_eq(st, NN_E_INVALID, "softmax has no backward op");
    }
    gp_free(&gz);
    gp_free(&gy);
    gp_free(&gdy);
    gp_free(&gdz);
    free(z);
    free(dy);
}

static void activation_sweep(nn_act act) {
    pair p = open_pair();
    for (size_t ir = 0; ir < NSIZES; ir++)
        for (size_t ic = 0; ic < NCOLS; ic++) check_activation(&p, act, SIZES[ir], COLS[ic]);
    check_activation(&p, act, 0, 5);
    check_activation(&p, act, 5, 0);
    close_pair(&p);
}

Test(opencl_ops, identity) { activation_sweep(NN_ACT_IDENTITY); }
Test(opencl_ops, relu) { activation_sweep(NN_ACT_RELU); }
Test(opencl_ops, sigmoid) { activation_sweep(NN_ACT_SIGMOID); }
Test(opencl_ops, tanh) { activation_sweep(NN_ACT_TANH); }

Test(opencl_ops, softmax_rows) {
    pair p = open_pair();
    for (size_t ir = 0; ir < NSIZES; ir++)
        for (size_t ic = 0; ic < NCOLS; ic++)
            check_activation(&p, NN_ACT_SOFTMAX, SIZES[ir], COLS[ic]);
    check_activation(&p, NN_ACT_SOFTMAX, 3, 1000);
    check_activation(&p, NN_ACT_SOFTMAX, 0, 4);
    /* every OpenCL row sums to 1 */
    nn_error err = {0};
    size_t rows = 65, cols = 10;
    float *z = tu_rand(rows * cols, 99, -40, 40);
    gpair gz = gp_new(&p, z, rows * cols);
    cr_assert_eq(
        p.ocl->ops->act_forward(p.ocl, NN_ACT_SOFTMAX, gz.ocl.v, gz.ocl.v, rows, cols, &err),
        NN_OK);
    float *y = tu_gread(&gz.ocl, "softmax");
    for (size_t r = 0; r < rows; r++) {
        double s = 0;
        for (size_t j = 0; j < cols; j++) s += y[r * cols + j];
        cr_assert(fabs(s - 1.0) < 1e-5, "row %zu sums to %.9g", r, s);
    }
    free(y);
    free(z);
    gp_free(&gz);
    close_pair(&p);
}

/* ------------------------------------------------------------------ losses */

/* Targets for a loss: {0,1} for BCE, one-hot rows for CE, reals for MSE. */
static float *targets(nn_loss loss, size_t rows, size_t cols, uint64_t seed) {
    float *t = tu_rand(rows * cols, seed, 0, 1); /* (rows, cols) */
    if (loss == NN_LOSS_MSE) return t;
    for (size_t r = 0; r < rows; r++) {
        size_t hot = cols ? (size_t)(t[r * cols] * (float)cols) % cols : 0;
        for (size_t j = 0; j < cols; j++)
            t[r * cols + j] = loss == NN_LOSS_BCE ? (t[r * cols + j] > 0.5f) : (j == hot);
    }
    return t;
}

/* acc = a0; loss_sum twice (two different z) on both; compare acc; then loss_grad. */
static void check_loss(pair *p, nn_loss loss, size_t rows, size_t cols) {
    nn_error err = {0};
    size_t n = rows * cols;
    float *z1 = tu_rand(n, n + 11 * loss, -6, 6), *z2 = tu_rand(n, n + 13 * loss, -60, 60);
    float *t = targets(loss, rows, cols, n + 17);
    float a0[2] = {3.25f, 0.0f}; /* compensated pair */
    gpair gz1 = gp_new(p, z1, n), gz2 = gp_new(p, z2, n), gt = gp_new(p, t, n),
          gacc = gp_new(p, a0, 2), gdz = gp_new(p, NULL, n);
    nn_backend *bes[2] = {p->cpu, p->ocl};
    gbuf *z1s[2] = {&gz1.cpu, &gz1.ocl}, *z2s[2] = {&gz2.cpu, &gz2.ocl},
         *ts[2] = {&gt.cpu, &gt.ocl}, *accs[2] = {&gacc.cpu, &gacc.ocl},
         *dzs[2] = {&gdz.cpu, &gdz.ocl};
    for (int s = 0; s < 2; s++) {
        nn_backend *be = bes[s];
        cr_assert_eq(be->ops->loss_sum(be, loss, accs[s]->v, z1s[s]->v, ts[s]->v, rows, cols, &err),
                     NN_OK, "%s", err.msg);
        cr_assert_eq(be->ops->loss_sum(be, loss, accs[s]->v, z2s[s]->v, ts[s]->v, rows, cols, &err),
                     NN_OK, "%s", err.msg);
        cr_assert_eq(be->ops->loss_grad(be, loss, dzs[s]->v, z1s[s]->v, ts[s]->v, rows, cols,
                                        1.0f / (float)(rows ? rows : 1), &err),
                     NN_OK, "%s", err.msg);
    }
    float *ac = tu_gread(&gacc.cpu, "loss_sum"), *ao = tu_gread(&gacc.ocl, "loss_sum");
    double so = (double)ao[0] + ao[1], sc = (double)ac[0] + ac[1];
    cr_assert(isfinite(so), "%s loss (%zu x %zu) is %g", nn_loss_name(loss), rows, cols, so);
    cr_assert(fabs(so - sc) <= LOSS_RTOL * fabs(sc) + 1e-6,
              "%s loss_sum (%zu x %zu): opencl %.9g, cpu %.9g", nn_loss_name(loss), rows, cols,
              so, sc);
    gp_compare(&gdz, 0, 0, "loss_grad", rows, cols);
    free(ac);
    free(ao);
    gp_free(&gz1);
    gp_free(&gz2);
    gp_free(&gt);
    gp_free(&gacc);
    gp_free(&gdz);
    free(z1);
    free(z2);
    free(t);
}

static void loss_sweep(nn_loss loss) {
    pair p = open_pair();
    for (size_t ir = 0; ir < NSIZES; ir++)
        for (size_t ic = 0; ic < NCOLS; ic++) check_loss(&p, loss, SIZES[ir], COLS[ic]);
    check_loss(&p, loss, 100003, 1); /* several reduction passes */
    check_loss(&p, loss, 0, 3);
    check_loss(&p, loss, 4, 0);
    close_pair(&p);
}

Test(opencl_ops, loss_bce) { loss_sweep(NN_LOSS_BCE); }
Test(opencl_ops, loss_ce) { loss_sweep(NN_LOSS_CE); }
Test(opencl_ops, loss_mse) { loss_sweep(NN_LOSS_MSE); }

/* the float accumulation used on devices without fp64 */
Test(opencl_ops, loss_in_float) {
    cr_assert_eq(setenv("NN_OPENCL_TUNE", "fp64=0", 1), 0);
    loss_sweep(NN_LOSS_BCE);
    loss_sweep(NN_LOSS_CE);
    loss_sweep(NN_LOSS_MSE);
}

Test(opencl_ops, loss_caps_saturated_logits) {
    pair p = open_pair();
    nn_error err = {0};
    /* BCE with confidently wrong logits, CE with the target class at -1000 */
    float z[4] = {200.0f, -200.0f, 50.0f, -1000.0f}, t[4] = {0, 1, 0, 1}, zero[2] = {0, 0};
    gpair gz = gp_new(&p, z, 4), gt = gp_new(&p, t, 4), ga = gp_new(&p, zero, 2);
    cr_assert_eq(p.ocl->ops->loss_sum(p.ocl, NN_LOSS_BCE, ga.ocl.v, gz.ocl.v, gt.ocl.v, 4, 1, &err),
                 NN_OK);
    cr_assert_eq(p.cpu->ops->loss_sum(p.cpu, NN_LOSS_BCE, ga.cpu.v, gz.cpu.v, gt.cpu.v, 4, 1, &err),
                 NN_OK);
    float *o = tu_gread(&ga.ocl, "loss_sum"), *c = tu_gread(&ga.cpu, "loss_sum");
    double cap = -log(NN_BCE_EPS);
    cr_assert(fabs(o[0] - (cap + cap + cap + cap)) < 1e-4, "BCE capped sum %.9g", o[0]);
    cr_assert_eq(o[0], c[0]);
    free(o);
    free(c);
    float zc[3] = {0.0f, 5.0f, -1000.0f}, tc[3] = {0, 0, 1};
    gpair gzc = gp_new(&p, zc, 3), gtc = gp_new(&p, tc, 3), gac = gp_new(&p, zero, 2);
    cr_assert_eq(
        p.ocl->ops->loss_sum(p.ocl, NN_LOSS_CE, gac.ocl.v, gzc.ocl.v, gtc.ocl.v, 1, 3, &err),
        NN_OK);
    o = tu_gread(&gac.ocl, "loss_sum");
    cr_assert(fabs(o[0] - cap) < 1e-5, "CE capped %.9g", o[0]);
    free(o);
    gp_free(&gz), gp_free(&gt), gp_free(&ga), gp_free(&gzc), gp_free(&gtc), gp_free(&gac);
    close_pair(&p);
}

/* A non-finite logit (diverged weights) gives a NaN loss on both backends, never the cap. */
Test(opencl_ops, loss_of_non_finite_logits_is_nan) {
    pair p = open_pair();
    nn_error err = {0};
    const nn_loss losses[3] = {NN_LOSS_BCE, NN_LOSS_CE, NN_LOSS_MSE};
    float z[3][2] = {{INFINITY, 0.5f}, {NAN, 0.5f}, {-INFINITY, 0.5f}}, t[2] = {1, 0}, zero[2] = {0, 0};
    for (int l = 0; l < 3; l++)
        for (int v = 0; v < 3; v++) {
            gpair gz = gp_new(&p, z[v], 2), gt = gp_new(&p, t, 2), ga = gp_new(&p, zero, 2);
            size_t rows = losses[l] == NN_LOSS_CE ? 1 : 2, cols = losses[l] == NN_LOSS_CE ? 2 : 1;
            cr_assert_eq(p.ocl->ops->loss_sum(p.ocl, losses[l], ga.ocl.v, gz.ocl.v, gt.ocl.v, rows, cols, &err), NN_OK);
            cr_assert_eq(p.cpu->ops->loss_sum(p.cpu, losses[l], ga.cpu.v, gz.cpu.v, gt.cpu.v, rows, cols, &err), NN_OK);
            float *o = tu_gread(&ga.ocl, "loss_sum"), *c = tu_gread(&ga.cpu, "loss_sum");
            cr_assert(!isfinite(o[0]) && !isfinite(c[0]), "%s, logit %g: opencl %g, cpu %g",
                      nn_loss_name(losses[l]), z[v][0], o[0], c[0]);
            free(o), free(c);
            gp_free(&gz), gp_free(&gt), gp_free(&ga);
        }
    close_pair(&p);
}

/* ------------------------------------------------------- reductions, gather */

Test(opencl_ops, col_sum) {
    pair p = open_pair();
    nn_error err = {0};
    const size_t rows_list[] = {0, 1, 7, 33, 65, 257, 1000, 5003};
    for (size_t ir = 0; ir < sizeof rows_list / sizeof rows_list[0]; ir++)
        for (size_t ic = 0; ic < NCOLS; ic++) {
            size_t rows = rows_list[ir], cols = COLS[ic];
            float *x = tu_rand(rows * cols, rows * 7 + cols, -1, 1); /* (rows, cols) */
            gpair gx = gp_new(&p, x, rows * cols), go = gp_new(&p, NULL, cols);
            cr_assert_eq(p.cpu->ops->col_sum(p.cpu, go.cpu.v, gx.cpu.v, rows, cols, &err), NN_OK);
            cr_assert_eq(p.ocl->ops->col_sum(p.ocl, go.ocl.v, gx.ocl.v, rows, cols, &err), NN_OK,
                         "%s", err.msg);
            gp_compare(&go, 0, 0, "col_sum", rows, cols); /* same fixed order on both: identical */
            gp_free(&gx);
            gp_free(&go);
            free(x);
        }
    close_pair(&p);
}

Test(opencl_ops, gather_rows) {
    pair p = open_pair();
    nn_error err = {0};
    const size_t src_rows = 1000;
    for (size_t ir = 0; ir < NSIZES; ir++)
        for (size_t ic = 0; ic < NCOLS; ic++) {
            size_t rows = SIZES[ir], cols = COLS[ic];
            float *src = tu_rand(src_rows * cols, cols, -5, 5); /* (src_rows, cols) */
            uint32_t *idx = malloc(rows * sizeof *idx);             /* (rows) */
            for (size_t r = 0; r < rows; r++) idx[r] = (uint32_t)((r * 7919u + 13u) % src_rows);
            if (rows > 2) idx[1] = idx[0]; /* repeats are allowed */
            gpair gs = gp_new(&p, src, src_rows * cols), gi = gp_new(&p, idx, rows),
                  gd = gp_new(&p, NULL, rows * cols);
            cr_assert_eq(
                p.cpu->ops->gather_rows(p.cpu, gd.cpu.v, gs.cpu.v, gi.cpu.v, rows, cols, &err),
                NN_OK);
            cr_assert_eq(
                p.ocl->ops->gather_rows(p.ocl, gd.ocl.v, gs.ocl.v, gi.ocl.v, rows, cols, &err),
                NN_OK, "%s", err.msg);
            gp_compare(&gd, 0, 0, "gather_rows", rows, cols);
            gp_free(&gs), gp_free(&gi), gp_free(&gd);
            free(src);
            free(idx);
        }
    close_pair(&p);
}

/* --------------------------------------------------------------- optimizer */

static void check_update(nn_optimizer kind) {
    pair p = open_pair();
    nn_error err = {0};
    const size_t ns[] = {0, 1, 7, 65, 1000, 100003};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        size_t n = ns[i];
        float *w = tu_rand(n, n + 1, -1, 1), *zero = calloc(n ? n : 1, sizeof(float));
        gpair gp = gp_new(&p, w, n), gm = gp_new(&p, zero, n), gv = gp_new(&p, zero, n);
        for (int t = 1; t <= 3; t++) {
            float *g = tu_rand(n, n * 10 + (size_t)t, -2, 2);
            gpair gg = gp_new(&p, g, n);
            nn_opt_step st = {.kind = kind,
                              .lr = 0.05f,
                              .momentum = 0.9f,
                              .beta1 = 0.9f,
                              .beta2 = 0.999f,
                              .eps = 1e-8f,
                              .t = t};
            st.c1 = (float)(1.0 / (1.0 - pow(0.9f, t)));
            st.c2 = (float)(1.0 / (1.0 - pow(0.999f, t)));
            nn_view m_cpu = gm.cpu.v, m_ocl = gm.ocl.v, v_cpu = gv.cpu.v, v_ocl = gv.ocl.v;
            if (kind == NN_OPT_SGD) m_cpu.buf = m_ocl.buf = NULL; /* state unused */
            if (kind != NN_OPT_ADAM) v_cpu.buf = v_ocl.buf = NULL;
            cr_assert_eq(p.cpu->ops->update(p.cpu, &st, gp.cpu.v, gg.cpu.v, m_cpu, v_cpu, n, &err),
                         NN_OK);
            cr_assert_eq(p.ocl->ops->update(p.ocl, &st, gp.ocl.v, gg.ocl.v, m_ocl, v_ocl, n, &err),
                         NN_OK, "%s", err.msg);
            gp_free(&gg);
            free(g);
        }
        double ulps = kind == NN_OPT_ADAM ? DIVSQRT_ULPS : 0;
        gp_compare(&gp, ulps, 0, nn_optimizer_name(kind), 1, n);
        if (kind != NN_OPT_SGD) gp_compare(&gm, 0, 0, "first moment / velocity", 1, n);
        if (kind == NN_OPT_ADAM) gp_compare(&gv, 0, 0, "second moment", 1, n);
        gp_free(&gp), gp_free(&gm), gp_free(&gv);
        free(w);
        free(zero);
    }
    close_pair(&p);
}

Test(opencl_ops, update_sgd) { check_update(NN_OPT_SGD); }
Test(opencl_ops, update_momentum) { check_update(NN_OPT_MOMENTUM); }
Test(opencl_ops, update_adam) { check_update(NN_OPT_ADAM); }

/* ----------------------------------------------------------- determinism */

/* Bits of a matmul (packed path), a loss sum and a softmax, computed on be. */
static float *run_pipeline(nn_backend *be, size_t *count) {
    nn_error err = {0};
    const size_t m = 257, n = 130, k = 300, rows = 70001;
    float *a = tu_rand(m * k, 1, -1, 1), *b = tu_rand(k * n, 2, -1, 1);
    float *z = tu_rand(rows, 3, -8, 8), *t = targets(NN_LOSS_BCE, rows, 1, 4);
    nn_buf *ab = tu_upload(be, a, m * k), *bb = tu_upload(be, b, k * n),
           *cb = tu_upload(be, a, m * n);
    nn_buf *zb = tu_upload(be, z, rows), *tb = tu_upload(be, t, rows), *accb = tu_upload(be, z, 2);
    nn_view c = {cb, 0}, acc = {accb, 0};
    cr_assert_eq(be->ops->matmul(be, c, (nn_view){bb, 0}, (nn_view){ab, 0}, n, m, k, 1, 1, 0, &err),
                 NN_OK);
    cr_assert_eq(be->ops->act_forward(be, NN_ACT_SOFTMAX, c, c, n, m, &err), NN_OK);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(be->ops->loss_sum(be, NN_LOSS_BCE, acc, (nn_view){zb, 0}, (nn_view){tb, 0},
                                       rows, 1, &err),
                     NN_OK);
    cr_assert_eq(be->ops->sync(be, &err), NN_OK);
    *count = m * n + 1;
    float *out = malloc(*count * sizeof(float));
    cr_assert_eq(be->ops->read(be, c, out, m * n, &err), NN_OK);
    cr_assert_eq(be->ops->read(be, acc, out + m * n, 1, &err), NN_OK); /* high part of the pair */
    be->ops->release(be, ab), be->ops->release(be, bb), be->ops->release(be, cb);
    be->ops->release(be, zb), be->ops->release(be, tb), be->ops->release(be, accb);
    free(a), free(b), free(z), free(t);
    return out;
}

Test(opencl_ops, repeated_runs_are_bit_identical) {
    nn_backend *be = open_ocl_or_skip(NULL);
    size_t n1, n2;
    float *r1 = run_pipeline(be, &n1), *r2 = run_pipeline(be, &n2);
    cr_assert_eq(n1, n2);
    cr_assert(memcmp(r1, r2, n1 * sizeof(float)) == 0, "second run differs");
    nn_backend_close(be);
    /* and on a fresh backend (new program, new buffers) */
    be = open_ocl_or_skip(NULL);
    float *r3 = run_pipeline(be, &n2);
    cr_assert(memcmp(r1, r3, n1 * sizeof(float)) == 0, "a fresh backend differs");
    nn_backend_close(be);
    free(r1), free(r2), free(r3);
}

/* ------------------------------------------------- backend-level behaviour */

Test(opencl_ops, two_opencl_backends_in_one_process) {
    nn_backend *b1 = open_ocl_or_skip(NULL), *b2 = open_ocl_or_skip(NULL);
    size_t n;
    float *r1 = run_pipeline(b1, &n);
    nn_backend_close(b1);
    float *r2 = run_pipeline(b2, &n);
    cr_assert(memcmp(r1, r2, n * sizeof(float)) == 0);
    nn_backend_close(b2);
    free(r1), free(r2);
}

Test(opencl_ops, device_description_and_threads) {
    nn_backend *be = open_ocl_or_skip(NULL);
    const char *d = nn_backend_device(be);
    cr_assert(strlen(d) > 3 && strchr(d, '(') && d[strlen(d) - 1] == ')', "device '%s'", d);
    cr_assert_eq(nn_backend_threads(be), 0);
    nn_backend_close(be);
}

Test(opencl_ops, profiling_counts_kernels_and_transfers) {
    nn_backend_config cfg = {0, NULL, 1};
    nn_backend *be = open_ocl_or_skip(&cfg);
    size_t n;
    free(run_pipeline(be, &n));
    nn_profile pr;
    nn_backend_profile(be, &pr);
    cr_assert(pr.kernel_launches >= 5, "%ld launches", pr.kernel_launches);
    cr_assert(pr.transfers >= 6, "%ld transfers", pr.transfers);
    cr_assert(pr.kernel_seconds > 0 && pr.transfer_seconds >= 0 && pr.build_seconds > 0);
    nn_backend_close(be);
    /* without profiling: zeros */
    be = open_ocl_or_skip(NULL);
    free(run_pipeline(be, &n));
    nn_backend_profile(be, &pr);
    cr_assert(pr.kernel_launches == 0 && pr.kernel_seconds == 0 && pr.build_seconds == 0);
    nn_backend_close(be);
}

Test(opencl_ops, views_past_the_buffer_are_invalid) {
    nn_backend *be = open_ocl_or_skip(NULL);
    nn_error err = {0};
    nn_buf *b = NULL;
    cr_assert_eq(be->ops->alloc(be, 10, &b, &err), NN_OK);
    float x[16] = {0};
    cr_assert_eq(be->ops->write(be, (nn_view){b, 5}, x, 6, &err), NN_E_INVALID);
    cr_assert_eq(be->ops->read(be, (nn_view){b, 11}, x, 0, &err), NN_E_INVALID);
    cr_assert_eq(be->ops->fill(be, (nn_view){b, 0}, 1.0f, 11, &err), NN_E_INVALID);
    cr_assert_eq(be->ops->matmul(be, (nn_view){b, 0}, (nn_view){b, 0}, (nn_view){b, 0}, 4, 4, 1, 0,
                                 0, 0, &err),
                 NN_E_INVALID);
    cr_assert(strstr(err.msg, "matmul"), "%s", err.msg);
    nn_buf *z = NULL;
    cr_assert_eq(be->ops->alloc(be, 0, &z, &err), NN_OK); /* size 0 works */
    cr_assert_eq(be->ops->write(be, (nn_view){z, 0}, x, 0, &err), NN_OK);
    cr_assert_eq(be->ops->fill(be, (nn_view){z, 0}, 1.0f, 0, &err), NN_OK);
    be->ops->release(be, z);
    be->ops->release(be, b);
    nn_backend_close(be);
}

/* ------------------------------------------------------ device selection */

Test(opencl_ops, device_by_index_and_name) {
#ifdef NN_HAVE_OPENCL
    nn_opencl_device_info *devs = NULL;
    size_t count = 0;
    nn_error err = {0};
    if (nn_opencl_list_devices(&devs, &count, &err) != NN_OK)
        cr_skip_test("no usable OpenCL device: %s", err.msg);
    nn_backend_config cfg = {0, "0", 0};
    nn_backend *be = open_ocl_or_skip(&cfg);
    cr_assert(strstr(nn_backend_device(be), devs[0].name), "%s", nn_backend_device(be));
    nn_backend_close(be);
    /* a case-changed substring of the last device's name */
    char sub[8] = {0};
    size_t len = strlen(devs[count - 1].name);
    for (size_t i = 0; i < 6 && i < len; i++) {
        char ch = devs[count - 1].name[len > 6 ? len - 6 + i : i];
        sub[i] = (char)(ch >= 'a' && ch <= 'z' ? ch - 32 : ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
    }
    cfg.device = sub;
    be = open_ocl_or_skip(&cfg);
    nn_backend_close(be);
    /* exactly one default; "auto" marks a GPU or accelerator only */
    int defaults = 0;
    for (size_t i = 0; i < count; i++) {
        defaults += devs[i].is_default;
        if (devs[i].is_auto) cr_assert(strcmp(devs[i].type, "CPU") != 0);
        cr_assert_eq(devs[i].index, i);
    }
    cr_assert_eq(defaults, 1);
    free(devs);
#else
    cr_skip_test("built without OpenCL");
#endif
}

Test(opencl_ops, unknown_device_lists_what_exists) {
    nn_backend_config cfg = {0, "no-such-device-xyz", 0};
    nn_backend *be = NULL;
    nn_error err = {0};
    nn_status st = nn_backend_open("opencl", &cfg, &be, &err);
    if (st == NN_E_UNAVAILABLE) cr_skip_test("no usable OpenCL device: %s", err.msg);
    cr_assert_eq(st, NN_E_INVALID, "%s", err.msg);
    cr_assert(strstr(err.msg, "no-such-device-xyz") && strstr(err.msg, "0: "), "%s", err.msg);
    cfg.device = "4096";
    cr_assert_eq(nn_backend_open("opencl", &cfg, &be, &err), NN_E_INVALID);
    /* the environment variable is used when cfg->device is NULL */
    cr_assert_eq(setenv("NN_OPENCL_DEVICE", "also-missing", 1), 0);
    cr_assert_eq(nn_backend_open("opencl", NULL, &be, &err), NN_E_INVALID);
    cr_assert(strstr(err.msg, "also-missing"), "%s", err.msg);
}

/* ---------------------------------------------- kernel sources and build */

#ifdef NN_SOURCE_DIR
/* Copy kernels/ *.cl into a new temporary folder; if `break_file` is set,
 * append a syntax error to that file. Returns the folder (malloc'ed). */
static char *kernel_copy(const char *break_file) {
    return tu_kernel_copy(break_file, NULL,
                          "\n__kernel void nn_broken(__global float *x) { x[0] = undeclared_name; }\n");
}

/* Remove a folder made by kernel_copy and free its name. */
Test(opencl_ops, kernel_dir_overrides_the_embedded_sources) {
    char *dir = kernel_copy(NULL);
    cr_assert_eq(setenv("NN_KERNEL_DIR", dir, 1), 0);
    pair p = open_pair();
    check_matmul(&p, 33, 17, 9, 1, 1, 1);
    close_pair(&p);
    tu_rmtree(dir);
}

Test(opencl_ops, build_failure_reports_the_log) {
    nn_backend_close(open_ocl_or_skip(NULL));
    char *dir = kernel_copy("loss.cl");
    cr_assert_eq(setenv("NN_KERNEL_DIR", dir, 1), 0);
    nn_backend *be = NULL;
    nn_error err = {0};
    nn_status st = nn_backend_open("opencl", NULL, &be, &err);
    cr_assert_eq(st, NN_E_UNAVAILABLE, "%s", err.msg);
    char *nl = strchr(err.msg, '\n');
    cr_assert(nl, "summary line then the log: %s", err.msg);
    cr_assert(strstr(err.msg, "CL_BUILD_PROGRAM_FAILURE") < nl, "%s", err.msg);
    cr_assert(strstr(nl, "undeclared_name"), "the log names the error: %s", err.msg);
    tu_rmtree(dir);
}

Test(opencl_ops, missing_kernel_dir_is_reported) {
    nn_backend_close(open_ocl_or_skip(NULL));
    cr_assert_eq(setenv("NN_KERNEL_DIR", "/nonexistent/kernels", 1), 0);
    nn_backend *be = NULL;
    nn_error err = {0};
    nn_status st = nn_backend_open("opencl", NULL, &be, &err);
    cr_assert_eq(st, NN_E_UNAVAILABLE, "%s", err.msg);
    cr_assert(strstr(err.msg, "/nonexistent/kernels/"), "%s", err.msg);
}
#endif
