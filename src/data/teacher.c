/* teacher.c — the "teacher" dataset: Gaussian inputs labelled by a fixed
 * random network features -> hidden softsign -> outputs, no biases,
 * hidden <= 32, softsign(a) = a / (1 + |a|) (cheap, odd, bounded, smooth).
 *
 * Definition of row i (rows_seed as in stream.c); mix = the splitmix64
 * finalizer, G = 0x9E3779B97F4A7C15:
 *  - key_i = mix(mix(rows_seed + (i + 1) G) ^ rows_seed) (nn_rng_at's formula).
 *  - Inputs: word j = mix(key_i + (j + 1) G) (splitmix64 seeded by key_i);
 *    its low 32 bits make x[2j], its high 32 bits x[2j + 1]. A 32-bit half h
 *    is one ziggurat draw over the 256 layers of ziggurat.c (tables in float,
 *    ratios rounded down): layer L = h & 255, u = (2 (h >> 8) - (2^24 - 1))
 *    2^-24 (odd multiples of 2^-24 in (-1, 1)), value u * x_L if
 *    |u| < ratio_L (98.5% of draws). Otherwise the draw is finished from the
 *    row's fix-up generator (key_i, counter from NN_TEACHER_FIX_COUNTER, shared
 *    by the row's rejected draws in order of d): layer 0 by nn_zig_finish
 *    (tail), else the wedge test f(x_(L+1)) + U (f(x_L) - f(x_(L+1))) <
 *    exp(-x^2 / 2) on x = u * x_L, else a fresh nn_zig_normal.
 *    Values are stored as float.
 *  - Label, in float from the stored x: a_j = fmaf chain over d in order of
 *    w1[j][d] x[d] from 0; s_j = a_j / (1 + |a_j|); z_c = fmaf chain over j
 *    in order of w2[c][j] s_j. Binary: label = z_0 > 0; else the first index
 *    of the largest z_c. fmaf is exactly rounded, so every path (C, AVX2,
 *    AVX-512) and thread count gives the same bits, whatever the compiler's
 *    contraction flags. Weights are drawn in double, then rounded to float.
 *  - noise > 0: after labelling, x[d] += noise * N(0, 1) (in double) with
 *    nn_zig_normal draws from (key_i, NN_TEACHER_NOISE_COUNTER).
 *  - label_noise: as for every streamed kind (stream.c), from
 *    (key_i, NN_ROW_LABEL_COUNTER).
 * The in-memory form (nn_data_generate) is rows 0..samples-1 of this.
 *
 * Balance by symmetry (inputs are x ~ N(0, I)):
 *  - binary (one output, label = logit > 0): the network is odd (softsign,
 *    zero biases) and x, -x are equally likely, so each class has
 *    probability 1/2. Rounding keeps this: negation commutes with fmaf and
 *    division, and the sampled inputs are symmetric (flipping bits 8..31 of a
 *    half negates its value; the fix-ups are symmetric too, up to the 2^-52
 *    grid of nn_zig_normal). Weights are plain Xavier-normal; hidden = 32.
 *  - k classes (label = argmax): R rotates every coordinate pair (2p, 2p+1)
 *    by 2*pi/k, so R^k = I and Rx ~ x. With m = 32/k random vectors v_i and
 *    random u (m, k), hidden unit (c, i) is softsign(v_i . R^c x) and
 *    z_c = sum_{c', i} u[i][(c' - c) mod k] h_(c', i); then z(Rx) is z(x)
 *    shifted by one class, so label(Rx) = label(x) + 1 mod k and every class
 *    has probability 1/k (exactly for the real-valued network; the float
 *    weights perturb it by rounding only). Needs features >= 2 (spec.c).
 *
 * Speed (~8x the scalar tanh version): a kernel (teacher_tile.h, one variant
 * per instruction set, picked at run time) computes a tile of 8 or 16 rows,
 * one row per vector lane, each lane from its own row index (consecutive
 * rows for a range; any rows, e.g. a data-parallel rank's, for
 * nn_teacher_rows_at, with the same bits per row): the words and ziggurat draws of the tile (two
 * table gathers per 16 draws), then the hidden units in blocks of
 * NN_TEACHER_BLOCK independent fmaf chains, each block feeding the logits,
 * then the argmax; a register transpose copies the tile's inputs out as rows.
 */
