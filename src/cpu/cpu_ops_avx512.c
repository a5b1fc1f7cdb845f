/* cpu_ops_avx512.c — AVX-512F versions of some of cpu_ops.c's loops, bit-identical
 * to them (see cpu_ops_avx512.h): the ReLU and sigmoid activations, and the
 * bias add and column sums of narrow rows (cols < 16), which the portable loops
 * vectorize poorly. */
#include "cpu/cpu_ops_avx512.h"

#if NN_CPU_HAVE_AVX512
#include <immintrin.h>

#include "cpu/cpu_exp.h"
#include "cpu/cpu_sigmoid_avx512.h"
#include "cpu/cpu_softplus.h"

#define AVX512 __attribute__((target("avx512f")))
#define INLINE inline __attribute__((always_inline))

/* Mask of the first n (0..16) lanes. */
AVX512 static INLINE __mmask16 lanes(size_t n) {
    return (__mmask16)(n >= 16 ? 0xffffu : (1u << n) - 1u);
}

/* ------------------------------------------------------------------- ReLU */

AVX512 void nn_avx512_relu_forward(float *y, const float *z, size_t n) {
    /* max(z, 0) returns its second operand unless z > 0: z > 0 ? z : +0, NaN -> +0 */
    const __m512 zero = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, _mm512_max_ps(_mm512_loadu_ps(z + i), zero));
    if (i < n) {
        const __mmask16 mk = lanes(n - i);
        _mm512_mask_storeu_ps(y + i, mk, _mm512_max_ps(_mm512_maskz_loadu_ps(mk, z + i), zero));
    }
}

AVX512 void nn_avx512_relu_backward(float *dz, const float *dy, const float *y, size_t n) {
    const __m512 zero = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __mmask16 pos = _mm512_cmp_ps_mask(_mm512_loadu_ps(y + i), zero, _CMP_GT_OQ);
        _mm512_storeu_ps(dz + i, _mm512_maskz_mov_ps(pos, _mm512_loadu_ps(dy + i)));
    }
    if (i < n) {
        const __mmask16 mk = lanes(n - i);
        const __mmask16 pos = _mm512_mask_cmp_ps_mask(mk, _mm512_maskz_loadu_ps(mk, y + i), zero,
                                                      _CMP_GT_OQ);
        _mm512_mask_storeu_ps(dz + i, mk, _mm512_maskz_loadu_ps(pos, dy + i));
    }
}

/* ---------------------------------------------------------------- sigmoid */

/* Eight at a time: the float part in 8-lane vectors, which also run on the
 * port that 16-lane ones leave idle. */
AVX512 void nn_avx512_sigmoid(float *y, const float *z, size_t n) {
    __m512d tab[4];
    nn_avx512_exp_table(tab);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, nn_avx512_sigmoid8(_mm256_loadu_ps(z + i), tab));
    for (; i < n; i++) y[i] = 1.0f / (1.0f + nn_exp_f(-z[i])); /* the last n mod 8 */
}

/* -------------------------------------------------------------- BCE loss */

/* nn_softplus_neg of 8 doubles a >= 0 (or NaN, +inf: any value; the caller
 * replaces those): the same operations in the same order, so the same bits. */
