/* test_team_choice.c — the adaptive team's choice of solo or team (src/cpu/
 * team_choice.c), driven with made-up job times: it chooses the team when the
 * team is faster and solo when it is not, solo only after a full-length
 * comparison, keeps solo on a machine whose tasks wait for CPUs, and revisits
 * its choice when the times change. */
#include <criterion/criterion.h>
#include <string.h>

#include "cpu/team_choice.h"

static void a_job(void *ctx, size_t chunk, int thread) { (void)ctx, (void)chunk, (void)thread; }

/* A run of jobs of one kind on simulated time (ns). */
typedef struct sim {
    team_choice c;
    long now;
    long jobs, team_jobs;   /* all, and those run on the team */
    int first_choice;       /* the first comparison's verdict (1 team, 0 solo), -1 before */
    long first_choice_at;   /* when it came */
    double pressure_share;  /* share of wall time some task waits for a CPU (PSI) */
} sim;

static long fake_pressure(void *ctx) {
    const sim *s = ctx;
    return (long)((double)s->now * s->pressure_share / 1000.0); /* us */
}

static void sim_start(sim *s, int threads) {
    memset(s, 0, sizeof *s);
    s->first_choice = -1;
    team_choice_start(&s->c, threads, 0, fake_pressure, s);
}

/* Jobs until `until` (ns): each takes solo_ns on the caller alone, team_ns on
 * the team, after gap_ns of single-threaded work. Returns the share of them
 * that ran on the team. */
static double run_until(sim *s, long solo_ns, long team_ns, long gap_ns, long until) {
    team_kind *k = team_choice_kind(&s->c, a_job, 2, 100);
    long jobs = 0, team = 0;
    while (s->now < until) {
        const int on_team = s->c.team_mode;
        const long wall = on_team ? team_ns : solo_ns;
        s->now += gap_ns + wall;
        team_choice_account(&s->c, k, wall, s->now);
        jobs++, team += on_team;
        if (s->first_choice < 0 && s->c.phase == TEAM_HOLD)
            s->first_choice = s->c.team_mode, s->first_choice_at = s->now;
    }
    s->jobs += jobs, s->team_jobs += team;
    return jobs ? (double)team / (double)jobs : 0.0;
}

#define MS 1000000L

Test(team_choice, the_team_is_chosen_when_it_is_faster) {
    sim s;
    sim_start(&s, 2);
    const double share = run_until(&s, 40000, 25000, 2000, 1000 * MS);
    cr_assert_eq(s.first_choice, 1, "the first comparison chose solo");
    /* the quick first comparison: two windows of 5 ms */
    cr_assert(s.first_choice_at < 12 * MS, "the team was chosen only at %.1f ms",
              (double)s.first_choice_at / MS);
    cr_assert_gt(share, 0.9, "only %.0f%% of the jobs ran on the team", 100 * share);
}

Test(team_choice, solo_is_chosen_only_after_a_full_comparison) {
    sim s;
    sim_start(&s, 2);
    const double share = run_until(&s, 40000, 50000, 2000, 1000 * MS);
    cr_assert_eq(s.first_choice, 0, "the team was chosen though it is slower");
    /* the quick comparison (5 + 5 ms) is followed by a full one (15 + 15 ms) */
    cr_assert(s.first_choice_at >= 40 * MS, "solo was chosen at %.1f ms, before a full comparison",
              (double)s.first_choice_at / MS);
    cr_assert_lt(share, 0.1, "%.0f%% of the jobs ran on the slower team", 100 * share);
}

Test(team_choice, a_slow_first_team_window_does_not_keep_a_run_solo) {
    sim s;
    sim_start(&s, 2);
    run_until(&s, 40000, 60000, 2000, 10 * MS); /* the team's first 5 ms go badly */
    cr_assert_eq(s.first_choice, -1, "a quick comparison decided for solo");
    run_until(&s, 40000, 25000, 2000, 1000 * MS);
    cr_assert_eq(s.first_choice, 1, "a hiccup in the first team window kept the run solo");
}

Test(team_choice, a_busy_machine_stays_solo) {
    sim s;
    sim_start(&s, 2);
    run_until(&s, 40000, 25000, 2000, 100 * MS);
    cr_assert_eq(s.first_choice, 1);
    s.pressure_share = 0.5; /* from now on, tasks wait for CPUs half of the time */
    const double share = run_until(&s, 40000, 25000, 2000, 2000 * MS);
    cr_assert_lt(share, 0.2, "the team ran %.0f%% of the jobs on a busy machine", 100 * share);
    cr_assert_eq(s.c.team_mode, 0);
}

Test(team_choice, the_choice_follows_changed_times) {
    sim s;
    sim_start(&s, 2);
    run_until(&s, 40000, 25000, 2000, 500 * MS);
    cr_assert_eq(s.c.team_mode, 1);
    /* the team becomes the slower way: within a few holds the jobs run solo */
    run_until(&s, 40000, 60000, 2000, 2500 * MS);
    const double late = run_until(&s, 40000, 60000, 2000, 3500 * MS);
    cr_assert_lt(late, 0.1, "%.0f%% of the late jobs still ran on the team", 100 * late);
    /* and back */
    run_until(&s, 40000, 25000, 2000, 8000 * MS);
    const double back = run_until(&s, 40000, 25000, 2000, 9000 * MS);
    cr_assert_gt(back, 0.9, "only %.0f%% of the jobs ran on the team again", 100 * back);
}

Test(team_choice, a_one_thread_team_stays_solo) {
    sim s;
    sim_start(&s, 1);
    cr_assert_eq(run_until(&s, 40000, 1000, 2000, 1000 * MS), 0.0);
}

Test(team_choice, jobs_of_kinds_never_run_alone_do_not_count) {
    /* a kind first seen in a team window has no one-thread time: its jobs add
     * no progress and their wall time leaves the window's span, so slow jobs
     * of a new kind do not turn the verdict */
    sim s;
    sim_start(&s, 2);
    team_kind *a = team_choice_kind(&s.c, a_job, 2, 100); /* until the second team window */
    while ((s.c.phase != TEAM_TEAM_WINDOW || s.c.last_choice < 0) && s.now < 1000 * MS) {
        const long wall = s.c.team_mode ? 25000 : 40000;
        s.now += 2000 + wall;
        team_choice_account(&s.c, a, wall, s.now);
    }
    cr_assert_eq(s.c.phase, TEAM_TEAM_WINDOW, "no second team window in 1 s");
    team_kind *b = team_choice_kind(&s.c, a_job, 7, 100);
    while (s.c.phase == TEAM_TEAM_WINDOW && s.now < 2000 * MS) {
        s.now += 2000 + 25000;
        team_choice_account(&s.c, a, 25000, s.now);
        s.now += 2000 + 200000;
        team_choice_account(&s.c, b, 200000, s.now);
    }
    cr_assert_eq(b->solo_ns, 0.0, "a team job gave its kind a one-thread time");
    cr_assert_eq(s.c.team_mode, 1, "the new kind's slow jobs counted against the team");
}

Test(team_choice, a_fixed_team_never_measures) {
    team_choice c;
    team_choice_fixed(&c, 4);
    team_kind *k = team_choice_kind(&c, a_job, 2, 100);
    for (long t = 1; t < 100000; t++) team_choice_account(&c, k, 100000, t * 100000);
    cr_assert(c.team_mode && c.phase == TEAM_HOLD);
}
