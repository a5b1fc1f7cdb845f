/* scale.h — `nnbench scale`: its options (scale_options.c), the points of a
 * sweep, running a point in a child process or under mpirun (scale_run.c,
 * scale_launch.c, and the hidden command of scale_point.c that each rank
 * runs), the rows it reports (scale_rows.c), the projection past the
 * measured ranks (scale_project.c), and the table, files and charts
 * (scale_report.c, scale_files.c). */
#ifndef NNBENCH_SCALE_H
#define NNBENCH_SCALE_H

#include <stdio.h>

#include "nn_comm.h"
#include "options.h"

#define SCALE_MAX_REPEATS 50
#define SCALE_MAX_POINTS 4096
#define SCALE_TEST_ROWS_MAX ((uint64_t)100000)
#define SCALE_WARMUP_ROWS ((uint64_t)65536)
#define SCALE_MAX_RANKS 4096

/* The hidden command every rank of a multi-rank point runs (under mpirun):
 *   nnbench scale-point RESULT_FILE [scale options, one value per list]
 * Rank 0 writes the point's results to RESULT_FILE (binary, this build's
 * struct point). */
#define SCALE_POINT_COMMAND "scale-point"
int cmd_scale_point(int argc, char **argv);

/* The swept axes, in the order points are enumerated (the last varies
 * fastest, so the ranks of one configuration run one after another, the
 * fewest first: the base of its speedup). */
enum { AX_SAMPLES, AX_FEATURES, AX_HIDDEN, AX_DEPTH, AX_BATCH, AX_THREADS, AX_RANKS, N_AXES };
/* Their option names without dashes ("samples", ...). */
extern const char *const SCALE_AXIS_NAMES[N_AXES];

/* The interconnect of the projection: bandwidth and per-message latency. */
typedef struct scale_link {
    double gbit_per_s;
    double latency_us;
} scale_link;

typedef struct scale_options {
    opt_list ax[N_AXES];  /* each axis's values in the order given (ranks: sorted, unique) */
    opt_names backends;   /* "cpu", "opencl" */
    const char *dataset;  /* a generator name */
    size_t classes;
    int epochs, repeats, warmup;
    nn_optimizer optimizer;
    double lr;
    double test_fraction;
    uint64_t seed;
    const char *out_dir;
    const char *device;
    int weak;             /* --weak: --samples and --batch are per rank */
    opt_list project;     /* --project-ranks (n = 0: no projection) */
    scale_link link;      /* --link */
    const char *launcher; /* --launcher, NULL = mpirun or mpiexec from PATH */
    int force, append;    /* what to do with an earlier sweep in --out */
    nn_data_spec spec;    /* the dataset's spec (features and samples per point) */
    opt_given given;
} scale_options;

/* The command's option table. */
extern const opt_table SCALE_OPTIONS;
/* Defaults, argv[1..) through SCALE_OPTIONS, then the spec and the learning
 * rate. Returns EXIT_OK, EXIT_USAGE (message printed) or -1 after --help. */
int scale_parse(int argc, char **argv, scale_options *o);

/* One point of the sweep and what it measured. */
typedef struct point {
    const char *backend;
    uint64_t p[N_AXES];  /* as given: under --weak, samples and batch are per rank */
    /* results */
    int ok;
    char ran_backend[16];
    char device[128];
    int threads_used;    /* per rank */
    int oversubscribed;  /* ranks x threads exceeded the cores */
    int ranks_per_node;  /* the most ranks that shared one machine */
    double sec[SCALE_MAX_REPEATS], sps[SCALE_MAX_REPEATS]; /* per timed run */
    double comm[SCALE_MAX_REPEATS];    /* seconds waiting in all-reduces per run (mean of ranks) */
    double overlap[SCALE_MAX_REPEATS]; /* seconds of backward pass after the first gradient
                                          all-reduce started, per run (mean of ranks) */
    uint64_t steps;                /* optimizer steps per run */
    double allreduces_per_step;    /* all-reduces per step (gradients + agreement) */
    double comm_bytes_per_step;    /* bytes each rank contributes per step */
    double flops_per_sample, final_loss, test_accuracy, peak_rss_mb;
    uint64_t test_rows;
    char error[256];
} point;

