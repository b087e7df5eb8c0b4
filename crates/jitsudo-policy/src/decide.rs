//! Deciding a request: the rule that applies, and why a request is refused.

use std::fmt;
use std::path::PathBuf;

use crate::model::{Auth, Policy, Rule};
use crate::request::Request;

/// The policy's answer to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The request may run, under the conditions given.
    Allow(Allowed),
    /// The request is refused.
    Deny(Refusal),
}

/// What an allowed request is subject to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowed {
    /// The id of the rule that decided.
    pub rule_id: String,
    /// Whether the caller must authenticate first.
    pub auth: Auth,
    /// Whether that rule lets the caller pass or set environment variables.
    pub setenv: bool,
}

/// Why a request is refused, and the rule closest to allowing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// What failed.
    pub reason: Reason,
    /// The rule that decided (for `SetenvNotAllowed` and `ChdirNotAllowed`)
    /// or the last rule that came closest; `None` for `NotInPolicy`.
    pub rule_id: Option<String>,
}

/// The cause of a refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// No rule's `who` names the caller.
    NotInPolicy,
    /// Rules name the caller, but none allows this command.
    CommandNotAllowed,
    /// A rule allows the command, but not as this user or group.
    RunAsNotAllowed,
    /// The deciding rule does not allow `-E`, `--preserve-env` or `VAR=value`.
    SetenvNotAllowed,
    /// The deciding rule does not allow `-D` with this directory.
    ChdirNotAllowed(PathBuf),
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::NotInPolicy => f.write_str("you are not named in any rule of the policy"),
            Reason::CommandNotAllowed => f.write_str("no rule allows you to run this command"),
            Reason::RunAsNotAllowed => {
                f.write_str("no rule allows you to run this command as that user or group")
            }
            Reason::SetenvNotAllowed => {
                f.write_str("you are not allowed to preserve or set environment variables")
            }
            Reason::ChdirNotAllowed(dir) => write!(
                f,
                "you are not allowed to change to directory {}",
                dir.display()
            ),
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.rule_id {
            Some(id) => write!(f, "{} (closest rule: {id})", self.reason),
            None => write!(f, "{}", self.reason),
        }
    }
}

/// How far a rule got in matching a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Fit {
    /// The rule does not name the caller.
    NotNamed,
    /// It names the caller but no command entry matches.
    CommandMismatch,
    /// Caller and command match, the target user or group does not.
    RunAsMismatch,
    /// Everything matches: the rule applies.
    Applies,
}

impl Policy {
    /// Decides a request. Among the rules that apply, the last one in file
    /// order decides; its `setenv` and `cwd` options are then checked.
    pub fn decide(&self, request: &Request<'_>) -> Decision {
        let mut closest: Option<(Fit, &Rule)> = None;
        for rule in self.rules.iter().rev() {
            let fit = fit(rule, request);
            if fit == Fit::Applies {
                return conditions(rule, request);
            }
            if fit > closest.map_or(Fit::NotNamed, |(best, _)| best) {
                closest = Some((fit, rule));
            }
        }
        Decision::Deny(refusal(closest))
    }
}

/// How far `rule` matches `request`.
fn fit(rule: &Rule, request: &Request<'_>) -> Fit {
    if !rule.who.iter().any(|who| who.matches(&request.caller)) {
        Fit::NotNamed
    } else if !rule
        .commands
        .iter()
        .any(|c| c.matches(request.command, request.args))
    {
        Fit::CommandMismatch
    } else if !run_as_matches(rule, request) {
        Fit::RunAsMismatch
    } else {
        Fit::Applies
    }
}

/// Sudoers' run-as semantics: without `-g` the target user must be listed in
/// `run_as`; with `-g` only the command runs as the caller and the group must
/// be in `run_as_groups`; with both, both must match. A `-g` naming the
/// target user's own primary group is allowed whenever `run_as` matches him.
fn run_as_matches(rule: &Rule, request: &Request<'_>) -> bool {
    let target = &request.run_as_user;
    let user_listed = rule
        .run_as
        .iter()
        .any(|user| user.matches(target.uid, target.name));
    let Some(group) = request.run_as_group else {
        return user_listed;
    };
    let group_listed = rule
        .run_as_groups
        .iter()
        .any(|g| g.matches(group.gid, group.name));
    let own_primary = user_listed && group.gid == target.primary_gid;
    let user_ok = user_listed || target.is_caller_by_default;
    user_ok && (group_listed || own_primary)
}

/// Applies the deciding rule's `setenv` and `cwd` options.
fn conditions(rule: &Rule, request: &Request<'_>) -> Decision {
    let refuse = |reason| {
        Decision::Deny(Refusal {
            reason,
            rule_id: Some(rule.id.clone()),
        })
    };
    if request.wants_setenv && !rule.allows_setenv() {
        return refuse(Reason::SetenvNotAllowed);
    }
    if let Some(dir) = request.chdir.filter(|dir| !rule.allows_chdir(dir)) {
        return refuse(Reason::ChdirNotAllowed(dir.to_path_buf()));
    }
    Decision::Allow(Allowed {
        rule_id: rule.id.clone(),
        auth: rule.auth,
        setenv: rule.allows_setenv(),
    })
}

/// The refusal for a request no rule applies to.
fn refusal(closest: Option<(Fit, &Rule)>) -> Refusal {
    let reason = match closest {
        Some((Fit::RunAsMismatch, _)) => Reason::RunAsNotAllowed,
        Some(_) => Reason::CommandNotAllowed,
        None => Reason::NotInPolicy,
    };
    Refusal {
        reason,
        rule_id: closest.map(|(_, rule)| rule.id.clone()),
    }
}

#[cfg(test)]
mod tests;
