/* reduce.cl — deterministic reductions (no atomics).
 * nn_reduce_sum: work-group g sums in[g*RED_WG*RED_ITEMS, (g+1)*RED_WG*RED_ITEMS)
 * in a fixed order (each work-item a strided run, then a binary tree in local
 * memory), so a result depends only on n and the -D values, never on timing.
 * nn_col_sum: each column summed in the CPU's order: row r goes to partial sum
 * r mod 16 (each in ascending rows), then the partials are folded in halves.
 * nn_loss_grad_rows: the loss gradient with the first level of the loss sum.
 * Built in one program after loss.cl (the host's NN_UNIT_REDUCE), whose row
 * losses and gradient it uses. */
#pragma OPENCL FP_CONTRACT OFF

#ifndef NN_ACC_T_DEFINED /* shared with the other kernel files of the program */
#define NN_ACC_T_DEFINED
#ifdef NN_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
typedef double acc_t;
#else
typedef float acc_t;
#endif
#endif
#ifndef RED_WG
#define RED_WG 64 /* work-group size of nn_reduce_sum, a power of two */
#endif
#ifndef RED_ITEMS
#define RED_ITEMS 4 /* elements each work-item adds before the tree */
#endif

/* acc: (2), a compensated float pair (acc[0] + acc[1] = running sum), += v. */
static void pair_add(__global float *acc, acc_t v) {
#ifdef NN_FP64
    const double s = (double)acc[0] + (double)acc[1] + v;
    const float hi = (float)s;
    acc[0] = hi;
    acc[1] = (float)(s - (double)hi);
#else
    const float a = acc[0], s = a + v, bv = s - a, e = (a - (s - bv)) + (v - bv);
    const float lo = acc[1] + e, hi = s + lo;
    acc[0] = hi;
    acc[1] = lo - (hi - s);
#endif
}

/* The sum of one value v per work-item of the group, by a binary tree in
 * local memory (part: RED_WG slots), stored by work-item 0: final == 0:
 * out[out_off + g] for group g; final != 0 (one group): the pair at acc +
 * acc_off += it. Every work-item of the group calls it. */
static void group_sum(__local acc_t *part, acc_t v, __global acc_t *out, ulong out_off,
                      __global float *acc, ulong acc_off, int final) {
    const size_t l = get_local_id(0);
    part[l] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint w = RED_WG / 2; w > 0; w >>= 1) {
        if (l < w) part[l] += part[l + w];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (l != 0) return;
    if (final)
        pair_add(acc + acc_off, part[0]);
    else
        out[out_off + get_group_id(0)] = part[0];
}

/* in: (n) acc_t at in_off. final == 0: out[out_off + g] = sum of group g's
 * chunk. final != 0 (one group): the pair at acc + acc_off += sum. */
__kernel __attribute__((reqd_work_group_size(RED_WG, 1, 1))) void nn_reduce_sum(
    __global const acc_t *in, ulong in_off, ulong n, __global acc_t *out, ulong out_off,
    __global float *acc, ulong acc_off, int final) {
    __local acc_t part[RED_WG];
    const size_t l = get_local_id(0), g = get_group_id(0);
    const size_t base = g * (size_t)(RED_WG * RED_ITEMS);
    acc_t s = 0;
    for (int it = 0; it < RED_ITEMS; it++) {
        const size_t i = base + (size_t)it * RED_WG + l;
        if (i < n) s += in[in_off + i];
    }
    group_sum(part, s, out, out_off, acc, acc_off, final);
}

/* out: (cols) = sum over rows of x: (rows, cols) in col_sum's order
 * (backend.h): s[q] = sum of the rows r = q mod 16 in ascending order, from 0;
 * then s[q] += s[q + h] for h = 8, 4, 2, 1; out = s[0]. */
__kernel void nn_col_sum(__global float *out, ulong out_off, __global const float *x,
                         ulong x_off, uint rows, uint cols) {
    const uint c = (uint)get_global_id(0);
    if (c >= cols) return;
    __global const float *xc = x + x_off + c;
    float s[16];
    for (uint q = 0; q < 16; q++) s[q] = 0.0f;
    uint r = 0;
    for (; r + 16 <= rows; r += 16)
        for (uint q = 0; q < 16; q++) s[q] += xc[(size_t)(r + q) * cols];
    for (uint q = 0; r + q < rows; q++) s[q] += xc[(size_t)(r + q) * cols];
    for (uint h = 8; h > 0; h >>= 1)
        for (uint q = 0; q < h; q++) s[q] += s[q + h];
    out[out_off + c] = s[0];
}

/* The loss rows of nn_loss_<kind>_rows (loss.cl, earlier in the program)
 * summed as nn_reduce_sum's first level sums them (group g: rows
 * [g RED_WG RED_ITEMS, ...), each work-item a strided run of RED_ITEMS rows,
 * then a tree), and dz: (rows, cols) = s * (y - t) (as nn_loss_grad). kind:
 * 0 BCE, 1 CE, 2 MSE. final == 0: part[part_off + g] = group g's sum;
 * final != 0 (one group): the pair acc += it. */
__kernel __attribute__((reqd_work_group_size(RED_WG, 1, 1))) void nn_loss_grad_rows(
    __global acc_t *part, ulong part_off, __global const float *z, ulong z_off,
    __global const float *y, ulong y_off, __global const float *t, ulong t_off,
    __global float *dz, ulong dz_off, float s, uint rows, uint cols, int kind,
    __global float *acc, ulong acc_off, int final) {
    __local acc_t sums[RED_WG];
    const size_t l = get_local_id(0), g = get_group_id(0);
    const size_t base = g * (size_t)(RED_WG * RED_ITEMS);
    acc_t sum = 0;
    for (int it = 0; it < RED_ITEMS; it++) {
        const size_t r = base + (size_t)it * RED_WG + l;
        if (r >= rows) continue;
        sum += kind == 0   ? bce_row(z + z_off, t + t_off, (uint)r, cols)
               : kind == 1 ? ce_row(z + z_off, t + t_off, (uint)r, cols)
                           : mse_row(z + z_off, t + t_off, (uint)r, cols);
        for (uint j = 0; j < cols; j++) {
            const size_t i = r * cols + j;
            dz[dz_off + i] = loss_grad_of(s, y[y_off + i], t[t_off + i]);
        }
    }
    group_sum(sums, sum, part, part_off, acc, acc_off, final);
}
