/* ranks.h — the program's MPI glue: whether an MPI launcher (mpirun,
 * mpiexec, srun) started this process, starting MPI for the commands that
 * train across ranks, and what those commands need from it (the
 * communicator, the rank's device, a job-wide stop). The library sees only
 * the nn_comm; MPI itself stays in src/comm/mpi (library nn_mpi), which the
 * program links when CMake found MPI (NNBENCH_MPI). A plain run never
 * initializes MPI and prints nothing of it. */
#ifndef NNBENCH_RANKS_H
#define NNBENCH_RANKS_H

#include <stddef.h>
#include <stdint.h>

#include "nn_comm.h"

/* What the environment says about a launcher (no MPI call is made). */
typedef struct ranks_launch {
    int launched;       /* 1 when a launcher's variables are present */
    long size;          /* processes of the job, or -1 when not said */
    long rank;          /* this process's rank, or -1 when not said */
    const char *var;    /* the variable that told the size (or the rank), for messages */
} ranks_launch;

/* Read the launcher variables of Open MPI (OMPI_COMM_WORLD_*), MPICH/Hydra
 * and Intel MPI (PMI_SIZE, PMI_RANK, MPI_LOCALNRANKS), PMIx (PMIX_RANK),
 * MVAPICH (MV2_COMM_WORLD_*) and Slurm job steps (SLURM_STEP_NUM_TASKS). */
ranks_launch ranks_detect(void);

/* 1 when this nnbench was built with MPI. */
int ranks_built_with_mpi(void);

/* Called by main before a command runs. uses_ranks: the command trains one
 * model across ranks (it calls ranks_comm). Under a launcher with P > 1:
 * without MPI in the build, or for a command that cannot use ranks, prints
 * one line (rank 0 only) and returns EXIT_USAGE; else initializes MPI and
 * keeps the communicator, and sends the stdout of ranks other than 0 to
 * /dev/null (only rank 0 prints). Not under a launcher: does nothing.
 * Returns EXIT_OK to run the command, or an exit code. */
int ranks_start(const char *command, int uses_ranks, int *argc, char ***argv);

/* The communicator of this job (size >= 1), or NULL when MPI was not started
 * (a plain run: the command trains alone). */
nn_comm *ranks_comm(void);

/* 1 on the rank that prints and writes files (rank 0, or a plain run). */
int ranks_is_root(void);

/* Collective, for the steps of a command outside the library's own
 * agreements (options, files, data, backend, model): every rank passes its
 * exit code; all return the code of the lowest rank that failed (EXIT_OK when
 * none did), and rank 0 prints that rank's last message as "nnbench: rank R:
 * ..." (ranks other than 0 print nothing themselves: their stderr is held).
 * A plain run returns rc. */
int ranks_agree(int rc);

/* The MPI library this nnbench was built with ("Open MPI v4.1.4"), or
 * "no MPI", into buf. */
const char *ranks_mpi_library(char *buf, size_t len);

/* Finish MPI if it was started; returns rc. Every rank must call it. */
int ranks_finish(int rc);

/* Stop every process of the job with exit code rc (a failure outside the
 * collectives, which the other ranks could not learn of); plain exit without
 * MPI. Does not return. */
void ranks_abort(int rc) __attribute__((noreturn));

/* The OpenCL device this rank should use: `given` when set; else, with
 * several ranks on this machine and backend "opencl" or "auto", the device
 * (local rank mod the machine's GPUs and accelerators, or mod all devices
 * when there are none) as its index in buf; else NULL (the backend's
 * default). */
const char *ranks_device(const char *backend, const char *given, char *buf, size_t len);

/* Injected faults, for the tests of fault handling (nothing else sets
 * them): NNBENCH_TEST_FAULT="R:row:N" makes rank R's training rows fail from
 * row N on (an unreadable input on one node), "R:exit" makes rank R exit
 * with code 7 where the command calls ranks_fault_exit (a dead node). */
typedef struct ranks_fault {
    int kind;       /* 0 none, 1 rows fail, 2 exit */
    uint64_t row;   /* kind 1: the first row that fails */
    nn_source inner;
} ranks_fault;
/* Read the fault of `rank` into f and, for a row fault, wrap *src so that
 * its rows from f->row on fail with NN_E_IO (f must outlive src). */
void ranks_fault_apply(ranks_fault *f, int rank, nn_source *src);
/* Exit with code 7 when f is an exit fault. */
void ranks_fault_exit(const ranks_fault *f);

#endif
