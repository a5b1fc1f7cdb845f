/* opencl_none.c — the OpenCL device inventory of a build without OpenCL
 * (nn_tools.h): no platform, saying why. With OpenCL, src/opencl/ has it. */
#include "nn_tools.h"

#ifndef NN_HAVE_OPENCL
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
#else
typedef int nn_opencl_none_is_empty; /* ISO C wants a declaration in every file */
#endif
