/* outfile.c — atomic output files (write a temporary file beside the
 * target, rename it into place on commit) and same-file detection. */
#include "io/io_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct nn_outfile {
    char *path;    /* the target as given */
    char *base;    /* target's name inside its folder */
    char *tmpname; /* temporary file's name inside the folder */
    char *temp;    /* temporary file's full path (messages) */
    int dirfd;     /* the target's folder; -1 when writing the target directly */
    int durable;
    FILE *fp;
};

/* malloc'd copy of s[0..len). */
static char *dup_n(const char *s, size_t len) {
    char *d = malloc(len + 1);
    if (d != NULL) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

/* malloc'd a + b + c. */
static char *join3(const char *a, const char *b, const char *c) {
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *d = malloc(la + lb + lc + 1);
    if (d != NULL) {
        memcpy(d, a, la);
        memcpy(d + la, b, lb);
        memcpy(d + la + lb, c, lc + 1);
    }
    return d;
}

static void outfile_free(nn_outfile *f) {
    if (f->dirfd >= 0) close(f->dirfd);
    free(f->path);
    free(f->base);
    free(f->tmpname);
    free(f->temp);
    free(f);
}

/* Create the temporary file in f->dirfd: ".<base>.tmp.XXXXXX" (or a short
 * fixed stem when that would exceed NAME_MAX) with O_EXCL and fresh random
 * suffixes until a name is free. */
static nn_status create_temp(nn_outfile *f, const char *dir, mode_t mode, int keep_mode,
                             nn_error *err) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    const uint64_t key = ((uint64_t)getpid() << 32) ^ (uint64_t)ts.tv_nsec ^
                         ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)(uintptr_t)f;
    const size_t blen = strlen(f->base);
    const int long_name = blen + 12 > NAME_MAX;
    for (uint64_t attempt = 0; attempt < 100; attempt++) {
        char suffix[7];
        uint64_t r = nn_rng_at(key, attempt);
        for (int i = 0; i < 6; i++, r /= 36) suffix[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[r % 36];
        suffix[6] = '\0';
        free(f->tmpname);
        f->tmpname = long_name ? join3(".nnbench.tmp.", suffix, "") : join3(".", f->base, ".tmp.");
        if (f->tmpname != NULL && !long_name) {
            char *t = join3(f->tmpname, suffix, "");
            free(f->tmpname);
            f->tmpname = t;
        }
        if (f->tmpname == NULL) return io_error(err, NN_E_NOMEM, "%s: out of memory", f->path);
        int fd = openat(f->dirfd, f->tmpname, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno == EEXIST) continue;
        if (fd < 0)
            return io_error(err, NN_E_IO,
                            "%s: cannot create a temporary file in folder %s (needed to write "
                            "it safely): %s",
                            f->path, dir, strerror(errno));
        if (keep_mode) (void)fchmod(fd, mode & 07777); /* best effort, like editors */
        f->fp = fdopen(fd, "wb");
        f->temp = join3(dir, "/", f->tmpname);
        if (f->fp == NULL || f->temp == NULL) {
            if (f->fp != NULL) fclose(f->fp);
            else close(fd);
            f->fp = NULL;
            unlinkat(f->dirfd, f->tmpname, 0);
            return io_error(err, NN_E_NOMEM, "%s: out of memory", f->path);
        }
        return NN_OK;
    }
    return io_error(err, NN_E_IO, "%s: cannot find a free temporary name in folder %s",
                    f->path, dir);
}

