//! Sink writing sudo-style lines to the local syslog daemon.

use std::io;
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use syslog::{Facility, Formatter3164, LogFormat, Logger, LoggerBackend, Severity};

use crate::event::{Event, Priority, SYSLOG_IDENTIFIER};
use crate::sink::Sink;

/// Where the local syslog daemon listens.
pub const DEFAULT_SYSLOG_SOCKET: &str = "/dev/log";

/// Longest piece of a line sent as one syslog message. Longer lines are
/// split like sudo does, the pieces after the first starting with
/// `(command continued) `; rsyslog's default message limit is 8 KiB.
const MAX_PIECE: usize = 4000;

/// At most this many pieces per event. Past that the line is cut and ends
/// with a note of how much was cut (the journal keeps the whole command):
/// one huge command line must not flood syslog nor exhaust the syslog
/// daemon's per-process rate limit and hide the events that follow.
const MAX_PIECES: usize = 16;

/// Longest a write may block on a stalled syslog daemon.
const SEND_TIMEOUT: Duration = Duration::from_secs(1);

/// The name of journald's syslog socket in the directory of its native
/// socket: `/run/systemd/journal/dev-log`, which `/dev/log` links to on a
/// host where journald owns it (systemd's default).
pub const JOURNALD_SYSLOG_SOCKET_NAME: &str = "dev-log";

/// Syslog sink: facility `LOG_AUTHPRIV`, ident `jitsudo`, the event's
/// [`Event::message`] at the event's priority.
///
/// Connects on first use and reconnects (once per event) after an error,
/// e.g. when the syslog daemon was restarted.
///
/// It can defer to journald ([`Syslog::deferring_to`]): when its socket
/// is journald's own and the journald sink writes the event (whose
/// `MESSAGE` is this line, facility authpriv, ident `jitsudo`), journald's
/// forwarding to syslog delivers the line, and sending it too would put it
/// in the journal twice (and in auth.log twice).
pub struct Syslog {
    path: PathBuf,
    logger: Mutex<Option<Logger<LoggerBackend, Formatter3164>>>,
    deferral: Option<Deferral>,
}

/// When a [`Syslog`] sink leaves its line to journald's forwarding.
struct Deferral {
    /// journald's syslog socket.
    journald: PathBuf,
    /// Whether journald's forwarding may stand in for this sink (the
    /// journald sink writes the event, and this sink's own delivery is not
    /// required).
    allowed: Box<dyn Fn() -> bool + Send + Sync>,
    /// What [`Sink::prepare`] found: [`UNKNOWN`], [`JOURNALDS`] or
    /// [`NOT_JOURNALDS`].
    socket: AtomicU8,
}

const UNKNOWN: u8 = 0;
const JOURNALDS: u8 = 1;
const NOT_JOURNALDS: u8 = 2;

/// Whether the socket at `dev_log` is journald's syslog socket at
/// `journald`: both paths (symbolic links followed) name the same socket
/// inode. A missing path, or one that is not a socket, is not.
pub fn is_journald_socket(dev_log: &Path, journald: &Path) -> bool {
    let socket = |path: &Path| {
        std::fs::metadata(path)
            .ok()
            .filter(|m| m.file_type().is_socket())
            .map(|m| (m.dev(), m.ino()))
    };
    socket(journald).is_some_and(|id| socket(dev_log) == Some(id))
}

impl Default for Syslog {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Syslog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Syslog")
            .field("path", &self.path)
            .field(
                "defers_to",
                &self.deferral.as_ref().map(|d| d.journald.as_path()),
            )
            .finish()
    }
}

impl Syslog {
    /// Sink for the local syslog daemon at [`DEFAULT_SYSLOG_SOCKET`].
    pub fn new() -> Self {
        Self::with_path(DEFAULT_SYSLOG_SOCKET)
    }

    /// Sink for a syslog daemon (or test double) listening on `path`.
    pub fn with_path(path: impl Into<PathBuf>) -> Self {
        Syslog {
            path: path.into(),
            logger: Mutex::new(None),
            deferral: None,
        }
    }

    /// Leaves each line to journald's forwarding when this sink's socket
    /// is journald's syslog socket (`dev-log` beside `journal_socket`, the
    /// journald sink's native socket) and `allowed()` says journald's
    /// forwarding may stand in for this sink. Where the socket leads is
    /// looked up at [`Sink::prepare`] (at each event when not prepared); a
    /// line too long for one message is always sent (split, as sudo does),
    /// journald forwarding it whole where syslog daemons cut it.
    #[must_use]
    pub fn deferring_to(
        mut self,
        journal_socket: &Path,
        allowed: impl Fn() -> bool + Send + Sync + 'static,
    ) -> Self {
        let journald = journal_socket
            .parent()
            .unwrap_or(Path::new("/"))
            .join(JOURNALD_SYSLOG_SOCKET_NAME);
        self.deferral = Some(Deferral {
            journald,
            allowed: Box::new(allowed),
            socket: AtomicU8::new(UNKNOWN),
        });
        self
    }

