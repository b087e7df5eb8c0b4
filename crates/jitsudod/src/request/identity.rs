//! Identify: the caller as the kernel and the account databases describe
//! it (the first step of every request).

use std::sync::OnceLock;

use jitsudo_policy::{Caller, GroupRef, Origin, Policy};
use jitsudo_proto::Failure;

use crate::accounts::{self, Account};
use crate::cache::CacheKey;
use crate::namespace::MountNamespace;
use crate::peer::Peer;

use super::refusal::message;

/// The caller, as the kernel and the account databases describe it.
pub struct Identity {
    /// From `SO_PEERCRED` and friends.
    pub peer: Peer,
    /// The caller's passwd entry.
    pub account: Account,
    /// The caller's groups with their names, looked up the first time a
    /// policy that names groups asks (see [`Identity::with_caller`]).
    groups: OnceLock<NamedGroups>,
    /// How the caller reached this host (for `when.origin`).
    pub origin: Origin,
}

/// The caller's groups as `%group` entries see them.
struct NamedGroups {
    /// The groups of the process that the group database also lists, for
    /// every rule.
    held: Vec<(u32, Option<String>)>,
    /// Every group of the process or of the database's list: deny rules
    /// match these too (see `jitsudo_policy::Caller`).
    deny: Vec<(u32, Option<String>)>,
}

impl Identity {
    /// The identity `-U user` lists: that user's account and groups from
    /// the databases (there is no process to ask the kernel about), seen
    /// from the real caller's connection.
    pub fn other(&self, spec: &[u8]) -> Result<Identity, Failure> {
        let account = accounts::resolve_user(spec)
            .ok_or_else(|| Failure::new(message(b"unknown user ", spec)))?;
        let groups = account.groups(account.gid);
        let held = named_groups(&groups);
        let named = NamedGroups {
            deny: held.clone(),
            held,
        };
        Ok(Identity {
            peer: Peer {
                uid: account.uid,
                gid: account.gid,
                groups,
                pid: self.peer.pid,
                tty: None,
                umask: self.peer.umask,
                scope: None,
                mount_ns: self.peer.mount_ns,
                origin: self.peer.origin,
            },
            account,
            groups: OnceLock::from(named),
            origin: self.origin,
        })
    }

    /// Looks up the caller's account; refuses callers unknown to passwd.
    /// `wants_origin`: the policy deciding has a `when.origin` condition;
    /// if the peer was identified under a policy without one (a reload in
    /// between), its origin is unknown and the request is refused.
    pub fn of(peer: Peer, wants_origin: bool) -> Result<Identity, Failure> {
        let account = accounts::user_by_uid(peer.uid)
            .ok_or_else(|| Failure::new("you do not exist in the passwd database"))?;
        let origin = match peer.origin {
            Some(origin) => origin,
            None if wants_origin => {
                return Err(Failure::new(
                    "the policy was reloaded while your request was read; try again",
                ))
            }
            // No rule looks at it.
            None => Origin::Unknown,
        };
        Ok(Identity {
            peer,
            account,
            groups: OnceLock::new(),
            origin,
        })
    }

    /// The caller's groups from the group database, with names: the
    /// process's groups the database also lists, and every group of either.
    fn look_up_groups(&self) -> NamedGroups {
        let held_now = &self.peer.groups;
        let listed = self.account.groups(self.account.gid);
        let mut held_or_listed = held_now.clone();
        held_or_listed.extend(listed.iter().filter(|gid| !held_now.contains(gid)));
        // Each name is looked up once (a lookup may cost dozens of system
        // calls with NSS modules such as systemd's userdb).
        let deny = named_groups(&held_or_listed);
        let held = deny
            .iter()
            .filter(|(gid, _)| held_now.contains(gid) && listed.contains(gid))
            .cloned()
            .collect();
        NamedGroups { held, deny }
    }

    /// Whether the caller sees the daemon's file system (unknown: no).
    pub fn in_daemon_mount_namespace(&self) -> bool {
        self.peer.mount_ns.is_some_and(MountNamespace::is_daemons)
    }

    /// The caller's credential-cache key, if its scope could be established.
    pub fn cache_key(&self) -> Option<CacheKey> {
        self.peer.scope.map(|scope| CacheKey {
            uid: self.peer.uid,
            scope,
        })
    }

    fn name_str(&self) -> Option<&str> {
        self.account.name.to_str()
    }

    /// `policy`'s view of the caller. His groups are looked up (once per
    /// request) only if `policy` names a group somewhere: otherwise no
    /// rule or approver list can look at them, and they are left empty.
    pub fn with_caller<T>(&self, policy: &Policy, f: impl FnOnce(Caller<'_>) -> T) -> T {
        let (groups, deny_groups) = if policy.uses_caller_groups() {
            let named = self.groups.get_or_init(|| self.look_up_groups());
            (group_refs(&named.held), group_refs(&named.deny))
        } else {
            (Vec::new(), Vec::new())
        };
        f(Caller {
            uid: self.peer.uid,
            name: self.name_str(),
            groups: &groups,
            deny_groups: &deny_groups,
        })
    }
}

fn group_refs(named: &[(u32, Option<String>)]) -> Vec<GroupRef<'_>> {
    named
        .iter()
        .map(|(gid, name)| GroupRef {
            gid: *gid,
            name: name.as_deref(),
        })
        .collect()
}

/// Each gid with its name (when it has a UTF-8 one), for `%group` rules.
fn named_groups(gids: &[u32]) -> Vec<(u32, Option<String>)> {
    gids.iter()
        .map(|gid| {
            let name = accounts::group_name(*gid).and_then(|n| n.into_string().ok());
            (*gid, name)
        })
        .collect()
}
