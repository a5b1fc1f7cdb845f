/* json.c — a minimal streaming JSON writer for result records. */
#include <math.h>
#include <stdlib.h>

#include "out/json.h"
#include "out/outfile.h"

json_writer json_writer_on(FILE *f) {
    json_writer w = {f, 0, {0}};
    return w;
}

/* Comma, newline and indentation before the next value. */
static void indent(json_writer *w) {
    if (w->need_comma[w->depth]) fputc(',', w->f);
    w->need_comma[w->depth] = 1;
    fputc('\n', w->f);
    for (int i = 0; i < w->depth; i++) fputs("  ", w->f);
}

/* s as a JSON string literal. */
static void put_string(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c == '\n') fputs("\\n", f);
        else if (c == '\t') fputs("\\t", f);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

/* Start a value: separator, then "k": unless k is NULL. */
static void key(json_writer *w, const char *k) {
    indent(w);
    if (k) {
        put_string(w->f, k);
        fputs(": ", w->f);
    }
}

void json_begin_object(json_writer *w) {
    if (w->depth > 0) key(w, NULL);
    fputc('{', w->f);
    w->need_comma[++w->depth] = 0;
}

void json_end_object(json_writer *w) {
    w->depth--;
    fputc('\n', w->f);
    for (int i = 0; i < w->depth; i++) fputs("  ", w->f);
    fputc('}', w->f);
    if (w->depth == 0) fputc('\n', w->f);
}

void json_begin_array(json_writer *w, const char *k) {
    key(w, k);
    fputc('[', w->f);
    w->need_comma[++w->depth] = 0;
}

void json_end_array(json_writer *w) {
    w->depth--;
    fputc(']', w->f);
}

void json_key_string(json_writer *w, const char *k, const char *v) {
    key(w, k);
    if (v) put_string(w->f, v);
    else fputs("null", w->f);
}

void json_key_number(json_writer *w, const char *k, double v) {
    key(w, k);
    if (isfinite(v)) fprintf(w->f, "%.10g", v);
    else fputs("null", w->f);
}

void json_key_int(json_writer *w, const char *k, long long v) {
    key(w, k);
    fprintf(w->f, "%lld", v);
}

void json_key_bool(json_writer *w, const char *k, int v) {
    key(w, k);
    fputs(v ? "true" : "false", w->f);
}

void json_array_number(json_writer *w, double v) {
    if (w->need_comma[w->depth]) fputs(", ", w->f);
    w->need_comma[w->depth] = 1;
    if (isfinite(v)) fprintf(w->f, "%.10g", v);
    else fputs("null", w->f);
}

int json_write_file(const char *path, void (*render)(json_writer *w, void *ctx), void *ctx,
                    char *msg, size_t msg_len) {
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem) {
        snprintf(msg, msg_len, "%s: out of memory", path);
        return -1;
    }
    json_writer w = json_writer_on(mem);
    render(&w, ctx);
    int bad = ferror(mem) != 0;
    if (fclose(mem) != 0 || bad) {
        free(buf);
        snprintf(msg, msg_len, "%s: out of memory rendering the record", path);
        return -1;
    }
    int rc = out_write_all(path, 1, 0, buf, len, msg, msg_len);
    free(buf);
    return rc;
}
