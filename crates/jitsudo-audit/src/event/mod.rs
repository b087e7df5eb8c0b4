//! The audit event model. Pure: no I/O happens here.
//!
//! The kinds ([`kind`]), the field names ([`field`], [`field_name`]) and
//! how a command ended ([`exit`]) are catalogues; [`Event`] is built here
//! and rendered by [`fields`] (structured) and [`message`] (sudo's line).

mod exit;
pub mod field;
mod field_name;
mod fields;
mod kind;
mod message;

pub use exit::{signal_name, ExitStatus};
pub use field_name::{FieldName, InvalidFieldName};
pub use fields::{SYSLOG_FACILITY_AUTHPRIV, SYSLOG_IDENTIFIER};
pub use kind::{EventKind, Priority};

/// Prefix every jitsudo-specific journal field name starts with.
pub const FIELD_PREFIX: &str = "JITSUDO_";

/// One audit event: a kind plus structured fields.
///
/// Built with chained setters; every text value is raw bytes (user names,
/// paths and arguments need not be UTF-8) and is kept binary-exact in the
/// structured fields. Only [`Event::message`] escapes.
///
/// The model has no field for a password or any other secret, and
/// [`Event::field`] is for identifiers and metadata only: never put a
/// credential in an event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "an event is only logged when passed to a sink"]
pub struct Event {
    kind: EventKind,
    priority: Priority,
    user: Option<Vec<u8>>,
    uid: Option<u32>,
    gid: Option<u32>,
    pid: Option<i32>,
    tty: Option<Vec<u8>>,
    cwd: Option<Vec<u8>>,
    run_as: Option<Vec<u8>>,
    run_as_group: Option<Vec<u8>>,
    command: Option<Vec<u8>>,
    argv: Vec<Vec<u8>>,
    rule: Option<Vec<u8>>,
    policy_hash: Option<Vec<u8>>,
    exit: Option<ExitStatus>,
    reason: Option<Vec<u8>>,
    session: Option<u32>,
    env_added: Vec<Vec<u8>>,
    run_time: Option<std::time::Duration>,
    extra: Vec<(FieldName, Vec<u8>)>,
}

impl Event {
    /// A new event of `kind` with its default priority and no fields.
    pub fn new(kind: EventKind) -> Self {
        Event {
            kind,
            priority: kind.default_priority(),
            user: None,
            uid: None,
            gid: None,
            pid: None,
            tty: None,
            cwd: None,
            run_as: None,
            run_as_group: None,
            command: None,
            argv: Vec::new(),
            rule: None,
            policy_hash: None,
            exit: None,
            reason: None,
            session: None,
            env_added: Vec::new(),
            run_time: None,
            extra: Vec::new(),
        }
    }

    /// The event kind.
    pub fn kind(&self) -> EventKind {
        self.kind
    }

    /// The priority the event is logged with.
    pub fn priority(&self) -> Priority {
        self.priority
    }

    /// Overrides the kind's default priority (e.g. `Error` for a refused
    /// policy reload).
    pub fn with_priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    /// Name of the requesting user (`JITSUDO_USER`).
    pub fn user(mut self, name: impl AsRef<[u8]>) -> Self {
        self.user = Some(name.as_ref().to_vec());
        self
    }

    /// Uid of the requester (`JITSUDO_UID`).
    pub fn uid(mut self, uid: u32) -> Self {
        self.uid = Some(uid);
        self
    }

    /// Gid of the requester (`JITSUDO_GID`).
    pub fn gid(mut self, gid: u32) -> Self {
        self.gid = Some(gid);
        self
    }

    /// Pid of the requester (`JITSUDO_PID`).
    pub fn pid(mut self, pid: i32) -> Self {
        self.pid = Some(pid);
        self
    }

    /// Terminal of the requester, as sudo prints it (`pts/0`); a leading
    /// `/dev/` is dropped from the human line. `None` renders as
    /// `TTY=unknown` and sets no `JITSUDO_TTY`.
    pub fn tty(mut self, tty: Option<impl AsRef<[u8]>>) -> Self {
        self.tty = tty.map(|t| t.as_ref().to_vec());
        self
    }

    /// Working directory of the requester (`JITSUDO_CWD`, `PWD=`).
    pub fn cwd(mut self, path: impl AsRef<[u8]>) -> Self {
        self.cwd = Some(path.as_ref().to_vec());
        self
    }

