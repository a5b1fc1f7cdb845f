/* test_cpu_ops.c — every CPU backend op against a straightforward
 * double-precision reference, on odd shapes, with canaries around outputs. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define PAD 16
#define CANARY 12345.678f
static const size_t SHAPES[] = {1, 7, 33, 257};
#define NSHAPES (sizeof SHAPES / sizeof SHAPES[0])

/* An output buffer of n elements with PAD canaries before and after. */
typedef struct guarded {
    nn_buf *buf;
    nn_view view; /* the n usable elements */
    size_t n;
} guarded;

static guarded guarded_new(nn_backend *be, size_t n) {
    guarded g = {NULL, {NULL, PAD}, n};
    float *init = malloc((n + 2 * PAD) * sizeof(float));
    for (size_t i = 0; i < n + 2 * PAD; i++) init[i] = CANARY;
    g.buf = tu_upload(be, init, n + 2 * PAD);
    g.view.buf = g.buf;
    free(init);
    return g;
}

/* Read the usable part and assert the canaries are intact. */
static float *guarded_read(nn_backend *be, guarded *g) {
    float *all = tu_download(be, (nn_view){g->buf, 0}, g->n + 2 * PAD);
    for (size_t i = 0; i < PAD; i++) {
        cr_assert_eq(all[i], CANARY, "canary before output overwritten at %zu", i);
        cr_assert_eq(all[PAD + g->n + i], CANARY, "canary after output overwritten at %zu", i);
    }
    float *out = malloc((g->n ? g->n : 1) * sizeof(float));
    memcpy(out, all + PAD, g->n * sizeof(float));
    free(all);
    return out;
}

static void assert_close(const float *got, const double *ref, size_t n, double atol, double rtol,
                         const char *what) {
    for (size_t i = 0; i < n; i++)
        cr_assert(fabs(got[i] - ref[i]) <= atol + rtol * fabs(ref[i]),
                  "%s[%zu]: got %.9g, reference %.9g", what, i, got[i], ref[i]);
}

Test(cpu_ops, matmul_all_transposes_against_double) {
    nn_backend *be = tu_open("cpu", 2);
    nn_error err;
    for (size_t im = 0; im < NSHAPES; im++)
        for (size_t in = 0; in < NSHAPES; in++)
            for (size_t ik = 0; ik < NSHAPES; ik++)
                for (int ta = 0; ta < 2; ta++)
                    for (int tb = 0; tb < 2; tb++) {
                        size_t m = SHAPES[im], n = SHAPES[in], k = SHAPES[ik];
                        float *a = malloc(m * k * sizeof(float)), *b = malloc(k * n * sizeof(float));
                        tu_fill_uniform(a, m * k, m * 31 + k, -1, 1);
                        tu_fill_uniform(b, k * n, n * 17 + k, -1, 1);
                        nn_buf *ab = tu_upload(be, a, m * k), *bb = tu_upload(be, b, k * n);
                        guarded c = guarded_new(be, m * n);
                        cr_assert_eq(be->ops->matmul(be, c.view, (nn_view){ab, 0}, (nn_view){bb, 0},
                                                     m, n, k, ta, tb, 0, &err), NN_OK);
                        float *got = guarded_read(be, &c);
                        for (size_t i = 0; i < m; i++)
                            for (size_t j = 0; j < n; j++) {
                                double s = 0, mag = 0;
                                for (size_t p = 0; p < k; p++) {
                                    double av = ta ? a[p * m + i] : a[i * k + p];
                                    double bv = tb ? b[j * k + p] : b[p * n + j];
                                    s += av * bv;
                                    mag += fabs(av * bv);
                                }
                                cr_assert(fabs(got[i * n + j] - s) <= 1e-6 + k * FLT_EPSILON * mag,
                                          "m=%zu n=%zu k=%zu ta=%d tb=%d c[%zu,%zu] %g vs %g", m, n,
                                          k, ta, tb, i, j, got[i * n + j], s);
                            }
                        free(got);
                        free(a);
                        free(b);
                        be->ops->release(be, ab);
                        be->ops->release(be, bb);
                        be->ops->release(be, c.buf);
                    }
    nn_backend_close(be);
}

