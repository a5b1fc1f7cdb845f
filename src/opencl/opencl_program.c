/* opencl_program.c — the program: sources (embedded, or read from
 * $NN_KERNEL_DIR), build options, build with log, kernel objects. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opencl/opencl_internal.h"

/* Kernel function names, indexed by nn_cl_kernel_id. */
static const char *const KERNEL_NAMES[NN_K_COUNT] = {
    [NN_K_FILL] = "nn_fill",
    [NN_K_COPY] = "nn_copy",
    [NN_K_BIAS_ADD] = "nn_bias_add",
    [NN_K_RELU_FORWARD] = "nn_relu_forward",
    [NN_K_SIGMOID_FORWARD] = "nn_sigmoid_forward",
    [NN_K_TANH_FORWARD] = "nn_tanh_forward",
    [NN_K_SOFTMAX_ROWS] = "nn_softmax_rows",
    [NN_K_RELU_BACKWARD] = "nn_relu_backward",
    [NN_K_SIGMOID_BACKWARD] = "nn_sigmoid_backward",
    [NN_K_TANH_BACKWARD] = "nn_tanh_backward",
    [NN_K_GATHER_ROWS] = "nn_gather_rows",
    [NN_K_LOSS_BCE_ROWS] = "nn_loss_bce_rows",
    [NN_K_LOSS_CE_ROWS] = "nn_loss_ce_rows",
    [NN_K_LOSS_MSE_ROWS] = "nn_loss_mse_rows",
    [NN_K_LOSS_GRAD] = "nn_loss_grad",
    [NN_K_REDUCE_SUM] = "nn_reduce_sum",
    [NN_K_COL_SUM] = "nn_col_sum",
    [NN_K_SGD] = "nn_sgd",
    [NN_K_MOMENTUM] = "nn_momentum",
    [NN_K_ADAM] = "nn_adam",
    [NN_K_MATMUL] = "nn_matmul",
    [NN_K_MATMUL_LOCAL] = "nn_matmul_local",
    [NN_K_PACK_A] = "nn_matmul_pack_a",
    [NN_K_PACK_B] = "nn_matmul_pack_b",
    [NN_K_TRANSPOSE] = "nn_matmul_transpose",
};

const char *nn_cl_kernel_name(nn_cl_kernel_id id) {
    return (unsigned)id < NN_K_COUNT ? KERNEL_NAMES[id] : "?";
}

/* Whole file at path into a malloc'ed NUL-terminated string; NULL with errno. */
static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0, got;
    do {
        if (len + 4096 + 1 > cap) {
            cap = cap ? 2 * cap : 16384;
            char *grown = realloc(buf, cap);
            if (!grown) {
                free(buf);
                fclose(f);
                errno = ENOMEM;
                return NULL;
            }
            buf = grown;
        }
        got = fread(buf + len, 1, 4096, f);
        len += got;
    } while (got == 4096);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        errno = EIO;
        return NULL;
    }
    buf[len] = '\0';
    return buf;
}

/* The program's source texts: the embedded files, or with $NN_KERNEL_DIR the
 * files of the same names from that folder (owned[] then holds them). */
static nn_status load_sources(const char **texts, char **owned, nn_error *err) {
    const char *dir = getenv("NN_KERNEL_DIR");
    for (size_t i = 0; i < nn_cl_embedded_count; i++) owned[i] = NULL;
    for (size_t i = 0; i < nn_cl_embedded_count; i++) {
        texts[i] = nn_cl_embedded_sources[i].text;
        if (!dir || !*dir) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, nn_cl_embedded_sources[i].name);
        owned[i] = read_file(path);
        if (!owned[i])
            return nn_error_set(err, NN_E_UNAVAILABLE, "NN_KERNEL_DIR: cannot read %s: %s",
                                path, strerror(errno));
        texts[i] = owned[i];
    }
    return NN_OK;
}

/* The -D options and flags for c's device and tuning, into buf. */
static void build_options(const nn_cl_ctx *c, char *buf, size_t len) {
    const nn_cl_tune *t = &c->tune;
    char ver[64];
    nn_cl_device_str(c->device, CL_DEVICE_OPENCL_C_VERSION, ver, sizeof ver);
    int major = 1, minor = 0;
    if (sscanf(ver, "OpenCL C %d.%d", &major, &minor) != 2) {
        major = 1;
        minor = 0;
    }
    cl_device_fp_config fp = 0;
    if (clGetDeviceInfo(c->device, CL_DEVICE_SINGLE_FP_CONFIG, sizeof fp, &fp, NULL) != CL_SUCCESS)
        fp = 0;
    snprintf(buf, len,
             "%s -DWPT_M=%u -DWPT_N=%u -DWG_M=%u -DWG_N=%u -DTILE_K=%u -DPACK_WG=%u -DRED_WG=%u "
             "-DRED_ITEMS=%u -DNN_LOSS_CAP=%.17g%s%s",
             (major > 1 || (major == 1 && minor >= 2)) ? "-cl-std=CL1.2" : "", t->wpt_m,
             t->wpt_n, t->wg_m, t->wg_n, t->tile_k, t->pack_wg, t->red_wg, t->red_items,
             -log(NN_BCE_EPS),
             c->fp64 ? " -DNN_FP64" : "",
             (fp & CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT) ? " -cl-fp32-correctly-rounded-divide-sqrt"
                                                        : "");
}

