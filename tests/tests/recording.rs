//! Session recording (jitsudo only): a rule with `record = true` has its
//! command's terminal output kept with its timing, named in the exec
//! events, root's alone, size-capped, and played back byte for byte by
//! `jitsudoctl replay`. Each test runs its own daemon with its own trail
//! and recordings directory.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use jitsudo_tests::daemon::Daemon;
use jitsudo_tests::sh::with_helpers;
use jitsudo_tests::util::{make_dir, write_atomic};
use jitsudo_tests::*;
use serde_json::Value;

/// jt_admin: recorded; jt_limited: recorded with a 4 KiB cap (set by the
/// test that needs it); jt_pw: not recorded.
const POLICY: &str = r#"
[defaults]
audit_sinks = ["file"]
RECORD_MAX

[[rule]]
id = "recorded"
who = ["jt_admin", "jt_limited"]
commands = ["ALL"]
auth = "none"
record = true
record_input = true

[[rule]]
id = "plain"
who = ["jt_pw"]
commands = ["ALL"]
auth = "none"
"#;

/// A daemon of its own writing its trail and recordings under a fresh
/// root-only directory.
struct Setup {
    daemon: Daemon,
    trail: PathBuf,
    sessions: PathBuf,
}

fn setup(name: &str, record_max: &str) -> Setup {
    setup_with(name, &POLICY.replace("RECORD_MAX", record_max))
}

/// [`setup`] with this policy.
fn setup_with(name: &str, policy_text: &str) -> Setup {
    setup_prepared(name, policy_text, |_| {})
}

/// [`setup_with`], `prepare` given the sessions directory's path before
/// the daemon starts.
fn setup_prepared(name: &str, policy_text: &str, prepare: impl FnOnce(&Path)) -> Setup {
    let policy = world().policy_dir(name).join("policy.toml");
    write_atomic(&policy, policy_text.as_bytes(), 0o644);
    let log = world().scratch_dir(name).join("log");
    make_dir(&log, 0o755);
    let trail = log.join("audit.jsonl");
    let sessions = log.join("sessions");
    let args = [
        OsStr::new("--audit-file"),
        trail.as_os_str(),
        OsStr::new("--session-dir"),
        sessions.as_os_str(),
    ];
    prepare(&sessions);
    let daemon = Daemon::start_with_args(world(), name, &policy, &args);
    Setup {
        daemon,
        trail,
        sessions,
    }
}

/// `script` as `user` on a pty playing `pty`, against the setup's daemon;
/// the raw terminal transcript.
fn on_pty(s: &Setup, user: &str, script: &str, pty: PtySpec) -> Output {
    let out = Case::new(user, with_helpers(script))
        .socket(s.daemon.socket.as_os_str())
        .pty(pty)
        .spec()
        .run(Impl::Jitsudo);
    assert!(!out.timed_out, "timed out: {}", out.stdout_text());
    out
}

/// What the terminal showed between the lines `BEGIN` and `END` the
/// script echoes around the command.
fn between_markers(transcript: &[u8]) -> Vec<u8> {
    let find = |needle: &[u8], from: usize| {
        transcript[from..]
            .windows(needle.len())
            .position(|w| w == needle)
            .map(|i| i + from)
    };
    let begin = find(b"BEGIN\r\n", 0).expect("BEGIN in the transcript") + 7;
    let end = find(b"END\r\n", begin).expect("END in the transcript");
    transcript[begin..end].to_vec()
}

/// The exec events of the trail, by kind.
fn exec_events(trail: &Path, kind: &str) -> Vec<serde_json::Map<String, Value>> {
    fs::read_to_string(trail)
        .expect("read the trail")
        .lines()
        .filter_map(|line| match serde_json::from_str(line) {
            Ok(Value::Object(map)) => Some(map),
            _ => None,
        })
        .filter(|r| r.get("JITSUDO_EVENT").and_then(Value::as_str) == Some(kind))
        .collect()
}

