/* test_mpi_train.c — `mpirun -n P nnbench [train options]` as a user runs
 * it: the loss curve of one process within 1e-5 relative for 2 and 4 ranks,
 * only rank 0 prints and writes files, a checkpoint taken with 2 ranks
 * resumes bit-identically, and a rank whose data fails stops the job with its
 * one-line message and the README's exit code. Skipped when the build has no
 * MPI or mpirun is missing. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#ifdef MPI_TRAIN_EXE

/* The mpirun on PATH (malloc'd), or skip the test. */
static char *need_mpirun(void) {
    char *path = tu_mpirun_path();
    if (!path) cr_skip_test("mpirun is not installed");
    return path;
}

/* nnbench with args under `mpirun -n ranks` (ranks 0: a plain run), extra env. */
static tu_result nnbench_ranks(const char *mpirun, int ranks, const char *const *args,
                               const char *extra_env) {
    const char *argv[48];
    char np[16];
    int k = 0;
    snprintf(np, sizeof np, "%d", ranks);
    if (ranks > 0) argv[k++] = "-n", argv[k++] = np, argv[k++] = NNBENCH_EXE;
    for (int i = 0; args[i]; i++) argv[k++] = args[i];
    argv[k] = NULL;
    const char *env[8] = {TU_MPI_ENV[0], TU_MPI_ENV[1], TU_MPI_ENV[2], extra_env, NULL};
    if (ranks == 0) return tu_run_program(NNBENCH_EXE, argv, env, NULL);
    return tu_run_program(mpirun, argv, env, NULL);
}

/* The numbers of the JSON array `key` in text (at most 64). */
static size_t json_array(const char *text, const char *key, double *v) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": [", key);
    const char *p = strstr(text, pat);
    cr_assert_not_null(p, "no %s in %s", key, text);
    p += strlen(pat);
    size_t n = 0;
    while (*p && *p != ']' && n < 64) {
        char *end;
        v[n++] = strtod(p, &end);
        p = end;
        while (*p == ',' || *p == ' ' || *p == '\n') p++;
    }
    return n;
}

#define ADAM_RUN "--batch", "64", "--optimizer", "adam", "--lr", "0.01", "--epochs", "20", \
                 "--log-every", "5", "--quiet", "--json", "-"

Test(mpi_train, ranks_give_the_one_process_loss_curve, .timeout = 180) {
    char *mpirun = need_mpirun();
    tu_result one = nnbench_ranks(mpirun, 0, (const char *const[]){ADAM_RUN, NULL}, NULL);
    cr_assert_eq(one.status, 0, "%s", one.err);
    double l1[64], lp[64];
    size_t n1 = json_array(one.out, "loss_curve", l1);
    cr_assert_eq(n1, 5u);
    cr_assert(strstr(one.out, "\"ranks\": 1") != NULL, "%s", one.out);
    for (int ranks = 2; ranks <= 4; ranks += 2) {
        tu_result r = nnbench_ranks(mpirun, ranks, (const char *const[]){ADAM_RUN, NULL}, NULL);
        cr_assert_eq(r.status, 0, "%d ranks: exit %d: %s", ranks, r.status, r.err);
        char want[32];
        snprintf(want, sizeof want, "\"ranks\": %d", ranks);
        cr_assert(strstr(r.out, want) != NULL, "%s", r.out);
        cr_assert(strstr(r.out, "\"comm_bytes_per_step\": ") != NULL, "%s", r.out);
        cr_assert_eq(json_array(r.out, "loss_curve", lp), n1, "one record, from rank 0: %s", r.out);
        for (size_t i = 0; i < n1; i++)
            cr_assert_leq(fabs(lp[i] - l1[i]), 1e-5 * fabs(l1[i]), "%d ranks, point %zu: %.9g vs %.9g",
                          ranks, i, lp[i], l1[i]);
        tu_result_free(&r);
    }
    tu_result_free(&one);
    free(mpirun);
}

