/* team_choice.h — solo or team: the adaptive thread team's choice, as a state
 * machine over the times of its jobs (internal). cpu_team.c feeds it every
 * job's wall time and runs the next job as it says; the tests feed it made-up
 * times and check its choices (see team_choice.c for the rules). */
#ifndef NN_TEAM_CHOICE_H
#define NN_TEAM_CHOICE_H

#include <stddef.h>

#include "cpu/cpu_team.h"

#define TEAM_CHOICE_KINDS 64 /* job kinds remembered */

/* A kind of job (its function, chunk count and the caller's size hint) and its
 * average time when run by the caller alone. */
typedef struct team_kind {
    nn_team_fn fn;
    size_t n, size;
    double solo_ns; /* 0: not measured yet */
    long win_jobs;  /* jobs of the kind counted in the current window */
} team_kind;

typedef enum team_phase { TEAM_SOLO_WINDOW, TEAM_TEAM_WINDOW, TEAM_HOLD } team_phase;

/* The CPU pressure clock: the "some" total of /proc/pressure/cpu in us, or -1
 * where there is none. */
typedef long (*team_pressure_fn)(void *ctx);

typedef struct team_choice {
    int threads;                /* team size, counting the caller */
    team_pressure_fn pressure;  /* NULL: none */
    void *pressure_ctx;
    team_phase phase;
    int team_mode;              /* the next job runs on the team (else on the caller alone) */
    int last_choice;            /* 1: the team won the last comparison; -1: none yet */
    int quick_done;             /* the quick first comparison is over */
    long win_start;             /* the window's start (ns) */
    long win_jobs;              /* jobs counted (their one-thread time is known) */
    int win_started;            /* a job ran in the window */
    double win_unknown;         /* wall ns of the window's jobs of kinds never run alone */
    double solo_rate;           /* the solo window's progress per ns */
    long hold_until, hold_ns;   /* the current choice holds until (ns); for how long */
    long psi_wait;              /* pressure total at the solo window's start (us), or -1 */
    team_kind kinds[TEAM_CHOICE_KINDS];
} team_choice;

/* Start choosing for a team of `threads` at `now` (ns): a solo window first.
 * pressure may be NULL. */
void team_choice_start(team_choice *c, int threads, long now, team_pressure_fn pressure,
                       void *pressure_ctx);
/* No choosing: every job on the team, for good. */
void team_choice_fixed(team_choice *c, int threads);
/* The entry of a job kind (a slot is reused when the table is full). */
team_kind *team_choice_kind(team_choice *c, nn_team_fn fn, size_t n, size_t size);
/* Account a job of kind k that took `wall` ns and ended at `end` (ns, the
 * clock of team_choice_start), run as c->team_mode said; c->team_mode then
 * says how the next job runs. */
void team_choice_account(team_choice *c, team_kind *k, long wall, long end);

#endif
