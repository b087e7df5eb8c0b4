//! `jitsudo -l` and `jitsudo -v`: what the caller may do, without running
//! anything.

use std::os::unix::ffi::OsStrExt;

use jitsudo_policy::{Auth, Decision, Rule};
use jitsudo_proto::{Exit, Failure, Request, ServerMessage};

use crate::handler::{evaluate, Context, Identity, Passed, Verdict};

/// `-l [command]`.
pub fn list(ctx: &Context<'_>, who: &Identity, request: &Request, passed: &Passed) -> Verdict {
    let rules = rules_of(ctx, who);
    if let Some(refusal) = gate(ctx, who, &rules) {
        return refusal;
    }
    if request.argv.is_empty() {
        return reply_then_exit(render(ctx, who, &rules).into_bytes(), 0);
    }
    match evaluate(ctx, who, request, passed) {
        Ok(eval) => match (eval.decision, eval.found) {
            (Decision::Allow(_), Some(path)) => {
                let mut line = path.as_os_str().as_bytes().to_vec();
                for arg in &eval.line.args {
                    line.push(b' ');
                    line.extend_from_slice(arg.as_bytes());
                }
                line.push(b'\n');
                reply_then_exit(line, 0)
            }
            (Decision::Allow(_), None) => {
                let mut text = eval.line.program.as_bytes().to_vec();
                text.extend_from_slice(b": command not found");
                Verdict::Reply(vec![ServerMessage::Error(Failure::new(text))])
            }
            _ => Verdict::Reply(vec![ServerMessage::Exited(Exit::Code(1))]),
        },
        Err(failure) => Verdict::Reply(vec![ServerMessage::Error(failure)]),
    }
}

/// `-v`: succeeds when the caller has rules and needs no password for them.
pub fn validate(ctx: &Context<'_>, who: &Identity) -> Verdict {
    let rules = rules_of(ctx, who);
    gate(ctx, who, &rules).unwrap_or(Verdict::Reply(vec![ServerMessage::Exited(Exit::Code(0))]))
}

fn rules_of<'p>(ctx: &Context<'p>, who: &Identity) -> Vec<&'p Rule> {
    who.with_caller(|caller| {
        ctx.policy
            .rules
            .iter()
            .filter(|rule| rule.who.iter().any(|w| w.matches(&caller)))
            .collect()
    })
}

/// Until authentication exists, anything sudo would only answer after a
/// password gets sudo's non-interactive answer, "a password is required":
/// callers without rules, and callers with a rule that wants a password.
/// Root is never asked, so root learns that it has no rules.
fn gate(ctx: &Context<'_>, who: &Identity, rules: &[&Rule]) -> Option<Verdict> {
    let needs_password = rules.is_empty() || rules.iter().any(|r| r.auth == Auth::Password);
    let text = match (needs_password, who.peer.uid) {
        (false, _) => return None,
        (true, 0) if !rules.is_empty() => return None,
        (true, 0) => format!(
            "Sorry, user {} may not run jitsudo on {}.",
            who.account.name.to_string_lossy(),
            ctx.host
        ),
        (true, _) => "a password is required".into(),
    };
    Some(Verdict::Reply(vec![ServerMessage::Error(Failure::new(
        text,
    ))]))
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

/// Output on stdout, then the exit status.
fn reply_then_exit(output: Vec<u8>, status: i32) -> Verdict {
    Verdict::Reply(vec![
        ServerMessage::Output(output.into()),
        ServerMessage::Exited(Exit::Code(status)),
    ])
}
