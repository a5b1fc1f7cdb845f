/* experiment.c — train options, their defaults and the data they describe. */
#include "experiment.h"

#include <string.h>
#include <unistd.h>

#define MAX_WIDTH 65536

void experiment_defaults(experiment_options *o) {
    memset(o, 0, sizeof *o);
    o->backend = "cpu";
    o->dataset = "circles";
    o->spec = nn_data_spec_default(NN_DATA_CIRCLES);
    o->activation = NN_ACT_RELU;
    o->loss = NN_LOSS_BCE;
    o->train = nn_train_config_default();
    o->test_fraction = 0.2;
    o->seed = 42;
}

void experiment_usage(FILE *f) {
    fprintf(f,
"usage: nnbench [train] [options]        (train is the default command)\n"
"\n"
"With no options: the tutorial's experiment (circles, 1000 samples, noise 0.1,\n"
"2-8-1 ReLU/sigmoid MLP, He init, full-batch gradient descent, lr 0.1, 1000 epochs).\n"
"\n"
"backend:\n"
"  --backend NAME       cpu | opencl | auto                      (default cpu)\n"
"  --device N|NAME      OpenCL device index or name substring   (default $NN_OPENCL_DEVICE, else auto)\n"
"  --no-fallback        fail (exit 3) instead of using cpu when OpenCL is unusable\n"
"  --threads N          CPU threads, 0 = all cores               (default 0)\n"
"  --profile            report OpenCL kernel, transfer and build time\n"
"  --check              train on cpu and opencl side by side and compare (see nnbench check)\n"
"data:\n"
"  --dataset NAME       circles | moons | xor | spirals | blobs | teacher | csv:PATH  (default circles)\n"
"  --samples N          samples to generate (e.g. 1000, 1e5, 2M) (default 1000)\n"
"  --noise X            noise of the generator                   (default per dataset; circles 0.1)\n"
"  --factor X           circles: inner/outer radius ratio        (default 0.8)\n"
"  --classes K          classes for spirals, blobs, teacher      (default per dataset)\n"
"  --features D         input dimension for blobs, teacher       (default per dataset)\n"
"  --label-noise P      teacher: fraction of labels replaced     (default 0)\n"
"  --test-fraction F    share of samples held out for testing    (default 0.2)\n"
"  --stream             generate rows while training, in bounded memory (automatic above\n"
"                       256 MiB of data; needs --batch); test rows are a separate range\n"
"model:\n"
"  --layers A,B,...,Z   layer widths, input first                (default FEATURES,8,OUTPUTS)\n"
"  --activation NAME    hidden activation: relu | sigmoid | tanh (default relu)\n"
"  --loss NAME          bce (sigmoid) | ce (softmax) | mse (linear) (default bce; ce for >2 classes)\n"
"training:\n"
"  --optimizer NAME     sgd | momentum | adam                    (default sgd)\n"
"  --lr X               learning rate                            (default 0.1)\n"
"  --momentum X         momentum coefficient                     (default 0.9)\n"
"  --epochs N           passes over the training set             (default 1000)\n"
"  --batch N            rows per step, 0 = full batch            (default 0)\n"
"  --seed N             drives data, initialization, shuffling   (default 42)\n"
"output:\n"
"  --log-every N        print the loss every N epochs, 0 = last only (default 100)\n"
"  --quiet              print only the final results\n"
"  --json PATH          write a result record (- for stdout)\n"
"  --plot PATH.svg      decision boundary and loss curve (2-D data)\n"
"  --help               this text\n");
}

int experiment_parse(int argc, char **argv, experiment_options *o) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        long l;
        double d;
        uint64_t u;
        nn_error err;
