/* files.h — the files a command reads and writes, checked before anything
 * runs: no two outputs may name the same file, no output may replace an input
 * (except where a row says so), and every output's folder must take a new
 * file. Writing itself goes through out/outfile.h (atomic). */
#ifndef NNBENCH_FILES_H
#define NNBENCH_FILES_H

#include <stddef.h>

/* One file of a command. */
typedef struct file_use {
    const char *opt;       /* the option that names it, "--json" */
    const char *path;      /* NULL when the option was not given */
    int output;            /* 1: the command writes it; 0: reads it */
    int stdout_ok;         /* output: "-" means stdout */
    const char *may_equal; /* output: the input option it may replace ("--resume"), or NULL */
} file_use;

/* Check the files of a command: pairs naming the same file (nn_path_same)
 * among outputs, and outputs naming an input, are refused, unless both are
 * the same non-regular file such as /dev/null; each output is probed
 * (out_probe). Returns EXIT_OK, or EXIT_USAGE after one line naming the
 * options and the path. */
int files_check(const file_use *u, size_t n);

#endif