Test(mpi_train, only_rank_0_prints, .timeout = 120) {
    char *mpirun = need_mpirun();
    tu_result r = nnbench_ranks(mpirun, 2, (const char *const[]){"--epochs", "200", NULL}, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    int lines = 0;
    for (const char *p = r.out; (p = strstr(p, "Epoch 0: Loss")); p++) lines++;
    cr_assert_eq(lines, 1, "%s", r.out);
    cr_assert(strstr(r.out, "x 2 ranks") != NULL, "%s", r.out);
    tu_result_free(&r);
    free(mpirun);
}

Test(mpi_train, a_checkpoint_of_2_ranks_resumes_bit_identically, .timeout = 180) {
    char *mpirun = need_mpirun();
    char *dir = tu_tmpdir();
    char *whole = tu_path(dir, "whole.st"), *ck = tu_path(dir, "ck.st"), *res = tu_path(dir, "res.st");
    const char *base[] = {"--batch", "50", "--optimizer", "momentum", "--quiet"};
    tu_result r = nnbench_ranks(mpirun, 2, (const char *const[]){base[0], base[1], base[2], base[3],
                                base[4], "--epochs", "6", "--save", whole, NULL}, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    tu_result_free(&r);
    r = nnbench_ranks(mpirun, 2, (const char *const[]){base[0], base[1], base[2], base[3], base[4],
                      "--epochs", "3", "--checkpoint", ck, NULL}, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    tu_result_free(&r);
    r = nnbench_ranks(mpirun, 2, (const char *const[]){"--resume", ck, "--epochs", "6", "--quiet",
                      "--save", res, NULL}, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    tu_result_free(&r);
    size_t na, nb;
    unsigned char *a = NULL, *b = NULL;
    char *ta = tu_read_file(whole), *tb = tu_read_file(res);
    cr_assert(ta && tb);
    free(ta), free(tb);
    FILE *fa = fopen(whole, "rb"), *fb = fopen(res, "rb");
    fseek(fa, 0, SEEK_END), fseek(fb, 0, SEEK_END);
    na = (size_t)ftell(fa), nb = (size_t)ftell(fb);
    rewind(fa), rewind(fb);
    a = malloc(na), b = malloc(nb);
    cr_assert_eq(fread(a, 1, na, fa), na);
    cr_assert_eq(fread(b, 1, nb, fb), nb);
    fclose(fa), fclose(fb);
    cr_assert_eq(na, nb);
    cr_assert(memcmp(a, b, na) == 0, "the resumed model differs from the uninterrupted one");
    free(a), free(b), free(whole), free(ck), free(res);
    tu_rmtree(dir);
    free(mpirun);
}

Test(mpi_train, a_rank_whose_rows_fail_stops_the_job_with_its_message, .timeout = 60) {
    char *mpirun = need_mpirun();
    char *dir = tu_tmpdir();
    char *json = tu_path(dir, "r.json");
    tu_result r = nnbench_ranks(mpirun, 2,
                                (const char *const[]){"--batch", "100", "--epochs", "30", "--json",
                                                      json, NULL},
                                "NNBENCH_TEST_FAULT=1:row:500");
    cr_assert_eq(r.status, 2, "exit %d: %s", r.status, r.err);
    cr_assert(strstr(r.err, "nnbench: rank 1: cannot read training row 500 (injected fault)\n") !=
                  NULL, "%s", r.err);
    const char *p = r.err;
    int ours = 0;
    while ((p = strstr(p, "nnbench: "))) ours++, p++;
    cr_assert_eq(ours, 1, "one line of nnbench's: %s", r.err);
    cr_assert_neq(access(json, F_OK), 0, "a failed run wrote its record");
    tu_result_free(&r);
    free(json);
    tu_rmtree(dir);
    free(mpirun);
}

Test(mpi_train, bad_options_are_one_line_from_rank_0, .timeout = 60) {
    char *mpirun = need_mpirun();
    tu_result r = nnbench_ranks(mpirun, 2, (const char *const[]){"--lr", "-1", NULL}, NULL);
    cr_assert_eq(r.status, 2, "exit %d: %s", r.status, r.err);
    const char *first = strstr(r.err, "nnbench: --lr:");
    cr_assert_not_null(first, "%s", r.err);
    cr_assert_null(strstr(first + 1, "nnbench: --lr:"), "printed by more than one rank: %s", r.err);
    tu_result_free(&r);
    free(mpirun);
}

#else
Test(mpi_train, built_without_mpi) { cr_skip_test("this build has no MPI"); }
#endif
