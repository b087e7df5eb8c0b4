//! Just-in-time grants (jitsudo only; sudo has none), end to end with real
//! users (a requester, two approvers, an outsider), real PAM (approvers type
//! their password on a pty), real cgroups and a real journald. Each test
//! starts its own daemon; durations are seconds.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use jitsudo_tests::daemon::Daemon;
use jitsudo_tests::grants::*;
use jitsudo_tests::services::{ensure_journald, field_text, wait_for_journal};
use jitsudo_tests::util::{make_dir, marker, poll_until, write_atomic};
use jitsudo_tests::*;
use serde_json::Value;

/// SIGTERM to SIGKILL at a grant's end.
const GRACE: Duration = Duration::from_secs(2);

/// What a grant's end may take beyond `expires_at` + grace: a bound that
/// tells "torn down at its end" from "left running", loose enough for a
/// loaded CI machine (the measured delay is printed by
/// `teardown_delay_over_twenty_grants`, not asserted as a speed).
const SLACK: Duration = Duration::from_secs(3);

const POLICY: &str = r#"
[[rule]]
id = "root-all"
who = ["root"]
commands = ["ALL"]
auth = "none"

# Two approvals among jt_appr1, the members of jt_approvers and jt_req,
# who may approve others' requests but never their own.
[[rule]]
id = "db"
who = ["jt_req"]
commands = ["/usr/bin/id", "/bin/sh", "/usr/bin/sleep"]
auth = "none"
[rule.grant]
max = "1h"
default = "1h"
reason = true
ticket = "INC-*"
approvers = ["jt_appr1", "%jt_approvers", "jt_req"]
quorum = 2
deadline = "1m"

# Approvals must come within 2 s.
[[rule]]
id = "hurry"
who = ["jt_req"]
commands = ["/usr/bin/id"]
auth = "none"
[rule.grant]
max = "1h"
approvers = ["jt_appr1"]
deadline = "2s"

# Auto-approved, short, for the timing tests.
[[rule]]
id = "quick"
who = ["jt_req"]
commands = ["/bin/sh", "/usr/bin/sleep", "/usr/bin/true"]
auth = "none"
[rule.grant]
max = "20s"
default = "3s"
approval = "auto"

# The clock starts at the first use.
[[rule]]
id = "later"
who = ["jt_req"]
commands = ["/usr/bin/true"]
auth = "none"
[rule.grant]
max = "1m"
default = "30s"
start = "first-use"
approval = "auto"

# Exactly one command, twice at most.
[[rule]]
id = "one-command"
who = ["jt_req"]
commands = ["/usr/bin/whoami", "/usr/bin/id"]
auth = "none"
[rule.grant]
kind = "command"
max = "1m"
max_uses = 2
approval = "auto"
"#;

/// A daemon of its own for one test, with [`POLICY`].
fn daemon(name: &str) -> (Daemon, PathBuf) {
    let path = world().policy_dir(name).join("policy.toml");
    write_atomic(&path, POLICY.as_bytes(), 0o644);
    (Daemon::start(world(), name, &path), path)
}

/// Requests a grant; its id.
fn request(d: &Daemon, args: &[&str]) -> String {
    let mut all = vec!["request", "--format", "json"];
    all.extend_from_slice(args);
    let doc = json(&ctl(REQUESTER, d, &all));
    doc["id"].as_str().expect("id").to_owned()
}

/// The record of request or grant `id`, as its requester lists it.
fn record(d: &Daemon, id: &str) -> Value {
    for listing in [&["requests"][..], &["grants"], &["grants", "--history"]] {
        let mut args = listing.to_vec();
        args.extend(["--format", "json"]);
        let doc = json(&ctl(REQUESTER, d, &args));
        if let Some(found) = doc
            .as_array()
            .and_then(|a| a.iter().find(|r| r["id"] == id))
        {
            return found.clone();
        }
    }
    panic!("no record {id}")
}

/// `approver` approves (or denies) `id`, typing their password on a pty.
fn review(d: &Daemon, approver: &str, verb: &str, id: &str) -> Output {
    let cmd = as_user(approver, d, "jitsudoctl", &[verb, id, "--reason", "ok"]);
    let spec = PtySpec::default().answer("password for", &password(approver));
    jitsudo_tests::pty::run(cmd, approver, &spec, Duration::from_secs(30))
}

