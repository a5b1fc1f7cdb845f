/* opencl_fused.c — launches of the fused ops (contracts in src/backend.h):
 * each replaces a sequence of the plain ops' kernels by one kernel that
 * evaluates the same expressions (fewer launches per training step):
 *   bias_act:          nn_bias_add + activation          -> nn_bias_act (softmax: nn_bias_softmax_rows)
 *   act_backward_sum:  activation backward + nn_col_sum  -> nn_act_backward_col_sum
 *   loss_grad_sum:     nn_loss_grad + nn_col_sum         -> nn_loss_grad_col_sum, and with
 *                      the loss sum: loss rows + first reduction level + gradient in
 *                      nn_loss_grad_rows (then nn_reduce_sum passes if several groups,
 *                      and nn_col_sum for the bias gradient). */
#include <stdint.h>

#include "opencl/opencl_internal.h"

/* The fused kernels' activation code (elementwise.cl), or -1. */
static int act_code(nn_act act) {
    switch (act) {
    case NN_ACT_IDENTITY: return 0;
    case NN_ACT_RELU: return 1;
    case NN_ACT_SIGMOID: return 2;
    case NN_ACT_TANH: return 3;
    default: return -1;
    }
}

nn_status nn_cl_bias_act(nn_backend *be, nn_act act, nn_view z, nn_view a, nn_view b, size_t rows,
                         size_t cols, nn_error *err) {
    nn_cl_ctx *c = nn_cl_of(be);
    const int code = act_code(act);
    if (code < 0 && act != NN_ACT_SOFTMAX)
        return nn_error_set(err, NN_E_INVALID, "bias_act: unknown activation %d", (int)act);
    size_t n = 0;
    nn_status st = nn_cl_elems("bias_act", rows, cols, &n, err);
    if (st == NN_OK) st = nn_cl_check_dims("bias_act", rows, cols, 0, err);
    if (st == NN_OK) st = nn_cl_check_view(z, n, "bias_act", "z", err); /* (rows, cols) */
    if (st == NN_OK) st = nn_cl_check_view(a, n, "bias_act", "a", err); /* (rows, cols) */
    if (st == NN_OK) st = nn_cl_check_view(b, cols, "bias_act", "b", err); /* (cols) */
    if (st != NN_OK || n == 0) return st;
    nn_cl_call k = nn_cl_begin(c, code < 0 ? NN_K_BIAS_SOFTMAX_ROWS : NN_K_BIAS_ACT);
    nn_cl_arg_view(&k, z);
    nn_cl_arg_view(&k, a);
    nn_cl_arg_view(&k, b);
    nn_cl_arg_u32(&k, (cl_uint)rows);
    nn_cl_arg_u32(&k, (cl_uint)cols);
    if (code < 0) return nn_cl_launch_1d(c, &k, rows, err);
    nn_cl_arg_i32(&k, code);
    return nn_cl_launch_2d(c, &k, cols, rows, err);
}

nn_status nn_cl_act_backward_sum(nn_backend *be, nn_act act, nn_view dz, nn_view db, nn_view dy,
                                 nn_view z, nn_view y, size_t rows, size_t cols, nn_error *err) {
    nn_cl_ctx *c = nn_cl_of(be);
    const int code = act_code(act);
    if (code < 0)
        return nn_error_set(err, NN_E_INVALID, "act_backward_sum: activation %s has no backward op",
                            nn_act_name(act));
    /* relu reads z, sigmoid and tanh read y, as the plain backward kernels */
    const nn_view src = act == NN_ACT_RELU ? z : act == NN_ACT_IDENTITY ? dy : y;
    size_t n = 0;
    nn_status st = nn_cl_elems("act_backward_sum", rows, cols, &n, err);
    if (st == NN_OK) st = nn_cl_check_dims("act_backward_sum", rows, cols, 0, err);
    if (st == NN_OK) st = nn_cl_check_view(dz, n, "act_backward_sum", "dz", err); /* (rows, cols) */
    if (st == NN_OK) st = nn_cl_check_view(dy, n, "act_backward_sum", "dy", err); /* (rows, cols) */
    if (st == NN_OK) st = nn_cl_check_view(src, n, "act_backward_sum", "z/y", err);
    if (st == NN_OK) st = nn_cl_check_view(db, cols, "act_backward_sum", "db", err); /* (cols) */
    if (st != NN_OK || cols == 0) return st;
    nn_cl_call k = nn_cl_begin(c, NN_K_ACT_BACKWARD_COL_SUM);
    nn_cl_arg_view(&k, dz);
    nn_cl_arg_view(&k, dy);
    nn_cl_arg_view(&k, src);
    nn_cl_arg_view(&k, db);
    nn_cl_arg_u32(&k, (cl_uint)rows);
    nn_cl_arg_u32(&k, (cl_uint)cols);
    nn_cl_arg_i32(&k, code);
    return nn_cl_launch_1d(c, &k, cols, err);
}

