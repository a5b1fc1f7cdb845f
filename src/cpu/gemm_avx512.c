/* gemm_avx512.c — AVX-512F path: a 14x32 register-blocked micro-kernel
 * (28 zmm accumulators; each k step loads one 32-wide row of the B panel and
 * broadcasts 14 values of the A panel) and the path's descriptor. */
#include "cpu/gemm_avx512.h"

#if NN_GEMM_HAVE_AVX512
#include <immintrin.h>

#define MR 14
#define NV 2 /* vectors per micro-tile row */
#define NR (16 * NV)
#ifndef MCB
#define MCB 16 /* micro-panels per A block (tunable: -DMCB=...) */
#endif
#ifndef KUNROLL
#define KUNROLL 1 /* unrolling of the k loop (tunable) */
#endif
#define PRAGMA_(x) _Pragma(#x)
#define UNROLL_BY(n) PRAGMA_(GCC unroll n)

static inline size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

/* Mask of the first `cols` (0..16) lanes. */
AVX512 static inline __mmask16 lanes(size_t cols) {
    return (__mmask16)(cols >= 16 ? 0xffffu : (1u << cols) - 1u);
}

/* The simple epilogue (gemm.h) on accumulator x of tile row i (c row i0 + i),
 * columns j0 + 16 v..: the operations of nn_gemm_epi_block's loop (max(x, 0)
 * is x > 0 ? x : 0, for NaN and -0 too). */
AVX512 static inline __attribute__((always_inline)) __m512
simple(__m512 x, const nn_gemm_epi *e, const __m512 *bias, size_t ldc, size_t i0, size_t j0,
       size_t i, int v, __mmask16 mk) {
    const __m512 zero = _mm512_setzero_ps();
    if (e->bias) x = _mm512_add_ps(x, bias[v]);
    if (e->relu) x = _mm512_max_ps(x, zero);
    if (e->mask) {
        const __m512 y = _mm512_maskz_loadu_ps(mk, e->mask + (i0 + i) * ldc + j0 + 16 * (size_t)v);
        x = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(y, zero, _CMP_GT_OQ), x);
    }
    return x;
}

/* The micro-kernel, with (EPI) or without the simple epilogue. */
AVX512 static inline __attribute__((always_inline)) void
kernel_t(size_t kc, const float *ap, const float *bp, float *c, size_t ldc, size_t mr, size_t nr,
         int add, const int EPI, const nn_gemm_epi *e, size_t i0, size_t j0) {
    __m512 acc[MR][NV];
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) acc[i][v] = _mm512_setzero_ps();
    for (size_t i = 0; i < mr; i++)
        for (int v = 0; v < NV; v++)
            _mm_prefetch((const char *)(c + i * ldc + 16 * v), _MM_HINT_T0);
    UNROLL_BY(KUNROLL)
    for (size_t p = 0; p < kc; p++) {
        __m512 bv[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) bv[v] = _mm512_load_ps(bp + 16 * v);
#pragma GCC unroll 16
        for (int i = 0; i < MR; i++) {
            const __m512 ai = _mm512_set1_ps(ap[i]);
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
        }
        ap += MR;
        bp += NR;
    }
    __mmask16 m[NV];
    for (int v = 0; v < NV; v++) m[v] = lanes(nr > 16u * v ? nr - 16u * v : 0);
    __m512 bias[NV] = {_mm512_setzero_ps(), _mm512_setzero_ps()};
    if (EPI && e->bias)
        for (int v = 0; v < NV; v++) bias[v] = _mm512_maskz_loadu_ps(m[v], e->bias + j0 + 16 * v);
    if (mr < MR || nr < NR) {
        for (size_t i = 0; i < mr; i++) {
            float *ci = c + i * ldc;
            for (int v = 0; v < NV; v++) {
                __m512 x = acc[i][v];
                if (add) x = _mm512_add_ps(_mm512_maskz_loadu_ps(m[v], ci + 16 * v), x);
                if (EPI) x = simple(x, e, bias, ldc, i0, j0, i, v, m[v]);
                _mm512_mask_storeu_ps(ci + 16 * v, m[v], x);
            }
        }
        return;
    }
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
        float *ci = c + i * ldc;
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) {
            __m512 x = acc[i][v];
            if (add) x = _mm512_add_ps(_mm512_loadu_ps(ci + 16 * v), x);
            if (EPI) x = simple(x, e, bias, ldc, i0, j0, (size_t)i, v, 0xffff);
            _mm512_storeu_ps(ci + 16 * v, x);
        }
    }
}

