/* nn_comm.h — the communicator the training loop talks to when several
 * processes train one model (data parallelism). It knows ranks and sums of
 * host buffers, nothing else: the library has no MPI types and no globals.
 * A single-process communicator is built in; an MPI one lives with the
 * program (it is one implementation of this table among possible others).
 *
 * Every operation is collective: all ranks call it in the same order with
 * the same counts. Buffers are host memory. Sums must be deterministic for a
 * fixed number of ranks (same inputs, same result bits, run after run).
 */
#ifndef NN_COMM_H
#define NN_COMM_H

#include "nn.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nn_comm nn_comm;
typedef struct nn_comm_request nn_comm_request; /* implementation-defined */

typedef struct nn_comm_ops {
    const char *name; /* "single", "mpi", ... */
    /* buf[0..count) = its sum over all ranks, in place; blocking. */
    nn_status (*allreduce_f32)(nn_comm *c, float *buf, size_t count, nn_error *err);
    nn_status (*allreduce_f64)(nn_comm *c, double *buf, size_t count, nn_error *err);
    /* Start an in-place float sum; buf must not be touched until wait returns. */
    nn_status (*start_allreduce_f32)(nn_comm *c, float *buf, size_t count, nn_comm_request **req,
                                     nn_error *err);
    /* Finish a started sum (releases req). */
    nn_status (*wait)(nn_comm *c, nn_comm_request *req, nn_error *err);
    /* Optional (may be NULL): let started operations advance without blocking;
     * the loop calls it between layers of the backward pass. */
    void (*progress)(nn_comm *c);
    /* buf[0..len) of rank `root` copied to every rank. */
    nn_status (*broadcast)(nn_comm *c, void *buf, size_t len, int root, nn_error *err);
} nn_comm_ops;

struct nn_comm {
    const nn_comm_ops *ops;
    int rank;       /* 0 .. size-1 */
    int size;       /* number of ranks, >= 1 */
    int local_rank; /* rank among the ranks of this machine (picks a device) */
    int local_size; /* ranks on this machine */
    void *ctx;      /* the implementation's state */
};

/* A communicator of one rank (every sum is the identity). */
nn_comm nn_comm_single(void);

/* Agree on a status across ranks: every rank passes its own status (and its
 * err when that status is not NN_OK); all ranks return the status of the
 * lowest failing rank and, in err, that rank's message prefixed "rank R: "
 * (when size > 1), or NN_OK when every rank succeeded. Collective. If the
 * agreement itself fails, its own error is returned. */
nn_status nn_comm_agree(nn_comm *c, nn_status mine, nn_error *err);

#ifdef __cplusplus
}
#endif
#endif /* NN_COMM_H */
