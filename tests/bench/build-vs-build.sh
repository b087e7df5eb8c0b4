#!/usr/bin/env bash
# Benchmark (not a test): two builds of jitsudo against each other, each on
# its own daemon, in turn (A B A B ...), as a NOPASSWD user running
# `-n /bin/true`. Each daemon runs in a CPU-accounting cgroup of its own, so
# the CPU it reports is everything the request cost on the daemon's side:
# daemon, fork server, workers and the command (not the client).
#
#   tests/bench/build-vs-build.sh DIR_A DIR_B
#
# DIR_A and DIR_B each hold a `jitsudod` and a `jitsudo` (e.g. copies of
# target/release from two checkouts). Prints one line per pair:
#   lat N  A_ms_per_run A_cpu_ms_per_run  B_ms_per_run B_cpu_ms_per_run
#   load N A_runs_per_s A_cpu_ms_per_run A_failed  B_... (likewise)
# Knobs: PAIRS (10) latency pairs of LAT_RUNS (50) sequential runs each;
# ROUNDS (3) load pairs of LOAD_TOTAL (4000) runs by CLIENTS (200) at once.
# Unlike sudo-vs-jitsudo.sh it needs no sudoers drop-in. Run as root.
set -euo pipefail

[[ $# -eq 2 && $(id -u) -eq 0 ]] || { echo "usage (as root): $0 DIR_A DIR_B" >&2; exit 2; }
declare -A dir=([a]=$(realpath "$1") [b]=$(realpath "$2"))
pairs=${PAIRS:-10}
lat=${LAT_RUNS:-50}
clients=${CLIENTS:-200}
total=${LOAD_TOTAL:-4000}
rounds=${ROUNDS:-3}
user=jt_bench
# Under /run: the policy must sit in directories only root can write.
work=/run/jitsudo-build-vs-build
own=$(awk -F: '$1 == "0" {sub("/$", "", $3); print $3}' /proc/self/cgroup)
pids=()

# CPU accounting: cgroup v1's cpuacct where it is mounted, else v2.
if [[ -d /sys/fs/cgroup/cpuacct ]]; then
    acct=/sys/fs/cgroup/cpuacct/jitsudo-build-vs-build
    usage_us() { echo $(($(cat "$acct/$1/cpuacct.usage") / 1000)); }
else
    acct=/sys/fs/cgroup$own/jitsudo-build-vs-build
    usage_us() { awk '$1 == "usage_usec" {print $2}' "$acct/$1/cpu.stat"; }
fi

cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
    # The fork server and idle workers leave once the daemon is gone.
    for _ in $(seq 100); do
        rmdir "$acct"/a "$acct"/b 2>/dev/null
        rmdir "$acct" 2>/dev/null && break
        sleep 0.05
    done
    return 0
}
trap cleanup EXIT

id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash --user-group "$user"
rm -rf "$work"
install -d -m 0755 "$work"
printf '[[rule]]\nid = "bench"\nwho = ["%s"]\nrun_as = ["ALL"]\ncommands = ["ALL"]\nauth = "none"\n' \
    "$user" >"$work/policy.toml"

as_user() {
    setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups -- \
        env -i PATH=/usr/bin:/bin HOME="/home/$user" USER="$user" "$@"
}

# Starts build NAME's daemon inside its accounting cgroup; waits until it serves.
start() {
    local name=$1 i
    mkdir -p "$acct/$name"
    install -d -m 0700 "$work/$name-state"
    sh -c "echo \$\$ >'$acct/$name/cgroup.procs' && exec '${dir[$name]}/jitsudod' --foreground \
        --socket '$work/$name.sock' --policy '$work/policy.toml' --state-dir '$work/$name-state' \
        --audit-file '$work/$name-audit.jsonl' \
        --cgroup-root '$own/jitsudo-build-vs-build-$name'" >"$work/$name.log" 2>&1 &
    pids+=($!)
    for ((i = 0; i < 500; i++)); do
        as_user JITSUDO_SOCKET="$work/$name.sock" "${dir[$name]}/jitsudo" -n /bin/true 2>/dev/null &&
            return 0
        sleep 0.02
    done
    echo "the daemon of $name did not come up; log:" >&2
    cat "$work/$name.log" >&2
    exit 1
}

now() { date +%s.%N; }

# LAT_RUNS runs one after the other: ms per run, daemon-side CPU ms per run.
latency() {
    local name=$1 c0 t0
    c0=$(usage_us "$name") t0=$(now)
    as_user JITSUDO_SOCKET="$work/$name.sock" sh -c \
        "i=0; while [ \$i -lt $lat ]; do '${dir[$name]}/jitsudo' -n /bin/true || exit 1; i=\$((i + 1)); done"
    awk -v t0="$t0" -v t1="$(now)" -v c0="$c0" -v c1="$(usage_us "$name")" -v n="$lat" \
        'BEGIN {printf "%.3f %.3f", (t1 - t0) * 1000 / n, (c1 - c0) / 1000 / n}'
}

# LOAD_TOTAL runs, CLIENTS at a time: runs/s, CPU ms per run, any failed (0/1).
load() {
    local name=$1 c0 t0 failed=0
    c0=$(usage_us "$name") t0=$(now)
    seq "$total" | as_user JITSUDO_SOCKET="$work/$name.sock" \
        xargs -P "$clients" -I{} "${dir[$name]}/jitsudo" -n /bin/true 2>/dev/null || failed=1
    awk -v t0="$t0" -v t1="$(now)" -v c0="$c0" -v c1="$(usage_us "$name")" -v n="$total" \
        -v f="$failed" 'BEGIN {printf "%.1f %.3f %d", n / (t1 - t0), (c1 - c0) / 1000 / n, f}'
}

start a
start b
for _ in 1 2 3; do latency a >/dev/null; latency b >/dev/null; done
echo "# lat N  a_ms a_cpu_ms  b_ms b_cpu_ms"
for ((i = 1; i <= pairs; i++)); do echo "lat $i  $(latency a)  $(latency b)"; done
echo "# load N  a_runs_per_s a_cpu_ms a_failed  b_runs_per_s b_cpu_ms b_failed"
for ((i = 1; i <= rounds; i++)); do echo "load $i  $(load a)  $(load b)"; done
