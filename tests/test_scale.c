/* test_scale.c — `nnbench scale`: a small sweep writes its rows and charts;
 * invalid values fail before anything runs; streamed memory stays bounded. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

Test(scale, small_sweep_writes_rows_and_charts) {
    char *dir = tu_tmpdir();
    char out[600];
    snprintf(out, sizeof out, "%s/res", dir);
    tu_result r = tu_run_nnbench((const char *const[]){"scale", "--samples", "2k,8k", "--hidden",
                                                       "8,16", "--features", "4", "--repeats", "2",
                                                       "--batch", "64", "--out", out, NULL},
                                 NULL, NULL);
    cr_assert_eq(r.status, 0, "%s\n%s", r.out, r.err);
    char path[700];
    snprintf(path, sizeof path, "%s/scale.csv", out);
    char *csv = tu_read_file(path);
    cr_assert_not_null(csv);
    cr_assert_eq(count_lines(csv), 5, "header + 4 rows:\n%s", csv);
    cr_assert(strstr(csv, "samples_per_second_median") != NULL);
    for (const char *row = strchr(csv, '\n') + 1; *row; row = strchr(row, '\n') + 1)
        cr_assert(strncmp(strchr(row, '\n') - 3, ",ok", 3) == 0, "row not ok: %.200s", row);
    snprintf(path, sizeof path, "%s/scale.json", out);
    char *json = tu_read_file(path);
    cr_assert_not_null(json);
    int objects = 0;
    for (const char *p = json; (p = strstr(p, "\"samples_per_second_median\"")); p++) objects++;
    cr_assert_eq(objects, 4);
    cr_assert(json[0] == '[' && strstr(json, "]\n") != NULL);
    struct stat st;
    snprintf(path, sizeof path, "%s/throughput_vs_samples.svg", out);
    cr_assert_eq(stat(path, &st), 0, "missing %s", path);
    snprintf(path, sizeof path, "%s/throughput_vs_hidden.svg", out);
    cr_assert_eq(stat(path, &st), 0, "missing %s", path);
    free(csv), free(json);
    tu_rmtree(dir);
    tu_result_free(&r);
}

Test(scale, invalid_value_fails_before_running) {
    char *dir = tu_tmpdir();
    char out[600];
    snprintf(out, sizeof out, "%s/res", dir);
    const char *bad[][3] = {{"--samples", "1e4,abc", "abc"}, {"--hidden", "8,0", "--hidden"},
                            {"--threads", "1,-2", "--threads"}, {"--backend", "cpu,cuda", "cuda"},
                            {"--batch", "1e7", "--batch"}, {"--depth", "2,,3", "--depth"}};
    tu_result big = tu_run_nnbench((const char *const[]){"scale", "--samples", "1000", "--batch",
                                                         "2000", "--out", out, NULL}, NULL, NULL);
    cr_assert_eq(big.status, 2);
    cr_assert(strstr(big.err, "2000 is larger than the 990 training samples") != NULL, "%s", big.err);
    tu_result_free(&big);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tu_result r = tu_run_nnbench((const char *const[]){"scale", "--samples", "1e4", bad[i][0],
                                                           bad[i][1], "--out", out, NULL},
                                     NULL, NULL);
        cr_assert_eq(r.status, 2, "%s %s: exit %d", bad[i][0], bad[i][1], r.status);
        cr_assert(strstr(r.err, bad[i][2]) != NULL, "%s", r.err);
        struct stat st;
        cr_assert_neq(stat(out, &st), 0, "%s %s: output written before validation", bad[i][0], bad[i][1]);
        tu_result_free(&r);
    }
    tu_rmtree(dir);
}

/* Peak RSS column of data row `row` (0 = first after the header) of a scale CSV. */
static double peak_mb(const char *csv, int row) {
    const char *p = csv;
    for (int i = 0; i <= row; i++) {
        p = strchr(p, '\n');
        cr_assert_not_null(p, "no row %d in:\n%s", row, csv);
        p++;
    }
    for (int col = 0; col < 20; col++) { /* peak_rss_mb is the 21st column */
        p = strchr(p, ',');
        cr_assert_not_null(p);
        p++;
    }
    return atof(p);
}

Test(scale, streamed_memory_does_not_grow_with_samples) {
    char *dir = tu_tmpdir();
    char out[600];
    snprintf(out, sizeof out, "%s/res", dir);
    tu_result r = tu_run_nnbench((const char *const[]){"scale", "--samples", "6e5,3e6", "--hidden",
                                                       "8", "--depth", "1", "--features", "4",
                                                       "--batch", "4096", "--repeats", "1",
                                                       "--warmup", "0", "--out", out, NULL},
                                 NULL, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    char path[700];
    snprintf(path, sizeof path, "%s/scale.csv", out);
    char *csv = tu_read_file(path);
    /* both sizes stream in chunks of the same rows: memory must not follow the sample count */
    double small = peak_mb(csv, 0), big = peak_mb(csv, 1);
    cr_assert(small > 1 && big > 1, "%s", csv);
    cr_assert(big < small + 8.0, "5x the samples grew peak RSS from %.1f to %.1f MB", small, big);
    free(csv);
    tu_rmtree(dir);
    tu_result_free(&r);
}
