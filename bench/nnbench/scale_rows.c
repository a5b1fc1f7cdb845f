/* scale_rows.c — the rows `nnbench scale` reports: one schema of columns
 * for scale.csv and scale.json (a JSON object per CSV line, the same keys),
 * rows built from measured points, read back from an earlier scale.csv
 * (--append), and the speedup and efficiency of each row against the base of
 * its series (its fewest ranks). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "out/json.h"
#include "scale.h"

typedef struct col_def {
    const char *name;
    int text;        /* 1: text, else number */
    const char *fmt; /* numbers: printf format in the CSV */
} col_def;

static const col_def COLS[N_COLS] = {
    [C_KIND] = {"kind", 1, NULL},               /* measured | projected */
    [C_SCALING] = {"scaling", 1, NULL},         /* strong | weak */
    [C_BACKEND] = {"backend", 1, NULL},
    [C_DEVICE] = {"device", 1, NULL},
    [C_RANKS] = {"ranks", 0, "%.0f"},
    [C_THREADS] = {"threads", 0, "%.0f"},      /* per rank, as run */
    [C_THREADS_OPTION] = {"threads_option", 0, "%.0f"}, /* --threads: 0 = the cores, shared */
    [C_SAMPLES] = {"samples", 0, "%.0f"},      /* global */
    [C_FEATURES] = {"features", 0, "%.0f"},
    [C_HIDDEN] = {"hidden", 0, "%.0f"},
    [C_DEPTH] = {"depth", 0, "%.0f"},
    [C_BATCH] = {"batch", 0, "%.0f"},          /* global */
    [C_BATCH_PER_RANK] = {"batch_per_rank", 0, "%.0f"}, /* the largest slice */
    [C_CLASSES] = {"classes", 0, "%.0f"},
    [C_DATASET] = {"dataset", 1, NULL},
    [C_EPOCHS] = {"epochs", 0, "%.0f"},
    [C_OPTIMIZER] = {"optimizer", 1, NULL},
    [C_LR] = {"lr", 0, "%.9g"},
    [C_REPEATS] = {"repeats", 0, "%.0f"},
    [C_SECONDS_MEDIAN] = {"seconds_median", 0, "%.6g"},
    [C_SECONDS_MIN] = {"seconds_min", 0, "%.6g"},
    [C_SECONDS_MAX] = {"seconds_max", 0, "%.6g"},
    [C_SPS_MEDIAN] = {"samples_per_second_median", 0, "%.6g"},
    [C_SPS_MIN] = {"samples_per_second_min", 0, "%.6g"},
    [C_SPS_MAX] = {"samples_per_second_max", 0, "%.6g"},
    [C_GFLOPS_MEDIAN] = {"gflops_median", 0, "%.4g"},
    [C_STEPS] = {"steps", 0, "%.0f"},                       /* optimizer steps per run */
    [C_STEP_SECONDS] = {"step_seconds", 0, "%.6g"},         /* median run / steps */
    [C_COMPUTE_SECONDS] = {"compute_seconds_per_step", 0, "%.6g"},
    [C_COMM_SECONDS] = {"comm_seconds_per_step", 0, "%.6g"}, /* waiting in all-reduces */
    [C_COMM_FRACTION] = {"comm_fraction", 0, "%.4g"},       /* comm / step */
    [C_OVERLAP_SECONDS] = {"overlap_seconds_per_step", 0, "%.6g"},
    [C_ALLREDUCES] = {"allreduces_per_step", 0, "%.4g"},
    [C_COMM_BYTES] = {"comm_bytes_per_step", 0, "%.0f"},
    [C_SPEEDUP] = {"speedup", 0, "%.4g"},
    [C_EFFICIENCY] = {"efficiency", 0, "%.4g"},
    [C_LINK_GBIT] = {"link_gbit_per_s", 0, "%.6g"},         /* projected rows */
    [C_LINK_US] = {"link_latency_us", 0, "%.6g"},
    [C_OVERSUBSCRIBED] = {"oversubscribed", 0, "%.0f"},
    [C_RANKS_PER_NODE] = {"ranks_per_node", 0, "%.0f"}, /* the most ranks on one machine */
    [C_PEAK_RSS] = {"peak_rss_mb", 0, "%.1f"},
    [C_FINAL_LOSS] = {"final_loss", 0, "%.6g"},
    [C_TEST_ACCURACY] = {"test_accuracy", 0, "%.6g"},
    [C_TEST_SAMPLES] = {"test_samples", 0, "%.0f"},
    [C_STATUS] = {"status", 1, NULL},
};

