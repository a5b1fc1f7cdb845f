/* scale_files.c — the results folder of `nnbench scale`. Before anything
 * runs: the folder's paths must fit (never truncated), and an earlier sweep
 * there (scale.csv or scale.json) is refused unless --force (replace it) or
 * --append (read its rows back and add to them). While the sweep runs,
 * scale.csv and scale.json are rewritten whole after each point, each to a
 * temporary file renamed into place (nn_outfile), so an interrupted sweep
 * leaves the last complete pair — never a header-only scale.csv next to an
 * older scale.json. With --force the earlier sweep's files are replaced only
 * once the first point has finished. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "nn_io.h"
#include "scale.h"

/* The longest name written into the folder, with room for nn_outfile's
 * temporary ".<name>.tmp.XXXXXX". */
#define LONGEST_NAME "throughput_vs_features.svg"
#define TEMP_EXTRA 13

int scale_files_path(const scale_options *o, const char *name, char *buf, size_t len) {
    int n = snprintf(buf, len, "%s/%s", o->out_dir, name);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* 1 if a chart of an earlier sweep: <kind>_vs_<axis>.svg. */
static int is_chart(const char *name) {
    static const char *const KINDS[] = {"throughput_vs_", "speedup_vs_", "efficiency_vs_",
                                        "comm_fraction_vs_", NULL};
    size_t n = strlen(name);
    if (n < 5 || strcmp(name + n - 4, ".svg") != 0) return 0;
    for (int k = 0; KINDS[k]; k++)
        if (strncmp(name, KINDS[k], strlen(KINDS[k])) == 0) return 1;
    return 0;
}

/* Remove the earlier sweep's charts (--force, once new rows exist). */
static void remove_charts(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)))
        if (is_chart(e->d_name)) {
            char path[PATH_MAX];
            if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < sizeof path)
                unlink(path);
        }
    closedir(d);
}

int scale_files_prepare(const scale_options *o, scale_files *f, scale_rows *rs) {
    memset(f, 0, sizeof *f);
    const size_t room = PATH_MAX - 1 - 1 - strlen(LONGEST_NAME) - TEMP_EXTRA;
    if (strlen(o->out_dir) > room)
        return cli_usage_error("--out: the folder name is %zu bytes; its result files need it "
                               "to be at most %zu", strlen(o->out_dir), room);
    if (scale_files_path(o, "scale.csv", f->csv, sizeof f->csv) ||
        scale_files_path(o, "scale.json", f->json, sizeof f->json))
        return cli_usage_error("--out: '%.200s...' is too long", o->out_dir);
    struct stat st;
    if (stat(o->out_dir, &st) == 0 && !S_ISDIR(st.st_mode))
        return cli_usage_error("--out: '%s' exists and is not a folder", o->out_dir);
    if (mkdir(o->out_dir, 0777) != 0 && errno != EEXIST)
        return cli_usage_error("--out: cannot create '%s': %s", o->out_dir, strerror(errno));
    const int have_csv = stat(f->csv, &st) == 0, have_json = stat(f->json, &st) == 0;
    if (!have_csv && !have_json) return EXIT_OK;
    if (o->append) {
        if (!have_csv)
            return cli_usage_error("--append: '%s' holds scale.json without scale.csv, whose rows "
                                   "--append reads; use --force to replace it", o->out_dir);
        return scale_rows_read_csv(f->csv, rs);
    }
    if (o->force) {
        f->replace_pending = 1;
        return EXIT_OK;
    }
    return cli_usage_error("--out: '%s' holds an earlier sweep (%s); pass --force to replace it, "
                           "--append to add to it, or another --out", o->out_dir,
                           have_csv ? "scale.csv" : "scale.json");
}

/* Write one file whole through a temporary file; warns on failure. */
static void write_whole(const char *path, void (*write)(FILE *, const scale_rows *),
                        const scale_rows *rs) {
    nn_outfile *out;
    nn_error err;
    nn_status st = nn_outfile_open(path, 0, &out, &err);
    if (st == NN_OK) {
        write(nn_outfile_stream(out), rs);
        st = nn_outfile_commit(out, &err);
    }
    if (st != NN_OK) cli_warn("%s", err.msg);
}

void scale_files_write(scale_files *f, const scale_rows *rs) {
    write_whole(f->csv, scale_rows_write_csv, rs);
    write_whole(f->json, scale_rows_write_json, rs);
    if (f->replace_pending) {
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%.*s", (int)(strrchr(f->csv, '/') - f->csv), f->csv);
        remove_charts(dir);
        f->replace_pending = 0;
    }
}
