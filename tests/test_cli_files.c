/* test_cli_files.c — nnbench never destroys a user's file: every output of
 * train and predict appears only when complete (an old file stays
 * byte-identical through validation errors, divergence, --no-fallback exit 3
 * and a killed run), two outputs naming the same file or an output naming an
 * input are refused up front, paths are never truncated, and the CSV
 * loader's warnings reach the user. Measured on main before this change: the
 * old file was truncated to 0 bytes in each failure case, and
 * --json r.json --plot r.json silently left the SVG in r.json. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tu_cli.h"

#define OLD_JSON "{\"old\": \"record\"}\n"
#define OLD_SVG "<svg>old figure</svg>\n"

static char *dir;
static void setup(void) { dir = tu_tmpdir(); }
static void teardown(void) { tu_rmtree(dir); }
TestSuite(cli_files, .init = setup, .fini = teardown);

/* dir/name holding text; returns the path (malloc'd). */
static char *old_file(const char *name, const char *text) { return tu_write_file(dir, name, text); }

Test(cli_files, validation_error_keeps_the_old_plot_and_json) {
    char *svg = old_file("p.svg", OLD_SVG), *json = old_file("r.json", OLD_JSON);
    tu_expect_line(TU_NN(dir, "--plot", "p.svg", "--json", "r.json", "--layers", "3,8,1"), 2,
                   "--layers", NULL);
    cr_assert(tu_file_is(svg, OLD_SVG), "the plot was touched");
    cr_assert(tu_file_is(json, OLD_JSON), "the record was touched");
    cr_assert_eq(tu_count_entries(dir), 2, "a temporary file was left behind");
    free(svg);
    free(json);
}

Test(cli_files, divergence_keeps_the_old_json_plot_and_model) {
    char *json = old_file("r.json", OLD_JSON), *svg = old_file("p.svg", OLD_SVG);
    char *model = old_file("m.st", "old model bytes\n");
    tu_result r = TU_NN(dir, "--json", "r.json", "--plot", "p.svg", "--save", "m.st", "--lr",
                        "1e6", "--epochs", "50", "--quiet");
    cr_assert_eq(r.status, 1, "%s", r.err);
    cr_assert(strstr(r.err, "diverged") != NULL, "%s", r.err);
    tu_result_free(&r);
    cr_assert(tu_file_is(json, OLD_JSON) && tu_file_is(svg, OLD_SVG));
    cr_assert(tu_file_is(model, "old model bytes\n"));
    cr_assert_eq(tu_count_entries(dir), 3, "a temporary file was left behind");
    free(json);
    free(svg);
    free(model);
}

Test(cli_files, no_fallback_exit_3_keeps_the_old_json) {
    char *json = old_file("r.json", OLD_JSON);
    const char *env[] = {"OCL_ICD_VENDORS=/nonexistent", "OCL_ICD_FILENAMES=", NULL};
    tu_result r = tu_run_nnbench((const char *const[]){"--json", "r.json", "--backend", "opencl",
                                                       "--no-fallback", "--epochs", "5", NULL},
                                 env, dir);
    cr_assert_eq(r.status, 3, "%s", r.err);
    tu_result_free(&r);
    cr_assert(tu_file_is(json, OLD_JSON));
    cr_assert_eq(tu_count_entries(dir), 1);
    free(json);
}

Test(cli_files, a_killed_run_leaves_the_old_json_whole) {
    char *json = old_file("r.json", OLD_JSON);
    const char *args[] = {"--json", "r.json", "--epochs", "100000000", "--log-every", "1", NULL};
    tu_result r = tu_run_and_signal(dir, args, "Epoch 0:", 0, SIGKILL);
    cr_assert_eq(r.status, 128 + SIGKILL);
    tu_result_free(&r);
    cr_assert(tu_file_is(json, OLD_JSON), "the record changed after SIGKILL");
    free(json);
}

