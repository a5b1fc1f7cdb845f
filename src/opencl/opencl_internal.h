/* opencl_internal.h — shared declarations of the OpenCL backend's files
 * (internal to src/opencl). One nn_cl_ctx per open backend; nothing global. */
#ifndef NN_OPENCL_INTERNAL_H
#define NN_OPENCL_INTERNAL_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>
#include <stddef.h>

#include "backend.h"
#include "nn_tools.h"
#include "nn_tune.h"

/* ------------------------------------------------------------------ errors */

/* Name of an OpenCL error code, e.g. "CL_OUT_OF_RESOURCES". Never NULL. */
const char *nn_cl_error_name(cl_int code);
/* Set err to `status` and "OpenCL call(what) failed: NAME (code)"; returns status. */
nn_status nn_cl_fail(nn_error *err, nn_status status, const char *call, const char *what,
                     cl_int code);
/* NN_E_NOMEM for allocation failures, else `otherwise`. */
nn_status nn_cl_status_for(cl_int code, nn_status otherwise);

/* ----------------------------------------------------------------- devices */

/* One device in the global order (platforms in clGetPlatformIDs order, then
 * their devices of every type). */
typedef struct nn_cl_device_ref {
    cl_platform_id platform;
    cl_device_id device;
    cl_device_type type;
    size_t platform_index;
} nn_cl_device_ref;

/* Every device of every platform; *out is malloc'ed (free()). NN_E_UNAVAILABLE
 * with the reason when there is no platform or no device at all. */
nn_status nn_cl_enumerate(nn_cl_device_ref **out, size_t *count, nn_error *err);
/* Pick a device: spec NULL, "" or "auto" = first GPU/accelerator, else the
 * first device; digits = global index; otherwise a case-insensitive substring
 * of the device or platform name. NN_E_INVALID, listing the devices, when
 * nothing matches. */
nn_status nn_cl_choose(const nn_cl_device_ref *devs, size_t count, const char *spec,
                       size_t *chosen, nn_error *err);
/* A string property of a device (CL_DEVICE_NAME, ...), "" on failure. */
void nn_cl_device_str(cl_device_id dev, cl_device_info what, char *buf, size_t len);
/* A string property of a platform (CL_PLATFORM_NAME, ...), "" on failure. */
void nn_cl_platform_str(cl_platform_id pf, cl_platform_info what, char *buf, size_t len);

/* ------------------------------------------------------------------ tuning */

/* Matmul launch parameters of one shape class (nn_tune_class); the matmul
 * program of the class is built with the same values as -D options, so the
 * host and the kernels agree on every tile size. */
typedef struct nn_cl_mm {
    unsigned wpt_m, wpt_n;   /* rows x columns of c per work-item (wpt_n = vector width) */
    unsigned wg_m, wg_n;     /* work-group of wg_n x wg_m work-items */
    unsigned pack_wg;        /* copies: pack_wg x pack_wg work-items (transpose), pack_wg^2 (panels) */
    int pack_panels;         /* 1: pack into panels of wpt (CPU); 0: copy only b^T, row-major */
    int local;               /* 1: nn_matmul_local (local-memory tiles; needs pack_panels 0) */
    unsigned tile_k;         /* nn_matmul_local: steps of k per staged tile */
    size_t direct_max;       /* with pack_panels: an operand of at most this many elements
                                is read in place (SIZE_MAX: always, written "max") */
} nn_cl_mm;

/* Every launch parameter of the backend. */
typedef struct nn_cl_tune {
    nn_cl_mm mm[NN_TUNE_CLASSES]; /* matmul, per shape class */
    unsigned wg_1d;               /* work-group of 1-D kernels */
    unsigned wg_2d_x, wg_2d_y;    /* work-group of 2-D (column, row) kernels */
    unsigned red_wg, red_items;   /* nn_reduce_sum: work-group (power of two), items per item */
    int fp64; /* 1: accumulate losses in double when the device has fp64; 0: float (not tuned) */
} nn_cl_tune;