/// The recording id named by the trail's only `exec.accept`, also named by
/// its `exec.exit` (which the worker writes after the client has its
/// status: waited for, within a bound).
fn recording_id(trail: &Path) -> String {
    let _ = jitsudo_tests::util::poll_until(Duration::from_secs(10), || {
        (!exec_events(trail, "exec.exit").is_empty()).then_some(())
    });
    let id_of = |kind: &str| {
        let events = exec_events(trail, kind);
        assert_eq!(events.len(), 1, "{kind}: {events:#?}");
        events[0]
            .get("JITSUDO_RECORDING")
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no JITSUDO_RECORDING in {:#?}", events[0]))
            .to_owned()
    };
    let id = id_of("exec.accept");
    assert_eq!(id_of("exec.exit"), id);
    id
}

fn replay(s: &Setup, args: &[&str]) -> Output {
    let out = Command::new(world().jitsudo_bin().join("jitsudoctl"))
        .arg("replay")
        .arg("--dir")
        .arg(&s.sessions)
        .args(args)
        .output()
        .expect("run jitsudoctl");
    Output {
        status: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: out.stderr,
        timed_out: false,
    }
}

/// A full-screen program's bytes (alternate screen, cursor moves, colours,
/// bytes that are no UTF-8) and `top`'s batch output.
const FULL_SCREEN: &str = r"printf '\033[?1049h\033[2J\033[H\033[1;31mred\033[0m\001\002\377\376\200 tail\033[10;5H*\033[?1049l'; top -b -n1 | head -n 12";

#[test]
fn replay_reproduces_the_terminal_output_byte_for_byte() {
    let s = setup("recording-bytes", "");
    let out = on_pty(
        &s,
        ADMIN,
        &format!(
            "echo BEGIN; $SUDO sh -c '{}'; echo END",
            FULL_SCREEN.replace('\'', "'\\''")
        ),
        PtySpec::default(),
    );
    let shown = between_markers(&out.stdout);
    assert!(shown.starts_with(b"\x1b[?1049h"), "{shown:?}");
    let id = recording_id(&s.trail);
    let played = replay(&s, &["--max-wait", "0", &id]);
    assert_eq!(played.status, 0, "{}", played.stderr_text());
    assert!(
        played.stdout == shown,
        "replay differs:\n{:?}\n{:?}",
        String::from_utf8_lossy(&played.stdout),
        String::from_utf8_lossy(&shown)
    );
    // Root's alone.
    let file = s.sessions.join(format!("{id}.jsonl"));
    for (path, mode) in [(&s.sessions, 0o700), (&file, 0o600)] {
        let meta = fs::metadata(path).expect("stat");
        assert_eq!(
            meta.permissions().mode() & 0o7777,
            mode,
            "{}",
            path.display()
        );
        assert_eq!((meta.uid(), meta.gid()), (0, 0), "{}", path.display());
    }
    let listed = replay(&s, &["--list"]);
    assert!(
        listed.stdout_text().contains(&id),
        "{}",
        listed.stdout_text()
    );
    assert!(listed.stdout_text().contains("jt_admin -> root"));
}

#[test]
fn replay_keeps_the_timing_scaled_by_speed() {
    let s = setup("recording-timing", "");
    on_pty(
        &s,
        ADMIN,
        "$SUDO sh -c 'echo one; sleep 1; echo two'",
        PtySpec::default(),
    );
    let id = recording_id(&s.trail);
    let timed = |args: &[&str]| {
        let began = Instant::now();
        let out = replay(&s, args);
        assert_eq!(out.status, 0, "{}", out.stderr_text());
        assert_eq!(out.stdout, b"one\r\ntwo\r\n");
        began.elapsed()
    };
    let real = timed(&[&id]);
    assert!(real >= Duration::from_millis(900), "{real:?}");
    let fast = timed(&["--speed", "4", &id]);
    assert!(
        fast >= Duration::from_millis(200) && fast < Duration::from_millis(800),
        "{fast:?}"
    );
    let capped = timed(&["--max-wait", "0.1", &id]);
    assert!(capped < Duration::from_millis(600), "{capped:?}");
}

#[test]
fn a_recording_past_its_cap_stops_and_the_command_runs_on() {
    let s = setup("recording-cap", "record_max_bytes = 4096");
    let out = on_pty(
        &s,
        LIMITED,
        "$SUDO sh -c 'i=0; while [ $i -lt 2000 ]; do echo line-$i; i=$((i+1)); done'; echo status=$?",
        PtySpec::default(),
    );
    let text = out.stdout_text();
    assert!(text.contains("line-1999\r\nstatus=0"), "{text}");
    let id = recording_id(&s.trail);
    let file = s.sessions.join(format!("{id}.jsonl"));
    let recorded = fs::read_to_string(&file).expect("read the recording");
    assert!(recorded.len() <= 4096, "{}", recorded.len());
    assert!(
        recorded.trim_end().ends_with(",\"truncated\",\"\"]"),
        "{recorded}"
    );
    let played = replay(&s, &["--max-wait", "0", &id]);
    assert_eq!(played.status, 0);
    // What fitted: the start of what the terminal showed.
    let full: String = (0..2000).map(|i| format!("line-{i}\r\n")).collect();
    assert!(played.stdout.len() > 1000, "{}", played.stdout_text());
    assert!(
        full.as_bytes().starts_with(&played.stdout),
        "{}",
        played.stdout_text()
    );
    assert!(
        played.stderr_text().contains("size cap (4096 bytes)"),
        "{}",
        played.stderr_text()
    );
}

#[test]
fn window_size_and_input_reach_a_recorded_command() {
    let s = setup("recording-winsize", "");
    let out = on_pty(
        &s,
        ADMIN,
        "$SUDO sh -c 'stty size; echo ready; i=0; while [ \"$(stty size)\" = \"24 80\" ] && [ $i -lt 300 ]; do sleep 0.01; i=$((i+1)); done; stty size; read line; echo got=$line'",
        PtySpec::default()
            .wait_for("ready")
            .resize(40, 100)
            .wait_for("40 100")
            .answer("", "typed"),
    );
    let text = out.stdout_text();
    assert!(text.contains("24 80\r\nready\r\n40 100\r\n"), "{text}");
    assert!(text.contains("got=typed"), "{text}");
    let id = recording_id(&s.trail);
    let recorded = fs::read_to_string(s.sessions.join(format!("{id}.jsonl"))).unwrap();
    assert!(recorded.contains(",\"r\",\"100x40\"]"), "{recorded}");
    // record_input: "typed\r" in base64.
    assert!(recorded.contains(",\"i\",\"dHlwZWQN\"]"), "{recorded}");
}

#[test]
fn a_user_cannot_replay_and_an_unrecorded_rule_records_nothing() {
    let s = setup("recording-private", "");
    on_pty(&s, ADMIN, "$SUDO echo secret-output", PtySpec::default());
    let id = recording_id(&s.trail);
    let ctl = world().jitsudo_bin().join("jitsudoctl");
    let out = Case::new(
        PW,
        format!(
            "'{}' replay --dir '{}' {id}; echo status=$?",
            ctl.display(),
            s.sessions.display()
        ),
    )
    .spec()
    .run(Impl::Jitsudo);
    assert!(
        out.stdout_text().contains("status=1"),
        "{}",
        out.stdout_text()
    );
    assert!(!out.stdout_text().contains("secret-output"));
    assert!(
        out.stderr_text().contains("readable by root only"),
        "{}",
        out.stderr_text()
    );
    // jt_pw's rule records nothing, and its events name no recording.
    let before = fs::read_dir(&s.sessions).unwrap().count();
    on_pty(&s, PW, "$SUDO echo plain", PtySpec::default());
    assert_eq!(fs::read_dir(&s.sessions).unwrap().count(), before);
    let accepts = exec_events(&s.trail, "exec.accept");
    let plain = accepts.last().expect("jt_pw's exec.accept");
    assert_eq!(
        plain.get("JITSUDO_RULE").and_then(Value::as_str),
        Some("plain")
    );
    assert!(plain.get("JITSUDO_RECORDING").is_none(), "{plain:#?}");
}

/// ^Z and `fg` work on a recorded command as on any other: it stops (state
/// T), resumes in the foreground, and ^C then reaches it.
#[test]
fn control_z_and_fg_work_on_a_recorded_command() {
    let s = setup("recording-jobs", "");
    // Each step waits for the next prompt, which no typed line contains.
    let spec = PtySpec::default()
        .wait_for("prompt> ")
        .send(b"\"$J\" sh -c 'echo $$ > pid; echo re\"\"ady; exec cat'\r")
        .wait_for("ready")
        .wait_for_reader()
        .send(b"\x1a")
        .wait_for("Stopped")
        .wait_for("prompt> ")
        .send(b"echo state=$(ps -o stat= -p $(cat pid) | cut -c1)\r")
        .wait_for("prompt> ")
        .send(b"fg\r")
        .wait_for("exec cat'")
        .wait_for_reader()
        .send(b"echoed\r")
        .wait_for("echoed\r\necho")
        .send(b"\x03")
        .wait_for("prompt> ")
        .send(b"echo status=$?; exit\r");
    let out = Case::new(
        ADMIN,
        "J=$SUDO PS1='prompt> ' exec bash --norc --noprofile -i 2>&1",
    )
    .socket(s.daemon.socket.as_os_str())
    .in_fresh_dir()
    .pty(spec)
    .spec()
    .run(Impl::Jitsudo);
    let text = out.stdout_text();
    assert!(!out.timed_out, "{text}");
    for expected in ["Stopped", "state=T", "status=130"] {
        assert!(text.contains(expected), "no {expected} in {text}");
    }
    recording_id(&s.trail);
}

/// A recorded user cannot push the recording to its cap with window-size
/// messages that change nothing: SIGWINCH sent to the client a thousand
/// times records no size change (25 KB of them would pass the 4 KiB cap).
#[test]
fn repeated_sigwinch_does_not_fill_the_recording() {
    let s = setup("recording-winch", "record_max_bytes = 4096");
    let out = Case::new(
        LIMITED,
        with_helpers(
            "$SUDO sh -c 'touch started; sleep 2; echo done' & c=$!
wait_file started; i=0; while [ $i -lt 1000 ]; do kill -WINCH $c; i=$((i+1)); done; wait $c; echo status=$?",
        ),
    )
    .socket(s.daemon.socket.as_os_str())
    .in_fresh_dir()
    .pty(PtySpec::default())
    .spec()
    .run(Impl::Jitsudo);
    assert!(
        out.stdout_text().contains("status=0"),
        "{}",
        out.stdout_text()
    );
    let id = recording_id(&s.trail);
    let recorded = fs::read_to_string(s.sessions.join(format!("{id}.jsonl"))).unwrap();
    assert!(!recorded.contains("truncated"), "{recorded}");
    assert_eq!(recorded.matches(",\"r\",").count(), 1, "{recorded}");
}

/// The chunks of recording `id` of `kind` (`o`, `e`, `i`), joined.
fn recorded_bytes(s: &Setup, id: &str, kind: &str) -> Vec<u8> {
    use jitsudo_audit::recording::Chunk;
    let text = fs::read_to_string(s.sessions.join(format!("{id}.jsonl"))).unwrap();
    let mut bytes = Vec::new();
    for line in text.lines().skip(1) {
        match (kind, Chunk::parse(line).expect("a chunk")) {
            ("o", (_, Chunk::Output(b)))
            | ("e", (_, Chunk::Error(b)))
            | ("i", (_, Chunk::Input(b))) => bytes.extend(b),
            _ => {}
        }
    }
    bytes
}

/// Bytes no text is made of: every byte value, NULs, bytes that are no
/// UTF-8, a line longer than any buffer.
fn binary_data() -> Vec<u8> {
    let mut data: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
    data.extend_from_slice(b"\xff\xfe\x00\x80tail\xc3");
    data
}

/// A recorded command on pipes: the caller gets its output byte for
/// byte, and the recording (and its replay) holds standard output,
/// standard error and standard input apart, byte for byte.
#[test]
fn a_command_on_pipes_is_recorded_byte_for_byte() {
    let s = setup("recording-pipes", "");
    let data = binary_data();
    let out = Case::new(
        ADMIN,
        "$SUDO sh -c 'cat; printf \"err\\000\\376\\n\" >&2; exit 7'; echo status=$? >&2",
    )
    .socket(s.daemon.socket.as_os_str())
    .stdin(data.clone())
    .spec()
    .run(Impl::Jitsudo);
    assert!(
        out.stdout == data,
        "the caller's output differs ({} bytes)",
        out.stdout.len()
    );
    assert_eq!(out.stderr, b"err\x00\xfe\nstatus=7\n");
    let id = recording_id(&s.trail);
    assert!(
        recorded_bytes(&s, &id, "o") == data,
        "recorded output differs"
    );
    assert!(
        recorded_bytes(&s, &id, "i") == data,
        "recorded input differs"
    );
    assert_eq!(recorded_bytes(&s, &id, "e"), b"err\x00\xfe\n");
    let played = replay(&s, &["--max-wait", "0", &id]);
    assert_eq!(played.status, 0, "{}", played.stderr_text());
    assert!(played.stdout == data, "the replay differs");
    assert_eq!(played.stderr, b"err\x00\xfe\n");
}

/// A command writing 50 MiB through a recorded rule into a reader that
/// falls behind is held back: the worker holds a bounded buffer (its peak
/// memory stays far below what the command wrote), every byte arrives,
/// and the recording stops at its cap with a `record.truncated` event in
/// the trail and in the journal, naming the recording, the cap and the
/// bytes left out.
#[test]
fn a_fast_writer_is_held_back_and_the_cap_is_logged() {
    let s = setup("recording-flood", "record_max_bytes = 4096");
    let out = Case::new(
        LIMITED,
        "$SUDO sh -c 'echo $PPID >&2; exec head -c 52428800 /dev/zero' 2>worker |
{ sleep 1; dd bs=65536 count=700 iflag=fullblock 2>/dev/null | wc -c
  sed -n 's/^VmHWM:[[:space:]]*\\([0-9]*\\) kB/peak=\\1/p' /proc/$(cat worker)/status; wc -c; }",
    )
    .socket(s.daemon.socket.as_os_str())
    .in_fresh_dir()
    .spec()
    .run(Impl::Jitsudo);
    let text = out.stdout_text();
    let numbers: Vec<u64> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    let [first, peak_kb, rest] = numbers[..] else {
        panic!("{text}\n{}", out.stderr_text())
    };
    assert_eq!(first + rest, 50 << 20, "{text}");
    assert!(
        peak_kb < 24 << 10,
        "the worker's peak memory was {peak_kb} kB"
    );
    let id = recording_id(&s.trail);
    let truncated = exec_events(&s.trail, "record.truncated");
    assert_eq!(truncated.len(), 1, "{truncated:#?}");
    let field = |name: &str| {
        truncated[0]
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    assert_eq!(field("JITSUDO_RECORDING").as_deref(), Some(&id[..]));
    assert_eq!(field("JITSUDO_RECORD_MAX_BYTES").as_deref(), Some("4096"));
    let dropped: u64 = field("JITSUDO_RECORD_DROPPED")
        .and_then(|d| d.parse().ok())
        .unwrap_or(0);
    assert!(dropped > 0 && dropped <= 16384, "{truncated:#?}");
    let journal = jitsudo_tests::services::wait_for_journal(
        "JITSUDO_RECORDING",
        &id,
        "record.truncated",
        Duration::from_secs(15),
    );
    assert!(
        journal.iter().any(|e| {
            e.get("MESSAGE_ID").and_then(Value::as_str) == Some("771df8806f7041d38f4a7f642aecbacd")
                && e.get("JITSUDO_RECORD_DROPPED").and_then(Value::as_str)
                    == Some(&dropped.to_string()[..])
        }),
        "{journal:#?}"
    );
    let played = replay(&s, &["--max-wait", "0", &id]);
    assert!(
        played.stderr_text().contains("size cap (4096 bytes)"),
        "{}",
        played.stderr_text()
    );
}

/// A reader that goes away ends a recorded command as it ends it under
/// sudo: `yes` is killed by SIGPIPE, and a command ignoring SIGPIPE gets
/// EPIPE (same output, same status).
#[test]
fn a_closed_reader_ends_a_recorded_command_as_under_sudo() {
    let s = setup("recording-sigpipe", "");
    Case::new(
        ADMIN,
        "{ $SUDO yes; echo left=$? >&2; } | head -n 1
{ $SUDO sh -c 'trap \"\" PIPE; yes; echo yes=$? >&2'; echo left=$? >&2; } | head -n 2",
    )
    .socket(s.daemon.socket.as_os_str())
    .stdout_is("y\ny\ny\n")
    .assert_same();
    assert_eq!(exec_events(&s.trail, "exec.exit").len(), 2);
    assert!(exec_events(&s.trail, "exec.exit")
        .iter()
        .all(|e| e.contains_key("JITSUDO_RECORDING")));
}

/// SHA-256 of `bytes`, in hex, by sha256sum.
fn sha256(bytes: &[u8]) -> String {
    use std::io::Write;
    let mut child = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run sha256sum");
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout)[..64].to_owned()
}

/// A real `sudoedit` under a recorded rule: its recording (named by its
/// exec events) keeps, for each file, the hashes of the content before and
/// after, and `jitsudoctl replay` shows what changed as a unified diff.
#[test]
fn a_recorded_edit_keeps_what_changed() {
    let dir = Path::new("/etc/jitsudo-tests-edit/recording-edit");
    let _ = fs::remove_dir_all(dir);
    make_dir(Path::new("/etc/jitsudo-tests-edit"), 0o755);
    make_dir(dir, 0o755);
    let d = dir.display();
    let s = setup_with(
        "recording-edit",
        &format!(
            "[defaults]\naudit_sinks = [\"file\"]\n\n[[rule]]\nid = \"edit\"\n\
             who = [\"jt_limited\"]\nauth = \"none\"\nrecord = true\n\
             commands = [\"sudoedit {d}/motd\", \"sudoedit {d}/new\"]\n"
        ),
    );
    let before = "one\ntwo\nthree\n";
    fs::write(dir.join("motd"), before).unwrap();
    let editor = "printf '#!/bin/sh\\nfor f; do [ \"$f\" = -- ] && continue; \
        sed -i s/two/TWO/ \"$f\"; echo \"added by $(id -un)\" >> \"$f\"; done\\n' > ed; chmod 755 ed";
    let out = Case::new(
        LIMITED,
        format!("{editor}; EDITOR=$PWD/ed $SUDO -e {d}/motd {d}/new; echo rc=$?"),
    )
    .socket(s.daemon.socket.as_os_str())
    .in_fresh_dir()
    .env("SUDO_EDITOR", "")
    .env("VISUAL", "")
    .spec()
    .run(Impl::Jitsudo);
    assert_eq!(out.stdout_text(), "rc=0\n", "{}", out.stderr_text());
    let after = fs::read_to_string(dir.join("motd")).unwrap();
    assert_eq!(after, "one\nTWO\nthree\nadded by jt_limited\n");
    let id = recording_id(&s.trail);
    let played = replay(&s, &[&id]);
    assert_eq!(played.status, 0, "{}", played.stderr_text());
    let text = played.stdout_text();
    let expected = format!(
        "edit of {d}/motd: changed (sha256 {} -> {})\n\
         --- {d}/motd\n+++ {d}/motd\n@@ -1,3 +1,4 @@\n one\n-two\n+TWO\n three\n+added by jt_limited\n\
         edit of {d}/new: created (sha256 {})\n",
        sha256(before.as_bytes()),
        sha256(after.as_bytes()),
        sha256(b"added by jt_limited\n"),
    );
    assert!(text.starts_with(&expected), "{text}\nexpected:\n{expected}");
    assert!(replay(&s, &["--list"]).stdout_text().contains("sudoedit"));
}

/// The ids of the recordings named by the trail's `exec.accept` events.
fn recorded_ids(trail: &Path) -> Vec<String> {
    exec_events(trail, "exec.accept")
        .iter()
        .filter_map(|e| e.get("JITSUDO_RECORDING")?.as_str().map(str::to_owned))
        .collect()
}

/// `record_retention`: a sweep (here the one after a policy reload)
/// removes recordings older than the bound and logs them in one
/// `record.remove` event, but never the recording of a command still
/// running, however old its file looks. The running command (root) ages
/// every recording, reloads the daemon, and waits for the sweep's event
/// (matched by a pattern that its own command line, in the trail, does not
/// match).
#[test]
fn the_retention_sweep_removes_old_recordings_but_not_one_being_written() {
    let s = setup("recording-retention", "record_retention = \"90d\"");
    for _ in 0..2 {
        Case::new(ADMIN, "$SUDO true")
            .socket(s.daemon.socket.as_os_str())
            .status(0)
            .assert_jitsudo();
    }
    let old = recorded_ids(&s.trail);
    assert_eq!(old.len(), 2, "{old:?}");
    let out = Case::new(
        ADMIN,
        format!(
            "$SUDO sh -c 'touch -d \"200 days ago\" {sessions}/*.jsonl; kill -HUP {daemon}
i=0; until grep -q \"record[.]remove\\\"\" {trail} || [ $i -gt 300 ]; do sleep 0.05; i=$((i+1)); done
ls {sessions}'",
            sessions = s.sessions.display(),
            daemon = s.daemon.pid(),
            trail = s.trail.display(),
        ),
    )
    .socket(s.daemon.socket.as_os_str())
    .spec()
    .run(Impl::Jitsudo);
    let running = recorded_ids(&s.trail)
        .into_iter()
        .find(|id| !old.contains(id))
        .expect("the running command's recording");
    assert_eq!(
        out.stdout_text(),
        format!("{running}.jsonl\n"),
        "{}",
        out.stderr_text()
    );
    let removed = exec_events(&s.trail, "record.remove");
    assert_eq!(removed.len(), 1, "{removed:#?}");
    let mut named: Vec<String> = match removed[0].get("JITSUDO_RECORDING") {
        Some(Value::Array(ids)) => ids
            .iter()
            .filter_map(|i| Some(i.as_str()?.to_owned()))
            .collect(),
        other => panic!("{other:?}"),
    };
    named.sort();
    let mut expected = old.clone();
    expected.sort();
    assert_eq!(named, expected);
    assert!(s.sessions.join(format!("{running}.jsonl")).exists());
}

/// The sessions directory replaced by a symbolic link (or by a directory
/// a user made) is not written through: the recorded command is refused,
/// and nothing appears where the link points or in the user's directory.
#[test]
fn a_link_in_place_of_the_sessions_directory_is_not_followed() {
    let s = setup("recording-link", "");
    let elsewhere = s.sessions.with_file_name("elsewhere");
    make_dir(&elsewhere, 0o755);
    std::os::unix::fs::symlink(&elsewhere, &s.sessions).unwrap();
    let refused = |s: &Setup| {
        let out = Case::new(ADMIN, "$SUDO echo ran; echo rc=$?")
            .socket(s.daemon.socket.as_os_str())
            .spec()
            .run(Impl::Jitsudo);
        assert_eq!(out.stdout_text(), "rc=1\n", "{}", out.stderr_text());
        assert!(
            out.stderr_text().contains("unable to record the session"),
            "{}",
            out.stderr_text()
        );
    };
    refused(&s);
    assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0);
    assert_eq!(
        fs::metadata(&elsewhere).unwrap().permissions().mode() & 0o777,
        0o755
    );
    fs::remove_file(&s.sessions).unwrap();
    make_dir(&s.sessions, 0o755);
    let pw = account(PW);
    std::os::unix::fs::chown(&s.sessions, Some(pw.uid), Some(pw.gid)).unwrap();
    refused(&s);
    assert_eq!(fs::read_dir(&s.sessions).unwrap().count(), 0);
}

