/* elementwise.cl — fill, copy, bias, activations and their derivatives,
 * softmax rows, row gathers, and the fused kernels built from them (bias +
 * activation, activation backward + bias gradient). Formulas are those of
 * src/backend.h and the CPU backend, evaluated in the same order (no
 * contraction into fma), so results differ from the CPU only by the math
 * library's rounding (exp, tanh). Each activation, derivative and the softmax
 * row is one function that the plain and the fused kernels share, so both
 * compute the same bits. 1-D kernels: one work-item per element, work-items
 * past n return at once. 2-D kernels: dimension 0 = column, dimension 1 = row. */
#pragma OPENCL FP_CONTRACT OFF

/* Activation codes of the fused kernels (the host maps nn_act to these). */
#define NN_K_ACT_IDENTITY 0
#define NN_K_ACT_RELU 1
#define NN_K_ACT_SIGMOID 2
#define NN_K_ACT_TANH 3

/* max(v, 0) as v > 0 ? v : 0 (NaN -> 0, like the CPU). */
static float relu_of(float v) { return v > 0.0f ? v : 0.0f; }
static float sigmoid_of(float v) { return 1.0f / (1.0f + exp(-v)); }
/* act(v) for an activation code. */
static float act_of(int act, float v) {
    if (act == NN_K_ACT_RELU) return relu_of(v);
    if (act == NN_K_ACT_SIGMOID) return sigmoid_of(v);
    if (act == NN_K_ACT_TANH) return tanh(v);
    return v;
}

/* dst: (n) = value */
__kernel void nn_fill(__global float *dst, ulong dst_off, float value, ulong n) {
    const size_t i = get_global_id(0);
    if (i < n) dst[dst_off + i] = value;
}

/* y: (n) = z: (n); y and z do not overlap (the host skips y == z) */
__kernel void nn_copy(__global float *y, ulong y_off, __global const float *z, ulong z_off,
                      ulong n) {
    const size_t i = get_global_id(0);
    if (i < n) y[y_off + i] = z[z_off + i];
}

/* z: (rows, cols) += bias: (cols), broadcast over rows */
__kernel void nn_bias_add(__global float *z, ulong z_off, __global const float *bias,
                          ulong bias_off, uint rows, uint cols) {
    const uint c = (uint)get_global_id(0), r = (uint)get_global_id(1);
    if (c < cols && r < rows) z[z_off + (size_t)r * cols + c] += bias[bias_off + c];
}

/* y: (n) = max(z, 0) as z > 0 ? z : 0 (NaN -> 0, like the CPU); y may equal z */
__kernel void nn_relu_forward(__global float *y, ulong y_off, __global const float *z,
                              ulong z_off, ulong n) {
    const size_t i = get_global_id(0);
    if (i >= n) return;
    y[y_off + i] = relu_of(z[z_off + i]);
}

/* y: (n) = 1 / (1 + exp(-z)); y may equal z */
__kernel void nn_sigmoid_forward(__global float *y, ulong y_off, __global const float *z,
                                 ulong z_off, ulong n) {
    const size_t i = get_global_id(0);
    if (i < n) y[y_off + i] = sigmoid_of(z[z_off + i]);
}

/* y: (n) = tanh(z); y may equal z */
__kernel void nn_tanh_forward(__global float *y, ulong y_off, __global const float *z,
                              ulong z_off, ulong n) {
    const size_t i = get_global_id(0);
    if (i < n) y[y_off + i] = tanh(z[z_off + i]);
}

/* yr: (cols) = softmax of zr: (cols), cols >= 1, with the row maximum
 * subtracted, columns in order; yr may equal zr. */
static void softmax_row(__global float *yr, __global const float *zr, uint cols) {
    float mx = zr[0], s = 0.0f;
    for (uint j = 1; j < cols; j++) mx = zr[j] > mx ? zr[j] : mx;
    for (uint j = 0; j < cols; j++) {
        const float e = exp(zr[j] - mx);
        yr[j] = e;
        s += e;
    }
    for (uint j = 0; j < cols; j++) yr[j] /= s;
}

/* y: (rows, cols) = softmax of each row of z: (rows, cols), cols >= 1; one
 * work-item per row. y may equal z. */
__kernel void nn_softmax_rows(__global float *y, ulong y_off, __global const float *z,
                              ulong z_off, uint rows, uint cols) {
    const uint r = (uint)get_global_id(0);
    if (r < rows) softmax_row(y + y_off + (size_t)r * cols, z + z_off + (size_t)r * cols, cols);
}

/* z: (rows, cols) += bias: (cols), then a: (rows, cols) = act(z), with the
 * expressions of nn_bias_add and the activation kernels above (the same bits
 * as launching them in turn); a may equal z. 2-D like nn_bias_add. */
__kernel void nn_bias_act(__global float *z, ulong z_off, __global float *a, ulong a_off,
                          __global const float *bias, ulong bias_off, uint rows, uint cols,
                          int act) {
    const uint c = (uint)get_global_id(0), r = (uint)get_global_id(1);
    if (c >= cols || r >= rows) return;
    const size_t i = (size_t)r * cols + c;
    const float v = z[z_off + i] + bias[bias_off + c];
    z[z_off + i] = v;
    a[a_off + i] = act_of(act, v);
}

