/* test_cli_model.c — models through the command line: `train --save` writes
 * a model file with everything needed to use it, `predict` applies it to CSV
 * or generated rows (the same numbers as the library's forward pass, and as
 * NumPy's and PyTorch's reading of the file), `train --init` continues from
 * it, and every kind of bad model file is one line naming the file, exit 2,
 * in predict --model, train --init and train --resume. */
#include <criterion/criterion.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_io.h"
#include "tu_cli.h"

static char *dir;
static void setup(void) { dir = tu_tmpdir(); }
static void teardown(void) { tu_rmtree(dir); }
TestSuite(cli_model, .init = setup, .fini = teardown);

/* dir/name (malloc'd). */
static char *at(const char *name) { return tu_path(dir, name); }

/* The tutorial model, 300 epochs, saved as dir/m.st. */
static void save_tutorial(void) {
    tu_expect_ok(TU_NN(dir, "--epochs", "300", "--save", "m.st", "-q"));
}

/* Rows of a predictions CSV (after the header) as numbers: (rows, cols). */
static double *read_csv_numbers(const char *text, size_t *rows, size_t *cols) {
    const char *p = strchr(text, '\n') + 1;
    *cols = 1;
    for (const char *c = text; *c != '\n'; c++) *cols += *c == ',';
    size_t cap = 1024, n = 0;
    double *v = malloc(cap * sizeof *v);
    while (*p) {
        char *end;
        double x = strtod(p, &end);
        cr_assert(end != p, "not a number at: %.40s", p);
        if (n == cap) v = realloc(v, (cap *= 2) * sizeof *v);
        v[n++] = x;
        p = end + (*end == ',' || *end == '\n');
    }
    cr_assert_eq(n % *cols, 0, "ragged CSV");
    *rows = n / *cols;
    return v;
}

