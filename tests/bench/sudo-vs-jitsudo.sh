#!/usr/bin/env bash
# Benchmark (not a test): jitsudo against sudo 1.9 as a NOPASSWD user running
# `-n /bin/true`, every figure of issue 12 in one run, printed side by side:
#   * latency with a one-rule policy/sudoers and with 10,000 extra rules
#     (A/B in turn in blocks of ten runs, the first run of each block not
#     counted; warm-up first, medians and the median ratio of the blocks);
#   * throughput of CLIENTS concurrent clients x LOAD_RUNS runs each;
#   * the daemon's memory (VmRSS, VmHWM) fresh, under that load, after it,
#     while one user holds IDLE connections and after, after a reload of
#     the 10,000-rule policy;
#   * the round trip of `jitsudoctl policy reload` of 10,000 rules.
#
# Run as root on Debian 12 (needs sudo, cargo, rsyslog). Both tools log as on
# a Debian 12 host booted with systemd (`jitsudo-bench services` sets it up if
# it is not): /dev/log is journald's, journald forwards to rsyslogd, so sudo's
# syslog lines and jitsudo's journal entries both pass through journald.
# Builds the release binaries, starts its own jitsudod on its own socket, installs
# /etc/sudoers.d/jitsudo-bench for the run and removes it (and stops the daemon)
# on exit. The measuring is done by tests/src/bin/jitsudo-bench.rs.
#
#   RUNS=200 RULES=10000 CLIENTS=200 LOAD_RUNS=50 IDLE=3000 tests/bench/sudo-vs-jitsudo.sh
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
runs=${RUNS:-200}
warmup=${WARMUP:-20}
rules=${RULES:-10000}
clients=${CLIENTS:-200}
load_runs=${LOAD_RUNS:-50}
idle=${IDLE:-3000}
user=jt_bench
# Under /run: the policy must sit in directories only root can write.
work=/run/jitsudo-bench
dropin=/etc/sudoers.d/jitsudo-bench
target=${CARGO_TARGET_DIR:-$repo/target}

[[ $(id -u) -eq 0 ]] || { echo "run as root" >&2; exit 1; }

# The test suite's drop-in defines the same alias names: set it aside so
# sudo parses only the benchmark's rules (and prints no warnings).
suite_dropin=/etc/sudoers.d/jitsudo-tests
parked=/tmp/jitsudo-bench-parked-sudoers
daemon_pid=
cleanup() {
    [[ -n $daemon_pid ]] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
    rm -f "$dropin"
    [[ -f $parked ]] && mv "$parked" "$suite_dropin"
    return 0
}
trap cleanup EXIT
[[ -f $suite_dropin ]] && mv "$suite_dropin" "$parked"

echo "building release binaries..." >&2
(cd "$repo" && cargo build --release -q -p jitsudod -p jitsudoctl -p jitsudo-tests)

id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash --user-group "$user"
rm -rf "$work"
install -d -m 0755 "$work" "$work/bin"
install -m 0755 "$target/release/jitsudod" "$target/release/jitsudoctl" \
    "$target/release/jitsudo-bench" "$work/bin/"
# The client as the package ships it: statically linked.
"$repo/packaging/build-client.sh" "$work/bin/jitsudo"
gen=$target/release/jitsudo-test-policy
bench=$work/bin/jitsudo-bench
socket=$work/jitsudod.sock
"$bench" services

# Runs a command line as the bench user with a clean environment.
as_user() {
    setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups -- \
        env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="/home/$user" USER="$user" \
        LOGNAME="$user" JITSUDO_SOCKET="$socket" "$@"
}

# Makes the sudoers drop-in the one for `name` (small or large).
use_sudoers() {
    install -m 0440 "$work/$1.sudoers" "$dropin"
}

# Starts jitsudod on a copy of the small policy and waits until it serves.
start_daemon() {
    install -m 0644 "$work/small.toml" "$work/policy.toml"
    install -d -m 0700 "$work/state"
    # A cgroup subtree and a trail of its own: the defaults
    # (<our cgroup>/jitsudo, /var/log/jitsudo/audit.jsonl) are shared with
    # any other jitsudod started here, and every run would grow the trail.
    "$work/bin/jitsudod" --foreground --socket "$socket" \
        --policy "$work/policy.toml" --state-dir "$work/state" \
        --audit-file "$work/audit.jsonl" \
        --cgroup-root "$(awk -F: '$1 == "0" {sub("/$", "", $3); print $3}' /proc/self/cgroup)/jitsudo-bench" \
        >"$work/jitsudod.log" 2>&1 &
    daemon_pid=$!
    local i=0
    # Bounded wait (60 s).
    until [[ -S $socket ]] && as_user "$work/bin/jitsudo" -n /bin/true 2>/dev/null; do
        i=$((i + 1))
        if ((i > 3000)) || ! kill -0 "$daemon_pid" 2>/dev/null; then
            echo "jitsudod did not come up; log:" >&2
            cat "$work/jitsudod.log" >&2
            exit 1
        fi
        sleep 0.02
    done
    as_user sudo -n /bin/true || { echo "sudo -n /bin/true fails as $user" >&2; exit 1; }
}

