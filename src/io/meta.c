/* meta.c — model metadata <-> safetensors __metadata__, and the parameter
 * slab <-> PyTorch-named tensors: the parts model files and checkpoints
 * share. */
#include "io/io_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef NN_VERSION
#error "NN_VERSION (the CMake project version) must be defined when building src/io"
#endif

const char *nn_version(void) { return NN_VERSION; }

void nn_model_meta_free(nn_model_meta *meta) {
    if (meta == NULL) return;
    nn_scaler_free(&meta->scaler);
    free(meta->dataset);
    memset(meta, 0, sizeof *meta);
}

/* ------------------------------------------------------------ kv lists */

void io_kv_add(io_kvlist *l, const char *key, const char *value) {
    if (l->failed) return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 32;
        nn_kv *items = realloc(l->items, cap * sizeof *items);
        if (items == NULL) {
            l->failed = 1;
            return;
        }
        l->items = items;
        l->cap = cap;
    }
    char *k = strdup(key), *v = strdup(value);
    if (k == NULL || v == NULL) {
        free(k);
        free(v);
        l->failed = 1;
        return;
    }
    l->items[l->n++] = (nn_kv){k, v};
}

void io_kv_addf(io_kvlist *l, const char *key, const char *fmt, ...) {
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    io_kv_add(l, key, buf);
}

void io_kv_add_double(io_kvlist *l, const char *key, double v) {
    io_str s = {0};
    io_str_add_doubles(&s, &v, 1);
    if (s.failed) l->failed = 1;
    else io_kv_add(l, key, s.s);
    io_str_free(&s);
}

void io_kv_free(io_kvlist *l) {
    for (size_t i = 0; i < l->n; i++) {
        free((char *)l->items[i].key);
        free((char *)l->items[i].value);
    }
    free(l->items);
    memset(l, 0, sizeof *l);
}

/* ------------------------------------------------------------ layout */

uint64_t io_param_count(const nn_model_config *cfg) {
    uint64_t n = 0;
    for (size_t l = 0; l + 1 < cfg->n_sizes; l++) {
        uint64_t in = cfg->sizes[l], out = cfg->sizes[l + 1];
        if (in > IO_MAX_WIDTH || out > IO_MAX_WIDTH) return 0;
        n += (in + 1) * out; /* <= 2^48 per layer, no overflow over 64 layers */
    }
    return n;
}

void io_tensor_name(char *buf, size_t cap, size_t layer, int bias) {
    snprintf(buf, cap, "%zu.%s", 2 * layer, bias ? "bias" : "weight");
}

void io_params_to_tensors(const nn_model_config *cfg, const float *params, float *buf,
                          const char *prefix, char (*names)[48], nn_st_tensor *t) {
    size_t off = 0;
    for (size_t l = 0; l + 1 < cfg->n_sizes; l++) {
        const size_t in = cfg->sizes[l], out = cfg->sizes[l + 1];
        const float *w = params + off; /* (in, out) */
        float *wt = buf + off;         /* (out, in) */
        for (size_t i = 0; i < in; i++)
            for (size_t o = 0; o < out; o++) wt[o * in + i] = w[i * out + o];
        memcpy(buf + off + in * out, params + off + in * out, out * sizeof(float));
        for (int bias = 0; bias < 2; bias++) {
            char *nm = names[2 * l + (size_t)bias];
            snprintf(nm, 48, "%s", prefix);
            io_tensor_name(nm + strlen(nm), 48 - strlen(nm), l, bias);
            nn_st_tensor *x = &t[2 * l + (size_t)bias];
            memset(x, 0, sizeof *x);
            x->name = nm;
            x->dtype = NN_ST_F32;
            x->ndim = bias ? 1 : 2;
            x->shape[0] = out;
            x->shape[1] = bias ? 0 : in;
            x->data = bias ? buf + off + in * out : wt;
        }
        off += (in + 1) * out;
    }
}

/* ------------------------------------------------------------ encoding */

