/* nn_tools.h — what tools around the library need beyond nn.h: the programs
 * that list devices, benchmark, profile and compare backends (nnbench, the
 * tests). Training itself needs only nn.h.
 *
 * Conventions as in nn.h: statuses and one-line messages in nn_error, no
 * printing, no global mutable state. Sections:
 *   1. OpenCL device inventory
 *   2. Profiling
 *   3. Matrix multiply for benchmarks
 *   4. Backend parity (one-step errors, free-running trajectories)
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

/* ----------------------------------------------------------- 4. Backend parity
 *
 * The same training on two backends (the reference, normally cpu, and
 * another), compared two ways:
 *
 * (a) One-step errors: the verdict of `nnbench check` (nn_parity_step_check).
 *     The other backend's trainer takes the reference trainer's state
 *     (weights, optimizer moments, position), both take their next step on
 *     the same batch, and every float32 quantity of that step is compared
 *     element by element: each layer's pre-activations Z and activations A,
 *     the batch loss, each layer's gradients dW and db, optimizer moments m
 *     and v and the update w_after - w_before. The step is recomputed in
 *     double on the host together with a bound E(x) >= |x_float - x_exact|
 *     that holds for any float32 evaluation of the library's formulas (a
 *     K-long dot product errs by at most gamma_K = K u / (1 - K u), u = 2^-24,
 *     times the sum of its terms' magnitudes; errors of the inputs are carried
 *     through every layer of the forward and backward pass, through each
 *     activation's derivative and through the optimizer's formula; the
 *     derivation is in src/parity_bound.c). An element is out of tolerance
 *     when the backends differ by more than E_ref + E_other = 2 E(x).
 *     ReLU kinks: where the two backends' pre-activations lie on different
 *     sides of 0 (a flip, counted), the gradient may differ by all of |dA|,
 *     and the bound there says so. Adam: the update is bounded over the whole
 *     interval g +- E(g) of each gradient element, so an element whose
 *     gradient is below its own rounding bound gets the whole range.
 * (b) Free-running trajectories (information): two trainers run on their own
 *     and their weights are compared at logging points (nn_parity_compare);
 *     chaotic training separates them by amplifying rounding, which is not a
 *     bug when the one-step errors stay within their bounds. */

/* Relative weight difference ||w - w_ref|| / ||w_ref|| above which two
 * free-running trajectories are said to have separated. */
#define NN_PARITY_SEPARATION 1e-3
/* Agreement of free-running trajectories where training is not chaotic (the
 * parity tests' well-conditioned runs): |loss - loss_ref| <= ATOL + RTOL *
 * |loss_ref| and max |w - w_ref| <= WEIGHT_RTOL * max |w_ref|. */
#define NN_PARITY_LOSS_ATOL 1e-5
#define NN_PARITY_LOSS_RTOL 1e-3
#define NN_PARITY_WEIGHT_RTOL 1e-3

/* Two free-running trajectories compared at one logging point. */
typedef struct nn_parity {
    double loss_diff;   /* |loss - loss_ref| (NaN when either is NaN) */
    double loss_rel;    /* loss_diff / |loss_ref|; loss_diff when loss_ref is 0 */
    double weight_diff; /* max |w - w_ref|, NaN when any difference is NaN */
    double weight_max;  /* max |w_ref| */
    double weight_rel;  /* ||w - w_ref|| / ||w_ref|| (2-norms; NaN propagates) */
    int separated;      /* weight_rel > NN_PARITY_SEPARATION, or NaN */
    int ok;             /* within the agreement tolerances above */
} nn_parity;

/* Compare a run's loss and weights w: (n) with the reference's at one point. */
nn_parity nn_parity_compare(double loss_ref, double loss, const float *w_ref, const float *w,
                            size_t n);

/* The quantities of one step, in the order the step computes them for a
 * layer (forward: Z, A; the loss; backward: dW, db; update: m, v, update). */
typedef enum nn_parity_qty {
    NN_PQ_Z,      /* pre-activations of the batch rows: (rows, out) */
    NN_PQ_A,      /* activations (the last layer: probabilities or values): (rows, out) */
    NN_PQ_LOSS,   /* the step's mean batch loss: 1 element, kept with the last layer */
    NN_PQ_DW,     /* weight gradients: (in, out) */
    NN_PQ_DB,     /* bias gradients: (out) */
    NN_PQ_M,      /* momentum velocity or Adam first moment after the step: W and b */
    NN_PQ_V,      /* Adam second moment after the step: W and b */
    NN_PQ_UPDATE, /* w_after - w_before: W and b */
    NN_PQ_COUNT
} nn_parity_qty;

