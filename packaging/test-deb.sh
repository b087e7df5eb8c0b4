#!/usr/bin/env bash
# Tests the jitsudo package as an admin uses it: lints it, installs it with
# `apt install ./jitsudo_*.deb`, runs jitsudo and jitsudoctl, upgrades it
# with a locally edited policy (kept) and an invalid one (daemon left
# alone), removes and purges it. Run as root; tests/run.sh calls it:
#
#     ./packaging/test-deb.sh [path/to/jitsudo_<version>_<arch>.deb]
#
# (default: builds it with packaging/build-deb.sh).
#
# The package is installed on a copy-on-write overlay of this machine's own
# root, in private mount and PID namespaces (packaging/lib/overlay.sh): the
# machine (its /etc/pam.d, the test suite's binaries and daemons, other
# runs) is untouched, every process started in there ends with this script,
# and no download is needed (the machine is a Debian 12 with the package's
# dependencies).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[[ $(id -u) == 0 ]] || { echo "test-deb.sh: run as root" >&2; exit 1; }

deb=${1:-}
if [[ -z $deb ]]; then
    deb=$("$repo/packaging/build-deb.sh" | tail -n 1)
fi
deb=$(realpath "$deb")

# shellcheck source=lib/overlay.sh
source "$repo/packaging/lib/overlay.sh"
if [[ -z ${JITSUDO_OVERLAY_SCRATCH:-} ]]; then
    # lintian: no error or warning left (the explained ones are overridden
    # in debian/jitsudo.lintian-overrides).
    if ! command -v lintian >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends lintian >/dev/null
    fi
    tags=$(lintian "$deb" 2>&1 | grep -E '^[EW]: ' || true)
    if [[ -n $tags ]]; then
        echo "test-deb.sh: FAIL: lintian: $tags" >&2
        exit 1
    fi
    echo "test-deb.sh: ok: lintian has no error or warning"
fi
overlay_reexec "$0" "$deb"

# --- inside the namespaces: the overlay root ------------------------------
root=$(overlay_root)
scratch=$JITSUDO_OVERLAY_SCRATCH
cp "$deb" "$root/tmp/"

# The upgrade: the same package under a higher version.
repack=$scratch/repack
dpkg-deb -R "$deb" "$repack"
version=$(sed -n 's/^Version: //p' "$repack/DEBIAN/control")
sed -i "s/^Version: .*/Version: $version+test1/" "$repack/DEBIAN/control"
dpkg-deb --root-owner-group -b "$repack" "$root/tmp/jitsudo_upgrade.deb" >/dev/null

chroot "$root" /bin/bash -s "$(basename "$deb")" <<'INSIDE'
set -euo pipefail
deb=/tmp/$1
export DEBIAN_FRONTEND=noninteractive
fail() { echo "test-deb.sh: FAIL: $*" >&2; exit 1; }
pass() { echo "test-deb.sh: ok: $*"; }
# apt_q ARGS...: runs apt-get, prints its output; on failure, fails with it.
apt_q() {
    local log
    log=$(apt-get -q -y -o Dpkg::Use-Pty=0 "$@" 2>&1) || fail "apt-get $*: $log"
    printf '%s\n' "$log"
}
daemon_pid() { pgrep -x -f '/usr/sbin/jitsudod' || true; }
wait_socket() {
    for _ in $(seq 100); do [[ -S /run/jitsudo/jitsudod.sock ]] && return 0; sleep 0.05; done
    fail "jitsudod made no socket"
}

# 1. Fresh install: files in place, jitsudo NOT setuid, the policy a 0600 conffile.
out=$(apt_q install "$deb")
echo "$out" | grep -q 'systemd is not running' || fail "postinst did not say that systemd is not running: $out"
for f in /usr/bin/jitsudo /usr/bin/jitsudoctl /usr/sbin/jitsudod /etc/pam.d/jitsudo \
         /lib/systemd/system/jitsudod.service /etc/jitsudo/policy.toml \
         /usr/lib/systemd/catalog/jitsudo.catalog /etc/logrotate.d/jitsudo; do
    [[ -e $f ]] || fail "$f not installed"
done
[[ -d /etc/jitsudo/policy.d ]] || fail "/etc/jitsudo/policy.d not installed"
[[ $(stat -c %a /usr/bin/jitsudo) == 755 ]] || fail "/usr/bin/jitsudo mode $(stat -c %a /usr/bin/jitsudo)"
[[ $(stat -c %a /etc/jitsudo/policy.toml) == 600 ]] || fail "policy.toml mode $(stat -c %a /etc/jitsudo/policy.toml)"
dpkg-query -W -f='${Conffiles}' jitsudo | grep -q '/etc/jitsudo/policy.toml' || fail "policy.toml is not a conffile"
dpkg-query -W -f='${Conffiles}' jitsudo | grep -q '/etc/logrotate.d/jitsudo' || fail "the logrotate config is not a conffile"
journalctl --update-catalog || fail "journalctl --update-catalog failed with jitsudo.catalog"
journalctl --list-catalog 6e4013ce4ebcc5d5005260d49d5a980d | grep -q 'jitsudo: ' \
    || fail "the journal catalog does not explain exec.accept"
