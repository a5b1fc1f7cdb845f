/* test_fused.c — the CPU backend's fused ops and what they are built from:
 *  - GEMM epilogues on every instruction-set path this CPU runs, all
 *    transposes, direct and blocked shapes, teams of 1-3 threads: the simple
 *    part (bias, ReLU, mask; in the kernels' registers where they can) gives
 *    the bits of plain C, and each entry of c goes through the callback
 *    exactly once, after it is final;
 *  - every fused op gives the same bits as its composition of plain ops, on
 *    odd shapes, for 1, 2 and 3 threads, with canaries around every output;
 *  - the AVX-512 loops added for them give the bits of the portable ones. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu_ops.h"
#include "cpu/cpu_ops_avx512.h"
#include "cpu/gemm_internal.h"
#include "testutil.h"

#define PAD 11 /* canaries on each side of a buffer (odd: unaligned views) */
#define CANARY (-3333.5f)

static const nn_cpu_path PATHS[] = {NN_CPU_PATH_C, NN_CPU_PATH_AVX2, NN_CPU_PATH_AVX512};
#define NPATHS (sizeof PATHS / sizeof PATHS[0])

/* ------------------------------------------------------- GEMM epilogues */

/* An epilogue that marks each entry and records its value when visited,
 * then rewrites it as 0.5 c + 1. */
typedef struct record_epi {
    nn_gemm_epi base;
    int *visits;  /* (m, n) */
    float *seen;  /* (m, n) */
} record_epi;

static void record_fn(const nn_gemm_epi *e, float *c, size_t n, size_t i0, size_t i1, size_t j0,
                      size_t j1) {
    const record_epi *r = (const record_epi *)e;
    for (size_t i = i0; i < i1; i++)
        for (size_t j = j0; j < j1; j++) {
            r->visits[i * n + j]++; /* blocks are disjoint: no two threads touch one entry */
            r->seen[i * n + j] = c[i * n + j];
            c[i * n + j] = 0.5f * c[i * n + j] + 1.0f;
        }
}

/* The simple part of an epilogue (gemm.h) on entry (i, j), as plain C. */
static float simple_ref(const nn_gemm_epi *e, float v, size_t i, size_t j, size_t n) {
    if (e->bias) v = v + e->bias[j];
    if (e->relu) v = v > 0.0f ? v : 0.0f;
    if (e->mask) v = e->mask[i * n + j] > 0.0f ? v : 0.0f;
    return v;
}

/* variant: bit 0 bias, bit 1 relu, bit 2 mask, bit 3 no fn (simple part only) */
static void check_epilogue(nn_cpu_path path, nn_team *team, size_t m, size_t n, size_t k, int ta,
                           int tb, int acc, int variant) {
    float *a = malloc((m * k + 1) * sizeof(float)), *b = malloc((k * n + 1) * sizeof(float));
    float *plain = malloc(m * n * sizeof(float)), *fused = malloc(m * n * sizeof(float));
    float *seen = malloc(m * n * sizeof(float)), *bias = malloc(n * sizeof(float));
    float *mask = malloc(m * n * sizeof(float));
    int *visits = calloc(m * n, sizeof(int));
    tu_fill_uniform(a, m * k, m * 7 + k, -1.0f, 1.0f);
    tu_fill_uniform(b, k * n, n * 5 + k, -1.0f, 1.0f);
    tu_fill_uniform(plain, m * n, 99, -1.0f, 1.0f);
    tu_fill_uniform(bias, n, 98, -1.0f, 1.0f);
    tu_fill_uniform(mask, m * n, 97, -1.0f, 1.0f);
    memcpy(fused, plain, m * n * sizeof(float));
    const nn_par one = {NULL, 1};
    nn_cpu_gemm(path, NULL, &one, NULL, plain, a, b, m, n, k, ta, tb, acc);
    const int with_fn = !(variant & 8);
    record_epi epi = {{with_fn ? record_fn : NULL, variant & 1 ? bias : NULL, (variant >> 1) & 1,
                       variant & 4 ? mask : NULL},
                      visits, seen};
    nn_gemm_workspace ws = {NULL, 0};
    const nn_par par = {team, 0};
    nn_cpu_gemm(path, &ws, &par, &epi.base, fused, a, b, m, n, k, ta, tb, acc);
    for (size_t e = 0; e < m * n; e++) {
        const float want_seen = simple_ref(&epi.base, plain[e], e / n, e % n, n);
        const float want = with_fn ? 0.5f * want_seen + 1.0f : want_seen;
        if (with_fn) {
            cr_assert_eq(visits[e], 1, "%s %zux%zux%zu ta%d tb%d: entry %zu visited %d times",
                         nn_cpu_path_name(path), m, n, k, ta, tb, e, visits[e]);
            cr_assert(memcmp(&seen[e], &want_seen, sizeof(float)) == 0,
                      "%s %zux%zux%zu ta%d tb%d v%d: entry %zu not final when visited (%g vs %g)",
                      nn_cpu_path_name(path), m, n, k, ta, tb, variant, e, (double)seen[e],
                      (double)want_seen);
        }
        cr_assert(memcmp(&fused[e], &want, sizeof(float)) == 0,
                  "%s %zux%zux%zu ta%d tb%d v%d: epilogue result at %zu: %g vs %g",
                  nn_cpu_path_name(path), m, n, k, ta, tb, variant, e, (double)fused[e],
                  (double)want);
    }
    nn_gemm_workspace_free(&ws);
    free(a), free(b), free(plain), free(fused), free(seen), free(visits), free(bias), free(mask);
}

