/* model_rows.c — one training step of a small network split into row chunks.
 *
 * The per-op step (model_forward, model_backward_loss) splits every product
 * over the backend's threads: a dozen parallel jobs per step, each a few
 * microseconds for a network like 16-64-64-1 on 256 rows, where moving rows
 * between the cores' caches and waiting at each job's end cost more than the
 * second thread saves. Here the batch is cut into chunks of rows instead (a
 * rule of the batch size alone) and one job (run_chunks) runs each chunk's
 * whole step on one thread: gather its rows (a shuffled resident batch),
 * forward, loss gradient, backward, its own part of every weight and bias
 * gradient, and a prefetch of its rows of the next step. The parts are then
 * summed in chunk order and the optimizer step applied (on one thread or
 * without copies: a second job, block by block of parameters). A chunk's
 * result never depends on the thread that ran it, so the step is
 * bit-identical for any thread count; it differs from the per-op step only in
 * the order of the gradient sums over rows (chunk by chunk), within float
 * rounding.
 *
 * With two threads or more and a few chunks, each thread keeps its own copy
 * of the parameters and optimizer state (model_impl.h): its chunks read the
 * weights from it, and each copy gets the sum of the parts and the update
 * from its own thread (copy 0, the model's own, from the caller). Without
 * copies, the half of the weights the other core had just updated crossed
 * between the cores in every forward pass (~1 us of a 45 us step for
 * 16-64-64-1). The sum and update are deferred: a step writes its parts into
 * one half of row_parts and returns, and each thread applies them to its copy
 * as it takes its first chunk of the next step (whose parts go to the other
 * half), so that a step is one job, not two (on 2 vCPUs the second job's
 * hand-over cost 3-6% of a 16-64-64-1 step). Whatever else reads or writes
 * the parameters calls model_settle first, which applies the deferred update
 * on the caller's thread to the model's own and to the copies that owe it; a
 * copy whose thread ran no chunk of a step goes stale. A copy is used only
 * while it holds the parameters' current generation (model_params_written);
 * a stale copy is refreshed from the model's own parameters (settled first)
 * before its thread reads it. Every copy's update is the same arithmetic on
 * the same values, so results do not change.
 *
 * Such a step also does not wait for its job's end: the job is started
 * (start_chunks) and the step returns once the caller has run its chunks,
 * the other threads maybe still on theirs, so that the caller's own work up
 * to the next step (the trainer's bookkeeping, locating the next batch)
 * overlaps theirs instead of coming after it. model_rows_finish ends it
 * (waits, then adds the losses and records the deferral): at the next step,
 * and in everything that touches the model's buffers or the rows a step
 * reads (model_impl.h lists them).
 *
 * Taken for small networks (the per-chunk gradient parts stay in cache) with
 * enough work per row to amortize a chunk, and for the networks of the
 * backend's small_step (one hidden layer kept in registers: each chunk is one
 * pass over its rows), on a backend with run_chunks, when nothing asks for
 * the per-op intermediates (nn_model_keep_preactivations). */
#include <stdlib.h>
#include <string.h>

#include "model_impl.h"

/* Chunks: at least ROW_CHUNK_MIN rows each (a multiple of 16), at most
 * ROW_CHUNKS_MAX of them. */
#define ROW_CHUNK_MIN 128
#define ROW_CHUNKS_MAX 16
/* For small_step (backend.h): at least SMALL_CHUNK_MIN rows a chunk (one pass
 * costs a fixed fold of its lane sums). */
#define SMALL_CHUNK_MIN 1024
/* The networks taken: at most ROW_MAX_PARAMS parameters (ROW_CHUNKS_MAX
 * gradient parts of 4 MiB in all a step; row_parts holds two steps'), at
 * least ROW_MIN_MACS multiply-adds per row in the forward pass (below, a step
 * is too short for a second thread). */
#define ROW_MAX_PARAMS ((size_t)1 << 16)
#define ROW_MIN_MACS 1024
/* Floats of one cache line: each chunk's gradient part and loss pair start on
 * a line of their own, so that two threads never write one line. */
#define LINE_FLOATS 16

