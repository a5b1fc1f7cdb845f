/* test_rng.c — the counter-based PRNG: reproducibility, known answers,
 * distributions of uniform/normal/below, shuffles, and the ziggurat normals
 * used by the streamed data generators. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"
#include "nn.h"

/* ---------------------------------------------------------- reproducibility */

Test(rng, same_seed_same_stream) {
    nn_rng a = nn_rng_make(123, 7), b = nn_rng_make(123, 7);
    for (int i = 0; i < 1000; i++) {
        const uint64_t va = nn_rng_u64(&a), vb = nn_rng_u64(&b);
        cr_assert_eq(va, vb);
    }
}

Test(rng, different_stream_or_seed_differs) {
    nn_rng a = nn_rng_make(123, 7), b = nn_rng_make(123, 8), c = nn_rng_make(124, 7);
    cr_assert_neq(a.key, b.key);
    cr_assert_neq(a.key, c.key);
    int same_ab = 0, same_ac = 0;
    for (int i = 0; i < 1000; i++) {
        const uint64_t va = nn_rng_u64(&a);
        same_ab += va == nn_rng_u64(&b);
        same_ac += va == nn_rng_u64(&c);
    }
    cr_assert_eq(same_ab, 0);
    cr_assert_eq(same_ac, 0);
}

Test(rng, swapped_seed_and_stream_differ) {
    cr_assert_neq(nn_rng_make(1, 2).key, nn_rng_make(2, 1).key);
    cr_assert_neq(nn_rng_make(0, 0).key, 0);
}

Test(rng, u64_is_at_of_the_counter) {
    nn_rng r = nn_rng_make(9, 9);
    const uint64_t key = r.key;
    for (uint64_t i = 0; i < 100; i++) {
        cr_assert_eq(r.counter, i);
        const uint64_t v = nn_rng_u64(&r);
        cr_assert_eq(v, nn_rng_at(key, i));
    }
    /* random access: jumping the counter gives the same values */
    r.counter = 50;
    const uint64_t v50 = nn_rng_u64(&r);
    cr_assert_eq(v50, nn_rng_at(key, 50));
}

/* Known answers: these values define the stream on every platform; a change
 * here silently changes every dataset and every initialization. */
Test(rng, known_answers) {
    nn_rng r = nn_rng_make(42, 0);
    cr_assert_eq(r.key, 0x6be00b9e9c0e9b67ull);
    const uint64_t want[4] = {0x39c4d64b03d767ecull, 0x4c4fed83c7363ce9ull, 0xa8e5909146098c93ull,
                              0xb6c60d2bbbf06440ull};
    for (int i = 0; i < 4; i++) {
        const uint64_t v = nn_rng_u64(&r);
        cr_assert_eq(v, want[i], "draw %d", i);
    }
    cr_assert_eq(nn_rng_at(0, 0), 0x48218226ff3cd4bfull);
    cr_assert_eq(nn_rng_at(1, 0), 0x5c52bd4054e958c9ull);
    cr_assert_eq(nn_rng_at(0, 1), 0xcd73fe3de975ac26ull);
    nn_rng s = nn_rng_make(7, 3);
    /* (the assertion macros may evaluate their arguments twice) */
    const double u = nn_rng_uniform(&s), g = nn_rng_normal(&s);
    const uint64_t b = nn_rng_below(&s, 1000);
    cr_assert_eq(u, 0.99119442017037329);
    cr_assert_float_eq(g, 0.35835032302672398, 1e-14);
    cr_assert_eq(b, 980);
}

/* Avalanche: flipping one input bit of the index flips about half the output. */
Test(rng, at_avalanche) {
    const uint64_t key = nn_rng_make(5, 5).key;
    double total = 0;
    int n = 0;
    for (uint64_t i = 0; i < 200; i++)
        for (int b = 0; b < 64; b++, n++)
            total += __builtin_popcountll(nn_rng_at(key, i) ^ nn_rng_at(key, i ^ (1ull << b)));
    cr_assert(fabs(total / n - 32.0) < 0.5, "mean flipped bits %f", total / n);
}

/* ---------------------------------------------------------- distributions */

Test(rng, uniform_range_mean_variance) {
    nn_rng r = nn_rng_make(1, 1);
    const int n = 1000000;
    double s = 0, s2 = 0, lo = 1, hi = 0;
    for (int i = 0; i < n; i++) {
        const double u = nn_rng_uniform(&r);
        cr_assert(u >= 0.0 && u < 1.0);
        s += u;
        s2 += u * u;
        lo = fmin(lo, u);
        hi = fmax(hi, u);
    }
    const double mean = s / n, var = s2 / n - mean * mean;
    cr_assert(fabs(mean - 0.5) < 0.002, "mean %f", mean);   /* sigma 2.9e-4 */
    cr_assert(fabs(var - 1.0 / 12) < 0.001, "var %f", var); /* sigma 7.5e-5 */
    cr_assert(lo < 1e-4 && hi > 1 - 1e-4);
}

