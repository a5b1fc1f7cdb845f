/* test_parity.c — the same training on cpu and opencl. One-step errors
 * (nnbench check's verdict, nn_parity_step_check): from the cpu's state at
 * every step, every quantity of the step within its float32 rounding bound,
 * and each backend within its own bound of the double recomputation. Free
 * runs of well-conditioned trainings (nn_parity_compare): loss and weights
 * agree at every logging point, equal final test accuracy, repeated OpenCL
 * runs bit-identical. The pieces: which rows a step takes, a layer's
 * outputs, bad arguments. Device tests are skipped (not passed) when no
 * OpenCL device can be used. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_tools.h"
#include "testutil.h"

#define MAX_LOGS 64

typedef struct run_trace {
    nn_model *m;
    size_t np, n;
    double loss[MAX_LOGS];
    float *w; /* (MAX_LOGS, np) weights at each logging point */
} run_trace;

static int on_log(void *user, int epoch, double loss) {
    (void)epoch;
    run_trace *t = user;
    nn_error err;
    cr_assert_lt(t->n, MAX_LOGS);
    t->loss[t->n] = loss;
    cr_assert_eq(nn_model_get_params(t->m, t->w + t->n * t->np, t->np, &err), NN_OK, "%s", err.msg);
    t->n++;
    return 0;
}

typedef struct setup {
    nn_dataset train, test;
    nn_model_config mc;
    nn_train_config tc;
} setup;

static void make_setup(setup *s, nn_data_kind kind, size_t classes) {
    nn_data_spec spec = nn_data_spec_default(kind);
    spec.classes = classes;
    tu_split_standardized(spec, 0.2, &s->train, &s->test);
    s->tc = nn_train_config_default();
}

/* Train on backend `be` from weights `init`; returns the test accuracy. */
static double train_on(nn_backend *be, const setup *s, const float *init, run_trace *t) {
    nn_error err;
    cr_assert_eq(nn_model_create(be, &s->mc, &t->m, &err), NN_OK, "%s", err.msg);
    t->np = nn_model_param_count(t->m);
    t->w = malloc(MAX_LOGS * t->np * sizeof(float));
    cr_assert_eq(nn_model_set_params(t->m, init, t->np, &err), NN_OK);
    nn_train_config tc = s->tc;
    tc.on_log = on_log;
    tc.user = t;
    nn_source src = nn_source_from_dataset(&s->train);
    cr_assert_eq(nn_train(t->m, &src, &tc, NULL, &err), NN_OK, "%s: %s", nn_backend_name(be), err.msg);
    nn_eval ev;
    cr_assert_eq(nn_model_evaluate(t->m, &s->test, &ev, &err), NN_OK);
    return ev.accuracy;
}

static void free_trace(run_trace *t) {
    nn_model_free(t->m);
    free(t->w);
}

static void compare_backends(setup *s) {
    nn_backend *ocl = tu_open_opencl();
    if (!ocl) cr_skip_test("no OpenCL device");
    nn_backend *cpu = tu_open("cpu", 2);
    nn_model *probe;
    nn_error err;
    cr_assert_eq(nn_model_create(cpu, &s->mc, &probe, &err), NN_OK, "%s", err.msg);
    size_t np = nn_model_param_count(probe);
    float *init = malloc(np * sizeof(float));
    cr_assert_eq(nn_model_get_params(probe, init, np, &err), NN_OK);
    nn_model_free(probe);

    run_trace a = {0}, b = {0}, c = {0};
    double acc_cpu = train_on(cpu, s, init, &a), acc_ocl = train_on(ocl, s, init, &b);
    cr_assert_eq(a.n, b.n);
    cr_assert_gt(a.n, 2u);
    for (size_t i = 0; i < a.n; i++) { /* nnbench check's comparison and tolerances */
        nn_parity p = nn_parity_compare(a.loss[i], b.loss[i], a.w + i * np, b.w + i * np, np);
        cr_assert(p.ok,
                  "log point %zu: loss cpu %.8f opencl %.8f (|d| %.3g); max|dw| %g, max|w| %g", i,
                  a.loss[i], b.loss[i], p.loss_diff, p.weight_diff, p.weight_max);
    }
    cr_assert_eq(acc_cpu, acc_ocl, "test accuracy cpu %g, opencl %g", acc_cpu, acc_ocl);
    cr_assert_lt(a.loss[a.n - 1], a.loss[0], "training lowered the loss");

    /* a second OpenCL run is bit-identical to the first */
    double acc_again = train_on(ocl, s, init, &c);
    cr_assert_eq(acc_again, acc_ocl);
    cr_assert(memcmp(b.w, c.w, b.n * np * sizeof(float)) == 0, "repeated OpenCL runs differ");
    for (size_t i = 0; i < b.n; i++) cr_assert_eq(b.loss[i], c.loss[i]);

    free_trace(&a), free_trace(&b), free_trace(&c);
    free(init);
    nn_backend_close(cpu);
    nn_backend_close(ocl);
}