/* Floats from one chunk's gradient part to the next: n_params, whole lines. */
static size_t part_stride(const nn_model *m) {
    return (m->n_params + LINE_FLOATS - 1) / LINE_FLOATS * LINE_FLOATS;
}

/* A copy's arrays, each part_stride floats: parameters, first and second
 * optimizer moments, gradient sum. */
enum { COPY_P, COPY_M, COPY_V, COPY_G, COPY_ARRAYS };

/* Offset of array `a` of thread t's copy (1 <= t < ROW_COPIES_MAX) in m->row_copies. */
static size_t copy_off(const nn_model *m, int t, int a) {
    return ((size_t)(t - 1) * COPY_ARRAYS + (size_t)a) * part_stride(m);
}

/* Threads with a copy slot (the model's own counts as thread 0's) for a step
 * of `chunks` chunks: up to ROW_COPIES_MAX, or 1 when copies do not pay (more
 * chunks than that: each copy's update reads every chunk's part) or there is
 * no memory for them; then every thread reads the model's own. With copies no
 * thread past the slots runs a chunk (a job of n <= ROW_COPIES_MAX chunks runs
 * on its first n threads at most). */
static int copies_for(nn_model *m, size_t chunks) {
    const int threads = m->be->threads < ROW_COPIES_MAX ? m->be->threads : ROW_COPIES_MAX;
    if (threads < 2 || chunks < 2 || chunks > ROW_COPIES_MAX) return 1;
    nn_error ignored; /* without the memory, the step reads the model's own parameters */
    if (!m->row_copies &&
        m->be->ops->alloc(m->be, copy_off(m, threads, COPY_P), &m->row_copies, &ignored) != NN_OK)
        return 1;
    return threads;
}

/* Rows per chunk for a batch of `rows` (small: for small_step); the chunk
 * count into *chunks. */
static size_t chunk_rows(size_t rows, int small, size_t *chunks) {
    size_t per = (rows + ROW_CHUNKS_MAX - 1) / ROW_CHUNKS_MAX;
    per = (per + 15) / 16 * 16;
    const size_t least = small ? SMALL_CHUNK_MIN : ROW_CHUNK_MIN;
    if (per < least) per = least;
    *chunks = (rows + per - 1) / per;
    return per;
}

/* The model as small_step sees it, if the backend takes it there (one
 * hidden layer, small; backend.h); else 0. */
static int small_net(const nn_model *m, nn_small_net *net) {
    const struct nn_backend_ops *ops = m->be->ops;
    if (!ops->small_step_fits || !ops->small_step || m->n_layers != 2 || model_outputs(m) != 1)
        return 0;
    *net = (nn_small_net){model_inputs(m), model_width(m, 1), m->act[0], m->cfg.loss,
                          m->w_off[0], m->b_off[0], m->w_off[1], m->b_off[1]};
    return ops->small_step_fits(m->be, net);
}

/* 1 if the model's steps may run as row chunks on its backend: a network
 * small_step takes, or one with enough work per row. */
static int takes(const nn_model *m, nn_small_net *small, int *is_small) {
    const struct nn_backend_ops *ops = m->be->ops;
    *is_small = 0;
    if (!ops->run_chunks || !ops->host_ptr || !ops->dense_forward || !ops->dense_backward_dw ||
        !ops->dense_backward_dx || !ops->loss_grad_sum || m->keep_z)
        return 0;
    if (small_net(m, small)) return *is_small = 1;
    size_t macs = 0;
    for (size_t l = 0; l < m->n_layers; l++) macs += model_width(m, l) * model_width(m, l + 1);
    return m->n_params <= ROW_MAX_PARAMS && macs >= ROW_MIN_MACS;
}

/* One step's job: the batch and where each chunk puts its parts. */
typedef struct rows_job {
    nn_model *m;
    nn_view x, t;     /* (rows, inputs), (rows, outputs) */
    const model_gather *gather; /* where x, t come from, or NULL: in place */
    const nn_small_net *small;  /* the network for small_step, or NULL: the dense ops */
    size_t rows, per; /* batch rows, rows per chunk */
    float grad_scale;
    int want_loss;
    size_t parts_off; /* offset of this step's half of m->row_parts: chunk c's part at
                         parts_off + c part_stride */
    size_t loss_off;  /* offset of the loss pairs in m->row_parts: chunk c's at c LINE_FLOATS */
    int copies;       /* threads with a copy slot (1: none) */
} rows_job;

