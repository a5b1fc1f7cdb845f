/* test_cli.c — nnbench as a user runs it: the default experiment's output,
 * the JSON record, the plot, and one clear line with exit code 2 for every
 * kind of bad input. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#define RUN(...) tu_run_nnbench((const char *const[]){__VA_ARGS__, NULL}, NULL, NULL)

/* Assert a usage error: exit 2, one line on stderr containing `needle`, no stdout results. */
static void expect_usage_error(tu_result r, const char *needle) {
    cr_assert_eq(r.status, 2, "exit %d, stderr: %s", r.status, r.err);
    cr_assert(strstr(r.err, needle) != NULL, "stderr lacks '%s': %s", needle, r.err);
    cr_assert(strncmp(r.err, "nnbench: ", 9) == 0, "stderr: %s", r.err);
    cr_assert(strchr(r.err, '\n') == r.err + strlen(r.err) - 1, "not one line: %s", r.err);
    cr_assert(strstr(r.out, "Test accuracy") == NULL);
    tu_result_free(&r);
}

Test(cli, default_run_prints_the_tutorial_lines) {
    tu_result r = tu_run_nnbench((const char *const[]){NULL}, NULL, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    for (int e = 0; e < 1000; e += 100) {
        char line[64];
        snprintf(line, sizeof line, "\nEpoch %d: Loss = 0.", e);
        cr_assert(strstr(r.out, line) != NULL, "missing '%s' in:\n%s", line + 1, r.out);
    }
    int lines = 0;
    for (const char *p = r.out; (p = strstr(p, "Epoch ")); p++) lines++;
    cr_assert_eq(lines, 10, "the tutorial prints 10 loss lines:\n%s", r.out);
    const char *acc = strstr(r.out, "Test accuracy: ");
    cr_assert_not_null(acc);
    double a = atof(acc + strlen("Test accuracy: "));
    cr_assert_geq(a, 0.70);
    cr_assert(strstr(r.out, "Backend: cpu") != NULL);
    cr_assert(strstr(r.out, "samples/s") != NULL);
    tu_result_free(&r);
}

Test(cli, json_record_has_the_documented_keys) {
    char *dir = tu_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/run.json", dir);
    tu_result r = RUN("--epochs", "200", "--json", path, "--quiet");
    cr_assert_eq(r.status, 0, "%s", r.err);
    char *buf = tu_read_file(path);
    cr_assert_not_null(buf);
    const char *keys[] = {"requested_backend", "backend", "device", "threads", "dataset",
                          "samples", "layers", "optimizer", "lr", "epochs", "batch", "seed",
                          "final_loss", "train_accuracy", "test_accuracy", "train_seconds",
                          "samples_per_second", "gflops", "peak_rss_mb", "loss_curve"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char k[64];
        snprintf(k, sizeof k, "\"%s\": ", keys[i]);
        cr_assert(strstr(buf, k) != NULL, "missing key %s in %s", keys[i], buf);
    }
    cr_assert(strstr(buf, "\"backend\": \"cpu\"") != NULL);
    cr_assert(strstr(buf, "\"epochs\": 200") != NULL);
    cr_assert(strstr(buf, "\"layers\": \"2-8-1\"") != NULL);
    cr_assert(strstr(buf, "null") == NULL || strstr(buf, "\"fallback_reason\": null") != NULL,
              "a value is null: %s", buf);
    /* loss_curve: epochs 0, 100 and 199 */
    const char *lc = strstr(buf, "\"loss_curve\": [");
    int commas = 0;
    for (const char *p = lc; *p && *p != ']'; p++) commas += *p == ',';
    cr_assert_eq(commas, 2, "loss_curve: %.80s", lc);
    free(buf);
    tu_result_free(&r);
    tu_rmtree(dir);
}

Test(cli, json_to_stdout_is_the_only_thing_on_stdout) {
    tu_result r = RUN("--epochs", "10", "--json", "-");
    cr_assert_eq(r.status, 0);
    cr_assert_eq(r.out[0], '{', "%s", r.out);
    cr_assert(strstr(r.out, "\"final_loss\": ") != NULL);
    cr_assert(strstr(r.out, "Epoch") == NULL && strstr(r.err, "Epoch 0: Loss") != NULL);
    cr_assert_eq(r.out[strlen(r.out) - 2], '}');
    tu_result_free(&r);
}

Test(cli, without_a_test_set_test_figures_are_null) {
    tu_result r = RUN("--epochs", "10", "--test-fraction", "0", "--json", "-", "--quiet");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.out, "\"test_accuracy\": null") != NULL, "%s", r.out);
    tu_result_free(&r);
}

