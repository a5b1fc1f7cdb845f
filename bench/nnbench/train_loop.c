/* train_loop.c — steps, checkpoints and stopping on a signal. */
#include "train_loop.h"

#include <signal.h>
#include <string.h>

/* The signal that asked the run to stop, 0 while none did. */
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig) { stop_signal = sig; }

void loop_catch_signals(void) {
    const int sigs[] = {SIGINT, SIGTERM};
    for (int i = 0; i < 2; i++) {
        struct sigaction old, sa;
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_stop_signal;
        sa.sa_flags = SA_RESETHAND | SA_RESTART; /* a second signal ends the process at once */
        sigemptyset(&sa.sa_mask);
        sigaction(sigs[i], &sa, NULL);
    }
}

enum { ACT_CHECKPOINT = 1, ACT_STOP = 2 };

/* The stop signal and a due timed checkpoint, summed over the ranks: what
 * any rank saw counts for every rank. Returns the agreed flags. */
static nn_status agree_flags(const train_loop *l, int *stop, int *due, nn_error *err) {
    if (!l->comm || l->comm->size <= 1) return NN_OK;
    double f[2] = {*stop ? 1.0 : 0.0, *due ? 1.0 : 0.0}; /* (2) */
    nn_status st = l->comm->ops->allreduce_f64(l->comm, f, 2, err);
    *stop = f[0] > 0.0;
    *due = f[1] > 0.0;
    return st;
}

/* What to do after a step: the one place where the run decides to write a
 * checkpoint or to stop. Step counts are the same on every rank; the time and
 * signal tests are agreed across ranks, so that every rank makes the
 * collective checkpoint call at the same step. */
static nn_status loop_decide(const train_loop *l, uint64_t steps, double since_checkpoint,
                             unsigned *act, nn_error *err) {
    *act = 0;
    if (nn_trainer_finished(l->tr)) return NN_OK; /* the end: its checkpoint follows */
    int stop = stop_signal != 0;
    int due = l->ckpt && l->every_seconds > 0 && since_checkpoint >= l->every_seconds;
    nn_status st = agree_flags(l, &stop, &due, err);
    if (st != NN_OK) return st;
    if (stop) *act |= ACT_STOP;
    if (!l->ckpt) return NN_OK;
    if (stop || due || (l->every_steps && steps % l->every_steps == 0)) *act |= ACT_CHECKPOINT;
    return NN_OK;
}

/* Write a checkpoint (collective); with ranks, a root that cannot write stops them all. */
static nn_status checkpoint(const train_loop *l, nn_error *err) {
    nn_status st = ckpt_write(l->ckpt, l->tr, l->is_root, err);
    if (l->comm && l->comm->size > 1) st = nn_comm_agree(l->comm, st, err);
    return st;
}

nn_status train_loop_run(const train_loop *l, loop_end *end, nn_error *err) {
    memset(end, 0, sizeof *end);
    uint64_t steps = l->first_step;
    double last = nn_now();
    while (!nn_trainer_finished(l->tr)) {
        nn_status st = nn_trainer_step(l->tr, err);
        if (st != NN_OK) return st;
        steps++;
        unsigned act;
        if ((st = loop_decide(l, steps, nn_now() - last, &act, err)) != NN_OK) return st;
        if (act & ACT_CHECKPOINT) {
            if ((st = checkpoint(l, err)) != NN_OK) return st;
            end->checkpoints++;
            last = nn_now();
        }
        if (act & ACT_STOP) {
            end->signal = stop_signal ? stop_signal : SIGINT; /* another rank's signal */
            return NN_OK;
        }
    }
    if (l->ckpt) {
        nn_status st = checkpoint(l, err);
        if (st != NN_OK) return st;
        end->checkpoints++;
    }
    return NN_OK;
}
