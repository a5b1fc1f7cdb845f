/* test_scale.c — `nnbench scale`: a small sweep writes its rows and charts;
 * invalid values fail before anything runs; streamed memory stays bounded;
 * the projection follows the ring all-reduce model; the results folder is
 * safe (an earlier sweep refused, --force, --append, a killed sweep, long
 * paths); and sweeps across MPI ranks (skipped without mpirun): rows,
 * strong and weak scaling columns, one-process results, a failing rank. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "tu_io.h"

/* ---------------------------------------------------------- CSV helpers */

#define MAX_CELLS 64
#define MAX_ROWS 64

/* A parsed scale.csv: header names and rows of cells. */
typedef struct csv {
    char *text;
    int ncols, nrows;
    char *head[MAX_CELLS];
    char *cell[MAX_ROWS][MAX_CELLS];
} csv;

static int split(char *line, char **cells) {
    int n = 0;
    for (char *p = line;; p++) {
        if (n < MAX_CELLS) cells[n] = p;
        n++;
        p += strcspn(p, ",");
        if (*p == '\0') break;
        *p = '\0';
    }
    return n;
}

static csv *csv_read(const char *dir) {
    char *path = tu_path(dir, "scale.csv");
    csv *c = calloc(1, sizeof *c);
    c->text = tu_read_file(path);
    cr_assert_not_null(c->text, "no %s", path);
    free(path);
    char *line = c->text, *next;
    for (int i = 0; line && *line; i++, line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        if (i == 0) {
            c->ncols = split(line, c->head);
            continue;
        }
        cr_assert_lt(c->nrows, MAX_ROWS);
        int n = split(line, c->cell[c->nrows]);
        cr_assert_eq(n, c->ncols, "row %d has %d cells, header %d", c->nrows, n, c->ncols);
        c->nrows++;
    }
    return c;
}

static void csv_free(csv *c) {
    free(c->text);
    free(c);
}

static int col(const csv *c, const char *name) {
    for (int i = 0; i < c->ncols; i++)
        if (strcmp(c->head[i], name) == 0) return i;
    cr_assert_fail("no column %s", name);
    return -1;
}

static const char *text(const csv *c, int row, const char *name) {
    return c->cell[row][col(c, name)];
}

static double num(const csv *c, int row, const char *name) {
    const char *s = text(c, row, name);
    return *s ? atof(s) : NAN;
}

/* The row of `kind` with `ranks` ranks, or -1. */
static int find_row(const csv *c, const char *kind, double ranks) {
    for (int r = 0; r < c->nrows; r++)
        if (strcmp(text(c, r, "kind"), kind) == 0 && num(c, r, "ranks") == ranks) return r;
    return -1;
}

static int exists(const char *dir, const char *name) {
    char *p = tu_path(dir, name);
    struct stat st;
    int e = stat(p, &st) == 0;
    free(p);
    return e;
}

/* --------------------------------------------------------- one process */

Test(scale, small_sweep_writes_rows_and_charts) {
    char *dir = tu_tmpdir();
    char out[600];
    snprintf(out, sizeof out, "%s/res", dir);
    tu_result r = tu_run_nnbench((const char *const[]){"scale", "--samples", "2k,8k", "--hidden",
                                                       "8,16", "--features", "4", "--repeats", "2",
                                                       "--batch", "64", "--out", out, NULL},
                                 NULL, NULL);
    cr_assert_eq(r.status, 0, "%s\n%s", r.out, r.err);
    csv *c = csv_read(out);
    cr_assert_eq(c->nrows, 4);
    for (int i = 0; i < 4; i++) {
        cr_assert_str_eq(text(c, i, "status"), "ok");
        cr_assert_str_eq(text(c, i, "kind"), "measured");
        cr_assert(num(c, i, "samples_per_second_median") > 0);
        cr_assert_eq(num(c, i, "ranks"), 1);
    }
    char *json_path = tu_path(out, "scale.json");
    char *json = tu_read_file(json_path);
    cr_assert_not_null(json);
    int objects = 0;
    for (const char *p = json; (p = strstr(p, "\"samples_per_second_median\"")); p++) objects++;
    cr_assert_eq(objects, 4);
    cr_assert(json[0] == '[' && strstr(json, "]\n") != NULL);
    cr_assert(strstr(json, "\"kind\": \"measured\"") != NULL, "%.400s", json);
    cr_assert(exists(out, "throughput_vs_samples.svg"));
    cr_assert(exists(out, "throughput_vs_hidden.svg"));
    cr_assert(!exists(out, "speedup_vs_ranks.svg"), "a ranks chart without ranks");
    free(json), free(json_path);
    csv_free(c);
    tu_rmtree(dir);
    tu_result_free(&r);
}

