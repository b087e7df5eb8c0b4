//! The audit trail (jitsudo only): the hash-chained JSON-lines file next to
//! the real journald and rsyslog, fail-closed sinks (a full tmpfs, a
//! journald that is down), escaping of hostile argv and cwd, `jitsudoctl
//! audit` (verify, queries, exposure) and the journald catalog. Each test
//! runs its own daemon writing its own trail.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use jitsudo_audit::EventKind;
use jitsudo_tests::daemon::Daemon;
use jitsudo_tests::services::{
    ensure_journald, ensure_rsyslog, field_text, journal_export_since, wait_for_journal, LogTail,
    AUTH_LOG, DEV_LOG,
};
use jitsudo_tests::util::{make_dir, marker, poll_until, write_atomic};
use jitsudo_tests::world::workspace_root;
use jitsudo_tests::*;
use serde_json::{Map, Value};

/// How long log records may take to show up in journald and auth.log.
const LOG_TIMEOUT: Duration = Duration::from_secs(15);

/// `MESSAGE_ID` of `exec.accept`.
const EXEC_ACCEPT_ID: &str = "6e4013ce4ebcc5d5005260d49d5a980d";

/// jt_admin: a standing rule (trail required, refuse on failure);
/// jt_limited: the same but `audit_failure = "allow"`.
const POLICY: &str = r#"
[defaults]
audit_sinks = ["file"]

[[rule]]
id = "admin-all"
who = ["jt_admin"]
commands = ["ALL"]
auth = "none"
setenv = true

[[rule]]
id = "open"
who = ["jt_limited"]
commands = ["ALL"]
auth = "none"
audit_failure = "allow"
"#;

/// A daemon of its own, with `policy` and a trail in a fresh directory
/// (or at `trail`), and `args`.
struct Setup {
    daemon: Daemon,
    trail: PathBuf,
    policy: PathBuf,
}

fn setup(name: &str, policy: &str, trail: Option<PathBuf>, args: &[&OsStr]) -> Setup {
    let policy_path = world().policy_dir(name).join("policy.toml");
    write_atomic(&policy_path, policy.as_bytes(), 0o644);
    let trail = trail.unwrap_or_else(|| trail_dir(name).join("audit.jsonl"));
    let mut all: Vec<&OsStr> = vec![OsStr::new("--audit-file"), trail.as_os_str()];
    all.extend_from_slice(args);
    let daemon = Daemon::start_with_args(world(), name, &policy_path, &all);
    Setup {
        daemon,
        trail,
        policy: policy_path,
    }
}

/// A fresh root-only directory for a trail.
fn trail_dir(name: &str) -> PathBuf {
    let dir = world().scratch_dir(name).join("log");
    make_dir(&dir, 0o700);
    dir
}

/// `script` as `user` against the setup's daemon.
fn case(s: &Setup, user: &str, script: impl AsRef<str>) -> Case {
    Case::new(user, script).socket(s.daemon.socket.as_os_str())
}

/// The trail's records, each line parsed.
fn records(path: &Path) -> Vec<Map<String, Value>> {
    let text = fs::read_to_string(path).expect("read the trail");
    text.lines()
        .map(|line| match serde_json::from_str(line) {
            Ok(Value::Object(map)) => map,
            other => panic!("not a record: {line:?} ({other:?})"),
        })
        .collect()
}

/// Records mentioning `m` in some field.
fn records_with(path: &Path, m: &str) -> Vec<Map<String, Value>> {
    records(path)
        .into_iter()
        .filter(|r| r.values().any(|v| v.to_string().contains(m)))
        .collect()
}

fn text<'a>(record: &'a Map<String, Value>, field: &str) -> Option<&'a str> {
    match record.get(field)? {
        Value::String(s) => Some(s),
        Value::Array(items) => items.first().and_then(Value::as_str),
        _ => None,
    }
}

fn event<'a>(records: &'a [Map<String, Value>], kind: &str) -> &'a Map<String, Value> {
    records
        .iter()
        .find(|r| text(r, "JITSUDO_EVENT") == Some(kind))
        .unwrap_or_else(|| panic!("no {kind} record in {records:#?}"))
}

/// `jitsudoctl args` as root.
fn ctl(args: &[&OsStr]) -> Output {
    Command::new(world().jitsudo_bin().join("jitsudoctl"))
        .args(args)
        .output()
        .expect("run jitsudoctl")
}

