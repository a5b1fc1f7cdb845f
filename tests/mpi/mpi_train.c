/* mpi_train.c — a test driver: trains one configuration with the MPI
 * communicator (run it under mpirun, or alone for one rank) and has rank 0
 * write the final weights and the logged losses to a binary file:
 *   uint64 n_params, float params[n_params], uint64 n_log, double loss[n_log].
 * usage: mpi_train OUT circles|teacher BATCH sgd|momentum|adam EPOCHS [FAIL_RANK FAIL_ROW]
 * Exit 0 on success, 1 when training failed (the message on stderr, rank 0
 * and the failing rank only). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn.h"
#include "nn_comm_mpi.h"

#define MAX_LOG 256

typedef struct log_t {
    size_t n;
    double loss[MAX_LOG];
} log_t;

static int on_log(void *user, int epoch, double loss) {
    (void)epoch;
    log_t *l = user;
    if (l->n < MAX_LOG) l->loss[l->n++] = loss;
    return 0;
}

typedef struct failing {
    nn_source inner;
    uint64_t row;
} failing;

static nn_status failing_fill(void *ctx, uint64_t first, size_t count, float *x, float *y,
                              nn_error *err) {
    failing *f = ctx;
    if (first + count > f->row)
        return nn_error_set(err, NN_E_IO, "cannot read row %llu", (unsigned long long)f->row);
    return f->inner.fill(f->inner.ctx, first, count, x, y, err);
}

int main(int argc, char **argv) {
    nn_comm *comm = NULL;
    nn_error err;
    if (nn_comm_mpi_open(&argc, &argv, &comm, &err) != NN_OK) {
        fprintf(stderr, "mpi_train: %s\n", err.msg);
        return 1;
    }
    if (argc != 6 && argc != 8) {
        fprintf(stderr, "usage: mpi_train OUT circles|teacher BATCH OPTIMIZER EPOCHS [FAIL_RANK FAIL_ROW]\n");
        nn_comm_mpi_close(comm);
        return 2;
    }
    const int teacher = strcmp(argv[2], "teacher") == 0;
    nn_train_config tc = nn_train_config_default();
    tc.batch = (size_t)atol(argv[3]);
    nn_optimizer_parse(argv[4], &tc.optimizer, &err);
    tc.lr = tc.optimizer == NN_OPT_ADAM ? 0.01 : 0.05;
    tc.epochs = atoi(argv[5]);
    tc.log_every = 1;
    tc.comm = comm;
    log_t log = {0};
    tc.on_log = on_log;
    tc.user = &log;

    nn_dataset all = {0}, train = {0}, test = {0};
    nn_scaler sc = {0};
    nn_data_spec spec = nn_data_spec_default(teacher ? NN_DATA_TEACHER : NN_DATA_CIRCLES);
    spec.features = teacher ? 8 : 2;
    spec.classes = 2;
    nn_generator_source gen = {spec, 0};
    nn_source src;
    nn_status st = NN_OK;
    if (teacher) { /* streamed: each rank generates the rows of its slices */
        src = nn_source_from_generator(&gen, 5000);
        tc.chunk_rows = 1000;
    } else { /* every rank holds the same standardized set */
        st = nn_data_generate(&spec, &all, &err);
        if (st == NN_OK) st = nn_data_split(&all, 0.2, 42, &train, &test, &err);
        if (st == NN_OK) st = nn_data_standardize(&train, &test, &sc, &err);
        src = nn_source_from_dataset(&train);
    }
    failing fail = {src, 0};
    if (argc == 8 && atoi(argv[6]) == comm->rank) {
        fail.row = (uint64_t)atoll(argv[7]);
        src.fill = failing_fill;
        src.fill_rows = NULL;
        src.ctx = &fail;
    }
    nn_backend *be = NULL;
    nn_backend_config bc = {1, NULL, 0};
    nn_model *m = NULL;
    nn_model_config mc = {.n_sizes = 4, .sizes = {spec.features, 16, 8, 1}, .hidden = NN_ACT_RELU,
                          .loss = NN_LOSS_BCE, .seed = 42};
    if (st == NN_OK) st = nn_backend_open("cpu", &bc, &be, &err);
    if (st == NN_OK) st = nn_model_create(be, &mc, &m, &err);
    st = nn_comm_agree(comm, st, &err);
    nn_train_result res;
    if (st == NN_OK) st = nn_train(m, &src, &tc, &res, &err);
    if (st == NN_OK && comm->rank == 0) {
        size_t n = nn_model_param_count(m);
        float *p = malloc(n * sizeof(float));
        FILE *f = fopen(argv[1], "wb");
        uint64_t n64 = n, nl = log.n;
        st = p && f && nn_model_get_params(m, p, n, &err) == NN_OK &&
                     fwrite(&n64, 8, 1, f) == 1 && fwrite(p, sizeof(float), n, f) == n &&
                     fwrite(&nl, 8, 1, f) == 1 && fwrite(log.loss, 8, log.n, f) == log.n
                 ? NN_OK
                 : nn_error_set(&err, NN_E_IO, "cannot write %s", argv[1]);
        if (f && fclose(f) != 0) st = nn_error_set(&err, NN_E_IO, "cannot write %s", argv[1]);
        free(p);
    }
    if (st != NN_OK && comm->rank == 0) fprintf(stderr, "mpi_train: %s\n", err.msg);
    nn_model_free(m);
    nn_backend_close(be);
    nn_scaler_free(&sc);
    nn_dataset_free(&all), nn_dataset_free(&train), nn_dataset_free(&test);
    nn_comm_mpi_close(comm);
    return st == NN_OK ? 0 : 1;
}
