//! Deciding a request: the rule that applies, and why a request is refused.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::command::CommandMatch;
use crate::grant::ActiveGrant;
use crate::model::{Auth, Effect, Policy, Rule};
use crate::principal::IdPattern;
use crate::request::Request;
use crate::when::WhenPart;

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
    /// Variable names to keep on top of [`crate::Defaults::env_keep`]
    /// (the deciding rule's `env_keep`).
    pub env_keep: Vec<String>,
    /// The umask to use instead of [`crate::Defaults::umask`]; `None`: the
    /// default applies.
    pub umask: Option<u32>,
    /// Kill the command after this long; `None`: no limit.
    pub timeout: Option<Duration>,
    /// The active grant that made the deciding (grantable) rule apply.
    pub grant_id: Option<String>,
}

/// Why a request is refused, and the rule closest to allowing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// What failed.
    pub reason: Reason,
    /// The rule that decided (for `DeniedByRule`, `SetenvNotAllowed` and
    /// `ChdirNotAllowed`) or the last allow rule that came closest; `None`
    /// for `NotInPolicy`.
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
    /// A deny rule matches the request (a match of a deny rule beats every
    /// allow rule).
    DeniedByRule,
    /// A rule would allow the request but its `when` clause does not hold
    /// (time, terminal, origin or host).
    WhenNotSatisfied,
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
            Reason::DeniedByRule => {
                f.write_str("a deny rule of the policy forbids you to run this command")
            }
            Reason::WhenNotSatisfied => f.write_str(
                "you may run this command only at other times, from another terminal or on another host",
            ),
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.rule_id {
            Some(id) if self.reason == Reason::DeniedByRule => {
                write!(f, "{} (rule: {id})", self.reason)
            }
            Some(id) => write!(f, "{} (closest rule: {id})", self.reason),
            None => write!(f, "{}", self.reason),
        }
    }
}

/// How far a rule got in matching a request, for the refusal of a request
/// no allow rule matches: the higher, the closer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Fit {
    /// The rule does not name the caller.
    NotNamed,
    /// It names the caller but no command entry matches.
    CommandMismatch,
    /// Caller and command match, the target user or group does not.
    RunAsMismatch,
    /// All but the `when` clause match.
    WhenMismatch,
    /// Everything matches: the rule applies.
    Applies,
}

/// The first part of a rule that does not match a request, in the order
/// they are checked: who, command (then digest), run-as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "part", rename_all = "snake_case")]
pub enum Mismatch {
    /// No `who` entry names the caller.
    Who,
    /// No `commands` entry matches the command and its arguments.
    Command,
    /// Entries match the command and its arguments, but each pins a
    /// digest the executable does not have (or none was computed).
    Digest,
    /// Neither `run_as` nor `run_as_groups` allows the target.
    RunAs,
    /// Everything matches, but the rule is grantable and applies only
    /// under an active grant (`jitsudoctl request`).
    Grant,
    /// Everything else matches, but a condition of `when` does not hold.
    When {
        /// The condition that does not hold.
        condition: WhenPart,
    },
}

impl Mismatch {
    /// How close a rule that misses this way came.
    fn fit(&self) -> Fit {
        match self {
            Mismatch::Who => Fit::NotNamed,
            Mismatch::Command | Mismatch::Digest => Fit::CommandMismatch,
            Mismatch::RunAs => Fit::RunAsMismatch,
            Mismatch::When { .. } | Mismatch::Grant => Fit::WhenMismatch,
        }
    }
}

impl fmt::Display for Mismatch {
    /// The part that failed and why, in a few words.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mismatch::Who => f.write_str("who: the caller is not named"),
            Mismatch::Command => {
                f.write_str("command: no entry matches the command and its arguments")
            }
            Mismatch::Digest => f.write_str(
                "digest: the command matches only entries pinned to another sha256 digest",
            ),
            Mismatch::RunAs => f.write_str("run-as: the target user or group is not allowed"),
            Mismatch::When { condition } => write!(f, "when: {condition}"),
            Mismatch::Grant => f.write_str(
                "grant: the rule applies only under an active grant (jitsudoctl request)",
            ),
        }
    }
}

impl Policy {
    /// Decides a request. **A matching deny rule beats every allow;
    /// otherwise the last matching allow rule in file order decides**, and
    /// its `setenv` and `cwd` options are then checked (without falling back
    /// to an earlier rule).
    pub fn decide(&self, request: &Request<'_>) -> Decision {
        self.decide_with_grants(request, &[])
    }

