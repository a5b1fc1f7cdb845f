/* cmd_scale.c — `nnbench scale`: sweeps of samples, features, hidden width,
 * depth, batch, threads and backend on streamed synthetic data. Each point
 * runs in a child process (warm-up, then timed repeats) so that its peak
 * memory is its own; rows are printed and written (CSV, JSON) as they finish,
 * and charts are drawn at the end (also after Ctrl-C). */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chart.h"
#include "experiment.h"

#define MAX_VALUES 32
#define MAX_REPEATS 50
#define MAX_POINTS 4096
#define TEST_ROWS_MAX ((uint64_t)100000)
#define WARMUP_ROWS ((uint64_t)65536)

/* One swept axis: its values in the order given. */
typedef struct axis_values {
    const char *name; /* option name without dashes */
    size_t n;
    uint64_t v[MAX_VALUES];
} axis_values;

enum { AX_SAMPLES, AX_FEATURES, AX_HIDDEN, AX_DEPTH, AX_BATCH, AX_THREADS, N_AXES };

typedef struct scale_options {
    axis_values ax[N_AXES];
    size_t n_backends;
    const char *backends[4];
    nn_data_spec spec;
    int epochs, repeats, warmup;
    nn_optimizer optimizer;
    double lr;
    double test_fraction;
    uint64_t seed;
    const char *out_dir;
    const char *device;
} scale_options;

/* One point of the sweep and what its child measured. */
typedef struct point {
    const char *backend;
    uint64_t p[N_AXES];
    /* results */
    int ok;
    char ran_backend[16];
    char device[128];
    int threads_used;
    double sec[MAX_REPEATS], sps[MAX_REPEATS];
    double flops_per_sample, final_loss, test_accuracy, peak_rss_mb;
    uint64_t test_rows;
    char error[256];
} point;

static volatile sig_atomic_t interrupted;
static void on_sigint(int sig) {
    (void)sig;
    interrupted = 1;
}

static void usage(FILE *f) {
    fprintf(f,
"usage: nnbench scale [options]\n"
"Sweeps the Cartesian product of the given lists (comma-separated) on a streamed\n"
"synthetic dataset; every point: warm-up, then timed repeats (median, min, max).\n"
"  --backend LIST     cpu,opencl                            (default cpu)\n"
"  --samples LIST     training+test samples, e.g. 1e4,1e6,100M (default 1e5)\n"
"  --features LIST    input dimension                       (default 16)\n"
"  --hidden LIST      width of every hidden layer           (default 64)\n"
"  --depth LIST       number of hidden layers               (default 2)\n"
"  --batch LIST       rows per step                         (default 256)\n"
"  --threads LIST     CPU threads, 0 = all cores            (default 0)\n"
"  --dataset NAME     teacher | circles | moons | xor | spirals | blobs (default teacher)\n"
"  --classes K        classes (teacher, spirals, blobs)     (default 2)\n"
"  --epochs N         epochs per run                        (default 1)\n"
"  --optimizer NAME   sgd | momentum | adam                 (default sgd)\n"
"  --lr X             learning rate                         (default 0.05)\n"
"  --repeats N        timed runs per point                  (default 3)\n"
"  --warmup N         untimed runs on %llu rows first       (default 1)\n"
"  --test-fraction F  share held out (at most %llu rows scored) (default 0.01)\n"
"  --seed N           (default 42)\n"
"  --device N|NAME    OpenCL device\n"
"  --out DIR          results folder: scale.csv, scale.json, charts (default scale-results)\n",
            (unsigned long long)WARMUP_ROWS, (unsigned long long)TEST_ROWS_MAX);
}

/* Parse "a,b,c" of counts into an axis; each value in [min, max]. */
static int parse_list(const char *opt, const char *s, uint64_t min, uint64_t max, axis_values *a) {
    char buf[1024];
    if (strlen(s) >= sizeof buf) return cli_usage_error("%s: list too long", opt);
    strcpy(buf, s);
    a->n = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (a->n == MAX_VALUES) return cli_usage_error("%s: at most %d values", opt, MAX_VALUES);
        if (cli_parse_count(opt, tok, min, max, &a->v[a->n])) return EXIT_USAGE;
        a->n++;
    }
    if (a->n == 0 || s[strlen(s) - 1] == ',' || s[0] == ',' || strstr(s, ",,"))
        return cli_usage_error("%s: expected a comma-separated list, got '%s'", opt, s);
    return EXIT_OK;
}