Test(parity, default_network_200_steps) {
    setup s;
    make_setup(&s, NN_DATA_CIRCLES, 2);
    s.mc = (nn_model_config){.n_sizes = 3, .sizes = {2, 8, 1}, .hidden = NN_ACT_RELU,
                             .loss = NN_LOSS_BCE, .seed = 42};
    s.tc.epochs = 200;
    s.tc.log_every = 20;
    compare_backends(&s);
    nn_dataset_free(&s.train), nn_dataset_free(&s.test);
}

Test(parity, three_layer_softmax_adam_minibatch_200_steps) {
    setup s;
    make_setup(&s, NN_DATA_SPIRALS, 3);
    s.mc = (nn_model_config){.n_sizes = 4, .sizes = {2, 33, 17, 3}, .hidden = NN_ACT_TANH,
                             .loss = NN_LOSS_CE, .seed = 7};
    s.tc.optimizer = NN_OPT_ADAM;
    s.tc.lr = 0.01;
    s.tc.batch = 64; /* 800 rows: 13 steps per epoch, the last one partial */
    s.tc.epochs = 16; /* 208 steps */
    s.tc.log_every = 2;
    compare_backends(&s);
    nn_dataset_free(&s.train), nn_dataset_free(&s.test);
}

Test(parity, momentum_sigmoid_mse) {
    setup s;
    make_setup(&s, NN_DATA_MOONS, 2);
    s.mc = (nn_model_config){.n_sizes = 3, .sizes = {2, 65, 1}, .hidden = NN_ACT_SIGMOID,
                             .loss = NN_LOSS_MSE, .seed = 3};
    s.tc.optimizer = NN_OPT_MOMENTUM;
    s.tc.lr = 0.05;
    s.tc.batch = 100;
    s.tc.epochs = 25;
    s.tc.log_every = 5;
    compare_backends(&s);
    nn_dataset_free(&s.train), nn_dataset_free(&s.test);
}

/* Every step of s's training from the cpu's state on opencl: all within
 * bounds, and each backend within its own bound of the recomputation. */