nn_status nn_outfile_open(const char *path, int durable, nn_outfile **out, nn_error *err) {
    if (out == NULL) return io_error(err, NN_E_INVALID, "nn_outfile_open: NULL output");
    *out = NULL;
    if (path == NULL || path[0] == '\0')
        return io_error(err, NN_E_INVALID, "output path is empty");
    const size_t plen = strlen(path);
    if (plen >= PATH_MAX)
        return io_error(err, NN_E_INVALID,
                        "output path of %zu bytes is too long (the system's limit is %d): "
                        "%.64s...",
                        plen, PATH_MAX - 1, path);
    nn_outfile *f = calloc(1, sizeof *f);
    if (f == NULL) return io_error(err, NN_E_NOMEM, "%s: out of memory", path);
    f->dirfd = -1;
    f->durable = durable;
    f->path = dup_n(path, plen);
    if (f->path == NULL) {
        outfile_free(f);
        return io_error(err, NN_E_NOMEM, "%s: out of memory", path);
    }
    /* What the path names, through symbolic links. */
    struct stat sb;
    const int exists = stat(path, &sb) == 0;
    if (exists && S_ISDIR(sb.st_mode)) {
        outfile_free(f);
        return io_error(err, NN_E_INVALID, "%s: is a folder, not a file", path);
    }
    if (exists && !S_ISREG(sb.st_mode)) {
        /* a device, FIFO, pipe or socket (/dev/null, /dev/stdout) cannot be
         * replaced: write to it */
        f->fp = fopen(path, "wb");
        if (f->fp == NULL) {
            int e = errno;
            outfile_free(f);
            return io_error(err, NN_E_IO, "%s: cannot open for writing: %s", path, strerror(e));
        }
        *out = f;
        return NN_OK;
    }
    /* A symbolic link to a regular file: replace the file it names. */
    struct stat lsb;
    char *target = NULL;
    if (lstat(path, &lsb) == 0 && S_ISLNK(lsb.st_mode)) {
        if (!exists) {
            outfile_free(f);
            return io_error(err, NN_E_IO, "%s: a symbolic link to a missing file", path);
        }
        target = realpath(path, NULL);
        if (target == NULL) {
            int e = errno;
            outfile_free(f);
            return io_error(err, NN_E_IO, "%s: a symbolic link that cannot be followed: %s", path,
                            strerror(e));
        }
    } else {
        target = dup_n(path, plen);
    }
    if (target == NULL) {
        outfile_free(f);
        return io_error(err, NN_E_NOMEM, "%s: out of memory", path);
    }
    /* split into folder and name */
    const char *slash = strrchr(target, '/');
    const char *name = slash ? slash + 1 : target;
    char *dir = slash == NULL    ? dup_n(".", 1)
                : slash == target ? dup_n("/", 1)
                                  : dup_n(target, (size_t)(slash - target));
    f->base = dup_n(name, strlen(name));
    free(target);
    if (dir == NULL || f->base == NULL) {
        free(dir);
        outfile_free(f);
        return io_error(err, NN_E_NOMEM, "%s: out of memory", path);
    }
    if (f->base[0] == '\0' || strcmp(f->base, ".") == 0 || strcmp(f->base, "..") == 0) {
        free(dir);
        outfile_free(f);
        return io_error(err, NN_E_INVALID, "%s: names a folder, not a file", path);
    }
    if (strlen(f->base) > NAME_MAX) {
        free(dir);
        size_t bl = strlen(f->base);
        outfile_free(f);
        return io_error(err, NN_E_INVALID,
                        "%s: the file name is %zu bytes, longer than the system's limit of %d",
                        path, bl, NAME_MAX);
    }
    f->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (f->dirfd < 0) {
        int e = errno;
        io_error(err, NN_E_IO, "%s: cannot write into folder %s: %s", path, dir, strerror(e));
        free(dir);
        outfile_free(f);
        return NN_E_IO;
    }
    nn_status st = create_temp(f, dir, sb.st_mode, exists, err);
    free(dir);
    if (st != NN_OK) {
        outfile_free(f);
        return st;
    }
    *out = f;
    return NN_OK;
}

FILE *nn_outfile_stream(nn_outfile *f) { return f ? f->fp : NULL; }
const char *nn_outfile_path(const nn_outfile *f) { return f ? f->path : NULL; }
const char *nn_outfile_temp_path(const nn_outfile *f) {
    return f == NULL ? NULL : f->temp != NULL ? f->temp : f->path;
}

