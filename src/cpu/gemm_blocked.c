/* gemm_blocked.c — the Goto/BLIS loop nest around a micro-kernel:
 *   for each NC-wide column panel of B (jc)
 *     for each KC-deep slice of k (pc), in increasing order          (a "step")
 *       pack B (KC, NC) into NR-wide micro-panels, shared by all threads
 *         (one job of column chunks, or on the caller when small)
 *       one job of chunks of rows (or, for short c, of columns) of c:
 *         for each MC-row block of the chunk: pack A (private), then
 *           for each NR micro-panel of B, for each MR micro-panel of A: kernel
 * Jobs run on the backend's team (or OpenMP): whoever is running takes the
 * chunks, so a thread slowed by other processes does less of the work and is
 * never waited for before it starts. Threads split only m and n, never k, and
 * every c element sees the same k slices in the same order, so results do not
 * depend on the thread count or on which thread computed what. On the last k
 * slice each finished micro-tile goes through the epilogue, if any, while it
 * is still in L1. */
#include <stdint.h>
#include <stdlib.h>

#include "cpu/gemm_internal.h"

/* Packing buffers up to this size live on the caller's stack. */
#define STACK_PACK_BYTES (64 * 1024)
/* B slices up to this many floats are packed by the caller (no job). */
#define SMALL_PACK_FLOATS ((size_t)1 << 15)
/* Products with at most this many columns read op(a) in place; a plain b too
 * when its rows are short or few row panels reuse each B panel. */
#ifndef INPLACE_MAX_N
#define INPLACE_MAX_N 128
#endif
#ifndef INPLACE_B_MAX_N
#define INPLACE_B_MAX_N 128
#endif
#ifndef INPLACE_B_MAX_M
#define INPLACE_B_MAX_M 140
#endif
/* Chunks per thread of a compute job (more: better balance under load), and
 * when the job is split into micro-tiles (nothing packed per chunk). */
#define CHUNKS_PER_THREAD 4
#define TILE_CHUNKS_PER_THREAD 8
/* Split columns instead of rows when c has fewer row micro-panels than this per thread. */
#define MIN_ROW_PANELS_PER_THREAD 4

typedef struct blocked_plan {
    const nn_gemm_isa *isa;
    const nn_gemm_args *g;
    float *bpack;        /* (ceil(nc_max / nr), kc_max, nr): the step's packed B panels */
    float *apack;        /* (threads, mc_max / mr, kc_max, mr): one packed A block per thread */
    size_t nc_max, mc_max;
    size_t apack_stride; /* floats per thread in apack */
    /* the current step */
    size_t jc, nc, pc, kc;
    size_t row_panels, col_panels;
    size_t per;          /* panels per chunk (rows when by_rows, else columns) */
    int by_rows;
    int inplace_a, inplace_b; /* the kernel reads op(a) / b in place, unpacked */
} blocked_plan;

/* Smaller / larger of two sizes; a / b rounded up. */
static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }
static size_t max_sz(size_t a, size_t b) { return a > b ? a : b; }
static size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }

/* Floats rounded up to a whole number of 64-byte lines, as bytes. */
static size_t line_bytes(size_t floats) { return ceil_div(floats * sizeof(float), 64) * 64; }

/* One chunk of a step: rows of A micro-panels [r0, r1) and columns of B
 * micro-panels [q0, q1), both relative to the block. */
