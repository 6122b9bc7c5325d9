#!/usr/bin/env bash
# tests/mpi/run.sh — srs under mpirun: 1, 2, 3 and 4 ranks (oversubscribed,
# CPU backend) give byte-identical outputs for every input and output format,
# for prompt counts not divisible by the rank count and ragged rows; a rank
# that fails (a NaN in its rows) fails the job with a message naming the rank,
# file and line, and leaves no output and no part files.
#
#   bash tests/mpi/run.sh [SRS_BIN]      (default build/srs)
#
# Ends with "N passed, N failed, N skipped"; exits 1 on any failure. Skips
# (exit 0) with a message when srs was built without MPI or mpirun is missing.
set -uo pipefail
cd "$(dirname "$0")/../.."
SRS=${1:-${SRS_BIN:-build/srs}}
pass=0 fail=0 skip=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
finish() { echo "$pass passed, $fail failed, $skip skipped"; ((fail == 0)); exit $?; }

if ! "$SRS" --version 2>/dev/null | grep -q "MPI: compiled in"; then
    echo "skipped: $SRS was built without MPI (install libopenmpi-dev openmpi-bin and rebuild)"
    skip=1; finish
fi
if ! command -v mpirun >/dev/null; then
    echo "skipped: mpirun not found (apt-get install openmpi-bin)"
    skip=1; finish
fi
T=$(mktemp -d /tmp/srs-mpi-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
# --oversubscribe: 4 ranks on 2 cores; root in CI containers.
MR=(timeout 120 mpirun --oversubscribe --allow-run-as-root --mca btl self,vader -np)
export OMP_NUM_THREADS=1

# Data: 1001 prompts (divisible by none of 2, 3, 4), ragged JSONL with logw
# and gold, ragged CSV, dense NPY with a gold companion; and the tiny cases
# (fewer prompts than ranks, one prompt).
"$SRS" gen -q -o "$T/r.jsonl" --prompts 1001 --samples 9 --ragged --with-logw --seed 3 || bad "gen jsonl"
"$SRS" gen -q -o "$T/r.csv" --prompts 1001 --samples 6 --ragged --seed 4 || bad "gen csv"
"$SRS" gen -q -o "$T/r.npy" --prompts 1001 --samples 8 --seed 5 || bad "gen npy"
"$SRS" gen -q -o "$T/r32.npy" --prompts 999 --samples 5 --dtype f32 --seed 6 || bad "gen npy f32"
"$SRS" gen -q -o "$T/tiny.jsonl" --prompts 3 --samples 4 --ragged --seed 7 || bad "gen tiny"
"$SRS" gen -q -o "$T/one.csv" --prompts 1 --samples 50 --seed 8 || bad "gen one"
# JSONL without prompt ids (row-index ids continue across ranks), blank lines
# and CRLF line ends at places a boundary may fall.
sed -e 's/"prompt_id": [^,]*, //' -e '50s/$/\r/' -e '100a\\' "$T/r.jsonl" >"$T/noid.jsonl"

OPTS=(--preset paper-cd --B 15 --beta 0.667 -q)
check_same() {   # name, command, input, output extension
    local name=$1 cmd=$2 in=$3 ext=$4 n
    if ! "$SRS" "$cmd" "$in" "${OPTS[@]}" -o "$T/ref.$ext" 2>"$T/err"; then
        bad "$name: single process failed: $(cat "$T/err")"; return
    fi
    for n in 1 2 3 4; do
        rm -f "$T/out.$ext" "$T/out.thresholds.npy"
        if ! "${MR[@]}" "$n" "$SRS" "$cmd" "$in" "${OPTS[@]}" -o "$T/out.$ext" >"$T/log" 2>&1; then
            bad "$name: $n ranks failed: $(grep 'srs:' "$T/log" | head -3)"; continue
        fi
        if ! cmp -s "$T/ref.$ext" "$T/out.$ext"; then bad "$name: $n ranks: output differs"; continue; fi
        if [[ $cmd == shape && $ext == npy ]] && ! cmp -s "$T/ref.thresholds.npy" "$T/out.thresholds.npy"; then
            bad "$name: $n ranks: thresholds companion differs"; continue
        fi
        ok
    done
}

for in in r.jsonl r.csv r.npy r32.npy noid.jsonl tiny.jsonl one.csv; do
    for ext in jsonl csv npy; do
        check_same "threshold $in -> $ext" threshold "$T/$in" "$ext"
        case $in in r.npy|r32.npy|one.csv) check_same "shape $in -> $ext" shape "$T/$in" "$ext" ;; esac
        case $in in r.jsonl|r.csv|tiny.jsonl|noid.jsonl) [[ $ext != npy ]] && check_same "shape $in -> $ext" shape "$T/$in" "$ext" ;; esac
    done
