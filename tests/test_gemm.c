/* test_gemm.c — the CPU GEMM against a double-precision reference: odd shapes,
 * all transposes, accumulate, k = 0, canaries around c, every SIMD path this CPU
 * supports, and bit-identical results for any thread count. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/gemm.h"
#include "cpu/gemm_internal.h"
#include "testutil.h"

#define CANARY 64             /* floats guarded on each side of c */
#define CANARY_VALUE 1234.5f

static const nn_cpu_path PATHS[] = {NN_CPU_PATH_C, NN_CPU_PATH_AVX2, NN_CPU_PATH_AVX512};
#define NPATHS (sizeof PATHS / sizeof PATHS[0])

/* Operands of one test product, stored as the transposes say. */
typedef struct problem {
    size_t m, n, k;
    int ta, tb;
    float *a;    /* (m, k), or (k, m) when ta */
    float *b;    /* (k, n), or (n, k) when tb */
    float *c0;   /* (m, n): the initial c, for accumulate */
    double *ref; /* (m, n): op(a) op(b) in double */
    double *mag; /* (m, n): sum over p of |op(a)(i,p) op(b)(p,j)| */
} problem;

/* op(a)(i, p) and op(b)(p, j) of a problem. */
static float op_a(const problem *pr, size_t i, size_t p) {
    return pr->ta ? pr->a[p * pr->m + i] : pr->a[i * pr->k + p];
}
static float op_b(const problem *pr, size_t p, size_t j) {
    return pr->tb ? pr->b[j * pr->k + p] : pr->b[p * pr->n + j];
}

/* Random operands and the double reference for one shape and transpose pair. */
static problem problem_make(size_t m, size_t n, size_t k, int ta, int tb, uint64_t seed) {
    problem pr = {m, n, k, ta, tb, NULL, NULL, NULL, NULL, NULL};
    pr.a = malloc((m * k + 1) * sizeof(float));
    pr.b = malloc((k * n + 1) * sizeof(float));
    pr.c0 = malloc(m * n * sizeof(float));
    pr.ref = malloc(m * n * sizeof(double));
    pr.mag = malloc(m * n * sizeof(double));
    cr_assert(pr.a && pr.b && pr.c0 && pr.ref && pr.mag);
    tu_fill_uniform(pr.a, m * k, seed, -1.0f, 1.0f);
    tu_fill_uniform(pr.b, k * n, seed + 1, -1.0f, 1.0f);
    tu_fill_uniform(pr.c0, m * n, seed + 2, -1.0f, 1.0f);
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double s = 0.0, g = 0.0;
            for (size_t p = 0; p < k; p++) {
                const double t = (double)op_a(&pr, i, p) * (double)op_b(&pr, p, j);
                s += t;
                g += fabs(t);
            }
            pr.ref[i * n + j] = s;
            pr.mag[i * n + j] = g;
        }
    return pr;
}

/* Free a problem's arrays. */
static void problem_free(problem *pr) {
    free(pr->a);
    free(pr->b);
    free(pr->c0);
    free(pr->ref);
    free(pr->mag);
}

/* A c buffer of m*n floats with CANARY guard floats on each side. */
static float *guarded_alloc(size_t mn) {
    float *g = malloc((mn + 2 * CANARY) * sizeof(float));
    cr_assert(g);
    for (size_t i = 0; i < mn + 2 * CANARY; i++) g[i] = CANARY_VALUE;
    return g + CANARY;
}

/* Check both canary regions around c, then free it. */
static void guarded_check_free(float *c, size_t mn, const char *what) {
    for (size_t i = 0; i < CANARY; i++) {
        cr_assert(c[-1 - (ptrdiff_t)i] == CANARY_VALUE, "%s: canary before c overwritten", what);
        cr_assert(c[mn + i] == CANARY_VALUE, "%s: canary after c overwritten", what);
    }
    free(c - CANARY);
}

