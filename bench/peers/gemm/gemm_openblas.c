/* gemm_openblas.c — OpenBLAS cblas_sgemm as a `nnbench gemm` implementation.
 * The library is opened with dlopen only when the gemm command asks for it:
 * linked in, OpenBLAS would start its thread pool in every nnbench run. */
#include "gemm_impl.h"

#include <ctype.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The CBLAS constants and entry points used here (values fixed by the CBLAS ABI). */
enum { CBLAS_ROW_MAJOR = 101, CBLAS_NO_TRANS = 111, CBLAS_TRANS = 112 };
typedef void (*sgemm_fn)(int order, int ta, int tb, int m, int n, int k, float alpha,
                         const float *a, int lda, const float *b, int ldb, float beta, float *c,
                         int ldc);
typedef void (*set_threads_fn)(int);
typedef int (*get_threads_fn)(void);
typedef char *(*get_str_fn)(void);

/* One shape's operands in host memory, and the opened library. */
typedef struct openblas_state {
    void *lib;
    sgemm_fn sgemm;
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
    st->sgemm(CBLAS_ROW_MAJOR, s->ta ? CBLAS_TRANS : CBLAS_NO_TRANS,
              s->tb ? CBLAS_TRANS : CBLAS_NO_TRANS, (int)s->m, (int)s->n, (int)s->k, 1.0f, st->a,
              lda > 0 ? lda : 1, st->b, ldb > 0 ? ldb : 1, 0.0f, st->c, s->n > 0 ? (int)s->n : 1);
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
    openblas_state *st = im->state;
    if (st->lib) dlclose(st->lib);
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

/* Open OpenBLAS, set its thread count and describe its build and chosen kernels. */
int gemm_impl_open_openblas(gemm_impl *im, int threads) {
    static const char *const names[] = {"libopenblas.so.0", "libopenblas.so"};
    void *lib = NULL;
    for (size_t i = 0; !lib && i < sizeof names / sizeof names[0]; i++)
        lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(im->why_not, sizeof im->why_not,
                 "not installed: libopenblas.so.0 not found (Debian: libopenblas0)");
        return -1;
    }
    sgemm_fn sgemm = (sgemm_fn)dlsym(lib, "cblas_sgemm");
    set_threads_fn set_threads = (set_threads_fn)dlsym(lib, "openblas_set_num_threads");
    get_threads_fn get_threads = (get_threads_fn)dlsym(lib, "openblas_get_num_threads");
    get_str_fn get_core = (get_str_fn)dlsym(lib, "openblas_get_corename");
    get_str_fn get_config = (get_str_fn)dlsym(lib, "openblas_get_config");
    openblas_state *st = sgemm ? calloc(1, sizeof *st) : NULL;
    if (!st) {
        snprintf(im->why_not, sizeof im->why_not,
                 sgemm ? "out of memory" : "libopenblas has no cblas_sgemm");
        dlclose(lib);
        return -1;
    }
    st->lib = lib;
    st->sgemm = sgemm;
    if (threads > 0 && set_threads) set_threads(threads);
    im->state = st;
    const char *core = get_core ? get_core() : "unknown";
    snprintf(im->info, sizeof im->info, "%s; core %s, %d threads",
             get_config ? get_config() : "OpenBLAS", core, get_threads ? get_threads() : 0);
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
