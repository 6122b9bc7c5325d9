#!/usr/bin/env bash
# run_cpu.sh — the CPU threshold benchmark (`make bench`).
#
# For each n in {16, 64, 256, 1024}: generates 2^24 float32 rewards in total
# (2^24/n prompts) with `srs gen`, then on that same file runs bench_cpu (a
# streaming read and srs_thresholds with every solver) once per CPU level this
# machine runs, forced with SRS_CPU (v2, v3, v4 on x86-64), and bench/peers.py
# (NumPy vectorised bisection, NumPy sort-based exact root, SciPy bisect per
# prompt), and writes results/cpu-threshold.md with the command, machine, CPU
# flags, date, a table per n and the targets judged from the numbers.
#
# Overrides (environment): SRS_BENCH_LEVELS (every level this CPU runs), SRS_BENCH_NS ("16 64 256 1024"), SRS_BENCH_SAMPLES
# (total per n, 16777216), SRS_BENCH_REPS (10), SRS_BENCH_THREADS (nproc),
# SRS_BENCH_OUT (results/cpu-threshold.md), SRS_BENCH_SCIPY_SECONDS (2).
set -euo pipefail
cd "$(dirname "$0")/.."

NS=${SRS_BENCH_NS:-"16 64 256 1024"}
TOTAL=${SRS_BENCH_SAMPLES:-16777216}
REPS=${SRS_BENCH_REPS:-10}
THREADS=${SRS_BENCH_THREADS:-$(nproc)}
OUT=${SRS_BENCH_OUT:-results/cpu-threshold.md}
SCIPY_SECONDS=${SRS_BENCH_SCIPY_SECONDS:-2}
PY=/usr/bin/python3   # Debian's python3, where install-deps.sh puts NumPy and SciPy

# The paper's Controlled Decoding setting is the main configuration.
PRESET=paper-cd
B=15
BETA=0.667

# How this run was started, for the report: make or the script, plus overrides.
if [[ -n "${MAKELEVEL:-}" ]]; then cmd="make bench"; else cmd="bash bench/run_cpu.sh"; fi
for v in SRS_BENCH_LEVELS SRS_BENCH_NS SRS_BENCH_SAMPLES SRS_BENCH_REPS SRS_BENCH_THREADS SRS_BENCH_OUT \
         SRS_BENCH_SCIPY_SECONDS; do
    if [[ -n "${!v:-}" ]]; then cmd="$v=\"${!v}\" $cmd"; fi
done
date_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)
loadavg=$(cat /proc/loadavg 2>/dev/null || true)

bash scripts/install-deps.sh --bench
make -s all

# bench_cpu links the static library with the same libraries as srs.
make -s build/bench_cpu

# Every CPU level compiled in that this machine runs, lowest first.
LEVELS=" ${SRS_BENCH_LEVELS:-$(bash scripts/cpu-levels.sh build/srs)}"
echo "== CPU levels: $LEVELS" >&2

tmp=$(mktemp -d "${TMPDIR:-/tmp}/srs-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

details=()
logs=()
for n in $NS; do
    prompts=$((TOTAL / n))
    echo "== n = $n: $prompts prompts x $n samples" >&2
    gen=(build/srs gen --scenario overopt --prompts "$prompts" --samples "$n" --seed 1
         --dtype f32 -o "$tmp/n$n.npy")
    cpu=(build/bench_cpu "$tmp/n$n.npy" --preset $PRESET --B $B --beta $BETA --solver all
         --reps "$REPS" --threads "$THREADS" --out "$tmp/n$n.mstar.f64")
    peers=("$PY" bench/peers.py "$tmp/n$n.npy" --preset $PRESET --B $B --beta $BETA
           --mstar "$tmp/n$n.mstar.f64" --scipy-min-seconds "$SCIPY_SECONDS")
    # The machine's load when this n starts: the report shows it beside the
    # table, since anything else running shares the cores with the benchmark.
    read -r l1 l5 l15 _ < /proc/loadavg
    echo "LOAD n=$n avg1=$l1 avg5=$l5 avg15=$l15" > "$tmp/load$n.log"
    "${gen[@]}" >&2
    logs+=("$tmp/load$n.log")
    details+=("${gen[*]//$tmp/DIR}")
    for lv in $LEVELS; do
        # the last level's m* (any level: they agree) is what the peers are checked against
        SRS_CPU=$lv "${cpu[@]}" | tee "$tmp/cpu$n-$lv.log"
        logs+=("$tmp/cpu$n-$lv.log")
        details+=("SRS_CPU=$lv ${cpu[*]//$tmp/DIR}")
    done
    "${peers[@]}" | tee "$tmp/peers$n.log"
    logs+=("$tmp/peers$n.log")
    details+=("${peers[*]//$tmp/DIR}")
    # 64 MiB per file (plus companions): keep only one n on disk at a time.
    rm -f "$tmp"/n"$n".*
done

detail_args=()
for d in "${details[@]}"; do detail_args+=(--detail "$d"); done
mkdir -p "$(dirname "$OUT")"
"$PY" bench/report_cpu.py --command "$cmd" --date "$date_utc" --loadavg "$loadavg" --levels "$LEVELS" "${detail_args[@]}" \
    "${logs[@]}" > "$tmp/report.md"
mv "$tmp/report.md" "$OUT"
echo "wrote $OUT" >&2
