/* team_wake.h — getting thread 1 of a CPU backend's team to work, for tests
 * of what happens while it runs a chunk. Without Criterion, so that the
 * ThreadSanitizer programs of tests/race use it too. */
#ifndef NN_TEAM_WAKE_H
#define NN_TEAM_WAKE_H

#include "backend.h"

/* A chunk that notes the thread that ran it in ((int *)ctx)[thread]. */
static inline nn_status tw_note_thread(void *ctx, nn_backend *solo, size_t chunk, int thread,
                                       nn_error *err) {
    (void)solo, (void)chunk, (void)err;
    ((int *)ctx)[thread] = 1;
    return NN_OK;
}

/* Jobs of 2 chunks on be until thread 1 has run one (it starts asleep, and
 * on a busy machine may not get to run for a while); it then spins for a
 * while after the job, ready for the next one. Returns 1 once it ran, 0 if
 * it never did in `tries` jobs; a job's failure is returned in *st. */
static inline int tw_wake_thread_1(nn_backend *be, int tries, nn_status *st, nn_error *err) {
    int seen[2] = {0, 0};
    *st = NN_OK;
    for (int i = 0; !seen[1] && i < tries && *st == NN_OK; i++)
        *st = be->ops->run_chunks(be, 2, tw_note_thread, seen, err);
    return seen[1];
}

#endif
