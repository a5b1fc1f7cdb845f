/* cpu_small_step.c — small_step (backend.h) on the CPU: the whole forward,
 * loss gradient and backward pass of a network with one ReLU hidden layer of
 * at most 16 units, at most 4 inputs and one output (the tutorial's 2-8-1),
 * in one pass over the rows.
 *
 * The per-op step runs a dozen ops per step over arrays of 8 floats a row;
 * for 800 rows each is a few hundred nanoseconds of loop set-up, passes over
 * memory and epilogues. Here the rows go 16 at a time, one vector lane per row,
 * every value of the network in registers: the inputs (one vector per input),
 * the hidden activations (one per unit), the logit, the output and its
 * gradient, and the gradient sums of every parameter (one vector of 16 lane
 * partial sums each). Lane l sums rows l, l + 16, l + 32, ... in row order;
 * the 16 partial sums are folded in halves at the end (as col_sum folds).
 *
 * Two versions compute the same bits (NaN signs aside): small_c (portable C,
 * the reference, which the op runs on the other paths) and small_avx512, with
 * the same operations in the same order (an FMA where the reference calls
 * fmaf, the sigmoid of cpu_exp.h). The training step uses the op on the
 * AVX-512 path only (small_step_fits): elsewhere fmaf is a library call and
 * the dense ops are faster, so there a run of such a network keeps the per-op
 * step's sums, and its bits differ from an AVX-512 machine's within rounding. Hidden widths below 8 or between 8 and 16 are padded with units
 * whose weights are 0 (their output and gradients are 0 and are dropped). */
#include <math.h>
#include <string.h>

#include "cpu/cpu_exp.h"
#include "cpu/cpu_ops.h"
#include "cpu/cpu_ops_avx512.h"
#include "cpu/gemm_avx512.h"

#define LANES 16
#define MAX_IN 4
#define MAX_HIDDEN 16

/* One call: the rows, the parameters padded to H hidden units, the results. */
typedef struct small_args {
    const float *x, *t; /* (rows, in), (rows) */
    float *z;           /* (rows) logits out */
    size_t rows, in, h; /* h: hidden units padded to 8 or 16 */
    float gs;           /* the loss gradient's factor (nn_loss_grad_factor) */
    int bce;            /* output sigmoid (BCE), else identity (MSE) */
    float w1[MAX_IN][MAX_HIDDEN], b1[MAX_HIDDEN], w2[MAX_HIDDEN], b2;
    /* results: the gradient sums over the rows */
    float dw1[MAX_IN][MAX_HIDDEN], db1[MAX_HIDDEN], dw2[MAX_HIDDEN], db2;
} small_args;

/* 16 lane partial sums folded in halves: s[l] += s[l + h] for h = 8, 4, 2, 1. */
static float fold16(float *s) {
    for (size_t h = LANES / 2; h > 0; h /= 2)
        for (size_t l = 0; l < h; l++) s[l] += s[l + h];
    return s[0];
}

/* The reference: every step a loop over the 16 lanes. */
static void small_c(small_args *a) {
    const size_t I = a->in, H = a->h;
    float aw1[MAX_IN][MAX_HIDDEN][LANES], ab1[MAX_HIDDEN][LANES], aw2[MAX_HIDDEN][LANES],
        ab2[LANES];
    memset(aw1, 0, sizeof aw1), memset(ab1, 0, sizeof ab1), memset(aw2, 0, sizeof aw2);
    memset(ab2, 0, sizeof ab2);
    for (size_t r0 = 0; r0 < a->rows; r0 += LANES) {
        const size_t n = a->rows - r0 < LANES ? a->rows - r0 : LANES;
        float x[MAX_IN][LANES], h[MAX_HIDDEN][LANES], z[LANES], dz[LANES];
        for (size_t l = 0; l < LANES; l++)
            for (size_t i = 0; i < I; i++) x[i][l] = l < n ? a->x[(r0 + l) * I + i] : 0.0f;
        for (size_t j = 0; j < H; j++)
            for (size_t l = 0; l < LANES; l++) {
                float s = a->b1[j];
                for (size_t i = 0; i < I; i++) s = fmaf(x[i][l], a->w1[i][j], s);
                h[j][l] = s > 0.0f ? s : 0.0f;
            }
        for (size_t l = 0; l < LANES; l++) {
            float s = a->b2;
            for (size_t j = 0; j < H; j++) s = fmaf(h[j][l], a->w2[j], s);
            z[l] = s;
        }
        for (size_t l = 0; l < n; l++) a->z[r0 + l] = z[l];
        for (size_t l = 0; l < LANES; l++) {
            const float y = a->bce ? 1.0f / (1.0f + nn_exp_f(-z[l])) : z[l];
            dz[l] = l < n ? a->gs * (y - a->t[r0 + l]) : 0.0f;
            ab2[l] += dz[l];
        }
        for (size_t j = 0; j < H; j++)
            for (size_t l = 0; l < LANES; l++) {
                aw2[j][l] = fmaf(h[j][l], dz[l], aw2[j][l]);
                const float d = h[j][l] > 0.0f ? dz[l] * a->w2[j] : 0.0f;
                ab1[j][l] += d;
                for (size_t i = 0; i < I; i++) aw1[i][j][l] = fmaf(x[i][l], d, aw1[i][j][l]);
            }
    }
    for (size_t j = 0; j < H; j++) {
        for (size_t i = 0; i < I; i++) a->dw1[i][j] = fold16(aw1[i][j]);
        a->db1[j] = fold16(ab1[j]);
        a->dw2[j] = fold16(aw2[j]);
    }
    a->db2 = fold16(ab2);
}

