//! `jitsudo`: run a command as another user, like sudo, without being
//! setuid. The decision and the execution belong to the root daemon
//! `jitsudod`; this client states the request, hands over its terminal or
//! stdio, relays signals and mirrors the command's exit.

#![deny(unsafe_code)]

mod askpass;
mod cli;
mod edit;
mod error;
mod prompt;
mod request;
mod session;
mod signals;
mod startup;
mod stdio;
mod terminal;
mod version;

use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use cli::{Invocation, UsageError};
use error::Error;
use session::{Outcome, Session};

/// Where jitsudod listens unless `JITSUDO_SOCKET` says otherwise.
const DEFAULT_SOCKET: &str = "/run/jitsudo/jitsudod.sock";

fn main() {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let argv0 = argv
        .first()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_else(|| "jitsudo".into());
    let host = nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default();
    let outcome = match cli::parse(argv, &host) {
        Ok(Invocation::Help) => {
            print!("{}", cli::help_text());
            Outcome::Exit(0)
        }
        Ok(Invocation::Version) => {
            version::print(&socket_path());
            Outcome::Exit(0)
        }
        Ok(Invocation::Request(args)) => run(*args),
        Ok(Invocation::Refuse(reason)) => failure(reason),
        Err(usage) => usage_failure(usage, &argv0),
    };
    finish(outcome)
}

fn usage_failure(usage: UsageError, argv0: &str) -> Outcome {
    let mut text = Vec::new();
    if let Some(message) = usage.message {
        let prefix = if usage.from_getopt { argv0 } else { "jitsudo" };
        text.extend_from_slice(format!("{prefix}: {message}\n").as_bytes());
    }
    if usage.with_usage {
        text.extend_from_slice(cli::USAGE.as_bytes());
    }
    let _ = std::io::stderr().write_all(&text);
    Outcome::Exit(1)
}

fn run(args: cli::RequestArgs) -> Outcome {
    match send_request(args) {
        Ok(session) => session.run(),
        Err(Sent::Refused(outcome)) => outcome,
        Err(Sent::Failed(e)) => failure(e.to_string()),
    }
}

/// Why no session started: the daemon refused the connection (its
/// message), or the request could not be stated.
enum Sent {
    Refused(Outcome),
    Failed(Error),
}

impl From<Error> for Sent {
    fn from(e: Error) -> Self {
        Sent::Failed(e)
    }
}

/// Connects and writes the hello and the request with their descriptors.
fn send_request(args: cli::RequestArgs) -> Result<Session, Sent> {
    let stdio = stdio::Stdio::claim();
    let signals = signals::route_to_fd().map_err(Error::Signals)?;
    let cwd = stdio::cwd().map_err(Error::Cwd)?;
    let conn = jitsudo_proto::connect(&socket_path()).map_err(Error::Connect)?;
    let input = match (args.askpass, args.stdin_password) {
        (true, _) => askpass::PasswordInput::Askpass,
        (false, true) => askpass::PasswordInput::Stdin,
        (false, false) => askpass::PasswordInput::Terminal { bell: args.bell },
    };
    // Only a command keeps descriptors (-C with -l, -v or -e keeps none).
    let close_from = args.close_from.filter(|_| args.action == cli::Action::Run);
    let kept = stdio::kept(close_from)?;
    let passed = stdio.passed(&cwd, &kept);
    let (frames, layout) = request::frames(args, &passed, startup::ignored_signals())?;
    let fds = passed.matching(layout).raw();
    if let Err(e) = jitsudo_proto::send_frame(conn.as_fd(), &frames, &fds) {
        return Err(refusal(&conn).map_or(Sent::Failed(Error::Send(e)), Sent::Refused));
    }
    drop((cwd, kept));
    Ok(Session::new(conn, signals, stdio, input))
}

fn socket_path() -> PathBuf {
    std::env::var_os("JITSUDO_SOCKET")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_SOCKET))
}

/// The error the daemon sent before closing a connection it refused
/// (too many connections), if that is why the request could not be sent.
fn refusal(conn: &UnixStream) -> Option<Outcome> {
    let mut reader = jitsudo_proto::FrameReader::new(jitsudo_proto::MAX_MESSAGE_LEN);
    let frame = reader.read_frame(conn.as_fd()).ok()??;
    match jitsudo_proto::decode(&frame).ok()? {
        jitsudo_proto::ServerMessage::Error(f) => {
            Some(Outcome::Failure(f.message.into_vec(), f.status))
        }
        _ => None,
    }
}

fn failure(message: impl Into<String>) -> Outcome {
    Outcome::Failure(message.into().into_bytes(), 1)
}

fn finish(outcome: Outcome) -> ! {
    let _ = std::io::stdout().flush();
    match outcome {
        Outcome::Exit(code) => std::process::exit(code),
        Outcome::Signal(signal) => signals::die_of(signal),
        Outcome::Failure(message, status) => {
            let mut line = b"jitsudo: ".to_vec();
            line.extend_from_slice(&message);
            line.push(b'\n');
            let _ = std::io::stderr().write_all(&line);
            std::process::exit(i32::from(status))
        }
    }
}
