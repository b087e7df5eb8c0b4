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

/// How long the daemon may take to record a review.
const REVIEW_TIMEOUT: Duration = Duration::from_secs(30);

/// Relays the daemon's replies to an authenticated review to the client.
pub fn relay_review(conn: &OwnedFd, daemon: BorrowedFd<'_>) -> ExitCode {
    let mut reader = FrameReader::new(jitsudo_proto::MAX_MESSAGE_LEN);
    let wait = PollTimeout::try_from(REVIEW_TIMEOUT).unwrap_or(PollTimeout::MAX);
    let ready = poll(&mut [PollFd::new(daemon, PollFlags::POLLIN)], wait).unwrap_or(0);
    let replies = (ready > 0)
        .then(|| reader.read_frame(daemon).ok().flatten())
        .flatten()
        .and_then(|frame| decode::<Vec<ServerMessage>>(&frame).ok());
    match replies {
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