/* Global samples and batch of a point (per rank x ranks under --weak). */
uint64_t scale_samples(const scale_options *o, const point *pt);
uint64_t scale_batch(const scale_options *o, const point *pt);
/* CPU threads per rank a point asks for: its threads value, where 0 means the
 * machine's cores shared among its ranks (at least 1). */
int scale_threads_per_rank(const point *pt);
/* The generator spec of a point (features and global samples from its axes). */
nn_data_spec scale_point_spec(const scale_options *o, const point *pt);
/* The model of a point: features -> depth x hidden (ReLU) -> outputs. */
void scale_point_model(const scale_options *o, const point *pt, size_t features, size_t classes,
                       nn_model_config *m);
/* Train a point on this process (comm NULL) or as one rank of comm: warm-up,
 * timed repeats, test rows scored (rank 0); fills pt's results on every rank
 * (peak RSS: the largest rank's). Collective with a comm. */
void scale_point_train(const scale_options *o, point *pt, nn_comm *comm);
/* 1 when a point's ranks x threads use every core: waiting ranks should then
 * yield their core (Open MPI's mpi_yield_when_idle) rather than spin. */
int scale_fills_cores(const point *pt);
/* Run a point in a child process (one rank) or under the MPI launcher
 * (several); fills its results. Returns 0, or -1 when nothing could start. */
int scale_run_point(const scale_options *o, point *pt);

/* -------------------------------------------------------- the launcher */

typedef enum launcher_kind { LAUNCHER_OPENMPI, LAUNCHER_HYDRA, LAUNCHER_OTHER } launcher_kind;
typedef struct scale_launcher {
    char path[4096];
    launcher_kind kind;
    char version[128]; /* first line of --version */
} scale_launcher;
/* Find the launcher (o->launcher, else mpirun then mpiexec on PATH) and
 * tell Open MPI from MPICH's Hydra. Prints one line and returns EXIT_USAGE
 * when there is none. */
int scale_launcher_find(const scale_options *o, scale_launcher *l);
/* argv (NULL-terminated, into args[0..max)) that runs `ranks` copies of
 * this program's scale-point for pt, writing to result; strings live in
 * store[0..store_len). Returns the count, or -1 when they do not fit. */
int scale_launch_args(const scale_options *o, const point *pt, const scale_launcher *l,
                      const char *self, const char *result, char **args, int max, char *store,
                      size_t store_len);

/* ------------------------------------------------------------- rows */

/* The columns of scale.csv and the keys of scale.json, in order. */
typedef enum scale_col {
    C_KIND, C_SCALING, C_BACKEND, C_DEVICE, C_RANKS, C_THREADS, C_THREADS_OPTION, C_SAMPLES, C_FEATURES, C_HIDDEN,
    C_DEPTH, C_BATCH, C_BATCH_PER_RANK, C_CLASSES, C_DATASET, C_EPOCHS, C_OPTIMIZER, C_LR,
    C_REPEATS, C_SECONDS_MEDIAN, C_SECONDS_MIN, C_SECONDS_MAX, C_SPS_MEDIAN, C_SPS_MIN,
    C_SPS_MAX, C_GFLOPS_MEDIAN, C_STEPS, C_STEP_SECONDS, C_COMPUTE_SECONDS, C_COMM_SECONDS,
    C_COMM_FRACTION, C_OVERLAP_SECONDS, C_ALLREDUCES, C_COMM_BYTES, C_SPEEDUP, C_EFFICIENCY,
    C_LINK_GBIT, C_LINK_US, C_OVERSUBSCRIBED, C_RANKS_PER_NODE, C_PEAK_RSS, C_FINAL_LOSS, C_TEST_ACCURACY,
    C_TEST_SAMPLES, C_STATUS, N_COLS
} scale_col;
/* A column's name and whether its values are text (else numbers). */
const char *scale_col_name(scale_col c);
int scale_col_is_text(scale_col c);

