#!/bin/sh
# run.sh HARNESS SEED_DIR WORK_DIR SECONDS [DICT] — one libFuzzer campaign for
# ctest: a fresh working corpus seeded from SEED_DIR (which is only read),
# SECONDS of fuzzing, exit status non-zero on any finding (crash, sanitizer
# report, leak, timeout, out-of-memory or an allocation above the limit: the
# inputs are at most 16 KiB, so no reader may ask for 64 MiB). The input
# that failed is kept in WORK_DIR/artifacts/.
set -eu
exe=$1 seeds=$2 work=$3 secs=$4 dict=${5:-}
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
set -- -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=64 \
       -max_len=16384 -print_final_stats=1 -error_exitcode=1 -timeout_exitcode=1 \
       -artifact_prefix="$work/artifacts/"
[ -n "$dict" ] && set -- "$@" -dict="$dict"
echo "fuzzing $(basename "$exe") for ${secs}s (seeds: $seeds)"
status=0
"$exe" "$@" "$work/corpus" "$seeds" > "$work/log" 2>&1 || status=$?
grep -E '^(#[0-9]+ +DONE|stat::|Done [0-9]+ runs|SUMMARY|==[0-9]+==ERROR|fuzz invariant)' "$work/log" || true
if [ "$status" -ne 0 ]; then
    tail -n 60 "$work/log"
    echo "FINDING: $(basename "$exe") exited $status; inputs in $work/artifacts/"
    exit 1
fi
echo "no findings"
