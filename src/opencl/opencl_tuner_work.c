/* opencl_tuner_work.c — the tuner's workloads: random inputs, the CPU
 * backend's results as the reference, verification of a candidate (every
 * output element within its tolerance, canaries around every output intact)
 * and timed runs.
 *
 * Tolerances: a product's element c_ij may differ from the CPU's by
 * 1e-6 + 2 (k + 1) FLT_EPSILON sum_p |a_ip b_pj| (each side is within
 * k FLT_EPSILON of the exact sum, whatever its summation order); the
 * elementwise ops, the gather and the column sums do the same float
 * operations in the same order on both backends and must match exactly;
 * Adam (division and square root) within 2 ulp; the loss sum (different
 * summation orders) within 2e-6 relative (1e-5 without fp64). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opencl/opencl_tuner.h"

#define CANARY (-7777.25f)

/* n floats uniform in [lo, hi) from (seed, stream); malloc'ed (NULL on failure). */
static float *random_floats(size_t n, uint64_t seed, uint64_t stream, float lo, float hi) {
    float *x = malloc((n ? n : 1) * sizeof *x);
    if (!x) return NULL;
    nn_rng r = nn_rng_make(seed, stream);
    for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * (float)nn_rng_uniform(&r);
    return x;
}

/* A buffer of n elements on be holding src, with `pad` canaries on each side
 * (the data is then viewed at offset pad). */
static nn_status upload(nn_backend *be, const void *src, size_t n, size_t pad, nn_buf **out,
                        nn_error *err) {
    float *all = malloc((n + 2 * pad) * sizeof *all); /* (pad + n + pad) */
    if (!all) return nn_error_set(err, NN_E_NOMEM, "tuner: out of memory for %zu elements", n);
    for (size_t i = 0; i < pad; i++) all[i] = all[pad + n + i] = CANARY;
    memcpy(all + pad, src, n * sizeof *all);
    nn_status st = be->ops->alloc(be, n + 2 * pad, out, err);
    if (st == NN_OK) st = be->ops->write(be, (nn_view){*out, 0}, all, n + 2 * pad, err);
    free(all);
    return st;
}

/* Release buffers of be (NULL entries skipped). */
static void release(nn_backend *be, nn_buf **b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (b[i]) {
            be->ops->release(be, b[i]);
            b[i] = NULL;
        }
}

/* Set up output o of n elements with initial contents init (NULL: NaN). */
static nn_status make_out(tn_state *s, tn_out *o, size_t n, const float *init, nn_error *err) {
    o->n = n;
    o->init = malloc((n + 2 * TN_PAD) * sizeof(float)); /* (PAD + n + PAD) */
    o->ref = calloc(n ? n : 1, sizeof(float));          /* (n) */
    o->tol = calloc(n ? n : 1, sizeof(float));          /* (n) */
    if (!o->init || !o->ref || !o->tol)
        return nn_error_set(err, NN_E_NOMEM, "tuner: out of memory for %zu elements", n);
    for (size_t i = 0; i < TN_PAD; i++) o->init[i] = o->init[TN_PAD + n + i] = CANARY;
    for (size_t i = 0; i < n; i++) o->init[TN_PAD + i] = init ? init[i] : NAN;
    nn_status st = s->ocl->ops->alloc(s->ocl, n + 2 * TN_PAD, &o->buf, err);
    return st;
}

/* The CPU backend's view of host data: a fresh buffer holding x[0..n). */
static nn_status cpu_buf(tn_state *s, const void *x, size_t n, nn_buf **out, nn_error *err) {
    return upload(s->cpu, x, n, 0, out, err);
}

/* Read a CPU buffer's n elements into dst. */
static nn_status cpu_read(tn_state *s, nn_buf *b, float *dst, size_t n, nn_error *err) {
    return s->cpu->ops->read(s->cpu, (nn_view){b, 0}, dst, n, err);
}

