//! Break-glass grants: a member of a rule with `break_glass` approves
//! their own short grant in an emergency (`request --break-glass`), logged
//! at `crit`. An approver (or root) approving it after the fact
//! (`approve ID`), or the holder's justification (`justify ID --reason`)
//! within the rule's follow-up time, clears it; until then nobody may break the glass again,
//! and once the follow-up time passed uncleared, the holder's every new
//! request is refused.

use super::*;

use jitsudo_proto::Failure;

use crate::grants::events::{self, Transition};
use crate::grants::record::Review;
use crate::grants::store::Tx;
use crate::grants::{now, show_time, Grants};
use crate::request::Identity;

/// Refuses a new request of `uid` at `at` while a break-glass grant of
/// theirs is overdue, and a new break-glass one while one is uncleared.
pub(super) fn admit(tx: &Tx<'_>, uid: u32, breaking: bool, at: i64) -> Result<(), Failure> {
    let uncleared = tx.uncleared_of(uid)?;
    if let Some(overdue) = uncleared.iter().find(|u| u.follow_up_at <= at) {
        return Err(Failure::new(format!(
            "your break-glass grant {} (rule {}) was not cleared by {}: your requests are \
             refused until one of the rule's approvers, or root, approves it after the fact \
             (jitsudoctl approve {})",
            overdue.id,
            overdue.rule_id,
            show_time(overdue.follow_up_at),
            overdue.id
        )));
    }
    match uncleared.first() {
        Some(open) if breaking => Err(Failure::new(format!(
            "your break-glass grant {} is not cleared yet: justify it (jitsudoctl justify {} \
             --reason TEXT) or have an approver approve it before breaking the glass again",
            open.id, open.id
        ))),
        _ => Ok(()),
    }
}

/// `justify`: the holder of break-glass grant `id` says why, within its
/// follow-up time, which clears it.
pub fn justify(grants: &Grants, who: &Identity, id: &str, reason: Option<&str>) -> Outcome {
    checked_reason(reason)?;
    let reason = reason
        .filter(|r| !r.trim().is_empty())
        .ok_or_else(|| Failure::new("a justification needs a reason (--reason TEXT)"))?;
    let at = now();
    let record = grants.store.transact(|tx| {
        let mut record = find(tx, id)?;
        if record.requester_uid != who.peer.uid {
            return Err(Failure::new(format!("grant {id} is not yours")));
        }
        let Some(follow_up_at) = tx.uncleared(id)? else {
            return Err(Failure::new(if tx.is_break_glass(id)? {
                format!("break-glass grant {id} is cleared already")
            } else {
                format!("grant {id} is no break-glass grant: there is nothing to justify")
            }));
        };
        if follow_up_at <= at {
            return Err(Failure::new(format!(
                "the follow-up time of break-glass grant {id} ended at {}; only one of the \
                 rule's approvers, or root, can clear it now (jitsudoctl approve {id})",
                show_time(follow_up_at)
            )));
        }
        let review = Review {
            reviewer_uid: who.peer.uid,
            reviewer: who.account.name.to_string_lossy().into_owned(),
            decision: "justify".to_owned(),
            reason: Some(reason.to_owned()),
            at,
        };
        tx.add_review(id, &review)?;
        tx.clear_break_glass(id, at)?;
        record.reviews.push(review);
        Ok::<_, Failure>(record)
    })?;
    events::emit(grants, &record, Transition::Review, Some(who));
    Ok(vec![record])
}
