//! The audit event model. Pure: no I/O happens here.

use std::borrow::Cow;
use std::fmt;
use std::fmt::Write as _;

use crate::escape::{escape_also, escape_into};

/// Value of `SYSLOG_IDENTIFIER` and the syslog ident of every event.
pub const SYSLOG_IDENTIFIER: &str = "jitsudo";

/// `LOG_AUTHPRIV` as a facility number (10), the value of `SYSLOG_FACILITY`.
pub const SYSLOG_FACILITY_AUTHPRIV: u8 = 10;

/// Prefix every jitsudo-specific journal field name starts with.
pub const FIELD_PREFIX: &str = "JITSUDO_";

/// Wire names of the structured fields, shared by all sinks.
pub mod field {
    /// The event kind (`exec.accept`, ...).
    pub const EVENT: &str = "JITSUDO_EVENT";
    /// Name of the requesting user.
    pub const USER: &str = "JITSUDO_USER";
    /// Real uid of the requesting process.
    pub const UID: &str = "JITSUDO_UID";
    /// Real gid of the requesting process.
    pub const GID: &str = "JITSUDO_GID";
    /// Pid of the requesting process.
    pub const PID: &str = "JITSUDO_PID";
    /// Controlling terminal of the requester (`pts/0`).
    pub const TTY: &str = "JITSUDO_TTY";
    /// Working directory of the requester.
    pub const CWD: &str = "JITSUDO_CWD";
    /// User the command runs as.
    pub const RUNAS: &str = "JITSUDO_RUNAS";
    /// Group the command runs as, when one was requested.
    pub const RUNAS_GROUP: &str = "JITSUDO_RUNAS_GROUP";
    /// Full command line: resolved path and arguments, joined by spaces.
    pub const COMMAND: &str = "JITSUDO_COMMAND";
    /// Id of the policy rule that decided.
    pub const RULE: &str = "JITSUDO_RULE";
    /// Hash of the policy in force.
    pub const POLICY_HASH: &str = "JITSUDO_POLICY_HASH";
    /// Exit code of the command.
    pub const EXIT: &str = "JITSUDO_EXIT";
    /// Name of the signal that killed the command (`SIGTERM`).
    pub const SIGNAL: &str = "JITSUDO_SIGNAL";
    /// Human-readable reason of a refusal or failure.
    pub const REASON: &str = "JITSUDO_REASON";
    /// Login session of the requester (`/proc/PID/sessionid`).
    pub const SESSION: &str = "JITSUDO_SESSION";
    /// Name of a variable the requester added to the command's
    /// environment (one field per variable; values are never logged).
    pub const ENV_ADDED: &str = "JITSUDO_ENV_ADDED";
    /// How long the command ran, in seconds with millisecond precision.
    pub const RUN_TIME: &str = "JITSUDO_RUN_TIME";

    /// Every name above; [`FieldName`](crate::FieldName) refuses them so
    /// that the typed setters stay the only way to set these fields.
    pub(crate) const ALL: [&str; 18] = [
        EVENT,
        USER,
        UID,
        GID,
        PID,
        TTY,
        CWD,
        RUNAS,
        RUNAS_GROUP,
        COMMAND,
        RULE,
        POLICY_HASH,
        EXIT,
        SIGNAL,
        REASON,
        SESSION,
        ENV_ADDED,
        RUN_TIME,
    ];
}

/// Syslog severity (the journal's `PRIORITY`), as in `syslog(3)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// `LOG_EMERG` (0).
    Emergency = 0,
    /// `LOG_ALERT` (1).
    Alert = 1,
    /// `LOG_CRIT` (2).
    Critical = 2,
    /// `LOG_ERR` (3).
    Error = 3,
    /// `LOG_WARNING` (4).
    Warning = 4,
    /// `LOG_NOTICE` (5).
    Notice = 5,
    /// `LOG_INFO` (6).
    Info = 6,
    /// `LOG_DEBUG` (7).
    Debug = 7,
}

