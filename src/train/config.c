/* config.c — training settings: the tutorial's defaults, each
 * optimizer's usual learning rate, and the checks nn_train runs first (also
 * callable before any data or backend exists). Errors name the field. */
#include <math.h>
#include <string.h>

#include "nn.h"

nn_train_config nn_train_config_default(void) {
    nn_train_config c;
    memset(&c, 0, sizeof c);
    c.epochs = 1000;
    c.lr = nn_optimizer_default_lr(NN_OPT_SGD);
    c.optimizer = NN_OPT_SGD;
    c.momentum = 0.9;
    c.beta1 = 0.9;
    c.beta2 = 0.999;
    c.eps = 1e-8;
    c.batch = 0;
    c.seed = 42;
    c.log_every = 100;
    return c;
}

double nn_optimizer_default_lr(nn_optimizer o) {
    switch (o) {
    case NN_OPT_MOMENTUM: return 0.01;
    case NN_OPT_ADAM: return 0.001;
    default: return 0.1;
    }
}

/* 1 if x is in [0, 1). */
static int unit(double x) { return x >= 0.0 && x < 1.0; }

nn_status nn_train_config_validate(const nn_train_config *cfg, nn_error *err) {
    if (!cfg) return nn_error_set(err, NN_E_INVALID, "nn_train_config_validate: NULL config");
    if (cfg->epochs < 1)
        return nn_error_set_param(err, NN_E_INVALID, "epochs", "epochs must be >= 1, got %d",
                                  cfg->epochs);
    if (!(cfg->lr > 0.0) || !isfinite(cfg->lr))
        return nn_error_set_param(err, NN_E_INVALID, "lr",
                                  "learning rate must be a positive number, got %g", cfg->lr);
    if (cfg->log_every < 0)
        return nn_error_set_param(err, NN_E_INVALID, "log_every", "log_every must be >= 0, got %d",
                                  cfg->log_every);
    if ((unsigned)cfg->optimizer > (unsigned)NN_OPT_ADAM)
        return nn_error_set_param(err, NN_E_INVALID, "optimizer", "unknown optimizer %d",
                                  (int)cfg->optimizer);
    if (cfg->optimizer == NN_OPT_MOMENTUM && !unit(cfg->momentum))
        return nn_error_set_param(err, NN_E_INVALID, "momentum",
                                  "momentum must be in [0, 1), got %g", cfg->momentum);
    if (cfg->optimizer == NN_OPT_ADAM) {
        if (!unit(cfg->beta1))
            return nn_error_set_param(err, NN_E_INVALID, "beta1",
                                      "adam's beta1 must be in [0, 1), got %g", cfg->beta1);
        if (!unit(cfg->beta2))
            return nn_error_set_param(err, NN_E_INVALID, "beta2",
                                      "adam's beta2 must be in [0, 1), got %g", cfg->beta2);
        if (!(cfg->eps > 0.0) || !isfinite(cfg->eps))
            return nn_error_set_param(err, NN_E_INVALID, "eps",
                                      "adam's eps must be a positive number, got %g", cfg->eps);
    }
    return NN_OK;
}

nn_status nn_train_check_data(const nn_model_config *mc, uint64_t rows, size_t features,
                              size_t classes, nn_error *err) {
    nn_status st = nn_model_config_check(mc, err);
    if (st != NN_OK) return st;
    const size_t inputs = mc->sizes[0], outputs = mc->sizes[mc->n_sizes - 1];
    const char *loss = nn_loss_name(mc->loss);
    if (rows == 0)
        return nn_error_set_param(err, NN_E_INVALID, "samples", "the training set is empty");
    if (features != inputs)
        return nn_error_set_param(err, NN_E_INVALID, "layers",
                                  "the first layer has %zu inputs but the data has %zu features",
                                  inputs, features);
    if (mc->loss == NN_LOSS_CE && classes < 2)
        return nn_error_set_param(err, NN_E_INVALID, "loss",
                                  "loss ce needs class labels; the data is a regression set");
    if (mc->loss == NN_LOSS_BCE && classes != 2)
        return nn_error_set_param(err, NN_E_INVALID, "loss",
                                  "loss bce needs 2 classes, the data has %zu (use loss ce)",
                                  classes);
    const size_t need = nn_loss_outputs(mc->loss, classes);
    if (outputs != need)
        return nn_error_set_param(err, NN_E_INVALID, "layers",
                                  "the last layer has %zu output%s but loss %s on %zu classes "
                                  "needs %zu", outputs, outputs == 1 ? "" : "s", loss, classes,
                                  need);
    return NN_OK;
}
