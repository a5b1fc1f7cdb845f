/* gemm_clblast.c — CLBlast's sgemm as a `nnbench gemm` implementation, on the
 * OpenCL device the opencl backend uses (only when the build found CLBlast:
 * NNBENCH_HAVE_CLBLAST). Operands stay in device buffers; a run is the
 * CLBlastSgemm call plus clFinish. */
#include "gemm_impl.h"

#include <stdio.h>

#ifdef NNBENCH_HAVE_CLBLAST
#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <clblast_c.h>
#include <stdlib.h>
#include <string.h>
#include "nn_tools.h"

/* The OpenCL objects and one shape's device buffers. */
typedef struct clblast_state {
    cl_context ctx;
    cl_command_queue queue;
    gemm_shape s;
    cl_mem a; /* (m, k) or (k, m) */
    cl_mem b; /* (k, n) or (n, k) */
    cl_mem c; /* (m, n) */
} clblast_state;

/* One OpenCL device with its platform, in global (platform, device) order. */
typedef struct cl_dev {
    cl_platform_id platform;
    cl_device_id device;
    char label[256]; /* "DEVICE (PLATFORM)", as the opencl backend describes it */
    int gpu;
} cl_dev;

/* All devices of all platforms; *out malloc'ed. Returns the count (0 on failure, with why). */
static size_t list_devices(cl_dev **out, char *why, size_t len) {
    *out = NULL;
    cl_uint np = 0;
    if (clGetPlatformIDs(0, NULL, &np) != CL_SUCCESS || np == 0) {
        snprintf(why, len, "no OpenCL platform");
        return 0;
    }
    cl_platform_id *pfs = calloc(np, sizeof *pfs);
    cl_dev *devs = NULL;
    size_t count = 0;
    if (pfs && clGetPlatformIDs(np, pfs, NULL) == CL_SUCCESS) {
        for (cl_uint p = 0; p < np; p++) {
            cl_uint nd = 0;
            if (clGetDeviceIDs(pfs[p], CL_DEVICE_TYPE_ALL, 0, NULL, &nd) != CL_SUCCESS || !nd)
                continue;
            cl_device_id *ids = calloc(nd, sizeof *ids);
            cl_dev *grown = realloc(devs, (count + nd) * sizeof *devs);
            if (!ids || !grown) {
                free(ids);
                if (grown) devs = grown;
                break;
            }
            devs = grown;
            if (clGetDeviceIDs(pfs[p], CL_DEVICE_TYPE_ALL, nd, ids, NULL) == CL_SUCCESS) {
                char pname[128] = "";
                clGetPlatformInfo(pfs[p], CL_PLATFORM_NAME, sizeof pname, pname, NULL);
                for (cl_uint d = 0; d < nd; d++) {
                    cl_dev *x = &devs[count++];
                    char dname[128] = "";
                    cl_device_type type = 0;
                    clGetDeviceInfo(ids[d], CL_DEVICE_NAME, sizeof dname, dname, NULL);
                    clGetDeviceInfo(ids[d], CL_DEVICE_TYPE, sizeof type, &type, NULL);
                    x->platform = pfs[p];
                    x->device = ids[d];
                    x->gpu = (type & (CL_DEVICE_TYPE_GPU | CL_DEVICE_TYPE_ACCELERATOR)) != 0;
                    snprintf(x->label, sizeof x->label, "%.120s (%.120s)", dname, pname);
                }
            }
            free(ids);
        }
    }
    free(pfs);
    if (count == 0) {
        free(devs);
        snprintf(why, len, "no OpenCL device");
        return 0;
    }
    *out = devs;
    return count;
}

/* Index of the device to use: the one labelled `want`, else the opencl
 * backend's default device, else the first GPU, else the first device. */
static size_t choose_device(const cl_dev *devs, size_t count, const char *want) {
    if (want && *want)
        for (size_t i = 0; i < count; i++)
            if (strcmp(devs[i].label, want) == 0) return i;
    nn_opencl_device_info *info;
    size_t n;
    if (nn_opencl_list_devices(&info, &n, NULL) == NN_OK) {
        size_t pick = count;
        for (size_t i = 0; i < n; i++)
            if (info[i].is_default && info[i].index < count) pick = info[i].index;
        free(info);
        if (pick < count) return pick;
    }
    for (size_t i = 0; i < count; i++)
        if (devs[i].gpu) return i;
    return 0;
}

/* Release the shape's device buffers. */
static void cb_unprepare(gemm_impl *im) {
    clblast_state *st = im->state;
    cl_mem *bufs[3] = {&st->a, &st->b, &st->c};
    for (int i = 0; i < 3; i++)
        if (*bufs[i]) {
            clReleaseMemObject(*bufs[i]);
            *bufs[i] = NULL;
        }
}

