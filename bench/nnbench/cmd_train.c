/* cmd_train.c — `nnbench [train]`: one training run, reported like the
 * tutorial, with an optional JSON record, decision-boundary plot, model file
 * and checkpoints. The run is: parse (a resumed run's settings first), check
 * the files, prepare the data, train step by step (train_loop.c), evaluate,
 * report (train_report.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "describe.h"
#include "files.h"
#include "ranks.h"
#include "resume.h"
#include "train_loop.h"
#include "train_run.h"

/* Training rows scored for the reported train accuracy of streamed runs. */
#define TRAIN_EVAL_MAX ((uint64_t)100000)

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

/* ------------------------------------------------------------------- run */

/* Train m from the start, from --init weights or from the checkpoint, with
 * checkpoints and stopping on a signal; fills r->train, r->signal and
 * r->checkpoints. Returns the exit code (a library error printed). */
static int train(train_run *t, nn_model *m, run_log *log, run_result *r) {
    const experiment_options *o = &t->o;
    nn_train_config tc = o->train;
    tc.comm = ranks_comm(); /* NULL in a plain run */
    tc.on_log = on_log;
    tc.on_progress = on_progress;
    tc.user = log;
    nn_error err;
    nn_trainer *tr = NULL;
    ranks_fault fault; /* NNBENCH_TEST_FAULT: a failing rank, for the tests */
    nn_source src = r->src;
    if (tc.comm) ranks_fault_apply(&fault, tc.comm->rank, &src);
    if (tc.comm) ranks_fault_exit(&fault);
    if (nn_trainer_create(m, &src, &tc, &tr, &err) != NN_OK)
        return opt_library_error(&TRAIN_OPTIONS, &err);
    int rc = t->resumed ? resume_apply(&t->ck, o->resume_path, tr) : EXIT_OK;
    run_ckpt ck = {o->checkpoint_path, o, &t->d, t->desc, nn_trainer_steps_per_epoch(tr)};
    train_loop loop = {tr, o->checkpoint_path ? &ck : NULL, o->checkpoint_every.steps,
                       o->checkpoint_every.seconds, t->resumed ? t->ck.step : 0, t->is_root,
                       tc.comm};
    loop_end end = {0, 0};
    rc = ranks_agree(rc);
    if (rc == EXIT_OK) {
        progress_start(&log->bar, !o->quiet && t->is_root && isatty(STDERR_FILENO));
        loop_catch_signals();
        if (train_loop_run(&loop, &end, &err) != NN_OK) {
            rc = opt_library_error(&TRAIN_OPTIONS, &err);
            /* a checkpoint that cannot be written (a full disk) fails the run, exit 1 like
             * --save; its path was checked up front, so this is no bad input */
            if (strcmp(err.param, "checkpoint") == 0) rc = EXIT_FAIL;
        }
        progress_clear(&log->bar);
    }
    nn_trainer_result(tr, &r->train);
    nn_trainer_free(tr);
    r->signal = end.signal;
    r->checkpoints = end.checkpoints;
    return rc;
}

/* Accuracy and loss on the training rows (all, or the first TRAIN_EVAL_MAX) and the test rows. */
static nn_status evaluate(nn_model *m, run_result *r, nn_error *err) {
    r->train_eval = r->src;
    if (r->train_eval.n > TRAIN_EVAL_MAX) r->train_eval.n = TRAIN_EVAL_MAX;
    nn_status st = nn_model_evaluate_source(m, &r->train_eval, &r->tr, err);
    if (st == NN_OK && r->test.n) st = nn_model_evaluate_source(m, &r->test, &r->te, err);
    return st;
}

/* Train, then evaluate and report (or report the stop); returns the exit code. */
static int train_and_report(train_run *t, nn_model *m, run_log *log, run_result *r) {
    int rc = train(t, m, log, r);
    if (rc != EXIT_OK) return rc;
    if (r->signal) return report_interrupted(t, r, log);
    nn_error err;
    /* Every rank holds the same weights: rank 0 scores them and reports. */
    if (t->is_root && evaluate(m, r, &err) != NN_OK)
        return opt_library_error(&TRAIN_OPTIONS, &err);
    nn_backend_profile(t->be, &r->prof);
    if (t->is_root) report_results(t, r);
    return report_files(t, m, r, log);
}

/* Create the model (with --init weights), train, evaluate and report; returns the exit code. */
static int run(train_run *t) {
    experiment_options *o = &t->o;
    nn_error err;
    nn_model *m = NULL;
    int created = nn_model_create(t->be, &o->model, &m, &err) == NN_OK
                      ? EXIT_OK : opt_library_error(&TRAIN_OPTIONS, &err);
    if ((created = ranks_agree(created)) != EXIT_OK) {
        nn_model_free(m);
        return created;
    }
    run_result r = {.src = experiment_train_source(&t->d), .test = experiment_test_source(&t->d),
                    .tr = {NAN, NAN}, .te = {NAN, NAN}};
    cli_layers_str(&o->model, r.layers, sizeof r.layers);
    run_log log = {t->out, o->quiet || !t->is_root, o->train.log_every, {0}, 0,
                   malloc(MAX_LOG_POINTS * sizeof(int)), malloc(MAX_LOG_POINTS * sizeof(double))};
    int rc = o->init_path ? init_apply(&t->init, m) : EXIT_OK;
    if (!log.epochs || !log.losses) {
        fprintf(stderr, "nnbench: out of memory\n");
        rc = EXIT_FAIL;
    }
    rc = ranks_agree(rc);
    if (rc == EXIT_OK) {
        if (!o->quiet && t->is_root) report_header(t, r.layers);
        rc = train_and_report(t, m, &log, &r);
    }
    free(log.epochs);
    free(log.losses);
    nn_model_free(m);
    return rc;
}

