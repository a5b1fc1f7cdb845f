/* test_checkpoint.c — checkpoints: every field round-trips bit for bit (for
 * sgd, momentum and adam), a checkpoint loads as a model, the state rules
 * are enforced on save and on load, and damaged files are rejected. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_io.h"
#include "testutil.h"
#include "tu_io.h"

static char *dir, *path, *path2;

static void setup(void) {
    dir = tu_tmpdir();
    path = tu_path(dir, "c.ckpt");
    path2 = tu_path(dir, "edited.ckpt");
}
static void teardown(void) {
    tu_rmtree(dir); /* frees dir */
    free(path), free(path2);
}

TestSuite(checkpoint, .init = setup, .fini = teardown);

static double MEAN[3] = {0.1, -2.5e-7, 12345.678901234567};
static double STD[3] = {1.0 / 3.0, 2.2250738585072014e-308, 7.0};
static nn_kv EXTRA[] = {{"batch", "64"}, {"rng.shuffle", "0x9e3779b97f4a7c15"},
                        {"note", "spaces, \"quotes\", unicode \xc3\xa9"}};

/* A 3-5-4 tanh/ce checkpoint with awkward values in every field. */
static nn_checkpoint make(nn_optimizer opt, int with_m, int with_v) {
    nn_checkpoint c = {0};
    nn_model_config *cfg = &c.model.config;
    cfg->n_sizes = 3;
    cfg->sizes[0] = 3, cfg->sizes[1] = 5, cfg->sizes[2] = 4;
    cfg->hidden = NN_ACT_TANH;
    cfg->loss = NN_LOSS_CE;
    cfg->seed = UINT64_MAX;
    c.model.scaler = (nn_scaler){3, MEAN, STD};
    c.model.classes = 4;
    c.model.dataset = "blobs classes=4";
    c.model.seed = 12345;
    c.model.epochs = 50;
    c.n_params = (3 + 1) * 5 + (5 + 1) * 4;
    c.params = malloc(c.n_params * sizeof(float));
    tu_fill_uniform(c.params, c.n_params, 1, -3, 3);
    c.params[0] = -0.0f;
    c.params[1] = 1e-45f;
    if (with_m) {
        c.opt_m = malloc(c.n_params * sizeof(float));
        tu_fill_uniform(c.opt_m, c.n_params, 2, -1e-3f, 1e-3f);
    }
    if (with_v) {
        c.opt_v = malloc(c.n_params * sizeof(float));
        tu_fill_uniform(c.opt_v, c.n_params, 3, 0, 1e-6f);
    }
    c.optimizer = opt;
    c.lr = 0.1;
    c.momentum = 0.9;
    c.beta1 = 0.9;
    c.beta2 = 0.999;
    c.eps = 1e-8;
    c.step = UINT64_MAX - 1;
    c.epoch = 7;
    c.step_in_epoch = 3;
    c.rows_seen = (UINT64_C(1) << 53) + 1;
    c.loss_acc[0] = 123.456f;
    c.loss_acc[1] = -3.0517578e-05f;
    c.seed = 42;
    c.n_extra = 3;
    c.extra = EXTRA;
    return c;
}

static void unmake(nn_checkpoint *c) {
    free(c->params), free(c->opt_m), free(c->opt_v);
}

static void save_ok(const nn_checkpoint *c, const char *p) {
    nn_error err = {0};
    cr_assert_eq(nn_checkpoint_save(c, p, &err), NN_OK, "%s", err.msg);
}

