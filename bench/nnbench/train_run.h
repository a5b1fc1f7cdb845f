/* train_run.h — one `nnbench train` run: what cmd_train.c sets up and runs
 * and train_report.c reports (text lines, JSON record, plot, model file). */
#ifndef NNBENCH_TRAIN_RUN_H
#define NNBENCH_TRAIN_RUN_H

#include "experiment.h"
#include "model_io.h"
#include "nn_io.h"
#include "nn_tools.h"
#include "out/progress.h"

#define MAX_LOG_POINTS 100000

/* What the logging callback collects. */
typedef struct run_log {
    FILE *out;      /* human-readable output: stdout, or stderr when JSON goes to stdout */
    int quiet;      /* print no loss lines (also on ranks other than the root) */
    int log_every;  /* print epochs that are multiples of this, like the tutorial */
    progress bar;
    size_t n;
    int *epochs;    /* (MAX_LOG_POINTS) logged epochs */
    double *losses; /* (MAX_LOG_POINTS) their losses */
} run_log;

/* Everything a finished (or stopped) run reports. */
typedef struct run_result {
    nn_train_result train;
    nn_source src, test;
    nn_source train_eval; /* the training rows scored: all, or the first TRAIN_EVAL_MAX */
    nn_eval tr, te;       /* accuracy and loss on train_eval and test (NaN when not scored) */
    nn_profile prof;
    char layers[512];     /* "2-8-1" */
    int signal;           /* 0, or the signal that stopped the run */
    uint64_t checkpoints; /* checkpoints written */
} run_result;

/* A run: its options, data, files and destinations. */
typedef struct train_run {
    experiment_options o;
    experiment_data d;
    arglist args;       /* --resume: the argument vector o's strings point into */
    nn_checkpoint ck;   /* --resume: the checkpoint */
    int resumed;
    init_model init;    /* --init: the model read */
    char *desc;         /* describe_data: the data as text */
    nn_backend *be;
    FILE *out;          /* human-readable lines: stdout, or stderr when JSON goes to stdout */
    int is_root;        /* this process prints and writes files (rank 0) */
    char fallback[512]; /* why OpenCL was not used; "" when it was not asked for or ran */
} train_run;

/* The run's settings in one line, before training. */
void report_header(const train_run *t, const char *layers);
/* Accuracy (or MSE), backend, speed and profile lines, as the tutorial prints them. */
void report_results(const train_run *t, const run_result *r);
/* The files of a finished run: --save, --plot, then the --json record.
 * Returns the exit code (EXIT_FAIL after one line when one cannot be written;
 * the ones after it are not written). */
int report_files(const train_run *t, nn_model *m, const run_result *r, const run_log *log);
/* A run stopped by a signal: the --json record with "interrupted": true and
 * the results so far, and one line saying so. Returns 128 + the signal. */
int report_interrupted(const train_run *t, const run_result *r, const run_log *log);

#endif
