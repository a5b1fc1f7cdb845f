/* parity_bound.h — one training step recomputed in double on the host, with
 * a bound on the error of any float32 evaluation of it (internal: used by
 * parity_step.c and the tests). The derivation is in parity_bound.c. */
#ifndef NN_PARITY_BOUND_H
#define NN_PARITY_BOUND_H

#include "nn_tools.h"

/* Unit roundoff of float32 (round to nearest). */
#define PB_U 0x1p-24

/* Everything one step depends on, as the trainer passes it to the backend. */
typedef struct pb_input {
    const nn_model_config *mc;
    nn_optimizer opt;
    float lr, momentum, beta1, beta2, eps, c1, c2; /* the update's float arguments */
    float grad_scale;                              /* 1 / rows as the trainer rounds it */
    size_t rows;
    const float *x;      /* (rows, inputs) the batch in step order */
    const float *t;      /* (rows, outputs) its loss targets */
    const float *params; /* (n_params) before the step */
    const float *opt_m;  /* (n_params) momentum / first moment before; NULL for sgd */
    const float *opt_v;  /* (n_params) Adam second moment before; NULL unless adam */
    /* Per layer (rows, out): the pre-activations each backend computed. The
     * recomputation takes ReLU's 0/1 derivative from z_ref's signs and bounds
     * the elements where z_other's sign differs (a kink flip) by the whole
     * |dA|. NULL (or a NULL entry): the exact signs, no flips. */
    const float *const *z_ref;
    const float *const *z_other;
} pb_input;

/* Values (the step in double) and bounds E >= |float32 result - value|, same shape. */
typedef struct pb_val {
    double *v;
    double *e;
} pb_val;

typedef struct pb_result {
    size_t n_layers, n_params, rows;
    pb_val z[NN_MAX_LAYERS]; /* (rows, out_l) pre-activations */
    pb_val a[NN_MAX_LAYERS]; /* (rows, out_l) activations */
    double loss, loss_e;     /* mean loss of the batch */
    pb_val g;                /* (n_params) gradients, in the parameter layout */
    pb_val m, v;             /* (n_params) optimizer moments after the step; NULL when unused */
    pb_val p;                /* (n_params) parameters after the step */
    size_t kink_near[NN_MAX_LAYERS];  /* ReLU pre-activations with |Z| <= E(Z), E(Z) > 0 */
    size_t kink_flips[NN_MAX_LAYERS]; /* z_ref and z_other on different sides of 0 */
    double *slab;            /* the one allocation behind the arrays */
} pb_result;

/* gamma_k = k u / (1 - k u): the bound on |prod (1 + d_i)^(+-1) - 1| for k
 * roundings |d_i| <= u (Higham, Accuracy and Stability, Lemma 3.1). */
double pb_gamma(double k);
/* The minimum and maximum of Adam's update as a function of the gradient,
 * f(g) = (a + b g) / (sqrt(c + d g^2) + eps), over [lo, hi] (b, c, d >= 0,
 * eps > 0). */
void pb_adam_range(double a, double b, double c, double d, double eps, double lo, double hi,
                   double *fmin, double *fmax);
/* Recompute the step of `in` with bounds into *out (allocated; pb_free). */
nn_status pb_step(const pb_input *in, pb_result *out, nn_error *err);
void pb_free(pb_result *r);

#endif
