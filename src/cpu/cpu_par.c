/* cpu_par.c — a parallel job on the backend's team or on OpenMP threads. */
#include "cpu/cpu_par.h"

#include <omp.h>

int nn_par_threads(const nn_par *p) {
    if (p->team) return nn_team_size(p->team);
    return p->threads > 0 ? p->threads : omp_get_max_threads();
}

void nn_par_run(const nn_par *p, size_t n, nn_team_fn fn, void *ctx, size_t size) {
    if (p->team) {
        nn_team_run(p->team, n, fn, ctx, size);
        return;
    }
    const int nt = nn_par_threads(p);
    if (nt <= 1 || n < 2) {
        for (size_t c = 0; c < n; c++) fn(ctx, c, 0);
        return;
    }
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
    for (size_t c = 0; c < n; c++) fn(ctx, c, omp_get_thread_num());
}
