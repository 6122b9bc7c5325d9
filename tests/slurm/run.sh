#!/usr/bin/env bash
# tests/slurm/run.sh — the Slurm templates on a real single-node cluster:
# starts munged, slurmctld and slurmd on localhost (tests/slurm/cluster.sh),
# submits configs/slurm/* with sbatch --wait on small data and checks:
#   1. the threshold job (2 MPI ranks) gives the single-process outputs, byte for byte;
#   2. a rerun skips every complete, verified output, and redoes a corrupted one;
#   3. the nightly array + collect job: an interrupted run (one task fails,
#      leftovers of a killed task on disk) resumed gives the summary of an
#      uninterrupted run, and leaves no partial outputs.
#
#   bash tests/slurm/run.sh [SRS_BIN]      (root; installs munge and Slurm if missing)
#
# Prints "skipped: ..." and exits 0 where the packages cannot be installed or
# not root. Ends with "N passed, N failed, N skipped"; the daemons are always
# stopped (trap), and every wait has a timeout.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SRS=$(realpath "${1:-${SRS_BIN:-build/srs}}")
pass=0 fail=0 skip=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
finish() { echo "$pass passed, $fail failed, $skip skipped"; ((fail == 0)); exit $?; }
skipped() { echo "skipped: $*"; skip=1; finish; }