/* A device buffer of `count` floats, filled from host when src is not NULL. */
static cl_mem upload(clblast_state *st, const float *src, size_t count, cl_int *rc) {
    cl_mem m = clCreateBuffer(st->ctx, CL_MEM_READ_WRITE, count * sizeof(float), NULL, rc);
    if (*rc == CL_SUCCESS && src)
        *rc = clEnqueueWriteBuffer(st->queue, m, CL_TRUE, 0, count * sizeof(float), src, 0, NULL,
                                   NULL);
    return m;
}

/* Device buffers for a, b (uploaded) and c. */
static int cb_prepare(gemm_impl *im, const gemm_shape *s, const float *a, const float *b,
                      char *msg, size_t len) {
    clblast_state *st = im->state;
    st->s = *s;
    cl_int rc = CL_SUCCESS;
    st->a = upload(st, a, s->m * s->k, &rc);
    if (rc == CL_SUCCESS) st->b = upload(st, b, s->k * s->n, &rc);
    if (rc == CL_SUCCESS) st->c = upload(st, NULL, s->m * s->n, &rc);
    if (rc != CL_SUCCESS) {
        snprintf(msg, len, "OpenCL buffer setup failed (error %d)", (int)rc);
        cb_unprepare(im);
        return -1;
    }
    return 0;
}

/* CLBlastSgemm on the resident buffers, then clFinish. */
static int cb_run(gemm_impl *im, char *msg, size_t len) {
    clblast_state *st = im->state;
    const gemm_shape *s = &st->s;
    const size_t lda = s->ta ? s->m : s->k, ldb = s->tb ? s->k : s->n;
    CLBlastStatusCode code = CLBlastSgemm(
        CLBlastLayoutRowMajor, s->ta ? CLBlastTransposeYes : CLBlastTransposeNo,
        s->tb ? CLBlastTransposeYes : CLBlastTransposeNo, s->m, s->n, s->k, 1.0f, st->a, 0, lda,
        st->b, 0, ldb, 0.0f, st->c, 0, s->n, &st->queue, NULL);
    if (code != CLBlastSuccess) {
        snprintf(msg, len, "CLBlastSgemm failed (status %d)", (int)code);
        return -1;
    }
    cl_int rc = clFinish(st->queue);
    if (rc != CL_SUCCESS) {
        snprintf(msg, len, "clFinish failed (error %d)", (int)rc);
        return -1;
    }
    return 0;
}

/* Blocking read of c to host memory. */
static int cb_read(gemm_impl *im, float *c, char *msg, size_t len) {
    clblast_state *st = im->state;
    cl_int rc = clEnqueueReadBuffer(st->queue, st->c, CL_TRUE, 0,
                                    st->s.m * st->s.n * sizeof(float), c, 0, NULL, NULL);
    if (rc != CL_SUCCESS) {
        snprintf(msg, len, "clEnqueueReadBuffer failed (error %d)", (int)rc);
        return -1;
    }
    return 0;
}

/* Release buffers, queue and context. */
static void cb_close(gemm_impl *im) {
    clblast_state *st = im->state;
    if (!st) return;
    cb_unprepare(im);
    if (st->queue) clReleaseCommandQueue(st->queue);
    if (st->ctx) clReleaseContext(st->ctx);
    free(st);
    im->state = NULL;
}

/* A context and queue on the chosen device; CLBlast compiles its kernels on first use. */
int gemm_impl_open_clblast(gemm_impl *im, const char *opencl_device) {
    cl_dev *devs;
    size_t count = list_devices(&devs, im->why_not, sizeof im->why_not);
    if (count == 0) return -1;
    const cl_dev *d = &devs[choose_device(devs, count, opencl_device)];
    clblast_state *st = calloc(1, sizeof *st);
    cl_int rc = CL_OUT_OF_HOST_MEMORY;
    if (st) {
        cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)d->platform,
                                         0};
        st->ctx = clCreateContext(props, 1, &d->device, NULL, NULL, &rc);
        if (rc == CL_SUCCESS) st->queue = clCreateCommandQueue(st->ctx, d->device, 0, &rc);
    }
    snprintf(im->device, sizeof im->device, "%.255s", d->label);
    snprintf(im->info, sizeof im->info, "CLBlast on %s", d->label);
    free(devs);
    im->state = st;
    if (rc != CL_SUCCESS) {
        snprintf(im->why_not, sizeof im->why_not, "OpenCL context/queue creation failed (error %d)",
                 (int)rc);
        cb_close(im);
        return -1;
    }
    im->prepare = cb_prepare;
    im->run = cb_run;
    im->read = cb_read;
    im->unprepare = cb_unprepare;
    im->close = cb_close;
    return 0;
}

#else

/* Without CLBlast: unavailable, saying why. */
int gemm_impl_open_clblast(gemm_impl *im, const char *opencl_device) {
    (void)opencl_device;
    snprintf(im->why_not, sizeof im->why_not,
             "not installed: CLBlast or OpenCL was not found at build time");
    return -1;
}

#endif
