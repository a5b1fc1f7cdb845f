/* cmd_gemm.c — `nnbench gemm`: GFLOP/s of each matrix-multiply implementation
 * (the cpu and opencl backends, OpenBLAS, CLBlast) over square sizes and the
 * shapes MLP training produces. Every result is verified before it is timed
 * (gemm_measure.c); a failed verification exits 1. */
#include <math.h>
#include <omp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gemm_measure.h"
#include "options.h"
#include "out/outfile.h"

#define MAX_SHAPES 64

/* The products to measure. */
typedef struct gemm_shapes {
    size_t n;
    gemm_shape v[MAX_SHAPES];
} gemm_shapes;

typedef struct gemm_options {
    gemm_shapes shapes;
    opt_names backends; /* implementations to run, names from GEMM_IMPL_NAMES */
    int threads;        /* 0 until resolved to OpenMP's default */
    int repeats;        /* 0 = auto */
    const char *json;
} gemm_options;

static const gemm_shape DEFAULT_SHAPES[] = {
    /* squares */
    {64, 64, 64, 0, 0}, {128, 128, 128, 0, 0}, {256, 256, 256, 0, 0}, {512, 512, 512, 0, 0},
    {1024, 1024, 1024, 0, 0}, {2048, 2048, 2048, 0, 0},
    /* a 256-1024-1024-1 MLP, batch 256: forward, then weight (tn) and input (nt) gradients */
    {256, 1024, 256, 0, 0}, {256, 1024, 1024, 0, 0}, {256, 1, 1024, 0, 0},
    {1024, 1024, 256, 1, 0}, {256, 1024, 256, 1, 0}, {1024, 1, 256, 1, 0},
    {256, 1024, 1024, 0, 1}, {256, 1024, 1, 0, 1},
    /* the default 2-8-1 network on 800 rows: forward, weight and input gradients */
    {800, 8, 2, 0, 0}, {800, 1, 8, 0, 0}, {2, 8, 800, 1, 0}, {8, 1, 800, 1, 0},
    {800, 8, 1, 0, 1}, {800, 2, 8, 0, 0}, {800, 8, 1, 0, 0}, {8, 2, 800, 1, 0},
};

/* ---------------------------------------------------------------- options */

/* "MxNxK[:OP]" appended to the shapes; prints the error and returns -1 on failure. */
static int parse_shape(const opt_row *r, const char *v, void *field) {
    gemm_shapes *sh = field;
    unsigned long long d[3];
    char op[8] = "nn";
    int used = 0;
    if (sh->n == MAX_SHAPES) return cli_usage_error("%s: at most %d shapes", r->name, MAX_SHAPES);
    if (sscanf(v, "%llux%llux%llu%n", &d[0], &d[1], &d[2], &used) != 3 ||
        (v[used] != '\0' && (v[used] != ':' || strlen(v + used + 1) != 2)) || v[0] == '-')
        return cli_usage_error("%s: expected MxNxK or MxNxK:OP (OP nn, nt, tn, tt), got '%s'",
                               r->name, v);
    if (v[used] == ':') memcpy(op, v + used + 1, 3);
    for (int i = 0; i < 3; i++)
        if (d[i] < 1 || d[i] > 65536)
            return cli_usage_error("%s: each size must be from 1 to 65536, got '%s'", r->name, v);
    if ((op[0] != 'n' && op[0] != 't') || (op[1] != 'n' && op[1] != 't'))
        return cli_usage_error("%s: OP must be nn, nt, tn or tt, got '%s'", r->name, v);
    if ((double)d[0] * d[1] > 1e9 || (double)d[0] * d[2] > 1e9 || (double)d[2] * d[1] > 1e9)
        return cli_usage_error("%s: '%s' needs more than 4 GB per matrix", r->name, v);
    sh->v[sh->n++] = (gemm_shape){d[0], d[1], d[2], op[0] == 't', op[1] == 't'};
    return 0;
}
static const opt_type SHAPE = {parse_shape, NULL}; /* shapes are in every result record */

