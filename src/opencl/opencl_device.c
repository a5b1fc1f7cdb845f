/* opencl_device.c — platform and device enumeration, device choice, and the
 * inventory for `nnbench devices`. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opencl/opencl_internal.h"

void nn_cl_device_str(cl_device_id dev, cl_device_info what, char *buf, size_t len) {
    if (!len) return;
    buf[0] = '\0';
    if (clGetDeviceInfo(dev, what, len, buf, NULL) != CL_SUCCESS) buf[0] = '\0';
    buf[len - 1] = '\0';
}

void nn_cl_platform_str(cl_platform_id pf, cl_platform_info what, char *buf, size_t len) {
    if (!len) return;
    buf[0] = '\0';
    if (clGetPlatformInfo(pf, what, len, buf, NULL) != CL_SUCCESS) buf[0] = '\0';
    buf[len - 1] = '\0';
}

/* The platforms in clGetPlatformIDs order; *out malloc'ed. NN_E_UNAVAILABLE when none. */
static nn_status get_platforms(cl_platform_id **out, cl_uint *count, nn_error *err) {
    *out = NULL;
    *count = 0;
    cl_uint n = 0;
    cl_int rc = clGetPlatformIDs(0, NULL, &n);
    if (rc != CL_SUCCESS || n == 0)
        return nn_error_set(err, NN_E_UNAVAILABLE,
                            "no OpenCL platform found (clGetPlatformIDs: %s)",
                            rc == CL_SUCCESS ? "0 platforms" : nn_cl_error_name(rc));
    cl_platform_id *p = malloc(n * sizeof *p);
    if (!p) return nn_error_set(err, NN_E_NOMEM, "out of memory listing OpenCL platforms");
    rc = clGetPlatformIDs(n, p, &n);
    if (rc != CL_SUCCESS) {
        free(p);
        return nn_cl_fail(err, NN_E_UNAVAILABLE, "clGetPlatformIDs", NULL, rc);
    }
    *out = p;
    *count = n;
    return NN_OK;
}

/* Devices of platform pf (any type); *out malloc'ed, NULL with 0 when it has none. */
static nn_status get_devices(cl_platform_id pf, cl_device_id **out, cl_uint *count,
                             nn_error *err) {
    *out = NULL;
    *count = 0;
    cl_uint n = 0;
    cl_int rc = clGetDeviceIDs(pf, CL_DEVICE_TYPE_ALL, 0, NULL, &n);
    if (rc == CL_DEVICE_NOT_FOUND || (rc == CL_SUCCESS && n == 0)) return NN_OK;
    if (rc != CL_SUCCESS) return nn_cl_fail(err, NN_E_UNAVAILABLE, "clGetDeviceIDs", NULL, rc);
    cl_device_id *d = malloc(n * sizeof *d);
    if (!d) return nn_error_set(err, NN_E_NOMEM, "out of memory listing OpenCL devices");
    rc = clGetDeviceIDs(pf, CL_DEVICE_TYPE_ALL, n, d, &n);
    if (rc != CL_SUCCESS) {
        free(d);
        return nn_cl_fail(err, NN_E_UNAVAILABLE, "clGetDeviceIDs", NULL, rc);
    }
    *out = d;
    *count = n;
    return NN_OK;
}

