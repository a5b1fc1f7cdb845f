/* test_row_step.c — the training step in row chunks (model_rows.c) and the
 * one-pass step of small networks (small_step): the same bits for 1 and 2
 * threads, the per-op step's result within float rounding (every loss,
 * hidden activation and optimizer), small_step's portable and AVX-512
 * versions bit for bit (special values included), the networks declined,
 * chunks that gather and prefetch their own rows, nn_train taking the step on
 * shuffled mini-batches, and run_chunks reporting the lowest failing chunk. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu_ops.h"
#include "model_impl.h"
#include "team_wake.h"
#include "testutil.h"

#define STEPS 12

/* One network and batch to train. */
typedef struct net_case {
    size_t sizes[4], n_sizes;
    nn_act hidden;
    nn_loss loss;
    nn_optimizer opt;
    size_t rows;
} net_case;

/* What STEPS steps left: the parameters and the loss pair. */
typedef struct trained {
    size_t n_params;
    float *params;
    float *grads;  /* the last step's gradient (nn_model_get_grads) */
    float loss[2];
    int rows_path; /* 1 if every step ran in row chunks */
    int moved;     /* 1 if the parameters changed */
} trained;

static nn_opt_step opt_step(nn_optimizer kind, int t) {
    nn_opt_step s = {.kind = kind, .lr = 0.05f, .momentum = 0.9f, .beta1 = 0.9f,
                     .beta2 = 0.999f, .eps = 1e-8f, .t = t};
    s.c1 = (float)(1.0 / (1.0 - pow(0.9, t)));
    s.c2 = (float)(1.0 / (1.0 - pow(0.999, t)));
    return s;
}

/* Inputs and targets of case c (rows, inputs), (rows, outputs). */
static void make_batch(const net_case *c, float **x, float **t) {
    const size_t in = c->sizes[0], out = c->sizes[c->n_sizes - 1];
    *x = malloc(c->rows * in * sizeof(float));
    *t = calloc(c->rows * out, sizeof(float));
    cr_assert(*x && *t);
    tu_fill_uniform(*x, c->rows * in, 5, -2.0f, 2.0f);
    for (size_t r = 0; r < c->rows; r++) {
        if (c->loss == NN_LOSS_CE) (*t)[r * out + (r * 7) % out] = 1.0f;
        else if (c->loss == NN_LOSS_BCE) (*t)[r] = (float)((r * 5 / 3) % 2);
        else
            for (size_t o = 0; o < out; o++) (*t)[r * out + o] = 0.01f * (float)(r % 97) - 0.4f;
    }
}

/* A model of case c on a cpu backend of `threads` threads (a team that
 * always offers work to every thread) on `path`, with c's batch uploaded. */
typedef struct rig {
    nn_backend *be;
    nn_model *m;
    float *x, *t;     /* the batch on the host */
    nn_buf *xb, *tb;  /* and on the backend */
} rig;

