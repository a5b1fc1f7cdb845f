"""What the Python peers of nnbench share: the teacher data, the command line
of the MLP peers, nnbench's flop count and a description of the BLAS.

The data has the shape of nnbench's `teacher` set: x ~ N(0, I) and labels from
a small random softsign network (32 hidden units), made with NumPy from the
seed, so that every peer (NumPy, PyTorch) trains on the same rows.
"""
import argparse
import json
import resource

TEACHER_HIDDEN = 32


def teacher_data(seed, n, features, classes):
    """(x, y): x (n, features) float32 ~ N(0, I); y (n,) int64 labels in
    0..classes-1 from a random 32-unit softsign network of the seed."""
    import numpy as np  # here, so that bench/compare runs (and reports) without numpy

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features), dtype=np.float32)
    v = rng.standard_normal((features, TEACHER_HIDDEN)) / np.sqrt(features)
    out = 1 if classes == 2 else classes
    u = rng.standard_normal((TEACHER_HIDDEN, out)) / np.sqrt(TEACHER_HIDDEN)
    h = x @ v
    z = (h / (1 + np.abs(h))) @ u
    y = (z[:, 0] > 0).astype(np.int64) if classes == 2 else z.argmax(axis=1)
    return x, y


def flops_per_sample(sizes):
    """nnbench's nn_model_flops_per_sample(training=1): 2*in*out per layer for
    the forward product, the same for dW, and again for dX except layer 0."""
    return sum(2.0 * a * b * (2 if l == 0 else 3)
               for l, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])))


def blas_info():
    """A short description of the BLAS NumPy (and Debian's torch) run on."""
    try:
        import threadpoolctl
        for i in threadpoolctl.threadpool_info():
            if i.get("user_api") == "blas":
                return "%s %s %s, %s threads" % (i.get("internal_api"), i.get("version"),
                                                i.get("architecture"), i.get("num_threads"))
    except Exception:
        pass
    return "unknown"


def mlp_args(description, argv, threads_help):
    """The command line every MLP peer takes (bench/compare passes these)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--layers", default="256,1024,1024,1", help="widths, input first")
    p.add_argument("--loss", choices=["bce", "ce"], default=None,
                   help="bce (sigmoid, 1 output) or ce (softmax); default from the output width")
    p.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd")
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--samples", type=int, default=10000, help="training rows")
    p.add_argument("--test-samples", type=int, default=2000, help="held-out rows for accuracy")
    p.add_argument("--threads", type=int, default=0, help=threads_help)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--json", action="store_true", help="print a JSON record on the last line")
    return p.parse_args(argv)


def loss_and_classes(prog, sizes, loss):
    """The loss ("bce" or "ce") and class count of a network's output width."""
    kind = loss or ("bce" if sizes[-1] == 1 else "ce")
    if kind == "bce" and sizes[-1] != 1:
        raise SystemExit("%s: bce needs one output" % prog)
    return kind, 2 if kind == "bce" else sizes[-1]


def print_record(a, impl, version, blas, threads, sizes, loss_kind, losses, n, n_test,
                 test_accuracy, train_seconds):
    """The summary line, and with --json the record (nnbench's keys) on the last line."""
    sps = n * a.epochs / train_seconds
    layers = "-".join(map(str, sizes))
    print("%s %s (%s threads): layers %s %s, %s lr %g, batch %d, %d epochs on %d rows: loss %.4f, "
          "test accuracy %s, %.3f s, %.0f samples/s [%s]"
          % (impl, version, threads, layers, loss_kind, a.optimizer, a.lr,
             a.batch if a.batch > 0 else n, a.epochs, n, losses[-1], test_accuracy,
             train_seconds, sps, blas))
    if not a.json:
        return
    print(json.dumps({
        "implementation": impl, "version": version, "blas": blas, "threads": threads,
        "dataset": "random-teacher", "train_samples": n, "test_samples": n_test,
        "layers": layers, "activation": "relu", "loss": loss_kind, "optimizer": a.optimizer,
        "lr": a.lr, "epochs": a.epochs, "batch": a.batch, "seed": a.seed,
        "final_loss": losses[-1], "loss_curve": losses, "test_accuracy": test_accuracy,
        "train_seconds": train_seconds, "samples_per_second": sps,
        "gflops": flops_per_sample(sizes) * sps / 1e9,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }))


def tutorial_record(impl, version, threads, train_rows, test_rows, epochs, learning_rate, losses,
                    test_accuracy, train_seconds):
    """The JSON record of a tutorial peer (nnbench's keys), as one line of text."""
    sizes = [2, 8, 1]
    samples_per_second = train_rows * epochs / train_seconds
    return json.dumps({
        "implementation": impl, "version": version,
        "dataset": "circles", "samples": train_rows + test_rows,
        "train_samples": train_rows, "test_samples": test_rows,
        "layers": "-".join(map(str, sizes)), "activation": "relu", "loss": "bce",
        "optimizer": "sgd", "lr": learning_rate, "epochs": epochs, "batch": 0,
        "threads": threads,
        "final_loss": float(losses[-1]), "test_accuracy": float(test_accuracy),
        "train_seconds": train_seconds, "samples_per_second": samples_per_second,
        "gflops": flops_per_sample(sizes) * samples_per_second / 1e9,
    })
