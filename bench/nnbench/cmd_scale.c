/* cmd_scale.c — `nnbench scale`: sweeps of samples, features, hidden width,
 * depth, batch, threads and backend on streamed synthetic data. The sweep is:
 * enumerate the points, validate every one before anything runs, run each in
 * a child process (scale_run.c), and report rows as they finish (CSV, JSON)
 * and charts at the end, also after Ctrl-C (scale_report.c). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "scale.h"

static volatile sig_atomic_t interrupted;
static void on_sigint(int sig) {
    (void)sig;
    interrupted = 1;
}

/* ------------------------------------------------------------------ sweep */

/* Every point: backends outermost, then the axes with the last varying fastest.
 * Returns the count, or 0 after printing when there are too many. */
static size_t enumerate(const scale_options *o, point **out) {
    size_t total = o->backends.n;
    for (int a = 0; a < N_AXES; a++) total *= o->ax[a].n;
    if (total > SCALE_MAX_POINTS) {
        cli_usage_error("scale: %zu points; at most %d", total, SCALE_MAX_POINTS);
        return 0;
    }
    point *pts = calloc(total, sizeof *pts);
    if (!pts) {
        cli_usage_error("scale: out of memory");
        return 0;
    }
    size_t k = 0;
    for (size_t b = 0; b < o->backends.n; b++) {
        size_t idx[N_AXES] = {0};
        for (;;) {
            point *pt = &pts[k++];
            pt->backend = o->backends.v[b];
            for (int a = 0; a < N_AXES; a++) pt->p[a] = o->ax[a].v[idx[a]];
            int a = N_AXES - 1;
            while (a >= 0 && ++idx[a] == o->ax[a].n) idx[a--] = 0;
            if (a < 0) break;
        }
    }
    *out = pts;
    return total;
}

/* A point the library can run: data spec, batch within the training rows, a
 * network that fits in memory. Prints one line and returns EXIT_USAGE when not. */
static int validate_point(const scale_options *o, const point *pt) {
    nn_error err;
    nn_data_spec spec = scale_point_spec(o, pt);
    if (nn_data_spec_check(&spec, &err) != NN_OK) return opt_library_error(&SCALE_OPTIONS, &err);
    uint64_t n_test = (uint64_t)((double)pt->p[AX_SAMPLES] * o->test_fraction + 0.5);
    uint64_t n_train = pt->p[AX_SAMPLES] - n_test;
    if (n_train < pt->p[AX_BATCH])
        return cli_usage_error("--batch: %llu is larger than the %llu training samples of a point",
                               (unsigned long long)pt->p[AX_BATCH], (unsigned long long)n_train);
    nn_source src = nn_source_from_generator(&(nn_generator_source){spec, 0}, n_train);
    nn_model_config mc;
    scale_point_model(o, pt, src.features, src.classes, &mc);
    double bytes = nn_model_memory_bytes(&mc, (size_t)pt->p[AX_BATCH], o->optimizer);
    if (cli_check_memory("--hidden/--depth/--batch", bytes,
                         "the largest network's parameters and activations"))
        return EXIT_USAGE;
    return EXIT_OK;
}

/* The results folder and scale.csv with its header; paths into csv_path, json_path. */
static FILE *open_results(const scale_options *o, char *csv_path, char *json_path, size_t len) {
    if (mkdir(o->out_dir, 0777) != 0 && errno != EEXIST) {
        cli_usage_error("--out: cannot create '%s': %s", o->out_dir, strerror(errno));
        return NULL;
    }
    snprintf(csv_path, len, "%s/scale.csv", o->out_dir);
    snprintf(json_path, len, "%s/scale.json", o->out_dir);
    FILE *csv = fopen(csv_path, "w");
    if (!csv) cli_usage_error("--out: cannot write '%s'", csv_path);
    else scale_csv_header(csv);
    return csv;
}

/* "[3/8] cpu threads=1 samples=..." on a terminal while a point runs. */
static void show_progress(const point *pt, size_t i, size_t total) {
    fprintf(stderr, "\r\033[K[%zu/%zu] %s threads=%llu samples=%llu hidden=%llu depth=%llu "
                    "batch=%llu ...", i + 1, total, pt->backend,
            (unsigned long long)pt->p[AX_THREADS], (unsigned long long)pt->p[AX_SAMPLES],
            (unsigned long long)pt->p[AX_HIDDEN], (unsigned long long)pt->p[AX_DEPTH],
            (unsigned long long)pt->p[AX_BATCH]);
}

/* Run the points in order until done or interrupted, reporting each; returns
 * the number finished and counts failures. */
static size_t run_points(const scale_options *o, point *pts, size_t total, FILE *csv,
                         const char *json_path, int *failures) {
    const int tty = isatty(STDERR_FILENO);
    size_t done = 0;
    for (; done < total && !interrupted; done++) {
        point *pt = &pts[done];
        if (tty) show_progress(pt, done, total);
        if (scale_run_point(o, pt) != 0)
            snprintf(pt->error, sizeof pt->error, "cannot start a run");
        if (interrupted && !pt->ok) break; /* a point that finished is kept */
        if (tty) fprintf(stderr, "\r\033[K");
        *failures += !pt->ok;
        scale_print_row(o, pt);
        scale_csv_row(csv, o, pt);
        scale_write_json(json_path, o, pts, done + 1);
        if (interrupted) {
            done++;
            break;
        }
    }
    if (tty) fprintf(stderr, "\r\033[K");
    return done;
}

int cmd_scale(int argc, char **argv) {
    scale_options o;
    int rc = scale_parse(argc, argv, &o);
    if (rc < 0) return EXIT_OK;
    if (rc != EXIT_OK) return rc;
    point *pts = NULL;
    size_t total = enumerate(&o, &pts);
    if (total == 0) return EXIT_USAGE;
    for (size_t i = 0; i < total && rc == EXIT_OK; i++) rc = validate_point(&o, &pts[i]);
    char csv_path[1024], json_path[1024];
    FILE *csv = rc == EXIT_OK ? open_results(&o, csv_path, json_path, sizeof csv_path) : NULL;
    if (!csv) {
        free(pts);
        return EXIT_USAGE;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);
    printf("nnbench scale: %zu points, dataset %s (streamed), %d epoch%s, %s lr %g, %d warm-up + "
           "%d timed runs each\n", total, nn_data_kind_name(o.spec.kind), o.epochs,
           o.epochs == 1 ? "" : "s", nn_optimizer_name(o.optimizer), o.lr, o.warmup, o.repeats);
    scale_print_header();
    int failures = 0;
    size_t done = run_points(&o, pts, total, csv, json_path, &failures);
    fclose(csv);
    printf("results: %s, %s (%zu of %zu points)\n", csv_path, json_path, done, total);
    scale_write_charts(&o, pts, done, stdout);
    free(pts);
    if (interrupted) {
        fprintf(stderr, "nnbench: scale interrupted; the %zu finished points are kept\n", done);
        return 130;
    }
    return failures ? EXIT_FAIL : EXIT_OK;
}
