//! Explaining a decision: every rule, whether it matched and why not, the
//! rule that decided and the precedence that made it decide.

use std::fmt;

use serde::Serialize;

use crate::decide::{evaluate, Decision, Mismatch, Reason};
use crate::model::{Auth, Cwd, Effect, Policy, Rule};
use crate::request::Request;

/// Why a request is allowed or refused, rule by rule.
///
/// It serializes to JSON (or any serde format) for tools; its `Display`
/// form is a short report for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// Whether the request would run.
    pub allowed: bool,
    /// The id of the rule that decided (`None` when no rule matched).
    pub deciding_rule: Option<String>,
    /// Which part of the precedence rule applied.
    pub precedence: Precedence,
    /// Why the request is refused (`None` when allowed), as the daemon says it.
    pub reason: Option<String>,
    /// What the deciding allow rule grants (`None` when refused).
    pub grant: Option<Grant>,
    /// Every rule of the policy, in file order.
    pub rules: Vec<RuleExplanation>,
}

/// Which part of the precedence rule decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Precedence {
    /// A deny rule matched: a matching deny rule beats every allow (the
    /// first matching deny in file order is reported).
    DenyBeatsAllow,
    /// No deny rule matched: the last matching allow rule in file order
    /// decided (its `setenv` and `cwd` options may still refuse).
    LastAllowDecides,
    /// No rule matched.
    NoRuleMatched,
}

/// The options the deciding allow rule gives the command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grant {
    /// Whether the caller authenticates first.
    pub auth: Auth,
    /// Whether the caller may pass or set environment variables.
    pub setenv: bool,
    /// Variables kept on top of the defaults' `env_keep`.
    pub env_keep: Vec<String>,
    /// The rule's umask in octal (`"0077"`); `None`: the default applies.
    pub umask: Option<String>,
    /// Seconds after which the command is killed; `None`: no limit.
    pub timeout_seconds: Option<u64>,
    /// Where `-D` may go: `"*"`, a directory, or `None` (no `-D`).
    pub cwd: Option<String>,
}

/// One rule's part in a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleExplanation {
    /// The rule's id.
    pub id: String,
    /// The source it comes from.
    pub file: String,
    /// The line of its `[[rule]]` header.
    pub line: usize,
    /// Whether it allows or denies.
    pub effect: Effect,
    /// Whether it matches the request.
    pub matched: bool,
    /// The first part that does not match (`None` when it matched).
    pub mismatch: Option<Mismatch>,
    /// What the rule did.
    pub role: RuleRole,
    /// For a grantable rule: how a grant for it is obtained (approvers,
    /// maximum, break-glass, self-extension), as `policy diff` says it.
    pub grantable: Option<String>,
}

/// What a rule did in a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleRole {
    /// It decided.
    Decided,
    /// It matched, but another rule decided (a later allow, or a deny).
    Overridden,
    /// It did not match.
    NotMatched,
}