Test(cli, unwritable_json_fails_before_training) {
    tu_result r = RUN("--json", "/nonexistent-dir/r.json");
    cr_assert_eq(r.status, 2);
    cr_assert(strstr(r.err, "--json") != NULL);
    cr_assert(strstr(r.out, "Epoch") == NULL, "trained anyway: %s", r.out);
    tu_result_free(&r);
    r = RUN("--json", "/dev/full", "--epochs", "3", "--quiet");
    cr_assert_eq(r.status, 1, "a failed write is an error");
    tu_result_free(&r);
}

Test(cli, check_rejects_options_it_cannot_honour) {
    expect_usage_error(RUN("check", "--json", "x.json"), "check");
    expect_usage_error(RUN("check", "--backend", "opencl"), "check");
    expect_usage_error(RUN("--device", "0"), "--device");
}

Test(cli, plot_writes_an_svg) {
    char *dir = tu_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/b.svg", dir);
    tu_result r = RUN("--epochs", "50", "--plot", path, "--quiet");
    cr_assert_eq(r.status, 0, "%s", r.err);
    char *svg = tu_read_file(path);
    cr_assert(svg && strncmp(svg, "<svg", 4) == 0 && strstr(svg, "</svg>\n"), "%.200s", svg);
    cr_assert(strstr(svg, "Decision boundary: circles (200 test points)") != NULL);
    free(svg);
    tu_result_free(&r);
    tu_rmtree(dir);
}

Test(cli, help_lists_every_option_with_defaults) {
    tu_result r = RUN("--help");
    cr_assert_eq(r.status, 0);
    const char *opts[] = {"--backend", "--threads", "--dataset", "--samples", "--noise",
                          "--classes", "--features", "--layers", "--activation", "--loss",
                          "--optimizer", "--lr", "--epochs", "--batch", "--seed",
                          "--test-fraction", "--log-every", "--quiet", "--json", "--plot"};
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        cr_assert(strstr(r.out, opts[i]) != NULL, "--help lacks %s", opts[i]);
    cr_assert(strstr(r.out, "default") != NULL);
    tu_result_free(&r);
}

Test(cli, unknown_option_and_command) {
    expect_usage_error(RUN("--bogus"), "--bogus");
    expect_usage_error(RUN("frobnicate"), "frobnicate");
}

Test(cli, bad_numbers_name_the_option) {
    expect_usage_error(RUN("--epochs", "abc"), "--epochs");
    expect_usage_error(RUN("--epochs", "0"), "--epochs");
    expect_usage_error(RUN("--epochs", "-5"), "--epochs");
    expect_usage_error(RUN("--epochs", "1.5"), "--epochs");
    expect_usage_error(RUN("--epochs"), "--epochs");
    expect_usage_error(RUN("--lr", "0"), "--lr");
    expect_usage_error(RUN("--lr", "nan"), "--lr");
    expect_usage_error(RUN("--lr", "inf"), "--lr");
    expect_usage_error(RUN("--lr", "-1"), "--lr");
    expect_usage_error(RUN("--samples", "1"), "--samples");
    expect_usage_error(RUN("--samples", "12abc"), "--samples");
    expect_usage_error(RUN("--threads", "-1"), "--threads");
    expect_usage_error(RUN("--batch", "-3"), "--batch");
    expect_usage_error(RUN("--test-fraction", "1"), "--test-fraction");
    expect_usage_error(RUN("--noise", "-0.1"), "--noise");
    expect_usage_error(RUN("--seed", "x"), "--seed");
    expect_usage_error(RUN("--log-every", "-1"), "--log-every");
    expect_usage_error(RUN("--classes", "1"), "--classes");
    expect_usage_error(RUN("--backend", "cuda"), "--backend");
    expect_usage_error(RUN("--optimizer", "rmsprop"), "--optimizer");
    expect_usage_error(RUN("--activation", "gelu"), "--activation");
    expect_usage_error(RUN("--loss", "hinge"), "--loss");
    expect_usage_error(RUN("--dataset", "mnist"), "--dataset");
}

