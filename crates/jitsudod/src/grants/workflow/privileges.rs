//! `jitsudoctl request --group`, `--caps`, `--shell`: the grantable rule
//! that gives the privilege asked for, and how the grant records it. The
//! same check runs again at each use and at a reload ([`still_gives`]).

use jitsudo_policy::{Capability, Grantable, Policy, Privilege, RequestRefusal, Rule};
use jitsudo_proto::{Failure, GrantWhat};

use crate::accounts;
use crate::grants::record::Record;
use crate::request::Identity;

/// Most capabilities one request may name (the kernel knows 41).
const MAX_CAPS: usize = 64;

/// What a group, caps or shell grant gives, resolved against the user and
/// group databases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Given {
    /// An extra supplementary group.
    Group {
        /// Its gid.
        gid: u32,
        /// Its name (`#gid` if it has none).
        name: String,
    },
    /// Ambient capabilities, sorted, without repeats.
    Caps(Vec<Capability>),
    /// A shell as this user.
    Shell {
        /// The user's uid.
        uid: u32,
        /// The user's name.
        user: String,
    },
}

impl Given {
    /// Resolves `--group`, `--caps` or `--shell`; `None` for other kinds.
    pub fn asked(
        what: &GrantWhat,
        policy: &Policy,
        who: &Identity,
    ) -> Option<Result<Given, Failure>> {
        Some(match what {
            GrantWhat::Group(name) => group(name),
            GrantWhat::Caps(names) => caps(names, policy, who),
            GrantWhat::Shell(user) => shell(user.as_deref().unwrap_or("root")),
            GrantWhat::Rule(_) | GrantWhat::Command { .. } => return None,
        })
    }

    /// What a stored group, caps or shell grant gives, resolved now; `None`
    /// if it no longer resolves (group or user gone) or the grant is of
    /// another kind.
    pub fn of_record(record: &Record) -> Option<Given> {
        let words = record.command.as_deref().unwrap_or_default();
        match record.kind.as_str() {
            "group" => group(words.first()?).ok(),
            "caps" if !words.is_empty() => words
                .iter()
                .map(|name| Capability::parse(name).ok())
                .collect::<Option<Vec<_>>>()
                .map(Given::Caps),
            "shell" => shell(record.run_as.as_deref()?).ok(),
            _ => None,
        }
    }

    /// As the policy matches it.
    pub fn privilege(&self) -> Privilege<'_> {
        match self {
            Given::Group { gid, name } => Privilege::Group {
                gid: *gid,
                name: Some(name.as_str()).filter(|n| !n.starts_with('#')),
            },
            Given::Caps(caps) => Privilege::Caps(caps),
            Given::Shell { uid, user } => Privilege::Shell {
                uid: *uid,
                name: Some(user),
            },
        }
    }

    /// What the grant's record keeps in its `command` column: the group's
    /// name, or the capabilities' names.
    pub fn words(&self) -> Option<Vec<String>> {
        match self {
            Given::Group { name, .. } => Some(vec![name.clone()]),
            Given::Caps(caps) => Some(caps.iter().map(|c| c.name().to_owned()).collect()),
            Given::Shell { .. } => None,
        }
    }

    /// A shell grant's user.
    pub fn run_as(&self) -> Option<String> {
        match self {
            Given::Shell { user, .. } => Some(user.clone()),
            Given::Group { .. } | Given::Caps(_) => None,
        }
    }

    /// The grantable rule of the caller's that gives it.
    pub fn rule<'p>(
        &self,
        policy: &'p Policy,
        who: &Identity,
    ) -> Result<(&'p Rule, &'p Grantable), Failure> {
        who.with_caller(policy, |caller| {
            policy.grantable_privilege(&caller, &self.privilege())
        })
        .map_err(|refusal| Failure::new(refusal.to_string()))
    }
}

fn group(name: &str) -> Result<Given, Failure> {
    let entry = accounts::resolve_group(name.as_bytes())
        .ok_or_else(|| Failure::new(format!("unknown group {}", name.escape_default())))?;
    let name = entry
        .name
        .into_string()
        .unwrap_or_else(|_| format!("#{}", entry.gid));
    Ok(Given::Group {
        gid: entry.gid,
        name,
    })
}

/// Known capability names only; an unknown one is refused with what the
/// caller may ask for.
fn caps(names: &[String], policy: &Policy, who: &Identity) -> Result<Given, Failure> {
    if names.is_empty() || names.len() > MAX_CAPS {
        return Err(Failure::new(format!(
            "--caps takes 1 to {MAX_CAPS} capability names"
        )));
    }
    let mut caps = Vec::with_capacity(names.len());
    for name in names {
        let cap = Capability::parse(name).map_err(|unknown| {
            let none = Privilege::Caps(&[]);
            match who.with_caller(policy, |caller| policy.grantable_privilege(&caller, &none)) {
                Err(RequestRefusal::NotOffered { offered, .. }) if !offered.is_empty() => {
                    Failure::new(format!(
                        "{unknown}; you may request: {}",
                        offered.join(", ")
                    ))
                }
                _ => Failure::new(unknown),
            }
        })?;
        caps.push(cap);
    }
    caps.sort();
    caps.dedup();
    Ok(Given::Caps(caps))
}

fn shell(user: &str) -> Result<Given, Failure> {
    let account = accounts::resolve_user(user.as_bytes())
        .ok_or_else(|| Failure::new(format!("unknown user {}", user.escape_default())))?;
    Ok(Given::Shell {
        uid: account.uid,
        user: account.name.to_string_lossy().into_owned(),
    })
}

/// Whether the policy still gives the grant's privilege through its rule
/// (for a use, and for a reload). True for grants of other kinds.
pub fn still_gives(policy: &Policy, record: &Record) -> bool {
    let privilege_kind =
        jitsudo_policy::GrantKind::parse(&record.kind).is_ok_and(|k| k.is_privilege());
    if !privilege_kind {
        return true;
    }
    let Some(given) = Given::of_record(record) else {
        return false;
    };
    policy
        .grantable_rule(&record.rule_id)
        .is_some_and(|(rule, grant)| grant.gives(rule, &given.privilege()))
}
