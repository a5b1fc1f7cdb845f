/* train.c — the one training loop, shared by every backend.
 *
 * Rows come from an nn_source in chunks. When the whole dataset fits in the
 * memory budget it is one chunk, uploaded once; otherwise chunks are produced
 * on a worker thread while the previous chunk trains (streaming). Each epoch
 * shuffles the rows of each chunk (seeded) and walks them in batches:
 * gather -> forward -> (loss at logging epochs) -> backward -> update. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "model_impl.h"

/* ------------------------------------------------------------ host staging */

/* One chunk of rows in host memory, filled by the producer. */
typedef struct stage {
    const nn_source *src;
    nn_loss loss;
    size_t outputs;
    uint64_t first; /* first row of the chunk */
    size_t rows;
    float *x;       /* (chunk_rows, features) */
    float *y;       /* (chunk_rows) labels or targets */
    float *t;       /* (chunk_rows, outputs) loss targets */
    nn_status st;
    nn_error err;
} stage;

/* Fill a stage from its source and turn labels into loss targets. */
static void *stage_produce(void *arg) {
    stage *s = arg;
    s->st = s->src->fill(s->src->ctx, s->first, s->rows, s->x, s->y, &s->err);
    if (s->st != NN_OK) return NULL;
    for (size_t r = 0; r < s->rows; r++) {
        float y = s->y[r];
        float *t = s->t + r * s->outputs;
        if (!isfinite(y)) {
            s->st = nn_error_set(&s->err, NN_E_INVALID, "row %llu: label is not finite",
                                 (unsigned long long)(s->first + r));
            return NULL;
        }
        if (s->loss == NN_LOSS_CE) {
            if (y < 0 || y != floorf(y) || (size_t)y >= s->outputs) {
                s->st = nn_error_set(&s->err, NN_E_INVALID,
                                     "row %llu: label %g is not a class in 0..%zu",
                                     (unsigned long long)(s->first + r), (double)y, s->outputs - 1);
                return NULL;
            }
            memset(t, 0, s->outputs * sizeof(float));
            t[(size_t)y] = 1.0f;
        } else if (s->loss == NN_LOSS_BCE) {
            if (y != 0.0f && y != 1.0f) {
                s->st = nn_error_set(&s->err, NN_E_INVALID,
                                     "row %llu: label %g is not 0 or 1 (binary cross-entropy)",
                                     (unsigned long long)(s->first + r), (double)y);
                return NULL;
            }
            t[0] = y;
        } else {
            for (size_t j = 0; j < s->outputs; j++) t[j] = y;
        }
    }
    return NULL;
}

static void stage_free(stage *s) {
    free(s->x);
    free(s->y);
    free(s->t);
}

static nn_status stage_alloc(stage *s, const nn_source *src, nn_loss loss, size_t outputs,
                             size_t rows, nn_error *err) {
    memset(s, 0, sizeof *s);
    s->src = src;
    s->loss = loss;
    s->outputs = outputs;
    s->x = malloc(rows * src->features * sizeof(float));
    s->y = malloc(rows * sizeof(float));
    s->t = malloc(rows * outputs * sizeof(float));
    if (!s->x || !s->y || !s->t) {
        stage_free(s);
        return nn_error_set(err, NN_E_NOMEM, "out of memory staging %zu training rows", rows);
    }
    return NN_OK;
}

/* ------------------------------------------------------------- the loop */
/* Each nn_train call starts with fresh optimizer state (zero moments, step 1). */

typedef struct loop {
    nn_model *m;
    const nn_source *src;
    const nn_train_config *cfg;
    size_t batch;      /* rows per step */
    size_t chunk_rows; /* rows resident at once */
    uint64_t n_chunks;
    nn_buf *xd;  /* (chunk_rows, features) resident inputs */
    nn_buf *td;  /* (chunk_rows, outputs) resident targets */
    nn_buf *idx; /* (chunk_rows) uint32 shuffled order; NULL when batch == chunk */
    nn_buf *xb;  /* (batch, features) gathered batch; NULL when batch == chunk */
    nn_buf *tb;  /* (batch, outputs) */
    uint32_t *perm; /* (chunk_rows) host permutation */
    nn_opt_step step;
} loop;

