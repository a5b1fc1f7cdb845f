/* mutants.h — mutants of the OpenCL kernels (kernels/) that `nnbench check`
 * must catch (test_mutation.c), as data: the file, the kernel that runs the mutated
 * line, the exact original text (present exactly once in the file), the
 * mutated text, the check that executes it, and the first layer and quantity
 * the check must name. Entries with layer 0 are equivalent mutants (or below
 * float32 resolution): the check must PASS them, and `why` says why.
 *
 * Whoever changes a kernel file changes its mutants here: a snippet that is
 * no longer found fails test_mutation loudly, and so does a kernel file
 * without a mutant. A mutant of a function that several kernels share names
 * the kernel through which a training step (and so the check) runs it. */
#ifndef NN_TEST_MUTANTS_H
#define NN_TEST_MUTANTS_H

#include <stddef.h>

/* The checks the mutants run under. Every one is small (one build of the
 * program and a few seconds of training) and together they execute every
 * kernel: relu/sigmoid/tanh hidden layers, softmax/CE, sigmoid/BCE and
 * identity/MSE outputs, sgd/momentum/adam, shuffled mini-batches (row
 * gathers) with a short last batch, widths that leave partial tiles (17, 33,
 * 21, 19, 9 with 16-wide tiles), full batches of 800 rows (two levels of the
 * loss reduction), products large enough to be packed (70 x 500 and 600 x
 * 500 operands), and the GPU launch parameters (local-memory tiles, the
 * transpose kernel) forced on any device. */
typedef enum mut_config {
    MC_DEFAULT,      /* circles 2-8-1 relu, bce, sgd, full batch of 800 rows */
    MC_RELU_CE_ADAM, /* spirals 2-17-33-3 relu, ce, adam, batches of 37 (last 23) */
    MC_SIGMOID_BCE,  /* circles 2-19-9-1 sigmoid, bce, momentum, batches of 50 */
    MC_TANH_MSE_SGD, /* moons 2-21-1 tanh, mse, sgd, full batch */
    MC_PACKED,       /* spirals 2-70-600-3 relu, ce, adam, batches of 500 and 300 */
    MC_GPU_TUNE,     /* MC_RELU_CE_ADAM with NN_OPENCL_TUNE=gpu */
    MC_COUNT
} mut_config;

typedef struct mut_config_def {
    const char *name;
    const char *args[24]; /* after "check", NULL-terminated */
    const char *tune;     /* NN_OPENCL_TUNE=... for the run */
} mut_config_def;

static const mut_config_def MUT_CONFIGS[MC_COUNT] = {
    [MC_DEFAULT] = {"default", {"--epochs", "3", NULL}, "NN_OPENCL_TUNE=cpu"},
    [MC_RELU_CE_ADAM] = {"relu-ce-adam",
                         {"--dataset", "spirals", "--classes", "3", "--layers", "2,17,33,3",
                          "--optimizer", "adam", "--lr", "0.01", "--batch", "37", "--epochs",
                          "1", NULL},
                         "NN_OPENCL_TUNE=cpu"},
    [MC_SIGMOID_BCE] = {"sigmoid-bce-momentum",
                        {"--dataset", "circles", "--layers", "2,19,9,1", "--activation",
                         "sigmoid", "--optimizer", "momentum", "--batch", "50", "--epochs", "1",
                         NULL},
                        "NN_OPENCL_TUNE=cpu"},
    [MC_TANH_MSE_SGD] = {"tanh-mse-sgd",
                         {"--dataset", "moons", "--loss", "mse", "--layers", "2,21,1",
                          "--activation", "tanh", "--optimizer", "sgd", "--epochs", "3", NULL},
                         "NN_OPENCL_TUNE=cpu"},
    [MC_PACKED] = {"packed",
                   {"--dataset", "spirals", "--classes", "3", "--layers", "2,70,600,3",
                    "--optimizer", "adam", "--lr", "0.01", "--batch", "500", "--epochs", "1",
                    NULL},
                   "NN_OPENCL_TUNE=cpu"},
    [MC_GPU_TUNE] = {"gpu-tune",
                     {"--dataset", "spirals", "--classes", "3", "--layers", "2,17,33,3",
                      "--optimizer", "adam", "--lr", "0.01", "--batch", "37", "--epochs", "1",
                      NULL},
                     "NN_OPENCL_TUNE=gpu"},
};

