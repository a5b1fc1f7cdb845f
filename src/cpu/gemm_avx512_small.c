/* gemm_avx512_small.c — AVX-512 direct loop for small products: each c row
 * in 16-wide masked chunks, summed over k in a register (no packing, no fork). */
#include "cpu/gemm_avx512.h"

#if NN_GEMM_HAVE_AVX512
#include <immintrin.h>

void nn_gemm_avx512_small(const nn_gemm_args *g) {
    const size_t m = g->m, n = g->n, k = g->k;
    float bt[NN_GEMM_SMALL_MAX_BT]; /* (k, n): op(b) when b is transposed */
    const float *b = g->b;          /* op(b)(p, j) = b[p*n + j] */
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
            const __mmask16 mk = (__mmask16)(n - j >= 16 ? 0xffffu : (1u << (n - j)) - 1u);
            __m512 acc = g->accumulate ? _mm512_maskz_loadu_ps(mk, ci + j) : _mm512_setzero_ps();
            for (size_t p = 0; p < k; p++)
                acc = _mm512_fmadd_ps(_mm512_set1_ps(ai[p * sap]),
                                      _mm512_maskz_loadu_ps(mk, b + p * n + j), acc);
            _mm512_mask_storeu_ps(ci + j, mk, acc);
        }
    }
}

#endif
