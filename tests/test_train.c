/* test_train.c — the training loop: one step helps, the tutorial's run
 * learns circles, Adam beats plain descent, thread-count determinism,
 * divergence detection, mini-batches and streaming in chunks. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* The tutorial's data: circles 1000, noise 0.1, 80/20 split, standardized. */
static void tutorial_data(nn_dataset *train, nn_dataset *test, uint64_t seed) {
    nn_data_spec spec = nn_data_spec_default(NN_DATA_CIRCLES);
    spec.seed = seed;
    tu_split_standardized(spec, 0.2, train, test);
}

static nn_model *make_model(nn_backend *be, const size_t *sizes, size_t n, nn_act hidden,
                            nn_loss loss, uint64_t seed) {
    nn_model_config cfg = {.n_sizes = n, .hidden = hidden, .loss = loss, .seed = seed};
    memcpy(cfg.sizes, sizes, n * sizeof(size_t));
    nn_model *m = NULL;
    nn_error err;
    cr_assert_eq(nn_model_create(be, &cfg, &m, &err), NN_OK, "%s", err.msg);
    return m;
}

/* The tutorial's data, a CPU backend and a fresh 2-8-1 ReLU/BCE model on it. */
typedef struct fixture {
    nn_dataset tr, te;
    nn_backend *be;
    nn_model *m;
} fixture;

static fixture fixture_open(int threads, uint64_t seed) {
    fixture f;
    tutorial_data(&f.tr, &f.te, seed);
    f.be = tu_open("cpu", threads);
    f.m = make_model(f.be, (size_t[]){2, 8, 1}, 3, NN_ACT_RELU, NN_LOSS_BCE, seed);
    return f;
}

static void fixture_close(fixture *f) {
    nn_model_free(f->m);
    nn_backend_close(f->be);
    nn_dataset_free(&f->tr), nn_dataset_free(&f->te);
}

static double train_loss(nn_model *m, const nn_dataset *d, nn_train_config tc) {
    nn_source src = nn_source_from_dataset(d);
    nn_train_result res;
    nn_error err;
    cr_assert_eq(nn_train(m, &src, &tc, &res, &err), NN_OK, "%s", err.msg);
    return res.final_loss;
}

Test(train, one_step_lowers_the_loss) {
    fixture f = fixture_open(2, 42);
    nn_eval before, after;
    nn_error err;
    cr_assert_eq(nn_model_evaluate(f.m, &f.tr, &before, &err), NN_OK);
    nn_train_config tc = nn_train_config_default();
    tc.epochs = 1;
    double logged = train_loss(f.m, &f.tr, tc);
    cr_assert(fabs(logged - before.loss) < 1e-4, "epoch-0 loss %g is the loss before the step %g",
              logged, before.loss);
    cr_assert_eq(nn_model_evaluate(f.m, &f.tr, &after, &err), NN_OK);
    cr_assert_lt(after.loss, before.loss);
    fixture_close(&f);
}

/* The tutorial's figures on nnbench's own circles (the README's): final loss
 * 0.5160 and test accuracy 0.86 (172 of 200). A 10% change of the learning
 * rate moves the loss by ~0.013 (lr 0.05: 0.589, 0.825); the tolerances leave
 * room only for libm's last bits on other machines. */
#define TUTORIAL_LOSS 0.5160
#define TUTORIAL_LOSS_TOL 0.003
#define TUTORIAL_ACCURACY 0.86
#define TUTORIAL_ACCURACY_TOL 0.005 /* one test sample */

Test(train, tutorial_run_reaches_its_figures) {
    fixture f = fixture_open(0, 42);
    double last;
    nn_train_config tc = nn_train_config_default();
    nn_source src = nn_source_from_dataset(&f.tr);
    nn_train_result res;
    nn_error err;
    cr_assert_eq(nn_train(f.m, &src, &tc, &res, &err), NN_OK, "%s", err.msg);
    last = res.final_loss;
    nn_eval ev;
    cr_assert_eq(nn_model_evaluate(f.m, &f.te, &ev, &err), NN_OK);
    cr_assert(fabs(ev.accuracy - TUTORIAL_ACCURACY) <= TUTORIAL_ACCURACY_TOL,
              "test accuracy %g, the tutorial's %g", ev.accuracy, TUTORIAL_ACCURACY);
    cr_assert_eq(res.epochs_run, 1000);
    cr_assert_eq(res.samples_seen, 800u * 1000u);
    cr_assert(fabs(last - TUTORIAL_LOSS) <= TUTORIAL_LOSS_TOL,
              "final loss %.4f, the tutorial's %.4f", last, TUTORIAL_LOSS);
    fixture_close(&f);
}