/* Widths 2, then NN_MAX_LAYERS - 1 hidden layers of 65536, then 1: 62 products of
 * 65536 x 65536, about 2 TiB of parameters and gradients. */
static const char *deepest_widest_layers(void) {
    static char buf[NN_MAX_LAYERS * 8 + 8];
    size_t used = (size_t)snprintf(buf, sizeof buf, "2");
    for (int i = 0; i < NN_MAX_LAYERS - 1; i++)
        used += (size_t)snprintf(buf + used, sizeof buf - used, ",65536");
    snprintf(buf + used, sizeof buf - used, ",1");
    return buf;
}

Test(cli, sizes_beyond_memory_are_refused_before_running) {
    /* The sizes below must exceed the memory of any machine the tests run on (a 128 GiB
     * machine once trained a 2-65536-65536-1 network here instead of refusing it). */
    const double phys = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
    if (phys >= 1e12)
        cr_skip_test("this machine has %.0f GiB: the sizes below may fit", phys / 1073741824.0);
    /* too large to hold: streamed, which needs mini-batches */
    expect_usage_error(RUN("--samples", "1e11"), "--batch");
    expect_usage_error(RUN("--samples", "1e30"), "--samples");
    /* a batch of 4e8 rows of 4096 features: 6.5 TB of inputs alone */
    expect_usage_error(RUN("--dataset", "teacher", "--features", "4096", "--batch", "4e8",
                           "--samples", "1e9", "--layers", "4096,4096,1"), "memory");
    expect_usage_error(RUN("--layers", deepest_widest_layers()), "more than this machine's memory");
    /* a batch above the training rows trains on the 800 rows there are:
     * the memory estimate must not count the rows the batch names */
    tu_result r = RUN("--batch", "4e9", "--layers", "2,512,512,1", "--epochs", "1", "-q");
    cr_assert_eq(r.status, 0, "%s", r.err);
    tu_result_free(&r);
}

Test(cli, layers_must_fit_the_data_and_the_loss) {
    expect_usage_error(RUN("--layers", "3,8,1"), "first layer");
    expect_usage_error(RUN("--layers", "2,8,2"), "--layers");
    expect_usage_error(RUN("--layers", "2"), "--layers");
    expect_usage_error(RUN("--layers", "2,0,1"), "--layers");
    expect_usage_error(RUN("--layers", "2,,1"), "--layers");
    expect_usage_error(RUN("--dataset", "spirals", "--classes", "3", "--loss", "bce"), "--loss");
    expect_usage_error(RUN("--dataset", "spirals", "--classes", "3", "--layers", "2,8,4"), "--layers");
}

Test(cli, plot_needs_2d_data) {
    char *dir = tu_tmpdir();
    char path[600];
    snprintf(path, sizeof path, "%s/x.svg", dir);
    expect_usage_error(RUN("--dataset", "teacher", "--features", "5", "--plot", path), "--plot");
    expect_usage_error(RUN("--plot", "/nonexistent-dir/x.svg"), "--plot");
    tu_rmtree(dir);
}