#define VALUE(name) if (!(v = cli_value(argc, argv, &i, name))) return EXIT_USAGE
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            experiment_usage(stdout);
            return -1;
        } else if (cli_is(a, "--backend")) {
            VALUE("--backend");
            if (strcmp(v, "cpu") && strcmp(v, "opencl") && strcmp(v, "auto"))
                return cli_usage_error("--backend: expected cpu, opencl or auto, got '%s'", v);
            o->backend = v;
        } else if (cli_is(a, "--device")) {
            VALUE("--device");
            o->device = v;
        } else if (strcmp(a, "--no-fallback") == 0) {
            o->no_fallback = 1;
        } else if (cli_is(a, "--threads")) {
            VALUE("--threads");
            if (cli_parse_long("--threads", v, 0, 1024, &l)) return EXIT_USAGE;
            o->threads = (int)l;
            long cores = sysconf(_SC_NPROCESSORS_ONLN);
            if (cores > 0 && l > cores)
                cli_warn("--threads %ld is more than the %ld cores here; threads will share cores",
                         l, cores);
        } else if (strcmp(a, "--profile") == 0) {
            o->profile = 1;
        } else if (strcmp(a, "--check") == 0) {
            o->check = 1;
        } else if (cli_is(a, "--dataset")) {
            VALUE("--dataset");
            o->dataset = v;
            if (strncmp(v, "csv:", 4) != 0) {
                nn_data_kind k;
                if (nn_data_kind_parse(v, &k, &err) != NN_OK)
                    return cli_usage_error("--dataset: %s (or csv:PATH)", err.msg);
                nn_data_spec def = nn_data_spec_default(k);
                /* keep values the user already set */
                if (o->samples_set) def.samples = o->spec.samples;
                if (o->noise_set) def.noise = o->spec.noise;
                if (o->classes_set) def.classes = o->spec.classes;
                if (o->features_set) def.features = o->spec.features;
                def.factor = o->spec.factor;
                def.label_noise = o->spec.label_noise;
                o->spec = def;
            } else if (v[4] == '\0') {
                return cli_usage_error("--dataset: csv: needs a path, e.g. csv:data.csv");
            }
        } else if (cli_is(a, "--samples")) {
            VALUE("--samples");
            if (cli_parse_count("--samples", v, 2, (uint64_t)1 << 40, &u)) return EXIT_USAGE;
            o->spec.samples = (size_t)u;
            o->samples_set = 1;
        } else if (cli_is(a, "--noise")) {
            VALUE("--noise");
            if (cli_parse_double("--noise", v, 0, 1e6, &d)) return EXIT_USAGE;
            o->spec.noise = d;
            o->noise_set = 1;
        } else if (cli_is(a, "--factor")) {
            VALUE("--factor");
            if (cli_parse_double("--factor", v, 1e-9, 0.999999, &d)) return EXIT_USAGE;
            o->spec.factor = d;
        } else if (cli_is(a, "--classes")) {
            VALUE("--classes");
            if (cli_parse_long("--classes", v, 2, 4096, &l)) return EXIT_USAGE;
            o->spec.classes = (size_t)l;
            o->classes_set = 1;
        } else if (cli_is(a, "--features")) {
            VALUE("--features");
            if (cli_parse_long("--features", v, 1, MAX_WIDTH, &l)) return EXIT_USAGE;
            o->spec.features = (size_t)l;
            o->features_set = 1;
        } else if (cli_is(a, "--label-noise")) {
            VALUE("--label-noise");
            if (cli_parse_double("--label-noise", v, 0, 1, &d)) return EXIT_USAGE;
            o->spec.label_noise = d;
        } else if (cli_is(a, "--test-fraction")) {
            VALUE("--test-fraction");
            if (cli_parse_double("--test-fraction", v, 0, 0.95, &d)) return EXIT_USAGE;
            o->test_fraction = d;
        } else if (cli_is(a, "--layers")) {
            VALUE("--layers");
            if (cli_parse_layers("--layers", v, MAX_WIDTH, &o->model)) return EXIT_USAGE;
            o->layers_set = 1;
        } else if (cli_is(a, "--activation")) {
            VALUE("--activation");
            if (nn_act_parse(v, &o->activation, &err) != NN_OK)
                return cli_usage_error("--activation: %s", err.msg);
        } else if (cli_is(a, "--loss")) {
            VALUE("--loss");
            if (nn_loss_parse(v, &o->loss, &err) != NN_OK)
                return cli_usage_error("--loss: %s", err.msg);
            o->loss_set = 1;
        } else if (cli_is(a, "--optimizer")) {
            VALUE("--optimizer");
            if (nn_optimizer_parse(v, &o->train.optimizer, &err) != NN_OK)
                return cli_usage_error("--optimizer: %s", err.msg);
        } else if (cli_is(a, "--lr")) {
            VALUE("--lr");
            if (cli_parse_double("--lr", v, 1e-12, 1e6, &d)) return EXIT_USAGE;
            o->train.lr = d;
        } else if (cli_is(a, "--momentum")) {
            VALUE("--momentum");
            if (cli_parse_double("--momentum", v, 0, 0.999999, &d)) return EXIT_USAGE;
            o->train.momentum = d;
        } else if (cli_is(a, "--epochs")) {
            VALUE("--epochs");
            if (cli_parse_long("--epochs", v, 1, 100000000, &l)) return EXIT_USAGE;
            o->train.epochs = (int)l;
        } else if (cli_is(a, "--batch")) {
            VALUE("--batch");
            if (cli_parse_count("--batch", v, 0, (uint64_t)1 << 32, &u)) return EXIT_USAGE;
            o->train.batch = (size_t)u;
        } else if (cli_is(a, "--seed")) {
            VALUE("--seed");
            if (cli_parse_count("--seed", v, 0, UINT64_MAX >> 11, &u)) return EXIT_USAGE;
            o->seed = u;
        } else if (cli_is(a, "--log-every")) {
            VALUE("--log-every");
            if (cli_parse_long("--log-every", v, 0, 100000000, &l)) return EXIT_USAGE;
            o->train.log_every = (int)l;
        } else if (strcmp(a, "--stream") == 0) {
            o->stream = 1;
        } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            o->quiet = 1;
        } else if (cli_is(a, "--json")) {
            VALUE("--json");
            o->json_path = v;
        } else if (cli_is(a, "--plot")) {
            VALUE("--plot");
            o->plot_path = v;
        } else {
            return cli_usage_error("unknown option '%s' (see nnbench --help)", a);
        }