[[ -L /etc/systemd/system/multi-user.target.wants/jitsudod.service ]] || fail "jitsudod.service not enabled"
pass "install: files, modes, conffile, unit enabled"

# Man pages render without warnings and have examples; completions load,
# and complete commands (sudo-style) and users.
for page in man8/jitsudo.8 man8/jitsudoctl.8 man8/jitsudod.8 man5/jitsudo-policy.5; do
    file=/usr/share/man/$page.gz
    [[ -e $file ]] || fail "$file not installed"
    warnings=$(MANWIDTH=80 man --warnings -l "$file" 2>&1 >/dev/null)
    [[ -z $warnings ]] || fail "man -l $file: $warnings"
    MANWIDTH=80 man -l "$file" 2>/dev/null | grep -q '^EXAMPLES' || fail "$file has no EXAMPLES"
done
[[ -e /usr/share/zsh/vendor-completions/_jitsudoctl && -e /usr/share/fish/vendor_completions.d/jitsudo.fish ]] ||
    fail "zsh or fish completions not installed"
complete_words() {
    bash -c 'source /usr/share/bash-completion/bash_completion
        source /usr/share/bash-completion/completions/jitsudo
        COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
        _jitsudo 2>/dev/null; printf "%s\n" "${COMPREPLY[@]}"' _ "$@"
}
complete_words jitsudo -u ro | grep -x root >/dev/null || fail "jitsudo -u ro<Tab> does not offer root"
complete_words jitsudo -u root systemct | grep -x systemctl >/dev/null || fail "jitsudo -u root systemct<Tab> does not offer systemctl"
complete_words jitsudo ls --al | grep -x -- --all >/dev/null || fail "jitsudo ls --al<Tab> does not complete ls's options"
bash -c 'source /usr/share/bash-completion/bash_completion; source /usr/share/bash-completion/completions/jitsudoctl; complete -p jitsudoctl' >/dev/null ||
    fail "the jitsudoctl bash completion does not load"
pass "man pages render, completions load and complete"

# 2. The daemon as install.sh starts it where PID 1 is not systemd; the client.
/usr/sbin/jitsudod
wait_socket
[[ $(jitsudo id -u) == 0 ]] || fail "jitsudo id -u did not print 0"
jitsudoctl policy check >/dev/null || fail "jitsudoctl policy check refused the default policy"
jitsudoctl status | grep -x '  /etc/jitsudo/policy.toml' >/dev/null || fail "jitsudoctl status: $(jitsudoctl status 2>&1)"
jitsudo -V | grep '^jitsudod version ' >/dev/null || fail "jitsudo -V does not print the daemon's version"
pass "jitsudo id, jitsudo -V, jitsudoctl policy check, jitsudoctl status"

# 3. Upgrade with a locally edited policy: kept, no prompt.
printf '\n# local edit\n' >>/etc/jitsudo/policy.toml
out=$(apt_q install /tmp/jitsudo_upgrade.deb)
grep -q '^# local edit$' /etc/jitsudo/policy.toml || fail "upgrade replaced the edited policy"
[[ -n $(daemon_pid) ]] || fail "upgrade stopped jitsudod"
pass "upgrade keeps the edited policy and the daemon"

# 4. Upgrade (reinstall) with an invalid policy: said, not fatal, daemon kept.
pid=$(daemon_pid)
echo 'this is = = not toml' >/etc/jitsudo/policy.d/broken.toml
out=$(apt_q install --reinstall /tmp/jitsudo_upgrade.deb)
echo "$out" | grep -q 'installed policy is invalid' || fail "postinst did not report the invalid policy: $out"
echo "$out" | grep -q 'broken.toml' || fail "postinst did not say which file is invalid: $out"
[[ $(daemon_pid) == "$pid" ]] || fail "the running daemon was touched"
rm /etc/jitsudo/policy.d/broken.toml
pass "invalid policy: reported, daemon left running"

# 5. Remove: binaries and daemon gone, policy kept.
apt_q remove "jitsudo" >/dev/null
[[ ! -e /usr/bin/jitsudo && ! -e /usr/sbin/jitsudod ]] || fail "remove left binaries"
[[ -e /etc/jitsudo/policy.toml ]] || fail "remove deleted the policy"
for _ in $(seq 100); do [[ -z $(daemon_pid) ]] && break; sleep 0.05; done
[[ -z $(daemon_pid) ]] || fail "remove left jitsudod running"
pass "remove keeps the policy, stops the daemon"

# 6. Purge: policy and state gone.
mkdir -p /var/lib/jitsudo && touch /var/lib/jitsudo/state
apt_q purge "jitsudo" >/dev/null
[[ ! -e /etc/jitsudo && ! -e /var/lib/jitsudo && ! -e /etc/pam.d/jitsudo ]] || fail "purge left state behind"
dpkg-query -W -f='${Status}' jitsudo 2>/dev/null | grep -q 'not-installed' || \
    ! dpkg-query -W jitsudo >/dev/null 2>&1 || fail "dpkg still knows jitsudo"
pass "purge removes /etc/jitsudo and /var/lib/jitsudo"
INSIDE
echo "test-deb.sh: all package tests passed"