static int count_steps(void *user, double fraction) {
    (void)fraction;
    ++*(int *)user;
    return 0;
}

/* Logging callback state (each Criterion test runs in its own process). */
static int rec_epochs[64], rec_n;
static int record(void *user, int epoch, double loss) {
    (void)user;
    cr_assert(isfinite(loss) && loss > 0);
    if (rec_n < 64) rec_epochs[rec_n++] = epoch;
    return 0;
}

Test(train, logging_points_are_every_k_epochs_and_the_last) {
    fixture f = fixture_open(1, 1);
    nn_train_config tc = nn_train_config_default();
    tc.epochs = 250;
    tc.log_every = 100;
    tc.on_log = record;
    nn_source src = nn_source_from_dataset(&f.tr);
    nn_error err;
    cr_assert_eq(nn_train(f.m, &src, &tc, NULL, &err), NN_OK);
    cr_assert_eq(rec_n, 4);
    cr_assert_eq(rec_epochs[0], 0);
    cr_assert_eq(rec_epochs[1], 100);
    cr_assert_eq(rec_epochs[2], 200);
    cr_assert_eq(rec_epochs[3], 249);
    fixture_close(&f);
}

Test(train, adam_reaches_lower_loss_than_plain_descent) {
    nn_dataset tr, te;
    tutorial_data(&tr, &te, 42);
    nn_backend *be = tu_open("cpu", 2);
    nn_train_config tc = nn_train_config_default();
    tc.epochs = 300;
    nn_model *sgd = make_model(be, (size_t[]){2, 8, 1}, 3, NN_ACT_RELU, NN_LOSS_BCE, 42);
    double l_sgd = train_loss(sgd, &tr, tc);
    tc.optimizer = NN_OPT_ADAM;
    tc.lr = 0.01;
    nn_model *adam = make_model(be, (size_t[]){2, 8, 1}, 3, NN_ACT_RELU, NN_LOSS_BCE, 42);
    double l_adam = train_loss(adam, &tr, tc);
    cr_assert_lt(l_adam, l_sgd, "adam %g vs sgd %g", l_adam, l_sgd);
    nn_model_free(sgd), nn_model_free(adam);
    nn_backend_close(be);
    nn_dataset_free(&tr), nn_dataset_free(&te);
}

/* Train a network big enough for the parallel paths and return its weights. */
static float *train_with_threads(int threads, nn_optimizer opt, size_t *np) {
    nn_data_spec spec = nn_data_spec_default(NN_DATA_TEACHER);
    spec.samples = 3000;
    spec.features = 24;
    nn_dataset d;
    nn_error err;
    cr_assert_eq(nn_data_generate(&spec, &d, &err), NN_OK, "%s", err.msg);
    nn_backend *be = tu_open("cpu", threads);
    nn_model *m = make_model(be, (size_t[]){24, 300, 129, 1}, 4, NN_ACT_TANH, NN_LOSS_BCE, 5);
    nn_train_config tc = nn_train_config_default();
    tc.epochs = 2;
    tc.batch = 700;
    tc.optimizer = opt;
    tc.lr = 0.01;
    train_loss(m, &d, tc);
    *np = nn_model_param_count(m);
    float *w = malloc(*np * sizeof(float));
    cr_assert_eq(nn_model_get_params(m, w, *np, &err), NN_OK);
    nn_model_free(m);
    nn_backend_close(be);
    nn_dataset_free(&d);
    return w;
}

Test(train, bit_identical_weights_at_1_and_2_threads) {
    for (int opt = 0; opt < 3; opt++) {
        size_t n1, n2;
        float *w1 = train_with_threads(1, opt, &n1), *w2 = train_with_threads(2, opt, &n2);
        cr_assert_eq(n1, n2);
        cr_assert(memcmp(w1, w2, n1 * sizeof(float)) == 0, "%s: weights differ between 1 and 2 threads",
                  nn_optimizer_name(opt));
        free(w1), free(w2);
    }
}

