//! `jitsudoctl shell ID` and `jitsudoctl run ID -- CMD`: a shell or one
//! command under the holder's group, caps or shell grant. The grant decides
//! who the command runs as and with what: the holder with their own groups
//! and one more (group), the holder with ambient capabilities (caps), or
//! the grant's user with a login shell (shell). It goes the way of a run:
//! the caller's kernel identity, the grant checked (the holder's, usable,
//! still given by the policy, its rule's `when`), the executable opened
//! once, the rule's `auth`, the use counted once the caller authenticated
//! (the `grant.use` event; exec events carry the grant's id), and a worker
//! that puts the command in the grant's cgroup before it execs, so the
//! grant's end ends it.

use std::os::unix::ffi::OsStrExt;

use jitsudo_policy::{Allowed, Auth, Rule};
use jitsudo_proto::{Failure, GrantSession, PreserveEnv, RunRequest, ServerMessage, ShellMode};
use serde_bytes::ByteBuf;

use crate::grants::record::Record;
use crate::grants::teardown;
use crate::grants::using::privilege_grant;
use crate::grants::workflow::privileges::{still_gives, Given};
use crate::grants::workflow::when_now;

use super::context::{Context, Passed};
use super::exec_spec;
use super::gate::{self, Gate};
use super::grant_step;
use super::identity::Identity;
use super::job::{Exec, Then};
use super::question::request_context;
use super::refusal::message;
use super::resolve::{self, Resolved};
use super::verdict::{failed, work, Verdict};

/// Starts the shell or command of `session` under its grant.
pub fn start(
    ctx: &Context<'_>,
    who: &Identity,
    session: &GrantSession,
    passed: &Passed,
) -> Result<Verdict, Vec<ServerMessage>> {
    let grant = privilege_grant(ctx.grants, who.peer.uid, &session.id).map_err(failed)?;
    let (rule, given) = in_force(ctx, who, &grant).map_err(failed)?;
    if teardown::group_dir(&grant.id).is_none() {
        // Without a group, the grant's end could not stop what it started.
        return Err(failed(Failure::new(
            "a group, caps or shell grant needs cgroup v2, which jitsudod cannot use here",
        )));
    }
    let request = as_granted(who, &given, &session.request);
    let Resolved {
        target,
        caller_env,
        line,
        found,
        mut record,
    } = resolve::resolve(ctx, who, &request, passed).map_err(failed)?;
    record.rule = Some(rule.id.clone());
    let (pending, cgroup) = grant_step::prepare_use(&grant.id, &mut record).map_err(failed)?;
    let Some(opened) = found else {
        let text = message(line.program.as_bytes(), b": command not found");
        ctx.audit
            .emit(&record.rejected(&String::from_utf8_lossy(&text)));
        return Err(failed(Failure::new(text)));
    };
    let target_name = target.account.name.as_bytes().to_vec();
    let wants_password = rule.auth == Auth::Password;
    let ask = match gate::gate(ctx, who, &request, &target_name, wants_password) {
        Gate::Pass => None,
        Gate::Ask(spec) => Some(spec),
        Gate::Refuse(failure) => {
            ctx.audit.emit(&record.rejected("a password is required"));
            return Err(failed(failure));
        }
    };
    let allowed = Allowed {
        rule_id: rule.id.clone(),
        auth: rule.auth,
        setenv: false,
        env_keep: rule.env_keep.clone(),
        umask: rule.umask,
        timeout: rule.timeout,
        grant_id: Some(grant.id.clone()),
    };
    let facts = exec_spec::Facts {
        who,
        target: &target,
        request: &request,
        allowed: &allowed,
        caller_env: &caller_env,
    };
    let mut exec = exec_spec::build(ctx, &facts, line, &opened);
    exec.grant_cgroup = cgroup;
    exec.grant = Some(grant.id.clone());
    give(&mut exec, who, &given);
    if exec.exec_size() > exec_spec::arg_max() {
        return Err(failed(Failure::new(
            "unable to execute: Argument list too long",
        )));
    }
    let then = Then::Run(Box::new(exec));
    Ok(work(who, &request, &target_name, ask, then, record)
        .with_executable(opened.fd)
        .with_grant_use(Some(pending)))
}

/// The grant's rule and privilege in the policy in force, if it still
/// gives it and its `when` allows it now.
fn in_force<'p>(
    ctx: &Context<'p>,
    who: &Identity,
    grant: &Record,
) -> Result<(&'p Rule, Given), Failure> {
    let gone = || {
        Failure::new(format!(
            "the policy no longer gives what grant {} gave",
            grant.id
        ))
    };
    let given = Given::of_record(grant)
        .filter(|_| still_gives(ctx.policy, grant))
        .ok_or_else(gone)?;
    let (rule, _) = ctx.policy.grantable_rule(&grant.rule_id).ok_or_else(gone)?;
    when_now(rule, request_context(ctx, who))?;
    Ok((rule, given))
}

/// The run the grant makes of the caller's request: as the holder (group,
/// caps) or the grant's user (shell); no arguments: the holder's shell
/// (`$SHELL`, else their login shell), or for a shell grant the user's
/// login shell in their home. The options of `jitsudo` that choose the
/// target, the environment or the directory do not apply.
fn as_granted(who: &Identity, given: &Given, asked: &RunRequest) -> RunRequest {
    let user = match given {
        Given::Shell { user, .. } => user.as_bytes().to_vec(),
        Given::Group { .. } | Given::Caps(_) => who.account.name.as_bytes().to_vec(),
    };
    let shell = match (asked.argv.is_empty(), given) {
        (false, _) => ShellMode::Direct,
        (true, Given::Shell { .. }) => ShellMode::Login,
        (true, _) => ShellMode::Shell,
    };
    RunRequest {
        user: Some(ByteBuf::from(user)),
        group: None,
        shell,
        assignments: Vec::new(),
        preserve_env: PreserveEnv::None,
        chdir: None,
        background: false,
        set_home: false,
        preserve_groups: false,
        command_timeout: None,
        close_from: None,
        ..asked.clone()
    }
}

/// The grant's privilege in the command's credentials: the holder's own
/// groups (as the kernel reported them) and the extra one, or the holder's
/// groups and the capabilities as ambient. A shell grant runs as its user
/// with that user's groups, as built already. The command is executed by
/// its path as the target: the grant allows what the target may run, not
/// what the daemon (root) could open.
fn give(exec: &mut Exec, who: &Identity, given: &Given) {
    exec.exec_by_path = true;
    match given {
        Given::Group { gid, .. } => {
            exec.groups = who.peer.groups.clone();
            if !exec.groups.contains(gid) {
                exec.groups.push(*gid);
            }
            exec.gid = who.peer.gid;
        }
        Given::Caps(caps) => {
            exec.groups = who.peer.groups.clone();
            exec.gid = who.peer.gid;
            exec.ambient_caps = caps.iter().map(|c| c.number()).collect();
        }
        Given::Shell { .. } => {}
    }
}
