//! The daemon's side of the audit trail: which sinks, the record of a
//! request from which every event about it is built, and the guard that
//! keeps a command from starting unless its `exec.accept` was logged.

use std::ffi::OsString;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

use jitsudo_audit::{
    Audit, Checkpointer, Event, EventKind, ExitStatus, FieldName, Journald, Sink, Syslog, Trail,
};
use jitsudo_policy::{AuditFailure, AuditGuard, AuditSink};
use jitsudo_proto::Failure;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

/// Where this process's sinks write: the trail and journald's socket.
#[derive(Debug, Clone)]
pub struct SinkPaths {
    /// The JSON-lines trail (`--audit-file`).
    pub trail: PathBuf,
    /// journald's native socket (`--journal-socket`).
    pub journal: PathBuf,
    /// The directory of session recordings (`--session-dir`).
    pub sessions: PathBuf,
}

static PATHS: OnceLock<SinkPaths> = OnceLock::new();

/// Sets where [`sinks`] write, once, at start-up (the daemon from its
/// options, a worker from the arguments the daemon gave it).
pub fn configure(paths: SinkPaths) {
    let _ = PATHS.set(paths);
}

fn paths() -> SinkPaths {
    PATHS.get().cloned().unwrap_or_else(|| SinkPaths {
        trail: PathBuf::from(jitsudo_audit::DEFAULT_TRAIL),
        journal: PathBuf::from(jitsudo_audit::DEFAULT_JOURNAL_SOCKET),
        sessions: PathBuf::from(jitsudo_audit::recording::DEFAULT_SESSION_DIR),
    })
}

/// The arguments telling a worker where to log, as this process does.
pub fn worker_args() -> [OsString; 6] {
    let paths = paths();
    [
        "--audit-file".into(),
        paths.trail.into_os_string(),
        "--journal-socket".into(),
        paths.journal.into_os_string(),
        "--session-dir".into(),
        paths.sessions.into_os_string(),
    ]
}

/// The directory of session recordings.
pub fn session_dir() -> PathBuf {
    paths().sessions
}

/// The sinks every jitsudo process logs to: journald, syslog (the sink
/// names `journald`, `syslog`, `file` are those of `audit_sinks`) and the
/// local trail, each written only while [`enable`] names it.
pub fn sinks() -> Audit {
    let paths = paths();
    let syslog = Syslog::new().deferring_to(&paths.journal, journald_stands_in_for_syslog);
    Audit::new()
        .with_sink(Enabled(
            Journald::with_path(paths.journal),
            AuditSink::Journald,
        ))
        .with_sink(Enabled(syslog, AuditSink::Syslog))
        .with_sink(Enabled(Trail::new(paths.trail), AuditSink::File))
}

/// The checkpoints of the trail [`sinks`] write.
pub fn checkpointer() -> Checkpointer {
    Checkpointer::new(Trail::new(paths().trail))
}

/// The sinks this process writes (`audit_log`), one bit each; all until
/// the policy (in the daemon) or the job (in a worker) says otherwise.
static ENABLED: AtomicU8 = AtomicU8::new(u8::MAX);

/// The sinks an `exec.accept` must reach (`audit_sinks`), one bit each;
/// all until the policy or the job says otherwise.
static REQUIRED: AtomicU8 = AtomicU8::new(u8::MAX);

/// Writes events to the sinks of `log` only, from now on in this process,
/// `required` being the sinks that must take them (`audit_sinks`).
pub fn enable(log: &[AuditSink], required: &[AuditSink]) {
    ENABLED.store(bits(log), Ordering::Relaxed);
    REQUIRED.store(bits(required), Ordering::Relaxed);
}

/// Whether `sink` is written.
pub fn enabled(sink: AuditSink) -> bool {
    ENABLED.load(Ordering::Relaxed) & bit(sink) != 0
}

/// Whether journald's forwarding to syslog may deliver the syslog sink's
/// line (when `/dev/log` is journald's socket, see
/// [`Syslog::deferring_to`]): only while the journald sink writes the
/// event, and never when `audit_sinks` requires syslog, whose success
/// must then be syslog's own, not journald's.
fn journald_stands_in_for_syslog() -> bool {
    enabled(AuditSink::Journald) && REQUIRED.load(Ordering::Relaxed) & bit(AuditSink::Syslog) == 0
}

fn bits(sinks: &[AuditSink]) -> u8 {
    sinks.iter().fold(0, |bits, sink| bits | bit(*sink))
}

fn bit(sink: AuditSink) -> u8 {
    match sink {
        AuditSink::Journald => 1,
        AuditSink::Syslog => 2,
        AuditSink::File => 4,
    }
}

/// A sink written only while it is [`enabled`]; a sink left out of
/// `audit_log` takes every event without writing it (the policy makes sure
/// no required sink is left out).
struct Enabled<S>(S, AuditSink);

