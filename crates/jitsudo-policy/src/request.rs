//! What the daemon asks the policy: who runs what, as whom, how.

use std::ffi::OsString;
use std::path::Path;

use crate::command::Subject;
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

/// A file's identity on this system: its device and inode numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileId {
    /// `st_dev`.
    pub dev: u64,
    /// `st_ino`.
    pub ino: u64,
}

/// The executable the daemon opened for a request: what the decision is
/// about, and what the worker will execute (the same open file).
#[derive(Debug, Clone, Copy)]
pub struct Executable<'a> {
    /// The identity of the opened file (`fstat` of the daemon's descriptor).
    pub id: FileId,
    /// The kernel's name for the opened file (symlinks resolved), tried
    /// against path patterns besides [`Request::command`].
    pub real_path: &'a Path,
    /// The identity of the file a path names now, following symlinks
    /// (`stat(2)` as root), or `None` if there is none: how rule paths and
    /// pattern matches are compared with [`Executable::id`].
    pub identify: fn(&Path) -> Option<FileId>,
}

/// One request to run a command.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// Who asks.
    pub caller: Caller<'a>,
    /// As whom (`-u`, or root by default, or the caller himself with `-g` only).
    pub run_as_user: TargetUser<'a>,
    /// With which group, when `-g` was given.
    pub run_as_group: Option<GroupRef<'a>>,
    /// The command: the absolute path it was found at, as the caller named
    /// it (a `secure_path` directory and the name, or the path typed; not
    /// symlink-resolved). Its base name must be that of the rule path that
    /// allows it.
    pub command: &'a Path,
    /// The opened executable, `None` when no executable file was found (the
    /// command is then matched by its path alone and cannot run).
    pub executable: Option<Executable<'a>>,
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

impl Request<'_> {
    /// The command, as command entries compare with it.
    pub(crate) fn subject(&self) -> Subject<'_> {
        Subject {
            path: self.command,
            executable: self.executable,
        }
    }
}
