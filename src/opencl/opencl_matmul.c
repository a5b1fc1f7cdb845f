/* opencl_matmul.c — matmul launches: pick the program of the product's
 * shape class, decide for each operand whether the kernel reads it in place
 * (through strides) or from a packed copy, and derive the NDRange from the
 * same tile sizes the program was built with. See kernels/matmul.cl for the
 * layouts. */
#include <stdint.h>

#include "opencl/opencl_internal.h"

/* How nn_matmul reads one operand: element (row r of block at i0, step p) at
 * mem[off + i0*blk + r*rs + p*ps] for A, mem[off + j0*blk + p*ps + q] for B. */
typedef struct operand {
    cl_mem mem;
    cl_ulong off, blk, rs, ps;
    cl_uint cols; /* B only: readable columns per row of the layout */
} operand;

static size_t round_up(size_t x, size_t to) { return (x + to - 1) / to * to; }

/* Scratch `slot` with room for a (k, w_pad) matrix; checks the sizes. */
static nn_status packed_space(nn_cl_ctx *c, int slot, size_t k, size_t w_pad, cl_mem *out,
                              nn_error *err) {
    nn_status st = nn_cl_check_dims("matmul", w_pad, k, 0, err);
    if (st != NN_OK) return st;
    if (w_pad > SIZE_MAX / sizeof(float) / k)
        return nn_error_set(err, NN_E_NOMEM, "matmul: packed operand of %zu x %zu overflows", k,
                            w_pad);
    return nn_cl_scratch(c, slot, w_pad * k * sizeof(float), out, err);
}

/* Copy the (k, w) matrix X(p, j) = src[off + p*s_p + j*s_j] into `slot` as
 * panels of (k, pw) (pw = wpt_m for NN_K_PACK_A, wpt_n for NN_K_PACK_B),
 * zero-padded to a multiple of pw columns; *out = the copy. */
static nn_status pack_panels(nn_cl_ctx *c, const nn_cl_prog *p, nn_cl_kernel_id id, int slot,
                             cl_mem src, size_t off, size_t k, size_t w, size_t pw, size_t s_p,
                             size_t s_j, cl_mem *out, nn_error *err) {
    nn_status st = packed_space(c, slot, k, round_up(w, pw), out, err); /* (w_pad/pw, k, pw) */
    if (st != NN_OK) return st;
    nn_cl_call kc = nn_cl_begin_in(p, id);
    nn_cl_arg_mem(&kc, *out);
    nn_cl_arg_mem(&kc, src);
    nn_cl_arg_u64(&kc, off);
    nn_cl_arg_u32(&kc, (cl_uint)k);
    nn_cl_arg_u32(&kc, (cl_uint)w);
    nn_cl_arg_u64(&kc, s_p);
    nn_cl_arg_u64(&kc, s_j);
    const size_t work[2] = {k, (w + pw - 1) / pw}; /* (row p, panel) */
    size_t local[2] = {(size_t)p->mm.pack_wg * p->mm.pack_wg, 1}; /* as the transpose's group */
    if (local[0] > kc.max_wg) local[0] = kc.max_wg;
    return nn_cl_launch(c, &kc, 2, work, local, err);
}

/* Row-major (k, w_pad) copy of X(p, j) = src[off + p + j*s_j] (b stored
 * transposed) into the B scratch, zero past column w; *out = the copy. */
static nn_status transpose(nn_cl_ctx *c, const nn_cl_prog *p, cl_mem src, size_t off, size_t k,
                           size_t w, size_t w_pad, size_t s_j, cl_mem *out, nn_error *err) {
    nn_status st = packed_space(c, NN_SCRATCH_PACK_B, k, w_pad, out, err); /* (k, w_pad) */
    if (st != NN_OK) return st;
    nn_cl_call kc = nn_cl_begin_in(p, NN_K_TRANSPOSE);
    nn_cl_arg_mem(&kc, *out);
    nn_cl_arg_mem(&kc, src);
    nn_cl_arg_u64(&kc, off);
    nn_cl_arg_u32(&kc, (cl_uint)k);
    nn_cl_arg_u32(&kc, (cl_uint)w);
    nn_cl_arg_u32(&kc, (cl_uint)w_pad);
    nn_cl_arg_u64(&kc, s_j);
    const size_t work[2] = {k, w_pad}, local[2] = {p->mm.pack_wg, p->mm.pack_wg};
    return nn_cl_launch(c, &kc, 2, work, local, err);
}

/* Layout of op(a): (m, k), packed when it is stored transposed and large. */
static nn_status operand_a(nn_cl_ctx *c, const nn_cl_prog *p, nn_view a, size_t m, size_t k,
                           int ta, operand *o, nn_error *err) {
    const nn_cl_mm *t = &p->mm;
    o->mem = a.buf->mem;
    o->off = a.off;
    o->cols = 0;
    if (ta && t->pack_panels && k > 0 && (double)m * (double)k > (double)t->direct_max) {
        /* op(a)^T is (k, m) with element (p, i) at a[p*m + i] */
        o->off = 0;
        o->blk = k;
        o->rs = 1;
        o->ps = t->wpt_m;
        return pack_panels(c, p, NN_K_PACK_A, NN_SCRATCH_PACK_A, a.buf->mem, a.off, k, m, t->wpt_m,
                           m, 1, &o->mem, err);
    }
    o->blk = ta ? 1 : k;
    o->rs = ta ? 1 : k;
    o->ps = ta ? m : 1;
    return NN_OK;
}

