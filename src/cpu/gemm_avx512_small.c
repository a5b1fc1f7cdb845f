/* gemm_avx512_small.c — AVX-512 direct loops for small and skinny products (no
 * packing; a fork only for large skinny ones). Three forms, chosen from the shape:
 *   rows:    c(i, j..j+15) = sum_p op(a)(i,p) · op(b)(p, j..j+15), four rows at a
 *            time, each sum split over p mod 4 (then added pairwise);
 *   swapped: the same on c^T = op(b)^T op(a)^T when a is transposed and c has
 *            fewer columns than rows (the vectors then run along m);
 *   dots:    16 consecutive c entries at once as dot products of rows of op(a)
 *            and columns of op(b) (both contiguous), reduced by a fixed tree.
 * Narrow shapes run the same sums with fewer wasted lanes: the rows form with
 * n <= 8 uses 8-lane vectors (rows8), and the dots form with n = 1 and k <= 8
 * packs two entries per vector (dots_pairs); with n = 1 and longer k the dots
 * form loads each slice of the column once for its 16 rows (dots_column). All
 * compute exactly what the general loops would (same products, same additions
 * in the same order).
 * One exception has an order of its own: a rows form with a single row, at
 * most 8 columns and k > 8 (a vector-matrix product, such as the weight
 * gradient of a one-output layer), whose four p mod 4 chains would leave the
 * FMA latency exposed: there each sum is split over p mod 8 (s_u sums the p =
 * u mod 8 in increasing p), then folded in halves, s_u += s_{u+4}, s_u +=
 * s_{u+2}, s_0 += s_1 (row_long).
 * Every form's summation order depends only on the shape; threads split the
 * entries of c, so results do not depend on the thread count. */
#include "cpu/gemm_avx512.h"

#if NN_GEMM_HAVE_AVX512
#include <immintrin.h>

/* AVX-512F with the 256-bit FMA (every AVX-512F CPU has FMA). */
#define AVX512_FMA __attribute__((target("avx512f,fma")))

/* Mask of the first `n` (0..16) lanes. */
AVX512 static inline __mmask16 first_lanes(size_t n) {
    return (__mmask16)(n >= 16 ? 0xffffu : (1u << n) - 1u);
}

/* A strided view of a matrix: element (r, q) at p[r*rs + q*qs]. */
typedef struct view {
    const float *p;
    size_t rs, qs;
} view;

/* The simple part of an epilogue (gemm.h) on 16 lanes of row i, columns
 * j.. of c (row stride ldc), lanes mk: the same operations as the loop of
 * nn_gemm_epi_block (max(s, 0) is s > 0 ? s : 0, for NaN and -0 too). */
AVX512 static inline __attribute__((always_inline)) __m512
simple16(__m512 s, const nn_gemm_epi *e, size_t ldc, size_t i, size_t j, __mmask16 mk) {
    const __m512 zero = _mm512_setzero_ps();
    /* callers pass a copy of the epilogue in registers (stores to c may alias it) */
    if (e->bias) s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(mk, e->bias + j));
    if (e->relu) s = _mm512_max_ps(s, zero);
    if (e->mask) {
        const __m512 y = _mm512_maskz_loadu_ps(mk, e->mask + i * ldc + j);
        s = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(y, zero, _CMP_GT_OQ), s);
    }
    return s;
}

/* The same on 8 lanes: row i, columns 0.. (all 8 when full, else lanes mk). */
AVX512_FMA static inline __attribute__((always_inline)) __m256
simple8(__m256 s, const nn_gemm_epi *e, size_t ldc, size_t i, const int full, __m256i mk) {
    const __m256 zero = _mm256_setzero_ps();
    if (e->bias) s = _mm256_add_ps(s, full ? _mm256_loadu_ps(e->bias) : _mm256_maskload_ps(e->bias, mk));
    if (e->relu) s = _mm256_max_ps(s, zero);
    if (e->mask) {
        const float *y = e->mask + i * ldc;
        s = _mm256_and_ps(s, _mm256_cmp_ps(full ? _mm256_loadu_ps(y) : _mm256_maskload_ps(y, mk),
                                           zero, _CMP_GT_OQ));
    }
    return s;
}

/* c rows [i0, i0+NROWS), columns [j, j+16) masked by mk, in the rows form over
 * `a` (m, k) and the contiguous b (k, ldb): each sum split over p mod 4, then
 * (s0 + s1) + (s2 + s3) without the partial sums k does not reach. Stores into
 * c (m, ldc), or with SCATTER into the c^T positions c[j'*ldc + i']. */
