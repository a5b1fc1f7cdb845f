/* opencl_tuner_space.c — what the tuner searches: the workloads of each
 * group (products of the shapes training uses, in every transpose case, per
 * shape class; the elementwise and reduction ops), the coordinates of each
 * group with their values (full and quick), and building a candidate. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "opencl/opencl_tuner.h"

/* A product shape; quick: also in quick searches. */
typedef struct shape {
    size_t m, n, k;
    int ta, tb, quick;
} shape;

/* Per class: forward passes are NN (x · W), weight gradients TN (x^T · dz),
 * input gradients NT (dz · W^T); TT for completeness. Sizes from the
 * networks nnbench trains: the tutorial's 2-8-1 on 800 rows, 2-64-64-1 and
 * 16-64-64-1 with batches up to 4096, 256-wide hidden layers, squares. */
static const shape SHAPES[NN_TUNE_CLASSES][8] = {
    [NN_TUNE_SMALL] = {{800, 8, 2, 0, 0, 1},  /* tutorial layer 1 forward */
                       {800, 1, 8, 0, 0, 0},  /* tutorial layer 2 forward */
                       {2, 8, 800, 1, 0, 1},  /* tutorial dW1 */
                       {8, 1, 800, 1, 0, 0},  /* tutorial dW2 */
                       {800, 8, 1, 0, 1, 1},  /* tutorial dX of layer 2 */
                       {64, 8, 64, 1, 1, 1}},
    [NN_TUNE_NARROW] = {{4096, 1, 64, 0, 0, 1},   /* (4096 x 1) outputs */
                        {4096, 10, 256, 0, 0, 0}, /* a 10-class output layer */
                        {64, 1, 4096, 1, 0, 1},   /* dW of a 1-output layer */
                        {256, 10, 4096, 1, 0, 0}, /* dW of a 10-class output layer */
                        {4096, 8, 64, 0, 1, 1},   /* dX into an 8-wide layer */
                        {256, 4, 256, 1, 1, 1}},
    [NN_TUNE_SKINNY] = {{4096, 64, 2, 0, 0, 1},   /* first layer forward, 2 inputs */
                        {4096, 64, 16, 0, 0, 0},  /* first layer forward, 16 inputs */
                        {2, 64, 4096, 1, 0, 1},   /* dW of the first layer */
                        {16, 64, 4096, 1, 0, 0},
                        {4096, 64, 1, 0, 1, 1},   /* dX of a 1-output layer */
                        {16, 256, 256, 1, 1, 1}},
    [NN_TUNE_MEDIUM] = {{256, 64, 64, 0, 0, 1},   /* (256 x 64) · (64 x 64) */
                        {256, 256, 128, 0, 0, 0},
                        {64, 64, 256, 1, 0, 1},   /* its dW */
                        {256, 64, 64, 0, 1, 1},   /* its dX */
                        {128, 128, 128, 1, 1, 1}},
    /* The class runs from 256^3 to the wide networks' products (1024 x 4096 x 4096
     * and more): the quick shapes include one of those, since tiles that fill a
     * large GPU at 512^3 can be half as fast as the defaults at 4096^3 (seen on
     * an H200: 1.2x faster at 512^3, 2.2x slower at 4096^3). */
    [NN_TUNE_LARGE] = {{256, 256, 256, 0, 0, 0},
                       {512, 512, 512, 0, 0, 1},
                       {512, 512, 512, 1, 0, 1},
                       {512, 512, 512, 0, 1, 1},
                       {256, 256, 256, 1, 1, 1},
                       {512, 2048, 2048, 0, 0, 1}, /* 256-2048-2048 forward, batch 512 */
                       {2048, 2048, 512, 1, 0, 0}, /* its dW */
                       {1024, 1024, 1024, 0, 0, 0}},
};

/* The ops: every launch shape of the elementwise and reduction kernels. */
static const struct {
    tn_kind kind;
    size_t rows, cols;
} OPS[] = {
    {TN_ADAM, 262144, 1}, {TN_RELU, 4096, 256},   {TN_BIAS, 4096, 256},
    {TN_GATHER, 4096, 64}, {TN_COLSUM, 4096, 256}, {TN_LOSS, 16384, 1},
};

const char *tn_group_name(int g) { return g == TN_OPS ? "ops" : nn_tune_class_name((nn_tune_class)g); }