#if NN_GEMM_HAVE_AVX512
#include <immintrin.h>

#include "cpu/cpu_sigmoid_avx512.h"

#define AVX512 __attribute__((target("avx512f")))

/* fold16 of a vector's lanes: the same pairs in the same order. */
AVX512 static inline float fold_v(__m512 v) {
    const __m256 s8 = _mm256_add_ps(_mm512_castps512_ps256(v),
                                    _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    return _mm_cvtss_f32(_mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1)));
}

/* The rows 16 at a time with I inputs and H hidden units (constants after
 * inlining): small_c's operations, one vector per lane loop. */
AVX512 static inline __attribute__((always_inline)) void small_tiles(small_args *a, const int I,
                                                                     const int H) {
    const __m512 zero = _mm512_setzero_ps();
    __m512 aw1[MAX_IN][MAX_HIDDEN], ab1[MAX_HIDDEN], aw2[MAX_HIDDEN], ab2 = zero;
    #pragma GCC unroll 16
    for (int j = 0; j < H; j++) {
        #pragma GCC unroll 16
        for (int i = 0; i < I; i++) aw1[i][j] = zero;
        ab1[j] = aw2[j] = zero;
    }
    /* input i of lane l is element l I + i of the tile's rows: from the
     * first two vectors where that is below 32, else from the next two */
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    __m512i idx[MAX_IN];
    __mmask16 upper[MAX_IN];
    #pragma GCC unroll 16
    for (int i = 0; i < I; i++) {
        idx[i] = _mm512_add_epi32(_mm512_mullo_epi32(lane, _mm512_set1_epi32(I)),
                                  _mm512_set1_epi32(i));
        upper[i] = _mm512_cmpge_epi32_mask(idx[i], _mm512_set1_epi32(32));
    }
    const __m512 gs = _mm512_set1_ps(a->gs);
    __m512d tab[4];
    nn_avx512_exp_table(tab);
    for (size_t r0 = 0; r0 < a->rows; r0 += LANES) {
        const size_t n = a->rows - r0 < LANES ? a->rows - r0 : LANES;
        const __mmask16 valid = (__mmask16)((1u << n) - 1u);
        float buf[LANES * MAX_IN];
        const float *xp = a->x + r0 * (size_t)I;
        if (n < LANES) { /* the last rows, zero-padded */
            memset(buf, 0, sizeof buf);
            memcpy(buf, xp, n * (size_t)I * sizeof(float));
            xp = buf;
        }
        __m512 v[MAX_IN], x[MAX_IN];
        #pragma GCC unroll 16
        for (int q = 0; q < I; q++) v[q] = _mm512_loadu_ps(xp + LANES * q);
        #pragma GCC unroll 16
        for (int i = 0; i < I; i++) {
            if (I == 1) {
                x[i] = v[0];
                continue;
            }
            x[i] = _mm512_permutex2var_ps(v[0], idx[i], v[1]);
            if (I > 2)
                x[i] = _mm512_mask_mov_ps(x[i], upper[i],
                                          _mm512_permutex2var_ps(v[2], idx[i], v[I > 3 ? 3 : 2]));
        }
        __m512 h[MAX_HIDDEN];
        #pragma GCC unroll 16
        for (int j = 0; j < H; j++) {
            __m512 s = _mm512_set1_ps(a->b1[j]);
            #pragma GCC unroll 16
            for (int i = 0; i < I; i++) s = _mm512_fmadd_ps(x[i], _mm512_set1_ps(a->w1[i][j]), s);
            h[j] = _mm512_max_ps(s, zero); /* s > 0 ? s : 0, NaN included */
        }
        __m512 z = _mm512_set1_ps(a->b2);
        #pragma GCC unroll 16
        for (int j = 0; j < H; j++) z = _mm512_fmadd_ps(h[j], _mm512_set1_ps(a->w2[j]), z);
        _mm512_mask_storeu_ps(a->z + r0, valid, z);
        __m512 y = z;
        if (a->bce) { /* as nn_avx512_sigmoid, 8 lanes at a time */
            const __m256 lo = nn_avx512_sigmoid8(_mm512_castps512_ps256(z), tab);
            const __m256 hi = nn_avx512_sigmoid8(
                _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(z), 1)), tab);
            y = _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(lo)),
                                                    _mm256_castps_pd(hi), 1));
        }
        const __m512 t = _mm512_maskz_loadu_ps(valid, a->t + r0);
        const __m512 dz = _mm512_maskz_mov_ps(valid, _mm512_mul_ps(gs, _mm512_sub_ps(y, t)));
        ab2 = _mm512_add_ps(ab2, dz);
        #pragma GCC unroll 16
        for (int j = 0; j < H; j++) {
            aw2[j] = _mm512_fmadd_ps(h[j], dz, aw2[j]);
            const __mmask16 on = _mm512_cmp_ps_mask(h[j], zero, _CMP_GT_OQ);
            const __m512 d = _mm512_maskz_mul_ps(on, dz, _mm512_set1_ps(a->w2[j]));
            ab1[j] = _mm512_add_ps(ab1[j], d);
            #pragma GCC unroll 16
            for (int i = 0; i < I; i++) aw1[i][j] = _mm512_fmadd_ps(x[i], d, aw1[i][j]);
        }
    }
    #pragma GCC unroll 16
    for (int j = 0; j < H; j++) {
        #pragma GCC unroll 16
        for (int i = 0; i < I; i++) a->dw1[i][j] = fold_v(aw1[i][j]);
        a->db1[j] = fold_v(ab1[j]);
        a->dw2[j] = fold_v(aw2[j]);
    }
    a->db2 = fold_v(ab2);
}