Test(cli_model, save_writes_the_run_into_the_metadata) {
    save_tutorial();
    char *path = at("m.st");
    nn_model_meta meta;
    float *params;
    size_t n;
    nn_error err;
    cr_assert_eq(nn_model_file_read(path, &meta, &params, &n, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(meta.config.n_sizes, 3);
    cr_assert(meta.config.sizes[0] == 2 && meta.config.sizes[1] == 8 && meta.config.sizes[2] == 1);
    cr_assert_eq(meta.config.loss, NN_LOSS_BCE);
    cr_assert_eq(meta.classes, 2);
    cr_assert_eq(meta.scaler.features, 2, "the training standardization is saved");
    cr_assert_eq(meta.seed, 42);
    cr_assert_eq(meta.epochs, 300);
    cr_assert_str_eq(meta.dataset, "circles samples=1000 noise=0.1 factor=0.8 classes=2 "
                                   "features=2 label_noise=0 seed=42 test_fraction=0.2");
    cr_assert_eq(n, 33);
    nn_model_meta_free(&meta);
    free(params);
    free(path);
}

/* predict's numbers for CSV rows equal the library's forward pass of the file. */
Test(cli_model, predict_matches_the_library_forward_pass) {
    save_tutorial();
    const float rows[4][2] = {{0.5f, 0.1f}, {-1.0f, 0.25f}, {0.0f, 0.0f}, {1.2f, -0.7f}};
    char csv[256] = "";
    for (int i = 0; i < 4; i++)
        snprintf(csv + strlen(csv), sizeof csv - strlen(csv), "%.9g,%.9g\n", rows[i][0],
                 rows[i][1]);
    tu_write_file(dir, "x.csv", csv);
    tu_result r = TU_NN(dir, "predict", "--model", "m.st", "--input", "x.csv");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strncmp(r.out, "p0,p1,class\n", 12) == 0, "%s", r.out);
    cr_assert_str_eq(r.err, "", "unlabelled rows: no accuracy line");
    size_t n, cols;
    double *v = read_csv_numbers(r.out, &n, &cols);
    cr_assert(n == 4 && cols == 3);
    nn_backend *be = tu_open("cpu", 1);
    nn_model *m;
    nn_model_meta meta;
    nn_error err;
    char *path = at("m.st");
    cr_assert_eq(nn_model_load(be, path, &m, &meta, &err), NN_OK, "%s", err.msg);
    float x[8], y[4];
    memcpy(x, rows, sizeof x);
    nn_scaler_apply(&meta.scaler, x, 4);
    cr_assert_eq(nn_model_predict(m, x, 4, y, &err), NN_OK);
    for (int i = 0; i < 4; i++) {
        cr_assert_eq((float)v[i * 3 + 1], y[i], "row %d: p1 %.9g, library %.9g", i, v[i * 3 + 1],
                     (double)y[i]);
        cr_assert_eq(v[i * 3 + 2], y[i] >= 0.5f ? 1.0 : 0.0);
        cr_assert(fabs(v[i * 3] + v[i * 3 + 1] - 1.0) < 1e-6);
    }
    nn_model_meta_free(&meta);
    nn_model_free(m);
    nn_backend_close(be);
    free(v);
    free(path);
    tu_result_free(&r);
}

Test(cli_model, predict_reports_accuracy_for_labelled_rows) {
    save_tutorial();
    tu_write_file(dir, "l.csv", "x,y,label\n0.5,0.1,1\n-1,0.2,0\n1.1,0.05,0\n");
    tu_result r = TU_NN(dir, "predict", "--model", "m.st", "--input", "l.csv");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.err, "Accuracy: ") && strstr(r.err, "(3 samples of l.csv)"), "%s", r.err);
    size_t n, cols;
    free(read_csv_numbers(r.out, &n, &cols));
    cr_assert_eq(n, 3);
    tu_result_free(&r);
    /* to a file: the accuracy goes to stdout */
    r = TU_NN(dir, "predict", "--model", "m.st", "--input", "l.csv", "--output", "p.csv");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strncmp(r.out, "Accuracy: ", 10) == 0 && !r.err[0], "%s|%s", r.out, r.err);
    char *p = at("p.csv"), *text = tu_read_file(p);
    cr_assert(text && strncmp(text, "p0,p1,class\n", 12) == 0);
    free(text);
    free(p);
    tu_result_free(&r);
    /* a label that is not a class of the model */
    tu_write_file(dir, "bad.csv", "0.5,0.1,1\n-1,0.2,2\n");
    tu_expect_line(TU_NN(dir, "predict", "--model", "m.st", "--input", "bad.csv"), 2,
                   "bad.csv: line 2: label 2", NULL);
    /* the label as read, not rounded to 6 digits ("1.67772e+07") */
    tu_write_file(dir, "big.csv", "0.5,0.1,1\n-1,0.2,16777215\n");
    tu_expect_line(TU_NN(dir, "predict", "--model", "m.st", "--input", "big.csv"), 2,
                   "big.csv: line 2: label 16777215 ", NULL);
}

Test(cli_model, predict_regenerates_the_models_data) {
    save_tutorial();
    tu_result r = TU_NN(dir, "predict", "--model", "m.st", "--dataset", "circles");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.err, "(1000 samples of circles, seed 42)"), "%s", r.err);
    tu_result_free(&r);
    r = TU_NN(dir, "predict", "--model", "m.st", "--dataset", "circles", "--samples", "50",
              "--seed", "7", "--output", "g.csv");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.out, "(50 samples of circles, seed 7)"), "%s", r.out);
    double acc = atof(r.out + strlen("Accuracy: "));
    cr_assert(acc > 0.6, "a trained model beats chance on fresh rows: %s", r.out);
    tu_result_free(&r);
    char *g = at("g.csv"), *text = tu_read_file(g);
    size_t n, cols;
    free(read_csv_numbers(text, &n, &cols));
    cr_assert(n == 50 && cols == 3);
    free(text);
    free(g);
}