/* Built-in defaults of a device type, work-groups fitted to max_wg. */
void nn_cl_tune_defaults(cl_device_type type, size_t max_wg, nn_cl_tune *t);
/* Apply a spec of tokens separated by commas or spaces: "cpu" / "gpu" (that
 * profile's defaults, fitted to max_wg), "key=value" (every class for matmul
 * keys) or "class.key=value" (one class). `what` names the spec's origin in
 * messages. NN_E_INVALID for an unknown token or a malformed value. */
nn_status nn_cl_tune_apply(nn_cl_tune *t, const char *spec, size_t max_wg, const char *what,
                           nn_error *err);
/* NN_E_INVALID ("OpenCL tuning (what): ...") unless every value is one the
 * kernels and a device with max_wg work-items per group accept. */
nn_status nn_cl_tune_validate(const nn_cl_tune *t, size_t max_wg, const char *what,
                              nn_error *err);
/* Every tuned value (not fp64) as "key=value,..." with class-prefixed matmul keys. */
void nn_cl_tune_format(const nn_cl_tune *t, char *buf, size_t len);
/* One class's matmul values as "wpt_m=..,...", prefixed by `prefix` (may be "") on each key. */
void nn_cl_mm_format(const nn_cl_mm *m, const char *prefix, char *buf, size_t len);
/* The non-matmul values as "wg_1d=..,wg_2d_x=..,...". */
void nn_cl_ops_format(const nn_cl_tune *t, char *buf, size_t len);
/* 1 when two matmul parameter sets build and launch identically. */
int nn_cl_mm_equal(const nn_cl_mm *a, const nn_cl_mm *b);
/* NN_E_INVALID unless one class's values suit the kernels and max_wg. */
nn_status nn_cl_mm_validate(const nn_cl_mm *m, size_t max_wg, const char *what, nn_error *err);

/* ----------------------------------------------------------------- program */

/* Every kernel of the backend, grouped by the unit whose program holds it
 * (nn_cl_unit_of goes by these ranges). */
typedef enum nn_cl_kernel_id {
    /* NN_UNIT_MAIN: elementwise.cl, optimizer.cl */
    NN_K_FILL,
    NN_K_COPY,
    NN_K_BIAS_ADD,
    NN_K_RELU_FORWARD,
    NN_K_SIGMOID_FORWARD,
    NN_K_TANH_FORWARD,
    NN_K_SOFTMAX_ROWS,
    NN_K_RELU_BACKWARD,
    NN_K_SIGMOID_BACKWARD,
    NN_K_TANH_BACKWARD,
    NN_K_GATHER_ROWS,
    NN_K_SGD,
    NN_K_MOMENTUM,
    NN_K_ADAM,
    NN_K_BIAS_ACT, /* fused ops (opencl_fused.c) */
    NN_K_BIAS_SOFTMAX_ROWS,
    NN_K_ACT_BACKWARD_COL_SUM,
    /* NN_UNIT_REDUCE: loss.cl, reduce.cl */
    NN_K_LOSS_BCE_ROWS,
    NN_K_LOSS_CE_ROWS,
    NN_K_LOSS_MSE_ROWS,
    NN_K_LOSS_GRAD,
    NN_K_REDUCE_SUM,
    NN_K_COL_SUM,
    NN_K_LOSS_GRAD_COL_SUM, /* fused ops (opencl_fused.c) */
    NN_K_LOSS_GRAD_ROWS,
    /* NN_UNIT_MATMUL: matmul.cl */
    NN_K_MATMUL,
    NN_K_MATMUL_LOCAL,
    NN_K_PACK_A,
    NN_K_PACK_B,
    NN_K_TRANSPOSE,
    NN_K_COUNT
} nn_cl_kernel_id;

/* The kernels are built as separate programs so that tuned values rebuild
 * only what they affect: matmul.cl once per distinct class parameters,
 * reduce.cl with the reduction values (and loss.cl with it: its row losses
 * are summed in the first level of the reduction by nn_loss_grad_rows, whose
 * work-group is the reduction's), every other file once. */
