//! `jitsudoctl policy check`, `explain`, `diff`, `import-sudoers` and
//! `reload` (jitsudo only: sudo's counterparts are `visudo -c` and
//! re-reading on every call).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use jitsudo_tests::daemon::Daemon;
use jitsudo_tests::util::write_atomic;
use jitsudo_tests::world;

fn ctl(args: &[&str]) -> Output {
    Command::new(world().jitsudo_bin().join("jitsudoctl"))
        .args(args)
        .output()
        .expect("run jitsudoctl")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A policy file in a fresh directory that only root can write.
fn policy_file(name: &str, contents: &str) -> PathBuf {
    let path = world().policy_dir(name).join("policy.toml");
    write_atomic(&path, contents.as_bytes(), 0o644);
    path
}

const ROOT_ID_ONLY: &str = "[[rule]]\nid = \"root-id\"\nwho = [\"root\"]\n\
    commands = [\"/usr/bin/id\"]\nauth = \"none\"\n";
const ROOT_ALL: &str = "[[rule]]\nid = \"root-all\"\nwho = [\"root\"]\n\
    commands = [\"ALL\"]\nauth = \"none\"\n";

#[test]
fn check_accepts_a_valid_candidate() {
    let path = policy_file("check-ok", ROOT_ALL);
    let out = ctl(&["policy", "check", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!("{}: parsed OK\n", path.display())
    );
}

#[test]
fn check_reports_every_error_with_its_location() {
    let path = policy_file(
        "check-bad",
        "[[rule]]\nwho = [\"root\"]\ncomands = [\"ALL\"]\n",
    );
    let out = ctl(&["policy", "check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.starts_with(&format!("{}:3:1: unknown field `comands`", path.display())),
        "{err}"
    );
    assert!(err.contains("did you mean `commands`?"), "{err}");
}

#[test]
fn check_speaks_json() {
    let path = policy_file("check-json", "[defaults]\numask = \"9\"\n");
    let out = ctl(&[
        "policy",
        "check",
        "--format",
        "json",
        path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    assert_eq!(doc["ok"], false);
    let error = &doc["errors"][0];
    assert_eq!(error["file"], path.display().to_string());
    assert_eq!(error["line"], 2);
    assert!(error["message"].as_str().unwrap().contains("umask"));
}

#[test]
fn check_needs_no_privileges() {
    let path = policy_file("check-user", ROOT_ALL);
    let out = Command::new("setpriv")
        .args(["--reuid=jt_nobody", "--regid=jt_nobody", "--init-groups"])
        .arg(world().jitsudo_bin().join("jitsudoctl"))
        .args(["policy", "check", path.to_str().unwrap()])
        .output()
        .expect("run setpriv");
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// Runs `jitsudo -n <command>` as root against `daemon`.
fn root_runs(daemon: &Daemon, command: &str) -> bool {
    Command::new(world().jitsudo_bin().join("jitsudo"))
        .args(["-n", command])
        .env("JITSUDO_SOCKET", &daemon.socket)
        .output()
        .expect("run jitsudo")
        .status
        .success()
}

fn reload(daemon: &Daemon) -> Output {
    let socket = daemon.socket.to_str().unwrap().to_owned();
    ctl(&["policy", "reload", "--socket", &socket])
}

#[test]
fn reload_is_atomic_and_reports_errors() {
    let path = policy_file("reload", ROOT_ID_ONLY);
    let daemon = Daemon::start(world(), "reload", &path);
    assert!(root_runs(&daemon, "/usr/bin/id"));
    assert!(!root_runs(&daemon, "/usr/bin/true"));

    write_atomic(&path, format!("{ROOT_ALL}bogus = 1\n").as_bytes(), 0o644);
    let refused = reload(&daemon);
    assert_eq!(refused.status.code(), Some(1));
    assert!(text(&refused.stderr).contains("unknown field `bogus`"));
    assert!(
        !root_runs(&daemon, "/usr/bin/true"),
        "a refused policy took effect"
    );

    write_atomic(&path, ROOT_ALL.as_bytes(), 0o644);
    let accepted = reload(&daemon);
    assert!(accepted.status.success(), "{}", text(&accepted.stderr));
    assert!(root_runs(&daemon, "/usr/bin/true"));

    write_atomic(&path, ROOT_ID_ONLY.as_bytes(), 0o644);
    nix::sys::signal::kill(daemon.pid(), nix::sys::signal::Signal::SIGHUP).unwrap();
    let reverted = jitsudo_tests::util::poll_until(std::time::Duration::from_secs(10), || {
        (!root_runs(&daemon, "/usr/bin/true")).then_some(())
    });
    assert!(reverted.is_some(), "SIGHUP did not reload the policy");
}

#[test]
fn reload_is_for_root_only() {
    let out = Command::new("setpriv")
        .args(["--reuid=jt_nobody", "--regid=jt_nobody", "--init-groups"])
        .arg(world().jitsudo_bin().join("jitsudoctl"))
        .args(["policy", "reload", "--socket"])
        .arg(Path::new(&world().default_socket()))
        .output()
        .expect("run setpriv");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr), "only root may reload the policy\n");
}

#[test]
fn policy_files_others_could_write_are_refused() {
    let path = policy_file("perms", ROOT_ALL);
    let daemon = Daemon::start(world(), "perms", &path);
    write_atomic(&path, ROOT_ALL.as_bytes(), 0o666);
    let out = reload(&daemon);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("is writable by group or others (mode 0666)"),
        "{}",
        text(&out.stderr)
    );
}

/// Starts a daemon on `<fresh root dir>/etc/policy.toml` (ROOT_ID_ONLY),
/// applies `tamper` to that tree, and returns what `policy reload` said;
/// checks that the old policy stayed in force.
fn reload_after(name: &str, tamper: impl FnOnce(&Path)) -> String {
    let top = world().policy_dir(name);
    let etc = top.join("etc");
    jitsudo_tests::util::make_dir(&etc, 0o755);
    let path = etc.join("policy.toml");
    write_atomic(&path, ROOT_ID_ONLY.as_bytes(), 0o644);
    let daemon = Daemon::start(world(), name, &path);
    write_atomic(&path, ROOT_ALL.as_bytes(), 0o644);
    tamper(&top);
    let out = reload(&daemon);
    assert_eq!(out.status.code(), Some(1), "reload was accepted");
    assert!(
        !root_runs(&daemon, "/usr/bin/true"),
        "the refused policy took effect"
    );
    assert!(root_runs(&daemon, "/usr/bin/id"), "the old policy was lost");
    text(&out.stderr)
}

fn chown_to_user(path: &Path) {
    let user = jitsudo_tests::fixtures::account(jitsudo_tests::NOBODY);
    std::os::unix::fs::chown(path, Some(user.uid), None).unwrap();
}

#[test]
fn a_policy_directory_a_user_owns_is_refused() {
    let stderr = reload_after("owned-dir", |top| chown_to_user(&top.join("etc")));
    assert!(
        stderr.contains("/etc is owned by uid ") && stderr.contains(", should be 0"),
        "{stderr}"
    );
}

/// Every ancestor counts, not only the policy's own directory: a user who
/// owns one could rename the directory below it away and put their own.
#[test]
fn an_ancestor_directory_a_user_owns_is_refused() {
    let mut top_name = String::new();
    let stderr = reload_after("owned-ancestor", |top| {
        chown_to_user(top);
        top_name = top.display().to_string();
    });
    assert!(
        stderr.contains(&format!("{top_name} is owned by uid ")),
        "{stderr}"
    );
}

/// A sticky, world-writable directory (like /tmp) is refused too, as sshd
/// refuses it.
#[test]
fn a_policy_below_a_sticky_world_writable_directory_is_refused() {
    let stderr = reload_after("sticky-dir", |top| {
        jitsudo_tests::util::set_mode(top, 0o1777);
    });
    assert!(
        stderr.contains("is writable by group or others (mode 1777)"),
        "{stderr}"
    );
}

/// A drop-in that is a symbolic link (to a root-owned file anyone could
/// have pointed it at) is refused, not followed.
#[test]
fn a_symlinked_drop_in_is_refused() {
    let stderr = reload_after("symlink-drop-in", |top| {
        let drop_ins = top.join("etc/policy.d");
        jitsudo_tests::util::make_dir(&drop_ins, 0o755);
        let target = top.join("elsewhere.toml");
        let linked = ROOT_ALL.replace("root-all", "linked");
        write_atomic(&target, linked.as_bytes(), 0o644);
        std::os::unix::fs::symlink(&target, drop_ins.join("x.toml")).unwrap();
    });
    assert!(
        stderr.contains("policy.d/x.toml is a symbolic link, should not be"),
        "{stderr}"
    );
}

/// The drop-in directory is checked like the others: a user who owns
/// policy.d could swap a root-owned drop-in of their choosing in or out.
#[test]
fn a_drop_in_directory_a_user_owns_is_refused() {
    let stderr = reload_after("owned-drop-ins", |top| {
        let drop_ins = top.join("etc/policy.d");
        jitsudo_tests::util::make_dir(&drop_ins, 0o755);
        write_atomic(&drop_ins.join("x.toml"), b"", 0o644);
        chown_to_user(&drop_ins);
    });
    assert!(
        stderr.contains("policy.d is owned by uid ") && stderr.contains(", should be 0"),
        "{stderr}"
    );
}

/// `jitsudoctl policy check FILE` checks a candidate anywhere (config
/// management validates a temporary copy before installing it).
#[test]
fn check_reads_a_candidate_in_a_world_writable_directory() {
    let path = world().scratch_dir("check-candidate").join("policy.toml");
    write_atomic(&path, ROOT_ALL.as_bytes(), 0o644);
    let out = ctl(&["policy", "check", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

const TEAM_POLICY: &str = "[command_sets]\nweb = [\"/usr/bin/systemctl restart nginx\"]\n\n\
    [[rule]]\nid = \"ops\"\nwho = [\"%jt_team\"]\ncommands = [\"@web\", \"/usr/bin/id\"]\n\
    auth = \"none\"\n\n[[rule]]\nid = \"no-id\"\neffect = \"deny\"\nwho = [\"jt_grp\"]\n\
    commands = [\"/usr/bin/id\"]\n";

/// `policy explain` for jt_grp, asked of `socket`'s daemon.
fn explain_at(socket: &Path, extra: &[&str], command: &[&str]) -> Output {
    let mut args = vec!["policy", "explain", "--user", "jt_grp", "--socket"];
    args.push(socket.to_str().unwrap());
    args.extend_from_slice(extra);
    args.push("--");
    args.extend_from_slice(command);
    ctl(&args)
}

/// `policy explain` for jt_grp with the candidate `policy`, asked of the
/// suite's daemon.
fn explain(policy: &Path, extra: &[&str], command: &[&str]) -> Output {
    let socket = PathBuf::from(world().default_socket());
    let mut args = vec!["--policy", policy.to_str().unwrap()];
    args.extend_from_slice(extra);
    explain_at(&socket, &args, command)
}

#[test]
fn explain_names_the_deciding_rule_and_the_others() {
    let path = policy_file("explain", TEAM_POLICY);
    let denied = explain(&path, &[], &["id"]);
    assert_eq!(denied.status.code(), Some(1));
    let text_out = text(&denied.stdout);
    assert!(
        text_out.starts_with("refused by rule `no-id`"),
        "{text_out}"
    );
    assert!(text_out.contains("ops ("), "{text_out}");

    let allowed = explain(
        &path,
        &["--format", "json"],
        &["systemctl", "restart", "nginx"],
    );
    assert_eq!(allowed.status.code(), Some(0), "{}", text(&allowed.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&allowed.stdout).expect("JSON");
    assert_eq!(doc["allowed"], true);
    assert_eq!(doc["deciding_rule"], "ops");
    assert_eq!(doc["grant"]["auth"], "none");

    let other_args = explain(&path, &[], &["systemctl", "stop", "nginx"]);
    assert_eq!(other_args.status.code(), Some(1));
}

/// Office hours in the daemon's local time zone.
const LOCAL_HOURS: &str = "[[rule]]\nid = \"office\"\nwho = [\"jt_grp\"]\n\
    commands = [\"/usr/bin/id\"]\nauth = \"none\"\n\
    when = { hours = \"09:00-17:00\", tz = \"local\" }\n";

/// The daemon builds the explained request itself, so local-time rules use
/// the daemon's zone: 02:00 UTC is 11:00 in a daemon on UTC+9, inside the
/// window (jitsudoctl used to read local time as UTC, and refused).
#[test]
fn explain_uses_the_daemons_local_time() {
    let path = policy_file("explain-tz", LOCAL_HOURS);
    let daemon = Daemon::start_with_env(world(), "explain-tz", &path, &[("TZ", "JST-9")]);
    let at = |time: &str| {
        let out = explain_at(&daemon.socket, &["--at", time], &["id"]);
        (out.status.code(), text(&out.stdout))
    };
    let (status, out) = at("2026-11-25T02:00:00Z");
    assert_eq!(status, Some(0), "{out}");
    assert!(out.starts_with("allowed by rule `office`"), "{out}");
    let (status, out) = at("2026-11-25T10:00:00Z");
    assert_eq!(status, Some(1), "19:00 in the daemon's zone: {out}");
}

#[test]
fn explain_is_for_root_only() {
    let path = policy_file("explain-user", ROOT_ALL);
    let out = Command::new("setpriv")
        .args(["--reuid=jt_nobody", "--regid=jt_nobody", "--init-groups"])
        .arg(world().jitsudo_bin().join("jitsudoctl"))
        .args(["policy", "explain", "--user", "root", "--socket"])
        .arg(world().default_socket())
        .args(["--policy", path.to_str().unwrap(), "--", "id"])
        .output()
        .expect("run setpriv");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr), "only root may explain the policy\n");
    assert_eq!(text(&out.stdout), "");
}

#[test]
fn explain_reads_candidates_with_the_daemons_checks() {
    let path = policy_file("explain-perms", TEAM_POLICY);
    write_atomic(&path, TEAM_POLICY.as_bytes(), 0o666);
    let out = explain(&path, &[], &["id"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("is writable by group or others (mode 0666)"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn diff_lists_entitlements_gained_and_lost() {
    let old = policy_file("diff-old", ROOT_ID_ONLY);
    let new = policy_file("diff-new", TEAM_POLICY);
    let out = ctl(&[
        "policy",
        "diff",
        old.to_str().unwrap(),
        new.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let lines = text(&out.stdout);
    assert!(
        lines.contains("+ %jt_team may run `/usr/bin/id` as root (auth none; rule ops)"),
        "{lines}"
    );
    assert!(lines.contains("- root may run `/usr/bin/id`"), "{lines}");
    let same = ctl(&[
        "policy",
        "diff",
        old.to_str().unwrap(),
        old.to_str().unwrap(),
    ]);
    assert_eq!(same.status.code(), Some(0));
    assert_eq!(text(&same.stdout), "");
}

#[test]
fn imported_sudoers_is_a_valid_policy() {
    let dir = world().scratch_dir("import");
    let sudoers = dir.join("sudoers");
    write_atomic(
        &sudoers,
        b"Defaults env_reset\nCmnd_Alias WEB = /usr/bin/systemctl restart nginx\n\
          %jt_team ALL=(root) NOPASSWD: WEB, /usr/bin/id\nDefaults:jt_grp umask=077\n",
        0o644,
    );
    let out = ctl(&["policy", "import-sudoers", sudoers.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("NOT CONVERTED: Defaults:jt_grp umask=077"),
        "{}",
        text(&out.stderr)
    );
    // The daemon explains with candidate files only from trusted directories.
    let converted = world().policy_dir("import-policy").join("policy.toml");
    write_atomic(&converted, &out.stdout, 0o644);
    let check = ctl(&["policy", "check", converted.to_str().unwrap()]);
    assert!(check.status.success(), "{}", text(&check.stderr));
    let allowed = explain(&converted, &[], &["systemctl", "restart", "nginx"]);
    assert_eq!(
        allowed.status.code(),
        Some(0),
        "{}{}",
        text(&allowed.stdout),
        text(&allowed.stderr)
    );
}

#[test]
fn root_lists_another_users_privileges() {
    let list = |as_user: Option<&str>| {
        let mut cmd = match as_user {
            Some(user) => {
                let mut c = Command::new("setpriv");
                c.args([
                    format!("--reuid={user}"),
                    format!("--regid={user}"),
                    "--init-groups".to_owned(),
                ])
                .arg(world().jitsudo_bin().join("jitsudo"));
                c
            }
            None => Command::new(world().jitsudo_bin().join("jitsudo")),
        };
        cmd.args(["-n", "-l", "-U", "jt_limited"])
            .env("JITSUDO_SOCKET", world().default_socket())
            .output()
            .expect("run jitsudo")
    };
    let by_root = list(None);
    assert!(by_root.status.success(), "{}", text(&by_root.stderr));
    let listing = text(&by_root.stdout);
    assert!(
        listing.starts_with("User jt_limited may run the following commands on "),
        "{listing}"
    );
    assert!(listing.contains("/usr/bin/id"), "{listing}");
    let by_user = list(Some("jt_nobody"));
    assert_eq!(by_user.status.code(), Some(1));
    assert_eq!(text(&by_user.stderr), "jitsudo: only root can use -U\n");
}

/// The first of the daemon's workers whose command line is `args`.
fn worker_named(daemon: &Daemon, args: &str) -> Option<i32> {
    daemon
        .workers()
        .into_iter()
        .find_map(|(pid, shown)| (shown == args).then_some(pid))
}

/// An admin tells workers apart in `ps`: idle ones, and whose command a
/// busy one runs; `pgrep -f jitsudod` finds them (they used to show as
/// `exe /proc/self/exe --worker`).
#[test]
fn workers_are_named_in_ps() {
    let path = policy_file("titles", ROOT_ALL);
    let daemon = Daemon::start(world(), "titles", &path);
    let wait = std::time::Duration::from_secs(10);
    let idle =
        jitsudo_tests::util::poll_until(wait, || worker_named(&daemon, "jitsudod: worker [idle]"));
    assert!(idle.is_some(), "{:?}", daemon.workers());

    let mut client = Command::new(world().jitsudo_bin().join("jitsudo"))
        .args(["-n", "/usr/bin/sleep", "60"])
        .env("JITSUDO_SOCKET", &daemon.socket)
        .stdin(std::process::Stdio::null())
        .spawn()
        .expect("run jitsudo");
    let title = "jitsudod: worker root → root /usr/bin/sleep";
    let busy = jitsudo_tests::util::poll_until(wait, || worker_named(&daemon, title));
    let seen = daemon.workers();
    let comm = busy.map(|pid| std::fs::read_to_string(format!("/proc/{pid}/comm")));
    let pgrep = Command::new("pgrep")
        .args(["-f", "jitsudod"])
        .output()
        .expect("run pgrep");
    let client_pid = nix::unistd::Pid::from_raw(client.id() as i32);
    let _ = nix::sys::signal::kill(client_pid, nix::sys::signal::Signal::SIGTERM);
    let (_, timed_out) = jitsudo_tests::exec::wait_bounded(&mut client, wait);
    assert!(!timed_out, "the command outlived its client");

    let busy = busy.unwrap_or_else(|| panic!("no worker titled {title:?}: {seen:?}"));
    assert_eq!(
        comm.and_then(Result::ok).as_deref(),
        Some("jitsudod-worker\n")
    );
    let found: Vec<i32> = text(&pgrep.stdout)
        .lines()
        .filter_map(|l| l.parse().ok())
        .collect();
    for worker in [idle.unwrap_or_default(), busy] {
        assert!(found.contains(&worker), "pgrep -f jitsudod: {found:?}");
    }
}

/// Issue 12: the daemon raises its own descriptor limit (so floods meet
/// its connection cap, not EMFILE), and its workers are started without
/// a hook between fork and exec; the command must still run with the
/// limit the daemon started with, not the raised one.
#[test]
fn a_command_gets_the_descriptor_limit_the_daemon_started_with() {
    use nix::sys::resource::{getrlimit, Resource};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit");
    let path = policy_file("fd-limit", ROOT_ALL);
    let daemon = Daemon::start(world(), "fd-limit", &path);
    let out = Command::new(world().jitsudo_bin().join("jitsudo"))
        .args(["-n", "/bin/sh", "-c", "ulimit -Sn"])
        .env("JITSUDO_SOCKET", &daemon.socket)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run jitsudo");
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", daemon.pid().as_raw()))
        .expect("the daemon's limits");
    assert!(
        limits.lines().any(|l| l.starts_with("Max open files")
            && l.split_whitespace().nth(3) == Some(&hard.to_string())),
        "the daemon did not raise its limit to {hard}:\n{limits}"
    );
    assert_eq!(text(&out.stdout).trim(), soft.to_string(), "{out:?}");
}

#[test]
fn explain_for_an_unknown_user_is_an_input_error() {
    let path = policy_file("explain-unknown", TEAM_POLICY);
    let socket = world().default_socket();
    let out = ctl(&[
        "policy",
        "explain",
        "--user",
        "jt_no_such_user",
        "--socket",
        socket.to_str().unwrap(),
        "--policy",
        path.to_str().unwrap(),
        "--",
        "id",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stderr), "unknown user jt_no_such_user\n");
}