Test(cli_files, ctrl_c_replaces_the_json_only_with_a_whole_record) {
    char *json = old_file("r.json", OLD_JSON);
    const char *args[] = {"--json", "r.json", "--epochs", "100000000", "--log-every", "1", NULL};
    tu_result r = tu_run_and_signal(dir, args, "Epoch 0:", 0, SIGINT);
    cr_assert_eq(r.status, 130, "%s", r.err);
    tu_result_free(&r);
    char *text = tu_read_file(json);
    cr_assert(text && text[0] == '{' && strstr(text, "\"interrupted\": true") &&
              strcmp(text + strlen(text) - 2, "}\n") == 0, "%s", text);
    free(text);
    free(json);
}

Test(cli_files, a_stopped_gemm_run_leaves_the_old_json_whole) {
    /* gemm's record used to be opened with fopen("w") before the first
     * product: Ctrl-C during the (minutes-long) run left it empty or cut. */
    char *json = old_file("g.json", OLD_JSON);
    const char *args[] = {"gemm", "--json", "g.json", "--backend", "cpu", "--threads", "1",
                          "--shape", "8x8x8", "--shape", "2048x2048x2048", "--repeats", "50",
                          NULL};
    tu_result r = tu_run_and_signal(dir, args, "8x8x8", 0, SIGINT);
    cr_assert_eq(r.status, 128 + SIGINT, "%s", r.err);
    tu_result_free(&r);
    cr_assert(tu_file_is(json, OLD_JSON), "the old gemm record was truncated");
    tu_expect_line(TU_NN(dir, "gemm", "--json", "/nonexistent-dir/g.json", "--shape", "8x8x8",
                         "--backend", "cpu"), 2, "--json", "No such file");
    free(json);
}

Test(cli_files, two_outputs_naming_one_file_are_refused) {
    char *json = old_file("r.json", OLD_JSON);
    tu_expect_line(TU_NN(dir, "--json", "r.json", "--plot", "r.json"), 2, "--json and --plot",
                   "same file");
    cr_assert(tu_file_is(json, OLD_JSON), "the record was replaced");
    tu_expect_line(TU_NN(dir, "--save", "x.st", "--checkpoint", "./x.st"), 2,
                   "--save and --checkpoint", NULL);
    char *sub = tu_path(dir, "sub");
    cr_assert_eq(mkdir(sub, 0777), 0);
    tu_expect_line(TU_NN(dir, "--plot", "sub/../r.json", "--json", "r.json"), 2, "same file",
                   NULL);
    /* a hard link and a symbolic link name the same file */
    char *hard = tu_path(dir, "hard.json"), *soft = tu_path(dir, "soft.json");
    cr_assert_eq(link(json, hard), 0);
    cr_assert_eq(symlink("r.json", soft), 0);
    tu_expect_line(TU_NN(dir, "--json", "hard.json", "--plot", "r.json"), 2, "same file", NULL);
    tu_expect_line(TU_NN(dir, "--json", "soft.json", "--save", "r.json"), 2, "same file", NULL);
    cr_assert(tu_file_is(json, OLD_JSON));
    /* devices are no files to protect: both may go to /dev/null */
    tu_expect_ok(TU_NN(dir, "--json", "/dev/null", "--plot", "/dev/null", "--epochs", "3", "-q"));
    free(sub);
    free(hard);
    free(soft);
    free(json);
}

Test(cli_files, an_output_never_replaces_an_input) {
    char *csv = old_file("d.csv", "0,0,0\n1,1,1\n0,1,1\n1,0,0\n2,2,0\n3,3,1\n");
    tu_expect_line(TU_NN(dir, "--dataset", "csv:d.csv", "--plot", "d.csv"), 2,
                   "would replace the input of --dataset", NULL);
    cr_assert(tu_file_is(csv, "0,0,0\n1,1,1\n0,1,1\n1,0,0\n2,2,0\n3,3,1\n"));
    tu_expect_ok(TU_NN(dir, "--epochs", "3", "--save", "m.st", "-q"));
    char *model = tu_path(dir, "m.st");
    size_t len;
    unsigned char *before = tu_read_all(model, &len);
    tu_expect_line(TU_NN(dir, "--init", "m.st", "--save", "m.st"), 2,
                   "would replace the input of --init", NULL);
    tu_expect_line(TU_NN(dir, "predict", "--model", "m.st", "--input", "d.csv", "--output",
                         "d.csv"), 2, "--output 'd.csv' would replace the input of --input",
                   NULL);
    tu_expect_line(TU_NN(dir, "predict", "--model", "m.st", "--input", "d.csv", "--output",
                         "./m.st"), 2, "would replace the input of --model", NULL);
    size_t len2;
    unsigned char *after = tu_read_all(model, &len2);
    cr_assert(len == len2 && memcmp(before, after, len) == 0, "the model changed");
    free(before);
    free(after);
    free(model);
    free(csv);
}

