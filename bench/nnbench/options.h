/* options.h — option tables: one per command, made of groups of rows. A row
 * (name, argument kind, default, range, help line, the library's name for the
 * quantity, JSON key) drives parsing, range checks, --help, the JSON echo of
 * the settings and the flag named in library errors. A new option is one row. */
#ifndef NNBENCH_OPTIONS_H
#define NNBENCH_OPTIONS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nn.h"
#include "out/json.h"

/* Values of a list option ("1e4,1e6,100M"), in the order given. */
#define OPT_LIST_MAX 32
typedef struct opt_list {
    size_t n;
    uint64_t v[OPT_LIST_MAX];
} opt_list;

/* Names picked from a row's choices ("cpu,opencl"), in the order given. */
typedef struct opt_names {
    size_t n;
    const char *v[OPT_LIST_MAX]; /* the row's static choice strings */
} opt_names;

/* What a row's value is and how it is stored at its offset. */
typedef enum opt_kind {
    OPT_FLAG,        /* int, set to 1 by the bare option */
    OPT_INT,         /* int in [min, max] */
    OPT_SIZE,        /* size_t count in [min, max]: 1000, 1e6, 100M, 2k */
    OPT_COUNT,       /* uint64_t count, the same syntax */
    OPT_REAL,        /* double in [min, max], finite */
    OPT_TEXT,        /* const char *, not empty */
    OPT_CHOICE,      /* const char *, one of choices[] (the static string is stored) */
    OPT_COUNT_LIST,  /* opt_list of counts, each in [min, max] */
    OPT_CHOICE_LIST, /* opt_names of choices */
    OPT_CUSTOM,      /* parsed and shown by the row's type */
} opt_kind;

typedef struct opt_row opt_row;

/* Parser and JSON form of a custom value (e.g. a library enum, layer widths). */
typedef struct opt_type {
    /* Store the value of text v at field; 0, or non-zero after printing one line. */
    int (*parse)(const opt_row *row, const char *v, void *field);
    /* Write the field's value under key (needed when the row has a JSON key). */
    void (*json)(json_writer *w, const char *key, const void *field);
} opt_type;

struct opt_row {
    const char *name;    /* "--lr" */
    const char *alias;   /* another spelling ("-q"), or NULL */
    const char *metavar; /* "X", "N", "NAME", "LIST"; NULL for flags */
    opt_kind kind;
    size_t offset;       /* of the value in the command's options struct */
    double min, max;     /* range of numbers, counts and list items */
    const char *def;     /* default, parsed into the struct at start and shown by --help */
    const char *note;    /* shown as the default when it depends on other values; or NULL */
    const char *help;    /* one line */
    const char *const *choices; /* OPT_CHOICE, OPT_CHOICE_LIST: NULL-terminated */
    const opt_type *type;       /* OPT_CUSTOM */
    const char *param;   /* the library's name for this quantity (nn_error.param), or NULL */
    const char *json;    /* key of the value in JSON records, or NULL */
};

/* A titled group of rows ("backend:", "data:", ...); shared by commands. */
typedef struct opt_group {
    const char *title;
    const opt_row *rows;
    size_t n;
} opt_group;
#define OPT_GROUP(title, rows) {title, rows, sizeof rows / sizeof rows[0]}

/* A command's options: its groups, in help order. */
typedef struct opt_table {
    const char *command;             /* "train", "scale", ... */
    const char *usage;               /* printed before the groups by --help */
    const opt_group *const *groups;  /* NULL-terminated */
} opt_table;

/* Which rows the command line gave (for defaults that depend on others). */
#define OPT_MAX_ROWS 64
typedef struct opt_given {
    size_t n;
    const opt_row *rows[OPT_MAX_ROWS];
} opt_given;

/* Widest layer (and input) an option accepts. */
#define OPT_MAX_WIDTH 65536

/* Value types several commands share (option_types.c); the field type is
 * in brackets. */
extern const opt_type OPT_TYPE_DATASET;    /* [const char *] a generator name or csv:PATH */
extern const opt_type OPT_TYPE_GENERATOR;  /* [const char *] a generator name */
extern const opt_type OPT_TYPE_LAYERS;     /* [nn_model_config] "2,8,1"; JSON "2-8-1" */
extern const opt_type OPT_TYPE_ACTIVATION; /* [nn_act] relu, sigmoid, tanh */
extern const opt_type OPT_TYPE_LOSS;       /* [nn_loss] bce, ce, mse */
extern const opt_type OPT_TYPE_OPTIMIZER;  /* [nn_optimizer] sgd, momentum, adam */

/* Every row's default into opts (rows without `def` are left as they are). */
void opt_defaults(const opt_table *t, void *opts);
/* Parse argv[1..argc) into opts. Returns 0, 2 (EXIT_USAGE) after printing one
 * line, or -1 after printing --help. given may be NULL. */
int opt_parse(const opt_table *t, int argc, char **argv, void *opts, opt_given *given);
/* 1 if the command line gave the option `name`. */
int opt_was_given(const opt_given *g, const char *name);
/* The --help text: usage, then every group with each row's default. */
void opt_help(const opt_table *t, FILE *f);
/* Write every row that has a JSON key, in table order, with opts's values. */
void opt_json_echo(const opt_table *t, json_writer *w, const void *opts);
/* The option a library error is about (err->param matched against the rows'
 * params), or NULL. */
const char *opt_flag_for(const opt_table *t, const nn_error *err);
/* Print "nnbench: [--flag: ]message" for a library error and return the exit
 * code of its status (2 for bad input, 1 otherwise). */
int opt_library_error(const opt_table *t, const nn_error *err);

#endif
