/* opencl_tune.c — launch parameters: the built-in defaults per device type
 * and shape class, the key=value syntax shared by $NN_OPENCL_TUNE and the
 * tuning cache, and the range checks. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opencl/opencl_internal.h"

/* CPU devices (PoCL): PoCL runs a work-group's work-items as loops and
 * vectorizes explicit vector types well, so each work-item computes 8 x 16
 * outputs with float16 loads; operands are packed into contiguous panels
 * unless they are small enough to stay in cache. One set for every class
 * (the tuner finds per-class values). */
static const nn_cl_mm MM_CPU = {
    .wpt_m = 8, .wpt_n = 16, .wg_m = 4, .wg_n = 4,
    .pack_wg = 16, .pack_panels = 1, .local = 0, .tile_k = 16, .direct_max = 32768,
};

/* GPUs and accelerators, medium and large products: 16 x 16 work-groups of
 * 4 x 4 outputs each (64 x 64 tiles staged in local memory 16 steps of k at
 * a time, 8 KiB); only a transposed b is copied first (into row-major
 * order). This is the classic untuned starting point (CLBlast's generic
 * Xgemm defaults have the same 64 x 64 tile of 16 x 16 work-items): 256
 * work-items fit every current GPU, 16 accumulators per work-item leave
 * registers for occupancy, and float4 loads are natively wide on AMD and
 * Intel and harmless on NVIDIA. Never measured here (no GPU): run the tuner. */
static const nn_cl_mm MM_GPU_LARGE = {
    .wpt_m = 4, .wpt_n = 4, .wg_m = 16, .wg_n = 16,
    .pack_wg = 16, .pack_panels = 0, .local = 1, .tile_k = 16, .direct_max = SIZE_MAX,
};

/* GPUs, small, narrow and skinny products: 32 x 32 tiles of 8 x 8 work-items (as
 * CLBlast's direct GEMM for small sizes), so that a product such as
 * (4096 x 64)·(64 x 1) or the tutorial's 800 x 8 still spreads over several
 * compute units instead of a handful of 64 x 64 tiles that are mostly padding. */
static const nn_cl_mm MM_GPU_SMALL = {
    .wpt_m = 4, .wpt_n = 4, .wg_m = 8, .wg_n = 8,
    .pack_wg = 16, .pack_panels = 0, .local = 1, .tile_k = 16, .direct_max = SIZE_MAX,
};

/* Fill t with a profile: 0 = CPU, 1 = GPU. */
static void profile(nn_cl_tune *t, int gpu) {
    for (int c = 0; c < NN_TUNE_CLASSES; c++)
        t->mm[c] = !gpu ? MM_CPU
                   : (c == NN_TUNE_MEDIUM || c == NN_TUNE_LARGE) ? MM_GPU_LARGE
                                                                  : MM_GPU_SMALL;
    t->wg_1d = gpu ? 256 : 64;
    t->wg_2d_x = gpu ? 32 : 16;
    t->wg_2d_y = gpu ? 8 : 4;
    t->red_wg = gpu ? 256 : 64;
    t->red_items = 4;
    t->fp64 = 1;
}

/* Halve work-group sizes that exceed the device's limit. */
static void fit_device(nn_cl_tune *t, size_t max_wg) {
    for (int c = 0; c < NN_TUNE_CLASSES; c++) {
        nn_cl_mm *m = &t->mm[c];
        while ((size_t)m->wg_m * m->wg_n > max_wg && (m->wg_m > 1 || m->wg_n > 1)) {
            if (m->wg_m >= m->wg_n) m->wg_m /= 2;
            else m->wg_n /= 2;
        }
        while ((size_t)m->pack_wg * m->pack_wg > max_wg && m->pack_wg > 1) m->pack_wg /= 2;
    }
    while (t->wg_1d > max_wg && t->wg_1d > 1) t->wg_1d /= 2;
    while ((size_t)t->wg_2d_x * t->wg_2d_y > max_wg && t->wg_2d_y > 1) t->wg_2d_y /= 2;
    while ((size_t)t->wg_2d_x * t->wg_2d_y > max_wg && t->wg_2d_x > 1) t->wg_2d_x /= 2;
    while (t->red_wg > max_wg && t->red_wg > 1) t->red_wg /= 2;
}

