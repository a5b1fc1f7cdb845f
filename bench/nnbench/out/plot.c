/* plot.c — the decision-boundary and loss-curve SVG: compute (the model on a
 * grid), then render (map, boundary, points, axes, legend, loss panel). */
#include "out/plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out/outfile.h"
#include "out/svg.h"

#define GRID PLOT_GRID
#define LEVELS 24        /* colour levels of the map */
#define MAP_X 60.0       /* left panel: plot area */
#define MAP_Y 50.0
#define MAP_W 420.0
#define MAP_H 420.0
#define CURVE_X 620.0    /* right panel: plot area */
#define CURVE_Y 50.0
#define CURVE_W 360.0
#define CURVE_H 420.0
#define FIG_W 1020.0
#define FIG_H 540.0

typedef struct rgb {
    double r, g, b;
} rgb;

/* Class colours (class 0 blue, class 1 red, then a qualitative palette). */
static const rgb PALETTE[] = {{33, 102, 172}, {178, 24, 43},  {27, 158, 119}, {217, 95, 2},
                              {117, 112, 179}, {231, 41, 138}, {102, 166, 30}, {230, 171, 2},
                              {166, 118, 29}, {102, 102, 102}};
#define N_PALETTE (sizeof PALETTE / sizeof PALETTE[0])

/* ----------------------------------------------------------------- compute */

/* Widen [lo, hi] per feature to cover the points of d (may be NULL). */
static void extend(const nn_dataset *d, double *lo, double *hi) {
    for (size_t i = 0; d && i < d->n; i++)
        for (int c = 0; c < 2; c++) {
            double v = d->x[i * 2 + c];
            if (v < lo[c]) lo[c] = v;
            if (v > hi[c]) hi[c] = v;
        }
}

int plot_compute(plot_data *pd, nn_model *m, const nn_dataset *test, const nn_dataset *extent,
                 const int *loss_epochs, const double *losses, size_t n_losses,
                 const char *title, char *msg, size_t msg_len) {
    const nn_model_config *cfg = nn_model_config_of(m);
    memset(pd, 0, sizeof *pd);
    if (cfg->sizes[0] != 2 || test->features != 2) {
        snprintf(msg, msg_len, "the decision boundary needs 2 input features");
        return -1;
    }
    *pd = (plot_data){{INFINITY, INFINITY}, {-INFINITY, -INFINITY}, cfg->sizes[cfg->n_sizes - 1],
                      NULL, test, loss_epochs, losses, n_losses, title};
    extend(test, pd->lo, pd->hi);
    extend(extent, pd->lo, pd->hi);
    if (!isfinite(pd->lo[0])) pd->lo[0] = pd->lo[1] = -1, pd->hi[0] = pd->hi[1] = 1;
    for (int c = 0; c < 2; c++) { /* pad by 10% like the tutorial's margin */
        double pad = 0.1 * (pd->hi[c] - pd->lo[c]) + 1e-6;
        pd->lo[c] -= pad;
        pd->hi[c] += pad;
    }
    float *grid = malloc((size_t)GRID * GRID * 2 * sizeof(float)); /* (GRID*GRID, 2) centres */
    pd->prob = malloc((size_t)GRID * GRID * pd->k * sizeof(float));
    int rc = -1;
    nn_error err;
    if (!grid || !pd->prob) {
        snprintf(msg, msg_len, "out of memory");
    } else {
        const double dx = (pd->hi[0] - pd->lo[0]) / (GRID - 1);
        const double dy = (pd->hi[1] - pd->lo[1]) / (GRID - 1);
        for (int j = 0; j < GRID; j++)
            for (int i = 0; i < GRID; i++) {
                grid[(j * GRID + i) * 2] = (float)(pd->lo[0] + i * dx);
                grid[(j * GRID + i) * 2 + 1] = (float)(pd->lo[1] + j * dy);
            }
        if (nn_model_predict(m, grid, (size_t)GRID * GRID, pd->prob, &err) == NN_OK) rc = 0;
        else snprintf(msg, msg_len, "%s", err.msg);
    }
    free(grid);
    if (rc != 0) plot_data_free(pd);
    return rc;
}

