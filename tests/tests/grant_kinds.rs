//! Group, caps and shell grants (jitsudo only), end to end with real users,
//! real cgroups and a real daemon: `jitsudoctl request --group/--caps/
//! --shell`, then `jitsudoctl run ID -- CMD` and `jitsudoctl shell ID`.
//! The privilege exists only in what runs under the grant, only for its
//! holder, only while it lasts; its end kills what it started.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jitsudo_tests::daemon::Daemon;
use jitsudo_tests::grants::*;
use jitsudo_tests::services::{ensure_journald, field_text, wait_for_journal};
use jitsudo_tests::util::{install_program, marker, poll_until, write_atomic};
use jitsudo_tests::*;

const POLICY: &str = r#"
[[rule]]
id = "root-all"
who = ["root"]
commands = ["ALL"]
auth = "none"

[[rule]]
id = "other-group"
who = ["jt_req"]
auth = "none"
[rule.grant]
kind = "group"
groups = ["jt_other"]
max = "1m"
approval = "auto"

[[rule]]
id = "low-ports"
who = ["jt_req"]
auth = "none"
[rule.grant]
kind = "caps"
caps = ["cap_net_bind_service"]
max = "1m"
approval = "auto"

[[rule]]
id = "target-shell"
who = ["jt_req"]
run_as = ["jt_target"]
auth = "none"
[rule.grant]
kind = "shell"
max = "1m"
default = "1m"
approval = "auto"

[[rule]]
id = "quick-shell"
who = ["jt_req"]
run_as = ["jt_nobody"]
auth = "none"
[rule.grant]
kind = "shell"
max = "20s"
default = "3s"
approval = "auto"

[[rule]]
id = "plain"
who = ["jt_req"]
commands = ["/usr/bin/id"]
auth = "none"
[rule.grant]
max = "1m"
approval = "auto"
"#;

/// SIGTERM to SIGKILL at a grant's end.
const GRACE: Duration = Duration::from_secs(2);

/// A daemon of its own for one test, with [`POLICY`] (at the path returned).
fn daemon_at(name: &str) -> (Daemon, PathBuf) {
    let path = world().policy_dir(name).join("policy.toml");
    write_atomic(&path, POLICY.as_bytes(), 0o644);
    (Daemon::start(world(), name, &path), path)
}

fn daemon(name: &str) -> Daemon {
    daemon_at(name).0
}

/// Requests a grant as the requester; its id (it must be active).
fn granted(d: &Daemon, what: &[&str]) -> String {
    let mut args = vec!["request", "--format", "json", "--reason", "test"];
    args.extend_from_slice(what);
    let doc = json(&ctl(REQUESTER, d, &args));
    assert_eq!(doc["state"], "active", "{doc}");
    doc["id"].as_str().expect("id").to_owned()
}

/// `jitsudoctl run ID -- args` as `user`.
fn run(user: &str, d: &Daemon, id: &str, args: &[&str]) -> std::process::Output {
    let mut all = vec!["run", id, "--"];
    all.extend_from_slice(args);
    ctl(user, d, &all)
}