Test(cpu_ops, bias_add_and_col_sum) {
    nn_backend *be = tu_open("cpu", 2);
    nn_error err;
    const size_t rows_list[] = {1, 7, 33, 257, 3000};
    for (size_t ir = 0; ir < 5; ir++)
        for (size_t ic = 0; ic < NSHAPES; ic++) {
            size_t rows = rows_list[ir], cols = SHAPES[ic];
            float *z = malloc(rows * cols * sizeof(float)), *b = malloc(cols * sizeof(float));
            tu_fill_uniform(z, rows * cols, rows + cols, -2, 2);
            tu_fill_uniform(b, cols, cols, -1, 1);
            guarded zg = guarded_new(be, rows * cols);
            cr_assert_eq(be->ops->write(be, zg.view, z, rows * cols, &err), NN_OK);
            nn_buf *bb = tu_upload(be, b, cols);
            cr_assert_eq(be->ops->bias_add(be, zg.view, (nn_view){bb, 0}, rows, cols, &err), NN_OK);
            float *got = guarded_read(be, &zg);
            double *ref = malloc(rows * cols * sizeof(double));
            for (size_t i = 0; i < rows * cols; i++) ref[i] = (double)z[i] + b[i % cols];
            assert_close(got, ref, rows * cols, 0, 1e-6, "bias_add");

            guarded sg = guarded_new(be, cols);
            cr_assert_eq(be->ops->col_sum(be, sg.view, zg.view, rows, cols, &err), NN_OK);
            float *sum = guarded_read(be, &sg);
            for (size_t j = 0; j < cols; j++) {
                double s = 0, mag = 0;
                for (size_t r = 0; r < rows; r++) s += got[r * cols + j], mag += fabs(got[r * cols + j]);
                cr_assert(fabs(sum[j] - s) <= rows * FLT_EPSILON * mag + 1e-6, "col_sum[%zu]", j);
            }
            free(z), free(b), free(got), free(ref), free(sum);
            be->ops->release(be, zg.buf);
            be->ops->release(be, sg.buf);
            be->ops->release(be, bb);
        }
    nn_backend_close(be);
}

static double ref_act(nn_act a, double z) {
    switch (a) {
    case NN_ACT_RELU: return z > 0 ? z : 0;
    case NN_ACT_SIGMOID: return 1.0 / (1.0 + exp(-z));
    case NN_ACT_TANH: return tanh(z);
    default: return z;
    }
}

static double ref_act_grad(nn_act a, double z) {
    switch (a) {
    case NN_ACT_RELU: return z > 0 ? 1 : 0;
    case NN_ACT_SIGMOID: { double s = 1.0 / (1.0 + exp(-z)); return s * (1 - s); }
    case NN_ACT_TANH: { double t = tanh(z); return 1 - t * t; }
    default: return 1;
    }
}

Test(cpu_ops, activations_forward_backward) {
    nn_backend *be = tu_open("cpu", 2);
    nn_error err;
    const nn_act acts[] = {NN_ACT_IDENTITY, NN_ACT_RELU, NN_ACT_SIGMOID, NN_ACT_TANH};
    const size_t n_list[] = {1, 7, 257, 70001};
    for (size_t ia = 0; ia < 4; ia++)
        for (size_t in = 0; in < 4; in++) {
            size_t n = n_list[in];
            float *z = malloc(n * sizeof(float)), *dy = malloc(n * sizeof(float));
            tu_fill_uniform(z, n, n, -30, 30); /* includes saturated values */
            tu_fill_uniform(dy, n, n + 1, -1, 1);
            nn_buf *zb = tu_upload(be, z, n), *dyb = tu_upload(be, dy, n);
            guarded y = guarded_new(be, n), dz = guarded_new(be, n);
            cr_assert_eq(be->ops->act_forward(be, acts[ia], y.view, (nn_view){zb, 0}, 1, n, &err), NN_OK);
            cr_assert_eq(be->ops->act_backward(be, acts[ia], dz.view, (nn_view){dyb, 0},
                                               (nn_view){zb, 0}, y.view, 1, n, &err), NN_OK);
            float *yg = guarded_read(be, &y), *dzg = guarded_read(be, &dz);
            double *yr = malloc(n * sizeof(double)), *dzr = malloc(n * sizeof(double));
            for (size_t i = 0; i < n; i++) {
                yr[i] = ref_act(acts[ia], z[i]);
                dzr[i] = dy[i] * ref_act_grad(acts[ia], z[i]);
            }
            assert_close(yg, yr, n, 1e-7, 1e-6, nn_act_name(acts[ia]));
            assert_close(dzg, dzr, n, 1e-7, 1e-5, "act_backward");
            for (size_t i = 0; i < n; i++) cr_assert(isfinite(yg[i]) && isfinite(dzg[i]));
            free(z), free(dy), free(yg), free(dzg), free(yr), free(dzr);
            be->ops->release(be, zb), be->ops->release(be, dyb);
            be->ops->release(be, y.buf), be->ops->release(be, dz.buf);
        }
    nn_backend_close(be);
}

