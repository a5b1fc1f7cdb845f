/* cpu_ops.c — the CPU backend's ops as plain loops, the numerical reference
 * for every other backend. Large ops are split over threads into contiguous
 * ranges of independent elements; every sum runs in the same order for any
 * thread count. Small ops run on the calling thread (no OpenMP region).
 * Every elementwise loop exists once per instruction-set path (portable C,
 * AVX2, AVX-512: the same body compiled three times), and on the AVX-512 path
 * some loops run as the hand-vectorized versions of cpu_ops_avx512.c; all
 * compute the same bits. The backend's state names the path (the best this CPU
 * runs; tests force each one and compare). */
#include "cpu/cpu_ops.h"

#include <math.h>
#include <omp.h>
#include <string.h>

#include "cpu/cpu_exp.h"
#include "cpu/cpu_ops_avx512.h"

/* Elements below which an op stays on the calling thread. */
#define PAR_MIN_ELEMS ((size_t)1 << 15)
/* Fixed number of row blocks for the deterministic loss reduction. */
#define LOSS_BLOCKS 64
/* Rows per contiguous run in the loops over narrow rows (cols < this). */
#define NARROW_ROWS 16
/* col_sum: partial sums per column (row r goes to partial r mod COL_PARTS),
 * a power of two; defines the summation order (see backend.h, reduce.cl). */
#define COL_PARTS 16

static int nthreads(const nn_backend *be) { return be->threads > 0 ? be->threads : 1; }
static nn_cpu_path path_of(const nn_backend *be) { return ((const nn_cpu_state *)be->ctx)->path; }
/* 1 if the hand-vectorized AVX-512 loops run (the backend is on that path). */
static int use_avx512(const nn_backend *be) {
    return NN_CPU_HAVE_AVX512 && path_of(be) == NN_CPU_PATH_AVX512;
}

/* 1 if an op over n items with threshold min_par runs on the calling thread
 * (as par_for decides). Small ops check this first and call their AVX-512
 * loop directly: for them the op's fixed costs are a large part. */
static int one_thread(const nn_backend *be, size_t n, size_t min_par) {
    return n < min_par || nthreads(be) == 1;
}

/* Elementwise loop bodies are inlined into one function per path, each
 * compiled for that instruction set. Without -ffast-math and with FP
 * contraction off (ISO C mode) every variant computes the same bits. */
#define BODY static inline __attribute__((always_inline))
#if defined(__x86_64__) && defined(__GNUC__)
#define TARGET_AVX2 __attribute__((target("avx2")))
#define TARGET_AVX512 __attribute__((target("avx512f")))
#else
#define TARGET_AVX2
#define TARGET_AVX512
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

/* The variants of one range body, one per path. */
typedef struct path_fns {
    range_fn c, avx2, avx512;
} path_fns;

/* body##_c, body##_avx2, body##_avx512 and their table body##_fns. */
#define PATH_VARIANTS(body)                                                                        \
    static void body##_c(op_args *a, size_t i0, size_t i1) { body(a, i0, i1); }                   \
    TARGET_AVX2 static void body##_avx2(op_args *a, size_t i0, size_t i1) { body(a, i0, i1); }     \
    TARGET_AVX512 static void body##_avx512(op_args *a, size_t i0, size_t i1) { body(a, i0, i1); } \
    static const path_fns body##_fns = {body##_c, body##_avx2, body##_avx512};

/* The variant of f for the backend's path. */
static range_fn on_path(const nn_backend *be, const path_fns *f) {
    switch (path_of(be)) {
    case NN_CPU_PATH_AVX512: return f->avx512;
    case NN_CPU_PATH_AVX2: return f->avx2;
    default: return f->c;
    }
}

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

BODY void fill_range(op_args *a, size_t i0, size_t i1) {
    for (size_t i = i0; i < i1; i++) a->out[i] = a->s;
}
PATH_VARIANTS(fill_range)

