/* checkpoint.c — training checkpoints: a model file plus optimizer state,
 * counters and the trainer's extra strings. */
#include "io/io_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define EXTRA_PREFIX "extra."

void nn_checkpoint_free(nn_checkpoint *c) {
    if (c == NULL) return;
    nn_model_meta_free(&c->model);
    free(c->params);
    free(c->opt_m);
    free(c->opt_v);
    for (size_t i = 0; i < c->n_extra; i++) {
        free((char *)c->extra[i].key);
        free((char *)c->extra[i].value);
    }
    free(c->extra);
    memset(c, 0, sizeof *c);
}

/* 1 when an extra key is non-empty printable ASCII without spaces. */
static int extra_key_ok(const char *k) {
    if (k == NULL || *k == '\0') return 0;
    for (; *k; k++)
        if (*k < 0x21 || *k > 0x7E) return 0;
    return 1;
}

/* Optimizer state presence rules, shared by save and load. */
static nn_status check_state(const char *path, nn_optimizer opt, int has_m, int has_v,
                             uint64_t step, nn_status code, nn_error *err) {
    const char *name = nn_optimizer_name(opt);
    if (opt == NN_OPT_SGD && (has_m || has_v))
        return io_error(err, code, "%s: optimizer sgd has no moment state, but %s is given",
                        path, has_m ? "opt_m" : "opt_v");
    if (opt == NN_OPT_MOMENTUM && has_v)
        return io_error(err, code,
                        "%s: optimizer momentum has no second moment, but opt_v is given",
                        path);
    if (opt == NN_OPT_ADAM && has_v != has_m)
        return io_error(err, code, "%s: optimizer adam needs both moments, %s is missing",
                        path, has_m ? "opt_v" : "opt_m");
    if (opt != NN_OPT_SGD && step > 0 && !has_m)
        return io_error(err, code,
                        "%s: optimizer %s after %llu steps needs its moment state, none given",
                        path, name, (unsigned long long)step);
    return NN_OK;
}

/* Everything nn_checkpoint_save checks before writing. */
static nn_status check_save(const nn_checkpoint *c, const char *path, nn_error *err) {
    const nn_model_config *cfg = &c->model.config;
    if (cfg->n_sizes < 2 || cfg->n_sizes > NN_MAX_LAYERS + 1)
        return io_error(err, NN_E_INVALID, "%s: model config has %zu layer sizes", path,
                        cfg->n_sizes);
    for (size_t i = 0; i < cfg->n_sizes; i++)
        if (cfg->sizes[i] == 0 || cfg->sizes[i] > IO_MAX_WIDTH)
            return io_error(err, NN_E_INVALID, "%s: layer size %zu is %zu", path, i + 1,
                            cfg->sizes[i]);
    if ((unsigned)cfg->hidden > NN_ACT_TANH || cfg->hidden == NN_ACT_IDENTITY ||
        (unsigned)cfg->loss > NN_LOSS_MSE)
        return io_error(err, NN_E_INVALID, "%s: bad activation or loss in the config", path);
    nn_status st = io_meta_check(cfg, &c->model, path, err);
    if (st != NN_OK) return st;
    const uint64_t n = io_param_count(cfg);
    if (n != c->n_params || c->params == NULL)
        return io_error(err, NN_E_INVALID,
                        "%s: n_params is %zu, layers need %llu (or params is NULL)", path,
                        c->n_params, (unsigned long long)n);
    if ((unsigned)c->optimizer > NN_OPT_ADAM)
        return io_error(err, NN_E_INVALID, "%s: unknown optimizer %d", path, (int)c->optimizer);
    if ((st = check_state(path, c->optimizer, c->opt_m != NULL, c->opt_v != NULL, c->step,
                          NN_E_INVALID, err)) !=
        NN_OK)
        return st;
    const float *arrays[] = {c->params, c->opt_m, c->opt_v};
    const char *names[] = {"params", "opt_m", "opt_v"};
    for (int a = 0; a < 3; a++)
        for (size_t i = 0; arrays[a] != NULL && i < c->n_params; i++)
            if (!isfinite(arrays[a][i]))
                return io_error(err, NN_E_NUMERIC, "%s: not saved: %s[%zu] is %s", path,
                                names[a], i, isnan(arrays[a][i]) ? "NaN" : "Inf");
    if (!isfinite(c->loss_acc[0]) || !isfinite(c->loss_acc[1]))
        return io_error(err, NN_E_NUMERIC, "%s: not saved: loss_acc is not finite", path);
    const double hp[] = {c->lr, c->momentum, c->beta1, c->beta2, c->eps};
    for (int i = 0; i < 5; i++)
        if (!isfinite(hp[i]))
            return io_error(err, NN_E_INVALID, "%s: optimizer hyper-parameter %d is not finite",
                            path, i);
    if (c->n_extra > 0 && c->extra == NULL)
        return io_error(err, NN_E_INVALID, "%s: n_extra is %zu but extra is NULL", path,
                        c->n_extra);
    for (size_t i = 0; i < c->n_extra; i++) {
        if (!extra_key_ok(c->extra[i].key) || c->extra[i].value == NULL)
            return io_error(err, NN_E_INVALID,
                            "%s: extra entry %zu: the key must be printable ASCII without "
                            "spaces, the value a string",
                            path, i);
        for (size_t k = 0; k < i; k++)
            if (strcmp(c->extra[k].key, c->extra[i].key) == 0)
                return io_error(err, NN_E_INVALID, "%s: extra key '%.64s' given twice", path,
                                c->extra[i].key);
    }
    return NN_OK;
}

