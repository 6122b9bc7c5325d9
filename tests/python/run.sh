#!/usr/bin/env bash
# make test-python: the Python package as a user installs it, in a fresh virtual environment
# (Debian's python3-venv) with the suite's packages from PyPI (PyTorch and transformers for the
# tensor and transformers decoding tests, test_torch.py and test_hf_*.py), then its pytest suite:
#   1. pip install -e .               development: python/srs of this tree, build/libsrs.so
#   2. SRS_NO_CUDA=1 pip install .    the CPU-only library (only where nvcc is found; else
#                                     step 3 is that build already)
#   3. pip install .                  the library built by the Makefile, inside the package:
#                                     the whole suite, ending with pytest's summary line (the
#                                     command line, for the parity tests, is built first)
# SRS_PYTHON: the interpreter to make the environment from (default /usr/bin/python3).
# The PyPI packages, all installed here and nowhere else: pytest and NumPy (the package needs
# NumPy); pandas (srs.evaluate's DataFrame), hypothesis (the property test) and torch (tensors),
# which the package does not need and whose tests skip without them. torch from PyPI comes with
# its CUDA libraries (about 5 GB, 2 minutes here; PyPI has no CPU-only build):
# SRS_TEST_NO_TORCH=1 leaves both out, and the PyTorch and transformers tests then skip.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
py=${SRS_PYTHON:-/usr/bin/python3}
[[ -x $py ]] || py=$(command -v python3)
tmp=$(mktemp -d /tmp/srs-test-python.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export PYTHONDONTWRITEBYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1
unset SRS_LIB

# the Makefile's probe: the CUDA backend is compiled in where nvcc is found, unless
# SRS_NO_CUDA=1 (setup.py) or NO_CUDA=1 (make) says otherwise
cuda=0 build=build-cpu make_cpu=(NO_CUDA=1)
if [[ ${SRS_NO_CUDA:-} != 1 && ${NO_CUDA:-} != 1 ]]; then
    build=build make_cpu=()
    if { command -v nvcc || [[ -x /usr/local/cuda/bin/nvcc ]]; } >/dev/null; then cuda=1; fi
fi

"$py" -m venv "$tmp/venv"
pip=$tmp/venv/bin/pip
deps=(pytest numpy pandas hypothesis)
[[ ${SRS_TEST_NO_TORCH:-} == 1 ]] || deps+=(torch transformers)
echo "== $("$tmp/venv/bin/python" --version) in a fresh virtual environment; from PyPI: ${deps[*]}"
"$pip" install -q "${deps[@]}"
run_pytest() {   # from an empty directory: nothing of the clone is importable by accident
    (cd "$tmp" && "$tmp/venv/bin/python" -m pytest -p no:cacheprovider -q "$@")
}

echo "== pip install -e . (development); first with a make that fails, which must fail it"
mkdir "$tmp/bad-make" && printf '#!/bin/sh\nexit 2\n' > "$tmp/bad-make/make" && chmod +x "$tmp/bad-make/make"
if PATH=$tmp/bad-make:$PATH "$pip" install -q -e "$root" >"$tmp/bad-make/log" 2>&1; then
    echo "srs: pip install -e . succeeded although make failed" >&2
    exit 1
fi
"$pip" install -q -e "$root"
SRS_TEST_INSTALL=editable SRS_TEST_EXPECT_CUDA=$cuda run_pytest "$root/tests/python/test_install.py"

if [[ $cuda == 1 ]]; then
    echo "== SRS_NO_CUDA=1 pip install . (the CPU-only library)"
    SRS_NO_CUDA=1 "$pip" install -q "$root"
    SRS_TEST_INSTALL=wheel SRS_TEST_EXPECT_CUDA=0 run_pytest "$root/tests/python/test_install.py"
fi

echo "== pip install .$([[ $cuda == 1 ]] && echo " (CUDA backend compiled in)")"
"$pip" install -q "$root"
make -s --no-print-directory "${make_cpu[@]}" BUILD=$build "$build/srs"
SRS_TEST_INSTALL=wheel SRS_TEST_EXPECT_CUDA=$cuda SRS_BIN=$root/$build/srs run_pytest -rs "$root/tests/python"