Test(cli, divergence_exits_non_zero_without_printing_a_result) {
    tu_result r = RUN("--loss", "mse", "--lr", "1e5", "--quiet");
    cr_assert_eq(r.status, 1, "exit %d: %s", r.status, r.err);
    cr_assert(strstr(r.err, "epoch") != NULL, "%s", r.err);
    cr_assert(strstr(r.out, "accuracy") == NULL && strstr(r.out, "nan") == NULL);
    tu_result_free(&r);
    /* cross-entropy losses are capped per sample, but a diverged network is still caught */
    r = RUN("--layers", "2,64,64,1", "--batch", "32", "--lr", "1000", "--epochs", "200", "--quiet");
    cr_assert_eq(r.status, 1, "bce: exit %d: %s", r.status, r.err);
    cr_assert(strstr(r.err, "diverged") != NULL, "%s", r.err);
    cr_assert(strstr(r.out, "accuracy") == NULL);
    tu_result_free(&r);
}

static tu_result run_csv(const char *text) {
    char *dir = tu_tmpdir();
    char *path = tu_write_file(dir, "d.csv", text);
    char arg[600];
    snprintf(arg, sizeof arg, "csv:%s", path);
    tu_result r = RUN("--dataset", arg, "--epochs", "5", "--quiet");
    free(path);
    tu_rmtree(dir);
    return r;
}

Test(cli, csv_dataset_trains) {
    char text[8192] = "x,y,label\n";
    for (int i = 0; i < 100; i++) {
        char row[64];
        snprintf(row, sizeof row, "%d.5,%d,%d\n", i % 10, i % 7, i % 2);
        strcat(text, row);
    }
    tu_result r = run_csv(text);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.out, "Test accuracy") != NULL);
    tu_result_free(&r);
}

Test(cli, bad_csv_names_file_and_line) {
    expect_usage_error(run_csv(""), "d.csv");
    expect_usage_error(run_csv("1,2,0\n3,4\n5,6,1\n"), "line 2");
    expect_usage_error(run_csv("1,2,0\n3,4,1,9\n"), "line 2");
    expect_usage_error(run_csv("1,2,0\n3,abc,1\n"), "line 2");
    expect_usage_error(run_csv("1,2,0\n3,nan,1\n"), "line 2");
    expect_usage_error(run_csv("1,2,0\n3,inf,1\n"), "line 2");
    expect_usage_error(run_csv("1,2,0\n3,4,-1\n"), "line 2");
    expect_usage_error(run_csv("1,2,0\n3,4,0.5\n"), "line 2");
    tu_result r = tu_run_nnbench((const char *const[]){"--dataset", "csv:/nonexistent.csv", NULL},
                                 NULL, NULL);
    expect_usage_error(r, "/nonexistent.csv");
}

Test(cli, results_do_not_depend_on_the_thread_count) {
    /* wide enough for the parallel GEMM and elementwise paths */
    tu_result a = RUN("--threads", "1", "--layers", "2,256,256,1", "--epochs", "3", "--batch",
                      "400", "--log-every", "1", "--json", "-", "--quiet");
    tu_result b = RUN("--threads", "2", "--layers", "2,256,256,1", "--epochs", "3", "--batch",
                      "400", "--log-every", "1", "--json", "-", "--quiet");
    cr_assert_eq(a.status, 0);
    cr_assert_eq(b.status, 0);
    const char *la = strstr(a.out, "\"loss_curve\""), *lb = strstr(b.out, "\"loss_curve\"");
    cr_assert(la && lb);
    cr_assert(strncmp(la, lb, strcspn(la, "]")) == 0, "loss curves differ:\n%s\n%s", la, lb);
    tu_result_free(&a);
    tu_result_free(&b);
}

/* With an empty OpenCL vendors folder the loader finds no platform. */
static tu_result run_without_opencl(const char *const *args) {
    char *dir = tu_tmpdir();
    char env[600];
    snprintf(env, sizeof env, "OCL_ICD_VENDORS=%s", dir);
    tu_result r = tu_run_nnbench(args, (const char *const[]){env, NULL}, NULL);
    tu_rmtree(dir);
    return r;
}