/* Offset of half h of m->row_parts (the loss pairs follow the two halves). */
static size_t half_off(const nn_model *m, int h) {
    return (size_t)h * ROW_CHUNKS_MAX * part_stride(m);
}

static nn_status apply_deferred(nn_model *m, nn_backend *be, int r, size_t first, nn_error *err);

/* The parameters thread `thread` reads in this step: its copy (refreshed from
 * the model's own first if stale), or the model's own. */
static nn_view params_of(const rows_job *j, nn_backend *be, int thread) {
    nn_model *m = j->m;
    if (thread < 1 || thread >= j->copies) return (nn_view){m->params, 0};
    if (m->copy_gen[thread] != m->params_gen) {
        const struct nn_backend_ops *ops = be->ops;
        nn_buf *own[] = {m->params, m->opt_m, m->opt_v};
        for (int a = COPY_P; a <= COPY_V; a++)
            if (own[a])
                memcpy(ops->host_ptr(be, (nn_view){m->row_copies, copy_off(m, thread, a)}),
                       ops->host_ptr(be, (nn_view){own[a], 0}), m->n_params * sizeof(float));
        m->copy_gen[thread] = m->params_gen;
    }
    if (!m->copy_ran[thread]) m->copy_ran[thread] = 1; /* a line the other threads read */
    return (nn_view){m->row_copies, copy_off(m, thread, COPY_P)};
}

/* Part `part` of `parts` of chunk c's rows of the next step: a prefetch
 * hint, spread over the chunk's ops so that the misses of the next gather
 * overlap this step's arithmetic (the rows of a large shuffled set are cache
 * misses; the same thread takes chunk c again). */
static void prefetch_next(const rows_job *j, nn_backend *be, size_t c, size_t part,
                          size_t parts) {
    const model_gather *g = j->gather;
    const size_t r0 = c * j->per;
    if (!g || !be->ops->prefetch_rows || r0 >= g->next_rows) return;
    const size_t n = g->next_rows - r0 < j->per ? g->next_rows - r0 : j->per;
    const size_t q = (n + parts - 1) / parts, p0 = part * q;
    if (p0 >= n) return;
    const nn_view idx = {g->next.buf, g->next.off + r0 + p0};
    be->ops->prefetch_rows(be, g->x_src, idx, n - p0 < q ? n - p0 : q, model_inputs(j->m));
    be->ops->prefetch_rows(be, g->t_src, idx, n - p0 < q ? n - p0 : q, model_outputs(j->m));
}

/* Chunk c of the step on the one-thread backend be: forward, loss gradient
 * (and loss pair), backward with its weight and bias gradient parts. */