/* Layout of op(b): (k, n), packed when transposed, or large on a CPU device. */
static nn_status operand_b(nn_cl_ctx *c, const nn_cl_prog *p, nn_view b, size_t n, size_t k,
                           int tb, operand *o, nn_error *err) {
    const nn_cl_mm *t = &p->mm;
    o->mem = b.buf->mem;
    o->off = b.off;
    o->rs = 0;
    int big = t->pack_panels && (double)n * (double)k > (double)t->direct_max;
    if (k > 0 && (tb || big) && t->pack_panels) {
        /* element (p, j) at b[p*n + j], or at b[j*k + p] when transposed */
        o->off = 0;
        o->blk = k;
        o->ps = t->wpt_n;
        o->cols = (cl_uint)round_up(n, t->wpt_n);
        return pack_panels(c, p, NN_K_PACK_B, NN_SCRATCH_PACK_B, b.buf->mem, b.off, k, n, t->wpt_n,
                           tb ? 1 : n, tb ? k : 1, &o->mem, err);
    }
    if (k > 0 && tb) {
        const size_t w_pad = round_up(n, t->wpt_n);
        o->off = 0;
        o->blk = 1;
        o->ps = w_pad;
        o->cols = (cl_uint)w_pad;
        return transpose(c, p, b.buf->mem, b.off, k, n, w_pad, k, &o->mem, err);
    }
    o->blk = 1;
    o->ps = n;
    o->cols = (cl_uint)n;
    return NN_OK;
}

const nn_cl_prog *nn_cl_matmul_prog(const nn_cl_ctx *c, size_t m, size_t n, size_t k) {
    return &c->mm[c->mm_of[nn_tune_shape_class(m, n, k)]];
}

nn_status nn_cl_matmul(nn_backend *be, nn_view c, nn_view a, nn_view b, size_t m, size_t n,
                       size_t k, int trans_a, int trans_b, int accumulate, nn_error *err) {
    nn_cl_ctx *ctx = nn_cl_of(be);
    return nn_cl_matmul_with(ctx, nn_cl_matmul_prog(ctx, m, n, k), c, a, b, m, n, k, trans_a,
                             trans_b, accumulate, err);
}

nn_status nn_cl_matmul_with(nn_cl_ctx *ctx, const nn_cl_prog *p, nn_view c, nn_view a, nn_view b,
                            size_t m, size_t n, size_t k, int trans_a, int trans_b,
                            int accumulate, nn_error *err) {
    nn_status st = nn_cl_check_dims("matmul", m, n, k, err);
    if (st != NN_OK) return st;
    /* c: (m, n); a: (m, k) or (k, m); b: (k, n) or (n, k) — sizes fit in 64 bits */
    st = nn_cl_check_view(c, m * n, "matmul", "c", err);
    if (st == NN_OK) st = nn_cl_check_view(a, m * k, "matmul", "a", err);
    if (st == NN_OK) st = nn_cl_check_view(b, k * n, "matmul", "b", err);
    if (st != NN_OK || m == 0 || n == 0) return st;

    operand oa, ob;
    st = operand_a(ctx, p, a, m, k, trans_a, &oa, err);
    if (st == NN_OK) st = operand_b(ctx, p, b, n, k, trans_b, &ob, err);
    if (st != NN_OK) return st;

    const nn_cl_mm *t = &p->mm;
    nn_cl_call kc = nn_cl_begin_in(p, t->local ? NN_K_MATMUL_LOCAL : NN_K_MATMUL);
    nn_cl_arg_view(&kc, c);
    nn_cl_arg_mem(&kc, oa.mem);
    nn_cl_arg_u64(&kc, oa.off);
    nn_cl_arg_u64(&kc, oa.blk);
    nn_cl_arg_u64(&kc, oa.rs);
    nn_cl_arg_u64(&kc, oa.ps);
    nn_cl_arg_mem(&kc, ob.mem);
    nn_cl_arg_u64(&kc, ob.off);
    nn_cl_arg_u64(&kc, ob.blk);
    nn_cl_arg_u64(&kc, ob.ps);
    nn_cl_arg_u32(&kc, ob.cols);
    nn_cl_arg_u32(&kc, (cl_uint)m);
    nn_cl_arg_u32(&kc, (cl_uint)n);
    nn_cl_arg_u32(&kc, (cl_uint)k);
    nn_cl_arg_i32(&kc, accumulate != 0);
    const size_t work[2] = {(n + t->wpt_n - 1) / t->wpt_n, (m + t->wpt_m - 1) / t->wpt_m};
    const size_t local[2] = {t->wg_n, t->wg_m};
    return nn_cl_launch(ctx, &kc, 2, work, local, err);
}
