#!/usr/bin/env bash
# Runs the whole jitsudo test suite: installs what the tests need (Debian 12,
# as root), builds the workspace, checks formatting and clippy, then runs every
# test, including the sudo-compliance cases against the real sudo.
#
# This is the suite's entry point (.ci/run calls it); once it has prepared
# the machine, `cargo test -p jitsudo-tests` also works on its own.
#
# Idempotent. Environment:
#   CARGO_TARGET_DIR     where cargo builds (default: <repo>/target)
#   JITSUDO_TESTS_ONLY   sudo | jitsudo: run one half of the compliance cases
#                        (what is left out is reported as skipped)
#   JITSUDO_TEST_THREADS parallel test threads per test binary (default: 4)
#   JITSUDO_CLIENT       the client the tests run (default: the shipped one,
#                        built by packaging/build-client.sh)
#   JITSUDO_FUZZ_SECONDS how long each fuzz target runs (default: 60)
#   JITSUDO_SKIP_FUZZ=1  skip fuzzing on a local quick run (ignored when
#                        CI=true: CI always fuzzes)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

if [[ $(id -u) -ne 0 ]]; then
    echo "tests/run.sh: run as root (the tests create users and drive sudo)" >&2
    exit 1
fi

step() { printf '\n==> %s\n' "$*"; }

# Debian packages the tests (and the build) need.
packages=(sudo rsyslog systemd libpam0g-dev libsqlite3-dev pkg-config build-essential procps
          util-linux bsdutils coreutils passwd login uidmap
          acl python3 python3-venv python3-apt dbus-daemon libglib2.0-bin
          xvfb dunst imagemagick)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
    step "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Leftovers of earlier runs (each test binary makes /run/jitsudo-test-<pid>).
