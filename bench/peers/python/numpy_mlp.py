#!/usr/bin/env python3
"""Mini-batch MLP training written by hand in NumPy (float32): the NumPy peer
of `nnbench --dataset teacher ...` for bench/compare.

Same model and maths as nnbench: Linear layers with ReLU between them, He
(normal) init for the ReLU layers and Xavier (normal) for the output layer,
zero biases; sigmoid + binary cross-entropy (--loss bce, one output) or
softmax + cross-entropy (--loss ce); gradients are batch means; plain SGD or
Adam (0.9, 0.999, 1e-8, bias-corrected). Rows are shuffled every epoch with an
index permutation and walked in batches (the last one may be short).

The data is random with the shape of nnbench's `teacher` set: x ~ N(0, I) and
labels from a small random softsign network (32 hidden units), so the loss goes
down as a sanity check. Only the training loop is timed; the --json record
uses nnbench's keys and flop count.

    /usr/bin/python3 bench/numpy_mlp.py --layers 256,1024,1024,1 --batch 128 \
        --epochs 3 --samples 10000 --lr 0.01 --json
"""
import argparse
import json
import resource
import sys
import time

import numpy as np


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--layers", default="256,1024,1024,1", help="widths, input first")
    p.add_argument("--loss", choices=["bce", "ce"], default=None,
                   help="bce (sigmoid, 1 output) or ce (softmax); default from the output width")
    p.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd")
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--samples", type=int, default=10000, help="training rows")
    p.add_argument("--test-samples", type=int, default=2000, help="held-out rows for accuracy")
    p.add_argument("--threads", type=int, default=0, help="BLAS threads (0 = library default)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--json", action="store_true", help="print a JSON record on the last line")
    return p.parse_args(argv)


def flops_per_sample(sizes):
    """nnbench's nn_model_flops_per_sample(training=1)."""
    return sum(2.0 * a * b * (2 if l == 0 else 3)
               for l, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])))


def blas_info():
    """A short description of the BLAS numpy runs on."""
    try:
        import threadpoolctl
        for i in threadpoolctl.threadpool_info():
            if i.get("user_api") == "blas":
                return "%s %s %s, %s threads" % (i.get("internal_api"), i.get("version"),
                                                i.get("architecture"), i.get("num_threads"))
    except Exception:
        pass
    try:  # numpy's own record of what it was built against
        cfg = np.__config__
        for name in ("blas_opt_info", "openblas_info", "blas_info"):
            info = getattr(cfg, name, None)
            if info:
                return "%s (%s)" % (name, ",".join(info.get("libraries", [])))
    except Exception:
        pass
    return "unknown"


def teacher_data(rng, n, features, classes):
    """x ~ N(0, I) (n, features) float32; labels of a random 32-unit softsign net."""
    x = rng.standard_normal((n, features), dtype=np.float32)
    v = rng.standard_normal((features, 32)) / np.sqrt(features)
    out = 1 if classes == 2 else classes
    u = rng.standard_normal((32, out)) / np.sqrt(32)
    h = x @ v
    z = (h / (1 + np.abs(h))) @ u
    y = (z[:, 0] > 0).astype(np.int64) if classes == 2 else z.argmax(axis=1)
    return x, y


def main(argv):
    a = parse_args(argv)
    sizes = [int(s) for s in a.layers.split(",")]
    loss_kind = a.loss or ("bce" if sizes[-1] == 1 else "ce")
    if loss_kind == "bce" and sizes[-1] != 1:
        sys.exit("numpy_mlp: bce needs one output")
    classes = 2 if loss_kind == "bce" else sizes[-1]

    limiter = None
    if a.threads > 0:
        try:
            import threadpoolctl
            limiter = threadpoolctl.threadpool_limits(limits=a.threads, user_api="blas")
        except Exception:
            pass  # the caller also sets OPENBLAS_NUM_THREADS

    rng = np.random.default_rng(a.seed)
    x_all, y_all = teacher_data(rng, a.samples + a.test_samples, sizes[0], classes)
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
    blas = blas_info()
    if limiter is not None:
        limiter.restore_original_limits()

    sps = n * a.epochs / train_seconds
    print("numpy %s: layers %s %s, %s lr %g, batch %d, %d epochs on %d rows: loss %.4f, "
          "test accuracy %s, %.3f s, %.0f samples/s [%s]"
          % (np.__version__, "-".join(map(str, sizes)), loss_kind, a.optimizer, a.lr, bs,
             a.epochs, n, losses[-1], test_accuracy, train_seconds, sps, blas))
    if a.json:
        print(json.dumps({
            "implementation": "numpy", "version": np.__version__, "blas": blas,
            "threads": a.threads or None, "dataset": "random-teacher",
            "train_samples": n, "test_samples": len(y_test),
            "layers": "-".join(map(str, sizes)), "activation": "relu", "loss": loss_kind,
            "optimizer": a.optimizer, "lr": a.lr, "epochs": a.epochs, "batch": a.batch,
            "seed": a.seed, "final_loss": losses[-1], "loss_curve": losses,
            "test_accuracy": test_accuracy, "train_seconds": train_seconds,
            "samples_per_second": sps, "gflops": flops_per_sample(sizes) * sps / 1e9,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        }))


if __name__ == "__main__":
    main(sys.argv[1:])
