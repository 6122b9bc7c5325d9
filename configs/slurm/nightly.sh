#!/usr/bin/env bash
# configs/slurm/nightly.sh LIST [sbatch options] — submits the nightly
# evaluation: the job array (one task per line of LIST) and the collecting job
# that depends on it (afterany: it runs, and reports missing runs, even when a
# task failed). Prints the two job ids. Rerunning resumes: finished tasks skip.
# SRS_WAIT=1: return when the collecting job ends, with its exit status.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
LIST=${1:?usage: nightly.sh LIST [sbatch options]}; shift
n=$(grep -cv '^\s*\(#\|$\)' "$LIST")
export SRS_LIST=$LIST SRS_SLURM_DIR=${SRS_SLURM_DIR:-$here}
a=$(sbatch --parsable --export=ALL --array=0-$((n - 1)) "$@" "$here/nightly-eval.sbatch")
c=$(sbatch --parsable ${SRS_WAIT:+--wait} --export=ALL --dependency=afterany:"${a%%;*}" "$@" "$here/collect.sbatch")
echo "$a $c"
