/* chart.c — SVG line charts: series of (x, y) points, linear or log axes. */
#include "chart.h"

#include <math.h>
#include <stdio.h>

#include "plot.h"

#define W 920.0
#define H 520.0
#define PX 90.0  /* plot area */
#define PY 50.0
#define PW 500.0
#define PH 390.0

static const char *const COLOURS[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                      "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
#define N_COLOURS (sizeof COLOURS / sizeof COLOURS[0])

typedef struct axis {
    double lo, hi;
    int log;
} axis;

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
    if (!a->log) return plot_ticks(a->lo, a->hi, t, max);
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

int chart_write_svg(const char *path, const chart *c) {
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    for (size_t s = 0; s < c->n_series; s++)
        for (size_t i = 0; i < c->series[s].n; i++) {
            double x = c->series[s].x[i], y = c->series[s].y[i];
            if (!isfinite(x) || !isfinite(y)) continue;
            xlo = fmin(xlo, x), xhi = fmax(xhi, x), ylo = fmin(ylo, y), yhi = fmax(yhi, y);
        }
    if (!isfinite(xlo)) xlo = 0, xhi = 1, ylo = 0, yhi = 1;
    if (c->ideal) yhi = fmax(yhi, xhi / xlo), ylo = fmin(ylo, 1.0);
    axis ax = fit(xlo, xhi, 1, 0), ay = fit(ylo, yhi, 1, 1);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
               "viewBox=\"0 0 %.0f %.0f\" font-family=\"DejaVu Sans, Arial, sans-serif\">\n"
               "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n", W, H, W, H);
    fprintf(f, "<text x=\"%.1f\" y=\"28\" text-anchor=\"middle\" font-size=\"17\">%s</text>\n",
            PX + PW / 2, c->title);
    double t[64];
    char buf[64];
    size_t n = ticks(&ax, t, 64);
    for (size_t i = 0; i < n; i++) {
        double x = PX + to_unit(&ax, t[i]) * PW;
        fmt(t[i], buf, sizeof buf);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n"
                   "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"12\">%s</text>\n",
                x, PY, x, PY + PH, x, PY + PH + 18, buf);
    }
    n = ticks(&ay, t, 64);
    for (size_t i = 0; i < n; i++) {
        double y = PY + PH - to_unit(&ay, t[i]) * PH;
        fmt(t[i], buf, sizeof buf);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n"
                   "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"12\">%s</text>\n",
                PX, y, PX + PW, y, PX - 8, y + 4, buf);
    }
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
               "stroke=\"#333\"/>\n", PX, PY, PW, PH);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"14\">%s%s</text>\n",
            PX + PW / 2, PY + PH + 42, c->xlabel, ax.log ? " (log scale)" : "");
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"14\" "
               "transform=\"rotate(-90 %.1f %.1f)\">%s%s</text>\n", PX - 62, PY + PH / 2, PX - 62,
            PY + PH / 2, c->ylabel, ay.log ? " (log scale)" : "");
    if (c->ideal) {
        fprintf(f, "<polyline fill=\"none\" stroke=\"#555\" stroke-dasharray=\"6 4\" points=\"");
        for (int i = 0; i <= 50; i++) {
            double x = ax.lo + (ax.hi - ax.lo) * i / 50.0;
            if (ax.log) x = ax.lo * pow(ax.hi / ax.lo, i / 50.0);
            if (x < xlo) continue;
            double y = x / xlo;
            if (y > ay.hi) break;
            fprintf(f, "%.1f,%.1f ", PX + to_unit(&ax, x) * PW, PY + PH - to_unit(&ay, y) * PH);
        }
        fprintf(f, "\"/>\n");
    }
    for (size_t s = 0; s < c->n_series; s++) {
        const chart_series *se = &c->series[s];
        const char *col = COLOURS[s % N_COLOURS];
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", col);
        for (size_t i = 0; i < se->n; i++)
            if (isfinite(se->y[i]))
                fprintf(f, "%.1f,%.1f ", PX + to_unit(&ax, se->x[i]) * PW,
                        PY + PH - to_unit(&ay, se->y[i]) * PH);
        fprintf(f, "\"/>\n");
        for (size_t i = 0; i < se->n; i++)
            if (isfinite(se->y[i]))
                fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"/>\n",
                        PX + to_unit(&ax, se->x[i]) * PW, PY + PH - to_unit(&ay, se->y[i]) * PH, col);
    }
    /* legend */
    size_t rows = c->n_series + (c->ideal ? 1 : 0);
    for (size_t s = 0; s < rows && s < 24; s++) {
        double y = PY + 10 + 20.0 * (double)s;
        int ideal_row = s == c->n_series;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                   "stroke-width=\"2\"%s/>\n", PX + PW + 16, y, PX + PW + 40, y,
                ideal_row ? "#555" : COLOURS[s % N_COLOURS],
                ideal_row ? " stroke-dasharray=\"6 4\"" : "");
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\">%s</text>\n", PX + PW + 46, y + 4,
                ideal_row ? "ideal" : c->series[s].label);
    }
    fprintf(f, "</svg>\n");
    return fclose(f) == 0 ? 0 : -1;
}
