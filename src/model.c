/* model.c — the MLP: parameter layout, initialization, forward and backward
 * passes expressed as backend ops, prediction and evaluation. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_impl.h"

#define MAX_WIDTH ((size_t)1 << 24)

nn_act nn_loss_output_act(nn_loss loss) {
    return loss == NN_LOSS_BCE ? NN_ACT_SIGMOID : loss == NN_LOSS_CE ? NN_ACT_SOFTMAX
                                                                      : NN_ACT_IDENTITY;
}

nn_loss nn_loss_for_classes(size_t classes) {
    return classes > 2 ? NN_LOSS_CE : classes == 0 ? NN_LOSS_MSE : NN_LOSS_BCE;
}

size_t nn_loss_outputs(nn_loss loss, size_t classes) { return loss == NN_LOSS_CE ? classes : 1; }

nn_status nn_model_config_check(const nn_model_config *cfg, nn_error *err) {
    if (!cfg) return nn_error_set(err, NN_E_INVALID, "nn_model_config_check: NULL config");
    if (cfg->n_sizes < 2 || cfg->n_sizes > NN_MAX_LAYERS + 1)
        return nn_error_set_param(err, NN_E_INVALID, "layers", "need 2 to %d layer sizes, got %zu",
                                  NN_MAX_LAYERS + 1, cfg->n_sizes);
    for (size_t i = 0; i < cfg->n_sizes; i++)
        if (cfg->sizes[i] == 0 || cfg->sizes[i] > MAX_WIDTH)
            return nn_error_set_param(err, NN_E_INVALID, "layers",
                                      "layer size %zu is %zu (must be 1 to %zu)", i + 1,
                                      cfg->sizes[i], MAX_WIDTH);
    if (cfg->hidden != NN_ACT_RELU && cfg->hidden != NN_ACT_SIGMOID && cfg->hidden != NN_ACT_TANH)
        return nn_error_set_param(err, NN_E_INVALID, "hidden",
                                  "hidden activation must be relu, sigmoid or tanh");
    if (cfg->loss != NN_LOSS_BCE && cfg->loss != NN_LOSS_CE && cfg->loss != NN_LOSS_MSE)
        return nn_error_set_param(err, NN_E_INVALID, "loss", "unknown loss %d", (int)cfg->loss);
    size_t out = cfg->sizes[cfg->n_sizes - 1];
    if (cfg->loss == NN_LOSS_BCE && out != 1)
        return nn_error_set_param(err, NN_E_INVALID, "layers",
                                  "loss bce needs 1 output, the last layer has %zu (use loss ce "
                                  "for %zu classes)", out, out);
    if (cfg->loss == NN_LOSS_CE && out < 2)
        return nn_error_set_param(err, NN_E_INVALID, "layers",
                                  "loss ce needs one output per class (>= 2), the last layer has "
                                  "%zu", out);
    return NN_OK;
}

double nn_model_memory_bytes(const nn_model_config *cfg, size_t batch_rows,
                             nn_optimizer optimizer) {
    /* as nn_model_create and model_reserve allocate: parameters, gradients and
     * optimizer moments; Z and A of every layer and two gradient areas as wide
     * as the widest layer, per row */
    double params = 0, widths = 0, widest = (double)cfg->sizes[0];
    for (size_t l = 0; l + 1 < cfg->n_sizes; l++) {
        const double in = (double)cfg->sizes[l], out = (double)cfg->sizes[l + 1];
        params += in * out + out;
        widths += out;
        if (out > widest) widest = out;
    }
    const double moments = optimizer == NN_OPT_ADAM ? 2 : optimizer == NN_OPT_MOMENTUM ? 1 : 0;
    const double rows = (double)batch_rows;
    return sizeof(float) * (params * (2 + moments) + rows * (2 * widths + 2 * widest) + 2);
}

/* He init for ReLU layers, Xavier/Glorot (normal) otherwise; biases zero.
 * w: (in, out) row-major, drawn from the layer's own stream. */
