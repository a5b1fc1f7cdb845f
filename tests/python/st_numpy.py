#!/usr/bin/env python3
"""st_numpy.py — read an nnbench model file with NumPy alone and predict.

usage: st_numpy.py MODEL ROWS OUT [MODEL ROWS OUT ...]
  ROWS  raw (unscaled) input rows, float32 little-endian, row-major (n, inputs)
  OUT   written: the predictions, float32 little-endian (n, outputs)

The safetensors header is parsed here (struct + json), no safetensors
package. Checks the layout nnbench promises (names, shapes, dtype, offsets
tiling the data, CRC-32 checksum), applies the saved standardization, runs
the forward pass in float64 and exits 1 with a message on any mismatch."""
import json
import struct
import sys
import zlib

import numpy as np


def fail(msg):
    print("st_numpy: " + msg, file=sys.stderr)
    sys.exit(1)


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = blob[8 + n:]
    meta = header.pop("__metadata__", {})
    tensors, covered = {}, 0
    for name, info in header.items():
        if info["dtype"] != "F32":
            fail(f"{name}: dtype {info['dtype']}")
        begin, end = info["data_offsets"]
        shape = tuple(info["shape"])
        if end - begin != 4 * int(np.prod(shape, dtype=np.int64)) or end > len(data):
            fail(f"{name}: offsets {begin}-{end} for shape {shape}")
        tensors[name] = np.frombuffer(data[begin:end], dtype="<f4").reshape(shape)
        covered += end - begin
    if covered != len(data):
        fail(f"tensors cover {covered} of {len(data)} data bytes")
    return meta, tensors, data


def predict(model, rows_path, out_path):
    meta, t, data = read_safetensors(model)
    if meta.get("format") != "nnbench-model":
        fail(f"format {meta.get('format')!r}")
    if meta["checksum"] != "crc32:%08x" % zlib.crc32(data):
        fail("checksum mismatch")
    sizes = [int(s) for s in meta["layers"].split(",")]
    want = {f"{2 * l}.{k}" for l in range(len(sizes) - 1) for k in ("weight", "bias")}
    if set(t) != want:
        fail(f"tensors {sorted(t)}, expected {sorted(want)}")
    x = np.fromfile(rows_path, dtype="<f4").reshape(-1, sizes[0]).astype(np.float64)
    if meta["input_scaling"] == "standardize":
        mean = np.array([float(v) for v in meta["input_mean"].split(",")])
        std = np.array([float(v) for v in meta["input_std"].split(",")])
        x = (x - mean) / std
        x = x.astype(np.float32).astype(np.float64)  # the model's inputs are float32
    hidden = {"relu": lambda z: np.maximum(z, 0.0), "tanh": np.tanh,
              "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z))}[meta["hidden_activation"]]
    for l in range(len(sizes) - 1):
        w = t[f"{2 * l}.weight"].astype(np.float64)  # (out, in), as torch.nn.Linear
        b = t[f"{2 * l}.bias"].astype(np.float64)
        if w.shape != (sizes[l + 1], sizes[l]) or b.shape != (sizes[l + 1],):
            fail(f"layer {l}: shapes {w.shape} {b.shape}")
        z = x @ w.T + b
        x = hidden(z) if l < len(sizes) - 2 else z
    out = meta["output_activation"]
    if out == "sigmoid":
        x = 1.0 / (1.0 + np.exp(-x))
    elif out == "softmax":
        e = np.exp(x - x.max(axis=1, keepdims=True))
        x = e / e.sum(axis=1, keepdims=True)
    elif out != "identity":
        fail(f"output activation {out!r}")
    x.astype("<f4").tofile(out_path)
    print(f"st_numpy: {x.shape[0]} rows x {x.shape[1]} outputs from {len(t)} tensors, checksum ok")


def main():
    args = sys.argv[1:]
    if not args or len(args) % 3:
        fail("usage: st_numpy.py MODEL ROWS OUT [MODEL ROWS OUT ...]")
    for i in range(0, len(args), 3):
        predict(*args[i:i + 3])


if __name__ == "__main__":
    main()
