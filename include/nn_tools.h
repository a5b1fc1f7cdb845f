/* nn_tools.h — what tools around the library need beyond nn.h: the programs
 * that list devices, benchmark, profile and compare backends (nnbench, the
 * tests). Training itself needs only nn.h.
 *
 * Conventions as in nn.h: statuses and one-line messages in nn_error, no
 * printing, no global mutable state. Sections:
 *   1. OpenCL device inventory
 *   2. Profiling
 *   3. Matrix multiply for benchmarks
 *   4. Backend parity
 * (later sections: the OpenCL tuner) */
#ifndef NN_TOOLS_H
#define NN_TOOLS_H

#include <stddef.h>

#include "nn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------- 1. OpenCL device inventory */

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
 * NN_E_UNAVAILABLE with the reason when there is no platform, or when the
 * library was built without OpenCL. */
nn_status nn_opencl_list_platforms(nn_opencl_platform_info **out, size_t *count, nn_error *err);

/* All devices of all platforms in global index order; *out is malloc'ed
 * (free()). NN_E_UNAVAILABLE with the reason when there is no platform or no
 * device (or no OpenCL in this build). At most one entry has is_auto set;
 * none when only CPU devices exist. */
nn_status nn_opencl_list_devices(nn_opencl_device_info **out, size_t *count, nn_error *err);

/* ------------------------------------------------------------ 2. Profiling */

/* Time spent by the device, when profiling was requested (seconds). */
typedef struct nn_profile {
    double kernel_seconds;   /* sum of kernel execution times */
    double transfer_seconds; /* host<->device copies */
    double build_seconds;    /* program compilation */
    long kernel_launches;
    long transfers;
} nn_profile;

/* Fill p with the profile collected so far (nn_backend_config.profile = 1);
 * zeros when not profiling or for backends without a device profile (cpu). */
void nn_backend_profile(const nn_backend *be, nn_profile *p);

/* ---------------------------------------------- 3. Matrix multiply for benchmarks */

/* c: (m, n) = op(a) · op(b) on the host with the cpu backend's GEMM (the same
 * code, so the same bits, as its matmul op); op(a): (m, k), stored as
 * a: (k, m) when trans_a; op(b): (k, n), stored as b: (n, k) when trans_b.
 * threads: 0 = OpenMP's default. Bit-identical for any thread count. */
void nn_gemm_host(int threads, float *c, const float *a, const float *b, size_t m, size_t n,
                  size_t k, int trans_a, int trans_b);

/* One product shape with its operands resident on a backend, for timing the
 * backend's matmul alone (no transfers in a run). */
typedef struct nn_gemm_bench nn_gemm_bench;

/* Upload a and b (stored as above) to be and allocate c for the product
 * c: (m, n) = op(a) · op(b). be must outlive the handle. */
nn_status nn_gemm_bench_create(nn_backend *be, size_t m, size_t n, size_t k, int trans_a,
                               int trans_b, const float *a, const float *b, nn_gemm_bench **out,
                               nn_error *err);
/* One product on the backend; complete when it returns. */
nn_status nn_gemm_bench_run(nn_gemm_bench *g, nn_error *err);
/* Copy c: (m, n) to host memory. */
nn_status nn_gemm_bench_read(nn_gemm_bench *g, float *c, nn_error *err);
/* Release the buffers; NULL is a no-op. */
void nn_gemm_bench_free(nn_gemm_bench *g);

/* ----------------------------------------------------------- 4. Backend parity */

/* Tolerances of one training compared on two backends from the same initial
 * weights and data order, at each logging point, against the reference run
 * (the cpu backend): |loss - loss_ref| <= ATOL + RTOL * |loss_ref| and
 * max |w - w_ref| <= WEIGHT_RTOL * max |w_ref|. `nnbench check` and the
 * parity tests use these, through nn_parity_compare. */
#define NN_PARITY_LOSS_ATOL 1e-5
#define NN_PARITY_LOSS_RTOL 1e-3
#define NN_PARITY_WEIGHT_RTOL 1e-3

/* One logging point compared. */
typedef struct nn_parity {
    double loss_diff;   /* |loss - loss_ref| (NaN when either is NaN) */
    double loss_rel;    /* loss_diff / |loss_ref|; loss_diff when loss_ref is 0 */
    double weight_diff; /* max |w - w_ref|, NaN when any difference is NaN */
    double weight_max;  /* max |w_ref| */
    int ok;             /* 1 when both are within the tolerances above */
} nn_parity;

/* Compare a run's loss and weights w: (n) with the reference's at one point. */
nn_parity nn_parity_compare(double loss_ref, double loss, const float *w_ref, const float *w,
                            size_t n);

#ifdef __cplusplus
}
#endif
#endif /* NN_TOOLS_H */
