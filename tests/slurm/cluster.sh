#!/usr/bin/env bash
# tests/slurm/cluster.sh — a single-node Slurm cluster on localhost for the
# tests, from Debian's packages (munge, slurmctld, slurmd), as root; sourced.
#
#   source tests/slurm/cluster.sh
#   slurm_start DIR     state, logs, keys and slurm.conf under DIR; exports
#                       SLURM_CONF; returns non-zero (message printed) on failure
#   slurm_stop          stops the daemons it started (always: call it from a trap)
#
# Nothing listens beyond 127.0.0.1 ports 16817-16818; no system service or
# file outside DIR is touched.

SLURM_PIDS=()

slurm_stop() {
    local p
    for p in "${SLURM_PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${SLURM_PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null
    done
    SLURM_PIDS=()
}

slurm_start() {
    local d=$1 cpus mem
    mkdir -p "$d"/{state,spool,log,munge}
    chmod 700 "$d/munge"
    cpus=$(nproc)
    mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2 ))
    # munge: a private key and socket, so a system munged is neither needed nor touched
    dd if=/dev/urandom of="$d/munge/munge.key" bs=1024 count=1 status=none
    chmod 400 "$d/munge/munge.key"
    munged --force --foreground --key-file="$d/munge/munge.key" --socket="$d/munge/munge.sock" \
        --pid-file="$d/munge/munged.pid" --log-file="$d/log/munged.log" --seed-file="$d/munge/seed" \
        >"$d/log/munged.out" 2>&1 &
    SLURM_PIDS+=($!)
    for _ in $(seq 50); do [[ -S $d/munge/munge.sock ]] && break; sleep 0.1; done
    [[ -S $d/munge/munge.sock ]] || { echo "munged did not start: $(tail -3 "$d/log/munged.log" "$d/log/munged.out" 2>/dev/null)"; return 1; }
    cat >"$d/slurm.conf" <<CONF
ClusterName=srstest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=16817
SlurmdPort=16818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$d/munge/munge.sock
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool
SlurmctldPidFile=$d/slurmctld.pid
SlurmdPidFile=$d/slurmd.pid
SlurmctldLogFile=$d/log/slurmctld.log
SlurmdLogFile=$d/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MinJobAge=300
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
    export SLURM_CONF=$d/slurm.conf
    slurmctld -D -i -f "$SLURM_CONF" >"$d/log/slurmctld.out" 2>&1 &
    SLURM_PIDS+=($!)
    slurmd -D -N localhost -f "$SLURM_CONF" >"$d/log/slurmd.out" 2>&1 &
    SLURM_PIDS+=($!)
    for _ in $(seq 60); do
        if timeout 5 sinfo -h -N -o '%T' 2>/dev/null | grep -qE '^idle'; then return 0; fi
        sleep 0.5
    done
    echo "the node did not become idle within 30 s:"
    timeout 5 sinfo -N 2>&1 | head -3
    tail -5 "$d/log/slurmctld.log" "$d/log/slurmd.log" "$d/log/slurmctld.out" "$d/log/slurmd.out" 2>/dev/null
    return 1
}
