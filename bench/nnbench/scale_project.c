/* scale_project.c — step time and efficiency past the measured ranks, from
 * each series' measured rows and a ring all-reduce model of the link
 * (--link). For P ranks:
 *   compute c(P) = u + r * rows(P): rows(P) the largest slice of the global
 *       batch; u (per-step work that does not shrink with the slice: the
 *       update of every parameter, launches) and r (per row) fitted by least
 *       squares to the measured compute_seconds_per_step of the series'
 *       points whose ranks each had a machine to themselves (one rank, or one
 *       rank per node), as projected ranks will; c proportional to the rows
 *       when only one slice size was measured;
 *   gradient sums  g(P) = 2 (P-1)/P * 4 n_params / bandwidth
 *                         + L * 2 (P-1) * latency      (L all-reduces, one per layer);
 *   overlap  h(P) = c(P) * (overlap / compute) of the series' largest measured
 *       rank count (the backward pass that runs after the first gradient sum
 *       started; 0 when no multi-rank point was measured);
 *   small sums  s(P) = n_small * 2 ceil(log2 P) * latency (the per-step
 *       agreements on success: 8-byte all-reduces, recursive doubling);
 *   step  T(P) = c(P) + max(0, g(P) - h(P)) + s(P).
 * Speedup is T(R0)/T(P) for strong scaling and (P/R0) T(R0)/T(P) for weak
 * (R0: the series' fewest measured ranks), efficiency speedup * R0 / P. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "scale.h"

double scale_ring_allreduce_seconds(double bytes, double ranks, const scale_link *l) {
    const double bw = l->gbit_per_s * 1e9 / 8.0, lat = l->latency_us * 1e-6;
    return 2.0 * (ranks - 1.0) / ranks * bytes / bw + 2.0 * (ranks - 1.0) * lat;
}

/* What the model needs of a series. */
typedef struct series_model {
    const scale_row *base;     /* the fewest ranks */
    double u, r;               /* compute per step = u + r * rows per rank */
    double overlap_ratio;      /* overlap window / compute, at the largest measured ranks */
    double n_params, layers, n_small;
} series_model;

static int ok_measured(const scale_row *r) {
    return strcmp(scale_row_text(r, C_KIND), "measured") == 0 &&
           strcmp(scale_row_text(r, C_STATUS), "ok") == 0 && r->num[C_STEP_SECONDS] > 0;
}

/* A measured row the model may learn compute from: its ranks each had a
 * machine to themselves (one rank, or ranks on separate nodes), as the
 * projected ranks will; ranks that share a machine share its cores, caches
 * and memory bandwidth and compute slower than alone. */
static int alone(const scale_row *r) {
    return ok_measured(r) && !(r->num[C_OVERSUBSCRIBED] > 0) &&
           (r->num[C_RANKS] == 1 || r->num[C_RANKS_PER_NODE] == 1);
}

/* A row the overlap ratio may come from: not oversubscribed. */
static int fits_model(const scale_row *r) {
    return ok_measured(r) && !(r->num[C_OVERSUBSCRIBED] > 0);
}

/* Fit compute = u + r * x over the series' rows (x: rows per rank). */
static void fit_compute(const scale_rows *rs, const scale_row *base, series_model *m) {
    double n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0, xmin = INFINITY, xmax = -INFINITY;
    for (size_t i = 0; i < rs->n; i++) {
        const scale_row *r = &rs->v[i];
        if (!alone(r) || !scale_rows_same_series(r, base)) continue;
        const double x = r->num[C_BATCH_PER_RANK], y = r->num[C_COMPUTE_SECONDS];
        n++, sx += x, sy += y, sxx += x * x, sxy += x * y;
        xmin = fmin(xmin, x), xmax = fmax(xmax, x);
    }
    if (xmax > xmin) {
        const double d = n * sxx - sx * sx;
        m->r = (n * sxy - sx * sy) / d;
        m->u = (sy - m->r * sx) / n;
        if (m->u < 0) m->u = 0, m->r = sxy / sxx;
        if (m->r < 0) m->r = 0, m->u = sy / n;
    } else if (n > 0) { /* one slice size: proportional */
        m->u = 0;
        m->r = sy / sx;
    } else { /* no rank alone on a machine: the base's, proportional */
        m->u = 0;
        m->r = base->num[C_COMPUTE_SECONDS] / base->num[C_BATCH_PER_RANK];
    }
}

static series_model model_of(const scale_rows *rs, const scale_row *base) {
    series_model m = {.base = base, .n_small = 2};
    fit_compute(rs, base, &m);
    const double f = base->num[C_FEATURES], h = base->num[C_HIDDEN], d = base->num[C_DEPTH];
    const double k = base->num[C_CLASSES], out = k == 2 ? 1 : k;
    m.layers = d + 1;
    m.n_params = (f + 1) * h + (d - 1) * (h + 1) * h + (h + 1) * out;
    const scale_row *top = NULL; /* the largest measured multi-rank point */
    for (size_t i = 0; i < rs->n; i++) {
        const scale_row *r = &rs->v[i];
        if (fits_model(r) && scale_rows_same_series(r, base) && r->num[C_RANKS] > 1 &&
            (!top || r->num[C_RANKS] > top->num[C_RANKS]))
            top = r;
    }
    if (top && top->num[C_COMPUTE_SECONDS] > 0 && isfinite(top->num[C_OVERLAP_SECONDS]))
        m.overlap_ratio = top->num[C_OVERLAP_SECONDS] / top->num[C_COMPUTE_SECONDS];
    if (top && isfinite(top->num[C_ALLREDUCES]) && top->num[C_ALLREDUCES] >= m.layers)
        m.n_small = top->num[C_ALLREDUCES] - m.layers;
    return m;
}

