//! cgroup v2 (jitsudo only): every command runs in a group of its own
//! below its daemon's subtree, ending a command ends everything it started
//! (a double-forked, setsid'd grandchild too), groups go away once empty,
//! and the target user can neither enter nor leave them.
//!
//! Each test starts its own daemon, so that counting groups never sees
//! another test's commands.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use jitsudo_tests::daemon::{own_cgroup, Daemon};
use jitsudo_tests::exec::wait_bounded;
use jitsudo_tests::sh::with_helpers;
use jitsudo_tests::util::{make_dir, poll_until, shell_quote, write_atomic};
use jitsudo_tests::world::workspace_root;
use jitsudo_tests::*;

/// How long a command gets after SIGTERM or SIGHUP before it is killed
/// (the worker's grace period).
const GRACE: Duration = Duration::from_secs(2);

/// The `timeout` of the rule for [`ADMIN`] running `/bin/sh`.
const TIMEOUT: Duration = Duration::from_secs(1);

const POLICY: &str = r#"
[[rule]]
id = "root-all"
who = ["root"]
commands = ["ALL"]
auth = "none"

[[rule]]
id = "timed-shell"
who = ["jt_admin"]
commands = ["/bin/sh"]
auth = "none"
timeout = "1s"

[[rule]]
id = "as-nobody"
who = ["jt_limited"]
run_as = ["jt_nobody"]
commands = ["ALL"]
auth = "none"

# After root-all: the last matching allow rule decides.
[[rule]]
id = "root-timed-env"
who = ["root"]
commands = ["/usr/bin/env"]
auth = "none"
timeout = "1s"
"#;

/// A daemon of its own for one test.
fn daemon(name: &str) -> Daemon {
    let w = world();
    let path = w.policy_dir(name).join("policy.toml");
    write_atomic(&path, POLICY.as_bytes(), 0o644);
    Daemon::start(w, name, &path)
}

/// Where the cgroup2 hierarchy is mounted (from mountinfo, as the daemon
/// finds it).
fn mount_point() -> PathBuf {
    let text = fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    let line = text
        .lines()
        .find(|l| {
            l.split(" - ")
                .nth(1)
                .is_some_and(|t| t.starts_with("cgroup2 "))
        })
        .expect("a cgroup2 mount");
    PathBuf::from(line.split(' ').nth(4).expect("mount point"))
}

/// The directory of the cgroup `path` (as /proc/self/cgroup names it).
fn dir_of(path: &Path) -> PathBuf {
    mount_point().join(path.strip_prefix("/").expect("absolute cgroup path"))
}

/// Every group named like a command's (`cmd-<worker pid>[-n]`) now below
/// the daemon's subtree, idle workers' included.
fn all_groups(d: &Daemon) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir_of(&d.cgroup)) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with("cmd-"))
        .collect()
}

/// The pid of the worker a group name carries.
fn worker_of(group: &str) -> Option<i32> {
    group.strip_prefix("cmd-")?.split('-').next()?.parse().ok()
}

/// The idle workers of `d` (waiting for a job), by pid.
fn idle_workers(d: &Daemon) -> Vec<i32> {
    d.workers()
        .into_iter()
        .filter(|(_, title)| title == "jitsudod: worker [idle]")
        .map(|(pid, _)| pid)
        .collect()
}

/// The command groups now below the daemon's subtree: every `cmd-*` but
/// those an idle worker made ahead of its job.
fn groups(d: &Daemon) -> Vec<String> {
    let idle = idle_workers(d);
    all_groups(d)
        .into_iter()
        .filter(|g| !worker_of(g).is_some_and(|pid| idle.contains(&pid)))
        .collect()
}

/// Every command group is gone (within a bound: a worker removes its group
/// right after it reported the exit).
fn assert_groups_removed(d: &Daemon) {
    let gone = poll_until(Duration::from_secs(10), || {
        groups(d).is_empty().then_some(())
    });
    assert!(gone.is_some(), "groups left behind: {:?}", groups(d));
}

/// Whether `pid` is alive (not gone, not a zombie).
fn alive(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| !rest.starts_with('Z')))
        .unwrap_or(false)
}

