#!/usr/bin/env bash
# make test-install: the README's library recipe ("The library"), verbatim.
#
#   bash tests/install/run.sh            make install into a scratch PREFIX (PKG_CONFIG_PATH and
#                                        LD_LIBRARY_PATH point there, as the README says), the
#                                        recipe, then DESTDIR staging and make uninstall
#   bash tests/install/run.sh --system   the recipe as a user runs it, into /usr/local (used by
#                                        make test-fresh inside a throw-away Debian root)
#
# The program and the commands are taken from README.md, so the text a user
# copies is the text tested. Checks: both programs run and print the m* that
# the installed srs computes for the same rows; the shared one loads the
# installed libsrs.so.N, the static one needs no libsrs at run time; the
# library's soname; make uninstall leaves none of the installed files.
set -euo pipefail
cd "$(dirname "$0")/../.."
mode=${1:-scratch}

prog=$(awk '/^## The library/ { s = 1; next } /^## / { s = 0 } s && /^```c$/ { c = 1; next } c && /^```$/ { exit } c' README.md)
recipe=$(awk '/^## The library/ { s = 1; next } /^## / { s = 0 } s && /^```sh$/ { c = 1; next } c && /^```$/ { exit } c' README.md)
[[ -n $prog && -n $recipe ]] || { echo "test-install: README.md 'The library': no \`\`\`c program or \`\`\`sh recipe" >&2; exit 1; }

scratch=$(mktemp -d)
created=(srs_hello.c srs_hello srs_hello_static)
for f in "${created[@]}"; do [[ ! -e $f ]] || { echo "test-install: $f exists in the repository root; move it away" >&2; exit 1; }; done
trap 'rm -rf "$scratch"; rm -f "${created[@]}"' EXIT

if [[ $mode == --system ]]; then
    prefix=/usr/local
else
    export PREFIX=$scratch/prefix
    export PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig
    export LD_LIBRARY_PATH=$PREFIX/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    prefix=$PREFIX
fi

pass=0
fail=0
check() {  # name, then a command that must succeed
    local name=$1; shift
    if "$@"; then pass=$((pass + 1)); echo "ok   $name"; else fail=$((fail + 1)); echo "FAIL $name"; fi
}

printf '%s\n' "$prog" > srs_hello.c
echo "test-install: the README recipe (PREFIX=$prefix):"
sed 's/^/    /' <<<"$recipe"
# Run it line by line so that a failing line is named; the output is kept for the checks.
ran_all=1
: > "$scratch/out"
while IFS= read -r line; do
    [[ -n $line ]] || continue
    echo "+ $line" >> "$scratch/out"
    if ! bash -c "set -eo pipefail; $line" >> "$scratch/out" 2>&1; then
        tail -30 "$scratch/out"
        echo "test-install: the README line failed: $line"
        ran_all=0
        break
    fi
done <<<"$recipe"
check "every line of the README recipe ran" test $ran_all = 1

if ((ran_all)); then
    # The same rows through the installed command line: its m* is what the programs must print.
    printf '%s\n' '{"prompt_id": 0, "rewards": [1.0, 2.5, 4.0]}' '{"prompt_id": 1, "rewards": [0.5, 3.0]}' > "$scratch/rows.jsonl"
    "$prefix/bin/srs" threshold "$scratch/rows.jsonl" --preset paper-cd --B 15 --beta 0.667 -o "$scratch/thr.jsonl" >/dev/null
    want=$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    print("prompt %d: m* = %.6f, B_eff = %g" % (r["prompt_id"], r["m_star"], r["B_eff"]))' "$scratch/thr.jsonl")
    got_shared=$(./srs_hello | sed 's/^srs [^:]*: //')
    got_static=$(./srs_hello_static | sed 's/^srs [^:]*: //')
    check "the shared program prints the installed srs's m*" test "$got_shared" = "$want"
    check "the static program prints the installed srs's m*" test "$got_static" = "$want"
    version=$(sed -n 's/^#define SRS_VERSION_STRING "\(.*\)"/\1/p' include/srs.h)
    check "programs report version $version" grep -q "^srs $version: " <(./srs_hello)
    soname=$(readelf -d "$prefix/lib/libsrs.so.$version" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
    check "libsrs.so.$version has soname libsrs.so.${version%%.*}" test "$soname" = "libsrs.so.${version%%.*}"
    check "the shared program loads the installed $soname" \
        grep -q "$soname => $prefix/lib/$soname" <(ldd ./srs_hello)
    check "the static program needs no libsrs at run time" bash -c '! readelf -d ./srs_hello_static | grep -q "libsrs"'
    check "srs.pc: Libs.private lists jansson, OpenBLAS, inih, libm and OpenMP" \
        bash -c 'p=$(pkg-config --libs --static srs); for l in -ljansson -lopenblas -linih -lm -fopenmp; do [[ " $p " == *" $l "* ]] || { echo "missing $l in: $p"; exit 1; }; done'
    if readelf -d "$prefix/lib/libsrs.so.$version" | grep -q libcudart; then
        check "srs.pc: Libs.private lists cuBLAS and the CUDA runtime (CUDA build)" \
            bash -c 'p=$(pkg-config --libs --static srs); [[ " $p " == *" -lcublas "* && " $p " == *" -lcudart "* ]]'
    fi
fi

if [[ $mode != --system ]]; then
    # Staged install (what a package build does), then uninstall of both.
    make --no-print-directory -s install DESTDIR="$scratch/stage" PREFIX=/usr > "$scratch/stage.log" 2>&1 || cat "$scratch/stage.log"
    files=(usr/bin/srs usr/lib/libsrs.a usr/lib/libsrs.so usr/include/srs.h usr/lib/pkgconfig/srs.pc)
    check "DESTDIR=... PREFIX=/usr stages bin, lib, include and pkgconfig" \
        bash -c 'for f in "$@"; do [[ -e $0/$f ]] || { echo "missing $f"; exit 1; }; done' "$scratch/stage" "${files[@]}"
    check "the staged srs.pc says prefix=/usr" grep -qx 'prefix=/usr' "$scratch/stage/usr/lib/pkgconfig/srs.pc"
    make --no-print-directory -s uninstall DESTDIR="$scratch/stage" PREFIX=/usr > /dev/null
    make --no-print-directory -s uninstall > /dev/null
    check "make uninstall leaves no file behind" \
        bash -c '[[ -z $(find "$0/stage" "$1" -type f -o -type l 2>/dev/null) ]] || { find "$0/stage" "$1" -type f -o -type l; exit 1; }' "$scratch" "$prefix"
fi

echo "test-install: $pass passed, $fail failed"
((fail == 0))
