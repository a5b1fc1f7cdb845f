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
          pocl-opencl-icd clinfo libopenmpi-dev openmpi-bin
          clang libclang-rt-14-dev)   # libFuzzer + sanitizers for the fuzz tests (tests/fuzz)
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

# The PyTorch interop test (test_io_torch) needs the safetensors package next to
# python3-torch; it is small (about 2 s with pip) and goes into build/pydeps.
# Without torch, or without network, that test reports itself skipped.
if [ "$mode" = test ] && /usr/bin/python3 -c "import torch" 2>/dev/null &&
   ! /usr/bin/python3 -c "import safetensors" 2>/dev/null && [ ! -d build/pydeps/safetensors ]; then
  /usr/bin/python3 -m pip install --quiet --disable-pip-version-check --timeout 20 --retries 1 \
    --target build/pydeps \
    safetensors >/dev/null 2>&1 || echo "setup.sh: pip could not install safetensors" >&2
fi

case "$mode" in
  run) ./build/nnbench ;;
  test) ctest --test-dir build --output-on-failure ;;
  build) ;;
esac
