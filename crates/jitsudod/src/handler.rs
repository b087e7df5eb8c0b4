//! Deciding one request: from the kernel's view of the caller and the
//! client's (untrusted) request to either a reply or a [`Job`] for a worker.

use std::ffi::OsString;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use jitsudo_audit::Audit;
use jitsudo_policy::env::{build_env, CallerIdentity, EnvRequest, Preserve, TargetIdentity};
use jitsudo_policy::{
    Allowed, Auth, Caller, Decision, GroupRef, Origin, Policy, Reason, TargetUser,
};
use jitsudo_proto::{Action, Failure, PreserveEnv, Request, ServerMessage, ShellMode};
use serde_bytes::ByteBuf;

use crate::accounts::{self, Account, GroupEntry};
use crate::audit::AuditRecord;
use crate::cache::{CacheKey, CredentialCache};
use crate::command::{self, CommandLine, ShellChoice};
use crate::executable::{self, Opened};
use crate::gate::{self, Gate};
use crate::job::{Exec, Job, PamSpec, PasswordSpec, Then};
use crate::listing;
use crate::namespace::MountNamespace;
use crate::origin;
use crate::peer::Peer;

/// What to do with the connection.
pub enum Verdict {
    /// Send these and close.
    Reply(Vec<ServerMessage>),
    /// Hand the connection to a worker with this job.
    Work(Box<Work>),
}

/// A job for a worker and what the daemon does with its reports.
pub struct Work {
    /// The job.
    pub job: Job,
    /// Where to record a successful authentication (`None` for `-k command`
    /// or when the caller's scope is unknown).
    pub remember: Option<CacheKey>,
    /// The executable decided on, which the worker runs (with a command).
    pub executable: Option<OwnedFd>,
}

/// The caller, as the kernel and the account databases describe it.
pub struct Identity {
    /// From `SO_PEERCRED` and friends.
    pub peer: Peer,
    /// The caller's passwd entry.
    pub account: Account,
    /// The caller's groups (the process's that the group database also
    /// lists) with their names, for `%group` rules.
    pub group_names: Vec<(u32, Option<String>)>,
    /// Every group of the process or of the database's list, with names:
    /// deny rules match these too (see `jitsudo_policy::Caller`).
    pub deny_names: Vec<(u32, Option<String>)>,
    /// How the caller reached this host (for `when.origin`).
    pub origin: Origin,
}

