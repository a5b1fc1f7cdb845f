/* tu_cli.c — helpers for the tests of nnbench's files. */
#include "tu_cli.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void tu_expect_line(tu_result r, int code, const char *needle, const char *needle2) {
    cr_assert_eq(r.status, code, "exit %d (expected %d), stderr: %s", r.status, code, r.err);
    cr_assert(strncmp(r.err, "nnbench: ", 9) == 0, "stderr: %s", r.err);
    size_t len = strlen(r.err);
    cr_assert(len > 0 && strchr(r.err, '\n') == r.err + len - 1, "not one line: %s", r.err);
    cr_assert(strstr(r.err, needle) != NULL, "stderr lacks '%s': %s", needle, r.err);
    cr_assert(!needle2 || strstr(r.err, needle2) != NULL, "stderr lacks '%s': %s", needle2,
              r.err);
    tu_result_free(&r);
}

void tu_expect_ok(tu_result r) {
    cr_assert_eq(r.status, 0, "exit %d, stderr: %s", r.status, r.err);
    tu_result_free(&r);
}

int tu_same_bytes(const char *a, const char *b) {
    size_t la, lb;
    unsigned char *x = tu_read_all(a, &la), *y = tu_read_all(b, &lb);
    int same = la == lb && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return same;
}

int tu_file_is(const char *path, const char *text) {
    char *s = tu_read_file(path);
    int same = s && strcmp(s, text) == 0;
    free(s);
    return same;
}

int tu_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* Append fd's readable bytes to *buf (n used); 0 at end of file. */
static ssize_t read_some(int fd, char **buf, size_t *n, size_t *cap) {
    if (*n + 4096 + 1 > *cap) {
        *cap = 2 * (*n + 4096 + 1);
        *buf = realloc(*buf, *cap);
        cr_assert_not_null(*buf);
    }
    ssize_t got = read(fd, *buf + *n, 4096);
    if (got > 0) *n += (size_t)got;
    (*buf)[*n] = '\0';
    return got;
}

/* The child: default signal dispositions, stdout to the pipe, stderr to a file. */
static void exec_child(const char *dir, const char *const *args, int out_fd, int err_fd) {
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    if (dir && chdir(dir) != 0) _exit(126);
    size_t n = 0;
    while (args[n]) n++;
    char **argv = calloc(n + 2, sizeof *argv);
    argv[0] = (char *)NNBENCH_EXE;
    for (size_t i = 0; i < n; i++) argv[i + 1] = (char *)args[i];
    execv(argv[0], argv);
    _exit(127);
}

tu_result tu_run_and_signal(const char *dir, const char *const *args, const char *wait_for,
                            int delay_us, int sig) {
    int p[2];
    cr_assert_eq(pipe(p), 0);
    int efd = tu_anonymous_file("nnbench-sig");
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) exec_child(dir, args, p[1], efd);
    close(p[1]);
    char *out = NULL;
    size_t n = 0, cap = 0;
    int sent = 0;
    time_t start = time(NULL);
    for (;;) {
        struct pollfd pf = {p[0], POLLIN, 0};
        int ready = poll(&pf, 1, 1000);
        if (time(NULL) - start > (sent ? 300 : 120)) kill(pid, SIGKILL); /* hung: fail below */
        if (ready <= 0) continue;
        if (read_some(p[0], &out, &n, &cap) <= 0) break;
        if (!sent && strstr(out, wait_for)) {
            if (delay_us > 0) usleep((useconds_t)delay_us);
            kill(pid, sig);
            sent = 1;
        }
    }
    close(p[0]);
    int ws = 0;
    waitpid(pid, &ws, 0);
    lseek(efd, 0, SEEK_SET);
    tu_result r = {WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws), out, tu_slurp(efd)};
    close(efd);
    cr_assert(sent, "'%s' never appeared; stdout: %s\nstderr: %s", wait_for, out, r.err);
    return r;
}

/* ----------------------------------------------------------- model files */

/* The header length of a safetensors file's bytes. */
static unsigned long long header_len(const unsigned char *b) {
    unsigned long long n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | b[i];
    return n;
}

static void put_len(unsigned char *b, unsigned long long n) {
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(n >> (8 * i));
}

void tu_st_edit_header(const char *src, const char *dst, const char *from, const char *to) {
    size_t len;
    unsigned char *b = tu_read_all(src, &len);
    unsigned long long n = header_len(b);
    cr_assert(len >= 8 && n <= len - 8, "%s is not a safetensors file", src);
    char *header = strndup((const char *)b + 8, n);
    char *at = strstr(header, from);
    cr_assert_not_null(at, "'%s' is not in the header of %s: %s", from, src, header);
    size_t lf = strlen(from), lt = strlen(to), nn = n - lf + lt;
    unsigned char *o = malloc(8 + nn + (len - 8 - n));
    put_len(o, nn);
    size_t pre = (size_t)(at - header);
    memcpy(o + 8, header, pre);
    memcpy(o + 8 + pre, to, lt);
    memcpy(o + 8 + pre + lt, at + lf, n - pre - lf);
    memcpy(o + 8 + nn, b + 8 + n, len - 8 - n);
    tu_write_bytes(dst, o, 8 + nn + (len - 8 - n));
    free(o);
    free(header);
    free(b);
}

void tu_st_set_header_len(const char *src, const char *dst, unsigned long long n) {
    size_t len;
    unsigned char *b = tu_read_all(src, &len);
    cr_assert_geq(len, 8);
    put_len(b, n);
    tu_write_bytes(dst, b, len);
    free(b);
}

void tu_flip_last_byte(const char *src, const char *dst) {
    size_t len;
    unsigned char *b = tu_read_all(src, &len);
    cr_assert_gt(len, 8);
    b[len - 1] ^= 1;
    tu_write_bytes(dst, b, len);
    free(b);
}
