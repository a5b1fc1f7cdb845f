/* options.c — the option-table machinery: defaults, parsing with range
 * checks, --help, the JSON echo of settings, and library errors turned into
 * the option they are about. */
#include "options.h"

#include <stdint.h>
#include <string.h>

#include "cli.h"

/* The value's address inside the command's options struct. */
static void *field_of(const opt_row *r, void *opts) { return (char *)opts + r->offset; }
static const void *cfield_of(const opt_row *r, const void *opts) {
    return (const char *)opts + r->offset;
}

/* Index of v in a NULL-terminated list, or -1. */
static int choice_index(const char *const *choices, const char *v) {
    for (int i = 0; choices[i]; i++)
        if (strcmp(choices[i], v) == 0) return i;
    return -1;
}

/* "a, b or c" for messages. */
static void choices_text(const char *const *choices, char *buf, size_t len) {
    size_t used = 0, n = 0;
    while (choices[n]) n++;
    buf[0] = '\0';
    for (size_t i = 0; i < n && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s",
                                 i == 0 ? "" : i + 1 == n ? " or " : ", ", choices[i]);
}

/* One choice of row r into *out; prints and returns -1 when v is not one. */
static int parse_choice(const opt_row *r, const char *v, const char **out) {
    int i = choice_index(r->choices, v);
    if (i < 0) {
        char list[256];
        choices_text(r->choices, list, sizeof list);
        cli_usage_error("%s: expected %s, got '%s'", r->name, list, v);
        return -1;
    }
    *out = r->choices[i];
    return 0;
}

/* "a,b" of choices into an opt_names. */
static int parse_choice_list(const opt_row *r, const char *v, opt_names *out) {
    size_t len = strlen(v);
    if (len == 0 || v[0] == ',' || v[len - 1] == ',' || strstr(v, ",,")) {
        cli_usage_error("%s: expected a comma-separated list, got '%s'", r->name, v);
        return -1;
    }
    out->n = 0;
    for (const char *p = v;; p += strcspn(p, ",") + 1) {
        char item[64];
        size_t il = strcspn(p, ",");
        snprintf(item, sizeof item, "%.*s", (int)(il < sizeof item ? il : sizeof item - 1), p);
        if (out->n == OPT_LIST_MAX) {
            cli_usage_error("%s: at most %d values", r->name, OPT_LIST_MAX);
            return -1;
        }
        if (parse_choice(r, item, &out->v[out->n]) != 0) return -1;
        out->n++;
        if (p[il] == '\0') break;
    }
    return 0;
}

/* Store text v as row r's value; 0, or non-zero after printing one line. */
static int parse_value(const opt_row *r, const char *v, void *opts) {
    void *f = field_of(r, opts);
    long l;
    uint64_t u;
    switch (r->kind) {
    case OPT_FLAG: *(int *)f = 1; return 0;
    case OPT_INT:
        if (cli_parse_long(r->name, v, (long)r->min, (long)r->max, &l)) return -1;
        *(int *)f = (int)l;
        return 0;
    case OPT_SIZE:
    case OPT_COUNT:
        if (cli_parse_count(r->name, v, (uint64_t)r->min, (uint64_t)r->max, &u)) return -1;
        if (r->kind == OPT_SIZE) *(size_t *)f = (size_t)u;
        else *(uint64_t *)f = u;
        return 0;
    case OPT_REAL: return cli_parse_double(r->name, v, r->min, r->max, (double *)f);
    case OPT_TEXT:
        if (!*v) {
            cli_usage_error("%s: expected a value, got ''", r->name);
            return -1;
        }
        *(const char **)f = v;
        return 0;
    case OPT_CHOICE: return parse_choice(r, v, (const char **)f);
    case OPT_COUNT_LIST: {
        opt_list *lst = f;
        return cli_parse_count_list(r->name, v, (uint64_t)r->min, (uint64_t)r->max, OPT_LIST_MAX,
                                    lst->v, &lst->n);
    }
    case OPT_CHOICE_LIST: return parse_choice_list(r, v, f);
    case OPT_CUSTOM: return r->type->parse(r, v, f);
    }
    return -1;
}

/* The rows of every group of t, in order, as r. */
#define FOR_ROWS(t, r)                                                                             \
    for (const opt_group *const *g_ = (t)->groups; *g_; g_++)                                      \
        for (const opt_row *r = (*g_)->rows; r < (*g_)->rows + (*g_)->n; r++)

void opt_defaults(const opt_table *t, void *opts) {
    FOR_ROWS(t, r) {
        if (r->def && parse_value(r, r->def, opts) != 0) /* a table bug: say which row */
            cli_warn("option table: bad default '%s' of %s", r->def, r->name);
    }
}

/* The row argument a names ("--x", "--x=V" or the alias), or NULL. */
static const opt_row *find_row(const opt_table *t, const char *a) {
    size_t n = strcspn(a, "=");
    FOR_ROWS(t, r) {
        if (strlen(r->name) == n && strncmp(a, r->name, n) == 0) return r;
        if (r->alias && strcmp(a, r->alias) == 0) return r;
    }
    return NULL;
}

/* Record that row r was given. */
static void note_given(opt_given *g, const opt_row *r) {
    if (!g) return;
    for (size_t i = 0; i < g->n; i++)
        if (g->rows[i] == r) return;
    if (g->n < OPT_MAX_ROWS) g->rows[g->n++] = r;
}

