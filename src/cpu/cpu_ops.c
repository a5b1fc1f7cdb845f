/* cpu_ops.c — the CPU backend's ops as plain loops, the numerical reference
 * for every other backend. Large ops are split over threads into contiguous
 * ranges of independent elements; every sum runs in the same order for any
 * thread count. Small ops run on the calling thread (no OpenMP region). */
#include "cpu/cpu_ops.h"

#include <math.h>
#include <omp.h>
#include <string.h>

#include "cpu/gemm.h"

/* Elements below which an op stays on the calling thread. */
#define PAR_MIN_ELEMS ((size_t)1 << 15)
/* Fixed number of row blocks for the deterministic loss reduction. */
#define LOSS_BLOCKS 64

static int nthreads(const nn_backend *be) { return be->threads > 0 ? be->threads : 1; }

/* Elementwise loops get AVX2 and AVX-512 clones chosen at load time. Without
 * -ffast-math and with FP contraction off (ISO C mode) every clone computes
 * the same bits as the portable one. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SIMD_CLONES
#endif

/* Arguments of one op, shared by its range functions. */
typedef struct op_args {
    int kind;          /* activation / loss / optimizer */
    float *out;        /* the op's output */
    const float *a;    /* first input */
    const float *b;    /* second input */
    const float *c;    /* third input */
    float *m, *v;      /* optimizer state */
    const uint32_t *idx;
    size_t cols;
    float s;           /* scalar: value, scale, learning rate */
    const nn_opt_step *step;
    double *part;      /* (LOSS_BLOCKS) loss partial sums */
    size_t rows;
} op_args;

typedef void (*range_fn)(op_args *a, size_t i0, size_t i1);

/* body over [0, n): on the calling thread when n < min_par or one thread,
 * else one contiguous range per thread. */
static void par_for(const nn_backend *be, size_t n, size_t min_par, range_fn body, op_args *a) {
    int nt = nthreads(be);
    if (n < min_par || nt == 1) {
        body(a, 0, n);
        return;
    }
#pragma omp parallel num_threads(nt)
    {
        size_t t = (size_t)omp_get_thread_num(), T = (size_t)omp_get_num_threads();
        body(a, n * t / T, n * (t + 1) / T);
    }
}

/* ------------------------------------------------------------------- fill */

SIMD_CLONES static void fill_range(op_args *a, size_t i0, size_t i1) {
    for (size_t i = i0; i < i1; i++) a->out[i] = a->s;
}

nn_status nn_cpu_fill(nn_backend *be, nn_view dst, float value, size_t count, nn_error *err) {
    (void)err;
    op_args a = {.out = nn_cpu_ptr(dst) /* (count) */, .s = value};
    par_for(be, count, PAR_MIN_ELEMS, fill_range, &a);
    return NN_OK;
}

/* ----------------------------------------------------------------- matmul */

nn_status nn_cpu_matmul(nn_backend *be, nn_view c, nn_view a, nn_view b, size_t m, size_t n,
                        size_t k, int trans_a, int trans_b, int accumulate, nn_error *err) {
    (void)err;
    nn_cpu_gemm(nthreads(be), nn_cpu_ptr(c), nn_cpu_ptr(a), nn_cpu_ptr(b), m, n, k, trans_a,
                trans_b, accumulate);
    return NN_OK;
}

/* --------------------------------------------------------------- bias add */

SIMD_CLONES static void bias_range(op_args *a, size_t r0, size_t r1) {
    const size_t cols = a->cols;
    for (size_t r = r0; r < r1; r++) {
        float *row = a->out + r * cols;
        for (size_t j = 0; j < cols; j++) row[j] += a->a[j];
    }
}

nn_status nn_cpu_bias_add(nn_backend *be, nn_view z, nn_view bias, size_t rows, size_t cols,
                          nn_error *err) {
    (void)err;
    op_args a = {.out = nn_cpu_ptr(z) /* (rows, cols) */, .a = nn_cpu_ptr(bias) /* (cols) */,
                 .cols = cols};
    par_for(be, rows, cols ? PAR_MIN_ELEMS / cols + 1 : SIZE_MAX, bias_range, &a);
    return NN_OK;
}

/* ------------------------------------------------------------ activations */

static float sigmoidf(float z) { return 1.0f / (1.0f + expf(-z)); }

