/* gemm_avx512.c — AVX-512F path: a 14x32 register-blocked micro-kernel
 * (28 zmm accumulators; each k step loads one 32-wide row of the B panel and
 * broadcasts 14 values of the A panel) and the path's descriptor. */
#include "cpu/gemm_avx512.h"

#if NN_GEMM_HAVE_AVX512
#include <immintrin.h>

#define MR 14
#define NV 2 /* vectors per micro-tile row */
#define NR (16 * NV)
#ifndef MCB
#define MCB 16 /* micro-panels per A block (tunable: -DMCB=...) */
#endif
#ifndef KUNROLL
#define KUNROLL 1 /* unrolling of the k loop (tunable) */
#endif
#define PRAGMA_(x) _Pragma(#x)
#define UNROLL_BY(n) PRAGMA_(GCC unroll n)

/* Mask of the first `cols` (0..16) lanes. */
AVX512 static inline __mmask16 lanes(size_t cols) {
    return (__mmask16)(cols >= 16 ? 0xffffu : (1u << cols) - 1u);
}

/* c (mr, nr) = or += acc, masked to the tile's extent. */
AVX512 static void store_partial(float *c, size_t ldc, size_t mr, size_t nr, int add,
                                 __m512 acc[MR][NV]) {
    __mmask16 m[NV];
    for (int v = 0; v < NV; v++) m[v] = lanes(nr > 16u * v ? nr - 16u * v : 0);
    for (size_t i = 0; i < mr; i++) {
        float *ci = c + i * ldc;
        for (int v = 0; v < NV; v++) {
            __m512 x = acc[i][v];
            if (add) x = _mm512_add_ps(_mm512_maskz_loadu_ps(m[v], ci + 16 * v), x);
            _mm512_mask_storeu_ps(ci + 16 * v, m[v], x);
        }
    }
}

/* Micro-kernel (see nn_gemm_kernel_fn): ap (kc, MR), bp (kc, NR). */
AVX512 static void kernel(size_t kc, const float *ap, const float *bp, float *c, size_t ldc,
                          size_t mr, size_t nr, int add) {
    __m512 acc[MR][NV];
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) acc[i][v] = _mm512_setzero_ps();
    for (size_t i = 0; i < mr; i++)
        for (int v = 0; v < NV; v++)
            _mm_prefetch((const char *)(c + i * ldc + 16 * v), _MM_HINT_T0);
    UNROLL_BY(KUNROLL)
    for (size_t p = 0; p < kc; p++) {
        __m512 bv[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) bv[v] = _mm512_load_ps(bp + 16 * v);
#pragma GCC unroll 16
        for (int i = 0; i < MR; i++) {
            const __m512 ai = _mm512_set1_ps(ap[i]);
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
        }
        ap += MR;
        bp += NR;
    }
    if (mr < MR || nr < NR) {
        store_partial(c, ldc, mr, nr, add, acc);
        return;
    }
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
        float *ci = c + i * ldc;
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) {
            __m512 x = acc[i][v];
            if (add) x = _mm512_add_ps(_mm512_loadu_ps(ci + 16 * v), x);
            _mm512_storeu_ps(ci + 16 * v, x);
        }
    }
}

const nn_gemm_isa nn_gemm_isa_avx512 = {
    .path = NN_CPU_PATH_AVX512,
    .mr = MR,
    .nr = NR,
    .mc = MCB * MR,
    .nc = 2048,
    .kernel = kernel,
    .pack_a = nn_gemm_avx512_pack_a,
    .pack_b = nn_gemm_avx512_pack_b,
    .small = nn_gemm_avx512_small,
};

#else /* not x86-64 with GCC: the path exists but is never supported */

const nn_gemm_isa nn_gemm_isa_avx512 = {.path = NN_CPU_PATH_AVX512};

#endif
