/* gemm_internal.h — internals of the CPU GEMM: instruction-set paths, the
 * micro-kernel descriptor the blocked driver runs, and the direct loop for
 * small products. Not part of the backend interface.
 * Calls go one way: gemm.c -> gemm_blocked.c -> the paths' kernels and packers,
 * and everything below gemm.c -> gemm_epi.c (epilogues, row jobs) -> cpu_par.c.
 *
 * Numerics: in the blocked algorithm, c(i, j) is accumulated over k in blocks
 * of NN_GEMM_KC, in increasing k; each block's partial sum is a sequential
 * chain over its k values, then added to c (or stored when it is the first
 * block and the call does not accumulate). The direct loops use orders fixed by
 * the shape. Which algorithm runs depends only on the shape and transposes,
 * and threads only split the entries of c: nothing depends on the thread count. */
#ifndef NN_CPU_GEMM_INTERNAL_H
#define NN_CPU_GEMM_INTERNAL_H

#include <stddef.h>

#include "cpu/gemm.h"

/* Depth of one k block (fixed: it defines the summation order). */
#ifndef NN_GEMM_KC
#define NN_GEMM_KC 256
#endif

/* Operands of one product, as in nn_cpu_gemm: c (m, n) = op(a) (m, k) · op(b) (k, n). */
typedef struct nn_gemm_args {
    float *c;       /* (m, n) */
    const float *a; /* (m, k), or (k, m) when trans_a */
    const float *b; /* (k, n), or (n, k) when trans_b */
    size_t m, n, k;
    int trans_a, trans_b, accumulate;
    const nn_gemm_epi *epi; /* applied to every entry once final, or NULL (see gemm.h) */
} nn_gemm_args;

/* Micro-kernel: c (mr, nr) at row stride ldc = (or +=, when add) the product of
 * a packed A micro-panel ap (kc, MR) and a packed B micro-panel bp (kc, NR);
 * 1 <= mr <= MR, 1 <= nr <= NR, kc >= 1. Panels are zero-padded. */
typedef void (*nn_gemm_kernel_fn)(size_t kc, const float *ap, const float *bp, float *c,
                                  size_t ldc, size_t mr, size_t nr, int add);
/* The same, then the simple part of epi (gemm.h) in registers before the
 * store, for the tile at rows i0.., columns j0.. of c (for the bias and the
 * mask, whose row stride is ldc). */
typedef void (*nn_gemm_kernel_epi_fn)(size_t kc, const float *ap, const float *bp, float *c,
                                      size_t ldc, size_t mr, size_t nr, int add,
                                      const nn_gemm_epi *epi, size_t i0, size_t j0);

/* The micro-kernel on operands read in place instead of packed: element (i, p)
 * of the A tile at a[i a_rs + p a_ps] (a_rs = 1, or a_ps = 1), row p of the B
 * tile (nr floats, not padded) at b + p b_ps; then the simple part of epi
 * (NULL: none) as nn_gemm_kernel_epi_fn. The same sums in the same order as
 * the packed kernel: the same bits. Rows past mr and columns past nr are
 * never read. */
typedef void (*nn_gemm_kernel_inplace_fn)(size_t kc, const float *a, size_t a_rs, size_t a_ps,
                                          const float *b, size_t b_ps, float *c, size_t ldc,
                                          size_t mr, size_t nr, int add, const nn_gemm_epi *epi,
                                          size_t i0, size_t j0);
/* Packing of op(a) rows / op(b) columns, as nn_gemm_pack_a / nn_gemm_pack_b. */
typedef void (*nn_gemm_pack_a_fn)(float *dst, const nn_gemm_args *args, size_t i0, size_t mc,
                                  size_t p0, size_t kc, size_t mr);
typedef void (*nn_gemm_pack_b_fn)(float *dst, const nn_gemm_args *args, size_t p0, size_t kc,
                                  size_t j0, size_t nc, size_t nr);

/* Direct loops (no packing, no allocation) for small and skinny products: the
 * whole of args (any shape) under par (par->threads 1 = on the calling thread).
 * Threads split the entries of c; each entry's sum runs in an order fixed by
 * the shape. May use a stack copy of op(b) of up to NN_GEMM_SMALL_MAX_BT
 * floats; shapes needing more take slower loops. Applies args->epi. */
