/* test_mpi_rows.c — rank-local rows: a generator source's fill_rows makes
 * exactly the requested rows (any order, repeats, far indices) with the bits
 * of the contiguous stream, on every instruction-set path of the teacher's
 * kernel; data-parallel ranks training on a stream generate only their own
 * rows and reach the same weights as ranks reading whole chunks. */
#include <criterion/criterion.h>
#include <omp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"
#include "testutil.h"
#include "thread_comm.h"

static const nn_data_kind KINDS[] = {NN_DATA_CIRCLES, NN_DATA_MOONS, NN_DATA_XOR,
                                     NN_DATA_SPIRALS, NN_DATA_BLOBS, NN_DATA_TEACHER};
#define N_KINDS (sizeof KINDS / sizeof KINDS[0])

/* n row indices below `span`: a shuffled set with repeats and the two ends. */
static uint64_t *scattered_rows(size_t n, uint64_t span, uint64_t seed) {
    uint64_t *rows = malloc(n * sizeof *rows);
    nn_rng r = nn_rng_make(seed, 7);
    for (size_t i = 0; i < n; i++) rows[i] = nn_rng_below(&r, span);
    rows[0] = 0;
    rows[n / 2] = span - 1;
    rows[n - 1] = rows[1]; /* a repeat */
    return rows;
}

/* Every kind: fill_rows of a generator source gives the rows of fill. */
Test(rank_rows, generator_source_fill_rows_equals_fill) {
    for (size_t k = 0; k < N_KINDS; k++) {
        nn_data_spec s = nn_data_spec_default(KINDS[k]);
        s.label_noise = 0.1;
        s.noise = KINDS[k] == NN_DATA_TEACHER ? 0.1 : s.noise;
        const uint64_t span = 9000, offset = 123456;
        nn_generator_source g = {s, offset};
        nn_source src = nn_source_from_generator(&g, span);
        cr_assert_not_null(src.fill_rows, "%s: no fill_rows", nn_data_kind_name(s.kind));
        const size_t f = src.features, n = 5003; /* above the parallel threshold, odd */
        float *x = malloc(span * f * sizeof(float)), *y = malloc(span * sizeof(float));
        float *xr = malloc(n * f * sizeof(float)), *yr = malloc(n * sizeof(float));
        nn_error err = {0};
        cr_assert_eq(src.fill(src.ctx, 0, (size_t)span, x, y, &err), NN_OK, "%s", err.msg);
        uint64_t *rows = scattered_rows(n, span, k);
        for (int threads = 1; threads <= 2; threads++) {
            omp_set_num_threads(threads);
            memset(xr, 0xff, n * f * sizeof(float));
            cr_assert_eq(src.fill_rows(src.ctx, rows, n, xr, yr, &err), NN_OK, "%s", err.msg);
            for (size_t i = 0; i < n; i++) {
                cr_assert_arr_eq(xr + i * f, x + rows[i] * f, f * sizeof(float),
                                 "%s: row %llu (position %zu), %d threads",
                                 nn_data_kind_name(s.kind), (unsigned long long)rows[i], i, threads);
                cr_assert_eq(yr[i], y[rows[i]], "%s: label of row %llu", nn_data_kind_name(s.kind),
                             (unsigned long long)rows[i]);
            }
        }
        omp_set_num_threads(omp_get_num_procs());
        /* a few rows, fewer than one tile */
        cr_assert_eq(src.fill_rows(src.ctx, rows + 10, 3, xr, yr, &err), NN_OK);
        for (size_t i = 0; i < 3; i++)
            cr_assert_arr_eq(xr + i * f, x + rows[10 + i] * f, f * sizeof(float));
        free(rows);
        free(x), free(y), free(xr), free(yr);
    }
}

/* The teacher's kernel on arbitrary rows: every path gives the bits of the
 * contiguous C path, for odd widths, multi-class, input and label noise and
 * row indices that wrap past 2^64. */
Test(rank_rows, teacher_rows_at_every_path_equals_contiguous) {
    const size_t fs[] = {1, 3, 16, 17, 40}, ks[] = {2, 3, 10};
    const size_t n = 1037, m = 421;
    const uint64_t first = UINT64_MAX - 300;
    for (size_t a = 0; a < 5; a++)
        for (size_t b = 0; b < 3; b++) {
            if (fs[a] == 1 && ks[b] > 2) continue;
            nn_data_spec s = nn_data_spec_default(NN_DATA_TEACHER);
            s.features = fs[a];
            s.classes = ks[b];
            s.noise = a % 2 ? 0.3 : 0.0;
            s.label_noise = b % 2 ? 0.2 : 0.0;
            nn_teacher t;
            nn_error err = {0};
            cr_assert_eq(nn_teacher_make(&s, &t, &err), NN_OK, "%s", err.msg);
            const size_t f = s.features;
            float *x0 = malloc(n * f * sizeof(float)), *y0 = malloc(n * sizeof(float));
            float *x1 = malloc(m * f * sizeof(float)), *y1 = malloc(m * sizeof(float));
            t.path = NN_TEACHER_PATH_C;
            cr_assert_eq(nn_teacher_rows(&t, &s, 99, first, n, x0, y0, &err), NN_OK);
            uint64_t *rows = scattered_rows(m, n, a * 10 + b);
            const nn_teacher_path paths[] = {NN_TEACHER_PATH_C, NN_TEACHER_PATH_AVX2,
                                             NN_TEACHER_PATH_AVX512};
            for (size_t p = 0; p < 3; p++) {
                if (!nn_teacher_path_supported(paths[p])) continue;
                t.path = paths[p];
                cr_assert_eq(nn_teacher_rows_at(&t, &s, 99, first, rows, m, x1, y1, &err), NN_OK);
                for (size_t i = 0; i < m; i++) {
                    cr_assert_arr_eq(x1 + i * f, x0 + rows[i] * f, f * sizeof(float),
                                     "f=%zu k=%zu path %d row %llu", f, ks[b], (int)paths[p],
                                     (unsigned long long)rows[i]);
                    cr_assert_eq(y1[i], y0[rows[i]], "f=%zu k=%zu path %d row %llu", f, ks[b],
                                 (int)paths[p], (unsigned long long)rows[i]);
                }
            }
            free(rows);
            free(x0), free(y0), free(x1), free(y1);
            nn_teacher_free(&t);
        }
}