impl Priority {
    /// The numeric severity, 0 (emergency) to 7 (debug).
    pub fn as_u8(self) -> u8 {
        self as u8
    }
}

/// What happened. Each kind has a name (the `JITSUDO_EVENT` value), a
/// `MESSAGE_ID` and a default priority.
///
/// The `MESSAGE_ID`s were generated once at random and **never change**:
/// log queries, alerts and catalogs match on them (`journalctl
/// MESSAGE_ID=...`). A new kind gets a new id; an id is never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventKind {
    /// A command was allowed and is being started.
    ExecAccept,
    /// A command was refused by the policy.
    ExecReject,
    /// A command that was started has ended.
    ExecExit,
    /// Authentication of the requester failed.
    AuthFail,
    /// The policy was reloaded (or a reload was refused).
    PolicyReload,
    /// The daemon started.
    DaemonStart,
    /// The daemon is stopping.
    DaemonStop,
    /// A grant was requested.
    RequestCreate,
    /// A request was approved or denied by a reviewer.
    RequestReview,
    /// A request was not approved in time.
    RequestExpire,
    /// A requester withdrew a request.
    RequestCancel,
    /// A request got its approvals: the grant is approved or active.
    GrantActivate,
    /// A command ran under a grant.
    GrantUse,
    /// The holder was warned that the grant ends soon.
    GrantWarn,
    /// A grant's end was moved later.
    GrantExtend,
    /// A grant's time ran out; what ran under it was ended.
    GrantExpire,
    /// A grant was revoked; what ran under it was ended.
    GrantRevoke,
    /// The holder ended a grant early; what ran under it was ended.
    GrantDone,
    /// A required audit sink did not take an event (the command was
    /// refused, or ran under `audit_failure = "allow"`).
    AuditFail,
}

impl EventKind {
    /// Every kind, in declaration order.
    pub const ALL: [EventKind; 19] = [
        EventKind::ExecAccept,
        EventKind::ExecReject,
        EventKind::ExecExit,
        EventKind::AuthFail,
        EventKind::PolicyReload,
        EventKind::DaemonStart,
        EventKind::DaemonStop,
        EventKind::RequestCreate,
        EventKind::RequestReview,
        EventKind::RequestExpire,
        EventKind::RequestCancel,
        EventKind::GrantActivate,
        EventKind::GrantUse,
        EventKind::GrantWarn,
        EventKind::GrantExtend,
        EventKind::GrantExpire,
        EventKind::GrantRevoke,
        EventKind::GrantDone,
        EventKind::AuditFail,
    ];

