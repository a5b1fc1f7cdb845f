/* stage.c — host staging of a chunk of training rows for one rank: read
 * from the source, put in the order the steps take them (this rank's slice
 * of each batch of the chunk's shuffle), labels turned into loss targets.
 * Runs on a worker thread while the previous chunk trains, so it reads only
 * the trainer's plan, which does not change while a trainer exists. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/train_internal.h"

size_t trainer_chunk_size(const struct nn_trainer *tr, uint64_t chunk) {
    uint64_t first = chunk * tr->chunk_rows, left = tr->src->n - first;
    return left < tr->chunk_rows ? (size_t)left : tr->chunk_rows;
}

void trainer_chunk_perm(const struct nn_trainer *tr, int epoch, uint64_t chunk, uint32_t *perm,
                        size_t rows) {
    nn_rng r = nn_rng_make(tr->cfg.seed,
                           (UINT64_C(5) << 56) | ((uint64_t)epoch * tr->n_chunks + chunk));
    for (size_t i = 0; i < rows; i++) perm[i] = (uint32_t)i;
    nn_rng_shuffle_u32(&r, perm, rows);
}

void stage_free(stage *s) {
    free(s->x);
    free(s->y);
    free(s->t);
    free(s->scratch_x);
    free(s->scratch_y);
    free(s->perm);
    free(s->rows_of);
    memset(s, 0, sizeof *s);
}

nn_status stage_alloc(stage *s, const struct nn_trainer *tr, nn_error *err) {
    const size_t cap = tr->chunk_rows, f = tr->src->features, o = model_outputs(tr->m);
    memset(s, 0, sizeof *s);
    s->tr = tr;
    s->cap = cap;
    s->x = malloc(cap * f * sizeof(float));
    s->y = malloc(cap * sizeof(float));
    s->t = malloc(cap * o * sizeof(float));
    s->perm = malloc(cap * sizeof(uint32_t));
    s->rows_of = malloc(cap * sizeof(uint64_t));
    int ok = s->x && s->y && s->t && s->perm && s->rows_of;
    /* Streamed rows are read contiguously, then put in step order, unless a rank
     * can read just its own rows. A resident chunk is held in order. */
    if (ok && !tr->resident && !(tr->ranks > 1 && tr->src->fill_rows)) {
        s->scratch_x = malloc(cap * f * sizeof(float));
        s->scratch_y = malloc(cap * sizeof(float));
        ok = s->scratch_x && s->scratch_y;
    }
    if (!ok) {
        stage_free(s);
        return nn_error_set(err, NN_E_NOMEM, "out of memory staging %zu training rows", cap);
    }
    return NN_OK;
}

/* Which rows of the chunk this rank holds, in step order: rows_of[i] is the
 * row within the chunk. Returns the count. */
static size_t select_rows(const stage *s, size_t rows) {
    const struct nn_trainer *tr = s->tr;
    if (tr->resident) { /* every row, in order: the device shuffles a resident chunk */
        for (size_t i = 0; i < rows; i++) s->rows_of[i] = i;
        return rows;
    }
    const int shuffle = tr->batch < rows;
    if (shuffle) trainer_chunk_perm(tr, s->epoch, s->chunk, s->perm, rows);
    size_t held = 0;
    for (size_t r0 = 0; r0 < rows; r0 += tr->batch) {
        size_t n = batch_len(rows, r0, tr->batch);
        size_t lo = slice_lo(n, tr->rank, tr->ranks), hi = slice_lo(n, tr->rank + 1, tr->ranks);
        for (size_t j = lo; j < hi; j++) s->rows_of[held++] = shuffle ? s->perm[r0 + j] : r0 + j;
    }
    return held;
}

/* Read the held rows from the source into s->x, s->y. */
static nn_status read_rows(stage *s, uint64_t first, size_t rows) {
    const struct nn_trainer *tr = s->tr;
    const nn_source *src = tr->src;
    const size_t f = src->features;
    if (!tr->resident && tr->ranks > 1 && src->fill_rows) { /* only this rank's rows */
        for (size_t i = 0; i < s->rows; i++) s->rows_of[i] += first;
        s->global_rows = 1;
        return src->fill_rows(src->ctx, s->rows_of, s->rows, s->x, s->y, &s->err);
    }
    int identity = s->rows == rows;
    for (size_t i = 0; identity && i < rows; i++) identity = s->rows_of[i] == i;
    if (identity) return src->fill(src->ctx, first, rows, s->x, s->y, &s->err);
    nn_status st = src->fill(src->ctx, first, rows, s->scratch_x, s->scratch_y, &s->err);
    if (st != NN_OK) return st;
    for (size_t i = 0; i < s->rows; i++) {
        size_t r = (size_t)s->rows_of[i];
        memcpy(s->x + i * f, s->scratch_x + r * f, f * sizeof(float));
        s->y[i] = s->scratch_y[r];
    }
    return NN_OK;
}

/* Loss targets t: (rows, outputs) from labels y: (rows); rows_of names rows in errors. */
static nn_status make_targets(stage *s, uint64_t first) {
    const struct nn_trainer *tr = s->tr;
    const nn_loss loss = tr->m->cfg.loss;
    const size_t o = model_outputs(tr->m);
    for (size_t r = 0; r < s->rows; r++) {
        float y = s->y[r];
        float *t = s->t + r * o;
        uint64_t row = s->global_rows ? s->rows_of[r] : first + s->rows_of[r];
        if (!isfinite(y))
            return nn_error_set(&s->err, NN_E_INVALID, "row %llu: label is not finite",
                                (unsigned long long)row);
        if (loss == NN_LOSS_CE) {
            if (y < 0 || y != floorf(y) || (size_t)y >= o)
                return nn_error_set(&s->err, NN_E_INVALID,
                                    "row %llu: label %g is not a class in 0..%zu",
                                    (unsigned long long)row, (double)y, o - 1);
            memset(t, 0, o * sizeof(float));
            t[(size_t)y] = 1.0f;
        } else if (loss == NN_LOSS_BCE) {
            if (y != 0.0f && y != 1.0f)
                return nn_error_set(&s->err, NN_E_INVALID,
                                    "row %llu: label %g is not 0 or 1 (binary cross-entropy)",
                                    (unsigned long long)row, (double)y);
            t[0] = y;
        } else {
            for (size_t j = 0; j < o; j++) t[j] = y;
        }
    }
    return NN_OK;
}

void *stage_produce(void *arg) {
    stage *s = arg;
    const struct nn_trainer *tr = s->tr;
    const uint64_t first = s->chunk * tr->chunk_rows;
    const size_t rows = trainer_chunk_size(tr, s->chunk);
    s->global_rows = 0;
    s->rows = select_rows(s, rows);
    s->st = read_rows(s, first, rows);
    if (s->st == NN_OK) s->st = make_targets(s, first);
    return NULL;
}
