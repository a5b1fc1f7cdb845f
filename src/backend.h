/* backend.h — the backend interface (internal). Each backend provides one
 * `static const struct nn_backend_ops` table; the training loop and the model
 * call only these ops, on buffers the backend owns.
 *
 * Buffers hold 4-byte elements (float32, or uint32 for index buffers).
 * A view is (buffer, element offset); ops never see host pointers into
 * device memory. Every op returns NN_OK or fills err.
 *
 * Matrix storage is contiguous row-major; (r, c) below means r rows of c
 * elements. All ops must be correct for any size, including 0 and 1.
 * An output view either equals an input view exactly (where an op allows
 * it) or does not overlap any input: backends run elements in parallel.
 */
#ifndef NN_BACKEND_H
#define NN_BACKEND_H

#include "nn.h"
#include "nn_tools.h"

typedef struct nn_buf nn_buf; /* backend-defined */

typedef struct nn_view {
    nn_buf *buf;
    size_t off; /* in elements */
} nn_view;

/* One optimizer step's hyper-parameters. */
typedef struct nn_opt_step {
    nn_optimizer kind;
    float lr;
    float momentum;             /* NN_OPT_MOMENTUM: v = momentum*v + g; p -= lr*v */
    float beta1, beta2, eps;    /* NN_OPT_ADAM */
    int t;                      /* Adam step count, starting at 1 */
    float c1, c2;               /* Adam bias corrections for step t (see update) */
} nn_opt_step;

/* loss_grad's factor of (y - t) into *s, as every backend computes it: scale
 * for BCE and CE, 2 * scale / cols for MSE (0 without columns). 0 for an
 * unknown loss. */
static inline int nn_loss_grad_factor(nn_loss loss, size_t cols, float scale, float *s) {
    if (loss == NN_LOSS_BCE || loss == NN_LOSS_CE) *s = scale;
    else if (loss == NN_LOSS_MSE) *s = cols ? 2.0f * scale / (float)cols : 0.0f;
    else return 0;
    return 1;
}

/* A network small enough for small_step: inputs -> hidden (act) -> one
 * output (the loss's output activation), its parameters at these offsets of
 * the model's slab: W1 (in, hidden), b1 (hidden), W2 (hidden, 1), b2 (1). */
typedef struct nn_small_net {
    size_t in, hidden;
    nn_act act;
    nn_loss loss;
    size_t w1, b1, w2, b2;
} nn_small_net;

/* Chunk `chunk` of a run_chunks job, run on `solo`: a one-thread backend of
 * the same kind that reads and writes the job's backend's buffers; `thread`
 * (0 .. be->threads - 1; on the CPU backend below min(n, be->threads)) is the
 * thread running it (0: the caller), for data kept near a core. */
typedef nn_status (*nn_chunk_fn)(void *ctx, nn_backend *solo, size_t chunk, int thread,
                                 nn_error *err);

/* A start_chunks job's outcome, kept by whoever started it until wait_chunks. */
typedef struct nn_chunks_wait {
    int in_flight; /* 1 until the job has ended (wait_chunks, or the backend's next job) */
    nn_status st;  /* then: the lowest failing chunk's status (NN_OK: none failed) */
    nn_error err;  /*       and its error */
} nn_chunks_wait;

struct nn_backend_ops {
    const char *name;

    /* Create the backend's private state in be->ctx; fill be->device and be->threads. */
    nn_status (*open)(nn_backend *be, const nn_backend_config *cfg, nn_error *err);
    void (*close)(nn_backend *be);

    /* Allocate `count` 4-byte elements (contents undefined). count may be 0. */
    nn_status (*alloc)(nn_backend *be, size_t count, nn_buf **out, nn_error *err);
    void (*release)(nn_backend *be, nn_buf *buf);
    /* Host -> backend copy of `count` elements. */
    nn_status (*write)(nn_backend *be, nn_view dst, const void *src, size_t count, nn_error *err);
    /* Backend -> host copy of `count` elements; complete when it returns. */
    nn_status (*read)(nn_backend *be, nn_view src, void *dst, size_t count, nn_error *err);
    /* dst[0..count) = value */
    nn_status (*fill)(nn_backend *be, nn_view dst, float value, size_t count, nn_error *err);

