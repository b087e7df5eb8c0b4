//! Saying no: a rejection logged with its reason, and a policy refusal,
//! which sudo reveals only after the caller authenticated.

use std::os::unix::ffi::OsStrExt;

use jitsudo_policy::Reason;
use jitsudo_proto::{Failure, RunRequest, ServerMessage};

use super::context::Context;
use super::gate::{self, Gate};
use super::identity::Identity;
use super::job::Then;
use super::refusal::Refusal;
use super::target::Target;
use super::verdict::{failed, work, Verdict};
use crate::audit::AuditRecord;

/// Logs `text` as the reason a request was rejected and makes it the reply.
pub(super) fn reject(ctx: &Context<'_>, record: &AuditRecord, text: Vec<u8>) -> Vec<ServerMessage> {
    ctx.audit
        .emit(&record.rejected(&String::from_utf8_lossy(&text)));
    failed(Failure::new(text))
}

/// What the policy refused, and to whom it applies.
pub(super) struct Refused<'a> {
    /// Why.
    pub reason: &'a Reason,
    /// The arguments, for the message.
    pub args: &'a [std::ffi::OsString],
    /// The target.
    pub target: &'a Target,
}

/// A refusal. Those about options (`-E`, `VAR=value`, `-D`) are told at
/// once, as sudo does. Any other refusal sudo reveals only after the caller
/// authenticated, so a caller who has not (and is not root, and has no
/// fresh cached credentials) is asked for the password first, and with
/// `-n` only learns that "a password is required".
pub(super) fn deny(
    ctx: &Context<'_>,
    who: &Identity,
    request: &RunRequest,
    record: AuditRecord,
    refused: &Refused<'_>,
) -> Result<Verdict, Vec<ServerMessage>> {
    ctx.audit
        .emit(&record.rejected(&refused.reason.to_string()));
    let target = refused.target;
    let target_name = target.account.name.as_bytes().to_vec();
    let refusal = match refused.reason {
        Reason::SetenvNotAllowed => return Err(Refusal::Setenv(request).reply()),
        Reason::ChdirNotAllowed(_) => {
            return Err(Refusal::Chdir {
                command: &record.command,
            }
            .reply())
        }
        Reason::NotInPolicy => Refusal::NotInPolicy {
            user: who.account.name.as_bytes(),
        },
        _ => Refusal::NotAllowed {
            user: who.account.name.as_bytes(),
            command: &record.command,
            args: refused.args,
            target: (
                &target_name,
                target.group.as_ref().map(|g| g.name.as_bytes()),
            ),
            host: ctx.host,
        },
    }
    .reply();
    match gate::gate(ctx, who, request, &target_name, true) {
        Gate::Pass => Ok(Verdict::Reply(refusal)),
        Gate::Refuse(failure) => Err(failed(failure)),
        Gate::Ask(spec) => {
            let then = Then::Reply(refusal);
            Ok(work(who, request, &target_name, Some(spec), then, record))
        }
    }
}