#undef VALUE
    }
    if (o->device && strcmp(o->backend, "cpu") == 0)
        return cli_usage_error("--device: selects an OpenCL device; add --backend opencl");
    o->spec.seed = o->seed;
    o->train.seed = o->seed;
    o->model.seed = o->seed;
    o->model.hidden = o->activation;
    return EXIT_OK;
}

/* Streamed data: train and test are consecutive index ranges of one stream. */
static int prepare_streamed(experiment_options *o, experiment_data *d) {
    nn_error err;
    if (o->train.batch == 0)
        return cli_usage_error("--batch: a streamed dataset (%zu samples) needs a batch size, "
                               "e.g. --batch 256", o->spec.samples);
    d->streamed = 1;
    d->n_test = (uint64_t)((double)o->spec.samples * o->test_fraction + 0.5);
    d->n_train = o->spec.samples - d->n_test;
    if (d->n_train == 0) return cli_usage_error("--test-fraction: leaves no training samples");
    d->train_gen = (nn_generator_source){o->spec, 0};
    d->test_gen = (nn_generator_source){o->spec, d->n_train};
    float x[4096], y[1]; /* validate the spec once, on one row */
    if (o->spec.features > 4096)
        return cli_usage_error("--features: at most 4096 when streaming");
    if (nn_data_generate_range(&o->spec, 0, 1, x, y, &err) != NN_OK)
        return cli_usage_error("--dataset %s: %s", o->dataset, err.msg);
    nn_source s = nn_source_from_generator(&d->train_gen, d->n_train);
    d->features = s.features;
    d->classes = s.classes;
    snprintf(d->name, sizeof d->name, "%s (streamed)", o->dataset);
    nn_source s2 = nn_source_from_generator(&d->train_gen, d->n_train);
    o->train.chunk_rows = experiment_chunk_rows(s2.features, s2.classes > 2 ? s2.classes : 1);
    return EXIT_OK;
}

