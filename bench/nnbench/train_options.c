/* train_options.c — the options of a training run as one table of shared
 * groups (backend, data, model, training, output), used by `nnbench train`
 * and `nnbench check`, and the values that follow from the ones given. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "experiment.h"

#define OFF(field) offsetof(experiment_options, field)

/* ----------------------------------------------------------------- groups */

static const char *const BACKENDS[] = {"cpu", "opencl", "auto", NULL};

static const opt_row BACKEND_ROWS[] = {
    {.name = "--backend", .metavar = "NAME", .kind = OPT_CHOICE, .offset = OFF(backend),
     .choices = BACKENDS, .def = "cpu", .help = "cpu | opencl | auto", .json = "requested_backend"},
    {.name = "--device", .metavar = "N|NAME", .kind = OPT_TEXT, .offset = OFF(device),
     .note = "$NN_OPENCL_DEVICE, else auto", .help = "OpenCL device index or name substring",
     .param = "device"},
    {.name = "--no-fallback", .kind = OPT_FLAG, .offset = OFF(no_fallback),
     .help = "fail (exit 3) instead of using cpu when OpenCL is unusable"},
    {.name = "--threads", .metavar = "N", .kind = OPT_INT, .offset = OFF(threads), .min = 0,
     .max = 1024, .def = "0", .help = "CPU threads, 0 = all cores", .param = "threads"},
    {.name = "--profile", .kind = OPT_FLAG, .offset = OFF(profile),
     .help = "report OpenCL kernel, transfer and build time"},
    {.name = "--check", .kind = OPT_FLAG, .offset = OFF(check),
     .help = "train on cpu and opencl side by side and compare (see nnbench check)"},
};

static const opt_row DATA_ROWS[] = {
    {.name = "--dataset", .metavar = "NAME", .kind = OPT_CUSTOM, .type = &OPT_TYPE_DATASET,
     .offset = OFF(dataset), .def = "circles",
     .help = "circles | moons | xor | spirals | blobs | teacher | csv:PATH"},
    {.name = "--samples", .metavar = "N", .kind = OPT_SIZE, .offset = OFF(samples), .min = 2,
     .max = 1099511627776.0, .note = "1000", .help = "samples to generate (e.g. 1000, 1e5, 2M)",
     .param = "samples"},
    {.name = "--noise", .metavar = "X", .kind = OPT_REAL, .offset = OFF(noise), .min = 0,
     .max = 1e6, .note = "per dataset; circles 0.1", .help = "noise of the generator",
     .param = "noise"},
    {.name = "--factor", .metavar = "X", .kind = OPT_REAL, .offset = OFF(factor), .min = 1e-9,
     .max = 0.999999, .note = "0.8", .help = "circles: inner/outer radius ratio",
     .param = "factor"},
    {.name = "--classes", .metavar = "K", .kind = OPT_SIZE, .offset = OFF(classes), .min = 2,
     .max = 4096, .note = "per dataset", .help = "classes for spirals, blobs, teacher",
     .param = "classes"},
    {.name = "--features", .metavar = "D", .kind = OPT_SIZE, .offset = OFF(features), .min = 1,
     .max = OPT_MAX_WIDTH, .note = "per dataset", .help = "input dimension for blobs, teacher",
     .param = "features"},
    {.name = "--label-noise", .metavar = "P", .kind = OPT_REAL, .offset = OFF(label_noise),
     .min = 0, .max = 1, .note = "0", .help = "teacher: fraction of labels replaced",
     .param = "label_noise"},
    {.name = "--test-fraction", .metavar = "F", .kind = OPT_REAL, .offset = OFF(test_fraction),
     .min = 0, .max = 0.95, .def = "0.2", .help = "share of samples held out for testing",
     .param = "test_fraction"},
    {.name = "--stream", .kind = OPT_FLAG, .offset = OFF(stream),
     .help = "generate rows while training, in bounded memory (automatic above 256 MiB of "
             "data; needs --batch); test rows are a separate range"},
};

static const opt_row MODEL_ROWS[] = {
    {.name = "--layers", .metavar = "A,B,...,Z", .kind = OPT_CUSTOM, .type = &OPT_TYPE_LAYERS,
     .offset = OFF(model), .note = "FEATURES,8,OUTPUTS", .help = "layer widths, input first",
     .param = "layers", .json = "layers"},
    {.name = "--activation", .metavar = "NAME", .kind = OPT_CUSTOM, .type = &OPT_TYPE_ACTIVATION,
     .offset = OFF(model.hidden), .def = "relu", .help = "hidden activation: relu | sigmoid | tanh",
     .param = "hidden", .json = "activation"},
    {.name = "--loss", .metavar = "NAME", .kind = OPT_CUSTOM, .type = &OPT_TYPE_LOSS,
     .offset = OFF(model.loss), .note = "bce; ce for >2 classes, mse for regression data",
     .help = "bce (sigmoid) | ce (softmax) | mse (linear)", .param = "loss", .json = "loss"},
};