Test(fused, gemm_epilogue_visits_each_final_entry_once) {
    /* direct (small, skinny, narrow, k <= 4, vector-matrix) and blocked shapes */
    static const size_t shapes[][3] = {
        {1, 1, 1},   {7, 8, 2},    {800, 8, 2},  {800, 1, 8},  {800, 8, 1},  {2, 8, 800},
        {8, 1, 800}, {33, 17, 5},  {13, 40, 3},  {64, 64, 64}, {256, 64, 16}, {37, 70, 300},
        {16, 257, 9}, {300, 33, 1}, {3, 5, 1000},
    };
    for (int teams = 1; teams <= 3; teams++) {
        nn_team *team;
        nn_error err;
        cr_assert_eq(nn_team_create(teams, 0, &team, &err), NN_OK); /* helpers always offered */
        for (size_t q = 0; q < NPATHS; q++) {
            if (!nn_cpu_path_supported(PATHS[q])) continue;
            for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
                for (int t = 0; t < 4; t++)
                    for (int v = 0; v < 16; v += (t & 1 ? 5 : 1)) /* every variant with op(a) = a */
                        check_epilogue(PATHS[q], team, shapes[s][0], shapes[s][1], shapes[s][2],
                                       t & 1, t >> 1, s % 2, v);
        }
        nn_team_free(team);
    }
}

/* --------------------------------------------- fused ops vs compositions */

/* A buffer of n elements with canaries, filled from a seed (or with CANARY). */
typedef struct gbuf {
    nn_buf *buf;
    nn_view v;
    size_t n;
} gbuf;

static gbuf gnew(nn_backend *be, size_t n, uint64_t seed, float lo, float hi) {
    float *h = malloc((n + 2 * PAD) * sizeof(float));
    for (size_t i = 0; i < n + 2 * PAD; i++) h[i] = CANARY;
    if (seed) tu_fill_uniform(h + PAD, n, seed, lo, hi);
    gbuf g = {tu_upload(be, h, n + 2 * PAD), {NULL, PAD}, n};
    g.v.buf = g.buf;
    free(h);
    return g;
}

/* The n elements, after checking the canaries. */
static float *gread(nn_backend *be, const gbuf *g) {
    float *all = tu_download(be, (nn_view){g->buf, 0}, g->n + 2 * PAD);
    for (size_t i = 0; i < PAD; i++) {
        cr_assert_eq(all[i], CANARY, "canary before the output overwritten");
        cr_assert_eq(all[PAD + g->n + i], CANARY, "canary after the output overwritten");
    }
    memmove(all, all + PAD, g->n * sizeof(float));
    return all;
}

static void gfree(nn_backend *be, gbuf *g) { be->ops->release(be, g->buf); }

