/* opencl_ops.c — launches of the elementwise, loss, reduction, gather and
 * optimizer ops (contracts in src/backend.h; kernels in kernels/ *.cl).
 * Each op checks its views, skips empty work, and enqueues without waiting. */
#include <stdint.h>

#include "opencl/opencl_internal.h"

/* NN_E_INVALID if rows * cols overflows; else *n = rows * cols. */
nn_status nn_cl_elems(const char *op, size_t rows, size_t cols, size_t *n, nn_error *err) {
    if (cols && rows > SIZE_MAX / cols)
        return nn_error_set(err, NN_E_INVALID, "%s: %zu x %zu elements overflow", op, rows, cols);
    *n = rows * cols;
    return NN_OK;
}

/* Launch a 1-D kernel of the form k(out, out_off, in, in_off, [in2, in2_off,] n). */
static nn_status unary(nn_cl_ctx *c, nn_cl_kernel_id id, nn_view out, nn_view in,
                       const nn_view *in2, size_t n, nn_error *err) {
    nn_cl_call k = nn_cl_begin(c, id);
    nn_cl_arg_view(&k, out);
    nn_cl_arg_view(&k, in);
    if (in2) {
        nn_cl_arg_view(&k, *in2);
    }
    nn_cl_arg_u64(&k, n);
    return nn_cl_launch_1d(c, &k, n, err);
}

nn_status nn_cl_bias_add(nn_backend *be, nn_view z, nn_view bias, size_t rows, size_t cols,
                         nn_error *err) {
    nn_cl_ctx *c = nn_cl_of(be);
    size_t n = 0;
    nn_status st = nn_cl_elems("bias_add", rows, cols, &n, err);
    if (st == NN_OK) st = nn_cl_check_dims("bias_add", rows, cols, 0, err);
    if (st == NN_OK) st = nn_cl_check_view(z, n, "bias_add", "z", err);
    if (st == NN_OK) st = nn_cl_check_view(bias, cols, "bias_add", "bias", err);
    if (st != NN_OK || n == 0) return st;
    nn_cl_call k = nn_cl_begin(c, NN_K_BIAS_ADD);
    nn_cl_arg_view(&k, z); /* z: (rows, cols) */
    nn_cl_arg_view(&k, bias); /* bias: (cols) */
    nn_cl_arg_u32(&k, (cl_uint)rows);
    nn_cl_arg_u32(&k, (cl_uint)cols);
    return nn_cl_launch_2d(c, &k, cols, rows, err);
}

nn_status nn_cl_act_forward(nn_backend *be, nn_act act, nn_view y, nn_view z, size_t rows,
                            size_t cols, nn_error *err) {
    nn_cl_ctx *c = nn_cl_of(be);
    size_t n = 0;
    nn_status st = nn_cl_elems("act_forward", rows, cols, &n, err);
    if (st == NN_OK) st = nn_cl_check_view(y, n, "act_forward", "y", err); /* (rows, cols) */
    if (st == NN_OK) st = nn_cl_check_view(z, n, "act_forward", "z", err); /* (rows, cols) */
    if (st != NN_OK) return st;
    switch (act) {
    case NN_ACT_IDENTITY:
        if (n == 0 || (y.buf == z.buf && y.off == z.off)) return NN_OK;
        return unary(c, NN_K_COPY, y, z, NULL, n, err);
    case NN_ACT_RELU: return n ? unary(c, NN_K_RELU_FORWARD, y, z, NULL, n, err) : NN_OK;
    case NN_ACT_SIGMOID: return n ? unary(c, NN_K_SIGMOID_FORWARD, y, z, NULL, n, err) : NN_OK;
    case NN_ACT_TANH: return n ? unary(c, NN_K_TANH_FORWARD, y, z, NULL, n, err) : NN_OK;
    case NN_ACT_SOFTMAX: {
        if (n == 0) return NN_OK;
        st = nn_cl_check_dims("act_forward", rows, cols, 0, err);
        if (st != NN_OK) return st;
        nn_cl_call k = nn_cl_begin(c, NN_K_SOFTMAX_ROWS);
        nn_cl_arg_view(&k, y);
        nn_cl_arg_view(&k, z);
        nn_cl_arg_u32(&k, (cl_uint)rows);
        nn_cl_arg_u32(&k, (cl_uint)cols);
        return nn_cl_launch_1d(c, &k, rows, err);
    }
    }
    return nn_error_set(err, NN_E_INVALID, "act_forward: unknown activation %d", (int)act);
}