#define OFF(field) offsetof(gemm_options, field)
static const opt_row GEMM_ROWS[] = {
    {.name = "--shape", .metavar = "MxNxK[:OP]", .kind = OPT_CUSTOM, .type = &SHAPE,
     .offset = OFF(shapes), .note = "squares 64..2048 and the shapes of MLP training",
     .help = "a product (repeatable); OP = nn, nt, tn or tt (t: that operand is stored "
             "transposed)"},
    {.name = "--backend", .metavar = "LIST", .kind = OPT_CHOICE_LIST, .offset = OFF(backends),
     .choices = GEMM_IMPL_NAMES, .def = "cpu,opencl,openblas,clblast",
     .help = "comma list of implementations"},
    {.name = "--threads", .metavar = "N", .kind = OPT_INT, .offset = OFF(threads), .min = 1,
     .max = 1024, .note = "OpenMP's", .help = "CPU threads for cpu and openblas",
     .json = "threads"},
    {.name = "--repeats", .metavar = "N", .kind = OPT_INT, .offset = OFF(repeats), .min = 1,
     .max = GEMM_MAX_REPEATS, .note = "about 0.3 s per shape, at least 3",
     .help = "timed runs per shape"},
    {.name = "--json", .metavar = "PATH", .kind = OPT_TEXT, .offset = OFF(json),
     .help = "write the results as JSON (- = stdout; the table then goes to stderr)"},
};
static const opt_group GEMM_GROUP = OPT_GROUP(NULL, GEMM_ROWS);
static const opt_group *const GEMM_GROUPS[] = {&GEMM_GROUP, NULL};
static const opt_table GEMM_OPTIONS = {
    "gemm",
    "usage: nnbench gemm [options]\n"
    "GFLOP/s of c = op(a)·op(b) for each implementation, verified before timing.\n"
    "Exit status: 0 ok, 1 a verification or run failed, 2 bad options.\n",
    GEMM_GROUPS};

/* Parse, then fill in the default shapes and threads; EXIT_OK, EXIT_USAGE or -1 (--help). */
static int parse_options(int argc, char **argv, gemm_options *o, int use[GEMM_NIMPL]) {
    memset(o, 0, sizeof *o);
    opt_defaults(&GEMM_OPTIONS, o);
    int rc = opt_parse(&GEMM_OPTIONS, argc, argv, o, NULL);
    if (rc != 0) return rc;
    if (o->shapes.n == 0) {
        o->shapes.n = sizeof DEFAULT_SHAPES / sizeof DEFAULT_SHAPES[0];
        memcpy(o->shapes.v, DEFAULT_SHAPES, sizeof DEFAULT_SHAPES);
    }
    if (o->threads == 0) o->threads = omp_get_max_threads();
    for (int i = 0; i < GEMM_NIMPL; i++) {
        use[i] = 0;
        for (size_t j = 0; j < o->backends.n; j++)
            use[i] |= strcmp(o->backends.v[j], GEMM_IMPL_NAMES[i]) == 0;
    }
    return EXIT_OK;
}

/* ----------------------------------------------------------------- output */

/* "nn", "tn", "nt" or "tt". */
static const char *trans_name(const gemm_shape *s) {
    static const char *const names[4] = {"nn", "tn", "nt", "tt"};
    return names[(s->ta ? 1 : 0) + (s->tb ? 2 : 0)];
}

/* "1.23 ms" style duration. */
static void fmt_seconds(char *buf, size_t len, double s) {
    if (s < 1e-3) snprintf(buf, len, "%.2f us", s * 1e6);
    else if (s < 1.0) snprintf(buf, len, "%.2f ms", s * 1e3);
    else snprintf(buf, len, "%.2f s", s);
}

/* Column titles of the table. */
static void print_header(FILE *f) {
    fprintf(f, "%-9s %-16s %-3s %9s %-21s %9s %11s %10s  %s\n", "impl", "shape MxNxK", "op",
            "GFLOP/s", " [min - max]", "vs oblas", "max_abs_err", "time/call", "check");
}