Test(cpu_ops, softmax_rows_sum_to_one_and_match_reference) {
    nn_backend *be = tu_open("cpu", 2);
    nn_error err;
    for (size_t ir = 0; ir < NSHAPES; ir++)
        for (size_t ic = 0; ic < NSHAPES; ic++) {
            size_t rows = SHAPES[ir], cols = SHAPES[ic];
            float *z = malloc(rows * cols * sizeof(float));
            tu_fill_uniform(z, rows * cols, rows * cols, -50, 50);
            nn_buf *zb = tu_upload(be, z, rows * cols);
            guarded y = guarded_new(be, rows * cols);
            cr_assert_eq(be->ops->act_forward(be, NN_ACT_SOFTMAX, y.view, (nn_view){zb, 0}, rows,
                                              cols, &err), NN_OK);
            float *yg = guarded_read(be, &y);
            for (size_t r = 0; r < rows; r++) {
                double mx = -INFINITY, s = 0, tot = 0;
                for (size_t j = 0; j < cols; j++) mx = fmax(mx, z[r * cols + j]);
                for (size_t j = 0; j < cols; j++) s += exp(z[r * cols + j] - mx);
                for (size_t j = 0; j < cols; j++) {
                    double ref = exp(z[r * cols + j] - mx) / s;
                    cr_assert(fabs(yg[r * cols + j] - ref) <= 1e-7 + 1e-5 * ref);
                    tot += yg[r * cols + j];
                }
                cr_assert(fabs(tot - 1.0) < 1e-5);
            }
            free(z), free(yg);
            be->ops->release(be, zb), be->ops->release(be, y.buf);
        }
    nn_backend_close(be);
}

/* Reference per-row losses in double, written from the textbook formulas. */
static double ref_row_loss(nn_loss loss, const float *z, const float *t, size_t cols) {
    double s = 0;
    if (loss == NN_LOSS_BCE) {
        for (size_t j = 0; j < cols; j++) {
            double p = 1.0 / (1.0 + exp(-(double)z[j]));
            p = fmin(fmax(p, NN_BCE_EPS), 1 - NN_BCE_EPS);
            s += -(t[j] * log(p) + (1 - t[j]) * log(1 - p));
        }
    } else if (loss == NN_LOSS_CE) {
        double mx = -INFINITY, e = 0;
        for (size_t j = 0; j < cols; j++) mx = fmax(mx, z[j]);
        for (size_t j = 0; j < cols; j++) e += exp(z[j] - mx);
        for (size_t j = 0; j < cols; j++) s += -t[j] * ((z[j] - mx) - log(e));
    } else {
        for (size_t j = 0; j < cols; j++) s += ((double)z[j] - t[j]) * ((double)z[j] - t[j]);
        s /= (double)cols;
    }
    return s;
}

