//! The real system services the tests rely on, as on Debian 12 booted
//! with systemd: systemd-journald (native structured fields, and
//! `/dev/log`, a link to its syslog socket) forwarding to rsyslogd
//! (authpriv to `/var/log/auth.log`). On a machine whose PID 1 is not
//! systemd they are started here, once, and left running for later test
//! binaries; how is [`jitsudo_audit::test_support::daemons`].

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jitsudo_audit::test_support::daemons;
use serde_json::Value;

use crate::util::{check_status, poll_until, run_checked};

/// journald's native protocol socket.
pub const JOURNAL_SOCKET: &str = jitsudo_audit::DEFAULT_JOURNAL_SOCKET;
/// The syslog socket: a link to journald's.
pub const DEV_LOG: &str = jitsudo_audit::DEFAULT_SYSLOG_SOCKET;
/// Where Debian's rsyslog puts auth and authpriv messages.
pub const AUTH_LOG: &str = daemons::AUTH_LOG;

/// What `tests/run.sh` installs before any test runs: the programs the
/// harness drives and the PAM service jitsudod authenticates through.
const PREPARED_BY_RUN_SH: [&str; 7] = [
    "/usr/bin/sudo",
    "/usr/sbin/visudo",
    "/usr/sbin/rsyslogd",
    daemons::JOURNALD_BINARY,
    "/usr/bin/journalctl",
    "/usr/bin/systemd-socket-activate",
    "/etc/pam.d/jitsudo",
];

/// Panics, saying what to do, when the machine was not prepared by
/// `tests/run.sh`, the suite's entry point (plain `cargo test` works only
/// after that has run once).
pub fn require_prepared_machine() {
    let missing: Vec<&str> = PREPARED_BY_RUN_SH
        .into_iter()
        .filter(|path| !Path::new(path).exists())
        .collect();
    assert!(
        missing.is_empty(),
        "{} missing: the test suite's entry point is tests/run.sh, which installs what the \
         tests need (sudo, rsyslog, journald, the PAM service). Run it once as root; after \
         that `cargo test` works on its own",
        missing.join(", ")
    );
}

/// Makes sure journald is running and accepting native and syslog
/// messages.
pub fn ensure_journald() {
    daemons::ensure_journald().unwrap_or_else(|e| panic!("systemd-journald: {e}"));
}

/// Makes sure `/dev/log` is journald's and journald's forwarding reaches
/// rsyslogd (replacing a syslog daemon set up otherwise), proven by an
/// entry that reached [`AUTH_LOG`].
pub fn ensure_rsyslog() {
    daemons::ensure_rsyslogd().unwrap_or_else(|e| panic!("rsyslogd behind journald: {e}"));
}

/// Journal entries (as JSON objects) whose `field` equals `value`.
pub fn journal_entries(field: &str, value: &str) -> Vec<serde_json::Map<String, Value>> {
    let out = run_checked(
        Command::new("journalctl")
            .args(["--no-pager", "-o", "json", "--merge"])
            .arg(format!("{field}={value}")),
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| match serde_json::from_str::<Value>(l) {
            Ok(Value::Object(map)) => Some(map),
            _ => None,
        })
        .collect()
}

/// The text of a journal field: journald's JSON gives a string, or an array
/// of byte values for non-UTF-8 data, or an array of those for repeated
/// fields (joined with newlines here).
pub fn field_text(entry: &serde_json::Map<String, Value>, field: &str) -> Option<String> {
    fn text(v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Array(items) if items.iter().all(Value::is_u64) => {
                let bytes: Vec<u8> = items
                    .iter()
                    .filter_map(|b| b.as_u64())
                    .map(|b| b as u8)
                    .collect();
                Some(String::from_utf8_lossy(&bytes).into_owned())
            }
            Value::Array(items) => {
                let parts: Vec<String> = items.iter().filter_map(text).collect();
                Some(parts.join("\n"))
            }
            _ => None,
        }
    }
    entry.get(field).and_then(text)
}

