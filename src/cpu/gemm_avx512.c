/* gemm_avx512.c — AVX-512F path: a 14x32 register-blocked micro-kernel
 * (28 zmm accumulators, B rows loaded as vectors, A values broadcast) and a
 * masked direct loop for small products. Compiled for generic x86-64; only the
 * functions marked AVX512 use AVX-512, and they run only when the CPU has it. */
#include "cpu/gemm_internal.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f")))
#ifndef MR
#define MR 14
#endif
#ifndef NV
#define NV 2 /* vectors per micro-tile row */
#endif
#ifndef PFH
#define PFH _MM_HINT_T0
#endif
#define NR (16 * NV)
#ifndef MCB
#define MCB 16
#endif

/* Mask of the first `cols` (0..16) lanes. */
AVX512 static inline __mmask16 lanes(size_t cols) {
    return (__mmask16)(cols >= 16 ? 0xffffu : (1u << cols) - 1u);
}

/* c (mr, nr) = or += acc, masked to the tile's extent. */
AVX512 static inline void store_tile(float *c, size_t ldc, size_t mr, size_t nr, int add,
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

/* Micro-kernel (see nn_gemm_kernel_fn): ap (kc, 14), bp (kc, 32). */
AVX512 static void kernel_14x32(size_t kc, const float *ap, const float *bp, float *c,
                                size_t ldc, size_t mr, size_t nr, int add) {
    __m512 acc[MR][NV];
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) acc[i][v] = _mm512_setzero_ps();
    for (size_t i = 0; i < mr; i++) 
        for (int v = 0; v < NV; v++) _mm_prefetch((const char *)(c + i * ldc + 16 * v), PFH);
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
    if (mr == MR && nr == NR) {
        for (int i = 0; i < MR; i++) {
            float *ci = c + i * ldc;
            for (int v = 0; v < NV; v++) {
                __m512 x = acc[i][v];
                if (add) x = _mm512_add_ps(_mm512_loadu_ps(ci + 16 * v), x);
                _mm512_storeu_ps(ci + 16 * v, x);
            }
        }
        return;
    }
    store_tile(c, ldc, mr, nr, add, acc);
}

/* Direct loop: each c row in 16-wide masked chunks, summed over p in registers. */
AVX512 static void small_avx512(const nn_gemm_args *g) {
    const size_t m = g->m, n = g->n, k = g->k;
    float bt[NN_GEMM_SMALL_MAX_BT]; /* (k, n): op(b) when b is transposed */
    const float *b = g->b;
    if (g->trans_b) {
        if (n * k > NN_GEMM_SMALL_MAX_BT) {
            nn_gemm_small_c(g);
            return;
        }
        nn_gemm_transpose_b(bt, g);
        b = bt;
    }
    const size_t sai = g->trans_a ? 1 : k, sap = g->trans_a ? m : 1; /* op(a)(i,p) = a[i*sai + p*sap] */
    for (size_t i = 0; i < m; i++) {
        const float *ai = g->a + i * sai;
        float *ci = g->c + i * n;
        for (size_t j = 0; j < n; j += 16) {
            const __mmask16 mk = lanes(n - j);
            __m512 acc = g->accumulate ? _mm512_maskz_loadu_ps(mk, ci + j) : _mm512_setzero_ps();
            for (size_t p = 0; p < k; p++)
                acc = _mm512_fmadd_ps(_mm512_set1_ps(ai[p * sap]),
                                      _mm512_maskz_loadu_ps(mk, b + p * n + j), acc);
            _mm512_mask_storeu_ps(ci + j, mk, acc);
        }
    }
}

const nn_gemm_isa nn_gemm_isa_avx512 = {
    .path = NN_GEMM_PATH_AVX512,
    .mr = MR,
    .nr = NR,
    .mc = MCB * MR,
    .nc = 4096,
    .kernel = kernel_14x32,
    .small = small_avx512,
};

#else /* not x86-64: the path exists but is never supported */

const nn_gemm_isa nn_gemm_isa_avx512 = {
    .path = NN_GEMM_PATH_AVX512, .mr = 0, .nr = 0, .mc = 0, .nc = 0, .kernel = 0, .small = 0};

#endif
