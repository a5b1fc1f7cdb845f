/* chunks.c — which rows are on the device: a resident set is produced and
 * uploaded once (and reshuffled on the device each epoch); streamed chunks
 * are uploaded in turn while a worker thread produces the next one. */
#include <stdlib.h>
#include <string.h>

#include "train/train_internal.h"

void trainer_join_worker(nn_trainer *tr) {
    if (!tr->worker_running) return;
    pthread_join(tr->worker, NULL);
    tr->worker_running = 0;
}

static uint64_t items_total(const nn_trainer *tr) {
    return (uint64_t)tr->cfg.epochs * tr->n_chunks;
}

/* Upload stage s into the device buffers. */
static nn_status upload(nn_trainer *tr, const stage *s, nn_error *err) {
    nn_backend *be = tr->m->be;
    if (s->st != NN_OK) {
        if (err) *err = s->err;
        return s->st;
    }
    TRY(be->ops->write(be, (nn_view){tr->xd, 0}, s->x, s->rows * tr->src->features, err));
    return be->ops->write(be, (nn_view){tr->td, 0}, s->t, s->rows * model_outputs(tr->m), err);
}

nn_status trainer_load_chunk(nn_trainer *tr, int epoch, uint64_t chunk, nn_error *err) {
    if (tr->resident) {
        if (tr->loaded_item == UINT64_MAX) { /* once: produce, upload, drop the host copy */
            tr->st[0].epoch = 0;
            tr->st[0].chunk = 0;
            stage_produce(&tr->st[0]);
            nn_status st = upload(tr, &tr->st[0], err);
            stage_free(&tr->st[0]);
            TRY(st);
            tr->loaded_item = 0;
        }
        if (tr->shuffle && tr->perm_epoch != epoch) {
            nn_backend *be = tr->m->be;
            TRY(model_rows_finish(tr->m, err)); /* a step in flight reads the order */
            trainer_chunk_perm(tr, epoch, 0, tr->perm, tr->chunk_rows);
            TRY(be->ops->write(be, (nn_view){tr->idx, 0}, tr->perm, tr->chunk_rows, err));
            tr->perm_epoch = epoch;
        }
        return NN_OK;
    }
    const uint64_t item = (uint64_t)epoch * tr->n_chunks + chunk;
    if (tr->loaded_item == item) return NN_OK;
    trainer_join_worker(tr);
    const int next = 1 - tr->cur;
    stage *s = &tr->st[next];
    if (tr->produced_item != item) { /* not prefetched (first chunk, or a jump after set_state) */
        s->epoch = epoch;
        s->chunk = chunk;
        stage_produce(s);
        tr->produced_item = item;
    }
    TRY(model_rows_finish(tr->m, err)); /* a step in flight reads the rows replaced */
    nn_status st = upload(tr, s, err);
    tr->produced_item = UINT64_MAX;
    if (st != NN_OK) return st;
    tr->cur = next;
    tr->loaded_item = item;
    /* Produce the item after this one while it trains. */
    if (item + 1 < items_total(tr)) {
        stage *p = &tr->st[1 - tr->cur];
        p->epoch = (int)((item + 1) / tr->n_chunks);
        p->chunk = (item + 1) % tr->n_chunks;
        tr->produced_item = item + 1;
        tr->worker_running = pthread_create(&tr->worker, NULL, stage_produce, p) == 0;
        if (!tr->worker_running) stage_produce(p);
    }
    return NN_OK;
}
