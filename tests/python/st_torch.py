#!/usr/bin/env python3
"""st_torch.py — load an nnbench model file into PyTorch and predict.

usage: st_torch.py MODEL ROWS OUT [MODEL ROWS OUT ...]   (as st_numpy.py)

Builds the matching nn.Sequential of nn.Linear layers and activations from
the metadata, loads the weights with
    net.load_state_dict(safetensors.torch.load_file(MODEL))   (strict)
applies the saved standardization and writes the predictions."""
import sys

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file


def predict(model, rows_path, out_path):
    with safe_open(model, framework="pt") as f:
        meta = f.metadata()
    sizes = [int(s) for s in meta["layers"].split(",")]
    act = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}
    layers = []
    for l in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[l], sizes[l + 1]))
        if l < len(sizes) - 2:
            layers.append(act[meta["hidden_activation"]]())
    out = meta["output_activation"]
    if out == "sigmoid":
        layers.append(torch.nn.Sigmoid())
    elif out == "softmax":
        layers.append(torch.nn.Softmax(dim=1))
    net = torch.nn.Sequential(*layers)
    net.load_state_dict(load_file(model))  # strict: names and shapes must match
    x = np.fromfile(rows_path, dtype="<f4").reshape(-1, sizes[0]).astype(np.float64)
    if meta["input_scaling"] == "standardize":
        mean = np.array([float(v) for v in meta["input_mean"].split(",")])
        std = np.array([float(v) for v in meta["input_std"].split(",")])
        x = (x - mean) / std
    with torch.no_grad():
        y = net(torch.from_numpy(x.astype(np.float32))).numpy()
    y.astype("<f4").tofile(out_path)
    print(f"st_torch: torch {torch.__version__}: {y.shape[0]} rows x {y.shape[1]} outputs")


def main():
    args = sys.argv[1:]
    if not args or len(args) % 3:
        sys.exit("usage: st_torch.py MODEL ROWS OUT [MODEL ROWS OUT ...]")
    for i in range(0, len(args), 3):
        predict(*args[i:i + 3])


if __name__ == "__main__":
    main()