nn_status io_meta_check(const nn_model_config *cfg, const nn_model_meta *meta, const char *path,
                        nn_error *err) {
    const size_t inputs = cfg->sizes[0], outputs = cfg->sizes[cfg->n_sizes - 1];
    const nn_scaler *sc = &meta->scaler;
    if (sc->features != 0) {
        if (sc->features != inputs)
            return io_error(err, NN_E_INVALID,
                            "%s: the scaler has %zu features, the model %zu inputs", path,
                            sc->features, inputs);
        if (sc->mean == NULL || sc->std == NULL)
            return io_error(err, NN_E_INVALID, "%s: the scaler has no mean or std", path);
        for (size_t i = 0; i < inputs; i++)
            if (!isfinite(sc->mean[i]) || !isfinite(sc->std[i]) || !(sc->std[i] > 0.0))
                return io_error(err, NN_E_INVALID,
                                "%s: scaler feature %zu has mean %g and std %g (need finite, "
                                "std > 0)",
                                path, i + 1, sc->mean[i], sc->std[i]);
    }
    if (cfg->loss == NN_LOSS_CE && meta->classes != outputs)
        return io_error(err, NN_E_INVALID,
                        "%s: loss ce with %zu outputs needs classes = %zu, meta says %zu", path,
                        outputs, outputs, meta->classes);
    if (cfg->loss == NN_LOSS_BCE && meta->classes != 2)
        return io_error(err, NN_E_INVALID, "%s: loss bce needs classes = 2, meta says %zu",
                        path, meta->classes);
    if (meta->classes == 1)
        return io_error(err, NN_E_INVALID, "%s: classes = 1 (0 = regression, else >= 2)", path);
    return NN_OK;
}

/* Copy s with each byte that is not part of valid UTF-8 replaced by '?'. */
static char *utf8_sanitized(const char *s) {
    size_t len = strlen(s);
    char *d = malloc(len + 1);
    if (d == NULL) return NULL;
    for (size_t i = 0; i < len;) {
        size_t n = io_utf8_seq((const unsigned char *)s + i, len - i);
        if (n == 0) {
            d[i++] = '?';
        } else {
            memcpy(d + i, s + i, n);
            i += n;
        }
    }
    d[len] = '\0';
    return d;
}

void io_meta_encode(const nn_model_config *cfg, const nn_model_meta *meta, io_kvlist *l) {
    io_kv_add(l, "format_version", IO_FORMAT_VERSION);
    io_kv_add(l, "nnbench_version", NN_VERSION);
    io_str s = {0};
    for (size_t i = 0; i < cfg->n_sizes; i++) io_str_addf(&s, "%s%zu", i ? "," : "", cfg->sizes[i]);
    if (s.failed) l->failed = 1;
    else io_kv_add(l, "layers", s.s);
    io_str_free(&s);
    io_kv_add(l, "hidden_activation", nn_act_name(cfg->hidden));
    io_kv_add(l, "loss", nn_loss_name(cfg->loss));
    const nn_act out = cfg->loss == NN_LOSS_BCE ? NN_ACT_SIGMOID
                       : cfg->loss == NN_LOSS_CE ? NN_ACT_SOFTMAX
                                                 : NN_ACT_IDENTITY;
    io_kv_add(l, "output_activation", nn_act_name(out));
    io_kv_addf(l, "classes", "%zu", meta->classes);
    if (meta->scaler.features == 0) {
        io_kv_add(l, "input_scaling", "none");
    } else {
        io_kv_add(l, "input_scaling", "standardize");
        io_str m = {0}, d = {0};
        io_str_add_doubles(&m, meta->scaler.mean, meta->scaler.features);
        io_str_add_doubles(&d, meta->scaler.std, meta->scaler.features);
        if (m.failed || d.failed) {
            l->failed = 1;
        } else {
            io_kv_add(l, "input_mean", m.s);
            io_kv_add(l, "input_std", d.s);
        }
        io_str_free(&m);
        io_str_free(&d);
    }
    char *ds = utf8_sanitized(meta->dataset ? meta->dataset : "");
    if (ds == NULL) l->failed = 1;
    else io_kv_add(l, "dataset", ds);
    free(ds);
    io_kv_addf(l, "seed", "%llu", (unsigned long long)meta->seed);
    io_kv_addf(l, "init_seed", "%llu", (unsigned long long)cfg->seed);
    io_kv_addf(l, "epochs", "%llu", (unsigned long long)meta->epochs);
}