static nn_status chunk_step(void *ctx, nn_backend *be, size_t c, int thread, nn_error *err) {
    const rows_job *j = ctx;
    nn_model *m = j->m;
    const struct nn_backend_ops *ops = be->ops;
    const nn_view P = params_of(j, be, thread); /* the slab's layout from P.off */
    if (thread < j->copies && m->copy_due[thread]) /* its own part of the last step first */
        TRY(apply_deferred(m, be, thread, c, err));
    const size_t r0 = c * j->per, n = j->rows - r0 < j->per ? j->rows - r0 : j->per;
    const size_t L = m->n_layers, o = model_outputs(m);
    /* the chunk's part of each delta area: its rows at max_width floats a
     * row, whatever the layer's width, so chunks never overlap */
    const size_t half = m->cap_rows * m->max_width, mine = r0 * m->max_width;
    const nn_view none = {NULL, 0};
    nn_view in = {j->x.buf, j->x.off + r0 * model_inputs(m)};
    const nn_view t = {j->t.buf, j->t.off + r0 * o};
    if (j->gather) { /* this chunk's rows, into the cache of the thread that uses them */
        const nn_view idx = {j->gather->idx.buf, j->gather->idx.off + r0};
        TRY(ops->gather_rows(be, in, j->gather->x_src, idx, n, model_inputs(m), err));
        TRY(ops->gather_rows(be, t, j->gather->t_src, idx, n, o, err));
    }
    nn_view acc = none;
    if (j->want_loss) {
        acc = (nn_view){m->row_parts, j->loss_off + LINE_FLOATS * c};
        TRY(ops->fill(be, acc, 0.0f, 2, err));
    }
    const size_t p0 = j->parts_off + c * part_stride(m); /* this chunk's gradient part, the
                                                            slab's layout */
    if (j->small) { /* the whole chunk in one pass; then its loss from the logits */
        const nn_view z = {m->acts, m->z_off[L - 1] + r0};
        TRY(ops->small_step(be, j->small, in, t, P,
                            (nn_view){m->row_parts, p0}, z, n, j->grad_scale, err));
        prefetch_next(j, be, c, 0, 1);
        return acc.buf ? ops->loss_sum(be, m->cfg.loss, acc, z, t, n, 1, err) : NN_OK;
    }
    for (size_t l = 0; l < L; l++) {
        const size_t ni = model_width(m, l), no = model_width(m, l + 1);
        nn_view z = m->z_kept[l] ? (nn_view){m->acts, m->z_off[l] + r0 * no} : none;
        nn_view a = {m->acts, m->a_off[l] + r0 * no};
        TRY(ops->dense_forward(be, m->act[l], z, a, in, (nn_view){P.buf, P.off + m->w_off[l]},
                               (nn_view){P.buf, P.off + m->b_off[l]}, n, ni, no, err));
        prefetch_next(j, be, c, l, 2 * L);
        in = a;
    }

    nn_view dz = {m->delta, mine};
    TRY(ops->loss_grad_sum(be, m->cfg.loss, acc, dz, none,
                           (nn_view){m->acts, m->z_off[L - 1] + r0 * o},
                           (nn_view){m->acts, m->a_off[L - 1] + r0 * o},
                           t, n, o, j->grad_scale, err));
    for (size_t l = L; l-- > 0;) {
        const size_t ni = model_width(m, l), no = model_width(m, l + 1);
        nn_view x = l == 0 ? (nn_view){j->x.buf, j->x.off + r0 * ni}
                           : (nn_view){m->acts, m->a_off[l - 1] + r0 * ni};
        TRY(ops->dense_backward_dw(be, (nn_view){m->row_parts, p0 + m->w_off[l]},
                                   (nn_view){m->row_parts, p0 + m->b_off[l]}, x, dz, n, ni, no,
                                   err));
        prefetch_next(j, be, c, 2 * L - 1 - l, 2 * L);
        if (l == 0) break;
        nn_view da = {m->delta, (dz.off < half ? half : 0) + mine};
        nn_view zp = m->z_kept[l - 1] ? (nn_view){m->acts, m->z_off[l - 1] + r0 * ni} : none;
        TRY(ops->dense_backward_dx(be, m->act[l - 1], da, dz, (nn_view){P.buf, P.off + m->w_off[l]},
                                   zp, x, n, ni, no, err));
        dz = da;
    }
    return NN_OK;
}

/* Parameters per block of the parts' sum (a job of blocks: a rule of the
 * model's size, not of the threads). */
#define SUM_BLOCK 1024

/* The parts' sum, then the update: parameters [SUM_BLOCK b, ...) of m->grads
 * = part 0 + part 1 + ... in chunk order (each part's parameter at the same
 * offset), then the optimizer step on those parameters (elementwise, so a
 * block's step is the whole step's on its elements). */
typedef struct sum_job {
    nn_model *m;
    const nn_opt_step *update;
    float *grads;       /* (n_params) */
    const float *parts; /* (chunks, part_stride) */
    size_t chunks;
    size_t first; /* the chunk whose part is read first when it is 1 (of the first two) */
} sum_job;

/* The parts' sum in chunk order into g[i0, i1). The first two parts may be
 * read in either order (float addition commutes: p1 + p0 is p0 + p1 to the
 * bit): a thread reads the part its own chunk wrote first, while its lines
 * are still in its cache. Read second, after the other core has read them,
 * they cost it as much as the other core's part (2 threads, 16-64-64-1: the
 * deferred update 8.3K cycles against 6.7K). */
