/* scale_report.c — what `nnbench scale` shows: the table on stdout (one line
 * per point as it finishes, then the projection next to the measured ranks)
 * and the charts, all drawn from the rows (scale_rows.c), so that rows read
 * back with --append are charted with the new ones. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "out/chart.h"
#include "scale.h"

static int is_kind(const scale_row *r, const char *kind) {
    return strcmp(scale_row_text(r, C_KIND), kind) == 0;
}
static int is_ok(const scale_row *r) { return strcmp(scale_row_text(r, C_STATUS), "ok") == 0; }
static int is_weak(const scale_row *r) { return strcmp(scale_row_text(r, C_SCALING), "weak") == 0; }

/* --------------------------------------------------------------- table */

void scale_print_header(void) {
    printf("%-7s %5s %7s %10s %8s %6s %5s %6s %10s %12s %23s %8s %6s %7s %5s %8s %8s %8s\n",
           "backend", "ranks", "threads", "samples", "features", "hidden", "depth", "batch",
           "time_s", "samples/s", "[min - max]", "GFLOP/s", "comm%", "speedup", "eff", "peak_MB",
           "loss", "test_acc");
    fflush(stdout);
}

void scale_print_row(const scale_row *r) {
    const double *v = r->num;
    printf("%-7s %5.0f %7.0f %10.0f %8.0f %6.0f %5.0f %6.0f", scale_row_text(r, C_BACKEND),
           v[C_RANKS], v[C_THREADS], v[C_SAMPLES], v[C_FEATURES], v[C_HIDDEN], v[C_DEPTH],
           v[C_BATCH]);
    if (!is_ok(r)) {
        printf("  FAILED: %s\n", scale_row_text(r, C_STATUS));
    } else {
        printf(" %10.3f %12.0f [%10.0f - %10.0f] %8.2f %6.1f %7.2f %5.2f %8.1f %8.4f %8.4f%s\n",
               v[C_SECONDS_MEDIAN], v[C_SPS_MEDIAN], v[C_SPS_MIN], v[C_SPS_MAX],
               v[C_GFLOPS_MEDIAN], 100.0 * (isfinite(v[C_COMM_FRACTION]) ? v[C_COMM_FRACTION] : 0),
               v[C_SPEEDUP], v[C_EFFICIENCY], v[C_PEAK_RSS], v[C_FINAL_LOSS], v[C_TEST_ACCURACY],
               v[C_OVERSUBSCRIBED] > 0 ? "  (oversubscribed)" : "");
    }
    fflush(stdout);
}

void scale_print_projection(const scale_rows *rs) {
    int any = 0;
    for (size_t i = 0; i < rs->n; i++) {
        const scale_row *p = &rs->v[i];
        if (!is_kind(p, "projected")) continue;
        if (!any++)
            printf("\nprojected (ring all-reduce model, link %g Gbit/s, %g us; measured where "
                   "run):\n%-7s %-6s %7s %6s %6s %9s %11s %9s %6s %7s %5s %11s %8s\n",
                   p->num[C_LINK_GBIT], p->num[C_LINK_US], "backend", "scale", "threads",
                   "batch", "ranks", "step_ms", "compute_ms", "comm_ms", "comm%", "speedup",
                   "eff", "measured_ms", "meas_eff");
        const scale_row *m = NULL;
        for (size_t j = 0; j < rs->n && !m; j++)
            if (is_kind(&rs->v[j], "measured") && is_ok(&rs->v[j]) &&
                rs->v[j].num[C_RANKS] == p->num[C_RANKS] && scale_rows_same_series(&rs->v[j], p))
                m = &rs->v[j];
        printf("%-7s %-6s %7.0f %6.0f %6.0f %9.3f %11.3f %9.3f %6.1f %7.2f %5.2f",
               scale_row_text(p, C_BACKEND), scale_row_text(p, C_SCALING), p->num[C_THREADS],
               p->num[C_BATCH], p->num[C_RANKS], 1e3 * p->num[C_STEP_SECONDS],
               1e3 * p->num[C_COMPUTE_SECONDS], 1e3 * p->num[C_COMM_SECONDS],
               100 * p->num[C_COMM_FRACTION], p->num[C_SPEEDUP], p->num[C_EFFICIENCY]);
        if (m) printf(" %11.3f %8.2f", 1e3 * m->num[C_STEP_SECONDS], m->num[C_EFFICIENCY]);
        printf("\n");
    }
    fflush(stdout);
}

/* -------------------------------------------------------------- charts */

/* The columns of the swept axes, and the value a series label shows for
 * each (per rank under weak scaling, where the global values follow the
 * ranks). */
static const scale_col AXIS_COL[N_AXES] = {C_SAMPLES, C_FEATURES, C_HIDDEN,      C_DEPTH,
                                           C_BATCH,   C_THREADS,  C_RANKS};
