//! Entitlement diffs: who gains and who loses which command as whom
//! between two policies, for reviewers of a policy change.
//!
//! Entitlements are compared symbolically, by pattern, not by the users and
//! files they denote today:
//!
//! * an entitlement is a (subject pattern, run-as pattern, command pattern)
//!   triple of an allow rule, as written (`%sudo`, `root` or `:adm` for a
//!   `run_as_groups` entry, `/usr/bin/systemctl restart *`); when several
//!   allow rules give the same triple, the last one (which decides) gives
//!   its auth, setenv and `when`;
//! * a deny rule without `when` removes the triples it covers whole: same
//!   subject or `ALL`, same run-as or `ALL`, and `ALL`, the same command, or
//!   the same path with any arguments; a deny that covers a triple only in
//!   part (a narrower command, or a `when`) is listed in the entitlement's
//!   `limited_by` instead;
//! * so `%sudo` gaining a command is reported as such, whoever is in the
//!   group, and `alice` and `%sudo` are different subjects even when alice
//!   is in the group.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::command::{Args, CommandPattern};
use crate::grant::GrantKind;
use crate::model::{Auth, Effect, Policy, Rule};
use crate::principal::IdPattern;

/// One difference between the entitlements of two policies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Gained, lost or changed.
    pub kind: ChangeKind,
    /// The subject pattern (`alice`, `%sudo`, `#1001`, `ALL`).
    pub who: String,
    /// The run-as pattern: a user (`root`, `ALL`, `SELF`), or `:group`.
    pub run_as: String,
    /// The command pattern, normalized (`ALL`, `/usr/bin/id ""`, …).
    pub command: String,
    /// The entitlement before (`None` when gained).
    pub old: Option<Entitlement>,
    /// The entitlement after (`None` when lost).
    pub new: Option<Entitlement>,
}

/// What kind of change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// The new policy grants the triple, the old one did not.
    Gained,
    /// The old policy granted the triple, the new one does not.
    Lost,
    /// Both grant it, with a different auth, setenv, `when` or limiting denies.
    Changed,
}

/// How a triple is granted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entitlement {
    /// The allow rule that grants it (the last one, which decides).
    pub rule_id: String,
    /// Whether the caller authenticates.
    pub auth: Auth,
    /// Whether the caller may set environment variables.
    pub setenv: bool,
    /// The rule's `when` clause, summarized; `None`: always.
    pub when: Option<String>,
    /// Deny rules that cover the triple in part.
    pub limited_by: Vec<String>,
    /// For a grantable rule: only under a grant, obtained how (for
    /// example `grant by jt_appr1, %sre (2 of them), up to 3600s`).
    pub grant: Option<String>,
}

impl Entitlement {
    /// Whether two entitlements differ in what they grant (the rule id
    /// alone does not count).
    fn differs(&self, other: &Entitlement) -> bool {
        (
            self.auth,
            self.setenv,
            &self.when,
            &self.limited_by,
            &self.grant,
        ) != (
            other.auth,
            other.setenv,
            &other.when,
            &other.limited_by,
            &other.grant,
        )
    }
}

/// A (who, run-as, command) triple.
type Triple = (String, String, String);

/// The entitlements `new` grants and `old` did not, those it no longer
/// grants, and those granted differently, sorted by who, run-as, command.
pub fn entitlement_diff(old: &Policy, new: &Policy) -> Vec<Change> {
    let (before, after) = (entitlements(old), entitlements(new));
    let mut changes = Vec::new();
    for (triple, was) in &before {
        match after.get(triple) {
            None => changes.push(change(ChangeKind::Lost, triple, Some(was), None)),
            Some(is) if was.differs(is) => {
                changes.push(change(ChangeKind::Changed, triple, Some(was), Some(is)));
            }
            Some(_) => {}
        }
    }
    for (triple, is) in &after {
        if !before.contains_key(triple) {
            changes.push(change(ChangeKind::Gained, triple, None, Some(is)));
        }
    }
    changes.sort_by(|a, b| {
        (&a.who, &a.run_as, &a.command, a.kind).cmp(&(&b.who, &b.run_as, &b.command, b.kind))
    });
    changes
}

