/* cmd_scale.c — `nnbench scale`: sweeps of samples, features, hidden width,
 * depth, batch, threads, MPI ranks and backend on streamed synthetic data.
 * The sweep is: enumerate the points, validate every one (and the launcher,
 * the results folder) before anything runs, run each in a child process or
 * under mpirun (scale_run.c), report rows as they finish (table, CSV, JSON),
 * then the projection past the measured ranks (scale_project.c) and charts,
 * also after Ctrl-C (scale_report.c, scale_files.c). */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "ranks.h"
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

/* A point the library can run: data spec, batch within the training rows
 * and splittable over the ranks, a network that fits in memory. Prints one
 * line and returns EXIT_USAGE when not. */
static int validate_point(const scale_options *o, const point *pt) {
    nn_error err;
    nn_data_spec spec = scale_point_spec(o, pt);
    if (nn_data_spec_check(&spec, &err) != NN_OK) return opt_library_error(&SCALE_OPTIONS, &err);
    const uint64_t n = scale_samples(o, pt), batch = scale_batch(o, pt);
    uint64_t n_test = (uint64_t)((double)n * o->test_fraction + 0.5);
    uint64_t n_train = n - n_test;
    if (n_train < batch)
        return cli_usage_error("--batch: %llu is larger than the %llu training samples of a point",
                               (unsigned long long)batch, (unsigned long long)n_train);
    if (batch < pt->p[AX_RANKS])
        return cli_usage_error("--batch: a global batch of %llu rows cannot be split over %llu "
                               "ranks (each rank needs at least one row)",
                               (unsigned long long)batch, (unsigned long long)pt->p[AX_RANKS]);
    nn_source src = nn_source_from_generator(&(nn_generator_source){spec, 0}, n_train);
    nn_model_config mc;
    scale_point_model(o, pt, src.features, src.classes, &mc);
    double bytes = nn_model_memory_bytes(&mc, (size_t)batch, o->optimizer);
    if (cli_check_memory("--hidden/--depth/--batch", bytes * (double)pt->p[AX_RANKS],
                         "the largest network's parameters and activations (all ranks)"))
        return EXIT_USAGE;
    return EXIT_OK;
}

/* Points of several ranks need MPI in this build and a launcher; warn once
 * about points whose ranks x threads exceed the cores. */
static int check_ranks(const scale_options *o, const point *pts, size_t total) {
    const uint64_t most = o->ax[AX_RANKS].v[o->ax[AX_RANKS].n - 1];
    if (most <= 1) return EXIT_OK;
    if (!ranks_built_with_mpi())
        return cli_usage_error("--ranks %llu: this nnbench was built without MPI (setup.sh "
                               "installs libopenmpi-dev; CMake finds it)", (unsigned long long)most);
    if (ranks_detect().launched)
        return cli_usage_error("--ranks: scale starts the MPI launcher for each point itself; run "
                               "it without mpirun");
    scale_launcher l;
    int rc = scale_launcher_find(o, &l);
    if (rc != EXIT_OK) return rc;
    const long cores = sysconf(_SC_NPROCESSORS_ONLN);
    char over[128] = ""; /* the first oversubscribed point */
    for (size_t i = 0; i < total && !over[0]; i++) {
        const point *pt = &pts[i];
        const int t = scale_threads_per_rank(pt);
        const uint64_t want = pt->p[AX_RANKS] * (uint64_t)(t > 0 ? t : cores);
        if (pt->p[AX_RANKS] > 1 && want > (uint64_t)cores)
            snprintf(over, sizeof over, "%llu ranks x %d threads",
                     (unsigned long long)pt->p[AX_RANKS], t > 0 ? t : (int)cores);
    }
    if (over[0])
        cli_warn("points such as %s exceed the %ld cores: they run oversubscribed (ranks waiting "
                 "in MPI spin on a core others need), so their times are not those of ranks on "
                 "cores of their own; the table marks them", over, cores);
    printf("launcher: %s (%s)\n", l.path, l.version[0] ? l.version : "unknown version");
    return EXIT_OK;
}

/* "[3/8] cpu ranks=2 threads=1 samples=..." on a terminal while a point runs. */
static void show_progress(const point *pt, size_t i, size_t total) {
    fprintf(stderr, "\r\033[K[%zu/%zu] %s ranks=%llu threads=%llu samples=%llu hidden=%llu "
                    "depth=%llu batch=%llu ...", i + 1, total, pt->backend,
            (unsigned long long)pt->p[AX_RANKS], (unsigned long long)pt->p[AX_THREADS],
            (unsigned long long)pt->p[AX_SAMPLES], (unsigned long long)pt->p[AX_HIDDEN],
            (unsigned long long)pt->p[AX_DEPTH], (unsigned long long)pt->p[AX_BATCH]);
}

/* Run the points in order until done or interrupted; after each, its row is
 * added, printed and written with the others. Returns the number finished
 * and counts failures. */
static size_t run_points(const scale_options *o, point *pts, size_t total, scale_rows *rows,
                         scale_files *files, int *failures) {
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
        scale_row *r = scale_rows_add(rows);
        if (!r) {
            cli_warn("out of memory for the results");
            break;
        }
        scale_row_from_point(o, pt, r);
        scale_rows_derive(rows);
        scale_print_row(r);
        scale_files_write(files, rows);
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
    if (rc == EXIT_OK) rc = check_ranks(&o, pts, total);
    scale_files files;
    scale_rows rows = {0};
    if (rc == EXIT_OK) rc = scale_files_prepare(&o, &files, &rows);
    if (rc != EXIT_OK) {
        scale_rows_free(&rows);
        free(pts);
        return rc;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);
    printf("nnbench scale: %zu points, dataset %s (streamed), %d epoch%s, %s lr %g, %d warm-up + "
           "%d timed runs each, %s scaling%s\n", total, nn_data_kind_name(o.spec.kind), o.epochs,
           o.epochs == 1 ? "" : "s", nn_optimizer_name(o.optimizer), o.lr, o.warmup, o.repeats,
           o.weak ? "weak (samples and batch per rank)" : "strong (samples and batch global)",
           rows.n ? " (appending)" : "");
    scale_print_header();
    int failures = 0;
    size_t done = run_points(&o, pts, total, &rows, &files, &failures);
    scale_project(&o, &rows);
    scale_print_projection(&rows);
    if (done > 0 || rows.n > 0) scale_files_write(&files, &rows);
    printf("results: %s, %s (%zu of %zu points)\n", files.csv, files.json, done, total);
    scale_write_charts(&o, &rows, stdout);
    scale_rows_free(&rows);
    free(pts);
    if (interrupted) {
        fprintf(stderr, "nnbench: scale interrupted; the %zu finished points are kept\n", done);
        return 130;
    }
    return failures ? EXIT_FAIL : EXIT_OK;
}
