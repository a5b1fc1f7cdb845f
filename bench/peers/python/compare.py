#!/usr/bin/env python3
"""bench/compare — run nnbench and its peers on the same workloads in one go.

Prints a markdown table (workload, implementation, threads, time, samples/s,
GFLOP/s, ratio to nnbench, final loss / accuracy) and writes it as CSV, JSON
and markdown (bench-results/compare.{csv,json,md} by default; --out DIR).
See bench/peers/python/README.md for the workloads and how the numbers are defined.

    bench/compare                   # everything (about 12 minutes on 2 cores)
    bench/compare --quick           # a reduced set, < 1 min (smoke test)
    bench/compare --workload tutorial --workload w1024-bce-b128
    bench/compare --list            # the workloads
"""
import argparse
import csv
import datetime
import json
import math
import os
import platform
import subprocess
import sys
import time

from peer_common import flops_per_sample

HERE = os.path.dirname(os.path.abspath(__file__))  # bench/peers/python
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))

# ---------------------------------------------------------------- workloads
# samples: what nnbench is given (--samples); it holds out round(0.2 * samples)
# for testing and trains on the rest, and the peers train on that many rows.
TEST_FRACTION = 0.2


def mlp(name, width, outputs, batch, samples, epochs, optimizer="sgd", lr=None):
    loss = "bce" if outputs == 1 else "ce"
    if lr is None:  # Adam 0.001; SGD 0.02 at width 512, scaled as 1/width
        lr = 0.001 if optimizer == "adam" else round(0.02 * 512 / width, 6)
    w = dict(name=name, kind="mlp", layers=[256, width, width, outputs], loss=loss,
             classes=2 if outputs == 1 else outputs, batch=batch, samples=samples,
             epochs=epochs, optimizer=optimizer, lr=lr)
    return describe(w)


def describe(w):
    """Set w["what"], the workload in words, from its fields."""
    if w["kind"] == "mlp":
        w["what"] = "%s %s, %s lr %g, batch %d, %d epochs x %d rows" % (
            "-".join(map(str, w["layers"])),
            "sigmoid/BCE" if w["loss"] == "bce" else "softmax/CE", w["optimizer"], w["lr"],
            w["batch"], w["epochs"], train_rows(w["samples"]))
    return w


def train_rows(samples):
    # nn_data_split: n_test = llround(n * test_fraction), half away from zero
    return samples - int(math.floor(samples * TEST_FRACTION + 0.5))


TUTORIAL = dict(name="tutorial", kind="tutorial", layers=[2, 8, 1], loss="bce", batch=0,
                epochs=1000, samples=1000, optimizer="sgd", lr=0.1,
                what="the tutorial's experiment: circles (1000, noise 0.1), 2-8-1 ReLU/sigmoid, "
                     "full-batch GD lr 0.1, 1000 epochs (nnbench's default run)")

# Sized so that each nnbench cpu run is a few seconds (~120 GFLOP of training
# work each); the peers take longer where they are slower.
WORKLOADS = [
    TUTORIAL,
    mlp("w512-bce-b128", 512, 1, 128, 12500, 6),
    mlp("w512-bce-b512", 512, 1, 512, 12500, 6),
    mlp("w1024-bce-b128", 1024, 1, 128, 10000, 2),
    mlp("w1024-bce-b512", 1024, 1, 512, 10000, 2),
    mlp("w2048-bce-b128", 2048, 1, 128, 3000, 2),
    mlp("w2048-bce-b512", 2048, 1, 512, 3000, 2),
    mlp("w1024-ce10-b128", 1024, 10, 128, 10000, 2),
    mlp("w2048-ce10-b512", 2048, 10, 512, 3000, 2),
    mlp("w1024-ce10-adam-b256", 1024, 10, 256, 10000, 2, optimizer="adam"),
]
QUICK = ["tutorial", "w512-bce-b128"]
QUICK_SIZES = {"w512-bce-b128": dict(samples=2500, epochs=1)}


# ---------------------------------------------------------------- helpers
def log(msg):
    print(msg, file=sys.stderr, flush=True)