    /* c: (m, n) = op(a) · op(b), plus the old c when accumulate != 0.
     * op(a): (m, k), stored as a: (m, k) or, if trans_a, a: (k, m).
     * op(b): (k, n), stored as b: (k, n) or, if trans_b, b: (n, k). */
    nn_status (*matmul)(nn_backend *be, nn_view c, nn_view a, nn_view b, size_t m, size_t n,
                        size_t k, int trans_a, int trans_b, int accumulate, nn_error *err);
    /* z: (rows, cols) += bias: (cols) broadcast over rows */
    nn_status (*bias_add)(nn_backend *be, nn_view z, nn_view bias, size_t rows, size_t cols,
                          nn_error *err);
    /* y: (rows, cols) = act(z: (rows, cols)); softmax is per row. y may equal z. */
    nn_status (*act_forward)(nn_backend *be, nn_act act, nn_view y, nn_view z, size_t rows,
                             size_t cols, nn_error *err);
    /* dz = dy * act'(z), using z (pre-activation) and/or y (activation) as
     * convenient; all (rows, cols). Not defined for softmax. dz may equal dy. */
    nn_status (*act_backward)(nn_backend *be, nn_act act, nn_view dz, nn_view dy, nn_view z,
                              nn_view y, size_t rows, size_t cols, nn_error *err);
    /* acc: (2) += sum over rows of the per-row loss, computed stably from the
     * logits z: (rows, cols) and targets t: (rows, cols) (one-hot for CE).
     * acc[0] + acc[1] is a compensated float pair holding the running sum to
     * about 48 bits (so epoch losses over 10^9 rows do not drift): the new
     * sum s (in double, or float TwoSum without fp64) is stored as
     * acc[0] = (float)s, acc[1] = (float)(s - acc[0]).
     * BCE per element: max(z,0) - z*t + log1p(exp(-|z|)), capped at -log(NN_BCE_EPS).
     * CE per row: logsumexp(z) - sum(t*z), capped likewise.
     * MSE per row: sum((z-t)^2) / cols. The row order of the sum is fixed.
     * A non-finite logit makes the row's loss NaN (never capped), so that
     * divergence is seen. */
    nn_status (*loss_sum)(nn_backend *be, nn_loss loss, nn_view acc, nn_view z, nn_view t,
                          size_t rows, size_t cols, nn_error *err);
    /* dz: (rows, cols) = scale * (y - t) for BCE and CE (y = output activation),
     * scale * 2 (y - t) / cols for MSE. */
    nn_status (*loss_grad)(nn_backend *be, nn_loss loss, nn_view dz, nn_view y, nn_view t,
                           size_t rows, size_t cols, float scale, nn_error *err);
    /* out: (cols) = sum over rows of x: (rows, cols), in a fixed order: for each
     * column, row r is added to partial sum s[r mod 16] (each partial starts at
     * 0 and takes its rows in ascending order), then the partials are folded
     * in halves, s[q] += s[q + h] for h = 8, 4, 2, 1 (q < h), and out = s[0].
     * Every backend sums in exactly this order (bit-identical results). */
    nn_status (*col_sum)(nn_backend *be, nn_view out, nn_view x, size_t rows, size_t cols,
                         nn_error *err);
    /* dst: (rows, cols)[r] = src[idx[r]]; idx: (rows) uint32 row indices, each
     * below the number of rows of src (others are invalid input). */
    nn_status (*gather_rows)(nn_backend *be, nn_view dst, nn_view src, nn_view idx, size_t rows,
                             size_t cols, nn_error *err);
    /* Optional (may be NULL): a hint that gather_rows will soon read rows
     * idx[0..rows) of src: (?, cols), e.g. the next step's; changes nothing,
     * never fails. */
    void (*prefetch_rows)(nn_backend *be, nn_view src, nn_view idx, size_t rows, size_t cols);
    /* One optimizer step on n parameters p with gradients g and state m, v
     * (m: momentum velocity or Adam first moment; v: Adam second moment), in float:
     *   sgd:      p -= lr * g
     *   momentum: m = momentum * m + g;  p -= lr * m
     *   adam:     m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g * g;
     *             p -= lr * (m * c1) / (sqrt(v * c2) + eps)
     *             with c1 = 1 / (1 - beta1^t), c2 = 1 / (1 - beta2^t) computed in
     *             double on the host and rounded to float (nn_opt_step.c1, .c2). */
    nn_status (*update)(nn_backend *be, const nn_opt_step *step, nn_view p, nn_view g, nn_view m,
                        nn_view v, size_t n, nn_error *err);