/* The micro-kernel on operands in place (see nn_gemm_kernel_inplace_fn) for a
 * tile of ROWS rows (MR, or fewer for the last rows of c: a tile's cost is
 * its rows', so the two rows left over from 128 no longer cost fourteen), with
 * A rows at stride a_rs (AROWS: a_ps = 1, rows of a row-major op(a)) or A
 * columns at stride a_ps (!AROWS: a_rs = 1, rows of a transposed a). Rows of A
 * past mr (FULLA: none) repeat row mr - 1 (read, never stored); B columns past
 * nr are masked off. The sums are the packed kernel's, whatever ROWS. */
AVX512 static inline __attribute__((always_inline)) void
kernel_inplace_t(size_t kc, const float *a, size_t a_rs, size_t a_ps, const float *b, size_t b_ps,
                 float *c, size_t ldc, size_t mr, size_t nr, int add, const nn_gemm_epi *e,
                 size_t i0, size_t j0, const int AROWS, const int FULLA, const int ROWS) {
    __m512 acc[MR][NV];
#pragma GCC unroll 16
    for (int i = 0; i < ROWS; i++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) acc[i][v] = _mm512_setzero_ps();
    __mmask16 m[NV];
    for (int v = 0; v < NV; v++) m[v] = lanes(nr > 16u * v ? nr - 16u * v : 0);
    const int full_b = nr == NR;
    if (AROWS) {
        /* five base rows (0, 3, 6, 9, 12) and offsets of 1 and 2 rows; rows past
         * mr read row mr - 1 instead (base clamped, offset 0) */
        const size_t L = a_rs, L2 = 2 * a_rs;
        const float *r[5];
        for (int q = 0; q < 5; q++) r[q] = a + min_sz(3 * (size_t)q, mr - 1) * L;
        size_t off[MR]; /* (row of i) - (its base's row), rows clamped to mr - 1 */
        for (int i = 0; i < ROWS; i++)
            off[i] = min_sz((size_t)i, mr - 1) - min_sz(3 * (size_t)(i / 3), mr - 1);
        for (size_t p = 0; p < kc; p++) {
            __m512 bv[NV];
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++)
                bv[v] = full_b ? _mm512_loadu_ps(b + 16 * v) : _mm512_maskz_loadu_ps(m[v], b + 16 * v);
#pragma GCC unroll 16
            for (int i = 0; i < ROWS; i++) {
                const float *base = r[i / 3];
                const int d = i % 3;
                const float av = FULLA ? (d == 0 ? base[0] : d == 1 ? base[L] : base[L2])
                                       : base[off[i] * L];
                const __m512 ai = _mm512_set1_ps(av);
#pragma GCC unroll 4
                for (int v = 0; v < NV; v++) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
            }
#pragma GCC unroll 5
            for (int q = 0; q < (ROWS + 2) / 3; q++) r[q]++;
            b += b_ps;
        }
    } else {
        /* columns of A: ROWS consecutive values per k step; those past mr repeat the last */
        for (size_t p = 0; p < kc; p++) {
            __m512 bv[NV];
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++)
                bv[v] = full_b ? _mm512_loadu_ps(b + 16 * v) : _mm512_maskz_loadu_ps(m[v], b + 16 * v);
#pragma GCC unroll 16
            for (int i = 0; i < ROWS; i++) {
                const __m512 ai = _mm512_set1_ps(a[FULLA || (size_t)i < mr ? (size_t)i : mr - 1]);
#pragma GCC unroll 4
                for (int v = 0; v < NV; v++) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
            }
            a += a_ps;
            b += b_ps;
        }
    }
    __m512 bias[NV] = {_mm512_setzero_ps(), _mm512_setzero_ps()};
    if (e && e->bias)
        for (int v = 0; v < NV; v++) bias[v] = _mm512_maskz_loadu_ps(m[v], e->bias + j0 + 16 * v);
