#!/usr/bin/env bash
# Builds the client, jitsudo, statically linked (static-pie) and copies it
# to OUT:
#
#     packaging/build-client.sh OUT
#
# Why: the client is started for every command, and a dynamically linked one
# spends most of its time in the loader (issue 12: 1.4 -> 0.9 ms of CPU per
# run, 92 -> 52 page faults). It looks up no users or groups and loads no
# modules, so glibc's static build has nothing it would need at run time.
# The daemon and jitsudoctl stay dynamic: PAM and NSS load modules.
#
# --target makes RUSTFLAGS apply to the client and its dependencies only (not
# to build scripts or proc macros); the build has a directory of its own
# under cargo's target directory.
set -euo pipefail

[[ $# -eq 1 ]] || { echo "usage: $0 OUT" >&2; exit 2; }
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
target_dir=${CARGO_TARGET_DIR:-$repo/target}/static-client
host=$(rustc -vV | sed -n 's/^host: //p')
(cd "$repo" && RUSTFLAGS="-C target-feature=+crt-static" \
    cargo build --release --locked -q -p jitsudo --target "$host" --target-dir "$target_dir")
client=$target_dir/$host/release/jitsudo
if readelf -d "$client" | grep -q NEEDED; then
    echo "$0: $client still needs shared libraries" >&2
    exit 1
fi
install -m 0755 "$client" "$1"
