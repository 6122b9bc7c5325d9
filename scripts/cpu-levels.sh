#!/usr/bin/env bash
# scripts/cpu-levels.sh SRS_BINARY: the CPU levels (v2, v3, v4, neon, native) the
# binary was compiled for and this CPU runs, one line, lowest first. Levels the
# CPU cannot run are named on stderr. Used by make sanitize, make test-portable
# and the benchmark scripts, which run every level forced by SRS_CPU.
set -euo pipefail
bin=${1:?usage: scripts/cpu-levels.sh SRS_BINARY}
levels=
for l in $(SRS_CPU= "$bin" --version | sed -n 's/.*compiled: \([^;)]*\).*/\1/p'); do
    if SRS_CPU=$l "$bin" --version >/dev/null 2>&1; then
        levels="$levels $l"
    else
        echo "skipped: CPU level $l (this CPU cannot run it)" >&2
    fi
done
echo "${levels# }"
