/* model_file.c — save models from, and load them onto, a backend (the
 * host-only reader is in model_read.c). */
#include "io/io_internal.h"

#include <math.h>
#include <stdlib.h>

nn_status nn_model_save(nn_model *m, const nn_model_meta *meta, const char *path, nn_error *err) {
    if (m == NULL || meta == NULL || path == NULL)
        return io_error(err, NN_E_INVALID, "nn_model_save: NULL argument");
    const nn_model_config *cfg = nn_model_config_of(m);
    nn_status st = io_meta_check(cfg, meta, path, err);
    if (st != NN_OK) return st;
    const size_t n = nn_model_param_count(m), layers = cfg->n_sizes - 1;
    float *params = malloc(n * sizeof(float));     /* (n) slab layout */
    float *buf = malloc(n * sizeof(float));        /* (n) PyTorch layout */
    char(*names)[48] = malloc(2 * layers * sizeof *names);
    nn_st_tensor *t = malloc(2 * layers * sizeof *t); /* (2 * layers) */
    io_kvlist l = {0};
    if (params == NULL || buf == NULL || names == NULL || t == NULL) {
        st = io_error(err, NN_E_NOMEM, "%s: out of memory for %zu parameters", path, n);
        goto done;
    }
    if ((st = nn_model_get_params(m, params, n, err)) != NN_OK) goto done;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(params[i])) {
            st = io_error(err, NN_E_NUMERIC,
                          "%s: not saved: parameter %zu of the model is %s", path, i,
                          isnan(params[i]) ? "NaN" : "Inf");
            goto done;
        }
    io_params_to_tensors(cfg, params, buf, "", names, t);
    io_meta_encode(cfg, meta, &l);
    st = io_write_file(path, IO_MODEL, &l, t, 2 * layers, err);
done:
    io_kv_free(&l);
    free(params);
    free(buf);
    free(names);
    free(t);
    return st;
}

nn_status nn_model_load(nn_backend *be, const char *path, nn_model **out, nn_model_meta *meta,
                        nn_error *err) {
    if (be == NULL || out == NULL)
        return io_error(err, NN_E_INVALID, "nn_model_load: NULL argument");
    *out = NULL;
    nn_model_meta local;
    nn_model_meta *mm = meta != NULL ? meta : &local;
    float *params;
    size_t n;
    nn_status st = nn_model_file_read(path, mm, &params, &n, err);
    if (st != NN_OK) return st;
    nn_model *m = NULL;
    st = nn_model_create(be, &mm->config, &m, err);
    if (st == NN_OK && nn_model_param_count(m) != n)
        st = io_error(err, NN_E_INVALID, "%s: %zu parameters, the model has %zu", path, n,
                      nn_model_param_count(m));
    if (st == NN_OK) st = nn_model_set_params(m, params, n, err);
    free(params);
    if (st != NN_OK) {
        nn_model_free(m);
        nn_model_meta_free(mm);
        return st;
    }
    if (meta == NULL) nn_model_meta_free(&local);
    *out = m;
    return NN_OK;
}
