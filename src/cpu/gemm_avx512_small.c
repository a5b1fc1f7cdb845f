/* gemm_avx512_small.c — AVX-512 direct loops for small and skinny products (no
 * packing; a fork only for large skinny ones). Three forms, chosen from the shape:
 *   rows:    c(i, j..j+15) = sum_p op(a)(i,p) · op(b)(p, j..j+15), four rows at a
 *            time, each sum split over p mod 4 (then added pairwise);
 *   swapped: the same on c^T = op(b)^T op(a)^T when a is transposed and c has
 *            fewer columns than rows (the vectors then run along m);
 *   dots:    16 consecutive c entries at once as dot products of rows of op(a)
 *            and columns of op(b) (both contiguous), reduced by a fixed tree.
 * Every form's summation order depends only on the shape; threads split the
 * entries of c, so results do not depend on the thread count. */
#include "cpu/gemm_avx512.h"

#if NN_GEMM_HAVE_AVX512
#include <immintrin.h>
#include <omp.h>

/* Mask of the first `n` (0..16) lanes. */
AVX512 static inline __mmask16 first_lanes(size_t n) {
    return (__mmask16)(n >= 16 ? 0xffffu : (1u << n) - 1u);
}

/* A strided view of a matrix: element (r, q) at p[r*rs + q*qs]. */
typedef struct view {
    const float *p;
    size_t rs, qs;
} view;

/* c rows [i0, i0+NROWS), columns [j, j+16) masked by mk, in the rows form over
 * `a` (m, k) and the contiguous b (k, ldb): each sum split over p mod 4, then
 * (s0 + s1) + (s2 + s3) without the partial sums k does not reach. Stores into
 * c (m, ldc), or with SCATTER into the c^T positions c[j'*ldc + i']. */
AVX512 static inline __attribute__((always_inline)) void
rows_block(float *c, size_t ldc, const int SCATTER, const int NROWS, view a, const float *b,
           size_t ldb, size_t k, size_t i0, size_t j, __mmask16 mk, int accumulate) {
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
            _mm512_mask_storeu_ps(cr, mk, s);
        } else {
            float *cr = c + i0 + (size_t)r;
            if (accumulate)
                s = _mm512_add_ps(_mm512_mask_i32gather_ps(_mm512_setzero_ps(), mk, idx, cr, 4), s);
            _mm512_mask_i32scatter_ps(cr, mk, idx, s, 4);
        }
    }
}

/* Items [lo, hi) of the rows form on c (m, n) (row-major, stride ldc; with
 * scatter: c^T stored as (n, m)). Item q = (16-column chunk q / groups, 4-row group q % groups). */
AVX512 static void rows_items(float *c, size_t ldc, int scatter, view a, const float *b,
                              size_t ldb, size_t m, size_t n, size_t k, int accumulate, size_t lo,
                              size_t hi) {
    const size_t groups = (m + 3) / 4;
    size_t j = lo / groups * 16, i0 = lo % groups * 4; /* item lo; then stepped */
    for (size_t q = lo; q < hi; q++, i0 += 4) {
        if (i0 >= m) i0 = 0, j += 16;
        const size_t rows = m - i0 < 4 ? m - i0 : 4;
        const __mmask16 mk = first_lanes(n - j);
        switch (rows * 2 + (scatter != 0)) {
        case 8: rows_block(c, ldc, 0, 4, a, b, ldb, k, i0, j, mk, accumulate); break;
        case 9: rows_block(c, ldc, 1, 4, a, b, ldb, k, i0, j, mk, accumulate); break;
        case 6: rows_block(c, ldc, 0, 3, a, b, ldb, k, i0, j, mk, accumulate); break;
        case 7: rows_block(c, ldc, 1, 3, a, b, ldb, k, i0, j, mk, accumulate); break;
        case 4: rows_block(c, ldc, 0, 2, a, b, ldb, k, i0, j, mk, accumulate); break;
        case 5: rows_block(c, ldc, 1, 2, a, b, ldb, k, i0, j, mk, accumulate); break;
        case 2: rows_block(c, ldc, 0, 1, a, b, ldb, k, i0, j, mk, accumulate); break;
        default: rows_block(c, ldc, 1, 1, a, b, ldb, k, i0, j, mk, accumulate); break;
        }
    }
}

