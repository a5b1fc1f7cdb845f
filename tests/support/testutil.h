/* testutil.h — helpers shared by the Criterion tests. */
#ifndef NN_TESTUTIL_H
#define NN_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"

/* Generate spec's dataset, split off test_fraction of it (seeded by spec.seed)
 * and standardize both parts with the training statistics, as nnbench does. */
void tu_split_standardized(nn_data_spec spec, double test_fraction, nn_dataset *train,
                           nn_dataset *test);

/* Open a backend or fail the test. */
nn_backend *tu_open(const char *name, int threads);
/* Open the OpenCL backend, or NULL when no platform or device exists here;
 * any other failure (e.g. a kernel that does not compile) fails the test. */
nn_backend *tu_open_opencl(void);
/* x[0..n) uniform in [lo, hi) from a seed. */
void tu_fill_uniform(float *x, size_t n, uint64_t seed, float lo, float hi);
/* Upload host data into a fresh backend buffer of `count` elements. */
nn_buf *tu_upload(nn_backend *be, const void *src, size_t count);
/* Read `count` elements of a view into a fresh malloc'd array. */
float *tu_download(nn_backend *be, nn_view v, size_t count);

/* Output of a finished command. */
typedef struct tu_result {
    int status;   /* exit code, or 128+signal */
    char *out;    /* stdout, NUL-terminated */
    char *err;    /* stderr, NUL-terminated */
} tu_result;

/* Run nnbench with the given arguments (NULL-terminated) and optional extra
 * environment entries "NAME=VALUE" (NULL-terminated, may be NULL); the working
 * directory is dir (NULL = current). */
tu_result tu_run_nnbench(const char *const *args, const char *const *env, const char *dir);
/* The same for any program (exe is a path). */
tu_result tu_run_program(const char *exe, const char *const *args, const char *const *env,
                         const char *dir);
void tu_result_free(tu_result *r);
/* A new temporary file named after `stem` under $TMPDIR (else /tmp), opened
 * for reading and writing and already unlinked (it lives until closed);
 * returns the descriptor, or fails the test. */
int tu_anonymous_file(const char *stem);
/* Read fd from its current offset to the end into a malloc'd, NUL-terminated string. */
char *tu_slurp(int fd);
/* A new empty temporary folder under $TMPDIR (else /tmp), as a malloc'd path.
 * Every folder made here is removed with its contents when the test process
 * exits, also after a failed assertion; tu_rmtree removes one earlier. */
char *tu_tmpdir(void);
/* Environment entries that let Open MPI's mpirun run as root and with more
 * ranks than cores (other MPIs ignore them); NULL-terminated. */
extern const char *const TU_MPI_ENV[];
/* The mpirun on PATH (malloc'd), or NULL. */
char *tu_mpirun_path(void);
/* Remove a folder made by tu_tmpdir with everything in it, and free the path. */
void tu_rmtree(char *dir);
/* A copy of the project's kernels/ *.cl in a new tu_tmpdir folder (returned,
 * malloc'd); file `edit` (NULL: none) gets `before` written ahead of its text
 * and `after` behind it (either NULL). */
char *tu_kernel_copy(const char *edit, const char *before, const char *after);
/* Write text to dir/name; returns the malloc'd path. */
char *tu_write_file(const char *dir, const char *name, const char *text);
/* The whole file at path (NUL-terminated, malloc'd), or NULL when it cannot be read. */
char *tu_read_file(const char *path);
/* dir/name in a malloc'd string. */
char *tu_path(const char *dir, const char *name);

#endif
