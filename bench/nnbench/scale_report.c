/* scale_report.c — what `nnbench scale` writes: the table on stdout,
 * scale.csv and scale.json (rewritten after every point), and the charts. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "out/chart.h"
#include "scale.h"

const char *const SCALE_AXIS_NAMES[N_AXES] = {"samples", "features", "hidden",
                                              "depth",   "batch",    "threads"};

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

void scale_stats(const double *v, int n, double *med, double *mn, double *mx) {
    double s[SCALE_MAX_REPEATS];
    memcpy(s, v, (size_t)n * sizeof(double));
    qsort(s, (size_t)n, sizeof(double), cmp_double);
    *mn = s[0];
    *mx = s[n - 1];
    *med = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

/* Median, min, max of the seconds (sec) and samples/s (sps) of a point; NaN when it failed. */
typedef struct point_stats {
    double sec[3], sps[3];
} point_stats;
static point_stats stats_of(const scale_options *o, const point *pt) {
    point_stats s = {{NAN, NAN, NAN}, {NAN, NAN, NAN}};
    if (pt->ok) {
        scale_stats(pt->sec, o->repeats, &s.sec[0], &s.sec[1], &s.sec[2]);
        scale_stats(pt->sps, o->repeats, &s.sps[0], &s.sps[1], &s.sps[2]);
    }
    return s;
}

/* The backend a point ran on (or was asked for, when it did not run). */
static const char *backend_of(const point *pt) {
    return pt->ran_backend[0] ? pt->ran_backend : pt->backend;
}

/* ---------------------------------------------------------------- csv */

void scale_csv_header(FILE *f) {
    fputs("backend,device,threads,samples,features,hidden,depth,batch,classes,epochs,optimizer,lr,"
          "repeats,seconds_median,seconds_min,seconds_max,samples_per_second_median,"
          "samples_per_second_min,samples_per_second_max,gflops_median,peak_rss_mb,final_loss,"
          "test_accuracy,test_samples,status\n", f);
    fflush(f);
}

/* s with the characters in `bad` replaced by spaces, into buf. */
static const char *csv_clean(const char *s, const char *bad, char *buf, size_t len) {
    snprintf(buf, len, "%s", s);
    for (char *c = buf; *c; c++)
        if (strchr(bad, *c)) *c = ' ';
    return buf;
}

void scale_csv_row(FILE *f, const scale_options *o, const point *pt) {
    point_stats s = stats_of(o, pt);
    char status[300], device[128];
    csv_clean(pt->ok ? "ok" : pt->error, ",\"\n", status, sizeof status);
    csv_clean(pt->device, ",\"", device, sizeof device);
    fprintf(f, "%s,%s,%d,%llu,%llu,%llu,%llu,%llu,%zu,%d,%s,%g,%d,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,"
               "%.4g,%.1f,%.6g,%.6g,%llu,%s\n",
            backend_of(pt), device, pt->threads_used, (unsigned long long)pt->p[AX_SAMPLES],
            (unsigned long long)pt->p[AX_FEATURES], (unsigned long long)pt->p[AX_HIDDEN],
            (unsigned long long)pt->p[AX_DEPTH], (unsigned long long)pt->p[AX_BATCH],
            o->spec.classes, o->epochs, nn_optimizer_name(o->optimizer), o->lr, o->repeats,
            s.sec[0], s.sec[1], s.sec[2], s.sps[0], s.sps[1], s.sps[2],
            s.sps[0] * pt->flops_per_sample / 1e9, pt->peak_rss_mb, pt->final_loss,
            pt->test_accuracy, (unsigned long long)pt->test_rows, status);
    fflush(f);
}

/* ---------------------------------------------------------------- json */

static void json_point(json_writer *w, const scale_options *o, const point *pt) {
    point_stats s = stats_of(o, pt);
    json_begin_object(w);
    json_key_string(w, "backend", backend_of(pt));
    json_key_string(w, "device", pt->device);
    json_key_int(w, "threads", pt->threads_used);
    for (int a = AX_SAMPLES; a <= AX_BATCH; a++)
        json_key_int(w, SCALE_AXIS_NAMES[a], (long long)pt->p[a]);
    opt_json_echo(&SCALE_OPTIONS, w, o); /* dataset, classes, epochs, optimizer, lr, repeats */
    json_key_number(w, "seconds_median", s.sec[0]);
    json_key_number(w, "seconds_min", s.sec[1]);
    json_key_number(w, "seconds_max", s.sec[2]);
    json_key_number(w, "samples_per_second_median", s.sps[0]);
    json_key_number(w, "samples_per_second_min", s.sps[1]);
    json_key_number(w, "samples_per_second_max", s.sps[2]);
    json_key_number(w, "gflops_median", s.sps[0] * pt->flops_per_sample / 1e9);
    json_key_number(w, "peak_rss_mb", pt->peak_rss_mb);
    json_key_number(w, "final_loss", pt->ok ? pt->final_loss : NAN);
    json_key_number(w, "test_accuracy", pt->ok && pt->test_accuracy >= 0 ? pt->test_accuracy : NAN);
    json_key_int(w, "test_samples", (long long)pt->test_rows);
    json_key_string(w, "status", pt->ok ? "ok" : pt->error);
    json_end_object(w);
}