typedef enum nn_cl_unit {
    NN_UNIT_MAIN,   /* every .cl file except matmul.cl, loss.cl and reduce.cl */
    NN_UNIT_REDUCE, /* loss.cl, reduce.cl; -DRED_WG, -DRED_ITEMS, -DNN_LOSS_CAP, NN_FP64 */
    NN_UNIT_MATMUL, /* matmul.cl; -DWPT_M, -DWPT_N, -DWG_M, -DWG_N, -DTILE_K, -DPACK_WG */
    NN_UNIT_COUNT
} nn_cl_unit;

/* The unit whose program holds kernel id. */
nn_cl_unit nn_cl_unit_of(nn_cl_kernel_id id);

/* A kernel source file: its name (e.g. "matmul.cl") and text. */
typedef struct nn_cl_source {
    const char *name;
    const char *text;
} nn_cl_source;

/* The .cl files of kernels/, embedded at build time (generated by cmake/embed_kernels.cmake). */
extern const nn_cl_source nn_cl_embedded_sources[];
extern const size_t nn_cl_embedded_count;

#define NN_CL_MAX_SOURCES 64

/* The kernel sources a backend builds from: the embedded files, or with
 * $NN_KERNEL_DIR the files of the same names from that folder. */
typedef struct nn_cl_sources {
    size_t count;
    const char *name[NN_CL_MAX_SOURCES];
    const char *text[NN_CL_MAX_SOURCES];
    char *owned[NN_CL_MAX_SOURCES]; /* malloc'ed texts read from $NN_KERNEL_DIR, else NULL */
    unsigned long long hash;        /* FNV-1a 64 over every name and text */
} nn_cl_sources;

/* Load the sources (see nn_cl_sources). NN_E_UNAVAILABLE naming the file
 * that cannot be read. Release with nn_cl_sources_free even on failure. */
nn_status nn_cl_sources_load(nn_cl_sources *s, nn_error *err);
void nn_cl_sources_free(nn_cl_sources *s);
/* The whole file at path in a malloc'ed buffer with a NUL after its *n bytes
 * (n may be NULL; NULs inside are kept). NULL with errno: EFBIG when it is
 * over max bytes. */
char *nn_cl_read_file(const char *path, size_t max, size_t *n);
/* FNV-1a 64 of n bytes at p, continuing from h (NN_CL_FNV_BASIS to start):
 * the kernels' hash and the tune cache's line checksums. */
#define NN_CL_FNV_BASIS 14695981039346656037ULL
unsigned long long nn_cl_fnv(unsigned long long h, const char *p, size_t n);

/* One built program of a unit with its kernels (NULL for kernels of other
 * units) and the values it was built with. */
typedef struct nn_cl_prog {
    nn_cl_unit unit;
    cl_program program;
    cl_kernel k[NN_K_COUNT];
    size_t max_wg[NN_K_COUNT];   /* CL_KERNEL_WORK_GROUP_SIZE of each kernel */
    nn_cl_mm mm;                 /* NN_UNIT_MATMUL: its values */
    unsigned red_wg, red_items;  /* NN_UNIT_REDUCE: its values */
} nn_cl_prog;

/* Where a program build stopped. */
typedef enum nn_cl_build_fail {
    NN_CL_BUILT,          /* no failure */
    NN_CL_FAIL_BUILD,     /* clBuildProgram or clCreateKernel failed */
    NN_CL_FAIL_WORKGROUP, /* a kernel's fixed work-group exceeds what the device allows */
} nn_cl_build_fail;

/* ----------------------------------------------------------------- context */

/* Scratch buffers owned by the backend, reused across ops (one in-order queue). */
enum { NN_SCRATCH_PACK_A, NN_SCRATCH_PACK_B, NN_SCRATCH_LOSS, NN_SCRATCH_COUNT };

