/* comm_mpi.c — the nn_comm interface on MPI (MPI-3: Open MPI or MPICH).
 * Sums use MPI_Allreduce / MPI_Iallreduce in place; for a fixed number of
 * ranks and message size the library's reduction order is fixed, so results
 * repeat bit for bit. Errors are returned (MPI_ERRORS_RETURN) and turned into
 * NN_E_BACKEND with MPI's message. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_comm_mpi.h"

typedef struct mpi_ctx {
    MPI_Comm comm;  /* private duplicate of MPI_COMM_WORLD */
    int we_initialized;
} mpi_ctx;

struct nn_comm_request {
    MPI_Request req;
};

static nn_status mpi_fail(nn_error *err, int code, const char *what) {
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(code, msg, &len) != MPI_SUCCESS) snprintf(msg, sizeof msg, "error %d", code);
    return nn_error_set(err, NN_E_BACKEND, "MPI %s failed: %s", what, msg);
}

static MPI_Comm comm_of(nn_comm *c) { return ((mpi_ctx *)c->ctx)->comm; }

/* MPI counts are int: large buffers are summed in pieces. */
#define PIECE ((size_t)1 << 30)

/* In-place sum of count elements of `size` bytes (MPI type `type`), in pieces. */
static nn_status allreduce(nn_comm *c, void *buf, size_t count, MPI_Datatype type, size_t size,
                           nn_error *err) {
    for (size_t off = 0; off < count; off += PIECE) {
        int n = (int)(count - off < PIECE ? count - off : PIECE);
        char *piece = (char *)buf + off * size;
        int rc = MPI_Allreduce(MPI_IN_PLACE, piece, n, type, MPI_SUM, comm_of(c));
        if (rc != MPI_SUCCESS) return mpi_fail(err, rc, "all-reduce");
    }
    return NN_OK;
}

static nn_status mpi_allreduce_f32(nn_comm *c, float *buf, size_t count, nn_error *err) {
    return allreduce(c, buf, count, MPI_FLOAT, sizeof *buf, err);
}

static nn_status mpi_allreduce_f64(nn_comm *c, double *buf, size_t count, nn_error *err) {
    return allreduce(c, buf, count, MPI_DOUBLE, sizeof *buf, err);
}

static nn_status mpi_start(nn_comm *c, float *buf, size_t count, nn_comm_request **req,
                           nn_error *err) {
    *req = NULL;
    if (count > PIECE) return mpi_allreduce_f32(c, buf, count, err); /* rare: blocking */
    nn_comm_request *r = malloc(sizeof *r);
    if (!r) return nn_error_set(err, NN_E_NOMEM, "out of memory starting an all-reduce");
    int rc = MPI_Iallreduce(MPI_IN_PLACE, buf, (int)count, MPI_FLOAT, MPI_SUM, comm_of(c), &r->req);
    if (rc != MPI_SUCCESS) {
        free(r);
        return mpi_fail(err, rc, "non-blocking all-reduce");
    }
    *req = r;
    return NN_OK;
}

static nn_status mpi_wait(nn_comm *c, nn_comm_request *req, nn_error *err) {
    (void)c;
    if (!req) return NN_OK;
    int rc = MPI_Wait(&req->req, MPI_STATUS_IGNORE);
    free(req);
    return rc == MPI_SUCCESS ? NN_OK : mpi_fail(err, rc, "wait");
}

/* Let started all-reduces advance: MPI progresses them inside MPI calls. */
static void mpi_progress(nn_comm *c) {
    int flag;
    MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, comm_of(c), &flag, MPI_STATUS_IGNORE);
}

static nn_status mpi_broadcast(nn_comm *c, void *buf, size_t len, int root, nn_error *err) {
    for (size_t off = 0; off < len; off += PIECE) {
        int n = (int)(len - off < PIECE ? len - off : PIECE);
        int rc = MPI_Bcast((char *)buf + off, n, MPI_BYTE, root, comm_of(c));
        if (rc != MPI_SUCCESS) return mpi_fail(err, rc, "broadcast");
    }
    return NN_OK;
}

static const nn_comm_ops MPI_OPS = {
    .name = "mpi",
    .allreduce_f32 = mpi_allreduce_f32,
    .allreduce_f64 = mpi_allreduce_f64,
    .start_allreduce_f32 = mpi_start,
    .wait = mpi_wait,
    .progress = mpi_progress,
    .broadcast = mpi_broadcast,
};

nn_status nn_comm_mpi_open(int *argc, char ***argv, nn_comm **out, nn_error *err) {
    *out = NULL;
    int initialized = 0, rc;
    MPI_Initialized(&initialized);
    if (!initialized && (rc = MPI_Init(argc, argv)) != MPI_SUCCESS)
        return nn_error_set(err, NN_E_UNAVAILABLE, "MPI_Init failed (code %d)", rc);
    nn_comm *c = calloc(1, sizeof *c);
    mpi_ctx *ctx = calloc(1, sizeof *ctx);
    if (!c || !ctx) {
        free(c), free(ctx);
        return nn_error_set(err, NN_E_NOMEM, "out of memory opening the MPI communicator");
    }
    ctx->we_initialized = !initialized;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    if ((rc = MPI_Comm_dup(MPI_COMM_WORLD, &ctx->comm)) != MPI_SUCCESS) {
        free(c), free(ctx);
        return mpi_fail(err, rc, "communicator duplicate");
    }
    MPI_Comm_set_errhandler(ctx->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(ctx->comm, &c->rank);
    MPI_Comm_size(ctx->comm, &c->size);
    MPI_Comm node; /* the ranks sharing this machine's memory */
    c->local_rank = 0;
    c->local_size = 1;
    if (MPI_Comm_split_type(ctx->comm, MPI_COMM_TYPE_SHARED, c->rank, MPI_INFO_NULL, &node) ==
        MPI_SUCCESS) {
        MPI_Comm_rank(node, &c->local_rank);
        MPI_Comm_size(node, &c->local_size);
        MPI_Comm_free(&node);
    }
    c->ops = &MPI_OPS;
    c->ctx = ctx;
    *out = c;
    return NN_OK;
}

void nn_comm_mpi_close(nn_comm *c) {
    int we_initialized = 1;
    if (c) {
        mpi_ctx *ctx = c->ctx;
        we_initialized = ctx->we_initialized;
        MPI_Comm_free(&ctx->comm);
        free(ctx);
        free(c);
    }
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (we_initialized && !finalized) MPI_Finalize();
}

void nn_comm_mpi_abort(nn_comm *c, int code) {
    MPI_Abort(c ? comm_of(c) : MPI_COMM_WORLD, code);
}

const char *nn_comm_mpi_library(char *buf, size_t len) {
    char v[MPI_MAX_LIBRARY_VERSION_STRING];
    int n = 0;
    MPI_Get_library_version(v, &n);
    v[strcspn(v, ",\n")] = '\0';
    snprintf(buf, len, "%s", v);
    return buf;
}