Test(cpu_ops, loss_sum_and_grad_against_reference) {
    nn_backend *be = tu_open("cpu", 2);
    nn_error err;
    const nn_loss losses[] = {NN_LOSS_BCE, NN_LOSS_CE, NN_LOSS_MSE};
    const size_t rows_list[] = {1, 7, 257, 5000};
    for (int il = 0; il < 3; il++)
        for (size_t ir = 0; ir < 4; ir++) {
            nn_loss loss = losses[il];
            size_t rows = rows_list[ir], cols = loss == NN_LOSS_BCE ? 1 : 5;
            float *z = malloc(rows * cols * sizeof(float)), *t = calloc(rows * cols, sizeof(float));
            tu_fill_uniform(z, rows * cols, rows + il, -8, 8);
            for (size_t r = 0; r < rows; r++) {
                if (loss == NN_LOSS_CE) t[r * cols + r % cols] = 1;
                else for (size_t j = 0; j < cols; j++) t[r * cols + j] = (float)((r + j) % 2);
            }
            nn_buf *zb = tu_upload(be, z, rows * cols), *tb = tu_upload(be, t, rows * cols);
            float start[2] = {0.5f, 0.0f}; /* compensated pair */
            nn_buf *acc = tu_upload(be, start, 2);
            cr_assert_eq(be->ops->loss_sum(be, loss, (nn_view){acc, 0}, (nn_view){zb, 0},
                                           (nn_view){tb, 0}, rows, cols, &err), NN_OK);
            float *got = tu_download(be, (nn_view){acc, 0}, 2);
            double ref = 0.5, sum = (double)got[0] + got[1];
            for (size_t r = 0; r < rows; r++) ref += ref_row_loss(loss, z + r * cols, t + r * cols, cols);
            cr_assert(fabs(sum - ref) <= 1e-9 * fabs(ref) + 1e-9, "%s rows=%zu: %.12g vs %.12g",
                      nn_loss_name(loss), rows, sum, ref);

            /* gradient from the output activation y */
            nn_buf *yb = NULL;
            cr_assert_eq(be->ops->alloc(be, rows * cols, &yb, &err), NN_OK);
            nn_act out_act = loss == NN_LOSS_BCE ? NN_ACT_SIGMOID : loss == NN_LOSS_CE ? NN_ACT_SOFTMAX : NN_ACT_IDENTITY;
            cr_assert_eq(be->ops->act_forward(be, out_act, (nn_view){yb, 0}, (nn_view){zb, 0}, rows, cols, &err), NN_OK);
            guarded dz = guarded_new(be, rows * cols);
            float scale = 1.0f / (float)rows;
            cr_assert_eq(be->ops->loss_grad(be, loss, dz.view, (nn_view){yb, 0}, (nn_view){tb, 0},
                                            rows, cols, scale, &err), NN_OK);
            float *g = guarded_read(be, &dz), *y = tu_download(be, (nn_view){yb, 0}, rows * cols);
            for (size_t i = 0; i < rows * cols; i++) {
                double d = (double)y[i] - t[i], want = loss == NN_LOSS_MSE ? 2 * d / cols * scale : d * scale;
                cr_assert(fabs(g[i] - want) <= 1e-6 * fabs(want) + 1e-9);
            }
            free(z), free(t), free(got), free(g), free(y);
            be->ops->release(be, zb), be->ops->release(be, tb), be->ops->release(be, acc);
            be->ops->release(be, yb), be->ops->release(be, dz.buf);
        }
    nn_backend_close(be);
}

Test(cpu_ops, saturated_logits_give_finite_capped_loss) {
    nn_backend *be = tu_open("cpu", 1);
    nn_error err;
    float z[4] = {200.0f, -200.0f, 1e30f, -1e30f}, t[4] = {0, 1, 0, 1}, zero[2] = {0, 0};
    nn_buf *zb = tu_upload(be, z, 4), *tb = tu_upload(be, t, 4), *acc = tu_upload(be, zero, 2);
    cr_assert_eq(be->ops->loss_sum(be, NN_LOSS_BCE, (nn_view){acc, 0}, (nn_view){zb, 0},
                                   (nn_view){tb, 0}, 4, 1, &err), NN_OK);
    float *got = tu_download(be, (nn_view){acc, 0}, 1);
    cr_assert(isfinite(got[0]));
    cr_assert(fabs(got[0] - 4 * -log(NN_BCE_EPS)) < 1e-3, "got %g", got[0]);
    free(got);
    be->ops->release(be, zb), be->ops->release(be, tb), be->ops->release(be, acc);
    nn_backend_close(be);
}

