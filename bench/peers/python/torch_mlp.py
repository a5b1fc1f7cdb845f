#!/usr/bin/env python3
"""Mini-batch MLP training with PyTorch on the CPU: the PyTorch peer of
`nnbench --dataset teacher ...` for bench/compare.

The same model as nnbench: nn.Sequential of Linear + ReLU, He (normal) init
for the ReLU layers and Xavier (normal) for the output layer, zero biases;
BCEWithLogitsLoss (--loss bce, one output) or CrossEntropyLoss (--loss ce),
both batch means; torch.optim.SGD (no momentum) or Adam (0.9, 0.999, 1e-8).
All data lives in tensors created up front; each epoch shuffles with an index
permutation (no DataLoader) and walks it in batches (the last one may be
short); each step is forward, loss.backward(), opt.step(),
opt.zero_grad(set_to_none=True). Only the training loop is timed.

The data is peer_common.teacher_data (the shape of nnbench's `teacher` set,
the same rows as the NumPy peer), so the loss goes down as a sanity check.

--threads T sets torch.set_num_threads(T) and also limits the BLAS pool
(OpenBLAS keeps its own threads, which torch.set_num_threads does not reach in
Debian's build), through threadpoolctl when it is installed.

    /usr/bin/python3 bench/peers/python/torch_mlp.py --layers 256,1024,1024,1 --batch 128 \
        --epochs 3 --samples 10000 --lr 0.01 --threads 1 --json
"""
import sys
import time

import torch

from peer_common import blas_info, loss_and_classes, mlp_args, print_record, teacher_data


def main(argv):
    a = mlp_args(__doc__.split("\n\n")[0], argv, "0 = torch's default")
    sizes = [int(s) for s in a.layers.split(",")]
    loss_kind, classes = loss_and_classes("torch_mlp", sizes, a.loss)

    limiter = None
    if a.threads > 0:
        torch.set_num_threads(a.threads)
        try:
            import threadpoolctl
            limiter = threadpoolctl.threadpool_limits(limits=a.threads, user_api="blas")
        except Exception:
            pass  # the caller also sets OPENBLAS_NUM_THREADS / OMP_NUM_THREADS
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)

    x_np, y_np = teacher_data(a.seed, a.samples + a.test_samples, sizes[0], classes)
    x_all, y_all = torch.from_numpy(x_np), torch.from_numpy(y_np)
    x, y = x_all[:a.samples].contiguous(), y_all[:a.samples].contiguous()
    x_test, y_test = x_all[a.samples:], y_all[a.samples:]
    t = y.float().unsqueeze(1) if loss_kind == "bce" else y  # BCE wants float (n, 1)

    layers = []
    L = len(sizes) - 1
    for l in range(L):
        lin = torch.nn.Linear(sizes[l], sizes[l + 1])
        with torch.no_grad():
            fan_in, fan_out = sizes[l], sizes[l + 1]
            std = (2.0 / fan_in) ** 0.5 if l + 1 < L else (2.0 / (fan_in + fan_out)) ** 0.5
            lin.weight.normal_(0.0, std, generator=gen)
            lin.bias.zero_()
        layers.append(lin)
        if l + 1 < L:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    criterion = torch.nn.BCEWithLogitsLoss() if loss_kind == "bce" else torch.nn.CrossEntropyLoss()
    if a.optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=a.lr)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=a.lr, betas=(0.9, 0.999), eps=1e-8)

    n, bs = a.samples, a.batch if a.batch > 0 else a.samples
    losses = []
    model.train()
    start = time.perf_counter()
    for epoch in range(a.epochs):
        perm = torch.randperm(n, generator=gen)
        total = torch.zeros(())
        for r0 in range(0, n, bs):
            idx = perm[r0:r0 + bs]
            xb, tb = x[idx], t[idx]
            loss = criterion(model(xb), tb)
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            total += loss.detach() * len(idx)
        losses.append(total.item() / n)
    train_seconds = time.perf_counter() - start

    model.eval()
    with torch.no_grad():
        out = model(x_test)
        pred = (out[:, 0] > 0).long() if loss_kind == "bce" else out.argmax(dim=1)
        test_accuracy = float((pred == y_test).float().mean()) if len(y_test) else None
    blas = blas_info()
    if limiter is not None:
        limiter.restore_original_limits()

    print_record(a, "pytorch", torch.__version__, blas, torch.get_num_threads(), sizes, loss_kind,
                 losses, n, len(y_test), test_accuracy, train_seconds)


if __name__ == "__main__":
    main(sys.argv[1:])
