#!/usr/bin/env bash
# The GPU machine (the device tool's H200) in ONE call of at most 8 minutes wall.
#
#   here, once:  bash scripts/gpu-session.sh prepare
#                Downloads the Debian packages the build needs and the device image lacks
#                (their dependency closure, resolved by apt as on an empty system, minus
#                the C/C++ runtime every CUDA image has) into .gpu-debs/ (ignored by git,
#                about 13 MB: the device tool carries at most 64 MiB), with a manifest
#                that records the newest glibc symbol version the libraries need.
#                The image's python3 has PyTorch and NumPy: no wheels are needed.
#   there:       device run, carry [".gpu-debs"], timeout_s 540, command:
#                    SRS_COMMIT=<git rev-parse --short HEAD here> bash scripts/gpu-session.sh all
#                Steps, each under its own time limit (timeout), none stopping the others:
#                env, deps (the carried packages unpacked into a private prefix, never
#                into /), cublas (cuBLAS on the image: its library found, a handle created,
#                one DGEMM checked), build (make -j16, sm_90), fma (make check-fma: the guide
#                kernels' PTX has no contracted a*b+c), tests (the suite with the
#                CUDA backend), python (the Python CPU/GPU parity check, and
#                tests/python/test_torch.py: CUDA tensors through the device API; pytest from
#                .gpu-debs/wheels when the image lacks it), memcheck
#                (compute-sanitizer on two small tests, skipped with a note where it refuses
#                the device), bench-threshold, bench-eval, bench-guide (short versions).
#                Each step's limit is cut to what is left of the whole's.
#                $OUT gets at most 8 files: summary.md, gpu-threshold.md, gpu-eval.md,
#                gpu-guide.md (the results/ drafts) and logs.tar.gz (every step's log).
#   afterwards:  review $OUT's gpu-*.md, copy them to results/ and commit them.
#   CI:          bash scripts/gpu-session.sh dry   (make gpu-session-dry)
#                Everything that needs no GPU: argument handling, prepare's package plan,
#                the deps step on real packages (unpacked, a program linked and run against
#                the private prefix only), the nvcc build with the device's make command,
#                the cuBLAS check compiled, and the step runner with every GPU step faked
#                (one faked as failing, one as overrunning its limit: both must be
#                reported, the others still run, and at most 8 files come back).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
DEBS_DIR=${SRS_GPU_DEBS:-$ROOT/.gpu-debs}
# The packages the build needs (include/cblas.h from OpenBLAS, jansson, inih, SIMDe's
# headers). The closure adds libgfortran5 and libquadmath0 (OpenBLAS's).
ROOTS=(libjansson-dev libopenblas-dev libopenblas0-pthread libinih-dev libsimde-dev)
# What the device image has for sure (nvcc and PyTorch need them): not carried.
BASE=(libc6 libgcc-s1 libstdc++6 gcc-12-base gcc-13-base gcc-14-base libgomp1)
CARRY_MAX=$((48 << 20))     # leaves room for the working tree in the tool's 64 MiB
WALL=${SRS_GPU_WALL:-465}   # the whole of `all`, seconds (the call: 540 s with the start)

usage() {
    echo "usage: scripts/gpu-session.sh prepare [--plan] | all | dry" >&2
    echo "  prepare  here: fetch the packages the device machine lacks into .gpu-debs/ (--plan: list only)" >&2
    echo "  all      there, in one device call (carry [\".gpu-debs\"]): build, tests, benchmarks" >&2
    echo "  dry      here or in CI: every part that needs no GPU, the GPU steps faked" >&2
    exit 2
}

