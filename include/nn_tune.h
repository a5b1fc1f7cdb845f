/* nn_tune.h — the OpenCL autotuner and its per-device results cache.
 *
 * The OpenCL kernels take their launch parameters (tile sizes, work per
 * work-item, work-group shapes, local-memory tiling, packing) as -D options.
 * Matrix products get one parameter set per shape class, chosen by
 * nn_tune_shape_class() from (m, n, k); the elementwise and reduction kernels
 * share one set of work-group sizes.
 *
 * Where the parameters of an opened OpenCL backend come from, in order:
 *  1. $NN_OPENCL_TUNE when set and not empty ("cpu" / "gpu" profiles and
 *     key=value pairs, see README.md): the cache is then not consulted;
 *  2. else the cache entry of the device, when one is valid;
 *  3. else the built-in defaults of the device type.
 * A cache entry that is corrupt, truncated, stale (other format version,
 * driver version or kernel sources) or out of range for the device, or whose
 * parameters fail to build, is ignored: the backend opens with the defaults
 * and says why in nn_backend_notes() (the library never prints).
 *
 * Cache file: $XDG_CACHE_HOME/nnbench/opencl-tune.txt (an absolute
 * XDG_CACHE_HOME only), else $HOME/.cache/nnbench/opencl-tune.txt. One text
 * line per device, keyed by platform name, device name and driver version,
 * holding a format version, a hash of the kernel sources, the parameters and
 * a checksum of the line. Written atomically (a temporary file in the same
 * folder, then rename); two tuners writing at once: the last one wins.
 *
 * Every function here returns NN_E_UNAVAILABLE when the library was built
 * without OpenCL. */
#ifndef NN_TUNE_H
#define NN_TUNE_H

#include <stddef.h>

#include "nn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------ shape classes */

/* Matrix-product shape classes, each with its own parameters. */
typedef enum nn_tune_class {
    NN_TUNE_SMALL,  /* m*n*k <= 2^17: launch-bound (e.g. 800x8x2 of the tutorial network) */
    NN_TUNE_NARROW, /* otherwise n < 16: few output columns (e.g. (4096 x 64)·(64 x 1)) */
    NN_TUNE_SKINNY, /* otherwise m, n or k < 32 (e.g. (4096 x 2)·(2 x 64), or k = 1) */
    NN_TUNE_MEDIUM, /* otherwise m*n*k < 2^24 (e.g. (256 x 64)·(64 x 64)) */
    NN_TUNE_LARGE,  /* the rest (squares of 256 and up) */
    NN_TUNE_CLASSES
} nn_tune_class;

/* The class whose parameters a product c: (m, n) = op(a): (m, k) · op(b): (k, n) uses. */
nn_tune_class nn_tune_shape_class(size_t m, size_t n, size_t k);
/* Static name of a class: "small", "narrow", "skinny", "medium", "large"; "?" when out of range. */
const char *nn_tune_class_name(nn_tune_class c);

/* ------------------------------------------------------------ the search */

/* What a progress report is about. */
typedef enum nn_tune_event {
    NN_TUNE_EV_GROUP,         /* a group (a shape class, or "ops") starts */
    NN_TUNE_EV_CANDIDATE,     /* a candidate is about to be built and verified */
    NN_TUNE_EV_BUILD_FAILED,  /* the candidate's program did not build (candidate discarded) */
    NN_TUNE_EV_LAUNCH_FAILED, /* it could not run on `shape` (e.g. work-group too large) */
    NN_TUNE_EV_VERIFY_FAILED, /* its result on `shape` disagreed with the CPU reference */
    NN_TUNE_EV_VERIFIED,      /* its result on `shape` matched the CPU reference */
    NN_TUNE_EV_TIMED,         /* it was timed on `shape` against the incumbent */
    NN_TUNE_EV_ACCEPTED,      /* it became the group's incumbent (rate: its speedup) */
    NN_TUNE_EV_FINAL,         /* the group's result on `shape`, timed against the defaults */
} nn_tune_event;

/* One progress report; the strings live until the callback returns. */
typedef struct nn_tune_progress {
    nn_tune_event event;
    const char *group;      /* a class name ("small", ..., "large") or "ops" */
    const char *shape;      /* the shape's label (see nn_tune_shape), NULL for group events */
    const char *params;     /* the candidate's parameters (key=value,...); NULL for GROUP */
    unsigned candidate;     /* 1-based index of the candidate within its group; 0 for GROUP, FINAL */
    double rate;            /* TIMED: the candidate's median rate; FINAL: the stored values';
                               ACCEPTED: geometric-mean speedup over the previous incumbent */
    double baseline_rate;   /* TIMED: the incumbent's median; FINAL: the defaults'; ACCEPTED: 1 */
    const char *unit;       /* unit of the rates: "GFLOP/s" or "Gelem/s" */
    const char *detail;     /* failures: the first line of the reason; else NULL */
    double elapsed_seconds; /* since nn_tune_run began */
} nn_tune_progress;

/* Called for every event; return non-zero to stop the search (NN_E_STOPPED). */
typedef int (*nn_tune_progress_fn)(void *user, const nn_tune_progress *p);

typedef struct nn_tune_options {
    const char *device;  /* OpenCL device: index or name substring (as nn_backend_config.device);
                            NULL = $NN_OPENCL_DEVICE, else the backend's default device */
    int quick;           /* 1: one pass over a reduced space (about a minute on PoCL) */
    int save;            /* 1: store the result in the cache file */
    const char *groups;  /* comma list of groups to tune (class names and "ops");
                            NULL = all; the others keep the defaults */
    unsigned max_candidates; /* per group, at most this many candidates; 0 = no limit */
    unsigned repeats;    /* interleaved timing rounds per comparison (at most 64; the final
                            check uses 3x, at least 15); 0 = 5 (quick) or 9 (full) */
    nn_tune_progress_fn progress; /* may be NULL */
    void *user;
} nn_tune_options;

