/* check.h — the parts of `nnbench check`: cmd_check.c runs the trainers,
 * check_report.c gathers the one-step comparisons and prints the results. */
#ifndef NNBENCH_CHECK_H
#define NNBENCH_CHECK_H

#include "experiment.h"
#include "nn_tools.h"

/* One quantity of one layer over every checked step. */
typedef struct check_qty {
    uint64_t elements;  /* per step */
    double rel, tol;    /* norm-wise difference and tolerance at the step where rel/tol peaked */
    double ratio;       /* that peak rel / tol */
    double worst;       /* worst element over all steps, as a fraction of its bound */
    uint64_t beyond;    /* elements beyond their bound, summed over the steps */
    uint64_t bad_steps; /* steps where this quantity was out of tolerance */
    double dev_cpu;     /* max |x_cpu - x_double| / E over all steps */
    double dev_ocl;     /* max |x_opencl - x_double| / E */
    int seen;
} check_qty;

/* The one-step comparisons of a run. */
typedef struct check_summary {
    size_t n_layers;
    uint64_t checked, failed; /* steps checked, steps out of tolerance */
    nn_parity_step first_bad; /* the first step out of tolerance (when failed > 0) */
    check_qty q[NN_MAX_LAYERS][NN_PQ_COUNT];
    uint64_t kink_near[NN_MAX_LAYERS], kink_flips[NN_MAX_LAYERS];
} check_summary;

/* Add one checked step. */
void check_summary_add(check_summary *s, const nn_parity_step *p);
/* The table of one-step errors. */
void check_print_steps(const check_summary *s, const nn_model_config *mc, const char *plan);
/* The line naming the first step, layer and quantity out of tolerance. */
void check_print_failure(const check_summary *s, const nn_model_config *mc,
                         uint64_t steps_per_epoch);

#endif