nn_status tn_group_works(tn_state *s, int g, tn_work *w, size_t *n, nn_error *err) {
    *n = 0;
    nn_status st = NN_OK;
    if (g == TN_OPS) {
        for (size_t i = 0; i < sizeof OPS / sizeof OPS[0] && st == NN_OK; i++)
            st = tn_work_op(s, &w[(*n)++], OPS[i].kind, OPS[i].rows, OPS[i].cols, err);
        return st;
    }
    for (size_t i = 0; i < 8 && st == NN_OK; i++) {
        const shape *p = &SHAPES[g][i];
        if (!p->m || (s->quick && !p->quick)) continue;
        if ((int)nn_tune_shape_class(p->m, p->n, p->k) != g)
            return nn_error_set(err, NN_E_INVALID, "tuner: %zux%zux%zu is not of class %s", p->m,
                                p->n, p->k, tn_group_name(g));
        st = tn_work_matmul(s, &w[(*n)++], p->m, p->n, p->k, p->ta, p->tb, err);
    }
    return st;
}

/* ------------------------------------------------------------- coordinates */

#define PAIR(a, b) ((a) << 16 | (b))
#define MAXV 16

typedef struct coord_values {
    tn_coord c;
    unsigned v[MAXV];
} coord_values;

enum { C_LAYOUT, C_WPT_N, C_WPT_M, C_WG, C_TILE_K, C_DIRECT, C_PACK_WG, N_MM_COORDS };
enum { C_WG_1D, C_WG_2D, C_RED, N_OPS_COORDS };
enum { L_PANELS, L_DIRECT, L_LOCAL };
#define DIRECT_ALWAYS 0xffffffffu

/* Products. The work-group shapes are (wg_n, wg_m). */
static const coord_values MM_FULL[N_MM_COORDS] = {
    {{"layout", 0, 3}, {L_PANELS, L_DIRECT, L_LOCAL}},
    {{"wpt_n", 0, 4}, {2, 4, 8, 16}},
    {{"wpt_m", 0, 8}, {1, 2, 3, 4, 6, 8, 12, 16}},
    {{"wg", 0, 16},
     {PAIR(1, 1), PAIR(2, 2), PAIR(4, 4), PAIR(8, 8), PAIR(16, 16), PAIR(4, 1), PAIR(1, 4),
      PAIR(8, 2), PAIR(2, 8), PAIR(8, 4), PAIR(4, 8), PAIR(16, 4), PAIR(4, 16), PAIR(16, 8),
      PAIR(8, 16), PAIR(32, 8)}},
    {{"tile_k", 0, 5}, {4, 8, 16, 32, 64}},
    {{"direct_max", 0, 5}, {0, 4096, 32768, 262144, DIRECT_ALWAYS}},
    {{"pack_wg", 0, 5}, {2, 4, 8, 16, 32}},
};
static const coord_values MM_QUICK[N_MM_COORDS] = {
    {{"layout", 0, 3}, {L_PANELS, L_DIRECT, L_LOCAL}},
    {{"wpt_n", 0, 4}, {2, 4, 8, 16}},
    {{"wpt_m", 0, 5}, {1, 2, 4, 8, 16}},
    {{"wg", 0, 7},
     {PAIR(1, 1), PAIR(2, 2), PAIR(4, 4), PAIR(8, 8), PAIR(16, 16), PAIR(8, 2), PAIR(2, 8)}},
    {{"tile_k", 0, 3}, {8, 16, 32}},
    {{"direct_max", 0, 3}, {0, 32768, DIRECT_ALWAYS}},
    {{"pack_wg", 0, 3}, {4, 8, 16}},
};

/* Elementwise and reduction ops; wg_2d shapes are (x, y), red is (red_wg, red_items). */
static const coord_values OPS_FULL[N_OPS_COORDS] = {
    {{"wg_1d", TN_AFFECT_1D, 7}, {16, 32, 64, 128, 256, 512, 1024}},
    {{"wg_2d", TN_AFFECT_2D, 10},
     {PAIR(16, 4), PAIR(32, 8), PAIR(8, 8), PAIR(16, 16), PAIR(32, 1), PAIR(64, 1), PAIR(64, 4),
      PAIR(128, 2), PAIR(4, 16), PAIR(256, 1)}},
    {{"red", TN_AFFECT_RED, 15},
     {PAIR(16, 1), PAIR(16, 4), PAIR(16, 16), PAIR(32, 1), PAIR(32, 4), PAIR(32, 16), PAIR(64, 1),
      PAIR(64, 4), PAIR(64, 16), PAIR(128, 1), PAIR(128, 4), PAIR(128, 16), PAIR(256, 1),
      PAIR(256, 4), PAIR(256, 16)}},
};
static const coord_values OPS_QUICK[N_OPS_COORDS] = {
    {{"wg_1d", TN_AFFECT_1D, 4}, {32, 64, 128, 256}},
    {{"wg_2d", TN_AFFECT_2D, 4}, {PAIR(16, 4), PAIR(32, 8), PAIR(64, 1), PAIR(8, 8)}},
    {{"red", TN_AFFECT_RED, 5},
     {PAIR(32, 4), PAIR(64, 1), PAIR(64, 16), PAIR(128, 4), PAIR(256, 4)}},
};

