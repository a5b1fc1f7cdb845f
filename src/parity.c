/* parity.c — one logging point of two backends' training compared, with the
 * tolerances stated once in nn_tools.h. */
#include <math.h>

#include "nn_tools.h"

nn_parity nn_parity_compare(double loss_ref, double loss, const float *w_ref, const float *w,
                            size_t n) {
    nn_parity p = {0};
    p.loss_diff = fabs(loss - loss_ref);
    p.loss_rel = loss_ref != 0 ? p.loss_diff / fabs(loss_ref) : p.loss_diff;
    for (size_t j = 0; j < n; j++) {
        const double d = fabs((double)w[j] - (double)w_ref[j]);
        if (isnan(d) || d > p.weight_diff) p.weight_diff = d; /* a NaN stays */
        if (fabs((double)w_ref[j]) > p.weight_max) p.weight_max = fabs((double)w_ref[j]);
    }
    p.ok = p.loss_diff <= NN_PARITY_LOSS_ATOL + NN_PARITY_LOSS_RTOL * fabs(loss_ref) &&
           p.weight_diff <= NN_PARITY_WEIGHT_RTOL * p.weight_max;
    return p;
}