    /// Stable dotted name, the value of `JITSUDO_EVENT`.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::ExecAccept => "exec.accept",
            EventKind::ExecReject => "exec.reject",
            EventKind::ExecExit => "exec.exit",
            EventKind::AuthFail => "auth.fail",
            EventKind::PolicyReload => "policy.reload",
            EventKind::DaemonStart => "daemon.start",
            EventKind::DaemonStop => "daemon.stop",
            EventKind::RequestCreate => "request.create",
            EventKind::RequestReview => "request.review",
            EventKind::RequestExpire => "request.expire",
            EventKind::RequestCancel => "request.cancel",
            EventKind::GrantActivate => "grant.activate",
            EventKind::GrantUse => "grant.use",
            EventKind::GrantWarn => "grant.warn",
            EventKind::GrantExtend => "grant.extend",
            EventKind::GrantExpire => "grant.expire",
            EventKind::GrantRevoke => "grant.revoke",
            EventKind::GrantDone => "grant.done",
            EventKind::AuditFail => "audit.fail",
        }
    }

    /// The journal `MESSAGE_ID`: 128 bits as 32 lowercase hex digits.
    /// These values are fixed forever.
    pub fn message_id(self) -> &'static str {
        match self {
            EventKind::ExecAccept => "6e4013ce4ebcc5d5005260d49d5a980d",
            EventKind::ExecReject => "268238af1ea02a8ed1ed234497efb80a",
            EventKind::ExecExit => "e5e0820c0293463316a557aedfa7c78f",
            EventKind::AuthFail => "e6f18f0659ca6ae4382db3f13fcb5804",
            EventKind::PolicyReload => "cc4cb299b0f2675534c9f00092b7d18a",
            EventKind::DaemonStart => "0774ca86ce2c54db5c01c29d9592fc02",
            EventKind::DaemonStop => "c77a44430b51e4172fe863868f5a991a",
            EventKind::RequestCreate => "45a14303862abd6368aa346aa231e8a8",
            EventKind::RequestReview => "7000b32e83c3c43f32343528ede78c24",
            EventKind::RequestExpire => "dfde94017b0ff1d0ca2ff3a1b3ed7698",
            EventKind::RequestCancel => "d97e4eab6835e14bb7e198eea6081cef",
            EventKind::GrantActivate => "c1c7b7608f377d345a57b008ec61c798",
            EventKind::GrantUse => "6a03c8eb1496d70eb0b0e191ea9553b7",
            EventKind::GrantWarn => "4534b1fa0b843854b87d35dec091addf",
            EventKind::GrantExtend => "75e2bf56d5a74dd091e52b8504e0f420",
            EventKind::GrantExpire => "fe87baf5d1dbfb4ade53dbe7a5f72795",
            EventKind::GrantRevoke => "e4f292c549235dd632289319f2b14870",
            EventKind::GrantDone => "793ed1cd459dbe11b2277d135487cc83",
            EventKind::AuditFail => "903ab449632247519a1cce59306d1c53",
        }
    }

    /// Default priority. Refusals and authentication failures are
    /// [`Priority::Warning`] (sudo logs them more severely than successes;
    /// its own defaults are alert/notice), everything else is
    /// [`Priority::Info`].
    pub fn default_priority(self) -> Priority {
        match self {
            EventKind::AuditFail => Priority::Error,
            EventKind::ExecReject | EventKind::AuthFail => Priority::Warning,
            EventKind::GrantRevoke | EventKind::GrantExpire | EventKind::GrantWarn => {
                Priority::Notice
            }
            EventKind::RequestCreate
            | EventKind::RequestReview
            | EventKind::RequestExpire
            | EventKind::RequestCancel
            | EventKind::GrantActivate
            | EventKind::GrantUse
            | EventKind::GrantExtend
            | EventKind::GrantDone
            | EventKind::ExecAccept
            | EventKind::ExecExit
            | EventKind::PolicyReload
            | EventKind::DaemonStart
            | EventKind::DaemonStop => Priority::Info,
        }
    }

    /// Whether the event describes one command request and so renders in
    /// sudo's `user : ... ; COMMAND=...` form.
    fn is_command_event(self) -> bool {
        matches!(
            self,
            EventKind::ExecAccept
                | EventKind::ExecReject
                | EventKind::ExecExit
                | EventKind::AuthFail
                | EventKind::AuditFail
        )
    }
}

