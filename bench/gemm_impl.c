/* gemm_impl.c — `nnbench gemm` implementations that go through an nnbench
 * backend's ops table (alloc / write / matmul / sync / read), and the opener
 * that picks an implementation by name. */
#include "gemm_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

const char *const GEMM_IMPL_NAMES[4] = {"cpu", "opencl", "openblas", "clblast"};

/* State of a backend implementation: the backend and one shape's buffers. */
typedef struct backend_state {
    nn_backend *be;
    gemm_shape s;
    nn_buf *a; /* (m, k) or (k, m) */
    nn_buf *b; /* (k, n) or (n, k) */
    nn_buf *c; /* (m, n) */
} backend_state;

/* Release the shape's backend buffers. */
static void be_unprepare(gemm_impl *im) {
    backend_state *st = im->state;
    nn_buf **bufs[3] = {&st->a, &st->b, &st->c};
    for (int i = 0; i < 3; i++)
        if (*bufs[i]) {
            st->be->ops->release(st->be, *bufs[i]);
            *bufs[i] = NULL;
        }
}

/* Backend buffers for a, b (written) and c. */
static int be_prepare(gemm_impl *im, const gemm_shape *s, const float *a, const float *b,
                      char *msg, size_t len) {
    backend_state *st = im->state;
    nn_backend *be = st->be;
    nn_error err;
    st->s = *s;
    const size_t na = s->m * s->k, nb = s->k * s->n, nc = s->m * s->n;
    if (be->ops->alloc(be, na, &st->a, &err) != NN_OK ||
        be->ops->alloc(be, nb, &st->b, &err) != NN_OK ||
        be->ops->alloc(be, nc, &st->c, &err) != NN_OK ||
        be->ops->write(be, (nn_view){st->a, 0}, a, na, &err) != NN_OK ||
        be->ops->write(be, (nn_view){st->b, 0}, b, nb, &err) != NN_OK ||
        be->ops->sync(be, &err) != NN_OK) {
        snprintf(msg, len, "%s", err.msg);
        be_unprepare(im);
        return -1;
    }
    return 0;
}

/* The backend's matmul, then sync. */
static int be_run(gemm_impl *im, char *msg, size_t len) {
    backend_state *st = im->state;
    nn_backend *be = st->be;
    const gemm_shape *s = &st->s;
    nn_error err;
    if (be->ops->matmul(be, (nn_view){st->c, 0}, (nn_view){st->a, 0}, (nn_view){st->b, 0}, s->m,
                        s->n, s->k, s->ta, s->tb, 0, &err) != NN_OK ||
        be->ops->sync(be, &err) != NN_OK) {
        snprintf(msg, len, "%s", err.msg);
        return -1;
    }
    return 0;
}

/* Read c back to host memory. */
static int be_read(gemm_impl *im, float *c, char *msg, size_t len) {
    backend_state *st = im->state;
    nn_error err;
    if (st->be->ops->read(st->be, (nn_view){st->c, 0}, c, st->s.m * st->s.n, &err) != NN_OK) {
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
