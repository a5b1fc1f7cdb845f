/* ranks.c — see ranks.h. The program's one piece of global state lives
 * here: the job's communicator, opened once by main before the command runs
 * (the library itself has none). */
#include "ranks.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "nn_tools.h"
#ifdef NNBENCH_MPI
#include "nn_comm_mpi.h"
#endif

static nn_comm *job_comm; /* the MPI communicator once started, else NULL */
static FILE *held_stderr;  /* ranks other than 0: what they would have printed */

/* The value of the first of `names` that is set to a whole number >= 0;
 * -1 when none is. *which names it. */
static long env_number(const char *const *names, const char **which) {
    for (size_t i = 0; names[i]; i++) {
        const char *v = getenv(names[i]);
        if (!v || !*v) continue;
        char *end;
        errno = 0;
        long n = strtol(v, &end, 10);
        if (*end == '\0' && errno == 0 && n >= 0) {
            if (which) *which = names[i];
            return n;
        }
    }
    return -1;
}

ranks_launch ranks_detect(void) {
    static const char *const SIZE_VARS[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE",
                                            "MV2_COMM_WORLD_SIZE", "SLURM_STEP_NUM_TASKS", NULL};
    static const char *const RANK_VARS[] = {"OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK",
                                            "MV2_COMM_WORLD_RANK", NULL};
    /* ranks on this machine: more than one means more than one in the job */
    static const char *const LOCAL_VARS[] = {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS",
                                             NULL};
    ranks_launch l = {0, -1, -1, NULL};
    const char *size_var = NULL, *rank_var = NULL, *local_var = NULL;
    l.size = env_number(SIZE_VARS, &size_var);
    l.rank = env_number(RANK_VARS, &rank_var);
    long local = env_number(LOCAL_VARS, &local_var);
    if (l.size < 0 && local > 1) l.size = local, size_var = local_var;
    l.launched = l.size >= 0 || l.rank >= 0 || local >= 0;
    l.var = size_var ? size_var : rank_var ? rank_var : local_var;
    return l;
}

int ranks_built_with_mpi(void) {
#ifdef NNBENCH_MPI
    return 1;
#else
    return 0;
#endif
}

/* "4 processes (PMI_SIZE=4)" or "several processes (PMIX_RANK=1)". */
static void describe(const ranks_launch *l, char *buf, size_t len) {
    if (l->size >= 0) snprintf(buf, len, "%ld processes (%s=%ld)", l->size, l->var, l->size);
    else snprintf(buf, len, "several processes (%s=%ld)", l->var, l->rank);
}

#ifdef NNBENCH_MPI
/* Only rank 0 speaks: this process's stderr goes to an unnamed file instead,
 * whose last line ranks_agree hands to rank 0 when this rank failed alone. */
static void hold_stderr(void) {
    fflush(stderr);
    held_stderr = tmpfile();
    if (held_stderr) dup2(fileno(held_stderr), STDERR_FILENO);
}

/* Only rank 0 speaks: send this process's stdout to /dev/null. */
static void silence_stdout(void) {
    fflush(stdout);
    int fd = open("/dev/null", O_WRONLY);
    if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        close(fd);
    }
}
#endif

int ranks_start(const char *command, int uses_ranks, int *argc, char ***argv) {
    const ranks_launch l = ranks_detect();
    if (!l.launched) return EXIT_OK;
    const int several = l.size > 1 || l.rank > 0;
    const int speaker = l.rank <= 0; /* rank 0, or every rank when ranks are not said */
    char how[160];
    describe(&l, how, sizeof how);
    if (several && !ranks_built_with_mpi()) {
        if (speaker)
            cli_usage_error("an MPI launcher started %s, but this nnbench was built without MPI, "
                            "so each would train alone; rebuild with MPI (setup.sh installs "
                            "libopenmpi-dev, CMake finds it) or run without mpirun", how);
        return EXIT_USAGE;
    }
    if (several && !uses_ranks) {
        if (speaker)
            cli_usage_error("%s runs in one process, but an MPI launcher started %s; run it "
                            "without mpirun%s", command, how,
                            strcmp(command, "train") == 0
                                ? " (`nnbench scale --ranks` trains across ranks)"
                                : "");
        return EXIT_USAGE;
    }
#ifdef NNBENCH_MPI
    if (!uses_ranks) return EXIT_OK; /* one process under a launcher: no MPI needed */
    nn_error err;
    if (nn_comm_mpi_open(argc, argv, &job_comm, &err) != NN_OK) {
        if (speaker) fprintf(stderr, "nnbench: cannot start MPI: %s\n", err.msg);
        return EXIT_FAIL;
    }
    if (job_comm->rank != 0) silence_stdout(), hold_stderr();
#else
    (void)argc, (void)argv;
#endif
    return EXIT_OK;
}

nn_comm *ranks_comm(void) { return job_comm; }

int ranks_is_root(void) { return !job_comm || job_comm->rank == 0; }

/* The last non-empty line this rank printed to its held stderr, without the
 * "nnbench: " prefix, into buf ("" when none). */
