/* fuzz_model.c — libFuzzer harness for the safetensors, model-file and
 * checkpoint readers.
 *
 * Input: a mode byte, then
 *   mode bit 0 clear: the bytes of a file as they are;
 *   mode bit 0 set:   a JSON header, a NUL byte, then the data section
 *                     (the harness writes the 8-byte length), so mutations
 *                     of the header keep the length right.
 * Every reader must fail cleanly (one-line NN_E_PARSE / NN_E_IO) or succeed
 * with consistent results; a loaded checkpoint must survive save -> load
 * bit for bit. Memory errors, leaks and undefined behaviour are caught by
 * ASan/UBSan. */
#include <math.h>

#include "fuzz_common.h"
#include "nn_io.h"

/* Build the file bytes for the input; malloc'd, *n bytes. */
static uint8_t *file_bytes(const uint8_t *data, size_t size, size_t *n) {
    if ((data[0] & 1) == 0) {
        uint8_t *b = malloc(size); /* size >= 1 */
        memcpy(b, data + 1, size - 1);
        *n = size - 1;
        return b;
    }
    const uint8_t *p = data + 1, *nul = memchr(p, 0, size - 1);
    const size_t hlen = nul ? (size_t)(nul - p) : size - 1;
    const size_t dlen = nul ? size - 1 - hlen - 1 : 0;
    uint8_t *b = malloc(8 + hlen + dlen);
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
    memcpy(b + 8, p, hlen);
    if (dlen) memcpy(b + 8 + hlen, nul + 1, dlen);
    *n = 8 + hlen + dlen;
    return b;
}

/* Invariants of a parsed safetensors file. */
static void check_st(const nn_st_file *f, size_t size) {
    uint64_t total = 0;
    FUZZ_CHECK(8 + f->header_size + f->data_size == size, "sizes do not add up");
    for (size_t i = 0; i < f->n_tensors; i++) {
        const nn_st_tensor *t = &f->tensors[i];
        FUZZ_CHECK(t->offset + t->nbytes <= f->data_size, "tensor %zu out of range", i);
        FUZZ_CHECK(nn_st_count(t) * nn_st_dtype_size(t->dtype) == t->nbytes, "size of %zu", i);
        FUZZ_CHECK(t->name[0] != '\0', "empty name");
        FUZZ_CHECK(nn_st_find(f, t->name) == t, "duplicate or unfindable name");
        total += t->nbytes;
    }
    FUZZ_CHECK(total == f->data_size, "tensors do not tile the data");
    for (size_t i = 0; i < f->n_meta; i++)
        FUZZ_CHECK(nn_st_meta_get(f, f->meta[i].key) == f->meta[i].value, "duplicate key");
}

static void check_meta(const nn_model_meta *m, const float *p, size_t n) {
    const nn_model_config *c = &m->config;
    FUZZ_CHECK(c->n_sizes >= 2 && c->n_sizes <= NN_MAX_LAYERS + 1, "n_sizes %zu", c->n_sizes);
    size_t count = 0;
    for (size_t l = 0; l + 1 < c->n_sizes; l++) count += (c->sizes[l] + 1) * c->sizes[l + 1];
    FUZZ_CHECK(count == n, "param count %zu vs %zu", count, n);
    for (size_t i = 0; i < n; i++) FUZZ_CHECK(isfinite(p[i]), "non-finite parameter %zu", i);
    FUZZ_CHECK(m->scaler.features == 0 || m->scaler.features == c->sizes[0], "scaler width");
    for (size_t i = 0; i < m->scaler.features; i++)
        FUZZ_CHECK(isfinite(m->scaler.mean[i]) && m->scaler.std[i] > 0 && isfinite(m->scaler.std[i]),
                   "scaler value %zu", i);
    FUZZ_CHECK(m->dataset != NULL, "no dataset text");
}

static char rt_dir[64], rt_path[96]; /* where round trips are written */

static void remove_rt_dir(void) {
    unlink(rt_path);
    rmdir(rt_dir);
}

