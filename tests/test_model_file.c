/* test_model_file.c — model files: bit-exact save -> load, PyTorch's names
 * and orientation, the metadata, and every way a model file can be wrong
 * (flipped data byte, shapes that disagree with the layers or each other,
 * unknown names, bad numbers), each NN_E_PARSE with one line naming the file. */
#include <criterion/criterion.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nn_io.h"
#include "testutil.h"
#include "tu_io.h"

static char *dir, *path, *path2;
static nn_backend *be;

static void setup(void) {
    dir = tu_tmpdir();
    path = tu_path(dir, "m.safetensors");
    path2 = tu_path(dir, "edited.safetensors");
    be = tu_open("cpu", 1);
}
static void teardown(void) {
    nn_backend_close(be);
    tu_rmtree(dir); /* frees dir */
    free(path), free(path2);
}

TestSuite(model_file, .init = setup, .fini = teardown);

/* A model with random (non-initial) weights. */
static nn_model *model_of(const size_t *sizes, size_t n, nn_act hidden, nn_loss loss,
                          uint64_t seed) {
    nn_model_config cfg = {.n_sizes = n, .hidden = hidden, .loss = loss, .seed = seed};
    memcpy(cfg.sizes, sizes, n * sizeof *sizes);
    nn_model *m;
    nn_error err;
    cr_assert_eq(nn_model_create(be, &cfg, &m, &err), NN_OK, "%s", err.msg);
    size_t np = nn_model_param_count(m);
    float *p = malloc(np * sizeof *p);
    tu_fill_uniform(p, np, seed + 1, -2.0f, 2.0f);
    p[0] = -0.0f;
    p[np - 1] = 1e-40f; /* a subnormal survives */
    cr_assert_eq(nn_model_set_params(m, p, np, &err), NN_OK, "%s", err.msg);
    free(p);
    return m;
}

/* Metadata with a scaler of awkward doubles (or none). */
static nn_model_meta meta_of(const nn_model *m, size_t classes, int scaled) {
    nn_model_meta meta = {.classes = classes, .seed = 42, .epochs = 1000,
                          .dataset = "circles samples=1000 noise=0.1 \"quoted\""};
    const size_t f = nn_model_config_of(m)->sizes[0];
    if (scaled) {
        meta.scaler.features = f;
        meta.scaler.mean = malloc(f * sizeof(double));
        meta.scaler.std = malloc(f * sizeof(double));
        for (size_t i = 0; i < f; i++) {
            meta.scaler.mean[i] = (i % 2 ? -1.0 : 1.0) * (0.1 + (double)i / 3.0) * pow(10, (double)(i % 7) - 3);
            meta.scaler.std[i] = i == 1 ? 1e300 : 1.0 / 3.0 + (double)i * 1e-17;
        }
        if (f > 2) meta.scaler.mean[2] = 4.9406564584124654e-324; /* the smallest subnormal */
    }
    return meta;
}

static void free_meta_arrays(nn_model_meta *meta) { nn_scaler_free(&meta->scaler); }

static float *params_of(nn_model *m) {
    size_t n = nn_model_param_count(m);
    float *p = malloc(n * sizeof *p);
    nn_error err;
    cr_assert_eq(nn_model_get_params(m, p, n, &err), NN_OK, "%s", err.msg);
    return p;
}

static void save_ok(nn_model *m, const nn_model_meta *meta, const char *p) {
    nn_error err = {0};
    cr_assert_eq(nn_model_save(m, meta, p, &err), NN_OK, "%s", err.msg);
}

/* ------------------------------------------------------------ round trips */

