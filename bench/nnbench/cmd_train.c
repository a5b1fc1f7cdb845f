/* cmd_train.c — `nnbench [train]`: one training run, reported like the
 * tutorial, with an optional JSON record and decision-boundary plot. The run
 * is: prepare, train, evaluate, report. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "experiment.h"
#include "nn_tools.h"
#include "out/plot.h"
#include "out/progress.h"

#define MAX_LOG_POINTS 100000
/* Training rows scored for the reported train accuracy of streamed runs. */
#define TRAIN_EVAL_MAX ((uint64_t)100000)

/* What the logging callback collects. */
typedef struct run_log {
    FILE *out;      /* human-readable output: stdout, or stderr when JSON goes to stdout */
    int quiet;
    int log_every;  /* print epochs that are multiples of this, like the tutorial */
    progress bar;
    size_t n;
    int *epochs;    /* (MAX_LOG_POINTS) logged epochs */
    double *losses; /* (MAX_LOG_POINTS) their losses */
} run_log;

/* Everything a finished run reports. */
typedef struct run_result {
    nn_train_result train;
    nn_source src, test;
    nn_source train_eval; /* the training rows scored: all, or the first TRAIN_EVAL_MAX */
    nn_eval tr, te;       /* accuracy and loss on train_eval and test */
    nn_profile prof;
    char layers[512];     /* "2-8-1" */
} run_result;

/* The open destinations of a run, and what the backend fell back from. */
typedef struct run_io {
    FILE *out;          /* human-readable lines */
    FILE *json;         /* the JSON record, or NULL */
    char fallback[512]; /* why OpenCL was not used; "" when it was not asked for or ran */
} run_io;

static int on_log(void *user, int epoch, double loss) {
    run_log *r = user;
    if (r->n < MAX_LOG_POINTS) {
        r->epochs[r->n] = epoch;
        r->losses[r->n] = loss;
        r->n++;
    }
    /* The last epoch's loss is recorded (final_loss, loss_curve) but printed only when it is a
     * regular logging point, so the output matches the tutorial's lines. */
    if (!r->quiet && (r->log_every == 0 || epoch % r->log_every == 0)) {
        progress_clear(&r->bar);
        fprintf(r->out, "Epoch %d: Loss = %.4f\n", epoch, loss);
        fflush(r->out);
    }
    return 0;
}

static int on_progress(void *user, double fraction) {
    progress_update(&((run_log *)user)->bar, fraction);
    return 0;
}

/* ------------------------------------------------------------------ report */

static void write_json(FILE *f, const experiment_options *o, const experiment_data *d,
                       nn_backend *be, const run_io *io, const run_result *r, const run_log *log) {
    json_writer w = json_writer_on(f);
    const int has_test = r->test.n > 0;
    json_begin_object(&w);
    opt_json_echo(&TRAIN_OPTIONS, &w, o); /* the settings, as resolved */
    json_key_string(&w, "backend", nn_backend_name(be));
    json_key_string(&w, "fallback_reason", io->fallback[0] ? io->fallback : NULL);
    json_key_string(&w, "device", nn_backend_device(be));
    json_key_int(&w, "threads", nn_backend_threads(be));
    json_key_string(&w, "dataset", d->name);
    json_key_int(&w, "samples", (long long)(d->n_train + d->n_test));
    json_key_int(&w, "train_samples", (long long)d->n_train);
    json_key_int(&w, "test_samples", (long long)d->n_test);
    json_key_bool(&w, "streamed", d->streamed);
    json_key_int(&w, "batch_rows", (long long)(o->train.batch && o->train.batch < d->n_train
                                                   ? o->train.batch : d->n_train));
    json_key_number(&w, "final_loss", r->train.final_loss);
    json_key_number(&w, "train_accuracy", r->tr.accuracy >= 0 ? r->tr.accuracy : NAN);
    json_key_number(&w, "test_accuracy", has_test && r->te.accuracy >= 0 ? r->te.accuracy : NAN);
    json_key_number(&w, "test_loss", has_test ? r->te.loss : NAN);
    json_key_number(&w, "train_seconds", r->train.seconds);
    json_key_number(&w, "samples_per_second", r->train.samples_per_second);
    json_key_number(&w, "gflops", r->train.gflops);
    json_key_number(&w, "peak_rss_mb", nn_peak_rss_mb());
    json_begin_array(&w, "loss_epochs");
    for (size_t i = 0; i < log->n; i++) json_array_number(&w, log->epochs[i]);
    json_end_array(&w);
    json_begin_array(&w, "loss_curve");
    for (size_t i = 0; i < log->n; i++) json_array_number(&w, log->losses[i]);
    json_end_array(&w);
    if (o->profile && strcmp(nn_backend_name(be), "cpu") != 0) {
        json_key_number(&w, "kernel_seconds", r->prof.kernel_seconds);
        json_key_number(&w, "transfer_seconds", r->prof.transfer_seconds);
        json_key_number(&w, "build_seconds", r->prof.build_seconds);
        json_key_int(&w, "kernel_launches", r->prof.kernel_launches);
        json_key_int(&w, "transfers", r->prof.transfers);
    }
    json_end_object(&w);
}