/* save -> load of a loaded checkpoint gives it back bit for bit. */
static void check_round_trip(const nn_checkpoint *c) {
    const char *path = rt_path;
    if (rt_dir[0] == '\0') {
        snprintf(rt_dir, sizeof rt_dir, "/tmp/nnbench-fuzz-XXXXXX");
        FUZZ_CHECK(mkdtemp(rt_dir) != NULL, "mkdtemp");
        snprintf(rt_path, sizeof rt_path, "%s/rt.ckpt", rt_dir);
        atexit(remove_rt_dir);
    }
    nn_error err = {0};
    nn_status st = nn_checkpoint_save(c, path, &err);
    FUZZ_CHECK(st == NN_OK, "a loaded checkpoint does not save: %s", err.msg);
    nn_checkpoint d;
    st = nn_checkpoint_load(path, &d, &err);
    FUZZ_CHECK(st == NN_OK, "a saved checkpoint does not load: %s", err.msg);
    FUZZ_CHECK(d.n_params == c->n_params, "n_params");
    FUZZ_CHECK(memcmp(d.params, c->params, c->n_params * 4) == 0, "params");
    FUZZ_CHECK((d.opt_m == NULL) == (c->opt_m == NULL), "opt_m presence");
    FUZZ_CHECK((d.opt_v == NULL) == (c->opt_v == NULL), "opt_v presence");
    FUZZ_CHECK(!c->opt_m || memcmp(d.opt_m, c->opt_m, c->n_params * 4) == 0, "opt_m");
    FUZZ_CHECK(!c->opt_v || memcmp(d.opt_v, c->opt_v, c->n_params * 4) == 0, "opt_v");
    FUZZ_CHECK(memcmp(&d.lr, &c->lr, 5 * sizeof(double)) == 0, "hyper-parameters");
    FUZZ_CHECK(d.step == c->step && d.epoch == c->epoch && d.step_in_epoch == c->step_in_epoch &&
                   d.rows_seen == c->rows_seen && d.seed == c->seed,
               "counters");
    FUZZ_CHECK(memcmp(d.loss_acc, c->loss_acc, sizeof d.loss_acc) == 0, "loss_acc");
    FUZZ_CHECK(d.n_extra == c->n_extra, "extras");
    for (size_t i = 0; i < d.n_extra; i++)
        FUZZ_CHECK(strcmp(d.extra[i].key, c->extra[i].key) == 0 &&
                       strcmp(d.extra[i].value, c->extra[i].value) == 0,
                   "extra %zu", i);
    const nn_model_meta *a = &c->model, *b = &d.model;
    FUZZ_CHECK(memcmp(&a->config, &b->config, sizeof a->config) == 0, "config");
    FUZZ_CHECK(a->classes == b->classes && a->seed == b->seed && a->epochs == b->epochs, "meta");
    FUZZ_CHECK(strcmp(a->dataset, b->dataset) == 0, "dataset");
    FUZZ_CHECK(a->scaler.features == b->scaler.features, "scaler");
    if (a->scaler.features) {
        FUZZ_CHECK(memcmp(a->scaler.mean, b->scaler.mean, a->scaler.features * 8) == 0, "mean");
        FUZZ_CHECK(memcmp(a->scaler.std, b->scaler.std, a->scaler.features * 8) == 0, "std");
    }
    nn_checkpoint_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    size_t n;
    uint8_t *bytes = file_bytes(data, size, &n);
    nn_error err = {0};

    nn_st_file f;
    nn_status st = nn_st_parse(bytes, n, "input", &f, &err);
    if (st == NN_OK) {
        check_st(&f, n);
        nn_st_free(&f);
    } else {
        FUZZ_CHECK(st == NN_E_PARSE, "nn_st_parse status %d: %s", (int)st, err.msg);
        fuzz_check_error(st, &err);
    }

    const char *path = fuzz_file(bytes, n);
    nn_model_meta meta;
    float *params;
    size_t count;
    st = nn_model_file_read(path, &meta, &params, &count, &err);
    if (st == NN_OK) {
        check_meta(&meta, params, count);
        free(params);
        nn_model_meta_free(&meta);
    } else {
        FUZZ_CHECK(st == NN_E_PARSE, "nn_model_file_read status %d: %s", (int)st, err.msg);
        fuzz_check_error(st, &err);
        FUZZ_CHECK(params == NULL && meta.dataset == NULL, "outputs not cleared");
    }

    nn_checkpoint c;
    st = nn_checkpoint_load(path, &c, &err);
    if (st == NN_OK) {
        check_meta(&c.model, c.params, c.n_params);
        check_round_trip(&c);
        nn_checkpoint_free(&c);
    } else {
        FUZZ_CHECK(st == NN_E_PARSE, "nn_checkpoint_load status %d: %s", (int)st, err.msg);
        fuzz_check_error(st, &err);
    }
    free(bytes);
    return 0;
}
