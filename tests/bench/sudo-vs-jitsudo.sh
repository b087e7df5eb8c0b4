#!/usr/bin/env bash
# Benchmark (not a test): time `jitsudo -n /bin/true` against `sudo -n /bin/true`
# as a NOPASSWD user, first with a one-rule policy/sudoers, then with 10,000 extra
# rules in both, and print the ratios jitsudo/sudo.
#
# Run as root on Debian 12. Builds the release binaries, starts its own jitsudod on
# its own socket, installs /etc/sudoers.d/jitsudo-bench for the run and removes it
# (and stops the daemon) on exit. Uses hyperfine when installed, else a shell loop.
#
#   RUNS=300 RULES=10000 tests/bench/sudo-vs-jitsudo.sh
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
runs=${RUNS:-300}
rules=${RULES:-10000}
user=jt_bench
work=/tmp/jitsudo-bench
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

echo "building release binaries..."
(cd "$repo" && cargo build --release -q -p jitsudo -p jitsudod -p jitsudo-tests)

id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash --user-group "$user"
rm -rf "$work"
install -d -m 0755 "$work" "$work/bin"
install -d -m 0755 -o "$user" "$work/out"
install -m 0755 "$target/release/jitsudo" "$target/release/jitsudod" "$work/bin/"
gen=$target/release/jitsudo-test-policy

# Runs a command line as the bench user with a clean environment.
as_user() {
    setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups -- \
        env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="/home/$user" USER="$user" \
        LOGNAME="$user" JITSUDO_SOCKET="$work/jitsudod.sock" "$@"
}

# Installs the sudoers drop-in and (re)starts jitsudod for one configuration.
setup() {
    local name=$1 extra=$2
    "$gen" "$user" "$extra" "$work/$name.toml" "$work/$name.sudoers"
    visudo -cqf "$work/$name.sudoers"
    install -m 0440 "$work/$name.sudoers" "$dropin"
    if [[ -n $daemon_pid ]]; then
        kill "$daemon_pid"; wait "$daemon_pid" 2>/dev/null || true
    fi
    rm -f "$work/jitsudod.sock"
    install -d -m 0700 "$work/state-$name"
    "$work/bin/jitsudod" --foreground --socket "$work/jitsudod.sock" \
        --policy "$work/$name.toml" --state-dir "$work/state-$name" \
        >"$work/jitsudod-$name.log" 2>&1 &
    daemon_pid=$!
    local i=0 started
    started=$(date +%s%N)
    # Bounded wait (120 s): loading a large policy may take a while.
    until [[ -S $work/jitsudod.sock ]] && as_user "$work/bin/jitsudo" -n /bin/true 2>/dev/null; do
        i=$((i + 1))
        if ((i > 6000)) || ! kill -0 "$daemon_pid" 2>/dev/null; then
            echo "jitsudod did not come up; log:" >&2
            cat "$work/jitsudod-$name.log" >&2
            exit 1
        fi
        sleep 0.02
    done
    echo "jitsudod ready after $(( ($(date +%s%N) - started) / 1000000 )) ms" >&2
    as_user sudo -n /bin/true || { echo "sudo -n /bin/true fails as $user" >&2; exit 1; }
}

# Mean wall time in milliseconds of `$@` as the bench user, without hyperfine.
loop_mean_ms() {
    as_user bash -c '
        n=$1; shift
        for ((i = 0; i < 10; i++)); do "$@"; done
        start=$(date +%s%N)
        for ((i = 0; i < n; i++)); do "$@"; done
        end=$(date +%s%N)
        echo "scale=3; ($end - $start) / $n / 1000000" | bc -l 2>/dev/null ||
            echo $(( (end - start) / n / 1000000 ))' bench "$runs" "$@"
}

# Prints "sudo_ms jitsudo_ms" for the current configuration.
measure() {
    local name=$1
    if command -v hyperfine >/dev/null; then
        as_user hyperfine --shell=none --warmup 20 --runs "$runs" --style basic \
            --export-csv "$work/out/$name.csv" \
            --command-name sudo "sudo -n /bin/true" \
            --command-name jitsudo "$work/bin/jitsudo -n /bin/true" >&2
        awk -F, '$1 == "sudo" {s = $2} $1 == "jitsudo" {j = $2}
                 END {printf "%.3f %.3f\n", s * 1000, j * 1000}' "$work/out/$name.csv"
    else
        echo "$(loop_mean_ms sudo -n /bin/true) $(loop_mean_ms "$work/bin/jitsudo" -n /bin/true)"
    fi
}

declare -A result
for config in "small:0" "large:$rules"; do
    name=${config%%:*}
    extra=${config#*:}
    echo "== $name policy: $((extra + 1)) rules"
    setup "$name" "$extra"
    result[$name]=$(measure "$name")
done

echo
printf '%-30s %12s %12s %8s\n' "configuration" "sudo (ms)" "jitsudo (ms)" "ratio"
for config in "small:1" "large:$((rules + 1))"; do
    name=${config%%:*}
    read -r s j <<<"${result[$name]}"
    printf '%-30s %12s %12s %8s\n' "$name (${config#*:} rules)" "$s" "$j" \
        "$(awk -v s="$s" -v j="$j" 'BEGIN {printf "%.2fx", j / s}')"
done
