/* gemm_blocked.c — the Goto/BLIS loop nest around a micro-kernel:
 *   for each NC-wide column panel of B (jc)
 *     for each KC-deep slice of k (pc), in increasing order          (a "step")
 *       pack B (KC, NC) into NR-wide micro-panels, shared by all threads
 *       (two buffers used in turn, so one barrier per step suffices)
 *       threads claim chunks of rows (or, for short c, of columns) of c:
 *         for each MC-row block of the chunk: pack A (private), then
 *           for each NR micro-panel of B, for each MR micro-panel of A: kernel
 * Chunks are claimed dynamically with shrinking sizes (like OpenMP's guided
 * schedule), so a thread slowed by other processes does less of the work, and
 * the barrier yields the CPU while it waits instead of spinning on it.
 * Threads split only m and n, never k, and every c element sees the same k
 * slices in the same order, so results do not depend on the thread count or
 * on which thread computed what. */
#include <omp.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "cpu/gemm_internal.h"

/* Packing buffers up to this size live on the caller's stack. */
#define STACK_PACK_BYTES (64 * 1024)
/* Busy-wait iterations of the barrier before it starts yielding the CPU. */
#ifndef BARRIER_SPINS
#define BARRIER_SPINS 10000 /* about 0.2 ms: longer than a step's usual tail */
#endif
/* Split columns instead of rows when c has fewer row micro-panels than this per thread. */
#define MIN_ROW_PANELS_PER_THREAD 4

typedef struct blocked_plan {
    const nn_gemm_isa *isa;
    const nn_gemm_args *g;
    float *bpack[2]; /* (ceil(nc_max / nr), kc_max, nr) each: the shared packed B panels */
    float *apack;    /* (threads, mc_max / mr, kc_max, mr): one packed A block per thread */
    size_t nc_max, mc_max;
    size_t apack_stride; /* floats per thread in apack */
    atomic_size_t next[2]; /* next unclaimed chunk start, one counter per B buffer */
    atomic_uint arrived;   /* barrier: threads arrived in the current phase */
    atomic_uint phase;     /* barrier: completed phases */
} blocked_plan;

/* Smaller / larger of two sizes; a / b rounded up. */
static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }
static size_t max_sz(size_t a, size_t b) { return a > b ? a : b; }
static size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }

/* Floats rounded up to a whole number of 64-byte lines, as bytes. */
static size_t line_bytes(size_t floats) { return ceil_div(floats * sizeof(float), 64) * 64; }

/* Claim the next chunk of [0, total) items from *next: about remaining/(2·team)
 * items, at least 1 and at most max_chunk. Returns 0 when nothing is left. */
static int claim(atomic_size_t *next, size_t total, size_t team, size_t max_chunk, size_t *lo,
                 size_t *hi) {
    size_t start = atomic_load_explicit(next, memory_order_relaxed);
    size_t len;
    do {
        if (start >= total) return 0;
        len = min_sz(max_sz((total - start) / (2 * team), 1), max_chunk);
        len = min_sz(len, total - start);
    } while (!atomic_compare_exchange_weak_explicit(next, &start, start + len,
                                                    memory_order_relaxed, memory_order_relaxed));
    *lo = start;
    *hi = start + len;
    return 1;
}

/* A short pause inside a spin loop. */
static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Wait until all `team` threads have called this for the same phase. What a
 * thread wrote before its call is visible to every thread after the call. */
static void barrier_wait(blocked_plan *pl, unsigned team) {
    const unsigned phase = atomic_load_explicit(&pl->phase, memory_order_relaxed);
    if (atomic_fetch_add_explicit(&pl->arrived, 1, memory_order_acq_rel) == team - 1) {
        atomic_store_explicit(&pl->arrived, 0, memory_order_relaxed);
        atomic_store_explicit(&pl->phase, phase + 1, memory_order_release);
        return;
    }
    for (unsigned spins = 0; atomic_load_explicit(&pl->phase, memory_order_acquire) == phase;)
        if (spins < BARRIER_SPINS) {
            spins++;
            cpu_relax();
        } else {
            sched_yield(); /* let another process have this CPU */
        }
}

/* One chunk of a (jc, pc) step: rows of A micro-panels [r0, r1) and columns of
 * B micro-panels [q0, q1), both relative to the block; bpack is the step's B. */
static void compute_chunk(const blocked_plan *pl, const float *bpack, float *apack, size_t jc,
                          size_t nc, size_t pc, size_t kc, size_t r0, size_t r1, size_t q0,
                          size_t q1) {
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
            const float *bp = bpack + q * kc * nr; /* (kc, nr) */
            for (size_t ir = 0; ir < mc; ir += mr) {
                float *c = g->c + (i0 + ir) * ldc + jc + j;
                isa->kernel(kc, apack + ir * kc, bp, c, ldc, min_sz(mr, mc - ir), ncols, add);
            }
        }
    }
}

