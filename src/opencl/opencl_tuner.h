/* opencl_tuner.h — the autotuner's pieces (internal to src/opencl):
 * workloads with their CPU references (opencl_tuner_work.c), the groups and
 * their search spaces (opencl_tuner_space.c), and the search itself
 * (opencl_tuner.c, which implements nn_tune_run). */
#ifndef NN_OPENCL_TUNER_H
#define NN_OPENCL_TUNER_H

#include "opencl/opencl_internal.h"

/* ------------------------------------------------------------- candidates */

/* One candidate configuration of a group: the full parameter set (only the
 * group's part varies) and, once built, the program the group needs (the
 * class's matmul program, or the reduce program for "ops"). */
typedef struct tn_cand {
    nn_cl_tune t;
    nn_cl_prog prog;
    int built;
    unsigned index;                  /* 1-based candidate number in its group (0: the defaults) */
    char params[NN_TUNE_PARAMS_LEN]; /* the group's values, key=value,... */
} tn_cand;

/* ------------------------------------------------------------- workloads */

typedef enum tn_kind { TN_MATMUL, TN_ADAM, TN_RELU, TN_BIAS, TN_GATHER, TN_COLSUM, TN_LOSS } tn_kind;

/* Coordinates of the "ops" group, as a mask of the ops they affect. */
enum { TN_AFFECT_1D = 1, TN_AFFECT_2D = 2, TN_AFFECT_RED = 4 };

#define TN_PAD 13         /* canary elements around every output view (odd: unaligned) */
#define TN_MAX_OUTS 3

/* One checked output: an OpenCL buffer of PAD + n + PAD elements viewed at PAD. */
typedef struct tn_out {
    nn_buf *buf;
    size_t n;
    float *init; /* (PAD + n + PAD) contents before a verification run: canaries around */
    float *ref;  /* (n) expected values (CPU backend) */
    float *tol;  /* (n) absolute tolerance of each element */
    int pair;    /* 1: a compensated pair (n = 2); compare ref[0] + ref[1] within tol[0] */
} tn_out;

/* One workload: a matrix product or an op, with inputs on the OpenCL
 * backend and the CPU backend's results. */
typedef struct tn_work {
    tn_kind kind;
    char label[40];
    size_t m, n, k;       /* products: sizes; ops: m rows, n columns */
    int ta, tb;
    double amount;        /* flops (products) or elements (ops) per call */
    unsigned affect;      /* ops: TN_AFFECT_* of the coordinates that change its launches */
    nn_buf *in[4];        /* OpenCL inputs (never modified), viewed at offset TN_PAD */
    tn_out out[TN_MAX_OUTS];
    size_t n_outs;
    nn_opt_step step;     /* TN_ADAM */
    size_t reps;          /* calls per timed sample */
    unsigned tried, build_failed, launch_failed, verify_failed, verified;
} tn_work;

/* The tuner's state for one run. */
typedef struct tn_state {
    nn_backend *ocl, *cpu;
    nn_cl_ctx *c;
    nn_cl_prog reduce0;   /* the backend's own reduce program, restored at the end */
    nn_cl_tune defaults;
    int quick;
    unsigned rounds;
    double target;        /* seconds per timed sample */
    double t0;
    const nn_tune_options *opt;
    nn_tune_report *rep;
    nn_cl_ident ident;
} tn_state;

/* Prepare a product (sizes, transposes) with random inputs and the CPU
 * reference; NN_E_NOMEM / backend errors. */
nn_status tn_work_matmul(tn_state *s, tn_work *w, size_t m, size_t n, size_t k, int ta, int tb,
                         nn_error *err);
/* Prepare an op workload of `kind` on (rows, cols). */
nn_status tn_work_op(tn_state *s, tn_work *w, tn_kind kind, size_t rows, size_t cols,
                     nn_error *err);
/* Release a workload's buffers. */
void tn_work_free(tn_state *s, tn_work *w);

/* Outcome of a verification. */
typedef enum tn_check { TN_VERIFIED, TN_LAUNCH_FAILED, TN_VERIFY_FAILED } tn_check;
/* Run w once with candidate x (built) from its initial state and compare with
 * the reference; detail gets the first line of the reason on failure. */
tn_check tn_verify(tn_state *s, const tn_cand *x, tn_work *w, char *detail, size_t len);
/* Enqueue `times` calls of w with candidate x and wait; NN_OK or the launch error. */
nn_status tn_run(tn_state *s, const tn_cand *x, tn_work *w, size_t times, nn_error *err);

/* ------------------------------------------------------------- groups */

#define TN_MAX_WORKS 8
#define TN_GROUPS (NN_TUNE_CLASSES + 1) /* the classes, then "ops" */
#define TN_OPS NN_TUNE_CLASSES

/* The shapes of group g (a class, or TN_OPS) for quick or full searches:
 * fills w[0..*n) (prepared). */
nn_status tn_group_works(tn_state *s, int g, tn_work *w, size_t *n, nn_error *err);
/* Name of group g: a class name or "ops". */
const char *tn_group_name(int g);

/* A coordinate of a group's search: a name and values, applied to a candidate. */
typedef struct tn_coord {
    const char *name;
    unsigned affect; /* ops group: TN_AFFECT_* (which ops to time); 0 for products */
    size_t n_values;
} tn_coord;

/* Number of coordinates of group g. */
size_t tn_coord_count(int g, int quick);
/* Coordinate ci of group g (quick: reduced values); NULL past the last. */
const tn_coord *tn_coord_info(int g, int quick, size_t ci);
/* Set coordinate `ci`'s value `vi` on candidate t of group g (with the fixes
 * the value needs, e.g. local tiles without panels). 0 when the coordinate does
 * not apply to t (skipped), 1 otherwise. */
int tn_coord_set(int g, int quick, size_t ci, size_t vi, nn_cl_tune *t);
/* Build x's program for group g (x->t set); counts nothing. *fail as nn_cl_prog_build. */
nn_status tn_cand_build(tn_state *s, int g, tn_cand *x, nn_cl_build_fail *fail, nn_error *err);
/* Release x's program. */
void tn_cand_release(tn_cand *x);
/* 1 when a and b have the same values in group g. */
int tn_cand_same(int g, const nn_cl_tune *a, const nn_cl_tune *b);
/* 1 when work w of group g launches exactly the same kernels with a and b
 * (an op whose work-group sizes are equal in both); products: a and b equal. */
int tn_work_unaffected(int g, const tn_work *w, const nn_cl_tune *a, const nn_cl_tune *b);
/* The group's values of t as key=value,... into buf. */
void tn_group_params(int g, const nn_cl_tune *t, char *buf, size_t len);

#endif /* NN_OPENCL_TUNER_H */
