#!/usr/bin/env bash
# make test-fresh: the README's two commands on brand-new Debian machines.
#
# For each suite (default: bookworm trixie) a Debian root is made with
# debootstrap --variant=minbase --include=make,git,ca-certificates: what "a fresh
# Debian machine, from a clone" has. The commit under test (HEAD) is cloned into
# it as /work/main with a copy of ../shared beside it, and there, as root with a
# clean environment, run exactly the commands of the README's "Two commands"
# section, then its library link recipe ("The library"). No CUDA toolkit is in
# the root: the CPU-only build. Any failure fails the run, with the log's tail.
#
#   bash tests/fresh/run.sh [SUITE ...]        (root; installs debootstrap if missing)
#
# The pristine base of each suite is cached as a tarball (SRS_FRESH_CACHE,
# default /var/cache/srs-fresh; SRS_FRESH_REBASE=1 makes it anew, and it is made
# anew after 7 days) and extracted anew for every run, so nothing a run installs
# survives it. SRS_FRESH_COMMIT=REV tests another commit of this repository (an
# older one, to see a failure this stage now catches). The root lives in a private mount namespace (unshare): /proc, /sys
# and /dev vanish with it. SRS_FRESH_KEEP=1 keeps the roots for inspection.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
suites=("$@")
((${#suites[@]})) || suites=(bookworm trixie)

[[ $(id -u) -eq 0 ]] || { echo "test-fresh: needs root (debootstrap, chroot, mount)" >&2; exit 1; }
[[ -d ../shared ]] || { echo "test-fresh: ../shared not found beside the repository" >&2; exit 1; }
bash scripts/install-deps.sh --fresh >&2
command -v unshare >/dev/null || { echo "test-fresh: unshare (util-linux) not found" >&2; exit 1; }

commit=$(git rev-parse "${SRS_FRESH_COMMIT:-HEAD}")
if [[ -z ${SRS_FRESH_COMMIT:-} && -n $(git status --porcelain --untracked-files=no) ]]; then
    echo "test-fresh: note: the working tree has uncommitted changes; testing the commit $commit only"
fi

# The mirror this machine's apt uses (debootstrap's own default otherwise).
mirror=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
[[ -n $mirror ]] || mirror=$(awk '$1 == "deb" && $2 !~ /^\[/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)

cache=${SRS_FRESH_CACHE:-/var/cache/srs-fresh}
work=$(mktemp -d "${TMPDIR:-/var/tmp}/srs-fresh.XXXXXX")
cleanup() { [[ ${SRS_FRESH_KEEP:-0} == 1 ]] && echo "test-fresh: roots kept in $work" || rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$cache"

# The commands the README gives: its "Two commands" block, then "The library".
two_cmds=$(awk '/^## Two commands/ { s = 1; next } /^## / { s = 0 } s && /^    make [a-z-]+/ { print $1, $2 }' README.md)
[[ $(wc -l <<<"$two_cmds") -eq 2 ]] || { echo "test-fresh: README.md: 'Two commands' section: expected two make commands, got: $two_cmds" >&2; exit 1; }

base_of() {  # suite -> path of its pristine tarball, made when missing or stale
    local suite=$1 tar=$cache/$1-minbase.tar
    if [[ ${SRS_FRESH_REBASE:-0} == 1 || ! -s $tar || -n $(find "$tar" -mtime +7 2>/dev/null) ]]; then
        local t0=$SECONDS dir=$work/base-$suite
        echo "test-fresh: debootstrap $suite (minbase + make, git, ca-certificates)" >&2
        debootstrap --variant=minbase --include=make,git,ca-certificates "$suite" "$dir" ${mirror:+"$mirror"} \
            > "$work/debootstrap-$suite.log" 2>&1 ||
            { tail -20 "$work/debootstrap-$suite.log" >&2; echo "test-fresh: debootstrap $suite failed" >&2; return 1; }
        tar -C "$dir" -cf "$tar.tmp" . && mv "$tar.tmp" "$tar"
        rm -rf "$dir"
        echo "test-fresh: base $suite made in $((SECONDS - t0)) s" >&2
    fi
    echo "$tar"
}

# What runs inside the root: each README command, timed, in a login-like
# environment of a new machine's root.
inside=$(cat <<'INSIDE'
set -eo pipefail
cd /work/main
step() { local t0=$SECONDS; echo "+ $*"; "$@"; echo "test-fresh: '$*' passed in $((SECONDS - t0)) s"; }
while read -r a b; do step "$a" "$b"; done <<<"$TWO_CMDS"
t0=$SECONDS
echo "+ the README's library recipe"
bash tests/install/run.sh --system
echo "test-fresh: library recipe passed in $((SECONDS - t0)) s"
INSIDE
)

fail=0
for suite in "${suites[@]}"; do
    t0=$SECONDS
    tar=$(base_of "$suite")
    root=$work/$suite
    mkdir -p "$root/work"
    tar -C "$root" -xf "$tar"
    cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
    git clone -q --no-hardlinks "$repo" "$root/work/main"
    git -C "$root/work/main" checkout -q --detach "$commit"
    cp -a ../shared "$root/work/shared"
    log=$work/$suite.log
    echo "test-fresh: $suite root ready in $((SECONDS - t0)) s; running the README's commands ($(tr '\n' ',' <<<"$two_cmds" | sed 's/,$//'); library recipe)"
    set +e
    unshare --mount --propagation private env ROOT="$root" INSIDE="$inside" TWO_CMDS="$two_cmds" bash -c '
        set -e
        mount -t proc proc "$ROOT/proc"
        mount -t sysfs sysfs "$ROOT/sys"
        mount --rbind /dev "$ROOT/dev"
        exec chroot "$ROOT" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
            PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
            TWO_CMDS="$TWO_CMDS" bash -c "$INSIDE"' > "$log" 2>&1
    rc=$?
    set -e
    grep -E '^test-fresh: |passed, [0-9]+ failed' "$log" | sed "s/^/  [$suite] /" || true
    if ((rc != 0)); then
        echo "test-fresh: $suite FAILED (exit $rc) after $((SECONDS - t0)) s; the log's tail:"
        tail -40 "$log" | sed "s/^/  [$suite] /"
        fail=1
    else
        echo "test-fresh: $suite passed in $((SECONDS - t0)) s"
    fi
    [[ ${SRS_FRESH_KEEP:-0} == 1 ]] || rm -rf "$root"
done
if ((fail)); then echo "test-fresh: FAILED"; exit 1; fi
echo "test-fresh: ${#suites[@]} passed, 0 failed"
