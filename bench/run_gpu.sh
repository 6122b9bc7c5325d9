#!/usr/bin/env bash
# GPU threshold benchmark: srs's kernels (and the copy bandwidth, in the same
# run) and the PyTorch batched bisection, then results/gpu-threshold.md.
#   bash bench/run_gpu.sh [OUTDIR]      (OUTDIR default: results/)
set -uo pipefail
cd "$(dirname "$0")/.."
OUTDIR=${1:-results}
mkdir -p "$OUTDIR" results
TOTAL=${SRS_BENCH_TOTAL:-268435456}
REPS=${SRS_BENCH_REPS:-20}
CMD="build/srs bench threshold --device cuda --total $TOTAL --sizes 16,64,256,1024,4096 --reps $REPS"
echo "== $CMD"
$CMD --json "$OUTDIR/bench-srs.jsonl" 2>&1 || { echo "srs bench threshold failed: no results written"; exit 1; }   # the caller keeps stdout
echo "== PyTorch batched bisection"
PYTHONUNBUFFERED=1 python3 bench/torch_threshold.py --total "$TOTAL" --reps $(( REPS < 5 ? REPS : 5 )) > "$OUTDIR/bench-torch.jsonl" \
    2> "$OUTDIR/bench-torch.err" || echo "PyTorch run failed: $(tail -3 "$OUTDIR/bench-torch.err")"
SMI=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)
python3 bench/report_gpu.py "$OUTDIR/bench-srs.jsonl" "$OUTDIR/bench-torch.jsonl" results/gpu-threshold.md \
    "$CMD; python3 bench/torch_threshold.py --total $TOTAL" "$SMI"
cp results/gpu-threshold.md "$OUTDIR/" 2>/dev/null || true
