/* gemm_openblas.c — OpenBLAS cblas_sgemm as a `nnbench gemm` implementation
 * (only when the build found OpenBLAS: NNBENCH_HAVE_OPENBLAS). */
#include "gemm_impl.h"

#include <stdio.h>

#ifdef NNBENCH_HAVE_OPENBLAS
#include <cblas.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* One shape's operands in host memory. */
typedef struct openblas_state {
    gemm_shape s;
    float *a; /* (m, k) or (k, m) */
    float *b; /* (k, n) or (n, k) */
    float *c; /* (m, n) */
} openblas_state;

/* Free the shape's host copies. */
static void ob_unprepare(gemm_impl *im) {
    openblas_state *st = im->state;
    free(st->a);
    free(st->b);
    free(st->c);
    st->a = st->b = st->c = NULL;
}

/* Private copies of a and b, and room for c. */
static int ob_prepare(gemm_impl *im, const gemm_shape *s, const float *a, const float *b,
                      char *msg, size_t len) {
    openblas_state *st = im->state;
    st->s = *s;
    const size_t na = s->m * s->k, nb = s->k * s->n, nc = s->m * s->n;
    st->a = malloc((na ? na : 1) * sizeof(float));
    st->b = malloc((nb ? nb : 1) * sizeof(float));
    st->c = malloc((nc ? nc : 1) * sizeof(float));
    if (!st->a || !st->b || !st->c) {
        ob_unprepare(im);
        snprintf(msg, len, "out of memory");
        return -1;
    }
    memcpy(st->a, a, na * sizeof(float));
    memcpy(st->b, b, nb * sizeof(float));
    return 0;
}

/* cblas_sgemm, row-major, alpha 1, beta 0. */
static int ob_run(gemm_impl *im, char *msg, size_t len) {
    (void)msg;
    (void)len;
    openblas_state *st = im->state;
    const gemm_shape *s = &st->s;
    const int lda = (int)(s->ta ? s->m : s->k), ldb = (int)(s->tb ? s->k : s->n);
    cblas_sgemm(CblasRowMajor, s->ta ? CblasTrans : CblasNoTrans, s->tb ? CblasTrans : CblasNoTrans,
                (int)s->m, (int)s->n, (int)s->k, 1.0f, st->a, lda > 0 ? lda : 1, st->b,
                ldb > 0 ? ldb : 1, 0.0f, st->c, s->n > 0 ? (int)s->n : 1);
    return 0;
}

/* Copy c out. */
static int ob_read(gemm_impl *im, float *c, char *msg, size_t len) {
    (void)msg;
    (void)len;
    openblas_state *st = im->state;
    memcpy(c, st->c, st->s.m * st->s.n * sizeof(float));
    return 0;
}

/* Free everything. */
static void ob_close(gemm_impl *im) {
    if (!im->state) return;
    ob_unprepare(im);
    free(im->state);
    im->state = NULL;
}

/* 1 if OpenBLAS's chosen core is one of its AVX-512 kernels. */
static int core_uses_avx512(const char *core) {
    static const char *const cores[] = {"skylakex", "cooperlake", "sapphirerapids"};
    char low[64];
    size_t i = 0;
    for (; core[i] && i + 1 < sizeof low; i++) low[i] = (char)tolower((unsigned char)core[i]);
    low[i] = '\0';
    for (size_t j = 0; j < sizeof cores / sizeof cores[0]; j++)
        if (strcmp(low, cores[j]) == 0) return 1;
    return 0;
}

/* Set OpenBLAS's thread count and describe its build and chosen kernels. */
int gemm_impl_open_openblas(gemm_impl *im, int threads) {
    openblas_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(im->why_not, sizeof im->why_not, "out of memory");
        return -1;
    }
    if (threads > 0) openblas_set_num_threads(threads);
    im->state = st;
    const char *core = openblas_get_corename();
    snprintf(im->info, sizeof im->info, "%s; core %s, %d threads", openblas_get_config(), core,
             openblas_get_num_threads());
#if defined(__x86_64__) && defined(__GNUC__)
    if (__builtin_cpu_supports("avx512f") && !core_uses_avx512(core))
        snprintf(im->note, sizeof im->note,
                 "OpenBLAS chose its '%s' kernels on a CPU with AVX-512 (an unrecognised CPU "
                 "model?); OPENBLAS_CORETYPE=SkylakeX selects its AVX-512 kernels", core);
#endif
    im->prepare = ob_prepare;
    im->run = ob_run;
    im->read = ob_read;
    im->unprepare = ob_unprepare;
    im->close = ob_close;
    return 0;
}

#else

/* Without OpenBLAS: unavailable, saying why. */
int gemm_impl_open_openblas(gemm_impl *im, int threads) {
    (void)threads;
    snprintf(im->why_not, sizeof im->why_not,
             "not installed: OpenBLAS was not found at build time");
    return -1;
}

#endif
