//! `jitsudoctl request`: what may be asked for, bounded, and its first state.

use super::*;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jitsudo_policy::{
    ActiveGrant, Approval, Asked, Decision, GrantKind, Policy, Rule, Start, TargetUser,
};
use jitsudo_proto::{Failure, GrantAsk, GrantWhat, StartAsk};

use crate::accounts;
use crate::grants::events::{self, Transition};
use crate::grants::notify;
use crate::grants::record::{Record, State};
use crate::grants::workflow::privileges::Given;
use crate::grants::{
    now, Grants, MAX_COMMAND_BYTES, MAX_COMMAND_WORDS, MAX_LIVE_PER_USER, MAX_PENDING_PER_USER,
    MAX_REASON, MAX_TICKET,
};
use crate::request::Identity;

/// `jitsudoctl request`.
pub fn request(
    grants: &Grants,
    policy: &Policy,
    who: &Identity,
    ask: &GrantAsk,
    context: jitsudo_policy::Context<'_>,
) -> Outcome {
    bounded(ask)?;
    let (rule, grant, command, run_as, kind) = match &ask.what {
        GrantWhat::Rule(id) => {
            let (rule, grant) = rule_asked(policy, who, id, context)?;
            (rule, grant, None, None, GrantKind::Rule)
        }
        GrantWhat::Command { user, argv } => {
            let (rule, command, run_as) =
                command_rule(policy, who, user.as_deref(), argv, context)?;
            let grant = rule
                .grant
                .as_deref()
                .cloned()
                .ok_or_else(|| Failure::new("not grantable"))?;
            let id = rule.id.clone();
            (id, grant, Some(command), Some(run_as), GrantKind::Command)
        }
        GrantWhat::Group(_) | GrantWhat::Caps(_) | GrantWhat::Shell(_) => {
            let given = Given::asked(&ask.what, policy, who)
                .ok_or_else(|| Failure::new("not a privilege"))??;
            let (rule, grant) = given.rule(policy, who)?;
            when_now(rule, context)?;
            let kind = grant.kind;
            let id = rule.id.clone();
            (id, grant.clone(), given.words(), given.run_as(), kind)
        }
    };
    let asked = Asked {
        kind,
        duration: ask.duration.map(Duration::from_secs),
        uses: ask.uses,
        reason: ask.reason.as_deref(),
        ticket: ask.ticket.as_deref(),
        start: ask.start.map(|s| match s {
            StartAsk::OnApproval => Start::OnApproval,
            StartAsk::FirstUse => Start::FirstUse,
            StartAsk::At(_) => Start::At,
        }),
        break_glass: ask.break_glass,
    };
    let terms = grant
        .check(&asked)
        .map_err(|r| Failure::new(r.to_string()))?;
    let at = now();
    let start_at = match ask.start {
        Some(StartAsk::At(t)) => {
            grant
                .check_start_at(t, at, &policy.defaults.grant_timing)
                .map_err(|r| Failure::new(r.to_string()))?;
            Some(t)
        }
        _ if terms.start == Start::At => {
            return Err(Failure::new(
                "the rule's grants start at a set time: use --start at:TIME",
            ))
        }
        _ => None,
    };
    let mut record = Record {
        id: String::new(),
        state: State::Pending,
        requester_uid: who.peer.uid,
        requester: who.account.name.to_string_lossy().into_owned(),
        rule_id: rule,
        kind: kind.name().to_owned(),
        command,
        run_as,
        duration: secs(terms.duration),
        reason: ask.reason.clone(),
        ticket: ask.ticket.clone(),
        start: terms.start.name().to_owned(),
        start_at,
        max_uses: terms.uses,
        uses: 0,
        quorum: grant.approval.quorum(),
        created_at: at,
        deadline_at: at + secs(grant.approval.deadline()),
        starts_at: None,
        expires_at: None,
        warned: false,
        ended_at: None,
        end_reason: None,
        killed: None,
        reviews: Vec::new(),
    };
    let follow_up_at = grant
        .break_glass
        .filter(|_| ask.break_glass)
        .map(|glass| at.saturating_add(secs(glass.follow_up)));
    let mut told = true;
    let created = grants.store.transact(|tx| {
        super::break_glass::admit(tx, who.peer.uid, ask.break_glass, at)?;
        told = tx.created_since(who.peer.uid, at - notify::NOTICE_WINDOW)? < notify::MAX_NOTICES;
        let (pending, live) = tx.counts_of(who.peer.uid)?;
        let auto = grant.approval == Approval::Auto;
        if !auto && pending >= MAX_PENDING_PER_USER {
            return Err(Failure::new(format!(
                "you have {MAX_PENDING_PER_USER} requests pending already; cancel one \
                 (jitsudoctl cancel ID) or wait for a decision"
            )));
        }
        if live >= MAX_LIVE_PER_USER {
            return Err(Failure::new(format!(
                "you hold {MAX_LIVE_PER_USER} grants already; end one (jitsudoctl done ID) first"
            )));
        }
        record.id = tx.next_id()?;
        if follow_up_at.is_some() {
            activate(&mut record, at);
        } else if auto {
            approve_fully(&mut record, at, &grant);
        }
        tx.insert(&record)?;
        if let Some(follow_up_at) = follow_up_at {
            tx.add_break_glass(&record.id, who.peer.uid, follow_up_at)?;
        }
        Ok::<_, Failure>(record)
    })?;
    for transition in [Transition::Create, Transition::Activate] {
        match follow_up_at {
            Some(by) => events::emit_break_glass(grants, &created, transition, by),
            None if transition == Transition::Create && created.state == State::Pending => {
                let notified = if told {
                    notify::approvers(&grant.approval, &created)
                } else {
                    Vec::new()
                };
                events::emit_created(grants, &created, &notified);
            }
            None if transition == Transition::Create || created.state.is_live() => {
                events::emit(grants, &created, transition, None);
            }
            None => {}
        }
    }
    grants.wake.notify_one();
    Ok(vec![created])
}