nn_status nn_cl_enumerate(nn_cl_device_ref **out, size_t *count, nn_error *err) {
    *out = NULL;
    *count = 0;
    cl_platform_id *pfs;
    cl_uint npf;
    nn_status st = get_platforms(&pfs, &npf, err);
    if (st != NN_OK) return st;
    nn_cl_device_ref *refs = NULL; /* (total) */
    size_t total = 0;
    for (cl_uint p = 0; p < npf && st == NN_OK; p++) {
        cl_device_id *devs;
        cl_uint nd;
        st = get_devices(pfs[p], &devs, &nd, err);
        if (st != NN_OK || nd == 0) continue;
        nn_cl_device_ref *grown = realloc(refs, (total + nd) * sizeof *refs);
        if (!grown) {
            st = nn_error_set(err, NN_E_NOMEM, "out of memory listing OpenCL devices");
        } else {
            refs = grown;
            for (cl_uint d = 0; d < nd; d++) {
                nn_cl_device_ref *r = &refs[total++];
                r->platform = pfs[p];
                r->device = devs[d];
                r->platform_index = p;
                if (clGetDeviceInfo(devs[d], CL_DEVICE_TYPE, sizeof r->type, &r->type, NULL) !=
                    CL_SUCCESS)
                    r->type = 0;
            }
        }
        free(devs);
    }
    free(pfs);
    if (st == NN_OK && total == 0)
        st = nn_error_set(err, NN_E_UNAVAILABLE, "no OpenCL device found on %u platform%s",
                          (unsigned)npf, npf == 1 ? "" : "s");
    if (st != NN_OK) {
        free(refs);
        return st;
    }
    *out = refs;
    *count = total;
    return NN_OK;
}

/* 1 for the device types that "auto" prefers: GPUs and accelerators. */
static int is_gpu_like(cl_device_type t) {
    return (t & (CL_DEVICE_TYPE_GPU | CL_DEVICE_TYPE_ACCELERATOR)) != 0;
}

/* Index of the first GPU or accelerator, or count when there is none. */
static size_t first_gpu(const nn_cl_device_ref *devs, size_t count) {
    for (size_t i = 0; i < count; i++)
        if (is_gpu_like(devs[i].type)) return i;
    return count;
}

/* 1 if `needle` occurs in `hay`, ignoring case. */
static int contains_nocase(const char *hay, const char *needle) {
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] &&
               tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n) return 1;
    }
    return n == 0;
}

/* "GPU", "ACCELERATOR", "CPU" or "OTHER". */
static const char *type_name(cl_device_type t) {
    if (t & CL_DEVICE_TYPE_GPU) return "GPU";
    if (t & CL_DEVICE_TYPE_ACCELERATOR) return "ACCELERATOR";
    if (t & CL_DEVICE_TYPE_CPU) return "CPU";
    return "OTHER";
}

/* Append "i: NAME (TYPE, PLATFORM)" for every device to buf. */
static void describe_all(const nn_cl_device_ref *devs, size_t count, char *buf, size_t len) {
    size_t used = strlen(buf);
    for (size_t i = 0; i < count && used + 1 < len; i++) {
        char name[128], pf[128];
        nn_cl_device_str(devs[i].device, CL_DEVICE_NAME, name, sizeof name);
        nn_cl_platform_str(devs[i].platform, CL_PLATFORM_NAME, pf, sizeof pf);
        int w = snprintf(buf + used, len - used, "%s%zu: %s (%s, %s)", i ? "; " : "", i, name,
                         type_name(devs[i].type), pf);
        if (w < 0) break;
        used += (size_t)w;
    }
}

nn_status nn_cl_choose(const nn_cl_device_ref *devs, size_t count, const char *spec,
                       size_t *chosen, nn_error *err) {
    if (!spec || !*spec || strcmp(spec, "auto") == 0) {
        size_t g = first_gpu(devs, count);
        *chosen = g < count ? g : 0;
        return NN_OK;
    }
    size_t digits = strspn(spec, "0123456789");
    if (digits == strlen(spec) && digits < 10) {
        size_t idx = (size_t)strtoul(spec, NULL, 10);
        if (idx < count) {
            *chosen = idx;
            return NN_OK;
        }
    } else {
        for (int pass = 0; pass < 2; pass++) /* device names first, then platform names */
            for (size_t i = 0; i < count; i++) {
                char name[128];
                if (pass == 0)
                    nn_cl_device_str(devs[i].device, CL_DEVICE_NAME, name, sizeof name);
                else
                    nn_cl_platform_str(devs[i].platform, CL_PLATFORM_NAME, name, sizeof name);
                if (contains_nocase(name, spec)) {
                    *chosen = i;
                    return NN_OK;
                }
            }
    }
    char list[2048] = "";
    describe_all(devs, count, list, sizeof list);
    return nn_error_set(err, NN_E_INVALID,
                        "no OpenCL device matches '%s' (an index or a name substring); "
                        "devices: %s",
                        spec, list);
}

