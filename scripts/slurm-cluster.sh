#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for testing `topiary slurm`, as root and without
# systemd. `start` installs the Debian packages if missing, writes a configuration under
# $TOPIARY_SLURM_DIR (default /tmp/topiary-slurm), starts munged (unless one runs already),
# slurmctld and slurmd, and waits until the node is idle. `stop` cancels this cluster's jobs
# and stops exactly the daemons `start` started, by the pids it recorded (never by name).
# Clients find the cluster through SLURM_CONF=$TOPIARY_SLURM_DIR/slurm.conf (`env` prints it).
set -euo pipefail
state=${TOPIARY_SLURM_DIR:-/tmp/topiary-slurm}
conf=$state/slurm.conf
export SLURM_CONF=$conf

die() { echo "slurm-cluster: $*" >&2; exit 1; }
# A failed start stops whatever it had started already.
fail() { echo "slurm-cluster: $*" >&2; stop || true; exit 1; }

# Seconds to wait for pid $1 to exit.
wait_gone() {
    for _ in $(seq 1 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
    return 1
}

start() {
    [ "$(id -u)" = 0 ] || die "needs root (it starts munged, slurmctld and slurmd)"
    if [ -f "$state/started" ]; then die "already started (pids in $state/started); run stop first"; fi
    if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null \
            || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null; }
    fi
    rm -rf "$state"
    mkdir -p "$state/ctld" "$state/spool"
    : >"$state/started"
    local host
    host=$(hostname -s)
    cat >"$conf" <<EOF
ClusterName=topiary
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=6817
SlurmdPort=6818
AuthType=auth/munge
AuthInfo=cred_expire=10
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/slurmctld.log
SlurmdLogFile=$state/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,bf_interval=1,sched_interval=2
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    if [ -S /run/munge/munge.socket.2 ] && munge -n >/dev/null 2>&1; then
        echo "slurm-cluster: using the munged that already runs" >&2
    else
        [ -f /etc/munge/munge.key ] || die "no /etc/munge/munge.key (reinstall the munge package)"
        mkdir -p /run/munge /var/log/munge /var/lib/munge
        chown munge:munge /run/munge /var/log/munge /var/lib/munge
        chmod 0755 /run/munge
        runuser -u munge -- /usr/sbin/munged || fail "munged did not start"
        for _ in $(seq 1 50); do [ -s /run/munge/munged.pid ] && break; sleep 0.1; done
        [ -s /run/munge/munged.pid ] || fail "munged wrote no pid file"
        echo "munged $(cat /run/munge/munged.pid)" >>"$state/started"
    fi
    /usr/sbin/slurmctld -c || fail "slurmctld did not start (see $state/slurmctld.log)"
    for _ in $(seq 1 50); do [ -s "$state/slurmctld.pid" ] && break; sleep 0.1; done
    [ -s "$state/slurmctld.pid" ] || fail "slurmctld did not start (see $state/slurmctld.log)"
    echo "slurmctld $(cat "$state/slurmctld.pid")" >>"$state/started"
    /usr/sbin/slurmd -N "$host" || fail "slurmd did not start (see $state/slurmd.log)"
    for _ in $(seq 1 50); do [ -s "$state/slurmd.pid" ] && break; sleep 0.1; done
    [ -s "$state/slurmd.pid" ] || fail "slurmd did not start (see $state/slurmd.log)"
    echo "slurmd $(cat "$state/slurmd.pid")" >>"$state/started"
    for _ in $(seq 1 100); do
        if sinfo -h -o %T 2>/dev/null | grep -q '^idle'; then
            echo "slurm-cluster: node $host idle; export SLURM_CONF=$conf" >&2
            return 0
        fi
        sleep 0.2
    done
    fail "the node did not become idle (see $state/slurmctld.log, $state/slurmd.log)"
}

stop() {
    [ -f "$state/started" ] || { echo "slurm-cluster: nothing started" >&2; return 0; }
    # Running jobs outlive slurmd: cancel them while the controller is still there.
    if grep -q '^slurmctld ' "$state/started"; then
        scancel --full --quiet --partition=debug 2>/dev/null || true
        for _ in $(seq 1 50); do [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break; sleep 0.1; done
    fi
    local failed=0
    # Reverse order: slurmd, slurmctld, then munged.
    while read -r name pid; do
        [ -n "$pid" ] || continue
        kill -TERM "$pid" 2>/dev/null || true
        wait_gone "$pid" || { kill -KILL "$pid" 2>/dev/null || true; wait_gone "$pid" || { echo "slurm-cluster: $name ($pid) did not stop" >&2; failed=1; }; }
    done < <(tac "$state/started")
    rm -f "$state/started"
    return $failed
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    env) echo "export SLURM_CONF=$conf" ;;
    *) die "usage: scripts/slurm-cluster.sh start|stop|env" ;;
esac
