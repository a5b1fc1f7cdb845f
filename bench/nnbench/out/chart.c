/* chart.c — SVG line charts: series of (x, y) points, linear or log axes. */
#include "out/chart.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn_io.h"
#include "out/svg.h"

#define W 920.0   /* at least; wider for long legend labels */
#define H 520.0
#define PX 90.0  /* plot area */
#define PY 50.0
#define PW 500.0
#define PH 390.0

static const char *const COLOURS[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                      "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
#define N_COLOURS (sizeof COLOURS / sizeof COLOURS[0])

/* The colour of series s. */
static const char *colour_of(const chart *c, size_t s) {
    const int k = c->series[s].colour;
    return COLOURS[(k > 0 ? (size_t)(k - 1) : s) % N_COLOURS];
}

typedef struct axis {
    double lo, hi;
    int log;
} axis;

/* Position of v along an axis, 0 at lo and 1 at hi. */
static double to_unit(const axis *a, double v) {
    if (a->log) return (log10(v) - log10(a->lo)) / (log10(a->hi) - log10(a->lo));
    return (v - a->lo) / (a->hi - a->lo);
}

/* Fit an axis to [lo, hi]; log when the data span a decade or more. */
static axis fit(double lo, double hi, int allow_log, int from_zero) {
    axis a = {lo, hi, allow_log && lo > 0 && hi / lo >= 10.0};
    if (a.log) {
        a.lo = pow(10, floor(log10(lo)));
        a.hi = pow(10, ceil(log10(hi)));
    } else {
        if (from_zero && lo > 0) a.lo = 0;
        if (!(a.hi > a.lo)) a.hi = a.lo + 1;
        a.hi += 0.05 * (a.hi - a.lo);
    }
    return a;
}

/* Tick values of an axis; returns the count. */
static size_t ticks(const axis *a, double *t, size_t max) {
    if (!a->log) return svg_ticks(a->lo, a->hi, t, max);
    size_t n = 0;
    int decades = (int)lround(log10(a->hi / a->lo));
    for (double d = a->lo; d <= a->hi * 1.0001 && n < max; d *= 10) {
        t[n++] = d;
        if (decades <= 2 && d * 2 < a->hi && n < max) t[n++] = d * 2;
        if (decades <= 2 && d * 5 < a->hi && n < max) t[n++] = d * 5;
    }
    return n;
}

/* Tick label: 2.5k, 1.2M, 3G for large values, %g otherwise. */
static void fmt(double v, char *buf, size_t len) {
    double av = fabs(v);
    if (av >= 1e9) snprintf(buf, len, "%gG", v / 1e9);
    else if (av >= 1e6) snprintf(buf, len, "%gM", v / 1e6);
    else if (av >= 1e4) snprintf(buf, len, "%gk", v / 1e3);
    else if (av > 0 && av < 1e-3) snprintf(buf, len, "%.0e", v);
    else snprintf(buf, len, "%g", v);
}

void chart_sort_series(chart_series *s) {
    for (size_t i = 1; i < s->n; i++) /* insertion sort: at most CHART_MAX_POINTS */
        for (size_t j = i; j > 0 && s->x[j - 1] > s->x[j]; j--) {
            double tx = s->x[j], ty = s->y[j];
            s->x[j] = s->x[j - 1], s->y[j] = s->y[j - 1];
            s->x[j - 1] = tx, s->y[j - 1] = ty;
        }
}

/* Ranges of the finite data (and the ideal line), fitted into axes. */
static void fit_axes(const chart *c, axis *ax, axis *ay, double *xmin) {
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    for (size_t s = 0; s < c->n_series; s++)
        for (size_t i = 0; i < c->series[s].n; i++) {
            double x = c->series[s].x[i], y = c->series[s].y[i];
            if (!isfinite(x) || !isfinite(y)) continue;
            xlo = fmin(xlo, x), xhi = fmax(xhi, x), ylo = fmin(ylo, y), yhi = fmax(yhi, y);
        }
    if (!isfinite(xlo)) xlo = 0, xhi = 1, ylo = 0, yhi = 1;
    if (c->ideal == CHART_IDEAL_LINEAR) yhi = fmax(yhi, xhi / xlo), ylo = fmin(ylo, 1.0);
    if (c->ideal == CHART_IDEAL_ONE) yhi = fmax(yhi, 1.0);
    *ax = fit(xlo, xhi, 1, 0);
    *ay = fit(ylo, yhi, 1, 1);
    *xmin = xlo;
}

/* Pixel position of a value on the x and y axes. */
static double px(const axis *ax, double x) { return PX + to_unit(ax, x) * PW; }
static double py(const axis *ay, double y) { return PY + PH - to_unit(ay, y) * PH; }

/* Grid lines, tick labels, frame and axis titles. */
static void draw_axes(FILE *f, const chart *c, const axis *ax, const axis *ay) {
    double t[64];
    char buf[64];
    size_t n = ticks(ax, t, 64);
    for (size_t i = 0; i < n; i++) {
        fmt(t[i], buf, sizeof buf);
        svg_line(f, px(ax, t[i]), PY, px(ax, t[i]), PY + PH, "#ddd");
        svg_text(f, px(ax, t[i]), PY + PH + 18, "middle", 12, buf);
    }
    n = ticks(ay, t, 64);
    for (size_t i = 0; i < n; i++) {
        fmt(t[i], buf, sizeof buf);
        svg_line(f, PX, py(ay, t[i]), PX + PW, py(ay, t[i]), "#ddd");
        svg_text(f, PX - 8, py(ay, t[i]) + 4, "end", 12, buf);
    }
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
               "stroke=\"#333\"/>\n", PX, PY, PW, PH);
    char label[256];
    snprintf(label, sizeof label, "%s%s", c->xlabel, ax->log ? " (log scale)" : "");
    svg_text(f, PX + PW / 2, PY + PH + 42, "middle", 14, label);
    snprintf(label, sizeof label, "%s%s", c->ylabel, ay->log ? " (log scale)" : "");
    svg_text_vertical(f, PX - 62, PY + PH / 2, 14, label);
}

