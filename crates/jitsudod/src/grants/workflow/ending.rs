//! Ending, extending and listing grants.

use super::*;

use jitsudo_policy::{Approval, Policy};
use jitsudo_proto::{ExtendAsk, Failure, GrantQuery, Listing};

use crate::grants::events::{self, Transition};
use crate::grants::record::{Record, State};
use crate::grants::store::StoreError;
use crate::grants::{now, Grants};
use crate::request::Identity;

/// How a live grant is ended by a verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// `revoke`, by an approver or root.
    Revoke,
    /// `done`, by its holder.
    Done,
}

/// `revoke` or `done`: marks the grant ended; the timers task tears it
/// down at once (see [`crate::grants::timers`]).
pub fn end(
    grants: &Grants,
    policy: &Policy,
    who: &Identity,
    id: &str,
    ending: Ending,
    reason: Option<&str>,
) -> Outcome {
    checked_reason(reason)?;
    let record = grants.store.transact(|tx| {
        let mut record = find(tx, id)?;
        let allowed = match ending {
            Ending::Done => record.requester_uid == who.peer.uid,
            Ending::Revoke => who.peer.uid == 0 || approver_of(policy, who, &record),
        };
        if !allowed {
            return Err(Failure::new(match ending {
                Ending::Done => format!("grant {id} is not yours"),
                Ending::Revoke => format!("you may not revoke grant {id}"),
            }));
        }
        if !record.state.is_live() {
            return Err(Failure::new(format!(
                "grant {id} is {}, not active",
                record.state.name()
            )));
        }
        record.state = match ending {
            Ending::Done => State::Ended,
            Ending::Revoke => State::Revoked,
        };
        record.ended_at = Some(now());
        record.end_reason = Some(match (ending, reason) {
            (Ending::Done, _) => "done".to_owned(),
            (Ending::Revoke, Some(reason)) => reason.to_owned(),
            (Ending::Revoke, None) => format!("revoked by {}", who.account.name.to_string_lossy()),
        });
        tx.update(&record)?;
        Ok::<_, Failure>(record)
    })?;
    grants.wake.notify_one();
    Ok(vec![record])
}

/// `extend`: one atomic move of the end, later only (never a gap, never
/// a premature end), of a grant that has not ended. Approvers and root
/// may extend within the rule's maximum; the holder, without a new
/// approval, within [`jitsudo_policy::Grantable::self_extension_cap`].
pub fn extend(grants: &Grants, policy: &Policy, who: &Identity, ask: &ExtendAsk) -> Outcome {
    let id = &ask.id;
    checked_reason(ask.reason.as_deref())?;
    let record = grants.store.transact(|tx| {
        let mut record = find(tx, id)?;
        let (_, grant) = policy
            .grantable_rule(&record.rule_id)
            .ok_or_else(|| Failure::new(format!("grant {id}'s rule is no longer grantable")))?;
        let cap = extension_cap(policy, who, &record, grant)?;
        let over = record.expires_at.is_some_and(|e| e <= now());
        if !record.state.is_live() || over {
            return Err(Failure::new(format!(
                "grant {id} is {}, not active; request a new one with jitsudoctl request",
                if over { "over" } else { record.state.name() }
            )));
        }
        if ask.by == 0 {
            return Err(Failure::new("extend by more than 0s (--by DURATION)"));
        }
        let by = i64::try_from(ask.by).unwrap_or(i64::MAX);
        let total = record.duration.saturating_add(by);
        if total > secs(cap.limit) {
            return Err(Failure::new(format!(
                "the grant would last {total}s, over {} of {}s{}",
                cap.what,
                cap.limit.as_secs(),
                cap.then
            )));
        }
        record.duration = total;
        record.expires_at = record.expires_at.map(|e| e.saturating_add(by));
        record.warned = false;
        tx.update(&record)?;
        Ok::<_, Failure>(record)
    })?;
    events::emit(grants, &record, Transition::Extend, Some(who));
    grants.wake.notify_one();
    Ok(vec![record])
}

