/* check_options.c — what `nnbench check --help` says (how the verdict is
 * reached and where its tolerance comes from) and the check's own options;
 * the other groups are train_options.c's. */
#include <stddef.h>

#include "experiment.h"

const char CHECK_USAGE[] =
    "usage: nnbench check [options]\n"
    "\n"
    "Trains the same model on cpu and opencl (same initial weights, same batches) and\n"
    "judges opencl by its one-step errors. Every K steps (--check-every) the opencl\n"
    "trainer takes the cpu trainer's state (weights, optimizer moments, position),\n"
    "both take one step on the same batch, and everything the step computed is\n"
    "compared element by element: each layer's pre-activations Z and activations A,\n"
    "the batch loss, dW, db, the optimizer moments m, v and the update\n"
    "w_after - w_before. An element passes when |x_opencl - x_cpu| <= 2 E(x), E(x)\n"
    "a bound on the float32 rounding error of x derived from a double recomputation\n"
    "of the step on the host (both backends are within E of the exact value):\n"
    "  - a K-long dot product errs by at most gamma_K = K u / (1 - K u), u = 2^-24,\n"
    "    times the sum of its terms' magnitudes; K is the layer's input width for Z,\n"
    "    its output width for dA = dZ W^T, the batch rows for dW and db; the errors\n"
    "    of its inputs are carried through every layer, forward and backward, and\n"
    "    through each activation's derivative (its largest value nearby);\n"
    "  - exp, tanh, division and sqrt err within the OpenCL ulp limits (3, 5, 2.5,\n"
    "    3 ulp), every + - * by one rounding;\n"
    "  - ReLU kinks: where the two backends put a pre-activation on different sides\n"
    "    of 0 (a flip, counted and printed) the gradient may differ by all of |dA|;\n"
    "  - Adam: the update is bounded over the whole interval g +- E(g) of each\n"
    "    gradient element, so a gradient smaller than its own rounding bound, whose\n"
    "    update's sign the arithmetic does not determine, is allowed that range.\n"
    "The table shows per layer and quantity the norm-wise difference\n"
    "|x_opencl - x_cpu| / |x_cpu| with the tolerance |2E| / |x_cpu| of the same step,\n"
    "and the worst element as a fraction of its bound (PASS needs every one <= 1).\n"
    "PASS: exit 0. FAIL (exit 1) names the first checked step, layer and quantity out\n"
    "of tolerance, in the order the step computes them (forward, loss, backward from\n"
    "the last layer, update). The two trainers also run freely side by side, for\n"
    "information: where their weights separate (|dw| / |w| > 1e-3) while every\n"
    "one-step error stayed within its bound, the separation is rounding amplified by\n"
    "chaotic training, not a bug. Exit 3 without a usable OpenCL device; --json,\n"
    "--plot, --backend and --no-fallback do not apply.\n"
    "\n";

static const opt_row CHECK_ROWS[] = {
    {.name = "--check-every", .metavar = "K", .kind = OPT_COUNT,
     .offset = offsetof(experiment_options, check_every), .min = 0, .max = 1e15, .def = "0",
     .note = "0 = auto: every step, or at most 1000 checks (fewer for large models)",
     .help = "check one step from the same state every K steps (and the last step)"},
};

const opt_group CHECK_GROUP = OPT_GROUP("check", CHECK_ROWS);