/* The dashed reference: y = x / xmin (ideal speedup) or y = 1. */
static void draw_ideal(FILE *f, int kind, const axis *ax, const axis *ay, double xmin) {
    fprintf(f, "<polyline fill=\"none\" stroke=\"#555\" stroke-dasharray=\"6 4\" points=\"");
    for (int i = 0; i <= 50; i++) {
        double x = ax->lo + (ax->hi - ax->lo) * i / 50.0;
        if (ax->log) x = ax->lo * pow(ax->hi / ax->lo, i / 50.0);
        if (x < xmin) continue;
        double y = kind == CHART_IDEAL_LINEAR ? x / xmin : 1.0;
        if (y > ay->hi) break;
        fprintf(f, "%.1f,%.1f ", px(ax, x), py(ay, y));
    }
    fprintf(f, "\"/>\n");
}

/* Each series as a line with dots, in its colour. */
static void draw_series(FILE *f, const chart *c, const axis *ax, const axis *ay) {
    for (size_t s = 0; s < c->n_series; s++) {
        const chart_series *se = &c->series[s];
        const char *col = colour_of(c, s);
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"", col,
                se->dashed ? " stroke-dasharray=\"7 5\"" : "");
        for (size_t i = 0; i < se->n; i++)
            if (isfinite(se->y[i])) fprintf(f, "%.1f,%.1f ", px(ax, se->x[i]), py(ay, se->y[i]));
        fprintf(f, "\"/>\n");
        for (size_t i = 0; i < se->n; i++)
            if (isfinite(se->y[i]))
                fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\" "
                           "stroke=\"%s\" stroke-width=\"1.5\"/>\n", px(ax, se->x[i]),
                        py(ay, se->y[i]), se->dashed ? "white" : col, col);
    }
}

/* One legend row per series (and the ideal line). */
static void draw_legend(FILE *f, const chart *c) {
    size_t rows = c->n_series + (c->ideal ? 1 : 0);
    for (size_t s = 0; s < rows && s < 24; s++) {
        double y = PY + 10 + 20.0 * (double)s;
        int ideal_row = s == c->n_series;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                   "stroke-width=\"2\"%s/>\n", PX + PW + 16, y, PX + PW + 40, y,
                ideal_row ? "#555" : colour_of(c, s),
                ideal_row ? " stroke-dasharray=\"6 4\""
                : c->series[s].dashed ? " stroke-dasharray=\"7 5\"" : "");
        svg_text(f, PX + PW + 46, y + 4, "start", 12, ideal_row ? "ideal" : c->series[s].label);
    }
}

int chart_write_svg(const char *path, const chart *c) {
    axis ax, ay;
    double xmin;
    fit_axes(c, &ax, &ay, &xmin);
    nn_outfile *out;
    if (nn_outfile_open(path, 0, &out, NULL) != NN_OK) return -1;
    FILE *f = nn_outfile_stream(out);
    size_t longest = 0; /* legend text at 12 px: about 7 px per character */
    for (size_t s = 0; s < c->n_series; s++)
        if (strlen(c->series[s].label) > longest) longest = strlen(c->series[s].label);
    svg_begin(f, fmax(W, PX + PW + 56 + 7.0 * (double)longest), H);
    svg_text(f, PX + PW / 2, 28, "middle", 17, c->title);
    draw_axes(f, c, &ax, &ay);
    if (c->ideal) draw_ideal(f, c->ideal, &ax, &ay, xmin);
    draw_series(f, c, &ax, &ay);
    draw_legend(f, c);
    svg_end(f);
    return nn_outfile_commit(out, NULL) == NN_OK ? 0 : -1;
}
