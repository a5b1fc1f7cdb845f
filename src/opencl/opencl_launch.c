/* opencl_launch.c — kernel arguments and launches, scratch buffers, event
 * profiling, and the argument checks shared by the ops. */
#include <limits.h>
#include <stdlib.h>

#include "opencl/opencl_internal.h"

nn_cl_call nn_cl_begin_in(const nn_cl_prog *p, nn_cl_kernel_id id) {
    nn_cl_call k = {id, p->k[id], p->max_wg[id], 0, CL_SUCCESS};
    return k;
}

nn_cl_call nn_cl_begin(nn_cl_ctx *c, nn_cl_kernel_id id) {
    return nn_cl_begin_in(nn_cl_unit_of(id) == NN_UNIT_REDUCE ? &c->reduce : &c->main, id);
}

/* Set the next argument of k from `size` bytes at `value`, unless an earlier one failed. */
static void set_arg(nn_cl_call *k, size_t size, const void *value) {
    if (k->status == CL_SUCCESS) k->status = clSetKernelArg(k->kernel, k->next, size, value);
    k->next++;
}

void nn_cl_arg_mem(nn_cl_call *k, cl_mem m) { set_arg(k, sizeof m, &m); }
void nn_cl_arg_u64(nn_cl_call *k, cl_ulong v) { set_arg(k, sizeof v, &v); }
void nn_cl_arg_u32(nn_cl_call *k, cl_uint v) { set_arg(k, sizeof v, &v); }
void nn_cl_arg_i32(nn_cl_call *k, cl_int v) { set_arg(k, sizeof v, &v); }
void nn_cl_arg_f32(nn_cl_call *k, cl_float v) { set_arg(k, sizeof v, &v); }

void nn_cl_arg_view(nn_cl_call *k, nn_view v) {
    nn_cl_arg_mem(k, v.buf->mem);
    nn_cl_arg_u64(k, v.off);
}

nn_status nn_cl_launch(nn_cl_ctx *c, nn_cl_call *k, cl_uint dims, const size_t *work,
                       const size_t *local, nn_error *err) {
    const char *name = nn_cl_kernel_name(k->id);
    if (!k->kernel)
        return nn_error_set(err, NN_E_BACKEND, "OpenCL kernel %s is not built", name);
    if (k->status != CL_SUCCESS)
        return nn_cl_fail(err, NN_E_BACKEND, "clSetKernelArg", name, k->status);
    size_t global[3];
    for (cl_uint d = 0; d < dims; d++) {
        if (work[d] == 0) return NN_OK;
        global[d] = (work[d] + local[d] - 1) / local[d] * local[d];
    }
    cl_event ev = NULL;
    cl_int rc = clEnqueueNDRangeKernel(c->queue, k->kernel, dims, NULL, global, local, 0, NULL,
                                       c->profiling ? &ev : NULL);
    if (rc != CL_SUCCESS)
        return nn_cl_fail(err, nn_cl_status_for(rc, NN_E_BACKEND), "clEnqueueNDRangeKernel",
                          name, rc);
    if (ev) nn_cl_track(c, ev, 0);
    return NN_OK;
}

nn_status nn_cl_launch_1d(nn_cl_ctx *c, nn_cl_call *k, size_t n, nn_error *err) {
    size_t local = c->tune.wg_1d;
    if (local > k->max_wg) local = k->max_wg;
    if (local == 0) local = 1;
    return nn_cl_launch(c, k, 1, &n, &local, err);
}

nn_status nn_cl_launch_2d(nn_cl_ctx *c, nn_cl_call *k, size_t cols, size_t rows, nn_error *err) {
    const size_t work[2] = {cols, rows};
    size_t local[2] = {c->tune.wg_2d_x, c->tune.wg_2d_y};
    while (local[0] * local[1] > k->max_wg && local[1] > 1) local[1] /= 2;
    while (local[0] * local[1] > k->max_wg && local[0] > 1) local[0] /= 2;
    return nn_cl_launch(c, k, 2, work, local, err);
}