static void assert_same(nn_backend *be, const gbuf *x, const gbuf *y, const char *what) {
    float *a = gread(be, x), *b = gread(be, y);
    for (size_t i = 0; i < x->n; i++)
        cr_assert(memcmp(&a[i], &b[i], sizeof(float)) == 0, "%s: element %zu: %.9g vs %.9g", what,
                  i, (double)a[i], (double)b[i]);
    free(a);
    free(b);
}

static const size_t ROWS[] = {1, 7, 33, 257, 800};
static const size_t WIDTHS[] = {1, 3, 8, 17, 64, 130};
#define N_ROWS (sizeof ROWS / sizeof ROWS[0])
#define N_WIDTHS (sizeof WIDTHS / sizeof WIDTHS[0])
static const nn_act ACTS[] = {NN_ACT_IDENTITY, NN_ACT_RELU, NN_ACT_SIGMOID, NN_ACT_TANH,
                              NN_ACT_SOFTMAX};

Test(fused, dense_forward_is_matmul_bias_act) {
    setenv("NN_CPU_TEAM", "fixed", 1); /* the threaded paths, even on a busy machine */
    nn_error err;
    for (int threads = 1; threads <= 3; threads++) {
        nn_backend *be = tu_open("cpu", threads);
        const struct nn_backend_ops *o = be->ops;
        for (size_t r = 0; r < N_ROWS; r++)
            for (size_t i = 0; i < N_WIDTHS; i++)
                for (size_t j = 0; j < N_WIDTHS; j++)
                    for (size_t q = 0; q < sizeof ACTS / sizeof ACTS[0]; q++) {
                        const size_t rows = ROWS[r], in = WIDTHS[i], out = WIDTHS[j];
                        const nn_act act = ACTS[q];
                        gbuf x = gnew(be, rows * in, 1 + r, -2.0f, 2.0f);
                        gbuf w = gnew(be, in * out, 2 + i, -1.0f, 1.0f);
                        gbuf b = gnew(be, out, 3 + j, -1.0f, 1.0f);
                        gbuf z0 = gnew(be, rows * out, 0, 0, 0), a0 = gnew(be, rows * out, 0, 0, 0);
                        gbuf z1 = gnew(be, rows * out, 0, 0, 0), a1 = gnew(be, rows * out, 0, 0, 0);
                        gbuf a2 = gnew(be, rows * out, 0, 0, 0); /* without z */
                        cr_assert_eq(o->matmul(be, z0.v, x.v, w.v, rows, out, in, 0, 0, 0, &err), NN_OK);
                        cr_assert_eq(o->bias_add(be, z0.v, b.v, rows, out, &err), NN_OK);
                        cr_assert_eq(o->act_forward(be, act, a0.v, z0.v, rows, out, &err), NN_OK);
                        cr_assert_eq(o->dense_forward(be, act, z1.v, a1.v, x.v, w.v, b.v, rows, in,
                                                      out, &err), NN_OK, "%s", err.msg);
                        assert_same(be, &z0, &z1, "dense_forward z");
                        assert_same(be, &a0, &a1, "dense_forward a");
                        if (act != NN_ACT_SOFTMAX && act != NN_ACT_IDENTITY) {
                            cr_assert_eq(o->dense_forward(be, act, (nn_view){NULL, 0}, a2.v, x.v, w.v,
                                                          b.v, rows, in, out, &err), NN_OK);
                            assert_same(be, &a0, &a2, "dense_forward a without z");
                        }
                        /* bias_act */
                        gbuf z3 = gnew(be, rows * out, 0, 0, 0), a3 = gnew(be, rows * out, 0, 0, 0);
                        cr_assert_eq(o->matmul(be, z3.v, x.v, w.v, rows, out, in, 0, 0, 0, &err), NN_OK);
                        cr_assert_eq(o->bias_act(be, act, z3.v, a3.v, b.v, rows, out, &err), NN_OK);
                        assert_same(be, &z0, &z3, "bias_act z");
                        assert_same(be, &a0, &a3, "bias_act a");
                        gbuf *all[] = {&x, &w, &b, &z0, &a0, &z1, &a1, &a2, &z3, &a3};
                        for (size_t g = 0; g < sizeof all / sizeof all[0]; g++) gfree(be, all[g]);
                    }
        nn_backend_close(be);
    }
}