static double label_value(const scale_row *r, int axis) {
    if (axis == AX_SAMPLES && is_weak(r)) return r->num[C_SAMPLES] / r->num[C_RANKS];
    if (axis == AX_BATCH && is_weak(r)) return r->num[C_BATCH_PER_RANK];
    if (axis == AX_THREADS) return r->num[C_THREADS_OPTION];
    return r->num[AXIS_COL[axis]];
}

/* Which axes vary among the measured rows (labels name them), and whether
 * the rows mix strong and weak scaling. */
typedef struct varying {
    int axis[N_AXES];
    int scaling, backend;
} varying;

static varying find_varying(const scale_rows *rs) {
    varying v = {{0}, 0, 0};
    const scale_row *first = NULL;
    for (size_t i = 0; i < rs->n; i++) {
        const scale_row *r = &rs->v[i];
        if (!is_kind(r, "measured")) continue;
        if (!first) {
            first = r;
            continue;
        }
        for (int a = 0; a < N_AXES; a++) v.axis[a] |= label_value(r, a) != label_value(first, a);
        v.scaling |= strcmp(scale_row_text(r, C_SCALING), scale_row_text(first, C_SCALING)) != 0;
        v.backend |= strcmp(scale_row_text(r, C_BACKEND), scale_row_text(first, C_BACKEND)) != 0;
    }
    return v;
}

/* Label of a series: backend and every varying setting except `axis`. */
static void series_label(const varying *v, const scale_row *r, int axis, char *buf, size_t len) {
    size_t used = (size_t)snprintf(buf, len, "%s", scale_row_text(r, C_BACKEND));
    if (v->scaling && used < len)
        used += (size_t)snprintf(buf + used, len - used, " %s", scale_row_text(r, C_SCALING));
    for (int a = 0; a < N_AXES && used < len; a++)
        if (a != axis && v->axis[a])
            used += (size_t)snprintf(buf + used, len - used, " %s=%.0f", SCALE_AXIS_NAMES[a],
                                     label_value(r, a));
    if (is_kind(r, "projected") && used < len)
        snprintf(buf + used, len - used, " projected (%g Gbit/s, %g us)", r->num[C_LINK_GBIT],
                 r->num[C_LINK_US]);
}

#define MAX_SERIES 24

/* The series of `label` in series[0..*ns), added when new (dashed when
 * projected); NULL when there is no room. */
static chart_series *series_for(chart_series *series, size_t *ns, size_t max, const char *label,
                                int dashed) {
    size_t s = 0;
    while (s < *ns && strcmp(series[s].label, label) != 0) s++;
    if (s < *ns) return &series[s];
    if (*ns == max) return NULL;
    memset(&series[s], 0, sizeof series[s]);
    snprintf(series[s].label, sizeof series[s].label, "%s", label);
    series[s].dashed = dashed;
    ++*ns;
    return &series[s];
}

/* Sort a series by x and replace the points of one x (rows of the same
 * setting from several sweeps, --append) by their median. */
static void merge_repeats(chart_series *se) {
    chart_sort_series(se);
    size_t k = 0;
    for (size_t i = 0; i < se->n;) {
        size_t j = i;
        while (j < se->n && se->x[j] == se->x[i]) j++;
        const size_t m = j - i < SCALE_MAX_REPEATS ? j - i : SCALE_MAX_REPEATS;
        double mn, mx;
        se->x[k] = se->x[i];
        scale_stats(se->y + i, (int)m, &se->y[k], &mn, &mx); /* copies before it sorts */
        k++;
        i = j;
    }
    se->n = k;
}

static void add_point(chart_series *se, double x, double y) {
    if (se && se->n < CHART_MAX_POINTS) se->x[se->n] = x, se->y[se->n] = y, se->n++;
}

/* Group the ok rows into series along `axis`, y from column `ycol` (the
 * median of rows repeated at one x); a projected series takes the colour of
 * the measured one it continues and starts from that series' base row (the
 * fewest ranks). Returns the count. */
static size_t collect(const scale_rows *rs, const varying *v, int axis, scale_col ycol,
                      chart_series *series, size_t max) {
    size_t ns = 0;
    for (size_t i = 0; i < rs->n; i++) {
        const scale_row *r = &rs->v[i];
        if (!is_ok(r) || !isfinite(r->num[ycol])) continue;
        char label[160];
        series_label(v, r, axis, label, sizeof label);
        const int projected = is_kind(r, "projected");
        chart_series *se = series_for(series, &ns, max, label, projected);
        if (projected && se && se->n == 0) { /* anchor it on the measured base */
            const scale_row *base = NULL;
            for (size_t j = 0; j < rs->n; j++) {
                const scale_row *b = &rs->v[j];
                if (is_kind(b, "measured") && is_ok(b) && isfinite(b->num[ycol]) &&
                    scale_rows_same_series(b, r) && (!base || b->num[C_RANKS] < base->num[C_RANKS]))
                    base = b;
            }
            if (base) add_point(se, base->num[AXIS_COL[axis]], base->num[ycol]);
        }
        add_point(se, r->num[AXIS_COL[axis]], r->num[ycol]);
    }
    for (size_t s = 0; s < ns; s++) { /* colours: a projection shares its measured series' */
        merge_repeats(&series[s]);
        series[s].colour = (int)s + 1;
    }
    for (size_t s = 0; s < ns; s++) {
        const char *cut = series[s].dashed ? strstr(series[s].label, " projected (") : NULL;
        if (!cut) continue;
        const size_t len = (size_t)(cut - series[s].label);
        for (size_t m = 0; m < ns; m++)
            if (!series[m].dashed && strlen(series[m].label) == len &&
                strncmp(series[m].label, series[s].label, len) == 0)
                series[s].colour = series[m].colour;
    }
    return ns;
}