/* In-memory data: generate or load, split, standardize with training statistics. */
static int prepare_in_memory(experiment_options *o, experiment_data *d) {
    nn_error err;
    nn_dataset all;
    memset(&all, 0, sizeof all);
    if (strncmp(o->dataset, "csv:", 4) == 0) {
        const char *path = o->dataset + 4;
        nn_csv_options co = {-1, -1, o->loss_set && o->loss == NN_LOSS_MSE};
        if (nn_data_load_csv(path, &co, &all, &err) != NN_OK)
            return cli_usage_error("--dataset: %s", err.msg);
        snprintf(d->name, sizeof d->name, "csv:%s", path);
    } else {
        char what[128];
        snprintf(what, sizeof what, "%zu samples of %zu features", o->spec.samples,
                 o->spec.features);
        /* the generated set, then its train and test copies */
        if (cli_check_memory("--samples", 2.0 * (double)o->spec.samples *
                                              ((double)o->spec.features + 1.0) * sizeof(float),
                             what))
            return EXIT_USAGE;
        if (nn_data_generate(&o->spec, &all, &err) != NN_OK) {
            if (err.status == NN_E_NOMEM)
                return cli_usage_error("--samples: %s", err.msg);
            return cli_usage_error("--dataset %s: %s", o->dataset, err.msg);
        }
        snprintf(d->name, sizeof d->name, "%s", o->dataset);
    }
    nn_status st = nn_data_split(&all, o->test_fraction, o->seed, &d->train, &d->test, &err);
    nn_dataset_free(&all);
    if (st != NN_OK) return cli_usage_error("--test-fraction: %s", err.msg);
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

int experiment_prepare(experiment_options *o, experiment_data *d) {
    memset(d, 0, sizeof *d);
    int generated = strncmp(o->dataset, "csv:", 4) != 0;
    double bytes = (double)o->spec.samples * ((double)o->spec.features + 1.0) * sizeof(float);
    int rc = generated && (o->stream || bytes > EXPERIMENT_STREAM_BYTES)
                 ? prepare_streamed(o, d)
                 : prepare_in_memory(o, d);
    if (rc != EXIT_OK) {
        experiment_data_free(d);
        return rc;
    }
    if (o->stream && !generated)
        cli_warn("--stream applies to generated datasets; %s is read into memory", d->name);

    /* Complete the model from the data: loss from the classes, widths from the features. */
    size_t classes = d->classes;
    if (!o->loss_set) o->loss = classes > 2 ? NN_LOSS_CE : classes == 0 ? NN_LOSS_MSE : NN_LOSS_BCE;
    size_t outputs = o->loss == NN_LOSS_CE ? classes : 1;
    if (!o->layers_set) {
        o->model.n_sizes = 3;
        o->model.sizes[0] = d->features;
        o->model.sizes[1] = 8;
        o->model.sizes[2] = outputs;
    }
    o->model.loss = o->loss;
    if (o->model.sizes[0] != d->features) {
        experiment_data_free(d);
        return cli_usage_error("--layers: the first layer has %zu inputs but dataset %s has %zu "
                               "features", o->model.sizes[0], d->name, d->features);
    }
    size_t last = o->model.sizes[o->model.n_sizes - 1];
    if (o->loss == NN_LOSS_CE && classes < 2) {
        experiment_data_free(d);
        return cli_usage_error("--loss ce needs class labels; dataset %s is a regression set",
                               d->name);
    }
    if (o->loss == NN_LOSS_BCE && classes != 2) {
        experiment_data_free(d);
        return cli_usage_error("--loss bce needs 2 classes; dataset %s has %zu (use --loss ce)",
                               d->name, classes);
    }
    if (last != outputs) {
        experiment_data_free(d);
        return cli_usage_error("--layers: the last layer has %zu output%s but loss %s on %zu "
                               "classes needs %zu", last, last == 1 ? "" : "s",
                               nn_loss_name(o->loss), classes, outputs);
    }
    /* parameters, gradients, two optimizer moments, plus the activations of a batch */
    double params = 0, widths = 0;
    for (size_t i = 0; i + 1 < o->model.n_sizes; i++) {
        params += (double)o->model.sizes[i] * (double)o->model.sizes[i + 1] + (double)o->model.sizes[i + 1];
        widths += (double)o->model.sizes[i + 1];
    }
    double batch = o->train.batch ? (double)o->train.batch : (double)d->n_train;
    if (cli_check_memory("--layers", 4.0 * 4.0 * params + 4.0 * 4.0 * batch * widths,
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

void experiment_layers_str(const nn_model_config *m, char *buf, size_t len) {
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < m->n_sizes && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, i ? "-%zu" : "%zu", m->sizes[i]);
}

size_t experiment_chunk_rows(size_t features, size_t outputs) {
    size_t rows = ((size_t)32 << 20) / ((features + outputs) * sizeof(float));
    return rows > ((size_t)1 << 18) ? (size_t)1 << 18 : rows ? rows : 1;
}
