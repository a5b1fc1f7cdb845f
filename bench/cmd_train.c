/* cmd_train.c — `nnbench [train]`: one training run, reported like the
 * tutorial, with optional JSON record and decision-boundary plot. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "experiment.h"
#include "plot.h"
#include "progress.h"

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

static void write_json(FILE *f, const experiment_options *o, const experiment_data *d,
                       nn_backend *be, const char *fallback, const nn_train_result *res,
                       const nn_eval *tr, const nn_eval *te, const run_log *log,
                       const nn_profile *prof, const char *layers, int has_test) {
    json_writer w = {f, 0, {0}};
    json_begin_object(&w);
    json_key_string(&w, "requested_backend", o->backend);
    json_key_string(&w, "backend", nn_backend_name(be));
    json_key_string(&w, "fallback_reason", fallback[0] ? fallback : NULL);
    json_key_string(&w, "device", nn_backend_device(be));
    json_key_int(&w, "threads", nn_backend_threads(be));
    json_key_string(&w, "dataset", d->name);
    json_key_int(&w, "samples", (long long)(d->n_train + d->n_test));
    json_key_int(&w, "train_samples", (long long)d->n_train);
    json_key_int(&w, "test_samples", (long long)d->n_test);
    json_key_bool(&w, "streamed", d->streamed);
    json_key_string(&w, "layers", layers);
    json_key_string(&w, "activation", nn_act_name(o->activation));
    json_key_string(&w, "loss", nn_loss_name(o->loss));
    json_key_string(&w, "optimizer", nn_optimizer_name(o->train.optimizer));
    json_key_number(&w, "lr", o->train.lr);
    json_key_int(&w, "epochs", o->train.epochs);
    json_key_int(&w, "batch", (long long)o->train.batch);
    json_key_int(&w, "batch_rows", (long long)(o->train.batch && o->train.batch < d->n_train
                                                   ? o->train.batch : d->n_train));
    json_key_int(&w, "seed", (long long)o->seed);
    json_key_number(&w, "final_loss", res->final_loss);
    json_key_number(&w, "train_accuracy", tr->accuracy >= 0 ? tr->accuracy : NAN);
    json_key_number(&w, "test_accuracy", has_test && te->accuracy >= 0 ? te->accuracy : NAN);
    json_key_number(&w, "test_loss", has_test ? te->loss : NAN);
    json_key_number(&w, "train_seconds", res->seconds);
    json_key_number(&w, "samples_per_second", res->samples_per_second);
    json_key_number(&w, "gflops", res->gflops);
    json_key_number(&w, "peak_rss_mb", nn_peak_rss_mb());
    json_begin_array(&w, "loss_epochs");
    for (size_t i = 0; i < log->n; i++) json_array_number(&w, log->epochs[i]);
    json_end_array(&w);
    json_begin_array(&w, "loss_curve");
    for (size_t i = 0; i < log->n; i++) json_array_number(&w, log->losses[i]);
    json_end_array(&w);
    if (o->profile && strcmp(nn_backend_name(be), "cpu") != 0) {
        json_key_number(&w, "kernel_seconds", prof->kernel_seconds);
        json_key_number(&w, "transfer_seconds", prof->transfer_seconds);
        json_key_number(&w, "build_seconds", prof->build_seconds);
        json_key_int(&w, "kernel_launches", prof->kernel_launches);
        json_key_int(&w, "transfers", prof->transfers);
    }
    json_end_object(&w);
}

/* Train, evaluate and report; returns the exit code. */
static int run(experiment_options *o, experiment_data *d, nn_backend *be, const char *fallback,
               FILE *json) {
    FILE *out = json == stdout ? stderr : stdout;
    nn_error err;
    nn_model *m = NULL;
    if (nn_model_create(be, &o->model, &m, &err) != NN_OK) {
        fprintf(stderr, "nnbench: %s\n", err.msg);
        return err.status == NN_E_INVALID ? EXIT_USAGE : EXIT_FAIL;
    }
    char layers[512];
    experiment_layers_str(&o->model, layers, sizeof layers);
    if (!o->quiet) {
        char batch[32];
        if (o->train.batch && o->train.batch < d->n_train)
            snprintf(batch, sizeof batch, "batch %zu", o->train.batch);
        else
            snprintf(batch, sizeof batch, "full batch");
        fprintf(out, "nnbench: %s (%llu train / %llu test), layers %s %s/%s, %s lr %g, %s, %d epochs, "
               "seed %llu\n", d->name, (unsigned long long)d->n_train,
               (unsigned long long)d->n_test, layers, nn_act_name(o->activation),
               nn_act_name(o->loss == NN_LOSS_BCE ? NN_ACT_SIGMOID
                           : o->loss == NN_LOSS_CE ? NN_ACT_SOFTMAX : NN_ACT_IDENTITY),
               nn_optimizer_name(o->train.optimizer), o->train.lr, batch, o->train.epochs,
               (unsigned long long)o->seed);
    }
    run_log log = {out, o->quiet, o->train.log_every, {0}, 0, malloc(MAX_LOG_POINTS * sizeof(int)),
                   malloc(MAX_LOG_POINTS * sizeof(double))};
    if (!log.epochs || !log.losses) {
        free(log.epochs);
        free(log.losses);
        nn_model_free(m);
        fprintf(stderr, "nnbench: out of memory\n");
        return EXIT_FAIL;
    }
    progress_start(&log.bar, !o->quiet && isatty(STDERR_FILENO));
    nn_train_config tc = o->train;
    tc.on_log = on_log;
    tc.on_progress = on_progress;
    tc.user = &log;
    nn_train_result res;
    nn_source src = experiment_train_source(d), test = experiment_test_source(d);
    nn_status st = nn_train(m, &src, &tc, &res, &err);
    progress_clear(&log.bar);
    int rc = EXIT_OK;
    nn_eval tr = {0}, te = {0};
    /* accuracy on the training rows: all of them, or the first TRAIN_EVAL_MAX when streamed */
    nn_source train_eval = src;
    if (train_eval.n > TRAIN_EVAL_MAX) train_eval.n = TRAIN_EVAL_MAX;
    if (st == NN_OK) st = nn_model_evaluate_source(m, &train_eval, &tr, &err);
    if (st == NN_OK && test.n) st = nn_model_evaluate_source(m, &test, &te, &err);
    if (st != NN_OK) {
        fprintf(stderr, "nnbench: %s\n", err.msg);
        rc = err.status == NN_E_INVALID ? EXIT_USAGE : EXIT_FAIL;
    } else {
        if (o->loss != NN_LOSS_MSE) {
            if (test.n) fprintf(out, "Test accuracy: %.4f (%llu samples)\n", te.accuracy, (unsigned long long)test.n);
            fprintf(out, "Train accuracy: %.4f (%s%llu samples)\n", tr.accuracy,
                   train_eval.n < src.n ? "first " : "", (unsigned long long)train_eval.n);
        } else {
            if (test.n) fprintf(out, "Test MSE: %.6f (%llu samples)\n", te.loss, (unsigned long long)test.n);
            fprintf(out, "Train MSE: %.6f (%s%llu samples)\n", tr.loss, train_eval.n < src.n ? "first " : "",
                   (unsigned long long)train_eval.n);
        }
        char threads[32] = "";
        if (nn_backend_threads(be) > 0)
            snprintf(threads, sizeof threads, ", %d thread%s", nn_backend_threads(be),
                     nn_backend_threads(be) == 1 ? "" : "s");
        fprintf(out, "Backend: %s on %s%s%s\n", nn_backend_name(be), nn_backend_device(be), threads,
               fallback[0] ? " (fallback: OpenCL unavailable)" : "");
        fprintf(out, "Training time: %.4f s, %.0f samples/s, %.2f GFLOP/s, peak RSS %.1f MiB\n",
               res.seconds, res.samples_per_second, res.gflops, nn_peak_rss_mb());
        nn_profile prof;
        nn_backend_profile(be, &prof);
        if (o->profile && strcmp(nn_backend_name(be), "cpu") == 0)
            fprintf(out, "Profile: the cpu backend has no device profile (use perf)\n");
        else if (o->profile)
            fprintf(out, "Profile: kernels %.4f s (%ld launches), transfers %.4f s (%ld), program build "
                   "%.4f s\n", prof.kernel_seconds, prof.kernel_launches, prof.transfer_seconds,
                   prof.transfers, prof.build_seconds);
        if (json) {
            write_json(json, o, d, be, fallback, &res, &tr, &te, &log, &prof, layers, test.n > 0);
            if (fflush(json) != 0 || ferror(json)) {
                fprintf(stderr, "nnbench: --json: cannot write '%s'\n", o->json_path);
                rc = EXIT_FAIL;
            }
        }
        if (o->plot_path && rc == EXIT_OK) {
            char msg[512];
            if (plot_write_svg(o->plot_path, m, &d->test, d->train.n ? &d->train : NULL,
                               log.epochs, log.losses, log.n, d->name, msg, sizeof msg) != 0) {
                fprintf(stderr, "nnbench: --plot: %s\n", msg);
                rc = EXIT_USAGE;
            } else if (!o->quiet) {
                fprintf(out, "Plot: %s\n", o->plot_path);
            }
        }
    }
    free(log.epochs);
    free(log.losses);
    nn_model_free(m);
    return rc;
}

