/* step.c — one optimizer step of the training loop:
 *   locate the batch -> this rank's slice (gathered when shuffled on the device)
 *   -> forward -> loss sums (logging epochs, or every step when asked)
 *   -> backward, summing each layer's gradients over the ranks as soon as it is done
 *   -> agree on success across ranks -> update -> end of epoch: loss, callbacks.
 * With several ranks every collective call is made by every rank in the same
 * order even after a local failure, so that one rank's error stops them all
 * instead of leaving the others waiting. */
#include <math.h>
#include <string.h>

#include "train/train_internal.h"

/* Where the next step's rows are. */
typedef struct batch_ref {
    uint64_t chunk;
    size_t n;      /* rows of the global batch */
    size_t local;  /* rows of this rank's slice */
    nn_view x, t;  /* the slice: (local, features), (local, outputs) */
    int pending;   /* 1: x, t are still to be gathered as `from` says */
    model_gather from;
} batch_ref;

/* Locate step epoch_step's batch and make this rank's slice available (a shuffled
 * resident slice: say where to gather it from; compute gathers it). */
static nn_status locate(nn_trainer *tr, batch_ref *b, nn_error *err) {
    const size_t f = tr->src->features, o = model_outputs(tr->m);
    const uint64_t s = tr->epoch_step;
    const batch_pos p = trainer_batch_at(tr, s);
    const size_t rows = p.chunk_rows, r0 = p.r0;
    b->chunk = p.chunk;
    b->n = p.n;
    TRY(trainer_load_chunk(tr, tr->epoch, b->chunk, err));
    const size_t lo = slice_lo(b->n, tr->rank, tr->ranks);
    b->local = slice_lo(b->n, tr->rank + 1, tr->ranks) - lo;
    if (tr->resident && tr->shuffle) { /* the slice comes from the shuffled order (gather) */
        b->x = (nn_view){tr->xb, 0};
        b->t = (nn_view){tr->tb, 0};
        b->pending = 1;
        b->from = (model_gather){{tr->idx, r0 + lo}, {tr->xd, 0}, {tr->td, 0}, {NULL, 0}, 0};
        const size_t r1 = r0 + b->n; /* the next step's slice, in this epoch's order */
        if (s + 1 < tr->steps_per_epoch && r1 < rows) {
            const size_t n1 = batch_len(rows, r1, tr->batch);
            const size_t lo1 = slice_lo(n1, tr->rank, tr->ranks);
            b->from.next = (nn_view){tr->idx, r1 + lo1};
            b->from.next_rows = slice_lo(n1, tr->rank + 1, tr->ranks) - lo1;
        }
        return NN_OK;
    }
    /* In order on the device: a resident batch, or this rank's staged rows
     * (full batches before this one each gave it the slice of a full batch). */
    size_t at = tr->resident ? r0 + lo
                             : (size_t)p.k * (slice_lo(tr->batch, tr->rank + 1, tr->ranks) -
                                              slice_lo(tr->batch, tr->rank, tr->ranks));
    b->x = (nn_view){tr->xd, at * f};
    b->t = (nn_view){tr->td, at * o};
    return NN_OK;
}

/* Gather the slice's rows if locate left them to gather. */
static nn_status gather(nn_trainer *tr, batch_ref *b, nn_error *err) {
    if (!b->pending) return NN_OK;
    nn_backend *be = tr->m->be;
    b->pending = 0;
    TRY(be->ops->gather_rows(be, b->x, b->from.x_src, b->from.idx, b->local, tr->src->features,
                             err));
    return be->ops->gather_rows(be, b->t, b->from.t_src, b->from.idx, b->local,
                                model_outputs(tr->m), err);
}

/* The optimizer step's parameters for step tr->step + 1 into tr->opt. */
static void prepare_update(nn_trainer *tr) {
    nn_opt_step *o = &tr->opt;
    const uint64_t step = tr->step + 1;
    o->t = step > (uint64_t)INT32_MAX ? INT32_MAX : (int)step;
    if (o->kind == NN_OPT_ADAM) {
        o->c1 = (float)(1.0 / (1.0 - pow(tr->cfg.beta1, (double)step)));
        o->c2 = (float)(1.0 / (1.0 - pow(tr->cfg.beta2, (double)step)));
    }
}

