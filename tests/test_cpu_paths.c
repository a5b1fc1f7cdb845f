/* test_cpu_paths.c — the CPU backend's elementwise ops and its fused ops (the
 * GEMM with its epilogues, the loss with its gradient, the optimizer step in
 * the weight gradient's job) on each instruction-set path (portable C, AVX2,
 * AVX-512 with its hand-written loops) forced in turn: every path must give
 * the same bits as the portable one, on narrow and wide shapes, on one thread
 * and split over two, with special values (signed zeros, subnormals,
 * saturating and non-finite inputs). Like the GEMM tests, a path this CPU
 * cannot run is reported and not tested. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu_ops.h"
#include "testutil.h"

static const nn_cpu_path PATHS[] = {NN_CPU_PATH_C, NN_CPU_PATH_AVX2, NN_CPU_PATH_AVX512};
#define NPATHS (sizeof PATHS / sizeof PATHS[0])

/* (rows, cols): narrow rows (cols < 16, the AVX-512 narrow loops), odd and
 * wide ones, and sizes above the 2^15-element threshold that splits an op
 * over threads. */
static const size_t SHAPES[][2] = {{1, 1}, {7, 3}, {33, 15}, {64, 16}, {257, 33}, {300, 129},
                                   {2500, 14}};
#define NSHAPES (sizeof SHAPES / sizeof SHAPES[0])
#define MAX_OPS 96

/* The outputs of every op in one run, concatenated, with where each op's part starts. */
typedef struct outputs {
    float *v;
    size_t n, cap;
    size_t n_ops;
    size_t start[MAX_OPS];
    const char *name[MAX_OPS];
} outputs;

/* Append `count` elements of view v (read from be) as op `name`'s output. */
static void keep(outputs *o, nn_backend *be, nn_view v, size_t count, const char *name) {
    cr_assert_lt(o->n_ops, MAX_OPS);
    if (o->n + count > o->cap) {
        o->cap = 2 * (o->n + count);
        o->v = realloc(o->v, o->cap * sizeof(float));
        cr_assert_not_null(o->v);
    }
    float *got = tu_download(be, v, count);
    memcpy(o->v + o->n, got, count * sizeof(float));
    free(got);
    o->start[o->n_ops] = o->n;
    o->name[o->n_ops++] = name;
    o->n += count;
}

/* Inputs in [lo, hi) with special values at the front (when there is room). */
static float *inputs(size_t n, uint64_t seed, float lo, float hi) {
    static const float special[] = {0.0f, -0.0f, 60.0f, -60.0f, 1e-40f, -1e-40f, 88.5f, -104.0f,
                                    INFINITY, -INFINITY, NAN};
    float *x = malloc((n ? n : 1) * sizeof(float));
    tu_fill_uniform(x, n, seed, lo, hi);
    for (size_t i = 0; i < n && i < sizeof special / sizeof special[0]; i++) x[i] = special[i];
    return x;
}

#define OK(call)                                                                                   \
    do {                                                                                           \
        nn_error err_;                                                                             \
        nn_status st_ = (call);                                                                    \
        cr_assert_eq(st_, NN_OK, "%s", err_.msg);                                                  \
    } while (0)

