/* test_mpi_launch.c — nnbench under an MPI launcher, with the launcher's
 * environment faked (no mpirun needed): a build without MPI started as P > 1
 * processes stops with one line and exit 2 instead of training P copies
 * (rank 0 speaks, the others stay silent); commands that run in one process
 * refuse P > 1; one process under a launcher and a plain run work as
 * before, the plain run without starting MPI. */
#include <criterion/criterion.h>
#include <string.h>

#include "testutil.h"

/* The program built without MPI: a separate build of the same sources when
 * this build has MPI, else nnbench itself. */
#ifdef NNBENCH_NOMPI_EXE
#define NOMPI_EXE NNBENCH_NOMPI_EXE
#else
#define NOMPI_EXE NNBENCH_EXE
#endif

static tu_result run(const char *exe, const char *const *args, const char *const *env) {
    return tu_run_program(exe, args, env, NULL);
}

static void assert_one_line(const char *err) {
    cr_assert(strlen(err) > 0 && strchr(err, '\n') == err + strlen(err) - 1, "one line: '%s'", err);
}

Test(mpi_launch, built_without_mpi_refuses_several_processes) {
    const char *const *envs[] = {
        (const char *const[]){"OMPI_COMM_WORLD_SIZE=2", "OMPI_COMM_WORLD_RANK=0", NULL}, /* Open MPI */
        (const char *const[]){"PMI_SIZE=4", "PMI_RANK=0", NULL},                         /* MPICH */
        (const char *const[]){"MV2_COMM_WORLD_SIZE=3", NULL},                            /* MVAPICH */
        (const char *const[]){"MPI_LOCALNRANKS=2", NULL},                                /* Hydra */
    };
    const char *said[] = {"2 processes (OMPI_COMM_WORLD_SIZE=2)", "4 processes (PMI_SIZE=4)",
                          "3 processes (MV2_COMM_WORLD_SIZE=3)", "2 processes (MPI_LOCALNRANKS=2)"};
    for (size_t i = 0; i < 4; i++) {
        tu_result r = run(NOMPI_EXE, (const char *const[]){"--epochs", "3", NULL}, envs[i]);
        cr_assert_eq(r.status, 2, "%s: exit %d", said[i], r.status);
        cr_assert(strstr(r.err, said[i]) != NULL, "%s", r.err);
        cr_assert(strstr(r.err, "built without MPI, so each would train alone") != NULL, "%s",
                  r.err);
        assert_one_line(r.err);
        cr_assert_str_eq(r.out, "", "it trained anyway:\n%s", r.out);
        tu_result_free(&r);
    }
    /* ranks other than 0 stop silently: one message per job, not P */
    tu_result r = run(NOMPI_EXE, (const char *const[]){NULL},
                      (const char *const[]){"OMPI_COMM_WORLD_SIZE=2", "OMPI_COMM_WORLD_RANK=1",
                                            NULL});
    cr_assert_eq(r.status, 2);
    cr_assert_str_eq(r.err, "");
    cr_assert_str_eq(r.out, "");
    tu_result_free(&r);
    r = run(NOMPI_EXE, (const char *const[]){NULL}, (const char *const[]){"PMIX_RANK=3", NULL});
    cr_assert_eq(r.status, 2);
    tu_result_free(&r);
    /* every command, not only train */
    r = run(NOMPI_EXE, (const char *const[]){"devices", NULL},
            (const char *const[]){"PMI_SIZE=2", NULL});
    cr_assert_eq(r.status, 2);
    cr_assert(strstr(r.err, "built without MPI") != NULL, "%s", r.err);
    tu_result_free(&r);
}

Test(mpi_launch, one_process_under_a_launcher_runs) {
    tu_result r = run(NOMPI_EXE, (const char *const[]){"--epochs", "3", NULL},
                      (const char *const[]){"OMPI_COMM_WORLD_SIZE=1", "OMPI_COMM_WORLD_RANK=0",
                                            NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.out, "Training time") != NULL, "%s", r.out);
    tu_result_free(&r);
}

Test(mpi_launch, scale_ranks_need_mpi_in_the_build) {
    char *dir = tu_tmpdir();
    char *out = tu_path(dir, "res");
    tu_result r = run(NOMPI_EXE,
                      (const char *const[]){"scale", "--ranks", "1,2", "--samples", "2k", "--out",
                                            out, NULL},
                      NULL);
#ifdef NNBENCH_NOMPI_EXE
    const int with_mpi_elsewhere = 1;
#else
    const int with_mpi_elsewhere = 0;
#endif
    if (with_mpi_elsewhere || strstr(r.err, "built without MPI")) {
        cr_assert_eq(r.status, 2, "%s", r.err);
        cr_assert(strstr(r.err, "--ranks 2: this nnbench was built without MPI") != NULL, "%s",
                  r.err);
    }
    tu_result_free(&r);
    free(out);
    tu_rmtree(dir);
}

#ifdef NNBENCH_WITH_MPI
/* With MPI in the build: commands that run in one process refuse P > 1
 * (before starting MPI); train trains across the ranks (test_mpi_train.c). */
Test(mpi_launch, one_process_commands_refuse_several) {
    const char *const env[] = {"PMI_SIZE=3", "PMI_RANK=0", NULL};
    const char *cmds[][2] = {{"devices", "devices runs in one process"},
                             {"gemm", "gemm runs in one process"},
                             {"check", "check runs in one process"},
                             {"scale", "scale runs in one process"}};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        tu_result r = run(NNBENCH_EXE, (const char *const[]){cmds[i][0], NULL}, env);
        cr_assert_eq(r.status, 2, "%s: exit %d", cmds[i][0], r.status);
        cr_assert(strstr(r.err, cmds[i][1]) != NULL, "%s", r.err);
        cr_assert(strstr(r.err, "an MPI launcher started 3 processes (PMI_SIZE=3)") != NULL, "%s",
                  r.err);
        assert_one_line(r.err);
        tu_result_free(&r);
    }
}
#endif

/* A plain run starts no MPI: same output with and without MPI in the build,
 * nothing of MPI's on stderr. */
Test(mpi_launch, a_plain_run_starts_no_mpi) {
    tu_result a = run(NNBENCH_EXE, (const char *const[]){"--epochs", "20", NULL}, NULL);
    tu_result b = run(NOMPI_EXE, (const char *const[]){"--epochs", "20", NULL}, NULL);
    cr_assert_eq(a.status, 0);
    cr_assert_eq(b.status, 0);
    cr_assert_str_eq(a.err, "");
    /* the lines up to the timing ones are identical */
    char *ta = strstr(a.out, "Training time"), *tb = strstr(b.out, "Training time");
    cr_assert(ta && tb);
    cr_assert_eq(ta - a.out, tb - b.out);
    cr_assert(strncmp(a.out, b.out, (size_t)(ta - a.out)) == 0, "%s\nvs\n%s", a.out, b.out);
    tu_result_free(&a);
    tu_result_free(&b);
}
