/* opencl_backend.c — the OpenCL backend's ops table: open/close (device,
 * context, queue, program), buffers and copies, sync and profiling. The
 * compute ops live in opencl_ops.c and opencl_matmul.c. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opencl/opencl_internal.h"

static void cl_close(nn_backend *be);

/* Append one line to be->notes (dropped when it no longer fits). */
static void note(nn_backend *be, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(nn_backend *be, const char *fmt, ...) {
    size_t used = strlen(be->notes);
    if (used + 2 >= sizeof be->notes) return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(be->notes + used + (used ? 1 : 0), sizeof be->notes - used - (used ? 1 : 0),
                      fmt, ap);
    va_end(ap);
    if (w < 0) be->notes[used] = '\0';
    else if (used) be->notes[used] = '\n';
}

/* Length of the first line of s. */
static int first_line(const char *s) { return (int)strcspn(s, "\n"); }

/* Choose c->tune: $NN_OPENCL_TUNE, else the device's cache entry, else the defaults. */
static nn_status choose_tune(nn_backend *be, nn_cl_ctx *c, nn_cl_open_mode mode, nn_error *err) {
    nn_cl_tune_defaults(c->type, c->max_wg, &c->tune);
    c->tune_source = NN_TUNE_FROM_DEFAULTS;
    if (mode == NN_CL_OPEN_DEFAULTS) return nn_cl_tune_validate(&c->tune, c->max_wg, "defaults", err);
    const char *env = getenv("NN_OPENCL_TUNE");
    if (env && *env) {
        c->tune_source = NN_TUNE_FROM_ENV;
        nn_status st = nn_cl_tune_apply(&c->tune, env, c->max_wg, "NN_OPENCL_TUNE", err);
        return st != NN_OK ? st : nn_cl_tune_validate(&c->tune, c->max_wg, "NN_OPENCL_TUNE", err);
    }
    nn_cl_ident id;
    nn_tune_entry_info info;
    nn_cl_ident_get(c->platform, c->device, c->src.hash, &id);
    nn_cl_cache_lookup(&id, c->max_wg, &c->tune, &info);
    if (info.state == NN_TUNE_VALID) c->tune_source = NN_TUNE_FROM_CACHE;
    else if (info.state == NN_TUNE_IGNORED)
        note(be, "OpenCL tuning cache %s: %s; using the default launch parameters", info.path,
             info.detail);
    return nn_cl_tune_validate(&c->tune, c->max_wg, "defaults", err);
}

/* Query the chosen device and set up context, queue, tuning and programs. */
static nn_status setup(nn_backend *be, nn_cl_ctx *c, const nn_backend_config *cfg,
                       nn_cl_open_mode mode, nn_error *err) {
    cl_int rc;
    cl_device_fp_config dfp = 0;
    if (clGetDeviceInfo(c->device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof c->max_wg, &c->max_wg,
                        NULL) ||
        c->max_wg == 0)
        c->max_wg = 1;
    if (clGetDeviceInfo(c->device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof c->max_alloc,
                        &c->max_alloc, NULL))
        c->max_alloc = 0;
    if (clGetDeviceInfo(c->device, CL_DEVICE_DOUBLE_FP_CONFIG, sizeof dfp, &dfp, NULL))
        dfp = 0;
    nn_status st = nn_cl_sources_load(&c->src, err);
    if (st == NN_OK) st = choose_tune(be, c, mode, err);
    if (st != NN_OK) return st;
    c->fp64 = dfp != 0 && c->tune.fp64;
    c->acc_size = c->fp64 ? sizeof(double) : sizeof(float);

    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)c->platform, 0};
    c->context = clCreateContext(props, 1, &c->device, NULL, NULL, &rc);
    if (rc != CL_SUCCESS) {
        c->context = NULL;
        return nn_cl_fail(err, NN_E_UNAVAILABLE, "clCreateContext", NULL, rc);
    }
    c->profiling = cfg->profile != 0;
    c->queue = clCreateCommandQueue(c->context, c->device,
                                    c->profiling ? CL_QUEUE_PROFILING_ENABLE : 0, &rc);
    if (rc != CL_SUCCESS) {
        c->queue = NULL;
        return nn_cl_fail(err, NN_E_UNAVAILABLE, "clCreateCommandQueue", NULL, rc);
    }
    st = nn_cl_programs_build(c, err);
    if (st != NN_OK && c->tune_source == NN_TUNE_FROM_CACHE) {
        /* a valid-looking entry that this device cannot build: fall back */
        char path[1024] = "";
        nn_tune_cache_path(path, sizeof path, NULL);
        note(be,
             "OpenCL tuning cache %s: the tuned launch parameters failed to build (%.*s); "
             "using the default launch parameters",
             path, first_line(err->msg), err->msg);
        nn_cl_tune_defaults(c->type, c->max_wg, &c->tune);
        c->tune_source = NN_TUNE_FROM_DEFAULTS;
        st = nn_cl_programs_build(c, err);
    }
    return st;
}

