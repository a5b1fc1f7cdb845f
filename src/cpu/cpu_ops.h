/* cpu_ops.h — the CPU backend's ops (internal); contracts in backend.h. */
#ifndef NN_CPU_OPS_H
#define NN_CPU_OPS_H

#include "backend.h"
#include "cpu/cpu_par.h"
#include "cpu/cpu_path.h"
#include "cpu/cpu_team.h"
#include "cpu/gemm.h"

/* One-thread copies of a backend for run_chunks (cpu_chunks.c). */
typedef struct nn_cpu_solos nn_cpu_solos;
/* Free the copies; NULL is a no-op. */
void nn_cpu_solos_free(nn_cpu_solos *s);

/* The CPU backend's private state (be->ctx). */
typedef struct nn_cpu_state {
    nn_gemm_workspace ws; /* GEMM packing memory, reused by every matmul */
    nn_cpu_path path;     /* instruction-set path of every op; never AUTO */
    nn_team *team;        /* be->threads threads: the caller and its helpers */
    nn_cpu_solos *solos;  /* run_chunks' one-thread copies, or NULL until used */
} nn_cpu_state;

/* Run every op of CPU backend be on `path` from now on (AUTO or an unsupported
 * path: the best this CPU runs); returns the path used. For tests that compare
 * the paths: every path gives the same bits. */
nn_cpu_path nn_cpu_backend_use_path(nn_backend *be, nn_cpu_path path);

/* The instruction-set path of the backend's ops. */
static inline nn_cpu_path nn_cpu_path_of(const nn_backend *be) {
    return ((const nn_cpu_state *)be->ctx)->path;
}

/* The runner of the backend's parallel work. */
static inline nn_par nn_cpu_par(const nn_backend *be) {
    const nn_cpu_state *st = be->ctx;
    return (nn_par){st->team, 0};
}

/* A CPU buffer (the backend's nn_buf; only the CPU backend's files see it). */
struct nn_buf {
    size_t count;
    float *data; /* (count) 4-byte elements, 64-byte aligned */
};

/* Host address of a view's first element. */
static inline float *nn_cpu_ptr(nn_view v) { return v.buf->data + v.off; }

nn_status nn_cpu_fill(nn_backend *be, nn_view dst, float value, size_t count, nn_error *err);
nn_status nn_cpu_matmul(nn_backend *be, nn_view c, nn_view a, nn_view b, size_t m, size_t n,
                        size_t k, int trans_a, int trans_b, int accumulate, nn_error *err);
nn_status nn_cpu_bias_add(nn_backend *be, nn_view z, nn_view bias, size_t rows, size_t cols,
                          nn_error *err);
nn_status nn_cpu_act_forward(nn_backend *be, nn_act act, nn_view y, nn_view z, size_t rows,
                             size_t cols, nn_error *err);
nn_status nn_cpu_act_backward(nn_backend *be, nn_act act, nn_view dz, nn_view dy, nn_view z,
                              nn_view y, size_t rows, size_t cols, nn_error *err);
nn_status nn_cpu_loss_sum(nn_backend *be, nn_loss loss, nn_view acc, nn_view z, nn_view t,
                          size_t rows, size_t cols, nn_error *err);
nn_status nn_cpu_loss_grad(nn_backend *be, nn_loss loss, nn_view dz, nn_view y, nn_view t,
                           size_t rows, size_t cols, float scale, nn_error *err);
nn_status nn_cpu_col_sum(nn_backend *be, nn_view out, nn_view x, size_t rows, size_t cols,
                         nn_error *err);
nn_status nn_cpu_gather_rows(nn_backend *be, nn_view dst, nn_view src, nn_view idx, size_t rows,
                             size_t cols, nn_error *err);
nn_status nn_cpu_update(nn_backend *be, const nn_opt_step *step, nn_view p, nn_view g, nn_view m,
                        nn_view v, size_t n, nn_error *err);

/* Fused ops (cpu_fused.c; contracts in backend.h). */
nn_status nn_cpu_dense_forward(nn_backend *be, nn_act act, nn_view z, nn_view a, nn_view x,
                               nn_view w, nn_view b, size_t rows, size_t in, size_t out,
                               nn_error *err);
nn_status nn_cpu_bias_act(nn_backend *be, nn_act act, nn_view z, nn_view a, nn_view b,
                          size_t rows, size_t cols, nn_error *err);