/// A change record.
fn change(
    kind: ChangeKind,
    (who, run_as, command): &Triple,
    old: Option<&Entitlement>,
    new: Option<&Entitlement>,
) -> Change {
    Change {
        kind,
        who: who.clone(),
        run_as: run_as.clone(),
        command: command.clone(),
        old: old.cloned(),
        new: new.cloned(),
    }
}

/// Every triple a policy grants, with how.
fn entitlements(policy: &Policy) -> BTreeMap<Triple, Entitlement> {
    let mut granted = BTreeMap::new();
    let denies: Vec<&Rule> = policy
        .rules
        .iter()
        .filter(|rule| rule.effect == Effect::Deny)
        .collect();
    for rule in policy.rules.iter().filter(|r| r.effect == Effect::Allow) {
        for who in &rule.who {
            for (run_as, given) in privilege_triples(rule) {
                let triple = (who.to_string(), run_as, given);
                granted.insert(triple, entitlement(rule, Vec::new()));
            }
            for run_as in run_as_patterns(rule) {
                for command in &rule.commands {
                    let who_text = who.to_string();
                    let mut limited_by = Vec::new();
                    let mut removed = false;
                    for deny in &denies {
                        match covers(deny, &who_text, &run_as, command) {
                            Cover::Whole => removed = true,
                            Cover::Part => limited_by.push(deny.id.clone()),
                            Cover::None => {}
                        }
                    }
                    let triple = (who_text, run_as.clone(), normalized(command));
                    if removed {
                        granted.remove(&triple);
                        continue;
                    }
                    granted.insert(triple, entitlement(rule, limited_by));
                }
            }
        }
    }
    granted
}

/// How `rule` grants what it grants.
fn entitlement(rule: &Rule, limited_by: Vec<String>) -> Entitlement {
    Entitlement {
        rule_id: rule.id.clone(),
        auth: rule.auth,
        setenv: rule.allows_setenv(),
        when: rule.when.as_ref().map(ToString::to_string),
        limited_by,
        grant: rule.grant.as_ref().map(ToString::to_string),
    }
}

/// What a group, caps or shell grant of `rule` gives, as (run-as, what)
/// pairs: any command as the holder (`SELF`) with a group or a
/// capability, or a shell as a `run_as` user. (Deny rules, which match
/// commands, do not cover these.)
fn privilege_triples(rule: &Rule) -> Vec<(String, String)> {
    let Some(grant) = &rule.grant else {
        return Vec::new();
    };
    let holder = |given: String| ("SELF".to_owned(), format!("any command with {given}"));
    match grant.kind {
        GrantKind::Group => grant
            .groups
            .iter()
            .map(|g| holder(format!("group {g}")))
            .collect(),
        GrantKind::Caps => grant.caps.iter().map(|c| holder(c.to_string())).collect(),
        GrantKind::Shell => rule
            .run_as
            .iter()
            .map(|user| (user.to_string(), "a shell or any command".to_owned()))
            .collect(),
        GrantKind::Rule | GrantKind::Command => Vec::new(),
    }
}

/// The run-as patterns of a rule: its users, then its groups as `:group`.
fn run_as_patterns(rule: &Rule) -> Vec<String> {
    let users = rule.run_as.iter().map(ToString::to_string);
    let groups = rule.run_as_groups.iter().map(|g| format!(":{g}"));
    users.chain(groups).collect()
}

/// How much of a triple a deny rule covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cover {
    /// All of it.
    Whole,
    /// Some of it (a narrower command, or only at some times or places).
    Part,
    /// None of it, as far as patterns tell.
    None,
}

/// How much of the triple `deny` covers.
fn covers(deny: &Rule, who: &str, run_as: &str, command: &CommandPattern) -> Cover {
    let names_who = deny.who.iter().any(|w| {
        let w = w.to_string();
        w == who || w == "ALL"
    });
    let names_run_as = match run_as.strip_prefix(':') {
        Some(group) => deny
            .run_as_groups
            .iter()
            .any(|g| *g == IdPattern::All || g.to_string() == group),
        None => deny
            .run_as
            .iter()
            .any(|u| *u == IdPattern::All || u.to_string() == run_as),
    };
    if !names_who || !names_run_as {
        return Cover::None;
    }
    let command_cover = deny
        .commands
        .iter()
        .map(|d| command_cover(d, command))
        .max_by_key(|c| match c {
            Cover::Whole => 2,
            Cover::Part => 1,
            Cover::None => 0,
        })
        .unwrap_or(Cover::None);
    match command_cover {
        Cover::Whole if deny.when.is_some() => Cover::Part,
        other => other,
    }
}