nn_status nn_cl_act_backward(nn_backend *be, nn_act act, nn_view dz, nn_view dy, nn_view z,
                             nn_view y, size_t rows, size_t cols, nn_error *err) {
    nn_cl_ctx *c = nn_cl_of(be);
    if (act != NN_ACT_IDENTITY && act != NN_ACT_RELU && act != NN_ACT_SIGMOID &&
        act != NN_ACT_TANH)
        return nn_error_set(err, NN_E_INVALID, "act_backward: activation %s has no backward op",
                            nn_act_name(act));
    size_t n = 0;
    nn_status st = nn_cl_elems("act_backward", rows, cols, &n, err);
    /* all (rows, cols); relu reads z, sigmoid and tanh read y */
    if (st == NN_OK) st = nn_cl_check_view(dz, n, "act_backward", "dz", err);
    if (st == NN_OK) st = nn_cl_check_view(dy, n, "act_backward", "dy", err);
    if (st == NN_OK && act == NN_ACT_RELU) st = nn_cl_check_view(z, n, "act_backward", "z", err);
    if (st == NN_OK && (act == NN_ACT_SIGMOID || act == NN_ACT_TANH))
        st = nn_cl_check_view(y, n, "act_backward", "y", err);
    if (st != NN_OK || n == 0) return st;
    switch (act) {
    case NN_ACT_RELU: return unary(c, NN_K_RELU_BACKWARD, dz, dy, &z, n, err);
    case NN_ACT_SIGMOID: return unary(c, NN_K_SIGMOID_BACKWARD, dz, dy, &y, n, err);
    case NN_ACT_TANH: return unary(c, NN_K_TANH_BACKWARD, dz, dy, &y, n, err);
    default:
        if (dz.buf == dy.buf && dz.off == dy.off) return NN_OK;
        return unary(c, NN_K_COPY, dz, dy, NULL, n, err);
    }
}

/* the pair acc[0..2) += sum of in[0..n) (acc_t values in `buf` at element 0): tree passes
 * of nn_reduce_sum ping-ponging between the regions [0, n) and [n, ...) of buf. */
nn_status nn_cl_reduce_into(nn_cl_ctx *c, cl_mem buf, size_t n, nn_view acc, nn_error *err) {
    const size_t chunk = (size_t)c->reduce.red_wg * c->reduce.red_items;
    size_t in_off = 0, out_off = n;
    for (;;) {
        size_t groups = (n + chunk - 1) / chunk;
        nn_cl_call k = nn_cl_begin(c, NN_K_REDUCE_SUM);
        nn_cl_arg_mem(&k, buf);
        nn_cl_arg_u64(&k, in_off);
        nn_cl_arg_u64(&k, n);
        nn_cl_arg_mem(&k, buf);
        nn_cl_arg_u64(&k, out_off);
        nn_cl_arg_view(&k, acc);
        nn_cl_arg_i32(&k, groups == 1);
        const size_t work = groups * c->reduce.red_wg, local = c->reduce.red_wg;
        nn_status st = nn_cl_launch(c, &k, 1, &work, &local, err);
        if (st != NN_OK || groups == 1) return st;
        size_t next_out = in_off; /* the input region is free once read */
        in_off = out_off;
        out_off = next_out;
        n = groups;
    }
}

