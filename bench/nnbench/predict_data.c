/* predict_data.c — the rows `nnbench predict` applies a model to: a CSV file
 * with the model's inputs and perhaps a label column, or a generator's rows
 * made like the model's training data. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "describe.h"
#include "predict.h"

/* A CSV without labels was read with its last column as the label: put it
 * back as the last input. */
static int unlabel(nn_dataset *ds) {
    const size_t f = ds->features + 1;
    float *x = malloc(ds->n * f * sizeof(float)); /* (n, f) */
    if (!x) return cli_usage_error("--input: out of memory for %zu rows", ds->n);
    for (size_t i = 0; i < ds->n; i++) {
        memcpy(x + i * f, ds->x + i * ds->features, ds->features * sizeof(float));
        x[i * f + ds->features] = ds->y[i];
    }
    free(ds->x);
    ds->x = x;
    ds->features = f;
    memset(ds->y, 0, ds->n * sizeof(float));
    return EXIT_OK;
}

/* Labels of a classifier's data must be its classes 0..k-1. */
static int check_labels(const char *path, const nn_dataset *ds, size_t classes, int header) {
    for (size_t i = 0; i < ds->n; i++) {
        double y = ds->y[i];
        if (y != floor(y) || y < 0 || y >= (double)classes)
            return cli_usage_error("--input: %s: line %zu: label %.9g is not one of the model's "
                                   "classes 0..%zu", path, i + 1 + (size_t)header, y,
                                   classes - 1);
    }
    return EXIT_OK;
}

/* The CSV rows: inputs only, or inputs and a label column. */
static int load_csv(const predict_options *o, const nn_model_meta *meta, predict_rows *r) {
    const char *path = o->input_path;
    nn_csv_options co = {-1, -1, 1}; /* the last column read as a number, checked below */
    nn_csv_info info;
    nn_error err;
    if (nn_data_load_csv_info(path, &co, &r->ds, &info, &err) != NN_OK)
        return cli_usage_error("--input: %s", err.msg);
    snprintf(r->name, sizeof r->name, "%s", path);
    const size_t inputs = meta->config.sizes[0], columns = r->ds.features + 1;
    if (columns == inputs) return unlabel(&r->ds);
    if (columns != inputs + 1)
        return cli_usage_error("the model '%s' has %zu inputs, but '%s' has %zu columns (%zu "
                               "inputs, or %zu with a label column)", o->model_path, inputs, path, columns, inputs, inputs + 1);
    r->labelled = 1;
    r->ds.classes = meta->classes;
    return meta->classes ? check_labels(path, &r->ds, meta->classes, info.header) : EXIT_OK;
}

/* The generator's parameters: its defaults, then those of the model's data
 * when the model was trained on the same generator, then the options given. */
static void make_spec(const predict_options *o, const nn_model_meta *meta, nn_data_spec *spec) {
    nn_data_kind kind = NN_DATA_CIRCLES;
    nn_data_kind_parse(o->dataset, &kind, NULL);
    *spec = nn_data_spec_default(kind);
    data_desc dd;
    if (meta->dataset && desc_parse(meta->dataset, &dd) == 0) {
        const char *v;
        if (strcmp(dd.name, o->dataset) == 0) {
            if ((v = desc_get(&dd, "samples"))) spec->samples = strtoull(v, NULL, 10);
            if ((v = desc_get(&dd, "noise"))) spec->noise = strtod(v, NULL);
            if ((v = desc_get(&dd, "factor"))) spec->factor = strtod(v, NULL);
            if ((v = desc_get(&dd, "classes"))) spec->classes = strtoull(v, NULL, 10);
            if ((v = desc_get(&dd, "features"))) spec->features = strtoull(v, NULL, 10);
            if ((v = desc_get(&dd, "label_noise"))) spec->label_noise = strtod(v, NULL);
            if ((v = desc_get(&dd, "seed"))) spec->seed = strtoull(v, NULL, 10);
        }
        desc_free(&dd);
    }
    const opt_given *g = &o->given;
    if (opt_was_given(g, "--samples")) spec->samples = o->samples;
    if (opt_was_given(g, "--noise")) spec->noise = o->noise;
    if (opt_was_given(g, "--factor")) spec->factor = o->factor;
    if (opt_was_given(g, "--classes")) spec->classes = o->classes;
    if (opt_was_given(g, "--features")) spec->features = o->features;
    if (opt_was_given(g, "--label-noise")) spec->label_noise = o->label_noise;
    if (opt_was_given(g, "--seed")) spec->seed = o->seed;
}

/* Generated rows, labelled; their classes must be the model's. */
static int generate(const predict_options *o, const nn_model_meta *meta, predict_rows *r) {
    nn_data_spec spec;
    make_spec(o, meta, &spec);
    char what[128];
    snprintf(what, sizeof what, "%zu samples of %zu features", spec.samples, spec.features);
    if (cli_check_memory("--samples", (double)spec.samples * ((double)spec.features + 1) * 8.0,
                         what))
        return EXIT_USAGE;
    nn_error err;
    if (nn_data_generate(&spec, &r->ds, &err) != NN_OK)
        return opt_library_error(&PREDICT_OPTIONS, &err);
    snprintf(r->name, sizeof r->name, "%s, seed %llu", o->dataset,
             (unsigned long long)spec.seed);
    r->labelled = 1;
    if (meta->classes == 0) r->ds.classes = 0; /* a regression model: the labels are targets */
    return EXIT_OK;
}

int predict_rows_load(const predict_options *o, const nn_model_meta *meta, predict_rows *r) {
    memset(r, 0, sizeof *r);
    int rc = o->input_path ? load_csv(o, meta, r) : generate(o, meta, r);
    const size_t inputs = meta->config.sizes[0];
    if (rc == EXIT_OK && r->ds.features != inputs)
        rc = cli_usage_error("the model '%s' has %zu inputs, but %s has %zu features",
                             o->model_path, inputs, r->name, r->ds.features);
    if (rc == EXIT_OK && !o->input_path && r->ds.classes != meta->classes)
        rc = cli_usage_error("--dataset: the model '%s' has %zu classes, but %s has %zu",
                             o->model_path, meta->classes, r->name, r->ds.classes);
    if (rc != EXIT_OK) predict_rows_free(r);
    return rc;
}

void predict_rows_free(predict_rows *r) {
    nn_dataset_free(&r->ds);
    memset(r, 0, sizeof *r);
}
