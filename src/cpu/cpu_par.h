/* cpu_par.h — who runs the chunks of a parallel job (internal): the CPU
 * backend's thread team, or OpenMP threads (the standalone GEMM of tests and
 * benchmarks). Shared by the GEMM and the elementwise ops. */
#ifndef NN_CPU_PAR_H
#define NN_CPU_PAR_H

#include <stddef.h>

#include "cpu/cpu_team.h"

/* The runner: the backend's team, or (team NULL) OpenMP with `threads`
 * threads (0 = OpenMP's default). */
typedef struct nn_par {
    nn_team *team;
    int threads;
} nn_par;

/* Threads that may run chunks under p (>= 1); chunk functions see thread
 * indices below it. */
int nn_par_threads(const nn_par *p);
/* Run fn on chunks [0, n) (n < 2^32) under p; returns when all are done.
 * size: a hint that tells different jobs of the same fn and n apart (see
 * nn_team_run). */
void nn_par_run(const nn_par *p, size_t n, nn_team_fn fn, void *ctx, size_t size);

#endif
