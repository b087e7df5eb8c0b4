#!/usr/bin/env bash
# Runs the whole jitsudo test suite: installs what the tests need (Debian 12,
# as root), builds the workspace, checks formatting and clippy, then runs every
# test, including the sudo-compliance cases against the real sudo.
#
# Idempotent. Environment:
#   CARGO_TARGET_DIR     where cargo builds (default: <repo>/target)
#   JITSUDO_TESTS_ONLY   sudo | jitsudo: run one half of the compliance cases
#   JITSUDO_TEST_THREADS parallel test threads per test binary (default: 4)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

if [[ $(id -u) -ne 0 ]]; then
    echo "tests/run.sh: run as root (the tests create users and drive sudo)" >&2
    exit 1
fi

step() { printf '\n==> %s\n' "$*"; }

# Debian packages the tests (and the build) need.
packages=(sudo rsyslog systemd libpam0g-dev pkg-config build-essential procps
          util-linux bsdutils coreutils passwd login uidmap)
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

# jitsudod authenticates through PAM service "jitsudo".
install -D -m 0644 pam.d/jitsudo /etc/pam.d/jitsudo

target=${CARGO_TARGET_DIR:-$repo/target}
export JITSUDO_BIN_DIR=${JITSUDO_BIN_DIR:-$target/debug}

step "cargo build --workspace --all-targets"
cargo build --workspace --all-targets

step "cargo fmt --all -- --check"
cargo fmt --all -- --check

step "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

# The harness is safe for parallel tests within a binary (one shared daemon,
# a scratch directory per case); binaries run one after another.
step "cargo test --workspace"
log=$(mktemp /tmp/jitsudo-test-log.XXXXXX)
set +e
cargo test --workspace --no-fail-fast -- --test-threads="${JITSUDO_TEST_THREADS:-4}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

passed=$(grep -Eo '[0-9]+ passed' "$log" | awk '{s += $1} END {print s + 0}')
failed=$(grep -Eo '[0-9]+ failed' "$log" | awk '{s += $1} END {print s + 0}')
ignored=$(grep -Eo '[0-9]+ ignored' "$log" | awk '{s += $1} END {print s + 0}')
step "summary"
grep -E '^test .* FAILED$' "$log" | sed 's/^/  /' || true
echo "mode: ${JITSUDO_TESTS_ONLY:-sudo and jitsudo}, binaries from $JITSUDO_BIN_DIR"
echo "$passed passed, $failed failed, $ignored ignored"
rm -f "$log"
exit "$status"
