/* team_choice.c — solo or team (see team_choice.h).
 *
 * Solo or team: measured, not guessed. Helpers do not always pay: on a
 * machine shared with busy processes they may get little CPU (and with the
 * scheduler's per-session groups a second thread of ours then takes time from
 * the first), and for small problems moving rows between the cores' caches
 * can cost more than the split saves. So an adaptive team compares, in turn,
 * a window of jobs run by the caller alone with a window run by the team, and
 * keeps the faster way for a while:
 *   - progress = the jobs' one-thread cost: each job kind (its function,
 *     chunk count and the caller's size hint) has a running average of its
 *     time when run alone, and a window's progress is its count of jobs of
 *     each kind times the kind's average at the window's end (the first jobs
 *     of a run are slow: cold caches, first-touch page faults; summing the
 *     averages as they stood at each job credited the first solo window with
 *     progress it did not make, up to 40%, and kept short runs solo);
 *   - a window lasts at least WINDOW_NS and MIN_WINDOW_JOBS jobs; its rate is
 *     its progress per wall second, so time between jobs (the single-threaded
 *     parts of a training step, which a spinning helper may slow) counts too;
 *   - the first comparison is quick (FIRST_WINDOW_NS windows: in a short run
 *     the solo window is a large share of the time): the team it chooses
 *     holds HOLD_FIRST_NS; solo is chosen only after a full comparison (a
 *     hiccup in a short team window must not keep a run on one thread);
 *   - the team wins if its rate beats the solo rate by MARGIN; the choice
 *     holds for a period that doubles (quadruples for a clear verdict, one
 *     side 25% faster) while the same side keeps winning;
 *   - where the kernel reports CPU pressure (Linux PSI), the team window is
 *     skipped (solo kept, for a long hold) when tasks waited for CPUs in the
 *     solo window.
 * Every time is passed in (ns): the state machine reads no clock, so a test
 * can drive it with any timings. */
#include "cpu/team_choice.h"

#include <stdint.h>
#include <string.h>

/* Window length, least jobs per window, the team's required advantage, the
 * first and longest periods a choice holds, and the CPU pressure (share of a
 * window some task waited for a CPU) above which the team is not tried. */
#define WINDOW_NS 15000000L
#define FIRST_WINDOW_NS 5000000L
#define MIN_WINDOW_JOBS 16
#define MARGIN 0.10
#define HOLD_FIRST_NS 200000000L
#define HOLD_MAX_NS 3200000000L
#define MAX_PRESSURE 0.05

static long pressure_now(const team_choice *c) {
    return c->pressure ? c->pressure(c->pressure_ctx) : -1;
}

/* Start a window of the given phase at `now`. */
static void open_window(team_choice *c, team_phase phase, long now) {
    c->phase = phase;
    c->team_mode = phase == TEAM_TEAM_WINDOW;
    c->win_start = now;
    c->win_jobs = 0;
    c->win_started = 0;
    c->win_unknown = 0.0;
    for (int i = 0; i < TEAM_CHOICE_KINDS; i++) c->kinds[i].win_jobs = 0;
    if (phase == TEAM_SOLO_WINDOW) c->psi_wait = pressure_now(c);
}

void team_choice_start(team_choice *c, int threads, long now, team_pressure_fn pressure,
                       void *pressure_ctx) {
    memset(c, 0, sizeof *c);
    c->threads = threads;
    c->pressure = pressure;
    c->pressure_ctx = pressure_ctx;
    c->hold_ns = HOLD_FIRST_NS;
    c->last_choice = -1;
    open_window(c, TEAM_SOLO_WINDOW, now); /* first: what one thread does */
}

void team_choice_fixed(team_choice *c, int threads) {
    memset(c, 0, sizeof *c);
    c->threads = threads;
    c->phase = TEAM_HOLD;
    c->team_mode = 1;
    c->last_choice = -1;
    c->hold_until = INT64_MAX;
}

