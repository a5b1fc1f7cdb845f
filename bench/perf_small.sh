#!/usr/bin/env bash
# perf_small.sh — interleaved A/B timing of nnbench command lines on a shared machine.
#
#   bench/perf_small.sh [-n RUNS] [-m METRIC] LABEL=COMMAND [LABEL=COMMAND ...]
#
# Runs the commands round-robin (A B C A B C ...) RUNS times (default 7), so that a
# burst of load from other processes hits every variant, not one. Each COMMAND is
# an nnbench command line whose --json record goes to stdout (add `--json - --quiet`);
# METRIC is the record's field to report (default samples_per_second; also
# train_seconds). Prints, per variant: median, min, max, max/min spread, and the
# ratio of its median to the first variant's; the load average before and after.
#
# Example (old binary vs new, teacher 16-64-64-1):
#   W="--dataset teacher --features 16 --layers 16,64,64,1 --samples 1.25e6 --batch 256 --epochs 1 --json - --quiet"
#   bench/perf_small.sh -n 7 "base=/tmp/perf-base/nnbench $W" "new=build/nnbench $W"
set -euo pipefail

runs=7
metric=samples_per_second
while getopts "n:m:h" opt; do
    case $opt in
    n) runs=$OPTARG ;;
    m) metric=$OPTARG ;;
    *) sed -n '2,16p' "$0"; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
if [ $# -lt 1 ]; then
    echo "perf_small.sh: give at least one LABEL=COMMAND (see -h)" >&2
    exit 2
fi
case $runs in '' | *[!0-9]*) echo "perf_small.sh: -n needs a positive integer" >&2; exit 2 ;; esac

labels=()
cmds=()
for v in "$@"; do
    case $v in *=*) ;; *) echo "perf_small.sh: '$v' is not LABEL=COMMAND" >&2; exit 2 ;; esac
    labels+=("${v%%=*}")
    cmds+=("${v#*=}")
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for ((r = 0; r < runs; r++)); do
    for i in "${!cmds[@]}"; do
        out=$(eval "${cmds[$i]}" 2>/dev/null) || { echo "perf_small.sh: '${labels[$i]}' failed" >&2; exit 1; }
        val=$(printf '%s\n' "$out" | sed -n "s/.*\"$metric\": *\([-0-9.eE+]*\).*/\1/p" | head -1)
        if [ -z "$val" ]; then
            echo "perf_small.sh: no \"$metric\" in the output of '${labels[$i]}'" >&2
            exit 1
        fi
        echo "$val" >>"$tmp/$i"
    done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

printf 'metric %s, %d interleaved runs each; load average before %s, after %s\n' \
    "$metric" "$runs" "$load_before" "$load_after"
printf '%-14s %14s %14s %14s %8s %8s\n' variant median min max max/min vs_first
first_median=
for i in "${!cmds[@]}"; do
    read -r med mn mx < <(sort -g "$tmp/$i" | awk '{v[NR] = $1} END {
        m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%.6g %.6g %.6g\n", m, v[1], v[NR] }')
    [ -z "$first_median" ] && first_median=$med
    awk -v l="${labels[$i]}" -v md="$med" -v mn="$mn" -v mx="$mx" -v f="$first_median" \
        'BEGIN { printf "%-14s %14.6g %14.6g %14.6g %8.3f %8.3f\n", l, md, mn, mx, mx / mn, md / f }'
done
