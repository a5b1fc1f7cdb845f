/* teacher_tile.h — the teacher's row kernel (internal; see teacher.c for the
 * definition it computes). teacher.c includes it once per instruction set,
 * after defining:
 *   TILE_NAME      the function's name
 *   TILE_ATTR      its attributes (target)
 *   TW             rows per call, one per vector lane
 *   tvf, tvu, tvi  vector types of TW float, uint32_t, int32_t
 *   tvq            vector type of TW uint64_t
 *   TVFMA(a, b, c) lanewise fmaf(a, b, c) (exactly rounded)
 *   TVGATHER(p, i) lanewise p[i] (p: const float *, i: tvu)
 *   TVANY(m)       nonzero if any lane of the tvi mask m is set
 * Every operation is exactly rounded and lanewise, so the variants agree
 * bit for bit. Vector values live only inside this function (no vector
 * arguments, which would change the ABI per target).
 *
 * Rows first..first+TW-1 of rows_seed, or with rows != NULL the rows
 * rows[0..TW) (any indices, one per lane: a rank's own rows for
 * nn_teacher_rows_at); seed: (TW) copies of rows_seed, so the vector is a
 * load. Out: key: (TW) row keys,
 * xt: (features, TW) inputs, cls: (TW) classes before label noise. A lane's
 * values depend only on its row index, never on its neighbours'.
 */

#define TVLOAD(T, p) __extension__({ T v_; memcpy(&v_, (p), sizeof v_); v_; })
#define TVSTORE(p, v) __extension__({ __typeof__(v) s_ = (v); memcpy((p), &s_, sizeof s_); })
/* splitmix64 finalizer on every lane of a tvq */
#define TVMIX(z0) __extension__({                                                       \
    tvq z_ = (z0);                                                                       \
    z_ ^= z_ >> 30;                                                                      \
    z_ *= 0xBF58476D1CE4E5B9ull;                                                         \
    z_ ^= z_ >> 27;                                                                      \
    z_ *= 0x94D049BB133111EBull;                                                         \
    z_ ^= z_ >> 31;                                                                      \
    z_;                                                                                  \
})
/* Candidates of the 32-bit draws h of one input into out: (TW); lanes that
 * fail the rectangle test are finished at once (fix_draw, in order of d). */
#define TVCAND(h0, out) __extension__({                                             \
    const tvu h_ = (h0);                                                                 \
    const tvu i_ = h_ & (NN_ZIG_LAYERS - 1);                                             \
    const tvf u_ = __builtin_convertvector((tvi)(h_ >> 8) * 2 - 0xFFFFFF, tvf) * 0x1p-24f; \
    const tvf au_ = (tvf)((tvu)u_ & 0x7FFFFFFFu);                                        \
    const tvi rej_ = au_ >= TVGATHER(t->zig_ratio, i_);                                  \
    TVSTORE((out), u_ * TVGATHER(t->zig_x, i_));                                         \
    if (TVANY(rej_))                                                                     \
        for (size_t l_ = 0; l_ < TW; l_++)                                               \
            if (rej_[l_]) (out)[l_] = fix_draw(t, key[l_], &fix[l_], h_[l_]);            \
})

TILE_ATTR static void TILE_NAME(const nn_teacher *restrict t, const uint64_t *seed, uint64_t first,
                                const uint64_t *rows, float *restrict xt, uint64_t *restrict key,
                                uint32_t *restrict cls) {
    const size_t f = t->features, hp = t->hidden, o = t->outputs;
    const tvq rs = TVLOAD(tvq, seed);                 /* rows_seed in every lane */
    tvq k = rows ? TVLOAD(tvq, rows) + 1                   /* row index + 1 per lane */
                 : TVLOAD(tvq, teacher_iota) + (first + 1);
    k = TVMIX(TVMIX(rs + k * TEACHER_GOLDEN) ^ rs);  /* row_key */
    TVSTORE(key, k);

    /* inputs */
    uint64_t fix[TW]; /* (TW) next counter of each row's fix-up generator */
    for (size_t l = 0; l < TW; l++) fix[l] = NN_TEACHER_FIX_COUNTER;
    for (size_t j = 0; 2 * j < f; j++) {
        const tvq w = TVMIX(k + (uint64_t)((j + 1) * TEACHER_GOLDEN)); /* input_word */
        TVCAND(__builtin_convertvector(w, tvu), xt + 2 * j * TW);
        if (2 * j + 1 < f) TVCAND(__builtin_convertvector(w >> 32, tvu), xt + (2 * j + 1) * TW);
    }

    /* hidden layer in blocks of TB units; each block's outputs feed the logits */
    tvf z[HMAX]; /* (outputs) logits */
    for (size_t c = 0; c < o; c++) z[c] = (tvf){0};
    for (size_t jb = 0; jb < hp; jb += TB) {
        const float *w = t->w1b + jb * f; /* (f, TB) */
        tvf a[TB];
        for (size_t jj = 0; jj < TB; jj++) a[jj] = (tvf){0};
        for (size_t d = 0; d < f; d++) {
            const tvf xd = TVLOAD(tvf, xt + d * TW);
            for (size_t jj = 0; jj < TB; jj++) a[jj] = TVFMA(w[d * TB + jj] - (tvf){0}, xd, a[jj]);
        }
        for (size_t jj = 0; jj < TB; jj++) {
            const tvf s = a[jj] / (1.0f + (tvf)((tvu)a[jj] & 0x7FFFFFFFu)); /* softsign */
            for (size_t c = 0; c < o; c++)
                z[c] = TVFMA(t->w2[c * hp + jb + jj] - (tvf){0}, s, z[c]);
        }
    }

    /* classes: binary z > 0, else the first index of the largest logit */
    tvi best_c = {0};
    if (o == 1) {
        best_c = -(z[0] > 0.0f);
    } else {
        tvf best = z[0];
        for (size_t c = 1; c < o; c++) {
            const tvi more = z[c] > best;
            best = (tvf)(((tvi)z[c] & more) | ((tvi)best & ~more));
            best_c = (((tvi){0} + (int32_t)c) & more) | (best_c & ~more);
        }
    }
    TVSTORE(cls, (tvu)best_c);
}

#undef TVLOAD
#undef TVSTORE
#undef TVMIX
#undef TVCAND
