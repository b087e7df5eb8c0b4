//! The grant verbs of `jitsudoctl` (request, requests, approve, deny,
//! cancel, grants, revoke, done, extend, justify): authorized from the caller's
//! kernel identity by [`crate::grants::workflow`]. Approving and denying
//! need the reviewer's own authentication first: a worker relays PAM's
//! prompts exactly as for a command, and the daemon records the review
//! only once the worker reports success ([`PendingReview`]).

use jitsudo_proto::{Failure, FdLayout, GrantRecord, Request, Review, ServerMessage};
use serde_bytes::ByteBuf;

use crate::grants::record::Record;
use crate::grants::workflow::{self, Ending, ReviewDecision};

use super::context::Context;
use super::gate::{self, Asking, Gate};
use super::identity::Identity;
use super::job::{Job, PamSpec, Then};
use super::question::request_context;
use super::verdict::{failed, PendingReview, Verdict, Work};

/// Answers a grant verb; gives the caller and request back if it is not one.
pub fn handle(
    ctx: &Context<'_>,
    who: Identity,
    request: Request,
) -> Result<Verdict, Box<(Identity, Request)>> {
    let grants = ctx.grants;
    let policy = ctx.policy;
    let outcome = match request {
        Request::RequestGrant(ask) => {
            workflow::request(grants, policy, &who, &ask, request_context(ctx, &who))
        }
        Request::ListGrants(query) => workflow::list(grants, policy, &who, &query),
        Request::Approve(review) => {
            return Ok(reviewed(ctx, who, *review, ReviewDecision::Approve))
        }
        Request::Deny(review) => return Ok(reviewed(ctx, who, *review, ReviewDecision::Deny)),
        Request::Cancel(id) => workflow::cancel(grants, &who, &id),
        Request::Revoke(review) => workflow::end(
            grants,
            policy,
            &who,
            &review.id,
            Ending::Revoke,
            review.reason.as_deref(),
        ),
        Request::Done(id) => workflow::end(grants, policy, &who, &id, Ending::Done, None),
        Request::Extend(ask) => workflow::extend(grants, policy, &who, &ask),
        Request::Justify(review) => {
            workflow::justify(grants, &who, &review.id, review.reason.as_deref())
        }
        other => return Err(Box::new((who, other))),
    };
    Ok(Verdict::Reply(reply(outcome)))
}

/// The records, or the refusal.
pub fn reply(outcome: Result<Vec<Record>, Failure>) -> Vec<ServerMessage> {
    match outcome {
        Ok(records) => vec![ServerMessage::Grants(
            records
                .iter()
                .map(Record::to_wire)
                .collect::<Vec<GrantRecord>>(),
        )],
        Err(failure) => failed(failure),
    }
}

/// `approve`/`deny`: checked now, recorded after authentication (at once
/// for root or fresh cached credentials).
fn reviewed(ctx: &Context<'_>, who: Identity, review: Review, decision: ReviewDecision) -> Verdict {
    if decision == ReviewDecision::Deny
        && review.reason.as_ref().is_none_or(|r| r.trim().is_empty())
    {
        return Verdict::Reply(failed(Failure::new(
            "a denial needs a reason (--reason TEXT)",
        )));
    }
    if let Err(failure) = workflow::may_review(ctx.grants, ctx.policy, &who, &review.id, decision) {
        return Verdict::Reply(failed(failure));
    }
    let name = who.account.name.as_encoded_bytes().to_vec();
    let asking = Asking {
        reset_timestamp: false,
        non_interactive: false,
        prompt: None,
    };
    let pending = PendingReview {
        id: review.id,
        decision,
        reason: review.reason,
        who,
    };
    match gate::gate_with(ctx, &pending.who, &asking, &name) {
        Gate::Pass => Verdict::Reply(record_review(ctx, &pending)),
        Gate::Refuse(failure) => Verdict::Reply(failed(failure)),
        Gate::Ask(password) => {
            let job = Job {
                fds: FdLayout {
                    stdio: [false; 3],
                    cwd: true,
                    kept: 0,
                },
                caller_uid: pending.who.peer.uid,
                pam: PamSpec {
                    user: ByteBuf::from(name.clone()),
                    target: ByteBuf::from(name),
                    tty: pending.who.peer.tty.as_ref().map(|t| format!("/dev/{t}")),
                    password: Some(password),
                },
                then: Then::Review,
                audit: crate::audit::AuditRecord {
                    user: ByteBuf::from(pending.who.account.name.as_encoded_bytes().to_vec()),
                    uid: pending.who.peer.uid,
                    pid: pending.who.peer.pid,
                    tty: pending.who.peer.tty.clone(),
                    ..Default::default()
                },
            };
            Verdict::Work(Box::new(Work {
                job,
                remember: pending.who.cache_key(),
                executable: None,
                review: Some(pending),
                grant_use: None,
            }))
        }
    }
}

/// Records an authenticated review; the replies for the reviewer.
pub fn record_review(ctx: &Context<'_>, pending: &PendingReview) -> Vec<ServerMessage> {
    reply(workflow::review(
        ctx.grants,
        ctx.policy,
        &pending.who,
        &pending.id,
        pending.decision,
        pending.reason.as_deref(),
    ))
}