impl Identity {
    /// The identity `-U user` lists: that user's account and groups from
    /// the databases (there is no process to ask the kernel about), seen
    /// from the real caller's connection.
    pub fn other(&self, spec: &[u8]) -> Result<Identity, Failure> {
        let account = accounts::resolve_user(spec)
            .ok_or_else(|| Failure::new(message(b"unknown user ", spec)))?;
        let groups = account.groups(account.gid);
        let group_names = named_groups(&groups);
        let deny_names = group_names.clone();
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
            },
            account,
            group_names,
            deny_names,
            origin: self.origin,
        })
    }

    /// Looks up the caller's account; refuses callers unknown to passwd.
    pub fn of(peer: Peer) -> Result<Identity, Failure> {
        let account = accounts::user_by_uid(peer.uid)
            .ok_or_else(|| Failure::new("you do not exist in the passwd database"))?;
        let listed = account.groups(account.gid);
        let held_and_listed: Vec<u32> = peer
            .groups
            .iter()
            .copied()
            .filter(|gid| listed.contains(gid))
            .collect();
        let mut held_or_listed = peer.groups.clone();
        held_or_listed.extend(listed.iter().filter(|gid| !peer.groups.contains(gid)));
        let group_names = named_groups(&held_and_listed);
        let deny_names = named_groups(&held_or_listed);
        let origin = origin::of(peer.pid, peer.tty.is_some());
        Ok(Identity {
            peer,
            account,
            group_names,
            deny_names,
            origin,
        })
    }

    /// Whether the caller sees the daemon's file system (unknown: no).
    fn in_daemon_mount_namespace(&self) -> bool {
        self.peer.mount_ns.is_some_and(MountNamespace::is_daemons)
    }

    fn name_str(&self) -> Option<&str> {
        self.account.name.to_str()
    }

    /// The policy's view of the caller.
    pub fn with_caller<T>(&self, f: impl FnOnce(Caller<'_>) -> T) -> T {
        let groups = group_refs(&self.group_names);
        let deny_groups = group_refs(&self.deny_names);
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

/// Everything a request needs besides the request itself.
pub struct Context<'a> {
    /// The policy in force.
    pub policy: &'a Policy,
    /// Its hash, carried by every log event.
    pub policy_hash: &'a str,
    /// Where refusals and acceptances are logged.
    pub audit: &'a Audit,
    /// This host's name, for messages.
    pub host: &'a str,
    /// Recent authentications.
    pub cache: &'a CredentialCache,
}

/// The caller's descriptors that came with the request.
pub struct Passed {
    /// Present stdio descriptors, then the cwd.
    pub fds: Vec<OwnedFd>,
}

impl Passed {
    fn cwd(&self) -> Option<&OwnedFd> {
        self.fds.last()
    }
}

/// Decides a request.
pub fn handle(ctx: &Context<'_>, who: &Identity, request: Request, passed: &Passed) -> Verdict {
    match request.action {
        Action::Run => run(ctx, who, request, passed).unwrap_or_else(|m| Verdict::Reply(vec![m])),
        Action::List => match &request.list_user {
            None => listing::list(ctx, who, &request, passed),
            // Only root may look at another user's privileges.
            Some(_) if who.peer.uid != 0 => Verdict::Reply(vec![ServerMessage::Error(
                Failure::new("only root can use -U"),
            )]),
            Some(spec) => match who.other(spec) {
                Ok(other) => listing::list(ctx, &other, &request, passed),
                Err(failure) => Verdict::Reply(vec![ServerMessage::Error(failure)]),
            },
        },
        Action::Validate => listing::validate(ctx, who, &request),
        Action::Invalidate => {
            if let Some(key) = gate::cache_key(who) {
                ctx.cache.forget(&key);
            }
            Verdict::Reply(vec![ServerMessage::Exited(jitsudo_proto::Exit::Code(0))])
        }
        Action::Remove => {
            ctx.cache.forget_user(who.peer.uid);
            Verdict::Reply(vec![ServerMessage::Exited(jitsudo_proto::Exit::Code(0))])
        }
        // Answered by the server before any policy work.
        Action::ReloadPolicy => Verdict::Reply(vec![ServerMessage::Error(Failure::new(
            "unexpected reload request",
        ))]),
    }
}

/// A worker job: PAM (asking for a password if `ask`), then `then`.
pub fn work(
    who: &Identity,
    request: &Request,
    target: &[u8],
    ask: Option<PasswordSpec>,
    then: Then,
    audit: AuditRecord,
) -> Verdict {
    let remember = if request.reset_timestamp || ask.is_none() {
        None
    } else {
        gate::cache_key(who)
    };
    Verdict::Work(Box::new(Work {
        job: Job {
            stdio: request.stdio,
            caller_uid: who.peer.uid,
            pam: PamSpec {
                user: ByteBuf::from(who.account.name.as_bytes().to_vec()),
                target: ByteBuf::from(target.to_vec()),
                tty: who.peer.tty.as_ref().map(|t| format!("/dev/{t}")),
                password: ask,
            },
            then,
            audit,
        },
        remember,
        executable: None,
    }))
}

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

/// Refuses malformed requests before any lookup. (Sizes are bounded by the
/// frame limit; what the kernel will not exec fails there with E2BIG.)
pub fn validate(request: &Request, fd_count: usize) -> Result<(), Failure> {
    if fd_count != request.expected_fds() {
        return Err(Failure::new("protocol error: wrong number of descriptors"));
    }
    let words = request
        .argv
        .iter()
        .chain(&request.env)
        .chain(&request.assignments)
        .chain(request.user.iter())
        .chain(request.group.iter())
        .chain(request.chdir.iter())
        .chain(request.list_user.iter());
    for word in words {
        if word.contains(&0) {
            return Err(Failure::new("invalid argument: embedded NUL byte"));
        }
    }
    Ok(())
}

/// The kernel's limit on argv + envp for one exec (a quarter of the stack
/// limit, which the worker inherits from the daemon).
fn arg_max() -> usize {
    nix::unistd::sysconf(nix::unistd::SysconfVar::ARG_MAX)
        .ok()
        .flatten()
        .and_then(|v| usize::try_from(v).ok())
        .unwrap_or(2 * 1024 * 1024)
}

/// The target of `-u`/`-g`.
struct Target {
    account: Account,
    group: Option<GroupEntry>,
    /// `-g` without `-u`: the command runs as the caller.
    is_caller_by_default: bool,
}

fn target(who: &Identity, request: &Request) -> Result<Target, Failure> {
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

fn message(prefix: &[u8], tail: &[u8]) -> Vec<u8> {
    let mut text = prefix.to_vec();
    text.extend_from_slice(tail);
    text
}

fn os(bytes: &ByteBuf) -> OsString {
    OsString::from_vec(bytes.to_vec())
}

/// The caller's working directory as a path: for messages, logs and the
/// name of a relative command (`./x` is opened through the descriptor,
/// never by this name).
fn cwd_path(passed: &Passed) -> PathBuf {
    passed
        .cwd()
        .and_then(|fd| std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).ok())
        .unwrap_or_else(|| PathBuf::from("/"))
}

/// `NAME=value` entries split at the first `=`; malformed ones dropped.
fn split_env(entries: &[ByteBuf]) -> Vec<(OsString, OsString)> {
    entries
        .iter()
        .filter_map(|entry| {
            let eq = entry.iter().position(|b| *b == b'=')?;
            Some((
                OsString::from_vec(entry[..eq].to_vec()),
                OsString::from_vec(entry[eq + 1..].to_vec()),
            ))
        })
        .collect()
}

/// Why a caller in another mount namespace is refused: the daemon would
/// find and run commands in its own file system, not the one the caller
/// sees.
const FOREIGN_NAMESPACE: &str = "commands from another mount namespace are not supported; \
     run jitsudo from the host's namespace";

/// A request resolved and decided, before authentication.
pub struct Evaluation {
    target: Target,
    caller_env: Vec<(OsString, OsString)>,
    /// The command line after `-s`/`-i`.
    pub line: CommandLine,
    /// The executable found and opened, if any.
    pub found: Option<Opened>,
    record: AuditRecord,
    /// The policy's answer.
    pub decision: Decision,
}

/// Resolves the target and the command of `request` and asks the policy.
pub fn evaluate(
    ctx: &Context<'_>,
    who: &Identity,
    request: &Request,
    passed: &Passed,
) -> Result<Evaluation, Failure> {
    let target = target(who, request)?;
    let cwd = cwd_path(passed);
    let caller_env = split_env(&request.env);
    let line = command_line(who, &target, request, &caller_env)?;
    if !who.in_daemon_mount_namespace() {
        let mut record = record(who, &target, &cwd, &line, None);
        record.policy_hash = Some(ctx.policy_hash.to_owned());
        ctx.audit.emit(&record.rejected(FOREIGN_NAMESPACE));
        return Err(Failure::new(FOREIGN_NAMESPACE));
    }
    let secure_path = &ctx.policy.defaults.secure_path;
    let found = passed
        .cwd()
        .and_then(|dir| executable::open(&line.program, secure_path, dir.as_fd(), &cwd));
    let mut record = record(who, &target, &cwd, &line, found.as_ref());
    record.policy_hash = Some(ctx.policy_hash.to_owned());
    let decision = decide(ctx, who, &target, request, &line, found.as_ref());
    Ok(Evaluation {
        target,
        caller_env,
        line,
        found,
        record,
        decision,
    })
}

fn run(
    ctx: &Context<'_>,
    who: &Identity,
    request: Request,
    passed: &Passed,
) -> Result<Verdict, ServerMessage> {
    let fail = |f: Failure| ServerMessage::Error(f);
    let Evaluation {
        target,
        caller_env,
        line,
        found,
        mut record,
        decision,
    } = evaluate(ctx, who, &request, passed).map_err(fail)?;
    let target_name = target.account.name.as_bytes().to_vec();
    let allowed = match decision {
        Decision::Allow(allowed) => allowed,
        Decision::Deny(refusal) => {
            record.rule = refusal.rule_id.clone();
            return refuse(ctx, who, &request, record, &refusal.reason, &line, &target);
        }
    };
    record.rule = Some(allowed.rule_id.clone());
    let Some(opened) = found else {
        let text = message(line.program.as_bytes(), b": command not found");
        ctx.audit
            .emit(&record.rejected(&String::from_utf8_lossy(&text)));
        return Err(fail(Failure::new(text)));
    };
    // As sudo: running as oneself (and one's own group) needs no password.
    let as_self = target.account.uid == who.peer.uid
        && target
            .group
            .as_ref()
            .is_none_or(|g| who.peer.groups.contains(&g.gid));
    let wants_password = allowed.auth == Auth::Password && !as_self;
    let ask = match gate::gate(ctx, who, &request, &target_name, wants_password) {
        Gate::Pass => None,
        Gate::Ask(spec) => Some(spec),
        Gate::Refuse(failure) => {
            ctx.audit.emit(&record.rejected("a password is required"));
            return Err(fail(failure));
        }
    };
    let exec = exec(
        ctx,
        who,
        &target,
        &request,
        &allowed,
        line,
        &opened,
        &caller_env,
    );
    if exec.exec_size() > arg_max() {
        let mut text = b"unable to execute ".to_vec();
        text.extend_from_slice(&exec.path);
        text.extend_from_slice(b": Argument list too long");
        ctx.audit
            .emit(&record.rejected(&String::from_utf8_lossy(&text)));
        return Err(fail(Failure::new(text)));
    }
    // exec.accept is logged by the worker, once authentication passed.
    let then = Then::Run(Box::new(exec));
    let mut verdict = work(who, &request, &target_name, ask, then, record);
    if let Verdict::Work(work) = &mut verdict {
        work.executable = Some(opened.fd);
    }
    Ok(verdict)
}

fn command_line(
    who: &Identity,
    target: &Target,
    request: &Request,
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

fn record(
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
    }
}

fn decide(
    ctx: &Context<'_>,
    who: &Identity,
    target: &Target,
    request: &Request,
    line: &CommandLine,
    found: Option<&Opened>,
) -> Decision {
    let typed = PathBuf::from(&line.program);
    let chdir = request.chdir.as_ref().map(|d| PathBuf::from(os(d)));
    let wants_setenv = request.preserve_env != PreserveEnv::None || !request.assignments.is_empty();
    let group_name = target.group.as_ref().and_then(|g| g.name.to_str());
    let context = request_context(ctx, who);
    who.with_caller(|caller| {
        let mut question = jitsudo_policy::Request {
            caller,
            run_as_user: TargetUser {
                uid: target.account.uid,
                name: target.account.name.to_str(),
                primary_gid: target.account.gid,
                is_caller_by_default: target.is_caller_by_default,
            },
            run_as_group: target.group.as_ref().map(|g| GroupRef {
                gid: g.gid,
                name: group_name,
            }),
            // A command that was not found is matched as typed: a relative
            // name can only match `ALL`, so "command not found" is never
            // revealed to a caller who may not run it.
            command: found.map_or(&typed, |o| &o.path),
            executable: found.map(Opened::executable),
            args: &line.args,
            wants_setenv,
            chdir: chdir.as_deref(),
            command_digest: None,
            context,
        };
        if ctx.policy.needs_digest(&question) {
            question.command_digest = found.and_then(Opened::sha256);
        }
        ctx.policy.decide(&question)
    })
}

/// The request's circumstances for `when` clauses, from sources the caller
/// cannot forge: the daemon's clock, the kernel's view of the caller's
/// terminal, its process ancestry and this host's name.
fn request_context<'a>(ctx: &Context<'a>, who: &Identity) -> jitsudo_policy::Context<'a> {
    let unix_seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    jitsudo_policy::Context {
        now: jitsudo_policy::Timestamp {
            unix_seconds,
            local_utc_offset: local_utc_offset(unix_seconds),
        },
        has_tty: who.peer.tty.is_some(),
        origin: who.origin,
        host: ctx.host,
    }
}

