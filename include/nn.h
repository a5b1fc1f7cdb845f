/* nn.h — public API of the nnbench library: a from-scratch MLP trainer with
 * interchangeable compute backends (CPU/OpenMP and OpenCL).
 *
 * Conventions
 *  - Every fallible function returns an nn_status and, when `err` is not NULL,
 *    fills it with the status and a one-line message. The library never prints
 *    and never exits.
 *  - All matrices are contiguous, row-major float32. Shapes are written as
 *    (rows, cols) in comments.
 *  - No global mutable state: any number of backends and models may coexist.
 */
#ifndef NN_H
#define NN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ status */

typedef enum nn_status {
    NN_OK = 0,
    NN_E_INVALID,     /* bad argument or configuration */
    NN_E_NOMEM,       /* allocation failed, or a size overflowed */
    NN_E_IO,          /* a file could not be opened, read or written */
    NN_E_PARSE,       /* a file's content is malformed */
    NN_E_UNAVAILABLE, /* the backend cannot be used here (no platform/device) */
    NN_E_BACKEND,     /* the backend failed while running (e.g. an OpenCL error) */
    NN_E_NUMERIC,     /* a NaN or Inf appeared where a finite value is required */
    NN_E_STOPPED,     /* a callback asked training to stop */
} nn_status;

/* Error report: status plus a human-readable message (may be multi-line for
 * OpenCL build logs; the first line is always the summary). Validation errors
 * also name the quantity they are about in `param`: the field of the config
 * or spec ("lr", "epochs", "batch", "layers", "loss", "samples", ...), so that
 * a program can point at its own option for it; "" when none applies. */
typedef struct nn_error {
    nn_status status;
    char param[32];
    char msg[4096];
} nn_error;

/* Static name of a status code, e.g. "invalid argument". Never NULL. */
const char *nn_status_str(nn_status s);