static void init_layer(float *w, float *b, size_t in, size_t out, nn_act act, uint64_t seed,
                       size_t layer) {
    nn_rng r = nn_rng_make(seed, 0x1000 + layer);
    double scale = act == NN_ACT_RELU ? sqrt(2.0 / (double)in) : sqrt(2.0 / (double)(in + out));
    for (size_t i = 0; i < in * out; i++) w[i] = (float)(nn_rng_normal(&r) * scale);
    memset(b, 0, out * sizeof(float));
}

nn_status nn_model_create(nn_backend *be, const nn_model_config *cfg, nn_model **out,
                          nn_error *err) {
    if (!be || !cfg || !out) return nn_error_set(err, NN_E_INVALID, "nn_model_create: NULL argument");
    *out = NULL;
    nn_status st = nn_model_config_check(cfg, err);
    if (st != NN_OK) return st;

    nn_model *m = calloc(1, sizeof *m);
    if (!m) return nn_error_set(err, NN_E_NOMEM, "out of memory creating the model");
    m->be = be;
    m->cfg = *cfg;
    m->n_layers = cfg->n_sizes - 1;
    size_t off = 0;
    for (size_t l = 0; l < m->n_layers; l++) {
        size_t in = cfg->sizes[l], o = cfg->sizes[l + 1];
        if (in > (SIZE_MAX / 4 - off) / (o + 1)) {
            free(m);
            return nn_error_set_param(err, NN_E_NOMEM, "layers",
                                      "layer %zu (%zu x %zu) is too large", l + 1, in, o);
        }
        m->act[l] = l + 1 == m->n_layers ? nn_loss_output_act(cfg->loss) : cfg->hidden;
        m->w_off[l] = off;
        off += in * o;
        m->b_off[l] = off;
        off += o;
        if (o > m->max_width) m->max_width = o;
    }
    if (cfg->sizes[0] > m->max_width) m->max_width = cfg->sizes[0];
    m->n_params = off;

    float *host = malloc(m->n_params * sizeof(float)); /* (n_params) initial values */
    if (!host) {
        size_t n = m->n_params;
        free(m);
        return nn_error_set(err, NN_E_NOMEM, "out of memory: %zu parameters", n);
    }
    for (size_t l = 0; l < m->n_layers; l++)
        init_layer(host + m->w_off[l], host + m->b_off[l], cfg->sizes[l], cfg->sizes[l + 1],
                   m->act[l], cfg->seed, l);

    const struct nn_backend_ops *ops = be->ops;
    if ((st = ops->alloc(be, m->n_params, &m->params, err)) == NN_OK &&
        (st = ops->alloc(be, m->n_params, &m->grads, err)) == NN_OK &&
        (st = ops->alloc(be, 2, &m->loss_acc, err)) == NN_OK)
        st = ops->write(be, (nn_view){m->params, 0}, host, m->n_params, err);
    m->params_gen = 1;
    free(host);
    if (st != NN_OK) {
        nn_model_free(m);
        return st;
    }
    *out = m;
    return NN_OK;
}

void nn_model_free(nn_model *m) {
    if (!m) return;
    model_rows_free(m);
    const struct nn_backend_ops *ops = m->be->ops;
    nn_buf *bufs[] = {m->params, m->grads, m->opt_m, m->opt_v, m->acts, m->delta, m->loss_acc,
                      m->row_parts, m->row_copies};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (bufs[i]) ops->release(m->be, bufs[i]);
    free(m);
}

const nn_model_config *nn_model_config_of(const nn_model *m) { return &m->cfg; }
size_t nn_model_param_count(const nn_model *m) { return m->n_params; }

nn_status nn_model_get_params(nn_model *m, float *dst, size_t count, nn_error *err) {
    if (count != m->n_params)
        return nn_error_set(err, NN_E_INVALID, "get_params: count %zu, model has %zu", count,
                            m->n_params);
    TRY(model_settle(m, err));
    return m->be->ops->read(m->be, (nn_view){m->params, 0}, dst, count, err);
}

nn_status nn_model_get_grads(nn_model *m, float *dst, size_t count, nn_error *err) {
    if (count != m->n_params)
        return nn_error_set(err, NN_E_INVALID, "get_grads: count %zu, model has %zu", count,
                            m->n_params);
    TRY(model_settle(m, err));
    return m->be->ops->read(m->be, (nn_view){m->grads, 0}, dst, count, err);
}