AVX512 static INLINE __m512d softplus_neg8(__m512d a) {
    const __m512d one = _mm512_set1_pd(1.0), shift = _mm512_set1_pd(NN_SP_SHIFT);
    const __m512d x = _mm512_sub_pd(_mm512_setzero_pd(), a);
    __m512d kd = _mm512_add_pd(_mm512_mul_pd(x, _mm512_set1_pd(NN_SP_INVLN2)), shift);
    const __m512i ki = _mm512_castpd_si512(kd);
    kd = _mm512_sub_pd(kd, shift);
    const __m512d r = _mm512_sub_pd(_mm512_sub_pd(x, _mm512_mul_pd(kd, _mm512_set1_pd(NN_SP_LN2HI))),
                                    _mm512_mul_pd(kd, _mm512_set1_pd(NN_SP_LN2LO)));
    __m512d p = _mm512_set1_pd(nn_sp_exp_c[0]);
    for (int i = 1; i < 13; i++)
        p = _mm512_add_pd(_mm512_mul_pd(p, r), _mm512_set1_pd(nn_sp_exp_c[i]));
    p = _mm512_add_pd(_mm512_mul_pd(_mm512_add_pd(_mm512_mul_pd(p, r), one), r), one);
    const __m512i sb = _mm512_slli_epi64(_mm512_add_epi64(ki, _mm512_set1_epi64(1023)), 52);
    const __m512d e = _mm512_mul_pd(p, _mm512_castsi512_pd(sb));
    const __m512d w = _mm512_add_pd(one, e);
    const __m512d c = _mm512_sub_pd(e, _mm512_sub_pd(w, one));
    const __mmask8 big = _mm512_cmp_pd_mask(w, _mm512_set1_pd(NN_SP_SQRT2), _CMP_GT_OQ);
    const __m512d m = _mm512_mask_mul_pd(w, big, w, _mm512_set1_pd(0.5));
    const __m512d j = _mm512_maskz_mov_pd(big, one);
    const __m512d s = _mm512_div_pd(_mm512_sub_pd(m, one), _mm512_add_pd(m, one));
    const __m512d s2 = _mm512_mul_pd(s, s);
    __m512d q = _mm512_set1_pd(nn_sp_log_c[0]);
    for (int i = 1; i < 11; i++)
        q = _mm512_add_pd(_mm512_mul_pd(q, s2), _mm512_set1_pd(nn_sp_log_c[i]));
    const __m512d logm = _mm512_add_pd(_mm512_mul_pd(_mm512_set1_pd(2.0), s),
                                       _mm512_mul_pd(_mm512_mul_pd(s, s2), q));
    const __m512d v = _mm512_add_pd(
        _mm512_add_pd(_mm512_mul_pd(j, _mm512_set1_pd(NN_SP_LN2HI)),
                      _mm512_add_pd(logm, _mm512_mul_pd(j, _mm512_set1_pd(NN_SP_LN2LO)))),
        _mm512_div_pd(c, w));
    /* a > 708 (or NaN): 0, as the scalar version returns */
    return _mm512_maskz_mov_pd(_mm512_cmp_pd_mask(a, _mm512_set1_pd(NN_SP_MAX_A), _CMP_LE_OQ), v);
}

AVX512 void nn_avx512_bce_elems(double *out, const float *z, const float *t, size_t n, double cap) {
    const __m512d zero = _mm512_setzero_pd(), capv = _mm512_set1_pd(cap);
    const __m512d inf = _mm512_set1_pd(INFINITY), nan = _mm512_set1_pd(NAN);
    const __m512i abs_mask = _mm512_set1_epi64(0x7fffffffffffffffLL);
    for (size_t i = 0; i < n; i += 8) {
        const __mmask8 mk = (__mmask8)(n - i >= 8 ? 0xff : (1u << (n - i)) - 1u);
        const __m512d zd = _mm512_cvtps_pd(_mm512_castps512_ps256(_mm512_maskz_loadu_ps(mk, z + i)));
        const __m512d td = _mm512_cvtps_pd(_mm512_castps512_ps256(_mm512_maskz_loadu_ps(mk, t + i)));
        const __m512d a = _mm512_castsi512_pd(_mm512_and_si512(_mm512_castpd_si512(zd), abs_mask));
        /* (z > 0 ? z : 0) - z t + softplus(-|z|), capped; NaN for a non-finite z */
        const __m512d mx = _mm512_maskz_mov_pd(_mm512_cmp_pd_mask(zd, zero, _CMP_GT_OQ), zd);
        __m512d l = _mm512_add_pd(_mm512_sub_pd(mx, _mm512_mul_pd(zd, td)), softplus_neg8(a));
        l = _mm512_mask_mov_pd(capv, _mm512_cmp_pd_mask(l, capv, _CMP_LT_OQ), l);
        l = _mm512_mask_mov_pd(nan, _mm512_cmp_pd_mask(a, inf, _CMP_LT_OQ), l);
        _mm512_mask_storeu_pd(out + i, mk, l);
    }
}

