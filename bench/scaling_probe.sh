#!/usr/bin/env bash
# scaling_probe.sh — what a second CPU thread can gain on this machine, and what it does gain.
#
#   bench/scaling_probe.sh [-n RUNS] [-b BUILD_DIR] [-- NNBENCH TRAINING OPTIONS...]
#
# Three measurements, for a small network whose training step takes microseconds
# (default: teacher 16-64-64-1, batch 256, 10^6 training rows, one epoch):
#   1. the cache-line round trip between CPUs 0 and 1 (BUILD_DIR/core_pingpong):
#      every job of the thread team pays one, every line one thread wrote and the
#      other reads about half of one;
#   2. co-running: RUNS rounds of one 1-thread run alone, then two 1-thread runs at
#      once (separate processes, nothing shared): how fast each goes next to the
#      other, as a share of one alone. Twice that share is the most two threads
#      of one run could reach, before they exchange a byte;
#   3. bench/perf_small.sh: 1 thread, 2 threads and the default, interleaved.
# BUILD_DIR (default: build) holds nnbench and core_pingpong.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
runs=5
build=build
while getopts "n:b:h" opt; do
    case $opt in
    n) runs=$OPTARG ;;
    b) build=$OPTARG ;;
    *) sed -n '2,16p' "$0"; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
case $runs in '' | *[!0-9]* | 0) echo "scaling_probe.sh: -n needs a positive integer" >&2; exit 2 ;; esac
nb=$build/nnbench
[ -x "$nb" ] || { echo "scaling_probe.sh: $nb is missing (build first)" >&2; exit 1; }
if [ $# -eq 0 ]; then
    set -- --dataset teacher --features 16 --layers 16,64,64,1 --samples 1.25e6 --batch 256 --epochs 1
fi
work="$*"

echo "== 1. cache-line round trip"
if [ -x "$build/core_pingpong" ]; then
    "$build/core_pingpong" 0 1 || echo "(core_pingpong failed)"
else
    echo "($build/core_pingpong is missing: cmake --build $build --target core_pingpong)"
fi

echo "== 2. co-running: one 1-thread run alone, then two at once ($runs rounds): $work"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rate() { sed -n 's/.*"samples_per_second": *\([-0-9.eE+]*\).*/\1/p' "$1" | head -1; }
one() { # one NAME: a 1-thread run, its record in $tmp/NAME; a failure ends the probe
    "$nb" "$@" --threads 1 --json - --quiet >"$tmp/$name" 2>"$tmp/$name.err" || {
        echo "scaling_probe.sh: nnbench failed: $(tail -1 "$tmp/$name.err")" >&2
        return 1
    }
}
for ((r = 0; r < runs; r++)); do
    name=a one "$@" || exit 1
    rate "$tmp/a" >>"$tmp/alone"
    name=p1 one "$@" & pid=$!
    name=p2 one "$@" || exit 1
    wait "$pid" || exit 1
    { rate "$tmp/p1"; rate "$tmp/p2"; } >>"$tmp/paired"
done
median() { sort -g "$1" | awk '{v[NR] = $1} END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
alone=$(median "$tmp/alone")
paired=$(median "$tmp/paired")
[ -n "$alone" ] && [ -n "$paired" ] || { echo "scaling_probe.sh: a run gave no samples_per_second" >&2; exit 1; }
awk -v a="$alone" -v p="$paired" 'BEGIN {
    printf "alone %.4g samples/s, each of two at once %.4g (median): %.3f of one alone; two threads could reach %.2fx at most\n",
        a, p, p / a, 2 * p / a }'

echo "== 3. one run on 1 thread, 2 threads and the default ($runs interleaved runs)"
"$here/perf_small.sh" -n "$runs" "t1=$nb $work --threads 1 --json - --quiet" \
    "t2=$nb $work --threads 2 --json - --quiet" "default=$nb $work --json - --quiet"