/* The run's settings in one line, before training. */
static void print_header(FILE *out, const experiment_options *o, const experiment_data *d,
                         const char *layers) {
    char batch[32];
    experiment_batch_str(o, d->n_train, batch, sizeof batch);
    fprintf(out, "nnbench: %s (%llu train / %llu test), layers %s %s/%s, %s lr %g, %s, %d epochs, "
                 "seed %llu\n", d->name, (unsigned long long)d->n_train,
            (unsigned long long)d->n_test, layers, nn_act_name(o->model.hidden),
            nn_act_name(nn_loss_output_act(o->model.loss)), nn_optimizer_name(o->train.optimizer),
            o->train.lr, batch, o->train.epochs, (unsigned long long)o->seed);
}

/* Accuracy (or MSE), backend, speed and profile lines, as the tutorial prints them. */
static void print_results(FILE *out, const experiment_options *o, nn_backend *be,
                          const char *fallback, const run_result *r) {
    const char *first = r->train_eval.n < r->src.n ? "first " : "";
    unsigned long long n_eval = r->train_eval.n, n_test = r->test.n;
    if (o->model.loss != NN_LOSS_MSE) {
        if (n_test) fprintf(out, "Test accuracy: %.4f (%llu samples)\n", r->te.accuracy, n_test);
        fprintf(out, "Train accuracy: %.4f (%s%llu samples)\n", r->tr.accuracy, first, n_eval);
    } else {
        if (n_test) fprintf(out, "Test MSE: %.6f (%llu samples)\n", r->te.loss, n_test);
        fprintf(out, "Train MSE: %.6f (%s%llu samples)\n", r->tr.loss, first, n_eval);
    }
    char threads[32] = "";
    int nt = nn_backend_threads(be);
    if (nt > 0) snprintf(threads, sizeof threads, ", %d thread%s", nt, nt == 1 ? "" : "s");
    fprintf(out, "Backend: %s on %s%s%s\n", nn_backend_name(be), nn_backend_device(be), threads,
            fallback[0] ? " (fallback: OpenCL unavailable)" : "");
    fprintf(out, "Training time: %.4f s, %.0f samples/s, %.2f GFLOP/s, peak RSS %.1f MiB\n",
            r->train.seconds, r->train.samples_per_second, r->train.gflops, nn_peak_rss_mb());
    if (o->profile && strcmp(nn_backend_name(be), "cpu") == 0)
        fprintf(out, "Profile: the cpu backend has no device profile (use perf)\n");
    else if (o->profile)
        fprintf(out, "Profile: kernels %.4f s (%ld launches), transfers %.4f s (%ld), "
                     "program build %.4f s\n", r->prof.kernel_seconds, r->prof.kernel_launches,
                r->prof.transfer_seconds, r->prof.transfers, r->prof.build_seconds);
}

/* Text, then the JSON record and the plot; returns the exit code. */
static int report(const experiment_options *o, const experiment_data *d, nn_backend *be,
                  nn_model *m, const run_io *io, run_result *r, const run_log *log) {
    nn_backend_profile(be, &r->prof);
    print_results(io->out, o, be, io->fallback, r);
    if (io->json) {
        write_json(io->json, o, d, be, io, r, log);
        if (fflush(io->json) != 0 || ferror(io->json)) {
            fprintf(stderr, "nnbench: --json: cannot write '%s'\n", o->json_path);
            return EXIT_FAIL;
        }
    }
    if (!o->plot_path) return EXIT_OK;
    char msg[512];
    if (plot_write_svg(o->plot_path, m, &d->test, d->train.n ? &d->train : NULL, log->epochs,
                       log->losses, log->n, d->name, msg, sizeof msg) != 0)
        return cli_usage_error("--plot: %s", msg);
    if (!o->quiet) fprintf(io->out, "Plot: %s\n", o->plot_path);
    return EXIT_OK;
}

/* ------------------------------------------------------------------- run */