nn_status nn_model_set_params(nn_model *m, const float *src, size_t count, nn_error *err) {
    if (count != m->n_params)
        return nn_error_set(err, NN_E_INVALID, "set_params: count %zu, model has %zu", count,
                            m->n_params);
    TRY(model_settle(m, err));
    model_params_written(m);
    return m->be->ops->write(m->be, (nn_view){m->params, 0}, src, count, err);
}

nn_status model_reserve(nn_model *m, size_t rows, nn_error *err) {
    if (rows <= m->cap_rows) return NN_OK;
    TRY(model_rows_finish(m, err)); /* a step's chunks still use the workspace */
    const struct nn_backend_ops *ops = m->be->ops;
    size_t per_row = 0;
    for (size_t l = 0; l < m->n_layers; l++) per_row += 2 * model_width(m, l + 1);
    if (rows > SIZE_MAX / 4 / (per_row + 2 * m->max_width))
        return nn_error_set(err, NN_E_NOMEM, "workspace for %zu rows is too large", rows);
    if (m->acts) ops->release(m->be, m->acts);
    if (m->delta) ops->release(m->be, m->delta);
    m->acts = m->delta = NULL;
    m->cap_rows = 0;
    nn_status st = ops->alloc(m->be, rows * per_row, &m->acts, err);
    if (st == NN_OK) st = ops->alloc(m->be, 2 * rows * m->max_width, &m->delta, err);
    if (st != NN_OK) return st;
    size_t off = 0;
    for (size_t l = 0; l < m->n_layers; l++) {
        m->z_off[l] = off;
        off += rows * model_width(m, l + 1);
        m->a_off[l] = off;
        off += rows * model_width(m, l + 1);
    }
    m->cap_rows = rows;
    return NN_OK;
}

nn_status model_reserve_optimizer(nn_model *m, nn_optimizer opt, nn_error *err) {
    const struct nn_backend_ops *ops = m->be->ops;
    TRY(model_settle(m, err));
    nn_status st = NN_OK;
    model_params_written(m);
    if (opt != NN_OPT_SGD && !m->opt_m) st = ops->alloc(m->be, m->n_params, &m->opt_m, err);
    if (st == NN_OK && opt == NN_OPT_ADAM && !m->opt_v)
        st = ops->alloc(m->be, m->n_params, &m->opt_v, err);
    if (st == NN_OK && opt != NN_OPT_SGD)
        st = ops->fill(m->be, (nn_view){m->opt_m, 0}, 0.0f, m->n_params, err);
    if (st == NN_OK && opt == NN_OPT_ADAM)
        st = ops->fill(m->be, (nn_view){m->opt_v, 0}, 0.0f, m->n_params, err);
    return st;
}

static nn_view zview(const nn_model *m, size_t l) { return (nn_view){m->acts, m->z_off[l]}; }
static nn_view aview(const nn_model *m, size_t l) { return (nn_view){m->acts, m->a_off[l]}; }
nn_view model_output(const nn_model *m) { return aview(m, m->n_layers - 1); }
nn_view model_logits(const nn_model *m) { return zview(m, m->n_layers - 1); }

/* Forward pass: per layer one fused op when the backend has it, else
 * matmul then bias and activation (fused or not). */
nn_status model_forward(nn_model *m, nn_view x, size_t rows, nn_error *err) {
    nn_backend *be = m->be;
    const struct nn_backend_ops *ops = be->ops;
    nn_view in = x;
    TRY(model_settle(m, err));
    m->layers_stale = 0;
    for (size_t l = 0; l < m->n_layers; l++) {
        size_t ni = model_width(m, l), no = model_width(m, l + 1);
        m->z_kept[l] = (unsigned char)model_keeps_z(m, l);
        nn_view z = m->z_kept[l] ? zview(m, l) : (nn_view){NULL, 0}, a = aview(m, l);
        nn_view w = {m->params, m->w_off[l]}, b = {m->params, m->b_off[l]};
        if (ops->dense_forward) {
            TRY(ops->dense_forward(be, m->act[l], z, a, in, w, b, rows, ni, no, err));
        } else {
            TRY(ops->matmul(be, z, in, w, rows, no, ni, 0, 0, 0, err));
            if (ops->bias_act) {
                TRY(ops->bias_act(be, m->act[l], z, a, b, rows, no, err));
            } else {
                TRY(ops->bias_add(be, z, b, rows, no, err));
                TRY(ops->act_forward(be, m->act[l], a, z, rows, no, err));
            }
        }
        in = a;
    }
    return NN_OK;
}