Test(train, divergence_stops_with_the_epoch) {
    nn_dataset tr, te;
    tutorial_data(&tr, &te, 42);
    nn_backend *be = tu_open("cpu", 1);
    /* MSE overflows directly; BCE's per-sample cap must not hide NaN weights */
    const nn_loss losses[2] = {NN_LOSS_MSE, NN_LOSS_BCE};
    for (int i = 0; i < 2; i++) {
        nn_model *m = make_model(be, (size_t[]){2, 64, 64, 1}, 4, NN_ACT_RELU, losses[i], 42);
        nn_train_config tc = nn_train_config_default();
        tc.lr = i == 0 ? 1e6 : 1000;
        tc.batch = 32;
        tc.epochs = 200;
        tc.log_every = 1;
        nn_source src = nn_source_from_dataset(&tr);
        nn_error err;
        nn_status st = nn_train(m, &src, &tc, NULL, &err);
        cr_assert_eq(st, NN_E_NUMERIC, "%s: status %d: %s", nn_loss_name(losses[i]), st, err.msg);
        cr_assert(strstr(err.msg, "epoch") != NULL, "%s", err.msg);
        nn_model_free(m);
    }
    nn_backend_close(be);
    nn_dataset_free(&tr), nn_dataset_free(&te);
}

Test(train, minibatch_shuffle_is_seeded) {
    nn_dataset tr, te;
    tutorial_data(&tr, &te, 42);
    nn_backend *be = tu_open("cpu", 2);
    nn_train_config tc = nn_train_config_default();
    tc.epochs = 20;
    tc.batch = 32;
    double l[3];
    for (int i = 0; i < 3; i++) {
        tc.seed = i < 2 ? 7 : 8;
        nn_model *m = make_model(be, (size_t[]){2, 8, 1}, 3, NN_ACT_RELU, NN_LOSS_BCE, 42);
        l[i] = train_loss(m, &tr, tc);
        nn_model_free(m);
    }
    cr_assert_eq(l[0], l[1], "same seed, same result");
    cr_assert_neq(l[0], l[2], "another seed shuffles differently");
    nn_backend_close(be);
    nn_dataset_free(&tr), nn_dataset_free(&te);
}

/* A source that counts how often each row was asked for. */
typedef struct counting {
    const nn_dataset *d;
    int *hits; /* (n) requests per row */
    int calls;
} counting;
static nn_status counting_fill(void *ctx, uint64_t first, size_t count, float *x, float *y,
                               nn_error *err) {
    counting *c = ctx;
    nn_source inner = nn_source_from_dataset(c->d);
    for (size_t i = 0; i < count; i++) __atomic_add_fetch(&c->hits[first + i], 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&c->calls, 1, __ATOMIC_RELAXED);
    return inner.fill(inner.ctx, first, count, x, y, err);
}

Test(train, streamed_chunks_cover_every_row_each_epoch) {
    fixture f = fixture_open(2, 42);
    counting c = {&f.tr, calloc(f.tr.n, sizeof(int)), 0};
    nn_source src = nn_source_from_dataset(&f.tr);
    src.fill = counting_fill;
    src.ctx = &c;
    nn_train_config tc = nn_train_config_default();
    tc.epochs = 300;
    tc.batch = 48;        /* 800 rows: 4 chunks of 192 rows (4 whole batches) and one of 32 */
    tc.lr = 0.05;
    tc.chunk_rows = 200;  /* rounded down to whole batches: 192 */
    nn_train_result res;
    nn_error err;
    cr_assert_eq(nn_train(f.m, &src, &tc, &res, &err), NN_OK, "%s", err.msg);
    for (size_t i = 0; i < f.tr.n; i++) cr_assert_eq(c.hits[i], 300, "row %zu read %d times", i, c.hits[i]);
    cr_assert_eq(c.calls, 5 * 300);
    cr_assert_eq(res.samples_seen, 800u * 300u);
    free(c.hits);
    nn_eval ev;
    cr_assert_eq(nn_model_evaluate(f.m, &f.te, &ev, &err), NN_OK);
    cr_assert_geq(ev.accuracy, 0.70, "streamed training reaches %g", ev.accuracy);
    fixture_close(&f);
}