AVX512 static inline __attribute__((always_inline)) void
rows_block(float *c, size_t ldc, const int SCATTER, const int NROWS, view a, const float *b,
           size_t ldb, size_t k, size_t i0, size_t j, __mmask16 mk, int accumulate,
           const nn_gemm_epi *ep) {
    nn_gemm_epi copy;
    if (ep) copy = *ep;
    const nn_gemm_epi *e = ep ? &copy : NULL;
    const float *ar[4]; /* row i0+r of op(a), stepped along p by a.qs */
#pragma GCC unroll 4
    for (int r = 0; r < NROWS; r++) ar[r] = a.p + (i0 + (size_t)r) * a.rs;
    const size_t qs = a.qs;
    __m512 acc[4][4]; /* [row][p mod 4] */
#pragma GCC unroll 4
    for (int r = 0; r < NROWS; r++)
#pragma GCC unroll 4
        for (int u = 0; u < 4; u++) acc[r][u] = _mm512_setzero_ps();
    const float *bp = b + j;
    size_t p = 0;
    for (; p + 4 <= k; p += 4)
#pragma GCC unroll 4
        for (int u = 0; u < 4; u++) {
            const __m512 bv = _mm512_maskz_loadu_ps(mk, bp);
#pragma GCC unroll 4
            for (int r = 0; r < NROWS; r++) {
                acc[r][u] = _mm512_fmadd_ps(_mm512_set1_ps(*ar[r]), bv, acc[r][u]);
                ar[r] += qs;
            }
            bp += ldb;
        }
#pragma GCC unroll 3
    for (int u = 0; u < 3; u++) /* the last k mod 4 steps */
        if (p + (size_t)u < k) {
            const __m512 bv = _mm512_maskz_loadu_ps(mk, bp);
#pragma GCC unroll 4
            for (int r = 0; r < NROWS; r++) {
                acc[r][u] = _mm512_fmadd_ps(_mm512_set1_ps(*ar[r]), bv, acc[r][u]);
                ar[r] += qs;
            }
            bp += ldb;
        }
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i idx = /* lane l of c^T row i' lives at c[(j+l)*ldc + i'] */
        _mm512_mullo_epi32(_mm512_add_epi32(lane, _mm512_set1_epi32((int)j)),
                           _mm512_set1_epi32((int)ldc));
#pragma GCC unroll 4
    for (int r = 0; r < NROWS; r++) {
        __m512 s = k > 1 ? _mm512_add_ps(acc[r][0], acc[r][1]) : acc[r][0];
        if (k > 2) s = _mm512_add_ps(s, k > 3 ? _mm512_add_ps(acc[r][2], acc[r][3]) : acc[r][2]);
        if (!SCATTER) {
            float *cr = c + (i0 + (size_t)r) * ldc + j;
            if (accumulate) s = _mm512_add_ps(_mm512_maskz_loadu_ps(mk, cr), s);
            if (e) s = simple16(s, e, ldc, i0 + (size_t)r, j, mk);
            _mm512_mask_storeu_ps(cr, mk, s);
        } else {
            float *cr = c + i0 + (size_t)r;
            if (accumulate)
                s = _mm512_add_ps(_mm512_mask_i32gather_ps(_mm512_setzero_ps(), mk, idx, cr, 4), s);
            _mm512_mask_i32scatter_ps(cr, mk, idx, s, 4);
        }
    }
}

/* Items [lo, hi) of the rows form with k == 1 (an outer product, the
 * backward pass through a one-unit layer), not scattered: rows_block's
 * operations (one product each, fma(a, b, 0)), in a loop of one row and one
 * 16-column chunk at a time; with the usual epilogue of that pass (ReLU's
 * mask alone, no accumulation) the product and the mask are one masked FMA. */
AVX512 static void rows_items_k1(float *c, size_t ldc, view a, const float *b, size_t m, size_t n,
                                 int accumulate, size_t lo, size_t hi, const nn_gemm_epi *ep) {
    nn_gemm_epi copy;
    if (ep) copy = *ep;
    const nn_gemm_epi *e = ep ? &copy : NULL;
    const int mask_only = e && !e->bias && !e->relu && e->mask && !accumulate;
    const __m512 zero = _mm512_setzero_ps();
    const size_t groups = (m + 3) / 4;
    for (size_t q = lo; q < hi; q++) {
        const size_t j = q / groups * 16, i0 = q % groups * 4, i1 = i0 + 4 < m ? i0 + 4 : m;
        const __mmask16 mk = first_lanes(n - j);
        const __m512 bv = _mm512_maskz_loadu_ps(mk, b + j);
        for (size_t i = i0; i < i1; i++) {
            const __m512 av = _mm512_set1_ps(a.p[i * a.rs]);
            float *cr = c + i * ldc + j;
            if (mask_only) {
                const __m512 y = _mm512_maskz_loadu_ps(mk, e->mask + i * ldc + j);
                const __mmask16 on = _mm512_cmp_ps_mask(y, zero, _CMP_GT_OQ);
                _mm512_mask_storeu_ps(cr, mk, _mm512_maskz_fmadd_ps(on, av, bv, zero));
                continue;
            }
            __m512 s = _mm512_fmadd_ps(av, bv, zero);
            if (accumulate) s = _mm512_add_ps(_mm512_maskz_loadu_ps(mk, cr), s);
            if (e) s = simple16(s, e, ldc, i, j, mk);
            _mm512_mask_storeu_ps(cr, mk, s);
        }
    }
}

/* Items [lo, hi) of the rows form on c (m, n) (row-major, stride ldc; with
 * scatter: c^T stored as (n, m)). Item q = (16-column chunk q / groups, 4-row group q % groups). */
AVX512 static void rows_items(float *c, size_t ldc, int scatter, view a, const float *b,
                              size_t ldb, size_t m, size_t n, size_t k, int accumulate, size_t lo,
                              size_t hi, const nn_gemm_epi *e) {
    if (k == 1 && !scatter) {
        rows_items_k1(c, ldc, a, b, m, n, accumulate, lo, hi, e);
        return;
    }
    const size_t groups = (m + 3) / 4;
    size_t j = lo / groups * 16, i0 = lo % groups * 4; /* item lo; then stepped */
    for (size_t q = lo; q < hi; q++, i0 += 4) {
        if (i0 >= m) i0 = 0, j += 16;
        const size_t rows = m - i0 < 4 ? m - i0 : 4;
        const __mmask16 mk = first_lanes(n - j);
        switch (rows * 2 + (scatter != 0)) {
        case 8: rows_block(c, ldc, 0, 4, a, b, ldb, k, i0, j, mk, accumulate, e); break;
        case 9: rows_block(c, ldc, 1, 4, a, b, ldb, k, i0, j, mk, accumulate, NULL); break;
        case 6: rows_block(c, ldc, 0, 3, a, b, ldb, k, i0, j, mk, accumulate, e); break;
        case 7: rows_block(c, ldc, 1, 3, a, b, ldb, k, i0, j, mk, accumulate, NULL); break;
        case 4: rows_block(c, ldc, 0, 2, a, b, ldb, k, i0, j, mk, accumulate, e); break;
        case 5: rows_block(c, ldc, 1, 2, a, b, ldb, k, i0, j, mk, accumulate, NULL); break;
        case 2: rows_block(c, ldc, 0, 1, a, b, ldb, k, i0, j, mk, accumulate, e); break;
        default: rows_block(c, ldc, 1, 1, a, b, ldb, k, i0, j, mk, accumulate, NULL); break;
        }
    }
}

