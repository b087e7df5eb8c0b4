#!/usr/bin/env bash
# Stops jitsudod and removes jitsudo: `apt remove jitsudo` (the policy in
# /etc/jitsudo is kept) or, with --purge, `apt purge jitsudo` (the policy and
# /var/lib/jitsudo go too). Also removes what install.sh installed before it
# built a package. Run as root.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "uninstall.sh: run as root" >&2; exit 1; }

purge=
apt_verb=remove
if [ "${1:-}" = --purge ]; then purge=1; apt_verb=purge; fi

if dpkg-query -W -f='${Status}' jitsudo 2>/dev/null | grep -q 'ok installed\|config-files'; then
    DEBIAN_FRONTEND=noninteractive apt-get "$apt_verb" -y -q jitsudo
else
    # An install.sh from before the package.
    if [ -d /run/systemd/system ]; then
        systemctl disable --now jitsudod.service 2>/dev/null || true
    else
        pkill -TERM -x -f /usr/sbin/jitsudod || true
    fi
    rm -f /usr/bin/jitsudo /usr/sbin/jitsudod /usr/bin/jitsudoctl /usr/sbin/jitsudoctl /etc/pam.d/jitsudo \
        /lib/systemd/system/jitsudod.service
    if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
    if [ -n "$purge" ]; then rm -rf /etc/jitsudo /var/lib/jitsudo; fi
    rm -rf /run/jitsudo
fi
echo "jitsudo removed${purge:+ (policy purged)}"