/// The local zone's offset from UTC at `unix_seconds` (`tm_gmtoff`).
fn local_utc_offset(unix_seconds: i64) -> i32 {
    let time: libc::time_t = unix_seconds;
    // SAFETY: localtime_r only writes the `tm` we own; `time` is valid.
    let offset = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&time, &mut tm).is_null() {
            0
        } else {
            tm.tm_gmtoff
        }
    };
    i32::try_from(offset).unwrap_or(0)
}

/// A refusal. Those about options (`-E`, `VAR=value`, `-D`) are told at
/// once, as sudo does. Any other refusal sudo reveals only after the caller
/// authenticated, so a caller who has not (and is not root, and has no
/// fresh cached credentials) is asked for the password first, and with
/// `-n` only learns that "a password is required".
fn refuse(
    ctx: &Context<'_>,
    who: &Identity,
    request: &Request,
    record: AuditRecord,
    reason: &Reason,
    line: &CommandLine,
    target: &Target,
) -> Result<Verdict, ServerMessage> {
    ctx.audit.emit(&record.rejected(&reason.to_string()));
    let text = match reason {
        Reason::SetenvNotAllowed => return Err(setenv_refusal(request)),
        Reason::ChdirNotAllowed(_) => {
            return Err(ServerMessage::Error(Failure::new(message(
                b"you are not permitted to use the -D option with ",
                &record.command,
            ))))
        }
        Reason::NotInPolicy => message(
            who.account.name.as_bytes(),
            b" is not in the jitsudo policy.",
        ),
        _ => not_allowed(ctx, who, &record, line, target),
    };
    let refusal = refusal(text);
    let target_name = target.account.name.as_bytes().to_vec();
    match gate::gate(ctx, who, request, &target_name, true) {
        Gate::Pass => Ok(Verdict::Reply(refusal)),
        Gate::Refuse(failure) => Err(ServerMessage::Error(failure)),
        Gate::Ask(spec) => {
            let then = Then::Reply(refusal);
            Ok(work(who, request, &target_name, Some(spec), then, record))
        }
    }
}

