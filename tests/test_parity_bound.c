/* test_parity_bound.c — the rounding bounds of a training step
 * (src/parity_bound.c) hold for float32 evaluations other than the two
 * backends': plain loops summing in reverse order, and fma chains, each
 * within E of the double recomputation for every quantity of the step, over
 * every activation, loss and optimizer; ReLU kink flips widen exactly the
 * bounds they touch; Adam's bound covers an undetermined sign. No OpenCL
 * device needed. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "parity_bound.h"
#include "testutil.h"

#define MAXW 48  /* widest layer in these tests */
#define MAXR 40  /* most rows */

/* One float32 evaluation of a step: summation order and fma are the variant's. */
typedef enum variant { REVERSE_SUMS, FMA_CHAINS } variant;

typedef struct fstep {
    float z[4][MAXR * MAXW], a[4][MAXR * MAXW];
    double loss;
    float *g, *p, *m, *v; /* (n_params) */
} fstep;

/* sum_k x[k * sx] * y[k * sy], k < n, in the variant's way. */
static float dot(variant var, const float *x, size_t sx, const float *y, size_t sy, size_t n) {
    float s = 0.0f;
    if (var == FMA_CHAINS)
        for (size_t k = 0; k < n; k++) s = fmaf(x[k * sx], y[k * sy], s);
    else
        for (size_t k = n; k-- > 0;) s = s + x[k * sx] * y[k * sy];
    return s;
}

static float act(nn_act a, float z) {
    switch (a) {
    case NN_ACT_RELU: return z > 0.0f ? z : 0.0f;
    case NN_ACT_SIGMOID: return 1.0f / (1.0f + expf(-z));
    case NN_ACT_TANH: return tanhf(z);
    default: return z;
    }
}

/* The step of `in` in float32 (losses in float too, as a device without fp64 would). */
static void float_step(const pb_input *in, variant var, fstep *o) {
    const nn_model_config *mc = in->mc;
    const size_t L = mc->n_sizes - 1, R = in->rows;
    size_t wo[4], bo[4], off = 0;
    for (size_t l = 0; l < L; l++) {
        wo[l] = off;
        off += mc->sizes[l] * mc->sizes[l + 1];
        bo[l] = off;
        off += mc->sizes[l + 1];
    }
    const float *w = in->params;
    for (size_t l = 0; l < L; l++) {
        const size_t ni = mc->sizes[l], no = mc->sizes[l + 1];
        const float *x = l ? o->a[l - 1] : in->x;
        const nn_act fa = l + 1 == L ? nn_loss_output_act(mc->loss) : mc->hidden;
        for (size_t r = 0; r < R; r++) {
            for (size_t j = 0; j < no; j++) {
                o->z[l][r * no + j] = dot(var, x + r * ni, 1, w + wo[l] + j, no, ni) + w[bo[l] + j];
                o->a[l][r * no + j] = act(fa, o->z[l][r * no + j]);
            }
            if (fa == NN_ACT_SOFTMAX) {
                float *y = o->a[l] + r * no, mx = o->z[l][r * no], s = 0.0f;
                for (size_t j = 1; j < no; j++) mx = fmaxf(mx, o->z[l][r * no + j]);
                for (size_t j = 0; j < no; j++) s += y[j] = expf(o->z[l][r * no + j] - mx);
                for (size_t j = 0; j < no; j++) y[j] /= s;
            }
        }
    }
    const size_t outs = mc->sizes[L];
    const float *zL = o->z[L - 1], *t = in->t;
    float lsum = 0.0f;
    for (size_t r = 0; r < R; r++) {
        float l = 0.0f;
        const float *z = zL + r * outs, *tr = t + r * outs;
        if (mc->loss == NN_LOSS_BCE) {
            l = fmaxf(z[0], 0.0f) - z[0] * tr[0] + log1pf(expf(-fabsf(z[0])));
        } else if (mc->loss == NN_LOSS_CE) {
            float mx = z[0], e = 0.0f, tz = 0.0f;
            for (size_t j = 1; j < outs; j++) mx = z[j] > mx ? z[j] : mx;
            for (size_t j = 0; j < outs; j++) {
                e += expf(z[j] - mx);
                tz += tr[j] * z[j];
            }
            l = mx + logf(e) - tz;
        } else {
            for (size_t j = 0; j < outs; j++) l += (z[j] - tr[j]) * (z[j] - tr[j]);
            l /= (float)outs;
        }
        lsum += l;
    }
    o->loss = (double)lsum / (double)R;
    /* backward */
    float dz[MAXR * MAXW], da[MAXR * MAXW];
    const float s = mc->loss == NN_LOSS_MSE ? 2.0f * in->grad_scale / (float)outs : in->grad_scale;
    for (size_t i = 0; i < R * outs; i++) dz[i] = s * (o->a[L - 1][i] - t[i]);
    for (size_t l = L; l-- > 0;) {
        const size_t ni = mc->sizes[l], no = mc->sizes[l + 1];
        const float *x = l ? o->a[l - 1] : in->x;
        for (size_t i = 0; i < ni; i++)
            for (size_t j = 0; j < no; j++)
                o->g[wo[l] + i * no + j] = dot(var, x + i, ni, dz + j, no, R);
        for (size_t j = 0; j < no; j++) {
            float c = 0.0f;
            for (size_t r = R; r-- > 0;) c += dz[r * no + j];
            o->g[bo[l] + j] = c;
        }
        if (l == 0) break;
        for (size_t r = 0; r < R; r++)
            for (size_t i = 0; i < ni; i++) {
                float d = dot(var, dz + r * no, 1, w + wo[l] + i * no, 1, no);
                const float y = o->a[l - 1][r * ni + i], zz = o->z[l - 1][r * ni + i];
                if (mc->hidden == NN_ACT_RELU) d = zz > 0.0f ? d : 0.0f;
                else if (mc->hidden == NN_ACT_SIGMOID) d = d * y * (1.0f - y);
                else d = d * (1.0f - y * y);
                da[r * ni + i] = d;
            }
        memcpy(dz, da, R * ni * sizeof(float));
    }
    /* update */
    for (size_t i = 0; i < off; i++) {
        float p = in->params[i];
        const float g = o->g[i];
        if (in->opt == NN_OPT_SGD) {
            p -= in->lr * g;
        } else if (in->opt == NN_OPT_MOMENTUM) {
            o->m[i] = in->momentum * in->opt_m[i] + g;
            p -= in->lr * o->m[i];
        } else {
            o->m[i] = in->beta1 * in->opt_m[i] + (1.0f - in->beta1) * g;
            o->v[i] = in->beta2 * in->opt_v[i] + (1.0f - in->beta2) * g * g;
            p -= in->lr * (o->m[i] * in->c1) / (sqrtf(o->v[i] * in->c2) + in->eps);
        }
        o->p[i] = p;
    }
}