# `key value` lines of the driver, stored as fig[PREFIX_key].
declare -A fig
collect() {
    local prefix=$1 key value
    shift
    while read -r key value; do fig[${prefix}_$key]=$value; done < <("$@")
}

# The daemon's VmRSS and VmHWM now, in MiB, stored as fig[NAME_rss/_hwm].
memory() {
    local name=$1 field value
    while read -r field value _; do
        case $field in
        VmRSS:) fig[${name}_rss]=$(mib "$value") ;;
        VmHWM:) fig[${name}_hwm]=$(mib "$value") ;;
        esac
    done <"/proc/$daemon_pid/status"
}

mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }

for name in small:0 large:$rules; do
    "$gen" "$user" "${name#*:}" "$work/${name%%:*}.toml" "$work/${name%%:*}.sudoers"
    visudo -cqf "$work/${name%%:*}.sudoers"
done

# What the set-up wrote (the build, 10,000-rule files) is written back now,
# not during the first measurement of either tool.
sync
use_sudoers small
start_daemon
memory fresh
echo "latency, small policy ($runs runs each, in blocks)..." >&2
collect small as_user "$bench" latency "$runs" "$warmup" "$work/bin/jitsudo"
echo "load: $clients clients x $load_runs runs..." >&2
collect load as_user "$bench" load "$clients" "$load_runs" "$daemon_pid" "$work/bin/jitsudo"
sleep 2
memory after_load
echo "$idle idle connections..." >&2
collect idle as_user "$bench" idle "$idle" "$daemon_pid" "$socket"
echo "reload of $rules rules..." >&2
install -m 0644 "$work/large.toml" "$work/policy.toml"
collect reload "$bench" time 20 2 "$work/bin/jitsudoctl" policy reload --socket "$socket"
sleep 1
memory after_reload
use_sudoers large
echo "latency, $rules extra rules ($runs runs each, in blocks)..." >&2
collect large as_user "$bench" latency "$runs" "$warmup" "$work/bin/jitsudo"
# The small policy once more, after every other phase: what the daemon's
# state after those phases (load, connections, reloads) costs, apart from
# the number of rules.
echo "latency, small policy again ($runs runs each, in blocks)..." >&2
install -m 0644 "$work/small.toml" "$work/policy.toml"
"$work/bin/jitsudoctl" policy reload --socket "$socket" >/dev/null
use_sudoers small
collect again as_user "$bench" latency "$runs" "$warmup" "$work/bin/jitsudo"

kib() { mib "${fig[$1]}"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2fx", a / b}'; }
row() { printf '| %s | %s | %s | %s |\n' "$@"; }

echo
row figure "sudo $(sudo -V | awk 'NR == 1 {print $3}')" jitsudo "jitsudo/sudo"
row --- --- --- ---
row "latency, small policy (median)" "${fig[small_sudo_ms]} ms" "${fig[small_jitsudo_ms]} ms" \
    "${fig[small_ratio]}x"
row "latency, $rules extra rules (median)" "${fig[large_sudo_ms]} ms" \
    "${fig[large_jitsudo_ms]} ms" "${fig[large_ratio]}x"
row "latency, $rules rules / small policy" \
    "$(ratio "${fig[large_sudo_ms]}" "${fig[small_sudo_ms]}")" \
    "$(ratio "${fig[large_jitsudo_ms]}" "${fig[small_jitsudo_ms]}")" ""
row "latency, small policy again, last (median)" "${fig[again_sudo_ms]} ms" \
    "${fig[again_jitsudo_ms]} ms" "${fig[again_ratio]}x"
row "throughput, $clients clients x $load_runs runs" \
    "${fig[load_sudo_runs_per_s]} runs/s, ${fig[load_sudo_failures]} failed" \
    "${fig[load_jitsudo_runs_per_s]} runs/s, ${fig[load_jitsudo_failures]} failed" \
    "$(ratio "${fig[load_jitsudo_runs_per_s]}" "${fig[load_sudo_runs_per_s]}")"
row "daemon RSS fresh (VmRSS / VmHWM)" - "${fig[fresh_rss]} / ${fig[fresh_hwm]} MiB" ""
row "daemon RSS under load (peak VmRSS / VmHWM)" - \
    "$(kib load_load_rss_kib) / $(kib load_load_hwm_kib) MiB" ""
row "daemon RSS after load" - "${fig[after_load_rss]} MiB" ""
row "daemon RSS, $idle idle connections by one user (kept ${fig[idle_idle_kept]})" - \
    "$(kib idle_idle_rss_kib) MiB during, $(kib idle_after_idle_rss_kib) MiB after" ""
row "reload of $rules rules (round trip, median of 20)" - \
    "${fig[reload_median_ms]} ms, ${fig[reload_failures]} failed" ""
row "daemon RSS after the $rules-rule reload" - \
    "${fig[after_reload_rss]} / ${fig[after_reload_hwm]} MiB" ""
