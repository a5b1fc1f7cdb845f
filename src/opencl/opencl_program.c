/* opencl_program.c — the programs: kernel sources (embedded, or read from
 * $NN_KERNEL_DIR) and their hash, the build options of each unit (main,
 * reduce, matmul per shape class), builds with log, kernel objects. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
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
    [NN_K_BIAS_ACT] = "nn_bias_act",
    [NN_K_BIAS_SOFTMAX_ROWS] = "nn_bias_softmax_rows",
    [NN_K_ACT_BACKWARD_COL_SUM] = "nn_act_backward_col_sum",
    [NN_K_LOSS_GRAD_COL_SUM] = "nn_loss_grad_col_sum",
    [NN_K_LOSS_GRAD_ROWS] = "nn_loss_grad_rows",
};

const char *nn_cl_kernel_name(nn_cl_kernel_id id) {
    return (unsigned)id < NN_K_COUNT ? KERNEL_NAMES[id] : "?";
}

char *nn_cl_read_file(const char *path, size_t max, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0, got;
    int fail = 0; /* errno to return with, or 0 */
    do {
        if (len + 4096 + 1 > cap) {
            cap = cap ? 2 * cap : 16384;
            char *grown = realloc(buf, cap);
            if (!grown) {
                fail = ENOMEM;
                break;
            }
            buf = grown;
        }
        got = fread(buf + len, 1, 4096, f);
        len += got;
    } while (got == 4096 && len <= max);
    if (!fail && ferror(f)) fail = EIO;
    if (!fail && len > max) fail = EFBIG;
    fclose(f);
    if (fail) {
        free(buf);
        errno = fail;
        return NULL;
    }
    buf[len] = '\0';
    if (n) *n = len;
    return buf;
}

unsigned long long nn_cl_fnv(unsigned long long h, const char *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

nn_status nn_cl_sources_load(nn_cl_sources *s, nn_error *err) {
    memset(s, 0, sizeof *s);
    if (nn_cl_embedded_count == 0 || nn_cl_embedded_count > NN_CL_MAX_SOURCES)
        return nn_error_set(err, NN_E_UNAVAILABLE, "OpenCL: %zu embedded kernel files",
                            nn_cl_embedded_count);
    const char *dir = getenv("NN_KERNEL_DIR");
    unsigned long long h = NN_CL_FNV_BASIS;
    s->count = nn_cl_embedded_count;
    for (size_t i = 0; i < s->count; i++) {
        s->name[i] = nn_cl_embedded_sources[i].name;
        s->text[i] = nn_cl_embedded_sources[i].text;
        if (dir && *dir) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", dir, s->name[i]);
            s->owned[i] = nn_cl_read_file(path, SIZE_MAX, NULL);
            if (!s->owned[i])
                return nn_error_set(err, NN_E_UNAVAILABLE, "NN_KERNEL_DIR: cannot read %s: %s",
                                    path, strerror(errno));
            s->text[i] = s->owned[i];
        }
        h = nn_cl_fnv(h, s->name[i], strlen(s->name[i]) + 1);
        h = nn_cl_fnv(h, s->text[i], strlen(s->text[i]) + 1);
    }
    s->hash = h;
    return NN_OK;
}

void nn_cl_sources_free(nn_cl_sources *s) {
    for (size_t i = 0; i < NN_CL_MAX_SOURCES; i++) free(s->owned[i]);
    memset(s, 0, sizeof *s);
}

nn_cl_unit nn_cl_unit_of(nn_cl_kernel_id id) {
    if (id >= NN_K_MATMUL) return NN_UNIT_MATMUL;
    if (id >= NN_K_LOSS_BCE_ROWS) return NN_UNIT_REDUCE;
    return NN_UNIT_MAIN;
}

/* 1 if kernel source file `name` belongs to unit's program (nn_cl_unit). */
static int unit_has(nn_cl_unit unit, const char *name) {
    const int mm = strcmp(name, "matmul.cl") == 0;
    const int red = strcmp(name, "reduce.cl") == 0 || strcmp(name, "loss.cl") == 0;
    return unit == NN_UNIT_MATMUL ? mm : unit == NN_UNIT_REDUCE ? red : !mm && !red;
}

static const char *unit_name(nn_cl_unit unit) {
    return unit == NN_UNIT_MATMUL ? "matmul.cl"
           : unit == NN_UNIT_REDUCE ? "loss.cl and reduce.cl" : "the main program";
}

