#!/usr/bin/env python3
"""Mini-batch MLP training written by hand in NumPy (float32): the NumPy peer
of `nnbench --dataset teacher ...` for bench/compare.

Same model and maths as nnbench: Linear layers with ReLU between them, He
(normal) init for the ReLU layers and Xavier (normal) for the output layer,
zero biases; sigmoid + binary cross-entropy (--loss bce, one output) or
softmax + cross-entropy (--loss ce); gradients are batch means; plain SGD or
Adam (0.9, 0.999, 1e-8, bias-corrected). Rows are shuffled every epoch with an
index permutation and walked in batches (the last one may be short).

The data is peer_common.teacher_data (the shape of nnbench's `teacher` set,
the same rows as the PyTorch peer), so the loss goes down as a sanity check.
Only the training loop is timed; the --json record uses nnbench's keys and
flop count.

    /usr/bin/python3 bench/peers/python/numpy_mlp.py --layers 256,1024,1024,1 --batch 128 \
        --epochs 3 --samples 10000 --lr 0.01 --json
"""
import sys
import time

import numpy as np

from peer_common import blas_info, loss_and_classes, mlp_args, print_record, teacher_data


def numpy_blas_info():
    """The BLAS numpy runs on: threadpoolctl's view, else numpy's build record."""
    info = blas_info()
    if info != "unknown":
        return info
    try:
        cfg = np.__config__
        for name in ("blas_opt_info", "openblas_info", "blas_info"):
            lib = getattr(cfg, name, None)
            if lib:
                return "%s (%s)" % (name, ",".join(lib.get("libraries", [])))
    except Exception:
        pass
    return "unknown"


def main(argv):
    a = mlp_args(__doc__.split("\n\n")[0], argv, "BLAS threads (0 = library default)")
    sizes = [int(s) for s in a.layers.split(",")]
    loss_kind, classes = loss_and_classes("numpy_mlp", sizes, a.loss)

    limiter = None
    if a.threads > 0:
        try:
            import threadpoolctl
            limiter = threadpoolctl.threadpool_limits(limits=a.threads, user_api="blas")
        except Exception:
            pass  # the caller also sets OPENBLAS_NUM_THREADS

    x_all, y_all = teacher_data(a.seed, a.samples + a.test_samples, sizes[0], classes)
    rng = np.random.default_rng(a.seed + 1)  # weights and shuffling
    x, y = x_all[:a.samples], y_all[:a.samples]
    x_test, y_test = x_all[a.samples:], y_all[a.samples:]
    # targets: (n, 1) 0/1 for bce, one-hot (n, K) for ce, float32
    if loss_kind == "bce":
        t = y.astype(np.float32).reshape(-1, 1)
    else:
        t = np.zeros((a.samples, classes), dtype=np.float32)
        t[np.arange(a.samples), y] = 1.0

    L = len(sizes) - 1
    W, b = [], []
    for l in range(L):
        fan_in, fan_out = sizes[l], sizes[l + 1]
        std = np.sqrt(2.0 / fan_in) if l + 1 < L else np.sqrt(2.0 / (fan_in + fan_out))
        W.append((rng.standard_normal((fan_in, fan_out)) * std).astype(np.float32))  # (in, out)
        b.append(np.zeros((1, fan_out), dtype=np.float32))                          # (1, out)
    params = W + b
    if a.optimizer == "adam":
        m1 = [np.zeros_like(p) for p in params]
        m2 = [np.zeros_like(p) for p in params]
        beta1, beta2, eps, step = 0.9, 0.999, 1e-8, 0
    lr = np.float32(a.lr)
    n, bs = a.samples, a.batch if a.batch > 0 else a.samples
    eps_clip = np.float32(1e-15)

    def forward(xb):
        acts = [xb]  # acts[l]: input of layer l, (rows, sizes[l])
        h = xb
        for l in range(L):
            z = h @ W[l]
            z += b[l]
            if l + 1 < L:
                np.maximum(z, 0, out=z)  # ReLU in place: z > 0 <=> relu(z) > 0
                acts.append(z)
            h = z
        if loss_kind == "bce":
            p = 1.0 / (1.0 + np.exp(-h))
        else:
            h -= h.max(axis=1, keepdims=True)
            np.exp(h, out=h)
            p = h / h.sum(axis=1, keepdims=True)
        return acts, p

    losses = []
    start = time.perf_counter()
    for epoch in range(a.epochs):
        perm = rng.permutation(n)
        total = 0.0
        for r0 in range(0, n, bs):
            idx = perm[r0:r0 + bs]
            xb, tb = x[idx], t[idx]
            rows = len(idx)
            acts, p = forward(xb)
            pc = np.clip(p, eps_clip, 1 - eps_clip)
            if loss_kind == "bce":
                total += float(-(tb * np.log(pc) + (1 - tb) * np.log(1 - pc)).sum())
            else:
                total += float(-(tb * np.log(pc)).sum())
            dz = (p - tb) / np.float32(rows)  # (rows, out): d(mean loss)/d(logits)
            grads_w, grads_b = [None] * L, [None] * L
            for l in range(L - 1, -1, -1):
                grads_w[l] = acts[l].T @ dz
                grads_b[l] = dz.sum(axis=0, keepdims=True)
                if l > 0:
                    da = dz @ W[l].T
                    da *= acts[l] > 0
                    dz = da
            grads = grads_w + grads_b
            if a.optimizer == "sgd":
                for p_, g in zip(params, grads):
                    g *= lr
                    p_ -= g
            else:
                step += 1
                c1 = 1.0 / (1.0 - beta1 ** step)
                c2 = 1.0 / (1.0 - beta2 ** step)
                for p_, g, m, v in zip(params, grads, m1, m2):
                    m *= np.float32(beta1)
                    m += np.float32(1 - beta1) * g
                    v *= np.float32(beta2)
                    v += np.float32(1 - beta2) * g * g
                    p_ -= np.float32(lr * c1) * m / (np.sqrt(np.float32(c2) * v) + np.float32(eps))
        losses.append(total / n)
    train_seconds = time.perf_counter() - start

    _, p_test = forward(x_test)
    pred = (p_test[:, 0] > 0.5).astype(np.int64) if loss_kind == "bce" else p_test.argmax(axis=1)
    test_accuracy = float((pred == y_test).mean()) if len(y_test) else None
    blas = numpy_blas_info()
    if limiter is not None:
        limiter.restore_original_limits()

    print_record(a, "numpy", np.__version__, blas, a.threads or None, sizes, loss_kind, losses, n,
                 len(y_test), test_accuracy, train_seconds)


if __name__ == "__main__":
    main(sys.argv[1:])
