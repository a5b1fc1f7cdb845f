/* experiment.h — the options of a training run (shared by the train and check
 * commands) and turning them into a dataset, a model configuration and a
 * training configuration. */
#ifndef NNBENCH_EXPERIMENT_H
#define NNBENCH_EXPERIMENT_H

#include "cli.h"
#include "options.h"

/* How often a checkpoint is written: every `steps` optimizer steps, or
 * every `seconds` of wall time (one of them is 0). */
typedef struct ckpt_every {
    uint64_t steps;
    double seconds;
    const char *text; /* as given: "500", "10m" */
} ckpt_every;

typedef struct experiment_options {
    /* backend */
    const char *backend;   /* cpu | opencl | auto */
    const char *device;    /* --device, NULL = default */
    int no_fallback;
    int threads;
    int profile;
    int check;             /* --check: compare cpu and opencl instead of training once */
    /* data: the values given; experiment_parse builds spec from them */
    const char *dataset;   /* generator name or csv:PATH */
    size_t samples, classes, features;
    double noise, factor, label_noise;
    double test_fraction;
    int stream;            /* --stream: generate while training (auto for large sets) */
    nn_data_spec spec;     /* the generator's parameters */
    /* model: sizes from --layers (n_sizes 0 until experiment_prepare when not
     * given), hidden activation, loss (from the data when not given) */
    nn_model_config model;
    /* training */
    nn_train_config train;
    uint64_t seed;         /* drives data, initialization and shuffling */
    /* output */
    int quiet;
    const char *json_path; /* NULL = none, "-" = stdout */
    const char *plot_path; /* NULL = none */
    /* files (train only; NULL = not given) */
    const char *save_path;       /* --save: the trained model */
    const char *init_path;       /* --init: start from this model's weights */
    const char *checkpoint_path; /* --checkpoint: the training state */
    ckpt_every checkpoint_every; /* --checkpoint-every */
    const char *resume_path;     /* --resume: continue from this checkpoint */
    int model_from_file;         /* widths and loss were taken from the --init file */
    /* check */
    uint64_t check_every;        /* --check-every: one-step comparison every K steps, 0 = auto */
    opt_given given;             /* which options the command line gave */
} experiment_options;

/* The option table of the train command and of the check command (the same
 * groups: backend, data, model, training, output). */
extern const opt_table TRAIN_OPTIONS;
extern const opt_table CHECK_OPTIONS;
/* The check command's usage text and its own group (check_options.c). */
extern const char CHECK_USAGE[];
extern const opt_group CHECK_GROUP;

/* Defaults, then argv[1..) through table t, then the values that follow from
 * others (the generator spec, seeds, the optimizer's learning rate). Returns
 * EXIT_OK, EXIT_USAGE (message printed), or -1 when --help was printed. */
int experiment_parse(const opt_table *t, int argc, char **argv, experiment_options *o);

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
 * model configuration from it (loss, widths), checked by the library against
 * the data and the machine's memory. Prints one line naming the option and
 * returns EXIT_USAGE on bad input, EXIT_FAIL on other failures. */
int experiment_prepare(const opt_table *t, experiment_options *o, experiment_data *d);
void experiment_data_free(experiment_data *d);

/* "batch 64" or "full batch" for a run on n_train rows. */
void experiment_batch_str(const experiment_options *o, uint64_t n_train, char *buf, size_t len);

#endif