static void compute_chunk(const blocked_plan *pl, float *apack, size_t r0, size_t r1, size_t q0,
                          size_t q1) {
    const nn_gemm_isa *isa = pl->isa;
    const nn_gemm_args *g = pl->g;
    const size_t mr = isa->mr, nr = isa->nr, ldc = g->n, jc = pl->jc, nc = pl->nc, kc = pl->kc;
    const int add = g->accumulate || pl->pc > 0;
    const nn_gemm_epi *epi = pl->pc + kc == g->k ? g->epi : NULL; /* the last k slice */
    const size_t panels_per_block = pl->mc_max / mr;
    for (size_t rb = r0; rb < r1; rb += panels_per_block) {
        const size_t i0 = rb * mr;
        const size_t mc = min_sz(min_sz(r1, rb + panels_per_block) * mr, g->m) - i0;
        if (!pl->inplace_a) isa->pack_a(apack, g, i0, mc, pl->pc, kc, mr);
        for (size_t q = q0; q < q1; q++) {
            const size_t j = q * nr, ncols = min_sz(nr, nc - j);
            const float *bp = pl->bpack + q * kc * nr; /* (kc, nr) */
            for (size_t ir = 0; ir < mc; ir += mr) {
                float *c = g->c + (i0 + ir) * ldc + jc + j;
                const size_t rows = min_sz(mr, mc - ir);
                if (pl->inplace_a) { /* op(a) rows i0 + ir.., depth pc.. read where they are */
                    const size_t i = i0 + ir;
                    const float *a = g->trans_a ? g->a + pl->pc * g->m + i : g->a + i * g->k + pl->pc;
                    const float *b = pl->inplace_b ? g->b + pl->pc * g->n + jc + j : bp;
                    isa->kernel_inplace(kc, a, g->trans_a ? 1 : g->k, g->trans_a ? g->m : 1, b,
                                        pl->inplace_b ? g->n : nr, c, ldc, rows, ncols, add, epi,
                                        i, jc + j);
                    nn_gemm_epi_block(epi, g->c, ldc, i, i + rows, jc + j, jc + j + ncols,
                                      nn_gemm_epi_simple(epi));
                    continue;
                }
                const int in_regs = epi && isa->kernel_epi && nn_gemm_epi_simple(epi);
                if (in_regs)
                    isa->kernel_epi(kc, apack + ir * kc, bp, c, ldc, rows, ncols, add, epi,
                                    i0 + ir, jc + j);
                else
                    isa->kernel(kc, apack + ir * kc, bp, c, ldc, rows, ncols, add);
                nn_gemm_epi_block(epi, g->c, ldc, i0 + ir, i0 + ir + rows, jc + j, jc + j + ncols,
                                  in_regs);
            }
        }
    }
}

/* Chunk of the pack job: B micro-panels [chunk * per, ...) of the step. */
static void pack_chunk(void *ctx, size_t chunk, int thread) {
    (void)thread;
    const blocked_plan *pl = ctx;
    const size_t nr = pl->isa->nr, per = ceil_div(pl->col_panels, (size_t)CHUNKS_PER_THREAD * 4);
    const size_t b0 = chunk * per, b1 = min_sz(b0 + per, pl->col_panels);
    pl->isa->pack_b(pl->bpack + b0 * pl->kc * nr, pl->g, pl->pc, pl->kc, pl->jc + b0 * nr,
                    min_sz(pl->nc, b1 * nr) - b0 * nr, nr);
}

/* Chunk of the compute job when op(a) is read in place: tiles [chunk * per,
 * ...) of the step's (row panel, column panel) grid, row panel major. */
static void tile_chunk(void *ctx, size_t chunk, int thread) {
    const blocked_plan *pl = ctx;
    const size_t t0 = chunk * pl->per, t1 = min_sz(t0 + pl->per, pl->row_panels * pl->col_panels);
    for (size_t t = t0; t < t1; t++) {
        const size_t rp = t / pl->col_panels, cp = t % pl->col_panels;
        compute_chunk(pl, NULL, rp, rp + 1, cp, cp + 1);
    }
    (void)thread;
}

/* Chunk of the compute job. */
static void step_chunk(void *ctx, size_t chunk, int thread) {
    const blocked_plan *pl = ctx;
    float *apack = pl->apack + (size_t)thread * pl->apack_stride;
    const size_t lo = chunk * pl->per;
    if (pl->by_rows)
        compute_chunk(pl, apack, lo, min_sz(lo + pl->per, pl->row_panels), 0, pl->col_panels);
    else
        compute_chunk(pl, apack, 0, pl->row_panels, lo, min_sz(lo + pl->per, pl->col_panels));
}