nn_status nn_cl_scratch(nn_cl_ctx *c, int slot, size_t bytes, cl_mem *out, nn_error *err) {
    if (bytes == 0) bytes = 4;
    if (c->scratch[slot] && c->scratch_bytes[slot] >= bytes) {
        *out = c->scratch[slot];
        return NN_OK;
    }
    if (c->scratch[slot]) clReleaseMemObject(c->scratch[slot]);
    c->scratch[slot] = NULL;
    c->scratch_bytes[slot] = 0;
    size_t want = bytes + bytes / 4; /* room to grow without reallocating each time */
    cl_int rc;
    cl_mem m = clCreateBuffer(c->context, CL_MEM_READ_WRITE, want, NULL, &rc);
    if (rc != CL_SUCCESS) {
        want = bytes;
        m = clCreateBuffer(c->context, CL_MEM_READ_WRITE, want, NULL, &rc);
    }
    if (rc != CL_SUCCESS)
        return nn_cl_fail(err, nn_cl_status_for(rc, NN_E_NOMEM), "clCreateBuffer", "scratch", rc);
    c->scratch[slot] = m;
    c->scratch_bytes[slot] = want;
    *out = m;
    return NN_OK;
}

/* Add one finished event's duration to the totals and release it. */
static void account(nn_cl_ctx *c, cl_event ev, int transfer) {
    cl_ulong t0 = 0, t1 = 0;
    if (clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL) ==
            CL_SUCCESS &&
        clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL) ==
            CL_SUCCESS &&
        t1 >= t0) {
        double s = 1e-9 * (double)(t1 - t0);
        if (transfer) c->prof.transfer_seconds += s;
        else c->prof.kernel_seconds += s;
    }
    if (transfer) c->prof.transfers++;
    else c->prof.kernel_launches++;
    clReleaseEvent(ev);
}

void nn_cl_harvest(nn_cl_ctx *c) {
    if (c->n_pending == 0) return;
    if (clWaitForEvents((cl_uint)c->n_pending, c->pending) != CL_SUCCESS) clFinish(c->queue);
    for (size_t i = 0; i < c->n_pending; i++) account(c, c->pending[i], c->pending_transfer[i]);
    c->n_pending = 0;
}

void nn_cl_track(nn_cl_ctx *c, cl_event ev, int transfer) {
    if (!c->profiling) {
        clReleaseEvent(ev);
        return;
    }
    if (c->n_pending == c->cap_pending) {
        size_t cap = c->cap_pending ? 2 * c->cap_pending : 256;
        if (cap > 4096) { /* bounded: settle what is queued, then continue */
            nn_cl_harvest(c);
            cap = c->cap_pending;
        }
        if (c->n_pending == c->cap_pending) {
            cl_event *e = realloc(c->pending, cap * sizeof *e);
            unsigned char *t = e ? realloc(c->pending_transfer, cap) : NULL;
            if (e) c->pending = e;
            if (t) c->pending_transfer = t;
            if (!e || !t) { /* out of memory: account synchronously */
                clWaitForEvents(1, &ev);
                account(c, ev, transfer);
                return;
            }
            c->cap_pending = cap;
        }
    }
    c->pending[c->n_pending] = ev;
    c->pending_transfer[c->n_pending] = (unsigned char)transfer;
    c->n_pending++;
}

nn_status nn_cl_check_view(nn_view v, size_t count, const char *op, const char *name,
                           nn_error *err) {
    if (!v.buf)
        return nn_error_set(err, NN_E_INVALID, "%s: %s has no buffer", op, name);
    if (v.off > v.buf->count || count > v.buf->count - v.off)
        return nn_error_set(err, NN_E_INVALID,
                            "%s: %s needs %zu elements at offset %zu of a %zu-element buffer", op,
                            name, count, v.off, v.buf->count);
    return NN_OK;
}

nn_status nn_cl_check_dims(const char *op, size_t a, size_t b, size_t c, nn_error *err) {
    if (a > UINT_MAX || b > UINT_MAX || c > UINT_MAX)
        return nn_error_set(err, NN_E_INVALID,
                            "%s: sizes (%zu, %zu, %zu) exceed the OpenCL kernels' 32-bit limit",
                            op, a, b, c);
    return NN_OK;
}
