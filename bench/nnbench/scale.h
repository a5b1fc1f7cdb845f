/* scale.h — `nnbench scale`: its options, the points of a sweep, running a
 * point in a child process (scale_run.c) and the reports (scale_report.c). */
#ifndef NNBENCH_SCALE_H
#define NNBENCH_SCALE_H

#include <stdio.h>

#include "options.h"

#define SCALE_MAX_REPEATS 50
#define SCALE_MAX_POINTS 4096
#define SCALE_TEST_ROWS_MAX ((uint64_t)100000)
#define SCALE_WARMUP_ROWS ((uint64_t)65536)

/* The swept axes, in the order points are enumerated (the last varies fastest). */
enum { AX_SAMPLES, AX_FEATURES, AX_HIDDEN, AX_DEPTH, AX_BATCH, AX_THREADS, N_AXES };
/* Their option names without dashes ("samples", ...). */
extern const char *const SCALE_AXIS_NAMES[N_AXES];

typedef struct scale_options {
    opt_list ax[N_AXES];  /* each axis's values in the order given */
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
    nn_data_spec spec;    /* the dataset's spec (features and samples per point) */
    opt_given given;
} scale_options;

/* The command's option table (its rows echo per point in scale.json). */
extern const opt_table SCALE_OPTIONS;
/* Defaults, argv[1..) through SCALE_OPTIONS, then the spec and the learning
 * rate. Returns EXIT_OK, EXIT_USAGE (message printed) or -1 after --help. */
int scale_parse(int argc, char **argv, scale_options *o);

/* One point of the sweep and what its child measured. */
typedef struct point {
    const char *backend;
    uint64_t p[N_AXES];
    /* results */
    int ok;
    char ran_backend[16];
    char device[128];
    int threads_used;
    double sec[SCALE_MAX_REPEATS], sps[SCALE_MAX_REPEATS];
    double flops_per_sample, final_loss, test_accuracy, peak_rss_mb;
    uint64_t test_rows;
    char error[256];
} point;

/* The generator spec of a point (features and samples from its axes). */
nn_data_spec scale_point_spec(const scale_options *o, const point *pt);
/* The model of a point: features -> depth x hidden (ReLU) -> outputs. */
void scale_point_model(const scale_options *o, const point *pt, size_t features, size_t classes,
                       nn_model_config *m);
/* Run a point in a child process (warm-up, then timed repeats); fills its
 * results and its peak RSS. Returns 0, or -1 when no child could start. */
int scale_run_point(const scale_options *o, point *pt);

/* Median, min and max of v[0..n). */
void scale_stats(const double *v, int n, double *med, double *mn, double *mx);

/* scale.csv: the header line, then one row per finished point. */
void scale_csv_header(FILE *f);
void scale_csv_row(FILE *f, const scale_options *o, const point *pt);
/* Rewrite path with every finished point (valid JSON after each point). */
void scale_write_json(const char *path, const scale_options *o, const point *pts, size_t n);
/* Charts into o->out_dir: throughput against each swept axis; speedup against
 * threads. Names each file written on log. */
void scale_write_charts(const scale_options *o, const point *pts, size_t n, FILE *log);
/* The table on stdout: its header, and one row per point. */
void scale_print_header(void);
void scale_print_row(const scale_options *o, const point *pt);

#endif
