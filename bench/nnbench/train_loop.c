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

/* What to do after a step: the one place where the run decides to write a
 * checkpoint or to stop. With ranks, the time and signal tests must be
 * agreed here (e.g. the root's decision broadcast), so that every rank makes
 * the collective checkpoint call at the same step. */
static unsigned loop_decide(const train_loop *l, uint64_t steps, double since_checkpoint) {
    if (nn_trainer_finished(l->tr)) return 0; /* the end: its checkpoint follows */
    unsigned act = 0;
    if (stop_signal) act |= ACT_STOP;
    if (!l->ckpt) return act;
    if (act & ACT_STOP) act |= ACT_CHECKPOINT;
    if (l->every_steps && steps % l->every_steps == 0) act |= ACT_CHECKPOINT;
    if (l->every_seconds > 0 && since_checkpoint >= l->every_seconds) act |= ACT_CHECKPOINT;
    return act;
}

nn_status train_loop_run(const train_loop *l, loop_end *end, nn_error *err) {
    memset(end, 0, sizeof *end);
    uint64_t steps = l->first_step;
    double last = nn_now();
    while (!nn_trainer_finished(l->tr)) {
        nn_status st = nn_trainer_step(l->tr, err);
        if (st != NN_OK) return st;
        steps++;
        unsigned act = loop_decide(l, steps, nn_now() - last);
        if (act & ACT_CHECKPOINT) {
            if ((st = ckpt_write(l->ckpt, l->tr, l->is_root, err)) != NN_OK) return st;
            end->checkpoints++;
            last = nn_now();
        }
        if (act & ACT_STOP) {
            end->signal = stop_signal;
            return NN_OK;
        }
    }
    if (l->ckpt) {
        nn_status st = ckpt_write(l->ckpt, l->tr, l->is_root, err);
        if (st != NN_OK) return st;
        end->checkpoints++;
    }
    return NN_OK;
}
