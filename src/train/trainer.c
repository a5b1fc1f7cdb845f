/* trainer.c — creating and releasing a trainer: validation, the plan of
 * chunks and batches, buffers; its results. Chunks are staged by chunks.c,
 * the steps taken by step.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/train_internal.h"

/* The config, and the model against the data (errors name the field). */
static nn_status validate(const nn_model *m, const nn_source *src, const nn_train_config *cfg,
                          nn_error *err) {
    nn_status st = nn_train_config_validate(cfg, err);
    if (st != NN_OK) return st;
    return nn_train_check_data(&m->cfg, src->n, src->features, src->classes, err);
}

/* Decide batch and chunk sizes from the config and the memory budget. */
static nn_status plan(nn_trainer *tr, nn_error *err) {
    const nn_train_config *cfg = &tr->cfg;
    const uint64_t n = tr->src->n;
    const size_t row_bytes = (tr->src->features + model_outputs(tr->m)) * sizeof(float);
    const size_t budget = cfg->memory_limit ? cfg->memory_limit : (size_t)1 << 30;
    uint64_t fit = budget / row_bytes;
    if (fit > UINT32_MAX) fit = UINT32_MAX; /* row indices are uint32 */
    uint64_t chunk = cfg->chunk_rows ? cfg->chunk_rows : n <= fit ? n : fit;
    if (cfg->batch > chunk) chunk = cfg->batch; /* a chunk holds at least one whole batch */
    if (chunk > n) chunk = n;
    if (chunk == 0 || chunk > fit)
        return nn_error_set(err, NN_E_INVALID,
                            "a memory limit of %zu bytes holds %llu rows of %zu bytes; need at "
                            "least %llu", budget, (unsigned long long)fit, row_bytes,
                            (unsigned long long)(chunk ? chunk : 1));
    if (cfg->batch == 0) {
        if (chunk < n)
            return nn_error_set(err, NN_E_INVALID,
                                "full-batch training needs all %llu rows resident (%.0f MiB); pass "
                                "a batch size",
                                (unsigned long long)n, (double)n * row_bytes / 1048576.0);
        tr->batch = (size_t)n;
    } else {
        tr->batch = cfg->batch < chunk ? cfg->batch : (size_t)chunk; /* at most n */
        if (chunk < n) chunk -= chunk % tr->batch; /* whole batches per chunk */
    }
    if (tr->batch < (size_t)tr->ranks)
        return nn_error_set(err, NN_E_INVALID,
                            "a global batch of %zu rows cannot be split over %d ranks (each rank "
                            "needs at least one row)", tr->batch, tr->ranks);
    tr->chunk_rows = (size_t)chunk;
    tr->n_chunks = (n + chunk - 1) / chunk;
    tr->resident = tr->n_chunks == 1;
    tr->shuffle = tr->batch < tr->chunk_rows;
    tr->steps_per_chunk = (tr->chunk_rows + tr->batch - 1) / tr->batch;
    const uint64_t last_rows = n - (tr->n_chunks - 1) * tr->chunk_rows;
    tr->steps_per_epoch =
        (tr->n_chunks - 1) * tr->steps_per_chunk + (last_rows + tr->batch - 1) / tr->batch;
    return NN_OK;
}

static nn_status setup_buffers(nn_trainer *tr, nn_error *err) {
    nn_model *m = tr->m;
    nn_backend *be = m->be;
    const struct nn_backend_ops *ops = be->ops;
    const size_t f = tr->src->features, o = model_outputs(m), c = tr->chunk_rows;
    TRY(model_reserve(m, tr->batch, err));
    TRY(model_reserve_optimizer(m, tr->cfg.optimizer, err));
    TRY(ops->alloc(be, c * f, &tr->xd, err));
    TRY(ops->alloc(be, c * o, &tr->td, err));
    TRY(ops->alloc(be, 2, &tr->step_acc, err));
    /* A resident chunk is shuffled on the device; a rank's slice of a
     * full-batch step is a plain view, so only a shuffle needs gathering. */
    if (tr->resident && tr->shuffle) {
        TRY(ops->alloc(be, c, &tr->idx, err));
        TRY(ops->alloc(be, tr->batch * f, &tr->xb, err));
        TRY(ops->alloc(be, tr->batch * o, &tr->tb, err));
        tr->perm = malloc(c * sizeof(uint32_t));
        if (!tr->perm) return nn_error_set(err, NN_E_NOMEM, "out of memory for the shuffle order");
    }
    if (tr->ranks > 1 && !ops->host_ptr) {
        tr->grad_host = malloc(m->n_params * sizeof(float));
        if (!tr->grad_host)
            return nn_error_set(err, NN_E_NOMEM, "out of memory for %zu gradients", m->n_params);
    }
    TRY(stage_alloc(&tr->st[0], tr, err));
    if (!tr->resident) TRY(stage_alloc(&tr->st[1], tr, err));
    return NN_OK;
}

