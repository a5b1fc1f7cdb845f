/* parity_bound.c — one training step in double with a bound on the rounding
 * error of any float32 evaluation of the library's formulas (backend.h).
 *
 * Derivation (running error analysis; u = 2^-24, gamma_k = k u / (1 - k u)).
 * Every float quantity x of the step gets a value v (computed here in double,
 * about 2^-29 of a bound away from the exact value) and a bound E with
 * |x_float - x_exact| <= E, for any order of the sums, with or without fma.
 * Two backends that both stay within E differ by at most 2E, the tolerance.
 *
 *  - One operation + - * : one rounding, |d| <= u. k roundings in a chain:
 *    gamma_k (Higham, Lemma 3.1). Functions (OpenCL 1.2 full profile limits,
 *    which the CPU backend's functions meet): exp 3 ulp, tanh 5 ulp, x/y 2.5
 *    ulp, sqrt 3 ulp; 1 ulp <= 2u relative. Underflow: each result may lose
 *    up to FLT_MIN (flush to zero), added per operation.
 *  - Dot product of length K of computed operands a^ = a +- Ea, b^ = b +- Eb
 *    (forward A·W: K = the layer's input width; dA = dZ·W^T: K = its output
 *    width; dW = A^T·dZ: K = the batch rows; db: a sum of K = rows terms):
 *      |fl(a^·b^) - a·b| <= gamma_K sum |a^||b^| + sum |a^ b^ - a b|
 *                        <= sum (gamma_K (|a|+Ea) + Ea)(|b|+Eb) + |a| Eb
 *    (Higham, eq. 3.5, for the rounding; the rest is the inputs' error).
 *    Weights, inputs and targets are exact (the same floats on both).
 *    Bias add: + u |z|.
 *  - Smooth activations y = f(z) with |z^ - z| <= Ez: |f(z^) - f(z)| <= Ez
 *    sup |f'| over [z - Ez, z + Ez] (sigmoid', tanh' peak at 0), plus the
 *    evaluation: sigmoid 1/(1+exp(-z)) 12u relative, tanh 10u. Softmax:
 *    log y_j moves by at most Ez_j + max_k Ez_k, so |dy_j| <= y_j (exp(Ez_j +
 *    max Ez) - 1), plus exp, the row sum (gamma_cols) and the division.
 *  - ReLU: y = max(z, 0) is 1-Lipschitz, Ey = Ez (0 where z < -Ez). Its
 *    derivative jumps at 0: a pre-activation within its bound of 0 may land
 *    on either side, and then dZ = dA or 0. This is not smoothed over: the
 *    recomputation uses the reference backend's signs, and where the other
 *    backend's sign differs (a flip, counted) the bound of dZ is |dA| + EdA.
 *  - Loss (the step's mean batch loss, from the logits): |dl/dz| sup over the
 *    logits' intervals times Ez (BCE sigmoid(z) - t, CE softmax - t, MSE
 *    2(z - t)/cols), plus evaluation in float (devices without fp64): (cols +
 *    16) u of each row's term magnitudes and gamma_rows of the row sum.
 *  - Backward: dZ_out = s (y - t) (s = 1/rows, or 2/(rows cols) for MSE, the
 *    same float on both), then per layer dW, db, dA as dot products above and
 *    dZ = dA * f'(z): sigmoid dA y (1 - y), tanh dA (1 - y y) with the
 *    computed y's error carried (|y^(1-y^) - y(1-y)| <= Ey (|1-2y| + Ey),
 *    |y^2 - y^2| <= Ey (2|y| + Ey)) and 3 roundings.
 *  - Optimizer, per element, from g with bound Eg, and the state before
 *    (exact): sgd p - lr g; momentum m = mu m + g, p - lr m: linear, so Eg
 *    scaled plus their roundings. Adam is not linearized: its update as a
 *    function of the gradient, f(g) = lr c1 (b1 m0 + (1-b1) g) / (sqrt(c2
 *    (b2 v0 + (1-b2) g^2)) + eps), is bounded by its minimum and maximum over
 *    the whole interval g +- Eg (at the ends, or where f' = 0: a quadratic in
 *    g, solved), then widened by m's rounding (absolute) and the rest of the
 *    evaluation (18u relative: v's three roundings are relative, every term
 *    of v being >= 0). Where |g| >> Eg this is the linear bound; where |g| <=
 *    Eg, so that the arithmetic does not decide the update's sign, the bound
 *    is the whole range of f, about lr at Adam's first step, honestly.
 *    m and v after the step: linear in g and in g^2 over the same interval.
 *    The new weight is rounded once more: + u |p|. */
