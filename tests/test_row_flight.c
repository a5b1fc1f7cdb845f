/* test_row_flight.c — a row step left in flight (model_rows.c): the backend's
 * start_chunks returns while another thread still runs its chunks and
 * wait_chunks (or the backend's next job of chunks) ends the job with the
 * lowest failing chunk's error; a model whose step is in flight gives the
 * same bits as a 1-thread run whatever comes next: another model's steps on
 * the same backend, nn_model_get_layer, nn_model_free, rows streamed in
 * chunks that replace the rows a step reads. */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model_impl.h"
#include "team_wake.h"
#include "testutil.h"

/* A chunk that records which thread ran it; chunk 1 takes 30 ms, chunks 3
 * and 5 fail. */
typedef struct slow_ctx {
    _Atomic int done[8];
    int thread[8];
} slow_ctx;

static nn_status slow_chunk(void *ctx, nn_backend *solo, size_t chunk, int thread,
                            nn_error *err) {
    (void)solo;
    slow_ctx *s = ctx;
    s->thread[chunk] = thread;
    if (chunk == 1) nanosleep(&(struct timespec){0, 30000000L}, NULL);
    atomic_store(&s->done[chunk], 1);
    if (chunk == 3 || chunk == 5) return nn_error_set(err, NN_E_INVALID, "chunk %zu failed", chunk);
    return NN_OK;
}

static nn_status noop_chunk(void *ctx, nn_backend *solo, size_t chunk, int thread,
                            nn_error *err) {
    (void)ctx, (void)solo, (void)chunk, (void)thread, (void)err;
    return NN_OK;
}

/* Thread 1 of be's team woken: it spins a while, ready for the next job (on
 * a busy machine it may not get to run: the callers retry). */
static void wake_thread_1(nn_backend *be) {
    nn_status st;
    nn_error err;
    tw_wake_thread_1(be, 100000, &st, &err);
    cr_assert_eq(st, NN_OK, "%s", err.msg);
}

static nn_backend *open_two(void) {
    setenv("NN_CPU_TEAM", "fixed", 1); /* every job offered to both threads */
    return tu_open("cpu", 2);
}

Test(row_flight, start_returns_before_a_helpers_chunk_and_wait_ends_it) {
    nn_backend *be = open_two();
    int overlapped = 0;
    for (int round = 0; round < 20 && !overlapped; round++) {
        slow_ctx s;
        memset(&s, 0, sizeof s);
        nn_chunks_wait w;
        nn_error err;
        wake_thread_1(be);
        /* 2 chunks: chunk 0 is the caller's, chunk 1 the helper's unless it is late */
        cr_assert_eq(be->ops->start_chunks(be, 2, slow_chunk, &s, &w, &err), NN_OK);
        cr_assert(atomic_load(&s.done[0]), "the caller's chunk ran before start_chunks returned");
        const int helper_busy = !atomic_load(&s.done[1]); /* still on its 30 ms */
        cr_assert_eq(be->ops->wait_chunks(be, &w, &err), NN_OK, "%s", err.msg);
        cr_assert(atomic_load(&s.done[1]), "wait_chunks returned before chunk 1 was done");
        cr_assert_eq(w.in_flight, 0);
        overlapped = helper_busy && s.thread[1] == 1;
    }
    cr_assert(overlapped, "in 20 rounds thread 1 never ran chunk 1 while the caller returned");
    nn_backend_close(be);
}

Test(row_flight, failures_reach_the_jobs_wait_also_when_a_later_job_ends_it) {
    nn_backend *be = open_two();
    slow_ctx s;
    memset(&s, 0, sizeof s);
    nn_chunks_wait first, second;
    nn_error err;
    cr_assert_eq(be->ops->start_chunks(be, 8, slow_chunk, &s, &first, &err), NN_OK);
    /* a second job of chunks ends the first: its outcome goes into `first` */
    cr_assert_eq(be->ops->start_chunks(be, 4, noop_chunk, NULL, &second, &err), NN_OK);
    cr_assert_eq(first.in_flight, 0);
    cr_assert_eq(first.st, NN_E_INVALID);
    for (int c = 0; c < 8; c++) cr_assert(atomic_load(&s.done[c]), "chunk %d did not run", c);
    cr_assert_eq(be->ops->wait_chunks(be, &second, &err), NN_OK, "%s", err.msg);
    /* waiting for the first now returns its error, the lowest chunk's */
    cr_assert_eq(be->ops->wait_chunks(be, &first, &err), NN_E_INVALID);
    cr_assert_str_eq(err.msg, "chunk 3 failed");
    /* run_chunks in between other ops: its own error, the job done */
    memset(&s, 0, sizeof s);
    cr_assert_eq(be->ops->run_chunks(be, 8, slow_chunk, &s, &err), NN_E_INVALID);
    cr_assert_str_eq(err.msg, "chunk 3 failed");
    nn_backend_close(be);
}