def jax_candidates(args):
    """Interpreters that may have JAX, most specific first."""
    out = [args.jax_python, os.environ.get("NNBENCH_JAX_PYTHON"), args.python or python_for_peers(),
           os.path.join(ROOT, ".venv-jax", "bin", "python")]
    for d in os.environ.get("PATH", "").split(os.pathsep):
        out.append(os.path.join(d, "python3"))
    seen, ok = set(), []
    for p in out:
        if p and p not in seen and os.path.isfile(p) and os.access(p, os.X_OK):
            seen.add(p)
            ok.append(p)
    return ok


def find_jax(args):
    """(interpreter, jax version, has sklearn) of the first interpreter that imports
    jax, or (None, None, False)."""
    code = ("import json\nout = {}\nimport jax\nout['jax'] = jax.__version__\n"
            "try:\n    import sklearn\n    out['sklearn'] = sklearn.__version__\n"
            "except Exception:\n    out['sklearn'] = None\nprint(json.dumps(out))\n")
    for py in jax_candidates(args):
        try:
            p = subprocess.run([py, "-c", code], capture_output=True, text=True, timeout=120)
            if p.returncode == 0:
                got = json.loads(p.stdout.strip().splitlines()[-1])
                return py, got["jax"], got["sklearn"] is not None
        except Exception:
            continue
    return None, None, False


def python_for_peers():
    # Debian's interpreter has python3-numpy/-sklearn/-torch; a pyenv one may not.
    return "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


def cpu_info():
    model, flags, fam = None, set(), {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                k, _, v = line.partition(":")
                k = k.strip()
                if k == "model name" and model is None:
                    model = v.strip()
                elif k == "flags" and not flags:
                    flags = set(v.split())
                elif k in ("cpu family", "model") and k not in fam:
                    fam[k] = v.strip()
    except OSError:
        pass
    model = model or platform.processor() or "unknown CPU"
    if fam:  # virtual machines often hide the name ("Intel(R) Xeon(R) Processor")
        model += " (family %s model %s)" % (fam.get("cpu family", "?"), fam.get("model", "?"))
    return model, os.cpu_count() or 1, flags


def git_rev():
    try:
        rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return rev + ("+dirty" if dirty else "") if rev else "unknown"
    except Exception:
        return "unknown"


def last_json(text):
    """The JSON object that ends the output (nnbench --json - / the peers' --json)."""
    dec = json.JSONDecoder()
    starts = [i for i in range(len(text)) if text[i] == "{" and (i == 0 or text[i - 1] == "\n")]
    for i in reversed(starts):
        try:
            obj, _ = dec.raw_decode(text[i:])
            if isinstance(obj, dict):
                return obj
        except ValueError:
            continue
    return None


def run_json(cmd, env=None, timeout=600):
    """Run cmd; return (record or None, error string or None, wall seconds)."""
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout,
                           cwd=ROOT)
    except subprocess.TimeoutExpired:
        return None, "timed out after %d s" % timeout, time.perf_counter() - t0
    except OSError as e:
        return None, str(e), time.perf_counter() - t0
    wall = time.perf_counter() - t0
    rec = last_json(p.stdout)
    if p.returncode != 0 or rec is None:
        msg = (p.stderr.strip() or p.stdout.strip()).splitlines()
        msg = msg[-1] if msg else "no output"
        return None, "exit %d: %s" % (p.returncode, msg), wall
    return rec, None, wall


def fmt(x, spec):
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—" if x is None else str(x)
    return format(x, spec)


def fmt_rate(x):
    if x is None:
        return "—"
    return "{:,.0f}".format(x) if x >= 100 else "{:.1f}".format(x)


# ---------------------------------------------------------------- peers
PEER_PACKAGES = {"numpy": "python3-numpy", "torch": "python3-torch", "sklearn": "python3-sklearn"}
AVX512_CORES = {"skylakex", "cooperlake", "sapphirerapids"}


def scrubbed_env(extra=None, scrub_openblas=False):
    env = dict(os.environ)
    if scrub_openblas:
        for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
            env.pop(k, None)
    env.update(extra or {})
    return env