/* out lane l = sum of the lanes of y[l] (a fixed tree), for 16 vectors. */
AVX512 static __m512 reduce16(__m512 y[16]) {
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

/* Blocks [lo, hi) of the dots form: c (m, n) entries e = i*n + j, 16 per
 * block, as dot products of row i of a (m, k) and row j of bt (n, k). */
AVX512 static void dots_items(float *c, const float *a, const float *bt, size_t m, size_t n,
                              size_t k, int accumulate, size_t lo, size_t hi) {
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
    const nn_gemm_args *g;
    view a;         /* rows forms: the row operand (m', k) */
    const float *b; /* rows forms: (k, n') contiguous; dots: the column operand as rows (n, k) */
    size_t ldb, m, n; /* rows forms: m', n' (swapped for FORM_ROWS_T) */
    size_t items;
} small_plan;

/* Run part t of `parts` of the plan's items. */
AVX512 static void run_part(const small_plan *sp, int t, int parts) {
    const size_t lo = sp->items * (size_t)t / (size_t)parts;
    const size_t hi = sp->items * (size_t)(t + 1) / (size_t)parts;
    const nn_gemm_args *g = sp->g;
    if (sp->form == FORM_DOTS)
        dots_items(g->c, g->a, sp->b, g->m, g->n, g->k, g->accumulate, lo, hi);
    else
        rows_items(g->c, g->n, sp->form == FORM_ROWS_T, sp->a, sp->b, sp->ldb, sp->m, sp->n,
                   g->k, g->accumulate, lo, hi);
}

/* The direct loops: pick a form from the shape, then split its items over threads. */
void nn_gemm_avx512_small(const nn_gemm_args *g, int threads) {
    const size_t m = g->m, n = g->n, k = g->k;
    float bt[NN_GEMM_SMALL_MAX_BT]; /* op(b) as (k, n), or op(b)^T as (n, k) */
    const int bt_fits = n * k <= NN_GEMM_SMALL_MAX_BT;
    /* measured uop counts: dots pay a reduction and setup per 16 entries, rows
     * pay for unused lanes */
    const double dots_cost = (double)((m * n + 15) / 16) * (48.0 * (double)((k + 15) / 16) + 142.0);
    const double rows_cost = (double)m * (double)((n + 15) / 16) * (2.25 * (double)k + 6.0);
    small_plan sp = {.g = g};
    if (!g->trans_a && (g->trans_b || bt_fits) &&
        (dots_cost < rows_cost || (g->trans_b && !bt_fits))) {
        sp.form = FORM_DOTS;
        sp.b = g->b; /* op(b)^T: (n, k) */
        if (!g->trans_b) {
            for (size_t p = 0; p < k; p++)
                for (size_t j = 0; j < n; j++) bt[j * k + p] = g->b[p * n + j];
            sp.b = bt;
        }
        sp.items = (m * n + 15) / 16;
    } else if (g->trans_a && n < 16 && m > n && m * n < ((size_t)1 << 31) /* int32 indices */) {
        /* swapped: c^T (n, m) = op(b)^T (n, k) · op(a)^T, whose rows are rows of a (k, m) */
        sp.form = FORM_ROWS_T;
        sp.a = (view){g->b, g->trans_b ? k : 1, g->trans_b ? 1 : n}; /* op(b)^T */
        sp.b = g->a;
        sp.ldb = m;
        sp.m = n;
        sp.n = m;
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
    } else {
        nn_gemm_small_c(g, threads); /* a large transposed b with a transposed a */
        return;
    }
    if (sp.form != FORM_DOTS) sp.items = (sp.n + 15) / 16 * ((sp.m + 3) / 4);
    if (threads > 1 && sp.items > 1) {
#pragma omp parallel num_threads(threads)
        run_part(&sp, omp_get_thread_num(), omp_get_num_threads());
    } else {
        run_part(&sp, 0, 1);
    }
}

#endif
