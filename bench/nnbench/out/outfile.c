/* outfile.c — output files through nn_outfile, or stdout for "-". */
#include "out/outfile.h"

#include <string.h>

/* 1 when path means stdout for this output. */
static int is_stdout(const char *path, int allow_stdout) {
    return allow_stdout && strcmp(path, "-") == 0;
}

int out_open(out_file *o, const char *path, int allow_stdout, int durable, char *msg,
             size_t msg_len) {
    memset(o, 0, sizeof *o);
    o->path = path;
    if (is_stdout(path, allow_stdout)) {
        o->fp = stdout;
        return 0;
    }
    nn_error err;
    if (nn_outfile_open(path, durable, &o->f, &err) != NN_OK) {
        snprintf(msg, msg_len, "%s", err.msg);
        return -1;
    }
    o->fp = nn_outfile_stream(o->f);
    return 0;
}

int out_commit(out_file *o, char *msg, size_t msg_len) {
    if (!o->f) { /* stdout */
        int bad = fflush(o->fp) != 0 || ferror(o->fp);
        if (bad) snprintf(msg, msg_len, "cannot write to stdout");
        return bad ? -1 : 0;
    }
    nn_error err;
    nn_status st = nn_outfile_commit(o->f, &err);
    o->f = NULL;
    o->fp = NULL;
    if (st == NN_OK) return 0;
    snprintf(msg, msg_len, "%s", err.msg);
    return -1;
}

void out_abort(out_file *o) {
    if (o->f) nn_outfile_abort(o->f);
    else if (o->fp) fflush(o->fp);
    o->f = NULL;
    o->fp = NULL;
}

int out_probe(const char *path, int allow_stdout, char *msg, size_t msg_len) {
    out_file o;
    if (out_open(&o, path, allow_stdout, 0, msg, msg_len) != 0) return -1;
    out_abort(&o);
    return 0;
}

int out_write_all(const char *path, int allow_stdout, int durable, const void *buf, size_t len,
                  char *msg, size_t msg_len) {
    out_file o;
    if (out_open(&o, path, allow_stdout, durable, msg, msg_len) != 0) return -1;
    if (len && fwrite(buf, 1, len, o.fp) != len) {
        out_abort(&o);
        snprintf(msg, msg_len, "%s: write failed", path);
        return -1;
    }
    return out_commit(&o, msg, msg_len);
}