/* ------------------------------------------------- blocks of rows (epilogues) */

AVX512 void nn_avx512_relu_backward_block(float *dz, const float *dy, const float *y, size_t ld,
                                          size_t rows, size_t cols) {
    const __m512 zero = _mm512_setzero_ps();
    for (size_t r = 0; r < rows; r++, dz += ld, dy += ld, y += ld)
        for (size_t j = 0; j < cols; j += 16) {
            const __mmask16 mk = lanes(cols - j);
            const __mmask16 pos =
                _mm512_mask_cmp_ps_mask(mk, _mm512_maskz_loadu_ps(mk, y + j), zero, _CMP_GT_OQ);
            _mm512_mask_storeu_ps(dz + j, mk, _mm512_maskz_loadu_ps(pos, dy + j));
        }
}

/* ---------------------------------------------------- narrow rows (cols < 16) */
/* 16 rows of C columns are one contiguous run of C vectors: element q*C + c
 * of the run is row q, column c. */

/* bias_narrow for C == cols. */
AVX512 static INLINE void bias_narrow_c(float *z, const float *bias, size_t rows, const size_t C) {
    __m512 pat[16]; /* (16, C): the bias repeated over 16 rows */
    if (16 % C == 0) { /* every vector the same: the bias repeated 16 / C times */
        const __mmask16 mk = lanes(C);
        __m512 v = _mm512_maskz_loadu_ps(mk, bias);
        for (size_t w = C; w < 16; w *= 2) /* double the filled prefix */
            v = _mm512_mask_permutexvar_ps(
                v, (__mmask16)(lanes(2 * w) & ~lanes(w)),
                _mm512_sub_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                 _mm512_set1_epi32((int)w)),
                v);
        for (size_t q = 0; q < C; q++) pat[q] = v;
    } else {
        float pat_f[16 * 16];
        for (size_t q = 0; q < 16; q++)
            for (size_t j = 0; j < C; j++) pat_f[q * C + j] = bias[j];
        for (size_t q = 0; q < C; q++) pat[q] = _mm512_loadu_ps(pat_f + 16 * q);
    }
    size_t r = 0;
    for (; r + 16 <= rows; r += 16) {
        float *blk = z + r * C;
        for (size_t v = 0; v < C; v++)
            _mm512_storeu_ps(blk + 16 * v, _mm512_add_ps(_mm512_loadu_ps(blk + 16 * v), pat[v]));
    }
    const size_t rem = (rows - r) * C; /* elements left, < 16 C */
    float *blk = z + r * C;
    for (size_t v = 0; v < C && 16 * v < rem; v++) {
        const __mmask16 mk = lanes(rem - 16 * v);
        _mm512_mask_storeu_ps(blk + 16 * v, mk,
                              _mm512_add_ps(_mm512_maskz_loadu_ps(mk, blk + 16 * v), pat[v]));
    }
}

/* col_sum_narrow for C == cols. Lanes past the rows are +0, and adding +0
 * changes no partial sum (a sum that starts at +0 is never -0). The fold
 * then adds element t + hC of the flat (16, C) partials to element t, for h =
 * 8, 4, 2, 1 (the 16 floats from t + hC are gathered across two vectors). */
