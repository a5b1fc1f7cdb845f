/* cpu_fused.c — the CPU backend's fused ops (contracts in backend.h): a dense
 * layer's forward pass and the two halves of its backward pass as one GEMM
 * each, whose epilogue applies the elementwise part to each block of the
 * product as soon as it is final (still in L1), on the thread that computed
 * it. The epilogues call the same loops as the separate ops (cpu_ops.c), on
 * the same values, so a fused op gives exactly the bits of its composition. */
#include "cpu/cpu_ops.h"

#include "cpu/cpu_ops_avx512.h"

/* Epilogue of dense_forward: z += b (and ReLU, when a is the product itself)
 * in the kernels' registers, then a = act(z) here where still needed. */
typedef struct forward_epi {
    nn_gemm_epi base;
    nn_cpu_path path; /* the backend's */
    nn_act act;
    float *a; /* (m, n) */
} forward_epi;

static void forward_epi_fn(const nn_gemm_epi *e, float *c, size_t n, size_t i0, size_t i1,
                           size_t j0, size_t j1) {
    const forward_epi *f = (const forward_epi *)e;
    const size_t o = i0 * n + j0;
    nn_cpu_act_block(f->path, f->act, f->a + o, n, c + o, n, i1 - i0, j1 - j0);
}

nn_status nn_cpu_dense_forward(nn_backend *be, nn_act act, nn_view z, nn_view a, nn_view x,
                               nn_view w, nn_view b, size_t rows, size_t in, size_t out,
                               nn_error *err) {
    if (act != NN_ACT_IDENTITY && act != NN_ACT_RELU && act != NN_ACT_SIGMOID &&
        act != NN_ACT_TANH && act != NN_ACT_SOFTMAX)
        return nn_error_set(err, NN_E_INVALID, "dense_forward: unknown activation %d", (int)act);
    nn_cpu_state *ctx = be->ctx;
    const nn_par par = nn_cpu_par(be);
    /* z: (rows, out), a: (rows, out), x: (rows, in), w: (in, out), b: (out); without
     * z the product goes to a and the activation is applied in place */
    const nn_view c = z.buf ? z : a;
    const int in_place = c.buf == a.buf && c.off == a.off;
    forward_epi epi = {{NULL, nn_cpu_ptr(b), in_place && act == NN_ACT_RELU, NULL}, ctx->path,
                       act, nn_cpu_ptr(a)};
    const int act_here = act != NN_ACT_SOFTMAX && !(in_place && (act == NN_ACT_RELU ||
                                                                  act == NN_ACT_IDENTITY));
    if (act_here) epi.base.fn = forward_epi_fn;
    nn_cpu_gemm(ctx->path, &ctx->ws, &par, &epi.base, nn_cpu_ptr(c), nn_cpu_ptr(x), nn_cpu_ptr(w),
                rows, out, in, 0, 0, 0);
    if (act == NN_ACT_SOFTMAX) return nn_cpu_act_forward(be, act, a, c, rows, out, err);
    return NN_OK;
}

nn_status nn_cpu_bias_act(nn_backend *be, nn_act act, nn_view z, nn_view a, nn_view b,
                          size_t rows, size_t cols, nn_error *err) {
    nn_status st = nn_cpu_bias_add(be, z, b, rows, cols, err);
    return st == NN_OK ? nn_cpu_act_forward(be, act, a, z, rows, cols, err) : st;
}

/* Epilogue of dense_backward_dx: dx = dx * act'(z, y) in place. */
typedef struct backward_epi {
    nn_gemm_epi base;
    nn_cpu_path path; /* the backend's */
    nn_act act;
    const float *z, *y; /* (m, n) the layer's pre-activations and activations */
} backward_epi;

static void backward_epi_fn(const nn_gemm_epi *e, float *c, size_t n, size_t i0, size_t i1,
                            size_t j0, size_t j1) {
    const backward_epi *f = (const backward_epi *)e;
    const size_t o = i0 * n + j0;
    nn_cpu_act_backward_block(f->path, f->act, c + o, c + o, f->z + o, f->y + o, n, i1 - i0,
                              j1 - j0);
}

nn_status nn_cpu_dense_backward_dx(nn_backend *be, nn_act act, nn_view dx, nn_view dz, nn_view w,
                                   nn_view z, nn_view y, size_t rows, size_t in, size_t out,
                                   nn_error *err) {
    if (act != NN_ACT_IDENTITY && act != NN_ACT_RELU && act != NN_ACT_SIGMOID && act != NN_ACT_TANH)
        return nn_error_set(err, NN_E_INVALID,
                            "dense_backward_dx: activation %s has no backward op", nn_act_name(act));
    nn_cpu_state *ctx = be->ctx;
    const nn_par par = nn_cpu_par(be);
    /* dx: (rows, in), dz: (rows, out), w: (in, out), z, y: (rows, in) */
    /* without z (not kept by dense_forward), act' from y: the CPU's act_backward
     * never reads z for these activations. ReLU's derivative is a mask on y,
     * applied in the kernels' registers. */
    backward_epi epi = {{backward_epi_fn, NULL, 0, NULL}, ctx->path, act,
                        nn_cpu_ptr(z.buf ? z : y), nn_cpu_ptr(y)};
    if (act == NN_ACT_RELU) epi.base = (nn_gemm_epi){NULL, NULL, 0, nn_cpu_ptr(y)};
    nn_cpu_gemm(ctx->path, &ctx->ws, &par, act == NN_ACT_IDENTITY ? NULL : &epi.base,
                nn_cpu_ptr(dx), nn_cpu_ptr(dz), nn_cpu_ptr(w), rows, in, out, 0, 1, 0);
    return NN_OK;
}