fn verify(files: &[&Path]) -> Output {
    let mut args = vec![OsStr::new("audit"), OsStr::new("verify")];
    args.extend(files.iter().map(|f| f.as_os_str()));
    ctl(&args)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn every_exec_event_reaches_the_trail_journald_and_syslog() {
    ensure_journald();
    ensure_rsyslog();
    let auth_log = LogTail::new(Path::new(AUTH_LOG));
    let s = setup("trail-events", POLICY, None, &[]);
    let m = marker("trail");
    let Some(_) = case(
        &s,
        ADMIN,
        format!("$SUDO FOO_{m}=1 /bin/sh -c 'exit 3' {m}"),
    )
    .status(3)
    .assert_jitsudo() else {
        return;
    };
    case(&s, NOBODY, format!("$SUDO -n /usr/bin/id {m}"))
        .status(1)
        .assert_jitsudo();

    let mode = fs::metadata(&s.trail).expect("trail").permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the trail must be root's only");
    let found = records_with(&s.trail, &m);
    let accept = event(&found, "exec.accept");
    for (field, value) in [
        ("JITSUDO_USER", ADMIN),
        ("JITSUDO_RUNAS", "root"),
        ("JITSUDO_RULE", "admin-all"),
        ("MESSAGE_ID", EXEC_ACCEPT_ID),
    ] {
        assert_eq!(text(accept, field), Some(value), "{field}: {accept:#?}");
    }
    assert_eq!(
        text(accept, "JITSUDO_ENV_ADDED"),
        Some(format!("FOO_{m}").as_str())
    );
    for field in [
        "host",
        "boot_id",
        "time",
        "mono_us",
        "prev",
        "hash",
        "JITSUDO_UID",
        "JITSUDO_PID",
        "JITSUDO_CWD",
        "JITSUDO_POLICY_HASH",
    ] {
        assert!(accept.contains_key(field), "no {field}: {accept:#?}");
    }
    let exit = event(&found, "exec.exit");
    assert_eq!(text(exit, "JITSUDO_EXIT"), Some("3"));
    assert!(text(exit, "JITSUDO_RUN_TIME").is_some(), "{exit:#?}");
    let reject = event(&found, "exec.reject");
    assert_eq!(text(reject, "JITSUDO_USER"), Some(NOBODY));

    // The same events in the journal and auth.log.
    let journal = wait_for_journal("JITSUDO_USER", ADMIN, &m, LOG_TIMEOUT);
    assert!(
        journal
            .iter()
            .any(|e| field_text(e, "MESSAGE_ID").as_deref() == Some(EXEC_ACCEPT_ID)),
        "no exec.accept in the journal for {m}"
    );
    let lines = auth_lines(&auth_log, &[&m, "jt_nobody"]);
    assert!(!lines.is_empty(), "no auth.log line for the refusal ({m})");

    let out = verify(&[&s.trail]);
    assert!(out.status.success(), "verify: {}", stdout(&out));
    assert!(
        stdout(&out).contains("audit trail verified"),
        "{}",
        stdout(&out)
    );

    let status = status(&s);
    assert!(status.status.success(), "{}", stdout(&status));
    for line in ["  journald ok\n", "  syslog ok\n", "  file ok (required)\n"] {
        assert!(stdout(&status).contains(line), "{}", stdout(&status));
    }
}

/// A hostile user names a directory and arguments after log lines; no sink
/// may show a line or field they made.
#[test]
fn crafted_argv_and_cwd_cannot_forge_or_hide_a_line() {
    ensure_journald();
    ensure_rsyslog();
    let auth_log = LogTail::new(Path::new(AUTH_LOG));
    let s = setup("trail-inject", POLICY, None, &[]);
    let m = marker("inject");
    let forged = format!("{m} jt_admin : TTY=pts/9 ; PWD=/ ; USER=root ; COMMAND=/forged");
    let dir = world().scratch_dir("inject").join(format!("d\n{forged}"));
    make_dir(&dir, 0o777);
    let script = format!(
        "$SUDO /bin/echo \"$(printf 'a\\n{{\"prev\":\"x\"}}\\r\\033[2K\\342\\200\\256')\" {m}"
    );
    let Some(_) = case(&s, ADMIN, script).cwd(&dir).assert_jitsudo() else {
        return;
    };
    // exec.exit is written by the worker after the client has its status.
    let _ = poll_until(LOG_TIMEOUT, || {
        (records_with(&s.trail, &m).len() >= 2).then_some(())
    });
    let raw = fs::read(&s.trail).expect("trail");
    let body = &raw[..raw.len() - 1];
    assert!(
        !body.iter().any(|&b| b.is_ascii_control() && b != b'\n'),
        "a control character reached the trail"
    );
    assert!(!String::from_utf8_lossy(&raw).contains('\u{202e}'));
    let found = records_with(&s.trail, &m);
    assert_eq!(found.len(), 2, "accept and exit, one line each: {found:#?}");
    for r in &found {
        assert!(text(r, "JITSUDO_CWD").is_some_and(|c| c.contains("d\\x0a")));
        assert!(text(r, "JITSUDO_COMMAND").is_some_and(|c| c.contains("a\\x0a{\"prev\"")));
    }
    assert!(verify(&[&s.trail]).status.success());

    let journal = wait_for_journal("JITSUDO_USER", ADMIN, &m, LOG_TIMEOUT);
    for entry in &journal {
        let message = field_text(entry, "MESSAGE").unwrap_or_default();
        assert!(
            !message.chars().any(char::is_control),
            "MESSAGE with a control character: {message:?}"
        );
    }
    let lines = auth_lines(&auth_log, &[&m]);
    assert!(!lines.is_empty(), "no auth.log line for {m}");
    for line in &lines {
        assert!(
            line.contains("jitsudo[") && line.contains("PWD=") && line.contains("\\x0a"),
            "a forged or unescaped auth.log line: {line:?}"
        );
    }
}

/// The lines auth.log gained since `tail` was made that contain every one of
/// `needles`, waiting (bounded) for at least one. Only the new part of the
/// (shared, large) file is read.
fn auth_lines(tail: &LogTail, needles: &[&str]) -> Vec<String> {
    poll_until(LOG_TIMEOUT, || {
        let lines: Vec<String> = String::from_utf8_lossy(&tail.read())
            .lines()
            .filter(|l| needles.iter().all(|n| l.contains(n)))
            .map(str::to_owned)
            .collect();
        (!lines.is_empty()).then_some(lines)
    })
    .unwrap_or_default()
}

/// Tampering with a copy of a real trail: `verify` fails and names the
/// first bad record.
#[test]
fn verify_names_the_first_tampered_record() {
    let s = setup("trail-tamper", POLICY, None, &[]);
    let m = marker("tamper");
    for n in 0..2 {
        let Some(_) = case(&s, ADMIN, format!("$SUDO /usr/bin/true {m}-{n}")).assert_jitsudo()
        else {
            return;
        };
    }
    let good: Vec<String> = fs::read_to_string(&s.trail)
        .expect("trail")
        .lines()
        .map(str::to_owned)
        .collect();
    // daemon.start, then accept and exit of two commands.
    assert_eq!(good.len(), 5, "{good:#?}");
    let dir = trail_dir("tamper-copy");
    let copy = dir.join("audit.jsonl");
    fs::copy(jitsudo_audit_head(&s.trail), jitsudo_audit_head(&copy)).expect("copy head");
    let write = |lines: &[String]| {
        let joined: String = lines.iter().map(|l| format!("{l}\n")).collect();
        fs::write(&copy, joined).expect("write copy");
    };
    let mut edited = good.clone();
    edited[2] = edited[2].replace(&format!("{m}-0"), &format!("{m}-X"));
    let mut deleted = good.clone();
    deleted.remove(2);
    let mut swapped = good.clone();
    swapped.swap(2, 3);
    for (what, lines, line) in [
        ("edit", edited, 3),
        ("delete", deleted, 3),
        ("reorder", swapped, 3),
        ("truncate", good[..4].to_vec(), 5),
    ] {
        write(&lines);
        let out = verify(&[&copy]);
        let expected = format!("BROKEN at {}:{line}:", copy.display());
        assert!(
            !out.status.success() && stdout(&out).contains(&expected),
            "{what}: expected {expected:?}, got {}",
            stdout(&out)
        );
    }
    write(&good);
    assert!(verify(&[&copy]).status.success());
}

fn jitsudo_audit_head(trail: &Path) -> PathBuf {
    let mut name = trail.as_os_str().to_owned();
    name.push(".head");
    PathBuf::from(name)
}

/// logrotate moves the trail away; the daemon's next record starts a new
/// file that continues the chain.
#[test]
fn the_chain_continues_across_rotation() {
    let s = setup("trail-rotate", POLICY, None, &[]);
    let m = marker("rotate");
    let Some(_) = case(&s, ADMIN, format!("$SUDO /usr/bin/true {m}")).assert_jitsudo() else {
        return;
    };
    let old = s.trail.with_extension("jsonl.1");
    fs::rename(&s.trail, &old).expect("rotate");
    case(&s, ADMIN, format!("$SUDO /usr/bin/true {m}")).assert_jitsudo();
    let both = verify(&[&old, &s.trail]);
    assert!(both.status.success(), "{}", stdout(&both));
    // daemon.start, accept, exit; accept, exit.
    assert!(stdout(&both).contains("5 records"), "{}", stdout(&both));
    let new = verify(&[&s.trail]);
    assert!(
        stdout(&new).contains("continuing a chain"),
        "{}",
        stdout(&new)
    );
    // The old file alone lost its last record: the link to the new one breaks.
    let mut lines: Vec<String> = fs::read_to_string(&old)
        .expect("old")
        .lines()
        .map(str::to_owned)
        .collect();
    lines.pop();
    fs::write(&old, format!("{}\n", lines.join("\n"))).expect("cut old");
    let out = verify(&[&old, &s.trail]);
    let expected = format!("BROKEN at {}:1:", s.trail.display());
    assert!(stdout(&out).contains(&expected), "{}", stdout(&out));
}

/// A tmpfs of its own, unmounted (lazily) when dropped.
struct TinyFs(PathBuf);

impl TinyFs {
    fn mount(name: &str) -> TinyFs {
        let dir = world().scratch_dir(name).join("tiny");
        make_dir(&dir, 0o700);
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs"])
            .arg(&dir)
            .status()
            .expect("mount");
        assert!(status.success(), "mount a tmpfs on {}", dir.display());
        TinyFs(dir)
    }

    /// Fills it up: nothing more can be written.
    fn fill(&self) {
        let chunk = vec![b'x'; 4096];
        let mut file = fs::File::create(self.0.join("filler")).expect("filler");
        while std::io::Write::write_all(&mut file, &chunk).is_ok() {}
    }
}

impl Drop for TinyFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// The required file sink on a full disk: the command does not run (deny),
/// or runs and the failure is logged (allow); the trail stays whole.
#[test]
fn a_full_disk_refuses_the_command_unless_the_rule_allows_it() {
    ensure_journald();
    let tiny = TinyFs::mount("trail-full");
    let trail = tiny.0.join("audit.jsonl");
    let s = setup("trail-full", POLICY, Some(trail.clone()), &[]);
    let m = marker("full");
    let Some(_) = case(&s, ADMIN, format!("$SUDO /usr/bin/true {m}-before")).assert_jitsudo()
    else {
        return;
    };
    tiny.fill();
    // Records longer than a page (the directory shows twice), so they
    // cannot fit in what is left of the trail's last page: their write
    // fails part-way.
    let scratch = world().scratch_dir("trail-full-out");
    let deep = page_long_dir(&scratch);
    let refused = scratch.join("refused");
    case(
        &s,
        ADMIN,
        format!("$SUDO /usr/bin/touch {} {m}", refused.display()),
    )
    .cwd(&deep)
    .status(1)
    .stderr_has("unable to log the command to the audit trail")
    .stderr_has("jitsudoctl status")
    .assert_jitsudo();
    assert!(
        !refused.exists(),
        "the command ran without its audit record"
    );
    let journal = wait_for_journal("JITSUDO_EVENT", "audit.fail", &m, LOG_TIMEOUT);
    assert!(
        journal.iter().any(|e| field_text(e, "JITSUDO_REASON")
            .is_some_and(|r| r.contains("No space left") && r.contains("command refused"))),
        "no audit.fail in the journal for {m}: {journal:#?}"
    );
    let rejected = wait_for_journal("JITSUDO_EVENT", "exec.reject", &m, LOG_TIMEOUT);
    assert!(!rejected.is_empty(), "no exec.reject for {m}");

    let ran = scratch.join("ran");
    case(
        &s,
        LIMITED,
        format!("$SUDO /usr/bin/touch {} {m}", ran.display()),
    )
    .cwd(&deep)
    .assert_jitsudo();
    assert!(
        ran.exists(),
        "audit_failure = \"allow\" must run the command"
    );
    let journal = wait_for_journal("JITSUDO_USER", LIMITED, &m, LOG_TIMEOUT);
    assert!(
        journal
            .iter()
            .any(|e| field_text(e, "JITSUDO_EVENT").as_deref() == Some("audit.fail")),
        "the failure under allow is not reported: {journal:#?}"
    );
    // Nothing partial was left behind.
    let out = verify(&[&trail]);
    assert!(out.status.success(), "{}", stdout(&out));
    let status = status(&s);
    assert!(
        !status.status.success() && stdout(&status).contains("  file DOWN: "),
        "{}",
        stdout(&status)
    );
}

/// A directory under `base` whose path is longer than a page: a command
/// run there has records that cannot fit in what is left of a full disk's
/// last page, so their write fails part-way.
fn page_long_dir(base: &Path) -> PathBuf {
    let deep = (0..14).fold(base.to_path_buf(), |dir, _| dir.join("d".repeat(250)));
    fs::create_dir_all(&deep).expect("deep directory");
    deep
}

/// A one-use grant, the required trail on a full disk: the refused command
/// uses none of the grant, and runs once the trail works again.
/// Before: the refusal used the grant up ("1 of 1 used").
#[test]
fn a_command_refused_for_its_audit_record_uses_none_of_a_grant() {
    use jitsudo_tests::grants::{as_user, ctl as ctl_as, json};
    let policy = r#"
[defaults]
audit_sinks = ["file"]

[[rule]]
id = "touch-once"
who = ["jt_req"]
commands = ["/usr/bin/touch"]
auth = "none"
[rule.grant]
max = "5m"
max_uses = 1
approval = "auto"
"#;
    let tiny = TinyFs::mount("trail-full-grant");
    let s = setup(
        "trail-full-grant",
        policy,
        Some(tiny.0.join("audit.jsonl")),
        &[],
    );
    let d = &s.daemon;
    let asked = ctl_as(
        REQUESTER,
        d,
        &[
            "request",
            "--rule",
            "touch-once",
            "--reason",
            "r",
            "--format",
            "json",
        ],
    );
    let id = json(&asked)["id"].as_str().expect("id").to_owned();
    let uses = || {
        let doc = json(&ctl_as(REQUESTER, d, &["grants", "--format", "json"]));
        doc.as_array()
            .and_then(|a| a.iter().find(|r| r["id"] == id.as_str()))
            .map(|r| r["uses"].clone())
            .unwrap_or_else(|| panic!("no live grant {id}: {doc}"))
    };
    let scratch = jitsudo_tests::grants::scratch("trail-full-grant-out");
    let deep = page_long_dir(&scratch);
    let touched = scratch.join("touched");
    let touch = || {
        as_user(
            REQUESTER,
            d,
            "jitsudo",
            &["/usr/bin/touch", touched.to_str().expect("utf-8")],
        )
        .current_dir(&deep)
        .output()
        .expect("run jitsudo")
    };
    tiny.fill();
    let out = touch();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("unable to log the command to the audit trail"),
        "{err}"
    );
    assert!(
        !touched.exists(),
        "the command ran without its audit record"
    );
    assert_eq!(uses(), 0, "the refused command used the grant");
    fs::remove_file(tiny.0.join("filler")).expect("free the disk");
    let out = touch();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(touched.exists(), "the grant's one use did not run");
    assert_eq!(uses(), 1);
}

