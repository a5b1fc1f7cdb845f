/* cmd_check.c — `nnbench check`: the same training (same initial weights,
 * same data order) on cpu and opencl side by side; per logging point the
 * differences of the loss and of the weights, then PASS or FAIL. The
 * comparison and its tolerances are the library's (nn_parity_compare). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "experiment.h"
#include "nn_tools.h"

#define MAX_POINTS 1000

/* Loss and weights at each logging point of one run. */
typedef struct trace {
    nn_model *m;
    size_t n_params;
    size_t n;
    int epoch[MAX_POINTS];
    double loss[MAX_POINTS];
    float *weights; /* (points, n_params): the weights at each logging point */
    nn_status st;
    nn_error err;
} trace;

/* Both backends, the initial weights and the two traces. */
typedef struct check_run {
    nn_backend *cpu, *ocl;
    size_t n_params;
    float *init; /* (n_params) initial weights of both runs */
    trace *a, *b;
} check_run;

static int record(void *user, int epoch, double loss) {
    trace *t = user;
    if (t->n >= MAX_POINTS) return 0;
    t->epoch[t->n] = epoch;
    t->loss[t->n] = loss;
    t->st = nn_model_get_params(t->m, t->weights + t->n * t->n_params, t->n_params, &t->err);
    t->n++;
    return t->st != NN_OK;
}