/* The projected row of series m at P ranks. */
static void project_row(const scale_options *o, const series_model *m, double P, scale_row *r) {
    const scale_row *b = m->base;
    for (int c = 0; c < N_COLS; c++) { /* the series' settings */
        if (scale_col_is_text(c)) scale_row_set_text(r, c, b->text[c]);
        else r->num[c] = b->num[c];
    }
    const int weak = strcmp(scale_row_text(b, C_SCALING), "weak") == 0;
    const double R0 = b->num[C_RANKS];
    for (int c = C_SECONDS_MEDIAN; c < N_COLS; c++)
        if (!scale_col_is_text(c)) r->num[c] = NAN;
    scale_row_set_text(r, C_KIND, "projected");
    scale_row_set_text(r, C_STATUS, "ok");
    r->num[C_RANKS] = P;
    r->num[C_REPEATS] = NAN;
    if (weak) {
        r->num[C_SAMPLES] = b->num[C_SAMPLES] / R0 * P;
        r->num[C_BATCH] = b->num[C_BATCH_PER_RANK] * P;
    }
    const double rows = ceil(r->num[C_BATCH] / P);
    r->num[C_BATCH_PER_RANK] = rows;
    const double lat = o->link.latency_us * 1e-6;
    const double compute = m->u + m->r * rows;
    const double grads = scale_ring_allreduce_seconds(4.0 * m->n_params, P, &o->link) +
                         (m->layers - 1) * 2.0 * (P - 1) * lat;
    const double small = m->n_small * 2.0 * ceil(log2(P)) * lat;
    const double hidden = fmin(grads, compute * m->overlap_ratio);
    const double comm = grads - hidden + small, step = compute + comm;
    const double T0 = b->num[C_STEP_SECONDS];
    r->num[C_STEPS] = b->num[C_STEPS];
    r->num[C_STEP_SECONDS] = step;
    r->num[C_COMPUTE_SECONDS] = compute;
    r->num[C_COMM_SECONDS] = comm;
    r->num[C_OVERLAP_SECONDS] = hidden;
    r->num[C_COMM_FRACTION] = comm / step;
    r->num[C_ALLREDUCES] = m->layers + m->n_small;
    r->num[C_COMM_BYTES] = 4.0 * m->n_params + 8.0;
    r->num[C_SECONDS_MEDIAN] = step * b->num[C_STEPS];
    r->num[C_SPEEDUP] = (weak ? P / R0 : 1.0) * T0 / step;
    r->num[C_SPS_MEDIAN] = b->num[C_SPS_MEDIAN] * r->num[C_SPEEDUP];
    r->num[C_GFLOPS_MEDIAN] = b->num[C_GFLOPS_MEDIAN] * r->num[C_SPEEDUP];
    r->num[C_EFFICIENCY] = r->num[C_SPEEDUP] * R0 / P;
    r->num[C_LINK_GBIT] = o->link.gbit_per_s;
    r->num[C_LINK_US] = o->link.latency_us;
}

/* Add v to list l (kept sorted, unique). */
static void add_count(opt_list *l, uint64_t v) {
    size_t i = 0;
    while (i < l->n && l->v[i] < v) i++;
    if ((i < l->n && l->v[i] == v) || l->n == OPT_LIST_MAX) return;
    memmove(&l->v[i + 1], &l->v[i], (l->n - i) * sizeof l->v[0]);
    l->v[i] = v;
    l->n++;
}

void scale_project(const scale_options *o, scale_rows *rs) {
    scale_rows_drop_projected(rs);
    if (o->project.n == 0) return;
    const size_t measured = rs->n;
    for (size_t i = 0; i < measured; i++) {
        const scale_row *b = &rs->v[i];
        if (!ok_measured(b)) continue;
        int is_base = 1; /* the first row with the fewest ranks of its series */
        for (size_t j = 0; j < measured && is_base; j++)
            if (j != i && ok_measured(&rs->v[j]) && scale_rows_same_series(&rs->v[j], b) &&
                (rs->v[j].num[C_RANKS] < b->num[C_RANKS] ||
                 (rs->v[j].num[C_RANKS] == b->num[C_RANKS] && j < i)))
                is_base = 0;
        if (!is_base) continue;
        opt_list at = o->project; /* and the measured rank counts, to compare */
        for (size_t j = 0; j < measured; j++)
            if (ok_measured(&rs->v[j]) && scale_rows_same_series(&rs->v[j], b) &&
                rs->v[j].num[C_RANKS] > b->num[C_RANKS])
                add_count(&at, (uint64_t)rs->v[j].num[C_RANKS]);
        const int weak = strcmp(scale_row_text(b, C_SCALING), "weak") == 0;
        for (size_t k = 0; k < at.n; k++) {
            const double P = (double)at.v[k];
            if (P <= b->num[C_RANKS]) continue;
            if (!weak && P > b->num[C_BATCH]) {
                cli_warn("--project-ranks %llu: more ranks than the global batch of %.0f rows; "
                         "not projected", (unsigned long long)at.v[k], b->num[C_BATCH]);
                continue;
            }
            series_model m = model_of(rs, &rs->v[i]);
            scale_row *r = scale_rows_add(rs);
            if (!r) return;
            b = &rs->v[i]; /* the rows may have moved */
            m.base = b;
            project_row(o, &m, P, r);
        }
    }
}
