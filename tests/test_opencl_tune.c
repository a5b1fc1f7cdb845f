/* test_opencl_tune.c — the OpenCL autotuner and its cache (nn_tune.h):
 * a quick search on a reduced space (every timed candidate verified first,
 * a consistent report, the result saved and used), the cache file (round
 * trip, what the backend launches with an entry, NN_OPENCL_TUNE over it,
 * corrupt / truncated / stale / out-of-range entries ignored with a note,
 * atomic replacement keeping other devices), paths and bad options.
 *
 * Every test points XDG_CACHE_HOME at its own mkdtemp folder (removed
 * afterwards) so that nothing reads or writes the real ~/.cache/nnbench;
 * PoCL's own kernel cache keeps its location through POCL_CACHE_DIR.
 * Without a usable OpenCL device each test is reported as skipped. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <float.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "nn_tune.h"
#include "testutil.h"
#ifdef NN_HAVE_OPENCL
#include "opencl/opencl_internal.h"
#endif

static char cache_home[256]; /* this test's XDG_CACHE_HOME */
static char cache_file[512]; /* where the tuning cache lives inside it */

/* Give the test a private, empty cache folder; keep PoCL's kernel cache where it was. */
static void private_cache(void) {
    if (!getenv("POCL_CACHE_DIR")) {
        const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
        char pocl[512];
        if (xdg && xdg[0] == '/') snprintf(pocl, sizeof pocl, "%s/pocl/kcache", xdg);
        else snprintf(pocl, sizeof pocl, "%s/.cache/pocl/kcache", home ? home : "/tmp");
        setenv("POCL_CACHE_DIR", pocl, 1);
    }
    snprintf(cache_home, sizeof cache_home, "%s/nn_tune_XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    cr_assert_not_null(mkdtemp(cache_home));
    cr_assert_eq(setenv("XDG_CACHE_HOME", cache_home, 1), 0);
    snprintf(cache_file, sizeof cache_file, "%s/nnbench/opencl-tune.txt", cache_home);
    unsetenv("NN_OPENCL_TUNE");
    unsetenv("NN_KERNEL_DIR");
}

static int remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void remove_cache(void) {
    if (cache_home[0]) nftw(cache_home, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(tune, .init = private_cache, .fini = remove_cache);

#ifdef NN_HAVE_OPENCL

/* ------------------------------------------------------------------ helpers */

/* Skip the test when no OpenCL device is usable here. */
static void need_opencl(void) {
    nn_backend *be = NULL;
    nn_error err = {0};
    nn_status st = nn_backend_open("opencl", NULL, &be, &err);
    if (st == NN_E_UNAVAILABLE) cr_skip_test("no usable OpenCL device: %s", err.msg);
    cr_assert_eq(st, NN_OK, "%s", err.msg);
    nn_backend_close(be);
}

/* Global index of the device the backend opens by default. */
static size_t default_device(void) {
    nn_opencl_device_info *d = NULL;
    size_t n = 0, idx = 0;
    nn_error err;
    cr_assert_eq(nn_opencl_list_devices(&d, &n, &err), NN_OK, "%s", err.msg);
    for (size_t i = 0; i < n; i++)
        if (d[i].is_default) idx = i;
    free(d);
    return idx;
}

/* The cache identity of the default device, with the kernels as loaded now. */
static nn_cl_ident my_ident(void) {
    nn_cl_device_ref *devs;
    size_t n, chosen;
    nn_error err;
    cr_assert_eq(nn_cl_enumerate(&devs, &n, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(nn_cl_choose(devs, n, NULL, &chosen, &err), NN_OK);
    nn_cl_sources src;
    cr_assert_eq(nn_cl_sources_load(&src, &err), NN_OK, "%s", err.msg);
    nn_cl_ident id;
    nn_cl_ident_get(devs[chosen].platform, devs[chosen].device, src.hash, &id);
    nn_cl_sources_free(&src);
    free(devs);
    return id;
}

/* Write `text` as the whole cache file. */
static void write_cache(const char *text, size_t len) {
    char dir[600];
    snprintf(dir, sizeof dir, "%s/nnbench", cache_home);
    mkdir(dir, 0700);
    FILE *f = fopen(cache_file, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(text, 1, len, f), len);
    fclose(f);
}

/* A cache line for id with params (format NN_CL_CACHE_FORMAT), newline added, into buf. */
static void forge(const nn_cl_ident *id, int format, const char *params, char *buf, size_t len) {
    nn_cl_cache_line(format, id, 1764000000LL, params, buf, len - 1);
    cr_assert(buf[0], "cache line too long");
    strcat(buf, "\n");
}

/* The whole cache file (malloc'ed), or NULL when there is none. */
static char *read_cache(void) {
    FILE *f = fopen(cache_file, "rb");
    if (!f) return NULL;
    char *buf = calloc(1, 1 << 21);
    size_t n = fread(buf, 1, (1 << 21) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static nn_backend *open_opencl(void) {
    nn_backend *be = NULL;
    nn_error err = {0};
    nn_status st = nn_backend_open("opencl", NULL, &be, &err);
    cr_assert_eq(st, NN_OK, "%s", err.msg);
    return be;
}

/* The parameters and their source of an open OpenCL backend. */
static nn_tune_source params_of(nn_backend *be, char *buf, size_t len) {
    nn_tune_source src;
    nn_error err;
    cr_assert_eq(nn_tune_backend_params(be, &src, buf, len, &err), NN_OK, "%s", err.msg);
    return src;
}

/* c = op(a)·op(b) on ocl and cpu from the same random inputs; every element
 * within 1e-6 + (k + 1) FLT_EPSILON sum_p |a_ip b_pj| of a double reference. */
static void check_matmul(nn_backend *ocl, nn_backend *cpu, size_t m, size_t n, size_t k, int ta,
                         int tb) {
    nn_error err;
    float *a = malloc(m * k * sizeof *a), *b = malloc(k * n * sizeof *b); /* op-dependent */
    tu_fill_uniform(a, m * k, m + 3 * n + 7 * k, -1, 1);
    tu_fill_uniform(b, k * n, m + 5 * n + 11 * k, -1, 1);
    nn_buf *bufs[2][3];
    nn_backend *be[2] = {ocl, cpu};
    float *c[2];
    for (int s = 0; s < 2; s++) {
        bufs[s][0] = tu_upload(be[s], a, m * k);
        bufs[s][1] = tu_upload(be[s], b, k * n);
        cr_assert_eq(be[s]->ops->alloc(be[s], m * n, &bufs[s][2], &err), NN_OK);
        cr_assert_eq(be[s]->ops->matmul(be[s], (nn_view){bufs[s][2], 0}, (nn_view){bufs[s][0], 0},
                                        (nn_view){bufs[s][1], 0}, m, n, k, ta, tb, 0, &err),
                     NN_OK, "%s", err.msg);
        c[s] = tu_download(be[s], (nn_view){bufs[s][2], 0}, m * n);
        for (int i = 0; i < 3; i++) be[s]->ops->release(be[s], bufs[s][i]);
    }
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double s = 0, mag = 0;
            for (size_t p = 0; p < k; p++) {
                double x = ta ? a[p * m + i] : a[i * k + p], y = tb ? b[j * k + p] : b[p * n + j];
                s += x * y;
                mag += fabs(x * y);
            }
            double tol = 1e-6 + (double)(k + 1) * FLT_EPSILON * mag;
            cr_assert(fabs(c[0][i * n + j] - s) <= tol && fabs(c[1][i * n + j] - s) <= tol,
                      "%zux%zux%zu ta=%d tb=%d c[%zu,%zu]: opencl %.9g cpu %.9g exact %.9g", m, n,
                      k, ta, tb, i, j, c[0][i * n + j], c[1][i * n + j], s);
        }
    free(a), free(b), free(c[0]), free(c[1]);
}

/* Products of every class in every transpose case, opencl vs cpu. */
static void check_all_classes(nn_backend *ocl) {
    nn_backend *cpu = tu_open("cpu", 0);
    static const size_t S[][3] = {
        {800, 8, 2}, {4096, 1, 64}, {4096, 64, 2}, {256, 64, 64}, {256, 256, 256}};
    for (size_t i = 0; i < 5; i++)
        for (int t = 0; t < 4; t++) check_matmul(ocl, cpu, S[i][0], S[i][1], S[i][2], t >> 1, t & 1);
    nn_backend_close(cpu);
}

/* ------------------------------------------------------------------ search */

#define MAX_EVENTS 4096

/* The progress reports of one search. */
typedef struct ev_log {
    size_t n;
    struct {
        nn_tune_event ev;
        char group[8], shape[40], params[NN_TUNE_PARAMS_LEN];
        unsigned cand;
        double rate, base;
    } e[MAX_EVENTS];
    int stop_after; /* stop the search after this many events (0: never) */
} ev_log;

static int record(void *user, const nn_tune_progress *p) {
    ev_log *l = user;
    cr_assert(p->group && p->unit && p->elapsed_seconds >= 0);
    if (l->n < MAX_EVENTS) {
        l->e[l->n].ev = p->event;
        snprintf(l->e[l->n].group, sizeof l->e[l->n].group, "%s", p->group);
        snprintf(l->e[l->n].shape, sizeof l->e[l->n].shape, "%s", p->shape ? p->shape : "");
        snprintf(l->e[l->n].params, sizeof l->e[l->n].params, "%s", p->params ? p->params : "");
        l->e[l->n].cand = p->candidate;
        l->e[l->n].rate = p->rate;
        l->e[l->n].base = p->baseline_rate;
        l->n++;
    }
    return l->stop_after && l->n >= (size_t)l->stop_after;
}

/* 1 if the log has an event ev of (group, candidate, shape) before index `before`. */
static int has_event(const ev_log *l, size_t before, nn_tune_event ev, const char *group,
                     unsigned cand, const char *shape) {
    for (size_t i = 0; i < before; i++)
        if (l->e[i].ev == ev && l->e[i].cand == cand && strcmp(l->e[i].group, group) == 0 &&
            strcmp(l->e[i].shape, shape) == 0)
            return 1;
    return 0;
}

Test(tune, quick_search_on_a_reduced_space) {
    need_opencl();
    ev_log *log = calloc(1, sizeof *log);
    nn_tune_report *rep = calloc(1, sizeof *rep);
    nn_tune_options opt = nn_tune_options_default();
    opt.quick = 1;
    opt.groups = "small,ops";
    opt.max_candidates = 5;
    opt.repeats = 3;
    opt.progress = record;
    opt.user = log;
    nn_error err = {0};
    nn_status st = nn_tune_run(&opt, rep, &err);
    cr_assert_eq(st, NN_OK, "%s", err.msg);

    /* the report: small's quick shapes and the six ops, consistent counts */
    cr_assert_eq(rep->n_shapes, 4 + 6, "%zu shapes", rep->n_shapes);
    cr_assert(rep->quick && rep->seconds > 0 && rep->device[0] && rep->platform[0]);
    unsigned per_group[2] = {0, 0};
    for (size_t i = 0; i < rep->n_shapes; i++) {
        const nn_tune_shape *s = &rep->shapes[i];
        const int ops = strcmp(s->group, "ops") == 0;
        cr_assert(ops || strcmp(s->group, "small") == 0, "%s", s->group);
        if (!ops)
            cr_assert_eq(nn_tune_shape_class(s->m, s->n, s->k), NN_TUNE_SMALL, "%s", s->label);
        cr_assert_eq(s->tried, s->build_failed + s->launch_failed + s->verify_failed + s->verified,
                     "%s", s->label);
        cr_assert(s->tried >= 1 && s->tried <= opt.max_candidates, "%s tried %u", s->label,
                  s->tried);
        if (per_group[ops]) cr_assert_eq(s->tried, per_group[ops], "one count per group");
        per_group[ops] = s->tried;
        cr_assert(s->default_rate > 0 && isfinite(s->default_rate), "%s", s->label);
        cr_assert(s->tuned_rate >= s->default_rate, "%s: tuned %g < default %g", s->label,
                  s->tuned_rate, s->default_rate);
        if (strcmp(s->tuned_params, s->default_params) == 0)
            cr_assert_eq(s->tuned_rate, s->default_rate, "%s", s->label);
        cr_assert_str_eq(s->unit, ops ? "Gelem/s" : "GFLOP/s");
        cr_assert(strstr(s->tuned_params, ops ? "wg_1d=" : "wpt_m="), "%s", s->tuned_params);
    }
    cr_assert_eq(rep->candidates, per_group[0] + per_group[1]);
    cr_assert(rep->build_failed + rep->launch_failed + rep->verify_failed <= rep->candidates);

    /* the events: every candidate announced, every timing preceded by a
     * verification of the same candidate on the same shape, nothing timed
     * after a failure */
    size_t cands = 0, timed = 0, final = 0;
    for (size_t i = 0; i < log->n; i++) {
        const char *g = log->e[i].group, *sh = log->e[i].shape;
        const unsigned c = log->e[i].cand;
        switch (log->e[i].ev) {
        case NN_TUNE_EV_CANDIDATE: cands++; break;
        case NN_TUNE_EV_TIMED:
            timed++;
            cr_assert(has_event(log, i, NN_TUNE_EV_VERIFIED, g, c, sh),
                      "%s candidate %u timed on %s before it was verified", g, c, sh);
            cr_assert(!has_event(log, i, NN_TUNE_EV_BUILD_FAILED, g, c, ""));
            for (size_t j = 0; j < i; j++) /* a candidate that failed anywhere is never timed */
                cr_assert(!(log->e[j].cand == c && strcmp(log->e[j].group, g) == 0 &&
                            (log->e[j].ev == NN_TUNE_EV_VERIFY_FAILED ||
                             log->e[j].ev == NN_TUNE_EV_LAUNCH_FAILED)),
                          "%s candidate %u failed, then was timed", g, c);
            cr_assert(log->e[i].rate > 0 && log->e[i].base > 0);
            break;
        case NN_TUNE_EV_ACCEPTED: /* only candidates verified on every shape of their group */
            for (size_t s = 0; s < rep->n_shapes; s++)
                if (strcmp(rep->shapes[s].group, g) == 0)
                    cr_assert(has_event(log, i, NN_TUNE_EV_VERIFIED, g, c, rep->shapes[s].label),
                              "%s candidate %u accepted without verifying %s", g, c,
                              rep->shapes[s].label);
            break;
        case NN_TUNE_EV_FINAL: final++; break;
        default: break;
        }
    }
    cr_assert_eq(cands, rep->candidates);
    cr_assert(timed > 0, "no candidate was timed");
    cr_assert_eq(final, rep->n_shapes);
    /* the stored parameters of each group are the defaults or a verified candidate */
    for (size_t s = 0; s < rep->n_shapes; s++) {
        const nn_tune_shape *sh = &rep->shapes[s];
        if (strcmp(sh->tuned_params, sh->default_params) == 0) continue;
        int found = 0;
        for (size_t i = 0; i < log->n; i++)
            if (log->e[i].ev == NN_TUNE_EV_VERIFIED && strcmp(log->e[i].group, sh->group) == 0 &&
                strcmp(log->e[i].shape, sh->label) == 0 &&
                strcmp(log->e[i].params, sh->tuned_params) == 0)
                found = 1;
        cr_assert(found, "%s: stored parameters %s were never verified on it", sh->label,
                  sh->tuned_params);
    }

    /* saved in the private cache, and used by the next backend */
    cr_assert(rep->saved);
    cr_assert_str_eq(rep->cache_path, cache_file);
    nn_tune_entry_info info;
    cr_assert_eq(nn_tune_device_status(default_device(), &info, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(info.state, NN_TUNE_VALID, "%s", info.detail);
    cr_assert_str_eq(info.params, rep->params);
    cr_assert_str_eq(info.path, cache_file);
    nn_backend *be = open_opencl();
    char params[2048];
    cr_assert_eq(params_of(be, params, sizeof params), NN_TUNE_FROM_CACHE);
    cr_assert_str_eq(params, rep->params);
    cr_assert_str_eq(nn_backend_notes(be), "");
    check_all_classes(be);
    nn_backend_close(be);
    free(rep);
    free(log);
}

Test(tune, stopping_saves_nothing) {
    need_opencl();
    ev_log *log = calloc(1, sizeof *log);
    log->stop_after = 3;
    nn_tune_report *rep = calloc(1, sizeof *rep);
    nn_tune_options opt = nn_tune_options_default();
    opt.quick = 1;
    opt.groups = "ops";
    opt.progress = record;
    opt.user = log;
    nn_error err = {0};
    cr_assert_eq(nn_tune_run(&opt, rep, &err), NN_E_STOPPED, "%s", err.msg);
    cr_assert_eq(log->n, 3);
    cr_assert(!rep->saved);
    cr_assert_eq(access(cache_file, F_OK), -1, "nothing written");
    free(rep);
    free(log);
}

Test(tune, bad_options_are_invalid) {
    need_opencl();
    nn_tune_report *rep = calloc(1, sizeof *rep);
    nn_tune_options opt = nn_tune_options_default();
    nn_error err = {0};
    opt.groups = "small,huge";
    cr_assert_eq(nn_tune_run(&opt, rep, &err), NN_E_INVALID);
    cr_assert(strstr(err.msg, "huge"), "%s", err.msg);
    opt.groups = " , ";
    cr_assert_eq(nn_tune_run(&opt, rep, &err), NN_E_INVALID);
    opt.groups = "ops";
    opt.repeats = 65;
    cr_assert_eq(nn_tune_run(&opt, rep, &err), NN_E_INVALID);
    cr_assert(strstr(err.msg, "repeats"), "%s", err.msg);
    opt.repeats = 0;
    opt.device = "no-such-device-xyz";
    cr_assert_eq(nn_tune_run(&opt, rep, &err), NN_E_INVALID);
    cr_assert(strstr(err.msg, "no-such-device-xyz"), "%s", err.msg);
    cr_assert_eq(access(cache_file, F_OK), -1, "nothing written");
    free(rep);
}

/* ------------------------------------------------------------------ cache */

/* Distinctive but valid values: odd tiles in every class, odd work-groups for the ops. */
static const char DISTINCT[] =
    "wg_1d=48,wg_2d_x=8,wg_2d_y=2,red_wg=32,red_items=3,"
    "small.wpt_m=1,small.wpt_n=2,small.wg_m=3,small.wg_n=1,small.pack_panels=0,"
    "narrow.wpt_m=5,narrow.wpt_n=4,narrow.wg_m=1,narrow.wg_n=6,narrow.direct_max=0,"
    "skinny.wpt_m=6,skinny.wpt_n=8,skinny.wg_m=7,skinny.wg_n=1,skinny.local=1,"
    "skinny.pack_panels=0,skinny.tile_k=3,"
    "medium.wpt_m=2,medium.wpt_n=8,medium.pack_panels=0,medium.local=1,medium.tile_k=7,"
    "large.wpt_m=3,large.wpt_n=4,large.wg_m=2,large.wg_n=5,large.pack_wg=3,large.pack_panels=0,"
    "large.local=1,large.tile_k=5";

/* The reqd_work_group_size of the matmul kernel a product of (m, n, k) launches. */
static void launched_group(nn_backend *be, size_t m, size_t n, size_t k, size_t *wg) {
    const nn_cl_ctx *c = nn_cl_of(be);
    const nn_cl_prog *p = nn_cl_matmul_prog(c, m, n, k);
    cl_kernel kern = p->k[p->mm.local ? NN_K_MATMUL_LOCAL : NN_K_MATMUL];
    cr_assert_eq(clGetKernelWorkGroupInfo(kern, c->device, CL_KERNEL_COMPILE_WORK_GROUP_SIZE,
                                          3 * sizeof *wg, wg, NULL),
                 CL_SUCCESS);
}

Test(tune, backend_launches_the_cached_parameters) {
    need_opencl();
    nn_cl_ident id = my_ident();
    char text[8192];
    forge(&id, NN_CL_CACHE_FORMAT, DISTINCT, text, sizeof text);
    write_cache(text, strlen(text));

    nn_tune_entry_info info;
    nn_error err;
    cr_assert_eq(nn_tune_device_status(default_device(), &info, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(info.state, NN_TUNE_VALID, "%s", info.detail);
    cr_assert(strncmp(info.detail, "tuned 2025-", 11) == 0, "%s", info.detail);

    nn_backend *be = open_opencl();
    char params[2048];
    cr_assert_eq(params_of(be, params, sizeof params), NN_TUNE_FROM_CACHE);
    cr_assert_str_eq(nn_backend_notes(be), "");
    cr_assert(strstr(params, "large.wpt_m=3,large.wpt_n=4,large.wg_m=2,large.wg_n=5"), "%s",
              params);
    cr_assert(strstr(params, "wg_1d=48,") && strstr(params, "red_items=3"), "%s", params);
    /* the programs launched per class carry the cached tiles */
    size_t wg[3];
    launched_group(be, 512, 512, 512, wg);
    cr_assert(wg[0] == 5 && wg[1] == 2 && wg[2] == 1, "large: %zu x %zu", wg[0], wg[1]);
    launched_group(be, 800, 8, 2, wg);
    cr_assert(wg[0] == 1 && wg[1] == 3, "small: %zu x %zu", wg[0], wg[1]);
    launched_group(be, 4096, 1, 64, wg);
    cr_assert(wg[0] == 6 && wg[1] == 1, "narrow: %zu x %zu", wg[0], wg[1]);
    launched_group(be, 4096, 64, 2, wg);
    cr_assert(wg[0] == 1 && wg[1] == 7, "skinny: %zu x %zu", wg[0], wg[1]);
    const nn_cl_ctx *c = nn_cl_of(be);
    cr_assert_eq(c->reduce.red_wg, 32);
    cr_assert_eq(c->tune.wg_1d, 48);
    /* and the results stay right */
    check_all_classes(be);
    nn_backend *cpu = tu_open("cpu", 0);
    float x[3000], t[3000];
    tu_fill_uniform(x, 3000, 5, -3, 3);
    for (int i = 0; i < 3000; i++) t[i] = (float)(i % 2);
    double sums[2];
    nn_backend *bes[2] = {be, cpu};
    for (int s = 0; s < 2; s++) {
        nn_buf *bx = tu_upload(bes[s], x, 3000), *bt = tu_upload(bes[s], t, 3000), *acc;
        float zero[2] = {0, 0};
        acc = tu_upload(bes[s], zero, 2);
        cr_assert_eq(bes[s]->ops->loss_sum(bes[s], NN_LOSS_BCE, (nn_view){acc, 0},
                                           (nn_view){bx, 0}, (nn_view){bt, 0}, 3000, 1, &err),
                     NN_OK, "%s", err.msg);
        float *r = tu_download(bes[s], (nn_view){acc, 0}, 2);
        sums[s] = (double)r[0] + r[1];
        free(r);
        bes[s]->ops->release(bes[s], bx), bes[s]->ops->release(bes[s], bt);
        bes[s]->ops->release(bes[s], acc);
    }
    cr_assert(fabs(sums[0] - sums[1]) <= 2e-6 * fabs(sums[1]), "loss %.9g vs %.9g", sums[0],
              sums[1]);
    nn_backend_close(cpu);
    nn_backend_close(be);
}

Test(tune, env_overrides_the_cache) {
    need_opencl();
    nn_cl_ident id = my_ident();
    char text[8192];
    forge(&id, NN_CL_CACHE_FORMAT, DISTINCT, text, sizeof text);
    write_cache(text, strlen(text));
    cr_assert_eq(setenv("NN_OPENCL_TUNE", "medium.wpt_m=6", 1), 0);
    nn_backend *be = open_opencl();
    char params[2048];
    cr_assert_eq(params_of(be, params, sizeof params), NN_TUNE_FROM_ENV);
    cr_assert(strstr(params, "medium.wpt_m=6") && !strstr(params, "large.wg_n=5") &&
                  !strstr(params, "wg_1d=48"),
              "the cache must not be used: %s", params);
    size_t wg[3];
    launched_group(be, 512, 512, 512, wg);
    cr_assert(!(wg[0] == 5 && wg[1] == 2));
    check_all_classes(be);
    nn_backend_close(be);
}

Test(tune, class_keys_in_the_environment) {
    need_opencl();
    nn_backend *be = NULL;
    nn_error err = {0};
    cr_assert_eq(setenv("NN_OPENCL_TUNE", "huge.wpt_m=3", 1), 0);
    cr_assert_eq(nn_backend_open("opencl", NULL, &be, &err), NN_E_INVALID);
    cr_assert(strstr(err.msg, "shape class"), "%s", err.msg);
    cr_assert_eq(setenv("NN_OPENCL_TUNE", "small.wg_1d=3", 1), 0); /* not a per-class key */
    cr_assert_eq(nn_backend_open("opencl", NULL, &be, &err), NN_E_INVALID);
    cr_assert(strstr(err.msg, "unknown key"), "%s", err.msg);
    cr_assert_eq(setenv("NN_OPENCL_TUNE", "skinny.wpt_n=3", 1), 0);
    cr_assert_eq(nn_backend_open("opencl", NULL, &be, &err), NN_E_INVALID);
    cr_assert(strstr(err.msg, "skinny") && strstr(err.msg, "wpt_n"), "%s", err.msg);
    cr_assert_eq(setenv("NN_OPENCL_TUNE", "cpu,large.direct_max=max,small.wpt_m=2", 1), 0);
    be = open_opencl();
    char params[2048];
    params_of(be, params, sizeof params);
    cr_assert(strstr(params, "large.direct_max=max") && strstr(params, "small.wpt_m=2,") &&
                  strstr(params, "medium.wpt_m=8,"),
              "%s", params);
    check_all_classes(be);
    nn_backend_close(be);
}

/* One way an entry can be unusable: the file's text and what the note must say. */
typedef struct bad_case {
    const char *what;
    char text[16384];
    size_t len;
    const char *expect; /* substring of the note and of nn_tune_device_status's detail */
} bad_case;

/* Open a backend on the cache holding bc's text: it opens on the defaults,
 * says why in its notes, and computes right. */
static void expect_ignored(const bad_case *bc) {
    write_cache(bc->text, bc->len);
    nn_backend *be = NULL;
    nn_error err = {0};
    nn_status st = nn_backend_open("opencl", NULL, &be, &err);
    cr_assert_eq(st, NN_OK, "%s: %s", bc->what, err.msg);
    char params[2048];
    cr_assert_eq(params_of(be, params, sizeof params), NN_TUNE_FROM_DEFAULTS, "%s", bc->what);
    const char *notes = nn_backend_notes(be);
    cr_assert(strstr(notes, bc->expect) && strstr(notes, cache_file) &&
                  strstr(notes, "default launch parameters"),
              "%s: notes '%s' should say '%s'", bc->what, notes, bc->expect);
    nn_backend *cpu = tu_open("cpu", 0);
    check_matmul(be, cpu, 64, 33, 17, 1, 0);
    nn_backend_close(cpu);
    nn_backend_close(be);
    nn_tune_entry_info info;
    cr_assert_eq(nn_tune_device_status(default_device(), &info, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(info.state, NN_TUNE_IGNORED, "%s: state %d", bc->what, (int)info.state);
    cr_assert(strstr(info.detail, bc->expect), "%s: %s", bc->what, info.detail);
}

static void set_text(bad_case *bc, const char *what, const char *text, const char *expect) {
    bc->what = what;
    snprintf(bc->text, sizeof bc->text, "%s", text);
    bc->len = strlen(bc->text);
    bc->expect = expect;
}

Test(tune, stale_corrupt_truncated_and_out_of_range_entries_are_ignored) {
    need_opencl();
    const nn_cl_ident id = my_ident();
    bad_case *bc = calloc(1, sizeof *bc);
    char line[8192];

    nn_cl_ident other = id;
    snprintf(other.driver, sizeof other.driver, "0.0-some-older-driver");
    forge(&other, NN_CL_CACHE_FORMAT, DISTINCT, line, sizeof line);
    set_text(bc, "other driver", line, "driver version");
    expect_ignored(bc);

    other = id;
    other.kernels ^= 1;
    forge(&other, NN_CL_CACHE_FORMAT, DISTINCT, line, sizeof line);
    set_text(bc, "other kernels", line, "other kernel sources");
    expect_ignored(bc);

    forge(&id, NN_CL_CACHE_FORMAT + 1, DISTINCT, line, sizeof line);
    set_text(bc, "newer format", line, "cache format");
    expect_ignored(bc);

    forge(&id, NN_CL_CACHE_FORMAT, DISTINCT, line, sizeof line);
    line[strlen(line) - 30] = '\0'; /* cut inside the checksum, no newline */
    set_text(bc, "truncated", line, "corrupt or truncated");
    expect_ignored(bc);
    line[strlen(line) / 2] = '\0'; /* cut inside the parameters */
    set_text(bc, "truncated more", line, "corrupt or truncated");
    expect_ignored(bc);

    forge(&id, NN_CL_CACHE_FORMAT, DISTINCT, line, sizeof line);
    char *p = strstr(line, "large.wpt_m=3");
    p[strlen("large.wpt_m=")] = '4'; /* a changed value, the old checksum */
    set_text(bc, "edited", line, "corrupt or truncated");
    expect_ignored(bc);

    forge(&id, NN_CL_CACHE_FORMAT, "large.wg_m=100000,large.wg_n=100000", line, sizeof line);
    set_text(bc, "work-group too large", line, "out-of-range");
    expect_ignored(bc);
    forge(&id, NN_CL_CACHE_FORMAT, "small.wpt_n=5", line, sizeof line);
    set_text(bc, "no such vector width", line, "wpt_n");
    expect_ignored(bc);
    forge(&id, NN_CL_CACHE_FORMAT, "small.wpt_m=-1", line, sizeof line);
    set_text(bc, "negative", line, "bad value");
    expect_ignored(bc);
    forge(&id, NN_CL_CACHE_FORMAT, "bogus=1", line, sizeof line);
    set_text(bc, "unknown key", line, "unknown key");
    expect_ignored(bc);
    forge(&id, NN_CL_CACHE_FORMAT, "small.pack_panels=1,small.local=1", line, sizeof line);
    set_text(bc, "contradictory", line, "pack_panels");
    expect_ignored(bc);

    /* garbage: binary bytes with NULs, then a line of text that is no entry */
    bc->what = "binary garbage";
    for (size_t i = 0; i < 3000; i++) bc->text[i] = (char)((i * 7919u + 13u) % 256u);
    bc->len = 3000;
    bc->expect = "not a cache entry";
    expect_ignored(bc);
    set_text(bc, "text garbage", "# a comment\nhello world\n", "line 2 is not a cache entry");
    expect_ignored(bc);

    /* a file too large to be a cache, and a folder where the file should be */
    char *big = malloc((1 << 20) + 100);
    memset(big, '#', (1 << 20) + 99);
    big[(1 << 20) + 99] = '\n';
    write_cache(big, (1 << 20) + 100);
    free(big);
    nn_tune_entry_info info;
    nn_error err;
    cr_assert_eq(nn_tune_device_status(default_device(), &info, &err), NN_OK);
    cr_assert(info.state == NN_TUNE_IGNORED && strstr(info.detail, "larger than 1 MiB"), "%s",
              info.detail);
    cr_assert_eq(remove(cache_file), 0);
    cr_assert_eq(mkdir(cache_file, 0700), 0);
    nn_backend *be = open_opencl();
    cr_assert(strstr(nn_backend_notes(be), "cannot read"), "%s", nn_backend_notes(be));
    nn_backend_close(be);
    cr_assert_eq(rmdir(cache_file), 0);
    free(bc);
}

Test(tune, unrelated_or_empty_caches_say_nothing) {
    need_opencl();
    nn_cl_ident other = my_ident();
    snprintf(other.device, sizeof other.device, "Some Other Device");
    char line[8192], text[16384];
    forge(&other, NN_CL_CACHE_FORMAT, "small.wpt_n=5", line, sizeof line); /* not ours */
    static const char *const texts[] = {"", "# only a comment\n\n"};
    for (int i = 0; i < 3; i++) {
        snprintf(text, sizeof text, "%s", i < 2 ? texts[i] : line);
        write_cache(text, strlen(text));
        nn_backend *be = open_opencl();
        char params[2048];
        cr_assert_eq(params_of(be, params, sizeof params), NN_TUNE_FROM_DEFAULTS);
        cr_assert_str_eq(nn_backend_notes(be), "", "case %d", i);
        nn_backend_close(be);
        nn_tune_entry_info info;
        nn_error err;
        cr_assert_eq(nn_tune_device_status(default_device(), &info, &err), NN_OK);
        cr_assert_eq(info.state, NN_TUNE_NONE, "case %d: %s", i, info.detail);
    }
    cr_assert_eq(remove(cache_file), 0); /* and no file at all */
    nn_tune_entry_info info;
    nn_error err;
    cr_assert_eq(nn_tune_device_status(default_device(), &info, &err), NN_OK);
    cr_assert_eq(info.state, NN_TUNE_NONE);
    cr_assert_str_eq(info.path, cache_file);
    cr_assert_eq(nn_tune_device_status(100000, &info, &err), NN_E_INVALID);
}

/* A kernels folder whose matmul.cl refuses to build with WPT_M == 3. */
static char *kernels_rejecting_wpt_m_3(void) {
    return tu_kernel_copy("matmul.cl",
                          "#if defined(WPT_M) && WPT_M == 3\n#error tuned value rejected\n#endif\n",
                          NULL);
}

Test(tune, an_entry_that_does_not_build_falls_back_to_the_defaults) {
    need_opencl();
    char *dir = kernels_rejecting_wpt_m_3();
    cr_assert_eq(setenv("NN_KERNEL_DIR", dir, 1), 0);
    nn_cl_ident id = my_ident(); /* hash of these kernels: the entry is current */
    char text[8192];
    forge(&id, NN_CL_CACHE_FORMAT, DISTINCT, text, sizeof text);
    write_cache(text, strlen(text));
    nn_backend *be = open_opencl();
    char params[2048];
    cr_assert_eq(params_of(be, params, sizeof params), NN_TUNE_FROM_DEFAULTS);
    cr_assert(strstr(nn_backend_notes(be), "failed to build") &&
                  strstr(nn_backend_notes(be), "default launch parameters"),
              "%s", nn_backend_notes(be));
    check_all_classes(be);
    nn_backend_close(be);
    free(dir);
}

/* Names in the cache folder other than the cache file (temporary files left behind). */
static int stray_files(void) {
    char dir[600];
    snprintf(dir, sizeof dir, "%s/nnbench", cache_home);
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
            strcmp(e->d_name, "opencl-tune.txt"))
            n++;
    closedir(d);
    return n;
}

Test(tune, saving_replaces_this_device_and_keeps_the_others) {
    need_opencl();
    nn_cl_ident id = my_ident(), other = id;
    snprintf(other.device, sizeof other.device, "Another GPU");
    char mine[8192], theirs[8192], text[20000];
    forge(&other, NN_CL_CACHE_FORMAT, "large.wpt_m=2", theirs, sizeof theirs);
    forge(&id, NN_CL_CACHE_FORMAT, DISTINCT, mine, sizeof mine);
    snprintf(text, sizeof text, "# old comment\n%sgarbage line\n%s", theirs, mine);
    write_cache(text, strlen(text));

    nn_cl_tune t;
    nn_cl_tune_defaults(CL_DEVICE_TYPE_CPU, 256, &t);
    t.mm[NN_TUNE_MEDIUM].wpt_m = 5;
    nn_error err;
    char path[1024];
    for (int round = 0; round < 2; round++) { /* twice: still one line for this device */
        cr_assert_eq(nn_cl_cache_save(&id, &t, path, sizeof path, &err), NN_OK, "%s", err.msg);
        cr_assert_str_eq(path, cache_file);
        char *saved = read_cache();
        cr_assert_not_null(saved);
        cr_assert(strstr(saved, theirs), "the other device's entry is kept verbatim:\n%s", saved);
        cr_assert(!strstr(saved, "garbage line") && !strstr(saved, "old comment"), "%s", saved);
        size_t lines = 0;
        for (char *q = saved; (q = strstr(q, NN_CL_CACHE_MAGIC)); q++) lines++;
        cr_assert_eq(lines, 2, "%s", saved);
        free(saved);
        cr_assert_eq(stray_files(), 0, "no temporary file is left");
    }
    nn_backend *be = open_opencl();
    char params[2048];
    cr_assert_eq(params_of(be, params, sizeof params), NN_TUNE_FROM_CACHE);
    cr_assert(strstr(params, "medium.wpt_m=5,"), "%s", params);
    nn_backend_close(be);
}

Test(tune, saving_into_an_unwritable_place_fails_cleanly) {
    need_opencl();
    nn_cl_ident id = my_ident();
    nn_cl_tune t;
    nn_cl_tune_defaults(CL_DEVICE_TYPE_CPU, 256, &t);
    char file[700];
    snprintf(file, sizeof file, "%s/blocker", cache_home); /* a file where a folder must go */
    FILE *f = fopen(file, "w");
    cr_assert_not_null(f);
    fclose(f);
    cr_assert_eq(setenv("XDG_CACHE_HOME", file, 1), 0);
    nn_error err = {0};
    cr_assert_eq(nn_cl_cache_save(&id, &t, NULL, 0, &err), NN_E_IO);
    cr_assert(strstr(err.msg, file), "%s", err.msg);
}

#endif /* NN_HAVE_OPENCL */

/* ------------------------------------------------------------ without a device */

Test(tune, cache_path_follows_xdg_then_home) {
    char buf[1024];
    nn_error err = {0};
    cr_assert_eq(nn_tune_cache_path(buf, sizeof buf, &err), NN_OK, "%s", err.msg);
    cr_assert_str_eq(buf, cache_file);
    cr_assert_eq(setenv("HOME", "/nonexistent-home", 1), 0);
    cr_assert_eq(setenv("XDG_CACHE_HOME", "relative/path", 1), 0); /* invalid per XDG: ignored */
    cr_assert_eq(nn_tune_cache_path(buf, sizeof buf, &err), NN_OK);
    cr_assert_str_eq(buf, "/nonexistent-home/.cache/nnbench/opencl-tune.txt");
    cr_assert_eq(unsetenv("XDG_CACHE_HOME"), 0);
    cr_assert_eq(nn_tune_cache_path(buf, sizeof buf, &err), NN_OK);
    cr_assert_str_eq(buf, "/nonexistent-home/.cache/nnbench/opencl-tune.txt");
    cr_assert_eq(nn_tune_cache_path(buf, 10, &err), NN_E_INVALID);
    cr_assert_eq(unsetenv("HOME"), 0);
    cr_assert_eq(nn_tune_cache_path(buf, sizeof buf, &err), NN_E_UNAVAILABLE);
    cr_assert(strstr(err.msg, "HOME"), "%s", err.msg);
}

Test(tune, shape_classes) {
    cr_assert_eq(nn_tune_shape_class(800, 8, 2), NN_TUNE_SMALL);
    cr_assert_eq(nn_tune_shape_class(0, 0, 0), NN_TUNE_SMALL);
    cr_assert_eq(nn_tune_shape_class(64, 64, 32), NN_TUNE_SMALL);    /* 2^17 */
    cr_assert_eq(nn_tune_shape_class(64, 64, 33), NN_TUNE_MEDIUM);
    cr_assert_eq(nn_tune_shape_class(4096, 1, 64), NN_TUNE_NARROW);
    cr_assert_eq(nn_tune_shape_class(4096, 15, 64), NN_TUNE_NARROW);
    cr_assert_eq(nn_tune_shape_class(4096, 16, 64), NN_TUNE_SKINNY);
    cr_assert_eq(nn_tune_shape_class(4096, 64, 1), NN_TUNE_SKINNY);  /* k small */
    cr_assert_eq(nn_tune_shape_class(2, 64, 4096), NN_TUNE_SKINNY);  /* m small */
    cr_assert_eq(nn_tune_shape_class(256, 64, 64), NN_TUNE_MEDIUM);
    cr_assert_eq(nn_tune_shape_class(255, 256, 256), NN_TUNE_MEDIUM);
    cr_assert_eq(nn_tune_shape_class(256, 256, 256), NN_TUNE_LARGE); /* 2^24 */
    cr_assert_eq(nn_tune_shape_class(100000, 16, 100000), NN_TUNE_SKINNY);
    cr_assert_str_eq(nn_tune_class_name(NN_TUNE_SKINNY), "skinny");
    cr_assert_str_eq(nn_tune_class_name(NN_TUNE_NARROW), "narrow");
    cr_assert_str_eq(nn_tune_class_name(NN_TUNE_CLASSES), "?");
    nn_tune_options o = nn_tune_options_default();
    cr_assert(o.save && !o.quick && !o.device && !o.groups && !o.progress);
}

Test(tune, backend_params_need_an_opencl_backend) {
    nn_backend *cpu = tu_open("cpu", 1);
    char buf[64];
    nn_error err = {0};
    nn_status st = nn_tune_backend_params(cpu, NULL, buf, sizeof buf, &err);
    cr_assert(st == NN_E_INVALID || st == NN_E_UNAVAILABLE, "%d", (int)st);
    cr_assert_str_eq(nn_backend_notes(cpu), "");
    nn_backend_close(cpu);
#ifdef NN_HAVE_OPENCL
    need_opencl();
    nn_backend *be = open_opencl();
    cr_assert_eq(nn_tune_backend_params(be, NULL, buf, sizeof buf, &err), NN_E_INVALID);
    nn_backend_close(be);
#endif
}