/* max over n of |x - v| / e (0 where equal). */
static double worst(const float *x, const double *v, const double *e, size_t n, size_t *at) {
    double w = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double d = fabs((double)x[i] - v[i]);
        const double r = d == 0.0 ? 0.0 : e[i] > 0.0 ? d / e[i] : INFINITY;
        if (r > w || isnan(r)) {
            w = isnan(r) ? INFINITY : r;
            *at = i;
        }
    }
    return w;
}

/* A random step of a model with sizes[0..n) and the given kinds. */
typedef struct case_ {
    nn_model_config mc;
    pb_input in;
    float x[MAXR * MAXW], t[MAXR * MAXW];
    float *params, *m, *v;
    size_t np;
} case_;

static void make_case(case_ *c, const size_t *sizes, size_t n, nn_act hidden, nn_loss loss,
                      nn_optimizer opt, size_t rows, uint64_t seed) {
    memset(c, 0, sizeof *c);
    c->mc.n_sizes = n;
    for (size_t i = 0; i < n; i++) c->mc.sizes[i] = sizes[i];
    c->mc.hidden = hidden;
    c->mc.loss = loss;
    for (size_t l = 0; l + 1 < n; l++) c->np += sizes[l] * sizes[l + 1] + sizes[l + 1];
    c->params = malloc(c->np * sizeof(float));
    c->m = malloc(c->np * sizeof(float));
    c->v = malloc(c->np * sizeof(float));
    tu_fill_uniform(c->params, c->np, seed, -0.7f, 0.7f);
    tu_fill_uniform(c->m, c->np, seed + 1, -0.05f, 0.05f);
    tu_fill_uniform(c->v, c->np, seed + 2, 0.0f, 0.01f);
    tu_fill_uniform(c->x, rows * sizes[0], seed + 3, -2.0f, 2.0f);
    const size_t outs = sizes[n - 1];
    nn_rng r = nn_rng_make(seed, 9);
    for (size_t i = 0; i < rows; i++) {
        if (loss == NN_LOSS_CE) {
            const size_t k = (size_t)nn_rng_below(&r, outs);
            for (size_t j = 0; j < outs; j++) c->t[i * outs + j] = j == k ? 1.0f : 0.0f;
        } else {
            const float y = loss == NN_LOSS_BCE ? (float)nn_rng_below(&r, 2)
                                                : (float)nn_rng_uniform(&r) * 2.0f - 1.0f;
            for (size_t j = 0; j < outs; j++) c->t[i * outs + j] = y;
        }
    }
    const double t = 7; /* Adam's step count */
    c->in = (pb_input){.mc = &c->mc, .opt = opt, .lr = 0.01f, .momentum = 0.9f, .beta1 = 0.9f,
                       .beta2 = 0.999f, .eps = 1e-8f,
                       .c1 = (float)(1.0 / (1.0 - pow(0.9f, t))),
                       .c2 = (float)(1.0 / (1.0 - pow(0.999f, t))),
                       .grad_scale = 1.0f / (float)rows, .rows = rows, .x = c->x, .t = c->t,
                       .params = c->params, .opt_m = opt != NN_OPT_SGD ? c->m : NULL,
                       .opt_v = opt == NN_OPT_ADAM ? c->v : NULL};
}