nn_status nn_cpu_fill(nn_backend *be, nn_view dst, float value, size_t count, nn_error *err) {
    (void)err;
    op_args a = {.out = nn_cpu_ptr(dst) /* (count) */, .s = value};
    par_for(be, count, PAR_MIN_ELEMS, on_path(be, &fill_range_fns), &a);
    return NN_OK;
}

/* ----------------------------------------------------------------- matmul */

nn_status nn_cpu_matmul(nn_backend *be, nn_view c, nn_view a, nn_view b, size_t m, size_t n,
                        size_t k, int trans_a, int trans_b, int accumulate, nn_error *err) {
    (void)err;
    nn_cpu_state *st = be->ctx;
    nn_cpu_gemm(st->path, &st->ws, nthreads(be), nn_cpu_ptr(c), nn_cpu_ptr(a), nn_cpu_ptr(b), m, n,
                k, trans_a, trans_b, accumulate);
    return NN_OK;
}

/* --------------------------------------------------------------- bias add */

BODY void bias_range(op_args *a, size_t r0, size_t r1) {
    const size_t cols = a->cols;
    size_t r = r0;
    if (cols < NARROW_ROWS) {
        /* narrow rows: NARROW_ROWS rows at a time as one contiguous run, with
         * the bias repeated to match (the same additions, in long vectors) */
        float pat[NARROW_ROWS * NARROW_ROWS]; /* (NARROW_ROWS, cols) */
        const size_t run = NARROW_ROWS * cols;
        for (size_t q = 0; q < NARROW_ROWS; q++)
            for (size_t j = 0; j < cols; j++) pat[q * cols + j] = a->a[j];
        for (; r + NARROW_ROWS <= r1; r += NARROW_ROWS) {
            float *blk = a->out + r * cols;
            for (size_t t = 0; t < run; t++) blk[t] += pat[t];
        }
    }
    for (; r < r1; r++) {
        float *row = a->out + r * cols;
        for (size_t j = 0; j < cols; j++) row[j] += a->a[j];
    }
}
PATH_VARIANTS(bias_range)

static void bias_narrow_avx512(op_args *a, size_t r0, size_t r1) {
    nn_avx512_bias_narrow(a->out + r0 * a->cols, a->a, r1 - r0, a->cols);
}

nn_status nn_cpu_bias_add(nn_backend *be, nn_view z, nn_view bias, size_t rows, size_t cols,
                          nn_error *err) {
    (void)err;
    const size_t min_par = cols ? PAR_MIN_ELEMS / cols + 1 : SIZE_MAX;
    const int narrow = cols < NARROW_ROWS && use_avx512(be);
    if (narrow && one_thread(be, rows, min_par)) {
        nn_avx512_bias_narrow(nn_cpu_ptr(z), nn_cpu_ptr(bias), rows, cols);
        return NN_OK;
    }
    op_args a = {.out = nn_cpu_ptr(z) /* (rows, cols) */, .a = nn_cpu_ptr(bias) /* (cols) */,
                 .cols = cols};
    par_for(be, rows, min_par, narrow ? bias_narrow_avx512 : on_path(be, &bias_range_fns), &a);
    return NN_OK;
}

/* ------------------------------------------------------------ activations */

static float sigmoidf(float z) { return 1.0f / (1.0f + nn_exp_f(-z)); }