nn_status nn_trainer_create(nn_model *m, const nn_source *src, const nn_train_config *cfg,
                            nn_trainer **out, nn_error *err) {
    if (!out) return nn_error_set(err, NN_E_INVALID, "nn_trainer_create: out is NULL");
    *out = NULL;
    if (!m || !src || !cfg) return nn_error_set(err, NN_E_INVALID, "nn_trainer_create: NULL argument");
    const nn_comm *c = cfg->comm;
    if (c && (!c->ops || c->size < 1 || c->rank < 0 || c->rank >= c->size || c->size > (1 << 20)))
        return nn_error_set(err, NN_E_INVALID, "communicator: rank %d of %d is not valid",
                            c->rank, c->size);
    /* From here on every failure goes through the agreement below, so that
     * no rank is left waiting for one that gave up. */
    nn_status st = validate(m, src, cfg, err);
    nn_trainer *tr = st == NN_OK ? calloc(1, sizeof *tr) : NULL;
    if (st == NN_OK && !tr) st = nn_error_set(err, NN_E_NOMEM, "out of memory creating a trainer");
    if (st != NN_OK) {
        if (c && c->size > 1) st = nn_comm_agree(cfg->comm, st, err);
        return st;
    }
    tr->m = m;
    tr->src = src;
    tr->cfg = *cfg;
    tr->single = nn_comm_single();
    tr->comm = cfg->comm ? cfg->comm : &tr->single;
    tr->rank = tr->comm->rank;
    tr->ranks = tr->comm->size;
    tr->loaded_item = tr->produced_item = UINT64_MAX;
    tr->perm_epoch = -1;
    tr->last_logged = -1;
    tr->cur = 1; /* the first chunk is produced into st[0] */
    tr->final_loss = NAN;
    tr->step_loss = NAN;
    tr->opt = (nn_opt_step){.kind = cfg->optimizer, .lr = (float)cfg->lr,
                            .momentum = (float)cfg->momentum, .beta1 = (float)cfg->beta1,
                            .beta2 = (float)cfg->beta2, .eps = (float)cfg->eps, .t = 0};
    st = plan(tr, err);
    if (st == NN_OK) st = setup_buffers(tr, err);
    /* The first rows are staged (and a resident set uploaded) before any step is timed. */
    if (st == NN_OK) st = trainer_load_chunk(tr, 0, 0, err);
    if (tr->ranks > 1) st = nn_comm_agree(tr->comm, st, err);
    if (st != NN_OK) {
        nn_trainer_free(tr);
        return st;
    }
    nn_backend *be = m->be;
    if (be->ops->threads_used) be->ops->threads_used(be, 1); /* count the steps' threads only */
    *out = tr;
    return NN_OK;
}

void nn_trainer_free(nn_trainer *tr) {
    if (!tr) return;
    trainer_join_worker(tr);
    nn_error ignored; /* the last step's chunks read the rows freed here */
    (void)model_rows_finish(tr->m, &ignored);
    nn_backend *be = tr->m->be;
    nn_buf *bufs[] = {tr->xd, tr->td, tr->idx, tr->xb, tr->tb, tr->step_acc};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (bufs[i]) be->ops->release(be, bufs[i]);
    stage_free(&tr->st[0]);
    stage_free(&tr->st[1]);
    free(tr->perm);
    free(tr->grad_host);
    free(tr);
}

int nn_trainer_finished(const nn_trainer *tr) { return tr->epoch >= tr->cfg.epochs; }
uint64_t nn_trainer_steps_per_epoch(const nn_trainer *tr) { return tr->steps_per_epoch; }
double nn_trainer_step_loss(const nn_trainer *tr) { return tr->step_loss; }

void nn_trainer_result(const nn_trainer *tr, nn_train_result *res) {
    memset(res, 0, sizeof *res);
    res->epochs_run = tr->epochs_run;
    res->final_loss = tr->final_loss;
    res->seconds = tr->seconds;
    res->samples_seen = tr->samples_seen;
    res->steps = tr->step;
    res->ranks = tr->ranks;
    res->comm_seconds = tr->comm_seconds;
    nn_backend *be = tr->m->be;
    res->threads_used = be->ops->threads_used ? be->ops->threads_used(be, 0) : be->threads;
    res->comm_bytes_per_step =
        tr->ranks > 1 ? (double)tr->m->n_params * sizeof(float) + sizeof(double) : 0.0;
    if (res->seconds > 0) {
        res->samples_per_second = (double)tr->rows_trained / res->seconds;
        res->gflops = nn_model_flops_per_sample(tr->m, 1) * res->samples_per_second / 1e9;
    }
}