def probe_modules(py):
    """{module: version or None} for the peers' modules under `py`."""
    code = ("import importlib, json, sys\nout = {}\n"
            "for m in %r:\n"
            "    try:\n        out[m] = getattr(importlib.import_module(m), '__version__', '?')\n"
            "    except Exception:\n        out[m] = None\n"
            "print(json.dumps(out))\n" % (list(PEER_PACKAGES),))
    try:
        p = subprocess.run([py, "-c", code], capture_output=True, text=True, timeout=120,
                           env=scrubbed_env(scrub_openblas=True))
        return json.loads(p.stdout.strip().splitlines()[-1])
    except Exception:
        return {m: None for m in PEER_PACKAGES}


def probe_openblas(py, env):
    """The OpenBLAS core type numpy gets under env (via threadpoolctl), or None."""
    code = ("import numpy, threadpoolctl\n"
            "for i in threadpoolctl.threadpool_info():\n"
            "    if i.get('user_api') == 'blas':\n"
            "        print('%s|%s|%s' % (i.get('internal_api'), i.get('version'), "
            "i.get('architecture')))\n        break\n")
    try:
        p = subprocess.run([py, "-c", code], capture_output=True, text=True, timeout=60, env=env)
        parts = p.stdout.strip().split("|")
        return parts if len(parts) == 3 else None
    except Exception:
        return None


