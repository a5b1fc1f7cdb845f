/* cmd_gemm.c — `nnbench gemm`: GFLOP/s of each matrix-multiply implementation
 * (the cpu and opencl backends through their ops tables, OpenBLAS, CLBlast)
 * over square sizes and the shapes MLP training produces. Every result is
 * verified before it is timed; a failed verification exits 1. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "gemm_check.h"
#include "gemm_impl.h"

#define MAX_SHAPES 64
#define NIMPL 4
#define TARGET_SECONDS 0.3 /* auto repeats: about this long per (impl, shape) */
#define MIN_REPEATS 3
#define MAX_REPEATS 100000
/* Pause after an implementation's runs while its idle threads still spin
 * (OpenBLAS: up to ~0.1 s; OpenMP: a few ms), so they do not slow the next one. */
#define OPENBLAS_SETTLE_US 200000
#define OTHER_SETTLE_US 20000

typedef struct gemm_options {
    gemm_shape shapes[MAX_SHAPES];
    size_t n_shapes;
    int use[NIMPL]; /* indexed like GEMM_IMPL_NAMES */
    int threads;
    long repeats;   /* 0 = auto */
    const char *json;
} gemm_options;

/* One (impl, shape) measurement. */
typedef struct gemm_row {
    int ran;        /* timed */
    int verified;
    double max_err;
    double gf_med, gf_min, gf_max;
    double sec_med; /* median seconds per product */
    long repeats;
    char error[512]; /* run failure or verification failure */
} gemm_row;

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

