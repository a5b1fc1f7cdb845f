/* cpu_softplus.h — log1p(exp(-a)) in double for the CPU backend's BCE loss
 * (internal). Written with separate multiplies, adds and one divide (no FMA,
 * no C library), so that the 8-lane version in cpu_ops_avx512.c computes the
 * same bits and results do not depend on the C library.
 *
 * exp(-a): k = nearest integer to -a / ln 2, r = -a - k ln 2 (ln 2 in two
 * parts, |r| <= 0.35), exp(r) by its degree-14 Taylor polynomial (truncation
 * < 2e-19 relative), times 2^k built in the exponent bits. For a > 708 the
 * result would be subnormal and the function returns 0 (absolute error below
 * 1e-307).
 * log1p(e), 0 < e <= 1: w = 1 + e rounded, with its rounding error c = e - (w
 * - 1) (exact); log w = j ln 2 + log m with m = w or w / 2 in [0.70, 1.42],
 * log m = 2 atanh(s) = 2 s + s^3 (2/3 + 2 s^2/5 + ...), s = (m - 1) / (m + 1),
 * |s| <= 0.172, series to s^23 (truncation < 1e-19); then + c / w.
 * Relative error: a few units of 2^-53. */
#ifndef NN_CPU_SOFTPLUS_H
#define NN_CPU_SOFTPLUS_H

#include <stdint.h>
#include <string.h>

#define NN_SP_INVLN2 0x1.71547652b82fep0
#define NN_SP_LN2HI 0x1.62e42fee00000p-1 /* ln 2 = HI + LO, HI with 32 significant bits */
#define NN_SP_LN2LO 0x1.a39ef35793c76p-33
#define NN_SP_SHIFT 0x1.8p52
#define NN_SP_SQRT2 0x1.6a09e667f3bcdp0
#define NN_SP_MAX_A 708.0

/* Taylor coefficients of exp: 1/n!, n = 14 .. 2 (divisions rounded by the compiler) */
static const double nn_sp_exp_c[13] = {
    1.0 / 87178291200.0, 1.0 / 6227020800.0, 1.0 / 479001600.0, 1.0 / 39916800.0,
    1.0 / 3628800.0,     1.0 / 362880.0,     1.0 / 40320.0,     1.0 / 5040.0,
    1.0 / 720.0,         1.0 / 120.0,        1.0 / 24.0,        1.0 / 6.0,
    1.0 / 2.0,
};
/* atanh series of log: 2 / (2n + 1), n = 11 .. 1 */
static const double nn_sp_log_c[11] = {
    2.0 / 23.0, 2.0 / 21.0, 2.0 / 19.0, 2.0 / 17.0, 2.0 / 15.0, 2.0 / 13.0,
    2.0 / 11.0, 2.0 / 9.0,  2.0 / 7.0,  2.0 / 5.0,  2.0 / 3.0,
};

/* log(1 + exp(-a)) for a >= 0 (finite); see the top of this file. */
static inline double nn_softplus_neg(double a) {
    if (!(a <= NN_SP_MAX_A)) return 0.0;
    const double x = -a;
    double kd = x * NN_SP_INVLN2 + NN_SP_SHIFT;
    uint64_t ki;
    memcpy(&ki, &kd, sizeof ki);
    kd -= NN_SP_SHIFT;
    const double r = (x - kd * NN_SP_LN2HI) - kd * NN_SP_LN2LO;
    double p = nn_sp_exp_c[0];
    for (int i = 1; i < 13; i++) p = p * r + nn_sp_exp_c[i];
    p = (p * r + 1.0) * r + 1.0;
    const uint64_t sb = (ki + 1023) << 52; /* 2^k, k >= -1022 since a <= 708 */
    double scale;
    memcpy(&scale, &sb, sizeof scale);
    const double e = p * scale;
    const double w = 1.0 + e, c = e - (w - 1.0);
    const int big = w > NN_SP_SQRT2;
    const double m = big ? w * 0.5 : w, j = big ? 1.0 : 0.0;
    const double s = (m - 1.0) / (m + 1.0), s2 = s * s;
    double q = nn_sp_log_c[0];
    for (int i = 1; i < 11; i++) q = q * s2 + nn_sp_log_c[i];
    const double logm = 2.0 * s + s * s2 * q;
    return j * NN_SP_LN2HI + (logm + j * NN_SP_LN2LO) + c / w;
}

#endif