nn_status nn_checkpoint_save(const nn_checkpoint *c, const char *path, nn_error *err) {
    if (c == NULL || path == NULL)
        return io_error(err, NN_E_INVALID, "nn_checkpoint_save: NULL argument");
    nn_status st = check_save(c, path, err);
    if (st != NN_OK) return st;
    const nn_model_config *cfg = &c->model.config;
    const size_t n = c->n_params, layers = cfg->n_sizes - 1;
    const int groups = 1 + (c->opt_m != NULL) + (c->opt_v != NULL);
    float *buf = malloc((size_t)groups * n * sizeof(float)); /* (groups, n) PyTorch layout */
    char(*names)[48] = malloc((2 * layers * (size_t)groups) * sizeof *names);
    nn_st_tensor *t = malloc((2 * layers * (size_t)groups + 1) * sizeof *t);
    io_kvlist l = {0};
    if (buf == NULL || names == NULL || t == NULL) {
        st = io_error(err, NN_E_NOMEM, "%s: out of memory for %zu parameters", path, n);
        goto done;
    }
    size_t nt = 0;
    const float *src[] = {c->params, c->opt_m, c->opt_v};
    const char *prefix[] = {"", "optimizer.m.", "optimizer.v."};
    for (int g = 0, k = 0; g < 3; g++) {
        if (src[g] == NULL) continue;
        io_params_to_tensors(cfg, src[g], buf + (size_t)k * n, prefix[g], names + nt, t + nt);
        nt += 2 * layers;
        k++;
    }
    t[nt++] = (nn_st_tensor){.name = "train.loss_acc", .dtype = NN_ST_F32, .ndim = 1,
                             .shape = {2}, .data = c->loss_acc};
    io_meta_encode(cfg, &c->model, &l);
    io_kv_add(&l, "optimizer", nn_optimizer_name(c->optimizer));
    io_kv_add_double(&l, "lr", c->lr);
    io_kv_add_double(&l, "momentum", c->momentum);
    io_kv_add_double(&l, "beta1", c->beta1);
    io_kv_add_double(&l, "beta2", c->beta2);
    io_kv_add_double(&l, "eps", c->eps);
    io_kv_addf(&l, "step", "%llu", (unsigned long long)c->step);
    io_kv_addf(&l, "epoch", "%llu", (unsigned long long)c->epoch);
    io_kv_addf(&l, "step_in_epoch", "%llu", (unsigned long long)c->step_in_epoch);
    io_kv_addf(&l, "rows_seen", "%llu", (unsigned long long)c->rows_seen);
    io_kv_addf(&l, "train_seed", "%llu", (unsigned long long)c->seed);
    for (size_t i = 0; i < c->n_extra; i++) {
        io_str k = {0};
        io_str_adds(&k, EXTRA_PREFIX);
        io_str_adds(&k, c->extra[i].key);
        if (k.failed) l.failed = 1;
        else io_kv_add(&l, k.s, c->extra[i].value);
        io_str_free(&k);
    }
    st = io_write_file(path, IO_CHECKPOINT, &l, t, nt, err);
done:
    io_kv_free(&l);
    free(buf);
    free(names);
    free(t);
    return st;
}

