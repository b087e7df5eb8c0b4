//! The command the worker runs: the opened executable, argv, the
//! environment sudo would give it, credentials, umask and directory.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;
use std::time::Duration;

use jitsudo_policy::env::{build_env, CallerIdentity, EnvRequest, Preserve, TargetIdentity};
use jitsudo_policy::Allowed;
use jitsudo_proto::{PreserveEnv, RunRequest, ShellMode};
use serde_bytes::ByteBuf;

use crate::executable::Opened;

use super::command::CommandLine;
use super::context::Context;
use super::identity::Identity;
use super::job::Exec;
use super::target::Target;
use super::words::split_env;

/// Longest argument part of `SUDO_COMMAND`, as sudo truncates it: the
/// variable must stay below the kernel's limit for one string (128 KiB)
/// whatever the length of the command line.
const SUDO_COMMAND_ARGS_MAX: usize = 4096;

/// The value of `SUDO_COMMAND`, as sudo builds it: a command typed with a
/// slash is shown as typed (`./x`), a bare name as the path it was found
/// at, then the arguments joined by spaces and truncated.
fn sudo_command(line: &CommandLine, path: &Path) -> OsString {
    let mut value = if line.program.as_bytes().contains(&b'/') {
        line.program.as_bytes().to_vec()
    } else {
        path.as_os_str().as_bytes().to_vec()
    };
    let mut args = Vec::new();
    for (i, arg) in line.args.iter().enumerate() {
        if i > 0 {
            args.push(b' ');
        }
        args.extend_from_slice(arg.as_bytes());
    }
    args.truncate(SUDO_COMMAND_ARGS_MAX);
    if !args.is_empty() {
        value.push(b' ');
        value.extend(args);
    }
    OsString::from_vec(value)
}

/// The kernel's limit on argv + envp for one exec (a quarter of the stack
/// limit, which the worker inherits from the daemon).
pub fn arg_max() -> usize {
    nix::unistd::sysconf(nix::unistd::SysconfVar::ARG_MAX)
        .ok()
        .flatten()
        .and_then(|v| usize::try_from(v).ok())
        .unwrap_or(2 * 1024 * 1024)
}

/// What the command is built from besides the command line.
pub struct Facts<'a> {
    /// The caller.
    pub who: &'a Identity,
    /// The target user and group.
    pub target: &'a Target,
    /// The request.
    pub request: &'a RunRequest,
    /// What the deciding rule allows.
    pub allowed: &'a Allowed,
    /// The caller's environment, `NAME=value` split.
    pub caller_env: &'a [(OsString, OsString)],
}

/// The command for the worker: `opened` run with `line`.
pub fn build(ctx: &Context<'_>, facts: &Facts<'_>, line: CommandLine, opened: &Opened) -> Exec {
    let Facts {
        who,
        target,
        request,
        allowed,
        ..
    } = *facts;
    let path = &opened.path;
    let env = environment(ctx, facts, &line, path);
    let gid = target.group.as_ref().map_or(target.account.gid, |g| g.gid);
    let chdir = match (&request.chdir, request.shell) {
        (Some(dir), _) => Some(dir.clone()),
        (None, ShellMode::Login) => Some(ByteBuf::from(
            target.account.home.as_os_str().as_bytes().to_vec(),
        )),
        (None, _) => None,
    };
    // The worker executes the opened file; the path only names it in
    // messages: as typed for a relative command (`./x`), as sudo shows it.
    let exec_path = if chdir.is_none() && line.program.as_bytes().contains(&b'/') {
        line.program.clone()
    } else {
        path.clone().into_os_string()
    };
    let mut argv = vec![ByteBuf::from(line.argv0.into_vec())];
    argv.extend(line.args.into_iter().map(|a| ByteBuf::from(a.into_vec())));
    Exec {
        path: ByteBuf::from(exec_path.into_vec()),
        script: opened.is_script(),
        argv,
        env,
        uid: target.account.uid,
        gid,
        // -P keeps the caller's supplementary groups, as sudo does.
        groups: if request.preserve_groups {
            who.peer.groups.clone()
        } else {
            target.account.groups(gid)
        },
        ambient_caps: Vec::new(),
        exec_by_path: false,
        umask: who.peer.umask | allowed.umask.unwrap_or(ctx.policy.defaults.umask),
        chdir,
        ignored_signals: request.ignored_signals,
        background: request.background,
        terminal_foreground: request.terminal_foreground,
        timeout: shorter(allowed.timeout, request.command_timeout),
        grant_cgroup: None,
        grant: None,
    }
}

/// The rule's timeout or the caller's `-T` (already allowed by the
/// policy), whichever ends the command first.
fn shorter(rule: Option<Duration>, caller_secs: Option<u64>) -> Option<Duration> {
    let caller = caller_secs.map(Duration::from_secs);
    match (rule, caller) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The command's environment, as sudo builds it.
fn environment(
    ctx: &Context<'_>,
    facts: &Facts<'_>,
    line: &CommandLine,
    path: &Path,
) -> Vec<ByteBuf> {
    let Facts {
        who,
        target,
        request,
        allowed,
        caller_env,
    } = *facts;
    let list: Vec<String> = match &request.preserve_env {
        PreserveEnv::List(names) => names
            .iter()
            .filter_map(|n| String::from_utf8(n.to_vec()).ok())
            .collect(),
        _ => Vec::new(),
    };
    let preserve = match &request.preserve_env {
        PreserveEnv::None => Preserve::None,
        PreserveEnv::All => Preserve::All,
        PreserveEnv::List(_) => Preserve::List(&list),
    };
    let assignments = split_env(&request.assignments);
    let command_line = sudo_command(line, path);
    let mut env_keep = ctx.policy.defaults.env_keep.clone();
    env_keep.extend(allowed.env_keep.iter().cloned());
    let env = build_env(&EnvRequest {
        caller_env,
        preserve,
        assignments: &assignments,
        env_keep: &env_keep,
        secure_path: &ctx.policy.defaults.secure_path,
        target: TargetIdentity {
            name: &target.account.name,
            home: target.account.home.as_os_str(),
            shell: target.account.shell.as_os_str(),
        },
        caller: CallerIdentity {
            name: &who.account.name,
            uid: who.peer.uid,
            gid: who.peer.gid,
        },
        command_line: &command_line,
        set_home: request.set_home,
    });
    env.into_iter()
        .map(|(name, value)| {
            let mut entry = name.into_vec();
            entry.push(b'=');
            entry.extend(value.into_vec());
            ByteBuf::from(entry)
        })
        .collect()
}
