/* predict_options.c — the option table of `nnbench predict`. */
#include <stddef.h>

#include "predict.h"

#define OFF(field) offsetof(predict_options, field)

static const char *const BACKENDS[] = {"cpu", "opencl", "auto", NULL};

static const opt_row MODEL_ROWS[] = {
    {.name = "--model", .metavar = "PATH", .kind = OPT_TEXT, .offset = OFF(model_path),
     .help = "a model written by nnbench train --save (or a checkpoint)"},
    {.name = "--input", .metavar = "PATH", .kind = OPT_TEXT, .offset = OFF(input_path),
     .help = "CSV rows: the model's inputs, optionally followed by a label column"},
    {.name = "--output", .metavar = "PATH", .kind = OPT_TEXT, .offset = OFF(output_path),
     .def = "-", .help = "predictions CSV, - for stdout"},
};

static const opt_row DATA_ROWS[] = {
    {.name = "--dataset", .metavar = "NAME", .kind = OPT_CUSTOM, .type = &OPT_TYPE_GENERATOR,
     .offset = OFF(dataset), .help = "predict generated rows instead of --input: circles | "
     "moons | xor | spirals | blobs | teacher"},
    {.name = "--samples", .metavar = "N", .kind = OPT_SIZE, .offset = OFF(samples), .min = 1,
     .max = 1e9, .note = "the model's data", .help = "rows to generate", .param = "samples"},
    {.name = "--seed", .metavar = "N", .kind = OPT_COUNT, .offset = OFF(seed), .min = 0,
     .max = 9007199254740991.0, .note = "the model's data", .help = "seed of the generated rows",
     .param = "seed"},
    {.name = "--noise", .metavar = "X", .kind = OPT_REAL, .offset = OFF(noise), .min = 0,
     .max = 1e6, .note = "the model's data", .help = "noise of the generator", .param = "noise"},
    {.name = "--factor", .metavar = "X", .kind = OPT_REAL, .offset = OFF(factor), .min = 1e-9,
     .max = 0.999999, .note = "the model's data", .help = "circles: inner/outer radius ratio",
     .param = "factor"},
    {.name = "--classes", .metavar = "K", .kind = OPT_SIZE, .offset = OFF(classes), .min = 2,
     .max = 4096, .note = "the model's data", .help = "classes for spirals, blobs, teacher",
     .param = "classes"},
    {.name = "--features", .metavar = "D", .kind = OPT_SIZE, .offset = OFF(features), .min = 1,
     .max = OPT_MAX_WIDTH, .note = "the model's data", .help = "input dimension for blobs, teacher",
     .param = "features"},
    {.name = "--label-noise", .metavar = "P", .kind = OPT_REAL, .offset = OFF(label_noise),
     .min = 0, .max = 1, .note = "the model's data", .help = "teacher: fraction of labels replaced",
     .param = "label_noise"},
};

static const opt_row BACKEND_ROWS[] = {
    {.name = "--backend", .metavar = "NAME", .kind = OPT_CHOICE, .offset = OFF(backend),
     .choices = BACKENDS, .def = "cpu", .help = "cpu | opencl | auto"},
    {.name = "--threads", .metavar = "N", .kind = OPT_INT, .offset = OFF(threads), .min = 0,
     .max = 1024, .def = "0", .help = "CPU threads, 0 = all cores", .param = "threads"},
};

static const opt_group MODEL = OPT_GROUP("model and files", MODEL_ROWS);
static const opt_group DATA = OPT_GROUP("generated data (instead of --input)", DATA_ROWS);
static const opt_group BACKEND = OPT_GROUP("backend", BACKEND_ROWS);
static const opt_group *const GROUPS[] = {&MODEL, &DATA, &BACKEND, NULL};

const opt_table PREDICT_OPTIONS = {
    "predict",
    "usage: nnbench predict --model PATH (--input data.csv | --dataset NAME) [--output PATH]\n"
    "\n"
    "Applies a saved model (its standardization, then the network) to every row and\n"
    "writes CSV: a header, then per row the class probabilities and the predicted class\n"
    "(p0,p1,...,class), or the predicted value for regression. When the rows carry\n"
    "labels (a CSV with one column more than the model's inputs, or generated data),\n"
    "accuracy and loss follow on stdout (stderr when the predictions go to stdout).\n"
    "--dataset regenerates data like the model's: its generator settings and seed\n"
    "unless given. The output file appears only when complete.\n"
    "\n",
    GROUPS};