typedef void (*nn_gemm_small_fn)(const nn_gemm_args *args, const nn_par *par);
#define NN_GEMM_SMALL_MAX_BT 4096

/* What the blocked driver needs from one instruction-set path. */
typedef struct nn_gemm_isa {
    nn_cpu_path path;
    size_t mr, nr;   /* micro-tile (rows, cols) */
    size_t mc, nc;   /* cache blocks: rows of A per packed block, cols of B per packed panel */
    nn_gemm_kernel_fn kernel;
    nn_gemm_kernel_epi_fn kernel_epi; /* NULL: the driver applies the simple part after kernel */
    nn_gemm_kernel_inplace_fn kernel_inplace; /* NULL: always pack */
    nn_gemm_pack_a_fn pack_a;
    nn_gemm_pack_b_fn pack_b;
    nn_gemm_small_fn small;
} nn_gemm_isa;

/* The descriptors, one per path (the SIMD ones exist on every x86-64 build;
 * use them only when nn_cpu_path_supported says so). */
extern const nn_gemm_isa nn_gemm_isa_c;
extern const nn_gemm_isa nn_gemm_isa_avx2;
extern const nn_gemm_isa nn_gemm_isa_avx512;

/* The blocked, packed algorithm under par (applies args->epi). Returns 0,
 * or -1 (c untouched) when its packing buffers cannot be allocated. */
int nn_gemm_blocked(const nn_gemm_isa *isa, const nn_par *par, const nn_gemm_args *args,
                    nn_gemm_workspace *ws);

/* The portable direct loop (any shape, any transposes, no allocation). */
void nn_gemm_small_c(const nn_gemm_args *args, const nn_par *par);

/* Epilogues and row jobs of the direct loops (gemm_epi.c). */

/* Rows [i0, i1) of c by a direct loop of one path; `extra` is its own data. */
typedef void (*nn_gemm_rows_fn)(const nn_gemm_args *args, const void *extra, size_t i0,
                                size_t i1);
/* Run rows(args, extra, ., .) over all rows of c under par, in chunks of rows,
 * applying args->epi to each block of rows as soon as it is done. */
void nn_gemm_run_rows(const nn_gemm_args *args, const nn_par *par, nn_gemm_rows_fn rows,
                      const void *extra);
/* Apply args->epi (if any) to the entries [e0, e1) of c in row-major order
 * (simple_done: its simple part is already applied). */
void nn_gemm_epi_flat(const nn_gemm_args *args, size_t e0, size_t e1, int simple_done);
/* Apply epi (if any) to rows [i0, i1) x columns [j0, j1) of c (m, n): the
 * simple part unless simple_done, then fn. */
void nn_gemm_epi_block(const nn_gemm_epi *epi, float *c, size_t n, size_t i0, size_t i1,
                       size_t j0, size_t j1, int simple_done);
/* 1 if epi has a simple part (see gemm.h). */
static inline int nn_gemm_epi_simple(const nn_gemm_epi *epi) {
    return epi && (epi->bias || epi->relu || epi->mask);
}
/* bt (k, n) = op(b) for a transposed b (n, k). */
void nn_gemm_transpose_b(float *bt, const nn_gemm_args *args);

/* Pack rows [i0, i0+mc) x depth [p0, p0+kc) of op(a) into micro-panels of mr
 * rows: dst (ceil(mc/mr), kc, mr), rows past mc zero. */
void nn_gemm_pack_a(float *dst, const nn_gemm_args *args, size_t i0, size_t mc, size_t p0,
                    size_t kc, size_t mr);
/* Pack depth [p0, p0+kc) x cols [j0, j0+nc) of op(b) into micro-panels of nr
 * columns: dst (ceil(nc/nr), kc, nr), columns past nc zero. */
void nn_gemm_pack_b(float *dst, const nn_gemm_args *args, size_t p0, size_t kc, size_t j0,
                    size_t nc, size_t nr);

#endif
