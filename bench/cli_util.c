/* cli_util.c — option values, messages and backend opening for nnbench. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int cli_usage_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("nnbench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return EXIT_USAGE;
}

void cli_warn(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("nnbench: warning: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_parse_long(const char *opt, const char *s, long min, long max, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno == ERANGE || v < min || v > max) {
        cli_usage_error("%s: expected an integer from %ld to %ld, got '%s'", opt, min, max, s);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_parse_double(const char *opt, const char *s, double min, double max, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*s == '\0' || *end != '\0' || errno == ERANGE || !isfinite(v) || v < min || v > max) {
        cli_usage_error("%s: expected a number from %g to %g, got '%s'", opt, min, max, s);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_parse_count(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    double mult = 1.0;
    if (end != s && *end != '\0' && end[1] == '\0') {
        switch (*end) {
        case 'k': case 'K': mult = 1e3; end++; break;
        case 'm': case 'M': mult = 1e6; end++; break;
        case 'g': case 'G': mult = 1e9; end++; break;
        default: break;
        }
    }
    v *= mult;
    if (*s == '\0' || *end != '\0' || errno == ERANGE || !isfinite(v) || v != floor(v) ||
        v < (double)min || v > (double)max) {
        cli_usage_error("%s: expected a whole number from %llu to %llu (e.g. 1000, 1e6, 100M), "
                        "got '%s'", opt, (unsigned long long)min, (unsigned long long)max, s);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

int cli_parse_layers(const char *opt, const char *s, size_t max_width, nn_model_config *cfg) {
    size_t n = 0;
    const char *p = s;
    while (1) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno == ERANGE || v < 1 || (size_t)v > max_width ||
            (*end != ',' && *end != '\0')) {
            cli_usage_error("%s: expected comma-separated widths from 1 to %zu such as 2,8,1, "
                            "got '%s'", opt, max_width, s);
            return -1;
        }
        if (n == NN_MAX_LAYERS + 1) {
            cli_usage_error("%s: at most %d layers, got '%s'", opt, NN_MAX_LAYERS, s);
            return -1;
        }
        cfg->sizes[n++] = (size_t)v;
        if (*end == '\0') break;
        p = end + 1;
    }
    if (n < 2) {
        cli_usage_error("%s: need at least an input and an output width (e.g. 2,8,1), got '%s'",
                        opt, s);
        return -1;
    }
    cfg->n_sizes = n;
    return 0;
}

int cli_is(const char *arg, const char *name) {
    size_t n = strlen(name);
    return strncmp(arg, name, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

const char *cli_value(int argc, char **argv, int *i, const char *name) {
    const char *arg = argv[*i];
    size_t n = strlen(name);
    if (arg[n] == '=') return arg + n + 1;
    if (*i + 1 >= argc) {
        cli_usage_error("%s needs a value", name);
        return NULL;
    }
    return argv[++*i];
}

int cli_open_backend(const char *requested, const nn_backend_config *cfg, int no_fallback,
                     nn_backend **out, char *fallback_reason, size_t reason_len) {
    nn_error err;
    if (fallback_reason && reason_len) fallback_reason[0] = '\0';
    nn_status st = nn_backend_open(requested, cfg, out, &err);
    if (st == NN_OK) return EXIT_OK;
    if (st == NN_E_INVALID) return cli_usage_error("--backend/--device: %s", err.msg);
    if (strcmp(requested, "opencl") != 0 || no_fallback) {
        fprintf(stderr, "nnbench: %s backend: %s\n", requested, err.msg);
        return strcmp(requested, "opencl") == 0 ? EXIT_NO_OPENCL : EXIT_FAIL;
    }
    /* First line of the message is the reason; a build log may follow. */
    char first[512];
    size_t len = strcspn(err.msg, "\n");
    if (len >= sizeof first) len = sizeof first - 1;
    memcpy(first, err.msg, len);
    first[len] = '\0';
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
