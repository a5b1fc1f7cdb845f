/* opencl_tune_cache.c — the tuning cache file: where it lives, one line per
 * device, lookup with every way an entry can be unusable (corrupt,
 * truncated, stale, out of range), and atomic replacement of an entry.
 *
 * Line format (fields separated by tabs):
 *   nnbench-opencl-tune  FORMAT  PLATFORM  DEVICE  DRIVER  kernels=HASH  time=UNIX  PARAMS
 *   check=HASH
 * where the last field is the FNV-1a 64 of everything before it (tabs
 * included). Lines starting with '#' are comments. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "opencl/opencl_internal.h"

#define MAX_FILE (1u << 20) /* a larger cache file is not read */
#define MAX_LINE 4096
#define N_FIELDS 9

/* Replace tabs and line breaks (the file's separators) by spaces. */
static void sanitize(char *s) {
    for (; *s; s++)
        if (*s == '\t' || *s == '\n' || *s == '\r') *s = ' ';
}

void nn_cl_ident_get(cl_platform_id pf, cl_device_id dev, unsigned long long kernels,
                     nn_cl_ident *id) {
    nn_cl_platform_str(pf, CL_PLATFORM_NAME, id->platform, sizeof id->platform);
    nn_cl_device_str(dev, CL_DEVICE_NAME, id->device, sizeof id->device);
    nn_cl_device_str(dev, CL_DRIVER_VERSION, id->driver, sizeof id->driver);
    sanitize(id->platform);
    sanitize(id->device);
    sanitize(id->driver);
    id->kernels = kernels;
}

void nn_cl_cache_line(int format, const nn_cl_ident *id, long long when, const char *params,
                      char *buf, size_t len) {
    int w = snprintf(buf, len, "%s\t%d\t%s\t%s\t%s\tkernels=%016llx\ttime=%lld\t%s\t",
                     NN_CL_CACHE_MAGIC, format, id->platform, id->device, id->driver,
                     id->kernels, when, params);
    if (w < 0 || (size_t)w >= len) {
        if (len) buf[0] = '\0';
        return;
    }
    snprintf(buf + w, len - (size_t)w, "check=%016llx",
             nn_cl_fnv(NN_CL_FNV_BASIS, buf, (size_t)w));
}

/* A line split into tab-separated fields (in a private copy). */
typedef struct line {
    char text[MAX_LINE];
    char *f[N_FIELDS + 1];
    size_t nf;   /* fields found (N_FIELDS + 1 means "more than N_FIELDS") */
    int binary;  /* the line holds a NUL byte or is too long */
} line;

/* Split bytes [p, p+n) into *l. */
static void split(const char *p, size_t n, line *l) {
    l->nf = 0;
    l->binary = n >= MAX_LINE || memchr(p, '\0', n) != NULL;
    if (l->binary) return;
    memcpy(l->text, p, n);
    l->text[n] = '\0';
    char *s = l->text;
    while (l->nf < N_FIELDS + 1) {
        l->f[l->nf++] = s;
        char *tab = strchr(s, '\t');
        if (!tab) break;
        *tab = '\0';
        s = tab + 1;
    }
}

/* 1 when the line names id's platform and device (an entry of this device). */
static int is_mine(const line *l, const nn_cl_ident *id) {
    return !l->binary && l->nf >= 4 && strcmp(l->f[0], NN_CL_CACHE_MAGIC) == 0 &&
           strcmp(l->f[2], id->platform) == 0 && strcmp(l->f[3], id->device) == 0;
}

/* 1 when the line is an entry of some other device (kept when saving). */
static int is_other(const line *l, const nn_cl_ident *id) {
    return !l->binary && l->nf >= 4 && strcmp(l->f[0], NN_CL_CACHE_MAGIC) == 0 && !is_mine(l, id);
}