nn_status io_write_file(const char *path, io_kind kind, io_kvlist *l, const nn_st_tensor *t,
                        size_t n, nn_error *err) {
    io_kv_add(l, "format", kind == IO_MODEL ? IO_FORMAT_MODEL : IO_FORMAT_CHECKPOINT);
    io_kv_addf(l, "checksum", "crc32:%08x", (unsigned)nn_st_data_crc32(t, n));
    if (l->failed) return io_error(err, NN_E_NOMEM, "%s: out of memory", path);
    /* "format" first in the file, for people reading the header */
    nn_kv first = l->items[l->n - 2];
    memmove(l->items + 1, l->items, (l->n - 2) * sizeof *l->items);
    l->items[0] = first;
    nn_outfile *of;
    nn_status st = nn_outfile_open(path, 1, &of, err);
    if (st != NN_OK) return st;
    st = nn_st_write(nn_outfile_stream(of), t, n, l->items, l->n, path, err);
    if (st != NN_OK) {
        nn_outfile_abort(of);
        return st;
    }
    return nn_outfile_commit(of, err);
}

/* ------------------------------------------------------------ decoding */

/* A required metadata value. */
static nn_status need(const nn_st_file *f, const char *path, const char *key, const char **v,
                      nn_error *err) {
    *v = nn_st_meta_get(f, key);
    if (*v == NULL)
        return io_error(err, NN_E_PARSE, "%s: __metadata__ lacks '%s'", path, key);
    return NN_OK;
}

/* A required decimal uint64 metadata value. */
static nn_status need_u64(const nn_st_file *f, const char *path, const char *key, uint64_t *out,
                          nn_error *err) {
    const char *v;
    nn_status st = need(f, path, key, &v, err);
    if (st != NN_OK) return st;
    if (!io_parse_u64(v, strlen(v), out))
        return io_error(err, NN_E_PARSE,
                        "%s: __metadata__ '%s' is '%.40s', not a non-negative integer", path,
                        key, v);
    return NN_OK;
}

/* "layers": 2 to NN_MAX_LAYERS + 1 widths of 1 to 2^24. */
static nn_status parse_layers(const char *path, const char *v, nn_model_config *cfg,
                              nn_error *err) {
    cfg->n_sizes = 0;
    const char *p = v;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        uint64_t w;
        if (cfg->n_sizes == NN_MAX_LAYERS + 1)
            return io_error(err, NN_E_PARSE, "%s: layers '%.40s...' has more than %d sizes",
                            path, v, NN_MAX_LAYERS + 1);
        if (!io_parse_u64(p, len, &w) || w == 0 || w > IO_MAX_WIDTH)
            return io_error(err, NN_E_PARSE,
                            "%s: layers '%.80s': size %zu must be an integer from 1 to %llu",
                            path, v, cfg->n_sizes + 1, (unsigned long long)IO_MAX_WIDTH);
        cfg->sizes[cfg->n_sizes++] = (size_t)w;
        if (!comma) break;
        p = comma + 1;
    }
    if (cfg->n_sizes < 2)
        return io_error(err, NN_E_PARSE, "%s: layers '%.40s' needs at least 2 sizes", path, v);
    return NN_OK;
}