/* Epilogue of dense_backward_dw: the block that starts at row 0 of dW sums
 * its columns of dz into db (so each column exactly once). */
typedef struct dw_epi {
    nn_gemm_epi base;
    nn_cpu_path path;  /* the backend's */
    float *db;         /* (n) */
    const float *dz;   /* (rows, n) */
    size_t rows;
} dw_epi;

static void dw_epi_fn(const nn_gemm_epi *e, float *c, size_t n, size_t i0, size_t i1, size_t j0,
                      size_t j1) {
    (void)c;
    (void)i1;
    const dw_epi *f = (const dw_epi *)e;
    if (i0 == 0) nn_cpu_col_sum_cols(f->path, f->db, f->dz, f->rows, n, j0, j1);
}

nn_status nn_cpu_dense_backward_dw(nn_backend *be, nn_view dw, nn_view db, nn_view x, nn_view dz,
                                   size_t rows, size_t in, size_t out, nn_error *err) {
    nn_cpu_state *ctx = be->ctx;
    const nn_par par = nn_cpu_par(be);
    /* dw: (in, out), db: (out) or none, x: (rows, in), dz: (rows, out) */
    dw_epi epi = {{dw_epi_fn, NULL, 0, NULL}, ctx->path, db.buf ? nn_cpu_ptr(db) : NULL,
                  nn_cpu_ptr(dz), rows};
    nn_cpu_gemm(ctx->path, &ctx->ws, &par, db.buf && in ? &epi.base : NULL, nn_cpu_ptr(dw),
                nn_cpu_ptr(x), nn_cpu_ptr(dz), in, out, rows, 1, 0, 0);
    if (db.buf && !in) return nn_cpu_col_sum(be, db, dz, rows, out, err); /* no dW block */
    return NN_OK;
}

/* Epilogue of dense_backward_dw_update: dw_epi's bias gradient, then the
 * optimizer step on each block of W (and, with the bias gradient, on b). */
typedef struct dw_update_epi {
    dw_epi dw;            /* db = dw + in*out */
    const nn_opt_step *step;
    float *p, *m, *v;     /* (in*out + out) the layer's W then b, and optimizer state or NULL */
    size_t wn;            /* in*out: where b starts */
} dw_update_epi;

static void dw_update_epi_fn(const nn_gemm_epi *e, float *c, size_t n, size_t i0, size_t i1,
                             size_t j0, size_t j1) {
    const dw_update_epi *f = (const dw_update_epi *)e;
    dw_epi_fn(e, c, n, i0, i1, j0, j1);
    float *m = f->m, *v = f->v;
    const size_t o = i0 * n + j0;
    nn_cpu_update_block(f->dw.path, f->step, f->p + o, c + o, m ? m + o : NULL, v ? v + o : NULL,
                        n, i1 - i0, j1 - j0);
    if (i0 == 0) { /* this block summed its columns' bias gradient */
        const size_t o = f->wn + j0;
        nn_cpu_update_elems(f->dw.path, f->step, f->p + o, c + o, m ? m + o : NULL,
                            v ? v + o : NULL, j1 - j0);
    }
}

nn_status nn_cpu_dense_backward_dw_update(nn_backend *be, nn_view dw, nn_view x, nn_view dz,
                                          size_t rows, size_t in, size_t out,
                                          const nn_opt_step *step, nn_view p, nn_view m, nn_view v,
                                          nn_error *err) {
    if (step->kind != NN_OPT_SGD && step->kind != NN_OPT_MOMENTUM && step->kind != NN_OPT_ADAM)
        return nn_error_set(err, NN_E_INVALID, "update: unknown optimizer %d", (int)step->kind);
    if (!in) { /* no W: the plain ops; db starts at dw */
        nn_status st = nn_cpu_col_sum(be, dw, dz, rows, out, err);
        return st == NN_OK ? nn_cpu_update(be, step, p, dw, m, v, out, err) : st;
    }
    nn_cpu_state *ctx = be->ctx;
    const nn_par par = nn_cpu_par(be);
    const size_t wn = in * out;
    float *g = nn_cpu_ptr(dw); /* (in*out + out) dW then db */
    dw_update_epi epi = {{{dw_update_epi_fn, NULL, 0, NULL}, ctx->path, g + wn, nn_cpu_ptr(dz),
                          rows},
                         step, nn_cpu_ptr(p), m.buf ? nn_cpu_ptr(m) : NULL,
                         v.buf ? nn_cpu_ptr(v) : NULL, wn};
    nn_cpu_gemm(ctx->path, &ctx->ws, &par, &epi.dw.base, g, nn_cpu_ptr(x), nn_cpu_ptr(dz), in, out,
                rows, 1, 0, 0);
    return NN_OK;
}

nn_status nn_cpu_act_backward_sum(nn_backend *be, nn_act act, nn_view dz, nn_view db, nn_view dy,
                                  nn_view z, nn_view y, size_t rows, size_t cols, nn_error *err) {
    nn_status st = nn_cpu_act_backward(be, act, dz, dy, z, y, rows, cols, err);
    return st == NN_OK ? nn_cpu_col_sum(be, db, dz, rows, cols, err) : st;
}

nn_status nn_cpu_loss_grad_sum(nn_backend *be, nn_loss loss, nn_view acc, nn_view dz, nn_view db,
                               nn_view z, nn_view y, nn_view t, size_t rows, size_t cols,
                               float scale, nn_error *err) {
    nn_status st = NN_OK;
    if (acc.buf) st = nn_cpu_loss_sum(be, loss, acc, z, t, rows, cols, err);
    if (st == NN_OK) st = nn_cpu_loss_grad(be, loss, dz, y, t, rows, cols, scale, err);
    if (st == NN_OK && db.buf) st = nn_cpu_col_sum(be, db, dz, rows, cols, err);
    return st;
}
