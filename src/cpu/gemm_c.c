/* gemm_c.c — portable C path: a 4x16 micro-kernel the compiler can vectorize
 * with baseline SIMD, and the generic direct loop that every path falls back on. */
#include "cpu/gemm_internal.h"

#define MR 4
#define NR 16

/* Micro-kernel (see nn_gemm_kernel_fn): ap (kc, 4), bp (kc, 16). */
static void kernel_4x16(size_t kc, const float *ap, const float *bp, float *c, size_t ldc,
                        size_t mr, size_t nr, int add) {
    float acc[MR][NR] = {{0}};
    for (size_t p = 0; p < kc; p++) {
        for (int i = 0; i < MR; i++)
            for (int j = 0; j < NR; j++) acc[i][j] += ap[i] * bp[j];
        ap += MR;
        bp += NR;
    }
    for (size_t i = 0; i < mr; i++)
        for (size_t j = 0; j < nr; j++)
            c[i * ldc + j] = add ? c[i * ldc + j] + acc[i][j] : acc[i][j];
}

/* Rows [i0, i1) of the portable direct loop: sequential sums over p. */
static void small_rows(const nn_gemm_args *g, const void *extra, size_t i0, size_t i1) {
    (void)extra;
    const size_t m = g->m, n = g->n, k = g->k;
    /* op(a)(i, p) = a[i*sai + p*sap], op(b)(p, j) = b[p*sbp + j*sbj] */
    const size_t sai = g->trans_a ? 1 : k, sap = g->trans_a ? m : 1;
    const size_t sbp = g->trans_b ? 1 : n, sbj = g->trans_b ? k : 1;
    for (size_t i = i0; i < i1; i++) {
        const float *ai = g->a + i * sai;
        float *ci = g->c + i * n;
        for (size_t j = 0; j < n; j++) {
            const float *bj = g->b + j * sbj;
            float s = g->accumulate ? ci[j] : 0.0f;
            for (size_t p = 0; p < k; p++) s += ai[p * sap] * bj[p * sbp];
            ci[j] = s;
        }
    }
}

/* The portable direct loop, rows split over threads when par has several. */
void nn_gemm_small_c(const nn_gemm_args *g, const nn_par *par) {
    nn_gemm_run_rows(g, par, small_rows, NULL);
}

const nn_gemm_isa nn_gemm_isa_c = {
    .path = NN_CPU_PATH_C,
    .mr = MR,
    .nr = NR,
    .mc = 64,
    .nc = 2048,
    .kernel = kernel_4x16,
    .pack_a = nn_gemm_pack_a,
    .pack_b = nn_gemm_pack_b,
    .small = nn_gemm_small_c,
};
