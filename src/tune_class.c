/* tune_class.c — the matrix-product shape classes of nn_tune.h (plain
 * arithmetic, with or without OpenCL). */
#include "nn_tune.h"

nn_tune_class nn_tune_shape_class(size_t m, size_t n, size_t k) {
    const double v = (double)m * (double)n * (double)k;
    if (v <= 131072.0) return NN_TUNE_SMALL; /* 2^17 */
    if (m < 32 || n < 32 || k < 32) return NN_TUNE_SKINNY;
    if (v < 16777216.0) return NN_TUNE_MEDIUM; /* 256^3 */
    return NN_TUNE_LARGE;
}

const char *nn_tune_class_name(nn_tune_class c) {
    static const char *const N[NN_TUNE_CLASSES] = {"small", "skinny", "medium", "large"};
    return (unsigned)c < NN_TUNE_CLASSES ? N[c] : "?";
}
