/* fuzz_common.h — helpers shared by the libFuzzer harnesses: the input as a
 * file (a memfd, reached through /proc/self/fd), and invariant checks that
 * abort so libFuzzer records a finding. */
#ifndef NN_FUZZ_COMMON_H
#define NN_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "nn.h"

/* Abort with a message when cond is false (a finding). */
#define FUZZ_CHECK(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz invariant failed: %s: ", #cond);                                 \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Replace the contents of the harness's in-memory file with data[0..n) and
 * return its path. The file is created once per process. */
static const char *fuzz_file(const void *data, size_t n) {
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("nnbench-fuzz", 0);
        FUZZ_CHECK(fd >= 0, "memfd_create failed");
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    FUZZ_CHECK(ftruncate(fd, 0) == 0, "ftruncate");
    FUZZ_CHECK(n == 0 || pwrite(fd, data, n, 0) == (ssize_t)n, "pwrite");
    return path;
}

/* A failed call left a one-line message with the status it returned. */
static void fuzz_check_error(nn_status st, const nn_error *err) {
    FUZZ_CHECK(err->status == st, "status %d but err.status %d", (int)st, (int)err->status);
    FUZZ_CHECK(err->msg[0] != '\0', "empty message for status %d", (int)st);
    for (const char *c = err->msg; *c; c++)
        FUZZ_CHECK((unsigned char)*c >= 0x20 && *c != 0x7F,
                   "control character 0x%02x in the message: %s", (unsigned char)*c, err->msg);
}

#endif