static void sum_parts(const sum_job *j, float *g, size_t i0, size_t i1) {
    const size_t stride = part_stride(j->m);
    const size_t first = j->chunks > 1 && j->first == 1 ? 1 : 0;
    const float *p0 = j->parts + first * stride;
    for (size_t i = i0; i < i1; i++) g[i] = p0[i];
    if (j->chunks > 1) {
        const float *p1 = j->parts + (1 - first) * stride;
        for (size_t i = i0; i < i1; i++) g[i] += p1[i];
    }
    for (size_t c = 2; c < j->chunks; c++) {
        const float *p = j->parts + c * stride;
        for (size_t i = i0; i < i1; i++) g[i] += p[i];
    }
}

/* The whole sum and update on copy r (r = 0: the model's own parameters and
 * gradient). */
static nn_status sum_update_copy(const sum_job *j, nn_backend *be, int r, nn_error *err) {
    nn_model *m = j->m;
    nn_view p = {m->params, 0}, g = {m->grads, 0}, om = {m->opt_m, 0}, ov = {m->opt_v, 0};
    if (r > 0) {
        p = (nn_view){m->row_copies, copy_off(m, r, COPY_P)};
        g = (nn_view){m->row_copies, copy_off(m, r, COPY_G)};
        if (m->opt_m) om = (nn_view){m->row_copies, copy_off(m, r, COPY_M)};
        if (m->opt_v) ov = (nn_view){m->row_copies, copy_off(m, r, COPY_V)};
    }
    sum_parts(j, be->ops->host_ptr(be, g), 0, m->n_params);
    return be->ops->update(be, j->update, p, g, om, ov, m->n_params, err);
}

/* The deferred step's sum and update on copy r (its thread's, or the caller's
 * for r = 0), which owed it; part `first` read first when it is one of the
 * first two (the chunk the thread ran: sum_parts). */
static nn_status apply_deferred(nn_model *m, nn_backend *be, int r, size_t first, nn_error *err) {
    const sum_job sj = {m, &m->pend_opt, NULL,
                        be->ops->host_ptr(be, (nn_view){m->row_parts, half_off(m, m->pend_half)}),
                        m->pend_chunks, first};
    TRY(sum_update_copy(&sj, be, r, err));
    m->copy_due[r] = 0;
    return NN_OK;
}

/* After the deferred update was applied where it could be: the copies that
 * still owe it will not get it (the next deferred step replaces it), so they
 * go stale, refreshed when next used; the deferral ends unless the model's
 * own still owes it (after a failure: its parts stay until it is applied). */
static void close_deferred(nn_model *m) {
    for (int t = 1; t < ROW_COPIES_MAX; t++)
        if (m->copy_due[t]) m->copy_due[t] = 0, m->copy_gen[t] = 0;
    if (!m->copy_due[0]) m->pend_chunks = 0;
}

/* Applied on the calling thread, to the copies that owe it as well (so that
 * they stay current rather than stale). */
nn_status model_settle(nn_model *m, nn_error *err) {
    TRY(model_rows_finish(m, err));
    if (!m->pend_chunks) return NN_OK;
    nn_status st = NN_OK;
    for (int r = 0; r < ROW_COPIES_MAX && st == NN_OK; r++)
        if (m->copy_due[r]) st = apply_deferred(m, m->be, r, 0, err);
    close_deferred(m);
    return st;
}

static nn_status sum_update_block(void *ctx, nn_backend *be, size_t b, int thread,
                                  nn_error *err) {
    (void)thread;
    const sum_job *j = ctx;
    const nn_model *m = j->m;
    const size_t n = m->n_params, i0 = b * SUM_BLOCK, i1 = i0 + SUM_BLOCK < n ? i0 + SUM_BLOCK : n;
    sum_parts(j, j->grads, i0, i1);
    const nn_view om = {m->opt_m, m->opt_m ? i0 : 0}, ov = {m->opt_v, m->opt_v ? i0 : 0};
    return be->ops->update(be, j->update, (nn_view){m->params, i0}, (nn_view){m->grads, i0}, om,
                           ov, i1 - i0, err);
}