Test(rng, uniform_has_53_bits) {
    nn_rng r = nn_rng_make(2, 2);
    int low_bit_set = 0;
    for (int i = 0; i < 1000; i++) {
        const double u = nn_rng_uniform(&r) * 0x1.0p53;
        cr_assert_eq(u, floor(u)); /* a multiple of 2^-53 */
        low_bit_set += fmod(u, 2.0) == 1.0;
    }
    cr_assert(low_bit_set > 400 && low_bit_set < 600);
}

Test(rng, normal_moments) {
    nn_rng r = nn_rng_make(3, 3);
    const int n = 1000000;
    double s = 0, s2 = 0, s4 = 0;
    int within1 = 0;
    for (int i = 0; i < n; i++) {
        const double x = nn_rng_normal(&r);
        cr_assert(isfinite(x));
        s += x;
        s2 += x * x;
        s4 += x * x * x * x;
        within1 += fabs(x) < 1.0;
    }
    const double mean = s / n, sd = sqrt(s2 / n - mean * mean);
    cr_assert(fabs(mean) < 0.005, "mean %f", mean);
    cr_assert(fabs(sd - 1.0) < 0.005, "std %f", sd);
    cr_assert(fabs(s4 / n - 3.0) < 0.05, "kurtosis %f", s4 / n);
    cr_assert(fabs((double)within1 / n - 0.682689) < 0.003);
}

Test(rng, normal_consumes_two_draws) {
    nn_rng r = nn_rng_make(4, 4);
    nn_rng_normal(&r);
    cr_assert_eq(r.counter, 2);
}

Test(rng, below_bounds) {
    nn_rng r = nn_rng_make(5, 5);
    for (int i = 0; i < 1000; i++) {
        const uint64_t v = nn_rng_below(&r, 1);
        cr_assert_eq(v, 0);
    }
    const uint64_t bounds[] = {2, 3, 7, 1000, 1ull << 32, (1ull << 63) + 1, UINT64_MAX};
    for (size_t b = 0; b < sizeof bounds / sizeof bounds[0]; b++)
        for (int i = 0; i < 10000; i++) {
            const uint64_t v = nn_rng_below(&r, bounds[b]);
            cr_assert_lt(v, bounds[b]);
        }
}

Test(rng, below_uniform_chi_square) {
    nn_rng r = nn_rng_make(6, 6);
    enum { K = 10, N = 1000000 };
    long count[K] = {0};
    for (int i = 0; i < N; i++) count[nn_rng_below(&r, K)]++;
    double chi2 = 0;
    for (int k = 0; k < K; k++) {
        const double d = count[k] - (double)N / K;
        chi2 += d * d / ((double)N / K);
    }
    cr_assert_lt(chi2, 33.7, "chi2 %f (df 9, p = 1e-4)", chi2);
}

/* bound 2^63 + 1 rejects about half the draws; the halves stay balanced. */
Test(rng, below_large_bound_unbiased) {
    nn_rng r = nn_rng_make(7, 7);
    const uint64_t bound = (1ull << 63) + 1;
    int upper = 0;
    const int n = 100000;
    for (int i = 0; i < n; i++) upper += nn_rng_below(&r, bound) >= (1ull << 62);
    /* P(x >= 2^62) = (2^63 + 1 - 2^62) / (2^63 + 1) ~= 0.5 */
    cr_assert(fabs((double)upper / n - 0.5) < 0.01, "upper half %f", (double)upper / n);
}

/* ---------------------------------------------------------- shuffle */

Test(rng, shuffle_is_permutation) {
    enum { N = 1000 };
    uint32_t idx[N];
    for (uint32_t i = 0; i < N; i++) idx[i] = i;
    nn_rng r = nn_rng_make(8, 8);
    nn_rng_shuffle_u32(&r, idx, N);
    int seen[N] = {0}, fixed = 0;
    for (uint32_t i = 0; i < N; i++) {
        cr_assert_lt(idx[i], N);
        seen[idx[i]]++;
        fixed += idx[i] == i;
    }
    for (int i = 0; i < N; i++) cr_assert_eq(seen[i], 1);
    cr_assert_lt(fixed, 10); /* expected ~1 */
}

Test(rng, shuffle_reproducible_and_edge_sizes) {
    uint32_t a[50], b[50];
    for (uint32_t i = 0; i < 50; i++) a[i] = b[i] = i;
    nn_rng r1 = nn_rng_make(9, 1), r2 = nn_rng_make(9, 1);
    nn_rng_shuffle_u32(&r1, a, 50);
    nn_rng_shuffle_u32(&r2, b, 50);
    cr_assert_arr_eq(a, b, sizeof a);
    uint32_t one = 5;
    nn_rng_shuffle_u32(&r1, &one, 1);
    cr_assert_eq(one, 5);
    nn_rng_shuffle_u32(&r1, NULL, 0);
}

