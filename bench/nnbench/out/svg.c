/* svg.c — SVG frame, text and ticks shared by the plot and the charts. */
#include "out/svg.h"

#include <math.h>

void svg_begin(FILE *f, double w, double h) {
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
               "viewBox=\"0 0 %.0f %.0f\" font-family=\"DejaVu Sans, Arial, sans-serif\">\n",
            w, h, w, h);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
}

void svg_end(FILE *f) { fprintf(f, "</svg>\n"); }

const char *svg_escape(const char *s, char *buf, size_t len) {
    size_t o = 0;
    for (; *s && o + 7 < len; s++) {
        const char *rep = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;"
                          : *s == '"' ? "&quot;" : NULL;
        if (rep) o += (size_t)snprintf(buf + o, len - o, "%s", rep);
        else buf[o++] = *s;
    }
    buf[o] = '\0';
    return buf;
}

void svg_text(FILE *f, double x, double y, const char *anchor, double size, const char *s) {
    char esc[1024];
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%.0f\">%s</text>\n", x,
            y, anchor, size, svg_escape(s, esc, sizeof esc));
}

void svg_text_vertical(FILE *f, double x, double y, double size, const char *s) {
    char esc[1024];
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"%.0f\" "
               "transform=\"rotate(-90 %.1f %.1f)\">%s</text>\n",
            x, y, size, x, y, svg_escape(s, esc, sizeof esc));
}

void svg_line(FILE *f, double x1, double y1, double x2, double y2, const char *colour) {
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n", x1, y1,
            x2, y2, colour);
}

size_t svg_ticks(double lo, double hi, double *ticks, size_t max) {
    if (!(hi > lo)) hi = lo + 1.0;
    double span = hi - lo, raw = span / 5.0, mag = pow(10.0, floor(log10(raw)));
    double step = raw / mag < 1.5 ? mag : raw / mag < 3.5 ? 2 * mag : raw / mag < 7.5 ? 5 * mag
                                                                                      : 10 * mag;
    size_t n = 0;
    for (double t = ceil(lo / step) * step; t <= hi + 1e-9 * span && n < max; t += step)
        ticks[n++] = fabs(t) < 1e-12 * span ? 0.0 : t;
    return n;
}
