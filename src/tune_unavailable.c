/* tune_unavailable.c — nn_tune.h without OpenCL: NN_E_UNAVAILABLE from
 * everything that needs a device (the shape classes and the cache path are in tune_common.c). */
#ifndef NN_HAVE_OPENCL
#include <string.h>

#include "nn_tune.h"

#define NO_OPENCL "this build of nnbench has no OpenCL support"

nn_tune_options nn_tune_options_default(void) {
    nn_tune_options o;
    memset(&o, 0, sizeof o);
    o.save = 1;
    return o;
}

nn_status nn_tune_run(const nn_tune_options *opt, nn_tune_report *rep, nn_error *err) {
    (void)opt;
    if (rep) memset(rep, 0, sizeof *rep);
    return nn_error_set(err, NN_E_UNAVAILABLE, NO_OPENCL);
}

nn_status nn_tune_device_status(size_t device, nn_tune_entry_info *out, nn_error *err) {
    (void)device;
    memset(out, 0, sizeof *out);
    return nn_error_set(err, NN_E_UNAVAILABLE, NO_OPENCL);
}

nn_status nn_tune_backend_params(const nn_backend *be, nn_tune_source *src, char *buf, size_t len,
                                 nn_error *err) {
    (void)be;
    (void)src;
    if (buf && len) buf[0] = '\0';
    return nn_error_set(err, NN_E_UNAVAILABLE, NO_OPENCL);
}
#else
typedef int nn_tune_unavailable_unused; /* ISO C: no empty translation unit */
#endif