Test(cli, opencl_falls_back_to_cpu_with_one_warning) {
    char *dir = tu_tmpdir();
    char path[600];
    snprintf(path, sizeof path, "%s/r.json", dir);
    tu_result r = run_without_opencl((const char *const[]){"--backend", "opencl", "--epochs", "20",
                                                           "--json", path, "--quiet", NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.err, "warning") && strstr(r.err, "falling back to the cpu backend"), "%s", r.err);
    cr_assert_eq(strchr(r.err, '\n'), r.err + strlen(r.err) - 1, "one line: %s", r.err);
    char *json = tu_read_file(path);
    cr_assert_not_null(json);
    cr_assert(strstr(json, "\"requested_backend\": \"opencl\"") != NULL, "%s", json);
    cr_assert(strstr(json, "\"backend\": \"cpu\"") != NULL, "%s", json);
    cr_assert(strstr(json, "\"fallback_reason\": \"") != NULL, "%s", json);
    cr_assert(strstr(r.out, "fallback") != NULL, "the result names the fallback: %s", r.out);
    free(json);
    tu_result_free(&r);
    tu_rmtree(dir);
}

Test(cli, no_fallback_exits_3) {
    tu_result r = run_without_opencl((const char *const[]){"--backend", "opencl", "--no-fallback",
                                                           "--epochs", "20", NULL});
    cr_assert_eq(r.status, 3, "%s", r.err);
    cr_assert(strstr(r.err, "opencl") != NULL, "%s", r.err);
    cr_assert(strstr(r.out, "Test accuracy") == NULL);
    tu_result_free(&r);
}

Test(cli, check_without_opencl_exits_3) {
    tu_result r = run_without_opencl((const char *const[]){"check", "--epochs", "20", NULL});
    cr_assert_eq(r.status, 3, "%s", r.err);
    tu_result_free(&r);
}

/* Isolated like the fallback tests: with no OpenCL platform there is no GPU,
 * whatever this machine has. */
Test(cli, auto_without_a_gpu_runs_on_cpu) {
    tu_result r = run_without_opencl((const char *const[]){"--backend", "auto", "--epochs", "20",
                                                           "--json", "-", "--quiet", NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.out, "\"backend\": \"cpu\"") != NULL, "%s", r.out);
    cr_assert(strstr(r.out, "\"requested_backend\": \"auto\"") != NULL);
    tu_result_free(&r);
}

/* The value of "key": in a JSON text, as a number (NaN when missing or null). */
static double json_number(const char *json, const char *key) {
    char k[64];
    snprintf(k, sizeof k, "\"%s\": ", key);
    const char *p = strstr(json, k);
    return p && strncmp(p + strlen(k), "null", 4) != 0 ? atof(p + strlen(k)) : NAN;
}

Test(cli, each_optimizer_has_its_usual_learning_rate) {
    const char *opts[] = {"sgd", "momentum", "adam"};
    const double lrs[] = {0.1, 0.01, 0.001};
    for (int i = 0; i < 3; i++) {
        tu_result r = RUN("--optimizer", opts[i], "--epochs", "3", "--json", "-", "--quiet");
        cr_assert_eq(r.status, 0, "%s", r.err);
        cr_assert_eq(json_number(r.out, "lr"), lrs[i], "%s: lr %g", opts[i],
                     json_number(r.out, "lr"));
        tu_result_free(&r);
    }
    tu_result r = RUN("--optimizer", "adam", "--lr", "0.02", "--epochs", "3", "--json", "-");
    cr_assert_eq(json_number(r.out, "lr"), 0.02, "--lr wins: %s", r.out);
    cr_assert(strstr(r.err, "adam lr 0.02") != NULL, "the header names the rate: %s", r.err);
    tu_result_free(&r);
    r = RUN("--help");
    cr_assert(strstr(r.out, "sgd 0.1, momentum 0.01, adam 0.001") != NULL, "%s", r.out);
    tu_result_free(&r);
}

