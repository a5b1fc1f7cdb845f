/* model_impl.h — the model's internals shared by model.c and train.c. */
#ifndef NN_MODEL_IMPL_H
#define NN_MODEL_IMPL_H

#include <stdint.h>

#include "backend.h"

/* model_rows.c: threads 1 .. ROW_COPIES_MAX - 1 may keep a copy of the
 * parameters (and optimizer state) next to their core: steps with copies have
 * at most ROW_COPIES_MAX chunks, and a job of n chunks runs on n threads at
 * most (cpu_team.h), so the threads past them never read one. */
#define ROW_COPIES_MAX 4

/* Return the status of `call` from the enclosing function if it failed. */
#define TRY(call)                                                                                  \
    do {                                                                                           \
        nn_status st_ = (call);                                                                    \
        if (st_ != NN_OK) return st_;                                                              \
    } while (0)

struct nn_model {
    nn_backend *be;
    nn_model_config cfg;
    size_t n_layers;                /* cfg.n_sizes - 1 */
    nn_act act[NN_MAX_LAYERS];      /* activation of each layer (output from the loss) */
    size_t w_off[NN_MAX_LAYERS];    /* offset of W_l: (in_l, out_l) in the parameter slab */
    size_t b_off[NN_MAX_LAYERS];    /* offset of b_l: (out_l) */
    size_t n_params;
    size_t max_width;
    nn_buf *params; /* (n_params) all weights and biases */
    nn_buf *grads;  /* (n_params) same layout */
    nn_buf *opt_m;  /* (n_params) momentum / Adam first moment; NULL until needed */
    nn_buf *opt_v;  /* (n_params) Adam second moment; NULL until needed */

    /* Workspace for up to cap_rows rows per pass. */
    size_t cap_rows;
    nn_buf *acts;               /* Z_l and A_l of every layer, (cap_rows, out_l) each */
    size_t z_off[NN_MAX_LAYERS]; /* Z_l: (cap_rows, out_l) pre-activations */
    size_t a_off[NN_MAX_LAYERS]; /* A_l: (cap_rows, out_l) activations */
    nn_buf *delta;              /* two (cap_rows, max_width) gradient ping-pong areas */
    nn_buf *loss_acc;           /* (2) running loss sum, a compensated float pair */
    int keep_z;                 /* keep every Z_l (nn_model_keep_preactivations) */
    unsigned char z_kept[NN_MAX_LAYERS]; /* 1: the last forward pass wrote Z_l */
    int layers_stale;  /* 1: the last step ran as small_step, which keeps only the logits */
    nn_buf *row_parts; /* model_rows.c: two halves of (16, n_params up to whole cache
                          lines), each row chunk's gradient part (a step writes one half,
                          the deferred step's parts stay in the other), then (16, 16) each
                          chunk's loss pair (2 used); NULL until a step runs in chunks */
    /* The parameters' generation: model_params_written bumps it at every write of
     * params, opt_m or opt_v (model_rows.c at every step, whose update may be
     * deferred), so that model_rows.c's per-thread copies (which hold the
     * generation they were made from) are never read once stale. */
    uint64_t params_gen;
    nn_buf *row_copies; /* model_rows.c: one copy per thread 1 .. min(threads, ROW_COPIES_MAX)
                           - 1 of params, opt_m, opt_v and its gradient sum; NULL until used */
    uint64_t copy_gen[ROW_COPIES_MAX];    /* generation each copy holds (0: none), once it
                                             has applied the deferred update if it owes it */
    /* (copy_ran and copy_due side by side: during a step thread t writes entry t
     * of both, one cache line) */
    unsigned char copy_ran[ROW_COPIES_MAX]; /* thread t ran a chunk of the current step */
    unsigned char copy_due[ROW_COPIES_MAX]; /* copy t (0: the model's own) owes the deferred update */
    /* model_rows.c's deferred update: with copies, the last step's parts (in
     * half pend_half of row_parts) are summed and applied to each copy by its
     * own thread at the start of the next step (one job a step, not two), or
     * by model_settle before anything else reads or writes the parameters. */
    size_t pend_chunks;  /* chunks of the deferred step; 0: nothing deferred */
    int pend_half;       /* 0 or 1: the half of row_parts that holds its parts */
    nn_opt_step pend_opt; /* its optimizer step */
    /* model_rows.c's step whose job may still run on other threads (until
     * model_rows_finish); NULL until a step runs that way */
    struct rows_flight *rows_flight;
};

/* End model_rows.c's step in flight, if any: wait for the threads still on
 * its chunks, then finish it (its loss into the step's pair, its update
 * deferred). A failure of its chunks is returned here, and by every later
 * call: the model lost that step's update and stays failed. Everything that reads
 * or writes the model's parameters, gradients or workspace, or the rows and
 * indices a step trains on, comes after this: model_settle, model_reserve,
 * nn_model_get_layer, nn_model_free and the trainer's writes of its rows call
 * it. */
nn_status model_rows_finish(nn_model *m, nn_error *err);
/* model_rows_finish (a failure ignored), then free its memory (nn_model_free). */
void model_rows_free(nn_model *m);