typedef struct nn_cl_ctx {
    cl_platform_id platform;
    cl_device_id device;
    cl_device_type type;
    cl_context context;
    cl_command_queue queue;      /* in-order; every op enqueues here */
    size_t max_wg;               /* CL_DEVICE_MAX_WORK_GROUP_SIZE */
    nn_cl_sources src;
    nn_cl_prog main, reduce;     /* NN_UNIT_MAIN and NN_UNIT_REDUCE */
    nn_cl_prog mm[NN_TUNE_CLASSES]; /* NN_UNIT_MATMUL: mm[i] built when mm_of[i] == i */
    int mm_of[NN_TUNE_CLASSES];  /* class -> index of the program it launches (shared
                                    by classes with equal values) */
    nn_cl_tune tune;
    nn_tune_source tune_source;
    cl_ulong max_alloc;          /* CL_DEVICE_MAX_MEM_ALLOC_SIZE, bytes */
    int fp64;                    /* loss accumulation in double (cl_khr_fp64) */
    size_t acc_size;             /* bytes of one loss accumulator: 8 with fp64, else 4 */
    char *build_log;             /* last build log (malloc'ed), may be NULL */
    cl_mem scratch[NN_SCRATCH_COUNT];
    size_t scratch_bytes[NN_SCRATCH_COUNT];
    /* profiling (cfg->profile): events not yet read, and the totals */
    int profiling;
    nn_profile prof;
    cl_event *pending;
    unsigned char *pending_transfer; /* 1: the pending event is a copy */
    size_t n_pending, cap_pending;
} nn_cl_ctx;

/* A backend buffer: one cl_mem of max(count, 1) 4-byte elements. */
struct nn_buf {
    cl_mem mem;
    size_t count;
};

static inline nn_cl_ctx *nn_cl_of(const nn_backend *be) { return (nn_cl_ctx *)be->ctx; }

/* Build the program of `unit` for c->device from c->src: REDUCE with c's
 * fp64 and t's red_wg/red_items, MATMUL with *mm (NULL otherwise);
 * create its kernels. On failure NN_E_UNAVAILABLE with a summary line, then
 * the build log, *fail (may be NULL) says where it stopped, and *p holds
 * nothing to release. */
nn_status nn_cl_prog_build(nn_cl_ctx *c, nn_cl_unit unit, const nn_cl_tune *t,
                           const nn_cl_mm *mm, nn_cl_prog *p, nn_cl_build_fail *fail,
                           nn_error *err);
/* Release a program's kernels and program (a zeroed or released one is a no-op). */
void nn_cl_prog_release(nn_cl_prog *p);
/* Build every program for c->tune (matmul once per distinct class values). */
nn_status nn_cl_programs_build(nn_cl_ctx *c, nn_error *err);
/* Release every program of c. */
void nn_cl_programs_release(nn_cl_ctx *c);
/* Name of a kernel function, e.g. "nn_matmul". */
const char *nn_cl_kernel_name(nn_cl_kernel_id id);
/* The -D options and flags of a unit's program, into buf (as passed to clBuildProgram). */
void nn_cl_build_options(const nn_cl_ctx *c, nn_cl_unit unit, const nn_cl_tune *t,
                         const nn_cl_mm *mm, char *buf, size_t len);

/* ------------------------------------------------------------------- cache */

#define NN_CL_CACHE_FORMAT 1     /* format version of the cache lines this code writes */
#define NN_CL_CACHE_MAGIC "nnbench-opencl-tune"

/* What keys a device's cache entry (tabs and line breaks replaced by spaces). */
typedef struct nn_cl_ident {
    char platform[128], device[128], driver[128];
    unsigned long long kernels; /* nn_cl_sources.hash of the kernels it was tuned with */
} nn_cl_ident;

/* The identity of device dev of platform pf, with kernel hash `kernels`. */
void nn_cl_ident_get(cl_platform_id pf, cl_device_id dev, unsigned long long kernels,
                     nn_cl_ident *id);
/* One cache line (no newline) for id: format version, time stamp `when`
 * (seconds since 1970), parameters, checksum. Tests forge entries with it. */
