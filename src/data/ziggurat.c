/* ziggurat.c — fast standard normals for the streamed generators
 * (Marsaglia-Tsang ziggurat, 256 layers, in Doornik's ZIGNOR form).
 *
 * The strip under the unnormalized density f(x) = exp(-x^2/2) is cut into
 * NN_ZIG_LAYERS layers of equal area V; x[i] is the right edge of layer i
 * (x[0] = V / f(R) is the base layer's pseudo-width, covering the tail
 * beyond R). One 64-bit draw picks the layer (low 8 bits) and a signed
 * position (top 53 bits); ~99% of draws are accepted by one compare. The
 * rest use the wedge test or Marsaglia's tail method with more draws.
 */
#include "data/data_internal.h"

#define ZIG_R 3.6541528853610088  /* start of the tail */
#define ZIG_V 4.92867323399e-3    /* area of each layer */

/* Build the layer edges and acceptance ratios (checked in test_rng.c). */
void nn_zig_init(nn_zig *z) {
    double f = exp(-0.5 * ZIG_R * ZIG_R);
    z->x[0] = ZIG_V / f;
    z->x[1] = ZIG_R;
    for (int i = 2; i < NN_ZIG_LAYERS; i++) {
        z->x[i] = sqrt(-2.0 * log(ZIG_V / z->x[i - 1] + f));
        f = exp(-0.5 * z->x[i] * z->x[i]);
    }
    z->x[NN_ZIG_LAYERS] = 0.0;
    for (int i = 0; i < NN_ZIG_LAYERS; i++) z->ratio[i] = z->x[i + 1] / z->x[i];
}

/* |x| beyond the tail start R, by Marsaglia's exponential rejection. */
static double zig_tail(nn_rng *r) {
    for (;;) {
        const double x = -log(1.0 - nn_rng_uniform(r)) / ZIG_R;
        const double y = -log(1.0 - nn_rng_uniform(r));
        if (y + y >= x * x) return ZIG_R + x;
    }
}

/* One N(0, 1) value; consumes one draw ~99% of the time. */
double nn_zig_normal(const nn_zig *z, nn_rng *r) {
    for (;;) {
        const uint64_t bits = nn_rng_u64(r);
        const int i = (int)(bits & (NN_ZIG_LAYERS - 1));
        const double u = (double)(bits >> 11) * 0x1.0p-52 - 1.0; /* [-1, 1) */
        if (fabs(u) < z->ratio[i]) return u * z->x[i];             /* inside the rectangle */
        if (i == 0) return u < 0.0 ? -zig_tail(r) : zig_tail(r);
        const double x = u * z->x[i];
        const double f0 = exp(-0.5 * (z->x[i] * z->x[i] - x * x));         /* f(x[i]) / f(x) */
        const double f1 = exp(-0.5 * (z->x[i + 1] * z->x[i + 1] - x * x)); /* f(x[i+1]) / f(x) */
        if (f1 + nn_rng_uniform(r) * (f0 - f1) < 1.0) return x;            /* wedge */
    }
}
