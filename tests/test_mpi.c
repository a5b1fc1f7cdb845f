/* test_mpi.c — training across processes with the MPI communicator, run
 * under mpirun (skipped when the build has no MPI or mpirun is missing):
 * 2 and 4 ranks give the one-process loss curve and weights within 1e-5
 * relative, the same bits run to run, and a rank that fails stops the job
 * with its message instead of leaving the others waiting. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#ifdef MPI_TRAIN_EXE

static int have_mpirun(void) {
    char *p = tu_mpirun_path();
    free(p);
    return p != NULL;
}

/* Weights and logged losses written by mpi_train. */
typedef struct run_file {
    size_t n;
    float *w;
    size_t n_log;
    double loss[256];
} run_file;

static run_file read_run(const char *path) {
    run_file r = {0};
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "no result file %s", path);
    uint64_t n, nl;
    cr_assert_eq(fread(&n, 8, 1, f), 1u);
    r.n = (size_t)n;
    r.w = malloc(r.n * sizeof(float));
    cr_assert_eq(fread(r.w, sizeof(float), r.n, f), r.n);
    cr_assert_eq(fread(&nl, 8, 1, f), 1u);
    cr_assert_leq(nl, 256u);
    r.n_log = (size_t)nl;
    cr_assert_eq(fread(r.loss, 8, r.n_log, f), r.n_log);
    fclose(f);
    return r;
}

/* Run mpi_train with `ranks` processes (0: without mpirun) into dir/name. */
static tu_result train(int ranks, const char *dir, const char *name, const char *data,
                       const char *batch, const char *opt, const char *fail_rank,
                       const char *fail_row) {
    char out[512], np[16];
    snprintf(out, sizeof out, "%s/%s", dir, name);
    snprintf(np, sizeof np, "%d", ranks);
    const char *args[16];
    int k = 0;
    if (ranks > 0) args[k++] = "-np", args[k++] = np, args[k++] = MPI_TRAIN_EXE;
    args[k++] = out, args[k++] = data, args[k++] = batch, args[k++] = opt, args[k++] = "4";
    if (fail_rank) args[k++] = fail_rank, args[k++] = fail_row;
    args[k] = NULL;
    if (ranks == 0) return tu_run_program(MPI_TRAIN_EXE, args, TU_MPI_ENV, dir);
    char *mpirun = tu_mpirun_path();
    cr_assert_not_null(mpirun);
    tu_result r = tu_run_program(mpirun, args, TU_MPI_ENV, dir);
    free(mpirun);
    return r;
}

static void check_against_one_process(const char *data, const char *batch, const char *opt) {
    if (!have_mpirun()) cr_skip_test("mpirun is not installed");
    char *dir = tu_tmpdir();
    tu_result r = train(0, dir, "one.bin", data, batch, opt, NULL, NULL);
    cr_assert_eq(r.status, 0, "one process: %s", r.err);
    tu_result_free(&r);
    char path[600];
    snprintf(path, sizeof path, "%s/one.bin", dir);
    run_file one = read_run(path);
    const int ranks[] = {2, 4, 2};
    const char *names[] = {"p2.bin", "p4.bin", "p2again.bin"};
    run_file got[3];
    for (int i = 0; i < 3; i++) {
        r = train(ranks[i], dir, names[i], data, batch, opt, NULL, NULL);
        cr_assert_eq(r.status, 0, "%d ranks: exit %d: %s", ranks[i], r.status, r.err);
        tu_result_free(&r);
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        got[i] = read_run(path);
        cr_assert_eq(got[i].n, one.n);
        cr_assert_eq(got[i].n_log, one.n_log);
        double dmax = 0, wmax = 0;
        for (size_t j = 0; j < one.n; j++) {
            dmax = fmax(dmax, fabs((double)got[i].w[j] - one.w[j]));
            wmax = fmax(wmax, fabs((double)one.w[j]));
        }
        cr_assert_leq(dmax, 1e-5 * wmax, "%d ranks: max |dw| %.3g vs max |w| %.3g", ranks[i],
                      dmax, wmax);
        for (size_t j = 0; j < one.n_log; j++)
            cr_assert_leq(fabs(got[i].loss[j] - one.loss[j]), 1e-5 * fabs(one.loss[j]),
                          "%d ranks, epoch %zu: loss %.9g vs %.9g", ranks[i], j, got[i].loss[j],
                          one.loss[j]);
    }
    cr_assert(memcmp(got[0].w, got[2].w, one.n * sizeof(float)) == 0,
              "two runs with 2 ranks differ");
    for (int i = 0; i < 3; i++) free(got[i].w);
    free(one.w);
    tu_rmtree(dir);
}

Test(mpi, resident_minibatch_adam_matches_one_process, .timeout = 120) {
    check_against_one_process("circles", "64", "adam");
}

Test(mpi, streamed_momentum_matches_one_process, .timeout = 120) {
    check_against_one_process("teacher", "100", "momentum");
}

Test(mpi, a_failing_rank_stops_the_job_with_its_message, .timeout = 60) {
    if (!have_mpirun()) cr_skip_test("mpirun is not installed");
    char *dir = tu_tmpdir();
    tu_result r = train(3, dir, "fail.bin", "teacher", "100", "sgd", "1", "2500");
    cr_assert_eq(r.status, 1, "exit %d: %s", r.status, r.err);
    cr_assert(strstr(r.err, "mpi_train: rank 1: cannot read row 2500\n") != NULL, "%s", r.err);
    char path[600];
    snprintf(path, sizeof path, "%s/fail.bin", dir);
    cr_assert_neq(access(path, F_OK), 0, "a failed run left a result file");
    tu_result_free(&r);
    tu_rmtree(dir);
}

#else
Test(mpi, built_without_mpi) { cr_skip_test("this build has no MPI"); }
#endif
