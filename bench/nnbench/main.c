/* main.c — nnbench: dispatch to a command (train is the default). Under an
 * MPI launcher, ranks.c first decides whether the command may run with
 * several processes and starts MPI for those that train across ranks. */
#include <string.h>

#include "cli.h"
#include "ranks.h"
#include "scale.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary; /* NULL: internal, not listed */
    /* 1: trains one model across MPI ranks (uses ranks_comm()); 0: refuses to
     * run with several processes. train becomes 1 once cmd_train passes
     * ranks_comm() to its trainer. */
    int uses_ranks;
} command;

static const command COMMANDS[] = {
    {"train", cmd_train, "train a network (default command; mpirun -n P: P ranks)", 1},
    {"devices", cmd_devices, "list OpenCL platforms and devices", 0},
    {"predict", cmd_predict, "apply a saved model to CSV or generated rows", 0},
    {"check", cmd_check, "train on cpu and opencl side by side and compare", 0},
    {"scale", cmd_scale, "scaling sweeps on streamed synthetic data (CSV, JSON, charts)", 0},
    {"gemm", cmd_gemm, "matrix-multiply GFLOP/s of each backend and of OpenBLAS/CLBlast", 0},
    {"tune", cmd_tune, "search the OpenCL launch parameters of a device and cache them", 0},
    {SCALE_POINT_COMMAND, cmd_scale_point, NULL, 1},
};
#define N_COMMANDS (sizeof COMMANDS / sizeof COMMANDS[0])

static void print_commands(FILE *f) {
    fprintf(f, "commands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (COMMANDS[i].summary) fprintf(f, "  %-8s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
}

/* Run command c with argv after the command word; MPI around it when launched. */
static int run(const command *c, int argc, char **argv) {
    int rc = ranks_start(c->name, c->uses_ranks, &argc, &argv);
    if (rc != EXIT_OK) return rc;
    return ranks_finish(c->run(argc, argv));
}

int main(int argc, char **argv) {
    if (argc >= 2 && argv[1][0] != '-') {
        for (size_t i = 0; i < N_COMMANDS; i++)
            if (strcmp(argv[1], COMMANDS[i].name) == 0) return run(&COMMANDS[i], argc - 1, argv + 1);
        return cli_usage_error("unknown command '%s' (see nnbench --help)", argv[1]);
    }
    /* No command word: train, with all arguments as its options. */
    int rc = run(&COMMANDS[0], argc, argv);
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
        print_commands(stdout);
    return rc;
}