impl<S: Sink> Sink for Enabled<S> {
    fn emit(&self, ev: &Event) -> io::Result<()> {
        if enabled(self.1) {
            self.0.emit(ev)
        } else {
            Ok(())
        }
    }

    fn name(&self) -> &str {
        self.1.name()
    }

    /// A sink left out is not probed (probing the trail would make it).
    fn probe(&self) -> io::Result<()> {
        if enabled(self.1) {
            self.0.probe()
        } else {
            Ok(())
        }
    }

    /// Prepared whether or not the job will name it (a worker prepares
    /// before its job says): preparing writes and makes nothing.
    fn prepare(&self) {
        self.0.prepare();
    }
}

/// Logs the `exec.accept` of `record` and tells whether its command may
/// start: with `audit_failure = "deny"`, only when every required sink
/// took the event. A refusal is itself logged (as `exec.reject`) to the
/// sinks that still work; the failure the caller gets says what to do.
pub fn admit(audit: &Audit, record: &AuditRecord) -> Result<(), Failure> {
    let failures = audit.emit(&record.event(EventKind::ExecAccept));
    let missed: Vec<String> = failures
        .iter()
        .filter(|f| record.guard.required.iter().any(|s| s.name() == f.sink))
        .map(ToString::to_string)
        .collect();
    if missed.is_empty() {
        return Ok(());
    }
    let reason = format!("audit trail unavailable: {}", missed.join("; "));
    let allowed = record.guard.failure == AuditFailure::Allow;
    let note = if allowed {
        "command run (audit_failure = allow)"
    } else {
        "command refused"
    };
    audit.emit(
        &record
            .event(EventKind::AuditFail)
            .reason(format!("{reason}; {note}")),
    );
    if allowed {
        return Ok(());
    }
    audit.emit(&record.rejected(&reason));
    Err(Failure::new(format!(
        "unable to log the command to the audit trail ({}), so it was not run: ask an \
         administrator to check the audit sinks (jitsudoctl status)",
        missed.join("; ")
    )))
}

/// Everything logged about one request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Caller's name.
    pub user: ByteBuf,
    /// Caller's uid.
    pub uid: u32,
    /// Caller's pid.
    pub pid: i32,
    /// Caller's terminal.
    pub tty: Option<String>,
    /// Caller's working directory.
    pub cwd: ByteBuf,
    /// Target user's name.
    pub run_as: ByteBuf,
    /// Target group's name, with `-g`.
    pub run_as_group: Option<ByteBuf>,
    /// Resolved command path (or what was typed, when it was not found).
    pub command: ByteBuf,
    /// The argv, `argv[0]` included. Not serialized: a job already carries
    /// it (see [`crate::request::job::Job::audit_record`]), and sending it twice
    /// would double the size of an ARG_MAX-sized job.
    #[serde(skip)]
    pub argv: Vec<ByteBuf>,
    /// Deciding rule.
    pub rule: Option<String>,
    /// Hash of the policy that decided.
    pub policy_hash: Option<String>,
    /// The grant the command runs under.
    pub grant: Option<String>,
    /// The caller's login session (audit session id), if it has one.
    pub session: Option<u32>,
    /// Names of the variables the caller set on the command line.
    pub env_added: Vec<ByteBuf>,
    /// What the trail must take before the command starts.
    pub guard: AuditGuard,
    /// The id of the command's session recording, once made.
    pub recording: Option<String>,
}

impl AuditRecord {
    /// An event of `kind` carrying this record's fields.
    pub fn event(&self, kind: EventKind) -> Event {
        let mut event = Event::new(kind)
            .user(&self.user)
            .uid(self.uid)
            .pid(self.pid)
            .tty(self.tty.as_ref())
            .cwd(&self.cwd)
            .run_as(&self.run_as)
            .run_as_group(self.run_as_group.as_ref())
            .command(&self.command)
            .argv(self.argv.iter())
            .policy_hash(self.policy_hash.as_ref())
            .session(self.session)
            .env_added(self.env_added.iter());
        if let Some(rule) = &self.rule {
            event = event.rule(rule);
        }
        if let Some(grant) = &self.grant {
            if let Ok(name) = FieldName::new("JITSUDO_GRANT_ID") {
                event = event.field(name, grant);
            }
        }
        if let Some(id) = &self.recording {
            if let Ok(name) = FieldName::new("JITSUDO_RECORDING") {
                event = event.field(name, id);
            }
        }
        event
    }

    /// `exec.reject` with `reason`.
    pub fn rejected(&self, reason: &str) -> Event {
        self.event(EventKind::ExecReject).reason(reason)
    }

    /// `exec.exit` with how the command ended.
    pub fn exited(&self, status: ExitStatus) -> Event {
        self.event(EventKind::ExecExit).exit_status(status)
    }
}