/// Starts, as the requester under a grant of rule `quick`/`db`, a command
/// that double-forks a grandchild (setsid, ignoring SIGTERM and SIGHUP)
/// and then sleeps; returns the client and the pids of the command and
/// the grandchild.
fn start_tree(d: &Daemon, dir: &Path) -> (Child, i32, i32) {
    let script = dir.join("tree.sh");
    write_atomic(
        &script,
        b"(setsid sh -c 'trap \"\" TERM HUP; echo $$ > \"$0.gc.tmp\"; mv \"$0.gc.tmp\" \"$0.gc\"; exec sleep 1000' \"$1\" </dev/null >/dev/null 2>&1 &)\n\
          echo $$ > \"$1.cmd\"\nexec sleep 1000\n",
        0o755,
    );
    let base = dir.join("pids");
    let base = base.to_str().expect("utf-8 path");
    let child = as_user(
        REQUESTER,
        d,
        "jitsudo",
        &["/bin/sh", script.to_str().unwrap(), base],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .expect("start jitsudo");
    let read = |path: String| {
        poll_until(Duration::from_secs(10), || {
            fs::read_to_string(&path).ok()?.trim().parse::<i32>().ok()
        })
        .unwrap_or_else(|| panic!("{path} never written"))
    };
    let command = read(format!("{base}.cmd"));
    let grandchild = read(format!("{base}.gc"));
    (child, command, grandchild)
}

#[test]
fn quorum_of_two_distinct_approvers_never_the_requester() {
    let (d, _) = daemon("grants-quorum");
    let ticket = format!("INC-{}", marker("quorum"));
    let id = request(
        &d,
        &["--rule", "db", "--reason", "db stuck", "--ticket", &ticket],
    );
    assert_eq!(record(&d, &id)["state"], "pending");
    // Before approval the rule does not apply.
    assert_ne!(
        sudo(REQUESTER, &d, &["-n", "/usr/bin/id", "-un"])
            .status
            .code(),
        Some(0)
    );
    // The requester cannot approve their own request, nor can the outsider.
    refused(
        &ctl(REQUESTER, &d, &["approve", &id]),
        "cannot review your own request",
    );
    refused(
        &ctl(OUTSIDER, &d, &["approve", &id]),
        "you may not review request",
    );
    let first = review(&d, APPROVER1, "approve", &id);
    assert!(
        first.stdout_text().contains("pending"),
        "{}",
        first.stdout_text()
    );
    assert_eq!(record(&d, &id)["reviews"].as_array().map(Vec::len), Some(1));
    // The same approver twice does not make a quorum.
    let again = review(&d, APPROVER1, "approve", &id);
    assert!(
        again.stdout_text().contains("reviewed request"),
        "{}",
        again.stdout_text()
    );
    assert_eq!(record(&d, &id)["state"], "pending");
    let second = review(&d, APPROVER2, "approve", &id);
    assert!(
        second.stdout_text().contains("active"),
        "{}",
        second.stdout_text()
    );
    let out = sudo(REQUESTER, &d, &["-n", "/usr/bin/id", "-un"]);
    assert_eq!(text(&out.stdout), "root\n", "{}", text(&out.stderr));
    // Every review is kept.
    let reviews = record(&d, &id)["reviews"].clone();
    let names: Vec<&str> = reviews
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["reviewer"].as_str())
        .collect();
    assert_eq!(names, [APPROVER1, APPROVER2]);
    // Revoke (an approver), refused to the outsider.
    refused(&ctl(OUTSIDER, &d, &["revoke", &id]), "you may not revoke");
    assert!(json(&ctl(APPROVER1, &d, &["revoke", &id, "--format", "json"]))["state"] == "revoked");
    let out = sudo(REQUESTER, &d, &["-n", "/usr/bin/id", "-un"]);
    refused(&out, &format!("your grant {id} (rule db) ended at"));
    // Audited, with the approvers.
    ensure_journald();
    let events = |kind: &str| {
        let found = poll_until(Duration::from_secs(10), || {
            let hits: Vec<_> =
                wait_for_journal("JITSUDO_TICKET", &ticket, &ticket, Duration::from_secs(1))
                    .into_iter()
                    .filter(|e| field_text(e, "JITSUDO_EVENT").as_deref() == Some(kind))
                    .collect();
            (!hits.is_empty()).then_some(hits)
        });
        found.unwrap_or_else(|| panic!("no {kind} event for grant {id}"))
    };
    for kind in [
        "request.create",
        "request.review",
        "grant.activate",
        "grant.use",
        "grant.revoke",
    ] {
        let event = events(kind);
        assert_eq!(
            field_text(&event[0], "JITSUDO_GRANT_ID").as_deref(),
            Some(id.as_str())
        );
    }
    let approvers = field_text(&events("grant.activate")[0], "JITSUDO_APPROVERS");
    assert_eq!(approvers.as_deref(), Some("jt_appr1,jt_appr2"));
}

