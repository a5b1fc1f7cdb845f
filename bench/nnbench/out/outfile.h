/* outfile.h — the program's output files. Every file nnbench writes goes
 * through the library's nn_outfile: a temporary file beside the target,
 * renamed over it only when complete, so a run that fails or is stopped
 * never leaves a truncated or half-written file in place of the old one.
 * "-" names stdout where the caller allows it, written directly. */
#ifndef NNBENCH_OUTFILE_H
#define NNBENCH_OUTFILE_H

#include <stddef.h>
#include <stdio.h>

#include "nn_io.h"

/* An output being written. */
typedef struct out_file {
    const char *path; /* the target as given ("-" = stdout) */
    nn_outfile *f;    /* NULL when writing to stdout */
    FILE *fp;         /* where to write */
} out_file;

/* Start writing path (durable: fsync on commit, for models and checkpoints);
 * "-" is stdout when allow_stdout. Returns 0, or -1 with one line in msg
 * (the path's problem: missing folder, too long, a folder, ...). */
int out_open(out_file *o, const char *path, int allow_stdout, int durable, char *msg,
             size_t msg_len);
/* Finish: flush and check every write; a file is renamed into place.
 * Returns 0, or -1 with msg (the old file, if any, is untouched). */
int out_commit(out_file *o, char *msg, size_t msg_len);
/* Give up: remove the temporary file; the target is untouched. */
void out_abort(out_file *o);

/* Check now that path could be written (creates and removes a temporary
 * file beside it; the target is untouched); "-" passes when allow_stdout.
 * Returns 0, or -1 with msg. */
int out_probe(const char *path, int allow_stdout, char *msg, size_t msg_len);

/* Write buf[0..len) as the whole content of path (open, write, commit).
 * Returns 0, or -1 with msg. */
int out_write_all(const char *path, int allow_stdout, int durable, const void *buf, size_t len,
                  char *msg, size_t msg_len);

#endif
