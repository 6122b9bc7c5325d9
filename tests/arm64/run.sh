#!/usr/bin/env bash
# tests/arm64/run.sh — the C test suite on aarch64, under qemu-user (make test-arm64).
#
# The Makefile has cross-compiled the engine and the suite into build-arm64/
# with Debian's gcc-aarch64-linux-gnu (level neon: the same vector code,
# through SIMDe on NEON). This runs build-arm64/test_srs under qemu-aarch64,
# and every srs the suite starts through a wrapper that runs the aarch64 srs
# the same way. It checks correctness only: no speed means anything under
# emulation.
#
# One thread: under qemu-user on this project's CI machines a guest
# pthread_create never returns (qemu 7.2 and 10.0 alike), so OpenMP is held to
# one thread (OMP_THREAD_LIMIT=1, which caps num_threads clauses too) and
# OpenBLAS to none of its own. The thread-count tests then compare one thread
# with itself; the x86 stages test threads. The Python binding test is
# skipped: the library is aarch64 and the interpreter is not; so are the three
# command-line tests that fork (SRS_TEST_NO_FORK), and the threshold, evaluation and
# guide kernel code on groups of host threads (SRS_TEST_NO_THREADS; their one-thread
# groups run); the x86 stages run them.
set -euo pipefail
build=${1:-build-arm64}
sysroot=/usr/aarch64-linux-gnu
command -v qemu-aarch64 >/dev/null || { echo "test-arm64: qemu-aarch64 not found (scripts/install-deps.sh --arm64)" >&2; exit 1; }
[[ -x $build/test_srs && -x $build/srs ]] || { echo "test-arm64: $build/test_srs or $build/srs is missing" >&2; exit 1; }
wrap=$(mktemp -d)
trap 'rm -rf "$wrap"' EXIT
printf '#!/bin/sh\nexec qemu-aarch64 -L %s %s "$@"\n' "$sysroot" "$(realpath "$build/srs")" > "$wrap/srs"
chmod +x "$wrap/srs"
export OMP_THREAD_LIMIT=1 OPENBLAS_NUM_THREADS=1 SRS_PYTHON=none SRS_TEST_QUICK=1 SRS_TEST_NO_FORK=1 SRS_TEST_NO_THREADS=1 SRS_BIN=$wrap/srs
echo "== $("$wrap/srs" --version | tr '\n' ' ')"
exec qemu-aarch64 -L "$sysroot" "$build/test_srs"