/* Keep the build log of c->program in c->build_log (NULL if none). */
static void keep_log(nn_cl_ctx *c) {
    free(c->build_log);
    c->build_log = NULL;
    size_t len = 0;
    if (clGetProgramBuildInfo(c->program, c->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &len) !=
            CL_SUCCESS ||
        len == 0)
        return;
    c->build_log = malloc(len + 1);
    if (!c->build_log) return;
    if (clGetProgramBuildInfo(c->program, c->device, CL_PROGRAM_BUILD_LOG, len, c->build_log,
                              NULL) != CL_SUCCESS)
        len = 0;
    c->build_log[len] = '\0';
}

/* NN_E_UNAVAILABLE when a kernel with a fixed work-group (reqd_work_group_size)
 * cannot run that many work-items on this device. */
static nn_status check_fixed_groups(const nn_cl_ctx *c, nn_error *err) {
    const nn_cl_tune *t = &c->tune;
    const struct { nn_cl_kernel_id id; size_t size; } fixed[] = {
        {t->local ? NN_K_MATMUL_LOCAL : NN_K_MATMUL, (size_t)t->wg_m * t->wg_n},
        {NN_K_TRANSPOSE, (size_t)t->pack_wg * t->pack_wg},
        {NN_K_REDUCE_SUM, t->red_wg},
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (c->kernel_max_wg[fixed[i].id] < fixed[i].size)
            return nn_error_set(err, NN_E_UNAVAILABLE,
                                "OpenCL kernel %s allows %zu work-items per group on this device, "
                                "its tuning needs %zu (set smaller sizes in NN_OPENCL_TUNE)",
                                KERNEL_NAMES[fixed[i].id], c->kernel_max_wg[fixed[i].id],
                                fixed[i].size);
    return NN_OK;
}

nn_status nn_cl_program_build(nn_cl_ctx *c, nn_error *err) {
    const char *texts[64];
    char *owned[64];
    if (nn_cl_embedded_count == 0 || nn_cl_embedded_count > 64)
        return nn_error_set(err, NN_E_UNAVAILABLE, "OpenCL: %zu embedded kernel files",
                            nn_cl_embedded_count);
    nn_status st = load_sources(texts, owned, err);
    cl_int rc = CL_SUCCESS;
    if (st == NN_OK) {
        c->program = clCreateProgramWithSource(c->context, (cl_uint)nn_cl_embedded_count, texts,
                                               NULL, &rc);
        if (rc != CL_SUCCESS) {
            c->program = NULL;
            st = nn_cl_fail(err, NN_E_UNAVAILABLE, "clCreateProgramWithSource", NULL, rc);
        }
    }
    for (size_t i = 0; i < nn_cl_embedded_count; i++) free(owned[i]);
    if (st != NN_OK) return st;

    char opts[512];
    build_options(c, opts, sizeof opts);
    double t0 = nn_now();
    rc = clBuildProgram(c->program, 1, &c->device, opts, NULL, NULL);
    if (c->profiling) c->prof.build_seconds += nn_now() - t0;
    keep_log(c);
    if (rc != CL_SUCCESS) {
        char dev[128];
        nn_cl_device_str(c->device, CL_DEVICE_NAME, dev, sizeof dev);
        return nn_error_set(err, NN_E_UNAVAILABLE,
                            "OpenCL program build failed on %s: %s (%d), options '%s'\n%s", dev,
                            nn_cl_error_name(rc), (int)rc, opts,
                            c->build_log ? c->build_log : "(no build log)");
    }
    for (int i = 0; i < NN_K_COUNT; i++) {
        c->kernels[i] = clCreateKernel(c->program, KERNEL_NAMES[i], &rc);
        if (rc != CL_SUCCESS) {
            c->kernels[i] = NULL;
            return nn_cl_fail(err, NN_E_UNAVAILABLE, "clCreateKernel", KERNEL_NAMES[i], rc);
        }
        rc = clGetKernelWorkGroupInfo(c->kernels[i], c->device, CL_KERNEL_WORK_GROUP_SIZE,
                                      sizeof c->kernel_max_wg[i], &c->kernel_max_wg[i], NULL);
        if (rc != CL_SUCCESS)
            return nn_cl_fail(err, NN_E_UNAVAILABLE, "clGetKernelWorkGroupInfo", KERNEL_NAMES[i],
                              rc);
    }
    return check_fixed_groups(c, err);
}

void nn_cl_program_release(nn_cl_ctx *c) {
    for (int i = 0; i < NN_K_COUNT; i++)
        if (c->kernels[i]) {
            clReleaseKernel(c->kernels[i]);
            c->kernels[i] = NULL;
        }
    if (c->program) clReleaseProgram(c->program);
    c->program = NULL;
    free(c->build_log);
    c->build_log = NULL;
}