/// The lines of /proc/self/status that start with `Cap`, as `name value`
/// (but the bounding set, which is the machine's).
fn caps_of(status: &str) -> Vec<String> {
    status
        .lines()
        .filter(|l| l.starts_with("Cap") && !l.starts_with("CapBnd"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn a_group_grant_adds_the_group_only_to_what_runs_under_it() {
    let d = daemon("grant-kinds-group");
    let other = gid("jt_other").to_string();
    let id = granted(&d, &["--group", "jt_other"]);
    let record = json(&ctl(REQUESTER, &d, &["grants", "--format", "json"]));
    let mine = record
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(mine["kind"], "group");
    assert_eq!(mine["group"], "jt_other");
    let under = run(REQUESTER, &d, &id, &["/usr/bin/id", "-G"]);
    let groups = text(&under.stdout);
    assert!(under.status.success(), "{}", text(&under.stderr));
    let mine_too = gid(REQUESTER).to_string();
    assert_eq!(
        groups.split_whitespace().collect::<Vec<_>>(),
        [mine_too.as_str(), other.as_str()],
        "the holder's own groups and the granted one"
    );
    let under = run(REQUESTER, &d, &id, &["/usr/bin/id", "-un"]);
    assert_eq!(text(&under.stdout), "jt_req\n");
    // Not outside the grant.
    let outside = std::process::Command::new("setpriv")
        .args([
            "--reuid",
            REQUESTER,
            "--regid",
            REQUESTER,
            "--init-groups",
            "--",
            "id",
            "-G",
        ])
        .output()
        .unwrap();
    assert!(!text(&outside.stdout).split_whitespace().any(|g| g == other));
    // jitsudo -l shows it, with how to use it and the time left.
    let listing = text(&sudo(REQUESTER, &d, &["-n", "-l"]).stdout);
    let line = format!(
        "    grant {id} (rule other-group): group jt_other, with jitsudoctl shell {id} or \
         jitsudoctl run {id} -- COMMAND, until "
    );
    assert!(listing.contains(&line), "{listing}");
    assert!(listing.contains(" s left)\n"), "{listing}");
    // The grant never makes its rule apply to jitsudo.
    assert_ne!(
        sudo(REQUESTER, &d, &["-n", "/usr/bin/id"]).status.code(),
        Some(0)
    );
    // Uses are counted.
    let now = json(&ctl(REQUESTER, &d, &["grants", "--format", "json"]));
    let uses = now
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id.as_str())
        .unwrap()["uses"]
        .clone();
    assert_eq!(uses, 2);
    // What the holder could not run themselves stays out of reach: a
    // program in a directory they cannot enter (the daemon, as root, could
    // open it).
    let locked = scratch("grant-kinds-locked").join("locked");
    fs::create_dir_all(&locked).unwrap();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o700)).unwrap();
    let program = locked.join("id");
    install_program(Path::new("/usr/bin/id"), &program, 0o755);
    let out = run(REQUESTER, &d, &id, &[program.to_str().unwrap(), "-G"]);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("Permission denied"),
        "{}",
        text(&out.stderr)
    );
    // Ended: refused with when and why.
    json(&ctl(REQUESTER, &d, &["done", &id, "--format", "json"]));
    refused(
        &run(REQUESTER, &d, &id, &["/usr/bin/id", "-G"]),
        &format!("your grant {id} (rule other-group) ended at"),
    );
}

#[test]
fn groups_and_users_the_policy_does_not_offer_are_refused_with_what_it_does() {
    let d = daemon("grant-kinds-refusals");
    refused(
        &ctl(
            REQUESTER,
            &d,
            &["request", "--reason", "x", "--group", "jt_tgrp"],
        ),
        "no grantable rule lets you request group jt_tgrp; you may request: jt_other",
    );
    refused(
        &ctl(
            REQUESTER,
            &d,
            &["request", "--reason", "x", "--group", "no_such_group_x"],
        ),
        "unknown group no_such_group_x",
    );
    refused(
        &ctl(
            REQUESTER,
            &d,
            &["request", "--reason", "x", "--shell", "-u", "root"],
        ),
        "no grantable rule lets you request a shell as root; you may request: jt_nobody, jt_target",
    );
    refused(
        &ctl(REQUESTER, &d, &["request", "--reason", "x", "--shell"]),
        "a shell as root",
    );
    // Someone the rules do not name gets nothing, and is told so.
    refused(
        &ctl(
            OUTSIDER,
            &d,
            &["request", "--reason", "x", "--group", "jt_other"],
        ),
        "no grantable rule lets you request group jt_other",
    );
    // Capability names: only known ones, listed by what is allowed.
    let injected = ctl(
        REQUESTER,
        &d,
        &[
            "request",
            "--reason",
            "x",
            "--caps",
            "cap_net_bind_service;cap_sys_admin",
        ],
    );
    refused(&injected, "unknown capability");
    assert!(text(&injected.stderr).contains("you may request: cap_net_bind_service"));
    let newline = ctl(
        REQUESTER,
        &d,
        &[
            "request",
            "--reason",
            "x",
            "--caps",
            "cap_net_bind_service\ncap_sys_admin",
        ],
    );
    refused(&newline, "invalid argument: control character");
    refused(
        &ctl(REQUESTER, &d, &["request", "--reason", "x", "--caps", "cap_net_bind_service,cap_sys_admin"]),
        "no grantable rule lets you request cap_net_bind_service, cap_sys_admin; you may request: cap_net_bind_service",
    );
    // A grant of another kind is not a shell.
    let plain = granted(&d, &["--rule", "plain"]);
    refused(
        &run(REQUESTER, &d, &plain, &["/usr/bin/id"]),
        &format!("grant {plain} is a rule grant: use it with jitsudo COMMAND"),
    );
    // Nobody uses another's grant, nor a grant that does not exist.
    let id = granted(&d, &["--group", "jt_other"]);
    refused(
        &run(OUTSIDER, &d, &id, &["/usr/bin/id"]),
        &format!("you hold no grant {id}"),
    );
    refused(
        &ctl(OUTSIDER, &d, &["shell", &id]),
        &format!("you hold no grant {id}"),
    );
    refused(
        &run(REQUESTER, &d, "99999", &["/usr/bin/id"]),
        "you hold no grant 99999",
    );
    // Revoked: refused with the end.
    json(&ctl(ROOT, &d, &["revoke", &id, "--format", "json"]));
    refused(
        &run(REQUESTER, &d, &id, &["/usr/bin/id"]),
        &format!("your grant {id} (rule other-group) ended at"),
    );
}

