/* test_cpu_team.c — the CPU backend's thread team: every chunk of every job
 * runs exactly once, on a valid thread index, whatever the team size, after
 * the helpers went to sleep, and for thousands of jobs in a row; the count of
 * threads used; and the trainer's threads_used. */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpu/cpu_team.h"
#include "testutil.h"

typedef struct count_job {
    atomic_int *hits; /* (n) runs of each chunk */
    int size;         /* team size */
    atomic_int bad_thread;
} count_job;

static void count_chunk(void *ctx, size_t chunk, int thread) {
    count_job *j = ctx;
    if (thread < 0 || thread >= j->size) atomic_fetch_add(&j->bad_thread, 1);
    atomic_fetch_add(&j->hits[chunk], 1);
}

/* Run `jobs` jobs of n chunks on t and check each chunk ran once per job. */
static void run_and_count(nn_team *t, size_t n, int jobs) {
    count_job j = {calloc(n ? n : 1, sizeof(atomic_int)), nn_team_size(t), 0};
    for (int r = 0; r < jobs; r++) nn_team_run(t, n, count_chunk, &j, n);
    for (size_t c = 0; c < n; c++)
        cr_assert_eq(atomic_load(&j.hits[c]), jobs, "size %d, n %zu: chunk %zu ran %d times in %d jobs",
                     j.size, n, c, atomic_load(&j.hits[c]), jobs);
    cr_assert_eq(atomic_load(&j.bad_thread), 0, "a chunk saw a thread index outside the team");
    free(j.hits);
}

Test(cpu_team, every_chunk_runs_once_for_any_size) {
    static const int sizes[] = {1, 2, 3, 5};
    static const size_t ns[] = {0, 1, 2, 3, 7, 64, 1000};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        nn_team *t = NULL;
        nn_error err;
        cr_assert_eq(nn_team_create(sizes[s], s % 2, &t, &err), NN_OK, "%s", err.msg);
        cr_assert_eq(nn_team_size(t), sizes[s]);
        for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) run_and_count(t, ns[i], 200);
        nn_team_free(t);
    }
}

Test(cpu_team, too_many_threads_is_an_error) {
    nn_team *t = NULL;
    nn_error err;
    cr_assert_eq(nn_team_create(100000, 1, &t, &err), NN_E_INVALID);
    cr_assert_null(t);
    cr_assert_str_eq(err.param, "threads");
    cr_assert(strstr(err.msg, "100000") != NULL, "%s", err.msg);
}

Test(cpu_team, jobs_after_the_helpers_sleep) {
    nn_team *t = NULL;
    nn_error err;
    cr_assert_eq(nn_team_create(3, 0, &t, &err), NN_OK, "%s", err.msg);
    for (int round = 0; round < 3; round++) {
        run_and_count(t, 17, 50);
        struct timespec ts = {0, 5 * 1000 * 1000}; /* longer than the helpers' idle spin */
        nanosleep(&ts, NULL);
    }
    nn_team_free(t);
}

