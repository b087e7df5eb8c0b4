//! From a received request to a reply or a worker job: descriptors and
//! request checked, `policy reload` answered, the grant verbs by
//! [`grant_verbs`], everything else through the request pipeline, then the failure rate limit and the cap on requests
//! waiting at a password prompt.

use std::os::fd::OwnedFd;

use jitsudo_audit::EventKind;
use jitsudo_proto::{Failure, PassedFds, Request, ServerMessage};

use super::{status, Shared};
use crate::limits::{Cap, Over, Slot};
use crate::peer::Peer;
use crate::policy_store::Loaded;
use crate::request::grant_verbs;
use crate::request::{self, Identity, Passed, Verdict};

/// What to do with a routed request.
pub(super) enum Routed {
    /// Answer and close.
    Reply(Vec<ServerMessage>),
    /// Hand it to a worker.
    Work(Handover),
}

/// An accepted request on its way to a worker.
pub(super) struct Handover {
    pub(super) work: Box<request::Work>,
    pub(super) passed: Passed,
    pub(super) uid: u32,
    /// Held while the worker waits for a password.
    pub(super) pending: Option<Slot>,
}

fn refusal(failure: Failure) -> Routed {
    Routed::Reply(vec![ServerMessage::Error(failure)])
}

/// Routes a request through the pipeline (blocking: account lookups,
/// policy, exec resolution): a reply, or a worker job within the caps.
pub(super) fn route(shared: &Shared, peer: Peer, request: Request, fds: Vec<OwnedFd>) -> Routed {
    let passed = match PassedFds::receive(request.fd_layout(), fds) {
        Ok(passed) => passed,
        Err(e) => return refusal(Failure::new(format!("protocol error: {e}"))),
    };
    if let Err(failure) = request::validate(&request) {
        return refusal(failure);
    }
    if request == Request::ReloadPolicy {
        return Routed::Reply(vec![reload_reply(shared, peer.uid)]);
    }
    if request == Request::Status {
        return Routed::Reply(vec![status::reply(shared, peer.uid)]);
    }
    let policy = shared.policy();
    let identity = match Identity::of(peer, policy.policy.uses_origin()) {
        Ok(identity) => identity,
        Err(failure) => return refusal(failure),
    };
    let ctx = shared.context(&policy);
    let (identity, request) = match grant_verbs::handle(&ctx, identity, request) {
        Ok(Verdict::Reply(messages)) => return Routed::Reply(messages),
        Ok(Verdict::Work(work)) => return within_caps(shared, &policy, work, passed),
        Err(not_a_grant_verb) => *not_a_grant_verb,
    };
    let work = match request::handle(&ctx, &identity, request, &passed) {
        Verdict::Reply(messages) => return Routed::Reply(messages),
        Verdict::Work(work) => work,
    };
    within_caps(shared, &policy, work, passed)
}

/// A job for a worker, within the limits on failed and pending
/// authentications.
fn within_caps(
    shared: &Shared,
    policy: &Loaded,
    mut work: Box<request::Work>,
    passed: Passed,
) -> Routed {
    // The worker writes the sinks the deciding policy writes.
    work.job.audit.guard.log = policy.policy.defaults.audit_log.clone();
    let uid = work.job.caller_uid;
    let mut pending = None;
    if work.job.pam.password.is_some() {
        if shared.too_many_failures(uid) {
            let text = "too many failed authentication attempts; try again later";
            let record = &work.job.audit;
            shared
                .audit
                .emit(&record.event(EventKind::AuthFail).reason(text));
            return refusal(Failure::new(text));
        }
        let cap = Cap::pending_auth(&policy.policy.defaults.limits);
        match shared.pending_auth.take(uid, cap) {
            Ok(slot) => pending = Some(slot),
            Err(over) => return refusal(Failure::new(too_many_prompts(over))),
        }
    }
    Routed::Work(Handover {
        work,
        passed,
        uid,
        pending,
    })
}

/// Why a request that needs a password is refused when too many wait.
fn too_many_prompts(over: Over) -> &'static str {
    match over {
        Over::User => {
            "too many of your requests are waiting for a password; \
             answer or cancel them, then try again"
        }
        Over::Total => "too many requests are waiting for a password; try again later",
    }
}

/// `jitsudoctl policy reload`: root only; the errors of a refused policy
/// go back to the caller.
fn reload_reply(shared: &Shared, uid: u32) -> ServerMessage {
    if uid != 0 {
        return ServerMessage::Error(Failure::new("only root may reload the policy"));
    }
    match shared.reload() {
        Ok(()) => ServerMessage::PolicyReloaded,
        Err(errors) => ServerMessage::Error(Failure::new(format!(
            "policy reload refused, the old policy stays in force:\n{errors}"
        ))),
    }
}