void nn_cl_cache_line(int format, const nn_cl_ident *id, long long when, const char *params,
                      char *buf, size_t len);
/* Look up id's entry in the cache file. *t holds the defaults; when the entry
 * is VALID they are overridden by its parameters (validated against max_wg),
 * otherwise *t is unchanged. Never fails: info says what was found and why
 * an entry was ignored. */
void nn_cl_cache_lookup(const nn_cl_ident *id, size_t max_wg, nn_cl_tune *t,
                        nn_tune_entry_info *info);
/* Store t as id's entry (replacing an older one of the same platform and
 * device), atomically; path (may be NULL) receives the file. NN_E_IO naming
 * the file on failure, NN_E_UNAVAILABLE without a cache folder. */
nn_status nn_cl_cache_save(const nn_cl_ident *id, const nn_cl_tune *t, char *path, size_t len,
                           nn_error *err);

/* How the backend chooses its launch parameters at open. */
typedef enum nn_cl_open_mode {
    NN_CL_OPEN_NORMAL,   /* $NN_OPENCL_TUNE, else the cache entry, else the defaults */
    NN_CL_OPEN_DEFAULTS, /* the built-in defaults only (the tuner's baseline) */
} nn_cl_open_mode;

/* Open an OpenCL backend on `device` (NULL = $NN_OPENCL_DEVICE, else the
 * default) in `mode`; as nn_backend_open("opencl", ...) otherwise. */
nn_status nn_cl_open_backend(const char *device, nn_cl_open_mode mode, nn_backend **out,
                             nn_error *err);

/* ---------------------------------------------------------------- launches */

/* Kernel arguments being set in order; the first failure is kept. */
typedef struct nn_cl_call {
    nn_cl_kernel_id id;
    cl_kernel kernel;
    size_t max_wg; /* CL_KERNEL_WORK_GROUP_SIZE of the kernel */
    cl_uint next;  /* index of the next argument */
    cl_int status;
} nn_cl_call;

/* Start a call of kernel id from c's MAIN or REDUCE program. */
nn_cl_call nn_cl_begin(nn_cl_ctx *c, nn_cl_kernel_id id);
/* Start a call of kernel id from program p. */
nn_cl_call nn_cl_begin_in(const nn_cl_prog *p, nn_cl_kernel_id id);
void nn_cl_arg_mem(nn_cl_call *k, cl_mem m);
void nn_cl_arg_u64(nn_cl_call *k, cl_ulong v);
void nn_cl_arg_u32(nn_cl_call *k, cl_uint v);
void nn_cl_arg_i32(nn_cl_call *k, cl_int v);
void nn_cl_arg_f32(nn_cl_call *k, cl_float v);
/* A view as the kernels take one: its buffer, then its offset in elements (ulong). */
void nn_cl_arg_view(nn_cl_call *k, nn_view v);
/* Enqueue over `work` items per dimension (rounded up to the local size);
 * returns NN_OK without launching when any work[d] is 0. NN_E_BACKEND on failure. */
nn_status nn_cl_launch(nn_cl_ctx *c, nn_cl_call *k, cl_uint dims, const size_t *work,
                       const size_t *local, nn_error *err);
/* 1-D launch over n items with the tune's 1-D work-group. */
nn_status nn_cl_launch_1d(nn_cl_ctx *c, nn_cl_call *k, size_t n, nn_error *err);
/* 2-D launch over (cols, rows) with the tune's 2-D work-group. */
nn_status nn_cl_launch_2d(nn_cl_ctx *c, nn_cl_call *k, size_t cols, size_t rows, nn_error *err);

/* Scratch buffer `slot` with at least `bytes` bytes (grown as needed). */
nn_status nn_cl_scratch(nn_cl_ctx *c, int slot, size_t bytes, cl_mem *out, nn_error *err);

/* Profiling: remember an event of a kernel (transfer = 0) or a copy (1); takes
 * ownership. Without profiling, just releases it. */
