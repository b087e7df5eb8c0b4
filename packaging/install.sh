#!/usr/bin/env bash
# Builds the jitsudo Debian package, installs it and (re)starts jitsudod.
# Idempotent; run as root from the source tree on Debian 12 or later:
#
#     ./packaging/install.sh
#
# The package (packaging/build-deb.sh; contents in docs/packaging.md)
# installs /usr/bin/jitsudo (client, NOT setuid), /usr/bin/jitsudoctl,
# /usr/sbin/jitsudod, /etc/pam.d/jitsudo, the systemd unit, man pages,
# shell completions, and the default policy /etc/jitsudo/policy.toml (root:
# anything; %sudo and %wheel: anything with their password) as a conffile:
# local edits survive every reinstall and upgrade. Where systemd is PID 1 the
# package enables and starts jitsudod; elsewhere (containers) this script
# starts it directly. Either way the daemon is (re)started only if
# `jitsudoctl policy check` accepts the installed policy. Undo with
# ./packaging/uninstall.sh (or apt remove / apt purge jitsudo).
set -euo pipefail

cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "install.sh: run as root" >&2; exit 1; }

deb=$(./packaging/build-deb.sh | tail -n 1)

# --reinstall: a rebuilt package of the same version replaces the installed
# one. confold: a policy.toml left by an earlier install.sh (not yet a
# conffile) is kept as it is, without a question.
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --reinstall \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$deb"
# Versions before the package installed it in /usr/sbin.
rm -f /usr/sbin/jitsudoctl

if [ ! -d /run/systemd/system ]; then
    # No systemd: the package could not start the daemon (it said so).
    if ! report=$(jitsudoctl policy check 2>&1); then
        printf '%s\n' "$report" >&2
        echo "install.sh: the installed policy is invalid: jitsudod was not (re)started; fix it and rerun" >&2
        exit 1
    fi
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