void plot_data_free(plot_data *pd) {
    free(pd->prob);
    pd->prob = NULL;
}

/* ------------------------------------------------------------------ render */

static rgb mix(rgb a, rgb b, double t) {
    rgb c = {a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t};
    return c;
}

static void hex(rgb c, char out[8]) {
    snprintf(out, 8, "#%02x%02x%02x", (int)lround(c.r), (int)lround(c.g), (int)lround(c.b));
}

/* Index of the largest of p[0..k). */
static size_t argmax(const float *p, size_t k) {
    size_t best = 0;
    for (size_t j = 1; j < k; j++)
        if (p[j] > p[best]) best = j;
    return best;
}

/* Map colour of a cell: binary p in [0,1] on a blue-white-red scale; k classes:
 * the winning class's colour, paler when the model is less sure. */
static rgb cell_colour(const float *p, size_t k, int level) {
    const rgb white = {247, 247, 247};
    double t = (level + 0.5) / LEVELS;
    if (k == 1) return t < 0.5 ? mix(PALETTE[0], white, t * 2) : mix(white, PALETTE[1], t * 2 - 1);
    return mix(white, PALETTE[argmax(p, k) % N_PALETTE], 0.15 + 0.7 * t);
}

/* Quantized level of a cell (and its class for k > 1, packed). */
static int cell_key(const float *p, size_t k) {
    if (k == 1) {
        int l = (int)(p[0] * LEVELS);
        return l < 0 ? 0 : l >= LEVELS ? LEVELS - 1 : l;
    }
    size_t best = argmax(p, k);
    double conf = (p[best] - 1.0 / (double)k) / (1.0 - 1.0 / (double)k); /* 0..1 */
    int l = (int)(conf * LEVELS);
    l = l < 0 ? 0 : l >= LEVELS ? LEVELS - 1 : l;
    return (int)best * LEVELS + l;
}

/* Pixel coordinates of data point (x, y) in the map panel. */
static double map_px(const plot_data *pd, double x) {
    return MAP_X + (x - pd->lo[0]) * MAP_W / (pd->hi[0] - pd->lo[0]);
}
static double map_py(const plot_data *pd, double y) {
    return MAP_Y + MAP_H - (y - pd->lo[1]) * MAP_H / (pd->hi[1] - pd->lo[1]);
}

/* Axes box with ticks: x over [x0,x1], y over [y0,y1] into the pixel box. */
static void axes(FILE *f, double px, double py, double pw, double ph, double x0, double x1,
                 double y0, double y1, const char *xlabel, const char *ylabel) {
    double t[32];
    char buf[64];
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
               "stroke=\"#333\"/>\n", px, py, pw, ph);
    size_t n = svg_ticks(x0, x1, t, 32);
    for (size_t i = 0; i < n; i++) {
        double x = px + (t[i] - x0) / (x1 - x0) * pw;
        svg_line(f, x, py + ph, x, py + ph + 5, "#333");
        snprintf(buf, sizeof buf, "%g", t[i]);
        svg_text(f, x, py + ph + 19, "middle", 12, buf);
    }
    n = svg_ticks(y0, y1, t, 32);
    for (size_t i = 0; i < n; i++) {
        double y = py + ph - (t[i] - y0) / (y1 - y0) * ph;
        svg_line(f, px - 5, y, px, y, "#333");
        snprintf(buf, sizeof buf, "%g", t[i]);
        svg_text(f, px - 8, y + 4, "end", 12, buf);
    }
    svg_text(f, px + pw / 2, py + ph + 40, "middle", 14, xlabel);
    svg_text_vertical(f, px - 42, py + ph / 2, 14, ylabel);
}