/* Architecture and names. */
static nn_status decode_config(const nn_st_file *f, const char *path, nn_model_meta *meta,
                               nn_error *err) {
    const char *v;
    nn_status st;
    nn_model_config *cfg = &meta->config;
    if ((st = need(f, path, "layers", &v, err)) != NN_OK ||
        (st = parse_layers(path, v, cfg, err)) != NN_OK)
        return st;
    if ((st = need(f, path, "hidden_activation", &v, err)) != NN_OK) return st;
    if (nn_act_parse(v, &cfg->hidden, NULL) != NN_OK)
        return io_error(err, NN_E_PARSE,
                        "%s: unknown hidden_activation '%.40s' (expected relu, sigmoid or "
                        "tanh)",
                        path, v);
    if ((st = need(f, path, "loss", &v, err)) != NN_OK) return st;
    if (nn_loss_parse(v, &cfg->loss, NULL) != NN_OK)
        return io_error(err, NN_E_PARSE, "%s: unknown loss '%.40s' (expected bce, ce or mse)",
                        path, v);
    if ((st = need(f, path, "output_activation", &v, err)) != NN_OK) return st;
    const char *want = cfg->loss == NN_LOSS_BCE ? "sigmoid"
                       : cfg->loss == NN_LOSS_CE ? "softmax"
                                                 : "identity";
    if (strcmp(v, want) != 0)
        return io_error(err, NN_E_PARSE,
                        "%s: output_activation '%.40s' does not match loss %s (which implies "
                        "%s)",
                        path, v, nn_loss_name(cfg->loss), want);
    const size_t outputs = cfg->sizes[cfg->n_sizes - 1];
    if (cfg->loss == NN_LOSS_BCE && outputs != 1)
        return io_error(err, NN_E_PARSE, "%s: loss bce needs 1 output, layers end with %zu",
                        path, outputs);
    if (cfg->loss == NN_LOSS_CE && outputs < 2)
        return io_error(err, NN_E_PARSE, "%s: loss ce needs at least 2 outputs, layers end with %zu",
                        path, outputs);
    uint64_t u;
    if ((st = need_u64(f, path, "classes", &u, err)) != NN_OK) return st;
    if (u == 1 || u > IO_MAX_WIDTH || (cfg->loss == NN_LOSS_CE && u != outputs) ||
        (cfg->loss == NN_LOSS_BCE && u != 2))
        return io_error(err, NN_E_PARSE,
                        "%s: classes %llu does not fit loss %s with %zu output%s", path,
                        (unsigned long long)u, nn_loss_name(cfg->loss), outputs,
                        outputs == 1 ? "" : "s");
    meta->classes = (size_t)u;
    if ((st = need_u64(f, path, "init_seed", &cfg->seed, err)) != NN_OK ||
        (st = need_u64(f, path, "seed", &meta->seed, err)) != NN_OK ||
        (st = need_u64(f, path, "epochs", &meta->epochs, err)) != NN_OK ||
        (st = need(f, path, "nnbench_version", &v, err)) != NN_OK)
        return st;
    snprintf(meta->version, sizeof meta->version, "%s", v);
    return NN_OK;
}

/* Scaler and dataset text (after the tensors bound the input count). */
static nn_status decode_rest(const nn_st_file *f, const char *path, nn_model_meta *meta,
                             nn_error *err) {
    const char *v;
    nn_status st;
    if ((st = need(f, path, "input_scaling", &v, err)) != NN_OK) return st;
    const size_t inputs = meta->config.sizes[0];
    if (strcmp(v, "standardize") == 0) {
        /* 16 bytes per input, at most 4x what 0.weight occupies in the file */
        const char *mv, *sv;
        if ((st = need(f, path, "input_mean", &mv, err)) != NN_OK ||
            (st = need(f, path, "input_std", &sv, err)) != NN_OK)
            return st;
        nn_scaler *sc = &meta->scaler;
        sc->mean = malloc(inputs * sizeof(double)); /* (inputs) */
        sc->std = malloc(inputs * sizeof(double));  /* (inputs) */
        if (sc->mean == NULL || sc->std == NULL)
            return io_error(err, NN_E_NOMEM, "%s: out of memory for the scaler", path);
        sc->features = inputs;
        if (!io_parse_doubles(mv, sc->mean, inputs))
            return io_error(err, NN_E_PARSE,
                            "%s: input_mean must be %zu finite comma-separated numbers", path,
                            inputs);
        if (!io_parse_doubles(sv, sc->std, inputs))
            return io_error(err, NN_E_PARSE,
                            "%s: input_std must be %zu finite comma-separated numbers", path,
                            inputs);
        for (size_t i = 0; i < inputs; i++)
            if (!(sc->std[i] > 0.0))
                return io_error(err, NN_E_PARSE, "%s: input_std of feature %zu is %g (must be > 0)",
                                path, i + 1, sc->std[i]);
    } else if (strcmp(v, "none") != 0) {
        return io_error(err, NN_E_PARSE,
                        "%s: unknown input_scaling '%.40s' (expected standardize or none)",
                        path, v);
    }
    if ((st = need(f, path, "dataset", &v, err)) != NN_OK) return st;
    meta->dataset = strdup(v);
    if (meta->dataset == NULL) return io_error(err, NN_E_NOMEM, "%s: out of memory", path);
    return NN_OK;
}

/* 1 when name is one of the model's tensor names with the given prefix;
 * *layer and *bias receive which. */
