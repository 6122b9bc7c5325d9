#!/usr/bin/env bash
# run_eval.sh — CPU evaluation benchmark: `srs eval` at every CPU level this machine runs
# (forced with SRS_CPU) against the NumPy peer (bench/eval_peer.py) on the same overopt data,
# same designs, betas, best-of-n and replicates; writes results/cpu-eval.md with the command,
# machine, CPU flags, date, load average and same-run ratios.
#
# Overrides (environment): SRS_EVAL_LEVELS (every level this CPU runs), SRS_EVAL_PROMPTS (200000), SRS_EVAL_SAMPLES (16), SRS_EVAL_REPS (3),
# SRS_EVAL_REPLICATES (200), SRS_EVAL_OUT (results/cpu-eval.md), SRS_BIN (build/srs).
set -euo pipefail
cd "$(dirname "$0")/.."
P=${SRS_EVAL_PROMPTS:-200000}
N=${SRS_EVAL_SAMPLES:-16}
REPS=${SRS_EVAL_REPS:-3}
R=${SRS_EVAL_REPLICATES:-200}
OUT=${SRS_EVAL_OUT:-results/cpu-eval.md}
SRS=${SRS_BIN:-build/srs}
PY=/usr/bin/python3
LAMBDAS=0.25,0.5,1,2,4
BON=2,4,8,16
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
date_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
"$SRS" gen --scenario overopt --prompts "$P" --samples "$N" --seed 1 --dtype f64 -o "$tmp/d.npy"
cells=$((12 * 5))
LEVELS=" ${SRS_EVAL_LEVELS:-$(bash scripts/cpu-levels.sh "$SRS")}"
declare -A best_srs
for lv in $LEVELS; do
    for i in $(seq "$REPS"); do
        t=$(SRS_CPU=$lv "$SRS" eval "$tmp/d.npy" --config configs/default.ini --replicates "$R" --plot none \
            --out "$tmp/run" -q | sed -n 's/.* in \([0-9.]*\) s$/\1/p' | head -1)
        if [[ -z "${best_srs[$lv]:-}" ]] || awk "BEGIN{exit !($t < ${best_srs[$lv]})}"; then best_srs[$lv]=$t; fi
    done
done
best_np=""
for i in $(seq "$REPS"); do
    t=$("$PY" bench/eval_peer.py "$tmp/d.npy" "$tmp/d.gold.npy" "$R" 15 2 1 "$LAMBDAS" "$BON" | sed -n 's/^seconds //p')
    if [[ -z "$best_np" ]] || awk "BEGIN{exit !($t < $best_np)}"; then best_np=$t; fi
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
np_ver=$("$PY" -c 'import numpy; print(numpy.__version__)')
flags=$(grep -m1 -E '^(flags|Features)' /proc/cpuinfo | tr ' ' '\n' | grep -xE 'avx2|fma|avx512f|avx512bw|asimd' | tr '\n' ' ')
np_tp=$(awk -v p="$P" -v c="$cells" -v b="$best_np" 'BEGIN{printf "%.3g", p*c/b}')
rows=""
verdict=""
for lv in $LEVELS; do
    read -r srs_tp ratio < <(awk -v p="$P" -v c="$cells" -v a="${best_srs[$lv]}" -v b="$best_np" \
        'BEGIN{printf "%.3g %.1f\n", p*c/a, b/a}')
    rows+="| srs eval at CPU level $lv ($(nproc) threads) | ${best_srs[$lv]} | $srs_tp | **${ratio}×** |"$'\n'
    verdict+="- $lv: $(awk -v r="$ratio" 'BEGIN{print (r >= 10 ? "met" : "not met")}') (${ratio}×)"$'\n'
done
mkdir -p "$(dirname "$OUT")"
cat > "$OUT" <<MD
# CPU evaluation benchmark: \`srs eval\` against NumPy

- command: \`bash bench/run_eval.sh\` (SRS_EVAL_PROMPTS=$P SRS_EVAL_SAMPLES=$N SRS_EVAL_REPLICATES=$R, best of $REPS runs each)
- date: $date_utc
- machine: $cpu, $(nproc) cores; load average before $load_before, after $load_after
- CPU flags: ${flags:-none of avx2, fma, avx512f, avx512bw, asimd}; CPU levels measured (SRS_CPU):$LEVELS
- NumPy $np_ver (peer: bench/eval_peer.py, OpenBLAS matrix product for the bootstrap)
- data: \`srs gen --scenario overopt --prompts $P --samples $N --seed 1\` (float64 NPY, gold companion)
- work: configs/default.ini — 12 arms (base, raw, hard, soft α 1, minmax, meanstd, cap, meansoft,
  best-of-2/4/8/16) × 5 β (1/β = 0.25 … 4), paper-cd B 15, threshold re-solved per β, 8 metrics,
  $R Poisson bootstrap replicates, 95% percentile intervals. srs time: the accumulation and
  finalisation (\`srs eval\`'s own timing line, file already mapped); NumPy time: the same work after
  loading the arrays. Every level gives the same bits (tests/test_levels.c).

| implementation | seconds | prompts × designs × β per second | ratio |
|---|---:|---:|---:|
${rows}| NumPy peer | $best_np | $np_tp | 1× |

Target: ≥ 10× NumPy on the CPU at every level:
${verdict}
MD
cat "$OUT"
