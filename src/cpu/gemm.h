/* gemm.h — the CPU backend's matrix multiply (internal): one entry point. */
#ifndef NN_CPU_GEMM_H
#define NN_CPU_GEMM_H

#include <stddef.h>

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

/* c: (m, n) = op(a) · op(b) (+ c if accumulate), op as in nn_backend_ops.matmul,
 * on instruction-set `path` (AUTO = the best this CPU runs; an unsupported path
 * falls back to the best), packing into ws (NULL = allocate per call; one
 * workspace serves one call at a time), on up to `threads` OpenMP threads
 * (0 = default; small products run on the calling thread). Each c element's
 * sum over k runs in an order fixed by the shape alone, so results are
 * bit-identical for any thread count. */
void nn_cpu_gemm(nn_cpu_path path, nn_gemm_workspace *ws, int threads, float *c, const float *a,
                 const float *b, size_t m, size_t n, size_t k, int trans_a, int trans_b,
                 int accumulate);

#endif
