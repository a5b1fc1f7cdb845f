#!/usr/bin/env bash
# check.sh — the OpenCL backend on a GPU machine, from a bundle made by
# bench/gpu/bundle.sh (this file's folder), in one run with a time limit:
#
#   OUT=<folder> [SOURCE=<repository>] [DEADLINE=seconds] bash <bundle>/check.sh
#
# SOURCE (default: the bundle's parent folder) must hold the repository's
# kernels/ (the tuner's tests read them). With no OpenCL loader on the machine
# (an NVIDIA driver alone), the bundle's loader is pointed at the driver's
# libnvidia-opencl.so.1 (shared/GUIDE.md); else the machine's ICDs are used.
# Writes into OUT: log.txt (environment, devices, test summaries, each step with
# its time), tests.txt, tune.json, gemm_tuned.json, gemm_untuned.json,
# train.jsonl (one labelled nnbench JSON record a line). Every step has its own
# limit and the run stops starting steps DEADLINE seconds (default 330) after it
# began: what ran is reported.
set -u
START=$(date +%s); DEADLINE=${DEADLINE:-330}
G=$(cd "$(dirname "$0")" && pwd)
SOURCE=${SOURCE:-$(cd "$G/.." && pwd)}
: "${OUT:?set OUT to the folder for the results}"
mkdir -p "$OUT"
export LD_LIBRARY_PATH=$G/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} XDG_CACHE_HOME=/tmp/nnbench-gpu-cache
icd=$(ls /usr/local/nvidia/lib64/libnvidia-opencl.so.1 /usr/lib/x86_64-linux-gnu/libnvidia-opencl.so.1 \
      /usr/lib64/libnvidia-opencl.so.1 2>/dev/null | head -1)
if [ -n "$icd" ] && ! grep -qs nvidia /etc/OpenCL/vendors/*.icd; then
    mkdir -p /tmp/nnbench-vendors; echo "$icd" > /tmp/nnbench-vendors/nvidia.icd
    export OCL_ICD_VENDORS=/tmp/nnbench-vendors
fi
# the paths compiled into the test programs: the source tree and build/nnbench
. "$G/paths"
link() { [ -e "$2" ] || { mkdir -p "$(dirname "$2")" && ln -sfn "$1" "$2"; }; }
link "$SOURCE" "$source"
# (the bundle's nnbench, also where a build folder exists: the tests must run this one)
mkdir -p "$build" && { cmp -s "$G/bin/nnbench" "$build/nnbench" || cp "$G/bin/nnbench" "$build/nnbench"; }
NB=$G/bin/nnbench
L=$OUT/log.txt
left() { echo $((DEADLINE - ($(date +%s) - START))); }
step() { # step LIMIT TITLE CMD...: CMD with min(LIMIT, time left) seconds, logged
    local lim=$1 title=$2; shift 2
    local l; l=$(left); [ "$l" -lt "$lim" ] && lim=$l
    if [ "$lim" -le 5 ]; then echo "### $title: skipped (deadline)" >> "$L"; return; fi
    echo "### $title  (limit ${lim}s)  \$ $*" >> "$L"
    local t0; t0=$(date +%s.%N)
    timeout "$lim" "$@" >> "$L" 2>&1; local rc=$?
    awk -v rc="$rc" -v a="$t0" -v b="$(date +%s.%N)" \
        'BEGIN { printf "### rc=%d  %.1f s\n\n", rc, b - a }' >> "$L"
}
train() { # train LABEL ARGS...: one labelled JSON record a line in train.jsonl, with the
          # exit status (the record null unless it is 0)
    local label=$1; shift
    local lim; lim=$(left); [ "$lim" -gt 60 ] && lim=60
    if [ "$lim" -le 5 ]; then
        printf '{"label": "%s", "status": null, "record": null}\n' "$label" >> "$OUT/train.jsonl"
        return
    fi
    local rec rc; rec=$(timeout "$lim" "$NB" --json - --quiet "$@" 2>>"$L"); rc=$?
    [ "$rc" -eq 0 ] && [ -n "$rec" ] || rec=null
    printf '{"label": "%s", "status": %d, "record": %s}\n' "$label" "$rc" "$(echo "$rec" | tr -d '\n')" \
        >> "$OUT/train.jsonl"
}

{ echo "icd: ${icd:-none, the loader installed there}"; nvidia-smi -L; echo "nproc $(nproc)"; } >> "$L" 2>&1
step 30 "devices" "$NB" devices

# the test programs side by side (each on 2 Criterion workers), in a scratch folder
rm -rf /tmp/nnbench-gpu-tests; mkdir -p /tmp/nnbench-gpu-tests
for t in "$G"/bin/test_*; do
    n=$(basename "$t")
    ( cd /tmp/nnbench-gpu-tests && export XDG_CACHE_HOME=/tmp/nnbench-gpu-testcache &&
      t0=$(date +%s); timeout 170 "$t" --jobs 2 > "$n.txt" 2>&1
      echo "rc=$? $(( $(date +%s) - t0 )) s" >> "$n.txt" ) &
done
wait
for f in /tmp/nnbench-gpu-tests/test_*.txt; do echo "=== $(basename "$f" .txt)"; cat "$f"; done \
    > "$OUT/tests.txt"
grep -H "Synthesis\|^rc=" /tmp/nnbench-gpu-tests/test_*.txt | sed 's|.*/||' >> "$L"; echo >> "$L"

step 30 "the tutorial on the GPU" "$NB" --backend opencl --no-fallback --profile
step 40 "check: tutorial" "$NB" check
step 60 "check: 256-1024-1024-10 softmax Adam b256" "$NB" check --dataset teacher --features 256 \
    --classes 10 --layers 256,1024,1024,10 --optimizer adam --batch 256 --samples 20000 --epochs 1
step 60 "check: 16-64-64-1 momentum b64" "$NB" check --dataset teacher --features 16 \
    --layers 16,64,64,1 --optimizer momentum --batch 64 --samples 20000 --epochs 2
step 150 "tune --quick" "$NB" tune --quick --json "$OUT/tune.json"

SH="--shape 1024x1024x1024 --shape 4096x4096x4096 --shape 512x2048x2048 --shape 2048x2048x512:tn
    --shape 512x2048x2048:nt --shape 256x1024x1024 --shape 512x512x512"
step 40 "gemm, tuned (and the CPU)" "$NB" gemm --backend cpu,opencl $SH --json "$OUT/gemm_tuned.json"
XDG_CACHE_HOME=/tmp/nnbench-gpu-nocache step 40 "gemm, defaults" "$NB" gemm --backend opencl $SH \
    --json "$OUT/gemm_untuned.json"
W1="--dataset teacher --features 256 --layers 256,2048,2048,1 --batch 512 --samples 62500 --epochs 1"
W2="--dataset teacher --features 256 --layers 256,1024,1024,10 --classes 10 --batch 256 --samples 62500 --epochs 1 --optimizer adam"
W3="--dataset teacher --features 1024 --layers 1024,4096,4096,1 --batch 1024 --samples 62500 --epochs 1"
W4="--dataset teacher --features 16 --layers 16,64,64,1 --batch 256 --samples 250000 --epochs 1"
for w in W1 W2 W3 W4; do
    [ "$(left)" -gt 20 ] || break
    train "$w opencl tuned" --backend opencl --no-fallback ${!w}
    XDG_CACHE_HOME=/tmp/nnbench-gpu-nocache train "$w opencl defaults" --backend opencl --no-fallback ${!w}
    train "$w cpu all cores" --backend cpu ${!w}
done
echo "total $(( $(date +%s) - START )) s" >> "$L"
