/* nn_io.h — files that last: atomic output files, safetensors, model files
 * and training checkpoints.
 *
 * Conventions are those of nn.h: every fallible function returns an
 * nn_status and fills `err` (when not NULL) with one line naming the file and
 * what is wrong; the library never prints and never exits. Readers are strict
 * and bounded: malformed input is NN_E_PARSE, never a crash, and no reader
 * allocates more than a small multiple of the size of the file it reads.
 *
 * Sections: version · atomic output files · checksums · safetensors ·
 * model files · checkpoints.
 */
#ifndef NN_IO_H
#define NN_IO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ----------------------------------------------------------------- version */

/* The nnbench version this library was built as (CMake project version), e.g. "0.1.0". */
const char *nn_version(void);

/* ------------------------------------------------------ atomic output files
 *
 * An output file is written to a new temporary file in the target's folder
 * (".<name>.tmp.XXXXXX", or ".nnbench.tmp.XXXXXX" for very long names) and
 * renamed over the target only by nn_outfile_commit, so a run that fails,
 * aborts or is killed never truncates or replaces an existing file. A target
 * that exists but is not a regular file (/dev/null, a FIFO, /dev/stdout) is
 * written directly, since it cannot be replaced (the data it received
 * before a failure stays there). A symbolic link is followed: the file it
 * names is replaced and the link stays; a link to a missing file is refused.
 * A replaced file keeps its permission bits; a new one gets 0666 less the
 * umask. Paths are never truncated: one too long is an error.
 */

typedef struct nn_outfile nn_outfile;

/* Start writing `path`: creates the temporary file (nothing at `path` is
 * touched). durable = 1 makes commit fsync the file and its folder (models,
 * checkpoints). Errors: NN_E_INVALID for an empty path, a path of PATH_MAX
 * bytes or more, a file name above NAME_MAX, or a folder as target; NN_E_IO
 * when the folder is missing or not writable, or for a dangling link. */
nn_status nn_outfile_open(const char *path, int durable, nn_outfile **out, nn_error *err);
/* The stream to write to; valid until commit or abort. */
FILE *nn_outfile_stream(nn_outfile *f);
/* The target path as given to nn_outfile_open. */
const char *nn_outfile_path(const nn_outfile *f);
/* The temporary file's path (the target's own path when written directly). */
const char *nn_outfile_temp_path(const nn_outfile *f);
/* Finish: flush, check every write succeeded, (fsync,) close and rename over
 * the target. Frees f whatever the outcome; on failure the temporary file is
 * removed and the target is untouched (NN_E_IO naming the path and the
 * system's reason). Exception: when only the durable folder sync after the
 * rename fails, the new file is in place and the message says so. */
nn_status nn_outfile_commit(nn_outfile *f, nn_error *err);
/* Give up: close and remove the temporary file, free f; the target is
 * untouched. NULL is a no-op. Async-signal-unsafe (uses free). */
void nn_outfile_abort(nn_outfile *f);

/* 1 when paths a and b name the same file: the same existing file (device
 * and inode, so hard links and symbolic links count), or the same path once
 * made absolute with its folder's symbolic links, "." and ".." resolved; else
 * 0. For rejecting e.g. `--json r.json --plot r.json` before anything is
 * written. */
int nn_path_same(const char *a, const char *b);

/* --------------------------------------------------------------- checksums */

/* CRC-32 as in zlib, PNG and Python's zlib.crc32 (reflected polynomial
 * 0xEDB88320, initial and final xor 0xFFFFFFFF), continued from `crc`
 * (0 to start). */
uint32_t nn_crc32(uint32_t crc, const void *data, size_t len);

