//! The `jitsudoctl` verbs: who may do what to which request or grant, and
//! the state change each makes (one store transaction per verb):
//! [`asking`] (`request`), [`reviewing`] (`approve`, `deny`, `cancel`),
//! [`ending`] (`revoke`, `done`, `extend`, `grants`, and grants a reload no
//! longer allows), [`break_glass`] (`request --break-glass`, `justify`, and
//! the requests refused while one is overdue).

mod asking;
mod break_glass;
mod ending;
pub mod privileges;
mod reviewing;

use std::time::Duration;

use jitsudo_policy::{Grantable, Policy, Start};
use jitsudo_proto::Failure;

use super::record::{Record, State};
use super::store::{StoreError, Tx};
use crate::request::Identity;

pub use asking::{request, when_now};
pub use break_glass::justify;
pub use ending::{end, extend, list, revoke_disallowed, Ending};
pub use reviewing::{cancel, may_review, review, ReviewDecision};

/// A verb's outcome: the records concerned, or why it was refused.
pub type Outcome = Result<Vec<Record>, Failure>;

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        eprintln!("jitsudod: {e}");
        Failure::new("the grant store failed; see jitsudod's log")
    }
}

pub(super) fn secs(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

/// The request has all its approvals: it becomes a grant, active now
/// (on-approval, or a start time already passed) or approved until its
/// first use (within the approval deadline) or its start time.
pub(super) fn approve_fully(record: &mut Record, at: i64, grant: &Grantable) {
    match Start::parse(&record.start) {
        Ok(Start::FirstUse) => {
            record.state = State::Approved;
            record.deadline_at = at + secs(grant.approval.deadline());
        }
        Ok(Start::At) if record.start_at.is_some_and(|t| t > at) => {
            record.state = State::Approved;
        }
        _ => activate(record, at),
    }
}

/// Starts the grant's clock at `at`.
pub fn activate(record: &mut Record, at: i64) {
    record.state = State::Active;
    record.starts_at = Some(at);
    record.expires_at = Some(at.saturating_add(record.duration));
}

/// Refuses what cannot be an id.
pub fn check_id(id: &str) -> Result<(), Failure> {
    if id.is_empty() || id.len() > 20 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Failure::new(
            "invalid id: ids are numbers, as jitsudoctl requests shows",
        ));
    }
    Ok(())
}

pub(super) fn find(tx: &Tx<'_>, id: &str) -> Result<Record, Failure> {
    check_id(id)?;
    tx.get(id)?
        .ok_or_else(|| Failure::new(format!("no request or grant {id}")))
}

/// Whether `who` may review `record` under `policy`.
pub fn approver_of(policy: &Policy, who: &Identity, record: &Record) -> bool {
    policy
        .grantable_rule(&record.rule_id)
        .is_some_and(|(_, g)| who.with_caller(policy, |caller| g.approval.may_review(&caller)))
}

/// Refuses control characters (they would reach terminals and logs).
pub(super) fn printable<'a>(texts: impl IntoIterator<Item = &'a str>) -> Result<(), Failure> {
    if texts.into_iter().any(|t| t.chars().any(char::is_control)) {
        return Err(Failure::new("invalid argument: control character"));
    }
    Ok(())
}

/// A reviewer's or holder's reason: bounded and printable.
pub(super) fn checked_reason(reason: Option<&str>) -> Result<(), Failure> {
    if reason.is_some_and(|r| r.len() > crate::grants::MAX_REASON) {
        return Err(Failure::new(format!(
            "the reason is longer than {} bytes",
            crate::grants::MAX_REASON
        )));
    }
    printable(reason)
}

/// `f` of the policy's view of user `uid` (name and groups from the
/// databases), or `None` if the user is unknown.
pub fn with_caller_of<T>(uid: u32, f: impl FnOnce(&jitsudo_policy::Caller<'_>) -> T) -> Option<T> {
    let account = crate::accounts::user_by_uid(uid)?;
    let named: Vec<(u32, Option<String>)> = account
        .groups(account.gid)
        .into_iter()
        .map(|gid| {
            let name = crate::accounts::group_name(gid).and_then(|n| n.into_string().ok());
            (gid, name)
        })
        .collect();
    let groups: Vec<jitsudo_policy::GroupRef<'_>> = named
        .iter()
        .map(|(gid, name)| jitsudo_policy::GroupRef {
            gid: *gid,
            name: name.as_deref(),
        })
        .collect();
    let caller = jitsudo_policy::Caller {
        uid: account.uid,
        name: account.name.to_str(),
        groups: &groups,
        deny_groups: &groups,
    };
    Some(f(&caller))
}