#[test]
fn a_caps_grant_raises_exactly_its_capabilities_as_ambient() {
    let d = daemon("grant-kinds-caps");
    let reason = marker("caps");
    let ask = [
        "request",
        "--format",
        "json",
        "--reason",
        &reason,
        "--caps",
        "CAP_NET_BIND_SERVICE",
    ];
    let id = json(&ctl(REQUESTER, &d, &ask))["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let status = run(REQUESTER, &d, &id, &["/bin/cat", "/proc/self/status"]);
    assert!(status.status.success(), "{}", text(&status.stderr));
    let bit = "0000000000000400"; // 1 << CAP_NET_BIND_SERVICE (10)
    assert_eq!(
        caps_of(&text(&status.stdout)),
        [
            format!("CapInh: {bit}"),
            format!("CapPrm: {bit}"),
            format!("CapEff: {bit}"),
            format!("CapAmb: {bit}"),
        ]
    );
    let who = run(REQUESTER, &d, &id, &["/usr/bin/id", "-u"]);
    assert_eq!(text(&who.stdout).trim(), account(REQUESTER).uid.to_string());
    // Binding port 80: under the grant only.
    let bind = [
        "/usr/bin/perl",
        "-MSocket",
        "-e",
        "socket(S, PF_INET, SOCK_STREAM, 0) or die; \
         bind(S, sockaddr_in(80, INADDR_LOOPBACK)) or die qq(bind: $!\\n); print qq(bound\\n)",
    ];
    let under = run(REQUESTER, &d, &id, &bind);
    assert_eq!(text(&under.stdout), "bound\n", "{}", text(&under.stderr));
    let outside = std::process::Command::new("setpriv")
        .args([
            "--reuid",
            REQUESTER,
            "--regid",
            REQUESTER,
            "--init-groups",
            "--",
        ])
        .args(bind)
        .output()
        .unwrap();
    assert!(
        text(&outside.stderr).contains("Permission denied"),
        "{}",
        text(&outside.stderr)
    );
    // Audited: each use (grant.use, with the capabilities), and the exec
    // events of what ran carry the grant's id.
    ensure_journald();
    let echo = marker("caps-exec");
    assert!(run(REQUESTER, &d, &id, &["/bin/echo", &echo])
        .status
        .success());
    let events = |marker: &str, kind: &str| {
        poll_until(Duration::from_secs(10), || {
            let hits: Vec<_> =
                wait_for_journal("JITSUDO_GRANT_ID", &id, marker, Duration::from_secs(1))
                    .into_iter()
                    .filter(|e| field_text(e, "JITSUDO_EVENT").as_deref() == Some(kind))
                    .collect();
            (!hits.is_empty()).then_some(hits)
        })
        .unwrap_or_else(|| panic!("no {kind} event for grant {id} ({marker})"))
    };
    let used = events(&reason, "grant.use");
    assert_eq!(
        field_text(&used[0], "JITSUDO_GRANT_KIND").as_deref(),
        Some("caps")
    );
    assert_eq!(
        field_text(&used[0], "JITSUDO_EFFECT").as_deref(),
        Some("cap_net_bind_service")
    );
    events(&echo, "exec.accept");
}

#[test]
fn a_shell_grant_gives_the_target_s_login_shell_on_a_pty() {
    let d = daemon("grant-kinds-shell");
    let id = granted(&d, &["--shell", "-u", "jt_target"]);
    let cmd = as_user(REQUESTER, &d, "jitsudoctl", &["shell", &id]);
    let spec = PtySpec::default()
        .wait_for_reader()
        .send(b"echo \"who=$(whoami) tty=$(tty) pwd=$PWD\"; exit\r");
    let out = jitsudo_tests::pty::run(cmd, REQUESTER, &spec, Duration::from_secs(30));
    let transcript = out.stdout_text();
    assert!(
        transcript.contains("who=jt_target tty=/dev/pts/"),
        "{transcript}"
    );
    let home = account("jt_target").home;
    assert!(transcript.contains(&format!("pwd={home}")), "{transcript}");
    // run: one command as the target.
    let one = run(REQUESTER, &d, &id, &["/usr/bin/whoami"]);
    assert_eq!(text(&one.stdout), "jt_target\n", "{}", text(&one.stderr));
}

#[test]
fn expiry_kills_a_granted_shell_and_what_it_double_forked() {
    let d = daemon("grant-kinds-expiry");
    let dir = scratch("grant-kinds-expiry");
    let (sh, gc) = (dir.join("sh"), dir.join("gc"));
    let id = granted(&d, &["--for", "3s", "--shell", "-u", "jt_nobody"]);
    let cmd = as_user(REQUESTER, &d, "jitsudoctl", &["shell", &id]);
    let line = format!(
        "(setsid sh -c 'trap \"\" TERM HUP; echo $$ > {gc}; exec sleep 1000' </dev/null >/dev/null 2>&1 &); \
         echo $$ > {sh}; echo st''arted\r",
        gc = gc.display(),
        sh = sh.display()
    );
    let spec = PtySpec::default()
        .wait_for_reader()
        .send(line.as_bytes())
        .wait_for("started");
    let out = jitsudo_tests::pty::run(cmd, REQUESTER, &spec, Duration::from_secs(30));
    let ended = unix_now();
    let read = |path: &PathBuf| -> i32 {
        fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("{}: {e}\n{}", path.display(), out.stdout_text()))
            .trim()
            .parse()
            .unwrap()
    };
    let pids = [read(&sh), read(&gc)];
    let dead =
        wait_all_dead(&pids, Duration::from_secs(10)).expect("the shell and its grandchild die");
    let record = json(&ctl(
        REQUESTER,
        &d,
        &["grants", "--history", "--format", "json"],
    ));
    let expires = record
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id.as_str())
        .and_then(|r| r["expires_at"].as_i64())
        .expect("the grant ended") as f64;
    let bound = expires + GRACE.as_secs_f64() + 1.0;
    assert!(
        dead <= bound && ended <= bound + 1.0,
        "dead at {dead}, expired at {expires}"
    );
}

