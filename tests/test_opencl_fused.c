/* test_opencl_fused.c — the fused ops of the OpenCL backend (bias_act,
 * act_backward_sum, loss_grad_sum) against the CPU backend (the numerical
 * reference) and against the OpenCL backend's own plain ops, on odd shapes
 * with canaries around every output and odd offsets on every view. Without a
 * usable OpenCL device each test is reported as skipped.
 *
 * Tolerances, as in test_opencl_ops.c:
 *  - transcendental activations (sigmoid, tanh, softmax): TRANSCENDENTAL_ULPS
 *    ulp against the CPU;
 *  - the same float arithmetic on both sides (bias, ReLU, every derivative,
 *    the loss gradient, column sums in col_sum's order): bit-identical;
 *  - loss sums: LOSS_RTOL relative against the CPU (the summation orders
 *    differ);
 *  - each fused kernel against the plain kernels it replaces on OpenCL:
 *    bit-identical (the same expressions; the loss sum's first reduction
 *    level in the same order). */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "testutil.h"
#include "tu_guard.h"

typedef tu_gbuf gbuf;

#define TRANSCENDENTAL_ULPS 8.0
#define LOSS_RTOL 2e-6

static const size_t ROWS[] = {1, 7, 33, 65, 257, 1000};
static const size_t COLS[] = {1, 2, 3, 8, 33, 65};
#define NROWS (sizeof ROWS / sizeof ROWS[0])
#define NCOLS (sizeof COLS / sizeof COLS[0])

typedef struct pair {
    nn_backend *cpu, *ocl;
} pair;

static pair open_pair(void) {
    pair p = {NULL, tu_open_opencl()};
    if (!p.ocl) cr_skip_test("no usable OpenCL device");
    p.cpu = tu_open("cpu", 2);
    return p;
}

static void close_pair(pair *p) {
    nn_backend_close(p->ocl);
    nn_backend_close(p->cpu);
}



static int close_ulps(float got, float ref, double ulps) {
    if (isnan(got) || isnan(ref)) return isnan(got) && isnan(ref);
    if (memcmp(&got, &ref, sizeof got) == 0) return 1;
    if (ulps == 0) return 0;
    const double scale = fmax(fabs((double)got), fabs((double)ref));
    return fabs((double)got - (double)ref) <= 1e-30 + ulps * FLT_EPSILON * scale;
}

/* Compare two guarded buffers (canaries checked on both). */
static void compare(gbuf *got, gbuf *ref, double ulps, const char *what, size_t rows,
                    size_t cols) {
    float *g = tu_gread(got, what), *r = tu_gread(ref, what);
    for (size_t i = 0; i < got->n; i++)
        cr_assert(close_ulps(g[i], r[i], ulps), "%s (%zu x %zu) [%zu]: %s %.9g, %s %.9g", what,
                  rows, cols, i, nn_backend_name(got->be), g[i], nn_backend_name(ref->be), r[i]);
    free(g);
    free(r);
}

static const nn_act ACTS[] = {NN_ACT_IDENTITY, NN_ACT_RELU, NN_ACT_SIGMOID, NN_ACT_TANH,
                              NN_ACT_SOFTMAX};

