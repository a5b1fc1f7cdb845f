/* names.c — dataset kind names and per-kind default specs. */
#include "nn.h"

#include <string.h>

static const char *const kind_names[] = {
    [NN_DATA_CIRCLES] = "circles", [NN_DATA_MOONS] = "moons", [NN_DATA_XOR] = "xor",
    [NN_DATA_SPIRALS] = "spirals", [NN_DATA_BLOBS] = "blobs", [NN_DATA_TEACHER] = "teacher",
};
#define KIND_COUNT (sizeof kind_names / sizeof kind_names[0])

/* Name of a kind, or "unknown" for a value outside the enum. */
const char *nn_data_kind_name(nn_data_kind kind) {
    if ((unsigned)kind >= KIND_COUNT) return "unknown";
    return kind_names[kind];
}

/* Exact, case-sensitive match against the names above. */
nn_status nn_data_kind_parse(const char *name, nn_data_kind *out, nn_error *err) {
    if (name != NULL) {
        for (size_t k = 0; k < KIND_COUNT; k++) {
            if (strcmp(name, kind_names[k]) == 0) {
                if (out != NULL) *out = (nn_data_kind)k;
                return NN_OK;
            }
        }
    }
    return nn_error_set(
        err, NN_E_INVALID,
        "unknown dataset '%s' (valid: circles, moons, xor, spirals, blobs, teacher)",
        name != NULL ? name : "(null)");
}

/* Defaults: 1000 samples, seed 42, factor 0.8, no label noise, and per kind
 *   circles, moons, xor: noise 0.1 (coordinate std), 2 classes, 2 features
 *   spirals: noise 0.1 (angle std in radians; CS231n uses 0.2), 3 classes
 *   blobs:   noise 1.0 (cluster std, scikit-learn's default), 3 classes, 2 features
 *   teacher: noise 0 (input std added after labelling), 2 classes, 16 features.
 * An unknown kind gets the circles values with that kind (nn_data_generate
 * then rejects it). */
nn_data_spec nn_data_spec_default(nn_data_kind kind) {
    nn_data_spec s;
    memset(&s, 0, sizeof s);
    s.kind = kind;
    s.samples = 1000;
    s.noise = 0.1;
    s.factor = 0.8;
    s.classes = 2;
    s.features = 2;
    s.label_noise = 0.0;
    s.seed = 42;
    switch (kind) {
    case NN_DATA_SPIRALS: s.classes = 3; break;
    case NN_DATA_BLOBS:
        s.noise = 1.0;
        s.classes = 3;
        break;
    case NN_DATA_TEACHER:
        s.noise = 0.0;
        s.features = 16;
        break;
    default: break;
    }
    return s;
}