# ---------------------------------------------------------------- the runs
class Runner:
    def __init__(self, args):
        self.args = args
        self.py = args.python or python_for_peers()
        self.rows = []
        self.notes = []
        self.planned = []

    def nnbench_cmd(self, w, backend, threads):
        cmd = [self.args.nnbench, "--json", "-", "--quiet"]
        if w["kind"] == "tutorial":
            # the default run, exactly: `nnbench --json - --quiet` (+ backend/threads)
            if backend != "cpu":
                cmd += ["--backend", backend, "--no-fallback"]
            elif threads is not None:
                cmd += ["--threads", str(threads)]
            return cmd
        cmd += ["--backend", backend]
        if backend == "cpu":
            cmd += ["--threads", str(threads)]
        else:
            cmd += ["--no-fallback"]
        cmd += ["--dataset", "teacher", "--features", str(w["layers"][0]),
                "--samples", str(w["samples"]), "--classes", str(w["classes"]),
                "--layers", ",".join(map(str, w["layers"])), "--loss", w["loss"],
                "--activation", "relu", "--optimizer", w["optimizer"], "--lr", str(w["lr"]),
                "--batch", str(w["batch"]), "--epochs", str(w["epochs"])]
        return cmd

    def peer_cmd(self, w, script, threads, py=None):
        cmd = [py or self.py, os.path.join(HERE, script), "--json"]
        if w["kind"] == "tutorial":
            return cmd + (["--threads", str(threads)] if threads else [])
        n = train_rows(w["samples"])
        cmd += ["--layers", ",".join(map(str, w["layers"])), "--loss", w["loss"],
                "--optimizer", w["optimizer"], "--lr", str(w["lr"]), "--batch", str(w["batch"]),
                "--epochs", str(w["epochs"]), "--samples", str(n),
                "--test-samples", str(w["samples"] - n), "--threads", str(threads)]
        return cmd

    def measure(self, w, impl, threads, cmd, env=None):
        """Queue one row of workload w; run_planned() runs the queue."""
        self.planned.append((w, impl, threads, cmd, env))

    def run_planned(self):
        """Run the queued rows --repeat times round-robin (so that a burst of load
        elsewhere does not hit every try of one row) and keep each row's fastest."""
        plan, self.planned = self.planned, []
        results = [dict(best=None, err=None, walls=[]) for _ in plan]
        for rep in range(self.args.repeat):
            if self.args.repeat > 1:
                log("  -- try %d of %d" % (rep + 1, self.args.repeat))
            for (w, impl, threads, cmd, env), res in zip(plan, results):
                if res["err"]:
                    continue
                rec, e, wall = run_json(cmd, env=env, timeout=self.args.timeout)
                res["walls"].append(wall)
                if rec is None:
                    res["err"] = e
                elif res["best"] is None or (rec.get("train_seconds", 1e30)
                                             < res["best"].get("train_seconds", 1e30)):
                    res["best"] = rec
                self.progress(impl, threads, rec, e)
        if self.args.repeat > 1:
            log("  -- kept the fastest try of each row")
        for (w, impl, threads, cmd, env), res in zip(plan, results):
            row = self.make_row(w, impl, threads, cmd, res["best"], res["err"], res["walls"])
            if self.args.repeat > 1:
                self.progress(impl, row["threads"], res["best"], row["error"])

    def progress(self, impl, threads, rec, err):
        label = impl + (" t=%s" % threads if threads else "")
        if rec is None:
            log("  %-34s %s" % (label, err))
            return
        sps = rec.get("samples_per_second")
        log("  %-34s %8.3f s %12s samples/s %8s GFLOP/s  loss %s acc %s" % (
            label, rec.get("train_seconds") or float("nan"), fmt_rate(sps),
            fmt(rec.get("gflops"), ".2f"), fmt(rec.get("final_loss"), ".4f"),
            fmt(rec.get("test_accuracy"), ".4f")))

    def make_row(self, w, impl, threads, cmd, best, err, walls):
        row = dict(workload=w["name"], implementation=impl, threads=threads,
                   command=" ".join(cmd), wall_seconds=round(sum(walls), 3), error=err,
                   train_seconds=None, samples_per_second=None, gflops=None,
                   gflops_recomputed=None, final_loss=None, test_accuracy=None,
                   peak_rss_mb=None, blas=None, device=None, backend=None, record=best)
        if best is not None:
            for k in ("train_seconds", "samples_per_second", "gflops", "final_loss",
                      "test_accuracy", "peak_rss_mb", "blas", "device", "backend"):
                row[k] = best.get(k)
            if impl.startswith("nnbench cpu") and best.get("threads"):
                row["threads"] = best["threads"]  # what nnbench actually used
            # the GFLOP/s column from one formula for everyone
            if row["samples_per_second"]:
                row["gflops_recomputed"] = (flops_per_sample(w["layers"])
                                            * row["samples_per_second"] / 1e9)
            if impl.startswith("nnbench"):
                self.check_nnbench(w, best)
            if impl.startswith("nnbench") and best.get("backend") != best.get("requested_backend"):
                row["error"] = "ran on %s (fallback: %s)" % (best.get("backend"),
                                                             best.get("fallback_reason"))
            if row["final_loss"] is not None and not math.isfinite(row["final_loss"]):
                row["error"] = "loss is not finite"
        self.rows.append(row)
        if row["error"] and best is not None:
            log("  %-34s [%s]" % (impl, row["error"]))
        return row

    def check_nnbench(self, w, rec):
        """Cross-check nnbench's record against the workload and its own numbers."""
        def note(msg):
            msg = "%s: nnbench %s: %s" % (w["name"], rec.get("backend"), msg)
            if msg not in self.notes:
                self.notes.append(msg)
                log("  check: " + msg)
        n = rec.get("train_samples")
        if w["kind"] == "mlp" and n is not None and n != train_rows(w["samples"]):
            note("trained on %s rows, the peers on %d" % (n, train_rows(w["samples"])))
        secs, sps, gf = rec.get("train_seconds"), rec.get("samples_per_second"), rec.get("gflops")
        if secs and sps and n:
            expect = n * rec.get("epochs", w["epochs"]) / secs
            if abs(expect - sps) > 0.01 * expect:
                note("samples_per_second %.6g but train_samples*epochs/train_seconds = %.6g"
                     % (sps, expect))
        if sps and gf is not None:
            expect = flops_per_sample(w["layers"]) * sps / 1e9
            if abs(expect - gf) > 0.01 * expect:
                note("gflops %.6g but the flop formula gives %.6g" % (gf, expect))
        if rec.get("layers") and rec["layers"] != "-".join(map(str, w["layers"])):
            note("layers %s, expected %s" % (rec["layers"], "-".join(map(str, w["layers"]))))

    def run(self, workloads):
        a = self.args
        have_nnbench = os.path.isfile(a.nnbench) and os.access(a.nnbench, os.X_OK)
        if not have_nnbench:
            log("nnbench: not found at %s (build it with ./setup.sh build, or pass --nnbench "
                "PATH); its rows are skipped" % a.nnbench)
            self.notes.append("nnbench not found at %s: no nnbench rows" % a.nnbench)
        mods = probe_modules(self.py)
        for m, v in mods.items():
            if v is None:
                msg = "peer %s: not installed (%s) for %s" % (
                    {"torch": "pytorch"}.get(m, m), PEER_PACKAGES[m], self.py)
                log(msg)
                self.notes.append(msg)
        have_np = mods.get("numpy") is not None
        have_torch = mods.get("torch") is not None
        have_tut = have_np and mods.get("sklearn") is not None
        jax_py, jax_version, jax_sklearn = find_jax(a) if a.jax else (None, None, False)
        if a.jax and not jax_py:
            msg = ("peer jax: not installed (python3 -m venv .venv-jax && .venv-jax/bin/pip "
                   "install jax scikit-learn; or --jax-python PATH)")
            log(msg)
            self.notes.append(msg)
        elif jax_py:
            self.notes.append("peer jax: JAX %s (XLA CPU) under %s" % (jax_version, jax_py))
            if not jax_sklearn:
                msg = "peer jax tutorial: scikit-learn is missing under %s" % jax_py
                log(msg)
                self.notes.append(msg)

        # OpenBLAS core: the peers' BLAS (numpy, and Debian's torch) is OpenBLAS;
        # an OpenBLAS older than the CPU falls back to generic kernels.
        np_env = scrubbed_env(scrub_openblas=True)
        stock = probe_openblas(self.py, np_env) if have_np else None
        if have_np and not stock:
            msg = ("peers' BLAS: numpy does not run on OpenBLAS under %s (Debian's reference "
                   "BLAS is several times slower and would flatter nnbench): install "
                   "libopenblas0-pthread" % self.py)
            log(msg)
            self.notes.append(msg)
        tuned_core = None
        _, _, flags = cpu_info()
        if stock:
            self.notes.append("peers' BLAS (numpy with OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset): "
                              "%s %s, core %s" % tuple(stock))
            if a.openblas_coretype == "auto":
                if "avx512f" in flags and stock[2].lower() not in AVX512_CORES:
                    tuned_core = "SkylakeX"
            elif a.openblas_coretype != "none":
                tuned_core = a.openblas_coretype
            if tuned_core:
                self.notes.append(
                    "OpenBLAS picks the '%s' kernels on this CPU%s; the rows marked "
                    "+%s rerun the peer with OPENBLAS_CORETYPE=%s (its AVX-512 kernels), the "
                    "fairest peer" % (stock[2], " (which has AVX-512)" if "avx512f" in flags
                                      else "", tuned_core, tuned_core))
        if os.environ.get("OPENBLAS_CORETYPE") or os.environ.get("OPENBLAS_L2_SIZE"):
            self.notes.append("inherited OPENBLAS_CORETYPE=%s OPENBLAS_L2_SIZE=%s: kept for "
                              "pytorch, unset for numpy" % (os.environ.get("OPENBLAS_CORETYPE"),
                                                            os.environ.get("OPENBLAS_L2_SIZE")))

        ncpu = os.cpu_count() or 1
        thread_counts = sorted({1, min(2, ncpu)}, reverse=True)
        quick = a.quick
        for w in workloads:
            log("== %s: %s" % (w["name"], w["what"]))
            if w["kind"] == "tutorial":
                if have_nnbench:
                    self.measure(w, "nnbench cpu (default run)", ncpu,
                                 self.nnbench_cmd(w, "cpu", None))
                    if not quick:
                        self.measure(w, "nnbench cpu", 1, self.nnbench_cmd(w, "cpu", 1))
                    if a.opencl and not quick:
                        self.measure(w, "nnbench opencl", None,
                                     self.nnbench_cmd(w, "opencl", None))
                if have_tut:
                    self.measure(w, "numpy tutorial", None,
                                 self.peer_cmd(w, "tutorial_numpy.py", None), env=np_env)
                if jax_py and jax_sklearn:
                    for t in ([None] if quick else [None, 1]):
                        self.measure(w, "jax tutorial (whole loop jit)", t,
                                     self.peer_cmd(w, "jax_tutorial.py", t, py=jax_py))
                self.run_planned()
                self.rows_done(w)
                continue
            if have_nnbench:
                for t in thread_counts:
                    self.measure(w, "nnbench cpu", t, self.nnbench_cmd(w, "cpu", t))
                if a.opencl and not quick:
                    self.measure(w, "nnbench opencl", None, self.nnbench_cmd(w, "opencl", None))
            if have_torch:
                variants = [(None, "pytorch")]
                if tuned_core and not quick:
                    variants.append((tuned_core, "pytorch +%s" % tuned_core))
                for core, label in variants:
                    for t in ([1] if quick else sorted(thread_counts)):
                        extra = {"OMP_NUM_THREADS": str(t), "OPENBLAS_NUM_THREADS": str(t)}
                        if core:
                            extra["OPENBLAS_CORETYPE"] = core
                        self.measure(w, label, t, self.peer_cmd(w, "torch_mlp.py", t),
                                     env=scrubbed_env(extra))
            if have_np:
                t = max(thread_counts)
                variants = [(None, "numpy")]
                if tuned_core and not quick:
                    variants.append((tuned_core, "numpy +%s" % tuned_core))
                for core, label in variants:
                    extra = {"OPENBLAS_NUM_THREADS": str(t)}
                    if core:
                        extra["OPENBLAS_CORETYPE"] = core
                    self.measure(w, label, t, self.peer_cmd(w, "numpy_mlp.py", t),
                                 env=scrubbed_env(extra, scrub_openblas=True))
            if jax_py:
                for t in ([1] if quick else sorted(thread_counts)):
                    self.measure(w, "jax", t, self.peer_cmd(w, "jax_mlp.py", t, py=jax_py))
            self.run_planned()
            self.rows_done(w)

    def rows_done(self, w):
        """Fill the ratio column of workload w: nnbench's samples/s over each row's."""
        rows = [r for r in self.rows if r["workload"] == w["name"]]
        ref = self.reference(rows)
        for r in rows:
            r["reference"] = ref["implementation"] + (" t=%s" % ref["threads"] if ref else "") \
                if ref else None
            r["nnbench_ratio"] = (ref["samples_per_second"] / r["samples_per_second"]
                                  if ref and r["samples_per_second"] else None)

    @staticmethod
    def reference(rows):
        """The nnbench row the ratios refer to: the default run for the tutorial,
        else the fastest nnbench cpu row."""
        ok = [r for r in rows if r["implementation"].startswith("nnbench cpu")
              and r["samples_per_second"] and not r["error"]]
        default = [r for r in ok if "default" in r["implementation"]]
        if default:
            return default[0]
        return max(ok, key=lambda r: r["samples_per_second"]) if ok else None


