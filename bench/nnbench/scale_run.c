/* scale_run.c — one point of `nnbench scale`, run in a child process so that
 * its peak memory is its own: warm-up on a few rows, then timed repeats, then
 * the test rows scored; the child sends its results through a pipe. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "experiment.h"
#include "scale.h"

nn_data_spec scale_point_spec(const scale_options *o, const point *pt) {
    nn_data_spec s = o->spec;
    s.features = (size_t)pt->p[AX_FEATURES];
    s.samples = (size_t)pt->p[AX_SAMPLES];
    return s;
}

void scale_point_model(const scale_options *o, const point *pt, size_t features, size_t classes,
                       nn_model_config *m) {
    memset(m, 0, sizeof *m);
    m->n_sizes = (size_t)pt->p[AX_DEPTH] + 2;
    m->sizes[0] = features;
    for (size_t i = 1; i + 1 < m->n_sizes; i++) m->sizes[i] = (size_t)pt->p[AX_HIDDEN];
    m->loss = nn_loss_for_classes(classes);
    m->sizes[m->n_sizes - 1] = nn_loss_outputs(m->loss, classes);
    m->hidden = NN_ACT_RELU;
    m->seed = o->seed;
}

/* The training settings of a point. */
static nn_train_config point_train_config(const scale_options *o, const point *pt,
                                          size_t features, size_t outputs) {
    nn_train_config tc = nn_train_config_default();
    tc.epochs = o->epochs;
    tc.lr = o->lr;
    tc.optimizer = o->optimizer;
    tc.batch = (size_t)pt->p[AX_BATCH];
    tc.seed = o->seed;
    tc.log_every = 0;
    tc.chunk_rows = experiment_chunk_rows(features, outputs);
    return tc;
}

/* Warm-up runs, then timed repeats, each on a fresh model; leaves the last model in *m. */
static nn_status train_repeats(const scale_options *o, point *pt, nn_backend *be,
                               const nn_model_config *mc, const nn_train_config *tc,
                               const nn_source *train, nn_model **m, nn_error *err) {
    nn_status st = NN_OK;
    for (int r = -o->warmup; r < o->repeats && st == NN_OK; r++) {
        nn_model_free(*m);
        *m = NULL;
        st = nn_model_create(be, mc, m, err);
        nn_source src = *train;
        if (r < 0 && src.n > SCALE_WARMUP_ROWS) src.n = SCALE_WARMUP_ROWS;
        nn_train_result res;
        if (st == NN_OK) st = nn_train(*m, &src, tc, &res, err);
        if (st == NN_OK && r >= 0) {
            pt->sec[r] = res.seconds;
            pt->sps[r] = res.samples_per_second;
            pt->flops_per_sample = nn_model_flops_per_sample(*m, 1);
            pt->final_loss = res.final_loss;
        }
    }
    return st;
}

/* Runs in the child: warm-up and timed repeats of one point; fills pt. */
static void run_point_child(const scale_options *o, point *pt) {
    nn_error err;
    nn_data_spec spec = scale_point_spec(o, pt);
    const uint64_t n = pt->p[AX_SAMPLES];
    const uint64_t n_heldout = (uint64_t)((double)n * o->test_fraction + 0.5);
    const uint64_t n_train = n - n_heldout;
    const uint64_t n_test = n_heldout > SCALE_TEST_ROWS_MAX ? SCALE_TEST_ROWS_MAX : n_heldout;
    nn_generator_source train_gen = {spec, 0}, test_gen = {spec, n_train};
    nn_source train = nn_source_from_generator(&train_gen, n_train);
    nn_source test = nn_source_from_generator(&test_gen, n_test);
    nn_backend_config bc = {(int)pt->p[AX_THREADS], o->device, 0};
    nn_backend *be = NULL;
    if (nn_backend_open(pt->backend, &bc, &be, &err) != NN_OK) {
        snprintf(pt->error, sizeof pt->error, "%.255s", err.msg);
        return;
    }
    snprintf(pt->ran_backend, sizeof pt->ran_backend, "%s", nn_backend_name(be));
    snprintf(pt->device, sizeof pt->device, "%s", nn_backend_device(be));
    pt->threads_used = nn_backend_threads(be);
    nn_model_config mc;
    scale_point_model(o, pt, train.features, train.classes, &mc);
    nn_train_config tc = point_train_config(o, pt, train.features, mc.sizes[mc.n_sizes - 1]);
    nn_model *m = NULL;
    nn_status st = train_repeats(o, pt, be, &mc, &tc, &train, &m, &err);
    nn_eval ev = {0, -1};
    if (st == NN_OK && test.n) st = nn_model_evaluate_source(m, &test, &ev, &err);
    if (st != NN_OK) snprintf(pt->error, sizeof pt->error, "%.255s", err.msg);
    else pt->ok = 1;
    pt->test_accuracy = ev.accuracy;
    pt->test_rows = test.n;
    nn_model_free(m);
    nn_backend_close(be);
}

/* In the child: run the point and write it whole to fd; never returns. */
static void child(const scale_options *o, point *pt, int fd) {
    signal(SIGINT, SIG_DFL);
    run_point_child(o, pt);
    const char *p = (const char *)pt;
    size_t left = sizeof *pt;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w <= 0) _exit(1);
        p += w, left -= (size_t)w;
    }
    _exit(0);
}

int scale_run_point(const scale_options *o, point *pt) {
    int fd[2];
    if (pipe(fd) != 0) return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        close(fd[0]);
        child(o, pt, fd[1]);
    }
    close(fd[1]);
    point got;
    char *p = (char *)&got;
    size_t have = 0;
    ssize_t r;
    while (have < sizeof got &&
           ((r = read(fd[0], p + have, sizeof got - have)) > 0 || (r < 0 && errno == EINTR)))
        if (r > 0) have += (size_t)r;
    close(fd[0]);
    int ws = 0;
    struct rusage ru;
    while (wait4(pid, &ws, 0, &ru) < 0 && errno == EINTR) {}
    if (have == sizeof got) {
        *pt = got;
    } else {
        pt->ok = 0;
        snprintf(pt->error, sizeof pt->error, "run %s (%s)",
                 WIFSIGNALED(ws) ? "killed by a signal" : "failed",
                 WIFSIGNALED(ws) ? strsignal(WTERMSIG(ws)) : "no result");
    }
    pt->peak_rss_mb = (double)ru.ru_maxrss / 1024.0;
    return 0;
}
