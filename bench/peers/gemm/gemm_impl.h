/* gemm_impl.h — the matrix-multiply implementations `nnbench gemm` compares,
 * behind one interface: nnbench's own backends (through the library's
 * nn_gemm_bench, nn_tools.h) and the peers OpenBLAS and CLBlast. Operands are
 * uploaded once per shape, then each run computes c = op(a) · op(b) with the
 * data resident where the implementation keeps it, and returns only when the
 * result is complete. */
#ifndef NNBENCH_GEMM_IMPL_H
#define NNBENCH_GEMM_IMPL_H

#include <stddef.h>

/* One product: c (m, n) = op(a) (m, k) · op(b) (k, n); a is stored (k, m)
 * when ta, b is stored (n, k) when tb. */
typedef struct gemm_shape {
    size_t m, n, k;
    int ta, tb;
} gemm_shape;

typedef struct gemm_impl gemm_impl;
struct gemm_impl {
    char name[16];       /* "cpu", "opencl", "openblas", "clblast" */
    char device[256];    /* the device it runs on ("" when not applicable) */
    char info[320];      /* device, library version, threads */
    char note[512];      /* an optional remark for the user (e.g. a misdetected CPU) */
    char why_not[512];   /* non-empty: why the implementation cannot run here */
    /* Upload a and b for shape s and allocate c; 0, or -1 with msg. */
    int (*prepare)(gemm_impl *im, const gemm_shape *s, const float *a, const float *b,
                   char *msg, size_t len);
    /* One product; complete when it returns. 0, or -1 with msg. */
    int (*run)(gemm_impl *im, char *msg, size_t len);
    /* Copy c (m, n) to host memory. 0, or -1 with msg. */
    int (*read)(gemm_impl *im, float *c, char *msg, size_t len);
    /* Release what prepare allocated (safe after a failed prepare). */
    void (*unprepare)(gemm_impl *im);
    /* Release the implementation. */
    void (*close)(gemm_impl *im);
    void *state;
};

/* Names accepted by gemm_impl_open, in the default order; NULL-terminated. */
#define GEMM_NIMPL 4
extern const char *const GEMM_IMPL_NAMES[GEMM_NIMPL + 1];

/* Open the named implementation with `threads` CPU threads (cpu, openblas).
 * opencl_device: the device the opencl backend uses, for clblast to match
 * (NULL = the backend's default choice). Returns 0 when usable; otherwise
 * im->why_not says why (not installed, no device, ...) and the entry points are NULL. */
int gemm_impl_open(gemm_impl *im, const char *name, int threads, const char *opencl_device);

/* Backend-specific openers, used by gemm_impl_open. */
int gemm_impl_open_backend(gemm_impl *im, const char *backend, int threads);
int gemm_impl_open_openblas(gemm_impl *im, int threads);
int gemm_impl_open_clblast(gemm_impl *im, const char *opencl_device);

#endif
