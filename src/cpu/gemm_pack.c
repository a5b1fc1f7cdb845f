/* gemm_pack.c — packing of op(a) and op(b) blocks into the zero-padded
 * micro-panels the micro-kernels read; the transposes are absorbed here. */
#include <string.h>

#include "cpu/gemm_internal.h"

/* Pack one micro-panel of rows [i0, i0+rows) of op(a), depth [p0, p0+kc):
 * dst (kc, mr), rows past `rows` zero. */
static void pack_a_panel(float *dst, const nn_gemm_args *g, size_t i0, size_t rows, size_t p0,
                         size_t kc, size_t mr) {
    if (g->trans_a) { /* a: (k, m); a row of a holds one p for consecutive i */
        for (size_t p = 0; p < kc; p++) {
            const float *src = g->a + (p0 + p) * g->m + i0;
            float *d = dst + p * mr;
            for (size_t r = 0; r < rows; r++) d[r] = src[r];
            for (size_t r = rows; r < mr; r++) d[r] = 0.0f;
        }
        return;
    }
    /* a: (m, k); a row of a holds consecutive p for one i */
    for (size_t r = 0; r < rows; r++) {
        const float *src = g->a + (i0 + r) * g->k + p0;
        for (size_t p = 0; p < kc; p++) dst[p * mr + r] = src[p];
    }
    for (size_t r = rows; r < mr; r++)
        for (size_t p = 0; p < kc; p++) dst[p * mr + r] = 0.0f;
}

/* Pack rows [i0, i0+mc) of op(a) into (kc, mr) micro-panels, zero-padded. */
void nn_gemm_pack_a(float *dst, const nn_gemm_args *g, size_t i0, size_t mc, size_t p0,
                    size_t kc, size_t mr) {
    for (size_t ir = 0; ir < mc; ir += mr) {
        const size_t rows = mc - ir < mr ? mc - ir : mr;
        pack_a_panel(dst + ir * kc, g, i0 + ir, rows, p0, kc, mr);
    }
}

/* Pack one micro-panel of cols [j0, j0+cols) of op(b), depth [p0, p0+kc):
 * dst (kc, nr), cols past `cols` zero. */
static void pack_b_panel(float *dst, const nn_gemm_args *g, size_t p0, size_t kc, size_t j0,
                         size_t cols, size_t nr) {
    if (!g->trans_b) { /* b: (k, n); a row of b holds one p for consecutive j */
        for (size_t p = 0; p < kc; p++) {
            const float *src = g->b + (p0 + p) * g->n + j0;
            float *d = dst + p * nr;
            memcpy(d, src, cols * sizeof(float));
            for (size_t c = cols; c < nr; c++) d[c] = 0.0f;
        }
        return;
    }
    /* b: (n, k); a row of b holds consecutive p for one j */
    for (size_t c = 0; c < cols; c++) {
        const float *src = g->b + (j0 + c) * g->k + p0;
        for (size_t p = 0; p < kc; p++) dst[p * nr + c] = src[p];
    }
    for (size_t c = cols; c < nr; c++)
        for (size_t p = 0; p < kc; p++) dst[p * nr + c] = 0.0f;
}

/* Pack columns [j0, j0+nc) of op(b) into (kc, nr) micro-panels, zero-padded. */
void nn_gemm_pack_b(float *dst, const nn_gemm_args *g, size_t p0, size_t kc, size_t j0,
                    size_t nc, size_t nr) {
    for (size_t jr = 0; jr < nc; jr += nr) {
        const size_t cols = nc - jr < nr ? nc - jr : nr;
        pack_b_panel(dst + jr * kc, g, p0, kc, j0 + jr, cols, nr);
    }
}

/* bt (k, n) = op(b) for a transposed b (n, k). */
void nn_gemm_transpose_b(float *bt, const nn_gemm_args *g) {
    const size_t n = g->n, k = g->k;
    for (size_t j = 0; j < n; j++)
        for (size_t p = 0; p < k; p++) bt[p * n + j] = g->b[j * k + p];
}