const char *scale_col_name(scale_col c) { return COLS[c].name; }
int scale_col_is_text(scale_col c) { return COLS[c].text; }

scale_row *scale_rows_add(scale_rows *rs) {
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? 2 * rs->cap : 16;
        scale_row *v = realloc(rs->v, cap * sizeof *v);
        if (!v) return NULL;
        rs->v = v, rs->cap = cap;
    }
    scale_row *r = &rs->v[rs->n++];
    for (int c = 0; c < N_COLS; c++) r->num[c] = NAN, r->text[c] = NULL;
    return r;
}

static void row_free(scale_row *r) {
    for (int c = 0; c < N_COLS; c++) free(r->text[c]);
}

void scale_rows_free(scale_rows *rs) {
    for (size_t i = 0; i < rs->n; i++) row_free(&rs->v[i]);
    free(rs->v);
    memset(rs, 0, sizeof *rs);
}

void scale_row_set_text(scale_row *r, scale_col c, const char *s) {
    free(r->text[c]);
    r->text[c] = s ? strdup(s) : NULL;
    for (char *p = r->text[c]; p && *p; p++)
        if (*p == ',' || *p == '"' || *p == '\n' || *p == '\r') *p = ' ';
}

const char *scale_row_text(const scale_row *r, scale_col c) {
    return r->text[c] ? r->text[c] : "";
}

/* ------------------------------------------------------------ from points */

void scale_row_from_point(const scale_options *o, const point *pt, scale_row *r) {
    const uint64_t ranks = pt->p[AX_RANKS], batch = scale_batch(o, pt);
    scale_row_set_text(r, C_KIND, "measured");
    scale_row_set_text(r, C_SCALING, o->weak ? "weak" : "strong");
    scale_row_set_text(r, C_BACKEND, pt->ran_backend[0] ? pt->ran_backend : pt->backend);
    scale_row_set_text(r, C_DEVICE, pt->device);
    r->num[C_RANKS] = (double)ranks;
    r->num[C_THREADS] = pt->ok ? pt->threads_used : scale_threads_per_rank(pt);
    r->num[C_THREADS_OPTION] = (double)pt->p[AX_THREADS];
    r->num[C_SAMPLES] = (double)scale_samples(o, pt);
    r->num[C_FEATURES] = (double)pt->p[AX_FEATURES];
    r->num[C_HIDDEN] = (double)pt->p[AX_HIDDEN];
    r->num[C_DEPTH] = (double)pt->p[AX_DEPTH];
    r->num[C_BATCH] = (double)batch;
    r->num[C_BATCH_PER_RANK] = (double)((batch + ranks - 1) / ranks);
    r->num[C_CLASSES] = (double)o->spec.classes;
    scale_row_set_text(r, C_DATASET, nn_data_kind_name(o->spec.kind));
    r->num[C_EPOCHS] = o->epochs;
    scale_row_set_text(r, C_OPTIMIZER, nn_optimizer_name(o->optimizer));
    r->num[C_LR] = o->lr;
    r->num[C_REPEATS] = o->repeats;
    r->num[C_OVERSUBSCRIBED] = pt->oversubscribed;
    r->num[C_RANKS_PER_NODE] = pt->ok ? pt->ranks_per_node : NAN;
    r->num[C_PEAK_RSS] = pt->peak_rss_mb;
    scale_row_set_text(r, C_STATUS, pt->ok ? "ok" : pt->error);
    if (!pt->ok) return;
    double comm, mn, mx, overlap;
    scale_stats(pt->sec, o->repeats, &r->num[C_SECONDS_MEDIAN], &r->num[C_SECONDS_MIN],
                &r->num[C_SECONDS_MAX]);
    scale_stats(pt->sps, o->repeats, &r->num[C_SPS_MEDIAN], &r->num[C_SPS_MIN],
                &r->num[C_SPS_MAX]);
    scale_stats(pt->comm, o->repeats, &comm, &mn, &mx);
    scale_stats(pt->overlap, o->repeats, &overlap, &mn, &mx);
    const double steps = (double)pt->steps;
    r->num[C_GFLOPS_MEDIAN] = r->num[C_SPS_MEDIAN] * pt->flops_per_sample / 1e9;
    r->num[C_STEPS] = steps;
    if (steps > 0) {
        r->num[C_STEP_SECONDS] = r->num[C_SECONDS_MEDIAN] / steps;
        r->num[C_COMM_SECONDS] = comm / steps;
        r->num[C_COMPUTE_SECONDS] = r->num[C_STEP_SECONDS] - r->num[C_COMM_SECONDS];
        r->num[C_OVERLAP_SECONDS] = overlap / steps;
        r->num[C_COMM_FRACTION] = r->num[C_COMM_SECONDS] / r->num[C_STEP_SECONDS];
    }
    r->num[C_ALLREDUCES] = pt->allreduces_per_step;
    r->num[C_COMM_BYTES] = pt->comm_bytes_per_step;
    r->num[C_FINAL_LOSS] = pt->final_loss;
    r->num[C_TEST_ACCURACY] = pt->test_accuracy >= 0 ? pt->test_accuracy : NAN;
    r->num[C_TEST_SAMPLES] = (double)pt->test_rows;
}