done

# The ranks agree with the bitwise thresholds of other solvers too.
OPTS=(--solver dinkelbach --B 3 --beta 0.5 -q)
check_same "dinkelbach r.jsonl" threshold "$T/r.jsonl" jsonl

# A failing rank: a NaN in a prompt that rank 2 of 4 owns.
python3 - "$T" <<'EOF' || bad "making bad inputs"
import struct, sys
t = sys.argv[1]
b = bytearray(open(t + '/r.npy', 'rb').read())
hl = 10 + struct.unpack('<H', b[8:10])[0]
struct.pack_into('<d', b, hl + (700 * 8 + 3) * 8, float('nan'))
open(t + '/bad.npy', 'wb').write(b)
L = open(t + '/r.jsonl').read().split('\n')
L[700] = L[700].replace('"rewards": [', '"rewards": [NaN, ', 1)
open(t + '/bad.jsonl', 'w').write('\n'.join(L))
EOF
check_fail() {   # input, expected message
    local in=$1 want=$2
    rm -f "$T"/fail.*
    "${MR[@]}" 4 "$SRS" threshold "$T/$in" -q -o "$T/fail.jsonl" >"$T/log" 2>&1
    local rc=$?
    if ((rc == 0)); then bad "$in: 4 ranks exited 0"; return; fi
    if ! grep -qF "srs: rank 2 of 4: $T/$in$want" "$T/log"; then
        bad "$in: no message naming rank 2 and '$want': $(grep 'srs:' "$T/log" | head -3)"; return
    fi
    if ! grep -q "no output written" "$T/log"; then bad "$in: no 'no output written'"; return; fi
    if compgen -G "$T/fail.*" >/dev/null; then bad "$in: files left behind: $(ls "$T"/fail.*)"; return; fi
    ok
}
check_fail bad.jsonl ':701: non-finite value'
check_fail bad.npy ': row 700, sample 3: reward is nan'

# CSV whose quoted fields hold line breaks (blank lines and CRLF among them),
# commas and "" escapes, with literal quotes in unquoted fields and one very
# long quoted field: part boundaries fall inside quoted fields, and every
# rank count reads what one process reads (issue 13, item 8: -np 2 said
# "unterminated quoted field").
python3 - "$T" <<'EOF' || bad "making quoted CSV inputs"
import random, sys
t = sys.argv[1]
r = random.Random(5)
L = ['prompt_id,reward,gold\r\n']
for i in range(600):
    k = i % 6
    pid = ['p%d' % i, '"q%d\nsecond line"' % i, '"c,%d ""x"""' % i, 'u"%d' % i,
           '"s%d\r\n\r\n"  ' % i, '"m%d\n\n,\n""\n"' % i][k]
    for j in range(r.randint(1, 3)):
        L.append('%s,%.6f,%d%s' % (pid, r.gauss(0, 1), j, '\r\n' if i % 4 == 1 else '\n'))
    if i % 9 == 4:
        L.append(' \t\r\n')
    if i == 300:
        L.append('"long' + '\n""x"",' * 3000 + '",1,2\n')
open(t + '/quoted.csv', 'w', newline='').write(''.join(L))
open(t + '/one-break.csv', 'w').write('prompt_id,reward\n"a\nb",1\n"a\nb",2\nc,3\n')
EOF
OPTS=(--preset paper-cd --B 15 --beta 0.667 -q)
for in in quoted.csv one-break.csv; do
    for ext in jsonl csv; do check_same "threshold $in -> $ext" threshold "$T/$in" "$ext"; done