    /// Whether `pieces` are left to journald's forwarding.
    fn deferred(&self, pieces: &[String]) -> bool {
        let Some(deferral) = &self.deferral else {
            return false;
        };
        if pieces.len() != 1 || !(deferral.allowed)() {
            return false;
        }
        match deferral.socket.load(Ordering::Relaxed) {
            UNKNOWN => is_journald_socket(&self.path, &deferral.journald),
            found => found == JOURNALDS,
        }
    }

    fn connect(&self) -> io::Result<Logger<LoggerBackend, Formatter3164>> {
        let formatter = Formatter3164 {
            facility: Facility::LOG_AUTHPRIV,
            hostname: None,
            process: SYSLOG_IDENTIFIER.to_owned(),
            pid: std::process::id(),
        };
        let logger = syslog::unix_custom(formatter, &self.path).map_err(|e| {
            io::Error::new(
                io::ErrorKind::NotConnected,
                format!("syslog at {}: {e}", self.path.display()),
            )
        })?;
        match &logger.backend {
            LoggerBackend::Unix(sock) => sock.set_write_timeout(Some(SEND_TIMEOUT))?,
            LoggerBackend::UnixStream(sock) => {
                sock.get_ref().set_write_timeout(Some(SEND_TIMEOUT))?;
            }
            // unix_custom only ever returns the two Unix backends.
            LoggerBackend::Udp(..) | LoggerBackend::Tcp(_) => {}
        }
        Ok(logger)
    }
}

impl Sink for Syslog {
    fn emit(&self, ev: &Event) -> io::Result<()> {
        let severity = severity(ev.priority());
        let pieces = split_line(&ev.message(), MAX_PIECE, MAX_PIECES);
        if self.deferred(&pieces) {
            return Ok(());
        }
        let mut cached = self.logger.lock().unwrap_or_else(PoisonError::into_inner);
        let mut reconnected = false;
        let mut next = 0;
        while next < pieces.len() {
            let mut logger = match cached.take() {
                Some(logger) => logger,
                None => self.connect()?,
            };
            match logger
                .formatter
                .format(&mut logger.backend, severity, &pieces[next])
            {
                Ok(()) => {
                    *cached = Some(logger);
                    next += 1;
                }
                // Dropping the logger closes the socket; retry once on a new one.
                Err(_) if !reconnected => reconnected = true,
                Err(e) => {
                    return Err(io::Error::other(format!(
                        "syslog at {}: {e}",
                        self.path.display()
                    )))
                }
            }
        }
        Ok(())
    }

    fn name(&self) -> &str {
        "syslog"
    }

    fn probe(&self) -> io::Result<()> {
        crate::sink::datagram_listener(&self.path)
    }

    /// Connects to the syslog daemon (a restarted one is reconnected to
    /// when a write fails, as after any connection), and looks up whether
    /// its socket is journald's (when deferring to journald).
    fn prepare(&self) {
        if let Some(deferral) = &self.deferral {
            let found = if is_journald_socket(&self.path, &deferral.journald) {
                JOURNALDS
            } else {
                NOT_JOURNALDS
            };
            deferral.socket.store(found, Ordering::Relaxed);
        }
        let mut cached = self.logger.lock().unwrap_or_else(PoisonError::into_inner);
        if cached.is_none() {
            *cached = self.connect().ok();
        }
    }
}

fn severity(p: Priority) -> Severity {
    match p {
        Priority::Emergency => Severity::LOG_EMERG,
        Priority::Alert => Severity::LOG_ALERT,
        Priority::Critical => Severity::LOG_CRIT,
        Priority::Error => Severity::LOG_ERR,
        Priority::Warning => Severity::LOG_WARNING,
        Priority::Notice => Severity::LOG_NOTICE,
        Priority::Info => Severity::LOG_INFO,
        Priority::Debug => Severity::LOG_DEBUG,
    }
}

