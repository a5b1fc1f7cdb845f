/* config.c — the training configuration's defaults. */
#include <string.h>

#include "nn.h"

nn_train_config nn_train_config_default(void) {
    nn_train_config c;
    memset(&c, 0, sizeof c);
    c.epochs = 1000;
    c.lr = 0.1;
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

