/* describe.c — datasets as one line of text, and back to options. */
#include "describe.h"

#include <stdlib.h>
#include <string.h>

/* Every key a description may hold, with its option. */
static const struct {
    const char *key, *option;
} KEYS[] = {
    {"samples", "--samples"},   {"noise", "--noise"},
    {"factor", "--factor"},     {"classes", "--classes"},
    {"features", "--features"}, {"label_noise", "--label-noise"},
    {"seed", "--seed"},         {"test_fraction", "--test-fraction"},
    {"stream", "--stream"},
};
#define N_KEYS (sizeof KEYS / sizeof KEYS[0])

char *describe_data(const experiment_options *o, int streamed) {
    char *text = NULL;
    char noise[32], factor[32], ln[32], tf[32];
    cli_format_exact(o->test_fraction, tf, sizeof tf);
    int n;
    if (strncmp(o->dataset, "csv:", 4) == 0) {
        n = asprintf(&text, "%s seed=%llu test_fraction=%s", o->dataset,
                     (unsigned long long)o->seed, tf);
    } else {
        const nn_data_spec *s = &o->spec;
        n = asprintf(&text, "%s samples=%zu noise=%s factor=%s classes=%zu features=%zu "
                            "label_noise=%s seed=%llu test_fraction=%s%s", o->dataset, s->samples,
                     cli_format_exact(s->noise, noise, sizeof noise),
                     cli_format_exact(s->factor, factor, sizeof factor), s->classes, s->features,
                     cli_format_exact(s->label_noise, ln, sizeof ln),
                     (unsigned long long)o->seed, tf, streamed ? " stream=1" : "");
    }
    return n < 0 ? NULL : text;
}

/* The KEYS index of "key=value" word w[0..len) (value non-empty, short), or -1. */
static int item_key(const char *w, size_t len) {
    const char *eq = memchr(w, '=', len);
    if (!eq || eq + 1 == w + len || (size_t)(w + len - eq) >= sizeof ((desc_item *)0)->value)
        return -1;
    for (size_t k = 0; k < N_KEYS; k++)
        if (strlen(KEYS[k].key) == (size_t)(eq - w) && strncmp(w, KEYS[k].key, eq - w) == 0)
            return (int)k;
    return -1;
}

int desc_parse(const char *text, data_desc *d) {
    memset(d, 0, sizeof *d);
    size_t end = strlen(text);
    desc_item rev[DESC_MAX_ITEMS];
    size_t n = 0;
    while (n < DESC_MAX_ITEMS) { /* take "key=value" words off the end */
        size_t start = end;
        while (start > 0 && text[start - 1] != ' ') start--;
        if (start == 0) break; /* the name is never an item */
        int k = item_key(text + start, end - start);
        if (k < 0) break;
        const char *eq = memchr(text + start, '=', end - start);
        rev[n] = (desc_item){KEYS[k].key, KEYS[k].option, ""};
        snprintf(rev[n].value, sizeof rev[n].value, "%.*s", (int)(text + end - eq - 1), eq + 1);
        n++;
        end = start - 1;
    }
    if (end == 0) return -1;
    if (!(d->name = strndup(text, end))) return -1;
    for (size_t i = 0; i < n; i++) d->items[i] = rev[n - 1 - i];
    d->n = n;
    return 0;
}

void desc_free(data_desc *d) {
    free(d->name);
    memset(d, 0, sizeof *d);
}

const char *desc_get(const data_desc *d, const char *key) {
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->items[i].key, key) == 0) return d->items[i].value;
    return NULL;
}

int desc_to_args(const data_desc *d, int with_name, const char *const *keys, arglist *a) {
    if (with_name && (args_add(a, "--dataset") || args_add(a, d->name))) return -1;
    for (size_t i = 0; i < d->n; i++) {
        int wanted = 0;
        for (const char *const *k = keys; *k && !wanted; k++) wanted = !strcmp(*k, d->items[i].key);
        if (!wanted) continue;
        if (args_add(a, d->items[i].option)) return -1;
        if (strcmp(d->items[i].key, "stream") != 0 && args_add(a, d->items[i].value)) return -1;
    }
    return 0;
}