#define TRY(call)                                                                                  \
    do {                                                                                           \
        nn_status st_ = (call);                                                                    \
        if (st_ != NN_OK) return st_;                                                              \
    } while (0)

/* Decide batch and chunk sizes from the config and the memory budget. */
static nn_status plan(loop *L, nn_error *err) {
    const nn_train_config *cfg = L->cfg;
    const uint64_t n = L->src->n;
    const size_t row_bytes = (L->src->features + model_outputs(L->m)) * sizeof(float);
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
        L->batch = (size_t)n;
    } else {
        L->batch = cfg->batch < chunk ? cfg->batch : (size_t)chunk; /* at most n */
        if (chunk < n) chunk -= chunk % L->batch; /* whole batches per chunk */
    }
    L->chunk_rows = (size_t)chunk;
    L->n_chunks = (n + chunk - 1) / chunk;
    return NN_OK;
}

static nn_status setup_buffers(loop *L, nn_error *err) {
    nn_backend *be = L->m->be;
    const struct nn_backend_ops *ops = be->ops;
    const size_t f = L->src->features, o = model_outputs(L->m), c = L->chunk_rows;
    TRY(model_reserve(L->m, L->batch, err));
    TRY(model_reserve_optimizer(L->m, L->cfg->optimizer, err));
    TRY(ops->alloc(be, c * f, &L->xd, err));
    TRY(ops->alloc(be, c * o, &L->td, err));
    if (L->batch < c) {
        TRY(ops->alloc(be, c, &L->idx, err));
        TRY(ops->alloc(be, L->batch * f, &L->xb, err));
        TRY(ops->alloc(be, L->batch * o, &L->tb, err));
        L->perm = malloc(c * sizeof(uint32_t));
        if (!L->perm) return nn_error_set(err, NN_E_NOMEM, "out of memory for the shuffle order");
    }
    return NN_OK;
}

static void release_buffers(loop *L) {
    nn_backend *be = L->m->be;
    nn_buf *bufs[] = {L->xd, L->td, L->idx, L->xb, L->tb};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (bufs[i]) be->ops->release(be, bufs[i]);
    free(L->perm);
}

/* One optimizer step on rows (x, t) of the resident chunk. */
static nn_status train_step(loop *L, nn_view x, nn_view t, size_t rows, int with_loss,
                            nn_error *err) {
    nn_model *m = L->m;
    nn_backend *be = m->be;
    TRY(model_forward(m, x, rows, err));
    if (with_loss)
        TRY(be->ops->loss_sum(be, m->cfg.loss, (nn_view){m->loss_acc, 0}, model_logits(m), t, rows,
                              model_outputs(m), err));
    TRY(model_backward(m, x, t, rows, err));
    nn_opt_step *s = &L->step;
    s->t++;
    if (s->kind == NN_OPT_ADAM) {
        s->c1 = (float)(1.0 / (1.0 - pow(L->cfg->beta1, s->t)));
        s->c2 = (float)(1.0 / (1.0 - pow(L->cfg->beta2, s->t)));
    }
    return be->ops->update(be, s, (nn_view){m->params, 0}, (nn_view){m->grads, 0},
                           (nn_view){m->opt_m, 0}, (nn_view){m->opt_v, 0}, m->n_params, err);
}

