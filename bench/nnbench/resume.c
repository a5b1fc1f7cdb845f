/* resume.c — a run's checkpoints: trainer state + settings out, and back. */
#include "resume.h"

#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "describe.h"

/* Extras every nnbench train checkpoint carries, in this order. */
static const char *const EXTRA_KEYS[] = {"batch", "log_every", "train_rows", "steps_per_epoch"};
#define N_EXTRA 4

/* ------------------------------------------------------------- writing */

nn_status ckpt_write(const run_ckpt *c, nn_trainer *tr, int is_root, nn_error *err) {
    nn_train_state s;
    nn_status st = nn_trainer_get_state(tr, &s, err); /* collective with ranks */
    if (st != NN_OK || !is_root) {
        if (st == NN_OK) nn_train_state_free(&s);
        return st;
    }
    const experiment_options *o = c->o;
    char values[N_EXTRA][32];
    snprintf(values[0], 32, "%zu", o->train.batch);
    snprintf(values[1], 32, "%d", o->train.log_every);
    snprintf(values[2], 32, "%" PRIu64, c->d->n_train);
    snprintf(values[3], 32, "%" PRIu64, c->steps_per_epoch);
    nn_kv extra[N_EXTRA];
    for (int i = 0; i < N_EXTRA; i++) extra[i] = (nn_kv){EXTRA_KEYS[i], values[i]};
    nn_checkpoint ck = {
        .model = {.config = o->model, .classes = c->d->classes, .dataset = (char *)c->desc,
                  .seed = o->seed, .epochs = (uint64_t)o->train.epochs},
        .n_params = s.n_params, .params = s.params, .opt_m = s.opt_m, .opt_v = s.opt_v,
        .optimizer = o->train.optimizer, .lr = o->train.lr, .momentum = o->train.momentum,
        .beta1 = o->train.beta1, .beta2 = o->train.beta2, .eps = o->train.eps,
        .step = s.step, .epoch = (uint64_t)s.epoch, .step_in_epoch = s.epoch_step,
        .rows_seen = s.samples_seen, .loss_acc = {s.loss_acc[0], s.loss_acc[1]},
        .seed = o->train.seed, .n_extra = N_EXTRA, .extra = extra};
    if (!c->d->streamed) ck.model.scaler = c->d->scaler;
    st = nn_checkpoint_save(&ck, c->path, err);
    if (st != NN_OK && err) snprintf(err->param, sizeof err->param, "checkpoint");
    nn_train_state_free(&s);
    return st;
}

/* ------------------------------------------------------------ settings */

/* The settings a resumed run keeps, as option values. */
enum { S_LAYERS, S_ACTIVATION, S_LOSS, S_OPTIMIZER, S_LR, S_MOMENTUM, S_BATCH, S_LOG_EVERY,
       S_COUNT };
static const char *const SETTING_OPTION[S_COUNT] = {
    "--layers", "--activation", "--loss", "--optimizer", "--lr", "--momentum", "--batch",
    "--log-every"};
typedef char setting_values[S_COUNT][512];

/* The value of extra key, or NULL. */
static const char *extra_get(const nn_checkpoint *ck, const char *key) {
    for (size_t i = 0; i < ck->n_extra; i++)
        if (strcmp(ck->extra[i].key, key) == 0) return ck->extra[i].value;
    return NULL;
}

/* The settings of a run (o), or of a checkpoint's run (ck), as option values. */
static void settings_of(const nn_model_config *mc, const nn_train_config *tc, const char *batch,
                        const char *log_every, setting_values v) {
    cli_layers_arg(mc, v[S_LAYERS], sizeof v[0]);
    snprintf(v[S_ACTIVATION], sizeof v[0], "%s", nn_act_name(mc->hidden));
    snprintf(v[S_LOSS], sizeof v[0], "%s", nn_loss_name(mc->loss));
    snprintf(v[S_OPTIMIZER], sizeof v[0], "%s", nn_optimizer_name(tc->optimizer));
    cli_format_exact(tc->lr, v[S_LR], sizeof v[0]);
    cli_format_exact(tc->momentum, v[S_MOMENTUM], sizeof v[0]);
    snprintf(v[S_BATCH], sizeof v[0], "%s", batch);
    snprintf(v[S_LOG_EVERY], sizeof v[0], "%s", log_every);
}