/* Train m on the run's rows, logging into log. */
static nn_status train(const experiment_options *o, nn_model *m, run_log *log, run_result *r,
                       nn_error *err) {
    progress_start(&log->bar, !o->quiet && isatty(STDERR_FILENO));
    nn_train_config tc = o->train;
    tc.on_log = on_log;
    tc.on_progress = on_progress;
    tc.user = log;
    nn_status st = nn_train(m, &r->src, &tc, &r->train, err);
    progress_clear(&log->bar);
    return st;
}

/* Accuracy and loss on the training rows (all, or the first TRAIN_EVAL_MAX) and the test rows. */
static nn_status evaluate(nn_model *m, run_result *r, nn_error *err) {
    r->train_eval = r->src;
    if (r->train_eval.n > TRAIN_EVAL_MAX) r->train_eval.n = TRAIN_EVAL_MAX;
    nn_status st = nn_model_evaluate_source(m, &r->train_eval, &r->tr, err);
    if (st == NN_OK && r->test.n) st = nn_model_evaluate_source(m, &r->test, &r->te, err);
    return st;
}

/* Create the model, train, evaluate and report; returns the exit code. */
static int run(experiment_options *o, experiment_data *d, nn_backend *be, const run_io *io) {
    nn_error err;
    nn_model *m = NULL;
    if (nn_model_create(be, &o->model, &m, &err) != NN_OK)
        return opt_library_error(&TRAIN_OPTIONS, &err);
    run_result r = {.src = experiment_train_source(d), .test = experiment_test_source(d)};
    cli_layers_str(&o->model, r.layers, sizeof r.layers);
    if (!o->quiet) print_header(io->out, o, d, r.layers);
    run_log log = {io->out, o->quiet, o->train.log_every, {0}, 0,
                   malloc(MAX_LOG_POINTS * sizeof(int)), malloc(MAX_LOG_POINTS * sizeof(double))};
    int rc = EXIT_FAIL;
    if (!log.epochs || !log.losses) fprintf(stderr, "nnbench: out of memory\n");
    else if (train(o, m, &log, &r, &err) != NN_OK || evaluate(m, &r, &err) != NN_OK)
        rc = opt_library_error(&TRAIN_OPTIONS, &err);
    else rc = report(o, d, be, m, io, &r, &log);
    free(log.epochs);
    free(log.losses);
    nn_model_free(m);
    return rc;
}

/* Check the output paths before training, not after; opens the JSON file. */
static int open_outputs(const experiment_options *o, const experiment_data *d, run_io *io) {
    if (o->plot_path && d->streamed)
        return cli_usage_error("--plot: needs an in-memory dataset, not a streamed one");
    if (o->plot_path && d->features != 2)
        return cli_usage_error("--plot: needs 2-D data; dataset %s has %zu features", d->name,
                               d->features);
    if (o->json_path) {
        io->json = strcmp(o->json_path, "-") == 0 ? stdout : fopen(o->json_path, "w");
        if (!io->json) return cli_usage_error("--json: cannot write '%s'", o->json_path);
    }
    io->out = io->json == stdout ? stderr : stdout;
    return EXIT_OK;
}

int cmd_train(int argc, char **argv) {
    experiment_options o;
    int rc = experiment_parse(&TRAIN_OPTIONS, argc, argv, &o);
    if (rc < 0) return EXIT_OK; /* --help */
    if (rc != EXIT_OK) return rc;
    if (o.check) return cmd_check(argc, argv);
    if (o.device && strcmp(o.backend, "cpu") == 0)
        return cli_usage_error("--device: selects an OpenCL device; add --backend opencl");
    if (o.plot_path) {
        FILE *f = fopen(o.plot_path, "w"); /* fail before training, not after */
        if (!f) return cli_usage_error("--plot: cannot write '%s'", o.plot_path);
        fclose(f);
    }
    experiment_data d;
    if ((rc = experiment_prepare(&TRAIN_OPTIONS, &o, &d)) != EXIT_OK) return rc;
    run_io io = {stdout, NULL, ""};
    if ((rc = open_outputs(&o, &d, &io)) != EXIT_OK) {
        experiment_data_free(&d);
        return rc;
    }
    nn_backend_config bc = {o.threads, o.device, o.profile};
    nn_backend *be = NULL;
    rc = cli_open_backend(o.backend, &bc, o.no_fallback, &be, io.fallback, sizeof io.fallback);
    if (rc == EXIT_OK) rc = run(&o, &d, be, &io);
    if (io.json && io.json != stdout && fclose(io.json) != 0 && rc == EXIT_OK) {
        fprintf(stderr, "nnbench: --json: cannot write '%s'\n", o.json_path);
        rc = EXIT_FAIL;
    }
    nn_backend_close(be);
    experiment_data_free(&d);
    return rc;
}
