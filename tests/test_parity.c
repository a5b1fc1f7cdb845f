/* test_parity.c — the same training loop on cpu and opencl: same initial
 * weights, same data order; loss and weights compared at every logging
 * point with nnbench check's routine (nn_parity_compare), equal final test
 * accuracy, and repeated OpenCL runs bit-identical.
 * Skipped (not passed) when no OpenCL device can be used. */
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

/* The comparison itself: within the tolerances, just outside, and NaN. */
Test(parity, comparison_applies_the_stated_tolerances) {
    const float ref[3] = {1.0f, -2.0f, 0.5f};
    float w[3] = {1.0f, -2.0f, 0.5f};
    nn_parity p = nn_parity_compare(0.5, 0.5, ref, w, 3);
    cr_assert(p.ok && p.loss_diff == 0 && p.weight_diff == 0 && p.weight_max == 2.0);
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
    w[1] = -2.0f;
    p = nn_parity_compare(0.5, NAN, ref, w, 3);
    cr_assert(!p.ok, "a NaN loss never passes");
}