/* Train all batches of the resident chunk of `rows` rows for one epoch. */
static nn_status train_chunk(loop *L, size_t rows, int epoch, uint64_t chunk, int with_loss,
                             double done_steps, double total_steps, nn_error *err) {
    nn_backend *be = L->m->be;
    const struct nn_backend_ops *ops = be->ops;
    const size_t f = L->src->features, o = model_outputs(L->m);
    const int gather = L->batch < rows;
    if (gather) {
        nn_rng r = nn_rng_make(L->cfg->seed, (UINT64_C(5) << 56) | ((uint64_t)epoch * L->n_chunks + chunk));
        for (size_t i = 0; i < rows; i++) L->perm[i] = (uint32_t)i;
        nn_rng_shuffle_u32(&r, L->perm, rows);
        TRY(ops->write(be, (nn_view){L->idx, 0}, L->perm, rows, err));
    }
    size_t step = 0;
    for (size_t r0 = 0; r0 < rows; r0 += L->batch, step++) {
        size_t n = rows - r0 < L->batch ? rows - r0 : L->batch;
        nn_view x = {L->xd, 0}, t = {L->td, 0};
        if (gather) {
            TRY(ops->gather_rows(be, (nn_view){L->xb, 0}, x, (nn_view){L->idx, r0}, n, f, err));
            TRY(ops->gather_rows(be, (nn_view){L->tb, 0}, t, (nn_view){L->idx, r0}, n, o, err));
            x = (nn_view){L->xb, 0};
            t = (nn_view){L->tb, 0};
        }
        TRY(train_step(L, x, t, n, with_loss, err));
        if (L->cfg->on_progress &&
            L->cfg->on_progress(L->cfg->user, (done_steps + (double)step + 1.0) / total_steps))
            return nn_error_set(err, NN_E_STOPPED, "training stopped at epoch %d", epoch);
    }
    return NN_OK;
}

static nn_status upload_stage(loop *L, const stage *s, nn_error *err) {
    nn_backend *be = L->m->be;
    if (s->st != NN_OK) {
        if (err) *err = s->err;
        return s->st;
    }
    TRY(be->ops->write(be, (nn_view){L->xd, 0}, s->x, s->rows * L->src->features, err));
    return be->ops->write(be, (nn_view){L->td, 0}, s->t, s->rows * model_outputs(L->m), err);
}

static void stage_set_range(loop *L, stage *s, uint64_t chunk) {
    s->first = chunk * L->chunk_rows;
    uint64_t left = L->src->n - s->first;
    s->rows = left < L->chunk_rows ? (size_t)left : L->chunk_rows;
    s->st = NN_OK;
}

/* Read the epoch's mean loss; NN_E_NUMERIC when it is not finite. */
static nn_status epoch_loss(loop *L, int epoch, int last_logged, double *loss, nn_error *err) {
    nn_model *m = L->m;
    float acc[2]; /* compensated pair */
    TRY(m->be->ops->read(m->be, (nn_view){m->loss_acc, 0}, acc, 2, err));
    *loss = ((double)acc[0] + (double)acc[1]) / (double)L->src->n;
    if (isfinite(*loss)) return NN_OK;
    const char *what = isnan(*loss) ? "NaN" : "Inf";
    if (last_logged < 0 || last_logged + 1 == epoch)
        return nn_error_set(err, NN_E_NUMERIC,
                            "training diverged: the loss is %s at epoch %d (try a smaller "
                            "learning rate)", what, epoch);
    return nn_error_set(err, NN_E_NUMERIC,
                        "training diverged: the loss became %s between epoch %d and epoch %d "
                        "(try a smaller learning rate)", what, last_logged + 1, epoch);
}

/* The epochs. A resident dataset (one chunk) is already uploaded. Streamed
 * chunks form one sequence over all epochs; a worker thread produces item
 * j + 1 (the next epoch's first chunk after an epoch's last) while item j trains. */