static int parse(int argc, char **argv, scale_options *o) {
    static const char *const names[N_AXES] = {"samples", "features", "hidden", "depth", "batch", "threads"};
    static const uint64_t defaults[N_AXES] = {100000, 16, 64, 2, 256, 0};
    memset(o, 0, sizeof *o);
    for (int a = 0; a < N_AXES; a++) o->ax[a] = (axis_values){names[a], 1, {defaults[a]}};
    o->backends[0] = "cpu";
    o->n_backends = 1;
    o->spec = nn_data_spec_default(NN_DATA_TEACHER);
    o->spec.classes = 2;
    o->epochs = 1;
    o->repeats = 3;
    o->warmup = 1;
    o->optimizer = NN_OPT_SGD;
    o->lr = 0.05;
    o->test_fraction = 0.01;
    o->seed = 42;
    o->out_dir = "scale-results";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        long l;
        double d;
        uint64_t u;
        nn_error err;
#define VALUE(n) if (!(v = cli_value(argc, argv, &i, n))) return EXIT_USAGE
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return -1;
        } else if (cli_is(a, "--backend")) {
            VALUE("--backend");
            static char buf[256];
            snprintf(buf, sizeof buf, "%s", v);
            o->n_backends = 0;
            for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                if (strcmp(t, "cpu") && strcmp(t, "opencl"))
                    return cli_usage_error("--backend: expected cpu or opencl in the list, got '%s'", t);
                if (o->n_backends == 4) return cli_usage_error("--backend: at most 4 values");
                o->backends[o->n_backends++] = t;
            }
            if (o->n_backends == 0) return cli_usage_error("--backend: empty list");
        } else if (cli_is(a, "--samples")) {
            VALUE("--samples");
            if (parse_list("--samples", v, 100, (uint64_t)1e12, &o->ax[AX_SAMPLES])) return EXIT_USAGE;
        } else if (cli_is(a, "--features")) {
            VALUE("--features");
            if (parse_list("--features", v, 1, 4096, &o->ax[AX_FEATURES])) return EXIT_USAGE;
        } else if (cli_is(a, "--hidden")) {
            VALUE("--hidden");
            if (parse_list("--hidden", v, 1, 16384, &o->ax[AX_HIDDEN])) return EXIT_USAGE;
        } else if (cli_is(a, "--depth")) {
            VALUE("--depth");
            if (parse_list("--depth", v, 1, NN_MAX_LAYERS - 1, &o->ax[AX_DEPTH])) return EXIT_USAGE;
        } else if (cli_is(a, "--batch")) {
            VALUE("--batch");
            if (parse_list("--batch", v, 1, 1 << 20, &o->ax[AX_BATCH])) return EXIT_USAGE;
        } else if (cli_is(a, "--threads")) {
            VALUE("--threads");
            if (parse_list("--threads", v, 0, 1024, &o->ax[AX_THREADS])) return EXIT_USAGE;
        } else if (cli_is(a, "--dataset")) {
            VALUE("--dataset");
            nn_data_kind k;
            if (nn_data_kind_parse(v, &k, &err) != NN_OK) return cli_usage_error("--dataset: %s", err.msg);
            size_t classes = o->spec.classes;
            o->spec = nn_data_spec_default(k);
            o->spec.classes = classes;
        } else if (cli_is(a, "--classes")) {
            VALUE("--classes");
            if (cli_parse_long("--classes", v, 2, 1024, &l)) return EXIT_USAGE;
            o->spec.classes = (size_t)l;
        } else if (cli_is(a, "--epochs")) {
            VALUE("--epochs");
            if (cli_parse_long("--epochs", v, 1, 1000000, &l)) return EXIT_USAGE;
            o->epochs = (int)l;
        } else if (cli_is(a, "--repeats")) {
            VALUE("--repeats");
            if (cli_parse_long("--repeats", v, 1, MAX_REPEATS, &l)) return EXIT_USAGE;
            o->repeats = (int)l;
        } else if (cli_is(a, "--warmup")) {
            VALUE("--warmup");
            if (cli_parse_long("--warmup", v, 0, 10, &l)) return EXIT_USAGE;
            o->warmup = (int)l;
        } else if (cli_is(a, "--optimizer")) {
            VALUE("--optimizer");
            if (nn_optimizer_parse(v, &o->optimizer, &err) != NN_OK)
                return cli_usage_error("--optimizer: %s", err.msg);
        } else if (cli_is(a, "--lr")) {
            VALUE("--lr");
            if (cli_parse_double("--lr", v, 1e-12, 1e6, &d)) return EXIT_USAGE;
            o->lr = d;
        } else if (cli_is(a, "--test-fraction")) {
            VALUE("--test-fraction");
            if (cli_parse_double("--test-fraction", v, 0, 0.5, &d)) return EXIT_USAGE;
            o->test_fraction = d;
        } else if (cli_is(a, "--seed")) {
            VALUE("--seed");
            if (cli_parse_count("--seed", v, 0, UINT64_MAX >> 11, &u)) return EXIT_USAGE;
            o->seed = u;
        } else if (cli_is(a, "--device")) {
            VALUE("--device");
            o->device = v;
        } else if (cli_is(a, "--out")) {
            VALUE("--out");
            o->out_dir = v;
        } else {
            return cli_usage_error("scale: unknown option '%s' (see nnbench scale --help)", a);
        }
