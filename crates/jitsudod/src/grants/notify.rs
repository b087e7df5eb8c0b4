//! Telling approvers that a request waits for them: a one-line notice on
//! each terminal of a logged-in approver (as `write(1)` would), found from
//! the login records (utmp, and logind's session files where logind
//! runs). A terminal is written only if it is a character device owned by
//! that approver and open to messages (`mesg y`: group-writable); never the
//! requester's, never anyone else's; at most [`MAX_TERMINALS`] per request,
//! and [`MAX_NOTICES`] requests of one requester per [`NOTICE_WINDOW`].

use std::collections::BTreeSet;
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::PathBuf;

use jitsudo_policy::Approval;

use super::record::Record;
use super::workflow::with_caller_of;

/// The login records.
const UTMP: &str = "/run/utmp";
/// logind's session files (`UID=`, `TTY=` lines).
const LOGIND_SESSIONS: &str = "/run/systemd/sessions";
/// Most login records and session files read.
const MAX_SESSIONS: usize = 4096;
/// Most terminals one request's notice is written to.
const MAX_TERMINALS: usize = 64;
/// Longest part of the reason shown (characters).
const MAX_REASON_SHOWN: usize = 120;
/// A requester's requests are told to approvers only up to this many per
/// [`NOTICE_WINDOW`] seconds (request and cancel in a loop must not flood
/// their terminals).
pub const MAX_NOTICES: u32 = 8;
/// See [`MAX_NOTICES`].
pub const NOTICE_WINDOW: i64 = 600;

/// The size of one glibc `struct utmpx` on Linux, and where its fields are.
const UTMP_RECORD: usize = 384;
const UT_TYPE: usize = 0;
const UT_LINE: std::ops::Range<usize> = 8..40;
const UT_USER: std::ops::Range<usize> = 44..76;
/// `ut_type` of a login session.
const USER_PROCESS: i16 = 7;

/// A logged-in session: who, on which terminal (`pts/3`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Session {
    uid: u32,
    line: String,
}

/// Writes the notice of pending request `record` to the terminals of its
/// logged-in approvers; the names of those reached.
pub fn approvers(approval: &Approval, record: &Record) -> Vec<String> {
    let text = notice(record);
    let mut reached = BTreeSet::new();
    let mut written = 0;
    for session in sessions() {
        if written >= MAX_TERMINALS {
            break;
        }
        if session.uid == record.requester_uid {
            continue;
        }
        let approver = with_caller_of(session.uid, |caller| {
            approval
                .may_review(caller)
                .then(|| caller.name.unwrap_or_default().to_owned())
        })
        .flatten();
        let Some(name) = approver else { continue };
        if write_to(&session, &text) {
            written += 1;
            reached.insert(name);
        }
    }
    reached.into_iter().collect()
}

/// The one line (between carriage returns, as `write(1)` puts it).
fn notice(record: &Record) -> String {
    let reason: String = record
        .reason
        .as_deref()
        .unwrap_or("no reason given")
        .chars()
        .take(MAX_REASON_SHOWN)
        .collect();
    format!(
        "\r\njitsudo: {} asks for grant {} (rule {}, {}s): {reason}; review it: jitsudoctl \
         approve {} (or deny {} --reason TEXT)\r\n",
        record.requester, record.id, record.rule_id, record.duration, record.id, record.id
    )
}

/// Writes `text` to the session's terminal if it is one its user owns and
/// accepts messages on.
fn write_to(session: &Session, text: &str) -> bool {
    let Some(path) = terminal_path(&session.line) else {
        return false;
    };
    let opened = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NOCTTY | libc::O_NONBLOCK | libc::O_NOFOLLOW)
        .open(&path);
    let Ok(mut tty) = opened else { return false };
    let fits = tty.metadata().is_ok_and(|m| {
        m.file_type().is_char_device() && m.uid() == session.uid && m.mode() & 0o020 != 0
    });
    fits && tty.write_all(text.as_bytes()).is_ok()
}