/* The probability map: runs of equal colour per grid row become one rect. */
static void probability_map(FILE *f, const plot_data *pd) {
    const double cw = MAP_W / (GRID - 1), ch = MAP_H / (GRID - 1);
    const size_t k = pd->k;
    fprintf(f, "<g shape-rendering=\"crispEdges\">\n");
    for (int j = 0; j < GRID; j++) {
        double y = MAP_Y + MAP_H - (j + 0.5) * ch;
        for (int i = 0; i < GRID;) {
            const float *p = pd->prob + (size_t)(j * GRID + i) * k;
            int key = cell_key(p, k), i1 = i + 1;
            while (i1 < GRID && cell_key(pd->prob + (size_t)(j * GRID + i1) * k, k) == key) i1++;
            char c[8];
            hex(cell_colour(p, k, key % LEVELS), c);
            double x = MAP_X + (i - 0.5) * cw, w = (i1 - i) * cw;
            if (x < MAP_X) w -= MAP_X - x, x = MAP_X;
            if (x + w > MAP_X + MAP_W) w = MAP_X + MAP_W - x;
            double yy = y < MAP_Y ? MAP_Y : y;
            double hh = y + ch > MAP_Y + MAP_H ? MAP_Y + MAP_H - yy : ch - (yy - y);
            fprintf(f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"/>\n",
                    x, yy, w, hh, c);
            i = i1;
        }
    }
    fprintf(f, "</g>\n");
}

/* Line segments where the binary probability crosses 0.5 (marching squares). */
static void boundary(FILE *f, const plot_data *pd) {
    const float *p = pd->prob; /* (GRID*GRID) P(class 1) */
    const double dx = (pd->hi[0] - pd->lo[0]) / (GRID - 1);
    const double dy = (pd->hi[1] - pd->lo[1]) / (GRID - 1);
    fprintf(f, "<path fill=\"none\" stroke=\"#222\" stroke-width=\"1.6\" d=\"");
    for (int j = 0; j + 1 < GRID; j++)
        for (int i = 0; i + 1 < GRID; i++) {
            /* corners: a (i,j) b (i+1,j) c (i+1,j+1) d (i,j+1) */
            double v[4] = {p[j * GRID + i] - 0.5, p[j * GRID + i + 1] - 0.5,
                           p[(j + 1) * GRID + i + 1] - 0.5, p[(j + 1) * GRID + i] - 0.5};
            double cx[4] = {i, i + 1, i + 1, i}, cy[4] = {j, j, j + 1, j + 1};
            double ex[4], ey[4];
            int ne = 0;
            for (int e = 0; e < 4; e++) {
                int a = e, b = (e + 1) % 4;
                if ((v[a] < 0) == (v[b] < 0)) continue;
                double t = v[a] / (v[a] - v[b]);
                ex[ne] = pd->lo[0] + (cx[a] + (cx[b] - cx[a]) * t) * dx;
                ey[ne] = pd->lo[1] + (cy[a] + (cy[b] - cy[a]) * t) * dy;
                ne++;
            }
            for (int e = 0; e + 1 < ne; e += 2)
                fprintf(f, "M%.1f %.1fL%.1f %.1f", map_px(pd, ex[e]), map_py(pd, ey[e]),
                        map_px(pd, ex[e + 1]), map_py(pd, ey[e + 1]));
        }
    fprintf(f, "\"/>\n");
}

/* Test points, coloured by their true class. */
static void points(FILE *f, const plot_data *pd) {
    const nn_dataset *test = pd->test;
    for (size_t i = 0; i < test->n; i++) {
        char c[8];
        float yi = test->y[i];
        size_t cls = yi >= 0 && yi < 1e6f ? (size_t)yi : 0; /* regression targets: one colour */
        hex(PALETTE[cls % N_PALETTE], c);
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.6\" fill=\"%s\" stroke=\"#111\" "
                   "stroke-width=\"0.7\"/>\n", map_px(pd, test->x[i * 2]),
                map_py(pd, test->x[i * 2 + 1]), c);
    }
}

