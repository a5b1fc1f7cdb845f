/* main.c — nnbench: dispatch to a command (train is the default). */
#include <string.h>

#include "cli.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command COMMANDS[] = {
    {"train", cmd_train, "train a network (default command)"},
    {"devices", cmd_devices, "list OpenCL platforms and devices"},
    {"predict", cmd_predict, "apply a saved model to CSV or generated rows"},
    {"check", cmd_check, "train on cpu and opencl side by side and compare"},
    {"scale", cmd_scale, "scaling sweeps on streamed synthetic data (CSV, JSON, charts)"},
    {"gemm", cmd_gemm, "matrix-multiply GFLOP/s of each backend and of OpenBLAS/CLBlast"},
    {"tune", cmd_tune, "search the OpenCL launch parameters of a device and cache them"},
};

static void print_commands(FILE *f) {
    fprintf(f, "commands:\n");
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        fprintf(f, "  %-8s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
}

int main(int argc, char **argv) {
    if (argc >= 2 && argv[1][0] != '-') {
        for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
            if (strcmp(argv[1], COMMANDS[i].name) == 0) return COMMANDS[i].run(argc - 1, argv + 1);
        return cli_usage_error("unknown command '%s' (see nnbench --help)", argv[1]);
    }
    /* No command word: train, with all arguments as its options. */
    int rc = cmd_train(argc, argv);
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
        print_commands(stdout);
    return rc;
}