/* 16-64-64-1 on 300 rows (3 chunks: 128, 128, 44 rows; thread 0 takes chunk
 * 0, thread 1 chunks 1 and 2 unless the caller steals one) with its batch on
 * backend be, seed `seed`. */
typedef struct flight_rig {
    nn_model *m;
    nn_buf *xb, *tb;
} flight_rig;

#define ROWS 300
#define IN 16

static flight_rig rig_open(nn_backend *be, uint64_t seed) {
    flight_rig r;
    nn_model_config cfg = {.n_sizes = 4, .sizes = {IN, 64, 64, 1}, .hidden = NN_ACT_RELU,
                           .loss = NN_LOSS_BCE, .seed = seed};
    nn_error err;
    cr_assert_eq(nn_model_create(be, &cfg, &r.m, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(model_reserve(r.m, ROWS, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(model_reserve_optimizer(r.m, NN_OPT_MOMENTUM, &err), NN_OK, "%s", err.msg);
    float x[ROWS * IN], t[ROWS];
    tu_fill_uniform(x, ROWS * IN, seed + 100, -2.0f, 2.0f);
    for (size_t i = 0; i < ROWS; i++) t[i] = (float)((i * (seed + 3)) % 2);
    r.xb = tu_upload(be, x, ROWS * IN);
    r.tb = tu_upload(be, t, ROWS);
    return r;
}

/* One row step of r (step number s, optimizer `kind`): its status; it must
 * run in row chunks. */
static nn_status rig_step_as(flight_rig *r, int s, nn_optimizer kind, nn_error *err) {
    const nn_opt_step step = {.kind = kind, .lr = 0.05f, .momentum = 0.9f, .t = s};
    int done = 0;
    const nn_status st = model_train_rows(r->m, (nn_view){r->xb, 0}, (nn_view){r->tb, 0}, NULL,
                                          ROWS, 1.0f / ROWS, (nn_view){NULL, 0}, &step, &done,
                                          err);
    cr_assert(done || st != NN_OK, "the step did not run in row chunks");
    return st;
}

static void rig_step(flight_rig *r, int s) {
    nn_error err;
    cr_assert_eq(rig_step_as(r, s, NN_OPT_MOMENTUM, &err), NN_OK, "%s", err.msg);
}

/* 1 if thread 1 ran chunks of a job of be since the last call (a step left
 * in flight needs it: on a busy machine a run may go by without it). */
static int helper_took_part(nn_backend *be) {
    return be->ops->threads_used(be, 1) > 1;
}

/* r freed: the model first (a step reads its batch until the step ends). */
static void rig_free(nn_backend *be, flight_rig *r) {
    nn_model_free(r->m);
    be->ops->release(be, r->xb);
    be->ops->release(be, r->tb);
}

/* r's parameters (free them), then r freed. */
static float *rig_close(nn_backend *be, flight_rig *r) {
    nn_error err;
    const size_t n = nn_model_param_count(r->m);
    float *p = malloc(n * sizeof(float));
    cr_assert_eq(nn_model_get_params(r->m, p, n, &err), NN_OK, "%s", err.msg);
    rig_free(be, r);
    return p;
}

/* `steps` steps of the model of seed `seed` alone on a 1-thread backend. */
static float *alone(uint64_t seed, int steps, size_t *n) {
    nn_backend *be = tu_open("cpu", 1);
    flight_rig r = rig_open(be, seed);
    for (int s = 1; s <= steps; s++) rig_step(&r, s);
    *n = nn_model_param_count(r.m);
    float *p = rig_close(be, &r);
    nn_backend_close(be);
    return p;
}

Test(row_flight, two_models_on_one_backend_take_turns) {
    size_t n;
    float *ref_a = alone(1, 6, &n), *ref_b = alone(2, 6, &n);
    int took_part = 0;
    for (int attempt = 0; attempt < 50 && !took_part; attempt++) {
        nn_backend *be = open_two();
        flight_rig a = rig_open(be, 1), b = rig_open(be, 2);
        wake_thread_1(be);
        helper_took_part(be); /* counts from here */
        for (int s = 1; s <= 6; s++) { /* each step starts while the other model's is in flight */
            rig_step(&a, s);
            rig_step(&b, s);
        }
        took_part = helper_took_part(be);
        float *pb = rig_close(be, &b), *pa = rig_close(be, &a);
        cr_assert_eq(memcmp(pa, ref_a, n * sizeof(float)), 0, "model a differs from alone");
        cr_assert_eq(memcmp(pb, ref_b, n * sizeof(float)), 0, "model b differs from alone");
        nn_backend_close(be);
        free(pa), free(pb);
    }
    cr_assert(took_part, "thread 1 ran no chunk of the steps in 50 attempts");
    free(ref_a), free(ref_b);
}

/* The last layer's activations right after 3 steps (their chunks maybe still
 * running) on a backend of `threads` threads; into *took_part whether thread
 * 1 ran chunks of them. */
static float *layer_after_steps(int threads, int *took_part) {
    nn_backend *be = threads > 1 ? open_two() : tu_open("cpu", 1);
    flight_rig r = rig_open(be, 5);
    if (threads > 1) wake_thread_1(be);
    helper_took_part(be);
    for (int s = 1; s <= 3; s++) rig_step(&r, s);
    float *a = malloc(ROWS * sizeof(float));
    nn_error err;
    cr_assert_eq(nn_model_get_layer(r.m, 2, ROWS, NULL, a, &err), NN_OK, "%s", err.msg);
    *took_part = helper_took_part(be);
    free(rig_close(be, &r));
    nn_backend_close(be);
    return a;
}

Test(row_flight, get_layer_reads_the_step_after_its_chunks) {
    int took_part = 0;
    float *one = layer_after_steps(1, &took_part);
    for (int attempt = 0; attempt < 50 && !took_part; attempt++) {
        float *two = layer_after_steps(2, &took_part);
        cr_assert_eq(memcmp(one, two, ROWS * sizeof(float)), 0);
        free(two);
    }
    cr_assert(took_part, "thread 1 ran no chunk of the steps in 50 attempts");
    free(one);
}

/* A step with an optimizer the update op does not know: on 1 thread its
 * update fails in the step itself (not deferred), which returns the failure;
 * on 2 threads the deferred update fails in each thread's first chunk of the
 * next step, whose failure is returned by that step (when the caller applies
 * the update first) or, the step left in flight, by the next call that reads
 * the model, and again by every later one (the update is lost). */
Test(row_flight, a_failed_step_is_reported_and_the_model_stays_failed) {
    for (int threads = 1; threads <= 2; threads++) {
        nn_backend *be = threads > 1 ? open_two() : tu_open("cpu", 1);
        flight_rig r = rig_open(be, 8);
        if (threads > 1) wake_thread_1(be);
        nn_error err;
        nn_status st = rig_step_as(&r, 1, (nn_optimizer)99, &err);
        if (st == NN_OK) st = rig_step_as(&r, 2, NN_OPT_MOMENTUM, &err);
        const size_t n = nn_model_param_count(r.m);
        float *p = malloc(n * sizeof(float));
        if (st == NN_OK) st = nn_model_get_params(r.m, p, n, &err);
        cr_assert_eq(st, NN_E_INVALID, "%d threads: the failure was not reported", threads);
        cr_assert(strstr(err.msg, "unknown optimizer 99"), "%s", err.msg);
        if (threads > 1) { /* the deferred update lost: asked again, the same failure */
            memset(&err, 0, sizeof err);
            cr_assert_eq(nn_model_get_params(r.m, p, n, &err), NN_E_INVALID);
            cr_assert(strstr(err.msg, "unknown optimizer 99"), "%s", err.msg);
        }
        free(p);
        rig_free(be, &r);
        nn_backend_close(be);
    }
}

/* A step whose chunks fail in their forward pass (an activation the op does
 * not know, put into the model for that step only): on 1 thread the step
 * returns the failure and the model goes on; on 2 threads the step is left in
 * flight, the next call that reads the model returns the failure, and every
 * later one too, the activation put back (the step's update is lost). */
Test(row_flight, a_step_failed_in_flight_leaves_the_model_failed) {
    for (int threads = 1; threads <= 2; threads++) {
        nn_backend *be = threads > 1 ? open_two() : tu_open("cpu", 1);
        flight_rig r = rig_open(be, 9);
        rig_step(&r, 1);
        const size_t n = nn_model_param_count(r.m);
        float *p = malloc(n * sizeof(float));
        nn_error err;
        cr_assert_eq(nn_model_get_params(r.m, p, n, &err), NN_OK, "%s", err.msg); /* step 1 ended */
        const nn_act act = r.m->act[0];
        r.m->act[0] = (nn_act)77;
        if (threads > 1) wake_thread_1(be);
        nn_status st = rig_step_as(&r, 2, NN_OPT_MOMENTUM, &err);
        cr_assert_eq(st, threads == 1 ? NN_E_INVALID : NN_OK, "%d threads: %s", threads, err.msg);
        if (threads > 1) {
            cr_assert_eq(nn_model_get_params(r.m, p, n, &err), NN_E_INVALID);
            cr_assert(strstr(err.msg, "activation"), "%s", err.msg);
        }
        r.m->act[0] = act; /* the step has ended: no thread reads it */
        memset(&err, 0, sizeof err);
        st = nn_model_get_params(r.m, p, n, &err);
        if (threads == 1) cr_assert_eq(st, NN_OK, "%s", err.msg);
        else cr_assert(st == NN_E_INVALID && strstr(err.msg, "activation"), "%s", err.msg);
        free(p);
        rig_free(be, &r);
        nn_backend_close(be);
    }
}

/* Models freed right after a step, never settled (20 times, thread 1 on
 * their steps), then another model on the same backend trains as alone: the
 * threads finished with the freed models' memory before it was reused. */
Test(row_flight, a_model_freed_with_its_step_in_flight) {
    size_t n;
    float *ref = alone(7, 4, &n);
    nn_backend *be = open_two();
    int took_part = 0;
    for (int round = 0; round < 20 || (!took_part && round < 200); round++) {
        flight_rig r = rig_open(be, 3);
        wake_thread_1(be);
        helper_took_part(be);
        rig_step(&r, 1);
        took_part |= helper_took_part(be);
        rig_free(be, &r);
    }
    cr_assert(took_part, "thread 1 ran no chunk of the freed models' steps");
    flight_rig r = rig_open(be, 7); /* the backend's threads work on for the next model */
    for (int s = 1; s <= 4; s++) rig_step(&r, s);
    float *p = rig_close(be, &r);
    cr_assert_eq(memcmp(p, ref, n * sizeof(float)), 0);
    nn_backend_close(be);
    free(p), free(ref);
}

/* nn_train on teacher rows streamed 600 at a time (each new chunk of rows
 * replaces the rows the last step read) in batches of 300, 2 epochs. */
static float *train_streamed(int threads, size_t *n) {
    nn_data_spec spec = nn_data_spec_default(NN_DATA_TEACHER);
    spec.samples = 2500, spec.features = IN, spec.classes = 2, spec.seed = 11;
    nn_dataset tr, te;
    tu_split_standardized(spec, 0.2, &tr, &te);
    nn_backend *be = threads > 1 ? open_two() : tu_open("cpu", 1);
    nn_model_config cfg = {.n_sizes = 4, .sizes = {IN, 64, 64, 1}, .hidden = NN_ACT_RELU,
                           .loss = NN_LOSS_BCE, .seed = 6};
    nn_model *m = NULL;
    nn_error err;
    cr_assert_eq(nn_model_create(be, &cfg, &m, &err), NN_OK, "%s", err.msg);
    nn_train_config tc = nn_train_config_default();
    tc.epochs = 2, tc.batch = 300, tc.chunk_rows = 600, tc.log_every = 1;
    nn_source src = nn_source_from_dataset(&tr);
    nn_train_result res;
    cr_assert_eq(nn_train(m, &src, &tc, &res, &err), NN_OK, "%s", err.msg);
    *n = nn_model_param_count(m);
    float *p = malloc(*n * sizeof(float));
    cr_assert_eq(nn_model_get_params(m, p, *n, &err), NN_OK, "%s", err.msg);
    nn_model_free(m);
    nn_backend_close(be);
    nn_dataset_free(&tr), nn_dataset_free(&te);
    return p;
}

Test(row_flight, streamed_rows_give_the_same_bits_on_1_and_2_threads) {
    size_t n;
    float *one = train_streamed(1, &n), *two = train_streamed(2, &n);
    cr_assert_eq(memcmp(one, two, n * sizeof(float)), 0);
    free(one), free(two);
}
