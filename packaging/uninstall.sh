#!/usr/bin/env bash
# Stops jitsudod and removes what install.sh installed. The policy in
# /etc/jitsudo is kept unless --purge is given. Run as root.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "uninstall.sh: run as root" >&2; exit 1; }

if [ -d /run/systemd/system ]; then
    systemctl disable --now jitsudod.service 2>/dev/null || true
else
    pkill -TERM -x -f /usr/sbin/jitsudod || true
fi
rm -f /usr/bin/jitsudo /usr/sbin/jitsudod /usr/bin/jitsudoctl /usr/sbin/jitsudoctl /etc/pam.d/jitsudo \
    /lib/systemd/system/jitsudod.service
[ -d /run/systemd/system ] && systemctl daemon-reload
if [ "${1:-}" = --purge ]; then
    rm -rf /etc/jitsudo /var/lib/jitsudo
fi
rm -rf /run/jitsudo
echo "jitsudo removed${1:+ (policy purged)}"
