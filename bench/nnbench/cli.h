/* cli.h — what every nnbench command shares: exit codes, messages, value
 * parsers, backend opening. Only this program talks to the user; the library
 * returns statuses. */
#ifndef NNBENCH_CLI_H
#define NNBENCH_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nn.h"

/* Exit codes of nnbench. */
enum {
    EXIT_OK = 0,
    EXIT_FAIL = 1,      /* a run failed (numeric blow-up, check FAIL, backend error) */
    EXIT_USAGE = 2,     /* bad input: options, values, files */
    EXIT_NO_OPENCL = 3, /* OpenCL required but unusable */
    EXIT_INTERRUPTED = 130, /* a run stopped by SIGINT or SIGTERM (after its checkpoint) */
};

/* Commands: each takes argv after the command word (argv[0] = command name). */
int cmd_train(int argc, char **argv);
int cmd_devices(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_gemm(int argc, char **argv);
int cmd_scale(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_tune(int argc, char **argv);

/* Print "nnbench: <message>" on stderr; returns EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "nnbench: warning: <message>" on stderr. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Exit code of a library status: EXIT_USAGE for bad input (invalid, parse,
 * i/o), EXIT_FAIL otherwise. */
int cli_exit_code(nn_status st);

/* Value parsers: on failure they print one line naming the option and the
 * accepted range, and return -1; on success 0. */
int cli_parse_long(const char *opt, const char *s, long min, long max, long *out);
int cli_parse_double(const char *opt, const char *s, double min, double max, double *out);
/* A count such as 100000000, 1e8, 100M, 2k, 1G (integer valued, >= min, <= max). */
int cli_parse_count(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* "a,b,c" of counts, each in [min, max], at most `max_items`; out[0..*n). */
int cli_parse_count_list(const char *opt, const char *s, uint64_t min, uint64_t max,
                         size_t max_items, uint64_t *out, size_t *n);
/* "2,8,1" -> sizes; each in [1, max_width]; at least 2 entries. */
int cli_parse_layers(const char *opt, const char *s, size_t max_width, nn_model_config *cfg);

/* Fail (print, return -1) when `bytes` exceed most of the machine's physical
 * memory; `what` describes the request, e.g. "1e9 samples of 16 features". */
int cli_check_memory(const char *opt, double bytes, const char *what);

/* Print each line of a backend's notes (nn_backend_notes) as a warning. */
void cli_warn_notes(const char *notes);
/* Open the requested backend ("cpu", "opencl", "auto"). When OpenCL cannot be
 * used and no_fallback is 0, prints one warning and opens "cpu", copying the
 * reason into fallback_reason (else ""). Returns EXIT_OK, EXIT_NO_OPENCL or
 * EXIT_USAGE (unknown name). */
int cli_open_backend(const char *requested, const nn_backend_config *cfg, int no_fallback,
                     nn_backend **out, char *fallback_reason, size_t reason_len);
/* The first line of a (possibly multi-line) library message, into buf. */
const char *cli_first_line(const char *msg, char *buf, size_t len);

/* "2-8-1" for the model's layer widths. */
void cli_layers_str(const nn_model_config *m, char *buf, size_t len);
/* "2,8,1": the layer widths as --layers takes them. */
void cli_layers_arg(const nn_model_config *m, char *buf, size_t len);
/* v in the fewest significant digits that read back as exactly v ("0.1",
 * "1e-08"); buf needs 32 bytes. */
const char *cli_format_exact(double v, char *buf, size_t len);

/* A growable list of owned strings (an argument vector being built). */
typedef struct arglist {
    size_t n, cap;
    char **v; /* (n) malloc'd strings */
} arglist;
/* Append a copy of s; returns 0, or -1 (out of memory, message printed). */
int args_add(arglist *a, const char *s);
/* Free every string and the list; a zeroed list is a no-op. */
void args_free(arglist *a);

#endif
