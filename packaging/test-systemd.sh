#!/usr/bin/env bash
# Tests the jitsudo package under a real systemd: boots /lib/systemd/systemd
# as PID 1 of a container over a copy-on-write overlay of this machine's
# root, installs the .deb in it (the maintainer scripts enable and start
# jitsudod.service through systemd) and checks the unit, the cgroup
# delegation, D-Bus activation, an upgrade with an invalid policy and the
# purge. Run as root; tests/run.sh calls it:
#
#     ./packaging/test-systemd.sh [path/to/jitsudo_<version>_<arch>.deb]
#
# (default: builds it with packaging/build-deb.sh). Exit status 0: passed;
# 77: skipped, because the kernel lacks a feature the container needs
# (namespaces, overlayfs, cgroup2), said on stderr; anything else: failed.
#
# The container is made with unshare(1) and chroot(8) only (no
# systemd-nspawn, whose package would upgrade this machine's systemd): the
# overlay of packaging/lib/overlay.sh, new PID, mount, cgroup, UTS, IPC and
# network namespaces (the container's services cannot reach this machine's
# network or processes), a cgroup2 subtree of its own as the container's
# /sys/fs/cgroup, a read-only /sys and a minimal /dev. The machine's own
# services, its /etc/pam.d and the test suite's daemons are untouched;
# every process of the container ends with this script.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
me=test-systemd.sh
fail() { echo "$me: FAIL: $*" >&2; exit 1; }
# skip WHY: exit 77, saying why (also in tests/run.sh's $JITSUDO_SKIP_LOG).
skip() {
    echo "$me: SKIPPED: $*" >&2
    if [[ -n ${JITSUDO_SKIP_LOG:-} ]]; then
        echo "SKIPPED packaging::test-systemd.sh: $*" >>"$JITSUDO_SKIP_LOG"
    fi
    exit 77
}
[[ $(id -u) == 0 ]] || fail "run as root"

# pid1 ROOT CONSOLE: the container's PID 1 before it becomes systemd, in
# the container's fresh namespaces: mounts its /proc, /sys, cgroup2, /dev,
# then execs systemd chrooted in ROOT with CONSOLE as /dev/console.
pid1() {
    local root=$1 console=$2 node
    umount -R "$root/dev" "$root/sys" "$root/proc"
    mount -t proc proc "$root/proc"
    # The kernel's settings are this machine's: read-only in there.
    for node in sys sysrq-trigger; do
        [[ -e $root/proc/$node ]] || continue
        mount --bind "$root/proc/$node" "$root/proc/$node"
        mount -o remount,bind,ro "$root/proc/$node"
    done
    mount --bind /sys "$root/sys"
    mount -o remount,bind,ro "$root/sys"
    # The cgroup namespace's root: the subtree made for the container.
    mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$root/sys/fs/cgroup"
    mount -t tmpfs -o mode=0755,nosuid tmpfs "$root/dev"
    for node in null zero full random urandom tty; do
        touch "$root/dev/$node"
        mount --bind "/dev/$node" "$root/dev/$node"
    done
    touch "$root/dev/console"
    mount --bind "$console" "$root/dev/console"
    mkdir "$root/dev/pts" "$root/dev/shm"
    mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts "$root/dev/pts"
    mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/dev/shm"
    ln -s pts/ptmx "$root/dev/ptmx"
    ln -s /proc/self/fd "$root/dev/fd"
    ln -s /proc/self/fd/0 "$root/dev/stdin"
    ln -s /proc/self/fd/1 "$root/dev/stdout"
    ln -s /proc/self/fd/2 "$root/dev/stderr"
    hostname jitsudo-systemd-test
    exec chroot "$root" /usr/bin/env -i container=jitsudo-test TERM=dumb /lib/systemd/systemd
}
if [[ ${1:-} == --pid1 ]]; then
    pid1 "$2" "$3"
fi

deb=${1:-}
if [[ -z $deb ]]; then
    deb=$("$repo/packaging/build-deb.sh" | tail -n 1)
fi
deb=$(realpath "$deb")

