/* cpu_exp.h — expf for the CPU backend's elementwise ops (internal).
 *
 * exp(x) = 2^(x / ln 2). With z = 32 x / ln 2 split as z = k + r (k the
 * nearest integer, |r| <= 1/2): exp(x) = 2^(k/32) * exp(r ln2 / 32). The
 * first factor is 2^(k mod 32 / 32) from a table times 2^(k div 32), put
 * together by adding k << 47 to the table entry's bits (the table stores
 * bits(2^(i/32)) - (i << 47)); the second is the cubic Taylor polynomial of
 * exp(y), y = r ln2 / 32, |y| <= 0.0109, whose truncation error (< 6e-10
 * relative) is far below float precision. All in double, rounded once to
 * float. Written with separate multiplies and adds (no FMA), so that the
 * vector version in cpu_ops_avx512.c computes the same bits, and results do
 * not depend on the C library. */
#ifndef NN_CPU_EXP_H
#define NN_CPU_EXP_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* bits of 2^(i/32), correctly rounded to double, minus i << 47 */
static const uint64_t nn_exp_tab[32] = {
    0x3ff0000000000000, 0x3fefd9b0d3158574, 0x3fefb5586cf9890f, 0x3fef9301d0125b51,
    0x3fef72b83c7d517b, 0x3fef54873168b9aa, 0x3fef387a6e756238, 0x3fef1e9df51fdee1,
    0x3fef06fe0a31b715, 0x3feef1a7373aa9cb, 0x3feedea64c123422, 0x3feece086061892d,
    0x3feebfdad5362a27, 0x3feeb42b569d4f82, 0x3feeab07dd485429, 0x3feea47eb03a5585,
    0x3feea09e667f3bcd, 0x3fee9f75e8ec5f74, 0x3feea11473eb0187, 0x3feea589994cce13,
    0x3feeace5422aa0db, 0x3feeb737b0cdc5e5, 0x3feec49182a3f090, 0x3feed503b23e255d,
    0x3feee89f995ad3ad, 0x3feeff76f2fb5e47, 0x3fef199bdd85529c, 0x3fef3720dcef9069,
    0x3fef5818dcfba487, 0x3fef7c97337b9b5f, 0x3fefa4afa2a490da, 0x3fefd0765b6e4540,
};
#define NN_EXP_INVLN2N (32.0 / NN_EXP_LN2) /* 32 / ln 2 */
#define NN_EXP_SHIFT 0x1.8p+52                    /* z + SHIFT rounds z to an integer */
#define NN_EXP_LN2 0x1.62e42fefa39efp-1 /* ln 2, rounded to double */
#define NN_EXP_C0 (NN_EXP_C2 * NN_EXP_C2 * NN_EXP_C2 / 6.0) /* Taylor: y^3/6 */
#define NN_EXP_C1 (NN_EXP_C2 * NN_EXP_C2 / 2.0)              /* y^2/2 */
#define NN_EXP_C2 (NN_EXP_LN2 / 32.0)                         /* y = C2 * r */
#define NN_EXP_HI 0x1.62e42ep6f  /* above: +inf (log(0x1p128) ~= 88.72) */
#define NN_EXP_LO -0x1.9fe368p6f /* below: 0 (log(0x1p-150) ~= -103.97) */

static inline float nn_exp_f(float x) {
    const double z = NN_EXP_INVLN2N * (double)x;
    double kd = z + NN_EXP_SHIFT; /* k in the low bits */
    uint64_t ki, t;
    memcpy(&ki, &kd, sizeof ki);
    kd -= NN_EXP_SHIFT;
    const double r = z - kd;
    t = nn_exp_tab[ki % 32] + (ki << 47); /* 2^(k/32) */
    double s;
    memcpy(&s, &t, sizeof s);
    const double p = NN_EXP_C0 * r + NN_EXP_C1, r2 = r * r;
    double y = NN_EXP_C2 * r + 1.0;
    y = p * r2 + y;
    y = y * s;
    float e = (float)y;
    e = x > NN_EXP_HI ? INFINITY : e;
    e = x < NN_EXP_LO ? 0.0f : e;
    return x != x ? x + x : e;
}

#endif
