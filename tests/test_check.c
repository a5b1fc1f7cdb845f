/* test_check.c — `nnbench check` as a user sees it: the one-step table with
 * every quantity, the free-running trajectories, which steps are checked
 * (--check-every, and the automatic stride), the --help text stating the
 * tolerance's derivation, bad values of its option. (Its verdicts on
 * mutated kernels: test_mutation*.c.) Runs that need OpenCL are skipped
 * without a device. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define RUN(...) tu_run_nnbench((const char *const[]){__VA_ARGS__, NULL}, NULL, NULL)

/* The result, or a skipped test when no OpenCL device can be used. */
static tu_result device_run(tu_result r) {
    if (r.status == 3) {
        tu_result_free(&r);
        cr_skip_test("no OpenCL device");
    }
    return r;
}

Test(check, help_states_the_tolerance_and_its_derivation) {
    tu_result r = RUN("check", "--help");
    cr_assert_eq(r.status, 0);
    const char *want[] = {"usage: nnbench check", "one-step errors",
                          "gamma_K = K u / (1 - K u), u = 2^-24", "kink", "Adam",
                          "|x_opencl - x_cpu| <= 2 E(x)", "--check-every", "chaotic"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_assert(strstr(r.out, want[i]), "check --help lacks \"%s\":\n%s", want[i], r.out);
    tu_result_free(&r);
}

Test(check, check_every_rejects_bad_values) {
    const char *bad[] = {"abc", "-1", "1.5", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tu_result r = RUN("check", "--check-every", bad[i]);
        cr_assert_eq(r.status, 2, "--check-every '%s': exit %d\n%s", bad[i], r.status, r.err);
        cr_assert(strstr(r.err, "--check-every"), "names the option: %s", r.err);
        cr_assert_eq(strchr(r.err, '\n'), r.err + strlen(r.err) - 1, "one line: %s", r.err);
        tu_result_free(&r);
    }
}

Test(check, default_run_shows_every_quantity_and_both_comparisons) {
    tu_result r = device_run(RUN("check", "--epochs", "30", "--log-every", "10"));
    cr_assert_eq(r.status, 0, "%s\n%s", r.out, r.err);
    /* circles 2-8-1 relu, bce, sgd: every quantity of both layers, no moments */
    const char *rows[] = {"\n      1 Z ", "\n      1 A ", "\n      1 dW ", "\n      1 db ",
                          "\n      1 update ", "\n      2 Z ", "\n      2 A ", "\n      2 loss ",
                          "\n      2 dW ", "\n      2 db ", "\n      2 update "};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        cr_assert(strstr(r.out, rows[i]), "no row \"%s\":\n%s", rows[i] + 1, r.out);
    cr_assert(!strstr(r.out, " m ") && !strstr(r.out, " v "), "sgd has no moments:\n%s", r.out);
    cr_assert(strstr(r.out, "every step, 30\n"), "%s", r.out);
    cr_assert(strstr(r.out, "relu kinks: "), "%s", r.out);
    cr_assert(strstr(r.out, "free-running trajectories (information only"), "%s", r.out);
    const char *epochs[] = {"\n         0 ", "\n        10 ", "\n        20 ", "\n        29 "};
    for (size_t i = 0; i < 4; i++)
        cr_assert(strstr(r.out, epochs[i]), "a trajectory row for epoch%s:\n%s", epochs[i], r.out);
    cr_assert(strstr(r.out, "the trajectories stay together"), "%s", r.out);
    cr_assert(strstr(r.out, "\nPASS: every element of 30 checked steps"), "%s", r.out);
    tu_result_free(&r);
}

Test(check, check_every_k_checks_a_stride_and_the_last_step) {
    tu_result r = device_run(RUN("check", "--epochs", "30", "--check-every", "7"));
    cr_assert_eq(r.status, 0, "%s\n%s", r.out, r.err);
    /* steps 0, 7, 14, 21, 28 and the last, 29 */
    cr_assert(strstr(r.out, "every 7 steps and the last, 6 of 30\n"), "%s", r.out);
    tu_result_free(&r);
}

/* 100 steps per epoch, 2000 in all: about 1000 checks, at a stride prime to
 * 100 so that every batch position of an epoch gets checked. */
Test(check, automatic_stride_is_prime_to_the_steps_per_epoch) {
    tu_result r = device_run(RUN("check", "--dataset", "spirals", "--classes", "3", "--batch",
                                 "8", "--epochs", "20", "--layers", "2,4,3"));
    cr_assert_eq(r.status, 0, "%s\n%s", r.out, r.err);
    cr_assert(strstr(r.out, "every 3 steps and the last, 668 of 2000\n"), "%s", r.out);
    cr_assert(strstr(r.out, "\nPASS: "), "%s", r.out);
    tu_result_free(&r);
}

/* A reference that diverges leaves nothing to judge: said so, exit 1, no verdict. */
Test(check, a_diverging_cpu_run_is_reported_not_judged) {
    tu_result r = device_run(RUN("check", "--lr", "1e4", "--epochs", "50"));
    cr_assert_eq(r.status, 1, "%s\n%s", r.out, r.err);
    cr_assert(strstr(r.err, "the cpu training diverged") && strstr(r.err, "--lr"), "%s", r.err);
    cr_assert(!strstr(r.out, "PASS") && !strstr(r.out, "FAIL"), "%s", r.out);
    tu_result_free(&r);
}
