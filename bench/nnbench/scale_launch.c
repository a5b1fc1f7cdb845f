/* scale_launch.c — the command line that runs a point's ranks: which MPI
 * launcher (Open MPI's mpirun or MPICH's Hydra mpiexec), its flags, and the
 * hidden scale-point command with the point's settings. Only flags both
 * launchers know are used for MPICH ("-n"); Open MPI also gets
 * "--bind-to none" (ranks may use several threads, and one-rank points run
 * unbound too) and "--oversubscribe" when there are more ranks than cores.
 * Through the environment (scale_run.c; other launchers ignore it), Open
 * MPI is allowed to run as root, and when a point's ranks x threads fill
 * the cores its waiting ranks yield the core (OMPI_MCA_mpi_yield_when_idle=1,
 * unless already set) instead of spinning on it: on a machine with no spare
 * core, spinning takes the core the rank being waited for needs. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "scale.h"

/* Path of an executable `name` on PATH into out; 0, or -1. */
static int on_path(const char *name, char *out, size_t len) {
    if (strchr(name, '/')) {
        if (access(name, X_OK) != 0) return -1;
        snprintf(out, len, "%s", name);
        return 0;
    }
    const char *path = getenv("PATH");
    if (!path) return -1;
    for (const char *p = path;; p += strcspn(p, ":") + 1) {
        size_t n = strcspn(p, ":");
        if (n > 0 && (size_t)snprintf(out, len, "%.*s/%s", (int)n, p, name) < len &&
            access(out, X_OK) == 0)
            return 0;
        if (p[n] == '\0') break;
    }
    return -1;
}

/* The first line of `path --version` into out (empty when it says nothing). */
static void version_line(const char *path, char *out, size_t len) {
    out[0] = '\0';
    int fd[2];
    if (pipe(fd) != 0) return;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]), close(fd[1]);
        return;
    }
    if (pid == 0) {
        dup2(fd[1], STDOUT_FILENO);
        dup2(fd[1], STDERR_FILENO);
        close(fd[0]);
        execl(path, path, "--version", (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    char buf[4096];
    size_t have = 0;
    ssize_t r;
    while ((r = read(fd[0], buf + have, sizeof buf - 1 - have)) > 0 || (r < 0 && errno == EINTR))
        if (r > 0) have += (size_t)r;
    close(fd[0]);
    buf[have] = '\0';
    int ws;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {}
    /* Open MPI: "mpirun (Open MPI) 4.1.4"; Hydra: "HYDRA build details:" then
     * "Version: ..." lines; keep the line that names the implementation. */
    const char *ver = strstr(buf, "Version:");
    if (strstr(buf, "HYDRA") && ver) { /* "MPICH Hydra 4.0.2" */
        ver += strlen("Version:");
        while (*ver == ' ' || *ver == '\t') ver++;
        snprintf(out, len, "MPICH Hydra %.*s", (int)strcspn(ver, "\n"), ver);
        return;
    }
    const char *keys[] = {"Open MPI", "HYDRA", "MPICH", "Intel", NULL};
    for (int k = 0; keys[k]; k++) {
        const char *at = strstr(buf, keys[k]);
        if (!at) continue;
        while (at > buf && at[-1] != '\n') at--;
        snprintf(out, len, "%.*s", (int)strcspn(at, "\n"), at);
        return;
    }
    snprintf(out, len, "%.*s", (int)strcspn(buf, "\n"), buf);
}

int scale_launcher_find(const scale_options *o, scale_launcher *l) {
    memset(l, 0, sizeof *l);
    if (o->launcher) {
        if (on_path(o->launcher, l->path, sizeof l->path) != 0)
            return cli_usage_error("--launcher: '%s' is not an executable (on PATH)", o->launcher);
    } else if (on_path("mpirun", l->path, sizeof l->path) != 0 &&
               on_path("mpiexec", l->path, sizeof l->path) != 0) {
        return cli_usage_error("--ranks: neither mpirun nor mpiexec is on PATH (install an MPI, "
                               "e.g. openmpi-bin, or name one with --launcher)");
    }
    version_line(l->path, l->version, sizeof l->version);
    if (strstr(l->version, "Open MPI") || strstr(l->version, "OpenRTE"))
        l->kind = LAUNCHER_OPENMPI;
    else if (strstr(l->version, "HYDRA") || strstr(l->version, "Hydra") ||
             strstr(l->version, "MPICH") ||
             strstr(l->version, "Intel"))
        l->kind = LAUNCHER_HYDRA;
    else
        l->kind = LAUNCHER_OTHER;
    return EXIT_OK;
}

/* Appends formatted strings to an argument vector backed by one store. */
typedef struct argv_builder {
    char **args;
    int n, max;
    char *store;
    size_t used, len;
    int overflow;
} argv_builder;

__attribute__((format(printf, 2, 3))) static void add(argv_builder *b, const char *fmt, ...) {
    if (b->overflow || b->n + 1 >= b->max) {
        b->overflow = 1;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(b->store + b->used, b->len - b->used, fmt, ap);
    va_end(ap);
    if (w < 0 || (size_t)w >= b->len - b->used) {
        b->overflow = 1;
        return;
    }
    b->args[b->n++] = b->store + b->used;
    b->used += (size_t)w + 1;
}

/* The option and its value as two arguments. */
#define ADD_OPT(b, name, fmt, ...) (add(b, "%s", name), add(b, fmt, __VA_ARGS__))

static void point_args(argv_builder *b, const scale_options *o, const point *pt) {
    ADD_OPT(b, "--backend", "%s", pt->backend);
    for (int a = 0; a < N_AXES; a++) {
        char name[32];
        snprintf(name, sizeof name, "--%s", SCALE_AXIS_NAMES[a]);
        ADD_OPT(b, name, "%llu", (unsigned long long)pt->p[a]);
    }
    ADD_OPT(b, "--dataset", "%s", o->dataset);
    ADD_OPT(b, "--classes", "%zu", o->classes);
    ADD_OPT(b, "--epochs", "%d", o->epochs);
    ADD_OPT(b, "--optimizer", "%s", nn_optimizer_name(o->optimizer));
    ADD_OPT(b, "--lr", "%.17g", o->lr);
    ADD_OPT(b, "--repeats", "%d", o->repeats);
    ADD_OPT(b, "--warmup", "%d", o->warmup);
    ADD_OPT(b, "--test-fraction", "%.17g", o->test_fraction);
    ADD_OPT(b, "--seed", "%llu", (unsigned long long)o->seed);
    if (o->device) ADD_OPT(b, "--device", "%s", o->device);
    if (o->weak) add(b, "--weak");
}

int scale_launch_args(const scale_options *o, const point *pt, const scale_launcher *l,
                      const char *self, const char *result, char **args, int max, char *store,
                      size_t store_len) {
    argv_builder b = {args, 0, max, store, 0, store_len, 0};
    const long cores = sysconf(_SC_NPROCESSORS_ONLN);
    add(&b, "%s", l->path);
    ADD_OPT(&b, "-n", "%llu", (unsigned long long)pt->p[AX_RANKS]);
    if (l->kind == LAUNCHER_OPENMPI) {
        ADD_OPT(&b, "--bind-to", "%s", "none");
        if (cores > 0 && pt->p[AX_RANKS] > (uint64_t)cores) add(&b, "--oversubscribe");
    }
    add(&b, "%s", self);
    add(&b, "%s", SCALE_POINT_COMMAND);
    add(&b, "%s", result);
    point_args(&b, o, pt);
    if (b.overflow) return -1;
    args[b.n] = NULL;
    return b.n;
}