nn_status nn_outfile_commit(nn_outfile *f, nn_error *err) {
    if (f == NULL) return io_error(err, NN_E_INVALID, "nn_outfile_commit: NULL file");
    int e = 0;
    const char *what = "write";
    if (fflush(f->fp) != 0 || ferror(f->fp)) e = errno ? errno : EIO;
    if (e == 0 && f->durable && f->dirfd >= 0 && fsync(fileno(f->fp)) != 0) {
        e = errno;
        what = "sync";
    }
    if (fclose(f->fp) != 0 && e == 0) e = errno;
    f->fp = NULL;
    if (f->dirfd < 0) { /* written directly */
        nn_status st = e ? io_error(err, NN_E_IO, "%s: %s failed: %s", f->path, what,
                                    strerror(e))
                         : NN_OK;
        outfile_free(f);
        return st;
    }
    if (e == 0 && renameat(f->dirfd, f->tmpname, f->dirfd, f->base) != 0) {
        e = errno;
        what = "rename into place";
    }
    if (e != 0) {
        unlinkat(f->dirfd, f->tmpname, 0);
        io_error(err, NN_E_IO, "%s: %s failed (the file was left as it was): %s", f->path,
                 what, strerror(e));
        outfile_free(f);
        return NN_E_IO;
    }
    if (f->durable && fsync(f->dirfd) != 0 && errno != EINVAL) {
        e = errno;
        io_error(err, NN_E_IO, "%s: written, but its folder could not be synced: %s", f->path,
                 strerror(e));
        outfile_free(f);
        return NN_E_IO;
    }
    outfile_free(f);
    return NN_OK;
}

void nn_outfile_abort(nn_outfile *f) {
    if (f == NULL) return;
    if (f->fp != NULL) fclose(f->fp);
    if (f->dirfd >= 0 && f->tmpname != NULL) unlinkat(f->dirfd, f->tmpname, 0);
    outfile_free(f);
}

/* ------------------------------------------------------------ same file */

/* Absolute, lexically normalized form of p ("//", "." and ".." folded),
 * with the folder resolved through symbolic links when it exists;
 * malloc'd, NULL when out of memory or the working folder is unknown. */
static char *normalize(const char *p) {
    char *abs;
    if (p[0] == '/') {
        abs = dup_n(p, strlen(p));
    } else {
        char *cwd = getcwd(NULL, 0);
        if (cwd == NULL) return NULL;
        abs = join3(cwd, "/", p);
        free(cwd);
    }
    if (abs == NULL) return NULL;
    /* fold components in place */
    char *o = abs; /* write cursor; abs[0] == '/' */
    const char *s = abs;
    while (*s) {
        while (*s == '/') s++;
        const char *e = s;
        while (*e && *e != '/') e++;
        size_t n = (size_t)(e - s);
        if (n == 0 || (n == 1 && s[0] == '.')) {
            /* skip */
        } else if (n == 2 && s[0] == '.' && s[1] == '.') {
            while (o > abs && *--o != '/') {
            }
        } else {
            *o++ = '/';
            memmove(o, s, n);
            o += n;
        }
        s = e;
    }
    if (o == abs) *o++ = '/';
    *o = '\0';
    /* resolve the folder's symbolic links when it exists */
    char *slash = strrchr(abs, '/');
    if (slash != NULL && slash != abs && slash[1] != '\0') {
        *slash = '\0';
        char *dir = realpath(abs, NULL);
        *slash = '/';
        if (dir != NULL) {
            char *r = join3(strcmp(dir, "/") == 0 ? "" : dir, "/", slash + 1);
            free(dir);
            if (r != NULL) {
                free(abs);
                abs = r;
            }
        }
    }
    return abs;
}

int nn_path_same(const char *a, const char *b) {
    if (a == NULL || b == NULL) return 0;
    if (strcmp(a, b) == 0) return 1;
    struct stat sa, sb;
    const int ea = stat(a, &sa) == 0, eb = stat(b, &sb) == 0;
    if (ea && eb) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    char *na = normalize(a), *nb = normalize(b);
    int same = na != NULL && nb != NULL && strcmp(na, nb) == 0;
    free(na);
    free(nb);
    return same;
}