# ---------------------------------------------------------------- report
# The targets of the performance issues: (workload, peer prefix, minimum ratio).
TUTORIAL_TARGETS = [("numpy tutorial", 50.0), ("jax tutorial", 5.0)]
MLP_TARGETS = {"w512-bce-b128": [("pytorch", 1.3), ("jax", 1.15)]}
MLP_DEFAULT_TARGETS = [("pytorch", 1.2)]


def best_row(rows, prefix):
    ok = [r for r in rows if r["implementation"].startswith(prefix)
          and r["samples_per_second"] and not r["error"]]
    return max(ok, key=lambda r: r["samples_per_second"]) if ok else None


def targets(rows, workloads):
    """(text, met or None) for each target: nnbench's reference row against the best row
    of each peer (every thread count and OpenBLAS variant)."""
    out = []
    by = {}
    for r in rows:
        by.setdefault(r["workload"], []).append(r)
    for w in workloads:
        rs = by.get(w["name"], [])
        ref = Runner.reference(rs)
        if not ref:
            continue
        goals = (TUTORIAL_TARGETS if w["kind"] == "tutorial"
                 else MLP_TARGETS.get(w["name"], MLP_DEFAULT_TARGETS))
        for prefix, need in goals:
            peer = best_row(rs, prefix)
            if not peer:
                continue
            ratio = ref["samples_per_second"] / peer["samples_per_second"]
            out.append(("%s: nnbench %s t=%s vs %s t=%s: %.2fx (%.4g s vs %.4g s; target >= %gx)"
                        % (w["name"], "default run" if w["kind"] == "tutorial" else "cpu",
                           ref["threads"], peer["implementation"], peer["threads"], ratio,
                           ref["train_seconds"], peer["train_seconds"], need), ratio >= need))
    return out


