/* names.c — names of activations, losses and optimizers, and their parsers. */
#include <string.h>

#include "nn.h"

static const char *const ACT_NAMES[] = {"identity", "relu", "sigmoid", "tanh", "softmax"};
static const char *const LOSS_NAMES[] = {"bce", "ce", "mse"};
static const char *const OPT_NAMES[] = {"sgd", "momentum", "adam"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

const char *nn_act_name(nn_act a) {
    return (unsigned)a < COUNT(ACT_NAMES) ? ACT_NAMES[a] : "unknown";
}
const char *nn_loss_name(nn_loss l) {
    return (unsigned)l < COUNT(LOSS_NAMES) ? LOSS_NAMES[l] : "unknown";
}
const char *nn_optimizer_name(nn_optimizer o) {
    return (unsigned)o < COUNT(OPT_NAMES) ? OPT_NAMES[o] : "unknown";
}

/* Index of s in names[0..n), or -1. */
static int lookup(const char *s, const char *const *names, size_t n) {
    for (size_t i = 0; s && i < n; i++)
        if (strcmp(s, names[i]) == 0) return (int)i;
    return -1;
}

nn_status nn_act_parse(const char *s, nn_act *out, nn_error *err) {
    int i = lookup(s, ACT_NAMES, COUNT(ACT_NAMES));
    if (i < 0 || i == NN_ACT_SOFTMAX || i == NN_ACT_IDENTITY)
        return nn_error_set(err, NN_E_INVALID,
                            "unknown hidden activation '%s' (expected relu, sigmoid or tanh)",
                            s ? s : "");
    *out = (nn_act)i;
    return NN_OK;
}

nn_status nn_loss_parse(const char *s, nn_loss *out, nn_error *err) {
    int i = lookup(s, LOSS_NAMES, COUNT(LOSS_NAMES));
    if (i < 0)
        return nn_error_set(err, NN_E_INVALID, "unknown loss '%s' (expected bce, ce or mse)",
                            s ? s : "");
    *out = (nn_loss)i;
    return NN_OK;
}

nn_status nn_optimizer_parse(const char *s, nn_optimizer *out, nn_error *err) {
    int i = lookup(s, OPT_NAMES, COUNT(OPT_NAMES));
    if (i < 0)
        return nn_error_set(err, NN_E_INVALID,
                            "unknown optimizer '%s' (expected sgd, momentum or adam)", s ? s : "");
    *out = (nn_optimizer)i;
    return NN_OK;
}