/* Every position receives every value about equally often. */
Test(rng, shuffle_positions_uniform) {
    enum { N = 5, T = 50000 };
    long count[N][N] = {{0}};
    nn_rng r = nn_rng_make(10, 10);
    for (int t = 0; t < T; t++) {
        uint32_t idx[N] = {0, 1, 2, 3, 4};
        nn_rng_shuffle_u32(&r, idx, N);
        for (int p = 0; p < N; p++) count[p][idx[p]]++;
    }
    for (int p = 0; p < N; p++)
        for (int v = 0; v < N; v++)
            cr_assert(labs(count[p][v] - T / N) < 500, "pos %d val %d: %ld", p, v, count[p][v]);
}

/* ---------------------------------------------------------- ziggurat */

/* Each layer has the same area V, the last edge meets the top, and the
 * ratios match the edges. */
Test(zig, tables_consistent) {
    const double *x = nn_zig_x;
    const double v = x[0] * exp(-0.5 * x[1] * x[1]); /* base layer: x0 f(R) = V */
    cr_assert_float_eq(v, 4.92867323399e-3, 1e-15);
    for (int i = 1; i < NN_ZIG_LAYERS - 1; i++) {
        const double area = x[i] * (exp(-0.5 * x[i + 1] * x[i + 1]) - exp(-0.5 * x[i] * x[i]));
        cr_assert(fabs(area / v - 1.0) < 1e-6, "layer %d area %g vs %g", i, area, v);
    }
    const int t = NN_ZIG_LAYERS - 1;
    const double top = x[t] * (1.0 - exp(-0.5 * x[t] * x[t]));
    cr_assert(fabs(top / v - 1.0) < 1e-6, "top layer area %g vs %g", top, v);
    cr_assert_eq(x[NN_ZIG_LAYERS], 0.0);
    for (int i = 0; i < NN_ZIG_LAYERS; i++) {
        cr_assert_lt(x[i + 1], x[i]);
        cr_assert_eq(nn_zig_ratio[i], x[i + 1] / x[i], "ratio %d", i);
    }
}

Test(zig, normal_moments_and_tails) {
    nn_rng r = nn_rng_make(11, 11);
    const int n = 4000000;
    double s = 0, s2 = 0, s3 = 0, s4 = 0;
    long beyond3 = 0, beyond_r = 0, within1 = 0, neg = 0;
    for (int i = 0; i < n; i++) {
        const double x = nn_zig_normal(&r);
        s += x;
        s2 += x * x;
        s3 += x * x * x;
        s4 += x * x * x * x;
        beyond3 += fabs(x) > 3.0;
        beyond_r += fabs(x) > nn_zig_x[1];
        within1 += fabs(x) < 1.0;
        neg += x < 0;
    }
    cr_assert(fabs(s / n) < 0.003, "mean %f", s / n);
    cr_assert(fabs(sqrt(s2 / n) - 1.0) < 0.003, "std %f", sqrt(s2 / n));
    cr_assert(fabs(s3 / n) < 0.02, "skew %f", s3 / n);
    cr_assert(fabs(s4 / n - 3.0) < 0.03, "kurtosis %f", s4 / n);
    cr_assert(fabs((double)within1 / n - 0.682689) < 0.002);
    cr_assert(fabs((double)neg / n - 0.5) < 0.002);
    /* P(|x| > 3) = 0.0026998: 10799 expected, sigma ~104 */
    cr_assert(labs(beyond3 - 10799) < 600, "beyond 3: %ld", beyond3);
    /* the tail method: P(|x| > 3.6541528853610088) = 2.5803e-4: 1032, sigma ~32 */
    cr_assert(labs(beyond_r - 1032) < 200, "beyond R: %ld", beyond_r);
}

/* Histogram against the normal CDF (Kolmogorov-Smirnov-like bound). */
Test(zig, cdf_matches) {
    nn_rng r = nn_rng_make(12, 12);
    enum { B = 80, N = 2000000 };
    long hist[B + 2] = {0}; /* bins of width 0.1 over [-4, 4), plus both tails */
    for (int i = 0; i < N; i++) {
        const double x = nn_zig_normal(&r);
        const int b = x < -4.0 ? 0 : x >= 4.0 ? B + 1 : 1 + (int)floor((x + 4.0) * 10.0);
        hist[b < B + 1 ? b : B]++;
    }
    double cum = 0, worst = 0;
    for (int b = 0; b <= B; b++) {
        cum += hist[b];
        const double edge = -4.0 + 0.1 * b; /* upper edge of bin b */
        const double want = 0.5 * erfc(-edge / sqrt(2.0));
        worst = fmax(worst, fabs(cum / N - want));
    }
    cr_assert_lt(worst, 0.0015, "max CDF gap %g (KS 1e-3 level ~0.0013)", worst);
}
