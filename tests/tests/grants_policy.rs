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

/// How long log records may take to show up in journald.
const LOG_WAIT: Duration = Duration::from_secs(15);

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

# Warned 3 s ahead, 1 s from SIGTERM to SIGKILL.
[[rule]]
id = "warned"
who = ["jt_req"]
commands = ["/bin/sh"]
auth = "none"
[rule.grant]
max = "1m"
default = "5s"
approval = "auto"
warn = "3s"
grace = "1s"

# Starts at a set time, at most an hour ahead.
[[rule]]
id = "planned"
who = ["jt_req"]
commands = ["/usr/bin/true"]
auth = "none"
[rule.grant]
max = "1h"
start = "at"
start_within = "1h"
approval = "auto"

# The holder may extend up to 30 s in all; beyond, an approver must.
[[rule]]
id = "selfext"
who = ["jt_req"]
commands = ["/usr/bin/true"]
auth = "none"
[rule.grant]
max = "1h"
default = "10s"
approvers = ["jt_appr1"]
self_extend = "30s"

# Approved by jt_appr1; the holder may not extend it alone.
[[rule]]
id = "approved"
who = ["jt_req"]
commands = ["/usr/bin/true"]
auth = "none"
[rule.grant]
max = "1h"
default = "10s"
approvers = ["jt_appr1"]

# Break-glass: members approve their own grant of up to 15 minutes;
# cleared within an hour by an approver or their justification.
[[rule]]
id = "glass"
who = ["jt_req"]
commands = ["/usr/bin/id"]
auth = "none"
[rule.grant]
max = "1h"
approvers = ["jt_appr1", "%jt_approvers"]
break_glass = { max = "15m", follow_up = "1h" }

# The same with a 2 s follow-up, to let it pass.
[[rule]]
id = "glass-quick"
who = ["jt_req"]
commands = ["/usr/bin/id"]
auth = "none"
[rule.grant]
max = "1h"
approvers = ["jt_appr1"]
break_glass = { max = "1m", follow_up = "2s" }

# The requester is among the approvers (of others' requests).
[[rule]]
id = "peer"
who = ["jt_req"]
commands = ["/usr/bin/id"]
auth = "none"
[rule.grant]
max = "1h"
approvers = ["jt_appr1", "%jt_approvers", "jt_req"]

# Start times follow the [defaults]' cap (7 days).
[[rule]]
id = "default-planned"
who = ["jt_req"]
commands = ["/usr/bin/true"]
auth = "none"
[rule.grant]
max = "1h"
start = "at"
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

/// A grant that ends while its holder types the password allows nothing:
/// the use is counted (and checked) only once the password is right, and
/// the command does not start.
#[test]
fn a_grant_ended_at_the_prompt_runs_nothing_after_the_password() {
    use std::io::{Read, Write};
    let (d, _) = daemon("grants-policy-prompt-end", POLICY);
    let id = request_as(REQUESTER, &d, &["--rule", "pw-once", "--reason", "r"])["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let mut client = as_user(
        REQUESTER,
        &d,
        "jitsudo",
        &["-S", "-k", "/usr/bin/id", "-un"],
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("start jitsudo");
    let mut stderr = client.stderr.take().expect("stderr");
    let mut shown = Vec::new();
    let mut byte = [0u8; 1];
    while !text(&shown).contains("password for") {
        let n = stderr.read(&mut byte).expect("read the prompt");
        assert_eq!(n, 1, "no prompt: {}", text(&shown));
        shown.push(byte[0]);
    }
    json(&ctl(REQUESTER, &d, &["done", &id, "--format", "json"]));
    let mut stdin = client.stdin.take().expect("stdin");
    writeln!(stdin, "{}", password(REQUESTER)).expect("type the password");
    drop(stdin);
    let mut rest = String::new();
    let _ = stderr.read_to_string(&mut rest);
    let out = client.wait_with_output().expect("jitsudo");
    assert_ne!(out.status.code(), Some(0), "{rest}");
    assert_eq!(text(&out.stdout), "", "the command ran: {rest}");
    assert!(
        rest.contains(&format!("grant {id} ended meanwhile")),
        "{rest}"
    );
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
        out.stdout_text().contains(&format!(
            "your grant {id} (rule pw-once) has no uses left (1 of 1 used)"
        )),
        "{}",
        out.stdout_text()
    );
}