#include "data/data_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HMAX NN_TEACHER_HIDDEN
#define TL NN_TEACHER_TILE
#define TB NN_TEACHER_BLOCK

/* Rows per call below which no threads are forked (as in stream.c). */
#define TEACHER_PAR_ROWS 4096

#define TEACHER_GOLDEN UINT64_C(0x9E3779B97F4A7C15)
/* Counters of a row's sub-streams (below NN_ROW_LABEL_COUNTER = 2^63). */
#define NN_TEACHER_NOISE_COUNTER (UINT64_C(1) << 62)
#define NN_TEACHER_FIX_COUNTER (UINT64_C(1) << 61)

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define TEACHER_X86 1
#else
#define TEACHER_X86 0
#endif

/* The signed uniform of a 32-bit draw h: odd multiples of 2^-24 in (-1, 1),
 * from bits 8..31 (bits 0..7 pick the layer); flipping bits 8..31 negates it. */
static float draw_u(uint32_t h) {
    return (float)((int32_t)(h >> 8) * 2 - 0xFFFFFF) * 0x1p-24f;
}

/* Finish the rejected draw h of a row from its fix-up generator (key,
 * *counter), advancing *counter; rare (~1.5% of draws). Tail: nn_zig_finish;
 * wedge: Marsaglia-Tsang's test with one exp (densities f(x_i) tabled);
 * else a fresh nn_zig_normal. */
__attribute__((noinline)) static float fix_draw(const nn_teacher *t, uint64_t key,
                                                uint64_t *counter, uint32_t h) {
    nn_rng r = {key, *counter};
    const int i = (int)(h & (NN_ZIG_LAYERS - 1));
    const double u = (double)draw_u(h);
    double v;
    if (i == 0) {
        v = nn_zig_finish(&r, 0, u);
    } else {
        const double x = u * nn_zig_x[i], f0 = t->zig_f[i], f1 = t->zig_f[i + 1];
        v = f1 + nn_rng_uniform(&r) * (f0 - f1) < exp(-0.5 * x * x) ? x : nn_zig_normal(&r);
    }
    *counter = r.counter;
    return (float)v;
}

/* 0, 1, ..., NN_TEACHER_TILE - 1: the kernels' lane offsets for consecutive
 * rows (a vector load, not lane-by-lane stores that the load could not
 * forward from). */
static const uint64_t teacher_iota[TL] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

/* The kernel variants (teacher_tile.h), all bit-identical. */
typedef void (*tile_fn)(const nn_teacher *, const uint64_t *, uint64_t, const uint64_t *,
                        float *, uint64_t *, uint32_t *);
/* Copy the first n rows of tile inputs xt: (f, lanes) into x: (n, f). */
typedef void (*copy_fn)(const float *xt, size_t f, size_t n, float *x);

/* copy_fn for tile_c's 8 lanes. */
static void copy_c(const float *xt, size_t f, size_t n, float *x) {
    for (size_t l = 0; l < n; l++)
        for (size_t d = 0; d < f; d++) x[l * f + d] = xt[d * 8 + l];
}

/* Baseline C: 8 lanes, table loads lane by lane, fmaf from libm (a call
 * per lane on x86, slow there; x86 CPUs with AVX2 and FMA take tile_avx2). */
