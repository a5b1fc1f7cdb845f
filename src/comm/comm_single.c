/* comm_single.c — the communicator of one process: every sum is the identity. */
#include <stdlib.h>

#include "nn_comm.h"

static nn_status single_allreduce_f32(nn_comm *c, float *buf, size_t count, nn_error *err) {
    (void)c, (void)buf, (void)count, (void)err;
    return NN_OK;
}

static nn_status single_allreduce_f64(nn_comm *c, double *buf, size_t count, nn_error *err) {
    (void)c, (void)buf, (void)count, (void)err;
    return NN_OK;
}

/* A started sum of one rank is already complete: no request object is needed. */
static nn_status single_start(nn_comm *c, float *buf, size_t count, nn_comm_request **req,
                              nn_error *err) {
    (void)c, (void)buf, (void)count, (void)err;
    *req = NULL;
    return NN_OK;
}

static nn_status single_wait(nn_comm *c, nn_comm_request *req, nn_error *err) {
    (void)c, (void)req, (void)err;
    return NN_OK;
}

static nn_status single_broadcast(nn_comm *c, void *buf, size_t len, int root, nn_error *err) {
    (void)c, (void)buf, (void)len, (void)err;
    if (root != 0) return nn_error_set(err, NN_E_INVALID, "broadcast from rank %d of 1", root);
    return NN_OK;
}

static const nn_comm_ops SINGLE_OPS = {
    .name = "single",
    .allreduce_f32 = single_allreduce_f32,
    .allreduce_f64 = single_allreduce_f64,
    .start_allreduce_f32 = single_start,
    .wait = single_wait,
    .progress = NULL,
    .broadcast = single_broadcast,
};

nn_comm nn_comm_single(void) {
    nn_comm c = {&SINGLE_OPS, 0, 1, 0, 1, NULL};
    return c;
}
