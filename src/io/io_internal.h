/* io_internal.h — pieces shared by the files of src/io (internal). */
#ifndef NN_IO_INTERNAL_H
#define NN_IO_INTERNAL_H

#include "nn_io.h"

#include <stdint.h>
#include <string.h>

/* Widest layer a model may have (model.c enforces the same bound). */
#define IO_MAX_WIDTH ((uint64_t)1 << 24)

/* ------------------------------------------------------------ byte order */

static inline uint64_t io_le64_load(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static inline void io_le64_store(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Call fn on the little-endian encoding of data: (count) elements of `size`
 * bytes in host order, in one or more consecutive pieces. */
typedef int (*io_bytes_fn)(void *ctx, const uint8_t *bytes, size_t len);
int io_le_pieces(const void *data, uint64_t count, size_t size, io_bytes_fn fn, void *ctx);
/* Decode count little-endian floats at src (any alignment) into dst. */
void io_le_load_f32(float *dst, const uint8_t *src, size_t count);

/* --------------------------------------------------------- string builder */

/* A growing NUL-terminated string; `failed` sticks after an allocation failure. */
typedef struct io_str {
    char *s;
    size_t len, cap;
    int failed;
} io_str;

void io_str_add(io_str *b, const char *text, size_t len);
void io_str_adds(io_str *b, const char *text);
void io_str_addf(io_str *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Append text as a JSON string literal (quotes, escapes). */
void io_str_add_json(io_str *b, const char *text);
void io_str_free(io_str *b);

/* ------------------------------------------------------------------ text */

/* nn_error_set for src/io: the message is made one printable line (control
 * characters and bytes that are not UTF-8, e.g. from a tensor name or a
 * cut multi-byte character, become '?'), since it quotes file contents. */
nn_status io_error(nn_error *err, nn_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Replace control characters and invalid UTF-8 bytes in s with '?'. */
void io_printable(char *s);

/* 1 when s[0..len) is valid UTF-8 (no overlong forms, surrogates or code
 * points above U+10FFFF). */
int io_utf8_valid(const char *s, size_t len);
/* Length of the valid UTF-8 sequence at s[0..len), or 0 when invalid. */
size_t io_utf8_seq(const unsigned char *s, size_t len);
/* Append v[0..n) comma-separated, each exactly (%.17g) in the C locale
 * whatever the thread's locale. */
void io_str_add_doubles(io_str *b, const double *v, size_t n);
/* Parse a whole decimal integer "0" or [1-9][0-9]* (no sign, no spaces)
 * that fits in uint64; 0 if it is not one. */
int io_parse_u64(const char *s, size_t len, uint64_t *out);
/* Parse exactly n comma-separated finite decimal numbers (no spaces) in
 * the C locale into out; 0 if s is not that. */
int io_parse_doubles(const char *s, double *out, size_t n);

/* ------------------------------------------------------------ JSON lexer
 *
 * A strict RFC 8259 tokenizer over a byte range, used by the schema-directed
 * safetensors header parser: strings are validated (UTF-8, escapes,
 * surrogate pairs, no control characters, no NUL) and decoded into an arena
 * that never outgrows the input; numbers are validated against the JSON
 * grammar. Errors name the file and the byte offset in the header. */
typedef struct io_json {
    const char *s; /* (len) the JSON text */
    size_t len, pos;
    const char *name; /* file name for messages */
    char *arena;      /* (len + 1) decoded strings, NUL-terminated */
    size_t arena_used;
} io_json;

/* Next non-whitespace byte without consuming it; -1 at the end. */
int io_json_peek(io_json *j);
/* Consume the next token if it is the punctuation c ('{', ':', ...); 1 if so. */
int io_json_accept(io_json *j, char c);
/* Require the punctuation c; `what` says where, e.g. "after the key". */
nn_status io_json_expect(io_json *j, char c, const char *what, nn_error *err);
/* A string token, decoded into the arena: *out NUL-terminated, *len bytes. */
nn_status io_json_string(io_json *j, const char **out, size_t *len, const char *what,
                         nn_error *err);
/* A number token that must be a non-negative integer fitting uint64. */
nn_status io_json_u64(io_json *j, uint64_t *out, const char *what, nn_error *err);
/* Only whitespace may follow. */
nn_status io_json_end(io_json *j, nn_error *err);
/* Syntax error at the current position (a printf-style reason). */
nn_status io_json_fail(io_json *j, nn_error *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* ------------------------------------------------------- model metadata */

/* Kind of nnbench file, from the "format" metadata value. */
typedef enum io_kind { IO_MODEL, IO_CHECKPOINT } io_kind;
#define IO_FORMAT_MODEL "nnbench-model"
#define IO_FORMAT_CHECKPOINT "nnbench-checkpoint"
#define IO_FORMAT_VERSION "1"

/* A list of metadata entries whose strings it owns. */
typedef struct io_kvlist {
    nn_kv *items; /* (n) */
    size_t n, cap;
    int failed;
} io_kvlist;

void io_kv_add(io_kvlist *l, const char *key, const char *value);
void io_kv_addf(io_kvlist *l, const char *key, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void io_kv_add_double(io_kvlist *l, const char *key, double v);
void io_kv_free(io_kvlist *l);

/* Number of parameters of a config's layers (nn_model_get_params layout);
 * 0 when it overflows. */
uint64_t io_param_count(const nn_model_config *cfg);
/* Name of layer l's weight (bias = 0) or bias (bias = 1) tensor, "<2l>.weight". */
void io_tensor_name(char *buf, size_t cap, size_t layer, int bias);

/* Check meta against cfg (scaler width, classes vs loss, finite scaler)
 * before saving; `path` names the file in messages. */
nn_status io_meta_check(const nn_model_config *cfg, const nn_model_meta *meta, const char *path,
                        nn_error *err);
/* Append the model metadata (everything but "format" and "checksum"). */
void io_meta_encode(const nn_model_config *cfg, const nn_model_meta *meta, io_kvlist *l);

/* Tensors of one layer-sized group ("", "optimizer.m.", ...) in PyTorch
 * layout, made from a parameter slab: (2 * layers) tensors pointing into
 * `buf`, which receives the transposed weights: (n_params) floats. */
void io_params_to_tensors(const nn_model_config *cfg, const float *params, float *buf,
                          const char *prefix, char (*names)[48], nn_st_tensor *t);

/* Write a model or checkpoint file: the metadata `l` (format and checksum
 * added here) and tensors t[0..n), through an atomic durable outfile. */
nn_status io_write_file(const char *path, io_kind kind, io_kvlist *l, const nn_st_tensor *t,
                        size_t n, nn_error *err);

/* Read the model part of a parsed file: checks the format (kind IO_MODEL
 * accepts both kinds), metadata, the model's tensors and the checksum.
 * Tensors outside the model's are an error for a model file, and must
 * start with "optimizer." or "train." in a checkpoint (checked later by the
 * checkpoint reader). On failure meta is zeroed and *params NULL. */
nn_status io_read_model_part(const nn_st_file *f, const char *path, io_kind want,
                             nn_model_meta *meta, float **params, size_t *n_params,
                             nn_error *err);
/* Check the layer-sized tensor group `prefix` of f ("" = the weights,
 * "optimizer.m.", ...): every tensor present, F32, with the shape the layers
 * imply; then, when dst is not NULL, decode it into dst: (n_params) in the
 * slab layout and check every value is finite. missing_ok: return NN_OK
 * with *found = 0 when no tensor of the group exists. */
nn_status io_tensors_to_params(const nn_st_file *f, const char *path, const nn_model_config *cfg,
                               const char *prefix, float *dst, int missing_ok, int *found,
                               nn_error *err);

#endif /* NN_IO_INTERNAL_H */
