/* stream.c — the streamed form of every generator (nn_data_generate_range).
 *
 * Row i is a pure function of (seed, i): it draws from its own generator
 * nn_rng_make(rows_seed, i), where rows_seed is derived from the spec's seed,
 * and its label noise from the same key at counters >= NN_ROW_LABEL_COUNTER.
 * No sequential state, so ranges can be produced in any order, on any thread,
 * and the rows do not depend on the OpenMP thread count.
 *
 * For the 2-D kinds the streamed form draws each row's class and position at
 * random instead of the in-memory form's evenly spaced (linspace) positions
 * and exact class counts: same shapes, not the same rows. Blobs use the same
 * centers in both forms; the teacher's in-memory form is this one. The
 * teacher computes its rows in tiles (teacher.c, which defines its rows).
 */
#include "data/data_internal.h"

#include <stdlib.h>
#include <string.h>

/* Rows per call below which no threads are forked. */
#define STREAM_PAR_ROWS 4096

/* Add N(0, noise^2) to x: (count), drawing from r; noise 0 draws nothing. */
static void add_noise(nn_rng *r, float *x, size_t count, double noise) {
    if (noise == 0.0) return;
    for (size_t i = 0; i < count; i++) x[i] = (float)((double)x[i] + noise * nn_zig_normal(r));
}

/* One 2-D row (circles, moons, xor, spirals) into x: (2); returns its class. */
static size_t row_2d(const nn_data_spec *s, nn_rng *r, float *x) {
    size_t c;
    double p0, p1;
    switch (s->kind) {
    case NN_DATA_CIRCLES: {
        c = (size_t)(nn_rng_u64(r) >> 63);
        const double a = NN_TWO_PI * nn_rng_uniform(r), rad = c ? s->factor : 1.0;
        p0 = rad * cos(a);
        p1 = rad * sin(a);
        break;
    }
    case NN_DATA_MOONS: {
        c = (size_t)(nn_rng_u64(r) >> 63);
        const double t = NN_PI * nn_rng_uniform(r);
        p0 = c ? 1.0 - cos(t) : cos(t);
        p1 = c ? 1.0 - sin(t) - 0.5 : sin(t);
        break;
    }
    case NN_DATA_XOR: {
        const unsigned q = (unsigned)nn_rng_below(r, 4);
        const double s0 = (q & 1u) ? -1.0 : 1.0, s1 = (q & 2u) ? -1.0 : 1.0;
        p0 = s0 * (1.0 - nn_rng_uniform(r));
        p1 = s1 * (1.0 - nn_rng_uniform(r));
        c = s0 * s1 < 0.0;
        break;
    }
    default: { /* NN_DATA_SPIRALS: noise is angular, none is added below */
        c = (size_t)nn_rng_below(r, s->classes);
        const double rad = nn_rng_uniform(r);
        double t = 4.0 * (double)c + 4.0 * rad;
        if (s->noise > 0.0) t += s->noise * nn_zig_normal(r);
        x[0] = (float)(rad * sin(t));
        x[1] = (float)(rad * cos(t));
        return c;
    }
    }
    x[0] = (float)p0;
    x[1] = (float)p1;
    add_noise(r, x, 2, s->noise);
    return c;
}

/* Everything a row needs besides its index; read-only while rows are made. */
typedef struct stream_ctx {
    const nn_data_spec *spec;
    uint64_t rows_seed;
    uint64_t centers_key; /* blobs */
} stream_ctx;

/* Row `index` into x: (features), y: (1). */
static void make_row(const stream_ctx *ctx, uint64_t index, float *x, float *y) {
    const nn_data_spec *s = ctx->spec;
    nn_rng r = nn_rng_make(ctx->rows_seed, index);
    size_t c;
    if (s->kind == NN_DATA_BLOBS) {
        c = (size_t)nn_rng_below(&r, s->classes);
        for (size_t d = 0; d < s->features; d++)
            x[d] = (float)nn_blob_center(ctx->centers_key, s->features, c, d);
        add_noise(&r, x, s->features, s->noise);
    } else {
        c = row_2d(s, &r, x);
    }
    if (s->label_noise > 0.0) {
        r.counter = NN_ROW_LABEL_COUNTER;
        if (nn_rng_uniform(&r) < s->label_noise) c = (size_t)nn_rng_below(&r, s->classes);
    }
    *y = (float)c;
}

