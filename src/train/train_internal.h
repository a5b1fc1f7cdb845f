/* train_internal.h — the trainer's state, shared by the files of src/train/. */
#ifndef NN_TRAIN_INTERNAL_H
#define NN_TRAIN_INTERNAL_H

#include <pthread.h>

#include "model_impl.h"
#include "nn_comm.h"

/* Rows of one chunk that this rank trains on, in host memory, produced (on a
 * worker thread for streamed data) in the order the steps take them. */
typedef struct stage {
    const struct nn_trainer *tr;
    int epoch;
    uint64_t chunk;
    size_t rows;      /* rows held: this rank's rows of the chunk */
    float *x;         /* (cap, features) */
    float *y;         /* (cap) labels or targets as read */
    float *t;         /* (cap, outputs) loss targets */
    float *scratch_x; /* (cap, features) contiguous rows before reordering; NULL if unused */
    float *scratch_y; /* (cap) */
    uint32_t *perm;   /* (cap) the chunk's shuffle */
    uint64_t *rows_of; /* (cap) row of each held row: within the chunk, or global if global_rows */
    int global_rows;
    size_t cap;       /* rows of a full chunk */
    nn_status st;
    nn_error err;
} stage;

/* Rows of the batch that starts at row r0 of a chunk of `rows` rows. */
static inline size_t batch_len(size_t rows, size_t r0, size_t batch) {
    return rows - r0 < batch ? rows - r0 : batch;
}

/* Rows of a batch of n rows that rank r of p takes: [lo, hi). */
static inline size_t slice_lo(size_t n, int r, int p) {
    return (size_t)((uint64_t)n * (uint64_t)r / (uint64_t)p); /* n < 2^33, r < 2^30 */
}

struct nn_trainer {
    nn_model *m;
    const nn_source *src;
    nn_train_config cfg;
    nn_comm single;   /* used when cfg.comm is NULL */
    nn_comm *comm;
    int rank, ranks;

    /* plan */
    size_t batch;              /* rows per global step */
    size_t chunk_rows;         /* rows per chunk (whole batches unless the only chunk) */
    uint64_t n_chunks;
    uint64_t steps_per_chunk;  /* of a full chunk */
    uint64_t steps_per_epoch;
    int resident;              /* one chunk: uploaded once, shuffled on the device */
    int shuffle;               /* a batch is smaller than the resident chunk */

    /* device buffers */
    nn_buf *xd;  /* (chunk_rows, features) resident or staged inputs */
    nn_buf *td;  /* (chunk_rows, outputs) their loss targets */
    nn_buf *idx; /* (chunk_rows) uint32 shuffled order of a resident chunk; NULL if unused */
    nn_buf *xb;  /* (batch, features) gathered slice; NULL if unused */
    nn_buf *tb;  /* (batch, outputs) */
    nn_buf *step_acc; /* (2) loss of one step (cfg.step_loss) */
    uint32_t *perm;   /* (chunk_rows) host permutation of a resident chunk */
    int perm_epoch;   /* epoch whose permutation is in idx; -1 none */

    /* staging of streamed chunks: st[cur] is on the device, st[1-cur] being produced */
    stage st[2];
    int cur;
    pthread_t worker;
    int worker_running;
    uint64_t loaded_item;   /* epoch * n_chunks + chunk on the device; UINT64_MAX none */
    uint64_t produced_item; /* item in st[1-cur] (valid once the worker is joined) */

    /* position */
    uint64_t step; /* optimizer steps taken */
    int epoch;
    uint64_t epoch_step;
    uint64_t samples_seen;
    uint64_t rows_trained; /* global rows of the steps this trainer took (for the speed) */
    int epochs_run;
    int last_logged;
    nn_opt_step opt;

    /* data parallelism */
    float *grad_host;                   /* (n_params) host copy when the backend has no host pointer */
    nn_comm_request *req[NN_MAX_LAYERS]; /* per-layer gradient sums in flight */
    int started[NN_MAX_LAYERS];
    double comm_seconds;

    /* results */
    double seconds;
    double final_loss;
    double step_loss;
};

/* ---- stage.c */
nn_status stage_alloc(stage *s, const struct nn_trainer *tr, nn_error *err);
void stage_free(stage *s);
/* Produce the rows of (s->epoch, s->chunk) into s; result in s->st/s->err.
 * Has the signature of a thread start routine. */
void *stage_produce(void *arg);
/* The permutation of a chunk of `rows` rows for (epoch, chunk). */
void trainer_chunk_perm(const struct nn_trainer *tr, int epoch, uint64_t chunk, uint32_t *perm,
                        size_t rows);
/* Rows of chunk `chunk` (the last one may be short). */
size_t trainer_chunk_size(const struct nn_trainer *tr, uint64_t chunk);

/* Where step `epoch_step` of an epoch takes its batch: batch k of chunk
 * `chunk` (of chunk_rows rows), rows [r0, r0 + n) of the chunk's order. */
typedef struct batch_pos {
    uint64_t chunk, k;
    size_t chunk_rows, r0, n;
} batch_pos;
static inline batch_pos trainer_batch_at(const struct nn_trainer *tr, uint64_t epoch_step) {
    batch_pos p;
    p.chunk = tr->resident ? 0 : epoch_step / tr->steps_per_chunk;
    p.k = tr->resident ? epoch_step : epoch_step % tr->steps_per_chunk;
    p.chunk_rows = trainer_chunk_size(tr, p.chunk);
    p.r0 = (size_t)p.k * tr->batch;
    p.n = batch_len(p.chunk_rows, p.r0, tr->batch);
    return p;
}

/* 1 if epoch `epoch` computes its loss (logging epochs and the last one). */
static inline int trainer_logs_loss(const struct nn_trainer *tr, int epoch) {
    return (tr->cfg.log_every > 0 && epoch % tr->cfg.log_every == 0) || epoch == tr->cfg.epochs - 1;
}

/* ---- chunks.c */
/* Make the rows of (epoch, chunk) current on the device (uploads, prefetch). */
nn_status trainer_load_chunk(struct nn_trainer *tr, int epoch, uint64_t chunk, nn_error *err);
/* Wait for the producer of the next chunk, if one is running. */
void trainer_join_worker(struct nn_trainer *tr);

/* ---- grad_sync.c: summing gradients over the ranks during the backward pass */
/* Reset per-step bookkeeping. */
void grad_sync_begin(struct nn_trainer *tr);
/* model_backward's hook: start summing layer `layer`'s gradients. */
nn_status grad_sync_layer(void *tr, size_t layer, nn_error *err);
/* Start the layers not yet started (after a failure), wait for all, write
 * staged sums back; returns the first error (the local status is kept if set). */
nn_status grad_sync_finish(struct nn_trainer *tr, nn_status local, nn_error *err);
/* Sum a compensated loss pair over the ranks into a double. */
nn_status trainer_sum_loss(struct nn_trainer *tr, const float acc[2], double *out, nn_error *err);

#endif
