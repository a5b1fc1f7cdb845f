/* gemm.c — entry points of the CPU GEMM: instruction-set path detection and the
 * choice between the direct loops (small and skinny products) and the blocked,
 * packed driver, made from the shape alone. */
#include "cpu/gemm.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/gemm_internal.h"

/* Products with at most this many multiply-adds take the direct loops. */
#define SMALL_MAX_MACS ((size_t)32768)
/* So do skinny ones, where most of a micro-tile would be padding (n or m at
 * most this) or packing would cost more than the product (k at most this). */
#define SKINNY_MAX_N 8
#define SKINNY_MAX_M 4
#define SKINNY_MAX_K 8
/* Products with fewer multiply-adds than this run on one thread: with OpenMP
 * (a fork and a join per product), and with the backend's team. */
#define PARALLEL_MIN_MACS ((size_t)1 << 20)
#define TEAM_MIN_MACS ((size_t)1 << 17)

/* 1 if this CPU can run `path`. */
int nn_gemm_path_supported(nn_gemm_path path) {
    switch (path) {
    case NN_GEMM_PATH_AUTO:
    case NN_GEMM_PATH_C:
        return 1;
#if defined(__x86_64__) || defined(__i386__)
    case NN_GEMM_PATH_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case NN_GEMM_PATH_AVX512:
        return __builtin_cpu_supports("avx512f");
#endif
    default:
        return 0;
    }
}

/* The fastest path this CPU supports. */
nn_gemm_path nn_gemm_path_best(void) {
    if (nn_gemm_path_supported(NN_GEMM_PATH_AVX512)) return NN_GEMM_PATH_AVX512;
    if (nn_gemm_path_supported(NN_GEMM_PATH_AVX2)) return NN_GEMM_PATH_AVX2;
    return NN_GEMM_PATH_C;
}

/* Static name of a path. */
const char *nn_gemm_path_name(nn_gemm_path path) {
    switch (path) {
    case NN_GEMM_PATH_AUTO: return "auto";
    case NN_GEMM_PATH_C: return "c";
    case NN_GEMM_PATH_AVX2: return "avx2";
    case NN_GEMM_PATH_AVX512: return "avx512";
    }
    return "?";
}

/* The descriptor of a supported path (AUTO and unsupported paths -> best). */
static const nn_gemm_isa *isa_of(nn_gemm_path path) {
    if (path == NN_GEMM_PATH_AUTO || !nn_gemm_path_supported(path)) path = nn_gemm_path_best();
    switch (path) {
    case NN_GEMM_PATH_AVX512: return &nn_gemm_isa_avx512;
    case NN_GEMM_PATH_AVX2: return &nn_gemm_isa_avx2;
    default: return &nn_gemm_isa_c;
    }
}

/* 1 if the shape takes the direct loops: small, or skinny enough that packing wastes work. */
int nn_gemm_is_direct(size_t m, size_t n, size_t k, int trans_a, int trans_b) {
    if (k == 0) return 1;
    /* each factor is bounded first so the products cannot overflow */
    const int small = m <= SMALL_MAX_MACS && n <= SMALL_MAX_MACS && k <= SMALL_MAX_MACS &&
                      m * n <= SMALL_MAX_MACS && m * n * k <= SMALL_MAX_MACS;
    const int skinny = n <= SKINNY_MAX_N || m <= SKINNY_MAX_M || k <= SKINNY_MAX_K;
    /* a transposed b is copied to the stack unless the dot-product form reads it in place */
    const int b_ok = !trans_b || !trans_a || (n <= NN_GEMM_SMALL_MAX_BT / k);
    return (small || skinny) && b_ok;
}

/* c (m, n) = 0, or left alone when accumulating: the k = 0 product. */
static void gemm_k0(const nn_gemm_args *g) {
    if (!g->accumulate) memset(g->c, 0, g->m * g->n * sizeof(float));
    nn_gemm_epi_flat(g, 0, g->m * g->n, 0);
}

int nn_par_threads(const nn_par *p) {
    if (p->team) return nn_team_size(p->team);
    return p->threads > 0 ? p->threads : omp_get_max_threads();
}

void nn_par_run(const nn_par *p, size_t n, nn_team_fn fn, void *ctx, size_t size) {
    if (p->team) {
        nn_team_run(p->team, n, fn, ctx, size);
        return;
    }
    const int nt = nn_par_threads(p);
    if (nt <= 1 || n < 2) {
        for (size_t c = 0; c < n; c++) fn(ctx, c, 0);
        return;
    }
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
    for (size_t c = 0; c < n; c++) fn(ctx, c, omp_get_thread_num());
}

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

/* nn_cpu_gemm on an explicit instruction-set path (see gemm_internal.h). */
void nn_cpu_gemm_with(nn_gemm_path path, int threads, float *c, const float *a, const float *b,
                      size_t m, size_t n, size_t k, int trans_a, int trans_b, int accumulate) {
    const nn_par par = {NULL, threads};
    nn_cpu_gemm_with_par(path, NULL, &par, NULL, c, a, b, m, n, k, trans_a, trans_b, accumulate);
}

/* nn_cpu_gemm_par on an explicit path (see gemm_internal.h). */
void nn_cpu_gemm_with_par(nn_gemm_path path, nn_gemm_workspace *ws, const nn_par *par,
                          const nn_gemm_epi *epi, float *c, const float *a, const float *b,
                          size_t m, size_t n, size_t k, int trans_a, int trans_b, int accumulate) {
    if (m == 0 || n == 0) return;
    const nn_gemm_args args = {c, a, b, m, n, k, trans_a != 0, trans_b != 0, accumulate != 0, epi};
    if (k == 0) {
        gemm_k0(&args);
        return;
    }
    const nn_gemm_isa *isa = isa_of(path);
    /* below the threshold one thread does it all, without involving others */
    const double macs = (double)m * (double)n * (double)k;
    const nn_par one = {NULL, 1};
    if (macs < (double)(par->team ? TEAM_MIN_MACS : PARALLEL_MIN_MACS) || nn_par_threads(par) < 2)
        par = &one;
    if (nn_gemm_is_direct(m, n, k, trans_a, trans_b)) {
        isa->small(&args, par);
        return;
    }
    if (nn_gemm_blocked(isa, par, &args, ws) != 0) nn_gemm_small_c(&args, par); /* out of memory */
}

/* nn_cpu_gemm_par (see gemm.h). */
void nn_cpu_gemm_par(nn_gemm_workspace *ws, const nn_par *par, const nn_gemm_epi *epi, float *c,
                     const float *a, const float *b, size_t m, size_t n, size_t k, int trans_a,
                     int trans_b, int accumulate) {
    nn_cpu_gemm_with_par(NN_GEMM_PATH_AUTO, ws, par, epi, c, a, b, m, n, k, trans_a, trans_b,
                         accumulate);
}

void nn_gemm_workspace_free(nn_gemm_workspace *ws) {
    free(ws->mem);
    ws->mem = NULL;
    ws->bytes = 0;
}

/* c = op(a)·op(b) (+c) on the best path this CPU supports (see gemm.h). */
void nn_cpu_gemm(int threads, float *c, const float *a, const float *b, size_t m, size_t n,
                 size_t k, int trans_a, int trans_b, int accumulate) {
    nn_cpu_gemm_with(NN_GEMM_PATH_AUTO, threads, c, a, b, m, n, k, trans_a, trans_b, accumulate);
}