#[test]
fn a_wrong_password_records_no_review() {
    let (d, _) = daemon("grants-badpw");
    let id = request(&d, &["--rule", "db", "--reason", "r", "--ticket", "INC-1"]);
    let cmd = as_user(APPROVER1, &d, "jitsudoctl", &["approve", &id]);
    let spec = PtySpec::default()
        .answer("password for", "wrong")
        .answer("password for", "wrong")
        .answer("password for", "wrong");
    let out = jitsudo_tests::pty::run(cmd, APPROVER1, &spec, Duration::from_secs(60));
    assert!(
        out.stdout_text().contains("incorrect password"),
        "{}",
        out.stdout_text()
    );
    assert_eq!(record(&d, &id)["reviews"].as_array().map(Vec::len), Some(0));
    // Typed as soon as each prompt showed: never echoed, never lost.
    assert!(
        !out.stdout_text().contains("wrong"),
        "the password was echoed: {}",
        out.stdout_text()
    );
}

/// The clock of a first-use grant starts at its first use, not at the
/// request or the approval (the complaint about cloud JIT products).
#[test]
fn a_first_use_grant_starts_its_clock_at_the_first_use() {
    let (d, _) = daemon("grants-first-use");
    let id = request(&d, &["--rule", "later", "--reason", "r"]);
    let waiting = record(&d, &id);
    assert_eq!(waiting["state"], "approved");
    assert!(waiting["expires_at"].is_null());
    std::thread::sleep(Duration::from_millis(1100));
    let before = unix_now().floor() as i64;
    assert!(sudo(REQUESTER, &d, &["-n", "/usr/bin/true"])
        .status
        .success());
    let active = record(&d, &id);
    assert_eq!(active["state"], "active");
    let starts = active["starts_at"].as_i64().unwrap();
    assert!(
        starts >= before,
        "started at {starts}, before the use at {before}"
    );
    assert_eq!(active["expires_at"].as_i64(), Some(starts + 30));
    refused(
        &ctl(
            REQUESTER,
            &d,
            &[
                "request",
                "--rule",
                "later",
                "--reason",
                "r",
                "--start",
                "on-approval",
            ],
        ),
        "use --start first-use",
    );
}

/// `request --wait` returns once the request is decided, with its outcome.
#[test]
fn request_wait_returns_the_decision() {
    let (d, _) = daemon("grants-wait");
    let waiting = as_user(
        REQUESTER,
        &d,
        "jitsudoctl",
        &[
            "request", "--wait", "--format", "json", "--rule", "db", "--reason", "r", "--ticket",
            "INC-9",
        ],
    )
    .stdout(Stdio::piped())
    .spawn()
    .expect("start request --wait");
    let id = poll_until(Duration::from_secs(10), || {
        let doc = json(&ctl(APPROVER1, &d, &["requests", "--format", "json"]));
        doc.as_array()?.first()?["id"].as_str().map(str::to_owned)
    })
    .expect("the request was not made");
    review(&d, APPROVER1, "deny", &id);
    let out = waiting.wait_with_output().expect("request --wait");
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(doc["state"], "denied");
    assert_eq!(doc["reviews"][0]["decision"], "deny");
}