void scale_rows_drop_projected(scale_rows *rs) {
    size_t k = 0;
    for (size_t i = 0; i < rs->n; i++) {
        if (strcmp(scale_row_text(&rs->v[i], C_KIND), "projected") == 0) row_free(&rs->v[i]);
        else rs->v[k++] = rs->v[i];
    }
    rs->n = k;
}

/* ---------------------------------------------------------------- series */

/* The settings that name a series along the ranks: every setting but the
 * ranks (and the results); under weak scaling per-rank samples and batch. */
static const scale_col SERIES_TEXT[] = {C_SCALING, C_BACKEND, C_DEVICE, C_DATASET, C_OPTIMIZER};
static const scale_col SERIES_NUM[] = {C_THREADS_OPTION, C_FEATURES, C_HIDDEN, C_DEPTH,
                                       C_CLASSES,        C_EPOCHS,   C_LR};

int scale_rows_same_series(const scale_row *a, const scale_row *b) {
    for (size_t i = 0; i < sizeof SERIES_TEXT / sizeof SERIES_TEXT[0]; i++)
        if (strcmp(scale_row_text(a, SERIES_TEXT[i]), scale_row_text(b, SERIES_TEXT[i])) != 0)
            return 0;
    for (size_t i = 0; i < sizeof SERIES_NUM / sizeof SERIES_NUM[0]; i++)
        if (a->num[SERIES_NUM[i]] != b->num[SERIES_NUM[i]]) return 0;
    if (strcmp(scale_row_text(a, C_SCALING), "weak") == 0)
        return a->num[C_SAMPLES] / a->num[C_RANKS] == b->num[C_SAMPLES] / b->num[C_RANKS] &&
               a->num[C_BATCH_PER_RANK] == b->num[C_BATCH_PER_RANK];
    return a->num[C_SAMPLES] == b->num[C_SAMPLES] && a->num[C_BATCH] == b->num[C_BATCH];
}

static int is_ok_measured(const scale_row *r) {
    return strcmp(scale_row_text(r, C_KIND), "measured") == 0 &&
           strcmp(scale_row_text(r, C_STATUS), "ok") == 0 && r->num[C_SPS_MEDIAN] > 0;
}

