/* optimizer.cl — one optimizer step on n parameters, in float, with the
 * exact expressions of src/backend.h (no contraction into fma).
 * p, g, m, v: (n) each; m is the momentum velocity or Adam's first moment. */
#pragma OPENCL FP_CONTRACT OFF

/* p -= lr * g */
__kernel void nn_sgd(__global float *p, ulong p_off, __global const float *g, ulong g_off,
                     float lr, ulong n) {
    const size_t i = get_global_id(0);
    if (i < n) p[p_off + i] -= lr * g[g_off + i];
}

/* m = mu * m + g; p -= lr * m */
__kernel void nn_momentum(__global float *p, ulong p_off, __global const float *g, ulong g_off,
                          __global float *m, ulong m_off, float lr, float mu, ulong n) {
    const size_t i = get_global_id(0);
    if (i >= n) return;
    const float mi = mu * m[m_off + i] + g[g_off + i];
    m[m_off + i] = mi;
    p[p_off + i] -= lr * mi;
}

/* m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g*g; p -= lr * (m*c1) / (sqrt(v*c2) + eps),
 * c1 = 1/(1-b1^t), c2 = 1/(1-b2^t) from the host */
__kernel void nn_adam(__global float *p, ulong p_off, __global const float *g, ulong g_off,
                      __global float *m, ulong m_off, __global float *v, ulong v_off, float lr,
                      float b1, float b2, float eps, float c1, float c2, ulong n) {
    const size_t i = get_global_id(0);
    if (i >= n) return;
    const float gi = g[g_off + i];
    const float mi = b1 * m[m_off + i] + (1.0f - b1) * gi;
    const float vi = b2 * v[v_off + i] + (1.0f - b2) * gi * gi;
    m[m_off + i] = mi;
    v[v_off + i] = vi;
    p[p_off + i] -= lr * (mi * c1) / (sqrt(vi * c2) + eps);
}