/// The grantable rule `id` of the caller's, if its `when` allows it now.
fn rule_asked(
    policy: &Policy,
    who: &Identity,
    id: &str,
    context: jitsudo_policy::Context<'_>,
) -> Result<(String, jitsudo_policy::Grantable), Failure> {
    let found = who.with_caller(policy, |caller| policy.grantable(id, &caller));
    let (rule, grant) = found.ok_or_else(|| {
        Failure::new(jitsudo_policy::RequestRefusal::NoSuchRule(id.to_owned()).to_string())
    })?;
    when_now(rule, context)?;
    Ok((rule.id.clone(), grant.clone()))
}

/// Refuses a request (or a use) the rule's `when` does not allow now.
pub fn when_now(rule: &Rule, context: jitsudo_policy::Context<'_>) -> Result<(), Failure> {
    match &rule.when {
        Some(when) => when
            .check(&context)
            .map_err(|c| Failure::new(format!("the rule does not allow it now: {c}"))),
        None => Ok(()),
    }
}

/// Refuses what a user could make unbounded, and control characters.
fn bounded(ask: &GrantAsk) -> Result<(), Failure> {
    printable(ask.reason.iter().chain(&ask.ticket).map(String::as_str))?;
    match &ask.what {
        GrantWhat::Rule(id) => printable([id.as_str()])?,
        GrantWhat::Command { user, argv } => {
            printable(argv.iter().chain(user).map(String::as_str))?;
        }
        GrantWhat::Group(name) => printable([name.as_str()])?,
        GrantWhat::Caps(names) => printable(names.iter().map(String::as_str))?,
        GrantWhat::Shell(user) => printable(user.iter().map(String::as_str))?,
    }
    if ask.reason.as_ref().is_some_and(|r| r.len() > MAX_REASON) {
        return Err(Failure::new(format!(
            "the reason is longer than {MAX_REASON} bytes"
        )));
    }
    if ask.ticket.as_ref().is_some_and(|t| t.len() > MAX_TICKET) {
        return Err(Failure::new(format!(
            "the ticket is longer than {MAX_TICKET} bytes"
        )));
    }
    if let GrantWhat::Command { argv, .. } = &ask.what {
        let bytes: usize = argv.iter().map(String::len).sum();
        if argv.len() > MAX_COMMAND_WORDS || bytes > MAX_COMMAND_BYTES {
            return Err(Failure::new(format!(
                "the command is longer than {MAX_COMMAND_WORDS} words or {MAX_COMMAND_BYTES} bytes"
            )));
        }
        if argv.is_empty() {
            return Err(Failure::new("no command given after --"));
        }
    }
    Ok(())
}

/// The grantable command rule that would allow `argv` as `user` once a
/// grant for it is active (the last one in file order), with the command's
/// absolute path and arguments and the target's name.
fn command_rule<'p>(
    policy: &'p Policy,
    who: &Identity,
    user: Option<&str>,
    argv: &[String],
    context: jitsudo_policy::Context<'_>,
) -> Result<(&'p Rule, Vec<String>, String), Failure> {
    let target = accounts::resolve_user(user.unwrap_or("root").as_bytes())
        .ok_or_else(|| Failure::new(format!("unknown user {}", user.unwrap_or("root"))))?;
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| Failure::new("no command"))?;
    let path = find_program(program, &policy.defaults.secure_path)
        .ok_or_else(|| Failure::new(format!("{program}: command not found")))?;
    let args_os: Vec<std::ffi::OsString> = args.iter().map(Into::into).collect();
    let candidates = policy.rules.iter().rev().filter(|rule| {
        rule.grant
            .as_ref()
            .is_some_and(|g| g.kind == GrantKind::Command)
    });
    for rule in candidates {
        let granted = ActiveGrant {
            id: "candidate",
            rule_id: &rule.id,
            command: None,
        };
        let decision = who.with_caller(policy, |caller| {
            let question = jitsudo_policy::Request {
                caller,
                run_as_user: TargetUser {
                    uid: target.uid,
                    name: target.name.to_str(),
                    primary_gid: target.gid,
                    is_caller_by_default: false,
                },
                run_as_group: None,
                command: &path,
                executable: None,
                args: &args_os,
                wants_setenv: false,
                chdir: None,
                command_digest: None,
                context,
            };
            policy.decide_with_grants(&question, &[granted])
        });
        if matches!(&decision, Decision::Allow(a) if a.rule_id == rule.id) {
            let mut command = vec![path.to_string_lossy().into_owned()];
            command.extend(args.iter().cloned());
            let run_as = target.name.to_string_lossy().into_owned();
            return Ok((rule, command, run_as));
        }
    }
    Err(Failure::new(
        "no grantable rule lets you request this command as this user",
    ))
}

/// `program` if absolute, else the first executable of that name in `path`.
fn find_program(program: &str, path: &str) -> Option<PathBuf> {
    if program.starts_with('/') {
        return Some(PathBuf::from(program));
    }
    if program.contains('/') {
        return None;
    }
    path.split(':')
        .map(|dir| Path::new(dir).join(program))
        .find(|candidate| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(candidate)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}