impl EventKind {
    /// Whether the event is about a grant or a request for one; its extra
    /// fields then show in the message too.
    pub fn is_grant_event(self) -> bool {
        let name = self.name();
        name.starts_with("grant.") || name.starts_with("request.")
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExitStatus {
    /// It exited with this code.
    Code(i32),
    /// It was killed by this signal number.
    Signal(i32),
}

/// Symbolic name of a signal number: `SIGTERM`, `SIGRTMIN+3`, or the bare
/// number when it is no signal of this system.
pub fn signal_name(signo: i32) -> String {
    if let Ok(sig) = nix::sys::signal::Signal::try_from(signo) {
        return sig.as_str().to_owned();
    }
    let (min, max) = (libc::SIGRTMIN(), libc::SIGRTMAX());
    if (min..=max).contains(&signo) {
        if signo == min {
            "SIGRTMIN".to_owned()
        } else {
            format!("SIGRTMIN+{}", signo - min)
        }
    } else {
        signo.to_string()
    }
}

/// Name of an extra structured field set with [`Event::field`].
///
/// Valid names follow journald's rules (at most 64 characters of `A-Z`,
/// `0-9` and `_`), start with `JITSUDO_`, and are none of the names the typed
/// setters own (see [`field`]), so that an extra field can neither spoof
/// `MESSAGE`/`PRIORITY` nor shadow a well-known field.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldName(String);

impl FieldName {
    /// Validates `name`.
    pub fn new(name: impl Into<String>) -> Result<Self, InvalidFieldName> {
        let name = name.into();
        let valid = name.len() <= 64
            && name.len() > FIELD_PREFIX.len()
            && name.starts_with(FIELD_PREFIX)
            && name
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
            && !field::ALL.contains(&name.as_str());
        if valid {
            Ok(FieldName(name))
        } else {
            Err(InvalidFieldName(name))
        }
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FieldName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Error of [`FieldName::new`]: the rejected name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidFieldName(pub String);

impl fmt::Display for InvalidFieldName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid audit field name {:?}: expected {}[A-Z0-9_]+ (at most 64 characters) \
             that is not a built-in field",
            self.0, FIELD_PREFIX
        )
    }
}

impl std::error::Error for InvalidFieldName {}

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