static rig rig_open(const net_case *c, int threads, nn_cpu_path path, int keep_z) {
    rig r;
    setenv("NN_CPU_TEAM", "fixed", 1);
    r.be = tu_open("cpu", threads);
    nn_cpu_backend_use_path(r.be, path);
    nn_model_config cfg = {.n_sizes = c->n_sizes, .hidden = c->hidden, .loss = c->loss, .seed = 9};
    memcpy(cfg.sizes, c->sizes, c->n_sizes * sizeof(size_t));
    nn_error err;
    cr_assert_eq(nn_model_create(r.be, &cfg, &r.m, &err), NN_OK, "%s", err.msg);
    if (keep_z) nn_model_keep_preactivations(r.m, 1);
    make_batch(c, &r.x, &r.t);
    r.xb = tu_upload(r.be, r.x, c->rows * c->sizes[0]);
    r.tb = tu_upload(r.be, r.t, c->rows * c->sizes[c->n_sizes - 1]);
    cr_assert_eq(model_reserve(r.m, c->rows, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(model_reserve_optimizer(r.m, c->opt, &err), NN_OK, "%s", err.msg);
    return r;
}

static void rig_close(rig *r) {
    free(r->x);
    free(r->t);
    r->be->ops->release(r->be, r->xb);
    r->be->ops->release(r->be, r->tb);
    nn_model_free(r->m);
    nn_backend_close(r->be);
}

/* The model's parameters, downloaded (free them). */
static float *params_of(const rig *r) {
    nn_error err;
    cr_assert_eq(model_settle(r->m, &err), NN_OK, "%s", err.msg); /* the deferred update */
    return tu_download(r->be, (nn_view){r->m->params, 0}, r->m->n_params);
}

/* STEPS steps of case c on a cpu backend of `threads` threads (a team that
 * always offers work to every thread), in row chunks (rows_path) or op by op. */
static trained train_on(const net_case *c, int threads, int rows_path, nn_cpu_path path) {
    rig g = rig_open(c, threads, path, 0);
    nn_backend *be = g.be;
    nn_model *m = g.m;
    nn_error err;
    nn_buf *acc = tu_upload(be, (float[2]){0.0f, 0.0f}, 2);
    const nn_view xv = {g.xb, 0}, tv = {g.tb, 0}, av = {acc, 0};
    const float scale = 1.0f / (float)c->rows;
    trained r = {.n_params = m->n_params, .rows_path = 1};
    float *initial = params_of(&g);
    for (int s = 1; s <= STEPS; s++) {
        const nn_opt_step step = opt_step(c->opt, s);
        int done = 0;
        if (rows_path) {
            cr_assert_eq(model_train_rows(m, xv, tv, NULL, c->rows, scale, av, &step, &done, &err),
                         NN_OK, "%s", err.msg);
            r.rows_path &= done;
            if (done) continue;
        }
        cr_assert_eq(model_forward(m, xv, c->rows, &err), NN_OK, "%s", err.msg);
        cr_assert_eq(model_backward_loss(m, xv, tv, c->rows, scale, av, NULL, NULL, &step, &done,
                                         &err),
                     NN_OK, "%s", err.msg);
        if (!done) model_params_written(m);
        if (!done)
            cr_assert_eq(be->ops->update(be, &step, (nn_view){m->params, 0},
                                         (nn_view){m->grads, 0}, (nn_view){m->opt_m, 0},
                                         (nn_view){m->opt_v, 0}, m->n_params, &err),
                         NN_OK, "%s", err.msg);
    }
    r.grads = malloc(m->n_params * sizeof(float));
    cr_assert_eq(nn_model_get_grads(m, r.grads, m->n_params, &err), NN_OK, "%s", err.msg);
    r.params = params_of(&g);
    r.moved = memcmp(initial, r.params, m->n_params * sizeof(float)) != 0;
    free(initial);
    float *l = tu_download(be, av, 2);
    memcpy(r.loss, l, sizeof r.loss);
    free(l);
    be->ops->release(be, acc);
    rig_close(&g);
    return r;
}

static trained train(const net_case *c, int threads, int rows_path) {
    return train_on(c, threads, rows_path, NN_CPU_PATH_AUTO);
}

/* The row step on 1 and 2 threads gives the same bits, and the per-op step's
 * parameters and loss within float rounding. */
static void check_case(const net_case *c) {
    trained one = train(c, 1, 1), two = train(c, 2, 1), ref = train(c, 2, 0);
    cr_assert(one.rows_path && two.rows_path, "the step did not run in row chunks");
    cr_assert_eq(memcmp(one.params, two.params, one.n_params * sizeof(float)), 0,
                 "1 and 2 threads differ");
    cr_assert_eq(memcmp(one.loss, two.loss, sizeof one.loss), 0, "the loss sums differ");
    cr_assert_eq(memcmp(one.grads, two.grads, one.n_params * sizeof(float)), 0,
                 "the last step's gradients differ");
    double worst = 0.0, scale = 0.0;
    for (size_t i = 0; i < one.n_params; i++) {
        worst = fmax(worst, fabs((double)one.params[i] - (double)ref.params[i]));
        scale = fmax(scale, fabs((double)ref.params[i]));
    }
    cr_assert_lt(worst, 1e-5 * scale, "row step vs per-op step: %g (params up to %g)", worst,
                 scale);
    const double l1 = (double)one.loss[0] + one.loss[1], l0 = (double)ref.loss[0] + ref.loss[1];
    cr_assert(isfinite(l1) && l1 > 0.0);
    cr_assert_lt(fabs(l1 - l0), 1e-5 * fabs(l0), "loss sums %.9g vs %.9g", l1, l0);
    cr_assert(one.moved, "the steps left the parameters as they were");
    free(one.params);
    free(two.params);
    free(ref.params);
    free(one.grads);
    free(two.grads);
    free(ref.grads);
}

Test(row_step, teacher_bce_relu_adam_uneven_chunks) {
    /* 300 rows: chunks of 128, 128 and 44 */
    check_case(&(net_case){{16, 64, 64, 1}, 4, NN_ACT_RELU, NN_LOSS_BCE, NN_OPT_ADAM, 300});
}

Test(row_step, softmax_ce_tanh_momentum) {
    check_case(&(net_case){{12, 48, 40, 5}, 4, NN_ACT_TANH, NN_LOSS_CE, NN_OPT_MOMENTUM, 512});
}

Test(row_step, mse_sigmoid_sgd_sixteen_chunks) {
    /* 4000 rows: 16 chunks of 256 (the most), the last one shorter */
    check_case(&(net_case){{20, 48, 3, 0}, 3, NN_ACT_SIGMOID, NN_LOSS_MSE, NN_OPT_SGD, 4000});
}

/* Networks and batches the row step leaves to the per-op step, unchanged. */
static void check_declined(const net_case *c, int keep_z) {
    rig g = rig_open(c, 2, NN_CPU_PATH_AUTO, keep_z);
    nn_error err;
    float *before = params_of(&g);
    const nn_opt_step step = opt_step(NN_OPT_SGD, 1);
    int done = 1;
    cr_assert_eq(model_train_rows(g.m, (nn_view){g.xb, 0}, (nn_view){g.tb, 0}, NULL, c->rows,
                                  0.01f, (nn_view){NULL, 0}, &step, &done, &err),
                 NN_OK, "%s", err.msg);
    cr_assert_eq(done, 0);
    float *after = params_of(&g);
    cr_assert_eq(memcmp(before, after, g.m->n_params * sizeof(float)), 0);
    free(before);
    free(after);
    rig_close(&g);
}

Test(row_step, declines_other_small_wide_short_and_kept_layers) {
    /* 2-8-1 with tanh: too little work per row for chunks, and not small_step's */
    check_declined(&(net_case){{2, 8, 1}, 3, NN_ACT_TANH, NN_LOSS_BCE, NN_OPT_SGD, 800}, 0);
    /* 2-8-3 softmax: small_step takes one output only */
    check_declined(&(net_case){{2, 8, 3}, 3, NN_ACT_RELU, NN_LOSS_CE, NN_OPT_SGD, 800}, 0);
    /* 256-512-512-1: gradient parts too large (the per-op GEMMs are at peak) */
    check_declined(&(net_case){{256, 512, 512, 1}, 4, NN_ACT_RELU, NN_LOSS_BCE, NN_OPT_SGD, 512},
                   0);
    /* one chunk's worth of rows (128) */
    check_declined(&(net_case){{16, 64, 64, 1}, 4, NN_ACT_RELU, NN_LOSS_BCE, NN_OPT_SGD, 128}, 0);
    /* asked to keep every layer's pre-activations (the step check reads them) */
    check_declined(&(net_case){{16, 64, 64, 1}, 4, NN_ACT_RELU, NN_LOSS_BCE, NN_OPT_SGD, 512}, 1);
    check_declined(&(net_case){{2, 8, 1}, 3, NN_ACT_RELU, NN_LOSS_BCE, NN_OPT_SGD, 800}, 1);
}

/* One-hidden-layer ReLU networks take small_step (one pass over the rows) on
 * the AVX-512 path (elsewhere the per-op step is faster and runs instead):
 * the checks of check_case. */
static void check_small(const net_case *c) {
    if (!nn_cpu_path_supported(NN_CPU_PATH_AVX512))
        cr_skip_test("no AVX-512 here: small networks take the per-op step");
    check_case(c);
}

Test(row_step, small_tutorial_network_full_batch) {
    check_small(&(net_case){{2, 8, 1}, 3, NN_ACT_RELU, NN_LOSS_BCE, NN_OPT_SGD, 800});
}

Test(row_step, small_networks_of_other_widths) {
    check_small(&(net_case){{1, 5, 1}, 3, NN_ACT_RELU, NN_LOSS_BCE, NN_OPT_MOMENTUM, 300});
    check_small(&(net_case){{3, 12, 1}, 3, NN_ACT_RELU, NN_LOSS_MSE, NN_OPT_ADAM, 1000});
    check_small(&(net_case){{2, 9, 1}, 3, NN_ACT_RELU, NN_LOSS_BCE, NN_OPT_SGD, 37});
}

Test(row_step, small_networks_in_several_chunks) {
    /* chunks of 1024 rows: 2 and 5 of them, the last one shorter */
    check_small(&(net_case){{4, 16, 1}, 3, NN_ACT_RELU, NN_LOSS_BCE, NN_OPT_ADAM, 2000});
    check_small(&(net_case){{2, 8, 1}, 3, NN_ACT_RELU, NN_LOSS_MSE, NN_OPT_SGD, 4500});
}

/* A value for the op test: ordinary numbers, and now and then -0, +-inf,
 * NaN, a huge or tiny one (the sigmoid's special cases at |z| >= 88). */
static float odd_value(uint64_t *s) {
    *s = *s * 6364136223846793005u + 1442695040888963407u;
    const uint32_t r = (uint32_t)(*s >> 33);
    switch (r % 23) {
    case 0: return -0.0f;
    case 1: return INFINITY;
    case 2: return -INFINITY;
    case 3: return NAN;
    case 4: return 1e30f;
    case 5: return -95.0f;
    case 6: return 1e-40f;
    default: return (float)((int)(r % 20001) - 10000) / 2500.0f;
    }
}

/* 1 if a and b have the same bits, or are both NaN (a NaN's sign depends on
 * which operand the instruction took it from). */
static int same_bits(const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof(float)) != 0 && !(isnan(a[i]) && isnan(b[i]))) return 0;
    return 1;
}

