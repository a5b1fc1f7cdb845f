/* gemm_avx512_small.c — AVX-512 direct loops for small products (no packing,
 * no fork). Three forms, chosen from the shape alone:
 *   rows:    c(i, j..j+15) = sum_p op(a)(i,p) · op(b)(p, j..j+15), four rows at a
 *            time, each sum split over p mod 4 (then added pairwise);
 *   swapped: the same on c^T = op(b)^T op(a)^T when a is transposed and c has
 *            fewer columns than rows (the vectors then run along m);
 *   dots:    16 consecutive c entries at once as dot products of rows of op(a)
 *            and columns of op(b) (both contiguous), reduced by a fixed tree.
 * Every form's summation order depends only on the shape. */
#include "cpu/gemm_avx512.h"

#if NN_GEMM_HAVE_AVX512
#include <immintrin.h>

/* Mask of the first `n` (0..16) lanes. */
AVX512 static inline __mmask16 first_lanes(size_t n) {
    return (__mmask16)(n >= 16 ? 0xffffu : (1u << n) - 1u);
}

/* A strided view of a matrix: element (r, q) at p[r*rs + q*qs]. */
typedef struct view {
    const float *p;
    size_t rs, qs;
} view;

/* c rows [i0, i0+4) (fewer when m is short: the extra rows repeat the last one
 * and are not stored), columns [j, j+16) masked by mk: the rows form over `a`
 * (m, k) and the contiguous b (k, ldb). Stores into c (m, ldc) or, when
 * scatter is set, into the c^T positions c[j'*ldc + i'] (swapped form). */
AVX512 static inline __attribute__((always_inline)) void
rows4(float *c, size_t ldc, const int scatter, view a, const float *b, size_t ldb, size_t m,
      size_t k, size_t i0, size_t j, __mmask16 mk, int accumulate) {
    const float *ar[4]; /* row i0+r of op(a), stepped along p by a.qs */
#pragma GCC unroll 4
    for (size_t r = 0; r < 4; r++) ar[r] = a.p + (i0 + r < m ? i0 + r : m - 1) * a.rs;
    const size_t qs = a.qs;
    __m512 acc[4][4]; /* [row][p mod 4] */
#pragma GCC unroll 4
    for (int r = 0; r < 4; r++)
#pragma GCC unroll 4
        for (int u = 0; u < 4; u++) acc[r][u] = _mm512_setzero_ps();
    const float *bp = b + j;
    size_t p = 0;
    for (; p + 4 <= k; p += 4)
#pragma GCC unroll 4
        for (int u = 0; u < 4; u++) {
            const __m512 bv = _mm512_maskz_loadu_ps(mk, bp);
#pragma GCC unroll 4
            for (int r = 0; r < 4; r++) {
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
            for (int r = 0; r < 4; r++) {
                acc[r][u] = _mm512_fmadd_ps(_mm512_set1_ps(*ar[r]), bv, acc[r][u]);
                ar[r] += qs;
            }
            bp += ldb;
        }
#pragma GCC unroll 4
    for (size_t r = 0; r < 4; r++) {
        if (i0 + r >= m) break;
        /* (s0 + s1) + (s2 + s3), leaving out the partial sums that k does not reach */
        __m512 s = k > 1 ? _mm512_add_ps(acc[r][0], acc[r][1]) : acc[r][0];
        if (k > 2) s = _mm512_add_ps(s, k > 3 ? _mm512_add_ps(acc[r][2], acc[r][3]) : acc[r][2]);
        if (!scatter) {
            float *cr = c + (i0 + r) * ldc + j;
            if (accumulate) s = _mm512_add_ps(_mm512_maskz_loadu_ps(mk, cr), s);
            _mm512_mask_storeu_ps(cr, mk, s);
        } else { /* entry (i0+r, j+l) of c^T is c[(j+l)*ldc + i0+r] */
            const __m512i lane =
                _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
            const __m512i idx = _mm512_mullo_epi32(
                _mm512_add_epi32(lane, _mm512_set1_epi32((int)j)), _mm512_set1_epi32((int)ldc));
            float *cr = c + i0 + r;
            if (accumulate)
                s = _mm512_add_ps(_mm512_mask_i32gather_ps(_mm512_setzero_ps(), mk, idx, cr, 4), s);
            _mm512_mask_i32scatter_ps(cr, mk, idx, s, 4);
        }
    }
}

/* The rows form on all of c (m, n), stored row-major with stride ldc. */
AVX512 static void rows_form(float *c, size_t ldc, view a, const float *b, size_t ldb, size_t m,
                             size_t n, size_t k, int accumulate) {
    for (size_t j = 0; j < n; j += 16) {
        const __mmask16 mk = first_lanes(n - j);
        for (size_t i0 = 0; i0 < m; i0 += 4) rows4(c, ldc, 0, a, b, ldb, m, k, i0, j, mk, accumulate);
    }
}

/* The rows form for c^T (m, n), stored transposed as c (n, m) with stride ldc. */
AVX512 static void rows_form_t(float *c, size_t ldc, view a, const float *b, size_t ldb, size_t m,
                               size_t n, size_t k, int accumulate) {
    for (size_t j = 0; j < n; j += 16) {
        const __mmask16 mk = first_lanes(n - j);
        for (size_t i0 = 0; i0 < m; i0 += 4) rows4(c, ldc, 1, a, b, ldb, m, k, i0, j, mk, accumulate);
    }
}

/* out lane l = sum of the lanes of y[l] (a fixed tree), for 16 vectors. */
AVX512 static __m512 reduce16(__m512 y[16]) {
    __m512 z[8], w[4], v[2];
    for (int q = 0; q < 8; q++) /* rows 2q, 2q+1: 8 partials each */
        z[q] = _mm512_add_ps(_mm512_shuffle_f32x4(y[2 * q], y[2 * q + 1], 0x44),
                             _mm512_shuffle_f32x4(y[2 * q], y[2 * q + 1], 0xee));
    for (int r = 0; r < 4; r++) /* rows 4r..4r+3: 4 partials each, one per 128-bit block */
        w[r] = _mm512_add_ps(_mm512_shuffle_f32x4(z[2 * r], z[2 * r + 1], 0x88),
                             _mm512_shuffle_f32x4(z[2 * r], z[2 * r + 1], 0xdd));
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

/* The dots form: c (m, n) entries e = i*n + j, 16 at a time, as dot products of
 * a row i of a (m, k) and a row j of bt (n, k), both contiguous. */
AVX512 static void dots_form(float *c, const float *a, const float *bt, size_t m, size_t n,
                             size_t k, int accumulate) {
    const size_t total = m * n;
    size_t i = 0, j = 0; /* (i, j) of entry e */
    for (size_t e0 = 0; e0 < total; e0 += 16) {
        const size_t cnt = total - e0 < 16 ? total - e0 : 16;
        __m512 y[16];
#pragma GCC unroll 16
        for (size_t l = 0; l < 16; l++) {
            y[l] = _mm512_setzero_ps();
            if (l >= cnt) continue;
            const float *ai = a + i * k, *bj = bt + j * k;
            for (size_t p = 0; p < k; p += 16) {
                const __mmask16 mk = first_lanes(k - p);
                y[l] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mk, ai + p),
                                       _mm512_maskz_loadu_ps(mk, bj + p), y[l]);
            }
            if (++j == n) j = 0, i++;
        }
        const __mmask16 out = first_lanes(cnt);
        __m512 s = reduce16(y);
        if (accumulate) s = _mm512_add_ps(_mm512_maskz_loadu_ps(out, c + e0), s);
        _mm512_mask_storeu_ps(c + e0, out, s);
    }
}