    /// Every structured field in wire order: `MESSAGE`, `MESSAGE_ID`,
    /// `PRIORITY`, `SYSLOG_FACILITY`, `SYSLOG_IDENTIFIER`, then the
    /// `JITSUDO_*` fields that are set, then the extra fields. Values are
    /// raw bytes.
    pub fn fields(&self) -> Vec<(&str, Cow<'_, [u8]>)> {
        fn owned(s: String) -> Cow<'static, [u8]> {
            Cow::Owned(s.into_bytes())
        }
        fn opt<'a>(
            out: &mut Vec<(&'a str, Cow<'a, [u8]>)>,
            name: &'a str,
            value: &'a Option<Vec<u8>>,
        ) {
            if let Some(v) = value {
                out.push((name, Cow::Borrowed(v.as_slice())));
            }
        }

        let mut out: Vec<(&str, Cow<'_, [u8]>)> = vec![
            ("MESSAGE", owned(self.message())),
            (
                "MESSAGE_ID",
                Cow::Borrowed(self.kind.message_id().as_bytes()),
            ),
            ("PRIORITY", owned(self.priority.as_u8().to_string())),
            (
                "SYSLOG_FACILITY",
                owned(SYSLOG_FACILITY_AUTHPRIV.to_string()),
            ),
            (
                "SYSLOG_IDENTIFIER",
                Cow::Borrowed(SYSLOG_IDENTIFIER.as_bytes()),
            ),
            (field::EVENT, Cow::Borrowed(self.kind.name().as_bytes())),
        ];
        opt(&mut out, field::USER, &self.user);
        if let Some(uid) = self.uid {
            out.push((field::UID, owned(uid.to_string())));
        }
        if let Some(gid) = self.gid {
            out.push((field::GID, owned(gid.to_string())));
        }
        if let Some(pid) = self.pid {
            out.push((field::PID, owned(pid.to_string())));
        }
        opt(&mut out, field::TTY, &self.tty);
        opt(&mut out, field::CWD, &self.cwd);
        opt(&mut out, field::RUNAS, &self.run_as);
        opt(&mut out, field::RUNAS_GROUP, &self.run_as_group);
        if let Some(line) = self.command_line() {
            out.push((field::COMMAND, Cow::Owned(line)));
        }
        opt(&mut out, field::RULE, &self.rule);
        opt(&mut out, field::POLICY_HASH, &self.policy_hash);
        match self.exit {
            Some(ExitStatus::Code(code)) => out.push((field::EXIT, owned(code.to_string()))),
            Some(ExitStatus::Signal(sig)) => out.push((field::SIGNAL, owned(signal_name(sig)))),
            None => {}
        }
        opt(&mut out, field::REASON, &self.reason);
        if let Some(session) = self.session {
            out.push((field::SESSION, owned(session.to_string())));
        }
        for name in &self.env_added {
            out.push((field::ENV_ADDED, Cow::Borrowed(name.as_slice())));
        }
        if let Some(elapsed) = self.run_time {
            let secs = format!("{}.{:03}", elapsed.as_secs(), elapsed.subsec_millis());
            out.push((field::RUN_TIME, owned(secs)));
        }
        for (name, value) in &self.extra {
            out.push((name.as_str(), Cow::Borrowed(value.as_slice())));
        }
        out
    }

    /// The human-readable line, in sudo's syslog format so that existing
    /// log tooling keeps working:
    ///
    /// ```text
    /// alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id -u
    /// alice : command not allowed ; TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/sh
    /// alice : exited 42 ; TTY=unknown ; PWD=/ ; USER=root ; GROUP=adm ; COMMAND=/bin/false
    /// alice : killed by SIGTERM ; TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/sleep 60
    /// ```
    ///
    /// Daemon events render as `jitsudod started`, `jitsudod stopping` or
    /// `policy reloaded`, followed by ` ; REASON=...` and ` ; POLICY_HASH=...`
    /// when set.
    ///
    /// Every value is escaped: bytes that are not UTF-8, control
    /// characters and `;` (and `:` in the user name) appear as `\xNN`, so
    /// the result is always one line and every ` ; ` in it separates two
    /// fields.
    pub fn message(&self) -> String {
        let mut s = String::with_capacity(128);
        if self.kind.is_command_event() {
            self.render_command_line(&mut s);
        } else {
            s.push_str(match self.kind {
                EventKind::DaemonStart => "jitsudod started",
                EventKind::DaemonStop => "jitsudod stopping",
                EventKind::PolicyReload => "policy reloaded",
                other => other.name(),
            });
            if let Some(reason) = &self.reason {
                s.push_str(" ; REASON=");
                escape_into(&mut s, reason);
            }
            let fields = if self.kind.is_grant_event() {
                &self.extra[..]
            } else {
                &[]
            };
            for (name, value) in fields {
                s.push_str(" ; ");
                s.push_str(
                    name.as_str()
                        .strip_prefix("JITSUDO_")
                        .unwrap_or(name.as_str()),
                );
                s.push('=');
                escape_into(&mut s, value);
            }
            if let Some(hash) = &self.policy_hash {
                s.push_str(" ; POLICY_HASH=");
                escape_into(&mut s, hash);
            }
        }
        s
    }

    fn render_command_line(&self, s: &mut String) {
        const UNKNOWN: &[u8] = b"unknown";
        escape_also(s, self.user.as_deref().unwrap_or(UNKNOWN), &[':']);
        s.push_str(" : ");
        match self.kind {
            EventKind::ExecReject => {
                escape_into(s, self.reason.as_deref().unwrap_or(b"command not allowed"));
                s.push_str(" ; ");
            }
            EventKind::AuthFail => {
                escape_into(
                    s,
                    self.reason.as_deref().unwrap_or(b"authentication failure"),
                );
                s.push_str(" ; ");
            }
            EventKind::AuditFail => {
                escape_into(s, self.reason.as_deref().unwrap_or(b"audit sink failure"));
                s.push_str(" ; ");
            }
            EventKind::ExecExit => {
                match self.exit {
                    Some(ExitStatus::Code(code)) => {
                        // Writing to a String cannot fail.
                        let _ = write!(s, "exited {code}");
                    }
                    Some(ExitStatus::Signal(sig)) => {
                        s.push_str("killed by ");
                        s.push_str(&signal_name(sig));
                    }
                    None => s.push_str("exit status unknown"),
                }
                s.push_str(" ; ");
            }
            _ => {}
        }
        s.push_str("TTY=");
        let tty = self.tty.as_deref().unwrap_or(UNKNOWN);
        escape_into(s, tty.strip_prefix(b"/dev/").unwrap_or(tty));
        s.push_str(" ; PWD=");
        escape_into(s, self.cwd.as_deref().unwrap_or(UNKNOWN));
        s.push_str(" ; USER=");
        escape_into(s, self.run_as.as_deref().unwrap_or(UNKNOWN));
        if let Some(group) = &self.run_as_group {
            s.push_str(" ; GROUP=");
            escape_into(s, group);
        }
        s.push_str(" ; COMMAND=");
        match self.command_line() {
            Some(line) => escape_into(s, &line),
            None => s.push_str("unknown"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept() -> Event {
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

    #[test]
    fn accept_message_is_sudo_format() {
        assert_eq!(
            accept().message(),
            "alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id -u"
        );
    }

    #[test]
    fn group_comes_before_command() {
        let ev = accept().run_as_group(Some("adm"));
        assert_eq!(
            ev.message(),
            "alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; GROUP=adm ; COMMAND=/usr/bin/id -u"
        );
    }

    #[test]
    fn missing_tty_is_unknown_and_dev_prefix_dropped() {
        let ev = accept().tty(None::<&str>);
        assert!(ev.message().starts_with("alice : TTY=unknown ; PWD="));
        let ev = accept().tty(Some("/dev/pts/3"));
        assert!(ev.message().starts_with("alice : TTY=pts/3 ; PWD="));
    }

    #[test]
    fn reject_message_carries_reason() {
        let ev = Event::new(EventKind::ExecReject)
            .user("bob")
            .tty(Some("pts/1"))
            .cwd("/tmp")
            .run_as("root")
            .command("/bin/sh")
            .argv(["sh"])
            .reason("command not allowed");
        assert_eq!(
            ev.message(),
            "bob : command not allowed ; TTY=pts/1 ; PWD=/tmp ; USER=root ; COMMAND=/bin/sh"
        );
        assert_eq!(ev.priority(), Priority::Warning);
    }

    #[test]
    fn reject_without_reason_uses_sudo_default() {
        let ev = Event::new(EventKind::ExecReject).user("bob").argv(["ls"]);
        assert_eq!(
            ev.message(),
            "bob : command not allowed ; TTY=unknown ; PWD=unknown ; USER=unknown ; COMMAND=ls"
        );
    }

    #[test]
    fn auth_fail_message() {
        let ev = Event::new(EventKind::AuthFail)
            .user("bob")
            .tty(Some("pts/1"))
            .cwd("/")
            .run_as("root")
            .command("/usr/bin/id")
            .reason("3 incorrect password attempts");
        assert_eq!(
            ev.message(),
            "bob : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/ ; USER=root ; \
             COMMAND=/usr/bin/id"
        );
    }

    #[test]
    fn exit_code_and_signal_messages() {
        let ev = Event::new(EventKind::ExecExit)
            .user("alice")
            .cwd("/")
            .run_as("root")
            .command("/bin/false")
            .argv(["false"])
            .exit_status(ExitStatus::Code(42));
        assert_eq!(
            ev.message(),
            "alice : exited 42 ; TTY=unknown ; PWD=/ ; USER=root ; COMMAND=/bin/false"
        );
        let ev = ev.exit_status(ExitStatus::Signal(libc::SIGTERM));
        assert_eq!(
            ev.message(),
            "alice : killed by SIGTERM ; TTY=unknown ; PWD=/ ; USER=root ; COMMAND=/bin/false"
        );
        assert!(ev
            .fields()
            .contains(&(field::SIGNAL, Cow::Borrowed(&b"SIGTERM"[..]))));
    }

    #[test]
    fn signal_names() {
        assert_eq!(signal_name(libc::SIGKILL), "SIGKILL");
        assert_eq!(signal_name(libc::SIGRTMIN()), "SIGRTMIN");
        assert_eq!(signal_name(libc::SIGRTMIN() + 2), "SIGRTMIN+2");
        assert_eq!(signal_name(999), "999");
    }

    #[test]
    fn newline_in_argv_cannot_forge_a_line() {
        let ev = accept().argv([&b"id"[..], b"x\nalice : TTY=forged", b"\xff"]);
        let msg = ev.message();
        assert_eq!(
            msg,
            "alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; \
             COMMAND=/usr/bin/id x\\x0aalice : TTY=forged \\xff"
        );
        assert!(!msg.chars().any(char::is_control));
    }

    #[test]
    fn structured_fields_are_raw() {
        let ev = accept().argv([&b"id"[..], b"a\nb", b"\xff"]);
        let fields = ev.fields();
        let get = |n: &str| {
            fields
                .iter()
                .find(|(name, _)| *name == n)
                .map(|(_, v)| v.to_vec())
        };
        assert_eq!(
            get(field::COMMAND).as_deref(),
            Some(&b"/usr/bin/id a\nb \xff"[..])
        );
        assert_eq!(get("PRIORITY").as_deref(), Some(&b"6"[..]));
        assert_eq!(get("SYSLOG_FACILITY").as_deref(), Some(&b"10"[..]));
        assert_eq!(get("SYSLOG_IDENTIFIER").as_deref(), Some(&b"jitsudo"[..]));
        assert_eq!(get(field::EVENT).as_deref(), Some(&b"exec.accept"[..]));
        assert_eq!(get(field::UID).as_deref(), Some(&b"1000"[..]));
        assert_eq!(get(field::RUNAS_GROUP), None);
        assert_eq!(get(field::EXIT), None);
    }

    #[test]
    fn daemon_messages() {
        let ev = Event::new(EventKind::PolicyReload).policy_hash(Some("deadbeef"));
        assert_eq!(ev.message(), "policy reloaded ; POLICY_HASH=deadbeef");
        let ev = Event::new(EventKind::PolicyReload)
            .reason("line 3: unknown key\n")
            .with_priority(Priority::Error);
        assert_eq!(
            ev.message(),
            "policy reloaded ; REASON=line 3: unknown key\\x0a"
        );
        assert_eq!(ev.priority(), Priority::Error);
        assert_eq!(
            Event::new(EventKind::DaemonStart).message(),
            "jitsudod started"
        );
        assert_eq!(
            Event::new(EventKind::DaemonStop).message(),
            "jitsudod stopping"
        );
    }

    #[test]
    fn message_ids_are_distinct_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for kind in EventKind::ALL {
            let id = kind.message_id();
            assert_eq!(id.len(), 32);
            assert!(id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
            assert!(seen.insert(id), "duplicate MESSAGE_ID for {kind}");
        }
    }

    #[test]
    fn the_catalog_explains_every_event() {
        let catalog = include_str!("../../../packaging/jitsudo.catalog");
        let mut entries = std::collections::HashSet::new();
        for line in catalog.lines() {
            if let Some(id) = line.strip_prefix("-- ") {
                assert!(entries.insert(id), "{id} twice in the catalog");
            }
        }
        for kind in EventKind::ALL {
            assert!(
                entries.remove(kind.message_id()),
                "the catalog has no entry for {kind} ({})",
                kind.message_id()
            );
        }
        assert!(
            entries.is_empty(),
            "catalog entries of no event: {entries:?}"
        );
    }

    #[test]
    fn field_names_are_validated() {
        assert!(FieldName::new("JITSUDO_GRANT_ID").is_ok());
        for bad in [
            "MESSAGE",
            "PRIORITY",
            "JITSUDO_",
            "JITSUDO_USER",
            "JITSUDO_lower",
            "JITSUDO_A=B",
            "_JITSUDO_X",
            &format!("JITSUDO_{}", "X".repeat(60)),
        ] {
            assert!(FieldName::new(bad).is_err(), "{bad} accepted");
        }
    }
}
