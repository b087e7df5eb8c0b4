//! `jitsudo -l` and `jitsudo -v`: what the caller may do, without running
//! anything. Both answer only after the caller authenticated when one of
//! their rules wants a password (or when they have no rule at all), as
//! sudo does.

use std::os::unix::ffi::OsStrExt;

use jitsudo_policy::{Auth, Decision, Effect, Rule};
use jitsudo_proto::{Exit, Failure, ListRequest, RunRequest, ServerMessage};

use crate::audit::AuditRecord;

use super::context::{Context, Passed};
use super::gate::{self, Gate};
use super::grant_step;
use super::identity::Identity;
use super::job::Then;
use super::question;
use super::refusal::Refusal;
use super::resolve;
use super::verdict::{failed, work, Verdict};

/// `-l [command]`.
pub fn list(ctx: &Context<'_>, who: &Identity, list: &ListRequest, passed: &Passed) -> Verdict {
    list_other(ctx, who, who, list, passed)
}

/// `-l -U user [command]`: `listed`'s privileges, shown to `who` once
/// `who` authenticated (root never has to).
pub fn list_other(
    ctx: &Context<'_>,
    who: &Identity,
    listed: &Identity,
    list: &ListRequest,
    passed: &Passed,
) -> Verdict {
    let request = &list.request;
    let rules = rules_of(ctx, listed);
    let grants = grant_step::listed(ctx, listed);
    let answer = if rules.is_empty() && grants.is_empty() {
        may_not_run(ctx, listed)
    } else if request.argv.is_empty() {
        let mut text = if list.long {
            render_long(ctx, listed, &rules)
        } else {
            render(ctx, listed, &rules)
        };
        text.push_str(&grants);
        vec![
            ServerMessage::Output(text.into_bytes().into()),
            ServerMessage::Exited(Exit::Code(0)),
        ]
    } else {
        check(ctx, listed, request, passed)
    };
    let wants_password = rules.is_empty() || rules.iter().any(|r| r.auth == Auth::Password);
    after_gate(ctx, who, request, wants_password, answer)
}

/// `-v`: succeeds for a caller with rules, once authenticated if needed;
/// a caller without rules is told at once, as sudo does.
pub fn refresh(ctx: &Context<'_>, who: &Identity, request: &RunRequest) -> Verdict {
    let rules = rules_of(ctx, who);
    let answer = if rules.is_empty() {
        return Verdict::Reply(may_not_run(ctx, who));
    } else {
        // A fresh entry is refreshed, as sudo -v extends the timestamp.
        if let Some(key) = who.cache_key().filter(|_| !request.no_update) {
            if ctx.cache.is_fresh(&key, gate::timeout(ctx)) {
                ctx.cache.remember(key, gate::timeout(ctx));
            }
        }
        vec![ServerMessage::Done]
    };
    let wants_password = rules.iter().any(|r| r.auth == Auth::Password);
    after_gate(ctx, who, request, wants_password, answer)
}

/// Sends `answer` at once, or after a password, or not at all (`-n`).
fn after_gate(
    ctx: &Context<'_>,
    who: &Identity,
    request: &RunRequest,
    wants_password: bool,
    answer: Vec<ServerMessage>,
) -> Verdict {
    let target = b"root";
    match gate::gate(ctx, who, request, target, wants_password) {
        Gate::Pass => Verdict::Reply(answer),
        Gate::Refuse(failure) => Verdict::Reply(failed(failure)),
        Gate::Ask(spec) => {
            let record = AuditRecord {
                user: who.account.name.as_bytes().to_vec().into(),
                uid: who.peer.uid,
                pid: who.peer.pid,
                tty: who.peer.tty.clone(),
                run_as: target.to_vec().into(),
                policy_hash: Some(ctx.policy_hash.to_owned()),
                ..AuditRecord::default()
            };
            work(
                who,
                request,
                target,
                Some(spec),
                Then::Reply(answer),
                record,
            )
        }
    }
}