    /// Target user (`JITSUDO_RUNAS`, `USER=`).
    pub fn run_as(mut self, user: impl AsRef<[u8]>) -> Self {
        self.run_as = Some(user.as_ref().to_vec());
        self
    }

    /// Target group, when one was requested (`JITSUDO_RUNAS_GROUP`,
    /// `GROUP=`).
    pub fn run_as_group(mut self, group: Option<impl AsRef<[u8]>>) -> Self {
        self.run_as_group = group.map(|g| g.as_ref().to_vec());
        self
    }

    /// Resolved path of the command (`/usr/bin/id`).
    pub fn command(mut self, path: impl AsRef<[u8]>) -> Self {
        self.command = Some(path.as_ref().to_vec());
        self
    }

    /// The complete argument vector as given to `execve`, `argv[0]`
    /// included. The logged command line is the resolved
    /// [`command`](Self::command) path followed by `argv[1..]`, as sudo
    /// logs it (or `argv[0]` when no path was set).
    pub fn argv<I, A>(mut self, argv: I) -> Self
    where
        I: IntoIterator<Item = A>,
        A: AsRef<[u8]>,
    {
        self.argv = argv.into_iter().map(|a| a.as_ref().to_vec()).collect();
        self
    }

    /// Id of the deciding policy rule (`JITSUDO_RULE`).
    pub fn rule(mut self, id: impl AsRef<[u8]>) -> Self {
        self.rule = Some(id.as_ref().to_vec());
        self
    }

    /// Hash of the policy in force (`JITSUDO_POLICY_HASH`).
    pub fn policy_hash(mut self, hash: Option<impl AsRef<[u8]>>) -> Self {
        self.policy_hash = hash.map(|h| h.as_ref().to_vec());
        self
    }

    /// How the command ended (`JITSUDO_EXIT` or `JITSUDO_SIGNAL`).
    pub fn exit_status(mut self, status: ExitStatus) -> Self {
        self.exit = Some(status);
        self
    }

    /// Why a request was refused or failed (`JITSUDO_REASON`), e.g.
    /// `command not allowed` or `user NOT in sudoers`.
    pub fn reason(mut self, text: impl AsRef<[u8]>) -> Self {
        self.reason = Some(text.as_ref().to_vec());
        self
    }

    /// Login session id of the requester (`JITSUDO_SESSION`).
    pub fn session(mut self, id: Option<u32>) -> Self {
        self.session = id;
        self
    }

    /// Names of the variables the requester added to the command's
    /// environment (`JITSUDO_ENV_ADDED`, once per name). Only names: a
    /// value may be a secret.
    pub fn env_added<I, A>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = A>,
        A: AsRef<[u8]>,
    {
        self.env_added = names.into_iter().map(|a| a.as_ref().to_vec()).collect();
        self
    }

    /// How long the command ran (`JITSUDO_RUN_TIME`).
    pub fn run_time(mut self, elapsed: std::time::Duration) -> Self {
        self.run_time = Some(elapsed);
        self
    }

    /// Adds an extra structured field (journald and the JSON trail; the human line does
    /// not show it). The same name may be added more than once.
    pub fn field(mut self, name: FieldName, value: impl AsRef<[u8]>) -> Self {
        self.extra.push((name, value.as_ref().to_vec()));
        self
    }

    /// Full command line: path and `argv[1..]` joined by single spaces, raw
    /// bytes. `None` when neither a path nor an argv was set.
    pub fn command_line(&self) -> Option<Vec<u8>> {
        let (head, rest) = match (&self.command, self.argv.split_first()) {
            (Some(path), Some((_, rest))) => (path, rest),
            (Some(path), None) => (path, &[][..]),
            (None, Some((argv0, rest))) => (argv0, rest),
            (None, None) => return None,
        };
        let mut line = head.clone();
        for arg in rest {
            line.push(b' ');
            line.extend_from_slice(arg);
        }
        Some(line)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn accept() -> Event {
        Event::new(EventKind::ExecAccept)
            .user("alice")
            .uid(1000)
            .gid(1000)
            .pid(4242)
            .tty(Some("pts/0"))
            .cwd("/home/alice")
            .run_as("root")
            .command("/usr/bin/id")
            .argv(["id", "-u"])
            .rule("admins")
            .policy_hash(Some("abc123"))
    }
}