/// Waits (at most `bound`) until `pid` is dead: how long that took, or
/// `None` after killing it so that a failing test leaves nothing behind.
fn wait_dead(pid: i32, bound: Duration) -> Option<Duration> {
    let start = Instant::now();
    let dead = poll_until(bound, || (!alive(pid)).then(|| start.elapsed()));
    if dead.is_none() {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    dead
}

/// The pid a case printed as `gc=<pid>`.
fn grandchild(out: &Output) -> i32 {
    let text = out.stdout_text();
    text.split("gc=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(|| panic!("no gc=<pid> in the output:\n{text}"))
}

/// Written by the case script, run as the command: starts a grandchild
/// that leaves the command's session (double fork + setsid), ignores
/// SIGTERM and SIGHUP and holds none of the command's descriptors, then
/// waits.
const DOUBLE_FORK: &str = r#"cat > cmd.sh <<'EOF'
(setsid sh -c 'trap "" TERM HUP; echo $$ > gc.tmp; mv gc.tmp gc; exec sleep 1000' </dev/null >/dev/null 2>&1 &)
while [ ! -s gc ]; do sleep 0.01; done
exec sleep 1000
EOF
"#;

#[test]
fn a_command_runs_in_its_own_group_below_the_subtree() {
    let d = daemon("cg-own");
    let out = Case::new(
        ROOT,
        "$SUDO sh -c 'sed -n s/^0:://p /proc/self/cgroup /proc/$PPID/cgroup'",
    )
    .socket(&d.socket)
    .status(0)
    .assert_jitsudo();
    let Some(out) = out else { return };
    let text = out.stdout_text();
    let mut lines = text.lines();
    let (command, worker) = (lines.next().unwrap_or(""), lines.next().unwrap_or(""));
    let prefix = format!("{}/cmd-", d.cgroup.display());
    assert!(
        command.starts_with(&prefix),
        "the command is in {command:?}, not in a group below {prefix:?}"
    );
    assert!(
        !worker.starts_with(&prefix),
        "the worker is inside the command's group: {worker:?}"
    );
    assert_groups_removed(&d);
}

/// The command is in its group before it runs any code of its own: a
/// program that reads /proc/self/cgroup first thing (no shell in between,
/// exec'd directly by the worker) names a group of its own below the
/// subtree. The worker's child is born there (clone3 with
/// CLONE_INTO_CGROUP, or it moves itself before its exec on older
/// kernels); a child born anywhere else (the subtree itself, the worker's
/// group) would show here.
#[test]
fn the_command_is_in_its_group_from_its_first_instruction() {
    let d = daemon("cg-first");
    let out = Case::new(
        ROOT,
        "$SUDO /bin/cat /proc/self/cgroup; $SUDO /bin/cat /proc/self/cgroup",
    )
    .socket(&d.socket)
    .status(0)
    .assert_jitsudo();
    let Some(out) = out else { return };
    let text = out.stdout_text();
    let seen: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("0::")).collect();
    let prefix = format!("{}/cmd-", d.cgroup.display());
    assert_eq!(seen.len(), 2, "two commands, two cgroup lines:\n{text}");
    for group in &seen {
        let name = group.strip_prefix(&prefix).unwrap_or_else(|| {
            panic!("the command started in {group:?}, not in a group below {prefix:?}")
        });
        assert!(!name.contains('/'), "not a command group: {group:?}");
    }
    assert_groups_removed(&d);
}

/// The rule's timeout ends the command's whole cgroup: a grandchild that
/// double-forked, called setsid and ignores SIGTERM is killed after the
/// grace period. Before cgroups only the command's process group got the
/// signals, and the grandchild ran on.
#[test]
fn a_timeout_kills_a_double_forked_grandchild() {
    let d = daemon("cg-timeout");
    let script = format!("{DOUBLE_FORK}$SUDO /bin/sh ./cmd.sh; echo status=$?; echo gc=$(cat gc)");
    let start = Instant::now();
    let out = Case::new(ADMIN, script)
        .socket(&d.socket)
        .in_fresh_dir()
        .timeout(Duration::from_secs(30))
        .stdout_has("status=143")
        .assert_jitsudo();
    let Some(out) = out else { return };
    let pid = grandchild(&out);
    let bound = TIMEOUT + GRACE + Duration::from_secs(2);
    let died = wait_dead(pid, bound.saturating_sub(start.elapsed()));
    let after = start.elapsed().saturating_sub(TIMEOUT);
    assert!(
        died.is_some(),
        "the grandchild {pid} survived the rule's timeout ({TIMEOUT:?} + {GRACE:?} grace)"
    );
    eprintln!("grandchild killed {after:?} after the timeout (grace {GRACE:?})");
    assert_groups_removed(&d);
}

/// The client of a terminal command vanishes (SIGKILL): the command is hung
/// up and, after the grace period, its whole cgroup is killed, the
/// double-forked grandchild included. Before, it ran on.
#[test]
fn a_vanished_client_kills_the_whole_tree() {
    let d = daemon("cg-vanish");
    let script = with_helpers(&format!(
        "{DOUBLE_FORK}$SUDO /bin/sh ./cmd.sh &
c=$!
wait_file gc
kill -KILL $c
echo gc=$(cat gc)"
    ));
    let start = Instant::now();
    let out = Case::new(ROOT, script)
        .socket(&d.socket)
        .in_fresh_dir()
        .pty(PtySpec::default())
        .timeout(Duration::from_secs(30))
        .assert_jitsudo();
    let Some(out) = out else { return };
    let pid = grandchild(&out);
    let died = wait_dead(pid, GRACE + Duration::from_secs(5));
    assert!(
        died.is_some(),
        "the grandchild {pid} survived its vanished client"
    );
    eprintln!(
        "grandchild killed {:?} after the client was (grace {GRACE:?})",
        start.elapsed()
    );
    assert_groups_removed(&d);
}

/// What a command leaves running after it exits runs on, as under sudo,
/// in the command's group; the group goes once that ends too.
#[test]
fn leftovers_run_on_and_their_group_goes_when_they_end() {
    let d = daemon("cg-leftover");
    let out = Case::new(
        ROOT,
        "$SUDO sh -c 'sleep 1 </dev/null >/dev/null 2>&1 & echo gc=$!'",
    )
    .socket(&d.socket)
    .status(0)
    .assert_jitsudo();
    let Some(out) = out else { return };
    let pid = grandchild(&out);
    assert!(alive(pid), "the background child {pid} was killed");
    assert_eq!(groups(&d).len(), 1, "its group must stay while it runs");
    assert!(wait_dead(pid, Duration::from_secs(10)).is_some());
    assert_groups_removed(&d);
}

/// Many commands at once, each leaving a short-lived child behind, each in
/// a group of its own, leave no group behind; the daemon removes its
/// subtree when it stops.
#[test]
fn a_flood_of_commands_leaves_no_group_behind() {
    let d = daemon("cg-flood");
    let script = "for i in $(seq 40); do $SUDO sh -c 'sed -n s/^0:://p /proc/self/cgroup; sleep 0.2 &' & done; wait";
    let out = Case::new(ROOT, script)
        .socket(&d.socket)
        .timeout(Duration::from_secs(60))
        .status(0)
        .assert_jitsudo();
    let Some(out) = out else { return };
    let text = out.stdout_text();
    let mut seen: Vec<&str> = text.lines().collect();
    let prefix = format!("{}/cmd-", d.cgroup.display());
    assert!(
        seen.iter().all(|g| g.starts_with(&prefix)),
        "not every command ran in a group below {prefix}:\n{text}"
    );
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), 40, "40 commands, not 40 groups:\n{text}");
    assert_groups_removed(&d);
    assert!(d.terminate(Duration::from_secs(10)).is_some());
    assert!(
        !dir_of(&d.cgroup).exists(),
        "the daemon left its empty subtree {}",
        d.cgroup.display()
    );
}

