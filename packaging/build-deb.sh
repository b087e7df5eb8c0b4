#!/usr/bin/env bash
# Builds the jitsudo Debian package from this source tree and prints the
# path of the .deb. Run on Debian 12 or later (as root to install the build
# dependencies if missing; otherwise any user):
#
#     ./packaging/build-deb.sh        # -> $CARGO_TARGET_DIR/debian/jitsudo_<version>_<arch>.deb
#
# dpkg-buildpackage runs on a copy of the tree (it writes its results next to
# the source directory), reusing cargo's target directory as the build cache.
# Why a debian/ directory rather than cargo-deb: docs/packaging.md.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

need=()
for pkg in debhelper build-essential pkg-config libpam0g-dev libsqlite3-dev; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
if ((${#need[@]})); then
    [[ $(id -u) == 0 ]] || { echo "build-deb.sh: install ${need[*]} first (as root)" >&2; exit 1; }
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${need[@]}"
fi

export PATH="$HOME/.cargo/bin:$PATH"
command -v cargo >/dev/null || { echo "build-deb.sh: cargo not found; install Rust with https://rustup.rs first" >&2; exit 1; }

# debian/changelog and Cargo.toml must name the same version.
deb_version=$(dpkg-parsechangelog -S Version)
cargo_version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
if [[ ${deb_version%%-*} != "$cargo_version" ]]; then
    echo "build-deb.sh: debian/changelog says $deb_version, Cargo.toml says $cargo_version: add a changelog entry (dch -v $cargo_version)" >&2
    exit 1
fi

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}
out=$CARGO_TARGET_DIR/debian
src=$out/jitsudo-$deb_version
rm -rf "$out"
mkdir -p "$src"
tar -C "$repo" --exclude=./target --exclude=./.git --exclude='./crates/*/fuzz/target' -cf - . | tar -C "$src" -xf -
(cd "$src" && dpkg-buildpackage -b -uc -us)
rm -rf "$src"
ls "$out"/jitsudo_"$deb_version"_*.deb