/* Activations forward and backward, softmax, the losses' gradients. */
static void run_activations(nn_backend *be, size_t rows, size_t cols, outputs *o) {
    const struct nn_backend_ops *ops = be->ops;
    const size_t n = rows * cols;
    float *zh = inputs(n, n + 1, -8, 8), *dyh = inputs(n, n + 2, -1, 1);
    float *th = inputs(n, n + 3, 0, 1);
    nn_buf *z = tu_upload(be, zh, n), *dy = tu_upload(be, dyh, n), *t = tu_upload(be, th, n);
    nn_buf *y = tu_upload(be, zh, n), *dz = tu_upload(be, zh, n);
    static const nn_act acts[] = {NN_ACT_IDENTITY, NN_ACT_RELU, NN_ACT_SIGMOID, NN_ACT_TANH};
    static const char *const fwd[] = {"identity", "relu", "sigmoid", "tanh"};
    static const char *const bwd[] = {"identity'", "relu'", "sigmoid'", "tanh'"};
    for (int a = 0; a < 4; a++) {
        OK(ops->act_forward(be, acts[a], (nn_view){y, 0}, (nn_view){z, 0}, rows, cols, &err_));
        keep(o, be, (nn_view){y, 0}, n, fwd[a]);
        OK(ops->act_backward(be, acts[a], (nn_view){dz, 0}, (nn_view){dy, 0}, (nn_view){z, 0},
                             (nn_view){y, 0}, rows, cols, &err_));
        keep(o, be, (nn_view){dz, 0}, n, bwd[a]);
    }
    OK(ops->act_forward(be, NN_ACT_SOFTMAX, (nn_view){y, 0}, (nn_view){z, 0}, rows, cols, &err_));
    keep(o, be, (nn_view){y, 0}, n, "softmax");
    static const nn_loss losses[] = {NN_LOSS_BCE, NN_LOSS_CE, NN_LOSS_MSE};
    static const char *const grad[] = {"bce grad", "ce grad", "mse grad"};
    for (int l = 0; l < 3; l++) {
        OK(ops->loss_grad(be, losses[l], (nn_view){dz, 0}, (nn_view){y, 0}, (nn_view){t, 0}, rows,
                          cols, 1.0f / (float)rows, &err_));
        keep(o, be, (nn_view){dz, 0}, n, grad[l]);
    }
    nn_buf *bufs[] = {z, dy, t, y, dz};
    for (int i = 0; i < 5; i++) ops->release(be, bufs[i]);
    free(zh), free(dyh), free(th);
}

/* fill, bias_add and col_sum. */
static void run_rows(nn_backend *be, size_t rows, size_t cols, outputs *o) {
    const struct nn_backend_ops *ops = be->ops;
    const size_t n = rows * cols;
    float *zh = inputs(n, n + 4, -3, 3), *bh = inputs(cols, cols + 5, -1, 1);
    nn_buf *z = tu_upload(be, zh, n), *b = tu_upload(be, bh, cols), *s = tu_upload(be, bh, cols);
    OK(ops->bias_add(be, (nn_view){z, 0}, (nn_view){b, 0}, rows, cols, &err_));
    keep(o, be, (nn_view){z, 0}, n, "bias_add");
    OK(ops->col_sum(be, (nn_view){s, 0}, (nn_view){z, 0}, rows, cols, &err_));
    keep(o, be, (nn_view){s, 0}, cols, "col_sum");
    OK(ops->fill(be, (nn_view){z, 1}, -0.375f, n - 1, &err_));
    keep(o, be, (nn_view){z, 0}, n, "fill");
    ops->release(be, z), ops->release(be, b), ops->release(be, s);
    free(zh), free(bh);
}

/* Three steps of each optimizer on the parameters and their state. */
static void run_updates(nn_backend *be, size_t n, outputs *o) {
    const struct nn_backend_ops *ops = be->ops;
    static const char *const names[] = {"sgd", "momentum", "adam"};
    for (int k = 0; k < 3; k++) {
        float *ph = inputs(n, n + 6, -1, 1), *zero = calloc(n, sizeof(float));
        nn_buf *p = tu_upload(be, ph, n), *m = tu_upload(be, zero, n), *v = tu_upload(be, zero, n);
        for (int t = 1; t <= 3; t++) {
            float *gh = inputs(n, n * 10 + (size_t)t, -2, 2);
            nn_buf *g = tu_upload(be, gh, n);
            nn_opt_step st = {.kind = (nn_optimizer)k, .lr = 0.05f, .momentum = 0.9f,
                              .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .t = t};
            st.c1 = (float)(1.0 / (1.0 - pow(0.9, t)));
            st.c2 = (float)(1.0 / (1.0 - pow(0.999, t)));
            OK(ops->update(be, &st, (nn_view){p, 0}, (nn_view){g, 0}, (nn_view){m, 0},
                           (nn_view){v, 0}, n, &err_));
            ops->release(be, g);
            free(gh);
        }
        keep(o, be, (nn_view){p, 0}, n, names[k]);
        keep(o, be, (nn_view){m, 0}, n, "first moment");
        keep(o, be, (nn_view){v, 0}, n, "second moment");
        ops->release(be, p), ops->release(be, m), ops->release(be, v);
        free(ph), free(zero);
    }
}

/* A buffer of n inputs in [lo, hi) (special values first) on be. */
static nn_buf *upload_inputs(nn_backend *be, size_t n, uint64_t seed, float lo, float hi) {
    float *h = inputs(n, seed, lo, hi);
    nn_buf *b = tu_upload(be, h, n);
    free(h);
    return b;
}

#define V(b) ((nn_view){(b), 0})