/// Waits (bounded) for journal entries where `field == value` and some
/// field contains `marker`; returns them.
pub fn wait_for_journal(
    field: &str,
    value: &str,
    marker: &str,
    timeout: Duration,
) -> Vec<serde_json::Map<String, Value>> {
    poll_until(timeout, || {
        let hits: Vec<_> = journal_entries(field, value)
            .into_iter()
            .filter(|e| {
                e.keys()
                    .any(|k| field_text(e, k).is_some_and(|t| t.contains(marker)))
            })
            .collect();
        (!hits.is_empty()).then_some(hits)
    })
    .unwrap_or_default()
}

/// Waits (bounded) for lines of a log file containing all of `needles`.
pub fn wait_for_log_lines(path: &Path, needles: &[&str], timeout: Duration) -> Vec<String> {
    poll_until(timeout, || {
        let text = fs::read(path).ok()?;
        let lines: Vec<String> = String::from_utf8_lossy(&text)
            .lines()
            .filter(|l| needles.iter().all(|n| l.contains(n)))
            .map(String::from)
            .collect();
        (!lines.is_empty()).then_some(lines)
    })
    .unwrap_or_default()
}

/// Everything the journal holds from `since` on (a second early, to be
/// safe), in journalctl's export format: every field of every entry, as
/// raw bytes, for searching.
pub fn journal_since(since: SystemTime) -> Vec<u8> {
    journal_export_since(since, &[])
}

/// The entries from `since` on (as [`journal_since`]) that journalctl's
/// `filters` select (`FIELD=value` matches, `--grep=...`), in export
/// format: the part of a busy journal a test looks at.
pub fn journal_export_since(since: SystemTime, filters: &[&str]) -> Vec<u8> {
    let secs = since
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
        .saturating_sub(1);
    let mut cmd = Command::new("journalctl");
    cmd.args(["--no-pager", "-o", "export", "--merge"])
        .arg(format!("--since=@{secs}"))
        .args(filters);
    let out = cmd.output().expect("run journalctl");
    // With --grep, journalctl exits 1, saying nothing, when nothing matched.
    if out.status.code() == Some(1) && out.stdout.is_empty() && out.stderr.is_empty() {
        return Vec::new();
    }
    check_status(&cmd, &out);
    out.stdout
}

/// What a log file gains after a point: remembers the file's length when
/// made, and reads what was appended since.
#[derive(Debug, Clone)]
pub struct LogTail {
    path: PathBuf,
    from: u64,
}

impl LogTail {
    /// Starts at the current end of `path` (or its start if it does not
    /// exist yet).
    pub fn new(path: &Path) -> LogTail {
        LogTail {
            path: path.to_path_buf(),
            from: fs::metadata(path).map_or(0, |m| m.len()),
        }
    }

    /// What was appended since [`LogTail::new`] (everything, if the file
    /// was rotated or truncated in between).
    pub fn read(&self) -> Vec<u8> {
        let Ok(mut file) = fs::File::open(&self.path) else {
            return Vec::new();
        };
        let len = file.metadata().map_or(0, |m| m.len());
        let from = if len < self.from { 0 } else { self.from };
        let mut text = Vec::new();
        file.seek(SeekFrom::Start(from))
            .and_then(|_| file.read_to_end(&mut text))
            .unwrap_or_else(|e| panic!("read {}: {e}", self.path.display()));
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_text_decodes_all_journal_json_shapes() {
        let entry: serde_json::Map<String, Value> =
            serde_json::from_str(r#"{"A":"text","B":[104,105],"C":["x",[121]]}"#).unwrap();
        assert_eq!(field_text(&entry, "A").as_deref(), Some("text"));
        assert_eq!(field_text(&entry, "B").as_deref(), Some("hi"));
        assert_eq!(field_text(&entry, "C").as_deref(), Some("x\ny"));
        assert_eq!(field_text(&entry, "D"), None);
    }

    #[test]
    fn log_tail_reads_only_what_was_appended() {
        let path = std::env::temp_dir().join(format!("jt-log-tail-{}", std::process::id()));
        fs::write(&path, "old\n").unwrap();
        let tail = LogTail::new(&path);
        assert_eq!(tail.read(), b"");
        fs::write(&path, "old\nnew\n").unwrap();
        assert_eq!(tail.read(), b"new\n");
        fs::write(&path, "x\n").unwrap();
        assert_eq!(tail.read(), b"x\n");
        fs::remove_file(&path).unwrap();
    }
}