/// A policy refusal as sudo prints it: the sentence alone (no program
/// prefix), then exit status 1.
pub fn refusal(text: Vec<u8>) -> Vec<ServerMessage> {
    vec![
        ServerMessage::Notice {
            text: text.into(),
            prefer_tty: false,
        },
        ServerMessage::Exited(jitsudo_proto::Exit::Code(1)),
    ]
}

/// sudo's words for a caller without `setenv`: `-E` may not preserve the
/// environment; `VAR=value` and `--preserve-env=LIST` name the variables
/// (dangerous ones, which would be dropped anyway, are not named).
fn setenv_refusal(request: &Request) -> ServerMessage {
    let listed: Vec<OsString> = match &request.preserve_env {
        PreserveEnv::All => {
            return ServerMessage::Error(Failure::new(
                "sorry, you are not allowed to preserve the environment",
            ))
        }
        PreserveEnv::List(names) => names.iter().map(os).collect(),
        PreserveEnv::None => Vec::new(),
    };
    let mut names: Vec<OsString> = split_env(&request.assignments)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    names.extend(jitsudo_policy::env::setenv_refusal_names(
        listed.iter().map(OsString::as_os_str),
    ));
    let mut text =
        b"sorry, you are not allowed to set the following environment variables: ".to_vec();
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            text.extend_from_slice(b", ");
        }
        text.extend_from_slice(name.as_bytes());
    }
    ServerMessage::Error(Failure::new(text))
}