static nn_status run_epochs(loop *L, stage st[2], nn_train_result *res, nn_error *err) {
    nn_model *m = L->m;
    nn_backend *be = m->be;
    const nn_train_config *cfg = L->cfg;
    const uint64_t n = L->src->n, per_chunk = L->chunk_rows / L->batch;
    const uint64_t last_rows = n - (L->n_chunks - 1) * L->chunk_rows;
    const double steps_per_epoch =
        (double)(L->n_chunks - 1) * (double)per_chunk + (double)((last_rows + L->batch - 1) / L->batch);
    const double total_steps = steps_per_epoch * cfg->epochs;
    const uint64_t items = (uint64_t)cfg->epochs * L->n_chunks;
    int last_logged = -1, cur = 0;
    for (uint64_t j = 0; j < items; j++) {
        const int epoch = (int)(j / L->n_chunks);
        const uint64_t c = j % L->n_chunks;
        const int with_loss =
            (cfg->log_every > 0 && epoch % cfg->log_every == 0) || epoch == cfg->epochs - 1;
        if (c == 0 && with_loss) TRY(be->ops->fill(be, (nn_view){m->loss_acc, 0}, 0.0f, 2, err));
        const double done = (double)epoch * steps_per_epoch + (double)c * (double)per_chunk;
        if (L->n_chunks == 1) {
            TRY(train_chunk(L, (size_t)n, epoch, 0, with_loss, done, total_steps, err));
        } else {
            TRY(upload_stage(L, &st[cur], err));
            pthread_t worker;
            int running = 0;
            if (j + 1 < items) {
                stage_set_range(L, &st[1 - cur], (j + 1) % L->n_chunks);
                running = pthread_create(&worker, NULL, stage_produce, &st[1 - cur]) == 0;
                if (!running) stage_produce(&st[1 - cur]);
            }
            nn_status s = train_chunk(L, st[cur].rows, epoch, c, with_loss, done, total_steps, err);
            if (running) pthread_join(worker, NULL);
            if (s != NN_OK) return s;
            cur = 1 - cur;
        }
        if (c + 1 < L->n_chunks) continue;
        /* end of an epoch */
        res->samples_seen += n;
        res->epochs_run = epoch + 1;
        if (with_loss) {
            double loss;
            TRY(epoch_loss(L, epoch, last_logged, &loss, err));
            res->final_loss = loss;
            last_logged = epoch;
            if (cfg->on_log && cfg->on_log(cfg->user, epoch, loss))
                return nn_error_set(err, NN_E_STOPPED, "training stopped at epoch %d", epoch);
        }
    }
    return be->ops->sync(be, err);
}

nn_status nn_train(nn_model *m, const nn_source *src, const nn_train_config *cfg,
                   nn_train_result *res, nn_error *err) {
    nn_train_result local;
    if (!res) res = &local;
    memset(res, 0, sizeof *res);
    if (!m || !src || !cfg) return nn_error_set(err, NN_E_INVALID, "nn_train: NULL argument");
    TRY(nn_train_config_validate(cfg, err));
    TRY(nn_train_check_data(&m->cfg, src->n, src->features, src->classes, err));
    loop L;
    memset(&L, 0, sizeof L);
    L.m = m;
    L.src = src;
    L.cfg = cfg;
    L.step = (nn_opt_step){.kind = cfg->optimizer, .lr = (float)cfg->lr,
                           .momentum = (float)cfg->momentum, .beta1 = (float)cfg->beta1,
                           .beta2 = (float)cfg->beta2, .eps = (float)cfg->eps, .t = 0};
    TRY(plan(&L, err));

    stage st[2];
    memset(st, 0, sizeof st);
    nn_status s = setup_buffers(&L, err);
    for (int i = 0; i < (L.n_chunks > 1 ? 2 : 1) && s == NN_OK; i++)
        s = stage_alloc(&st[i], src, m->cfg.loss, model_outputs(m), L.chunk_rows, err);
    /* The first chunk is produced before the clock starts; a resident dataset
     * is also uploaded now and its host copy released. */
    if (s == NN_OK) {
        stage_set_range(&L, &st[0], 0);
        stage_produce(&st[0]);
        if (L.n_chunks == 1) {
            s = upload_stage(&L, &st[0], err);
            stage_free(&st[0]);
            memset(&st[0], 0, sizeof st[0]);
        } else if (st[0].st != NN_OK) {
            s = st[0].st;
            if (err) *err = st[0].err;
        }
    }
    double t0 = nn_now();
    if (s == NN_OK) s = run_epochs(&L, st, res, err);
    res->seconds = nn_now() - t0;
    if (res->seconds > 0) {
        res->samples_per_second = (double)res->samples_seen / res->seconds;
        res->gflops = nn_model_flops_per_sample(m, 1) * res->samples_per_second / 1e9;
    }
    stage_free(&st[0]);
    stage_free(&st[1]);
    release_buffers(&L);
    return s;
}