static void round_trip(const size_t *sizes, size_t n, nn_act hidden, nn_loss loss, size_t classes,
                       int scaled) {
    nn_model *m = model_of(sizes, n, hidden, loss, 7);
    nn_model_meta meta = meta_of(m, classes, scaled);
    save_ok(m, &meta, path);
    nn_model *back = NULL;
    nn_model_meta got;
    nn_error err = {0};
    cr_assert_eq(nn_model_load(be, path, &back, &got, &err), NN_OK, "%s", err.msg);
    const nn_model_config *a = nn_model_config_of(m), *b = nn_model_config_of(back);
    cr_assert_eq(b->n_sizes, a->n_sizes);
    cr_assert_arr_eq(b->sizes, a->sizes, a->n_sizes * sizeof(size_t));
    cr_assert_eq(b->hidden, a->hidden);
    cr_assert_eq(b->loss, a->loss);
    cr_assert_eq(b->seed, a->seed);
    cr_assert_eq(got.config.n_sizes, a->n_sizes);
    cr_assert_eq(got.classes, classes);
    cr_assert_eq(got.seed, 42);
    cr_assert_eq(got.epochs, 1000);
    cr_assert_str_eq(got.dataset, meta.dataset);
    cr_assert_str_eq(got.version, nn_version());
    cr_assert_eq(got.scaler.features, meta.scaler.features);
    if (scaled) {
        cr_assert_arr_eq(got.scaler.mean, meta.scaler.mean, sizes[0] * sizeof(double));
        cr_assert_arr_eq(got.scaler.std, meta.scaler.std, sizes[0] * sizeof(double));
    } else {
        cr_assert_null(got.scaler.mean);
    }
    size_t np = nn_model_param_count(m);
    cr_assert_eq(nn_model_param_count(back), np);
    float *pa = params_of(m), *pb = params_of(back);
    cr_assert_arr_eq(pa, pb, np * sizeof(float), "parameters differ after save -> load");
    /* the same predictions, bit for bit */
    float x[5 * 16], ya[5 * 16], yb[5 * 16];
    tu_fill_uniform(x, 5 * sizes[0], 3, -1, 1);
    const size_t out = sizes[n - 1];
    cr_assert_eq(nn_model_predict(m, x, 5, ya, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(nn_model_predict(back, x, 5, yb, &err), NN_OK, "%s", err.msg);
    cr_assert_arr_eq(ya, yb, 5 * out * sizeof(float));
    /* nn_model_file_read gives the same without a backend */
    nn_model_meta m2;
    float *p2;
    size_t n2;
    cr_assert_eq(nn_model_file_read(path, &m2, &p2, &n2, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(n2, np);
    cr_assert_arr_eq(p2, pa, np * sizeof(float));
    free(p2);
    nn_model_meta_free(&m2);
    free(pa), free(pb);
    nn_model_meta_free(&got);
    nn_model_meta_free(&got); /* zeroed: no-op */
    nn_model_meta_free(NULL);
    free_meta_arrays(&meta);
    nn_model_free(back);
    nn_model_free(m);
}

Test(model_file, round_trip_bit_exact) {
    round_trip((size_t[]){2, 8, 1}, 3, NN_ACT_RELU, NN_LOSS_BCE, 2, 1);
    round_trip((size_t[]){3, 16, 16, 4}, 4, NN_ACT_TANH, NN_LOSS_CE, 4, 1);
    round_trip((size_t[]){5, 7, 2}, 3, NN_ACT_SIGMOID, NN_LOSS_MSE, 0, 0);
    round_trip((size_t[]){16, 1}, 2, NN_ACT_RELU, NN_LOSS_MSE, 3, 1);
    nn_model *m = model_of((size_t[]){2, 8, 1}, 3, NN_ACT_RELU, NN_LOSS_BCE, 1);
    nn_model_meta meta = meta_of(m, 2, 1);
    save_ok(m, &meta, path);
    nn_model *back;
    nn_error err;
    cr_assert_eq(nn_model_load(be, path, &back, NULL, &err), NN_OK, "%s", err.msg);
    nn_model_free(back);
    free_meta_arrays(&meta);
    nn_model_free(m);
}

/* PyTorch's nn.Sequential names, (out, in) weights, the metadata keys. */
Test(model_file, pytorch_layout_and_metadata) {
    nn_model *m = model_of((size_t[]){2, 8, 3, 1}, 4, NN_ACT_RELU, NN_LOSS_BCE, 5);
    nn_model_meta meta = meta_of(m, 2, 1);
    save_ok(m, &meta, path);
    float *p = params_of(m);
    nn_st_file f;
    nn_error err;
    cr_assert_eq(nn_st_read(path, &f, &err), NN_OK, "%s", err.msg);
    const char *names[] = {"0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"};
    const size_t sizes[] = {2, 8, 3, 1};
    cr_assert_eq(f.n_tensors, 6);
    size_t off = 0;
    for (size_t l = 0; l < 3; l++) {
        const size_t in = sizes[l], out = sizes[l + 1];
        const nn_st_tensor *w = &f.tensors[2 * l], *b = &f.tensors[2 * l + 1];
        cr_assert_str_eq(w->name, names[2 * l]);
        cr_assert_str_eq(b->name, names[2 * l + 1]);
        cr_assert(w->dtype == NN_ST_F32 && w->ndim == 2 && w->shape[0] == out && w->shape[1] == in);
        cr_assert(b->dtype == NN_ST_F32 && b->ndim == 1 && b->shape[0] == out);
        float *wt = malloc(out * in * sizeof(float));
        cr_assert_eq(nn_st_read_f32(w, wt, out * in, &err), NN_OK);
        for (size_t o = 0; o < out; o++)
            for (size_t i = 0; i < in; i++)
                cr_assert_eq(memcmp(&wt[o * in + i], &p[off + i * out + o], 4), 0,
                             "weight (%zu, %zu) of layer %zu", o, i, l);
        cr_assert_arr_eq(b->data, p + off + in * out, out * sizeof(float));
        free(wt);
        off += (in + 1) * out;
    }
    const char *want[][2] = {{"format", "nnbench-model"}, {"format_version", "1"},
                             {"layers", "2,8,3,1"}, {"hidden_activation", "relu"},
                             {"loss", "bce"}, {"output_activation", "sigmoid"},
                             {"classes", "2"}, {"input_scaling", "standardize"},
                             {"seed", "42"}, {"init_seed", "5"}, {"epochs", "1000"},
                             {"nnbench_version", nn_version()}, {"dataset", meta.dataset}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const char *v = nn_st_meta_get(&f, want[i][0]);
        cr_assert_not_null(v, "no %s", want[i][0]);
        cr_assert_str_eq(v, want[i][1], "%s", want[i][0]);
    }
    cr_assert_str_eq(f.meta[0].key, "format");
    char crc[16];
    snprintf(crc, sizeof crc, "crc32:%08x", (unsigned)nn_crc32(0, f.data, f.data_size));
    cr_assert_str_eq(nn_st_meta_get(&f, "checksum"), crc);
    /* %.17g of each double, comma-separated */
    char expect[128];
    snprintf(expect, sizeof expect, "%.17g,%.17g", meta.scaler.mean[0], meta.scaler.mean[1]);
    cr_assert_str_eq(nn_st_meta_get(&f, "input_mean"), expect);
    nn_st_free(&f);
    free(p);
    free_meta_arrays(&meta);
    nn_model_free(m);
}

Test(model_file, known_crc32) {
    cr_assert_eq(nn_crc32(0, "123456789", 9), 0xCBF43926u); /* the standard check value */
    cr_assert_eq(nn_crc32(0, "", 0), 0u);
    cr_assert_eq(nn_crc32(nn_crc32(0, "12345", 5), "6789", 4), 0xCBF43926u);
}

/* Doubles are written with '.', whatever LC_NUMERIC the program set. */
Test(model_file, locale_independent) {
    char *locdir = tu_path(dir, "locale");
    cr_assert_eq(mkdir(locdir, 0755), 0);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "localedef -i de_DE -f UTF-8 %s/de_DE.UTF-8 >/dev/null 2>&1",
             locdir);
    int rc = system(cmd);
    setenv("LOCPATH", locdir, 1);
    if (rc != 0 || setlocale(LC_NUMERIC, "de_DE.UTF-8") == NULL) {
        unsetenv("LOCPATH");
        free(locdir);
        cr_skip_test("no de_DE locale could be built here (localedef)");
    }
    char probe[16];
    snprintf(probe, sizeof probe, "%.1f", 0.5);
    cr_assert_str_eq(probe, "0,5", "the locale did not take effect");
    nn_model *m = model_of((size_t[]){2, 4, 1}, 3, NN_ACT_RELU, NN_LOSS_BCE, 1);
    nn_model_meta meta = meta_of(m, 2, 1);
    save_ok(m, &meta, path);
    nn_model_meta got;
    float *p;
    size_t n;
    nn_error err;
    nn_status st = nn_model_file_read(path, &got, &p, &n, &err);
    setlocale(LC_NUMERIC, "C");
    unsetenv("LOCPATH");
    cr_assert_eq(st, NN_OK, "%s", err.msg);
    cr_assert_arr_eq(got.scaler.mean, meta.scaler.mean, 2 * sizeof(double));
    nn_st_file f;
    cr_assert_eq(nn_st_read(path, &f, &err), NN_OK);
    cr_assert_null(strchr(nn_st_meta_get(&f, "input_std"), ';'));
    cr_assert_not_null(strchr(nn_st_meta_get(&f, "input_std"), '.'));
    cr_assert_arr_eq(got.scaler.std, meta.scaler.std, 2 * sizeof(double));
    nn_st_free(&f);
    free(p);
    nn_model_meta_free(&got);
    free_meta_arrays(&meta);
    nn_model_free(m);
    free(locdir);
}

/* ------------------------------------------------------------ save errors */

Test(model_file, save_errors_leave_the_old_file) {
    nn_model *m = model_of((size_t[]){2, 8, 1}, 3, NN_ACT_RELU, NN_LOSS_BCE, 1);
    nn_model_meta meta = meta_of(m, 2, 1);
    tu_write_bytes(path, "precious", 8);
    nn_error err = {0};
    meta.classes = 3;
    cr_assert_eq(nn_model_save(m, &meta, path, &err), NN_E_INVALID);
    cr_assert(strstr(err.msg, "bce"), "%s", err.msg);
    meta.classes = 2;
    meta.scaler.features = 3;
    cr_assert_eq(nn_model_save(m, &meta, path, &err), NN_E_INVALID);
    cr_assert(strstr(err.msg, "3 features"), "%s", err.msg);
    meta.scaler.features = 2;
    meta.scaler.std[1] = 0.0;
    cr_assert_eq(nn_model_save(m, &meta, path, &err), NN_E_INVALID);
    meta.scaler.std[1] = 1.0;
    float *p = params_of(m);
    p[5] = NAN;
    cr_assert_eq(nn_model_set_params(m, p, nn_model_param_count(m), &err), NN_OK);
    cr_assert_eq(nn_model_save(m, &meta, path, &err), NN_E_NUMERIC);
    cr_assert(strstr(err.msg, "NaN") && strstr(err.msg, path), "%s", err.msg);
    size_t len;
    unsigned char *b = tu_read_all(path, &len);
    cr_assert_eq(len, 8);
    cr_assert_arr_eq(b, "precious", 8);
    free(b);
    cr_assert_eq(tu_count_entries(dir), 1);
    p[5] = 0.5f;
    cr_assert_eq(nn_model_set_params(m, p, nn_model_param_count(m), &err), NN_OK);
    char *nowhere = tu_path(dir, "missing/m.safetensors");
    cr_assert_eq(nn_model_save(m, &meta, nowhere, &err), NN_E_IO);
    cr_assert(strstr(err.msg, nowhere), "%s", err.msg);
    free(nowhere);
    /* a dataset text that is not UTF-8 is saved with '?' */
    meta.dataset = "csv:caf\xe9.csv";
    save_ok(m, &meta, path);
    nn_model_meta got;
    float *q;
    size_t n;
    cr_assert_eq(nn_model_file_read(path, &got, &q, &n, &err), NN_OK, "%s", err.msg);
    cr_assert_str_eq(got.dataset, "csv:caf?.csv");
    free(q);
    nn_model_meta_free(&got);
    free(p);
    free_meta_arrays(&meta);
    nn_model_free(m);
}

/* ------------------------------------------------------------ bad files */

/* An editable copy of a saved file: tensors and metadata pointing into it. */
typedef struct edit {
    nn_st_file f;
    nn_st_tensor t[16];
    size_t nt;
    nn_kv meta[64];
    size_t nm;
    char crc[16];
    float *owned[4];
    size_t n_owned;
} edit;

static void edit_open(edit *e, const char *p) {
    memset(e, 0, sizeof *e);
    nn_error err;
    cr_assert_eq(nn_st_read(p, &e->f, &err), NN_OK, "%s", err.msg);
    e->nt = e->f.n_tensors;
    memcpy(e->t, e->f.tensors, e->nt * sizeof *e->t);
    e->nm = e->f.n_meta;
    memcpy(e->meta, e->f.meta, e->nm * sizeof *e->meta);
}

/* Set (or, with value NULL, remove) a metadata entry. */
static void edit_meta(edit *e, const char *key, const char *value) {
    for (size_t i = 0; i < e->nm; i++)
        if (strcmp(e->meta[i].key, key) == 0) {
            if (value) e->meta[i].value = value;
            else e->meta[i] = e->meta[--e->nm];
            return;
        }
    if (value) e->meta[e->nm++] = (nn_kv){key, value};
}

static nn_st_tensor *edit_tensor(edit *e, const char *name) {
    for (size_t i = 0; i < e->nt; i++)
        if (strcmp(e->t[i].name, name) == 0) return &e->t[i];
    cr_assert_fail("no tensor %s", name);
    return NULL;
}

/* A writable copy of a tensor's floats. */
static float *edit_floats(edit *e, const char *name) {
    nn_st_tensor *t = edit_tensor(e, name);
    float *d = malloc(t->nbytes + 4);
    memcpy(d, t->data, t->nbytes);
    t->data = d;
    e->owned[e->n_owned++] = d;
    return d;
}

static void edit_remove_tensor(edit *e, const char *name) {
    nn_st_tensor *t = edit_tensor(e, name);
    *t = e->t[--e->nt];
}

/* Write the edit to path2, with a correct checksum unless keep_crc. */
static void edit_write(edit *e, int keep_crc) {
    if (!keep_crc) {
        snprintf(e->crc, sizeof e->crc, "crc32:%08x", (unsigned)nn_st_data_crc32(e->t, e->nt));
        edit_meta(e, "checksum", e->crc);
    }
    FILE *fp = fopen(path2, "wb");
    nn_error err;
    cr_assert_eq(nn_st_write(fp, e->t, e->nt, e->meta, e->nm, path2, &err), NN_OK, "%s", err.msg);
    fclose(fp);
}

static void edit_close(edit *e) {
    for (size_t i = 0; i < e->n_owned; i++) free(e->owned[i]);
    nn_st_free(&e->f);
}

/* Loading `p` fails with NN_E_PARSE, one line naming it and each fragment;
 * both readers agree and return zeroed outputs. */
static void expect_bad_model(const char *p, const char *const *words) {
    nn_model_meta meta;
    float *params = (float *)&meta;
    size_t n = 7;
    nn_error err = {0};
    nn_status st = nn_model_file_read(p, &meta, &params, &n, &err);
    cr_assert_eq(st, NN_E_PARSE, "status %d: %s", st, err.msg);
    cr_assert(strstr(err.msg, p) != NULL, "'%s' does not name the file", err.msg);
    cr_assert(strchr(err.msg, '\n') == NULL, "'%s' is not one line", err.msg);
    for (; *words; words++)
        cr_assert(strstr(err.msg, *words) != NULL, "'%s' lacks '%s'", err.msg, *words);
    cr_assert(params == NULL && n == 0 && meta.dataset == NULL && meta.scaler.mean == NULL);
    nn_model *m = (nn_model *)&meta;
    nn_error err2 = {0};
    cr_assert_eq(nn_model_load(be, p, &m, NULL, &err2), NN_E_PARSE);
    cr_assert_str_eq(err2.msg, err.msg);
    cr_assert_null(m);
}

#define EXPECT_BAD(p, ...) expect_bad_model(p, (const char *const[]){__VA_ARGS__, NULL})

/* Save a 2-8-1 relu/bce model with a scaler to `path`. */
static void save_reference(void) {
    nn_model *m = model_of((size_t[]){2, 8, 1}, 3, NN_ACT_RELU, NN_LOSS_BCE, 3);
    nn_model_meta meta = meta_of(m, 2, 1);
    save_ok(m, &meta, path);
    free_meta_arrays(&meta);
    nn_model_free(m);
}

Test(model_file, flipped_data_byte_is_detected) {
    save_reference();
    size_t len;
    unsigned char *b = tu_read_all(path, &len);
    uint64_t h = 0;
    for (int i = 7; i >= 0; i--) h = h << 8 | b[i];
    const size_t data = 8 + (size_t)h, positions[] = {data, data + 17, len - 1};
    for (size_t k = 0; k < 3; k++)
        for (int bit = 0; bit < 8; bit += 7) {
            b[positions[k]] ^= (unsigned char)(1u << bit);
            tu_write_bytes(path2, b, len);
            EXPECT_BAD(path2, "checksum mismatch", "damaged");
            b[positions[k]] ^= (unsigned char)(1u << bit);
        }
    /* a truncated file */
    tu_write_bytes(path2, b, len - 4);
    EXPECT_BAD(path2, "past the end");
    free(b);
}

Test(model_file, not_a_model) {
    save_reference();
    edit e;
    edit_open(&e, path);
    edit_meta(&e, "format", NULL);
    edit_write(&e, 0);
    EXPECT_BAD(path2, "not an nnbench model");
    edit_meta(&e, "format", "gguf");
    edit_write(&e, 0);
    EXPECT_BAD(path2, "format 'gguf'");
    edit_meta(&e, "format", "nnbench-model");
    edit_meta(&e, "format_version", "2");
    edit_write(&e, 0);
    EXPECT_BAD(path2, "format_version '2'", "not supported");
    edit_close(&e);
    tu_write_bytes(path2, "\x02\0\0\0\0\0\0\0{}", 10);
    EXPECT_BAD(path2, "not an nnbench model");
}

/* Each metadata value made wrong in turn. */
Test(model_file, bad_metadata) {
    save_reference();
    static const struct {
        const char *key, *value, *fragment;
    } cases[] = {
        {"layers", "2,9,1", "(9, 2)"},
        {"layers", "3,8,1", "(8, 3)"},
        {"layers", "2,8,1,1", "missing"},
        {"layers", "2,0,1", "size 2 must be an integer from 1 to 16777216"},
        {"layers", "2,16777217,1", "size 2"},
        {"layers", "2", "at least 2 sizes"},
        {"layers", "2,8,", "size 3"},
        {"layers", " 2,8,1", "size 1"},
        {"layers", "2;8;1", "size 1"},
        {"layers", "2,08,1", "size 2"},
        {"layers", "1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,"
                   "1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1",
         "more than 65 sizes"},
        {"layers", NULL, "lacks 'layers'"},
        {"hidden_activation", "gelu", "unknown hidden_activation 'gelu'"},
        {"hidden_activation", "softmax", "unknown hidden_activation"},
        {"loss", "hinge", "unknown loss 'hinge'"},
        {"loss", "ce", "output_activation 'sigmoid' does not match loss ce"},
        {"loss", "mse", "output_activation 'sigmoid' does not match loss mse"},
        {"output_activation", "softmax", "does not match loss bce"},
        {"classes", "3", "classes 3 does not fit loss bce"},
        {"classes", "two", "'classes' is 'two'"},
        {"classes", "-2", "not a non-negative integer"},
        {"classes", NULL, "lacks 'classes'"},
        {"input_scaling", "minmax", "unknown input_scaling 'minmax'"},
        {"input_mean", "1.5", "input_mean must be 2 finite"},
        {"input_mean", "1.5,2,3", "input_mean must be 2"},
        {"input_mean", "1.5,nan", "input_mean"},
        {"input_mean", "1.5,1e999", "input_mean"},
        {"input_mean", "1.5, 2", "input_mean"},
        {"input_mean", "1.5,,2", "input_mean"},
        {"input_mean", "0x1p3,2", "input_mean"},
        {"input_mean", NULL, "lacks 'input_mean'"},
        {"input_std", "1,0", "input_std of feature 2 is 0"},
        {"input_std", "1,-1", "must be > 0"},
        {"seed", "18446744073709551616", "'seed'"},
        {"seed", NULL, "lacks 'seed'"},
        {"epochs", "1e3", "'epochs'"},
        {"init_seed", "", "'init_seed'"},
        {"dataset", NULL, "lacks 'dataset'"},
        {"nnbench_version", NULL, "lacks 'nnbench_version'"},
        {"checksum", "crc32:0000000G", "not crc32:<8 hex digits>"},
        {"checksum", "crc32: 1234567", "not crc32"},
        {"checksum", "md5:12345678", "not crc32"},
        {"checksum", NULL, "lacks 'checksum'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        edit e;
        edit_open(&e, path);
        edit_meta(&e, cases[i].key, cases[i].value);
        edit_write(&e, strcmp(cases[i].key, "checksum") == 0);
        EXPECT_BAD(path2, cases[i].fragment);
        edit_close(&e);
    }
    /* loss and output activation changed together, the outputs still 1 */
    edit e;
    edit_open(&e, path);
    edit_meta(&e, "loss", "ce");
    edit_meta(&e, "output_activation", "softmax");
    edit_write(&e, 0);
    EXPECT_BAD(path2, "loss ce needs at least 2 outputs, layers end with 1");
    edit_close(&e);
    /* unknown metadata keys are ignored */
    edit_open(&e, path);
    edit_meta(&e, "note", "trained on a Tuesday");
    edit_write(&e, 0);
    nn_model *m;
    nn_error err;
    cr_assert_eq(nn_model_load(be, path2, &m, NULL, &err), NN_OK, "%s", err.msg);
    nn_model_free(m);
    /* a model without a scaler */
    edit_meta(&e, "input_scaling", "none");
    edit_meta(&e, "input_mean", NULL);
    edit_meta(&e, "input_std", NULL);
    edit_write(&e, 0);
    nn_model_meta meta;
    cr_assert_eq(nn_model_load(be, path2, &m, &meta, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(meta.scaler.features, 0);
    nn_model_meta_free(&meta);
    nn_model_free(m);
    edit_close(&e);
}

/* Tensors that disagree with the layers or with each other. */
Test(model_file, bad_tensors) {
    save_reference();
    edit e;
    edit_open(&e, path);
    edit_remove_tensor(&e, "2.bias");
    edit_write(&e, 0);
    EXPECT_BAD(path2, "tensor '2.bias' is missing");
    edit_close(&e);

    edit_open(&e, path);
    e.t[e.nt++] = (nn_st_tensor){.name = "4.weight", .dtype = NN_ST_F32, .ndim = 1, .shape = {1},
                                 .data = "\0\0\0\0"};
    edit_write(&e, 0);
    EXPECT_BAD(path2, "unexpected tensor '4.weight'");
    e.t[e.nt - 1].name = "optimizer.m.0.weight";
    edit_write(&e, 0);
    EXPECT_BAD(path2, "unexpected tensor 'optimizer.m.0.weight'");
    e.t[e.nt - 1].name = "1.weight";
    edit_write(&e, 0);
    EXPECT_BAD(path2, "unexpected tensor '1.weight'");
    e.t[e.nt - 1].name = "0.running_mean";
    edit_write(&e, 0);
    EXPECT_BAD(path2, "unexpected tensor");
    edit_close(&e);

    /* the weight transposed: (in, out) instead of (out, in) */
    edit_open(&e, path);
    nn_st_tensor *w = edit_tensor(&e, "0.weight");
    w->shape[0] = 2;
    w->shape[1] = 8;
    edit_write(&e, 0);
    EXPECT_BAD(path2, "tensor '0.weight' is F32 (2, 8)", "needs F32 (8, 2)");
    w->ndim = 1;
    w->shape[0] = 16;
    edit_write(&e, 0);
    EXPECT_BAD(path2, "needs F32 (8, 2)");
    edit_close(&e);

    edit_open(&e, path);
    nn_st_tensor *b = edit_tensor(&e, "0.bias");
    b->ndim = 2;
    b->shape[0] = 8;
    b->shape[1] = 1;
    edit_write(&e, 0);
    EXPECT_BAD(path2, "tensor '0.bias' is F32 (8, 1)", "needs F32 (8)");
    b->ndim = 1;
    b->dtype = NN_ST_I32;
    edit_write(&e, 0);
    EXPECT_BAD(path2, "tensor '0.bias' is I32");
    b->dtype = NN_ST_F64;
    b->shape[0] = 4;
    edit_write(&e, 0);
    EXPECT_BAD(path2, "is F64 (4)");
    edit_close(&e);

    /* layers 2,8,1 but the second layer's tensors sized for 2,8,3 */
    edit_open(&e, path);
    float w3[24] = {0}, b3[3] = {0};
    nn_st_tensor *w2 = edit_tensor(&e, "2.weight"), *b2 = edit_tensor(&e, "2.bias");
    w2->shape[0] = 3;
    w2->data = w3;
    b2->shape[0] = 3;
    b2->data = b3;
    edit_write(&e, 0);
    EXPECT_BAD(path2, "'2.weight' is F32 (3, 8)", "needs F32 (1, 8)");
    edit_close(&e);

    /* non-finite values under a correct checksum */
    edit_open(&e, path);
    float *wv = edit_floats(&e, "0.weight");
    wv[2 * 3 + 1] = NAN; /* row 3, column 1 of (8, 2) */
    edit_write(&e, 0);
    EXPECT_BAD(path2, "tensor '0.weight' holds NaN at [3, 1]");
    wv[7] = 0;
    float *bv = edit_floats(&e, "2.bias");
    bv[0] = -INFINITY;
    wv[2 * 3 + 1] = 0;
    edit_write(&e, 0);
    EXPECT_BAD(path2, "tensor '2.bias' holds Inf at [0]");
    edit_close(&e);
}

/* A checkpoint-only tensor name in a checkpoint is fine for nn_model_load,
 * but a model file is not a checkpoint. */
Test(model_file, model_is_not_a_checkpoint) {
    save_reference();
    nn_checkpoint c;
    nn_error err = {0};
    cr_assert_eq(nn_checkpoint_load(path, &c, &err), NN_E_PARSE);
    cr_assert(strstr(err.msg, "not a checkpoint") && strstr(err.msg, path), "%s", err.msg);
}
