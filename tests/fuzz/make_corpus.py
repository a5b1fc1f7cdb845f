#!/usr/bin/env python3
"""make_corpus.py — write the fuzzers' seed corpus (tests/fuzz/corpus/).

Standard library only. Model inputs start with a mode byte (see
fuzz_model.c): 0 = the file as it is, 1 = header JSON, NUL, data. CSV inputs
start with an option byte (see fuzz_csv.c). Run it again after changing the
file formats; the files are small and checked in."""
import json
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def tensors_for(sizes, seed, prefix=""):
    """PyTorch-named F32 tensors of a Linear stack: name -> (shape, bytes)."""
    out = []
    v = seed
    for l in range(len(sizes) - 1):
        i, o = sizes[l], sizes[l + 1]
        for name, shape in ((f"{2 * l}.weight", [o, i]), (f"{2 * l}.bias", [o])):
            n = 1
            for d in shape:
                n *= d
            vals = []
            for _ in range(n):
                v = (v * 1103515245 + 12345) % 2**31
                vals.append((v / 2**31 - 0.5) * 2)
            out.append((prefix + name, shape, struct.pack(f"<{n}f", *vals)))
    return out


def safetensors(tensors, meta):
    """(header bytes, data bytes) as nnbench writes them."""
    data = b"".join(t[2] for t in tensors)
    meta = dict(meta)
    meta["checksum"] = "crc32:%08x" % zlib.crc32(data)
    header = {"__metadata__": meta}
    at = 0
    for name, shape, raw in tensors:
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [at, at + len(raw)]}
        at += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return h, data


def model_meta(sizes, hidden, loss, classes, scaled, fmt="nnbench-model"):
    out_act = {"bce": "sigmoid", "ce": "softmax", "mse": "identity"}[loss]
    m = {"format": fmt, "format_version": "1", "nnbench_version": "0.1.0",
         "layers": ",".join(map(str, sizes)), "hidden_activation": hidden, "loss": loss,
         "output_activation": out_act, "classes": str(classes),
         "input_scaling": "standardize" if scaled else "none",
         "dataset": "circles", "seed": "42", "init_seed": "42", "epochs": "10"}
    if scaled:
        m["input_mean"] = ",".join("%.17g" % (0.1 * k) for k in range(sizes[0]))
        m["input_std"] = ",".join("%.17g" % (1.0 + k / 3) for k in range(sizes[0]))
    return m


def write(folder, name, data):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def both_modes(folder, name, header, data):
    write(folder, name + ".raw", b"\0" + struct.pack("<Q", len(header)) + header + data)
    write(folder, name + ".split", b"\1" + header + b"\0" + data)


def main():
    md = os.path.join(HERE, "corpus", "model")
    cases = [("bce_2_3_1", [2, 3, 1], "relu", "bce", 2, True),
             ("ce_2_4_3", [2, 4, 3], "tanh", "ce", 3, False),
             ("mse_3_2_2_1", [3, 2, 2, 1], "sigmoid", "mse", 0, True)]
    for name, sizes, hidden, loss, classes, scaled in cases:
        h, d = safetensors(tensors_for(sizes, 7), model_meta(sizes, hidden, loss, classes, scaled))
        both_modes(md, name, h, d)
    # checkpoints: adam with both moments, momentum with one, sgd with none
    sizes = [2, 3, 1]
    for opt, groups in (("adam", ["", "optimizer.m.", "optimizer.v."]),
                        ("momentum", ["", "optimizer.m."]), ("sgd", [""])):
        ts = []
        for k, g in enumerate(groups):
            ts += tensors_for(sizes, 11 + k, g)
        ts.append(("train.loss_acc", [2], struct.pack("<2f", 12.5, -0.25)))
        meta = model_meta(sizes, "relu", "bce", 2, True, "nnbench-checkpoint")
        meta.update({"optimizer": opt, "lr": "0.10000000000000001", "momentum": "0.90000000000000002",
                     "beta1": "0.90000000000000002", "beta2": "0.999", "eps": "1e-08",
                     "step": "17", "epoch": "2", "step_in_epoch": "5", "rows_seen": "1088",
                     "train_seed": "42", "extra.batch": "64"})
        h, d = safetensors(ts, meta)
        both_modes(md, "ckpt_" + opt, h, d)
    # small and broken files
    write(md, "empty_object.raw", b"\0" + struct.pack("<Q", 2) + b"{}")
    write(md, "short.raw", b"\0\x10\0\0")
    write(md, "huge_length.raw", b"\0" + struct.pack("<Q", 2**63) + b"{}")
    write(md, "foreign.split", b'\1{"a":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}\0\0\0\0\0')

    cd = os.path.join(HERE, "corpus", "csv")
    write(cd, "header_lf", b"\x00x,y,label\n1,2,0\n3.5,-4e1,1\n0.25, 7 ,2\n")
    write(cd, "no_header_crlf", b"\x05\xef\xbb\xbf1,2,0\r\n\"3\",4,1\r\n\r\n")
    write(cd, "cr_only", b"\x00a,b,c\r1,2,0\r3,4,1\r")
    write(cd, "regression", b"\x04a,b,t\n1,2,-0.75\n3,4,1e3\n")
    write(cd, "label_first", b"\x08" + b"1,0.5,0.25\n0,1.5,2.5\n")
    write(cd, "one_class", b"\x00" + b"1,2,1\n3,4,1\n")
    write(cd, "gaps", b"\x00" + b"1,2,0\n3,4,5\n")
    write(cd, "bad_cells", b"\x00" + b"1,2,0\n1e400,nan,1\n")


if __name__ == "__main__":
    main()