/* ------------------------------------------------------------- safetensors
 *
 * File layout: an 8-byte little-endian header length N, N bytes of JSON
 * (an object mapping each tensor name to {"dtype", "shape", "data_offsets"},
 * plus an optional "__metadata__" object of string values), then the data
 * section: each tensor's elements, row-major, little-endian, at
 * [data_offsets[0], data_offsets[1]) from the start of the data section.
 *
 * The reader accepts exactly that: a JSON header (strict RFC 8259, UTF-8,
 * depth <= 16, at most NN_ST_MAX_HEADER bytes) with no duplicate keys and no
 * other fields; known dtypes; at most NN_ST_MAX_DIMS dimensions; each
 * tensor's byte range equal to its element count times its element size;
 * ranges that tile the data section exactly (no overlap, no gap, no trailing
 * bytes). Anything else is NN_E_PARSE naming the file and the fault.
 */

#define NN_ST_MAX_DIMS 8
#define NN_ST_MAX_HEADER 100000000u /* bytes; the limit of the reference implementation */

typedef enum nn_st_dtype {
    NN_ST_BOOL,
    NN_ST_U8,
    NN_ST_I8,
    NN_ST_F8_E5M2,
    NN_ST_F8_E4M3,
    NN_ST_I16,
    NN_ST_U16,
    NN_ST_F16,
    NN_ST_BF16,
    NN_ST_I32,
    NN_ST_U32,
    NN_ST_F32,
    NN_ST_F64,
    NN_ST_I64,
    NN_ST_U64,
    NN_ST_DTYPE_COUNT
} nn_st_dtype;

/* The dtype's name in the header ("F32"), or "unknown". */
const char *nn_st_dtype_name(nn_st_dtype t);
/* Bytes per element (1, 2, 4 or 8); 0 for an unknown dtype. */
size_t nn_st_dtype_size(nn_st_dtype t);

/* A string key/value pair (metadata entries, checkpoint extras). */
typedef struct nn_kv {
    const char *key;
    const char *value;
} nn_kv;

/* One tensor. For writing, data points at count * dtype_size bytes in host
 * byte order. For a file read, data points at its little-endian bytes inside
 * the file's buffer (any alignment) and offset/nbytes give its data range. */
typedef struct nn_st_tensor {
    const char *name;
    nn_st_dtype dtype;
    size_t ndim;                     /* 0 = scalar (one element) */
    uint64_t shape[NN_ST_MAX_DIMS];  /* (ndim) */
    const void *data;
    uint64_t offset; /* read: data_offsets[0] */
    uint64_t nbytes; /* read: data_offsets[1] - data_offsets[0] */
} nn_st_tensor;

/* A parsed file. Everything it points to is owned by it (or, from
 * nn_st_parse, lives in the caller's buffer) until nn_st_free. */
typedef struct nn_st_file {
    size_t n_tensors;
    nn_st_tensor *tensors; /* (n_tensors) in header order */
    size_t n_meta;
    nn_kv *meta;           /* (n_meta) "__metadata__" in header order */
    const uint8_t *data;   /* (data_size) the data section */
    uint64_t data_size;
    uint64_t header_size;  /* N, the JSON length */
    void *owned_;          /* private: allocations to free */
} nn_st_file;

/* Read and validate a whole safetensors file (a regular file; it is read
 * into memory). On failure *out is zeroed. NN_E_IO when it cannot be opened
 * or read, NN_E_PARSE for bad content, NN_E_NOMEM when it does not fit. */
nn_status nn_st_read(const char *path, nn_st_file *out, nn_error *err);
/* Validate bytes[0..size) as a safetensors file; `name` is used in messages.
 * The result points into bytes, which must outlive it. */
nn_status nn_st_parse(const void *bytes, size_t size, const char *name, nn_st_file *out,
                      nn_error *err);
/* Release a file (NULL or zeroed is a no-op) and zero it. */
void nn_st_free(nn_st_file *f);
/* The tensor called name, or NULL. */
const nn_st_tensor *nn_st_find(const nn_st_file *f, const char *name);
/* The metadata value of key, or NULL. */
const char *nn_st_meta_get(const nn_st_file *f, const char *key);
/* Element count of a tensor (product of its shape; 1 for a scalar). */
uint64_t nn_st_count(const nn_st_tensor *t);
/* Decode an F32 tensor into dst: (count) host floats; count must equal its
 * element count. */