/// journald required but down (the daemon's journal socket has no
/// listener; the system journald runs on for everyone else).
#[test]
fn journald_required_but_down_refuses_the_command() {
    let policy = journald_required();
    let dead = world().scratch_dir("trail-nojournal").join("journal.sock");
    let s = setup(
        "trail-nojournal",
        &policy,
        None,
        &[OsStr::new("--journal-socket"), dead.as_os_str()],
    );
    let m = marker("nojournal");
    let out_dir = world().scratch_dir("trail-nojournal-out");
    let refused = out_dir.join("refused");
    let Some(_) = case(
        &s,
        ADMIN,
        format!("$SUDO /usr/bin/touch {} {m}", refused.display()),
    )
    .status(1)
    .stderr_has("unable to log the command to the audit trail (audit sink journald")
    .assert_jitsudo() else {
        return;
    };
    assert!(
        !refused.exists(),
        "the command ran without its journald record"
    );
    // sudoedit is refused the same way: the editor never runs.
    let edited = out_dir.join("edited");
    case(
        &s,
        ADMIN,
        format!(
            "SUDO_EDITOR='touch {}' $SUDO -e {}/motd {m}",
            edited.display(),
            out_dir.display()
        ),
    )
    .status(1)
    .stderr_has("unable to log the command to the audit trail")
    .assert_jitsudo();
    assert!(
        !edited.exists(),
        "the editor ran without its journald record"
    );
    let ran = out_dir.join("ran");
    case(
        &s,
        LIMITED,
        format!("$SUDO /usr/bin/touch {} {m}", ran.display()),
    )
    .assert_jitsudo();
    assert!(
        ran.exists(),
        "audit_failure = \"allow\" must run the command"
    );
    // The failures are in the sink that works.
    let found = records_with(&s.trail, &m);
    let kinds: Vec<(&str, &str)> = found
        .iter()
        .filter_map(|r| Some((text(r, "JITSUDO_USER")?, text(r, "JITSUDO_EVENT")?)))
        .collect();
    for want in [
        (ADMIN, "audit.fail"),
        (ADMIN, "exec.reject"),
        (LIMITED, "audit.fail"),
        (LIMITED, "exec.exit"),
    ] {
        assert!(kinds.contains(&want), "no {want:?} in {kinds:?}");
    }
    assert!(!kinds.contains(&(ADMIN, "exec.exit")), "{kinds:?}");

    let status = status(&s);
    assert!(
        !status.status.success(),
        "status must fail: {}",
        stdout(&status)
    );
    assert!(
        stdout(&status).contains("  journald DOWN: ") && stdout(&status).contains("(required)"),
        "{}",
        stdout(&status)
    );
}

/// `audit_log = ["journald"]`: a daemon that writes no trail at all (no
/// file, no checkpoints), while its events reach the journal; `status`
/// lists the journal only.
#[test]
fn a_journald_only_daemon_writes_no_trail() {
    ensure_journald();
    let policy = "[defaults]\naudit_log = [\"journald\"]\naudit_sinks = [\"journald\"]\n\n\
                  [[rule]]\nwho = [\"jt_admin\"]\ncommands = [\"ALL\"]\nauth = \"none\"\n";
    let s = setup("trail-journald-only", policy, None, &[]);
    let m = marker("journald-only");
    let Some(_) = case(&s, ADMIN, format!("$SUDO /usr/bin/true {m}")).assert_jitsudo() else {
        return;
    };
    let command = format!("/usr/bin/true {m}");
    let journal = wait_for_journal("JITSUDO_COMMAND", &command, "exec.accept", LOG_TIMEOUT);
    assert!(!journal.is_empty(), "no exec.accept for {m} in the journal");
    let listed = stdout(&status(&s));
    assert!(
        listed.contains("journald") && !listed.contains("  file") && !listed.contains("  syslog"),
        "{listed}"
    );
    s.daemon.terminate(Duration::from_secs(10));
    assert!(
        !s.trail.exists(),
        "a daemon without the file sink wrote {}",
        s.trail.display()
    );
}

/// `jitsudoctl status` as root against the setup's daemon.
fn status(s: &Setup) -> Output {
    ctl(&[
        OsStr::new("status"),
        OsStr::new("--socket"),
        s.daemon.socket.as_os_str(),
    ])
}

