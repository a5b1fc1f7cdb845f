/* gemm.h — the CPU backend's matrix multiply (internal). */
#ifndef NN_CPU_GEMM_H
#define NN_CPU_GEMM_H

#include <stddef.h>

/* c: (m, n) = op(a) · op(b) (+ c if accumulate), op as in nn_backend_ops.matmul.
 * Uses up to `threads` OpenMP threads (0 = default); small products run on the
 * calling thread. Each c element's sum over k runs in an order that does not
 * depend on the thread count, so results are bit-identical for any threads. */
void nn_cpu_gemm(int threads, float *c, const float *a, const float *b, size_t m, size_t n,
                 size_t k, int trans_a, int trans_b, int accumulate);

/* Packing memory kept between calls: grows to the largest product's need and
 * is then reused, so repeated products (training steps) allocate nothing. */
typedef struct nn_gemm_workspace {
    void *mem;    /* 64-byte aligned, or NULL */
    size_t bytes; /* capacity of mem */
} nn_gemm_workspace;

/* nn_cpu_gemm with packing buffers from ws (NULL = allocate per call). One
 * workspace must not be used by two calls at the same time. */
void nn_cpu_gemm_ws(nn_gemm_workspace *ws, int threads, float *c, const float *a, const float *b,
                    size_t m, size_t n, size_t k, int trans_a, int trans_b, int accumulate);
/* Release a workspace's memory (the struct is left empty). */
void nn_gemm_workspace_free(nn_gemm_workspace *ws);

#endif
