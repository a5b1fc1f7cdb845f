/* model_read.c — read and validate a model file on the host (no backend:
 * also what the fuzzer exercises). */
#include "io/io_internal.h"

#include <stdlib.h>

nn_status nn_model_file_read(const char *path, nn_model_meta *meta, float **params,
                             size_t *n_params, nn_error *err) {
    if (path == NULL || meta == NULL || params == NULL || n_params == NULL)
        return io_error(err, NN_E_INVALID, "nn_model_file_read: NULL argument");
    memset(meta, 0, sizeof *meta);
    *params = NULL;
    *n_params = 0;
    nn_st_file f;
    nn_status st = nn_st_read(path, &f, err);
    if (st != NN_OK) return st;
    st = io_read_model_part(&f, path, IO_MODEL, meta, params, n_params, err);
    nn_st_free(&f);
    return st;
}
