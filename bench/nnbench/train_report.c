/* train_report.c — what a `nnbench train` run reports: the tutorial's text
 * lines, the JSON record, the decision-boundary plot and the model file. All
 * files are written atomically (out/outfile.h); the JSON record is rendered
 * completely before it replaces an old one. */
#include <inttypes.h>
#include <signal.h>
#include <math.h>
#include <string.h>

#include "out/json.h"
#include "out/plot.h"
#include "train_run.h"

/* ------------------------------------------------------------------- JSON */

/* What the JSON record shows. */
typedef struct record {
    const train_run *t;
    const run_result *r;
    const run_log *log;
} record;

/* Measured figures; accuracies and test figures null when not scored. */
static void json_results(json_writer *w, const train_run *t, const run_result *r) {
    const int has_test = r->test.n > 0;
    json_key_bool(w, "interrupted", r->signal != 0);
    json_key_int(w, "epochs_run", r->train.epochs_run);
    json_key_int(w, "steps", (long long)r->train.steps);
    json_key_number(w, "final_loss", r->train.final_loss);
    json_key_number(w, "train_accuracy", r->tr.accuracy >= 0 ? r->tr.accuracy : NAN);
    json_key_number(w, "test_accuracy", has_test && r->te.accuracy >= 0 ? r->te.accuracy : NAN);
    json_key_number(w, "test_loss", has_test ? r->te.loss : NAN);
    json_key_number(w, "train_seconds", r->train.seconds);
    json_key_number(w, "samples_per_second", r->train.samples_per_second);
    json_key_number(w, "gflops", r->train.gflops);
    json_key_number(w, "peak_rss_mb", nn_peak_rss_mb());
    json_key_int(w, "threads_used", r->train.threads_used);
    json_key_int(w, "ranks", r->train.ranks);
    json_key_number(w, "comm_seconds", r->train.comm_seconds);
    json_key_number(w, "comm_bytes_per_step", r->train.comm_bytes_per_step);
    if (t->o.profile && strcmp(nn_backend_name(t->be), "cpu") != 0) {
        json_key_number(w, "kernel_seconds", r->prof.kernel_seconds);
        json_key_number(w, "transfer_seconds", r->prof.transfer_seconds);
        json_key_number(w, "build_seconds", r->prof.build_seconds);
        json_key_int(w, "kernel_launches", r->prof.kernel_launches);
        json_key_int(w, "transfers", r->prof.transfers);
    }
}

static void render_record(json_writer *w, void *ctx) {
    const record *rec = ctx;
    const train_run *t = rec->t;
    const experiment_options *o = &t->o;
    const experiment_data *d = &t->d;
    json_begin_object(w);
    opt_json_echo(&TRAIN_OPTIONS, w, o); /* the settings, as resolved */
    json_key_string(w, "backend", nn_backend_name(t->be));
    json_key_string(w, "fallback_reason", t->fallback[0] ? t->fallback : NULL);
    json_key_string(w, "device", nn_backend_device(t->be));
    json_key_int(w, "threads", nn_backend_threads(t->be));
    json_key_string(w, "dataset", d->name);
    json_key_string(w, "data", t->desc);
    json_key_int(w, "samples", (long long)(d->n_train + d->n_test));
    json_key_int(w, "train_samples", (long long)d->n_train);
    json_key_int(w, "test_samples", (long long)d->n_test);
    json_key_bool(w, "streamed", d->streamed);
    json_key_int(w, "batch_rows", (long long)(o->train.batch && o->train.batch < d->n_train
                                                  ? o->train.batch : d->n_train));
    json_results(w, t, rec->r);
    json_begin_array(w, "loss_epochs");
    for (size_t i = 0; i < rec->log->n; i++) json_array_number(w, rec->log->epochs[i]);
    json_end_array(w);
    json_begin_array(w, "loss_curve");
    for (size_t i = 0; i < rec->log->n; i++) json_array_number(w, rec->log->losses[i]);
    json_end_array(w);
    json_end_object(w);
}

/* Write the --json record (when asked); the exit code. */
static int write_record(const train_run *t, const run_result *r, const run_log *log) {
    if (!t->o.json_path || !t->is_root) return EXIT_OK;
    record rec = {t, r, log};
    char msg[4200];
    if (json_write_file(t->o.json_path, render_record, &rec, msg, sizeof msg) == 0)
        return EXIT_OK;
    fprintf(stderr, "nnbench: --json: %s\n", msg);
    return EXIT_FAIL;
}

/* ------------------------------------------------------------------- text */