/// How long `who` may make a grant last, and what to say past it.
struct ExtensionCap {
    limit: std::time::Duration,
    what: &'static str,
    then: String,
}

/// Root and the rule's approvers may extend up to the rule's maximum; the
/// holder up to the self-extension cap, if the rule has one.
fn extension_cap(
    policy: &Policy,
    who: &Identity,
    record: &Record,
    grant: &jitsudo_policy::Grantable,
) -> Result<ExtensionCap, Failure> {
    let id = &record.id;
    let ask_approver = format!(
        "; ask one of the rule's approvers to extend it (they run: jitsudoctl extend {id} --by DURATION)"
    );
    if who.peer.uid == 0 || approver_of(policy, who, record) {
        return Ok(ExtensionCap {
            limit: grant.effective_max(),
            what: "the rule's maximum",
            then: String::new(),
        });
    }
    if record.requester_uid != who.peer.uid {
        return Err(Failure::new(format!("you may not extend grant {id}")));
    }
    match grant.self_extension_cap() {
        Some(limit) if grant.approval == Approval::Auto && grant.self_extend.is_none() => {
            Ok(ExtensionCap {
                limit,
                what: "the rule's maximum",
                then: String::new(),
            })
        }
        Some(limit) => Ok(ExtensionCap {
            limit,
            what: "the rule's self-extension cap",
            then: ask_approver,
        }),
        None => Err(Failure::new(format!(
            "extending grant {id} needs an approval again: its rule allows no \
             self-extension{ask_approver}"
        ))),
    }
}

/// `requests` and `grants [--history]`.
pub fn list(grants: &Grants, policy: &Policy, who: &Identity, query: &GrantQuery) -> Outcome {
    let states: &[State] = match query.what {
        Listing::Requests => &[State::Pending],
        Listing::Grants => &[State::Approved, State::Active],
        Listing::History => &[
            State::Expired,
            State::Ended,
            State::Revoked,
            State::Denied,
            State::Cancelled,
        ],
    };
    let records = grants.store.transact(|tx| tx.in_states(states, None))?;
    let root = who.peer.uid == 0;
    Ok(records
        .into_iter()
        .filter(|r| {
            let mine = r.requester_uid == who.peer.uid;
            match query.what {
                Listing::Requests => mine || approver_of(policy, who, r) || (root && query.all),
                Listing::Grants => mine || ((root || approver_of(policy, who, r)) && query.all),
                Listing::History => {
                    (mine || root)
                        && query.user.as_ref().is_none_or(|u| *u == r.requester)
                        && query.since.is_none_or(|s| r.ended_at.unwrap_or(0) >= s)
                }
            }
        })
        .collect())
}

/// After a reload: revokes every live grant the new policy no longer
/// allows (its rule gone, no longer grantable, of another kind, or no
/// longer naming the holder).
pub fn revoke_disallowed(grants: &Grants, policy: &Policy) {
    let revoked = grants.store.transact(|tx| {
        let mut revoked = Vec::new();
        for mut record in tx.in_states(&[State::Approved, State::Active], None)? {
            if still_allowed(policy, &record) {
                continue;
            }
            record.state = State::Revoked;
            record.ended_at = Some(now());
            record.end_reason = Some("the reloaded policy no longer allows it".into());
            tx.update(&record)?;
            revoked.push(record);
        }
        Ok::<_, StoreError>(revoked)
    });
    match revoked {
        Ok(revoked) if !revoked.is_empty() => grants.wake.notify_one(),
        Ok(_) => {}
        Err(e) => eprintln!("jitsudod: {e}"),
    }
}

fn still_allowed(policy: &Policy, record: &Record) -> bool {
    let Some((rule, grant)) = policy.grantable_rule(&record.rule_id) else {
        return false;
    };
    grant.kind.name() == record.kind
        && with_caller_of(record.requester_uid, |caller| {
            rule.who.iter().any(|who| who.matches(caller))
        })
        .unwrap_or(false)
        && super::privileges::still_gives(policy, record)
}
