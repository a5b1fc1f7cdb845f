/* experiment.c — the data of a training run (generated or loaded, split,
 * standardized; or streamed) and the model completed from it, checked by the
 * library before anything trains. */
#include "experiment.h"

#include <string.h>

/* A library error about the run's options: "nnbench: --flag: message". */
static int fail(const opt_table *t, experiment_data *d, const nn_error *err) {
    experiment_data_free(d);
    return opt_library_error(t, err);
}

/* Streamed data: train and test are consecutive index ranges of one stream. */
static int prepare_streamed(const opt_table *t, experiment_options *o, experiment_data *d) {
    nn_error err;
    if (o->train.batch == 0)
        return cli_usage_error("--batch: a streamed dataset (%zu samples) needs a batch size, "
                               "e.g. --batch 256", o->spec.samples);
    if (nn_data_spec_check(&o->spec, &err) != NN_OK) return opt_library_error(t, &err);
    d->streamed = 1;
    d->n_test = (uint64_t)((double)o->spec.samples * o->test_fraction + 0.5);
    d->n_train = o->spec.samples - d->n_test;
    if (d->n_train == 0) return cli_usage_error("--test-fraction: leaves no training samples");
    d->train_gen = (nn_generator_source){o->spec, 0};
    d->test_gen = (nn_generator_source){o->spec, d->n_train};
    nn_source s = nn_source_from_generator(&d->train_gen, d->n_train);
    d->features = s.features;
    d->classes = s.classes;
    snprintf(d->name, sizeof d->name, "%s (streamed)", o->dataset);
    return EXIT_OK;
}

/* Generate the in-memory dataset of the spec, after checking that it fits. */
static int generate(const opt_table *t, experiment_options *o, nn_dataset *all) {
    nn_error err;
    char what[128];
    snprintf(what, sizeof what, "%zu samples of %zu features", o->spec.samples,
             o->spec.features);
    /* the generated set, then its train and test copies */
    double bytes = 2.0 * (double)o->spec.samples * ((double)o->spec.features + 1.0) * sizeof(float);
    if (cli_check_memory("--samples", bytes, what)) return EXIT_USAGE;
    if (nn_data_generate(&o->spec, all, &err) == NN_OK) return EXIT_OK;
    if (err.status == NN_E_NOMEM && !err.param[0]) return cli_usage_error("--samples: %s", err.msg);
    return opt_library_error(t, &err);
}

/* In-memory data: generate or load, split, standardize with training statistics. */
static int prepare_in_memory(const opt_table *t, experiment_options *o, experiment_data *d) {
    nn_error err;
    nn_dataset all;
    memset(&all, 0, sizeof all);
    if (strncmp(o->dataset, "csv:", 4) == 0) {
        const char *path = o->dataset + 4;
        int loss_set = opt_was_given(&o->given, "--loss") || o->model_from_file;
        nn_csv_options co = {-1, -1, loss_set && o->model.loss == NN_LOSS_MSE};
        nn_csv_info info;
        if (nn_data_load_csv_info(path, &co, &all, &info, &err) != NN_OK)
            return cli_usage_error("--dataset: %s", err.msg);
        if (info.warning[0]) cli_warn("%s", info.warning);
        snprintf(d->name, sizeof d->name, "csv:%s", path);
    } else {
        int rc = generate(t, o, &all);
        if (rc != EXIT_OK) return rc;
        snprintf(d->name, sizeof d->name, "%s", o->dataset);
    }
    nn_status st = nn_data_split(&all, o->test_fraction, o->seed, &d->train, &d->test, &err);
    nn_dataset_free(&all);
    if (st != NN_OK) return opt_library_error(t, &err);
    if (nn_data_standardize(&d->train, &d->test, &d->scaler, &err) != NN_OK) {
        fprintf(stderr, "nnbench: %s\n", err.msg);
        return EXIT_FAIL;
    }
    d->n_train = d->train.n;
    d->n_test = d->test.n;
    d->features = d->train.features;
    d->classes = d->train.classes;
    return EXIT_OK;
}

nn_source experiment_train_source(const experiment_data *d) {
    return d->streamed ? nn_source_from_generator(&d->train_gen, d->n_train)
                       : nn_source_from_dataset(&d->train);
}

nn_source experiment_test_source(const experiment_data *d) {
    return d->streamed ? nn_source_from_generator(&d->test_gen, d->n_test)
                       : nn_source_from_dataset(&d->test);
}

/* The model's loss and widths from the data where the options left them open. */
static void complete_model(experiment_options *o, const experiment_data *d) {
    if (o->model_from_file) return; /* --init: the file's architecture */
    if (!opt_was_given(&o->given, "--loss")) o->model.loss = nn_loss_for_classes(d->classes);
    if (!opt_was_given(&o->given, "--layers")) {
        o->model.n_sizes = 3;
        o->model.sizes[0] = d->features;
        o->model.sizes[1] = 8;
        o->model.sizes[2] = nn_loss_outputs(o->model.loss, d->classes);
    }
}

int experiment_prepare(const opt_table *t, experiment_options *o, experiment_data *d) {
    memset(d, 0, sizeof *d);
    int generated = strncmp(o->dataset, "csv:", 4) != 0;
    double bytes = (double)o->spec.samples * ((double)o->spec.features + 1.0) * sizeof(float);
    int rc = generated && (o->stream || bytes > EXPERIMENT_STREAM_BYTES)
                 ? prepare_streamed(t, o, d)
                 : prepare_in_memory(t, o, d);
    if (rc != EXIT_OK) {
        experiment_data_free(d);
        return rc;
    }
    if (o->stream && !generated)
        cli_warn("--stream applies to generated datasets; %s is read into memory", d->name);
    complete_model(o, d);
    nn_error err;
    nn_status st = nn_train_check_data(&o->model, d->n_train, d->features, d->classes, &err);
    if (st != NN_OK && o->model_from_file && strcmp(err.param, "samples") != 0) {
        experiment_data_free(d);
        return cli_usage_error("--init: the model '%s' does not fit the data %s: %s", o->init_path,
                               d->name, err.msg);
    }
    if (st != NN_OK || nn_train_config_validate(&o->train, &err) != NN_OK)
        return fail(t, d, &err);
    const size_t outputs = o->model.sizes[o->model.n_sizes - 1];
    if (d->streamed) o->train.chunk_rows = experiment_chunk_rows(d->features, outputs);
    /* the rows one step holds: a batch above the training rows takes them all */
    size_t batch = o->train.batch && o->train.batch < d->n_train ? o->train.batch
                                                                  : (size_t)d->n_train;
    if (cli_check_memory("--layers", nn_model_memory_bytes(&o->model, batch, o->train.optimizer),
                         "the network's parameters and activations")) {
        experiment_data_free(d);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

void experiment_data_free(experiment_data *d) {
    nn_dataset_free(&d->train);
    nn_dataset_free(&d->test);
    nn_scaler_free(&d->scaler);
}

void experiment_batch_str(const experiment_options *o, uint64_t n_train, char *buf, size_t len) {
    if (o->train.batch && o->train.batch < n_train) snprintf(buf, len, "batch %zu", o->train.batch);
    else snprintf(buf, len, "full batch");
}

size_t experiment_chunk_rows(size_t features, size_t outputs) {
    size_t rows = ((size_t)32 << 20) / ((features + outputs) * sizeof(float));
    return rows > ((size_t)1 << 18) ? (size_t)1 << 18 : rows ? rows : 1;
}
