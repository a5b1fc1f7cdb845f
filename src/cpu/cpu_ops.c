/* cpu_ops.c — the CPU backend's ops as plain loops, the numerical reference
 * for every other backend, and the block loops its fused ops share with them.
 * Large ops are split into contiguous ranges of independent elements, run on
 * the backend's thread team; every sum runs in the same order for any thread
 * count. Small ops run on the calling thread (no job for the team).
 * Every elementwise loop exists once per instruction-set path (portable C,
 * AVX2, AVX-512: the same body compiled three times), and on the AVX-512 path
 * some loops run as the hand-vectorized versions of cpu_ops_avx512.c; all
 * compute the same bits. The backend's state names the path (the best this CPU
 * runs; tests force each one and compare). */
#include "cpu/cpu_ops.h"

#include <math.h>
#include <string.h>

#include "cpu/cpu_exp.h"
#include "cpu/cpu_ops_avx512.h"
#include "cpu/cpu_softplus.h"

/* Elements below which an op stays on the calling thread. */
#define PAR_MIN_ELEMS ((size_t)1 << 15)
/* Elements below which a row gather stays on the calling thread. */
#define GATHER_MIN_ELEMS ((size_t)1 << 11)
/* Rows per contiguous run in the loops over narrow rows (cols < this). */
#define NARROW_ROWS 16
/* col_sum: partial sums per column (row r goes to partial r mod COL_PARTS),
 * a power of two; defines the summation order (see backend.h, reduce.cl). */
#define COL_PARTS 16

static int nthreads(const nn_backend *be) { return be->threads > 0 ? be->threads : 1; }
/* 1 if the hand-vectorized AVX-512 loops run on `path`. */
static int avx512_on(nn_cpu_path path) {
    return NN_CPU_HAVE_AVX512 && path == NN_CPU_PATH_AVX512;
}
/* 1 if they run for the backend's ops (the backend is on that path). */
static int use_avx512(const nn_backend *be) { return avx512_on(nn_cpu_path_of(be)); }

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
    double *part;      /* (NN_CPU_LOSS_BLOCKS) loss partial sums */
    size_t rows;
    size_t ld;         /* row stride of blocks of rows (update_block_range) */
    nn_cpu_path path;  /* of the loops an op calls itself (the BCE loss) */
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

/* The variant of f for `path`. */
static range_fn fn_on(nn_cpu_path path, const path_fns *f) {
    switch (path) {
    case NN_CPU_PATH_AVX512: return f->avx512;
    case NN_CPU_PATH_AVX2: return f->avx2;
    default: return f->c;
    }
}

/* The variant of f for the backend's path. */
static range_fn on_path(const nn_backend *be, const path_fns *f) {
    return fn_on(nn_cpu_path_of(be), f);
}

/* A par_for job: body over [0, n) in `chunks` contiguous ranges. */
typedef struct range_job {
    range_fn body;
    op_args *a;
    size_t n, chunks;
} range_job;

static void range_chunk(void *ctx, size_t chunk, int thread) {
    (void)thread;
    const range_job *j = ctx;
    j->body(j->a, j->n * chunk / j->chunks, j->n * (chunk + 1) / j->chunks);
}

/* body over [0, n): on the calling thread when n < min_par or one thread,
 * else in contiguous ranges on the backend's team (about four per thread). */