void nn_cl_track(nn_cl_ctx *c, cl_event ev, int transfer);
/* Add the times of finished pending events to c->prof (waits for them). */
void nn_cl_harvest(nn_cl_ctx *c);

/* NN_E_INVALID unless the view holds `count` elements from its offset. */
nn_status nn_cl_check_view(nn_view v, size_t count, const char *op, const char *name,
                           nn_error *err);
/* NN_E_INVALID ("op: R x C elements overflow") if rows * cols overflows; else *n = rows * cols. */
nn_status nn_cl_elems(const char *op, size_t rows, size_t cols, size_t *n, nn_error *err);
/* NN_E_INVALID unless every size fits the kernels' 32-bit dimensions. */
nn_status nn_cl_check_dims(const char *op, size_t a, size_t b, size_t c, nn_error *err);

/* ---------------------------------------------------------------------- ops */

nn_status nn_cl_matmul(nn_backend *be, nn_view c, nn_view a, nn_view b, size_t m, size_t n,
                       size_t k, int trans_a, int trans_b, int accumulate, nn_error *err);
/* The matmul program c launches for a product of (m, n, k). */
const nn_cl_prog *nn_cl_matmul_prog(const nn_cl_ctx *c, size_t m, size_t n, size_t k);
/* As ops.matmul, through program p (built with NN_UNIT_MATMUL) and its values. */
nn_status nn_cl_matmul_with(nn_cl_ctx *ctx, const nn_cl_prog *p, nn_view c, nn_view a, nn_view b,
                            size_t m, size_t n, size_t k, int trans_a, int trans_b,
                            int accumulate, nn_error *err);
nn_status nn_cl_bias_add(nn_backend *be, nn_view z, nn_view bias, size_t rows, size_t cols,
                         nn_error *err);
nn_status nn_cl_act_forward(nn_backend *be, nn_act act, nn_view y, nn_view z, size_t rows,
                            size_t cols, nn_error *err);
nn_status nn_cl_act_backward(nn_backend *be, nn_act act, nn_view dz, nn_view dy, nn_view z,
                             nn_view y, size_t rows, size_t cols, nn_error *err);
nn_status nn_cl_loss_sum(nn_backend *be, nn_loss loss, nn_view acc, nn_view z, nn_view t,
                         size_t rows, size_t cols, nn_error *err);
nn_status nn_cl_loss_grad(nn_backend *be, nn_loss loss, nn_view dz, nn_view y, nn_view t,
                          size_t rows, size_t cols, float scale, nn_error *err);
nn_status nn_cl_col_sum(nn_backend *be, nn_view out, nn_view x, size_t rows, size_t cols,
                        nn_error *err);
nn_status nn_cl_gather_rows(nn_backend *be, nn_view dst, nn_view src, nn_view idx, size_t rows,
                            size_t cols, nn_error *err);
nn_status nn_cl_update(nn_backend *be, const nn_opt_step *step, nn_view p, nn_view g, nn_view m,
                       nn_view v, size_t n, nn_error *err);
/* fused ops (opencl_fused.c) */
nn_status nn_cl_bias_act(nn_backend *be, nn_act act, nn_view z, nn_view a, nn_view b, size_t rows,
                         size_t cols, nn_error *err);
nn_status nn_cl_act_backward_sum(nn_backend *be, nn_act act, nn_view dz, nn_view db, nn_view dy,
                                 nn_view z, nn_view y, size_t rows, size_t cols, nn_error *err);
nn_status nn_cl_loss_grad_sum(nn_backend *be, nn_loss loss, nn_view acc, nn_view dz, nn_view db,
                              nn_view z, nn_view y, nn_view t, size_t rows, size_t cols,
                              float scale, nn_error *err);
/* The pair acc[0..2) += sum of the n acc_t values at the start of scratch
 * buffer buf (nn_reduce_sum passes of c->reduce, using buf beyond n as room). */
nn_status nn_cl_reduce_into(nn_cl_ctx *c, cl_mem buf, size_t n, nn_view acc, nn_error *err);

#endif /* NN_OPENCL_INTERNAL_H */
