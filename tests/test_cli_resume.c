/* test_cli_resume.c — checkpoints and resume through the command line: a run
 * continued from its checkpoint ends with a model file byte-identical to the
 * uninterrupted run's, for full-batch, mini-batch and streamed data, whether
 * the checkpoint was written at the end of a shorter run, on Ctrl-C
 * (SIGINT: exit 130, JSON record "interrupted": true) or periodically before
 * the process was killed; a resumed run keeps its settings (a contradicting
 * option is one line, exit 2) and may only move --epochs. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_io.h"
#include "tu_cli.h"

static char *dir;
static void setup(void) { dir = tu_tmpdir(); }
static void teardown(void) { tu_rmtree(dir); }
TestSuite(cli_resume, .init = setup, .fini = teardown);

#define MAX_ARGS 32

/* The data and training options of the three kinds of run. */
static const char *const FULL[] = {"--log-every", "1", NULL};
static const char *const MINI[] = {"--samples", "20000", "--batch", "8", "--log-every", "1",
                                   NULL};
/* 320000 training rows: two chunks of streamed rows per epoch */
static const char *const STREAMED[] = {"--stream", "--samples", "400000", "--batch", "64",
                                       "--log-every", "1", "--optimizer", "adam", NULL};

/* args = base, then the NULL-terminated extra words. */
static void build(const char **args, const char *const *base, const char *const *extra) {
    size_t n = 0;
    for (; base && *base; base++) args[n++] = *base;
    for (; *extra; extra++) args[n++] = *extra;
    args[n] = NULL;
    cr_assert_lt(n, MAX_ARGS);
}

static tu_result run(const char *const *base, const char *const *extra) {
    const char *args[MAX_ARGS];
    build(args, base, extra);
    return tu_run_nnbench(args, NULL, dir);
}

/* The checkpoint at dir/name, loaded (free with nn_checkpoint_free). */
static nn_checkpoint load_ck(const char *name) {
    char *path = tu_path(dir, name);
    nn_checkpoint ck;
    nn_error err;
    cr_assert_eq(nn_checkpoint_load(path, &ck, &err), NN_OK, "%s", err.msg);
    free(path);
    return ck;
}

/* Resume dir/ck.st to `epochs` epochs saving r.st, train the same run
 * uninterrupted saving u.st, and require the two files byte for byte. */
static void expect_resume_identical(const char *const *base, int epochs) {
    char e[16];
    snprintf(e, sizeof e, "%d", epochs);
    tu_result r = run(NULL, (const char *const[]){"--resume", "ck.st", "--epochs", e, "--save",
                                                  "r.st", NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.out, "resumed from ck.st"), "%s", r.out);
    tu_result_free(&r);
    tu_expect_ok(run(base, (const char *const[]){"--epochs", e, "--save", "u.st", "-q", NULL}));
    char *a = tu_path(dir, "r.st"), *b = tu_path(dir, "u.st");
    cr_assert(tu_same_bytes(a, b), "the resumed model differs from the uninterrupted one");
    free(a);
    free(b);
}

/* ------------------------------------------------ checkpoint at the end */

static void extend(const char *const *base) {
    tu_expect_ok(run(base, (const char *const[]){"--epochs", "2", "--checkpoint", "ck.st", "-q",
                                                 NULL}));
    nn_checkpoint ck = load_ck("ck.st");
    cr_assert(ck.epoch == 2 && ck.step_in_epoch == 0, "epoch %llu step %llu",
              (unsigned long long)ck.epoch, (unsigned long long)ck.step_in_epoch);
    nn_checkpoint_free(&ck);
    expect_resume_identical(base, 4);
}

Test(cli_resume, longer_run_from_the_final_checkpoint_full_batch) { extend(FULL); }
Test(cli_resume, longer_run_from_the_final_checkpoint_mini_batch) { extend(MINI); }
Test(cli_resume, longer_run_from_the_final_checkpoint_streamed) { extend(STREAMED); }

/* ------------------------------------------------------------- Ctrl-C */

/* Stop a long run with sig delay_us after its first epoch (to land inside
 * an epoch, on this machine at least: any position must resume exactly); check exit code, the one
 * line, the JSON record and the checkpoint; resume it to the end of the next
 * epoch but one and compare with an uninterrupted run. */
static void interrupt_and_resume(const char *const *base, int delay_us, int sig) {
    const char *args[MAX_ARGS];
    build(args, base, (const char *const[]){"--epochs", "100000", "--checkpoint", "ck.st",
                                            "--json", "r.json", "--save", "never.st", NULL});
    tu_result r = tu_run_and_signal(dir, args, "Epoch 0:", delay_us, sig);
    cr_assert_eq(r.status, 130, "exit %d: %s", r.status, r.err); /* SIGINT and SIGTERM alike */
    cr_assert(strncmp(r.err, "nnbench: interrupted by ", 24) == 0 && strstr(r.err, "ck.st") &&
              strchr(r.err, '\n') == r.err + strlen(r.err) - 1, "%s", r.err);
    tu_result_free(&r);
    nn_checkpoint ck = load_ck("ck.st");
    char *json = tu_path(dir, "r.json"), *text = tu_read_file(json), steps[64];
    snprintf(steps, sizeof steps, "\"steps\": %llu,", (unsigned long long)ck.step);
    cr_assert(text && strstr(text, "\"interrupted\": true") && strstr(text, steps),
              "want %s in %s", steps, text);
    char *never = tu_path(dir, "never.st");
    cr_assert(!tu_exists(never), "--save wrote the model of an interrupted run");
    cr_log_info("stopped at epoch %llu, step %llu of it (%llu steps)",
                (unsigned long long)ck.epoch, (unsigned long long)ck.step_in_epoch,
                (unsigned long long)ck.step);
    int epochs = (int)ck.epoch + 2;
    nn_checkpoint_free(&ck);
    expect_resume_identical(base, epochs);
    free(never);
    free(text);
    free(json);
}