#include "parity_bound.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define U PB_U
#define TINY ((double)FLT_MIN)
/* Products worth OpenMP threads (each output element stays one thread's sum,
 * in a fixed order, so results do not depend on the thread count). */
#define PARALLEL(work) ((double)(work) > 1e6)

double pb_gamma(double k) {
    const double ku = k * U;
    return ku < 0.5 ? ku / (1.0 - ku) : INFINITY;
}

void pb_free(pb_result *r) {
    if (!r) return;
    free(r->slab);
    memset(r, 0, sizeof *r);
}

/* The point of [z - e, z + e] closest to 0 (where sigmoid' and tanh' peak). */
static double nearest_zero(double z, double e) { return z > e ? z - e : z < -e ? z + e : 0.0; }
static double sigmoid(double z) { return 1.0 / (1.0 + exp(-z)); }

/* Allocate every array of r for in's model (one slab). */
static nn_status allocate(const pb_input *in, pb_result *r, nn_error *err) {
    const nn_model_config *mc = in->mc;
    const size_t L = mc->n_sizes - 1, R = in->rows;
    size_t np = 0, acts = 0;
    for (size_t l = 0; l < L; l++) {
        np += mc->sizes[l] * mc->sizes[l + 1] + mc->sizes[l + 1];
        acts += R * mc->sizes[l + 1];
    }
    const int nm = in->opt != NN_OPT_SGD, nv = in->opt == NN_OPT_ADAM;
    const size_t total = 2 * (2 * acts + np * (2 + nm + nv));
    memset(r, 0, sizeof *r);
    r->slab = calloc(total ? total : 1, sizeof(double));
    if (!r->slab)
        return nn_error_set(err, NN_E_NOMEM, "out of memory recomputing a step (%zu values)",
                            total);
    r->n_layers = L;
    r->n_params = np;
    r->rows = R;
    double *p = r->slab;
#define TAKE(val, count) (val).v = p, p += (count), (val).e = p, p += (count)
    for (size_t l = 0; l < L; l++) {
        TAKE(r->z[l], R * mc->sizes[l + 1]);
        TAKE(r->a[l], R * mc->sizes[l + 1]);
    }
    TAKE(r->g, np);
    TAKE(r->p, np);
    if (nm) TAKE(r->m, np);
    if (nv) TAKE(r->v, np);
#undef TAKE
    return NN_OK;
}

/* ----------------------------------------------------------------- forward */

/* z: (R, no) = in·W + b with bounds; in: (R, ni) values iv and bounds ie
 * (ie NULL: exact inputs). */
static void linear(pb_val z, const double *iv, const double *ie, const float *w, const float *b,
                   size_t R, size_t ni, size_t no) {
    const double gk = pb_gamma((double)ni);
#pragma omp parallel for schedule(static) if (PARALLEL(R * ni * no))
    for (size_t r = 0; r < R; r++) {
        double *zv = z.v + r * no, *ze = z.e + r * no;
        for (size_t j = 0; j < no; j++) zv[j] = ze[j] = 0.0;
        for (size_t k = 0; k < ni; k++) {
            const double a = iv[r * ni + k], ea = ie ? ie[r * ni + k] : 0.0;
            const double op = gk * (fabs(a) + ea) + ea; /* multiplies |W| */
            const float *wk = w + k * no;
            for (size_t j = 0; j < no; j++) {
                zv[j] += a * (double)wk[j];
                ze[j] += op * fabs((double)wk[j]);
            }
        }
        for (size_t j = 0; j < no; j++) {
            zv[j] += (double)b[j];
            ze[j] += (double)ni * TINY;
            ze[j] += U * (fabs(zv[j]) + ze[j]) + TINY; /* the bias add */
        }
    }
}