/* small_step itself: the portable reference and the AVX-512 version give the
 * same bits (NaN signs aside), for 1-4 inputs, 1-16 hidden units, BCE and
 * MSE, 1-70 rows (rows that end mid-vector), with special values. */
Test(row_step, small_step_paths_give_the_same_bits) {
    if (!nn_cpu_path_supported(NN_CPU_PATH_AVX512)) cr_skip_test("no AVX-512 here");
    nn_backend *be = tu_open("cpu", 1);
    uint64_t seed = 7;
    for (int round = 0; round < 400; round++) {
        const size_t in = 1 + round % 4, hid = 1 + (round / 4) % 16, rows = 1 + (round * 7) % 70;
        const nn_loss loss = round % 3 ? NN_LOSS_BCE : NN_LOSS_MSE;
        const size_t np = in * hid + hid + hid + 1;
        const nn_small_net net = {in, hid, NN_ACT_RELU, loss, 0, in * hid, in * hid + hid,
                                  in * hid + 2 * hid};
        float *x = malloc(rows * in * sizeof(float)), *t = malloc(rows * sizeof(float));
        float *p = malloc(np * sizeof(float));
        cr_assert(x && t && p);
        const int odd = round % 5 == 0; /* every fifth round: special values */
        for (size_t i = 0; i < rows * in; i++)
            x[i] = odd ? odd_value(&seed) : (float)(round % 7) * 0.3f - 1.0f + 0.01f * (float)i;
        for (size_t i = 0; i < rows; i++) t[i] = (float)((i * 3 + round) % 2);
        for (size_t i = 0; i < np; i++)
            p[i] = odd && i % 5 == 0 ? odd_value(&seed) : (float)((int)(i * 37 % 17) - 8) * 0.11f;
        nn_buf *xb = tu_upload(be, x, rows * in), *tb = tu_upload(be, t, rows);
        nn_buf *pb = tu_upload(be, p, np), *gb[2], *zb[2];
        float *g[2], *z[2];
        for (int q = 0; q < 2; q++) {
            nn_cpu_backend_use_path(be, q ? NN_CPU_PATH_AVX512 : NN_CPU_PATH_C);
            gb[q] = tu_upload(be, p, np); /* overwritten */
            zb[q] = tu_upload(be, t, rows);
            nn_error err;
            cr_assert_eq(be->ops->small_step(be, &net, (nn_view){xb, 0}, (nn_view){tb, 0},
                                             (nn_view){pb, 0}, (nn_view){gb[q], 0},
                                             (nn_view){zb[q], 0}, rows, 0.25f, &err),
                         NN_OK, "%s", err.msg);
            g[q] = tu_download(be, (nn_view){gb[q], 0}, np);
            z[q] = tu_download(be, (nn_view){zb[q], 0}, rows);
        }
        cr_assert(same_bits(z[0], z[1], rows), "round %d: logits differ", round);
        cr_assert(same_bits(g[0], g[1], np), "round %d (%zu-%zu-1, %zu rows): gradients differ",
                  round, in, hid, rows);
        for (int q = 0; q < 2; q++) {
            free(g[q]), free(z[q]);
            be->ops->release(be, gb[q]), be->ops->release(be, zb[q]);
        }
        be->ops->release(be, xb), be->ops->release(be, tb), be->ops->release(be, pb);
        free(x), free(t), free(p);
    }
    nn_backend_close(be);
}

