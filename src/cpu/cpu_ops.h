/* cpu_ops.h — the CPU backend's ops (internal); contracts in backend.h. */
#ifndef NN_CPU_OPS_H
#define NN_CPU_OPS_H

#include "backend.h"
#include "cpu/cpu_path.h"
#include "cpu/gemm.h"

/* The CPU backend's private state (be->ctx). */
typedef struct nn_cpu_state {
    nn_gemm_workspace ws; /* GEMM packing memory, reused by every matmul */
    nn_cpu_path path;     /* instruction-set path of every op; never AUTO */
} nn_cpu_state;

/* Run every op of CPU backend be on `path` from now on (AUTO or an unsupported
 * path: the best this CPU runs); returns the path used. For tests that compare
 * the paths: every path gives the same bits. */
nn_cpu_path nn_cpu_backend_use_path(nn_backend *be, nn_cpu_path path);

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

#endif