/* a = act(z) elementwise (not softmax), n elements. */
static void activate(nn_act act, pb_val a, pb_val z, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const double v = z.v[i], e = z.e[i];
        switch (act) {
        case NN_ACT_RELU:
            a.v[i] = v > 0.0 ? v : 0.0;
            a.e[i] = v > -e ? e : 0.0;
            break;
        case NN_ACT_SIGMOID: {
            const double y = sigmoid(v), c = sigmoid(nearest_zero(v, e));
            const double d = c * (1.0 - c) * e;
            a.v[i] = y;
            a.e[i] = d + 12.0 * U * (y + d) + TINY;
            break;
        }
        case NN_ACT_TANH: {
            const double y = tanh(v), c = tanh(nearest_zero(v, e));
            const double d = (1.0 - c * c) * e;
            a.v[i] = y;
            a.e[i] = d + 10.0 * U * (fabs(y) + d) + TINY;
            break;
        }
        default: /* identity: a copy */
            a.v[i] = v;
            a.e[i] = e;
            break;
        }
    }
}

/* Row-wise softmax of z: (R, cols) into a. */
static void softmax(pb_val a, pb_val z, size_t R, size_t cols) {
    const double gs = pb_gamma((double)cols);
    for (size_t r = 0; r < R; r++) {
        const double *zv = z.v + r * cols, *ze = z.e + r * cols;
        double *yv = a.v + r * cols, *ye = a.e + r * cols;
        double mx = zv[0], me = 0.0, s = 0.0, spread = 0.0;
        for (size_t j = 0; j < cols; j++) {
            mx = zv[j] > mx ? zv[j] : mx;
            me = ze[j] > me ? ze[j] : me;
        }
        for (size_t j = 0; j < cols; j++) {
            yv[j] = exp(zv[j] - mx);
            s += yv[j];
            if (zv[j] - mx < -spread) spread = mx - zv[j];
        }
        /* evaluation: the argument z - max (u |z - max| on the exponent), exp
         * (6u), the same for every term of the sum plus its gamma, the division (5u) */
        const double rho_sum = gs + U * spread + 6.0 * U;
        for (size_t j = 0; j < cols; j++) {
            yv[j] /= s;
            const double grow = exp(ze[j] + me);
            const double rho = U * (mx - zv[j]) + 6.0 * U + rho_sum + 5.0 * U;
            ye[j] = yv[j] * (grow - 1.0) + yv[j] * grow * rho * (1.0 + 2.0 * rho) + TINY;
        }
    }
}

/* ------------------------------------------------------------------- loss */

