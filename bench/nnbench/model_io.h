/* model_io.h — the model files of `nnbench train`: --init reads a saved
 * model's architecture and weights, --save writes the trained model with
 * everything needed to use it (nn_model_save: scaler, classes, the data's
 * description, seed, epochs). */
#ifndef NNBENCH_MODEL_IO_H
#define NNBENCH_MODEL_IO_H

#include "experiment.h"
#include "nn_io.h"

/* A model read with --init. */
typedef struct init_model {
    nn_model_meta meta;
    float *params; /* (n_params) nn_model_get_params layout */
    size_t n_params;
} init_model;

/* Before the data are prepared: read o->init_path (when given) and make its
 * architecture the run's: widths, activation and loss where the options
 * leave them open, a clear error naming the file where they disagree.
 * Returns EXIT_OK or EXIT_USAGE (one line printed). */
int init_read(experiment_options *o, init_model *im);
/* After: the file's inputs and classes must be the data's. EXIT_OK or
 * EXIT_USAGE naming the file and both counts. */
int init_check(const experiment_options *o, const experiment_data *d, const init_model *im);
/* Give m the file's weights (m was created from the same architecture). */
int init_apply(const init_model *im, nn_model *m);
/* Release; a zeroed init_model is a no-op. */
void init_free(init_model *im);

/* Save m (trained for `epochs` epochs in all) to path with the run's
 * metadata; desc is describe_data's text. Returns EXIT_OK, or EXIT_FAIL
 * after one line (the old file at path is untouched). */
int model_save_run(const char *path, nn_model *m, const experiment_options *o,
                   const experiment_data *d, const char *desc, uint64_t epochs);

#endif