nn_status nn_cl_loss_sum(nn_backend *be, nn_loss loss, nn_view acc, nn_view z, nn_view t,
                         size_t rows, size_t cols, nn_error *err) {
    nn_cl_ctx *c = nn_cl_of(be);
    nn_cl_kernel_id id;
    switch (loss) {
    case NN_LOSS_BCE: id = NN_K_LOSS_BCE_ROWS; break;
    case NN_LOSS_CE: id = NN_K_LOSS_CE_ROWS; break;
    case NN_LOSS_MSE: id = NN_K_LOSS_MSE_ROWS; break;
    default: return nn_error_set(err, NN_E_INVALID, "loss_sum: unknown loss %d", (int)loss);
    }
    size_t n = 0;
    nn_status st = nn_cl_elems("loss_sum", rows, cols, &n, err);
    if (st == NN_OK) st = nn_cl_check_dims("loss_sum", rows, cols, 0, err);
    if (st == NN_OK) st = nn_cl_check_view(acc, 2, "loss_sum", "acc", err);
    if (st == NN_OK) st = nn_cl_check_view(z, n, "loss_sum", "z", err);
    if (st == NN_OK) st = nn_cl_check_view(t, n, "loss_sum", "t", err);
    if (st != NN_OK || n == 0) return st; /* no rows or no columns: nothing to add */

    /* scratch: row losses (rows) then the first level of partial sums */
    const size_t chunk = (size_t)c->reduce.red_wg * c->reduce.red_items;
    cl_mem buf;
    st = nn_cl_scratch(c, NN_SCRATCH_LOSS, c->acc_size * (rows + (rows + chunk - 1) / chunk),
                       &buf, err);
    if (st != NN_OK) return st;
    nn_cl_call k = nn_cl_begin(c, id);
    nn_cl_arg_mem(&k, buf); /* (rows) per-row losses */
    nn_cl_arg_u64(&k, 0);
    nn_cl_arg_view(&k, z); /* z: (rows, cols) logits */
    nn_cl_arg_view(&k, t); /* t: (rows, cols) targets */
    nn_cl_arg_u32(&k, (cl_uint)rows);
    nn_cl_arg_u32(&k, (cl_uint)cols);
    st = nn_cl_launch_1d(c, &k, rows, err);
    if (st != NN_OK) return st;
    return nn_cl_reduce_into(c, buf, rows, acc, err);
}

nn_status nn_cl_loss_grad(nn_backend *be, nn_loss loss, nn_view dz, nn_view y, nn_view t,
                          size_t rows, size_t cols, float scale, nn_error *err) {
    nn_cl_ctx *c = nn_cl_of(be);
    float s; /* the factor of (y - t), computed as the CPU backend does */
    if (!nn_loss_grad_factor(loss, cols, scale, &s))
        return nn_error_set(err, NN_E_INVALID, "loss_grad: unknown loss %d", (int)loss);
    size_t n = 0;
    nn_status st = nn_cl_elems("loss_grad", rows, cols, &n, err);
    if (st == NN_OK) st = nn_cl_check_view(dz, n, "loss_grad", "dz", err); /* (rows, cols) */
    if (st == NN_OK) st = nn_cl_check_view(y, n, "loss_grad", "y", err);   /* (rows, cols) */
    if (st == NN_OK) st = nn_cl_check_view(t, n, "loss_grad", "t", err);   /* (rows, cols) */
    if (st != NN_OK || n == 0) return st;
    nn_cl_call k = nn_cl_begin(c, NN_K_LOSS_GRAD);
    nn_cl_arg_view(&k, dz);
    nn_cl_arg_view(&k, y);
    nn_cl_arg_view(&k, t);
    nn_cl_arg_f32(&k, s);
    nn_cl_arg_u64(&k, n);
    return nn_cl_launch_1d(c, &k, n, err);
}

nn_status nn_cl_col_sum(nn_backend *be, nn_view out, nn_view x, size_t rows, size_t cols,
                        nn_error *err) {
    nn_cl_ctx *c = nn_cl_of(be);
    size_t n = 0;
    nn_status st = nn_cl_elems("col_sum", rows, cols, &n, err);
    if (st == NN_OK) st = nn_cl_check_dims("col_sum", rows, cols, 0, err);
    if (st == NN_OK) st = nn_cl_check_view(out, cols, "col_sum", "out", err);
    if (st == NN_OK) st = nn_cl_check_view(x, n, "col_sum", "x", err);
    if (st != NN_OK || cols == 0) return st;
    nn_cl_call k = nn_cl_begin(c, NN_K_COL_SUM);
    nn_cl_arg_view(&k, out); /* out: (cols) */
    nn_cl_arg_view(&k, x); /* x: (rows, cols) */
    nn_cl_arg_u32(&k, (cl_uint)rows);
    nn_cl_arg_u32(&k, (cl_uint)cols);
    return nn_cl_launch_1d(c, &k, cols, err);
}