/* The end of rows8_block: row r's sum (acc[r][0] + acc[r][1]) + (acc[r][2] +
 * acc[r][3]) without the partial sums k does not reach, + c when accumulating,
 * then the simple epilogue e (NULL: none), stored to c row i0 + r. */
AVX512_FMA static inline __attribute__((always_inline)) void
rows8_store(float *c, const int NROWS, const int full, __m256 acc[4][4], size_t n, size_t k,
            size_t i0, __m256i mk, int accumulate, const nn_gemm_epi *e) {
#pragma GCC unroll 4
    for (int r = 0; r < NROWS; r++) {
        __m256 s = k > 1 ? _mm256_add_ps(acc[r][0], acc[r][1]) : acc[r][0];
        if (k > 2) s = _mm256_add_ps(s, k > 3 ? _mm256_add_ps(acc[r][2], acc[r][3]) : acc[r][2]);
        float *cr = c + (i0 + (size_t)r) * n;
        if (full) {
            if (accumulate) s = _mm256_add_ps(_mm256_loadu_ps(cr), s);
            if (e) s = simple8(s, e, n, i0 + (size_t)r, 1, mk);
            _mm256_storeu_ps(cr, s);
        } else {
            if (accumulate) s = _mm256_add_ps(_mm256_maskload_ps(cr, mk), s);
            if (e) s = simple8(s, e, n, i0 + (size_t)r, 0, mk);
            _mm256_maskstore_ps(cr, mk, s);
        }
    }
}

/* The rows form for n <= 8 in 8-lane vectors: c rows [i0, i0+NROWS), the
 * same sums as rows_block (split over p mod 4, then (s0 + s1) + (s2 + s3)
 * without the partial sums k does not reach). b is (k, n) contiguous; mk
 * masks the first n lanes (unused when full, n == 8). */
AVX512_FMA static inline __attribute__((always_inline)) void
rows8_block(float *c, const int NROWS, const int full, view a, const float *b, size_t n,
            size_t k, size_t i0, __m256i mk, int accumulate, const nn_gemm_epi *ep) {
    nn_gemm_epi copy;
    if (ep) copy = *ep;
    const nn_gemm_epi *e = ep ? &copy : NULL; /* in registers: stores to c may alias *ep */
    if (full) n = 8;
    const float *ar[4]; /* row i0+r of op(a), stepped along p by a.qs */
#pragma GCC unroll 4
    for (int r = 0; r < NROWS; r++) ar[r] = a.p + (i0 + (size_t)r) * a.rs;
    const size_t qs = a.qs;
    __m256 acc[4][4]; /* [row][p mod 4] */
#pragma GCC unroll 4
    for (int r = 0; r < NROWS; r++)
#pragma GCC unroll 4
        for (int u = 0; u < 4; u++) acc[r][u] = _mm256_setzero_ps();
    const float *bp = b;
    size_t p = 0;
    if (full && k >= 8) {
        /* two steps per 16-lane vector (b rows p, p+1 are contiguous): lanes
         * 0-7 of acc2[r][h] hold chain 2h of row r, lanes 8-15 chain 2h+1 */
        __m512 acc2[4][2];
#pragma GCC unroll 4
        for (int r = 0; r < NROWS; r++) acc2[r][0] = acc2[r][1] = _mm512_setzero_ps();
        for (; p + 4 <= k; p += 4, bp += 32)
#pragma GCC unroll 2
            for (int h = 0; h < 2; h++) {
                const __m512 bv = _mm512_loadu_ps(bp + 16 * h);
#pragma GCC unroll 4
                for (int r = 0; r < NROWS; r++) {
                    const __m512 av = _mm512_mask_mov_ps(_mm512_set1_ps(ar[r][0]), 0xff00,
                                                         _mm512_set1_ps(ar[r][qs]));
                    acc2[r][h] = _mm512_fmadd_ps(av, bv, acc2[r][h]);
                    ar[r] += 2 * qs;
                }
            }
#pragma GCC unroll 4
        for (int r = 0; r < NROWS; r++)
#pragma GCC unroll 2
            for (int h = 0; h < 2; h++) {
                acc[r][2 * h] = _mm512_castps512_ps256(acc2[r][h]);
                acc[r][2 * h + 1] =
                    _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc2[r][h]), 1));
            }
    }
    for (; p + 4 <= k; p += 4)
#pragma GCC unroll 4
        for (int u = 0; u < 4; u++) {
            __m256 bv = full ? _mm256_loadu_ps(bp) : _mm256_maskload_ps(bp, mk);
            /* in a register: folded into each row's FMA it would be loaded NROWS
             * times, and the loads are the bottleneck */
            __asm__("" : "+x"(bv));
#pragma GCC unroll 4
            for (int r = 0; r < NROWS; r++) {
                acc[r][u] = _mm256_fmadd_ps(_mm256_set1_ps(*ar[r]), bv, acc[r][u]);
                ar[r] += qs;
            }
            bp += n;
        }
#pragma GCC unroll 3
    for (int u = 0; u < 3; u++) /* the last k mod 4 steps */
        if (p + (size_t)u < k) {
            const __m256 bv = full ? _mm256_loadu_ps(bp) : _mm256_maskload_ps(bp, mk);
#pragma GCC unroll 4
            for (int r = 0; r < NROWS; r++) {
                acc[r][u] = _mm256_fmadd_ps(_mm256_set1_ps(*ar[r]), bv, acc[r][u]);
                ar[r] += qs;
            }
            bp += n;
        }
    rows8_store(c, NROWS, full, acc, n, k, i0, mk, accumulate, e);
}

/* 4-row groups [lo, hi) of the rows form for n <= 8 (full: n == 8). */
AVX512_FMA static inline __attribute__((always_inline)) void
rows8_groups(float *c, const int full, view a, const float *b, size_t m, size_t n, size_t k,
             int accumulate, size_t lo, size_t hi, const nn_gemm_epi *e) {
    const __m256i mk = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n),
                                          _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    for (size_t q = lo; q < hi; q++) {
        const size_t i0 = q * 4, rows = m - i0 < 4 ? m - i0 : 4;
        switch (rows) {
        case 4: rows8_block(c, 4, full, a, b, n, k, i0, mk, accumulate, e); break;
        case 3: rows8_block(c, 3, full, a, b, n, k, i0, mk, accumulate, e); break;
        case 2: rows8_block(c, 2, full, a, b, n, k, i0, mk, accumulate, e); break;
        default: rows8_block(c, 1, full, a, b, n, k, i0, mk, accumulate, e); break;
        }
    }
}

