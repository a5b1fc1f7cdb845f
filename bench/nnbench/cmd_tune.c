/* cmd_tune.c — `nnbench tune`: search the OpenCL launch parameters of one
 * device (include/nn_tune.h), verify every candidate against the CPU before
 * timing it, store the winners in the per-device cache that the OpenCL
 * backend reads, and print the defaults' and the tuned speed of each shape. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nn_tune.h"
#include "options.h"

typedef struct tune_options {
    const char *device; /* --device, NULL = default */
    int quick;
    int dry_run;        /* --no-save */
    const char *groups; /* --groups, NULL = all */
    int verbose;
    const char *json;   /* --json PATH */
} tune_options;

#define OFF(field) offsetof(tune_options, field)
static const opt_row TUNE_ROWS[] = {
    {.name = "--device", .metavar = "N|NAME", .kind = OPT_TEXT, .offset = OFF(device), .param = "device",
     .note = "$NN_OPENCL_DEVICE, else the backend's default",
     .help = "OpenCL device index (see nnbench devices) or name substring", .json = "device"},
    {.name = "--quick", .kind = OPT_FLAG, .offset = OFF(quick),
     .help = "one pass over a reduced space (about a minute on PoCL; the full search takes a "
             "few minutes)", .json = "quick"},
    {.name = "--groups", .metavar = "LIST", .kind = OPT_TEXT, .offset = OFF(groups),
     .note = "all", .param = "groups", .help = "tune only these: small, narrow, skinny, medium, large (matmul shape "
                            "classes) and ops (elementwise and reductions)", .json = "groups"},
    {.name = "--no-save", .kind = OPT_FLAG, .offset = OFF(dry_run),
     .help = "measure only: leave the cache as it is"},
    {.name = "--verbose", .alias = "-v", .kind = OPT_FLAG, .offset = OFF(verbose),
     .help = "print every candidate and why discarded ones failed"},
    {.name = "--json", .metavar = "PATH", .kind = OPT_TEXT, .offset = OFF(json),
     .help = "write the report as JSON (- = stdout; the table then goes to stderr)"},
};
static const opt_group TUNE_GROUP = OPT_GROUP(NULL, TUNE_ROWS);
static const opt_group *const TUNE_GROUPS[] = {&TUNE_GROUP, NULL};
static const opt_table TUNE_OPTIONS = {
    "tune",
    "usage: nnbench tune [options]\n"
    "Searches the OpenCL kernels' launch parameters (work per work-item, work-group shape,\n"
    "vector width, local-memory tiling, tile-k, packing; per matmul shape class, and the\n"
    "work-groups of the elementwise and reduction kernels) on one device, with the shapes\n"
    "training uses in all four transpose cases. Every candidate is verified against the CPU\n"
    "backend before it is timed; candidates that fail to build, launch or verify are\n"
    "discarded. The result is stored per device (platform, name, driver) in the cache\n"
    "($XDG_CACHE_HOME/nnbench/, else ~/.cache/nnbench/) and used by --backend opencl from\n"
    "then on; NN_OPENCL_TUNE still overrides it. Exit status: 0 done, 1 the search failed,\n"
    "2 bad options, 3 no usable OpenCL device.\n",
    TUNE_GROUPS};

/* What the progress callback needs. */
typedef struct tune_view {
    FILE *out;
    int verbose, quick, started;
    char group[16];
    unsigned candidates, failed;
} tune_view;

static const char *event_name(nn_tune_event e) {
    switch (e) {
    case NN_TUNE_EV_BUILD_FAILED: return "build failed";
    case NN_TUNE_EV_LAUNCH_FAILED: return "cannot launch";
    case NN_TUNE_EV_VERIFY_FAILED: return "wrong result";
    default: return "";
    }
}

static int on_progress(void *user, const nn_tune_progress *p) {
    tune_view *v = user;
    switch (p->event) {
    case NN_TUNE_EV_GROUP:
        if (!v->started) fprintf(v->out, "nnbench tune: %s search\n", v->quick ? "quick" : "full");
        v->started = 1;
        snprintf(v->group, sizeof v->group, "%s", p->group);
        fprintf(v->out, "tuning %s (%.0f s so far)\n", p->group, p->elapsed_seconds);
        break;
    case NN_TUNE_EV_CANDIDATE:
        v->candidates++;
        if (v->verbose) fprintf(v->out, "  candidate %u: %s\n", p->candidate, p->params);
        break;
    case NN_TUNE_EV_BUILD_FAILED:
    case NN_TUNE_EV_LAUNCH_FAILED:
    case NN_TUNE_EV_VERIFY_FAILED:
        v->failed++;
        if (v->verbose)
            fprintf(v->out, "  candidate %u discarded (%s%s%s): %s\n", p->candidate,
                    event_name(p->event), p->shape ? " on " : "", p->shape ? p->shape : "",
                    p->detail ? p->detail : "");
        break;
    case NN_TUNE_EV_ACCEPTED:
        fprintf(v->out, "  %.2fx over the previous best: %s\n", p->rate, p->params);
        break;
    default:
        break;
    }
    return 0;
}

