/* test_gradcheck.c — backprop gradients of the model against central finite
 * differences of a double-precision reference forward pass. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_impl.h"
#include "testutil.h"

/* Mean loss of an MLP in double: params in the model's layout, x: (rows, in),
 * t: (rows, out). Also returns the smallest |pre-activation| of ReLU layers. */
static double ref_loss(const nn_model_config *c, const double *params, const float *x,
                       const float *t, size_t rows, double *min_relu_z) {
    size_t L = c->n_sizes - 1, maxw = 0;
    for (size_t i = 0; i < c->n_sizes; i++) maxw = c->sizes[i] > maxw ? c->sizes[i] : maxw;
    double *a = malloc(maxw * sizeof(double)), *z = malloc(maxw * sizeof(double));
    double total = 0;
    *min_relu_z = INFINITY;
    for (size_t r = 0; r < rows; r++) {
        for (size_t j = 0; j < c->sizes[0]; j++) a[j] = x[r * c->sizes[0] + j];
        const double *p = params;
        for (size_t l = 0; l < L; l++) {
            size_t in = c->sizes[l], out = c->sizes[l + 1];
            const double *w = p, *b = p + in * out;
            for (size_t o = 0; o < out; o++) {
                double s = b[o];
                for (size_t i = 0; i < in; i++) s += a[i] * w[i * out + o];
                z[o] = s;
            }
            p += in * out + out;
            if (l + 1 < L) {
                for (size_t o = 0; o < out; o++) {
                    if (c->hidden == NN_ACT_RELU) {
                        *min_relu_z = fmin(*min_relu_z, fabs(z[o]));
                        a[o] = z[o] > 0 ? z[o] : 0;
                    } else if (c->hidden == NN_ACT_SIGMOID) a[o] = 1 / (1 + exp(-z[o]));
                    else a[o] = tanh(z[o]);
                }
            }
        }
        size_t out = c->sizes[L];
        const float *tr = t + r * out;
        if (c->loss == NN_LOSS_BCE) {
            double pr = 1 / (1 + exp(-z[0]));
            total += -(tr[0] * log(pr) + (1 - tr[0]) * log(1 - pr));
        } else if (c->loss == NN_LOSS_CE) {
            double mx = -INFINITY, e = 0;
            for (size_t o = 0; o < out; o++) mx = fmax(mx, z[o]);
            for (size_t o = 0; o < out; o++) e += exp(z[o] - mx);
            for (size_t o = 0; o < out; o++) total += -tr[o] * (z[o] - mx - log(e));
        } else {
            double s = 0;
            for (size_t o = 0; o < out; o++) s += (z[o] - tr[o]) * (z[o] - tr[o]);
            total += s / (double)out;
        }
    }
    free(a);
    free(z);
    return total / (double)rows;
}

