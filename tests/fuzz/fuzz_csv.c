/* fuzz_csv.c — libFuzzer harness for the CSV loader.
 *
 * Input: an option byte (bits 0-1 header -1/0/1, bit 2 regression, bits 3-4
 * label column -1/0/1), then the file's bytes. The loader must fail with a
 * one-line message or return a dataset that keeps its promises: finite
 * values within float range, labels 0..k-1 with at least two classes. */
#include <math.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    const uint8_t o = data[0];
    nn_csv_options opt = {.header = (int)(o & 3) % 3 - 1,
                          .regression = (o >> 2) & 1,
                          .label_column = (int)((o >> 3) & 3) % 3 - 1};
    const char *path = fuzz_file(data + 1, size - 1);
    nn_dataset ds;
    nn_csv_info info;
    nn_error err = {0};
    nn_status st = nn_data_load_csv_info(path, &opt, &ds, &info, &err);
    if (st != NN_OK) {
        FUZZ_CHECK(st == NN_E_PARSE || st == NN_E_INVALID, "status %d: %s", (int)st, err.msg);
        fuzz_check_error(st, &err);
        FUZZ_CHECK(ds.x == NULL && ds.y == NULL && ds.n == 0, "dataset not cleared");
        return 0;
    }
    FUZZ_CHECK(ds.n > 0 && ds.features > 0, "empty dataset");
    FUZZ_CHECK(info.lines >= ds.n, "lines %zu < rows %zu", info.lines, ds.n);
    for (size_t i = 0; i < ds.n * ds.features; i++)
        FUZZ_CHECK(isfinite(ds.x[i]), "x[%zu] not finite", i);
    if (opt.regression) {
        FUZZ_CHECK(ds.classes == 0, "classes %zu for regression", ds.classes);
        for (size_t i = 0; i < ds.n; i++) FUZZ_CHECK(isfinite(ds.y[i]), "y[%zu]", i);
    } else {
        FUZZ_CHECK(ds.classes >= 2 && ds.classes <= NN_CSV_MAX_CLASSES, "classes %zu",
                   ds.classes);
        size_t seen = 0;
        unsigned char *hit = calloc(ds.classes, 1);
        for (size_t i = 0; i < ds.n; i++) {
            FUZZ_CHECK(ds.y[i] >= 0 && ds.y[i] < (float)ds.classes && ds.y[i] == floorf(ds.y[i]),
                       "label %g", (double)ds.y[i]);
            size_t c = (size_t)ds.y[i];
            seen += !hit[c];
            hit[c] = 1;
        }
        free(hit);
        FUZZ_CHECK(seen >= 2, "one class accepted");
        FUZZ_CHECK(seen + info.missing_classes == ds.classes, "missing classes miscounted");
        FUZZ_CHECK((info.missing_classes == 0) == (info.warning[0] == '\0'), "warning text");
    }
    nn_dataset_free(&ds);
    return 0;
}