/* Mean loss of the batch from the logits zL (values and bounds) and its bound. */
static void batch_loss(nn_loss loss, pb_val zL, const float *t, size_t R, size_t cols,
                       double *out, double *out_e) {
    const double cap = -log(NN_BCE_EPS), geval = pb_gamma((double)cols + 16.0);
    double sum = 0.0, abs_sum = 0.0, e_sum = 0.0;
    for (size_t r = 0; r < R; r++) {
        const double *z = zL.v + r * cols, *ez = zL.e + r * cols;
        const float *tr = t + r * cols;
        double l = 0.0, e = 0.0, mag = 0.0;
        if (loss == NN_LOSS_BCE) {
            for (size_t j = 0; j < cols; j++) {
                const double zj = z[j], tj = tr[j];
                const double soft = log1p(exp(-fabs(zj)));
                const double lj = (zj > 0.0 ? zj : 0.0) - zj * tj + soft;
                l += lj < cap ? lj : cap;
                e += (fabs(sigmoid(zj) - tj) + 0.25 * ez[j]) * ez[j];
                mag += (zj > 0.0 ? zj : 0.0) + fabs(zj * tj) + soft;
            }
        } else if (loss == NN_LOSS_CE) {
            double mx = z[0], me = 0.0, s = 0.0, tz = 0.0, tz_abs = 0.0;
            for (size_t j = 0; j < cols; j++) {
                mx = z[j] > mx ? z[j] : mx;
                me = ez[j] > me ? ez[j] : me;
            }
            for (size_t j = 0; j < cols; j++) {
                s += exp(z[j] - mx);
                tz += (double)tr[j] * z[j];
                tz_abs += fabs((double)tr[j] * z[j]);
            }
            const double lj = mx + log(s) - tz;
            l = lj < cap ? lj : cap;
            for (size_t j = 0; j < cols; j++) {
                const double p = exp(z[j] - mx) / s;
                e += (fabs(p - tr[j]) + p * (exp(ez[j] + me) - 1.0)) * ez[j];
            }
            mag = fabs(mx) + fabs(log(s)) + tz_abs;
        } else {
            for (size_t j = 0; j < cols; j++) {
                const double d = z[j] - tr[j];
                l += d * d;
                e += (2.0 * fabs(d) + ez[j]) * ez[j];
            }
            l /= (double)cols;
            e /= (double)cols;
            mag = l;
        }
        sum += l;
        abs_sum += fabs(l);
        e_sum += e + geval * mag;
    }
    *out = sum / (double)R;
    *out_e = (e_sum + pb_gamma((double)R) * abs_sum) / (double)R + TINY;
}

/* --------------------------------------------------------------- backward */

/* dZ of the output layer: s (y - t), y the output activations. */
static void output_delta(pb_val dz, pb_val y, const float *t, float s, size_t n) {
    const double g2 = pb_gamma(2.0), sd = (double)s;
    for (size_t i = 0; i < n; i++) {
        const double d = y.v[i] - (double)t[i];
        dz.v[i] = sd * d;
        dz.e[i] = sd * y.e[i] + g2 * sd * (fabs(d) + y.e[i]) + TINY;
    }
}

/* dW: (ni, no) = in^T · dz and db: (no) = column sums of dz, with bounds;
 * in: (R, ni) values iv, bounds ie (NULL: exact); dz: (R, no). */
static void weight_grads(double *gw, double *gwe, double *gb, double *gbe, const double *iv,
                         const double *ie, pb_val dz, size_t R, size_t ni, size_t no) {
    const double gr = pb_gamma((double)R), gs = pb_gamma(R > 1 ? (double)(R - 1) : 0.0);
#pragma omp parallel for schedule(static) if (PARALLEL(R * ni * no))
    for (size_t i = 0; i < ni; i++) { /* row i of dW: sum over the batch rows */
        double *w = gw + i * no, *we = gwe + i * no;
        for (size_t j = 0; j < no; j++) w[j] = we[j] = 0.0;
        for (size_t r = 0; r < R; r++) {
            const double *dv = dz.v + r * no, *de = dz.e + r * no;
            const double a = iv[r * ni + i], ea = ie ? ie[r * ni + i] : 0.0;
            const double op = gr * (fabs(a) + ea) + ea, aa = fabs(a);
            for (size_t j = 0; j < no; j++) {
                w[j] += a * dv[j];
                we[j] += op * (fabs(dv[j]) + de[j]) + aa * de[j];
            }
        }
    }
    for (size_t k = 0; k < ni * no; k++) gwe[k] += (double)R * TINY;
    for (size_t j = 0; j < no; j++) {
        double s = 0.0, mag = 0.0, e = 0.0;
        for (size_t r = 0; r < R; r++) {
            s += dz.v[r * no + j];
            mag += fabs(dz.v[r * no + j]) + dz.e[r * no + j];
            e += dz.e[r * no + j];
        }
        gb[j] = s;
        gbe[j] = gs * mag + e + (double)R * TINY;
    }
}

