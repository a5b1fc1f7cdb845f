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

/* out: (rows) = BCE of each row: sum over cols of
 * min(max(z, 0) - z*t + log1p(exp(-|z|)), cap), NaN for a non-finite logit;
 * z, t: (rows, cols) */
__kernel void nn_loss_bce_rows(__global acc_t *out, ulong out_off, __global const float *z,
                               ulong z_off, __global const float *t, ulong t_off, uint rows,
                               uint cols) {
    const uint r = (uint)get_global_id(0);
    if (r >= rows) return;
    const size_t o = (size_t)r * cols;
    const acc_t cap = (acc_t)NN_LOSS_CAP;
    acc_t s = 0;
    for (uint j = 0; j < cols; j++) {
        const acc_t zj = z[z_off + o + j];
        const acc_t l = fmax(zj, (acc_t)0) - zj * t[t_off + o + j] + log1p(exp(-fabs(zj)));
        s += !isfinite(zj) ? (acc_t)NAN : l < cap ? l : cap; /* divergence stays visible */
    }
    out[out_off + r] = s;
}

/* out: (rows) = min(logsumexp(z_r) - sum(t_r * z_r), cap), NaN for a non-finite logit;
 * z, t: (rows, cols), cols >= 1 */
__kernel void nn_loss_ce_rows(__global acc_t *out, ulong out_off, __global const float *z,
                              ulong z_off, __global const float *t, ulong t_off, uint rows,
                              uint cols) {
    const uint r = (uint)get_global_id(0);
    if (r >= rows) return;
    __global const float *zr = z + z_off + (size_t)r * cols;
    __global const float *tr = t + t_off + (size_t)r * cols;
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
    out[out_off + r] = !finite ? (acc_t)NAN : l < (acc_t)NN_LOSS_CAP ? l : (acc_t)NN_LOSS_CAP;
}

/* out: (rows) = sum((z - t)^2) / cols per row; z, t: (rows, cols), cols >= 1 */
__kernel void nn_loss_mse_rows(__global acc_t *out, ulong out_off, __global const float *z,
                               ulong z_off, __global const float *t, ulong t_off, uint rows,
                               uint cols) {
    const uint r = (uint)get_global_id(0);
    if (r >= rows) return;
    const size_t o = (size_t)r * cols;
    acc_t s = 0;
    for (uint j = 0; j < cols; j++) {
        const acc_t d = (acc_t)z[z_off + o + j] - t[t_off + o + j];
        s += d * d;
    }
    out[out_off + r] = s / (acc_t)cols;
}

/* dz: (n) = s * (y - t); the host folds the loss's factor into s
 * (scale for BCE and CE, 2 * scale / cols for MSE). dz may equal y. */
__kernel void nn_loss_grad(__global float *dz, ulong dz_off, __global const float *y,
                           ulong y_off, __global const float *t, ulong t_off, float s, ulong n) {
    const size_t i = get_global_id(0);
    if (i < n) dz[dz_off + i] = s * (y[y_off + i] - t[t_off + i]);
}