def markdown(rows, workloads, header, notes):
    lines = header + [""]
    lines.append("| workload | implementation | threads | time (s) | samples/s | GFLOP/s "
                 "| nnbench × | final loss | accuracy |")
    lines.append("|---|---|--:|--:|--:|--:|--:|--:|--:|")
    for r in rows:
        if r["error"] and r["samples_per_second"] is None:
            lines.append("| %s | %s | %s | — | — | — | — | %s | |" % (
                r["workload"], r["implementation"], r["threads"] or "", r["error"][:80]))
            continue
        loss = fmt(r["final_loss"], ".4f")
        if r["error"]:
            loss += " (%s)" % r["error"]
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r["workload"], r["implementation"], r["threads"] or "",
            fmt(r["train_seconds"], ".4f" if (r["train_seconds"] or 0) < 1 else ".2f"),
            fmt_rate(r["samples_per_second"]), fmt(r["gflops_recomputed"], ".2f"),
            fmt(r["nnbench_ratio"], ".2f"), loss, fmt(r["test_accuracy"], ".4f")))
    lines.append("")
    lines.append("nnbench × = samples/s of the reference nnbench row (the default run for the "
                 "tutorial, else the faster nnbench cpu row) ÷ this row's: above 1, nnbench is "
                 "faster. Times cover the training loop only; GFLOP/s = nnbench's flop count "
                 "(forward + dW + dX except the first layer, 2·in·out each) × samples/s for "
                 "every row. nnbench trains on its `teacher` set, the peers on random data of "
                 "the same shape labelled by a random softsign network, so losses are alike, not "
                 "equal.")
    t = targets(rows, workloads)
    if t:
        lines.append("")
        lines.append("Targets:")
        for text, met in t:
            lines.append("- %s: %s" % ("MET" if met else "NOT MET", text))
    if notes:
        lines.append("")
        lines.append("Notes:")
        for n in notes:
            lines.append("- " + n)
    return "\n".join(lines) + "\n"


