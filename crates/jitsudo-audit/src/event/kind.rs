//! The catalogue of event kinds: names, `MESSAGE_ID`s and priorities.

use std::fmt;

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
    /// A break-glass grant's follow-up time passed and nobody cleared it:
    /// its holder's requests are refused from now on.
    GrantOverdue,
    /// A required audit sink did not take an event (the command was
    /// refused, or ran under `audit_failure = "allow"`).
    AuditFail,
    /// A session recording reached its size cap (`record_max_bytes`):
    /// the rest of the session is not recorded.
    RecordTruncated,
    /// The retention sweep removed old session recordings
    /// (`record_retention`, `record_max_total`).
    RecordRemoved,
    /// The trail's head at this point: its file, record count and last
    /// hash, sent off the trail so that a rewrite of it shows.
    AuditCheckpoint,
}

impl EventKind {
    /// Every kind, in declaration order.
    pub const ALL: [EventKind; 23] = [
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
        EventKind::GrantOverdue,
        EventKind::AuditFail,
        EventKind::RecordTruncated,
        EventKind::RecordRemoved,
        EventKind::AuditCheckpoint,
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
            EventKind::GrantOverdue => "grant.overdue",
            EventKind::AuditFail => "audit.fail",
            EventKind::RecordTruncated => "record.truncated",
            EventKind::RecordRemoved => "record.remove",
            EventKind::AuditCheckpoint => "audit.checkpoint",
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
            EventKind::GrantOverdue => "8ba4b00f22de4511b35822c43bc96cab",
            EventKind::AuditFail => "903ab449632247519a1cce59306d1c53",
            EventKind::RecordTruncated => "771df8806f7041d38f4a7f642aecbacd",
            EventKind::RecordRemoved => "46a5f127db2a4b52a17be7280313450a",
            EventKind::AuditCheckpoint => "91b77b15e8814134a0d34e36b005920b",
        }
    }

    /// Default priority. Refusals and authentication failures are
    /// [`Priority::Warning`] (sudo logs them more severely than successes;
    /// its own defaults are alert/notice), everything else is
    /// [`Priority::Info`].
    pub fn default_priority(self) -> Priority {
        match self {
            EventKind::GrantOverdue => Priority::Critical,
            EventKind::AuditFail => Priority::Error,
            EventKind::ExecReject | EventKind::AuthFail => Priority::Warning,
            EventKind::GrantRevoke
            | EventKind::GrantExpire
            | EventKind::GrantWarn
            | EventKind::RecordTruncated
            | EventKind::RecordRemoved => Priority::Notice,
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
            | EventKind::DaemonStop
            | EventKind::AuditCheckpoint => Priority::Info,
        }
    }

    /// Whether the event describes one command request and so renders in
    /// sudo's `user : ... ; COMMAND=...` form.
    pub(crate) fn is_command_event(self) -> bool {
        matches!(
            self,
            EventKind::ExecAccept
                | EventKind::ExecReject
                | EventKind::ExecExit
                | EventKind::AuthFail
                | EventKind::AuditFail
                | EventKind::RecordTruncated
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

    /// Whether the event's extra fields show in its message (grant events,
    /// checkpoints, whose syslog line must carry the trail's head, and the
    /// recordings a retention sweep removed).
    pub(crate) fn shows_extra_fields(self) -> bool {
        self.is_grant_event()
            || matches!(self, EventKind::AuditCheckpoint | EventKind::RecordRemoved)
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let catalog = include_str!("../../../../packaging/jitsudo.catalog");
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
}
