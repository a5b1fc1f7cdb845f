/* gemm.c — entry points of the CPU GEMM: path detection and the choice
 * between the direct loop (small products) and the blocked, packed driver. */
#include "cpu/gemm.h"

#include <omp.h>
#include <string.h>

#include "cpu/gemm_internal.h"

/* Products with at most this many multiply-adds take the direct loop. */
#define SMALL_MAX_MACS ((size_t)32768)
/* Products with fewer multiply-adds than this run on one thread (no fork). */
#define PARALLEL_MIN_MACS ((size_t)1 << 20)

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

/* 1 if the shape takes the direct loop. */
int nn_gemm_is_small(size_t m, size_t n, size_t k) {
    /* Each factor is bounded first so the product cannot overflow. */
    if (m > SMALL_MAX_MACS || n > SMALL_MAX_MACS || k > SMALL_MAX_MACS) return 0;
    return m * n <= SMALL_MAX_MACS && m * n * k <= SMALL_MAX_MACS;
}

/* c (m, n) = 0, or left alone when accumulating: the k = 0 product. */
static void gemm_k0(float *c, size_t m, size_t n, int accumulate) {
    if (!accumulate) memset(c, 0, m * n * sizeof(float));
}

void nn_cpu_gemm_with(nn_gemm_path path, int threads, float *c, const float *a, const float *b,
                      size_t m, size_t n, size_t k, int trans_a, int trans_b, int accumulate) {
    if (m == 0 || n == 0) return;
    if (k == 0) {
        gemm_k0(c, m, n, accumulate);
        return;
    }
    const nn_gemm_isa *isa = isa_of(path);
    const nn_gemm_args args = {c, a, b, m, n, k, trans_a != 0, trans_b != 0, accumulate != 0};
    if (nn_gemm_is_small(m, n, k) && (!trans_b || n * k <= NN_GEMM_SMALL_MAX_BT)) {
        isa->small(&args);
        return;
    }
    int nt = threads > 0 ? threads : omp_get_max_threads();
    if (nt < 1 || (double)m * (double)n * (double)k < (double)PARALLEL_MIN_MACS) nt = 1;
    if (nn_gemm_blocked(isa, nt, &args) != 0) nn_gemm_small_c(&args); /* out of memory */
}

void nn_cpu_gemm(int threads, float *c, const float *a, const float *b, size_t m, size_t n,
                 size_t k, int trans_a, int trans_b, int accumulate) {
    nn_cpu_gemm_with(NN_GEMM_PATH_AUTO, threads, c, a, b, m, n, k, trans_a, trans_b, accumulate);
}
