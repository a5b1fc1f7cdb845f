/* gemm.h — the CPU backend's matrix multiply (internal): one entry point. */
#ifndef NN_CPU_GEMM_H
#define NN_CPU_GEMM_H

#include <stddef.h>

#include "cpu/cpu_par.h"
#include "cpu/cpu_path.h"

/* Packing memory kept between calls: grows to the largest product's need and
 * is then reused, so repeated products (training steps) allocate nothing.
 * Owned by the blocked driver (gemm_blocked.c), the only code that packs. */
typedef struct nn_gemm_workspace {
    void *mem;    /* 64-byte aligned, or NULL */
    size_t bytes; /* capacity of mem */
} nn_gemm_workspace;

/* Release a workspace's memory (the struct is left empty). */
void nn_gemm_workspace_free(nn_gemm_workspace *ws);

/* An epilogue fused into a product, applied to every entry of c once it has
 * its final value, in two parts:
 *  - the simple part, which kernels apply in registers before they store c
 *    (or, where a kernel cannot, a loop right after): in this order,
 *    c = c + bias[j] (bias != NULL), c = c > 0 ? c : 0 (relu != 0),
 *    c = mask[i n + j] > 0 ? c : 0 (mask != NULL: ReLU's derivative from its
 *    output; mask (m, n) like c);
 *  - then fn (if not NULL), called exactly once for every entry of c, on
 *    disjoint blocks, rows [i0, i1) x columns [j0, j1) of c (m, n, row stride
 *    n), right after the block is final (still in cache); it may rewrite it
 *    and write other outputs. It may run on any thread, blocks in any order.
 *    Embed the struct as the first member of a larger one to give fn its
 *    arguments. */
typedef struct nn_gemm_epi nn_gemm_epi;
struct nn_gemm_epi {
    void (*fn)(const nn_gemm_epi *e, float *c, size_t n, size_t i0, size_t i1, size_t j0,
               size_t j1);
    const float *bias; /* (n) */
    int relu;
    const float *mask; /* (m, n) */
};

/* c: (m, n) = op(a) · op(b) (+ c if accumulate), op as in nn_backend_ops.matmul,
 * then epi (NULL = none), on instruction-set `path` (AUTO = the best this CPU
 * runs; an unsupported path falls back to the best), packing into ws (NULL =
 * allocate per call; one workspace serves one call at a time), its chunks run
 * under par (NULL = OpenMP's default thread count; small products run on the
 * calling thread). Each c element's sum over k runs in an order fixed by the
 * shape alone, so results are bit-identical for any thread count and path. */
void nn_cpu_gemm(nn_cpu_path path, nn_gemm_workspace *ws, const nn_par *par,
                 const nn_gemm_epi *epi, float *c, const float *a, const float *b, size_t m,
                 size_t n, size_t k, int trans_a, int trans_b, int accumulate);

#endif
