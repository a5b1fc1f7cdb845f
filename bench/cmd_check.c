/* cmd_check.c — `nnbench check`: the same training (same initial weights,
 * same data order) on cpu and opencl side by side; per logging point the
 * differences of the loss and of the weights, then PASS or FAIL. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "experiment.h"

/* Tolerances of the comparison, stated once and printed with the result. */
#define LOSS_ATOL 1e-5
#define LOSS_RTOL 1e-3
#define WEIGHT_RTOL 1e-3 /* max |w_cpu - w_ocl| <= WEIGHT_RTOL * max |w_cpu| */
#define MAX_POINTS 1000

/* Loss and weights at each logging point of one run. */
typedef struct trace {
    nn_model *m;
    size_t n_params;
    size_t n;
    int epoch[MAX_POINTS];
    double loss[MAX_POINTS];
    float *weights; /* (MAX_POINTS, n_params), allocated lazily per point */
    nn_status st;
    nn_error err;
} trace;

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
        const float *wa = a->weights + i * a->n_params, *wb = b->weights + i * b->n_params;
        double dw = 0, wmax = 0;
        for (size_t j = 0; j < a->n_params; j++) {
            double d = fabs((double)wa[j] - wb[j]);
            if (!(d <= dw)) dw = d; /* NaN propagates */
            if (fabs(wa[j]) > wmax) wmax = fabs(wa[j]);
        }
        double dl = fabs(a->loss[i] - b->loss[i]);
        int row_ok = dl <= LOSS_ATOL + LOSS_RTOL * fabs(a->loss[i]) && dw <= WEIGHT_RTOL * wmax &&
                     a->epoch[i] == b->epoch[i];
        ok &= row_ok;
        printf("%8d %12.6f %12.6f %10.2e %10.2e %11.3e %11.3e  %s\n", a->epoch[i], a->loss[i],
               b->loss[i], dl, a->loss[i] != 0 ? dl / fabs(a->loss[i]) : dl, dw, wmax,
               row_ok ? "ok" : "OUT OF TOLERANCE");
    }
    return ok;
}

int cmd_check(int argc, char **argv) {
    experiment_options o;
    experiment_defaults(&o);
    int rc = experiment_parse(argc, argv, &o);
    if (rc < 0) {
        printf("\nnnbench check [options]: trains on cpu and opencl from the same initial weights\n"
               "and data order, compares loss and weights at each logging point, prints PASS or\n"
               "FAIL (exit 1); exit 3 when no OpenCL device can be used.\n");
        return EXIT_OK;
    }
    if (rc != EXIT_OK) return rc;
    if (o.json_path || o.plot_path || o.no_fallback || strcmp(o.backend, "cpu") != 0)
        return cli_usage_error("check: --json, --plot, --backend and --no-fallback do not apply "
                               "(check always compares cpu with opencl)");
    experiment_data d;
    if ((rc = experiment_prepare(&o, &d)) != EXIT_OK) return rc;

    nn_backend_config cpu_cfg = {o.threads, NULL, 0}, ocl_cfg = {0, o.device, o.profile};
    nn_backend *cpu = NULL, *ocl = NULL;
    nn_error err;
    if (nn_backend_open("opencl", &ocl_cfg, &ocl, &err) != NN_OK) {
        fprintf(stderr, "nnbench: check needs an OpenCL device: %s\n", err.msg);
        experiment_data_free(&d);
        return err.status == NN_E_INVALID ? EXIT_USAGE : EXIT_NO_OPENCL;
    }
    if (nn_backend_open("cpu", &cpu_cfg, &cpu, &err) != NN_OK) {
        fprintf(stderr, "nnbench: %s\n", err.msg);
        nn_backend_close(ocl);
        experiment_data_free(&d);
        return EXIT_FAIL;
    }
    trace *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    float *init = NULL;
    nn_model *probe = NULL;
    rc = EXIT_FAIL;
    if (!a || !b) goto done;
    if (nn_model_create(cpu, &o.model, &probe, &err) != NN_OK) {
        fprintf(stderr, "nnbench: %s\n", err.msg);
        goto done;
    }
    a->n_params = b->n_params = nn_model_param_count(probe);
    int points = o.train.log_every > 0 ? o.train.epochs / o.train.log_every + 2 : 1;
    if (points > MAX_POINTS) points = MAX_POINTS;
    if (cli_check_memory("--log-every", 2.0 * points * (double)a->n_params * sizeof(float),
                         "weight snapshots at every logging point")) {
        rc = EXIT_USAGE;
        goto done;
    }
    init = malloc(a->n_params * sizeof(float));
    a->weights = malloc((size_t)points * a->n_params * sizeof(float));
    b->weights = malloc((size_t)points * b->n_params * sizeof(float));
    if (!init || !a->weights || !b->weights) {
        fprintf(stderr, "nnbench: check: out of memory for %d snapshots of %zu weights (use a "
                        "larger --log-every)\n", points, a->n_params);
        goto done;
    }
    if (nn_model_get_params(probe, init, a->n_params, &err) != NN_OK) {
        fprintf(stderr, "nnbench: %s\n", err.msg);
        goto done;
    }

    char layers[512];
    experiment_layers_str(&o.model, layers, sizeof layers);
    char batch[32] = "full batch";
    if (o.train.batch && o.train.batch < d.n_train)
        snprintf(batch, sizeof batch, "batch %zu", o.train.batch);
    printf("nnbench check: %s, layers %s, %s lr %g, %s, %d epochs, seed %llu\n", d.name, layers,
           nn_optimizer_name(o.train.optimizer), o.train.lr, batch, o.train.epochs,
           (unsigned long long)o.seed);
    printf("  cpu:    %s, %d threads\n  opencl: %s\n", nn_backend_device(cpu),
           nn_backend_threads(cpu), nn_backend_device(ocl));
    nn_eval ea, eb;
    if (run_one(&o, &d, cpu, init, a, &ea) != EXIT_OK || run_one(&o, &d, ocl, init, b, &eb) != EXIT_OK)
        goto done;
    int ok = compare(a, b);
    printf("tolerances: |dloss| <= %g + %g*|loss|; max|dw| <= %g*max|w|\n", LOSS_ATOL, LOSS_RTOL,
           WEIGHT_RTOL);
    if (o.loss != NN_LOSS_MSE)
        printf("%s accuracy: cpu %.4f, opencl %.4f\n", d.n_test ? "test" : "train", ea.accuracy,
               eb.accuracy);
    printf("%s\n", ok ? "PASS" : "FAIL");
    rc = ok ? EXIT_OK : EXIT_FAIL;
done:
    if (!a || !b) fprintf(stderr, "nnbench: out of memory\n");
    if (a) nn_model_free(a->m), free(a->weights);
    if (b) nn_model_free(b->m), free(b->weights);
    free(a);
    free(b);
    free(init);
    nn_model_free(probe);
    nn_backend_close(cpu);
    nn_backend_close(ocl);
    experiment_data_free(&d);
    return rc;
}