/* Open the backend be on cfg->device (else $NN_OPENCL_DEVICE, else the
 * default) in `mode`; be->device = "NAME (PLATFORM)", be->threads = 0. */
static nn_status open_mode(nn_backend *be, const nn_backend_config *cfg, nn_cl_open_mode mode,
                           nn_error *err) {
    static const nn_backend_config defaults = {0, NULL, 0};
    if (!cfg) cfg = &defaults;
    nn_cl_ctx *c = calloc(1, sizeof *c);
    if (!c) return nn_error_set(err, NN_E_NOMEM, "out of memory opening the OpenCL backend");
    be->ctx = c;
    be->notes[0] = '\0';

    nn_cl_device_ref *devs;
    size_t count, chosen = 0;
    nn_status st = nn_cl_enumerate(&devs, &count, err);
    if (st != NN_OK) {
        cl_close(be);
        return st;
    }
    const char *spec = cfg->device ? cfg->device : getenv("NN_OPENCL_DEVICE");
    st = nn_cl_choose(devs, count, spec, &chosen, err);
    if (st == NN_OK) {
        c->platform = devs[chosen].platform;
        c->device = devs[chosen].device;
        c->type = devs[chosen].type;
    }
    free(devs);
    if (st == NN_OK) st = setup(be, c, cfg, mode, err);
    if (st != NN_OK) {
        cl_close(be);
        return st;
    }
    char name[128], pf[112];
    nn_cl_device_str(c->device, CL_DEVICE_NAME, name, sizeof name);
    nn_cl_platform_str(c->platform, CL_PLATFORM_NAME, pf, sizeof pf);
    snprintf(be->device, sizeof be->device, "%s (%s)", name, pf);
    snprintf(be->name, sizeof be->name, "opencl");
    be->threads = 0;
    return NN_OK;
}

/* ops.open: open_mode with $NN_OPENCL_TUNE, else the tuning cache, else the defaults. */
static nn_status cl_open(nn_backend *be, const nn_backend_config *cfg, nn_error *err) {
    return open_mode(be, cfg, NN_CL_OPEN_NORMAL, err);
}

nn_status nn_cl_open_backend(const char *device, nn_cl_open_mode mode, nn_backend **out,
                             nn_error *err) {
    *out = NULL;
    nn_backend *be = calloc(1, sizeof *be);
    if (!be) return nn_error_set(err, NN_E_NOMEM, "out of memory opening the OpenCL backend");
    be->ops = &nn_opencl_ops;
    nn_backend_config cfg = {0, device, 0};
    nn_status st = open_mode(be, &cfg, mode, err);
    if (st != NN_OK) {
        free(be);
        return st;
    }
    *out = be;
    return NN_OK;
}

/* ops.close: wait for queued work, then release everything the backend owns. */
static void cl_close(nn_backend *be) {
    nn_cl_ctx *c = nn_cl_of(be);
    if (!c) return;
    if (c->queue) clFinish(c->queue);
    nn_cl_harvest(c);
    for (int i = 0; i < NN_SCRATCH_COUNT; i++)
        if (c->scratch[i]) clReleaseMemObject(c->scratch[i]);
    nn_cl_programs_release(c);
    nn_cl_sources_free(&c->src);
    free(c->build_log);
    if (c->queue) clReleaseCommandQueue(c->queue);
    if (c->context) clReleaseContext(c->context);
    free(c->pending);
    free(c->pending_transfer);
    free(c);
    be->ctx = NULL;
}

/* ops.alloc: one cl_mem of max(count, 1) floats (contents undefined). */
static nn_status cl_alloc(nn_backend *be, size_t count, nn_buf **out, nn_error *err) {
    nn_cl_ctx *c = nn_cl_of(be);
    *out = NULL;
    size_t elems = count ? count : 1; /* no zero-size cl_mem */
    if (elems > SIZE_MAX / sizeof(float))
        return nn_error_set(err, NN_E_NOMEM, "buffer of %zu elements is too large", count);
    size_t bytes = elems * sizeof(float);
    if (c->max_alloc && bytes > c->max_alloc)
        return nn_error_set(err, NN_E_NOMEM,
                            "buffer of %zu bytes exceeds the device's largest allocation "
                            "(%llu bytes)",
                            bytes, (unsigned long long)c->max_alloc);
    nn_buf *b = malloc(sizeof *b);
    if (!b) return nn_error_set(err, NN_E_NOMEM, "out of memory allocating a buffer");
    cl_int rc;
    b->mem = clCreateBuffer(c->context, CL_MEM_READ_WRITE, bytes, NULL, &rc);
    if (rc != CL_SUCCESS) {
        free(b);
        return nn_cl_fail(err, nn_cl_status_for(rc, NN_E_NOMEM), "clCreateBuffer", NULL, rc);
    }
    b->count = count;
    *out = b;
    return NN_OK;
}