Test(rank_rows, bad_arguments) {
    nn_data_spec s = nn_data_spec_default(NN_DATA_TEACHER);
    float x[16], y[1];
    uint64_t row = 5;
    nn_error err = {0};
    cr_assert_eq(nn_data_generate_rows(&s, UINT64_MAX - 2, &row, 1, x, y, &err), NN_E_INVALID);
    cr_assert(strstr(err.msg, "overflows") != NULL, "%s", err.msg);
    cr_assert_eq(nn_data_generate_rows(&s, 0, NULL, 1, x, y, &err), NN_E_INVALID);
    cr_assert_eq(nn_data_generate_rows(&s, 0, NULL, 0, x, y, &err), NN_OK);
    s.features = 0;
    cr_assert_eq(nn_data_generate_rows(&s, 0, &row, 1, x, y, &err), NN_E_INVALID);
}

/* ---------------------------------------------------- ranks on a stream */

#define RANKS 2
#define ROWS 3001

/* A generator source that counts the rows it is asked for. */
typedef struct counting {
    nn_source inner;
    atomic_ullong rows;
    int with_fill_rows;
} counting;

static nn_status counting_fill(void *ctx, uint64_t first, size_t count, float *x, float *y,
                               nn_error *err) {
    counting *c = ctx;
    atomic_fetch_add(&c->rows, count);
    return c->inner.fill(c->inner.ctx, first, count, x, y, err);
}

static nn_status counting_fill_rows(void *ctx, const uint64_t *rows, size_t count, float *x,
                                    float *y, nn_error *err) {
    counting *c = ctx;
    atomic_fetch_add(&c->rows, count);
    return c->inner.fill_rows(c->inner.ctx, rows, count, x, y, err);
}

typedef struct run {
    int with_fill_rows;
    counting count[RANKS];
    float *params[RANKS];
    size_t n_params;
    nn_status st[RANKS];
} run;

static void train_rank(nn_comm *comm, void *user) {
    run *r = user;
    nn_data_spec spec = nn_data_spec_default(NN_DATA_TEACHER);
    spec.features = 12;
    nn_generator_source g = {spec, 0};
    counting *c = &r->count[comm->rank];
    c->inner = nn_source_from_generator(&g, ROWS);
    atomic_init(&c->rows, 0);
    nn_source src = c->inner;
    src.ctx = c;
    src.fill = counting_fill;
    src.fill_rows = r->with_fill_rows ? counting_fill_rows : NULL;
    nn_backend *be = NULL;
    nn_backend_config bc = {1, NULL, 0};
    nn_error err;
    nn_model *m = NULL;
    nn_model_config mc = {.n_sizes = 3, .sizes = {12, 16, 1}, .hidden = NN_ACT_RELU,
                          .loss = NN_LOSS_BCE, .seed = 42};
    nn_status st = nn_backend_open("cpu", &bc, &be, &err);
    if (st == NN_OK) st = nn_model_create(be, &mc, &m, &err);
    nn_train_config tc = nn_train_config_default();
    tc.epochs = 3;
    tc.batch = 64;
    tc.chunk_rows = 640;
    tc.lr = 0.05;
    tc.log_every = 1;
    tc.comm = comm;
    if (st == NN_OK) st = nn_train(m, &src, &tc, NULL, &err);
    r->st[comm->rank] = st;
    if (m) {
        r->n_params = nn_model_param_count(m);
        r->params[comm->rank] = malloc(r->n_params * sizeof(float));
        nn_model_get_params(m, r->params[comm->rank], r->n_params, &err);
    }
    nn_model_free(m);
    nn_backend_close(be);
}

/* Ranks that generate only their rows reach the bits of ranks that read
 * whole chunks and keep their slices, and generate about 1/RANKS of them. */
Test(rank_rows, ranks_generate_only_their_rows) {
    static run own, whole;
    own.with_fill_rows = 1;
    whole.with_fill_rows = 0;
    tc_run_ranks(RANKS, train_rank, &own);
    tc_run_ranks(RANKS, train_rank, &whole);
    for (int r = 0; r < RANKS; r++) {
        cr_assert_eq(own.st[r], NN_OK);
        cr_assert_eq(whole.st[r], NN_OK);
        cr_assert_arr_eq(own.params[r], whole.params[r], own.n_params * sizeof(float),
                         "rank %d: rank-local rows changed the weights", r);
        cr_assert_arr_eq(own.params[r], own.params[0], own.n_params * sizeof(float),
                         "rank %d holds other weights than rank 0", r);
        const unsigned long long mine = atomic_load(&own.count[r].rows);
        const unsigned long long all = atomic_load(&whole.count[r].rows);
        cr_assert_eq(all, 3ull * ROWS, "rank %d read %llu rows of 3 epochs", r, all);
        /* each rank's slices of every batch: half the rows, give or take a row per batch */
        const unsigned long long steps = 3ull * ((ROWS + 63) / 64);
        cr_assert(mine * RANKS >= all - steps && mine * RANKS <= all + steps,
                  "rank %d generated %llu of %llu rows", r, mine, all);
    }
    for (int r = 0; r < RANKS; r++) free(own.params[r]), free(whole.params[r]);
}