# ---- prepare --------------------------------------------------------------------
# The closure as apt resolves it for an empty system (alternatives chosen as apt
# would: the pthread OpenBLAS), minus BASE.
plan() {
    local empty
    empty=$(mktemp)
    apt-get -s -o Dir::State::status="$empty" install --no-install-recommends "${ROOTS[@]}" 2>&1 |
        awk '/^Inst /{print $2}' | sort -u > "$empty.list"
    local rc=${PIPESTATUS[0]}
    rm -f "$empty"
    if [[ $rc != 0 || ! -s $empty.list ]]; then
        echo "prepare: apt could not resolve ${ROOTS[*]} (apt-get update first?)" >&2
        rm -f "$empty.list"
        return 1
    fi
    grep -vxF -f <(printf '%s\n' "${BASE[@]}") "$empty.list"
    rm -f "$empty.list"
}

prepare() {
    local only_plan=${1:-}
    command -v apt-get >/dev/null || { echo "prepare: needs apt-get (a Debian machine)" >&2; return 1; }
    local pkgs
    if ! pkgs=$(plan 2>/dev/null); then
        # no package lists yet (a fresh CI image): fetch them once, as root
        [[ $(id -u) == 0 ]] && apt-get update -qq >/dev/null 2>&1
        pkgs=$(plan) || return 1
    fi
    for p in libquadmath0 libgfortran5 libjansson4 libopenblas0-pthread libinih1 libsimde-dev; do
        grep -qx "$p" <<<"$pkgs" || { echo "prepare: the plan lacks $p: $pkgs" >&2; return 1; }
    done
    echo "prepare: $(wc -w <<<"$pkgs") packages: $(echo $pkgs)"
    [[ $only_plan == --plan ]] && return 0
    rm -rf "$DEBS_DIR"
    mkdir -p "$DEBS_DIR"
    # apt's sandbox user may not write here: download as the caller
    (cd "$DEBS_DIR" && apt-get -q -o APT::Sandbox::User=root download $pkgs) || {
        echo "prepare: apt-get download failed" >&2; return 1; }
    local bytes
    bytes=$(du -cb "$DEBS_DIR"/*.deb | tail -1 | cut -f1)
    if ((bytes > CARRY_MAX)); then
        echo "prepare: $DEBS_DIR holds $bytes bytes, over the $CARRY_MAX carried at most" >&2
        return 1
    fi
    # the newest glibc symbol version the carried libraries need (checked there)
    local x glibc
    x=$(mktemp -d)
    for f in "$DEBS_DIR"/*.deb; do dpkg -x "$f" "$x"; done
    glibc=$(find "$x" -name '*.so*' -type f -exec objdump -T {} + 2>/dev/null |
            grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)
    rm -rf "$x"
    {
        echo "# written by scripts/gpu-session.sh prepare, $(date -u +%FT%TZ), on $(. /etc/os-release; echo "$PRETTY_NAME")"
        echo "glibc_needed=${glibc#GLIBC_}"
        echo "bytes=$bytes"
        (cd "$DEBS_DIR" && ls -1 *.deb)
    } > "$DEBS_DIR/MANIFEST"
    echo "prepare: $DEBS_DIR: $bytes bytes, libraries need glibc ${glibc#GLIBC_} at most"
    # pytest for the python step (tests/python/test_torch.py's CUDA tests) where the image's
    # python3 lacks it: pure-Python wheels (about 1 MB), with the dependencies older
    # Pythons need; best effort (the step says so when it has neither)
    if python3 -m pip download -q --retries 1 --timeout 15 --only-binary=:all: --python-version 3.10 -d "$DEBS_DIR/wheels" pytest exceptiongroup tomli \
            >/dev/null 2>&1; then
        echo "prepare: pytest wheels: $(cd "$DEBS_DIR/wheels" && ls -1 | tr '\n' ' ')"
    else
        rm -rf "$DEBS_DIR/wheels"
        echo "prepare: could not download pytest's wheels (no pip or no network): the python step runs" \
             "tests/python/test_torch.py only where the device's python3 has pytest" >&2
    fi
}

# ---- the step runner --------------------------------------------------------------
# step NAME LIMIT CMD...: runs CMD under `timeout LIMIT` (cut to what is left of WALL),
# its output in $LOGS/NAME.log; records ok, skip (exit 77, the log's last line the
# note), FAIL (exit N) or TIMEOUT. A failing step never stops the next.
STEPS=()
step() {
    local name=$1 limit=$2 t0 rc status note=""
    shift 2
    local left=$((WALL - (SECONDS - START)))
    ((limit > left)) && limit=$left
    if ((limit < 5)); then
        STEPS+=("| $name | skip | 0 | no time left of the ${WALL} s |")
        echo "== $name: skipped, no time left"
        return
    fi
    echo "== $name (at most ${limit} s)"
    t0=$SECONDS
    if [[ -n $DRY && " $GPU_STEPS " == *" $name "* ]]; then
        # faked: the runner's handling is what is under test here
        case " ${SRS_GPU_INJECT:-} " in
            *" $name:fail "*)    timeout -k 2 "$limit" bash -c 'echo "injected failure"; exit 3' ;;
            *" $name:timeout "*) limit=$((limit < 3 ? limit : 3))
                                 timeout -k 2 "$limit" bash -c 'echo "injected overrun"; sleep 30' ;;
            *) echo "dry run: would run: $*" ;;
        esac > "$LOGS/$name.log" 2>&1
        rc=$?
    else
        timeout -k 10 "$limit" "$@" > "$LOGS/$name.log" 2>&1
        rc=$?
    fi
    case $rc in
        0) status=ok ;;
        77) status=skip; note=$(tail -1 "$LOGS/$name.log") ;;
        124|137) status=TIMEOUT; note="over ${limit} s" ;;
        *) status=FAIL; note="exit $rc" ;;
    esac
    [[ -n $DRY && " $GPU_STEPS " == *" $name "* && $status == ok ]] && status=dry
    STEPS+=("| $name | $status | $((SECONDS - t0)) | ${note//|/\\|} |")
    echo "   $status in $((SECONDS - t0)) s${note:+: $note}"
    if [[ $status == FAIL || $status == TIMEOUT ]]; then tail -15 "$LOGS/$name.log" | sed 's/^/   | /'; fi
}

# ---- the steps (functions, so that `timeout` runs them in a child bash) ----------------
step_env() {
    date -u +%FT%TZ; uname -a; nproc
    ldd --version | head -1
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv || true
    "$NVCC" --version | tail -2
    "$PY" -c 'import sys, numpy, torch; print(sys.version.split()[0], "numpy", numpy.__version__, "torch", torch.__version__, "cuda", torch.cuda.is_available())' || true
    command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer || true
}

# The carried .debs into $DEPS (never into /); a program using all three libraries
# compiled, linked and run against that prefix alone.
step_deps() {
    ls "$DEBS_DIR"/*.deb >/dev/null 2>&1 || { echo "no packages in $DEBS_DIR: run 'scripts/gpu-session.sh prepare' here and carry .gpu-debs"; return 1; }
    if [[ -f $DEBS_DIR/MANIFEST ]]; then
        local need have
        need=$(sed -n 's/^glibc_needed=//p' "$DEBS_DIR/MANIFEST")
        have=$(ldd --version | head -1 | grep -o '[0-9]*\.[0-9]*$')
        echo "glibc: the packages need $need, this machine has $have"
        if [[ -n $need && -n $have ]] && [[ $(printf '%s\n' "$need" "$have" | sort -V | tail -1) != "$have" ]]; then
            echo "the carried libraries need a newer glibc than this machine's"; return 1
        fi
    fi
    rm -rf "$DEPS"
    mkdir -p "$DEPS"
    for f in "$DEBS_DIR"/*.deb; do dpkg -x "$f" "$DEPS" || return 1; done
    local ml=$DEPS/usr/lib/x86_64-linux-gnu
    # the -dev links go through Debian's alternatives (absent here): link the real library
    ln -sf "$ml/openblas-pthread/libopenblas.so.0" "$ml/libopenblas.so"
    ln -sf "$ml/openblas-pthread/libopenblas.so.0" "$ml/libopenblas.so.0"
    ln -sf "$ml/openblas-pthread/libblas.so.3" "$ml/libblas.so.3"
    cat > "$DEPS/check.c" <<'EOF'
#include <cblas.h>
#include <ini.h>
#include <jansson.h>
#include <simde/x86/avx512.h>
#include <stdio.h>
int main(void) {
    double a[4] = {1, 2, 3, 4}, b[2] = {1, 1}, c[2] = {0, 0};
    cblas_dgemv(CblasRowMajor, CblasNoTrans, 2, 2, 1.0, a, 2, b, 1, 0.0, c, 1);
    json_t *j = json_real(c[0] + c[1]);
    double o[8];
    simde_mm512_storeu_pd(o, simde_mm512_add_pd(simde_mm512_set1_pd(1.0), simde_mm512_set1_pd(2.0)));
    int ok = json_real_value(j) == 10.0 && o[7] == 3.0 && ini_parse_string("", NULL, NULL) >= 0;
    json_decref(j);
    puts(ok ? "deps: cblas, jansson, inih, simde work" : "deps: wrong results");
    return !ok;
}
EOF
    gcc -std=c11 -Wall -Werror -Wno-psabi $DEPS_CFLAGS "$DEPS/check.c" -o "$DEPS/check" $DEPS_LDFLAGS -ljansson -lopenblas -linih || return 1
    "$DEPS/check" || return 1
    # every library the check uses resolves into the prefix, not the system
    ldd "$DEPS/check" | grep -E 'jansson|openblas|inih|gfortran|quadmath'
    if ldd "$DEPS/check" | grep -E 'jansson|openblas|inih' | grep -vq "$DEPS"; then
        echo "a library resolved outside $DEPS"; return 1
    fi
}

step_cublas() {
    local lib
    lib=$(ls "$CUDA_HOME"/lib64/libcublas.so* "$CUDA_HOME"/targets/x86_64-linux/lib/libcublas.so* 2>/dev/null | head -1)
    [[ -n $lib ]] || { echo "no libcublas.so under $CUDA_HOME"; ldconfig -p | grep -i cublas; return 1; }
    echo "cuBLAS: $lib"
    cat > "$DEPS/cublas_check.c" <<'EOF'
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <stdio.h>
int main(void) {
    cublasHandle_t h;
    int v = 0;
    if (cublasCreate(&h) != CUBLAS_STATUS_SUCCESS) { puts("cublasCreate failed"); return 1; }
    cublasGetVersion(h, &v);
    double a[4] = {1, 2, 3, 4}, c[4], *d;   /* column-major 2x2: c = a a */
    cudaMalloc((void **)&d, sizeof a + sizeof c);
    cudaMemcpy(d, a, sizeof a, cudaMemcpyHostToDevice);
    const double one = 1, zero = 0;
    cublasStatus_t s = cublasDgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 2, &one, d, 2, d, 2, &zero, d + 4, 2);
    cudaMemcpy(c, d + 4, sizeof c, cudaMemcpyDeviceToHost);
    int ok = s == CUBLAS_STATUS_SUCCESS && c[0] == 7 && c[1] == 10 && c[2] == 15 && c[3] == 22;
    printf("cuBLAS %d: DGEMM %s\n", v, ok ? "right" : "WRONG");
    cudaFree(d);
    cublasDestroy(h);
    return !ok;
}
EOF
    "$NVCC" -o "$DEPS/cublas_check" "$DEPS/cublas_check.c" -lcublas -Xlinker -rpath -Xlinker "$(dirname "$lib")" ||
        return 1
    [[ -n $DRY ]] && { echo "compiled (not run: dry run)"; return 0; }
    "$DEPS/cublas_check"
}

