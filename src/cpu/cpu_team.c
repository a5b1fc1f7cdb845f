/* cpu_team.c — the persistent thread team (see cpu_team.h).
 *
 * Protocol. One 64-bit state word: the job's generation (high 32 bits), an
 * "open" flag (bit 31), the number of workers that ran chunks of the job
 * (bits 16-30) and the number of workers inside it (bits 0-15).
 *   caller: writes the job (fn, ctx, the per-thread ranges), then stores
 *           state = (gen + 1, open, 0, 0); works on chunks until none is left;
 *           clears "open"; waits until no worker is inside; returns.
 *   worker: seeing a new open generation, enters with a CAS (inside + 1), so
 *           it enters only while the job is open; works on chunks; leaves
 *           (inside - 1, and helpers + 1 if it ran any, in one release add).
 * The job's end is one cache line between the cores: the caller spins on the
 * state word, which tells it both that the workers left and how many helped.
 * A worker inside the job keeps the caller from returning, so the job's
 * fields stay valid while it reads them; a worker that was not running when
 * the job opened finds it closed and skips it. The caller closes only after
 * every chunk has been claimed, so "no worker inside" means every chunk done.
 *
 * Ranges. Thread t's range [lo, hi) is one 64-bit word (hi << 32 | lo): the
 * owner takes chunk lo (lo + 1), a helper takes chunk hi - 1 (hi - 1), both
 * by CAS, so each chunk is taken exactly once. A job of n chunks has ranges
 * for its P = min(n, size) first threads only (`parts`, written with the
 * job); the others neither enter it nor are woken for it: on a 16-thread team
 * a training step's 2-chunk jobs ran at 2.1-2.6M rows/s with 14 idle helpers
 * woken and spinning on the state line, against 3.1-3.5M on a 2-thread team.
 *
 * Solo or team: an adaptive team measures whether its helpers pay and runs
 * jobs alone when they do not (team_choice.c, which this file feeds with each
 * job's time). Helpers sleep while the team is solo. Which thread computes
 * what never changes a result, so this only moves time. */
#include "cpu/cpu_team.h"
#include "cpu/team_choice.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Spinning time of an idle worker before it sleeps (a training step's jobs
 * come microseconds apart; a new training run, much later). */
#define IDLE_SPIN_NS 2000000L
/* Spins of the caller waiting for workers before it starts yielding the CPU. */
#define WAIT_SPINS 20000

#define OPEN ((uint64_t)1 << 31)
#define HELPED_ONE ((uint64_t)1 << 16)
#define INSIDE_MASK (HELPED_ONE - 1)
#define HELPED_MASK (OPEN - HELPED_ONE)

typedef struct range {
    _Alignas(64) _Atomic uint64_t lohi; /* hi << 32 | lo: the chunks not yet taken */
} range;

struct nn_team {
    int size;              /* threads, counting the caller */
    pthread_t *workers;    /* (size - 1) */
    int started;           /* workers created */
    _Alignas(64) _Atomic uint64_t state; /* gen << 32 | open | helped << 16 | inside */
    /* the current job, written by the caller while no worker is inside (in
     * the state's cache line: a worker that sees the job has them too) */
    nn_team_fn fn;
    void *ctx;
    _Atomic int parts;     /* threads 0..parts-1 take part (read by workers outside too) */
    /* the caller's own */
    _Alignas(64) int used; /* most threads that ran chunks of one job since the last reset */
    int used_window;       /* the same for jobs in measurement windows */
    int held;              /* a job ran in a hold (the chosen way) since the last reset */
    int adaptive;          /* measure solo against team (else always team) */
    int psi_fd;            /* /proc/pressure/cpu, or -1 */
    team_choice choice;    /* solo or team */
    struct {               /* the job nn_team_start left in flight */
        int on;
        nn_team_fn fn;
        size_t n, size;
        long t0;           /* its start (adaptive) */
        int mine;          /* 1: the caller ran chunks of it */
    } flight;
    /* sleeping */
    _Alignas(64) atomic_int solo; /* helpers: sleep instead of spinning */
    atomic_int sleepers;
    _Atomic unsigned char *asleep; /* (size) 1 while worker t waits in sleep_until_new */
    atomic_int stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    range *ranges;         /* (size) */
};