static void par_for(const nn_backend *be, size_t n, size_t min_par, range_fn body, op_args *a) {
    const size_t nt = (size_t)nthreads(be);
    if (n < min_par || nt == 1 || n < 2) {
        body(a, 0, n);
        return;
    }
    range_job j = {body, a, n, n < 4 * nt ? n : 4 * nt};
    const nn_par par = nn_cpu_par(be);
    /* size hint: which loop on how much */
    nn_par_run(&par, j.chunks, range_chunk, &j, n ^ (size_t)(uintptr_t)body);
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
    const nn_par par = nn_cpu_par(be);
    nn_cpu_gemm(st->path, &st->ws, &par, NULL, nn_cpu_ptr(c), nn_cpu_ptr(a), nn_cpu_ptr(b), m, n,
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

/* The BCE loss of one logit z against a target t, in double:
 * (z > 0 ? z : 0) - z t + log1p(exp(-|z|)) with log1p(exp(-|z|)) as
 * nn_softplus_neg, capped at cap; NaN when z is not finite. */
static inline double bce_elem(float z, float t, double cap) {
    /* max(z, 0) as a select, as fmax computes it (NaN -> 0), without a call */
    const double zj = z, l = (zj > 0.0 ? zj : 0.0) - zj * t + nn_softplus_neg(fabs(zj));
    return !isfinite(zj) ? NAN : l < cap ? l : cap;
}

/* out[0, n) = bce_elem of z[i], t[i] on `path`; the AVX-512 loop computes the same bits. */
static void bce_elems(nn_cpu_path path, double *out, const float *z, const float *t, size_t n,
                      double cap) {
    if (avx512_on(path)) {
        nn_avx512_bce_elems(out, z, t, n, cap);
        return;
    }
    for (size_t i = 0; i < n; i++) out[i] = bce_elem(z[i], t[i], cap);
}

void nn_cpu_bce_elems(nn_cpu_path path, double *out, const float *z, const float *t, size_t n) {
    bce_elems(nn_cpu_path_resolve(path), out, z, t, n, -log(NN_BCE_EPS));
}

/* Loss of one row of logits z against targets t (both (cols)), in double,
 * for CE and MSE (BCE: see bce_blocks). */
static double row_loss(int loss, const float *z, const float *t, size_t cols) {
    const double cap = -log(NN_BCE_EPS);
    double s = 0.0;
    if (loss == NN_LOSS_CE) {
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

/* The BCE losses of the row blocks [b0, b1) of z, t: (rows, cols), `per` rows
 * a block: part[blk] = the sum over the block's rows of each row's sum over
 * its columns, both in order. The elements are computed BATCH at a time
 * across block boundaries (a block of a small batch may hold a row or two:
 * one vector pass per block would cost more than the sums). */
static void bce_blocks(nn_cpu_path path, const float *z, const float *t, size_t cols, size_t rows,
                       size_t per, size_t b0, size_t b1, double *part) {
    enum { BATCH = 256 };
    const double cap = -log(NN_BCE_EPS);
    double e[BATCH]; /* element losses */
    size_t blk = b0, r = b0 * per, j = 0; /* the block, row and column of the next element */
    const size_t r_end = b1 * per < rows ? b1 * per : rows;
    for (size_t b = b0; b < b1; b++) part[b] = 0.0;
    double s = 0.0, row = 0.0;
    for (size_t i = r * cols, end = r_end * cols; i < end; i += BATCH) {
        const size_t n = end - i < BATCH ? end - i : BATCH;
        bce_elems(path, e, z + i, t + i, n, cap);
        for (size_t q = 0; q < n; q++) {
            row += e[q];
            if (++j < cols) continue;
            s += row;
            row = 0.0;
            j = 0;
            if (++r == (blk + 1) * per || r == r_end) {
                part[blk++] = s;
                s = 0.0;
            }
        }
    }
}

/* Blocks [b0, b1) of loss_sum's row blocks: part[blk] = the sum of their row losses. */
static void loss_range(op_args *a, size_t b0, size_t b1) {
    const size_t per = (a->rows + NN_CPU_LOSS_BLOCKS - 1) / NN_CPU_LOSS_BLOCKS, cols = a->cols;
    if (a->kind == NN_LOSS_BCE) {
        bce_blocks(a->path, a->a, a->b, cols, a->rows, per, b0, b1, a->part);
        return;
    }
    for (size_t blk = b0; blk < b1; blk++) {
        size_t r0 = blk * per, r1 = r0 + per < a->rows ? r0 + per : a->rows;
        double s = 0.0;
        for (size_t r = r0; r < r1; r++)
            s += row_loss(a->kind, a->a + r * cols, a->b + r * cols, cols);
        a->part[blk] = s;
    }
}

nn_status nn_cpu_loss_sum(nn_backend *be, nn_loss loss, nn_view acc, nn_view z, nn_view t,
                          size_t rows, size_t cols, nn_error *err) {
    if (loss != NN_LOSS_BCE && loss != NN_LOSS_CE && loss != NN_LOSS_MSE)
        return nn_error_set(err, NN_E_INVALID, "loss_sum: unknown loss %d", (int)loss);
    double part[NN_CPU_LOSS_BLOCKS] = {0}; /* per-block sums; block bounds depend on rows only */
    op_args a = {.kind = loss, .a = nn_cpu_ptr(z) /* (rows, cols) logits */,
                 .b = nn_cpu_ptr(t) /* (rows, cols) targets */, .cols = cols, .rows = rows,
                 .part = part, .path = nn_cpu_path_of(be)};
    if (cols) {
        /* the reduction is in blocks; parallel only when there is enough work */
        if (rows * cols < PAR_MIN_ELEMS / 4) loss_range(&a, 0, NN_CPU_LOSS_BLOCKS);
        else par_for(be, NN_CPU_LOSS_BLOCKS, 0, loss_range, &a);
    }
    double total = 0.0;
    for (int blk = 0; blk < NN_CPU_LOSS_BLOCKS; blk++) total += part[blk];
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
    if (!nn_loss_grad_factor(loss, cols, scale, &s))
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
    if (cols > 0 && cols < NARROW_ROWS) { /* one thread */
        nn_cpu_col_sum_cols(nn_cpu_path_of(be), nn_cpu_ptr(out), nn_cpu_ptr(x), rows, cols, 0,
                            cols);
        return NN_OK;
    }
    op_args a = {.out = nn_cpu_ptr(out) /* (cols) */, .a = nn_cpu_ptr(x) /* (rows, cols) */,
                 .cols = cols, .rows = rows};
    par_for(be, cols, rows * cols >= PAR_MIN_ELEMS ? 128 : SIZE_MAX,
            on_path(be, &col_sum_range_fns), &a);
    return NN_OK;
}

void nn_cpu_col_sum_cols(nn_cpu_path path, float *out, const float *x, size_t rows, size_t cols,
                         size_t c0, size_t c1) {
    if (c0 >= c1) return;
    op_args a = {.out = out, .a = x, .cols = cols, .rows = rows};
    if (c0 == 0 && c1 == cols && cols < NARROW_ROWS) {
        if (COL_PARTS == 16 && avx512_on(path)) nn_avx512_col_sum_narrow(out, x, rows, cols);
        else fn_on(path, &col_sum_narrow_fns)(&a, 0, cols);
        return;
    }
    fn_on(path, &col_sum_range_fns)(&a, c0, c1);
}

/* ------------------------------------------------------ blocks of rows */

void nn_cpu_act_block(nn_cpu_path path, nn_act act, float *y, size_t ldy, const float *z,
                      size_t ldz, size_t rows, size_t cols) {
    const int avx = avx512_on(path);
    const range_fn body = fn_on(path, &act_forward_range_fns);
    op_args a = {.kind = act, .out = y, .a = z};
    for (size_t r = 0; r < rows;) {
        /* contiguous runs: all rows at once when both are dense */
        const size_t run = ldy == cols && ldz == cols ? rows : 1;
        const size_t n = run * cols;
        if (act == NN_ACT_RELU && avx) nn_avx512_relu_forward(a.out, a.a, n);
        else if (act == NN_ACT_SIGMOID && avx) nn_avx512_sigmoid(a.out, a.a, n);
        else body(&a, 0, n);
        r += run;
        a.out += run * ldy;
        a.a += run * ldz;
    }
}

void nn_cpu_act_backward_block(nn_cpu_path path, nn_act act, float *dz, const float *dy,
                               const float *z, const float *y, size_t ld, size_t rows,
                               size_t cols) {
    const int relu512 = act == NN_ACT_RELU && avx512_on(path);
    if (relu512 && ld != cols) {
        nn_avx512_relu_backward_block(dz, dy, y, ld, rows, cols);
        return;
    }
    const range_fn body = fn_on(path, &act_backward_range_fns);
    op_args a = {.kind = act, .out = dz, .a = dy, .b = z, .c = y};
    const size_t run = ld == cols ? rows : 1, n = run * cols;
    for (size_t r = 0; r < rows; r += run) {
        if (relu512) nn_avx512_relu_backward(a.out, a.a, a.c, n);
        else body(&a, 0, n);
        a.out += run * ld;
        a.a += run * ld;
        a.b += run * ld;
        a.c += run * ld;
    }
}

/* Rows gathered ahead of the one being copied: the source rows are usually
 * scattered over a large resident set, so each is a cache miss; prefetching
 * keeps several in flight instead of one. */
#define GATHER_AHEAD 24

/* Prefetch the cache lines of source row i. */
static inline void gather_prefetch(const op_args *a, size_t i) {
    const char *p = (const char *)(a->a + (size_t)a->idx[i] * a->cols);
    const char *end = p + a->cols * sizeof(float);
    for (p = (const char *)((uintptr_t)p & ~(uintptr_t)63); p < end; p += 64)
        __builtin_prefetch(p, 0, 3);
}

BODY void gather_range(op_args *a, size_t r0, size_t r1) {
    const size_t cols = a->cols;
    for (size_t r = r0; r < r1 && r < r0 + GATHER_AHEAD; r++) gather_prefetch(a, r);
    for (size_t r = r0; r < r1; r++) {
        if (r + GATHER_AHEAD < r1) gather_prefetch(a, r + GATHER_AHEAD);
        const float *src = a->a + (size_t)a->idx[r] * cols;
        float *dst = a->out + r * cols;
        if (cols <= 64)
            for (size_t j = 0; j < cols; j++) dst[j] = src[j];
        else
            memcpy(dst, src, cols * sizeof(float));
    }
}
PATH_VARIANTS(gather_range)

nn_status nn_cpu_gather_rows(nn_backend *be, nn_view dst, nn_view src, nn_view idx, size_t rows,
                             size_t cols, nn_error *err) {
    (void)err;
    op_args a = {.out = nn_cpu_ptr(dst) /* (rows, cols) */, .a = nn_cpu_ptr(src) /* (?, cols) */,
                 .idx = (const uint32_t *)nn_cpu_ptr(idx) /* (rows) */, .cols = cols};
    /* split early: each row is a likely cache miss, and threads add misses in flight */
    par_for(be, rows, cols ? GATHER_MIN_ELEMS / cols + 1 : SIZE_MAX,
            on_path(be, &gather_range_fns), &a);
    return NN_OK;
}

void nn_cpu_prefetch_rows(nn_backend *be, nn_view src, nn_view idx, size_t rows, size_t cols) {
    (void)be;
    const float *s = nn_cpu_ptr(src);
    const uint32_t *ix = (const uint32_t *)nn_cpu_ptr(idx);
    for (size_t r = 0; r < rows; r++) { /* every 64-byte line the row touches */
        const uintptr_t a = (uintptr_t)(s + (size_t)ix[r] * cols), end = a + cols * sizeof(float);
        for (uintptr_t p = a & ~(uintptr_t)63; p < end; p += 64)
            __builtin_prefetch((const void *)p, 0, 2);
    }
}

/* -------------------------------------------------------------- optimizer */

/* One optimizer step on elements [i0, i1) of p, g, m, v (see nn_cpu_update;
 * m, v NULL when the optimizer has no such state). */
BODY void update_loop(const nn_opt_step *st, float *p, const float *g, float *m, float *v,
                      size_t i0, size_t i1) {
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

/* update_loop on [i0, i1) with out = p, a = g and the state m, v. */
BODY void update_range(op_args *a, size_t i0, size_t i1) {
    update_loop(a->step, a->out, a->a, a->m, a->v, i0, i1);
}
PATH_VARIANTS(update_range)

/* update_loop on rows [r0, r1) of a->cols elements at row stride a->ld (one
 * dispatch of the path's loop per block, not per row). */
BODY void update_rows_range(op_args *a, size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; r++) {
        const size_t o = r * a->ld;
        update_loop(a->step, a->out + o, a->a + o, a->m ? a->m + o : NULL,
                    a->v ? a->v + o : NULL, 0, a->cols);
    }
}
PATH_VARIANTS(update_rows_range)

void nn_cpu_update_elems(nn_cpu_path path, const nn_opt_step *st, float *p, const float *g,
                         float *m, float *v, size_t n) {
    op_args a = {.step = st, .out = p, .a = g, .m = m, .v = v};
    fn_on(path, &update_range_fns)(&a, 0, n);
}

void nn_cpu_update_block(nn_cpu_path path, const nn_opt_step *st, float *p, const float *g,
                         float *m, float *v, size_t ld, size_t rows, size_t cols) {
    op_args a = {.step = st, .out = p, .a = g, .m = m, .v = v, .cols = cols, .ld = ld};
    fn_on(path, &update_rows_range_fns)(&a, 0, rows);
}

nn_status nn_cpu_update(nn_backend *be, const nn_opt_step *st, nn_view p, nn_view g, nn_view m,
                        nn_view v, size_t n, nn_error *err) {
    if (st->kind != NN_OPT_SGD && st->kind != NN_OPT_MOMENTUM && st->kind != NN_OPT_ADAM)
        return nn_error_set(err, NN_E_INVALID, "update: unknown optimizer %d", (int)st->kind);
    op_args a = {.step = st, .out = nn_cpu_ptr(p) /* (n) */, .a = nn_cpu_ptr(g) /* (n) */,
                 .m = m.buf ? nn_cpu_ptr(m) : NULL, .v = v.buf ? nn_cpu_ptr(v) : NULL};
    par_for(be, n, PAR_MIN_ELEMS, on_path(be, &update_range_fns), &a);
    return NN_OK;
}
