/* parity.c — two backends' training compared: free-running trajectories at
 * a logging point (information), the names and norm-wise summaries of the
 * one-step comparison (parity_step.c), with the tolerances stated once in
 * nn_tools.h. */
#include <math.h>

#include "nn_tools.h"

nn_parity nn_parity_compare(double loss_ref, double loss, const float *w_ref, const float *w,
                            size_t n) {
    nn_parity p = {0};
    p.loss_diff = fabs(loss - loss_ref);
    p.loss_rel = loss_ref != 0 ? p.loss_diff / fabs(loss_ref) : p.loss_diff;
    double d2 = 0.0, r2 = 0.0;
    for (size_t j = 0; j < n; j++) {
        const double d = fabs((double)w[j] - (double)w_ref[j]);
        if (isnan(d) || d > p.weight_diff) p.weight_diff = d; /* a NaN stays */
        if (fabs((double)w_ref[j]) > p.weight_max) p.weight_max = fabs((double)w_ref[j]);
        d2 += d * d;
        r2 += (double)w_ref[j] * (double)w_ref[j];
    }
    p.weight_rel = r2 > 0 ? sqrt(d2 / r2) : sqrt(d2);
    p.separated = !(p.weight_rel <= NN_PARITY_SEPARATION);
    p.ok = p.loss_diff <= NN_PARITY_LOSS_ATOL + NN_PARITY_LOSS_RTOL * fabs(loss_ref) &&
           p.weight_diff <= NN_PARITY_WEIGHT_RTOL * p.weight_max;
    return p;
}

const char *nn_parity_qty_name(nn_parity_qty q) {
    static const char *const NAMES[NN_PQ_COUNT] = {
        [NN_PQ_Z] = "Z", [NN_PQ_A] = "A", [NN_PQ_LOSS] = "loss", [NN_PQ_DW] = "dW",
        [NN_PQ_DB] = "db", [NN_PQ_M] = "m", [NN_PQ_V] = "v", [NN_PQ_UPDATE] = "update",
    };
    return (unsigned)q < NN_PQ_COUNT ? NAMES[q] : "?";
}

double nn_parity_item_rel(const nn_parity_item *it) {
    return it->ref_norm > 0 ? it->diff_norm / it->ref_norm : it->diff_norm;
}

double nn_parity_item_tol(const nn_parity_item *it) {
    return it->ref_norm > 0 ? it->tol_norm / it->ref_norm : it->tol_norm;
}

int nn_parity_item_ok(const nn_parity_item *it) { return it->beyond == 0; }