Test(train, memory_limit_below_one_row_or_batch_is_refused) {
    fixture f = fixture_open(1, 42);
    nn_source src = nn_source_from_dataset(&f.tr);
    nn_train_config tc = nn_train_config_default();
    tc.batch = 32;
    tc.memory_limit = 4; /* less than one row */
    nn_error err;
    cr_assert_eq(nn_train(f.m, &src, &tc, NULL, &err), NN_E_INVALID);
    tc.memory_limit = 12 * 16; /* 16 rows of 12 bytes: less than a batch */
    cr_assert_eq(nn_train(f.m, &src, &tc, NULL, &err), NN_E_INVALID);
    cr_assert(strstr(err.msg, "memory limit") != NULL, "%s", err.msg);
    fixture_close(&f);
}

Test(train, batch_larger_than_chunk_is_kept_whole) {
    fixture f = fixture_open(1, 42);
    static int steps;
    steps = 0;
    nn_source src = nn_source_from_dataset(&f.tr);
    nn_train_config tc = nn_train_config_default();
    tc.epochs = 1;
    tc.batch = 400;
    tc.chunk_rows = 100; /* smaller than a batch: the chunk grows to one batch */
    tc.on_progress = count_steps;
    tc.user = &steps;
    nn_error err;
    cr_assert_eq(nn_train(f.m, &src, &tc, NULL, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(steps, 2, "800 rows in batches of 400: %d steps", steps);
    fixture_close(&f);
}

Test(train, full_batch_that_does_not_fit_is_refused) {
    fixture f = fixture_open(1, 42);
    nn_source src = nn_source_from_dataset(&f.tr);
    nn_train_config tc = nn_train_config_default();
    tc.memory_limit = 1000; /* bytes: fewer than the 800 rows need */
    nn_error err;
    cr_assert_eq(nn_train(f.m, &src, &tc, NULL, &err), NN_E_INVALID);
    cr_assert(strstr(err.msg, "batch") != NULL, "%s", err.msg);
    fixture_close(&f);
}

Test(train, mismatched_features_and_classes_are_refused) {
    nn_dataset tr, te;
    tutorial_data(&tr, &te, 42);
    nn_backend *be = tu_open("cpu", 1);
    nn_source src = nn_source_from_dataset(&tr);
    nn_train_config tc = nn_train_config_default();
    nn_error err;
    nn_model *m = make_model(be, (size_t[]){3, 8, 1}, 3, NN_ACT_RELU, NN_LOSS_BCE, 42);
    cr_assert_eq(nn_train(m, &src, &tc, NULL, &err), NN_E_INVALID);
    cr_assert(strstr(err.msg, "features") != NULL, "%s", err.msg);
    nn_model_free(m);
    m = make_model(be, (size_t[]){2, 8, 3}, 3, NN_ACT_RELU, NN_LOSS_CE, 42);
    cr_assert_eq(nn_train(m, &src, &tc, NULL, &err), NN_E_INVALID);
    cr_assert(strstr(err.msg, "classes") != NULL, "%s", err.msg);
    nn_model_free(m);
    nn_model_config bad = {.n_sizes = 3, .sizes = {2, 8, 2}, .hidden = NN_ACT_RELU, .loss = NN_LOSS_BCE};
    cr_assert_eq(nn_model_create(be, &bad, &m, &err), NN_E_INVALID);
    nn_backend_close(be);
    nn_dataset_free(&tr), nn_dataset_free(&te);
}

/* Each check nn_train runs first names the field it is about. */
Test(train, validation_names_the_field) {
    nn_error err;
    nn_train_config tc = nn_train_config_default();
    cr_assert_eq(nn_train_config_validate(&tc, &err), NN_OK, "%s", err.msg);
    tc.epochs = 0;
    cr_assert_eq(nn_train_config_validate(&tc, &err), NN_E_INVALID);
    cr_assert_str_eq(err.param, "epochs");
    tc = nn_train_config_default();
    tc.lr = NAN;
    cr_assert_eq(nn_train_config_validate(&tc, &err), NN_E_INVALID);
    cr_assert_str_eq(err.param, "lr");
    cr_assert(strstr(err.msg, "learning rate") != NULL, "%s", err.msg);
    tc = nn_train_config_default();
    tc.optimizer = NN_OPT_ADAM;
    tc.beta2 = 1.0;
    cr_assert_eq(nn_train_config_validate(&tc, &err), NN_E_INVALID);
    cr_assert_str_eq(err.param, "beta2");

    nn_model_config mc = {.n_sizes = 3, .sizes = {2, 8, 1}, .hidden = NN_ACT_RELU,
                          .loss = NN_LOSS_BCE};
    cr_assert_eq(nn_train_check_data(&mc, 800, 2, 2, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(nn_train_check_data(&mc, 0, 2, 2, &err), NN_E_INVALID);
    cr_assert_str_eq(err.param, "samples");
    cr_assert_eq(nn_train_check_data(&mc, 800, 3, 2, &err), NN_E_INVALID);
    cr_assert_str_eq(err.param, "layers");
    cr_assert_eq(nn_train_check_data(&mc, 800, 2, 3, &err), NN_E_INVALID);
    cr_assert_str_eq(err.param, "loss");
    mc.loss = NN_LOSS_CE;
    mc.sizes[2] = 4;
    cr_assert_eq(nn_train_check_data(&mc, 800, 2, 3, &err), NN_E_INVALID);
    cr_assert_str_eq(err.param, "layers");
    mc.sizes[1] = 0;
    cr_assert_eq(nn_model_config_check(&mc, &err), NN_E_INVALID);
    cr_assert_str_eq(err.param, "layers");
    /* a plain error leaves no stale field behind */
    nn_error_set(&err, NN_E_IO, "x");
    cr_assert_str_eq(err.param, "");
}

Test(train, one_rule_for_losses_outputs_and_learning_rates) {
    cr_assert_eq(nn_loss_output_act(NN_LOSS_BCE), NN_ACT_SIGMOID);
    cr_assert_eq(nn_loss_output_act(NN_LOSS_CE), NN_ACT_SOFTMAX);
    cr_assert_eq(nn_loss_output_act(NN_LOSS_MSE), NN_ACT_IDENTITY);
    cr_assert_eq(nn_loss_for_classes(2), NN_LOSS_BCE);
    cr_assert_eq(nn_loss_for_classes(5), NN_LOSS_CE);
    cr_assert_eq(nn_loss_for_classes(0), NN_LOSS_MSE);
    cr_assert_eq(nn_loss_outputs(NN_LOSS_CE, 5), 5u);
    cr_assert_eq(nn_loss_outputs(NN_LOSS_BCE, 2), 1u);
    cr_assert_eq(nn_optimizer_default_lr(NN_OPT_SGD), 0.1);
    cr_assert_eq(nn_optimizer_default_lr(NN_OPT_MOMENTUM), 0.01);
    cr_assert_eq(nn_optimizer_default_lr(NN_OPT_ADAM), 0.001);
    cr_assert_eq(nn_train_config_default().lr, nn_optimizer_default_lr(NN_OPT_SGD));
}

/* The memory estimate counts what the model allocates: 2-8-1 has 33
 * parameters; with Adam, 4 copies (values, gradients, two moments); a batch of
 * 100 rows holds Z and A of 8 + 1 outputs and two gradient areas of 8. */
Test(train, memory_estimate_counts_parameters_state_and_a_batch) {
    nn_model_config mc = {.n_sizes = 3, .sizes = {2, 8, 1}, .hidden = NN_ACT_RELU,
                          .loss = NN_LOSS_BCE};
    const double per_row = 2.0 * 9 + 2.0 * 8;
    cr_assert_eq(nn_model_memory_bytes(&mc, 100, NN_OPT_ADAM), 4.0 * (33 * 4 + 100 * per_row + 2));
    cr_assert_eq(nn_model_memory_bytes(&mc, 100, NN_OPT_SGD), 4.0 * (33 * 2 + 100 * per_row + 2));
    cr_assert_eq(nn_model_memory_bytes(&mc, 1, NN_OPT_MOMENTUM), 4.0 * (33 * 3 + per_row + 2));
}
