/* cpu_team.h — the CPU backend's persistent thread team (internal).
 *
 * A job is n independent chunks of work. The calling thread always works on
 * its job; the team's other threads join while they are running and help, and
 * a thread that is not running (descheduled by another process, or asleep)
 * is never waited for: the caller does the chunks nobody took. So a busy
 * machine costs a job at most the work itself, never a wait for a thread that
 * has not started (the weakness of fork/join regions with a barrier).
 *
 * A job of n chunks runs on its first P = min(n, T) threads (T in the team):
 * thread t < P has a preferred range of chunks, [n t/P, n (t+1)/P): it takes
 * them from the front; a thread with nothing left takes chunks from the back
 * of another thread's range. Consecutive jobs with the same chunking therefore
 * give each thread the same rows while all threads run (its caches keep them),
 * and spread the work to whoever is running when some do not. Threads past P
 * stay out of the job (a 2-chunk job on a 16-thread team is a 2-thread job).
 *
 * Results must not depend on which thread runs a chunk: chunks write disjoint
 * outputs, and any sum is split into chunks by a rule that depends only on the
 * problem (never on the thread count), then combined in a fixed order.
 *
 * Idle threads spin for a short while after a job (the next job of a training
 * step usually comes within microseconds), then sleep until the next job. */
#ifndef NN_CPU_TEAM_H
#define NN_CPU_TEAM_H

#include <stddef.h>

#include "nn.h"

typedef struct nn_team nn_team;

/* Chunk `chunk` of a job; `thread` is the index (0 = caller) of the thread
 * running it, for per-thread scratch memory. */
typedef void (*nn_team_fn)(void *ctx, size_t chunk, int thread);

/* A team of `threads` threads: the caller and threads - 1 workers (none for 1).
 * adaptive: go solo when helpers do not pay (see team_choice.c); 0 always offers
 * jobs to the helpers (for tests). */
nn_status nn_team_create(int threads, int adaptive, nn_team **out, nn_error *err);
/* Stop and join the workers; NULL is a no-op. */
void nn_team_free(nn_team *t);
/* Threads in the team, counting the caller (>= 1). */
int nn_team_size(const nn_team *t);
/* Run fn on chunks [0, n) and return when all are done. With n < 2 or a
 * one-thread team the chunks run in order on the calling thread. `size`
 * tells jobs of the same fn and n apart for the adaptive team (jobs of equal
 * fn, n and size are taken to cost the same; e.g. the elements or
 * multiply-adds). One job at a time: not reentrant, and called from one
 * thread at a time. */
void nn_team_run(nn_team *t, size_t n, nn_team_fn fn, void *ctx, size_t size);
/* nn_team_run without the wait at its end: returns once the caller has run its
 * chunks and every chunk is taken, while helpers may still run theirs; the job
 * stays in flight (ctx must stay valid, its outputs unread) until nn_team_wait,
 * or the start of the team's next job, which waits for it first. The caller
 * works on something else meanwhile instead of waiting. */
void nn_team_start(nn_team *t, size_t n, nn_team_fn fn, void *ctx, size_t size);
/* Wait until the job in flight (nn_team_start) is done; a no-op when none is. */
void nn_team_wait(nn_team *t);
/* The most threads that ran chunks of one job since the last reset (1 if
 * every job ran on the calling thread alone; for an adaptive team, once it
 * has chosen solo or team, jobs of its measurement windows do not count);
 * reset != 0 starts a new count. */
int nn_team_used(nn_team *t, int reset);

#endif