Test(fused, dense_backward_is_matmul_act_backward_col_sum) {
    setenv("NN_CPU_TEAM", "fixed", 1);
    nn_error err;
    for (int threads = 1; threads <= 3; threads++) {
        nn_backend *be = tu_open("cpu", threads);
        const struct nn_backend_ops *o = be->ops;
        for (size_t r = 0; r < N_ROWS; r++)
            for (size_t i = 0; i < N_WIDTHS; i++)
                for (size_t j = 0; j < N_WIDTHS; j++)
                    for (size_t q = 0; q < 4; q++) { /* not softmax */
                        const size_t rows = ROWS[r], in = WIDTHS[i], out = WIDTHS[j];
                        const nn_act act = ACTS[q];
                        gbuf dz = gnew(be, rows * out, 11 + r, -1.0f, 1.0f);
                        gbuf w = gnew(be, in * out, 12 + i, -1.0f, 1.0f);
                        gbuf zp = gnew(be, rows * in, 13 + j, -2.0f, 2.0f);
                        gbuf yp = gnew(be, rows * in, 0, 0, 0);
                        cr_assert_eq(o->act_forward(be, act, yp.v, zp.v, rows, in, &err), NN_OK);
                        /* dx */
                        gbuf dx0 = gnew(be, rows * in, 0, 0, 0), dx1 = gnew(be, rows * in, 0, 0, 0);
                        gbuf dx2 = gnew(be, rows * in, 0, 0, 0);
                        cr_assert_eq(o->matmul(be, dx0.v, dz.v, w.v, rows, in, out, 0, 1, 0, &err), NN_OK);
                        cr_assert_eq(o->act_backward(be, act, dx0.v, dx0.v, zp.v, yp.v, rows, in, &err),
                                     NN_OK);
                        cr_assert_eq(o->dense_backward_dx(be, act, dx1.v, dz.v, w.v, zp.v, yp.v, rows,
                                                          in, out, &err), NN_OK, "%s", err.msg);
                        assert_same(be, &dx0, &dx1, "dense_backward_dx");
                        if (act != NN_ACT_IDENTITY) {
                            cr_assert_eq(o->dense_backward_dx(be, act, dx2.v, dz.v, w.v,
                                                              (nn_view){NULL, 0}, yp.v, rows, in,
                                                              out, &err), NN_OK);
                            assert_same(be, &dx0, &dx2, "dense_backward_dx without z");
                        }
                        /* dw, db (with x = yp as the layer's input) */
                        gbuf dw0 = gnew(be, in * out, 0, 0, 0), db0 = gnew(be, out, 0, 0, 0);
                        gbuf dw1 = gnew(be, in * out, 0, 0, 0), db1 = gnew(be, out, 0, 0, 0);
                        gbuf dw2 = gnew(be, in * out, 0, 0, 0);
                        cr_assert_eq(o->matmul(be, dw0.v, zp.v, dz.v, in, out, rows, 1, 0, 0, &err), NN_OK);
                        cr_assert_eq(o->col_sum(be, db0.v, dz.v, rows, out, &err), NN_OK);
                        cr_assert_eq(o->dense_backward_dw(be, dw1.v, db1.v, zp.v, dz.v, rows, in, out,
                                                          &err), NN_OK);
                        cr_assert_eq(o->dense_backward_dw(be, dw2.v, (nn_view){NULL, 0}, zp.v, dz.v,
                                                          rows, in, out, &err), NN_OK);
                        assert_same(be, &dw0, &dw1, "dense_backward_dw dw");
                        assert_same(be, &db0, &db1, "dense_backward_dw db");
                        assert_same(be, &dw0, &dw2, "dense_backward_dw without db");
                        /* act_backward_sum */
                        gbuf g0 = gnew(be, rows * in, 14 + q, -1.0f, 1.0f), g1 = gnew(be, rows * in, 0, 0, 0);
                        gbuf s0 = gnew(be, in, 0, 0, 0), s1 = gnew(be, in, 0, 0, 0);
                        cr_assert_eq(o->act_backward_sum(be, act, g1.v, s1.v, g0.v, zp.v, yp.v, rows,
                                                         in, &err), NN_OK);
                        cr_assert_eq(o->act_backward(be, act, g0.v, g0.v, zp.v, yp.v, rows, in, &err),
                                     NN_OK);
                        cr_assert_eq(o->col_sum(be, s0.v, g0.v, rows, in, &err), NN_OK);
                        assert_same(be, &g0, &g1, "act_backward_sum dz");
                        assert_same(be, &s0, &s1, "act_backward_sum db");
                        gbuf *all[] = {&dz, &w, &zp, &yp, &dx0, &dx1, &dx2, &dw0, &db0,
                                       &dw1, &db1, &dw2, &g0, &g1, &s0, &s1};
                        for (size_t g = 0; g < sizeof all / sizeof all[0]; g++) gfree(be, all[g]);
                    }
        nn_backend_close(be);
    }
}

