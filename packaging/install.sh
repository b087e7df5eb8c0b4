#!/usr/bin/env bash
# Builds jitsudo, installs it and (re)starts jitsudod. Idempotent; run as
# root from the source tree on Debian 12 or later:
#
#     ./packaging/install.sh
#
# Installs: /usr/bin/jitsudo (client, NOT setuid), /usr/sbin/jitsudod,
# /etc/pam.d/jitsudo, /lib/systemd/system/jitsudod.service, and — only if
# absent, so local edits survive — /etc/jitsudo/policy.toml (root: anything;
# %sudo and %wheel: anything with their password) and /etc/jitsudo/policy.d/.
# Starts jitsudod through systemd when systemd is PID 1, directly otherwise.
# Undo with ./packaging/uninstall.sh.
set -euo pipefail

cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "install.sh: run as root" >&2; exit 1; }

need=()
for pkg in build-essential pkg-config libpam0g-dev libsqlite3-dev; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"
fi

export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v cargo >/dev/null; then
    echo "install.sh: cargo not found; install Rust with https://rustup.rs first" >&2
    exit 1
fi
cargo build --release --locked -p jitsudo -p jitsudod -p jitsudoctl

install -D -m 0755 target/release/jitsudo /usr/bin/jitsudo
install -D -m 0755 target/release/jitsudod /usr/sbin/jitsudod
install -D -m 0755 target/release/jitsudoctl /usr/bin/jitsudoctl
# Earlier versions installed it in /usr/sbin.
rm -f /usr/sbin/jitsudoctl
install -D -m 0644 pam.d/jitsudo /etc/pam.d/jitsudo
install -D -m 0644 systemd/jitsudod.service /lib/systemd/system/jitsudod.service
install -d -m 0755 /etc/jitsudo /etc/jitsudo/policy.d
if [ ! -e /etc/jitsudo/policy.toml ]; then
    install -m 0600 packaging/default-policy.toml /etc/jitsudo/policy.toml
fi

if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl enable jitsudod.service
    # KillMode=process: a restart never kills running commands.
    systemctl restart jitsudod.service
else
    # Only the daemon itself has exactly this command line; workers do not.
    if pkill -TERM -x -f /usr/sbin/jitsudod; then
        for _ in $(seq 50); do
            pgrep -x -f /usr/sbin/jitsudod >/dev/null || break
            sleep 0.1
        done
    fi
    /usr/sbin/jitsudod
fi
echo "jitsudo installed; try: jitsudo id"