Test(cli_model, predict_multiclass_and_regression_columns) {
    tu_expect_ok(TU_NN(dir, "--dataset", "spirals", "--classes", "3", "--layers", "2,16,3",
                       "--epochs", "30", "--save", "s.st", "-q"));
    tu_result r = TU_NN(dir, "predict", "--model", "s.st", "--dataset", "spirals", "--samples",
                        "20");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strncmp(r.out, "p0,p1,p2,class\n", 15) == 0, "%s", r.out);
    size_t n, cols;
    double *v = read_csv_numbers(r.out, &n, &cols);
    for (size_t i = 0; i < n; i++) {
        size_t best = 0;
        for (size_t j = 1; j < 3; j++)
            if (v[i * 4 + j] > v[i * 4 + best]) best = j;
        cr_assert_eq(v[i * 4 + 3], (double)best, "row %zu: class is not the argmax", i);
    }
    free(v);
    tu_result_free(&r);
    tu_expect_line(TU_NN(dir, "predict", "--model", "s.st", "--dataset", "spirals", "--classes",
                         "4"), 2, "3 classes", "has 4");
    tu_expect_ok(TU_NN(dir, "--dataset", "moons", "--loss", "mse", "--epochs", "30", "--save",
                       "r.st", "-q"));
    r = TU_NN(dir, "predict", "--model", "r.st", "--dataset", "moons", "--samples", "5");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strncmp(r.out, "value\n", 6) == 0 && strstr(r.err, "MSE: "), "%s|%s", r.out, r.err);
    tu_result_free(&r);
}

Test(cli_model, predict_usage_errors) {
    save_tutorial();
    tu_write_file(dir, "x.csv", "1,2\n3,4\n");
    tu_expect_line(TU_NN(dir, "predict", "--input", "x.csv"), 2, "--model", NULL);
    tu_expect_line(TU_NN(dir, "predict", "--model", "m.st"), 2, "--input", "--dataset");
    tu_expect_line(TU_NN(dir, "predict", "--model", "m.st", "--input", "x.csv", "--dataset",
                         "circles"), 2, "one of them", NULL);
    tu_expect_line(TU_NN(dir, "predict", "--model", "m.st", "--input", "x.csv", "--samples", "5"),
                   2, "--samples", "--dataset");
    tu_expect_line(TU_NN(dir, "predict", "--model", "m.st", "--input", "nope.csv"), 2,
                   "nope.csv", NULL);
    tu_expect_line(TU_NN(dir, "predict", "--model", "m.st", "--dataset", "nope"), 2, "--dataset",
                   NULL);
}

/* --------------------------------------------------------------- --init */

Test(cli_model, init_continues_where_the_saved_model_ended) {
    /* Full-batch SGD has no optimizer state: 150 + 150 epochs from a saved
     * model are the 300 epochs of one run, bit for bit. */
    tu_expect_ok(TU_NN(dir, "--epochs", "150", "--save", "a.st", "-q"));
    tu_result r = TU_NN(dir, "--init", "a.st", "--epochs", "150", "--save", "b.st");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.out, "initial weights from a.st"), "%s", r.out);
    tu_result_free(&r);
    save_tutorial();
    char *b = at("b.st"), *m = at("m.st");
    nn_model_meta mb, mm;
    float *pb, *pm;
    size_t nb, nm;
    nn_error err;
    cr_assert_eq(nn_model_file_read(b, &mb, &pb, &nb, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(nn_model_file_read(m, &mm, &pm, &nm, &err), NN_OK, "%s", err.msg);
    cr_assert(nb == nm && memcmp(pb, pm, nb * sizeof(float)) == 0, "weights differ");
    nn_model_meta_free(&mb);
    nn_model_meta_free(&mm);
    free(pb);
    free(pm);
    free(b);
    free(m);
}

Test(cli_model, init_takes_the_architecture_from_the_file) {
    tu_expect_ok(TU_NN(dir, "--dataset", "spirals", "--classes", "3", "--layers", "2,16,16,3",
                       "--activation", "tanh", "--epochs", "5", "--save", "s.st", "-q"));
    tu_result r = TU_NN(dir, "--init", "s.st", "--dataset", "spirals", "--classes", "3",
                        "--epochs", "2");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.out, "layers 2-16-16-3 tanh/softmax"), "%s", r.out);
    tu_result_free(&r);
    tu_expect_line(TU_NN(dir, "--init", "s.st", "--dataset", "spirals", "--classes", "3",
                         "--layers", "2,8,3"), 2, "--layers 2,8,3", "'s.st' has layers 2,16,16,3");
    tu_expect_line(TU_NN(dir, "--init", "s.st", "--dataset", "spirals", "--classes", "3",
                         "--activation", "relu"), 2, "--activation relu", "s.st");
    tu_expect_line(TU_NN(dir, "--init", "s.st", "--dataset", "spirals", "--classes", "3",
                         "--loss", "bce"), 2, "--loss bce", "s.st");
    tu_expect_line(TU_NN(dir, "--init", "s.st", "--dataset", "blobs", "--features", "5",
                         "--classes", "3"), 2, "'s.st'", "5 features");
    tu_expect_line(TU_NN(dir, "--init", "s.st", "--dataset", "spirals", "--classes", "4"), 2,
                   "'s.st'", NULL);
}