typedef struct worker_arg {
    nn_team *t;
    int index;
} worker_arg;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/* Take one chunk for thread `self`: from the front of its own range, else
 * from the back of another's. Returns 0 when every range is empty. */
static int take(nn_team *t, int self, size_t *chunk) {
    const int parts = atomic_load_explicit(&t->parts, memory_order_relaxed);
    for (int d = 0; d < parts; d++) {
        const int q = (self + d) % parts;
        _Atomic uint64_t *w = &t->ranges[q].lohi;
        uint64_t v = atomic_load_explicit(w, memory_order_relaxed);
        for (;;) {
            const uint32_t lo = (uint32_t)v, hi = (uint32_t)(v >> 32);
            if (lo >= hi) break;
            const uint64_t nv = d == 0 ? v + 1 : v - ((uint64_t)1 << 32);
            if (atomic_compare_exchange_weak_explicit(w, &v, nv, memory_order_relaxed,
                                                      memory_order_relaxed)) {
                *chunk = d == 0 ? lo : hi - 1;
                return 1;
            }
        }
    }
    return 0;
}

/* Run chunks until none is left; returns how many this thread ran. */
static size_t work(nn_team *t, int self) {
    size_t c, done = 0;
    while (take(t, self, &c)) {
        t->fn(t->ctx, c, self);
        done++;
    }
    return done;
}

/* Sleep until the team stops or its job is newer than `gen` and has a part
 * for thread `self`. */
static void sleep_until_new(nn_team *t, int self, uint32_t gen) {
    pthread_mutex_lock(&t->mu);
    atomic_fetch_add(&t->sleepers, 1);
    atomic_store(&t->asleep[self], 1); /* seq_cst: pairs with the caller's publish */
    while (!atomic_load(&t->stop) && ((uint32_t)(atomic_load(&t->state) >> 32) == gen ||
                                      atomic_load(&t->parts) <= self))
        pthread_cond_wait(&t->cv, &t->mu);
    atomic_store(&t->asleep[self], 0);
    atomic_fetch_sub(&t->sleepers, 1);
    pthread_mutex_unlock(&t->mu);
}

static void *worker_main(void *p) {
    worker_arg *a = p;
    nn_team *t = a->t;
    const int self = a->index;
    free(a);
    uint32_t seen = (uint32_t)(atomic_load(&t->state) >> 32);
    sleep_until_new(t, self, seen); /* no spinning before the first job: it may never come */
    long idle_since = now_ns();
    unsigned spins = 0;
    while (!atomic_load_explicit(&t->stop, memory_order_relaxed)) {
        uint64_t s = atomic_load_explicit(&t->state, memory_order_acquire);
        const uint32_t gen = (uint32_t)(s >> 32);
        if (gen != seen) {
            if (atomic_load_explicit(&t->parts, memory_order_relaxed) <= self) {
                seen = gen; /* no part for this thread (a stale count only skips a job
                             * that is closed by now: entering needs its state) */
            } else if ((s & OPEN) && atomic_compare_exchange_weak_explicit(
                                         &t->state, &s, s + 1, memory_order_acquire,
                                         memory_order_relaxed)) {
                seen = gen;
                const uint64_t leave = work(t, self) ? HELPED_ONE - 1 : (uint64_t)-1;
                atomic_fetch_add_explicit(&t->state, leave, memory_order_release);
                idle_since = now_ns();
                spins = 0;
            } else if (!(s & OPEN)) {
                seen = gen; /* closed before this thread got to it */
            }
            continue;
        }
        cpu_relax();
        if (atomic_load_explicit(&t->solo, memory_order_relaxed) ||
            (++spins % 1024 == 0 && now_ns() - idle_since > IDLE_SPIN_NS)) {
            sleep_until_new(t, self, seen);
            idle_since = now_ns();
            spins = 0;
        }
    }
    return NULL;
}

