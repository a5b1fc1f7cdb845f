/* opencl_tune.c — per-device-type launch parameters (tile sizes, work-group
 * shapes) and their override through $NN_OPENCL_TUNE. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opencl/opencl_internal.h"

/* CPU devices (PoCL): PoCL runs a work-group's work-items as loops and
 * vectorizes explicit vector types well, so each work-item computes 8 x 16
 * outputs with float16 loads; operands are packed into contiguous panels
 * unless they are small enough to stay in cache. */
static const nn_cl_tune TUNE_CPU = {
    .wpt_m = 8, .wpt_n = 16, .wg_m = 4, .wg_n = 4,
    .pack_wg = 16, .pack_panels = 1, .local = 0, .tile_k = 16, .direct_max = 32768,
    .wg_1d = 64, .wg_2d_x = 16, .wg_2d_y = 4, .red_wg = 64, .red_items = 4, .fp64 = 1,
};

/* GPUs and accelerators: 16 x 16 work-groups of 4 x 4 outputs each (64 x 64
 * tiles staged in local memory 16 steps of k at a time); only a transposed b
 * is copied first (into row-major order). */
static const nn_cl_tune TUNE_GPU = {
    .wpt_m = 4, .wpt_n = 4, .wg_m = 16, .wg_n = 16,
    .pack_wg = 16, .pack_panels = 0, .local = 1, .tile_k = 16, .direct_max = SIZE_MAX,
    .wg_1d = 256, .wg_2d_x = 32, .wg_2d_y = 8, .red_wg = 256, .red_items = 4, .fp64 = 1,
};

/* Pointer to the unsigned field of t named `key`, or NULL. */
static unsigned *field(nn_cl_tune *t, const char *key) {
    static const struct { const char *key; size_t off; } F[] = {
        {"wpt_m", offsetof(nn_cl_tune, wpt_m)},     {"wpt_n", offsetof(nn_cl_tune, wpt_n)},
        {"wg_m", offsetof(nn_cl_tune, wg_m)},       {"wg_n", offsetof(nn_cl_tune, wg_n)},
        {"pack_wg", offsetof(nn_cl_tune, pack_wg)}, {"wg_1d", offsetof(nn_cl_tune, wg_1d)},
        {"wg_2d_x", offsetof(nn_cl_tune, wg_2d_x)}, {"wg_2d_y", offsetof(nn_cl_tune, wg_2d_y)},
        {"red_wg", offsetof(nn_cl_tune, red_wg)},   {"red_items", offsetof(nn_cl_tune, red_items)},
        {"tile_k", offsetof(nn_cl_tune, tile_k)},
    };
    for (size_t i = 0; i < sizeof F / sizeof F[0]; i++)
        if (strcmp(F[i].key, key) == 0) return (unsigned *)((char *)t + F[i].off);
    return NULL;
}

/* Apply one "key=value" or profile token of $NN_OPENCL_TUNE. */
static nn_status apply_token(nn_cl_tune *t, const char *tok, nn_error *err) {
    if (strcmp(tok, "cpu") == 0) {
        *t = TUNE_CPU;
        return NN_OK;
    }
    if (strcmp(tok, "gpu") == 0) {
        *t = TUNE_GPU;
        return NN_OK;
    }
    const char *eq = strchr(tok, '=');
    char key[32];
    if (!eq || (size_t)(eq - tok) >= sizeof key)
        return nn_error_set(err, NN_E_INVALID,
                            "NN_OPENCL_TUNE: expected cpu, gpu or key=value, got '%s'", tok);
    memcpy(key, tok, (size_t)(eq - tok));
    key[eq - tok] = '\0';
    char *end;
    unsigned long long v = strtoull(eq + 1, &end, 10);
    if (end == eq + 1 || *end || v > 1000000000ULL)
        return nn_error_set(err, NN_E_INVALID, "NN_OPENCL_TUNE: bad value in '%s'", tok);
    if (strcmp(key, "pack_panels") == 0) {
        t->pack_panels = v != 0;
    } else if (strcmp(key, "local") == 0) {
        t->local = v != 0;
    } else if (strcmp(key, "fp64") == 0) {
        t->fp64 = v != 0;
    } else if (strcmp(key, "direct_max") == 0) {
        t->direct_max = (size_t)v;
    } else {
        unsigned *f = field(t, key);
        if (!f)
            return nn_error_set(err, NN_E_INVALID, "NN_OPENCL_TUNE: unknown key '%s'", key);
        *f = (unsigned)v;
    }
    return NN_OK;
}

