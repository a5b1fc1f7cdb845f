/* test_cli_tune.c — `nnbench tune` as a user runs it: a search of one group
 * writes the per-device cache, `nnbench devices` then says the device is
 * tuned and `--backend opencl` uses it; a damaged cache entry is ignored with
 * one warning; bad options are one line and exit 2. Skipped without OpenCL. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static void need_opencl(void) {
    nn_backend *be = tu_open_opencl();
    if (!be) cr_skip_test("no usable OpenCL device");
    nn_backend_close(be);
}

/* XDG_CACHE_HOME=dir as an environment entry (malloc'd). */
static char *cache_env(const char *dir) {
    char *e = malloc(strlen(dir) + 32);
    sprintf(e, "XDG_CACHE_HOME=%s", dir);
    return e;
}

Test(cli_tune, a_search_fills_the_cache_that_devices_and_the_backend_read, .timeout = 300) {
    need_opencl();
    char *dir = tu_tmpdir();
    char *env_entry = cache_env(dir);
    const char *env[] = {env_entry, NULL};
    tu_result r = tu_run_nnbench((const char *const[]){"devices", NULL}, env, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.out, "tuning: not tuned") != NULL, "%s", r.out);
    tu_result_free(&r);

    r = tu_run_nnbench((const char *const[]){"tune", "--quick", "--groups", "small", "--json",
                                             "-", NULL}, env, NULL);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_assert(strstr(r.err, "small   NN 800x8x2") != NULL, "the table names the shapes: %s", r.err);
    cr_assert(strstr(r.err, "saved to ") != NULL, "%s", r.err);
    cr_assert(strstr(r.out, "\"tuned_rate\": ") != NULL, "JSON report on stdout: %s", r.out);
    tu_result_free(&r);

    char *cache = tu_path(dir, "nnbench/opencl-tune.txt");
    char *text = tu_read_file(cache);
    cr_assert_not_null(text, "no cache file %s", cache);
    r = tu_run_nnbench((const char *const[]){"devices", NULL}, env, NULL);
    cr_assert(strstr(r.out, "tuning: tuned ") != NULL, "%s", r.out);
    tu_result_free(&r);
    r = tu_run_nnbench((const char *const[]){"--backend", "opencl", "--epochs", "5", "--quiet",
                                             NULL}, env, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.err, "warning") == NULL, "a valid cache gives no warning: %s", r.err);
    tu_result_free(&r);

    /* Damage the entry: one warning, the defaults, the same training. */
    char *bad = strstr(text, "small.wpt_n=");
    cr_assert_not_null(bad, "%s", text);
    bad[strlen("small.wpt_n=")] = bad[strlen("small.wpt_n=")] == '9' ? '8' : '9';
    FILE *f = fopen(cache, "w");
    fputs(text, f);
    fclose(f);
    r = tu_run_nnbench((const char *const[]){"--backend", "opencl", "--epochs", "5", "--quiet",
                                             NULL}, env, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.err, "nnbench: warning: OpenCL tuning cache") != NULL, "%s", r.err);
    cr_assert(strstr(r.err, "using the default launch parameters") != NULL, "%s", r.err);
    tu_result_free(&r);
    r = tu_run_nnbench((const char *const[]){"devices", NULL}, env, NULL);
    cr_assert(strstr(r.out, "tuning: cache entry ignored") != NULL, "%s", r.out);
    tu_result_free(&r);
    free(text), free(cache), free(env_entry);
    tu_rmtree(dir);
}

Test(cli_tune, bad_options_are_one_line_and_exit_2) {
    need_opencl(); /* groups are checked once a device is open */
    char *dir = tu_tmpdir();
    char *env_entry = cache_env(dir);
    const char *env[] = {env_entry, NULL};
    const char *const cases[][4] = {
        {"tune", "--groups", "small,bogus", NULL},
        {"tune", "--quick", "--frobnicate", NULL},
        {"tune", "--device", NULL, NULL},
    };
    const char *needles[] = {"--groups: unknown group 'bogus'", "--frobnicate", "--device"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tu_result r = tu_run_nnbench(cases[i], env, NULL);
        cr_assert_eq(r.status, 2, "case %zu: exit %d: %s", i, r.status, r.err);
        cr_assert(strstr(r.err, needles[i]) != NULL, "case %zu: %s", i, r.err);
        cr_assert(strchr(r.err, '\n') == r.err + strlen(r.err) - 1, "not one line: %s", r.err);
        tu_result_free(&r);
    }
    free(env_entry);
    tu_rmtree(dir);
}