/* Each series divided by its value at the fewest threads. */
static void to_speedup(chart_series *series, size_t ns) {
    for (size_t s = 0; s < ns; s++) {
        double base = NAN, xmin = INFINITY;
        for (size_t i = 0; i < series[s].n; i++)
            if (series[s].x[i] < xmin) xmin = series[s].x[i], base = series[s].y[i];
        for (size_t i = 0; i < series[s].n; i++) series[s].y[i] /= base;
    }
}

static void draw(const scale_options *o, const char *name, const chart *c, FILE *log) {
    char path[4096];
    if (scale_files_path(o, name, path, sizeof path) == 0 && chart_write_svg(path, c) == 0)
        fprintf(log, "chart: %s\n", path);
    else
        cli_warn("cannot write %s/%s", o->out_dir, name);
}

/* Only the measured rows (the axis charts other than ranks). */
static void measured_only(const scale_rows *rs, scale_rows *out) {
    out->n = 0;
    for (size_t i = 0; i < rs->n; i++)
        if (is_kind(&rs->v[i], "measured")) out->v[out->n++] = rs->v[i];
}

void scale_write_charts(const scale_options *o, const scale_rows *rs, FILE *log) {
    static chart_series series[MAX_SERIES];
    const varying v = find_varying(rs);
    const char *kind = scale_row_text(&rs->v[0], C_DATASET);
    char title[256], name[64];
    if (rs->n == 0) return;
    scale_rows measured = {0, rs->n, malloc(rs->n * sizeof *rs->v)};
    if (!measured.v) return;
    measured_only(rs, &measured);
    for (int axis = 0; axis < AX_RANKS; axis++) {
        if (!v.axis[axis]) continue;
        const char *x = SCALE_AXIS_NAMES[axis];
        size_t ns = collect(&measured, &v, axis, C_SPS_MEDIAN, series, MAX_SERIES);
        snprintf(title, sizeof title, "Training throughput against %s (%s)", x, kind);
        snprintf(name, sizeof name, "throughput_vs_%s.svg", x);
        draw(o, name, &(chart){title, x, "samples/s", series, ns, 0}, log);
        if (axis != AX_THREADS) continue;
        to_speedup(series, ns);
        snprintf(title, sizeof title, "Speedup against threads (%s)", kind);
        draw(o, "speedup_vs_threads.svg",
             &(chart){title, x, "speedup over the fewest threads", series, ns, CHART_IDEAL_LINEAR},
             log);
    }
    free(measured.v);
    int projected = 0;
    for (size_t i = 0; i < rs->n; i++) projected |= is_kind(&rs->v[i], "projected");
    if (!v.axis[AX_RANKS] && !projected) return;
    const int weak = is_weak(&rs->v[0]) && !v.scaling;
    size_t ns = collect(rs, &v, AX_RANKS, C_SPEEDUP, series, MAX_SERIES);
    snprintf(title, sizeof title, "%s against MPI ranks (%s)",
             weak ? "Scaled speedup (weak scaling)" : "Speedup", kind);
    draw(o, "speedup_vs_ranks.svg",
         &(chart){title, "ranks", "speedup over the fewest ranks", series, ns, CHART_IDEAL_LINEAR},
         log);
    ns = collect(rs, &v, AX_RANKS, C_EFFICIENCY, series, MAX_SERIES);
    snprintf(title, sizeof title, "%s efficiency against MPI ranks (%s)", weak ? "Weak" : "Parallel",
             kind);
    draw(o, "efficiency_vs_ranks.svg",
         &(chart){title, "ranks", "efficiency", series, ns, CHART_IDEAL_ONE}, log);
    ns = collect(rs, &v, AX_RANKS, C_COMM_FRACTION, series, MAX_SERIES);
    snprintf(title, sizeof title, "Time waiting in all-reduces against MPI ranks (%s)", kind);
    draw(o, "comm_fraction_vs_ranks.svg",
         &(chart){title, "ranks", "share of the step time waiting", series, ns, 0}, log);
}