Test(scale, invalid_value_fails_before_running) {
    char *dir = tu_tmpdir();
    char out[600];
    snprintf(out, sizeof out, "%s/res", dir);
    const char *bad[][5] = {
        {"--samples", "1e4,abc", NULL, NULL, "abc"},
        {"--hidden", "8,0", NULL, NULL, "--hidden"},
        {"--threads", "1,-2", NULL, NULL, "--threads"},
        {"--backend", "cpu,cuda", NULL, NULL, "cuda"},
        {"--batch", "1e7", NULL, NULL, "--batch"},
        {"--depth", "2,,3", NULL, NULL, "--depth"},
        {"--ranks", "0,2", NULL, NULL, "--ranks"},
        {"--ranks", "1,2", "--batch", "1", "cannot be split over 2 ranks"},
        {"--link", "100", NULL, NULL, "--link: expected GBIT_PER_S,LATENCY_US"},
        {"--link", "0,2", NULL, NULL, "--link"},
        {"--link", "100,-1", NULL, NULL, "--link"},
        {"--project-ranks", "1,8", NULL, NULL, "--project-ranks"},
        {"--force", "--append", NULL, NULL, "exclude each other"},
    };
    tu_result big = tu_run_nnbench((const char *const[]){"scale", "--samples", "1000", "--batch",
                                                         "2000", "--out", out, NULL}, NULL, NULL);
    cr_assert_eq(big.status, 2);
    cr_assert(strstr(big.err, "2000 is larger than the 990 training samples") != NULL, "%s", big.err);
    tu_result_free(&big);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *args[12] = {"scale", "--samples", "1e4", bad[i][0], bad[i][1]};
        int k = 5;
        if (bad[i][2]) args[k++] = bad[i][2], args[k++] = bad[i][3];
        args[k++] = "--out", args[k++] = out, args[k] = NULL;
        tu_result r = tu_run_nnbench(args, NULL, NULL);
        cr_assert_eq(r.status, 2, "%s %s: exit %d", bad[i][0], bad[i][1], r.status);
        cr_assert(strstr(r.err, bad[i][4]) != NULL, "%s", r.err);
        cr_assert_eq(strchr(r.err, '\n'), r.err + strlen(r.err) - 1, "one line: %s", r.err);
        struct stat st;
        cr_assert_neq(stat(out, &st), 0, "%s %s: output written before validation", bad[i][0],
                      bad[i][1]);
        tu_result_free(&r);
    }
    tu_rmtree(dir);
}