Test(fused, loss_grad_sum_is_loss_sum_grad_col_sum) {
    nn_error err;
    static const nn_loss losses[] = {NN_LOSS_BCE, NN_LOSS_CE, NN_LOSS_MSE};
    for (int threads = 1; threads <= 2; threads++) {
        nn_backend *be = tu_open("cpu", threads);
        const struct nn_backend_ops *o = be->ops;
        for (size_t r = 0; r < N_ROWS; r++)
            for (size_t c = 0; c < 4; c++)
                for (size_t q = 0; q < 3; q++) {
                    const size_t rows = ROWS[r] * 13, cols = WIDTHS[c];
                    gbuf z = gnew(be, rows * cols, 21 + r, -30.0f, 30.0f);
                    gbuf y = gnew(be, rows * cols, 22 + c, 0.0f, 1.0f);
                    gbuf t = gnew(be, rows * cols, 23 + q, 0.0f, 1.0f);
                    gbuf acc0 = gnew(be, 2, 24, 0.0f, 1.0f), acc1 = gnew(be, 2, 0, 0, 0);
                    gbuf dz0 = gnew(be, rows * cols, 0, 0, 0), dz1 = gnew(be, rows * cols, 0, 0, 0);
                    gbuf db0 = gnew(be, cols, 0, 0, 0), db1 = gnew(be, cols, 0, 0, 0);
                    float init[2];
                    float *a0 = gread(be, &acc0);
                    memcpy(init, a0, sizeof init);
                    free(a0);
                    cr_assert_eq(o->write(be, acc1.v, init, 2, &err), NN_OK);
                    cr_assert_eq(o->loss_sum(be, losses[q], acc0.v, z.v, t.v, rows, cols, &err), NN_OK);
                    cr_assert_eq(o->loss_grad(be, losses[q], dz0.v, y.v, t.v, rows, cols, 0.37f, &err),
                                 NN_OK);
                    cr_assert_eq(o->col_sum(be, db0.v, dz0.v, rows, cols, &err), NN_OK);
                    cr_assert_eq(o->loss_grad_sum(be, losses[q], acc1.v, dz1.v, db1.v, z.v, y.v, t.v,
                                                  rows, cols, 0.37f, &err), NN_OK);
                    assert_same(be, &acc0, &acc1, "loss_grad_sum acc");
                    assert_same(be, &dz0, &dz1, "loss_grad_sum dz");
                    assert_same(be, &db0, &db1, "loss_grad_sum db");
                    gbuf *all[] = {&z, &y, &t, &acc0, &acc1, &dz0, &dz1, &db0, &db1};
                    for (size_t g = 0; g < sizeof all / sizeof all[0]; g++) gfree(be, all[g]);
                }
        nn_backend_close(be);
    }
}