step_build() {
    local jobs
    jobs=$(nproc)
    [[ -n $DRY ]] && jobs=2
    # a dry run builds against this machine's own packages (the deps step has
    # checked the carried ones): its build/ must not point into a scratch prefix
    local cf=$DEPS_CFLAGS lf=$DEPS_LDFLAGS
    [[ -n $DRY ]] && cf="" lf=""
    nice make -j"$jobs" SRS_NO_DEPS=1 GPU_COMPUTE_CAPABILITY=90 CFLAGS="$cf" LDFLAGS="$lf" all build/test_srs ||
        return 1
    build/srs --version
}

# The guide kernels' PTX has no contracted a*b+c (make check-fma); where cuobjdump
# is (the device image; not this project's build machines), the SASS of every
# kernel object goes into the logs (the facts results/gpu-model.md needs) and
# select_kernel's double-precision instructions are counted.
step_fma() {
    make SRS_NO_DEPS=1 check-fma || return 1
    if ! command -v cuobjdump >/dev/null; then echo "no cuobjdump here: SASS not read"; return 0; fi
    mkdir -p "$LOGS/sass"
    local o
    for o in build/obj/kernels/*.o; do
        cuobjdump -sass "$o" > "$LOGS/sass/$(basename "$o" .o).sass" 2>&1 || echo "cuobjdump failed on $o"
    done
    awk '/Function : .*select_kernel/{f=1; next} /Function : /{f=0} f' "$LOGS/sass/guide.sass" > "$WORK/select.sass"
    echo "select_kernel SASS: $(grep -c DFMA "$WORK/select.sass") DFMA, $(grep -c DMUL "$WORK/select.sass") DMUL," \
         "$(grep -c DADD "$WORK/select.sass") DADD"
}

step_tests() {
    SRS_TEST_DEVICE=cuda SRS_PYTHON="$PY" SRS_BIN=build/srs build/test_srs
    local rc=$?
    echo "-- not ok:"; grep -E '^(FAIL|skip) ' "$LOGS/tests.log" 2>/dev/null | head -40
    return $rc
}

step_python() {
    SRS_LIB=build/libsrs.so "$PY" -B tests/test_python_binding.py || return 1
    grep -q "GPU parity tested" "$LOGS/python.log" || { echo "GPU parity was NOT tested"; return 1; }
    # tests/python/test_torch.py: CUDA tensors through the device API (srs_thresholds_device,
    # srs_shape_device), with the image's torch; pytest from the carried wheels if needed
    local pp=""
    if ! "$PY" -c 'import pytest' 2>/dev/null; then
        [[ -d $DEBS_DIR/wheels ]] || { echo "no pytest on $PY and no wheels in $DEBS_DIR: test_torch.py NOT run"; return 1; }
        "$PY" -m pip install -q --no-index --find-links "$DEBS_DIR/wheels" --target "$WORK/pytest" pytest ||
            { echo "pytest from $DEBS_DIR/wheels did not install: test_torch.py NOT run"; return 1; }
        pp=$WORK/pytest
    fi
    PYTHONPATH=$pp${PYTHONPATH:+:$PYTHONPATH} SRS_LIB=$ROOT/build/libsrs.so "$PY" -B -m pytest -p no:cacheprovider \
        -q -rs tests/python/test_torch.py > "$WORK/test_torch.log" 2>&1
    local rc=$?
    cat "$WORK/test_torch.log"
    ((rc == 0)) || return 1
    if grep -qE "no CUDA device|no CUDA backend compiled in" "$WORK/test_torch.log"; then
        echo "test_torch.py skipped its CUDA tests"; return 1
    fi
}

step_bench_threshold() {
    SRS_BENCH_TOTAL=$((1 << 26)) SRS_BENCH_REPS=5 bash bench/run_gpu.sh "$WORK/threshold"
}

step_bench_eval() {
    SRS_EVAL_PROMPTS=250000 SRS_EVAL_REPS=2 SRS_EVAL_REPLICATES=100 bash bench/run_gpu_eval.sh "$WORK/eval"
}

step_bench_guide() {
    PYTHONUNBUFFERED=1 "$PY" bench/guide_gpu.py --quick
}

# compute-sanitizer memcheck on two small tests (quick sizes); exit 77 (skip) with a
# note where it refuses the device (seen on gVisor machines: "Device not supported").
step_memcheck() {
    local cs t rc=0
    cs=$(command -v compute-sanitizer || ls "$CUDA_HOME/bin/compute-sanitizer" 2>/dev/null)
    [[ -n $cs ]] || { echo "skipped: compute-sanitizer is not on this machine"; return 77; }
    for t in cuda_dense_and_chunk_offsets cuda_eval_chunks_first_index; do
        echo "-- memcheck $t"
        SRS_TEST_QUICK=1 SRS_BIN=build/srs timeout 45 "$cs" --tool memcheck --error-exitcode 9 \
            build/test_srs "$t" > "$WORK/memcheck-$t.log" 2>&1
        local r=$?
        cat "$WORK/memcheck-$t.log"
        if grep -qiE 'Device not supported|not supported on this (device|platform)' "$WORK/memcheck-$t.log"; then
            echo "skipped: compute-sanitizer refused the device (Device not supported)"
            return 77
        fi
        ((r != 0)) && rc=1
    done
    return $rc
}

# ---- all / dry --------------------------------------------------------------------
GPU_STEPS="tests python bench-threshold bench-eval bench-guide memcheck"
run_all() {
    START=$SECONDS
    OUT=${OUT:-$ROOT/gpu-out}
    mkdir -p "$OUT"
    WORK=$(mktemp -d)
    touch "$WORK/.start"   # results/ files newer than this were written by this session
    LOGS=$WORK/logs
    DEPS=${SRS_GPU_DEPS:-/tmp/srs-deps}
    mkdir -p "$LOGS"
    PY=$(command -v python3)   # the image's python3 holds PyTorch
    # the device gets a copy of the working tree without .git: pass SRS_COMMIT there
    COMMIT=${SRS_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo "unknown (set SRS_COMMIT)")}
    NVCC=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
    CUDA_HOME=$(cd "$(dirname "$NVCC")/.." && pwd)
    local ml=$DEPS/usr/lib/x86_64-linux-gnu
    DEPS_CFLAGS="-I$DEPS/usr/include -I$DEPS/usr/include/x86_64-linux-gnu -I$DEPS/usr/include/x86_64-linux-gnu/openblas-pthread"
    DEPS_LDFLAGS="-L$ml -L$ml/openblas-pthread -Wl,-rpath,$ml -Wl,-rpath,$ml/openblas-pthread"
    export LD_LIBRARY_PATH=$ml:$ml/openblas-pthread:${LD_LIBRARY_PATH:-}
    export DEBS_DIR DEPS DEPS_CFLAGS DEPS_LDFLAGS PY NVCC CUDA_HOME WORK LOGS DRY
    export ROOT
    export -f step_env step_deps step_cublas step_build step_fma step_tests step_python step_bench_threshold \
              step_bench_eval step_bench_guide step_memcheck
    echo "== gpu-session ${DRY:+(dry run) }$(date -u +%FT%TZ), at most ${WALL} s"

    step env 20 bash -c step_env
    step deps 40 bash -c step_deps
    step cublas 60 bash -c step_cublas   # a dry run compiles the check, does not run it
    step build 200 bash -c step_build
    step fma 40 bash -c step_fma
    if [[ ! -x build/test_srs || ! -x build/srs ]]; then
        echo "== no build: the GPU steps cannot run"
    else
        # the checks first, then the benchmarks; the guide benchmark last (it
        # compiles with torch.compile and writes its table after every configuration)
        step tests 150 bash -c step_tests
        step python 90 bash -c step_python
        step memcheck 100 bash -c step_memcheck
        step bench-threshold 70 bash -c step_bench_threshold
        step bench-eval 60 bash -c step_bench_eval
        step bench-guide 150 bash -c step_bench_guide
    fi

    # $OUT: summary.md, the results drafts, every log in one archive (8 files at most)
    local bad=0 s
    for s in "${STEPS[@]}"; do [[ $s == *"| FAIL |"* || $s == *"| TIMEOUT |"* ]] && bad=$((bad + 1)); done
    {
        echo "# GPU session ${DRY:+(dry run, GPU steps faked) }$(date -u +%FT%TZ)"
        echo
        echo "Command: \`bash scripts/gpu-session.sh $([[ -n $DRY ]] && echo dry || echo all)\`; commit $COMMIT; $((SECONDS - START)) s of ${WALL}."
        echo
        nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | sed 's/^/Device: /'
        echo
        echo "| step | status | s | note |"
        echo "|---|---|---:|---|"
        printf '%s\n' "${STEPS[@]}"
        echo
        echo "$bad step(s) failed. Logs: logs.tar.gz."
        if [[ -z $DRY && -f $LOGS/tests.log ]]; then
            echo; echo "Test suite with the CUDA backend:"; echo '```'
            grep -E '^[0-9]+ passed, [0-9]+ failed' "$LOGS/tests.log" | tail -1
            grep -E '^FAIL ' "$LOGS/tests.log" | head -20
            echo '```'
        fi
    } > "$OUT/summary.md"
    for f in results/gpu-threshold.md results/gpu-eval.md results/gpu-guide.md; do
        [[ -n $DRY ]] && break   # a dry run writes no results
        [[ -f $f && $f -nt $WORK/.start ]] && cp "$f" "$OUT/"
    done
    cp -r "$WORK"/threshold "$WORK"/eval "$LOGS/" 2>/dev/null
    cp "$WORK"/memcheck-*.log "$LOGS/" 2>/dev/null
    tar -C "$WORK" -czf "$OUT/logs.tar.gz" logs
    [[ -n ${SRS_GPU_KEEP:-} ]] && echo "logs kept in $WORK" || rm -rf "$WORK"
    cat "$OUT/summary.md"
    ls -la "$OUT"
    ((bad == 0))
}

DRY=""
case "${1:-}" in
    prepare) shift; prepare "${1:-}" ;;
    all) [[ $# == 1 ]] || usage; run_all ;;
    dry)
        [[ $# == 1 ]] || usage
        # argument handling
        for a in "" bogus "all extra"; do
            bash "$0" $a > /dev/null 2>&1
            [[ $? == 2 ]] || { echo "dry: '$0 $a' did not exit 2 with the usage" >&2; exit 1; }
        done
        echo "dry: argument handling ok"
        # prepare: real packages (13 MB) into a scratch folder; with no network, the plan only
        dry_out=""
        SRS_GPU_DEBS=$(mktemp -d)
        SRS_GPU_DEPS=""
        export SRS_GPU_DEBS SRS_GPU_DEPS
        trap 'rm -rf "$SRS_GPU_DEBS" "$SRS_GPU_DEPS" "$dry_out"' EXIT
        if ! DEBS_DIR=$SRS_GPU_DEBS prepare; then
            echo "dry: prepare failed" >&2; exit 1
        fi
        SRS_GPU_DEPS=$(mktemp -d)
        dry_out=$(mktemp -d)
        DRY=1
        OUT=$dry_out SRS_GPU_INJECT="python:fail bench-guide:timeout" DEBS_DIR=$SRS_GPU_DEBS run_all
        rc=$?
        # the runner's promises
        fail() { echo "dry: $*" >&2; exit 1; }
        [[ $rc != 0 ]] || fail "a failing step did not make 'all' exit non-zero"
        s=$dry_out/summary.md
        for want in "| env | ok " "| deps | ok " "| cublas | ok " "| build | ok " "| tests | dry " \
                    "| fma | ok " "| python | FAIL " "| memcheck | dry " "| bench-threshold | dry " \
                    "| bench-eval | dry " "| bench-guide | TIMEOUT "; do
            grep -qF "$want" "$s" || fail "summary lacks '$want'"
        done
        n=$(find "$dry_out" -type f | wc -l)
        ((n <= 8)) || fail "$n files under OUT (at most 8 come back)"
        tar -tzf "$dry_out/logs.tar.gz" | grep -q 'logs/build.log' || fail "logs.tar.gz lacks the build log"
        echo "dry: passed (every step ran or was faked, failures and overruns reported, $n files back)"
        ;;
    *) usage ;;
esac
