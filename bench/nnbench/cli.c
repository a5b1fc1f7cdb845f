/* cli.c — messages, exit codes, memory checks and backend opening for nnbench. */
#include "cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One line on stderr: the prefix, then the message. */
static void say(const char *prefix, const char *fmt, va_list ap) {
    fputs(prefix, stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int cli_usage_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    say("nnbench: ", fmt, ap);
    va_end(ap);
    return EXIT_USAGE;
}

void cli_warn(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    say("nnbench: warning: ", fmt, ap);
    va_end(ap);
}

int cli_exit_code(nn_status st) {
    return st == NN_E_INVALID || st == NN_E_PARSE || st == NN_E_IO ? EXIT_USAGE : EXIT_FAIL;
}

const char *cli_first_line(const char *msg, char *buf, size_t len) {
    size_t n = strcspn(msg, "\n");
    if (n >= len) n = len - 1;
    memcpy(buf, msg, n);
    buf[n] = '\0';
    return buf;
}

void cli_warn_notes(const char *notes) {
    for (const char *p = notes; p && *p;) {
        size_t len = strcspn(p, "\n");
        cli_warn("%.*s", (int)len, p);
        p += len + (p[len] == '\n');
    }
}

int cli_open_backend(const char *requested, const nn_backend_config *cfg, int no_fallback,
                     nn_backend **out, char *fallback_reason, size_t reason_len) {
    nn_error err;
    if (fallback_reason && reason_len) fallback_reason[0] = '\0';
    nn_status st = nn_backend_open(requested, cfg, out, &err);
    if (st == NN_OK) {
        cli_warn_notes(nn_backend_notes(*out));
        return EXIT_OK;
    }
    if (st == NN_E_INVALID) return cli_usage_error("--backend/--device: %s", err.msg);
    if (strcmp(requested, "opencl") != 0 || no_fallback) {
        fprintf(stderr, "nnbench: %s backend: %s\n", requested, err.msg);
        return strcmp(requested, "opencl") == 0 ? EXIT_NO_OPENCL : EXIT_FAIL;
    }
    /* First line of the message is the reason; a build log may follow. */
    char first[512];
    cli_first_line(err.msg, first, sizeof first);
    cli_warn("OpenCL unavailable (%s); falling back to the cpu backend", first);
    if (strchr(err.msg, '\n')) fprintf(stderr, "%s\n", strchr(err.msg, '\n') + 1);
    if (fallback_reason) snprintf(fallback_reason, reason_len, "%s", first);
    st = nn_backend_open("cpu", cfg, out, &err);
    if (st != NN_OK) {
        fprintf(stderr, "nnbench: cpu backend: %s\n", err.msg);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

int cli_check_memory(const char *opt, double bytes, const char *what) {
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    double avail = pages > 0 && page > 0 ? (double)pages * (double)page : 0.0;
    if (avail > 0 && bytes > 0.8 * avail) {
        cli_usage_error("%s: %s need %.1f GiB, more than this machine's memory (%.1f GiB)", opt,
                        what, bytes / 1073741824.0, avail / 1073741824.0);
        return -1;
    }
    return 0;
}

void cli_layers_str(const nn_model_config *m, char *buf, size_t len) {
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < m->n_sizes && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, i ? "-%zu" : "%zu", m->sizes[i]);
}

void cli_layers_arg(const nn_model_config *m, char *buf, size_t len) {
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < m->n_sizes && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, i ? ",%zu" : "%zu", m->sizes[i]);
}

const char *cli_format_exact(double v, char *buf, size_t len) {
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(buf, len, "%.*g", digits, v);
        if (strtod(buf, NULL) == v) break;
    }
    return buf;
}

int args_add(arglist *a, const char *s) {
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 16;
        char **v = realloc(a->v, cap * sizeof *v);
        if (!v) return cli_usage_error("out of memory"), -1;
        a->v = v;
        a->cap = cap;
    }
    if (!(a->v[a->n] = strdup(s))) return cli_usage_error("out of memory"), -1;
    a->n++;
    return 0;
}

void args_free(arglist *a) {
    for (size_t i = 0; i < a->n; i++) free(a->v[i]);
    free(a->v);
    memset(a, 0, sizeof *a);
}