/* da: (R, ni) = dz: (R, no) · W^T, W: (ni, no). */
static void input_grads(pb_val da, pb_val dz, const float *w, size_t R, size_t ni, size_t no) {
    const double gk = pb_gamma((double)no);
#pragma omp parallel for schedule(static) if (PARALLEL(R * ni * no))
    for (size_t r = 0; r < R; r++) {
        const double *dv = dz.v + r * no, *de = dz.e + r * no;
        for (size_t i = 0; i < ni; i++) {
            const float *wi = w + i * no;
            double s = 0.0, e = 0.0;
            for (size_t j = 0; j < no; j++) {
                s += dv[j] * (double)wi[j];
                e += (gk * (fabs(dv[j]) + de[j]) + de[j]) * fabs((double)wi[j]);
            }
            da.v[r * ni + i] = s;
            da.e[r * ni + i] = e + (double)no * TINY;
        }
    }
}

/* dz = da * act'(.) in place over n elements of a hidden layer with
 * pre-activations z and activations y; zr, zo: the backends' pre-activations
 * (NULL: exact signs). Counts ReLU kinks into *near and *flips. */
static void through_activation(nn_act act, pb_val d, pb_val z, pb_val y, const float *zr,
                               const float *zo, size_t n, size_t *near, size_t *flips) {
    const double g3 = pb_gamma(3.0);
    for (size_t i = 0; i < n; i++) {
        const double dv = d.v[i], de = d.e[i], yv = y.v[i], ye = y.e[i];
        if (act == NN_ACT_RELU) {
            const int on = zr ? zr[i] > 0.0f : z.v[i] > 0.0;
            const int flip = zo && zr && (zo[i] > 0.0f) != on;
            *near += fabs(z.v[i]) <= z.e[i] && z.e[i] > 0.0;
            *flips += flip;
            d.v[i] = on ? dv : 0.0;
            d.e[i] = flip ? fabs(dv) + de : on ? de : 0.0;
        } else if (act == NN_ACT_SIGMOID) {
            const double q = yv * (1.0 - yv), eq = ye * (fabs(1.0 - 2.0 * yv) + ye);
            d.v[i] = dv * q;
            d.e[i] = de * (q + eq) + fabs(dv) * eq + g3 * (fabs(dv) + de) * (q + eq) + TINY;
        } else if (act == NN_ACT_TANH) {
            const double q = 1.0 - yv * yv, eq = ye * (2.0 * fabs(yv) + ye);
            const double ya = fabs(yv) + ye;
            d.v[i] = dv * q;
            d.e[i] = de * (q + eq) + fabs(dv) * eq + g3 * (fabs(dv) + de) * (ya * ya + q + eq) +
                     TINY;
        } /* identity: unchanged */
    }
}

/* -------------------------------------------------------------- optimizer */

/* (parity_bound.h) At the ends, at g = 0 (where the
 * square root has a kink when c = 0), or where f'(g) = 0, i.e. b c + b eps
 * sqrt(c + d g^2) = a d g; squared, a quadratic in g whose roots (spurious
 * ones only add candidates) are taken when they lie inside. f is flat at
 * its critical points, so their rounding here does not matter. */
