/* test_mutation.c — proof that `nnbench check` catches bugs in the kernels:
 * each mutant of tests/mutants.h is applied to a copy of kernels/ in a
 * temporary folder, NN_KERNEL_DIR points the OpenCL backend at it, and the
 * check must FAIL (exit 1) naming the mutant's layer and quantity, or PASS
 * for an equivalent mutant. Here: the table against the kernels (no device
 * needed), the unmutated copy on every configuration the mutants run under
 * and on the chaotic trainings of issue 10, and the mutants of
 * elementwise.cl and loss.cl; test_mutation_matmul.c has the others. Each
 * kernel file's test prints its mutation score. Skipped without an OpenCL
 * device. */
#include "mutation_util.h"

/* ------------------------------------------------------------ the table */

Test(mutation, every_kernel_file_has_mutants_whose_text_is_there) {
    DIR *d = opendir(KERNELS);
    cr_assert_not_null(d);
    int files = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len < 4 || strcmp(e->d_name + len - 3, ".cl") != 0) continue;
        files++;
        int caught = 0;
        for (size_t i = 0; i < N_MUTANTS; i++)
            caught += strcmp(MUTANTS[i].file, e->d_name) == 0 && MUTANTS[i].layer != 0;
        cr_assert_gt(caught, 0, "kernels/%s has no mutant the check must catch: add some to "
                                "tests/mutants.h", e->d_name);
        /* kernels without a mutant are listed (not required: a kernel may be new) */
        char *text = kernel_text(e->d_name);
        for (const char *p = text; (p = strstr(p, "__kernel")); p++) {
            const char *v = strstr(p, "void ");
            char name[64];
            if (!v || sscanf(v, "void %63[A-Za-z0-9_]", name) != 1) continue;
            int covered = 0, unchecked = 0;
            for (size_t i = 0; i < N_MUTANTS; i++)
                covered |= strcmp(MUTANTS[i].file, e->d_name) == 0 &&
                           strcmp(MUTANTS[i].kernel, name) == 0;
            for (size_t i = 0; i < N_UNCHECKED; i++)
                unchecked |= strcmp(UNCHECKED_KERNELS[i].file, e->d_name) == 0 &&
                             strcmp(UNCHECKED_KERNELS[i].kernel, name) == 0;
            cr_assert(!(covered && unchecked), "kernels/%s: %s has mutants the check catches, "
                      "so a training step runs it: not an unchecked kernel", e->d_name, name);
            if (!covered && !unchecked)
                cr_log_warn("kernels/%s: kernel %s has no mutant in tests/mutants.h", e->d_name,
                            name);
        }
        free(text);
    }
    closedir(d);
    cr_assert_gt(files, 0, "no kernel files in %s", KERNELS);
    for (size_t i = 0; i < N_UNCHECKED; i++) { /* the list names real kernels */
        char *text = kernel_text(UNCHECKED_KERNELS[i].file), decl[96];
        snprintf(decl, sizeof decl, "void %s(", UNCHECKED_KERNELS[i].kernel);
        cr_assert(strstr(text, decl), "UNCHECKED_KERNELS: no kernel %s in kernels/%s",
                  UNCHECKED_KERNELS[i].kernel, UNCHECKED_KERNELS[i].file);
        free(text);
    }
    for (size_t i = 0; i < N_MUTANTS; i++) { /* each mutant applies and names a real kernel */
        const mutant *m = &MUTANTS[i];
        char *text = kernel_text(m->file);
        cr_assert_eq(count(text, m->find), 1,
                     "kernels/%s changed: mutant '%s' no longer finds its text exactly once "
                     "(update tests/mutants.h):\n%s", m->file, m->name, m->find);
        cr_assert(strcmp(m->find, m->replace) != 0, "mutant '%s' changes nothing", m->name);
        char decl[96];
        snprintf(decl, sizeof decl, "void %s(", m->kernel);
        cr_assert(strstr(text, decl), "mutant '%s': no kernel %s in kernels/%s", m->name,
                  m->kernel, m->file);
        cr_assert(m->layer != 0 ? m->qty != NULL : m->why != NULL,
                  "mutant '%s': a caught mutant names its quantity, an equivalent one says why",
                  m->name);
        cr_assert(m->layer >= 0 || m->why != NULL, "mutant '%s': say why any layer will do",
                  m->name);
        free(text);
    }
}

/* ------------------------------------------------------------ baselines */

Test(mutation, unmutated_kernels_pass_every_configuration, .timeout = 600) {
    need_opencl();
    char *dir = mutated_copy(NULL);
    for (int c = 0; c < MC_COUNT; c++) {
        tu_result r = run_check((mut_config)c, dir, NULL);
        cr_assert_eq(r.status, 0, "unmutated kernels, configuration %s (%s):\n%s\n%s",
                     MUT_CONFIGS[c].name, MUT_CONFIGS[c].tune, r.out, r.err);
        cr_assert(strstr(r.out, "\nPASS: "), "%s", r.out);
        tu_result_free(&r);
    }
    tu_rmtree(dir);
}

/* The chaotic trainings: the free-running trajectories separate, the
 * one-step errors stay within their bounds, and the check says so. */
static void expect_chaos_passes(const char *const *args) {
    char *dir = mutated_copy(NULL);
    char env_dir[4200];
    snprintf(env_dir, sizeof env_dir, "NN_KERNEL_DIR=%s", dir);
    const char *env[] = {env_dir, NULL};
    tu_result r = tu_run_nnbench(args, env, NULL);
    cr_assert_eq(r.status, 0, "%s\n%s", r.out, r.err);
    cr_assert(strstr(r.out, "\nPASS: every element of 650 checked steps"), "%s", r.out);
    cr_assert(strstr(r.out, "the trajectories separate at the end of epoch"),
              "the free runs must separate (the training is chaotic):\n%s", r.out);
    cr_assert(strstr(r.out, "chaotic training, not a bug"), "%s", r.out);
    tu_result_free(&r);
    tu_rmtree(dir);
}

Test(mutation, unmutated_kernels_pass_chaotic_adam, .timeout = 600) {
    need_opencl();
    const char *args[] = {"check",     "--dataset", "spirals", "--classes", "3",  "--layers",
                          "2,64,64,3", "--optimizer", "adam",  "--lr",      "0.1", "--batch",
                          "64",        "--epochs",  "50",      NULL};
    expect_chaos_passes(args);
}

Test(mutation, unmutated_kernels_pass_chaotic_momentum, .timeout = 600) {
    need_opencl();
    const char *args[] = {"check", "--dataset", "spirals", "--classes",  "3",    "--layers",
                          "2,64,64,3", "--optimizer", "momentum", "--momentum", "0.99", "--lr",
                          "0.1", "--batch", "64", "--epochs", "50", NULL};
    expect_chaos_passes(args);
}

Test(mutation, elementwise_cl, .timeout = 900) { run_file("elementwise.cl"); }
Test(mutation, loss_cl, .timeout = 900) { run_file("loss.cl"); }