nn_status tn_work_matmul(tn_state *s, tn_work *w, size_t m, size_t n, size_t k, int ta, int tb,
                         nn_error *err) {
    memset(w, 0, sizeof *w);
    w->kind = TN_MATMUL;
    w->m = m, w->n = n, w->k = k, w->ta = ta, w->tb = tb;
    w->amount = 2.0 * (double)m * (double)n * (double)k;
    snprintf(w->label, sizeof w->label, "%c%c %zux%zux%zu", ta ? 'T' : 'N', tb ? 'T' : 'N', m, n,
             k);
    const uint64_t seed = m * 1000003u + n * 1009u + k * 7u + (uint64_t)(2 * ta + tb);
    float *a = random_floats(m * k, seed, 1, -1, 1); /* (m, k) or (k, m) */
    float *b = random_floats(k * n, seed, 2, -1, 1); /* (k, n) or (n, k) */
    nn_buf *cb[5] = {NULL};                         /* cpu: a, b, c, |a|, |b| */
    nn_status st = (a && b) ? NN_OK : nn_error_set(err, NN_E_NOMEM, "tuner: out of memory");
    if (st == NN_OK) st = upload(s->ocl, a, m * k, TN_PAD, &w->in[0], err);
    if (st == NN_OK) st = upload(s->ocl, b, k * n, TN_PAD, &w->in[1], err);
    if (st == NN_OK) st = make_out(s, &w->out[0], m * n, NULL, err);
    w->n_outs = 1;
    tn_out *o = &w->out[0];
    /* reference and magnitudes sum_p |a_ip b_pj| on the CPU backend */
    if (st == NN_OK) st = cpu_buf(s, a, m * k, &cb[0], err);
    if (st == NN_OK) st = cpu_buf(s, b, k * n, &cb[1], err);
    if (st == NN_OK) st = s->cpu->ops->alloc(s->cpu, m * n, &cb[2], err);
    if (st == NN_OK)
        st = s->cpu->ops->matmul(s->cpu, (nn_view){cb[2], 0}, (nn_view){cb[0], 0},
                                 (nn_view){cb[1], 0}, m, n, k, ta, tb, 0, err);
    if (st == NN_OK) st = cpu_read(s, cb[2], o->ref, m * n, err);
    if (st == NN_OK) {
        for (size_t i = 0; i < m * k; i++) a[i] = fabsf(a[i]);
        for (size_t i = 0; i < k * n; i++) b[i] = fabsf(b[i]);
        st = cpu_buf(s, a, m * k, &cb[3], err);
    }
    if (st == NN_OK) st = cpu_buf(s, b, k * n, &cb[4], err);
    if (st == NN_OK)
        st = s->cpu->ops->matmul(s->cpu, (nn_view){cb[2], 0}, (nn_view){cb[3], 0},
                                 (nn_view){cb[4], 0}, m, n, k, ta, tb, 0, err);
    if (st == NN_OK) st = cpu_read(s, cb[2], o->tol, m * n, err);
    if (st == NN_OK)
        for (size_t i = 0; i < m * n; i++) /* 1.01: the magnitudes' own float rounding */
            o->tol[i] = (float)(1e-6 + 2.0 * (double)(k + 1) * FLT_EPSILON * 1.01 * o->tol[i]);
    release(s->cpu, cb, 5);
    free(a);
    free(b);
    return st;
}

/* Run op w on backend be with buffers `in` and outputs `out` (views at `pad`). */
static nn_status op_call(nn_backend *be, tn_work *w, nn_buf *const *in, nn_buf *const *out,
                         size_t pad, nn_error *err) {
    const nn_view o0 = {out[0], pad}, i0 = {in[0], pad}, i1 = {in[1], pad};
    const size_t r = w->m, c = w->n;
    switch (w->kind) {
    case TN_ADAM:
        return be->ops->update(be, &w->step, o0, i0, (nn_view){out[1], pad},
                               (nn_view){out[2], pad}, r * c, err);
    case TN_RELU: return be->ops->act_forward(be, NN_ACT_RELU, o0, i0, r, c, err);
    case TN_BIAS: return be->ops->bias_add(be, o0, i0, r, c, err);
    case TN_GATHER: return be->ops->gather_rows(be, o0, i0, i1, r, c, err);
    case TN_COLSUM: return be->ops->col_sum(be, o0, i0, r, c, err);
    case TN_LOSS: return be->ops->loss_sum(be, NN_LOSS_BCE, o0, i0, i1, r, c, err);
    case TN_MATMUL: break;
    }
    return nn_error_set(err, NN_E_INVALID, "tuner: not an op");
}