/* loss_acc (a compensated pair) += the chunks' pairs, in chunk order, in double. */
static void add_losses(nn_model *m, nn_view loss_acc, size_t loss_off, size_t chunks) {
    const struct nn_backend_ops *ops = m->be->ops;
    float *acc = ops->host_ptr(m->be, loss_acc);
    const float *pairs = ops->host_ptr(m->be, (nn_view){m->row_parts, loss_off});
    double sum = (double)acc[0] + (double)acc[1];
    for (size_t c = 0; c < chunks; c++)
        sum += (double)pairs[LINE_FLOATS * c] + (double)pairs[LINE_FLOATS * c + 1];
    acc[0] = (float)sum;
    acc[1] = (float)(sum - (double)acc[0]);
}

/* What a step does once its chunks ran: its chunks, the half of row_parts
 * with their parts, its update, where its loss goes, its copies. */
typedef struct rows_tail {
    size_t chunks;
    int half;
    nn_opt_step update;
    nn_view loss_acc;
    int copies;
} rows_tail;

/* After a step's chunks ran (st: their status): the deferred step's update
 * for the caller's copy if it ran no chunk; then, unless a chunk failed, the
 * step's loss and, with copies, its update deferred (without, the caller sums
 * and updates next). */
static nn_status after_chunks(nn_model *m, nn_status st, const rows_tail *s, nn_error *err) {
    if (m->pend_chunks) { /* the deferred step, for the caller's copy if it ran no chunk */
        if (st == NN_OK && m->copy_due[0]) st = apply_deferred(m, m->be, 0, 0, err);
        close_deferred(m);
    }
    if (st != NN_OK) {
        for (int c = 1; c < ROW_COPIES_MAX; c++) m->copy_gen[c] = 0; /* none trusted */
        return st;
    }
    if (s->loss_acc.buf) add_losses(m, s->loss_acc, half_off(m, 2), s->chunks);
    /* the parameters move on; the copies whose threads ran chunks are current
     * once they have applied this step's update (params_of made them current) */
    const uint64_t gen = m->params_gen++;
    if (s->copies > 1) { /* deferred to the next step or model_settle */
        m->pend_chunks = s->chunks;
        m->pend_half = s->half;
        m->pend_opt = s->update;
        m->copy_due[0] = 1;
        for (int c = 1; c < s->copies; c++)
            if (m->copy_ran[c]) m->copy_due[c] = 1, m->copy_gen[c] = gen + 1;
    }
    return NN_OK;
}

/* A step whose job may still run on other threads (with copies: its update
 * is deferred, so nothing but its end waits for it): the job (read by those
 * threads until it ends, so not on the caller's stack) and what
 * model_rows_finish does after it. */
typedef struct rows_flight {
    int on;               /* 1: started, not yet finished */
    rows_job job;
    model_gather gather;  /* job.gather points here when there is one */
    nn_small_net small;   /* job.small points here when there is one */
    nn_chunks_wait wait;
    rows_tail tail;
    nn_status failed;     /* a step's chunks failed (its update lost): every later */
    nn_error failed_err;  /* finish returns this, whoever asks first */
} rows_flight;

nn_status model_rows_finish(nn_model *m, nn_error *err) {
    rows_flight *f = m->rows_flight;
    if (f && f->on) {
        f->on = 0;
        const nn_status st = m->be->ops->wait_chunks(m->be, &f->wait, &f->failed_err);
        f->failed = after_chunks(m, st, &f->tail, &f->failed_err);
    }
    if (!f || f->failed == NN_OK) return NN_OK;
    *err = f->failed_err; /* the model lost a step's update: it stays failed */
    return f->failed;
}

void model_rows_free(nn_model *m) {
    nn_error ignored;
    (void)model_rows_finish(m, &ignored);
    free(m->rows_flight);
    m->rows_flight = NULL;
}

