/* predict.h — the options of `nnbench predict` (predict_options.c) and the
 * rows it predicts (predict_data.c): a CSV file, with or without a label
 * column, or a generated dataset. */
#ifndef NNBENCH_PREDICT_H
#define NNBENCH_PREDICT_H

#include "cli.h"
#include "nn_io.h"
#include "options.h"

typedef struct predict_options {
    const char *model_path;  /* --model (required) */
    const char *input_path;  /* --input CSV, or NULL */
    const char *output_path; /* --output, "-" = stdout */
    /* --dataset: a generator, its values taken from the model's data where not given */
    const char *dataset;
    size_t samples, classes, features;
    double noise, factor, label_noise;
    uint64_t seed;
    const char *backend;
    int threads;
    opt_given given;
} predict_options;

extern const opt_table PREDICT_OPTIONS;

/* The rows to predict, raw (not yet standardized). */
typedef struct predict_rows {
    nn_dataset ds;  /* x: (n, inputs); y: (n) labels when labelled */
    int labelled;   /* the data carry a label (or target) for every row */
    char name[256]; /* "data.csv" or "circles (500 samples, seed 7)" */
} predict_rows;

/* Read or generate the rows for the model described by meta (its input
 * count, classes and, for generators, the data it was trained on). Returns
 * EXIT_OK, or EXIT_USAGE after one line naming the file or option. */
int predict_rows_load(const predict_options *o, const nn_model_meta *meta, predict_rows *r);
void predict_rows_free(predict_rows *r);

#endif
