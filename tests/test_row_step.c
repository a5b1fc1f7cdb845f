/* test_row_step.c — the training step in row chunks (model_rows.c): the same
 * bits for 1 and 2 threads, the per-op step's result within float rounding
 * (every loss, hidden activation and optimizer), the networks it declines,
 * chunks that gather their own rows, and run_chunks reporting the lowest
 * failing chunk. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu_ops.h"
#include "model_impl.h"
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
        if (!done)
            cr_assert_eq(be->ops->update(be, &step, (nn_view){m->params, 0},
                                         (nn_view){m->grads, 0}, (nn_view){m->opt_m, 0},
                                         (nn_view){m->opt_v, 0}, m->n_params, &err),
                         NN_OK, "%s", err.msg);
    }
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

/* One-hidden-layer ReLU networks take small_step (one pass over the rows):
 * the checks of check_case, and the portable C path gives the AVX-512 path's
 * bits. Hidden widths below, at and between the kernel's 8 and 16, 1-4
 * inputs, rows that end mid-vector, one chunk or several. */
static void check_small(const net_case *c) {
    check_case(c);
    trained portable = train_on(c, 1, 1, NN_CPU_PATH_C), best = train_on(c, 2, 1, NN_CPU_PATH_AUTO);
    cr_assert(portable.rows_path && best.rows_path);
    cr_assert_eq(memcmp(portable.params, best.params, best.n_params * sizeof(float)), 0,
                 "the C and the best path differ");
    cr_assert_eq(memcmp(portable.loss, best.loss, sizeof best.loss), 0);
    free(portable.params);
    free(best.params);
}

Test(row_step, small_tutorial_network_full_batch) {
    check_small(&(net_case){{2, 8, 1}, 3, NN_ACT_RELU, NN_LOSS_BCE, NN_OPT_SGD, 800});
}

Test(row_step, small_networks_of_other_widths) {
    check_small(&(net_case){{1, 5, 1}, 3, NN_ACT_RELU, NN_LOSS_BCE, NN_OPT_MOMENTUM, 300});
    check_small(&(net_case){{3, 12, 1}, 3, NN_ACT_RELU, NN_LOSS_MSE, NN_OPT_ADAM, 1000});
    check_small(&(net_case){{4, 16, 1}, 3, NN_ACT_RELU, NN_LOSS_BCE, NN_OPT_ADAM, 2000});
    check_small(&(net_case){{2, 9, 1}, 3, NN_ACT_RELU, NN_LOSS_BCE, NN_OPT_SGD, 37});
}

/* After a one-pass step the hidden layers' values were never written: asking
 * for them is refused, not answered with stale numbers. */
Test(row_step, layers_after_a_one_pass_step_are_refused) {
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

static nn_status fail_some(void *ctx, nn_backend *solo, size_t chunk, nn_error *err) {
    fail_ctx *f = ctx;
    cr_assert_eq(solo->threads, 1);
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