void nn_cl_tune_defaults(cl_device_type type, size_t max_wg, nn_cl_tune *t) {
    profile(t, (type & (CL_DEVICE_TYPE_GPU | CL_DEVICE_TYPE_ACCELERATOR)) != 0);
    fit_device(t, max_wg ? max_wg : 1);
}

/* ------------------------------------------------------------------ keys */

enum kind { K_UNSIGNED, K_FLAG, K_SIZE };

/* The keys of one class's matmul values. */
static const struct mm_key {
    const char *key;
    size_t off;
    enum kind kind;
} MM_KEYS[] = {
    {"wpt_m", offsetof(nn_cl_mm, wpt_m), K_UNSIGNED},
    {"wpt_n", offsetof(nn_cl_mm, wpt_n), K_UNSIGNED},
    {"wg_m", offsetof(nn_cl_mm, wg_m), K_UNSIGNED},
    {"wg_n", offsetof(nn_cl_mm, wg_n), K_UNSIGNED},
    {"pack_wg", offsetof(nn_cl_mm, pack_wg), K_UNSIGNED},
    {"pack_panels", offsetof(nn_cl_mm, pack_panels), K_FLAG},
    {"local", offsetof(nn_cl_mm, local), K_FLAG},
    {"tile_k", offsetof(nn_cl_mm, tile_k), K_UNSIGNED},
    {"direct_max", offsetof(nn_cl_mm, direct_max), K_SIZE},
};
#define N_MM_KEYS (sizeof MM_KEYS / sizeof MM_KEYS[0])

/* The keys of the values shared by every class. */
static const struct mm_key OPS_KEYS[] = {
    {"wg_1d", offsetof(nn_cl_tune, wg_1d), K_UNSIGNED},
    {"wg_2d_x", offsetof(nn_cl_tune, wg_2d_x), K_UNSIGNED},
    {"wg_2d_y", offsetof(nn_cl_tune, wg_2d_y), K_UNSIGNED},
    {"red_wg", offsetof(nn_cl_tune, red_wg), K_UNSIGNED},
    {"red_items", offsetof(nn_cl_tune, red_items), K_UNSIGNED},
    {"fp64", offsetof(nn_cl_tune, fp64), K_FLAG},
};
#define N_OPS_KEYS (sizeof OPS_KEYS / sizeof OPS_KEYS[0])

/* Store v into the field at base + key->off. */
static void store(void *base, const struct mm_key *key, unsigned long long v) {
    char *f = (char *)base + key->off;
    switch (key->kind) {
    case K_UNSIGNED: *(unsigned *)f = (unsigned)v; break;
    case K_FLAG: *(int *)f = v != 0; break;
    case K_SIZE: *(size_t *)f = v == ULLONG_MAX ? SIZE_MAX : (size_t)v; break;
    }
}

/* The value of the field at base + key->off, SIZE_MAX as ULLONG_MAX. */
static unsigned long long load(const void *base, const struct mm_key *key) {
    const char *f = (const char *)base + key->off;
    switch (key->kind) {
    case K_UNSIGNED: return *(const unsigned *)f;
    case K_FLAG: return (unsigned long long)*(const int *)f;
    case K_SIZE: {
        size_t v = *(const size_t *)f;
        return v == SIZE_MAX ? ULLONG_MAX : v;
    }
    }
    return 0;
}