nn_status model_backward(nn_model *m, nn_view x, nn_view t, size_t rows, float grad_scale,
                         model_grad_hook hook, void *user, nn_error *err) {
    return model_backward_loss(m, x, t, rows, grad_scale, (nn_view){NULL, 0}, hook, user, NULL,
                               NULL, err);
}

/* dZ_L: (rows, outputs) into dz from the outputs against t, adding the rows'
 * loss to loss_acc when loss_acc.buf; with db_with_dz, a backend that fuses
 * them also sums the last layer's bias gradient (*db_done = 1). */
static nn_status backward_loss(nn_model *m, nn_view dz, nn_view t, size_t rows, float grad_scale,
                               nn_view loss_acc, int db_with_dz, int *db_done, nn_error *err) {
    nn_backend *be = m->be;
    const struct nn_backend_ops *ops = be->ops;
    const size_t L = m->n_layers, o = model_outputs(m);
    *db_done = 0;
    if (ops->loss_grad_sum) {
        nn_view db = db_with_dz ? (nn_view){m->grads, m->b_off[L - 1]} : (nn_view){NULL, 0};
        TRY(ops->loss_grad_sum(be, m->cfg.loss, loss_acc, dz, db, model_logits(m), model_output(m),
                               t, rows, o, grad_scale, err));
        *db_done = db_with_dz;
        return NN_OK;
    }
    if (loss_acc.buf)
        TRY(ops->loss_sum(be, m->cfg.loss, loss_acc, model_logits(m), t, rows, o, err));
    return ops->loss_grad(be, m->cfg.loss, dz, model_output(m), t, rows, o, grad_scale, err);
}

/* Layer l with the update fused: dA_{l-1} into da (l > 0) from W_l before its
 * update, then dW_l, db_l and W_l's optimizer step in one op. */
static nn_status backward_layer_update(nn_model *m, size_t l, nn_view in, nn_view dz, nn_view da,
                                       size_t rows, const nn_opt_step *update, nn_error *err) {
    nn_backend *be = m->be;
    const struct nn_backend_ops *ops = be->ops;
    const size_t ni = model_width(m, l), no = model_width(m, l + 1);
    nn_view w = {m->params, m->w_off[l]};
    if (l > 0) {
        nn_view zp = model_keeps_z(m, l - 1) ? zview(m, l - 1) : (nn_view){NULL, 0};
        TRY(ops->dense_backward_dx(be, m->act[l - 1], da, dz, w, zp, aview(m, l - 1), rows, ni,
                                   no, err));
    }
    nn_view om = {m->opt_m, m->opt_m ? m->w_off[l] : 0}; /* NULL views without the state */
    nn_view ov = {m->opt_v, m->opt_v ? m->w_off[l] : 0};
    model_params_written(m);
    return ops->dense_backward_dw_update(be, (nn_view){m->grads, m->w_off[l]}, in, dz, rows, ni,
                                         no, update, w, om, ov, err);
}

/* Layer l: dW_l and db_l (unless *db_done), its hook, then dA_{l-1} into da
 * (l > 0) through the activation; a backend that fuses it with dA_{l-1} (and
 * db_with_dz) also sums db_{l-1} (*db_done = 1 for the next layer). */