/* 1 if the n floats of views a and b on be have the same bits, or are both
 * NaN: in a product of infinities and NaNs the sign and payload of a NaN
 * depend on which operand order the compiler gave each fused multiply-add,
 * not on the arithmetic. */
static int same_bits(nn_backend *be, nn_view a, nn_view b, size_t n) {
    float *x = tu_download(be, a, n), *y = tu_download(be, b, n);
    int same = 1;
    for (size_t i = 0; i < n && same; i++)
        same = memcmp(&x[i], &y[i], sizeof(float)) == 0 || (isnan(x[i]) && isnan(y[i]));
    free(x), free(y);
    return same;
}

/* The dense layer's fused ops against their compositions of plain ops on the
 * backend's path (a product's bits depend on the path: fused multiply-adds or
 * not; the epilogues must add nothing of their own): forward for every
 * activation with and without z, dx with and without z, dW + db, on a (rows,
 * cols) input and `out` outputs. */
static void check_dense(nn_backend *be, size_t rows, size_t cols, size_t out, const char *what) {
    const struct nn_backend_ops *ops = be->ops;
    const size_t n = rows * out, nx = rows * cols, nw = cols * out;
    nn_buf *x = upload_inputs(be, nx, n + 7, -2, 2), *w = upload_inputs(be, nw, n + 8, -1, 1);
    nn_buf *b = upload_inputs(be, out, n + 9, -1, 1), *dz = upload_inputs(be, n, n + 10, -1, 1);
    nn_buf *z0 = upload_inputs(be, n, 1, 0, 1), *a0 = upload_inputs(be, n, 2, 0, 1);
    nn_buf *z1 = upload_inputs(be, n, 1, 0, 1), *a1 = upload_inputs(be, n, 2, 0, 1);
    nn_buf *d0 = upload_inputs(be, nx + nw + out, 3, 0, 1);
    nn_buf *d1 = upload_inputs(be, nx + nw + out, 4, 0, 1), *yb = upload_inputs(be, nx, 5, 0, 1);
    const nn_view none = {NULL, 0};
    static const nn_act acts[] = {NN_ACT_IDENTITY, NN_ACT_RELU, NN_ACT_SIGMOID, NN_ACT_TANH,
                                  NN_ACT_SOFTMAX};
    for (int q = 0; q < 5; q++) {
        OK(ops->matmul(be, V(z0), V(x), V(w), rows, out, cols, 0, 0, 0, &err_));
        OK(ops->bias_add(be, V(z0), V(b), rows, out, &err_));
        OK(ops->act_forward(be, acts[q], V(a0), V(z0), rows, out, &err_));
        OK(ops->dense_forward(be, acts[q], V(z1), V(a1), V(x), V(w), V(b), rows, cols, out, &err_));
        cr_assert(same_bits(be, V(z0), V(z1), n) && same_bits(be, V(a0), V(a1), n),
                  "%s: dense_forward %s", what, nn_act_name(acts[q]));
        if (q == 0 || q == 4) continue;
        OK(ops->dense_forward(be, acts[q], none, V(a1), V(x), V(w), V(b), rows, cols, out, &err_));
        cr_assert(same_bits(be, V(a0), V(a1), n), "%s: dense_forward %s without z", what,
                  nn_act_name(acts[q]));
        /* dx through this activation, with x standing for its pre-activations and a(x) */
        const nn_view y = V(yb), dx0 = V(d0), dx1 = V(d1);
        OK(ops->act_forward(be, acts[q], y, V(x), rows, cols, &err_));
        OK(ops->matmul(be, dx0, V(dz), V(w), rows, cols, out, 0, 1, 0, &err_));
        OK(ops->act_backward(be, acts[q], dx0, dx0, V(x), y, rows, cols, &err_));
        for (int with_z = 0; with_z < 2; with_z++) {
            OK(ops->dense_backward_dx(be, acts[q], dx1, V(dz), V(w), with_z ? V(x) : none, y, rows,
                                      cols, out, &err_));
            cr_assert(same_bits(be, dx0, dx1, nx), "%s: dense_backward_dx %s%s", what,
                      nn_act_name(acts[q]), with_z ? "" : " without z");
        }
    }
    OK(ops->matmul(be, V(d0), V(x), V(dz), cols, out, rows, 1, 0, 0, &err_));
    OK(ops->col_sum(be, (nn_view){d0, nw}, V(dz), rows, out, &err_));
    OK(ops->dense_backward_dw(be, V(d1), (nn_view){d1, nw}, V(x), V(dz), rows, cols, out, &err_));
    cr_assert(same_bits(be, V(d0), V(d1), nw + out), "%s: dense_backward_dw", what);
    nn_buf *bufs[] = {x, w, b, dz, z0, a0, z1, a1, d0, d1, yb};
    for (int i = 0; i < 11; i++) ops->release(be, bufs[i]);
}

