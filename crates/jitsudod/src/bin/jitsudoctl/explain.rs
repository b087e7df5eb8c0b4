//! `jitsudoctl policy explain`: the policy's decision for a described
//! request, with the deciding rule and why every other rule did not apply.

use std::ffi::OsString;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use jitsudo_policy::{Caller, Context, GroupRef, Origin, Policy, Request, TargetUser, Timestamp};
use jitsudod::accounts::{self, Account};
use jitsudod::executable::{self, Opened};

use crate::{load_candidates, Format, POLICY};

/// The request to explain.
#[derive(Args)]
pub struct ExplainArgs {
    /// The caller (name or #uid).
    #[arg(long)]
    user: String,
    /// The target user (name or #uid); default root.
    #[arg(long = "run-as")]
    run_as: Option<String>,
    /// The target group (name or #gid), as with -g.
    #[arg(long)]
    group: Option<String>,
    /// The caller has a terminal (the default).
    #[arg(long, conflicts_with = "no_tty")]
    tty: bool,
    /// The caller has no terminal.
    #[arg(long)]
    no_tty: bool,
    /// Where the session comes from: local, ssh or none (default: local
    /// with a terminal, none without).
    #[arg(long)]
    origin: Option<String>,
    /// The host name (default: this host's).
    #[arg(long)]
    host: Option<String>,
    /// When (RFC 3339, e.g. 2026-11-25T09:30:00Z; default: now).
    #[arg(long)]
    at: Option<String>,
    /// Policy files to use, in order (default: the installed policy).
    #[arg(long = "policy")]
    policy: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// The command and its arguments.
    #[arg(last = true, required = true)]
    command: Vec<OsString>,
}

/// Runs the subcommand: exit 0 if the request would run, 1 if not, 2 on
/// usage or input errors.
pub fn run(args: &ExplainArgs) -> ExitCode {
    match explain(args) {
        Ok(allowed) if allowed => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("jitsudoctl: {message}");
            ExitCode::from(2)
        }
    }
}

fn explain(args: &ExplainArgs) -> Result<bool, String> {
    let files = if args.policy.is_empty() {
        vec![PathBuf::from(POLICY)]
    } else {
        args.policy.clone()
    };
    let policy = load_candidates(&files).ok_or("the policy has errors")?;
    let caller = accounts::resolve_user(args.user.as_bytes())
        .ok_or_else(|| format!("unknown user {}", args.user))?;
    let (target, by_default) = match &args.run_as {
        Some(spec) => (
            accounts::resolve_user(spec.as_bytes())
                .ok_or_else(|| format!("unknown user {spec}"))?,
            false,
        ),
        None if args.group.is_some() => (caller.clone(), true),
        None => (
            accounts::resolve_user(b"root").ok_or("no root account")?,
            false,
        ),
    };
    let group = match &args.group {
        Some(spec) => Some(
            accounts::resolve_group(spec.as_bytes())
                .ok_or_else(|| format!("unknown group {spec}"))?,
        ),
        None => None,
    };
    let (program, rest) = args.command.split_first().ok_or("no command given")?;
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let cwd_dir = std::fs::File::open(".").map_err(|e| format!("current directory: {e}"))?;
    let found = executable::open(program, &policy.defaults.secure_path, cwd_dir.as_fd(), &cwd);
    let typed = PathBuf::from(program);
    let host = match &args.host {
        Some(host) => host.clone(),
        None => nix::unistd::gethostname()
            .map(OsString::into_vec)
            .map(|h| String::from_utf8_lossy(&h).into_owned())
            .unwrap_or_default(),
    };
    let facts = Facts {
        caller: &caller,
        target: &target,
        by_default,
        group: group
            .as_ref()
            .map(|g| (g.gid, g.name.to_string_lossy().into_owned())),
        typed: &typed,
        found: found.as_ref(),
        args: rest,
        context: context(args, &host)?,
    };
    let explanation = facts.with_request(&policy, |request| policy.explain(request));
    match args.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&explanation).map_err(|e| e.to_string())?
        ),
        Format::Text => print!("{explanation}"),
    }
    Ok(explanation.allowed)
}

fn context<'h>(args: &ExplainArgs, host: &'h str) -> Result<Context<'h>, String> {
    let now = match &args.at {
        Some(text) => {
            humantime::parse_rfc3339_weak(text).map_err(|e| format!("--at {text}: {e}"))?
        }
        None => std::time::SystemTime::now(),
    };
    let unix_seconds = now
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| "--at: before 1970")?
        .as_secs();
    let has_tty = !args.no_tty;
    let origin = match args.origin.as_deref() {
        None if has_tty => Origin::Local,
        None => Origin::None,
        Some("local") => Origin::Local,
        Some("ssh") => Origin::Ssh,
        Some("none") => Origin::None,
        Some(other) => return Err(format!("--origin {other}: expected local, ssh or none")),
    };
    Ok(Context {
        now: Timestamp {
            unix_seconds: i64::try_from(unix_seconds).map_err(|_| "--at: too far")?,
            // `--at` is read as UTC; local-time windows use UTC here.
            local_utc_offset: 0,
        },
        has_tty,
        origin,
        host,
    })
}

/// Everything the request is made of, owned here so the policy's borrowed
/// request can point into it.
struct Facts<'a> {
    caller: &'a Account,
    target: &'a Account,
    by_default: bool,
    group: Option<(u32, String)>,
    typed: &'a Path,
    found: Option<&'a Opened>,
    args: &'a [OsString],
    context: Context<'a>,
}

impl Facts<'_> {
    fn with_request<T>(&self, policy: &Policy, f: impl FnOnce(&Request<'_>) -> T) -> T {
        let gids = self.caller.groups(self.caller.gid);
        let names: Vec<Option<String>> = gids
            .iter()
            .map(|g| accounts::group_name(*g).and_then(|n| n.into_string().ok()))
            .collect();
        let groups: Vec<GroupRef<'_>> = gids
            .iter()
            .zip(&names)
            .map(|(gid, name)| GroupRef {
                gid: *gid,
                name: name.as_deref(),
            })
            .collect();
        let mut request = Request {
            caller: Caller {
                uid: self.caller.uid,
                name: self.caller.name.to_str(),
                groups: &groups,
                deny_groups: &groups,
            },
            run_as_user: TargetUser {
                uid: self.target.uid,
                name: self.target.name.to_str(),
                primary_gid: self.target.gid,
                is_caller_by_default: self.by_default,
            },
            run_as_group: self.group.as_ref().map(|(gid, name)| GroupRef {
                gid: *gid,
                name: Some(name.as_str()),
            }),
            command: self.found.map_or(self.typed, |o| &o.path),
            executable: self.found.map(Opened::executable),
            args: self.args,
            wants_setenv: false,
            chdir: None,
            command_digest: None,
            context: self.context,
        };
        if policy.needs_digest(&request) {
            request.command_digest = self.found.and_then(Opened::sha256);
        }
        f(&request)
    }
}
