/* tu_io.h — file helpers for the io tests (model files, checkpoints, outputs). */
#ifndef NN_TU_IO_H
#define NN_TU_IO_H

#include <stddef.h>
#include <stdint.h>

#include "testutil.h" /* tu_tmpdir, tu_rmtree, tu_path */

/* The whole file in a malloc'd buffer (NUL-terminated), *len bytes; fails the test if unreadable. */
unsigned char *tu_read_all(const char *path, size_t *len);
/* Write len bytes to path (replacing it); fails the test on error. */
void tu_write_bytes(const char *path, const void *data, size_t len);
/* Number of entries in a folder, "." and ".." excluded. */
size_t tu_count_entries(const char *dir);
/* A Python interpreter that can import every module in the space-separated
 * list `modules` (Debian's /usr/bin/python3 first, then python3 on PATH), or
 * NULL. Static string. */
const char *tu_find_python(const char *modules);


/* Run argv[0] (searched in PATH) with argv, extra environment entries
 * "NAME=VALUE" (NULL-terminated, may be NULL); returns the exit status
 * (128 + signal when killed) and, in *output, stdout and stderr together
 * (malloc'd, NUL-terminated). */
int tu_run_cmd(const char *const *argv, const char *const *env_add, char **output);

/* A model trained here, saved to a file, with raw rows and nnbench's
 * predictions for them (the rows standardized, then nn_model_predict). */
typedef struct tu_saved_model {
    const char *what;  /* description for messages */
    char *model_path;  /* the saved model */
    char *rows_path;   /* raw (unscaled) rows: float32 (rows, inputs) */
    size_t rows, inputs, outputs;
    float *pred;       /* (rows, outputs) */
} tu_saved_model;

/* Kinds of models tu_save_trained makes. */
#define TU_MODEL_KINDS 3
/* 0: the tutorial (circles, 2-8-1 relu, bce, sgd); 1: spirals with 3
 * classes (2-16-16-3 tanh, ce, adam); 2: moons as regression (2-8-4-1
 * sigmoid, mse, momentum). Files go to dir. */
void tu_save_trained(int kind, const char *dir, tu_saved_model *out);
void tu_saved_free(tu_saved_model *m);
/* Train and save every kind of model into dir, run `python script` once on
 * all of them (MODEL ROWS OUT triples) and assert its predictions match
 * nnbench's within tolerance; `who` names the peer in messages. */
void tu_check_peer_predictions(const char *python, const char *script, const char *dir,
                               const char *who, double tolerance);
/* Read n floats (little-endian float32) from path; fails the test otherwise. */
float *tu_read_floats(const char *path, size_t n);

#endif
