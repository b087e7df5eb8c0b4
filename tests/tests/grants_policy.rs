//! Grant policy (jitsudo only): uses counted only after authentication,
//! the warning before the end (terminal, journald, syslog), the bound on
//! `--start at:`, self-extension, with real users, real PAM on a pty and a
//! real journald. Each test starts its own daemon.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use jitsudo_tests::daemon::Daemon;
use jitsudo_tests::util::write_atomic;
use jitsudo_tests::*;
use serde_json::Value;

const POLICY: &str = r#"
[[rule]]
id = "root-all"
who = ["root"]
commands = ["ALL"]
auth = "none"

# One use, behind the requester's password.
[[rule]]
id = "pw-once"
who = ["jt_req"]
commands = ["/usr/bin/id"]
[rule.grant]
max = "1m"
max_uses = 1
approval = "auto"
"#;

/// A daemon of its own for one test, with `policy`.
fn daemon(name: &str, policy: &str) -> (Daemon, PathBuf) {
    let path = world().policy_dir(name).join("policy.toml");
    write_atomic(&path, policy.as_bytes(), 0o644);
    (Daemon::start(world(), name, &path), path)
}

/// `program args` as `user` (with their groups), talking to `d`.
fn as_user(user: &str, d: &Daemon, program: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid", user, "--regid", user, "--init-groups", "--"])
        .arg(world().jitsudo_bin().join(program))
        .args(args)
        .env("JITSUDO_SOCKET", &d.socket)
        .current_dir("/")
        .stdin(Stdio::null());
    cmd
}

fn ctl(user: &str, d: &Daemon, args: &[&str]) -> std::process::Output {
    as_user(user, d, "jitsudoctl", args)
        .output()
        .expect("run jitsudoctl")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Succeeds with a JSON document; panics with the output otherwise.
fn json(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "exit {:?}: {}{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON output")
}

/// Fails with status 1 and `expected` on stderr.
fn refused(out: &std::process::Output, expected: &str) {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}{}", text(&out.stdout));
    assert!(err.contains(expected), "expected {expected:?} in {err:?}");
}

/// `user` requests a grant; its record.
fn request_as(user: &str, d: &Daemon, args: &[&str]) -> Value {
    let mut all = vec!["request", "--format", "json"];
    all.extend_from_slice(args);
    json(&ctl(user, d, &all))
}

/// The live record of grant `id`, as its requester lists it.
fn grant(d: &Daemon, id: &str) -> Value {
    let doc = json(&ctl(REQUESTER, d, &["grants", "--format", "json"]));
    doc.as_array()
        .and_then(|a| a.iter().find(|r| r["id"] == id))
        .cloned()
        .unwrap_or_else(|| panic!("no live grant {id}: {doc}"))
}

/// `jitsudo -k args` as the requester on a pty, playing `spec`.
fn on_pty(d: &Daemon, args: &[&str], spec: &PtySpec) -> Output {
    let mut all = vec!["-k"];
    all.extend_from_slice(args);
    let cmd = as_user(REQUESTER, d, "jitsudo", &all);
    jitsudo_tests::pty::run(cmd, REQUESTER, spec, Duration::from_secs(60))
}

/// A hostile holder types wrong passwords (many times over the grant's
/// `max_uses`) and interrupts the prompt: none of it uses the grant up;
/// the one use is spent only by the run that authenticated.
#[test]
fn wrong_passwords_and_interrupted_prompts_use_none_of_a_grant() {
    let (d, _) = daemon("grants-policy-pw", POLICY);
    let id = request_as(REQUESTER, &d, &["--rule", "pw-once", "--reason", "r"])["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let wrong = PtySpec::default()
        .answer("password for", "wrong")
        .answer("password for", "wrong")
        .answer("password for", "wrong");
    for _ in 0..3 {
        let out = on_pty(&d, &["/usr/bin/id", "-un"], &wrong);
        assert!(
            out.stdout_text().contains("incorrect password"),
            "{}",
            out.stdout_text()
        );
    }
    let interrupted = PtySpec::default()
        .wait_for("password for")
        .wait_for_reader()
        .send(b"\x03");
    let out = on_pty(&d, &["/usr/bin/id", "-un"], &interrupted);
    assert_ne!(out.status, 0, "{}", out.stdout_text());
    assert_eq!(grant(&d, &id)["uses"], 0, "a use counted before a password");
    let right = PtySpec::default().answer("password for", &password(REQUESTER));
    let out = on_pty(&d, &["/usr/bin/id", "-un"], &right);
    assert!(out.stdout_text().contains("root"), "{}", out.stdout_text());
    assert_eq!(grant(&d, &id)["uses"], 1);
    let out = on_pty(&d, &["/usr/bin/id", "-un"], &right);
    assert!(
        out.stdout_text()
            .contains(&format!("your grant {id} (rule pw-once) has no uses left (1 of 1 used)")),
        "{}",
        out.stdout_text()
    );
}