nn_status nn_st_read_f32(const nn_st_tensor *t, float *dst, size_t count, nn_error *err);

/* CRC-32 of the data section nn_st_write writes for these tensors, in order. */
uint32_t nn_st_data_crc32(const nn_st_tensor *t, size_t n);
/* Write a safetensors file to fp: the header (metadata first, then tensors in
 * the given order, padded with spaces to a multiple of 8 bytes) and the data,
 * tensors laid out back to back. Names must be unique, non-empty, not
 * "__metadata__"; keys and values valid UTF-8 without NUL. `name` is used in
 * messages. NN_E_INVALID for bad tensors/metadata, NN_E_IO on write errors. */
nn_status nn_st_write(FILE *fp, const nn_st_tensor *t, size_t n, const nn_kv *meta,
                      size_t n_meta, const char *name, nn_error *err);

/* ------------------------------------------------------------- model files
 *
 * A model file is a safetensors file that PyTorch loads into the matching
 * nn.Sequential of nn.Linear layers and activations:
 *   net = nn.Sequential(nn.Linear(s0, s1), Act(), nn.Linear(s1, s2), ..., Out())
 *   net.load_state_dict(safetensors.torch.load_file(path))
 * Layer l (0-based) is module 2*l: tensors "<2l>.weight" F32 (out, in) and
 * "<2l>.bias" F32 (out). Out() is Sigmoid for bce, Softmax(dim=1) for ce,
 * nothing for mse. Inputs are standardized first: x' = (x - mean) / std.
 *
 * "__metadata__" (all values strings; doubles as %.17g, exact on reading):
 *   format            "nnbench-model"      format_version  "1"
 *   nnbench_version   e.g. "0.1.0"         layers          e.g. "2,8,1"
 *   hidden_activation relu|sigmoid|tanh    loss            bce|ce|mse
 *   output_activation sigmoid|softmax|identity (implied by the loss)
 *   classes           "0" (regression), "2" (binary) or k
 *   input_scaling     "standardize" | "none"
 *   input_mean, input_std  comma-separated, one per input (only when standardized)
 *   dataset           free text            seed, init_seed, epochs  decimal integers
 *   checksum          "crc32:" + 8 hex digits: nn_crc32 of the whole data section
 * Unknown metadata keys are ignored; unknown tensors are an error.
 */

/* Filled by the readers, which allocate scaler and dataset (release with
 * nn_model_meta_free); the writers only read it, so a caller may point
 * scaler and dataset at its own memory when saving. */
typedef struct nn_model_meta {
    nn_model_config config; /* architecture (config.seed = weight initialization seed) */
    nn_scaler scaler;       /* features 0 (mean/std NULL) = inputs used as they are */
    size_t classes;         /* 0 = regression, 2 = binary, k = labels 0..k-1 */
    char *dataset;          /* what the model was trained on (free text; NULL saves "") */
    uint64_t seed;          /* the run's seed (data, shuffling) */
    uint64_t epochs;        /* epochs trained */
    char version[32];       /* on load: the nnbench version that wrote the file */
} nn_model_meta;

/* Free the scaler and dataset of a meta filled by a reader and zero it;
 * NULL or a zeroed meta is a no-op. */
void nn_model_meta_free(nn_model_meta *meta);

/* Save m's weights and meta (meta->config and meta->version are ignored: the
 * model's own config and this library's version are written) to path through
 * an atomic durable nn_outfile. A dataset text that is not valid UTF-8 is
 * written with each bad byte replaced by '?'. NN_E_NUMERIC when a weight is
 * NaN or Inf; NN_E_INVALID when meta disagrees with the model (scaler
 * features != inputs, classes vs loss); NN_E_IO on write errors. */
