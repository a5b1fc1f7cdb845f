/* cpu_chunks.c — run_chunks, start_chunks and wait_chunks (backend.h) on the
 * CPU: a job of the backend's team whose chunks each run on a one-thread copy
 * of the backend, one copy per thread (own GEMM workspace, a team of one),
 * made on first use and kept with the backend. CPU buffers are host memory,
 * so a copy works on the backend's buffers as they are. A started job's
 * failures stay in the copies' slots until it is collected into its
 * nn_chunks_wait: by wait_chunks, or by the next job of chunks, which
 * collects it first. */
#include <stdint.h>
#include <stdlib.h>

#include "cpu/cpu_ops.h"

/* A job of chunks: fn on ctx, chunk by chunk, on the copies of s. */
typedef struct chunks_job {
    struct nn_cpu_solos *s;
    nn_chunk_fn fn;
    void *ctx;
} chunks_job;

/* The one-thread copies of a backend: the copies and their states. */
struct nn_cpu_solos {
    int n;                /* one per thread of the team */
    nn_backend *be;       /* (n) */
    nn_cpu_state *st;     /* (n) */
    nn_error *err;        /* (n) the last failure of each thread's chunks */
    size_t *failed;       /* (n) the lowest chunk that failed on that thread, or SIZE_MAX */
    chunks_job job;           /* the job's context (kept here: it outlives start_chunks) */
    nn_chunks_wait *flight;   /* the started job's outcome, until collected; or NULL */
};

void nn_cpu_solos_free(nn_cpu_solos *s) {
    if (!s) return;
    for (int i = 0; i < s->n; i++) {
        nn_team_free(s->st[i].team);
        nn_gemm_workspace_free(&s->st[i].ws);
    }
    free(s->be);
    free(s->st);
    free(s->err);
    free(s->failed);
    free(s);
}

/* The copies of be, made on first use (NULL when out of memory). */
static nn_cpu_solos *solos_of(nn_backend *be, nn_error *err) {
    nn_cpu_state *cs = be->ctx;
    if (cs->solos) return cs->solos;
    const int n = nn_team_size(cs->team);
    nn_cpu_solos *s = calloc(1, sizeof *s);
    if (s) {
        s->be = calloc((size_t)n, sizeof *s->be);
        s->st = calloc((size_t)n, sizeof *s->st);
        s->err = calloc((size_t)n, sizeof *s->err);
        s->failed = calloc((size_t)n, sizeof *s->failed);
    }
    if (!s || !s->be || !s->st || !s->err || !s->failed) {
        nn_cpu_solos_free(s);
        nn_error_set(err, NN_E_NOMEM, "out of memory for %d cpu threads' workspaces", n);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        if (nn_team_create(1, 0, &s->st[i].team, err) != NN_OK) {
            nn_cpu_solos_free(s);
            return NULL;
        }
        s->n = i + 1;
        s->st[i].path = cs->path;
        s->be[i] = *be;
        s->be[i].ctx = &s->st[i];
        s->be[i].threads = 1;
    }
    cs->solos = s;
    return s;
}

static void run_one(void *ctx, size_t chunk, int thread) {
    const chunks_job *j = ctx;
    nn_cpu_solos *s = j->s;
    nn_error e;
    e.status = NN_OK, e.param[0] = '\0', e.msg[0] = '\0';
    if (j->fn(j->ctx, &s->be[thread], chunk, thread, &e) != NN_OK && chunk < s->failed[thread]) {
        s->failed[thread] = chunk;
        s->err[thread] = e;
    }
}

/* End the started job, if any: wait for the team, then its lowest failing
 * chunk's error (or NN_OK) into its nn_chunks_wait. */
static void collect(nn_cpu_state *cs, nn_cpu_solos *s) {
    nn_chunks_wait *w = s->flight;
    if (!w) return;
    nn_team_wait(cs->team);
    s->flight = NULL;
    int first = -1;
    for (int i = 0; i < s->n; i++)
        if (s->failed[i] != SIZE_MAX && (first < 0 || s->failed[i] < s->failed[first])) first = i;
    w->st = first < 0 ? NN_OK : s->err[first].status;
    if (first >= 0) w->err = s->err[first];
    w->in_flight = 0;
}

nn_status nn_cpu_start_chunks(nn_backend *be, size_t n, nn_chunk_fn fn, void *ctx,
                              nn_chunks_wait *w, nn_error *err) {
    nn_cpu_state *cs = be->ctx;
    nn_cpu_solos *s = solos_of(be, err);
    if (!s) return err->status;
    collect(cs, s);
    for (int i = 0; i < s->n; i++) {
        s->failed[i] = SIZE_MAX;
        s->st[i].path = cs->path; /* the backend's path, also after nn_cpu_backend_use_path */
    }
    s->job = (chunks_job){s, fn, ctx};
    w->in_flight = 1;
    w->st = NN_OK;
    s->flight = w;
    /* the team tells job kinds apart by (run_one, n, size): fn in the size */
    nn_team_start(cs->team, n, run_one, &s->job, n ^ (size_t)(uintptr_t)fn);
    return NN_OK;
}

nn_status nn_cpu_wait_chunks(nn_backend *be, nn_chunks_wait *w, nn_error *err) {
    nn_cpu_state *cs = be->ctx;
    if (w->in_flight && cs->solos && cs->solos->flight == w) collect(cs, cs->solos);
    w->in_flight = 0;
    if (w->st != NN_OK) *err = w->err;
    return w->st;
}

nn_status nn_cpu_run_chunks(nn_backend *be, size_t n, nn_chunk_fn fn, void *ctx, nn_error *err) {
    nn_chunks_wait w;
    const nn_status st = nn_cpu_start_chunks(be, n, fn, ctx, &w, err);
    return st != NN_OK ? st : nn_cpu_wait_chunks(be, &w, err);
}
