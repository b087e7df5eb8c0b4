//! Audit trail of jitsudo.
//!
//! The model ([`Event`], [`EventKind`]) is pure; the sinks are the only
//! I/O:
//!
//! * [`Journald`] — journald's native protocol, binary-safe structured
//!   `JITSUDO_*` fields plus `MESSAGE`, `MESSAGE_ID`, `PRIORITY`,
//!   `SYSLOG_IDENTIFIER=jitsudo` and `SYSLOG_FACILITY=10` (authpriv);
//! * [`Syslog`] — the human line ([`Event::message`], in sudo's format) to
//!   `LOG_AUTHPRIV` with ident `jitsudo`, or left to journald's
//!   forwarding of the journald entry where `/dev/log` is journald's
//!   ([`Syslog::deferring_to`]);
//! * [`Trail`] — the local JSON-lines trail, each record naming the
//!   SHA-256 of the one before it ([`verify`] proves the chain);
//! * [`Audit`] — fan-out to several sinks that never fails the caller.
//!
//! ```
//! use jitsudo_audit::{Event, EventKind};
//!
//! let ev = Event::new(EventKind::ExecAccept)
//!     .user("alice")
//!     .uid(1000)
//!     .tty(Some("pts/0"))
//!     .cwd("/home/alice")
//!     .run_as("root")
//!     .command("/usr/bin/id")
//!     .argv(["id", "-u"])
//!     .rule("admins");
//! assert_eq!(
//!     ev.message(),
//!     "alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id -u"
//! );
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod escape;
mod event;
mod journal_entry;
mod journald;
pub mod recording;
mod sink;
mod syslog_sink;
#[cfg(feature = "test-support")]
pub mod test_support;
mod trail;

pub use event::{
    field, signal_name, Event, EventKind, ExitStatus, FieldName, InvalidFieldName, Priority,
    FIELD_PREFIX, SYSLOG_FACILITY_AUTHPRIV, SYSLOG_IDENTIFIER,
};
pub use journal_entry::{record_from_journal, JOURNAL_SOURCE};
pub use journald::{Journald, Transport, DEFAULT_JOURNAL_SOCKET};
pub use sink::{Audit, Sink, SinkError};
pub use syslog_sink::{
    is_journald_socket, Syslog, DEFAULT_SYSLOG_SOCKET, JOURNALD_SYSLOG_SOCKET_NAME,
};
pub use trail::{
    check_checkpoints, head_path, read, verify, Broken, Checkpoint, Checkpointer, Head, Mismatch,
    Record, Trail, Verified, VerifyError, DEFAULT_TRAIL, GENESIS, TRAIL_FILE, TRAIL_HEAD,
    TRAIL_RECORDS, TRAIL_START,
};

/// Does once, in a process that is about to fork writers (jitsudod's fork
/// server), what each of them would otherwise do for itself: reads the boot
/// id the trail's records name and lets SHA-256 probe the CPU's features
/// (their hash). Nothing is opened here: each process opens
/// its own trail files (see [`Trail`]) and its own journald socket, so that
/// no two processes share a descriptor.
pub fn prepare() {
    trail::prepare();
}
