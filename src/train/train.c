/* train.c — the whole training loop in one call: create, run, free. */
#include <string.h>

#include "nn.h"

nn_status nn_train(nn_model *m, const nn_source *src, const nn_train_config *cfg,
                   nn_train_result *res, nn_error *err) {
    nn_train_result local;
    if (!res) res = &local;
    memset(res, 0, sizeof *res);
    nn_trainer *tr;
    nn_status st = nn_trainer_create(m, src, cfg, &tr, err);
    if (st != NN_OK) return st;
    st = nn_trainer_run(tr, err);
    nn_trainer_result(tr, res);
    nn_trainer_free(tr);
    return st;
}