Test(scale, streamed_memory_does_not_grow_with_samples) {
    char *dir = tu_tmpdir();
    char out[600];
    snprintf(out, sizeof out, "%s/res", dir);
    tu_result r = tu_run_nnbench((const char *const[]){"scale", "--samples", "6e5,3e6", "--hidden",
                                                       "8", "--depth", "1", "--features", "4",
                                                       "--batch", "4096", "--repeats", "1",
                                                       "--warmup", "0", "--out", out, NULL},
                                 NULL, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    csv *c = csv_read(out);
    /* both sizes stream in chunks of the same rows: memory must not follow the sample count */
    double small = num(c, 0, "peak_rss_mb"), big = num(c, 1, "peak_rss_mb");
    cr_assert(small > 1 && big > 1, "%s", c->text);
    cr_assert(big < small + 8.0, "5x the samples grew peak RSS from %.1f to %.1f MB", small, big);
    csv_free(c);
    tu_rmtree(dir);
    tu_result_free(&r);
}

/* The projected rows follow the model stated in the README and
 * scale_project.c, here from one measured rank (no overlap measured, compute
 * proportional to the rows per rank, two 8-byte agreements per step). */
Test(scale, projection_follows_the_ring_allreduce_model) {
    char *dir = tu_tmpdir();
    char out[600];
    snprintf(out, sizeof out, "%s/res", dir);
    tu_result r = tu_run_nnbench(
        (const char *const[]){"scale", "--samples", "2e4", "--features", "8", "--hidden", "32",
                              "--depth", "2", "--batch", "256", "--threads", "1", "--repeats", "1",
                              "--project-ranks", "8,64,512", "--link", "10,5", "--out", out, NULL},
        NULL, NULL);
    cr_assert_eq(r.status, 0, "%s\n%s", r.out, r.err);
    cr_assert(strstr(r.err, "--project-ranks 512: more ranks than the global batch") != NULL,
              "%s", r.err);
    cr_assert(strstr(r.out, "projected (ring all-reduce model, link 10 Gbit/s, 5 us") != NULL,
              "%s", r.out);
    csv *c = csv_read(out);
    const int m = find_row(c, "measured", 1);
    cr_assert_geq(m, 0);
    cr_assert_eq(find_row(c, "projected", 512), -1);
    const double c1 = num(c, m, "compute_seconds_per_step"), t1 = num(c, m, "step_seconds");
    cr_assert(c1 > 0 && t1 == c1, "one rank: compute %g, step %g", c1, t1);
    const double n_params = (8 + 1) * 32 + (32 + 1) * 32 + (32 + 1) * 1, layers = 3;
    const double bw = 10e9 / 8, lat = 5e-6;
    const double ps[] = {8, 64};
    for (int i = 0; i < 2; i++) {
        const double P = ps[i];
        const int p = find_row(c, "projected", P);
        cr_assert_geq(p, 0, "no projected row for %g ranks", P);
        const double rows = ceil(256 / P);
        const double compute = c1 * rows / 256;
        const double grads = 2 * (P - 1) / P * 4 * n_params / bw + layers * 2 * (P - 1) * lat;
        const double small = 2 * 2 * ceil(log2(P)) * lat;
        const double step = compute + grads + small;
        cr_assert_float_eq(num(c, p, "batch_per_rank"), rows, 0);
        cr_assert_float_eq(num(c, p, "compute_seconds_per_step"), compute, 1e-5 * compute);
        cr_assert_float_eq(num(c, p, "step_seconds"), step, 1e-5 * step, "P=%g: %g vs %g", P,
                           num(c, p, "step_seconds"), step);
        cr_assert_float_eq(num(c, p, "comm_fraction"), (grads + small) / step, 1e-3);
        cr_assert_float_eq(num(c, p, "speedup"), t1 / step, 1e-3 * t1 / step);
        cr_assert_float_eq(num(c, p, "efficiency"), t1 / step / P, 1e-3 * t1 / step / P);
        cr_assert_eq(num(c, p, "link_gbit_per_s"), 10);
        cr_assert_eq(num(c, p, "link_latency_us"), 5);
        cr_assert_str_eq(text(c, p, "scaling"), "strong");
    }
    cr_assert(exists(out, "speedup_vs_ranks.svg") && exists(out, "comm_fraction_vs_ranks.svg"));
    char *svg_path = tu_path(out, "speedup_vs_ranks.svg");
    char *svg = tu_read_file(svg_path);
    cr_assert(strstr(svg, "projected (10 Gbit/s, 5 us)") != NULL, "no projected legend");
    cr_assert(strstr(svg, "stroke-dasharray=\"7 5\"") != NULL, "the projection is not dashed");
    free(svg), free(svg_path);
    csv_free(c);
    tu_rmtree(dir);
    tu_result_free(&r);
}

/* ------------------------------------------------------ results folder */

static tu_result tiny_sweep(const char *out, const char *samples, const char *extra) {
    const char *args[20] = {"scale",     "--samples", samples, "--features", "4", "--hidden", "8",
                            "--batch",   "64",        "--repeats", "1",     "--warmup", "0",
                            "--threads", "1",         "--out",     out};
    int k = 17;
    if (extra) args[k++] = extra;
    args[k] = NULL;
    return tu_run_nnbench(args, NULL, NULL);
}

Test(scale, an_earlier_sweep_is_refused_replaced_or_appended_to) {
    char *dir = tu_tmpdir();
    char out[600];
    snprintf(out, sizeof out, "%s/res", dir);
    tu_result r = tiny_sweep(out, "2k,3k", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    tu_result_free(&r);
    char *csv_path = tu_path(out, "scale.csv"), *json_path = tu_path(out, "scale.json");
    char *csv0 = tu_read_file(csv_path), *json0 = tu_read_file(json_path);
    /* again into the same folder: refused, nothing touched */
    r = tiny_sweep(out, "4k", NULL);
    cr_assert_eq(r.status, 2);
    cr_assert(strstr(r.err, "holds an earlier sweep (scale.csv); pass --force to replace it, "
                            "--append to add to it") != NULL, "%s", r.err);
    tu_result_free(&r);
    char *csv1 = tu_read_file(csv_path), *json1 = tu_read_file(json_path);
    cr_assert_str_eq(csv0, csv1);
    cr_assert_str_eq(json0, json1);
    free(csv1), free(json1);
    /* --append: the earlier rows and the new one */
    r = tiny_sweep(out, "4k", "--append");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.out, "(appending)") != NULL);
    tu_result_free(&r);
    csv *c = csv_read(out);
    cr_assert_eq(c->nrows, 3);
    cr_assert_eq(num(c, 0, "samples"), 2000);
    cr_assert_eq(num(c, 1, "samples"), 3000);
    cr_assert_eq(num(c, 2, "samples"), 4000);
    csv_free(c);
    json1 = tu_read_file(json_path);
    cr_assert(strstr(json1, "\"samples\": 2000") && strstr(json1, "\"samples\": 4000"), "%s", json1);
    free(json1);
    cr_assert(exists(out, "throughput_vs_samples.svg"), "the chart of all rows");
    /* --force: only the new rows; the earlier sweep's charts are gone */
    r = tiny_sweep(out, "5k", "--force");
    cr_assert_eq(r.status, 0, "%s", r.err);
    tu_result_free(&r);
    c = csv_read(out);
    cr_assert_eq(c->nrows, 1);
    cr_assert_eq(num(c, 0, "samples"), 5000);
    csv_free(c);
    cr_assert(!exists(out, "throughput_vs_samples.svg"), "a chart of the replaced sweep is left");
    /* --append to a scale.csv of other columns (an older nnbench): refused */
    char *old = tu_write_file(out, "scale.csv", "backend,device,threads,samples\ncpu,x,1,100\n");
    r = tiny_sweep(out, "4k", "--append");
    cr_assert_eq(r.status, 2);
    cr_assert(strstr(r.err, "has other columns than this nnbench writes") != NULL, "%s", r.err);
    tu_result_free(&r);
    free(old);
    free(csv0), free(json0), free(csv_path), free(json_path);
    tu_rmtree(dir);
}

