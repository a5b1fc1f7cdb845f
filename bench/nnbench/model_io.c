/* model_io.c — --init and --save of `nnbench train`. */
#include "model_io.h"

#include <stdlib.h>
#include <string.h>

/* The file's architecture where the options leave it open; an option that
 * contradicts it is an error naming both. */
static int adopt_architecture(experiment_options *o, const nn_model_config *f, const char *path) {
    char mine[512], theirs[512];
    cli_layers_arg(f, theirs, sizeof theirs);
    if (opt_was_given(&o->given, "--layers")) {
        cli_layers_arg(&o->model, mine, sizeof mine);
        if (strcmp(mine, theirs) != 0)
            return cli_usage_error("--layers %s: the --init model '%s' has layers %s", mine, path,
                                   theirs);
    }
    if (opt_was_given(&o->given, "--activation") && o->model.hidden != f->hidden)
        return cli_usage_error("--activation %s: the --init model '%s' uses %s",
                               nn_act_name(o->model.hidden), path, nn_act_name(f->hidden));
    if (opt_was_given(&o->given, "--loss") && o->model.loss != f->loss)
        return cli_usage_error("--loss %s: the --init model '%s' was trained with %s",
                               nn_loss_name(o->model.loss), path, nn_loss_name(f->loss));
    o->model.n_sizes = f->n_sizes;
    memcpy(o->model.sizes, f->sizes, sizeof o->model.sizes);
    o->model.hidden = f->hidden;
    o->model.loss = f->loss;
    o->model_from_file = 1;
    return EXIT_OK;
}

int init_read(experiment_options *o, init_model *im) {
    memset(im, 0, sizeof *im);
    if (!o->init_path) return EXIT_OK;
    nn_error err;
    if (nn_model_file_read(o->init_path, &im->meta, &im->params, &im->n_params, &err) != NN_OK)
        return cli_usage_error("--init: %s", err.msg);
    return adopt_architecture(o, &im->meta.config, o->init_path);
}

/* "2 classes", "3 classes" or "regression targets". */
static const char *classes_text(size_t classes, char *buf, size_t len) {
    if (classes == 0) snprintf(buf, len, "regression targets");
    else snprintf(buf, len, "%zu classes", classes);
    return buf;
}

int init_check(const experiment_options *o, const experiment_data *d, const init_model *im) {
    if (!o->init_path) return EXIT_OK;
    const nn_model_meta *m = &im->meta;
    if (m->config.sizes[0] != d->features)
        return cli_usage_error("--init: '%s' has %zu inputs, but the data (%s) have %zu features",
                               o->init_path, m->config.sizes[0], d->name, d->features);
    char a[32], b[32];
    if (m->classes != d->classes)
        return cli_usage_error("--init: '%s' was trained on %s, but the data (%s) have %s",
                               o->init_path, classes_text(m->classes, a, sizeof a), d->name,
                               classes_text(d->classes, b, sizeof b));
    if ((m->scaler.features != 0) != !d->streamed)
        cli_warn("--init: '%s' was trained on %s inputs; this run's inputs are %s", o->init_path,
                 m->scaler.features ? "standardized" : "raw (streamed)",
                 d->streamed ? "raw (streamed)" : "standardized");
    return EXIT_OK;
}

int init_apply(const init_model *im, nn_model *m) {
    nn_error err;
    if (nn_model_set_params(m, im->params, im->n_params, &err) == NN_OK) return EXIT_OK;
    fprintf(stderr, "nnbench: --init: %s\n", err.msg);
    return EXIT_FAIL;
}

void init_free(init_model *im) {
    nn_model_meta_free(&im->meta);
    free(im->params);
    memset(im, 0, sizeof *im);
}

int model_save_run(const char *path, nn_model *m, const experiment_options *o,
                   const experiment_data *d, const char *desc, uint64_t epochs) {
    nn_model_meta meta;
    memset(&meta, 0, sizeof meta);
    if (!d->streamed) meta.scaler = d->scaler; /* streamed rows are not standardized */
    meta.classes = d->classes;
    meta.dataset = (char *)desc;
    meta.seed = o->seed;
    meta.epochs = epochs;
    nn_error err;
    if (nn_model_save(m, &meta, path, &err) == NN_OK) return EXIT_OK;
    fprintf(stderr, "nnbench: --save: %s\n", err.msg);
    return EXIT_FAIL;
}