static const opt_row TRAINING_ROWS[] = {
    {.name = "--optimizer", .metavar = "NAME", .kind = OPT_CUSTOM, .type = &OPT_TYPE_OPTIMIZER,
     .offset = OFF(train.optimizer), .def = "sgd", .help = "sgd | momentum | adam",
     .param = "optimizer", .json = "optimizer"},
    {.name = "--lr", .metavar = "X", .kind = OPT_REAL, .offset = OFF(train.lr), .min = 1e-12,
     .max = 1e6, .note = "sgd 0.1, momentum 0.01, adam 0.001", .help = "learning rate",
     .param = "lr", .json = "lr"},
    {.name = "--momentum", .metavar = "X", .kind = OPT_REAL, .offset = OFF(train.momentum),
     .min = 0, .max = 0.999999, .def = "0.9", .help = "momentum coefficient",
     .param = "momentum"},
    {.name = "--epochs", .metavar = "N", .kind = OPT_INT, .offset = OFF(train.epochs), .min = 1,
     .max = 100000000, .def = "1000", .help = "passes over the training set", .param = "epochs",
     .json = "epochs"},
    {.name = "--batch", .metavar = "N", .kind = OPT_SIZE, .offset = OFF(train.batch), .min = 0,
     .max = 4294967296.0, .def = "0", .help = "rows per step, 0 = full batch", .param = "batch",
     .json = "batch"},
    {.name = "--seed", .metavar = "N", .kind = OPT_COUNT, .offset = OFF(seed), .min = 0,
     .max = 9007199254740991.0, .def = "42", .help = "drives data, initialization, shuffling",
     .param = "seed", .json = "seed"},
};

static const opt_row OUTPUT_ROWS[] = {
    {.name = "--log-every", .metavar = "N", .kind = OPT_INT, .offset = OFF(train.log_every),
     .min = 0, .max = 100000000, .def = "100",
     .help = "print the loss every N epochs, 0 = last only",
     .param = "log_every"},
    {.name = "--quiet", .alias = "-q", .kind = OPT_FLAG, .offset = OFF(quiet),
     .help = "print only the final results"},
    {.name = "--json", .metavar = "PATH", .kind = OPT_TEXT, .offset = OFF(json_path),
     .help = "write a result record (- for stdout)"},
    {.name = "--plot", .metavar = "PATH.svg", .kind = OPT_TEXT, .offset = OFF(plot_path),
     .help = "decision boundary and loss curve (2-D data)"},
};

/* "500" (steps) or "30s", "10m", "2h" (wall time). */
static int parse_every(const opt_row *r, const char *v, void *field) {
    ckpt_every *e = field;
    size_t len = strlen(v);
    char unit = len ? v[len - 1] : 0;
    char *end;
    *e = (ckpt_every){0, 0.0, v};
    if (unit == 's' || unit == 'm' || unit == 'h') {
        errno = 0;
        double x = strtod(v, &end);
        double scale = unit == 's' ? 1.0 : unit == 'm' ? 60.0 : 3600.0;
        if (end == v + len - 1 && errno == 0 && isfinite(x) && x > 0 && x * scale <= 1e9) {
            e->seconds = x * scale;
            return 0;
        }
    } else if (len && isdigit((unsigned char)unit)) {
        uint64_t n;
        if (cli_parse_count(r->name, v, 1, (uint64_t)1e15, &n) != 0) return -1;
        e->steps = n;
        return 0;
    }
    return cli_usage_error("%s: expected optimizer steps (e.g. 500) or a wall time (30s, 10m, "
                           "2h), got '%s'", r->name, v);
}
static void json_every(json_writer *w, const char *key, const void *field) {
    json_key_string(w, key, ((const ckpt_every *)field)->text);
}
static const opt_type OPT_TYPE_EVERY = {parse_every, json_every};

