/* scale_run.c — one point of `nnbench scale`: warm-up on a few rows, then
 * timed repeats, then the test rows scored. A one-rank point runs in a
 * forked child, so that its peak memory is its own, and sends its results
 * through a pipe; a point of several ranks runs every rank under the MPI
 * launcher (scale_launch.c builds its command line, scale_point.c is what
 * each rank runs) and rank 0 writes the results to a file. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "experiment.h"
#include "ranks.h"
#include "scale.h"

/* ------------------------------------------------ timing the communicator */

/* A communicator around the job's that counts all-reduces and measures the
 * overlap window of each step: from the first gradient all-reduce started
 * during the backward pass to the first wait for one (the backward pass the
 * sums can run behind). */
typedef struct timed_comm {
    nn_comm outer; /* what the trainer sees */
    nn_comm *inner;
    int started;   /* an all-reduce started, none waited for yet */
    double t_first, overlap;
    double allreduces;
} timed_comm;

static timed_comm *timed_of(nn_comm *c) { return c->ctx; }

static nn_status tc_allreduce_f32(nn_comm *c, float *buf, size_t count, nn_error *err) {
    timed_comm *t = timed_of(c);
    t->allreduces++;
    return t->inner->ops->allreduce_f32(t->inner, buf, count, err);
}

static nn_status tc_allreduce_f64(nn_comm *c, double *buf, size_t count, nn_error *err) {
    timed_comm *t = timed_of(c);
    t->allreduces++;
    return t->inner->ops->allreduce_f64(t->inner, buf, count, err);
}

static nn_status tc_start(nn_comm *c, float *buf, size_t count, nn_comm_request **req,
                          nn_error *err) {
    timed_comm *t = timed_of(c);
    t->allreduces++;
    if (!t->started) t->t_first = nn_now(), t->started = 1;
    return t->inner->ops->start_allreduce_f32(t->inner, buf, count, req, err);
}

static nn_status tc_wait(nn_comm *c, nn_comm_request *req, nn_error *err) {
    timed_comm *t = timed_of(c);
    if (t->started) t->overlap += nn_now() - t->t_first, t->started = 0;
    return t->inner->ops->wait(t->inner, req, err);
}

static void tc_progress(nn_comm *c) {
    timed_comm *t = timed_of(c);
    if (t->inner->ops->progress) t->inner->ops->progress(t->inner);
}

static nn_status tc_broadcast(nn_comm *c, void *buf, size_t len, int root, nn_error *err) {
    timed_comm *t = timed_of(c);
    return t->inner->ops->broadcast(t->inner, buf, len, root, err);
}

static const nn_comm_ops TIMED_OPS = {
    .name = "timed",
    .allreduce_f32 = tc_allreduce_f32,
    .allreduce_f64 = tc_allreduce_f64,
    .start_allreduce_f32 = tc_start,
    .wait = tc_wait,
    .progress = tc_progress,
    .broadcast = tc_broadcast,
};

static void timed_init(timed_comm *t, nn_comm *inner) {
    memset(t, 0, sizeof *t);
    t->inner = inner;
    t->outer = *inner;
    t->outer.ops = &TIMED_OPS;
    t->outer.ctx = t;
}

/* --------------------------------------------------------- the point body */

/* The training settings of a point. */
static nn_train_config point_train_config(const scale_options *o, const point *pt,
                                          size_t features, size_t outputs) {
    nn_train_config tc = nn_train_config_default();
    tc.epochs = o->epochs;
    tc.lr = o->lr;
    tc.optimizer = o->optimizer;
    tc.batch = (size_t)scale_batch(o, pt);
    tc.seed = o->seed;
    tc.log_every = 0;
    tc.chunk_rows = experiment_chunk_rows(features, outputs);
    return tc;
}

/* Means over the ranks of v[0..n) (in place); collective. */
static nn_status rank_mean(nn_comm *comm, double *v, size_t n, nn_error *err) {
    if (!comm || comm->size == 1) return NN_OK;
    nn_status st = comm->ops->allreduce_f64(comm, v, n, err);
    for (size_t i = 0; i < n; i++) v[i] /= comm->size;
    return st;
}

