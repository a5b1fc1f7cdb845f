/* parity_step.c — one step of two backends from the same state, compared
 * element by element against the bounds of its double recomputation
 * (parity_bound.c); contracts in nn_tools.h section 4. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "parity_bound.h"

#define TRY(call)                                                                                  \
    do {                                                                                           \
        st = (call);                                                                               \
        if (st != NN_OK) goto done;                                                                \
    } while (0)

/* What one backend computed in the step, copied to the host. */
typedef struct observed {
    nn_train_state after;          /* parameters and moments after the step */
    float *grads;                  /* (n_params) */
    float *z[NN_MAX_LAYERS];       /* (rows, out_l) pre-activations */
    float *a[NN_MAX_LAYERS];       /* (rows, out_l) activations */
    double loss;                   /* the step's batch loss */
    float *slab;                   /* grads, z and a */
} observed;

static void observed_free(observed *o) {
    nn_train_state_free(&o->after);
    free(o->slab);
    memset(o, 0, sizeof *o);
}

static nn_status observe(nn_trainer *t, nn_model *m, size_t rows, observed *o, nn_error *err) {
    const nn_model_config *mc = nn_model_config_of(m);
    const size_t L = mc->n_sizes - 1, np = nn_model_param_count(m);
    size_t total = np;
    for (size_t l = 0; l < L; l++) total += 2 * rows * mc->sizes[l + 1];
    memset(o, 0, sizeof *o);
    o->slab = malloc((total ? total : 1) * sizeof(float));
    if (!o->slab) return nn_error_set(err, NN_E_NOMEM, "out of memory reading a step");
    float *p = o->slab;
    o->grads = p;
    p += np;
    for (size_t l = 0; l < L; l++) {
        o->z[l] = p;
        p += rows * mc->sizes[l + 1];
        o->a[l] = p;
        p += rows * mc->sizes[l + 1];
    }
    o->loss = nn_trainer_step_loss(t);
    nn_status st = nn_model_get_grads(m, o->grads, np, err);
    for (size_t l = 0; st == NN_OK && l < L; l++)
        st = nn_model_get_layer(m, l, rows, o->z[l], o->a[l], err);
    if (st == NN_OK) st = nn_trainer_get_state(t, &o->after, err);
    return st;
}

/* Rows rows[0..R) of src into x: (R, features) and labels y: (R). */
static nn_status read_batch(const nn_source *src, const uint64_t *rows, size_t R, float *x,
                            float *y, nn_error *err) {
    if (src->fill_rows) return src->fill_rows(src->ctx, rows, R, x, y, err);
    for (size_t i = 0; i < R;) { /* runs of consecutive rows in one call */
        size_t j = i + 1;
        while (j < R && rows[j] == rows[j - 1] + 1) j++;
        nn_status st = src->fill(src->ctx, rows[i], j - i, x + i * src->features, y + i, err);
        if (st != NN_OK) return st;
        i = j;
    }
    return NN_OK;
}

/* Loss targets t: (R, outs) from labels y: (R), as the trainer makes them. */
static void targets(nn_loss loss, const float *y, size_t R, size_t outs, float *t) {
    for (size_t r = 0; r < R; r++) {
        float *tr = t + r * outs;
        if (loss == NN_LOSS_CE) {
            memset(tr, 0, outs * sizeof *tr);
            if (y[r] >= 0 && (size_t)y[r] < outs) tr[(size_t)y[r]] = 1.0f;
        } else {
            for (size_t j = 0; j < outs; j++) tr[j] = y[r];
        }
    }
}

/* |x - v| in units of e (0 when equal, inf when e is 0 or x is NaN). */
static double deviation(double x, double v, double e) {
    const double d = fabs(x - v);
    if (d == 0.0) return 0.0;
    return e > 0.0 && !isnan(d) ? d / e : INFINITY;
}

/* Element i of an item: the backends' values xr, xo, the recomputed value v
 * with bound e; ref_base is subtracted from xr for the reference norm (the
 * update's w_before), else 0. Norms are accumulated squared (item_end). */
static void item_add(nn_parity_item *it, double xr, double xo, double ref_base, double v, double e,
                     size_t i) {
    const double d = fabs(xo - xr), b = 2.0 * e, rr = xr - ref_base;
    const double ratio =
        d <= b ? (b > 0.0 ? d / b : 0.0) : (b > 0.0 && !isnan(d) ? d / b : INFINITY);
    it->n++;
    it->diff_norm += d * d;
    it->ref_norm += rr * rr;
    it->tol_norm += b * b;
    if (!(d <= b)) it->beyond++;
    if (it->n == 1 || ratio > it->worst) {
        it->worst = ratio;
        it->worst_index = i;
    }
    const double dr = deviation(xr, v, e), dx = deviation(xo, v, e);
    if (dr > it->dev_ref || isnan(dr)) it->dev_ref = dr;
    if (dx > it->dev_other || isnan(dx)) it->dev_other = dx;
}

