/* model_layers.c — a layer's pre-activations and activations from the
 * model's last forward pass, for checking a step against a recomputation
 * (nn_tools.h section 4). */
#include "model_impl.h"

int nn_model_keep_preactivations(nn_model *m, int keep) {
    const int was = m->keep_z;
    m->keep_z = keep != 0;
    return was;
}

nn_status nn_model_get_layer(nn_model *m, size_t layer, size_t rows, float *z, float *a,
                             nn_error *err) {
    if (layer >= m->n_layers)
        return nn_error_set(err, NN_E_INVALID, "get_layer: layer %zu of a model of %zu layers",
                            layer, m->n_layers);
    if (rows > m->cap_rows)
        return nn_error_set(err, NN_E_INVALID,
                            "get_layer: %zu rows asked, the last pass had room for %zu", rows,
                            m->cap_rows);
    if (m->layers_stale)
        return nn_error_set(err, NN_E_INVALID,
                            "get_layer: the last step ran in one pass that keeps no layer's "
                            "values (nn_model_keep_preactivations keeps them)");
    if (z && !m->z_kept[layer])
        return nn_error_set(err, NN_E_INVALID,
                            "get_layer: the last pass did not keep the pre-activations of layer "
                            "%zu (nn_model_keep_preactivations)", layer);
    const size_t n = rows * model_width(m, layer + 1); /* (rows, out) */
    if (n == 0) return NN_OK;
    TRY(model_rows_finish(m, err)); /* a step's chunks still writing them */
    nn_backend *be = m->be;
    nn_status st = NN_OK;
    if (z) st = be->ops->read(be, (nn_view){m->acts, m->z_off[layer]}, z, n, err);
    if (st == NN_OK && a) st = be->ops->read(be, (nn_view){m->acts, m->a_off[layer]}, a, n, err);
    return st;
}
