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

#endif
