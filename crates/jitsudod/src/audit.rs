//! The daemon's side of the audit trail: which sinks, and the record of a
//! request from which every event about it is built.

use jitsudo_audit::{Audit, Event, EventKind, ExitStatus, FieldName, Journald, Syslog};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

/// The journald and syslog sinks every jitsudo process logs to.
pub fn sinks() -> Audit {
    Audit::new()
        .with_sink(Journald::new())
        .with_sink(Syslog::new())
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
            .policy_hash(self.policy_hash.as_ref());
        if let Some(rule) = &self.rule {
            event = event.rule(rule);
        }
        if let Some(grant) = &self.grant {
            if let Ok(name) = FieldName::new("JITSUDO_GRANT_ID") {
                event = event.field(name, grant);
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