/// `jitsudoctl audit` filters; `audit exposure` counts elevations and
/// standing access per user.
#[test]
fn queries_and_exposure_read_the_trail() {
    let s = setup("trail-query", POLICY, None, &[]);
    let m = marker("query");
    for user in [ADMIN, ADMIN, LIMITED] {
        let Some(_) = case(&s, user, format!("$SUDO /usr/bin/true {m}")).assert_jitsudo() else {
            return;
        };
    }
    let query = |extra: &[&str]| {
        let mut args = vec!["audit", "--format", "json", "--file"];
        args.push(s.trail.to_str().expect("utf-8 path"));
        args.extend_from_slice(extra);
        let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        let out = ctl(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        records_of(&stdout(&out))
    };
    let admin = query(&["--user", ADMIN]);
    assert_eq!(admin.len(), 4, "{admin:#?}");
    assert!(admin.iter().all(|r| text(r, "JITSUDO_USER") == Some(ADMIN)));
    let open = query(&["--rule", "open"]);
    assert_eq!(open.len(), 2, "{open:#?}");
    assert_eq!(query(&["--since", "1h"]).len(), records(&s.trail).len());
    assert!(query(&["--until", "1h"]).is_empty());

    let out = ctl(&[
        OsStr::new("audit"),
        OsStr::new("exposure"),
        OsStr::new("--format"),
        OsStr::new("json"),
        OsStr::new("--file"),
        s.trail.as_os_str(),
        OsStr::new("--policy"),
        s.policy.as_os_str(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_str(&stdout(&out)).expect("json");
    let user = |name: &str| {
        report["users"]
            .as_array()
            .and_then(|users| users.iter().find(|u| u["user"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("no {name} in {report:#}"))
    };
    assert_eq!(user(ADMIN)["elevations"], 2);
    assert_eq!(user(LIMITED)["elevations"], 1);
    assert!(
        user(ADMIN)["standing_minutes"].as_f64() > Some(40_000.0),
        "a standing rule is 30 days of standing access: {report:#}"
    );
}

/// A grant asked for, approved (on a pty, with the approver's password),
/// used and ended: the exposure report counts its minutes, the approval and
/// the wait.
#[test]
fn exposure_counts_grants_approvals_and_the_wait() {
    let policy = r#"
[[rule]]
id = "db"
who = ["jt_req"]
commands = ["/usr/bin/true"]
auth = "none"
[rule.grant]
max = "1h"
approvers = ["jt_appr1"]
"#;
    let s = setup("trail-exposure", policy, None, &[]);
    let id = request_grant(&s, "db", None);
    approve(&s, &id);
    succeeds(as_user(&s, REQUESTER, "jitsudo", &["/usr/bin/true"]));
    succeeds(as_user(&s, REQUESTER, "jitsudoctl", &["done", &id]));

    let out = ctl(&[
        OsStr::new("audit"),
        OsStr::new("exposure"),
        OsStr::new("--format"),
        OsStr::new("json"),
        OsStr::new("--file"),
        s.trail.as_os_str(),
        OsStr::new("--policy"),
        s.policy.as_os_str(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_str(&stdout(&out)).expect("json");
    let user = report["users"]
        .as_array()
        .and_then(|users| users.iter().find(|u| u["user"] == REQUESTER))
        .unwrap_or_else(|| panic!("no {REQUESTER} in {report:#}"));
    assert_eq!(user["elevations"], 1, "{report:#}");
    assert!(user["grant_minutes"].as_f64() > Some(0.0), "{report:#}");
    assert_eq!(
        user["standing_minutes"], 0.0,
        "a grant-only user: {report:#}"
    );
    assert_eq!(report["approvals"][APPROVER1], 1, "{report:#}");
    assert!(report["median_approval_wait_secs"].is_u64(), "{report:#}");
}

/// `program args` as `user` (with their groups) against the setup's daemon.
fn as_user(s: &Setup, user: &str, program: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid", user, "--regid", user, "--init-groups", "--"])
        .arg(world().jitsudo_bin().join(program))
        .args(args)
        .env("JITSUDO_SOCKET", &s.daemon.socket)
        .current_dir("/");
    cmd
}

/// Runs `cmd`, which must succeed; its stdout.
fn succeeds(mut cmd: Command) -> String {
    let out = cmd.output().expect("run");
    assert!(out.status.success(), "{cmd:?}: {out:?}");
    stdout(&out)
}

/// jt_req asks for a grant under `rule` (with `ticket` if some); its id.
fn request_grant(s: &Setup, rule: &str, ticket: Option<&str>) -> String {
    let mut args = vec!["--rule", rule];
    if let Some(ticket) = ticket {
        args.extend(["--ticket", ticket]);
    }
    request(s, &args)
}

/// jt_req runs `jitsudoctl request` with `args` and a reason; the id.
fn request(s: &Setup, args: &[&str]) -> String {
    let mut all = vec!["request", "--reason", "r", "--format", "json"];
    all.extend_from_slice(args);
    let doc: Value =
        serde_json::from_str(&succeeds(as_user(s, REQUESTER, "jitsudoctl", &all))).expect("json");
    doc["id"].as_str().expect("id").to_owned()
}

/// jt_appr1 approves `id`, typing their password on a pty.
fn approve(s: &Setup, id: &str) {
    review(s, "approve", id);
}

/// jt_appr1 approves or denies (`verb`) `id`, typing their password on a
/// pty.
fn review(s: &Setup, verb: &str, id: &str) {
    let review = as_user(s, APPROVER1, "jitsudoctl", &[verb, id, "--reason", "ok"]);
    let spec = PtySpec::default().answer("password for", &password(APPROVER1));
    let reviewed = jitsudo_tests::pty::run(review, APPROVER1, &spec, Duration::from_secs(30));
    assert_eq!(reviewed.status, 0, "{verb}: {reviewed:?}");
}

/// Every event kind (each of `EventKind::ALL`: a kind without a scenario
/// here fails the test) produced by a real scenario and read back from the
/// trail, the real journal (entries journald saw come from root) and
/// auth.log. Short grants, deadlines and warnings make the timed ones.
/// `audit.fail` is the one that cannot reach all three: it reports a sink
/// that failed (here a trail on a full disk), so it is read from the other
/// two.
#[test]
fn every_event_kind_reaches_all_three_sinks() {
    ensure_journald();
    ensure_rsyslog();
    let m = marker("kinds");
    // A policy of its own (the comment makes its hash unique): daemon
    // events are found by it.
    let policy = format!(
        r#"# {m}
[defaults]
grant_warn = "1s"
grant_grace = "1s"
audit_checkpoint_records = 1
record_max_bytes = 4096
record_retention = "1d"

[[rule]]
id = "admin-all"
who = ["jt_admin"]
commands = ["ALL"]
auth = "none"

[[rule]]
id = "recorded"
who = ["jt_limited"]
commands = ["ALL"]
auth = "none"
record = true

[[rule]]
id = "pw"
who = ["jt_pw"]
commands = ["/usr/bin/id"]

[[rule]]
id = "db"
who = ["jt_req"]
commands = ["/usr/bin/true"]
auth = "none"
[rule.grant]
max = "1h"
approvers = ["jt_appr1"]
ticket = "jt-*"

[[rule]]
id = "hurry"
who = ["jt_req"]
commands = ["/usr/bin/id"]
auth = "none"
[rule.grant]
max = "1h"
approvers = ["jt_appr1"]
ticket = "jt-*"
deadline = "2s"

[[rule]]
id = "quick"
who = ["jt_req"]
commands = ["/usr/bin/whoami"]
auth = "none"
[rule.grant]
max = "20s"
default = "2s"
approval = "auto"
ticket = "jt-*"

[[rule]]
id = "glass"
who = ["jt_req"]
commands = ["/usr/bin/id"]
auth = "none"
[rule.grant]
max = "1h"
approvers = ["jt_appr1"]
ticket = "jt-*"
break_glass = {{ max = "1m", follow_up = "1h" }}

[[rule]]
id = "glass-due"
who = ["jt_req"]
commands = ["/usr/bin/id"]
auth = "none"
[rule.grant]
max = "1h"
approvers = ["jt_appr1"]
ticket = "jt-*"
break_glass = {{ max = "1m", follow_up = "2s" }}
"#
    );
    let auth_log = LogTail::new(Path::new(AUTH_LOG));
    // A recording older than `record_retention`, for the sweep at start.
    let sessions = trail_dir("trail-kinds-sessions").join("sessions");
    make_dir(&sessions, 0o700);
    // Its id unique to this run, so the journal holds no other.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos();
    let old_id = format!("{:016x}", nanos & u128::from(u64::MAX));
    let old = sessions.join(format!("{old_id}.jsonl"));
    fs::write(&old, b"{}\n").expect("old recording");
    let three_days = Duration::from_secs(3 * 86_400);
    fs::File::options()
        .write(true)
        .open(&old)
        .and_then(|f| f.set_modified(std::time::SystemTime::now() - three_days))
        .expect("age the recording");
    let args = [OsStr::new("--session-dir"), sessions.as_os_str()];
    let s = setup("trail-kinds", &policy, None, &args);
    let Some(_) = case(&s, ADMIN, format!("$SUDO /usr/bin/true {m}")).assert_jitsudo() else {
        return;
    };
    // Past the recording's 4 KiB cap.
    case(
        &s,
        LIMITED,
        format!("$SUDO /bin/sh -c 'head -c 20000 /dev/zero' {m}"),
    )
    .assert_jitsudo();
    case(&s, NOBODY, format!("$SUDO -n /usr/bin/id {m}"))
        .status(1)
        .assert_jitsudo();
    case(&s, PW, format!("echo wrong | $SUDO -S /usr/bin/id {m}"))
        .status(1)
        .assert_jitsudo();
    let reload = ctl(&[
        OsStr::new("policy"),
        OsStr::new("reload"),
        OsStr::new("--socket"),
        s.daemon.socket.as_os_str(),
    ]);
    assert!(reload.status.success(), "{reload:?}");
    // Grant ids are small numbers: each request's ticket tells it apart.
    let ticket = |tag: &str| format!("{m}-{tag}");
    let [cancelled, used, denied, revoked, expired, timed, glass, overdue] =
        ["c", "u", "d", "r", "e", "t", "g", "o"].map(ticket);
    let id = request_grant(&s, "db", Some(&cancelled));
    succeeds(as_user(&s, REQUESTER, "jitsudoctl", &["cancel", &id]));
    let id = request_grant(&s, "db", Some(&used));
    approve(&s, &id);
    succeeds(as_user(&s, REQUESTER, "jitsudo", &["/usr/bin/true"]));
    succeeds(as_user(&s, REQUESTER, "jitsudoctl", &["done", &id]));
    let id = request_grant(&s, "db", Some(&denied));
    review(&s, "deny", &id);
    let id = request_grant(&s, "db", Some(&revoked));
    approve(&s, &id);
    succeeds(as_user(&s, APPROVER1, "jitsudoctl", &["revoke", &id]));
    request_grant(&s, "hurry", Some(&expired));
    let id = request(&s, &["--rule", "quick", "--ticket", &timed, "--for", "2s"]);
    succeeds(as_user(
        &s,
        REQUESTER,
        "jitsudoctl",
        &["extend", &id, "--by", "1s"],
    ));
    let id = request(
        &s,
        &["--rule", "glass", "--ticket", &glass, "--break-glass"],
    );
    succeeds(as_user(&s, APPROVER1, "jitsudoctl", &["revoke", &id]));
    // Cleared, so the glass may be broken again; this one is not cleared
    // within its 2 s follow-up.
    succeeds(as_user(
        &s,
        REQUESTER,
        "jitsudoctl",
        &["justify", &id, "--reason", "r"],
    ));
    request(
        &s,
        &["--rule", "glass-due", "--ticket", &overdue, "--break-glass"],
    );
    // Timers and teardowns log on threads of their own.
    for (kind, value) in [
        ("request.expire", &expired),
        ("grant.expire", &timed),
        ("grant.revoke", &revoked),
        ("grant.revoke", &glass),
        ("grant.overdue", &overdue),
    ] {
        let logged = poll_until(LOG_TIMEOUT, || {
            records(&s.trail)
                .iter()
                .any(|r| {
                    text(r, "JITSUDO_EVENT") == Some(kind)
                        && text(r, "JITSUDO_TICKET") == Some(value.as_str())
                })
                .then_some(())
        });
        assert!(logged.is_some(), "{kind} of {value} was not logged");
    }
    s.daemon.terminate(Duration::from_secs(10));
    let trail = records(&s.trail);
    let hash = trail
        .iter()
        .find_map(|r| text(r, "JITSUDO_POLICY_HASH").map(str::to_owned))
        .expect("the policy hash");
    let head = trail
        .iter()
        .rev()
        .find_map(|r| text(r, "JITSUDO_TRAIL_HEAD").map(str::to_owned))
        .expect("a checkpoint at stop");
    let failed = audit_fail_on_a_full_disk(&m);
    let recording = trail
        .iter()
        .find(|r| text(r, "JITSUDO_EVENT") == Some("record.truncated"))
        .and_then(|r| text(r, "JITSUDO_RECORDING").map(str::to_owned))
        .expect("a record.truncated in the trail");

    // Each kind, by a field that only this test's event of that kind has.
    let (true_m, id_m) = (format!("/usr/bin/true {m}"), format!("/usr/bin/id {m}"));
    let (policy, command, ticket) = ("JITSUDO_POLICY_HASH", "JITSUDO_COMMAND", "JITSUDO_TICKET");
    let trail_a = Some(s.trail.as_path());
    let mut covered = std::collections::HashSet::new();
    for (kind, field, value, needle, trail) in [
        ("daemon.start", policy, &hash, &hash, trail_a),
        ("exec.accept", command, &true_m, &m, trail_a),
        ("exec.exit", command, &true_m, &m, trail_a),
        ("exec.reject", command, &id_m, &m, trail_a),
        ("auth.fail", command, &id_m, &m, trail_a),
        ("policy.reload", policy, &hash, &hash, trail_a),
        ("request.create", ticket, &cancelled, &cancelled, trail_a),
        ("request.cancel", ticket, &cancelled, &cancelled, trail_a),
        ("request.review", ticket, &used, &used, trail_a),
        ("request.review", ticket, &denied, &denied, trail_a),
        ("request.expire", ticket, &expired, &expired, trail_a),
        ("grant.activate", ticket, &used, &used, trail_a),
        ("grant.activate", ticket, &glass, &glass, trail_a),
        ("grant.use", ticket, &used, &used, trail_a),
        ("grant.done", ticket, &used, &used, trail_a),
        ("grant.revoke", ticket, &revoked, &revoked, trail_a),
        ("grant.extend", ticket, &timed, &timed, trail_a),
        ("grant.warn", ticket, &timed, &timed, trail_a),
        ("grant.expire", ticket, &timed, &timed, trail_a),
        ("grant.overdue", ticket, &overdue, &overdue, trail_a),
        ("audit.fail", command, &failed, &m, None),
        (
            "record.truncated",
            "JITSUDO_RECORDING",
            &recording,
            &m,
            trail_a,
        ),
        (
            "record.remove",
            "JITSUDO_RECORDING",
            &old_id,
            &old_id,
            trail_a,
        ),
        ("daemon.stop", policy, &hash, &hash, trail_a),
        (
            "audit.checkpoint",
            "JITSUDO_TRAIL_HEAD",
            &head,
            &head,
            trail_a,
        ),
    ] {
        if let Some(trail) = trail {
            let in_trail = records(trail).iter().any(|r| {
                text(r, "JITSUDO_EVENT") == Some(kind) && text(r, field) == Some(value.as_str())
            });
            assert!(in_trail, "no {kind} with {field}={value} in the trail");
        }
        let journal = wait_for_journal(field, value, kind, LOG_TIMEOUT);
        let entry = journal
            .iter()
            .find(|e| {
                field_text(e, "JITSUDO_EVENT").as_deref() == Some(kind)
                    && field_text(e, "_UID").as_deref() == Some("0")
            })
            .unwrap_or_else(|| panic!("no {kind} with {field}={value} from root in the journal"));
        let message = field_text(entry, "MESSAGE").unwrap_or_default();
        let prefix = message.split(" ; ").next().unwrap_or_default();
        let lines = auth_lines(&auth_log, &[needle, prefix]);
        assert!(
            !lines.is_empty(),
            "no {kind} ({prefix:?}) with {needle} in auth.log"
        );
        covered.insert(kind);
    }
    let missing: Vec<_> = EventKind::ALL
        .iter()
        .map(|k| k.name())
        .filter(|k| !covered.contains(k))
        .collect();
    assert!(
        missing.is_empty(),
        "event kinds without a scenario: {missing:?}"
    );
    assert!(verify(&[&s.trail]).status.success());
}

/// A command of the rule with `audit_failure = "allow"` against a daemon
/// whose trail is on a full disk: its `audit.fail` goes to journald and
/// syslog. The command it names.
fn audit_fail_on_a_full_disk(m: &str) -> String {
    let tiny = TinyFs::mount("trail-kinds-full");
    let s = setup(
        "trail-kinds-full",
        POLICY,
        Some(tiny.0.join("audit.jsonl")),
        &[],
    );
    tiny.fill();
    // Longer than what is left of the trail's last page (see
    // a_full_disk_refuses_the_command_unless_the_rule_allows_it).
    let deep = (0..14).fold(world().scratch_dir("trail-kinds-deep"), |dir, _| {
        dir.join("d".repeat(250))
    });
    fs::create_dir_all(&deep).expect("deep directory");
    case(&s, LIMITED, format!("$SUDO /usr/bin/true {m}-fail"))
        .cwd(&deep)
        .assert_jitsudo();
    format!("/usr/bin/true {m}-fail")
}

fn records_of(text: &str) -> Vec<Map<String, Value>> {
    text.lines()
        .filter_map(|l| match serde_json::from_str(l) {
            Ok(Value::Object(map)) => Some(map),
            _ => None,
        })
        .collect()
}

/// The packaged catalog builds with `journalctl --update-catalog` and
/// `journalctl -x` explains a real exec.accept with it.
#[test]
fn the_catalog_explains_events_in_journalctl() {
    ensure_journald();
    let catalog = workspace_root().join("packaging/jitsudo.catalog");
    let root = world().scratch_dir("catalog-root");
    let dir = root.join("usr/lib/systemd/catalog");
    fs::create_dir_all(&dir).expect("catalog dir");
    fs::copy(&catalog, dir.join("jitsudo.catalog")).expect("copy catalog");
    let run = |args: &[&OsStr]| {
        let out = Command::new("journalctl")
            .args(args)
            .output()
            .expect("journalctl");
        assert!(out.status.success(), "journalctl {args:?}: {out:?}");
        stdout(&out)
    };
    let root_arg = format!("--root={}", root.display());
    run(&[OsStr::new(&root_arg), OsStr::new("--update-catalog")]);
    let listed = run(&[OsStr::new(&root_arg), OsStr::new("--list-catalog")]);
    assert_eq!(
        listed.lines().filter(|l| l.contains("jitsudo:")).count(),
        EventKind::ALL.len(),
        "{listed}"
    );

    // Installed as the package does it, a real event is explained; the
    // machine's catalog is put back as it was when the test ends.
    let _installed = InstalledCatalog::install(&catalog);
    run(&[OsStr::new("--update-catalog")]);
    let s = setup("trail-catalog", POLICY, None, &[]);
    let m = marker("catalog");
    let Some(_) = case(&s, ADMIN, format!("$SUDO /usr/bin/true {m}")).assert_jitsudo() else {
        return;
    };
    let entries = wait_for_journal("MESSAGE_ID", EXEC_ACCEPT_ID, &m, LOG_TIMEOUT);
    assert!(!entries.is_empty(), "no exec.accept for {m} in the journal");
    let explained = run(&[
        OsStr::new("-x"),
        OsStr::new("--no-pager"),
        OsStr::new(&format!("MESSAGE_ID={EXEC_ACCEPT_ID}")),
        OsStr::new(&format!("JITSUDO_COMMAND=/usr/bin/true {m}")),
    ]);
    assert!(
        explained.contains("Subject: jitsudo: jt_admin runs a command as root"),
        "{explained}"
    );
}

/// The catalog copied where the package installs it (the package's own
/// copy, when installed, is replaced for the test and put back), and the
/// machine's catalog restored when dropped.
struct InstalledCatalog {
    path: PathBuf,
    packaged: Option<Vec<u8>>,
}

impl InstalledCatalog {
    fn install(catalog: &Path) -> InstalledCatalog {
        let path = PathBuf::from("/usr/lib/systemd/catalog/jitsudo.catalog");
        let packaged = fs::read(&path).ok();
        fs::copy(catalog, &path).expect("install catalog");
        InstalledCatalog { path, packaged }
    }
}

impl Drop for InstalledCatalog {
    fn drop(&mut self) {
        let _ = match &self.packaged {
            Some(content) => fs::write(&self.path, content),
            None => fs::remove_file(&self.path),
        };
        let _ = Command::new("journalctl").arg("--update-catalog").status();
    }
}

/// `jitsudoctl audit --journal` finds a real run's events in the real
/// journal with the trail's fields and applies the same filters; an entry a
/// user forges with jitsudo's identifier and `MESSAGE_ID` is not one of
/// them.
#[test]
fn queries_read_the_journal_like_the_trail() {
    ensure_journald();
    let s = setup("journal-query", POLICY, None, &[]);
    let m = marker("jquery");
    let forged = format!("forged {m}");
    let mut child = Command::new("setpriv")
        .args([
            "--reuid",
            LIMITED,
            "--regid",
            LIMITED,
            "--init-groups",
            "--",
        ])
        .args(["logger", "--journald"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("run logger");
    let entry = format!(
        "MESSAGE={forged}\nMESSAGE_ID={EXEC_ACCEPT_ID}\nSYSLOG_IDENTIFIER=jitsudo\n\
         JITSUDO_EVENT=exec.accept\nJITSUDO_USER={ADMIN}\nJITSUDO_RULE=open\n"
    );
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), entry.as_bytes())
        .expect("write the forged entry");
    assert!(child.wait().expect("logger").success());
    for user in [ADMIN, LIMITED] {
        let Some(_) = case(&s, user, format!("$SUDO /usr/bin/true {m}")).assert_jitsudo() else {
            return;
        };
    }
    assert!(
        !wait_for_journal("JITSUDO_USER", ADMIN, &forged, LOG_TIMEOUT).is_empty(),
        "the forged entry did not reach the journal"
    );

    let query = |extra: &[&str]| {
        let mut args = vec!["audit", "--since", "10m"];
        args.extend_from_slice(extra);
        let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        let out = ctl(&args);
        assert!(out.status.success(), "{out:?}");
        stdout(&out)
    };
    let json = |extra: &[&str]| -> Vec<Map<String, Value>> {
        let mut args = vec!["--format", "json"];
        args.extend_from_slice(extra);
        records_of(&query(&args))
            .into_iter()
            .filter(|r| r.values().any(|v| v.to_string().contains(&m)))
            .collect()
    };
    let journal = poll_until(LOG_TIMEOUT, || {
        let found = json(&["--journal", "--user", ADMIN]);
        (found.len() >= 2).then_some(found)
    })
    .unwrap_or_else(|| panic!("no exec events of {m} from --journal"));
    let trail_path = s.trail.to_str().expect("utf-8 path");
    let trail = json(&["--file", trail_path, "--user", ADMIN]);
    assert_eq!(trail.len(), 2, "{trail:#?}");
    assert_eq!(
        journal.len(),
        2,
        "only the real events, not the forged one: {journal:#?}"
    );
    for from_trail in &trail {
        let kind = text(from_trail, "JITSUDO_EVENT").expect("event");
        let from_journal = event(&journal, kind);
        for (field, value) in from_trail {
            if ["time", "mono_us", "prev", "hash"].contains(&field.as_str()) {
                continue;
            }
            assert_eq!(from_journal.get(field), Some(value), "{field} of {kind}");
        }
        assert!(from_journal.contains_key("time") && from_journal.contains_key("mono_us"));
    }

    let open = json(&["--journal", "--rule", "open"]);
    assert!(!open.is_empty(), "no journal record of rule open");
    assert!(
        open.iter()
            .all(|r| text(r, "JITSUDO_USER") == Some(LIMITED)),
        "{open:#?}"
    );
    assert!(json(&["--journal", "--until", "1h"]).is_empty());
    let lines = query(&["--journal", "--user", LIMITED]);
    assert!(
        lines
            .lines()
            .any(|l| l.contains(" exec.accept: ") && l.contains(&m)),
        "{lines}"
    );
    assert!(!lines.contains(&forged), "{lines}");
}

/// Root rewrites the trail after checkpoints were logged, recomputing the
/// chain and the head file: `verify` still passes (the chain alone cannot
/// tell), `verify --journal` names the first checkpoint that no longer
/// matches.
#[test]
fn a_rewritten_trail_fails_the_check_against_its_checkpoints() {
    ensure_journald();
    let policy = POLICY.replace("[defaults]\n", "[defaults]\naudit_checkpoint_records = 1\n");
    let s = setup("trail-checkpoints", &policy, None, &[]);
    let m = marker("checkpoint");
    for n in 0..2 {
        let Some(_) = case(&s, ADMIN, format!("$SUDO /usr/bin/true {m}-{n}")).assert_jitsudo()
        else {
            return;
        };
    }
    // The daemon looks every few seconds: its first checkpoint (at start,
    // or after these commands); then one more command, and the checkpoint
    // at stop.
    poll_until(LOG_TIMEOUT, || {
        records(&s.trail)
            .iter()
            .any(|r| r.contains_key("JITSUDO_TRAIL_HEAD"))
            .then_some(())
    })
    .expect("a checkpoint in the trail");
    let Some(_) = case(&s, ADMIN, format!("$SUDO /usr/bin/true {m}-2")).assert_jitsudo() else {
        return;
    };
    s.daemon.terminate(Duration::from_secs(10));
    let checked = || {
        ctl(&[
            OsStr::new("audit"),
            OsStr::new("verify"),
            OsStr::new("--journal"),
            s.trail.as_os_str(),
        ])
    };
    // Journald may take a moment to show the last checkpoint.
    let last = records(&s.trail)
        .iter()
        .rev()
        .find_map(|r| text(r, "JITSUDO_TRAIL_HEAD").map(str::to_owned))
        .expect("the checkpoint at stop");
    wait_for_journal("JITSUDO_TRAIL_HEAD", &last, &last, LOG_TIMEOUT);
    let out = checked();
    assert!(out.status.success(), "{out:?}");
    assert!(stdout(&out).contains("matches its"), "{}", stdout(&out));

    // The first command's exec.accept says another command; every record
    // after it is re-chained, the head file too.
    let original = fs::read_to_string(&s.trail).expect("trail");
    let edited = original
        .lines()
        .position(|l| l.contains(&format!("{m}-0")))
        .expect("the first command's record")
        + 1;
    // The first checkpoint that counts the edited record.
    let first = records(&s.trail)
        .iter()
        .find(|r| text(r, "JITSUDO_TRAIL_RECORDS").and_then(|n| n.parse().ok()) >= Some(edited))
        .and_then(|r| text(r, "JITSUDO_TRAIL_HEAD").map(str::to_owned))
        .expect("a checkpoint after the edit");
    let forged = original.replacen(&format!("{m}-0"), &format!("{m}-X"), 2);
    assert_ne!(forged, original);
    let (rechained, head) = rechain(&forged);
    fs::write(&s.trail, rechained).expect("rewrite");
    fs::write(jitsudo_audit::head_path(&s.trail), format!("{head}\n")).expect("head");
    let plain = verify(&[&s.trail]);
    assert!(
        plain.status.success(),
        "a recomputed chain verifies: {plain:?}"
    );
    let out = checked();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let said = stdout(&out);
    assert!(
        said.contains("REWRITTEN") && said.contains(&format!("head {first}")),
        "the first checkpoint must be named: {said}"
    );
}

/// Recomputes every record's `prev` and `hash` as a writer would: the
/// trail and the hash of its last record.
fn rechain(text: &str) -> (String, String) {
    let mut prev = jitsudo_audit::GENESIS.to_owned();
    let mut out = String::new();
    for line in text.lines() {
        // `,"hash":"<64 hex>"}` ends every line.
        let body = &line[..line.len() - 75];
        let old_prev = text_field(line, "prev");
        let body = body.replace(
            &format!("\"prev\":\"{old_prev}\""),
            &format!("\"prev\":\"{prev}\""),
        );
        let hash = sha256_hex(&format!("{body}}}"));
        out += &format!("{body},\"hash\":\"{hash}\"}}\n");
        prev = hash;
    }
    (out, prev)
}

fn text_field(line: &str, name: &str) -> String {
    let record: Value = serde_json::from_str(line).expect("a record");
    record[name].as_str().expect("a text field").to_owned()
}

/// SHA-256 of `text` in hex, by coreutils' sha256sum.
fn sha256_hex(text: &str) -> String {
    use std::io::Write as _;
    let mut child = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("sha256sum");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)[..64].to_owned()
}

/// logrotate moves the trail away while a command runs: its `exec.exit`
/// (the worker has held the trail open since `exec.accept`) and the
/// daemon's next record (open since `daemon.start`) go to the new file,
/// which continues the chain.
#[test]
fn a_trail_rotated_while_a_command_runs_goes_on_in_a_new_file() {
    let s = setup("trail-rotate-mid", POLICY, None, &[]);
    let m = marker("rotate-mid");
    let old = s.trail.with_extension("jsonl.1");
    let Some(_) = case(
        &s,
        ADMIN,
        format!(
            "$SUDO /bin/sh -c 'mv \"$1\" \"$2\"' {m} {} {}",
            s.trail.display(),
            old.display()
        ),
    )
    .assert_jitsudo() else {
        return;
    };
    // Refused by the daemon itself.
    case(&s, NOBODY, format!("$SUDO -n /usr/bin/id {m}"))
        .status(1)
        .assert_jitsudo();
    let kinds = |path: &Path| -> Vec<String> {
        records(path)
            .iter()
            .filter_map(|r| text(r, "JITSUDO_EVENT").map(str::to_owned))
            .collect()
    };
    assert_eq!(kinds(&old).last().map(String::as_str), Some("exec.accept"));
    assert_eq!(kinds(&s.trail), ["exec.exit", "exec.reject"]);
    let out = verify(&[&old, &s.trail]);
    assert!(out.status.success(), "{}", stdout(&out));
}

/// The trail is replaced by a link while a command runs (to a file root
/// cares about): no record goes through the link, and the next command is
/// refused, as when the link is there from the start.
#[test]
fn a_trail_replaced_by_a_link_while_a_command_runs_is_not_followed() {
    let s = setup("trail-link-mid", POLICY, None, &[]);
    let m = marker("link-mid");
    let scratch = world().scratch_dir("trail-link-mid-out");
    let decoy = scratch.join("decoy");
    fs::write(&decoy, "decoy\n").expect("decoy");
    let Some(_) = case(
        &s,
        ADMIN,
        format!(
            "$SUDO /bin/sh -c 'mv \"$1\" \"$1.1\" && ln -s \"$2\" \"$1\"' {m} {} {}",
            s.trail.display(),
            decoy.display()
        ),
    )
    .assert_jitsudo() else {
        return;
    };
    let refused = scratch.join("refused");
    case(
        &s,
        ADMIN,
        format!("$SUDO /usr/bin/touch {} {m}", refused.display()),
    )
    .status(1)
    .stderr_has("unable to log the command to the audit trail")
    .assert_jitsudo();
    assert!(!refused.exists(), "the command ran without its record");
    assert_eq!(fs::read_to_string(&decoy).expect("decoy"), "decoy\n");
}

/// A journald of its own (a journal namespace: the system journal is left
/// alone), run by the test.
struct PrivateJournald {
    namespace: String,
    child: Option<std::process::Child>,
}

impl PrivateJournald {
    fn start(namespace: &str) -> PrivateJournald {
        let mut journald = PrivateJournald {
            namespace: namespace.to_owned(),
            child: None,
        };
        journald.restart();
        journald
    }

    fn socket(&self) -> PathBuf {
        PathBuf::from(format!("/run/systemd/journal.{}/socket", self.namespace))
    }

    /// Starts it (again), and waits until it takes datagrams.
    fn restart(&mut self) {
        self.stop();
        let child = Command::new("/lib/systemd/systemd-journald")
            .arg(&self.namespace)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start systemd-journald");
        self.child = Some(child);
        let socket = self.socket();
        let up = poll_until(LOG_TIMEOUT, || {
            std::os::unix::net::UnixDatagram::unbound()
                .and_then(|s| s.connect(&socket))
                .ok()
        });
        assert!(up.is_some(), "journald {} did not start", self.namespace);
    }

    /// Stops it: its socket is left behind with nobody listening.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Its entries where `field` is `value`, waiting (bounded) for one.
    fn entries(&self, field: &str, value: &str) -> Vec<Map<String, Value>> {
        poll_until(LOG_TIMEOUT, || {
            let out = Command::new("journalctl")
                .args(["--no-pager", "-o", "json", "--namespace", &self.namespace])
                .arg(format!("{field}={value}"))
                .output()
                .ok()?;
            let found: Vec<Map<String, Value>> = String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(|l| match serde_json::from_str(l) {
                    Ok(Value::Object(map)) => Some(map),
                    _ => None,
                })
                .collect();
            (!found.is_empty()).then_some(found)
        })
        .unwrap_or_default()
    }
}

impl Drop for PrivateJournald {
    fn drop(&mut self) {
        self.stop();
        let _ = fs::remove_dir_all(format!("/run/systemd/journal.{}", self.namespace));
        if let Ok(id) = fs::read_to_string("/etc/machine-id") {
            let dir = format!("/var/log/journal/{}.{}", id.trim(), self.namespace);
            let _ = fs::remove_dir_all(dir);
        }
    }
}

/// The policy's rules with journald required too.
fn journald_required() -> String {
    POLICY.replace(
        "audit_sinks = [\"file\"]",
        "audit_sinks = [\"journald\", \"file\"]",
    )
}

/// journald (required) stopped, then started again (a new socket at the
/// same path) while the daemon and its fork server run on: the command is
/// refused while it is down, and the next one after its restart is logged
/// there. Both entries of a command name the worker that sent them
/// (`_PID`), not the fork server or the daemon.
#[test]
fn a_restarted_journald_gets_the_next_command() {
    let mut journald = PrivateJournald::start(&format!("jtrestart{}", std::process::id()));
    let socket = journald.socket();
    let s = setup(
        "trail-journald-restart",
        &journald_required(),
        None,
        &[OsStr::new("--journal-socket"), socket.as_os_str()],
    );
    let m = marker("journald-restart");
    let Some(_) = case(&s, ADMIN, format!("$SUDO /usr/bin/true {m}-first")).assert_jitsudo() else {
        return;
    };
    let command = |tag: &str| format!("/usr/bin/true {m}-{tag}");
    let first = journald.entries("JITSUDO_COMMAND", &command("first"));
    let pids: Vec<String> = first.iter().filter_map(|e| field_text(e, "_PID")).collect();
    assert_eq!(pids.len(), 2, "exec.accept and exec.exit: {first:#?}");
    let fork_server = s.daemon.fork_server().expect("fork server").to_string();
    let daemon = s.daemon.pid().as_raw().to_string();
    assert!(
        pids[0] == pids[1] && pids[0] != fork_server && pids[0] != daemon,
        "sent by one worker: {pids:?} (fork server {fork_server}, daemon {daemon})"
    );

    journald.stop();
    let refused = world()
        .scratch_dir("trail-journald-restart-out")
        .join("refused");
    case(
        &s,
        ADMIN,
        format!("$SUDO /usr/bin/touch {} {m}", refused.display()),
    )
    .status(1)
    .stderr_has("unable to log the command to the audit trail (audit sink journald")
    .assert_jitsudo();
    assert!(!refused.exists(), "ran without its journald record");

    journald.restart();
    case(&s, ADMIN, format!("$SUDO /usr/bin/true {m}-second")).assert_jitsudo();
    let second = journald.entries("JITSUDO_COMMAND", &command("second"));
    let kinds: Vec<String> = second
        .iter()
        .filter_map(|e| field_text(e, "JITSUDO_EVENT"))
        .collect();
    assert!(
        kinds.contains(&"exec.accept".to_owned()) && kinds.contains(&"exec.exit".to_owned()),
        "{kinds:?}"
    );
}

/// How many times the events of one command reached each log.
#[derive(Debug, PartialEq, Eq)]
struct Copies {
    /// Journal entries of journald's native protocol (they carry a
    /// `MESSAGE_ID`): the journald sink's.
    native: usize,
    /// Journal entries journald received on `/dev/log`: the syslog sink's.
    dev_log: usize,
    /// auth.log lines (each journal entry, forwarded to rsyslogd).
    auth_log: usize,
}

/// Runs `/usr/bin/true` as jt_admin against `s` (its `exec.accept` and
/// `exec.exit` mention the marker) and counts where they were logged,
/// until the counts are `expected` (bounded: the native entries and their
/// forwarded lines may come last). `None` when the jitsudo half of the
/// cases is skipped.
fn copies_of_one_command(s: &Setup, tag: &str, expected: &Copies) -> Option<Copies> {
    ensure_journald();
    ensure_rsyslog();
    let since = std::time::SystemTime::now();
    let auth_log = LogTail::new(Path::new(AUTH_LOG));
    let m = marker(tag);
    case(s, ADMIN, format!("$SUDO /usr/bin/true {m}"))
        .status(0)
        .assert_jitsudo()?;
    // The worker writes exec.exit to the sinks in order, the trail last:
    // once the trail has it, both syslog datagrams were sent.
    poll_until(LOG_TIMEOUT, || {
        (records_with(&s.trail, &m).len() == 2).then_some(())
    })
    .expect("exec.accept and exec.exit in the trail");
    wait_for_dev_log_barrier(&auth_log, &m);
    // What came through /dev/log is all there now; copies from there can
    // only be too many already, never come later.
    let mut copies = count_copies(since, &auth_log, &m);
    let _ = poll_until(LOG_TIMEOUT, || {
        copies = count_copies(since, &auth_log, &m);
        (copies == *expected).then_some(())
    });
    Some(copies)
}

/// Where the events mentioning `m` were logged since `since`.
fn count_copies(since: std::time::SystemTime, auth_log: &LogTail, m: &str) -> Copies {
    let grep = format!("--grep={m}");
    let journal = journal_export_since(since, &["SYSLOG_IDENTIFIER=jitsudo", &grep]);
    let entries =
        jitsudo_audit::test_support::parse_export(&journal).expect("journalctl -o export");
    let ours: Vec<_> = entries
        .iter()
        .filter(|e| e.get("SYSLOG_IDENTIFIER") == Some(&b"jitsudo"[..]))
        .filter(|e| {
            e.get("MESSAGE")
                .is_some_and(|msg| String::from_utf8_lossy(msg).contains(m))
        })
        .collect();
    let native = ours
        .iter()
        .filter(|e| e.get("MESSAGE_ID").is_some())
        .count();
    let auth_log = String::from_utf8_lossy(&auth_log.read())
        .lines()
        .filter(|l| l.contains(m) && l.contains(" jitsudo["))
        .count();
    Copies {
        native,
        dev_log: ours.len() - native,
        auth_log,
    }
}

/// Sends a line to `/dev/log` and waits until journald forwarded it to
/// auth.log: whatever reached `/dev/log` before it (a datagram socket
/// keeps its order, and so do journald's forwarding and rsyslogd) is in
/// the journal and in auth.log by then.
fn wait_for_dev_log_barrier(auth_log: &LogTail, m: &str) {
    let barrier = format!("barrier after {m}");
    // authpriv.info
    let line = format!("<86>jitsudo-tests: {barrier}");
    std::os::unix::net::UnixDatagram::unbound()
        .and_then(|s| s.send_to(line.as_bytes(), DEV_LOG))
        .expect("send to /dev/log");
    assert!(
        !auth_lines(auth_log, &[&barrier]).is_empty(),
        "{barrier:?} did not reach {AUTH_LOG} through journald"
    );
}

/// On a host where journald owns `/dev/log` (systemd's default, set up so
/// by the harness), one event is one journal entry (the native one, no
/// second from `/dev/log`) and one auth.log line (journald forwards it):
/// the syslog sink leaves its line to journald's forwarding.
#[test]
fn one_event_is_logged_once_in_the_journal_and_once_in_auth_log() {
    let s = setup("forwarded-once", POLICY, None, &[]);
    let once = Copies {
        native: 2,
        dev_log: 0,
        auth_log: 2,
    };
    let Some(copies) = copies_of_one_command(&s, "once", &once) else {
        return;
    };
    assert_eq!(
        copies, once,
        "exec.accept and exec.exit, each once in the journal and once in auth.log"
    );
}

/// When `audit_sinks` requires syslog, the syslog sink sends its line
/// itself (journald's forwarding cannot prove syslog's delivery): the
/// journal has the event twice, auth.log too. Without the journald sink
/// the syslog line is the journal's only copy.
#[test]
fn a_required_syslog_sink_or_no_journald_sink_still_sends_the_line() {
    let required = POLICY.replace(
        r#"audit_sinks = ["file"]"#,
        r#"audit_sinks = ["file", "syslog"]"#,
    );
    let s = setup("forwarded-required", &required, None, &[]);
    let twice = Copies {
        native: 2,
        dev_log: 2,
        auth_log: 4,
    };
    let Some(copies) = copies_of_one_command(&s, "required", &twice) else {
        return;
    };
    assert_eq!(copies, twice, "syslog required: the line sent all the same");

    let no_journald = POLICY.replace(
        r#"audit_sinks = ["file"]"#,
        r#"audit_sinks = ["file"]
audit_log = ["syslog", "file"]"#,
    );
    let s = setup("forwarded-nojournald", &no_journald, None, &[]);
    let syslog_only = Copies {
        native: 0,
        dev_log: 2,
        auth_log: 2,
    };
    let copies = copies_of_one_command(&s, "nojournald", &syslog_only).expect("not skipped now");
    assert_eq!(copies, syslog_only, "no journald sink: the syslog line");
}