void pb_adam_range(double a, double b, double c, double d, double eps, double lo, double hi,
                   double *fmin, double *fmax) {
    double cand[5] = {lo, hi, 0.0, 0.0, 0.0};
    int n = 2;
    if (lo < 0.0 && hi > 0.0) cand[n++] = 0.0;
    const double q2 = d * (a * a * d - b * b * eps * eps), q1 = -2.0 * a * b * c * d,
                 q0 = b * b * c * (c - eps * eps);
    if (q2 != 0.0) {
        const double disc = q1 * q1 - 4.0 * q2 * q0;
        if (disc >= 0.0) {
            const double sq = sqrt(disc);
            const double qq = -0.5 * (q1 + (q1 >= 0.0 ? sq : -sq)); /* no cancellation */
            if (qq != 0.0) cand[n++] = qq / q2;
            if (qq != 0.0) cand[n++] = q0 / qq;
            else cand[n++] = 0.0;
        }
    } else if (q1 != 0.0) {
        cand[n++] = -q0 / q1;
    }
    *fmin = INFINITY;
    *fmax = -INFINITY;
    for (int k = 0; k < n; k++) {
        const double g = cand[k];
        if (!(g >= lo && g <= hi)) continue;
        const double f = (a + b * g) / (sqrt(c + d * g * g) + eps);
        if (f < *fmin) *fmin = f;
        if (f > *fmax) *fmax = f;
    }
}

/* Parameters (and moments) after the update of element i, with bounds. */
static void update_one(const pb_input *in, pb_result *r, size_t i) {
    /* the gradient's bound, widened by far more than the recomputation's own error */
    const double g = r->g.v[i], eg = r->g.e[i] * (1.0 + 0x1p-20);
    const double p0 = in->params[i], lr = in->lr;
    double u, eu; /* the amount subtracted from p, and its bound */
    if (in->opt == NN_OPT_SGD) {
        u = lr * g;
        eu = lr * eg + pb_gamma(1.0) * lr * (fabs(g) + eg) + TINY;
    } else if (in->opt == NN_OPT_MOMENTUM) {
        const double mm = (double)in->momentum * in->opt_m[i];
        const double m = mm + g, em = eg + pb_gamma(2.0) * (fabs(mm) + fabs(g) + eg) + 2 * TINY;
        r->m.v[i] = m;
        r->m.e[i] = em;
        u = lr * m;
        eu = lr * em + pb_gamma(1.0) * lr * (fabs(m) + em) + TINY;
    } else {
        /* 1 - beta as the kernels round them */
        const float ob1f = 1.0f - in->beta1, ob2f = 1.0f - in->beta2;
        const double b1 = in->beta1, b2 = in->beta2, ob1 = ob1f, ob2 = ob2f;
        const double c1 = in->c1, c2 = in->c2, eps = in->eps;
        const double mb = b1 * in->opt_m[i], vb = b2 * in->opt_v[i];
        const double m = mb + ob1 * g;
        const double em = ob1 * eg + pb_gamma(2.0) * (fabs(mb) + ob1 * (fabs(g) + eg)) + 2 * TINY;
        const double ag = fabs(g);
        const double sq_lo = ag <= eg ? 0.0 : (ag - eg) * (ag - eg), sq_hi = (ag + eg) * (ag + eg);
        const double v = vb + ob2 * g * g, rv = pb_gamma(3.0) * (vb + ob2 * sq_hi) + 3 * TINY;
        r->m.v[i] = m;
        r->m.e[i] = em;
        r->v.v[i] = v;
        r->v.e[i] = fmax(v - (vb + ob2 * sq_lo), vb + ob2 * sq_hi - v) + rv;
        /* f(g) = (a + b g) / (sqrt(c + d g^2) + eps) over [g - eg, g + eg] */
        const double a = lr * c1 * mb, b = lr * c1 * ob1, cc = c2 * vb, d = c2 * ob2;
        double lo, hi;
        pb_adam_range(a, b, cc, d, eps, g - eg, g + eg, &lo, &hi);
        /* m's own rounding moves the numerator by up to lr c1 rm, over the
         * smallest denominator of the interval */
        const double g_near = ag <= eg ? 0.0 : ag - eg;
        const double rm = pb_gamma(2.0) * (fabs(mb) + ob1 * (ag + eg)) + 2 * TINY;
        const double widen = lr * c1 * rm / (sqrt(cc + d * g_near * g_near) + eps);
        lo -= widen;
        hi += widen;
        u = lr * c1 * m / (sqrt(c2 * v) + eps);
        eu = fmax(hi - u, u - lo) + 18.0 * U * fmax(fabs(lo), fabs(hi)) + 4 * TINY;
    }
    const double p1 = p0 - u;
    r->p.v[i] = p1;
    r->p.e[i] = eu + U * (fabs(p1) + eu) + TINY;
}