/// Each idle worker makes its command's group while it waits for a job,
/// and removes it when it ends without one: when the daemon stops (its
/// channel closes), or when a stop signal ends it (it still dies of the
/// signal). No group is left behind, and the daemon's subtree goes.
#[test]
fn an_idle_workers_group_goes_when_it_ends_without_a_job() {
    let d = daemon("cg-idle");
    let ready = |d: &Daemon| {
        let groups = all_groups(d);
        let idle = idle_workers(d);
        let with_group: Vec<i32> = idle
            .iter()
            .copied()
            .filter(|pid| groups.iter().any(|g| worker_of(g) == Some(*pid)))
            .collect();
        (with_group.len() >= 2).then_some(with_group)
    };
    let Some(idle) = poll_until(Duration::from_secs(10), || ready(&d)) else {
        panic!(
            "no two idle workers with a group: workers {:?}, groups {:?}",
            d.workers(),
            all_groups(&d)
        );
    };
    // A stop signal to one idle worker.
    let stopped = idle[0];
    let pid = nix::unistd::Pid::from_raw(stopped);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
    assert!(wait_dead(stopped, Duration::from_secs(10)).is_some());
    assert!(
        !all_groups(&d).iter().any(|g| worker_of(g) == Some(stopped)),
        "the worker {stopped} ended by SIGTERM left its group: {:?}",
        all_groups(&d)
    );
    // The daemon stops: every idle worker's channel closes.
    assert!(d.terminate(Duration::from_secs(10)).is_some());
    for pid in &idle[1..] {
        assert!(wait_dead(*pid, Duration::from_secs(10)).is_some());
    }
    assert!(
        all_groups(&d).is_empty(),
        "idle workers left groups: {:?}",
        all_groups(&d)
    );
    assert!(
        !dir_of(&d.cgroup).exists(),
        "the daemon left its subtree {}",
        d.cgroup.display()
    );
}

