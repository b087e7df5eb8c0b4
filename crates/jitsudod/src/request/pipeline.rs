//! The life of one request, top to bottom. The server identifies the caller
//! ([`Identity::of`]) and validates the request ([`super::validate`]); then
//! [`handle`] runs the verb: for a command, resolve (target, command) → ask
//! the policy → gate (authenticate first?) → job for a worker.

use std::os::unix::ffi::OsStrExt;

use jitsudo_policy::{Auth, Decision};
use jitsudo_proto::{Failure, Request, RunRequest, ServerMessage};

use super::context::{Context, Passed};
use super::denial::{deny, reject, Refused};
use super::edit;
use super::exec_spec;
use super::explain;
use super::gate::{self, Gate};
use super::grant_session;
use super::grant_step;
use super::identity::Identity;
use super::job::Then;
use super::listing;
use super::question;
use super::refusal::message;
use super::resolve::{self, Resolved};
use super::verdict::{failed, work, Verdict};

/// Answers one request of an identified caller: one arm per verb.
pub fn handle(ctx: &Context<'_>, who: &Identity, request: Request, passed: &Passed) -> Verdict {
    match request {
        Request::Run(run) => run_command(ctx, who, &run, passed).unwrap_or_else(Verdict::Reply),
        Request::List(list) => match &list.user {
            None => listing::list(ctx, who, &list, passed),
            // Only root may look at another user's privileges.
            Some(_) if who.peer.uid != 0 => {
                Verdict::Reply(failed(Failure::new("only root can use -U")))
            }
            // Root is never asked for a password, whoever he lists.
            Some(spec) => match who.other(spec) {
                Ok(other) => listing::list_other(ctx, who, &other, &list, passed),
                Err(failure) => Verdict::Reply(failed(failure)),
            },
        },
        Request::Validate(validate) => listing::refresh(ctx, who, &validate),
        Request::Edit(edit) => edit::edit(ctx, who, &edit, passed).unwrap_or_else(Verdict::Reply),
        Request::ResetTimestamp => {
            if let Some(key) = who.cache_key() {
                ctx.cache.forget(&key);
            }
            Verdict::Reply(vec![ServerMessage::Done])
        }
        Request::RemoveTimestamps => {
            ctx.cache.forget_user(who.peer.uid);
            Verdict::Reply(vec![ServerMessage::Done])
        }
        Request::Explain(explain) => Verdict::Reply(explain::answer(ctx, who, &explain, passed)),
        Request::UseGrant(session) => {
            grant_session::start(ctx, who, &session, passed).unwrap_or_else(Verdict::Reply)
        }
        // Answered by the server before any policy work, and by
        // grant_verbs before this.
        Request::ReloadPolicy
        | Request::RequestGrant(_)
        | Request::ListGrants(_)
        | Request::Approve(_)
        | Request::Deny(_)
        | Request::Cancel(_)
        | Request::Revoke(_)
        | Request::Done(_)
        | Request::Extend(_)
        | Request::Justify(_)
        | Request::Status => Verdict::Reply(failed(Failure::new("unexpected request"))),
    }
}

/// `jitsudo command`: resolve → ask the policy (with the caller's usable
/// grants) → gate → job (whose grant use counts once the caller
/// authenticated).
fn run_command(
    ctx: &Context<'_>,
    who: &Identity,
    request: &RunRequest,
    passed: &Passed,
) -> Result<Verdict, Vec<ServerMessage>> {
    let resolved = resolve::resolve(ctx, who, request, passed).map_err(failed)?;
    let held = grant_step::usable(ctx, who).map_err(failed)?;
    let decision = question::ask(ctx, who, request, &resolved, &held.active());
    let ended = match &decision {
        Decision::Deny(_) => grant_step::ended(ctx, who, request, &resolved),
        Decision::Allow(_) => None,
    };
    let Resolved {
        target,
        caller_env,
        line,
        found,
        mut record,
    } = resolved;
    let allowed = match decision {
        Decision::Allow(allowed) => allowed,
        Decision::Deny(refusal) => {
            record.rule = refusal.rule_id.clone();
            if let Some(ended) = ended {
                return Err(reject(ctx, &record, ended.message.into_vec()));
            }
            let refused = Refused {
                reason: &refusal.reason,
                args: &line.args,
                target: &target,
            };
            return deny(ctx, who, request, record, &refused);
        }
    };
    record.rule = Some(allowed.rule_id.clone());
    record.guard = ctx.policy.audit_guard(&allowed.rule_id);
    if let Some(text) = option_refusal(ctx, request) {
        return Err(reject(ctx, &record, text.as_bytes().to_vec()));
    }
    let used = match &allowed.grant_id {
        Some(id) => Some(grant_step::prepare_use(id, &mut record).map_err(failed)?),
        None => None,
    };
    let Some(opened) = found else {
        let text = message(line.program.as_bytes(), b": command not found");
        return Err(reject(ctx, &record, text));
    };
    // As sudo: running as oneself (and one's own group) needs no password.
    let wants_password = allowed.auth == Auth::Password && !target.is_caller(who);
    let target_name = target.account.name.as_bytes().to_vec();
    let ask = match gate::gate(ctx, who, request, &target_name, wants_password) {
        Gate::Pass => None,
        Gate::Ask(spec) => Some(spec),
        Gate::Refuse(failure) => {
            ctx.audit.emit(&record.rejected("a password is required"));
            return Err(failed(failure));
        }
    };
    let spec = exec_spec::Facts {
        who,
        target: &target,
        request,
        allowed: &allowed,
        caller_env: &caller_env,
    };
    let mut exec = exec_spec::build(ctx, &spec, line, &opened);
    let grant_use = used.map(|(pending, cgroup)| {
        exec.grant_cgroup = cgroup;
        exec.grant = Some(pending.id.clone());
        pending
    });
    if exec.exec_size() > exec_spec::arg_max() {
        let mut text = message(b"unable to execute ", &exec.path);
        text.extend_from_slice(b": Argument list too long");
        return Err(reject(ctx, &record, text));
    }
    // exec.accept is logged by the worker, once authentication passed.
    let then = Then::Run(Box::new(exec));
    Ok(work(who, request, &target_name, ask, then, record)
        .with_executable(opened.fd)
        .with_grant_use(grant_use))
}

/// sudo's refusal of `-T` and `-C` when the policy does not let callers
/// choose them (`user_command_timeouts`, `closefrom_override`).
fn option_refusal(ctx: &Context<'_>, request: &RunRequest) -> Option<&'static str> {
    let defaults = &ctx.policy.defaults;
    if request.command_timeout.is_some() && !defaults.user_command_timeouts {
        return Some("sorry, you are not allowed set a command timeout");
    }
    if request.close_from.is_some() && !defaults.closefrom_override {
        return Some("you are not permitted to use the -C option");
    }
    None
}
