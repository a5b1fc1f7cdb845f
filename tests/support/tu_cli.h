/* tu_cli.h — helpers for the tests of nnbench's files (test_cli_files.c,
 * test_cli_model.c, test_cli_resume.c): runs in a folder, one-line errors,
 * byte comparisons, a run stopped by a signal, edited model files. */
#ifndef NN_TU_CLI_H
#define NN_TU_CLI_H

#include <stddef.h>

#include "testutil.h"
#include "tu_io.h"

/* nnbench with these arguments, run in folder dir. */
#define TU_NN(dir, ...) tu_run_nnbench((const char *const[]){__VA_ARGS__, NULL}, NULL, dir)

/* Assert exit code `code` and exactly one line on stderr, "nnbench: ...",
 * containing needle and (when not NULL) needle2; frees r. */
void tu_expect_line(tu_result r, int code, const char *needle, const char *needle2);
/* Assert a successful run (exit 0, stderr shown on failure); frees r. */
void tu_expect_ok(tu_result r);

/* 1 when the files at a and b hold the same bytes (both must exist). */
int tu_same_bytes(const char *a, const char *b);
/* 1 when path's content is exactly text. */
int tu_file_is(const char *path, const char *text);
/* 1 when a file exists at path. */
int tu_exists(const char *path);

/* Run nnbench in dir with args (NULL-terminated) and SIGINT/SIGTERM at their
 * default disposition; once its stdout contains wait_for, wait delay_us
 * microseconds and send it sig; collect its output and exit status as tu_run_nnbench does. Fails the
 * test when the line does not come within 120 s. */
tu_result tu_run_and_signal(const char *dir, const char *const *args, const char *wait_for,
                            int delay_us, int sig);

/* Copy the safetensors file src to dst with the first occurrence of `from`
 * in its JSON header replaced by `to` (the header length updated). */
void tu_st_edit_header(const char *src, const char *dst, const char *from, const char *to);
/* Copy src to dst with its first 8 bytes (the header length) set to n. */
void tu_st_set_header_len(const char *src, const char *dst, unsigned long long n);
/* Copy src to dst with the last byte xor-ed with 1 (a flipped data bit). */
void tu_flip_last_byte(const char *src, const char *dst);

#endif