Test(cpu_ops, gather_rows) {
    nn_backend *be = tu_open("cpu", 2);
    nn_error err;
    const size_t rows = 257, cols = 7;
    float *src = malloc(rows * cols * sizeof(float));
    uint32_t idx[100];
    for (size_t i = 0; i < rows * cols; i++) src[i] = (float)i;
    for (size_t i = 0; i < 100; i++) idx[i] = (uint32_t)((i * 37) % rows);
    nn_buf *sb = tu_upload(be, src, rows * cols), *ib = tu_upload(be, idx, 100);
    guarded d = guarded_new(be, 100 * cols);
    cr_assert_eq(be->ops->gather_rows(be, d.view, (nn_view){sb, 0}, (nn_view){ib, 0}, 100, cols, &err), NN_OK);
    float *got = guarded_read(be, &d);
    for (size_t r = 0; r < 100; r++)
        for (size_t j = 0; j < cols; j++) cr_assert_eq(got[r * cols + j], src[idx[r] * cols + j]);
    free(src), free(got);
    be->ops->release(be, sb), be->ops->release(be, ib), be->ops->release(be, d.buf);
    nn_backend_close(be);
}

Test(cpu_ops, optimizer_updates_against_reference) {
    nn_backend *be = tu_open("cpu", 2);
    nn_error err;
    const size_t n = 70001;
    float *p = malloc(n * sizeof(float)), *g = malloc(n * sizeof(float));
    tu_fill_uniform(p, n, 1, -1, 1);
    tu_fill_uniform(g, n, 2, -1, 1);
    for (int kind = 0; kind < 3; kind++) {
        nn_buf *pb = tu_upload(be, p, n), *gb = tu_upload(be, g, n), *mb = NULL, *vb = NULL;
        cr_assert_eq(be->ops->alloc(be, n, &mb, &err), NN_OK);
        cr_assert_eq(be->ops->alloc(be, n, &vb, &err), NN_OK);
        be->ops->fill(be, (nn_view){mb, 0}, 0.0f, n, &err);
        be->ops->fill(be, (nn_view){vb, 0}, 0.0f, n, &err);
        double *pr = malloc(n * sizeof(double)), *mr = calloc(n, sizeof(double)), *vr = calloc(n, sizeof(double));
        for (size_t i = 0; i < n; i++) pr[i] = p[i];
        for (int t = 1; t <= 3; t++) {
            nn_opt_step st = {.kind = kind, .lr = 0.05f, .momentum = 0.9f, .beta1 = 0.9f,
                              .beta2 = 0.999f, .eps = 1e-8f, .t = t};
            st.c1 = (float)(1 / (1 - pow(0.9, t)));
            st.c2 = (float)(1 / (1 - pow(0.999, t)));
            cr_assert_eq(be->ops->update(be, &st, (nn_view){pb, 0}, (nn_view){gb, 0},
                                         (nn_view){mb, 0}, (nn_view){vb, 0}, n, &err), NN_OK);
            for (size_t i = 0; i < n; i++) {
                if (kind == NN_OPT_SGD) pr[i] -= 0.05 * g[i];
                else if (kind == NN_OPT_MOMENTUM) mr[i] = 0.9 * mr[i] + g[i], pr[i] -= 0.05 * mr[i];
                else {
                    mr[i] = 0.9 * mr[i] + 0.1 * g[i];
                    vr[i] = 0.999 * vr[i] + 0.001 * (double)g[i] * g[i];
                    pr[i] -= 0.05 * (mr[i] / (1 - pow(0.9, t))) / (sqrt(vr[i] / (1 - pow(0.999, t))) + 1e-8);
                }
            }
        }
        float *got = tu_download(be, (nn_view){pb, 0}, n);
        /* float rounding of three steps of size ~lr: a few ulp of the step */
        assert_close(got, pr, n, 1e-5, 1e-5, nn_optimizer_name(kind));
        free(got), free(pr), free(mr), free(vr);
        be->ops->release(be, pb), be->ops->release(be, gb), be->ops->release(be, mb), be->ops->release(be, vb);
    }
    free(p), free(g);
    nn_backend_close(be);
}

Test(cpu_ops, two_backends_side_by_side) {
    nn_backend *a = tu_open("cpu", 1), *b = tu_open("cpu", 2);
    cr_assert_eq(nn_backend_threads(a), 1);
    cr_assert_eq(nn_backend_threads(b), 2);
    nn_backend_close(a);
    cr_assert_str_eq(nn_backend_name(b), "cpu");
    nn_backend_close(b);
}

Test(cpu_ops, unknown_backend_is_invalid) {
    nn_backend *be = NULL;
    nn_error err;
    cr_assert_eq(nn_backend_open("cuda", NULL, &be, &err), NN_E_INVALID);
    cr_assert_null(be);
    cr_assert(strstr(err.msg, "cuda") != NULL);
}