/* Monotonic clock in seconds. */
static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* qsort order for doubles. */
static int cmp_double(const void *x, const void *y) {
    const double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

/* "nn", "tn", "nt" or "tt". */
static const char *trans_name(const gemm_shape *s) {
    static const char *const names[4] = {"nn", "tn", "nt", "tt"};
    return names[(s->ta ? 1 : 0) + (s->tb ? 2 : 0)];
}

/* The --help text. */
static void usage(FILE *f) {
    fprintf(f,
            "usage: nnbench gemm [options]\n"
            "GFLOP/s of c = op(a)·op(b) for each implementation, verified before timing.\n"
            "  --shape MxNxK[:OP]  a product (repeatable); OP = nn (default), nt, tn or tt\n"
            "                      (t: that operand is stored transposed). Default: squares\n"
            "                      64..2048 and the shapes of MLP training\n"
            "  --backend LIST      comma list of cpu,opencl,openblas,clblast (default: all)\n"
            "  --threads N         CPU threads for cpu and openblas (default: OpenMP's)\n"
            "  --repeats N         timed runs per shape (default: ~%.1f s, at least %d)\n"
            "  --json PATH         write the results as JSON (- = stdout; the table then goes\n"
            "                      to stderr)\n"
            "  --help              this text\n"
            "Exit status: 0 ok, 1 a verification or run failed, 2 bad options.\n",
            TARGET_SECONDS, MIN_REPEATS);
}

/* Parse "MxNxK[:OP]" into s; prints the error and returns -1 on failure. */
static int parse_shape(const char *v, gemm_shape *s) {
    unsigned long long d[3];
    char op[8] = "nn";
    int used = 0;
    if (sscanf(v, "%llux%llux%llu%n", &d[0], &d[1], &d[2], &used) != 3 ||
        (v[used] != '\0' && (v[used] != ':' || strlen(v + used + 1) != 2)) || v[0] == '-') {
        cli_usage_error("--shape: expected MxNxK or MxNxK:OP (OP nn, nt, tn, tt), got '%s'", v);
        return -1;
    }
    if (v[used] == ':') memcpy(op, v + used + 1, 3);
    for (int i = 0; i < 3; i++)
        if (d[i] < 1 || d[i] > 65536) {
            cli_usage_error("--shape: each size must be from 1 to 65536, got '%s'", v);
            return -1;
        }
    if ((op[0] != 'n' && op[0] != 't') || (op[1] != 'n' && op[1] != 't')) {
        cli_usage_error("--shape: OP must be nn, nt, tn or tt, got '%s'", v);
        return -1;
    }
    if ((double)d[0] * d[1] > 1e9 || (double)d[0] * d[2] > 1e9 || (double)d[2] * d[1] > 1e9) {
        cli_usage_error("--shape: '%s' needs more than 4 GB per matrix", v);
        return -1;
    }
    *s = (gemm_shape){d[0], d[1], d[2], op[0] == 't', op[1] == 't'};
    return 0;
}

/* Parse "cpu,openblas" into use[]; prints the error and returns -1 on failure. */
static int parse_backends(const char *v, int use[NIMPL]) {
    memset(use, 0, NIMPL * sizeof use[0]);
    const char *p = v;
    int any = 0;
    while (1) {
        size_t len = strcspn(p, ",");
        int found = 0;
        for (int i = 0; i < NIMPL; i++)
            if (len == strlen(GEMM_IMPL_NAMES[i]) && strncmp(p, GEMM_IMPL_NAMES[i], len) == 0)
                found = use[i] = any = 1;
        if (!found) {
            cli_usage_error("--backend: expected a comma list of cpu, opencl, openblas, clblast, "
                            "got '%s'",
                            v);
            return -1;
        }
        if (p[len] == '\0') break;
        p += len + 1;
    }
    return any ? 0 : -1;
}

/* Parse the options; returns EXIT_OK, EXIT_USAGE, or -1 after --help. */
static int parse_options(int argc, char **argv, gemm_options *o) {
    memset(o, 0, sizeof *o);
    for (int i = 0; i < NIMPL; i++) o->use[i] = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        long l;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return -1;
        } else if (cli_is(a, "--shape")) {
            if (!(v = cli_value(argc, argv, &i, "--shape"))) return EXIT_USAGE;
            if (o->n_shapes == MAX_SHAPES)
                return cli_usage_error("--shape: at most %d shapes", MAX_SHAPES);
            if (parse_shape(v, &o->shapes[o->n_shapes]) != 0) return EXIT_USAGE;
            o->n_shapes++;
        } else if (cli_is(a, "--backend")) {
            if (!(v = cli_value(argc, argv, &i, "--backend"))) return EXIT_USAGE;
            if (parse_backends(v, o->use) != 0) return EXIT_USAGE;
        } else if (cli_is(a, "--threads")) {
            if (!(v = cli_value(argc, argv, &i, "--threads")) ||
                cli_parse_long("--threads", v, 1, 1024, &l) != 0)
                return EXIT_USAGE;
            o->threads = (int)l;
        } else if (cli_is(a, "--repeats")) {
            if (!(v = cli_value(argc, argv, &i, "--repeats")) ||
                cli_parse_long("--repeats", v, 1, MAX_REPEATS, &l) != 0)
                return EXIT_USAGE;
            o->repeats = l;
        } else if (cli_is(a, "--json")) {
            if (!(v = cli_value(argc, argv, &i, "--json"))) return EXIT_USAGE;
            if (!*v) return cli_usage_error("--json: expected a file path or -");
            o->json = v;
        } else {
            return cli_usage_error("gemm: unknown option '%s' (try 'nnbench gemm --help')", a);
        }
    }
    if (o->n_shapes == 0) {
        o->n_shapes = sizeof DEFAULT_SHAPES / sizeof DEFAULT_SHAPES[0];
        memcpy(o->shapes, DEFAULT_SHAPES, sizeof DEFAULT_SHAPES);
    }
    if (o->threads == 0) o->threads = omp_get_max_threads();
    return EXIT_OK;
}

/* Uniform values in [-1, 1) from a seed (splitmix64 stream). */
static void fill_uniform(float *x, size_t n, uint64_t seed) {
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        uint64_t z = (s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        x[i] = (float)((double)(z >> 40) / (double)(1ull << 24) * 2.0 - 1.0);
    }
}