static void free_case(case_ *c) {
    free(c->params);
    free(c->m);
    free(c->v);
}

/* Every quantity of a float evaluation within E of the recomputation. */
static void expect_within(const case_ *c, variant var) {
    const float *zr[NN_MAX_LAYERS] = {0};
    fstep *f = calloc(1, sizeof *f);
    f->g = calloc(c->np, sizeof(float));
    f->p = calloc(c->np, sizeof(float));
    f->m = calloc(c->np, sizeof(float));
    f->v = calloc(c->np, sizeof(float));
    float_step(&c->in, var, f);
    const size_t L = c->mc.n_sizes - 1, R = c->in.rows;
    for (size_t l = 0; l < L; l++) zr[l] = f->z[l];
    pb_input in = c->in;
    in.z_ref = zr; /* the ReLU derivative as this evaluation took it */
    pb_result r;
    nn_error err;
    cr_assert_eq(pb_step(&in, &r, &err), NN_OK, "%s", err.msg);
    size_t at = 0;
    const char *what[] = {"reverse sums", "fma chains"};
    for (size_t l = 0; l < L; l++) {
        const size_t n = R * c->mc.sizes[l + 1];
        double wz = worst(f->z[l], r.z[l].v, r.z[l].e, n, &at);
        cr_assert_leq(wz, 1.0, "%s, layer %zu Z[%zu]: %.3g of its bound", what[var], l + 1, at, wz);
        double wa = worst(f->a[l], r.a[l].v, r.a[l].e, n, &at);
        cr_assert_leq(wa, 1.0, "%s, layer %zu A[%zu]: %.3g of its bound", what[var], l + 1, at, wa);
    }
    cr_assert_leq(fabs(f->loss - r.loss), r.loss_e, "%s: loss %.9g vs %.9g, bound %.3g", what[var],
                  f->loss, r.loss, r.loss_e);
    double wg = worst(f->g, r.g.v, r.g.e, c->np, &at);
    cr_assert_leq(wg, 1.0, "%s: gradient %zu at %.3g of its bound", what[var], at, wg);
    double wp = worst(f->p, r.p.v, r.p.e, c->np, &at);
    cr_assert_leq(wp, 1.0, "%s: new weight %zu at %.3g of its bound", what[var], at, wp);
    if (r.m.v) {
        double wm = worst(f->m, r.m.v, r.m.e, c->np, &at);
        cr_assert_leq(wm, 1.0, "%s: m %zu at %.3g of its bound", what[var], at, wm);
    }
    if (r.v.v) {
        double wv = worst(f->v, r.v.v, r.v.e, c->np, &at);
        cr_assert_leq(wv, 1.0, "%s: v %zu at %.3g of its bound", what[var], at, wv);
    }
    pb_free(&r);
    free(f->g), free(f->p), free(f->m), free(f->v), free(f);
}

Test(parity_bound, gamma_is_k_u_over_1_minus_k_u) {
    cr_assert_float_eq(pb_gamma(1), PB_U / (1 - PB_U), 1e-30);
    cr_assert_float_eq(pb_gamma(64), 64 * PB_U / (1 - 64 * PB_U), 1e-25);
    cr_assert(isfinite(pb_gamma(1 << 22)));
    cr_assert(isinf(pb_gamma(1 << 24)), "no bound once k u reaches 1/2... or 1");
}

