//! `jitsudoctl policy explain`: the daemon's decision for a described
//! request, with the deciding rule and why every other rule did not apply.
//! The daemon builds the request exactly as it builds a real one (account
//! lookup, command search, digests, its clock and time zone), so the two
//! cannot disagree.

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use jitsudo_proto::{ExplainFormat, ExplainRequest, Request, ServerMessage, SessionOrigin};
use serde_bytes::ByteBuf;

use crate::daemon;
use crate::error::Error;
use crate::{Format, SOCKET};

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
    /// Where the session comes from (default: local with a terminal, none
    /// without).
    #[arg(long, value_enum)]
    origin: Option<OriginArg>,
    /// The host name (default: the daemon's).
    #[arg(long)]
    host: Option<String>,
    /// When (RFC 3339, e.g. 2026-11-25T09:30:00Z; default: now); local-time
    /// rules use the daemon's time zone.
    #[arg(long)]
    at: Option<String>,
    /// Candidate policy files to decide with, in order (default: the
    /// policy in force); they must be root's and not writable by others.
    #[arg(long = "policy")]
    policy: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// The daemon's socket.
    #[arg(long, default_value = SOCKET)]
    socket: PathBuf,
    /// The command and its arguments.
    #[arg(last = true, required = true)]
    command: Vec<OsString>,
}

/// `--origin`.
#[derive(Clone, Copy, ValueEnum)]
enum OriginArg {
    /// A local terminal.
    Local,
    /// An ssh session.
    Ssh,
    /// No terminal session.
    None,
}

/// Runs the subcommand: exit 0 if the request would run, 1 if not, 2 on
/// usage or input errors.
pub fn run(args: &ExplainArgs) -> ExitCode {
    let request = match request(args) {
        Ok(request) => request,
        Err(message) => {
            eprintln!("jitsudoctl: {message}");
            return ExitCode::from(2);
        }
    };
    match daemon::ask(&args.socket, Request::Explain(Box::new(request))) {
        Ok(ServerMessage::Explained { allowed, text }) => {
            let _ = std::io::stdout().write_all(&text);
            if args.format == Format::Json {
                println!();
            }
            if allowed {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        other => daemon::print_failure(other, &args.socket),
    }
}

fn request(args: &ExplainArgs) -> Result<ExplainRequest, Error> {
    let bytes = |s: &String| ByteBuf::from(s.as_bytes().to_vec());
    let policy = args
        .policy
        .iter()
        .map(|path| {
            std::path::absolute(path)
                .map(|p| ByteBuf::from(p.into_os_string().into_vec()))
                .map_err(|error| Error::Path {
                    path: path.clone(),
                    error,
                })
        })
        .collect::<Result<_, _>>()?;
    Ok(ExplainRequest {
        user: bytes(&args.user),
        run_as: args.run_as.as_ref().map(bytes),
        group: args.group.as_ref().map(bytes),
        argv: (args.command.iter())
            .map(|a| ByteBuf::from(a.clone().into_vec()))
            .collect(),
        tty: !args.no_tty,
        origin: args.origin.map(|origin| match origin {
            OriginArg::Local => SessionOrigin::Local,
            OriginArg::Ssh => SessionOrigin::Ssh,
            OriginArg::None => SessionOrigin::None,
        }),
        host: args.host.clone(),
        at: args.at.as_deref().map(unix_seconds).transpose()?,
        policy,
        format: match args.format {
            Format::Text => ExplainFormat::Text,
            Format::Json => ExplainFormat::Json,
        },
    })
}

pub fn unix_seconds(text: &str) -> Result<i64, Error> {
    let wrong = |reason: String| Error::Time {
        text: text.to_owned(),
        reason,
    };
    let at = humantime::parse_rfc3339_weak(text).map_err(|e| wrong(e.to_string()))?;
    let seconds = at
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| wrong("before 1970".into()))?
        .as_secs();
    i64::try_from(seconds).map_err(|_| wrong("too far in the future".into()))
}
