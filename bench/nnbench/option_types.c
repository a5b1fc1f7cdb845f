/* option_types.c — value types of options that several commands share: the
 * library's enums (parsed by the library's own parsers, so the names live in
 * one place), dataset names and layer widths. */
#include <string.h>

#include "cli.h"
#include "options.h"

/* The text of a const char * field as a JSON string. */
static void json_text(json_writer *w, const char *key, const void *field) {
    json_key_string(w, key, *(const char *const *)field);
}

static int parse_generator(const opt_row *r, const char *v, void *field) {
    nn_error err;
    if (nn_data_kind_parse(v, NULL, &err) != NN_OK)
        return cli_usage_error("%s: %s", r->name, err.msg);
    *(const char **)field = v;
    return 0;
}
const opt_type OPT_TYPE_GENERATOR = {parse_generator, json_text};

static int parse_dataset(const opt_row *r, const char *v, void *field) {
    nn_error err;
    if (strncmp(v, "csv:", 4) != 0 && nn_data_kind_parse(v, NULL, &err) != NN_OK)
        return cli_usage_error("%s: %s (or csv:PATH)", r->name, err.msg);
    if (strcmp(v, "csv:") == 0)
        return cli_usage_error("%s: csv: needs a path, e.g. csv:data.csv", r->name);
    *(const char **)field = v;
    return 0;
}
const opt_type OPT_TYPE_DATASET = {parse_dataset, json_text};

static int parse_layers(const opt_row *r, const char *v, void *field) {
    return cli_parse_layers(r->name, v, OPT_MAX_WIDTH, field);
}
static void json_layers(json_writer *w, const char *key, const void *field) {
    char buf[512];
    cli_layers_str(field, buf, sizeof buf);
    json_key_string(w, key, buf);
}
const opt_type OPT_TYPE_LAYERS = {parse_layers, json_layers};

/* A library enum: parsed by parse_fn (its message after the option's name),
 * shown by name_fn. */
#define ENUM_TYPE(NAME, ctype, parse_fn, name_fn)                                                  \
    static int parse_##ctype(const opt_row *r, const char *v, void *field) {                       \
        nn_error err;                                                                              \
        if (parse_fn(v, (ctype *)field, &err) == NN_OK) return 0;                                  \
        return cli_usage_error("%s: %s", r->name, err.msg);                                        \
    }                                                                                              \
    static void json_##ctype(json_writer *w, const char *key, const void *field) {                 \
        json_key_string(w, key, name_fn(*(const ctype *)field));                                   \
    }                                                                                              \
    const opt_type NAME = {parse_##ctype, json_##ctype};
ENUM_TYPE(OPT_TYPE_ACTIVATION, nn_act, nn_act_parse, nn_act_name)
ENUM_TYPE(OPT_TYPE_LOSS, nn_loss, nn_loss_parse, nn_loss_name)
ENUM_TYPE(OPT_TYPE_OPTIMIZER, nn_optimizer, nn_optimizer_parse, nn_optimizer_name)
