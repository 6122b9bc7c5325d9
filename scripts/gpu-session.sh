#!/usr/bin/env bash
# The GPU machine (the device tool's H100/H200) in two calls, each under the
# tool's 600 s and 8 returned files: build for sm_90, then
#   run    the whole test suite with the CUDA backend, compute-sanitizer
#          memcheck on the CUDA tests, the Python CPU/GPU parity check of the
#          guided-decoding kernels (the image's python3 has PyTorch)
#   bench  the GPU threshold benchmark against PyTorch (gpu-threshold.md), then the
#          GPU evaluation benchmark against PyTorch (gpu-eval.md)
# Logs and results go under $OUT.
#
#   here, once:   bash scripts/gpu-session.sh fetch
#                 (downloads the Debian packages the build needs into .gpu-debs/,
#                 ignored by git: the GPU machine has no package registry)
#   there:        device run, carry [".gpu-debs"], command:
#                 bash scripts/gpu-session.sh run      then      ... bench
#   afterwards:   copy $OUT's gpu-threshold.md and gpu-eval.md to results/ and commit them
set -uo pipefail
cd "$(dirname "$0")/.."
DEBS=(libjansson-dev libjansson4 libopenblas-dev libopenblas0 libopenblas0-pthread libopenblas-pthread-dev
      libinih-dev libinih1 libinireader0 libgfortran5)

if [[ "${1:-}" == "fetch" ]]; then
    EXCL=$(git rev-parse --git-path info/exclude)
    mkdir -p "$(dirname "$EXCL")"
    grep -qx '/.gpu-debs/' "$EXCL" 2>/dev/null || echo '/.gpu-debs/' >> "$EXCL"
    mkdir -p .gpu-debs && (cd .gpu-debs && apt-get download "${DEBS[@]}")
    ls -la .gpu-debs
    exit 0
fi
MODE=${1:-}
[[ $MODE == run || $MODE == bench ]] || { echo "usage: $0 fetch|run|bench" >&2; exit 2; }
# Two device calls, each under the tool's 600 s and 8 files of $OUT:
#   run    build, the suite with the CUDA backend, memcheck, the Python parity check
#   bench  the benchmarks (the build from `run` is kept while the machine stays warm); each
#          gets a share of what is left of 570 s after the build

START=$(date +%s)
OUT=${OUT:-$PWD/gpu-out}
mkdir -p "$OUT"
LOG="$OUT/session-$MODE.log"
exec > >(tee "$LOG") 2>&1
echo "== $(date -u +%FT%TZ) $(uname -m)"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv || true
CS=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
PY=$(command -v python3)   # the image's python3 holds PyTorch

# Build dependencies: the system's where present, else the carried .debs
# unpacked into a private prefix (never into /).
EXTRA_CFLAGS="" EXTRA_LDFLAGS=""
if ! echo '#include <jansson.h>
#include <cblas.h>
#include <ini.h>
int main(void){return 0;}' | gcc -x c - -o /dev/null -ljansson -lopenblas -linih 2>/dev/null; then
    P=/tmp/srs-deps
    mkdir -p $P
    for f in .gpu-debs/*.deb; do dpkg -x "$f" $P; done
    ML=$P/usr/lib/x86_64-linux-gnu
    # the -dev symlinks point at alternatives: link the real libraries directly
    ln -sf "$(ls $ML/openblas-pthread/libopenblas.so.0 2>/dev/null || ls $ML/libopenblas.so.0)" $ML/libopenblas.so 2>/dev/null
    ln -sf "$(ls $ML/openblas-pthread/libopenblas.so.0 2>/dev/null || ls $ML/libopenblas.so.0)" $ML/libopenblas.so.0 2>/dev/null
    EXTRA_CFLAGS="-I$P/usr/include -I$P/usr/include/x86_64-linux-gnu -I$P/usr/include/x86_64-linux-gnu/openblas-pthread"
    EXTRA_LDFLAGS="-L$ML -L$ML/openblas-pthread -Wl,-rpath,$ML -Wl,-rpath,$ML/openblas-pthread"
    export LD_LIBRARY_PATH=$ML:$ML/openblas-pthread:${LD_LIBRARY_PATH:-}
fi
touch .deps-ok   # nothing to install there: no registry is reachable

echo "== build (sm_90)"
T0=$(date +%s)
make -j16 GPU_COMPUTE_CAPABILITY=90 CFLAGS="$EXTRA_CFLAGS" LDFLAGS="$EXTRA_LDFLAGS" all build/test_srs \
    > "$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log"; echo "BUILD FAILED"; exit 1; }
grep -E "CUDA backend|warning" "$OUT/build.log" | head -20
grep -q "CUDA backend compiled" "$OUT/build.log" || { echo "nvcc not found: CPU-only build, nothing to test"; exit 1; }
echo "build: $(( $(date +%s) - T0 )) s"

if [[ $MODE == bench ]]; then
    left=$(( 570 - ($(date +%s) - START) ))
    t_thr=$(( left - 200 < 330 ? left - 200 : 330 ))
    if (( t_thr >= 30 )); then
        echo "== threshold benchmark (${t_thr} s at most)"
        timeout "$t_thr" bash bench/run_gpu.sh "$OUT" > "$OUT/bench.log" 2>&1
        echo "exit $?"; tail -25 "$OUT/bench.log"
        rm -f "$OUT/bench-torch.err"
    else
        echo "== threshold benchmark skipped: only ${left} s left after the build"
    fi
    t_eval=$(( 570 - ($(date +%s) - START) ))
    if (( t_eval >= 30 )); then
        echo "== evaluation benchmark (${t_eval} s at most)"
        timeout "$t_eval" bash bench/run_gpu_eval.sh "$OUT" >> "$OUT/bench.log" 2>&1
        echo "exit $?"; tail -22 "$OUT/bench.log"
    else
        echo "== evaluation benchmark skipped: only ${t_eval} s left"
    fi
    ls -la "$OUT"
    exit 0
fi

echo "== test suite with the CUDA backend (SRS_TEST_DEVICE=cuda)"
SRS_TEST_DEVICE=cuda SRS_PYTHON=$PY SRS_BIN=build/srs timeout 200 build/test_srs > "$OUT/test-cuda.log" 2>&1
echo "exit $?"; grep -E "^(FAIL|skip)|passed" "$OUT/test-cuda.log" | head -30
grep -A6 "^  cuda_" "$OUT/test-cuda.log" | grep -v "^ok" | head -40

echo "== compute-sanitizer memcheck on the CUDA tests (quick sizes)"
SRS_TEST_QUICK=1 SRS_BIN=build/srs timeout 150 "$CS" --tool memcheck --error-exitcode 9 \
    build/test_srs cuda_ > "$OUT/memcheck.log" 2>&1
echo "exit $?"; grep -E "ERROR SUMMARY|passed|FAIL" "$OUT/memcheck.log" | head; grep -m5 -A8 "Invalid" "$OUT/memcheck.log"

echo "== Python binding: CPU/GPU parity of the guided-decoding kernels (PyTorch)"
SRS_LIB=build/libsrs.so timeout 120 "$PY" -B tests/test_python_binding.py > "$OUT/py-parity.log" 2>&1
echo "exit $?"; tail -5 "$OUT/py-parity.log"
grep -q "GPU parity tested" "$OUT/py-parity.log" || echo "WARNING: GPU parity was NOT tested (see py-parity.log)"
ls -la "$OUT"
