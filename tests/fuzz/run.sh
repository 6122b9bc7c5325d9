#!/usr/bin/env bash
# tests/fuzz/run.sh [SECONDS] — the libFuzzer harnesses (make fuzz, make fuzz-smoke).
#
# Builds a CPU-only, single-threaded libsrs with clang, ASan, UBSan (no
# recovery: undefined behaviour aborts) and coverage into build-fuzz/, links
# the harnesses of tests/fuzz/ against it, seeds their corpora from srs gen
# (every format, dense and ragged, with logw) and the repository's configs,
# and runs each for SECONDS (default 60). A crash, a sanitizer report or a
# broken property fails the run; the input is kept as build-fuzz/crash-*.
# Prints executions and edges per harness; FUZZ_REPORT=FILE also writes them
# as a Markdown report (results/fuzz.md). FUZZ_TARGETS picks harnesses
# (default: jsonl csv npy config parts). FUZZ_RUNS=N (make fuzz-smoke, CI): N
# executions per harness from a fresh corpus with a fixed seed, so the run
# explores nearly the same inputs each time and on every machine (at CPU level v2 on x86-64; SECONDS
# then only caps it).
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-60}
targets=${FUZZ_TARGETS:-jsonl csv npy config parts}
B=build-fuzz
bash scripts/install-deps.sh --fuzz

make -s all >/dev/null   # build/srs (gcc) writes the seeds
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
make -s CC=clang NO_CUDA=1 MPI=0 NO_OMP=1 BUILD=$B OPT="-O1" SAN="$san -fsanitize=fuzzer-no-link" \
    $B/libsrs.a >/dev/null
flags=(-g -O1 -std=c11 -D_GNU_SOURCE -Wall -Iinclude -Ihost -Ihost/cli -Ihost/io -fsanitize=fuzzer $san)
libs=($B/libsrs.a -ljansson -lopenblas -linih -lm)
for t in $targets; do
    case $t in
        jsonl|csv|npy) clang "${flags[@]}" -DFUZZ_FORMAT="SRS_FMT_${t^^}" tests/fuzz/fuzz_pipeline.c "${libs[@]}" -o $B/fuzz_$t ;;
        config)        clang "${flags[@]}" tests/fuzz/fuzz_config.c "${libs[@]}" -o $B/fuzz_$t ;;
        parts)         clang "${flags[@]}" tests/fuzz/fuzz_parts.c "${libs[@]}" -o $B/fuzz_$t ;;
        *) echo "fuzz: unknown target $t" >&2; exit 2 ;;
    esac
done

# seeds: small files of every shape srs gen makes, and the shipped configs
seeds=$B/seeds
rm -rf "$seeds"
mkdir -p "$seeds"/{jsonl,csv,npy,config,parts}
i=0
for args in "--prompts 3 --samples 4" "--prompts 4 --samples 6 --ragged" "--prompts 2 --samples 5 --with-logw" \
            "--scenario twopoint --prompts 2" "--scenario gauss --prompts 3 --samples 3 --ragged --with-logw"; do
    for fmt in jsonl csv npy; do
        [[ $fmt == npy && $args == *ragged* ]] && continue
        # shellcheck disable=SC2086
        build/srs gen $args --seed $((i + 1)) -q -o "$seeds/$fmt/seed$i.$fmt" 2>/dev/null || true
        rm -f "$seeds/$fmt"/seed$i.gold.npy "$seeds/$fmt"/seed$i.logw.npy
    done
    i=$((i + 1))
done
cp configs/*.ini "$seeds/config/"
# parts: a first byte (format and part count) before a CSV or JSONL seed
for f in "$seeds"/csv/* "$seeds"/jsonl/*; do
    [[ $f == *.csv ]] && b='\x02' || b='\x03'
    { printf "$b"; cat "$f"; } > "$seeds/parts/$(basename "$f")"
done

tmp=${TMPDIR:-/tmp}
[[ -d /dev/shm && -w /dev/shm ]] && tmp=/dev/shm
rows=()
status=0
for t in $targets; do
    corpus=$B/corpus/$t
    runs=()
    if [[ -n "${FUZZ_RUNS:-}" ]]; then
        # the same inputs on every machine: coverage, which steers the
        # mutations, differs between CPU levels, so the smoke runs the lowest
        [[ $(uname -m) == x86_64 ]] && export SRS_CPU=${SRS_CPU:-v2}
        corpus=$B/smoke-corpus/$t
        rm -rf "$corpus"
        runs=(-runs="$FUZZ_RUNS")
    fi
    mkdir -p "$corpus"
    log=$B/fuzz_$t.log
    t0=$SECONDS
    set +e
    TMPDIR=$tmp $B/fuzz_$t -max_total_time="$secs" "${runs[@]}" -max_len=4096 -timeout=20 -rss_limit_mb=4096 \
        -print_final_stats=1 -seed=1 -artifact_prefix=$B/crash-$t- "$corpus" "$seeds/$t" > "$log" 2>&1
    rc=$?
    set -e
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<< "$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<< "$last")
    corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<< "$last")
    rows+=("$t|$((SECONDS - t0))|${execs:-?}|${cov:-?}|${ft:-?}|${corp:-?}|$([[ $rc == 0 ]] && echo ok || echo FAILED)")
    if [[ $rc != 0 ]]; then
        status=1
        echo "== fuzz_$t FAILED (exit $rc); the end of $log:" >&2
        grep -v '^#[0-9]' "$log" | tail -40 >&2
    fi
done

printf '%-8s %8s %12s %8s %9s %7s  %s\n' harness seconds executions edges features corpus result
for r in "${rows[@]}"; do
    IFS='|' read -r t s e c f n res <<< "$r"
    printf '%-8s %8s %12s %8s %9s %7s  %s\n' "$t" "$s" "$e" "$c" "$f" "$n" "$res"
done
if [[ -n "${FUZZ_REPORT:-}" ]]; then
    {
        echo "# Fuzzing run"
        echo
        echo "- command: \`FUZZ_REPORT=$FUZZ_REPORT bash tests/fuzz/run.sh $secs\` (harnesses: $targets)"
        echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ); commit $(git rev-parse --short HEAD 2>/dev/null || echo ?)"
        echo "- machine: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(nproc) cores; $(clang --version | head -1)"
        echo "- load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (anything else running shares the cores, and the executions counts scale with it)"
        echo "- build: libsrs CPU-only, one thread, clang -O1 with ASan, UBSan (no recovery) and libFuzzer coverage;"
        echo "  CPU level $(build/srs --version | sed -n 's/^CPU level: \([^ ]*\).*/\1/p') (the dispatcher's choice on this machine)"
        echo
        echo "| harness | seconds | executions | edges (cov) | features (ft) | corpus | result |"
        echo "|---|---:|---:|---:|---:|---:|---|"
        for r in "${rows[@]}"; do echo "| ${r//|/ | } |"; done
    } > "$FUZZ_REPORT"
    echo "wrote $FUZZ_REPORT"
fi
exit $status