static nn_status backward_layer(nn_model *m, size_t l, nn_view in, nn_view dz, nn_view da,
                                size_t rows, int db_with_dz, int *db_done, model_grad_hook hook,
                                void *user, nn_error *err) {
    nn_backend *be = m->be;
    const struct nn_backend_ops *ops = be->ops;
    const size_t ni = model_width(m, l), no = model_width(m, l + 1);
    const nn_view none = {NULL, 0}, w = {m->params, m->w_off[l]};
    nn_view dw = {m->grads, m->w_off[l]}, db = {m->grads, m->b_off[l]};
    /* dW_l: (ni, no) = in^T · dZ_l ; db_l: (no) = column sums of dZ_l */
    if (ops->dense_backward_dw) {
        TRY(ops->dense_backward_dw(be, dw, *db_done ? none : db, in, dz, rows, ni, no, err));
    } else {
        TRY(ops->matmul(be, dw, in, dz, ni, no, rows, 1, 0, 0, err));
        if (!*db_done) TRY(ops->col_sum(be, db, dz, rows, no, err));
    }
    if (hook) TRY(hook(user, l, err));
    *db_done = 0;
    if (l == 0) return NN_OK;
    /* dA_{l-1}: (rows, ni) = dZ_l · W_l^T, then through the activation in place */
    nn_view zp = model_keeps_z(m, l - 1) ? zview(m, l - 1) : none, yp = aview(m, l - 1);
    const nn_act act = m->act[l - 1];
    if (ops->dense_backward_dx)
        return ops->dense_backward_dx(be, act, da, dz, w, zp, yp, rows, ni, no, err);
    TRY(ops->matmul(be, da, dz, w, rows, ni, no, 0, 1, 0, err));
    if (!ops->act_backward_sum || !db_with_dz)
        return ops->act_backward(be, act, da, da, zp, yp, rows, ni, err);
    *db_done = 1;
    return ops->act_backward_sum(be, act, da, (nn_view){m->grads, m->b_off[l - 1]}, da, zp, yp,
                                 rows, ni, err);
}

/* Backward pass. The bias gradient db_l = col_sum(dZ_l) is computed with dW_l
 * when the backend fuses those (dense_backward_dw), else together with dZ_l
 * itself when the backend fuses that (loss_grad_sum, act_backward_sum), else
 * on its own; either way before layer l's hook. With an update to fuse (no
 * hook, dense_backward_dw_update), each layer's dA_{l-1} is computed first,
 * from W_l before its update, then dW_l, db_l and the update in one job. */
nn_status model_backward_loss(nn_model *m, nn_view x, nn_view t, size_t rows, float grad_scale,
                              nn_view loss_acc, model_grad_hook hook, void *user,
                              const nn_opt_step *update, int *updated, nn_error *err) {
    const struct nn_backend_ops *ops = m->be->ops;
    const size_t half = m->cap_rows * m->max_width;
    const int db_with_dz = !ops->dense_backward_dw; /* where db goes when a dz op can take it */
    const int fuse_update = update && !hook && ops->dense_backward_dw_update &&
                            ops->dense_backward_dw && ops->dense_backward_dx;
    if (updated) *updated = fuse_update;
    nn_view dz = {m->delta, 0}; /* (rows, out_l) gradient wrt Z_l */
    int db_done = 0;            /* db of the current layer already computed */
    TRY(backward_loss(m, dz, t, rows, grad_scale, loss_acc, db_with_dz, &db_done, err));
    for (size_t l = m->n_layers; l-- > 0;) {
        nn_view in = l == 0 ? x : aview(m, l - 1); /* (rows, in_l) */
        nn_view da = {m->delta, dz.off == 0 ? half : 0};
        if (fuse_update)
            TRY(backward_layer_update(m, l, in, dz, da, rows, update, err));
        else
            TRY(backward_layer(m, l, in, dz, da, rows, db_with_dz, &db_done, hook, user, err));
        dz = da;
    }
    return NN_OK;
}

nn_status nn_model_predict(nn_model *m, const float *x, size_t rows, float *out, nn_error *err) {
    nn_backend *be = m->be;
    const struct nn_backend_ops *ops = be->ops;
    const size_t ni = model_inputs(m), no = model_outputs(m);
    const size_t chunk = rows < 4096 ? (rows ? rows : 1) : 4096;
    TRY(model_reserve(m, chunk, err));
    nn_buf *xb = NULL; /* (chunk, inputs) */
    TRY(ops->alloc(be, chunk * ni, &xb, err));
    nn_status st = NN_OK;
    for (size_t r0 = 0; r0 < rows && st == NN_OK; r0 += chunk) {
        size_t n = rows - r0 < chunk ? rows - r0 : chunk;
        st = ops->write(be, (nn_view){xb, 0}, x + r0 * ni, n * ni, err);
        if (st == NN_OK) st = model_forward(m, (nn_view){xb, 0}, n, err);
        if (st == NN_OK) st = ops->read(be, model_output(m), out + r0 * no, n * no, err);
    }
    ops->release(be, xb);
    return st;
}