nn_status nn_cpu_dense_backward_dx(nn_backend *be, nn_act act, nn_view dx, nn_view dz, nn_view w,
                                   nn_view z, nn_view y, size_t rows, size_t in, size_t out,
                                   nn_error *err);
nn_status nn_cpu_dense_backward_dw(nn_backend *be, nn_view dw, nn_view db, nn_view x, nn_view dz,
                                   size_t rows, size_t in, size_t out, nn_error *err);
nn_status nn_cpu_dense_backward_dw_update(nn_backend *be, nn_view dw, nn_view x, nn_view dz,
                                          size_t rows, size_t in, size_t out,
                                          const nn_opt_step *step, nn_view p, nn_view m, nn_view v,
                                          nn_error *err);
nn_status nn_cpu_act_backward_sum(nn_backend *be, nn_act act, nn_view dz, nn_view db, nn_view dy,
                                  nn_view z, nn_view y, size_t rows, size_t cols, nn_error *err);
int nn_cpu_small_step_fits(const nn_backend *be, const nn_small_net *net);
nn_status nn_cpu_small_step(nn_backend *be, const nn_small_net *net, nn_view x, nn_view t,
                            nn_view params, nn_view g, nn_view z, size_t rows, float grad_scale,
                            nn_error *err);
void nn_cpu_prefetch_rows(nn_backend *be, nn_view src, nn_view idx, size_t rows, size_t cols);
nn_status nn_cpu_run_chunks(nn_backend *be, size_t n, nn_chunk_fn fn, void *ctx, nn_error *err);
nn_status nn_cpu_start_chunks(nn_backend *be, size_t n, nn_chunk_fn fn, void *ctx,
                              nn_chunks_wait *w, nn_error *err);
nn_status nn_cpu_wait_chunks(nn_backend *be, nn_chunks_wait *w, nn_error *err);
nn_status nn_cpu_loss_grad_sum(nn_backend *be, nn_loss loss, nn_view acc, nn_view dz, nn_view db,
                               nn_view z, nn_view y, nn_view t, size_t rows, size_t cols,
                               float scale, nn_error *err);

/* Loops shared by the ops and their fused forms: each computes exactly the
 * bits its op computes on the same elements (on the calling thread), on
 * instruction-set `path` (never AUTO; every path gives the same bits). Blocks
 * are `rows` rows of `cols` elements at row stride ld (ldy, ldz). */
/* out[c] for columns [c0, c1) of x (rows, cols) in col_sum's order. */
void nn_cpu_col_sum_cols(nn_cpu_path path, float *out, const float *x, size_t rows, size_t cols,
                         size_t c0, size_t c1);
/* loss_sum's order: the rows are cut into this many blocks of ceil(rows /
 * NN_CPU_LOSS_BLOCKS) rows; each block sums its rows' losses in order (in
 * double, from 0), then the blocks' sums are added in order. */
#define NN_CPU_LOSS_BLOCKS 64
/* out: (n) = BCE element losses of logits z: (n) against targets t: (n), as
 * loss_sum computes them (capped, NaN for a non-finite z), on path (AUTO or
 * unsupported: the best; for tests: the paths give the same bits). */
void nn_cpu_bce_elems(nn_cpu_path path, double *out, const float *z, const float *t, size_t n);
/* One optimizer step on p, g, m, v [0, n) (m, v NULL when unused), as update. */
void nn_cpu_update_elems(nn_cpu_path path, const nn_opt_step *st, float *p, const float *g,
                         float *m, float *v, size_t n);
/* nn_cpu_update_elems on `rows` rows of `cols` elements at row stride ld. */
void nn_cpu_update_block(nn_cpu_path path, const nn_opt_step *st, float *p, const float *g,
                         float *m, float *v, size_t ld, size_t rows, size_t cols);
/* y = act(z), as act_forward (not softmax); y may equal z. */
void nn_cpu_act_block(nn_cpu_path path, nn_act act, float *y, size_t ldy, const float *z,
                      size_t ldz, size_t rows, size_t cols);
/* dz = dy * act'(z, y), as act_backward (not softmax); all at stride ld; dz may equal dy. */
void nn_cpu_act_backward_block(nn_cpu_path path, nn_act act, float *dz, const float *dy,
                               const float *z, const float *y, size_t ld, size_t rows,
                               size_t cols);

#endif