static int model_tensor(const char *name, const char *prefix, size_t layers, size_t *layer,
                        int *bias) {
    size_t pl = strlen(prefix);
    if (strncmp(name, prefix, pl) != 0) return 0;
    name += pl;
    const char *dot = strchr(name, '.');
    uint64_t idx;
    if (dot == NULL || !io_parse_u64(name, (size_t)(dot - name), &idx) || idx % 2 != 0 ||
        idx / 2 >= layers)
        return 0;
    if (strcmp(dot + 1, "weight") == 0) *bias = 0;
    else if (strcmp(dot + 1, "bias") == 0) *bias = 1;
    else return 0;
    *layer = (size_t)(idx / 2);
    return 1;
}

nn_status io_tensors_to_params(const nn_st_file *f, const char *path, const nn_model_config *cfg,
                               const char *prefix, float *dst, int missing_ok, int *found,
                               nn_error *err) {
    const size_t layers = cfg->n_sizes - 1;
    size_t present = 0;
    for (size_t i = 0; i < f->n_tensors; i++) {
        size_t l;
        int b;
        present += model_tensor(f->tensors[i].name, prefix, layers, &l, &b);
    }
    *found = present > 0;
    if (present == 0 && missing_ok) return NN_OK;
    size_t off = 0;
    for (size_t l = 0; l < layers; l++) {
        const size_t in = cfg->sizes[l], out = cfg->sizes[l + 1];
        for (int bias = 0; bias < 2; bias++) {
            char name[64];
            snprintf(name, sizeof name, "%s", prefix);
            io_tensor_name(name + strlen(name), sizeof name - strlen(name), l, bias);
            const nn_st_tensor *t = nn_st_find(f, name);
            if (t == NULL)
                return io_error(err, NN_E_PARSE, "%s: tensor '%s' is missing (layers %zu-%zu)",
                                path, name, in, out);
            const int ok = t->dtype == NN_ST_F32 &&
                           (bias ? t->ndim == 1 && t->shape[0] == out
                                 : t->ndim == 2 && t->shape[0] == out && t->shape[1] == in);
            if (!ok) {
                char shp[96] = "";
                for (size_t d = 0; d < t->ndim; d++) {
                    size_t n = strlen(shp);
                    snprintf(shp + n, sizeof shp - n, "%s%llu", d ? ", " : "",
                             (unsigned long long)t->shape[d]);
                }
                if (bias)
                    return io_error(err, NN_E_PARSE,
                                    "%s: tensor '%s' is %s (%s); layer %zu needs F32 (%zu)",
                                    path, name, nn_st_dtype_name(t->dtype), shp, l + 1, out);
                return io_error(err, NN_E_PARSE,
                                "%s: tensor '%s' is %s (%s); layer %zu (%zu inputs, %zu "
                                "outputs) needs F32 (%zu, %zu)",
                                path, name, nn_st_dtype_name(t->dtype), shp, l + 1, in, out,
                                out, in);
            }
            if (dst == NULL) continue;
            const uint8_t *src = t->data;
            if (bias) {
                io_le_load_f32(dst + off + in * out, src, out);
            } else {
                float *w = dst + off; /* (in, out) from the file's (out, in) */
                for (size_t o = 0; o < out; o++)
                    for (size_t i = 0; i < in; i++) io_le_load_f32(&w[i * out + o], src + 4 * (o * in + i), 1);
            }
        }
        if (dst != NULL)
            for (size_t k = 0; k < (in + 1) * out; k++)
                if (!isfinite(dst[off + k])) {
                    int b = k >= in * out;
                    size_t r = b ? k - in * out : k % out, c = b ? 0 : k / out;
                    char name[64];
                    snprintf(name, sizeof name, "%s", prefix);
                    io_tensor_name(name + strlen(name), sizeof name - strlen(name), l, b);
                    if (b)
                        return io_error(err, NN_E_PARSE, "%s: tensor '%s' holds %s at [%zu]",
                                        path, name, isnan(dst[off + k]) ? "NaN" : "Inf", r);
                    return io_error(err, NN_E_PARSE, "%s: tensor '%s' holds %s at [%zu, %zu]",
                                    path, name, isnan(dst[off + k]) ? "NaN" : "Inf", r, c);
                }
        off += (in + 1) * out;
    }
    return NN_OK;
}