typedef float c_vf __attribute__((vector_size(32)));
typedef uint32_t c_vu __attribute__((vector_size(32)));
typedef int32_t c_vi __attribute__((vector_size(32)));
typedef uint64_t c_vq __attribute__((vector_size(64)));
#define TILE_NAME tile_c
#define TILE_ATTR
#define TW 8
#define tvf c_vf
#define tvu c_vu
#define tvi c_vi
#define tvq c_vq
#define TVFMA(a, b, c) __extension__({                                                  \
    const c_vf a_ = (a), b_ = (b), c_ = (c);                                             \
    c_vf r_;                                                                             \
    for (int q_ = 0; q_ < 8; q_++) r_[q_] = fmaf(a_[q_], b_[q_], c_[q_]);                \
    r_;                                                                                  \
})
#define TVANY(m) __extension__({                                                        \
    const c_vi m_ = (m);                                                                 \
    int32_t any_ = 0;                                                                    \
    for (int q_ = 0; q_ < 8; q_++) any_ |= m_[q_];                                       \
    any_ != 0;                                                                           \
})
#define TVGATHER(p, i) __extension__({                                                  \
    const c_vu i_g_ = (i);                                                               \
    c_vf r_;                                                                             \
    for (int q_ = 0; q_ < 8; q_++) r_[q_] = (p)[i_g_[q_]];                               \
    r_;                                                                                  \
})
#include "data/teacher_tile.h"
#undef TILE_NAME
#undef TILE_ATTR
#undef TW
#undef tvf
#undef tvu
#undef tvi
#undef tvq
#undef TVFMA
#undef TVGATHER
#undef TVANY

#if TEACHER_X86
#include <immintrin.h>

/* AVX2 + FMA: 8 lanes. */
#define TILE_NAME tile_avx2
#define TILE_ATTR __attribute__((target("avx2,fma")))
#define TW 8
#define tvf c_vf
#define tvu c_vu
#define tvi c_vi
#define tvq c_vq
#define TVFMA(a, b, c) ((c_vf)_mm256_fmadd_ps((__m256)(a), (__m256)(b), (__m256)(c)))
#define TVGATHER(p, i) ((c_vf)_mm256_i32gather_ps((p), (__m256i)(i), 4))
#define TVANY(m) (!_mm256_testz_si256((__m256i)(m), (__m256i)(m)))
#include "data/teacher_tile.h"
#undef TILE_NAME
#undef TILE_ATTR
#undef TW
#undef tvf
#undef tvu
#undef tvi
#undef tvq
#undef TVFMA
#undef TVGATHER
#undef TVANY

/* AVX-512: 16 lanes. */
typedef float z_vf __attribute__((vector_size(64)));
typedef uint32_t z_vu __attribute__((vector_size(64)));
typedef int32_t z_vi __attribute__((vector_size(64)));
typedef uint64_t z_vq __attribute__((vector_size(128)));
#define TILE_NAME tile_avx512
#define TILE_ATTR __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,fma")))
#define TW 16
#define tvf z_vf
#define tvu z_vu
#define tvi z_vi
#define tvq z_vq
#define TVFMA(a, b, c) ((z_vf)_mm512_fmadd_ps((__m512)(a), (__m512)(b), (__m512)(c)))
#define TVGATHER(p, i) ((z_vf)_mm512_i32gather_ps((__m512i)(i), (p), 4))
#define TVANY(m) (_mm512_test_epi32_mask((__m512i)(m), (__m512i)(m)) != 0)
#include "data/teacher_tile.h"
#undef TILE_NAME
#undef TILE_ATTR
#undef TW
#undef tvf
#undef tvu
#undef tvi
#undef tvq
#undef TVFMA
#undef TVGATHER
#undef TVANY