for d in /run/jitsudo-test-* /tmp/jitsudo-test-*; do
    [[ -d $d ]] || continue
    pid=${d##*-}
    [[ -d /proc/$pid ]] || rm -rf -- "$d"
done

# ...and their daemons' cgroup subtrees (jitsudo-test-<pid>-<name>, below
# our own cgroup), once empty.
cgroup2=$(findmnt -n -l -t cgroup2 -o TARGET | head -n 1 || true)
if [[ -n $cgroup2 ]]; then
    own=$(sed -n 's/^0:://p' /proc/self/cgroup)
    for d in "$cgroup2${own%/}"/jitsudo-test-*; do
        [[ -d $d ]] || continue
        pid=${d##*/jitsudo-test-}
        pid=${pid%%-*}
        [[ -d /proc/$pid ]] || rmdir -- "$d"/cmd-* "$d" 2>/dev/null || true
    done
fi

# The programs that drive sudo, for tests/tests/clients.rs: ansible-core and
# invoke from PyPI, in a virtualenv the test users can run.
venv=${JITSUDO_CLIENTS_VENV:-/opt/jitsudo-tests-venv}
export JITSUDO_CLIENTS_VENV=$venv
if [[ ! -x $venv/bin/ansible-playbook || ! -x $venv/bin/invoke ]]; then
    step "installing ansible-core and invoke in $venv"
    /usr/bin/python3 -m venv --clear "$venv"
    "$venv/bin/pip" install -q ansible-core invoke
fi

# jitsudod authenticates through PAM service "jitsudo".
install -D -m 0644 pam.d/jitsudo /etc/pam.d/jitsudo

target=${CARGO_TARGET_DIR:-$repo/target}
export JITSUDO_BIN_DIR=${JITSUDO_BIN_DIR:-$target/debug}

step "cargo build --workspace --all-targets"
cargo build --workspace --all-targets

# The client as the package ships it (statically linked): the tests run it.
step "packaging/build-client.sh (the shipped client)"
packaging/build-client.sh "$target/shipped/jitsudo"
export JITSUDO_CLIENT=${JITSUDO_CLIENT:-$target/shipped/jitsudo}

step "cargo fmt --all -- --check (and the fuzz targets, outside the workspace)"
cargo fmt --all -- --check
rustfmt --edition 2021 --check crates/*/fuzz/fuzz_targets/*.rs

step "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

# The harness is safe for parallel tests within a binary (one shared daemon,
# a scratch directory per case); binaries run one after another. libtest
# reports a test that returned early as "ok": the harness records such skips
# in $JITSUDO_SKIP_LOG, and the summary counts them apart.
step "cargo test --workspace"
log=$(mktemp /tmp/jitsudo-test-log.XXXXXX)
export JITSUDO_SKIP_LOG
JITSUDO_SKIP_LOG=$(mktemp /tmp/jitsudo-test-skips.XXXXXX)
set +e
cargo test --workspace --no-fail-fast -- --test-threads="${JITSUDO_TEST_THREADS:-4}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

passed=$(grep -Eo '[0-9]+ passed' "$log" | awk '{s += $1} END {print s + 0}')
failed=$(grep -Eo '[0-9]+ failed' "$log" | awk '{s += $1} END {print s + 0}')
ignored=$(grep -Eo '[0-9]+ ignored' "$log" | awk '{s += $1} END {print s + 0}')
# One line per skip ("SKIPPED|HALF-SKIPPED binary::test: why"); a test
# may record several (one per case it runs).
skipped_tests() { awk -v kind="$1" '$1 == kind {print $2}' "$JITSUDO_SKIP_LOG" | sort -u; }

# The Debian package: built, linted, installed, upgraded, removed and purged
# on a copy-on-write overlay of this machine (packaging/test-deb.sh); the
# same under a real systemd booted as PID 1 of a container on such an
# overlay (packaging/test-systemd.sh: exit 77 when the kernel lacks a
# feature for the container, counted as a skip); the example Ansible role
# installs it and manages a policy drop-in on another such overlay
# (packaging/ansible/test-role.sh).
step "packaging/test-deb.sh"
package_result="ok"
systemd_result="ok"
ansible_result="ok"
if deb=$(./packaging/build-deb.sh | tail -n 1); then
    ./packaging/test-deb.sh "$deb" || package_result="FAILED (see above)"
    step "packaging/test-systemd.sh"
    rc=0
    ./packaging/test-systemd.sh "$deb" || rc=$?
    if ((rc == 77)); then
        # (the script recorded why in $JITSUDO_SKIP_LOG)
        systemd_result="SKIPPED (see above)"
    elif ((rc != 0)); then
        systemd_result="FAILED (see above)"
    fi
    step "packaging/ansible/test-role.sh"
    ./packaging/ansible/test-role.sh "$deb" || ansible_result="FAILED (see above)"
else
    package_result="FAILED: the package did not build (see above)"
    systemd_result="not run (no package)"
    ansible_result="not run (no package)"
fi

# Fuzzing: every cargo-fuzz target, for a bounded time each. cargo-fuzz
# needs nightly flags (-Zsanitizer=address); RUSTC_BOOTSTRAP=1 lets the
# stable toolchain take them. Crashes are kept under <crate>/fuzz/artifacts.
#
# fuzz_one CRATE TARGET SECONDS: runs one target, prints libFuzzer's output
# without its progress lines.
fuzz_one() {
    local crate=$1 target=$2 seconds=$3 out rc=0
    out=$(mktemp /tmp/jitsudo-fuzz-log.XXXXXX)
    (cd "$crate" && RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1) >"$out" 2>&1 || rc=$?
    grep -Ev '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse|INITED)|NEW_FUNC|^"|^###### ' "$out" || true
    rm -f "$out"
    return "$rc"
}
fuzz_status=0
fuzz_result="not run"
fuzz_dirs=(crates/jitsudo-policy/fuzz crates/jitsudo-proto/fuzz)
if [[ ${JITSUDO_SKIP_FUZZ:-} == 1 && ${CI:-} != true ]]; then
    fuzz_result="SKIPPED (JITSUDO_SKIP_FUZZ=1): no fuzz target ran"
    step "fuzzing SKIPPED (JITSUDO_SKIP_FUZZ=1): no fuzz target ran"
else
    if [[ ${JITSUDO_SKIP_FUZZ:-} == 1 ]]; then
        echo "JITSUDO_SKIP_FUZZ=1 ignored: CI=true always fuzzes"
    fi
    if ! command -v cargo-fuzz >/dev/null; then
        step "cargo install --locked cargo-fuzz"
        cargo install --locked cargo-fuzz
    fi
    seconds=${JITSUDO_FUZZ_SECONDS:-60}
    crashed=()
    ran=0
    for dir in "${fuzz_dirs[@]}"; do
        crate=${dir%/fuzz}
        step "cargo fuzz build ($crate)"
        (cd "$crate" && RUSTC_BOOTSTRAP=1 cargo fuzz build)
        for target in $(cd "$crate" && cargo fuzz list); do
            step "cargo fuzz run $target ($crate, ${seconds} s)"
            ran=$((ran + 1))
            fuzz_one "$crate" "$target" "$seconds" || crashed+=("$crate: $target")
        done
    done
    if ((${#crashed[@]})); then
        fuzz_status=1
        fuzz_result="${#crashed[@]} of $ran targets crashed: ${crashed[*]} (inputs in <crate>/fuzz/artifacts/<target>/; make each a unit test in its crate)"
    else
        fuzz_result="$ran targets, ${seconds} s each, no crash"
    fi
fi

step "summary"
skipped=$(skipped_tests SKIPPED | wc -l)
halved=$(skipped_tests HALF-SKIPPED | wc -l)
# The package's systemd test is a skip but not one of libtest's "passed".
package_skips=$(skipped_tests SKIPPED | grep -c '^packaging::' || true)
grep -E '^test .* FAILED$' "$log" | sed 's/^/  /' || true
skipped_tests SKIPPED | sed 's/^/  skipped: /'
echo "mode: ${JITSUDO_TESTS_ONLY:-sudo and jitsudo}, binaries from $JITSUDO_BIN_DIR, client $JITSUDO_CLIENT"
# libtest counted the skipped tests as passed.
echo "$((passed - skipped + package_skips)) passed, $skipped skipped, $halved ran one half only, $failed failed, $ignored ignored"
echo "fuzzing: $fuzz_result"
echo "package: $package_result"
echo "package under systemd: $systemd_result"
echo "ansible role: $ansible_result"
rm -f "$log" "$JITSUDO_SKIP_LOG"
if ((status == 0)); then
    status=$fuzz_status
fi
if [[ ($package_result != ok || ($systemd_result != ok && $systemd_result != SKIPPED*) || $ansible_result != ok) && $status == 0 ]]; then
    status=1
fi
exit "$status"
