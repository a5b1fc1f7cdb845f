/* tune_common.c — the parts of nn_tune.h that need no device, with or
 * without OpenCL: the options' defaults, the matrix-product shape classes and
 * the cache path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_tune.h"

#define CACHE_FILE "opencl-tune.txt"

nn_tune_options nn_tune_options_default(void) {
    nn_tune_options o;
    memset(&o, 0, sizeof o);
    o.save = 1;
    return o;
}

nn_tune_class nn_tune_shape_class(size_t m, size_t n, size_t k) {
    const double v = (double)m * (double)n * (double)k;
    if (v <= 131072.0) return NN_TUNE_SMALL; /* 2^17 */
    if (n < 16) return NN_TUNE_NARROW;
    if (m < 32 || n < 32 || k < 32) return NN_TUNE_SKINNY;
    if (v < 16777216.0) return NN_TUNE_MEDIUM; /* 256^3 */
    return NN_TUNE_LARGE;
}

const char *nn_tune_class_name(nn_tune_class c) {
    static const char *const N[NN_TUNE_CLASSES] = {"small", "narrow", "skinny", "medium",
                                                              "large"};
    return (unsigned)c < NN_TUNE_CLASSES ? N[c] : "?";
}

nn_status nn_tune_cache_path(char *buf, size_t len, nn_error *err) {
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    int w;
    if (xdg && xdg[0] == '/') /* the XDG spec: a relative path is invalid and ignored */
        w = snprintf(buf, len, "%s/nnbench/%s", xdg, CACHE_FILE);
    else if (home && *home)
        w = snprintf(buf, len, "%s/.cache/nnbench/%s", home, CACHE_FILE);
    else
        return nn_error_set(err, NN_E_UNAVAILABLE,
                            "no cache folder: neither XDG_CACHE_HOME (absolute) nor HOME is set");
    if (w < 0 || (size_t)w >= len)
        return nn_error_set(err, NN_E_INVALID, "the cache path does not fit in %zu bytes", len);
    return NN_OK;
}
