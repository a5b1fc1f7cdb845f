/* opencl.h — what the rest of the project may use from the OpenCL backend
 * besides its ops table (declared in backend.h): the device inventory shown
 * by `nnbench devices`. Compiled only when NN_HAVE_OPENCL is defined. */
#ifndef NN_OPENCL_H
#define NN_OPENCL_H

#include <stddef.h>

#include "nn.h"

/* One OpenCL platform. */
typedef struct nn_opencl_platform_info {
    size_t index;     /* position in clGetPlatformIDs order */
    char name[128];
    char vendor[128];
    char version[128];
    size_t devices;   /* number of devices it exposes */
} nn_opencl_platform_info;

/* One OpenCL device. */
typedef struct nn_opencl_device_info {
    size_t index;              /* global index over all platforms (what --device takes) */
    size_t platform_index;     /* its platform in nn_opencl_list_platforms order */
    char platform[128];        /* platform name */
    char name[128];            /* device name */
    const char *type;          /* "GPU", "CPU", "ACCELERATOR" or "OTHER" (static string) */
    unsigned compute_units;
    unsigned long long global_mem_bytes;
    size_t max_work_group_size;
    char c_version[64];        /* CL_DEVICE_OPENCL_C_VERSION, e.g. "OpenCL C 1.2 PoCL" */
    int is_auto;               /* 1: the device "auto" would use (first GPU or accelerator) */
    int is_default;            /* 1: the device backend "opencl" opens when none is named */
} nn_opencl_device_info;

/* All platforms, in clGetPlatformIDs order; *out is malloc'ed (free()).
 * NN_E_UNAVAILABLE with the reason when there is no platform. */
nn_status nn_opencl_list_platforms(nn_opencl_platform_info **out, size_t *count, nn_error *err);

/* All devices of all platforms in global index order; *out is malloc'ed
 * (free()). NN_E_UNAVAILABLE with the reason when there is no platform or no
 * device. At most one entry has is_auto set; none when only CPU devices exist. */
nn_status nn_opencl_list_devices(nn_opencl_device_info **out, size_t *count, nn_error *err);

#endif /* NN_OPENCL_H */
