/* gemm_avx2.c — AVX2+FMA path: a 6x16 register-blocked micro-kernel (12 ymm
 * accumulators) and masked direct loops for small and skinny products. Only the
 * functions marked AVX2 use AVX2/FMA, and they run only when the CPU has them. */
#include "cpu/gemm_internal.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))
#define MR 6
#define NV 2 /* vectors per micro-tile row */
#define NR (8 * NV)

/* Lane mask (all-ones lanes) for the first `cols` (0..8) lanes. */
AVX2 static inline __m256i lanes(size_t cols) {
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(cols > 8 ? 8 : cols)), idx);
}

/* Micro-kernel (see nn_gemm_kernel_fn): ap (kc, 6), bp (kc, 16). */
AVX2 static void kernel_6x16(size_t kc, const float *ap, const float *bp, float *c, size_t ldc,
                             size_t mr, size_t nr, int add) {
    __m256 acc[MR][NV];
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++) acc[i][v] = _mm256_setzero_ps();
    for (size_t i = 0; i < mr; i++) _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
    for (size_t p = 0; p < kc; p++) {
        const __m256 b0 = _mm256_load_ps(bp), b1 = _mm256_load_ps(bp + 8);
#pragma GCC unroll 6
        for (int i = 0; i < MR; i++) {
            const __m256 ai = _mm256_broadcast_ss(ap + i);
            acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
        }
        ap += MR;
        bp += NR;
    }
    __m256i mk[NV];
    for (int v = 0; v < NV; v++) mk[v] = lanes(nr > 8u * v ? nr - 8u * v : 0);
    for (size_t i = 0; i < mr; i++) {
        float *ci = c + i * ldc;
        for (int v = 0; v < NV; v++) {
            __m256 x = acc[i][v];
            if (nr == NR) {
                if (add) x = _mm256_add_ps(_mm256_loadu_ps(ci + 8 * v), x);
                _mm256_storeu_ps(ci + 8 * v, x);
            } else {
                if (add) x = _mm256_add_ps(_mm256_maskload_ps(ci + 8 * v, mk[v]), x);
                _mm256_maskstore_ps(ci + 8 * v, mk[v], x);
            }
        }
    }
}

/* Rows [i0, i1) of the rows form: each c row in 32-wide pieces (four masked
 * 8-wide chains), summed over p in registers; b is op(b) as (k, n). */
AVX2 static void rows_avx2(const nn_gemm_args *g, const float *b, size_t i0, size_t i1) {
    const size_t m = g->m, n = g->n, k = g->k;
    /* op(a)(i, p) = a[i*sai + p*sap] */
    const size_t sai = g->trans_a ? 1 : k, sap = g->trans_a ? m : 1;
    for (size_t i = i0; i < i1; i++) {
        const float *ai = g->a + i * sai;
        float *ci = g->c + i * n;
        for (size_t j = 0; j < n; j += 32) {
            __m256i mk[4];
            __m256 acc[4];
#pragma GCC unroll 4
            for (int v = 0; v < 4; v++) {
                const size_t jv = j + 8 * (size_t)v;
                mk[v] = lanes(jv < n ? n - jv : 0);
                acc[v] = g->accumulate ? _mm256_maskload_ps(ci + jv, mk[v]) : _mm256_setzero_ps();
            }
            for (size_t p = 0; p < k; p++) {
                const __m256 av = _mm256_broadcast_ss(ai + p * sap);
                const float *bp = b + p * n + j;
#pragma GCC unroll 4
                for (int v = 0; v < 4; v++)
                    acc[v] = _mm256_fmadd_ps(av, _mm256_maskload_ps(bp + 8 * v, mk[v]), acc[v]);
            }
#pragma GCC unroll 4
            for (int v = 0; v < 4; v++) _mm256_maskstore_ps(ci + j + 8 * v, mk[v], acc[v]);
        }
    }
}

/* Rows [i0, i1) of the dots form for a (m, k) and a transposed b (n, k): each
 * entry an 8-wide dot product, then a fixed horizontal sum. */
AVX2 static void dots_avx2(const nn_gemm_args *g, size_t i0, size_t i1) {
    const size_t n = g->n, k = g->k;
    for (size_t i = i0; i < i1; i++) {
        const float *ai = g->a + i * k;
        for (size_t j = 0; j < n; j++) {
            const float *bj = g->b + j * k;
            __m256 acc = _mm256_setzero_ps();
            for (size_t p = 0; p < k; p += 8) {
                const __m256i mk = lanes(k - p);
                acc = _mm256_fmadd_ps(_mm256_maskload_ps(ai + p, mk),
                                      _mm256_maskload_ps(bj + p, mk), acc);
            }
            __m128 h = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
            h = _mm_add_ps(h, _mm_movehl_ps(h, h));
            h = _mm_add_ss(h, _mm_movehdup_ps(h));
            const float s = _mm_cvtss_f32(h);
            g->c[i * n + j] = g->accumulate ? g->c[i * n + j] + s : s;
        }
    }
}

/* Rows [i0, i1) of c in the chosen form (extra: op(b) as (k, n), or NULL for dots). */
AVX2 static void small_rows(const nn_gemm_args *g, const void *extra, size_t i0, size_t i1) {
    const float *b = extra;
    if (b) rows_avx2(g, b, i0, i1);
    else dots_avx2(g, i0, i1);
}

/* Direct loops (see nn_gemm_small_fn): rows form, or dots for a large transposed b. */
AVX2 static void small_avx2(const nn_gemm_args *g, const nn_par *par) {
    const size_t n = g->n, k = g->k;
    float bt[NN_GEMM_SMALL_MAX_BT]; /* (k, n): op(b) when b is transposed */
    const float *b = g->b;
    if (g->trans_b) {
        if (n * k <= NN_GEMM_SMALL_MAX_BT) {
            nn_gemm_transpose_b(bt, g);
            b = bt;
        } else if (!g->trans_a) {
            b = NULL; /* dots */
        } else {
            nn_gemm_small_c(g, par);
            return;
        }
    }
    nn_gemm_run_rows(g, par, small_rows, b);
}

const nn_gemm_isa nn_gemm_isa_avx2 = {
    .path = NN_CPU_PATH_AVX2,
    .mr = MR,
    .nr = NR,
    .mc = 24 * MR,
    .nc = 2048,
    .kernel = kernel_6x16,
    .pack_a = nn_gemm_pack_a,
    .pack_b = nn_gemm_pack_b,
    .small = small_avx2,
};

#else /* not x86-64: the path exists but is never supported */

const nn_gemm_isa nn_gemm_isa_avx2 = {
    .path = NN_CPU_PATH_AVX2};

#endif