nn_status nn_cl_gather_rows(nn_backend *be, nn_view dst, nn_view src, nn_view idx, size_t rows,
                            size_t cols, nn_error *err) {
    nn_cl_ctx *c = nn_cl_of(be);
    size_t n = 0;
    nn_status st = nn_cl_elems("gather_rows", rows, cols, &n, err);
    if (st == NN_OK) st = nn_cl_check_dims("gather_rows", rows, cols, 0, err);
    if (st == NN_OK) st = nn_cl_check_view(dst, n, "gather_rows", "dst", err);
    if (st == NN_OK) st = nn_cl_check_view(idx, rows, "gather_rows", "idx", err);
    if (st == NN_OK) st = nn_cl_check_view(src, 0, "gather_rows", "src", err);
    if (st != NN_OK || n == 0) return st;
    const size_t src_rows = (src.buf->count - src.off) / cols; /* rows readable from src */
    nn_cl_call k = nn_cl_begin(c, NN_K_GATHER_ROWS);
    nn_cl_arg_view(&k, dst); /* dst: (rows, cols) */
    nn_cl_arg_view(&k, src); /* src: (src_rows, cols) */
    nn_cl_arg_view(&k, idx); /* idx: (rows) uint32 */
    nn_cl_arg_u32(&k, (cl_uint)rows);
    nn_cl_arg_u32(&k, (cl_uint)cols);
    nn_cl_arg_u64(&k, src_rows);
    return nn_cl_launch_2d(c, &k, cols, rows, err);
}

nn_status nn_cl_update(nn_backend *be, const nn_opt_step *step, nn_view p, nn_view g, nn_view m,
                       nn_view v, size_t n, nn_error *err) {
    nn_cl_ctx *c = nn_cl_of(be);
    if (step->kind != NN_OPT_SGD && step->kind != NN_OPT_MOMENTUM && step->kind != NN_OPT_ADAM)
        return nn_error_set(err, NN_E_INVALID, "update: unknown optimizer %d", (int)step->kind);
    /* p, g, m, v: (n) each; m only for momentum and adam, v only for adam */
    nn_status st = nn_cl_check_view(p, n, "update", "p", err);
    if (st == NN_OK) st = nn_cl_check_view(g, n, "update", "g", err);
    if (st == NN_OK && step->kind != NN_OPT_SGD) st = nn_cl_check_view(m, n, "update", "m", err);
    if (st == NN_OK && step->kind == NN_OPT_ADAM) st = nn_cl_check_view(v, n, "update", "v", err);
    if (st != NN_OK || n == 0) return st;
    nn_cl_kernel_id id = step->kind == NN_OPT_SGD        ? NN_K_SGD
                         : step->kind == NN_OPT_MOMENTUM ? NN_K_MOMENTUM
                                                         : NN_K_ADAM;
    nn_cl_call k = nn_cl_begin(c, id);
    nn_cl_arg_view(&k, p);
    nn_cl_arg_view(&k, g);
    if (step->kind != NN_OPT_SGD) {
        nn_cl_arg_view(&k, m);
    }
    if (step->kind == NN_OPT_ADAM) {
        nn_cl_arg_view(&k, v);
    }
    nn_cl_arg_f32(&k, step->lr);
    if (step->kind == NN_OPT_MOMENTUM) nn_cl_arg_f32(&k, step->momentum);
    if (step->kind == NN_OPT_ADAM) {
        nn_cl_arg_f32(&k, step->beta1);
        nn_cl_arg_f32(&k, step->beta2);
        nn_cl_arg_f32(&k, step->eps);
        nn_cl_arg_f32(&k, step->c1);
        nn_cl_arg_f32(&k, step->c2);
    }
    nn_cl_arg_u64(&k, n);
    return nn_cl_launch_1d(c, &k, n, err);
}