Test(parity_bound, other_float_evaluations_stay_within_the_bounds) {
    const nn_act hidden[] = {NN_ACT_RELU, NN_ACT_SIGMOID, NN_ACT_TANH};
    const nn_loss losses[] = {NN_LOSS_BCE, NN_LOSS_CE, NN_LOSS_MSE};
    const nn_optimizer opts[] = {NN_OPT_SGD, NN_OPT_MOMENTUM, NN_OPT_ADAM};
    uint64_t seed = 1;
    for (int h = 0; h < 3; h++)
        for (int lo = 0; lo < 3; lo++)
            for (int op = 0; op < 3; op++)
                for (int rep = 0; rep < 3; rep++, seed += 10) {
                    const size_t outs = losses[lo] == NN_LOSS_CE ? 5 : 1;
                    const size_t sizes[] = {3, 48, 17, outs};
                    case_ c;
                    make_case(&c, sizes, 4, hidden[h], losses[lo], opts[op], 37 + rep, seed);
                    expect_within(&c, REVERSE_SUMS);
                    expect_within(&c, FMA_CHAINS);
                    free_case(&c);
                }
}

/* A pre-activation that the other backend puts on the other side of 0
 * widens the bounds of exactly the gradients it feeds, by at least the
 * whole contribution of its dA. */
Test(parity_bound, a_relu_kink_flip_widens_the_gradients_it_touches) {
    const size_t sizes[] = {3, 8, 1};
    case_ c;
    make_case(&c, sizes, 3, NN_ACT_RELU, NN_LOSS_BCE, NN_OPT_SGD, 6, 77);
    fstep *f = calloc(1, sizeof *f);
    f->g = calloc(c.np, sizeof(float));
    f->p = calloc(c.np, sizeof(float));
    f->m = calloc(c.np, sizeof(float));
    f->v = calloc(c.np, sizeof(float));
    float_step(&c.in, REVERSE_SUMS, f);
    size_t r0 = 2, j0 = 0; /* find a unit that is on for row r0 */
    while (j0 < 8 && !(f->z[0][r0 * 8 + j0] > 0.0f)) j0++;
    cr_assert_lt(j0, 8u);
    float zo[6 * 8];
    memcpy(zo, f->z[0], sizeof zo);
    zo[r0 * 8 + j0] = -zo[r0 * 8 + j0]; /* the other backend's side of 0 */
    const float *zr_l[NN_MAX_LAYERS] = {f->z[0], f->z[1]}, *zo_l[NN_MAX_LAYERS] = {zo, f->z[1]};
    const float *same_l[NN_MAX_LAYERS] = {f->z[0], f->z[1]};
    pb_input a = c.in, b = c.in;
    a.z_ref = zr_l;
    a.z_other = same_l;
    b.z_ref = zr_l;
    b.z_other = zo_l;
    pb_result ra, rb;
    nn_error err;
    cr_assert_eq(pb_step(&a, &ra, &err), NN_OK);
    cr_assert_eq(pb_step(&b, &rb, &err), NN_OK);
    cr_assert_eq(ra.kink_flips[0], 0u);
    cr_assert_eq(rb.kink_flips[0], 1u);
    /* dA[r0][j0] = dZ2[r0] W2[j0], dZ2 = (y - t) / rows; layer 2's W at 3*8 + 8 */
    const double dA = fabs(((double)f->a[1][r0] - c.t[r0]) / 6.0 * c.params[32 + j0]);
    cr_assert_gt(dA, 0.0);
    /* layer 1: W (3, 8) then b (8) */
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 8; j++) {
            const size_t k = i * 8 + j;
            if (j == j0) { /* gains |x[r0][i]| |dA[r0][j0]| at least */
                const double gain = fabs((double)c.x[r0 * 3 + i]) * dA;
                cr_assert_geq(rb.g.e[k] - ra.g.e[k], 0.99 * gain,
                              "dW[%zu][%zu] is touched by the flip: %.3g more, |x dA| %.3g", i,
                              j, rb.g.e[k] - ra.g.e[k], gain);
            } else {
                cr_assert_eq(rb.g.e[k], ra.g.e[k], "dW[%zu][%zu] is not", i, j);
            }
        }
    cr_assert_gt(rb.g.e[24 + j0], ra.g.e[24 + j0], "db[j0] is touched");
    cr_assert_eq(rb.g.e[24 + (j0 + 1) % 8], ra.g.e[24 + (j0 + 1) % 8], "the other db are not");
    pb_free(&ra);
    pb_free(&rb);
    free(f->g), free(f->p), free(f->m), free(f->v), free(f);
    free_case(&c);
}

/* Adam on a gradient that is exactly 0 but carries rounding: the update's
 * sign is not determined by the arithmetic, so its bound is about lr; a
 * well-determined gradient of the same step gets a bound far below lr. */