/* The loop nest as run by thread t of a team of `team` threads. */
static void blocked_thread(blocked_plan *pl, int t, int team) {
    const nn_gemm_isa *isa = pl->isa;
    const nn_gemm_args *g = pl->g;
    const size_t mr = isa->mr, nr = isa->nr, max_panels = pl->mc_max / mr;
    float *apack = pl->apack + (size_t)t * pl->apack_stride;
    const size_t row_panels = ceil_div(g->m, mr);
    const int by_rows = team == 1 || row_panels >= (size_t)team * MIN_ROW_PANELS_PER_THREAD;
    unsigned step = 0;
    for (size_t jc = 0; jc < g->n; jc += pl->nc_max) {
        const size_t nc = min_sz(pl->nc_max, g->n - jc), col_panels = ceil_div(nc, nr);
        for (size_t pc = 0; pc < g->k; pc += NN_GEMM_KC, step++) {
            const size_t kc = min_sz(NN_GEMM_KC, g->k - pc);
            float *bpack = pl->bpack[step & 1u];
            atomic_size_t *next = &pl->next[step & 1u];
            /* This B buffer and counter were last used two steps ago; every
             * thread has passed the barrier of the step in between. */
            const size_t b0 = col_panels * (size_t)t / (size_t)team;
            const size_t b1 = col_panels * (size_t)(t + 1) / (size_t)team;
            if (b1 > b0)
                isa->pack_b(bpack + b0 * kc * nr, g, pc, kc, jc + b0 * nr,
                            min_sz(nc, b1 * nr) - b0 * nr, nr);
            if (team > 1) barrier_wait(pl, (unsigned)team);
            if (t == 0) atomic_store_explicit(&pl->next[(step + 1) & 1u], 0, memory_order_relaxed);
            size_t lo, hi;
            if (by_rows) {
                while (claim(next, row_panels, (size_t)team, max_panels, &lo, &hi))
                    compute_chunk(pl, bpack, apack, jc, nc, pc, kc, lo, hi, 0, col_panels);
            } else {
                while (claim(next, col_panels, (size_t)team, col_panels, &lo, &hi))
                    compute_chunk(pl, bpack, apack, jc, nc, pc, kc, 0, row_panels, lo, hi);
            }
        }
    }
    /* Meet here, yielding while waiting, so the region's own join is short. */
    if (team > 1) barrier_wait(pl, (unsigned)team);
}

void nn_gemm_workspace_free(nn_gemm_workspace *ws) {
    free(ws->mem);
    ws->mem = NULL;
    ws->bytes = 0;
}

/* Plan buffers and blocks, then run the loop nest on `threads` threads (see gemm_internal.h). */
int nn_gemm_blocked(const nn_gemm_isa *isa, int threads, const nn_gemm_args *g,
                    nn_gemm_workspace *ws) {
    if (threads < 1) threads = 1;
    blocked_plan pl = {.isa = isa, .g = g};
    const size_t mr = isa->mr, nr = isa->nr;
    pl.nc_max = min_sz(isa->nc, ceil_div(g->n, nr) * nr);
    pl.mc_max = max_sz(isa->mc / mr, 1) * mr;
    const size_t kc_max = min_sz(NN_GEMM_KC, g->k);
    const size_t bbytes = line_bytes(kc_max * pl.nc_max);
    const size_t abytes = line_bytes(kc_max * min_sz(pl.mc_max, ceil_div(g->m, mr) * mr));
    const size_t nbuf_b = threads > 1 ? 2 : 1;
    const size_t need = bbytes * nbuf_b + abytes * (size_t)threads;
    pl.apack_stride = abytes / sizeof(float);
    /* small single-threaded products pack on the stack, larger ones in the
     * workspace (grown once to the largest need) or, without one, per call */
    _Alignas(64) char stack_buf[STACK_PACK_BYTES];
    char *mem = stack_buf;
    if (need > sizeof stack_buf) {
        const size_t bytes = ceil_div(need, 64) * 64; /* aligned_alloc wants a multiple */
        if (ws && ws->bytes < need) {
            nn_gemm_workspace_free(ws);
            ws->mem = aligned_alloc(64, bytes);
            ws->bytes = ws->mem ? bytes : 0;
        }
        mem = ws ? ws->mem : aligned_alloc(64, bytes);
    }
    if (!mem) return -1;
    pl.bpack[0] = (float *)mem;
    pl.bpack[1] = (float *)(mem + bbytes * (nbuf_b - 1));
    pl.apack = (float *)(mem + bbytes * nbuf_b);
    atomic_init(&pl.next[0], 0);
    atomic_init(&pl.next[1], 0);
    atomic_init(&pl.arrived, 0);
    atomic_init(&pl.phase, 0);
    if (threads == 1) {
        blocked_thread(&pl, 0, 1);
    } else {
#pragma omp parallel num_threads(threads)
        blocked_thread(&pl, omp_get_thread_num(), omp_get_num_threads());
    }
    if (mem != stack_buf && !ws) free(mem);
    return 0;
}