nn_status tn_work_op(tn_state *s, tn_work *w, tn_kind kind, size_t rows, size_t cols,
                     nn_error *err) {
    static const char *const NAMES[] = {"matmul", "adam", "relu", "bias_add", "gather", "col_sum",
                                        "loss_bce"};
    memset(w, 0, sizeof *w);
    w->kind = kind;
    w->m = rows, w->n = cols;
    const size_t n = rows * cols, src_rows = 2 * rows;
    w->amount = (double)n;
    snprintf(w->label, sizeof w->label, "%s %zux%zu", NAMES[kind], rows, cols);
    const uint64_t seed = 0x7e57 + (uint64_t)kind;
    float *x[4] = {NULL};       /* host inputs of the op */
    size_t xn[4] = {0};         /* their sizes */
    float *o_init[3] = {NULL};  /* initial outputs (NULL: NaN) */
    size_t on[3] = {0};
    size_t n_in = 1;
    w->n_outs = 1;
    switch (kind) {
    case TN_ADAM: /* in: g; outs: p, m, v */
        w->affect = TN_AFFECT_1D;
        x[0] = random_floats(n, seed, 1, -1, 1), xn[0] = n;
        o_init[0] = random_floats(n, seed, 2, -1, 1);
        o_init[1] = random_floats(n, seed, 3, -0.1f, 0.1f);
        o_init[2] = random_floats(n, seed, 4, 0, 0.01f);
        on[0] = on[1] = on[2] = n;
        w->n_outs = 3;
        w->step.kind = NN_OPT_ADAM;
        w->step.lr = 1e-3f, w->step.beta1 = 0.9f, w->step.beta2 = 0.999f, w->step.eps = 1e-8f;
        w->step.t = 3;
        w->step.c1 = (float)(1.0 / (1.0 - pow(0.9, 3)));
        w->step.c2 = (float)(1.0 / (1.0 - pow(0.999, 3)));
        break;
    case TN_RELU: /* in: z; out: y */
        w->affect = TN_AFFECT_1D;
        x[0] = random_floats(n, seed, 1, -1, 1), xn[0] = n, on[0] = n;
        break;
    case TN_BIAS: /* in: bias; out: z (in place) */
        w->affect = TN_AFFECT_2D;
        x[0] = random_floats(cols, seed, 1, -1, 1), xn[0] = cols;
        o_init[0] = random_floats(n, seed, 2, -1, 1), on[0] = n;
        break;
    case TN_GATHER: /* in: src (2 rows, cols), idx (rows) uint32; out: dst */
        w->affect = TN_AFFECT_2D;
        x[0] = random_floats(src_rows * cols, seed, 1, -1, 1), xn[0] = src_rows * cols;
        x[1] = malloc((rows ? rows : 1) * sizeof(float)), xn[1] = rows;
        if (x[1]) {
            nn_rng r = nn_rng_make(seed, 2);
            for (size_t i = 0; i < rows; i++) {
                uint32_t v = (uint32_t)nn_rng_below(&r, src_rows);
                memcpy(&x[1][i], &v, sizeof v);
            }
        }
        n_in = 2, on[0] = n;
        break;
    case TN_COLSUM: /* in: x; out: (cols) */
        w->affect = TN_AFFECT_1D;
        x[0] = random_floats(n, seed, 1, -1, 1), xn[0] = n, on[0] = cols;
        break;
    case TN_LOSS: /* in: logits z, targets t in {0, 1}; out: the pair (2) */
        w->affect = TN_AFFECT_1D | TN_AFFECT_RED;
        x[0] = random_floats(n, seed, 1, -4, 4), xn[0] = n;
        x[1] = random_floats(n, seed, 2, 0, 1), xn[1] = n;
        if (x[1])
            for (size_t i = 0; i < n; i++) x[1][i] = x[1][i] < 0.5f ? 0.0f : 1.0f;
        o_init[0] = calloc(2, sizeof(float)), on[0] = 2;
        n_in = 2;
        w->out[0].pair = 1;
        break;
    case TN_MATMUL: return nn_error_set(err, NN_E_INVALID, "tuner: not an op");
    }
    nn_status st = NN_OK;
    for (size_t i = 0; i < n_in; i++)
        if (!x[i]) st = nn_error_set(err, NN_E_NOMEM, "tuner: out of memory");
    for (size_t i = 0; i < w->n_outs; i++)
        if (kind != TN_RELU && kind != TN_GATHER && kind != TN_COLSUM && !o_init[i])
            st = nn_error_set(err, NN_E_NOMEM, "tuner: out of memory");
    for (size_t i = 0; i < n_in && st == NN_OK; i++)
        st = upload(s->ocl, x[i], xn[i], TN_PAD, &w->in[i], err);
    for (size_t i = 0; i < w->n_outs && st == NN_OK; i++)
        st = make_out(s, &w->out[i], on[i], o_init[i], err);

    /* the reference: the same call on the CPU backend */
    nn_buf *ci[4] = {NULL}, *co[3] = {NULL};
    for (size_t i = 0; i < n_in && st == NN_OK; i++) st = cpu_buf(s, x[i], xn[i], &ci[i], err);
    for (size_t i = 0; i < w->n_outs && st == NN_OK; i++) {
        st = s->cpu->ops->alloc(s->cpu, on[i], &co[i], err);
        if (st == NN_OK && o_init[i])
            st = s->cpu->ops->write(s->cpu, (nn_view){co[i], 0}, o_init[i], on[i], err);
    }
    if (st == NN_OK) st = op_call(s->cpu, w, ci, co, 0, err);
    for (size_t i = 0; i < w->n_outs && st == NN_OK; i++) {
        tn_out *o = &w->out[i];
        st = cpu_read(s, co[i], o->ref, on[i], err);
        if (st != NN_OK) break;
        if (o->pair) {
            double sum = (double)o->ref[0] + (double)o->ref[1];
            o->tol[0] = (float)(1e-6 + (s->c->fp64 ? 2e-6 : 1e-5) * fabs(sum));
        } else {
            for (size_t j = 0; j < on[i]; j++)
                o->tol[j] = kind == TN_ADAM ? 2.0f * FLT_EPSILON * fabsf(o->ref[j]) + 1e-30f : 0;
        }
    }
    release(s->cpu, ci, 4);
    release(s->cpu, co, 3);
    for (size_t i = 0; i < 4; i++) free(x[i]);
    for (size_t i = 0; i < 3; i++) free(o_init[i]);
    return st;
}

