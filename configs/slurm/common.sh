#!/usr/bin/env bash
# configs/slurm/common.sh — what the srs job templates share (sourced):
# resumable outputs and the MPI launcher.
#
# An output is complete when srs renamed it into place (srs writes to a
# temporary and renames only after every rank succeeded) and verified when its
# manifest "<out>.done" matches: the command that made it and the sha256 of
# every file it wrote. A rerun skips complete, verified outputs, and removes
# what an interrupted run left (temporaries, part files, an output without a
# manifest) before running again, so no partial output survives.

# The MPI launcher: srun with PMIx inside a Slurm step, else mpirun.
# Override with SRS_LAUNCH (e.g. "mpirun -np 8", or "" for one process).
srs_launch() {
    if [[ -n ${SRS_LAUNCH+x} ]]; then
        # shellcheck disable=SC2086
        ${SRS_LAUNCH} "$@"
    else
        srun --mpi=pmix "$@"
    fi
}

# srs_done OUT CMD...: 0 when OUT's manifest matches CMD and every file in it.
srs_done() {
    local out=$1; shift
    [[ -f $out.done ]] || return 1
    [[ $(head -n 1 "$out.done") == "# $*" ]] || return 1
    tail -n +2 "$out.done" | (cd "$(dirname "$out")" && sha256sum --quiet -c - >/dev/null 2>&1)
}

# srs_run OUT FILES CMD...: runs CMD unless OUT is done; FILES (space-separated,
# relative to OUT's directory) are what CMD writes, checksummed into the
# manifest afterwards. Returns CMD's status (0 when skipped).
srs_run() {
    local out=$1 files=$2; shift 2
    local dir f
    dir=$(dirname "$out")
    # What a killed run left (temporaries, part files) goes in any case.
    for f in $files; do rm -rf "$dir/$f".tmp.* "$dir/$f".part-* "$out.done".tmp.*; done
    if srs_done "$out" "$@"; then
        echo "srs-job: $out: complete and verified, skipped"
        return 0
    fi
    rm -f "$out.done"
    for f in $files; do rm -rf "${dir:?}/$f"; done
    "$@" || return $?
    local tmp
    tmp=$(mktemp "$out.done.tmp.XXXXXX")
    { echo "# $*"; (cd "$dir" && find $files -type f -print0 | sort -z | xargs -0 sha256sum); } >"$tmp" &&
        mv "$tmp" "$out.done"
}
