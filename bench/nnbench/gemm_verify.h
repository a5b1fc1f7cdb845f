/* gemm_verify.h — the reference `nnbench gemm` verifies every implementation
 * against before timing it. */
#ifndef NNBENCH_GEMM_VERIFY_H
#define NNBENCH_GEMM_VERIFY_H

#include "gemm_impl.h"

/* Shapes with n below this get a full double-precision reference; larger ones
 * use the CPU GEMM's result, itself checked against double on sampled entries. */
#define GEMM_CHECK_FULL_MAX_N 1024
/* Entries of the CPU result checked against double for the large shapes. */
#define GEMM_CHECK_SAMPLES 512

typedef struct gemm_ref {
    gemm_shape s;
    double *ref; /* (m, n): the reference c */
    double *tol; /* (m, n): allowed |c - ref| per entry */
    int exact;   /* 1: ref is op(a)·op(b) in double; 0: the sampled-checked CPU result */
} gemm_ref;

/* Build the reference of c = op(a)·op(b) for shape s (a, b stored as the
 * transposes say), using `threads` CPU threads for the CPU GEMM. Tolerance per
 * entry: 1e-6 + (k+2)·FLT_EPSILON·Σ|a_ip·b_pj|, doubled when ref is the CPU
 * result. Returns 0, or -1 with msg (out of memory, or the CPU result failed
 * its sampled check against double). */
int gemm_ref_build(gemm_ref *r, const gemm_shape *s, const float *a, const float *b, int threads,
                   char *msg, size_t len);
void gemm_ref_free(gemm_ref *r);

/* Largest |c - ref| over all entries (infinity if any entry is NaN or Inf);
 * *ok = 1 when every entry is within its tolerance. */
double gemm_ref_check(const gemm_ref *r, const float *c, int *ok);

/* Short name of the reference kind: "double" or "cpu+sampled-double". */
const char *gemm_ref_kind(const gemm_ref *r);

#endif