/* Bit-exact comparison of every field. */
static void assert_same(const nn_checkpoint *a, const nn_checkpoint *b) {
    const nn_model_config *x = &a->model.config, *y = &b->model.config;
    cr_assert_eq(y->n_sizes, x->n_sizes);
    cr_assert_arr_eq(y->sizes, x->sizes, x->n_sizes * sizeof(size_t));
    cr_assert_eq(y->hidden, x->hidden);
    cr_assert_eq(y->loss, x->loss);
    cr_assert_eq(y->seed, x->seed);
    cr_assert_eq(b->model.scaler.features, a->model.scaler.features);
    cr_assert_arr_eq(b->model.scaler.mean, a->model.scaler.mean, 3 * sizeof(double));
    cr_assert_arr_eq(b->model.scaler.std, a->model.scaler.std, 3 * sizeof(double));
    cr_assert_eq(b->model.classes, a->model.classes);
    cr_assert_str_eq(b->model.dataset, a->model.dataset);
    cr_assert_eq(b->model.seed, a->model.seed);
    cr_assert_eq(b->model.epochs, a->model.epochs);
    cr_assert_str_eq(b->model.version, nn_version());
    cr_assert_eq(b->n_params, a->n_params);
    cr_assert_arr_eq(b->params, a->params, a->n_params * sizeof(float));
    cr_assert_eq(b->opt_m == NULL, a->opt_m == NULL);
    cr_assert_eq(b->opt_v == NULL, a->opt_v == NULL);
    if (a->opt_m) cr_assert_arr_eq(b->opt_m, a->opt_m, a->n_params * sizeof(float));
    if (a->opt_v) cr_assert_arr_eq(b->opt_v, a->opt_v, a->n_params * sizeof(float));
    cr_assert_eq(b->optimizer, a->optimizer);
    cr_assert_eq(memcmp(&a->lr, &b->lr, sizeof(double)), 0);
    cr_assert_eq(memcmp(&a->momentum, &b->momentum, sizeof(double)), 0);
    cr_assert_eq(memcmp(&a->beta1, &b->beta1, sizeof(double)), 0);
    cr_assert_eq(memcmp(&a->beta2, &b->beta2, sizeof(double)), 0);
    cr_assert_eq(memcmp(&a->eps, &b->eps, sizeof(double)), 0);
    cr_assert_eq(b->step, a->step);
    cr_assert_eq(b->epoch, a->epoch);
    cr_assert_eq(b->step_in_epoch, a->step_in_epoch);
    cr_assert_eq(b->rows_seen, a->rows_seen);
    cr_assert_arr_eq(b->loss_acc, a->loss_acc, sizeof a->loss_acc);
    cr_assert_eq(b->seed, a->seed);
    cr_assert_eq(b->n_extra, a->n_extra);
    for (size_t i = 0; i < a->n_extra; i++) {
        cr_assert_str_eq(b->extra[i].key, a->extra[i].key);
        cr_assert_str_eq(b->extra[i].value, a->extra[i].value);
    }
}