/// A cgroup made for one test and removed (with the leaf a daemon made in
/// it) when dropped.
struct TestCgroup {
    path: PathBuf,
    dir: PathBuf,
}

impl TestCgroup {
    fn new(name: &str) -> TestCgroup {
        let path = own_cgroup().join(format!("jitsudo-test-{}-{name}", std::process::id()));
        let dir = dir_of(&path);
        make_dir(&dir, 0o755);
        TestCgroup { path, dir }
    }

    /// Hands it to `user`, as a delegated user slice is: a place the user's
    /// own processes could be moved to, were escaping possible.
    fn owned_by(self, user: &str) -> TestCgroup {
        let user = account(user);
        for path in [self.dir.clone(), self.dir.join("cgroup.procs")] {
            nix::unistd::chown(
                &path,
                Some(nix::unistd::Uid::from_raw(user.uid)),
                Some(nix::unistd::Gid::from_raw(user.gid)),
            )
            .expect("chown");
        }
        self
    }
}

impl Drop for TestCgroup {
    /// The daemon's idle workers end shortly after it: its leaf can be
    /// removed once they did.
    fn drop(&mut self) {
        let leaf = self.dir.join("daemon");
        let _ = poll_until(Duration::from_secs(10), || {
            (!leaf.exists() || fs::remove_dir(&leaf).is_ok()).then_some(())
        });
        let _ = fs::remove_dir(&self.dir);
    }
}

/// The target user cannot move its process out of the command's group —
/// not to the subtree, not to the root, not even to a cgroup it owns — nor
/// make groups below it: everything is root's and the common ancestor's
/// `cgroup.procs` is not writable by it.
#[test]
fn the_target_user_cannot_leave_or_change_its_group() {
    let d = daemon("cg-escape");
    let own = TestCgroup::new("escape").owned_by(NOBODY);
    let mount = mount_point();
    let inner = format!(
        r#"m={mount}; cg=$(sed -n "s/^0:://p" /proc/self/cgroup); echo "in=$cg"
for t in "$m$cg" "$m$cg/.." "$m"; do
  [ -w "$t/cgroup.procs" ] && echo "writable: $t"
done
for t in "$m$cg" "$m$cg/.." "$m" "{own}"; do
  (echo $$ > "$t/cgroup.procs") 2>/dev/null && echo "moved to: $t"
done
mkdir "$m$cg/sub" 2>/dev/null && echo "made a group"
echo "now=$(sed -n "s/^0:://p" /proc/self/cgroup)""#,
        mount = mount.display(),
        own = own.dir.display(),
    );
    let script = format!("$SUDO -u {NOBODY} sh -c {}", shell_quote(&inner));
    let out = Case::new(LIMITED, script)
        .socket(&d.socket)
        .status(0)
        .stdout_lacks("writable")
        .stdout_lacks("moved to")
        .stdout_lacks("made a group")
        .assert_jitsudo();
    let Some(out) = out else { return };
    let text = out.stdout_text();
    let prefix = format!("in={}/cmd-", d.cgroup.display());
    assert!(text.starts_with(&prefix), "not in its own group:\n{text}");
    let first = text.lines().next().unwrap_or("");
    assert!(
        text.contains(&format!("now={}\n", &first[3..])),
        "the process left its group:\n{text}"
    );
    assert_groups_removed(&d);
}

/// Under systemd (`Delegate=yes`), the daemon works in its unit's own
/// cgroup: it moves itself (and so its workers) into the leaf
/// `<unit>/daemon`, commands get `<unit>/cmd-*`, and the unit's cgroup
/// itself holds no process.
#[test]
fn as_a_systemd_unit_the_daemon_works_in_its_own_cgroup() {
    let unit = TestCgroup::new("unit.service");
    let w = world();
    let policy = w.policy_dir("cg-unit").join("policy.toml");
    write_atomic(&policy, POLICY.as_bytes(), 0o644);
    let d = Daemon::start_as_unit(w, "cg-unit", &policy, unit.path.clone(), &unit.dir);
    let out = Case::new(
        ROOT,
        "$SUDO sh -c 'sed -n s/^0:://p /proc/self/cgroup /proc/$PPID/cgroup'",
    )
    .socket(&d.socket)
    .status(0)
    .assert_jitsudo();
    let daemon_cgroup = fs::read_to_string(format!("/proc/{}/cgroup", d.pid())).unwrap_or_default();
    let in_unit = fs::read_to_string(unit.dir.join("cgroup.procs")).unwrap_or_default();
    assert!(d.terminate(Duration::from_secs(10)).is_some());
    let Some(out) = out else { return };
    let text = out.stdout_text();
    let base = unit.path.display();
    assert!(
        text.starts_with(&format!("{base}/cmd-")) && text.contains(&format!("\n{base}/daemon\n")),
        "command and worker not in <unit>/cmd-* and <unit>/daemon:\n{text}"
    );
    assert!(
        daemon_cgroup.ends_with(&format!("\n0::{base}/daemon\n")),
        "the daemon is not in <unit>/daemon:\n{daemon_cgroup}"
    );
    assert_eq!(in_unit, "", "processes left in the unit's own cgroup");
}

