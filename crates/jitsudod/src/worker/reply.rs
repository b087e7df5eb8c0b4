//! Messages from the worker to its client.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use jitsudo_proto::{encode, send_frame, ServerMessage};

/// Best effort: a client that went away simply misses the message.
pub fn send(conn: &OwnedFd, message: &ServerMessage, with: Option<&OwnedFd>) {
    if let Ok(frame) = encode(message) {
        let fds: Vec<_> = with.iter().map(|f| f.as_raw_fd()).collect();
        let _ = send_frame(conn.as_fd(), &frame, &fds);
    }
}