#[test]
fn requests_over_a_cap_are_refused_with_the_cap() {
    let (d, _) = daemon("grants-caps");
    let r = |args: &[&str]| {
        let mut all = vec!["request"];
        all.extend_from_slice(args);
        ctl(REQUESTER, &d, &all)
    };
    refused(
        &r(&["--rule", "quick", "--reason", "x", "--for", "21s"]),
        "maximum of 20s",
    );
    refused(&r(&["--rule", "quick"]), "requires a reason");
    refused(
        &r(&["--rule", "db", "--reason", "x"]),
        "requires a ticket matching `INC-*`",
    );
    refused(
        &r(&["--rule", "db", "--reason", "x", "--ticket", "CHG-1"]),
        "INC-*",
    );
    refused(
        &r(&["--rule", "nope", "--reason", "x"]),
        "no grantable rule `nope`",
    );
    refused(
        &r(&["--rule", "one-command", "--reason", "x"]),
        "request it with -- COMMAND",
    );
    refused(
        &r(&["--reason", "x", "--", "/usr/bin/env"]),
        "no grantable rule lets you request this command",
    );
    refused(
        &r(&["--rule", "quick", "--reason", &"x".repeat(513)]),
        "longer than 512 bytes",
    );
    refused(
        &r(&["--rule", "quick", "--reason", "a\u{1b}[2Jb"]),
        "control character",
    );
    refused(
        &ctl(
            OUTSIDER,
            &d,
            &["request", "--rule", "quick", "--reason", "x"],
        ),
        "no grantable rule `quick`",
    );
    // Pending requests per user are bounded.
    for _ in 0..8 {
        request(&d, &["--rule", "db", "--reason", "x", "--ticket", "INC-1"]);
    }
    refused(
        &r(&["--rule", "db", "--reason", "x", "--ticket", "INC-1"]),
        "requests pending already",
    );
    // So are the grants one user holds.
    for _ in 0..32 {
        request(&d, &["--rule", "quick", "--reason", "x", "--for", "20s"]);
    }
    refused(
        &r(&["--rule", "quick", "--reason", "x"]),
        "you hold 32 grants already",
    );
    // Usage errors are status 2.
    assert_eq!(ctl(REQUESTER, &d, &["request"]).status.code(), Some(2));
    // Unknown ids, and ids that are not ids.
    refused(
        &ctl(REQUESTER, &d, &["cancel", "999999"]),
        "no request or grant 999999",
    );
    refused(&ctl(REQUESTER, &d, &["done", "x;y"]), "invalid id");
}

#[test]
fn an_unapproved_request_expires_at_its_deadline_and_can_be_cancelled() {
    let (d, _) = daemon("grants-deadline");
    let id = request(&d, &["--rule", "hurry"]);
    let expired = poll_until(Duration::from_secs(10), || {
        (record(&d, &id)["state"] == "expired").then_some(())
    });
    assert!(
        expired.is_some(),
        "request {id} did not expire at its 2 s deadline"
    );
    let late = review(&d, APPROVER1, "approve", &id);
    assert!(
        late.stdout_text().contains("not pending"),
        "{}",
        late.stdout_text()
    );
    let other = request(&d, &["--rule", "db", "--reason", "r", "--ticket", "INC-3"]);
    refused(
        &ctl(OUTSIDER, &d, &["cancel", &other]),
        "not yours to cancel",
    );
    assert_eq!(
        json(&ctl(REQUESTER, &d, &["cancel", &other, "--format", "json"]))["state"],
        "cancelled"
    );
    refused(
        &ctl(REQUESTER, &d, &["cancel", &other]),
        "is cancelled, not pending",
    );
}

#[test]
fn a_command_grant_allows_exactly_its_command_and_counts_uses() {
    let (d, _) = daemon("grants-uses");
    let id = request(&d, &["--reason", "check", "--", "whoami"]);
    assert_eq!(record(&d, &id)["state"], "active");
    refused(&sudo(REQUESTER, &d, &["-n", "/usr/bin/id"]), "");
    for _ in 0..2 {
        let out = sudo(REQUESTER, &d, &["-n", "whoami"]);
        assert_eq!(text(&out.stdout), "root\n", "{}", text(&out.stderr));
    }
    assert_eq!(record(&d, &id)["uses"], 2);
    refused(
        &sudo(REQUESTER, &d, &["-n", "whoami"]),
        &format!("your grant {id} (rule one-command) has no uses left (2 of 2 used)"),
    );
    refused(&sudo(OUTSIDER, &d, &["-n", "whoami"]), "");
}