BODY void act_forward_range(op_args *a, size_t i0, size_t i1) {
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
PATH_VARIANTS(act_forward_range)

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

/* The AVX-512 loops of cpu_ops_avx512.c on ranges (bit-identical to the portable ones). */
static void relu_forward_avx512(op_args *a, size_t i0, size_t i1) {
    nn_avx512_relu_forward(a->out + i0, a->a + i0, i1 - i0);
}
static void sigmoid_avx512(op_args *a, size_t i0, size_t i1) {
    nn_avx512_sigmoid(a->out + i0, a->a + i0, i1 - i0);
}
static void relu_backward_avx512(op_args *a, size_t i0, size_t i1) {
    nn_avx512_relu_backward(a->out + i0, a->a + i0, a->c + i0, i1 - i0);
}

nn_status nn_cpu_act_forward(nn_backend *be, nn_act act, nn_view y, nn_view z, size_t rows,
                             size_t cols, nn_error *err) {
    const int avx512 = use_avx512(be);
    if ((act == NN_ACT_RELU || act == NN_ACT_SIGMOID) && avx512 &&
        one_thread(be, rows * cols, PAR_MIN_ELEMS)) {
        if (act == NN_ACT_RELU) nn_avx512_relu_forward(nn_cpu_ptr(y), nn_cpu_ptr(z), rows * cols);
        else nn_avx512_sigmoid(nn_cpu_ptr(y), nn_cpu_ptr(z), rows * cols);
        return NN_OK;
    }
    op_args a = {.kind = act, .out = nn_cpu_ptr(y) /* (rows, cols) */,
                 .a = nn_cpu_ptr(z) /* (rows, cols) */, .cols = cols};
    if (act == NN_ACT_SOFTMAX) {
        if (cols) par_for(be, rows, PAR_MIN_ELEMS / cols + 1, softmax_range, &a);
    } else if (act == NN_ACT_IDENTITY || act == NN_ACT_RELU || act == NN_ACT_SIGMOID ||
               act == NN_ACT_TANH) {
        range_fn body = on_path(be, &act_forward_range_fns);
        if (act == NN_ACT_RELU && avx512) body = relu_forward_avx512;
        if (act == NN_ACT_SIGMOID && avx512) body = sigmoid_avx512;
        par_for(be, rows * cols, PAR_MIN_ELEMS, body, &a);
    } else {
        return nn_error_set(err, NN_E_INVALID, "act_forward: unknown activation %d", (int)act);
    }
    return NN_OK;
}

/* dz = dy * act'(.) with a = dy, b = z (pre-activation), c = y (activation). */
BODY void act_backward_range(op_args *a, size_t i0, size_t i1) {
    float *dz = a->out;
    const float *dy = a->a, *z = a->b, *y = a->c;
    switch (a->kind) {
    case NN_ACT_IDENTITY:
        if (dz != dy) memmove(dz + i0, dy + i0, (i1 - i0) * sizeof(float));
        break;
    case NN_ACT_RELU:
        /* from y: y > 0 exactly where z > 0 (y = z > 0 ? z : 0), and in a
         * training step y was read more recently than z, so it is more likely
         * still in L1 */
        (void)z;
        for (size_t i = i0; i < i1; i++) {
            const float g = dy[i]; /* loaded unconditionally so the select vectorizes */
            dz[i] = y[i] > 0.0f ? g : 0.0f;
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
PATH_VARIANTS(act_backward_range)

nn_status nn_cpu_act_backward(nn_backend *be, nn_act act, nn_view dz, nn_view dy, nn_view z,
                              nn_view y, size_t rows, size_t cols, nn_error *err) {
    if (act != NN_ACT_IDENTITY && act != NN_ACT_RELU && act != NN_ACT_SIGMOID && act != NN_ACT_TANH)
        return nn_error_set(err, NN_E_INVALID, "act_backward: activation %s has no backward op",
                            nn_act_name(act));
    const int relu512 = act == NN_ACT_RELU && use_avx512(be);
    if (relu512 && one_thread(be, rows * cols, PAR_MIN_ELEMS)) {
        nn_avx512_relu_backward(nn_cpu_ptr(dz), nn_cpu_ptr(dy), nn_cpu_ptr(y), rows * cols);
        return NN_OK;
    }
    op_args a = {.kind = act, .out = nn_cpu_ptr(dz), /* all (rows, cols) */
                 .a = nn_cpu_ptr(dy), .b = nn_cpu_ptr(z), .c = nn_cpu_ptr(y)};
    par_for(be, rows * cols, PAR_MIN_ELEMS,
            relu512 ? relu_backward_avx512 : on_path(be, &act_backward_range_fns), &a);
    return NN_OK;
}

/* ----------------------------------------------------------------- losses */

/* Loss of one row of logits z against targets t (both (cols)), in double. */
static double row_loss(int loss, const float *z, const float *t, size_t cols) {
    const double cap = -log(NN_BCE_EPS);
    double s = 0.0;
    if (loss == NN_LOSS_BCE) {
        for (size_t j = 0; j < cols; j++) {
            /* max(z, 0) as a select, as fmax computes it (NaN -> 0), without a call */
            double zj = z[j], l = (zj > 0.0 ? zj : 0.0) - zj * t[j] + log1p(exp(-fabs(zj)));
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

/* dz[i0, i1) = s * (y - t) with out = dz, a = y, b = t. */
BODY void loss_grad_range(op_args *a, size_t i0, size_t i1) {
    float *dz = a->out;
    const float *y = a->a, *t = a->b, s = a->s;
    for (size_t i = i0; i < i1; i++) dz[i] = s * (y[i] - t[i]);
}
PATH_VARIANTS(loss_grad_range)

nn_status nn_cpu_loss_grad(nn_backend *be, nn_loss loss, nn_view dz, nn_view y, nn_view t,
                           size_t rows, size_t cols, float scale, nn_error *err) {
    float s;
    if (loss == NN_LOSS_BCE || loss == NN_LOSS_CE)
        s = scale;
    else if (loss == NN_LOSS_MSE)
        s = cols ? 2.0f * scale / (float)cols : 0.0f;
    else
        return nn_error_set(err, NN_E_INVALID, "loss_grad: unknown loss %d", (int)loss);
    op_args a = {.out = nn_cpu_ptr(dz) /* (rows, cols) */, .a = nn_cpu_ptr(y) /* outputs */,
                 .b = nn_cpu_ptr(t) /* targets */, .s = s};
    par_for(be, rows * cols, PAR_MIN_ELEMS, on_path(be, &loss_grad_range_fns), &a);
    return NN_OK;
}

/* ------------------------------------------------------------- reductions */

/* col_sum's order (backend.h): for each column, row r is added to partial
 * sum r mod COL_PARTS (each partial starts at 0 and takes its rows in
 * ascending order); then the partials are folded in halves,
 * s[q] += s[q + h] for h = COL_PARTS/2, ..., 2, 1, and s[0] is the sum. */

/* The halving fold of COL_PARTS partials of w columns each: part (COL_PARTS, w)
 * at row stride ld; the sums end up in part[0..w). */
BODY void col_fold(float *part, size_t w, size_t ld) {
    for (size_t h = COL_PARTS / 2; h > 0; h /= 2)
        for (size_t q = 0; q < h; q++)
            for (size_t j = 0; j < w; j++) part[q * ld + j] += part[(q + h) * ld + j];
}

/* Columns [c0, c1): out[c] = sum over rows of x[r, c] in col_sum's order, in
 * strips of up to 64 columns. */
BODY void col_sum_range(op_args *a, size_t c0, size_t c1) {
    const size_t cols = a->cols, rows = a->rows;
    float acc[COL_PARTS][64]; /* partial sums of one strip of columns */
    for (size_t s0 = c0; s0 < c1; s0 += 64) {
        size_t s1 = s0 + 64 < c1 ? s0 + 64 : c1, w = s1 - s0;
        for (size_t q = 0; q < COL_PARTS; q++)
            for (size_t j = 0; j < w; j++) acc[q][j] = 0.0f;
        size_t r = 0;
        for (; r + COL_PARTS <= rows; r += COL_PARTS)
            for (size_t q = 0; q < COL_PARTS; q++) {
                const float *row = a->a + (r + q) * cols + s0;
                for (size_t j = 0; j < w; j++) acc[q][j] += row[j];
            }
        for (size_t q = 0; r + q < rows; q++) {
            const float *row = a->a + (r + q) * cols + s0;
            for (size_t j = 0; j < w; j++) acc[q][j] += row[j];
        }
        col_fold(&acc[0][0], w, 64);
        memcpy(a->out + s0, acc[0], w * sizeof(float));
    }
}
PATH_VARIANTS(col_sum_range)

/* All columns of a narrow x (cols < NARROW_ROWS) in col_sum's order: each run
 * of COL_PARTS rows is one contiguous block whose element q*cols + c goes to
 * partial q of column c, so the partials are one flat (COL_PARTS, cols) array.
 * One call does all columns (i0, i1 are unused). */
BODY void col_sum_narrow(op_args *a, size_t i0, size_t i1) {
    (void)i0;
    (void)i1;
    const size_t cols = a->cols, rows = a->rows, run = COL_PARTS * cols;
    float acc[COL_PARTS * NARROW_ROWS]; /* (COL_PARTS, cols) */
    for (size_t t = 0; t < run; t++) acc[t] = 0.0f;
    size_t r = 0;
    for (; r + COL_PARTS <= rows; r += COL_PARTS) {
        const float *blk = a->a + r * cols;
        for (size_t t = 0; t < run; t++) acc[t] += blk[t];
    }
    const float *blk = a->a + r * cols;
    for (size_t t = 0; t < (rows - r) * cols; t++) acc[t] += blk[t];
    col_fold(acc, cols, cols);
    memcpy(a->out, acc, cols * sizeof(float));
}
PATH_VARIANTS(col_sum_narrow)

nn_status nn_cpu_col_sum(nn_backend *be, nn_view out, nn_view x, size_t rows, size_t cols,
                         nn_error *err) {
    (void)err;
    if (cols > 0 && cols < NARROW_ROWS && COL_PARTS == 16 && use_avx512(be)) {
        nn_avx512_col_sum_narrow(nn_cpu_ptr(out), nn_cpu_ptr(x), rows, cols); /* one thread */
        return NN_OK;
    }
    op_args a = {.out = nn_cpu_ptr(out) /* (cols) */, .a = nn_cpu_ptr(x) /* (rows, cols) */,
                 .cols = cols, .rows = rows};
    if (cols > 0 && cols < NARROW_ROWS)
        on_path(be, &col_sum_narrow_fns)(&a, 0, cols); /* one thread */
    else
        par_for(be, cols, rows * cols >= PAR_MIN_ELEMS ? 128 : SIZE_MAX,
                on_path(be, &col_sum_range_fns), &a);
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

/* One optimizer step on elements [i0, i1) (see nn_cpu_update) with out = p,
 * a = g and the state m, v. */
BODY void update_range(op_args *a, size_t i0, size_t i1) {
    const nn_opt_step *st = a->step;
    float *p = a->out, *m = a->m, *v = a->v;
    const float *g = a->a;
    const float lr = st->lr;
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
PATH_VARIANTS(update_range)

nn_status nn_cpu_update(nn_backend *be, const nn_opt_step *st, nn_view p, nn_view g, nn_view m,
                        nn_view v, size_t n, nn_error *err) {
    if (st->kind != NN_OPT_SGD && st->kind != NN_OPT_MOMENTUM && st->kind != NN_OPT_ADAM)
        return nn_error_set(err, NN_E_INVALID, "update: unknown optimizer %d", (int)st->kind);
    op_args a = {.step = st, .out = nn_cpu_ptr(p) /* (n) */, .a = nn_cpu_ptr(g) /* (n) */,
                 .m = m.buf ? nn_cpu_ptr(m) : NULL, .v = v.buf ? nn_cpu_ptr(v) : NULL};
    par_for(be, n, PAR_MIN_ELEMS, on_path(be, &update_range_fns), &a);
    return NN_OK;
}
