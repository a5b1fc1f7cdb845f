/* gemm_avx512_pack.c — AVX-512 packing for the two layouts that need a
 * transpose (op(a) from a row-major a, op(b) from a transposed b): 16x16
 * tiles are loaded row by row, transposed in registers and stored as the
 * micro-panel rows. The layouts that are plain copies use masked vector copies. */
#include "cpu/gemm_avx512.h"

#if NN_GEMM_HAVE_AVX512
#include <immintrin.h>

/* Mask of the first `n` (0..16) lanes. */
AVX512 static inline __mmask16 first_lanes(size_t n) {
    return (__mmask16)(n >= 16 ? 0xffffu : (1u << n) - 1u);
}

/* In-register transpose: r[i] lane q becomes r[q] lane i (16x16 floats). */
AVX512 static inline void transpose16(__m512 r[16]) {
    __m512 t[16];
    /* t[2i], t[2i+1]: rows 2i, 2i+1 interleaved (columns 4b..4b+1 and 4b+2..4b+3
     * of each 128-bit lane b) */
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    /* r[4i+c]: rows 4i..4i+3 of column 4b+c in lane b */
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        const __m512d lo0 = _mm512_castps_pd(t[4 * i]), lo1 = _mm512_castps_pd(t[4 * i + 2]);
        const __m512d hi0 = _mm512_castps_pd(t[4 * i + 1]), hi1 = _mm512_castps_pd(t[4 * i + 3]);
        r[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(lo0, lo1));
        r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(lo0, lo1));
        r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(hi0, hi1));
        r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(hi0, hi1));
    }
    /* gather the four row groups of each column: column 4b+c lands in t[4b+c] */
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
        const __m512 u0 = _mm512_shuffle_f32x4(r[c], r[4 + c], 0x44);
        const __m512 u1 = _mm512_shuffle_f32x4(r[c], r[4 + c], 0xee);
        const __m512 w0 = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0x44);
        const __m512 w1 = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0xee);
        t[c] = _mm512_shuffle_f32x4(u0, w0, 0x88);
        t[4 + c] = _mm512_shuffle_f32x4(u0, w0, 0xdd);
        t[8 + c] = _mm512_shuffle_f32x4(u1, w1, 0x88);
        t[12 + c] = _mm512_shuffle_f32x4(u1, w1, 0xdd);
    }
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++) r[i] = t[i];
}

/* Transposing copy: for q < depth, dst[q*dst_stride + i] = src[i*src_stride + q]
 * for i < lanes_out (<= 16), with source rows i >= rows read as zero. */
AVX512 static void transpose_rows(float *dst, size_t dst_stride, const float *src,
                                  size_t src_stride, size_t rows, size_t lanes_out, size_t depth) {
    const __mmask16 out_mask = first_lanes(lanes_out);
    for (size_t p = 0; p < depth; p += 16) {
        const size_t cnt = depth - p < 16 ? depth - p : 16;
        const __mmask16 in_mask = first_lanes(cnt);
        __m512 r[16];
#pragma GCC unroll 16
        for (size_t i = 0; i < 16; i++)
            r[i] = i < rows ? _mm512_maskz_loadu_ps(in_mask, src + i * src_stride + p)
                            : _mm512_setzero_ps();
        transpose16(r);
#pragma GCC unroll 16
        for (size_t q = 0; q < 16; q++)
            if (q < cnt) _mm512_mask_storeu_ps(dst + (p + q) * dst_stride, out_mask, r[q]);
    }
}

/* Pack op(a) rows into (kc, mr) micro-panels (see nn_gemm_pack_a), with AVX-512. */
void nn_gemm_avx512_pack_a(float *dst, const nn_gemm_args *g, size_t i0, size_t mc, size_t p0,
                           size_t kc, size_t mr) {
    if (mr > 16) {
        nn_gemm_pack_a(dst, g, i0, mc, p0, kc, mr);
        return;
    }
    if (g->trans_a) { /* a: (k, m): each micro-panel row is a piece of a row of a */
        const __mmask16 all = first_lanes(mr);
        for (size_t ir = 0; ir < mc; ir += mr) {
            const __mmask16 in = first_lanes(mc - ir < mr ? mc - ir : mr);
            const float *src = g->a + p0 * g->m + i0 + ir;
            float *d = dst + ir * kc;
            for (size_t p = 0; p < kc; p++)
                _mm512_mask_storeu_ps(d + p * mr, all, _mm512_maskz_loadu_ps(in, src + p * g->m));
        }
        return;
    }
    /* a: (m, k): micro-panel rows are rows of a, transposed into dst (kc, mr) */
    for (size_t ir = 0; ir < mc; ir += mr) {
        const size_t rows = mc - ir < mr ? mc - ir : mr;
        transpose_rows(dst + ir * kc, mr, g->a + (i0 + ir) * g->k + p0, g->k, rows, mr, kc);
    }
}

/* Copy of one micro-panel of a row-major b: dst (kc, nr) = b rows [p0, p0+kc),
 * columns [j, j+cols), zero past cols. */
AVX512 static void copy_panel_b(float *dst, const float *b, size_t ldb, size_t kc, size_t cols,
                                size_t nr) {
    for (size_t p = 0; p < kc; p++) {
        const float *src = b + p * ldb;
        float *d = dst + p * nr;
        for (size_t h = 0; h < nr; h += 16) {
            const __mmask16 m = first_lanes(h < cols ? cols - h : 0);
            _mm512_store_ps(d + h, _mm512_maskz_loadu_ps(m, src + h));
        }
    }
}

/* Pack op(b) columns into (kc, nr) micro-panels (see nn_gemm_pack_b), with AVX-512. */
void nn_gemm_avx512_pack_b(float *dst, const nn_gemm_args *g, size_t p0, size_t kc, size_t j0,
                           size_t nc, size_t nr) {
    if (nr % 16 != 0) {
        nn_gemm_pack_b(dst, g, p0, kc, j0, nc, nr);
        return;
    }
    if (!g->trans_b) { /* b: (k, n): rows of the micro-panel are pieces of rows of b */
        for (size_t jr = 0; jr < nc; jr += nr)
            copy_panel_b(dst + jr * kc, g->b + p0 * g->n + j0 + jr, g->n, kc,
                         nc - jr < nr ? nc - jr : nr, nr);
        return;
    }
    /* b: (n, k): micro-panel columns are rows of b, transposed 16 at a time into dst (kc, nr) */
    for (size_t jr = 0; jr < nc; jr += nr) {
        float *panel = dst + jr * kc;
        for (size_t h = 0; h < nr; h += 16) {
            const size_t j = jr + h, cols = j < nc ? (nc - j < 16 ? nc - j : 16) : 0;
            const float *src = cols ? g->b + (j0 + j) * g->k + p0 : g->b; /* unread when cols = 0 */
            transpose_rows(panel + h, nr, src, g->k, cols, 16, kc);
        }
    }
}

#endif