/* Rows [i0, i1) of the rows form for n <= 8 (FULL: n == 8) and k == K <= 4,
 * one row at a time with op(b) in registers: the sums of rows8_block (with k
 * <= 4, one product per partial sum). ACC: add to c. */
AVX512_FMA static inline __attribute__((always_inline)) void
rows8_small_k(float *c, const int K, const int FULL, const int ACC, view a, const float *b,
              size_t n, size_t i0, size_t i1, __m256i mk, const nn_gemm_epi *ep) {
    nn_gemm_epi copy;
    if (ep) copy = *ep;
    const nn_gemm_epi *e = ep ? &copy : NULL; /* in registers: stores to c may alias *ep */
    if (FULL) n = 8;
    __m256 bv[4];
#pragma GCC unroll 4
    for (int u = 0; u < K; u++)
        bv[u] = FULL ? _mm256_loadu_ps(b + (size_t)u * n) : _mm256_maskload_ps(b + (size_t)u * n, mk);
    const __m256 zero = _mm256_setzero_ps();
    const size_t rs = a.rs, qs = a.qs;
    const float *ap = a.p + i0 * rs;
    float *cp = c + i0 * n;
#pragma GCC unroll 4
    for (size_t i = i0; i < i1; i++, ap += rs, cp += n) {
        __m256 acc[4];
#pragma GCC unroll 4
        for (int u = 0; u < K; u++)
            acc[u] = _mm256_fmadd_ps(_mm256_set1_ps(ap[(size_t)u * qs]), bv[u], zero);
        __m256 s = K > 1 ? _mm256_add_ps(acc[0], acc[1]) : acc[0];
        if (K > 2) s = _mm256_add_ps(s, K > 3 ? _mm256_add_ps(acc[2], acc[3]) : acc[2]);
        if (FULL) {
            if (ACC) s = _mm256_add_ps(_mm256_loadu_ps(cp), s);
            if (e) s = simple8(s, e, n, i, 1, mk);
            _mm256_storeu_ps(cp, s);
        } else {
            if (ACC) s = _mm256_add_ps(_mm256_maskload_ps(cp, mk), s);
            if (e) s = simple8(s, e, n, i, 0, mk);
            _mm256_maskstore_ps(cp, mk, s);
        }
    }
}

/* Rows [i0, i0 + 8 * groups) of the rows form for n == 8 and k == K <= 2 with
 * a row-major op(a) (rows of K floats): the sums of rows8_small_k, two rows per
 * 16-lane vector (fewer, full-line stores). Each group of 8 rows reads its 8 K
 * values of a at once and spreads them with permutes. */
AVX512 static inline __attribute__((always_inline)) void
rows8_pairs(float *c, const int K, const int ACC, const float *a, const float *b, size_t i0,
            size_t groups, const nn_gemm_epi *e) {
    __m512 bv[2];
#pragma GCC unroll 2
    for (int u = 0; u < K; u++) /* row u of b in both halves */
        bv[u] = _mm512_castpd_ps(_mm512_broadcast_f64x4(_mm256_castps_pd(_mm256_loadu_ps(b + 8 * u))));
    __m512i idx[4][2]; /* lanes 0-7: a(2q, u), lanes 8-15: a(2q+1, u) within the group */
    const __m512i hi = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++)
#pragma GCC unroll 2
        for (int u = 0; u < K; u++)
            idx[q][u] = _mm512_add_epi32(_mm512_set1_epi32(2 * q * K + u),
                                         _mm512_mullo_epi32(hi, _mm512_set1_epi32(K)));
    const __m512 zero = _mm512_setzero_ps();
    /* the epilogue's bias in both halves (two rows per vector) */
    const __m512 bias2 = e && e->bias ? _mm512_castpd_ps(_mm512_broadcast_f64x4(
                                            _mm256_castps_pd(_mm256_loadu_ps(e->bias))))
                                      : zero;
    const float *ap = a + i0 * K;
    const float *yp = e && e->mask ? e->mask + i0 * 8 : NULL; /* the mask's rows, like c's */
    const int has_bias = e && e->bias, relu = e && e->relu; /* in registers: c may alias *e */
    float *cp = c + i0 * 8;
    for (size_t g = 0; g < groups; g++, ap += 8 * K, cp += 64) {
        const __m512 av = K == 2 ? _mm512_loadu_ps(ap) : _mm512_maskz_loadu_ps(0xff, ap);
#pragma GCC unroll 4
        for (int q = 0; q < 4; q++) {
            __m512 acc[2];
#pragma GCC unroll 2
            for (int u = 0; u < K; u++)
                acc[u] = _mm512_fmadd_ps(_mm512_permutexvar_ps(idx[q][u], av), bv[u], zero);
            __m512 sum = K > 1 ? _mm512_add_ps(acc[0], acc[1]) : acc[0];
            if (ACC) sum = _mm512_add_ps(_mm512_loadu_ps(cp + 16 * q), sum);
            if (e) { /* the simple epilogue, as simple16 */
                if (has_bias) sum = _mm512_add_ps(sum, bias2);
                if (relu) sum = _mm512_max_ps(sum, zero);
                if (yp)
                    sum = _mm512_maskz_mov_ps(
                        _mm512_cmp_ps_mask(_mm512_loadu_ps(yp + 16 * q), zero, _CMP_GT_OQ), sum);
            }
            _mm512_storeu_ps(cp + 16 * q, sum);
        }
        if (yp) yp += 64;
    }
}

/* Items [lo, hi) of the rows form on c (m, n), n <= 8, not scattered: item q
 * is rows [4q, 4q+4), as in rows_items. */