/* copy_fn for 8 lanes: 8 x 8 blocks transposed in registers. */
__attribute__((target("avx2"))) static void copy_avx2(const float *xt, size_t f, size_t n,
                                                      float *x) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (size_t d0 = 0; d0 < f; d0 += 8) {
        const size_t nd = f - d0 < 8 ? f - d0 : 8;
        const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)nd), lane);
        __m256 r[8], t[8], u[8];
        for (size_t i = 0; i < 8; i++)
            r[i] = i < nd ? _mm256_loadu_ps(xt + (d0 + i) * 8) : _mm256_setzero_ps();
        for (size_t i = 0; i < 4; i++) {
            t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
            t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
        }
        for (size_t i = 0; i < 2; i++) {
            u[4 * i] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
            u[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
            u[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
            u[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
        }
        for (size_t c = 0; c < 4; c++) {
            r[c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x20);
            r[4 + c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x31);
        }
        for (size_t l = 0; l < n; l++) _mm256_maskstore_ps(x + l * f + d0, m, r[l]);
    }
}

/* copy_fn for 16 lanes: 16 x 16 blocks transposed in registers. */
__attribute__((target("avx512f"))) static void copy_avx512(const float *xt, size_t f, size_t n,
                                                           float *x) {
    for (size_t d0 = 0; d0 < f; d0 += 16) {
        const size_t nd = f - d0 < 16 ? f - d0 : 16;
        const __mmask16 m = (__mmask16)((1u << nd) - 1);
        __m512 r[16], t[16];
        for (size_t i = 0; i < 16; i++)
            r[i] = i < nd ? _mm512_loadu_ps(xt + (d0 + i) * 16) : _mm512_setzero_ps();
        for (size_t i = 0; i < 8; i++) { /* pairs of inputs interleaved */
            t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
            t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
        }
        for (size_t i = 0; i < 4; i++) { /* r[4i + c], 128-bit lane b: column 4b + c, inputs 4i.. */
            const __m512d a0 = _mm512_castps_pd(t[4 * i]), a1 = _mm512_castps_pd(t[4 * i + 1]);
            const __m512d a2 = _mm512_castps_pd(t[4 * i + 2]), a3 = _mm512_castps_pd(t[4 * i + 3]);
            r[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a0, a2));
            r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a0, a2));
            r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(a1, a3));
            r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(a1, a3));
        }
        for (size_t c = 0; c < 4; c++) { /* gather the 128-bit lanes of column 4b + c */
            const __m512 v = _mm512_shuffle_f32x4(r[c], r[4 + c], 0x88);
            const __m512 vp = _mm512_shuffle_f32x4(r[c], r[4 + c], 0xDD);
            const __m512 w = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0x88);
            const __m512 wp = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0xDD);
            t[c] = _mm512_shuffle_f32x4(v, w, 0x88);
            t[8 + c] = _mm512_shuffle_f32x4(v, w, 0xDD);
            t[4 + c] = _mm512_shuffle_f32x4(vp, wp, 0x88);
            t[12 + c] = _mm512_shuffle_f32x4(vp, wp, 0xDD);
        }
        for (size_t l = 0; l < n; l++) _mm512_mask_storeu_ps(x + l * f + d0, m, t[l]);
    }
}
#endif

/* 1 if this CPU can run path. */
int nn_teacher_path_supported(nn_teacher_path path) {
    switch (path) {
    case NN_TEACHER_PATH_C: return 1;
#if TEACHER_X86
    case NN_TEACHER_PATH_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case NN_TEACHER_PATH_AVX512:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("fma");
#endif
    default: return 0;
    }
}

/* The kernel of path: rows per call, tile and copy functions. */
typedef struct tile_kernel {
    size_t lanes;
    tile_fn tile;
    copy_fn copy;
} tile_kernel;

static tile_kernel path_kernel(nn_teacher_path path) {
#if TEACHER_X86
    if (path == NN_TEACHER_PATH_AVX512) return (tile_kernel){16, tile_avx512, copy_avx512};
    if (path == NN_TEACHER_PATH_AVX2) return (tile_kernel){8, tile_avx2, copy_avx2};
#endif
    (void)path;
    return (tile_kernel){8, tile_c, copy_c};
}

/* w: (f) = v rotated by angle `a` in every coordinate pair (2p, 2p+1); an odd
 * last coordinate is copied. w . x == v . (R_(-a) x). */
static void rotate_pairs(const double *v, size_t f, double a, double *w) {
    const double c = cos(a), s = sin(a);
    size_t d = 0;
    for (; d + 1 < f; d += 2) {
        w[d] = c * v[d] - s * v[d + 1];
        w[d + 1] = s * v[d] + c * v[d + 1];
    }
    if (d < f) w[d] = v[d];
}

/* Multi-class weights into w1: (h, f) and w2: (k, h) (see the file comment);
 * v: (m, f) and u: (m, k) are the random draws, h = k * m. */
