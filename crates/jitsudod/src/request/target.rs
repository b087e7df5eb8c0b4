//! Resolve the target: the user and group of `-u`/`-g`.

use jitsudo_proto::{Failure, RunRequest};

use crate::accounts::{self, Account, GroupEntry};

use super::identity::Identity;
use super::refusal::message;

/// The target of `-u`/`-g`.
pub struct Target {
    /// The target user.
    pub account: Account,
    /// The target group of `-g`.
    pub group: Option<GroupEntry>,
    /// `-g` without `-u`: the command runs as the caller.
    pub is_caller_by_default: bool,
}

impl Target {
    /// Whether the target is the caller himself (and one of his own
    /// groups): as in sudo, running as oneself needs no password.
    pub fn is_caller(&self, who: &Identity) -> bool {
        self.account.uid == who.peer.uid
            && self
                .group
                .as_ref()
                .is_none_or(|g| who.peer.groups.contains(&g.gid))
    }
}

/// The target of `request`: `-u` (root by default), `-g`.
pub fn resolve_target(who: &Identity, request: &RunRequest) -> Result<Target, Failure> {
    let group = match &request.group {
        Some(spec) => Some(
            accounts::resolve_group(spec)
                .ok_or_else(|| Failure::new(message(b"unknown group ", spec)))?,
        ),
        None => None,
    };
    let (account, is_caller_by_default) = match &request.user {
        Some(spec) => (
            accounts::resolve_user(spec)
                .ok_or_else(|| Failure::new(message(b"unknown user ", spec)))?,
            false,
        ),
        None if group.is_some() => (who.account.clone(), true),
        None => (
            accounts::user_by_uid(0).ok_or_else(|| Failure::new("unknown user root"))?,
            false,
        ),
    };
    Ok(Target {
        account,
        group,
        is_caller_by_default,
    })
}