# shellcheck source=lib/overlay.sh
source "$repo/packaging/lib/overlay.sh"
if [[ -z ${JITSUDO_OVERLAY_SCRATCH:-} ]]; then
    # What the kernel must offer (else: skipped, not failed).
    grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null ||
        skip "the kernel has no overlayfs"
    grep -qw overlay /proc/filesystems || skip "the kernel has no overlayfs"
    grep -qw cgroup2 /proc/filesystems || skip "the kernel has no cgroup2 (systemd needs one)"
    # EINVAL: a namespace type the kernel was built without; anything else
    # (EPERM from a seccomp filter, say) is this machine's set-up: a failure.
    if ! out=$(unshare --mount --pid --fork --cgroup --uts --ipc --net true 2>&1); then
        [[ $out == *"Invalid argument"* ]] &&
            skip "the kernel lacks mount, PID, cgroup, UTS, IPC or network namespaces: $out"
        fail "cannot make the container's namespaces: $out"
    fi
    # What this machine must offer (else: failed).
    cgroup2=$(findmnt -n -l -t cgroup2 -o TARGET | head -n 1 || true)
    [[ -n $cgroup2 ]] || fail "no cgroup2 file system is mounted (mount one: the container's systemd needs it)"
    [[ -x /lib/systemd/systemd ]] || fail "/lib/systemd/systemd is missing: apt-get install systemd"
    own=$(sed -n 's/^0:://p' /proc/self/cgroup)
    [[ -w $cgroup2${own%/}/cgroup.procs ]] ||
        fail "cannot make a cgroup below $cgroup2${own%/} for the container (not writable)"
fi
overlay_reexec "$0" "$deb"

# --- inside the private namespaces: the overlay, and the container on it --
root=$(overlay_root)
scratch=$JITSUDO_OVERLAY_SCRATCH
# The container's systemd must own a cgroup subtree of its own, never this
# machine's root cgroup: overlay_reexec made one.
own=$(sed -n 's/^0:://p' /proc/self/cgroup)
[[ $own == */jitsudo-overlay-test-* ]] || fail "not in a cgroup of its own (in $own)"
cgroup2=$(findmnt -n -l -t cgroup2 -o TARGET | head -n 1)
mkdir "$cgroup2$own/container"

# Not in /tmp: systemd-tmpfiles empties it at boot.
mkdir "$root/root/jitsudo-test"
cp "$deb" "$root/root/jitsudo-test/"
repack=$scratch/repack
dpkg-deb -R "$deb" "$repack"
version=$(sed -n 's/^Version: //p' "$repack/DEBIAN/control")
sed -i "s/^Version: .*/Version: $version+test1/" "$repack/DEBIAN/control"
dpkg-deb --root-owner-group -b "$repack" "$root/root/jitsudo-test/jitsudo_upgrade.deb" >/dev/null
rm -rf "$repack"

# This machine's own services stay off in the container (a database, the
# console getty, timers): only what the package touches, D-Bus and syslog.
for unit in "$root"/etc/systemd/system/*.wants/*; do
    name=${unit##*/}
    case $name in
        rsyslog.service | dbus.service | dbus.socket) ;;
        *) ln -sfn /dev/null "$root/etc/systemd/system/${name/@*./@.}" ;;
    esac
done
# ...no getty on the container's console (a file here, not a terminal),
# and no kernel modules loaded on this machine's kernel.
for name in console-getty.service systemd-modules-load.service; do
    ln -sfn /dev/null "$root/etc/systemd/system/$name"
done
# A machine booted with systemd has no policy-rc.d; container images (this
# CI machine's among them) have one that forbids every start (exit 101),
# which deb-systemd-invoke obeys.
rm -f "$root/usr/sbin/policy-rc.d"

# The machine's journal catalog database may list jitsudo's entries (the
# audit tests install the catalog): rebuilt here without them, so that the
# check below sees what the package's install did.
rm -f "$root/usr/lib/systemd/catalog/jitsudo.catalog"
chroot "$root" journalctl --update-catalog
! chroot "$root" journalctl --list-catalog 6e4013ce4ebcc5d5005260d49d5a980d >/dev/null 2>&1 ||
    fail "the overlay's catalog database still lists jitsudo's entries"

console=$scratch/console.log
: >"$console"
(
    echo "$BASHPID" >"$cgroup2$own/container/cgroup.procs"
    exec unshare --mount --pid --fork --cgroup --uts --ipc --net "$0" --pid1 "$root" "$console" 2>>"$console"
) &
launcher=$!
container=
stop_container() {
    if [[ -n $container ]]; then kill -KILL "$container" 2>/dev/null || true; fi
    wait "$launcher" 2>/dev/null || true
}
trap stop_container EXIT
for _ in $(seq 200); do
    container=$(cat "/proc/$launcher/task/$launcher/children" 2>/dev/null || true)
    container=${container%% *}
    [[ -n $container && $(readlink "/proc/$container/exe" || true) == */systemd ]] && break
    container=
    sleep 0.05
done
[[ -n $container ]] || fail "systemd did not start: $(cat "$console")"

