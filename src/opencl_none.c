/* opencl_none.c — what needs an OpenCL device in a build without OpenCL:
 * the device inventory (nn_tools.h) and the tuner (nn_tune.h) say why they
 * have nothing. With OpenCL, src/opencl/ has them; the tuner's device-free
 * parts are in tune_common.c. */
#ifndef NN_HAVE_OPENCL
#include <string.h>

#include "nn_tools.h"
#include "nn_tune.h"

#define NO_OPENCL "this library was built without OpenCL"

nn_status nn_opencl_list_platforms(nn_opencl_platform_info **out, size_t *count, nn_error *err) {
    *out = NULL;
    *count = 0;
    return nn_error_set(err, NN_E_UNAVAILABLE, NO_OPENCL);
}

nn_status nn_opencl_list_devices(nn_opencl_device_info **out, size_t *count, nn_error *err) {
    *out = NULL;
    *count = 0;
    return nn_error_set(err, NN_E_UNAVAILABLE, NO_OPENCL);
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
typedef int nn_opencl_none_is_empty; /* ISO C wants a declaration in every file */
#endif