/* Apply one token of a spec. */
static nn_status apply_token(nn_cl_tune *t, const char *tok, size_t max_wg, const char *what,
                             nn_error *err) {
    if (strcmp(tok, "cpu") == 0 || strcmp(tok, "gpu") == 0) {
        int keep_fp64 = t->fp64;
        profile(t, tok[0] == 'g');
        t->fp64 = keep_fp64;
        fit_device(t, max_wg ? max_wg : 1);
        return NN_OK;
    }
    const char *eq = strchr(tok, '=');
    char key[48];
    if (!eq || eq == tok || (size_t)(eq - tok) >= sizeof key)
        return nn_error_set(err, NN_E_INVALID, "%s: expected cpu, gpu or key=value, got '%s'",
                            what, tok);
    memcpy(key, tok, (size_t)(eq - tok));
    key[eq - tok] = '\0';
    /* "class.key": one class; a bare matmul key: every class */
    int cls = -1;
    const char *name = key, *dot = strchr(key, '.');
    if (dot) {
        for (int c = 0; c < NN_TUNE_CLASSES; c++)
            if ((size_t)(dot - key) == strlen(nn_tune_class_name((nn_tune_class)c)) &&
                strncmp(key, nn_tune_class_name((nn_tune_class)c), (size_t)(dot - key)) == 0)
                cls = c;
        if (cls < 0)
            return nn_error_set(err, NN_E_INVALID,
                                "%s: unknown shape class in '%s' (small, narrow, skinny, "
                                "medium, large)",
                                what, tok);
        name = dot + 1;
    }
    const struct mm_key *mk = NULL, *ok = NULL;
    for (size_t i = 0; i < N_MM_KEYS; i++)
        if (strcmp(MM_KEYS[i].key, name) == 0) mk = &MM_KEYS[i];
    for (size_t i = 0; i < N_OPS_KEYS && cls < 0; i++)
        if (strcmp(OPS_KEYS[i].key, name) == 0) ok = &OPS_KEYS[i];
    if (!mk && !ok) return nn_error_set(err, NN_E_INVALID, "%s: unknown key '%s'", what, key);

    unsigned long long v;
    if (mk && mk->kind == K_SIZE && strcmp(eq + 1, "max") == 0) {
        v = ULLONG_MAX;
    } else {
        char *end;
        v = strtoull(eq + 1, &end, 10);
        if (end == eq + 1 || *end || eq[1] == '-' || eq[1] == '+' || v > 1000000000ULL)
            return nn_error_set(err, NN_E_INVALID, "%s: bad value in '%s'", what, tok);
    }
    if (ok) {
        store(t, ok, v);
    } else {
        for (int c = 0; c < NN_TUNE_CLASSES; c++)
            if (cls < 0 || cls == c) store(&t->mm[c], mk, v);
    }
    return NN_OK;
}

nn_status nn_cl_tune_apply(nn_cl_tune *t, const char *spec, size_t max_wg, const char *what,
                           nn_error *err) {
    char buf[2048];
    if (strlen(spec) >= sizeof buf) return nn_error_set(err, NN_E_INVALID, "%s is too long", what);
    strcpy(buf, spec);
    for (char *save = NULL, *tok = strtok_r(buf, ", \t", &save); tok;
         tok = strtok_r(NULL, ", \t", &save)) {
        nn_status st = apply_token(t, tok, max_wg, what, err);
        if (st != NN_OK) return st;
    }
    return NN_OK;
}

static int pow2(unsigned v) { return v && !(v & (v - 1)); }

nn_status nn_cl_mm_validate(const nn_cl_mm *m, size_t max_wg, const char *what, nn_error *err) {
    const char *bad = NULL;
    if (m->wpt_n != 2 && m->wpt_n != 4 && m->wpt_n != 8 && m->wpt_n != 16)
        bad = "wpt_n must be 2, 4, 8 or 16";
    else if (m->wpt_m < 1 || m->wpt_m > 16) bad = "wpt_m must be in [1, 16]";
    else if (!m->wg_m || !m->wg_n || (size_t)m->wg_m * m->wg_n > max_wg)
        bad = "wg_m * wg_n must be in [1, device max work-group size]";
    else if (!m->pack_wg || (size_t)m->pack_wg * m->pack_wg > max_wg)
        bad = "pack_wg^2 must be in [1, device max work-group size]";
    else if (m->tile_k < 1 || m->tile_k > 256) bad = "tile_k must be in [1, 256]";
    else if (m->local && m->pack_panels) bad = "local=1 needs pack_panels=0";
    if (bad)
        return nn_error_set(err, NN_E_INVALID, "OpenCL tuning (%s): %s (max work-group size %zu)",
                            what, bad, max_wg);
    return NN_OK;
}