static void check_bias_act(pair *p, nn_act act, size_t rows, size_t cols, int in_place) {
    nn_error err = {0};
    const size_t n = rows * cols;
    float *z = tu_rand(n, n * 7 + act, -12, 12), *b = tu_rand(cols, cols + act, -2, 2);
    const double ulps = act == NN_ACT_SIGMOID || act == NN_ACT_TANH || act == NN_ACT_SOFTMAX
                            ? TRANSCENDENTAL_ULPS
                            : 0;
    gbuf zc = tu_gnew(p->cpu, z, n), ac = tu_gnew(p->cpu, NULL, n), bc = tu_gnew(p->cpu, b, cols);
    gbuf zo = tu_gnew(p->ocl, z, n), ao = tu_gnew(p->ocl, NULL, n), bo = tu_gnew(p->ocl, b, cols);
    gbuf zu = tu_gnew(p->ocl, z, n), au = tu_gnew(p->ocl, NULL, n); /* OpenCL, plain ops */
    gbuf *outc = in_place ? &zc : &ac, *outo = in_place ? &zo : &ao, *outu = in_place ? &zu : &au;
    cr_assert_eq(p->cpu->ops->bias_act(p->cpu, act, zc.v, outc->v, bc.v, rows, cols, &err), NN_OK);
    cr_assert_eq(p->ocl->ops->bias_act(p->ocl, act, zo.v, outo->v, bo.v, rows, cols, &err), NN_OK,
                 "%s", err.msg);
    cr_assert_eq(p->ocl->ops->bias_add(p->ocl, zu.v, bo.v, rows, cols, &err), NN_OK);
    cr_assert_eq(p->ocl->ops->act_forward(p->ocl, act, outu->v, zu.v, rows, cols, &err), NN_OK);
    if (!in_place) compare(&zo, &zc, 0, "bias_act z", rows, cols);
    compare(outo, outc, ulps, "bias_act a", rows, cols);
    if (!in_place) compare(&zo, &zu, 0, "bias_act z vs bias_add", rows, cols);
    compare(outo, outu, 0, "bias_act a vs bias_add + act_forward", rows, cols);
    gbuf *all[] = {&zc, &ac, &bc, &zo, &ao, &bo, &zu, &au};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) tu_gfree(all[i]);
    free(z);
    free(b);
}

Test(opencl_fused, bias_act) {
    pair p = open_pair();
    for (size_t q = 0; q < sizeof ACTS / sizeof ACTS[0]; q++) {
        for (size_t r = 0; r < NROWS; r++)
            for (size_t c = 0; c < NCOLS; c++) check_bias_act(&p, ACTS[q], ROWS[r], COLS[c], 0);
        check_bias_act(&p, ACTS[q], 33, 17, 1);
        check_bias_act(&p, ACTS[q], 0, 5, 0);
    }
    close_pair(&p);
}

