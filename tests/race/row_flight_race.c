/* row_flight_race.c — the hand-overs of a row step left in flight
 * (model_rows.c), without Criterion, for a ThreadSanitizer build (Criterion
 * cannot start under TSan: its issue #274). test_row_flight.c checks the
 * results; this program lets TSan see every place where the calling thread
 * touches what the other thread's chunks of the last step may still use:
 * the next step of another model on the same backend, nn_model_get_layer,
 * nn_model_get_params, nn_model_free, a trainer freed mid-epoch, rows
 * streamed in chunks that replace the rows the last step read. Before each
 * run of steps thread 1 is made to run a chunk, so that it is awake (it
 * spins 2 ms after a job) and takes its chunks of the steps that follow back
 * to back. Prints one line and exits 0, or names the failed line and exits
 * 1; data races are TSan's to report (tests/race/README.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_impl.h"
#include "nn.h"
#include "team_wake.h"

/* The call (with `err` in scope), or one line and exit 1. */
#define CHECK(call)                                                                                \
    do {                                                                                           \
        if ((call) != NN_OK) {                                                                     \
            fprintf(stderr, "row_flight_race: line %d: %s\n", __LINE__, err.msg);                  \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#define ROWS 256 /* a batch: 2 chunks of 128 rows, one per thread */

/* Thread 1 woken: awake for the next job (if it never ran in a million
 * jobs, the program goes on: it then checks less, never wrongly). */
static void wake_thread_1(nn_backend *be) {
    nn_status st;
    nn_error err;
    tw_wake_thread_1(be, 1000000, &st, &err);
    CHECK(st);
}

static nn_model *teacher_model(nn_backend *be, uint64_t seed) {
    nn_model_config cfg = {.n_sizes = 4, .sizes = {16, 64, 64, 1}, .hidden = NN_ACT_RELU,
                           .loss = NN_LOSS_BCE, .seed = seed};
    nn_model *m = NULL;
    nn_error err;
    CHECK(nn_model_create(be, &cfg, &m, &err));
    CHECK(model_reserve(m, ROWS, &err));
    CHECK(model_reserve_optimizer(m, NN_OPT_SGD, &err));
    return m;
}

/* One row step of m on the batch x, t, left in flight. */
static void row_step(nn_model *m, nn_buf *x, nn_buf *t, int s) {
    const nn_opt_step step = {.kind = NN_OPT_SGD, .lr = 0.05f, .t = s};
    nn_error err;
    int done = 0;
    CHECK(model_train_rows(m, (nn_view){x, 0}, (nn_view){t, 0}, NULL, ROWS, 1.0f / ROWS,
                           (nn_view){NULL, 0}, &step, &done, &err));
    if (!done) {
        fprintf(stderr, "row_flight_race: the step did not run in row chunks\n");
        exit(1);
    }
}

/* A trainer of m on src (chunk_rows 0: resident), `steps` steps (0: to the
 * end) back to back, thread 1 woken before the first (a wake is a job of the
 * backend: it would end the step in flight), then freed (mid-epoch: a step
 * in flight); with `peek`, the parameters read after every step. */
static void train(nn_model *m, const nn_source *src, size_t chunk_rows, int steps, int peek) {
    nn_train_config tc = nn_train_config_default();
    tc.epochs = 2, tc.batch = ROWS, tc.chunk_rows = chunk_rows, tc.log_every = 1;
    nn_trainer *t = NULL;
    nn_error err;
    CHECK(nn_trainer_create(m, src, &tc, &t, &err));
    const size_t n = nn_model_param_count(m);
    float *p = malloc(n * sizeof(float));
    wake_thread_1(m->be);
    for (int s = 0; (steps == 0 || s < steps) && !nn_trainer_finished(t); s++) {
        if (s > 0 && (peek || s + 1 == steps)) /* before each peek (which ended the last step
                                                 * anyway), and before the last step of a
                                                 * trainer freed mid-epoch */
            wake_thread_1(m->be);
        CHECK(nn_trainer_step(t, &err));
        if (peek) CHECK(p ? nn_model_get_params(m, p, n, &err) : NN_E_NOMEM);
    }
    free(p);
    nn_trainer_free(t);
}

int main(void) {
    setenv("NN_CPU_TEAM", "fixed", 1); /* every job offered to both threads */
    nn_error err;
    const nn_backend_config bc = {.threads = 2};
    nn_backend *be = NULL;
    CHECK(nn_backend_open("cpu", &bc, &be, &err));
    nn_data_spec spec = nn_data_spec_default(NN_DATA_TEACHER);
    spec.samples = 3000, spec.features = 16, spec.classes = 2, spec.seed = 3;
    nn_dataset data;
    CHECK(nn_data_generate(&spec, &data, &err));
    nn_source src = nn_source_from_dataset(&data);
    nn_buf *x = NULL, *t = NULL;
    CHECK(be->ops->alloc(be, ROWS * 16, &x, &err));
    CHECK(be->ops->alloc(be, ROWS, &t, &err));
    CHECK(be->ops->write(be, (nn_view){x, 0}, data.x, ROWS * 16, &err));
    CHECK(be->ops->write(be, (nn_view){t, 0}, data.y, ROWS, &err));

    /* two models taking turns, steps back to back (each starts while the
     * other's is in flight); get_layer, get_params and free right after a step */
    nn_model *a = teacher_model(be, 1), *b = teacher_model(be, 2);
    float *layer = malloc(ROWS * sizeof(float));
    be->ops->threads_used(be, 1);
    for (int round = 0; round < 4; round++) {
        wake_thread_1(be);
        for (int s = 1; s <= 4; s++) {
            row_step(a, x, t, 4 * round + s);
            row_step(b, x, t, 4 * round + s);
        }
    }
    for (int round = 0; round < 40; round++) { /* read right after a step */
        wake_thread_1(be);
        row_step(b, x, t, 17 + round);
        CHECK(nn_model_get_layer(b, 2, ROWS, NULL, layer, &err));
    }
    const size_t n = nn_model_param_count(a);
    float *p = malloc(n * sizeof(float));
    for (int round = 0; round < 10; round++) {
        wake_thread_1(be);
        row_step(a, x, t, 17 + round);
        CHECK(p ? nn_model_get_params(a, p, n, &err) : NN_E_NOMEM);
    }
    nn_model_free(b);
    for (int round = 0; round < 20; round++) { /* freed right after a step: the other
                                                * thread may still be on its chunk */
        nn_model *c = teacher_model(be, 3);
        wake_thread_1(be);
        row_step(c, x, t, 1);
        nn_model_free(c);
    }
    free(layer);

    /* trainers: resident rows freed mid-epoch, parameters read between steps,
     * rows streamed 512 at a time (2 batches a chunk: the next chunk's rows
     * replace those of a step maybe still in flight) */
    for (int round = 0; round < 10; round++) train(a, &src, 0, 3, 0);
    train(a, &src, 0, 6, 1);
    for (int round = 0; round < 6; round++) train(a, &src, 2 * ROWS, 0, 0);

    CHECK(nn_model_get_params(a, p, n, &err));
    const float p0 = p[0];
    free(p);
    nn_model_free(a);
    be->ops->release(be, x);
    be->ops->release(be, t);
    nn_backend_close(be);
    nn_dataset_free(&data);
    printf("row_flight_race: done (parameter 0: %.6f)\n", (double)p0);
    return 0;
}
