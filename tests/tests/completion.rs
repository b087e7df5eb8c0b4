//! Shell completion of `jitsudoctl approve`/`deny` (jitsudo only): the
//! ids of pending requests come from the running daemon, as an approver
//! sees them, in the bash completion `jitsudoctl generate-docs` writes
//! (the one the package installs).

use std::path::{Path, PathBuf};
use std::process::Command;

use jitsudo_tests::daemon::Daemon;
use jitsudo_tests::skip;
use jitsudo_tests::util::write_atomic;
use jitsudo_tests::*;

const POLICY: &str = r#"
[[rule]]
id = "ask"
who = ["jt_req"]
commands = ["/usr/bin/id"]
auth = "none"
[rule.grant]
max = "1h"
approvers = ["jt_appr1"]
"#;

fn jitsudoctl() -> PathBuf {
    world().jitsudo_bin().join("jitsudoctl")
}

/// `jitsudoctl args` as `user`, talking to `d`.
fn ctl_as(user: &str, d: &Daemon, args: &[&str]) -> std::process::Output {
    Command::new("setpriv")
        .args(["--reuid", user, "--regid", user, "--init-groups", "--"])
        .arg(jitsudoctl())
        .args(args)
        .env("JITSUDO_SOCKET", &d.socket)
        .current_dir("/")
        .output()
        .expect("run jitsudoctl")
}

/// What bash completes for the words `line` (the last one being typed)
/// as `user`, with the completion script `script` loaded.
fn complete(user: &str, d: &Daemon, script: &Path, line: &[&str]) -> Vec<String> {
    let program = jitsudoctl();
    let mut words = vec![program.to_str().expect("utf-8 path")];
    words.extend_from_slice(line);
    let out = Command::new("setpriv")
        .args(["--reuid", user, "--regid", user, "--init-groups", "--"])
        .args(["bash", "-c"])
        .arg(
            r#"source /usr/share/bash-completion/bash_completion
            source "$1"; shift
            COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
            complete -p jitsudoctl | grep -q _jitsudoctl_with_requests || echo NOT-REGISTERED
            _jitsudoctl_with_requests "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
            printf '%s\n' "${COMPREPLY[@]}""#,
        )
        .arg("_")
        .arg(script)
        .args(&words)
        .env("JITSUDO_SOCKET", &d.socket)
        .current_dir("/")
        .output()
        .expect("run bash");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `jitsudoctl approve <Tab>` offers the approver the pending request's
/// id (also after options, and for `deny`), never the requester their
/// own, and nothing where an id does not go.
#[test]
fn approve_and_deny_complete_pending_request_ids() {
    if !skip::runs(Impl::Jitsudo) {
        return;
    }
    let path = world().policy_dir("completion").join("policy.toml");
    write_atomic(&path, POLICY.as_bytes(), 0o644);
    let d = Daemon::start(world(), "completion", &path);
    let docs = world().scratch_dir("completion-docs");
    let generated = Command::new(jitsudoctl())
        .arg("generate-docs")
        .arg(&docs)
        .status()
        .expect("run generate-docs");
    assert!(generated.success());
    let script = docs.join("completions/bash-completion/completions/jitsudoctl");

    let asked = ctl_as(
        REQUESTER,
        &d,
        &[
            "request", "--rule", "ask", "--reason", "r", "--format", "json",
        ],
    );
    let doc: serde_json::Value = serde_json::from_slice(&asked.stdout).unwrap_or_else(|_| {
        panic!("request: {}", String::from_utf8_lossy(&asked.stderr));
    });
    let id = doc["id"].as_str().expect("an id").to_owned();

    let ids = |user: &str, line: &[&str]| complete(user, &d, &script, line);
    let just_id = vec![id.clone()];
    assert_eq!(ids(APPROVER1, &["approve", ""]), just_id);
    assert_eq!(ids(APPROVER1, &["deny", "--reason", "no", ""]), just_id);
    let prefix = &id[..1];
    assert_eq!(ids(APPROVER1, &["approve", prefix]), just_id);
    assert_eq!(
        ids(APPROVER1, &["approve", "x-no-such"]),
        Vec::<String>::new()
    );
    assert!(
        ids(REQUESTER, &["approve", ""]).is_empty(),
        "the requester is offered their own request"
    );
    let after_id = ids(APPROVER1, &["approve", &id, ""]);
    assert!(!after_id.contains(&id), "a second id offered: {after_id:?}");
    let reason = ids(APPROVER1, &["deny", "--reason", ""]);
    assert!(!reason.contains(&id), "an id as --reason: {reason:?}");
    let options = ids(APPROVER1, &["approve", "--rea"]);
    assert_eq!(options, ["--reason"], "options still complete");
}
