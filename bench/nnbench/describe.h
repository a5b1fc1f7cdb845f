/* describe.h — a dataset as one line of text from which it can be made
 * again, stored in model files and checkpoints ("dataset" metadata):
 *   generated: "circles samples=1000 noise=0.1 factor=0.8 classes=2 features=2
 *               label_noise=0 seed=42 test_fraction=0.2" [+ " stream=1"]
 *   CSV:       "csv:PATH seed=42 test_fraction=0.2"
 * The name comes first, then key=value items (numbers in their exact
 * shortest form); a reader takes items off the end, so a CSV path may hold
 * spaces. */
#ifndef NNBENCH_DESCRIBE_H
#define NNBENCH_DESCRIBE_H

#include "experiment.h"

/* Keys of the items, each with the option that sets it. */
#define DESC_MAX_ITEMS 16

typedef struct desc_item {
    const char *key;    /* "samples" (static) */
    const char *option; /* "--samples" (static) */
    char value[40];     /* "1000"; "1" for the flag stream */
} desc_item;

/* A parsed description. */
typedef struct data_desc {
    char *name; /* "circles" or "csv:PATH" (malloc'd) */
    size_t n;
    desc_item items[DESC_MAX_ITEMS]; /* in the order written */
} data_desc;

/* The description of a run's data (o resolved by experiment_parse;
 * streamed as experiment_prepare decided). Malloc'd; NULL when out of memory. */
char *describe_data(const experiment_options *o, int streamed);

/* Split a description into name and items. Returns 0, or -1 when text has no
 * name; unknown trailing words stay part of the name. Free with desc_free. */
int desc_parse(const char *text, data_desc *d);
void desc_free(data_desc *d);
/* The value of key, or NULL. */
const char *desc_get(const data_desc *d, const char *key);

/* The options that remake the data: "--dataset NAME" (when with_name) and
 * each item whose key is in the NULL-terminated list `keys` (flags without a
 * value). Returns 0, or -1 (out of memory, message printed). */
int desc_to_args(const data_desc *d, int with_name, const char *const *keys, arglist *a);

#endif