/* A required uint64 / double metadata value of a checkpoint. */
static nn_status get_u64(const nn_st_file *f, const char *path, const char *key, uint64_t *out,
                         nn_error *err) {
    const char *v = nn_st_meta_get(f, key);
    if (v == NULL) return io_error(err, NN_E_PARSE, "%s: __metadata__ lacks '%s'", path, key);
    if (!io_parse_u64(v, strlen(v), out))
        return io_error(err, NN_E_PARSE,
                        "%s: __metadata__ '%s' is '%.40s', not a non-negative integer", path,
                        key, v);
    return NN_OK;
}

static nn_status get_double(const nn_st_file *f, const char *path, const char *key, double *out,
                            nn_error *err) {
    const char *v = nn_st_meta_get(f, key);
    if (v == NULL) return io_error(err, NN_E_PARSE, "%s: __metadata__ lacks '%s'", path, key);
    if (!io_parse_doubles(v, out, 1))
        return io_error(err, NN_E_PARSE, "%s: __metadata__ '%s' is '%.40s', not a finite number",
                        path, key, v);
    return NN_OK;
}

/* Training state of a parsed checkpoint whose model part is in c. */
static nn_status read_state(const nn_st_file *f, const char *path, nn_checkpoint *c,
                            nn_error *err) {
    const char *v = nn_st_meta_get(f, "optimizer");
    if (v == NULL) return io_error(err, NN_E_PARSE, "%s: __metadata__ lacks 'optimizer'", path);
    if (nn_optimizer_parse(v, &c->optimizer, NULL) != NN_OK)
        return io_error(err, NN_E_PARSE,
                        "%s: unknown optimizer '%.40s' (expected sgd, momentum or adam)", path,
                        v);
    nn_status st;
    if ((st = get_double(f, path, "lr", &c->lr, err)) != NN_OK ||
        (st = get_double(f, path, "momentum", &c->momentum, err)) != NN_OK ||
        (st = get_double(f, path, "beta1", &c->beta1, err)) != NN_OK ||
        (st = get_double(f, path, "beta2", &c->beta2, err)) != NN_OK ||
        (st = get_double(f, path, "eps", &c->eps, err)) != NN_OK ||
        (st = get_u64(f, path, "step", &c->step, err)) != NN_OK ||
        (st = get_u64(f, path, "epoch", &c->epoch, err)) != NN_OK ||
        (st = get_u64(f, path, "step_in_epoch", &c->step_in_epoch, err)) != NN_OK ||
        (st = get_u64(f, path, "rows_seen", &c->rows_seen, err)) != NN_OK ||
        (st = get_u64(f, path, "train_seed", &c->seed, err)) != NN_OK)
        return st;
    /* tensors: every one is a weight, a moment or the loss accumulator */
    const nn_model_config *cfg = &c->model.config;
    for (size_t i = 0; i < f->n_tensors; i++) {
        const char *n = f->tensors[i].name;
        if (strncmp(n, "optimizer.", 10) == 0 && strncmp(n, "optimizer.m.", 12) != 0 &&
            strncmp(n, "optimizer.v.", 12) != 0)
            return io_error(err, NN_E_PARSE, "%s: unexpected tensor '%.64s'", path, n);
        if (strncmp(n, "train.", 6) == 0 && strcmp(n, "train.loss_acc") != 0)
            return io_error(err, NN_E_PARSE, "%s: unexpected tensor '%.64s'", path, n);
    }
    const nn_st_tensor *acc = nn_st_find(f, "train.loss_acc");
    if (acc == NULL || acc->dtype != NN_ST_F32 || acc->ndim != 1 || acc->shape[0] != 2)
        return io_error(err, NN_E_PARSE, "%s: tensor 'train.loss_acc' (F32, shape (2)) is %s",
                        path, acc == NULL ? "missing" : "malformed");
    io_le_load_f32(c->loss_acc, acc->data, 2);
    if (!isfinite(c->loss_acc[0]) || !isfinite(c->loss_acc[1]))
        return io_error(err, NN_E_PARSE, "%s: train.loss_acc is not finite", path);
    int has_m, has_v;
    /* presence and shapes first (no allocation), then the rules, then decode */
    if ((st = io_tensors_to_params(f, path, cfg, "optimizer.m.", NULL, 1, &has_m, err)) != NN_OK ||
        (st = io_tensors_to_params(f, path, cfg, "optimizer.v.", NULL, 1, &has_v, err)) != NN_OK)
        return st;
    if ((st = check_state(path, c->optimizer, has_m, has_v, c->step, NN_E_PARSE, err)) != NN_OK)
        return st;
    float **dst[] = {&c->opt_m, &c->opt_v};
    const int has[] = {has_m, has_v};
    const char *prefix[] = {"optimizer.m.", "optimizer.v."};
    for (int g = 0; g < 2; g++) {
        if (!has[g]) continue;
        *dst[g] = malloc(c->n_params * sizeof(float)); /* (n_params) */
        if (*dst[g] == NULL) return io_error(err, NN_E_NOMEM, "%s: out of memory", path);
        int found;
        if ((st = io_tensors_to_params(f, path, cfg, prefix[g], *dst[g], 0, &found, err)) != NN_OK)
            return st;
    }
    /* extras */
    size_t n_extra = 0;
    for (size_t i = 0; i < f->n_meta; i++)
        n_extra += strncmp(f->meta[i].key, EXTRA_PREFIX, strlen(EXTRA_PREFIX)) == 0;
    if (n_extra == 0) return NN_OK;
    c->extra = calloc(n_extra, sizeof *c->extra); /* (n_extra) */
    if (c->extra == NULL) return io_error(err, NN_E_NOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < f->n_meta; i++) {
        const char *k = f->meta[i].key;
        if (strncmp(k, EXTRA_PREFIX, strlen(EXTRA_PREFIX)) != 0) continue;
        k += strlen(EXTRA_PREFIX);
        if (!extra_key_ok(k))
            return io_error(err, NN_E_PARSE,
                            "%s: __metadata__ key 'extra.%.64s' is not printable ASCII", path,
                            k);
        nn_kv *e = &c->extra[c->n_extra];
        e->key = strdup(k);
        e->value = strdup(f->meta[i].value);
        c->n_extra++;
        if (e->key == NULL || e->value == NULL)
            return io_error(err, NN_E_NOMEM, "%s: out of memory", path);
    }
    return NN_OK;
}

nn_status nn_checkpoint_load(const char *path, nn_checkpoint *c, nn_error *err) {
    if (path == NULL || c == NULL)
        return io_error(err, NN_E_INVALID, "nn_checkpoint_load: NULL argument");
    memset(c, 0, sizeof *c);
    nn_st_file f;
    nn_status st = nn_st_read(path, &f, err);
    if (st != NN_OK) return st;
    st = io_read_model_part(&f, path, IO_CHECKPOINT, &c->model, &c->params, &c->n_params, err);
    if (st == NN_OK) st = read_state(&f, path, c, err);
    nn_st_free(&f);
    if (st != NN_OK) nn_checkpoint_free(c);
    return st;
}
