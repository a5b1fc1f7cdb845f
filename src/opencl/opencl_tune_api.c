/* opencl_tune_api.c — the public tuning queries of nn_tune.h that need no
 * search: an open backend's parameters and a device's cache state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opencl/opencl_internal.h"

nn_status nn_tune_backend_params(const nn_backend *be, nn_tune_source *src, char *buf, size_t len,
                                 nn_error *err) {
    if (!be || be->ops != &nn_opencl_ops || !be->ctx)
        return nn_error_set(err, NN_E_INVALID, "tuning parameters: '%s' is not an OpenCL backend",
                            be ? be->name : "(null)");
    const nn_cl_ctx *c = nn_cl_of(be);
    char tmp[2048];
    nn_cl_tune_format(&c->tune, tmp, sizeof tmp);
    if (!buf || strlen(tmp) >= len)
        return nn_error_set(err, NN_E_INVALID, "tuning parameters: %zu bytes needed, %zu given",
                            strlen(tmp) + 1, len);
    memcpy(buf, tmp, strlen(tmp) + 1);
    if (src) *src = c->tune_source;
    return NN_OK;
}

nn_status nn_tune_device_status(size_t device, nn_tune_entry_info *out, nn_error *err) {
    memset(out, 0, sizeof *out);
    nn_cl_device_ref *devs;
    size_t count;
    nn_status st = nn_cl_enumerate(&devs, &count, err);
    if (st != NN_OK) return st;
    if (device >= count) {
        free(devs);
        return nn_error_set(err, NN_E_INVALID, "no OpenCL device %zu (there are %zu)", device,
                            count);
    }
    nn_cl_sources src;
    st = nn_cl_sources_load(&src, err);
    if (st == NN_OK) {
        size_t max_wg = 0;
        if (clGetDeviceInfo(devs[device].device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof max_wg,
                            &max_wg, NULL) != CL_SUCCESS ||
            max_wg == 0)
            max_wg = 1;
        nn_cl_ident id;
        nn_cl_tune t;
        nn_cl_ident_get(devs[device].platform, devs[device].device, src.hash, &id);
        nn_cl_tune_defaults(devs[device].type, max_wg, &t);
        nn_cl_cache_lookup(&id, max_wg, &t, out);
    }
    nn_cl_sources_free(&src);
    free(devs);
    return st;
}

