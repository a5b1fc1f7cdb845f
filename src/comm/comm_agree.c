/* comm_agree.c — agreeing on success or on the first failure across ranks,
 * so that one rank's error stops every rank with the same message instead of
 * leaving the others waiting in a collective. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_comm.h"

nn_status nn_comm_agree(nn_comm *c, nn_status mine, nn_error *err) {
    if (!c || c->size <= 1) return mine;
    nn_error own;
    if (mine != NN_OK) own = err ? *err : (nn_error){.status = mine};
    double failed = mine != NN_OK; /* (1) how many ranks failed */
    nn_status st = c->ops->allreduce_f64(c, &failed, 1, err);
    if (st != NN_OK) return st;
    if (failed == 0.0) return NN_OK;
    /* Who failed: a one-hot vector per rank, summed. Only on the failure path. */
    double *who = calloc((size_t)c->size, sizeof *who); /* (size) */
    if (!who) return nn_error_set(err, NN_E_NOMEM, "out of memory agreeing on an error");
    if (mine != NN_OK) who[c->rank] = 1.0;
    st = c->ops->allreduce_f64(c, who, (size_t)c->size, err);
    int root = 0;
    while (st == NN_OK && root < c->size && who[root] == 0.0) root++;
    free(who);
    if (st != NN_OK) return st;
    if (root == c->size) return nn_error_set(err, NN_E_BACKEND, "ranks disagree on a failure");
    nn_error msg = {0};
    if (c->rank == root) {
        msg = own;
        msg.status = mine;
    }
    st = c->ops->broadcast(c, &msg, sizeof msg, root, err);
    if (st != NN_OK) return st;
    msg.msg[sizeof msg.msg - 1] = '\0';
    if (err) {
        *err = msg;
        snprintf(err->msg, sizeof err->msg, "rank %d: %.4000s", root, msg.msg);
    }
    return msg.status;
}