static void build_cyclic(const double *v, const double *u, size_t f, size_t k, size_t m, double *w1,
                         double *w2) {
    const size_t h = k * m;
    for (size_t c = 0; c < k; c++) {
        /* row (c, i) = R^(-c) v_i, so that row . x = v_i . R^c x */
        const double a = -NN_TWO_PI * (double)c / (double)k;
        for (size_t i = 0; i < m; i++) rotate_pairs(v + i * f, f, a, w1 + (c * m + i) * f);
    }
    for (size_t c = 0; c < k; c++)
        for (size_t cp = 0; cp < k; cp++)
            for (size_t i = 0; i < m; i++) w2[c * h + cp * m + i] = u[i * k + (cp + k - c) % k];
}

/* Draw the teacher for spec (checked) from its seed's teacher stream. */
nn_status nn_teacher_make(const nn_data_spec *spec, nn_teacher *t, nn_error *err) {
    memset(t, 0, sizeof *t);
    const size_t f = spec->features, k = spec->classes;
    const size_t o = k == 2 ? 1 : k, m = k == 2 ? HMAX : HMAX / k, h = k == 2 ? HMAX : m * k;
    const size_t hp = (h + TB - 1) / TB * TB; /* padded hidden width, <= HMAX */
    if (f > SIZE_MAX / sizeof(double) / (3 * HMAX))
        return nn_error_set(err, NN_E_NOMEM, "teacher with features=%zu overflows size_t", f);
    double *w1 = malloc(h * f * sizeof(double)); /* (h, f) */
    double *w2 = malloc(o * h * sizeof(double)); /* (o, h) */
    double *v = malloc(m * f * sizeof(double));  /* (m, f) base hidden rows */
    double *u = malloc(m * o * sizeof(double));  /* (m, o) base output weights */
    float *w1b = malloc(hp * f * sizeof(float)); /* (hp / TB, f, TB) */
    float *w2p = malloc(o * hp * sizeof(float)); /* (o, hp) */
    nn_status st = NN_OK;
    if (w1 == NULL || w2 == NULL || v == NULL || u == NULL || w1b == NULL || w2p == NULL) {
        st = nn_error_set(err, NN_E_NOMEM, "cannot allocate a teacher with features=%zu", f);
        free(w1b);
        free(w2p);
    } else {
        nn_rng r = nn_rng_make(spec->seed, NN_STREAM_TEACHER);
        const double std1 = sqrt(2.0 / (double)(f + h)), std2 = sqrt(2.0 / (double)(h + o));
        for (size_t i = 0; i < m * f; i++) v[i] = std1 * nn_zig_normal(&r); /* Xavier-normal */
        for (size_t i = 0; i < m * o; i++) u[i] = std2 * nn_zig_normal(&r);
        if (k == 2) {
            memcpy(w1, v, h * f * sizeof(double));
            memcpy(w2, u, h * sizeof(double));
        } else {
            build_cyclic(v, u, f, k, m, w1, w2);
        }
        /* blocked, zero-padded float copies (padding units add exact zeros) */
        for (size_t j = 0; j < hp; j++)
            for (size_t d = 0; d < f; d++)
                w1b[(j / TB) * f * TB + d * TB + j % TB] = j < h ? (float)w1[j * f + d] : 0.0f;
        for (size_t c = 0; c < o; c++)
            for (size_t j = 0; j < hp; j++) w2p[c * hp + j] = j < h ? (float)w2[c * h + j] : 0.0f;
        for (size_t i = 0; i <= NN_ZIG_LAYERS; i++)
            t->zig_f[i] = exp(-0.5 * nn_zig_x[i] * nn_zig_x[i]);
        for (size_t i = 0; i < NN_ZIG_LAYERS; i++) {
            t->zig_x[i] = (float)nn_zig_x[i];
            float q = (float)nn_zig_ratio[i];
            if ((double)q > nn_zig_ratio[i]) q = nextafterf(q, 0.0f); /* stay inside */
            t->zig_ratio[i] = q;
        }
        t->features = f;
        t->hidden = hp;
        t->outputs = o;
        t->w1b = w1b;
        t->w2 = w2p;
        t->path = NN_TEACHER_PATH_C;
        if (nn_teacher_path_supported(NN_TEACHER_PATH_AVX2)) t->path = NN_TEACHER_PATH_AVX2;
        if (nn_teacher_path_supported(NN_TEACHER_PATH_AVX512)) t->path = NN_TEACHER_PATH_AVX512;
    }
    free(w1);
    free(w2);
    free(v);
    free(u);
    return st;
}