/* One table row: rates, ratio to OpenBLAS, error, time, verdict (available implementations). */
static void print_row(FILE *f, const gemm_impl *im, const gemm_shape *s, const gemm_row *r,
                      const gemm_row *openblas) {
    char shape[48], range[48] = "", ratio[16] = "-", t[24] = "-", gf[16] = "-", err[16] = "-";
    snprintf(shape, sizeof shape, "%zux%zux%zu", s->m, s->n, s->k);
    if (r->ran) {
        snprintf(gf, sizeof gf, "%.2f", r->gf_med);
        snprintf(range, sizeof range, " [%.2f - %.2f]", r->gf_min, r->gf_max);
        fmt_seconds(t, sizeof t, r->sec_med);
        if (openblas && openblas->ran)
            snprintf(ratio, sizeof ratio, "%.2fx", r->gf_med / openblas->gf_med);
    }
    if (r->verified || r->max_err > 0) snprintf(err, sizeof err, "%.2e", r->max_err);
    fprintf(f, "%-9s %-16s %-3s %9s %-21s %9s %11s %10s  %s%s%s\n", im->name, shape,
            trans_name(s), gf, range, ratio, err, t, r->ran ? "ok" : "FAIL",
            r->error[0] ? ": " : "", r->error);
    fflush(f);
}

/* One JSON record per (implementation, shape). */
static void json_row(json_writer *w, const gemm_impl *im, const gemm_shape *s, const gemm_row *r,
                     const gemm_row *openblas, const gemm_ref *ref, int threads) {
    json_begin_object(w);
    json_key_string(w, "impl", im->name);
    json_key_bool(w, "available", im->why_not[0] == '\0');
    json_key_int(w, "m", (long long)s->m);
    json_key_int(w, "n", (long long)s->n);
    json_key_int(w, "k", (long long)s->k);
    json_key_bool(w, "trans_a", s->ta);
    json_key_bool(w, "trans_b", s->tb);
    json_key_int(w, "threads", strcmp(im->name, "cpu") == 0 || strcmp(im->name, "openblas") == 0
                                   ? threads : 0);
    json_key_number(w, "gflops_median", r->ran ? r->gf_med : NAN);
    json_key_number(w, "gflops_min", r->ran ? r->gf_min : NAN);
    json_key_number(w, "gflops_max", r->ran ? r->gf_max : NAN);
    json_key_number(w, "seconds_median", r->ran ? r->sec_med : NAN);
    json_key_int(w, "repeats", r->repeats);
    json_key_number(w, "ratio_to_openblas",
                    r->ran && openblas && openblas->ran ? r->gf_med / openblas->gf_med : NAN);
    json_key_number(w, "max_abs_err", r->verified || r->max_err > 0 ? r->max_err : NAN);
    json_key_bool(w, "verified", r->verified);
    json_key_string(w, "reference", ref && ref->ref ? gemm_ref_kind(ref) : NULL);
    json_key_string(w, "error", im->why_not[0] ? im->why_not : r->error[0] ? r->error : NULL);
    json_end_object(w);
}

/* The record's head: the command, its settings, the implementations; opens "results". */
static void json_head(json_writer *w, const gemm_options *o, const int use[GEMM_NIMPL],
                      const gemm_impl impls[GEMM_NIMPL]) {
    json_begin_object(w);
    json_key_string(w, "command", "gemm");
    opt_json_echo(&GEMM_OPTIONS, w, o);
    json_begin_array(w, "implementations");
    for (int i = 0; i < GEMM_NIMPL; i++) {
        if (!use[i]) continue;
        const int ok = !impls[i].why_not[0];
        json_begin_object(w);
        json_key_string(w, "impl", impls[i].name);
        json_key_bool(w, "available", ok);
        json_key_string(w, "info", ok ? impls[i].info : NULL);
        json_key_string(w, "unavailable_reason", ok ? NULL : impls[i].why_not);
        json_key_string(w, "note", impls[i].note[0] ? impls[i].note : NULL);
        json_end_object(w);
    }
    json_end_array(w);
    json_begin_array(w, "results");
}

