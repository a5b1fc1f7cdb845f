/* cpu_sigmoid_avx512.h — the sigmoid 1 / (1 + nn_exp_f(-z)) of 8 floats with
 * AVX-512F (internal), bit-identical to the scalar expression: shared by the
 * elementwise op (cpu_ops_avx512.c) and the one-pass step of small networks
 * (cpu_small_step.c). Include only where AVX-512 code is compiled. */
#ifndef NN_CPU_SIGMOID_AVX512_H
#define NN_CPU_SIGMOID_AVX512_H

#include <immintrin.h>
#include <math.h>

#include "cpu/cpu_exp.h"

#define NN_SIGMOID_AVX512 __attribute__((target("avx512f"), always_inline))

/* The table of nn_exp_f in four double vectors, for nn_avx512_sigmoid8. */
static inline NN_SIGMOID_AVX512 void nn_avx512_exp_table(__m512d tab[4]) {
    for (int q = 0; q < 4; q++) tab[q] = _mm512_loadu_pd((const double *)nn_exp_tab + 8 * q);
}

/* nn_exp_f(-z) of 8 floats, in double lanes: the same operations, so the same
 * bits, before nn_exp_f's special cases (applied by the caller); -z is folded
 * into the first multiply ((-c) z = -(c z) exactly). The table entry is one
 * of two 16-entry permutes, picked by bit 4 of k. */
static inline NN_SIGMOID_AVX512 __m256 nn_avx512_exp8_neg(__m256 z, const __m512d tab[4]) {
    const __m512d zs = _mm512_mul_pd(_mm512_set1_pd(-NN_EXP_INVLN2N), _mm512_cvtps_pd(z));
    __m512d kd = _mm512_add_pd(zs, _mm512_set1_pd(NN_EXP_SHIFT));
    const __m512i ki = _mm512_castpd_si512(kd);
    kd = _mm512_sub_pd(kd, _mm512_set1_pd(NN_EXP_SHIFT));
    const __m512d r = _mm512_sub_pd(zs, kd);
    const __m512d t0 = _mm512_permutex2var_pd(tab[0], ki, tab[1]);
    const __m512d t1 = _mm512_permutex2var_pd(tab[2], ki, tab[3]);
    const __m512d tk = _mm512_mask_mov_pd(t0, _mm512_test_epi64_mask(ki, _mm512_set1_epi64(16)), t1);
    const __m512i t = _mm512_add_epi64(_mm512_castpd_si512(tk), _mm512_slli_epi64(ki, 47));
    const __m512d p = _mm512_add_pd(_mm512_mul_pd(_mm512_set1_pd(NN_EXP_C0), r),
                                    _mm512_set1_pd(NN_EXP_C1));
    const __m512d r2 = _mm512_mul_pd(r, r);
    __m512d y = _mm512_add_pd(_mm512_mul_pd(_mm512_set1_pd(NN_EXP_C2), r), _mm512_set1_pd(1.0));
    y = _mm512_add_pd(_mm512_mul_pd(p, r2), y);
    y = _mm512_mul_pd(y, _mm512_castsi512_pd(t)); /* times 2^(k/32) */
    return _mm512_cvtpd_ps(y);
}

/* 1 / (1 + nn_exp_f(-z)) of 8 floats; tab from nn_avx512_exp_table. */
static inline NN_SIGMOID_AVX512 __m256 nn_avx512_sigmoid8(__m256 zv, const __m512d tab[4]) {
    const __m256 one = _mm256_set1_ps(1.0f), big = _mm256_set1_ps(88.0f);
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 e = nn_avx512_exp8_neg(zv, tab);
    /* nn_exp_f's special cases, only where |z| >= 88 or z is NaN (rare) */
    if (_mm256_movemask_ps(_mm256_cmp_ps(_mm256_and_ps(zv, abs_mask), big, _CMP_NLT_UQ))) {
        float ev[8], z[8];
        _mm256_storeu_ps(ev, e);
        _mm256_storeu_ps(z, zv);
        for (int l = 0; l < 8; l++) {
            const float x = -z[l];
            ev[l] = x > NN_EXP_HI ? INFINITY : ev[l];
            ev[l] = x < NN_EXP_LO ? 0.0f : ev[l];
            ev[l] = x != x ? x + x : ev[l];
        }
        e = _mm256_loadu_ps(ev);
    }
    return _mm256_div_ps(one, _mm256_add_ps(one, e));
}

#endif