/* After a one-pass step the hidden layers' values were never written: asking
 * for them is refused, not answered with stale numbers. */
Test(row_step, layers_after_a_one_pass_step_are_refused) {
    if (!nn_cpu_path_supported(NN_CPU_PATH_AVX512)) cr_skip_test("no AVX-512 here");
    const net_case c = {{2, 8, 1}, 3, NN_ACT_RELU, NN_LOSS_BCE, NN_OPT_SGD, 64};
    rig g = rig_open(&c, 1, NN_CPU_PATH_AUTO, 0);
    nn_error err;
    const nn_opt_step step = opt_step(NN_OPT_SGD, 1);
    int done = 0;
    cr_assert_eq(model_train_rows(g.m, (nn_view){g.xb, 0}, (nn_view){g.tb, 0}, NULL, c.rows,
                                  0.01f, (nn_view){NULL, 0}, &step, &done, &err),
                 NN_OK, "%s", err.msg);
    cr_assert_eq(done, 1);
    float a[64 * 8];
    cr_assert_eq(nn_model_get_layer(g.m, 0, c.rows, NULL, a, &err), NN_E_INVALID);
    cr_assert(strstr(err.msg, "nn_model_keep_preactivations"), "%s", err.msg);
    /* a forward pass writes them again */
    cr_assert_eq(model_forward(g.m, (nn_view){g.xb, 0}, c.rows, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(nn_model_get_layer(g.m, 0, c.rows, NULL, a, &err), NN_OK, "%s", err.msg);
    rig_close(&g);
}

/* run_chunks: chunks 3 and 5 fail; the error is chunk 3's, after every chunk ran. */
typedef struct fail_ctx {
    int ran[8];
} fail_ctx;

static nn_status fail_some(void *ctx, nn_backend *solo, size_t chunk, int thread, nn_error *err) {
    fail_ctx *f = ctx;
    cr_assert_eq(solo->threads, 1);
    cr_assert(thread >= 0 && thread < 2, "thread %d", thread);
    f->ran[chunk] = 1;
    if (chunk == 3 || chunk == 5)
        return nn_error_set(err, NN_E_INVALID, "chunk %zu failed", chunk);
    return NN_OK;
}

Test(row_step, run_chunks_reports_the_lowest_failing_chunk) {
    setenv("NN_CPU_TEAM", "fixed", 1);
    nn_backend *be = tu_open("cpu", 2);
    for (int round = 0; round < 20; round++) {
        fail_ctx f = {{0}};
        nn_error err;
        cr_assert_eq(be->ops->run_chunks(be, 8, fail_some, &f, &err), NN_E_INVALID);
        cr_assert_str_eq(err.msg, "chunk 3 failed");
        for (int c = 0; c < 8; c++) cr_assert_eq(f.ran[c], 1, "chunk %d did not run", c);
    }
    nn_backend_close(be);
}

/* Rows gathered by the chunks (a shuffled resident batch, the next step's
 * rows prefetched) train exactly as the same rows gathered before the step. */
Test(row_step, chunks_gathering_their_rows_equal_rows_gathered_before) {
    const net_case c = {{16, 64, 64, 1}, 4, NN_ACT_RELU, NN_LOSS_BCE, NN_OPT_ADAM, 300};
    const size_t src_rows = 1000, in = 16;
    float *xs = malloc(src_rows * in * sizeof(float)), *ts = malloc(src_rows * sizeof(float));
    uint32_t *idx = malloc(c.rows * sizeof(uint32_t));
    cr_assert(xs && ts && idx);
    tu_fill_uniform(xs, src_rows * in, 21, -2.0f, 2.0f);
    for (size_t r = 0; r < src_rows; r++) ts[r] = (float)(r % 3 == 0);
    for (size_t r = 0; r < c.rows; r++) idx[r] = (uint32_t)((r * 617 + 5) % src_rows);
    float *result[2];
    for (int pre = 0; pre < 2; pre++) {
        setenv("NN_CPU_TEAM", "fixed", 1);
        nn_backend *be = tu_open("cpu", 2);
        nn_model_config cfg = {.n_sizes = 4, .hidden = NN_ACT_RELU, .loss = NN_LOSS_BCE, .seed = 4};
        memcpy(cfg.sizes, c.sizes, sizeof c.sizes);
        nn_model *m = NULL;
        nn_error err;
        cr_assert_eq(nn_model_create(be, &cfg, &m, &err), NN_OK, "%s", err.msg);
        cr_assert_eq(model_reserve(m, c.rows, &err), NN_OK, "%s", err.msg);
        cr_assert_eq(model_reserve_optimizer(m, c.opt, &err), NN_OK, "%s", err.msg);
        nn_buf *xsb = tu_upload(be, xs, src_rows * in), *tsb = tu_upload(be, ts, src_rows);
        nn_buf *ib = tu_upload(be, idx, c.rows); /* 4-byte elements */
        nn_buf *xb = tu_upload(be, xs, c.rows * in), *tb = tu_upload(be, ts, c.rows);
        /* with a next step to prefetch (a hint: the same bits) */
        const model_gather g = {{ib, 0}, {xsb, 0}, {tsb, 0}, {ib, 7}, c.rows - 7};
        for (int s = 1; s <= STEPS; s++) {
            if (pre) {
                cr_assert_eq(be->ops->gather_rows(be, (nn_view){xb, 0}, g.x_src, g.idx, c.rows, in,
                                                  &err), NN_OK, "%s", err.msg);
                cr_assert_eq(be->ops->gather_rows(be, (nn_view){tb, 0}, g.t_src, g.idx, c.rows, 1,
                                                  &err), NN_OK, "%s", err.msg);
            }
            const nn_opt_step step = opt_step(c.opt, s);
            int done = 0;
            cr_assert_eq(model_train_rows(m, (nn_view){xb, 0}, (nn_view){tb, 0}, pre ? NULL : &g,
                                          c.rows, 1.0f / (float)c.rows, (nn_view){NULL, 0}, &step,
                                          &done, &err),
                         NN_OK, "%s", err.msg);
            cr_assert_eq(done, 1);
        }
        cr_assert_eq(model_settle(m, &err), NN_OK, "%s", err.msg);
        result[pre] = tu_download(be, (nn_view){m->params, 0}, m->n_params);
        if (pre) cr_assert_eq(memcmp(result[0], result[1], m->n_params * sizeof(float)), 0);
        nn_buf *bufs[] = {xsb, tsb, ib, xb, tb};
        for (int i = 0; i < 5; i++) be->ops->release(be, bufs[i]);
        nn_model_free(m);
        nn_backend_close(be);
    }
    free(result[0]);
    free(result[1]);
    free(xs);
    free(ts);
    free(idx);
}

/* Through nn_train: a shuffled resident teacher set with a short last batch
 * (2400 rows in batches of 350) and 16-64-64-1 (small: circles and 2-8-1)
 * runs the row-chunk step: the
 * same bits on 1, 2 and 5 threads, and bits of its own (chunk-wise sums), within
 * float rounding of the per-op step's (the model asked to keep its layers). */
static float *train_shuffled(int small, int threads, int per_op, size_t *n_params) {
    nn_data_spec spec = nn_data_spec_default(small ? NN_DATA_CIRCLES : NN_DATA_TEACHER);
    if (!small) spec.samples = 3000, spec.features = 16, spec.classes = 2, spec.seed = 5;
    nn_dataset tr, te;
    tu_split_standardized(spec, 0.2, &tr, &te);
    setenv("NN_CPU_TEAM", "fixed", 1);
    nn_backend *be = tu_open("cpu", threads);
    nn_model_config cfg = {.n_sizes = small ? 3 : 4, .sizes = {16, 64, 64, 1},
                           .hidden = NN_ACT_RELU, .loss = NN_LOSS_BCE, .seed = 3};
    if (small) cfg.sizes[0] = 2, cfg.sizes[1] = 8, cfg.sizes[2] = 1;
    nn_model *m = NULL;
    nn_error err;
    cr_assert_eq(nn_model_create(be, &cfg, &m, &err), NN_OK, "%s", err.msg);
    if (per_op) nn_model_keep_preactivations(m, 1);
    nn_train_config tc = nn_train_config_default();
    tc.epochs = 3, tc.batch = small ? 300 : 350, tc.optimizer = NN_OPT_ADAM, tc.lr = 0.01;
    tc.log_every = 1;
    nn_source src = nn_source_from_dataset(&tr);
    nn_train_result res;
    cr_assert_eq(nn_train(m, &src, &tc, &res, &err), NN_OK, "%s", err.msg);
    *n_params = nn_model_param_count(m);
    float *p = malloc(*n_params * sizeof(float));
    cr_assert_eq(nn_model_get_params(m, p, *n_params, &err), NN_OK, "%s", err.msg);
    nn_model_free(m);
    nn_backend_close(be);
    nn_dataset_free(&tr), nn_dataset_free(&te);
    return p;
}

static void check_shuffled(int small) {
    size_t n;
    float *one = train_shuffled(small, 1, 0, &n), *two = train_shuffled(small, 2, 0, &n);
    float *five = train_shuffled(small, 5, 0, &n); /* more threads than chunks */
    float *per_op = train_shuffled(small, 2, 1, &n);
    cr_assert_eq(memcmp(one, two, n * sizeof(float)), 0, "1 and 2 threads differ");
    cr_assert_eq(memcmp(one, five, n * sizeof(float)), 0, "1 and 5 threads differ");
    double worst = 0.0, scale = 0.0;
    for (size_t i = 0; i < n; i++) {
        worst = fmax(worst, fabs((double)one[i] - (double)per_op[i]));
        scale = fmax(scale, fabs((double)per_op[i]));
    }
    cr_assert_gt(worst, 0.0, "the per-op step's bits exactly: the row-chunk step did not run");
    cr_assert_lt(worst, 1e-4 * scale, "row step vs per-op step after 21 steps: %g (params to %g)",
                 worst, scale);
    free(one), free(two), free(five), free(per_op);
}

Test(row_step, nn_train_takes_the_row_step_on_shuffled_batches) { check_shuffled(0); }

/* With two threads each thread reads its own copy of the parameters
 * (model_rows.c); a copy must never be read once the parameters changed
 * elsewhere: the per-op step of a short last batch (1000 rows in batches of
 * 300: the last 100 rows are one chunk, so op by op), set_params between two
 * runs. 1 and 2 threads give the same bits for each optimizer, and the
 * 2-thread run did use a copy. */
/* Thread 1 of be's team woken (on a busy machine it may not get to run: the
 * callers retry). */
static void wake_thread_1(nn_backend *be) {
    nn_status st;
    nn_error err;
    tw_wake_thread_1(be, 100000, &st, &err);
    cr_assert_eq(st, NN_OK, "%s", err.msg);
}

/* 16-64-64-1 on `samples` teacher rows (80% for training) on a cpu backend
 * of `threads` threads, thread 1 awake (so that its chunks, and its copy,
 * take part); training in batches of 300 with `opt`. */
typedef struct copies_rig {
    nn_dataset tr, te;
    nn_source src;
    nn_backend *be;
    nn_model *m;
    nn_train_config tc;
} copies_rig;

static void copies_open(copies_rig *r, size_t samples, int threads, nn_optimizer opt) {
    r->tc = nn_train_config_default();
    r->tc.batch = 300, r->tc.optimizer = opt, r->tc.lr = opt == NN_OPT_ADAM ? 0.01f : 0.1f;
    nn_data_spec spec = nn_data_spec_default(NN_DATA_TEACHER);
    spec.samples = samples, spec.features = 16, spec.classes = 2, spec.seed = 9;
    tu_split_standardized(spec, 0.2, &r->tr, &r->te);
    r->src = nn_source_from_dataset(&r->tr);
    setenv("NN_CPU_TEAM", "fixed", 1);
    r->be = tu_open("cpu", threads);
    nn_model_config cfg = {.n_sizes = 4, .sizes = {16, 64, 64, 1}, .hidden = NN_ACT_RELU,
                           .loss = NN_LOSS_BCE, .seed = 4};
    nn_error err;
    cr_assert_eq(nn_model_create(r->be, &cfg, &r->m, &err), NN_OK, "%s", err.msg);
    if (threads > 1) wake_thread_1(r->be);
}

/* The model's parameters (free them), then the rig closed. */
static float *copies_close(copies_rig *r, size_t *n_params) {
    nn_error err;
    *n_params = nn_model_param_count(r->m);
    float *p = malloc(*n_params * sizeof(float));
    cr_assert_eq(nn_model_get_params(r->m, p, *n_params, &err), NN_OK, "%s", err.msg);
    nn_model_free(r->m);
    nn_backend_close(r->be);
    nn_dataset_free(&r->tr), nn_dataset_free(&r->te);
    return p;
}

static float *train_with_writes(nn_optimizer opt, int threads, int *copied, size_t *n_params) {
    copies_rig r;
    copies_open(&r, 1250, threads, opt);
    nn_model *m = r.m;
    nn_error err;
    nn_train_result res;
    r.tc.epochs = 2;
    cr_assert_eq(nn_train(m, &r.src, &r.tc, &res, &err), NN_OK, "%s", err.msg);
    const size_t n = nn_model_param_count(m);
    float *p = malloc(n * sizeof(float));
    cr_assert_eq(nn_model_get_params(m, p, n, &err), NN_OK, "%s", err.msg);
    for (size_t i = 0; i < n; i++) p[i] *= 0.75f;
    cr_assert_eq(nn_model_set_params(m, p, n, &err), NN_OK, "%s", err.msg);
    free(p);
    r.tc.epochs = 1;
    cr_assert_eq(nn_train(m, &r.src, &r.tc, &res, &err), NN_OK, "%s", err.msg);
    *copied = m->copy_gen[1] != 0;
    return copies_close(&r, n_params);
}

/* Row steps of 16-64-64-1 (300 rows: 3 chunks) with nn_model_set_params
 * between them; the parameters after them, and into *current whether thread
 * 1's copy followed the new parameters (it holds the final generation). */
static float *steps_around_set_params(nn_optimizer opt, int threads, int *current,
                                      size_t *n_params) {
    const net_case c = {{16, 64, 64, 1}, 4, NN_ACT_RELU, NN_LOSS_BCE, opt, 300};
    rig g = rig_open(&c, threads, NN_CPU_PATH_AUTO, 0);
    if (threads > 1) wake_thread_1(g.be);
    nn_model *m = g.m;
    nn_error err;
    const size_t n = *n_params = m->n_params;
    float *p = malloc(n * sizeof(float));
    cr_assert_eq(nn_model_get_params(m, p, n, &err), NN_OK, "%s", err.msg);
    for (int s = 1; s <= 6; s++) {
        if (s == 4) { /* new parameters from outside the step, right after one (whose
                       * update the row step may still hold back) */
            for (size_t i = 0; i < n; i++) p[i] = 0.5f * p[i] + 0.01f;
            cr_assert_eq(nn_model_set_params(m, p, n, &err), NN_OK, "%s", err.msg);
        }
        if (s == 6 && threads > 1) wake_thread_1(g.be); /* for the last step to find it */
        const nn_opt_step step = opt_step(opt, s);
        int done = 0;
        cr_assert_eq(model_train_rows(m, (nn_view){g.xb, 0}, (nn_view){g.tb, 0}, NULL, c.rows,
                                      1.0f / (float)c.rows, (nn_view){NULL, 0}, &step, &done, &err),
                     NN_OK, "%s", err.msg);
        cr_assert(done, "the step did not run in row chunks");
    }
    *current = threads > 1 && m->copy_gen[1] == m->params_gen;
    cr_assert_eq(nn_model_get_params(m, p, n, &err), NN_OK, "%s", err.msg);
    rig_close(&g);
    return p;
}

/* A run of one of the cases above: the parameters after it (free them), and
 * into *used whether thread 1's copy took part as the case requires. */
typedef float *(*copies_case)(nn_optimizer opt, int threads, int *used, size_t *n_params);

/* The case on 1 and 2 threads gives the same bits, for each optimizer; the
 * 2-thread run is repeated until thread 1's copy took part (on a busy
 * machine a run may go by without it). */
static void check_copies(copies_case run) {
    const nn_optimizer opts[] = {NN_OPT_SGD, NN_OPT_MOMENTUM, NN_OPT_ADAM};
    for (int o = 0; o < 3; o++) {
        int used = 0;
        size_t n;
        float *one = run(opts[o], 1, &used, &n);
        for (int attempt = 0; attempt < 200 && !used; attempt++) {
            float *two = run(opts[o], 2, &used, &n);
            cr_assert_eq(memcmp(one, two, n * sizeof(float)), 0, "%s: 1 and 2 threads differ",
                         nn_optimizer_name(opts[o]));
            free(two);
        }
        cr_assert(used, "%s: thread 1's copy did not take part in 200 runs",
                  nn_optimizer_name(opts[o]));
        free(one);
    }
}

Test(row_step, thread_copies_follow_set_params) { check_copies(steps_around_set_params); }

/* A trainer of r's model for `epochs` epochs. */
static nn_trainer *copies_trainer(copies_rig *r, int epochs) {
    nn_error err;
    nn_trainer *t = NULL;
    r->tc.epochs = epochs;
    cr_assert_eq(nn_trainer_create(r->m, &r->src, &r->tc, &t, &err), NN_OK, "%s", err.msg);
    return t;
}

/* Trainer t run to its end with thread 1 awake, then freed; into *current
 * whether thread 1's copy followed (it holds the final generation). */
static void copies_finish(copies_rig *r, nn_trainer *t, int threads, int *current) {
    nn_error err;
    if (threads > 1) wake_thread_1(r->be); /* for the last steps to find it */
    cr_assert_eq(nn_trainer_run(t, &err), NN_OK, "%s", err.msg);
    *current = threads > 1 && r->m->copy_gen[1] == r->m->params_gen;
    nn_trainer_free(t);
}

/* A trainer rewound to an earlier state (nn_trainer_set_state on the same
 * model, whose copies hold later parameters): 16-64-64-1, 900 rows in
 * batches of 300 (every step in row chunks); the state after 2 steps,
 * 8 steps, back to it, to the end. Into *current whether thread 1's copy
 * followed (it holds the final generation). */
static float *rewound(nn_optimizer opt, int threads, int *current, size_t *n_params) {
    copies_rig r;
    copies_open(&r, 1125, threads, opt);
    nn_error err;
    nn_trainer *t = copies_trainer(&r, 3);
    nn_train_state state;
    for (int i = 0; i < 8; i++) {
        if (i == 2) cr_assert_eq(nn_trainer_get_state(t, &state, &err), NN_OK, "%s", err.msg);
        cr_assert_eq(nn_trainer_step(t, &err), NN_OK, "%s", err.msg);
    }
    cr_assert_eq(nn_trainer_set_state(t, &state, &err), NN_OK, "%s", err.msg);
    nn_train_state_free(&state);
    copies_finish(&r, t, threads, current);
    return copies_close(&r, n_params);
}

Test(row_step, thread_copies_follow_a_rewound_trainer) { check_copies(rewound); }

/* A trainer freed after 2 of its 3 steps (the last one's update held back by
 * the row step), then a new trainer on the same model, which zeroes the
 * optimizer's moments before its first step: 16-64-64-1, 900 rows in batches
 * of 300. Into *current whether thread 1's copy followed. */
static float *trainer_after_trainer(nn_optimizer opt, int threads, int *current,
                                    size_t *n_params) {
    copies_rig r;
    copies_open(&r, 1125, threads, opt);
    nn_error err;
    nn_trainer *t = copies_trainer(&r, 1);
    for (int i = 0; i < 2; i++) cr_assert_eq(nn_trainer_step(t, &err), NN_OK, "%s", err.msg);
    nn_trainer_free(t);
    copies_finish(&r, copies_trainer(&r, 1), threads, current);
    return copies_close(&r, n_params);
}

Test(row_step, thread_copies_follow_a_second_trainer) { check_copies(trainer_after_trainer); }

Test(row_step, thread_copies_follow_parameters_written_elsewhere) {
    check_copies(train_with_writes);
}

/* The same for the tutorial's network in batches of 300 (800 rows: the last
 * one 200): each batch in one pass of small_step, its rows gathered there. */
Test(row_step, nn_train_takes_the_one_pass_step_on_shuffled_batches) {
    if (!nn_cpu_path_supported(NN_CPU_PATH_AVX512)) cr_skip_test("no AVX-512 here");
    check_shuffled(1);
}
