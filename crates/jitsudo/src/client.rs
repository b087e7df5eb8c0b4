//! One request and its session, from the caller's side: claim the
//! standard descriptors and the working directory, route signals, connect,
//! send the request with the descriptors it names in one write, then relay
//! the session until the command's end, which the caller mirrors.

use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::net::UnixStream;
use std::path::Path;

use jitsudo_proto::{encode, ClientMessage, FdLayout, Hello, PassedFds, Request};
use jitsudo_sys::fd::Std;
use nix::sys::signalfd::SignalFd;
use nix::unistd::isatty;

use crate::askpass::PasswordInput;
use crate::error::Error;
use crate::session::{Outcome, Session};
use crate::{signals, startup, stdio};

/// Sends the request `frames` builds to the daemon at `socket` and runs
/// its session; `input` answers password prompts; `close_from` (`-C`)
/// keeps the caller's descriptors from 3 below it; the client's messages
/// name `program`. `frames` encodes the request for the descriptors at
/// hand and the signals the caller had ignored: the frames (hello and
/// request) and the descriptors they need.
pub fn run<F>(
    program: &str,
    socket: &Path,
    input: PasswordInput,
    close_from: Option<u32>,
    frames: F,
) -> Outcome
where
    F: FnOnce(&PassedFds<BorrowedFd<'_>>, u64) -> Result<(Vec<u8>, FdLayout), Error>,
{
    match send_request(socket, close_from, frames) {
        Ok((conn, signals, stdio)) => Session::new(conn, signals, stdio, input, program).run(),
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
fn send_request<F>(
    socket: &Path,
    close_from: Option<u32>,
    frames: F,
) -> Result<(UnixStream, SignalFd, stdio::Stdio), Sent>
where
    F: FnOnce(&PassedFds<BorrowedFd<'_>>, u64) -> Result<(Vec<u8>, FdLayout), Error>,
{
    let stdio = stdio::Stdio::claim();
    let signals = signals::route_to_fd().map_err(Error::Signals)?;
    let cwd = stdio::cwd().map_err(Error::Cwd)?;
    let conn = jitsudo_proto::connect(socket).map_err(Error::Connect)?;
    let kept = stdio::kept(close_from)?;
    let passed = stdio.passed(&cwd, &kept);
    let (frames, layout) = frames(&passed, startup::ignored_signals())?;
    let fds = passed.matching(layout).raw();
    if let Err(e) = jitsudo_proto::send_frame(conn.as_fd(), &frames, &fds) {
        return Err(refusal(&conn).map_or(Sent::Failed(Error::Send(e)), Sent::Refused));
    }
    drop((cwd, kept));
    Ok((conn, signals, stdio))
}

/// The hello and `request` as one write, so the daemon gets both without
/// a round trip, and the descriptors that go with it. A request too large
/// for the protocol is refused here with the kernel's wording.
pub fn encode_request(request: Request) -> Result<(Vec<u8>, FdLayout), Error> {
    let layout = request.fd_layout();
    let mut bytes = encode(&ClientMessage::Hello(Hello::current())).map_err(Error::Encode)?;
    let body = encode(&ClientMessage::Request(request)).map_err(|_| Error::TooLong)?;
    bytes.extend(body);
    Ok((bytes, layout))
}

/// The caller's environment as the daemon takes it: `NAME=value` entries.
pub fn environment() -> Vec<serde_bytes::ByteBuf> {
    std::env::vars_os()
        .map(|(name, value)| {
            let mut entry = name.into_vec();
            entry.push(b'=');
            entry.extend(value.into_vec());
            serde_bytes::ByteBuf::from(entry)
        })
        .collect()
}

/// Whether the client's process group is the foreground one of the
/// terminal among the descriptors it passes (true without a terminal):
/// [`jitsudo_proto::RunRequest::terminal_foreground`].
pub fn terminal_foreground(passed: &PassedFds<BorrowedFd<'_>>) -> bool {
    Std::ALL
        .into_iter()
        .find(|fd| passed.stdio[*fd as usize].is_some() && isatty(fd.borrow()).unwrap_or(false))
        .is_none_or(crate::terminal::in_foreground)
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

/// A failure of the client itself (status 1).
pub fn failure(message: impl Into<String>) -> Outcome {
    Outcome::Failure(message.into().into_bytes(), 1)
}

/// Ends the process as the session ended: the command's exit code, its
/// signal, or `program: message` on stderr and the failure's status.
pub fn finish(outcome: Outcome, program: &str) -> ! {
    let _ = std::io::stdout().flush();
    match outcome {
        Outcome::Exit(code) => std::process::exit(code),
        Outcome::Signal(signal) => signals::die_of(signal),
        Outcome::Failure(message, status) => {
            let mut line = format!("{program}: ").into_bytes();
            line.extend_from_slice(&message);
            line.push(b'\n');
            let _ = std::io::stderr().write_all(&line);
            std::process::exit(i32::from(status))
        }
    }
}
