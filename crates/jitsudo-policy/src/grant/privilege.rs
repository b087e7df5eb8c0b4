//! Group, caps and shell grants: what each gives ([`Privilege`]) and which
//! grantable rule lets a caller ask for it.

use super::caps::Capability;
use super::{GrantKind, Grantable, RequestRefusal};
use crate::model::{Policy, Rule};
use crate::principal::IdPattern;
use crate::request::Caller;

/// What a group, caps or shell grant gives its holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Privilege<'a> {
    /// An extra supplementary group.
    Group {
        /// Its gid.
        gid: u32,
        /// Its name, if it has one.
        name: Option<&'a str>,
    },
    /// Ambient capabilities.
    Caps(&'a [Capability]),
    /// A shell as this user.
    Shell {
        /// The target's uid.
        uid: u32,
        /// The target's name, if known.
        name: Option<&'a str>,
    },
}

impl Privilege<'_> {
    /// The grant kind that gives it.
    pub fn kind(&self) -> GrantKind {
        match self {
            Privilege::Group { .. } => GrantKind::Group,
            Privilege::Caps(_) => GrantKind::Caps,
            Privilege::Shell { .. } => GrantKind::Shell,
        }
    }

    /// As a refusal names it: `group adm`, `cap_net_raw, cap_bpf`, `a shell
    /// as postgres`.
    fn describe(&self) -> String {
        match self {
            Privilege::Group { gid, name } => format!("group {}", shown(*gid, *name)),
            Privilege::Caps(caps) => joined(caps.iter().map(ToString::to_string)),
            Privilege::Shell { uid, name } => format!("a shell as {}", shown(*uid, *name)),
        }
    }
}

fn shown(id: u32, name: Option<&str>) -> String {
    name.map_or_else(|| format!("#{id}"), str::to_owned)
}

fn joined(items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join(", ")
}

impl Grantable {
    /// Whether a grant of this rule (`rule`) gives `privilege`: the kinds
    /// agree and the group is in `groups`, every capability in `caps`, or
    /// the shell's user in the rule's `run_as`.
    pub fn gives(&self, rule: &Rule, privilege: &Privilege<'_>) -> bool {
        if self.kind != privilege.kind() {
            return false;
        }
        match *privilege {
            Privilege::Group { gid, name } => self.groups.iter().any(|g| g.matches(gid, name)),
            Privilege::Caps(asked) => {
                !asked.is_empty() && asked.iter().all(|c| self.caps.contains(c))
            }
            Privilege::Shell { uid, name } => {
                rule.run_as.iter().any(|user| user.matches(uid, name))
            }
        }
    }

    /// What a grant of this rule may give, as a refusal lists it.
    fn offers(&self, rule: &Rule) -> Vec<String> {
        match self.kind {
            GrantKind::Group => self.groups.iter().map(ToString::to_string).collect(),
            GrantKind::Caps => self.caps.iter().map(ToString::to_string).collect(),
            GrantKind::Shell => rule
                .run_as
                .iter()
                .filter(|user| !matches!(user, IdPattern::Caller))
                .map(ToString::to_string)
                .collect(),
            GrantKind::Rule | GrantKind::Command => Vec::new(),
        }
    }
}

impl Policy {
    /// The grantable rule that names `caller` and gives `privilege` (the
    /// last such rule in file order, as for commands); else a refusal that
    /// lists what the caller may ask for of that kind.
    pub fn grantable_privilege(
        &self,
        caller: &Caller<'_>,
        privilege: &Privilege<'_>,
    ) -> Result<(&Rule, &Grantable), RequestRefusal> {
        let mine = || {
            self.rules.iter().filter_map(|rule| {
                let grant = rule.grant.as_deref()?;
                (grant.kind == privilege.kind() && rule.who.iter().any(|w| w.matches(caller)))
                    .then_some((rule, grant))
            })
        };
        if let Some(found) = mine().rfind(|(rule, grant)| grant.gives(rule, privilege)) {
            return Ok(found);
        }
        let mut offered: Vec<String> = mine()
            .flat_map(|(rule, grant)| grant.offers(rule))
            .collect();
        offered.sort();
        offered.dedup();
        Err(RequestRefusal::NotOffered {
            asked: privilege.describe(),
            offered,
        })
    }
}