/* The largest value of v over the ranks; collective. */
static double rank_max(nn_comm *comm, double v) {
    if (!comm || comm->size == 1) return v;
    double *all = calloc((size_t)comm->size, sizeof *all); /* (size) one slot per rank */
    nn_error err;
    if (!all) return v;
    all[comm->rank] = v;
    if (comm->ops->allreduce_f64(comm, all, (size_t)comm->size, &err) == NN_OK)
        for (int r = 0; r < comm->size; r++) v = all[r] > v ? all[r] : v;
    free(all);
    return v;
}

/* Warm-up runs, then timed repeats, each on a fresh model; leaves the last
 * model in *m. Every rank runs every step (collective with a comm). */
static nn_status train_repeats(const scale_options *o, point *pt, nn_backend *be,
                               const nn_model_config *mc, nn_train_config *tc,
                               const nn_source *train, timed_comm *timed,
                               const ranks_fault *fault, nn_model **m, nn_error *err) {
    nn_status st = NN_OK;
    nn_comm *comm = timed ? timed->inner : NULL;
    for (int r = -o->warmup; r < o->repeats && st == NN_OK; r++) {
        if (r == 0) ranks_fault_exit(fault);
        nn_model_free(*m);
        *m = NULL;
        st = nn_model_create(be, mc, m, err);
        if (comm) st = nn_comm_agree(comm, st, err);
        nn_source src = *train;
        if (r < 0 && src.n > SCALE_WARMUP_ROWS) src.n = SCALE_WARMUP_ROWS;
        nn_train_result res;
        if (timed) timed->overlap = timed->allreduces = 0, timed->started = 0;
        if (st == NN_OK) st = nn_train(*m, &src, tc, &res, err);
        if (st != NN_OK || r < 0) continue;
        double v[3] = {res.seconds, res.comm_seconds, timed ? timed->overlap : 0.0};
        st = rank_mean(comm, v, 3, err);
        pt->sec[r] = v[0];
        pt->sps[r] = v[0] > 0 ? (double)res.samples_seen / v[0] : 0.0;
        pt->comm[r] = v[1];
        pt->overlap[r] = v[2];
        pt->steps = res.steps;
        pt->allreduces_per_step = timed && res.steps ? timed->allreduces / (double)res.steps : 0;
        pt->comm_bytes_per_step = res.comm_bytes_per_step;
        pt->flops_per_sample = nn_model_flops_per_sample(*m, 1);
        pt->final_loss = res.final_loss;
    }
    return st;
}