# in_container CMD...: runs CMD in the container (its namespaces and root).
in_container() {
    nsenter --target "$container" --mount --uts --ipc --net --pid --cgroup --root \
        /usr/bin/env -i -C / PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        LANG=C.UTF-8 "$@"
}
# systemctl --wait needs the manager's bus and /run/systemd/system
# ("offline" until then), which come up after a moment.
for _ in $(seq 1200); do
    state=$(in_container timeout 120 systemctl is-system-running --wait 2>&1 || true)
    [[ $state == *"Failed to connect to bus"* || $state == offline ]] || break
    sleep 0.1
done
case $state in
    running) ;;
    degraded) echo "$me: note: the container booted degraded: $(in_container systemctl --failed --no-legend --plain | awk '{print $1}' | xargs)" ;;
    *) fail "the container's systemd did not finish booting ($state): $(tail -n 40 "$console")" ;;
esac
echo "$me: ok: systemd booted as PID 1 of the container"

status=0
in_container /bin/bash -s "$(basename "$deb")" <<'INSIDE' || status=$?
set -euo pipefail
deb=/root/jitsudo-test/$1
export DEBIAN_FRONTEND=noninteractive
fail() { echo "test-systemd.sh: FAIL: $*" >&2; exit 1; }
pass() { echo "test-systemd.sh: ok: $*"; }
apt_q() {
    local log
    log=$(apt-get -q -y -o Dpkg::Use-Pty=0 "$@" 2>&1) || fail "apt-get $*: $log"
    printf '%s\n' "$log"
}
unit=jitsudod.service
main_pid() { systemctl show -p MainPID --value "$unit"; }
# retry SECONDS CMD...: runs CMD until it succeeds, at most SECONDS.
retry() {
    local tries=$(($1 * 20)); shift
    for _ in $(seq "$tries"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.05; done
    return 1
}

# 1. Install: the maintainer scripts enable and start the unit.
out=$(apt_q install "$deb")
! echo "$out" | grep -q 'systemd is not running' || fail "postinst thinks systemd is not running: $out"
[[ $(systemctl is-enabled "$unit") == enabled ]] || fail "$unit is not enabled"
[[ $(systemctl is-active "$unit") == active ]] ||
    fail "$unit is not active: $(systemctl status --no-pager "$unit" 2>&1)"
retry 5 test -S /run/jitsudo/jitsudod.sock || fail "jitsudod made no socket"
pass "apt install enables and starts $unit"

# 2. jitsudo for root, and for a user once a drop-in grants it (reload).
[[ $(jitsudo id -u) == 0 ]] || fail "jitsudo id -u (root) did not print 0"
useradd -m jsdtest
cat >/etc/jitsudo/policy.d/jsdtest.toml <<'EOF'
[[rule]]
id = "jsdtest"
who = ["jsdtest"]
run_as = ["root"]
commands = ["/usr/bin/id", "/usr/bin/cat /proc/self/cgroup"]
auth = "none"
EOF
chmod 0600 /etc/jitsudo/policy.d/jsdtest.toml
systemctl reload "$unit"
retry 10 runuser -u jsdtest -- jitsudo -n /usr/bin/id -u || fail "the rule for jsdtest did not take effect after systemctl reload"
[[ $(runuser -u jsdtest -- jitsudo -n /usr/bin/id -u) == 0 ]] || fail "jitsudo id -u (jsdtest) did not print 0"
[[ $(systemctl is-active "$unit") == active ]] || fail "$unit is not active after reload"
pass "jitsudo id: root, and a user after systemctl reload"

# 3. Delegate=yes: the daemon in <unit>/daemon, commands in <unit>/cmd-*.
[[ $(systemctl show -p Delegate --value "$unit") == yes ]] || fail "$unit has no Delegate=yes"
group=$(systemctl show -p ControlGroup --value "$unit")
[[ -n $group ]] || fail "$unit has no control group"
daemon_group=$(sed -n 's/^0:://p' "/proc/$(main_pid)/cgroup")
[[ $daemon_group == "$group/daemon" ]] || fail "jitsudod is in $daemon_group, not $group/daemon"
for who in root jsdtest; do
    cmd_group=$(runuser -u "$who" -- jitsudo -n /usr/bin/cat /proc/self/cgroup | sed -n 's/^0:://p')
    [[ $cmd_group == "$group"/cmd-* ]] || fail "a command of $who ran in $cmd_group, not below $group/cmd-*"
done
[[ -d /sys/fs/cgroup$group/daemon ]] || fail "no $group/daemon in the container's cgroup2"
pass "Delegate=yes: jitsudod in $group/daemon, commands in $group/cmd-*"

# 4. jitsudoctl status, systemd-analyze verify, the journal catalog.
jitsudoctl status >/dev/null || fail "jitsudoctl status exited $?: $(jitsudoctl status 2>&1)"
out=$(systemd-analyze verify /lib/systemd/system/jitsudod.service 2>&1) ||
    fail "systemd-analyze verify jitsudod.service: $out"
[[ -z $out ]] || fail "systemd-analyze verify jitsudod.service warns: $out"
# (a user manager needs a runtime directory; root has none without a login)
out=$(XDG_RUNTIME_DIR=$(mktemp -d) systemd-analyze --user verify /usr/lib/systemd/user/jitsudo-agent.service 2>&1) ||
    fail "systemd-analyze --user verify jitsudo-agent.service: $out"
[[ -e /usr/lib/systemd/catalog/jitsudo.catalog ]] || fail "the journal catalog is not installed"
# systemd's dpkg trigger rebuilt the catalog database (no manual update;
# the overlay's database had no jitsudo entry before the install).
catalog=$(journalctl --list-catalog 6e4013ce4ebcc5d5005260d49d5a980d 2>&1 || true)
[[ $catalog == *"jitsudo: "* ]] || fail "the journal catalog has no exec.accept entry: $catalog"
pass "jitsudoctl status, systemd-analyze verify, journal catalog"

# 5. D-Bus: the activation file; the daemon on the bus, and activated by it.
for f in /usr/share/dbus-1/system-services/org.jitsudo.Jitsudo1.service \
         /usr/share/dbus-1/system.d/org.jitsudo.Jitsudo1.conf; do
    [[ -e $f ]] || fail "$f not installed"
done
if [[ $(systemctl is-active dbus.service) == active ]]; then
    introspect() { busctl --system introspect org.jitsudo.Jitsudo1 /org/jitsudo/Jitsudo1; }
    retry 10 introspect || fail "busctl introspect org.jitsudo.Jitsudo1: $(introspect 2>&1)"
    introspect | grep -q '^org.jitsudo.Jitsudo1 ' || fail "the bus object has no org.jitsudo.Jitsudo1 interface"
    systemctl stop "$unit"
    introspect >/dev/null || fail "D-Bus activation did not start $unit: $(introspect 2>&1)"
    [[ $(systemctl is-active "$unit") == active ]] || fail "$unit not active after D-Bus activation"
    pass "busctl introspect; a bus call starts the stopped $unit"
else
    pass "D-Bus activation file installed (dbus is not running in the container: busctl not tried)"
fi

# 6. Upgrade: a valid policy restarts the daemon; an invalid one keeps the old.
pid=$(main_pid)
apt_q install /root/jitsudo-test/jitsudo_upgrade.deb >/dev/null
[[ $(systemctl is-active "$unit") == active ]] || fail "$unit not active after the upgrade"
[[ $(main_pid) != "$pid" ]] || fail "the upgrade did not restart jitsudod"
pid=$(main_pid)
echo 'this is = = not toml' >/etc/jitsudo/policy.d/broken.toml
out=$(apt_q install --reinstall /root/jitsudo-test/jitsudo_upgrade.deb)
echo "$out" | grep -q 'installed policy is invalid' || fail "postinst did not report the invalid policy: $out"
echo "$out" | grep -q 'broken.toml' || fail "postinst did not say which file is invalid: $out"
[[ $(systemctl is-active "$unit") == active ]] || fail "$unit not active after the refused upgrade: $out"
[[ $(main_pid) == "$pid" ]] || fail "the refused upgrade restarted jitsudod anyway"
[[ $(runuser -u jsdtest -- jitsudo -n /usr/bin/id -u) == 0 ]] || fail "the old daemon no longer serves jsdtest"
rm /etc/jitsudo/policy.d/broken.toml
pass "upgrade restarts $unit; with an invalid policy the old daemon keeps running and postinst says why"

# 7. Purge: the unit stopped and disabled, the policy gone.
apt_q purge jitsudo >/dev/null
state=$(systemctl is-active "$unit" || true)
[[ $state != active ]] || fail "$unit still active after purge"
[[ ! -e /etc/systemd/system/multi-user.target.wants/$unit ]] || fail "$unit still enabled after purge"
! pgrep -x jitsudod >/dev/null || fail "jitsudod still running after purge"
[[ ! -e /etc/jitsudo ]] || fail "purge left /etc/jitsudo"
pass "apt purge stops and disables $unit"
INSIDE
if ((status != 0)); then
    echo "$me: the container's journal (last 60 lines):" >&2
    in_container journalctl --no-pager -n 60 >&2 || true
    exit "$status"
fi
echo "$me: all systemd tests passed"