/* A chunk that takes a while (so that every thread of the team gets to run some). */
static void slow_chunk(void *ctx, size_t chunk, int thread) {
    (void)ctx, (void)chunk, (void)thread;
    struct timespec ts = {0, 2 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

Test(cpu_team, threads_used_counts_threads_that_ran_chunks) {
    nn_team *t = NULL;
    nn_error err;
    cr_assert_eq(nn_team_create(3, 0, &t, &err), NN_OK, "%s", err.msg); /* not adaptive */
    cr_assert_eq(nn_team_used(t, 0), 1, "nothing ran yet");
    run_and_count(t, 1, 5);
    cr_assert_eq(nn_team_used(t, 0), 1, "single-chunk jobs run on the caller");
    nn_team_run(t, 2, slow_chunk, NULL, 2);
    const int two = nn_team_used(t, 1);
    cr_assert(two >= 1 && two <= 2, "a 2-chunk job runs on 1 or 2 threads, got %d", two);
    cr_assert_eq(nn_team_used(t, 0), 1, "reset");
    /* 120 ms of sleeping chunks: the helpers join. On a crowded machine a woken helper
     * may wait for a CPU until the others have taken its chunks, so the job may be
     * repeated (a 16-core machine running 36 test processes needed that once). */
    int used = 0;
    for (int tries = 0; tries < 50 && used != 3; tries++) {
        nn_team_run(t, 60, slow_chunk, NULL, 60);
        used = nn_team_used(t, 1);
        cr_assert(used >= 1 && used <= 3, "a job of a 3-thread team ran on %d threads", used);
    }
    cr_assert_eq(used, 3, "the helpers never joined a 60-chunk job in 50 tries");
    nn_team_free(t);
}

/* Records the highest thread index that ran a chunk. */
static void note_thread(void *ctx, size_t chunk, int thread) {
    (void)chunk;
    atomic_int *top = ctx;
    int seen = atomic_load(top);
    while (thread > seen && !atomic_compare_exchange_weak(top, &seen, thread)) {
    }
    struct timespec ts = {0, 500 * 1000}; /* long enough for the helpers to wake */
    nanosleep(&ts, NULL);
}

Test(cpu_team, a_job_of_n_chunks_runs_on_the_first_n_threads) {
    nn_team *t = NULL;
    nn_error err;
    cr_assert_eq(nn_team_create(8, 0, &t, &err), NN_OK, "%s", err.msg); /* not adaptive */
    for (size_t n = 2; n <= 3; n++) {
        atomic_int top = 0;
        for (int job = 0; job < 40; job++) nn_team_run(t, n, note_thread, &top, n);
        cr_assert_lt(atomic_load(&top), (int)n, "a %zu-chunk job ran on thread %d", n,
                     atomic_load(&top));
    }
    /* and a job of more chunks than threads reaches every thread */
    atomic_int top = 0;
    for (int job = 0; job < 50 && atomic_load(&top) < 7; job++)
        nn_team_run(t, 64, note_thread, &top, 64);
    cr_assert_eq(atomic_load(&top), 7, "thread 7 never ran a chunk of a 64-chunk job");
    nn_team_free(t);
}

/* threads_used of one epoch of full-batch training on teacher data with
 * layer widths `sizes`, on the cpu backend with `threads` threads. */
static int trained_threads_used(int threads, const size_t *sizes, size_t n_sizes, size_t rows) {
    nn_data_spec spec = nn_data_spec_default(NN_DATA_TEACHER);
    spec.samples = rows;
    spec.features = sizes[0];
    nn_dataset ds;
    nn_error err;
    cr_assert_eq(nn_data_generate(&spec, &ds, &err), NN_OK, "%s", err.msg);
    nn_backend *be = tu_open("cpu", threads);
    nn_model_config mc = {.n_sizes = n_sizes, .hidden = NN_ACT_RELU, .loss = NN_LOSS_BCE, .seed = 3};
    for (size_t i = 0; i < n_sizes; i++) mc.sizes[i] = sizes[i];
    nn_model *m = NULL;
    cr_assert_eq(nn_model_create(be, &mc, &m, &err), NN_OK, "%s", err.msg);
    nn_train_config tc = nn_train_config_default();
    tc.epochs = 2;
    tc.log_every = 0;
    nn_source src = nn_source_from_dataset(&ds);
    nn_train_result res;
    cr_assert_eq(nn_train(m, &src, &tc, &res, &err), NN_OK, "%s", err.msg);
    nn_model_free(m);
    nn_backend_close(be);
    nn_dataset_free(&ds);
    return res.threads_used;
}

Test(cpu_team, train_result_reports_threads_used) {
    /* the tutorial's size: no op is worth a second thread */
    cr_assert_eq(trained_threads_used(2, (size_t[]){2, 8, 1}, 3, 800), 1);
    cr_assert_eq(trained_threads_used(1, (size_t[]){64, 256, 1}, 3, 1024), 1);
    /* wide enough that the products are split; whether the helper gets CPU time
     * to take a chunk depends on the machine's other load */
    const int used = trained_threads_used(2, (size_t[]){64, 256, 1}, 3, 1024);
    cr_assert(used == 1 || used == 2, "threads_used %d with 2 threads", used);
}