Test(fused, dense_backward_dw_update_is_dw_then_update) {
    setenv("NN_CPU_TEAM", "fixed", 1);
    nn_error err;
    static const nn_optimizer opts[] = {NN_OPT_SGD, NN_OPT_MOMENTUM, NN_OPT_ADAM};
    for (int threads = 1; threads <= 3; threads++) {
        nn_backend *be = tu_open("cpu", threads);
        const struct nn_backend_ops *o = be->ops;
        for (size_t r = 0; r < N_ROWS; r++)
            for (size_t i = 0; i < N_WIDTHS; i += 2)
                for (size_t j = 1; j < N_WIDTHS; j += 2)
                    for (size_t q = 0; q < 3; q++) {
                        const size_t rows = ROWS[r], in = WIDTHS[i], out = WIDTHS[j];
                        const size_t np = in * out + out; /* W then b */
                        const nn_opt_step st = {.kind = opts[q], .lr = 0.05f, .momentum = 0.9f,
                                                .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                                                .t = 3, .c1 = 1.37f, .c2 = 334.0f};
                        gbuf x = gnew(be, rows * in, 31 + r, -1.0f, 1.0f);
                        gbuf dz = gnew(be, rows * out, 32 + j, -1.0f, 1.0f);
                        gbuf p0 = gnew(be, np, 33, -1.0f, 1.0f), p1 = gnew(be, np, 33, -1.0f, 1.0f);
                        gbuf m0 = gnew(be, np, 34, -0.1f, 0.1f), m1 = gnew(be, np, 34, -0.1f, 0.1f);
                        gbuf v0 = gnew(be, np, 35, 0.0f, 0.1f), v1 = gnew(be, np, 35, 0.0f, 0.1f);
                        gbuf g0 = gnew(be, np, 0, 0, 0), g1 = gnew(be, np, 0, 0, 0);
                        cr_assert_eq(o->dense_backward_dw(be, g0.v, (nn_view){g0.v.buf, g0.v.off + in * out}, x.v,
                                                          dz.v, rows, in, out, &err), NN_OK);
                        cr_assert_eq(o->update(be, &st, p0.v, g0.v, m0.v, v0.v, np, &err), NN_OK);
                        cr_assert_eq(o->dense_backward_dw_update(be, g1.v, x.v, dz.v, rows, in, out,
                                                                 &st, p1.v, m1.v, v1.v, &err),
                                     NN_OK, "%s", err.msg);
                        assert_same(be, &g0, &g1, "dw_update gradients");
                        assert_same(be, &p0, &p1, "dw_update parameters");
                        assert_same(be, &m0, &m1, "dw_update first moment");
                        assert_same(be, &v0, &v1, "dw_update second moment");
                        gbuf *all[] = {&x, &dz, &p0, &p1, &m0, &m1, &v0, &v1, &g0, &g1};
                        for (size_t g = 0; g < sizeof all / sizeof all[0]; g++) gfree(be, all[g]);
                    }
        nn_backend_close(be);
    }
}

/* Weights after a few steps of mini-batch training on teacher data. */
static float *train_weights(int threads, const size_t *sizes, size_t n_sizes, nn_optimizer opt,
                            size_t *count) {
    nn_data_spec spec = nn_data_spec_default(NN_DATA_TEACHER);
    spec.samples = 1500;
    spec.features = sizes[0];
    nn_dataset ds;
    nn_error err;
    cr_assert_eq(nn_data_generate(&spec, &ds, &err), NN_OK, "%s", err.msg);
    nn_backend *be = tu_open("cpu", threads);
    nn_model_config mc = {.n_sizes = n_sizes, .hidden = NN_ACT_RELU, .loss = NN_LOSS_BCE, .seed = 5};
    for (size_t i = 0; i < n_sizes; i++) mc.sizes[i] = sizes[i];
    nn_model *m = NULL;
    cr_assert_eq(nn_model_create(be, &mc, &m, &err), NN_OK, "%s", err.msg);
    nn_train_config tc = nn_train_config_default();
    tc.epochs = 2;
    tc.batch = 300;
    tc.optimizer = opt;
    tc.lr = opt == NN_OPT_ADAM ? 0.01 : 0.05;
    nn_source src = nn_source_from_dataset(&ds);
    nn_train_result res;
    cr_assert_eq(nn_train(m, &src, &tc, &res, &err), NN_OK, "%s", err.msg);
    *count = nn_model_param_count(m);
    float *w = malloc(*count * sizeof(float));
    cr_assert_eq(nn_model_get_params(m, w, *count, &err), NN_OK);
    nn_model_free(m);
    nn_backend_close(be);
    nn_dataset_free(&ds);
    return w;
}