impl Policy {
    /// Explains how [`Policy::decide`] decides `request`: the decision is
    /// `decide`'s own, and every rule is listed with its match or its first
    /// mismatch. This scans every rule: it is meant for tools, not for the
    /// daemon's hot path.
    pub fn explain(&self, request: &Request<'_>) -> Explanation {
        let decision = self.decide(request);
        let (allowed, deciding_rule, reason) = match &decision {
            Decision::Allow(allowed) => (true, Some(allowed.rule_id.clone()), None),
            Decision::Deny(refusal) => {
                let decided = matches!(
                    refusal.reason,
                    Reason::DeniedByRule | Reason::SetenvNotAllowed | Reason::ChdirNotAllowed(_)
                );
                let rule = refusal.rule_id.clone().filter(|_| decided);
                (false, rule, Some(refusal.reason.to_string()))
            }
        };
        let precedence = match &decision {
            Decision::Deny(refusal) if refusal.reason == Reason::DeniedByRule => {
                Precedence::DenyBeatsAllow
            }
            _ if deciding_rule.is_some() => Precedence::LastAllowDecides,
            _ => Precedence::NoRuleMatched,
        };
        let rules = self
            .rules
            .iter()
            .map(|rule| {
                let mismatch = evaluate(rule, request)
                    .err()
                    .or_else(|| rule.grant.as_ref().map(|_| Mismatch::Grant));
                let role = if deciding_rule.as_deref() == Some(rule.id.as_str()) {
                    RuleRole::Decided
                } else if mismatch.is_none() {
                    RuleRole::Overridden
                } else {
                    RuleRole::NotMatched
                };
                RuleExplanation {
                    id: rule.id.clone(),
                    file: rule.file.to_string(),
                    line: rule.line,
                    effect: rule.effect,
                    matched: mismatch.is_none(),
                    mismatch,
                    role,
                    grantable: rule.grant.as_ref().map(ToString::to_string),
                }
            })
            .collect();
        let grant = match &decision {
            Decision::Allow(allowed) => self
                .rules
                .iter()
                .find(|rule| rule.id == allowed.rule_id)
                .map(grant),
            Decision::Deny(_) => None,
        };
        Explanation {
            allowed,
            deciding_rule,
            precedence,
            reason,
            grant,
            rules,
        }
    }
}

/// What an allow rule grants.
fn grant(rule: &Rule) -> Grant {
    Grant {
        auth: rule.auth,
        setenv: rule.allows_setenv(),
        env_keep: rule.env_keep.clone(),
        umask: rule.umask.map(|mask| format!("{mask:04o}")),
        timeout_seconds: rule.timeout.map(|t| t.as_secs()),
        cwd: rule.cwd.as_ref().map(|cwd| match cwd {
            Cwd::Any => "*".to_owned(),
            Cwd::Exact(dir) => dir.display().to_string(),
        }),
    }
}

impl fmt::Display for Precedence {
    /// The precedence rule that applied, as a sentence fragment.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Precedence::DenyBeatsAllow => "a matching deny rule beats every allow",
            Precedence::LastAllowDecides => "the last matching allow rule in file order decides",
            Precedence::NoRuleMatched => "no rule matches",
        })
    }
}

impl fmt::Display for Explanation {
    /// A report: the decision and its precedence, the grant, then one line
    /// per rule.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.allowed { "allowed" } else { "refused" };
        match &self.deciding_rule {
            Some(id) => writeln!(f, "{verdict} by rule `{id}` ({})", self.precedence)?,
            None => writeln!(f, "{verdict} ({})", self.precedence)?,
        }
        if let Some(reason) = &self.reason {
            writeln!(f, "reason: {reason}")?;
        }
        if let Some(grant) = &self.grant {
            write!(f, "grant: auth {}, setenv {}", grant.auth, grant.setenv)?;
            if !grant.env_keep.is_empty() {
                write!(f, ", env_keep {}", grant.env_keep.join(" "))?;
            }
            if let Some(umask) = &grant.umask {
                write!(f, ", umask {umask}")?;
            }
            if let Some(seconds) = grant.timeout_seconds {
                write!(f, ", timeout {seconds}s")?;
            }
            if let Some(cwd) = &grant.cwd {
                write!(f, ", cwd {cwd}")?;
            }
            writeln!(f)?;
        }
        for rule in &self.rules {
            write!(
                f,
                "  {} ({}:{}, {}): ",
                rule.id, rule.file, rule.line, rule.effect
            )?;
            match (&rule.mismatch, rule.role) {
                (_, RuleRole::Decided) => writeln!(f, "matches, decides")?,
                (_, RuleRole::Overridden) => writeln!(f, "matches, overridden")?,
                // A grantable rule says how its grant is obtained and, for a
                // group or caps grant, what it may give.
                (Some(mismatch), _) => match &rule.grantable {
                    Some(how) => writeln!(f, "no match: {mismatch} ({how})")?,
                    None => writeln!(f, "no match: {mismatch}")?,
                },
                (None, RuleRole::NotMatched) => writeln!(f, "no match")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