static int pow2(unsigned v) { return v && !(v & (v - 1)); }

/* NN_E_INVALID unless every value is one the kernels and the device accept. */
static nn_status validate(const nn_cl_tune *t, size_t max_wg, nn_error *err) {
    const char *bad = NULL;
    if (t->wpt_n != 2 && t->wpt_n != 4 && t->wpt_n != 8 && t->wpt_n != 16)
        bad = "wpt_n must be 2, 4, 8 or 16";
    else if (t->wpt_m < 1 || t->wpt_m > 16) bad = "wpt_m must be in [1, 16]";
    else if (!t->wg_m || !t->wg_n || (size_t)t->wg_m * t->wg_n > max_wg)
        bad = "wg_m * wg_n must be in [1, device max work-group size]";
    else if (!t->pack_wg || (size_t)t->pack_wg * t->pack_wg > max_wg)
        bad = "pack_wg^2 must be in [1, device max work-group size]";
    else if (!t->wg_1d || t->wg_1d > max_wg) bad = "wg_1d must be in [1, device max]";
    else if (!t->wg_2d_x || !t->wg_2d_y || (size_t)t->wg_2d_x * t->wg_2d_y > max_wg)
        bad = "wg_2d_x * wg_2d_y must be in [1, device max]";
    else if (!pow2(t->red_wg) || t->red_wg > max_wg)
        bad = "red_wg must be a power of two <= device max";
    else if (t->red_items < 1 || t->red_items > 1024) bad = "red_items must be in [1, 1024]";
    else if (t->tile_k < 1 || t->tile_k > 256) bad = "tile_k must be in [1, 256]";
    else if (t->local && t->pack_panels) bad = "local=1 needs pack_panels=0";
    if (bad)
        return nn_error_set(err, NN_E_INVALID, "OpenCL tuning: %s (max work-group size %zu)",
                            bad, max_wg);
    return NN_OK;
}

/* Halve work-group sizes that exceed the device's limit (defaults only). */
static void fit_device(nn_cl_tune *t, size_t max_wg) {
    while ((size_t)t->wg_m * t->wg_n > max_wg && (t->wg_m > 1 || t->wg_n > 1)) {
        if (t->wg_m >= t->wg_n) t->wg_m /= 2;
        else t->wg_n /= 2;
    }
    while ((size_t)t->pack_wg * t->pack_wg > max_wg && t->pack_wg > 1) t->pack_wg /= 2;
    while (t->wg_1d > max_wg && t->wg_1d > 1) t->wg_1d /= 2;
    while ((size_t)t->wg_2d_x * t->wg_2d_y > max_wg && t->wg_2d_y > 1) t->wg_2d_y /= 2;
    while ((size_t)t->wg_2d_x * t->wg_2d_y > max_wg && t->wg_2d_x > 1) t->wg_2d_x /= 2;
    while (t->red_wg > max_wg && t->red_wg > 1) t->red_wg /= 2;
}

nn_status nn_cl_tune_init(cl_device_type type, size_t max_wg, nn_cl_tune *t, nn_error *err) {
    *t = (type & (CL_DEVICE_TYPE_GPU | CL_DEVICE_TYPE_ACCELERATOR)) ? TUNE_GPU : TUNE_CPU;
    if (max_wg == 0) max_wg = 1;
    fit_device(t, max_wg);
    const char *env = getenv("NN_OPENCL_TUNE");
    if (!env || !*env) return validate(t, max_wg, err);
    char buf[512];
    if (strlen(env) >= sizeof buf)
        return nn_error_set(err, NN_E_INVALID, "NN_OPENCL_TUNE is too long");
    strcpy(buf, env);
    for (char *save = NULL, *tok = strtok_r(buf, ", ", &save); tok;
         tok = strtok_r(NULL, ", ", &save)) {
        nn_status st = apply_token(t, tok, err);
        if (st != NN_OK) return st;
    }
    return validate(t, max_wg, err);
}