AVX512_FMA static void rows8_items(float *c, view a, const float *b, size_t m, size_t n, size_t k,
                                   int accumulate, size_t lo, size_t hi, const nn_gemm_epi *e) {
    if (k <= 4) { /* the small depths of narrow layers */
        const __m256i mk = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n),
                                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        size_t i0 = lo * 4;
        const size_t i1 = hi * 4 < m ? hi * 4 : m;
        if (n == 8 && k <= 2 && a.qs == 1 && a.rs == k && i1 - i0 >= 8) {
            const size_t groups = (i1 - i0) / 8;
            if (k == 1 && accumulate) rows8_pairs(c, 1, 1, a.p, b, i0, groups, e);
            else if (k == 1) rows8_pairs(c, 1, 0, a.p, b, i0, groups, e);
            else if (accumulate) rows8_pairs(c, 2, 1, a.p, b, i0, groups, e);
            else rows8_pairs(c, 2, 0, a.p, b, i0, groups, e);
            i0 += groups * 8;
        }
#define SMALLK(K, FULL, ACC) rows8_small_k(c, K, FULL, ACC, a, b, n, i0, i1, mk, e)
#define SMALLK_ACC(K, FULL)                                                                        \
    do {                                                                                           \
        if (accumulate) SMALLK(K, FULL, 1);                                                        \
        else SMALLK(K, FULL, 0);                                                                   \
    } while (0)
        switch (k * 2 + (n == 8)) {
        case 2: SMALLK_ACC(1, 0); break;
        case 3: SMALLK_ACC(1, 1); break;
        case 4: SMALLK_ACC(2, 0); break;
        case 5: SMALLK_ACC(2, 1); break;
        case 6: SMALLK_ACC(3, 0); break;
        case 7: SMALLK_ACC(3, 1); break;
        case 8: SMALLK_ACC(4, 0); break;
        default: SMALLK_ACC(4, 1); break;
        }
#undef SMALLK_ACC
#undef SMALLK
        return;
    }
    if (n == 8) rows8_groups(c, 1, a, b, m, n, k, accumulate, lo, hi, e);
    else rows8_groups(c, 0, a, b, m, n, k, accumulate, lo, hi, e);
}

/* The single row of a rows form with n <= 8 columns and k > 8, in the order of
 * its own (p mod 8 chains, folded in halves; see the top of this file): c
 * (1, n) = a (1, k) b (k, n), a(0, p) = a.p[p * a.qs], b rows at stride n,
 * c(0, j) stored at c[j * cs]. */
AVX512_FMA static void row_long(float *c, size_t cs, view a, const float *b, size_t n, size_t k,
                                int accumulate) {
    const __m256i mk = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n),
                                          _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    const size_t qs = a.qs;
    const float *ap = a.p;
    __m256 acc[8];
#pragma GCC unroll 8
    for (int u = 0; u < 8; u++) acc[u] = _mm256_setzero_ps();
    size_t p = 0;
    if (n == 8) {
        /* two steps per 16-lane vector: b rows p, p+1 are contiguous; lanes 0-7
         * of accumulator v hold chain 2v, lanes 8-15 chain 2v+1 */
        __m512 acc2[4];
#pragma GCC unroll 4
        for (int v = 0; v < 4; v++) acc2[v] = _mm512_setzero_ps();
        for (; p + 8 <= k; p += 8, ap += 8 * qs, b += 64)
#pragma GCC unroll 4
            for (int v = 0; v < 4; v++) {
                const __m512 av = _mm512_mask_mov_ps(_mm512_set1_ps(ap[(size_t)(2 * v) * qs]), 0xff00,
                                                     _mm512_set1_ps(ap[(size_t)(2 * v + 1) * qs]));
                acc2[v] = _mm512_fmadd_ps(av, _mm512_loadu_ps(b + 16 * v), acc2[v]);
            }
#pragma GCC unroll 4
        for (int v = 0; v < 4; v++) {
            acc[2 * v] = _mm512_castps512_ps256(acc2[v]);
            acc[2 * v + 1] =
                _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc2[v]), 1));
        }
    } else {
        for (; p + 8 <= k; p += 8, ap += 8 * qs, b += 8 * n)
#pragma GCC unroll 8
            for (int u = 0; u < 8; u++)
                acc[u] = _mm256_fmadd_ps(_mm256_set1_ps(ap[(size_t)u * qs]),
                                         _mm256_maskload_ps(b + (size_t)u * n, mk), acc[u]);
    }
    for (size_t u = 0; p + u < k; u++) /* the last k mod 8 steps */
        acc[u] = _mm256_fmadd_ps(_mm256_set1_ps(ap[u * qs]), _mm256_maskload_ps(b + u * n, mk),
                                 acc[u]);
#pragma GCC unroll 4
    for (int u = 0; u < 4; u++) acc[u] = _mm256_add_ps(acc[u], acc[u + 4]);
#pragma GCC unroll 2
    for (int u = 0; u < 2; u++) acc[u] = _mm256_add_ps(acc[u], acc[u + 2]);
    float s[8];
    _mm256_storeu_ps(s, _mm256_add_ps(acc[0], acc[1]));
    for (size_t j = 0; j < n; j++) c[j * cs] = accumulate ? c[j * cs] + s[j] : s[j];
}

/* Blocks [lo, hi) of the dots form for n = 1 and k <= 8: entries (rows of c)
 * [16 blk, 16 blk + 16), two per vector (row i in lanes 0-7, row i+1 in
 * lanes 8-15, lanes past k zero). Each entry's sum is the one dots_items
 * computes: products fma(a, b, +0), then reduce16's tree over 16 lanes whose
 * last 8 are +0, i.e. ((x0+x4) + (x2+x6)) + ((x1+x5) + (x3+x7)) after adding
 * +0 to every product (which only turns -0 into +0). */
