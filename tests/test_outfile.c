/* test_outfile.c — atomic output files (commit replaces, abort and failures
 * leave the old file byte for byte, nothing left behind, long paths,
 * symbolic links, devices) and same-file detection. */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nn_io.h"
#include "testutil.h"
#include "tu_io.h"

static char *dir;

static void setup(void) { dir = tu_tmpdir(); }
static void teardown(void) {
    tu_rmtree(dir); /* frees dir */
}

TestSuite(outfile, .init = setup, .fini = teardown);

static const char OLD[] = "old contents\n\0with a NUL and \xff bytes";

/* Open path (durable or not) expecting success. */
static nn_outfile *open_ok(const char *path, int durable) {
    nn_outfile *f = NULL;
    nn_error err = {0};
    cr_assert_eq(nn_outfile_open(path, durable, &f, &err), NN_OK, "%s", err.msg);
    cr_assert_not_null(f);
    cr_assert_not_null(nn_outfile_stream(f));
    return f;
}

/* Assert path holds exactly len bytes of data. */
static void assert_content(const char *path, const void *data, size_t len) {
    size_t n;
    unsigned char *b = tu_read_all(path, &n);
    cr_assert_eq(n, len, "%s: %zu bytes, expected %zu", path, n, len);
    cr_assert_arr_eq(b, data, len);
    free(b);
}

Test(outfile, commit_replaces_only_at_commit) {
    char *p = tu_path(dir, "r.json");
    tu_write_bytes(p, OLD, sizeof OLD);
    for (int durable = 0; durable < 2; durable++) {
        nn_outfile *f = open_ok(p, durable);
        /* the temporary file sits beside the target, under another name */
        const char *tmp = nn_outfile_temp_path(f);
        cr_assert_str_neq(tmp, p);
        cr_assert(strncmp(tmp, dir, strlen(dir)) == 0 && strchr(tmp + strlen(dir) + 1, '/') == NULL,
                  "temp %s not in %s", tmp, dir);
        cr_assert_str_eq(nn_outfile_path(f), p);
        fputs("{\"new\": true}\n", nn_outfile_stream(f));
        fflush(nn_outfile_stream(f));
        assert_content(p, OLD, sizeof OLD); /* untouched until commit */
        cr_assert_eq(tu_count_entries(dir), 2);
        nn_error err = {0};
        cr_assert_eq(nn_outfile_commit(f, &err), NN_OK, "%s", err.msg);
        assert_content(p, "{\"new\": true}\n", 14);
        cr_assert_eq(tu_count_entries(dir), 1, "a temporary file was left behind");
        tu_write_bytes(p, OLD, sizeof OLD);
    }
    free(p);
}

Test(outfile, abort_keeps_old_file_byte_for_byte) {
    char *p = tu_path(dir, "p.svg");
    tu_write_bytes(p, OLD, sizeof OLD);
    nn_outfile *f = open_ok(p, 1);
    for (int i = 0; i < 100000; i++) fputs("<svg>partial</svg>\n", nn_outfile_stream(f));
    nn_outfile_abort(f);
    assert_content(p, OLD, sizeof OLD);
    cr_assert_eq(tu_count_entries(dir), 1, "abort left the temporary file");
    nn_outfile_abort(NULL); /* no-op */
    free(p);
}

