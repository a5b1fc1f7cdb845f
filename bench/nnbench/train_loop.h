/* train_loop.h — the step loop of `nnbench train` over nn_trainer_step, with
 * the checkpoint and stop policy in one place: a checkpoint every N steps or
 * every T seconds, at the end, and when SIGINT or SIGTERM asks the run to
 * stop (the handler only sets a flag; the loop finishes the current step).
 *
 * Ranks: the decisions (checkpoint now? stop now?) are made in one function,
 * loop_decide; step counts are the same on every rank, and the time- and
 * signal-based ones are summed over the ranks after every step (a signal or
 * a due checkpoint on any rank counts for all), so every rank makes the
 * collective checkpoint call at the same step. Only the root rank writes
 * files; a checkpoint that cannot be written stops every rank. */
#ifndef NNBENCH_TRAIN_LOOP_H
#define NNBENCH_TRAIN_LOOP_H

#include "nn_comm.h"
#include "resume.h"

/* What the loop runs and when it writes checkpoints. */
typedef struct train_loop {
    nn_trainer *tr;
    const run_ckpt *ckpt;  /* NULL: no checkpoints */
    uint64_t every_steps;  /* checkpoint every this many optimizer steps (0 = never) */
    double every_seconds;  /* or every this many seconds of wall time (0 = never) */
    uint64_t first_step;   /* optimizer steps taken before (a resumed run's) */
    int is_root;           /* this process writes files */
    nn_comm *comm;         /* data-parallel ranks, or NULL */
} train_loop;

/* How the loop ended (when it returned NN_OK). */
typedef struct loop_end {
    int signal;            /* 0: every epoch trained; else SIGINT or SIGTERM stopped it */
    uint64_t checkpoints;  /* checkpoints written */
} loop_end;

/* From now on SIGINT and SIGTERM set the stop flag (and a second one acts as
 * usual, ending the process); a signal this process ignores stays ignored. */
void loop_catch_signals(void);
/* Step until the trainer is finished or a signal stops it; write the
 * checkpoints. An error of a step or a checkpoint ends the loop (the last
 * checkpoint written stays). */
nn_status train_loop_run(const train_loop *l, loop_end *end, nn_error *err);

#endif