/* dz = s (y - t) and db = col_sum(dz) in one kernel. */
static nn_status grad_col_sum(nn_cl_ctx *c, nn_view dz, nn_view db, nn_view y, nn_view t, float s,
                              size_t rows, size_t cols, nn_error *err) {
    nn_cl_call k = nn_cl_begin(c, NN_K_LOSS_GRAD_COL_SUM);
    nn_cl_arg_view(&k, dz);
    nn_cl_arg_view(&k, y);
    nn_cl_arg_view(&k, t);
    nn_cl_arg_f32(&k, s);
    nn_cl_arg_view(&k, db);
    nn_cl_arg_u32(&k, (cl_uint)rows);
    nn_cl_arg_u32(&k, (cl_uint)cols);
    return nn_cl_launch_1d(c, &k, cols, err);
}

/* The loss rows summed into acc (first level in the kernel, then reduction
 * passes) and dz = s (y - t), in one kernel plus the passes. */
static nn_status grad_rows(nn_cl_ctx *c, int kind, nn_view acc, nn_view dz, nn_view z, nn_view y,
                           nn_view t, float s, size_t rows, size_t cols, nn_error *err) {
    const size_t chunk = (size_t)c->reduce.red_wg * c->reduce.red_items;
    const size_t groups = (rows + chunk - 1) / chunk;
    cl_mem buf; /* (groups) partial sums, then room for the passes */
    nn_status st = nn_cl_scratch(c, NN_SCRATCH_LOSS, c->acc_size * (groups + groups / chunk + 2),
                                 &buf, err);
    if (st != NN_OK) return st;
    nn_cl_call k = nn_cl_begin(c, NN_K_LOSS_GRAD_ROWS);
    nn_cl_arg_mem(&k, buf);
    nn_cl_arg_u64(&k, 0);
    nn_cl_arg_view(&k, z);
    nn_cl_arg_view(&k, y);
    nn_cl_arg_view(&k, t);
    nn_cl_arg_view(&k, dz);
    nn_cl_arg_f32(&k, s);
    nn_cl_arg_u32(&k, (cl_uint)rows);
    nn_cl_arg_u32(&k, (cl_uint)cols);
    nn_cl_arg_i32(&k, kind);
    nn_cl_arg_view(&k, acc);
    nn_cl_arg_i32(&k, groups == 1);
    const size_t work = groups * c->reduce.red_wg, local = c->reduce.red_wg;
    st = nn_cl_launch(c, &k, 1, &work, &local, err);
    if (st != NN_OK || groups == 1) return st;
    return nn_cl_reduce_into(c, buf, groups, acc, err);
}

nn_status nn_cl_loss_grad_sum(nn_backend *be, nn_loss loss, nn_view acc, nn_view dz, nn_view db,
                              nn_view z, nn_view y, nn_view t, size_t rows, size_t cols,
                              float scale, nn_error *err) {
    nn_cl_ctx *c = nn_cl_of(be);
    float s; /* the factor of (y - t), computed as the CPU backend does */
    if (!nn_loss_grad_factor(loss, cols, scale, &s))
        return nn_error_set(err, NN_E_INVALID, "loss_grad_sum: unknown loss %d", (int)loss);
    size_t n = 0;
    nn_status st = nn_cl_elems("loss_grad_sum", rows, cols, &n, err);
    if (st == NN_OK) st = nn_cl_check_dims("loss_grad_sum", rows, cols, 0, err);
    if (st == NN_OK) st = nn_cl_check_view(dz, n, "loss_grad_sum", "dz", err); /* (rows, cols) */
    if (st == NN_OK) st = nn_cl_check_view(y, n, "loss_grad_sum", "y", err);   /* (rows, cols) */
    if (st == NN_OK) st = nn_cl_check_view(t, n, "loss_grad_sum", "t", err);   /* (rows, cols) */
    if (st == NN_OK && acc.buf) st = nn_cl_check_view(acc, 2, "loss_grad_sum", "acc", err);
    if (st == NN_OK && acc.buf) st = nn_cl_check_view(z, n, "loss_grad_sum", "z", err);
    if (st == NN_OK && db.buf) st = nn_cl_check_view(db, cols, "loss_grad_sum", "db", err);
    if (st != NN_OK) return st;
    if (n == 0) /* no rows: the bias gradient is zero, the loss unchanged */
        return db.buf && cols ? nn_cl_col_sum(be, db, dz, rows, cols, err) : NN_OK;
    if (!acc.buf) {
        if (db.buf) return grad_col_sum(c, dz, db, y, t, s, rows, cols, err);
        return nn_cl_loss_grad(be, loss, dz, y, t, rows, cols, scale, err);
    }
    st = grad_rows(c, loss == NN_LOSS_BCE ? 0 : loss == NN_LOSS_CE ? 1 : 2, acc, dz, z, y, t, s,
                   rows, cols, err);
    if (st == NN_OK && db.buf) st = nn_cl_col_sum(be, db, dz, rows, cols, err);
    return st;
}
