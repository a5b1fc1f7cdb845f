/* chart.h — SVG line charts for the scaling experiments. */
#ifndef NNBENCH_CHART_H
#define NNBENCH_CHART_H

#include <stddef.h>

#define CHART_MAX_POINTS 64

enum {
    CHART_IDEAL_NONE = 0,
    CHART_IDEAL_LINEAR = 1, /* y = x / x_min (ideal speedup) */
    CHART_IDEAL_ONE = 2,    /* y = 1 (ideal efficiency) */
};

typedef struct chart_series {
    char label[160];
    int dashed;     /* 1: a dashed line with hollow dots (e.g. projected, not measured) */
    int colour;     /* 1 + index into the palette; 0: the series' position picks it */
    size_t n;
    double x[CHART_MAX_POINTS];
    double y[CHART_MAX_POINTS];
} chart_series;

typedef struct chart {
    const char *title;
    const char *xlabel;
    const char *ylabel;
    const chart_series *series;
    size_t n_series;
    int ideal;      /* a dashed reference labelled "ideal": CHART_IDEAL_LINEAR, CHART_IDEAL_ONE */
} chart;

/* Sort a series' points by x. */
void chart_sort_series(chart_series *s);

/* Write the chart as SVG, through a temporary file renamed into place
 * (nn_outfile); axes become logarithmic when their data span a factor of 10
 * or more. Returns 0, or -1 if the file cannot be written. */
int chart_write_svg(const char *path, const chart *c);

#endif
