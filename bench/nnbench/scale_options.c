/* scale_options.c — the option table of `nnbench scale`: the swept axes
 * (lists), the settings of each run, ranks (weak scaling, the projection's
 * link, the launcher) and what to do with an earlier sweep in --out. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "scale.h"

/* The learning rate of plain SGD when --lr is not given: half the tutorial's,
 * for the wider networks of a sweep (other optimizers: the library's default). */
#define SCALE_SGD_LR 0.05

static const char *const SCALE_BACKENDS[] = {"cpu", "opencl", NULL};

/* --link GBIT_PER_S,LATENCY_US */
static int parse_link(const opt_row *r, const char *v, void *field) {
    scale_link *l = field;
    char bw[64], lat[64];
    const char *comma = strchr(v, ',');
    size_t n = comma ? (size_t)(comma - v) : 0;
    if (!comma || n == 0 || n >= sizeof bw || strlen(comma + 1) >= sizeof lat)
        return cli_usage_error("%s: expected GBIT_PER_S,LATENCY_US such as 100,2, got '%s'",
                               r->name, v);
    snprintf(bw, sizeof bw, "%.*s", (int)n, v);
    snprintf(lat, sizeof lat, "%s", comma + 1);
    if (cli_parse_double(r->name, bw, 1e-6, 1e6, &l->gbit_per_s) ||
        cli_parse_double(r->name, lat, 0, 1e9, &l->latency_us))
        return EXIT_USAGE;
    return 0;
}
static void json_link(json_writer *w, const char *key, const void *field) {
    const scale_link *l = field;
    json_begin_array(w, key);
    json_array_number(w, l->gbit_per_s);
    json_array_number(w, l->latency_us);
    json_end_array(w);
}
static const opt_type OPT_TYPE_LINK = {parse_link, json_link};

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
    AXIS("threads", AX_THREADS, 0, 1024, "0",
         "CPU threads per rank, 0 = all cores (shared among the ranks)"),
    AXIS("ranks", AX_RANKS, 1, SCALE_MAX_RANKS, "1",
         "MPI ranks training one model (more than 1: under mpirun)"),
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
    {.name = "--force", .kind = OPT_FLAG, .offset = OFF(force),
     .help = "replace an earlier sweep in --out"},
    {.name = "--append", .kind = OPT_FLAG, .offset = OFF(append),
     .help = "add this sweep's points to an earlier sweep in --out"},
};
static const opt_row RANK_ROWS[] = {
    {.name = "--weak", .kind = OPT_FLAG, .offset = OFF(weak),
     .help = "weak scaling: --samples and --batch are per rank (global = per rank x ranks); "
             "default strong scaling: both are global"},
    {.name = "--project-ranks", .metavar = "LIST", .kind = OPT_COUNT_LIST, .offset = OFF(project),
     .min = 2, .max = 1 << 20,
     .help = "project step time and efficiency to these rank counts (ring all-reduce model)"},
    {.name = "--link", .metavar = "GBIT_PER_S,LATENCY_US", .kind = OPT_CUSTOM,
     .type = &OPT_TYPE_LINK, .offset = OFF(link), .def = "100,2",
     .help = "interconnect of the projection: bandwidth and latency per message"},
    {.name = "--launcher", .metavar = "PATH", .kind = OPT_TEXT, .offset = OFF(launcher),
     .note = "mpirun, else mpiexec", .help = "MPI launcher (Open MPI or MPICH)"},
};
static const opt_group SWEEP = OPT_GROUP("swept (comma-separated lists)", SWEEP_ROWS);
static const opt_group RUN = OPT_GROUP("each run", RUN_ROWS);
static const opt_group RANKS = OPT_GROUP("ranks", RANK_ROWS);
static const opt_group *const SCALE_GROUPS[] = {&SWEEP, &RUN, &RANKS, NULL};
const opt_table SCALE_OPTIONS = {
    "scale",
    "usage: nnbench scale [options]\n"
    "Sweeps the Cartesian product of the given lists on a streamed synthetic\n"
    "dataset; every point: warm-up, then timed repeats (median, min, max).\n"
    "Points with more than one rank run under mpirun (strong scaling by default,\n"
    "--weak for weak scaling); --project-ranks projects past the measured ranks.\n",
    SCALE_GROUPS};

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Sort a list and drop repeated values. */
static void sort_unique(opt_list *l) {
    qsort(l->v, l->n, sizeof l->v[0], cmp_u64);
    size_t k = 0;
    for (size_t i = 0; i < l->n; i++)
        if (k == 0 || l->v[i] != l->v[k - 1]) l->v[k++] = l->v[i];
    l->n = k;
}

int scale_parse(int argc, char **argv, scale_options *o) {
    memset(o, 0, sizeof *o);
    opt_defaults(&SCALE_OPTIONS, o);
    int rc = opt_parse(&SCALE_OPTIONS, argc, argv, o, &o->given);
    if (rc != 0) return rc;
    if (o->force && o->append) return cli_usage_error("--force and --append exclude each other");
    sort_unique(&o->ax[AX_RANKS]); /* the fewest ranks first: each series' base */
    sort_unique(&o->project);
    nn_data_kind kind = NN_DATA_TEACHER;
    nn_data_kind_parse(o->dataset, &kind, NULL);
    o->spec = nn_data_spec_default(kind);
    o->spec.classes = o->classes;
    o->spec.seed = o->seed;
    if (!opt_was_given(&o->given, "--lr"))
        o->lr = o->optimizer == NN_OPT_SGD ? SCALE_SGD_LR : nn_optimizer_default_lr(o->optimizer);
    return EXIT_OK;
}