/* ------------------------------------------------------------------- step */

nn_status pb_step(const pb_input *in, pb_result *r, nn_error *err) {
    const nn_model_config *mc = in->mc;
    const size_t L = mc->n_sizes - 1, R = in->rows;
    nn_status st = allocate(in, r, err);
    if (st != NN_OK) return st;
    size_t w_off[NN_MAX_LAYERS], b_off[NN_MAX_LAYERS], off = 0, widest = mc->sizes[0];
    for (size_t l = 0; l < L; l++) {
        w_off[l] = off;
        off += mc->sizes[l] * mc->sizes[l + 1];
        b_off[l] = off;
        off += mc->sizes[l + 1];
        if (mc->sizes[l + 1] > widest) widest = mc->sizes[l + 1];
    }
    /* the inputs in double, and two (R, widest) gradient areas of values and bounds */
    double *x = malloc((R * mc->sizes[0] + 4 * R * widest + 1) * sizeof(double));
    if (!x) {
        pb_free(r);
        return nn_error_set(err, NN_E_NOMEM, "out of memory recomputing a step");
    }
    for (size_t k = 0; k < R * mc->sizes[0]; k++) x[k] = in->x[k];
    double *ws = x + R * mc->sizes[0]; /* (4, R, widest) */
    pb_val buf[2] = {{ws, ws + R * widest}, {ws + 2 * R * widest, ws + 3 * R * widest}};

    const nn_act out_act = nn_loss_output_act(mc->loss);
    for (size_t l = 0; l < L; l++) { /* forward */
        const size_t ni = mc->sizes[l], no = mc->sizes[l + 1];
        const double *iv = l ? r->a[l - 1].v : x, *ie = l ? r->a[l - 1].e : NULL;
        linear(r->z[l], iv, ie, in->params + w_off[l], in->params + b_off[l], R, ni, no);
        const nn_act act = l + 1 == L ? out_act : mc->hidden;
        if (act == NN_ACT_SOFTMAX) softmax(r->a[l], r->z[l], R, no);
        else activate(act, r->a[l], r->z[l], R * no);
    }
    const size_t outs = mc->sizes[L];
    batch_loss(mc->loss, r->z[L - 1], in->t, R, outs, &r->loss, &r->loss_e);

    /* backward */
    const float s = mc->loss == NN_LOSS_MSE ? 2.0f * in->grad_scale / (float)outs : in->grad_scale;
    pb_val dz = buf[0];
    output_delta(dz, r->a[L - 1], in->t, s, R * outs);
    for (size_t l = L; l-- > 0;) {
        const size_t ni = mc->sizes[l], no = mc->sizes[l + 1];
        const double *iv = l ? r->a[l - 1].v : x, *ie = l ? r->a[l - 1].e : NULL;
        weight_grads(r->g.v + w_off[l], r->g.e + w_off[l], r->g.v + b_off[l], r->g.e + b_off[l],
                     iv, ie, dz, R, ni, no);
        if (l == 0) break;
        pb_val da = dz.v == buf[0].v ? buf[1] : buf[0];
        input_grads(da, dz, in->params + w_off[l], R, ni, no);
        const float *zr = in->z_ref ? in->z_ref[l - 1] : NULL;
        const float *zo = in->z_other ? in->z_other[l - 1] : NULL;
        through_activation(mc->hidden, da, r->z[l - 1], r->a[l - 1], zr, zo, R * ni,
                           &r->kink_near[l - 1], &r->kink_flips[l - 1]);
        dz = da;
    }
    free(x);

    for (size_t i = 0; i < r->n_params; i++) update_one(in, r, i);
    return NN_OK;
}
