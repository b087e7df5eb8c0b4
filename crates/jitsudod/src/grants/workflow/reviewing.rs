//! Approving, denying and cancelling a pending request.

use super::*;

use jitsudo_policy::Policy;
use jitsudo_proto::Failure;

use crate::grants::events::{self, Transition};
use crate::grants::record::{Record, Review, State};
use crate::grants::store::Tx;
use crate::grants::{now, show_time, Grants};
use crate::request::Identity;

/// Which review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewDecision {
    /// `approve`.
    Approve,
    /// `deny`.
    Deny,
}

/// Checks that `who` may review request `id` now (before authenticating).
pub fn may_review(
    grants: &Grants,
    policy: &Policy,
    who: &Identity,
    id: &str,
    decision: ReviewDecision,
) -> Result<(), Failure> {
    grants
        .store
        .transact(|tx| reviewable(tx, policy, who, id, decision).map(|_| ()))
}

/// The request `who` may review now, and whether it is a break-glass
/// grant approved after the fact (which clears it).
fn reviewable(
    tx: &Tx<'_>,
    policy: &Policy,
    who: &Identity,
    id: &str,
    decision: ReviewDecision,
) -> Result<(Record, bool), Failure> {
    let record = find(tx, id)?;
    let after_the_fact = record.state != State::Pending && tx.uncleared(id)?.is_some();
    if after_the_fact && decision == ReviewDecision::Deny {
        return Err(Failure::new(format!(
            "break-glass grant {id} is cleared by approving it; to end it: jitsudoctl revoke {id}"
        )));
    }
    if !after_the_fact && record.state != State::Pending {
        return Err(Failure::new(format!(
            "request {id} is {}, not pending",
            record.state.name()
        )));
    }
    if !after_the_fact && record.deadline_at <= now() {
        return Err(Failure::new(format!(
            "request {id} expired at {}",
            show_time(record.deadline_at)
        )));
    }
    if record.requester_uid == who.peer.uid {
        return Err(Failure::new(format!(
            "you cannot review your own request {id}; another approver must"
        )));
    }
    // Root clears a break-glass grant whether or not the rule names it: it
    // is trusted on the host (it could change the policy), and the clearing
    // is kept and logged as its review. Approving a request stays the
    // approvers' alone.
    let root_clears = after_the_fact && who.peer.uid == 0;
    if !root_clears && !approver_of(policy, who, &record) {
        return Err(Failure::new(format!("you may not review request {id}")));
    }
    if record
        .reviews
        .iter()
        .any(|r| r.reviewer_uid == who.peer.uid)
    {
        return Err(Failure::new(format!(
            "you have reviewed request {id} already"
        )));
    }
    Ok((record, after_the_fact))
}

/// `approve` or `deny`, once the reviewer authenticated (every check is
/// made again in the transaction).
pub fn review(
    grants: &Grants,
    policy: &Policy,
    who: &Identity,
    id: &str,
    decision: ReviewDecision,
    reason: Option<&str>,
) -> Outcome {
    checked_reason(reason)?;
    let at = now();
    let (record, after_the_fact) = grants.store.transact(|tx| {
        let (mut record, after_the_fact) = reviewable(tx, policy, who, id, decision)?;
        let review = Review {
            reviewer_uid: who.peer.uid,
            reviewer: who.account.name.to_string_lossy().into_owned(),
            decision: match decision {
                ReviewDecision::Approve => "approve",
                ReviewDecision::Deny => "deny",
            }
            .to_owned(),
            reason: reason.map(str::to_owned),
            at,
        };
        tx.add_review(id, &review)?;
        record.reviews.push(review);
        if after_the_fact {
            tx.clear_break_glass(id, at)?;
            return Ok((record, true));
        }
        match decision {
            ReviewDecision::Deny => {
                record.state = State::Denied;
                record.ended_at = Some(at);
                record.end_reason = reason.map(str::to_owned);
            }
            ReviewDecision::Approve if record.approvals() >= record.quorum => {
                if let Some((_, grant)) = policy.grantable_rule(&record.rule_id) {
                    approve_fully(&mut record, at, grant);
                }
            }
            ReviewDecision::Approve => {}
        }
        tx.update(&record)?;
        Ok::<_, Failure>((record, false))
    })?;
    events::emit(grants, &record, Transition::Review, Some(who));
    if record.state.is_live() && !after_the_fact {
        events::emit(grants, &record, Transition::Activate, None);
    }
    grants.wake.notify_one();
    Ok(vec![record])
}

/// `cancel`: the requester withdraws a pending request.
pub fn cancel(grants: &Grants, who: &Identity, id: &str) -> Outcome {
    let record = grants.store.transact(|tx| {
        let mut record = find(tx, id)?;
        if record.requester_uid != who.peer.uid {
            return Err(Failure::new(format!("request {id} is not yours to cancel")));
        }
        if record.state != State::Pending {
            return Err(Failure::new(format!(
                "request {id} is {}, not pending",
                record.state.name()
            )));
        }
        record.state = State::Cancelled;
        record.ended_at = Some(now());
        tx.update(&record)?;
        Ok::<_, Failure>(record)
    })?;
    events::emit(grants, &record, Transition::Cancel, Some(who));
    grants.wake.notify_one();
    Ok(vec![record])
}