Test(cli_resume, sigint_then_resume_full_batch) { interrupt_and_resume(FULL, 0, SIGINT); }
Test(cli_resume, sigint_then_resume_mini_batch) { interrupt_and_resume(MINI, 2000, SIGINT); }
Test(cli_resume, sigint_then_resume_streamed) { interrupt_and_resume(STREAMED, 60000, SIGINT); }
Test(cli_resume, sigterm_then_resume_mini_batch) { interrupt_and_resume(MINI, 1000, SIGTERM); }

/* ------------------------------------------------- periodic checkpoints */

Test(cli_resume, killed_run_resumes_from_its_last_periodic_checkpoint) {
    const char *args[MAX_ARGS];
    build(args, MINI, (const char *const[]){"--epochs", "100000", "--checkpoint", "ck.st",
                                            "--checkpoint-every", "777", NULL});
    tu_result r = tu_run_and_signal(dir, args, "Epoch 1:", 0, SIGKILL);
    cr_assert_eq(r.status, 128 + SIGKILL);
    tu_result_free(&r);
    nn_checkpoint ck = load_ck("ck.st");
    cr_assert_eq(ck.step % 777, 0, "step %llu", (unsigned long long)ck.step);
    cr_assert_geq(ck.step, 2 * 777);
    cr_log_info("last checkpoint: step %llu (epoch %llu, step %llu of it)",
                (unsigned long long)ck.step, (unsigned long long)ck.epoch,
                (unsigned long long)ck.step_in_epoch);
    int epochs = (int)ck.epoch + 1;
    nn_checkpoint_free(&ck);
    expect_resume_identical(MINI, epochs);
}

Test(cli_resume, resume_keeps_writing_the_same_checkpoint) {
    tu_expect_ok(run(MINI, (const char *const[]){"--epochs", "1", "--checkpoint", "ck.st", "-q",
                                                 NULL}));
    tu_expect_ok(run(NULL, (const char *const[]){"--resume", "ck.st", "--checkpoint", "ck.st",
                                                 "--epochs", "2", "-q", NULL}));
    nn_checkpoint ck = load_ck("ck.st");
    cr_assert_eq(ck.epoch, 2);
    nn_checkpoint_free(&ck);
}

/* ------------------------------------------------------------ mismatches */

Test(cli_resume, a_resumed_run_keeps_its_settings) {
    tu_expect_ok(run(MINI, (const char *const[]){"--epochs", "3", "--checkpoint", "ck.st", "-q",
                                                 NULL}));
    const struct {
        const char *opt, *value, *needle;
    } bad[] = {
        {"--batch", "16", "--batch 16: the checkpoint 'ck.st' was trained with --batch 8"},
        {"--lr", "0.5", "--lr 0.5: the checkpoint 'ck.st' was trained with --lr 0.1"},
        {"--layers", "2,4,1", "--layers 2,4,1"},
        {"--optimizer", "adam", "--optimizer adam"},
        {"--activation", "tanh", "--activation tanh"},
        {"--log-every", "5", "--log-every 5"},
        {"--noise", "0.3", "noise=0.3"},
        {"--seed", "7", "--seed 7: the checkpoint 'ck.st' was trained with --seed 42"},
        {"--epochs", "2", "--epochs 2: the checkpoint 'ck.st' has trained 3 epochs"},
        {"--init", "ck.st", "--init"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        tu_expect_line(run(NULL, (const char *const[]){"--resume", "ck.st", bad[i].opt,
                                                       bad[i].value, NULL}),
                       2, bad[i].needle, NULL);
    tu_expect_ok(TU_NN(dir, "--epochs", "3", "--save", "m.st", "-q"));
    tu_expect_line(TU_NN(dir, "--resume", "m.st"), 2, "m.st", "not a checkpoint");
    tu_expect_line(TU_NN(dir, "--resume", "missing.st"), 2, "--resume", "missing.st");
}

Test(cli_resume, changed_csv_data_are_refused) {
    tu_write_file(dir, "d.csv", "0,0,0\n1,1,1\n0,1,1\n1,0,0\n2,2,0\n3,3,1\n4,1,0\n1,4,1\n");
    tu_expect_ok(TU_NN(dir, "--dataset", "csv:d.csv", "--epochs", "3", "--checkpoint", "ck.st",
                       "-q"));
    tu_write_file(dir, "d.csv", "0,0,0\n1,1,1\n0,1,1\n1,0,0\n2,2,0\n3,3,1\n4,1,0\n1,5,1\n");
    tu_expect_line(TU_NN(dir, "--resume", "ck.st", "--epochs", "5"), 2, "csv:d.csv",
                   "not those 'ck.st' was trained on");
}

Test(cli_resume, checkpoint_every_values) {
    tu_expect_line(TU_NN(dir, "--checkpoint-every", "100"), 2, "--checkpoint-every",
                   "--checkpoint PATH");
    const char *bad[] = {"0", "10x", "5k", "-1s", "s", "1e40h"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        tu_expect_line(TU_NN(dir, "--checkpoint", "ck.st", "--checkpoint-every", bad[i]), 2,
                       "--checkpoint-every", bad[i]);
    tu_result r = TU_NN(dir, "--checkpoint", "ck.st", "--checkpoint-every", "1.5h", "--epochs",
                        "3", "--json", "-", "-q");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.out, "\"checkpoint_every\": \"1.5h\""), "%s", r.out);
    cr_assert(strstr(r.out, "\"checkpoint\": \"ck.st\""), "%s", r.out);
    tu_result_free(&r);
}
