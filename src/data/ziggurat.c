/* ziggurat.c — fast standard normals for the streamed generators
 * (Marsaglia-Tsang ziggurat, 256 layers, in Doornik's ZIGNOR form).
 *
 * The strip under the unnormalized density f(x) = exp(-x^2/2) is cut into
 * NN_ZIG_LAYERS layers of equal area V (tables in ziggurat_tables.c); one
 * 64-bit draw picks the layer (low 8 bits) and a signed position (top 53
 * bits), and ~99% of draws are accepted by one compare. The rest use the
 * wedge test or Marsaglia's tail method, with more draws.
 */
#include "data/data_internal.h"

#define ZIG_R 3.6541528853610088 /* start of the tail: nn_zig_x[1] */

/* |x| beyond the tail start R, by Marsaglia's exponential rejection. */
static double zig_tail(nn_rng *r) {
    for (;;) {
        const double x = -log(1.0 - nn_rng_uniform(r)) / ZIG_R;
        const double y = -log(1.0 - nn_rng_uniform(r));
        if (y + y >= x * x) return ZIG_R + x;
    }
}

/* The rest of a draw whose rectangle test failed: `layer` and u in [-1, 1)
 * are the rejected draw; returns the tail or wedge value, or starts over
 * with fresh draws from r (the exact ziggurat distribution either way). */
double nn_zig_finish(nn_rng *r, int layer, double u) {
    const double *xs = nn_zig_x;
    int i = layer;
    for (;;) {
        if (i == 0) return u < 0.0 ? -zig_tail(r) : zig_tail(r);
        const double x = u * xs[i];
        const double f0 = exp(-0.5 * (xs[i] * xs[i] - x * x));         /* f(x[i]) / f(x) */
        const double f1 = exp(-0.5 * (xs[i + 1] * xs[i + 1] - x * x)); /* f(x[i+1]) / f(x) */
        if (f1 + nn_rng_uniform(r) * (f0 - f1) < 1.0) return x;        /* wedge */
        const uint64_t bits = nn_rng_u64(r);
        i = (int)(bits & (NN_ZIG_LAYERS - 1));
        u = (double)(bits >> 11) * 0x1.0p-52 - 1.0; /* [-1, 1) */
        if (fabs(u) < nn_zig_ratio[i]) return u * xs[i];
    }
}

/* One N(0, 1) value; consumes one draw ~99% of the time. */
double nn_zig_normal(nn_rng *r) {
    const uint64_t bits = nn_rng_u64(r);
    const int i = (int)(bits & (NN_ZIG_LAYERS - 1));
    const double u = (double)(bits >> 11) * 0x1.0p-52 - 1.0; /* [-1, 1) */
    if (fabs(u) < nn_zig_ratio[i]) return u * nn_zig_x[i];   /* inside the rectangle */
    return nn_zig_finish(r, i, u);
}