Test(cli_files, long_paths_are_refused_never_truncated) {
    char name[300];
    memset(name, 'a', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    memcpy(name + sizeof name - 6, ".json", 5);
    tu_expect_line(TU_NN(dir, "--json", name, "--epochs", "3"), 2, "--json", "long");
    char *deep = malloc(4300);
    size_t n = 0;
    while (n < 4200) n += (size_t)sprintf(deep + n, "d/");
    strcpy(deep + n, "r.json");
    tu_expect_line(TU_NN(dir, "--json", deep, "--epochs", "3"), 2, "--json", "too long");
    tu_expect_line(TU_NN(dir, "--save", deep, "--epochs", "3"), 2, "--save", "too long");
    tu_expect_line(TU_NN(dir, "predict", "--model", "x", "--dataset", "circles", "--output",
                         deep), 2, "--output", "too long");
    cr_assert_eq(tu_count_entries(dir), 0, "a file was created");
    free(deep);
}

Test(cli_files, unwritable_outputs_fail_before_training) {
    const char *opts[] = {"--json", "--plot", "--save", "--checkpoint"};
    for (size_t i = 0; i < 4; i++) {
        tu_result r = TU_NN(dir, opts[i], "/nonexistent-dir/out", "--epochs", "5");
        cr_assert(strstr(r.out, "Epoch") == NULL, "%s: trained anyway", opts[i]);
        tu_expect_line(r, 2, opts[i], "/nonexistent-dir/out");
    }
    tu_expect_line(TU_NN(dir, "--plot", dir), 2, "--plot", "folder");
}

Test(cli_files, an_output_that_fails_during_the_run_exits_1) {
    /* README: exit 1 for "an output that could not be written", 2 only for
     * bad input. /dev/full passes the up-front probe (a device) and fails on
     * the first write, as a full disk would. */
    if (access("/dev/full", W_OK) != 0) cr_skip_test("no /dev/full");
    const char *opts[] = {"--save", "--json", "--checkpoint"};
    for (size_t i = 0; i < 3; i++)
        tu_expect_line(TU_NN(dir, opts[i], "/dev/full", "--epochs", "3", "-q"), 1, opts[i],
                       "No space left");
}

Test(cli_files, outputs_replace_old_files_whole_and_leave_no_temporary_files) {
    char *json = old_file("r.json", OLD_JSON), *svg = old_file("p.svg", OLD_SVG);
    cr_assert_eq(chmod(json, 0600), 0);
    tu_expect_ok(TU_NN(dir, "--json", "r.json", "--plot", "p.svg", "--save", "m.st",
                       "--checkpoint", "c.st", "--epochs", "20", "-q"));
    char *text = tu_read_file(json), *fig = tu_read_file(svg);
    cr_assert(strstr(text, "\"interrupted\": false") && strcmp(text + strlen(text) - 2, "}\n") == 0);
    cr_assert(strncmp(fig, "<svg", 4) == 0 && strstr(fig, "</svg>\n"));
    struct stat st;
    cr_assert_eq(stat(json, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600, "the replaced file's permissions changed");
    cr_assert_eq(tu_count_entries(dir), 4, "temporary files left");
    free(text);
    free(fig);
    free(json);
    free(svg);
}

Test(cli_files, csv_warnings_are_one_line) {
    tu_write_file(dir, "gap.csv", "0,0,0\n1,1,2\n0,1,0\n1,0,2\n2,2,0\n3,3,2\n");
    tu_result r = TU_NN(dir, "--dataset", "csv:gap.csv", "--epochs", "3", "--test-fraction", "0",
                        "-q");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strncmp(r.err, "nnbench: warning: ", 18) == 0 && strstr(r.err, "gap.csv") &&
              strchr(r.err, '\n') == r.err + strlen(r.err) - 1, "%s", r.err);
    tu_result_free(&r);
}
