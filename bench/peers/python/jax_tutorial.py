#!/usr/bin/env python3
"""The tutorial's experiment in JAX, its whole training loop compiled once.

The same data (make_circles(1000, noise=0.1), 80/20 split, standard scaling),
the same network and initial weights (2-8-1 ReLU/sigmoid, He init from
np.random.seed(42)) and the same hand-written backprop and full-batch
gradient descent (lr 0.1, 1000 epochs) as tutorial_numpy.py, but the 1000
epochs run inside one `jax.lax.fori_loop` under `jax.jit`, in float32 (JAX's
default), keeping the loss of every epoch. Compilation happens before the
clock starts (ahead-of-time lower + compile); only the execution is timed,
until the results are ready.

    python bench/peers/python/jax_tutorial.py [--json] [--threads 1]

--threads 1 asks XLA for one thread (XLA_FLAGS, set before JAX is imported);
the default is XLA's own choice (all cores).
"""
import os
import sys
import time


def configure_threads(argv):
    if "--threads" in argv:
        t = int(argv[argv.index("--threads") + 1])
        if t == 1:
            os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                                       " --xla_cpu_multi_thread_eigen=false"
                                       " intra_op_parallelism_threads=1").strip()
        return t
    return None


THREADS = configure_threads(sys.argv[1:])

import jax  # noqa: E402  (after XLA_FLAGS)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import make_circles  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

# 1. The data, exactly as the tutorial makes it
X, y = make_circles(n_samples=1000, noise=0.1, random_state=42)
y = y.reshape(-1, 1)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
scaler = StandardScaler()
X_train = scaler.fit_transform(X_train)
X_test = scaler.transform(X_test)

# 2. The tutorial's initial weights (He init from np.random.seed(42))
input_size, hidden_size, output_size = 2, 8, 1
epochs, learning_rate = 1000, 0.1
np.random.seed(42)
W1 = np.random.randn(input_size, hidden_size) * np.sqrt(2 / input_size)
b1 = np.zeros((1, hidden_size))
W2 = np.random.randn(hidden_size, output_size) * np.sqrt(2 / hidden_size)
b2 = np.zeros((1, output_size))


def epoch_step(params, X, y):
    """One full-batch epoch of the tutorial: forward, clipped BCE, backprop, update."""
    W1, b1, W2, b2 = params
    Z1 = X @ W1 + b1
    A1 = jnp.maximum(0, Z1)
    Z2 = A1 @ W2 + b2
    A2 = 1 / (1 + jnp.exp(-Z2))
    p = jnp.clip(A2, 1e-15, 1 - 1e-15)
    loss = -jnp.mean(y * jnp.log(p) + (1 - y) * jnp.log(1 - p))
    m = X.shape[0]
    dZ2 = A2 - y
    dW2 = A1.T @ dZ2 / m
    db2 = jnp.sum(dZ2, axis=0, keepdims=True) / m
    dZ1 = dZ2 @ W2.T * (Z1 > 0)
    dW1 = X.T @ dZ1 / m
    db1 = jnp.sum(dZ1, axis=0, keepdims=True) / m
    lr = learning_rate
    return (W1 - lr * dW1, b1 - lr * db1, W2 - lr * dW2, b2 - lr * db2), loss


@jax.jit
def train(params, X, y):
    """All epochs in one compiled loop; returns the weights and every epoch's loss."""
    losses = jnp.zeros(epochs, dtype=X.dtype)

    def body(i, carry):
        params, losses = carry
        params, loss = epoch_step(params, X, y)
        return params, losses.at[i].set(loss)

    return jax.lax.fori_loop(0, epochs, body, (params, losses))


f32 = lambda a: jnp.asarray(a, dtype=jnp.float32)  # noqa: E731
params = tuple(f32(a) for a in (W1, b1, W2, b2))
Xd, yd = f32(X_train), f32(y_train)
compiled = train.lower(params, Xd, yd).compile()  # not timed
jax.block_until_ready((params, Xd, yd))

start = time.perf_counter()
params, losses = compiled(params, Xd, yd)
jax.block_until_ready((params, losses))
train_seconds = time.perf_counter() - start

losses = np.asarray(losses)
for epoch in range(0, epochs, 100):
    print(f"Epoch {epoch}: Loss = {losses[epoch]:.4f}")
W1, b1, W2, b2 = (np.asarray(a) for a in params)
A2 = 1 / (1 + np.exp(-(np.maximum(0, X_test @ W1 + b1) @ W2 + b2)))
test_accuracy = float(np.mean((A2 > 0.5).astype(int) == y_test))
print(f"Test accuracy: {test_accuracy:.4f}")

if "--json" in sys.argv[1:]:
    from peer_common import tutorial_record

    print(tutorial_record("jax-tutorial", jax.__version__, THREADS, len(X_train), len(X_test),
                          epochs, learning_rate, losses, test_accuracy, train_seconds))