/* Static short name: "Z", "A", "loss", "dW", "db", "m", "v", "update". */
const char *nn_parity_qty_name(nn_parity_qty q);

/* One quantity of one layer compared; E_i is the rounding bound of element i. */
typedef struct nn_parity_item {
    size_t n;           /* elements compared; 0 when the quantity does not apply */
    double diff_norm;   /* ||x - x_ref|| */
    double ref_norm;    /* ||x_ref|| */
    double tol_norm;    /* ||2 E|| */
    double worst;       /* max_i |x_i - x_ref_i| / (2 E_i); 0/0 = 0, d/0 = inf, NaN = inf */
    size_t worst_index; /* its element */
    size_t beyond;      /* elements with |x_i - x_ref_i| > 2 E_i (or NaN) */
    double dev_ref;     /* max_i |x_ref_i - exact_i| / E_i: how far the reference is from the
                           double recomputation, in units of its own bound */
    double dev_other;   /* the same for the other backend */
} nn_parity_item;

/* ||x - x_ref|| / ||x_ref||, and the tolerance ||2E|| / ||x_ref|| (absolute
 * norms when ||x_ref|| is 0). */
double nn_parity_item_rel(const nn_parity_item *it);
double nn_parity_item_tol(const nn_parity_item *it);
/* 1 when every element is within its bound (which implies rel <= tol). */
int nn_parity_item_ok(const nn_parity_item *it);

/* One step of two backends from the same state, compared. */
typedef struct nn_parity_step {
    uint64_t step;       /* optimizer steps taken before this one */
    int epoch;           /* position of the step */
    uint64_t epoch_step;
    size_t rows;         /* rows of its batch */
    size_t n_layers;
    nn_parity_item item[NN_MAX_LAYERS][NN_PQ_COUNT]; /* [layer][quantity], layer 0 first */
    size_t kink_near[NN_MAX_LAYERS];  /* ReLU pre-activations within their bound of 0 */
    size_t kink_flips[NN_MAX_LAYERS]; /* ... that the two backends put on different sides */
    double loss_ref, loss; /* the step's batch loss on each backend */
    double loss_exact;     /* recomputed in double */
    int ref_finite;      /* 0: the reference's own results are not finite (it diverged), so
                            nothing can be judged; ok is then 0 and bad_layer -1 */
    int ok;              /* every item within its bounds */
    int bad_layer;       /* the first item out of tolerance in the order the step computes
                            them (forward by layer, loss, backward from the last layer,
                            update by layer); -1 when ok */
    nn_parity_qty bad_qty;
} nn_parity_step;

/* Global indices (rows of src) of the rows of the trainer's next step, in the
 * order the step takes them (all ranks' slices together): rows[0..*count).
 * NN_E_INVALID when training is finished or the batch has more than cap rows. */
nn_status nn_trainer_batch_rows(const nn_trainer *t, uint64_t *rows, size_t cap, size_t *count,
                                nn_error *err);

/* keep != 0: every later forward pass of m keeps the pre-activations of every
 * layer for nn_model_get_layer; 0 (the default): a backend whose fused ops do
 * without the pre-activations of hidden layers (the CPU) does not store them.
 * Either way every result is the same; keeping costs a little speed. Returns
 * the previous setting. */
int nn_model_keep_preactivations(nn_model *m, int keep);

/* The pre-activations z and activations a, each (rows, out), of layer `layer`
 * (0 = the first weight layer) from the model's last forward pass over `rows`
 * rows (a training step's batch in step order, or a prediction chunk). Either
 * pointer may be NULL. NN_E_INVALID when the layer does not exist, the last
 * pass had room for fewer rows, or z is asked for and the last pass did not
 * keep that layer's pre-activations (see nn_model_keep_preactivations). */
nn_status nn_model_get_layer(nn_model *m, size_t layer, size_t rows, float *z, float *a,
                             nn_error *err);

/* One step checked: `other` takes the state of `ref` (nn_trainer_get_state /
 * _set_state), both take their next step, and everything the step computed is
 * compared as described above into *out. ref and other train ref_model and
 * other_model (same shape) on the same source src with the same config cfg,
 * which must set step_loss = 1. Both trainers advance by one step; other's
 * later steps are meaningless until the next call. A non-finite epoch loss
 * of `other` (NN_E_NUMERIC from its step) is compared like any other result;
 * of `ref`, it is returned (NN_E_NUMERIC). Other failures as their calls. */
nn_status nn_parity_step_check(nn_trainer *ref, nn_model *ref_model, nn_trainer *other,
                               nn_model *other_model, const nn_source *src,
                               const nn_train_config *cfg, nn_parity_step *out, nn_error *err);

#ifdef __cplusplus
}
#endif
#endif /* NN_TOOLS_H */