void scale_rows_derive(scale_rows *rs) {
    for (size_t i = 0; i < rs->n; i++) {
        scale_row *r = &rs->v[i];
        if (strcmp(scale_row_text(r, C_KIND), "measured") != 0) continue;
        r->num[C_SPEEDUP] = r->num[C_EFFICIENCY] = NAN;
        if (!is_ok_measured(r)) continue;
        const scale_row *base = NULL;
        for (size_t j = 0; j < rs->n; j++) {
            const scale_row *b = &rs->v[j];
            if (is_ok_measured(b) && scale_rows_same_series(r, b) &&
                (!base || b->num[C_RANKS] < base->num[C_RANKS]))
                base = b;
        }
        /* throughput ratio: for a fixed global batch it is the speedup; for a
         * fixed per-rank batch the scaled speedup; efficiency per rank added */
        r->num[C_SPEEDUP] = r->num[C_SPS_MEDIAN] / base->num[C_SPS_MEDIAN];
        r->num[C_EFFICIENCY] = r->num[C_SPEEDUP] * base->num[C_RANKS] / r->num[C_RANKS];
    }
}

/* ----------------------------------------------------------- CSV and JSON */

void scale_rows_write_csv(FILE *f, const scale_rows *rs) {
    for (int c = 0; c < N_COLS; c++) fprintf(f, "%s%s", c ? "," : "", COLS[c].name);
    fputc('\n', f);
    for (size_t i = 0; i < rs->n; i++) {
        const scale_row *r = &rs->v[i];
        for (int c = 0; c < N_COLS; c++) {
            if (c) fputc(',', f);
            if (COLS[c].text) fputs(scale_row_text(r, c), f);
            else if (isfinite(r->num[c])) fprintf(f, COLS[c].fmt, r->num[c]);
        }
        fputc('\n', f);
    }
}

void scale_rows_write_json(FILE *f, const scale_rows *rs) {
    json_writer w = json_writer_on(f);
    fputc('[', f);
    w.depth = 1;
    for (size_t i = 0; i < rs->n; i++) {
        const scale_row *r = &rs->v[i];
        json_begin_object(&w);
        for (int c = 0; c < N_COLS; c++) {
            if (COLS[c].text) json_key_string(&w, COLS[c].name, r->text[c]);
            else json_key_number(&w, COLS[c].name, r->num[c]);
        }
        json_end_object(&w);
    }
    fputs("\n]\n", f);
}

/* The cells of one CSV line (modified in place) into cells[0..N_COLS);
 * returns how many there were. */
static int split_line(char *line, char **cells) {
    int n = 0;
    for (char *p = line;; p++) {
        if (n < N_COLS) cells[n] = p;
        n++;
        p += strcspn(p, ",");
        if (*p == '\0') break;
        *p = '\0';
    }
    return n;
}

int scale_rows_read_csv(const char *path, scale_rows *rs) {
    FILE *f = fopen(path, "r");
    if (!f) return cli_usage_error("--append: cannot read '%s': %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0;
    int rc = EXIT_OK;
    char header[2048] = "";
    for (int c = 0; c < N_COLS; c++)
        snprintf(header + strlen(header), sizeof header - strlen(header), "%s%s", c ? "," : "",
                 COLS[c].name);
    while (rc == EXIT_OK && (len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        if (lineno == 1) {
            if (strcmp(line, header) != 0)
                rc = cli_usage_error("--append: '%s' has other columns than this nnbench writes "
                                     "(an older sweep?); use --force to replace it or another "
                                     "--out", path);
            continue;
        }
        if (len == 0) continue;
        char *cells[N_COLS];
        int n = split_line(line, cells);
        scale_row *r = n == N_COLS ? scale_rows_add(rs) : NULL;
        if (!r) {
            rc = cli_usage_error("--append: %s line %ld: %d fields, expected %d", path, lineno, n,
                                 N_COLS);
            break;
        }
        for (int c = 0; c < N_COLS; c++) {
            if (COLS[c].text) {
                scale_row_set_text(r, c, cells[c]);
                continue;
            }
            char *end;
            r->num[c] = cells[c][0] ? strtod(cells[c], &end) : NAN;
            if (cells[c][0] && *end != '\0') {
                rc = cli_usage_error("--append: %s line %ld: %s is not a number: '%s'", path,
                                     lineno, COLS[c].name, cells[c]);
                break;
            }
        }
    }
    if (rc == EXIT_OK && lineno == 0)
        rc = cli_usage_error("--append: '%s' is empty; use --force to replace it", path);
    free(line);
    fclose(f);
    return rc;
}