/* Start nnbench scale in its own process group, kill the group after
 * `seconds`, and wait. */
static void run_and_kill(const char *const *args, double seconds) {
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        setpgid(0, 0);
        int nul = open("/dev/null", O_WRONLY);
        dup2(nul, 1), dup2(nul, 2);
        const char *argv[32] = {NNBENCH_EXE};
        for (int i = 0; args[i] && i < 30; i++) argv[i + 1] = args[i];
        execv(NNBENCH_EXE, (char *const *)argv);
        _exit(127);
    }
    setpgid(pid, pid);
    struct timespec ts = {(time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9)};
    nanosleep(&ts, NULL);
    kill(-pid, SIGKILL);
    int ws;
    waitpid(pid, &ws, 0);
    cr_assert(WIFSIGNALED(ws), "the sweep finished before it was killed; make its point longer");
}

/* A sweep killed while its first point runs leaves no scale.csv at all in a
 * new folder, and the earlier sweep's pair untouched with --force. */
Test(scale, a_killed_sweep_never_leaves_a_header_only_csv, .timeout = 120) {
    char *dir = tu_tmpdir();
    char out[600];
    snprintf(out, sizeof out, "%s/res", dir);
    const char *long_point[] = {"scale", "--samples", "3e6", "--features", "32", "--hidden", "64",
                                "--batch", "256", "--repeats", "3", "--threads", "1",
                                "--out", out, NULL, NULL};
    run_and_kill(long_point, 1.0);
    cr_assert(!exists(out, "scale.csv") && !exists(out, "scale.json"),
              "a killed first point left results");
    tu_result r = tiny_sweep(out, "2k", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    tu_result_free(&r);
    char *csv_path = tu_path(out, "scale.csv"), *json_path = tu_path(out, "scale.json");
    char *csv0 = tu_read_file(csv_path), *json0 = tu_read_file(json_path);
    long_point[15] = "--force";
    run_and_kill(long_point, 1.0);
    char *csv1 = tu_read_file(csv_path), *json1 = tu_read_file(json_path);
    cr_assert_str_eq(csv0, csv1, "the earlier scale.csv changed");
    cr_assert_str_eq(json0, json1, "the earlier scale.json changed");
    cr_assert_eq(tu_count_entries(out), 2, "temporary files left behind");
    free(csv0), free(json0), free(csv1), free(json1), free(csv_path), free(json_path);
    tu_rmtree(dir);
}

/* An --out path that leaves no room for the file names is refused before
 * anything runs, never truncated into one name for every file. */
Test(scale, an_out_path_near_path_max_is_refused) {
    char *dir = tu_tmpdir();
    char *out = malloc(PATH_MAX + 16);
    int n = snprintf(out, PATH_MAX, "%s/", dir);
    while (n < PATH_MAX - 20) { /* nested folders of 200 characters, to stay under NAME_MAX */
        for (int i = 0; i < 200 && n < PATH_MAX - 20; i++) out[n++] = 'd';
        out[n] = '\0';
        mkdir(out, 0777);
        out[n++] = '/';
    }
    out[--n] = '\0';
    tu_result r = tiny_sweep(out, "2k", NULL);
    cr_assert_eq(r.status, 2, "%s", r.err);
    cr_assert(strstr(r.err, "--out: the folder name is") != NULL, "%s", r.err);
    tu_result_free(&r);
    free(out);
    tu_rmtree(dir);
}

/* ------------------------------------------------------------ MPI ranks */

#ifdef NNBENCH_WITH_MPI

static int have_launcher(void) {
    tu_result r = tu_run_program(
        "/bin/sh", (const char *const[]){"-c", "command -v mpirun || command -v mpiexec", NULL},
        NULL, NULL);
    int ok = r.status == 0 && r.out[0] == '/';
    tu_result_free(&r);
    return ok;
}

/* Ranks 1 and 2 on tiny data: a row each, the same training as one process
 * (the global batch is the same), speedup, efficiency, comm columns, charts. */
Test(scale_mpi, ranks_sweep_strong_scaling, .timeout = 180) {
    if (!have_launcher()) cr_skip_test("mpirun is not installed");
    char *dir = tu_tmpdir();
    char out[600];
    snprintf(out, sizeof out, "%s/res", dir);
    tu_result r = tu_run_nnbench(
        (const char *const[]){"scale", "--ranks", "2,1", "--samples", "8k", "--features", "8",
                              "--hidden", "16", "--batch", "100", "--threads", "1", "--repeats",
                              "2", "--project-ranks", "16", "--out", out, NULL},
        NULL, NULL);
    cr_assert_eq(r.status, 0, "%s\n%s", r.out, r.err);
    csv *c = csv_read(out);
    const int one = find_row(c, "measured", 1), two = find_row(c, "measured", 2);
    cr_assert(one == 0 && two == 1, "ranks run fewest first:\n%s", r.out);
    for (int i = 0; i < 2; i++) cr_assert_str_eq(text(c, i, "status"), "ok");
    cr_assert_eq(num(c, two, "batch"), 100);
    cr_assert_eq(num(c, two, "batch_per_rank"), 50);
    cr_assert_eq(num(c, two, "samples"), 8000);
    const double l1 = num(c, one, "final_loss"), l2 = num(c, two, "final_loss");
    cr_assert(fabs(l1 - l2) <= 1e-5 * fabs(l1), "loss %.9g with 1 rank, %.9g with 2", l1, l2);
    cr_assert_eq(num(c, one, "test_accuracy"), num(c, two, "test_accuracy"));
    cr_assert_eq(num(c, one, "speedup"), 1);
    const double s2 = num(c, two, "samples_per_second_median") /
                      num(c, one, "samples_per_second_median");
    cr_assert_float_eq(num(c, two, "speedup"), s2, 1e-3 * s2);
    cr_assert_float_eq(num(c, two, "efficiency"), s2 / 2, 1e-3 * s2);
    const double f = num(c, two, "comm_fraction");
    cr_assert(f > 0 && f < 1, "comm fraction %g", f);
    cr_assert_eq(num(c, one, "comm_seconds_per_step"), 0);
    cr_assert_eq(num(c, two, "comm_bytes_per_step"), 4.0 * ((8 + 1) * 16 + 17 * 16 + 17) + 8);
    cr_assert(num(c, two, "allreduces_per_step") >= 3, "one per layer, and the agreement");
    cr_assert_geq(find_row(c, "projected", 2), 0, "no projection to compare with 2 ranks");
    cr_assert_geq(find_row(c, "projected", 16), 0);
    cr_assert(exists(out, "speedup_vs_ranks.svg") && exists(out, "comm_fraction_vs_ranks.svg") &&
              exists(out, "efficiency_vs_ranks.svg"));
    cr_assert(strstr(r.out, "launcher: ") != NULL);
    csv_free(c);
    tu_result_free(&r);
    tu_rmtree(dir);
}

/* --weak: --samples and --batch per rank; the global values and the
 * efficiency follow the ranks. */
Test(scale_mpi, weak_scaling_columns, .timeout = 180) {
    if (!have_launcher()) cr_skip_test("mpirun is not installed");
    char *dir = tu_tmpdir();
    char out[600];
    snprintf(out, sizeof out, "%s/res", dir);
    tu_result r = tu_run_nnbench(
        (const char *const[]){"scale", "--weak", "--ranks", "1,2", "--samples", "4k", "--features",
                              "8", "--hidden", "16", "--batch", "64", "--threads", "1",
                              "--repeats", "1", "--project-ranks", "8", "--out", out, NULL},
        NULL, NULL);
    cr_assert_eq(r.status, 0, "%s\n%s", r.out, r.err);
    cr_assert(strstr(r.out, "weak (samples and batch per rank)") != NULL);
    csv *c = csv_read(out);
    const int one = find_row(c, "measured", 1), two = find_row(c, "measured", 2);
    cr_assert(one >= 0 && two >= 0);
    for (int i = 0; i < c->nrows; i++) cr_assert_str_eq(text(c, i, "scaling"), "weak");
    cr_assert_eq(num(c, one, "samples"), 4000);
    cr_assert_eq(num(c, two, "samples"), 8000);
    cr_assert_eq(num(c, one, "batch"), 64);
    cr_assert_eq(num(c, two, "batch"), 128);
    cr_assert_eq(num(c, two, "batch_per_rank"), 64);
    cr_assert_eq(num(c, one, "steps"), num(c, two, "steps"), "the same steps per rank");
    const double s2 = num(c, two, "samples_per_second_median") /
                      num(c, one, "samples_per_second_median");
    cr_assert_float_eq(num(c, two, "speedup"), s2, 1e-3 * s2);
    cr_assert_float_eq(num(c, two, "efficiency"), s2 / 2, 1e-3 * s2);
    const int p = find_row(c, "projected", 8);
    cr_assert_geq(p, 0);
    cr_assert_eq(num(c, p, "batch"), 512);
    cr_assert_eq(num(c, p, "samples"), 32000);
    cr_assert_eq(num(c, p, "batch_per_rank"), 64);
    cr_assert_float_eq(num(c, p, "efficiency"),
                       num(c, one, "step_seconds") / num(c, p, "step_seconds"), 1e-3);
    csv_free(c);
    tu_result_free(&r);
    tu_rmtree(dir);
}

/* More ranks than cores run (Open MPI needs --oversubscribe for that), with
 * one warning, and the rows say so; 4 ranks train the one-process model too. */
Test(scale_mpi, oversubscribed_points_are_marked, .timeout = 180) {
    if (!have_launcher()) cr_skip_test("mpirun is not installed");
    char *dir = tu_tmpdir();
    char out[600];
    snprintf(out, sizeof out, "%s/res", dir);
    tu_result r = tu_run_nnbench(
        (const char *const[]){"scale", "--ranks", "1,4", "--samples", "4k", "--features", "8",
                              "--hidden", "16", "--batch", "100", "--threads", "1", "--repeats",
                              "1", "--out", out, NULL},
        NULL, NULL);
    cr_assert_eq(r.status, 0, "%s\n%s", r.out, r.err);
    const int over = 4 > sysconf(_SC_NPROCESSORS_ONLN);
    cr_assert_eq(strstr(r.err, "exceed the") != NULL, over, "%s", r.err);
    csv *c = csv_read(out);
    const int four = find_row(c, "measured", 4), one = find_row(c, "measured", 1);
    cr_assert_str_eq(text(c, four, "status"), "ok");
    cr_assert_eq(num(c, four, "oversubscribed"), over);
    cr_assert_eq(num(c, four, "ranks_per_node"), 4);
    cr_assert_eq(num(c, one, "ranks_per_node"), 1);
    cr_assert_eq(num(c, four, "batch_per_rank"), 25);
    const double l1 = num(c, one, "final_loss"), l4 = num(c, four, "final_loss");
    cr_assert(fabs(l1 - l4) <= 1e-5 * fabs(l1), "loss %.9g with 1 rank, %.9g with 4", l1, l4);
    if (over) cr_assert(strstr(r.out, "(oversubscribed)") != NULL, "%s", r.out);
    csv_free(c);
    tu_result_free(&r);
    tu_rmtree(dir);
}

/* A rank whose rows fail, or that dies: every rank stops within seconds,
 * the point's row carries the failing rank's one-line message, scale exits 1
 * (a run failed) and the next point still runs. */
Test(scale_mpi, a_failing_rank_stops_its_point, .timeout = 180) {
    if (!have_launcher()) cr_skip_test("mpirun is not installed");
    const char *faults[][2] = {{"NNBENCH_TEST_FAULT=1:row:3000",
                                "rank 1: cannot read training row 3000 (injected fault)"},
                               {"NNBENCH_TEST_FAULT=1:exit", "rank 1 exited with code 7"}};
    for (int i = 0; i < 2; i++) {
        char *dir = tu_tmpdir();
        char out[600];
        snprintf(out, sizeof out, "%s/res", dir);
        const double t0 = nn_now();
        tu_result r = tu_run_nnbench(
            (const char *const[]){"scale", "--ranks", "2", "--samples", "2e4,3e4", "--features",
                                  "8", "--hidden", "16", "--batch", "100", "--threads", "1",
                                  "--repeats", "1", "--out", out, NULL},
            (const char *const[]){faults[i][0], NULL}, NULL);
        const double seconds = nn_now() - t0;
        cr_assert_eq(r.status, 1, "%s: exit %d\n%s\n%s", faults[i][0], r.status, r.out, r.err);
        cr_assert_lt(seconds, 60, "%s: %.0f s", faults[i][0], seconds);
        csv *c = csv_read(out);
        cr_assert_eq(c->nrows, 2, "both points reported");
        for (int k = 0; k < 2; k++) {
            cr_assert(strstr(text(c, k, "status"), faults[i][1]) != NULL, "%s", text(c, k, "status"));
            const char *line = strstr(r.out, "FAILED: ");
            cr_assert(line != NULL && strstr(line, faults[i][1]) != NULL, "%s", r.out);
        }
        csv_free(c);
        tu_result_free(&r);
        tu_rmtree(dir);
    }
}

#endif