void report_header(const train_run *t, const char *layers) {
    const experiment_options *o = &t->o;
    const experiment_data *d = &t->d;
    char batch[32];
    experiment_batch_str(o, d->n_train, batch, sizeof batch);
    fprintf(t->out, "nnbench: %s (%llu train / %llu test), layers %s %s/%s, %s lr %g, %s, %d "
                    "epochs, seed %llu\n", d->name, (unsigned long long)d->n_train,
            (unsigned long long)d->n_test, layers, nn_act_name(o->model.hidden),
            nn_act_name(nn_loss_output_act(o->model.loss)), nn_optimizer_name(o->train.optimizer),
            o->train.lr, batch, o->train.epochs, (unsigned long long)o->seed);
    if (t->resumed)
        fprintf(t->out, "nnbench: resumed from %s at epoch %" PRIu64 ", step %" PRIu64 " (%"
                        PRIu64 " steps taken)\n", o->resume_path, t->ck.epoch,
                t->ck.step_in_epoch, t->ck.step);
    if (o->init_path) fprintf(t->out, "nnbench: initial weights from %s\n", o->init_path);
}

void report_results(const train_run *t, const run_result *r) {
    FILE *out = t->out;
    const char *first = r->train_eval.n < r->src.n ? "first " : "";
    unsigned long long n_eval = r->train_eval.n, n_test = r->test.n;
    if (t->o.model.loss != NN_LOSS_MSE) {
        if (n_test) fprintf(out, "Test accuracy: %.4f (%llu samples)\n", r->te.accuracy, n_test);
        fprintf(out, "Train accuracy: %.4f (%s%llu samples)\n", r->tr.accuracy, first, n_eval);
    } else {
        if (n_test) fprintf(out, "Test MSE: %.6f (%llu samples)\n", r->te.loss, n_test);
        fprintf(out, "Train MSE: %.6f (%s%llu samples)\n", r->tr.loss, first, n_eval);
    }
    char threads[96] = "";
    int nt = nn_backend_threads(t->be);
    int used = r->train.threads_used;
    if (nt > 0 && used > 0 && used < nt)
        snprintf(threads, sizeof threads, ", %d threads (%d used: the steps are small)", nt, used);
    else if (nt > 0)
        snprintf(threads, sizeof threads, ", %d thread%s", nt, nt == 1 ? "" : "s");
    char ranks[96] = "";
    if (r->train.ranks > 1)
        snprintf(ranks, sizeof ranks, " x %d ranks (all-reduce waits %.4f s, %.0f bytes per step)",
                 r->train.ranks, r->train.comm_seconds, r->train.comm_bytes_per_step);
    fprintf(out, "Backend: %s on %s%s%s%s\n", nn_backend_name(t->be), nn_backend_device(t->be),
            threads, ranks, t->fallback[0] ? " (fallback: OpenCL unavailable)" : "");
    fprintf(out, "Training time: %.4f s, %.0f samples/s, %.2f GFLOP/s, peak RSS %.1f MiB%s\n",
            r->train.seconds, r->train.samples_per_second, r->train.gflops, nn_peak_rss_mb(),
            r->train.ranks > 1 ? " (rank 0)" : "");
    if (t->o.profile && strcmp(nn_backend_name(t->be), "cpu") == 0)
        fprintf(out, "Profile: the cpu backend has no device profile (use perf)\n");
    else if (t->o.profile)
        fprintf(out, "Profile: kernels %.4f s (%ld launches), transfers %.4f s (%ld), "
                     "program build %.4f s\n", r->prof.kernel_seconds, r->prof.kernel_launches,
                r->prof.transfer_seconds, r->prof.transfers, r->prof.build_seconds);
}

/* ------------------------------------------------------------------ files */

int report_files(const train_run *t, nn_model *m, const run_result *r, const run_log *log) {
    const experiment_options *o = &t->o;
    if (!t->is_root) return EXIT_OK;
    if (o->save_path) {
        int rc = model_save_run(o->save_path, m, o, &t->d, t->desc,
                                (uint64_t)r->train.epochs_run);
        if (rc != EXIT_OK) return rc;
        if (!o->quiet) fprintf(t->out, "Model: %s\n", o->save_path);
    }
    if (o->plot_path) {
        char msg[4200];
        const experiment_data *d = &t->d;
        if (plot_write_svg(o->plot_path, m, &d->test, d->train.n ? &d->train : NULL, log->epochs,
                           log->losses, log->n, d->name, msg, sizeof msg) != 0) {
            fprintf(stderr, "nnbench: --plot: %s\n", msg);
            return EXIT_FAIL;
        }
        if (!o->quiet) fprintf(t->out, "Plot: %s\n", o->plot_path);
    }
    return write_record(t, r, log);
}

int report_interrupted(const train_run *t, const run_result *r, const run_log *log) {
    int rc = write_record(t, r, log);
    if (t->is_root) {
        const char *name = r->signal == SIGTERM ? "SIGTERM" : "SIGINT";
        char where[4200] = "";
        if (t->o.checkpoint_path && r->checkpoints)
            snprintf(where, sizeof where, "; checkpoint %s (continue with --resume %s)",
                     t->o.checkpoint_path, t->o.checkpoint_path);
        fprintf(stderr, "nnbench: interrupted by %s after %d epoch%s, %" PRIu64 " step%s%s\n",
                name, r->train.epochs_run, r->train.epochs_run == 1 ? "" : "s", r->train.steps,
                r->train.steps == 1 ? "" : "s", where);
    }
    return rc != EXIT_OK ? rc : EXIT_INTERRUPTED;
}