#undef VALUE
    }
    o->spec.seed = o->seed;
    return EXIT_OK;
}

/* Model of a point: features -> depth x hidden -> outputs. */
static void point_model(const scale_options *o, const point *pt, size_t features, size_t classes,
                        nn_model_config *m) {
    memset(m, 0, sizeof *m);
    m->n_sizes = (size_t)pt->p[AX_DEPTH] + 2;
    m->sizes[0] = features;
    for (size_t i = 1; i + 1 < m->n_sizes; i++) m->sizes[i] = (size_t)pt->p[AX_HIDDEN];
    m->loss = classes > 2 ? NN_LOSS_CE : NN_LOSS_BCE;
    m->sizes[m->n_sizes - 1] = classes > 2 ? classes : 1;
    m->hidden = NN_ACT_RELU;
    m->seed = o->seed;
}

static nn_data_spec point_spec(const scale_options *o, const point *pt) {
    nn_data_spec s = o->spec;
    s.features = (size_t)pt->p[AX_FEATURES];
    s.samples = (size_t)pt->p[AX_SAMPLES];
    return s;
}

/* Runs in the child: warm-up and timed repeats of one point; fills pt. */
static void run_point_child(const scale_options *o, point *pt) {
    nn_error err;
    nn_data_spec spec = point_spec(o, pt);
    uint64_t n = pt->p[AX_SAMPLES];
    uint64_t n_test = (uint64_t)((double)n * o->test_fraction + 0.5);
    uint64_t n_train = n - n_test;
    if (n_test > TEST_ROWS_MAX) n_test = TEST_ROWS_MAX;
    nn_generator_source train_gen = {spec, 0}, test_gen = {spec, n - (uint64_t)((double)n * o->test_fraction + 0.5)};
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
    point_model(o, pt, train.features, train.classes, &mc);
    nn_train_config tc = nn_train_config_default();
    tc.epochs = o->epochs;
    tc.lr = o->lr;
    tc.optimizer = o->optimizer;
    tc.batch = (size_t)pt->p[AX_BATCH];
    tc.seed = o->seed;
    tc.log_every = 0;
    tc.chunk_rows = experiment_chunk_rows(train.features, mc.sizes[mc.n_sizes - 1]);
    nn_model *m = NULL;
    nn_status st = NN_OK;
    for (int r = -o->warmup; r < o->repeats && st == NN_OK; r++) {
        nn_model_free(m);
        m = NULL;
        st = nn_model_create(be, &mc, &m, &err);
        nn_source src = train;
        if (r < 0 && src.n > WARMUP_ROWS) src.n = WARMUP_ROWS;
        nn_train_result res;
        if (st == NN_OK) st = nn_train(m, &src, &tc, &res, &err);
        if (st == NN_OK && r >= 0) {
            pt->sec[r] = res.seconds;
            pt->sps[r] = res.samples_per_second;
            pt->flops_per_sample = nn_model_flops_per_sample(m, 1);
            pt->final_loss = res.final_loss;
        }
    }
    nn_eval ev = {0, -1};
    if (st == NN_OK && test.n) st = nn_model_evaluate_source(m, &test, &ev, &err);
    if (st != NN_OK) snprintf(pt->error, sizeof pt->error, "%.255s", err.msg);
    else pt->ok = 1;
    pt->test_accuracy = ev.accuracy;
    pt->test_rows = test.n;
    nn_model_free(m);
    nn_backend_close(be);
}

