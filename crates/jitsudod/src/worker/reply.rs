//! Messages from the worker to its client.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::process::ExitCode;
use std::time::Duration;

use jitsudo_proto::{decode, encode, send_frame, Failure, FrameReader, ServerMessage};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

/// Best effort: a client that went away simply misses the message.
pub fn send(conn: &OwnedFd, message: &ServerMessage, with: Option<&OwnedFd>) {
    if let Ok(frame) = encode(message) {
        let fds: Vec<_> = with.iter().map(|f| f.as_raw_fd()).collect();
        let _ = send_frame(conn.as_fd(), &frame, &fds);
    }
}

/// How long the daemon may take to record a review or count a use.
const DAEMON_TIMEOUT: Duration = Duration::from_secs(30);

/// The daemon's next replies on its channel, if they come in time.
fn daemon_replies(daemon: BorrowedFd<'_>) -> Option<Vec<ServerMessage>> {
    let mut reader = FrameReader::new(jitsudo_proto::MAX_MESSAGE_LEN);
    let wait = PollTimeout::try_from(DAEMON_TIMEOUT).unwrap_or(PollTimeout::MAX);
    let ready = poll(&mut [PollFd::new(daemon, PollFlags::POLLIN)], wait).unwrap_or(0);
    (ready > 0)
        .then(|| reader.read_frame(daemon).ok().flatten())
        .flatten()
        .and_then(|frame| decode::<Vec<ServerMessage>>(&frame).ok())
}

/// After the caller passed PAM for a command under a grant: the daemon's
/// answer once it counted the use, relayed to the client. `Err` (a reason
/// for the log) if the command must not start: the grant ended or was used
/// up meanwhile, or the daemon did not answer.
pub fn grant_admission(conn: &OwnedFd, daemon: BorrowedFd<'_>) -> Result<(), String> {
    let Some(replies) = daemon_replies(daemon) else {
        let failure = Failure::new("jitsudod did not count the grant's use; try again");
        send(conn, &ServerMessage::Error(failure.clone()), None);
        return Err(String::from_utf8_lossy(&failure.message).into_owned());
    };
    let mut refusal = None;
    for message in &replies {
        send(conn, message, None);
        if let ServerMessage::Error(failure) = message {
            refusal = Some(String::from_utf8_lossy(&failure.message).into_owned());
        }
    }
    refusal.map_or(Ok(()), Err)
}

/// Relays the daemon's replies to an authenticated review to the client.
pub fn relay_review(conn: &OwnedFd, daemon: BorrowedFd<'_>) -> ExitCode {
    match daemon_replies(daemon) {
        Some(replies) => {
            for message in &replies {
                send(conn, message, None);
            }
            ExitCode::SUCCESS
        }
        None => {
            let failure = Failure::new("jitsudod did not record the review; try again");
            send(conn, &ServerMessage::Error(failure), None);
            ExitCode::FAILURE
        }
    }
}