[[ $(id -u) -eq 0 ]] || skipped "the Slurm test starts daemons as root (run as root)"
pkgs=(munge slurmctld slurmd slurm-client)
missing=()
for p in "${pkgs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
if ((${#missing[@]})); then
    echo "srs: installing ${missing[*]} for the Slurm test"
    export DEBIAN_FRONTEND=noninteractive
    { timeout 300 apt-get update -qq && timeout 600 apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >/dev/null 2>&1 ||
        skipped "cannot install ${missing[*]} (apt-get failed: no network or no Debian archive)"
fi
"$SRS" --version >/dev/null 2>&1 || { bad "no srs binary at $SRS (run make first)"; finish; }

W=$(mktemp -d /tmp/srs-slurm-test.XXXXXX)
source tests/slurm/cluster.sh
trap 'slurm_stop; [[ -n ${SRS_TEST_KEEP:-} ]] || rm -rf "$W"' EXIT
trap 'exit 130' INT TERM
t0=$(date +%s)
slurm_start "$W/cluster" || { bad "the Slurm cluster did not start"; finish; }
echo "srs: Slurm cluster up in $(($(date +%s) - t0)) s"
export SRS=$SRS SRS_SLURM_DIR=$ROOT/configs/slurm OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
SB=(timeout 180 sbatch --wait --quiet --nodes=1 --cpus-per-task=1 --chdir="$W")

# ---- 1. multi-rank threshold precomputation --------------------------------
mkdir -p "$W/data"
for i in 0 1 2; do "$SRS" gen -q -o "$W/data/shard$i.jsonl" --prompts $((301 + i)) --samples 9 --ragged --seed $((10 + i)); done
"$SRS" gen -q -o "$W/data/shard3.npy" --prompts 257 --samples 16 --seed 20
# srun --mpi=pmix where Slurm and OpenMPI speak PMIx, else mpirun inside the allocation.
launch=()
if "$SRS" --version | grep -q "MPI: compiled in"; then
    if ! (cd "$W" && timeout 60 srun --quiet --mpi=pmix -n 2 --oversubscribe "$SRS" threshold data/shard0.jsonl -q -o probe.jsonl) >"$W/probe.log" 2>&1; then
        echo "srs: srun --mpi=pmix does not start MPI here ($(tail -1 "$W/probe.log")); the jobs use mpirun"
        launch=(--export=ALL,SRS_LAUNCH="mpirun --oversubscribe -np 2")
    fi
else
    echo "srs: $SRS has no MPI: the jobs run one process per step"
    launch=(--export=ALL,SRS_LAUNCH=)
fi
run_thr() {
    (export SRS_INPUTS="data/*.jsonl data/shard3.npy" SRS_OUT=thr
     "${SB[@]}" --ntasks=2 --ntasks-per-node=2 --output="$W/thr.out" --open-mode=append "${launch[@]}" "$ROOT/configs/slurm/threshold.sbatch")
}
if run_thr; then ok "threshold.sbatch ran"; else bad "threshold.sbatch failed: $(tail -5 "$W/thr.out")"; fi
same=1
for f in "$W"/data/shard{0,1,2}.jsonl "$W"/data/shard3.npy; do
    stem=$(basename "${f%.*}")
    "$SRS" threshold "$f" --preset paper-cd --B 15 --beta 0.667 -q -o "$W/ref-$stem.jsonl"
    cmp -s "$W/ref-$stem.jsonl" "$W/thr/$stem.thresholds.jsonl" || { same=0; echo "  differs: $stem"; }
done
((same)) && ok "threshold job outputs equal the single-process ones" || bad "threshold job outputs differ"

# ---- 2. resume: complete outputs skipped, a corrupted one redone -------------
stamp=$(stat -c %Y.%s "$W/thr/shard0.thresholds.jsonl")
printf 'x' >>"$W/thr/shard2.thresholds.jsonl"
: >"$W/thr/shard1.thresholds.jsonl.tmp.AbC123"   # what a killed run leaves
: >"$W/thr.out"
if run_thr; then ok "threshold.sbatch rerun"; else bad "threshold.sbatch rerun failed"; fi
n_skip=$(grep -c "complete and verified, skipped" "$W/thr.out")
[[ $n_skip -eq 3 ]] && ok "rerun skipped the 3 verified outputs" || bad "rerun skipped $n_skip outputs, not 3: $(cat "$W/thr.out")"
[[ $(stat -c %Y.%s "$W/thr/shard0.thresholds.jsonl") == "$stamp" ]] && ok "a skipped output is untouched" || bad "shard0 rewritten"
cmp -s "$W/ref-shard2.jsonl" "$W/thr/shard2.thresholds.jsonl" && ok "the corrupted output was redone" || bad "shard2 not redone"
[[ ! -e $W/thr/shard1.thresholds.jsonl.tmp.AbC123 ]] && ok "leftover temporary removed" || bad "leftover temporary kept"

# ---- 3. nightly array + collect: interrupted, resumed ------------------------
cat >"$W/list.txt" <<LIST
# name input options
a   $W/data/shard0.jsonl --beta 1,0.5 --replicates 20
b   $W/data/shard1.jsonl --beta 1,0.5 --replicates 20 --designs raw,hard,soft
c   $W/data/late.jsonl   --beta 2 --replicates 20
LIST
nightly() {   # results directory (its job logs in DIR-logs); waits for the collecting job
    mkdir -p "$W/$1-logs"
    (cd "$W/$1-logs" && SRS_RESULTS=$W/$1 SRS_WAIT=1 timeout 300 bash "$ROOT/configs/slurm/nightly.sh" "$W/list.txt" \
        >/dev/null 2>&1)
}
# Interrupted: c's input is not there yet (the task fails), and a killed
# earlier attempt left a temporary run directory behind.
mkdir -p "$W/res1/a.tmp.999" && : >"$W/res1/a.tmp.999/metrics.csv"
nightly res1 && bad "collect succeeded with a task failing" || ok "collect fails and names the missing run"
grep -q "missing results: c" "$W"/res1-logs/srs-collect-*.out 2>/dev/null && ok "collect lists run c as missing" ||
    bad "collect did not name c: $(cat "$W"/res1-logs/srs-collect-*.out 2>/dev/null | tail -3)"
[[ ! -e $W/res1/c && ! -e $W/res1/c.done ]] && ok "no partial output of the failed task" || bad "partial output of c"
cp "$W/data/shard2.jsonl" "$W/data/late.jsonl"
rm -f "$W"/res1-logs/*.out
nightly res1 && ok "resumed nightly run completes" || bad "resumed nightly run failed: $(cat "$W"/res1-logs/*.out | tail -3)"
n_skip=$(cat "$W"/res1-logs/srs-nightly-*.out 2>/dev/null | grep -c "complete and verified, skipped")
[[ $n_skip -eq 2 ]] && ok "resume skipped the 2 finished tasks" || bad "resume skipped $n_skip tasks, not 2"
nightly res2 && ok "uninterrupted nightly run completes" || bad "uninterrupted nightly run failed"
# Evaluation means agree to 1e-12 relative (srs eval adds its threads'
# partial sums in whatever order they finish, so the last bits may differ
# between any two runs); text cells exactly.
same_csv() {
    python3 - "$1" "$2" <<'PY'
import csv, sys
a, b = (list(csv.reader(open(f))) for f in sys.argv[1:3])
if len(a) != len(b) or len(a) < 2: sys.exit("rows: %d vs %d" % (len(a), len(b)))
for i, (ra, rb) in enumerate(zip(a, b)):
    if len(ra) != len(rb): sys.exit("row %d: %d vs %d cells" % (i, len(ra), len(rb)))
    for x, y in zip(ra, rb):
        try: fx, fy = float(x), float(y)
        except ValueError:
            if x != y: sys.exit("row %d: %r vs %r" % (i, x, y))
            continue
        if abs(fx - fy) > 1e-12 * max(abs(fx), abs(fy)) + 1e-15: sys.exit("row %d: %r vs %r" % (i, x, y))
PY
}
if [[ -s $W/res1/summary.csv ]] && why=$(same_csv "$W/res1/summary.csv" "$W/res2/summary.csv" 2>&1); then
    ok "resumed summary equals the uninterrupted one ($(($(wc -l <"$W/res2/summary.csv") - 1)) rows)"
else
    bad "summaries differ or are empty: ${why:-}"
fi
n_a=$(grep -c '^a,' "$W/res2/summary.csv"); n_b=$(grep -c '^b,' "$W/res2/summary.csv")
((n_a > n_b && n_b > 0)) && ok "each run's options reached srs eval (a: $n_a rows, b: $n_b)" || bad "options not applied (a: $n_a rows, b: $n_b)"
[[ -s $W/res2/summary.md ]] && ok "summary.md written" || bad "no summary.md"
if command -v gnuplot >/dev/null; then
    [[ -s $W/res2/summary.png ]] && ok "summary.png written" || bad "no summary.png"
fi
left=$(find "$W/res1" "$W/res2" "$W/thr" -name '*.tmp*' -o -name '*.part-*' | head -3)
[[ -z $left ]] && ok "no temporaries or part files left" || bad "left behind: $left"
echo "srs: Slurm test took $(($(date +%s) - t0)) s"
finish
