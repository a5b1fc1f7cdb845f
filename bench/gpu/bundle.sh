#!/usr/bin/env bash
# bench/gpu/bundle.sh — pack what bench/gpu/check.sh runs into one folder that
# can be copied to a GPU machine which has a driver but none of our build
# dependencies (no OpenCL loader, Criterion, OpenMP runtime or MPI):
#
#   bench/gpu/bundle.sh [BUILD_DIR] [BUNDLE_DIR]     (defaults: build, .gpu)
#
# BUNDLE_DIR gets bin/ (nnbench and the test programs that touch OpenCL or
# split work by thread), lib/ (every shared library they need except glibc's)
# and check.sh. The test programs hold the source and build paths they were
# built with (NN_SOURCE_DIR, NNBENCH_EXE); check.sh recreates them there.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build=${1:-build}
out=${2:-.gpu}
tests="test_check test_cli test_cli_files test_cli_tune test_mutation test_mutation_matmul
       test_opencl_fallback test_opencl_fused test_opencl_ops test_opencl_tune test_parity
       test_parity_bound test_trainer test_train test_row_step test_cpu_team test_fused test_gemm"
mkdir -p "$out/bin" "$out/lib"
for b in nnbench core_pingpong $tests; do
    [ -x "$build/$b" ] || { echo "bundle.sh: $build/$b is missing (build first)" >&2; exit 1; }
    cp "$build/$b" "$out/bin/"
done
missing=$(for b in "$out"/bin/*; do ldd "$b"; done | grep "not found" | sort -u || true)
[ -z "$missing" ] || { echo "bundle.sh: libraries not found here: $missing" >&2; exit 1; }
# every library but glibc's own (the target machine's glibc is newer or equal)
for b in "$out"/bin/*; do ldd "$b" | awk '$3 ~ /^\// {print $3}'; done | sort -u |
    grep -v -E '/(libc|libm|libmvec|libpthread|libdl|librt|libresolv|libutil|libanl|libnsl|ld-linux[^/]*)\.so' |
    while read -r lib; do cp -L "$lib" "$out/lib/"; done
cp "$here/check.sh" "$out/check.sh"
cp "$here/../perf_small.sh" "$here/../scaling_probe.sh" "$out/"
source_dir=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$build/CMakeCache.txt")
build_dir=$(sed -n 's/^nnbench_BINARY_DIR:STATIC=//p' "$build/CMakeCache.txt")
[ -n "$source_dir" ] && [ -n "$build_dir" ] ||
    { echo "bundle.sh: $build/CMakeCache.txt names no source or build folder" >&2; exit 1; }
# the paths compiled into the test programs, for check.sh to recreate (shell-quoted)
printf 'source=%q\nbuild=%q\n' "$source_dir" "$build_dir" > "$out/paths"
echo "bundle.sh: $(du -sh "$out" | cut -f1) in $out; run there: OUT=<folder> bash $out/check.sh"
