/* gemm_measure.h — verify, then time, every implementation of `nnbench gemm`
 * on one product shape. */
#ifndef NNBENCH_GEMM_MEASURE_H
#define NNBENCH_GEMM_MEASURE_H

#include "gemm_impl.h"
#include "gemm_verify.h"

/* One (implementation, shape) measurement. */
typedef struct gemm_row {
    int ran;        /* timed */
    int verified;
    double max_err;
    double gf_med, gf_min, gf_max;
    double sec_med; /* median seconds per product */
    long repeats;
    char error[512]; /* run failure or verification failure */
} gemm_row;

/* Random operands for s, the reference, then for each implementation with
 * use[i] set and no why_not: verify, then time `repeats` runs (0 = about
 * GEMM_TARGET_SECONDS, at least GEMM_MIN_REPEATS). rows and use are indexed
 * like impls. The reference stays in *ref (gemm_ref_free), its failure in
 * ref_error. Returns 0, or -1 when the operands do not fit in memory. */
int gemm_measure_shape(gemm_impl impls[GEMM_NIMPL], const int use[GEMM_NIMPL], int threads,
                       long repeats, const gemm_shape *s, gemm_row rows[GEMM_NIMPL],
                       gemm_ref *ref, char *ref_error, size_t ref_len);

#define GEMM_TARGET_SECONDS 0.3 /* auto repeats: about this long per (impl, shape) */
#define GEMM_MIN_REPEATS 3
#define GEMM_MAX_REPEATS 100000

#endif