/* Set err (if not NULL) to status s and a printf-style message, param ""; returns s. */
nn_status nn_error_set(nn_error *err, nn_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* nn_error_set for a validation error about the quantity `param` (see nn_error). */
nn_status nn_error_set_param(nn_error *err, nn_status s, const char *param, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* --------------------------------------------------------------------- rng */

/* Project-owned, counter-based PRNG: the value stream depends only on the
 * seed, the stream id and the counter, so it is identical on every platform,
 * backend and thread. Not cryptographic. */
typedef struct nn_rng {
    uint64_t key;     /* derived from (seed, stream) */
    uint64_t counter; /* index of the next draw */
} nn_rng;

/* Start a generator for (seed, stream). */
nn_rng nn_rng_make(uint64_t seed, uint64_t stream);
/* The counter-based core: a well-mixed 64-bit value for (key, index). */
uint64_t nn_rng_at(uint64_t key, uint64_t index);
/* Next 64 random bits. */
uint64_t nn_rng_u64(nn_rng *r);
/* Uniform double in [0, 1) with 53 random bits. */
double nn_rng_uniform(nn_rng *r);
/* Standard normal double (Box-Muller; consumes two draws). */
double nn_rng_normal(nn_rng *r);
/* Uniform integer in [0, bound), bound > 0, without modulo bias. */
uint64_t nn_rng_below(nn_rng *r, uint64_t bound);
/* Fisher-Yates shuffle of idx[0..n). */
void nn_rng_shuffle_u32(nn_rng *r, uint32_t *idx, size_t n);

/* ----------------------------------------------------------------- backend */

typedef struct nn_backend nn_backend;

typedef struct nn_backend_config {
    int threads;        /* CPU backend threads; 0 = OpenMP default */
    const char *device; /* OpenCL: index or name substring; NULL = $NN_OPENCL_DEVICE, else auto */
    int profile;        /* OpenCL: collect event profiling (kernels/transfers/builds) */
} nn_backend_config;

/* Open a backend by name: "cpu", "opencl" or "auto" (an OpenCL GPU or
 * accelerator when one exists, else "cpu"). cfg may be NULL for defaults.
 * A backend (and its models) is used from one thread at a time; separate
 * backends are independent.
 * Returns NN_E_UNAVAILABLE with the reason when the backend cannot run here. */
nn_status nn_backend_open(const char *name, const nn_backend_config *cfg, nn_backend **out,
                          nn_error *err);
/* Release a backend and everything it owns. NULL is a no-op. */
void nn_backend_close(nn_backend *be);
/* The name of the backend that runs: "cpu" or "opencl". */
const char *nn_backend_name(const nn_backend *be);
/* A description of the device, e.g. the CPU model or the OpenCL device name. */
const char *nn_backend_device(const nn_backend *be);
/* Threads the backend uses (CPU); 0 when not applicable. */
int nn_backend_threads(const nn_backend *be);
/* Warnings collected while opening, one per line (e.g. an OpenCL tuning-cache
 * entry that was ignored, and why); "" when none. Never NULL. */
const char *nn_backend_notes(const nn_backend *be);
/* Names of all compiled-in backends, NULL-terminated. */
const char *const *nn_backend_names(void);

/* --------------------------------------------------------------------- data */

/* A labelled dataset held in host memory. */
typedef struct nn_dataset {
    size_t n;      /* number of samples */
    size_t features;
    size_t classes; /* 2 = binary labels {0,1}; k > 2 = labels 0..k-1; 0 = regression */
    float *x;      /* (n, features) */
    float *y;      /* (n): class index as float, or the regression target */
} nn_dataset;

typedef enum nn_data_kind {
    NN_DATA_CIRCLES, /* scikit-learn make_circles: two concentric circles */
    NN_DATA_MOONS,   /* scikit-learn make_moons: two interleaving half circles */
    NN_DATA_XOR,     /* uniform in each of four quadrants, label 1 where x0*x1 < 0 (before noise) */
    NN_DATA_SPIRALS, /* k interleaved spiral arms, one class each */
    NN_DATA_BLOBS,   /* k isotropic Gaussian blobs in `features` dimensions */
    NN_DATA_TEACHER, /* Gaussian inputs labelled by a fixed random teacher MLP */
} nn_data_kind;

typedef struct nn_data_spec {
    nn_data_kind kind;
    size_t samples;     /* total samples to generate (before the split) */
    double noise;       /* circles, moons, xor: std of coordinate noise; spirals: angle noise
                           (radians); blobs: cluster std; teacher: input noise after labelling */
    double factor;      /* circles: inner/outer radius ratio (scikit-learn default 0.8) */
    size_t classes;     /* spirals, blobs, teacher: number of classes (2 = binary) */
    size_t features;    /* blobs, teacher: input dimension (others are 2-D) */
    double label_noise; /* probability that a label is replaced by a random class (any kind) */
    uint64_t seed;
} nn_data_spec;

/* Defaults of a kind: the tutorial's circles (1000 samples, noise 0.1,
 * factor 0.8, 2 classes, 2 features, seed 42). */
nn_data_spec nn_data_spec_default(nn_data_kind kind);
/* NN_OK if spec describes a dataset its kind can generate; else NN_E_INVALID
 * naming the field in err->param ("samples", "noise", "factor", "classes",
 * "features", "label_noise"). */
nn_status nn_data_spec_check(const nn_data_spec *spec, nn_error *err);
/* Parse a dataset name ("circles", "moons", ...). Returns NN_E_INVALID if unknown. */
nn_status nn_data_kind_parse(const char *name, nn_data_kind *out, nn_error *err);
const char *nn_data_kind_name(nn_data_kind kind);

/* Generate a dataset in memory. */
nn_status nn_data_generate(const nn_data_spec *spec, nn_dataset *out, nn_error *err);

/* Generate rows [first, first+count) of the streamed form of a generator:
 * row i depends only on (spec->seed, i), so any range can be produced
 * independently, in any order, on any thread. For the 2-D kinds each row's
 * class and position are drawn at random (not the rows of nn_data_generate);
 * spec->samples is validated but does not limit the range.
 * x: (count, features), y: (count). */
nn_status nn_data_generate_range(const nn_data_spec *spec, uint64_t first, size_t count, float *x,
                                 float *y, nn_error *err);

typedef struct nn_csv_options {
    int label_column;   /* index of the label column; -1 = last */
    int header;         /* 1 = first row is a header, 0 = none, -1 = detect */
    int regression;     /* 1 = labels are real targets; 0 = class indices 0..k-1 */
} nn_csv_options;

/* Limits of the CSV reader: a longer line, or a class label of
 * NN_CSV_MAX_CLASSES or more, is an error naming the line. */
#define NN_CSV_MAX_LINE ((size_t)1 << 20) /* bytes per line (1 MiB) */
#define NN_CSV_MAX_CLASSES 4096           /* labels 0..4095 */

/* Facts about a loaded CSV file worth telling the user, without being errors. */
typedef struct nn_csv_info {
    size_t lines;           /* lines read */
    int header;             /* 1 when the first row was taken as a header */
    size_t missing_classes; /* classes in 0..k-1 that no row carries (classification) */
    char warning[512];      /* one line describing the above, naming the file; "" if none */
} nn_csv_info;

/* Read a numeric CSV file. Errors name the file, line and column. Lines
 * end in LF, CRLF or a lone CR. Classification labels must be integers
 * 0..k-1 with k <= NN_CSV_MAX_CLASSES and at least 2 distinct values. */
nn_status nn_data_load_csv(const char *path, const nn_csv_options *opt, nn_dataset *out,
                           nn_error *err);
/* nn_data_load_csv that also fills info (when not NULL, also on failure). */
nn_status nn_data_load_csv_info(const char *path, const nn_csv_options *opt, nn_dataset *out,
                                nn_csv_info *info, nn_error *err);

/* Seeded shuffle-split into train and test (test gets round(n*test_fraction) rows). */
nn_status nn_data_split(const nn_dataset *all, double test_fraction, uint64_t seed,
                        nn_dataset *train, nn_dataset *test, nn_error *err);

/* Per-feature standardization statistics. */
typedef struct nn_scaler {
    size_t features;
    double *mean; /* (features) */
    double *std;  /* (features); 1 where the training std is 0 */
} nn_scaler;

/* Fit mean/std on `fit` and standardize x of fit and (if not NULL) `other` in place. */
nn_status nn_data_standardize(nn_dataset *fit, nn_dataset *other, nn_scaler *sc, nn_error *err);
/* Apply a fitted scaler to rows of x: (n, features). */
void nn_scaler_apply(const nn_scaler *sc, float *x, size_t n);
void nn_scaler_free(nn_scaler *sc);
/* Deep copy of a dataset. */
nn_status nn_dataset_copy(const nn_dataset *src, nn_dataset *dst, nn_error *err);
/* Free a dataset's arrays (the struct itself is the caller's). */
void nn_dataset_free(nn_dataset *ds);

/* -------------------------------------------------------------------- model */

typedef enum nn_act {
    NN_ACT_IDENTITY,
    NN_ACT_RELU,
    NN_ACT_SIGMOID,
    NN_ACT_TANH,
    NN_ACT_SOFTMAX, /* row-wise; output layer only */
} nn_act;

typedef enum nn_loss {
    NN_LOSS_BCE, /* sigmoid output + binary cross-entropy (1 output) */
    NN_LOSS_CE,  /* softmax output + categorical cross-entropy (k outputs) */
    NN_LOSS_MSE, /* linear output + mean squared error */
} nn_loss;

/* Reference clip of the tutorial's BCE: per-sample loss never exceeds -log(1e-15). */
#define NN_BCE_EPS 1e-15

typedef struct nn_model nn_model;

#define NN_MAX_LAYERS 64

typedef struct nn_model_config {
    size_t n_sizes;                 /* number of entries in sizes (>= 2) */
    size_t sizes[NN_MAX_LAYERS + 1]; /* input, hidden..., output widths */
    nn_act hidden;                  /* relu, sigmoid or tanh */
    nn_loss loss;                   /* decides the output activation */
    uint64_t seed;                  /* weight initialization */
} nn_model_config;

/* The output activation a loss implies: bce -> sigmoid, ce -> softmax, mse -> identity. */
nn_act nn_loss_output_act(nn_loss loss);
/* The loss that fits labels of `classes` classes (as in nn_dataset): 2 -> bce,
 * more -> ce, 0 (regression) -> mse. */
nn_loss nn_loss_for_classes(size_t classes);
/* Output width a loss needs for `classes` classes: ce -> classes, else 1. */
size_t nn_loss_outputs(nn_loss loss, size_t classes);

const char *nn_act_name(nn_act a);
const char *nn_loss_name(nn_loss l);
nn_status nn_act_parse(const char *s, nn_act *out, nn_error *err);
nn_status nn_loss_parse(const char *s, nn_loss *out, nn_error *err);

/* NN_OK if cfg describes a model nn_model_create accepts; else NN_E_INVALID
 * naming the field in err->param ("layers", "hidden", "loss"). */
nn_status nn_model_config_check(const nn_model_config *cfg, nn_error *err);

/* Create a model on a backend; weights are initialized on the host from
 * cfg->seed (He for ReLU layers, Xavier/Glorot otherwise, biases zero) and
 * uploaded, so every backend starts from identical weights. */
nn_status nn_model_create(nn_backend *be, const nn_model_config *cfg, nn_model **out,
                          nn_error *err);
void nn_model_free(nn_model *m);
const nn_model_config *nn_model_config_of(const nn_model *m);
/* Total number of parameters (weights and biases). */
size_t nn_model_param_count(const nn_model *m);
/* Copy parameters to/from host memory. Layout: for each layer, W (in, out)
 * row-major, then b (out). count must equal nn_model_param_count(). */
nn_status nn_model_get_params(nn_model *m, float *dst, size_t count, nn_error *err);
nn_status nn_model_set_params(nn_model *m, const float *src, size_t count, nn_error *err);
/* Forward pass on host rows x: (rows, inputs) -> out: (rows, outputs), after
 * the output activation (probabilities for BCE/CE). */
nn_status nn_model_predict(nn_model *m, const float *x, size_t rows, float *out, nn_error *err);
/* Floating-point operations per sample for one forward (training = 0) or
 * forward + backward + update (training = 1) pass. */
double nn_model_flops_per_sample(const nn_model *m, int training);

/* Loss and accuracy of the model on a dataset (accuracy is negative for regression). */
typedef struct nn_eval {
    double loss;
    double accuracy;
} nn_eval;
nn_status nn_model_evaluate(nn_model *m, const nn_dataset *ds, nn_eval *out, nn_error *err);

/* ----------------------------------------------------------------- training */

typedef enum nn_optimizer {
    NN_OPT_SGD,      /* plain gradient descent */
    NN_OPT_MOMENTUM, /* heavy-ball momentum */
    NN_OPT_ADAM,
} nn_optimizer;

const char *nn_optimizer_name(nn_optimizer o);
nn_status nn_optimizer_parse(const char *s, nn_optimizer *out, nn_error *err);
/* The usual learning rate of an optimizer: sgd 0.1 (the tutorial's), momentum
 * 0.01, adam 0.001 (PyTorch's and Keras's default). */
double nn_optimizer_default_lr(nn_optimizer o);

/* Bytes a model of cfg (valid, see nn_model_config_check) holds on its
 * backend while training with `optimizer` on batches of `batch_rows` rows:
 * parameters, gradients, optimizer state and the activations and gradients of
 * one batch (not the training data). */
double nn_model_memory_bytes(const nn_model_config *cfg, size_t batch_rows,
                             nn_optimizer optimizer);

/* A source of training rows. Rows [first, first+count) are written to
 * x: (count, features) and y: (count). fill may be called from a worker
 * thread, so it must not touch shared mutable state. */
typedef struct nn_source {
    uint64_t n; /* number of rows */
    size_t features;
    size_t classes; /* as in nn_dataset */
    nn_status (*fill)(void *ctx, uint64_t first, size_t count, float *x, float *y, nn_error *err);
    void *ctx;
    /* Optional (NULL = use fill): rows rows[0..count) (each < n, any order)
     * into x: (count, features) and y: (count). Lets a data-parallel rank
     * produce only the rows of its own slices; same thread rules as fill. */
    nn_status (*fill_rows)(void *ctx, const uint64_t *rows, size_t count, float *x, float *y,
                           nn_error *err);
} nn_source;

/* A source that reads from an in-memory dataset (which must outlive it). */
nn_source nn_source_from_dataset(const nn_dataset *ds);

/* Rows [offset, offset + n) of a generator's streamed form (see
 * nn_data_generate_range); the struct must outlive the source. */
typedef struct nn_generator_source {
    nn_data_spec spec;
    uint64_t offset;
} nn_generator_source;
nn_source nn_source_from_generator(const nn_generator_source *g, uint64_t n);

/* Loss and accuracy over every row of a source, read in chunks. */
nn_status nn_model_evaluate_source(nn_model *m, const nn_source *src, nn_eval *out, nn_error *err);

/* Called at each logging point with the epoch's mean training loss.
 * Return non-zero to stop training (nn_train then returns NN_E_STOPPED). */
typedef int (*nn_log_fn)(void *user, int epoch, double loss);
/* Called after each batch with the fraction of training done, in [0, 1]. */
typedef int (*nn_progress_fn)(void *user, double fraction);

typedef struct nn_train_config {
    int epochs;
    double lr;
    nn_optimizer optimizer;
    double momentum;    /* momentum coefficient (0.9) */
    double beta1, beta2, eps; /* Adam (0.9, 0.999, 1e-8) */
    size_t batch;       /* rows per step; 0 = full batch */
    uint64_t seed;      /* mini-batch shuffling */
    int log_every;      /* loss is computed at epochs 0, k, 2k, ... and the last; 0 = last only */
    size_t chunk_rows;  /* rows resident at once; 0 = whole dataset when it fits in memory_limit */
    size_t memory_limit; /* bytes for resident training data; 0 = 1 GiB */
    nn_log_fn on_log;
    nn_progress_fn on_progress;
    void *user;
    /* Data-parallel group (include/nn_comm.h); NULL = this process alone.
     * Every rank passes the same source and config; rank r computes the
     * gradient of its slice of every global batch (see nn_trainer_create). */
    struct nn_comm *comm;
    int step_loss; /* 1: compute every step's mean batch loss (nn_trainer_step_loss) */
} nn_train_config;

/* The tutorial's settings: SGD, lr 0.1, 1000 epochs, full batch, log every 100. */
nn_train_config nn_train_config_default(void);
/* NN_OK if cfg's own values are usable (epochs >= 1, a positive finite lr,
 * log_every >= 0, the optimizer's coefficients in range); else NN_E_INVALID
 * naming the field in err->param ("epochs", "lr", "log_every", "momentum",
 * "beta1", "beta2", "eps", "optimizer"). */
nn_status nn_train_config_validate(const nn_train_config *cfg, nn_error *err);
/* NN_OK if a model of mc can train on `rows` rows of `features` features and
 * `classes` classes (as in nn_dataset); else NN_E_INVALID naming the field
 * in err->param: "samples" (no rows), "layers" (widths that do not fit the
 * data), "loss" (a loss that does not fit the labels). */
nn_status nn_train_check_data(const nn_model_config *mc, uint64_t rows, size_t features,
                              size_t classes, nn_error *err);

typedef struct nn_train_result {
    int epochs_run;
    double final_loss;    /* mean training loss of the last epoch */
    double seconds;       /* wall time of the training loop (this trainer's steps) */
    uint64_t samples_seen;
    double samples_per_second; /* rows of this trainer's steps / seconds */
    double gflops;        /* achieved, from nn_model_flops_per_sample */
    uint64_t steps;       /* optimizer steps taken (in total, after a resume) */
    int ranks;            /* processes that trained together (1 without a comm) */
    double comm_seconds;  /* time spent waiting for gradient and loss all-reduces */
    double comm_bytes_per_step; /* bytes each rank contributes to all-reduces per step */
    int threads_used;     /* most CPU threads that worked on one op of the steps (1: the
                             steps were too small to split, or other processes left no CPU
                             for a second thread); 0 for backends without host threads */
} nn_train_result;

/* ------------------------------------------------------------------ trainer */

/* The one training loop, one optimizer step at a time. A trainer owns the
 * staging of rows (resident or streamed), the shuffles, the optimizer state
 * and the position in the data; nn_train() is create + run + free.
 *
 * Position: the next step is step `epoch_step` of epoch `epoch`. Each epoch
 * walks the rows chunk by chunk; a chunk's rows are shuffled with a stream
 * drawn from (seed, epoch, chunk) when a batch is smaller than the chunk, and
 * taken in batches of cfg->batch rows (the last batch of a chunk may be
 * smaller). With a comm of P ranks, rank r takes rows [n*r/P, n*(r+1)/P) of
 * every batch of n rows (slices differ by at most one row; a rank may get 0
 * rows of a small last batch); the loss gradient is scaled by 1/n and the
 * gradients and loss sums are summed over the ranks, so every rank applies
 * the update of the one-process run with the same global batch. */
typedef struct nn_trainer nn_trainer;

/* Everything needed to continue training bit-identically, in host memory. */
typedef struct nn_train_state {
    uint64_t step;         /* optimizer steps taken so far (Adam's t) */
    int epoch;             /* epoch of the next step */
    uint64_t epoch_step;   /* steps of that epoch already taken */
    uint64_t samples_seen; /* training rows consumed by finished epochs */
    float loss_acc[2];     /* the epoch's running loss sum so far (compensated pair,
                              summed over the ranks); zeros when the epoch logs no loss */
    size_t n_params;
    float *params;         /* (n_params) as nn_model_get_params */
    float *opt_m;          /* (n_params) momentum / Adam first moment; NULL for sgd */
    float *opt_v;          /* (n_params) Adam second moment; NULL unless adam */
} nn_train_state;

/* Validate cfg against the model and the source, plan chunks and batches,
 * allocate buffers, zero the optimizer state and stage the first rows (not
 * timed). The model, source and cfg (and cfg->comm) must outlive the trainer. */
nn_status nn_trainer_create(nn_model *m, const nn_source *src, const nn_train_config *cfg,
                            nn_trainer **out, nn_error *err);
/* One optimizer step. Calls cfg->on_log after the last step of a logging
 * epoch and cfg->on_progress after every step (NN_E_STOPPED when one asks to
 * stop; the step itself is complete). NN_E_NUMERIC when the loss of a logging
 * epoch is not finite. With a comm, every rank returns the same status.
 * On a CPU backend of 2 or more threads a small network's step may return
 * while other threads still run its last rows; every call that reads the
 * model or trainer waits for them, and should they fail (the step's update
 * lost), the next such call returns that failure, and so does every later
 * one on the model. */
nn_status nn_trainer_step(nn_trainer *t, nn_error *err);
/* 1 when every epoch has been trained. */
int nn_trainer_finished(const nn_trainer *t);
/* Steps until finished (or a callback stops it, or an error). */
nn_status nn_trainer_run(nn_trainer *t, nn_error *err);
/* Totals so far: seconds covers the steps only. */
void nn_trainer_result(const nn_trainer *t, nn_train_result *res);
/* Mean loss of the last step's batch (all ranks); NaN unless cfg->step_loss. */
double nn_trainer_step_loss(const nn_trainer *t);
/* Steps in one epoch (the same on every rank). */
uint64_t nn_trainer_steps_per_epoch(const nn_trainer *t);
/* Copy the training state to host memory (allocates the arrays of *out;
 * free with nn_train_state_free). With a comm: collective (loss sums). */
nn_status nn_trainer_get_state(nn_trainer *t, nn_train_state *out, nn_error *err);
/* Continue from a state taken from a trainer of the same model shape,
 * optimizer and data (positions past the end are NN_E_INVALID). */
nn_status nn_trainer_set_state(nn_trainer *t, const nn_train_state *s, nn_error *err);
void nn_train_state_free(nn_train_state *s);
/* Stop the row producer, release buffers. The model keeps its weights. NULL is a no-op. */
void nn_trainer_free(nn_trainer *t);

/* Copy the gradients of the last step (layout of nn_model_get_params). */
nn_status nn_model_get_grads(nn_model *m, float *dst, size_t count, nn_error *err);

/* Train the model on rows from src, starting from fresh optimizer state.
 * Returns NN_E_NUMERIC (naming the epoch) if the loss becomes NaN or Inf.
 * The reported time covers the epochs, not producing the first chunk of rows. */
nn_status nn_train(nn_model *m, const nn_source *src, const nn_train_config *cfg,
                   nn_train_result *res, nn_error *err);

/* ----------------------------------------------------------------- helpers */

/* Peak resident set size of this process in MiB (0 if unknown). */
double nn_peak_rss_mb(void);
/* Monotonic wall clock in seconds. */
double nn_now(void);

#ifdef __cplusplus
}
#endif
#endif /* NN_H */