/// How much of the allowed command `allowed` the denied entry covers.
fn command_cover(denied: &CommandPattern, allowed: &CommandPattern) -> Cover {
    let (denied, allowed) = match (denied, allowed) {
        (CommandPattern::All, _) => return Cover::Whole,
        (CommandPattern::Program(_), CommandPattern::All) => return Cover::Part,
        (CommandPattern::Program(d), CommandPattern::Program(a)) => (d, a),
    };
    if normalized_program(denied) == normalized_program(allowed) {
        return Cover::Whole;
    }
    let same_path = denied.path == allowed.path;
    let path_in_pattern = denied.path_glob.as_ref().is_some_and(|glob| {
        allowed.path_glob.is_none()
            && glob.matches(allowed.path.as_os_str().as_encoded_bytes(), true)
    });
    if !same_path && !path_in_pattern {
        return Cover::None;
    }
    if denied.args == Args::Any && denied.sha256.is_none() {
        Cover::Whole
    } else {
        Cover::Part
    }
}

/// A command pattern in a canonical text form: `ALL`, or
/// `[sha256:<hex> ]path[ args…]`, with `""` for "no arguments" and
/// arguments that contain spaces quoted.
fn normalized(command: &CommandPattern) -> String {
    match command {
        CommandPattern::All => "ALL".to_owned(),
        CommandPattern::Program(program) => normalized_program(program),
    }
}

/// The canonical text of a program entry.
fn normalized_program(program: &crate::command::Program) -> String {
    let mut text = String::new();
    if let Some(digest) = &program.sha256 {
        text.push_str("sha256:");
        for byte in digest.iter() {
            text.push_str(&format!("{byte:02x}"));
        }
        text.push(' ');
    }
    text.push_str(&program.path.to_string_lossy());
    let word = |w: &str| {
        if w.is_empty() || w.contains(char::is_whitespace) || w.contains('"') {
            format!("{w:?}")
        } else {
            w.to_owned()
        }
    };
    let words: Vec<String> = match &program.args {
        Args::Any => Vec::new(),
        Args::Exactly(args) if args.is_empty() => vec!["\"\"".to_owned()],
        Args::Exactly(args) => args.iter().map(|a| word(a)).collect(),
        Args::Patterns(patterns) => patterns.iter().map(|p| word(p.as_str())).collect(),
        Args::File(pattern) => vec![word(pattern.as_str())],
    };
    for w in words {
        text.push(' ');
        text.push_str(&w);
    }
    text
}

impl fmt::Display for Change {
    /// `+ who may run command as run_as (auth …)`, `-` for a loss and `~`
    /// for a change.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = match self.kind {
            ChangeKind::Gained => '+',
            ChangeKind::Lost => '-',
            ChangeKind::Changed => '~',
        };
        write!(
            f,
            "{sign} {} may run `{}` as {}",
            self.who, self.command, self.run_as
        )?;
        let describe = |e: &Entitlement| {
            let mut text = format!("auth {}", e.auth);
            if e.setenv {
                text.push_str(", setenv");
            }
            if let Some(when) = &e.when {
                text.push_str(&format!(", when {when}"));
            }
            if !e.limited_by.is_empty() {
                text.push_str(&format!(", limited by {}", e.limited_by.join(" ")));
            }
            if let Some(grant) = &e.grant {
                text.push_str(&format!(", only with a {grant}"));
            }
            format!("{text}; rule {}", e.rule_id)
        };
        match (&self.old, &self.new) {
            (Some(old), Some(new)) => write!(f, " ({} -> {})", describe(old), describe(new)),
            (Some(one), None) | (None, Some(one)) => write!(f, " ({})", describe(one)),
            (None, None) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
