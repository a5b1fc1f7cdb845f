/* gemm_internal.h — internals of the CPU GEMM: instruction-set paths, the
 * micro-kernel descriptor the blocked driver runs, and the direct loop for
 * small products. Not part of the backend interface.
 * Calls go one way: gemm.c -> gemm_blocked.c -> the paths' kernels and packers.
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
} nn_gemm_args;

/* Micro-kernel: c (mr, nr) at row stride ldc = (or +=, when add) the product of
 * a packed A micro-panel ap (kc, MR) and a packed B micro-panel bp (kc, NR);
 * 1 <= mr <= MR, 1 <= nr <= NR, kc >= 1. Panels are zero-padded. */
typedef void (*nn_gemm_kernel_fn)(size_t kc, const float *ap, const float *bp, float *c,
                                  size_t ldc, size_t mr, size_t nr, int add);

/* Packing of op(a) rows / op(b) columns, as nn_gemm_pack_a / nn_gemm_pack_b. */
typedef void (*nn_gemm_pack_a_fn)(float *dst, const nn_gemm_args *args, size_t i0, size_t mc,
                                  size_t p0, size_t kc, size_t mr);
typedef void (*nn_gemm_pack_b_fn)(float *dst, const nn_gemm_args *args, size_t p0, size_t kc,
                                  size_t j0, size_t nc, size_t nr);

/* Direct loops (no packing, no allocation) for small and skinny products: the
 * whole of args (any shape) on up to `threads` threads (1 = the calling thread,
 * no fork). Threads split the entries of c; each entry's sum runs in an order
 * fixed by the shape. May use a stack copy of op(b) of up to
 * NN_GEMM_SMALL_MAX_BT floats; shapes needing more take slower loops. */
typedef void (*nn_gemm_small_fn)(const nn_gemm_args *args, int threads);
#define NN_GEMM_SMALL_MAX_BT 4096

/* What the blocked driver needs from one instruction-set path. */
typedef struct nn_gemm_isa {
    nn_cpu_path path;
    size_t mr, nr;   /* micro-tile (rows, cols) */
    size_t mc, nc;   /* cache blocks: rows of A per packed block, cols of B per packed panel */
    nn_gemm_kernel_fn kernel;
    nn_gemm_pack_a_fn pack_a;
    nn_gemm_pack_b_fn pack_b;
    nn_gemm_small_fn small;
} nn_gemm_isa;

/* The descriptors, one per path (the SIMD ones exist on every x86-64 build;
 * use them only when nn_cpu_path_supported says so). */
extern const nn_gemm_isa nn_gemm_isa_c;
extern const nn_gemm_isa nn_gemm_isa_avx2;
extern const nn_gemm_isa nn_gemm_isa_avx512;

/* The blocked, packed algorithm on up to `threads` OpenMP threads (>= 1).
 * Returns 0, or -1 (c untouched) when its packing buffers cannot be allocated. */
int nn_gemm_blocked(const nn_gemm_isa *isa, int threads, const nn_gemm_args *args,
                    nn_gemm_workspace *ws);

/* The portable direct loop (any shape, any transposes, no allocation). */
void nn_gemm_small_c(const nn_gemm_args *args, int threads);
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
