//! `jitsudoctl status` as an administrator reads it (jitsudo only: sudo
//! has no daemon): what the worker pool is doing and what the grant store
//! holds, seen change as real requests come and go.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use jitsudo_tests::daemon::Daemon;
use jitsudo_tests::exec::wait_bounded;
use jitsudo_tests::skip;
use jitsudo_tests::util::{poll_until, write_atomic};
use jitsudo_tests::*;
use serde_json::Value;

const POLICY: &str = r#"
[[rule]]
id = "root-all"
who = ["root"]
commands = ["ALL"]
auth = "none"

[[rule]]
id = "pw-true"
who = ["jt_pw"]
commands = ["/usr/bin/true"]

[[rule]]
id = "ask"
who = ["jt_req"]
commands = ["/usr/bin/id"]
auth = "none"
[rule.grant]
max = "1h"
approvers = ["jt_appr1"]

[[rule]]
id = "auto"
who = ["jt_req"]
commands = ["/usr/bin/true"]
auth = "none"
[rule.grant]
max = "1h"
approval = "auto"
"#;

/// How long a change may take to show in the status.
const WAIT: Duration = Duration::from_secs(10);

/// `program args` as `user` (with their groups), talking to `d`.
fn as_user(user: &str, d: &Daemon, program: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid", user, "--regid", user, "--init-groups", "--"])
        .arg(world().jitsudo_bin().join(program))
        .args(args)
        .env("JITSUDO_SOCKET", &d.socket)
        .current_dir("/");
    cmd
}

/// `jitsudoctl status --format json` as root: its `details`.
fn details(d: &Daemon) -> Value {
    let socket = d.socket.to_string_lossy();
    let args = ["status", "--format", "json", "--socket", &socket];
    let out = as_user(ROOT, d, "jitsudoctl", &args)
        .output()
        .expect("run jitsudoctl status");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    status["details"].clone()
}

/// Polls the status until `check` holds; the last status otherwise.
fn until(d: &Daemon, check: impl Fn(&Value) -> bool) -> Result<Value, Value> {
    poll_until(WAIT, || Some(details(d)).filter(&check)).ok_or_else(|| details(d))
}

fn workers(details: &Value) -> (u64, u64, u64, u64) {
    let w = &details["workers"];
    let n = |k: &str| w[k].as_u64().unwrap_or(u64::MAX);
    (n("idle"), n("starting"), n("bound"), n("busy"))
}

fn grants(details: &Value) -> (u64, u64, u64) {
    let g = &details["grants"];
    let n = |k: &str| g[k].as_u64().unwrap_or(u64::MAX);
    (n("pending_requests"), n("approved"), n("active"))
}

/// Ends a background client, as its user's ^C would.
fn stop(mut child: Child) {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    let (_, timed_out) = wait_bounded(&mut child, WAIT);
    assert!(!timed_out, "the client outlived SIGTERM");
}

/// A worker waiting for a password counts as bound, one running a command
/// as busy, the pool's ready ones as idle; pending requests and grants in
/// force are counted; all of it goes back when the requests end.
#[test]
fn status_shows_the_workers_and_the_grants() {
    if !skip::runs(Impl::Jitsudo) {
        return;
    }
    let path = world().policy_dir("status").join("policy.toml");
    write_atomic(&path, POLICY.as_bytes(), 0o644);
    let d = Daemon::start(world(), "status", &path);

    let quiet = until(&d, |s| {
        let (idle, starting, bound, busy) = workers(s);
        idle + starting == 2 && (bound, busy) == (0, 0) && grants(s) == (0, 0, 0)
    });
    assert!(quiet.is_ok(), "a fresh daemon: {quiet:?}");

    // Root's command runs: its worker is busy.
    let running = as_user(ROOT, &d, "jitsudo", &["-n", "/usr/bin/sleep", "60"])
        .stdin(Stdio::null())
        .spawn()
        .expect("run jitsudo sleep");
    let busy = until(&d, |s| workers(s).3 == 1);
    // jt_pw's request waits for a password that never comes (stdin is a
    // pipe left open): its worker is bound.
    let mut waiting = as_user(PW, &d, "jitsudo", &["-S", "/usr/bin/true"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run jitsudo -S");
    let bound = until(&d, |s| workers(s).2 == 1 && workers(s).3 == 1);

    let request = |rule: &str| {
        as_user(
            REQUESTER,
            &d,
            "jitsudoctl",
            &["request", "--rule", rule, "--reason", "status test"],
        )
        .output()
        .expect("run jitsudoctl request")
    };
    let asked = request("ask");
    let auto = request("auto");
    let counted = until(&d, |s| grants(s) == (1, 0, 1));

    drop(waiting.stdin.take());
    let (_, timed_out) = wait_bounded(&mut waiting, WAIT);
    stop(running);
    let done = until(&d, |s| {
        let (idle, starting, bound, busy) = workers(s);
        idle + starting == 2 && (bound, busy) == (0, 0)
    });

    assert!(busy.is_ok(), "a running command: {busy:?}");
    assert!(bound.is_ok(), "a request at its password prompt: {bound:?}");
    assert!(!timed_out, "jitsudo -S outlived the end of its stdin");
    for out in [&asked, &auto] {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(
        counted.is_ok(),
        "one pending request, one grant in force: {counted:?}"
    );
    assert!(done.is_ok(), "the requests are over: {done:?}");

    let socket = d.socket.to_string_lossy();
    let text = as_user(ROOT, &d, "jitsudoctl", &["status", "--socket", &socket])
        .output()
        .expect("run jitsudoctl status");
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(
        text.contains("\nworkers: ") && text.contains("\ngrants: 1 active, 0 approved"),
        "{text}"
    );
    assert!(text.contains("requests: 1 pending\n"), "{text}");
}
