//! `jitsudoctl policy explain`: a described request resolved exactly as a
//! real one ([`resolve`]: accounts, the executable opened from the
//! caller's directory, digests; [`question`]: the daemon's clock and local
//! time zone) and put to [`Policy::explain`], so the answer is the one the
//! daemon would give.

use std::path::PathBuf;

use jitsudo_policy::{Origin, Policy};
use jitsudo_proto::{
    ExplainFormat, ExplainRequest, Failure, RunRequest, ServerMessage, SessionOrigin,
};
use serde_bytes::ByteBuf;

use crate::policy_store;

use super::context::{Context, Passed};
use super::identity::Identity;
use super::question;
use super::resolve;

/// Exit status of `jitsudoctl policy explain` when the question cannot be
/// answered (unknown user, invalid candidate policy).
const UNANSWERABLE: u8 = 2;

/// The explanation for `request` (root only), with the policy in force or
/// the candidate files the request names.
pub fn answer(
    ctx: &Context<'_>,
    who: &Identity,
    request: &ExplainRequest,
    passed: &Passed,
) -> Vec<ServerMessage> {
    if who.peer.uid != 0 {
        let refusal = Failure::new("only root may explain the policy");
        return vec![ServerMessage::Error(refusal)];
    }
    let answered = who
        .other(&request.user)
        .and_then(|caller| explain(ctx, described(caller, request), request, passed));
    match answered {
        Ok(message) => vec![message],
        Err(mut failure) => {
            failure.status = UNANSWERABLE;
            vec![ServerMessage::Error(failure)]
        }
    }
}

fn explain(
    ctx: &Context<'_>,
    who: Identity,
    request: &ExplainRequest,
    passed: &Passed,
) -> Result<ServerMessage, Failure> {
    if request.argv.is_empty() {
        return Err(Failure::new("no command given"));
    }
    let candidate = match request.policy.as_slice() {
        [] => None,
        files => {
            Some(policy_store::load_files(&paths(files)).map_err(|e| Failure::new(e.to_string()))?)
        }
    };
    let ctx = Context {
        policy: candidate.as_ref().map_or(ctx.policy, |c| &c.policy),
        policy_hash: candidate.as_ref().map_or(ctx.policy_hash, |c| &c.hash),
        host: request.host.as_deref().unwrap_or(ctx.host),
        at: request.at,
        ..*ctx
    };
    let run = run_request(request);
    let resolved = resolve::resolve(&ctx, &who, &run, passed)?;
    let explanation = question::ask_with(&ctx, &who, &run, &resolved, Policy::explain);
    let text = match request.format {
        ExplainFormat::Text => explanation.to_string(),
        ExplainFormat::Json => serde_json::to_string_pretty(&explanation)
            .map_err(|e| Failure::new(format!("cannot render the explanation: {e}")))?,
    };
    Ok(ServerMessage::Explained {
        allowed: explanation.allowed,
        text: ByteBuf::from(text.into_bytes()),
    })
}

/// The described caller: a terminal or not, and where the session comes
/// from (default: local with a terminal, none without).
fn described(mut who: Identity, request: &ExplainRequest) -> Identity {
    who.peer.tty = request.tty.then(|| "(described)".to_owned());
    who.origin = match request.origin {
        Some(SessionOrigin::Local) => Origin::Local,
        Some(SessionOrigin::Ssh) => Origin::Ssh,
        Some(SessionOrigin::None) => Origin::None,
        None if request.tty => Origin::Local,
        None => Origin::None,
    };
    who
}

fn paths(files: &[ByteBuf]) -> Vec<PathBuf> {
    use std::os::unix::ffi::OsStringExt;
    files
        .iter()
        .map(|f| PathBuf::from(std::ffi::OsString::from_vec(f.to_vec())))
        .collect()
}

/// The run request the described one stands for.
fn run_request(request: &ExplainRequest) -> RunRequest {
    RunRequest {
        user: request.run_as.clone(),
        group: request.group.clone(),
        non_interactive: true,
        ..RunRequest::new(request.argv.clone())
    }
}