/* The options of `nnbench tune`: default device, full search, save, no callback. */
nn_tune_options nn_tune_options_default(void);

#define NN_TUNE_MAX_SHAPES 40
#define NN_TUNE_PARAMS_LEN 256

/* One measured workload: a matrix product, or an elementwise/reduction op. */
typedef struct nn_tune_shape {
    char group[8];        /* its group: a class name, or "ops" */
    char label[40];       /* e.g. "NN 256x64x64" (TRANS MxNxK) or "adam n=262144" */
    size_t m, n, k;       /* product sizes; ops: rows, cols, 0 */
    int trans_a, trans_b; /* products: op(a), op(b) stored transposed */
    char unit[8];         /* "GFLOP/s" for products, "Gelem/s" (elements per second) for ops */
    double default_rate;  /* median rate of the defaults, timed interleaved with ... */
    double tuned_rate;    /* ... the stored parameters in the final confirmation (a measurement
                             apart from the one that selected them); equal when the defaults
                             were kept or the shape's launches did not change */
    char default_params[NN_TUNE_PARAMS_LEN]; /* key=value,... of the group's parameters */
    char tuned_params[NN_TUNE_PARAMS_LEN];   /* what was stored (= defaults when none was better) */
    unsigned tried;         /* candidates of its group considered for it */
    unsigned build_failed;  /* ... whose program did not build */
    unsigned launch_failed; /* ... that could not run this shape */
    unsigned verify_failed; /* ... that gave a wrong result on this shape */
    unsigned verified;      /* ... that matched the CPU reference on this shape;
                               tried = build_failed + launch_failed + verify_failed + verified */
} nn_tune_shape;

typedef struct nn_tune_report {
    char platform[128], device[128], driver[128]; /* the cache key */
    int quick;                 /* the options' quick */
    size_t n_shapes;
    nn_tune_shape shapes[NN_TUNE_MAX_SHAPES];
    unsigned candidates;       /* candidates tried in all groups (the defaults not counted) */
    unsigned build_failed, launch_failed, verify_failed; /* candidates discarded for each reason */
    double seconds;            /* the whole search, wall clock */
    char params[1024];         /* the full result (key=value,..., class-prefixed keys) */
    int saved;                 /* 1: written to cache_path */
    char cache_path[1024];
} nn_tune_report;

/* Search the launch parameters for one OpenCL device (opt NULL = defaults):
 * for each group, coordinate descent from the built-in defaults; every
 * candidate is verified against the CPU backend on every shape of its group
 * before it is timed, and discarded (and counted) when it fails to build, to
 * launch or to verify. Each group's result is confirmed against the defaults
 * in interleaved rounds and kept only when its median is at least the
 * defaults' on every shape (else the defaults stay); then the result is saved
 * when opt->save. The search starts from the built-in defaults whatever
 * $NN_OPENCL_TUNE or the cache say. NN_E_STOPPED when the callback stopped it
 * (nothing saved); NN_E_INVALID for bad options; backend errors otherwise. */
nn_status nn_tune_run(const nn_tune_options *opt, nn_tune_report *rep, nn_error *err);

/* ------------------------------------------------------------ the cache */

/* The cache file's path into buf; NN_E_UNAVAILABLE when neither an absolute
 * $XDG_CACHE_HOME nor $HOME is set, NN_E_INVALID when buf is too small. */
nn_status nn_tune_cache_path(char *buf, size_t len, nn_error *err);

/* State of a device's cache entry. */
typedef enum nn_tune_state {
    NN_TUNE_NONE,    /* no entry (or no cache file) */
    NN_TUNE_VALID,   /* an entry the backend will use */
    NN_TUNE_IGNORED, /* an entry the backend will ignore: stale, corrupt or out of range */
} nn_tune_state;

typedef struct nn_tune_entry_info {
    nn_tune_state state;
    char detail[512];     /* VALID: "tuned <UTC date>"; IGNORED: why; NONE: "" */
    char params[1024];    /* VALID: the stored parameters; else "" */
    char path[1024];      /* the cache file consulted ("" when there is no cache folder) */
} nn_tune_entry_info;

/* The cache state of the OpenCL device with global index `device` (as listed
 * by `nnbench devices`). NN_E_INVALID for an index past the last device,
 * NN_E_UNAVAILABLE without OpenCL devices. A missing or unreadable cache is
 * NN_TUNE_NONE (detail says which), not an error. */
nn_status nn_tune_device_status(size_t device, nn_tune_entry_info *out, nn_error *err);

/* Where an open backend's launch parameters came from. */
typedef enum nn_tune_source {
    NN_TUNE_FROM_DEFAULTS, /* built-in defaults of the device type */
    NN_TUNE_FROM_CACHE,    /* the device's cache entry */
    NN_TUNE_FROM_ENV,      /* $NN_OPENCL_TUNE */
} nn_tune_source;

/* The launch parameters an open OpenCL backend uses (key=value,..., the
 * syntax of $NN_OPENCL_TUNE and of the cache) into buf, and their source
 * into *src (may be NULL). NN_E_INVALID for a backend that is not OpenCL or
 * a buf that is too small. */
nn_status nn_tune_backend_params(const nn_backend *be, nn_tune_source *src, char *buf, size_t len,
                                 nn_error *err);

#ifdef __cplusplus
}
#endif
#endif /* NN_TUNE_H */