    /// [`Policy::decide`], with the caller's active grants: a grantable
    /// rule takes part only while one of them is for it (and, for a
    /// command grant, names exactly this command and these arguments).
    pub fn decide_with_grants(
        &self,
        request: &Request<'_>,
        grants: &[ActiveGrant<'_>],
    ) -> Decision {
        let active =
            |rule: &&Rule| rule.grant.is_none() || granting(rule, request, grants).is_some();
        let indexed = self.index.usable(self.rules.len());
        let (positions, naming_caller) = if indexed {
            self.index.candidates(request)
        } else {
            (Vec::new(), false)
        };
        let rules = |positions: Vec<u32>| -> Vec<&Rule> {
            positions
                .into_iter()
                .filter_map(|position| self.rules.get(position as usize))
                .collect()
        };
        let candidates: Vec<&Rule> = if indexed {
            rules(positions)
        } else {
            self.rules.iter().collect()
        };
        let candidates: Vec<&Rule> = candidates.into_iter().filter(active).collect();
        let evaluated: Vec<Evaluated<'_>> = candidates
            .into_iter()
            .map(|rule| (rule, evaluate(rule, request)))
            .collect();
        let applies = |effect: Effect| {
            move |(rule, result): &&Evaluated<'_>| rule.effect == effect && result.is_ok()
        };
        if let Some((deny, _)) = evaluated.iter().find(applies(Effect::Deny)) {
            return Decision::Deny(Refusal {
                reason: Reason::DeniedByRule,
                rule_id: Some(deny.id.clone()),
            });
        }
        if let Some((allow, _)) = evaluated.iter().rev().find(applies(Effect::Allow)) {
            let grant = granting(allow, request, grants);
            return conditions(allow, request, grant);
        }
        let closest = refusal(evaluated);
        let command_matched = matches!(
            closest.reason,
            Reason::RunAsNotAllowed | Reason::WhenNotSatisfied
        );
        if !indexed || naming_caller || command_matched {
            return Decision::Deny(closest);
        }
        // The candidates came from the command's path: a rule naming the
        // caller outside them misses on the command, and among equals the
        // last one is the closest.
        let last_naming = rules(self.index.naming_caller(request))
            .into_iter()
            .rev()
            .filter(active)
            .find(|rule| {
                rule.effect == Effect::Allow
                    && rule.who.iter().any(|who| who.matches(&request.caller))
            });
        Decision::Deny(match last_naming {
            Some(rule) => Refusal {
                reason: Reason::CommandNotAllowed,
                rule_id: Some(rule.id.clone()),
            },
            None => closest,
        })
    }
}

/// A rule and how it compares with a request.
type Evaluated<'p> = (&'p Rule, Result<(), Mismatch>);

/// The refusal for a request no rule applies to, from evaluated rules in
/// file order (including every allow rule naming the caller): the reason
/// given by the allow rule that came closest, the last one among equals.
fn refusal(evaluated: Vec<Evaluated<'_>>) -> Refusal {
    let mut closest: Option<(Fit, &Rule)> = None;
    for (rule, result) in evaluated.into_iter().rev() {
        if rule.effect != Effect::Allow {
            continue;
        }
        let fit = result.map_or_else(|miss| miss.fit(), |()| Fit::Applies);
        if fit > closest.map_or(Fit::NotNamed, |(best, _)| best) {
            closest = Some((fit, rule));
        }
    }
    let reason = match closest {
        Some((Fit::WhenMismatch, _)) => Reason::WhenNotSatisfied,
        Some((Fit::RunAsMismatch, _)) => Reason::RunAsNotAllowed,
        Some(_) => Reason::CommandNotAllowed,
        None => Reason::NotInPolicy,
    };
    Refusal {
        reason,
        rule_id: closest.map(|(_, rule)| rule.id.clone()),
    }
}

/// Whether `rule` matches `request`, or the first part that does not.
pub(crate) fn evaluate(rule: &Rule, request: &Request<'_>) -> Result<(), Mismatch> {
    if !rule
        .who
        .iter()
        .any(|who| who.matches_for(&request.caller, rule.effect))
    {
        return Err(Mismatch::Who);
    }
    commands_match(rule, request)?;
    if !run_as_matches(rule, request) {
        return Err(Mismatch::RunAs);
    }
    if let Some(when) = &rule.when {
        when.check(&request.context)
            .map_err(|condition| Mismatch::When { condition })?;
    }
    Ok(())
}

/// Whether one of the rule's command entries matches, or why none does.
fn commands_match(rule: &Rule, request: &Request<'_>) -> Result<(), Mismatch> {
    let digest = request.command_digest.as_ref();
    let subject = request.subject();
    let mut pinned = false;
    for command in &rule.commands {
        match command.check(&subject, request.args, digest, rule.effect) {
            CommandMatch::Match => return Ok(()),
            CommandMatch::DigestMismatch => pinned = true,
            CommandMatch::Mismatch => {}
        }
    }
    Err(if pinned {
        Mismatch::Digest
    } else {
        Mismatch::Command
    })
}

/// Sudoers' run-as semantics: without `-g` the target user must be listed in
/// `run_as`; with `-g` only the command runs as the caller and the group must
/// be in `run_as_groups`; with both, both must match. A `-g` naming the
/// target user's own primary group is allowed whenever `run_as` matches him.
/// `SELF` in `run_as` matches a target whose uid is the caller's.
fn run_as_matches(rule: &Rule, request: &Request<'_>) -> bool {
    let target = &request.run_as_user;
    let user_listed = rule.run_as.iter().any(|user| match user {
        IdPattern::Caller => target.uid == request.caller.uid,
        _ => user.matches(target.uid, target.name),
    });
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

/// The id of the active grant that makes the grantable `rule` apply.
fn granting(rule: &Rule, request: &Request<'_>, grants: &[ActiveGrant<'_>]) -> Option<String> {
    grants
        .iter()
        .find(|grant| {
            grant.rule_id == rule.id
                && grant
                    .command
                    .is_none_or(|(path, args)| path == request.command && args == request.args)
        })
        .map(|grant| grant.id.to_owned())
}

/// Applies the deciding rule's `setenv` and `cwd` options.
fn conditions(rule: &Rule, request: &Request<'_>, grant_id: Option<String>) -> Decision {
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
        env_keep: rule.env_keep.clone(),
        umask: rule.umask,
        timeout: rule.timeout,
        grant_id,
    })
}

#[cfg(test)]
mod tests;
