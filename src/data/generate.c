/* generate.c — nn_data_generate: validate, allocate, dispatch by kind. */
#include "data/data_internal.h"

/* In-memory dataset of spec->samples rows; on failure *out is zeroed. */
nn_status nn_data_generate(const nn_data_spec *spec, nn_dataset *out, nn_error *err) {
    if (out == NULL) return nn_error_set(err, NN_E_INVALID, "nn_data_generate: out is NULL");
    nn_dataset ds = {0};
    *out = ds;
    nn_status st = nn_data_spec_check(spec, err);
    if (st == NN_OK) st = nn_dataset_alloc(&ds, spec->samples, spec->features, spec->classes, err);
    if (st != NN_OK) return st;
    switch (spec->kind) {
    case NN_DATA_CIRCLES: nn_gen_circles(spec, &ds); break;
    case NN_DATA_MOONS: nn_gen_moons(spec, &ds); break;
    case NN_DATA_XOR: nn_gen_xor(spec, &ds); break;
    case NN_DATA_SPIRALS: nn_gen_spirals(spec, &ds); break;
    case NN_DATA_BLOBS: nn_gen_blobs(spec, &ds); break;
    case NN_DATA_TEACHER:
        st = nn_data_generate_range(spec, 0, ds.n, ds.x, ds.y, err);
        if (st != NN_OK) {
            nn_dataset_free(&ds);
            return st;
        }
        break;
    }
    if (spec->kind != NN_DATA_TEACHER) nn_rows_label_noise(spec->seed, spec->label_noise, &ds);
    *out = ds;
    return NN_OK;
}