team_kind *team_choice_kind(team_choice *c, nn_team_fn fn, size_t n, size_t size) {
    const size_t h = ((size_t)(uintptr_t)fn >> 4 ^ n * 0x9e3779b9u ^ size * 0x85ebca6bu) %
                     TEAM_CHOICE_KINDS;
    for (size_t i = 0; i < TEAM_CHOICE_KINDS; i++) {
        team_kind *k = &c->kinds[(h + i) % TEAM_CHOICE_KINDS];
        if (k->fn == fn && k->n == n && k->size == size) return k;
        if (!k->fn) {
            k->fn = fn, k->n = n, k->size = size, k->solo_ns = 0.0, k->win_jobs = 0;
            return k;
        }
    }
    team_kind *k = &c->kinds[h];
    c->win_jobs -= k->win_jobs; /* its jobs leave the window with it */
    k->fn = fn, k->n = n, k->size = size, k->solo_ns = 0.0, k->win_jobs = 0;
    return k;
}

void team_choice_account(team_choice *c, team_kind *k, long wall, long end) {
    if (!c->team_mode) /* a solo run: the kind's one-thread time */
        k->solo_ns = k->solo_ns > 0 ? 0.875 * k->solo_ns + 0.125 * (double)wall : (double)wall;
    if (c->phase == TEAM_HOLD) {
        if (end >= c->hold_until) open_window(c, TEAM_SOLO_WINDOW, end);
        return;
    }
    if (!c->win_started) c->win_start = end - wall, c->win_started = 1; /* at its first job */
    if (k->solo_ns > 0) { /* jobs whose one-thread time is unknown do not count */
        k->win_jobs++;
        c->win_jobs++;
    } else {
        c->win_unknown += (double)wall;
    }
    const long span = end - c->win_start;
    const int quick = c->last_choice < 0 && !c->quick_done; /* the first comparison's windows */
    if (span < (quick ? FIRST_WINDOW_NS : WINDOW_NS) || c->win_jobs < MIN_WINDOW_JOBS) return;
    double progress = 0.0; /* one-thread ns of the window's jobs */
    for (int i = 0; i < TEAM_CHOICE_KINDS; i++)
        progress += (double)c->kinds[i].win_jobs * c->kinds[i].solo_ns;
    const double rate = progress / ((double)span - c->win_unknown);
    int choice, busy = 0;
    if (c->phase == TEAM_SOLO_WINDOW) {
        const long wait = pressure_now(c);
        /* (not for the first comparison: our own process may just have had
         * more threads running, e.g. to generate the data) */
        busy = c->last_choice >= 0 && wait >= 0 && c->psi_wait >= 0 &&
               (double)(wait - c->psi_wait) * 1000.0 > MAX_PRESSURE * (double)span;
        if (!busy && c->threads > 1) {
            c->solo_rate = rate;
            open_window(c, TEAM_TEAM_WINDOW, end);
            return;
        }
        choice = 0; /* tasks wait for CPUs: a helper would find none */
    } else {
        choice = rate > (1.0 + MARGIN) * c->solo_rate;
        if (!choice && quick) { /* solo only after a full comparison */
            c->quick_done = 1;
            open_window(c, TEAM_SOLO_WINDOW, end);
            return;
        }
    }
    /* a clear verdict (one side 25% faster) holds longer, except a quick first
     * one; so does a busy machine */
    const int clear = busy || rate > 1.25 * c->solo_rate || rate < 0.8 * c->solo_rate;
    const long grown = c->hold_ns * (clear ? 4 : 2);
    c->hold_ns = choice == c->last_choice ? (grown < HOLD_MAX_NS ? grown : HOLD_MAX_NS)
                                          : (clear && !quick ? 2 * HOLD_FIRST_NS : HOLD_FIRST_NS);
    c->last_choice = choice;
    c->phase = TEAM_HOLD;
    c->team_mode = choice;
    c->hold_until = end + c->hold_ns;
}
