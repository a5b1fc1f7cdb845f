/* gemm_bench.c — the matrix multiply as tools benchmark it: on host arrays
 * with the cpu backend's GEMM, or with operands resident on any backend
 * through its ops table (see nn_tools.h). */
#include <stdlib.h>

#include "backend.h"
#include "cpu/gemm.h"
#include "nn_tools.h"

void nn_gemm_host(int threads, float *c, const float *a, const float *b, size_t m, size_t n,
                  size_t k, int trans_a, int trans_b) {
    nn_cpu_gemm(NN_CPU_PATH_AUTO, NULL, &(const nn_par){NULL, threads}, NULL, c, a, b, m, n, k,
                trans_a, trans_b, 0);
}

struct nn_gemm_bench {
    nn_backend *be;
    size_t m, n, k;
    int trans_a, trans_b;
    nn_buf *a; /* (m, k), or (k, m) when trans_a */
    nn_buf *b; /* (k, n), or (n, k) when trans_b */
    nn_buf *c; /* (m, n) */
};

void nn_gemm_bench_free(nn_gemm_bench *g) {
    if (!g) return;
    nn_buf *bufs[3] = {g->a, g->b, g->c};
    for (int i = 0; i < 3; i++)
        if (bufs[i]) g->be->ops->release(g->be, bufs[i]);
    free(g);
}

nn_status nn_gemm_bench_create(nn_backend *be, size_t m, size_t n, size_t k, int trans_a,
                               int trans_b, const float *a, const float *b, nn_gemm_bench **out,
                               nn_error *err) {
    if (!be || !a || !b || !out)
        return nn_error_set(err, NN_E_INVALID, "nn_gemm_bench_create: NULL argument");
    *out = NULL;
    nn_gemm_bench *g = calloc(1, sizeof *g);
    if (!g) return nn_error_set(err, NN_E_NOMEM, "out of memory for a gemm benchmark");
    *g = (nn_gemm_bench){be, m, n, k, trans_a != 0, trans_b != 0, NULL, NULL, NULL};
    const struct nn_backend_ops *ops = be->ops;
    nn_status st = ops->alloc(be, m * k, &g->a, err);
    if (st == NN_OK) st = ops->alloc(be, k * n, &g->b, err);
    if (st == NN_OK) st = ops->alloc(be, m * n, &g->c, err);
    if (st == NN_OK) st = ops->write(be, (nn_view){g->a, 0}, a, m * k, err);
    if (st == NN_OK) st = ops->write(be, (nn_view){g->b, 0}, b, k * n, err);
    if (st == NN_OK) st = ops->sync(be, err);
    if (st != NN_OK) {
        nn_gemm_bench_free(g);
        return st;
    }
    *out = g;
    return NN_OK;
}

nn_status nn_gemm_bench_run(nn_gemm_bench *g, nn_error *err) {
    nn_backend *be = g->be;
    nn_status st = be->ops->matmul(be, (nn_view){g->c, 0}, (nn_view){g->a, 0}, (nn_view){g->b, 0},
                                   g->m, g->n, g->k, g->trans_a, g->trans_b, 0, err);
    return st == NN_OK ? be->ops->sync(be, err) : st;
}

nn_status nn_gemm_bench_read(nn_gemm_bench *g, float *c, nn_error *err) {
    return g->be->ops->read(g->be, (nn_view){g->c, 0}, c, g->m * g->n, err);
}
