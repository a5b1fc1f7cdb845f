/* svg.h — the pieces every nnbench figure draws with: the document frame,
 * escaped text, axis ticks. */
#ifndef NNBENCH_SVG_H
#define NNBENCH_SVG_H

#include <stddef.h>
#include <stdio.h>

/* The opening <svg> element of a w x h figure on a white background. */
void svg_begin(FILE *f, double w, double h);
/* The closing </svg>. */
void svg_end(FILE *f);
/* s with XML's special characters escaped, into buf (truncated to fit). */
const char *svg_escape(const char *s, char *buf, size_t len);
/* <text> at (x, y): anchor "start", "middle" or "end"; s escaped. */
void svg_text(FILE *f, double x, double y, const char *anchor, double size, const char *s);
/* The same, rotated by -90 degrees about (x, y) (a y-axis label). */
void svg_text_vertical(FILE *f, double x, double y, double size, const char *s);
/* A line from (x1, y1) to (x2, y2) in `colour`. */
void svg_line(FILE *f, double x1, double y1, double x2, double y2, const char *colour);
/* "Nice" axis ticks covering [lo, hi]: writes up to max ticks, returns the count. */
size_t svg_ticks(double lo, double hi, double *ticks, size_t max);

#endif
