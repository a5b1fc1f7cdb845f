#!/usr/bin/env python3
"""Mini-batch MLP training with JAX on the CPU (XLA), one jitted step: the JAX
peer of `nnbench --dataset teacher ...` for bench/compare.

The same model as nnbench and the other peers: Linear layers with ReLU
between them, He (normal) init for the ReLU layers and Xavier (normal) for
the output layer, zero biases; sigmoid + binary cross-entropy from logits
(--loss bce) or softmax + cross-entropy (--loss ce), batch means; plain SGD
or Adam (0.9, 0.999, 1e-8, bias-corrected), written out (no optax). One
function does forward, jax.value_and_grad and the update, under jax.jit with
the parameters and optimizer state donated; the data lives on the device; each
epoch gathers the rows in a fresh permutation (one jitted take) and walks it
in batches (the last one may be short). Both batch shapes are compiled before
the clock starts (ahead of time); only the training loop is timed, until its
results are ready.

The data is peer_common.teacher_data (the same rows as the NumPy and PyTorch
peers). --threads 1 asks XLA for one thread (XLA_FLAGS, set before JAX is
imported); 0 (default) leaves XLA's choice (all cores).

    python bench/peers/python/jax_mlp.py --layers 256,512,512,1 --batch 128 \
        --epochs 3 --samples 10000 --lr 0.02 --threads 1 --json
"""
import os
import sys
import time

from peer_common import loss_and_classes, mlp_args, print_record, teacher_data


def main(argv):
    a = mlp_args(__doc__.split("\n\n")[0], argv, "1 = one XLA thread; 0 = XLA's default")
    if a.threads == 1:
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                                   " --xla_cpu_multi_thread_eigen=false"
                                   " intra_op_parallelism_threads=1").strip()
    import jax
    import jax.numpy as jnp
    import numpy as np

    sizes = [int(s) for s in a.layers.split(",")]
    loss_kind, classes = loss_and_classes("jax_mlp", sizes, a.loss)
    x_np, y_np = teacher_data(a.seed, a.samples + a.test_samples, sizes[0], classes)
    n, bs = a.samples, a.batch if a.batch > 0 else a.samples
    x = jnp.asarray(x_np[:n])
    y = jnp.asarray(y_np[:n].astype(np.float32) if loss_kind == "bce" else y_np[:n])
    x_test, y_test = x_np[n:], y_np[n:]

    rng = np.random.default_rng(a.seed + 1)  # weights and shuffling
    L = len(sizes) - 1
    params = []
    for l in range(L):
        fan_in, fan_out = sizes[l], sizes[l + 1]
        std = np.sqrt(2.0 / fan_in) if l + 1 < L else np.sqrt(2.0 / (fan_in + fan_out))
        params.append((jnp.asarray(rng.standard_normal((fan_in, fan_out)) * std, jnp.float32),
                       jnp.zeros(fan_out, jnp.float32)))

    def forward(params, xb):
        h = xb
        for l, (w, b) in enumerate(params):
            h = h @ w + b
            if l + 1 < L:
                h = jax.nn.relu(h)
        return h

    def loss_fn(params, xb, yb):
        z = forward(params, xb)
        if loss_kind == "bce":
            z = z[:, 0]  # stable BCE from logits
            return jnp.mean(jnp.maximum(z, 0) - z * yb + jnp.log1p(jnp.exp(-jnp.abs(z))))
        logp = jax.nn.log_softmax(z)
        return -jnp.mean(jnp.take_along_axis(logp, yb[:, None], axis=1))

    b1, b2, eps, lr = 0.9, 0.999, 1e-8, a.lr

    def step(params, opt, xb, yb):
        loss, g = jax.value_and_grad(loss_fn)(params, xb, yb)
        if a.optimizer == "sgd":
            params = jax.tree_util.tree_map(lambda p, d: p - lr * d, params, g)
            return params, opt, loss
        t, m, v = opt
        t = t + 1
        m = jax.tree_util.tree_map(lambda m, d: b1 * m + (1 - b1) * d, m, g)
        v = jax.tree_util.tree_map(lambda v, d: b2 * v + (1 - b2) * d * d, v, g)
        c1, c2 = 1 / (1 - b1 ** t), 1 / (1 - b2 ** t)
        params = jax.tree_util.tree_map(
            lambda p, m, v: p - lr * (m * c1) / (jnp.sqrt(v * c2) + eps), params, m, v)
        return params, (t, m, v), loss

    def zeros():
        return jax.tree_util.tree_map(jnp.zeros_like, params)

    opt = (jnp.zeros((), jnp.float32), zeros(), zeros()) if a.optimizer == "adam" else ()
    step_jit = jax.jit(step, donate_argnums=(0, 1))
    gather = jax.jit(lambda x, y, perm: (x[perm], y[perm]))

    # Compile every shape the loop meets before timing it.
    steps = {}
    for rows in sorted({bs, n % bs or bs}):
        steps[rows] = step_jit.lower(params, opt, x[:rows], y[:rows]).compile()
    perm0 = jnp.arange(n)
    gather_c = gather.lower(x, y, perm0).compile()
    jax.block_until_ready((params, opt, x, y))

    perm_rng = np.random.default_rng(a.seed + 2)
    losses = []
    start = time.perf_counter()
    for epoch in range(a.epochs):
        xs, ys = gather_c(x, y, jnp.asarray(perm_rng.permutation(n)))
        total = jnp.zeros((), jnp.float32)
        for r0 in range(0, n, bs):
            rows = min(bs, n - r0)
            params, opt, loss = steps[rows](params, opt, xs[r0:r0 + rows], ys[r0:r0 + rows])
            total = total + loss * rows
        losses.append(float(total) / n)  # waits for the epoch
    jax.block_until_ready(params)
    train_seconds = time.perf_counter() - start

    out = np.asarray(forward(params, jnp.asarray(x_test)))
    pred = (out[:, 0] > 0).astype(np.int64) if loss_kind == "bce" else out.argmax(axis=1)
    test_accuracy = float((pred == y_test).mean()) if len(y_test) else None
    threads = 1 if a.threads == 1 else os.cpu_count()
    print_record(a, "jax", jax.__version__, "XLA CPU", threads, sizes, loss_kind, losses, n,
                 len(y_test), test_accuracy, train_seconds)


if __name__ == "__main__":
    main(sys.argv[1:])
