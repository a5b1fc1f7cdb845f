/* spec.c — validation of a generator spec against its kind. */
#include "data/data_internal.h"

#include <math.h>

/* An invalid spec's error about field `param`. */
#define SPEC_ERR(err, param, ...)                                                                  \
    nn_error_set_param((err), NN_E_INVALID, (param), "invalid dataset spec: " __VA_ARGS__)

/* classes must be in [lo, hi] for this kind. */
static nn_status check_classes(const nn_data_spec *s, size_t lo, size_t hi, nn_error *err) {
    if (s->classes < lo || s->classes > hi) {
        if (lo == hi)
            return SPEC_ERR(err, "classes", "%s makes exactly %zu classes, got classes=%zu",
                            nn_data_kind_name(s->kind), lo, s->classes);
        return SPEC_ERR(err, "classes", "%s needs classes in [%zu, %zu], got classes=%zu",
                        nn_data_kind_name(s->kind), lo, hi, s->classes);
    }
    return NN_OK;
}

/* features must equal `want` (0 = any positive count). */
static nn_status check_features(const nn_data_spec *s, size_t want, nn_error *err) {
    if (want != 0 && s->features != want)
        return SPEC_ERR(err, "features", "%s is %zu-dimensional, got features=%zu",
                        nn_data_kind_name(s->kind), want, s->features);
    if (s->features == 0)
        return SPEC_ERR(err, "features", "features must be >= 1, got features=0");
    return NN_OK;
}

/* Fields common to every kind, then the kind's own limits. */
nn_status nn_data_spec_check(const nn_data_spec *s, nn_error *err) {
    if (s == NULL) return nn_error_set(err, NN_E_INVALID, "invalid dataset spec: spec is NULL");
    if ((unsigned)s->kind > (unsigned)NN_DATA_TEACHER)
        return SPEC_ERR(err, "kind", "unknown kind=%d", (int)s->kind);
    if (s->samples == 0) return SPEC_ERR(err, "samples", "samples must be >= 1, got samples=0");
    if (!isfinite(s->noise) || s->noise < 0.0)
        return SPEC_ERR(err, "noise", "noise must be a finite value >= 0, got noise=%g", s->noise);
    if (!isfinite(s->label_noise) || s->label_noise < 0.0 || s->label_noise > 1.0)
        return SPEC_ERR(err, "label_noise", "label_noise must be in [0, 1], got label_noise=%g",
                        s->label_noise);
    nn_status st = NN_OK;
    switch (s->kind) {
    case NN_DATA_CIRCLES:
        if (!(s->factor > 0.0 && s->factor < 1.0))
            return SPEC_ERR(err, "factor", "circles needs factor in (0, 1), got factor=%g", s->factor);
        /* fall through */
    case NN_DATA_MOONS:
    case NN_DATA_XOR:
        st = check_classes(s, 2, 2, err);
        if (st == NN_OK) st = check_features(s, 2, err);
        break;
    case NN_DATA_SPIRALS:
        st = check_classes(s, 2, NN_SPIRALS_MAX_CLASSES, err);
        if (st == NN_OK) st = check_features(s, 2, err);
        break;
    case NN_DATA_BLOBS:
        st = check_classes(s, 2, NN_BLOBS_MAX_CLASSES, err);
        if (st == NN_OK) st = check_features(s, 0, err);
        break;
    case NN_DATA_TEACHER:
        st = check_classes(s, 2, NN_TEACHER_MAX_CLASSES, err);
        if (st == NN_OK) st = check_features(s, 0, err);
        if (st == NN_OK && s->features == 1 && s->classes > 2)
            return SPEC_ERR(err, "classes",
                            "teacher with features=1 supports only classes=2, got classes=%zu",
                            s->classes);
        break;
    }
    return st;
}