/// A user with many grants that ended long ago is told of the one that
/// ended lately. The old ones have newer ids than it (the explanation
/// lists grants newest first), so were they read, one of them would be
/// named, or the recent one left out.
#[test]
fn a_recent_end_is_explained_past_many_grants_that_ended_long_ago() {
    let (d, _) = daemon("grants-many-ended");
    let id = request(&d, &["--reason", "r", "--", "whoami"]);
    let done = ctl(REQUESTER, &d, &["done", &id, "--format", "json"]);
    assert_eq!(json(&done)["state"], "ended");
    copy_as_ended_long_ago(&d, &id, 500);
    refused(
        &sudo(REQUESTER, &d, &["-n", "whoami"]),
        &format!("your grant {id} (rule one-command) ended at"),
    );
}

/// Adds `count` copies of grant `id` to `d`'s store (ids from 900001 on),
/// each shifted two days into the past and torn down.
fn copy_as_ended_long_ago(d: &Daemon, id: &str, count: u32) {
    let db = d.log.with_file_name("state").join("grants.db");
    let mut conn = rusqlite::Connection::open(&db).expect("open the daemon's store");
    let tx = conn.transaction().expect("begin");
    for n in 1..=count {
        let copied = tx
            .execute(
                "INSERT INTO requests (id, state, requester_uid, requester, rule_id, kind, \
                 command, run_as, duration, reason, ticket, start, start_at, max_uses, uses, \
                 quorum, created_at, deadline_at, starts_at, expires_at, warned, ended_at, \
                 end_reason, killed) \
                 SELECT ?2, state, requester_uid, requester, rule_id, kind, command, run_as, \
                 duration, reason, ticket, start, start_at, max_uses, uses, quorum, \
                 created_at - ?3, deadline_at - ?3, starts_at - ?3, expires_at - ?3, warned, \
                 ended_at - ?3, end_reason, 0 FROM requests WHERE id = ?1",
                rusqlite::params![id, (900_000 + n).to_string(), 2 * 24 * 3600],
            )
            .expect("copy the grant");
        assert_eq!(copied, 1);
    }
    tx.commit().expect("commit");
}

#[test]
fn expiry_kills_the_command_and_a_double_forked_grandchild_in_time() {
    let (d, _) = daemon("grants-expiry");
    let dir = scratch("grants-expiry");
    let reason = marker("expiry");
    let id = request(
        &d,
        &[
            "--rule", "quick", "--reason", "r", "--ticket", &reason, "--for", "3s",
        ],
    );
    let expires = record(&d, &id)["expires_at"].as_f64().expect("expires_at");
    let (mut client, command, grandchild) = start_tree(&d, &dir);
    assert!(alive(grandchild));
    let died = wait_all_dead(&[command, grandchild], Duration::from_secs(15));
    let _ = client.wait();
    let died = died.expect("the grant's processes outlived it");
    let delay = died - expires;
    eprintln!("teardown {delay:.3}s after expires_at (grace {GRACE:?})");
    assert!(delay <= (GRACE + SLACK).as_secs_f64(), "took {delay:.3}s");
    let ended = record(&d, &id);
    assert_eq!(ended["state"], "expired");
    refused(
        &sudo(REQUESTER, &d, &["-n", "/usr/bin/true"]),
        &format!("your grant {id} (rule quick) ended at"),
    );
    ensure_journald();
    let expired = poll_until(Duration::from_secs(10), || {
        wait_for_journal(
            "JITSUDO_EVENT",
            "grant.expire",
            &reason,
            Duration::from_secs(1),
        )
        .into_iter()
        .next()
    })
    .expect("no grant.expire event");
    let killed = field_text(&expired, "JITSUDO_KILLED").and_then(|k| k.parse::<u32>().ok());
    assert!(killed.is_some_and(|k| k >= 2), "{expired:?}");
    let used = field_text(&expired, "JITSUDO_USED_SECONDS").and_then(|k| k.parse::<u32>().ok());
    assert_eq!(used, Some(3));
    // The command's own exec events carry the grant's id.
    let script = dir.join("tree.sh").display().to_string();
    let execs = wait_for_journal("JITSUDO_GRANT_ID", &id, &script, Duration::from_secs(10));
    assert!(
        execs
            .iter()
            .any(|e| field_text(e, "JITSUDO_EVENT").as_deref() == Some("exec.accept")),
        "no exec.accept with JITSUDO_GRANT_ID={id}: {execs:?}"
    );
}