/* ops.release: drop the buffer (OpenCL keeps it alive for queued kernels). */
static void cl_release(nn_backend *be, nn_buf *b) {
    (void)be;
    if (!b) return;
    clReleaseMemObject(b->mem);
    free(b);
}

/* ops.write: blocking host -> device copy of count elements. */
static nn_status cl_write(nn_backend *be, nn_view dst, const void *src, size_t count,
                          nn_error *err) {
    nn_cl_ctx *c = nn_cl_of(be);
    nn_status st = nn_cl_check_view(dst, count, "write", "dst", err);
    if (st != NN_OK || count == 0) return st;
    cl_event ev = NULL;
    cl_int rc = clEnqueueWriteBuffer(c->queue, dst.buf->mem, CL_TRUE, dst.off * sizeof(float),
                                     count * sizeof(float), src, 0, NULL,
                                     c->profiling ? &ev : NULL);
    if (rc != CL_SUCCESS)
        return nn_cl_fail(err, nn_cl_status_for(rc, NN_E_BACKEND), "clEnqueueWriteBuffer", NULL,
                          rc);
    if (ev) nn_cl_track(c, ev, 1);
    return NN_OK;
}

/* ops.read: blocking device -> host copy of count elements. */
static nn_status cl_read(nn_backend *be, nn_view src, void *dst, size_t count, nn_error *err) {
    nn_cl_ctx *c = nn_cl_of(be);
    nn_status st = nn_cl_check_view(src, count, "read", "src", err);
    if (st != NN_OK || count == 0) return st;
    cl_event ev = NULL;
    cl_int rc = clEnqueueReadBuffer(c->queue, src.buf->mem, CL_TRUE, src.off * sizeof(float),
                                    count * sizeof(float), dst, 0, NULL,
                                    c->profiling ? &ev : NULL);
    if (rc != CL_SUCCESS)
        return nn_cl_fail(err, nn_cl_status_for(rc, NN_E_BACKEND), "clEnqueueReadBuffer", NULL,
                          rc);
    if (ev) nn_cl_track(c, ev, 1);
    return NN_OK;
}

/* ops.fill: dst[0..count) = value, enqueued. */
static nn_status cl_fill(nn_backend *be, nn_view dst, float value, size_t count, nn_error *err) {
    nn_cl_ctx *c = nn_cl_of(be);
    nn_status st = nn_cl_check_view(dst, count, "fill", "dst", err);
    if (st != NN_OK || count == 0) return st;
    nn_cl_call k = nn_cl_begin(c, NN_K_FILL);
    nn_cl_arg_view(&k, dst); /* dst: (count) */
    nn_cl_arg_f32(&k, value);
    nn_cl_arg_u64(&k, count);
    return nn_cl_launch_1d(c, &k, count, err);
}

/* ops.sync: wait for all queued work and collect its profile. */
static nn_status cl_sync(nn_backend *be, nn_error *err) {
    nn_cl_ctx *c = nn_cl_of(be);
    cl_int rc = clFinish(c->queue);
    if (rc != CL_SUCCESS) return nn_cl_fail(err, NN_E_BACKEND, "clFinish", NULL, rc);
    nn_cl_harvest(c);
    return NN_OK;
}

/* Totals so far; waits for queued work so that its times are included. The
 * backend is const for the caller, but collecting event times updates ctx. */
static void cl_profile(const nn_backend *be, nn_profile *p) {
    nn_cl_ctx *c = nn_cl_of(be);
    if (c->profiling) {
        clFinish(c->queue);
        nn_cl_harvest(c);
    }
    *p = c->prof;
}

const struct nn_backend_ops nn_opencl_ops = {
    .name = "opencl",
    .open = cl_open,
    .close = cl_close,
    .alloc = cl_alloc,
    .release = cl_release,
    .write = cl_write,
    .read = cl_read,
    .fill = cl_fill,
    .matmul = nn_cl_matmul,
    .bias_add = nn_cl_bias_add,
    .act_forward = nn_cl_act_forward,
    .act_backward = nn_cl_act_backward,
    .loss_sum = nn_cl_loss_sum,
    .loss_grad = nn_cl_loss_grad,
    .col_sum = nn_cl_col_sum,
    .gather_rows = nn_cl_gather_rows,
    .update = nn_cl_update,
    .bias_act = nn_cl_bias_act,
    .act_backward_sum = nn_cl_act_backward_sum,
    .loss_grad_sum = nn_cl_loss_grad_sum,
    .sync = cl_sync,
    .profile = cl_profile,
};
