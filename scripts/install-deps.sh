#!/usr/bin/env bash
# Installs the Debian packages srs needs, only those missing.
#   scripts/install-deps.sh          build and test: gcc, make, jansson, OpenMPI, OpenBLAS (value
#                                    head), python3 + NumPy (the Python binding test, the
#                                    evaluation cross-check), inih (eval configs), gnuplot (plots)
#   scripts/install-deps.sh --bench  also SciPy for the benchmark peers
set -euo pipefail

# openmpi: the MPI build (make finds mpicc) and its tests run everywhere.
pkgs=(gcc make libc6-dev libjansson-dev libopenblas-dev libinih-dev gnuplot-nox python3 python3-numpy
      openmpi-bin libopenmpi-dev)
if [[ "${1:-}" == "--bench" ]]; then
    pkgs+=(python3-scipy)
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
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "srs: installed ${missing[*]}"
