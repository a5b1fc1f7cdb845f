/* thread_comm.c — see thread_comm.h. An all-reduce: every rank publishes its
 * buffer, waits for all, sums all buffers in rank order into a private copy,
 * waits again, then copies the sum into its own buffer. */
#include "thread_comm.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct tc_group {
    int size;
    pthread_barrier_t barrier;
    void **bufs;      /* (size) each rank's published buffer */
    nn_comm *comms;   /* (size) */
};

static void publish_and_wait(tc_group *g, int rank, void *buf) {
    g->bufs[rank] = buf;
    pthread_barrier_wait(&g->barrier);
}

static nn_status tc_allreduce_f32(nn_comm *c, float *buf, size_t count, nn_error *err) {
    tc_group *g = c->ctx;
    float *sum = calloc(count ? count : 1, sizeof *sum); /* (count) */
    if (!sum) return nn_error_set(err, NN_E_NOMEM, "thread comm: out of memory");
    publish_and_wait(g, c->rank, buf);
    for (int r = 0; r < g->size; r++) {
        const float *b = g->bufs[r];
        for (size_t i = 0; i < count; i++) sum[i] += b[i];
    }
    pthread_barrier_wait(&g->barrier);
    memcpy(buf, sum, count * sizeof *sum);
    free(sum);
    return NN_OK;
}

static nn_status tc_allreduce_f64(nn_comm *c, double *buf, size_t count, nn_error *err) {
    tc_group *g = c->ctx;
    double *sum = calloc(count ? count : 1, sizeof *sum); /* (count) */
    if (!sum) return nn_error_set(err, NN_E_NOMEM, "thread comm: out of memory");
    publish_and_wait(g, c->rank, buf);
    for (int r = 0; r < g->size; r++) {
        const double *b = g->bufs[r];
        for (size_t i = 0; i < count; i++) sum[i] += b[i];
    }
    pthread_barrier_wait(&g->barrier);
    memcpy(buf, sum, count * sizeof *sum);
    free(sum);
    return NN_OK;
}

/* Started sums complete at once (the semantics allow it). */
static nn_status tc_start(nn_comm *c, float *buf, size_t count, nn_comm_request **req,
                          nn_error *err) {
    *req = NULL;
    return tc_allreduce_f32(c, buf, count, err);
}

static nn_status tc_wait(nn_comm *c, nn_comm_request *req, nn_error *err) {
    (void)c, (void)req, (void)err;
    return NN_OK;
}

static nn_status tc_broadcast(nn_comm *c, void *buf, size_t len, int root, nn_error *err) {
    (void)err;
    tc_group *g = c->ctx;
    publish_and_wait(g, c->rank, buf);
    if (c->rank != root) memcpy(buf, g->bufs[root], len);
    pthread_barrier_wait(&g->barrier);
    return NN_OK;
}

static const nn_comm_ops TC_OPS = {
    .name = "threads",
    .allreduce_f32 = tc_allreduce_f32,
    .allreduce_f64 = tc_allreduce_f64,
    .start_allreduce_f32 = tc_start,
    .wait = tc_wait,
    .progress = NULL,
    .broadcast = tc_broadcast,
};

tc_group *tc_group_new(int size) {
    tc_group *g = calloc(1, sizeof *g);
    g->size = size;
    g->bufs = calloc((size_t)size, sizeof *g->bufs);
    g->comms = calloc((size_t)size, sizeof *g->comms);
    pthread_barrier_init(&g->barrier, NULL, (unsigned)size);
    for (int r = 0; r < size; r++) g->comms[r] = (nn_comm){&TC_OPS, r, size, r, size, g};
    return g;
}

nn_comm *tc_group_comm(tc_group *g, int rank) { return &g->comms[rank]; }

void tc_group_free(tc_group *g) {
    if (!g) return;
    pthread_barrier_destroy(&g->barrier);
    free(g->bufs);
    free(g->comms);
    free(g);
}

typedef struct rank_arg {
    nn_comm *comm;
    void (*fn)(nn_comm *, void *);
    void *user;
} rank_arg;

static void *rank_main(void *p) {
    rank_arg *a = p;
    a->fn(a->comm, a->user);
    return NULL;
}

void tc_run_ranks(int size, void (*fn)(nn_comm *comm, void *user), void *user) {
    tc_group *g = tc_group_new(size);
    pthread_t *th = calloc((size_t)size, sizeof *th);
    rank_arg *args = calloc((size_t)size, sizeof *args);
    for (int r = 0; r < size; r++) {
        args[r] = (rank_arg){tc_group_comm(g, r), fn, user};
        pthread_create(&th[r], NULL, rank_main, &args[r]);
    }
    for (int r = 0; r < size; r++) pthread_join(th[r], NULL);
    free(th);
    free(args);
    tc_group_free(g);
}