done

# A prompt id repeated further down the file, in another rank's part: every
# rank count fails as one process does, with its message, and writes
# nothing (issue 13, item 7: accepted under -np 3). CSV (the issue's file, a
# long one), JSONL (explicit ids, and an id equal to an earlier row index).
printf 'prompt_id,reward\na,1\nb,2\nc,3\nd,4\na,5\n' >"$T/rep.csv"
{ cat "$T/r.csv"; head -3 "$T/r.csv" | tail -2; } >"$T/rep-long.csv"
python3 - "$T" <<'EOF' || bad "making repeated-id inputs"
import json, sys
t = sys.argv[1]
L = open(t + '/r.jsonl').read().split('\n')
first = json.loads(L[0])['prompt_id']
o = json.loads(L[900]); o['prompt_id'] = first; L[900] = json.dumps(o)
open(t + '/rep.jsonl', 'w').write('\n'.join(L))
N = open(t + '/noid.jsonl').read()
o = json.loads(N.split('\n')[0]); o['prompt_id'] = 3   # row 3 has no id: its id is 3
open(t + '/rep-idx.jsonl', 'w').write(N + json.dumps(o) + '\n')
EOF
check_same_failure() {   # input: one process's message, given by every rank count
    local in=$1 n msg
    rm -f "$T"/fail.*
    if "$SRS" threshold "$T/$in" -q -o "$T/fail.jsonl" 2>"$T/err"; then bad "$in: one process accepted it"; return; fi
    msg=$(grep -m1 '^srs: ' "$T/err"); msg=${msg#srs: }
    [[ -n $msg ]] || { bad "$in: one process gave no message"; return; }
    for n in 2 3 4; do
        rm -f "$T"/fail.*
        if "${MR[@]}" "$n" "$SRS" threshold "$T/$in" -q -o "$T/fail.jsonl" >"$T/log" 2>&1; then
            bad "$in: $n ranks accepted it"; continue
        fi
        if ! grep -qF -- " of $n: $msg" "$T/log"; then
            bad "$in: $n ranks: not one process's message '$msg': $(grep 'srs:' "$T/log" | head -3)"; continue
        fi
        if compgen -G "$T/fail.*" >/dev/null; then bad "$in: $n ranks left files: $(ls "$T"/fail.*)"; continue; fi
        ok
    done
}
for in in rep.csv rep-long.csv rep.jsonl rep-idx.jsonl; do check_same_failure "$in"; done

# srs eval: each rank accumulates its own prompts (bootstrap keyed by global
# index), sums are added in rank order; means and bounds within 1e-12
# relative of one process (paired differences against raw relative to their
# level), and only rank 0 writes the results.
EVOPTS=(--config configs/paper-cd.ini --replicates 50 -q)
if "$SRS" eval "$T/r.jsonl" "${EVOPTS[@]}" --out "$T/ev-ref" >/dev/null 2>"$T/err"; then
    for n in 1 2 3 4; do
        rm -rf "$T/ev-$n"
        if ! "${MR[@]}" "$n" "$SRS" eval "$T/r.jsonl" "${EVOPTS[@]}" --out "$T/ev-$n" >"$T/log" 2>&1; then
            bad "eval: $n ranks failed: $(grep 'srs:' "$T/log" | head -3)"; continue
        fi
        if /usr/bin/python3 - "$T/ev-ref/metrics.csv" "$T/ev-$n/metrics.csv" <<'PY'
import csv, math, sys
a = list(csv.reader(open(sys.argv[1])))
b = list(csv.reader(open(sys.argv[2])))
assert len(a) == len(b) and a[0] == b[0], "shape or header differs"
h = a[0]
# A paired difference against raw (m_vs_raw, _lo, _hi) is the difference of two
# means summed in another order: relative to the level m, not to itself, which
# can be near 0.
scale_col = [h.index(c.split("_vs_raw")[0]) if "_vs_raw" in c else None for c in h]
def num(v):
    try:
        return abs(float(v))
    except ValueError:
        return 0.0
worst = 0.0
for ra, rb in zip(a[1:], b[1:]):
    for j, (x, y) in enumerate(zip(ra, rb)):
        try:
            fx, fy = float(x), float(y)
        except ValueError:
            assert x == y, (x, y)
            continue
        if math.isnan(fx) and math.isnan(fy):
            continue
        scale = max(1e-300, abs(fx), abs(fy))
        if scale_col[j] is not None:
            scale = max(scale, num(ra[scale_col[j]]), num(rb[scale_col[j]]))
        worst = max(worst, abs(fx - fy) / scale)
assert worst <= 1e-12, "worst relative difference %.3g" % worst
PY
        then ok; else bad "eval: $n ranks: metrics differ from one process"; fi
    done
    "${MR[@]}" 4 "$SRS" eval "$T/bad.jsonl" "${EVOPTS[@]}" --out "$T/ev-bad" >"$T/log" 2>&1
    if [[ $? -ne 0 ]] && grep -q "bad.jsonl:701" "$T/log" && [[ ! -e "$T/ev-bad/metrics.csv" ]]; then ok
    else bad "eval: a failing rank: $(grep 'srs:' "$T/log" | head -2)"; fi
else
    bad "eval: single process failed: $(cat "$T/err")"
fi

# srs score: each rank scores its share of the prompts (reading only those
# rows of the hidden states); rewards and thresholds byte-identical to one
# process in every format, also with fewer prompts than ranks.
/usr/bin/python3 - "$T" <<'PY'
import sys, numpy as np
t = sys.argv[1]
rng = np.random.default_rng(5)
np.save(t + '/hid.npy', rng.standard_normal((1001 * 4, 8)).astype(np.float32))
np.save(t + '/hid3.npy', rng.standard_normal((3 * 4, 8)).astype(np.float32))
np.save(t + '/head.npy', rng.standard_normal((8, 2)).astype(np.float32))
PY
for h in hid hid3; do
    for ext in jsonl csv npy; do
        SC=(score --hidden "$T/$h.npy" --head "$T/head.npy" --head-index 1 --row-len 4 -q --preset paper-cd --B 15)
        if ! "$SRS" "${SC[@]}" -o "$T/sref.$ext" --then-threshold "$T/stref.$ext" 2>"$T/err"; then
            bad "score $h -> $ext: single process failed: $(cat "$T/err")"; continue
        fi
        for n in 1 2 3 4; do
            rm -f "$T/sout.$ext" "$T/stout.$ext"
            if ! "${MR[@]}" "$n" "$SRS" "${SC[@]}" -o "$T/sout.$ext" --then-threshold "$T/stout.$ext" >"$T/log" 2>&1; then
                bad "score $h -> $ext: $n ranks failed: $(grep 'srs:' "$T/log" | head -3)"; continue
            fi
            if cmp -s "$T/sref.$ext" "$T/sout.$ext" && cmp -s "$T/stref.$ext" "$T/stout.$ext"; then ok
            else bad "score $h -> $ext: $n ranks: output differs"; fi
        done
    done
done
# without --row-len: one output row per sample (all heads)
"$SRS" score --hidden "$T/hid.npy" --head "$T/head.npy" -q -o "$T/pref.jsonl" 2>"$T/err" || bad "score per sample: $(cat "$T/err")"
"${MR[@]}" 3 "$SRS" score --hidden "$T/hid.npy" --head "$T/head.npy" -q -o "$T/pout.jsonl" >"$T/log" 2>&1
if cmp -s "$T/pref.jsonl" "$T/pout.jsonl"; then ok; else bad "score per sample: 3 ranks differ"; fi

# Standard output cannot be shared by several ranks: a clear usage error.
"${MR[@]}" 2 "$SRS" threshold "$T/r.jsonl" -q >"$T/log" 2>&1
if [[ $? -ne 0 ]] && grep -q "give -o FILE" "$T/log"; then ok; else bad "stdout with 2 ranks"; fi

finish