/* ----------------------------------------------------------------- setup */

/* Parse the options; with --resume, the checkpoint's settings come first so
 * that the command line adds to them. */
static int parse(train_run *t, int argc, char **argv) {
    const char *resume = resume_find(argc, argv);
    if (!resume) return experiment_parse(&TRAIN_OPTIONS, argc, argv, &t->o);
    int rc = resume_load(resume, &t->ck);
    if (rc != EXIT_OK) return rc;
    t->resumed = 1;
    if (resume_args(&t->ck, argc, argv, &t->args) != 0) return EXIT_FAIL;
    return experiment_parse(&TRAIN_OPTIONS, (int)t->args.n, t->args.v, &t->o);
}

/* The run's files, refused up front when two name the same file or an
 * output's folder cannot take it; options that need another one. */
static int check_files(const experiment_options *o) {
    if (o->init_path && o->resume_path)
        return cli_usage_error("--init: a resumed run continues from its checkpoint's weights; "
                               "drop --init or --resume");
    if (opt_was_given(&o->given, "--checkpoint-every") && !o->checkpoint_path)
        return cli_usage_error("--checkpoint-every: needs --checkpoint PATH");
    const char *csv = strncmp(o->dataset, "csv:", 4) == 0 ? o->dataset + 4 : NULL;
    const file_use files[] = {
        {"--dataset", csv, 0, 0, NULL},          {"--init", o->init_path, 0, 0, NULL},
        {"--resume", o->resume_path, 0, 0, NULL}, {"--json", o->json_path, 1, 1, NULL},
        {"--plot", o->plot_path, 1, 0, NULL},     {"--save", o->save_path, 1, 0, NULL},
        {"--checkpoint", o->checkpoint_path, 1, 0, "--resume"},
    };
    return files_check(files, sizeof files / sizeof files[0]);
}

/* What needs the data: the plot's, the --init model's and the checkpoint's. */
static int check_against_data(train_run *t) {
    const experiment_options *o = &t->o;
    const experiment_data *d = &t->d;
    if (o->plot_path && d->streamed)
        return cli_usage_error("--plot: needs an in-memory dataset, not a streamed one");
    if (o->plot_path && d->features != 2)
        return cli_usage_error("--plot: needs 2-D data; dataset %s has %zu features", d->name,
                               d->features);
    int rc = init_check(o, d, &t->init);
    if (rc != EXIT_OK) return rc;
    if (!(t->desc = describe_data(o, d->streamed))) return cli_usage_error("out of memory");
    return t->resumed ? resume_verify(&t->ck, o->resume_path, o, d, t->desc) : EXIT_OK;
}

/* Everything before the backend: options, files, --init, data. */
static int setup(train_run *t, int argc, char **argv) {
    experiment_options *o = &t->o;
    int rc = parse(t, argc, argv);
    if (rc < 0) return -1; /* --help */
    if (rc != EXIT_OK) return rc;
    if (o->check && ranks_comm())
        return cli_usage_error("--check: compares cpu with opencl in one process; run it without "
                               "mpirun");
    if (o->check) return -2;
    if (o->device && strcmp(o->backend, "cpu") == 0)
        return cli_usage_error("--device: selects an OpenCL device; add --backend opencl");
    if ((rc = check_files(o)) != EXIT_OK || (rc = init_read(o, &t->init)) != EXIT_OK) return rc;
    if ((rc = experiment_prepare(&TRAIN_OPTIONS, o, &t->d)) != EXIT_OK) return rc;
    t->out = o->json_path && strcmp(o->json_path, "-") == 0 ? stderr : stdout;
    return check_against_data(t);
}

static void train_run_free(train_run *t) {
    nn_backend_close(t->be);
    experiment_data_free(&t->d);
    init_free(&t->init);
    nn_checkpoint_free(&t->ck);
    args_free(&t->args);
    free(t->desc);
}

int cmd_train(int argc, char **argv) {
    train_run t;
    memset(&t, 0, sizeof t);
    t.is_root = ranks_is_root(); /* under mpirun: rank 0 prints and writes files */
    int rc = setup(&t, argc, argv);
    if (rc == -2) {
        train_run_free(&t);
        return cmd_check(argc, argv);
    }
    /* Every rank prepared its own data: a rank that could not (an unreadable
     * file on one node) stops them all here, before any collective call. */
    if (rc >= 0) rc = ranks_agree(rc);
    if (rc == EXIT_OK) {
        char dev[32];
        nn_backend_config bc = {t.o.threads, ranks_device(t.o.backend, t.o.device, dev, sizeof dev),
                                t.o.profile};
        rc = ranks_agree(cli_open_backend(t.o.backend, &bc, t.o.no_fallback, &t.be, t.fallback,
                                          sizeof t.fallback));
    }
    if (rc == EXIT_OK) rc = run(&t);
    rc = ranks_agree(rc < 0 ? EXIT_OK : rc); /* every rank exits with the same code */
    train_run_free(&t);
    return rc;
}