/* z: (rows, cols) += bias: (cols), then y: (rows, cols) = softmax of each row
 * of z, as nn_bias_add then nn_softmax_rows; one work-item per row. y may
 * equal z. */
__kernel void nn_bias_softmax_rows(__global float *z, ulong z_off, __global float *y, ulong y_off,
                                   __global const float *bias, ulong bias_off, uint rows,
                                   uint cols) {
    const uint r = (uint)get_global_id(0);
    if (r >= rows) return;
    __global float *zr = z + z_off + (size_t)r * cols;
    for (uint j = 0; j < cols; j++) zr[j] += bias[bias_off + j];
    softmax_row(y + y_off + (size_t)r * cols, zr, cols);
}

/* dy * act'(.): ReLU's from z (z > 0 exactly where y > 0), sigmoid's and
 * tanh's from y; the identity's is dy. */
static float relu_grad(float g, float z) { return z > 0.0f ? g : 0.0f; }
static float sigmoid_grad(float g, float y) { return g * y * (1.0f - y); }
static float tanh_grad(float g, float y) { return g * (1.0f - y * y); }
/* For an activation code, v = z (ReLU) or y (sigmoid, tanh). */
static float act_grad(int act, float g, float v) {
    if (act == NN_K_ACT_RELU) return relu_grad(g, v);
    if (act == NN_K_ACT_SIGMOID) return sigmoid_grad(g, v);
    if (act == NN_K_ACT_TANH) return tanh_grad(g, v);
    return g;
}

/* dz: (n) = z > 0 ? dy : 0; dz may equal dy */
__kernel void nn_relu_backward(__global float *dz, ulong dz_off, __global const float *dy,
                               ulong dy_off, __global const float *z, ulong z_off, ulong n) {
    const size_t i = get_global_id(0);
    if (i < n) dz[dz_off + i] = relu_grad(dy[dy_off + i], z[z_off + i]);
}

/* dz: (n) = dy * y * (1 - y), y = sigmoid(z); dz may equal dy */
__kernel void nn_sigmoid_backward(__global float *dz, ulong dz_off, __global const float *dy,
                                  ulong dy_off, __global const float *y, ulong y_off, ulong n) {
    const size_t i = get_global_id(0);
    if (i < n) dz[dz_off + i] = sigmoid_grad(dy[dy_off + i], y[y_off + i]);
}

/* dz: (n) = dy * (1 - y * y), y = tanh(z); dz may equal dy */
__kernel void nn_tanh_backward(__global float *dz, ulong dz_off, __global const float *dy,
                               ulong dy_off, __global const float *y, ulong y_off, ulong n) {
    const size_t i = get_global_id(0);
    if (i < n) dz[dz_off + i] = tanh_grad(dy[dy_off + i], y[y_off + i]);
}

/* dz: (rows, cols) = dy * act'(.) as the backward kernels above compute it
 * (src: z for ReLU, y for sigmoid and tanh, unused for the identity: a copy),
 * and out: (cols) = the column sums of dz in col_sum's order (row r to partial
 * r mod 16, each partial in ascending rows, then folded in halves: as
 * nn_col_sum in reduce.cl), as those kernels then nn_col_sum compute them.
 * One work-item per column; dz may equal dy. */
__kernel void nn_act_backward_col_sum(__global float *dz, ulong dz_off, __global const float *dy,
                                      ulong dy_off, __global const float *src, ulong src_off,
                                      __global float *out, ulong out_off, uint rows, uint cols,
                                      int act) {
    const uint c = (uint)get_global_id(0);
    if (c >= cols) return;
    float s[16];
    for (uint q = 0; q < 16; q++) s[q] = 0.0f;
    for (uint r = 0; r < rows; r++) {
        const size_t i = (size_t)r * cols + c;
        const float d = act_grad(act, dy[dy_off + i], src[src_off + i]);
        dz[dz_off + i] = d;
        s[r % 16] += d;
    }
    for (uint h = 8; h > 0; h >>= 1)
        for (uint q = 0; q < h; q++) s[q] += s[q + h];
    out[out_off + c] = s[0];
}

/* dst: (rows, cols), row r = src row idx[r]; src: (src_rows, cols); idx: (rows)
 * uint32. An index past src_rows yields a row of zeros instead of a stray read. */
__kernel void nn_gather_rows(__global float *dst, ulong dst_off, __global const float *src,
                             ulong src_off, __global const uint *idx, ulong idx_off, uint rows,
                             uint cols, ulong src_rows) {
    const uint c = (uint)get_global_id(0), r = (uint)get_global_id(1);
    if (c >= cols || r >= rows) return;
    const uint s = idx[idx_off + r];
    dst[dst_off + (size_t)r * cols + c] = s < src_rows ? src[src_off + (size_t)s * cols + c] : 0.0f;
}