void scale_point_train(const scale_options *o, point *pt, nn_comm *comm) {
    nn_error err;
    const int rank = comm ? comm->rank : 0;
    nn_data_spec spec = scale_point_spec(o, pt);
    const uint64_t n = spec.samples;
    const uint64_t n_heldout = (uint64_t)((double)n * o->test_fraction + 0.5);
    const uint64_t n_train = n - n_heldout;
    const uint64_t n_test = n_heldout > SCALE_TEST_ROWS_MAX ? SCALE_TEST_ROWS_MAX : n_heldout;
    nn_generator_source train_gen = {spec, 0}, test_gen = {spec, n_train};
    nn_source train = nn_source_from_generator(&train_gen, n_train);
    nn_source test = nn_source_from_generator(&test_gen, n_test);
    ranks_fault fault;
    ranks_fault_apply(&fault, rank, &train);
    char dev[32];
    nn_backend_config bc = {scale_threads_per_rank(pt),
                            ranks_device(pt->backend, o->device, dev, sizeof dev), 0};
    nn_backend *be = NULL;
    nn_status st = nn_backend_open(pt->backend, &bc, &be, &err);
    if (comm) st = nn_comm_agree(comm, st, &err);
    nn_model *m = NULL;
    if (st == NN_OK) {
        snprintf(pt->ran_backend, sizeof pt->ran_backend, "%s", nn_backend_name(be));
        snprintf(pt->device, sizeof pt->device, "%s", nn_backend_device(be));
        pt->threads_used = nn_backend_threads(be);
        nn_model_config mc;
        scale_point_model(o, pt, train.features, train.classes, &mc);
        nn_train_config tc = point_train_config(o, pt, train.features, mc.sizes[mc.n_sizes - 1]);
        timed_comm timed;
        if (comm && comm->size > 1) {
            timed_init(&timed, comm);
            tc.comm = &timed.outer;
        }
        st = train_repeats(o, pt, be, &mc, &tc, &train, comm && comm->size > 1 ? &timed : NULL,
                           &fault, &m, &err);
    }
    /* every status so far is the same on all ranks; the test rows are rank 0's */
    nn_eval ev = {0, -1};
    if (st == NN_OK) {
        if (test.n && rank == 0) st = nn_model_evaluate_source(m, &test, &ev, &err);
        if (comm) st = nn_comm_agree(comm, st, &err);
    }
    if (st != NN_OK) snprintf(pt->error, sizeof pt->error, "%.255s", err.msg);
    else pt->ok = 1;
    pt->test_accuracy = ev.accuracy;
    pt->test_rows = test.n;
    pt->peak_rss_mb = rank_max(comm, nn_peak_rss_mb());
    pt->ranks_per_node = (int)rank_max(comm, comm ? comm->local_size : 1);
    nn_model_free(m);
    nn_backend_close(be);
}

/* ------------------------------------------------- one rank: a forked child */

/* In the child: run the point and write it whole to fd; never returns. */
static void child(const scale_options *o, point *pt, int fd) {
    signal(SIGINT, SIG_DFL);
    scale_point_train(o, pt, NULL);
    const char *p = (const char *)pt;
    size_t left = sizeof *pt;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w <= 0) _exit(1);
        p += w, left -= (size_t)w;
    }
    _exit(0);
}

static int run_forked(const scale_options *o, point *pt) {
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

/* ------------------------------------------- several ranks: the launcher */

/* One line from the launcher's messages that says why a job failed: a line
 * of nnbench's, else Open MPI's "process rank R ... exited on signal" or its
 * "Process name: [[job,1],R]" + "Exit code: C" pair, else the first line
 * mentioning an exit, a signal or an error. */
static void failure_line(const char *log_path, char *out, size_t len) {
    out[0] = '\0';
    FILE *f = fopen(log_path, "r");
    if (!f) return;
    char line[512], ours[512] = "", rank_line[512] = "", fallback[512] = "";
    long rank = -1, code = -1;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *s = line;
        while (*s == ' ' || *s == '\t') s++;
        const char *at;
        if (!ours[0] && strstr(s, "nnbench")) snprintf(ours, sizeof ours, "%.*s", 500, s);
        if (!rank_line[0] && strstr(s, "process rank"))
            snprintf(rank_line, sizeof rank_line, "%.*s", 500, s);
        if (strncmp(s, "Process name:", 13) == 0 && (at = strrchr(s, ',')))
            rank = strtol(at + 1, NULL, 10);
        if (strncmp(s, "Exit code:", 10) == 0) code = strtol(s + 10, NULL, 10);
        if (!fallback[0] && (strstr(s, "exit") || strstr(s, "signal") || strstr(s, "rror")))
            snprintf(fallback, sizeof fallback, "%.*s", 500, s);
    }
    fclose(f);
    if (ours[0]) snprintf(out, len, "%.*s", (int)len - 1, ours);
    else if (rank_line[0]) snprintf(out, len, "%.*s", (int)len - 1, rank_line);
    else if (rank >= 0 && code >= 0) snprintf(out, len, "rank %ld exited with code %ld", rank, code);
    else snprintf(out, len, "%.*s", (int)len - 1, fallback);
}

/* Forward the ranks' warnings (not the launcher's banners) to stderr. */
static void forward_warnings(const char *log_path) {
    FILE *f = fopen(log_path, "r");
    if (!f) return;
    char line[1024];
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "nnbench: warning:", 17) == 0) fputs(line, stderr);
    fclose(f);
}

