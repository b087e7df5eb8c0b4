//! `jitsudoctl shell ID` and `jitsudoctl run ID -- COMMAND...`: a shell or
//! one command under the caller's group, caps or shell grant, on the
//! current terminal (a pty when there is one), exactly as `jitsudo` runs a
//! command: the session code is `jitsudo`'s own ([`jitsudo::client`]).
//! The daemon decides everything else from the grant.

use std::os::fd::BorrowedFd;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use jitsudo::askpass::PasswordInput;
use jitsudo::client;
use jitsudo::error::Error;
use jitsudo_proto::{FdLayout, GrantSession, PassedFds, Request, RunRequest};
use serde_bytes::ByteBuf;

/// `shell` and `run`'s options.
#[derive(Args)]
pub struct SessionArgs {
    /// The daemon's socket (default: `$JITSUDO_SOCKET`, else the system's).
    #[arg(long)]
    socket: Option<PathBuf>,
    /// The grant (mine, of kind group, caps or shell).
    id: String,
    /// `run`: the command and its arguments, after `--`.
    #[arg(last = true)]
    command: Vec<String>,
}

/// `shell ID` (`run` false) or `run ID -- COMMAND...`: ends the process
/// as the shell or command ends; 2 for a misused verb.
pub fn run(args: &SessionArgs, run: bool) -> ExitCode {
    match (run, args.command.is_empty()) {
        (false, false) => usage("shell takes no command; use jitsudoctl run ID -- COMMAND"),
        (true, true) => usage("run needs a command: jitsudoctl run ID -- COMMAND [ARGS...]"),
        _ => {
            let socket = crate::grants::socket(args.socket.as_ref());
            let input = PasswordInput::Terminal { bell: false };
            let outcome = client::run("jitsudoctl", &socket, input, None, |passed, ignored| {
                frames(&args.id, &args.command, passed, ignored)
            });
            client::finish(outcome, "jitsudoctl")
        }
    }
}

fn usage(text: &str) -> ExitCode {
    eprintln!("jitsudoctl: {text}");
    ExitCode::from(2)
}

fn frames(
    id: &str,
    argv: &[String],
    passed: &PassedFds<BorrowedFd<'_>>,
    ignored_signals: u64,
) -> Result<(Vec<u8>, FdLayout), Error> {
    let request = Request::UseGrant(Box::new(GrantSession {
        id: id.to_owned(),
        request: RunRequest {
            env: client::environment(),
            ignored_signals,
            stdio: passed.layout().stdio,
            terminal_foreground: client::terminal_foreground(passed),
            ..RunRequest::new(argv.iter().map(|a| ByteBuf::from(a.as_bytes())).collect())
        },
    }));
    client::encode_request(request)
}