/* Legend: classes, and the colour scale for binary maps. */
static void legend(FILE *f, const plot_data *pd) {
    size_t nclass = pd->k == 1 ? 2 : pd->k;
    for (size_t c = 0; c < nclass && c < 12; c++) {
        char col[8], lab[32];
        hex(PALETTE[c % N_PALETTE], col);
        double ly = MAP_Y + 12 + 20.0 * (double)c;
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"%s\" stroke=\"#111\"/>\n",
                MAP_X + MAP_W + 22, ly, col);
        snprintf(lab, sizeof lab, "class %zu", c);
        svg_text(f, MAP_X + MAP_W + 32, ly + 4, "start", 12, lab);
    }
    if (pd->k != 1) return;
    double bx = MAP_X + MAP_W + 22, by = MAP_Y + 80, bh = 200;
    for (int l = 0; l < LEVELS; l++) {
        char col[8];
        float pv = (float)((l + 0.5) / LEVELS);
        hex(cell_colour(&pv, 1, l), col);
        fprintf(f, "<rect x=\"%.1f\" y=\"%.2f\" width=\"14\" height=\"%.2f\" fill=\"%s\"/>\n",
                bx - 7, by + bh - (l + 1) * bh / LEVELS, bh / LEVELS + 0.3, col);
    }
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"%.1f\" fill=\"none\" "
               "stroke=\"#333\"/>\n", bx - 7, by, bh);
    svg_text(f, bx + 12, by + 4, "start", 11, "P=1");
    svg_text(f, bx + 12, by + bh / 2 + 4, "start", 11, "0.5");
    svg_text(f, bx + 12, by + bh + 4, "start", 11, "0");
    svg_text(f, bx, by + bh + 22, "middle", 11, "P(class 1)");
}

/* The right panel: training loss against epoch. */
static void loss_panel(FILE *f, const int *epochs, const double *losses, size_t n) {
    double ymax = 0, xmax = n ? epochs[n - 1] : 1;
    for (size_t i = 0; i < n; i++) ymax = losses[i] > ymax ? losses[i] : ymax;
    if (xmax <= 0) xmax = 1;
    ymax = ymax > 0 ? ymax * 1.08 : 1;
    axes(f, CURVE_X, CURVE_Y, CURVE_W, CURVE_H, 0, xmax, 0, ymax, "epoch", "training loss");
    svg_text(f, CURVE_X + CURVE_W / 2, CURVE_Y - 14, "middle", 16, "Training loss");
    fprintf(f, "<polyline fill=\"none\" stroke=\"#b2182b\" stroke-width=\"2\" points=\"");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%.1f,%.1f ", CURVE_X + epochs[i] / xmax * CURVE_W,
                CURVE_Y + CURVE_H - losses[i] / ymax * CURVE_H);
    fprintf(f, "\"/>\n");
    for (size_t i = 0; i < n && n <= 60; i++)
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#b2182b\"/>\n",
                CURVE_X + epochs[i] / xmax * CURVE_W,
                CURVE_Y + CURVE_H - losses[i] / ymax * CURVE_H);
}

int plot_render(const char *path, const plot_data *pd, char *msg, size_t msg_len) {
    out_file o;
    if (out_open(&o, path, 0, 0, msg, msg_len) != 0) return -1;
    FILE *f = o.fp;
    svg_begin(f, FIG_W, FIG_H);
    char t[512];
    snprintf(t, sizeof t, "Decision boundary: %s (%zu test points)", pd->title, pd->test->n);
    svg_text(f, MAP_X + MAP_W / 2, MAP_Y - 14, "middle", 16, t);
    probability_map(f, pd);
    if (pd->k == 1) boundary(f, pd);
    points(f, pd);
    axes(f, MAP_X, MAP_Y, MAP_W, MAP_H, pd->lo[0], pd->hi[0], pd->lo[1], pd->hi[1],
         "feature 1 (standardized)", "feature 2 (standardized)");
    legend(f, pd);
    loss_panel(f, pd->loss_epochs, pd->losses, pd->n_losses);
    svg_end(f);
    return out_commit(&o, msg, msg_len);
}

int plot_write_svg(const char *path, nn_model *m, const nn_dataset *test, const nn_dataset *extent,
                   const int *loss_epochs, const double *losses, size_t n_losses,
                   const char *title, char *msg, size_t msg_len) {
    plot_data pd;
    if (plot_compute(&pd, m, test, extent, loss_epochs, losses, n_losses, title, msg, msg_len))
        return -1;
    int rc = plot_render(path, &pd, msg, msg_len);
    plot_data_free(&pd);
    return rc;
}
