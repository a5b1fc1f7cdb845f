/* cmd_predict.c — `nnbench predict`: a saved model applied to CSV rows or
 * generated ones; one CSV row of probabilities and predicted class (or the
 * predicted value) per input row, then accuracy and loss when the rows carry
 * labels. */
#include <stdlib.h>
#include <string.h>

#include "files.h"
#include "out/outfile.h"
#include "predict.h"

#define PREDICT_CHUNK 4096 /* rows predicted at once */

/* The model, its metadata, the rows and where predictions go. */
typedef struct predict_run {
    predict_options o;
    nn_model_meta meta;
    float *params; /* (n_params) */
    size_t n_params;
    predict_rows rows;
    nn_backend *be;
    nn_model *m;
} predict_run;

/* The CSV header: "p0,p1,class" (bce), "p0,...,p<k-1>,class" (ce), "value" (mse). */
static void write_header(FILE *f, const nn_model_config *c) {
    const size_t k = c->loss == NN_LOSS_BCE ? 2 : c->sizes[c->n_sizes - 1];
    if (c->loss == NN_LOSS_MSE && k == 1) {
        fputs("value\n", f);
        return;
    }
    if (c->loss == NN_LOSS_MSE) {
        for (size_t j = 0; j < k; j++) fprintf(f, "%svalue%zu", j ? "," : "", j);
        fputc('\n', f);
        return;
    }
    for (size_t j = 0; j < k; j++) fprintf(f, "p%zu,", j);
    fputs("class\n", f);
}

/* One row of outputs y (outputs values) as CSV, with the predicted class. */
static void write_row(FILE *f, const nn_model_config *c, const float *y, size_t outputs) {
    if (c->loss == NN_LOSS_BCE) {
        fprintf(f, "%.9g,%.9g,%d\n", 1.0 - (double)y[0], (double)y[0], y[0] >= 0.5f);
        return;
    }
    size_t best = 0;
    for (size_t j = 0; j < outputs; j++) {
        fprintf(f, j ? ",%.9g" : "%.9g", (double)y[j]);
        if (y[j] > y[best]) best = j;
    }
    if (c->loss == NN_LOSS_CE) fprintf(f, ",%zu", best);
    fputc('\n', f);
}

/* Predict every row into f, PREDICT_CHUNK rows at a time. */
static int write_predictions(predict_run *p, FILE *f) {
    const nn_model_config *c = &p->meta.config;
    const size_t in = c->sizes[0], outputs = c->sizes[c->n_sizes - 1];
    const nn_dataset *ds = &p->rows.ds;
    float *y = malloc((size_t)PREDICT_CHUNK * outputs * sizeof(float)); /* (chunk, outputs) */
    if (!y) return cli_usage_error("out of memory"), EXIT_FAIL;
    write_header(f, c);
    nn_error err;
    for (size_t at = 0; at < ds->n; at += PREDICT_CHUNK) {
        size_t n = ds->n - at < PREDICT_CHUNK ? ds->n - at : PREDICT_CHUNK;
        if (nn_model_predict(p->m, ds->x + at * in, n, y, &err) != NN_OK) {
            free(y);
            fprintf(stderr, "nnbench: %s\n", err.msg);
            return EXIT_FAIL;
        }
        for (size_t i = 0; i < n; i++) write_row(f, c, y + i * outputs, outputs);
    }
    free(y);
    return EXIT_OK;
}

/* The predictions file, then accuracy and loss when the rows are labelled. */
static int report(predict_run *p) {
    const predict_options *o = &p->o;
    out_file out;
    char msg[4200];
    if (out_open(&out, o->output_path, 1, 0, msg, sizeof msg) != 0)
        return cli_usage_error("--output: %s", msg);
    int rc = write_predictions(p, out.fp);
    if (rc != EXIT_OK) {
        out_abort(&out);
        return rc;
    }
    if (out_commit(&out, msg, sizeof msg) != 0) {
        fprintf(stderr, "nnbench: --output: %s\n", msg);
        return EXIT_FAIL;
    }
    if (!p->rows.labelled) return EXIT_OK;
    nn_eval ev;
    nn_error err;
    if (nn_model_evaluate(p->m, &p->rows.ds, &ev, &err) != NN_OK) {
        fprintf(stderr, "nnbench: %s\n", err.msg);
        return EXIT_FAIL;
    }
    FILE *text = strcmp(o->output_path, "-") == 0 ? stderr : stdout;
    if (p->meta.config.loss == NN_LOSS_MSE)
        fprintf(text, "MSE: %.6f (%zu samples of %s)\n", ev.loss, p->rows.ds.n, p->rows.name);
    else
        fprintf(text, "Accuracy: %.4f, loss %.6f (%zu samples of %s)\n", ev.accuracy, ev.loss,
                p->rows.ds.n, p->rows.name);
    return EXIT_OK;
}

/* Options that must come together, and the files: none may be the output. */
static int check_options(const predict_options *o) {
    if (!o->model_path) return cli_usage_error("predict: --model PATH is required");
    if (!o->input_path == !o->dataset)
        return cli_usage_error("predict: give the rows as --input data.csv or --dataset NAME "
                               "(one of them)");
    const char *const data_opts[] = {"--samples", "--seed", "--noise", "--factor", "--classes",
                                     "--features", "--label-noise"};
    for (size_t i = 0; i < sizeof data_opts / sizeof data_opts[0]; i++)
        if (!o->dataset && opt_was_given(&o->given, data_opts[i]))
            return cli_usage_error("%s: applies to generated rows (--dataset NAME)", data_opts[i]);
    const file_use files[] = {{"--model", o->model_path, 0, 0, NULL},
                              {"--input", o->input_path, 0, 0, NULL},
                              {"--output", o->output_path, 1, 1, NULL}};
    return files_check(files, sizeof files / sizeof files[0]);
}

/* Model file, rows (standardized as the model's were), backend, model. */
static int setup(predict_run *p) {
    const predict_options *o = &p->o;
    nn_error err;
    if (nn_model_file_read(o->model_path, &p->meta, &p->params, &p->n_params, &err) != NN_OK)
        return cli_usage_error("--model: %s", err.msg);
    int rc = predict_rows_load(o, &p->meta, &p->rows);
    if (rc != EXIT_OK) return rc;
    if (p->meta.scaler.features) nn_scaler_apply(&p->meta.scaler, p->rows.ds.x, p->rows.ds.n);
    nn_backend_config bc = {o->threads, NULL, 0};
    if ((rc = cli_open_backend(o->backend, &bc, 0, &p->be, NULL, 0)) != EXIT_OK) return rc;
    if (nn_model_create(p->be, &p->meta.config, &p->m, &err) != NN_OK ||
        nn_model_set_params(p->m, p->params, p->n_params, &err) != NN_OK) {
        fprintf(stderr, "nnbench: %s\n", err.msg);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

int cmd_predict(int argc, char **argv) {
    predict_run p;
    memset(&p, 0, sizeof p);
    opt_defaults(&PREDICT_OPTIONS, &p.o);
    int rc = opt_parse(&PREDICT_OPTIONS, argc, argv, &p.o, &p.o.given);
    if (rc < 0) return EXIT_OK; /* --help */
    if (rc == EXIT_OK) rc = check_options(&p.o);
    if (rc == EXIT_OK) rc = setup(&p);
    if (rc == EXIT_OK) rc = report(&p);
    nn_model_free(p.m);
    nn_backend_close(p.be);
    predict_rows_free(&p.rows);
    nn_model_meta_free(&p.meta);
    free(p.params);
    return rc;
}
