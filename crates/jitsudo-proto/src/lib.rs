//! Wire protocol shared by the `jitsudo` client, the `jitsudod` daemon and its
//! per-request workers.
//!
//! A connection carries *frames*: a 4-byte big-endian length followed by a
//! [postcard]-encoded message. File descriptors travel beside the bytes as
//! `SCM_RIGHTS` ancillary data and are collected by [`FrameReader`] until the
//! message that owns them is decoded. The daemon reads and writes the same
//! frames on tokio sockets through [`tokio_codec`] (feature `tokio`); the
//! client and the workers block.
//!
//! The conversation on one connection is:
//!
//! 1. client → [`ClientMessage::Hello`] (version handshake), then
//!    [`ClientMessage::Request`]: one [`Request`] verb (run, list, validate,
//!    reset or remove timestamps, reload or explain the policy) with the
//!    descriptors its [`FdLayout`] names attached ([`PassedFds`] sorts them
//!    back); both may be written at once (no round trip).
//! 2. daemon → [`ServerMessage::Welcome`] or [`ServerMessage::Error`] (a
//!    connection over the daemon's limits gets only the `Error`, possibly
//!    before the client has written anything).
//! 3. daemon or worker → the verb's replies (each [`Request`] variant names
//!    its own), with [`ServerMessage::Prompt`]/[`ClientMessage::Answer`]
//!    while PAM asks and [`ServerMessage::Error`] on any failure. For a run:
//!    [`ServerMessage::Started`] (with the pty master when the command has a
//!    terminal), [`ServerMessage::Suspended`], [`ServerMessage::Exited`];
//!    meanwhile the client may send [`ClientMessage::Signal`] and
//!    [`ClientMessage::Resume`].
//!
//! Anything else — a bad length, an undecodable payload, a message out of
//! order, unexpected descriptors — is a protocol error and ends the connection.

#![forbid(unsafe_code)]

mod connect;
mod fds;
mod frame;
mod grants;
mod message;
#[cfg(feature = "tokio")]
pub mod tokio_codec;

pub use connect::{connect, ConnectError};
pub use fds::{FdLayout, PassedFds, KEPT_FDS_BELOW, MAX_KEPT_FDS};
pub use frame::{send_frame, Frame, FrameReader, MAX_FDS_PER_CONNECTION};
pub use grants::{
    ExtendAsk, GrantAsk, GrantQuery, GrantRecord, GrantSession, GrantWhat, Listing, Review,
    ReviewRecord, StartAsk,
};
pub use message::{
    decode, encode, encode_answer, ClientMessage, EditFile, EditRequest, Exit, ExplainFormat,
    ExplainRequest, Failure, Hello, ListRequest, PreserveEnv, Request, RunRequest, ServerMessage,
    SessionOrigin, ShellMode, MAX_EDIT_FILE, MAX_MESSAGE_LEN, PROTOCOL_MAGIC, PROTOCOL_VERSION,
    RELAYED_SIGNALS,
};
pub use message::{
    DaemonStatus, GrantCounts, ReloadOutcome, SinkHealth, StatusDetails, WorkerCounts,
};

/// Errors raised while framing or decoding protocol messages.
#[derive(Debug)]
pub enum ProtoError {
    /// The underlying socket failed.
    Io(std::io::Error),
    /// A frame announced a length above the allowed maximum.
    TooLarge {
        /// The announced length.
        len: usize,
        /// The maximum accepted.
        max: usize,
    },
    /// The payload could not be encoded or decoded.
    Codec(postcard::Error),
    /// The peer closed the connection in the middle of a frame.
    Truncated,
    /// The peer closed the connection between frames, before the message
    /// awaited.
    Closed,
    /// The peer sent more descriptors than the protocol allows, or the
    /// kernel truncated the ancillary data.
    TooManyFds,
    /// A request's layout keeps descriptors above 2 that `-C` cannot keep
    /// (fds 0-2, 64 and above, or more than [`MAX_KEPT_FDS`]).
    KeptFds,
    /// A request came with another number of descriptors than its layout
    /// announces.
    WrongFdCount {
        /// What the layout announces.
        expected: usize,
        /// What arrived.
        got: usize,
    },
}

impl std::fmt::Display for ProtoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProtoError::Io(e) => write!(f, "{e}"),
            ProtoError::TooLarge { len, max } => {
                write!(f, "message of {len} bytes exceeds the limit of {max} bytes")
            }
            ProtoError::Codec(e) => write!(f, "malformed message: {e}"),
            ProtoError::Truncated => f.write_str("connection closed in the middle of a message"),
            ProtoError::Closed => f.write_str("connection closed"),
            ProtoError::TooManyFds => f.write_str("too many file descriptors attached"),
            ProtoError::WrongFdCount { .. } => f.write_str("wrong number of descriptors"),
            ProtoError::KeptFds => write!(
                f,
                "-C keeps at most {MAX_KEPT_FDS} descriptors, from 3 to {}",
                KEPT_FDS_BELOW - 1
            ),
        }
    }
}

impl std::error::Error for ProtoError {}

impl From<std::io::Error> for ProtoError {
    fn from(e: std::io::Error) -> Self {
        ProtoError::Io(e)
    }
}

impl From<postcard::Error> for ProtoError {
    fn from(e: postcard::Error) -> Self {
        ProtoError::Codec(e)
    }
}