/* Start job j, then return without waiting for the threads other than the
 * caller: the step ends in model_rows_finish (the next step, or whatever
 * reads the model first). While the other threads finish their chunks, the
 * caller gets on with its own work until the next step (2 threads,
 * 16-64-64-1 b256: ~2.5K cycles a step the helper no longer waits for).
 * Returns 0 (nothing started) where the backend cannot or there is no
 * memory for it. */
static int start_in_flight(nn_model *m, const rows_job *j, const rows_tail *tail,
                           nn_status *st, nn_error *err) {
    const struct nn_backend_ops *ops = m->be->ops;
    if (!ops->start_chunks || !ops->wait_chunks) return 0;
    if (!m->rows_flight && !(m->rows_flight = calloc(1, sizeof *m->rows_flight))) return 0;
    /* (calloc: failed == NN_OK; a failed model never gets here: the finish
     * before every step returns its failure) */
    rows_flight *f = m->rows_flight;
    f->job = *j;
    if (j->gather) f->gather = *j->gather, f->job.gather = &f->gather;
    if (j->small) f->small = *j->small, f->job.small = &f->small;
    f->tail = *tail;
    *st = ops->start_chunks(m->be, tail->chunks, chunk_step, &f->job, &f->wait, err);
    f->on = *st == NN_OK;
    return 1;
}

nn_status model_train_rows(nn_model *m, nn_view x, nn_view t, const model_gather *gather,
                           size_t rows, float grad_scale, nn_view loss_acc,
                           const nn_opt_step *update, int *done, nn_error *err) {
    *done = 0;
    TRY(model_rows_finish(m, err)); /* the last step first */
    nn_small_net small;
    int is_small;
    if (rows == 0 || !takes(m, &small, &is_small)) return NN_OK;
    size_t chunks;
    const size_t per = chunk_rows(rows, is_small, &chunks);
    if (chunks < 2 && !is_small) return NN_OK;
    nn_backend *be = m->be;
    const struct nn_backend_ops *ops = be->ops;
    const size_t loss_off = half_off(m, 2);
    nn_error ignored; /* without room for the parts, the per-op step does without them */
    if (!m->row_parts &&
        ops->alloc(be, loss_off + LINE_FLOATS * ROW_CHUNKS_MAX, &m->row_parts, &ignored))
        return NN_OK;
    for (size_t l = 0; l < m->n_layers; l++) m->z_kept[l] = (unsigned char)model_keeps_z(m, l);
    m->layers_stale = is_small; /* small_step keeps only the logits */
    const int half = 1 - m->pend_half; /* this step's parts; the deferred step's stay */
    rows_job j = {m, x, t, gather, is_small ? &small : NULL, rows, per, grad_scale,
                  loss_acc.buf != NULL, half_off(m, half), loss_off, copies_for(m, chunks)};
    if (m->pend_chunks) {
        /* the threads apply the deferred update to their copies as they start;
         * settled first when a thread will read the model's own parameters
         * (no copies) or copy them (a stale copy of a thread that may run) */
        const int part = chunks < (size_t)j.copies ? (int)chunks : j.copies; /* the threads that
                        * may run a chunk: a job of n chunks runs on the first n (cpu_team.h) */
        int settle = j.copies < 2;
        for (int c = 1; c < part && !settle; c++) settle = m->copy_gen[c] != m->params_gen;
        if (settle) TRY(model_settle(m, err));
    }
    memset(m->copy_ran, 0, sizeof m->copy_ran);
    const rows_tail tail = {chunks, half, *update, loss_acc, j.copies};
    nn_status st;
    if (j.copies > 1 && start_in_flight(m, &j, &tail, &st, err)) {
        *done = st == NN_OK;
        return st;
    }
    st = ops->run_chunks(be, chunks, chunk_step, &j, err);
    TRY(after_chunks(m, st, &tail, err));
    if (j.copies > 1) {
        *done = 1;
        return NN_OK;
    }
    sum_job sj = {m, update, ops->host_ptr(be, (nn_view){m->grads, 0}),
                  ops->host_ptr(be, (nn_view){m->row_parts, j.parts_off}), chunks, 0};
    TRY(ops->run_chunks(be, (m->n_params + SUM_BLOCK - 1) / SUM_BLOCK, sum_update_block, &sj,
                        err));
    *done = 1;
    return NN_OK;
}