int cmd_train(int argc, char **argv) {
    experiment_options o;
    experiment_defaults(&o);
    int rc = experiment_parse(argc, argv, &o);
    if (rc < 0) return EXIT_OK; /* --help */
    if (rc != EXIT_OK) return rc;
    if (o.check) return cmd_check(argc, argv);
    if (o.plot_path) {
        FILE *f = fopen(o.plot_path, "w"); /* fail before training, not after */
        if (!f) return cli_usage_error("--plot: cannot write '%s'", o.plot_path);
        fclose(f);
    }
    experiment_data d;
    if ((rc = experiment_prepare(&o, &d)) != EXIT_OK) return rc;
    if (o.plot_path && (d.features != 2 || d.streamed)) {
        experiment_data_free(&d);
        if (d.streamed) return cli_usage_error("--plot: needs an in-memory dataset, not a streamed one");
        return cli_usage_error("--plot: needs 2-D data; dataset %s has %zu features", d.name,
                               d.features);
    }
    FILE *json = NULL; /* opened before training, so that a bad path fails fast */
    if (o.json_path) {
        json = strcmp(o.json_path, "-") == 0 ? stdout : fopen(o.json_path, "w");
        if (!json) {
            experiment_data_free(&d);
            return cli_usage_error("--json: cannot write '%s'", o.json_path);
        }
    }
    nn_backend_config bc = {o.threads, o.device, o.profile};
    nn_backend *be = NULL;
    char fallback[512];
    rc = cli_open_backend(o.backend, &bc, o.no_fallback, &be, fallback, sizeof fallback);
    if (rc == EXIT_OK) rc = run(&o, &d, be, fallback, json);
    if (json && json != stdout && fclose(json) != 0 && rc == EXIT_OK) {
        fprintf(stderr, "nnbench: --json: cannot write '%s'\n", o.json_path);
        rc = EXIT_FAIL;
    }
    nn_backend_close(be);
    experiment_data_free(&d);
    return rc;
}
