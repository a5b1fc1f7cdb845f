/* gemm_impl.c — `nnbench gemm` implementations that are nnbench backends
 * (cpu, opencl), through the library's benchmark handle (nn_tools.h), and the
 * opener that picks an implementation by name. */
#include "gemm_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_tools.h"

const char *const GEMM_IMPL_NAMES[GEMM_NIMPL + 1] = {"cpu", "opencl", "openblas", "clblast", NULL};

/* State of a backend implementation: the backend and one shape's product. */
typedef struct backend_state {
    nn_backend *be;
    nn_gemm_bench *g; /* the shape's resident operands, NULL between shapes */
} backend_state;

/* Release the shape's buffers. */
static void be_unprepare(gemm_impl *im) {
    backend_state *st = im->state;
    nn_gemm_bench_free(st->g);
    st->g = NULL;
}

/* Upload a and b for shape s. */
static int be_prepare(gemm_impl *im, const gemm_shape *s, const float *a, const float *b,
                      char *msg, size_t len) {
    backend_state *st = im->state;
    nn_error err;
    if (nn_gemm_bench_create(st->be, s->m, s->n, s->k, s->ta, s->tb, a, b, &st->g, &err) != NN_OK) {
        snprintf(msg, len, "%s", err.msg);
        return -1;
    }
    return 0;
}

/* The backend's matmul, complete when it returns. */
static int be_run(gemm_impl *im, char *msg, size_t len) {
    backend_state *st = im->state;
    nn_error err;
    if (nn_gemm_bench_run(st->g, &err) != NN_OK) {
        snprintf(msg, len, "%s", err.msg);
        return -1;
    }
    return 0;
}

/* Read c back to host memory. */
static int be_read(gemm_impl *im, float *c, char *msg, size_t len) {
    backend_state *st = im->state;
    nn_error err;
    if (nn_gemm_bench_read(st->g, c, &err) != NN_OK) {
        snprintf(msg, len, "%s", err.msg);
        return -1;
    }
    return 0;
}

/* Release the buffers and close the backend. */
static void be_close(gemm_impl *im) {
    backend_state *st = im->state;
    if (!st) return;
    be_unprepare(im);
    nn_backend_close(st->be);
    free(st);
    im->state = NULL;
}

/* Open an nnbench backend ("cpu", "opencl") as an implementation. */
int gemm_impl_open_backend(gemm_impl *im, const char *backend, int threads) {
    nn_backend_config cfg = {.threads = threads, .device = NULL, .profile = 0};
    nn_error err;
    nn_backend *be;
    if (nn_backend_open(backend, &cfg, &be, &err) != NN_OK) {
        size_t first = strcspn(err.msg, "\n"); /* the summary line of a long message */
        snprintf(im->why_not, sizeof im->why_not, "%.*s", (int)first, err.msg);
        return -1;
    }
    backend_state *st = calloc(1, sizeof *st);
    if (!st) {
        nn_backend_close(be);
        snprintf(im->why_not, sizeof im->why_not, "out of memory");
        return -1;
    }
    st->be = be;
    im->state = st;
    snprintf(im->device, sizeof im->device, "%s", nn_backend_device(be));
    if (nn_backend_threads(be) > 0)
        snprintf(im->info, sizeof im->info, "%s, %d threads", nn_backend_device(be),
                 nn_backend_threads(be));
    else
        snprintf(im->info, sizeof im->info, "%s", nn_backend_device(be));
    im->prepare = be_prepare;
    im->run = be_run;
    im->read = be_read;
    im->unprepare = be_unprepare;
    im->close = be_close;
    return 0;
}

/* Dispatch on the name; clears the entry points when unavailable. */
int gemm_impl_open(gemm_impl *im, const char *name, int threads, const char *opencl_device) {
    memset(im, 0, sizeof *im);
    snprintf(im->name, sizeof im->name, "%s", name);
    int rc;
    if (strcmp(name, "cpu") == 0 || strcmp(name, "opencl") == 0)
        rc = gemm_impl_open_backend(im, name, threads);
    else if (strcmp(name, "openblas") == 0)
        rc = gemm_impl_open_openblas(im, threads);
    else if (strcmp(name, "clblast") == 0)
        rc = gemm_impl_open_clblast(im, opencl_device);
    else {
        snprintf(im->why_not, sizeof im->why_not, "unknown implementation");
        rc = -1;
    }
    if (rc != 0) {
        im->prepare = NULL;
        im->run = NULL;
        im->read = NULL;
        im->unprepare = NULL;
        im->close = NULL;
        if (!im->why_not[0]) snprintf(im->why_not, sizeof im->why_not, "unavailable");
    }
    return rc;
}