/* Release the weights and zero t; safe on a zeroed struct. */
void nn_teacher_free(nn_teacher *t) {
    free(t->w1b);
    free(t->w2);
    memset(t, 0, sizeof *t);
}

/* Input noise and label noise on n finished rows x: (n, features), y: (n)
 * with keys key: (n). */
static void row_noise(const nn_data_spec *s, const uint64_t *key, size_t n, float *x, float *y) {
    const size_t f = s->features;
    for (size_t l = 0; l < n; l++) {
        if (s->noise != 0.0) {
            nn_rng r = {key[l], NN_TEACHER_NOISE_COUNTER};
            float *xr = x + l * f;
            for (size_t d = 0; d < f; d++)
                xr[d] = (float)((double)xr[d] + s->noise * nn_zig_normal(&r));
        }
        if (s->label_noise > 0.0) {
            nn_rng r = {key[l], NN_ROW_LABEL_COUNTER};
            if (nn_rng_uniform(&r) < s->label_noise) y[l] = (float)nn_rng_below(&r, s->classes);
        }
    }
}

/* Output rows [0, count) into x: (count, f), y: (count): row i is first + i,
 * or first + rows[i] when rows is not NULL (wrapping mod 2^64 either way).
 * A tile's lanes hold consecutive output rows; lanes past count compute
 * rows whose results are not copied out. */
static nn_status teacher_tiles(const nn_teacher *t, const nn_data_spec *spec, uint64_t rows_seed,
                               uint64_t first, const uint64_t *rows, size_t count, float *x,
                               float *y, nn_error *err) {
    const size_t f = t->features;
    const tile_kernel kern = path_kernel(t->path);
    const size_t lanes = kern.lanes, tiles = count / lanes + (count % lanes != 0);
    const int noisy = spec->noise != 0.0 || spec->label_noise > 0.0;
    uint64_t seed[TL];
    for (size_t l = 0; l < TL; l++) seed[l] = rows_seed;
    int failed = 0;
#pragma omp parallel if (count >= TEACHER_PAR_ROWS)
    {
        float *xt = malloc(f * lanes * sizeof(float)); /* (f, lanes) this thread's tile inputs */
        if (xt == NULL) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(static)
        for (size_t k = 0; k < tiles; k++) {
            if (xt == NULL) continue;
            uint64_t key[TL], idx[TL]; /* (lanes) row keys, row indices */
            uint32_t cls[TL];
            const size_t row = k * lanes, n = count - row < lanes ? count - row : lanes;
            if (rows) /* a partial last tile repeats its last row */
                for (size_t l = 0; l < lanes; l++) idx[l] = first + rows[row + (l < n ? l : n - 1)];
            kern.tile(t, seed, first + row, rows ? idx : NULL, xt, key, cls);
            kern.copy(xt, f, n, x + row * f);
            for (size_t l = 0; l < n; l++) y[row + l] = (float)cls[l];
            if (noisy) row_noise(spec, key, n, x + row * f, y + row);
        }
        free(xt);
    }
    if (failed)
        return nn_error_set(err, NN_E_NOMEM, "cannot allocate teacher rows with features=%zu", f);
    return NN_OK;
}

/* Rows [first, first+count) into x, y (see data_internal.h). */
nn_status nn_teacher_rows(const nn_teacher *t, const nn_data_spec *spec, uint64_t rows_seed,
                          uint64_t first, size_t count, float *x, float *y, nn_error *err) {
    return teacher_tiles(t, spec, rows_seed, first, NULL, count, x, y, err);
}

/* Rows offset + rows[i], i < count, into x, y (see data_internal.h). */
nn_status nn_teacher_rows_at(const nn_teacher *t, const nn_data_spec *spec, uint64_t rows_seed,
                             uint64_t offset, const uint64_t *rows, size_t count, float *x,
                             float *y, nn_error *err) {
    return teacher_tiles(t, spec, rows_seed, offset, rows, count, x, y, err);
}