/* One row: numbers (NaN = empty) and texts (malloc'd; NULL = empty). */
typedef struct scale_row {
    double num[N_COLS];
    char *text[N_COLS];
} scale_row;
typedef struct scale_rows {
    size_t n, cap;
    scale_row *v;
} scale_rows;

/* A new empty row at the end (NULL when out of memory). */
scale_row *scale_rows_add(scale_rows *rs);
void scale_rows_free(scale_rows *rs);
/* Set a text cell (copied; commas, quotes and line breaks become spaces). */
void scale_row_set_text(scale_row *r, scale_col c, const char *s);
/* A text cell, "" when empty. */
const char *scale_row_text(const scale_row *r, scale_col c);
/* The row of a finished (or failed) measured point. */
void scale_row_from_point(const scale_options *o, const point *pt, scale_row *r);
/* Drop the projected rows (they are recomputed from the measured ones). */
void scale_rows_drop_projected(scale_rows *rs);
/* Speedup and efficiency of every measured row against the row of its
 * series (same settings but ranks) with the fewest ranks. */
void scale_rows_derive(scale_rows *rs);
/* 1 when rows a and b belong to one series along the ranks (all settings
 * equal but ranks; under weak scaling, per-rank samples and batch). */
int scale_rows_same_series(const scale_row *a, const scale_row *b);
/* The rows as CSV (header + one line each) and as a JSON array. */
void scale_rows_write_csv(FILE *f, const scale_rows *rs);
void scale_rows_write_json(FILE *f, const scale_rows *rs);
/* Read a scale.csv written by this version into rs. Prints one line naming
 * the file and returns EXIT_USAGE when it cannot be used. */
int scale_rows_read_csv(const char *path, scale_rows *rs);

/* ------------------------------------------------------- projection */

/* Step time of a ring all-reduce model, for the tests and the README: one
 * all-reduce of `bytes` over P ranks on link l:
 *   2 (P - 1) / P * bytes / bandwidth + 2 (P - 1) * latency   (seconds). */
double scale_ring_allreduce_seconds(double bytes, double ranks, const scale_link *l);
/* Append projected rows for o->project (and for every measured rank count
 * above a series' fewest, to compare) to rs, from each series' measured
 * rows. Rows already projected are replaced. */
void scale_project(const scale_options *o, scale_rows *rs);

/* ---------------------------------------------------------- reports */

/* The table on stdout: its header, one row per measured point, and the
 * projected rows with the measured ones they can be compared with. */
void scale_print_header(void);
void scale_print_row(const scale_row *r);
void scale_print_projection(const scale_rows *rs);
/* Charts into o->out_dir: throughput against each swept axis; speedup
 * against threads; speedup, efficiency and comm fraction against ranks
 * (projected series dashed). Names each file written on log. */
void scale_write_charts(const scale_options *o, const scale_rows *rs, FILE *log);
/* Median, min and max of v[0..n). */
void scale_stats(const double *v, int n, double *med, double *mn, double *mx);

/* ------------------------------------------------ the results folder */

/* Paths of the results folder's files. */
typedef struct scale_files {
    char csv[4096], json[4096];
    int replace_pending; /* --force: the earlier sweep's charts go with the first rows */
} scale_files;
/* Check and create o->out_dir before anything runs: paths that fit, an
 * earlier sweep there refused unless --force or --append (whose rows are
 * read into rs). Prints one line and returns EXIT_USAGE when it cannot. */
int scale_files_prepare(const scale_options *o, scale_files *f, scale_rows *rs);
/* Replace scale.csv and scale.json with rs, each written whole to a
 * temporary file and renamed into place; warns when it cannot. */
void scale_files_write(scale_files *f, const scale_rows *rs);
/* An output path in the results folder into buf; 0, or -1 when too long. */
int scale_files_path(const scale_options *o, const char *name, char *buf, size_t len);

#endif
