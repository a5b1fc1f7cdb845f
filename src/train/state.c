/* state.c — a trainer's state in host memory, to checkpoint, resume, or
 * start another backend from the same point (nnbench check). The position
 * (epoch, step within it) determines the data: chunks and shuffles are
 * functions of (seed, epoch, chunk), so no generator state is stored. */
#include <stdlib.h>
#include <string.h>

#include "train/train_internal.h"

void nn_train_state_free(nn_train_state *s) {
    if (!s) return;
    free(s->params);
    free(s->opt_m);
    free(s->opt_v);
    memset(s, 0, sizeof *s);
}

/* The epoch's running loss pair on the device, summed over the ranks. */
static nn_status loss_so_far(nn_trainer *tr, float pair[2], nn_error *err) {
    pair[0] = pair[1] = 0.0f;
    if (tr->epoch_step == 0 || !trainer_logs_loss(tr, tr->epoch))
        return NN_OK; /* nothing accumulated yet, or an epoch that logs no loss */
    nn_model *m = tr->m;
    float acc[2];
    TRY(m->be->ops->read(m->be, (nn_view){m->loss_acc, 0}, acc, 2, err));
    if (tr->ranks == 1) {
        pair[0] = acc[0];
        pair[1] = acc[1];
        return NN_OK;
    }
    double sum;
    TRY(trainer_sum_loss(tr, acc, &sum, err));
    pair[0] = (float)sum;
    pair[1] = (float)(sum - (double)pair[0]);
    return NN_OK;
}

nn_status nn_trainer_get_state(nn_trainer *tr, nn_train_state *out, nn_error *err) {
    nn_model *m = tr->m;
    nn_backend *be = m->be;
    memset(out, 0, sizeof *out);
    nn_status st = model_settle(m, err); /* the parameters with every step taken */
    if (st == NN_OK) st = loss_so_far(tr, out->loss_acc, err);
    if (st != NN_OK) return st;
    const size_t n = m->n_params;
    out->step = tr->step;
    out->epoch = tr->epoch;
    out->epoch_step = tr->epoch_step;
    out->samples_seen = tr->samples_seen;
    out->n_params = n;
    out->params = malloc(n * sizeof(float));
    if (m->opt_m) out->opt_m = malloc(n * sizeof(float));
    if (m->opt_v) out->opt_v = malloc(n * sizeof(float));
    if (!out->params || (m->opt_m && !out->opt_m) || (m->opt_v && !out->opt_v)) {
        nn_train_state_free(out);
        return nn_error_set(err, NN_E_NOMEM, "out of memory copying %zu parameters", n);
    }
    st = be->ops->read(be, (nn_view){m->params, 0}, out->params, n, err);
    if (st == NN_OK && m->opt_m) st = be->ops->read(be, (nn_view){m->opt_m, 0}, out->opt_m, n, err);
    if (st == NN_OK && m->opt_v) st = be->ops->read(be, (nn_view){m->opt_v, 0}, out->opt_v, n, err);
    if (st != NN_OK) nn_train_state_free(out);
    return st;
}

nn_status nn_trainer_set_state(nn_trainer *tr, const nn_train_state *s, nn_error *err) {
    nn_model *m = tr->m;
    nn_backend *be = m->be;
    if (s->n_params != m->n_params || !s->params)
        return nn_error_set(err, NN_E_INVALID, "the state has %zu parameters, the model %zu",
                            s->n_params, m->n_params);
    if ((m->opt_m != NULL) != (s->opt_m != NULL) || (m->opt_v != NULL) != (s->opt_v != NULL))
        return nn_error_set(err, NN_E_INVALID,
                            "the state's optimizer moments do not match optimizer %s",
                            nn_optimizer_name(tr->cfg.optimizer));
    if (s->epoch < 0 || s->epoch > tr->cfg.epochs ||
        (s->epoch == tr->cfg.epochs && s->epoch_step != 0) || s->epoch_step >= tr->steps_per_epoch)
        return nn_error_set(err, NN_E_INVALID,
                            "the state is at step %llu of epoch %d, outside this run (%d epochs "
                            "of %llu steps)", (unsigned long long)s->epoch_step, s->epoch,
                            tr->cfg.epochs, (unsigned long long)tr->steps_per_epoch);
    const size_t n = m->n_params;
    TRY(model_settle(m, err));
    model_params_written(m);
    TRY(be->ops->write(be, (nn_view){m->params, 0}, s->params, n, err));
    if (m->opt_m) TRY(be->ops->write(be, (nn_view){m->opt_m, 0}, s->opt_m, n, err));
    if (m->opt_v) TRY(be->ops->write(be, (nn_view){m->opt_v, 0}, s->opt_v, n, err));
    /* The loss sum so far is the ranks' total: rank 0 carries it. */
    float acc[2] = {0.0f, 0.0f};
    if (tr->rank == 0) memcpy(acc, s->loss_acc, sizeof acc);
    TRY(be->ops->write(be, (nn_view){m->loss_acc, 0}, acc, 2, err));
    tr->step = s->step;
    tr->epoch = s->epoch;
    tr->epoch_step = s->epoch_step;
    tr->samples_seen = s->samples_seen;
    tr->epochs_run = s->epoch;
    if (s->epoch < tr->cfg.epochs) {
        TRY(trainer_load_chunk(tr, s->epoch, trainer_batch_at(tr, s->epoch_step).chunk, err));
    }
    return NN_OK;
}
