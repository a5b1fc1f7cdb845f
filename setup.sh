#!/usr/bin/env bash
# setup.sh — one step from a fresh Debian 12 machine to a working nnbench:
# installs the missing system packages, builds (Release), then
#   ./setup.sh         runs the default experiment (the tutorial's)
#   ./setup.sh test    runs the whole test suite
#   ./setup.sh build   only builds
set -euo pipefail
cd "$(dirname "$0")"
mode=${1:-run}
case "$mode" in run|test|build) ;; *) echo "usage: ./setup.sh [run|test|build]" >&2; exit 2 ;; esac

packages=(build-essential cmake pkg-config libcriterion-dev ocl-icd-opencl-dev opencl-headers
          pocl-opencl-icd clinfo libopenmpi-dev openmpi-bin)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup.sh: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DNN_WERROR=ON >/dev/null
cmake --build build -j"$(nproc)"

case "$mode" in
  run) ./build/nnbench ;;
  test) ctest --test-dir build --output-on-failure ;;
  build) ;;
esac