/* Run one product on `path` and compare with the reference; returns c (guarded). */
static float *run_checked(const problem *pr, nn_cpu_path path, int threads, int accumulate) {
    const size_t mn = pr->m * pr->n;
    float *c = guarded_alloc(mn);
    if (accumulate) memcpy(c, pr->c0, mn * sizeof(float));
    else
        for (size_t i = 0; i < mn; i++) c[i] = NAN; /* must be overwritten, never read */
    nn_cpu_gemm(path, NULL, &(const nn_par){NULL, threads}, NULL, c, pr->a, pr->b, pr->m, pr->n,
                pr->k, pr->ta, pr->tb, accumulate);
    for (size_t i = 0; i < pr->m; i++)
        for (size_t j = 0; j < pr->n; j++) {
            const size_t e = i * pr->n + j;
            const double c0 = accumulate ? (double)pr->c0[e] : 0.0;
            const double ref = c0 + pr->ref[e];
            const double tol = 1e-6 + (double)(pr->k + 1) * FLT_EPSILON * (fabs(c0) + pr->mag[e]);
            cr_assert(fabs((double)c[e] - ref) <= tol,
                      "path %s: %zux%zux%zu ta=%d tb=%d acc=%d threads=%d: c(%zu,%zu) = %.9g, "
                      "reference %.9g, tolerance %.3g",
                      nn_cpu_path_name(path), pr->m, pr->n, pr->k, pr->ta, pr->tb, accumulate,
                      threads, i, j, (double)c[e], ref, tol);
        }
    return c;
}

/* Every supported path, all transposes, accumulate 0/1, on one shape. */
static void check_shape(size_t m, size_t n, size_t k, int threads) {
    for (int t = 0; t < 4; t++) {
        problem pr = problem_make(m, n, k, t & 1, t >> 1, 1000 + m * 31 + n * 7 + k + t);
        for (size_t q = 0; q < NPATHS; q++) {
            if (!nn_cpu_path_supported(PATHS[q])) continue;
            for (int acc = 0; acc <= 1; acc++)
                guarded_check_free(run_checked(&pr, PATHS[q], threads, acc), m * n, "check");
        }
        problem_free(&pr);
    }
}

Test(gemm, paths_are_reported) {
    cr_assert(nn_cpu_path_supported(NN_CPU_PATH_C));
    const nn_cpu_path best = nn_cpu_path_best();
    cr_assert(best != NN_CPU_PATH_AUTO && nn_cpu_path_supported(best));
    for (size_t q = 0; q < NPATHS; q++)
        if (!nn_cpu_path_supported(PATHS[q]))
            cr_log_warn("gemm path %s not supported on this CPU: not tested",
                        nn_cpu_path_name(PATHS[q]));
}

Test(gemm, odd_shapes_all_paths) {
    static const size_t dims[] = {1, 7, 33, 65, 257};
    for (size_t x = 0; x < 5; x++)
        for (size_t y = 0; y < 5; y++)
            for (size_t z = 0; z < 5; z++) check_shape(dims[x], dims[y], dims[z], 2);
}

