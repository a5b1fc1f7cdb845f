/* mutation_util.h — running `nnbench check` on mutated copies of kernels/
 * (the mutants of mutants.h), shared by test_mutation.c and
 * test_mutation_matmul.c (two programs, so that each stays well within the
 * test timeout when every mutant needs a fresh OpenCL build). */
#ifndef NN_TEST_MUTATION_UTIL_H
#define NN_TEST_MUTATION_UTIL_H

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mutants.h"
#include "testutil.h"

#define KERNELS NN_SOURCE_DIR "/kernels"

/* Number of occurrences of needle in hay. */
static inline int count(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++) n++;
    return n;
}

/* The kernel source file `name` (malloc'd), or a failed test. */
static inline char *kernel_text(const char *name) {
    char *path = tu_path(KERNELS, name);
    char *text = tu_read_file(path);
    cr_assert_not_null(text, "cannot read %s", path);
    free(path);
    return text;
}

/* A temporary copy of kernels/ with mutant m applied (m NULL: unmutated). */
static inline char *mutated_copy(const mutant *m) {
    char *dir = tu_tmpdir();
    DIR *d = opendir(KERNELS);
    cr_assert_not_null(d, "cannot list %s", KERNELS);
    int applied = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len < 4 || strcmp(e->d_name + len - 3, ".cl") != 0) continue;
        char *text = kernel_text(e->d_name);
        if (m && strcmp(e->d_name, m->file) == 0) {
            cr_assert_eq(count(text, m->find), 1,
                         "kernels/%s changed: mutant '%s' no longer finds its text exactly once "
                         "(update tests/mutants.h):\n%s", m->file, m->name, m->find);
            char *at = strstr(text, m->find);
            size_t head = (size_t)(at - text), fl = strlen(m->find), rl = strlen(m->replace);
            char *out = malloc(strlen(text) - fl + rl + 1);
            memcpy(out, text, head);
            memcpy(out + head, m->replace, rl);
            strcpy(out + head + rl, at + fl);
            free(text);
            text = out;
            applied = 1;
        }
        free(tu_write_file(dir, e->d_name, text));
        free(text);
    }
    closedir(d);
    cr_assert(!m || applied, "mutant '%s': kernels/%s does not exist", m->name, m->file);
    return dir;
}

/* nnbench check of configuration c with the kernels in dir. */
static inline tu_result run_check(mut_config c, const char *dir, const char *const *extra) {
    const char *args[40] = {"check"};
    size_t n = 1;
    for (const char *const *a = MUT_CONFIGS[c].args; *a; a++) args[n++] = *a;
    for (const char *const *a = extra; a && *a; a++) args[n++] = *a;
    args[n] = NULL;
    char env_dir[4200];
    snprintf(env_dir, sizeof env_dir, "NN_KERNEL_DIR=%s", dir);
    const char *env[] = {env_dir, MUT_CONFIGS[c].tune, NULL};
    return tu_run_nnbench(args, env, NULL);
}

/* Skip the test when the machine has no usable OpenCL device. */
static inline void need_opencl(void) {
    nn_backend *be = tu_open_opencl();
    if (!be) cr_skip_test("no OpenCL device");
    nn_backend_close(be);
}

/* Every mutant of one kernel file; prints each result and the file's score. */
static inline void run_file(const char *file) {
    need_opencl();
    int made = 0, caught = 0, equivalent = 0;
    for (size_t i = 0; i < N_MUTANTS; i++) {
        const mutant *m = &MUTANTS[i];
        if (strcmp(m->file, file) != 0) continue;
        char *dir = mutated_copy(m);
        tu_result r = run_check(m->config, dir, NULL);
        cr_assert(r.status != 3, "mutant '%s' of kernels/%s does not build:\n%s", m->name, file,
                  r.err);
        if (m->layer == 0) {
            equivalent++;
            cr_assert_eq(r.status, 0,
                         "equivalent mutant '%s' of kernels/%s (%s) failed the check: a false "
                         "alarm\n%s\n%s", m->name, file, m->why, r.out, r.err);
            fprintf(stderr, "mutation %-14s %-50.50s equivalent, PASS (%s)\n", file, m->name,
                    m->why);
        } else {
            made++;
            char expect[96]; /* "FAIL: layer 2 dW out of tolerance", or " db out ..." */
            if (m->layer > 0)
                snprintf(expect, sizeof expect, "FAIL: layer %d %s out of tolerance", m->layer,
                         m->qty);
            else
                snprintf(expect, sizeof expect, " %s out of tolerance", m->qty);
            cr_assert_eq(r.status, 1,
                         "mutant '%s' of kernels/%s (config %s) was not caught (exit %d):\n%s\n%s",
                         m->name, file, MUT_CONFIGS[m->config].name, r.status, r.out, r.err);
            cr_assert(strstr(r.out, expect) && strstr(r.out, "\nFAIL: layer "),
                      "mutant '%s' of kernels/%s: expected \"%s\" in:\n%s", m->name, file, expect,
                      r.out);
            caught++;
            const char *named = strstr(r.out, "\nFAIL: ") + 7, *end = strstr(named, " out of");
            fprintf(stderr, "mutation %-14s %-50.50s caught: %.*s\n", file, m->name,
                    (int)(end - named), named);
        }
        tu_result_free(&r);
        tu_rmtree(dir);
    }
    cr_assert_gt(made, 0, "kernels/%s has no mutants", file);
    fprintf(stderr, "mutation score %s: %d of %d caught (%d equivalent mutants passed)\n", file,
            caught, made, equivalent);
}


#endif