/* Time `repeats` runs (0 = auto from the warm-up) into row; 0 or -1 with row->error. */
static int time_runs(gemm_impl *im, const gemm_shape *s, long repeats, gemm_row *row) {
    double t = now_s();
    if (im->run(im, row->error, sizeof row->error) != 0) return -1; /* warm-up */
    const double warm = now_s() - t;
    long reps = repeats;
    if (reps == 0) {
        reps = warm > 0 ? (long)(TARGET_SECONDS / warm) + 1 : MAX_REPEATS;
        reps = reps < MIN_REPEATS ? MIN_REPEATS : reps > MAX_REPEATS ? MAX_REPEATS : reps;
    }
    double *sec = malloc((size_t)reps * sizeof(double));
    if (!sec) {
        snprintf(row->error, sizeof row->error, "out of memory");
        return -1;
    }
    for (long r = 0; r < reps; r++) {
        t = now_s();
        if (im->run(im, row->error, sizeof row->error) != 0) {
            free(sec);
            return -1;
        }
        sec[r] = now_s() - t;
    }
    qsort(sec, (size_t)reps, sizeof sec[0], cmp_double);
    const double flop = 2.0 * (double)s->m * (double)s->n * (double)s->k;
    const double med = reps % 2 ? sec[reps / 2] : 0.5 * (sec[reps / 2 - 1] + sec[reps / 2]);
    row->sec_med = med;
    row->gf_med = flop / med * 1e-9;
    row->gf_min = flop / sec[reps - 1] * 1e-9;
    row->gf_max = flop / sec[0] * 1e-9;
    row->repeats = reps;
    row->ran = 1;
    free(sec);
    return 0;
}