static const opt_row FILE_ROWS[] = {
    {.name = "--save", .metavar = "PATH", .kind = OPT_TEXT, .offset = OFF(save_path),
     .help = "write the trained model (safetensors; PyTorch loads it, see README)",
     .json = "save"},
    {.name = "--init", .metavar = "PATH", .kind = OPT_TEXT, .offset = OFF(init_path),
     .help = "start from a saved model's weights (and its layers unless --layers is given)",
     .json = "init"},
    {.name = "--checkpoint", .metavar = "PATH", .kind = OPT_TEXT, .offset = OFF(checkpoint_path),
     .help = "write the training state here: every --checkpoint-every, at the end and when "
             "stopped by Ctrl-C", .param = "checkpoint", .json = "checkpoint"},
    {.name = "--checkpoint-every", .metavar = "N|TIME", .kind = OPT_CUSTOM,
     .type = &OPT_TYPE_EVERY, .offset = OFF(checkpoint_every), .def = "10m",
     .help = "optimizer steps (500) or wall time (30s, 10m, 2h)", .json = "checkpoint_every"},
    {.name = "--resume", .metavar = "PATH", .kind = OPT_TEXT, .offset = OFF(resume_path),
     .help = "continue the run of a checkpoint, with its settings (--epochs may change)",
     .json = "resume"},
};

static const opt_group BACKEND = OPT_GROUP("backend", BACKEND_ROWS);
static const opt_group DATA = OPT_GROUP("data", DATA_ROWS);
static const opt_group MODEL = OPT_GROUP("model", MODEL_ROWS);
static const opt_group TRAINING = OPT_GROUP("training", TRAINING_ROWS);
static const opt_group OUTPUT = OPT_GROUP("output", OUTPUT_ROWS);
static const opt_group FILES = OPT_GROUP("models and checkpoints", FILE_ROWS);
static const opt_group *const TRAIN_GROUPS[] = {&BACKEND, &DATA,   &MODEL, &TRAINING,
                                                &OUTPUT,  &FILES, NULL};

const opt_table TRAIN_OPTIONS = {
    "train",
    "usage: nnbench [train] [options]        (train is the default command)\n"
    "\n"
    "With no options: the tutorial's experiment (circles, 1000 samples, noise 0.1,\n"
    "2-8-1 ReLU/sigmoid MLP, He init, full-batch gradient descent, lr 0.1, 1000 epochs).\n"
    "Outputs (--json, --plot, --save, --checkpoint) appear only when complete; an old\n"
    "file stays until then. Ctrl-C stops after the current step, writes the checkpoint\n"
    "and the JSON record (\"interrupted\": true) and exits 130.\n"
    "\n",
    TRAIN_GROUPS};

/* check: the same groups and its own (check_options.c) */
static const opt_group *const CHECK_GROUPS[] = {&BACKEND,     &DATA,   &MODEL, &TRAINING,
                                                &CHECK_GROUP, &OUTPUT, NULL};
const opt_table CHECK_OPTIONS = {"check", CHECK_USAGE, CHECK_GROUPS};

/* ------------------------------------------------------------- resolution */

/* The generator spec: the kind's defaults, then the values given. */
static void resolve_spec(experiment_options *o) {
    nn_data_kind kind = NN_DATA_CIRCLES;
    if (strncmp(o->dataset, "csv:", 4) != 0) nn_data_kind_parse(o->dataset, &kind, NULL);
    nn_data_spec s = nn_data_spec_default(kind);
    const opt_given *g = &o->given;
    if (opt_was_given(g, "--samples")) s.samples = o->samples;
    if (opt_was_given(g, "--noise")) s.noise = o->noise;
    if (opt_was_given(g, "--factor")) s.factor = o->factor;
    if (opt_was_given(g, "--classes")) s.classes = o->classes;
    if (opt_was_given(g, "--features")) s.features = o->features;
    if (opt_was_given(g, "--label-noise")) s.label_noise = o->label_noise;
    s.seed = o->seed;
    o->spec = s;
}

int experiment_parse(const opt_table *t, int argc, char **argv, experiment_options *o) {
    memset(o, 0, sizeof *o);
    o->train = nn_train_config_default();
    opt_defaults(t, o);
    int rc = opt_parse(t, argc, argv, o, &o->given);
    if (rc != 0) return rc;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores > 0 && o->threads > cores)
        cli_warn("--threads %d is more than the %ld cores here; threads will share cores",
                 o->threads, cores);
    resolve_spec(o);
    if (!opt_was_given(&o->given, "--lr"))
        o->train.lr = nn_optimizer_default_lr(o->train.optimizer);
    o->train.seed = o->seed;
    o->model.seed = o->seed;
    return EXIT_OK;
}
