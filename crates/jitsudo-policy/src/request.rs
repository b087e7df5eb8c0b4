//! What the daemon asks the policy: who runs what, as whom, how.

use std::ffi::OsString;
use std::path::Path;

use crate::when::Context;

/// A group as the kernel and the group database know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupRef<'a> {
    /// The numeric group id.
    pub gid: u32,
    /// The group's name, `None` when it has none or it is not UTF-8.
    pub name: Option<&'a str>,
}

/// The user asking to run a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller<'a> {
    /// The caller's uid (from the socket's peer credentials).
    pub uid: u32,
    /// The caller's user name, `None` when unknown or not UTF-8.
    pub name: Option<&'a str>,
    /// The caller's groups that count for every rule, the primary group
    /// included. The daemon passes the groups the calling process has
    /// (`SO_PEERGROUPS`) that the group database also lists for the caller:
    /// a group the process dropped, or one the user was removed from, grants
    /// nothing.
    pub groups: &'a [GroupRef<'a>],
    /// Further groups that count for `deny` rules only. The daemon passes
    /// every group of the process and of the database's list, so dropping a
    /// group from the process (in a user namespace set up with `newgidmap`)
    /// cannot escape a `%group` deny.
    pub deny_groups: &'a [GroupRef<'a>],
}

/// The user the command is to run as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetUser<'a> {
    /// The target's uid.
    pub uid: u32,
    /// The target's user name, `None` when unknown or not UTF-8.
    pub name: Option<&'a str>,
    /// The target's primary gid from the user database.
    pub primary_gid: u32,
    /// True when `-g` was given without `-u`: the command then runs as the
    /// caller himself (as sudo does) and `run_as` is not consulted for the user.
    pub is_caller_by_default: bool,
}

/// One request to run a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    /// Who asks.
    pub caller: Caller<'a>,
    /// As whom (`-u`, or root by default, or the caller himself with `-g` only).
    pub run_as_user: TargetUser<'a>,
    /// With which group, when `-g` was given.
    pub run_as_group: Option<GroupRef<'a>>,
    /// The command: an absolute, canonical (symlink-free) path.
    pub command: &'a Path,
    /// The arguments after the command name (`argv[1..]`), as bytes.
    pub args: &'a [OsString],
    /// True when `-E`, `--preserve-env` or a `VAR=value` argument was used.
    pub wants_setenv: bool,
    /// The directory given with `-D`/`--chdir`.
    pub chdir: Option<&'a Path>,
    /// The SHA-256 digest of the executable's contents, computed by the
    /// daemon when [`crate::Policy::needs_digest`] says a rule pins one for
    /// this path (`None` otherwise: pinned entries then do not match).
    pub command_digest: Option<[u8; 32]>,
    /// Time, terminal, origin and host, for `when` clauses.
    pub context: Context<'a>,
}