void nn_gemm_workspace_free(nn_gemm_workspace *ws) {
    free(ws->mem);
    ws->mem = NULL;
    ws->bytes = 0;
}

/* Plan buffers and blocks, then run the loop nest under par (see gemm_internal.h). */
int nn_gemm_blocked(const nn_gemm_isa *isa, const nn_par *par, const nn_gemm_args *g,
                    nn_gemm_workspace *ws) {
    const size_t threads = (size_t)nn_par_threads(par);
    blocked_plan pl = {.isa = isa, .g = g};
    const size_t mr = isa->mr, nr = isa->nr;
    pl.nc_max = min_sz(isa->nc, ceil_div(g->n, nr) * nr);
    pl.mc_max = max_sz(isa->mc / mr, 1) * mr;
    const size_t kc_max = min_sz(NN_GEMM_KC, g->k);
    const size_t bbytes = line_bytes(kc_max * pl.nc_max);
    const size_t abytes = line_bytes(kc_max * min_sz(pl.mc_max, ceil_div(g->m, mr) * mr));
    const size_t need = bbytes + abytes * threads;
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
    pl.bpack = (float *)mem;
    pl.apack = (float *)(mem + bbytes);
    pl.row_panels = ceil_div(g->m, mr);
    /* the size hint of this product's jobs: its multiply-adds and layout */
    const size_t macs = (g->m * g->n * g->k) << 2 | (size_t)g->trans_a << 1 | (size_t)g->trans_b;
    /* narrow products read their operands in place: a packed A block would
     * serve only a few column panels, and a narrow b's rows are short */
    pl.inplace_a = isa->kernel_inplace && g->n <= INPLACE_MAX_N;
    pl.inplace_b = pl.inplace_a && !g->trans_b && (g->n <= INPLACE_B_MAX_N || g->m <= INPLACE_B_MAX_M);
    pl.by_rows = threads == 1 || pl.row_panels >= threads * MIN_ROW_PANELS_PER_THREAD;
    for (size_t jc = 0; jc < g->n; jc += pl.nc_max) {
        pl.jc = jc;
        pl.nc = min_sz(pl.nc_max, g->n - jc);
        pl.col_panels = ceil_div(pl.nc, nr);
        const size_t panels = pl.by_rows ? pl.row_panels : pl.col_panels;
        const size_t max_per = pl.by_rows ? pl.mc_max / mr : panels;
        const size_t tiles = pl.row_panels * pl.col_panels;
        const int by_tiles = pl.inplace_a && threads > 1; /* nothing packed per chunk: any split */
        if (by_tiles)
            pl.per = max_sz(tiles / (threads * TILE_CHUNKS_PER_THREAD), 1);
        else
            pl.per = threads == 1 ? max_per
                                  : min_sz(max_sz(panels / (threads * CHUNKS_PER_THREAD), 1),
                                           max_per);
        for (size_t pc = 0; pc < g->k; pc += NN_GEMM_KC) {
            pl.pc = pc;
            pl.kc = min_sz(NN_GEMM_KC, g->k - pc);
            const size_t pack_chunks = ceil_div(pl.col_panels,
                                                ceil_div(pl.col_panels, (size_t)CHUNKS_PER_THREAD * 4));
            if (pl.inplace_b)
                ; /* nothing to pack */
            else if (threads == 1 || pl.kc * pl.nc <= SMALL_PACK_FLOATS)
                for (size_t c = 0; c < pack_chunks; c++) pack_chunk(&pl, c, 0);
            else
                nn_par_run(par, pack_chunks, pack_chunk, &pl, macs);
            if (by_tiles)
                nn_par_run(par, ceil_div(tiles, pl.per), tile_chunk, &pl, macs);
            else
                nn_par_run(par, ceil_div(panels, pl.per), step_chunk, &pl, macs);
        }
    }
    if (mem != stack_buf && !ws) free(mem);
    return 0;
}
