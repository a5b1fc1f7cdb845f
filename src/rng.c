/* rng.c — the project's counter-based PRNG.
 *
 * A draw is a pure function of (key, index): two rounds of the splitmix64
 * finalizer ("Mix13", Stafford) over key + (index + 1) * golden-ratio constant, the
 * second round keyed again so that keys differing by a multiple of the
 * increment do not give shifted copies of one stream. The key is a mix of
 * (seed, stream). Only 64-bit integer arithmetic produces the bits, so every
 * platform, backend and thread sees the same stream. Not cryptographic.
 */
#include "nn.h"

#include <math.h>

#define NN_RNG_GOLDEN 0x9E3779B97F4A7C15ull     /* 2^64 / golden ratio, odd */
#define NN_RNG_SEED_TAG 0x6A09E667F3BCC909ull   /* sqrt(2) fraction bits */
#define NN_RNG_STREAM_TAG 0xBB67AE8584CAA73Bull /* sqrt(3) fraction bits */

/* splitmix64 finalizer: a bijection on 64-bit words with full avalanche. */
static uint64_t mix64(uint64_t z) {
    z ^= z >> 30;
    z *= 0xBF58476D1CE4E5B9ull;
    z ^= z >> 27;
    z *= 0x94D049BB133111EBull;
    z ^= z >> 31;
    return z;
}

/* Key for (seed, stream); distinct pairs collide with probability ~2^-64. */
nn_rng nn_rng_make(uint64_t seed, uint64_t stream) {
    nn_rng r;
    r.key = mix64(mix64(seed ^ NN_RNG_SEED_TAG) ^ mix64(stream ^ NN_RNG_STREAM_TAG));
    r.counter = 0;
    return r;
}

/* Well-mixed word for (key, index); a bijection in index for a fixed key.
 * (index + 1) keeps (0, 0) away from mix64's fixed point 0. */
uint64_t nn_rng_at(uint64_t key, uint64_t index) {
    return mix64(mix64(key + (index + 1) * NN_RNG_GOLDEN) ^ key);
}

/* Next 64 bits: the word at the current counter, then advance it. */
uint64_t nn_rng_u64(nn_rng *r) {
    return nn_rng_at(r->key, r->counter++);
}

/* Uniform in [0, 1): the top 53 bits of one draw, scaled exactly by 2^-53. */
double nn_rng_uniform(nn_rng *r) {
    return (double)(nn_rng_u64(r) >> 11) * 0x1.0p-53;
}

/* Standard normal from two uniforms (Box-Muller, cosine branch, no cache). */
double nn_rng_normal(nn_rng *r) {
    const double u1 = nn_rng_uniform(r); /* 1 - u1 in (0, 1]: log is finite */
    const double u2 = nn_rng_uniform(r);
    const double radius = sqrt(-2.0 * log(1.0 - u1));
    return radius * cos(6.283185307179586476925 * u2);
}

/* (hi, lo) = a * b as a 128-bit product; identical on every platform. */
static void mul_64x64(uint64_t a, uint64_t b, uint64_t *hi, uint64_t *lo) {
#if defined(__SIZEOF_INT128__)
    const unsigned __int128 p = (unsigned __int128)a * b;
    *hi = (uint64_t)(p >> 64);
    *lo = (uint64_t)p;
#else
    const uint64_t a_lo = a & 0xFFFFFFFFu, a_hi = a >> 32;
    const uint64_t b_lo = b & 0xFFFFFFFFu, b_hi = b >> 32;
    const uint64_t ll = a_lo * b_lo, lh = a_lo * b_hi, hl = a_hi * b_lo, hh = a_hi * b_hi;
    const uint64_t mid = (ll >> 32) + (lh & 0xFFFFFFFFu) + (hl & 0xFFFFFFFFu);
    *lo = (mid << 32) | (ll & 0xFFFFFFFFu);
    *hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
#endif
}

/* Uniform integer in [0, bound) by Lemire's multiply-and-reject method.
 * bound 0 is outside the contract; it returns 0 without drawing. */
uint64_t nn_rng_below(nn_rng *r, uint64_t bound) {
    if (bound == 0) return 0;
    uint64_t hi, lo;
    mul_64x64(nn_rng_u64(r), bound, &hi, &lo);
    if (lo < bound) {
        const uint64_t threshold = (0 - bound) % bound; /* 2^64 mod bound */
        while (lo < threshold) mul_64x64(nn_rng_u64(r), bound, &hi, &lo);
    }
    return hi;
}

/* Fisher-Yates, from the last element down; idx: (n). */
void nn_rng_shuffle_u32(nn_rng *r, uint32_t *idx, size_t n) {
    for (size_t i = n; i > 1; i--) {
        const size_t j = (size_t)nn_rng_below(r, (uint64_t)i);
        const uint32_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}
