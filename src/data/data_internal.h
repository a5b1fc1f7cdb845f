/* data_internal.h — shared pieces of the dataset code (internal).
 *
 * Random streams: every use of randomness in the generators has its own
 * stream id under the spec's seed, so changing one part (e.g. label noise)
 * never shifts the values of another (e.g. the coordinates).
 */
#ifndef NN_DATA_INTERNAL_H
#define NN_DATA_INTERNAL_H

#include "nn.h"

#include <math.h>

enum nn_data_stream {
    NN_STREAM_SHUFFLE = 1, /* in-memory row order */
    NN_STREAM_NOISE,       /* in-memory coordinate / angle noise */
    NN_STREAM_POINTS,      /* in-memory random positions (xor) */
    NN_STREAM_LABELS,      /* in-memory label noise */
    NN_STREAM_CENTERS,     /* blob centers (shared by both forms) */
    NN_STREAM_TEACHER,     /* teacher weights (shared by both forms) */
    NN_STREAM_ROWS,        /* streamed form: base of the per-row keys */
    NN_STREAM_SPLIT,       /* nn_data_split permutation */
};

/* First counter of a row generator's label sub-stream, far above the draws a
 * row makes for its coordinates, so label noise never shifts coordinates. */
#define NN_ROW_LABEL_COUNTER (UINT64_C(1) << 63)

#define NN_TWO_PI 6.283185307179586476925
#define NN_PI 3.141592653589793238462

/* Teacher network: features -> NN_TEACHER_HIDDEN softsign -> outputs. */
#define NN_TEACHER_HIDDEN 32
/* Class limits per kind (the teacher needs at least one hidden unit per
 * class, see teacher.c). */
#define NN_SPIRALS_MAX_CLASSES 64
#define NN_BLOBS_MAX_CLASSES 4096
#define NN_TEACHER_MAX_CLASSES NN_TEACHER_HIDDEN
/* Blob centers are uniform in [-NN_BLOBS_BOX, NN_BLOBS_BOX]^features. */
#define NN_BLOBS_BOX 10.0

/* Two independent standard normals from two draws (both Box-Muller branches;
 * nn_rng_normal returns the first of them for the same draws). */
static inline void nn_normal_pair(nn_rng *r, double *a, double *b) {
    const double u1 = nn_rng_uniform(r);
    const double u2 = nn_rng_uniform(r);
    const double radius = sqrt(-2.0 * log(1.0 - u1));
    *a = radius * cos(NN_TWO_PI * u2);
    *b = radius * sin(NN_TWO_PI * u2);
}

/* Ziggurat normals (ziggurat.c), ~4x faster than Box-Muller; constant
 * tables in ziggurat_tables.c. */
#define NN_ZIG_LAYERS 256
extern const double nn_zig_x[NN_ZIG_LAYERS + 1]; /* (layers + 1) layer right edges; last 0 */
extern const double nn_zig_ratio[NN_ZIG_LAYERS]; /* (layers) x[i + 1] / x[i] */
/* Standard normal from r. */
double nn_zig_normal(nn_rng *r);
/* Finish a draw whose rectangle test failed for (layer, u), u in [-1, 1):
 * tail or wedge, else a fresh draw, all from r (nn_zig_normal's slow path;
 * teacher.c uses it for tail draws). */
double nn_zig_finish(nn_rng *r, int layer, double u);

/* All generators check their spec with nn_data_spec_check (nn.h, spec.c). */

/* Allocate out->x: (n, features) and out->y: (n); sets n/features/classes.
 * On failure *out stays zeroed. */
nn_status nn_dataset_alloc(nn_dataset *out, size_t n, size_t features, size_t classes,
                           nn_error *err);

/* Coordinate f of blob center c, uniform in [-NN_BLOBS_BOX, NN_BLOBS_BOX];
 * key = nn_rng_make(seed, NN_STREAM_CENTERS).key, so both forms agree. */
double nn_blob_center(uint64_t key, size_t features, size_t c, size_t f);

/* In-memory generators for the 2-D kinds and blobs: fill a dataset that was
 * allocated for spec (n = samples rows). */
