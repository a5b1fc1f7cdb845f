/* json.h — a minimal streaming JSON writer for nnbench's result records:
 * one value at a time, keys in call order, non-finite numbers as null. */
#ifndef NNBENCH_JSON_H
#define NNBENCH_JSON_H

#include <stdio.h>

typedef struct json_writer {
    FILE *f;
    int depth;
    int need_comma[16]; /* per depth: a value was written at this level */
} json_writer;

/* A writer on f at the top level. */
json_writer json_writer_on(FILE *f);
void json_begin_object(json_writer *w);
void json_end_object(json_writer *w);
void json_begin_array(json_writer *w, const char *key); /* key NULL inside arrays */
void json_end_array(json_writer *w);
void json_key_string(json_writer *w, const char *key, const char *value); /* NULL -> null */
void json_key_number(json_writer *w, const char *key, double value); /* non-finite -> null */
void json_key_int(json_writer *w, const char *key, long long value);
void json_key_bool(json_writer *w, const char *key, int value);
void json_array_number(json_writer *w, double value);

/* Render a record with render(w, ctx) completely in memory, then write it
 * to path ("-" = stdout) through out/outfile.h: an existing file is replaced
 * only by a whole record, never truncated. Returns 0, or -1 with msg. */
int json_write_file(const char *path, void (*render)(json_writer *w, void *ctx), void *ctx,
                    char *msg, size_t msg_len);

#endif
