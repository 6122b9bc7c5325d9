#!/usr/bin/env bash
# Installs the Debian packages srs needs, only those missing. make runs it
# itself, before it looks for nvcc or mpicc (see the Makefile's top).
#   scripts/install-deps.sh          build and test: gcc, make, jansson, OpenMPI, OpenBLAS (value
#                                    head), python3 + NumPy (the Python binding test, the
#                                    evaluation cross-check), python3-venv (make test-python's
#                                    fresh virtual environment), inih (eval configs), gnuplot (plots),
#                                    pkgconf (the README's link recipe), SIMDe (the CPU
#                                    backend's vector code below AVX-512)
#   scripts/install-deps.sh --bench  also SciPy for the benchmark peers
#   scripts/install-deps.sh --fresh  also debootstrap, for make test-fresh
#   scripts/install-deps.sh --fuzz   also clang and its libFuzzer/sanitizer runtimes, for make fuzz
#   scripts/install-deps.sh --arm64  also the aarch64 cross toolchain, qemu-user and the arm64
#                                    libraries (dpkg multiarch), for make test-arm64
# Not a Debian machine (no dpkg-query): says what to install and exits 0.
set -euo pipefail

# openmpi: the MPI build (make finds mpicc) and its tests run everywhere.
# g++: the tests run the CUDA kernels' per-row code compiled as host C++ (kernels/*_emu.cpp).
pkgs=(gcc g++ make libc6-dev libjansson-dev libopenblas-dev libinih-dev gnuplot-nox python3 python3-numpy
      python3-venv openmpi-bin libopenmpi-dev pkgconf libsimde-dev)
case "${1:-}" in
    --bench) pkgs+=(python3-scipy) ;;
    --fresh) pkgs+=(debootstrap) ;;
    --fuzz)  pkgs+=(clang libclang-rt-dev) ;;
    --arm64) pkgs+=(gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
                    libjansson-dev:arm64 libopenblas-dev:arm64 libinih-dev:arm64 libgomp1:arm64) ;;
    "") ;;
    *) echo "usage: scripts/install-deps.sh [--bench|--fresh|--fuzz|--arm64]" >&2; exit 2 ;;
esac

if ! command -v dpkg-query >/dev/null; then
    echo "srs: not a Debian system: install these (or your distribution's names for them) by hand:" \
         "${pkgs[*]}" >&2
    exit 0
fi

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
    exit 0
fi

echo "srs: installing missing Debian packages: ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "srs: need root (or sudo) to install ${missing[*]}" >&2; exit 1; }
    SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
# arm64 packages come from the same archive once dpkg knows the architecture
if [[ " ${missing[*]}" == *":arm64"* ]] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
    $SUDO dpkg --add-architecture arm64
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "srs: installed ${missing[*]}"