/* Open the selected implementations (opencl before clblast, which uses its device). */
static void open_impls(const gemm_options *o, const int use[GEMM_NIMPL],
                       gemm_impl impls[GEMM_NIMPL], FILE *out) {
    const char *ocl_device = NULL;
    for (int i = 0; i < GEMM_NIMPL; i++) {
        if (!use[i]) continue;
        gemm_impl_open(&impls[i], GEMM_IMPL_NAMES[i], o->threads, ocl_device);
        if (strcmp(GEMM_IMPL_NAMES[i], "opencl") == 0 && !impls[i].why_not[0])
            ocl_device = impls[i].device;
        if (impls[i].why_not[0])
            fprintf(out, "%s: unavailable (%s)\n", impls[i].name, impls[i].why_not);
        else
            fprintf(out, "%s: %s\n", impls[i].name, impls[i].info);
        if (impls[i].note[0]) fprintf(out, "  note: %s\n", impls[i].note);
    }
}

/* Measure every shape, printing (and recording) each row; returns 1 if any failed. */
static int run_all(const gemm_options *o, const int use[GEMM_NIMPL], gemm_impl impls[GEMM_NIMPL],
                   FILE *out, json_writer *w) {
    int failed = 0;
    for (size_t si = 0; si < o->shapes.n; si++) {
        const gemm_shape *s = &o->shapes.v[si];
        gemm_row rows[GEMM_NIMPL];
        gemm_ref ref;
        char ref_error[512];
        if (gemm_measure_shape(impls, use, o->threads, o->repeats, s, rows, &ref, ref_error,
                               sizeof ref_error) != 0) {
            fprintf(stderr, "nnbench: gemm: out of memory for %zux%zux%zu\n", s->m, s->n, s->k);
            failed = 1;
            continue;
        }
        const gemm_row *ob = use[2] && !impls[2].why_not[0] ? &rows[2] : NULL;
        for (int i = 0; i < GEMM_NIMPL; i++) {
            if (!use[i]) continue;
            if (!impls[i].why_not[0]) print_row(out, &impls[i], s, &rows[i], ob);
            if (w) json_row(w, &impls[i], s, &rows[i], ob, &ref, o->threads);
            if (!impls[i].why_not[0] && !rows[i].ran) failed = 1;
        }
        gemm_ref_free(&ref);
    }
    return failed;
}

/* `nnbench gemm`: open, then verify and time every implementation on every shape. */
int cmd_gemm(int argc, char **argv) {
    gemm_options o;
    int use[GEMM_NIMPL];
    int rc = parse_options(argc, argv, &o, use);
    if (rc < 0) return EXIT_OK;
    if (rc != EXIT_OK) return rc;
    /* The record goes to a temporary file renamed over --json only when it
     * is complete: a run stopped midway leaves an earlier file as it was. */
    out_file json_out = {0};
    char msg[4200];
    if (o.json && out_open(&json_out, o.json, 1, 0, msg, sizeof msg) != 0)
        return cli_usage_error("--json: %s", msg);
    FILE *json = o.json ? json_out.fp : NULL;
    FILE *out = json == stdout ? stderr : stdout;
    gemm_impl impls[GEMM_NIMPL];
    memset(impls, 0, sizeof impls);
    fprintf(out, "nnbench gemm: %zu shape%s, %d CPU thread%s, repeats %s\n", o.shapes.n,
            o.shapes.n == 1 ? "" : "s", o.threads, o.threads == 1 ? "" : "s",
            o.repeats ? "fixed" : "auto");
    open_impls(&o, use, impls, out);
    json_writer w = json_writer_on(json);
    if (json) json_head(&w, &o, use, impls);
    print_header(out);
    int failed = run_all(&o, use, impls, out, json ? &w : NULL);
    if (json) {
        json_end_array(&w);
        json_end_object(&w);
        if (out_commit(&json_out, msg, sizeof msg) != 0) {
            fprintf(stderr, "nnbench: --json: %s\n", msg);
            failed = 1;
        }
    }
    for (int i = 0; i < GEMM_NIMPL; i++)
        if (impls[i].close) impls[i].close(&impls[i]);
    return failed ? EXIT_FAIL : EXIT_OK;
}