/* ------------------------------------------------------- bad model files */

/* Each bad file, made from a good model, in each command that reads models. */
Test(cli_model, every_kind_of_bad_model_file_is_one_line_naming_it) {
    save_tutorial();
    char *good = at("m.st");
    const struct {
        const char *name, *from, *to;
    } edits[] = {
        {"bad-json.st", "\"0.weight\":{", "\"0.weight\"{"},
        {"bad-dtype.st", "\"dtype\":\"F32\",\"shape\":[8,2]", "\"dtype\":\"F31\",\"shape\":[8,2]"},
        {"bad-layers.st", "\"layers\":\"2,8,1\"", "\"layers\":\"2,4,1\""},
        {"bad-shapes.st", "\"shape\":[8,2]", "\"shape\":[2,8]"},
        {"bad-overlap.st", "\"data_offsets\":[64,96]", "\"data_offsets\":[60,92]"},
        {"bad-range.st", "\"shape\":[1],\"data_offsets\":[128,132]",
         "\"shape\":[2],\"data_offsets\":[128,136]"},
    };
    char *paths[12];
    size_t np = 0;
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        paths[np] = at(edits[i].name);
        tu_st_edit_header(good, paths[np++], edits[i].from, edits[i].to);
    }
    size_t len;
    unsigned char *bytes = tu_read_all(good, &len);
    paths[np] = at("bad-short.st");
    tu_write_bytes(paths[np++], bytes, 5);
    paths[np] = at("bad-magic.st");
    tu_write_bytes(paths[np++], "this is a text file, not a model\n", 33);
    paths[np] = at("bad-eof.st");
    tu_st_set_header_len(good, paths[np++], (unsigned long long)len);
    paths[np] = at("bad-huge.st");
    tu_st_set_header_len(good, paths[np++], 1ull << 63);
    paths[np] = at("bad-flip.st");
    tu_flip_last_byte(good, paths[np++]);
    free(bytes);
    for (size_t i = 0; i < np; i++) {
        const char *name = strrchr(paths[i], '/') + 1;
        tu_expect_line(TU_NN(dir, "predict", "--model", name, "--dataset", "circles"), 2,
                       "--model", name);
        tu_expect_line(TU_NN(dir, "--init", name, "--epochs", "2"), 2, "--init", name);
        tu_expect_line(TU_NN(dir, "--resume", name), 2, "--resume", name);
        free(paths[i]);
    }
    /* the checksum names itself */
    tu_expect_line(TU_NN(dir, "predict", "--model", "bad-flip.st", "--dataset", "circles"), 2,
                   "checksum", NULL);
    free(good);
}

Test(cli_model, a_model_for_other_inputs_is_one_line_naming_both) {
    save_tutorial();
    tu_write_file(dir, "five.csv", "1,2,3,4,5\n5,4,3,2,1\n");
    tu_expect_line(TU_NN(dir, "predict", "--model", "m.st", "--input", "five.csv"), 2,
                   "'m.st' has 2 inputs", "'five.csv' has 5 columns");
    tu_expect_line(TU_NN(dir, "predict", "--model", "m.st", "--dataset", "blobs", "--features",
                         "5"), 2, "'m.st' has 2 inputs", "5 features");
    tu_expect_line(TU_NN(dir, "--init", "m.st", "--dataset", "blobs", "--features", "5"), 2,
                   "'m.st'", "5 features");
}