Test(cli, library_errors_name_the_option) {
    expect_usage_error(RUN("--dataset", "xor", "--classes", "3"), "--classes");
    expect_usage_error(RUN("--dataset", "blobs", "--features", "3", "--layers", "2,8,3"),
                       "--layers");
    expect_usage_error(RUN("--samples", "2", "--test-fraction", "0.9"), "--test-fraction");
    expect_usage_error(RUN("scale", "--dataset", "xor", "--features", "3"), "--features");
}

Test(cli, every_command_lists_its_options_with_defaults) {
    const char *const scale[] = {"--samples", "--hidden", "--depth", "--batch", "--threads",
                                 "--lr", "--repeats", "--out", "default 1e5", "default 256"};
    tu_result r = RUN("scale", "--help");
    cr_assert_eq(r.status, 0);
    for (size_t i = 0; i < sizeof scale / sizeof scale[0]; i++)
        cr_assert(strstr(r.out, scale[i]) != NULL, "scale --help lacks %s:\n%s", scale[i], r.out);
    tu_result_free(&r);
    const char *const gemm[] = {"--shape", "--backend", "--threads", "--repeats", "--json",
                                "default cpu,opencl,openblas,clblast"};
    r = RUN("gemm", "--help");
    cr_assert_eq(r.status, 0);
    for (size_t i = 0; i < sizeof gemm / sizeof gemm[0]; i++)
        cr_assert(strstr(r.out, gemm[i]) != NULL, "gemm --help lacks %s:\n%s", gemm[i], r.out);
    tu_result_free(&r);
    r = RUN("check", "--help");
    cr_assert_eq(r.status, 0);
    cr_assert(strstr(r.out, "usage: nnbench check") && strstr(r.out, "--epochs"), "%s", r.out);
    tu_result_free(&r);
}

Test(cli, gemm_verifies_then_times_each_product) {
    tu_result r = RUN("gemm", "--shape", "40x24x33", "--shape", "64x64x64:tn", "--backend", "cpu",
                      "--repeats", "2", "--json", "-");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_eq(r.out[0], '{', "only the record on stdout: %s", r.out);
    cr_assert(strstr(r.err, "impl") && strstr(r.err, "40x24x33"), "the table: %s", r.err);
    int records = 0, verified = 0;
    for (const char *p = r.out; (p = strstr(p, "\"gflops_median\": ")); p++) records++;
    for (const char *p = r.out; (p = strstr(p, "\"verified\": true")); p++) verified++;
    cr_assert_eq(records, 2, "%s", r.out);
    cr_assert_eq(verified, 2, "every product verified: %s", r.out);
    cr_assert(json_number(r.out, "gflops_median") > 0, "%s", r.out);
    cr_assert(strstr(r.out, "\"trans_a\": true") != NULL, "the :tn shape: %s", r.out);
    tu_result_free(&r);
    /* an implementation that cannot run here is reported, not a failure */
    r = RUN("gemm", "--shape", "8x8x8", "--backend", "cpu,openblas,clblast", "--repeats", "1");
    cr_assert_eq(r.status, 0, "%s", r.err);
    tu_result_free(&r);
    expect_usage_error(RUN("gemm", "--shape", "2x2"), "--shape");
    expect_usage_error(RUN("gemm", "--backend", "cpu,cuda"), "cuda");
}

Test(cli, check_compares_the_backends) {
    tu_result r = RUN("check", "--epochs", "30", "--log-every", "10");
    if (r.status == 3) {
        tu_result_free(&r);
        cr_skip_test("no OpenCL device");
    }
    cr_assert_eq(r.status, 0, "%s\n%s", r.out, r.err);
    /* the verdict from one-step errors; the output in detail: test_check.c */
    cr_assert(strstr(r.out, "one-step errors") && strstr(r.out, "\nPASS: "), "%s", r.out);
    tu_result_free(&r);
}