/* The "some" total of /proc/pressure/cpu ("some avg10=.. avg60=.. avg300=..
 * total=T"): T in us, or -1. */
static long pressure_total(void *ctx) {
    const nn_team *t = ctx;
    char buf[256];
    if (t->psi_fd < 0) return -1;
    const ssize_t len = pread(t->psi_fd, buf, sizeof buf - 1, 0);
    if (len <= 0) return -1;
    buf[len] = '\0';
    const char *p = strstr(buf, "total="), *eol = strchr(buf, '\n');
    if (!p || (eol && p > eol)) return -1;
    long v = 0;
    for (p += 6; *p >= '0' && *p <= '9'; p++) v = v * 10 + (*p - '0');
    return v;
}

static void stop_workers(nn_team *t) {
    pthread_mutex_lock(&t->mu);
    atomic_store(&t->stop, 1);
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    for (int i = 0; i < t->started; i++) pthread_join(t->workers[i], NULL);
    t->started = 0;
}


nn_status nn_team_create(int threads, int adaptive, nn_team **out, nn_error *err) {
    *out = NULL;
    if (threads < 1) threads = 1;
    if ((uint64_t)threads > INSIDE_MASK / 2) /* helpers and insiders must fit the state word */
        return nn_error_set_param(err, NN_E_INVALID, "threads",
                                  "at most %d cpu threads, got %d", (int)(INSIDE_MASK / 2), threads);
    nn_team *t = aligned_alloc(64, (sizeof *t + 63) / 64 * 64);
    range *ranges = aligned_alloc(64, sizeof(range) * (size_t)threads);
    pthread_t *workers = malloc(sizeof(pthread_t) * (size_t)threads);
    _Atomic unsigned char *asleep = malloc(sizeof *asleep * (size_t)threads);
    if (!t || !ranges || !workers || !asleep) {
        free(t);
        free(ranges);
        free(workers);
        free((void *)asleep);
        return nn_error_set(err, NN_E_NOMEM, "out of memory creating %d cpu threads", threads);
    }
    memset(t, 0, sizeof *t);
    t->size = threads;
    t->workers = workers;
    atomic_init(&t->state, 0);
    t->used = t->used_window = 1;
    t->adaptive = adaptive;
    t->psi_fd = adaptive ? open("/proc/pressure/cpu", O_RDONLY | O_CLOEXEC) : -1;
    atomic_init(&t->sleepers, 0);
    atomic_init(&t->stop, 0);
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    t->ranges = ranges;
    t->asleep = asleep;
    atomic_init(&t->parts, threads);
    for (int i = 0; i < threads; i++) atomic_init(&ranges[i].lohi, 0), atomic_init(&asleep[i], 0);
    if (adaptive)
        team_choice_start(&t->choice, threads, now_ns(), pressure_total, t);
    else
        team_choice_fixed(&t->choice, threads);
    atomic_init(&t->solo, !t->choice.team_mode);
    for (int i = 1; i < threads; i++) {
        worker_arg *a = malloc(sizeof *a);
        if (a) *a = (worker_arg){t, i};
        if (!a || pthread_create(&workers[i - 1], NULL, worker_main, a) != 0) {
            free(a);
            nn_team_free(t);
            return nn_error_set(err, NN_E_NOMEM, "cannot start cpu thread %d of %d", i + 1,
                                threads);
        }
        t->started++;
    }
    *out = t;
    return NN_OK;
}

void nn_team_free(nn_team *t) {
    if (!t) return;
    nn_team_wait(t);
    stop_workers(t);
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
    if (t->psi_fd >= 0) close(t->psi_fd);
    free(t->ranges);
    free(t->workers);
    free((void *)t->asleep);
    free(t);
}

int nn_team_size(const nn_team *t) { return t->size; }

int nn_team_used(nn_team *t, int reset) {
    nn_team_wait(t);
    /* once a choice has held, the jobs of the measurement windows do not count */
    const int used = t->held || t->used_window < t->used ? t->used : t->used_window;
    if (reset) t->used = t->used_window = 1, t->held = 0;
    return used;
}

