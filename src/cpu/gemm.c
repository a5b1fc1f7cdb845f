/* gemm.c — the entry point of the CPU GEMM: the choice between the direct
 * loops (small and skinny products) and the blocked, packed driver, made from
 * the shape alone, on the instruction-set path the caller names. */
#include "cpu/gemm.h"

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

/* The descriptor of a path (AUTO and unsupported paths -> the best supported). */
static const nn_gemm_isa *isa_of(nn_cpu_path path) {
    switch (nn_cpu_path_resolve(path)) {
    case NN_CPU_PATH_AVX512: return &nn_gemm_isa_avx512;
    case NN_CPU_PATH_AVX2: return &nn_gemm_isa_avx2;
    default: return &nn_gemm_isa_c;
    }
}

/* 1 if the shape takes the direct loops: small, or skinny enough that packing wastes work. */
static int is_direct(size_t m, size_t n, size_t k, int trans_a, int trans_b) {
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

/* The one entry point (see gemm.h): k = 0, direct loops or the blocked driver. */
void nn_cpu_gemm(nn_cpu_path path, nn_gemm_workspace *ws, const nn_par *par,
                 const nn_gemm_epi *epi, float *c, const float *a, const float *b, size_t m,
                 size_t n, size_t k, int trans_a, int trans_b, int accumulate) {
    if (m == 0 || n == 0) return;
    const nn_gemm_args args = {c, a, b, m, n, k, trans_a != 0, trans_b != 0, accumulate != 0, epi};
    if (k == 0) {
        gemm_k0(&args);
        return;
    }
    const nn_gemm_isa *isa = isa_of(path);
    /* below the threshold one thread does it all, without involving others */
    const nn_par omp = {NULL, 0}, one = {NULL, 1};
    if (!par) par = &omp;
    const double macs = (double)m * (double)n * (double)k;
    if (macs < (double)(par->team ? TEAM_MIN_MACS : PARALLEL_MIN_MACS) || nn_par_threads(par) < 2)
        par = &one;
    if (is_direct(m, n, k, trans_a, trans_b)) {
        isa->small(&args, par);
        return;
    }
    if (nn_gemm_blocked(isa, par, &args, ws) != 0) nn_gemm_small_c(&args, par); /* out of memory */
}
