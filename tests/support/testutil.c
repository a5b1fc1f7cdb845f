/* testutil.c — helpers shared by the Criterion tests. */
#include "testutil.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

void tu_split_standardized(nn_data_spec spec, double test_fraction, nn_dataset *train,
                           nn_dataset *test) {
    nn_dataset all;
    nn_scaler sc;
    nn_error err;
    cr_assert_eq(nn_data_generate(&spec, &all, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(nn_data_split(&all, test_fraction, spec.seed, train, test, &err), NN_OK, "%s",
                 err.msg);
    cr_assert_eq(nn_data_standardize(train, test, &sc, &err), NN_OK, "%s", err.msg);
    nn_scaler_free(&sc);
    nn_dataset_free(&all);
}

nn_backend *tu_open(const char *name, int threads) {
    nn_backend_config cfg = {threads, NULL, 0};
    nn_backend *be = NULL;
    nn_error err;
    nn_status st = nn_backend_open(name, &cfg, &be, &err);
    cr_assert_eq(st, NN_OK, "cannot open backend %s: %s", name, err.msg);
    return be;
}

nn_backend *tu_open_opencl(void) {
    nn_backend *be = NULL;
    nn_error err;
    nn_status st = nn_backend_open("opencl", NULL, &be, &err);
    /* no device here, or no OpenCL in this build; a kernel that does not build fails */
    if (st == NN_E_UNAVAILABLE && !strstr(err.msg, "build failed")) return NULL;
    cr_assert_eq(st, NN_OK, "opencl backend failed to open: %s", err.msg);
    return be;
}

void tu_fill_uniform(float *x, size_t n, uint64_t seed, float lo, float hi) {
    nn_rng r = nn_rng_make(seed, 77);
    for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * (float)nn_rng_uniform(&r);
}

nn_buf *tu_upload(nn_backend *be, const void *src, size_t count) {
    nn_buf *b = NULL;
    nn_error err;
    cr_assert_eq(be->ops->alloc(be, count, &b, &err), NN_OK, "alloc: %s", err.msg);
    if (count) cr_assert_eq(be->ops->write(be, (nn_view){b, 0}, src, count, &err), NN_OK, "%s", err.msg);
    return b;
}

float *tu_download(nn_backend *be, nn_view v, size_t count) {
    float *x = malloc((count ? count : 1) * sizeof(float));
    nn_error err;
    cr_assert_not_null(x);
    if (count) cr_assert_eq(be->ops->read(be, v, x, count, &err), NN_OK, "read: %s", err.msg);
    return x;
}

char *tu_slurp(int fd) {
    size_t cap = 4096, len = 0;
    char *s = malloc(cap);
    ssize_t n;
    while ((n = read(fd, s + len, cap - len - 1)) > 0) {
        len += (size_t)n;
        if (cap - len < 2) s = realloc(s, cap *= 2);
    }
    s[len] = '\0';
    return s;
}

/* The folder for temporary files: $TMPDIR, else /tmp. */
static const char *tmp_root(void) {
    const char *t = getenv("TMPDIR");
    return t && *t ? t : "/tmp";
}

int tu_anonymous_file(const char *stem) {
    char name[1024];
    snprintf(name, sizeof name, "%s/%s-XXXXXX", tmp_root(), stem);
    int fd = mkstemp(name);
    cr_assert(fd >= 0, "cannot create a temporary file in %s", tmp_root());
    unlink(name);
    return fd;
}

tu_result tu_run_nnbench(const char *const *args, const char *const *env, const char *dir) {
    return tu_run_program(NNBENCH_EXE, args, env, dir);
}

tu_result tu_run_program(const char *exe, const char *const *args, const char *const *env,
                         const char *dir) {
    int ofd = tu_anonymous_file("nnbench-out"), efd = tu_anonymous_file("nnbench-err");
    size_t na = 0, ne = 0, nenv = 0;
    while (args[na]) na++;
    while (env && env[ne]) ne++;
    while (environ[nenv]) nenv++;
    char **argv = calloc(na + 2, sizeof *argv);
    char **envp = calloc(nenv + ne + 1, sizeof *envp);
    argv[0] = (char *)exe;
    for (size_t i = 0; i < na; i++) argv[i + 1] = (char *)args[i];
    size_t k = 0;
    for (size_t i = 0; i < ne; i++) envp[k++] = (char *)env[i];
    for (size_t i = 0; i < nenv; i++) {
        int overridden = 0;
        for (size_t j = 0; j < ne; j++) {
            size_t len = strcspn(env[j], "=");
            if (strncmp(environ[i], env[j], len + 1) == 0) overridden = 1;
        }
        if (!overridden) envp[k++] = environ[i];
    }
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        dup2(ofd, 1);
        dup2(efd, 2);
        int nul = open("/dev/null", O_RDONLY);
        dup2(nul, 0);
        if (dir && chdir(dir) != 0) _exit(126);
        execve(argv[0], argv, envp);
        _exit(127);
    }
    int ws = 0;
    waitpid(pid, &ws, 0);
    tu_result r;
    r.status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    lseek(ofd, 0, SEEK_SET);
    lseek(efd, 0, SEEK_SET);
    r.out = tu_slurp(ofd);
    r.err = tu_slurp(efd);
    close(ofd);
    close(efd);
    free(argv);
    free(envp);
    return r;
}

void tu_result_free(tu_result *r) {
    free(r->out);
    free(r->err);
}

/* Folders made by tu_tmpdir and not yet removed (each test runs in its own process). */
#define MAX_TMPDIRS 64
static char *tmpdirs[MAX_TMPDIRS];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* Remove dir and everything below it (links are removed, not followed). */
static void remove_tree(const char *dir) { nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

static void remove_all_tmpdirs(void) {
    for (int i = 0; i < MAX_TMPDIRS; i++)
        if (tmpdirs[i]) {
            remove_tree(tmpdirs[i]);
            free(tmpdirs[i]);
            tmpdirs[i] = NULL;
        }
}

char *tu_tmpdir(void) {
    static int registered;
    char path[1024];
    snprintf(path, sizeof path, "%s/nnbench-test-XXXXXX", tmp_root());
    cr_assert_not_null(mkdtemp(path), "cannot create a folder in %s", tmp_root());
    if (!registered) registered = atexit(remove_all_tmpdirs) == 0;
    int slot = 0;
    while (slot < MAX_TMPDIRS && tmpdirs[slot]) slot++;
    cr_assert_lt(slot, MAX_TMPDIRS, "too many temporary folders in one test");
    tmpdirs[slot] = strdup(path);
    return strdup(path);
}

void tu_rmtree(char *dir) {
    if (!dir) return;
    remove_tree(dir);
    for (int i = 0; i < MAX_TMPDIRS; i++)
        if (tmpdirs[i] && strcmp(tmpdirs[i], dir) == 0) {
            free(tmpdirs[i]);
            tmpdirs[i] = NULL;
        }
    free(dir);
}

char *tu_path(const char *dir, const char *name) {
    size_t len = strlen(dir) + strlen(name) + 2;
    char *path = malloc(len);
    cr_assert_not_null(path);
    snprintf(path, len, "%s/%s", dir, name);
    return path;
}

char *tu_read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    int fd = fileno(f);
    char *s = tu_slurp(fd);
    fclose(f);
    return s;
}

char *tu_kernel_copy(const char *edit, const char *before, const char *after) {
    static const char *const files[] = {"elementwise.cl", "loss.cl", "matmul.cl", "optimizer.cl",
                                        "reduce.cl"};
    char *dir = tu_tmpdir();
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char src[1024], dst[1024];
        snprintf(src, sizeof src, "%s/kernels/%s", NN_SOURCE_DIR, files[i]);
        snprintf(dst, sizeof dst, "%s/%s", dir, files[i]);
        FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
        cr_assert(in && out, "copying %s", src);
        const int edited = edit && strcmp(edit, files[i]) == 0;
        if (edited && before) fputs(before, out);
        char buf[4096];
        size_t got;
        while ((got = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, got, out);
        if (edited && after) fputs(after, out);
        fclose(in);
        fclose(out);
    }
    return dir;
}

char *tu_write_file(const char *dir, const char *name, const char *text) {
    char *path = tu_path(dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

const char *const TU_MPI_ENV[] = {"OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1",
                                  "OMPI_MCA_rmaps_base_oversubscribe=1", NULL};

char *tu_mpirun_path(void) {
    tu_result r = tu_run_program("/bin/sh", (const char *const[]){"-c", "command -v mpirun", NULL},
                                 NULL, NULL);
    char *path = NULL;
    if (r.status == 0 && r.out[0] == '/') {
        r.out[strcspn(r.out, "\n")] = '\0';
        path = strdup(r.out);
    }
    tu_result_free(&r);
    return path;
}
