/* plot.h — SVG figure of a trained 2-D classifier: the decision boundary as a
 * probability map with the test points over it, and the loss curve beside it.
 * Computing the figure (the model evaluated on a grid) and drawing it are
 * separate steps. */
#ifndef NNBENCH_PLOT_H
#define NNBENCH_PLOT_H

#include <stddef.h>

#include "nn.h"

/* Cells per axis of the probability map. */
#define PLOT_GRID 150

/* What the figure shows, computed from a model. */
typedef struct plot_data {
    double lo[2], hi[2];        /* plotted extent per feature (padded) */
    size_t k;                   /* model outputs per cell (1 = binary probability) */
    float *prob;                /* (PLOT_GRID * PLOT_GRID, k) outputs at the cell centres,
                                   row j (feature 2) major, then column i (feature 1) */
    const nn_dataset *test;     /* points drawn, coloured by class */
    const int *loss_epochs;     /* (n_losses) epochs of the loss curve */
    const double *losses;       /* (n_losses) */
    size_t n_losses;
    const char *title;
} plot_data;

/* Evaluate m on the grid covering `test` (and `extent`, may be NULL); keeps
 * pointers to test and the loss curve. Returns 0, or -1 with msg. */
int plot_compute(plot_data *pd, nn_model *m, const nn_dataset *test, const nn_dataset *extent,
                 const int *loss_epochs, const double *losses, size_t n_losses,
                 const char *title, char *msg, size_t msg_len);
/* Draw the figure to path, atomically (out/outfile.h: the file appears only
 * when complete; an old one stays until then). Returns 0, or -1 with msg. */
int plot_render(const char *path, const plot_data *pd, char *msg, size_t msg_len);
void plot_data_free(plot_data *pd);

/* plot_compute then plot_render. */
int plot_write_svg(const char *path, nn_model *m, const nn_dataset *test, const nn_dataset *extent,
                   const int *loss_epochs, const double *losses, size_t n_losses,
                   const char *title, char *msg, size_t msg_len);

#endif
