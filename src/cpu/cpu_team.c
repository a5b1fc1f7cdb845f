/* cpu_team.c — the persistent thread team (see cpu_team.h).
 *
 * Protocol. One 64-bit state word: the job's generation (high 32 bits), an
 * "open" flag (bit 31) and the number of workers inside the job (low bits).
 *   caller: writes the job (fn, ctx, the per-thread ranges), then stores
 *           state = (gen + 1, open, 0); works on chunks until none is left;
 *           clears "open"; waits until no worker is inside; returns.
 *   worker: seeing a new open generation, enters with a CAS (inside + 1), so
 *           it enters only while the job is open; works on chunks; leaves
 *           (inside - 1, release).
 * A worker inside the job keeps the caller from returning, so the job's
 * fields stay valid while it reads them; a worker that was not running when
 * the job opened finds it closed and skips it. The caller closes only after
 * every chunk has been claimed, so "no worker inside" means every chunk done.
 *
 * Ranges. Thread t's range [lo, hi) is one 64-bit word (hi << 32 | lo): the
 * owner takes chunk lo (lo + 1), a helper takes chunk hi - 1 (hi - 1), both
 * by CAS, so each chunk is taken exactly once.
 *
 * Going solo. On a machine shared with busy processes of other users a helper
 * may get no CPU of its own: with the scheduler's per-session groups, a second
 * thread of ours then mostly takes time from the first (even when it only
 * spins between jobs), and the caller waits for helpers descheduled in the
 * middle of a chunk. So every WINDOW_NS the caller checks two things over the
 * window: the CPU time the team's threads got, divided by the wall time
 * (about T when every thread has a CPU of its own, about 1 when they share
 * one), and the jobs' speedup, estimated as the caller's busy time scaled by
 * the share of chunks it ran, over the jobs' wall time. If either is short of
 * what helpers should give, jobs run on the caller alone for a while (the
 * helpers sleep), then the team tries again; the solo period doubles while
 * the team keeps not paying. Where the kernel reports CPU pressure (Linux
 * PSI: the time some task waited for a CPU), a team starts alone when tasks
 * waited for CPUs over the last 10 s, and tries its helpers again only after
 * a solo window in which nobody waited for a CPU (then a helper would likely
 * find one free). Which thread computes what never changes a result, so this
 * only moves time. */
#include "cpu/cpu_team.h"

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
/* Going solo: the length of a window, the least CPU share each helper must
 * get, the least job speedup worth having helpers, and the first and the
 * longest solo periods. */
#define WINDOW_NS 20000000L
#define MIN_CPU_SHARE 0.4
#define MIN_GAIN 1.15
#define SOLO_FIRST_NS 20000000L
#define SOLO_MAX_NS 640000000L
/* CPU pressure below which a solo window counts as "nobody waited" (share of
 * the window's wall time some task waited for a CPU). */
#define MAX_PRESSURE 0.05
/* CPU pressure (percent, the kernel's 10 s average) above which a new team
 * starts with its caller alone. */
#define START_SOLO_PRESSURE 10.0

#define OPEN ((uint64_t)1 << 31)
#define INSIDE_MASK (OPEN - 1)

typedef struct range {
    _Alignas(64) _Atomic uint64_t lohi; /* hi << 32 | lo: the chunks not yet taken */
} range;