/* -------------------------------------------------------- NumPy, PyTorch */

/* Models trained and saved by nnbench, rows predicted by `nnbench predict`
 * (CSV in, CSV out) and by the Python script reading the file itself. */
static void check_peer(const char *python, const char *script, const char *who) {
    const char *const train[3][16] = {
        {"--epochs", "200", "--save", "m0.st", "-q", NULL},
        {"--dataset", "spirals", "--classes", "3", "--layers", "2,16,16,3", "--activation",
         "tanh", "--optimizer", "adam", "--save", "m1.st"},
        {"--dataset", "moons", "--loss", "mse", "--layers", "2,8,4,1", "--activation", "sigmoid",
         "--epochs", "200", "--save", "m2.st"},
    };
    float x[64 * 2];
    tu_fill_uniform(x, 64 * 2, 7, -1.5f, 1.5f);
    char csv[64 * 40] = "";
    for (int i = 0; i < 64; i++)
        snprintf(csv + strlen(csv), sizeof csv - strlen(csv), "%.9g,%.9g\n", x[2 * i],
                 x[2 * i + 1]);
    tu_write_file(dir, "rows.csv", csv);
    char *rows = at("rows.f32");
    tu_write_bytes(rows, x, sizeof x);
    for (int k = 0; k < 3; k++) {
        tu_expect_ok(tu_run_nnbench(train[k], NULL, dir));
        char model[16], out[32];
        snprintf(model, sizeof model, "m%d.st", k);
        tu_result r = TU_NN(dir, "predict", "--model", model, "--input", "rows.csv");
        cr_assert_eq(r.status, 0, "%s", r.err);
        size_t n, cols;
        double *v = read_csv_numbers(r.out, &n, &cols);
        char *mp = at(model), *op;
        snprintf(out, sizeof out, "%s.%d.f32", who, k);
        op = at(out);
        char *log = NULL;
        const char *argv[] = {python, script, mp, rows, op, NULL};
        cr_assert_eq(tu_run_cmd(argv, NULL, &log), 0, "%s", log);
        size_t outputs = k == 1 ? 3 : 1;
        float *y = tu_read_floats(op, 64 * outputs);
        double worst = 0;
        for (size_t i = 0; i < 64; i++)
            for (size_t j = 0; j < outputs; j++) {
                /* bce rows are p0,p1,class; ce p0..p2,class; mse the value */
                double mine = v[i * cols + (k == 0 ? 1 : j)];
                double d = fabs(mine - (double)y[i * outputs + j]);
                cr_assert(d <= 1e-5, "%s model %d row %zu: nnbench predict %.9g, %s %.9g", who, k,
                          i, mine, who, (double)y[i * outputs + j]);
                if (d > worst) worst = d;
            }
        cr_log_info("model %d: 64 rows, max |nnbench predict - %s| = %.3g", k, who, worst);
        free(y);
        free(v);
        free(log);
        free(mp);
        free(op);
        tu_result_free(&r);
    }
    free(rows);
}

Test(cli_model, numpy_predicts_what_nnbench_predict_prints) {
    const char *python = tu_find_python("numpy");
    if (!python) cr_skip_test("no python3 with NumPy");
    check_peer(python, NN_SOURCE_DIR "/tests/python/st_numpy.py", "numpy");
}

Test(cli_model, pytorch_predicts_what_nnbench_predict_prints) {
    char exe[4096];
    snprintf(exe, sizeof exe, "%s", NNBENCH_EXE);
    char *pydeps = tu_path(dirname(exe), "pydeps"), *pythonpath = NULL;
    const char *old = getenv("PYTHONPATH");
    cr_assert_gt(asprintf(&pythonpath, "%s%s%s", pydeps, old ? ":" : "", old ? old : ""), 0);
    setenv("PYTHONPATH", pythonpath, 1);
    const char *python = tu_find_python("numpy torch safetensors");
    if (!python) cr_skip_test("no python3 with torch and safetensors");
    check_peer(python, NN_SOURCE_DIR "/tests/python/st_torch.py", "torch");
    free(pythonpath);
    free(pydeps);
}