Test(parity_bound, adam_allows_an_undetermined_sign_and_no_more) {
    nn_model_config mc = {.n_sizes = 2, .sizes = {2, 1}, .loss = NN_LOSS_MSE};
    /* z = 0.5 x0 + 0.25 = 0.75 on both rows; targets 0.5 and 1: residuals +-0.25, so
     * dW0 = sum x0 r = 0 and db = 0 exactly, dW1 = sum x1 r = 0.25 */
    const float params[3] = {0.5f, 0.0f, 0.25f}, zeros[3] = {0, 0, 0};
    const float x[4] = {1.0f, 0.5f, 1.0f, -0.5f}, t[2] = {0.5f, 1.0f};
    pb_input in = {.mc = &mc, .opt = NN_OPT_ADAM, .lr = 0.1f, .beta1 = 0.9f, .beta2 = 0.999f,
                   .eps = 1e-8f, .c1 = (float)(1.0 / (1.0 - 0.9)),
                   .c2 = (float)(1.0 / (1.0 - 0.999)), .grad_scale = 0.5f, .rows = 2, .x = x,
                   .t = t, .params = params, .opt_m = zeros, .opt_v = zeros};
    pb_result r;
    nn_error err;
    cr_assert_eq(pb_step(&in, &r, &err), NN_OK);
    cr_assert_eq(r.g.v[0], 0.0);
    cr_assert_gt(r.g.e[0], 0.0, "the exact zero is computed from rounded terms");
    cr_assert_gt(fabs(r.g.v[1]), 1e3 * r.g.e[1]);
    /* undetermined sign: any update in about [-lr, lr] */
    cr_assert_gt(r.p.e[0], 0.5 * 0.1, "bound %.3g", r.p.e[0]);
    cr_assert_leq(r.p.e[0], 1.01 * 0.1 * (1.0 + 1e-3), "bound %.3g", r.p.e[0]);
    /* a well-determined gradient: a bound far below lr (the update is lr in size) */
    cr_assert_lt(r.p.e[1], 1e-5 * 0.1, "bound %.3g", r.p.e[1]);
    cr_assert_float_eq(r.p.v[1], 0.0 - 0.1 * (r.g.v[1] > 0 ? 1 : -1), 1e-6);
    pb_free(&r);
}

/* The extremes of Adam's update over an interval of gradients, against a
 * dense sampling, for random moments and intervals around and away from 0. */
Test(parity_bound, adam_range_finds_the_extremes) {
    nn_rng r = nn_rng_make(5, 5);
    for (int trial = 0; trial < 2000; trial++) {
        const double lr = 0.1, c1 = 1.0 + 9.0 * nn_rng_uniform(&r);
        const double c2 = 1.0 + 999.0 * nn_rng_uniform(&r);
        const double m0 = (nn_rng_uniform(&r) - 0.5) * pow(10.0, -6.0 * nn_rng_uniform(&r));
        const double v0 = trial % 3 == 0 ? 0.0 : pow(10.0, -12.0 * nn_rng_uniform(&r));
        const double a = lr * c1 * 0.9 * m0, b = lr * c1 * 0.1, c = c2 * 0.999 * v0, d = c2 * 0.001;
        const double mid = (nn_rng_uniform(&r) - 0.5) * pow(10.0, -6.0 * nn_rng_uniform(&r));
        const double half = pow(10.0, -8.0 * nn_rng_uniform(&r)) * (fabs(mid) + 1e-9);
        double lo, hi;
        pb_adam_range(a, b, c, d, 1e-8, mid - half, mid + half, &lo, &hi);
        double smin = INFINITY, smax = -INFINITY;
        for (int k = 0; k <= 4000; k++) {
            const double g = mid - half + 2.0 * half * k / 4000.0;
            const double f = (a + b * g) / (sqrt(c + d * g * g) + 1e-8);
            smin = fmin(smin, f);
            smax = fmax(smax, f);
        }
        const double slack = 1e-9 * fmax(fabs(smin), fabs(smax)) + 1e-300;
        cr_assert(lo <= smin + slack && hi >= smax - slack,
                  "trial %d: range [%.17g, %.17g] misses sampled [%.17g, %.17g]", trial, lo, hi,
                  smin, smax);
        cr_assert(lo >= smin - 1e-6 * (smax - smin) - slack &&
                      hi <= smax + 1e-6 * (smax - smin) + slack,
                  "trial %d: range [%.17g, %.17g] wider than [%.17g, %.17g]", trial, lo, hi, smin,
                  smax);
    }
}