void tn_work_free(tn_state *s, tn_work *w) {
    release(s->ocl, w->in, 4);
    for (size_t i = 0; i < TN_MAX_OUTS; i++) {
        tn_out *o = &w->out[i];
        if (o->buf) s->ocl->ops->release(s->ocl, o->buf);
        free(o->init);
        free(o->ref);
        free(o->tol);
    }
    memset(w, 0, sizeof *w);
}

/* Make candidate x's launch values current for the ops (work-groups, reduce program). */
static void install(tn_state *s, const tn_cand *x, const tn_work *w) {
    if (w->kind == TN_MATMUL) return; /* products take the program explicitly */
    s->c->tune.wg_1d = x->t.wg_1d;
    s->c->tune.wg_2d_x = x->t.wg_2d_x;
    s->c->tune.wg_2d_y = x->t.wg_2d_y;
    s->c->reduce = x->prog;
}

/* One call of w with candidate x (installed); products: accumulate as given. */
static nn_status call(tn_state *s, const tn_cand *x, tn_work *w, int accumulate, nn_error *err) {
    if (w->kind == TN_MATMUL)
        return nn_cl_matmul_with(s->c, &x->prog, (nn_view){w->out[0].buf, TN_PAD},
                                 (nn_view){w->in[0], TN_PAD}, (nn_view){w->in[1], TN_PAD}, w->m,
                                 w->n, w->k, w->ta, w->tb, accumulate, err);
    nn_buf *outs[3] = {w->out[0].buf, w->out[1].buf, w->out[2].buf};
    return op_call(s->ocl, w, w->in, outs, TN_PAD, err);
}

nn_status tn_run(tn_state *s, const tn_cand *x, tn_work *w, size_t times, nn_error *err) {
    install(s, x, w);
    for (size_t i = 0; i < times; i++) {
        nn_status st = call(s, x, w, 0, err);
        if (st != NN_OK) return st;
    }
    cl_int rc = clFinish(s->c->queue);
    return rc == CL_SUCCESS ? NN_OK : nn_cl_fail(err, NN_E_BACKEND, "clFinish", NULL, rc);
}

