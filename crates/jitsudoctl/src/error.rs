//! What can go wrong in `jitsudoctl` besides the answers it reports.

use std::fmt;
use std::path::PathBuf;

use jitsudo_proto::{ConnectError, ProtoError};

/// An error of `jitsudoctl` itself (the daemon's refusals are answers,
/// printed as they come).
#[derive(Debug)]
pub enum Error {
    /// The daemon could not be reached (it says what to do).
    Connect(ConnectError),
    /// The working directory could not be opened.
    Io(std::io::Error),
    /// The conversation with the daemon broke down.
    Protocol(ProtoError),
    /// The daemon hung up without answering.
    Closed,
    /// A path given on the command line could not be made absolute.
    Path {
        /// The path as given.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// `--at` is not a moment after 1970 in RFC 3339 form.
    Time {
        /// The text as given.
        text: String,
        /// Why it was not understood.
        reason: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Connect(e) => write!(f, "{e}"),
            Error::Io(e) => write!(f, "{e}"),
            Error::Protocol(e) => write!(f, "{e}"),
            Error::Closed => f.write_str("jitsudod closed the connection"),
            Error::Path { path, error } => write!(f, "{}: {error}", path.display()),
            Error::Time { text, reason } => write!(f, "--at {text}: {reason}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}

impl From<ConnectError> for Error {
    fn from(e: ConnectError) -> Self {
        Error::Connect(e)
    }
}

impl From<ProtoError> for Error {
    fn from(e: ProtoError) -> Self {
        Error::Protocol(e)
    }
}
