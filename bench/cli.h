/* cli.h — shared pieces of the nnbench command-line program. Only this
 * program talks to the user; the library returns statuses. */
#ifndef NNBENCH_CLI_H
#define NNBENCH_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "nn.h"

/* Exit codes of nnbench. */
enum {
    EXIT_OK = 0,
    EXIT_FAIL = 1,      /* a run failed (numeric blow-up, check FAIL, backend error) */
    EXIT_USAGE = 2,     /* bad input: options, values, files */
    EXIT_NO_OPENCL = 3, /* OpenCL required but unusable */
};

/* Commands: each takes argv after the command word (argv[0] = command name). */
int cmd_train(int argc, char **argv);
int cmd_devices(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_gemm(int argc, char **argv);
int cmd_scale(int argc, char **argv);

/* Print "nnbench: <message>" on stderr; returns EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "nnbench: warning: <message>" on stderr. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Value parsers: on failure they print one line naming the option and the
 * accepted range, and return -1; on success 0. */
int cli_parse_long(const char *opt, const char *s, long min, long max, long *out);
int cli_parse_double(const char *opt, const char *s, double min, double max, double *out);
/* A count such as 100000000, 1e8, 100M, 2k, 1G (integer valued, >= min, <= max). */
int cli_parse_count(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* Fail (print, return -1) when `bytes` exceed most of the machine's physical
 * memory; `what` describes the request, e.g. "1e9 samples of 16 features". */
int cli_check_memory(const char *opt, double bytes, const char *what);
/* "2,8,1" -> sizes; each in [1, max_width]; at least 2 entries. */
int cli_parse_layers(const char *opt, const char *s, size_t max_width, nn_model_config *cfg);

/* The value of option argv[*i] ("--x VALUE" or "--x=VALUE"), advancing *i.
 * Returns NULL (after printing) when the value is missing. `name` is "--x". */
const char *cli_value(int argc, char **argv, int *i, const char *name);
/* 1 if argv[i] is `name` or starts with "name=". */
int cli_is(const char *arg, const char *name);

/* Open the requested backend ("cpu", "opencl", "auto"). When OpenCL cannot be
 * used and no_fallback is 0, prints one warning and opens "cpu", copying the
 * reason into fallback_reason (else ""). Returns EXIT_OK, EXIT_NO_OPENCL or
 * EXIT_USAGE (unknown name). */
int cli_open_backend(const char *requested, const nn_backend_config *cfg, int no_fallback,
                     nn_backend **out, char *fallback_reason, size_t reason_len);

/* Minimal JSON writer (one object at a time, keys in call order). */
typedef struct json_writer {
    FILE *f;
    int depth;
    int need_comma[16];
} json_writer;
void json_begin_object(json_writer *w);
void json_end_object(json_writer *w);
void json_begin_array(json_writer *w, const char *key); /* key NULL inside arrays */
void json_end_array(json_writer *w);
void json_key_string(json_writer *w, const char *key, const char *value); /* NULL -> null */
void json_key_number(json_writer *w, const char *key, double value); /* non-finite -> null */
void json_key_int(json_writer *w, const char *key, long long value);
void json_key_bool(json_writer *w, const char *key, int value);
void json_array_number(json_writer *w, double value);

#endif
