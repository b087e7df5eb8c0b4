//! The audit events of requests and grants: journald fields
//! `JITSUDO_GRANT_ID`, `JITSUDO_REQUESTER`, `JITSUDO_APPROVERS`,
//! `JITSUDO_TICKET`, `JITSUDO_GRANT_KIND`, `JITSUDO_STATE`,
//! `JITSUDO_STARTS_AT`, `JITSUDO_EXPIRES_AT`, `JITSUDO_USED_SECONDS`,
//! `JITSUDO_KILLED`, `JITSUDO_ACTOR` besides the usual ones.

use jitsudo_audit::{Event, EventKind, FieldName, Priority};

use super::record::{Record, State};
use super::Grants;
use crate::request::Identity;

/// What happened to a request or grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// `request.create`.
    Create,
    /// `request.review`.
    Review,
    /// `request.expire`.
    RequestExpire,
    /// `request.cancel`.
    Cancel,
    /// `grant.activate`.
    Activate,
    /// `grant.use`.
    Use,
    /// `grant.warn`.
    Warn,
    /// `grant.extend`.
    Extend,
    /// `grant.expire`, `grant.revoke` or `grant.done`, by the record's state.
    End,
    /// `grant.overdue`: a break-glass grant's follow-up time passed uncleared.
    Overdue,
}

impl Transition {
    fn kind(self, record: &Record) -> EventKind {
        match self {
            Transition::Create => EventKind::RequestCreate,
            Transition::Review => EventKind::RequestReview,
            Transition::RequestExpire => EventKind::RequestExpire,
            Transition::Cancel => EventKind::RequestCancel,
            Transition::Activate => EventKind::GrantActivate,
            Transition::Use => EventKind::GrantUse,
            Transition::Warn => EventKind::GrantWarn,
            Transition::Extend => EventKind::GrantExtend,
            Transition::Overdue => EventKind::GrantOverdue,
            Transition::End => match record.state {
                State::Revoked => EventKind::GrantRevoke,
                State::Ended => EventKind::GrantDone,
                _ => EventKind::GrantExpire,
            },
        }
    }
}

fn field(event: Event, name: &str, value: impl AsRef<[u8]>) -> Event {
    match FieldName::new(name) {
        Ok(name) => event.field(name, value),
        Err(_) => event,
    }
}

/// Logs `transition` of `record`, done by `actor` (if a person did it).
pub fn emit(grants: &Grants, record: &Record, transition: Transition, actor: Option<&Identity>) {
    publish(
        grants,
        &event(record, transition, actor),
        record,
        transition,
    );
}

/// Logs `event` and tells the listeners (the D-Bus signals) of the
/// change; no listener (no D-Bus) is fine.
fn publish(grants: &Grants, event: &Event, record: &Record, transition: Transition) {
    grants.audit.emit(event);
    let _ = grants.changes.send(super::Change {
        transition,
        record: record.clone(),
    });
}

/// Logs `transition` of break-glass grant `record` at `crit`, with
/// `JITSUDO_BREAK_GLASS=1` and when it must be cleared by.
pub fn emit_break_glass(
    grants: &Grants,
    record: &Record,
    transition: Transition,
    follow_up_at: i64,
) {
    let mut event = event(record, transition, None).with_priority(Priority::Critical);
    event = field(event, "JITSUDO_BREAK_GLASS", "1");
    event = field(event, "JITSUDO_FOLLOW_UP_AT", follow_up_at.to_string());
    publish(grants, &event, record, transition);
}

/// Logs the creation of pending request `record`, with the approvers
/// whose terminals were told (`JITSUDO_NOTIFIED`, comma-separated).
pub fn emit_created(grants: &Grants, record: &Record, notified: &[String]) {
    let mut event = event(record, Transition::Create, None);
    if !notified.is_empty() {
        event = field(event, "JITSUDO_NOTIFIED", notified.join(","));
    }
    publish(grants, &event, record, Transition::Create);
}

/// The event for `transition` of `record`.
pub fn event(record: &Record, transition: Transition, actor: Option<&Identity>) -> Event {
    let mut event = Event::new(transition.kind(record))
        .user(&record.requester)
        .uid(record.requester_uid)
        .rule(&record.rule_id);
    event = field(event, "JITSUDO_GRANT_ID", &record.id);
    event = field(event, "JITSUDO_STATE", record.state.name());
    event = field(event, "JITSUDO_GRANT_KIND", &record.kind);
    if let Some(command) = &record.command {
        event = field(event, "JITSUDO_EFFECT", command.join(" "));
    } else if let (Some(user), "shell") = (&record.run_as, record.kind.as_str()) {
        event = field(event, "JITSUDO_EFFECT", format!("shell as {user}"));
    }
    let approvers = record.approvers();
    if !approvers.is_empty() {
        event = field(event, "JITSUDO_APPROVERS", approvers);
    }
    if let Some(ticket) = &record.ticket {
        event = field(event, "JITSUDO_TICKET", ticket);
    }
    if let Some(actor) = actor {
        event = field(
            event,
            "JITSUDO_ACTOR",
            actor.account.name.as_encoded_bytes(),
        );
    }
    for (name, value) in [
        ("JITSUDO_STARTS_AT", record.starts_at),
        ("JITSUDO_EXPIRES_AT", record.expires_at),
    ] {
        if let Some(value) = value {
            event = field(event, name, value.to_string());
        }
    }
    if transition == Transition::End {
        if let (Some(start), Some(end)) = (record.starts_at, record.ended_at) {
            event = field(
                event,
                "JITSUDO_USED_SECONDS",
                (end - start).max(0).to_string(),
            );
        }
        event = field(event, "JITSUDO_USES", record.uses.to_string());
        event = field(
            event,
            "JITSUDO_KILLED",
            record.killed.unwrap_or(0).to_string(),
        );
    }
    let reason = match transition {
        Transition::Review => record.reviews.last().and_then(|r| r.reason.clone()),
        Transition::End | Transition::Cancel => record.end_reason.clone(),
        _ => record.reason.clone(),
    };
    if let Some(reason) = reason {
        event = event.reason(reason);
    }
    if transition == Transition::Review {
        if let Some(review) = record.reviews.last() {
            event = field(event, "JITSUDO_DECISION", &review.decision);
        }
    }
    if transition == Transition::End && record.state == State::Revoked {
        event = event.with_priority(Priority::Notice);
    }
    event
}
