/* matmul.cl — c: (m, n) = op(a) · op(b) (+ old c), tiled and register-blocked.
 *
 * Each work-item of nn_matmul computes a WPT_M x WPT_N block of c (WPT_N is
 * the vector width); a work-group of (WG_N, WG_M) work-items covers a
 * (WG_M*WPT_M) x (WG_N*WPT_N) tile. The host passes the same values as -D
 * options and derives the NDRange from them.
 *
 * The compute kernel reads its operands through strides, so one kernel serves
 * every storage order:
 *   A(i0 + r, p) = a[i0*a_blk + r*a_rs + p*a_ps]
 *   B(p, j0 + q) = b[j0*b_blk + p*b_ps + q]     (contiguous along q)
 * Operands whose natural layout is slow (b transposed, or strided by whole
 * rows per step of p) are first copied by nn_matmul_pack into panels: a
 * (k, w) matrix stored as ceil(w/pw) panels of (k, pw), zero-padded, so that
 * a work-item's share is one contiguous stream.
 *
 * Edges: rows past m re-read row m-1 (never stored); columns past the
 * readable width b_cols are loaded as 0 (never stored). Every element of c
 * is one fma chain over p = 0..k-1 in ascending order on every path, so
 * results do not depend on tile sizes, packing or position.
 */
#ifndef WPT_M
#define WPT_M 8 /* rows of c per work-item */
#endif
#ifndef WPT_N
#define WPT_N 16 /* columns of c per work-item: 2, 4, 8 or 16 (the vector width) */
#endif
#ifndef WG_M
#define WG_M 4 /* work-items per work-group along m (local size, dimension 1) */
#endif
#ifndef WG_N
#define WG_N 4 /* work-items per work-group along n (local size, dimension 0) */
#endif
#ifndef PACK_WG
#define PACK_WG 16 /* nn_matmul_pack work-group: PACK_WG x PACK_WG work-items */
#endif

#define NN_CAT2(x, y) x##y
#define NN_CAT(x, y) NN_CAT2(x, y)
#define VECN NN_CAT(float, WPT_N)
#define VLOADN NN_CAT(vload, WPT_N)
#define VSTOREN NN_CAT(vstore, WPT_N)

/* c: (m, n) at c; a, b as described above; b_cols: columns of b readable
 * from row starts (n, or the padded width when packed). */
__kernel __attribute__((reqd_work_group_size(WG_N, WG_M, 1))) void nn_matmul(
    __global float *c, ulong c_off, __global const float *a, ulong a_off, ulong a_blk,
    ulong a_rs, ulong a_ps, __global const float *b, ulong b_off, ulong b_blk, ulong b_ps,
    uint b_cols, uint m, uint n, uint k, int accumulate) {
    const uint j0 = (uint)get_global_id(0) * WPT_N;
    const uint i0 = (uint)get_global_id(1) * WPT_M;
    if (i0 >= m || j0 >= n) return;
    const uint rm = min((uint)WPT_M, m - i0); /* rows of this block inside c */
    __global const float *ap = a + a_off + i0 * a_blk;
    __global const float *bp = b + b_off + j0 * b_blk;
    size_t roff[WPT_M]; /* offset of A(i0 + r, 0) from ap; rows past m repeat the last */
    _Pragma("unroll") for (int r = 0; r < WPT_M; r++) roff[r] = min((uint)r, rm - 1) * a_rs;

    VECN acc[WPT_M];
    _Pragma("unroll") for (int r = 0; r < WPT_M; r++) acc[r] = (VECN)(0.0f);
    if (j0 + WPT_N <= b_cols) {
        for (uint p = 0; p < k; p++) {
            const VECN bv = VLOADN(0, bp);
            _Pragma("unroll") for (int r = 0; r < WPT_M; r++)
                acc[r] = fma((VECN)(ap[roff[r]]), bv, acc[r]);
            ap += a_ps;
            bp += b_ps;
        }
    } else {
        const uint rb = b_cols - j0; /* readable columns, < WPT_N */
        for (uint p = 0; p < k; p++) {
            float tmp[WPT_N];
            _Pragma("unroll") for (uint q = 0; q < WPT_N; q++) tmp[q] = q < rb ? bp[q] : 0.0f;
            const VECN bv = VLOADN(0, tmp);
            _Pragma("unroll") for (int r = 0; r < WPT_M; r++)
                acc[r] = fma((VECN)(ap[roff[r]]), bv, acc[r]);
            ap += a_ps;
            bp += b_ps;
        }
    }

    __global float *cp = c + c_off + (size_t)i0 * n + j0;
    if (rm == WPT_M && j0 + WPT_N <= n) {
        _Pragma("unroll") for (int r = 0; r < WPT_M; r++) {
            VECN out = acc[r];
            if (accumulate) out = VLOADN(0, cp + (size_t)r * n) + out;
            VSTOREN(out, 0, cp + (size_t)r * n);
        }
        return;
    }
    const uint rn = min((uint)WPT_N, n - j0); /* columns of this block inside c */
    _Pragma("unroll") for (int r = 0; r < WPT_M; r++) {
        if ((uint)r < rm) {
            float row[WPT_N];
            VSTOREN(acc[r], 0, row);
            __global float *o = cp + (size_t)r * n;
            for (uint q = 0; q < rn; q++) o[q] = accumulate ? o[q] + row[q] : row[q];
        }
    }
}

/* Panel copy: dst holds the (k, w) matrix X as ceil(w/pw) panels of (k, pw),
 * X(p, j) at dst[((j/pw)*k + p)*pw + j%pw], zero past w (w_pad = panels*pw).
 * Source: X(p, j) = src[p*s_p + j*s_j]. Work-item (d0, d1) copies one element;
 * dimension 0 runs along whichever source index is contiguous (s_fast). */
inline void nn_pack_one(__global float *dst, __global const float *src, uint k, uint w, uint pw,
                        ulong s_p, ulong s_j, uint p, uint j) {
    if (p >= k) return;
    const uint panel = j / pw, q = j - panel * pw;
    dst[((size_t)panel * k + p) * pw + q] = j < w ? src[p * s_p + j * s_j] : 0.0f;
}

/* X rows contiguous along j (s_j == 1): dimension 0 = j in [0, w_pad), dimension 1 = p. */
__kernel __attribute__((reqd_work_group_size(PACK_WG, PACK_WG, 1))) void nn_matmul_pack_rows(
    __global float *dst, __global const float *src, ulong src_off, uint k, uint w, uint w_pad,
    uint pw, ulong s_p) {
    const uint j = (uint)get_global_id(0), p = (uint)get_global_id(1);
    if (j < w_pad) nn_pack_one(dst, src + src_off, k, w, pw, s_p, 1, p, j);
}

/* X columns contiguous along p (s_p == 1): dimension 0 = p, dimension 1 = j in [0, w_pad). */
__kernel __attribute__((reqd_work_group_size(PACK_WG, PACK_WG, 1))) void nn_matmul_pack_cols(
    __global float *dst, __global const float *src, ulong src_off, uint k, uint w, uint w_pad,
    uint pw, ulong s_j) {
    const uint p = (uint)get_global_id(0), j = (uint)get_global_id(1);
    if (j < w_pad) nn_pack_one(dst, src + src_off, k, w, pw, 1, s_j, p, j);
}