static void print_report(FILE *out, const nn_tune_report *r) {
    fprintf(out, "\n%-7s %-22s %12s %12s %7s  %s\n", "group", "shape", "default", "tuned",
            "tuned/d", "tried (failed: build, launch, verify)");
    for (size_t i = 0; i < r->n_shapes; i++) {
        const nn_tune_shape *s = &r->shapes[i];
        const char *unit = strncmp(s->unit, "GF", 2) == 0 ? "GF" : "Ge";
        fprintf(out, "%-7s %-22s %8.2f %-3s %8.2f %-3s %6.2fx  %u (%u, %u, %u)%s\n", s->group,
                s->label, s->default_rate, unit, s->tuned_rate, unit,
                s->default_rate > 0 ? s->tuned_rate / s->default_rate : 0.0, s->tried,
                s->build_failed, s->launch_failed, s->verify_failed,
                strcmp(s->default_params, s->tuned_params) == 0 ? "  (defaults kept)" : "");
    }
    fprintf(out, "rates: GF = GFLOP/s (products), Ge = 10^9 elements/s (ops); default and tuned "
                 "timed interleaved, medians\n");
    fprintf(out, "%u candidates in %.0f s: %u failed to build, %u to launch, %u to verify\n",
            r->candidates, r->seconds, r->build_failed, r->launch_failed, r->verify_failed);
    fprintf(out, "parameters: %s\n", r->params);
    if (r->saved) fprintf(out, "saved to %s (used by --backend opencl on this device)\n", r->cache_path);
    else fprintf(out, "not saved (--no-save)\n");
}

/* The report as a JSON record. */
static void render_json(json_writer *w, void *ctx) {
    const nn_tune_report *r = ctx;
    json_begin_object(w);
    json_key_string(w, "platform", r->platform);
    json_key_string(w, "device", r->device);
    json_key_string(w, "driver", r->driver);
    json_key_bool(w, "quick", r->quick);
    json_key_number(w, "seconds", r->seconds);
    json_key_int(w, "candidates", r->candidates);
    json_key_int(w, "build_failed", r->build_failed);
    json_key_int(w, "launch_failed", r->launch_failed);
    json_key_int(w, "verify_failed", r->verify_failed);
    json_key_string(w, "params", r->params);
    json_key_bool(w, "saved", r->saved);
    json_key_string(w, "cache_path", r->saved ? r->cache_path : NULL);
    json_begin_array(w, "shapes");
    for (size_t i = 0; i < r->n_shapes; i++) {
        const nn_tune_shape *s = &r->shapes[i];
        json_begin_object(w);
        json_key_string(w, "group", s->group);
        json_key_string(w, "shape", s->label);
        json_key_string(w, "unit", s->unit);
        json_key_number(w, "default_rate", s->default_rate);
        json_key_number(w, "tuned_rate", s->tuned_rate);
        json_key_string(w, "default_params", s->default_params);
        json_key_string(w, "tuned_params", s->tuned_params);
        json_key_int(w, "tried", s->tried);
        json_key_int(w, "verified", s->verified);
        json_end_object(w);
    }
    json_end_array(w);
    json_end_object(w);
}

/* `nnbench tune [options]`. */
int cmd_tune(int argc, char **argv) {
    tune_options o;
    memset(&o, 0, sizeof o);
    opt_defaults(&TUNE_OPTIONS, &o);
    int rc = opt_parse(&TUNE_OPTIONS, argc, argv, &o, NULL);
    if (rc < 0) return EXIT_OK; /* --help */
    if (rc != 0) return rc;
    FILE *out = o.json && strcmp(o.json, "-") == 0 ? stderr : stdout;
    nn_tune_options to = nn_tune_options_default();
    to.device = o.device;
    to.quick = o.quick;
    to.save = !o.dry_run;
    to.groups = o.groups;
    tune_view view = {.out = out, .verbose = o.verbose, .quick = o.quick};
    to.progress = on_progress;
    to.user = &view;
    nn_tune_report *rep = calloc(1, sizeof *rep);
    if (!rep) return cli_usage_error("out of memory");
    nn_error err = {0};
    nn_status st = nn_tune_run(&to, rep, &err);
    if (st != NN_OK) {
        free(rep);
        if (st == NN_E_INVALID) return opt_library_error(&TUNE_OPTIONS, &err);
        fprintf(stderr, "nnbench: tune: %s\n", err.msg);
        return st == NN_E_UNAVAILABLE ? EXIT_NO_OPENCL : EXIT_FAIL;
    }
    fprintf(out, "device: %s (%s, driver %s)\n", rep->device, rep->platform, rep->driver);
    print_report(out, rep);
    rc = EXIT_OK;
    char msg[512];
    if (o.json && json_write_file(o.json, render_json, rep, msg, sizeof msg) != 0) {
        fprintf(stderr, "nnbench: --json: %s\n", msg);
        rc = EXIT_FAIL;
    }
    free(rep);
    return rc;
}