static void last_held_line(char *buf, size_t len) {
    buf[0] = '\0';
    if (!held_stderr) return;
    fflush(stderr);
    long end = lseek(STDERR_FILENO, 0, SEEK_END);
    long from = end > 4000 ? end - 4000 : 0;
    char tail[4001];
    ssize_t n = pread(STDERR_FILENO, tail, (size_t)(end - from), from);
    if (n <= 0) return;
    tail[n] = '\0';
    while (n > 0 && (tail[n - 1] == '\n' || tail[n - 1] == '\r')) tail[--n] = '\0';
    const char *line = strrchr(tail, '\n');
    line = line ? line + 1 : tail;
    if (strncmp(line, "nnbench: ", 9) == 0) line += 9;
    size_t n_line = strlen(line) < len ? strlen(line) : len - 1;
    memcpy(buf, line, n_line);
    buf[n_line] = '\0';
}

int ranks_agree(int rc) {
    nn_comm *c = job_comm;
    if (!c || c->size <= 1) return rc;
    nn_error err;
    double *who = calloc((size_t)c->size, sizeof *who); /* (size) one-hot of failed ranks */
    if (!who) ranks_abort(EXIT_FAIL);
    who[c->rank] = rc != EXIT_OK;
    if (c->ops->allreduce_f64(c, who, (size_t)c->size, &err) != NN_OK) ranks_abort(EXIT_FAIL);
    int first = 0;
    while (first < c->size && who[first] == 0.0) first++;
    free(who);
    if (first == c->size) return rc;
    struct {
        int rc;
        char msg[1024];
    } said = {rc, ""};
    if (c->rank == first && first != 0) last_held_line(said.msg, sizeof said.msg);
    if (c->ops->broadcast(c, &said, sizeof said, first, &err) != NN_OK) ranks_abort(EXIT_FAIL);
    said.msg[sizeof said.msg - 1] = '\0';
    if (c->rank == 0 && first != 0) /* rank 0 printed its own failures already */
        fprintf(stderr, "nnbench: rank %d: %s\n", first,
                said.msg[0] ? said.msg : "failed (no message)");
    return said.rc;
}

const char *ranks_mpi_library(char *buf, size_t len) {
#ifdef NNBENCH_MPI
    return nn_comm_mpi_library(buf, len);
#else
    snprintf(buf, len, "no MPI");
    return buf;
#endif
}

int ranks_finish(int rc) {
#ifdef NNBENCH_MPI
    if (job_comm) {
        fflush(NULL);
        nn_comm_mpi_close(job_comm);
        job_comm = NULL;
    }
#endif
    return rc;
}

void ranks_abort(int rc) {
    fflush(NULL);
#ifdef NNBENCH_MPI
    if (job_comm && job_comm->size > 1) nn_comm_mpi_abort(job_comm, rc);
#endif
    exit(rc);
}

const char *ranks_device(const char *backend, const char *given, char *buf, size_t len) {
    if (given) return given;
    const nn_comm *c = job_comm;
    if (!c || c->local_size <= 1 || getenv("NN_OPENCL_DEVICE")) return NULL;
    if (strcmp(backend, "opencl") != 0 && strcmp(backend, "auto") != 0) return NULL;
    nn_opencl_device_info *devs = NULL;
    size_t n = 0, accel = 0;
    nn_error err;
    if (nn_opencl_list_devices(&devs, &n, &err) != NN_OK || n == 0) return NULL;
    for (size_t i = 0; i < n; i++)
        accel += strcmp(devs[i].type, "GPU") == 0 || strcmp(devs[i].type, "ACCELERATOR") == 0;
    size_t pick = (size_t)c->local_rank % (accel ? accel : n), seen = 0, index = devs[0].index;
    for (size_t i = 0; i < n; i++) {
        int fits = !accel || strcmp(devs[i].type, "GPU") == 0 ||
                   strcmp(devs[i].type, "ACCELERATOR") == 0;
        if (fits && seen++ == pick) {
            index = devs[i].index;
            break;
        }
    }
    free(devs);
    snprintf(buf, len, "%zu", index);
    return buf;
}

/* ---------------------------------------------------------- injected faults */

static nn_status fault_fill(void *ctx, uint64_t first, size_t count, float *x, float *y,
                            nn_error *err) {
    ranks_fault *f = ctx;
    if (first + count > f->row)
        return nn_error_set(err, NN_E_IO, "cannot read training row %llu (injected fault)",
                            (unsigned long long)f->row);
    return f->inner.fill(f->inner.ctx, first, count, x, y, err);
}

static nn_status fault_fill_rows(void *ctx, const uint64_t *rows, size_t count, float *x,
                                 float *y, nn_error *err) {
    ranks_fault *f = ctx;
    for (size_t i = 0; i < count; i++)
        if (rows[i] >= f->row)
            return nn_error_set(err, NN_E_IO, "cannot read training row %llu (injected fault)",
                                (unsigned long long)f->row);
    return f->inner.fill_rows(f->inner.ctx, rows, count, x, y, err);
}

void ranks_fault_apply(ranks_fault *f, int rank, nn_source *src) {
    memset(f, 0, sizeof *f);
    const char *v = getenv("NNBENCH_TEST_FAULT");
    char *end;
    if (!v || strtol(v, &end, 10) != rank || *end != ':') return;
    if (strcmp(end, ":exit") == 0) {
        f->kind = 2;
    } else if (strncmp(end, ":row:", 5) == 0) {
        f->kind = 1;
        f->row = strtoull(end + 5, NULL, 10);
        f->inner = *src;
        src->ctx = f;
        src->fill = fault_fill;
        src->fill_rows = src->fill_rows ? fault_fill_rows : NULL;
    }
}

void ranks_fault_exit(const ranks_fault *f) {
    if (f->kind == 2) {
        fflush(NULL);
        _exit(7);
    }
}