SIMD_CLONES static void act_forward_range(op_args *a, size_t i0, size_t i1) {
    float *y = a->out;
    const float *z = a->a;
    switch (a->kind) {
    case NN_ACT_IDENTITY:
        if (y != z) memmove(y + i0, z + i0, (i1 - i0) * sizeof(float));
        break;
    case NN_ACT_RELU:
        for (size_t i = i0; i < i1; i++) y[i] = z[i] > 0.0f ? z[i] : 0.0f;
        break;
    case NN_ACT_SIGMOID:
        for (size_t i = i0; i < i1; i++) y[i] = sigmoidf(z[i]);
        break;
    case NN_ACT_TANH:
        for (size_t i = i0; i < i1; i++) y[i] = tanhf(z[i]);
        break;
    }
}

/* Rows [r0, r1): y = softmax(z) per row, with the row maximum subtracted. */
static void softmax_range(op_args *a, size_t r0, size_t r1) {
    const size_t cols = a->cols;
    for (size_t r = r0; r < r1; r++) {
        float *y = a->out + r * cols;
        const float *z = a->a + r * cols;
        float mx = z[0], s = 0.0f;
        for (size_t j = 1; j < cols; j++) mx = z[j] > mx ? z[j] : mx;
        for (size_t j = 0; j < cols; j++) {
            y[j] = expf(z[j] - mx);
            s += y[j];
        }
        for (size_t j = 0; j < cols; j++) y[j] /= s;
    }
}

nn_status nn_cpu_act_forward(nn_backend *be, nn_act act, nn_view y, nn_view z, size_t rows,
                             size_t cols, nn_error *err) {
    op_args a = {.kind = act, .out = nn_cpu_ptr(y) /* (rows, cols) */,
                 .a = nn_cpu_ptr(z) /* (rows, cols) */, .cols = cols};
    if (act == NN_ACT_SOFTMAX) {
        if (cols) par_for(be, rows, PAR_MIN_ELEMS / cols + 1, softmax_range, &a);
    } else if (act == NN_ACT_IDENTITY || act == NN_ACT_RELU || act == NN_ACT_SIGMOID ||
               act == NN_ACT_TANH) {
        par_for(be, rows * cols, PAR_MIN_ELEMS, act_forward_range, &a);
    } else {
        return nn_error_set(err, NN_E_INVALID, "act_forward: unknown activation %d", (int)act);
    }
    return NN_OK;
}

/* dz = dy * act'(.) with a = dy, b = z (pre-activation), c = y (activation). */
SIMD_CLONES static void act_backward_range(op_args *a, size_t i0, size_t i1) {
    float *dz = a->out;
    const float *dy = a->a, *z = a->b, *y = a->c;
    switch (a->kind) {
    case NN_ACT_IDENTITY:
        if (dz != dy) memmove(dz + i0, dy + i0, (i1 - i0) * sizeof(float));
        break;
    case NN_ACT_RELU:
        for (size_t i = i0; i < i1; i++) {
            const float g = dy[i]; /* loaded unconditionally so the select vectorizes */
            dz[i] = z[i] > 0.0f ? g : 0.0f;
        }
        break;
    case NN_ACT_SIGMOID:
        for (size_t i = i0; i < i1; i++) dz[i] = dy[i] * y[i] * (1.0f - y[i]);
        break;
    case NN_ACT_TANH:
        for (size_t i = i0; i < i1; i++) dz[i] = dy[i] * (1.0f - y[i] * y[i]);
        break;
    }
}

nn_status nn_cpu_act_backward(nn_backend *be, nn_act act, nn_view dz, nn_view dy, nn_view z,
                              nn_view y, size_t rows, size_t cols, nn_error *err) {
    if (act != NN_ACT_IDENTITY && act != NN_ACT_RELU && act != NN_ACT_SIGMOID && act != NN_ACT_TANH)
        return nn_error_set(err, NN_E_INVALID, "act_backward: activation %s has no backward op",
                            nn_act_name(act));
    op_args a = {.kind = act, .out = nn_cpu_ptr(dz), /* all (rows, cols) */
                 .a = nn_cpu_ptr(dy), .b = nn_cpu_ptr(z), .c = nn_cpu_ptr(y)};
    par_for(be, rows * cols, PAR_MIN_ELEMS, act_backward_range, &a);
    return NN_OK;
}

/* ----------------------------------------------------------------- losses */