AVX512 static INLINE void col_sum_c(float *out, const float *x, size_t rows, const size_t C) {
    __m512 acc[16];
    for (size_t v = 0; v < C; v++) acc[v] = _mm512_setzero_ps();
    size_t r = 0;
    for (; r + 16 <= rows; r += 16) {
        const float *blk = x + r * C;
        for (size_t v = 0; v < C; v++) acc[v] = _mm512_add_ps(acc[v], _mm512_loadu_ps(blk + 16 * v));
    }
    const size_t rem = (rows - r) * C;
    const float *blk = x + r * C;
    for (size_t v = 0; v < C && 16 * v < rem; v++)
        acc[v] = _mm512_add_ps(acc[v], _mm512_maskz_loadu_ps(lanes(rem - 16 * v), blk + 16 * v));
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (size_t h = 8; h >= 1; h /= 2) {
        const size_t off = h * C; /* in floats */
        for (size_t v = 0; v < (off + 15) / 16; v++) {
            const size_t w = v + off / 16, sh = off % 16;
            const __m512 lo = acc[w], hi = w + 1 < C ? acc[w + 1] : _mm512_setzero_ps();
            const __m512 src =
                sh == 0 ? lo
                        : _mm512_permutex2var_ps(lo, _mm512_add_epi32(lane, _mm512_set1_epi32((int)sh)), hi);
            acc[v] = _mm512_add_ps(acc[v], src);
        }
    }
    _mm512_mask_storeu_ps(out, lanes(C), acc[0]);
}

/* One instance per width, so that the vectors stay in registers. */
#define NARROW_SWITCH(F, ...)                                                                      \
    switch (cols) {                                                                                \
    case 1: F(__VA_ARGS__, 1); break;                                                              \
    case 2: F(__VA_ARGS__, 2); break;                                                              \
    case 3: F(__VA_ARGS__, 3); break;                                                              \
    case 4: F(__VA_ARGS__, 4); break;                                                              \
    case 5: F(__VA_ARGS__, 5); break;                                                              \
    case 6: F(__VA_ARGS__, 6); break;                                                              \
    case 7: F(__VA_ARGS__, 7); break;                                                              \
    case 8: F(__VA_ARGS__, 8); break;                                                              \
    case 9: F(__VA_ARGS__, 9); break;                                                              \
    case 10: F(__VA_ARGS__, 10); break;                                                            \
    case 11: F(__VA_ARGS__, 11); break;                                                            \
    case 12: F(__VA_ARGS__, 12); break;                                                            \
    case 13: F(__VA_ARGS__, 13); break;                                                            \
    case 14: F(__VA_ARGS__, 14); break;                                                            \
    case 15: F(__VA_ARGS__, 15); break;                                                            \
    default: break;                                                                                \
    }

AVX512 void nn_avx512_bias_narrow(float *z, const float *bias, size_t rows, size_t cols) {
    NARROW_SWITCH(bias_narrow_c, z, bias, rows)
}

AVX512 void nn_avx512_col_sum_narrow(float *out, const float *x, size_t rows, size_t cols) {
    NARROW_SWITCH(col_sum_c, out, x, rows)
}

#else /* no AVX-512 build: never called */

void nn_avx512_relu_forward(float *y, const float *z, size_t n) { (void)y, (void)z, (void)n; }
void nn_avx512_relu_backward(float *dz, const float *dy, const float *y, size_t n) {
    (void)dz, (void)dy, (void)y, (void)n;
}
void nn_avx512_sigmoid(float *y, const float *z, size_t n) { (void)y, (void)z, (void)n; }
void nn_avx512_bias_narrow(float *z, const float *bias, size_t rows, size_t cols) {
    (void)z, (void)bias, (void)rows, (void)cols;
}
void nn_avx512_col_sum_narrow(float *out, const float *x, size_t rows, size_t cols) {
    (void)out, (void)x, (void)rows, (void)cols;
}
void nn_avx512_bce_elems(double *out, const float *z, const float *t, size_t n, double cap) {
    (void)out, (void)z, (void)t, (void)n, (void)cap;
}
void nn_avx512_relu_backward_block(float *dz, const float *dy, const float *y, size_t ld,
                                   size_t rows, size_t cols) {
    (void)dz, (void)dy, (void)y, (void)ld, (void)rows, (void)cols;
}

#endif