Test(fused, training_is_bit_identical_for_1_2_3_threads) {
    setenv("NN_CPU_TEAM", "fixed", 1); /* every job offered to every thread, even when busy */
    static const size_t shapes[][4] = {{16, 64, 64, 1}, {33, 130, 17, 1}, {256, 200, 1, 0}};
    static const nn_optimizer opts[] = {NN_OPT_SGD, NN_OPT_ADAM};
    for (size_t s = 0; s < 3; s++)
        for (size_t q = 0; q < 2; q++) {
            const size_t n = shapes[s][3] ? 4 : 3;
            size_t c1, c2, c3;
            float *w1 = train_weights(1, shapes[s], n, opts[q], &c1);
            float *w2 = train_weights(2, shapes[s], n, opts[q], &c2);
            float *w3 = train_weights(3, shapes[s], n, opts[q], &c3);
            cr_assert(c1 == c2 && c1 == c3);
            cr_assert(memcmp(w1, w2, c1 * sizeof(float)) == 0, "shape %zu: 1 vs 2 threads", s);
            cr_assert(memcmp(w1, w3, c1 * sizeof(float)) == 0, "shape %zu: 1 vs 3 threads", s);
            free(w1), free(w2), free(w3);
        }
    unsetenv("NN_CPU_TEAM");
}

/* ------------------------------------------------------ AVX-512 loops */

Test(fused, bce_elems_simd_matches_portable_and_libm) {
    enum { N = 4099 };
    float *z = malloc(N * sizeof(float)), *t = malloc(N * sizeof(float));
    double *v = malloc(N * sizeof(double)), *s = malloc(N * sizeof(double));
    tu_fill_uniform(z, N, 5, -60.0f, 60.0f);
    tu_fill_uniform(t, N, 6, 0.0f, 1.0f);
    /* edges: 0, tiny, saturated, beyond exp's range, non-finite */
    const float edge[] = {0.0f, -0.0f, 1e-30f, -1e-30f, 36.0f, -36.0f, 700.0f, -700.0f,
                          709.0f, -709.0f, 3e38f, -3e38f, INFINITY, -INFINITY, NAN};
    memcpy(z, edge, sizeof edge);
    for (size_t n = 0; n <= N; n += n < 20 ? 1 : 997) {
        nn_cpu_bce_elems(NN_CPU_PATH_AVX512, v, z, t, n);
        nn_cpu_bce_elems(NN_CPU_PATH_C, s, z, t, n);
        for (size_t i = 0; i < n; i++)
            cr_assert(memcmp(&v[i], &s[i], sizeof(double)) == 0 || (isnan(v[i]) && isnan(s[i])),
                      "n %zu, element %zu (z %g): simd %.17g, portable %.17g", n, i, (double)z[i],
                      v[i], s[i]);
    }
    const double cap = -log(NN_BCE_EPS);
    nn_cpu_bce_elems(NN_CPU_PATH_C, s, z, t, N);
    for (size_t i = 0; i < N; i++) {
        const long double zl = z[i], tl = t[i];
        if (!isfinite(z[i])) {
            cr_assert(isnan(s[i]), "a non-finite logit gives NaN");
            continue;
        }
        long double ref = (zl > 0 ? zl : 0) - zl * tl + log1pl(expl(-fabsl(zl)));
        if (ref > cap) ref = cap;
        cr_assert(fabsl(s[i] - ref) <= 1e-15L * fabsl(ref) + 1e-300L, "z %g: %.17g vs %.17Lg",
                  (double)z[i], s[i], ref);
    }
    free(z), free(t), free(v), free(s);
}

/* loss_sum's BCE in its documented order (cpu_ops.h, NN_CPU_LOSS_BLOCKS),
 * bit for bit, for 1-3 threads: blocks of a row or two (small batches),
 * blocks that end inside a batch of elements, rows of several columns. */