/// `-l command`: the resolved command line when allowed, else status 1.
fn check(
    ctx: &Context<'_>,
    who: &Identity,
    request: &RunRequest,
    passed: &Passed,
) -> Vec<ServerMessage> {
    let resolved = match resolve::resolve(ctx, who, request, passed) {
        Ok(resolved) => resolved,
        Err(failure) => return failed(failure),
    };
    let held = match grant_step::usable(ctx, who) {
        Ok(held) => held,
        Err(failure) => return failed(failure),
    };
    let decision = question::ask(ctx, who, request, &resolved, &held.active());
    match (decision, &resolved.found) {
        (Decision::Allow(_), Some(opened)) => {
            let mut line = opened.path.as_os_str().as_bytes().to_vec();
            for arg in &resolved.line.args {
                line.push(b' ');
                line.extend_from_slice(arg.as_bytes());
            }
            line.push(b'\n');
            vec![
                ServerMessage::Output(line.into()),
                ServerMessage::Exited(Exit::Code(0)),
            ]
        }
        (Decision::Allow(_), None) => {
            let mut text = resolved.line.program.as_bytes().to_vec();
            text.extend_from_slice(b": command not found");
            failed(Failure::new(text))
        }
        _ => vec![ServerMessage::Exited(Exit::Code(1))],
    }
}

fn may_not_run(ctx: &Context<'_>, who: &Identity) -> Vec<ServerMessage> {
    Refusal::MayNotRun {
        user: who.account.name.as_bytes(),
        host: ctx.host,
    }
    .reply()
}

fn rules_of<'p>(ctx: &Context<'p>, who: &Identity) -> Vec<&'p Rule> {
    who.with_caller(ctx.policy, |caller| {
        ctx.policy
            .rules
            .iter()
            .filter(|rule| rule.effect == Effect::Allow)
            // Group, caps and shell grants give no commands.
            .filter(|rule| !rule.grant.as_ref().is_some_and(|g| g.kind.is_privilege()))
            .filter(|rule| rule.who.iter().any(|w| w.matches_for(&caller, rule.effect)))
            .collect()
    })
}

fn render(ctx: &Context<'_>, who: &Identity, rules: &[&Rule]) -> String {
    let mut out = format!(
        "User {} may run the following commands on {}:\n",
        who.account.name.to_string_lossy(),
        ctx.host
    );
    for rule in rules {
        out.push_str(&format!("    {}\n", rule_line(rule)));
    }
    out
}

/// `-ll`: one block per rule, in the shape of sudo's long listing.
fn render_long(ctx: &Context<'_>, who: &Identity, rules: &[&Rule]) -> String {
    let mut out = format!(
        "User {} may run the following commands on {}:\n",
        who.account.name.to_string_lossy(),
        ctx.host
    );
    for rule in rules {
        let join = |items: Vec<String>| items.join(", ");
        out.push_str(&format!("\nPolicy rule: {}\n", rule.id));
        out.push_str(&format!(
            "    RunAsUsers: {}\n",
            join(rule.run_as.iter().map(ToString::to_string).collect())
        ));
        if !rule.run_as_groups.is_empty() {
            out.push_str(&format!(
                "    RunAsGroups: {}\n",
                join(rule.run_as_groups.iter().map(ToString::to_string).collect())
            ));
        }
        let setenv = if rule.setenv { "setenv" } else { "!setenv" };
        let auth = if rule.auth == Auth::None {
            "!authenticate"
        } else {
            "authenticate"
        };
        out.push_str(&format!("    Options: {setenv}, {auth}\n    Commands:\n"));
        for command in &rule.commands {
            out.push_str(&format!("\t{command}\n"));
        }
    }
    out
}

fn rule_line(rule: &Rule) -> String {
    let join = |items: Vec<String>| items.join(", ");
    let users = join(rule.run_as.iter().map(ToString::to_string).collect());
    let groups = join(rule.run_as_groups.iter().map(ToString::to_string).collect());
    let runas = if groups.is_empty() {
        format!("({users})")
    } else {
        format!("({users} : {groups})")
    };
    let mut tags = String::new();
    if rule.auth == Auth::None {
        tags.push_str("NOPASSWD: ");
    }
    if rule.setenv {
        tags.push_str("SETENV: ");
    }
    let commands = join(rule.commands.iter().map(ToString::to_string).collect());
    format!("{runas} {tags}{commands}")
}