AVX512 static void dots_pairs(float *c, const float *a, const float *b, size_t m, size_t k,
                              int accumulate, size_t lo, size_t hi) {
    const __mmask16 lo8 = (__mmask16)((1u << k) - 1u), hi8 = (__mmask16)(lo8 << 8);
    const __m512 bb = _mm512_mask_loadu_ps(_mm512_maskz_loadu_ps(lo8, b), hi8, b - 8); /* [b|b] */
    const __m512 zero = _mm512_setzero_ps();
    const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    for (size_t blk = lo; blk < hi; blk++) {
        const size_t i0 = blk * 16, cnt = m - i0 < 16 ? m - i0 : 16;
        __m512 y[8]; /* y[q]: entries i0+2q (lanes 0-7) and i0+2q+1 (lanes 8-15) */
        if (cnt == 16 && k == 8) {
#pragma GCC unroll 8
            for (int q = 0; q < 8; q++)
                y[q] = _mm512_loadu_ps(a + (i0 + 2 * (size_t)q) * 8);
        } else {
            for (size_t q = 0; q < 8; q++) {
                const size_t r = 2 * q; /* rows past cnt load nothing (zero, never stored) */
                const __mmask16 ml = r < cnt ? lo8 : 0, mh = r + 1 < cnt ? hi8 : 0;
                const float *ar = a + (i0 + r) * k;
                y[q] = _mm512_mask_loadu_ps(_mm512_maskz_loadu_ps(ml, ar), mh, ar + k - 8);
            }
        }
        /* products fma(a, b, +0) without dots_items' "+ 0" of the zero lanes: a
         * -0 product (an underflow) then changes the tree's result only from +0
         * to -0, which the "+ 0" after the tree undoes */
#pragma GCC unroll 8
        for (int q = 0; q < 8; q++) y[q] = _mm512_fmadd_ps(y[q], bb, zero);
        /* blocks: row 2q = (block 0, block 1) of y[q], row 2q+1 = (block 2, block 3) */
        __m512 z[4], v[2];
#pragma GCC unroll 4
        for (int g = 0; g < 4; g++) /* rows 4g..4g+3, one per block: x[p] + x[p+4] */
            z[g] = _mm512_add_ps(_mm512_shuffle_f32x4(y[2 * g], y[2 * g + 1], 0x88),
                                 _mm512_shuffle_f32x4(y[2 * g], y[2 * g + 1], 0xdd));
#pragma GCC unroll 2
        for (int s = 0; s < 2; s++) { /* (t0 + t2), (t1 + t3) */
            const __m512d w0 = _mm512_castps_pd(z[2 * s]), w1 = _mm512_castps_pd(z[2 * s + 1]);
            v[s] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(w0, w1)),
                                 _mm512_castpd_ps(_mm512_unpackhi_pd(w0, w1)));
        }
        /* block b: rows b, b+4, b+8, b+12 */
        const __m512 f = _mm512_add_ps(_mm512_shuffle_ps(v[0], v[1], _MM_SHUFFLE(2, 0, 2, 0)),
                                       _mm512_shuffle_ps(v[0], v[1], _MM_SHUFFLE(3, 1, 3, 1)));
        __m512 s = _mm512_add_ps(_mm512_permutexvar_ps(order, f), zero);
        const __mmask16 out = first_lanes(cnt);
        if (accumulate) s = _mm512_add_ps(_mm512_maskz_loadu_ps(out, c + i0), s);
        _mm512_mask_storeu_ps(c + i0, out, s);
    }
}

/* out lane l = sum of the lanes of y[l] (a fixed tree), for 16 vectors. */
AVX512 static inline __attribute__((always_inline)) __m512 reduce16(__m512 y[16]) {
    __m512 z[8], w[4], v[2];
#pragma GCC unroll 8
    for (int q = 0; q < 8; q++) /* rows 2q, 2q+1: 8 partials each */
        z[q] = _mm512_add_ps(_mm512_shuffle_f32x4(y[2 * q], y[2 * q + 1], 0x44),
                             _mm512_shuffle_f32x4(y[2 * q], y[2 * q + 1], 0xee));
#pragma GCC unroll 4
    for (int r = 0; r < 4; r++) /* rows 4r..4r+3: 4 partials each, one per 128-bit block */
        w[r] = _mm512_add_ps(_mm512_shuffle_f32x4(z[2 * r], z[2 * r + 1], 0x88),
                             _mm512_shuffle_f32x4(z[2 * r], z[2 * r + 1], 0xdd));
#pragma GCC unroll 2
    for (int s = 0; s < 2; s++) { /* 2 partials of rows b+8s, b+8s+4 in block b */
        const __m512d w0 = _mm512_castps_pd(w[2 * s]), w1 = _mm512_castps_pd(w[2 * s + 1]);
        v[s] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(w0, w1)),
                             _mm512_castpd_ps(_mm512_unpackhi_pd(w0, w1)));
    }
    /* block b: rows b, b+4, b+8, b+12 */
    const __m512 f = _mm512_add_ps(_mm512_shuffle_ps(v[0], v[1], _MM_SHUFFLE(2, 0, 2, 0)),
                                   _mm512_shuffle_ps(v[0], v[1], _MM_SHUFFLE(3, 1, 3, 1)));
    const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    return _mm512_permutexvar_ps(order, f);
}

/* dots_items for n = 1 (a matrix-vector product, such as the logits of a
 * one-output layer): the same products and sums, with each slice of the one
 * column loaded once for the 16 rows instead of once per row. */
AVX512 static void dots_column(float *c, const float *a, const float *b, size_t m, size_t k,
                               int accumulate, size_t lo, size_t hi) {
    for (size_t blk = lo; blk < hi; blk++) {
        const size_t e0 = blk * 16, cnt = m - e0 < 16 ? m - e0 : 16;
        const float *ai[16]; /* row of entry e0 + l (the last one repeated past cnt) */
#pragma GCC unroll 16
        for (size_t l = 0; l < 16; l++) ai[l] = a + (e0 + (l < cnt ? l : cnt - 1)) * k;
        __m512 y[16];
#pragma GCC unroll 16
        for (int l = 0; l < 16; l++) y[l] = _mm512_setzero_ps();
        for (size_t p = 0; p < k; p += 16) {
            const __mmask16 mk = first_lanes(k - p);
            const __m512 bv = _mm512_maskz_loadu_ps(mk, b + p);
#pragma GCC unroll 16
            for (int l = 0; l < 16; l++)
                y[l] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mk, ai[l] + p), bv, y[l]);
        }
        const __mmask16 out = first_lanes(cnt);
        __m512 s = reduce16(y);
        if (accumulate) s = _mm512_add_ps(_mm512_maskz_loadu_ps(out, c + e0), s);
        _mm512_mask_storeu_ps(c + e0, out, s);
    }
}

