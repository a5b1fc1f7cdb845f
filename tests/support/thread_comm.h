/* thread_comm.h — a communicator whose ranks are threads of one process, for
 * testing data-parallel training without MPI. Sums run in rank order, so a
 * fixed number of ranks gives the same bits every run. */
#ifndef NN_THREAD_COMM_H
#define NN_THREAD_COMM_H

#include "nn_comm.h"

typedef struct tc_group tc_group;

/* A group of `size` ranks; comm(group, r) is rank r's communicator. */
tc_group *tc_group_new(int size);
nn_comm *tc_group_comm(tc_group *g, int rank);
void tc_group_free(tc_group *g);

/* Run fn(rank, user) on `size` threads sharing one group; returns when all are done. */
void tc_run_ranks(int size, void (*fn)(nn_comm *comm, void *user), void *user);

#endif