/* Forward, loss sums and backward on this rank's slice (no collectives).
 * With one rank the backend may apply the update during the backward pass,
 * or the whole step runs in row chunks (model_train_rows): *updated = 1.
 * The update is tr->opt, prepared by nn_trainer_step. */
static nn_status compute(nn_trainer *tr, batch_ref *b, int with_loss, int *updated,
                         nn_error *err) {
    nn_model *m = tr->m;
    nn_backend *be = m->be;
    const size_t o = model_outputs(m);
    if (with_loss && tr->epoch_step == 0)
        TRY(be->ops->fill(be, (nn_view){m->loss_acc, 0}, 0.0f, 2, err));
    if (tr->ranks == 1 && !tr->cfg.step_loss) {
        TRY(model_train_rows(m, b->x, b->t, b->pending ? &b->from : NULL, b->local,
                             1.0f / (float)b->n, (nn_view){with_loss ? m->loss_acc : NULL, 0},
                             &tr->opt, updated, err));
        if (*updated) return NN_OK;
    }
    TRY(gather(tr, b, err));
    TRY(model_forward(m, b->x, b->local, err));
    if (tr->cfg.step_loss) {
        TRY(be->ops->fill(be, (nn_view){tr->step_acc, 0}, 0.0f, 2, err));
        TRY(be->ops->loss_sum(be, m->cfg.loss, (nn_view){tr->step_acc, 0}, model_logits(m), b->t,
                              b->local, o, err));
    }
    /* the epoch's loss sum is added in the loss gradient's pass */
    const nn_view acc = {with_loss ? m->loss_acc : NULL, 0};
    return model_backward_loss(m, b->x, b->t, b->local, 1.0f / (float)b->n, acc,
                               tr->ranks > 1 ? grad_sync_layer : NULL, tr,
                               tr->ranks == 1 ? &tr->opt : NULL, updated, err);
}

/* The compensated loss pair in buf (2), read when st is NN_OK (else zeros),
 * summed over the ranks into *sum; returns st, or the read's or the sum's
 * failure. Collective with ranks: every rank calls it whatever st. */
static nn_status read_loss_sum(nn_trainer *tr, nn_buf *buf, nn_status st, double *sum,
                               nn_error *err) {
    float acc[2] = {0.0f, 0.0f};
    nn_backend *be = tr->m->be;
    if (st == NN_OK) st = be->ops->read(be, (nn_view){buf, 0}, acc, 2, err);
    nn_error ignored;
    nn_status s = trainer_sum_loss(tr, acc, sum, st == NN_OK ? err : &ignored);
    return st != NN_OK ? st : s;
}

/* The step's mean batch loss (summed over the ranks). Collective with ranks. */
static nn_status read_step_loss(nn_trainer *tr, const batch_ref *b, nn_status st, nn_error *err) {
    double sum;
    st = read_loss_sum(tr, tr->step_acc, st, &sum, err);
    tr->step_loss = sum / (double)b->n;
    return st;
}

/* Count the step and apply its update (tr->opt), unless the backward pass did (updated). */
static nn_status apply_update(nn_trainer *tr, int updated, nn_error *err) {
    nn_model *m = tr->m;
    nn_backend *be = m->be;
    tr->step++;
    if (updated) return NN_OK;
    model_params_written(m);
    return be->ops->update(be, &tr->opt, (nn_view){m->params, 0}, (nn_view){m->grads, 0},
                           (nn_view){m->opt_m, 0}, (nn_view){m->opt_v, 0}, m->n_params, err);
}

/* After an epoch's last step: its mean loss, NN_E_NUMERIC when not finite.
 * Collective with ranks; `st` is the step's status so far. */
static nn_status epoch_loss(nn_trainer *tr, nn_status st, double *loss, nn_error *err) {
    TRY(read_loss_sum(tr, tr->m->loss_acc, st, loss, err));
    *loss /= (double)tr->src->n;
    if (isfinite(*loss)) return NN_OK;
    const char *what = isnan(*loss) ? "NaN" : "Inf";
    if (tr->last_logged < 0 || tr->last_logged + 1 == tr->epoch)
        return nn_error_set_param(err, NN_E_NUMERIC, "lr",
                                  "training diverged: the loss is %s at epoch %d (try a smaller "
                            "learning rate)", what, tr->epoch);
    return nn_error_set_param(err, NN_E_NUMERIC, "lr",
                              "training diverged: the loss became %s between epoch %d and epoch %d "
                        "(try a smaller learning rate)", what, tr->last_logged + 1, tr->epoch);
}

