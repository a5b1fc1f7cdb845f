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
 * On CPUs, operands whose natural layout is slow (b transposed, or strided by
 * whole rows per step of p) are first copied by nn_matmul_pack_a/_b into
 * panels: a (k, w) matrix stored as ceil(w/pw) panels of (k, pw), padded, so
 * that a work-item's share is one contiguous stream (pw = WPT_M or WPT_N).
 * On GPUs only a transposed b is copied, by nn_matmul_transpose, into
 * row-major order. Padding is never stored into c, so its values do not matter.
 *
 * nn_matmul_local (GPUs) stages TILE_K steps of the work-group's A and B tiles
 * in local memory first; it needs b rows contiguous along j (b_blk == 1).
 *
 * Edges: rows past m re-read row m-1 (never stored); columns past the
 * readable width b_cols are loaded as 0 (never stored). Every element of c
 * is one fma chain over p = 0..k-1 in ascending order on every path (the
 * local kernel adds fma(0, 0, .) steps past k, which change only the sign of
 * a zero), so results do not depend on tile sizes, packing or position.
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
#ifndef TILE_K
#define TILE_K 16 /* nn_matmul_local: steps of p staged in local memory at a time */
#endif
#ifndef PACK_WG
#define PACK_WG 16 /* nn_matmul_transpose work-group: PACK_WG x PACK_WG work-items */
#endif

#define NN_CAT2(x, y) x##y
#define NN_CAT(x, y) NN_CAT2(x, y)
#define VECN NN_CAT(float, WPT_N)
#define VLOADN NN_CAT(vload, WPT_N)
#define VSTOREN NN_CAT(vstore, WPT_N)

/* Write a work-item's block acc (rows i0.., columns j0..) into c: (m, n),
 * adding the old values when accumulate; only the part inside c. */
inline void nn_matmul_store(__global float *c, const VECN *acc, uint i0, uint j0, uint m, uint n,
                            int accumulate) {
    if (i0 >= m || j0 >= n) return;
    const uint rm = min((uint)WPT_M, m - i0), rn = min((uint)WPT_N, n - j0);
    __global float *cp = c + (size_t)i0 * n + j0;
    if (rm == WPT_M && rn == WPT_N) {
        _Pragma("unroll") for (int r = 0; r < WPT_M; r++) {
            VECN out = acc[r];
            if (accumulate) out = VLOADN(0, cp + (size_t)r * n) + out;
            VSTOREN(out, 0, cp + (size_t)r * n);
        }
        return;
    }
    _Pragma("unroll") for (int r = 0; r < WPT_M; r++) {
        if ((uint)r < rm) {
            float row[WPT_N];
            VSTOREN(acc[r], 0, row);
            __global float *o = cp + (size_t)r * n;
            for (uint q = 0; q < rn; q++) o[q] = accumulate ? o[q] + row[q] : row[q];
        }
    }
}

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

    nn_matmul_store(c + c_off, acc, i0, j0, m, n, accumulate);
}

/* As nn_matmul, through local memory: per TILE_K steps of p the work-group
 * copies A (TILE_M rows) and B (TILE_N columns) into As/Bs, zero outside
 * (m, b_cols, k), then every work-item accumulates its block from there.
 * Requires b_blk == 1 (b rows contiguous along j); a_blk is unused (= a_rs). */