int nn_opencl_has_gpu(void) {
    nn_cl_device_ref *devs;
    size_t count;
    if (nn_cl_enumerate(&devs, &count, NULL) != NN_OK) return 0;
    int found = first_gpu(devs, count) < count;
    free(devs);
    return found;
}

nn_status nn_opencl_list_platforms(nn_opencl_platform_info **out, size_t *count, nn_error *err) {
    *out = NULL;
    *count = 0;
    cl_platform_id *pfs;
    cl_uint npf;
    nn_status st = get_platforms(&pfs, &npf, err);
    if (st != NN_OK) return st;
    nn_opencl_platform_info *info = calloc(npf, sizeof *info); /* (npf) */
    if (!info) {
        free(pfs);
        return nn_error_set(err, NN_E_NOMEM, "out of memory listing OpenCL platforms");
    }
    for (cl_uint p = 0; p < npf; p++) {
        info[p].index = p;
        nn_cl_platform_str(pfs[p], CL_PLATFORM_NAME, info[p].name, sizeof info[p].name);
        nn_cl_platform_str(pfs[p], CL_PLATFORM_VENDOR, info[p].vendor, sizeof info[p].vendor);
        nn_cl_platform_str(pfs[p], CL_PLATFORM_VERSION, info[p].version, sizeof info[p].version);
        cl_uint nd = 0;
        if (clGetDeviceIDs(pfs[p], CL_DEVICE_TYPE_ALL, 0, NULL, &nd) != CL_SUCCESS) nd = 0;
        info[p].devices = nd;
    }
    free(pfs);
    *out = info;
    *count = npf;
    return NN_OK;
}

nn_status nn_opencl_list_devices(nn_opencl_device_info **out, size_t *count, nn_error *err) {
    *out = NULL;
    *count = 0;
    nn_cl_device_ref *devs;
    size_t n;
    nn_status st = nn_cl_enumerate(&devs, &n, err);
    if (st != NN_OK) return st;
    nn_opencl_device_info *info = calloc(n, sizeof *info); /* (n) */
    if (!info) {
        free(devs);
        return nn_error_set(err, NN_E_NOMEM, "out of memory listing OpenCL devices");
    }
    size_t gpu = first_gpu(devs, n), dflt = 0;
    nn_cl_choose(devs, n, NULL, &dflt, NULL);
    for (size_t i = 0; i < n; i++) {
        nn_opencl_device_info *d = &info[i];
        cl_uint cu = 0;
        cl_ulong mem = 0;
        size_t wg = 0;
        d->index = i;
        d->platform_index = devs[i].platform_index;
        nn_cl_platform_str(devs[i].platform, CL_PLATFORM_NAME, d->platform, sizeof d->platform);
        nn_cl_device_str(devs[i].device, CL_DEVICE_NAME, d->name, sizeof d->name);
        nn_cl_device_str(devs[i].device, CL_DEVICE_OPENCL_C_VERSION, d->c_version,
                         sizeof d->c_version);
        d->type = type_name(devs[i].type);
        if (clGetDeviceInfo(devs[i].device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cu, &cu, NULL))
            cu = 0;
        if (clGetDeviceInfo(devs[i].device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof mem, &mem, NULL))
            mem = 0;
        if (clGetDeviceInfo(devs[i].device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof wg, &wg, NULL))
            wg = 0;
        d->compute_units = cu;
        d->global_mem_bytes = mem;
        d->max_work_group_size = wg;
        d->is_auto = i == gpu;
        d->is_default = i == dflt;
    }
    free(devs);
    *out = info;
    *count = n;
    return NN_OK;
}