Test(fused, bce_loss_sum_in_block_order) {
    setenv("NN_CPU_TEAM", "fixed", 1);
    const size_t rows_list[] = {1, 2, 63, 64, 65, 129, 257, 4099, 40000}, cols_list[] = {1, 3};
    for (size_t ir = 0; ir < sizeof rows_list / sizeof rows_list[0]; ir++)
        for (size_t ic = 0; ic < 2; ic++) {
            const size_t rows = rows_list[ir], cols = cols_list[ic], n = rows * cols;
            float *z = malloc(n * sizeof(float)), *t = malloc(n * sizeof(float));
            double *e = malloc(n * sizeof(double));
            tu_fill_uniform(z, n, 7 + ir, -30.0f, 30.0f);
            for (size_t i = 0; i < n; i++) t[i] = (float)(i % 3 == 0);
            nn_cpu_bce_elems(NN_CPU_PATH_C, e, z, t, n);
            const size_t per = (rows + NN_CPU_LOSS_BLOCKS - 1) / NN_CPU_LOSS_BLOCKS;
            double total = 0.0;
            for (size_t r0 = 0; r0 < rows; r0 += per) {
                double block = 0.0;
                for (size_t r = r0; r < r0 + per && r < rows; r++) {
                    double row = 0.0;
                    for (size_t j = 0; j < cols; j++) row += e[r * cols + j];
                    block += row;
                }
                total += block;
            }
            const double sum = (double)0.25f + total;
            const float want[2] = {(float)sum, (float)(sum - (double)(float)sum)};
            for (int threads = 1; threads <= 3; threads++) {
                nn_backend *be = tu_open("cpu", threads);
                nn_error err;
                const float start[2] = {0.25f, 0.0f};
                nn_buf *zb = tu_upload(be, z, n), *tb = tu_upload(be, t, n);
                nn_buf *acc = tu_upload(be, start, 2);
                cr_assert_eq(be->ops->loss_sum(be, NN_LOSS_BCE, (nn_view){acc, 0},
                                               (nn_view){zb, 0}, (nn_view){tb, 0}, rows, cols,
                                               &err),
                             NN_OK);
                float *got = tu_download(be, (nn_view){acc, 0}, 2);
                cr_assert(memcmp(got, want, sizeof want) == 0,
                          "rows %zu cols %zu, %d threads: %.9g %.9g, want %.9g %.9g", rows, cols,
                          threads, got[0], got[1], want[0], want[1]);
                free(got);
                be->ops->release(be, zb), be->ops->release(be, tb), be->ops->release(be, acc);
                nn_backend_close(be);
            }
            free(z), free(t), free(e);
        }
    unsetenv("NN_CPU_TEAM");
}

Test(fused, avx512_relu_backward_block_matches_scalar) {
    if (!NN_CPU_HAVE_AVX512 || !nn_cpu_path_supported(NN_CPU_PATH_AVX512))
        cr_skip_test("no AVX-512 on this CPU");
    enum { LD = 37 };
    static const size_t rows_[] = {1, 5, 16}, cols_[] = {1, 15, 16, 17, 33, 37};
    float zin[16 * LD], bias[LD];
    tu_fill_uniform(zin, 16 * LD, 8, -1.0f, 1.0f);
    tu_fill_uniform(bias, LD, 9, -1.0f, 1.0f);
    for (size_t a = 0; a < 3; a++)
        for (size_t b = 0; b < 6; b++) {
            const size_t rows = rows_[a], cols = cols_[b];
            float dz[16 * LD], want_dz[16 * LD], dy[16 * LD];
            for (size_t i = 0; i < 16 * LD; i++) dz[i] = want_dz[i] = CANARY;
            for (size_t r = 0; r < rows; r++)
                for (size_t j = 0; j < cols; j++)
                    want_dz[r * LD + j] = zin[r * LD + j] > 0.0f ? bias[j] * 3.0f : 0.0f;
            for (size_t r = 0; r < 16; r++)
                for (size_t j = 0; j < LD; j++) dy[r * LD + j] = bias[j] * 3.0f;
            nn_avx512_relu_backward_block(dz, dy, zin, LD, rows, cols);
            cr_assert(memcmp(dz, want_dz, sizeof dz) == 0, "relu_backward_block %zux%zu", rows,
                      cols);
        }
}