static void one_step_errors_within_bounds(const setup *s) {
    nn_backend *ocl = tu_open_opencl();
    if (!ocl) cr_skip_test("no OpenCL device");
    nn_backend *cpu = tu_open("cpu", 2);
    nn_error err;
    nn_model *mr, *mo;
    cr_assert_eq(nn_model_create(cpu, &s->mc, &mr, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(nn_model_create(ocl, &s->mc, &mo, &err), NN_OK, "%s", err.msg);
    nn_train_config tc = s->tc;
    tc.step_loss = 1;
    nn_source src = nn_source_from_dataset(&s->train);
    nn_trainer *tr, *to;
    cr_assert_eq(nn_trainer_create(mr, &src, &tc, &tr, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(nn_trainer_create(mo, &src, &tc, &to, &err), NN_OK, "%s", err.msg);
    nn_parity_step *ps = malloc(sizeof *ps);
    uint64_t steps = 0;
    while (!nn_trainer_finished(tr)) {
        cr_assert_eq(nn_parity_step_check(tr, mr, to, mo, &src, &tc, ps, &err), NN_OK, "%s",
                     err.msg);
        cr_assert_eq(ps->step, steps);
        cr_assert(ps->ok, "step %llu: layer %d %s out of tolerance",
                  (unsigned long long)steps, ps->bad_layer + 1, nn_parity_qty_name(ps->bad_qty));
        for (size_t l = 0; l < ps->n_layers; l++)
            for (int q = 0; q < NN_PQ_COUNT; q++) {
                const nn_parity_item *it = &ps->item[l][q];
                cr_assert(!it->n || (it->dev_ref <= 1.0 && it->dev_other <= 1.0),
                          "step %llu layer %zu %s: cpu at %.3g, opencl at %.3g of its bound",
                          (unsigned long long)steps, l + 1, nn_parity_qty_name((nn_parity_qty)q),
                          it->dev_ref, it->dev_other);
            }
        steps++;
    }
    cr_assert_eq(steps, nn_trainer_steps_per_epoch(tr) * (uint64_t)tc.epochs);
    free(ps);
    nn_trainer_free(tr);
    nn_trainer_free(to);
    nn_model_free(mr);
    nn_model_free(mo);
    nn_backend_close(cpu);
    nn_backend_close(ocl);
}

Test(parity, one_step_errors_relu_bce_sgd_full_batch) {
    setup s;
    make_setup(&s, NN_DATA_CIRCLES, 2);
    s.mc = (nn_model_config){.n_sizes = 3, .sizes = {2, 8, 1}, .hidden = NN_ACT_RELU,
                             .loss = NN_LOSS_BCE, .seed = 42};
    s.tc.epochs = 40;
    one_step_errors_within_bounds(&s);
    nn_dataset_free(&s.train), nn_dataset_free(&s.test);
}

Test(parity, one_step_errors_tanh_ce_adam_minibatch) {
    setup s;
    make_setup(&s, NN_DATA_SPIRALS, 3);
    s.mc = (nn_model_config){.n_sizes = 4, .sizes = {2, 33, 17, 3}, .hidden = NN_ACT_TANH,
                             .loss = NN_LOSS_CE, .seed = 7};
    s.tc.optimizer = NN_OPT_ADAM;
    s.tc.lr = 0.1; /* chaotic: the free runs separate; the one-step errors do not grow */
    s.tc.batch = 64;
    s.tc.epochs = 4;
    one_step_errors_within_bounds(&s);
    nn_dataset_free(&s.train), nn_dataset_free(&s.test);
}

Test(parity, one_step_errors_sigmoid_mse_momentum) {
    setup s;
    make_setup(&s, NN_DATA_MOONS, 2);
    s.mc = (nn_model_config){.n_sizes = 3, .sizes = {2, 65, 1}, .hidden = NN_ACT_SIGMOID,
                             .loss = NN_LOSS_MSE, .seed = 3};
    s.tc.optimizer = NN_OPT_MOMENTUM;
    s.tc.momentum = 0.99;
    s.tc.lr = 0.05;
    s.tc.batch = 100;
    s.tc.epochs = 5;
    one_step_errors_within_bounds(&s);
    nn_dataset_free(&s.train), nn_dataset_free(&s.test);
}

/* The rows a step takes: every row once per epoch, in resident (shuffled on
 * the device) and streamed chunks, and the step's first layer computed from
 * exactly those rows. */
static void rows_of_each_step(size_t chunk_rows) {
    setup s;
    make_setup(&s, NN_DATA_SPIRALS, 3);
    s.mc = (nn_model_config){.n_sizes = 3, .sizes = {2, 5, 3}, .hidden = NN_ACT_RELU,
                             .loss = NN_LOSS_CE, .seed = 1};
    s.tc.batch = 48;
    s.tc.epochs = 2;
    s.tc.chunk_rows = chunk_rows;
    nn_backend *cpu = tu_open("cpu", 1);
    nn_error err;
    nn_model *m;
    cr_assert_eq(nn_model_create(cpu, &s.mc, &m, &err), NN_OK);
    nn_source src = nn_source_from_dataset(&s.train);
    nn_trainer *t;
    cr_assert_eq(nn_trainer_create(m, &src, &s.tc, &t, &err), NN_OK, "%s", err.msg);
    nn_model_keep_preactivations(m, 1); /* the cpu keeps no hidden Z unless asked */
    const size_t n = s.train.n, np = nn_model_param_count(m);
    unsigned char *seen = calloc(n, 1);
    uint64_t rows[48];
    float z[48 * 5], w[2 * 5 + 5 + 5 * 3 + 3];
    cr_assert_eq(np, sizeof w / sizeof w[0]);
    for (int epoch = 0; epoch < 2; epoch++) {
        memset(seen, 0, n);
        for (uint64_t k = 0; k < nn_trainer_steps_per_epoch(t); k++) {
            size_t got = 0;
            cr_assert_eq(nn_trainer_batch_rows(t, rows, 48, &got, &err), NN_OK, "%s", err.msg);
            cr_assert_eq(nn_model_get_params(m, w, np, &err), NN_OK);
            cr_assert_eq(nn_trainer_step(t, &err), NN_OK, "%s", err.msg);
            cr_assert_eq(nn_model_get_layer(m, 0, got, z, NULL, &err), NN_OK, "%s", err.msg);
            for (size_t r = 0; r < got; r++) {
                cr_assert_lt(rows[r], n);
                cr_assert(!seen[rows[r]], "row %llu twice in epoch %d",
                          (unsigned long long)rows[r], epoch);
                seen[rows[r]] = 1;
                const float *x = s.train.x + rows[r] * 2;
                for (size_t j = 0; j < 5; j++) {
                    double zz = (double)x[0] * w[j] + (double)x[1] * w[5 + j] + w[10 + j];
                    cr_assert_float_eq(z[r * 5 + j], zz, 1e-5 * (1 + fabs(zz)),
                                       "step %llu row %zu: Z of another row",
                                       (unsigned long long)k, r);
                }
            }
        }
        for (size_t i = 0; i < n; i++)
            cr_assert(seen[i], "row %zu not taken in epoch %d", i, epoch);
    }
    size_t got;
    cr_assert_eq(nn_trainer_batch_rows(t, rows, 48, &got, &err), NN_E_INVALID, "finished");
    free(seen);
    nn_trainer_free(t);
    nn_model_free(m);
    nn_backend_close(cpu);
    nn_dataset_free(&s.train), nn_dataset_free(&s.test);
}

Test(parity, batch_rows_resident_shuffled) { rows_of_each_step(0); }
Test(parity, batch_rows_streamed_chunks) { rows_of_each_step(240); }

Test(parity, bad_arguments_are_reported) {
    nn_backend *cpu = tu_open("cpu", 1);
    nn_error err;
    nn_model_config mc = {.n_sizes = 3, .sizes = {2, 4, 1}, .hidden = NN_ACT_RELU,
                          .loss = NN_LOSS_BCE, .seed = 1};
    nn_model *m, *m2;
    cr_assert_eq(nn_model_create(cpu, &mc, &m, &err), NN_OK);
    float z[64];
    cr_assert_eq(nn_model_get_layer(m, 2, 1, z, NULL, &err), NN_E_INVALID, "no layer 3");
    cr_assert_eq(nn_model_get_layer(m, 0, 1, z, NULL, &err), NN_E_INVALID, "no pass yet");
    nn_data_spec spec = nn_data_spec_default(NN_DATA_CIRCLES);
    spec.samples = 64;
    nn_dataset d;
    cr_assert_eq(nn_data_generate(&spec, &d, &err), NN_OK);
    nn_source src = nn_source_from_dataset(&d);
    nn_train_config tc = nn_train_config_default();
    tc.epochs = 1;
    nn_trainer *t, *t2;
    cr_assert_eq(nn_trainer_create(m, &src, &tc, &t, &err), NN_OK);
    mc.sizes[1] = 5;
    cr_assert_eq(nn_model_create(cpu, &mc, &m2, &err), NN_OK);
    cr_assert_eq(nn_trainer_create(m2, &src, &tc, &t2, &err), NN_OK);
    nn_parity_step ps;
    cr_assert_eq(nn_parity_step_check(t, m, t2, m2, &src, &tc, &ps, &err), NN_E_INVALID);
    cr_assert(strstr(err.msg, "shape"), "%s", err.msg);
    cr_assert_eq(nn_parity_step_check(t, m, t, m, &src, &tc, &ps, &err), NN_E_INVALID);
    cr_assert(strstr(err.msg, "step_loss"), "%s", err.msg);
    nn_trainer_free(t);
    nn_trainer_free(t2);
    nn_model_free(m);
    nn_model_free(m2);
    nn_dataset_free(&d);
    nn_backend_close(cpu);
}

/* Train `steps` steps of a 2-6-5-3 relu/ce model on the cpu (1 or 2 threads),
 * keeping the pre-activations or not; the final parameters into w. */
static nn_model *train_keeping(nn_backend *cpu, int keep, int steps, float *w, size_t np,
                               nn_trainer **t) {
    setup s;
    make_setup(&s, NN_DATA_SPIRALS, 3);
    s.mc = (nn_model_config){.n_sizes = 4, .sizes = {2, 6, 5, 3}, .hidden = NN_ACT_RELU,
                             .loss = NN_LOSS_CE, .seed = 3};
    s.tc.batch = 40;
    s.tc.optimizer = NN_OPT_ADAM;
    s.tc.lr = 0.01;
    nn_error err;
    nn_model *m;
    cr_assert_eq(nn_model_create(cpu, &s.mc, &m, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(nn_model_keep_preactivations(m, keep), 0, "not kept by default");
    nn_source src = nn_source_from_dataset(&s.train);
    cr_assert_eq(nn_trainer_create(m, &src, &s.tc, t, &err), NN_OK, "%s", err.msg);
    for (int k = 0; k < steps; k++) cr_assert_eq(nn_trainer_step(*t, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(nn_model_param_count(m), np);
    cr_assert_eq(nn_model_get_params(m, w, np, &err), NN_OK);
    nn_dataset_free(&s.train), nn_dataset_free(&s.test);
    return m;
}

/* The cpu's fused ops do without the hidden layers' pre-activations: a layer
 * whose Z the last pass did not keep is refused (never stale values), keeping
 * them is asked per model, and keeping changes no bit of the training. */
Test(parity, preactivations_are_kept_when_asked_and_change_nothing) {
    enum { NP = 2 * 6 + 6 + 6 * 5 + 5 + 5 * 3 + 3 };
    for (int threads = 1; threads <= 2; threads++) {
        nn_backend *cpu = tu_open("cpu", threads);
        float w0[NP], w1[NP], z[40 * 6], a[40 * 6];
        nn_trainer *t0, *t1;
        nn_error err;
        nn_model *m0 = train_keeping(cpu, 0, 7, w0, NP, &t0);
        nn_model *m1 = train_keeping(cpu, 1, 7, w1, NP, &t1);
        cr_assert(memcmp(w0, w1, sizeof w0) == 0, "%d threads: keeping Z changed the weights",
                  threads);
        cr_assert_eq(nn_model_get_layer(m0, 0, 40, z, NULL, &err), NN_E_INVALID);
        cr_assert(strstr(err.msg, "did not keep") && strstr(err.msg, "layer 0"), "%s", err.msg);
        cr_assert_eq(nn_model_get_layer(m0, 0, 40, NULL, a, &err), NN_OK, "%s", err.msg);
        cr_assert_eq(nn_model_get_layer(m0, 2, 40, z, a, &err), NN_OK, "the output layer's Z");
        cr_assert_eq(nn_model_get_layer(m1, 0, 40, z, a, &err), NN_OK, "%s", err.msg);
        for (size_t i = 0; i < 40 * 6; i++) /* A = relu(Z) of the same pass */
            cr_assert_eq(a[i], z[i] > 0.0f ? z[i] : 0.0f, "element %zu", i);
        cr_assert_eq(nn_model_keep_preactivations(m1, 0), 1);
        nn_trainer_free(t0), nn_trainer_free(t1);
        nn_model_free(m0), nn_model_free(m1);
        nn_backend_close(cpu);
    }
}

/* The comparison itself: within the tolerances, just outside, and NaN. */
Test(parity, comparison_applies_the_stated_tolerances) {
    const float ref[3] = {1.0f, -2.0f, 0.5f};
    float w[3] = {1.0f, -2.0f, 0.5f};
    nn_parity p = nn_parity_compare(0.5, 0.5, ref, w, 3);
    cr_assert(p.ok && p.loss_diff == 0 && p.weight_diff == 0 && p.weight_max == 2.0);
    cr_assert(p.weight_rel == 0 && !p.separated);
    w[0] = 1.0f + 2e-3f; /* |dw| / |w| = 2e-3 / sqrt(5.25) < 1e-3: together */
    p = nn_parity_compare(0.5, 0.5, ref, w, 3);
    cr_assert_float_eq(p.weight_rel, 2e-3 / sqrt(5.25), 1e-7);
    cr_assert(!p.separated);
    w[0] = 1.0f + 3e-3f; /* 3e-3 / sqrt(5.25) > 1e-3: separated */
    p = nn_parity_compare(0.5, 0.5, ref, w, 3);
    cr_assert(p.separated, "%g", p.weight_rel);
    w[0] = 1.0f;
    p = nn_parity_compare(0.5, 0.5 + 0.9 * (NN_PARITY_LOSS_ATOL + NN_PARITY_LOSS_RTOL * 0.5), ref,
                          w, 3);
    cr_assert(p.ok, "inside the loss tolerance");
    p = nn_parity_compare(0.5, 0.5 + 1.1 * (NN_PARITY_LOSS_ATOL + NN_PARITY_LOSS_RTOL * 0.5), ref,
                          w, 3);
    cr_assert(!p.ok, "outside the loss tolerance");
    w[1] = (float)(-2.0 - 1.1 * NN_PARITY_WEIGHT_RTOL * 2.0);
    p = nn_parity_compare(0.5, 0.5, ref, w, 3);
    cr_assert(!p.ok && p.weight_diff > NN_PARITY_WEIGHT_RTOL * 2.0, "a weight out of tolerance");
    w[1] = NAN;
    p = nn_parity_compare(0.5, 0.5, ref, w, 3);
    cr_assert(!p.ok && isnan(p.weight_diff), "NaN weights never pass");
    cr_assert(p.separated, "NaN weights are separated");
    w[1] = -2.0f;
    p = nn_parity_compare(0.5, NAN, ref, w, 3);
    cr_assert(!p.ok, "a NaN loss never passes");
}