void nn_cl_build_options(const nn_cl_ctx *c, nn_cl_unit unit, const nn_cl_tune *t,
                         const nn_cl_mm *mm, char *buf, size_t len) {
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
    char defs[256] = "";
    if (unit == NN_UNIT_MATMUL && mm)
        snprintf(defs, sizeof defs,
                 " -DWPT_M=%u -DWPT_N=%u -DWG_M=%u -DWG_N=%u -DTILE_K=%u -DPACK_WG=%u", mm->wpt_m,
                 mm->wpt_n, mm->wg_m, mm->wg_n, mm->tile_k, mm->pack_wg);
    else if (unit == NN_UNIT_REDUCE)
        snprintf(defs, sizeof defs, " -DRED_WG=%u -DRED_ITEMS=%u -DNN_LOSS_CAP=%.17g%s",
                 t->red_wg, t->red_items, -log(NN_BCE_EPS), c->fp64 ? " -DNN_FP64" : "");
    snprintf(buf, len, "%s%s%s", (major > 1 || (major == 1 && minor >= 2)) ? "-cl-std=CL1.2" : "",
             defs,
             (fp & CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT) ? " -cl-fp32-correctly-rounded-divide-sqrt"
                                                        : "");
}

/* Keep the build log of program pr in c->build_log (NULL if none). */
static void keep_log(nn_cl_ctx *c, cl_program pr) {
    free(c->build_log);
    c->build_log = NULL;
    size_t len = 0;
    if (clGetProgramBuildInfo(pr, c->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &len) != CL_SUCCESS ||
        len == 0)
        return;
    c->build_log = malloc(len + 1);
    if (!c->build_log) return;
    if (clGetProgramBuildInfo(pr, c->device, CL_PROGRAM_BUILD_LOG, len, c->build_log, NULL) !=
        CL_SUCCESS)
        len = 0;
    c->build_log[len] = '\0';
}

/* NN_E_UNAVAILABLE when a kernel of p with a fixed work-group
 * (reqd_work_group_size) cannot run that many work-items on this device. */
static nn_status check_fixed_groups(const nn_cl_prog *p, nn_error *err) {
    struct { nn_cl_kernel_id id; size_t size; } fixed[2];
    size_t n = 0;
    if (p->unit == NN_UNIT_MATMUL) {
        fixed[n].id = p->mm.local ? NN_K_MATMUL_LOCAL : NN_K_MATMUL;
        fixed[n++].size = (size_t)p->mm.wg_m * p->mm.wg_n;
        fixed[n].id = NN_K_TRANSPOSE;
        fixed[n++].size = (size_t)p->mm.pack_wg * p->mm.pack_wg;
    } else if (p->unit == NN_UNIT_REDUCE) {
        fixed[n].id = NN_K_REDUCE_SUM;
        fixed[n++].size = p->red_wg;
        fixed[n].id = NN_K_LOSS_GRAD_ROWS;
        fixed[n++].size = p->red_wg;
    }
    for (size_t i = 0; i < n; i++)
        if (p->max_wg[fixed[i].id] < fixed[i].size)
            return nn_error_set(err, NN_E_UNAVAILABLE,
                                "OpenCL kernel %s allows %zu work-items per group on this device, "
                                "its tuning needs %zu (set smaller sizes in NN_OPENCL_TUNE)",
                                KERNEL_NAMES[fixed[i].id], p->max_wg[fixed[i].id], fixed[i].size);
    return NN_OK;
}