#[test]
fn a_reload_that_no_longer_gives_the_group_revokes_the_grant_and_ends_its_shell() {
    let (d, path) = daemon_at("grant-kinds-reload");
    let dir = scratch("grant-kinds-reload");
    let id = granted(&d, &["--group", "jt_other"]);
    let pidfile = dir.join("pid");
    let script = format!("echo $$ > {}; exec sleep 1000", pidfile.display());
    let mut shell = as_user(
        REQUESTER,
        &d,
        "jitsudoctl",
        &["run", &id, "--", "/bin/sh", "-c", &script],
    )
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null())
    .spawn()
    .expect("start jitsudoctl run");
    let pid: i32 = poll_until(Duration::from_secs(10), || {
        fs::read_to_string(&pidfile).ok()?.trim().parse().ok()
    })
    .expect("the command started");
    // Same rule, another group: the grant no longer holds.
    let changed = POLICY.replace("groups = [\"jt_other\"]", "groups = [\"jt_tgrp\"]");
    write_atomic(&path, changed.as_bytes(), 0o644);
    let out = ctl(
        ROOT,
        &d,
        &["policy", "reload", "--socket", d.socket.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(wait_all_dead(&[pid], GRACE + Duration::from_secs(2)).is_some());
    let _ = shell.wait();
    let history = json(&ctl(
        REQUESTER,
        &d,
        &["grants", "--history", "--format", "json"],
    ));
    let ended = history
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(ended["state"], "revoked");
    assert_eq!(
        ended["end_reason"],
        "the reloaded policy no longer allows it"
    );
}
