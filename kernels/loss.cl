/* loss.cl — per-row losses and the loss gradient.
 * Row losses are computed in acc_t: double when the host passes -DNN_FP64
 * (the device supports cl_khr_fp64), as the CPU backend does, else float.
 * NN_LOSS_CAP is -log(NN_BCE_EPS), passed by the host. */
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
#ifndef NN_LOSS_CAP
#define NN_LOSS_CAP 34.538776394910684
#endif

/* BCE of row r: sum over cols of min(max(z, 0) - z*t + log1p(exp(-|z|)),
 * cap), NaN for a non-finite logit. */
static acc_t bce_row(__global const float *z, __global const float *t, uint r, uint cols) {
    const size_t o = (size_t)r * cols;
    const acc_t cap = (acc_t)NN_LOSS_CAP;
    acc_t s = 0;
    for (uint j = 0; j < cols; j++) {
        const acc_t zj = z[o + j];
        const acc_t l = fmax(zj, (acc_t)0) - zj * t[o + j] + log1p(exp(-fabs(zj)));
        s += !isfinite(zj) ? (acc_t)NAN : l < cap ? l : cap; /* divergence stays visible */
    }
    return s;
}

/* CE of row r: min(logsumexp(z_r) - sum(t_r * z_r), cap), NaN for a non-finite
 * logit; cols >= 1. */
static acc_t ce_row(__global const float *z, __global const float *t, uint r, uint cols) {
    __global const float *zr = z + (size_t)r * cols;
    __global const float *tr = t + (size_t)r * cols;
    acc_t mx = zr[0], e = 0, tz = 0;
    int finite = 1;
    for (uint j = 0; j < cols; j++) {
        finite &= isfinite(zr[j]);
        mx = zr[j] > mx ? zr[j] : mx;
    }
    for (uint j = 0; j < cols; j++) {
        e += exp((acc_t)zr[j] - mx);
        tz += (acc_t)tr[j] * zr[j];
    }
    const acc_t l = mx + log(e) - tz;
    return !finite ? (acc_t)NAN : l < (acc_t)NN_LOSS_CAP ? l : (acc_t)NN_LOSS_CAP;
}

/* MSE of row r: sum((z - t)^2) / cols; cols >= 1. */
static acc_t mse_row(__global const float *z, __global const float *t, uint r, uint cols) {
    const size_t o = (size_t)r * cols;
    acc_t s = 0;
    for (uint j = 0; j < cols; j++) {
        const acc_t d = (acc_t)z[o + j] - t[o + j];
        s += d * d;
    }
    return s / (acc_t)cols;
}

/* out: (rows) = the loss of each row; z, t: (rows, cols) */
__kernel void nn_loss_bce_rows(__global acc_t *out, ulong out_off, __global const float *z,
                               ulong z_off, __global const float *t, ulong t_off, uint rows,
                               uint cols) {
    const uint r = (uint)get_global_id(0);
    if (r < rows) out[out_off + r] = bce_row(z + z_off, t + t_off, r, cols);
}

__kernel void nn_loss_ce_rows(__global acc_t *out, ulong out_off, __global const float *z,
                              ulong z_off, __global const float *t, ulong t_off, uint rows,
                              uint cols) {
    const uint r = (uint)get_global_id(0);
    if (r < rows) out[out_off + r] = ce_row(z + z_off, t + t_off, r, cols);
}

__kernel void nn_loss_mse_rows(__global acc_t *out, ulong out_off, __global const float *z,
                               ulong z_off, __global const float *t, ulong t_off, uint rows,
                               uint cols) {
    const uint r = (uint)get_global_id(0);
    if (r < rows) out[out_off + r] = mse_row(z + z_off, t + t_off, r, cols);
}

/* The loss gradient of one output y against its target t: s * (y - t); the
 * host folds the loss's factor into s (scale for BCE and CE, 2 * scale / cols
 * for MSE). Shared by the gradient kernels here and nn_loss_grad_rows
 * (reduce.cl, later in the same program). */
static float loss_grad_of(float s, float y, float t) { return s * (y - t); }

/* dz: (n) = s * (y - t). dz may equal y. */
__kernel void nn_loss_grad(__global float *dz, ulong dz_off, __global const float *y,
                           ulong y_off, __global const float *t, ulong t_off, float s, ulong n) {
    const size_t i = get_global_id(0);
    if (i < n) dz[dz_off + i] = loss_grad_of(s, y[y_off + i], t[t_off + i]);
}

/* dz: (rows, cols) = s * (y - t) (as nn_loss_grad) and out: (cols) = its
 * column sums in col_sum's order (as nn_col_sum); one work-item per column. */
__kernel void nn_loss_grad_col_sum(__global float *dz, ulong dz_off, __global const float *y,
                                   ulong y_off, __global const float *t, ulong t_off, float s,
                                   __global float *out, ulong out_off, uint rows, uint cols) {
    const uint c = (uint)get_global_id(0);
    if (c >= cols) return;
    float p[16];
    for (uint q = 0; q < 16; q++) p[q] = 0.0f;
    for (uint r = 0; r < rows; r++) {
        const size_t i = (size_t)r * cols + c;
        const float d = loss_grad_of(s, y[y_off + i], t[t_off + i]);
        dz[dz_off + i] = d;
        p[r % 16] += d;
    }
    for (uint h = 8; h > 0; h >>= 1)
        for (uint q = 0; q < h; q++) p[q] += p[q + h];
    out[out_off + c] = p[0];
}