/* Blocks [lo, hi) of the dots form: c (m, n) entries e = i*n + j, 16 per
 * block, as dot products of row i of a (m, k) and row j of bt (n, k). */
AVX512 static void dots_items(float *c, const float *a, const float *bt, size_t m, size_t n,
                              size_t k, int accumulate, size_t lo, size_t hi) {
    if (n == 1) {
        dots_column(c, a, bt, m, k, accumulate, lo, hi);
        return;
    }
    const size_t total = m * n;
    const float *ap = a + lo * 16 / n * k, *bp = bt + lo * 16 % n * k; /* entry 16*lo */
    const float *const b_end = bt + n * k;
    for (size_t blk = lo; blk < hi; blk++) {
        const size_t e0 = blk * 16, cnt = total - e0 < 16 ? total - e0 : 16;
        const float *ai[16], *bj[16]; /* operands of entry e0 + l (repeats past cnt) */
        for (size_t l = 0; l < 16; l++) {
            if (l >= cnt) { /* past the end of c: repeat the last entry (not stored) */
                ai[l] = ai[cnt - 1];
                bj[l] = bj[cnt - 1];
                continue;
            }
            ai[l] = ap;
            bj[l] = bp;
            if ((bp += k) == b_end) bp = bt, ap += k; /* on to entry e0 + l + 1 */
        }
        __m512 y[16];
#pragma GCC unroll 16
        for (int l = 0; l < 16; l++) y[l] = _mm512_setzero_ps();
        for (size_t p = 0; p < k; p += 16) {
            const __mmask16 mk = first_lanes(k - p);
#pragma GCC unroll 16
            for (int l = 0; l < 16; l++)
                y[l] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mk, ai[l] + p),
                                       _mm512_maskz_loadu_ps(mk, bj[l] + p), y[l]);
        }
        const __mmask16 out = first_lanes(cnt);
        __m512 s = reduce16(y);
        if (accumulate) s = _mm512_add_ps(_mm512_maskz_loadu_ps(out, c + e0), s);
        _mm512_mask_storeu_ps(c + e0, out, s);
    }
}

/* One product prepared for the direct loops: the form and its operands. */
typedef struct small_plan {
    enum { FORM_ROWS, FORM_ROWS_T, FORM_DOTS } form;
    int narrow;     /* FORM_ROWS with n <= 8: 1 = rows8, 2 = row_long (see row_long_fits);
                       FORM_ROWS_T: 2 = row_long; FORM_DOTS with n = 1, k <= 8: dots_pairs */
    const nn_gemm_args *g;
    view a;         /* rows forms: the row operand (m', k) */
    const float *b; /* rows forms: (k, n') contiguous; dots: the column operand as rows (n, k) */
    size_t ldb, m, n; /* rows forms: m', n' (swapped for FORM_ROWS_T) */
    size_t items;
} small_plan;

/* 1 if a rows form of m rows, n columns and depth k takes row_long. */
static inline int row_long_fits(size_t m, size_t n, size_t k) { return m == 1 && n <= 8 && k > 8; }

/* 1 if the plan's form applies an epilogue's simple part in registers. */
static int simple_in_regs(const small_plan *sp) {
    return sp->form == FORM_ROWS && sp->narrow != 2 && nn_gemm_epi_simple(sp->g->epi);
}

/* Items [lo, hi) of the plan. */
AVX512 static void run_items(const small_plan *sp, size_t lo, size_t hi) {
    const nn_gemm_args *g = sp->g;
    const nn_gemm_epi *e = simple_in_regs(sp) ? g->epi : NULL;
    if (lo >= hi) return;
    if (sp->narrow == 2) /* one item */
        row_long(g->c, sp->form == FORM_ROWS_T ? g->n : 1, sp->a, sp->b, sp->n, g->k,
                 g->accumulate);
    else if (sp->form == FORM_DOTS && sp->narrow)
        dots_pairs(g->c, g->a, sp->b, g->m, g->k, g->accumulate, lo, hi);
    else if (sp->form == FORM_DOTS)
        dots_items(g->c, g->a, sp->b, g->m, g->n, g->k, g->accumulate, lo, hi);
    else if (sp->form == FORM_ROWS && sp->narrow)
        rows8_items(g->c, sp->a, sp->b, sp->m, sp->n, g->k, g->accumulate, lo, hi, e);
    else
        rows_items(g->c, g->n, sp->form == FORM_ROWS_T, sp->a, sp->b, sp->ldb, sp->m, sp->n,
                   g->k, g->accumulate, lo, hi, e);
}

/* The epilogue on the entries of c that items [lo, hi) computed. */
static void epi_items(const small_plan *sp, size_t lo, size_t hi) {
    const nn_gemm_args *g = sp->g;
    const nn_gemm_epi *e = g->epi;
    const int done = simple_in_regs(sp);
    if (!e->fn && done) return;
    if (sp->form == FORM_DOTS) { /* items of 16 entries of c in row-major order */
        const size_t total = g->m * g->n;
        nn_gemm_epi_flat(g, lo * 16, hi * 16 < total ? hi * 16 : total, 0);
        return;
    }
    if (sp->narrow == 2) { /* the single item: all of c */
        nn_gemm_epi_block(e, g->c, g->n, 0, g->m, 0, g->n, 0);
        return;
    }
    /* item q: 16 columns (q / groups) by 4 rows (q % groups) of the rows form's
     * (sp->m, sp->n) result, which is c, or c^T for FORM_ROWS_T */
    const size_t groups = (sp->m + 3) / 4;
    for (size_t q = lo; q < hi;) {
        const size_t chunk = q / groups, g0 = q % groups;
        const size_t g1 = hi - chunk * groups < groups ? hi - chunk * groups : groups;
        const size_t r0 = g0 * 4, r1 = g1 * 4 < sp->m ? g1 * 4 : sp->m;
        const size_t j0 = chunk * 16, j1 = j0 + 16 < sp->n ? j0 + 16 : sp->n;
        if (sp->form == FORM_ROWS_T) nn_gemm_epi_block(e, g->c, g->n, j0, j1, r0, r1, 0);
        else nn_gemm_epi_block(e, g->c, g->n, r0, r1, j0, j1, done);
        q = chunk * groups + g1;
    }
}

