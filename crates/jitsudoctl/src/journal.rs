//! `jitsudoctl audit --journal`: jitsudo's events read from the systemd
//! journal by `journalctl -o json`, as trail records (see
//! [`jitsudo_audit::record_from_journal`]). Only entries journald itself
//! saw come from root (`_UID=0`, a field a client cannot set) count: any
//! user can send an entry that says `SYSLOG_IDENTIFIER=jitsudo`.
//!
//! The matches are fixed strings and the times are numbers we format, so no
//! text from the command line reaches `journalctl`; the user, grant and rule
//! filters are applied to the records afterwards, as for the trail. The
//! child is bounded: killed after [`TIMEOUT`], at most [`MAX_LINE`] bytes an
//! entry and [`MAX_OUTPUT`] in all.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jitsudo_audit::{record_from_journal, EventKind, Record, SYSLOG_IDENTIFIER};
use serde_json::Value;

/// How long `journalctl` may take.
const TIMEOUT: Duration = Duration::from_secs(120);
/// The longest entry read (journald's own limit on a field is lower).
const MAX_LINE: u64 = 4 << 20;
/// The most output read from `journalctl`.
const MAX_OUTPUT: u64 = 1 << 30;

/// The records of `kinds` journald holds from `[since, until)` that `keep`
/// accepts, oldest first.
pub fn records(
    since: Option<SystemTime>,
    until: Option<SystemTime>,
    kinds: &[EventKind],
    keep: &mut dyn FnMut(&Record) -> bool,
) -> Result<Vec<Record>, String> {
    if let (Some(since), Some(until)) = (since, until) {
        if since >= until {
            // journalctl refuses an empty period; it holds nothing.
            return Ok(Vec::new());
        }
    }
    let mut child = command(since, until, kinds)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run journalctl: {e}"))?;
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let child = Arc::new(Mutex::new(child));
    let (done, watchdog) = kill_after(Arc::clone(&child), TIMEOUT);
    let errors = thread::spawn(move || {
        let mut text = String::new();
        if let Some(stderr) = stderr {
            // Best effort: only shown when journalctl fails.
            let _ = stderr.take(64 << 10).read_to_string(&mut text);
        }
        text
    });
    let read = stdout.map_or(Ok(Vec::new()), |out| parse(out, keep));
    drop(done);
    let timed_out = watchdog.join().unwrap_or(false);
    let status = lock(&child).wait().map_err(|e| e.to_string())?;
    let errors = errors.join().unwrap_or_default();
    if timed_out {
        return Err(format!(
            "journalctl took longer than {}s: narrow the period with --since/--until",
            TIMEOUT.as_secs()
        ));
    }
    let records = read?;
    if !status.success() {
        return Err(format!("journalctl failed ({status}): {}", errors.trim()));
    }
    Ok(records)
}

/// `journalctl -o json` for jitsudo's events of `kinds`, from root, in the
/// period.
fn command(since: Option<SystemTime>, until: Option<SystemTime>, kinds: &[EventKind]) -> Command {
    let mut cmd = Command::new("journalctl");
    cmd.args(["--no-pager", "--quiet", "--output=json"]);
    if let Some(since) = since {
        cmd.arg(format!("--since=@{}", epoch_seconds(since)));
    }
    if let Some(until) = until {
        // Whole seconds, rounded up: the exact bound is applied afterwards.
        cmd.arg(format!("--until=@{}", epoch_seconds(until) + 1));
    }
    cmd.arg("--")
        .arg("_UID=0")
        .arg(format!("SYSLOG_IDENTIFIER={SYSLOG_IDENTIFIER}"));
    for kind in kinds {
        cmd.arg(format!("MESSAGE_ID={}", kind.message_id()));
    }
    cmd
}

fn epoch_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The records of the JSON lines on `out` that `keep` accepts.
fn parse(out: impl Read, keep: &mut dyn FnMut(&Record) -> bool) -> Result<Vec<Record>, String> {
    let mut reader = BufReader::new(out.take(MAX_OUTPUT));
    let mut line = Vec::new();
    let mut records = Vec::new();
    for ordinal in 1.. {
        line.clear();
        let n = (&mut reader)
            .take(MAX_LINE)
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("reading journalctl: {e}"))?;
        if n == 0 {
            break;
        }
        if line.last() != Some(&b'\n') && n as u64 == MAX_LINE {
            return Err(format!("a journal entry is longer than {MAX_LINE} bytes"));
        }
        let entry = match serde_json::from_slice(&line) {
            Ok(Value::Object(entry)) => entry,
            _ => {
                return Err(format!(
                    "journalctl gave a line that is no entry ({ordinal})"
                ))
            }
        };
        if let Some(record) = record_from_journal(&entry, ordinal) {
            if keep(&record) {
                records.push(record);
            }
        }
    }
    if reader.into_inner().limit() == 0 {
        return Err(format!(
            "journalctl gave more than {} MiB: narrow the period with --since/--until",
            MAX_OUTPUT >> 20
        ));
    }
    Ok(records)
}

/// Kills `child` unless the returned sender is dropped within `timeout`;
/// the thread says whether it killed. The child is reaped only after the
/// thread ends, so its pid is still its own when killed.
fn kill_after(
    child: Arc<Mutex<Child>>,
    timeout: Duration,
) -> (mpsc::Sender<()>, thread::JoinHandle<bool>) {
    let (done, wait) = mpsc::channel::<()>();
    let watchdog = thread::spawn(move || match wait.recv_timeout(timeout) {
        Err(mpsc::RecvTimeoutError::Timeout) => {
            // Best effort: it may have just exited.
            let _ = lock(&child).kill();
            true
        }
        _ => false,
    });
    (done, watchdog)
}

fn lock(child: &Mutex<Child>) -> std::sync::MutexGuard<'_, Child> {
    child
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
