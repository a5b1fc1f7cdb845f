/* cmd_check.c — `nnbench check`: the same training on cpu and opencl, judged
 * by one-step errors. Three trainers over the same source and config: the
 * cpu trainer (the reference, also the free-running cpu trajectory), an
 * opencl trainer that runs freely beside it (information: where the two
 * trajectories separate), and an opencl trainer that takes the cpu's state
 * before each checked step and takes that one step (the verdict, through the
 * library's nn_parity_step_check; bounds and derivation in nn_tools.h and
 * src/parity_bound.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define MAX_POINTS 1000
#define AUTO_CHECKS 1000 /* --check-every 0: at most this many checked steps */
#define AUTO_WORK 2e9    /* ... and about this many multiply-adds of recomputation */

/* One trainer and its model; the loss of its last logging epoch. */
typedef struct lane {
    nn_model *m;
    nn_trainer *t;
    nn_train_config tc;
    int logged_epoch; /* -1: none yet */
    double logged_loss;
} lane;

/* The free-running comparison at logging points, and where it separated. */
typedef struct trajectory {
    size_t n;
    int epoch[MAX_POINTS];
    double loss_cpu[MAX_POINTS], loss_ocl[MAX_POINTS], rel[MAX_POINTS];
    int sep_epoch; /* first epoch whose end had |dw|/|w| > NN_PARITY_SEPARATION; -1 none */
    double sep_rel;
    int ocl_stopped;  /* the free opencl run failed (diverged) at this epoch; -1 not */
    char ocl_msg[256];
} trajectory;

typedef struct check_run {
    nn_backend *cpu, *ocl;
    lane a, b, c; /* cpu; opencl free; opencl checked from the cpu's state */
    nn_source src;
    size_t n_params;
    float *wa, *wb; /* (n_params) weights of a and b at an epoch's end */
    uint64_t spe, total, every;
    check_summary *sum;
    trajectory tr;
} check_run;

static int on_log(void *user, int epoch, double loss) {
    lane *l = user;
    l->logged_epoch = epoch;
    l->logged_loss = loss;
    return 0;
}