/* Finish model_rows.c's step in flight (model_rows_finish), then apply its
 * deferred update, if any, to the model's own parameters,
 * gradient and optimizer state (and to the copies that owe it); every read or
 * write of m->params, m->grads, m->opt_m or m->opt_v outside model_rows.c
 * comes after this (model_forward calls it, so the backward pass that follows
 * a forward pass need not). */
nn_status model_settle(nn_model *m, nn_error *err);

/* Every write of m->params, m->opt_m or m->opt_v outside model_rows.c calls
 * this (after model_settle). */
static inline void model_params_written(nn_model *m) { m->params_gen++; }

/* Width of layer boundary i (0 = inputs). */
static inline size_t model_width(const nn_model *m, size_t i) { return m->cfg.sizes[i]; }
static inline size_t model_outputs(const nn_model *m) { return m->cfg.sizes[m->n_layers]; }
static inline size_t model_inputs(const nn_model *m) { return m->cfg.sizes[0]; }

/* Make sure the workspace holds at least `rows` rows (allocates; not for inner loops). */
nn_status model_reserve(nn_model *m, size_t rows, nn_error *err);
/* Allocate optimizer state for `opt` if not yet there, and zero it. */
nn_status model_reserve_optimizer(nn_model *m, nn_optimizer opt, nn_error *err);
/* 1 if forward passes keep layer l's pre-activations Z_l (the last layer's
 * always; hidden ones only where the backend's fused ops need them, i.e. not
 * where its fused dense ops do without them (backend.h, dense_forward), or
 * the model was asked to keep them: nn_model_keep_preactivations). (Inline:
 * model_rows.c reads it, and model.c calls model_rows.c.) */
static inline int model_keeps_z(const nn_model *m, size_t l) {
    const struct nn_backend_ops *ops = m->be->ops;
    return m->keep_z || l + 1 == m->n_layers || !ops->dense_forward || !ops->dense_backward_dx;
}
/* Forward pass of x: (rows, inputs) into the workspace; rows <= cap_rows. */
nn_status model_forward(nn_model *m, nn_view x, size_t rows, nn_error *err);
/* View of the output activations (rows, outputs) after model_forward. */
nn_view model_output(const nn_model *m);
/* View of the output logits (rows, outputs) after model_forward. */
nn_view model_logits(const nn_model *m);
/* Called by model_backward as soon as layer `layer`'s gradients (W and b,
 * contiguous in m->grads) are final, last layer first. */
typedef nn_status (*model_grad_hook)(void *user, size_t layer, nn_error *err);
/* Backward pass after model_forward(x): gradients of grad_scale times the
 * summed loss of the rows against targets t: (rows, outputs) into m->grads
 * (grad_scale = 1/rows gives the mean; data-parallel ranks pass 1/global rows).
 * hook may be NULL. */
nn_status model_backward(nn_model *m, nn_view x, nn_view t, size_t rows, float grad_scale,
                         model_grad_hook hook, void *user, nn_error *err);
/* model_backward that also adds the rows' summed loss to the compensated pair
 * loss_acc (2) (as ops->loss_sum on the output logits) when loss_acc.buf, in
 * the same pass as the loss gradient where the backend fuses them; and, given
 * `update` (a step for m->params with m->opt_m, m->opt_v) and no hook, applies
 * that optimizer step during the pass where the backend fuses it
 * (dense_backward_dw_update): then *updated = 1 (updated may be NULL), else 0
 * and the caller updates. */
nn_status model_backward_loss(nn_model *m, nn_view x, nn_view t, size_t rows, float grad_scale,
                              nn_view loss_acc, model_grad_hook hook, void *user,
                              const nn_opt_step *update, int *updated, nn_error *err);

/* One whole training step (forward, loss, backward, update) of x: (rows,
 * inputs) against t split into row chunks, one job of the backend's threads
 * (model_rows.c), where the backend runs chunks and the network is small
 * enough: then *done = 1 and the model is as after model_forward and
 * model_backward_loss(..., no hook, update) with the update applied once
 * model_settle has run (the update may be deferred to the next step), except
 * that the gradient sums over rows run chunk by chunk (float rounding; the
 * same for any thread count). Else *done = 0 and nothing changed but, maybe,
 * a deferred update applied. */
/* Rows not yet in place: row r of x and t is to be gathered from row idx[r]
 * (uint32) of x_src, t_src (as gather_rows). */
typedef struct model_gather {
    nn_view idx, x_src, t_src;
    nn_view next;     /* the next step's idx, when next_rows > 0: each chunk prefetches */
    size_t next_rows; /* its rows of the next step while it computes */
} model_gather;
/* ... with gather not NULL, each chunk first gathers its rows of x and t
 * (they need not be in place before; they are after model_rows_finish).
 * With *done the step may still be in flight: its job running on other
 * threads until model_rows_finish (whatever touches the model calls it),
 * which returns a failure of its chunks. x, t, the gather's buffers and
 * loss_acc stay untouched by the caller until then. */
nn_status model_train_rows(nn_model *m, nn_view x, nn_view t, const model_gather *gather,
                           size_t rows, float grad_scale, nn_view loss_acc,
                           const nn_opt_step *update, int *done, nn_error *err);

#endif