/* Compare output o read back into got (PAD + n + PAD) with scale * ref. */
static int compare(const tn_out *o, const float *got, double scale, const tn_work *w,
                   char *detail, size_t len) {
    for (size_t i = 0; i < TN_PAD; i++)
        if (got[i] != CANARY || got[TN_PAD + o->n + i] != CANARY) {
            snprintf(detail, len, "%s: wrote outside its output (%s the view)", w->label,
                     got[i] != CANARY ? "before" : "after");
            return 0;
        }
    const float *g = got + TN_PAD;
    if (o->pair) {
        double sum = (double)g[0] + (double)g[1], ref = scale * ((double)o->ref[0] + o->ref[1]);
        if (!(fabs(sum - ref) <= scale * o->tol[0])) {
            snprintf(detail, len, "%s: sum %.9g, CPU %.9g (tolerance %.3g)", w->label, sum, ref,
                     scale * o->tol[0]);
            return 0;
        }
        return 1;
    }
    for (size_t i = 0; i < o->n; i++) {
        const double r = scale * (double)o->ref[i], t = scale * (double)o->tol[i];
        if (!(fabs((double)g[i] - r) <= t)) {
            snprintf(detail, len, "%s: element %zu is %.9g, CPU %.9g (tolerance %.3g)", w->label, i,
                     (double)g[i], r, t);
            return 0;
        }
    }
    return 1;
}

/* Reset w's outputs (and the state they hold) to their initial contents; no
 * op modifies its inputs. */
static nn_status reset(tn_state *s, tn_work *w, nn_error *err) {
    nn_status st = NN_OK;
    for (size_t i = 0; i < w->n_outs && st == NN_OK; i++)
        st = s->ocl->ops->write(s->ocl, (nn_view){w->out[i].buf, 0}, w->out[i].init,
                                w->out[i].n + 2 * TN_PAD, err);
    return st;
}

/* Read every output of w and compare with scale * reference. */
static tn_check check_outputs(tn_state *s, tn_work *w, double scale, char *detail, size_t len) {
    nn_error e;
    for (size_t i = 0; i < w->n_outs; i++) {
        tn_out *o = &w->out[i];
        float *got = malloc((o->n + 2 * TN_PAD) * sizeof *got); /* (PAD + n + PAD) */
        if (!got) {
            snprintf(detail, len, "out of memory");
            return TN_LAUNCH_FAILED;
        }
        if (s->ocl->ops->read(s->ocl, (nn_view){o->buf, 0}, got, o->n + 2 * TN_PAD, &e) != NN_OK) {
            snprintf(detail, len, "%.*s", (int)strcspn(e.msg, "\n"), e.msg);
            free(got);
            return TN_LAUNCH_FAILED;
        }
        int ok = compare(o, got, scale, w, detail, len);
        free(got);
        if (!ok) return TN_VERIFY_FAILED;
    }
    return TN_VERIFIED;
}

tn_check tn_verify(tn_state *s, const tn_cand *x, tn_work *w, char *detail, size_t len) {
    nn_error e;
    detail[0] = '\0';
    install(s, x, w);
    nn_status st = reset(s, w, &e);
    if (st == NN_OK) st = call(s, x, w, 0, &e);
    if (st == NN_OK) {
        cl_int rc = clFinish(s->c->queue);
        if (rc != CL_SUCCESS) st = nn_cl_fail(&e, NN_E_BACKEND, "clFinish", NULL, rc);
    }
    if (st != NN_OK) {
        snprintf(detail, len, "%.*s", (int)strcspn(e.msg, "\n"), e.msg);
        return TN_LAUNCH_FAILED;
    }
    tn_check r = check_outputs(s, w, 1.0, detail, len);
    if (r != TN_VERIFIED || w->kind != TN_MATMUL) return r;
    /* products also accumulate: c (= the product now) + the product again */
    if (call(s, x, w, 1, &e) != NN_OK) {
        snprintf(detail, len, "%.*s", (int)strcspn(e.msg, "\n"), e.msg);
        return TN_LAUNCH_FAILED;
    }
    return check_outputs(s, w, 2.0, detail, len);
}