/* Loss of one row of logits z against targets t (both (cols)), in double. */
static double row_loss(int loss, const float *z, const float *t, size_t cols) {
    const double cap = -log(NN_BCE_EPS);
    double s = 0.0;
    if (loss == NN_LOSS_BCE) {
        for (size_t j = 0; j < cols; j++) {
            double zj = z[j], l = fmax(zj, 0.0) - zj * t[j] + log1p(exp(-fabs(zj)));
            s += !isfinite(zj) ? NAN : l < cap ? l : cap;
        }
    } else if (loss == NN_LOSS_CE) {
        double mx = z[0], e = 0.0, tz = 0.0;
        int finite = 1;
        for (size_t j = 0; j < cols; j++) {
            finite &= isfinite(z[j]) != 0;
            mx = z[j] > mx ? z[j] : mx;
        }
        for (size_t j = 0; j < cols; j++) {
            e += exp((double)z[j] - mx);
            tz += (double)t[j] * z[j];
        }
        double l = mx + log(e) - tz;
        s = !finite ? NAN : l < cap ? l : cap;
    } else {
        for (size_t j = 0; j < cols; j++) {
            double d = (double)z[j] - t[j];
            s += d * d;
        }
        s /= (double)cols;
    }
    return s;
}

/* Blocks [b0, b1) of LOSS_BLOCKS fixed row blocks: part[blk] = sum of row losses. */
static void loss_range(op_args *a, size_t b0, size_t b1) {
    const size_t per = (a->rows + LOSS_BLOCKS - 1) / LOSS_BLOCKS, cols = a->cols;
    for (size_t blk = b0; blk < b1; blk++) {
        size_t r0 = blk * per, r1 = r0 + per < a->rows ? r0 + per : a->rows;
        double s = 0.0;
        for (size_t r = r0; r < r1; r++) s += row_loss(a->kind, a->a + r * cols, a->b + r * cols, cols);
        a->part[blk] = s;
    }
}

nn_status nn_cpu_loss_sum(nn_backend *be, nn_loss loss, nn_view acc, nn_view z, nn_view t,
                          size_t rows, size_t cols, nn_error *err) {
    if (loss != NN_LOSS_BCE && loss != NN_LOSS_CE && loss != NN_LOSS_MSE)
        return nn_error_set(err, NN_E_INVALID, "loss_sum: unknown loss %d", (int)loss);
    double part[LOSS_BLOCKS] = {0}; /* per-block sums; block bounds depend on rows only */
    op_args a = {.kind = loss, .a = nn_cpu_ptr(z) /* (rows, cols) logits */,
                 .b = nn_cpu_ptr(t) /* (rows, cols) targets */, .cols = cols, .rows = rows,
                 .part = part};
    if (cols) {
        /* the reduction is in blocks; parallel only when there is enough work */
        if (rows * cols < PAR_MIN_ELEMS / 4) loss_range(&a, 0, LOSS_BLOCKS);
        else par_for(be, LOSS_BLOCKS, 0, loss_range, &a);
    }
    double total = 0.0;
    for (int blk = 0; blk < LOSS_BLOCKS; blk++) total += part[blk];
    float *ap = nn_cpu_ptr(acc); /* (2) compensated pair */
    double sum = (double)ap[0] + (double)ap[1] + total;
    ap[0] = (float)sum;
    ap[1] = (float)(sum - (double)ap[0]);
    return NN_OK;
}

SIMD_CLONES static void loss_grad_range(op_args *a, size_t i0, size_t i1) {
    for (size_t i = i0; i < i1; i++) a->out[i] = a->s * (a->a[i] - a->b[i]);
}

nn_status nn_cpu_loss_grad(nn_backend *be, nn_loss loss, nn_view dz, nn_view y, nn_view t,
                           size_t rows, size_t cols, float scale, nn_error *err) {
    op_args a = {.out = nn_cpu_ptr(dz) /* (rows, cols) */, .a = nn_cpu_ptr(y) /* outputs */,
                 .b = nn_cpu_ptr(t) /* targets */};
    if (loss == NN_LOSS_BCE || loss == NN_LOSS_CE)
        a.s = scale;
    else if (loss == NN_LOSS_MSE)
        a.s = cols ? 2.0f * scale / (float)cols : 0.0f;
    else
        return nn_error_set(err, NN_E_INVALID, "loss_grad: unknown loss %d", (int)loss);
    par_for(be, rows * cols, PAR_MIN_ELEMS, loss_grad_range, &a);
    return NN_OK;
}