static void check_act_backward_sum(pair *p, nn_act act, size_t rows, size_t cols, int in_place) {
    nn_error err = {0};
    const size_t n = rows * cols;
    float *z = tu_rand(n, n * 3 + act, -6, 6), *dy = tu_rand(n, n + 5 * act, -1, 1);
    if (n > 2) z[0] = 0.0f, z[1] = -0.0f;
    /* y from the CPU's forward, so that only the derivative is compared */
    gbuf zc = tu_gnew(p->cpu, z, n), yc = tu_gnew(p->cpu, NULL, n);
    cr_assert_eq(p->cpu->ops->act_forward(p->cpu, act, yc.v, zc.v, rows, cols, &err), NN_OK);
    float *y = tu_gread(&yc, "act_forward");
    gbuf zo = tu_gnew(p->ocl, z, n), yo = tu_gnew(p->ocl, y, n);
    gbuf dyc = tu_gnew(p->cpu, dy, n), dzc = tu_gnew(p->cpu, NULL, n);
    gbuf dyo = tu_gnew(p->ocl, dy, n), dzo = tu_gnew(p->ocl, NULL, n);
    gbuf dyu = tu_gnew(p->ocl, dy, n), dzu = tu_gnew(p->ocl, NULL, n);
    gbuf dbc = tu_gnew(p->cpu, NULL, cols), dbo = tu_gnew(p->ocl, NULL, cols);
    gbuf dbu = tu_gnew(p->ocl, NULL, cols);
    gbuf *oc = in_place ? &dyc : &dzc, *oo = in_place ? &dyo : &dzo, *ou = in_place ? &dyu : &dzu;
    cr_assert_eq(p->cpu->ops->act_backward_sum(p->cpu, act, oc->v, dbc.v, dyc.v, zc.v, yc.v, rows,
                                               cols, &err), NN_OK);
    cr_assert_eq(p->ocl->ops->act_backward_sum(p->ocl, act, oo->v, dbo.v, dyo.v, zo.v, yo.v, rows,
                                               cols, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(p->ocl->ops->act_backward(p->ocl, act, ou->v, dyu.v, zo.v, yo.v, rows, cols, &err),
                 NN_OK);
    cr_assert_eq(p->ocl->ops->col_sum(p->ocl, dbu.v, ou->v, rows, cols, &err), NN_OK);
    compare(oo, oc, 0, "act_backward_sum dz", rows, cols);
    compare(&dbo, &dbc, 0, "act_backward_sum db", rows, cols);
    compare(oo, ou, 0, "act_backward_sum dz vs act_backward", rows, cols);
    compare(&dbo, &dbu, 0, "act_backward_sum db vs col_sum", rows, cols);
    gbuf *all[] = {&zc, &yc, &zo, &yo, &dyc, &dzc, &dbc, &dyo, &dzo, &dbo, &dyu, &dzu, &dbu};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) tu_gfree(all[i]);
    free(z), free(dy), free(y);
}

Test(opencl_fused, act_backward_sum) {
    pair p = open_pair();
    for (size_t q = 0; q < 4; q++) { /* not softmax */
        for (size_t r = 0; r < NROWS; r++)
            for (size_t c = 0; c < NCOLS; c++)
                check_act_backward_sum(&p, ACTS[q], ROWS[r], COLS[c], 0);
        check_act_backward_sum(&p, ACTS[q], 65, 33, 1);
        check_act_backward_sum(&p, ACTS[q], 0, 3, 0);
    }
    nn_error err = {0};
    gbuf a = tu_gnew(p.ocl, NULL, 4), b = tu_gnew(p.ocl, NULL, 2);
    cr_assert_eq(p.ocl->ops->act_backward_sum(p.ocl, NN_ACT_SOFTMAX, a.v, b.v, a.v, a.v, a.v, 2, 2,
                                              &err), NN_E_INVALID, "softmax has no backward op");
    tu_gfree(&a), tu_gfree(&b);
    close_pair(&p);
}

/* Targets for a loss: {0,1} for BCE, one-hot rows for CE, reals for MSE. */
static float *targets(nn_loss loss, size_t rows, size_t cols, uint64_t seed) {
    float *t = tu_rand(rows * cols, seed, 0, 1);
    if (loss == NN_LOSS_MSE) return t;
    for (size_t r = 0; r < rows; r++) {
        const size_t hot = (size_t)(t[r * cols] * (float)cols) % cols;
        for (size_t j = 0; j < cols; j++)
            t[r * cols + j] = loss == NN_LOSS_BCE ? (t[r * cols + j] > 0.5f) : (j == hot);
    }
    return t;
}

/* loss_grad_sum with (want_acc, want_db) on both backends, and the plain
 * OpenCL ops it replaces. */
static void check_loss_grad_sum(pair *p, nn_loss loss, size_t rows, size_t cols, int want_acc,
                                int want_db) {
    nn_error err = {0};
    const size_t n = rows * cols;
    float *z = tu_rand(n, n + loss, -30, 30), *y = tu_rand(n, n + 2 * loss, 0, 1);
    float *t = targets(loss, rows, cols, n + 3);
    const float a0[2] = {1.5f, 0.0f}, scale = 1.0f / (float)(rows + 3);
    nn_backend *bes[3] = {p->cpu, p->ocl, p->ocl}; /* cpu, opencl fused, opencl plain */
    gbuf gz[3], gy[3], gt[3], gacc[3], gdz[3], gdb[3];
    for (int s = 0; s < 3; s++) {
        gz[s] = tu_gnew(bes[s], z, n), gy[s] = tu_gnew(bes[s], y, n), gt[s] = tu_gnew(bes[s], t, n);
        gacc[s] = tu_gnew(bes[s], a0, 2), gdz[s] = tu_gnew(bes[s], NULL, n);
        gdb[s] = tu_gnew(bes[s], NULL, cols);
    }
    const nn_view none = {NULL, 0};
    for (int s = 0; s < 2; s++)
        cr_assert_eq(bes[s]->ops->loss_grad_sum(bes[s], loss, want_acc ? gacc[s].v : none,
                                                gdz[s].v, want_db ? gdb[s].v : none, gz[s].v,
                                                gy[s].v, gt[s].v, rows, cols, scale, &err),
                     NN_OK, "%s", err.msg);
    nn_backend *o = p->ocl;
    if (want_acc)
        cr_assert_eq(o->ops->loss_sum(o, loss, gacc[2].v, gz[2].v, gt[2].v, rows, cols, &err), NN_OK);
    cr_assert_eq(o->ops->loss_grad(o, loss, gdz[2].v, gy[2].v, gt[2].v, rows, cols, scale, &err),
                 NN_OK);
    if (want_db) cr_assert_eq(o->ops->col_sum(o, gdb[2].v, gdz[2].v, rows, cols, &err), NN_OK);
    compare(&gdz[1], &gdz[0], 0, "loss_grad_sum dz", rows, cols);
    compare(&gdz[1], &gdz[2], 0, "loss_grad_sum dz vs loss_grad", rows, cols);
    if (want_db) {
        compare(&gdb[1], &gdb[0], 0, "loss_grad_sum db", rows, cols);
        compare(&gdb[1], &gdb[2], 0, "loss_grad_sum db vs col_sum", rows, cols);
    } else {
        compare(&gdb[1], &gdb[2], 0, "loss_grad_sum without db leaves db", rows, cols);
    }
    float *ac = tu_gread(&gacc[0], "acc"), *ao = tu_gread(&gacc[1], "acc");
    float *au = tu_gread(&gacc[2], "acc");
    const double sc = (double)ac[0] + ac[1], so = (double)ao[0] + ao[1];
    cr_assert(fabs(so - sc) <= LOSS_RTOL * fabs(sc) + 1e-6, "%s loss (%zu x %zu): opencl %.9g, cpu %.9g",
              nn_loss_name(loss), rows, cols, so, sc);
    cr_assert(memcmp(ao, au, 2 * sizeof(float)) == 0, "%s loss (%zu x %zu): fused %.9g, loss_sum %.9g",
              nn_loss_name(loss), rows, cols, so, (double)au[0] + au[1]);
    if (!want_acc) cr_assert(ao[0] == a0[0] && ao[1] == a0[1], "no acc: the pair is unchanged");
    free(ac), free(ao), free(au);
    for (int s = 0; s < 3; s++) {
        tu_gfree(&gz[s]), tu_gfree(&gy[s]), tu_gfree(&gt[s]);
        tu_gfree(&gacc[s]), tu_gfree(&gdz[s]), tu_gfree(&gdb[s]);
    }
    free(z), free(y), free(t);
}

Test(opencl_fused, loss_grad_sum) {
    pair p = open_pair();
    static const nn_loss losses[] = {NN_LOSS_BCE, NN_LOSS_CE, NN_LOSS_MSE};
    static const size_t rows[] = {1, 7, 255, 256, 257, 1000, 70000}; /* 1, 2, 3 reduction levels */
    for (size_t q = 0; q < 3; q++)
        for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++)
            for (size_t c = 0; c < 4; c++) {
                const size_t cols = losses[q] == NN_LOSS_BCE ? 1 : COLS[c] + 1;
                if (rows[r] > 1000 && c > 0) continue;
                for (int v = 0; v < 4; v++)
                    check_loss_grad_sum(&p, losses[q], rows[r], cols, v & 1, v >> 1);
            }
    close_pair(&p);
}
