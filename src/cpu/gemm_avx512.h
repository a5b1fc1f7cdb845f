/* gemm_avx512.h — pieces of the AVX-512 GEMM path shared by its files. Every
 * function here is compiled for AVX-512F and may run only when
 * nn_cpu_path_supported(NN_CPU_PATH_AVX512). */
#ifndef NN_CPU_GEMM_AVX512_H
#define NN_CPU_GEMM_AVX512_H

#include "cpu/gemm_internal.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define NN_GEMM_HAVE_AVX512 1
#define AVX512 __attribute__((target("avx512f")))
#else
#define NN_GEMM_HAVE_AVX512 0
#define AVX512
#endif

/* nn_gemm_pack_a with vector copies, and an in-register transpose for a
 * row-major a (mr <= 16). */
AVX512 void nn_gemm_avx512_pack_a(float *dst, const nn_gemm_args *args, size_t i0, size_t mc,
                                  size_t p0, size_t kc, size_t mr);
/* nn_gemm_pack_b with vector copies, and an in-register transpose for a transposed b
 * (nr % 16 == 0; dst 64-byte aligned). */
AVX512 void nn_gemm_avx512_pack_b(float *dst, const nn_gemm_args *args, size_t p0, size_t kc,
                                  size_t j0, size_t nc, size_t nr);
/* The direct loops for small and skinny products (see nn_gemm_small_fn). */
AVX512 void nn_gemm_avx512_small(const nn_gemm_args *args, const nn_par *par);

#endif