    /* Fused ops: all optional (NULL: model.c composes the ops above). Each
     * computes what its composition computes on the same backend (the CPU:
     * the same bits), in fewer passes over memory or fewer kernel launches.
     * Views as in the composed ops; db.buf or acc.buf NULL means "not wanted". */

    /* z: (rows, out) = x: (rows, in) · w: (in, out) + b: (out) broadcast over
     * rows; a: (rows, out) = act(z) (a may equal z). = matmul, bias_add,
     * act_forward. z.buf NULL: z is not kept (only a); a backend that has
     * both dense_forward and dense_backward_dx gets this for hidden layers,
     * and dense_backward_dx then gets z.buf NULL too (act' from y alone). */
    nn_status (*dense_forward)(nn_backend *be, nn_act act, nn_view z, nn_view a, nn_view x,
                               nn_view w, nn_view b, size_t rows, size_t in, size_t out,
                               nn_error *err);
    /* z: (rows, cols) += b: (cols); a = act(z). = bias_add, act_forward. */
    nn_status (*bias_act)(nn_backend *be, nn_act act, nn_view z, nn_view a, nn_view b,
                          size_t rows, size_t cols, nn_error *err);
    /* dx: (rows, in) = (dz: (rows, out) · w^T) * act'(z, y), with w: (in, out)
     * and z, y: (rows, in) the pre-activations and activations of act (not
     * softmax). = matmul (trans_b) then act_backward in place. */
    nn_status (*dense_backward_dx)(nn_backend *be, nn_act act, nn_view dx, nn_view dz, nn_view w,
                                   nn_view z, nn_view y, size_t rows, size_t in, size_t out,
                                   nn_error *err);
    /* dw: (in, out) = x^T · dz, with x: (rows, in), dz: (rows, out); and, if
     * db.buf, db: (out) = col_sum(dz). = matmul (trans_a), col_sum. */
    nn_status (*dense_backward_dw)(nn_backend *be, nn_view dw, nn_view db, nn_view x, nn_view dz,
                                   size_t rows, size_t in, size_t out, nn_error *err);
    /* dense_backward_dw with db = dw + in*out (the layer's W then b, contiguous
     * as in the model's parameter slab), then one optimizer step on the layer:
     * update(step, p, dw, m, v, in*out + out), with p, m, v viewing the
     * layer's W (b follows; m, v may be NULL views when the optimizer has no
     * such state). Used only when nothing else reads the gradients before the
     * update (no data-parallel hook). */
    nn_status (*dense_backward_dw_update)(nn_backend *be, nn_view dw, nn_view x, nn_view dz,
                                          size_t rows, size_t in, size_t out,
                                          const nn_opt_step *step, nn_view p, nn_view m,
                                          nn_view v, nn_error *err);
    /* dz = act_backward(dy, z, y) and db: (cols) = col_sum(dz); all else
     * (rows, cols); dz may equal dy. = act_backward, col_sum. */
    nn_status (*act_backward_sum)(nn_backend *be, nn_act act, nn_view dz, nn_view db, nn_view dy,
                                  nn_view z, nn_view y, size_t rows, size_t cols, nn_error *err);
    /* if acc.buf: loss_sum(acc, z, t); then dz = loss_grad(y, t, scale); then,
     * if db.buf, db: (cols) = col_sum(dz). z (logits), y (outputs), t, dz:
     * (rows, cols). = loss_sum, loss_grad, col_sum. */
    nn_status (*loss_grad_sum)(nn_backend *be, nn_loss loss, nn_view acc, nn_view dz, nn_view db,
                               nn_view z, nn_view y, nn_view t, size_t rows, size_t cols,
                               float scale, nn_error *err);