/* Verify then time one implementation on one shape. */
static void measure(gemm_impl *im, const gemm_shape *s, const float *a, const float *b,
                    const gemm_ref *ref, const char *ref_error, long repeats, float *c,
                    gemm_row *row) {
    memset(row, 0, sizeof *row);
    if (im->prepare(im, s, a, b, row->error, sizeof row->error) != 0) return;
    if (im->run(im, row->error, sizeof row->error) == 0 &&
        im->read(im, c, row->error, sizeof row->error) == 0) {
        if (ref_error) {
            snprintf(row->error, sizeof row->error, "no reference: %.480s", ref_error);
        } else {
            row->max_err = gemm_ref_check(ref, c, &row->verified);
            if (!row->verified)
                snprintf(row->error, sizeof row->error,
                         "result differs from the %s reference beyond tolerance",
                         gemm_ref_kind(ref));
            else
                time_runs(im, s, repeats, row);
        }
    }
    im->unprepare(im);
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

/* Open the selected implementations (opencl before clblast, which uses its device). */
static void open_impls(const gemm_options *o, gemm_impl impls[NIMPL], FILE *out) {
    const char *ocl_device = NULL;
    for (int i = 0; i < NIMPL; i++) {
        if (!o->use[i]) continue;
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

/* Measure every selected implementation on shape s; rows indexed like impls. */
static int run_shape(const gemm_options *o, gemm_impl impls[NIMPL], const gemm_shape *s,
                     gemm_row rows[NIMPL], gemm_ref *ref, char *ref_error, size_t ref_len) {
    const size_t na = s->m * s->k, nb = s->k * s->n, nc = s->m * s->n;
    float *a = malloc(na * sizeof(float)), *b = malloc(nb * sizeof(float));
    float *c = malloc(nc * sizeof(float));
    if (!a || !b || !c) {
        free(a);
        free(b);
        free(c);
        return -1;
    }
    fill_uniform(a, na, 1 + s->m * 3 + s->k);
    fill_uniform(b, nb, 2 + s->n * 5 + s->k);
    ref_error[0] = '\0';
    memset(ref, 0, sizeof *ref);
    gemm_ref_build(ref, s, a, b, o->threads, ref_error, ref_len);
    /* OpenBLAS last: its idle threads keep spinning for a while after a call */
    static const int order[NIMPL] = {0, 1, 3, 2};
    for (int q = 0; q < NIMPL; q++) {
        const int i = order[q];
        memset(&rows[i], 0, sizeof rows[i]);
        if (!o->use[i] || impls[i].why_not[0]) continue;
        measure(&impls[i], s, a, b, ref, ref_error[0] ? ref_error : NULL, o->repeats, c, &rows[i]);
        const long settle_us =
            strcmp(impls[i].name, "openblas") == 0 ? OPENBLAS_SETTLE_US : OTHER_SETTLE_US;
        struct timespec pause = {0, settle_us * 1000L};
        nanosleep(&pause, NULL);
    }
    free(a);
    free(b);
    free(c);
    return 0;
}

/* `nnbench gemm`: open, then verify and time every implementation on every shape. */
int cmd_gemm(int argc, char **argv) {
    gemm_options o;
    int rc = parse_options(argc, argv, &o);
    if (rc < 0) return EXIT_OK;
    if (rc != EXIT_OK) return rc;
    FILE *json = NULL;
    if (o.json) {
        json = strcmp(o.json, "-") == 0 ? stdout : fopen(o.json, "w");
        if (!json) return cli_usage_error("--json: cannot write '%s'", o.json);
    }
    FILE *out = json == stdout ? stderr : stdout;
    gemm_impl impls[NIMPL];
    memset(impls, 0, sizeof impls);
    fprintf(out, "nnbench gemm: %zu shape%s, %d CPU thread%s, repeats %s\n", o.n_shapes,
            o.n_shapes == 1 ? "" : "s", o.threads, o.threads == 1 ? "" : "s",
            o.repeats ? "fixed" : "auto");
    open_impls(&o, impls, out);
    json_writer w = {json, 0, {0}};
    if (json) {
        json_begin_object(&w);
        json_key_string(&w, "command", "gemm");
        json_key_int(&w, "threads", o.threads);
        json_begin_array(&w, "implementations");
        for (int i = 0; i < NIMPL; i++) {
            if (!o.use[i]) continue;
            json_begin_object(&w);
            json_key_string(&w, "impl", impls[i].name);
            json_key_bool(&w, "available", !impls[i].why_not[0]);
            json_key_string(&w, "info", impls[i].why_not[0] ? NULL : impls[i].info);
            json_key_string(&w, "unavailable_reason",
                            impls[i].why_not[0] ? impls[i].why_not : NULL);
            json_key_string(&w, "note", impls[i].note[0] ? impls[i].note : NULL);
            json_end_object(&w);
        }
        json_end_array(&w);
        json_begin_array(&w, "results");
    }
    print_header(out);
    int failed = 0;
    for (size_t si = 0; si < o.n_shapes; si++) {
        const gemm_shape *s = &o.shapes[si];
        gemm_row rows[NIMPL];
        gemm_ref ref;
        char ref_error[512];
        if (run_shape(&o, impls, s, rows, &ref, ref_error, sizeof ref_error) != 0) {
            fprintf(stderr, "nnbench: gemm: out of memory for %zux%zux%zu\n", s->m, s->n, s->k);
            failed = 1;
            continue;
        }
        const gemm_row *ob = o.use[2] && !impls[2].why_not[0] ? &rows[2] : NULL;
        for (int i = 0; i < NIMPL; i++) {
            if (!o.use[i]) continue;
            if (!impls[i].why_not[0]) print_row(out, &impls[i], s, &rows[i], ob);
            if (json) json_row(&w, &impls[i], s, &rows[i], ob, &ref, o.threads);
            if (!impls[i].why_not[0] && !rows[i].ran) failed = 1;
        }
        gemm_ref_free(&ref);
    }
    if (json) {
        json_end_array(&w);
        json_end_object(&w);
        if (json != stdout && fclose(json) != 0) {
            fprintf(stderr, "nnbench: gemm: error writing '%s'\n", o.json);
            failed = 1;
        }
    }
    for (int i = 0; i < NIMPL; i++)
        if (impls[i].close) impls[i].close(&impls[i]);
    return failed ? EXIT_FAIL : EXIT_OK;
}