/* Open opencl (required) and cpu; returns the exit code. */
static int open_backends(const experiment_options *o, check_run *c) {
    nn_backend_config cpu_cfg = {o->threads, NULL, 0}, ocl_cfg = {0, o->device, o->profile};
    nn_error err;
    if (nn_backend_open("opencl", &ocl_cfg, &c->ocl, &err) != NN_OK) {
        fprintf(stderr, "nnbench: check needs an OpenCL device: %s\n", err.msg);
        return err.status == NN_E_INVALID ? EXIT_USAGE : EXIT_NO_OPENCL;
    }
    cli_warn_notes(nn_backend_notes(c->ocl));
    if (nn_backend_open("cpu", &cpu_cfg, &c->cpu, &err) != NN_OK) {
        fprintf(stderr, "nnbench: %s\n", err.msg);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

/* A model on be and a trainer for it; logging lanes record their loss. */
static int lane_open(const experiment_options *o, const nn_source *src, nn_backend *be, lane *l,
                     int logs) {
    nn_error err;
    l->logged_epoch = -1;
    l->tc = o->train;
    l->tc.step_loss = 1;
    l->tc.on_log = logs ? on_log : NULL;
    l->tc.user = l;
    if (nn_model_create(be, &o->model, &l->m, &err) != NN_OK ||
        nn_trainer_create(l->m, src, &l->tc, &l->t, &err) != NN_OK)
        return opt_library_error(&CHECK_OPTIONS, &err);
    return EXIT_OK;
}

static void lane_close(lane *l) {
    nn_trainer_free(l->t);
    nn_model_free(l->m);
}

static uint64_t gcd(uint64_t a, uint64_t b) {
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* How often to check: --check-every, or every step while the recomputation
 * stays within AUTO_CHECKS steps and AUTO_WORK multiply-adds; else a stride
 * prime to the steps per epoch, so that the checks visit every batch
 * position of an epoch (the last one may be short) over the run. */
static uint64_t check_stride(const experiment_options *o, uint64_t n_train, uint64_t spe,
                             uint64_t total) {
    if (o->check_every) return o->check_every;
    const double rows = o->train.batch && o->train.batch < n_train ? (double)o->train.batch
                                                                     : (double)n_train;
    double macs = 0; /* forward, backward and their bounds: about 8 products per weight and row */
    for (size_t l = 0; l + 1 < o->model.n_sizes; l++)
        macs += 8.0 * rows * (double)o->model.sizes[l] * (double)o->model.sizes[l + 1];
    double fit = macs > 0 ? floor(AUTO_WORK / macs) : AUTO_CHECKS;
    uint64_t checks = fit < 1 ? 1 : fit > AUTO_CHECKS ? AUTO_CHECKS : (uint64_t)fit;
    if (total <= checks) return 1;
    uint64_t k = (total + checks - 1) / checks;
    while (gcd(k, spe) != 1) k++;
    return k;
}

static int is_checked(const check_run *c, uint64_t s) {
    return s % c->every == 0 || s + 1 == c->total;
}

/* At the end of epoch `epoch`: the free-running weights compared, a table
 * row when both trainers logged this epoch. */
static int epoch_end(check_run *c, int epoch) {
    trajectory *t = &c->tr;
    if (t->ocl_stopped >= 0) return EXIT_OK;
    nn_error err;
    if (nn_model_get_params(c->a.m, c->wa, c->n_params, &err) != NN_OK ||
        nn_model_get_params(c->b.m, c->wb, c->n_params, &err) != NN_OK) {
        fprintf(stderr, "nnbench: %s\n", err.msg);
        return EXIT_FAIL;
    }
    nn_parity p = nn_parity_compare(c->a.logged_loss, c->b.logged_loss, c->wa, c->wb,
                                    c->n_params);
    if (isnan(p.weight_rel)) p.weight_rel = NAN; /* printed as "nan", not "-nan" */
    if (p.separated && t->sep_epoch < 0) {
        t->sep_epoch = epoch;
        t->sep_rel = p.weight_rel;
    }
    if (c->a.logged_epoch == epoch && c->b.logged_epoch == epoch && t->n < MAX_POINTS) {
        t->epoch[t->n] = epoch;
        t->loss_cpu[t->n] = c->a.logged_loss;
        t->loss_ocl[t->n] = isnan(c->b.logged_loss) ? NAN : c->b.logged_loss;
        t->rel[t->n] = p.weight_rel;
        t->n++;
    }
    return EXIT_OK;
}

/* Every step: checked ones through the library, the free opencl run beside. */
static int train_all(check_run *c) {
    nn_error err;
    nn_parity_step *ps = malloc(sizeof *ps);
    if (!ps) {
        fprintf(stderr, "nnbench: out of memory\n");
        return EXIT_FAIL;
    }
    int rc = EXIT_OK;
    for (uint64_t s = 0; s < c->total && rc == EXIT_OK; s++) {
        nn_status st;
        if (is_checked(c, s)) {
            st = nn_parity_step_check(c->a.t, c->a.m, c->c.t, c->c.m, &c->src, &c->a.tc, ps, &err);
            if (st == NN_OK && !ps->ref_finite)
                st = nn_error_set(&err, NN_E_NUMERIC,
                                  "the cpu training diverged (values that are not finite), so "
                                  "there is nothing to check against (try a smaller --lr)");
            if (st == NN_OK) check_summary_add(c->sum, ps);
        } else {
            st = nn_trainer_step(c->a.t, &err);
        }
        if (st != NN_OK) {
            fprintf(stderr, "nnbench: check at step %llu: %s\n", (unsigned long long)s, err.msg);
            rc = EXIT_FAIL;
            break;
        }
        if (c->tr.ocl_stopped < 0 && nn_trainer_step(c->b.t, &err) != NN_OK) {
            c->tr.ocl_stopped = (int)(s / c->spe);
            cli_first_line(err.msg, c->tr.ocl_msg, sizeof c->tr.ocl_msg);
        }
        if ((s + 1) % c->spe == 0) rc = epoch_end(c, (int)(s / c->spe));
    }
    free(ps);
    return rc;
}

static void print_trajectory(const check_run *c) {
    const trajectory *t = &c->tr;
    printf("free-running trajectories (information only, not the verdict):\n");
    printf("  %8s %12s %12s %10s %10s\n", "epoch", "loss cpu", "loss opencl", "|dloss|",
           "|dw|/|w|");
    for (size_t i = 0; i < t->n; i++)
        printf("  %8d %12.6f %12.6f %10.2e %10.2e%s\n", t->epoch[i], t->loss_cpu[i],
               t->loss_ocl[i], fabs(t->loss_ocl[i] - t->loss_cpu[i]), t->rel[i],
               !(t->rel[i] <= NN_PARITY_SEPARATION) ? "  separated" : "");
    if (t->ocl_stopped >= 0)
        printf("  the free opencl run stopped in epoch %d: %s\n", t->ocl_stopped, t->ocl_msg);
    if (t->sep_epoch < 0) {
        printf("  the trajectories stay together: |dw|/|w| <= %g at the end of every epoch\n",
               NN_PARITY_SEPARATION);
        return;
    }
    printf("  the trajectories separate at the end of epoch %d (|dw|/|w| %.2e > %g); ",
           t->sep_epoch, t->sep_rel, NN_PARITY_SEPARATION);
    if (c->sum->failed == 0)
        printf("every one-step\n  error stayed within its rounding bound, so this is rounding "
               "amplified by\n  chaotic training, not a bug\n");
    else
        printf("the one-step errors\n  did not stay within their bounds (below): a bug, not "
               "chaos\n");
}

/* Test (or training) accuracy of both free runs, for information. */
static void print_accuracy(check_run *c, experiment_data *d, const experiment_options *o) {
    if (o->model.loss == NN_LOSS_MSE || c->tr.ocl_stopped >= 0) return;
    nn_source test = experiment_test_source(d);
    const nn_source *s = test.n ? &test : &c->src;
    nn_eval ea, eb;
    nn_error err;
    if (nn_model_evaluate_source(c->a.m, s, &ea, &err) != NN_OK ||
        nn_model_evaluate_source(c->b.m, s, &eb, &err) != NN_OK)
        return;
    printf("%s accuracy of the free runs: cpu %.4f, opencl %.4f\n", test.n ? "test" : "train",
           ea.accuracy, eb.accuracy);
}

/* Header, training, tables, verdict; returns the exit code. */
static int run_check(experiment_options *o, experiment_data *d, check_run *c) {
    c->src = experiment_train_source(d);
    int rc = lane_open(o, &c->src, c->cpu, &c->a, 1);
    if (rc == EXIT_OK) rc = lane_open(o, &c->src, c->ocl, &c->b, 1);
    if (rc == EXIT_OK) rc = lane_open(o, &c->src, c->ocl, &c->c, 0);
    if (rc != EXIT_OK) return rc;
    c->n_params = nn_model_param_count(c->a.m);
    c->wa = malloc(c->n_params * sizeof(float));
    c->wb = malloc(c->n_params * sizeof(float));
    c->sum = calloc(1, sizeof *c->sum);
    if (!c->wa || !c->wb || !c->sum) {
        fprintf(stderr, "nnbench: out of memory\n");
        return EXIT_FAIL;
    }
    c->spe = nn_trainer_steps_per_epoch(c->a.t);
    c->total = c->spe * (uint64_t)o->train.epochs;
    c->every = check_stride(o, d->n_train, c->spe, c->total);
    c->tr.sep_epoch = c->tr.ocl_stopped = -1;

    char layers[512], batch[32], plan[160];
    cli_layers_str(&o->model, layers, sizeof layers);
    experiment_batch_str(o, d->n_train, batch, sizeof batch);
    printf("nnbench check: %s, layers %s, %s lr %g, %s, %d epochs, seed %llu\n", d->name, layers,
           nn_optimizer_name(o->train.optimizer), o->train.lr, batch, o->train.epochs,
           (unsigned long long)o->seed);
    printf("  cpu:    %s, %d threads\n  opencl: %s\n", nn_backend_device(c->cpu),
           nn_backend_threads(c->cpu), nn_backend_device(c->ocl));
    fflush(stdout);
    const double t0 = nn_now();
    if ((rc = train_all(c)) != EXIT_OK) return rc;
    const double seconds = nn_now() - t0;
    uint64_t n_checked = c->sum->checked;
    if (c->every == 1)
        snprintf(plan, sizeof plan, "every step, %llu", (unsigned long long)n_checked);
    else
        snprintf(plan, sizeof plan, "every %llu steps and the last, %llu of %llu",
                 (unsigned long long)c->every, (unsigned long long)n_checked,
                 (unsigned long long)c->total);
    check_print_steps(c->sum, &o->model, plan);
    print_trajectory(c);
    print_accuracy(c, d, o);
    printf("%llu steps (%llu per epoch) of up to %llu rows, checked and free runs: %.2f s\n",
           (unsigned long long)c->total, (unsigned long long)c->spe,
           (unsigned long long)(o->train.batch && o->train.batch < d->n_train ? o->train.batch
                                                                              : d->n_train),
           seconds);
    if (c->sum->failed) {
        check_print_failure(c->sum, &o->model, c->spe);
        return EXIT_FAIL;
    }
    printf("PASS: every element of %llu checked steps within its float32 rounding bound\n",
           (unsigned long long)n_checked);
    return EXIT_OK;
}

static void check_run_free(check_run *c) {
    lane_close(&c->c);
    lane_close(&c->b);
    lane_close(&c->a);
    free(c->wa);
    free(c->wb);
    free(c->sum);
    nn_backend_close(c->cpu);
    nn_backend_close(c->ocl);
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
    check_run c;
    memset(&c, 0, sizeof c);
    rc = open_backends(&o, &c);
    if (rc == EXIT_OK) rc = run_check(&o, &d, &c);
    check_run_free(&c);
    experiment_data_free(&d);
    return rc;
}