/* Items per epilogue block: about 4096 entries (16 KiB of c). */
static size_t epi_block_items(const small_plan *sp) {
    const size_t per_item = sp->form == FORM_DOTS ? 16 : sp->form == FORM_ROWS && sp->narrow ? 4 * sp->n : 64;
    return 4096 / per_item > 0 ? 4096 / per_item : 1;
}

/* One chunk of the plan's items (a job of nn_par_run). */
typedef struct small_job {
    const small_plan *sp;
    size_t per; /* items per chunk */
} small_job;

AVX512 static void run_chunk(void *ctx, size_t chunk, int thread) {
    (void)thread;
    const small_job *j = ctx;
    const small_plan *sp = j->sp;
    const size_t lo = chunk * j->per, hi = lo + j->per < sp->items ? lo + j->per : sp->items;
    if (!sp->g->epi) {
        run_items(sp, lo, hi);
        return;
    }
    const size_t blk = epi_block_items(sp);
    for (size_t q = lo; q < hi; q += blk) {
        const size_t q1 = q + blk < hi ? q + blk : hi;
        run_items(sp, q, q1);
        epi_items(sp, q, q1);
    }
}

/* The direct loops: pick a form from the shape, then split its items over
 * threads. bt holds at least min(n k, NN_GEMM_SMALL_MAX_BT) floats. */
AVX512 static void small_with(const nn_gemm_args *g, const nn_par *par, float *bt) {
    /* read one by one: the caller has just stored *g field by field, and GCC
     * would load m and n as one vector, which store forwarding cannot serve
     * (measured: a few ns per call) */
    const size_t m = *(const volatile size_t *)&g->m, n = *(const volatile size_t *)&g->n,
                 k = *(const volatile size_t *)&g->k;
    /* bt: op(b) as (k, n), or op(b)^T as (n, k) */
    const int bt_fits = n * k <= NN_GEMM_SMALL_MAX_BT;
    /* measured uop counts: dots pay a reduction and setup per 16 entries, rows
     * pay for unused lanes */
    const double dots_cost = (double)((m * n + 15) / 16) * (48.0 * (double)((k + 15) / 16) + 142.0);
    const double rows_cost = (double)m * (double)((n + 15) / 16) * (2.25 * (double)k + 6.0);
    small_plan sp = {.g = g};
    if (!g->trans_a && (g->trans_b || bt_fits) &&
        (dots_cost < rows_cost || (g->trans_b && !bt_fits))) {
        sp.form = FORM_DOTS;
        sp.b = g->b; /* op(b)^T: (n, k); for n = 1, b itself */
        if (!g->trans_b && n > 1) {
            for (size_t p = 0; p < k; p++)
                for (size_t j = 0; j < n; j++) bt[j * k + p] = g->b[p * n + j];
            sp.b = bt;
        }
        sp.items = (m * n + 15) / 16;
        sp.narrow = n == 1 && k <= 8;
    } else if (g->trans_a && n < 16 && m > n && m * n < ((size_t)1 << 31) /* int32 indices */) {
        /* swapped: c^T (n, m) = op(b)^T (n, k) · op(a)^T, whose rows are rows of a (k, m) */
        sp.form = FORM_ROWS_T;
        sp.a = (view){g->b, g->trans_b ? k : 1, g->trans_b ? 1 : n}; /* op(b)^T */
        sp.b = g->a;
        sp.ldb = m;
        sp.m = n;
        sp.n = m;
        sp.narrow = row_long_fits(sp.m, sp.n, k) ? 2 : 0;
    } else if (!g->trans_b || bt_fits) {
        sp.form = FORM_ROWS;
        sp.a = (view){g->a, g->trans_a ? 1 : k, g->trans_a ? m : 1}; /* op(a): (m, k) */
        sp.b = g->b;                                                   /* op(b): (k, n) */
        if (g->trans_b) {
            nn_gemm_transpose_b(bt, g);
            sp.b = bt;
        }
        sp.ldb = n;
        sp.m = m;
        sp.n = n;
        sp.narrow = row_long_fits(m, n, k) ? 2 : n <= 8;
    } else {
        nn_gemm_small_c(g, par); /* a large transposed b with a transposed a */
        return;
    }
    if (sp.form != FORM_DOTS) sp.items = (sp.n + 15) / 16 * ((sp.m + 3) / 4);
    if (sp.narrow == 2) sp.items = 1;
    const size_t threads = (size_t)nn_par_threads(par);
    small_job job = {&sp, sp.items};
    if (threads > 1 && sp.items > 1) { /* about four chunks per thread */
        job.per = (sp.items + 4 * threads - 1) / (4 * threads);
        nn_par_run(par, (sp.items + job.per - 1) / job.per, run_chunk, &job, m * n * k);
    } else {
        run_chunk(&job, 0, 0);
    }
}

/* small_with with a full-size stack copy for op(b), out of the common path
 * (a 16 KiB frame on every call measured a few ns slower than a small one). */
AVX512 __attribute__((noinline)) static void small_large_bt(const nn_gemm_args *g,
                                                           const nn_par *par) {
    float bt[NN_GEMM_SMALL_MAX_BT];
    small_with(g, par, bt);
}

/* The direct loops (see nn_gemm_small_fn). */
void nn_gemm_avx512_small(const nn_gemm_args *g, const nn_par *par) {
    enum { SMALL_BT = 256 }; /* op(b) of at most this many floats: a small frame */
    if (g->n <= SMALL_BT && g->k <= SMALL_BT && g->n * g->k <= SMALL_BT) {
        float bt[SMALL_BT];
        small_with(g, par, bt);
    } else {
        small_large_bt(g, par);
    }
}

#endif