static void ckpt_settings(const nn_checkpoint *ck, setting_values v) {
    nn_train_config tc = {.optimizer = ck->optimizer, .lr = ck->lr, .momentum = ck->momentum};
    settings_of(&ck->model.config, &tc, extra_get(ck, "batch"), extra_get(ck, "log_every"), v);
}

static void run_settings(const experiment_options *o, setting_values v) {
    char batch[32], log_every[32];
    snprintf(batch, sizeof batch, "%zu", o->train.batch);
    snprintf(log_every, sizeof log_every, "%d", o->train.log_every);
    settings_of(&o->model, &o->train, batch, log_every, v);
}

/* ------------------------------------------------------------- loading */

const char *resume_find(int argc, char **argv) {
    const char *found = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--resume") == 0 && i + 1 < argc) found = argv[++i];
        else if (strncmp(argv[i], "--resume=", 9) == 0) found = argv[i] + 9;
    }
    return found;
}

/* 1 when s is a decimal number (what the extras hold). */
static int is_decimal(const char *s) {
    if (!s || !*s) return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9') return 0;
    return 1;
}

int resume_load(const char *path, nn_checkpoint *ck) {
    nn_error err;
    if (nn_checkpoint_load(path, ck, &err) != NN_OK)
        return cli_usage_error("--resume: %s", err.msg);
    for (int i = 0; i < N_EXTRA; i++)
        if (!is_decimal(extra_get(ck, EXTRA_KEYS[i]))) {
            nn_checkpoint_free(ck);
            return cli_usage_error("--resume: '%s' is not a checkpoint of nnbench train (no "
                                   "extra.%s)", path, EXTRA_KEYS[i]);
        }
    if (ck->model.epochs > 100000000u || ck->epoch > ck->model.epochs) {
        nn_checkpoint_free(ck);
        return cli_usage_error("--resume: '%s': epoch %" PRIu64 " of %" PRIu64 " is out of range",
                               path, ck->epoch, ck->model.epochs);
    }
    return EXIT_OK;
}

int resume_args(const nn_checkpoint *ck, int argc, char **argv, arglist *a) {
    static const char *const DATA_KEYS[] = {"samples",  "noise", "factor",        "classes",
                                            "features", "label_noise", "seed",
                                            "test_fraction", "stream", NULL};
    data_desc dd;
    if (desc_parse(ck->model.dataset ? ck->model.dataset : "", &dd) != 0)
        return cli_usage_error("--resume: the checkpoint names no dataset"), -1;
    int rc = args_add(a, argv[0]) || desc_to_args(&dd, 1, DATA_KEYS, a) ? -1 : 0;
    desc_free(&dd);
    setting_values v;
    ckpt_settings(ck, v);
    for (int i = 0; i < S_COUNT && rc == 0; i++)
        rc = args_add(a, SETTING_OPTION[i]) || args_add(a, v[i]) ? -1 : 0;
    char epochs[32];
    snprintf(epochs, sizeof epochs, "%" PRIu64, ck->model.epochs);
    if (rc == 0) rc = args_add(a, "--epochs") || args_add(a, epochs) ? -1 : 0;
    for (int i = 1; i < argc && rc == 0; i++) rc = args_add(a, argv[i]);
    return rc;
}

/* ----------------------------------------------------------- verifying */