/* Account a job of (fn, n, size) that took `wall` ns and ended at `end`; the
 * helpers sleep while the choice is solo (the flag is written when it changes:
 * spinning helpers read its line). */
static void account(nn_team *t, nn_team_fn fn, size_t n, size_t size, long wall, long end) {
    team_choice_account(&t->choice, team_choice_kind(&t->choice, fn, n, size), wall, end);
    const int solo = !t->choice.team_mode;
    if (atomic_load_explicit(&t->solo, memory_order_relaxed) != solo)
        atomic_store_explicit(&t->solo, solo, memory_order_relaxed);
}

void nn_team_run(nn_team *t, size_t n, nn_team_fn fn, void *ctx, size_t size) {
    nn_team_start(t, n, fn, ctx, size);
    nn_team_wait(t);
}

void nn_team_start(nn_team *t, size_t n, nn_team_fn fn, void *ctx, size_t size) {
    nn_team_wait(t); /* the workers inside a job read its fields */
    if (t->size == 1 || n < 2 || n > UINT32_MAX) {
        for (size_t c = 0; c < n; c++) fn(ctx, c, 0);
        return;
    }
    const long t0 = t->adaptive ? now_ns() : 0;
    if (t->choice.phase == TEAM_HOLD) t->held = 1;
    if (!t->choice.team_mode) {
        for (size_t c = 0; c < n; c++) fn(ctx, c, 0);
        const long t2 = now_ns();
        account(t, fn, n, size, t2 - t0, t2);
        return;
    }
    const int P = n < (size_t)t->size ? (int)n : t->size; /* threads taking part */
    t->fn = fn;
    t->ctx = ctx;
    atomic_store_explicit(&t->parts, P, memory_order_relaxed);
    for (int q = 0; q < P; q++) {
        const uint64_t lo = n * (size_t)q / (size_t)P, hi = n * (size_t)(q + 1) / (size_t)P;
        atomic_store_explicit(&t->ranges[q].lohi, hi << 32 | lo, memory_order_relaxed);
    }
    const uint64_t s = atomic_load_explicit(&t->state, memory_order_relaxed);
    /* seq_cst: a worker going to sleep either sees this generation or is seen below */
    atomic_store(&t->state, ((s >> 32) + 1) << 32 | OPEN);
    if (atomic_load(&t->sleepers) > 0) {
        int wake = 0;
        for (int q = 1; q < P && !wake; q++) wake = atomic_load(&t->asleep[q]);
        if (wake) {
            pthread_mutex_lock(&t->mu);
            pthread_cond_broadcast(&t->cv);
            pthread_mutex_unlock(&t->mu);
        }
    }
    const size_t mine = work(t, 0);
    atomic_fetch_and_explicit(&t->state, ~OPEN, memory_order_acq_rel);
    t->flight.on = 1;
    t->flight.fn = fn;
    t->flight.n = n;
    t->flight.size = size;
    t->flight.t0 = t0;
    t->flight.mine = mine > 0;
}

/* The job's wall time for the adaptive team runs to the end of the wait: after
 * nn_team_start it includes the caller's own work in between, which the
 * team's measurements count as time between jobs anyway (team_choice.c). */
void nn_team_wait(nn_team *t) {
    if (!t->flight.on) return;
    t->flight.on = 0;
    uint64_t end;
    for (unsigned spins = 0;
         ((end = atomic_load_explicit(&t->state, memory_order_acquire)) & INSIDE_MASK) != 0;)
        if (++spins < WAIT_SPINS) cpu_relax();
        else sched_yield(); /* a worker inside was descheduled mid-chunk */
    const int ran = t->flight.mine + (int)((end & HELPED_MASK) / HELPED_ONE);
    if (t->choice.phase != TEAM_HOLD) {
        if (ran > t->used_window) t->used_window = ran;
    } else if (ran > t->used) {
        t->used = ran;
    }
    if (t->adaptive) {
        const long t2 = now_ns();
        account(t, t->flight.fn, t->flight.n, t->flight.size, t2 - t->flight.t0, t2);
    }
}