/* Exec the launcher in a child with stdout to /dev/null, stderr to log_path;
 * `yield`: ranks waiting in Open MPI yield the core instead of spinning
 * (unless the caller's environment says otherwise). Returns the wait
 * status, or -1. */
static int launch(const scale_launcher *l, char **args, const char *log_path, int yield) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        signal(SIGINT, SIG_DFL);
        int null = open("/dev/null", O_WRONLY), log = open(log_path, O_WRONLY | O_CREAT, 0600);
        if (null >= 0) dup2(null, STDOUT_FILENO);
        if (log >= 0) dup2(log, STDERR_FILENO);
        /* Open MPI refuses root without these; other launchers ignore them */
        setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
        setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
        if (yield && l->kind == LAUNCHER_OPENMPI) setenv("OMPI_MCA_mpi_yield_when_idle", "1", 0);
        execv(l->path, args);
        _exit(127);
    }
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0)
        if (errno != EINTR) return -1;
    return ws;
}

/* Read the point rank 0 wrote; keeps pt's settings. 0, or -1 when absent. */
static int read_result(const char *path, point *pt) {
    point got;
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t n = fread(&got, 1, sizeof got, f);
    fclose(f);
    if (n != sizeof got) return -1;
    got.backend = pt->backend;
    memcpy(got.p, pt->p, sizeof got.p);
    got.oversubscribed = pt->oversubscribed;
    *pt = got;
    return 0;
}

static int run_launched(const scale_options *o, point *pt) {
    static scale_launcher l;
    if (!l.path[0] && scale_launcher_find(o, &l) != EXIT_OK) return -1;
    char self[PATH_MAX];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sl <= 0) return -1;
    self[sl] = '\0';
    const char *tmp = getenv("TMPDIR");
    char dir[PATH_MAX], result[PATH_MAX + 16], log[PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/nnbench-point.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) return -1;
    snprintf(result, sizeof result, "%s/result", dir);
    snprintf(log, sizeof log, "%s/launcher.log", dir);
    char *args[96], store[16384];
    int ws = -1;
    if (scale_launch_args(o, pt, &l, self, result, args, 96, store, sizeof store) > 0)
        ws = launch(&l, args, log, scale_fills_cores(pt));
    if (ws == -1) {
        rmdir(dir);
        return -1;
    }
    if (read_result(result, pt) != 0) {
        char why[200];
        failure_line(log, why, sizeof why);
        const char *name = strrchr(l.path, '/') ? strrchr(l.path, '/') + 1 : l.path;
        pt->ok = 0;
        if (WIFSIGNALED(ws))
            snprintf(pt->error, sizeof pt->error, "%.20s killed by %.20s%s%s", name,
                     strsignal(WTERMSIG(ws)), why[0] ? ": " : "", why);
        else
            snprintf(pt->error, sizeof pt->error, "%.20s exit %d%s%s", name, WEXITSTATUS(ws),
                     why[0] ? ": " : "", why);
    } else {
        forward_warnings(log);
    }
    unlink(result);
    unlink(log);
    rmdir(dir);
    return 0;
}

/* Threads of all ranks of a point (a rank of 0 threads uses every core). */
static double point_threads(const point *pt) {
    const long cores = sysconf(_SC_NPROCESSORS_ONLN);
    const int t = scale_threads_per_rank(pt);
    return (double)pt->p[AX_RANKS] * (t > 0 ? t : cores);
}

int scale_fills_cores(const point *pt) {
    const long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores > 0 && point_threads(pt) >= (double)cores;
}

int scale_run_point(const scale_options *o, point *pt) {
    const long cores = sysconf(_SC_NPROCESSORS_ONLN);
    pt->oversubscribed = cores > 0 && point_threads(pt) > (double)cores;
    return pt->p[AX_RANKS] > 1 ? run_launched(o, pt) : run_forked(o, pt);
}