nn_status io_read_model_part(const nn_st_file *f, const char *path, io_kind want,
                             nn_model_meta *meta, float **params, size_t *n_params,
                             nn_error *err) {
    memset(meta, 0, sizeof *meta);
    *params = NULL;
    *n_params = 0;
    const char *v = nn_st_meta_get(f, "format");
    if (v == NULL)
        return io_error(err, NN_E_PARSE,
                        "%s: a safetensors file, but not an nnbench model (no 'format' in "
                        "__metadata__)",
                        path);
    io_kind kind;
    if (strcmp(v, IO_FORMAT_MODEL) == 0) kind = IO_MODEL;
    else if (strcmp(v, IO_FORMAT_CHECKPOINT) == 0) kind = IO_CHECKPOINT;
    else
        return io_error(err, NN_E_PARSE, "%s: format '%.40s' is not %s or %s", path, v,
                        IO_FORMAT_MODEL, IO_FORMAT_CHECKPOINT);
    if (want == IO_CHECKPOINT && kind != IO_CHECKPOINT)
        return io_error(err, NN_E_PARSE,
                        "%s: a model file, not a checkpoint (it has no training state)", path);
    nn_status st = need(f, path, "format_version", &v, err);
    if (st != NN_OK) return st;
    if (strcmp(v, IO_FORMAT_VERSION) != 0)
        return io_error(err, NN_E_PARSE,
                        "%s: format_version '%.20s' is not supported (this nnbench %s reads "
                        "version %s)",
                        path, v, NN_VERSION, IO_FORMAT_VERSION);
    if ((st = decode_config(f, path, meta, err)) != NN_OK) goto fail;
    const nn_model_config *cfg = &meta->config;
    /* every tensor must be one of the model's, or checkpoint state */
    for (size_t i = 0; i < f->n_tensors; i++) {
        size_t l;
        int b;
        const char *n = f->tensors[i].name;
        if (model_tensor(n, "", cfg->n_sizes - 1, &l, &b)) continue;
        if (kind == IO_CHECKPOINT &&
            (strncmp(n, "optimizer.", 10) == 0 || strncmp(n, "train.", 6) == 0))
            continue;
        st = io_error(err, NN_E_PARSE,
                      "%s: unexpected tensor '%.64s' (layers %s have tensors 0.weight, "
                      "0.bias, ... %zu.bias)",
                      path, n, nn_st_meta_get(f, "layers"), 2 * (cfg->n_sizes - 2));
        goto fail;
    }
    int found;
    if ((st = io_tensors_to_params(f, path, cfg, "", NULL, 0, &found, err)) != NN_OK) goto fail;
    /* shapes agree: the data section holds every weight, which bounds what follows */
    if ((st = need(f, path, "checksum", &v, err)) != NN_OK) goto fail;
    uint32_t want_crc = 0;
    int hex_ok = strlen(v) == 14 && strncmp(v, "crc32:", 6) == 0;
    for (size_t i = 6; hex_ok && i < 14; i++) {
        const char c = v[i];
        const int h = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (h < 0) hex_ok = 0;
        want_crc = want_crc << 4 | (uint32_t)(h & 15);
    }
    if (!hex_ok) {
        st = io_error(err, NN_E_PARSE, "%s: checksum '%.40s' is not crc32:<8 hex digits>",
                      path, v);
        goto fail;
    }
    const uint32_t crc = nn_crc32(0, f->data, (size_t)f->data_size);
    if (crc != want_crc) {
        st = io_error(err, NN_E_PARSE,
                      "%s: checksum mismatch: the data is crc32:%08x, the header says "
                      "crc32:%08x (the file is damaged)",
                      path, (unsigned)crc, (unsigned)want_crc);
        goto fail;
    }
    if ((st = decode_rest(f, path, meta, err)) != NN_OK) goto fail;
    const uint64_t count = io_param_count(cfg);
    float *p = malloc((size_t)count * sizeof(float)); /* (count) slab layout */
    if (p == NULL) {
        st = io_error(err, NN_E_NOMEM, "%s: cannot allocate %llu parameters", path,
                      (unsigned long long)count);
        goto fail;
    }
    if ((st = io_tensors_to_params(f, path, cfg, "", p, 0, &found, err)) != NN_OK) {
        free(p);
        goto fail;
    }
    *params = p;
    *n_params = (size_t)count;
    return NN_OK;
fail:
    nn_model_meta_free(meta);
    return st;
}