/// Splits `line` into pieces of at most `max` bytes, preferring to break at
/// a space, continuation pieces prefixed with `(command continued) ` as
/// sudo does; keeps at most `max_pieces` and marks a cut.
fn split_line(line: &str, max: usize, max_pieces: usize) -> Vec<String> {
    const CONTINUED: &str = "(command continued) ";
    let mut pieces = Vec::new();
    let mut rest = line;
    let mut prefix = "";
    while !rest.is_empty() {
        if pieces.len() + 1 == max_pieces && prefix.len() + rest.len() > max {
            pieces.push(format!("{prefix}[{} more bytes not logged]", rest.len()));
            break;
        }
        let room = max.saturating_sub(prefix.len()).max(1);
        let take = if rest.len() <= room {
            rest.len()
        } else {
            let mut end = room;
            while !rest.is_char_boundary(end) {
                end -= 1;
            }
            match rest[..end].rfind(' ') {
                Some(space) if space > 0 => space,
                _ if end > 0 => end,
                // A single character wider than the room: take it whole.
                _ => rest.char_indices().nth(1).map_or(rest.len(), |(i, _)| i),
            }
        };
        pieces.push(format!("{prefix}{}", &rest[..take]));
        rest = rest[take..].trim_start_matches(' ');
        prefix = CONTINUED;
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventKind;
    use std::os::unix::net::UnixDatagram;
    use std::path::{Path, PathBuf};

    #[test]
    fn short_line_is_one_piece() {
        assert_eq!(split_line("a b c", 100, 4), vec!["a b c"]);
    }

    #[test]
    fn long_line_breaks_at_spaces_like_sudo() {
        let pieces = split_line("alice : COMMAND=/bin/echo aaaa bbbb cccc", 30, 10);
        assert_eq!(
            pieces,
            vec![
                "alice : COMMAND=/bin/echo",
                "(command continued) aaaa bbbb",
                "(command continued) cccc",
            ]
        );
        assert!(pieces.iter().all(|p| p.len() <= 30));
    }

    #[test]
    fn unbroken_text_is_cut_at_char_boundaries() {
        let pieces = split_line(&"\u{e9}".repeat(30), 25, 10);
        assert!(pieces.iter().all(|p| p.len() <= 25));
        let joined: String = pieces
            .iter()
            .map(|p| p.trim_start_matches("(command continued) "))
            .collect();
        assert_eq!(joined, "\u{e9}".repeat(30));
    }

    #[test]
    fn too_many_pieces_are_cut_with_a_note() {
        let line = "x ".repeat(1000);
        let pieces = split_line(&line, 40, 3);
        assert_eq!(pieces.len(), 3);
        assert!(pieces[2].starts_with("(command continued) ["));
        assert!(pieces[2].ends_with(" more bytes not logged]"));
    }

    #[test]
    fn writes_authpriv_lines_with_the_event_priority() {
        let path = std::env::temp_dir().join(format!(
            "jitsudo-audit-syslog-test-{}.sock",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&path);
        let server = UnixDatagram::bind(&path).expect("bind");
        let sink = Syslog::with_path(&path);
        let ev = Event::new(EventKind::ExecReject)
            .user("bob")
            .argv(["/bin/sh"])
            .reason("command not allowed");
        sink.emit(&ev).expect("emit");
        let mut buf = vec![0; 4096];
        let n = server.recv(&mut buf).expect("recv");
        let line = String::from_utf8_lossy(&buf[..n]);
        // authpriv (10) * 8 + warning (4)
        assert!(line.starts_with("<84>"), "{line}");
        let tail = format!("jitsudo[{}]: {}", std::process::id(), ev.message());
        assert!(line.ends_with(&tail), "{line}");

        // A restarted daemon (new socket at the same path) is reached again.
        drop(server);
        std::fs::remove_file(&path).expect("remove");
        let server = UnixDatagram::bind(&path).expect("rebind");
        sink.emit(&ev).expect("emit after restart");
        assert!(server.recv(&mut buf).is_ok());
        let _ = std::fs::remove_file(&path);
    }

    /// A scratch directory holding journald's syslog socket, bound (as
    /// journald's would be) at `journal/dev-log`, beside `journal/socket`.
    struct Journald {
        dir: PathBuf,
        dev_log: UnixDatagram,
    }

    impl Journald {
        fn bind(name: &str) -> Journald {
            let dir = std::env::temp_dir()
                .join(format!("jitsudo-audit-defer-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(dir.join("journal")).expect("mkdir");
            let dev_log = UnixDatagram::bind(dir.join("journal/dev-log")).expect("bind");
            dev_log.set_nonblocking(true).expect("nonblocking");
            Journald { dir, dev_log }
        }

        /// A syslog sink on `dev_log`, deferring to this journald when
        /// `allowed`, prepared as a worker prepares it.
        fn sink(&self, dev_log: &Path, allowed: bool) -> Syslog {
            let sink = Syslog::with_path(dev_log)
                .deferring_to(&self.dir.join("journal/socket"), move || allowed);
            sink.prepare();
            sink
        }

        /// The lines journald's syslog socket received.
        fn received(&self) -> Vec<String> {
            let mut buf = vec![0; 8192];
            std::iter::from_fn(|| {
                let n = self.dev_log.recv(&mut buf).ok()?;
                Some(String::from_utf8_lossy(&buf[..n]).into_owned())
            })
            .collect()
        }
    }

    impl Drop for Journald {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    #[test]
    fn defers_to_journald_only_when_dev_log_is_its_socket_and_that_is_allowed() {
        let journald = Journald::bind("decision");
        let dev_log = journald.dir.join("log");
        std::os::unix::fs::symlink("journal/dev-log", &dev_log).expect("symlink");
        let ev = Event::new(EventKind::ExecAccept)
            .user("bob")
            .command("/bin/id");
        assert!(is_journald_socket(
            &dev_log,
            &journald.dir.join("journal/dev-log")
        ));

        // Same inode, journald sink on, syslog not required: nothing sent.
        journald.sink(&dev_log, true).emit(&ev).expect("deferred");
        assert_eq!(journald.received(), Vec::<String>::new());

        // The journald sink off (or syslog required): the line is sent.
        journald.sink(&dev_log, false).emit(&ev).expect("emit");
        let lines = journald.received();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].ends_with(&ev.message()), "{lines:?}");

        // A line too long for one message is sent, split, all the same.
        let long = Event::new(EventKind::ExecAccept)
            .user("bob")
            .argv(std::iter::repeat_n("word", 2000));
        journald.sink(&dev_log, true).emit(&long).expect("emit");
        assert!(journald.received().len() > 1);

        // Not prepared: looked up at the event.
        let unprepared =
            Syslog::with_path(&dev_log).deferring_to(&journald.dir.join("journal/socket"), || true);
        unprepared.emit(&ev).expect("deferred");
        assert_eq!(journald.received(), Vec::<String>::new());
    }

    #[test]
    fn another_socket_or_none_is_not_journalds() {
        let journald = Journald::bind("other");
        let other_path = journald.dir.join("rsyslog.sock");
        let other = UnixDatagram::bind(&other_path).expect("bind");
        let ev = Event::new(EventKind::ExecAccept)
            .user("bob")
            .command("/bin/id");

        // A syslog daemon's own socket: the line goes there.
        assert!(!is_journald_socket(
            &other_path,
            &journald.dir.join("journal/dev-log")
        ));
        journald.sink(&other_path, true).emit(&ev).expect("emit");
        let mut buf = vec![0; 4096];
        let n = other.recv(&mut buf).expect("recv");
        assert!(String::from_utf8_lossy(&buf[..n]).ends_with(&ev.message()));
        assert_eq!(journald.received(), Vec::<String>::new());

        // No socket at all: the failure is reported, never taken as sent.
        let missing = journald.dir.join("missing");
        assert!(!is_journald_socket(
            &missing,
            &journald.dir.join("journal/dev-log")
        ));
        assert!(journald.sink(&missing, true).emit(&ev).is_err());
        // Nor a link to journald's socket once that is gone.
        let dev_log = journald.dir.join("log");
        std::os::unix::fs::symlink("journal/dev-log", &dev_log).expect("symlink");
        std::fs::remove_file(journald.dir.join("journal/dev-log")).expect("remove");
        assert!(!is_journald_socket(
            &dev_log,
            &journald.dir.join("journal/dev-log")
        ));
    }

    #[test]
    fn a_connection_prepared_before_a_restart_is_made_again() {
        let path = std::env::temp_dir().join(format!(
            "jitsudo-audit-syslog-prepare-{}.sock",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&path);
        let first = UnixDatagram::bind(&path).expect("bind");
        let sink = Syslog::with_path(&path);
        sink.prepare();
        drop(first);
        std::fs::remove_file(&path).expect("remove");
        let second = UnixDatagram::bind(&path).expect("rebind");
        let ev = Event::new(EventKind::ExecAccept).user("bob");
        sink.emit(&ev).expect("emit");
        let mut buf = vec![0; 4096];
        let n = second.recv(&mut buf).expect("recv");
        assert!(String::from_utf8_lossy(&buf[..n]).ends_with(&ev.message()));
        let _ = std::fs::remove_file(&path);
    }
}