/* Close the epoch after its last step (collective with ranks: every rank
 * calls it at the same step whatever its status); returns the status with
 * the logging callback applied. */
static nn_status end_epoch(nn_trainer *tr, int with_loss, nn_status st, nn_error *err) {
    const int epoch = tr->epoch;
    if (st == NN_OK) st = model_settle(tr->m, err); /* an epoch ends with its updates applied */
    if (with_loss) {
        double loss = NAN;
        st = epoch_loss(tr, st, &loss, err);
        if (st == NN_OK) {
            tr->final_loss = loss;
            tr->last_logged = epoch;
            if (tr->cfg.on_log && tr->cfg.on_log(tr->cfg.user, epoch, loss))
                st = nn_error_set(err, NN_E_STOPPED, "training stopped at epoch %d", epoch);
        }
    }
    if (st == NN_OK || st == NN_E_STOPPED) {
        tr->samples_seen += tr->src->n;
        tr->epochs_run = epoch + 1;
        tr->epoch++;
        tr->epoch_step = 0;
    }
    return st;
}

nn_status nn_trainer_step(nn_trainer *tr, nn_error *err) {
    if (nn_trainer_finished(tr))
        return nn_error_set(err, NN_E_INVALID, "training is finished (%d epochs)", tr->cfg.epochs);
    const double t0 = nn_now();
    const int with_loss = trainer_logs_loss(tr, tr->epoch);
    const int last_of_epoch = tr->epoch_step + 1 == tr->steps_per_epoch;
    const int parallel = tr->ranks > 1;
    batch_ref b;
    memset(&b, 0, sizeof b);
    b.n = 1;
    if (parallel) grad_sync_begin(tr);
    prepare_update(tr); /* for an update fused into the backward pass, or apply_update */
    int updated = 0;
    nn_status st = locate(tr, &b, err);
    if (st == NN_OK) st = compute(tr, &b, with_loss, &updated, err);
    if (parallel) st = grad_sync_finish(tr, st, err);
    if (tr->cfg.step_loss) st = read_step_loss(tr, &b, st, err);
    if (parallel) { /* no rank updates with sums another rank could not complete */
        double t1 = nn_now();
        st = nn_comm_agree(tr->comm, st, err);
        tr->comm_seconds += nn_now() - t1;
    }
    const int agreed_failure = st != NN_OK; /* the same on every rank */
    if (st == NN_OK) st = apply_update(tr, updated, err);
    if (st == NN_OK) tr->epoch_step++, tr->rows_trained += b.n;
    if (last_of_epoch) st = end_epoch(tr, with_loss, st, err);
    if (st == NN_OK && tr->cfg.on_progress) {
        double done = (double)tr->epoch * (double)tr->steps_per_epoch + (double)tr->epoch_step;
        double total = (double)tr->cfg.epochs * (double)tr->steps_per_epoch;
        if (tr->cfg.on_progress(tr->cfg.user, done / total)) {
            st = model_rows_finish(tr->m, err); /* a stop returns after a complete step */
            if (st == NN_OK)
                st = nn_error_set(err, NN_E_STOPPED, "training stopped at epoch %d", tr->epoch);
        }
    }
    if (parallel && !agreed_failure) { /* a failed update, or a stop on one rank, stops all */
        double t1 = nn_now();
        st = nn_comm_agree(tr->comm, st, err);
        tr->comm_seconds += nn_now() - t1;
    }
    tr->seconds += nn_now() - t0;
    return st;
}

nn_status nn_trainer_run(nn_trainer *tr, nn_error *err) {
    nn_status st = NN_OK;
    while (st == NN_OK && !nn_trainer_finished(tr)) st = nn_trainer_step(tr, err);
    if (st != NN_OK) return st;
    nn_backend *be = tr->m->be;
    return be->ops->sync(be, err);
}