/// RFC 3339 (UTC) of `secs` from now.
fn rfc3339_in(secs: i64) -> String {
    let out = Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%SZ", "-d"])
        .arg(format!("@{}", unix_now() as i64 + secs))
        .output()
        .expect("run date");
    text(&out.stdout).trim().to_owned()
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// `--start at:` is refused in the past and beyond the rule's cap (or the
/// `[defaults]`' 7 days), with the cap in the message.
#[test]
fn start_times_are_bounded_by_the_policy() {
    let (d, _) = daemon("grants-policy-start", POLICY);
    let at = |rule: &str, secs: i64| {
        let start = format!("at:{}", rfc3339_in(secs));
        ctl(
            REQUESTER,
            &d,
            &[
                "request", "--rule", rule, "--reason", "r", "--start", &start,
            ],
        )
    };
    refused(
        &at("planned", -120),
        "the start time has passed; give a time to come",
    );
    refused(
        &at("planned", 2 * 3600),
        "the start time is more than 3600s ahead, the rule's cap (start_within)",
    );
    refused(
        &at("default-planned", 8 * 24 * 3600),
        "the start time is more than 604800s ahead",
    );
    for (rule, secs) in [("planned", 1800), ("default-planned", 6 * 24 * 3600)] {
        let out = at(rule, secs);
        assert!(out.status.success(), "{rule}: {}", text(&out.stderr));
    }
}

/// The holder's terminal is warned `warn` ahead of the end (the rule's
/// 3 s, not the default 60 s), and the `grant.warn` event reaches journald
/// and syslog; what ignores SIGTERM dies after the rule's 1 s grace (not
/// the default 2 s).
#[test]
fn the_holder_is_warned_ahead_of_the_end_on_the_terminal_journal_and_syslog() {
    use jitsudo_tests::services::{field_text, wait_for_journal, wait_for_log_lines, AUTH_LOG};
    let (d, _) = daemon("grants-policy-warn", POLICY);
    let dir = world().scratch_dir("grants-policy-warn");
    let pidfile = dir.join("pid");
    let reason = jitsudo_tests::util::marker("warn");
    let doc = request_as(REQUESTER, &d, &["--rule", "warned", "--reason", &reason]);
    let id = doc["id"].as_str().expect("id").to_owned();
    let expires = doc["expires_at"].as_f64().expect("expires_at");
    let script = format!(
        "trap '' TERM; echo $$ > {0}.tmp; mv {0}.tmp {0}; exec sleep 100",
        pidfile.display()
    );
    let mut under_grant = as_user(REQUESTER, &d, "jitsudo", &["/bin/sh", "-c", &script])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start jitsudo");
    let pid: i32 = jitsudo_tests::util::poll_until(Duration::from_secs(10), || {
        std::fs::read_to_string(&pidfile).ok()?.trim().parse().ok()
    })
    .expect("the command under the grant did not start");
    // When it dies, watched from now on.
    let watcher = std::thread::spawn(move || {
        jitsudo_tests::util::poll_until(Duration::from_secs(20), || {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok();
            let zombie = |s: &str| s.rsplit_once(") ").is_some_and(|(_, r)| r.starts_with('Z'));
            stat.is_none_or(|s| zombie(&s)).then(unix_now)
        })
    });
    // The holder's terminal: a shell of theirs that only waits past the end.
    let mut holder = Command::new("setpriv");
    holder
        .args([
            "--reuid",
            REQUESTER,
            "--regid",
            REQUESTER,
            "--init-groups",
            "--",
        ])
        .args(["/bin/sh", "-c", "sleep 6"]);
    let spec = PtySpec::default().wait_for(&format!("your grant {id} (rule warned) ends in"));
    let shown = jitsudo_tests::pty::run(holder, REQUESTER, &spec, Duration::from_secs(20));
    let transcript = shown.stdout_text();
    assert!(
        transcript.contains(&format!("jitsudoctl extend {id} --by DURATION")),
        "no warning on the holder's terminal: {transcript:?} {}",
        text(&shown.stderr)
    );
    let warned = wait_for_journal(
        "JITSUDO_EVENT",
        "grant.warn",
        &reason,
        Duration::from_secs(10),
    );
    let event = warned.first().expect("no grant.warn event in the journal");
    assert_eq!(
        field_text(event, "JITSUDO_GRANT_ID").as_deref(),
        Some(id.as_str())
    );
    let at = field_text(event, "__REALTIME_TIMESTAMP")
        .and_then(|t| t.parse::<f64>().ok())
        .expect("timestamp")
        / 1e6;
    let ahead = expires - at;
    assert!(
        (2.0..=3.5).contains(&ahead),
        "warned {ahead:.3}s before the end, not the rule's 3 s"
    );
    let lines = wait_for_log_lines(
        std::path::Path::new(AUTH_LOG),
        &["grant.warn", &reason],
        Duration::from_secs(10),
    );
    assert!(!lines.is_empty(), "no grant.warn line in {AUTH_LOG}");
    let died = watcher
        .join()
        .expect("watcher")
        .expect("the command outlived its grant");
    let _ = under_grant.wait();
    let after = died - expires;
    assert!(
        (0.8..=1.8).contains(&after),
        "SIGKILL {after:.3}s after the end, not after the rule's 1 s grace"
    );
}

/// The holder extends within the rule's self-extension cap without an
/// approval; beyond it, or on a rule without one, an approver must; an
/// ended grant is never revived.
#[test]
fn self_extension_needs_the_rule_and_stays_within_its_cap() {
    let (d, _) = daemon("grants-policy-extend", POLICY);
    let approve = |id: &str| {
        let cmd = as_user(
            APPROVER1,
            &d,
            "jitsudoctl",
            &["approve", id, "--reason", "ok"],
        );
        let spec = PtySpec::default().answer("password for", &password(APPROVER1));
        let out = jitsudo_tests::pty::run(cmd, APPROVER1, &spec, Duration::from_secs(30));
        assert!(
            out.stdout_text().contains("active"),
            "{}",
            out.stdout_text()
        );
    };
    let selfext = request_as(REQUESTER, &d, &["--rule", "selfext"])["id"]
        .as_str()
        .expect("id")
        .to_owned();
    approve(&selfext);
    let before = grant(&d, &selfext)["expires_at"]
        .as_i64()
        .expect("expires_at");
    let out = json(&ctl(
        REQUESTER,
        &d,
        &["extend", &selfext, "--by", "15s", "--format", "json"],
    ));
    assert_eq!(out["expires_at"].as_i64(), Some(before + 15));
    refused(
        &ctl(REQUESTER, &d, &["extend", &selfext, "--by", "6s"]),
        &format!(
            "the grant would last 31s, over the rule's self-extension cap of 30s; ask one of \
             the rule's approvers to extend it (they run: jitsudoctl extend {selfext} --by DURATION)"
        ),
    );
    refused(
        &ctl(REQUESTER, &d, &["extend", &selfext, "--by", "0s"]),
        "extend by more than 0s",
    );
    refused(
        &ctl(OUTSIDER, &d, &["extend", &selfext, "--by", "1s"]),
        &format!("you may not extend grant {selfext}"),
    );
    // The approver may go beyond the holder's cap, up to the rule's max.
    let out = json(&ctl(
        APPROVER1,
        &d,
        &["extend", &selfext, "--by", "60s", "--format", "json"],
    ));
    assert_eq!(out["expires_at"].as_i64(), Some(before + 75));

    let approved = request_as(REQUESTER, &d, &["--rule", "approved"])["id"]
        .as_str()
        .expect("id")
        .to_owned();
    approve(&approved);
    refused(
        &ctl(REQUESTER, &d, &["extend", &approved, "--by", "5s"]),
        &format!(
            "extending grant {approved} needs an approval again: its rule allows no \
             self-extension; ask one of the rule's approvers"
        ),
    );
    json(&ctl(
        REQUESTER,
        &d,
        &["done", &approved, "--format", "json"],
    ));
    refused(
        &ctl(APPROVER1, &d, &["extend", &approved, "--by", "5s"]),
        &format!("grant {approved} is ended, not active"),
    );
}

/// `approver` approves `id` (after the fact, for a break-glass grant),
/// typing their password on a pty; what the terminal showed.
fn approve_on_pty(d: &Daemon, approver: &str, id: &str) -> String {
    let cmd = as_user(
        approver,
        d,
        "jitsudoctl",
        &["approve", id, "--reason", "seen"],
    );
    let spec = PtySpec::default().answer("password for", &password(approver));
    jitsudo_tests::pty::run(cmd, approver, &spec, Duration::from_secs(30)).stdout_text()
}

/// Breaks the glass on `rule` with `reason`; the new grant's record.
fn break_glass(d: &Daemon, rule: &str, reason: &str) -> Value {
    request_as(
        REQUESTER,
        d,
        &["--rule", rule, "--break-glass", "--reason", reason],
    )
}

/// A member approves their own short grant at once; it is logged at
/// `crit` (journald PRIORITY=2, and syslog); the holder's justification
/// clears it; every refusal says why.
#[test]
fn break_glass_is_self_approved_logged_at_crit_and_cleared_by_a_justification() {
    use jitsudo_tests::services::{field_text, wait_for_journal, wait_for_log_lines, AUTH_LOG};
    let (d, _) = daemon("grants-policy-glass", POLICY);
    let r = |user: &str, args: &[&str]| ctl(user, &d, args);
    refused(
        &r(
            REQUESTER,
            &[
                "request",
                "--rule",
                "approved",
                "--break-glass",
                "--reason",
                "x",
            ],
        ),
        "the rule has no break-glass; request it for approval",
    );
    refused(
        &r(
            REQUESTER,
            &[
                "request",
                "--rule",
                "glass",
                "--break-glass",
                "--for",
                "16m",
                "--reason",
                "x",
            ],
        ),
        "over the rule's break-glass maximum of 900s",
    );
    refused(
        &r(REQUESTER, &["request", "--rule", "glass", "--break-glass"]),
        "the rule requires a reason",
    );
    refused(
        &r(
            OUTSIDER,
            &[
                "request",
                "--rule",
                "glass",
                "--break-glass",
                "--reason",
                "x",
            ],
        ),
        "no grantable rule `glass`",
    );
    let reason = jitsudo_tests::util::marker("glass");
    let doc = break_glass(&d, "glass", &reason);
    let id = doc["id"].as_str().expect("id").to_owned();
    assert_eq!(doc["state"], "active");
    assert_eq!(
        doc["duration"], 900,
        "the default is capped at the break-glass max"
    );
    let out = as_user(REQUESTER, &d, "jitsudo", &["-n", "/usr/bin/id", "-un"])
        .output()
        .expect("jitsudo");
    assert_eq!(text(&out.stdout), "root\n", "{}", text(&out.stderr));
    let events = wait_for_journal("JITSUDO_BREAK_GLASS", "1", &reason, Duration::from_secs(10));
    let activate = events
        .iter()
        .find(|e| field_text(e, "JITSUDO_EVENT").as_deref() == Some("grant.activate"))
        .unwrap_or_else(|| panic!("no break-glass grant.activate: {events:?}"));
    assert_eq!(field_text(activate, "PRIORITY").as_deref(), Some("2"));
    assert_eq!(
        field_text(activate, "JITSUDO_GRANT_ID").as_deref(),
        Some(id.as_str())
    );
    assert!(field_text(activate, "JITSUDO_FOLLOW_UP_AT").is_some());
    let lines = wait_for_log_lines(
        std::path::Path::new(AUTH_LOG),
        &["grant.activate", "BREAK_GLASS=1", &reason],
        Duration::from_secs(10),
    );
    assert!(!lines.is_empty(), "no break-glass line in {AUTH_LOG}");
    // Not again before this one is cleared; ordinary requests still go.
    refused(
        &r(REQUESTER, &["request", "--rule", "glass", "--break-glass", "--reason", "again"]),
        &format!("your break-glass grant {id} is not cleared yet: justify it (jitsudoctl justify {id} --reason TEXT)"),
    );
    request_as(REQUESTER, &d, &["--rule", "glass"]);
    // Nobody reviews it but approvers approving; only the holder justifies.
    refused(
        &r(REQUESTER, &["approve", &id]),
        &format!("you cannot review your own request {id}"),
    );
    refused(
        &r(APPROVER1, &["deny", &id, "--reason", "no"]),
        &format!(
            "break-glass grant {id} is cleared by approving it; to end it: jitsudoctl revoke {id}"
        ),
    );
    refused(
        &r(OUTSIDER, &["justify", &id, "--reason", "x"]),
        &format!("grant {id} is not yours"),
    );
    refused(
        &r(REQUESTER, &["justify", &id]),
        "a justification needs a reason (--reason TEXT)",
    );
    let justified = json(&r(
        REQUESTER,
        &[
            "justify",
            &id,
            "--reason",
            "INC-7 db down",
            "--format",
            "json",
        ],
    ));
    assert_eq!(justified["reviews"][0]["decision"], "justify");
    refused(
        &r(REQUESTER, &["justify", &id, "--reason", "again"]),
        &format!("break-glass grant {id} is cleared already"),
    );
    let ordinary = request_as(REQUESTER, &d, &["--rule", "approved"])["id"]
        .as_str()
        .expect("id")
        .to_owned();
    refused(
        &r(REQUESTER, &["justify", &ordinary, "--reason", "x"]),
        &format!("grant {ordinary} is no break-glass grant"),
    );
    assert_eq!(break_glass(&d, "glass", "again")["state"], "active");
}

/// Uncleared past its follow-up time, a break-glass grant stops its
/// holder's every new request (and a late justification) until an
/// approver approves it after the fact.
#[test]
fn an_uncleared_break_glass_refuses_further_requests_until_an_approver_clears_it() {
    let (d, _) = daemon("grants-policy-glass-late", POLICY);
    let id = break_glass(&d, "glass-quick", "r")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let ask = || ctl(REQUESTER, &d, &["request", "--rule", "approved"]);
    let overdue = format!("your break-glass grant {id} (rule glass-quick) was not cleared by");
    // Breaking the glass again is refused before the follow-up time ("not
    // cleared yet") and after it ("not cleared by"): poll until the latter.
    let again = || {
        ctl(
            REQUESTER,
            &d,
            &[
                "request",
                "--rule",
                "glass",
                "--break-glass",
                "--reason",
                "x",
            ],
        )
    };
    let refusal = jitsudo_tests::util::poll_until(Duration::from_secs(10), || {
        let out = again();
        text(&out.stderr).contains(&overdue).then_some(out)
    })
    .expect("no refusal after the follow-up time");
    refused(&refusal, &overdue);
    refused(&ask(), &overdue);
    refused(
        &refusal,
        &format!("until one of the rule's approvers, or root, approves it after the fact (jitsudoctl approve {id})"),
    );
    refused(
        &ctl(REQUESTER, &d, &["justify", &id, "--reason", "late"]),
        &format!(
            "only one of the rule's approvers, or root, can clear it now (jitsudoctl approve {id})"
        ),
    );
    // An approver of another rule may not clear it.
    let shown = approve_on_pty(&d, APPROVER2, &id);
    assert!(
        shown.contains(&format!("you may not review request {id}")),
        "{shown}"
    );
    refused(&ask(), &overdue);
    let shown = approve_on_pty(&d, APPROVER1, &id);
    assert!(shown.contains("active"), "{shown}");
    assert!(ask().status.success(), "still refused after the approval");
}

/// Root, though no approver of the rule, clears an overdue break-glass
/// grant by approving it after the fact (root is trusted on the host; the
/// clearing is kept as root's review and logged); approving an ordinary
/// request stays the rule's approvers' alone.
/// Before: "you may not review request N" for root too.
#[test]
fn root_clears_an_overdue_break_glass_grant_without_being_an_approver() {
    let (d, _) = daemon("grants-policy-glass-root", POLICY);
    let id = break_glass(&d, "glass-quick", "r")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let overdue = format!("your break-glass grant {id} (rule glass-quick) was not cleared by");
    let ask = || {
        ctl(
            REQUESTER,
            &d,
            &["request", "--rule", "approved", "--format", "json"],
        )
    };
    // Breaking the glass again is refused before the follow-up time too,
    // so polling with it requests nothing.
    let again = [
        "request",
        "--rule",
        "glass",
        "--break-glass",
        "--reason",
        "x",
    ];
    let refused_now = jitsudo_tests::util::poll_until(Duration::from_secs(10), || {
        text(&ctl(REQUESTER, &d, &again).stderr)
            .contains(&overdue)
            .then_some(())
    });
    assert!(refused_now.is_some(), "the follow-up time never passed");
    let cleared = json(&ctl(
        ROOT,
        &d,
        &[
            "approve",
            &id,
            "--reason",
            "incident 42 reviewed",
            "--format",
            "json",
        ],
    ));
    let review = &cleared["reviews"][0];
    assert_eq!(
        (review["reviewer"].as_str(), review["decision"].as_str()),
        (Some("root"), Some("approve")),
        "{cleared}"
    );
    let pending = json(&ask());
    assert_eq!(pending["state"], "pending", "{pending}");
    let pending = pending["id"].as_str().expect("id");
    refused(
        &ctl(ROOT, &d, &["approve", pending]),
        &format!("you may not review request {pending}"),
    );
}

/// A break-glass grant for the overdue test, and a short auto-approved
/// grant of another user whose end shows the daemon's deadlines ran.
const OVERDUE_POLICY: &str = r#"
[[rule]]
id = "glass-quick"
who = ["jt_req"]
commands = ["/usr/bin/id"]
auth = "none"
[rule.grant]
max = "1h"
approvers = ["jt_appr1"]
break_glass = { max = "1m", follow_up = "2s" }

[[rule]]
id = "tick"
who = ["jt_limited"]
commands = ["/usr/bin/true"]
auth = "none"
[rule.grant]
max = "1m"
default = "2s"
approval = "auto"
"#;

/// A break-glass grant not cleared by its follow-up time is logged as
/// `grant.overdue` at `crit` when the time passes (not only at the
/// holder's next request), once: not again at the daemon's later
/// deadlines, nor after a restart.
/// Before: no event at all.
#[test]
fn an_overdue_break_glass_grant_is_logged_once_at_crit() {
    use jitsudo_tests::services::{ensure_journald, field_text, wait_for_journal};
    ensure_journald();
    let name = "grants-policy-glass-overdue";
    let (d, path) = daemon(name, OVERDUE_POLICY);
    let reason = jitsudo_tests::util::marker("overdue");
    let id = break_glass(&d, "glass-quick", &reason)["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let overdue = || wait_for_journal("JITSUDO_EVENT", "grant.overdue", &reason, LOG_WAIT);
    let logged = overdue();
    let [event] = &logged[..] else {
        panic!("not one grant.overdue: {logged:#?}");
    };
    for (field, value) in [
        ("PRIORITY", "2"),
        ("MESSAGE_ID", "8ba4b00f22de4511b35822c43bc96cab"),
        ("JITSUDO_GRANT_ID", id.as_str()),
        ("JITSUDO_BREAK_GLASS", "1"),
    ] {
        assert_eq!(
            field_text(event, field).as_deref(),
            Some(value),
            "{event:#?}"
        );
    }
    assert!(
        field_text(event, "JITSUDO_FOLLOW_UP_AT").is_some(),
        "{event:#?}"
    );
    // Another user's grant expires: the deadlines ran again (the timer
    // expires it), and again after a restart; the overdue grant is not
    // logged again.
    let ticked = |d: &Daemon| {
        let asked = ctl(
            LIMITED,
            d,
            &[
                "request", "--rule", "tick", "--reason", "r", "--format", "json",
            ],
        );
        let tick = json(&asked)["id"].as_str().expect("id").to_owned();
        let expired = jitsudo_tests::util::poll_until(LOG_WAIT, || {
            let history = json(&ctl(
                LIMITED,
                d,
                &["grants", "--history", "--format", "json"],
            ));
            history
                .as_array()
                .and_then(|a| a.iter().find(|r| r["id"] == tick.as_str()))
                .filter(|r| r["state"] == "expired")
                .map(|_| ())
        });
        assert!(expired.is_some(), "the tick grant never expired");
    };
    ticked(&d);
    let _ = nix::sys::signal::kill(d.pid(), nix::sys::signal::Signal::SIGKILL);
    let _ = jitsudo_tests::util::poll_until(Duration::from_secs(5), || d.try_wait());
    let d = Daemon::start(world(), name, &path);
    ticked(&d);
    assert_eq!(overdue().len(), 1, "grant.overdue logged more than once");
}

/// Login records added to utmp for a test, removed again (the file put
/// back as it was) when dropped.
struct Logins {
    before: Option<Vec<u8>>,
}

const UTMP: &str = "/run/utmp";

impl Logins {
    fn new() -> Logins {
        Logins {
            before: std::fs::read(UTMP).ok(),
        }
    }

    /// Records `user` as logged in on `line` (`pts/3`), as login(1) does:
    /// a glibc `struct utmpx` of type USER_PROCESS.
    fn add(&self, user: &str, line: &str) {
        let mut record = vec![0u8; 384];
        record[0..2].copy_from_slice(&7i16.to_ne_bytes());
        record[4..8].copy_from_slice(&(std::process::id() as i32).to_ne_bytes());
        record[8..8 + line.len()].copy_from_slice(line.as_bytes());
        let id = &line.as_bytes()[line.len().saturating_sub(4)..];
        record[40..40 + id.len()].copy_from_slice(id);
        record[44..44 + user.len()].copy_from_slice(user.as_bytes());
        use std::io::Write;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(UTMP)
            .and_then(|mut f| f.write_all(&record))
            .expect("write utmp");
    }
}

impl Drop for Logins {
    fn drop(&mut self) {
        let _ = match &self.before {
            Some(bytes) => std::fs::write(UTMP, bytes),
            None => std::fs::remove_file(UTMP),
        };
    }
}

/// A terminal session of `user` on a pty for `test`: the shell writes
/// its terminal's name, then runs `then`; the thread gives back what the
/// terminal showed.
fn session(
    user: &'static str,
    dir: &std::path::Path,
    then: &str,
    spec: PtySpec,
) -> (std::thread::JoinHandle<String>, String) {
    let name = dir.join(user);
    // A session of the same user before this one left its terminal's name.
    let _ = std::fs::remove_file(&name);
    let script = format!("tty > {0}.tmp; mv {0}.tmp {0}; {then}", name.display());
    let handle = std::thread::spawn(move || {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid", user, "--regid", user, "--init-groups", "--"])
            .args(["/bin/sh", "-c", &script]);
        jitsudo_tests::pty::run(cmd, user, &spec, Duration::from_secs(20)).stdout_text()
    });
    let tty = jitsudo_tests::util::poll_until(Duration::from_secs(10), || {
        let text = std::fs::read_to_string(&name).ok()?;
        text.trim().strip_prefix("/dev/").map(str::to_owned)
    })
    .unwrap_or_else(|| panic!("{user}'s session did not start"));
    (handle, tty)
}

/// A new request is told, in one line, on the terminals of the logged-in
/// approvers (named, or through their group), and logged with whom it
/// reached; never on the requester's terminal (an approver of the rule
/// too) or the outsider's, not even through a login record that claims
/// the outsider's terminal for an approver.
#[test]
fn logged_in_approvers_are_told_of_a_new_request_and_nobody_else() {
    use jitsudo_tests::services::{field_text, wait_for_journal};
    let (d, _) = daemon("grants-policy-notify", POLICY);
    let dir = world().scratch_dir("grants-policy-notify");
    let logins = Logins::new();
    let told = "asks for grant";
    let until_told = || PtySpec::default().wait_for(told).send(b"\x04");
    let (appr1, appr1_tty) = session(APPROVER1, &dir, "cat", until_told());
    let (appr2, appr2_tty) = session(APPROVER2, &dir, "cat", until_told());
    let (outsider, outsider_tty) = session(OUTSIDER, &dir, "sleep 6", PtySpec::default());
    let (requester, requester_tty) = session(REQUESTER, &dir, "sleep 6", PtySpec::default());
    logins.add(APPROVER1, &appr1_tty);
    logins.add(APPROVER2, &appr2_tty);
    logins.add(OUTSIDER, &outsider_tty);
    logins.add(REQUESTER, &requester_tty);
    // A record that names an approver on the outsider's terminal.
    logins.add(APPROVER1, &outsider_tty);
    let reason = jitsudo_tests::util::marker("notify");
    let id = request_as(REQUESTER, &d, &["--rule", "peer", "--reason", &reason])["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let line = format!(
        "jitsudo: {REQUESTER} asks for grant {id} (rule peer, 3600s): {reason}; review it: \
         jitsudoctl approve {id} (or deny {id} --reason TEXT)"
    );
    for (who, handle) in [(APPROVER1, appr1), (APPROVER2, appr2)] {
        let shown = handle.join().expect("session");
        assert!(shown.contains(&line), "{who} was not told: {shown:?}");
        assert_eq!(shown.matches(told).count(), 1, "{who}: {shown:?}");
    }
    for (who, handle) in [(OUTSIDER, outsider), (REQUESTER, requester)] {
        let shown = handle.join().expect("session");
        assert!(!shown.contains(told), "{who} was told: {shown:?}");
    }
    let created = wait_for_journal(
        "JITSUDO_EVENT",
        "request.create",
        &reason,
        Duration::from_secs(10),
    );
    let event = created.first().expect("no request.create event");
    assert_eq!(
        field_text(event, "JITSUDO_NOTIFIED").as_deref(),
        Some("jt_appr1,jt_appr2")
    );
    // Requesting and cancelling in a loop: 8 requests per 10 minutes are
    // told, no more.
    let pidfile = dir.join("watching.pid");
    let watching = format!("echo $$ > {}; exec sleep 60", pidfile.display());
    let (appr1, appr1_tty) = session(APPROVER1, &dir, &watching, PtySpec::default());
    logins.add(APPROVER1, &appr1_tty);
    let ids: Vec<String> = (2..=9)
        .map(|_| {
            let id = request_as(REQUESTER, &d, &["--rule", "peer", "--reason", "again"])["id"]
                .as_str()
                .expect("id")
                .to_owned();
            json(&ctl(REQUESTER, &d, &["cancel", &id, "--format", "json"]));
            id
        })
        .collect();
    // Every notice is written before `request` answers: end the session.
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .ok()
        .and_then(|p| p.trim().parse().ok())
        .expect("the session's pid");
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    );
    let shown = appr1.join().expect("session");
    for id in &ids[..7] {
        assert!(
            shown.contains(&format!("grant {id} ")),
            "{id} not told: {shown:?}"
        );
    }
    let ninth = &ids[7];
    assert!(
        !shown.contains(&format!("grant {ninth} ")),
        "the 9th was told: {shown:?}"
    );
    drop(logins);
}