#[test]
fn done_and_revoke_end_live_use_and_overlapping_grants_are_independent() {
    let (d, _) = daemon("grants-done");
    let dir = scratch("grants-done");
    let first = request(&d, &["--rule", "quick", "--reason", "r", "--for", "20s"]);
    let (mut c1, cmd1, gc1) = start_tree(&d, &dir.join("a").tap_dir());
    let second = request(&d, &["--rule", "quick", "--reason", "r", "--for", "20s"]);
    refused(&ctl(OUTSIDER, &d, &["done", &first]), "is not yours");
    assert_eq!(
        json(&ctl(REQUESTER, &d, &["done", &first, "--format", "json"]))["state"],
        "ended"
    );
    assert!(wait_all_dead(&[cmd1, gc1], GRACE + SLACK + Duration::from_secs(1)).is_some());
    let _ = c1.wait();
    // The other grant for the same rule still allows the rule.
    let out = sudo(REQUESTER, &d, &["-n", "/usr/bin/true"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (mut c2, cmd2, gc2) = start_tree(&d, &dir.join("b").tap_dir());
    assert!(
        json(&ctl(
            ROOT,
            &d,
            &[
                "revoke",
                &second,
                "--reason",
                "incident over",
                "--format",
                "json"
            ]
        ))["state"]
            == "revoked"
    );
    assert!(wait_all_dead(&[cmd2, gc2], GRACE + SLACK + Duration::from_secs(1)).is_some());
    let _ = c2.wait();
}

#[test]
fn extend_moves_the_end_in_one_step() {
    let (d, _) = daemon("grants-extend");
    let dir = scratch("grants-extend");
    let id = request(&d, &["--rule", "quick", "--reason", "r", "--for", "3s"]);
    let before = record(&d, &id)["expires_at"].as_i64().unwrap();
    let (mut client, command, grandchild) = start_tree(&d, &dir);
    let out = json(&ctl(
        REQUESTER,
        &d,
        &["extend", &id, "--by", "4s", "--format", "json"],
    ));
    assert_eq!(out["expires_at"].as_i64(), Some(before + 4));
    refused(
        &ctl(REQUESTER, &d, &["extend", &id, "--by", "20s"]),
        "over the rule's maximum of 20s",
    );
    // Past the first end the processes still run and jitsudo still works.
    while unix_now() < before as f64 + 1.5 {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(alive(command) && alive(grandchild), "killed at the old end");
    assert!(sudo(REQUESTER, &d, &["-n", "/usr/bin/true"])
        .status
        .success());
    let died = wait_all_dead(&[command, grandchild], Duration::from_secs(15)).expect("outlived");
    let _ = client.wait();
    assert!(died >= (before + 4) as f64, "ended early");
}

#[test]
fn a_daemon_killed_mid_grant_still_ends_it_on_time_after_restart() {
    let (d, path) = daemon("grants-restart");
    let dir = scratch("grants-restart");
    let id = request(&d, &["--rule", "quick", "--reason", "r", "--for", "5s"]);
    let pending = request(&d, &["--rule", "db", "--reason", "r", "--ticket", "INC-4"]);
    let expires = record(&d, &id)["expires_at"].as_f64().unwrap();
    let (mut client, command, grandchild) = start_tree(&d, &dir);
    let _ = nix::sys::signal::kill(d.pid(), nix::sys::signal::Signal::SIGKILL);
    let _ = poll_until(Duration::from_secs(5), || d.try_wait());
    let d = Daemon::start(world(), "grants-restart", &path);
    assert_eq!(record(&d, &pending)["state"], "pending");
    assert_eq!(record(&d, &id)["expires_at"].as_f64(), Some(expires));
    let died = wait_all_dead(&[command, grandchild], Duration::from_secs(15)).expect("outlived");
    let _ = client.wait();
    assert!(
        died - expires <= (GRACE + SLACK).as_secs_f64(),
        "{}",
        died - expires
    );
}

#[test]
fn a_reload_that_removes_the_rule_revokes_the_grant() {
    let (d, path) = daemon("grants-reload");
    let dir = scratch("grants-reload");
    let id = request(&d, &["--rule", "quick", "--reason", "r", "--for", "20s"]);
    let (mut client, command, grandchild) = start_tree(&d, &dir);
    let without = POLICY.replace("id = \"quick\"", "id = \"quick-renamed\"");
    write_atomic(&path, without.as_bytes(), 0o644);
    let out = ctl(
        ROOT,
        &d,
        &["policy", "reload", "--socket", d.socket.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(wait_all_dead(
        &[command, grandchild],
        GRACE + SLACK + Duration::from_secs(1)
    )
    .is_some());
    let _ = client.wait();
    let ended = record(&d, &id);
    assert_eq!(ended["state"], "revoked");
    assert_eq!(
        ended["end_reason"],
        "the reloaded policy no longer allows it"
    );
}

/// The delay between `expires_at` and the death of the last process under
/// the grant, over 20 overlapping grants for one rule (p50 and max printed
/// for the report).
#[test]
fn teardown_delay_over_twenty_grants() {
    let (d, _) = daemon("grants-delay");
    let dir = scratch("grants-delay");
    let mut runs = Vec::new();
    for n in 0..20 {
        let id = request(&d, &["--rule", "quick", "--reason", "r", "--for", "4s"]);
        let expires = record(&d, &id)["expires_at"].as_f64().unwrap();
        let (client, command, grandchild) = start_tree(&d, &dir.join(n.to_string()).tap_dir());
        runs.push((expires, client, command, grandchild));
    }
    let mut delays: Vec<f64> = runs
        .iter_mut()
        .map(|(expires, client, command, grandchild)| {
            let died =
                wait_all_dead(&[*command, *grandchild], Duration::from_secs(30)).expect("outlived");
            let _ = client.wait();
            died - *expires
        })
        .collect();
    delays.sort_by(f64::total_cmp);
    let (p50, max) = (delays[delays.len() / 2], delays[delays.len() - 1]);
    eprintln!("teardown delay after expires_at over 20 grants: p50 {p50:.3}s, max {max:.3}s (grace {GRACE:?})");
    assert!(max <= (GRACE + SLACK).as_secs_f64(), "max {max:.3}s");
    // Overlapping grants for one rule: each command ran under the grant
    // that ended last when it started (its own), so no grant's end cut
    // short a command another grant still allowed; the grandchild ignores
    // SIGTERM, so none died before its grant's end plus the grace.
    let min = delays[0];
    assert!(
        min >= GRACE.as_secs_f64() - 0.1,
        "a command died {min:.3}s after its grant's end"
    );
}

/// Makes a directory anyone may write, for a test's pid files.
trait TapDir {
    fn tap_dir(self) -> PathBuf;
}

impl TapDir for PathBuf {
    fn tap_dir(self) -> PathBuf {
        make_dir(&self, 0o777);
        self
    }
}

/// The daemon knows which users hold grants without asking its store on
/// every command; what it knows must be exact at every moment: a grant
/// allows from the very next request after it is given (or after the
/// daemon restarts with it stored), and allows nothing from the very next
/// request after it ended, whichever way it ended.
#[test]
fn a_grant_allows_from_the_next_request_and_stops_at_the_next_after_its_end() {
    let (d, path) = daemon("grants-next");
    let run = |d: &Daemon| sudo(REQUESTER, d, &["-n", "/usr/bin/true"]);
    let allowed = |d: &Daemon| {
        let out = run(d);
        assert!(out.status.success(), "{}", text(&out.stderr));
    };
    refused(&run(&d), "");
    let revoked = request(&d, &["--rule", "quick", "--reason", "r", "--for", "20s"]);
    allowed(&d);
    let doc = json(&ctl(
        ROOT,
        &d,
        &["revoke", &revoked, "--reason", "r", "--format", "json"],
    ));
    assert_eq!(doc["state"], "revoked");
    refused(
        &run(&d),
        &format!("your grant {revoked} (rule quick) ended"),
    );
    let ended = request(&d, &["--rule", "quick", "--reason", "r", "--for", "20s"]);
    allowed(&d);
    let doc = json(&ctl(REQUESTER, &d, &["done", &ended, "--format", "json"]));
    assert_eq!(doc["state"], "ended");
    refused(&run(&d), &format!("your grant {ended} (rule quick) ended"));
    // Approved, its clock not started: allows too.
    request(&d, &["--rule", "later", "--reason", "r"]);
    allowed(&d);
    // A daemon that starts with grants stored knows them at once.
    assert!(d.terminate(Duration::from_secs(10)).is_some(), "no exit");
    let d = Daemon::start(world(), "grants-next", &path);
    allowed(&d);
}