/* Everything a streamed call on a checked spec needs: the row seed, the
 * blob centers' key, the teacher (zeroed for other kinds). */
static nn_status stream_begin(const nn_data_spec *spec, stream_ctx *ctx, nn_teacher *teacher,
                              nn_error *err) {
    ctx->spec = spec;
    ctx->rows_seed = nn_rng_at(nn_rng_make(spec->seed, NN_STREAM_ROWS).key, 0);
    ctx->centers_key = nn_rng_make(spec->seed, NN_STREAM_CENTERS).key;
    memset(teacher, 0, sizeof *teacher);
    return spec->kind == NN_DATA_TEACHER ? nn_teacher_make(spec, teacher, err) : NN_OK;
}

/* Rows first + i (rows NULL) or first + rows[i], i < count, of a checked
 * spec's streamed form into x: (count, features) and y: (count). */
static nn_status stream_rows(const nn_data_spec *spec, uint64_t first, const uint64_t *rows,
                             size_t count, float *x, float *y, nn_error *err) {
    stream_ctx ctx;
    nn_teacher teacher;
    nn_status st = stream_begin(spec, &ctx, &teacher, err);
    if (st == NN_OK && spec->kind == NN_DATA_TEACHER)
        st = rows ? nn_teacher_rows_at(&teacher, spec, ctx.rows_seed, first, rows, count, x, y, err)
                  : nn_teacher_rows(&teacher, spec, ctx.rows_seed, first, count, x, y, err);
    else if (st == NN_OK) {
        const size_t f = spec->features;
#pragma omp parallel for schedule(static) if (count >= STREAM_PAR_ROWS)
        for (size_t i = 0; i < count; i++)
            make_row(&ctx, first + (rows ? rows[i] : i), x + i * f, y + i);
    }
    nn_teacher_free(&teacher);
    return st;
}

/* Rows [first, first+count) of the streamed form into x: (count, features)
 * and y: (count); features is 2 for the 2-D kinds. */
nn_status nn_data_generate_range(const nn_data_spec *spec, uint64_t first, size_t count, float *x,
                                 float *y, nn_error *err) {
    nn_status st = nn_data_spec_check(spec, err);
    if (st != NN_OK) return st;
    if ((uint64_t)count > UINT64_MAX - first)
        return nn_error_set(err, NN_E_INVALID,
                            "nn_data_generate_range: first=%llu + count=%zu overflows 64 bits",
                            (unsigned long long)first, count);
    if (count == 0) return NN_OK;
    if (x == NULL || y == NULL)
        return nn_error_set(err, NN_E_INVALID, "nn_data_generate_range: NULL output buffer");
    return stream_rows(spec, first, NULL, count, x, y, err);
}

nn_status nn_data_generate_rows(const nn_data_spec *spec, uint64_t offset, const uint64_t *rows,
                                size_t count, float *x, float *y, nn_error *err) {
    nn_status st = nn_data_spec_check(spec, err);
    if (st != NN_OK) return st;
    if (count == 0) return NN_OK;
    if (rows == NULL || x == NULL || y == NULL)
        return nn_error_set(err, NN_E_INVALID, "nn_data_generate_rows: NULL argument");
    for (size_t i = 0; i < count; i++)
        if (rows[i] > UINT64_MAX - offset)
            return nn_error_set(err, NN_E_INVALID,
                                "nn_data_generate_rows: offset=%llu + row %llu overflows 64 bits",
                                (unsigned long long)offset, (unsigned long long)rows[i]);
    return stream_rows(spec, offset, rows, count, x, y, err);
}