fn not_allowed(
    ctx: &Context<'_>,
    who: &Identity,
    record: &AuditRecord,
    line: &CommandLine,
    target: &Target,
) -> Vec<u8> {
    let mut text = message(b"Sorry, user ", who.account.name.as_bytes());
    text.extend_from_slice(b" is not allowed to execute '");
    text.extend_from_slice(&record.command);
    for arg in &line.args {
        text.push(b' ');
        text.extend_from_slice(arg.as_bytes());
    }
    text.extend_from_slice(b"' as ");
    text.extend_from_slice(target.account.name.as_bytes());
    if let Some(group) = &target.group {
        text.push(b':');
        text.extend_from_slice(group.name.as_bytes());
    }
    text.extend_from_slice(format!(" on {}.", ctx.host).as_bytes());
    text
}

#[allow(clippy::too_many_arguments)]
fn exec(
    ctx: &Context<'_>,
    who: &Identity,
    target: &Target,
    request: &Request,
    allowed: &Allowed,
    line: CommandLine,
    opened: &Opened,
    caller_env: &[(OsString, OsString)],
) -> Exec {
    let path = &opened.path;
    let env = environment(ctx, who, target, request, allowed, &line, path, caller_env);
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
        groups: target.account.groups(gid),
        umask: who.peer.umask | allowed.umask.unwrap_or(ctx.policy.defaults.umask),
        chdir,
        ignored_signals: request.ignored_signals,
        background: request.background,
        timeout: allowed.timeout,
    }
}

#[allow(clippy::too_many_arguments)]
fn environment(
    ctx: &Context<'_>,
    who: &Identity,
    target: &Target,
    request: &Request,
    allowed: &Allowed,
    line: &CommandLine,
    path: &Path,
    caller_env: &[(OsString, OsString)],
) -> Vec<ByteBuf> {
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