void nn_gemm_avx512_small(const nn_gemm_args *g) {
    const size_t m = g->m, n = g->n, k = g->k;
    float bt[NN_GEMM_SMALL_MAX_BT]; /* op(b) as (k, n), or op(b)^T as (n, k) */
    const int bt_fits = n * k <= NN_GEMM_SMALL_MAX_BT;
    /* rough uop counts: dots pay a reduction per 16 entries, rows pay for unused lanes */
    const size_t dots_cost = (m * n + 15) / 16 * (48 * ((k + 15) / 16) + 60);
    const size_t rows_cost = 2 * m * ((n + 15) / 16) * k;
    if (!g->trans_a && (g->trans_b || bt_fits) && dots_cost < rows_cost) {
        const float *b_rows = g->b; /* op(b)^T: (n, k) */
        if (!g->trans_b) {
            for (size_t p = 0; p < k; p++)
                for (size_t j = 0; j < n; j++) bt[j * k + p] = g->b[p * n + j];
            b_rows = bt;
        }
        dots_form(g->c, g->a, b_rows, m, n, k, g->accumulate);
    } else if (g->trans_a && n < 16 && m > n) {
        /* swapped: c^T (n, m) = op(b)^T (n, k) · op(a)^T, whose rows are rows of a (k, m) */
        const view bv = {g->b, g->trans_b ? k : 1, g->trans_b ? 1 : n}; /* op(b)^T */
        rows_form_t(g->c, n, bv, g->a, m, n, m, k, g->accumulate);
    } else if (!g->trans_b || bt_fits) {
        const view a = {g->a, g->trans_a ? 1 : k, g->trans_a ? m : 1}; /* op(a): (m, k) */
        const float *b = g->b;                                            /* op(b): (k, n) */
        if (g->trans_b) {
            nn_gemm_transpose_b(bt, g);
            b = bt;
        }
        rows_form(g->c, n, a, b, n, m, n, k, g->accumulate);
    } else if (!g->trans_a) {
        dots_form(g->c, g->a, g->b, m, n, k, g->accumulate);
    } else {
        nn_gemm_small_c(g); /* large transposed b with a transposed a: not a small shape */
    }
}

#endif
