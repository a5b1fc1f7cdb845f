/* values.c — parsers of option values: integers, reals, counts ("1e6",
 * "100M"), lists of counts and layer widths. Each prints one line naming the
 * option and what it accepts when the text does not fit. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

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

int cli_parse_count_list(const char *opt, const char *s, uint64_t min, uint64_t max,
                         size_t max_items, uint64_t *out, size_t *n) {
    size_t len = strlen(s);
    if (len == 0 || s[0] == ',' || s[len - 1] == ',' || strstr(s, ",,")) {
        cli_usage_error("%s: expected a comma-separated list, got '%s'", opt, s);
        return -1;
    }
    *n = 0;
    for (const char *p = s;; p += strcspn(p, ",") + 1) {
        char item[64];
        size_t il = strcspn(p, ",");
        if (*n == max_items) {
            cli_usage_error("%s: at most %zu values", opt, max_items);
            return -1;
        }
        snprintf(item, sizeof item, "%.*s", (int)(il < sizeof item ? il : sizeof item - 1), p);
        if (cli_parse_count(opt, item, min, max, &out[*n]) != 0) return -1;
        ++*n;
        if (p[il] == '\0') break;
    }
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
