/* tu_guard.c — guarded backend buffers (tu_guard.h). */
#include "tu_guard.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

tu_gbuf tu_gnew(nn_backend *be, const void *init, size_t n) {
    float *all = malloc((n + 2 * TU_PAD) * sizeof(float)); /* (TU_PAD + n + TU_PAD) */
    cr_assert_not_null(all);
    for (size_t i = 0; i < n + 2 * TU_PAD; i++) all[i] = TU_CANARY;
    if (init) memcpy(all + TU_PAD, init, n * sizeof(float));
    tu_gbuf g = {be, tu_upload(be, all, n + 2 * TU_PAD), n, {NULL, TU_PAD}};
    g.v.buf = g.buf;
    free(all);
    return g;
}

float *tu_gread(tu_gbuf *g, const char *what) {
    float *all = tu_download(g->be, (nn_view){g->buf, 0}, g->n + 2 * TU_PAD);
    for (size_t i = 0; i < TU_PAD; i++) {
        cr_assert_eq(all[i], TU_CANARY, "%s on %s: canary before the output changed at -%zu",
                     what, nn_backend_name(g->be), TU_PAD - i);
        cr_assert_eq(all[TU_PAD + g->n + i], TU_CANARY,
                     "%s on %s: canary after the output changed at +%zu", what,
                     nn_backend_name(g->be), i);
    }
    float *out = malloc((g->n ? g->n : 1) * sizeof(float));
    memcpy(out, all + TU_PAD, g->n * sizeof(float));
    free(all);
    return out;
}

void tu_gfree(tu_gbuf *g) { g->be->ops->release(g->be, g->buf); }

float *tu_rand(size_t n, uint64_t seed, float lo, float hi) {
    float *x = malloc((n ? n : 1) * sizeof(float));
    cr_assert_not_null(x);
    tu_fill_uniform(x, n, seed, lo, hi);
    return x;
}