nn_status nn_cl_tune_validate(const nn_cl_tune *t, size_t max_wg, const char *what,
                              nn_error *err) {
    for (int c = 0; c < NN_TUNE_CLASSES; c++) {
        char label[96];
        snprintf(label, sizeof label, "%s, class %s", what, nn_tune_class_name((nn_tune_class)c));
        nn_status st = nn_cl_mm_validate(&t->mm[c], max_wg, label, err);
        if (st != NN_OK) return st;
    }
    const char *bad = NULL;
    if (!t->wg_1d || t->wg_1d > max_wg) bad = "wg_1d must be in [1, device max]";
    else if (!t->wg_2d_x || !t->wg_2d_y || (size_t)t->wg_2d_x * t->wg_2d_y > max_wg)
        bad = "wg_2d_x * wg_2d_y must be in [1, device max]";
    else if (!pow2(t->red_wg) || t->red_wg > max_wg)
        bad = "red_wg must be a power of two <= device max";
    else if (t->red_items < 1 || t->red_items > 1024) bad = "red_items must be in [1, 1024]";
    if (bad)
        return nn_error_set(err, NN_E_INVALID, "OpenCL tuning (%s): %s (max work-group size %zu)",
                            what, bad, max_wg);
    return NN_OK;
}

/* Append "prefix key=value" for each key of `keys` (skipping fp64) to buf at *used. */
static void format_keys(const void *base, const struct mm_key *keys, size_t n, const char *prefix,
                        char *buf, size_t len, size_t *used) {
    for (size_t i = 0; i < n; i++) {
        if (strcmp(keys[i].key, "fp64") == 0) continue;
        unsigned long long v = load(base, &keys[i]);
        char val[24];
        if (v == ULLONG_MAX) snprintf(val, sizeof val, "max");
        else snprintf(val, sizeof val, "%llu", v);
        int w = snprintf(buf + *used, len - *used, "%s%s%s=%s", *used ? "," : "", prefix,
                         keys[i].key, val);
        if (w < 0 || (size_t)w >= len - *used) {
            *used = len - 1;
            return;
        }
        *used += (size_t)w;
    }
}

void nn_cl_mm_format(const nn_cl_mm *m, const char *prefix, char *buf, size_t len) {
    if (!len) return;
    buf[0] = '\0';
    size_t used = 0;
    format_keys(m, MM_KEYS, N_MM_KEYS, prefix, buf, len, &used);
}

void nn_cl_ops_format(const nn_cl_tune *t, char *buf, size_t len) {
    if (!len) return;
    buf[0] = '\0';
    size_t used = 0;
    format_keys(t, OPS_KEYS, N_OPS_KEYS, "", buf, len, &used);
}

void nn_cl_tune_format(const nn_cl_tune *t, char *buf, size_t len) {
    if (!len) return;
    buf[0] = '\0';
    size_t used = 0;
    format_keys(t, OPS_KEYS, N_OPS_KEYS, "", buf, len, &used);
    for (int c = 0; c < NN_TUNE_CLASSES; c++) {
        char prefix[16];
        snprintf(prefix, sizeof prefix, "%s.", nn_tune_class_name((nn_tune_class)c));
        format_keys(&t->mm[c], MM_KEYS, N_MM_KEYS, prefix, buf, len, &used);
    }
}

int nn_cl_mm_equal(const nn_cl_mm *a, const nn_cl_mm *b) {
    for (size_t i = 0; i < N_MM_KEYS; i++)
        if (load(a, &MM_KEYS[i]) != load(b, &MM_KEYS[i])) return 0;
    return 1;
}