/// The daemon sweeps at start: past `record_max_total`, the oldest
/// recordings found there are removed (and logged), the newest kept.
#[test]
fn the_daemon_sweeps_the_sessions_directory_at_start() {
    let ids = ["00000000000000a1", "00000000000000a2"];
    let s = setup_prepared(
        "recording-start-sweep",
        &POLICY.replace("RECORD_MAX", "record_max_total = 5000"),
        |sessions| {
            make_dir(sessions, 0o700);
            for (id, days) in ids.iter().zip([3u64, 2]) {
                let file = sessions.join(format!("{id}.jsonl"));
                fs::write(&file, vec![b'x'; 4000]).unwrap();
                let when = std::time::SystemTime::now() - Duration::from_secs(days * 86_400);
                fs::File::options()
                    .write(true)
                    .open(&file)
                    .and_then(|f| f.set_modified(when))
                    .unwrap();
            }
        },
    );
    let removed = jitsudo_tests::util::poll_until(Duration::from_secs(15), || {
        fs::read_to_string(&s.trail).ok()?;
        let removed = exec_events(&s.trail, "record.remove");
        (!removed.is_empty()).then_some(removed)
    })
    .expect("a record.remove event in the trail");
    assert_eq!(
        removed[0].get("JITSUDO_RECORDING").and_then(Value::as_str),
        Some(ids[0]),
        "{removed:#?}"
    );
    assert!(!s.sessions.join(format!("{}.jsonl", ids[0])).exists());
    assert!(s.sessions.join(format!("{}.jsonl", ids[1])).exists());
}
