//! Helpers for integration tests that need a real journald and syslog
//! daemon (feature `test-support`).
//!
//! On a machine whose PID 1 is not systemd nothing runs these daemons:
//! [`ensure_journald`] and [`ensure_rsyslogd`] start them as a Debian 12
//! host booted with systemd runs them (journald owning `/dev/log` and
//! forwarding to rsyslogd; see [`daemons`]). They keep running after the
//! tests, shared by every later test run. Both need root; call
//! [`require_root`] first so that an unprivileged run fails with a clear
//! message instead of passing.
//!
//! [`wait_for_journal_entry`] reads entries back with `journalctl -o
//! export`, which is binary-safe and never shortens long fields (JSON
//! output shows fields over 4096 bytes as `null` unless `--all` is given).

pub mod daemons;

use std::fs;
use std::io;
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub use daemons::{ensure_journald, ensure_rsyslogd, AUTH_LOG, JOURNALD_BINARY};

/// How long the helpers wait for a daemon to come up or an entry to appear.
pub const WAIT: Duration = Duration::from_secs(10);

/// Fails the calling test unless it runs as root.
///
/// # Panics
///
/// When the effective uid is not 0, with a message saying how to run the
/// tests.
#[track_caller]
pub fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "these integration tests talk to the real journald and rsyslogd, start them when \
         needed and read /var/log/auth.log: run them as root (e.g. `sudo -E cargo test -p \
         jitsudo-audit`)"
    );
}

/// A string unique to this call, to find one's own entry in the logs.
pub fn unique_marker(tag: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{tag}-{}-{nanos}", std::process::id())
}

/// Whether a daemon accepts connections on the unix socket at `path`
/// (datagram or stream).
pub fn socket_is_live(path: &Path) -> bool {
    match UnixDatagram::unbound().and_then(|s| s.connect(path)) {
        Ok(()) => true,
        Err(e) if e.raw_os_error() == Some(libc::EPROTOTYPE) => UnixStream::connect(path).is_ok(),
        Err(_) => false,
    }
}

/// One journal entry as read from `journalctl -o export`: its fields in
/// order, values as raw bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JournalEntry {
    /// `(name, value)` pairs.
    pub fields: Vec<(String, Vec<u8>)>,
}

impl JournalEntry {
    /// Value of the first field called `name`.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }
}

/// Parses the journal export format (entries separated by an empty line;
/// fields `NAME=value\n` or `NAME\n` + 64-bit little-endian length + value +
/// `\n`).
pub fn parse_export(mut data: &[u8]) -> io::Result<Vec<JournalEntry>> {
    fn bad(what: &str) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("journal export: {what}"),
        )
    }
    let mut entries = Vec::new();
    let mut current = JournalEntry::default();
    while !data.is_empty() {
        let eol = data
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| bad("unterminated line"))?;
        let line = &data[..eol];
        data = &data[eol + 1..];
        if line.is_empty() {
            entries.push(std::mem::take(&mut current));
            continue;
        }
        if let Some(eq) = line.iter().position(|&b| b == b'=') {
            let name = String::from_utf8_lossy(&line[..eq]).into_owned();
            current.fields.push((name, line[eq + 1..].to_vec()));
        } else {
            let name = String::from_utf8_lossy(line).into_owned();
            let (len, rest) = data
                .split_first_chunk::<8>()
                .ok_or_else(|| bad("truncated length"))?;
            let len =
                usize::try_from(u64::from_le_bytes(*len)).map_err(|_| bad("length overflows"))?;
            if rest.len() < len + 1 || rest[len] != b'\n' {
                return Err(bad("truncated binary field"));
            }
            current.fields.push((name, rest[..len].to_vec()));
            data = &rest[len + 1..];
        }
    }
    if !current.fields.is_empty() {
        entries.push(current);
    }
    Ok(entries)
}

/// Journal entries whose field `name` is exactly `value`.
pub fn journal_entries(name: &str, value: &str) -> io::Result<Vec<JournalEntry>> {
    let output = Command::new("journalctl")
        .args(["--no-pager", "-o", "export"])
        .arg(format!("{name}={value}"))
        .stdin(Stdio::null())
        .output()?;
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "journalctl failed: {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    parse_export(&output.stdout)
}

/// Waits up to [`WAIT`] for the journal entry whose field `name` is `value`.
pub fn wait_for_journal_entry(name: &str, value: &str) -> io::Result<JournalEntry> {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(entry) = journal_entries(name, value)?.pop() {
            return Ok(entry);
        }
        if Instant::now() >= deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no journal entry with {name}={value} after {WAIT:?}"),
            ));
        }
        sleep(Duration::from_millis(100));
    }
}

/// Waits up to [`WAIT`] until `path` has at least `count` lines containing
/// `needle`, and returns all such lines (lossily decoded).
pub fn wait_for_log_lines(path: &Path, needle: &str, count: usize) -> io::Result<Vec<String>> {
    let deadline = Instant::now() + WAIT;
    loop {
        let lines: Vec<String> = match fs::read(path) {
            Ok(data) => String::from_utf8_lossy(&data)
                .lines()
                .filter(|l| l.contains(needle))
                .map(str::to_owned)
                .collect(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        if lines.len() >= count {
            return Ok(lines);
        }
        if Instant::now() >= deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "{} of {count} lines with {needle:?} in {} after {WAIT:?}",
                    lines.len(),
                    path.display()
                ),
            ));
        }
        sleep(Duration::from_millis(100));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_text_and_binary_export_fields() {
        let mut data = b"A=1\nB\n".to_vec();
        data.extend_from_slice(&3u64.to_le_bytes());
        data.extend_from_slice(b"x\ny\n\nC=\xff\n\n");
        let entries = parse_export(&data).expect("parse");
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].get("A"), Some(&b"1"[..]));
        assert_eq!(entries[0].get("B"), Some(&b"x\ny"[..]));
        assert_eq!(entries[1].get("C"), Some(&b"\xff"[..]));
        assert!(parse_export(b"B\n\x05\0").is_err());
    }
}
