//! Resolve the command: the command line after `-s`/`-i`, the executable
//! opened once (see [`crate::executable`]) and the audit record; callers in
//! another mount namespace stop here.

use std::ffi::OsString;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use jitsudo_proto::{Failure, RunRequest, ShellMode};
use serde_bytes::ByteBuf;

use crate::audit::AuditRecord;
use crate::executable::{self, Opened};

use super::command::{self, CommandLine, ShellChoice};
use super::context::{Context, Passed};
use super::identity::Identity;
use super::refusal::Refusal;
use super::target::{self, Target};
use super::words::{os, split_env};

/// The caller's working directory as a path: for messages, logs and the
/// name of a relative command (`./x` is opened through the descriptor,
/// never by this name).
pub(super) fn cwd_path(passed: &Passed) -> PathBuf {
    passed
        .cwd()
        .and_then(|fd| std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).ok())
        .unwrap_or_else(|| PathBuf::from("/"))
}

/// A request resolved, before the policy is asked.
pub struct Resolved {
    /// The target user and group.
    pub target: Target,
    /// The caller's environment, `NAME=value` split.
    pub caller_env: Vec<(OsString, OsString)>,
    /// The command line after `-s`/`-i`.
    pub line: CommandLine,
    /// The executable found and opened, if any.
    pub found: Option<Opened>,
    /// What is logged about the request.
    pub record: AuditRecord,
}

/// Resolves the target and the command of `request`: the executable is
/// opened here, once.
pub fn resolve(
    ctx: &Context<'_>,
    who: &Identity,
    request: &RunRequest,
    passed: &Passed,
) -> Result<Resolved, Failure> {
    let target = target::resolve_target(who, request)?;
    let cwd = cwd_path(passed);
    let caller_env = split_env(&request.env);
    let line = command_line(who, &target, request, &caller_env)?;
    if !who.in_daemon_mount_namespace() {
        let mut record = record(who, &target, &cwd, &line, None);
        record.policy_hash = Some(ctx.policy_hash.to_owned());
        let text = Refusal::ForeignNamespace.text();
        ctx.audit
            .emit(&record.rejected(&String::from_utf8_lossy(&text)));
        return Err(Failure::new(text));
    }
    let secure_path = &ctx.policy.defaults.secure_path;
    let found = passed
        .cwd()
        .and_then(|dir| executable::open(&line.program, secure_path, dir.as_fd(), &cwd));
    let mut record = record(who, &target, &cwd, &line, found.as_ref());
    record.policy_hash = Some(ctx.policy_hash.to_owned());
    record.env_added = split_env(&request.assignments)
        .into_iter()
        .map(|(name, _)| ByteBuf::from(name.as_bytes().to_vec()))
        .collect();
    Ok(Resolved {
        target,
        caller_env,
        line,
        found,
        record,
    })
}

fn command_line(
    who: &Identity,
    target: &Target,
    request: &RunRequest,
    caller_env: &[(OsString, OsString)],
) -> Result<CommandLine, Failure> {
    let argv: Vec<OsString> = request.argv.iter().map(os).collect();
    let shell_var = caller_env
        .iter()
        .rev()
        .find(|(name, value)| name == "SHELL" && !value.is_empty())
        .map(|(_, value)| value.as_os_str())
        .unwrap_or(who.account.shell.as_os_str());
    let choice = match request.shell {
        ShellMode::Direct => ShellChoice {
            login: None,
            shell: None,
        },
        ShellMode::Shell => ShellChoice {
            login: None,
            shell: Some(shell_var),
        },
        ShellMode::Login => ShellChoice {
            login: Some(target.account.shell.as_path()),
            shell: None,
        },
    };
    command::command_line(argv, choice).ok_or_else(|| Failure::new("no command given"))
}

/// What is logged about a request for `line`.
pub(super) fn record(
    who: &Identity,
    target: &Target,
    cwd: &Path,
    line: &CommandLine,
    found: Option<&Opened>,
) -> AuditRecord {
    let command = found.map_or(line.program.as_bytes(), |o| o.path.as_os_str().as_bytes());
    let mut argv = vec![ByteBuf::from(line.argv0.as_bytes().to_vec())];
    argv.extend(
        line.args
            .iter()
            .map(|a| ByteBuf::from(a.as_bytes().to_vec())),
    );
    AuditRecord {
        user: ByteBuf::from(who.account.name.as_bytes().to_vec()),
        uid: who.peer.uid,
        pid: who.peer.pid,
        tty: who.peer.tty.clone(),
        cwd: ByteBuf::from(cwd.as_os_str().as_bytes().to_vec()),
        run_as: ByteBuf::from(target.account.name.as_bytes().to_vec()),
        run_as_group: target
            .group
            .as_ref()
            .map(|g| ByteBuf::from(g.name.as_bytes().to_vec())),
        command: ByteBuf::from(command.to_vec()),
        argv,
        rule: None,
        policy_hash: None,
        grant: None,
        session: jitsudo_sys::proc::audit_session(who.peer.pid)
            .ok()
            .flatten(),
        env_added: Vec::new(),
        guard: jitsudo_policy::AuditGuard::default(),
        recording: None,
    }
}