Test(checkpoint, round_trip_every_field) {
    const struct {
        nn_optimizer opt;
        int m, v;
        uint64_t step;
    } cases[] = {{NN_OPT_ADAM, 1, 1, UINT64_MAX - 1}, {NN_OPT_MOMENTUM, 1, 0, 5},
                 {NN_OPT_SGD, 0, 0, 9}, {NN_OPT_ADAM, 0, 0, 0}};
    for (size_t k = 0; k < 4; k++) {
        nn_checkpoint c = make(cases[k].opt, cases[k].m, cases[k].v);
        c.step = cases[k].step;
        c.lr = k == 1 ? 3e-4 : 0.1;
        save_ok(&c, path);
        nn_checkpoint d;
        memset(&d, 0x5a, sizeof d);
        nn_error err = {0};
        cr_assert_eq(nn_checkpoint_load(path, &d, &err), NN_OK, "%s", err.msg);
        assert_same(&c, &d);
        nn_checkpoint_free(&d);
        nn_checkpoint_free(&d); /* zeroed: no-op */
        unmake(&c);
    }
    nn_checkpoint_free(NULL);
    /* no extras, no scaler */
    nn_checkpoint c = make(NN_OPT_SGD, 0, 0);
    c.n_extra = 0;
    c.extra = NULL;
    c.model.scaler = (nn_scaler){0};
    save_ok(&c, path);
    nn_checkpoint d;
    nn_error err;
    cr_assert_eq(nn_checkpoint_load(path, &d, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(d.n_extra, 0);
    cr_assert_null(d.extra);
    cr_assert_eq(d.model.scaler.features, 0);
    nn_checkpoint_free(&d);
    unmake(&c);
}

/* A checkpoint is also a model: nn_model_load takes its weights. */
Test(checkpoint, loads_as_a_model) {
    nn_checkpoint c = make(NN_OPT_ADAM, 1, 1);
    save_ok(&c, path);
    nn_backend *be = tu_open("cpu", 1);
    nn_model *m;
    nn_model_meta meta;
    nn_error err;
    cr_assert_eq(nn_model_load(be, path, &m, &meta, &err), NN_OK, "%s", err.msg);
    float *p = malloc(c.n_params * sizeof(float));
    cr_assert_eq(nn_model_get_params(m, p, c.n_params, &err), NN_OK);
    cr_assert_arr_eq(p, c.params, c.n_params * sizeof(float));
    cr_assert_eq(meta.classes, 4);
    free(p);
    nn_model_meta_free(&meta);
    nn_model_free(m);
    nn_backend_close(be);
    /* its tensors: the model's names, then the moments, then the accumulator */
    nn_st_file f;
    cr_assert_eq(nn_st_read(path, &f, &err), NN_OK);
    const char *names[] = {"0.weight", "0.bias", "2.weight", "2.bias",
                           "optimizer.m.0.weight", "optimizer.m.0.bias", "optimizer.m.2.weight",
                           "optimizer.m.2.bias", "optimizer.v.0.weight", "optimizer.v.0.bias",
                           "optimizer.v.2.weight", "optimizer.v.2.bias", "train.loss_acc"};
    cr_assert_eq(f.n_tensors, 13);
    for (size_t i = 0; i < 13; i++) cr_assert_str_eq(f.tensors[i].name, names[i]);
    cr_assert_str_eq(nn_st_meta_get(&f, "format"), "nnbench-checkpoint");
    cr_assert_str_eq(nn_st_meta_get(&f, "step"), "18446744073709551614");
    cr_assert_str_eq(nn_st_meta_get(&f, "extra.batch"), "64");
    cr_assert_str_eq(nn_st_meta_get(&f, "eps"), "1e-08");
    nn_st_free(&f);
    unmake(&c);
}

/* What save refuses, with nothing written. */
Test(checkpoint, save_checks) {
    nn_error err = {0};
    struct {
        nn_optimizer opt;
        int m, v;
        uint64_t step;
        const char *fragment;
    } rules[] = {{NN_OPT_SGD, 1, 0, 1, "sgd has no moment state"},
                 {NN_OPT_MOMENTUM, 1, 1, 1, "no second moment"},
                 {NN_OPT_ADAM, 1, 0, 1, "opt_v is missing"},
                 {NN_OPT_ADAM, 0, 1, 1, "opt_m is missing"},
                 {NN_OPT_ADAM, 0, 0, 3, "after 3 steps needs its moment state"},
                 {NN_OPT_MOMENTUM, 0, 0, 1, "needs its moment state"}};
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        nn_checkpoint c = make(rules[i].opt, rules[i].m, rules[i].v);
        c.step = rules[i].step;
        cr_assert_eq(nn_checkpoint_save(&c, path, &err), NN_E_INVALID, "case %zu", i);
        cr_assert(strstr(err.msg, rules[i].fragment) && strstr(err.msg, path), "%s", err.msg);
        unmake(&c);
    }
    nn_checkpoint c = make(NN_OPT_ADAM, 1, 1);
    c.n_params--;
    cr_assert_eq(nn_checkpoint_save(&c, path, &err), NN_E_INVALID);
    cr_assert(strstr(err.msg, "n_params is 43, layers need 44"), "%s", err.msg);
    c.n_params++;
    c.opt_v[7] = INFINITY;
    cr_assert_eq(nn_checkpoint_save(&c, path, &err), NN_E_NUMERIC);
    cr_assert(strstr(err.msg, "opt_v[7] is Inf"), "%s", err.msg);
    c.opt_v[7] = 0;
    c.loss_acc[1] = NAN;
    cr_assert_eq(nn_checkpoint_save(&c, path, &err), NN_E_NUMERIC);
    c.loss_acc[1] = 0;
    c.lr = NAN;
    cr_assert_eq(nn_checkpoint_save(&c, path, &err), NN_E_INVALID);
    c.lr = 0.1;
    nn_kv dup[] = {{"a", "1"}, {"a", "2"}};
    c.extra = dup;
    c.n_extra = 2;
    cr_assert_eq(nn_checkpoint_save(&c, path, &err), NN_E_INVALID);
    cr_assert(strstr(err.msg, "'a' given twice"), "%s", err.msg);
    nn_kv bad[] = {{"with space", "1"}};
    c.extra = bad;
    c.n_extra = 1;
    cr_assert_eq(nn_checkpoint_save(&c, path, &err), NN_E_INVALID);
    c.n_extra = 0;
    c.model.classes = 3;
    cr_assert_eq(nn_checkpoint_save(&c, path, &err), NN_E_INVALID);
    c.model.classes = 4;
    c.model.config.sizes[1] = 0;
    cr_assert_eq(nn_checkpoint_save(&c, path, &err), NN_E_INVALID);
    c.model.config.sizes[1] = 5;
    c.optimizer = (nn_optimizer)7;
    cr_assert_eq(nn_checkpoint_save(&c, path, &err), NN_E_INVALID);
    cr_assert_eq(tu_count_entries(dir), 0, "a refused checkpoint left a file");
    unmake(&c);
}

/* ------------------------------------------------------------ bad files */

static void expect_bad(const char *p, const char *fragment) {
    nn_checkpoint c;
    memset(&c, 0x5a, sizeof c);
    nn_error err = {0};
    nn_status st = nn_checkpoint_load(p, &c, &err);
    cr_assert_eq(st, NN_E_PARSE, "status %d: %s", st, err.msg);
    cr_assert(strstr(err.msg, p) && strstr(err.msg, fragment), "'%s' lacks '%s'", err.msg,
              fragment);
    cr_assert(strchr(err.msg, '\n') == NULL);
    cr_assert(c.params == NULL && c.opt_m == NULL && c.extra == NULL && c.model.dataset == NULL);
}

/* Rewrite path as path2 through fn(tensors, meta), with a fresh checksum. */
typedef void (*edit_fn)(nn_st_tensor *t, size_t *nt, nn_kv *meta, size_t *nm);

static void rewrite(edit_fn fn) {
    nn_st_file f;
    nn_error err;
    cr_assert_eq(nn_st_read(path, &f, &err), NN_OK, "%s", err.msg);
    nn_st_tensor t[32];
    nn_kv meta[64];
    size_t nt = f.n_tensors, nm = f.n_meta;
    memcpy(t, f.tensors, nt * sizeof *t);
    memcpy(meta, f.meta, nm * sizeof *meta);
    fn(t, &nt, meta, &nm);
    char crc[16];
    snprintf(crc, sizeof crc, "crc32:%08x", (unsigned)nn_st_data_crc32(t, nt));
    for (size_t i = 0; i < nm; i++)
        if (strcmp(meta[i].key, "checksum") == 0) meta[i].value = crc;
    FILE *fp = fopen(path2, "wb");
    cr_assert_eq(nn_st_write(fp, t, nt, meta, nm, path2, &err), NN_OK, "%s", err.msg);
    fclose(fp);
    nn_st_free(&f);
}

static size_t find_t(nn_st_tensor *t, size_t nt, const char *name) {
    for (size_t i = 0; i < nt; i++)
        if (strcmp(t[i].name, name) == 0) return i;
    cr_assert_fail("no tensor %s", name);
    return 0;
}

static void set_meta(nn_kv *meta, size_t *nm, const char *key, const char *value) {
    for (size_t i = 0; i < *nm; i++)
        if (strcmp(meta[i].key, key) == 0) {
            if (value) meta[i].value = value;
            else meta[i] = meta[--*nm];
            return;
        }
    meta[(*nm)++] = (nn_kv){key, value};
}

static void drop_v_bias(nn_st_tensor *t, size_t *nt, nn_kv *m, size_t *nm) {
    (void)m, (void)nm;
    size_t i = find_t(t, *nt, "optimizer.v.2.bias");
    t[i] = t[--*nt];
}
static void drop_all_v(nn_st_tensor *t, size_t *nt, nn_kv *m, size_t *nm) {
    (void)m, (void)nm;
    for (size_t i = 0; i < *nt;)
        if (strncmp(t[i].name, "optimizer.v.", 12) == 0) t[i] = t[--*nt];
        else i++;
}
static void drop_acc(nn_st_tensor *t, size_t *nt, nn_kv *m, size_t *nm) {
    (void)m, (void)nm;
    size_t i = find_t(t, *nt, "train.loss_acc");
    t[i] = t[--*nt];
}
static void acc_shape(nn_st_tensor *t, size_t *nt, nn_kv *m, size_t *nm) {
    (void)m, (void)nm;
    size_t i = find_t(t, *nt, "train.loss_acc");
    t[i].shape[0] = 1;
}
static void rename_m(nn_st_tensor *t, size_t *nt, nn_kv *m, size_t *nm) {
    (void)m, (void)nm;
    t[find_t(t, *nt, "optimizer.m.0.bias")].name = "optimizer.x.0.bias";
}
static void extra_train(nn_st_tensor *t, size_t *nt, nn_kv *m, size_t *nm) {
    (void)m, (void)nm;
    t[(*nt)++] = (nn_st_tensor){.name = "train.rng", .dtype = NN_ST_U8, .ndim = 1, .shape = {1},
                                .data = "x"};
}
static void m_shape(nn_st_tensor *t, size_t *nt, nn_kv *m, size_t *nm) {
    (void)m, (void)nm;
    size_t i = find_t(t, *nt, "optimizer.m.2.weight");
    t[i].shape[0] = 2;
    t[i].shape[1] = 10;
}
static void opt_sgd(nn_st_tensor *t, size_t *nt, nn_kv *m, size_t *nm) {
    (void)t, (void)nt;
    set_meta(m, nm, "optimizer", "sgd");
}
static void opt_unknown(nn_st_tensor *t, size_t *nt, nn_kv *m, size_t *nm) {
    (void)t, (void)nt;
    set_meta(m, nm, "optimizer", "lbfgs");
}
static void step_bad(nn_st_tensor *t, size_t *nt, nn_kv *m, size_t *nm) {
    (void)t, (void)nt;
    set_meta(m, nm, "step", "-1");
}
static void lr_bad(nn_st_tensor *t, size_t *nt, nn_kv *m, size_t *nm) {
    (void)t, (void)nt;
    set_meta(m, nm, "lr", "inf");
}
static void no_rows(nn_st_tensor *t, size_t *nt, nn_kv *m, size_t *nm) {
    (void)t, (void)nt;
    set_meta(m, nm, "rows_seen", NULL);
}
static void extra_key(nn_st_tensor *t, size_t *nt, nn_kv *m, size_t *nm) {
    (void)t, (void)nt;
    set_meta(m, nm, "extra.bad key", "1");
}
static void nan_acc(nn_st_tensor *t, size_t *nt, nn_kv *m, size_t *nm) {
    (void)m, (void)nm;
    static const float acc[2] = {NAN, 0};
    t[find_t(t, *nt, "train.loss_acc")].data = acc;
}

Test(checkpoint, damaged_files) {
    nn_checkpoint c = make(NN_OPT_ADAM, 1, 1);
    save_ok(&c, path);
    size_t len;
    unsigned char *b = tu_read_all(path, &len);
    b[len - 5] ^= 0x10; /* inside train.loss_acc */
    tu_write_bytes(path2, b, len);
    expect_bad(path2, "checksum mismatch");
    free(b);
    const struct {
        edit_fn fn;
        const char *fragment;
    } cases[] = {{drop_v_bias, "'optimizer.v.2.bias' is missing"},
                 {drop_all_v, "opt_v is missing"},
                 {drop_acc, "'train.loss_acc' (F32, shape (2)) is missing"},
                 {acc_shape, "is malformed"},
                 {rename_m, "unexpected tensor 'optimizer.x.0.bias'"},
                 {extra_train, "unexpected tensor 'train.rng'"},
                 {m_shape, "'optimizer.m.2.weight' is F32 (2, 10)"},
                 {opt_sgd, "sgd has no moment state"},
                 {opt_unknown, "unknown optimizer 'lbfgs'"},
                 {step_bad, "'step' is '-1'"},
                 {lr_bad, "'lr' is 'inf'"},
                 {no_rows, "lacks 'rows_seen'"},
                 {extra_key, "'extra.bad key' is not printable ASCII"},
                 {nan_acc, "train.loss_acc is not finite"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rewrite(cases[i].fn);
        expect_bad(path2, cases[i].fragment);
    }
    unmake(&c);
}