#pragma GCC unroll 16
    for (int i = 0; i < ROWS; i++) {
        if (!FULLA && (size_t)i >= mr) break;
        float *ci = c + (size_t)i * ldc;
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) {
            __m512 x = acc[i][v];
            if (add) x = _mm512_add_ps(_mm512_maskz_loadu_ps(m[v], ci + 16 * v), x);
            if (e) x = simple(x, e, bias, ldc, i0, j0, (size_t)i, v, m[v]);
            _mm512_mask_storeu_ps(ci + 16 * v, m[v], x);
        }
    }
}

/* The in-place micro-kernel (see nn_gemm_kernel_inplace_fn). */
AVX512 static void kernel_inplace(size_t kc, const float *a, size_t a_rs, size_t a_ps,
                                  const float *b, size_t b_ps, float *c, size_t ldc, size_t mr,
                                  size_t nr, int add, const nn_gemm_epi *epi, size_t i0,
                                  size_t j0) {
    nn_gemm_epi copy;
    if (epi) copy = *epi; /* in registers: stores to c may alias *epi */
    const nn_gemm_epi *e = epi && nn_gemm_epi_simple(epi) ? &copy : NULL;
    const int rows = a_ps == 1;
    /* a tile of the rows there are, rounded up to an even count (an odd mr
     * repeats its last row once) */
#define INPLACE_TILE(R)                                                                      \
    do {                                                                                     \
        if (rows && mr == (R))                                                               \
            kernel_inplace_t(kc, a, a_rs, a_ps, b, b_ps, c, ldc, mr, nr, add, e, i0, j0, 1, 1, R); \
        else if (rows)                                                                       \
            kernel_inplace_t(kc, a, a_rs, a_ps, b, b_ps, c, ldc, mr, nr, add, e, i0, j0, 1, 0, R); \
        else if (mr == (R))                                                                  \
            kernel_inplace_t(kc, a, a_rs, a_ps, b, b_ps, c, ldc, mr, nr, add, e, i0, j0, 0, 1, R); \
        else                                                                                 \
            kernel_inplace_t(kc, a, a_rs, a_ps, b, b_ps, c, ldc, mr, nr, add, e, i0, j0, 0, 0, R); \
    } while (0)
    switch ((mr + 1) / 2) {
    case 1: INPLACE_TILE(2); break;
    case 2: INPLACE_TILE(4); break;
    case 3: INPLACE_TILE(6); break;
    case 4: INPLACE_TILE(8); break;
    case 5: INPLACE_TILE(10); break;
    case 6: INPLACE_TILE(12); break;
    default: INPLACE_TILE(MR); break;
    }
#undef INPLACE_TILE
}

/* Micro-kernel (see nn_gemm_kernel_fn): ap (kc, MR), bp (kc, NR). */
AVX512 static void kernel(size_t kc, const float *ap, const float *bp, float *c, size_t ldc,
                          size_t mr, size_t nr, int add) {
    kernel_t(kc, ap, bp, c, ldc, mr, nr, add, 0, NULL, 0, 0);
}

/* Micro-kernel with the simple epilogue (see nn_gemm_kernel_epi_fn). */
AVX512 static void kernel_epi(size_t kc, const float *ap, const float *bp, float *c, size_t ldc,
                              size_t mr, size_t nr, int add, const nn_gemm_epi *e, size_t i0,
                              size_t j0) {
    kernel_t(kc, ap, bp, c, ldc, mr, nr, add, 1, e, i0, j0);
}

const nn_gemm_isa nn_gemm_isa_avx512 = {
    .path = NN_CPU_PATH_AVX512,
    .mr = MR,
    .nr = NR,
    .mc = MCB * MR,
    .nc = 2048,
    .kernel = kernel,
    .kernel_epi = kernel_epi,
    .kernel_inplace = kernel_inplace,
    .pack_a = nn_gemm_avx512_pack_a,
    .pack_b = nn_gemm_avx512_pack_b,
    .small = nn_gemm_avx512_small,
};

#else /* not x86-64 with GCC: the path exists but is never supported */

const nn_gemm_isa nn_gemm_isa_avx512 = {.path = NN_CPU_PATH_AVX512};

#endif