/* Build p's program (p->unit set) from the unit's sources with options opts. */
static nn_status build_program(nn_cl_ctx *c, nn_cl_prog *p, const char *opts,
                               nn_cl_build_fail *fail, nn_error *err) {
    const char *texts[NN_CL_MAX_SOURCES];
    cl_uint n = 0;
    for (size_t i = 0; i < c->src.count; i++)
        if (unit_has(p->unit, c->src.name[i])) texts[n++] = c->src.text[i];
    if (n == 0)
        return nn_error_set(err, NN_E_UNAVAILABLE, "OpenCL: no kernel source for %s",
                            unit_name(p->unit));
    cl_int rc;
    p->program = clCreateProgramWithSource(c->context, n, texts, NULL, &rc);
    if (rc != CL_SUCCESS) {
        p->program = NULL;
        *fail = NN_CL_FAIL_BUILD;
        return nn_cl_fail(err, NN_E_UNAVAILABLE, "clCreateProgramWithSource", NULL, rc);
    }
    double t0 = nn_now();
    rc = clBuildProgram(p->program, 1, &c->device, opts, NULL, NULL);
    if (c->profiling) c->prof.build_seconds += nn_now() - t0;
    if (rc != CL_SUCCESS) {
        keep_log(c, p->program);
        char dev[128];
        nn_cl_device_str(c->device, CL_DEVICE_NAME, dev, sizeof dev);
        *fail = NN_CL_FAIL_BUILD;
        return nn_error_set(err, NN_E_UNAVAILABLE,
                            "OpenCL program build failed on %s: %s (%d), options '%s'\n%s", dev,
                            nn_cl_error_name(rc), (int)rc, opts,
                            c->build_log ? c->build_log : "(no build log)");
    }
    for (int i = 0; i < NN_K_COUNT; i++) {
        if (nn_cl_unit_of((nn_cl_kernel_id)i) != p->unit) continue;
        p->k[i] = clCreateKernel(p->program, KERNEL_NAMES[i], &rc);
        if (rc != CL_SUCCESS) {
            p->k[i] = NULL;
            *fail = NN_CL_FAIL_BUILD;
            return nn_cl_fail(err, NN_E_UNAVAILABLE, "clCreateKernel", KERNEL_NAMES[i], rc);
        }
        rc = clGetKernelWorkGroupInfo(p->k[i], c->device, CL_KERNEL_WORK_GROUP_SIZE,
                                      sizeof p->max_wg[i], &p->max_wg[i], NULL);
        if (rc != CL_SUCCESS) {
            *fail = NN_CL_FAIL_BUILD;
            return nn_cl_fail(err, NN_E_UNAVAILABLE, "clGetKernelWorkGroupInfo", KERNEL_NAMES[i],
                              rc);
        }
    }
    nn_status st = check_fixed_groups(p, err);
    if (st != NN_OK) *fail = NN_CL_FAIL_WORKGROUP;
    return st;
}

nn_status nn_cl_prog_build(nn_cl_ctx *c, nn_cl_unit unit, const nn_cl_tune *t,
                           const nn_cl_mm *mm, nn_cl_prog *p, nn_cl_build_fail *fail,
                           nn_error *err) {
    nn_cl_build_fail dummy;
    if (!fail) fail = &dummy;
    *fail = NN_CL_BUILT;
    memset(p, 0, sizeof *p);
    p->unit = unit;
    if (mm) p->mm = *mm;
    p->red_wg = t->red_wg;
    p->red_items = t->red_items;
    char opts[512];
    nn_cl_build_options(c, unit, t, mm, opts, sizeof opts);
    nn_status st = build_program(c, p, opts, fail, err);
    if (st != NN_OK) nn_cl_prog_release(p);
    return st;
}

void nn_cl_prog_release(nn_cl_prog *p) {
    for (int i = 0; i < NN_K_COUNT; i++)
        if (p->k[i]) {
            clReleaseKernel(p->k[i]);
            p->k[i] = NULL;
        }
    if (p->program) clReleaseProgram(p->program);
    p->program = NULL;
}

nn_status nn_cl_programs_build(nn_cl_ctx *c, nn_error *err) {
    nn_status st = nn_cl_prog_build(c, NN_UNIT_MAIN, &c->tune, NULL, &c->main, NULL, err);
    if (st == NN_OK)
        st = nn_cl_prog_build(c, NN_UNIT_REDUCE, &c->tune, NULL, &c->reduce, NULL, err);
    for (int i = 0; i < NN_TUNE_CLASSES && st == NN_OK; i++) {
        c->mm_of[i] = i;
        for (int j = 0; j < i; j++)
            if (c->mm_of[j] == j && nn_cl_mm_equal(&c->tune.mm[i], &c->tune.mm[j])) {
                c->mm_of[i] = j;
                break;
            }
        if (c->mm_of[i] == i)
            st = nn_cl_prog_build(c, NN_UNIT_MATMUL, &c->tune, &c->tune.mm[i], &c->mm[i], NULL,
                                  err);
    }
    if (st != NN_OK) nn_cl_programs_release(c);
    return st;
}

void nn_cl_programs_release(nn_cl_ctx *c) {
    nn_cl_prog_release(&c->main);
    nn_cl_prog_release(&c->reduce);
    for (int i = 0; i < NN_TUNE_CLASSES; i++) nn_cl_prog_release(&c->mm[i]);
}
