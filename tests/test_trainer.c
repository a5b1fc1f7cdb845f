/* test_trainer.c — the step-wise trainer: steps equal nn_train, a state
 * taken mid-run resumes bit-identically (full batch, mini-batch, streamed),
 * and data-parallel ranks (threads with an in-process communicator) train the
 * one-process model: within 1e-5, the same bits run to run, uneven slices,
 * and one rank's failure stopping every rank with its message. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "thread_comm.h"

#define MAX_LOG 64

/* One training setup: data, model and config. */
typedef struct setup {
    int streamed;          /* teacher rows generated per chunk; else circles in memory */
    int csv_like;          /* in-memory rows read in chunks (a dataset source with fill_rows) */
    size_t sizes[4], n_sizes;
    nn_loss loss;
    nn_train_config tc;
    const char *backend;   /* NULL = cpu */
    int fail_rank;         /* rank whose source fails at fail_row (-1: none) */
    uint64_t fail_row;
} setup;

/* What one run produced. */
typedef struct outcome {
    nn_status st;
    char msg[512];
    size_t n_params;
    float *params;         /* (n_params) final weights */
    int n_log;
    int epochs[MAX_LOG];
    double loss[MAX_LOG];
} outcome;

static int record(void *user, int epoch, double loss) {
    outcome *o = user;
    if (o->n_log < MAX_LOG) {
        o->epochs[o->n_log] = epoch;
        o->loss[o->n_log] = loss;
        o->n_log++;
    }
    return 0;
}

/* The data of a setup, standing until data_close. */
typedef struct data {
    nn_dataset train, test;
    nn_generator_source gen;
    nn_source src;
    int fail_now;
    uint64_t fail_row;
    nn_source inner;
} data;

static nn_status failing_fill(void *ctx, uint64_t first, size_t count, float *x, float *y,
                              nn_error *err) {
    data *d = ctx;
    if (first + count > d->fail_row)
        return nn_error_set(err, NN_E_IO, "cannot read row %llu", (unsigned long long)d->fail_row);
    return d->inner.fill(d->inner.ctx, first, count, x, y, err);
}

static void data_open(const setup *s, int rank, data *d) {
    memset(d, 0, sizeof *d);
    nn_error err;
    if (s->streamed) {
        nn_data_spec spec = nn_data_spec_default(NN_DATA_TEACHER);
        spec.features = s->sizes[0];
        spec.classes = 2;
        d->gen = (nn_generator_source){spec, 0};
        d->src = nn_source_from_generator(&d->gen, 3001);
    } else {
        nn_data_spec spec = nn_data_spec_default(NN_DATA_CIRCLES);
        nn_dataset all;
        nn_scaler sc;
        nn_status st = nn_data_generate(&spec, &all, &err);
        if (st == NN_OK) st = nn_data_split(&all, 0.2, 42, &d->train, &d->test, &err);
        if (st == NN_OK) st = nn_data_standardize(&d->train, &d->test, &sc, &err);
        if (st == NN_OK) nn_scaler_free(&sc);
        nn_dataset_free(&all);
        d->src = nn_source_from_dataset(&d->train);
        if (!s->csv_like) d->src.fill_rows = NULL;
    }
    if (rank == s->fail_rank) {
        d->inner = d->src;
        d->fail_row = s->fail_row;
        d->src.fill = failing_fill;
        d->src.fill_rows = NULL;
        d->src.ctx = d;
    }
}

static void data_close(data *d) {
    nn_dataset_free(&d->train);
    nn_dataset_free(&d->test);
}

static nn_model *new_model(nn_backend *be, const setup *s, uint64_t seed) {
    nn_model_config mc = {.n_sizes = s->n_sizes, .hidden = NN_ACT_RELU, .loss = s->loss, .seed = seed};
    memcpy(mc.sizes, s->sizes, s->n_sizes * sizeof(size_t));
    nn_model *m = NULL;
    nn_error err;
    if (nn_model_create(be, &mc, &m, &err) != NN_OK) return NULL;
    return m;
}

static void finish(outcome *o, nn_model *m, nn_status st, const nn_error *err) {
    o->st = st;
    if (st != NN_OK) snprintf(o->msg, sizeof o->msg, "%.500s", err->msg);
    o->n_params = nn_model_param_count(m);
    o->params = malloc(o->n_params * sizeof(float));
    nn_error e2;
    nn_model_get_params(m, o->params, o->n_params, &e2);
}

