/* gemm_blocked.c — the Goto/BLIS loop nest around a micro-kernel:
 *   for each NC-wide column panel of B (jc)
 *     for each KC-deep slice of k (pc), in increasing order
 *       pack B (KC, NC) into NR-wide micro-panels, shared by all threads
 *       each thread, on its own rows x columns of c:
 *         for each MC-row block of A: pack it (private), then
 *           for each NR micro-panel of B, for each MR micro-panel of A: kernel
 * Threads split only m and n, never k, and every c element sees the same
 * k slices in the same order, so results do not depend on the thread count. */
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>

#include "cpu/gemm_internal.h"

typedef struct blocked_plan {
    const nn_gemm_isa *isa;
    const nn_gemm_args *g;
    float *bpack; /* (ceil(nc_max / nr), KC, nr): the shared packed B panel */
    float *apack; /* (threads, mc_max / mr, KC, mr): one packed A block per thread */
    size_t nc_max, mc_max;
    size_t apack_stride; /* floats per thread in apack */
} blocked_plan;

static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }
static size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }

/* Floats rounded up to a whole number of 64-byte lines, as bytes. */
static size_t line_bytes(size_t floats) { return ceil_div(floats * sizeof(float), 64) * 64; }

/* [lo, hi) of `count` items for part `t` of `parts` (balanced, contiguous). */
static void split_range(size_t count, int t, int parts, size_t *lo, size_t *hi) {
    *lo = count * (size_t)t / (size_t)parts;
    *hi = count * (size_t)(t + 1) / (size_t)parts;
}

/* Thread t's share of one (jc, pc) step: rows of A micro-panels [r0, r1) and
 * columns of B micro-panels [q0, q1), both relative to the block. */
static void compute_share(const blocked_plan *pl, float *apack, size_t jc, size_t nc, size_t pc,
                          size_t kc, size_t r0, size_t r1, size_t q0, size_t q1) {
    const nn_gemm_isa *isa = pl->isa;
    const nn_gemm_args *g = pl->g;
    const size_t mr = isa->mr, nr = isa->nr, ldc = g->n;
    const int add = g->accumulate || pc > 0;
    const size_t panels_per_block = pl->mc_max / mr;
    for (size_t rb = r0; rb < r1; rb += panels_per_block) {
        const size_t i0 = rb * mr;
        const size_t mc = min_sz(min_sz(r1, rb + panels_per_block) * mr, g->m) - i0;
        isa->pack_a(apack, g, i0, mc, pc, kc, mr);
        for (size_t q = q0; q < q1; q++) {
            const size_t j = q * nr, ncols = min_sz(nr, nc - j);
            const float *bp = pl->bpack + q * kc * nr; /* (kc, nr) */
            for (size_t ir = 0; ir < mc; ir += mr) {
                float *c = g->c + (i0 + ir) * ldc + jc + j;
                isa->kernel(kc, apack + ir * kc, bp, c, ldc, min_sz(mr, mc - ir), ncols, add);
            }
        }
    }
}

/* The loop nest as run by thread t of a team of `team` threads. */
static void blocked_thread(const blocked_plan *pl, int t, int team) {
    const nn_gemm_isa *isa = pl->isa;
    const nn_gemm_args *g = pl->g;
    const size_t mr = isa->mr, nr = isa->nr;
    float *apack = pl->apack + (size_t)t * pl->apack_stride;
    const size_t row_panels = ceil_div(g->m, mr);
    /* Split rows when there are enough of them, else columns. */
    const int tm = row_panels >= (size_t)team ? team : 1, tn = team / tm;
    const int ti = t % tm, tj = t / tm;
    size_t r0, r1;
    split_range(row_panels, ti, tm, &r0, &r1);
    for (size_t jc = 0; jc < g->n; jc += pl->nc_max) {
        const size_t nc = min_sz(pl->nc_max, g->n - jc), col_panels = ceil_div(nc, nr);
        size_t q0, q1;
        split_range(col_panels, tj, tn, &q0, &q1);
        for (size_t pc = 0; pc < g->k; pc += NN_GEMM_KC) {
            const size_t kc = min_sz(NN_GEMM_KC, g->k - pc);
            size_t b0, b1;
            split_range(col_panels, t, team, &b0, &b1);
            if (b1 > b0)
                isa->pack_b(pl->bpack + b0 * kc * nr, g, pc, kc, jc + b0 * nr,
                               min_sz(nc, b1 * nr) - b0 * nr, nr);
            if (team > 1) {
#pragma omp barrier
            }
            compute_share(pl, apack, jc, nc, pc, kc, r0, r1, q0, q1);
            if (team > 1) {
#pragma omp barrier
            }
        }
    }
}

int nn_gemm_blocked(const nn_gemm_isa *isa, int threads, const nn_gemm_args *g) {
    if (threads < 1) threads = 1;
    blocked_plan pl = {.isa = isa, .g = g};
    const size_t mr = isa->mr, nr = isa->nr;
    pl.nc_max = min_sz(isa->nc, ceil_div(g->n, nr) * nr);
    /* Rows per A block: at most isa->mc, and no more than one thread's share. */
    const size_t share = ceil_div(ceil_div(g->m, mr), (size_t)threads) * mr;
    pl.mc_max = min_sz(isa->mc / mr * mr, share);
    if (pl.mc_max < mr) pl.mc_max = mr;
    const size_t bbytes = line_bytes(NN_GEMM_KC * pl.nc_max);
    const size_t abytes = line_bytes(NN_GEMM_KC * pl.mc_max);
    pl.apack_stride = abytes / sizeof(float);
    char *mem = aligned_alloc(64, bbytes + abytes * (size_t)threads);
    if (!mem) return -1;
    pl.bpack = (float *)mem;
    pl.apack = (float *)(mem + bbytes);
    if (threads == 1) {
        blocked_thread(&pl, 0, 1);
    } else {
#pragma omp parallel num_threads(threads)
        blocked_thread(&pl, omp_get_thread_num(), omp_get_num_threads());
    }
    free(mem);
    return 0;
}
