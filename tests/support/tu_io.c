/* tu_io.c — file helpers for the io tests. */
#include "tu_io.h"

#include "nn_io.h"

#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>



unsigned char *tu_read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    size_t cap = 4096, n = 0;
    unsigned char *buf = malloc(cap + 1);
    for (;;) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap) break;
        cap *= 2;
        buf = realloc(buf, cap + 1);
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

void tu_write_bytes(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot create %s", path);
    cr_assert_eq(fwrite(data, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

size_t tu_count_entries(const char *dir) {
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "cannot list %s", dir);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
    closedir(d);
    return n;
}


/* 1 when `python -c "import m1, m2"` succeeds quietly. */
static int can_import(const char *python, const char *modules) {
    char code[512];
    snprintf(code, sizeof code, "import %s", modules);
    for (char *c = code + 7; *c; c++)
        if (*c == ' ') *c = ',';
    pid_t pid = fork();
    if (pid == 0) {
        if (freopen("/dev/null", "w", stdout) == NULL || freopen("/dev/null", "w", stderr) == NULL)
            _exit(127);
        execlp(python, python, "-c", code, (char *)NULL);
        _exit(127);
    }
    int ws = 0;
    if (pid < 0 || waitpid(pid, &ws, 0) < 0) return 0;
    return WIFEXITED(ws) && WEXITSTATUS(ws) == 0;
}

const char *tu_find_python(const char *modules) {
    static const char *const candidates[] = {"/usr/bin/python3", "python3"};
    for (size_t i = 0; i < 2; i++) {
        if (i == 0 && access(candidates[0], X_OK) != 0) continue;
        if (can_import(candidates[i], modules)) return candidates[i];
    }
    return NULL;
}

int tu_run_cmd(const char *const *argv, const char *const *env_add, char **output) {
    int fd = tu_anonymous_file("nnbench-cmd");
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        for (; env_add && *env_add; env_add++) putenv((char *)*env_add);
        dup2(fd, 1);
        dup2(fd, 2);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    int ws = 0;
    waitpid(pid, &ws, 0);
    lseek(fd, 0, SEEK_SET);
    *output = tu_slurp(fd);
    close(fd);
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

float *tu_read_floats(const char *path, size_t n) {
    size_t len;
    unsigned char *b = tu_read_all(path, &len);
    cr_assert_eq(len, n * sizeof(float), "%s: %zu bytes, expected %zu floats", path, len, n);
    float *f = malloc(n * sizeof(float) + 1);
    memcpy(f, b, n * sizeof(float));
    free(b);
    return f;
}

void tu_save_trained(int kind, const char *dir, tu_saved_model *out) {
    static const struct {
        const char *what, *file;
        nn_data_kind data;
        size_t classes;
        size_t sizes[5], n_sizes;
        nn_act hidden;
        nn_loss loss;
        nn_optimizer opt;
        double lr;
        int epochs;
        size_t batch;
    } K[TU_MODEL_KINDS] = {
        {"circles 2-8-1 relu bce sgd", "circles.safetensors", NN_DATA_CIRCLES, 2, {2, 8, 1}, 3,
         NN_ACT_RELU, NN_LOSS_BCE, NN_OPT_SGD, 0.1, 300, 0},
        {"spirals 2-16-16-3 tanh ce adam", "spirals.safetensors", NN_DATA_SPIRALS, 3,
         {2, 16, 16, 3}, 4, NN_ACT_TANH, NN_LOSS_CE, NN_OPT_ADAM, 0.01, 60, 32},
        {"moons 2-8-4-1 sigmoid mse momentum", "moons.safetensors", NN_DATA_MOONS, 2,
         {2, 8, 4, 1}, 4, NN_ACT_SIGMOID, NN_LOSS_MSE, NN_OPT_MOMENTUM, 0.05, 100, 16},
    };
    cr_assert(kind >= 0 && kind < TU_MODEL_KINDS);
    nn_error err = {0};
    nn_data_spec spec = nn_data_spec_default(K[kind].data);
    spec.samples = 600;
    spec.classes = K[kind].classes;
    spec.seed = 11;
    nn_dataset all, train, test, raw;
    cr_assert_eq(nn_data_generate(&spec, &all, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(nn_data_split(&all, 0.2, 11, &train, &test, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(nn_dataset_copy(&test, &raw, &err), NN_OK, "%s", err.msg);
    nn_model_meta meta = {.classes = K[kind].classes, .seed = 11, .epochs = (uint64_t)K[kind].epochs,
                          .dataset = (char *)K[kind].what};
    cr_assert_eq(nn_data_standardize(&train, &test, &meta.scaler, &err), NN_OK, "%s", err.msg);

    nn_backend *be = NULL;
    cr_assert_eq(nn_backend_open("cpu", NULL, &be, &err), NN_OK, "%s", err.msg);
    nn_model_config cfg = {.n_sizes = K[kind].n_sizes, .hidden = K[kind].hidden,
                           .loss = K[kind].loss, .seed = 11};
    memcpy(cfg.sizes, K[kind].sizes, sizeof K[kind].sizes);
    nn_model *m = NULL;
    cr_assert_eq(nn_model_create(be, &cfg, &m, &err), NN_OK, "%s", err.msg);
    nn_train_config tc = nn_train_config_default();
    tc.optimizer = K[kind].opt;
    tc.lr = K[kind].lr;
    tc.epochs = K[kind].epochs;
    tc.batch = K[kind].batch;
    tc.log_every = 0;
    nn_source src = nn_source_from_dataset(&train);
    nn_train_result res;
    cr_assert_eq(nn_train(m, &src, &tc, &res, &err), NN_OK, "%s", err.msg);

    memset(out, 0, sizeof *out);
    out->what = K[kind].what;
    out->model_path = tu_path(dir, K[kind].file);
    cr_assert_eq(nn_model_save(m, &meta, out->model_path, &err), NN_OK, "%s", err.msg);
    out->rows = 8;
    out->inputs = cfg.sizes[0];
    out->outputs = cfg.sizes[cfg.n_sizes - 1];
    char rows_name[64];
    snprintf(rows_name, sizeof rows_name, "%s.rows.f32", K[kind].file);
    out->rows_path = tu_path(dir, rows_name);
    tu_write_bytes(out->rows_path, raw.x, out->rows * out->inputs * sizeof(float));
    out->pred = malloc(out->rows * out->outputs * sizeof(float));
    cr_assert_eq(nn_model_predict(m, test.x, out->rows, out->pred, &err), NN_OK, "%s", err.msg);
    /* the rows scaled here agree with the standardized test set */
    nn_scaler_apply(&meta.scaler, raw.x, out->rows);
    cr_assert_arr_eq(raw.x, test.x, out->rows * out->inputs * sizeof(float));

    nn_model_free(m);
    nn_backend_close(be);
    nn_scaler_free(&meta.scaler);
    nn_dataset_free(&all), nn_dataset_free(&train), nn_dataset_free(&test), nn_dataset_free(&raw);
}

void tu_saved_free(tu_saved_model *m) {
    free(m->model_path);
    free(m->rows_path);
    free(m->pred);
    memset(m, 0, sizeof *m);
}

void tu_check_peer_predictions(const char *python, const char *script, const char *dir,
                               const char *who, double tolerance) {
    tu_saved_model m[TU_MODEL_KINDS];
    char *outs[TU_MODEL_KINDS];
    const char *argv[2 + 3 * TU_MODEL_KINDS + 1] = {python, script};
    for (int k = 0; k < TU_MODEL_KINDS; k++) {
        tu_save_trained(k, dir, &m[k]);
        char name[32];
        snprintf(name, sizeof name, "%s.%d.f32", who, k);
        outs[k] = tu_path(dir, name);
        argv[2 + 3 * k] = m[k].model_path;
        argv[3 + 3 * k] = m[k].rows_path;
        argv[4 + 3 * k] = outs[k];
    }
    char *log = NULL;
    int rc = tu_run_cmd(argv, NULL, &log);
    cr_assert_eq(rc, 0, "%s exited %d:\n%s", script, rc, log);
    size_t len = strlen(log);
    while (len > 0 && log[len - 1] == '\n') log[--len] = '\0';
    cr_log_info("%s", log);
    for (int k = 0; k < TU_MODEL_KINDS; k++) {
        const size_t n = m[k].rows * m[k].outputs;
        float *y = tu_read_floats(outs[k], n);
        double worst = 0;
        for (size_t i = 0; i < n; i++) {
            double d = fabs((double)y[i] - (double)m[k].pred[i]);
            cr_assert(d <= tolerance, "%s: value %zu: %s %.9g, nnbench %.9g", m[k].what, i, who,
                      (double)y[i], (double)m[k].pred[i]);
            if (d > worst) worst = d;
        }
        cr_log_info("%s: %zu predictions, max |%s - nnbench| = %.3g (tolerance %g)", m[k].what, n,
                    who, worst, tolerance);
        free(y);
        free(outs[k]);
        tu_saved_free(&m[k]);
    }
    free(log);
}