int opt_parse(const opt_table *t, int argc, char **argv, void *opts, opt_given *given) {
    if (given) given->n = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            opt_help(t, stdout);
            return -1;
        }
        const opt_row *r = a[0] == '-' ? find_row(t, a) : NULL;
        if (!r && a[0] != '-')
            return cli_usage_error("%s: unexpected argument '%s' (see nnbench %s --help)",
                                   t->command, a, t->command);
        if (!r) {
            if (strcmp(t->command, "train") == 0)
                return cli_usage_error("unknown option '%s' (see nnbench --help)", a);
            return cli_usage_error("%s: unknown option '%s' (see nnbench %s --help)", t->command,
                                   a, t->command);
        }
        const char *eq = r->alias && strcmp(a, r->alias) == 0 ? NULL : strchr(a, '=');
        const char *v = eq ? eq + 1 : NULL;
        if (r->kind == OPT_FLAG && v) return cli_usage_error("%s takes no value", r->name);
        if (r->kind != OPT_FLAG && !v) {
            if (i + 1 >= argc) return cli_usage_error("%s needs a value", r->name);
            v = argv[++i];
        }
        if (parse_value(r, v, opts) != 0) return EXIT_USAGE;
        note_given(given, r);
    }
    return 0;
}

int opt_was_given(const opt_given *g, const char *name) {
    for (size_t i = 0; g && i < g->n; i++)
        if (strcmp(g->rows[i]->name, name) == 0) return 1;
    return 0;
}

/* The default shown for a row: its value text or its note. */
static const char *shown_default(const opt_row *r) {
    if (r->note) return r->note;
    if (r->def && r->kind != OPT_FLAG) return r->def;
    return NULL;
}

/* The words of text from column HELP_INDENT on, wrapped at HELP_WIDTH columns
 * with continuation lines indented to HELP_INDENT. */
#define HELP_WIDTH 96
#define HELP_INDENT 23
static void print_wrapped(FILE *f, const char *text) {
    int col = HELP_INDENT, fresh = 1; /* fresh: nothing on this line yet */
    for (const char *p = text; *p;) {
        size_t word = strcspn(p, " ");
        if (!fresh && col + 1 + (int)word > HELP_WIDTH) {
            fprintf(f, "\n%*s", HELP_INDENT, "");
            col = HELP_INDENT;
            fresh = 1;
        }
        if (!fresh) {
            fputc(' ', f);
            col++;
        }
        fprintf(f, "%.*s", (int)word, p);
        col += (int)word;
        fresh = 0;
        p += word;
        while (*p == ' ') p++;
    }
    fputc('\n', f);
}

void opt_help(const opt_table *t, FILE *f) {
    fputs(t->usage, f);
    for (const opt_group *const *g = t->groups; *g; g++) {
        if ((*g)->title) fprintf(f, "%s:\n", (*g)->title);
        for (const opt_row *r = (*g)->rows; r < (*g)->rows + (*g)->n; r++) {
            char head[64], text[512];
            snprintf(head, sizeof head, "%s%s%s%s%s", r->name, r->metavar ? " " : "",
                     r->metavar ? r->metavar : "", r->alias ? ", " : "", r->alias ? r->alias : "");
            const char *def = shown_default(r);
            snprintf(text, sizeof text, "%s%s%s%s", r->help, def ? " (default " : "",
                     def ? def : "", def ? ")" : "");
            if (strlen(head) > 20) fprintf(f, "  %s\n%*s", head, HELP_INDENT, "");
            else fprintf(f, "  %-20s ", head);
            print_wrapped(f, text);
        }
    }
    fprintf(f, "  %-20s this text\n", "--help");
}

void opt_json_echo(const opt_table *t, json_writer *w, const void *opts) {
    FOR_ROWS(t, r) {
        if (!r->json) continue;
        const void *f = cfield_of(r, opts);
        switch (r->kind) {
        case OPT_FLAG: json_key_bool(w, r->json, *(const int *)f); break;
        case OPT_INT: json_key_int(w, r->json, *(const int *)f); break;
        case OPT_SIZE: json_key_int(w, r->json, (long long)*(const size_t *)f); break;
        case OPT_COUNT: json_key_int(w, r->json, (long long)*(const uint64_t *)f); break;
        case OPT_REAL: json_key_number(w, r->json, *(const double *)f); break;
        case OPT_TEXT:
        case OPT_CHOICE: json_key_string(w, r->json, *(const char *const *)f); break;
        case OPT_COUNT_LIST: {
            const opt_list *l = f;
            json_begin_array(w, r->json);
            for (size_t i = 0; i < l->n; i++) json_array_number(w, (double)l->v[i]);
            json_end_array(w);
            break;
        }
        case OPT_CHOICE_LIST: {
            const opt_names *l = f;
            json_begin_array(w, r->json);
            for (size_t i = 0; i < l->n; i++) json_key_string(w, NULL, l->v[i]);
            json_end_array(w);
            break;
        }
        case OPT_CUSTOM: r->type->json(w, r->json, f); break;
        }
    }
}

const char *opt_flag_for(const opt_table *t, const nn_error *err) {
    if (!err->param[0]) return NULL;
    FOR_ROWS(t, r) {
        if (r->param && strcmp(r->param, err->param) == 0) return r->name;
    }
    return NULL;
}

int opt_library_error(const opt_table *t, const nn_error *err) {
    const char *flag = opt_flag_for(t, err);
    if (flag) fprintf(stderr, "nnbench: %s: %s\n", flag, err->msg);
    else fprintf(stderr, "nnbench: %s\n", err->msg);
    return cli_exit_code(err->status);
}