    /* Optional (may be NULL): fn on chunks [0, n), each on a one-thread
     * backend (several chunks at once, one per thread), returning when all
     * are done. What a chunk computes must not depend on which thread runs it
     * (chunks write disjoint outputs). Any chunk's failure is returned, the
     * lowest failing chunk's, after every chunk ran. */
    nn_status (*run_chunks)(nn_backend *be, size_t n, nn_chunk_fn fn, void *ctx, nn_error *err);
    /* Optional (may be NULL; then so is wait_chunks): run_chunks that returns
     * once the calling thread has no chunk left, other threads maybe still
     * running theirs: the job is in flight until wait_chunks(be, w) (ctx and
     * *w stay valid, and the chunks' outputs unread, until then; the
     * backend's other ops may run meanwhile: they wait for its threads
     * first). Fails only before the job starts. */
    nn_status (*start_chunks)(nn_backend *be, size_t n, nn_chunk_fn fn, void *ctx,
                              nn_chunks_wait *w, nn_error *err);
    /* End the job started with w if still in flight; returns its status
     * (*err: its error when it failed). */
    nn_status (*wait_chunks)(nn_backend *be, nn_chunks_wait *w, nn_error *err);

    /* Optional (may be NULL, then so is small_step): 1 if the step should
     * run this network through small_step (a backend says so only where the
     * one pass is faster than its dense ops). */
    int (*small_step_fits)(const nn_backend *be, const nn_small_net *net);
    /* One pass over x: (rows, in) against t: (rows, 1) for a one-hidden-
     * layer ReLU network of at most 4 inputs and 16 hidden units with a BCE
     * or MSE output: z: (rows) = the output logits and g: (n_params, the
     * slab's layout) = the gradient of grad_scale times the rows' summed loss
     * (loss_grad's gradient), with params as they are. Sums over rows run in
     * an order fixed by the rows alone (row r into partial sum r mod 16 in row
     * order, the partials folded in halves), the same bits on every path (but
     * for the sign of a NaN). */
    nn_status (*small_step)(nn_backend *be, const nn_small_net *net, nn_view x, nn_view t,
                            nn_view params, nn_view g, nn_view z, size_t rows, float grad_scale,
                            nn_error *err);

    /* Wait for all queued work. */
    nn_status (*sync)(nn_backend *be, nn_error *err);
    /* Optional (may be NULL): fill p with profiling totals; waits for queued
     * work so that every event is counted. */
    void (*profile)(const nn_backend *be, nn_profile *p);
    /* Optional (may be NULL): the host address of a view when every buffer of
     * the backend lives in host memory (the CPU), so data-parallel sums run in
     * place; backends with device memory leave it NULL. */
    float *(*host_ptr)(nn_backend *be, nn_view v);
    /* Optional (may be NULL): the most threads that worked on one op since the
     * last reset (1 when every op ran on one thread); reset != 0 starts a new
     * count. NULL: the backend does not run host threads. */
    int (*threads_used)(nn_backend *be, int reset);
};

struct nn_backend {
    const struct nn_backend_ops *ops;
    void *ctx;          /* the backend's private state */
    char name[16];      /* "cpu" / "opencl" */
    char device[256];   /* human-readable device description */
    int threads;
    char notes[1024];   /* warnings from open, one per line ("" when none): nn_backend_notes */
};

extern const struct nn_backend_ops nn_cpu_ops;
#ifdef NN_HAVE_OPENCL
extern const struct nn_backend_ops nn_opencl_ops;
/* 1 if an OpenCL GPU or accelerator is present (for "auto"); never fails. */
int nn_opencl_has_gpu(void);
#endif

#endif /* NN_BACKEND_H */
