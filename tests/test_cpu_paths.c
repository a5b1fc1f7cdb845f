/* test_cpu_paths.c — the CPU backend's elementwise ops on each instruction-set
 * path (portable C, AVX2, AVX-512 with its hand-written loops) forced in turn:
 * every path must give the same bits as the portable one, on narrow and wide
 * shapes, on one thread and split over two, with special values (signed
 * zeros, subnormals, saturating and non-finite inputs). Like the GEMM tests,
 * a path this CPU cannot run is reported and not tested. */
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
#define MAX_OPS 32

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

/* Every op on one path with `threads` threads. */
static outputs run_path(nn_cpu_path path, int threads, size_t rows, size_t cols) {
    outputs o = {0};
    nn_backend *be = tu_open("cpu", threads);
    cr_assert_eq(nn_cpu_backend_use_path(be, path), path);
    run_activations(be, rows, cols, &o);
    run_rows(be, rows, cols, &o);
    run_updates(be, rows * cols, &o);
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