/// `/dev/<line>` for a plain terminal name (`pts/3`, `tty2`), else `None`.
fn terminal_path(line: &str) -> Option<PathBuf> {
    let plain = !line.is_empty()
        && line.split('/').all(|part| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && part.bytes().all(|b| b.is_ascii_alphanumeric())
        });
    plain.then(|| PathBuf::from("/dev").join(line))
}

/// Every logged-in session, from utmp and logind, each once.
fn sessions() -> BTreeSet<Session> {
    let mut found: BTreeSet<Session> = utmp_sessions(&read_bounded(UTMP)).collect();
    if let Ok(dir) = std::fs::read_dir(LOGIND_SESSIONS) {
        for entry in dir.flatten().take(MAX_SESSIONS) {
            let text = read_bounded(entry.path());
            found.extend(logind_session(&String::from_utf8_lossy(&text)));
        }
    }
    found
}

/// At most [`MAX_SESSIONS`] records' worth of a file (nothing if unreadable).
fn read_bounded(path: impl AsRef<std::path::Path>) -> Vec<u8> {
    use std::io::Read;
    let mut bytes = Vec::new();
    if let Ok(file) = std::fs::File::open(path) {
        let limit = (MAX_SESSIONS * UTMP_RECORD) as u64;
        let _ = file.take(limit).read_to_end(&mut bytes);
    }
    bytes
}

/// The login sessions of a utmp file's records.
fn utmp_sessions(bytes: &[u8]) -> impl Iterator<Item = Session> + '_ {
    bytes.chunks_exact(UTMP_RECORD).filter_map(|record| {
        let kind = i16::from_ne_bytes([record[UT_TYPE], record[UT_TYPE + 1]]);
        if kind != USER_PROCESS {
            return None;
        }
        let line = c_field(&record[UT_LINE])?;
        let user = c_field(&record[UT_USER])?;
        let uid = crate::accounts::resolve_user(user.as_bytes())?.uid;
        Some(Session { uid, line })
    })
}

/// A NUL-padded text field.
fn c_field(bytes: &[u8]) -> Option<String> {
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    let text = std::str::from_utf8(&bytes[..end]).ok()?;
    (!text.is_empty()).then(|| text.to_owned())
}

/// The session a logind session file describes, if it has a terminal.
fn logind_session(text: &str) -> Option<Session> {
    let value = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .map(str::to_owned)
    };
    let uid = value("UID")?.parse().ok()?;
    let line = value("TTY")?;
    Some(Session { uid, line })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utmp_layout_is_glibcs() {
        assert_eq!(std::mem::size_of::<libc::utmpx>(), UTMP_RECORD);
        assert_eq!(std::mem::offset_of!(libc::utmpx, ut_type), UT_TYPE);
        assert_eq!(std::mem::offset_of!(libc::utmpx, ut_line), UT_LINE.start);
        assert_eq!(std::mem::offset_of!(libc::utmpx, ut_user), UT_USER.start);
    }

    #[test]
    fn only_plain_terminal_names_are_written() {
        assert_eq!(terminal_path("pts/3"), Some(PathBuf::from("/dev/pts/3")));
        assert_eq!(terminal_path("tty2"), Some(PathBuf::from("/dev/tty2")));
        for bad in [
            "",
            "../etc/passwd",
            "pts/../../etc/shadow",
            "/etc/x",
            "pts//1",
            ":0",
        ] {
            assert_eq!(terminal_path(bad), None, "{bad}");
        }
    }

    #[test]
    fn logind_session_files_give_uid_and_terminal() {
        let text = "# This is private data.\nUID=1001\nUSER=alice\nACTIVE=1\nTTY=pts/4\n";
        assert_eq!(
            logind_session(text),
            Some(Session {
                uid: 1001,
                line: "pts/4".into()
            })
        );
        assert_eq!(logind_session("UID=1001\nUSER=alice\n"), None);
    }
}