nn_status nn_model_save(nn_model *m, const nn_model_meta *meta, const char *path, nn_error *err);

/* Read and fully validate a model file (or the model part of a checkpoint)
 * without a backend: meta receives everything (free with
 * nn_model_meta_free), *params a malloc'd array (*n_params) in the
 * nn_model_get_params layout. Checks: format and version, known names,
 * layer sizes within nn.h's limits, every tensor present with the shape the
 * layers imply and nothing else, the checksum, finite weights, scaler of
 * `inputs` finite values with std > 0, classes consistent with the loss. On
 * failure meta is zeroed and *params is NULL. */
nn_status nn_model_file_read(const char *path, nn_model_meta *meta, float **params,
                             size_t *n_params, nn_error *err);

/* nn_model_file_read, then create the model on be with those weights.
 * meta may be NULL when the caller needs only the model. */
nn_status nn_model_load(nn_backend *be, const char *path, nn_model **out, nn_model_meta *meta,
                        nn_error *err);

/* ------------------------------------------------------------- checkpoints
 *
 * A checkpoint is a model file (format "nnbench-checkpoint", the same
 * metadata and weight tensors, so nn_model_load reads its model) plus the
 * training state:
 *   tensors  "optimizer.m.<name>", "optimizer.v.<name>" for each weight
 *            tensor <name> (same shapes; present when opt_m / opt_v are),
 *            "train.loss_acc" F32 (2): the partial loss accumulator, bit-exact
 *   metadata optimizer, lr, momentum, beta1, beta2, eps, step, epoch,
 *            step_in_epoch, rows_seen, train_seed, and "extra.<key>" for each
 *            extra entry.
 * Counters are stored as decimal strings in the metadata rather than as
 * U64 tensors: exact, readable with any JSON tool, and loadable by PyTorch,
 * which has no uint64 tensors.
 */

typedef struct nn_checkpoint {
    nn_model_meta model;  /* architecture, scaler, dataset, seeds, epochs planned */
    size_t n_params;      /* must equal the parameter count of model.config */
    float *params;        /* (n_params) nn_model_get_params layout */
    float *opt_m;         /* (n_params) momentum / Adam first moment, or NULL */
    float *opt_v;         /* (n_params) Adam second moment, or NULL */
    nn_optimizer optimizer;
    double lr, momentum, beta1, beta2, eps;
    uint64_t step;          /* optimizer steps taken (Adam's t) */
    uint64_t epoch;         /* current epoch, 0-based */
    uint64_t step_in_epoch; /* steps taken in the current epoch */
    uint64_t rows_seen;     /* training rows consumed so far */
    float loss_acc[2];      /* the epoch's partial loss accumulator (compensated pair) */
    uint64_t seed;          /* training seed (shuffling) */
    size_t n_extra;
    nn_kv *extra;           /* (n_extra) trainer-defined strings; owned after load */
} nn_checkpoint;

/* Free everything a loaded checkpoint owns (params, moments, extras, model
 * meta) and zero it; NULL is a no-op. Only for checkpoints filled by
 * nn_checkpoint_load. */
void nn_checkpoint_free(nn_checkpoint *c);

/* Save c to path through an atomic durable nn_outfile. Checks first: sizes
 * consistent, finite values, optimizer state that matches the optimizer
 * (sgd: none; momentum: opt_m only; adam: both or, at step 0, neither),
 * extra keys non-empty printable ASCII without '=' and unique. */
nn_status nn_checkpoint_save(const nn_checkpoint *c, const char *path, nn_error *err);

/* Read and validate a checkpoint (everything nn_model_file_read checks, plus
 * the state rules of nn_checkpoint_save) into *c (free with
 * nn_checkpoint_free); on failure *c is zeroed. */
nn_status nn_checkpoint_load(const char *path, nn_checkpoint *c, nn_error *err);

#ifdef __cplusplus
}
#endif
#endif /* NN_IO_H */