/* Judge one line of this device (raw bytes p, n): fill info, and *t when valid. */
static void judge(const char *p, size_t n, const line *l, const nn_cl_ident *id, size_t max_wg,
                  nn_cl_tune *t, nn_tune_entry_info *info, size_t lineno) {
    info->state = NN_TUNE_IGNORED;
    info->params[0] = '\0';
    const char *chk = l->nf == N_FIELDS ? l->f[N_FIELDS - 1] : "";
    const size_t body = n - strlen(chk); /* bytes before "check=" */
    char want[32];
    snprintf(want, sizeof want, "check=%016llx", nn_cl_fnv(NN_CL_FNV_BASIS, p, body));
    if (l->nf != N_FIELDS || strcmp(chk, want) != 0) {
        snprintf(info->detail, sizeof info->detail,
                 "line %zu: the entry of this device is corrupt or truncated (%zu of %d fields, "
                 "checksum %s)",
                 lineno, l->nf > N_FIELDS ? (size_t)N_FIELDS + 1 : l->nf, N_FIELDS,
                 l->nf == N_FIELDS ? "wrong" : "missing");
        return;
    }
    char fmt[16];
    snprintf(fmt, sizeof fmt, "%d", NN_CL_CACHE_FORMAT);
    if (strcmp(l->f[1], fmt) != 0) {
        snprintf(info->detail, sizeof info->detail,
                 "line %zu: stale entry: cache format %.32s, this library reads format %d",
                 lineno, l->f[1], NN_CL_CACHE_FORMAT);
        return;
    }
    if (strcmp(l->f[4], id->driver) != 0) {
        snprintf(info->detail, sizeof info->detail,
                 "line %zu: stale entry: tuned with driver version '%.100s', the device now "
                 "reports '%.100s'",
                 lineno, l->f[4], id->driver);
        return;
    }
    char kern[40];
    snprintf(kern, sizeof kern, "kernels=%016llx", id->kernels);
    if (strcmp(l->f[5], kern) != 0) {
        snprintf(info->detail, sizeof info->detail,
                 "line %zu: stale entry: tuned for other kernel sources (%.40s, these are %s)",
                 lineno, l->f[5], kern + 8);
        return;
    }
    char *end = l->f[6];
    long long when = strncmp(l->f[6], "time=", 5) == 0 ? strtoll(l->f[6] + 5, &end, 10) : -1;
    if (when < 0 || *end) {
        snprintf(info->detail, sizeof info->detail, "line %zu: corrupt entry: bad time field",
                 lineno);
        return;
    }
    nn_cl_tune cand = *t;
    nn_error e;
    if (nn_cl_tune_apply(&cand, l->f[7], max_wg, "tuning cache", &e) != NN_OK ||
        nn_cl_tune_validate(&cand, max_wg, "tuning cache", &e) != NN_OK) {
        snprintf(info->detail, sizeof info->detail, "line %zu: invalid or out-of-range entry: %.400s",
                 lineno, e.msg);
        return;
    }
    *t = cand;
    info->state = NN_TUNE_VALID;
    snprintf(info->params, sizeof info->params, "%s", l->f[7]);
    time_t tt = (time_t)when;
    struct tm tm;
    char date[40] = "?";
    if (gmtime_r(&tt, &tm)) strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", &tm);
    snprintf(info->detail, sizeof info->detail, "tuned %s", date);
}

void nn_cl_cache_lookup(const nn_cl_ident *id, size_t max_wg, nn_cl_tune *t,
                        nn_tune_entry_info *info) {
    memset(info, 0, sizeof *info);
    info->state = NN_TUNE_NONE;
    nn_error e;
    if (nn_tune_cache_path(info->path, sizeof info->path, &e) != NN_OK) {
        info->path[0] = '\0';
        snprintf(info->detail, sizeof info->detail, "%.400s", e.msg);
        return;
    }
    size_t n = 0;
    char *data = nn_cl_read_file(info->path, MAX_FILE, &n);
    if (!data) {
        if (errno == ENOENT) return; /* never tuned */
        info->state = NN_TUNE_IGNORED;
        snprintf(info->detail, sizeof info->detail, "cannot read the cache file: %s",
                 errno == EFBIG ? "larger than 1 MiB" : strerror(errno));
        return;
    }
    line *l = malloc(sizeof *l);
    if (!l) {
        free(data);
        info->state = NN_TUNE_IGNORED;
        snprintf(info->detail, sizeof info->detail, "out of memory reading the cache");
        return;
    }
    nn_tune_entry_info mine = *info, junk = *info;
    int have_mine = 0, have_junk = 0;
    nn_cl_tune found = *t;
    size_t lineno = 0;
    for (size_t pos = 0; pos < n;) {
        const char *nl = memchr(data + pos, '\n', n - pos);
        size_t len = nl ? (size_t)(nl - (data + pos)) : n - pos;
        lineno++;
        const char *p = data + pos;
        pos += len + 1;
        if (len == 0 || p[0] == '#') continue;
        split(p, len, l);
        if (is_mine(l, id)) {
            nn_cl_tune cand = *t;
            judge(p, len, l, id, max_wg, &cand, &mine, lineno); /* the last one counts */
            if (mine.state == NN_TUNE_VALID) found = cand;
            have_mine = 1;
        } else if (!is_other(l, id) && !have_junk) {
            junk.state = NN_TUNE_IGNORED;
            snprintf(junk.detail, sizeof junk.detail,
                     "line %zu is not a cache entry (corrupt); no valid entry for this device",
                     lineno);
            have_junk = 1;
        }
    }
    free(l);
    free(data);
    if (have_mine) {
        *info = mine;
        if (mine.state == NN_TUNE_VALID) *t = found;
    } else if (have_junk) {
        *info = junk;
    }
}