double nn_model_flops_per_sample(const nn_model *m, int training) {
    double f = 0.0;
    for (size_t l = 0; l < m->n_layers; l++) {
        double in = (double)model_width(m, l), out = (double)model_width(m, l + 1);
        double mm = 2.0 * in * out;
        f += training ? (l == 0 ? 2.0 : 3.0) * mm : mm; /* forward, dW, and dX except layer 0 */
    }
    return f;
}

/* Add the loss and the number of correct predictions of rows p: (n, outputs)
 * against labels y: (n) to *loss and *correct (loss formulas of the tutorial,
 * from probabilities with the 1e-15 clip). */
static void score_rows(const nn_model *m, const float *p, const float *y, size_t n, double *loss,
                       uint64_t *correct) {
    const size_t no = model_outputs(m);
    for (size_t i = 0; i < n; i++) {
        const float *pi = p + i * no;
        double yi = y[i];
        int finite = 1;
        for (size_t j = 0; j < no; j++) finite &= isfinite(pi[j]) != 0;
        if (!finite) { /* diverged weights: the loss must not look finite */
            *loss = NAN;
            continue;
        }
        if (m->cfg.loss == NN_LOSS_BCE) {
            double q = fmin(fmax(pi[0], NN_BCE_EPS), 1.0 - NN_BCE_EPS);
            *loss += -(yi * log(q) + (1.0 - yi) * log(1.0 - q));
            *correct += (pi[0] >= 0.5f) == (yi >= 0.5);
        } else if (m->cfg.loss == NN_LOSS_CE) {
            size_t best = 0;
            for (size_t j = 1; j < no; j++)
                if (pi[j] > pi[best]) best = j;
            size_t label = (size_t)yi;
            *loss += -log(fmax(label < no ? pi[label] : 0.0, NN_BCE_EPS));
            *correct += best == label;
        } else {
            for (size_t j = 0; j < no; j++) *loss += (pi[j] - yi) * (pi[j] - yi) / (double)no;
        }
    }
}

nn_status nn_model_evaluate_source(nn_model *m, const nn_source *src, nn_eval *out, nn_error *err) {
    const size_t no = model_outputs(m), f = model_inputs(m);
    if (src->features != f)
        return nn_error_set(err, NN_E_INVALID, "evaluate: data has %zu features, model takes %zu",
                            src->features, f);
    const size_t chunk = src->n < 65536 ? (size_t)(src->n ? src->n : 1) : 65536;
    float *x = malloc(chunk * f * sizeof(float)); /* (chunk, features) */
    float *y = malloc(chunk * sizeof(float));     /* (chunk) */
    float *p = malloc(chunk * no * sizeof(float)); /* (chunk, outputs) */
    nn_status st = NN_OK;
    if (!x || !y || !p) st = nn_error_set(err, NN_E_NOMEM, "out of memory evaluating the model");
    double loss = 0.0;
    uint64_t correct = 0;
    for (uint64_t r0 = 0; st == NN_OK && r0 < src->n; r0 += chunk) {
        size_t n = src->n - r0 < chunk ? (size_t)(src->n - r0) : chunk;
        st = src->fill(src->ctx, r0, n, x, y, err);
        if (st == NN_OK) st = nn_model_predict(m, x, n, p, err);
        if (st == NN_OK) score_rows(m, p, y, n, &loss, &correct);
    }
    free(x);
    free(y);
    free(p);
    if (st != NN_OK) return st;
    out->loss = src->n ? loss / (double)src->n : 0.0;
    out->accuracy = m->cfg.loss == NN_LOSS_MSE ? -1.0 : src->n ? (double)correct / (double)src->n : 0.0;
    if (!isfinite(out->loss))
        return nn_error_set(err, NN_E_NUMERIC, "evaluation loss is not finite");
    return NN_OK;
}

nn_status nn_model_evaluate(nn_model *m, const nn_dataset *ds, nn_eval *out, nn_error *err) {
    nn_source src = nn_source_from_dataset(ds);
    return nn_model_evaluate_source(m, &src, out, err);
}