void scale_write_json(const char *path, const scale_options *o, const point *pts, size_t n) {
    FILE *f = fopen(path, "w");
    if (!f) {
        cli_warn("cannot write %s", path);
        return;
    }
    json_writer w = json_writer_on(f);
    fputc('[', f);
    w.depth = 1;
    for (size_t i = 0; i < n; i++) json_point(&w, o, &pts[i]);
    fputs("\n]\n", f);
    if (fclose(f) != 0) cli_warn("cannot write %s", path);
}

/* -------------------------------------------------------------- charts */

/* Label of a series: every varying parameter except `axis`. */
static void series_label(const scale_options *o, const point *pt, int axis, char *buf, size_t len) {
    size_t used = (size_t)snprintf(buf, len, "%s", backend_of(pt));
    for (int a = 0; a < N_AXES && used < len; a++)
        if (a != axis && o->ax[a].n > 1)
            used += (size_t)snprintf(buf + used, len - used, " %s=%llu", SCALE_AXIS_NAMES[a],
                                     (unsigned long long)pt->p[a]);
}

/* Group the finished points into series along `axis`; returns the number of series. */
static size_t collect_series(const scale_options *o, const point *pts, size_t n, int axis,
                             chart_series *series, size_t max_series) {
    size_t ns = 0;
    for (size_t i = 0; i < n; i++) {
        char label[128];
        series_label(o, &pts[i], axis, label, sizeof label);
        size_t s = 0;
        while (s < ns && strcmp(series[s].label, label) != 0) s++;
        if (s == ns) {
            if (ns == max_series) continue;
            memset(&series[ns], 0, sizeof series[ns]);
            snprintf(series[ns].label, sizeof series[ns].label, "%s", label);
            ns++;
        }
        chart_series *se = &series[s];
        if (se->n < CHART_MAX_POINTS && pts[i].ok) {
            se->x[se->n] = axis == AX_THREADS ? pts[i].threads_used : (double)pts[i].p[axis];
            se->y[se->n] = stats_of(o, &pts[i]).sps[0];
            se->n++;
        }
    }
    for (size_t s = 0; s < ns; s++) chart_sort_series(&series[s]);
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

/* One chart along `axis`: throughput, or speedup (threads only). */
static void write_chart(const scale_options *o, const point *pts, size_t n, int axis,
                        int speedup, FILE *log) {
    static chart_series series[64];
    char path[1024], title[256];
    const char *kind = nn_data_kind_name(o->spec.kind), *xlabel = SCALE_AXIS_NAMES[axis];
    size_t ns = collect_series(o, pts, n, axis, series, 64);
    if (speedup) {
        to_speedup(series, ns);
        snprintf(title, sizeof title, "Speedup against threads (%s)", kind);
        snprintf(path, sizeof path, "%s/speedup_vs_threads.svg", o->out_dir);
    } else {
        snprintf(title, sizeof title, "Training throughput against %s (%s)", xlabel, kind);
        snprintf(path, sizeof path, "%s/throughput_vs_%s.svg", o->out_dir, xlabel);
    }
    chart c = {title, xlabel, speedup ? "speedup over the fewest threads" : "samples/s", series,
               ns, speedup};
    if (chart_write_svg(path, &c) == 0) fprintf(log, "chart: %s\n", path);
    else cli_warn("cannot write %s", path);
}

void scale_write_charts(const scale_options *o, const point *pts, size_t n, FILE *log) {
    for (int axis = 0; axis < N_AXES; axis++) {
        if (o->ax[axis].n < 2) continue;
        write_chart(o, pts, n, axis, 0, log);
        if (axis == AX_THREADS) write_chart(o, pts, n, axis, 1, log);
    }
}

/* --------------------------------------------------------------- table */

void scale_print_header(void) {
    printf("%-7s %7s %10s %8s %6s %5s %6s %10s %12s %23s %8s %8s %8s %8s\n", "backend", "threads",
           "samples", "features", "hidden", "depth", "batch", "time_s", "samples/s",
           "[min - max]", "GFLOP/s", "peak_MB", "loss", "test_acc");
    fflush(stdout);
}

void scale_print_row(const scale_options *o, const point *pt) {
    unsigned long long p[N_AXES];
    for (int a = 0; a < N_AXES; a++) p[a] = pt->p[a];
    if (pt->ok) {
        point_stats s = stats_of(o, pt);
        printf("%-7s %7d %10llu %8llu %6llu %5llu %6llu %10.3f %12.0f [%10.0f - %10.0f] %8.2f "
               "%8.1f %8.4f %8.4f\n", pt->ran_backend, pt->threads_used, p[AX_SAMPLES],
               p[AX_FEATURES], p[AX_HIDDEN], p[AX_DEPTH], p[AX_BATCH], s.sec[0], s.sps[0],
               s.sps[1], s.sps[2], s.sps[0] * pt->flops_per_sample / 1e9, pt->peak_rss_mb,
               pt->final_loss, pt->test_accuracy);
    } else {
        printf("%-7s %7llu %10llu %8llu %6llu %5llu %6llu  FAILED: %s\n", pt->backend,
               p[AX_THREADS], p[AX_SAMPLES], p[AX_FEATURES], p[AX_HIDDEN], p[AX_DEPTH],
               p[AX_BATCH], pt->error);
    }
    fflush(stdout);
}
