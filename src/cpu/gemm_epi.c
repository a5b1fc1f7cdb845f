/* gemm_epi.c — the GEMM's epilogues (gemm.h) on blocks of c where a kernel
 * does not apply them in registers, and the row jobs of the direct loops,
 * which apply the epilogue to each block of rows as soon as it is done. */
#include "cpu/gemm_internal.h"

/* The simple epilogue on a segment c (w): + bias (bias[j], or bias[0] for
 * every element when one), ReLU, mask. */
static void simple_row(float *restrict c, const float *restrict bias, int relu,
                       const float *restrict mask, size_t w, int one) {
    if (bias && one) {
        const float b = bias[0];
        for (size_t j = 0; j < w; j++) c[j] = c[j] + b;
    } else if (bias) {
        for (size_t j = 0; j < w; j++) c[j] = c[j] + bias[j];
    }
    if (relu)
        for (size_t j = 0; j < w; j++) c[j] = c[j] > 0.0f ? c[j] : 0.0f;
    if (mask)
        for (size_t j = 0; j < w; j++) c[j] = mask[j] > 0.0f ? c[j] : 0.0f;
}

void nn_gemm_epi_block(const nn_gemm_epi *epi, float *c, size_t n, size_t i0, size_t i1,
                       size_t j0, size_t j1, int simple_done) {
    if (!epi) return;
    if (!simple_done && nn_gemm_epi_simple(epi)) {
        if (j0 == 0 && j1 == n && (n == 1 || !epi->bias)) /* whole rows: one flat segment */
            simple_row(c + i0 * n, epi->bias, epi->relu, epi->mask ? epi->mask + i0 * n : NULL,
                       (i1 - i0) * n, n == 1);
        else
            for (size_t i = i0; i < i1; i++) /* each step on its own: loops that vectorize */
                simple_row(c + i * n + j0, epi->bias ? epi->bias + j0 : NULL, epi->relu,
                           epi->mask ? epi->mask + i * n + j0 : NULL, j1 - j0, 0);
    }
    if (epi->fn) epi->fn(epi, c, n, i0, i1, j0, j1);
}

void nn_gemm_epi_flat(const nn_gemm_args *g, size_t e0, size_t e1, int simple_done) {
    const nn_gemm_epi *epi = g->epi;
    if (!epi || e0 >= e1) return;
    const size_t n = g->n, r0 = e0 / n, r1 = (e1 - 1) / n; /* first and last row touched */
    if (r0 == r1) {
        nn_gemm_epi_block(epi, g->c, n, r0, r0 + 1, e0 % n, e1 - r0 * n, simple_done);
        return;
    }
    size_t full0 = r0, full1 = r1 + 1; /* rows covered from column 0 to n */
    if (e0 % n) nn_gemm_epi_block(epi, g->c, n, r0, r0 + 1, e0 % n, n, simple_done), full0++;
    if (e1 % n) nn_gemm_epi_block(epi, g->c, n, r1, r1 + 1, 0, e1 % n, simple_done), full1--;
    if (full0 < full1) nn_gemm_epi_block(epi, g->c, n, full0, full1, 0, n, simple_done);
}

/* Row chunks of nn_gemm_run_rows. */
typedef struct rows_job {
    const nn_gemm_args *g;
    nn_gemm_rows_fn rows;
    const void *extra;
    size_t per;     /* rows per chunk */
    size_t sub;     /* rows per epilogue block */
} rows_job;

static void rows_chunk(void *ctx, size_t chunk, int thread) {
    (void)thread;
    const rows_job *j = ctx;
    const nn_gemm_args *g = j->g;
    const size_t i0 = chunk * j->per, i1 = i0 + j->per < g->m ? i0 + j->per : g->m;
    for (size_t r = i0; r < i1; r += j->sub) {
        const size_t r1 = r + j->sub < i1 ? r + j->sub : i1;
        j->rows(g, j->extra, r, r1);
        nn_gemm_epi_block(g->epi, g->c, g->n, r, r1, 0, g->n, 0);
    }
}

void nn_gemm_run_rows(const nn_gemm_args *g, const nn_par *par, nn_gemm_rows_fn rows,
                      const void *extra) {
    const size_t m = g->m, nt = (size_t)nn_par_threads(par);
    /* epilogue blocks of about 4096 entries (16 KiB of c) */
    const size_t sub = g->epi ? (g->n < 4096 ? 4096 / g->n : 1) : m;
    size_t per = nt <= 1 ? m : (m + 4 * nt - 1) / (4 * nt); /* about four chunks per thread */
    if (per < 4) per = 4;
    rows_job j = {g, rows, extra, per, sub ? sub : 1};
    nn_par_run(par, (m + per - 1) / per, rows_chunk, &j, m * g->n * g->k);
}