/// A subtree inside a cgroup delegated to a user would let that user move
/// its processes out of a command's group: the daemon refuses to start.
#[test]
fn a_subtree_inside_a_users_cgroup_is_refused() {
    let users = TestCgroup::new("delegated").owned_by(NOBODY);
    let w = world();
    let dir = w.scratch_dir("cg-delegated");
    let log = dir.join("log");
    let mut daemon = Command::new(w.jitsudo_bin().join("jitsudod"))
        .arg("--foreground")
        .arg("--cgroup-root")
        .arg(users.path.join("jitsudo"))
        .arg("--socket")
        .arg(dir.join("s"))
        .arg("--policy")
        .arg(&w.policy)
        .arg("--state-dir")
        .arg(dir.join("state"))
        .stderr(fs::File::create(&log).expect("create the log"))
        .process_group(0)
        .spawn()
        .expect("run jitsudod");
    let (status, timed_out) = wait_bounded(&mut daemon, Duration::from_secs(10));
    let err = fs::read_to_string(&log).unwrap_or_default();
    assert!(!timed_out, "jitsudod started in a delegated cgroup: {err}");
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains("may be written by others than root"), "{err}");
    assert!(!users.dir.join("jitsudo").exists());
}

/// Without a cgroup2 mount (a daemon in a mount namespace where it was
/// unmounted) the daemon says so once in its log and runs plain commands,
/// but refuses a rule with a timeout, which it could not enforce on a
/// double-forked process.
#[test]
fn without_cgroup_v2_a_timeout_is_refused() {
    let w = world();
    let policy = w.policy_dir("cg-none").join("policy.toml");
    write_atomic(&policy, POLICY.as_bytes(), 0o644);
    let script = with_helpers(&format!(
        r#"unshare --mount --propagation private sh -c 'for m in $(findmnt -n -l -t cgroup2 -o TARGET); do umount -l "$m"; done; exec "$@"' sh {daemon} --foreground --socket "$PWD/s" --policy {policy} --state-dir "$PWD/state" > log 2>&1 &
d=$!
wait_file s
nsenter -t $d -m env JITSUDO_SOCKET="$PWD/s" $SUDO sh -c 'echo plain ran'
nsenter -t $d -m env JITSUDO_SOCKET="$PWD/s" $SUDO /usr/bin/env true; echo timed=$?
kill $d; wait $d
grep -c "cgroup v2 is not usable" log"#,
        daemon = w.jitsudo_bin().join("jitsudod").display(),
        policy = policy.display(),
    ));
    Case::new(ROOT, script)
        .in_fresh_dir()
        .timeout(Duration::from_secs(30))
        .stdout_is("plain ran\ntimed=1\n1\n")
        .stderr_has("this rule has a timeout, which needs cgroup v2")
        .assert_jitsudo();
}

/// The unit file stays clean for `systemd-analyze verify` (which needs the
/// binary to exist: the installed path is replaced by the built one).
#[test]
fn the_unit_file_verifies_clean() {
    let unit = workspace_root().join("systemd/jitsudod.service");
    let text = fs::read_to_string(&unit).expect("read the unit");
    assert!(text.contains("\nDelegate=yes\n"), "no Delegate=yes");
    let installed = "ExecStart=/usr/sbin/jitsudod ";
    assert!(text.contains(installed), "ExecStart changed");
    let built = format!(
        "ExecStart={} ",
        world().jitsudo_bin().join("jitsudod").display()
    );
    let dir = world().policy_dir("unit");
    let copy = dir.join("jitsudod.service");
    write_atomic(&copy, text.replace(installed, &built).as_bytes(), 0o644);
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&copy)
        .output()
        .expect("run systemd-analyze");
    let errors = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && errors.trim().is_empty(),
        "systemd-analyze verify: {errors}"
    );
}