CSV_FIELDS = ["workload", "implementation", "threads", "train_seconds", "samples_per_second",
              "gflops", "gflops_recomputed", "nnbench_ratio", "reference", "final_loss",
              "test_accuracy", "peak_rss_mb", "backend", "device", "blas", "wall_seconds",
              "error", "command"]


def main(argv):
    p = argparse.ArgumentParser(
        prog="bench/compare",
        description="Run nnbench and its peers (NumPy, PyTorch, JAX) on the same workloads; print a "
                    "markdown table and write CSV/JSON/markdown.")
    p.add_argument("--quick", action="store_true",
                   help="reduced set for smoke tests (< 1 min): %s, smaller" % ", ".join(QUICK))
    p.add_argument("--workload", action="append", metavar="NAME",
                   help="run only this workload (repeatable); see --list")
    p.add_argument("--list", action="store_true", help="list the workloads and exit")
    p.add_argument("--out", default=os.path.join(ROOT, "bench-results"),
                   help="folder for compare.csv/.json/.md (default bench-results/)")
    p.add_argument("--nnbench", default=os.path.join(ROOT, "build", "nnbench"),
                   help="the nnbench binary (default ./build/nnbench)")
    p.add_argument("--repeat", type=int, default=1,
                   help="runs per row, the fastest kept (default 1)")
    p.add_argument("--no-opencl", dest="opencl", action="store_false",
                   help="skip the nnbench OpenCL rows")
    p.add_argument("--openblas-coretype", default="auto", metavar="NAME|auto|none",
                   help="extra peer rows with OPENBLAS_CORETYPE=NAME; auto: SkylakeX when the "
                        "CPU has AVX-512 but OpenBLAS picks other kernels (default auto)")
    p.add_argument("--timeout", type=int, default=600, help="seconds per run (default 600)")
    p.add_argument("--python", default=None, metavar="PATH",
                   help="interpreter for the peers (default /usr/bin/python3 when present)")
    p.add_argument("--jax-python", default=None, metavar="PATH",
                   help="interpreter with JAX (default: $NNBENCH_JAX_PYTHON, the peers' "
                        "interpreter, .venv-jax/bin/python, python3 on PATH: the first with jax)")
    p.add_argument("--no-jax", dest="jax", action="store_false", help="skip the JAX rows")
    a = p.parse_args(argv)
    a.repeat = max(1, a.repeat)
    a.nnbench = os.path.abspath(a.nnbench)

    if a.list:
        for w in WORKLOADS:
            print("%-22s %s" % (w["name"], w["what"]))
        return 0
    names = [w["name"] for w in WORKLOADS]
    if a.workload:
        unknown = [n for n in a.workload if n not in names]
        if unknown:
            print("bench/compare: unknown workload %s (known: %s)" % (
                ", ".join(unknown), ", ".join(names)), file=sys.stderr)
            return 2
        workloads = [w for w in WORKLOADS if w["name"] in a.workload]
    else:
        workloads = [w for w in WORKLOADS if not a.quick or w["name"] in QUICK]
    if a.quick:
        workloads = [describe(dict(w, **QUICK_SIZES.get(w["name"], {}))) for w in workloads]

    model, ncpu, flags = cpu_info()
    simd = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    date = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    try:
        load = "%.2f %.2f %.2f" % os.getloadavg()
    except OSError:
        load = "?"
    header = ["## nnbench compare — %s" % date, "",
              "Machine: %s, %d cores (%s), %s %s; load average at start %s" % (
                  model, ncpu, simd, platform.system(), platform.release(), load),
              "nnbench: %s (git %s); peers: %s" % (os.path.relpath(a.nnbench, ROOT)
                                                   if a.nnbench.startswith(ROOT) else a.nnbench,
                                                   git_rev(), a.python or python_for_peers())]
    log("\n".join(header))

    r = Runner(a)
    t0 = time.time()
    r.run(workloads)
    try:
        load_end = "%.2f %.2f %.2f" % os.getloadavg()
    except OSError:
        load_end = "?"
    r.notes.append("whole comparison: %.0f s; load average at the end %s (a shared machine: "
                   "compare rows of one run only)" % (time.time() - t0, load_end))
    for w in workloads:
        r.notes.append("%s: %s" % (w["name"], w["what"]))
    md = markdown(r.rows, workloads, header, r.notes)
    print(md)

    try:
        os.makedirs(a.out, exist_ok=True)
        with open(os.path.join(a.out, "compare.md"), "w") as f:
            f.write(md)
        with open(os.path.join(a.out, "compare.csv"), "w", newline="") as f:
            wr = csv.DictWriter(f, fieldnames=CSV_FIELDS, extrasaction="ignore")
            wr.writeheader()
            for row in r.rows:
                wr.writerow(row)
        with open(os.path.join(a.out, "compare.json"), "w") as f:
            json.dump({"date": date, "machine": {"cpu": model, "cores": ncpu, "simd": simd,
                                                 "load_start": load, "load_end": load_end},
                       "nnbench": a.nnbench, "git": git_rev(),
                       "python": a.python or python_for_peers(),
                       "workloads": workloads, "rows": r.rows,
                       "targets": [{"text": t, "met": m} for t, m in targets(r.rows, workloads)],
                       "notes": r.notes}, f, indent=1)
        log("wrote %s/compare.{md,csv,json}" % a.out)
    except OSError as e:
        log("bench/compare: cannot write results to %s: %s" % (a.out, e))
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