Test(outfile, new_file_and_permissions) {
    char *p = tu_path(dir, "new.csv");
    nn_outfile *f = open_ok(p, 0);
    fputs("a,b\n", nn_outfile_stream(f));
    cr_assert_eq(access(p, F_OK), -1, "the target exists before commit");
    nn_error err = {0};
    cr_assert_eq(nn_outfile_commit(f, &err), NN_OK, "%s", err.msg);
    assert_content(p, "a,b\n", 4);
    mode_t mask = umask(0);
    umask(mask);
    struct stat sb;
    cr_assert_eq(stat(p, &sb), 0);
    cr_assert_eq(sb.st_mode & 0777, 0666 & ~mask, "mode %o", sb.st_mode & 0777);
    /* a replaced file keeps its permission bits */
    cr_assert_eq(chmod(p, 0640), 0);
    f = open_ok(p, 1);
    fputs("c,d\n", nn_outfile_stream(f));
    cr_assert_eq(nn_outfile_commit(f, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(stat(p, &sb), 0);
    cr_assert_eq(sb.st_mode & 0777, 0640, "mode %o", sb.st_mode & 0777);
    free(p);
}

/* Opening in a folder that cannot be written fails with NN_E_IO naming the
 * path, and creates nothing. */
Test(outfile, unwritable_or_missing_folder) {
    nn_outfile *f = (nn_outfile *)&f;
    nn_error err = {0};
    char *missing = tu_path(dir, "no/such/folder/r.json");
    cr_assert_eq(nn_outfile_open(missing, 0, &f, &err), NN_E_IO);
    cr_assert_null(f);
    cr_assert(strstr(err.msg, missing) != NULL && strstr(err.msg, "No such file"), "%s", err.msg);
    free(missing);
    char *file = tu_path(dir, "plain");
    tu_write_bytes(file, "x", 1);
    char *under = tu_path(file, "r.json"); /* a folder that is a file */
    cr_assert_eq(nn_outfile_open(under, 0, &f, &err), NN_E_IO);
    cr_assert(strstr(err.msg, under) != NULL, "%s", err.msg);
    free(under);
    /* a read-only folder: chmod works for normal users, root needs a
     * file system that refuses new files (/proc) */
    char *ro = tu_path(dir, "ro");
    cr_assert_eq(mkdir(ro, 0555), 0);
    char *target = tu_path(geteuid() == 0 ? "/proc/self" : ro, "r.json");
    cr_assert_eq(nn_outfile_open(target, 1, &f, &err), NN_E_IO, "%s", err.msg);
    cr_assert(strstr(err.msg, target) != NULL && strstr(err.msg, "folder"), "%s", err.msg);
    cr_assert_eq(tu_count_entries(ro), 0);
    cr_assert_eq(tu_count_entries(dir), 2); /* plain, ro */
    free(target);
    free(ro);
    free(file);
}

Test(outfile, bad_targets) {
    nn_outfile *f;
    nn_error err = {0};
    cr_assert_eq(nn_outfile_open("", 0, &f, &err), NN_E_INVALID);
    cr_assert_eq(nn_outfile_open(NULL, 0, &f, &err), NN_E_INVALID);
    cr_assert_eq(nn_outfile_open(dir, 0, &f, &err), NN_E_INVALID);
    cr_assert(strstr(err.msg, "folder"), "%s", err.msg);
    char *slash = tu_path(dir, "sub/");
    cr_assert_eq(nn_outfile_open(slash, 0, &f, &err), NN_E_INVALID, "%s", err.msg);
    free(slash);
    char *dots = tu_path(dir, "..");
    cr_assert_neq(nn_outfile_open(dots, 0, &f, &err), NN_OK);
    free(dots);
    cr_assert_eq(tu_count_entries(dir), 0);
}

/* A path of PATH_MAX bytes or more is an error, not a truncated name; a
 * long path below the limit works and keeps its exact name. */
Test(outfile, long_paths) {
    char *big = malloc(PATH_MAX + 64);
    int n = snprintf(big, PATH_MAX + 64, "%s/", dir);
    while (n < PATH_MAX + 10) big[n++] = 'a';
    big[n] = '\0';
    nn_outfile *f;
    nn_error err = {0};
    cr_assert_eq(nn_outfile_open(big, 0, &f, &err), NN_E_INVALID);
    cr_assert(strstr(err.msg, "too long"), "%s", err.msg);
    /* exactly PATH_MAX bytes */
    big[PATH_MAX] = '\0';
    cr_assert_eq(nn_outfile_open(big, 0, &f, &err), NN_E_INVALID);
    /* a file name above NAME_MAX */
    n = snprintf(big, PATH_MAX, "%s/", dir);
    memset(big + n, 'b', NAME_MAX + 1);
    big[n + NAME_MAX + 1] = '\0';
    cr_assert_eq(nn_outfile_open(big, 0, &f, &err), NN_E_INVALID);
    cr_assert(strstr(err.msg, "file name"), "%s", err.msg);
    cr_assert_eq(tu_count_entries(dir), 0);

    /* nested folders ending exactly 251 bytes below PATH_MAX - 1, then a
     * 250-byte name: the path is PATH_MAX - 1 bytes, and the temporary name
     * would exceed NAME_MAX, so a short one is used */
    const int want = PATH_MAX - 2 - 250; /* length of the deepest folder's path */
    n = snprintf(big, PATH_MAX, "%s", dir);
    while (n < want) {
        int len = want - n - 1 > 200 ? 200 : want - n - 1;
        if (want - n - 1 > 200 && want - n - 1 - 200 < 2) len = 100; /* never a 0-byte tail */
        big[n++] = '/';
        memset(big + n, 'd', (size_t)len);
        n += len;
        big[n] = '\0';
        cr_assert_eq(mkdir(big, 0755), 0, "%s", strerror(errno));
    }
    cr_assert_eq(n, want);
    char *deep = strdup(big);
    big[n++] = '/';
    memset(big + n, 'x', 250);
    big[n + 250] = '\0';
    cr_assert_eq(strlen(big), PATH_MAX - 1);
    f = open_ok(big, 1);
    fputs("deep", nn_outfile_stream(f));
    cr_assert_eq(nn_outfile_commit(f, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(tu_count_entries(deep), 1);
    struct stat sb;
    cr_assert_eq(stat(big, &sb), 0, "%s", strerror(errno));
    cr_assert_eq(sb.st_size, 4);
    /* a 240-byte name: its temporary name fits NAME_MAX, but the temporary
     * file's full path would pass PATH_MAX (it is opened relative to the folder) */
    big[n + 240] = '\0';
    f = open_ok(big, 0);
    cr_assert_gt(strlen(nn_outfile_temp_path(f)), PATH_MAX - 1);
    fputs("240", nn_outfile_stream(f));
    cr_assert_eq(nn_outfile_commit(f, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(stat(big, &sb), 0);
    cr_assert_eq(sb.st_size, 3);
    cr_assert_eq(tu_count_entries(deep), 2);
    free(deep);
    free(big);
}

Test(outfile, symlink_is_followed) {
    char *real = tu_path(dir, "real.json"), *link = tu_path(dir, "link.json");
    tu_write_bytes(real, OLD, sizeof OLD);
    cr_assert_eq(symlink("real.json", link), 0);
    nn_outfile *f = open_ok(link, 1);
    fputs("through the link", nn_outfile_stream(f));
    nn_error err = {0};
    cr_assert_eq(nn_outfile_commit(f, &err), NN_OK, "%s", err.msg);
    struct stat sb;
    cr_assert_eq(lstat(link, &sb), 0);
    cr_assert(S_ISLNK(sb.st_mode), "the link was replaced by a file");
    assert_content(real, "through the link", 16);
    cr_assert_eq(tu_count_entries(dir), 2);
    /* a dangling link is refused */
    char *dangling = tu_path(dir, "dangling");
    cr_assert_eq(symlink("missing/x", dangling), 0);
    cr_assert_eq(nn_outfile_open(dangling, 0, &f, &err), NN_E_IO);
    cr_assert(strstr(err.msg, "symbolic link"), "%s", err.msg);
    free(dangling);
    free(real);
    free(link);
}

/* Devices are written directly (never replaced); a device that fails
 * writes (/dev/full) makes commit fail. */
Test(outfile, devices) {
    nn_outfile *f = open_ok("/dev/null", 1);
    cr_assert_str_eq(nn_outfile_temp_path(f), "/dev/null");
    fputs("discarded", nn_outfile_stream(f));
    nn_error err = {0};
    cr_assert_eq(nn_outfile_commit(f, &err), NN_OK, "%s", err.msg);
    struct stat sb;
    cr_assert_eq(stat("/dev/null", &sb), 0);
    cr_assert(S_ISCHR(sb.st_mode));
    /* through a symbolic link (as /dev/stdout is one): the link stays */
    char *link = tu_path(dir, "null.json");
    cr_assert_eq(symlink("/dev/null", link), 0);
    f = open_ok(link, 0);
    cr_assert_str_eq(nn_outfile_temp_path(f), link);
    fputs("discarded", nn_outfile_stream(f));
    cr_assert_eq(nn_outfile_commit(f, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(lstat(link, &sb), 0);
    cr_assert(S_ISLNK(sb.st_mode));
    cr_assert_eq(tu_count_entries(dir), 1);
    free(link);
    /* a FIFO with a reader */
    char *fifo = tu_path(dir, "fifo");
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    pid_t pid = fork();
    if (pid == 0) {
        FILE *r = fopen(fifo, "rb");
        char buf[64];
        size_t n = r ? fread(buf, 1, sizeof buf, r) : 0;
        _exit(n == 5 && memcmp(buf, "piped", 5) == 0 ? 0 : 1);
    }
    f = open_ok(fifo, 1);
    fputs("piped", nn_outfile_stream(f));
    cr_assert_eq(nn_outfile_commit(f, &err), NN_OK, "%s", err.msg);
    int ws = 0;
    cr_assert_eq(waitpid(pid, &ws, 0), pid);
    cr_assert(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "the reader did not get the data");
    free(fifo);
    if (access("/dev/full", W_OK) == 0) {
        f = open_ok("/dev/full", 0);
        for (int i = 0; i < 10000; i++) fputs("no space left", nn_outfile_stream(f));
        cr_assert_eq(nn_outfile_commit(f, &err), NN_E_IO);
        cr_assert(strstr(err.msg, "/dev/full") && strstr(err.msg, "failed"), "%s", err.msg);
    }
}

/* A commit whose rename fails (the target became a non-empty folder)
 * reports it and removes the temporary file. */
Test(outfile, failed_commit_leaves_nothing) {
    char *p = tu_path(dir, "out");
    nn_outfile *f = open_ok(p, 1);
    fputs("data", nn_outfile_stream(f));
    cr_assert_eq(mkdir(p, 0755), 0);
    char *inner = tu_path(p, "keep");
    tu_write_bytes(inner, "k", 1);
    nn_error err = {0};
    cr_assert_eq(nn_outfile_commit(f, &err), NN_E_IO);
    cr_assert(strstr(err.msg, p) && strstr(err.msg, "rename"), "%s", err.msg);
    cr_assert_eq(tu_count_entries(dir), 1, "the temporary file was left behind");
    assert_content(inner, "k", 1);
    free(inner);
    free(p);
}

Test(outfile, same_path) {
    char *a = tu_path(dir, "r.json");
    char *b = tu_path(dir, "./r.json");
    char *c = tu_path(dir, "sub/../r.json");
    char *d = tu_path(dir, "/r.json");
    char *e = tu_path(dir, "s.json");
    char *sub = tu_path(dir, "sub");
    cr_assert_eq(mkdir(sub, 0755), 0);
    /* neither exists yet: by normalized path */
    cr_assert(nn_path_same(a, a));
    cr_assert(nn_path_same(a, b));
    cr_assert(nn_path_same(a, c));
    cr_assert(nn_path_same(a, d));
    cr_assert(!nn_path_same(a, e));
    cr_assert(!nn_path_same(a, NULL));
    /* relative against absolute */
    char *cwd = getcwd(NULL, 0);
    cr_assert_eq(chdir(dir), 0);
    cr_assert(nn_path_same("r.json", a));
    cr_assert(nn_path_same("r.json", "sub/../r.json"));
    cr_assert(!nn_path_same("r.json", "sub/r.json"));
    /* a folder reached through a symbolic link */
    cr_assert_eq(symlink("sub", "alias"), 0);
    cr_assert(nn_path_same("alias/x.svg", "sub/x.svg"));
    /* existing files: by inode, so hard and symbolic links count */
    tu_write_bytes(a, "1", 1);
    tu_write_bytes(e, "2", 1);
    cr_assert_eq(link(a, "hard.json"), 0);
    cr_assert_eq(symlink("r.json", "soft.json"), 0);
    cr_assert(nn_path_same("hard.json", a));
    cr_assert(nn_path_same("soft.json", "r.json"));
    cr_assert(!nn_path_same("hard.json", e));
    cr_assert(!nn_path_same("r.json", "missing.json"));
    cr_assert_eq(chdir(cwd), 0);
    free(cwd);
    free(a), free(b), free(c), free(d), free(e), free(sub);
}
