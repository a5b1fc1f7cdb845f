/* scale_options.c — the option table of `nnbench scale`: the swept axes
 * (lists) and the settings of each run, echoed in every point of scale.json. */
#include <stddef.h>
#include <string.h>

#include "cli.h"
#include "scale.h"

/* The learning rate of plain SGD when --lr is not given: half the tutorial's,
 * for the wider networks of a sweep (other optimizers: the library's default). */
#define SCALE_SGD_LR 0.05

static const char *const SCALE_BACKENDS[] = {"cpu", "opencl", NULL};

#define OFF(field) offsetof(scale_options, field)
#define AXIS(axis_name, ax_index, lo, hi, dflt, text)                                              \
    {.name = "--" axis_name, .metavar = "LIST", .kind = OPT_COUNT_LIST,                            \
     .offset = OFF(ax[ax_index]), .min = lo, .max = hi, .def = dflt, .help = text,                 \
     .param = axis_name}
static const opt_row SWEEP_ROWS[] = {
    {.name = "--backend", .metavar = "LIST", .kind = OPT_CHOICE_LIST, .offset = OFF(backends),
     .choices = SCALE_BACKENDS, .def = "cpu", .help = "cpu,opencl"},
    AXIS("samples", AX_SAMPLES, 100, 1e12, "1e5", "training+test samples, e.g. 1e4,1e6,100M"),
    AXIS("features", AX_FEATURES, 1, 4096, "16", "input dimension"),
    AXIS("hidden", AX_HIDDEN, 1, 16384, "64", "width of every hidden layer"),
    AXIS("depth", AX_DEPTH, 1, NN_MAX_LAYERS - 1, "2", "number of hidden layers"),
    AXIS("batch", AX_BATCH, 1, 1 << 20, "256", "rows per step"),
    AXIS("threads", AX_THREADS, 0, 1024, "0", "CPU threads, 0 = all cores"),
};
static const opt_row RUN_ROWS[] = {
    {.name = "--dataset", .metavar = "NAME", .kind = OPT_CUSTOM, .type = &OPT_TYPE_GENERATOR,
     .offset = OFF(dataset), .def = "teacher",
     .help = "teacher | circles | moons | xor | spirals | blobs", .json = "dataset"},
    {.name = "--classes", .metavar = "K", .kind = OPT_SIZE, .offset = OFF(classes), .min = 2,
     .max = 1024, .def = "2", .help = "classes (teacher, spirals, blobs)", .param = "classes",
     .json = "classes"},
    {.name = "--epochs", .metavar = "N", .kind = OPT_INT, .offset = OFF(epochs), .min = 1,
     .max = 1000000, .def = "1", .help = "epochs per run", .param = "epochs", .json = "epochs"},
    {.name = "--optimizer", .metavar = "NAME", .kind = OPT_CUSTOM, .type = &OPT_TYPE_OPTIMIZER,
     .offset = OFF(optimizer), .def = "sgd", .help = "sgd | momentum | adam",
     .param = "optimizer", .json = "optimizer"},
    {.name = "--lr", .metavar = "X", .kind = OPT_REAL, .offset = OFF(lr), .min = 1e-12,
     .max = 1e6, .note = "sgd 0.05, momentum 0.01, adam 0.001", .help = "learning rate",
     .param = "lr", .json = "lr"},
    {.name = "--repeats", .metavar = "N", .kind = OPT_INT, .offset = OFF(repeats), .min = 1,
     .max = SCALE_MAX_REPEATS, .def = "3", .help = "timed runs per point", .json = "repeats"},
    {.name = "--warmup", .metavar = "N", .kind = OPT_INT, .offset = OFF(warmup), .min = 0,
     .max = 10, .def = "1", .help = "untimed runs on 65536 rows first"},
    {.name = "--test-fraction", .metavar = "F", .kind = OPT_REAL, .offset = OFF(test_fraction),
     .min = 0, .max = 0.5, .def = "0.01", .help = "share held out (at most 100000 rows scored)",
     .param = "test_fraction"},
    {.name = "--seed", .metavar = "N", .kind = OPT_COUNT, .offset = OFF(seed), .min = 0,
     .max = 9007199254740991.0, .def = "42", .help = "drives data, initialization, shuffling"},
    {.name = "--device", .metavar = "N|NAME", .kind = OPT_TEXT, .offset = OFF(device),
     .help = "OpenCL device", .param = "device"},
    {.name = "--out", .metavar = "DIR", .kind = OPT_TEXT, .offset = OFF(out_dir),
     .def = "scale-results", .help = "results folder: scale.csv, scale.json, charts"},
};
static const opt_group SWEEP = OPT_GROUP("swept (comma-separated lists)", SWEEP_ROWS);
static const opt_group RUN = OPT_GROUP("each run", RUN_ROWS);
static const opt_group *const SCALE_GROUPS[] = {&SWEEP, &RUN, NULL};
const opt_table SCALE_OPTIONS = {
    "scale",
    "usage: nnbench scale [options]\n"
    "Sweeps the Cartesian product of the given lists on a streamed synthetic\n"
    "dataset; every point: warm-up, then timed repeats (median, min, max).\n",
    SCALE_GROUPS};

int scale_parse(int argc, char **argv, scale_options *o) {
    memset(o, 0, sizeof *o);
    opt_defaults(&SCALE_OPTIONS, o);
    int rc = opt_parse(&SCALE_OPTIONS, argc, argv, o, &o->given);
    if (rc != 0) return rc;
    nn_data_kind kind = NN_DATA_TEACHER;
    nn_data_kind_parse(o->dataset, &kind, NULL);
    o->spec = nn_data_spec_default(kind);
    o->spec.classes = o->classes;
    o->spec.seed = o->seed;
    if (!opt_was_given(&o->given, "--lr"))
        o->lr = o->optimizer == NN_OPT_SGD ? SCALE_SGD_LR : nn_optimizer_default_lr(o->optimizer);
    return EXIT_OK;
}