typedef struct mutant {
    const char *file;    /* in kernels/ */
    const char *kernel;  /* the __kernel function that executes the mutated text */
    const char *name;
    const char *find;    /* original text, exactly once in the file */
    const char *replace; /* mutated text */
    mut_config config;
    int layer;           /* first layer out of tolerance (1 = first weight layer); 0 = must PASS;
                            -1: any layer (the mutant reads memory whose stale contents decide
                            where it shows first; `why` says so) */
    const char *qty;     /* its quantity: Z, A, loss, dW, db, m, v, update */
    const char *why;     /* layer 0: why the check cannot (and must not) see it */
} mutant;

static const mutant MUTANTS[] = {
    /* ------------------------------------------------------------ elementwise.cl */
    {"elementwise.cl", "nn_fill", "fill skips element 0 (the loss accumulator is not reset)",
     "    if (i < n) dst[dst_off + i] = value;",
     "    if (i > 0 && i < n) dst[dst_off + i] = value;",
     MC_RELU_CE_ADAM, 3, "loss", NULL},
    {"elementwise.cl", "nn_bias_act", "wrong bias broadcast: indexed by row",
     "    const float v = z[z_off + i] + bias[bias_off + c];",
     "    const float v = z[z_off + i] + bias[bias_off + r % cols];", MC_RELU_CE_ADAM, 1, "Z",
     NULL},
    {"elementwise.cl", "nn_bias_act", "bias + activation skip the last column",
     "    if (c >= cols || r >= rows) return;\n    const size_t i = (size_t)r * cols + c;\n"
     "    const float v",
     "    if (c + 1 >= cols || r >= rows) return;\n    const size_t i = (size_t)r * cols + c;\n"
     "    const float v",
     MC_TANH_MSE_SGD, 1, "A", NULL},
    {"elementwise.cl", "nn_bias_act", "leaky ReLU instead of ReLU",
     "static float relu_of(float v) { return v > 0.0f ? v : 0.0f; }",
     "static float relu_of(float v) { return v > 0.0f ? v : 0.01f * v; }", MC_RELU_CE_ADAM, 1,
     "A", NULL},
    {"elementwise.cl", "nn_bias_act", ">= instead of > in ReLU",
     "static float relu_of(float v) { return v > 0.0f ? v : 0.0f; }",
     "static float relu_of(float v) { return v >= 0.0f ? v : 0.0f; }", MC_RELU_CE_ADAM, 0, NULL,
     "equivalent: at v = +-0 both branches give a zero"},
    {"elementwise.cl", "nn_bias_act", "sigmoid of -z (sign error)",
     "return 1.0f / (1.0f + exp(-v));", "return 1.0f / (1.0f + exp(v));", MC_SIGMOID_BCE, 1, "A",
     NULL},
    {"elementwise.cl", "nn_bias_act", "tanh of half its argument",
     "    if (act == NN_K_ACT_TANH) return tanh(v);",
     "    if (act == NN_K_ACT_TANH) return tanh(0.5f * v);", MC_TANH_MSE_SGD, 1, "A", NULL},
    {"elementwise.cl", "nn_bias_softmax_rows", "softmax leaves the last column unnormalized",
     "    for (uint j = 0; j < cols; j++) yr[j] /= s;",
     "    for (uint j = 0; j + 1 < cols; j++) yr[j] /= s;", MC_RELU_CE_ADAM, 3, "A", NULL},
    {"elementwise.cl", "nn_bias_softmax_rows", "softmax's row maximum skips the last column",
     "    for (uint j = 1; j < cols; j++) mx = zr[j] > mx ? zr[j] : mx;",
     "    for (uint j = 1; j + 1 < cols; j++) mx = zr[j] > mx ? zr[j] : mx;", MC_RELU_CE_ADAM, 0,
     NULL,
     "equivalent: softmax does not depend on the shift (only the rounding changes, within its "
     "bound; no exp overflows at these logits)"},
    {"elementwise.cl", "nn_bias_softmax_rows", "the last column's bias not added before softmax",
     "    for (uint j = 0; j < cols; j++) zr[j] += bias[bias_off + j];",
     "    for (uint j = 0; j + 1 < cols; j++) zr[j] += bias[bias_off + j];", MC_RELU_CE_ADAM, 3,
     "Z", NULL},
    {"elementwise.cl", "nn_act_backward_col_sum", "ReLU derivative taken from dy instead of z",
     "static float relu_grad(float g, float z) { return z > 0.0f ? g : 0.0f; }",
     "static float relu_grad(float g, float z) { return g > 0.0f ? g : 0.0f; }", MC_RELU_CE_ADAM,
     2, "dW", NULL},
    {"elementwise.cl", "nn_act_backward_col_sum", "sigmoid derivative x 1.001",
     "static float sigmoid_grad(float g, float y) { return g * y * (1.0f - y); }",
     "static float sigmoid_grad(float g, float y) { return 1.001f * g * y * (1.0f - y); }",
     MC_SIGMOID_BCE, 2, "dW", NULL},
    {"elementwise.cl", "nn_act_backward_col_sum", "tanh derivative 1 - y instead of 1 - y^2",
     "static float tanh_grad(float g, float y) { return g * (1.0f - y * y); }",
     "static float tanh_grad(float g, float y) { return g * (1.0f - y); }", MC_TANH_MSE_SGD, 1,
     "dW", NULL},
    {"elementwise.cl", "nn_act_backward_col_sum", "bias gradient folds one level short",
     "    for (uint h = 8; h > 0; h >>= 1)", "    for (uint h = 8; h > 1; h >>= 1)",
     MC_RELU_CE_ADAM, 2, "db", NULL},
    {"elementwise.cl", "nn_gather_rows", "row bound off by one: the batch's last row not gathered",
     "if (c >= cols || r >= rows) return;\n    const uint s = idx[idx_off + r];",
     "if (c >= cols || r + 1 >= rows) return;\n    const uint s = idx[idx_off + r];",
     MC_RELU_CE_ADAM, 1, "Z", NULL},

    /* ------------------------------------------------------------------- loss.cl */
    {"loss.cl", "nn_loss_bce_rows", "BCE softplus of -z instead of -|z|", "log1p(exp(-fabs(zj)));",
     "log1p(exp(-zj));", MC_DEFAULT, 2, "loss", NULL},
    {"loss.cl", "nn_loss_ce_rows", "CE loses the row maximum",
     "    const acc_t l = mx + log(e) - tz;",
     "    const acc_t l = log(e) - tz;", MC_RELU_CE_ADAM, 3, "loss", NULL},
    {"loss.cl", "nn_loss_mse_rows", "MSE divides by cols + 1",
     "    return s / (acc_t)cols;", "    return s / (acc_t)(cols + 1);",
     MC_TANH_MSE_SGD, 2, "loss", NULL},
    {"loss.cl", "nn_loss_grad_col_sum", "loss gradient with the wrong sign",
     "static float loss_grad_of(float s, float y, float t) { return s * (y - t); }",
     "static float loss_grad_of(float s, float y, float t) { return s * (t - y); }",
     MC_TANH_MSE_SGD, 2, "dW", NULL},
    {"loss.cl", "nn_loss_grad_col_sum", "loss gradient x 1.001",
     "static float loss_grad_of(float s, float y, float t) { return s * (y - t); }",
     "static float loss_grad_of(float s, float y, float t) { return 1.001f * s * (y - t); }",
     MC_DEFAULT, 2, "dW", NULL},
    {"loss.cl", "nn_loss_grad_col_sum", "bias gradient folds one level short (epoch 1)",
     "    for (uint h = 8; h > 0; h >>= 1)", "    for (uint h = 8; h > 1; h >>= 1)", MC_DEFAULT, 2,
     "db", NULL},

    /* ----------------------------------------------------------------- reduce.cl */
    {"reduce.cl", "nn_reduce_sum", "off by one in the reduction: the last row's loss dropped",
     "        if (i < n) s += in[in_off + i];", "        if (i + 1 < n) s += in[in_off + i];",
     MC_RELU_CE_ADAM, 3, "loss", NULL},
    {"reduce.cl", "nn_reduce_sum", "tree reduction stops one level early",
     "    for (uint w = RED_WG / 2; w > 0; w >>= 1) {",
     "    for (uint w = RED_WG / 2; w > 1; w >>= 1) {",
     MC_RELU_CE_ADAM, 3, "loss", NULL},
    {"reduce.cl", "nn_reduce_sum", "work-groups' chunks overlap (wrong stride, 800 rows)",
     "    __local acc_t part[RED_WG];\n    const size_t l = get_local_id(0), g = get_group_id(0);\n"
     "    const size_t base = g * (size_t)(RED_WG * RED_ITEMS);",
     "    __local acc_t part[RED_WG];\n    const size_t l = get_local_id(0), g = get_group_id(0);\n"
     "    const size_t base = g * (size_t)(RED_WG * (RED_ITEMS - 1));", MC_TANH_MSE_SGD, 2, "loss",
     NULL},
    {"reduce.cl", "nn_reduce_sum", "compensated loss pair loses its low part",
     "    acc[1] = (float)(s - (double)hi);", "    acc[1] = 0.0f;", MC_RELU_CE_ADAM, 0, NULL,
     "below float32 resolution: changes the batch loss by at most half an ulp of the sum, less "
     "than any float32 evaluation of the loss may err"},
    {"reduce.cl", "nn_col_sum", "column sums fold one level short",
     "    for (uint h = 8; h > 0; h >>= 1)", "    for (uint h = 8; h > 1; h >>= 1)",
     MC_RELU_CE_ADAM,
     3, "db", NULL},
    {"reduce.cl", "nn_col_sum", "<= instead of < in a row bound: one row past the batch summed",
     "    for (uint q = 0; r + q < rows; q++) s[q] += xc[(size_t)(r + q) * cols];",
     "    for (uint q = 0; r + q <= rows; q++) s[q] += xc[(size_t)(r + q) * cols];",
     MC_RELU_CE_ADAM, -1, "db",
     "the row past the batch holds whatever an earlier op left there, so the layer whose db "
     "shows it first varies"},
    {"reduce.cl", "nn_col_sum", "< instead of <= in the block bound",
     "    for (; r + 16 <= rows; r += 16)", "    for (; r + 16 < rows; r += 16)", MC_RELU_CE_ADAM,
     0, NULL, "equivalent: the tail loop adds a last full block of 16 rows in the same order"},
    {"reduce.cl", "nn_loss_grad_rows", "the loss gradient of the first column only",
     "        for (uint j = 0; j < cols; j++) {\n            const size_t i = r * cols + j;",
     "        for (uint j = 0; j < 1; j++) {\n            const size_t i = r * cols + j;",
     MC_RELU_CE_ADAM, 3, "dW", NULL},

    /* -------------------------------------------------------------- optimizer.cl */
    {"optimizer.cl", "nn_sgd", "sgd skips the last parameter",
     "    if (i < n) p[p_off + i] -= lr * g[g_off + i];",
     "    if (i + 1 < n) p[p_off + i] -= lr * g[g_off + i];", MC_TANH_MSE_SGD, 2, "update", NULL},
    {"optimizer.cl", "nn_momentum", "momentum subtracts the gradient",
     "    const float mi = mu * m[m_off + i] + g[g_off + i];",
     "    const float mi = mu * m[m_off + i] - g[g_off + i];", MC_SIGMOID_BCE, 1, "m", NULL},
    {"optimizer.cl", "nn_momentum", "momentum update reads the velocity back from memory",
     "    p[p_off + i] -= lr * mi;", "    p[p_off + i] -= lr * m[m_off + i];", MC_SIGMOID_BCE, 0,
     NULL, "equivalent: the new velocity was stored to m[m_off + i] just before"},
    {"optimizer.cl", "nn_adam", "Adam's first moment x 0.999",
     "    const float mi = b1 * m[m_off + i] + (1.0f - b1) * gi;",
     "    const float mi = 0.999f * (b1 * m[m_off + i] + (1.0f - b1) * gi);", MC_RELU_CE_ADAM, 1,
     "m", NULL},
    {"optimizer.cl", "nn_adam", "Adam's second moment from g instead of g^2",
     "    const float vi = b2 * v[v_off + i] + (1.0f - b2) * gi * gi;",
     "    const float vi = b2 * v[v_off + i] + (1.0f - b2) * gi;", MC_RELU_CE_ADAM, 1, "v", NULL},
    {"optimizer.cl", "nn_adam", "Adam's eps inside the square root",
     "    p[p_off + i] -= lr * (mi * c1) / (sqrt(vi * c2) + eps);",
     "    p[p_off + i] -= lr * (mi * c1) / sqrt(vi * c2 + eps);", MC_RELU_CE_ADAM, 1, "update",
     NULL},
    {"optimizer.cl", "nn_adam", "Adam without the first moment's bias correction",
     "    p[p_off + i] -= lr * (mi * c1) / (sqrt(vi * c2) + eps);",
     "    p[p_off + i] -= lr * mi / (sqrt(vi * c2) + eps);", MC_RELU_CE_ADAM, 1, "update", NULL},

    /* ----------------------------------------------------------------- matmul.cl */
    {"matmul.cl", "nn_matmul", "drop the last column of a tile edge (store)",
     "            for (uint q = 0; q < rn; q++) o[q] = accumulate ? o[q] + row[q] : row[q];",
     "            for (uint q = 0; q + 1 < rn; q++) o[q] = accumulate ? o[q] + row[q] : row[q];",
     MC_RELU_CE_ADAM, 1, "Z", NULL},
    {"matmul.cl", "nn_matmul", "drop the last readable column of an edge tile (load)",
     "tmp[q] = q < rb ? bp[q] : 0.0f;", "tmp[q] = q + 1 < rb ? bp[q] : 0.0f;", MC_RELU_CE_ADAM, 1,
     "Z", NULL},
    {"matmul.cl", "nn_matmul", "full tiles store one row short",
     "        _Pragma(\"unroll\") for (int r = 0; r < WPT_M; r++) {\n"
     "            VECN out = acc[r];",
     "        _Pragma(\"unroll\") for (int r = 0; r + 1 < WPT_M; r++) {\n"
     "            VECN out = acc[r];",
     MC_RELU_CE_ADAM, 1, "Z", NULL},
    {"matmul.cl", "nn_matmul", "transposed index: rows of A stepped by a_ps",
     "roff[r] = min((uint)r, rm - 1) * a_rs;\n\n    VECN",
     "roff[r] = min((uint)r, rm - 1) * a_ps;\n\n    VECN", MC_RELU_CE_ADAM, 1, "Z", NULL},
    {"matmul.cl", "nn_matmul", "off by one in k: the last term of full tiles dropped",
     "    if (j0 + WPT_N <= b_cols) {\n        for (uint p = 0; p < k; p++) {",
     "    if (j0 + WPT_N <= b_cols) {\n        for (uint p = 0; p + 1 < k; p++) {", MC_RELU_CE_ADAM,
     1, "Z", NULL},
    {"matmul.cl", "nn_matmul", "accumulate subtracts",
     "            if (accumulate) out = VLOADN(0, cp + (size_t)r * n) + out;",
     "            if (accumulate) out = VLOADN(0, cp + (size_t)r * n) - out;", MC_RELU_CE_ADAM, 0,
     NULL, "equivalent in training: no product of a training step accumulates into c"},
    {"matmul.cl", "nn_matmul_pack_a", "packed panels lose their last column",
     "        _Pragma(\"unroll\") for (uint q = 0; q < pw; q++) dp[q] = sp[q * s_j];",
     "        _Pragma(\"unroll\") for (uint q = 0; q + 1 < pw; q++) dp[q] = sp[q * s_j];",
     MC_PACKED,
     3, "dW", NULL},
    {"matmul.cl", "nn_matmul_pack_b", "vector panel copy shifted by one column",
     "        VSTOREN(VLOADN(0, src + src_off + p * s_p + panel * WPT_N), 0,",
     "        VSTOREN(VLOADN(0, src + src_off + p * s_p + panel * WPT_N + 1), 0,", MC_PACKED, 2,
     "Z",
     NULL},
    {"matmul.cl", "nn_matmul_local", "off by one in the local tile's k loop",
     "        for (uint pl = 0; pl < TILE_K; pl++) {",
     "        for (uint pl = 0; pl + 1 < TILE_K; pl++) {",
     MC_GPU_TUNE, 2, "Z", NULL},
    {"matmul.cl", "nn_matmul_local", "transposed index staging A in local memory",
     "            As[pl * TILE_M + il] = (i < m && p < k) ? ap[i * a_rs + p * a_ps] : 0.0f;",
     "            As[pl * TILE_M + il] = (i < m && p < k) ? ap[i * a_ps + p * a_rs] : 0.0f;",
     MC_GPU_TUNE, 1, "Z", NULL},
    {"matmul.cl", "nn_matmul_transpose", "transposed index reading the local tile",
     "    if (pw < k && jw < w_pad) dst[(size_t)pw * w_pad + jw] = tile[lx][ly];",
     "    if (pw < k && jw < w_pad) dst[(size_t)pw * w_pad + jw] = tile[ly][lx];", MC_GPU_TUNE, 2,
     "dW", NULL},
};

