/* experiment.h — the options of a training run and turning them into a
 * dataset, a model configuration and a training configuration. Shared by
 * the train and check commands. */
#ifndef NNBENCH_EXPERIMENT_H
#define NNBENCH_EXPERIMENT_H

#include "cli.h"

typedef struct experiment_options {
    const char *backend;     /* cpu | opencl | auto */
    const char *device;      /* --device, NULL = default */
    int no_fallback;
    int threads;
    const char *dataset;     /* generator name or csv:PATH */
    nn_data_spec spec;       /* generator parameters */
    int samples_set, classes_set, features_set, noise_set;
    nn_model_config model;
    int layers_set;
    nn_act activation;
    nn_loss loss;
    int loss_set;
    nn_train_config train;
    double test_fraction;
    uint64_t seed;
    int stream;              /* --stream: generate while training (auto for large sets) */
    int quiet;
    int profile;
    int check;               /* --check: compare cpu and opencl instead of training once */
    const char *json_path;   /* NULL = none, "-" = stdout */
    const char *plot_path;   /* NULL = none */
} experiment_options;

/* Defaults: the tutorial's experiment. */
void experiment_defaults(experiment_options *o);
/* Parse train options from argv[1..). Returns EXIT_OK, EXIT_USAGE (message
 * printed), or -1 when --help was printed. */
int experiment_parse(int argc, char **argv, experiment_options *o);
/* Print the train options with their defaults. */
void experiment_usage(FILE *f);

/* Data of a run: the split, standardized train and test sets in memory, or
 * (streamed) two index ranges of a generator's stream. */
typedef struct experiment_data {
    int streamed;
    nn_dataset train, test;           /* in memory */
    nn_scaler scaler;
    nn_generator_source train_gen;    /* streamed: rows [0, n_train) */
    nn_generator_source test_gen;     /* streamed: rows [n_train, n_train + n_test) */
    uint64_t n_train, n_test;
    size_t features, classes;
    char name[256]; /* e.g. "circles" or the CSV path */
} experiment_data;

/* Rows streamed per chunk (and resident at once) for streamed datasets: at
 * most 2^18 rows and at most 32 MiB of inputs and targets. */
size_t experiment_chunk_rows(size_t features, size_t outputs);
/* In-memory datasets larger than this many bytes are streamed instead. */
#define EXPERIMENT_STREAM_BYTES ((double)(256u << 20))

/* The training and test rows as sources (valid while d lives). */
nn_source experiment_train_source(const experiment_data *d);
nn_source experiment_test_source(const experiment_data *d);

/* Build the data (generate or load, split, standardize) and complete the
 * model configuration from it. Prints one line and returns EXIT_USAGE on bad
 * input, EXIT_FAIL on other failures. */
int experiment_prepare(experiment_options *o, experiment_data *d);
void experiment_data_free(experiment_data *d);
/* "2-8-1" for the model's layer widths. */
void experiment_layers_str(const nn_model_config *m, char *buf, size_t len);

#endif