/* mkdir -p of the folder holding `path` (each new folder 0700, as XDG asks). */
static int make_parents(const char *path) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) return 0;
    *slash = '\0';
    for (char *p = dir + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char keep = *p;
            *p = '\0';
            if (mkdir(dir, 0700) != 0 && errno != EEXIST) return -1;
            *p = keep;
            if (!keep) break;
        }
    }
    return 0;
}

/* Write all n bytes to fd; 0 or -1 with errno. */
static int write_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

nn_status nn_cl_cache_save(const nn_cl_ident *id, const nn_cl_tune *t, char *path_out,
                           size_t len, nn_error *err) {
    char path[1024];
    nn_status st = nn_tune_cache_path(path, sizeof path, err);
    if (st != NN_OK) return st;
    if (path_out && len) snprintf(path_out, len, "%s", path);
    if (make_parents(path) != 0)
        return nn_error_set(err, NN_E_IO, "cannot create the folder of %s: %s", path,
                            strerror(errno));
    size_t n = 0;
    /* NULL: no file, or unreadable: start afresh */
    char *old = nn_cl_read_file(path, MAX_FILE, &n);
    size_t cap = (old ? n : 0) + 2 * MAX_LINE + 256;
    char *out = malloc(cap);
    line *l = malloc(sizeof *l);
    if (!out || !l) {
        free(old);
        free(out);
        free(l);
        return nn_error_set(err, NN_E_NOMEM, "out of memory writing the tuning cache");
    }
    size_t used = (size_t)snprintf(out, cap,
                                   "# nnbench OpenCL tuning cache (format %d): one line per "
                                   "device, written by the tuner; delete it to forget.\n",
                                   NN_CL_CACHE_FORMAT);
    for (size_t pos = 0; old && pos < n;) { /* keep the other devices' entries */
        const char *nl = memchr(old + pos, '\n', n - pos);
        size_t ll = nl ? (size_t)(nl - (old + pos)) : n - pos;
        const char *p = old + pos;
        pos += ll + 1;
        if (ll == 0 || p[0] == '#' || !nl) continue; /* comments; a last line without \n is cut */
        split(p, ll, l);
        if (!is_other(l, id)) continue;
        memcpy(out + used, p, ll);
        used += ll;
        out[used++] = '\n';
    }
    free(old);
    free(l);
    char params[2048], entry[2 * MAX_LINE];
    nn_cl_tune_format(t, params, sizeof params);
    nn_cl_cache_line(NN_CL_CACHE_FORMAT, id, (long long)time(NULL), params, entry, sizeof entry);
    used += (size_t)snprintf(out + used, cap - used, "%s\n", entry);

    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        free(out);
        return nn_error_set(err, NN_E_IO, "cannot create a temporary file next to %s: %s", path,
                            strerror(errno));
    }
    int bad = write_all(fd, out, used) != 0 || fchmod(fd, 0644) != 0 || fsync(fd) != 0;
    int saved = errno;
    bad |= close(fd) != 0;
    free(out);
    if (bad || rename(tmp, path) != 0) {
        if (!bad) saved = errno;
        unlink(tmp);
        return nn_error_set(err, NN_E_IO, "cannot write %s: %s", path, strerror(saved));
    }
    return NN_OK;
}