/* Shapes the default 2-8-1 network produces, forward and backward. */
Test(gemm, tiny_network_shapes) {
    static const size_t shapes[][3] = {
        {800, 8, 2}, {800, 1, 8}, {800, 2, 8}, {800, 8, 1}, {2, 8, 800}, {8, 1, 800},
        {8, 2, 800}, {1, 1, 800}, {200, 8, 2}, {200, 1, 8}, {1, 1, 1},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        check_shape(shapes[s][0], shapes[s][1], shapes[s][2], 2);
}

/* Sizes around and past every block size: KC (256), the micro-tiles, MC, and NC (4096). */
Test(gemm, blocking_edges) {
    static const size_t shapes[][3] = {
        {1000, 33, 40},  {29, 31, 255}, {15, 32, 256},  {14, 33, 257}, {43, 65, 513},
        {225, 47, 300},  {449, 17, 70}, {3, 4100, 20},  {20, 4099, 260}, {300, 1000, 520},
        {1, 1000, 1000}, {1000, 1, 300}, {97, 2, 1300},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        check_shape(shapes[s][0], shapes[s][1], shapes[s][2], 2);
}

/* The direct loops: small products of every form, skinny products (n <= 8,
 * m <= 4 or k <= 8) of any size, and the stack copy limit of a transposed b. */
Test(gemm, direct_loop_shapes) {
    static const size_t shapes[][3] = {
        {1, 1, 30000}, {1, 30000, 1}, {30000, 1, 1}, {3, 5, 2000}, {5, 3, 2000},
        {2000, 3, 5},  {64, 64, 8},   {17, 16, 100}, {16, 17, 100}, {256, 1, 1024},
        {1024, 1, 256}, {256, 1000, 1}, {3, 700, 900}, {700, 7, 900}, {300, 500, 3},
        {2, 2100, 2},  {5, 9, 1000},  {9, 5, 1000}, {100, 40, 8},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        check_shape(shapes[s][0], shapes[s][1], shapes[s][2], 2);
}

Test(gemm, k_zero_clears_or_keeps_c) {
    for (size_t q = 0; q < NPATHS; q++) {
        if (!nn_cpu_path_supported(PATHS[q])) continue;
        for (int t = 0; t < 4; t++) {
            const size_t m = 37, n = 45;
            float *c = guarded_alloc(m * n);
            for (size_t i = 0; i < m * n; i++) c[i] = 3.0f;
            const float dummy = 7.0f;
            nn_cpu_gemm(PATHS[q], NULL, &(const nn_par){NULL, 2}, NULL, c, &dummy, &dummy, m, n, 0,
                        t & 1, t >> 1, 1);
            for (size_t i = 0; i < m * n; i++) cr_assert(c[i] == 3.0f);
            nn_cpu_gemm(PATHS[q], NULL, &(const nn_par){NULL, 2}, NULL, c, &dummy, &dummy, m, n, 0,
                        t & 1, t >> 1, 0);
            for (size_t i = 0; i < m * n; i++) cr_assert(c[i] == 0.0f);
            guarded_check_free(c, m * n, "k=0");
        }
    }
}

Test(gemm, empty_c_is_untouched) {
    float *c = guarded_alloc(0);
    const float dummy = 1.0f;
    nn_cpu_gemm(NN_CPU_PATH_AUTO, NULL, &(const nn_par){NULL, 2}, NULL, c, &dummy, &dummy, 0, 5, 3,
                0, 0, 0);
    nn_cpu_gemm(NN_CPU_PATH_AUTO, NULL, &(const nn_par){NULL, 2}, NULL, c, &dummy, &dummy, 5, 0, 3,
                1, 1, 0);
    guarded_check_free(c, 0, "empty");
}

/* c for one path and thread count, compared bitwise with `expect` (or returned as it). */
static void check_bitwise(const problem *pr, nn_cpu_path path, int threads, int acc,
                          const float *expect) {
    const size_t mn = pr->m * pr->n;
    float *c = guarded_alloc(mn);
    memcpy(c, pr->c0, mn * sizeof(float));
    nn_cpu_gemm(path, NULL, &(const nn_par){NULL, threads}, NULL, c, pr->a, pr->b, pr->m, pr->n,
                pr->k, pr->ta, pr->tb, acc);
    cr_assert(memcmp(c, expect, mn * sizeof(float)) == 0,
              "path %s, %zux%zux%zu ta=%d tb=%d acc=%d: threads=%d differs from threads=1",
              nn_cpu_path_name(path), pr->m, pr->n, pr->k, pr->ta, pr->tb, acc, threads);
    guarded_check_free(c, mn, "bitwise");
}

Test(gemm, bit_identical_for_any_thread_count) {
    /* large enough to run in parallel; odd sizes so thread shares differ */
    static const size_t shapes[][3] = {{257, 301, 530}, {13, 700, 300}, {600, 40, 777},
                                       {2000, 1, 900}, {3, 900, 800}, {1000, 900, 2},
                                       {901, 6, 500}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int t = 0; t < 4; t++) {
            problem pr = problem_make(shapes[s][0], shapes[s][1], shapes[s][2], t & 1, t >> 1, 77);
            const size_t mn = pr.m * pr.n;
            for (size_t q = 0; q < NPATHS; q++) {
                if (!nn_cpu_path_supported(PATHS[q])) continue;
                for (int acc = 0; acc <= 1; acc++) {
                    float *c1 = run_checked(&pr, PATHS[q], 1, acc);
                    const int threads[] = {1, 2, 3};
                    for (int r = 0; r < 3; r++) check_bitwise(&pr, PATHS[q], threads[r], acc, c1);
                    guarded_check_free(c1, mn, "threads=1");
                }
            }
            problem_free(&pr);
        }
}

/* A row of c computes the same bits whatever tile it falls in: the first m
 * rows of a product (blocked, read in place; m = 9..56, every remainder of the
 * kernels' row tiles) equal those rows of the 56-row product, with a in rows
 * or transposed (its storage then has stride m). */
Test(gemm, row_bits_do_not_depend_on_the_tile) {
    enum { M = 56, N = 64, K = 64 };
    float *a = malloc(M * K * sizeof(float)), *at = malloc(M * K * sizeof(float));
    float *b = malloc(K * N * sizeof(float)), *full = malloc(M * N * sizeof(float));
    float *c = malloc(M * N * sizeof(float));
    tu_fill_uniform(a, M * K, 31, -1.0f, 1.0f);
    tu_fill_uniform(b, K * N, 32, -1.0f, 1.0f);
    const nn_par one = {NULL, 1};
    for (size_t q = 0; q < NPATHS; q++) {
        if (!nn_cpu_path_supported(PATHS[q])) continue;
        for (int ta = 0; ta <= 1; ta++) {
            /* op(a) row i = a row i; stored transposed (K, m) when ta */
            for (size_t i = 0; i < M; i++)
                for (size_t p = 0; p < K; p++) at[p * M + i] = a[i * K + p];
            nn_cpu_gemm(PATHS[q], NULL, &one, NULL, full, ta ? at : a, b, M, N, K, ta, 0, 0);
            for (size_t m = 9; m <= M; m++) {
                for (size_t i = 0; i < m; i++)
                    for (size_t p = 0; p < K; p++) at[p * m + i] = a[i * K + p];
                for (size_t e = 0; e < M * N; e++) c[e] = NAN; /* every entry must be written */
                nn_cpu_gemm(PATHS[q], NULL, &one, NULL, c, ta ? at : a, b, m, N, K, ta, 0, 0);
                cr_assert(memcmp(c, full, m * N * sizeof(float)) == 0,
                          "path %s, ta %d: the first %zu rows differ from the %d-row product's",
                          nn_cpu_path_name(PATHS[q]), ta, m, M);
                for (size_t e = m * N; e < M * N; e++)
                    cr_assert(isnan(c[e]), "path %s, ta %d, m %zu: stored past row m",
                              nn_cpu_path_name(PATHS[q]), ta, m);
            }
        }
    }
    free(a), free(at), free(b), free(full), free(c);
}

Test(gemm, default_entry_uses_best_path) {
    problem pr = problem_make(300, 200, 260, 0, 1, 5);
    float *expect = run_checked(&pr, nn_cpu_path_best(), 2, 1);
    float *c = guarded_alloc(pr.m * pr.n);
    memcpy(c, pr.c0, pr.m * pr.n * sizeof(float));
    nn_cpu_gemm(NN_CPU_PATH_AUTO, NULL, &(const nn_par){NULL, 2}, NULL, c, pr.a, pr.b, pr.m, pr.n,
                pr.k, 0, 1, 1);
    cr_assert(memcmp(c, expect, pr.m * pr.n * sizeof(float)) == 0);
    /* threads 0 = OpenMP default */
    nn_cpu_gemm(NN_CPU_PATH_AUTO, NULL, &(const nn_par){NULL, 0}, NULL, c, pr.a, pr.b, pr.m, pr.n,
                pr.k, 0, 1, 0);
    check_bitwise(&pr, nn_cpu_path_best(), 1, 0, c);
    guarded_check_free(c, pr.m * pr.n, "default");
    guarded_check_free(expect, pr.m * pr.n, "best");
    problem_free(&pr);
}

/* A NaN in one row of op(a) reaches exactly that row of c, on every path. */
Test(gemm, nan_stays_in_its_row) {
    static const size_t shapes[][3] = {{20, 10, 8}, {50, 40, 30}, {300, 70, 300}};
    for (size_t s = 0; s < 3; s++)
        for (size_t q = 0; q < NPATHS; q++) {
            if (!nn_cpu_path_supported(PATHS[q])) continue;
            const size_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2], bad = m / 2;
            float *a = malloc(m * k * sizeof(float)), *b = malloc(k * n * sizeof(float));
            float *c = guarded_alloc(m * n);
            cr_assert(a && b);
            tu_fill_uniform(a, m * k, 3, -1.0f, 1.0f);
            tu_fill_uniform(b, k * n, 4, -1.0f, 1.0f);
            a[bad * k + k / 3] = NAN;
            nn_cpu_gemm(PATHS[q], NULL, &(const nn_par){NULL, 2}, NULL, c, a, b, m, n, k, 0, 0, 0);
            for (size_t i = 0; i < m; i++)
                for (size_t j = 0; j < n; j++)
                    cr_assert(isnan(c[i * n + j]) == (i == bad), "path %s: c(%zu,%zu) = %g",
                              nn_cpu_path_name(PATHS[q]), i, j, (double)c[i * n + j]);
            guarded_check_free(c, m * n, "nan");
            free(a);
            free(b);
        }
}

/* A workspace kept between calls (growing, then reused for smaller products)
 * gives the bits of per-call packing buffers, on every path. */
Test(gemm, workspace_reuse_gives_the_same_bits) {
    static const size_t shapes[][3] = {{300, 200, 260}, {520, 300, 300}, {64, 700, 300}};
    problem pr[3];
    for (size_t s = 0; s < 3; s++)
        pr[s] = problem_make(shapes[s][0], shapes[s][1], shapes[s][2], s & 1, 0, 50 + s);
    for (size_t q = 0; q < NPATHS; q++) {
        if (!nn_cpu_path_supported(PATHS[q])) continue;
        nn_gemm_workspace ws = {0};
        for (size_t t = 0; t < 4; t++) { /* the first shape again last: reuse of a larger ws */
            const problem *p = &pr[t % 3];
            const size_t mn = p->m * p->n;
            float *plain = guarded_alloc(mn), *reused = guarded_alloc(mn);
            nn_cpu_gemm(PATHS[q], NULL, &(const nn_par){NULL, 2}, NULL, plain, p->a, p->b, p->m,
                        p->n, p->k, p->ta, p->tb, 0);
            nn_cpu_gemm(PATHS[q], &ws, &(const nn_par){NULL, 2}, NULL, reused, p->a, p->b, p->m,
                        p->n, p->k, p->ta, p->tb, 0);
            cr_assert(memcmp(plain, reused, mn * sizeof(float)) == 0, "path %s, product %zu",
                      nn_cpu_path_name(PATHS[q]), t);
            cr_assert(ws.mem != NULL && ws.bytes > 0, "the blocked driver packs into ws");
            guarded_check_free(plain, mn, "plain");
            guarded_check_free(reused, mn, "reused");
        }
        nn_gemm_workspace_free(&ws);
        cr_assert(ws.mem == NULL && ws.bytes == 0);
    }
    for (size_t s = 0; s < 3; s++) problem_free(&pr[s]);
}