/* Train a setup on rank comm (NULL: alone) into o. No Criterion asserts:
 * this runs on the ranks' threads. */
static void train_one(const setup *s, nn_comm *comm, outcome *o) {
    memset(o, 0, sizeof *o);
    data d;
    data_open(s, comm ? comm->rank : 0, &d);
    nn_backend *be = NULL;
    nn_backend_config bc = {1, NULL, 0};
    nn_error err;
    nn_backend_open(s->backend ? s->backend : "cpu", &bc, &be, &err);
    nn_model *m = new_model(be, s, 42);
    nn_train_config tc = s->tc;
    tc.comm = comm;
    tc.on_log = record;
    tc.user = o;
    nn_status st = nn_train(m, &d.src, &tc, NULL, &err);
    finish(o, m, st, &err);
    nn_model_free(m);
    nn_backend_close(be);
    data_close(&d);
}

/* Train with a stop after `stop_after` steps: take the state, drop trainer and
 * model, continue on a fresh model (another seed) from the state. */
static void train_interrupted(const setup *s, uint64_t stop_after, outcome *o) {
    memset(o, 0, sizeof *o);
    data d;
    data_open(s, 0, &d);
    nn_backend *be = tu_open("cpu", 0);
    nn_model *m = new_model(be, s, 42);
    nn_train_config tc = s->tc;
    tc.on_log = record;
    tc.user = o;
    nn_trainer *tr;
    nn_error err;
    cr_assert_eq(nn_trainer_create(m, &d.src, &tc, &tr, &err), NN_OK, "%s", err.msg);
    for (uint64_t i = 0; i < stop_after; i++) cr_assert_eq(nn_trainer_step(tr, &err), NN_OK, "%s", err.msg);
    nn_train_state state;
    cr_assert_eq(nn_trainer_get_state(tr, &state, &err), NN_OK, "%s", err.msg);
    nn_trainer_free(tr);
    nn_model_free(m);

    m = new_model(be, s, 7); /* other initial weights: the state must replace them */
    cr_assert_eq(nn_trainer_create(m, &d.src, &tc, &tr, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(nn_trainer_set_state(tr, &state, &err), NN_OK, "%s", err.msg);
    nn_train_state_free(&state);
    nn_status st = nn_trainer_run(tr, &err);
    nn_train_result res;
    nn_trainer_result(tr, &res);
    cr_assert_eq(res.steps, (uint64_t)tc.epochs * nn_trainer_steps_per_epoch(tr));
    finish(o, m, st, &err);
    nn_trainer_free(tr);
    nn_model_free(m);
    nn_backend_close(be);
    data_close(&d);
}

static void outcome_free(outcome *o) { free(o->params); }

static void assert_identical(const outcome *a, const outcome *b, const char *what) {
    cr_assert_eq(a->st, NN_OK, "%s: %s", what, a->msg);
    cr_assert_eq(b->st, NN_OK, "%s: %s", what, b->msg);
    cr_assert_eq(a->n_params, b->n_params);
    cr_assert(memcmp(a->params, b->params, a->n_params * sizeof(float)) == 0,
              "%s: weights differ", what);
}

static setup base_setup(void) {
    setup s = {.sizes = {2, 8, 1}, .n_sizes = 3, .loss = NN_LOSS_BCE, .fail_rank = -1};
    s.tc = nn_train_config_default();
    s.tc.epochs = 12;
    s.tc.log_every = 3;
    return s;
}

Test(trainer, steps_one_at_a_time_equal_nn_train) {
    setup s = base_setup();
    s.tc.batch = 48;
    s.tc.optimizer = NN_OPT_ADAM;
    s.tc.lr = 0.01;
    outcome a, b;
    train_one(&s, NULL, &a);
    train_interrupted(&s, 1, &b); /* stop after the first step, resume at once */
    assert_identical(&a, &b, "steps");
    outcome_free(&a), outcome_free(&b);
}

/* Interrupt at several points, each resumed run bit-identical to the whole run. */
static void check_resume(setup s, const uint64_t *stops, size_t n_stops) {
    outcome whole;
    train_one(&s, NULL, &whole);
    for (size_t i = 0; i < n_stops; i++) {
        outcome part;
        train_interrupted(&s, stops[i], &part);
        char what[64];
        snprintf(what, sizeof what, "resumed after step %llu", (unsigned long long)stops[i]);
        assert_identical(&whole, &part, what);
        /* the losses logged after the resume are the uninterrupted run's */
        for (int j = 0; j < part.n_log; j++) {
            int k = 0;
            while (k < whole.n_log && whole.epochs[k] != part.epochs[j]) k++;
            cr_assert_lt(k, whole.n_log);
            cr_assert_eq(whole.loss[k], part.loss[j], "%s: epoch %d loss %.17g vs %.17g", what,
                         part.epochs[j], whole.loss[k], part.loss[j]);
        }
        outcome_free(&part);
    }
    outcome_free(&whole);
}

Test(trainer, resume_full_batch_sgd_is_bit_identical) {
    setup s = base_setup();
    check_resume(s, (uint64_t[]){3, 7}, 2); /* one step per epoch: mid-run, in a logging epoch */
}

Test(trainer, resume_minibatch_adam_is_bit_identical) {
    setup s = base_setup();
    s.tc.batch = 64; /* 13 steps per epoch, the last one short */
    s.tc.optimizer = NN_OPT_ADAM;
    s.tc.lr = 0.01;
    check_resume(s, (uint64_t[]){5, 13, 40, 155}, 4);
}

Test(trainer, resume_streamed_momentum_is_bit_identical) {
    setup s = base_setup();
    s.streamed = 1;
    s.sizes[0] = 6;
    s.tc.batch = 50;
    s.tc.chunk_rows = 400; /* 8 chunks of 8 batches, the last chunk 201 rows */
    s.tc.optimizer = NN_OPT_MOMENTUM;
    s.tc.lr = 0.05;
    s.tc.epochs = 3;
    s.tc.log_every = 1;
    check_resume(s, (uint64_t[]){1, 8, 11, 61, 62, 100}, 6);
}

Test(trainer, a_state_from_another_run_length_is_refused) {
    setup s = base_setup();
    data d;
    data_open(&s, 0, &d);
    nn_backend *be = tu_open("cpu", 0);
    nn_model *m = new_model(be, &s, 42);
    nn_trainer *tr;
    nn_error err;
    cr_assert_eq(nn_trainer_create(m, &d.src, &s.tc, &tr, &err), NN_OK, "%s", err.msg);
    nn_train_state st;
    cr_assert_eq(nn_trainer_get_state(tr, &st, &err), NN_OK);
    st.epoch = s.tc.epochs + 1;
    cr_assert_eq(nn_trainer_set_state(tr, &st, &err), NN_E_INVALID);
    cr_assert(strstr(err.msg, "outside this run") != NULL, "%s", err.msg);
    st.epoch = 0;
    st.n_params--;
    cr_assert_eq(nn_trainer_set_state(tr, &st, &err), NN_E_INVALID);
    st.n_params++;
    nn_train_state_free(&st);
    nn_trainer_free(tr);
    nn_model_free(m);
    nn_backend_close(be);
    data_close(&d);
}

/* ----------------------------------------------------------- data parallel */

typedef struct parallel_run {
    const setup *s;
    outcome out[8];
} parallel_run;

static void rank_fn(nn_comm *comm, void *user) {
    parallel_run *p = user;
    train_one(p->s, comm, &p->out[comm->rank]);
}

static void run_parallel(const setup *s, int ranks, parallel_run *p) {
    memset(p, 0, sizeof *p);
    p->s = s;
    tc_run_ranks(ranks, rank_fn, p);
}

static void parallel_free(parallel_run *p, int ranks) {
    for (int r = 0; r < ranks; r++) outcome_free(&p->out[r]);
}

/* P ranks against one process: weights and logged losses within 1e-5
 * relative; every rank holds the same weights; a second run the same bits. */
static void check_parallel(const setup *s, int ranks) {
    outcome one;
    train_one(s, NULL, &one);
    cr_assert_eq(one.st, NN_OK, "%s", one.msg);
    parallel_run a, b;
    run_parallel(s, ranks, &a);
    run_parallel(s, ranks, &b);
    for (int r = 0; r < ranks; r++) {
        cr_assert_eq(a.out[r].st, NN_OK, "rank %d: %s", r, a.out[r].msg);
        assert_identical(&a.out[0], &a.out[r], "ranks agree");
        assert_identical(&a.out[r], &b.out[r], "run to run");
    }
    double dmax = 0, wmax = 0;
    for (size_t i = 0; i < one.n_params; i++) {
        dmax = fmax(dmax, fabs((double)one.params[i] - a.out[0].params[i]));
        wmax = fmax(wmax, fabs((double)one.params[i]));
    }
    cr_assert_leq(dmax, 1e-5 * wmax, "%d ranks: max |dw| %.3g, max |w| %.3g", ranks, dmax, wmax);
    cr_assert_eq(one.n_log, a.out[0].n_log);
    for (int j = 0; j < one.n_log; j++)
        cr_assert_leq(fabs(one.loss[j] - a.out[0].loss[j]), 1e-5 * fabs(one.loss[j]),
                      "%d ranks, epoch %d: loss %.9g vs %.9g", ranks, one.epochs[j], one.loss[j],
                      a.out[0].loss[j]);
    outcome_free(&one);
    parallel_free(&a, ranks);
    parallel_free(&b, ranks);
}

Test(trainer, ranks_full_batch_match_one_process) {
    setup s = base_setup();
    s.tc.epochs = 60;
    s.tc.log_every = 20;
    check_parallel(&s, 2);
    check_parallel(&s, 3);
}

Test(trainer, ranks_minibatch_adam_match_one_process) {
    setup s = base_setup();
    s.tc.batch = 50; /* 800 rows: 16 batches; slices of 50 over 3 ranks are 16, 17, 17 */
    s.tc.optimizer = NN_OPT_ADAM;
    s.tc.lr = 0.01;
    check_parallel(&s, 2);
    check_parallel(&s, 3);
    check_parallel(&s, 4);
}

Test(trainer, ranks_streamed_match_one_process) {
    setup s = base_setup();
    s.streamed = 1;
    s.sizes[0] = 6;
    s.tc.batch = 50;
    s.tc.chunk_rows = 400;
    s.tc.epochs = 2;
    s.tc.log_every = 1;
    check_parallel(&s, 2);
    check_parallel(&s, 4);
}

Test(trainer, ranks_reading_only_their_rows_match_one_process) {
    setup s = base_setup();
    s.csv_like = 1; /* in memory, read in chunks through fill_rows */
    s.tc.batch = 64;
    s.tc.chunk_rows = 256;
    s.tc.optimizer = NN_OPT_MOMENTUM;
    s.tc.lr = 0.02;
    check_parallel(&s, 3);
}

Test(trainer, a_failing_rank_stops_every_rank_with_its_message, .timeout = 60) {
    setup s = base_setup();
    s.streamed = 1;
    s.sizes[0] = 6;
    s.tc.batch = 50;
    s.tc.chunk_rows = 400;
    s.tc.epochs = 2;
    s.fail_rank = 1;
    s.fail_row = 1000; /* chunk 2 of epoch 0: after some steps have run */
    parallel_run p;
    run_parallel(&s, 3, &p);
    for (int r = 0; r < 3; r++) {
        cr_assert_eq(p.out[r].st, NN_E_IO, "rank %d: status %d %s", r, p.out[r].st, p.out[r].msg);
        cr_assert_str_eq(p.out[r].msg, "rank 1: cannot read row 1000", "rank %d", r);
    }
    parallel_free(&p, 3);
}

Test(trainer, a_global_batch_smaller_than_the_ranks_is_refused, .timeout = 60) {
    setup s = base_setup();
    s.tc.batch = 2;
    parallel_run p;
    run_parallel(&s, 3, &p);
    for (int r = 0; r < 3; r++) {
        cr_assert_eq(p.out[r].st, NN_E_INVALID, "rank %d: %s", r, p.out[r].msg);
        cr_assert(strstr(p.out[r].msg, "cannot be split over 3 ranks") != NULL, "%s", p.out[r].msg);
    }
    parallel_free(&p, 3);
}

Test(trainer, ranks_on_opencl_match_one_opencl_process) {
    nn_backend *probe = tu_open_opencl();
    if (!probe) cr_skip_test("no usable OpenCL device");
    nn_backend_close(probe);
    setup s = base_setup();
    s.backend = "opencl"; /* device buffers: gradients are summed through host copies */
    s.tc.batch = 64;
    s.tc.epochs = 6;
    s.tc.log_every = 2;
    check_parallel(&s, 2);
}