/* The optimizer step fused into the weight gradient's job against dW + db
 * then the plain update, three steps of each optimizer on a (cols, out) layer. */
static void check_dense_updates(nn_backend *be, size_t rows, size_t cols, size_t out,
                                const char *what) {
    const struct nn_backend_ops *ops = be->ops;
    const size_t np = cols * out + out;
    nn_buf *x = upload_inputs(be, rows * cols, np + 11, -2, 2);
    float *zero = calloc(np, sizeof(float));
    for (int k = 0; k < 3; k++) {
        nn_buf *p[2], *g[2], *m[2], *v[2];
        for (int f = 0; f < 2; f++) {
            p[f] = upload_inputs(be, np, np + 12, -1, 1), g[f] = upload_inputs(be, np, 5, 0, 1);
            m[f] = tu_upload(be, zero, np), v[f] = tu_upload(be, zero, np);
        }
        for (int t = 1; t <= 3; t++) {
            nn_buf *dz = upload_inputs(be, rows * out, np + 13 + (uint64_t)t, -1, 1);
            nn_opt_step st = {.kind = (nn_optimizer)k, .lr = 0.05f, .momentum = 0.9f,
                              .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .t = t};
            st.c1 = (float)(1.0 / (1.0 - pow(0.9, t)));
            st.c2 = (float)(1.0 / (1.0 - pow(0.999, t)));
            OK(ops->dense_backward_dw(be, V(g[0]), (nn_view){g[0], cols * out}, V(x), V(dz), rows,
                                      cols, out, &err_));
            OK(ops->update(be, &st, V(p[0]), V(g[0]), V(m[0]), V(v[0]), np, &err_));
            OK(ops->dense_backward_dw_update(be, V(g[1]), V(x), V(dz), rows, cols, out, &st,
                                             V(p[1]), V(m[1]), V(v[1]), &err_));
            ops->release(be, dz);
        }
        cr_assert(same_bits(be, V(p[0]), V(p[1]), np) && same_bits(be, V(g[0]), V(g[1]), np) &&
                      same_bits(be, V(m[0]), V(m[1]), np) && same_bits(be, V(v[0]), V(v[1]), np),
                  "%s: dense_backward_dw_update, optimizer %d", what, k);
        for (int f = 0; f < 2; f++)
            ops->release(be, p[f]), ops->release(be, g[f]), ops->release(be, m[f]),
                ops->release(be, v[f]);
    }
    free(zero);
    ops->release(be, x);
}

/* The losses' sums (alone and fused with their gradient and bias gradient)
 * and the activation backward fused with its bias gradient. */
static void run_losses(nn_backend *be, size_t rows, size_t cols, outputs *o) {
    const struct nn_backend_ops *ops = be->ops;
    const size_t n = rows * cols;
    nn_buf *z = upload_inputs(be, n, n + 14, -8, 8), *t = upload_inputs(be, n, n + 15, 0, 1);
    nn_buf *y = upload_inputs(be, n, n + 16, 0, 1), *dz = upload_inputs(be, n, 6, 0, 1);
    nn_buf *acc = upload_inputs(be, 2, 7, 0, 1), *db = upload_inputs(be, cols, 8, 0, 1);
    static const nn_loss losses[] = {NN_LOSS_BCE, NN_LOSS_CE, NN_LOSS_MSE};
    static const char *const sums[] = {"bce sum", "ce sum", "mse sum"};
    for (int l = 0; l < 3; l++) {
        OK(ops->loss_sum(be, losses[l], V(acc), V(z), V(t), rows, cols, &err_));
        keep(o, be, V(acc), 2, sums[l]);
        OK(ops->loss_grad_sum(be, losses[l], V(acc), V(dz), V(db), V(z), V(y), V(t), rows, cols,
                              0.25f, &err_));
        keep(o, be, V(acc), 2, "loss_grad_sum acc");
        keep(o, be, V(dz), n, "loss_grad_sum dz");
        keep(o, be, V(db), cols, "loss_grad_sum db");
    }
    static const nn_act acts[] = {NN_ACT_IDENTITY, NN_ACT_RELU, NN_ACT_SIGMOID, NN_ACT_TANH};
    for (int q = 0; q < 4; q++) {
        OK(ops->act_backward_sum(be, acts[q], V(dz), V(db), V(t), V(z), V(y), rows, cols, &err_));
        keep(o, be, V(dz), n, "act_backward_sum dz");
        keep(o, be, V(db), cols, "act_backward_sum db");
    }
    nn_buf *bufs[] = {z, t, y, dz, acc, db};
    for (int i = 0; i < 6; i++) ops->release(be, bufs[i]);
}