AVX512 static void small_avx512(small_args *a) {
    switch (a->in * 100 + a->h) {
    case 108: small_tiles(a, 1, 8); break;
    case 116: small_tiles(a, 1, 16); break;
    case 208: small_tiles(a, 2, 8); break;
    case 216: small_tiles(a, 2, 16); break;
    case 308: small_tiles(a, 3, 8); break;
    case 316: small_tiles(a, 3, 16); break;
    case 408: small_tiles(a, 4, 8); break;
    default: small_tiles(a, 4, 16); break;
    }
}
#endif

/* 1 if small_step computes this network. */
static int small_net_ok(const nn_small_net *net) {
    return net->in >= 1 && net->in <= MAX_IN && net->hidden >= 1 && net->hidden <= MAX_HIDDEN &&
           net->act == NN_ACT_RELU && (net->loss == NN_LOSS_BCE || net->loss == NN_LOSS_MSE);
}

/* Only on the AVX-512 path: the reference's fmaf is a library call where the
 * baseline has no FMA, and the pass is then slower than the dense ops. */
int nn_cpu_small_step_fits(const nn_backend *be, const nn_small_net *net) {
    return NN_GEMM_HAVE_AVX512 && nn_cpu_path_of(be) == NN_CPU_PATH_AVX512 && small_net_ok(net);
}

nn_status nn_cpu_small_step(nn_backend *be, const nn_small_net *net, nn_view x, nn_view t,
                            nn_view params, nn_view g, nn_view z, size_t rows, float grad_scale,
                            nn_error *err) {
    if (!small_net_ok(net))
        return nn_error_set(err, NN_E_INVALID, "small_step: a network it does not take");
    static const small_args blank;
    small_args a = blank;
    const size_t I = net->in, H = net->hidden;
    a.x = nn_cpu_ptr(x), a.t = nn_cpu_ptr(t), a.z = nn_cpu_ptr(z);
    a.rows = rows, a.in = I, a.h = H <= 8 ? 8 : 16;
    a.bce = net->loss == NN_LOSS_BCE;
    nn_loss_grad_factor(net->loss, 1, grad_scale, &a.gs);
    const float *p = nn_cpu_ptr(params);
    for (size_t j = 0; j < H; j++) {
        for (size_t i = 0; i < I; i++) a.w1[i][j] = p[net->w1 + i * H + j];
        a.b1[j] = p[net->b1 + j];
        a.w2[j] = p[net->w2 + j];
    }
    a.b2 = p[net->b2];
#if NN_GEMM_HAVE_AVX512
    if (nn_cpu_path_of(be) == NN_CPU_PATH_AVX512) small_avx512(&a);
    else small_c(&a);
#else
    small_c(&a);
#endif
    float *gp = nn_cpu_ptr(g);
    for (size_t j = 0; j < H; j++) {
        for (size_t i = 0; i < I; i++) gp[net->w1 + i * H + j] = a.dw1[i][j];
        gp[net->b1 + j] = a.db1[j];
        gp[net->w2 + j] = a.dw2[j];
    }
    gp[net->b2] = a.db2;
    return NN_OK;
}