/* The table of group g. */
static const coord_values *table(int g, int quick, size_t *n) {
    *n = g == TN_OPS ? N_OPS_COORDS : N_MM_COORDS;
    if (g == TN_OPS) return quick ? OPS_QUICK : OPS_FULL;
    return quick ? MM_QUICK : MM_FULL;
}

size_t tn_coord_count(int g, int quick) {
    size_t n;
    table(g, quick, &n);
    return n;
}

const tn_coord *tn_coord_info(int g, int quick, size_t ci) {
    size_t n;
    const coord_values *t = table(g, quick, &n);
    return ci < n ? &t[ci].c : NULL;
}

int tn_coord_set(int g, int quick, size_t ci, size_t vi, nn_cl_tune *t) {
    size_t n;
    const coord_values *tab = table(g, quick, &n);
    if (ci >= n || vi >= tab[ci].c.n_values) return 0;
    const unsigned v = tab[ci].v[vi];
    if (g == TN_OPS) {
        switch (ci) {
        case C_WG_1D: t->wg_1d = v; return 1;
        case C_WG_2D: t->wg_2d_x = v >> 16, t->wg_2d_y = v & 0xffff; return 1;
        case C_RED: t->red_wg = v >> 16, t->red_items = v & 0xffff; return 1;
        }
        return 0;
    }
    nn_cl_mm *m = &t->mm[g];
    switch (ci) {
    case C_LAYOUT:
        m->pack_panels = v == L_PANELS;
        m->local = v == L_LOCAL;
        return 1;
    case C_WPT_N: m->wpt_n = v; return 1;
    case C_WPT_M: m->wpt_m = v; return 1;
    case C_WG: m->wg_n = v >> 16, m->wg_m = v & 0xffff; return 1;
    case C_TILE_K:
        if (!m->local) return 0;
        m->tile_k = v;
        return 1;
    case C_DIRECT:
        if (!m->pack_panels) return 0;
        m->direct_max = v == DIRECT_ALWAYS ? SIZE_MAX : v;
        return 1;
    case C_PACK_WG: m->pack_wg = v; return 1;
    }
    return 0;
}

/* ------------------------------------------------------------- candidates */

nn_status tn_cand_build(tn_state *s, int g, tn_cand *x, nn_cl_build_fail *fail, nn_error *err) {
    x->built = 0;
    memset(&x->prog, 0, sizeof x->prog);
    tn_group_params(g, &x->t, x->params, sizeof x->params);
    nn_status st = g == TN_OPS
                       ? nn_cl_tune_validate(&x->t, s->c->max_wg, "tuner", err)
                       : nn_cl_mm_validate(&x->t.mm[g], s->c->max_wg, "tuner", err);
    if (st != NN_OK) { /* the only values that can be out of range: work-groups too large */
        *fail = NN_CL_FAIL_WORKGROUP;
        return st;
    }
    st = g == TN_OPS ? nn_cl_prog_build(s->c, NN_UNIT_REDUCE, &x->t, NULL, &x->prog, fail, err)
                     : nn_cl_prog_build(s->c, NN_UNIT_MATMUL, &x->t, &x->t.mm[g], &x->prog, fail,
                                        err);
    x->built = st == NN_OK;
    return st;
}

void tn_cand_release(tn_cand *x) {
    if (x->built) nn_cl_prog_release(&x->prog);
    x->built = 0;
}

int tn_cand_same(int g, const nn_cl_tune *a, const nn_cl_tune *b) {
    if (g != TN_OPS) return nn_cl_mm_equal(&a->mm[g], &b->mm[g]);
    return a->wg_1d == b->wg_1d && a->wg_2d_x == b->wg_2d_x && a->wg_2d_y == b->wg_2d_y &&
           a->red_wg == b->red_wg && a->red_items == b->red_items;
}

int tn_work_unaffected(int g, const tn_work *w, const nn_cl_tune *a, const nn_cl_tune *b) {
    if (g != TN_OPS) return nn_cl_mm_equal(&a->mm[g], &b->mm[g]);
    if ((w->affect & TN_AFFECT_1D) && a->wg_1d != b->wg_1d) return 0;
    if ((w->affect & TN_AFFECT_2D) && (a->wg_2d_x != b->wg_2d_x || a->wg_2d_y != b->wg_2d_y))
        return 0;
    if ((w->affect & TN_AFFECT_RED) && (a->red_wg != b->red_wg || a->red_items != b->red_items))
        return 0;
    return 1;
}

void tn_group_params(int g, const nn_cl_tune *t, char *buf, size_t len) {
    if (g == TN_OPS) nn_cl_ops_format(t, buf, len);
    else nn_cl_mm_format(&t->mm[g], "", buf, len);
}
