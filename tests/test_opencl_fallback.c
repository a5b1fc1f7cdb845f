/* test_opencl_fallback.c — behaviour without any OpenCL platform: each test
 * points the ICD loader (OCL_ICD_VENDORS) at an empty folder before the
 * process makes its first OpenCL call (Criterion runs every test in its own
 * process), then checks that "opencl" is unavailable with a reason, that
 * "auto" opens the CPU backend, and that `nnbench devices` says so and exits 0. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "testutil.h"
#include "nn_tools.h"

/* Make the ICD loader see no platform; returns the empty folder (malloc'ed). */
static char *hide_platforms(void) {
    char *dir = tu_tmpdir();
    cr_assert_eq(setenv("OCL_ICD_VENDORS", dir, 1), 0);
    return dir;
}

Test(opencl_fallback, opencl_is_unavailable_with_the_reason) {
    char *dir = hide_platforms();
    nn_backend *be = NULL;
    nn_error err = {0};
    nn_status st = nn_backend_open("opencl", NULL, &be, &err);
    cr_assert_eq(st, NN_E_UNAVAILABLE, "status %d: %s", st, err.msg);
    cr_assert_null(be);
    cr_assert(strstr(err.msg, "platform") || strstr(err.msg, "without OpenCL") ||
                  strstr(err.msg, "no OpenCL support"),
              "the message names the reason: %s", err.msg);
#ifdef NN_HAVE_OPENCL
    cr_assert(strstr(err.msg, "CL_PLATFORM_NOT_FOUND_KHR") || strstr(err.msg, "0 platforms"),
              "the message decodes the OpenCL status: %s", err.msg);
#endif
    tu_rmtree(dir);
}

Test(opencl_fallback, auto_opens_the_cpu_backend) {
    char *dir = hide_platforms();
    nn_backend *be = NULL;
    nn_error err = {0};
    cr_assert_eq(nn_backend_open("auto", NULL, &be, &err), NN_OK, "%s", err.msg);
    cr_assert_str_eq(nn_backend_name(be), "cpu");
    nn_backend_close(be);
    tu_rmtree(dir);
}

Test(opencl_fallback, device_queries_do_not_fail) {
    char *dir = hide_platforms();
#ifdef NN_HAVE_OPENCL
    cr_assert_eq(nn_opencl_has_gpu(), 0);
    nn_opencl_device_info *devs = NULL;
    nn_opencl_platform_info *pfs = NULL;
    size_t n = 1;
    nn_error err = {0};
    cr_assert_eq(nn_opencl_list_devices(&devs, &n, &err), NN_E_UNAVAILABLE);
    cr_assert(devs == NULL && n == 0);
    cr_assert_eq(nn_opencl_list_platforms(&pfs, &n, &err), NN_E_UNAVAILABLE);
    cr_assert(pfs == NULL && n == 0);
    /* a device named explicitly is still unavailable, not invalid */
    nn_backend_config cfg = {0, "0", 0};
    nn_backend *be = NULL;
    cr_assert_eq(nn_backend_open("opencl", &cfg, &be, &err), NN_E_UNAVAILABLE, "%s", err.msg);
#endif
    tu_rmtree(dir);
}

Test(opencl_fallback, devices_command_says_so_in_one_line) {
    char *dir = tu_tmpdir();
    char env[1100];
    snprintf(env, sizeof env, "OCL_ICD_VENDORS=%s", dir);
    const char *const envs[] = {env, NULL};
    const char *const args[] = {"devices", NULL};
    tu_result r = tu_run_nnbench(args, envs, NULL);
    cr_assert_eq(r.status, 0, "exit %d, stderr: %s", r.status, r.err);
    char *nl = strchr(r.out, '\n');
    cr_assert(nl && nl[1] == '\0', "one line: [%s]", r.out);
    cr_assert(strstr(r.out, "platform") || strstr(r.out, "without OpenCL"), "%s", r.out);
    tu_result_free(&r);
    tu_rmtree(dir);
}

Test(opencl_fallback, devices_command_options) {
    const char *const help[] = {"devices", "--help", NULL};
    tu_result r = tu_run_nnbench(help, NULL, NULL);
    cr_assert_eq(r.status, 0);
    cr_assert(strstr(r.out, "usage: nnbench devices"), "%s", r.out);
    tu_result_free(&r);
    const char *const bad[] = {"devices", "--frobnicate", NULL};
    r = tu_run_nnbench(bad, NULL, NULL);
    cr_assert_eq(r.status, 2);
    cr_assert(strstr(r.err, "--frobnicate"), "%s", r.err);
    char *nl = strchr(r.err, '\n');
    cr_assert(nl && nl[1] == '\0', "one line on stderr: [%s]", r.err);
    tu_result_free(&r);
}

Test(opencl_fallback, devices_command_lists_the_devices) {
    const char *const args[] = {"devices", NULL};
    tu_result r = tu_run_nnbench(args, NULL, NULL);
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cr_assert(strstr(r.out, "auto"), "%s", r.out);
#ifdef NN_HAVE_OPENCL
    nn_opencl_device_info *devs = NULL;
    size_t n = 0;
    nn_error err = {0};
    if (nn_opencl_list_devices(&devs, &n, &err) == NN_OK) {
        for (size_t i = 0; i < n; i++) {
            cr_assert(strstr(r.out, devs[i].name), "device %zu missing: %s", i, r.out);
            cr_assert(strstr(r.out, devs[i].c_version), "%s", r.out);
        }
        cr_assert(strstr(r.out, "[0]"), "%s", r.out);
        free(devs);
    }
#endif
    tu_result_free(&r);
}
