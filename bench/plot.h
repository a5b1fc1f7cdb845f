/* plot.h — SVG figure of a trained 2-D classifier: the decision boundary as a
 * probability map with the test points over it, and the loss curve beside it. */
#ifndef NNBENCH_PLOT_H
#define NNBENCH_PLOT_H

#include <stddef.h>

#include "nn.h"

/* Write the figure to path. `test` points are drawn; `extent` (may be NULL)
 * widens the plotted area to cover its points too. Returns 0, or -1 with a
 * message in msg. */
int plot_write_svg(const char *path, nn_model *m, const nn_dataset *test, const nn_dataset *extent,
                   const int *loss_epochs, const double *losses, size_t n_losses,
                   const char *title, char *msg, size_t msg_len);

/* "Nice" axis ticks covering [lo, hi]: writes up to max ticks, returns the count. */
size_t plot_ticks(double lo, double hi, double *ticks, size_t max);

#endif