static void item_end(nn_parity_item *it) {
    it->diff_norm = sqrt(it->diff_norm);
    it->ref_norm = sqrt(it->ref_norm);
    it->tol_norm = sqrt(it->tol_norm);
}

/* Items over n floats from two backends against a recomputed pb_val slice. */
static void compare(nn_parity_item *it, const float *xr, const float *xo, const float *base,
                    const double *v, const double *e, size_t n) {
    memset(it, 0, sizeof *it);
    for (size_t i = 0; i < n; i++)
        item_add(it, xr[i], xo[i], base ? base[i] : 0.0, v[i], e[i], i);
    item_end(it);
}

static int finite_all(const float *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

/* 1 when every result of the reference backend's step is finite. */
static int all_finite(const observed *r, size_t np, const nn_model_config *mc, size_t R) {
    int ok = isfinite(r->loss) && finite_all(r->grads, np) && finite_all(r->after.params, np);
    for (size_t l = 0; ok && l + 1 < mc->n_sizes; l++)
        ok = finite_all(r->z[l], R * mc->sizes[l + 1]) && finite_all(r->a[l], R * mc->sizes[l + 1]);
    return ok;
}

/* The first item out of tolerance in the order the step computes them. */
static void verdict(nn_parity_step *s) {
    const size_t L = s->n_layers;
    s->ok = s->ref_finite;
    s->bad_layer = -1;
    if (!s->ok) return;
    typedef struct slot {
        size_t layer;
        nn_parity_qty q;
    } slot;
    slot order[NN_MAX_LAYERS * NN_PQ_COUNT + 1];
    size_t n = 0;
    for (size_t l = 0; l < L; l++) {
        order[n++] = (slot){l, NN_PQ_Z};
        order[n++] = (slot){l, NN_PQ_A};
    }
    order[n++] = (slot){L - 1, NN_PQ_LOSS};
    for (size_t l = L; l-- > 0;) {
        order[n++] = (slot){l, NN_PQ_DW};
        order[n++] = (slot){l, NN_PQ_DB};
    }
    for (size_t l = 0; l < L; l++) {
        order[n++] = (slot){l, NN_PQ_M};
        order[n++] = (slot){l, NN_PQ_V};
        order[n++] = (slot){l, NN_PQ_UPDATE};
    }
    for (size_t k = 0; k < n; k++) {
        const nn_parity_item *it = &s->item[order[k].layer][order[k].q];
        if (it->n && !nn_parity_item_ok(it)) {
            s->ok = 0;
            s->bad_layer = (int)order[k].layer;
            s->bad_qty = order[k].q;
            return;
        }
    }
}

/* Fill out from the two observations and the recomputation. */
static void fill_items(nn_parity_step *out, const nn_model_config *mc, const nn_train_state *before,
                       const observed *r, const observed *o, const pb_result *ref, size_t R) {
    const size_t L = mc->n_sizes - 1;
    size_t off = 0;
    for (size_t l = 0; l < L; l++) {
        const size_t ni = mc->sizes[l], no = mc->sizes[l + 1], wo = off, bo = off + ni * no;
        const size_t len = ni * no + no;
        off += len;
        nn_parity_item *it = out->item[l];
        compare(&it[NN_PQ_Z], r->z[l], o->z[l], NULL, ref->z[l].v, ref->z[l].e, R * no);
        compare(&it[NN_PQ_A], r->a[l], o->a[l], NULL, ref->a[l].v, ref->a[l].e, R * no);
        compare(&it[NN_PQ_DW], r->grads + wo, o->grads + wo, NULL, ref->g.v + wo, ref->g.e + wo,
                ni * no);
        compare(&it[NN_PQ_DB], r->grads + bo, o->grads + bo, NULL, ref->g.v + bo, ref->g.e + bo,
                no);
        if (ref->m.v)
            compare(&it[NN_PQ_M], r->after.opt_m + wo, o->after.opt_m + wo, NULL, ref->m.v + wo,
                    ref->m.e + wo, len);
        if (ref->v.v)
            compare(&it[NN_PQ_V], r->after.opt_v + wo, o->after.opt_v + wo, NULL, ref->v.v + wo,
                    ref->v.e + wo, len);
        compare(&it[NN_PQ_UPDATE], r->after.params + wo, o->after.params + wo,
                before->params + wo, ref->p.v + wo, ref->p.e + wo, len);
        out->kink_near[l] = ref->kink_near[l];
        out->kink_flips[l] = ref->kink_flips[l];
    }
    nn_parity_item *loss = &out->item[L - 1][NN_PQ_LOSS];
    memset(loss, 0, sizeof *loss);
    item_add(loss, r->loss, o->loss, 0.0, ref->loss, ref->loss_e, 0);
    item_end(loss);
    out->loss_ref = r->loss;
    out->loss = o->loss;
    out->loss_exact = ref->loss;
}

/* NN_E_INVALID unless the two models have the same shape. */
static nn_status same_shape(const nn_model_config *a, const nn_model_config *b, nn_error *err) {
    int same = a->n_sizes == b->n_sizes && a->hidden == b->hidden && a->loss == b->loss;
    for (size_t i = 0; same && i < a->n_sizes; i++) same = a->sizes[i] == b->sizes[i];
    return same ? NN_OK
                : nn_error_set(err, NN_E_INVALID, "parity: the two models differ in shape");
}

/* Both trainers take their next step, each model keeping the pre-activations
 * of every layer (the step's Z are compared, and their signs decide ReLU's
 * derivative in the recomputation). A non-finite epoch loss of other's
 * (NN_E_NUMERIC) is a result to compare, not a failure. */
static nn_status step_both(nn_trainer *ref, nn_model *ref_model, nn_trainer *other,
                           nn_model *other_model, nn_error *err) {
    const int keep_ref = nn_model_keep_preactivations(ref_model, 1);
    const int keep_other = nn_model_keep_preactivations(other_model, 1);
    nn_status st = nn_trainer_step(ref, err);
    if (st == NN_OK) {
        nn_error other_err;
        st = nn_trainer_step(other, &other_err);
        if (st == NN_E_NUMERIC) st = NN_OK;
        else if (st != NN_OK && err) *err = other_err;
    }
    nn_model_keep_preactivations(other_model, keep_other); /* reverse order: ref may be other */
    nn_model_keep_preactivations(ref_model, keep_ref);
    return st;
}

nn_status nn_parity_step_check(nn_trainer *ref, nn_model *ref_model, nn_trainer *other,
                               nn_model *other_model, const nn_source *src,
                               const nn_train_config *cfg, nn_parity_step *out, nn_error *err) {
    memset(out, 0, sizeof *out);
    out->bad_layer = -1;
    const nn_model_config *mc = nn_model_config_of(ref_model);
    nn_status st = same_shape(mc, nn_model_config_of(other_model), err);
    if (st != NN_OK) return st;
    if (!cfg->step_loss)
        return nn_error_set(err, NN_E_INVALID, "parity: the trainers need cfg.step_loss = 1");
    const size_t L = mc->n_sizes - 1, f = src->features, outs = mc->sizes[L];
    const size_t cap = cfg->batch && cfg->batch < src->n ? cfg->batch : (size_t)src->n;
    nn_train_state before;
    memset(&before, 0, sizeof before);
    observed r, o;
    memset(&r, 0, sizeof r);
    memset(&o, 0, sizeof o);
    pb_result res;
    memset(&res, 0, sizeof res);
    uint64_t *rows = malloc((cap ? cap : 1) * sizeof *rows);                /* (cap) */
    float *x = malloc((cap * f + 2 * cap * (outs + 1) + 1) * sizeof(float)); /* x, y, t */
    if (!rows || !x) {
        st = nn_error_set(err, NN_E_NOMEM, "out of memory for a batch of %zu rows", cap);
        goto done;
    }
    size_t R = 0;
    TRY(nn_trainer_get_state(ref, &before, err));
    TRY(nn_trainer_set_state(other, &before, err));
    TRY(nn_trainer_batch_rows(ref, rows, cap, &R, err));
    float *y = x + cap * f, *t = y + cap; /* (R) labels, (R, outs) targets */
    TRY(read_batch(src, rows, R, x, y, err));
    targets(mc->loss, y, R, outs, t);
    out->step = before.step;
    out->epoch = before.epoch;
    out->epoch_step = before.epoch_step;
    out->rows = R;
    out->n_layers = L;

    TRY(step_both(ref, ref_model, other, other_model, err));
    TRY(observe(ref, ref_model, R, &r, err));
    TRY(observe(other, other_model, R, &o, err));

    const uint64_t t_adam = before.step + 1; /* as the trainer counts Adam's steps */
    const float *zr[NN_MAX_LAYERS], *zo[NN_MAX_LAYERS];
    for (size_t l = 0; l < L; l++) {
        zr[l] = r.z[l];
        zo[l] = o.z[l];
    }
    const pb_input in = {
        .mc = mc, .opt = cfg->optimizer, .lr = (float)cfg->lr, .momentum = (float)cfg->momentum,
        .beta1 = (float)cfg->beta1, .beta2 = (float)cfg->beta2, .eps = (float)cfg->eps,
        .c1 = (float)(1.0 / (1.0 - pow(cfg->beta1, (double)t_adam))),
        .c2 = (float)(1.0 / (1.0 - pow(cfg->beta2, (double)t_adam))),
        .grad_scale = 1.0f / (float)R, .rows = R, .x = x, .t = t, .params = before.params,
        .opt_m = before.opt_m, .opt_v = before.opt_v, .z_ref = zr, .z_other = zo};
    TRY(pb_step(&in, &res, err));
    fill_items(out, mc, &before, &r, &o, &res, R);
    out->ref_finite = all_finite(&r, nn_model_param_count(ref_model), mc, R);
    verdict(out);
done:
    pb_free(&res);
    observed_free(&r);
    observed_free(&o);
    nn_train_state_free(&before);
    free(rows);
    free(x);
    return st;
}