/* Every op on one path with `threads` threads (jobs offered to every thread):
 * the outputs of those whose bits do not depend on the path, and the fused
 * dense ops checked against their compositions on the path. */
static outputs run_path(nn_cpu_path path, int threads, size_t rows, size_t cols) {
    outputs o = {0};
    setenv("NN_CPU_TEAM", "fixed", 1); /* the threaded paths, even on a busy machine */
    nn_backend *be = tu_open("cpu", threads);
    cr_assert_eq(nn_cpu_backend_use_path(be, path), path);
    run_activations(be, rows, cols, &o);
    run_rows(be, rows, cols, &o);
    run_updates(be, rows * cols, &o);
    run_losses(be, rows, cols, &o);
    char what[96];
    snprintf(what, sizeof what, "path %s, %zu x %zu, %d thread%s", nn_cpu_path_name(path), rows,
             cols, threads, threads > 1 ? "s" : "");
    check_dense(be, rows, cols, cols % 13 + 3, what);
    check_dense(be, rows, cols, 1, what); /* one output: dx is an outer product (k = 1) */
    check_dense_updates(be, rows, cols, cols % 7 + 1, what);
    nn_backend_close(be);
    return o;
}

/* The first element where b differs from a in its bits, named by op. */
static void assert_same_bits(const outputs *a, const outputs *b, const char *what) {
    cr_assert_eq(a->n, b->n);
    for (size_t op = 0; op < a->n_ops; op++) {
        size_t end = op + 1 < a->n_ops ? a->start[op + 1] : a->n;
        for (size_t i = a->start[op]; i < end; i++)
            cr_assert(memcmp(&a->v[i], &b->v[i], sizeof(float)) == 0,
                      "%s: %s[%zu]: %.9g (portable) vs %.9g", what, a->name[op],
                      i - a->start[op], (double)a->v[i], (double)b->v[i]);
    }
}

Test(cpu_paths, every_path_gives_the_portable_bits) {
    int tested = 0;
    for (size_t s = 0; s < NSHAPES; s++)
        for (int threads = 1; threads <= 2; threads++) {
            const size_t rows = SHAPES[s][0], cols = SHAPES[s][1];
            outputs ref = run_path(NN_CPU_PATH_C, threads, rows, cols);
            for (size_t q = 1; q < NPATHS; q++) {
                if (!nn_cpu_path_supported(PATHS[q])) continue;
                char what[96];
                snprintf(what, sizeof what, "path %s, %zu x %zu, %d thread%s",
                         nn_cpu_path_name(PATHS[q]), rows, cols, threads, threads > 1 ? "s" : "");
                outputs got = run_path(PATHS[q], threads, rows, cols);
                assert_same_bits(&ref, &got, what);
                free(got.v);
                tested++;
            }
            free(ref.v);
        }
    for (size_t q = 1; q < NPATHS; q++)
        if (!nn_cpu_path_supported(PATHS[q]))
            cr_log_warn("path %s not supported on this CPU: not tested",
                        nn_cpu_path_name(PATHS[q]));
    if (tested == 0) cr_skip_test("only the portable path runs on this CPU");
}

Test(cpu_paths, the_backend_starts_on_the_best_path_and_can_be_forced) {
    nn_backend *be = tu_open("cpu", 1);
    cr_assert_eq(nn_cpu_backend_use_path(be, NN_CPU_PATH_AUTO), nn_cpu_path_best());
    cr_assert_eq(nn_cpu_backend_use_path(be, NN_CPU_PATH_C), NN_CPU_PATH_C);
    for (size_t q = 0; q < NPATHS; q++)
        cr_assert_eq(nn_cpu_backend_use_path(be, PATHS[q]),
                     nn_cpu_path_supported(PATHS[q]) ? PATHS[q] : nn_cpu_path_best());
    nn_backend_close(be);
}
