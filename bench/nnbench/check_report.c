/* check_report.c — the one-step comparisons of `nnbench check` gathered over
 * the checked steps, the table of them and the line naming a failure. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

void check_summary_add(check_summary *s, const nn_parity_step *p) {
    s->n_layers = p->n_layers;
    s->checked++;
    if (!p->ok && s->failed++ == 0) s->first_bad = *p;
    for (size_t l = 0; l < p->n_layers; l++) {
        for (int q = 0; q < NN_PQ_COUNT; q++) {
            const nn_parity_item *it = &p->item[l][q];
            if (!it->n) continue;
            check_qty *c = &s->q[l][q];
            const double rel = nn_parity_item_rel(it), tol = nn_parity_item_tol(it);
            double ratio = tol > 0 ? rel / tol : rel > 0 ? INFINITY : 0.0;
            if (isnan(ratio)) ratio = INFINITY;
            if (!c->seen || ratio > c->ratio) {
                c->ratio = ratio;
                c->rel = rel;
                c->tol = tol;
            }
            if (!c->seen || it->worst > c->worst) c->worst = it->worst;
            if (!c->seen || it->dev_ref > c->dev_cpu) c->dev_cpu = it->dev_ref;
            if (!c->seen || it->dev_other > c->dev_ocl) c->dev_ocl = it->dev_other;
            c->seen = 1;
            c->elements = it->n;
            c->beyond += it->beyond;
            c->bad_steps += !nn_parity_item_ok(it);
        }
        s->kink_near[l] += p->kink_near[l];
        s->kink_flips[l] += p->kink_flips[l];
    }
}

static void print_row(size_t layer, nn_parity_qty q, const check_qty *c) {
    printf("  %5zu %-7s %9llu %9.2e %9.2e %8.3g %7llu %6llu %8.3g %8.3g\n", layer + 1,
           nn_parity_qty_name(q), (unsigned long long)c->elements, c->rel, c->tol, c->worst,
           (unsigned long long)c->beyond, (unsigned long long)c->bad_steps, c->dev_cpu,
           c->dev_ocl);
}

void check_print_steps(const check_summary *s, const nn_model_config *mc, const char *plan) {
    printf("one-step errors (opencl from the cpu's state, one step each): %s\n", plan);
    printf("  %5s %-7s %9s %9s %9s %8s %7s %6s %8s %8s\n", "layer", "qty", "elements",
           "|dx|/|x|", "tol", "worst", "beyond", "steps", "cpu/E", "opencl/E");
    const nn_parity_qty order[] = {NN_PQ_Z, NN_PQ_A,    NN_PQ_LOSS, NN_PQ_DW,
                                   NN_PQ_DB, NN_PQ_M, NN_PQ_V, NN_PQ_UPDATE};
    for (size_t l = 0; l < s->n_layers; l++)
        for (size_t k = 0; k < sizeof order / sizeof order[0]; k++)
            if (s->q[l][order[k]].seen) print_row(l, order[k], &s->q[l][order[k]]);
    printf("  E: the float32 rounding bound of each element (see --help). |dx|/|x|: "
           "|x_opencl - x_cpu|\n  / |x_cpu| and tol: |2E| / |x_cpu|, at the step where their "
           "ratio peaked. worst: the\n  largest |x_opencl - x_cpu| / 2E of any element (PASS "
           "needs <= 1); beyond: elements\n  over 2E, summed over the steps; steps: steps with "
           "any; cpu/E, opencl/E: the largest\n  distance of each backend from the double "
           "recomputation, in units of E\n");
    if (mc->hidden != NN_ACT_RELU || s->n_layers < 2) return;
    uint64_t near = 0, flips = 0;
    for (size_t l = 0; l + 1 < s->n_layers; l++) {
        near += s->kink_near[l];
        flips += s->kink_flips[l];
    }
    printf("  relu kinks: %llu pre-activations within their rounding bound of 0, %llu put on "
           "different\n  sides of 0 by the two backends (flips, each allowed its whole gradient)",
           (unsigned long long)near, (unsigned long long)flips);
    for (size_t l = 0; l + 1 < s->n_layers; l++)
        printf("%s layer %zu: %llu/%llu", l ? "," : ";", l + 1,
               (unsigned long long)s->kink_near[l], (unsigned long long)s->kink_flips[l]);
    printf("\n");
}

/* Where element i of quantity q of a layer (in -> out units) is. */
static void element_str(nn_parity_qty q, size_t i, size_t in, size_t out, char *buf,
                        size_t len) {
    switch (q) {
    case NN_PQ_Z:
    case NN_PQ_A: snprintf(buf, len, "batch row %zu, unit %zu", i / out, i % out); break;
    case NN_PQ_DW: snprintf(buf, len, "W[%zu][%zu]", i / out, i % out); break;
    case NN_PQ_DB: snprintf(buf, len, "b[%zu]", i); break;
    case NN_PQ_LOSS: snprintf(buf, len, "the batch mean"); break;
    default:
        if (i < in * out) snprintf(buf, len, "W[%zu][%zu]", i / out, i % out);
        else snprintf(buf, len, "b[%zu]", i - in * out);
        break;
    }
}

void check_print_failure(const check_summary *s, const nn_model_config *mc,
                         uint64_t steps_per_epoch) {
    const nn_parity_step *p = &s->first_bad;
    const size_t l = (size_t)p->bad_layer;
    const nn_parity_item *it = &p->item[l][p->bad_qty];
    char where[96];
    element_str(p->bad_qty, it->worst_index, mc->sizes[l], mc->sizes[l + 1], where, sizeof where);
    printf("FAIL: layer %zu %s out of tolerance at step %llu (epoch %d, batch %llu of %llu, %zu "
           "rows)\n", l + 1, nn_parity_qty_name(p->bad_qty), (unsigned long long)p->step,
           p->epoch, (unsigned long long)p->epoch_step + 1,
           (unsigned long long)steps_per_epoch, p->rows);
    printf("  |dx|/|x| %.3g > tolerance %.3g", nn_parity_item_rel(it), nn_parity_item_tol(it));
    if (p->bad_qty == NN_PQ_LOSS)
        printf(" (loss cpu %.9g, opencl %.9g, double %.9g)", p->loss_ref, p->loss, p->loss_exact);
    printf(";\n  %zu of %zu elements beyond their bound, the worst (%s) by %.3g times it\n",
           it->beyond, it->n, where, it->worst);
    printf("  off the double recomputation: opencl by up to %.3g times its bound E, cpu %.3g\n",
           it->dev_other, it->dev_ref);
    printf("  steps out of tolerance: %llu of %llu checked\n", (unsigned long long)s->failed,
           (unsigned long long)s->checked);
}