/* Create a model on be with the given initial weights and train it, recording the trace. */
static int run_one(experiment_options *o, experiment_data *d, nn_backend *be, const float *init,
                   trace *t, nn_eval *test_eval) {
    nn_error err;
    if (nn_model_create(be, &o->model, &t->m, &err) != NN_OK ||
        nn_model_set_params(t->m, init, t->n_params, &err) != NN_OK) {
        fprintf(stderr, "nnbench: %s: %s\n", nn_backend_name(be), err.msg);
        return EXIT_FAIL;
    }
    nn_train_config tc = o->train;
    tc.on_log = record;
    tc.user = t;
    nn_source src = experiment_train_source(d), test = experiment_test_source(d);
    nn_status st = nn_train(t->m, &src, &tc, NULL, &err);
    if (st == NN_E_STOPPED && t->st != NN_OK) err = t->err;
    if (st == NN_OK) st = nn_model_evaluate_source(t->m, test.n ? &test : &src, test_eval, &err);
    if (st != NN_OK) {
        fprintf(stderr, "nnbench: %s: %s\n", nn_backend_name(be), err.msg);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

/* Compare the traces, print a row per logging point; returns 1 if all within tolerance. */
static int compare(const trace *a, const trace *b) {
    int ok = a->n == b->n;
    printf("%8s %12s %12s %10s %10s %11s %11s  %s\n", "epoch", "loss cpu", "loss opencl",
           "|dloss|", "rel", "max|dw|", "max|w|", "");
    for (size_t i = 0; i < a->n && i < b->n; i++) {
        nn_parity p = nn_parity_compare(a->loss[i], b->loss[i], a->weights + i * a->n_params,
                                        b->weights + i * b->n_params, a->n_params);
        int row_ok = p.ok && a->epoch[i] == b->epoch[i];
        ok &= row_ok;
        printf("%8d %12.6f %12.6f %10.2e %10.2e %11.3e %11.3e  %s\n", a->epoch[i], a->loss[i],
               b->loss[i], p.loss_diff, p.loss_rel, p.weight_diff, p.weight_max,
               row_ok ? "ok" : "OUT OF TOLERANCE");
    }
    return ok;
}

/* Open opencl (required) and cpu; returns the exit code. */
static int open_backends(const experiment_options *o, check_run *c) {
    nn_backend_config cpu_cfg = {o->threads, NULL, 0}, ocl_cfg = {0, o->device, o->profile};
    nn_error err;
    if (nn_backend_open("opencl", &ocl_cfg, &c->ocl, &err) != NN_OK) {
        fprintf(stderr, "nnbench: check needs an OpenCL device: %s\n", err.msg);
        return err.status == NN_E_INVALID ? EXIT_USAGE : EXIT_NO_OPENCL;
    }
    if (nn_backend_open("cpu", &cpu_cfg, &c->cpu, &err) != NN_OK) {
        fprintf(stderr, "nnbench: %s\n", err.msg);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

/* The initial weights (from a cpu model) and room for both traces. */
static int allocate(const experiment_options *o, check_run *c) {
    nn_error err;
    nn_model *probe = NULL;
    c->a = calloc(1, sizeof *c->a);
    c->b = calloc(1, sizeof *c->b);
    if (!c->a || !c->b) {
        fprintf(stderr, "nnbench: out of memory\n");
        return EXIT_FAIL;
    }
    if (nn_model_create(c->cpu, &o->model, &probe, &err) != NN_OK)
        return opt_library_error(&CHECK_OPTIONS, &err);
    c->n_params = c->a->n_params = c->b->n_params = nn_model_param_count(probe);
    int points = o->train.log_every > 0 ? o->train.epochs / o->train.log_every + 2 : 1;
    if (points > MAX_POINTS) points = MAX_POINTS;
    int rc = EXIT_OK;
    if (cli_check_memory("--log-every", 2.0 * points * (double)c->n_params * sizeof(float),
                         "weight snapshots at every logging point")) {
        rc = EXIT_USAGE;
    } else {
        c->init = malloc(c->n_params * sizeof(float));
        c->a->weights = malloc((size_t)points * c->n_params * sizeof(float));
        c->b->weights = malloc((size_t)points * c->n_params * sizeof(float));
        if (!c->init || !c->a->weights || !c->b->weights) {
            fprintf(stderr, "nnbench: check: out of memory for %d snapshots of %zu weights (use a "
                            "larger --log-every)\n", points, c->n_params);
            rc = EXIT_FAIL;
        } else if (nn_model_get_params(probe, c->init, c->n_params, &err) != NN_OK) {
            rc = opt_library_error(&CHECK_OPTIONS, &err);
        }
    }
    nn_model_free(probe);
    return rc;
}

static void check_run_free(check_run *c) {
    trace *t[2] = {c->a, c->b};
    for (int i = 0; i < 2; i++) {
        if (!t[i]) continue;
        nn_model_free(t[i]->m);
        free(t[i]->weights);
        free(t[i]);
    }
    free(c->init);
    nn_backend_close(c->cpu);
    nn_backend_close(c->ocl);
}

/* Both runs, the table and the verdict; returns the exit code. */
static int run_and_compare(experiment_options *o, experiment_data *d, check_run *c) {
    char layers[512], batch[32];
    cli_layers_str(&o->model, layers, sizeof layers);
    experiment_batch_str(o, d->n_train, batch, sizeof batch);
    printf("nnbench check: %s, layers %s, %s lr %g, %s, %d epochs, seed %llu\n", d->name, layers,
           nn_optimizer_name(o->train.optimizer), o->train.lr, batch, o->train.epochs,
           (unsigned long long)o->seed);
    printf("  cpu:    %s, %d threads\n  opencl: %s\n", nn_backend_device(c->cpu),
           nn_backend_threads(c->cpu), nn_backend_device(c->ocl));
    nn_eval ea, eb;
    if (run_one(o, d, c->cpu, c->init, c->a, &ea) != EXIT_OK ||
        run_one(o, d, c->ocl, c->init, c->b, &eb) != EXIT_OK)
        return EXIT_FAIL;
    int ok = compare(c->a, c->b);
    printf("tolerances: |dloss| <= %g + %g*|loss|; max|dw| <= %g*max|w|\n", NN_PARITY_LOSS_ATOL,
           NN_PARITY_LOSS_RTOL, NN_PARITY_WEIGHT_RTOL);
    if (o->model.loss != NN_LOSS_MSE)
        printf("%s accuracy: cpu %.4f, opencl %.4f\n", d->n_test ? "test" : "train", ea.accuracy,
               eb.accuracy);
    printf("%s\n", ok ? "PASS" : "FAIL");
    return ok ? EXIT_OK : EXIT_FAIL;
}

int cmd_check(int argc, char **argv) {
    experiment_options o;
    int rc = experiment_parse(&CHECK_OPTIONS, argc, argv, &o);
    if (rc < 0) return EXIT_OK; /* --help */
    if (rc != EXIT_OK) return rc;
    if (o.json_path || o.plot_path || o.no_fallback || strcmp(o.backend, "cpu") != 0)
        return cli_usage_error("check: --json, --plot, --backend and --no-fallback do not apply "
                               "(check always compares cpu with opencl)");
    experiment_data d;
    if ((rc = experiment_prepare(&CHECK_OPTIONS, &o, &d)) != EXIT_OK) return rc;
    check_run c = {0};
    rc = open_backends(&o, &c);
    if (rc == EXIT_OK) rc = allocate(&o, &c);
    if (rc == EXIT_OK) rc = run_and_compare(&o, &d, &c);
    check_run_free(&c);
    experiment_data_free(&d);
    return rc;
}