struct nn_team {
    int size;              /* threads, counting the caller */
    pthread_t *workers;    /* (size - 1) */
    clockid_t *clocks;     /* (size - 1) CPU-time clocks of the workers, or NULL */
    int started;           /* workers created */
    _Alignas(64) _Atomic uint64_t state; /* gen << 32 | open | inside */
    /* the current job, written by the caller while no worker is inside */
    _Alignas(64) nn_team_fn fn;
    void *ctx;
    int used;              /* most threads that ran chunks of one job since the last reset */
    int adaptive;          /* go solo when helpers do not pay */
    atomic_int helped;     /* workers that ran chunks of the current job */
    /* going solo (caller only) */
    int window_open;       /* a window is being measured */
    pthread_t win_caller;  /* the thread that called at the window's start */
    long win_start, win_cpu; /* wall time and team CPU time at the window's start (ns) */
    double win_work, win_wall; /* the window's jobs: estimated one-thread time, wall time */
    long solo_until;       /* jobs before this time (ns) run on the caller alone */
    long solo_ns;          /* length of the next solo period */
    int psi_fd;            /* /proc/pressure/cpu, or -1 */
    long psi_start, psi_wait; /* solo window: its start (ns), the pressure total then (us) */
    /* sleeping */
    _Alignas(64) atomic_int solo; /* helpers: sleep instead of spinning */
    atomic_int sleepers;
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
    for (int d = 0; d < t->size; d++) {
        const int q = (self + d) % t->size;
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

/* Sleep until the generation differs from `gen` or the team stops. */
static void sleep_until_new(nn_team *t, uint32_t gen) {
    pthread_mutex_lock(&t->mu);
    atomic_fetch_add(&t->sleepers, 1); /* seq_cst: pairs with the caller's publish */
    while (!atomic_load(&t->stop) && (uint32_t)(atomic_load(&t->state) >> 32) == gen)
        pthread_cond_wait(&t->cv, &t->mu);
    atomic_fetch_sub(&t->sleepers, 1);
    pthread_mutex_unlock(&t->mu);
}

static void *worker_main(void *p) {
    worker_arg *a = p;
    nn_team *t = a->t;
    const int self = a->index;
    free(a);
    uint32_t seen = (uint32_t)(atomic_load(&t->state) >> 32);
    sleep_until_new(t, seen); /* no spinning before the first job: it may never come */
    long idle_since = now_ns();
    unsigned spins = 0;
    while (!atomic_load_explicit(&t->stop, memory_order_relaxed)) {
        uint64_t s = atomic_load_explicit(&t->state, memory_order_acquire);
        const uint32_t gen = (uint32_t)(s >> 32);
        if (gen != seen) {
            if ((s & OPEN) &&
                atomic_compare_exchange_weak_explicit(&t->state, &s, s + 1, memory_order_acquire,
                                                      memory_order_relaxed)) {
                seen = gen;
                if (work(t, self)) atomic_fetch_add_explicit(&t->helped, 1, memory_order_relaxed);
                atomic_fetch_sub_explicit(&t->state, 1, memory_order_release); /* publishes both */
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
            sleep_until_new(t, seen);
            idle_since = now_ns();
            spins = 0;
        }
    }
    return NULL;
}

/* The "some" line of /proc/pressure/cpu: "some avg10=A avg60=B avg300=C
 * total=T"; *avg10 = A (percent), returns T (us), or -1. */
static long pressure_read(const nn_team *t, double *avg10) {
    char buf[256];
    if (t->psi_fd < 0) return -1;
    const ssize_t len = pread(t->psi_fd, buf, sizeof buf - 1, 0);
    if (len <= 0) return -1;
    buf[len] = '\0';
    const char *a = strstr(buf, "avg10="), *p = strstr(buf, "total=");
    if (!a || !p || p > strchr(buf, '\n')) return -1;
    if (avg10) *avg10 = strtod(a + 6, NULL);
    long v = 0;
    for (p += 6; *p >= '0' && *p <= '9'; p++) v = v * 10 + (*p - '0');
    return v;
}

static long pressure_total(const nn_team *t) { return pressure_read(t, NULL); }

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
    nn_team *t = aligned_alloc(64, (sizeof *t + 63) / 64 * 64);
    range *ranges = aligned_alloc(64, sizeof(range) * (size_t)threads);
    pthread_t *workers = malloc(sizeof(pthread_t) * (size_t)threads);
    clockid_t *clocks = malloc(sizeof(clockid_t) * (size_t)threads);
    if (!t || !ranges || !workers || !clocks) {
        free(t);
        free(ranges);
        free(workers);
        free(clocks);
        return nn_error_set(err, NN_E_NOMEM, "out of memory creating %d cpu threads", threads);
    }
    t->size = threads;
    t->workers = workers;
    t->clocks = clocks;
    t->started = 0;
    atomic_init(&t->state, 0);
    t->fn = NULL;
    t->ctx = NULL;
    t->used = 1;
    t->adaptive = adaptive;
    atomic_init(&t->helped, 0);
    t->window_open = 0;
    t->win_work = t->win_wall = 0.0;
    t->solo_until = 0;
    t->solo_ns = SOLO_FIRST_NS;
    t->psi_fd = open("/proc/pressure/cpu", O_RDONLY | O_CLOEXEC);
    t->psi_start = t->psi_wait = -1;
    atomic_init(&t->solo, 0);
    /* other processes keep tasks waiting for CPUs already: start alone */
    double avg10 = 0.0;
    if (adaptive && threads > 1 && pressure_read(t, &avg10) >= 0 && avg10 > START_SOLO_PRESSURE)
        atomic_init(&t->solo, 1);
    atomic_init(&t->sleepers, 0);
    atomic_init(&t->stop, 0);
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    t->ranges = ranges;
    for (int i = 0; i < threads; i++) atomic_init(&ranges[i].lohi, 0);
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
        if (t->clocks && pthread_getcpuclockid(workers[i - 1], &t->clocks[i - 1]) != 0) {
            free(t->clocks); /* without CPU clocks the team judges by speedup alone */
            t->clocks = NULL;
        }
    }
    *out = t;
    return NN_OK;
}

void nn_team_free(nn_team *t) {
    if (!t) return;
    stop_workers(t);
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
    if (t->psi_fd >= 0) close(t->psi_fd);
    free(t->ranges);
    free(t->workers);
    free(t->clocks);
    free(t);
}

int nn_team_size(const nn_team *t) { return t->size; }

int nn_team_used(nn_team *t, int reset) {
    const int used = t->used;
    if (reset) t->used = 1;
    return used;
}

/* CPU time (ns) of the calling thread plus the workers', or -1 without clocks. */
static long team_cpu(const nn_team *t) {
    if (!t->clocks) return -1;
    struct timespec ts;
    long sum = 0;
    for (int i = 0; i < t->size; i++) {
        if (clock_gettime(i ? t->clocks[i - 1] : CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return -1;
        sum += (long)ts.tv_sec * 1000000000L + ts.tv_nsec;
    }
    return sum;
}

/* Account one job (see "Going solo"): the caller ran `mine` of the n chunks
 * in the first `busy` ns of the job's `wall` ns; the job ended at `end`. */
static void judge(nn_team *t, size_t n, size_t mine, long busy, long wall, long end) {
    if (!t->adaptive) return;
    if (!t->window_open) {
        t->window_open = 1;
        t->win_caller = pthread_self();
        t->win_start = end;
        t->win_cpu = team_cpu(t);
        t->win_work = t->win_wall = 0.0;
        return;
    }
    t->win_work += mine ? (double)busy * (double)n / (double)mine : 2.0 * (double)wall;
    t->win_wall += (double)wall;
    if (end - t->win_start < WINDOW_NS) return;
    t->window_open = 0;
    if (!pthread_equal(t->win_caller, pthread_self())) return; /* another caller: no verdict */
    const long cpu = team_cpu(t);
    const double cpus = cpu < 0 || t->win_cpu < 0
                            ? (double)t->size
                            : (double)(cpu - t->win_cpu) / (double)(end - t->win_start);
    if (cpus < 1.0 + MIN_CPU_SHARE * (t->size - 1) || t->win_work < MIN_GAIN * t->win_wall) {
        t->solo_until = end + t->solo_ns;
        t->solo_ns = t->solo_ns * 2 < SOLO_MAX_NS ? t->solo_ns * 2 : SOLO_MAX_NS;
        atomic_store_explicit(&t->solo, 1, memory_order_relaxed);
    } else {
        t->solo_ns = SOLO_FIRST_NS;
    }
}


/* 1 if a solo caller at time `now` should try the team again: the solo period
 * is over and, where pressure is known, the last solo window had none. */
static int retry_team(nn_team *t, long now) {
    if (now < t->solo_until) return 0;
    if (t->psi_fd < 0) return 1; /* no pressure information: retry after the period */
    if (t->psi_start >= 0 && now - t->psi_start < WINDOW_NS) return 0; /* mid-window */
    const long wait = pressure_total(t); /* a system call: once per window */
    if (wait < 0) return 1;
    if (t->psi_start < 0) {
        t->psi_start = now;
        t->psi_wait = wait;
        return 0;
    }
    const double pressure = (double)(wait - t->psi_wait) * 1000.0 / (double)(now - t->psi_start);
    t->psi_start = now;
    t->psi_wait = wait;
    return pressure < MAX_PRESSURE;
}

void nn_team_run(nn_team *t, size_t n, nn_team_fn fn, void *ctx) {
    if (t->size == 1 || n < 2 || n > UINT32_MAX) {
        for (size_t c = 0; c < n; c++) fn(ctx, c, 0);
        return;
    }
    long t0 = now_ns();
    if (atomic_load_explicit(&t->solo, memory_order_relaxed)) {
        if (!retry_team(t, t0)) {
            for (size_t c = 0; c < n; c++) fn(ctx, c, 0);
            return;
        }
        t->psi_start = -1;
        t0 = now_ns();
    }
    atomic_store_explicit(&t->solo, 0, memory_order_relaxed);
    const int T = t->size;
    atomic_store_explicit(&t->helped, 0, memory_order_relaxed);
    t->fn = fn;
    t->ctx = ctx;
    for (int q = 0; q < T; q++) {
        const uint64_t lo = n * (size_t)q / (size_t)T, hi = n * (size_t)(q + 1) / (size_t)T;
        atomic_store_explicit(&t->ranges[q].lohi, hi << 32 | lo, memory_order_relaxed);
    }
    const uint64_t s = atomic_load_explicit(&t->state, memory_order_relaxed);
    /* seq_cst: a worker going to sleep either sees this generation or is seen below */
    atomic_store(&t->state, ((s >> 32) + 1) << 32 | OPEN);
    if (atomic_load(&t->sleepers) > 0) {
        pthread_mutex_lock(&t->mu);
        pthread_cond_broadcast(&t->cv);
        pthread_mutex_unlock(&t->mu);
    }
    const size_t mine = work(t, 0);
    const long t1 = now_ns();
    atomic_fetch_and_explicit(&t->state, ~OPEN, memory_order_acq_rel);
    for (unsigned spins = 0;
         (atomic_load_explicit(&t->state, memory_order_acquire) & INSIDE_MASK) != 0;)
        if (++spins < WAIT_SPINS) cpu_relax();
        else sched_yield(); /* a worker inside was descheduled mid-chunk */
    const long t2 = now_ns();
    const int ran = (mine > 0) + atomic_load_explicit(&t->helped, memory_order_relaxed);
    if (ran > t->used) t->used = ran;
    judge(t, n, mine, t1 - t0, t2 - t0, t2);
}
