/* files.c — up-front checks of a command's input and output files. */
#include "files.h"

#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "nn_io.h"
#include "out/outfile.h"

/* 1 when path names an existing file that is not a regular one (/dev/null). */
static int is_special(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && !S_ISREG(st.st_mode);
}

/* 1 when the two uses name the same file in a way that is refused. */
static int clash(const file_use *a, const file_use *b) {
    if (!a->path || !b->path) return 0;
    if (!a->output && !b->output) return 0;
    if ((a->output && a->stdout_ok && strcmp(a->path, "-") == 0) ||
        (b->output && b->stdout_ok && strcmp(b->path, "-") == 0))
        return 0;
    if (!nn_path_same(a->path, b->path) || is_special(a->path)) return 0;
    if (a->output && !b->output && a->may_equal && strcmp(a->may_equal, b->opt) == 0) return 0;
    if (b->output && !a->output && b->may_equal && strcmp(b->may_equal, a->opt) == 0) return 0;
    return 1;
}

int files_check(const file_use *u, size_t n) {
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            if (!clash(&u[i], &u[j])) continue;
            if (u[i].output && u[j].output)
                return cli_usage_error("%s and %s name the same file '%s'; give each output its "
                                       "own path", u[i].opt, u[j].opt, u[j].path);
            const file_use *out = u[i].output ? &u[i] : &u[j], *in = u[i].output ? &u[j] : &u[i];
            return cli_usage_error("%s '%s' would replace the input of %s; choose another path",
                                   out->opt, out->path, in->opt);
        }
    for (size_t i = 0; i < n; i++) {
        char msg[4200];
        if (u[i].output && u[i].path && out_probe(u[i].path, u[i].stdout_ok, msg, sizeof msg))
            return cli_usage_error("%s: %s", u[i].opt, msg);
    }
    return EXIT_OK;
}