void nn_gen_circles(const nn_data_spec *spec, nn_dataset *ds);
void nn_gen_moons(const nn_data_spec *spec, nn_dataset *ds);
void nn_gen_xor(const nn_data_spec *spec, nn_dataset *ds);
void nn_gen_spirals(const nn_data_spec *spec, nn_dataset *ds);
void nn_gen_blobs(const nn_data_spec *spec, nn_dataset *ds);

/* In-memory post-processing shared by the generators above, in this order:
 * shuffle rows, add N(0, noise^2) to every coordinate, replace labels at
 * random with probability label_noise. Each uses its own stream. */
void nn_rows_shuffle(uint64_t seed, nn_dataset *ds);
void nn_rows_add_noise(uint64_t seed, double noise, nn_dataset *ds);
void nn_rows_label_noise(uint64_t seed, double label_noise, nn_dataset *ds);

/* Teacher network (weights drawn from the seed's teacher stream) and the
 * rows it labels; see teacher.c for the definition. */
#define NN_TEACHER_TILE 16 /* most rows a kernel computes together (vector lanes) */
#define NN_TEACHER_BLOCK 8 /* hidden units per weight block */

/* Instruction-set variants of the row kernel; all give identical bits. */
typedef enum nn_teacher_path {
    NN_TEACHER_PATH_C = 0, /* baseline C (fmaf through libm) */
    NN_TEACHER_PATH_AVX2,  /* x86 AVX2 + FMA */
    NN_TEACHER_PATH_AVX512 /* x86 AVX-512 F/DQ/VL/BW */
} nn_teacher_path;

typedef struct nn_teacher {
    size_t features;
    size_t hidden;  /* units, padded to a multiple of NN_TEACHER_BLOCK with zero weights */
    size_t outputs; /* 1 for binary, else classes */
    float *w1b;     /* (hidden / BLOCK, features, BLOCK): first layer in blocks of units */
    float *w2;      /* (outputs, hidden): second layer */
    float zig_x[NN_ZIG_LAYERS];      /* nn_zig_x in float */
    float zig_ratio[NN_ZIG_LAYERS];  /* nn_zig_ratio in float, rounded down */
    double zig_f[NN_ZIG_LAYERS + 1]; /* exp(-nn_zig_x[i]^2 / 2) */
    nn_teacher_path path;            /* kernel used by nn_teacher_rows */
} nn_teacher;

/* Draw the teacher for a checked spec; picks the fastest supported path. */
nn_status nn_teacher_make(const nn_data_spec *spec, nn_teacher *t, nn_error *err);
void nn_teacher_free(nn_teacher *t);
/* 1 if this CPU can run path. */
int nn_teacher_path_supported(nn_teacher_path path);
/* Rows [first, first+count) of the teacher dataset into x: (count, features)
 * and y: (count); rows_seed as in stream.c. Uses OpenMP threads for large
 * counts; the rows do not depend on the thread count or the path. */
nn_status nn_teacher_rows(const nn_teacher *t, const nn_data_spec *spec, uint64_t rows_seed,
                          uint64_t first, size_t count, float *x, float *y, nn_error *err);
/* Rows offset + rows[i] (i < count, any order, repeats allowed) into
 * x: (count, features) and y: (count): each row has the bits it has in
 * nn_teacher_rows. */
nn_status nn_teacher_rows_at(const nn_teacher *t, const nn_data_spec *spec, uint64_t rows_seed,
                             uint64_t offset, const uint64_t *rows, size_t count, float *x,
                             float *y, nn_error *err);

/* The streamed rows offset + rows[i] (i < count, any order) of any
 * generator into x: (count, features) and y: (count), each equal to that row
 * of nn_data_generate_range; only the requested rows are computed (a
 * data-parallel rank makes its own rows only). */
nn_status nn_data_generate_rows(const nn_data_spec *spec, uint64_t offset, const uint64_t *rows,
                                size_t count, float *x, float *y, nn_error *err);

#endif /* NN_DATA_INTERNAL_H */
