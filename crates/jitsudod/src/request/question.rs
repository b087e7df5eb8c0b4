//! Ask the policy: the pure engine's request, built from facts the caller
//! cannot forge (the opened file, the daemon's clock, the kernel's view of
//! the caller's terminal and ancestry, this host's name).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use jitsudo_policy::{ActiveGrant, Decision, GroupRef, Policy, TargetUser};
use jitsudo_proto::{PreserveEnv, RunRequest};

use crate::executable::Opened;

use super::context::Context;
use super::identity::Identity;
use super::resolve::Resolved;
use super::target::Target;
use super::words::os;

/// The policy's answer to `request`, resolved as `resolved`.
pub fn ask(
    ctx: &Context<'_>,
    who: &Identity,
    request: &RunRequest,
    resolved: &Resolved,
    grants: &[ActiveGrant<'_>],
) -> Decision {
    ask_with(ctx, who, request, resolved, |policy, question| {
        policy.decide_with_grants(question, grants)
    })
}

/// Puts the question built for `request` to the policy with `put`:
/// [`Policy::decide`], or [`Policy::explain`] for `jitsudoctl`.
pub fn ask_with<D>(
    ctx: &Context<'_>,
    who: &Identity,
    request: &RunRequest,
    resolved: &Resolved,
    put: impl FnOnce(&Policy, &jitsudo_policy::Request<'_>) -> D,
) -> D {
    let Resolved {
        target,
        line,
        found,
        record,
        ..
    } = resolved;
    let found = found.as_ref();
    let typed = PathBuf::from(&line.program);
    // As sudo: `-D` naming the caller's own working directory needs no
    // permission.
    let chdir = request
        .chdir
        .as_ref()
        .filter(|d| d[..] != record.cwd[..])
        .map(|d| PathBuf::from(os(d)));
    let question = Question {
        // A command that was not found is matched as typed: a relative
        // name can only match `ALL`, so "command not found" is never
        // revealed to a caller who may not run it.
        command: found.map_or(&typed, |o| &o.path),
        found,
        args: &line.args,
        wants_setenv: request.preserve_env != PreserveEnv::None || !request.assignments.is_empty(),
        chdir: chdir.as_deref(),
    };
    decide(ctx, who, target, &question, put)
}

/// `-e`: may the caller edit `file` (absolute, normalised) as `target`?
/// Asked as the pseudo-command `sudoedit` with the file as its argument.
pub fn ask_edit(ctx: &Context<'_>, who: &Identity, target: &Target, file: &OsString) -> Decision {
    let question = Question {
        command: Path::new(jitsudo_policy::SUDOEDIT),
        found: None,
        args: std::slice::from_ref(file),
        wants_setenv: false,
        chdir: None,
    };
    decide(ctx, who, target, &question, Policy::decide)
}

/// What is asked about the command.
struct Question<'a> {
    command: &'a Path,
    found: Option<&'a Opened>,
    args: &'a [OsString],
    wants_setenv: bool,
    chdir: Option<&'a Path>,
}

/// Puts `q`, asked by `who` as `target`, to the policy with `put`.
fn decide<D>(
    ctx: &Context<'_>,
    who: &Identity,
    target: &Target,
    q: &Question<'_>,
    put: impl FnOnce(&Policy, &jitsudo_policy::Request<'_>) -> D,
) -> D {
    let group_name = target.group.as_ref().and_then(|g| g.name.to_str());
    let context = request_context(ctx, who);
    who.with_caller(ctx.policy, |caller| {
        let mut question = jitsudo_policy::Request {
            caller,
            run_as_user: TargetUser {
                uid: target.account.uid,
                name: target.account.name.to_str(),
                primary_gid: target.account.gid,
                is_caller_by_default: target.is_caller_by_default,
            },
            run_as_group: target.group.as_ref().map(|g| GroupRef {
                gid: g.gid,
                name: group_name,
            }),
            command: q.command,
            executable: q.found.map(Opened::executable),
            args: q.args,
            wants_setenv: q.wants_setenv,
            chdir: q.chdir,
            command_digest: None,
            context,
        };
        if ctx.policy.needs_digest(&question) {
            question.command_digest = q.found.and_then(Opened::sha256);
        }
        put(ctx.policy, &question)
    })
}

/// The request's circumstances for `when` clauses, from sources the caller
/// cannot forge: the daemon's clock, the kernel's view of the caller's
/// terminal, its process ancestry and this host's name.
pub fn request_context<'a>(ctx: &Context<'a>, who: &Identity) -> jitsudo_policy::Context<'a> {
    let unix_seconds = ctx.at.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    });
    jitsudo_policy::Context {
        now: jitsudo_policy::Timestamp {
            unix_seconds,
            local_utc_offset: jitsudo_sys::time::local_utc_offset(unix_seconds),
        },
        has_tty: who.peer.tty.is_some(),
        origin: who.origin,
        host: ctx.host,
    }
}
