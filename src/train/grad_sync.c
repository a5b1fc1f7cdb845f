/* grad_sync.c — data parallelism in the loop: the gradients of each layer
 * are summed over the ranks while the backward pass goes on to the layer
 * below (a layer's W and b are contiguous in the parameter slab, so one sum
 * per layer). Backends whose buffers live in host memory are summed in
 * place; others are copied to a host buffer and back. Time spent waiting is
 * counted as communication. */
#include <string.h>

#include "train/train_internal.h"

/* Floats of layer l's gradients (W_l then b_l, contiguous). */
static size_t layer_count(const nn_model *m, size_t l) {
    return m->b_off[l] + model_width(m, l + 1) - m->w_off[l];
}

/* Host pointer to the gradients of layer l, staging them if needed. */
static nn_status layer_grads(struct nn_trainer *tr, size_t l, float **out, nn_error *err) {
    nn_model *m = tr->m;
    const size_t off = m->w_off[l];
    nn_backend *be = m->be;
    float *host = be->ops->host_ptr ? be->ops->host_ptr(be, (nn_view){m->grads, off}) : NULL;
    if (host) {
        *out = host;
        return NN_OK;
    }
    *out = tr->grad_host + off;
    return be->ops->read(be, (nn_view){m->grads, off}, *out, layer_count(m, l), err);
}

void grad_sync_begin(struct nn_trainer *tr) {
    memset(tr->started, 0, sizeof tr->started);
    memset(tr->req, 0, sizeof tr->req);
}

nn_status grad_sync_layer(void *user, size_t layer, nn_error *err) {
    struct nn_trainer *tr = user;
    nn_comm *c = tr->comm;
    float *g;
    nn_status st = layer_grads(tr, layer, &g, err);
    if (st != NN_OK) return st;
    st = c->ops->start_allreduce_f32(c, g, layer_count(tr->m, layer), &tr->req[layer], err);
    if (st != NN_OK) return st;
    tr->started[layer] = 1;
    if (c->ops->progress) c->ops->progress(c);
    return NN_OK;
}

nn_status grad_sync_finish(struct nn_trainer *tr, nn_status local, nn_error *err) {
    nn_model *m = tr->m;
    nn_comm *c = tr->comm;
    nn_status st = local; /* the first failure; its message stays in err */
    nn_error ignored;
#define SINK (st == NN_OK ? err : &ignored)
    /* After a local failure the other ranks still expect every layer's sum:
     * join them with whatever the buffers hold (the step is discarded). */
    for (size_t l = m->n_layers; l-- > 0;) {
        if (tr->started[l]) continue;
        float *g; /* set by layer_grads even when it fails */
        nn_status s = layer_grads(tr, l, &g, SINK);
        if (s != NN_OK && st == NN_OK) st = s;
        s = c->ops->start_allreduce_f32(c, g, layer_count(m, l), &tr->req[l], SINK);
        if (s != NN_OK) return st == NN_OK ? s : st; /* the communicator itself failed */
        tr->started[l] = 1;
    }
    double t0 = nn_now();
    for (size_t l = m->n_layers; l-- > 0;) {
        nn_status s = c->ops->wait(c, tr->req[l], SINK);
        tr->req[l] = NULL;
        if (s != NN_OK && st == NN_OK) st = s;
    }
    tr->comm_seconds += nn_now() - t0;
    nn_backend *be = m->be;
    if (st == NN_OK && !be->ops->host_ptr)
        st = be->ops->write(be, (nn_view){m->grads, 0}, tr->grad_host, m->n_params, err);
#undef SINK
    return st;
}

nn_status trainer_sum_loss(struct nn_trainer *tr, const float acc[2], double *out, nn_error *err) {
    *out = (double)acc[0] + (double)acc[1];
    if (tr->ranks == 1) return NN_OK;
    double t0 = nn_now();
    nn_status st = tr->comm->ops->allreduce_f64(tr->comm, out, 1, err);
    tr->comm_seconds += nn_now() - t0;
    return st;
}
