# Sourced by the package tests (packaging/test-deb.sh,
# packaging/ansible/test-role.sh): run the calling script again on a
# copy-on-write overlay of this machine's own root, in private mount and
# PID namespaces, so that the machine (its /etc/pam.d, the test suite's
# binaries and daemons, other runs) is untouched and every process started
# in there ends with the script. No download is needed: the machine is a
# Debian 12 with the package's dependencies.
#
#     source packaging/lib/overlay.sh
#     overlay_reexec "$0" ARGS...   # outside: re-runs "$0" ARGS... inside, exits
#     root=$(overlay_root)          # inside: the overlay, a machine without jitsudo

# overlay_reexec SCRIPT ARGS...: when not yet inside, runs SCRIPT ARGS in
# the namespaces (in a cgroup of its own, so the packaged daemon never
# sees or tidies up the groups of other daemons on this machine) and exits
# with its status; inside, returns.
overlay_reexec() {
    [[ -z ${JITSUDO_OVERLAY_SCRATCH:-} ]] || return 0
    local scratch cgroup2 own cgroup= status=0
    scratch=$(mktemp -d /tmp/jitsudo-overlay.XXXXXX)
    cgroup2=$(findmnt -n -l -t cgroup2 -o TARGET | head -n 1 || true)
    own=$(sed -n 's/^0:://p' /proc/self/cgroup)
    if [[ -n $cgroup2 && -w $cgroup2${own%/}/cgroup.procs ]]; then
        cgroup=$cgroup2${own%/}/jitsudo-overlay-test-$$
        mkdir "$cgroup"
    fi
    (
        if [[ -n $cgroup ]]; then echo "$BASHPID" >"$cgroup/cgroup.procs"; fi
        exec unshare --mount --pid --fork --mount-proc \
            env JITSUDO_OVERLAY_SCRATCH="$scratch" "$@"
    ) || status=$?
    rmdir "$scratch"
    if [[ -n $cgroup ]]; then
        find "$cgroup" -depth -type d -exec rmdir {} + 2>/dev/null || true
    fi
    exit "$status"
}

# overlay_root: mounts the overlay (fresh /run and /tmp, the machine's
# /dev, /sys and a /proc of the new PID namespace), removes every trace of
# an earlier jitsudo install from it, and prints its path.
overlay_root() {
    local scratch=$JITSUDO_OVERLAY_SCRATCH root
    mount --make-rprivate /
    mount -t tmpfs tmpfs "$scratch"
    mkdir "$scratch"/{upper,work,root}
    root=$scratch/root
    mount -t overlay overlay -o "lowerdir=/,upperdir=$scratch/upper,workdir=$scratch/work" "$root"
    mount --rbind /dev "$root/dev"
    mount --rbind /sys "$root/sys"
    mount -t proc proc "$root/proc"
    mount -t tmpfs tmpfs "$root/run"
    mount -t tmpfs tmpfs "$root/tmp"
    # A machine that never had jitsudo: no earlier install.sh, no test PAM file.
    rm -rf "$root"/etc/jitsudo "$root"/var/lib/jitsudo "$root"/etc/pam.d/jitsudo \
        "$root"/usr/bin/jitsudo "$root"/usr/bin/jitsudoctl "$root"/usr/sbin/jitsudod \
        "$root"/lib/systemd/system/jitsudod.service
    echo "$root"
}
