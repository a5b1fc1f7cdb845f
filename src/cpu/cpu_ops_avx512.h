/* cpu_ops_avx512.h — AVX-512F versions of some of cpu_ops.c's loops (internal).
 * Each computes exactly the bits of the portable loop it replaces (the same
 * IEEE operations on the same operands in the same order), so which one runs
 * never changes a result. Call them only on the AVX-512 path (cpu_path.h). */
#ifndef NN_CPU_OPS_AVX512_H
#define NN_CPU_OPS_AVX512_H

#include <stddef.h>

/* 1 where these functions are compiled (x86-64 with GCC). */
#if defined(__x86_64__) && defined(__GNUC__)
#define NN_CPU_HAVE_AVX512 1
#else
#define NN_CPU_HAVE_AVX512 0
#endif

/* y: (n) = z > 0 ? z : 0; y may equal z. */
void nn_avx512_relu_forward(float *y, const float *z, size_t n);
/* dz: (n) = y > 0 ? dy : 0; dz may equal dy. */
void nn_avx512_relu_backward(float *dz, const float *dy, const float *y, size_t n);
/* y: (n) = 1 / (1 + nn_exp_f(-z)); y may equal z. */
void nn_avx512_sigmoid(float *y, const float *z, size_t n);
/* z: (rows, cols) += bias: (cols) for 1 <= cols < 16. */
void nn_avx512_bias_narrow(float *z, const float *bias, size_t rows, size_t cols);
/* out: (cols) = column sums of x: (rows, cols) in col_sum's order (16 partial
 * sums folded in halves, see cpu_ops.c), for 1 <= cols < 16. */
void nn_avx512_col_sum_narrow(float *out, const float *x, size_t rows, size_t cols);

/* out: (n) = the BCE loss of each logit z: (n) against target t: (n), in
 * double: (z > 0 ? z : 0) - z t + nn_softplus_neg(|z|), capped at cap, NaN
 * where z is not finite (as bce_elem in cpu_ops.c). */
void nn_avx512_bce_elems(double *out, const float *z, const float *t, size_t n, double cap);
/* Blocks of `rows` rows of `cols` elements at row stride ld, any cols: */
/* dz = y > 0 ? dy : 0; dz may equal dy. */
void nn_avx512_relu_backward_block(float *dz, const float *dy, const float *y, size_t ld,
                                   size_t rows, size_t cols);

#endif