/* Compare the backend's gradients with central differences for one network. */
static void check_network(const size_t *sizes, size_t n_sizes, nn_act hidden, nn_loss loss) {
    nn_backend *be = tu_open("cpu", 1);
    nn_model_config cfg = {.n_sizes = n_sizes, .hidden = hidden, .loss = loss, .seed = 3};
    memcpy(cfg.sizes, sizes, n_sizes * sizeof(size_t));
    nn_model *m = NULL;
    nn_error err;
    cr_assert_eq(nn_model_create(be, &cfg, &m, &err), NN_OK, "%s", err.msg);
    const size_t rows = 9, in = sizes[0], out = sizes[n_sizes - 1];
    float *x = malloc(rows * in * sizeof(float)), *t = calloc(rows * out, sizeof(float));
    tu_fill_uniform(x, rows * in, 11, -1.5f, 1.5f);
    for (size_t r = 0; r < rows; r++) {
        if (loss == NN_LOSS_CE) t[r * out + r % out] = 1;
        else if (loss == NN_LOSS_BCE) t[r] = (float)(r % 2);
        else for (size_t o = 0; o < out; o++) t[r * out + o] = 0.3f * (float)r - 1.0f;
    }
    /* biases away from zero so that the check also covers them meaningfully */
    size_t np = nn_model_param_count(m);
    float *pf = malloc(np * sizeof(float));
    cr_assert_eq(nn_model_get_params(m, pf, np, &err), NN_OK);
    for (size_t l = 0; l < m->n_layers; l++)
        for (size_t o = 0; o < sizes[l + 1]; o++) pf[m->b_off[l] + o] = 0.1f * (float)((o % 3) + 1);
    cr_assert_eq(nn_model_set_params(m, pf, np, &err), NN_OK);

    nn_buf *xb = tu_upload(be, x, rows * in), *tb = tu_upload(be, t, rows * out);
    cr_assert_eq(model_reserve(m, rows, &err), NN_OK);
    cr_assert_eq(model_forward(m, (nn_view){xb, 0}, rows, &err), NN_OK);
    cr_assert_eq(model_backward(m, (nn_view){xb, 0}, (nn_view){tb, 0}, rows, 1.0f / (float)rows, NULL, NULL, &err), NN_OK);
    float *grad = tu_download(be, (nn_view){m->grads, 0}, np);

    double *p = calloc(np, sizeof(double));
    double min_z = 0;
    cr_assert_not_null(p);
    for (size_t i = 0; i < np; i++) p[i] = pf[i];
    ref_loss(&cfg, p, x, t, rows, &min_z);
    const double h = 1e-5;
    if (hidden == NN_ACT_RELU) cr_assert(min_z > 100 * h, "a ReLU input is too close to 0 (%g)", min_z);
    for (size_t i = 0; i < np; i++) {
        double keep = p[i], zmin;
        p[i] = keep + h;
        double lp = ref_loss(&cfg, p, x, t, rows, &zmin);
        p[i] = keep - h;
        double lm = ref_loss(&cfg, p, x, t, rows, &zmin);
        p[i] = keep;
        double fd = (lp - lm) / (2 * h);
        cr_assert(fabs(grad[i] - fd) <= 2e-4 + 2e-3 * fabs(fd),
                  "%s/%s param %zu: backprop %.8g, finite difference %.8g", nn_act_name(hidden),
                  nn_loss_name(loss), i, grad[i], fd);
    }
    free(x), free(t), free(pf), free(grad), free(p);
    be->ops->release(be, xb), be->ops->release(be, tb);
    nn_model_free(m);
    nn_backend_close(be);
}

Test(gradcheck, relu_bce) { check_network((size_t[]){2, 8, 1}, 3, NN_ACT_RELU, NN_LOSS_BCE); }
Test(gradcheck, sigmoid_bce) { check_network((size_t[]){3, 5, 1}, 3, NN_ACT_SIGMOID, NN_LOSS_BCE); }
Test(gradcheck, tanh_bce) { check_network((size_t[]){3, 5, 1}, 3, NN_ACT_TANH, NN_LOSS_BCE); }
Test(gradcheck, tanh_softmax_ce) { check_network((size_t[]){4, 6, 3}, 3, NN_ACT_TANH, NN_LOSS_CE); }
Test(gradcheck, sigmoid_mse) { check_network((size_t[]){2, 7, 1}, 3, NN_ACT_SIGMOID, NN_LOSS_MSE); }
Test(gradcheck, relu_mse) { check_network((size_t[]){2, 7, 1}, 3, NN_ACT_RELU, NN_LOSS_MSE); }
Test(gradcheck, three_layer_tanh_ce) { check_network((size_t[]){3, 7, 5, 4}, 4, NN_ACT_TANH, NN_LOSS_CE); }
Test(gradcheck, three_layer_relu_bce) { check_network((size_t[]){2, 9, 6, 1}, 4, NN_ACT_RELU, NN_LOSS_BCE); }
Test(gradcheck, three_layer_sigmoid_ce) { check_network((size_t[]){5, 6, 6, 3}, 4, NN_ACT_SIGMOID, NN_LOSS_CE); }