/* The checkpoint's data must be this run's: description, rows, classes, scaler. */
static int verify_data(const nn_checkpoint *ck, const char *path, const experiment_data *d,
                       const char *desc) {
    const char *theirs = ck->model.dataset ? ck->model.dataset : "";
    if (strcmp(theirs, desc) != 0)
        return cli_usage_error("--resume: '%s' was trained on data '%s', this run's are '%s' (a "
                               "resumed run keeps its data options)", path, theirs, desc);
    const nn_scaler *s = &ck->model.scaler;
    uint64_t rows = strtoull(extra_get(ck, "train_rows"), NULL, 10);
    int same = rows == d->n_train && ck->model.classes == d->classes &&
               (d->streamed ? s->features == 0
                            : s->features == d->scaler.features &&
                                  !memcmp(s->mean, d->scaler.mean, s->features * sizeof(double)) &&
                                  !memcmp(s->std, d->scaler.std, s->features * sizeof(double)));
    if (!same)
        return cli_usage_error("--resume: the data %s are not those '%s' was trained on (%" PRIu64
                               " training rows and their statistics there, %" PRIu64 " here)",
                               d->name, path, rows, d->n_train);
    return EXIT_OK;
}

int resume_verify(const nn_checkpoint *ck, const char *path, const experiment_options *o,
                  const experiment_data *d, const char *desc) {
    setting_values theirs, mine;
    ckpt_settings(ck, theirs);
    run_settings(o, mine);
    for (int i = 0; i < S_COUNT; i++)
        if (strcmp(theirs[i], mine[i]) != 0)
            return cli_usage_error("%s %s: the checkpoint '%s' was trained with %s %s (a resumed "
                                   "run keeps its settings; only --epochs may change)",
                                   SETTING_OPTION[i], mine[i], path, SETTING_OPTION[i],
                                   theirs[i]);
    if (ck->beta1 != o->train.beta1 || ck->beta2 != o->train.beta2 || ck->eps != o->train.eps)
        return cli_usage_error("--resume: '%s' uses Adam coefficients (beta1 %g, beta2 %g, eps "
                               "%g) nnbench does not set", path, ck->beta1, ck->beta2, ck->eps);
    if (ck->seed != o->train.seed)
        return cli_usage_error("--seed %" PRIu64 ": the checkpoint '%s' was trained with --seed %"
                               PRIu64 " (a resumed run keeps its settings; only --epochs may "
                               "change)", o->train.seed, path, ck->seed);
    uint64_t epochs = (uint64_t)o->train.epochs;
    if (ck->epoch > epochs || (ck->epoch == epochs && ck->step_in_epoch > 0))
        return cli_usage_error("--epochs %d: the checkpoint '%s' has trained %" PRIu64
                               " epochs%s already; give --epochs %" PRIu64 " or more",
                               o->train.epochs, path, ck->epoch,
                               ck->step_in_epoch > 0 ? " and part of the next" : "",
                               ck->epoch + (ck->step_in_epoch > 0));
    return verify_data(ck, path, d, desc);
}

int resume_apply(const nn_checkpoint *ck, const char *path, nn_trainer *tr) {
    uint64_t spe = strtoull(extra_get(ck, "steps_per_epoch"), NULL, 10);
    if (spe != nn_trainer_steps_per_epoch(tr))
        return cli_usage_error("--resume: '%s' was trained with %" PRIu64 " steps per epoch, this "
                               "run plans %" PRIu64, path, spe, nn_trainer_steps_per_epoch(tr));
    nn_train_state s = {.step = ck->step, .epoch = (int)ck->epoch,
                        .epoch_step = ck->step_in_epoch, .samples_seen = ck->rows_seen,
                        .loss_acc = {ck->loss_acc[0], ck->loss_acc[1]},
                        .n_params = ck->n_params, .params = ck->params, .opt_m = ck->opt_m,
                        .opt_v = ck->opt_v};
    nn_error err;
    if (nn_trainer_set_state(tr, &s, &err) == NN_OK) return EXIT_OK;
    fprintf(stderr, "nnbench: --resume: %s: %s\n", path, err.msg);
    return cli_exit_code(err.status);
}