/* Run one point in a child process; its peak RSS is the child's. */
static int run_point(const scale_options *o, point *pt) {
    int fd[2];
    if (pipe(fd) != 0) return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        close(fd[0]);
        signal(SIGINT, SIG_DFL);
        run_point_child(o, pt);
        const char *p = (const char *)pt;
        size_t left = sizeof *pt;
        while (left) {
            ssize_t w = write(fd[1], p, left);
            if (w <= 0) _exit(1);
            p += w, left -= (size_t)w;
        }
        _exit(0);
    }
    close(fd[1]);
    point got;
    char *p = (char *)&got;
    size_t have = 0;
    ssize_t r;
    while (have < sizeof got && ((r = read(fd[0], p + have, sizeof got - have)) > 0 || (r < 0 && errno == EINTR)))
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

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median, min and max of v[0..n). */
static void stats(const double *v, int n, double *med, double *mn, double *mx) {
    double s[MAX_REPEATS];
    memcpy(s, v, (size_t)n * sizeof(double));
    qsort(s, (size_t)n, sizeof(double), cmp_double);
    *mn = s[0];
    *mx = s[n - 1];
    *med = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

static const char *const CSV_HEADER =
    "backend,device,threads,samples,features,hidden,depth,batch,classes,epochs,optimizer,lr,"
    "repeats,seconds_median,seconds_min,seconds_max,samples_per_second_median,"
    "samples_per_second_min,samples_per_second_max,gflops_median,peak_rss_mb,final_loss,"
    "test_accuracy,test_samples,status\n";

static void csv_row(FILE *f, const scale_options *o, const point *pt) {
    double sm = NAN, s0 = NAN, s1 = NAN, rm = NAN, r0 = NAN, r1 = NAN;
    if (pt->ok) {
        stats(pt->sec, o->repeats, &sm, &s0, &s1);
        stats(pt->sps, o->repeats, &rm, &r0, &r1);
    }
    char status[300];
    snprintf(status, sizeof status, "%s", pt->ok ? "ok" : pt->error);
    for (char *c = status; *c; c++)
        if (*c == ',' || *c == '"' || *c == '\n') *c = ' ';
    char device[128];
    snprintf(device, sizeof device, "%s", pt->device);
    for (char *c = device; *c; c++)
        if (*c == ',' || *c == '"') *c = ' ';
    fprintf(f, "%s,%s,%d,%llu,%llu,%llu,%llu,%llu,%zu,%d,%s,%g,%d,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,"
               "%.4g,%.1f,%.6g,%.6g,%llu,%s\n",
            pt->ran_backend[0] ? pt->ran_backend : pt->backend, device, pt->threads_used,
            (unsigned long long)pt->p[AX_SAMPLES], (unsigned long long)pt->p[AX_FEATURES],
            (unsigned long long)pt->p[AX_HIDDEN], (unsigned long long)pt->p[AX_DEPTH],
            (unsigned long long)pt->p[AX_BATCH], o->spec.classes, o->epochs,
            nn_optimizer_name(o->optimizer), o->lr, o->repeats, sm, s0, s1, rm, r0, r1,
            rm * pt->flops_per_sample / 1e9, pt->peak_rss_mb, pt->final_loss, pt->test_accuracy,
            (unsigned long long)pt->test_rows, status);
    fflush(f);
}

static void json_point(json_writer *w, const scale_options *o, const point *pt) {
    double sm = NAN, s0 = NAN, s1 = NAN, rm = NAN, r0 = NAN, r1 = NAN;
    if (pt->ok) {
        stats(pt->sec, o->repeats, &sm, &s0, &s1);
        stats(pt->sps, o->repeats, &rm, &r0, &r1);
    }
    json_begin_object(w);
    json_key_string(w, "backend", pt->ran_backend[0] ? pt->ran_backend : pt->backend);
    json_key_string(w, "device", pt->device);
    json_key_int(w, "threads", pt->threads_used);
    json_key_int(w, "samples", (long long)pt->p[AX_SAMPLES]);
    json_key_int(w, "features", (long long)pt->p[AX_FEATURES]);
    json_key_int(w, "hidden", (long long)pt->p[AX_HIDDEN]);
    json_key_int(w, "depth", (long long)pt->p[AX_DEPTH]);
    json_key_int(w, "batch", (long long)pt->p[AX_BATCH]);
    json_key_int(w, "classes", (long long)o->spec.classes);
    json_key_string(w, "dataset", nn_data_kind_name(o->spec.kind));
    json_key_int(w, "epochs", o->epochs);
    json_key_string(w, "optimizer", nn_optimizer_name(o->optimizer));
    json_key_number(w, "lr", o->lr);
    json_key_int(w, "repeats", o->repeats);
    json_key_number(w, "seconds_median", sm);
    json_key_number(w, "seconds_min", s0);
    json_key_number(w, "seconds_max", s1);
    json_key_number(w, "samples_per_second_median", rm);
    json_key_number(w, "samples_per_second_min", r0);
    json_key_number(w, "samples_per_second_max", r1);
    json_key_number(w, "gflops_median", rm * pt->flops_per_sample / 1e9);
    json_key_number(w, "peak_rss_mb", pt->peak_rss_mb);
    json_key_number(w, "final_loss", pt->ok ? pt->final_loss : NAN);
    json_key_number(w, "test_accuracy", pt->ok && pt->test_accuracy >= 0 ? pt->test_accuracy : NAN);
    json_key_int(w, "test_samples", (long long)pt->test_rows);
    json_key_string(w, "status", pt->ok ? "ok" : pt->error);
    json_end_object(w);
}

/* Rewrite scale.json with every finished point (valid JSON after each point). */
static void write_json(const char *path, const scale_options *o, const point *pts, size_t n) {
    FILE *f = fopen(path, "w");
    if (!f) {
        cli_warn("cannot write %s", path);
        return;
    }
    json_writer w = {f, 0, {0}};
    fputc('[', f);
    w.depth = 1;
    for (size_t i = 0; i < n; i++) json_point(&w, o, &pts[i]);
    fputs("\n]\n", f);
    if (fclose(f) != 0) cli_warn("cannot write %s", path);
}

static double median_sps(const scale_options *o, const point *pt) {
    double m, a, b;
    if (!pt->ok) return NAN;
    stats(pt->sps, o->repeats, &m, &a, &b);
    return m;
}

/* Label of a series: every varying parameter except `axis`. */
static void series_label(const scale_options *o, const point *pt, int axis, char *buf, size_t len) {
    size_t used = (size_t)snprintf(buf, len, "%s", pt->ran_backend[0] ? pt->ran_backend : pt->backend);
    for (int a = 0; a < N_AXES && used < len; a++)
        if (a != axis && o->ax[a].n > 1)
            used += (size_t)snprintf(buf + used, len - used, " %s=%llu", o->ax[a].name,
                                     (unsigned long long)pt->p[a]);
}

/* Charts: throughput against each swept axis; speedup against threads. */
static void write_charts(const scale_options *o, const point *pts, size_t n, FILE *log) {
    static chart_series series[64];
    char path[1024], title[256], xlabel[64];
    for (int axis = 0; axis < N_AXES; axis++) {
        if (o->ax[axis].n < 2) continue;
        for (int speedup = 0; speedup < 2; speedup++) {
            if (speedup && axis != AX_THREADS) continue;
            size_t ns = 0;
            for (size_t i = 0; i < n; i++) {
                char label[128];
                series_label(o, &pts[i], axis, label, sizeof label);
                size_t s = 0;
                while (s < ns && strcmp(series[s].label, label) != 0) s++;
                if (s == ns) {
                    if (ns == 64) continue;
                    memset(&series[ns], 0, sizeof series[ns]);
                    snprintf(series[ns].label, sizeof series[ns].label, "%s", label);
                    ns++;
                }
                chart_series *se = &series[s];
                if (se->n < CHART_MAX_POINTS && pts[i].ok) {
                    se->x[se->n] = axis == AX_THREADS ? pts[i].threads_used : (double)pts[i].p[axis];
                    se->y[se->n] = median_sps(o, &pts[i]);
                    se->n++;
                }
            }
            for (size_t s = 0; s < ns; s++) chart_sort_series(&series[s]);
            if (speedup)
                for (size_t s = 0; s < ns; s++) {
                    double base = NAN, xmin = INFINITY;
                    for (size_t i = 0; i < series[s].n; i++)
                        if (series[s].x[i] < xmin) xmin = series[s].x[i], base = series[s].y[i];
                    for (size_t i = 0; i < series[s].n; i++) series[s].y[i] /= base;
                }
            snprintf(xlabel, sizeof xlabel, "%s", axis == AX_SAMPLES ? "samples" : o->ax[axis].name);
            if (speedup) {
                snprintf(title, sizeof title, "Speedup against threads (%s)", nn_data_kind_name(o->spec.kind));
                snprintf(path, sizeof path, "%s/speedup_vs_threads.svg", o->out_dir);
            } else {
                snprintf(title, sizeof title, "Training throughput against %s (%s)", xlabel,
                         nn_data_kind_name(o->spec.kind));
                snprintf(path, sizeof path, "%s/throughput_vs_%s.svg", o->out_dir, o->ax[axis].name);
            }
            chart c = {title, xlabel, speedup ? "speedup over the fewest threads" : "samples/s",
                       series, ns, speedup};
            if (chart_write_svg(path, &c) == 0) fprintf(log, "chart: %s\n", path);
            else cli_warn("cannot write %s", path);
        }
    }
}

int cmd_scale(int argc, char **argv) {
    scale_options o;
    int rc = parse(argc, argv, &o);
    if (rc < 0) return EXIT_OK;
    if (rc != EXIT_OK) return rc;

    /* Every point, validated before anything runs. */
    size_t total = o.n_backends;
    for (int a = 0; a < N_AXES; a++) total *= o.ax[a].n;
    if (total > MAX_POINTS) return cli_usage_error("scale: %zu points; at most %d", total, MAX_POINTS);
    point *pts = calloc(total, sizeof *pts);
    if (!pts) return cli_usage_error("scale: out of memory");
    size_t k = 0;
    size_t idx[N_AXES] = {0};
    for (size_t b = 0; b < o.n_backends; b++) {
        memset(idx, 0, sizeof idx);
        for (;;) {
            point *pt = &pts[k++];
            pt->backend = o.backends[b];
            for (int a = 0; a < N_AXES; a++) pt->p[a] = o.ax[a].v[idx[a]];
            int a = N_AXES - 1;
            while (a >= 0 && ++idx[a] == o.ax[a].n) idx[a--] = 0;
            if (a < 0) break;
        }
    }
    for (size_t i = 0; i < total; i++) {
        nn_error err;
        nn_data_spec spec = point_spec(&o, &pts[i]);
        static float x[4096];
        float y[1];
        if (nn_data_generate_range(&spec, 0, 1, x, y, &err) != NN_OK) {
            free(pts);
            return cli_usage_error("--dataset %s: %s", nn_data_kind_name(spec.kind), err.msg);
        }
        uint64_t n_test = (uint64_t)((double)pts[i].p[AX_SAMPLES] * o.test_fraction + 0.5);
        if (pts[i].p[AX_SAMPLES] - n_test < pts[i].p[AX_BATCH]) {
            rc = cli_usage_error("--batch: %llu is larger than the %llu training samples of a point",
                                 (unsigned long long)pts[i].p[AX_BATCH],
                                 (unsigned long long)(pts[i].p[AX_SAMPLES] - n_test));
            free(pts);
            return rc;
        }
        double params = (double)pts[i].p[AX_HIDDEN] * ((double)pts[i].p[AX_FEATURES] +
                        (double)pts[i].p[AX_HIDDEN] * (double)(pts[i].p[AX_DEPTH] - 1) + 16.0);
        double acts = (double)pts[i].p[AX_BATCH] * (double)pts[i].p[AX_HIDDEN] * (double)pts[i].p[AX_DEPTH];
        if (cli_check_memory("--hidden/--depth/--batch", 16.0 * params + 16.0 * acts,
                             "the largest network's parameters and activations")) {
            free(pts);
            return EXIT_USAGE;
        }
    }
    if (mkdir(o.out_dir, 0777) != 0 && errno != EEXIST) {
        free(pts);
        return cli_usage_error("--out: cannot create '%s': %s", o.out_dir, strerror(errno));
    }
    char csv_path[1024], json_path[1024];
    snprintf(csv_path, sizeof csv_path, "%s/scale.csv", o.out_dir);
    snprintf(json_path, sizeof json_path, "%s/scale.json", o.out_dir);
    FILE *csv = fopen(csv_path, "w");
    if (!csv) {
        free(pts);
        return cli_usage_error("--out: cannot write '%s'", csv_path);
    }
    fputs(CSV_HEADER, csv);
    fflush(csv);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);
    int tty = isatty(STDERR_FILENO);
    printf("nnbench scale: %zu points, dataset %s (streamed), %d epoch%s, %s lr %g, %d warm-up + "
           "%d timed runs each\n", total, nn_data_kind_name(o.spec.kind), o.epochs,
           o.epochs == 1 ? "" : "s", nn_optimizer_name(o.optimizer), o.lr, o.warmup, o.repeats);
    printf("%-7s %7s %10s %8s %6s %5s %6s %10s %12s %23s %8s %8s %8s %8s\n", "backend", "threads",
           "samples", "features", "hidden", "depth", "batch", "time_s", "samples/s",
           "[min - max]", "GFLOP/s", "peak_MB", "loss", "test_acc");
    fflush(stdout);
    size_t done = 0;
    int failures = 0;
    for (; done < total && !interrupted; done++) {
        point *pt = &pts[done];
        if (tty)
            fprintf(stderr, "\r\033[K[%zu/%zu] %s threads=%llu samples=%llu hidden=%llu depth=%llu "
                            "batch=%llu ...", done + 1, total, pt->backend,
                    (unsigned long long)pt->p[AX_THREADS], (unsigned long long)pt->p[AX_SAMPLES],
                    (unsigned long long)pt->p[AX_HIDDEN], (unsigned long long)pt->p[AX_DEPTH],
                    (unsigned long long)pt->p[AX_BATCH]);
        if (run_point(&o, pt) != 0) snprintf(pt->error, sizeof pt->error, "cannot start a run");
        if (interrupted && !pt->ok) break; /* a point that finished is kept */
        if (tty) fprintf(stderr, "\r\033[K");
        if (pt->ok) {
            double sm, s0, s1, rm, r0, r1;
            stats(pt->sec, o.repeats, &sm, &s0, &s1);
            stats(pt->sps, o.repeats, &rm, &r0, &r1);
            printf("%-7s %7d %10llu %8llu %6llu %5llu %6llu %10.3f %12.0f [%10.0f - %10.0f] %8.2f "
                   "%8.1f %8.4f %8.4f\n", pt->ran_backend, pt->threads_used,
                   (unsigned long long)pt->p[AX_SAMPLES], (unsigned long long)pt->p[AX_FEATURES],
                   (unsigned long long)pt->p[AX_HIDDEN], (unsigned long long)pt->p[AX_DEPTH],
                   (unsigned long long)pt->p[AX_BATCH], sm, rm, r0, r1, rm * pt->flops_per_sample / 1e9,
                   pt->peak_rss_mb, pt->final_loss, pt->test_accuracy);
        } else {
            failures++;
            printf("%-7s %7llu %10llu %8llu %6llu %5llu %6llu  FAILED: %s\n", pt->backend,
                   (unsigned long long)pt->p[AX_THREADS], (unsigned long long)pt->p[AX_SAMPLES],
                   (unsigned long long)pt->p[AX_FEATURES], (unsigned long long)pt->p[AX_HIDDEN],
                   (unsigned long long)pt->p[AX_DEPTH], (unsigned long long)pt->p[AX_BATCH],
                   pt->error);
        }
        fflush(stdout);
        csv_row(csv, &o, pt);
        write_json(json_path, &o, pts, done + 1);
        if (interrupted) {
            done++;
            break;
        }
    }
    fclose(csv);
    if (tty) fprintf(stderr, "\r\033[K");
    printf("results: %s, %s (%zu of %zu points)\n", csv_path, json_path, done, total);
    write_charts(&o, pts, done, stdout);
    free(pts);
    if (interrupted) {
        fprintf(stderr, "nnbench: scale interrupted; the %zu finished points are kept\n", done);
        return 130;
    }
    return failures ? EXIT_FAIL : EXIT_OK;
}
