/* core_pingpong.c — what one cache line costs to cross between two CPUs.
 *
 *   core_pingpong [CPU_A CPU_B]      (default: 0 1)
 *
 * Two threads, pinned to CPU_A and CPU_B, pass a counter back and forth
 * through two cache lines (A writes its line, B waits for it and answers on
 * its own): each round trip moves a line each way. Prints the median round
 * trip over 7 sets of 200,000 in ns. Every job of the CPU thread team costs at
 * least a round trip of this kind (the job opens on one line, the helpers
 * report on it), and every line one thread wrote and the other reads costs
 * about half of one: the figure bounds what a second thread can gain on
 * microsecond-sized training steps. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define ROUNDS 200000L
#define SETS 7

typedef struct line {
    _Alignas(64) _Atomic long v;
} line;

static line ping, pong; /* written by the first thread, by the second */
static _Atomic int ready; /* the second thread: 1 pinned, -1 cannot run there */

static int pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static void *answer(void *arg) {
    const int ok = pin(*(int *)arg) == 0;
    atomic_store(&ready, ok ? 1 : -1);
    if (!ok) return NULL;
    for (long i = 1; i <= ROUNDS * SETS; i++) {
        while (atomic_load_explicit(&ping.v, memory_order_acquire) != i) {
        }
        atomic_store_explicit(&pong.v, i, memory_order_release);
    }
    return NULL;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int by_value(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc != 1 && argc != 3) {
        fprintf(stderr, "usage: core_pingpong [CPU_A CPU_B]\n");
        return 2;
    }
    int a = 0, b = 1;
    if (argc == 3) {
        char *end_a, *end_b;
        a = (int)strtol(argv[1], &end_a, 10);
        b = (int)strtol(argv[2], &end_b, 10);
        if (*end_a || *end_b || a < 0 || b < 0 || a == b) {
            fprintf(stderr, "core_pingpong: CPU_A and CPU_B must be two different CPU numbers\n");
            return 2;
        }
    }
    if (pin(a) != 0) {
        fprintf(stderr, "core_pingpong: cannot run on CPU %d\n", a);
        return 1;
    }
    pthread_t t;
    if (pthread_create(&t, NULL, answer, &b) != 0) {
        fprintf(stderr, "core_pingpong: cannot start a thread\n");
        return 1;
    }
    while (atomic_load(&ready) == 0) {
    }
    if (atomic_load(&ready) < 0) {
        pthread_join(t, NULL);
        fprintf(stderr, "core_pingpong: cannot run on CPU %d\n", b);
        return 1;
    }
    double ns[SETS];
    long i = 0;
    for (int s = 0; s < SETS; s++) {
        const double t0 = now_s();
        for (long r = 0; r < ROUNDS; r++) {
            atomic_store_explicit(&ping.v, ++i, memory_order_release);
            while (atomic_load_explicit(&pong.v, memory_order_acquire) != i) {
            }
        }
        ns[s] = (now_s() - t0) * 1e9 / (double)ROUNDS;
    }
    pthread_join(t, NULL);
    qsort(ns, SETS, sizeof ns[0], by_value);
    printf("cpu %d <-> cpu %d: cache-line round trip %.0f ns (median of %d sets; min %.0f, max %.0f)\n",
           a, b, ns[SETS / 2], SETS, ns[0], ns[SETS - 1]);
    return 0;
}