#define N_MUTANTS (sizeof MUTANTS / sizeof MUTANTS[0])

/* Kernels that no training step launches, so no bug in them can reach
 * `nnbench check`: the backend's fused ops (src/opencl/opencl_fused.c) took
 * their place in the training loop, and they serve only the plain ops. Their
 * expressions are the functions they share with the fused kernels (relu_of,
 * softmax_row, relu_grad, loss_grad_of, ...), which the mutants above change
 * for both; tests/test_opencl_ops.c compares each plain op with the CPU.
 * test_mutation lists them instead of warning that they have no mutant. */
typedef struct unchecked_kernel {
    const char *file;
    const char *kernel;
} unchecked_kernel;

static const unchecked_kernel UNCHECKED_KERNELS[] = {
    {"elementwise.cl", "nn_copy"},          {"elementwise.cl", "nn_bias_add"},
    {"elementwise.cl", "nn_relu_forward"},  {"elementwise.cl", "nn_sigmoid_forward"},
    {"elementwise.cl", "nn_tanh_forward"},  {"elementwise.cl", "nn_softmax_rows"},
    {"elementwise.cl", "nn_relu_backward"}, {"elementwise.cl", "nn_sigmoid_backward"},
    {"elementwise.cl", "nn_tanh_backward"}, {"loss.cl", "nn_loss_grad"},
};

#define N_UNCHECKED (sizeof UNCHECKED_KERNELS / sizeof UNCHECKED_KERNELS[0])

#endif