#define TILE_M (WG_M * WPT_M)
#define TILE_N (WG_N * WPT_N)
__kernel __attribute__((reqd_work_group_size(WG_N, WG_M, 1))) void nn_matmul_local(
    __global float *c, ulong c_off, __global const float *a, ulong a_off, ulong a_blk,
    ulong a_rs, ulong a_ps, __global const float *b, ulong b_off, ulong b_blk, ulong b_ps,
    uint b_cols, uint m, uint n, uint k, int accumulate) {
    __local float As[TILE_K * TILE_M]; /* (TILE_K, TILE_M): As[p][i] */
    __local float Bs[TILE_K * TILE_N]; /* (TILE_K, TILE_N): Bs[p][j] */
    (void)a_blk;
    (void)b_blk;
    const uint tx = (uint)get_local_id(0), ty = (uint)get_local_id(1), lid = ty * WG_N + tx;
    const uint gi = (uint)get_group_id(1) * TILE_M, gj = (uint)get_group_id(0) * TILE_N;
    __global const float *ap = a + a_off;
    __global const float *bp = b + b_off;
    VECN acc[WPT_M];
    _Pragma("unroll") for (int r = 0; r < WPT_M; r++) acc[r] = (VECN)(0.0f);
    for (uint kt = 0; kt < k; kt += TILE_K) {
        for (uint e = lid; e < TILE_M * TILE_K; e += WG_M * WG_N) {
            /* consecutive work-items read consecutive addresses of a */
            const uint il = a_ps == 1 ? e / TILE_K : e % TILE_M;
            const uint pl = a_ps == 1 ? e % TILE_K : e / TILE_M;
            const uint i = gi + il, p = kt + pl;
            As[pl * TILE_M + il] = (i < m && p < k) ? ap[i * a_rs + p * a_ps] : 0.0f;
        }
        for (uint e = lid; e < TILE_N * TILE_K; e += WG_M * WG_N) {
            const uint pl = e / TILE_N, jl = e % TILE_N, j = gj + jl, p = kt + pl;
            Bs[e] = (j < b_cols && p < k) ? bp[j + p * b_ps] : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (uint pl = 0; pl < TILE_K; pl++) {
            const VECN bv = VLOADN(0, Bs + pl * TILE_N + tx * WPT_N);
            _Pragma("unroll") for (int r = 0; r < WPT_M; r++)
                acc[r] = fma((VECN)(As[pl * TILE_M + ty * WPT_M + r]), bv, acc[r]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    nn_matmul_store(c + c_off, acc, gi + ty * WPT_M, gj + tx * WPT_N, m, n, accumulate);
}

/* Copy one panel of the (k, w) matrix X, X(p, j) = src[p*s_p + j*s_j], into
 * dst laid out as ceil(w/pw) panels of (k, pw): X(p, j) at
 * dst[((j/pw)*k + p)*pw + j%pw], zero past column w. Work-item (p, panel)
 * copies the pw elements of row p; pw is a compile-time constant at each call. */
inline void nn_pack_panel(__global float *dst, __global const float *src, uint k, uint w,
                          ulong s_p, ulong s_j, const uint pw) {
    const uint p = (uint)get_global_id(0), panel = (uint)get_global_id(1);
    if (p >= k || panel >= (w + pw - 1) / pw) return;
    const uint j0 = panel * pw, left = w - j0; /* columns of this panel inside X */
    __global const float *sp = src + p * s_p + j0 * s_j;
    __global float *dp = dst + ((size_t)panel * k + p) * pw;
    if (left >= pw) {
        _Pragma("unroll") for (uint q = 0; q < pw; q++) dp[q] = sp[q * s_j];
    } else {
        _Pragma("unroll") for (uint q = 0; q < pw; q++) dp[q] = q < left ? sp[q * s_j] : 0.0f;
    }
}

/* Panels of WPT_M rows of op(a) (X = op(a)^T, w = m), for nn_matmul's A. */
__kernel void nn_matmul_pack_a(__global float *dst, __global const float *src, ulong src_off,
                               uint k, uint w, ulong s_p, ulong s_j) {
    nn_pack_panel(dst, src + src_off, k, w, s_p, s_j, WPT_M);
}

/* Panels of WPT_N columns of op(b) (X = op(b), w = n), for nn_matmul's B; a
 * full panel of a row-major b is one vector copy. */
__kernel void nn_matmul_pack_b(__global float *dst, __global const float *src, ulong src_off,
                               uint k, uint w, ulong s_p, ulong s_j) {
    const uint p = (uint)get_global_id(0), panel = (uint)get_global_id(1);
    if (s_j == 1 && p < k && (panel + 1) * WPT_N <= w) {
        VSTOREN(VLOADN(0, src + src_off + p * s_p + panel * WPT_N), 0,
                dst + ((size_t)panel * k + p) * WPT_N);
        return;
    }
    nn_pack_panel(dst, src + src_off, k, w, s_p, s_j, WPT_N);
}

/* Row-major copy of op(b) for the GPU layout, from b stored transposed:
 * dst: (k, w_pad) with dst[p*w_pad + j] = src[p + j*s_j] (0 for j >= w).
 * Tiles of PACK_WG x PACK_WG go through local memory so that both the reads
 * (along p) and the writes (along j) are contiguous across work-items. */
__kernel __attribute__((reqd_work_group_size(PACK_WG, PACK_WG, 1))) void nn_matmul_transpose(
    __global float *dst, __global const float *src, ulong src_off, uint k, uint w, uint w_pad,
    ulong s_j) {
    __local float tile[PACK_WG][PACK_WG + 1]; /* (j, p); +1 avoids bank conflicts */
    const uint lx = (uint)get_local_id(0), ly = (uint)get_local_id(1);
    const uint p0 = (uint)get_group_id(0) * PACK_WG, j0 = (uint)get_group_id(1) * PACK_WG;
    const uint p = p0 + lx, j = j0 + ly;
    tile[ly][lx] = (p < k && j < w) ? src[src_off + p + j * s_j] : 0.0f;
    barrier(CLK_LOCAL_MEM_FENCE);
    const uint pw = p0 + ly, jw = j0 + lx;
    if (pw < k && jw < w_pad) dst[(size_t)pw * w_pad + jw] = tile[lx][ly];
}
