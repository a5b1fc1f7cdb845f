/* tu_guard.h — backend buffers guarded by canaries on both sides of their
 * view, for the tests that compare ops across backends. */
#ifndef NN_TU_GUARD_H
#define NN_TU_GUARD_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"

#define TU_PAD 13 /* canary elements before and after each view (odd: unaligned views) */
#define TU_CANARY (-7777.25f)

/* A buffer of n elements plus TU_PAD canaries on each side; `v` views the n. */
typedef struct tu_gbuf {
    nn_backend *be;
    nn_buf *buf;
    size_t n;
    nn_view v;
} tu_gbuf;

/* New guarded buffer on be holding init[0..n) (or canaries when init is NULL). */
tu_gbuf tu_gnew(nn_backend *be, const void *init, size_t n);
/* The n elements of g (malloc'ed); fails the test, naming `what`, if a canary changed. */
float *tu_gread(tu_gbuf *g, const char *what);
void tu_gfree(tu_gbuf *g);
/* n floats uniform in [lo, hi) from a seed (malloc'ed). */
float *tu_rand(size_t n, uint64_t seed, float lo, float hi);

#endif
