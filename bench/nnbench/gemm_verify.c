/* gemm_verify.c — the reference results of `nnbench gemm`: a full double
 * product for moderate shapes, and for large ones the CPU GEMM's result
 * checked against double on sampled entries. */
#include "gemm_verify.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "nn_tools.h"

/* Largest m·n·k given a full double reference (about a second of work). */
#define FULL_MAX_MACS ((double)(1u << 28))

/* op(a)(i, p) and op(b)(p, j) of shape s. */
static float op_a(const gemm_shape *s, const float *a, size_t i, size_t p) {
    return s->ta ? a[p * s->m + i] : a[i * s->k + p];
}
static float op_b(const gemm_shape *s, const float *b, size_t p, size_t j) {
    return s->tb ? b[j * s->k + p] : b[p * s->n + j];
}

/* ref (m, n) = op(a)·op(b) in double, via row-major double copies of op(a), op(b). */
static int full_reference(double *ref, const gemm_shape *s, const float *a, const float *b) {
    const size_t m = s->m, n = s->n, k = s->k;
    double *ad = malloc((m * k + 1) * sizeof(double)); /* (m, k) */
    double *bd = malloc((k * n + 1) * sizeof(double)); /* (k, n) */
    if (!ad || !bd) {
        free(ad);
        free(bd);
        return -1;
    }
    for (size_t i = 0; i < m; i++)
        for (size_t p = 0; p < k; p++) ad[i * k + p] = op_a(s, a, i, p);
    for (size_t p = 0; p < k; p++)
        for (size_t j = 0; j < n; j++) bd[p * n + j] = op_b(s, b, p, j);
    for (size_t i = 0; i < m; i++) {
        double *row = ref + i * n;
        for (size_t j = 0; j < n; j++) row[j] = 0.0;
        for (size_t p = 0; p < k; p++) {
            const double x = ad[i * k + p];
            const double *bp = bd + p * n;
            for (size_t j = 0; j < n; j++) row[j] += x * bp[j];
        }
    }
    free(ad);
    free(bd);
    return 0;
}

/* A well-mixed 64-bit value of x (splitmix64 finalizer). */
static uint64_t mix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* ref = the CPU GEMM's result, after checking sampled entries against double. */
static int sampled_reference(gemm_ref *r, const float *a, const float *b, int threads, char *msg,
                             size_t len) {
    const gemm_shape *s = &r->s;
    const size_t mn = s->m * s->n;
    float *c = malloc(mn * sizeof(float)); /* (m, n) */
    if (!c) {
        snprintf(msg, len, "out of memory for the reference");
        return -1;
    }
    nn_gemm_host(threads, c, a, b, s->m, s->n, s->k, s->ta, s->tb);
    for (size_t t = 0; t < GEMM_CHECK_SAMPLES; t++) {
        const size_t e = (size_t)(mix64(t) % mn), i = e / s->n, j = e % s->n;
        double dot = 0.0;
        for (size_t p = 0; p < s->k; p++) dot += (double)op_a(s, a, i, p) * op_b(s, b, p, j);
        if (!(fabs(c[e] - dot) <= r->tol[e])) {
            snprintf(msg, len,
                     "the CPU reference failed its check against double at c(%zu,%zu): %.9g vs "
                     "%.9g",
                     i, j, (double)c[e], dot);
            free(c);
            return -1;
        }
    }
    for (size_t e = 0; e < mn; e++) {
        r->ref[e] = c[e];
        r->tol[e] *= 2.0; /* |x - cpu| <= |x - exact| + |cpu - exact| */
    }
    free(c);
    return 0;
}

/* tol (m, n) = 1e-6 + (k+2)·FLT_EPSILON·(|op(a)|·|op(b)|), the magnitudes via the CPU GEMM. */
static int tolerances(gemm_ref *r, const float *a, const float *b, int threads) {
    const gemm_shape *s = &r->s;
    const size_t na = s->m * s->k, nb = s->k * s->n, mn = s->m * s->n;
    float *aa = malloc((na + 1) * sizeof(float)), *ab = malloc((nb + 1) * sizeof(float));
    float *mag = malloc(mn * sizeof(float)); /* (m, n) */
    int rc = -1;
    if (aa && ab && mag) {
        for (size_t i = 0; i < na; i++) aa[i] = fabsf(a[i]);
        for (size_t i = 0; i < nb; i++) ab[i] = fabsf(b[i]);
        nn_gemm_host(threads, mag, aa, ab, s->m, s->n, s->k, s->ta, s->tb);
        for (size_t e = 0; e < mn; e++)
            r->tol[e] = 1e-6 + (double)(s->k + 2) * FLT_EPSILON * (double)mag[e];
        rc = 0;
    }
    free(aa);
    free(ab);
    free(mag);
    return rc;
}

/* Tolerances, then the full double or the sampled-checked CPU reference. */
int gemm_ref_build(gemm_ref *r, const gemm_shape *s, const float *a, const float *b, int threads,
                   char *msg, size_t len) {
    const size_t mn = s->m * s->n;
    r->s = *s;
    r->ref = malloc(mn * sizeof(double));
    r->tol = malloc(mn * sizeof(double));
    if (!r->ref || !r->tol || tolerances(r, a, b, threads) != 0) {
        snprintf(msg, len, "out of memory for the reference");
        return -1;
    }
    r->exact = s->n < GEMM_CHECK_FULL_MAX_N && (double)s->m * s->n * s->k <= FULL_MAX_MACS;
    if (r->exact) {
        if (full_reference(r->ref, s, a, b) != 0) {
            snprintf(msg, len, "out of memory for the reference");
            return -1;
        }
        return 0;
    }
    return sampled_reference(r, a, b, threads, msg, len);
}

/* Release the reference arrays (safe after a failed build). */
void gemm_ref_free(gemm_ref *r) {
    free(r->ref);
    free(r->tol);
    r->ref = r->tol = NULL;
}

/* Largest |c - ref| and whether every entry is within tolerance. */
double gemm_ref_check(const gemm_ref *r, const float *c, int *ok) {
    const size_t mn = r->s.m * r->s.n;
    double worst = 0.0;
    *ok = 1;
    for (size_t e = 0; e < mn; e++) {
        const double d = fabs((double)c[e] - r->ref[e]);
        if (!(d <= r->tol[e])) *ok = 0;
        if (!(d <= worst)) worst = isfinite(d) ? d : INFINITY;
    }
    return worst;
}

/* Name of the reference kind. */
const char *gemm_ref_kind(const gemm_ref *r) { return r->exact ? "double" : "cpu+sampled-double"; }
