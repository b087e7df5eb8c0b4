#!/usr/bin/env bash
# Builds the client, jitsudo, statically linked (static-pie) and copies it
# to OUT:
#
#     packaging/build-client.sh OUT
#
# Why: the client is started for every command, and a dynamically linked one
# spends most of its time in the loader (issue 12: 1.4 -> 0.9 ms of CPU per
# run, 92 -> 52 page faults). It looks up no users or groups and loads no
# modules, so a static C library has nothing it would need at run time.
# The daemon and jitsudoctl stay dynamic: PAM and NSS load modules.
#
# musl where its Rust target is installed or rustup can add it: glibc's
# start-up probes the CPU and its caches with cpuid, which traps on virtual
# machines; that was a fifth of the static client's CPU here (0.76-1.01 ->
# 0.62-0.74 ms per `jitsudo -n true`). Else glibc, linked statically.
#
# --target makes RUSTFLAGS apply to the client and its dependencies only (not
# to build scripts or proc macros); the build has a directory of its own
# under cargo's target directory.
set -euo pipefail

[[ $# -eq 1 ]] || { echo "usage: $0 OUT" >&2; exit 2; }
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
target_dir=${CARGO_TARGET_DIR:-$repo/target}/static-client
host=$(rustc -vV | sed -n 's/^host: //p')
musl=${host%%-*}-unknown-linux-musl
has_musl() { [[ -d $(rustc --print sysroot)/lib/rustlib/$musl/lib ]]; }
if ! has_musl && command -v rustup >/dev/null; then
    timeout 300 rustup target add "$musl" >&2 || true
fi
if has_musl; then
    # musl: static by default, and its start-up does no CPU probing.
    target=$musl flags=
else
    target=$host flags="-C target-feature=+crt-static"
    echo "$0: no $musl target (rustup target add $musl); linking glibc statically" >&2
fi
(cd "$repo" && RUSTFLAGS="$flags" \
    cargo build --release --locked -q -p jitsudo --target "$target" --target-dir "$target_dir")
client=$target_dir/$target/release/jitsudo
if readelf -d "$client" | grep -q NEEDED; then
    echo "$0: $client still needs shared libraries" >&2
    exit 1
fi
install -D -m 0755 "$client" "$1"