/* ------------------------------------------------------------- reductions */

/* Columns [c0, c1): out[c] = sum over rows of x[r, c], rows in order. */
SIMD_CLONES static void col_sum_range(op_args *a, size_t c0, size_t c1) {
    const size_t cols = a->cols;
    float acc[64]; /* one strip of columns */
    for (size_t s0 = c0; s0 < c1; s0 += 64) {
        size_t s1 = s0 + 64 < c1 ? s0 + 64 : c1, w = s1 - s0;
        for (size_t j = 0; j < w; j++) acc[j] = 0.0f;
        for (size_t r = 0; r < a->rows; r++) {
            const float *row = a->a + r * cols + s0;
            for (size_t j = 0; j < w; j++) acc[j] += row[j];
        }
        memcpy(a->out + s0, acc, w * sizeof(float));
    }
}

nn_status nn_cpu_col_sum(nn_backend *be, nn_view out, nn_view x, size_t rows, size_t cols,
                         nn_error *err) {
    (void)err;
    op_args a = {.out = nn_cpu_ptr(out) /* (cols) */, .a = nn_cpu_ptr(x) /* (rows, cols) */,
                 .cols = cols, .rows = rows};
    par_for(be, cols, rows * cols >= PAR_MIN_ELEMS ? 128 : SIZE_MAX, col_sum_range, &a);
    return NN_OK;
}

static void gather_range(op_args *a, size_t r0, size_t r1) {
    const size_t cols = a->cols;
    for (size_t r = r0; r < r1; r++)
        memcpy(a->out + r * cols, a->a + (size_t)a->idx[r] * cols, cols * sizeof(float));
}

nn_status nn_cpu_gather_rows(nn_backend *be, nn_view dst, nn_view src, nn_view idx, size_t rows,
                             size_t cols, nn_error *err) {
    (void)err;
    op_args a = {.out = nn_cpu_ptr(dst) /* (rows, cols) */, .a = nn_cpu_ptr(src) /* (?, cols) */,
                 .idx = (const uint32_t *)nn_cpu_ptr(idx) /* (rows) */, .cols = cols};
    par_for(be, rows, cols ? PAR_MIN_ELEMS / cols + 1 : SIZE_MAX, gather_range, &a);
    return NN_OK;
}

/* -------------------------------------------------------------- optimizer */

SIMD_CLONES static void update_range(op_args *a, size_t i0, size_t i1) {
    const nn_opt_step *st = a->step;
    float *p = a->out, *m = a->m, *v = a->v;
    const float *g = a->a, lr = st->lr;
    if (st->kind == NN_OPT_SGD) {
        for (size_t i = i0; i < i1; i++) p[i] -= lr * g[i];
    } else if (st->kind == NN_OPT_MOMENTUM) {
        const float mu = st->momentum;
        for (size_t i = i0; i < i1; i++) {
            m[i] = mu * m[i] + g[i];
            p[i] -= lr * m[i];
        }
    } else {
        const float b1 = st->beta1, b2 = st->beta2, eps = st->eps, c1 = st->c1, c2 = st->c2;
        for (size_t i = i0; i < i1; i++) {
            m[i] = b1 * m[i] + (1.0f - b1) * g[i];
            v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
            p[i] -= lr * (m[i] * c1) / (sqrtf(v[i] * c2) + eps);
        }
    }
}

nn_status nn_cpu_update(nn_backend *be, const nn_opt_step *st, nn_view p, nn_view g, nn_view m,
                        nn_view v, size_t n, nn_error *err) {
    if (st->kind != NN_OPT_SGD && st->kind != NN_OPT_MOMENTUM && st->kind != NN_OPT_ADAM)
        return nn_error_set(err, NN_E_INVALID, "update: unknown optimizer %d", (int)st->kind);
    op_args a = {.step = st, .out = nn_cpu_ptr(p) /* (n) */, .a = nn_cpu_ptr(g) /* (n) */,
                 .m = m.buf ? nn_cpu_ptr(m) : NULL, .v = v.buf ? nn_cpu_ptr(v) : NULL};
    par_for(be, n, PAR_MIN_ELEMS, update_range, &a);
    return NN_OK;
}
